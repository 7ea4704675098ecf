//! List query parameters read as PocketBase reads them, compared with the
//! real thing: a parameter given twice takes its first value (Cairn
//! refused the whole request), `skipTotal` is a Go boolean (`yes` is a
//! 400, `T` skips the count; Cairn counted for the one and not the
//! other), `page`/`perPage` are not trimmed, and a `sort` with an empty
//! key (`a,,b`, `a,`) is refused rather than read as a shorter sort.

use serde_json::{Value, json};

use crate::differential::{Server, answer, start_both, urlencode};

async fn seed(s: &Server) {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lp_items", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]}),
    )
    .await;
    for (i, n) in [3, 1, 2, 5, 4].into_iter().enumerate() {
        s.admin(
            "POST",
            "/api/collections/lp_items/records",
            json!({"id": format!("lpitem000000{i:03}"), "title": format!("t{n}"), "n": n}),
        )
        .await;
    }
}

#[tokio::test]
async fn list_parameters_are_read_as_pocketbase_reads_them() {
    let Some(both) = start_both().await else {
        return;
    };
    seed(&both.pb).await;
    seed(&both.cairn).await;
    let list = "/api/collections/lp_items/records";
    let f = |e: &str| urlencode(e);
    let cases = [
        // Repeated: the first value counts.
        format!("{list}?page=2&page=1&perPage=2&sort=id"),
        format!("{list}?page=2&perPage=2&page=&sort=id"),
        format!("{list}?perPage=2&perPage=3&sort=id"),
        format!("{list}?sort=n&sort=-n"),
        format!("{list}?sort=id&fields=id&fields=title"),
        format!("{list}?sort=id&filter={}&filter={}", f("n > 2"), f("n < 2")),
        format!("{list}?sort=id&skipTotal=1&skipTotal=0"),
        format!("{list}/lpitem000000001?fields=id&fields=title"),
        // skipTotal as a Go boolean.
        format!("{list}?sort=id&perPage=2&skipTotal=T"),
        format!("{list}?sort=id&perPage=2&skipTotal=False"),
        format!("{list}?sort=id&perPage=2&skipTotal=yes"),
        format!("{list}?sort=id&perPage=2&skipTotal=on"),
        format!("{list}?sort=id&perPage=2&skipTotal=2"),
        format!("{list}?sort=id&perPage=2&skipTotal=%201"),
        // Numbers are not trimmed.
        format!("{list}?sort=id&perPage=2&page=%202"),
        format!("{list}?sort=id&perPage=2%20"),
        // Empty sort keys.
        format!("{list}?sort="),
        format!("{list}?sort=n,,id"),
        format!("{list}?sort=,n"),
        format!("{list}?sort=n,"),
        format!("{list}?sort=%20"),
        format!("{list}?sort=%20n%20,%20-id%20"),
        "/api/collections?sort=name,&fields=name".to_owned(),
        "/api/collections?skipTotal=yes&fields=name".to_owned(),
    ];
    let mut disagreements = Vec::new();
    for path in &cases {
        let (ps, pbody) = both.pb.call("GET", path, Some(&both.pb.superuser), None).await;
        let (cs, cbody) = both
            .cairn
            .call("GET", path, Some(&both.cairn.superuser), None)
            .await;
        // The collections list holds system collections that differ by
        // design: there only the status is compared.
        let (p, c) = if path.starts_with("/api/collections?") {
            (json!(ps), json!(cs))
        } else {
            (answer(ps, &pbody), answer(cs, &cbody))
        };
        if p != c {
            disagreements.push(format!("{path}\n  pocketbase: {p}\n  cairn:      {c}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// A rule reads `@request.query.x` as the first `x` the URL gives, alone
/// and inside a batch, as PocketBase does; Cairn read the last, so a rule
/// checked against `?x=1&x=2` passed where PocketBase's refused.
#[tokio::test]
async fn a_rule_reads_a_repeated_query_name_as_its_first_value() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: Vec<Vec<(String, Value)>> = Vec::new();
    for s in [&both.pb, &both.cairn] {
        s.admin("PATCH", "/api/settings", json!({"batch": {"enabled": true}}))
            .await;
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": "lp_gated", "listRule": "@request.query.x = '1'",
                "createRule": "@request.query.x = '1'", "fields": [{"name": "t", "type": "text"}]}),
        )
        .await;
        s.admin(
            "POST",
            "/api/collections/lp_gated/records",
            json!({"id": "lpgated00000001", "t": "a"}),
        )
        .await;
        let mut seen = Vec::new();
        for q in ["x=1", "x=2", "x=1&x=2", "x=2&x=1"] {
            let (status, body) = s
                .call(
                    "GET",
                    &format!("/api/collections/lp_gated/records?fields=id&{q}"),
                    None,
                    None,
                )
                .await;
            seen.push((format!("list ?{q}"), json!([status, body["totalItems"]])));
            let batch = json!({"requests": [{"method": "POST",
                "url": format!("/api/collections/lp_gated/records?{q}&fields=t"), "body": {"t": q}}]});
            let (status, body) = s.call("POST", "/api/batch", None, Some(batch)).await;
            let created = status == 200 && body[0]["status"] == 200;
            seen.push((format!("batch create ?{q}"), json!([status, created])));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "PocketBase, then Cairn");
    assert!(
        answers[1].iter().any(|(_, a)| a[1] == json!(true)),
        "some batch create passes: {:?}",
        answers[1]
    );
}

/// A HEAD of a records list or record answers with the GET's status and
/// headers, `Content-Length` the length of the body the GET sends, as
/// PocketBase answers it: Cairn sent no length at all, so a client sizing
/// a list before fetching it read nothing.
#[tokio::test]
async fn a_head_of_a_list_or_a_record_gives_the_length_of_its_get() {
    let Some(both) = start_both().await else {
        return;
    };
    seed(&both.pb).await;
    seed(&both.cairn).await;
    let list = "/api/collections/lp_items/records";
    let paths = [
        format!("{list}?sort=id"),
        format!("{list}?sort=-n&perPage=2&page=2"),
        format!("{list}?sort=id&fields=id,title"),
        format!("{list}?sort=id&filter={}", urlencode("n > 2")),
        format!("{list}/lpitem000000003"),
        format!("{list}/lpitem000000003?fields=title"),
    ];
    let mut answers: Vec<Vec<String>> = Vec::new();
    for s in [&both.pb, &both.cairn] {
        let mut seen = Vec::new();
        for path in &paths {
            for token in [None, Some(s.superuser.as_str())] {
                let send = |method: reqwest::Method| {
                    let mut req = s.client.request(method, format!("{}{path}", s.base));
                    if let Some(t) = token {
                        req = req.header("authorization", t);
                    }
                    req.send()
                };
                let head = send(reqwest::Method::HEAD).await.unwrap();
                let status = head.status().as_u16();
                let length = head.headers().get("content-length").cloned();
                let get = send(reqwest::Method::GET).await.unwrap();
                let get_status = get.status().as_u16();
                let get_length = get.bytes().await.unwrap().len();
                let empty = head.bytes().await.unwrap().is_empty();
                let length = length.map(|l| l.to_str().unwrap().parse::<usize>().unwrap());
                seen.push(format!(
                    "{path} as {}: HEAD {status} length {length:?} (body empty: {empty}), GET {get_status} of {get_length}",
                    if token.is_some() { "superuser" } else { "guest" }
                ));
                assert_eq!(length, Some(get_length), "{} {path}", s.base);
            }
        }
        answers.push(seen);
    }
    crate::differential::assert_alike(&answers[0], &answers[1]);
}
