//! The account flows a guest may start with any address (a password
//! reset, a verification, a one-time code) do the same work whether the
//! address has an account or not, so their time cannot tell which
//! addresses do. The known address's mail is written to the database
//! before the answer (the queue or the outbox), which an unknown one used
//! to skip: about a millisecond a guest could measure. Timing itself is
//! not asserted (a timed test would be noise); the writes are counted.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Write jobs the data database has run so far.
fn writes(app: &TestApp) -> u64 {
    app.state.store.data.stats().group_size.sum as u64
}

/// The data writes one request makes, and its status.
async fn writes_of(app: &TestApp, path: &str, body: Value) -> (u64, u16) {
    let before = writes(app);
    let status = app.call("POST", path, None, Some(body)).await.status().as_u16();
    (writes(app) - before, status)
}

async fn outbox_total(app: &TestApp, su: &str) -> u64 {
    let page: Value = app
        .call("GET", "/api/mail/outbox", Some(su), None)
        .await
        .json()
        .await
        .unwrap();
    page["totalItems"].as_u64().unwrap_or_else(|| panic!("{page}"))
}

#[tokio::test]
async fn a_known_and_an_unknown_address_cost_the_same_writes() {
    let app = spawn_app().await;
    app.sign_up("known@example.com", "pass-word-1").await;
    app.sign_up("verified@example.com", "pass-word-1").await;
    let su = app.superuser_token().await;
    let users = "/api/collections/users";
    let verified: Value = app
        .call(
            "GET",
            &format!("{users}/records?filter=email%3D%27verified%40example.com%27"),
            Some(&su),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let id = verified["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = app
        .call(
            "PATCH",
            &format!("{users}/records/{id}"),
            Some(&su),
            Some(json!({"verified": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .call("PATCH", users, Some(&su), Some(json!({"otp": {"enabled": true}})))
        .await;
    assert_eq!(resp.status(), 200);
    let sent_before = outbox_total(&app, &su).await;

    let flows = [
        (
            "request-password-reset",
            "known@example.com",
            "nobody@example.com",
        ),
        ("request-verification", "known@example.com", "nobody@example.com"),
        // An account already verified gets no mail: it too must not show.
        (
            "request-verification",
            "known@example.com",
            "verified@example.com",
        ),
        ("request-otp", "known@example.com", "nobody@example.com"),
    ];
    for (flow, known, other) in flows {
        let path = format!("{users}/{flow}");
        let mut seen = Vec::new();
        // Twice each, interleaved, so a one-off write (a first-time
        // cleanup, a cache) cannot pass for a difference.
        for _ in 0..2 {
            for email in [known, other] {
                seen.push((email, writes_of(&app, &path, json!({"email": email})).await));
            }
        }
        let known_writes: Vec<_> = seen
            .iter()
            .filter(|(e, _)| *e == known)
            .map(|(_, w)| *w)
            .collect();
        let other_writes: Vec<_> = seen
            .iter()
            .filter(|(e, _)| *e == other)
            .map(|(_, w)| *w)
            .collect();
        assert!(
            known_writes.iter().all(|(w, s)| *w > 0 && *s < 300),
            "{flow}: {seen:?}"
        );
        assert_eq!(
            known_writes, other_writes,
            "{flow}: {known} and {other} must cost the same writes"
        );
    }

    // Mail went only to the known, unverified account: 2 resets, 4
    // verifications (2 rounds against each of the other two addresses),
    // 2 codes.
    assert_eq!(
        outbox_total(&app, &su).await - sent_before,
        8,
        "mail went only to the account that asked"
    );
    let su_page: Value = app
        .call("GET", "/api/mail/outbox?perPage=100", Some(&su), None)
        .await
        .json()
        .await
        .unwrap();
    let recipients: Vec<&str> = su_page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["to"].as_str())
        .collect();
    assert!(
        recipients.contains(&"known@example.com")
            && !recipients.contains(&"nobody@example.com")
            && !recipients.contains(&"verified@example.com"),
        "{recipients:?}"
    );
}
