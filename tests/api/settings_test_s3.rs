//! `POST /api/settings/test/s3` (the SDK's `settings.testS3`) answers as
//! PocketBase does while S3 is off, so a client checking its settings
//! gets the same refusals; with S3 enabled (settings moved from a
//! PocketBase that used it) Cairn says it keeps them without using them,
//! rather than pretending a connection worked.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

const PATH: &str = "/api/settings/test/s3";

async fn answers(server: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    for body in [
        json!({}),
        json!({"filesystem": "storage"}),
        json!({"filesystem": "backups"}),
        json!({"filesystem": "cloud"}),
    ] {
        let (status, answer) = server
            .call("POST", PATH, Some(&server.superuser), Some(body.clone()))
            .await;
        out.push(json!({"sent": body, "status": status, "answer": answer}));
    }
    let (status, answer) = server
        .call("POST", PATH, None, Some(json!({"filesystem": "storage"})))
        .await;
    out.push(json!({"guest": status, "answer": answer}));
    out
}

#[tokio::test]
async fn testing_s3_answers_as_pocketbase_while_it_is_off() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = answers(&both.pb).await;
    let actual = answers(&both.cairn).await;
    assert_eq!(actual, expected, "Cairn's answers, then PocketBase's");

    // Enabled (as an import from a PocketBase using S3 leaves it): refused,
    // saying the settings are kept but not used.
    let cairn = &both.cairn;
    cairn
        .admin(
            "PATCH",
            "/api/settings",
            json!({"s3": {"enabled": true, "bucket": "b", "region": "r", "endpoint": "https://s3.example.com",
                          "accessKey": "k", "secret": "s3-secret-1"}}),
        )
        .await;
    let (status, answer) = cairn
        .call(
            "POST",
            PATH,
            Some(&cairn.superuser),
            Some(json!({"filesystem": "storage"})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("Failed to test the S3 filesystem."),
        "{message}"
    );
    assert!(message.contains("does not use S3"), "{message}");
    assert!(!message.contains("s3-secret-1"));
}
