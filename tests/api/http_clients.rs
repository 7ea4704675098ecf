//! What any HTTP client may send (curl, `requests`, the Dart, Swift and
//! Kotlin SDKs, `fetch`, a browser form), answered as PocketBase answers
//! it, each case made on both servers: the auth scheme in any case, a
//! query key given twice, a `null` JSON body, form parts with an empty
//! file name or an `@jsonPayload` before the values it overrides,
//! downloads revalidated and resumed by date, and paths with empty or
//! dot segments. Before, Cairn answered these 401; 400; 400; a stored
//! file and a lost payload; the whole file every time; and 404.

use crate::differential::start_both;

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
