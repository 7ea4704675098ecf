//! A client's filter and sort through relations see only what the related
//! collections' list rules let that client list (security issue: relation
//! oracles). Without it a guest's `secret.code ~ 'a'` on a public
//! collection read an owner-only collection one character at a time.
//!
//! The same schema runs against PocketBase 0.40.6 in the differential test
//! below; the Cairn-only test holds the probes and their positive controls.

use serde_json::{Value, json};

use crate::{
    differential::{Server, answer, login, start_both, urlencode},
    helpers::spawn_app,
};

/// Callers, in order: superuser, guest, user A, user B.
const CALLERS: [&str; 4] = ["superuser", "guest", "A", "B"];

/// `vault` is superuser-only, `notes` owner-only, `openc` public with a
/// relation into `vault`; `posts` is public and relates to all three;
/// `comments` (superuser-only) and `replies` (owner-only) point back at
/// posts. Returns the tokens of users A and B.
async fn seed(s: &Server) -> [String; 2] {
    let users = "_pb_users_auth_";
    for (id, email) in [
        ("useraaaaaaaaaaa", "a@example.com"),
        ("userbbbbbbbbbbb", "b@example.com"),
    ] {
        s.admin(
            "POST",
            "/api/collections/users/records",
            json!({"id": id, "email": email, "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
        )
        .await;
    }
    let vault = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "vault", "listRule": null, "viewRule": null,
                   "fields": [{"name": "code", "type": "text"}]}),
        )
        .await;
    let notes = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "notes", "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
                   "fields": [{"name": "code", "type": "text"},
                              {"name": "owner", "type": "relation", "collectionId": users, "maxSelect": 1}]}),
        )
        .await;
    let openc = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "openc", "listRule": "", "viewRule": "",
                   "fields": [{"name": "code", "type": "text"},
                              {"name": "deep", "type": "relation", "collectionId": vault["id"], "maxSelect": 1},
                              {"name": "inner", "type": "relation", "collectionId": notes["id"], "maxSelect": 1}]}),
        )
        .await;
    let posts = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "posts", "listRule": "", "viewRule": "", "fields": [
                {"name": "title", "type": "text"},
                {"name": "secret", "type": "relation", "collectionId": vault["id"], "maxSelect": 1},
                {"name": "note", "type": "relation", "collectionId": notes["id"], "maxSelect": 1},
                {"name": "notes", "type": "relation", "collectionId": notes["id"], "maxSelect": 5},
                {"name": "open", "type": "relation", "collectionId": openc["id"], "maxSelect": 1},
            ]}),
        )
        .await;
    for (name, rule) in [
        ("comments", Value::Null),
        ("replies", json!("owner = @request.auth.id")),
    ] {
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": name, "listRule": rule, "viewRule": rule, "fields": [
                {"name": "body", "type": "text"},
                {"name": "post", "type": "relation", "collectionId": posts["id"], "maxSelect": 1},
                {"name": "owner", "type": "relation", "collectionId": users, "maxSelect": 1},
            ]}),
        )
        .await;
    }
    let rows: [(&str, Value); 10] = [
        ("vault", json!({"id": "vaultvvvvvvvvv1", "code": "abc"})),
        (
            "notes",
            json!({"id": "notennnnnnnnnn1", "code": "n1", "owner": "useraaaaaaaaaaa"}),
        ),
        (
            "notes",
            json!({"id": "notennnnnnnnnn2", "code": "n2", "owner": "userbbbbbbbbbbb"}),
        ),
        (
            "openc",
            json!({"id": "openooooooooo01", "code": "o1", "deep": "vaultvvvvvvvvv1", "inner": "notennnnnnnnnn1"}),
        ),
        (
            "posts",
            json!({"id": "postppppppppp01", "title": "p1", "secret": "vaultvvvvvvvvv1",
                          "note": "notennnnnnnnnn1", "notes": ["notennnnnnnnnn1", "notennnnnnnnnn2"],
                          "open": "openooooooooo01"}),
        ),
        ("posts", json!({"id": "postppppppppp02", "title": "p2"})),
        (
            "posts",
            json!({"id": "postppppppppp03", "title": "p3", "note": "notennnnnnnnnn2",
                          "notes": ["notennnnnnnnnn2"]}),
        ),
        (
            "comments",
            json!({"id": "commentccccccc1", "body": "hello", "post": "postppppppppp01"}),
        ),
        (
            "replies",
            json!({"id": "replyrrrrrrrrr1", "body": "mine", "post": "postppppppppp01", "owner": "useraaaaaaaaaaa"}),
        ),
        (
            "replies",
            json!({"id": "replyrrrrrrrrr2", "body": "theirs", "post": "postppppppppp03", "owner": "userbbbbbbbbbbb"}),
        ),
    ];
    for (collection, row) in rows {
        s.admin("POST", &format!("/api/collections/{collection}/records"), row)
            .await;
    }
    [
        login(s, "users", "a@example.com", "pass-word-1").await,
        login(s, "users", "b@example.com", "pass-word-1").await,
    ]
}

