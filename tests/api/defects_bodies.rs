//! Every endpoint that takes a body reads JSON, `multipart/form-data` and
//! `application/x-www-form-urlencoded` alike (as PocketBase does), with
//! the same answer, errors included, whatever the encoding.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::{
    account::outbox,
    helpers::{TestApp, assert_envelope, json, spawn_app},
    sse::Sse,
};

#[derive(Clone, Copy, Debug)]
enum Enc {
    Json,
    Multipart,
    UrlEncoded,
}

const ALL: [Enc; 3] = [Enc::Json, Enc::Multipart, Enc::UrlEncoded];

/// Sends text `pairs` (a name may repeat) in encoding `enc`; as JSON, a
/// repeated name becomes a list.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    enc: Enc,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        req = req.header("authorization", token);
    }
    req = match enc {
        Enc::Json => {
            let mut map = Map::new();
            for (k, v) in pairs {
                match map.get_mut(*k) {
                    Some(Value::Array(items)) => items.push(json!(v)),
                    Some(one) => *one = json!([one.clone(), v]),
                    None => {
                        map.insert((*k).to_owned(), json!(v));
                    }
                }
            }
            req.json(&map)
        }
        Enc::Multipart => {
            let form = pairs.iter().fold(reqwest::multipart::Form::new(), |f, (k, v)| {
                f.text((*k).to_owned(), (*v).to_owned())
            });
            req.multipart(form)
        }
        Enc::UrlEncoded => req.form(pairs),
    };
    req.send().await.unwrap()
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = if status == 204 {
        Value::Null
    } else {
        json(resp).await
    };
    (status, body)
}

/// The same request in the three encodings: the three answers.
async fn in_every_encoding(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    pairs: &[(&str, &str)],
) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for enc in ALL {
        out.push(answer(send(app, method, path, token, enc, pairs).await).await);
    }
    out
}

/// Asserts that all three encodings got this very error.
async fn same_error_everywhere(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    pairs: &[(&str, &str)],
) -> Value {
    let answers = in_every_encoding(app, method, path, token, pairs).await;
    let (status, first) = answers[0].clone();
    assert_eq!(status, 400, "{path}: {first}");
    for (enc, got) in ALL.iter().zip(&answers) {
        assert_eq!(got, &(400, first.clone()), "{path} as {enc:?}");
    }
    first
}

#[tokio::test]
async fn sign_in_reads_json_multipart_and_urlencoded_alike() {
    let app = spawn_app().await;
    app.sign_up("alice@example.com", "alice-pass-1").await;
    let path = "/api/collections/users/auth-with-password";
    let good = [("identity", "alice@example.com"), ("password", "alice-pass-1")];
    for (enc, (status, body)) in ALL
        .iter()
        .zip(in_every_encoding(&app, "POST", path, None, &good).await)
    {
        assert_eq!(status, 200, "{enc:?}: {body}");
        assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(body["record"]["email"], "alice@example.com");
    }
    // The SDKs' way of sending JSON beside files.
    let payload = r#"{"identity":"alice@example.com","password":"alice-pass-1"}"#;
    for enc in [Enc::Multipart, Enc::UrlEncoded] {
        let (status, body) =
            answer(send(&app, "POST", path, None, enc, &[("@jsonPayload", payload)]).await).await;
        assert_eq!(status, 200, "{enc:?}: {body}");
    }

    // Errors are the same whatever the encoding.
    let missing = same_error_everywhere(&app, "POST", path, None, &[("identity", "alice@example.com")]).await;
    assert_eq!(missing["data"]["password"]["code"], "validation_required");
    let wrong = [("identity", "alice@example.com"), ("password", "wrong-pass-1")];
    same_error_everywhere(&app, "POST", path, None, &wrong).await;
    let empty = same_error_everywhere(&app, "POST", path, None, &[]).await;
    assert_eq!(empty["data"]["identity"]["code"], "validation_required");

    // Neither JSON nor a form: refused, as PocketBase does.
    let resp = app
        .client
        .post(app.url(path))
        .header("content-type", "text/plain")
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 400).await;
}

