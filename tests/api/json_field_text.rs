//! A `json` field given text: the text is read as the JSON it holds when
//! it is JSON (`"{\"a\":1}"` stores `{"a":1}`, `"123"` stores 123),
//! whether it came in a JSON body, a form or a batch, and stays a string
//! otherwise (`"hello"`, or JSON after a leading space), as PocketBase
//! reads it.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

const TEXTS: [&str; 10] = [
    r#"{"a":1}"#,
    "hello",
    "123",
    r#""quoted""#,
    "[1,2]",
    "true",
    "null",
    "",
    r#" {"a":1} "#,
    "5 ",
];

async fn stored_via_json(s: &Server, text: &str) -> Value {
    let (status, r) = s
        .call(
            "POST",
            "/api/collections/jsx/records",
            None,
            Some(json!({"j": text})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    r["j"].clone()
}

async fn stored_via_form(s: &Server, text: &str) -> Value {
    let form = reqwest::multipart::Form::new().text("j", text.to_owned());
    let r: Value = s
        .client
        .post(format!("{}/api/collections/jsx/records", s.base))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["j"].clone()
}

async fn stored_via_batch(s: &Server, text: &str) -> Value {
    let (status, r) = s
        .call(
            "POST",
            "/api/batch",
            Some(&s.superuser),
            Some(json!({"requests": [{"method": "POST", "url": "/api/collections/jsx/records", "body": {"j": text}}]})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    r[0]["body"]["j"].clone()
}

#[tokio::test]
async fn json_text_is_read_as_pocketbase_reads_it() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": "jsx", "createRule": "", "fields": [{"name": "j", "type": "json"}]}),
        )
        .await;
        s.admin("PATCH", "/api/settings", json!({"batch": {"enabled": true}}))
            .await;
    }
    let mut disagreements = Vec::new();
    for text in TEXTS {
        for (how, pb, cairn) in [
            (
                "json",
                stored_via_json(&both.pb, text).await,
                stored_via_json(&both.cairn, text).await,
            ),
            (
                "form",
                stored_via_form(&both.pb, text).await,
                stored_via_form(&both.cairn, text).await,
            ),
            (
                "batch",
                stored_via_batch(&both.pb, text).await,
                stored_via_batch(&both.cairn, text).await,
            ),
        ] {
            if pb != cairn {
                disagreements.push(format!("{text:?} by {how}: PocketBase {pb} Cairn {cairn}"));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // What the test asserts is not vacuous: text that is JSON became it.
    assert_eq!(stored_via_json(&both.cairn, r#"{"a":1}"#).await, json!({"a": 1}));
    assert_eq!(stored_via_json(&both.cairn, "hello").await, json!("hello"));
}
