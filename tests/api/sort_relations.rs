//! `sort` through relations, as PocketBase 0.40.6 reads it on a records
//! list. Cairn refused (400) every path that reaches many values: a
//! multiple relation (`tags.name`), a back-relation
//! (`comments_via_post.text`), a list under `:each` (`sel:each`) and
//! `@collection.x.y`, so a list PocketBase answers failed whole.
//! PocketBase sorts its joined rows and keeps the first of each record:
//! the first related record in the relation's stored order (a
//! back-relation's oldest), each record listed once and counted once.
//! For a client, only the related records its list rules admit count, and
//! a record whose related records are all hidden is left out, as it is
//! from a filter on that path (see `relation_rules`).
//!
//! The same schema holds `filter`s with `?=`/`?~` on many related values;
//! one that names the many values on the right (`'a' ?= tags.name`,
//! `1 < tags.n`) was a 400 where PocketBase reads it mirrored
//! (`tags.name ?= 'a'`, `tags.n > 1`).
//!
//! The differential tests run the same sorts and filters against
//! PocketBase for a superuser, a guest and a signed-in user; the
//! Cairn-only test holds the probes an attacker would try and their
//! positive controls.

use serde_json::{Value, json};

use crate::{
    differential::{Server, answer, login, start_both, urlencode},
    helpers::spawn_app,
};

