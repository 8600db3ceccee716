use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{assert_error, sibling_monitor, spawn_app};

#[tokio::test]
async fn sibling_create_example_works_as_written() {
    let app = spawn_app().await;
    let response = app.post("/api/v1/monitors", &sibling_monitor()).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    for (field, value) in sibling_monitor().as_object().unwrap() {
        assert_eq!(&created[field], value, "{field}");
    }
    assert_eq!(created["status"], "unknown");
    assert_eq!(created["recoveryThreshold"], 1);
    assert_eq!(created["consecutiveFailures"], 0);
    assert!(created["lastCheckedAt"].is_null());
    assert_eq!(
        location,
        format!("/api/v1/monitors/{}", created["id"].as_str().unwrap())
    );
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn each_type_is_created_with_its_own_fields_and_defaults() {
    let app = spawn_app().await;
    let keyword = app
        .create_monitor(json!({
            "name": "Login page", "type": "keyword", "target": "https://example.com/login",
            "keyword": "Sign in", "keywordMode": "notContains", "keywordCaseSensitive": false,
            "method": "post", "headers": {"X-Probe": "uptime"}, "body": "{}",
            "expectedStatus": "2xx", "followRedirects": true, "degradedThresholdMs": 800,
            "tags": ["prod", "web", "prod"]
        }))
        .await;
    assert_eq!(keyword["method"], "POST");
    assert_eq!(keyword["keywordMode"], "notContains");
    assert_eq!(keyword["expectedStatus"], "2xx");
    assert_eq!(keyword["headers"], json!({"X-Probe": "uptime"}));
    assert_eq!(keyword["tags"], json!(["prod", "web"]));

    let http = app
        .create_monitor(json!({"name": "h", "type": "http", "target": "http://example.com"}))
        .await;
    assert_eq!(http["method"], "GET");
    assert_eq!(http["expectedStatus"], "2xx");
    assert_eq!(http["followRedirects"], false);
    assert_eq!(http["intervalSeconds"], 60);
    assert_eq!(http["timeoutSeconds"], 10);
    assert_eq!(http["failureThreshold"], 3);

    let tcp = app.create_monitor(json!({"name": "db", "type": "tcp", "target": "db.example.com:5432", "intervalSeconds": 5})).await;
    assert!(
        tcp.get("method").is_none(),
        "http fields do not appear on tcp monitors"
    );
    assert_eq!(
        tcp["timeoutSeconds"], 5,
        "the default timeout never exceeds the interval"
    );

    let dns = app
        .create_monitor(
            json!({"name": "mx", "type": "dns", "target": "example.com", "dnsRecordType": "mx",
            "dnsExpected": ["mail.example.com"], "dnsResolver": "1.1.1.1:53"}),
        )
        .await;
    assert_eq!(dns["dnsRecordType"], "MX");
    assert_eq!(dns["dnsResolver"], "1.1.1.1:53");

    let tls = app.create_monitor(json!({"name": "cert", "type": "tls", "target": "example.com:443", "tlsExpiryWarnDays": 21})).await;
    assert_eq!(tls["tlsExpiryWarnDays"], 21);
    let tls_url = app
        .create_monitor(json!({"name": "cert2", "type": "tls", "target": "https://example.com"}))
        .await;
    assert_eq!(tls_url["target"], "https://example.com");

    let paused = app
        .create_monitor(
            json!({"name": "p", "type": "tcp", "target": "example.com:22", "enabled": false}),
        )
        .await;
    assert_eq!(paused["status"], "paused");
}

#[tokio::test]
async fn listing_paginates_with_cursors_and_filters() {
    let app = spawn_app().await;
    for i in 0..7 {
        let (kind, target) = if i % 2 == 0 {
            ("http", "https://example.com")
        } else {
            ("tcp", "example.com:443")
        };
        app.create_monitor(json!({
            "name": format!("Service {i}{}", if i == 3 { " 100%_off" } else { "" }),
            "type": kind, "target": target,
            "enabled": i != 6, "tags": if i < 2 { json!(["edge"]) } else { json!([]) }
        }))
        .await;
    }
    let all = app.collect_pages("/api/v1/monitors?limit=3").await;
    let names: Vec<&str> = all.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 7);
    assert_eq!(names[0], "Service 0", "oldest first");
    assert_eq!(
        app.collect_pages("/api/v1/monitors?type=tcp").await.len(),
        3
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?enabled=false")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?status=paused")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?status=unknown&type=http")
            .await
            .len(),
        3
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?tag=edge").await.len(),
        2
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?search=service%205")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?search=100%25_")
            .await
            .len(),
        1,
        "wildcards are literal"
    );
    assert_eq!(
        app.collect_pages("/api/v1/monitors?search=%25").await.len(),
        1
    );
    let first: Value = app.get("/api/v1/monitors").await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 7);
    assert!(first["nextCursor"].is_null());
}

