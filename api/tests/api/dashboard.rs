//! The operator dashboard: its shell at `/`, the endpoints it adds to the
//! API (`/me`, `/monitor-stats`), and the overview in a real browser.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::browser::scenario;
use crate::helpers::{assert_error, spawn_app, TestApp, ADMIN_KEY};

#[tokio::test]
async fn the_dashboard_shell_is_served_at_the_root_with_the_page_policy() {
    let app = spawn_app().await;
    let response = app.anonymous(Method::GET, "/").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe"),
        "{policy}"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign in to UpTime"));
    // Every script and stylesheet it names is served, and nothing else is
    // loaded from anywhere.
    let mut assets = 0;
    for part in html.split("\"/assets/").skip(1) {
        let path = format!("/assets/{}", &part[..part.find('"').unwrap()]);
        let answer = app.anonymous(Method::GET, &path).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assets += 1;
    }
    assert!(assets >= 4, "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
}

#[tokio::test]
async fn me_names_the_callers_key_and_scopes() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["scopes"], json!(["admin"]));
    assert!(me["keyId"].is_null());
    let read = app.create_key(&["read"]).await;
    let response = app
        .request_as(&read, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["scopes"], json!(["read"]));
    assert!(me["keyId"].is_string());
    let response = app
        .anonymous(Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
}

/// Stores a check of `monitor` `minutes_ago` minutes ago.
async fn check(app: &TestApp, monitor: Uuid, minutes_ago: i32, status: &str, total_ms: f32) {
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
             VALUES ($1, date_trunc('second', now()) - make_interval(mins => $2), now(), $3, $4)",
            &[&monitor, &minutes_ago, &status, &total_ms],
        )
        .await
        .unwrap();
}

async fn monitor(app: &TestApp, name: &str, target: &str) -> Uuid {
    let created = app
        .create_monitor(json!({"name": name, "type": "http", "target": target}))
        .await;
    created["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn monitor_stats_give_24_hour_uptime_and_the_last_hours_latency() {
    let app = spawn_app().await;
    let a = monitor(&app, "A", "https://a.example.com").await;
    let b = monitor(&app, "B", "https://b.example.com").await;
    // A: 3 up and 1 down in the last hour, one old check outside 24 h.
    check(&app, a, 2, "up", 100.0).await;
    check(&app, a, 3, "up", 200.0).await;
    check(&app, a, 32, "up", 300.0).await;
    check(&app, a, 33, "down", 10_000.0).await;
    check(&app, a, 60 * 25, "down", 10_000.0).await;
    let unknown = Uuid::new_v4();
    let page: Value = app
        .get(&format!("/api/v1/monitor-stats?ids={a},{b},{unknown}"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "unknown ids are left out: {page}");
    assert_eq!(items[0]["id"], a.to_string());
    assert_eq!(items[0]["uptime24hPercent"], 75.0);
    assert_eq!(items[0]["checks24h"], 4);
    let spark = items[0]["latencyLastHour"].as_array().unwrap();
    assert_eq!(spark.len(), 12);
    // Newest bucket last: 2 and 3 minutes ago fall in it (mean 150 ms);
    // 32 and 33 minutes ago in the seventh from the end, the failed check
    // left out of the mean.
    assert_eq!(spark[11], 150.0);
    assert_eq!(spark[5], 300.0);
    assert_eq!(spark.iter().filter(|v| v.is_null()).count(), 10);
    assert_eq!(items[1]["id"], b.to_string());
    assert!(items[1]["uptime24hPercent"].is_null());
    assert_eq!(items[1]["checks24h"], 0);

    for bad in ["", "ids=", "ids=nope", &format!("ids={a},x")] {
        let response = app.get(&format!("/api/v1/monitor-stats?{bad}")).await;
        assert_error(response, 400, "invalid_query").await;
    }
    let many: Vec<String> = (0..101).map(|_| Uuid::new_v4().to_string()).collect();
    let response = app
        .get(&format!("/api/v1/monitor-stats?ids={}", many.join(",")))
        .await;
    let body = assert_error(response, 400, "invalid_query").await;
    assert!(body["message"].as_str().unwrap().contains("at most 100"));
    let read = app.create_key(&["read"]).await;
    let response = app
        .request_as(
            &read,
            Method::GET,
            &format!("/api/v1/monitor-stats?ids={a}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_overview_reads_well_for_admin_and_read_keys_in_a_real_browser() {
    let app = spawn_app().await;
    let payments = monitor(&app, "Payments API", "https://pay.example.com/health").await;
    let search = monitor(&app, "Search", "https://search.example.com").await;
    let checkout = monitor(&app, "Checkout", "https://shop.example.com/checkout").await;
    let old = monitor(&app, "Old site", "https://old.example.com").await;
    for (id, status) in [(payments, "down"), (search, "degraded"), (checkout, "up")] {
        app.db
            .execute(
                "UPDATE monitors SET status = $2, last_checked_at = now() - interval '20 seconds' \
                 WHERE id = $1",
                &[&id, &status],
            )
            .await
            .unwrap();
    }
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, first_error, last_error, failure_count, opened_slot) \
             VALUES (gen_random_uuid(), $1, now() - interval '7 minutes', \
                     'connection refused by 203.0.113.7:443', 'connection refused by 203.0.113.7:443', 5, \
                     now() - interval '7 minutes')",
            &[&payments],
        )
        .await
        .unwrap();
    for (minutes, status, ms) in [
        (1, "up", 120.0),
        (6, "up", 180.0),
        (11, "up", 140.0),
        (16, "down", 10_000.0),
    ] {
        check(&app, checkout, minutes, status, ms).await;
    }
    let response = app
        .post(&format!("/api/v1/monitors/{old}/pause"), &json!({}))
        .await;
    assert!(response.status().is_success());
    let read = app.create_key(&["read"]).await;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let artifacts = format!("{root}/target/browser-artifacts");
    let output = scenario(
        "dashboard-overview",
        &[&app.address, ADMIN_KEY, &read, &artifacts],
    )
    .await;
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }
}
