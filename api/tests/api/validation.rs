use serde_json::{json, Value};

use crate::helpers::{assert_error, invalid_fields, spawn_app, spawn_app_with};

fn with(base: Value, changes: Value) -> Value {
    let mut body = base;
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn http() -> Value {
    json!({"name": "n", "type": "http", "target": "https://example.com"})
}

#[tokio::test]
async fn every_rejected_field_is_named_with_its_reason() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "http", "target": "https://example.com"}),
            "name",
        ),
        (
            json!({"name": "n", "target": "https://example.com"}),
            "type",
        ),
        (json!({"name": "n", "type": "smtp", "target": "x"}), "type"),
        (json!({"name": "n", "type": "http"}), "target"),
        (with(http(), json!({"target": "example.com"})), "target"),
        (
            with(http(), json!({"target": "ftp://example.com"})),
            "target",
        ),
        (
            with(http(), json!({"target": "https://user:pw@example.com"})),
            "target",
        ),
        (
            json!({"name": "n", "type": "tcp", "target": "example.com"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "tcp", "target": "example.com:70000"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "tcp", "target": "https://example.com:443"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "dns", "target": "not a host"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "dns", "target": "https://example.com"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "dns", "target": "example.com", "dnsRecordType": "SRV"}),
            "dnsRecordType",
        ),
        (
            json!({"name": "n", "type": "dns", "target": "example.com", "dnsResolver": "dns.example"}),
            "dnsResolver",
        ),
        (
            json!({"name": "n", "type": "tls", "target": "exa mple"}),
            "target",
        ),
        (
            json!({"name": "n", "type": "tls", "target": "example.com", "tlsExpiryWarnDays": 1000}),
            "tlsExpiryWarnDays",
        ),
        (
            with(http(), json!({"intervalSeconds": 0})),
            "intervalSeconds",
        ),
        (
            with(http(), json!({"intervalSeconds": 86401})),
            "intervalSeconds",
        ),
        (
            with(http(), json!({"intervalSeconds": "60"})),
            "intervalSeconds",
        ),
        (with(http(), json!({"timeoutSeconds": 0})), "timeoutSeconds"),
        (
            with(
                http(),
                json!({"timeoutSeconds": 301, "intervalSeconds": 600}),
            ),
            "timeoutSeconds",
        ),
        (
            with(http(), json!({"timeoutSeconds": 30, "intervalSeconds": 10})),
            "timeoutSeconds",
        ),
        (
            with(http(), json!({"failureThreshold": 0})),
            "failureThreshold",
        ),
        (
            with(http(), json!({"recoveryThreshold": 101})),
            "recoveryThreshold",
        ),
        (with(http(), json!({"enabled": "yes"})), "enabled"),
        (with(http(), json!({"method": "BREW"})), "method"),
        (with(http(), json!({"body": "x"})), "body"),
        (
            with(http(), json!({"headers": {"Bad Header": "x"}})),
            "headers",
        ),
        (
            with(http(), json!({"headers": {"X-A": "a\r\nInjected: 1"}})),
            "headers",
        ),
        (with(http(), json!({"headers": ["x"]})), "headers"),
        (
            with(http(), json!({"expectedStatus": 999})),
            "expectedStatus",
        ),
        (
            with(http(), json!({"expectedStatus": "7xx"})),
            "expectedStatus",
        ),
        (
            with(http(), json!({"expectedStatus": [200, "x"]})),
            "expectedStatus",
        ),
        (
            with(
                http(),
                json!({"degradedThresholdMs": 10000, "timeoutSeconds": 5}),
            ),
            "degradedThresholdMs",
        ),
        (with(http(), json!({"keyword": "x"})), "keyword"),
        (with(http(), json!({"dnsRecordType": "A"})), "dnsRecordType"),
        (
            with(http(), json!({"tlsExpiryWarnDays": 3})),
            "tlsExpiryWarnDays",
        ),
        (
            json!({"name": "n", "type": "keyword", "target": "https://example.com"}),
            "keyword",
        ),
        (
            json!({"name": "n", "type": "keyword", "target": "https://example.com", "keyword": "x", "keywordMode": "regex"}),
            "keywordMode",
        ),
        (with(http(), json!({"tags": ["ok", ""]})), "tags"),
        (with(http(), json!({"tags": "prod"})), "tags"),
        (with(http(), json!({"channelIds": ["nope"]})), "channelIds"),
        (
            with(http(), json!({"channelIds": [uuid::Uuid::now_v7()]})),
            "channelIds",
        ),
        (with(http(), json!({"colour": "blue"})), "colour"),
        (
            with(
                http(),
                json!({"id": "01a1fdaf-bee6-773d-88b9-9dbfc7d87f51"}),
            ),
            "id",
        ),
        (with(http(), json!({"status": "up"})), "status"),
        (with(http(), json!({"name": "x".repeat(201)})), "name"),
    ];
    for (body, field) in cases {
        let response = app.post("/api/v1/monitors", &body).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert!(
            invalid_fields(&error).contains(&field.to_owned()),
            "{body} -> {error}"
        );
        for detail in error["details"].as_array().unwrap() {
            assert!(!detail["message"].as_str().unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn several_problems_are_reported_together() {
    let app = spawn_app().await;
    let body = json!({"name": "", "type": "tcp", "target": "nohost", "intervalSeconds": -1, "method": "GET", "x": 1});
    let error = assert_error(
        app.post("/api/v1/monitors", &body).await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields = invalid_fields(&error);
    fields.sort();
    assert_eq!(fields, ["intervalSeconds", "method", "name", "target", "x"]);
}

#[tokio::test]
async fn expected_status_accepts_code_list_class_and_range() {
    let app = spawn_app().await;
    for value in [
        json!(204),
        json!([200, 201]),
        json!("3xx"),
        json!("200-399"),
    ] {
        let created = app
            .create_monitor(with(http(), json!({"expectedStatus": value.clone()})))
            .await;
        assert_eq!(created["expectedStatus"], value);
    }
}

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let app = spawn_app().await;
    let cases = [
        with(http(), json!({"target": "http://127.0.0.1:8080/"})),
        with(http(), json!({"target": "http://localhost/"})),
        with(http(), json!({"target": "http://10.0.0.5/"})),
        with(
            http(),
            json!({"target": "http://169.254.169.254/latest/meta-data"}),
        ),
        with(http(), json!({"target": "http://[::1]/"})),
        with(http(), json!({"target": "http://[::ffff:127.0.0.1]/"})),
        with(http(), json!({"target": "http://0.0.0.0/"})),
        json!({"name": "n", "type": "tcp", "target": "192.168.1.1:22"}),
        json!({"name": "n", "type": "tcp", "target": "[fe80::1]:22"}),
        json!({"name": "n", "type": "tls", "target": "172.16.0.1:443"}),
        json!({"name": "n", "type": "dns", "target": "example.com", "dnsResolver": "127.0.0.53"}),
    ];
    for body in cases {
        let error = assert_error(
            app.post("/api/v1/monitors", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            error.to_string().contains("ALLOW_PRIVATE_TARGETS"),
            "{body} -> {error}"
        );
    }
}

#[tokio::test]
async fn private_targets_are_accepted_when_allowed() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    app.create_monitor(with(http(), json!({"target": "http://127.0.0.1:8080/"})))
        .await;
    app.create_monitor(json!({"name": "n", "type": "tcp", "target": "localhost:5432"}))
        .await;
}

#[tokio::test]
async fn names_that_do_not_resolve_now_are_accepted() {
    let app = spawn_app().await;
    let created = app
        .create_monitor(with(
            http(),
            json!({"target": "https://does-not-exist.invalid/health"}),
        ))
        .await;
    assert_eq!(created["target"], "https://does-not-exist.invalid/health");
}
