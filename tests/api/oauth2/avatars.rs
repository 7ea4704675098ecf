//! The provider's avatar on a new account, as PocketBase's default
//! `users` maps it (`mappedFields.avatarURL` = `avatar`, a file field):
//! downloaded into the field; into a text field, the URL. The download is
//! a request the server makes to a URL the provider's profile names, so
//! it is refused for private addresses unless the operator allowed them,
//! and a picture that cannot be had never fails the sign-up.

use serde_json::{Value, json};

use super::{
    configure, enable,
    mock::{AVATAR_PNG, MockProvider},
    sign_in_as,
};
use crate::helpers::{TestApp, json, spawn_app, spawn_app_with};

fn with_picture(sub: &str, picture: &str) -> Value {
    json!({"sub": sub, "email": format!("{sub}@example.com"), "email_verified": true,
           "name": "Pic Ture", "picture": picture})
}

async fn signed_up(app: &TestApp, mock: &MockProvider, user: Value) -> Value {
    let resp = sign_in_as(app, mock, user, json!({})).await;
    assert_eq!(resp.status(), 200);
    json(resp).await["record"].clone()
}

#[tokio::test]
async fn the_avatar_is_downloaded_into_the_mapped_file_field() {
    let app = spawn_app_with(|c| c.oauth2_avatars_allow_private = true).await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;

    // Through a redirect, as avatar hosts often answer.
    let record = signed_up(&app, &mock, with_picture("pic-1", &mock.url("/avatar"))).await;
    let name = record["avatar"].as_str().unwrap();
    assert!(name.ends_with(".png"), "{record}");
    let file = app
        .call(
            "GET",
            &format!("/api/files/users/{}/{name}", record["id"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), AVATAR_PNG);

    // A picture that is not there: the account is made without one.
    let record = signed_up(&app, &mock, with_picture("pic-2", &mock.url("/nothing-here.png"))).await;
    assert_eq!(record["avatar"], "", "{record}");

    // Too large for the field: left out, the sign-up goes on.
    configure_avatar_field(&app, &root, json!({"maxSize": 10})).await;
    let record = signed_up(&app, &mock, with_picture("pic-3", &mock.url("/avatar.png"))).await;
    assert_eq!(record["avatar"], "", "{record}");
}

#[tokio::test]
async fn an_avatar_on_a_private_address_is_never_fetched_by_default() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    // The mock is on loopback, as an internal service would be.
    let record = signed_up(&app, &mock, with_picture("ssrf-1", &mock.url("/avatar.png"))).await;
    assert_eq!(record["avatar"], "", "{record}");
    assert_eq!(
        record["email"], "ssrf-1@example.com",
        "the account is made all the same"
    );
    // Nor through a name that points there, nor a scheme other than http(s).
    let record = signed_up(
        &app,
        &mock,
        with_picture("ssrf-2", "http://localhost:9/latest/meta-data"),
    )
    .await;
    assert_eq!(record["avatar"], "", "{record}");
    let record = signed_up(&app, &mock, with_picture("ssrf-3", "file:///etc/passwd")).await;
    assert_eq!(record["avatar"], "", "{record}");
}

#[tokio::test]
async fn a_text_field_gets_the_avatar_url() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let body = json!({"fields": [{"name": "picture_url", "type": "url"}],
                      "oauth2": {"enabled": true, "providers": [mock.config()], "mappedFields": {"avatarURL": "picture_url"}}});
    configure(&app, &root, body).await;
    let record = signed_up(
        &app,
        &mock,
        with_picture("url-1", "https://images.example.com/u/1.png"),
    )
    .await;
    assert_eq!(record["picture_url"], "https://images.example.com/u/1.png");
}

/// Changes the `avatar` field's options of `users`.
async fn configure_avatar_field(app: &TestApp, root: &str, options: Value) {
    let users = json(app.call("GET", "/api/collections/users", Some(root), None).await).await;
    let mut fields = users["fields"].as_array().unwrap().clone();
    for f in &mut fields {
        if f["name"] == "avatar" {
            f.as_object_mut()
                .unwrap()
                .extend(options.as_object().unwrap().clone());
        }
    }
    configure(app, root, json!({"fields": fields})).await;
}
