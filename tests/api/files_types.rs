//! The type of an upload, as `mimeTypes` checks it and a download names
//! it, told from its bytes as PocketBase tells it: a JSON object or array
//! is `application/json` and comma-separated rows are `text/csv`, not
//! plain text. Cairn took both for `text/plain`, so a field of
//! `["application/json"]` refused every JSON file and one of
//! `["text/plain"]` took them. Compared with PocketBase upload by upload.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::differential::{Server, assert_alike, start_both};

const UPLOADS: &[(&str, &[u8])] = &[
    ("object", br#"{"a": 1, "b": [1, 2]}"#),
    ("array", b"[1, 2, 3]\n"),
    ("csv", b"a,b,c\n1,\"2,5\",3\n4,5,6\n"),
    ("text", b"hello world"),
    ("number", b"123"),
    ("ragged", b"a,b\n1,2,3\n"),
];

/// Per upload and field: the status of the create, and the type the file
/// is then served as.
async fn outcomes(s: &Server) -> Vec<String> {
    let fields = json!([
        {"name": "any", "type": "file", "maxSelect": 1},
        {"name": "json_only", "type": "file", "maxSelect": 1, "mimeTypes": ["application/json"]},
        {"name": "text_only", "type": "file", "maxSelect": 1, "mimeTypes": ["text/plain"]},
    ]);
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "typed", "fields": fields}),
    )
    .await;
    let mut out = Vec::new();
    for (label, bytes) in UPLOADS {
        for field in ["any", "json_only", "text_only"] {
            let part = Part::bytes(bytes.to_vec())
                .file_name(format!("{label}.dat"))
                .mime_str("application/octet-stream")
                .unwrap();
            let resp = s
                .client
                .post(format!("{}/api/collections/typed/records", s.base))
                .header("authorization", &s.superuser)
                .multipart(Form::new().part(field, part))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            let served = match body[field].as_str() {
                Some(name) if status == 200 => {
                    let url = format!(
                        "{}/api/files/typed/{}/{name}",
                        s.base,
                        body["id"].as_str().unwrap()
                    );
                    let got = s.client.get(url).send().await.unwrap();
                    let kind = got
                        .headers()
                        .get("content-type")
                        .map(|v| v.to_str().unwrap().to_owned());
                    kind.unwrap_or_default()
                }
                _ => body["data"][field]["code"].as_str().unwrap_or("").to_owned(),
            };
            out.push(format!("{label} into {field}: {status} {served}"));
        }
    }
    out
}

#[tokio::test]
async fn json_and_csv_uploads_are_typed_as_pocketbase_types_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let (pb, cairn) = (outcomes(&both.pb).await, outcomes(&both.cairn).await);
    assert_alike(&pb, &cairn);
    // The negative and the positive case, said outright.
    assert!(
        cairn.contains(&"object into text_only: 400 validation_invalid_mime_type".to_owned()),
        "{cairn:?}"
    );
    assert!(
        cairn.contains(&"object into json_only: 200 application/json".to_owned()),
        "{cairn:?}"
    );
}
