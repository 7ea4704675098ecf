//! Write rules that read `@request.body` and `@request.auth` through the
//! collection's fields, against PocketBase: `:each` over a sent select
//! list (every operator against values, plain and `?` forms; sent as a
//! list, as one value, empty, not at all, through a modifier), and
//! relation paths from the ids sent (`@request.body.owner.role`, a
//! multiple relation's `members.name`) or held by the signed-in record
//! (`@request.auth.team.name`). A rule that can pass must be seen both
//! allowed and refused on PocketBase, so no case agrees vacuously. The
//! teams are visible to superusers only: a rule still reads them. The
//! crafted bodies, on Cairn alone, are in `rules_body_crafted`.

use serde_json::{Value, json};

use crate::differential::{Server, login, start_both};

pub(crate) const RED: &str = "teamred00000001";
pub(crate) const BLUE: &str = "teamblue0000001";
pub(crate) const BLANK: &str = "teamnone0000001";
pub(crate) const ADMIN: &str = "user00000000001";
pub(crate) const PLAIN: &str = "user00000000002";
pub(crate) const NOBODY: &str = "user00000000003";
pub(crate) const GHOST: &str = "ghost0000000001";
pub(crate) const REC: &str = "thing0000000001";

/// Who sends a request: the three accounts (in the order of `ADMIN`,
/// `PLAIN`, `NOBODY`) or a guest.
#[derive(Clone, Copy)]
enum As {
    Admin,
    Plain,
    Nobody,
    Guest,
}

/// The schema and rows on `s`: superuser-only `teams`, accounts with a
/// role and teams, and `things` whose rules the cases set. Returns the
/// accounts' tokens.
pub(crate) async fn schema(s: &Server) -> Vec<String> {
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"rateLimits": {"enabled": false}}),
    )
    .await;
    let teams = s
        .admin(
            "POST",
            "/api/collections",
            json!({
                "name": "teams", "listRule": null, "viewRule": null,
                "fields": [
                    {"name": "name", "type": "text"},
                    {"name": "tags", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
                    {"name": "n", "type": "number"},
                ]
            }),
        )
        .await;
    let teams_id = teams["id"].as_str().unwrap().to_owned();
    let users = s
        .call("GET", "/api/collections/users", Some(&s.superuser), None)
        .await
        .1;
    let mut fields = users["fields"].as_array().unwrap().clone();
    fields.extend([
        json!({"name": "role", "type": "text"}),
        json!({"name": "team", "type": "relation", "collectionId": teams_id, "maxSelect": 1}),
        json!({"name": "teams", "type": "relation", "collectionId": teams_id, "maxSelect": 5}),
    ]);
    s.admin("PATCH", "/api/collections/users", json!({"fields": fields}))
        .await;
    for (id, name, tags, n) in [
        (RED, "red", json!(["x"]), 1),
        (BLUE, "blue", json!(["y", "z"]), 2),
        (BLANK, "", json!([]), 0),
    ] {
        s.admin(
            "POST",
            "/api/collections/teams/records",
            json!({"id": id, "name": name, "tags": tags, "n": n}),
        )
        .await;
    }
    let mut tokens = Vec::new();
    for (id, role, team) in [(ADMIN, "admin", RED), (PLAIN, "user", BLUE), (NOBODY, "", "")] {
        let email = format!("{id}@example.com");
        s.admin(
            "POST",
            "/api/collections/users/records",
            json!({
                "id": id, "email": email, "password": "user-pass-123",
                "passwordConfirm": "user-pass-123", "role": role, "team": team,
                "teams": if team.is_empty() { json!([]) } else { json!([team]) },
            }),
        )
        .await;
        tokens.push(login(s, "users", &email, "user-pass-123").await);
    }
    let users_id = users["id"].as_str().unwrap();
    s.admin(
        "POST",
        "/api/collections",
        json!({
            "name": "things", "listRule": "", "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "tags", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
                {"name": "kind", "type": "select", "values": ["x", "y", "z"], "maxSelect": 1},
                {"name": "owner", "type": "relation", "collectionId": users_id, "maxSelect": 1},
                {"name": "members", "type": "relation", "collectionId": teams_id, "maxSelect": 5},
                {"name": "team", "type": "relation", "collectionId": teams_id, "maxSelect": 1},
            ]
        }),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/things/records",
        json!({"id": REC, "tags": ["x"], "owner": PLAIN}),
    )
    .await;
    tokens
}

