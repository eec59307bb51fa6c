//! The test harness: a real server per test on a fresh database, PostgreSQL or SQLite, copied
//! from a migrated and seeded template.

use std::{
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use annals::{config::Config, db::StatementCounter, startup::App};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Where PostgreSQL test databases are created unless `ANNALS_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The two backends every test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite in a temporary file.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A test body: gets a running app, panics on failure.
pub type TestFn = fn(TestApp) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    /// The URL the app should use.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Whether the harness runs under CI (`CI=true`), where a test that cannot run fails
/// instead of being skipped. With [`postgres_url`], the only environment the tests read: the
/// apps and child processes they start never see it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The PostgreSQL server URL tests use (`ANNALS_TEST_POSTGRES_URL`), or `None` if disabled.
pub fn postgres_url() -> Option<String> {
    match std::env::var("ANNALS_TEST_POSTGRES_URL") {
        Ok(url) if url == "off" || url.is_empty() => None,
        Ok(url) => Some(url),
        Err(_) => Some(DEFAULT_POSTGRES_URL.to_owned()),
    }
}

/// Whether the PostgreSQL server answers.
pub fn postgres_available(url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let conn = sea_orm::Database::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        conn.close().await.map_err(|e| e.to_string())
    })
}

impl TestDb {
    /// Creates an empty database (not migrated): for tests of migrating and seeding.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("annals.db").display()
                );
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let server = postgres_url().expect("PostgreSQL tests need a server");
                Self::create_postgres(&server, "").await
            }
        }
    }
}

/// A hash of everything that decides what a migrated, seeded database holds: the migrations,
/// the seed documents and the library's source (which imports them). Templates are named by
/// it, so a change to any of these builds a new one and an unchanged tree reuses the last.
fn template_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        use sha2::Digest;
        fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, files);
                } else {
                    files.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["migrations/src", "seeds", "src"] {
            walk(&root.join(dir), &mut files);
        }
        files.sort();
        let mut hash = sha2::Sha256::new();
        for file in files {
            hash.update(
                file.strip_prefix(root)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hash.update(std::fs::read(&file).unwrap_or_default());
        }
        hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// Migrates and seeds the database at `url` as the server does on its first start.
async fn migrate_and_seed(url: &str) {
    let maintenance = annals::db::Db::connect_for_maintenance(&Config::defaults(url))
        .await
        .unwrap_or_else(|e| panic!("connect to the template: {}", e.message()));
    annals::store::prepare(&maintenance.conn, true)
        .await
        .unwrap_or_else(|e| panic!("migrate and seed the template: {}", e.message()));
    maintenance.close().await;
}

/// Runs `work` to completion on a runtime of its own (on its own thread, so it can be called
/// from inside a test's runtime).
fn on_own_runtime<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work)
    })
    .join()
    .expect("template setup panicked")
}

/// The migrated, seeded SQLite file every seeded test database is copied from: built once
/// (under a temporary name, then renamed, so concurrent test processes never see half of one)
/// and kept in the target directory for later runs.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("annals_test_template_{}.db", template_key()));
        if path.exists() {
            return path;
        }
        let building = tempfile::tempdir_in(dir).expect("temp dir for the template");
        let file = building.path().join("template.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        on_own_runtime(async move { migrate_and_seed(&url).await });
        std::fs::rename(&file, &path).expect("move the template into place");
        path
    })
}

/// The name of the migrated, seeded PostgreSQL database every seeded test database is
/// created from (`CREATE DATABASE ... TEMPLATE`). Built once under a name of its own and
/// renamed; when another test process renamed its copy first, this one is dropped.
fn postgres_template(server: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let server = server.to_owned();
        let name = format!("annals_test_template_{}", template_key());
        on_own_runtime(async move {
            use sea_orm::ConnectionTrait;
            let admin = sea_orm::Database::connect(&server)
                .await
                .expect("connect to PostgreSQL");
            let exists = admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
                ))
                .await
                .expect("look for the template")
                .is_some();
            if !exists {
                let building = format!("{name}_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {building}"))
                    .await
                    .expect("create the template");
                let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
                migrate_and_seed(&format!("{base}/{building}")).await;
                if admin
                    .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .await
                    .is_err()
                {
                    // Another process got there first: use its template.
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
                        ))
                        .await;
                }
            }
            admin.close().await.ok();
            name
        })
    })
}

impl TestDb {
    /// Creates a database that is already migrated and seeded, as the server leaves an empty
    /// one on its first start: a copy of a template built once per source tree (PostgreSQL
    /// `CREATE DATABASE ... TEMPLATE`, SQLite a file copy), so no test re-runs the migrations.
    pub async fn seeded(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let file = dir.path().join("annals.db");
                std::fs::copy(sqlite_template(), &file).expect("copy the template");
                Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let server = postgres_url().expect("PostgreSQL tests need a server");
                let template = postgres_template(&server);
                Self::create_postgres(&server, &format!(" TEMPLATE {template}")).await
            }
        }
    }

    /// Creates `annals_test_...` on `server` with `CREATE DATABASE name{options}`.
    async fn create_postgres(server: &str, options: &str) -> Self {
        use sea_orm::ConnectionTrait;
        let name = format!(
            "annals_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        );
        let admin = sea_orm::Database::connect(server)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}{options}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
        Self {
            url: format!("{base}/{name}"),
            _dir: None,
            postgres: Some((server.to_owned(), name)),
        }
    }

    /// A database someone else made and removes (a test's own cluster): used as it is.
    pub fn existing(url: String) -> Self {
        Self {
            url,
            _dir: None,
            postgres: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Best effort, on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Runtime::new() else {
                    return;
                };
                runtime.block_on(async move {
                    use sea_orm::ConnectionTrait;
                    if let Ok(admin) = sea_orm::Database::connect(&server).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running server on a fresh, seeded database.
pub struct TestApp {
    /// Which backend this app runs on.
    pub backend: Backend,
    /// The server's address.
    pub addr: SocketAddr,
    /// The separate `/metrics` listener's address, when configured.
    pub metrics_addr: Option<SocketAddr>,
    /// The database URL (for running the CLI against the same database).
    pub database_url: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    statements: StatementCounter,
    /// The app's own pool, for assertions on stored rows.
    pub db: sea_orm::DatabaseConnection,
    /// The app's event bus (to publish in-process changes and count subscribers).
    pub events: annals::events::EventBus,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _db: TestDb,
}

/// `GET /graphql` with `query` and `variables` in the URL and `headers` added.
pub async fn get_graphql(
    app: &TestApp,
    query: &str,
    variables: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.client.get(app.url("/graphql")).query(&[
        ("query", query.to_owned()),
        ("variables", variables.to_string()),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

impl TestApp {
    /// Starts a server with default settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server after `configure` adjusts the settings.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on(backend, TestDb::seeded(backend).await, configure).await
    }

    /// Starts a server on an existing test database (migrated and seeded on start as usual).
    pub async fn spawn_on(
        backend: Backend,
        test_db: TestDb,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::defaults(test_db.url.clone());
        config.listen = "127.0.0.1:0".parse().unwrap();
        // Tests written before the response cache write through plain SQL and read at once;
        // the caching tests turn it on.
        config.caching.response_cache_bytes = 0;
        config.editor_tokens = Some(annals::auth::EditorTokens::parse_list(&format!(
            "{EDITOR}:{TOKEN}"
        )));
        configure(&mut config);
        let app = App::build(config)
            .await
            .unwrap_or_else(|e| panic!("app failed to start: {}", e.message()));
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let statements = app.statements();
        let db = app.db.conn.clone();
        let events = app.events.clone();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run(async {
            let _ = rx.await;
        }));
        Self {
            backend,
            addr,
            metrics_addr,
            database_url: test_db.url.clone(),
            client: reqwest::Client::new(),
            statements,
            db,
            events,
            shutdown: Some(tx),
            server: Some(server),
            _db: test_db,
        }
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a query with variables; returns the parsed JSON body (any status).
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.post_json(&json!({ "query": query, "variables": variables }))
            .await
            .1
    }

    /// POSTs a query and asserts it succeeded without errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.query(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// POSTs a JSON body as `application/json`; returns status and parsed body.
    pub async fn post_json(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(body)
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a query with an `Authorization` header of `authorization` (none when `None`).
    pub async fn query_as(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("POST /graphql");
        response.json().await.unwrap_or(Value::Null)
    }

    /// POSTs a mutation with the test editor's token; returns the parsed body.
    pub async fn mutate(&self, query: &str, variables: Value) -> Value {
        self.query_as(Some(&format!("Bearer {TOKEN}")), query, variables)
            .await
    }

    /// POSTs a mutation with the test editor's token and asserts it succeeded; returns `data`.
    pub async fn mutate_ok(&self, query: &str, variables: Value) -> Value {
        let body = self.mutate(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Everything a failed mutation must leave alone: row counts of every content table, and
    /// every article's version and `updated_at`, slugs and positions.
    pub async fn snapshot(&self) -> Vec<String> {
        use sea_orm::ConnectionTrait;
        let mut out = Vec::new();
        for table in CONTENT_TABLES {
            out.push(format!("{table}={}", self.count(table).await));
        }
        for sql in [
            "SELECT id || ':' || slug || ':' || title || ':' || version || ':' || CAST(updated_at AS TEXT) AS v FROM articles ORDER BY id",
            "SELECT id || ':' || slug || ':' || position || ':' || heading AS v FROM sections ORDER BY id",
            "SELECT id || ':' || slug || ':' || position || ':' || title AS v FROM reforms ORDER BY id",
            "SELECT id || ':' || slug || ':' || position || ':' || title AS v FROM reactions ORDER BY id",
            "SELECT id || ':' || slug || ':' || name AS v FROM topics ORDER BY id",
        ] {
            let rows = self
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    self.db.get_database_backend(),
                    sql,
                ))
                .await
                .expect("snapshot query");
            for row in rows {
                out.push(row.try_get::<String>("", "v").expect("snapshot value"));
            }
        }
        out
    }

    /// The seed article: id, version, and its sections with their reforms and reactions.
    pub async fn seed_article(&self) -> Value {
        self.data(
            "{ article(slug: \"de-stalinization\") { id version updatedAt \
               sections { id slug position heading reforms { id slug position } reactions { id slug position } } \
               topics { id slug } } }",
            json!({}),
        )
        .await["article"]
            .clone()
    }

    /// Asserts `body` failed with `code` (and, when given, `extensions.field`).
    pub fn assert_error(body: &Value, code: &str, field: Option<&str>) {
        assert_eq!(Self::error_code(body), code, "{body:#}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
        }
    }

    /// The first error's `extensions.code` of a response body.
    pub fn error_code(body: &Value) -> String {
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `/metrics` text (the recorder is one per test process: every server's series).
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .unwrap_or_default()
    }

    /// Statements this app's pool has sent so far.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    /// POSTs a query (asserting it succeeded) and returns its `data` with the texts of the
    /// statements the pool sent meanwhile (at most the last 256), oldest first.
    pub async fn data_and_sql(&self, query: &str, variables: Value) -> (Value, Vec<String>) {
        self.statements.record();
        let data = self.data(query, variables).await;
        (data, self.statements.recorded())
    }

    /// Asserts the server still answers /healthz.
    pub async fn assert_healthy(&self) {
        let response = self
            .client
            .get(self.url("/healthz"))
            .send()
            .await
            .expect("GET /healthz");
        assert_eq!(response.status(), 200);
    }

    /// Runs the `annals` binary against this app's database; returns (exit ok, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        run_cli(&self.database_url, args)
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The `annals` binary with an empty environment: a child process sees only the variables a
/// test sets, never the runner's `ANNALS_*`, `DATABASE_URL`, `OTEL_*` or `RUST_BACKTRACE`.
pub fn annals_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_annals"));
    command.env_clear();
    command
}

/// An `annals serve` child process on a free port of 127.0.0.1: an empty environment but for
/// `DATABASE_URL`, `ANNALS_LISTEN`, `ANNALS_LOG=warn` and the test's `env` (which may
/// override them). Killed when dropped.
pub struct ServeProcess {
    child: Option<std::process::Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The port it listens on.
    pub port: u16,
}

impl ServeProcess {
    /// Starts the process, its standard error going to `stderr` (piped, for tests that read
    /// the logs), without waiting for it to come up.
    pub fn spawn(database_url: &str, env: &[(&str, &str)], stderr: std::process::Stdio) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut command = annals_command();
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("ANNALS_LISTEN", &addr)
            .env("ANNALS_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start annals serve");
        Self {
            child: Some(child),
            addr,
            port,
        }
    }

    /// Starts the process on the test's database and waits for it to come up.
    pub async fn start(app: &TestApp, env: &[(&str, &str)], stderr: std::process::Stdio) -> Self {
        let server = Self::spawn(&app.database_url, env, stderr);
        server.wait_up(&app.client).await;
        server
    }

    /// Waits until `/healthz` answers 200, for 30 s at most. The probe names itself
    /// (`X-Request-Id: startup-probe`) so tests reading the access log can tell it apart.
    pub async fn wait_up(&self, client: &reqwest::Client) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let up = client
                .get(self.url("/healthz"))
                .header("x-request-id", "startup-probe")
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if up {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "annals serve did not come up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The process, while it runs.
    pub fn child(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("a running server")
    }

    /// Sends the process `signal` (e.g. `TERM`).
    pub fn signal(&mut self, signal: &str) {
        let pid = self.child().id().to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// The process, no longer killed on drop (for a test that waits for it elsewhere).
    pub fn into_child(mut self) -> std::process::Child {
        self.child.take().expect("a running server")
    }

    /// Stops the process with SIGTERM, waits for it and checks it exited cleanly; its
    /// standard error (piped at [`Self::spawn`]).
    pub fn stop(mut self) -> String {
        self.signal("TERM");
        let output = self.into_child().wait_with_output().expect("server output");
        assert!(output.status.success(), "exit status {:?}", output.status);
        String::from_utf8(output.stderr).expect("UTF-8 logs")
    }

    /// Waits for the process to exit, at most `limit`; its exit status.
    pub async fn exited(&mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child().try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the `annals` binary with `DATABASE_URL`; returns (exit ok, stdout, stderr).
pub fn run_cli(database_url: &str, args: &[&str]) -> (bool, String, String) {
    run_cli_with_input(database_url, args, None)
}

/// Runs the `annals` binary with `DATABASE_URL` and, when given, `input` on standard input.
pub fn run_cli_with_input(
    database_url: &str,
    args: &[&str],
    input: Option<&[u8]>,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = annals_command()
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("ANNALS_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run annals");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        stdin.write_all(input).expect("write stdin");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("run annals");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The editor token every test app accepts.
pub const TOKEN: &str = "test-token-0123456789";
/// The name that token is configured with.
pub const EDITOR: &str = "tester";

/// Every table a content change can touch.
pub const CONTENT_TABLES: [&str; 9] = [
    "articles",
    "sections",
    "reforms",
    "reactions",
    "topics",
    "article_topics",
    "reform_topics",
    "reaction_topics",
    "revisions",
];

/// The seed document, as shipped.
pub const SEED: &str = include_str!("../../seeds/de-stalinization.txt");

/// `packed` decoded from the content coding `coding` (`gzip`, `br` or `zstd`).
pub fn decode(coding: &str, packed: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut unpacked = Vec::new();
    match coding {
        "gzip" => {
            flate2::read::GzDecoder::new(packed)
                .read_to_end(&mut unpacked)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(packed, 4096)
                .read_to_end(&mut unpacked)
                .unwrap();
        }
        "zstd" => unpacked = zstd::decode_all(packed).unwrap(),
        other => panic!("unknown coding {other}"),
    }
    unpacked
}
