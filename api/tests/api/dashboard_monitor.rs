//! The dashboard's monitor page (tests/browser/scenarios/dashboard-monitor.mjs)
//! in a real browser, against this API and a worker checking a local target
//! every second: the chart gains points over a refresh, check now shows the
//! result, pause and resume, a read key sees no action, phone width, dark
//! mode, and delete after a confirmation naming the monitor.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::browser::scenario;
use crate::checks::{start_worker, target};
use crate::helpers::{assert_error, spawn_app_with, TestApp, ADMIN_KEY};

/// A past outage (resolved incident), a month of daily rollups with one
/// bad day, and an hour of results every 30 s until two minutes ago, for
/// the calendar, the incident list and the chart.
async fn history(app: &TestApp, id: Uuid) {
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, \
                 status_code, connect_ms, ttfb_ms, total_ms) \
             SELECT $1, ts, ts, 'history', 'up', 200, 0.3 + n % 5 * 0.1, 2 + n % 7, \
                 2.5 + n % 7 + n % 5 * 0.1 \
             FROM (SELECT n, date_trunc('second', now()) - make_interval(secs => n * 30) \
                       + interval '250 milliseconds' AS ts \
                   FROM generate_series(4, 118) AS n) s",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO check_rollups_daily (monitor_id, bucket, checks, up, down, degraded, \
                 maintenance, latency_sum_ms, latency_p50_ms, latency_p95_ms, latency_max_ms) \
             SELECT $1, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' \
                     - make_interval(days => n), \
                 1440, 1440 - CASE WHEN n = 9 THEN 90 ELSE 0 END, CASE WHEN n = 9 THEN 90 ELSE 0 END, \
                 0, 0, 1440 * 40.0, 38, 75, 120 \
             FROM generate_series(3, 30) AS n",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, last_error, \
                 failure_count, opened_slot, resolved_slot) \
             VALUES (gen_random_uuid(), $1, now() - interval '9 days', now() - interval '9 days' + interval '90 minutes', \
                 'HTTP 503 from the target; expected 2xx', 'HTTP 503 from the target; expected 2xx', 90, \
                 now() - interval '9 days', now() - interval '9 days' + interval '90 minutes')",
            &[&id],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_monitor_page_shows_live_history_and_runs_its_actions_in_a_real_browser() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let url = target(Duration::from_millis(3)).await;
    let name = "Checkout API";
    let monitor = app
        .create_monitor(json!({
            "name": name, "type": "http", "target": url,
            "intervalSeconds": 1, "timeoutSeconds": 1, "tags": ["prod"],
        }))
        .await;
    let id: Uuid = monitor["id"].as_str().unwrap().parse().unwrap();
    history(&app, id).await;
    let reader = app.create_key(&["read"]).await;
    let stop = start_worker(&app);
    let artifacts = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/browser-artifacts");
    let output = scenario(
        "dashboard-monitor",
        &[&app.address, ADMIN_KEY, &reader, name, artifacts],
    )
    .await;
    let _ = stop.send(());
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }
    for screenshot in [
        "dashboard-monitor-desktop.png",
        "dashboard-monitor-phone.png",
        "dashboard-monitor-dark.png",
    ] {
        assert!(std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists());
    }
    // The page's delete went through the API, with its audit entry.
    assert_error(
        app.get(&format!("/api/v1/monitors/{id}")).await,
        404,
        "not_found",
    )
    .await;
    let actions: Vec<String> = app
        .db
        .query(
            "SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id",
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        actions,
        [
            "monitor.create",
            "monitor.pause",
            "monitor.resume",
            "monitor.delete"
        ]
    );
}
