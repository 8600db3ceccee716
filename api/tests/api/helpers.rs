//! Spawning the API in-process against a fresh database per test.

use std::net::TcpListener;
use std::sync::OnceLock;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use shared::config::Config;
use tokio_postgres::NoTls;
use uptime_api::Application;
use uuid::Uuid;

/// Admin key every test app is started with.
pub const ADMIN_KEY: &str = "test-bootstrap-admin-key-0001";

/// Server-level connection used to create and drop databases.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://uptime:uptime@127.0.0.1:5432/postgres".to_owned())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A running API with its own database and Redis prefix.
pub struct TestApp {
    pub address: String,
    pub db_name: String,
    pub client: reqwest::Client,
    pub db: tokio_postgres::Client,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        // Async drop is not possible; a short-lived runtime on its own thread is.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .execute(
                            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                            &[],
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

/// Name of the migrated template, derived from the migrations' content so a
/// schema change makes a new one.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("migrations directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        let mut all = Vec::new();
        for file in files {
            all.extend(std::fs::read(&file).expect("migration file"));
        }
        let digest = shared::model::api_key::hash_key(&String::from_utf8_lossy(&all));
        format!("uptime_template_{}", hex_prefix(&digest))
    })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .expect("connect to TEST_DATABASE_URL");
    tokio::spawn(conn);
    client
}

/// Creates the template once per server (under an advisory lock, since test
/// binaries run in parallel), then clones it.
async fn fresh_database() -> String {
    let template = template_name();
    let admin = admin().await;
    admin
        .execute("SELECT pg_advisory_lock(7203991)", &[])
        .await
        .expect("template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("query pg_database")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        admin
            .execute(
                &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
                &[],
            )
            .await
            .expect("drop half-built template");
        admin
            .execute(&format!("CREATE DATABASE \"{building}\""), &[])
            .await
            .expect("create template");
        let config = test_config(&building, &[]);
        shared::db::migrate(&config)
            .await
            .expect("migrate template");
        admin
            .execute(
                &format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
                &[],
            )
            .await
            .expect("publish template");
    }
    admin
        .execute("SELECT pg_advisory_unlock(7203991)", &[])
        .await
        .expect("template unlock");
    let name = format!("uptime_test_{}", Uuid::new_v4().simple());
    admin
        .execute(
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
            &[],
        )
        .await
        .expect("clone template");
    name
}

/// The configuration of a test app, with `extra` variables on top.
pub fn test_config(db_name: &str, extra: &[(&str, &str)]) -> Config {
    let db_url = database_url(db_name);
    let prefix = format!("uptime:test:{db_name}:");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("APP_ENV", "test"),
        ("APP_PORT", "0"),
        ("DATABASE_URL", &db_url),
        ("DATABASE_POOL_SIZE", "4"),
        ("REDIS_KEY_PREFIX", &prefix),
        ("UPTIME_BOOTSTRAP_API_KEY", ADMIN_KEY),
        ("LOG_LEVEL", "warn"),
    ];
    let redis = redis_url();
    pairs.push(("REDIS_URL", &redis));
    pairs.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
    pairs.extend_from_slice(extra);
    Config::from_pairs(pairs).expect("valid test configuration")
}

/// Starts the API on a free port with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the API with extra configuration variables.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let db_name = fresh_database().await;
    let config = test_config(&db_name, extra);
    shared::telemetry::init_tracing(&config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::build_with_listener(config, listener).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    let (db, conn) = tokio_postgres::connect(&database_url(&db_name), NoTls)
        .await
        .expect("connect to test database");
    tokio::spawn(conn);
    TestApp {
        address,
        db_name,
        client: reqwest::Client::new(),
        db,
    }
}

impl TestApp {
    /// A request with the admin key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(ADMIN_KEY, method, path)
    }

    /// A request with the given key.
    pub fn request_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(key)
    }

    /// A request without any key.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// Creates a monitor and returns its JSON.
    pub async fn create_monitor(&self, body: Value) -> Value {
        let response = self.post("/api/v1/monitors", &body).await;
        let status = response.status();
        let json: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "create monitor failed: {json}");
        json
    }

    /// Creates an API key with `scopes` and returns the raw key.
    pub async fn create_key(&self, scopes: &[&str]) -> String {
        let response = self
            .post(
                "/api/v1/api-keys",
                &serde_json::json!({"name": "test", "scopes": scopes}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let json: Value = response.json().await.expect("json");
        json["key"].as_str().expect("key").to_owned()
    }

    /// Follows `nextCursor` from `base` to the last page and returns every item.
    pub async fn collect_pages(&self, base: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let separator = if base.contains('?') { '&' } else { '?' };
            let path = match &cursor {
                Some(c) => format!("{base}{separator}cursor={c}"),
                None => base.to_owned(),
            };
            let response = self.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            let page: Value = response.json().await.unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// Audit rows, oldest first, straight from the database.
    pub async fn audit_rows(&self) -> Vec<tokio_postgres::Row> {
        self.db
            .query("SELECT * FROM audit_logs ORDER BY id", &[])
            .await
            .expect("audit rows")
    }
}

/// Asserts an error answer: status, JSON code, and an X-Request-Id header.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    assert!(
        response.headers().contains_key("x-request-id"),
        "missing X-Request-Id"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "unexpected error code in {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message missing in {body}"
    );
    body
}

/// The fields named in a 422 answer.
pub fn invalid_fields(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|d| d["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The sibling README's create-monitor body, verbatim.
pub fn sibling_monitor() -> Value {
    serde_json::json!({
        "name": "Example Website",
        "type": "http",
        "target": "https://example.com",
        "method": "GET",
        "expectedStatus": 200,
        "timeoutSeconds": 10,
        "intervalSeconds": 60,
        "failureThreshold": 3,
        "enabled": true
    })
}