#[tokio::test]
async fn put_replaces_and_patch_merges() {
    let app = spawn_app().await;
    let created = app
        .create_monitor(json!({
            "name": "API", "type": "http", "target": "https://example.com/health",
            "headers": {"Authorization": "Bearer x"}, "tags": ["a"]
        }))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/monitors/{id}");

    let patched: Value = app
        .patch(
            &path,
            &json!({"name": "API v2", "headers": null, "intervalSeconds": 30}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["name"], "API v2");
    assert!(
        patched.get("headers").is_none(),
        "null removes a field in a merge patch"
    );
    assert_eq!(patched["intervalSeconds"], 30);
    assert_eq!(patched["tags"], json!(["a"]));
    assert_eq!(patched["createdAt"], created["createdAt"]);

    // A type change through PATCH must drop fields of the old type explicitly.
    let response = app
        .patch(&path, &json!({"type": "tcp", "target": "example.com:443"}))
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error.to_string().contains("does not apply to tcp monitors"));
    let response = app
        .patch(&path, &json!({"type": "tcp", "target": "example.com:443", "method": null, "expectedStatus": null, "followRedirects": null}))
        .await;
    assert_eq!(response.status(), 200);

    let replaced: Value = app
        .put(&path, &sibling_monitor())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["type"], "http");
    assert_eq!(
        replaced["tags"],
        json!([]),
        "PUT resets what it does not name"
    );
    assert_eq!(replaced["intervalSeconds"], 60);

    let missing = format!("/api/v1/monitors/{}", uuid::Uuid::now_v7());
    assert_error(
        app.put(&missing, &sibling_monitor()).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&missing, &json!({"name": "x"})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&path, &json!([1])).await,
        422,
        "validation_failed",
    )
    .await;
    let error = assert_error(app.put(&path, &replaced).await, 422, "validation_failed").await;
    assert!(error.to_string().contains("is read-only"));
}

