//! `expand`: replacing relation ids with the related records, in
//! `record.expand.<field>`, through dotted paths (up to 6 levels) and
//! back-relations (`comments_via_post`). A page of any size costs one
//! query per path segment, not one per record. A related record is shown
//! only if the caller may view it under its collection's view rule.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use rusqlite::{
    Connection, Row, params_from_iter,
    types::{Value as Sql, ValueRef},
};
use serde_json::{Map, Value};

use super::{
    access::{Access, Conditions, Requester, decide},
    service::RecordError,
    shape::{self, RecordWriter},
};
use crate::{
    auth::caller::Caller,
    http::error::ApiError,
    schema::{Catalog, Collection, field::FieldKind, sync::quote},
};

const MAX_DEPTH: usize = 6;

/// The requested paths as a tree: `a.b,a.c,d` → {a: {b, c}, d}.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpandTree(BTreeMap<String, ExpandTree>);

impl ExpandTree {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut root = Self::default();
        for path in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > MAX_DEPTH || segments.iter().any(|s| s.is_empty()) {
                return Err(ApiError::bad_request(format!("Invalid expand path {path:?}.")));
            }
            let mut node = &mut root;
            for s in segments {
                node = node.0.entry(s.to_owned()).or_default();
            }
        }
        Ok(root)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn ids_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// What one segment of an expand path names on a collection.
enum Link<'a> {
    /// A relation field of the collection (its index in `fields`), to `target`.
    Forward {
        field: usize,
        target: &'a Arc<Collection>,
    },
    /// `other_via_field`: the records of `source` whose relation `field`
    /// (its index in `source.fields`) points at the collection.
    Back {
        source: &'a Arc<Collection>,
        field: usize,
    },
}

impl Link<'_> {
    /// The collection whose records this segment brings in.
    fn related(&self) -> &Arc<Collection> {
        match self {
            Self::Forward { target, .. } => target,
            Self::Back { source, .. } => source,
        }
    }
}

/// Resolves `segment` on `c`; unknown, hidden or non-relation names are
/// skipped (`None`), as PocketBase does.
fn resolve<'a>(catalog: &'a Catalog, c: &Collection, segment: &str) -> Option<Link<'a>> {
    let visible = |c: &Collection, name: &str| c.fields.iter().position(|f| f.name == name && !f.hidden);
    if let Some((other, via)) = segment.split_once("_via_") {
        let source = catalog.all().find(|x| x.name == other)?;
        let field = visible(source, via)?;
        matches!(&source.fields[field].kind, FieldKind::Relation { collection_id, .. } if *collection_id == c.id)
            .then_some(Link::Back { source, field })
    } else {
        let field = visible(c, segment)?;
        let FieldKind::Relation { collection_id, .. } = &c.fields[field].kind else {
            return None;
        };
        Some(Link::Forward {
            field,
            target: catalog.by_id(collection_id)?,
        })
    }
}

/// The condition selecting `link`'s related records for records with
/// these ids (`Back`) or these relation values (`Forward`).
fn link_where(link: &Link<'_>, ids: &[String]) -> (String, Vec<Sql>) {
    let marks = (1..=ids.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match link {
        Link::Forward { target, .. } => format!("{}.\"id\" IN ({marks})", quote(&target.name)),
        Link::Back { source, field } => {
            let f = &source.fields[*field];
            let column = format!("{}.{}", quote(&source.name), quote(&f.name));
            if f.kind.is_multi() {
                format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN ({marks}))")
            } else {
                format!("{column} IN ({marks})")
            }
        }
    };
    (sql, ids.iter().map(|s| Sql::Text(s.clone())).collect())
}

