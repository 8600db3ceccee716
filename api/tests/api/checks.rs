//! Schedule updates from the API, check-now, /ping-endpoint, the workers
//! status and the incident endpoints.

use std::time::Duration;

use serde_json::{json, Value};
use shared::redis::Keys;
use shared::schedule::Schedule;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{assert_error, invalid_fields, spawn_app_with, test_config, TestApp};

const PRIVATE_OK: &[(&str, &str)] = &[("ALLOW_PRIVATE_TARGETS", "true")];

/// A minimal HTTP target on loopback answering 200 "ok" after `delay`.
pub(crate) async fn target(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    format!("http://{addr}/health")
}

fn schedule(app: &TestApp) -> (Schedule, deadpool_redis::Pool) {
    let config = test_config(&app.db_name, &[]);
    let pool = shared::redis::build_pool(&config).unwrap();
    (Schedule::new(&Keys::new(config.redis_key_prefix), 0), pool)
}

/// Runs a worker in this process on the app's database and Redis prefix.
pub(crate) fn start_worker(app: &TestApp) -> tokio::sync::oneshot::Sender<()> {
    start_worker_with(app, "0")
}

/// A worker serving its metrics on `metrics_port`.
pub(crate) fn start_worker_with(
    app: &TestApp,
    metrics_port: &str,
) -> tokio::sync::oneshot::Sender<()> {
    let config = test_config(
        &app.db_name,
        &[
            ("ALLOW_PRIVATE_TARGETS", "true"),
            ("METRICS_PORT", metrics_port),
            ("SCHEDULER_TICK_SECONDS", "1"),
        ],
    );
    let engine =
        shared::check::Engine::new(shared::check::EngineOptions::from_config(&config)).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(uptime_worker::run_until(
        config,
        engine,
        uptime_worker::heartbeat::Identity::new(),
        None,
        async move {
            let _ = stopped.await;
        },
    ));
    stop
}

fn monitor(target: &str, interval: u32) -> Value {
    json!({
        "name": "local",
        "type": "http",
        "target": target,
        "intervalSeconds": interval,
        "timeoutSeconds": 2,
    })
}

