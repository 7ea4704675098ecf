use rusqlite::Connection;
use serde_json::{Value, json};

use super::infer_fields;
use crate::schema::{Catalog, Collection, CollectionKind, defaults, field::FieldKind, sync};

/// `people` (name, age, active) and `posts` (title, author → people,
/// readers → people, many), two rows each, and the catalog of them plus
/// a view `post_view` over `posts`.
fn fixture() -> (Connection, Catalog) {
    let conn = Connection::open_in_memory().expect("db");
    let make = |body: Value| {
        let (mut c, _) = Collection::from_create(body.as_object().expect("object")).expect("collection");
        c.id = format!("id_{}", c.name);
        defaults::complete(&mut c);
        c
    };
    let people = make(json!({"name": "people", "fields": [
        {"name": "name", "type": "text"},
        {"name": "age", "type": "number"},
        {"name": "active", "type": "bool"},
    ]}));
    let posts = make(json!({"name": "posts", "fields": [
        {"name": "title", "type": "text"},
        {"name": "author", "type": "relation", "collectionId": "id_people"},
        {"name": "readers", "type": "relation", "collectionId": "id_people", "maxSelect": 5},
    ]}));
    for c in [&people, &posts] {
        sync::create(&conn, c).expect("table");
    }
    conn.execute_batch(
        "INSERT INTO people (id, name, age, active) VALUES ('p1', 'Ann', 30, 1), ('p2', 'Bo', 41.5, 0);
         INSERT INTO posts (id, title, author, readers) VALUES ('t1', 'one', 'p1', '[]'), ('t2', 'two', 'p1', '[]');",
    )
    .expect("rows");
    let catalog = Catalog::from_collections(vec![people, posts]);
    let mut view = make(json!({"name": "post_view", "type": "view"}));
    view.view_query = "SELECT id, author, title FROM posts".into();
    view.fields = infer_fields(&conn, &catalog, &view.view_query).expect("view");
    assert_eq!(view.kind, CollectionKind::View);
    sync::create(&conn, &view).expect("view");
    let mut all: Vec<Collection> = catalog.all().map(|c| (**c).clone()).collect();
    all.push(view);
    (conn, Catalog::from_collections(all))
}

/// Each column as (name, type, relation target or `onlyInt` when either
/// says more).
fn shapes(query: &str) -> Vec<(String, String, String)> {
    let (conn, catalog) = fixture();
    let fields = infer_fields(&conn, &catalog, query).unwrap_or_else(|e| panic!("{query}: {e}"));
    fields
        .into_iter()
        .map(|f| {
            let more = match &f.kind {
                FieldKind::Relation {
                    collection_id,
                    max_select,
                    ..
                } => format!("{collection_id}/{max_select}"),
                FieldKind::Number { only_int: true, .. } => "int".into(),
                _ => String::new(),
            };
            (f.name, f.kind.type_name().to_owned(), more)
        })
        .collect()
}

fn shape(query: &str, column: &str) -> (String, String) {
    let (_, kind, more) = shapes(query)
        .into_iter()
        .find(|(name, ..)| name == column)
        .unwrap_or_else(|| panic!("{query}: no column {column}"));
    (kind, more)
}

fn kind(query: &str, column: &str) -> String {
    shape(query, column).0
}

fn refusal(query: &str) -> String {
    let (conn, catalog) = fixture();
    infer_fields(&conn, &catalog, query).expect_err(query)
}

#[test]
fn the_id_column_is_always_the_text_primary_key() {
    for query in [
        "SELECT id, name FROM people",
        "SELECT (ROW_NUMBER() OVER()) AS id, name FROM people",
        "SELECT author AS id, count(*) AS total FROM posts GROUP BY author",
        "SELECT name || '-x' AS id FROM people",
    ] {
        let (conn, catalog) = fixture();
        let fields = infer_fields(&conn, &catalog, query).unwrap_or_else(|e| panic!("{query}: {e}"));
        let id = &fields[0];
        assert_eq!(id.name, "id");
        assert!(id.system, "{query}");
        assert_eq!(
            id.kind,
            FieldKind::Text {
                required: true,
                min: 0,
                max: 0,
                pattern: "^[a-z0-9]+$".into(),
                autogenerate_pattern: String::new(),
                primary_key: true,
            },
            "{query}"
        );
    }
}

