//! No response, log line or error carries a password, a password hash, a
//! token secret or a refresh token in clear. One run of the real binary
//! through every sign-in path, then its log and every answer are searched.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{serve_log_path, spawn_serve};

const PASSWORD: &str = "Sup3r-Secret-Pass";
const NEW_PASSWORD: &str = "An0ther-Secret-Pass";

#[tokio::test]
async fn secrets_never_appear_in_answers_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn_serve(&data, &["--log-format", "json"]).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let mut answers = String::new();
    let mut send = async |method: &str, path: &str, token: Option<&str>, body: Option<Value>| -> Value {
        let mut req = client.request(method.parse().unwrap(), format!("{base}{path}"));
        if let Some(t) = token {
            req = req.header("authorization", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        for (name, value) in resp.headers() {
            answers.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
        }
        let text = resp.text().await.unwrap();
        answers.push_str(&text);
        answers.push('\n');
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };

    let user = json!({"email": "leak@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD});
    let created = send("POST", "/api/collections/users/records", None, Some(user)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    // A failed sign-in, a wrong-typed one, then a good one.
    let login = |p: &str| json!({"identity": "leak@example.com", "password": p});
    send(
        "POST",
        "/api/collections/users/auth-with-password",
        None,
        Some(login("wrong-pass-word")),
    )
    .await;
    let signed = send(
        "POST",
        "/api/collections/users/auth-with-password",
        None,
        Some(login(PASSWORD)),
    )
    .await;
    let token = signed["token"].as_str().unwrap().to_owned();
    let first_refresh = signed["refreshToken"].as_str().unwrap().to_owned();
    let rotated = send(
        "POST",
        "/api/sessions/refresh",
        None,
        Some(json!({"refreshToken": first_refresh})),
    )
    .await;
    let second_refresh = rotated["refreshToken"].as_str().unwrap().to_owned();
    // Reuse is logged: the log must name the session, not the token.
    send(
        "POST",
        "/api/sessions/refresh",
        None,
        Some(json!({"refreshToken": first_refresh})),
    )
    .await;
    send("POST", "/api/collections/users/auth-refresh", Some(&token), None).await;
    send("GET", "/api/sessions", Some(&token), None).await;
    send(
        "GET",
        &format!("/api/collections/users/records/{id}"),
        Some(&token),
        None,
    )
    .await;
    send("GET", "/api/collections/users/records", Some(&token), None).await;
    // A password change, with a wrong old password first.
    let change =
        |old: &str| json!({"oldPassword": old, "password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD});
    send(
        "PATCH",
        &format!("/api/collections/users/records/{id}"),
        Some(&token),
        Some(change("nope-nope-nope")),
    )
    .await;
    send(
        "PATCH",
        &format!("/api/collections/users/records/{id}"),
        Some(&token),
        Some(change(PASSWORD)),
    )
    .await;
    send("GET", "/api/collections/users", None, None).await;

    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);
    let log = std::fs::read_to_string(serve_log_path(&data)).unwrap();
    assert!(
        log.contains("refresh token presented again"),
        "reuse is logged:\n{log}"
    );

    // What is stored: the hashes and key, read straight from the file.
    let db = rusqlite::Connection::open(data.join("data.db")).unwrap();
    let (hash, token_key): (String, String) = db
        .query_row("SELECT password, tokenKey FROM users WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let options: String = db
        .query_row("SELECT options FROM _collections WHERE name = 'users'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let options: Value = serde_json::from_str(&options).unwrap();
    let secret = options["authToken"]["secret"].as_str().unwrap().to_owned();

    for (what, needle) in [
        ("password", PASSWORD),
        ("new password", NEW_PASSWORD),
        ("password hash", hash.as_str()),
        ("token key", token_key.as_str()),
        ("token secret", secret.as_str()),
        ("retired refresh token", first_refresh.as_str()),
        ("current refresh token", second_refresh.as_str()),
    ] {
        assert!(!log.contains(needle), "the log contains the {what}");
        let in_answers = answers.matches(needle).count();
        // A refresh token is answered exactly once: to the client it belongs to.
        let allowed = usize::from(what.ends_with("refresh token"));
        assert!(
            in_answers <= allowed,
            "answers contain the {what} {in_answers} times"
        );
    }
    assert!(!log.contains("$argon2"), "no hash of any kind in the log");
    assert!(!answers.contains("$argon2"), "no hash of any kind in an answer");
}
