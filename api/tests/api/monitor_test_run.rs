//! `POST /api/v1/monitors/test`: a monitor body run once, validated like a
//! new monitor, checked by the same engine, and stored nowhere.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::checks::target;
use crate::helpers::{assert_error, invalid_fields, spawn_app, spawn_app_with, TestApp};

const PRIVATE_OK: &[(&str, &str)] = &[("ALLOW_PRIVATE_TARGETS", "true")];
const TEST_RUN: &str = "/api/v1/monitors/test";

/// How many rows `table` holds.
async fn rows(app: &TestApp, table: &str) -> i64 {
    app.db
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_test_run_checks_an_http_target_once_with_its_timings_and_stores_nothing() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::ZERO).await;
    let response = app
        .post(
            TEST_RUN,
            &json!({"name": "Local", "type": "http", "target": url, "timeoutSeconds": 5,
                    "headers": {"X-Probe": "dashboard"}, "tags": ["prod"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "up", "{body}");
    assert_eq!(body["statusCode"], 200);
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["type"], "http");
    assert_eq!(body["target"], url);
    assert_eq!(body["timeoutSeconds"], 5);
    assert!(body["checkedAt"].is_string());
    let timings = &body["timings"];
    assert!(timings["connectMs"].as_f64().unwrap() > 0.0, "{body}");
    assert!(timings["ttfbMs"].as_f64().unwrap() > 0.0, "{body}");
    assert!(timings["totalMs"].as_f64().unwrap() > 0.0, "{body}");

    for table in ["monitors", "check_results", "incidents", "audit_logs"] {
        assert_eq!(rows(&app, table).await, 0, "{table} gained a row");
    }
}

#[tokio::test]
async fn a_test_run_reports_a_refused_port_in_words() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let closed = crate::support::closed_port().await;
    let response = app
        .post(
            TEST_RUN,
            &json!({"name": "Database", "type": "tcp", "target": closed.to_string()}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["error"], format!("connection refused by {closed}"));
    assert_eq!(body["details"]["errorKind"], "connection_refused");
    assert_eq!(body["type"], "tcp");
    assert_eq!(rows(&app, "monitors").await, 0);
}

#[tokio::test]
async fn a_test_run_refuses_a_bad_body_exactly_as_creating_the_monitor_would() {
    let app = spawn_app_with(PRIVATE_OK).await;
    for body in [
        json!({"name": "", "type": "http", "target": "not a url", "intervalSeconds": 0,
               "keyword": "ok", "dnsResolver": "1.1.1.1"}),
        json!({"name": "Keyword", "type": "keyword", "target": "https://example.com",
               "method": "GET", "body": "x", "expectedStatus": "7xx",
               "headers": {"bad name": "x"}}),
        json!({"name": "Db", "type": "tcp", "target": "db.example.com", "id": "x", "colour": 1}),
        json!({"type": "gopher"}),
    ] {
        let tested = assert_error(app.post(TEST_RUN, &body).await, 422, "validation_failed").await;
        let created = assert_error(
            app.post("/api/v1/monitors", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(!invalid_fields(&tested).is_empty());
        assert_eq!(tested["details"], created["details"], "for {body}");
    }
    // Private targets follow the same rules as monitors.
    let strict = spawn_app().await;
    let url = target(Duration::ZERO).await;
    let error = assert_error(
        strict
            .post(
                TEST_RUN,
                &json!({"name": "Local", "type": "http", "target": url}),
            )
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["target"]);
    assert_eq!(rows(&app, "monitors").await, 0);
}

#[tokio::test]
async fn a_test_run_needs_the_write_scope() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::ZERO).await;
    let body = json!({"name": "Local", "type": "http", "target": url});
    let reader = app.create_key(&["read"]).await;
    let response = app
        .request_as(&reader, Method::POST, TEST_RUN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
    let response = app
        .anonymous(Method::POST, TEST_RUN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
    let writer = app.create_key(&["write"]).await;
    let response = app
        .request_as(&writer, Method::POST, TEST_RUN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_test_route_leaves_the_monitor_routes_as_they_were() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::ZERO).await;
    let monitor = app
        .create_monitor(json!({"name": "Local", "type": "http", "target": url}))
        .await;
    let path = format!("/api/v1/monitors/{}", monitor["id"].as_str().unwrap());
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["id"], monitor["id"]);
    // Only POST is taken: other methods on /monitors/test are an unknown monitor.
    assert_error(app.get(TEST_RUN).await, 404, "not_found").await;
    assert_error(
        app.put(
            TEST_RUN,
            &json!({"name": "x", "type": "tcp", "target": "a:1"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(TEST_RUN).await, 404, "not_found").await;
    // A real monitor takes no POST, as before.
    assert_error(app.post(&path, &json!({})).await, 405, "method_not_allowed").await;
    assert_eq!(rows(&app, "monitors").await, 1);
}
