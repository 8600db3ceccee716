use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, invalid_fields, sibling_monitor, spawn_app, spawn_app_with};

const TOKEN: &str = "123456789:AAEhBP0av28Qr6P5Xx-1234567890abcdefgh";

#[tokio::test]
async fn webhook_channels_get_a_signing_secret_shown_once() {
    let app = spawn_app().await;
    let response = app
        .post("/api/v1/channels", &json!({"name": "Ops hook", "type": "webhook", "url": "https://hooks.example.com/uptime"}))
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let secret = created["signingSecret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["url"], "https://hooks.example.com/uptime");
    let id = created["id"].as_str().unwrap();
    let fetched: Value = app
        .get(&format!("/api/v1/channels/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(fetched.get("signingSecret").is_none());
    let listed: Value = app.get("/api/v1/channels").await.json().await.unwrap();
    assert!(!listed.to_string().contains(secret));
}

#[tokio::test]
async fn chat_channels_are_stored_by_type() {
    let app = spawn_app().await;
    for kind in ["slack", "discord", "teams"] {
        let created: Value = app
            .post("/api/v1/channels", &json!({"name": kind, "type": kind, "url": format!("https://{kind}.example.com/hook")}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(created["type"], kind);
        assert!(created.get("signingSecret").is_none());
    }
    let telegram: Value = app
        .post("/api/v1/channels", &json!({"name": "tg", "type": "telegram", "botToken": TOKEN, "chatId": -1001234567890i64}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        telegram["botToken"], "123456789:***",
        "the token's secret part is never shown"
    );
    assert_eq!(telegram["chatId"], "-1001234567890");
    let filtered: Value = app
        .get("/api/v1/channels?type=slack")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let all: Value = app
        .get("/api/v1/channels?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["nextCursor"].is_string());
}

#[tokio::test]
async fn channel_bodies_are_validated_field_by_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "x", "type": "pager", "url": "https://a.example.com"}),
            "type",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": "http://hooks.example.com"}),
            "url",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": "ftp://hooks.example.com"}),
            "url",
        ),
        (json!({"name": "x", "type": "webhook"}), "url"),
        (
            json!({"name": "x", "type": "slack", "url": "https://127.0.0.1/hook"}),
            "url",
        ),
        (
            json!({"name": "x", "type": "telegram", "botToken": "not-a-token", "chatId": "1"}),
            "botToken",
        ),
        (
            json!({"name": "x", "type": "telegram", "botToken": TOKEN}),
            "chatId",
        ),
        (
            json!({"name": "x", "type": "telegram", "botToken": TOKEN, "chatId": "a b"}),
            "chatId",
        ),
        (
            json!({"name": "x", "type": "telegram", "botToken": TOKEN, "chatId": 1, "url": "https://a.example.com"}),
            "url",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": "https://a.example.com", "botToken": TOKEN}),
            "botToken",
        ),
        (
            json!({"type": "webhook", "url": "https://a.example.com"}),
            "name",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": "https://a.example.com", "extra": 1}),
            "extra",
        ),
    ];
    for (body, field) in cases {
        let error = assert_error(
            app.post("/api/v1/channels", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            invalid_fields(&error).contains(&field.to_owned()),
            "{body} -> {error}"
        );
    }
}

#[tokio::test]
async fn http_channel_urls_are_allowed_only_with_private_targets() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let response = app
        .post(
            "/api/v1/channels",
            &json!({"name": "local", "type": "webhook", "url": "http://127.0.0.1:9000/hook"}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn channels_can_be_replaced_patched_and_deleted() {
    let app = spawn_app().await;
    let created: Value = app
        .post("/api/v1/channels", &json!({"name": "tg", "type": "telegram", "botToken": TOKEN, "chatId": "@uptime_alerts"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    // A patch keeps the stored token even though reads mask it.
    let patched: Value = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &json!({"name": "Telegram", "enabled": false}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["name"], "Telegram");
    assert_eq!(patched["enabled"], false);
    let stored: Value = app
        .db
        .query_one("SELECT config FROM notification_channels", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored["botToken"], TOKEN);

    let replaced = app
        .put(
            &format!("/api/v1/channels/{id}"),
            &json!({"name": "now a hook", "type": "webhook", "url": "https://h.example.com"}),
        )
        .await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["type"], "webhook");
    assert!(
        replaced["signingSecret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_"),
        "a new webhook gets its secret once"
    );
    assert!(replaced.get("botToken").is_none());

    assert_eq!(
        app.delete(&format!("/api/v1/channels/{id}")).await.status(),
        204
    );
    assert_error(
        app.get(&format!("/api/v1/channels/{id}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/channels/{id}")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn monitors_link_to_channels_and_lose_deleted_ones() {
    let app = spawn_app().await;
    let channel: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "hook", "type": "webhook", "url": "https://h.example.com"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let channel_id = channel["id"].clone();
    let mut body = sibling_monitor();
    body["channelIds"] = json!([channel_id]);
    let monitor = app.create_monitor(body).await;
    assert_eq!(monitor["channelIds"], json!([channel_id]));
    let id = monitor["id"].as_str().unwrap();
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/channels/{}", channel_id.as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let monitor: Value = app
        .get(&format!("/api/v1/monitors/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(monitor["channelIds"], json!([]));
}

/// Sends `body` with `method` to `path` as `key` and returns status and JSON.
async fn call_as(
    app: &crate::helpers::TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app.request_as(key, method, path);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn channel_urls_are_shown_in_full_only_to_their_creator_and_to_admins() {
    let app = spawn_app().await;
    let read = app.create_key(&["read"]).await;
    let write = app.create_key(&["read", "write"]).await;
    let admin = app.create_key(&["admin"]).await;
    let secret_path = "services/T0001/B0002/Xq8v2LkPz7mN4rT1";
    for kind in ["webhook", "slack", "discord", "teams"] {
        let url = format!("https://{kind}.example.com/{secret_path}?token=tok-{kind}-9f8e7d6c");
        let body = json!({"name": kind, "type": kind, "url": url});
        let (status, created) =
            call_as(&app, &write, Method::POST, "/api/v1/channels", Some(&body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created["url"],
            url.as_str(),
            "the creating answer shows it once"
        );
        assert_eq!(created["urlMasked"], false);
        let path = format!("/api/v1/channels/{}", created["id"].as_str().unwrap());
        let masked = format!("https://{kind}.example.com/***{}", &url[url.len() - 4..]);
        for key in [&read, &write] {
            let (status, shown) = call_as(&app, key, Method::GET, &path, None).await;
            assert_eq!(status, 200);
            assert_eq!(
                shown["url"],
                masked.as_str(),
                "{kind} URL shown to a non-admin key"
            );
            assert_eq!(shown["urlMasked"], true);
            let (_, listed) = call_as(&app, key, Method::GET, "/api/v1/channels", None).await;
            assert!(!listed.to_string().contains(secret_path), "{listed}");
        }
        let (_, shown) = call_as(&app, &admin, Method::GET, &path, None).await;
        assert_eq!(shown["url"], url.as_str(), "admin keys see the URL");
        assert_eq!(shown["urlMasked"], false);
    }
    // The audit log keeps only the masked form.
    let audit = app.audit_rows().await;
    assert!(!audit.is_empty());
    for row in audit {
        for column in ["before", "after"] {
            let value: Option<Value> = row.get(column);
            let text = value.map(|v| v.to_string()).unwrap_or_default();
            assert!(
                !text.contains(secret_path) && !text.contains("tok-"),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn a_masked_url_sent_back_unchanged_keeps_the_stored_url() {
    let app = spawn_app().await;
    let write = app.create_key(&["read", "write"]).await;
    let url = "https://hooks.example.com/services/T1/B2/Zk3mQ9xW7pL2vN8c";
    let (_, created) = call_as(
        &app,
        &write,
        Method::POST,
        "/api/v1/channels",
        Some(&json!({"name": "ops", "type": "slack", "url": url})),
    )
    .await;
    let path = format!("/api/v1/channels/{}", created["id"].as_str().unwrap());
    let (_, mut shown) = call_as(&app, &write, Method::GET, &path, None).await;
    assert_eq!(shown["url"], "https://hooks.example.com/***vN8c");
    // A client that saves what it read (PUT with the masked URL) keeps it.
    for field in [
        "id",
        "createdAt",
        "updatedAt",
        "disabledReason",
        "urlMasked",
    ] {
        shown.as_object_mut().unwrap().remove(field);
    }
    shown["name"] = json!("ops renamed");
    let (status, answer) = call_as(&app, &write, Method::PUT, &path, Some(&shown)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["urlMasked"], true, "a kept URL is not shown again");
    let (status, answer) = call_as(
        &app,
        &write,
        Method::PATCH,
        &path,
        Some(&json!({"url": shown["url"], "enabled": false})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(stored["url"], url, "the stored URL survives both");
    assert_eq!(stored["name"], "ops renamed");
    // A masked-looking URL that is not this channel's mask is refused.
    let (status, refused) = call_as(
        &app,
        &write,
        Method::PATCH,
        &path,
        Some(&json!({"url": "https://other.example.com/***vN8c"})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(invalid_fields(&refused), ["url"]);
    let response = app
        .post(
            "/api/v1/channels",
            &json!({"name": "copy", "type": "slack", "url": "https://hooks.example.com/***vN8c"}),
        )
        .await;
    let body = assert_error(response, 422, "validation_failed").await;
    assert_eq!(invalid_fields(&body), ["url"]);
    // A URL the request sets is shown back to it.
    let fresh = "https://hooks.example.com/services/T1/B2/NewSecretValue42";
    let (_, answer) = call_as(
        &app,
        &write,
        Method::PATCH,
        &path,
        Some(&json!({"url": fresh})),
    )
    .await;
    assert_eq!(answer["url"], fresh);
}

#[tokio::test]
async fn credentials_in_channel_urls_are_refused() {
    let app = spawn_app().await;
    for kind in ["webhook", "slack", "discord", "teams"] {
        let response = app
            .post(
                "/api/v1/channels",
                &json!({"name": "creds", "type": kind, "url": "https://user:hunter2@hooks.example.com/x"}),
            )
            .await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&body), ["url"], "{kind}");
        assert!(!body.to_string().contains("hunter2"), "{body}");
    }
}
