//! `expand`: replacing relation ids with the related records, in
//! `record.expand.<field>`, through dotted paths (up to 6 levels) and
//! back-relations (`comments_via_post`). A page of any size costs one
//! query per path segment, not one per record. A related record is shown
//! only if the caller may view it under its collection's view rule.
//!
//! A path is followed as PocketBase follows it, one segment at a time: a
//! segment that names nothing `resolve` gives drops the whole path (for
//! `team.nope` no `team` is attached), but only once it is reached, so
//! a path whose records run out before that segment is followed without
//! finding anything. Records carry `expand` (`{}` when nothing was found)
//! only when some path was followed from them.
//!
//! Two renderings share the resolution of paths and the queries here:
//! `maps` expands records held as JSON maps (answers that `fields` trims
//! or that a `manageRule` may still change), `written` writes records
//! straight from their rows, each related record once.

mod maps;
mod written;

pub use maps::apply;
pub use written::{OwnedRow, owned_row, write, write_rows, writes_final};

use std::{collections::BTreeMap, sync::Arc};

use rusqlite::{Connection, Row, params_from_iter, types::Value as Sql};
use serde_json::Value;

use super::{
    access::{Access, Conditions, Requester, decide_for},
    service::RecordError,
    shape,
};
use crate::{
    identity::{Caller, KeyAction},
    schema::{Catalog, Collection, field::FieldKind, sync::quote},
};

const MAX_DEPTH: usize = 6;

/// The requested paths as a tree: `a.b,a.c,d` → {a: {b, c}, d}.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpandTree(BTreeMap<String, ExpandTree>);

impl ExpandTree {
    /// Reads `expand` as PocketBase reads it, never refusing it: dots
    /// around a path are dropped (`.team.` is `team`), a path is followed
    /// 6 levels deep and no further, and an empty segment inside one
    /// (`team..owner`) is a name like any other that names nothing, so the
    /// path goes no further than where it is reached. Cairn answered these
    /// with a 400, failing a list PocketBase answers.
    pub fn parse(raw: &str) -> Self {
        let mut root = Self::default();
        for path in raw
            .split(',')
            .map(|p| p.trim().trim_matches('.'))
            .filter(|p| !p.is_empty())
        {
            let segments = path.split('.').take(MAX_DEPTH);
            let mut node = &mut root;
            for s in segments {
                node = node.0.entry(s.to_owned()).or_default();
            }
        }
        root
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

/// Resolves `segment` on `c` for `caller`; unknown or non-relation names
/// are skipped (`None`), as PocketBase does, and so are relations into a
/// collection the caller may never view (only superusers may, or a key's
/// scopes leave it out), and hidden relations unless `caller` is shown
/// them (superusers, `reveal::shown`): the expansion would give their
/// value away. (PocketBase 0.40.6 expands a hidden relation for anyone;
/// Cairn keeps it to superusers.)
fn resolve<'a>(catalog: &'a Catalog, c: &Collection, segment: &str, caller: &Caller) -> Option<Link<'a>> {
    let link = link(catalog, c, segment, caller)?;
    let related = link.related();
    match decide_for(caller, related, KeyAction::View, &related.rules.view) {
        Access::SuperusersOnly | Access::OutOfScope => None,
        Access::All | Access::Rule(_) => Some(link),
    }
}

/// What `segment` names on `c`, as far as the schema and the fields
/// `caller` is shown tell (see `resolve`).
fn link<'a>(catalog: &'a Catalog, c: &Collection, segment: &str, caller: &Caller) -> Option<Link<'a>> {
    let visible = |c: &Collection, name: &str| {
        c.fields
            .iter()
            .position(|f| f.name == name && crate::records::reveal::shown(c, f, caller))
    };
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

/// Reads the records `link` brings in for `ids` (forward: the related
/// ids; back: the records' own) that the caller may view, each through
/// `each`; none, and no query, for no ids.
fn fetch<T>(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    link: &Link<'_>,
    ids: &[String],
    each: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, RecordError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let c = link.related().as_ref();
    let (where_sql, params) = link_where(link, ids);
    let mut conditions = Conditions::default();
    conditions.params = params;
    conditions.push(where_sql, vec![]);
    // A relation into a collection the caller may not view (by rule or
    // by its key's scopes) expands to nothing, as PocketBase omits it.
    match decide_for(&requester.caller, c, KeyAction::View, &c.rules.view) {
        Access::SuperusersOnly | Access::OutOfScope => return Ok(vec![]),
        Access::Rule(expr) => conditions.add_rule(catalog, c, requester, &expr)?,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        identity::Caller,
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
        let tree = ExpandTree::parse(tree);
        let requester = Requester {
            caller: Caller::Guest,
            info: Default::default(),
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
        let t = ExpandTree::parse("a.b, a.c,d");
        assert_eq!(t.0.len(), 2);
        assert_eq!(t.0["a"].0.len(), 2);
        assert_eq!(ExpandTree::parse(".a.b."), ExpandTree::parse("a.b"));
        assert_eq!(ExpandTree::parse("a..b").0["a"].0.len(), 1);
        assert_eq!(
            ExpandTree::parse("a.b.c.d.e.f.g"),
            ExpandTree::parse("a.b.c.d.e.f")
        );
        assert!(ExpandTree::parse("").is_empty());
    }
}
