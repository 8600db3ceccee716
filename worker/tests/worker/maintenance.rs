//! Maintenance windows at the result writer: results taken inside a window
//! are stored and marked, open no incident and notify nobody; a failure
//! still going when the window ends opens its incident then, once, with the
//! first failing slot after the window as its start.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};

/// A one-off window over `monitor` from `starts_at` to `ends_at`, with its
/// occurrence row (what the writer reads).
async fn window(bed: &Bed, monitor: Uuid, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) {
    let id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO maintenance_windows (id, title, starts_at, ends_at, materialized_until) \
             VALUES ($1, 'Database upgrade', $2, $3, $3)",
            &[&id, &starts_at, &ends_at],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO maintenance_window_monitors (window_id, monitor_id) VALUES ($1, $2)",
            &[&id, &monitor],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) VALUES ($1, $2, $3)",
            &[&id, &starts_at, &ends_at],
        )
        .await
        .unwrap();
}

/// The whole second `seconds` from now.
fn second(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + seconds, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failure_inside_a_window_opens_no_incident_and_one_that_outlasts_it_opens_one() {
    let bed = Bed::new().await;
    let channel = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config) \
             VALUES ($1, 'hook', 'webhook', '{\"url\": \"https://hooks.example.com/x\"}')",
            &[&channel],
        )
        .await
        .unwrap();
    let options = || MonitorOptions {
        failure_threshold: 2,
        ..MonitorOptions::default()
    };
    // Fails only inside the window: the target answers 503 throughout, but
    // this monitor's window covers everything until it is deleted.
    let inside = bed.http_monitor("/status/503", options()).await;
    // Fails inside the window and goes on failing after it.
    let outlasting = bed.http_monitor("/status/503?outlasting", options()).await;
    for monitor in [inside, outlasting] {
        bed.db
            .execute(
                "INSERT INTO monitor_channels (monitor_id, channel_id) VALUES ($1, $2)",
                &[&monitor, &channel],
            )
            .await
            .unwrap();
    }
    let (starts, ends) = (second(-60), second(4));
    window(&bed, inside, starts, second(3600)).await;
    window(&bed, outlasting, starts, ends).await;
    let worker = bed.worker(&[]).await;
    bed.until(
        Duration::from_secs(20),
        "the outlasting failure opens its incident",
        || async {
            bed.db
                .query_one(
                    "SELECT count(*) FROM incidents WHERE monitor_id = $1",
                    &[&outlasting],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
                == 1
        },
    )
    .await;
    // A few more slots, to see nothing else opens.
    tokio::time::sleep(Duration::from_secs(3)).await;
    worker.stop().await;

    let marked = |monitor: Uuid| {
        let db = &bed.db;
        async move {
            let rows = db
                .query(
                    "SELECT slot_ts, in_maintenance, status FROM check_results \
                     WHERE monitor_id = $1 ORDER BY slot_ts",
                    &[&monitor],
                )
                .await
                .unwrap();
            rows.iter()
                .map(|r| {
                    (
                        r.get::<_, DateTime<Utc>>(0),
                        r.get::<_, bool>(1),
                        r.get::<_, String>(2),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let inside_results = marked(inside).await;
    assert!(inside_results.len() >= 5);
    assert!(
        inside_results.iter().all(|(_, m, s)| *m && s == "down"),
        "every result of the covered monitor is stored, down and marked: {inside_results:?}"
    );
    let outlasting_results = marked(outlasting).await;
    for (slot, in_maintenance, _) in &outlasting_results {
        assert_eq!(*in_maintenance, *slot < ends, "{slot}");
    }
    let first_after = outlasting_results
        .iter()
        .find(|(slot, _, _)| *slot >= ends)
        .map(|(slot, _, _)| *slot)
        .expect("results after the window");

    let incidents = bed
        .db
        .query(
            "SELECT monitor_id, opened_slot, started_at FROM incidents ORDER BY started_at",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        incidents.len(),
        1,
        "only the failure that outlasts the window opens one"
    );
    let incident = &incidents[0];
    assert_eq!(incident.get::<_, Uuid>(0), outlasting);
    let started: DateTime<Utc> = incident.get(2);
    assert!(
        started >= first_after && started < first_after + chrono::Duration::seconds(2),
        "the incident starts at the first failing slot after the window ({first_after}), not {started}"
    );
    assert_eq!(
        incident.get::<_, DateTime<Utc>>(1),
        first_after + chrono::Duration::seconds(1),
        "it opens at the second failure after the window (threshold 2)"
    );
    let events = bed
        .db
        .query(
            "SELECT monitor_id, event_type FROM notification_events",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        events.len(),
        1,
        "one opened event, for the outlasting failure"
    );
    assert_eq!(events[0].get::<_, Option<Uuid>>(0), Some(outlasting));
    assert_eq!(events[0].get::<_, String>(1), "incident.opened");
    // The covered monitor's state held still: no failures counted.
    let row = bed
        .db
        .query_one(
            "SELECT status, consecutive_failures, last_slot FROM monitors WHERE id = $1",
            &[&inside],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(1), 0);
    assert_ne!(row.get::<_, String>(0), "down");
    assert_eq!(
        row.get::<_, Option<DateTime<Utc>>>(2),
        inside_results.last().map(|r| r.0),
        "its last slot still moves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_announce_a_window_start_and_end_once_and_its_component_follows() {
    let bed = Bed::new().await;
    let (addr, rx) = crate::support::receiver().await;
    let channel = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config, events) \
             VALUES ($1, 'hook', 'webhook', $2, '{maintenance.started,maintenance.ended}')",
            &[
                &channel,
                &serde_json::json!({"url": format!("http://{addr}/hook")}),
            ],
        )
        .await
        .unwrap();
    let monitor = bed
        .http_monitor("/ok/covered", MonitorOptions::default())
        .await;
    let component = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO components (id, name) VALUES ($1, 'Database')",
            &[&component],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO component_monitors (component_id, monitor_id) VALUES ($1, $2)",
            &[&component, &monitor],
        )
        .await
        .unwrap();
    let (starts, ends) = (second(4), second(8));
    let window_id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO maintenance_windows (id, title, starts_at, ends_at) \
             VALUES ($1, 'Database upgrade', $2, $3)",
            &[&window_id, &starts, &ends],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO maintenance_window_components (window_id, component_id) VALUES ($1, $2)",
            &[&window_id, &component],
        )
        .await
        .unwrap();
    let workers = [
        bed.worker(&[]).await,
        bed.worker(&[]).await,
        bed.worker(&[]).await,
    ];
    let status = || async {
        bed.db
            .query_one("SELECT status FROM components WHERE id = $1", &[&component])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    bed.until(Duration::from_secs(12), "under maintenance", || async {
        status().await == "under_maintenance"
    })
    .await;
    bed.until(Duration::from_secs(12), "out of maintenance", || async {
        status().await == "operational"
    })
    .await;
    bed.until(Duration::from_secs(10), "both events delivered", || async {
        rx.count() >= 2
    })
    .await;
    // Several more clock ticks of all three workers: nothing more is sent.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for worker in workers {
        worker.stop().await;
    }
    let kinds: Vec<String> = rx
        .requests()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["maintenance.started", "maintenance.ended"]);
    let started = &rx.requests()[0].json();
    assert_eq!(started["maintenance"]["title"], "Database upgrade");
    assert_eq!(started["maintenance"]["components"][0]["name"], "Database");
    let history: Vec<(String, String)> = bed
        .db
        .query(
            "SELECT new_status, source FROM component_status_changes \
             WHERE component_id = $1 ORDER BY id",
            &[&component],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let after_creation: Vec<(&str, &str)> = history
        .iter()
        .skip(1)
        .map(|(s, src)| (s.as_str(), src.as_str()))
        .collect();
    assert_eq!(
        after_creation,
        [
            ("under_maintenance", "maintenance"),
            ("operational", "automatic")
        ],
        "{history:?}"
    );
    let edges = bed
        .db
        .query_one(
            "SELECT started_at, ended_at FROM maintenance_occurrences WHERE window_id = $1",
            &[&window_id],
        )
        .await
        .unwrap();
    let (started_at, ended_at): (DateTime<Utc>, DateTime<Utc>) = (edges.get(0), edges.get(1));
    assert!(started_at >= starts && started_at < starts + chrono::Duration::seconds(4));
    assert!(ended_at >= ends && ended_at < ends + chrono::Duration::seconds(4));
}