/// Queries on `posts` that go through a relation, asked by every caller.
const QUERIES: &[&str] = &[
    "filter=secret.code='abc'",
    "filter=secret.code=''",
    "filter=secret.code~'a'",
    "filter=secret.id='vaultvvvvvvvvv1'",
    "filter=secret='vaultvvvvvvvvv1'",
    "filter=note.code='n1'",
    "filter=note.code~'n'",
    "filter=note.code=''",
    "filter=note.code!='n1'",
    "filter=notes.code?='n2'",
    "filter=notes.code?~'n'",
    "filter=notes.code?=''",
    "filter=open.code='o1'",
    "filter=open.deep.code='abc'",
    "filter=open.inner.code='n1'",
    "filter=open.inner.code=''",
    "filter=comments_via_post.body?='hello'",
    "filter=comments_via_post.id?=''",
    "filter=replies_via_post.body?='mine'",
    "filter=replies_via_post.body?~'e'",
    "filter=replies_via_post.body?=''",
    "filter=title='p2' || note.code='n2'",
    "sort=secret.code",
    "sort=-note.code",
    "sort=note.code",
    "sort=open.inner.code",
    "sort=open.code",
];

fn token<'t>(caller: usize, su: &'t str, users: &'t [String; 2]) -> Option<&'t str> {
    match caller {
        0 => Some(su),
        1 => None,
        n => Some(&users[n - 2]),
    }
}

fn titles(status: u16, body: &Value) -> Result<Vec<String>, u16> {
    if status != 200 {
        return Err(status);
    }
    Ok(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect())
}

async fn ask(s: &Server, query: &str, token: Option<&str>) -> (u16, Value) {
    let (key, value) = query.split_once('=').unwrap();
    let mut q = format!("{key}={}", urlencode(value));
    if key == "filter" {
        q.push_str("&sort=id");
    }
    s.call("GET", &format!("/api/collections/posts/records?{q}"), token, None)
        .await
}

