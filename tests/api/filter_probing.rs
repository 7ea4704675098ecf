//! What a client's own `filter` and `sort` tell about what it may not see.
//! A hidden field, and a collection only superusers may list, must answer
//! a guest exactly as a name that does not exist: before, a hidden field
//! was a 403 naming it ("only superusers can filter by the hidden field")
//! against a 400 for an unknown one, and a back-relation into a
//! superuser-only collection named that collection, so a guest could list
//! hidden field and collection names by trying them. PocketBase answers
//! all of these with the same 400; the statuses are compared with it.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};
use crate::helpers::filter;

/// `teams` anyone may list, with a hidden `secret`; `vault`, which only
/// superusers may list, pointing at teams; `posts` pointing at both.
async fn seed(s: &Server) {
    let teams = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "fp_teams", "listRule": "", "viewRule": "", "fields": [
                {"name": "name", "type": "text"},
                {"name": "secret", "type": "text", "hidden": true}]}),
        )
        .await;
    let vault = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "fp_vault", "fields": [
                {"name": "label", "type": "text"},
                {"name": "team", "type": "relation", "collectionId": teams["id"]}]}),
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "fp_posts", "listRule": "", "viewRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "team", "type": "relation", "collectionId": teams["id"]},
            {"name": "locked", "type": "relation", "collectionId": vault["id"]}]}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/fp_teams/records",
        json!({"id": "team00000000001", "name": "red", "secret": "s3"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/fp_vault/records",
        json!({"id": "vault0000000001", "label": "gold", "team": "team00000000001"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/fp_posts/records",
        json!({"id": "post00000000001", "title": "p", "team": "team00000000001", "locked": "vault0000000001"}),
    )
    .await;
}

/// A guest's list of `collection` with `query` appended.
async fn guest(s: &Server, collection: &str, query: &str) -> (u16, Value) {
    s.call(
        "GET",
        &format!("/api/collections/{collection}/records?{query}"),
        None,
        None,
    )
    .await
}

fn message(answer: &(u16, Value)) -> String {
    answer.1["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_guest_cannot_tell_hidden_names_from_unknown_ones() {
    let Some(both) = start_both().await else {
        return;
    };
    seed(&both.pb).await;
    seed(&both.cairn).await;

    // Each pair: something that exists but is hidden from a guest, and a
    // name that does not exist, spelt the same length and place.
    let pairs = [
        ("fp_teams", "filter", "secret = 's3'", "secrex = 's3'"),
        ("fp_teams", "filter", "secret:isset = true", "secrex:isset = true"),
        ("fp_teams", "sort", "-secret", "-secrex"),
        ("fp_posts", "filter", "team.secret = 's3'", "team.secrex = 's3'"),
        (
            "fp_teams",
            "filter",
            "fp_vault_via_team.label = 'gold'",
            "fp_vaulx_via_team.label = 'gold'",
        ),
        (
            "fp_teams",
            "filter",
            "fp_vault_via_team.team = 'x'",
            "fp_vaulx_via_team.team = 'x'",
        ),
    ];
    for (collection, param, hidden, unknown) in pairs {
        let q = |expr: &str| format!("{param}={}", filter(expr));
        let seen = guest(&both.cairn, collection, &q(hidden)).await;
        let none = guest(&both.cairn, collection, &q(unknown)).await;
        let pb_seen = guest(&both.pb, collection, &q(hidden)).await;
        assert_eq!(
            seen.0, pb_seen.0,
            "{param} {hidden}: Cairn {seen:?}, PocketBase {pb_seen:?}"
        );
        assert_eq!(seen.0, 400, "{param} {hidden}: {seen:?}");
        assert_eq!(none.0, 400, "{param} {unknown}: {none:?}");
        let (name, other) = if hidden.contains("vault") {
            ("fp_vault", "fp_vaulx")
        } else {
            ("secret", "secrex")
        };
        assert_eq!(
            message(&seen),
            message(&none).replace(other, name),
            "{param} {hidden} must read as {unknown} does"
        );
    }

    // A relation into a collection only superusers may list is refused
    // in words that name the relation the guest wrote, not the collection
    // behind it.
    let locked = guest(
        &both.cairn,
        "fp_posts",
        &format!("filter={}", filter("locked.label = 'gold'")),
    )
    .await;
    let pb_locked = guest(
        &both.pb,
        "fp_posts",
        &format!("filter={}", filter("locked.label = 'gold'")),
    )
    .await;
    assert_eq!((locked.0, pb_locked.0), (400, 400), "{locked:?}");
    assert!(message(&locked).contains("\"locked\""), "{locked:?}");
    assert!(!message(&locked).contains("fp_vault"), "{locked:?}");

    // Controls: a superuser filters and sorts by all of them, on both.
    for s in [&both.pb, &both.cairn] {
        for (collection, query) in [
            ("fp_teams", format!("filter={}", filter("secret = 's3'"))),
            ("fp_teams", "sort=-secret".to_owned()),
            (
                "fp_teams",
                format!("filter={}", filter("fp_vault_via_team.label = 'gold'")),
            ),
            (
                "fp_posts",
                format!("filter={}", filter("locked.label = 'gold' && team.secret = 's3'")),
            ),
        ] {
            let (status, page) = s
                .call(
                    "GET",
                    &format!("/api/collections/{collection}/records?{query}"),
                    Some(&s.superuser),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{} {collection}?{query}: {page}", s.base);
            assert_eq!(page["totalItems"], 1, "{} {collection}?{query}: {page}", s.base);
        }
        // And a guest's filter on what it may see still works.
        let (status, page) = guest(s, "fp_posts", &format!("filter={}", filter("team.name = 'red'"))).await;
        assert_eq!(
            (status, page["totalItems"].clone()),
            (200, json!(1)),
            "{}",
            s.base
        );
    }
}
