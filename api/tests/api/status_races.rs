//! The status domain under concurrency and at its edges: two writers moving
//! one component, deleting a component with an automatic incident, an
//! incident closing over a failing component, failures on both sides of a
//! maintenance window.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use shared::model::{CheckResult, CheckStatus, Timings};
use uuid::Uuid;

use crate::helpers::{spawn_app, test_config, TestApp};

async fn monitor(app: &TestApp, threshold: u32) -> Uuid {
    let body = app
        .create_monitor(json!({
            "name": format!("m{}", Uuid::now_v7().simple()), "type": "tcp",
            "target": "example.com:443",
            "intervalSeconds": 60, "failureThreshold": threshold
        }))
        .await;
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn component(app: &TestApp, monitors: &[Uuid], auto_incident: bool) -> Uuid {
    let response = app
        .post(
            "/api/v1/components",
            &json!({"name": "Public API", "monitorIds": monitors, "autoIncident": auto_incident}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

fn result(monitor: Uuid, slot: DateTime<Utc>, status: CheckStatus) -> CheckResult {
    CheckResult {
        monitor_id: monitor,
        slot_ts: slot,
        checked_at: slot,
        worker_id: Some("test".into()),
        status,
        status_code: None,
        error: (status == CheckStatus::Down).then(|| "connect: refused".into()),
        timings: Timings::default(),
        body_snippet: None,
        details: None,
        in_maintenance: false,
    }
}

fn pool(app: &TestApp) -> deadpool_postgres::Pool {
    shared::db::build_pool(&test_config(&app.db_name, &[])).unwrap()
}

async fn write(pool: &deadpool_postgres::Pool, results: &[CheckResult]) {
    let mut client = pool.get().await.unwrap();
    uptime_worker::store::write_batch(&mut client, results)
        .await
        .unwrap();
}

/// Two batches written in two transactions at the same time.
async fn write_both(pool: &deadpool_postgres::Pool, first: CheckResult, second: CheckResult) {
    let (first, second) = ([first], [second]);
    tokio::join!(write(pool, &first), write(pool, &second));
}

async fn status(app: &TestApp, component: Uuid) -> String {
    app.db
        .query_one("SELECT status FROM components WHERE id = $1", &[&component])
        .await
        .unwrap()
        .get(0)
}

fn second(offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + offset, 0).unwrap()
}

#[tokio::test]
async fn two_writers_moving_one_component_at_once_leave_it_right() {
    let app = spawn_app().await;
    let pool = pool(&app);
    for round in 0..6 {
        let (a, b) = (monitor(&app, 1).await, monitor(&app, 1).await);
        let c = component(&app, &[a, b], false).await;
        let base = second(-100 + round * 10);
        write(
            &pool,
            &[
                result(a, base, CheckStatus::Up),
                result(b, base, CheckStatus::Up),
            ],
        )
        .await;
        let next = base + Duration::seconds(1);
        // Both go down in two transactions at once: all down is a major outage.
        write_both(
            &pool,
            result(a, next, CheckStatus::Down),
            result(b, next, CheckStatus::Down),
        )
        .await;
        let monitors: Vec<(String, i32, Option<DateTime<Utc>>)> = app
            .db
            .query(
                "SELECT status, consecutive_failures, last_slot FROM monitors WHERE id = ANY($1)",
                &[&vec![a, b]],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            status(&app, c).await,
            "major_outage",
            "round {round}: monitors {monitors:?}"
        );
        // One recovers while the other stays down: a partial outage.
        let later = next + Duration::seconds(1);
        write_both(
            &pool,
            result(a, later, CheckStatus::Up),
            result(b, later, CheckStatus::Down),
        )
        .await;
        assert_eq!(status(&app, c).await, "partial_outage", "round {round}");
        // The history is in the order of the changes, by time and by id.
        let history: Vec<(String, DateTime<Utc>)> = app
            .db
            .query(
                "SELECT new_status, at FROM component_status_changes WHERE component_id = $1 \
                 ORDER BY id",
                &[&c],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert!(history.windows(2).all(|w| w[0].1 <= w[1].1), "{history:?}");
        assert_eq!(history.last().unwrap().0, "partial_outage");
    }
}

#[tokio::test]
async fn deleting_a_component_resolves_its_automatic_incident_and_says_so() {
    let app = spawn_app().await;
    app.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config, events) \
             VALUES (gen_random_uuid(), 'hook', 'webhook', '{\"url\": \"https://hooks.example.com/x\"}', \
                     '{status_incident.resolved}')",
            &[],
        )
        .await
        .unwrap();
    let pool = pool(&app);
    let m = monitor(&app, 1).await;
    let c = component(&app, &[m], true).await;
    write(&pool, &[result(m, second(-10), CheckStatus::Down)]).await;
    let incident: Uuid = app
        .db
        .query_one(
            "SELECT id FROM status_incidents WHERE auto_component_id = $1",
            &[&c],
        )
        .await
        .unwrap()
        .get(0);
    // An operator takes it over and sets the component's status through it.
    let response = app
        .post(
            &format!("/api/v1/status-incidents/{incident}/updates"),
            &json!({"status": "identified", "body": "A bad deploy.",
                    "componentStatuses": {c.to_string(): "major_outage"}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app.delete(&format!("/api/v1/components/{c}")).await;
    assert_eq!(response.status(), 204);
    let row = app
        .db
        .query_one(
            "SELECT status, (SELECT body FROM status_incident_updates u WHERE u.incident_id = si.id \
                 ORDER BY display_at DESC, id DESC LIMIT 1) FROM status_incidents si WHERE id = $1",
            &[&incident],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "resolved");
    assert!(row.get::<_, String>(1).contains("no longer monitored"));
    let events: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM notification_events WHERE event_type = 'status_incident.resolved' \
               AND status_incident_id = $1",
            &[&incident],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1);
}

#[tokio::test]
async fn closing_an_incident_over_a_failing_component_hands_it_to_the_automation() {
    let app = spawn_app().await;
    let pool = pool(&app);
    let m = monitor(&app, 1).await;
    let c = component(&app, &[m], true).await;
    let created: Value = app
        .post(
            "/api/v1/status-incidents",
            &json!({"name": "Planned work", "componentIds": [c]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let operator = created["id"].as_str().unwrap().to_owned();
    write(&pool, &[result(m, second(-10), CheckStatus::Down)]).await;
    assert_eq!(status(&app, c).await, "major_outage");
    let open = || async {
        app.db
            .query_one(
                "SELECT count(*) FROM status_incidents WHERE auto_component_id = $1 \
                 AND resolved_at IS NULL",
                &[&c],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(open().await, 0, "covered by the operator's incident");
    let response = app
        .post(
            &format!("/api/v1/status-incidents/{operator}/updates"),
            &json!({"status": "resolved", "body": "Done."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(open().await, 1, "still failing: the automation opens one");
}

#[tokio::test]
async fn failures_before_a_window_do_not_join_failures_after_it() {
    let app = spawn_app().await;
    let pool = pool(&app);
    let m = monitor(&app, 3).await;
    let t = |i: i64| second(-100 + i);
    // Two failures (one short of the threshold), then a window over t3..t5.
    write(&pool, &[result(m, t(1), CheckStatus::Down)]).await;
    write(&pool, &[result(m, t(2), CheckStatus::Down)]).await;
    let window = Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO maintenance_windows (id, title, starts_at, ends_at, materialized_until) \
             VALUES ($1, 'Upgrade', $2, $3, $3)",
            &[&window, &t(3), &t(6)],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO maintenance_window_monitors (window_id, monitor_id) VALUES ($1, $2)",
            &[&window, &m],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) VALUES ($1, $2, $3)",
            &[&window, &t(3), &t(6)],
        )
        .await
        .unwrap();
    for i in 3..6 {
        write(&pool, &[result(m, t(i), CheckStatus::Up)]).await;
    }
    let incidents = || async {
        app.db
            .query(
                "SELECT started_at FROM incidents WHERE monitor_id = $1",
                &[&m],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, DateTime<Utc>>(0))
            .collect::<Vec<_>>()
    };
    write(&pool, &[result(m, t(6), CheckStatus::Down)]).await;
    write(&pool, &[result(m, t(7), CheckStatus::Down)]).await;
    assert!(
        incidents().await.is_empty(),
        "two failures after the window are not three"
    );
    write(&pool, &[result(m, t(8), CheckStatus::Down)]).await;
    assert_eq!(
        incidents().await,
        [t(6)],
        "it starts at the first failure after the window"
    );
}