/// `sr_vault` only superusers may list; `sr_shown` lists its `shown`
/// records to anyone; `sr_members` lists to any signed-in user. `sr_posts`
/// relates to all of them and to public tags and authors; `sr_comments`
/// (public), `sr_notes` (`shown` only) and `sr_likes` (public, multiple)
/// point back at posts. Returns the user's token.
async fn seed(s: &Server) -> String {
    let coll = |body: Value| async move { s.admin("POST", "/api/collections", body).await["id"].clone() };
    let text = |name: &str| json!({"name": name, "type": "text"});
    let rel = |name: &str, to: &Value, max: u32| json!({"name": name, "type": "relation", "collectionId": to, "maxSelect": max});
    let vault =
        coll(json!({"name": "sr_vault", "listRule": null, "viewRule": null, "fields": [text("name")]})).await;
    let shown = coll(
        json!({"name": "sr_shown", "listRule": "shown = true", "viewRule": "shown = true",
        "fields": [text("name"), {"name": "shown", "type": "bool"}]}),
    )
    .await;
    let members = coll(json!({"name": "sr_members", "listRule": "@request.auth.id != ''",
        "viewRule": "@request.auth.id != ''", "fields": [text("name")]}))
    .await;
    let orgs = coll(
        json!({"name": "sr_orgs", "listRule": "", "viewRule": "", "fields": [
        text("name"), {"name": "code", "type": "text", "hidden": true}, rel("vault", &vault, 1)]}),
    )
    .await;
    let authors = coll(json!({"name": "sr_authors", "listRule": "", "viewRule": "",
        "fields": [text("name"), rel("org", &orgs, 1)]}))
    .await;
    let tags = coll(json!({"name": "sr_tags", "listRule": "", "viewRule": "",
        "fields": [text("name"), {"name": "n", "type": "number"}]}))
    .await;
    let posts = coll(
        json!({"name": "sr_posts", "listRule": "", "viewRule": "", "fields": [
        text("title"), rel("author", &authors, 1), rel("tags", &tags, 5),
        {"name": "sel", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
        {"name": "meta", "type": "json"}, {"name": "secret", "type": "text", "hidden": true},
        rel("vault", &vault, 1), rel("shown", &shown, 5), rel("members", &members, 5)]}),
    )
    .await;
    coll(
        json!({"name": "sr_comments", "listRule": "", "viewRule": "", "fields": [
        text("text"), rel("post", &posts, 1), {"name": "n", "type": "number"}]}),
    )
    .await;
    coll(
        json!({"name": "sr_notes", "listRule": "shown = true", "viewRule": "shown = true", "fields": [
        text("text"), rel("post", &posts, 1), {"name": "shown", "type": "bool"}]}),
    )
    .await;
    coll(json!({"name": "sr_likes", "listRule": "", "viewRule": "",
        "fields": [text("who"), rel("posts", &posts, 5)]}))
    .await;
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"id": "srusersrusersr1", "email": "sr@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
    )
    .await;
    let id = |prefix: &str, i: usize| format!("{prefix}{i:0>width$}", width = 15 - prefix.len());
    let mut rows: Vec<(&str, Value)> = Vec::new();
    for (i, name) in ["vault-b", "vault-a"].into_iter().enumerate() {
        rows.push(("sr_vault", json!({"id": id("srvault", i), "name": name})));
    }
    // Hidden names sort first, so a sort that read them would rank by them.
    for (i, (name, on)) in [
        ("a-hidden", false),
        ("b-shown", true),
        ("c-shown", true),
        ("0-hidden", false),
    ]
    .into_iter()
    .enumerate()
    {
        rows.push((
            "sr_shown",
            json!({"id": id("srshown", i), "name": name, "shown": on}),
        ));
    }
    for (i, name) in ["mem-b", "mem-a", "mem-c"].into_iter().enumerate() {
        rows.push(("sr_members", json!({"id": id("srmember", i), "name": name})));
    }
    for (i, (name, code, vault)) in [("Org Z", "c1", 0), ("org a", "c3", 1), ("Org M", "c2", 9)]
        .into_iter()
        .enumerate()
    {
        let vault = if vault == 9 {
            String::new()
        } else {
            id("srvault", vault)
        };
        rows.push((
            "sr_orgs",
            json!({"id": id("srorg", i), "name": name, "code": code, "vault": vault}),
        ));
    }
    for (i, (name, org)) in [("bob", "0"), ("Alice", "1"), ("carl", ""), ("dave", "2")]
        .into_iter()
        .enumerate()
    {
        let org = org.parse().map_or(String::new(), |o| id("srorg", o));
        rows.push((
            "sr_authors",
            json!({"id": id("srauthor", i), "name": name, "org": org}),
        ));
    }
    for (i, (name, n)) in [("zeta", 1), ("alpha", 3), ("Mid", 2), ("beta", 0)]
        .into_iter()
        .enumerate()
    {
        rows.push(("sr_tags", json!({"id": id("srtag", i), "name": name, "n": n})));
    }
    let ids = |prefix: &str, list: &[usize]| -> Vec<String> { list.iter().map(|&i| id(prefix, i)).collect() };
    // (title, author, tags, sel, meta, vault, shown, members): the stored
    // orders are not the sorted ones ([zeta, alpha], [c, a], [c-shown, b-shown]).
    let posts: [Post; 8] = [
        (
            "p0",
            Some(1),
            &[0, 1],
            &["c", "a"],
            json!({"a": {"b": 3}}),
            Some(1),
            &[0, 2],
            &[2, 0],
        ),
        (
            "p1",
            Some(0),
            &[1],
            &["b"],
            json!({"a": {"b": 1}}),
            Some(0),
            &[1],
            &[1],
        ),
        ("p2", None, &[], &[], Value::Null, None, &[3], &[]),
        (
            "p3",
            Some(2),
            &[2, 0, 3],
            &["a"],
            json!({"a": {"b": "x"}}),
            Some(0),
            &[],
            &[0],
        ),
        (
            "p4",
            Some(3),
            &[3],
            &["c", "b"],
            json!({"a": 2}),
            None,
            &[2, 3],
            &[],
        ),
        (
            "p5",
            Some(1),
            &[2],
            &["a", "c"],
            json!([1, 2]),
            Some(1),
            &[3, 1],
            &[2],
        ),
        (
            "p6",
            None,
            &[1, 0],
            &["b", "a"],
            json!(null),
            None,
            &[2, 1],
            &[0, 1],
        ),
        ("p7", Some(0), &[0], &[], json!({"a": {"b": 0}}), None, &[0], &[]),
    ];
    for (i, (title, author, tags, sel, meta, vault, shown, members)) in posts.into_iter().enumerate() {
        rows.push((
            "sr_posts",
            json!({"id": id("srpost", i), "title": title,
                "author": author.map_or(String::new(), |a| id("srauthor", a)),
                "tags": ids("srtag", tags), "sel": sel, "meta": meta, "secret": format!("s{}", 7 - i),
                "vault": vault.map_or(String::new(), |v| id("srvault", v)),
                "shown": ids("srshown", shown), "members": ids("srmember", members)}),
        ));
    }
    for (i, (text, post, n)) in [
        ("c-x", Some(1), 5),
        ("c-a", Some(0), 2),
        ("c-m", Some(1), 1),
        ("c-b", Some(3), 9),
        ("c-z", Some(0), 7),
        ("c-q", None, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let post = post.map_or(String::new(), |p| id("srpost", p));
        rows.push((
            "sr_comments",
            json!({"id": id("srcomment", i), "text": text, "post": post, "n": n}),
        ));
    }
    // The oldest note of p0 is hidden: a guest's sort reads its second.
    for (i, (text, post, on)) in [
        ("n-a", 0, false),
        ("n-y", 0, true),
        ("n-b", 1, true),
        ("n-0", 3, false),
    ]
    .into_iter()
    .enumerate()
    {
        rows.push((
            "sr_notes",
            json!({"id": id("srnote", i), "text": text, "post": id("srpost", post), "shown": on}),
        ));
    }
    for (i, (who, posts)) in [("w1", &[3, 1][..]), ("w0", &[0]), ("w2", &[1, 4])]
        .into_iter()
        .enumerate()
    {
        rows.push((
            "sr_likes",
            json!({"id": id("srlike", i), "who": who, "posts": ids("srpost", posts)}),
        ));
    }
    for (collection, row) in rows {
        s.admin("POST", &format!("/api/collections/{collection}/records"), row)
            .await;
    }
    login(s, "users", "sr@example.com", "pass-word-1").await
}

/// A post's (title, author, tags, sel, meta, vault, shown, members), by
/// the indexes of the related records.
type Post = (
    &'static str,
    Option<usize>,
    &'static [usize],
    &'static [&'static str],
    Value,
    Option<usize>,
    &'static [usize],
    &'static [usize],
);