#[tokio::test]
async fn monitor_changes_reach_the_schedule_at_once() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let (schedule, redis) = schedule(&app);
    let url = target(Duration::ZERO).await;
    let created = app.create_monitor(monitor(&url, 3600)).await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // A new monitor is due at once, not at its first grid slot an hour away.
    let due = schedule.due_slot(&redis, id).await.unwrap().unwrap();
    assert!((due - now).abs() < 2000, "due {due} vs now {now}");

    let response = app
        .post(&format!("/api/v1/monitors/{id}/pause"), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(schedule.due_slot(&redis, id).await.unwrap(), None);

    let response = app
        .post(&format!("/api/v1/monitors/{id}/resume"), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    assert!(schedule.due_slot(&redis, id).await.unwrap().is_some());

    // A new interval puts it on the new grid.
    let response = app
        .patch(
            &format!("/api/v1/monitors/{id}"),
            &json!({"intervalSeconds": 120}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let due = schedule.due_slot(&redis, id).await.unwrap().unwrap();
    let phase = i64::try_from(shared::schedule::phase_ms(id, 120_000)).unwrap();
    assert_eq!((due - phase).rem_euclid(120_000), 0);

    let response = app.delete(&format!("/api/v1/monitors/{id}")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(schedule.due_slot(&redis, id).await.unwrap(), None);

    // A monitor created paused is not scheduled.
    let mut paused = monitor(&url, 60);
    paused["enabled"] = json!(false);
    let created = app.create_monitor(paused).await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(schedule.due_slot(&redis, id).await.unwrap(), None);
}

#[tokio::test]
async fn check_now_queues_and_waits_for_the_result() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::from_millis(200)).await;
    let created = app.create_monitor(monitor(&url, 3600)).await;
    let id = created["id"].as_str().unwrap().to_owned();

    // Without a worker: accepted, with the id of the check.
    let response = app
        .post(&format!("/api/v1/monitors/{id}/check-now"), &json!({}))
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert!(body["checkId"].as_str().unwrap().starts_with(&id));
    assert_eq!(body["state"], "queued");

    let stop = start_worker(&app);
    // Let the first (creation) check finish, then ask and wait.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let response = app
        .post(
            &format!("/api/v1/monitors/{id}/check-now?wait=true"),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "done");
    assert_eq!(body["result"]["status"], "up");
    assert_eq!(body["result"]["statusCode"], 200);
    assert!(body["result"]["timings"]["ttfbMs"].as_f64().unwrap() >= 200.0);
    let _ = stop.send(());

    // Paused monitors are not checked on demand; unknown ones are 404.
    app.post(&format!("/api/v1/monitors/{id}/pause"), &json!({}))
        .await;
    let response = app
        .post(&format!("/api/v1/monitors/{id}/check-now"), &json!({}))
        .await;
    assert_error(response, 409, "conflict").await;
    let response = app
        .post(
            &format!("/api/v1/monitors/{}/check-now", Uuid::now_v7()),
            &json!({}),
        )
        .await;
    assert_error(response, 404, "not_found").await;
    let response = app
        .post(
            &format!("/api/v1/monitors/{id}/check-now?wait=maybe"),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let reader = app.create_key(&["read"]).await;
    let response = app
        .request_as(
            &reader,
            reqwest::Method::POST,
            &format!("/api/v1/monitors/{id}/check-now"),
        )
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
}

#[tokio::test]
async fn ping_endpoint_runs_one_check_and_stores_nothing() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::ZERO).await;
    let response = app
        .anonymous(reqwest::Method::POST, "/ping-endpoint")
        .json(&json!({"endpoint": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "up");
    assert_eq!(body["statusCode"], 200);
    assert!(body["timings"]["connectMs"].as_f64().unwrap() > 0.0);
    assert!(body["timings"]["totalMs"].as_f64().unwrap() > 0.0);
    assert_eq!(body["endpoint"], url);
    let stored: i64 = app
        .db
        .query_one("SELECT count(*) FROM check_results", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);

    for (body, why) in [
        (json!({}), "is required"),
        (json!({"endpoint": 42}), "must be a string"),
        (json!({"endpoint": "not a url"}), "absolute"),
        (json!({"endpoint": "ftp://example.com/"}), "http or https"),
        (
            json!({"endpoint": "https://user:pw@example.com/"}),
            "credentials",
        ),
    ] {
        let response = app
            .anonymous(reqwest::Method::POST, "/ping-endpoint")
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), ["endpoint"]);
        assert!(
            error["details"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{error}"
        );
    }
}

#[tokio::test]
async fn ping_endpoint_reports_a_failure_in_words_with_its_detail_apart() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let closed = crate::support::closed_port().await;
    let response = app
        .anonymous(reqwest::Method::POST, "/ping-endpoint")
        .json(&json!({"endpoint": format!("http://{closed}/health")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["error"], format!("connection refused by {closed}"));
    assert_eq!(body["details"]["errorKind"], "connection_refused");
    assert_eq!(body["details"]["errorPhase"], "connect");
    assert_eq!(body["details"]["remoteAddr"], closed.to_string());
    assert!(body["details"]["osError"].is_i64(), "{body}");
}

#[tokio::test]
async fn ping_endpoint_refuses_private_targets_by_default() {
    let app = spawn_app_with(&[]).await;
    let url = target(Duration::ZERO).await;
    let response = app
        .anonymous(reqwest::Method::POST, "/ping-endpoint")
        .json(&json!({"endpoint": url}))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 422, "validation_failed").await;
    assert!(error["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("ALLOW_PRIVATE_TARGETS"));
}

#[tokio::test]
async fn workers_status_lists_workers_results_and_counts() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let url = target(Duration::ZERO).await;
    app.create_monitor(monitor(&url, 2)).await;
    // A worker that stopped beating 30 s ago.
    app.db
        .execute(
            "INSERT INTO worker_heartbeats (worker_id, host, pid, version, started_at, last_seen_at) \
             VALUES ('gone-1', 'old-host', 1, '0.0.1', now() - interval '1 hour', now() - interval '30 seconds')",
            &[],
        )
        .await
        .unwrap();
    let stop = start_worker(&app);
    let mut body = Value::Null;
    for _ in 0..60 {
        body = app
            .get("/api/v1/workers/status")
            .await
            .json()
            .await
            .unwrap();
        if body["recentResults"]
            .as_array()
            .is_some_and(|r| r.len() >= 2)
            && body["workers"].as_array().is_some_and(|w| w.len() == 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    let workers = body["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2, "{body}");
    let gone = workers.iter().find(|w| w["workerId"] == "gone-1").unwrap();
    assert_eq!(gone["stale"], true);
    let live = workers.iter().find(|w| w["workerId"] != "gone-1").unwrap();
    assert_eq!(live["stale"], false);
    assert_eq!(live["pid"], std::process::id());
    let result = &body["recentResults"][0];
    assert_eq!(result["monitorName"], "local");
    assert_eq!(result["status"], "up");
    assert!(result["timings"]["totalMs"].as_f64().unwrap() > 0.0);
    assert_eq!(body["monitors"]["up"], 1);
    assert_eq!(body["openIncidents"], 0);
}

#[tokio::test]
async fn incidents_are_listed_filtered_and_fetched() {
    let app = spawn_app_with(&[]).await;
    let a = app.create_monitor(crate::helpers::sibling_monitor()).await;
    let b = app.create_monitor(crate::helpers::sibling_monitor()).await;
    let a_id: Uuid = a["id"].as_str().unwrap().parse().unwrap();
    let b_id: Uuid = b["id"].as_str().unwrap().parse().unwrap();
    let mut ids = Vec::new();
    for (monitor, hours_ago, open) in [
        (a_id, 50, false),
        (a_id, 30, false),
        (b_id, 10, false),
        (a_id, 1, true),
    ] {
        let id = Uuid::now_v7();
        app.db
            .execute(
                "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, \
                     last_error, failure_count, opened_slot) \
                 VALUES ($1, $2, now() - make_interval(hours => $3), \
                     CASE WHEN $4 THEN NULL ELSE now() - make_interval(hours => $3) + interval '5 minutes' END, \
                     'timeout', 'timeout', 3, now())",
                &[&id, &monitor, &hours_ago, &open],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let all = app.collect_pages("/api/v1/incidents?limit=2").await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["id"], ids[3].to_string(), "newest first");
    assert_eq!(all[0]["monitorName"], "Example Website");
    assert!(all[0]["resolvedAt"].is_null());
    assert_eq!(all[1]["durationSeconds"], 300);

    let open = app.collect_pages("/api/v1/incidents?open=true").await;
    assert_eq!(open.len(), 1);
    let of_b = app
        .collect_pages(&format!("/api/v1/incidents?monitorId={b_id}"))
        .await;
    assert_eq!(of_b.len(), 1);
    let from = (chrono::Utc::now() - chrono::Duration::hours(40))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (chrono::Utc::now() - chrono::Duration::hours(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ranged = app
        .collect_pages(&format!("/api/v1/incidents?from={from}&to={to}"))
        .await;
    assert_eq!(ranged.len(), 2);

    let one: Value = app
        .get(&format!("/api/v1/incidents/{}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["monitorId"], a_id.to_string());
    assert_eq!(one["failureCount"], 3);
    assert_error(
        app.get(&format!("/api/v1/incidents/{}", Uuid::now_v7()))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/v1/incidents?from=yesterday").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/incidents?from={to}&to={from}"))
            .await,
        400,
        "invalid_query",
    )
    .await;
}
