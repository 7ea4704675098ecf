//! `superuserIPs` reaches a superuser's file tokens: a protected file
//! asked for with one from an address outside the allowlist is refused
//! (403) like the superuser's other requests. PocketBase 0.40.6 serves it
//! (checked: its allowlist is not applied to `?token=`), which lets a
//! token minted from an allowed address be used from anywhere for the
//! hour it lasts; Cairn refuses, as it already does for backup downloads.
//! The client address is the resolved one: the loopback proxy forwards
//! `X-Forwarded-For`, as in `followups_superuser_ips.rs`.

use serde_json::json;

use crate::{
    files::{create, form, with_docs},
    helpers::{TestApp, assert_envelope},
};

async fn file_token(app: &TestApp, token: &str) -> String {
    app.post_ok(token, "/api/files/token", json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fetch(app: &TestApp, path: &str, from: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_superusers_file_token_is_refused_outside_superuser_ips() {
    // Signed-in accounts may view: a guest may not, so the file needs a token.
    let (app, su, _) = with_docs("@request.auth.id != ''").await;
    let (_, user) = app.sign_up("u@example.com", "user-pass-123").await;
    let rec = create(&app, form(&[], &[("secret", "s.txt", b"top secret".to_vec())])).await;
    let path = format!(
        "/api/files/docs/{}/{}",
        rec["id"].as_str().unwrap(),
        rec["secret"].as_str().unwrap()
    );
    let su_file = file_token(&app, &su).await;
    let user_file = file_token(&app, &user).await;
    let as_su = format!("{path}?token={su_file}");
    let as_user = format!("{path}?token={user_file}");
    // No allowlist: served.
    assert_eq!(fetch(&app, &as_su, None).await.status(), 200);

    let allowed: Vec<String> = vec!["10.1.2.3".into()];
    app.change_settings(|s| s.superuser_ips = allowed).await;
    let refused = assert_envelope(fetch(&app, &as_su, None).await, 403).await;
    assert_eq!(refused["message"], "You are not allowed to perform this request.");
    assert_envelope(fetch(&app, &as_su, Some("203.0.113.9")).await, 403).await;
    // Controls: from the allowed address the same token serves the file,
    // and another account's token is not the allowlist's business.
    let served = fetch(&app, &as_su, Some("10.1.2.3")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), b"top secret");
    assert_eq!(fetch(&app, &as_user, None).await.status(), 200);
    // Without a token the file stays hidden from everyone (404).
    assert_envelope(fetch(&app, &path, Some("10.1.2.3")).await, 404).await;
}
