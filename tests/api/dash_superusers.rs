//! The dashboard's superusers page relies on this: the only superuser
//! cannot be deleted (PocketBase refuses it with a 400 too), while one of
//! two can, and the refusal is decided in the delete's transaction.

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn the_only_superuser_cannot_be_deleted_but_one_of_two_can() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let list = json(
        app.call("GET", "/api/collections/_superusers/records", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(list["totalItems"], 1);
    let only = list["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/collections/_superusers/records/{only}");

    let refused = assert_envelope(app.call("DELETE", &path, Some(&token), None).await, 400).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only superuser"),
        "{refused}"
    );
    // Still there, and still signs in.
    assert_eq!(app.call("GET", &path, Some(&token), None).await.status(), 200);

    // The positive control: with a second superuser, the first can go.
    app.post_ok(
        &token,
        "/api/collections/_superusers/records",
        json!({"email": "second@example.com", "password": "second-pass-1", "passwordConfirm": "second-pass-1"}),
    )
    .await;
    assert_eq!(app.call("DELETE", &path, Some(&token), None).await.status(), 204);
    // And now the second is the only one, so it stays.
    let second = app
        .sign_in("_superusers", "second@example.com", "second-pass-1")
        .await;
    let second = json(second).await;
    let (second_token, second_id) = (
        second["token"].as_str().unwrap().to_owned(),
        second["record"]["id"].as_str().unwrap().to_owned(),
    );
    let path = format!("/api/collections/_superusers/records/{second_id}");
    assert_envelope(app.call("DELETE", &path, Some(&second_token), None).await, 400).await;
}
