//! Ending a session takes effect only when a session really ended: naming
//! someone else's session answers 404 and leaves it working.

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// The id of the session `token` belongs to.
async fn current_session(app: &TestApp, token: &str) -> String {
    let resp = app.call("GET", "/api/sessions", Some(token), None).await;
    assert_eq!(resp.status(), 200);
    let list = json(resp).await;
    let items = list["items"].as_array().unwrap();
    let current = items.iter().find(|s| s["current"] == true).unwrap();
    current["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn another_users_session_cannot_be_knocked_out() {
    let app = spawn_app().await;
    let (_, attacker) = app.sign_up("a@example.com", "pass-word-1").await;
    let (_, victim) = app.sign_up("v@example.com", "pass-word-1").await;
    let sid = current_session(&app, &victim).await;

    for _ in 0..2 {
        assert_envelope(
            app.call("DELETE", &format!("/api/sessions/{sid}"), Some(&attacker), None)
                .await,
            404,
        )
        .await;
        // The victim's token still works, at once and every time.
        assert_eq!(
            app.call("GET", "/api/sessions", Some(&victim), None)
                .await
                .status(),
            200
        );
    }
    // The attacker's own session is untouched too.
    assert_eq!(
        app.call("GET", "/api/sessions", Some(&attacker), None)
            .await
            .status(),
        200
    );

    // Positive control: the owner ending it does end it.
    let resp = app
        .call("DELETE", &format!("/api/sessions/{sid}"), Some(&victim), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_envelope(app.call("GET", "/api/sessions", Some(&victim), None).await, 401).await;
    // And a second end of the same session is a 404 that changes nothing.
    assert_envelope(
        app.call("DELETE", &format!("/api/sessions/{sid}"), Some(&attacker), None)
            .await,
        404,
    )
    .await;
}