#[tokio::test]
async fn account_flows_and_otp_read_forms() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.sign_up("bob@example.com", "bob-pass-123").await;

    let request = "/api/collections/users/request-verification";
    for (status, body) in
        in_every_encoding(&app, "POST", request, None, &[("email", "bob@example.com")]).await
    {
        assert_eq!(status, 204, "{body}");
    }
    let bad = same_error_everywhere(&app, "POST", request, None, &[("email", "not-an-email")]).await;
    assert_eq!(bad["data"]["email"]["code"], "validation_is_email");
    let confirm = "/api/collections/users/confirm-password-reset";
    let reset = [
        ("token", "not-a-token"),
        ("password", "new-pass-123"),
        ("passwordConfirm", "new-pass-123"),
    ];
    same_error_everywhere(&app, "POST", confirm, None, &reset).await;

    // OTP: a code requested by form signs in by form.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&su),
            Some(json!({"otp": {"enabled": true}})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/collections/users/request-otp",
            None,
            Enc::UrlEncoded,
            &[("email", "bob@example.com")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let otp_id = body["otpId"].as_str().unwrap().to_owned();
    let mails = outbox(&app, &su).await;
    let text = mails
        .iter()
        .find(|m| m["to"] == "bob@example.com" && m["text"].as_str().unwrap().contains("code"))
        .map(|m| m["text"].as_str().unwrap().to_owned());
    let code = text
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .unwrap()
        .to_owned();
    let signin = "/api/collections/users/auth-with-otp";
    let wrong = [("otpId", otp_id.as_str()), ("password", "00000000")];
    let refused = answer(send(&app, "POST", signin, None, Enc::Multipart, &wrong).await).await;
    assert_eq!(refused.0, 400, "{}", refused.1);
    let right = [("otpId", otp_id.as_str()), ("password", code.as_str())];
    let (status, body) = answer(send(&app, "POST", signin, None, Enc::Multipart, &right).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["record"]["email"], "bob@example.com");
}

/// How many seconds a JWT has left, give or take the test's own time.
fn lifetime(token: &str) -> i64 {
    let claims = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = claims["exp"].as_i64().unwrap() - now;
    // Rounded to tens: a slow second must not fail the test.
    (left + 5) / 10 * 10
}

#[tokio::test]
async fn impersonate_reads_a_form_number() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, user) = app.sign_up("carol@example.com", "carol-pass-1").await;
    let path = format!("/api/collections/users/impersonate/{id}");
    for enc in [Enc::Multipart, Enc::UrlEncoded] {
        let (status, body) =
            answer(send(&app, "POST", &path, Some(&su), enc, &[("duration", "100")]).await).await;
        assert_eq!(status, 200, "{enc:?}: {body}");
        assert_eq!(lifetime(body["token"].as_str().unwrap()), 100);
        // Text that is not a number is refused.
        let (status, body) =
            answer(send(&app, "POST", &path, Some(&su), enc, &[("duration", "soon")]).await).await;
        assert_eq!(status, 400, "{body}");
        // Only superusers, whatever the encoding.
        let (status, _) =
            answer(send(&app, "POST", &path, Some(&user), enc, &[("duration", "100")]).await).await;
        assert_eq!(status, 403);
    }
    // JSON keeps its types: a number, not a string.
    let resp = app
        .call("POST", &path, Some(&su), Some(json!({"duration": 100})))
        .await;
    assert_eq!(lifetime(json(resp).await["token"].as_str().unwrap()), 100);
    let resp = app
        .call("POST", &path, Some(&su), Some(json!({"duration": "100"})))
        .await;
    assert_envelope(resp, 400).await;
}

