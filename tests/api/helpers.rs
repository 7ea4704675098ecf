//! The test harness: `spawn_app()` builds the app exactly as `cairn serve`
//! does (same `App::build`), on 127.0.0.1 port 0 with its own temporary
//! data folder, and returns a client pointed at it.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use cairn::{App, AppState, Config};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::oneshot,
    task::JoinHandle,
};

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: std::sync::Arc<AppState>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap(), tweak).await
}

/// `spawn_app_with` on an existing data folder: a restart, given the
/// folder `TestApp::shutdown` handed back.
pub async fn spawn_app_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    // `CAIRN_TEST_LOG=1 cargo test …` shows the server's log lines.
    if std::env::var_os("CAIRN_TEST_LOG").is_some() {
        cairn::telemetry::init(cairn::config::LogFormat::Pretty, true);
    }
    let mut config = Config::for_dir(dir.path());
    tweak(&mut config);
    let app = App::build(config).await.expect("the app builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    // Tests sign in far faster than people do; rate limiting has its own
    // tests (tests/api/rate_limit.rs), which lift this exclusion.
    let mut settings = (*state.settings.get()).clone();
    settings.rate_limits.excluded_ips = vec!["127.0.0.1".into()];
    state.settings.replace(&state.store.data, settings).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        state,
        dir,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Changes the live settings (and stores them), as a superuser's
    /// `PATCH /api/settings` would.
    pub async fn change_settings(&self, change: impl FnOnce(&mut cairn::settings::Settings)) {
        let mut settings = (*self.state.settings.get()).clone();
        change(&mut settings);
        self.state
            .settings
            .replace(&self.state.store.data, settings)
            .await
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a superuser (once) and returns a token for it.
    pub async fn superuser_token(&self) -> String {
        let _ = cairn::auth::superusers::save(
            &self.state.store.data,
            &self.state.hasher,
            cairn::auth::superusers::Credentials::parse("root@example.com", "root-pass-123").unwrap(),
            cairn::auth::superusers::SaveMode::Upsert,
        )
        .await
        .unwrap();
        let resp = self
            .client
            .post(self.url("/api/collections/_superusers/auth-with-password"))
            .json(&serde_json::json!({"identity": "root@example.com", "password": "root-pass-123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        json(resp).await["token"].as_str().unwrap().to_owned()
    }

    /// Signs up a `users` account (the default create rule is open) and
    /// signs it in: (record id, token).
    pub async fn sign_up(&self, email: &str, password: &str) -> (String, String) {
        let user = serde_json::json!({"email": email, "password": password, "passwordConfirm": password});
        let created = self
            .call("POST", "/api/collections/users/records", None, Some(user))
            .await;
        assert_eq!(created.status(), 200);
        let id = json(created).await["id"].as_str().unwrap().to_owned();
        let session = self.sign_in("users", email, password).await;
        assert_eq!(session.status(), 200);
        (id, json(session).await["token"].as_str().unwrap().to_owned())
    }

    /// Signs in to auth collection `collection` with a password: the answer
    /// as it came.
    pub async fn sign_in(&self, collection: &str, identity: &str, password: &str) -> reqwest::Response {
        let login = serde_json::json!({"identity": identity, "password": password});
        let path = format!("/api/collections/{collection}/auth-with-password");
        self.call("POST", &path, None, Some(login)).await
    }

    /// POSTs `body` to `path` with `token`, requires a 200, and returns the
    /// answer: the setup step of most tests.
    pub async fn post_ok(&self, token: &str, path: &str, body: Value) -> Value {
        let resp = self.call("POST", path, Some(token), Some(body)).await;
        let status = resp.status();
        let answer = json(resp).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    /// Sends `method path` with an optional JSON body and token.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(token) = token {
            req = req.header("authorization", token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Stops the server gracefully, waits until it has, and hands back the
    /// data folder for a restart.
    pub async fn shutdown(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        self.dir
    }
}

/// Reads a response body as JSON, failing the test with the body if not.
pub async fn json(resp: reqwest::Response) -> Value {
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A filter (or any query value) percent-encoded for a query string:
/// `format!("?filter={}", filter("title = 'x'"))`. Everything but letters,
/// digits and `-._~` is encoded, so `=`, `&`, `|`, `+` and `#` in an
/// expression reach the server as written.
/// The codes of an error `data` tree, its messages left out (each
/// server words its own): for comparing refusals with PocketBase's.
pub fn error_codes(data: &Value) -> Value {
    match data {
        Value::Object(m) if m.contains_key("code") && m.contains_key("message") => m["code"].clone(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), error_codes(v))).collect(),
        other => other.clone(),
    }
}

pub fn filter(expr: &str) -> String {
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(expr, VALUE).to_string()
}

/// How many files are under `dir`, at any depth (0 if it does not exist).
pub fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    count_files(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

/// Asserts PocketBase's error envelope with this status.
pub async fn assert_envelope(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "errors are JSON"
    );
    let body = json(resp).await;
    assert_eq!(body["status"], status, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["data"].is_object(), "data is always an object: {body}");
    body
}

/// The `cairn` binary this test run built.
pub fn cairn_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cairn"))
}

/// Runs a `cairn` command to completion: (exit code, stdout, stderr).
pub async fn run_cairn(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(cairn_bin())
            .args(args)
            .envs(envs.iter().copied())
            .output(),
    )
    .await
    .expect("cairn finished in time")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `cairn serve` process on a free port, with what it printed on start.
pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// Where it serves metrics (`--metrics`), if it does.
    pub metrics: Option<SocketAddr>,
    /// The rest of its standard output (logs go to standard error).
    pub stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

/// Starts `cairn serve` on a free port and waits for its start banner.
///
/// Its standard error (the log) goes to `serve_log_path(dir)`.
pub async fn spawn_serve(dir: &std::path::Path, extra: &[&str]) -> ServeProcess {
    spawn_serve_env(dir, extra, &[]).await
}

/// `spawn_serve` with these environment variables set for the server.
pub async fn spawn_serve_env(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> ServeProcess {
    let log = std::fs::File::create(serve_log_path(dir)).unwrap();
    let mut child = Command::new(cairn_bin())
        .arg("serve")
        .args(["--http", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    let mut metrics = None;
    let read = async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Server started at http://") {
                addr = Some(rest.trim().parse::<SocketAddr>().unwrap());
            }
            if let Some(rest) = line.strip_prefix("├─ Metrics:   http://") {
                metrics = Some(
                    rest.trim()
                        .trim_end_matches("/metrics")
                        .parse::<SocketAddr>()
                        .unwrap(),
                );
            }
            if line.starts_with('└') {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("serve started");
    ServeProcess {
        child,
        addr: addr.expect("address printed"),
        metrics,
        stdout,
    }
}

/// A real `cairn serve` on data folder `dir` with `flags`, and the token
/// of its superuser (made if it is not there yet).
pub async fn serve(dir: &std::path::Path, flags: &[&str]) -> (ServeProcess, String) {
    let d = dir.to_str().unwrap();
    let upsert = [
        "superuser",
        "upsert",
        "root@example.com",
        "root-pass-123",
        "--dir",
        d,
    ];
    let (code, _, err) = run_cairn(&upsert, &[]).await;
    assert_eq!(code, 0, "{err}");
    let server = spawn_serve(dir, flags).await;
    let login = serde_json::json!({"identity": "root@example.com", "password": "root-pass-123"});
    let path = "/api/collections/_superusers/auth-with-password";
    let token = serve_call(&server, "POST", path, None, Some(login)).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (server, token)
}

/// A request to a `cairn serve` process that must succeed; its JSON answer.
pub async fn serve_call(
    server: &ServeProcess,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), format!("http://{}{path}", server.addr));
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{method} {path}: {}", resp.status());
    json(resp).await
}

/// Where `spawn_serve` writes the server's log: beside the data folder.
pub fn serve_log_path(dir: &std::path::Path) -> PathBuf {
    dir.with_extension("serve.log")
}

impl ServeProcess {
    /// The next line the server prints, if one comes within a few seconds.
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(5), self.stdout.next_line())
            .await
            .ok()?
            .ok()?
    }

    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub async fn wait_exit(&mut self, limit: Duration) -> i32 {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .expect("the server exited in time")
            .unwrap()
            .code()
            .unwrap_or(-1)
    }
}
