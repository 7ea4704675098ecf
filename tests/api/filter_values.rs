//! Filter literals and paths read as PocketBase reads them, compared with
//! the real thing: a backslash escapes only a quote or itself (`'\%'`
//! stays an escaped `%`, so `title ~ '50\%'` looks for a literal `50%`;
//! Cairn dropped the backslash and matched every title), and a geo point's
//! `lon`/`lat` are paths a filter, a sort and `geoDistance` can use (Cairn
//! refused `geo.lat` as a field with no sub-fields), and `geoDistance`
//! over any field answers (a text field or a missing key failed the list
//! with a 500 any guest could cause).

use serde_json::json;

use crate::{
    differential::{Both, Server, answer, start_both},
    helpers::filter,
};

/// Each of `paths` read by a guest of both servers: the answers that
/// differ, each with both answers. Neither may fail with a 500.
async fn guest_disagreements(both: &Both, paths: impl Iterator<Item = String>) -> Vec<String> {
    let mut disagreements = Vec::new();
    for path in paths {
        let (ps, pbody) = both.pb.call("GET", &path, None, None).await;
        let (cs, cbody) = both.cairn.call("GET", &path, None, None).await;
        assert!(
            ps < 500 && cs < 500,
            "{path}: PocketBase {ps} {pbody}, Cairn {cs} {cbody}"
        );
        let (p, c) = (answer(ps, &pbody), answer(cs, &cbody));
        if p != c {
            disagreements.push(format!("{path}\n  pocketbase: {p}\n  cairn:      {c}"));
        }
    }
    disagreements
}

async fn seed(s: &Server) {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "fv_places", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "geo", "type": "geoPoint"}]}),
    )
    .await;
    for (i, (title, lon, lat)) in [
        ("50% off_sale", 10.0, 20.0),
        ("O'Brien \"q\" \\ back", 0.0, 0.0),
        ("hello world", -3.5, 40.25),
        ("5_x", 10.001, 20.0),
    ]
    .into_iter()
    .enumerate()
    {
        s.admin(
            "POST",
            "/api/collections/fv_places/records",
            json!({"id": format!("fvplace00000{i:03}"), "title": title, "geo": {"lon": lon, "lat": lat}}),
        )
        .await;
    }
}

#[tokio::test]
async fn literals_and_geo_paths_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    seed(&both.pb).await;
    seed(&both.cairn).await;
    let filters = [
        r"title ~ '\%'",
        r"title ~ '50\%'",
        r"title ~ '5_\%'",
        r"title ~ '%\%%'",
        r"title ~ '\%off'",
        r"title ~ 'off\_s'",
        r"title ~ 'hel\lo'",
        r"title !~ '\%'",
        r"title ~ '\\'",
        r"title ~ '\\\\'",
        r"title = '50\% off_sale'",
        r#"title = 'O\'Brien \"q\" \ back'"#,
        r#"title = 'O\'Brien "q" \\ back'"#,
        "geo.lon = 10",
        "geo.lat > 30",
        "geo.lon < 0 || geo.lat = 0",
        "geoDistance(geo.lon, geo.lat, 10, 20) < 1",
        "geoDistance(geo.lon, geo.lat, 0, 0) < 100",
        // Odd arguments: a 400 for quoted text, as in PocketBase, and an
        // answer for any field (Cairn failed these with a 500).
        "geoDistance(geo.lon, geo.lat, 'a', 20) < 1",
        "geoDistance('1', '2', 1, 20) < 1000",
        "geoDistance(title, 0, 1, 20) < 1000",
        "geoDistance(title, 0, 1, 20) > 1000",
        "geoDistance(title, 0, 1, 20) = null",
        "geoDistance(title, 0, 1, 20) = 0",
        "geoDistance(null, 0, 1, 20) < 1",
        "geoDistance(null, 0, 1, 20) = null",
        "geoDistance(geo.nope, 0, 1, 20) < 1",
        "geoDistance(geo.nope, 0, 1, 20) != 5",
    ];
    let mut cases: Vec<String> = filters
        .iter()
        .map(|f| format!("sort=id&fields=id&filter={}", filter(f)))
        .collect();
    cases.extend(["sort=geo.lat,id&fields=id", "sort=-geo.lon&fields=id"].map(str::to_owned));
    let paths = cases
        .iter()
        .map(|query| format!("/api/collections/fv_places/records?{query}"));
    let disagreements = guest_disagreements(&both, paths).await;
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