#[tokio::test]
async fn pause_resume_and_delete() {
    let app = spawn_app().await;
    let created = app.create_monitor(sibling_monitor()).await;
    let id = created["id"].as_str().unwrap();
    let paused: Value = app
        .post(&format!("/api/v1/monitors/{id}/pause"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["enabled"], false);
    let again = app
        .post(&format!("/api/v1/monitors/{id}/pause"), &json!({}))
        .await;
    assert_eq!(again.status(), 200, "pausing twice is harmless");
    let resumed: Value = app
        .post(&format!("/api/v1/monitors/{id}/resume"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["status"], "unknown");
    assert_eq!(resumed["enabled"], true);
    let disabled: Value = app
        .patch(
            &format!("/api/v1/monitors/{id}"),
            &json!({"enabled": false}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["status"], "paused");

    assert_eq!(
        app.delete(&format!("/api/v1/monitors/{id}")).await.status(),
        204
    );
    assert_error(
        app.get(&format!("/api/v1/monitors/{id}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/monitors/{id}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post(&format!("/api/v1/monitors/{id}/pause"), &json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn results_are_listed_latest_first_with_timings() {
    let app = spawn_app().await;
    let created = app.create_monitor(sibling_monitor()).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let now = Utc::now();
    for i in 0..5i64 {
        let slot = now - Duration::seconds(60 * i);
        let status = if i == 1 { "down" } else { "up" };
        app.db
            .execute(
                "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, status_code, error, \
                 dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, body_snippet) \
                 VALUES ($1, $2, $2, $3, 200, NULL, 1.25, 2.5, 3.75, 10.0, 20.5, 'ok')",
                &[&id, &slot, &status],
            )
            .await
            .unwrap();
    }
    let page: Value = app
        .get(&format!("/api/v1/monitors/{id}/results?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["status"], "up");
    assert_eq!(items[1]["status"], "down");
    assert_eq!(
        items[0]["timings"],
        json!({"dnsMs": 1.25, "connectMs": 2.5, "tlsMs": 3.75, "ttfbMs": 10.0, "totalMs": 20.5})
    );
    assert_eq!(items[0]["statusCode"], 200);
    let all = app
        .collect_pages(&format!("/api/v1/monitors/{id}/results?limit=2"))
        .await;
    assert_eq!(all.len(), 5);
    let slots: Vec<&str> = all.iter().map(|r| r["slotTs"].as_str().unwrap()).collect();
    let mut sorted = slots.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(slots, sorted);
    assert_error(
        app.get(&format!(
            "/api/v1/monitors/{}/results",
            uuid::Uuid::now_v7()
        ))
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn incidents_are_listed_newest_first_and_filter_by_open() {
    let app = spawn_app().await;
    let created = app.create_monitor(sibling_monitor()).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let started = Utc::now() - Duration::hours(2);
    let resolved = uuid::Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, last_error, failure_count, opened_slot) \
             VALUES ($1, $2, $3, $3::timestamptz + interval '90 seconds', 'timeout', 'refused', 4, $3)",
            &[&resolved, &id, &started],
        )
        .await
        .unwrap();
    let open = uuid::Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, first_error, last_error, failure_count, opened_slot) \
             VALUES ($1, $2, now(), 'timeout', 'timeout', 3, now())",
            &[&open, &id],
        )
        .await
        .unwrap();
    // The database refuses a second open incident for the same monitor.
    let second = app
        .db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, failure_count, opened_slot) VALUES ($1, $2, now(), 1, now())",
            &[&uuid::Uuid::now_v7(), &id],
        )
        .await;
    assert!(second.is_err());

    let all: Value = app
        .get(&format!("/api/v1/monitors/{id}/incidents"))
        .await
        .json()
        .await
        .unwrap();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], open.to_string());
    assert_eq!(items[1]["durationSeconds"], 90);
    assert_eq!(items[1]["failureCount"], 4);
    assert_eq!(items[1]["firstError"], "timeout");
    let open_only: Value = app
        .get(&format!("/api/v1/monitors/{id}/incidents?open=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open_only["items"].as_array().unwrap().len(), 1);
    assert!(open_only["items"][0]["resolvedAt"].is_null());
}

/// Number of this database's sessions waiting for a lock.
async fn lock_waiters(app: &crate::helpers::TestApp) -> i64 {
    app.db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// A worker writing a result while the monitor is being deleted leaves no
/// result behind: the delete (first in line for the monitor's row) commits,
/// then the write finds no monitor and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_written_during_a_delete_is_not_left_behind() {
    let app = spawn_app().await;
    let created = app
        .create_monitor(
            json!({"name": "going", "type": "http", "target": "https://example.com/",
                               "intervalSeconds": 60, "enabled": false}),
        )
        .await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let wait_for_waiters = |n: i64| {
        let app = &app;
        async move {
            for _ in 0..200 {
                if lock_waiters(app).await >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!("expected {n} sessions waiting for a lock");
        }
    };
    // Hold the monitor's row so both the delete and the write queue behind us.
    let mut holder = shared::testing::connect(&app.db_name).await;
    let hold = holder.transaction().await.unwrap();
    hold.execute("SELECT 1 FROM monitors WHERE id = $1 FOR UPDATE", &[&id])
        .await
        .unwrap();

    let delete = {
        let request = app.request(reqwest::Method::DELETE, &format!("/api/v1/monitors/{id}"));
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    };
    wait_for_waiters(1).await;
    let pool = shared::db::build_pool(&crate::helpers::test_config(&app.db_name, &[])).unwrap();
    let write = tokio::spawn(async move {
        let mut client = pool.get().await.unwrap();
        let result = shared::model::CheckResult {
            monitor_id: id,
            slot_ts: Utc::now(),
            checked_at: Utc::now(),
            worker_id: Some("racing".into()),
            status: shared::model::CheckStatus::Up,
            status_code: Some(200),
            error: None,
            timings: shared::model::Timings::default(),
            body_snippet: None,
            details: None,
            in_maintenance: false,
        };
        uptime_worker::store::write_batch(&mut client, &[result])
            .await
            .unwrap()
    });
    // The write queues behind the delete only because it locks the monitor
    // first (the monitor is disabled, so nothing else in it would wait): a
    // write that did not would insert at once and leave its row behind.
    wait_for_waiters(2).await;
    hold.commit().await.unwrap();

    assert_eq!(delete.await.unwrap(), 204);
    let applied = write.await.unwrap();
    assert_eq!(
        applied.inserted, 0,
        "the monitor was gone when the write ran"
    );
    let left: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM check_results WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "no result without its monitor");
}
