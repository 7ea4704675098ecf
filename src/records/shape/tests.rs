//! Shape's tests: the map path and `RecordWriter` give the same bytes,
//! private emails stay hidden, and computed values show as PocketBase
//! shows them.

use std::sync::Arc;

use rusqlite::Connection;

use super::*;
use crate::{
    identity::{AuthRecord, Presented},
    schema::{defaults, sync},
};

/// Every row of `c`, through the map path (with `hide_private_emails`)
/// and through `RecordWriter`: the two must give the same bytes.
fn both_paths(conn: &Connection, c: &Collection, caller: &Caller) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT {} FROM {} ORDER BY _rowid_",
        select_list(c),
        sync::quote(&c.name)
    );
    let mut stmt = conn.prepare(&sql).expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let catalog = crate::schema::Catalog::from_collections(vec![c.clone()]);
    let mut out = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        let mut mapped = Value::Object(row_to_json(c, row).expect("map"));
        hide_private_emails(&mut mapped, &catalog, caller, &[]);
        let mut bytes = Vec::new();
        RecordWriter::new(c, caller)
            .write(row, &mut bytes)
            .expect("write");
        out.push((mapped.to_string(), String::from_utf8(bytes).expect("utf8")));
    }
    out
}

#[test]
fn writer_matches_the_map_path_for_every_kind_of_value() {
    let body = json!({"name": "things", "fields": [
        {"name": "title", "type": "text"},
        {"name": "n", "type": "number"},
        {"name": "flag", "type": "bool"},
        {"name": "data", "type": "json"},
        {"name": "where", "type": "geoPoint"},
        {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b"]},
        {"name": "secret", "type": "text", "hidden": true},
    ]});
    let (mut c, _) = Collection::from_create(body.as_object().expect("object")).expect("collection");
    defaults::complete(&mut c);
    let conn = Connection::open_in_memory().expect("db");
    sync::create(&conn, &c).expect("table");
    conn.execute_batch(
            r#"INSERT INTO things (id, title, n, flag, data, "where", tags, secret) VALUES
               ('a00000000000001', 'plain "quoted" ünïcode', 5, 1, '{"b":[1,2.5]}', '{"lat":2,"lon":1.5}', '["a","b"]', 'x'),
               ('a00000000000002', '', 2.0, 0, 'null', 'not json', 'not json', 'y'),
               ('a00000000000003', 'x', 2.5, 'true', 'oops {', '{}', '[]', 'z'),
               ('a00000000000004', 'y', '7', 'no', NULL, '{"lat":0,"lon":0}', '["b"]', ''),
               ('a00000000000005', 'z', 1e300, 1, '{"z":1,"a":{"y":2,"b":3}}', '{"lon":1,"lat":2}', '[]', '');"#,
        )
        .expect("rows");
    let mut pairs = both_paths(&conn, &c, &Caller::Guest);
    assert_eq!(pairs.len(), 5);
    // Written elsewhere with unsorted keys: the same JSON, in stored order.
    let (mapped, written) = pairs.pop().expect("last");
    assert_eq!(
        serde_json::from_str::<Value>(&written).expect("json"),
        serde_json::from_str::<Value>(&mapped).expect("json")
    );
    assert!(
        written.contains(r#""data":{"z":1,"a":{"y":2,"b":3}}"#),
        "{written}"
    );
    for (mapped, written) in pairs {
        assert_eq!(written, mapped);
        assert!(
            !written.contains("secret"),
            "hidden fields stay hidden: {written}"
        );
    }
}

#[test]
fn writer_hides_emails_as_the_map_path_does() {
    let c = defaults::users();
    let conn = Connection::open_in_memory().expect("db");
    sync::create(&conn, &c).expect("table");
    conn.execute_batch(
        "INSERT INTO users (id, email, emailVisibility, password, tokenKey, verified, name) VALUES
               ('u00000000000001', 'shown@example.com', 1, 'h', 'k1', 0, 'A'),
               ('u00000000000002', 'hidden@example.com', 0, 'h', 'k2', 1, 'B');",
    )
    .expect("rows");
    let own = Caller::Record(
        Arc::new(AuthRecord {
            collection: Arc::new(c.clone()),
            id: "u00000000000002".into(),
            token_key: "k2".into(),
            record: Map::new(),
            whole: Arc::default(),
        }),
        Presented {
            token: String::new(),
            refreshable: true,
            session: None,
            key: None,
        },
    );
    for (caller, hidden_shown) in [(Caller::Guest, false), (own, true)] {
        let pairs = both_paths(&conn, &c, &caller);
        for (mapped, written) in &pairs {
            assert_eq!(written, mapped);
            assert!(!written.contains("tokenKey") && !written.contains("\"password\""));
        }
        assert!(pairs[0].1.contains("shown@example.com"));
        assert_eq!(pairs[1].1.contains("hidden@example.com"), hidden_shown);
    }
}

/// What a view computes reaches json and bool fields as any SQLite value;
/// each shows as PocketBase 0.40.6 shows it (measured through views).
#[test]
fn computed_values_show_as_pocketbase_shows_them() {
    let json_kind = FieldKind::Json {
        required: false,
        max_size: 1,
    };
    for (value, want) in [
        (ValueRef::Text(b"Alice"), json!("Alice")),
        (ValueRef::Text(b"{bad"), json!("{bad")),
        (ValueRef::Text(b""), json!("")),
        (ValueRef::Text(b"[1,2]"), json!([1, 2])),
        (ValueRef::Text(b"null"), Value::Null),
        (ValueRef::Blob(b"Al"), json!("Al")),
        (ValueRef::Integer(5), json!(5)),
        (ValueRef::Null, Value::Null),
    ] {
        assert_eq!(cell_json(&json_kind, value), want, "{value:?}");
    }
    let bool_kind = FieldKind::Bool { required: false };
    for (value, want) in [
        (ValueRef::Integer(1), true),
        (ValueRef::Real(1.0), true),
        (ValueRef::Integer(0), false),
        (ValueRef::Integer(2), false),
        (ValueRef::Integer(-1), false),
        (ValueRef::Real(0.5), false),
        (ValueRef::Null, false),
    ] {
        assert_eq!(cell_json(&bool_kind, value), json!(want), "{value:?}");
    }
}