async fn seed_modifiers(s: &Server) {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "fv_mods", "listRule": "", "viewRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "one", "type": "select", "values": ["a", "b"], "maxSelect": 1},
            {"name": "many", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
        ]}),
    )
    .await;
    for (i, (title, one, many)) in [
        ("x", "a", json!(["a", "b"])),
        ("", "", json!([])),
        ("zz", "b", json!(["b"])),
    ]
    .into_iter()
    .enumerate()
    {
        s.admin(
            "POST",
            "/api/collections/fv_mods/records",
            json!({"id": format!("fvmods000000{i:03}"), "title": title, "one": one, "many": many}),
        )
        .await;
    }
}

/// `:each` and `:length` on a single select or relation (the list of its
/// one value, none when empty; Cairn refused them), `:isset` on
/// `@request.query` and `@request.headers` (Cairn took it on the body
/// only), and `strftime` as PocketBase takes it (the time may be left out
/// for now, up to eight modifiers, the format and modifiers quoted, and a
/// value that is no time reads as empty).
#[tokio::test]
async fn modifiers_and_strftime_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    seed_modifiers(&both.pb).await;
    seed_modifiers(&both.cairn).await;
    let filters = [
        "one:each = 'a'",
        "one:each != 'a'",
        "one:length = 0",
        "one:length = 1",
        "one:length > 0 && many:length = 2",
        "many:each = 'b'",
        "owner:length = 0",
        "owner:each = ''",
        "@request.query.x:isset = true",
        "@request.query.x:isset = false",
        "@request.query.nope:isset = true",
        "@request.headers.x_flag:isset = true",
        "@request.headers.x_other:isset = true",
        "@request.query.x:isset = true && @request.query.x = '1'",
        "strftime('%Y') != ''",
        "strftime('%Y', 'now', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day') != ''",
        "strftime('%Y', 'now', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day', '+1 day') != ''",
        "strftime('%Y', title) = ''",
        "strftime('%Y', title) != ''",
        "strftime('%Y', 'now', title) != ''",
        "strftime(title) != ''",
        "strftime() != ''",
    ];
    let mut disagreements = Vec::new();
    for f in filters {
        let path = format!(
            "/api/collections/fv_mods/records?x=1&sort=id&fields=id&filter={}",
            filter(f)
        );
        let mut answers = Vec::new();
        for s in [&both.pb, &both.cairn] {
            let resp = s
                .client
                .get(format!("{}{path}", s.base))
                .header("authorization", &s.superuser)
                .header("x-flag", "on")
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.json().await.unwrap_or_default();
            assert!(status < 500, "{path}: {status} {body}");
            answers.push(answer(status, &body));
        }
        if answers[0] != answers[1] {
            disagreements.push(format!(
                "{f}\n  pocketbase: {}\n  cairn:      {}",
                answers[0], answers[1]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

async fn seed_json(s: &Server) {
    let made = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "fv_json", "listRule": "", "viewRule": "",
                "fields": [{"name": "title", "type": "text"}, {"name": "meta", "type": "json"}]}),
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "fv_json_refs", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"},
                {"name": "r", "type": "relation", "collectionId": made["id"], "maxSelect": 1}]}),
    )
    .await;
    // The same comparison as a rule: what a guest may list.
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "fv_json_rule", "listRule": "meta.a != ''", "viewRule": "meta.a != ''",
            "fields": [{"name": "title", "type": "text"}, {"name": "meta", "type": "json"}]}),
    )
    .await;
    let rows = [
        ("has", json!({"a": "x", "n": 0})),
        ("empty", json!({"a": "", "n": 1})),
        ("none", json!({})),
        ("null", json!(null)),
        ("nullkey", json!({"a": null})),
    ];
    for (i, (title, meta)) in rows.into_iter().enumerate() {
        let id = format!("fvjson000000{i:03}");
        s.admin(
            "POST",
            "/api/collections/fv_json/records",
            json!({"id": id, "title": title, "meta": meta}),
        )
        .await;
        s.admin(
            "POST",
            "/api/collections/fv_json_refs/records",
            json!({"id": format!("fvjsonref000{i:03}"), "title": title, "r": id}),
        )
        .await;
        s.admin(
            "POST",
            "/api/collections/fv_json_rule/records",
            json!({"id": format!("fvjsonrule00{i:03}"), "title": title, "meta": meta}),
        )
        .await;
    }
    s.admin(
        "POST",
        "/api/collections/fv_json_refs/records",
        json!({"id": "fvjsonref000009", "title": "no record"}),
    )
    .await;
}

