use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, sibling_monitor, spawn_app};

#[tokio::test]
async fn every_mutation_writes_an_audit_row_with_before_and_after() {
    let app = spawn_app().await;
    let key = app.create_key(&["read", "write"]).await;
    let key_id: String = app
        .db
        .query_one("SELECT id::text FROM api_keys", &[])
        .await
        .unwrap()
        .get(0);

    let response = app
        .request_as(&key, Method::POST, "/api/v1/monitors")
        .header("X-Request-Id", "req-create-1")
        .json(&sibling_monitor())
        .send()
        .await
        .unwrap();
    let monitor: Value = response.json().await.unwrap();
    let id = monitor["id"].as_str().unwrap().to_owned();
    let send = |method: Method, path: String, body: Option<Value>| {
        let mut request = app.request_as(&key, method, &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    assert_eq!(
        send(
            Method::PATCH,
            format!("/api/v1/monitors/{id}"),
            Some(json!({"name": "Renamed"}))
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        send(Method::POST, format!("/api/v1/monitors/{id}/pause"), None)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        send(Method::POST, format!("/api/v1/monitors/{id}/resume"), None)
            .await
            .unwrap()
            .status(),
        200
    );
    let mut replaced = sibling_monitor();
    replaced["intervalSeconds"] = json!(120);
    assert_eq!(
        send(
            Method::PUT,
            format!("/api/v1/monitors/{id}"),
            Some(replaced)
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let channel: Value = send(
        Method::POST,
        "/api/v1/channels".to_owned(),
        Some(json!({"name": "hook", "type": "webhook", "url": "https://hooks.example.com/x"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    assert_eq!(
        send(
            Method::PATCH,
            format!("/api/v1/channels/{channel_id}"),
            Some(json!({"enabled": false}))
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        send(
            Method::DELETE,
            format!("/api/v1/channels/{channel_id}"),
            None
        )
        .await
        .unwrap()
        .status(),
        204
    );
    assert_eq!(
        send(Method::DELETE, format!("/api/v1/monitors/{id}"), None)
            .await
            .unwrap()
            .status(),
        204
    );

    let rows = app.audit_rows().await;
    let actions: Vec<String> = rows.iter().map(|r| r.get("action")).collect();
    assert_eq!(
        actions,
        [
            "api_key.create",
            "monitor.create",
            "monitor.update",
            "monitor.pause",
            "monitor.resume",
            "monitor.update",
            "channel.create",
            "channel.update",
            "channel.delete",
            "monitor.delete",
        ]
    );
    let create = &rows[1];
    assert_eq!(
        create
            .get::<_, Option<uuid::Uuid>>("actor_key_id")
            .map(|u| u.to_string()),
        Some(key_id.clone())
    );
    assert_eq!(create.get::<_, String>("actor"), key_id);
    assert_eq!(create.get::<_, String>("entity_type"), "monitor");
    assert_eq!(create.get::<_, String>("entity_id"), id);
    assert_eq!(
        create.get::<_, Option<String>>("request_id").as_deref(),
        Some("req-create-1")
    );
    assert_eq!(
        create.get::<_, Option<String>>("client_addr").as_deref(),
        Some("127.0.0.1")
    );
    assert!(create.get::<_, Option<Value>>("before").is_none());
    assert_eq!(
        create.get::<_, Option<Value>>("after").unwrap()["name"],
        "Example Website"
    );

    let rename = &rows[2];
    assert_eq!(
        rename.get::<_, Option<Value>>("before").unwrap()["name"],
        "Example Website"
    );
    assert_eq!(
        rename.get::<_, Option<Value>>("after").unwrap()["name"],
        "Renamed"
    );
    let pause = &rows[3];
    assert_eq!(
        pause.get::<_, Option<Value>>("after").unwrap()["status"],
        "paused"
    );
    let deleted = rows.last().unwrap();
    assert!(deleted.get::<_, Option<Value>>("after").is_none());

    // The bootstrap key's own creation of the key is attributed to it.
    assert_eq!(rows[0].get::<_, String>("actor"), "bootstrap");
    assert!(rows[0]
        .get::<_, Option<uuid::Uuid>>("actor_key_id")
        .is_none());
    // Secrets never reach the audit log.
    let signing: Option<String> = channel["signingSecret"].as_str().map(str::to_owned);
    let dump: String = app
        .db
        .query_one("SELECT string_agg(a::text, '') FROM audit_logs a", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains(&key));
    assert!(!dump.contains(&signing.unwrap()));
}

#[tokio::test]
async fn failed_mutations_leave_no_audit_row() {
    let app = spawn_app().await;
    let mut body = sibling_monitor();
    body["intervalSeconds"] = json!(0);
    assert_eq!(app.post("/api/v1/monitors", &body).await.status(), 422);
    let mut body = sibling_monitor();
    body["channelIds"] = json!([uuid::Uuid::now_v7()]);
    assert_eq!(app.post("/api/v1/monitors", &body).await.status(), 422);
    assert!(app.audit_rows().await.is_empty());
    let count: i64 = app
        .db
        .query_one("SELECT count(*) FROM monitors", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        count, 0,
        "the failed transaction must not leave a monitor behind"
    );
}

#[tokio::test]
async fn audit_log_filters_and_paginates() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut body = sibling_monitor();
        body["name"] = json!(format!("m{i}"));
        ids.push(
            app.create_monitor(body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.post(&format!("/api/v1/monitors/{}/pause", ids[0]), &json!({}))
        .await;

    let all: Value = app.get("/api/v1/audit-logs").await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    assert_eq!(all["items"][0]["action"], "monitor.pause", "newest first");

    let by_action: Value = app
        .get("/api/v1/audit-logs?action=monitor.create")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_action["items"].as_array().unwrap().len(), 3);
    let by_entity: Value = app
        .get(&format!(
            "/api/v1/audit-logs?entityType=monitor&entityId={}",
            ids[0]
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_entity["items"].as_array().unwrap().len(), 2);
    let by_actor: Value = app
        .get("/api/v1/audit-logs?actor=bootstrap")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 4);
    let other_actor: Value = app
        .get(&format!(
            "/api/v1/audit-logs?actor={}",
            uuid::Uuid::now_v7()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(other_actor["items"].as_array().unwrap().is_empty());

    let future: Value = app
        .get("/api/v1/audit-logs?from=2999-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert!(future["items"].as_array().unwrap().is_empty());
    let past: Value = app
        .get("/api/v1/audit-logs?to=2000-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert!(past["items"].as_array().unwrap().is_empty());
    let window: Value = app
        .get("/api/v1/audit-logs?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(window["items"].as_array().unwrap().len(), 4);
    assert_error(
        app.get("/api/v1/audit-logs?from=yesterday").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/audit-logs?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z")
            .await,
        400,
        "invalid_query",
    )
    .await;

    let first: Value = app
        .get("/api/v1/audit-logs?limit=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second: Value = app
        .get(&format!("/api/v1/audit-logs?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["nextCursor"].is_null());
    assert_eq!(second["items"][0]["action"], "monitor.create");
    assert_eq!(second["items"][0]["entityId"], ids[0]);
}