/// One write under a rule: a create (`POST`) or an update of `REC`
/// (`PATCH`, the record first put back to tags `["x"]`, owner `PLAIN`).
struct Case {
    rule: String,
    method: &'static str,
    writes: Vec<(Value, As)>,
}

fn creates(rule: &str, bodies: &[Value]) -> Case {
    Case {
        rule: rule.to_owned(),
        method: "POST",
        writes: bodies.iter().map(|b| (b.clone(), As::Admin)).collect(),
    }
}

/// The statuses `s` answers for `case`'s writes.
async fn run(s: &Server, tokens: &[String], case: &Case) -> Vec<u16> {
    let key = if case.method == "POST" {
        "createRule"
    } else {
        "updateRule"
    };
    let (status, out) = s
        .call(
            "PATCH",
            "/api/collections/things",
            Some(&s.superuser),
            Some(json!({ key: case.rule })),
        )
        .await;
    if status != 200 {
        eprintln!("{} refused: {out}", case.rule);
        return vec![status; case.writes.len()];
    }
    let mut statuses = Vec::new();
    for (body, caller) in &case.writes {
        let token = match caller {
            As::Admin => Some(tokens[0].as_str()),
            As::Plain => Some(tokens[1].as_str()),
            As::Nobody => Some(tokens[2].as_str()),
            As::Guest => None,
        };
        let path = if case.method == "POST" {
            "/api/collections/things/records".to_owned()
        } else {
            s.admin(
                "PATCH",
                &format!("/api/collections/things/records/{REC}"),
                json!({"tags": ["x"], "owner": PLAIN}),
            )
            .await;
            format!("/api/collections/things/records/{REC}")
        };
        let (status, _) = s.call(case.method, &path, token, Some(body.clone())).await;
        statuses.push(status);
    }
    statuses
}

/// Runs every case on both servers; returns the disagreements, and the
/// cases meant to go both ways that PocketBase answered one way only.
async fn compare(cases: &[(Case, bool)]) -> Option<(Vec<String>, Vec<String>)> {
    let both = start_both().await?;
    let pb_tokens = schema(&both.pb).await;
    let cairn_tokens = schema(&both.cairn).await;
    let mut disagreements = Vec::new();
    let mut vacuous = Vec::new();
    for (case, two_ways) in cases {
        let pb = run(&both.pb, &pb_tokens, case).await;
        let cairn = run(&both.cairn, &cairn_tokens, case).await;
        for (i, (p, c)) in pb.iter().zip(&cairn).enumerate() {
            if p != c {
                disagreements.push(format!(
                    "{} {} {}: PocketBase {p} Cairn {c}",
                    case.rule, case.method, case.writes[i].0
                ));
            }
        }
        let allowed = pb.contains(&200);
        let refused = pb.iter().any(|s| *s != 200);
        if *two_ways && !(allowed && refused) {
            vacuous.push(format!("{} {}: {pb:?}", case.rule, case.method));
        }
    }
    Some((disagreements, vacuous))
}

fn assert_agree(cases: &[(Case, bool)], (disagreements, vacuous): (Vec<String>, Vec<String>)) {
    assert!(
        disagreements.is_empty() && vacuous.is_empty(),
        "{} answers of {} cases disagree:\n{}\ncases meant to go both ways that PocketBase answered one way:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n"),
        vacuous.join("\n")
    );
}