/// A JSON value is compared as PocketBase compares one: a missing key (or
/// a JSON null) is `null`, which `=` and `!=` tell apart from `''` and
/// `0` (`meta.nope != ""` holds; Cairn read a missing key as `''`, so it
/// held for no record, and `meta.a = null` matched an empty text), and
/// `~` and `!~` never match it. And nothing orders against `null`, a
/// plain field included (`title > null` matched every titled record).
#[tokio::test]
async fn json_values_and_null_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    seed_json(&both.pb).await;
    seed_json(&both.cairn).await;
    let json_filters = [
        "meta.nope != ''",
        "meta.nope = ''",
        "meta.nope != 0",
        "meta.nope = 0",
        "meta.nope !~ 'x'",
        "meta.nope ~ ''",
        "meta.nope = null",
        "meta.nope != null",
        "meta.a != ''",
        "meta.a = ''",
        "meta.a = null",
        "meta.a != null",
        "meta.a !~ 'x'",
        "meta.a ~ ''",
        "meta.a ?!= ''",
        "meta.a ?~ 'x'",
        "meta.n != 0",
        "meta.n = false",
        "meta.n > -1",
        "meta = null",
        "meta != ''",
        "meta !~ 'zz'",
        "meta.a != title",
        "title != meta.a",
        "'' != meta.nope",
        "meta.nope = meta.other",
        "meta.a > null",
        "meta.a <= null",
        "title > null",
        "title >= null",
        "title < null",
        "null >= null",
        "null = null",
        "'' > null",
    ];
    let ref_filters = [
        "r.meta.a = null",
        "r.meta.a = ''",
        "r.meta.a != ''",
        "r.meta.a !~ 'x'",
        "r.meta.n != 0",
        "r.meta.a > null",
        "r.title > null",
        "r.title >= null",
        "null < r.title",
        "r.title = null",
    ];
    let paths = json_filters
        .iter()
        .map(|f| ("fv_json", f))
        .chain(ref_filters.iter().map(|f| ("fv_json_refs", f)))
        .map(|(collection, f)| {
            format!(
                "/api/collections/{collection}/records?sort=id&fields=title&filter={}",
                filter(f)
            )
        });
    let rule_list = "/api/collections/fv_json_rule/records?sort=id&fields=title".to_owned();
    let rule_view = "/api/collections/fv_json_rule/records/fvjsonrule00001".to_owned();
    let disagreements = guest_disagreements(&both, paths.chain([rule_list.clone(), rule_view.clone()])).await;
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The rule on Cairn, spelled out: a missing key or a JSON null
    // passes `meta.a != ''` (positive), an empty text does not, in a list
    // or a view (negative).
    let (_, listed) = both.cairn.call("GET", &rule_list, None, None).await;
    let titles: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["has", "none", "null", "nullkey"]);
    let (status, _) = both.cairn.call("GET", &rule_view, None, None).await;
    assert_eq!(status, 404);
}
