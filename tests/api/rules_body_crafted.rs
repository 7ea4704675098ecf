//! Write rules that read through the body's fields, on Cairn alone (the
//! schema of `rules_body_lists`): the crafted bodies that must not get
//! past them, each beside the honest write the same rule lets through,
//! and the rules that cannot be saved.

use serde_json::{Value, json};

use crate::{
    differential::Server,
    helpers::spawn_app,
    rules_body_lists::{ADMIN, BLUE, GHOST, PLAIN, REC, RED, schema},
};

/// On Cairn alone, the writes a crafted body must not get past, each
/// beside the honest write the same rule lets through; and what is
/// stored when a rule lets a write through is what it judged.
#[tokio::test]
async fn a_crafted_body_cannot_pass_a_rule_that_reads_through_fields() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let tokens = schema(&s).await;
    let admin_token = tokens[0].as_str();
    let set_rule = |rule: &'static str| {
        let s = &s;
        async move {
            s.admin(
                "PATCH",
                "/api/collections/things",
                json!({"createRule": rule, "updateRule": rule}),
            )
            .await;
        }
    };
    let create = |body: Value| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/api/collections/things/records",
                Some(admin_token),
                Some(body),
            )
            .await
        }
    };

    // A single relation sent several ids stores the last: the rule judges
    // that one, whichever the others are.
    set_rule("@request.body.owner.role = 'admin'").await;
    assert_eq!(create(json!({"owner": [ADMIN, PLAIN]})).await.0, 400);
    let (status, made) = create(json!({"owner": [PLAIN, ADMIN]})).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["owner"], ADMIN, "the owner judged is the owner stored");
    // Not an id: no record, no role.
    assert_eq!(create(json!({"owner": {"id": ADMIN}})).await.0, 400);
    assert_eq!(create(json!({"owner": [[ADMIN]]})).await.0, 400);
    assert_eq!(create(json!({"owner": PLAIN})).await.0, 400);
    assert_eq!(create(json!({"owner": ADMIN})).await.0, 200, "positive control");

    // An id of no record equals nothing, not even through `id`.
    set_rule("@request.body.owner.id = @request.auth.id || @request.body.owner.role = 'admin'").await;
    assert_eq!(create(json!({"owner": GHOST})).await.0, 400);
    assert_eq!(create(json!({"owner": PLAIN})).await.0, 400);
    assert_eq!(create(json!({"owner": ADMIN})).await.0, 200, "positive control");

    // Every item is judged: a forbidden one cannot hide among allowed
    // ones, behind a modifier, or as one value where a list is expected.
    set_rule("@request.body.tags:each != 'z'").await;
    for body in [
        json!({"tags": ["x", "z"]}),
        json!({"tags": "z"}),
        json!({"tags": ["x"], "tags+": "z"}),
        json!({"+tags": ["z"]}),
        json!({"tags": ["z", "z"]}),
    ] {
        let (status, out) = create(body.clone()).await;
        assert_eq!(status, 400, "{body}: {out}");
    }
    let (status, made) = create(json!({"tags": ["x", "y"]})).await;
    assert_eq!((status, &made["tags"]), (200, &json!(["x", "y"])), "{made}");

    // An empty list passes no `=`: "every item is x" needs an item.
    set_rule("@request.body.tags:each = 'x'").await;
    assert_eq!(create(json!({"tags": []})).await.0, 400);
    assert_eq!(create(json!({})).await.0, 400);
    assert_eq!(create(json!({"tags": [""]})).await.0, 400);
    assert_eq!(create(json!({"tags": ["x", "y"]})).await.0, 400);
    assert_eq!(create(json!({"tags": ["x"]})).await.0, 200, "positive control");

    // Every member is judged, and the teams (which only superusers may
    // list) are read as they are.
    set_rule("@request.body.members.name = 'red'").await;
    assert_eq!(create(json!({"members": [RED, BLUE]})).await.0, 400);
    assert_eq!(create(json!({"members": [BLUE]})).await.0, 400);
    assert_eq!(create(json!({"members": [RED]})).await.0, 200, "positive control");
    // An update's rule reads the members sent, and modifiers make the list.
    let patch = |body: Value| {
        let s = &s;
        async move {
            s.call(
                "PATCH",
                &format!("/api/collections/things/records/{REC}"),
                Some(admin_token),
                Some(body),
            )
            .await
            .0
        }
    };
    assert_eq!(patch(json!({"members": [RED]})).await, 200);
    assert_eq!(patch(json!({"members+": BLUE})).await, 404, "[red] plus blue");
    assert_eq!(patch(json!({"members": [RED]})).await, 200);
}

/// The rules PocketBase refuses to save, Cairn refuses too; and a path
/// through a sent relation names fields that exist.
#[tokio::test]
async fn rules_that_cannot_read_through_a_field_are_refused() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    schema(&s).await;
    for rule in [
        "@request.body.title:each = 'a'",
        "@request.body.tags.x:each = 'x'",
        // Cairn only: PocketBase reads an unknown field here as missing,
        // which would let a misspelt rule (`rol != 'banned'`) pass always.
        "@request.body.owner.rol != 'banned'",
        "@request.body.members.nosuch ?= 1",
    ] {
        let (status, out) = s
            .call(
                "PATCH",
                "/api/collections/things",
                Some(&s.superuser),
                Some(json!({"createRule": rule})),
            )
            .await;
        assert_eq!(status, 400, "{rule}: {out}");
        assert_eq!(
            out["data"]["createRule"]["code"], "validation_invalid_rule",
            "{rule}: {out}"
        );
    }
    for rule in [
        "@request.body.tags:each != 'z'",
        "@request.body.kind:each ?= 'x'",
        "@request.body.owner.role = 'admin'",
        "@request.body.members.name ?= 'x'",
        "@request.auth.team.name = 'red'",
    ] {
        let (status, out) = s
            .call(
                "PATCH",
                "/api/collections/things",
                Some(&s.superuser),
                Some(json!({"createRule": rule})),
            )
            .await;
        assert_eq!(status, 200, "{rule}: {out}");
    }
}