#[tokio::test]
async fn relation_paths_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let pb_users = seed(&both.pb).await;
    let cairn_users = seed(&both.cairn).await;
    let mut disagreements = Vec::new();
    for query in QUERIES {
        for (caller, name) in CALLERS.iter().enumerate() {
            let (ps, pbody) = ask(&both.pb, query, token(caller, &both.pb.superuser, &pb_users)).await;
            let (cs, cbody) = ask(
                &both.cairn,
                query,
                token(caller, &both.cairn.superuser, &cairn_users),
            )
            .await;
            let (p, c) = (answer(ps, &pbody), answer(cs, &cbody));
            if p != c {
                disagreements.push(format!("[{name}] {query}\n  pocketbase: {p}\n  cairn:      {c}"));
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

#[tokio::test]
async fn relation_paths_never_reveal_what_the_related_rules_hide() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let users = seed(&s).await;
    let run = |query: &'static str, caller: usize| {
        let s = &s;
        let users = &users;
        async move {
            let (status, body) = ask(s, query, token(caller, &s.superuser, users)).await;
            titles(status, &body)
        }
    };
    let (su, guest, a, b) = (0, 1, 2, 3);
    // A superuser-only collection: refused to everyone else, in filters
    // and sorts, directly or a hop further…
    for query in [
        "filter=secret.code~'a'",
        "sort=secret.code",
        "filter=open.deep.code='abc'",
    ] {
        for caller in [guest, a, b] {
            assert_eq!(
                run(query, caller).await,
                Err(400),
                "{query} as {}",
                CALLERS[caller]
            );
        }
    }
    // …while the superuser (the positive control) reads through it.
    assert_eq!(run("filter=secret.code~'a'", su).await, Ok(vec!["p1".to_owned()]));
    assert_eq!(
        run("filter=open.deep.code='abc'", su).await,
        Ok(vec!["p1".to_owned()])
    );
    assert_eq!(
        run("filter=comments_via_post.body?='hello'", su).await,
        Ok(vec!["p1".to_owned()])
    );
    assert_eq!(
        run("filter=comments_via_post.body?='hello'", guest).await,
        Err(400)
    );
    // The stored id is the caller's to see already: no join, no refusal.
    assert_eq!(
        run("filter=secret='vaultvvvvvvvvv1'", guest).await,
        Ok(vec!["p1".to_owned()])
    );
    assert_eq!(
        run("filter=secret.id='vaultvvvvvvvvv1'", guest).await,
        Ok(vec!["p1".to_owned()])
    );

    // An owner-only collection: the owner matches its own note; nobody
    // else can tell a right guess from a wrong one, character by character.
    assert_eq!(run("filter=note.code~'n1'", a).await, Ok(vec!["p1".to_owned()]));
    for query in [
        "filter=note.code~'n1'",
        "filter=note.code~'n'",
        "filter=note.code=''",
    ] {
        let seen = run(query, guest).await.unwrap();
        assert!(!seen.contains(&"p1".to_owned()), "{query} as guest: {seen:?}");
        let seen = run(query, b).await.unwrap();
        assert!(!seen.contains(&"p1".to_owned()), "{query} as B: {seen:?}");
    }
    // A wrong guess and a right one look alike to B: p1 is out either way.
    assert_eq!(
        run("filter=note.code!='n1'", b).await,
        run("filter=note.code!='zz'", b).await
    );
    // Multi-valued: only the notes the caller may list take part; B's own
    // note in p1 still counts for B.
    assert_eq!(
        run("filter=notes.code?='n2'", b).await,
        Ok(vec!["p1".to_owned(), "p3".to_owned()])
    );
    assert_eq!(run("filter=notes.code?='n1'", b).await, Ok(vec![]));
    assert_eq!(run("filter=notes.code?='n1'", a).await, Ok(vec!["p1".to_owned()]));
    // Every visible note of p1 is A's n1: B's n2 is not A's to compare.
    assert_eq!(run("filter=notes.code='n1'", a).await, Ok(vec!["p1".to_owned()]));
    assert_eq!(run("filter=notes.code='n1'", su).await, Ok(vec![]));
    // Through a public hop into an owner-only one.
    assert_eq!(
        run("filter=open.inner.code='n1'", a).await,
        Ok(vec!["p1".to_owned()])
    );
    assert_eq!(run("filter=open.inner.code='n1'", b).await, Ok(vec![]));
    // Back-relations under an owner rule.
    assert_eq!(
        run("filter=replies_via_post.body?~'e'", a).await,
        Ok(vec!["p1".to_owned()])
    );
    assert_eq!(
        run("filter=replies_via_post.body?~'e'", b).await,
        Ok(vec!["p3".to_owned()])
    );
    assert_eq!(run("filter=replies_via_post.body?~'e'", guest).await, Ok(vec![]));

    // A sort never ranks rows by values the caller may not list: the rows
    // whose note is hidden are left out, as PocketBase leaves them out.
    assert_eq!(
        run("sort=note.code", su).await,
        Ok(vec!["p2".into(), "p1".into(), "p3".into()])
    );
    assert_eq!(run("sort=note.code", a).await, Ok(vec!["p2".into(), "p1".into()]));
    assert_eq!(
        run("sort=-note.code", b).await,
        Ok(vec!["p3".into(), "p2".into()])
    );
    assert_eq!(run("sort=note.code", guest).await, Ok(vec!["p2".into()]));
    // The count agrees with the items.
    let (_, body) = ask(&s, "sort=note.code", None).await;
    assert_eq!(body["totalItems"], 1, "{body}");
}

/// Every hop is a join: back-relations count toward PocketBase's limit of
/// six per path, as forward relations do (PocketBase 0.40.6 answers 200 for
/// six `n_via_parent` hops and 400 for seven).
#[tokio::test]
async fn back_relation_hops_are_held_to_the_limit() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let nodes = app
        .post_ok(
            &token,
            "/api/collections",
            json!({"name": "n", "listRule": "", "fields": [{"name": "title", "type": "text"}]}),
        )
        .await;
    let id = nodes["id"].as_str().unwrap();
    app.call(
        "PATCH",
        "/api/collections/n",
        Some(&token),
        Some(json!({"fields": [{"name": "title", "type": "text"},
            {"name": "parent", "type": "relation", "collectionId": id, "maxSelect": 1}]})),
    )
    .await;
    let status = |hops: usize, back: bool| {
        let app = &app;
        async move {
            let path = if back {
                format!("{}title", "n_via_parent.".repeat(hops))
            } else {
                format!("{}title", "parent.".repeat(hops))
            };
            let url = format!(
                "/api/collections/n/records?filter={}",
                crate::helpers::filter(&format!("{path} ?= 'x'"))
            );
            app.call("GET", &url, None, None).await.status().as_u16()
        }
    };
    for back in [true, false] {
        assert_eq!(status(6, back).await, 200, "six hops (back: {back})");
        assert_eq!(status(7, back).await, 400, "seven hops (back: {back})");
    }
}
