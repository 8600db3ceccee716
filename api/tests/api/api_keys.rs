use reqwest::Method;
use serde_json::{json, Value};
use shared::model::api_key::hash_key;

use crate::helpers::{assert_error, invalid_fields, spawn_app};

#[tokio::test]
async fn sibling_create_key_example_returns_the_raw_key_once() {
    let app = spawn_app().await;
    let response = app
        .post("/api/v1/api-keys", &json!({"name": "local dev"}))
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("upt_"));
    assert_eq!(created["name"], "local dev");
    assert_eq!(created["scopes"], json!(["read", "write"]));
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    let id = created["id"].as_str().unwrap();
    let fetched: Value = app
        .get(&format!("/api/v1/api-keys/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(fetched.get("key").is_none());
    let listed: Value = app.get("/api/v1/api-keys").await.json().await.unwrap();
    assert!(!listed.to_string().contains(key));
    assert_eq!(listed["items"][0]["id"], created["id"]);
    assert!(listed["items"][0].get("lastUsedAt").is_some());
}

#[tokio::test]
async fn only_the_sha256_hash_of_a_key_is_stored() {
    let app = spawn_app().await;
    let key = app.create_key(&["read"]).await;
    let row = app
        .db
        .query_one("SELECT key_hash, prefix, name FROM api_keys", &[])
        .await
        .unwrap();
    let stored: Vec<u8> = row.get("key_hash");
    assert_eq!(stored, hash_key(&key).to_vec());
    let dump = app
        .db
        .query_one("SELECT (SELECT string_agg(t::text, '') FROM api_keys t) || (SELECT coalesce(string_agg(a::text, ''), '') FROM audit_logs a)", &[])
        .await
        .unwrap();
    let dump: String = dump.get(0);
    assert!(
        !dump.contains(&key),
        "the raw key must not be stored anywhere"
    );
}

#[tokio::test]
async fn scopes_and_expiry_are_validated() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"name": "x", "scopes": ["superuser"]}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": "read"}), "scopes"),
        (
            json!({"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
            "expiresAt",
        ),
        (json!({"name": "x", "expiresAt": "tomorrow"}), "expiresAt"),
        (json!({"scopes": ["read"]}), "name"),
        (json!({"name": "x", "key": "upt_chosen"}), "key"),
    ] {
        let body = assert_error(
            app.post("/api/v1/api-keys", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(invalid_fields(&body).contains(&field.to_owned()), "{body}");
    }
}

#[tokio::test]
async fn revoking_is_idempotent_and_unknown_keys_are_404() {
    let app = spawn_app().await;
    let created: Value = app
        .post("/api/v1/api-keys", &json!({"name": "temp"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/api-keys/{id}")).await.status(),
        204
    );
    assert_eq!(
        app.delete(&format!("/api/v1/api-keys/{id}")).await.status(),
        204
    );
    let fetched: Value = app
        .get(&format!("/api/v1/api-keys/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(fetched["revokedAt"].is_string());
    let revocations = app
        .db
        .query_one(
            "SELECT count(*) FROM audit_logs WHERE action = 'api_key.revoke'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(revocations.get::<_, i64>(0), 1);
    let missing = uuid::Uuid::now_v7();
    assert_error(
        app.delete(&format!("/api/v1/api-keys/{missing}")).await,
        404,
        "not_found",
    )
    .await;
    let response = app
        .request(Method::GET, "/api/v1/api-keys/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_error(response, 404, "not_found").await;
}

#[tokio::test]
async fn key_listing_is_paginated() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.create_key(&["read"]).await;
    }
    let seen: Vec<String> = app
        .collect_pages("/api/v1/api-keys?limit=2")
        .await
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen);
}