/// Sorts of `sr_posts`, each asked by every caller.
const SORTS: &[&str] = &[
    // A multiple relation: its first record in stored order, with paging.
    "tags.name",
    "-tags.name",
    "tags.n",
    "-tags.n",
    "tags.id",
    "tags.name:lower",
    "tags.name,-title",
    "-tags.n,tags.name",
    "tags.name&perPage=3&page=2",
    "-tags.name&perPage=2&skipTotal=1",
    // Single relations, one and two hops.
    "author.name",
    "-author.name",
    "author.org.name",
    "-author.org.name:lower",
    "author.id",
    // Back-relations, single and multiple, and a hop on from one.
    "comments_via_post.text",
    "-comments_via_post.text",
    "-comments_via_post.n",
    "comments_via_post.text:lower",
    "comments_via_post.post.title",
    "sr_likes_via_posts.who",
    "-sr_likes_via_posts.who",
    "-sr_likes_via_posts.posts:length",
    "-tags.name,-comments_via_post.n",
    // Lists under :each sort by their first item; :length by the count.
    "sel:each",
    "-sel:each",
    "tags:each",
    "author:each",
    "sel:length",
    "-tags:length,title",
    "sel",
    "-tags",
    // JSON paths.
    "meta.a.b",
    "-meta.a.b",
    "meta",
    // @collection: superusers only, one value for every record.
    "@collection.sr_tags.name",
    "-@collection.sr_tags:t.name",
    "@collection.sr_likes.posts.title",
    // Through rules: hidden related records never rank a row.
    "shown.name",
    "-shown.name",
    "shown.name,-title",
    "shown:each",
    "-shown.id",
    "members.name",
    "-members.name",
    "sr_notes_via_post.text",
    "-sr_notes_via_post.text",
    // Refused alike: superuser-only hops, hidden fields, unknown names.
    "vault.name",
    "author.org.vault.name",
    "secret",
    "author.org.code",
    "nope",
    "tags.nope",
    "sr_vault_via_post.name",
    "@request.auth.id",
    "title:upper",
    // Spelling.
    "+title",
    "%2Btitle",
    "title%20",
    "-%20title",
    "@rowid",
    "-@rowid",
];

/// Callers, in order: superuser, guest, the user.
const CALLERS: [&str; 3] = ["superuser", "guest", "user"];

async fn ask(s: &Server, sort: &str, token: Option<&str>) -> (u16, Value) {
    let (sort, rest) = sort.split_once('&').map_or((sort, ""), |(a, b)| (a, b));
    // `%2B` and `%20` are sent as written; the rest is encoded.
    let sort = if sort.contains('%') {
        sort.to_owned()
    } else {
        urlencode(sort)
    };
    let amp = if rest.is_empty() { "" } else { "&" };
    s.call(
        "GET",
        &format!("/api/collections/sr_posts/records?sort={sort}{amp}{rest}"),
        token,
        None,
    )
    .await
}

fn token<'t>(caller: usize, s: &'t Server, user: &'t str) -> Option<&'t str> {
    match caller {
        0 => Some(&s.superuser),
        1 => None,
        _ => Some(user),
    }
}