#[test]
fn a_collections_id_under_another_name_is_a_relation_to_it() {
    let rel = |q: &str, c: &str| shape(q, c);
    let to_people = ("relation".to_owned(), "id_people/1".to_owned());
    assert_eq!(
        rel(
            "SELECT p.id, a.id AS author FROM posts p LEFT JOIN people a ON a.id = p.author",
            "author"
        ),
        to_people
    );
    assert_eq!(rel("SELECT id, id AS self FROM people", "self"), to_people);
    assert_eq!(
        rel(
            "SELECT p.id, people.id AS who FROM posts p JOIN people ON people.id = p.author",
            "who"
        ),
        to_people
    );
    // A view's id relates to the view.
    assert_eq!(
        rel(
            "SELECT p.id, v.id AS ref FROM posts p JOIN post_view v ON v.id = p.id",
            "ref"
        ),
        ("relation".into(), "id_post_view/1".into())
    );
}

#[test]
fn a_field_passed_through_keeps_its_type_and_options() {
    let single = ("relation".to_owned(), "id_people/0".to_owned());
    assert_eq!(shape("SELECT id, author FROM posts", "author"), single);
    assert_eq!(shape("SELECT id, author AS who FROM posts", "who"), single);
    assert_eq!(shape("SELECT id, author who FROM posts", "who"), single);
    assert_eq!(
        shape("SELECT p.id, p.author AS who FROM posts AS p", "who"),
        single
    );
    assert_eq!(
        shape(r#"SELECT "p"."id", [p].`author` FROM posts p"#, "author"),
        single
    );
    assert_eq!(
        shape("SELECT id, readers FROM posts", "readers"),
        ("relation".into(), "id_people/5".into())
    );
    // Through a view, as the view has it.
    assert_eq!(shape("SELECT id, author FROM post_view", "author"), single);
    assert_eq!(
        kind(
            "SELECT p.id, a.age FROM posts p JOIN people a ON a.id = p.author",
            "age"
        ),
        "number"
    );
    assert_eq!(
        kind(
            "SELECT p.id, p.title, a.name FROM posts p, people a WHERE a.id = p.author",
            "name"
        ),
        "text"
    );
    assert_eq!(
        kind(
            "SELECT id, active FROM people WHERE id IN (SELECT author FROM posts)",
            "active"
        ),
        "bool"
    );
}

#[test]
fn aggregates_and_casts_are_typed_as_pocketbase_types_them() {
    let q = "SELECT id, count(*) AS c, COUNT(DISTINCT name) AS cd, count ( name ) AS cs, total(age) AS t,
             sum(age) AS s, avg(age) AS a, min(age) AS mi, max(age) AS ma, (count(*)) AS cp,
             count(*) + 1 AS cplus FROM people";
    for (column, want) in [
        ("c", ("number", "int")),
        ("cd", ("number", "int")),
        ("cs", ("number", "int")),
        ("t", ("number", "")),
        ("s", ("json", "")),
        ("a", ("json", "")),
        ("mi", ("json", "")),
        ("ma", ("json", "")),
        ("cp", ("json", "")),
        ("cplus", ("json", "")),
    ] {
        assert_eq!(shape(q, column), (want.0.into(), want.1.into()), "{column}");
    }
    let q = "SELECT id, CAST(age AS TEXT) AS t, CAST(age AS integer) AS i, cast(age as INT) AS i2,
             CAST(age AS REAL) AS r, CAST(age AS NUMERIC) AS n, CAST(age AS BOOLEAN) AS b,
             CAST(age AS bool) AS b2, CAST(age AS BLOB) AS bl, CAST(age AS VARCHAR) AS v,
             CAST(age AS TEXT(10)) AS t10, CAST(CAST(age AS TEXT) AS INTEGER) AS nested,
             CAST(count(*) AS TEXT) AS ct FROM people";
    for (column, want) in [
        ("t", ("text", "")),
        ("i", ("number", "int")),
        ("i2", ("number", "int")),
        ("r", ("number", "")),
        ("n", ("number", "")),
        ("b", ("bool", "")),
        ("b2", ("bool", "")),
        ("bl", ("json", "")),
        ("v", ("json", "")),
        ("t10", ("json", "")),
        ("nested", ("number", "int")),
        ("ct", ("text", "")),
    ] {
        assert_eq!(shape(q, column), (want.0.into(), want.1.into()), "{column}");
    }
}

#[test]
fn any_word_after_as_is_an_alias() {
    assert_eq!(
        kind("SELECT id, CAST(age AS BOOLEAN) AS by FROM people", "by"),
        "bool"
    );
    assert_eq!(kind("SELECT id, name AS \"order\" FROM people", "order"), "text");
}

#[test]
fn what_pocketbase_does_not_follow_is_json() {
    for (query, column) in [
        // Through a WITH table or a subquery.
        (
            "WITH x AS (SELECT id, name FROM people) SELECT id, name FROM x",
            "name",
        ),
        (
            "WITH x AS (SELECT id, name FROM people) SELECT x.id, x.name FROM x",
            "name",
        ),
        ("SELECT id, name FROM (SELECT id, name FROM people)", "name"),
        (
            "SELECT p.id, x.name FROM posts p JOIN (SELECT id, name FROM people) x ON x.id = p.author",
            "name",
        ),
        (
            "SELECT p.id, x.id AS xid FROM posts p JOIN (SELECT id FROM people) x ON x.id = p.author",
            "xid",
        ),
        // A WITH table named like a collection is the WITH table.
        (
            "WITH people AS (SELECT id, title AS name FROM posts) SELECT id, name FROM people",
            "name",
        ),
        // Unqualified, from a joined table rather than the first.
        (
            "SELECT p.id, name FROM posts p JOIN people a ON a.id = p.author",
            "name",
        ),
        // Another schema's table.
        ("SELECT id, name FROM main.people", "name"),
        // Expressions.
        ("SELECT id, (name) AS n FROM people", "n"),
        ("SELECT id, age * 2 AS n FROM people", "n"),
        ("SELECT id, 'x' AS n FROM people", "n"),
        (
            "SELECT id, CASE WHEN age > 35 THEN 'old' ELSE 'young' END AS n FROM people",
            "n",
        ),
        ("SELECT id, name COLLATE NOCASE AS n FROM people", "n"),
        ("SELECT id, count(*) OVER () AS n FROM people", "n"),
        ("SELECT id, (SELECT count(*) FROM posts) AS n FROM people", "n"),
        ("SELECT id, \"nosuch\" AS n FROM people", "n"),
    ] {
        assert_eq!(kind(query, column), "json", "{query}");
    }
}

#[test]
fn wildcards_compounds_and_other_statements_are_refused() {
    for query in [
        "SELECT * FROM people",
        "SELECT people.* FROM people",
        "SELECT id, p.* FROM people p",
    ] {
        assert!(refusal(query).contains("cannot select *"), "{query}");
    }
    for query in [
        "SELECT id, name FROM people UNION SELECT id, title FROM posts",
        "SELECT id FROM people UNION ALL SELECT id FROM posts",
        "SELECT id FROM people INTERSECT SELECT author FROM posts",
        "WITH x AS (SELECT id FROM people) SELECT id FROM x EXCEPT SELECT id FROM people",
    ] {
        assert!(
            refusal(query).contains("not a UNION"),
            "{query}: {}",
            refusal(query)
        );
    }
    assert!(refusal("WITH x AS (SELECT 1) VALUES (1)").contains("single SELECT"));
    // Inside a subquery, a compound is fine: its columns are json.
    assert_eq!(
        kind(
            "SELECT id, name FROM (SELECT id, name FROM people UNION SELECT id, title FROM posts)",
            "name"
        ),
        "json"
    );
    assert_eq!(
        kind("SELECT id, count(*) AS c FROM people GROUP BY id", "c"),
        "number"
    );
}

#[test]
fn ids_that_are_empty_or_shared_are_refused_while_rows_have_them() {
    for query in [
        "SELECT author AS id FROM posts",
        "SELECT 'same' AS id, name FROM people",
        "SELECT id FROM people UNION ALL SELECT id FROM people",
    ] {
        let problem = refusal(&format!("SELECT id FROM ({query})"));
        assert!(problem.contains("share an id"), "{query}: {problem}");
    }
    for query in [
        "SELECT NULL AS id, name FROM people",
        "SELECT '' AS id, name FROM people",
        "SELECT id, count(*) AS c FROM posts WHERE 0",
    ] {
        assert!(refusal(query).contains("empty id"), "{query}: {}", refusal(query));
    }
    // With no rows, nothing is shared yet.
    assert_eq!(
        kind("SELECT 'same' AS id, name FROM people WHERE 0", "name"),
        "text"
    );
}

#[test]
fn names_must_be_plain_single_and_include_id() {
    assert!(refusal("SELECT name FROM people").contains("id column"));
    assert!(refusal("SELECT id, name, name FROM people").contains("twice"));
    assert!(refusal("SELECT id, name AS ID FROM people").contains("twice"));
    assert!(refusal("SELECT id, count(*) FROM people").contains("plain name"));
    assert!(refusal("DELETE FROM people RETURNING id").contains("single SELECT"));
    assert!(refusal("SELECT id FROM nowhere").contains("no such table"));
    assert!(refusal("SELECT id, ? AS x FROM people").contains("parameters"));
    assert!(refusal("SELECT id, :v AS x FROM people").contains("parameters"));
}
