use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn requests_without_a_key_get_401_json() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/monitors",
        "/api/v1/channels",
        "/api/v1/api-keys",
        "/api/v1/audit-logs",
    ] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, 401, "unauthorized").await;
    }
    let response = app
        .anonymous(Method::POST, "/api/v1/monitors")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn unknown_keys_and_malformed_headers_get_401() {
    let app = spawn_app().await;
    let response = app
        .request_as("upt_not-a-real-key", Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
    let response = app
        .anonymous(Method::GET, "/api/v1/monitors")
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
    let long = "x".repeat(10_000);
    let response = app
        .request_as(&long, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn bearer_and_x_api_key_headers_both_authenticate() {
    let app = spawn_app().await;
    let key = app.create_key(&["read"]).await;
    let response = app
        .request_as(&key, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .anonymous(Method::GET, "/api/v1/monitors")
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revoked_and_expired_keys_get_401() {
    let app = spawn_app().await;
    let created: serde_json::Value = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "short-lived", "expiresAt": "2099-01-01T00:00:00Z"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.request_as(key, Method::GET, "/api/v1/monitors")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    app.db
        .execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    // An expiry written behind the API's back is seen once the key's cache
    // entry ages out (revocation through the API evicts it at once).
    tokio::time::sleep(uptime_api::auth::KEY_CACHE_TTL + std::time::Duration::from_millis(200))
        .await;
    let response = app
        .request_as(key, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;

    let other = app.create_key(&["read"]).await;
    let listed: serde_json::Value = app.get("/api/v1/api-keys").await.json().await.unwrap();
    let other_id = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| other.starts_with(k["prefix"].as_str().unwrap()) && k["id"] != created["id"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/api/v1/api-keys/{other_id}"))
            .await
            .status(),
        204
    );
    let response = app
        .request_as(&other, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn read_scope_allows_gets_only() {
    let app = spawn_app().await;
    let key = app.create_key(&["read"]).await;
    let monitor = app.create_monitor(crate::helpers::sibling_monitor()).await;
    let id = monitor["id"].as_str().unwrap();
    for path in [
        "/api/v1/monitors".to_owned(),
        format!("/api/v1/monitors/{id}"),
        format!("/api/v1/monitors/{id}/results"),
        format!("/api/v1/monitors/{id}/incidents"),
        "/api/v1/channels".to_owned(),
    ] {
        let response = app
            .request_as(&key, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let writes = [
        (Method::POST, "/api/v1/monitors".to_owned()),
        (Method::PUT, format!("/api/v1/monitors/{id}")),
        (Method::PATCH, format!("/api/v1/monitors/{id}")),
        (Method::DELETE, format!("/api/v1/monitors/{id}")),
        (Method::POST, format!("/api/v1/monitors/{id}/pause")),
        (Method::POST, format!("/api/v1/monitors/{id}/resume")),
        (Method::POST, "/api/v1/channels".to_owned()),
    ];
    for (method, path) in writes {
        let response = app
            .request_as(&key, method.clone(), &path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let body = assert_error(response, 403, "forbidden").await;
        assert!(
            body["message"].as_str().unwrap().contains("write"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn write_scope_cannot_manage_keys_or_read_the_audit_log() {
    let app = spawn_app().await;
    let key = app.create_key(&["read", "write"]).await;
    let response = app
        .request_as(&key, Method::POST, "/api/v1/monitors")
        .json(&crate::helpers::sibling_monitor())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    for (method, path) in [
        (Method::GET, "/api/v1/api-keys"),
        (Method::POST, "/api/v1/api-keys"),
        (Method::GET, "/api/v1/audit-logs"),
        (
            Method::DELETE,
            "/api/v1/api-keys/01a1fdaf-bee6-773d-88b9-9dbfc7d87f51",
        ),
    ] {
        let response = app
            .request_as(&key, method, path)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn write_scope_without_read_cannot_list() {
    let app = spawn_app().await;
    let key = app.create_key(&["write"]).await;
    let response = app
        .request_as(&key, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
}

#[tokio::test]
async fn admin_scope_grants_everything() {
    let app = spawn_app().await;
    let key = app.create_key(&["admin"]).await;
    for path in ["/api/v1/monitors", "/api/v1/api-keys", "/api/v1/audit-logs"] {
        let response = app
            .request_as(&key, Method::GET, path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn key_use_is_recorded() {
    let app = spawn_app().await;
    let key = app.create_key(&["read"]).await;
    app.request_as(&key, Method::GET, "/api/v1/monitors")
        .send()
        .await
        .unwrap();
    for _ in 0..50 {
        let row = app
            .db
            .query_one(
                "SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("last_used_at was never written");
}
