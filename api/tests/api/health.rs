use reqwest::Method;
use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_reports_each_dependency_up() {
    let app = spawn_app().await;
    for path in ["/health", "/health-check"] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["checks"]["postgres"]["status"], "up");
        assert_eq!(body["checks"]["redis"]["status"], "up");
    }
}

#[tokio::test]
async fn health_names_the_dependency_that_is_down() {
    // Nothing listens on port 1.
    let app = spawn_app_with(&[("REDIS_URL", "redis://127.0.0.1:1/0")]).await;
    let response = app.anonymous(Method::GET, "/health").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    assert!(body["message"].as_str().unwrap().contains("redis"));
}

#[tokio::test]
async fn request_id_is_generated_or_echoed() {
    let app = spawn_app().await;
    let response = app
        .anonymous(Method::GET, "/health")
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let response = app
        .anonymous(Method::GET, "/health")
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/nothing-here").await, 404, "not_found").await;
    let response = app.request(Method::PUT, "/health").send().await.unwrap();
    assert_error(response, 405, "method_not_allowed").await;
    let response = app
        .request(Method::DELETE, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn metrics_expose_requests_by_route_template_and_pool_gauges() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/monitors/{id}")).await;
    let response = app.anonymous(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("uptime_api_http_requests_total{method=\"GET\",route=\"/api/v1/monitors/{id}\",status=\"404\"}"), "{text}");
    assert!(text.contains("uptime_api_http_request_duration_seconds_bucket"));
    assert!(text.contains("uptime_db_pool_connections{state=\"idle\"}"));
    assert!(
        !text.contains(&id.to_string()),
        "raw paths must not become labels"
    );
}
