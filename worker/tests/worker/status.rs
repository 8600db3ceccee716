//! The status domain end to end: real checks move a component, its
//! automatic status incident opens and resolves, and the status-domain
//! events reach a subscribed receiver once each, in the chat format asked.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};
use crate::support::receiver;

const WORKER: &[(&str, &str)] = &[
    ("WEBHOOK_RETRY_BASE_SECONDS", "1"),
    ("WEBHOOK_TIMEOUT_SECONDS", "2"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_move_a_component_and_its_automatic_incident_and_subscribers_hear_once() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    let hook = Uuid::now_v7();
    let slack = Uuid::now_v7();
    for (id, kind, path) in [(hook, "webhook", "/hook"), (slack, "slack", "/slack")] {
        bed.db
            .execute(
                "INSERT INTO notification_channels (id, name, type, config, events, throttle_seconds) \
                 VALUES ($1, $2, $2, $3, '{component.status_changed,status_incident.created,\
status_incident.resolved}', 0)",
                &[&id, &kind, &json!({"url": format!("http://{addr}{path}")})],
            )
            .await
            .unwrap();
    }
    let options = || MonitorOptions {
        failure_threshold: 1,
        ..MonitorOptions::default()
    };
    let steady = bed.http_monitor("/ok/steady", options()).await;
    let flaky = bed.http_monitor("/flaky/api", options()).await;
    let component = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO components (id, name, auto_incident) VALUES ($1, 'Public API', true)",
            &[&component],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO component_monitors (component_id, monitor_id) VALUES ($1, $2), ($1, $3)",
            &[&component, &steady, &flaky],
        )
        .await
        .unwrap();
    let status = || async {
        bed.db
            .query_one("SELECT status FROM components WHERE id = $1", &[&component])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    let worker = bed.worker(WORKER).await;
    bed.until(
        Duration::from_secs(10),
        "operational from its monitors",
        || async {
            status().await == "operational"
                && bed.result_count(flaky).await > 0
                && bed.result_count(steady).await > 0
        },
    )
    .await;
    bed.hits.set_failing(true);
    bed.until(Duration::from_secs(10), "a partial outage", || async {
        status().await == "partial_outage"
    })
    .await;
    bed.hits.set_failing(false);
    bed.until(Duration::from_secs(10), "operational again", || async {
        status().await == "operational"
    })
    .await;
    // Every event delivered: 2 changes and the incident's open and resolve,
    // to each of the two channels.
    bed.until(Duration::from_secs(15), "eight deliveries", || async {
        rx.count() >= 8
            && bed
                .db
                .query_one(
                    "SELECT count(*) FROM notification_events WHERE status <> 'delivered'",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
                == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    worker.stop().await;

    let requests = rx.requests();
    let hooks: Vec<Value> = requests
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| r.json())
        .collect();
    let kinds: Vec<&str> = hooks.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(hooks.len(), 4, "{kinds:?}");
    for kind in [
        "component.status_changed",
        "status_incident.created",
        "status_incident.resolved",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let ids: std::collections::HashSet<&str> =
        hooks.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "each event once");
    let changes: Vec<(&str, &str)> = hooks
        .iter()
        .filter(|p| p["type"] == "component.status_changed")
        .map(|p| {
            (
                p["component"]["oldStatus"].as_str().unwrap(),
                p["component"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("operational", "partial_outage")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("partial_outage", "operational")),
        "{changes:?}"
    );
    let created = hooks
        .iter()
        .find(|p| p["type"] == "status_incident.created")
        .unwrap();
    assert_eq!(
        created["statusIncident"]["name"],
        "Public API is experiencing issues"
    );
    assert_eq!(
        created["statusIncident"]["components"][0]["name"],
        "Public API"
    );
    let slack_texts: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/slack")
        .map(|r| r.json()["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(slack_texts.len(), 4, "{slack_texts:?}");
    assert!(
        slack_texts
            .iter()
            .any(|t| t.contains("Public API: Partial outage")),
        "{slack_texts:?}"
    );
    assert!(
        slack_texts
            .iter()
            .any(|t| t.contains("Resolved: Public API is experiencing issues")),
        "{slack_texts:?}"
    );

    // The incident opened, linked to the monitor incident, and resolved
    // with the automation's update.
    let incident = bed
        .db
        .query_one(
            "SELECT si.status, (SELECT count(*) FROM status_incident_monitor_incidents l \
                 WHERE l.incident_id = si.id), \
                 ARRAY(SELECT u.body FROM status_incident_updates u WHERE u.incident_id = si.id \
                       ORDER BY u.display_at) \
             FROM status_incidents si WHERE si.auto_component_id = $1",
            &[&component],
        )
        .await
        .unwrap();
    assert_eq!(incident.get::<_, String>(0), "resolved");
    assert_eq!(incident.get::<_, i64>(1), 1);
    assert_eq!(
        incident.get::<_, Vec<String>>(2),
        [
            "Investigating: Public API is experiencing issues.",
            "Resolved: Public API is operational again."
        ]
    );
    let history: Vec<String> = bed
        .db
        .query(
            "SELECT new_status FROM component_status_changes WHERE component_id = $1 ORDER BY id",
            &[&component],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        history
            .iter()
            .skip_while(|s| *s == "operational")
            .collect::<Vec<_>>(),
        ["partial_outage", "operational"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_manual_status_with_an_end_is_ended_by_the_workers_on_time() {
    let bed = Bed::new().await;
    let component = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO components (id, name) VALUES ($1, 'Website')",
            &[&component],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "UPDATE components SET manual_status = 'major_outage', manual_message = 'Migrating', \
                 manual_until = now() + interval '3 seconds' WHERE id = $1",
            &[&component],
        )
        .await
        .unwrap();
    let worker = bed.worker(WORKER).await;
    let source = || async {
        bed.db
            .query_one(
                "SELECT status, status_source, manual_status IS NULL \
                 FROM components WHERE id = $1",
                &[&component],
            )
            .await
            .unwrap()
    };
    bed.until(Duration::from_secs(10), "the override ends", || async {
        source().await.get::<_, String>(1) == "automatic"
    })
    .await;
    worker.stop().await;
    let row = source().await;
    assert_eq!(row.get::<_, String>(0), "operational");
    assert!(row.get::<_, bool>(2), "the override is cleared");
    let history: Vec<(String, String)> = bed
        .db
        .query(
            "SELECT new_status, source FROM component_status_changes WHERE component_id = $1 \
             ORDER BY id",
            &[&component],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        history,
        [
            ("operational".to_owned(), "automatic".to_owned()),
            ("major_outage".to_owned(), "manual".to_owned()),
            ("operational".to_owned(), "automatic".to_owned()),
        ]
    );
    let lasted: f64 = bed
        .db
        .query_one(
            "SELECT extract(epoch FROM max(at) - min(at) FILTER (WHERE source = 'manual'))::float8 \
             FROM component_status_changes WHERE component_id = $1",
            &[&component],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        (3.0..6.0).contains(&lasted),
        "ended within a clock tick of its time, after {lasted} s"
    );
}