/// `@request.body.tags:each` with every operator against every value, for
/// a list, one value, an empty list, nothing sent, a modifier, repeats
/// and a nested list; and a single select, plain and under `?`.
#[tokio::test]
async fn each_over_a_sent_list_agrees_with_pocketbase() {
    let bodies = [
        json!({"tags": ["y"]}),
        json!({"tags": ["x", "z"]}),
        json!({"tags": ["x"]}),
        json!({"tags": ["y", "z"]}),
        json!({"tags": "z"}),
        json!({"tags": []}),
        json!({}),
        json!({"tags+": "z"}),
        json!({"tags": ["x", "x"]}),
        json!({"tags": [["z"]]}),
    ];
    let ops = [
        "=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~",
    ];
    let mut cases = Vec::new();
    for op in ops {
        for rhs in ["'x'", "'y'", "'z'", "''", "null"] {
            let rule = format!("@request.body.tags:each {op} {rhs}");
            // Against the empty value, or past the ends of x..z, the answer
            // does not depend on what is sent: those agree, refused (or
            // allowed) every time, and their siblings go both ways.
            let constant = matches!(rhs, "''" | "null")
                || matches!((op.trim_start_matches('?'), rhs), (">", "'z'") | ("<", "'x'"));
            cases.push((creates(&rule, &bodies), !constant));
        }
    }
    for rule in [
        "@request.body.kind:each = 'x'",
        "@request.body.kind:each != 'x'",
        "@request.body.kind:each ?= 'x'",
        "@request.body.tags:each = @request.body.kind",
        "@request.body.tags:each > 0",
        "@request.body.tags:each ?= 'x' || @request.body.kind = 'y'",
        "@request.body.tags:length = 1",
        "@request.body.members:each != 'teamred00000001'",
    ] {
        let bodies = [
            json!({"kind": "x"}),
            json!({"kind": "y"}),
            json!({"kind": ""}),
            json!({"tags": ["x"], "kind": "x"}),
            json!({"tags": ["x", "y"], "kind": "x"}),
            json!({"tags": ["x", "z"]}),
            json!({"tags": "x"}),
            json!({"tags": ["x", ""]}),
            json!({"members": [RED, BLUE]}),
            json!({"members": [BLUE]}),
            json!({}),
        ];
        cases.push((creates(rule, &bodies), true));
    }
    // Two references to one list name the same item in PocketBase (its
    // join), so no list has an item that is both x and z: refused always.
    cases.push((
        creates(
            "@request.body.tags:each ?= 'x' && @request.body.tags:each ?= 'z'",
            &[json!({"tags": ["x", "z"]}), json!({"tags": ["x"]})],
        ),
        false,
    ));
    // An update sees the list the modifiers make.
    cases.push((
        Case {
            rule: "@request.body.tags:each != 'z'".into(),
            method: "PATCH",
            writes: [
                json!({"tags+": "z"}),
                json!({"tags+": "y"}),
                json!({"+tags": ["z", "y"]}),
                json!({"tags-": "x", "tags+": "z"}),
                json!({"tags": ["y"], "tags-": "y"}),
                json!({"title": "t"}),
            ]
            .into_iter()
            .map(|b| (b, As::Admin))
            .collect(),
        },
        true,
    ));
    let Some(outcome) = compare(&cases).await else {
        return;
    };
    assert_agree(&cases, outcome);
}