#[tokio::test]
async fn sorts_through_relations_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let pb_user = seed(&both.pb).await;
    let cairn_user = seed(&both.cairn).await;
    let mut disagreements = Vec::new();
    for sort in SORTS {
        for (caller, name) in CALLERS.iter().enumerate() {
            let (ps, pbody) = ask(&both.pb, sort, token(caller, &both.pb, &pb_user)).await;
            let (cs, cbody) = ask(&both.cairn, sort, token(caller, &both.cairn, &cairn_user)).await;
            let (p, c) = (answer(ps, &pbody), answer(cs, &cbody));
            if p != c {
                disagreements.push(format!(
                    "[{name}] sort={sort}\n  pocketbase: {p}\n  cairn:      {c}"
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

fn titles(status: u16, body: &Value) -> Result<Vec<String>, u16> {
    if status != 200 {
        return Err(status);
    }
    let items = body["items"].as_array().unwrap();
    // Each record once, and counted once.
    assert_eq!(body["totalItems"].as_u64(), Some(items.len() as u64), "{body}");
    Ok(items
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect())
}

fn names(list: &[&str]) -> Result<Vec<String>, u16> {
    Ok(list.iter().map(|s| (*s).to_owned()).collect())
}

#[tokio::test]
async fn a_sort_never_ranks_rows_by_what_the_caller_may_not_list() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let user = seed(&s).await;
    let run = |sort: &'static str, caller: usize| {
        let (s, user) = (&s, &user);
        async move {
            let (status, body) = ask(s, sort, token(caller, s, user)).await;
            titles(status, &body)
        }
    };
    let (su, guest, member) = (0, 1, 2);
    // The first related record in stored order, not the least: p0's tags
    // are [zeta, alpha], so it sorts as zeta; no tags sorts first.
    assert_eq!(
        run("tags.name", guest).await,
        names(&["p2", "p3", "p5", "p1", "p6", "p4", "p0", "p7"])
    );
    // sr_shown lists only its shown records. The superuser (positive
    // control) ranks p0 by its first, hidden record "a-hidden"…
    assert_eq!(
        run("shown.name", su).await,
        names(&["p3", "p2", "p5", "p0", "p7", "p1", "p4", "p6"])
    );
    // …a guest by the first it may list ("c-shown"); p2, whose only
    // related record is hidden, is left out rather than placed by it, and
    // p5 ([0-hidden, b-shown]) sorts as b-shown.
    assert_eq!(
        run("shown.name", guest).await,
        names(&["p3", "p1", "p5", "p0", "p4", "p6"])
    );
    assert_eq!(
        run("-shown.name", guest).await,
        names(&["p0", "p4", "p6", "p1", "p5", "p3"])
    );
    // The same through a back-relation: p0's oldest note is hidden.
    assert_eq!(
        run("sr_notes_via_post.text", su).await,
        names(&["p2", "p4", "p5", "p6", "p7", "p3", "p0", "p1"])
    );
    assert_eq!(
        run("sr_notes_via_post.text", guest).await,
        names(&["p2", "p4", "p5", "p6", "p7", "p1", "p0"])
    );
    // A collection only signed-in users may list: a guest keeps only the
    // rows with no member at all; the user sorts by all of them.
    assert_eq!(run("members.name", guest).await, names(&["p2", "p4", "p7"]));
    assert_eq!(
        run("members.name", member).await,
        names(&["p2", "p4", "p7", "p1", "p3", "p6", "p0", "p5"])
    );
    // Superuser-only collections, hidden fields and @collection: refused
    // to clients, allowed to the superuser.
    for sort in ["vault.name", "author.org.vault.name", "secret", "author.org.code"] {
        for caller in [guest, member] {
            assert_eq!(run(sort, caller).await, Err(400), "{sort} as {}", CALLERS[caller]);
        }
        assert!(run(sort, su).await.is_ok(), "{sort} as the superuser");
    }
    for caller in [guest, member] {
        assert_eq!(run("@collection.sr_vault.name", caller).await, Err(403));
        assert_eq!(run("@collection.sr_tags.name", caller).await, Err(403));
    }
    assert_eq!(
        run("-@collection.sr_vault.name", su).await,
        names(&["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"])
    );
    // The superuser reads the hidden field's order (s7 … s0).
    assert_eq!(
        run("secret", su).await,
        names(&["p7", "p6", "p5", "p4", "p3", "p2", "p1", "p0"])
    );
}

/// Filters of `sr_posts` on many related values, each asked by every
/// caller (sorted by insertion).
const FILTERS: &[&str] = &[
    "tags.name ?= 'alpha'",
    "tags.name ?~ 'a'",
    "tags.name ?!= 'alpha'",
    "tags.name ?!~ 'a'",
    "tags.n ?> 1",
    "tags.name = 'alpha'",
    "tags.name:lower ?= 'mid'",
    "comments_via_post.text ?= 'c-a'",
    "comments_via_post.n ?> 5",
    "comments_via_post.text != 'c-a'",
    "comments_via_post.text ?= ''",
    "sr_likes_via_posts.who ?= 'w1'",
    "sr_likes_via_posts.who ?!= 'w1'",
    "sr_likes_via_posts.posts.title ?= 'p4'",
    "comments_via_post.post.tags.name ?= 'alpha'",
    // The many values on the right: mirrored.
    "'alpha' ?= tags.name",
    "'alpha' != tags.name",
    "1 < tags.n",
    "1 ?< tags.n",
    "3 > tags.n",
    "null = tags.name",
    "'' = comments_via_post.text",
    "2 ?< comments_via_post.n",
    "'p4' ?= sr_likes_via_posts.posts.title",
    "author.name ?= sr_likes_via_posts.who",
    // Through rules: a hidden related record matches nothing.
    "shown.name ?= 'a-hidden'",
    "'a-hidden' ?= shown.name",
    "shown.name ?= 'b-shown'",
    "'b-shown' ?= shown.name",
    "shown.name ?~ 'hidden'",
    "shown.name ?= ''",
    "shown ?~ 'srshown00000000'",
    "members.name ?= 'mem-a'",
    "'mem-a' ?= members.name",
    "sr_notes_via_post.text ?= 'n-a'",
    "'n-a' ?= sr_notes_via_post.text",
    "sr_notes_via_post.text ?= 'n-y'",
    "vault.name ?= 'vault-a'",
];

#[tokio::test]
async fn filters_on_many_related_values_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let pb_user = seed(&both.pb).await;
    let cairn_user = seed(&both.cairn).await;
    let mut disagreements = Vec::new();
    for filter in FILTERS {
        let path = format!(
            "/api/collections/sr_posts/records?sort=@rowid&fields=title&filter={}",
            urlencode(filter)
        );
        for (caller, name) in CALLERS.iter().enumerate() {
            let (ps, pbody) = both
                .pb
                .call("GET", &path, token(caller, &both.pb, &pb_user), None)
                .await;
            let (cs, cbody) = both
                .cairn
                .call("GET", &path, token(caller, &both.cairn, &cairn_user), None)
                .await;
            let (p, c) = (answer(ps, &pbody), answer(cs, &cbody));
            if p != c {
                disagreements.push(format!(
                    "[{name}] filter={filter}\n  pocketbase: {p}\n  cairn:      {c}"
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// A filter naming the many values on the right reads through the same
/// list rules as the plain one: a guest cannot match a hidden related
/// record by writing the comparison the other way round.
#[tokio::test]
async fn a_mirrored_filter_sees_no_more_than_the_plain_one() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let user = seed(&s).await;
    let run = |filter: &'static str, caller: usize| {
        let (s, user) = (&s, &user);
        async move {
            let path = format!(
                "/api/collections/sr_posts/records?sort=@rowid&filter={}",
                urlencode(filter)
            );
            let (status, body) = s.call("GET", &path, token(caller, s, user), None).await;
            titles(status, &body)
        }
    };
    let (su, guest, member) = (0, 1, 2);
    for (plain, mirrored) in [
        ("shown.name ?= 'a-hidden'", "'a-hidden' ?= shown.name"),
        (
            "sr_notes_via_post.text ?= 'n-a'",
            "'n-a' ?= sr_notes_via_post.text",
        ),
        ("members.name ?= 'mem-a'", "'mem-a' ?= members.name"),
        ("shown.name < 'b'", "'b' > shown.name"),
    ] {
        for caller in [su, guest, member] {
            assert_eq!(
                run(plain, caller).await,
                run(mirrored, caller).await,
                "{mirrored}"
            );
        }
    }
    // Negative: nothing hidden matches for a guest; positive controls: the
    // superuser matches the hidden records, the user the members.
    assert_eq!(run("'a-hidden' ?= shown.name", guest).await, names(&[]));
    assert_eq!(run("'a-hidden' ?= shown.name", su).await, names(&["p0", "p7"]));
    assert_eq!(run("'n-a' ?= sr_notes_via_post.text", guest).await, names(&[]));
    assert_eq!(run("'n-a' ?= sr_notes_via_post.text", su).await, names(&["p0"]));
    assert_eq!(run("'mem-a' ?= members.name", guest).await, names(&[]));
    assert_eq!(run("'mem-a' ?= members.name", member).await, names(&["p1", "p6"]));
    assert_eq!(run("'vault-a' ?= vault.name", guest).await, Err(400));
}
