//! The rule compiler: an arbitrary expression parsed and compiled against
//! a small fixed schema with relations (single and multiple, back-relations,
//! hidden fields, related collections behind list rules), as a rule
//! (trusted) and as a client's filter (untrusted), by a guest or a
//! signed-in user. Refusals are fine; a panic is not, and neither is a
//! condition that SQLite cannot run: whatever compiles is prepared and run
//! over a few rows, and an SQL error there would be a 500 in production.
//!
//! Input: a byte of flags (collection, trusted, signed in), then the
//! expression.

use std::{cell::RefCell, sync::Arc};

use cairn::{
    query::{
        compile::{RequestInfo, RequestValues, Scope, compile},
        parser::parse,
    },
    schema::{Catalog, Collection, defaults, sync},
};
use rusqlite::{Connection, params_from_iter};
use serde_json::{Value, json};

struct World {
    conn: Connection,
    catalog: Catalog,
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

fn collection(def: Value) -> Collection {
    let (mut c, _) = Collection::from_create(def.as_object().expect("object")).expect("collection");
    defaults::complete(&mut c);
    c
}

/// Users (a rule on their own records), public tags with a hidden field,
/// posts by users with tags, and comments on posts that only superusers
/// may list.
fn world() -> World {
    let mut users = defaults::users();
    users.rules.list = Some("id = @request.auth.id".into());
    let tags = collection(json!({"name": "tags", "listRule": "", "fields": [
        {"name": "label", "type": "text"},
        {"name": "code", "type": "text", "hidden": true}]}));
    let posts = collection(json!({"name": "posts",
        "listRule": "public = true || author = @request.auth.id",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "public", "type": "bool"},
            {"name": "when", "type": "date"},
            {"name": "meta", "type": "json"},
            {"name": "at", "type": "geoPoint"},
            {"name": "kind", "type": "select", "values": ["a", "b"]},
            {"name": "files", "type": "file", "maxSelect": 3},
            {"name": "author", "type": "relation", "collectionId": users.id},
            {"name": "tags", "type": "relation", "collectionId": tags.id, "maxSelect": 5}]}));
    let comments = collection(json!({"name": "comments", "listRule": null, "fields": [
        {"name": "body", "type": "text"},
        {"name": "post", "type": "relation", "collectionId": posts.id},
        {"name": "by", "type": "relation", "collectionId": users.id}]}));
    let conn = Connection::open_in_memory().expect("db");
    cairn::store::register_functions(&conn).expect("functions");
    for c in [&users, &tags, &posts, &comments] {
        sync::create(&conn, c).expect("table");
    }
    conn.execute_batch(
        r#"INSERT INTO users (id, email, emailVisibility, password, tokenKey, verified, name) VALUES
             ('u00000000000001', 'ann@example.com', 1, 'h', 'k1', 1, 'Ann'),
             ('u00000000000002', 'bob@example.com', 0, 'h', 'k2', 0, '');
           INSERT INTO tags (id, label, code) VALUES
             ('t00000000000001', 'rust', 'x'), ('t00000000000002', 'secret', ''),
             ('t00000000000003', '%_\', 'y');
           INSERT INTO posts (id, title, n, public, "when", meta, at, kind, files, author, tags) VALUES
             ('p00000000000001', 'First', 1, 1, '2024-05-06 07:08:09.000Z', '{"a":{"b":[1,"x"]}}',
              '{"lon":1,"lat":2}', 'a', '["f.txt"]', 'u00000000000001',
              '["t00000000000002","t00000000000001"]'),
             ('p00000000000002', '', -2.5, 0, '', 'null', '{"lon":0,"lat":0}', '', '[]',
              'u00000000000002', '[]'),
             ('p00000000000003', 'Third', 0, 1, '', '[1,2]', '{"lon":0,"lat":0}', 'b', '[]',
              'u00000000000009', '["t00000000000009"]'),
             ('p00000000000004', 'Fourth', 3, 0, '', '"s"', '{"lon":0,"lat":0}', '', '[]', '', '[]');
           INSERT INTO comments (id, body, post, by) VALUES
             ('c00000000000001', 'Nice', 'p00000000000001', 'u00000000000002'),
             ('c00000000000002', '', 'p00000000000002', 'u00000000000001');"#,
    )
    .expect("rows");
    World {
        conn,
        catalog: Catalog::from_collections(vec![users, tags, posts, comments]),
    }
}

fn request(signed_in: bool) -> RequestInfo {
    let auth = signed_in.then(|| {
        let auth = json!({"id": "u00000000000001", "collectionId": "_pb_users_auth_",
            "collectionName": "users", "email": "ann@example.com", "verified": true,
            "name": "Ann", "tags": ["a"]});
        Arc::new(auth.as_object().expect("object").clone())
    });
    let map = |v: Value| v.as_object().expect("object").clone();
    RequestInfo {
        auth,
        method: "GET".into(),
        context: Default::default(),
        query: RequestValues::ready(Arc::new(map(json!({"q": "x", "n": "2"})))),
        headers: RequestValues::ready(Arc::new(map(json!({"x_team": "a"})))),
        body: map(json!({"title": "t", "n": 1, "tags": ["t00000000000001"], "meta": {"a": 1}})),
    }
}

const COLLECTIONS: [&str; 4] = ["posts", "comments", "tags", "users"];

pub fn run(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(expr) = parse(text) else { return };
    WORLD.with(|cell| {
        let mut state = cell.borrow_mut();
        let world = state.get_or_insert_with(world);
        let name = COLLECTIONS[usize::from(flags & 3)];
        let c = world.catalog.get(name).expect("collection");
        let request = request(flags & 8 != 0);
        let scope = Scope {
            collection: c,
            catalog: Some(&world.catalog),
            request: &request,
            trusted: flags & 4 != 0,
            reach: None,
        };
        // Bound after two parameters of the statement it joins, as a list's
        // own filter is.
        let offset = usize::from(flags >> 4 & 1) * 2;
        let Ok(compiled) = compile(&expr, &scope, offset) else {
            return;
        };
        let (sql, mut params) = if offset == 0 {
            (
                format!("SELECT count(*) FROM \"{name}\" WHERE {}", compiled.sql),
                vec![],
            )
        } else {
            let sql = format!(
                "SELECT count(*) FROM \"{name}\" WHERE ?1 IS NOT ?2 AND ({})",
                compiled.sql
            );
            (
                sql,
                vec![
                    rusqlite::types::Value::Integer(1),
                    rusqlite::types::Value::Integer(2),
                ],
            )
        };
        params.extend(compiled.params.iter().cloned());
        let run = || -> rusqlite::Result<i64> {
            let mut stmt = world.conn.prepare(&sql)?;
            stmt.query_row(params_from_iter(params), |r| r.get(0))
        };
        if let Err(e) = run() {
            panic!("{text:?} compiled to SQL that fails: {e}\n{sql}");
        }
    });
}
