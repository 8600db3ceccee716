//! Thresholds: incidents open after failureThreshold failures and resolve
//! after recoveryThreshold successes, with their outbox rows.

use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};

async fn status(bed: &Bed, id: Uuid) -> String {
    bed.db
        .query_one("SELECT status FROM monitors WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

async fn attach_channel(bed: &Bed, monitor: Uuid) -> Uuid {
    let channel = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config) \
             VALUES ($1, 'hook', 'webhook', '{\"url\": \"https://hooks.example.com/x\"}')",
            &[&channel],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO monitor_channels (monitor_id, channel_id) VALUES ($1, $2)",
            &[&monitor, &channel],
        )
        .await
        .unwrap();
    channel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incidents_open_after_the_failure_threshold_and_resolve_on_recovery() {
    let bed = Bed::new().await;
    let id = bed
        .http_monitor(
            "/flaky/a",
            MonitorOptions {
                failure_threshold: 3,
                recovery_threshold: 2,
                ..MonitorOptions::default()
            },
        )
        .await;
    let channel = attach_channel(&bed, id).await;
    let metrics_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let worker = bed.worker(&[("METRICS_PORT", &metrics_port)]).await;
    bed.until(Duration::from_secs(5), "the monitor to be up", || async {
        status(&bed, id).await == "up"
    })
    .await;

    bed.hits.set_failing(true);
    let failing_from = chrono::Utc::now();
    // Two failures are below the threshold: still up, no incident.
    bed.until(Duration::from_secs(5), "two failures", || async {
        let failures: i32 = bed
            .db
            .query_one(
                "SELECT consecutive_failures FROM monitors WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        failures >= 2
    })
    .await;
    let open: i64 = bed
        .db
        .query_one(
            "SELECT count(*) FROM incidents WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    let failures_now: i32 = bed
        .db
        .query_one(
            "SELECT consecutive_failures FROM monitors WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    if failures_now < 3 {
        assert_eq!(open, 0, "no incident below the threshold");
        assert_eq!(status(&bed, id).await, "up");
    }
    bed.until(Duration::from_secs(5), "the incident to open", || async {
        status(&bed, id).await == "down"
    })
    .await;
    let incident = bed
        .db
        .query_one(
            "SELECT id, started_at, first_error, failure_count, resolved_at \
             FROM incidents WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let incident_id: Uuid = incident.get(0);
    let started: chrono::DateTime<chrono::Utc> = incident.get(1);
    assert!(
        started >= failing_from,
        "the incident starts at the first failure"
    );
    assert!(started < chrono::Utc::now() - chrono::Duration::milliseconds(1500));
    assert_eq!(
        incident.get::<_, Option<String>>(2).as_deref(),
        Some("HTTP 500 Internal Server Error, expected 2xx")
    );
    assert_eq!(incident.get::<_, i32>(3), 3);
    assert!(incident
        .get::<_, Option<chrono::DateTime<chrono::Utc>>>(4)
        .is_none());

    // Staying down counts failures on the same incident.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let row = bed
        .db
        .query_one(
            "SELECT count(*), max(failure_count) FROM incidents WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "still one incident");
    assert!(row.get::<_, Option<i32>>(1).unwrap() >= 5);

    bed.hits.set_failing(false);
    bed.until(
        Duration::from_secs(6),
        "the incident to resolve",
        || async { status(&bed, id).await == "up" },
    )
    .await;
    let resolved = bed
        .db
        .query_one(
            "SELECT resolved_at, resolved_slot FROM incidents WHERE id = $1",
            &[&incident_id],
        )
        .await
        .unwrap();
    assert!(resolved
        .get::<_, Option<chrono::DateTime<chrono::Utc>>>(0)
        .is_some());
    // Recovery needed two successes: the slot before the resolving one was up.
    let ups_before: i64 = bed
        .db
        .query_one(
            "SELECT count(*) FROM check_results WHERE monitor_id = $1 AND status = 'up' \
               AND slot_ts >= $2::timestamptz - interval '1 second' AND slot_ts <= $2",
            &[&id, &resolved.get::<_, chrono::DateTime<chrono::Utc>>(1)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ups_before, 2);

    // One outbox row per transition for the attached channel.
    let events = bed
        .db
        .query(
            "SELECT event_type, payload FROM notification_events WHERE channel_id = $1 \
             ORDER BY created_at",
            &[&channel],
        )
        .await
        .unwrap();
    let types: Vec<String> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(types, ["incident.opened", "incident.resolved"]);
    let opened: serde_json::Value = events[0].get(1);
    assert_eq!(opened["monitor"]["id"], id.to_string());
    assert_eq!(opened["incident"]["id"], incident_id.to_string());
    assert_eq!(opened["check"]["status"], "down");

    // The worker's metrics carry the checks and the incident.
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "uptime_checks_total{",
        "uptime_check_duration_seconds_bucket{",
        "uptime_scheduling_lateness_seconds_bucket",
        "uptime_incidents_opened_total",
        "uptime_incidents_resolved_total",
        "uptime_worker_checks_in_flight",
        "uptime_worker_results_buffered",
        "uptime_monitor_up{",
        "uptime_monitor_latency_seconds{",
    ] {
        assert!(
            metrics.contains(name),
            "metric {name} missing from /metrics"
        );
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn degraded_changes_the_status_but_opens_no_incident() {
    let bed = Bed::new().await;
    let id = bed
        .http_monitor(
            "/slow/60/degraded",
            MonitorOptions {
                failure_threshold: 1,
                degraded_threshold_ms: Some(10),
                ..MonitorOptions::default()
            },
        )
        .await;
    let channel = attach_channel(&bed, id).await;
    bed.db
        .execute(
            "UPDATE notification_channels SET events = '{monitor.degraded}' WHERE id = $1",
            &[&channel],
        )
        .await
        .unwrap();
    let worker = bed.worker(&[]).await;
    bed.until(Duration::from_secs(5), "a few degraded results", || async {
        bed.result_count(id).await >= 3
    })
    .await;
    worker.stop().await;
    assert_eq!(status(&bed, id).await, "degraded");
    let incidents: i64 = bed
        .db
        .query_one("SELECT count(*) FROM incidents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(incidents, 0);
    // A channel subscribed to degraded hears about the change once.
    let events: Vec<String> = bed
        .db
        .query(
            "SELECT event_type FROM notification_events WHERE channel_id = $1",
            &[&channel],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(events, ["monitor.degraded"]);
}
