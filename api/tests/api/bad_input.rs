use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, sibling_monitor, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in ["{", "{\"name\": }", "not json", ""] {
        let response = app
            .request(Method::POST, "/api/v1/monitors")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "malformed_json").await;
    }
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .request(Method::POST, "/api/v1/channels")
            .body(sibling_monitor().to_string());
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        assert_error(request.send().await.unwrap(), 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app_with(&[("MAX_REQUEST_BODY_BYTES", "2048")]).await;
    let mut body = sibling_monitor();
    body["name"] = json!("x".repeat(4096));
    assert_error(
        app.post("/api/v1/monitors", &body).await,
        413,
        "payload_too_large",
    )
    .await;
    // Without a Content-Length the limit still holds while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(b"{\"name\":\"".to_vec()),
        Ok(vec![b'a'; 8192]),
        Ok(b"\"}".to_vec()),
    ];
    let stream = futures_util::stream::iter(chunks);
    let response = app
        .request(Method::POST, "/api/v1/monitors")
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn non_object_bodies_are_422() {
    let app = spawn_app().await;
    for body in [json!([1, 2]), json!("monitor"), json!(42), json!(null)] {
        assert_error(
            app.post("/api/v1/monitors", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_error(
            app.post("/api/v1/channels", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_error(
            app.post("/api/v1/api-keys", &body).await,
            422,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn bad_ids_cursors_and_query_strings_are_4xx() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/v1/monitors/not-a-uuid").await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/monitors/{}", uuid::Uuid::now_v7()))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?limit=0").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?limit=501").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?limit=abc").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?cursor=%%%").await,
        400,
        "invalid_cursor",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?cursor=bm90LWEtdXVpZA").await,
        400,
        "invalid_cursor",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?type=smtp").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?status=sleepy").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?enabled=maybe").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/monitors?colour=blue").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/channels?type=pager").await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn hostile_strings_never_cause_a_500() {
    let app = spawn_app().await;
    let nasty = [
        "'; DROP TABLE monitors; --".to_owned(),
        "\u{0}".to_owned(),
        "%_\\".to_owned(),
        "😀".repeat(300),
        "http://[::1".to_owned(),
        "http://exa mple.com".to_owned(),
    ];
    for text in &nasty {
        let text = text.as_str();
        for body in [
            json!({"name": text, "type": "http", "target": text}),
            json!({"name": "n", "type": text, "target": "https://example.com"}),
            json!({"name": "n", "type": "tcp", "target": text}),
            json!({"name": "n", "type": "dns", "target": text, "dnsResolver": text}),
            json!({"name": "n", "type": "http", "target": "https://example.com", "headers": {text: text}}),
        ] {
            let status = app.post("/api/v1/monitors", &body).await.status().as_u16();
            assert!(status == 201 || status == 422, "{body} gave {status}");
        }
        let status = app
            .request(Method::GET, "/api/v1/monitors")
            .query(&[("search", text), ("tag", text)])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(
            status == 200 || status == 400,
            "search {text:?} gave {status}"
        );
    }
    let count: i64 = app
        .db
        .query_one("SELECT count(*) FROM monitors", &[])
        .await
        .unwrap()
        .get(0);
    assert!(count >= 0);
}

#[tokio::test]
async fn times_postgres_cannot_hold_are_400_naming_the_parameter() {
    use base64::Engine;
    let app = spawn_app().await;
    let monitor = app.create_monitor(sibling_monitor()).await;
    let id = monitor["id"].as_str().unwrap();
    for (path, parameter) in [
        ("/api/v1/incidents?from=-5000-01-01T00:00:00Z", "from"),
        ("/api/v1/incidents?to=-5000-01-01T00:00:00Z", "to"),
        ("/api/v1/incidents?from=0000-06-01T00:00:00Z", "from"),
        ("/api/v1/incidents?to=%2B20000-01-01T00:00:00Z", "to"),
        ("/api/v1/audit-logs?from=-5000-01-01T00:00:00Z", "from"),
        ("/api/v1/audit-logs?to=-0001-01-01T00:00:00Z", "to"),
    ] {
        let body = assert_error(app.get(path).await, 400, "invalid_query").await;
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(parameter), "{path}: {message}");
    }
    for time in ["-5000-01-01T00:00:00Z", "+200000-01-01T00:00:00Z"] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(time);
        let path = format!("/api/v1/monitors/{id}/results?cursor={cursor}");
        assert_error(app.get(&path).await, 400, "invalid_cursor").await;
    }
    // The edges of the range are answered normally.
    for path in [
        "/api/v1/incidents?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
        "/api/v1/audit-logs?from=0001-01-01T00:00:00Z",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}