/// Reads the records of `c` matching `where_sql` (over `params`) that the
/// caller may view, each through `each`.
fn fetch<T>(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    (where_sql, params): (String, Vec<Sql>),
    each: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, RecordError> {
    let mut conditions = Conditions::default();
    conditions.params = params;
    conditions.push(where_sql, vec![]);
    match decide(&requester.caller, &c.rules.view) {
        Access::SuperusersOnly => return Ok(vec![]),
        Access::Rule(expr) => conditions.add_expression(catalog, c, requester, &expr, true)?,
        Access::All => {}
    }
    let sql = format!(
        "SELECT {} FROM {}{}",
        shape::select_list(c),
        quote(&c.name),
        conditions.where_sql()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(conditions.params.iter()), each)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Sorted, without repeats.
fn distinct(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Expands `tree` into `records` of collection `c`, in place.
pub fn apply(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    records: &mut [Map<String, Value>],
    tree: &ExpandTree,
) -> Result<(), RecordError> {
    if records.is_empty() || tree.is_empty() {
        return Ok(());
    }
    // Every record asked to be expanded carries `expand`, empty or not.
    for record in records.iter_mut() {
        record
            .entry("expand")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    for (segment, children) in &tree.0 {
        let Some(link) = resolve(catalog, c, segment) else {
            continue;
        };
        let related_c = link.related();
        let ids: Vec<String> = match &link {
            Link::Forward { field, .. } => distinct(
                records
                    .iter()
                    .flat_map(|r| ids_of(r.get(&c.fields[*field].name)))
                    .collect(),
            ),
            Link::Back { .. } => records
                .iter()
                .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
                .collect(),
        };
        if ids.is_empty() {
            continue;
        }
        let mut related = fetch(
            conn,
            catalog,
            requester,
            related_c,
            link_where(&link, &ids),
            |row| shape::row_to_json(related_c, row),
        )?;
        apply(conn, catalog, requester, related_c, &mut related, children)?;
        match link {
            Link::Forward { field, .. } => {
                let f = &c.fields[field];
                let by_id: BTreeMap<String, Map<String, Value>> = related
                    .into_iter()
                    .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
                    .collect();
                for record in records.iter_mut() {
                    let found = ids_of(record.get(&f.name))
                        .iter()
                        .filter_map(|id| by_id.get(id).cloned().map(Value::Object))
                        .collect();
                    if let Some(value) = one_or_many(f.kind.is_multi(), found) {
                        attach(record, segment, value);
                    }
                }
            }
            Link::Back { source, field } => {
                let via = &source.fields[field].name;
                for record in records.iter_mut() {
                    let Some(id) = record.get("id").and_then(Value::as_str).map(str::to_owned) else {
                        continue;
                    };
                    let found = related
                        .iter()
                        .filter(|r| ids_of(r.get(via)).contains(&id))
                        .cloned()
                        .map(Value::Object)
                        .collect();
                    if let Some(value) = one_or_many(true, found) {
                        attach(record, segment, value);
                    }
                }
            }
        }
    }
    Ok(())
}

/// A relation's expansion: the records found (as an array when the
/// relation holds several), or nothing when none was found.
fn one_or_many<T>(multi: bool, found: Vec<T>) -> Option<OneOrMany<T>> {
    if found.is_empty() {
        None
    } else if multi {
        Some(OneOrMany::Many(found))
    } else {
        found.into_iter().next().map(OneOrMany::One)
    }
}

enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

fn attach(record: &mut Map<String, Value>, key: &str, value: OneOrMany<Value>) {
    let value = match value {
        OneOrMany::One(v) => v,
        OneOrMany::Many(vs) => Value::Array(vs),
    };
    let expand = record
        .entry("expand")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = expand {
        map.insert(key.to_owned(), value);
    }
}

/// A record's columns, read and kept while its relations are expanded.
pub type OwnedRow = Vec<Sql>;

/// `row` (selected with `shape::select_list(c)`) as an `OwnedRow`.
pub fn owned_row(c: &Collection, row: &Row<'_>) -> rusqlite::Result<OwnedRow> {
    (0..c.fields.len()).map(|i| row.get::<_, Sql>(i)).collect()
}

/// Whether the records of `c`, expanded by `tree`, can be written straight
/// from their rows for `caller` by `write` (rather than as maps by
/// `apply`): true unless a `manageRule` would have to be consulted about
/// some record's email (see `RecordWriter::writes_final`).
pub fn writes_final(catalog: &Catalog, c: &Collection, tree: &ExpandTree, caller: &Caller) -> bool {
    RecordWriter::writes_final(c, caller)
        && tree.0.iter().all(|(segment, children)| {
            resolve(catalog, c, segment)
                .is_none_or(|link| writes_final(catalog, link.related(), children, caller))
        })
}

/// Writes `rows` of `c` as JSON objects, each expanded by `tree` (when it
/// is not empty) the same way `apply` expands maps, with related records
/// written once each however many records they are attached to.
pub fn write(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    rows: &[OwnedRow],
    tree: &ExpandTree,
) -> Result<Vec<Vec<u8>>, RecordError> {
    let expansions = if tree.is_empty() || rows.is_empty() {
        None
    } else {
        Some(expansions(conn, catalog, requester, c, rows, tree)?)
    };
    let writer = RecordWriter::new(c, &requester.caller);
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let mut out = Vec::with_capacity(256);
            let expand = expansions.as_ref().map(|e| e[i].as_slice());
            writer.write_cells(row.as_slice(), expand, &mut out)?;
            Ok(out)
        })
        .collect()
}

/// The `expand` object of each of `rows`, as JSON bytes.
fn expansions(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    rows: &[OwnedRow],
    tree: &ExpandTree,
) -> Result<Vec<Vec<u8>>, RecordError> {
    let ids_in = |c: &Collection, row: &OwnedRow, field: usize| {
        let value = row.get(field).map_or(ValueRef::Null, ValueRef::from);
        ids_of(Some(&shape::cell_json(&c.fields[field].kind, value)))
    };
    let id_of = |c: &Collection, row: &OwnedRow| match c
        .fields
        .iter()
        .position(|f| f.name == "id")
        .and_then(|i| row.get(i))
    {
        Some(Sql::Text(id)) => Some(id.clone()),
        _ => None,
    };
    let mut objects: Vec<Vec<u8>> = vec![b"{".to_vec(); rows.len()];
    for (segment, children) in &tree.0 {
        let Some(link) = resolve(catalog, c, segment) else {
            continue;
        };
        let related_c = link.related();
        // What each record refers to: related ids (forward), or its own id.
        let keys: Vec<Vec<String>> = match &link {
            Link::Forward { field, .. } => rows.iter().map(|r| ids_in(c, r, *field)).collect(),
            Link::Back { .. } => rows.iter().map(|r| id_of(c, r).into_iter().collect()).collect(),
        };
        let ids = match &link {
            Link::Forward { .. } => distinct(keys.concat()),
            Link::Back { .. } => keys.concat(),
        };
        if ids.is_empty() {
            continue;
        }
        let related = fetch(
            conn,
            catalog,
            requester,
            related_c,
            link_where(&link, &ids),
            |row| owned_row(related_c, row),
        )?;
        let written = write(conn, catalog, requester, related_c, &related, children)?;
        // Forward: the related records by id. Back: what each related
        // record points at.
        let (by_id, points_at): (HashMap<String, usize>, Vec<Vec<String>>) = match &link {
            Link::Forward { .. } => (
                related
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| Some((id_of(related_c, r)?, i)))
                    .collect(),
                Vec::new(),
            ),
            Link::Back { field, .. } => (
                HashMap::new(),
                related.iter().map(|r| ids_in(related_c, r, *field)).collect(),
            ),
        };
        for (object, keys) in objects.iter_mut().zip(&keys) {
            let (found, multi): (Vec<&[u8]>, bool) = match &link {
                Link::Forward { field, .. } => (
                    keys.iter()
                        .filter_map(|id| by_id.get(id).map(|&i| written[i].as_slice()))
                        .collect(),
                    c.fields[*field].kind.is_multi(),
                ),
                Link::Back { .. } => (
                    written
                        .iter()
                        .zip(&points_at)
                        .filter(|(_, targets)| keys.iter().any(|k| targets.contains(k)))
                        .map(|(w, _)| w.as_slice())
                        .collect(),
                    true,
                ),
            };
            match one_or_many(multi, found) {
                Some(OneOrMany::One(one)) => entry(object, segment, &[one], false),
                Some(OneOrMany::Many(many)) => entry(object, segment, &many, true),
                None => {}
            }
        }
    }
    for object in &mut objects {
        object.push(b'}');
    }
    Ok(objects)
}

/// Appends `"key":value` (or `"key":[values]`) to an open JSON object.
fn entry(object: &mut Vec<u8>, key: &str, values: &[&[u8]], array: bool) {
    if object.len() > 1 {
        object.push(b',');
    }
    // A segment is a field or collection name: plain characters only,
    // but escape it as JSON all the same.
    let _ = serde_json::to_writer(&mut *object, key);
    object.push(b':');
    if array {
        object.push(b'[');
    }
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            object.push(b',');
        }
        object.extend_from_slice(v);
    }
    if array {
        object.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        query::compile::RequestInfo,
        schema::{defaults, sync},
    };

    fn collection(body: Value) -> Collection {
        let (mut c, _) = Collection::from_create(body.as_object().expect("object")).expect("collection");
        defaults::complete(&mut c);
        c
    }

    /// Accounts (emails hidden from guests unless visible), tags behind a
    /// view rule, posts with an author and tags, comments on posts.
    fn blog() -> (Connection, Catalog) {
        let mut users = defaults::users();
        users.rules.view = Some(String::new());
        let tags = collection(json!({"name": "tags", "viewRule": "label != 'secret'",
            "fields": [{"name": "label", "type": "text"}]}));
        let posts = collection(json!({"name": "posts", "viewRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": users.id},
            {"name": "tags", "type": "relation", "collectionId": tags.id, "maxSelect": 5}]}));
        let comments = collection(json!({"name": "comments", "viewRule": "", "fields": [
            {"name": "body", "type": "text"},
            {"name": "post", "type": "relation", "collectionId": posts.id},
            {"name": "by", "type": "relation", "collectionId": users.id}]}));
        let conn = Connection::open_in_memory().expect("db");
        for c in [&users, &tags, &posts, &comments] {
            sync::create(&conn, c).expect("table");
        }
        conn.execute_batch(
            r#"INSERT INTO users (id, email, emailVisibility, password, tokenKey, verified, name) VALUES
                 ('u00000000000001', 'ann@example.com', 1, 'h', 'k1', 1, 'Ann'),
                 ('u00000000000002', 'bob@example.com', 0, 'h', 'k2', 0, 'Bob');
               INSERT INTO tags (id, label) VALUES
                 ('t00000000000001', 'rust'), ('t00000000000002', 'secret'), ('t00000000000003', 'sql');
               INSERT INTO posts (id, title, author, tags) VALUES
                 ('p00000000000001', 'First', 'u00000000000001', '["t00000000000002","t00000000000001","t00000000000001"]'),
                 ('p00000000000002', 'Second', 'u00000000000002', '[]'),
                 ('p00000000000003', 'Third', 'u00000000000009', '["t00000000000003"]'),
                 ('p00000000000004', 'Fourth', '', '[]');
               INSERT INTO comments (id, body, post, by) VALUES
                 ('c00000000000001', 'Nice', 'p00000000000001', 'u00000000000002'),
                 ('c00000000000002', 'Meh', 'p00000000000002', 'u00000000000001'),
                 ('c00000000000003', 'Yes', 'p00000000000001', 'u00000000000001');"#,
        )
        .expect("rows");
        (
            conn,
            Catalog::from_collections(vec![users, tags, posts, comments]),
        )
    }

    /// `c`'s records expanded by `tree` through maps (`apply`, emails
    /// hidden after) and through rows (`write`): the same bytes.
    fn both_paths(conn: &Connection, catalog: &Catalog, c: &Collection, tree: &str) -> Vec<(String, String)> {
        let tree = ExpandTree::parse(tree).expect("tree");
        let requester = Requester {
            caller: Caller::Guest,
            info: RequestInfo::default(),
        };
        assert!(writes_final(catalog, c, &tree, &requester.caller));
        let sql = format!(
            "SELECT {} FROM {} ORDER BY id",
            shape::select_list(c),
            quote(&c.name)
        );
        let mut stmt = conn.prepare(&sql).expect("prepare");
        let mut maps = Vec::new();
        let mut owned = Vec::new();
        let mut rows = stmt.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            maps.push(shape::row_to_json(c, row).expect("map"));
            owned.push(owned_row(c, row).expect("owned"));
        }
        apply(conn, catalog, &requester, c, &mut maps, &tree).expect("apply");
        let written = write(conn, catalog, &requester, c, &owned, &tree).expect("write");
        maps.into_iter()
            .zip(written)
            .map(|(map, bytes)| {
                let mut value = Value::Object(map);
                shape::hide_private_emails(&mut value, catalog, &requester.caller, &[]);
                (value.to_string(), String::from_utf8(bytes).expect("utf8"))
            })
            .collect()
    }

    #[test]
    fn written_expansions_match_the_map_path() {
        let (conn, catalog) = blog();
        let cases = [
            ("posts", "author"),
            ("posts", "tags"),
            ("posts", "author,tags,title,nope"),
            ("posts", "comments_via_post"),
            ("posts", "comments_via_post.by,comments_via_post.post.author"),
            ("comments", "post.tags,by.posts_via_author.tags"),
            ("users", "comments_via_by.post"),
            ("tags", "posts_via_tags.author"),
        ];
        for (name, tree) in cases {
            let c = catalog.get(name).expect("collection").clone();
            let pairs = both_paths(&conn, &catalog, &c, tree);
            assert!(!pairs.is_empty());
            for (mapped, written) in pairs {
                assert_eq!(written, mapped, "{name} expanded by {tree}");
            }
        }
        // What the cases above must have shown: related records under a
        // view rule left out, repeats kept, hidden emails hidden.
        let c = catalog.get("posts").expect("posts").clone();
        let first = &both_paths(&conn, &catalog, &c, "author,tags,comments_via_post.by")[0].1;
        assert!(
            first.contains(r#""tags":[{"#) && !first.contains(r#""label":"secret""#),
            "{first}"
        );
        assert_eq!(first.matches(r#""label":"rust""#).count(), 2, "{first}");
        assert!(
            first.contains("ann@example.com") && !first.contains("bob@example.com"),
            "{first}"
        );
        assert!(first.contains(r#""comments_via_post":[{"#), "{first}");
    }

    #[test]
    fn parses_paths_into_a_tree() {
        let t = ExpandTree::parse("a.b, a.c,d").expect("ok");
        assert_eq!(t.0.len(), 2);
        assert_eq!(t.0["a"].0.len(), 2);
        assert!(ExpandTree::parse("a..b").is_err());
        assert!(ExpandTree::parse("a.b.c.d.e.f.g").is_err());
        assert!(ExpandTree::parse("").expect("empty").is_empty());
    }
}
