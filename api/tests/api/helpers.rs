//! Spawning the API in-process against a fresh database per test.

use std::net::TcpListener;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio_postgres::NoTls;
use uptime_api::Application;

pub use shared::testing::{admin_url, test_config, ADMIN_KEY};
use shared::testing::{database_url, fresh_database};

/// A running API with its own database and Redis prefix.
pub struct TestApp {
    pub address: String,
    pub db_name: String,
    pub client: reqwest::Client,
    pub db: tokio_postgres::Client,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        shared::testing::drop_database(&self.db_name);
    }
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
