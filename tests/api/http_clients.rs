//! What any HTTP client may send (curl, `requests`, the Dart, Swift and
//! Kotlin SDKs, `fetch`, a browser form), answered as PocketBase answers
//! it, each case made on both servers: the auth scheme in any case, a
//! query key given twice, a `null` JSON body, form parts with an empty
//! file name or an `@jsonPayload` before the values it overrides,
//! downloads revalidated and resumed by date, and paths with empty or
//! dot segments. Before, Cairn answered these 401; 400; 400; a stored
//! file and a lost payload; the whole file every time; and 404.

use serde_json::json;

use crate::differential::{Server, start_both};

/// A collection anyone may use, with a file field.
async fn seed(s: &Server, name: &str) {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": name, "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1000000}]}),
    )
    .await;
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        let token = &s.superuser;
        for header in [
            token.clone(),
            format!("Bearer {token}"),
            format!("bearer {token}"),
            format!("BEARER {token}"),
        ] {
            let (status, _) = s
                .call("GET", "/api/collections?perPage=1", Some(&header), None)
                .await;
            assert_eq!(status, 200, "{} {}", s.base, &header[..8]);
        }
        // Another scheme is no token.
        let other = format!("Token {token}");
        let (status, _) = s
            .call("GET", "/api/collections?perPage=1", Some(&other), None)
            .await;
        assert_eq!(status, 401, "{}", s.base);
    }
}

#[tokio::test]
async fn a_query_key_given_twice_counts_with_its_first_value() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_repeat").await;
        for id in ["hcrepeat0000001", "hcrepeat0000002"] {
            s.admin(
                "POST",
                "/api/collections/hc_repeat/records",
                json!({"id": id, "title": id}),
            )
            .await;
        }
        let mut seen = Vec::new();
        for url in [
            "/api/collections/hc_repeat/records?perPage=1&perPage=5&fields=id&fields=title&sort=-id&sort=id",
            "/api/collections/hc_repeat/records?filter=id%3D%22hcrepeat0000002%22&filter=id%3D%22x%22&skipTotal=1&skipTotal=0",
            "/api/collections/hc_repeat/records/hcrepeat0000001?fields=title&fields=id&expand=a&expand=b",
        ] {
            seen.push(s.call("GET", url, None, None).await);
        }
        answers.push(seen);
    }
    let (pb, cairn) = (&answers[0], &answers[1]);
    assert_eq!(pb, cairn);
    assert_eq!(
        cairn[0],
        (
            200,
            json!({"page": 1, "perPage": 1, "totalItems": 2, "totalPages": 2, "items": [{"id": "hcrepeat0000002"}]})
        )
    );
    assert_eq!(cairn[1].1["items"][0]["id"], "hcrepeat0000002");
    assert_eq!(cairn[1].1["totalItems"], -1);
    assert_eq!(cairn[2], (200, json!({"title": "hcrepeat0000001"})));
}