#[tokio::test]
async fn collections_and_settings_read_forms() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;

    // Plain values by form; nested ones through @jsonPayload.
    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/collections",
            Some(&su),
            Enc::UrlEncoded,
            &[("name", "notes"), ("type", "base")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let payload = r#"{"name":"tasks","fields":[{"name":"title","type":"text"}]}"#;
    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/collections",
            Some(&su),
            Enc::Multipart,
            &[("@jsonPayload", payload)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "title")
    );
    let (status, body) = answer(
        send(
            &app,
            "PATCH",
            "/api/collections/notes",
            Some(&su),
            Enc::Multipart,
            &[("listRule", "")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["listRule"], "");
    // A bad name is the same validation error in every encoding.
    let bad = same_error_everywhere(
        &app,
        "POST",
        "/api/collections",
        Some(&su),
        &[("name", "bad name!")],
    )
    .await;
    assert!(bad["data"]["name"].is_object(), "{bad}");
    // Only superusers.
    let (_, user) = app.sign_up("dan@example.com", "dan-pass-123").await;
    let (status, _) = answer(
        send(
            &app,
            "POST",
            "/api/collections",
            Some(&user),
            Enc::UrlEncoded,
            &[("name", "sneaky")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);

    let import = r#"{"collections":[{"name":"imported","type":"base"}]}"#;
    let (status, body) = answer(
        send(
            &app,
            "PUT",
            "/api/collections/import",
            Some(&su),
            Enc::UrlEncoded,
            &[("@jsonPayload", import)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // A list as form text is unreadable, as PocketBase answers.
    let (status, body) = answer(
        send(
            &app,
            "PUT",
            "/api/collections/import",
            Some(&su),
            Enc::UrlEncoded,
            &[("collections", "[]")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "An error occurred while loading the submitted data."
    );

    let settings = r#"{"meta":{"appName":"Formed"}}"#;
    let (status, body) = answer(
        send(
            &app,
            "PATCH",
            "/api/settings",
            Some(&su),
            Enc::Multipart,
            &[("@jsonPayload", settings)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["appName"], "Formed");
    let (status, _) = answer(
        send(
            &app,
            "PATCH",
            "/api/settings",
            Some(&user),
            Enc::Multipart,
            &[("@jsonPayload", settings)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn batch_records_and_realtime_read_forms() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "posts", "type": "base", "createRule": "", "listRule": "",
               "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    app.change_settings(|s| s.batch.enabled = true).await;

    let batch = r#"{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"batched"}}]}"#;
    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/batch",
            None,
            Enc::UrlEncoded,
            &[("@jsonPayload", batch)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["body"]["title"], "batched");
    // A list of requests is not form text.
    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/batch",
            None,
            Enc::UrlEncoded,
            &[("requests", "[]")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Failed to read the submitted batch data.");

    let (status, body) = answer(
        send(
            &app,
            "POST",
            "/api/collections/posts/records",
            None,
            Enc::UrlEncoded,
            &[("title", "formed")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], "formed");

    let sse = Sse::open(&app).await;
    for enc in [Enc::UrlEncoded, Enc::Multipart] {
        let one = [("clientId", sse.client_id.as_str()), ("subscriptions", "posts")];
        let (status, body) = answer(send(&app, "POST", "/api/realtime", None, enc, &one).await).await;
        assert_eq!(status, 204, "{enc:?}: {body}");
        let two = [
            ("clientId", sse.client_id.as_str()),
            ("subscriptions", "posts"),
            ("subscriptions", "posts/*"),
        ];
        let (status, body) = answer(send(&app, "POST", "/api/realtime", None, enc, &two).await).await;
        assert_eq!(status, 204, "{enc:?}: {body}");
    }
    let client = app.state.realtime.client(&sse.client_id).unwrap();
    assert!(client.subscription_key("posts").is_some());
    assert!(client.subscription_key("posts/*").is_some());
    let no_client = [("subscriptions", "posts"), ("subscriptions", "posts/*")];
    let missing = same_error_everywhere(&app, "POST", "/api/realtime", None, &no_client).await;
    assert_eq!(missing["data"]["clientId"]["code"], "validation_required");
}