/// Paths from relation ids sent in the body, single and multiple, and
/// from the signed-in record's relations; ids of records the caller
/// cannot list, of no record, several for a single relation, none.
#[tokio::test]
async fn relation_paths_from_the_request_agree_with_pocketbase() {
    let owners = [
        json!({"owner": ADMIN}),
        json!({"owner": PLAIN}),
        json!({"owner": NOBODY}),
        json!({}),
        json!({"owner": ""}),
        json!({"owner": GHOST}),
        json!({"owner": [PLAIN, ADMIN]}),
        json!({"owner": [ADMIN, PLAIN]}),
        json!({"owner": {"id": ADMIN}}),
    ];
    let mut cases = Vec::new();
    for rule in [
        "@request.body.owner.role = 'admin'",
        "@request.body.owner.role != 'admin'",
        "@request.body.owner.role = ''",
        "@request.body.owner.role ?= 'admin'",
        "@request.body.owner.role ~ 'adm'",
        "@request.body.owner.id = @request.auth.id",
        "@request.body.owner.id != @request.auth.id",
        "@request.body.owner.team.name = 'red'",
        "@request.body.owner.teams.name ?= 'red'",
    ] {
        cases.push((creates(rule, &owners), true));
    }
    let members = [
        json!({"members": [RED, BLUE]}),
        json!({"members": [BLUE]}),
        json!({"members": [RED]}),
        json!({"members": RED}),
        json!({"members": []}),
        json!({}),
        json!({"members": [BLANK]}),
        json!({"members": [RED, GHOST]}),
        json!({"members+": RED}),
        json!({"team": RED}),
        json!({"team": BLUE}),
        json!({"team": [BLUE, RED]}),
    ];
    for rule in [
        "@request.body.members.name ?= 'red'",
        "@request.body.members.name = 'red'",
        "@request.body.members.name != 'red'",
        "@request.body.members.name ?!= 'red'",
        "@request.body.members.name ~ 'e'",
        "@request.body.members.name = ''",
        "@request.body.members.n > 1",
        "@request.body.members.n ?> 1",
        "@request.body.members.id ?= 'teamred00000001'",
        "@request.body.team.name = 'red'",
        "@request.body.team.n >= 2",
        "@request.body.team.tags ~ 'y'",
        "@request.body.members.tags:each = 'x'",
        "@request.body.members.tags:each ?= 'y'",
        "@request.body.members.tags:each != 'x'",
        "@request.body.members.tags:length > 1",
        "@request.body.members.tags:length ?> 1",
        "members.tags:each ?= 'z'",
        "@request.body.team.tags:each != 'x'",
        "@request.body.team.tags:each ?= 'y'",
        "@request.body.team.tags:each = 'x'",
        "@request.body.team.tags:length = 2",
        "@request.body.team.tags:each ?= 'y' || @request.body.team.tags:each = 'x'",
        "team.tags:each ?= 'z'",
        "team.tags:each != 'x'",
        "team.tags:length > 0",
    ] {
        cases.push((creates(rule, &members), true));
    }
    let callers = [As::Admin, As::Plain, As::Nobody, As::Guest];
    for rule in [
        "@request.auth.team.name = 'red'",
        "@request.auth.team.name != 'red'",
        "@request.auth.team.name = ''",
        "@request.auth.teams.name ?= 'blue'",
        "@request.auth.teams.name = 'blue'",
        "@request.auth.team.n > 1",
        "@request.auth.team.id = 'teamred00000001'",
        "@request.auth.teams:each ?= 'teamred00000001'",
        "@request.auth.teams:each = 'teamblue0000001'",
        "@request.auth.teams:each != 'teamred00000001'",
        "@request.auth.teams:each ?!= 'teamred00000001'",
        "@request.auth.teams:each = ''",
        "@request.auth.teams:length = 1",
        "@request.auth.teams:length = 0",
        "@request.auth.team.tags:each ?= 'y'",
        "@request.auth.team.tags:length = 1",
        "@request.auth.role:each = 'admin'",
    ] {
        cases.push((
            Case {
                rule: rule.into(),
                method: "POST",
                writes: callers.iter().map(|c| (json!({}), *c)).collect(),
            },
            true,
        ));
    }
    // What does not fit the signed-in record's collection reads as
    // missing, the same for every caller: no request fails on it.
    for rule in [
        "@request.auth.team.nosuch = 'x'",
        "@request.auth.team.nosuch != 'x'",
        "@request.auth.role.name = 'x'",
        "@request.auth.role:length = 5",
        "@request.auth.nosuch:each != 'x'",
        "@request.auth.team.name:isset = true",
    ] {
        cases.push((
            Case {
                rule: rule.into(),
                method: "POST",
                writes: callers.iter().map(|c| (json!({}), *c)).collect(),
            },
            false,
        ));
    }
    // An update: the rule reads the ids sent, not the stored owner.
    cases.push((
        Case {
            rule: "@request.body.owner.role = 'admin'".into(),
            method: "PATCH",
            writes: [
                json!({"owner": ADMIN}),
                json!({"owner": PLAIN}),
                json!({"title": "t"}),
            ]
            .into_iter()
            .map(|b| (b, As::Plain))
            .collect(),
        },
        true,
    ));
    let Some(outcome) = compare(&cases).await else {
        return;
    };
    assert_agree(&cases, outcome);
}
