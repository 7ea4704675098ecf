//! File names in `+field` and `field+`: uploads are what those keys add,
//! so a name given there must be one the record already holds, as a name
//! under the plain key must; PocketBase refuses any other with
//! `validation_invalid_file`. Cairn ignored them: a typo'd or foreign name
//! answered 200 as if it had been added. Compared with PocketBase.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

/// A collection anyone may write, its record `ID` holding one file; the
/// name that file is stored under.
async fn seed(s: &Server) -> String {
    let fields = json!([{"name": "files", "type": "file", "maxSelect": 5}]);
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "held", "updateRule": "", "viewRule": "", "fields": fields}),
    )
    .await;
    let part = reqwest::multipart::Part::bytes(b"kept".to_vec()).file_name("kept.txt");
    let form = reqwest::multipart::Form::new().text("id", ID).part("files", part);
    let resp = s
        .client
        .post(format!("{}/api/collections/held/records", s.base))
        .header("authorization", &s.superuser)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    body["files"][0].as_str().unwrap().to_owned()
}

const ID: &str = "heldheldheld001";

/// The answer to a guest's update with `body`: the status, and the file
/// list or the error (the held name written as `<held>`, since each
/// server stored it under its own).
async fn update(s: &Server, held: &str, body: Value) -> String {
    let (status, out) = s
        .call(
            "PATCH",
            &format!("/api/collections/held/records/{ID}"),
            None,
            Some(body),
        )
        .await;
    let shown = if status == 200 {
        &out["files"]
    } else {
        &out["data"]
    };
    format!("{status} {}", shown.to_string().replace(held, "<held>"))
}

#[tokio::test]
async fn names_under_plus_keys_must_be_the_records_own() {
    let Some(both) = start_both().await else {
        return;
    };
    let (pb_held, cairn_held) = (seed(&both.pb).await, seed(&both.cairn).await);
    let cases: [fn(&str) -> Value; 7] = [
        |_| json!({"+files": "zz.txt"}),
        |_| json!({"files+": ["a", "b"]}),
        |held| json!({"+files": [held, "q"]}),
        // Positive controls: the record's own name, and nothing at all.
        |held| json!({"files+": [held]}),
        |_| json!({"files+": []}),
        |_| json!({"files+": ""}),
        |_| json!({"files+": null}),
    ];
    let mut differences = Vec::new();
    let mut cairn = Vec::new();
    for case in cases {
        let want = update(&both.pb, &pb_held, case(&pb_held)).await;
        let got = update(&both.cairn, &cairn_held, case(&cairn_held)).await;
        if want != got {
            differences.push(format!("{}: PocketBase {want}, Cairn {got}", case("<held>")));
        }
        cairn.push(got);
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(
        cairn[0].starts_with("400 ") && cairn[0].contains("validation_invalid_file"),
        "{cairn:?}"
    );
    assert_eq!(cairn[3], "200 [\"<held>\"]");
}
