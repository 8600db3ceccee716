//! Retention, rollups and `GET /monitors/{id}/uptime`: the answer from
//! rollups equals the answer from raw rows, late results roll their hour
//! again, old partitions and rollups go.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::model::{CheckResult, CheckStatus, Timings};
use shared::rollup;
use uuid::Uuid;

use crate::helpers::{assert_error, spawn_app, test_config, TestApp};

async fn monitor(app: &TestApp) -> Uuid {
    let body = app
        .create_monitor(json!({
            "name": "history", "type": "tcp", "target": "example.com:443", "intervalSeconds": 60
        }))
        .await;
    body["id"].as_str().unwrap().parse().unwrap()
}

/// Four days of one-minute results ending two minutes ago: down for one
/// hour 30 h ago, degraded every 7th slot, latency varying.
async fn history(app: &TestApp, id: Uuid) {
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, total_ms) \
             SELECT $1, ts, ts, 'seed', \
                 CASE WHEN ts >= now() - interval '30 hours' AND ts < now() - interval '29 hours' THEN 'down' \
                      WHEN extract(epoch FROM ts)::int8 / 60 % 7 = 0 THEN 'degraded' ELSE 'up' END, \
                 10 + (extract(epoch FROM ts)::int8 / 60 % 97) \
             FROM generate_series(date_trunc('minute', now()) - interval '4 days', \
                                  now() - interval '2 minutes', interval '1 minute') AS ts",
            &[&id],
        )
        .await
        .unwrap();
    // Resolved 30 h ago after an hour; one 8 days ago lasting 2 h (half of it
    // inside 7 days); one open for 10 minutes.
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, opened_slot) \
             SELECT gen_random_uuid(), $1, s, r, 'x', s FROM (VALUES \
                 (now() - interval '30 hours', now() - interval '29 hours'), \
                 (now() - interval '7 days 1 hour', now() - interval '6 days 23 hours'), \
                 (now() - interval '10 minutes', NULL)) AS v(s, r)",
            &[&id],
        )
        .await
        .unwrap();
}

async fn uptime(app: &TestApp, id: Uuid, period: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/monitors/{id}/uptime?period={period}"))
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Counts straight from the raw rows over the answer's own [from, to).
async fn raw_truth(app: &TestApp, id: Uuid, answer: &Value) -> (i64, i64, i64, i64, f64) {
    let row = app
        .db
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'up'), \
                 count(*) FILTER (WHERE status = 'down'), count(*) FILTER (WHERE status = 'degraded'), \
                 coalesce(max(total_ms), 0)::float8 \
             FROM check_results WHERE monitor_id = $1 \
               AND slot_ts >= $2::text::timestamptz AND slot_ts < $3::text::timestamptz",
            &[&id, &answer["from"].as_str().unwrap(), &answer["to"].as_str().unwrap()],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
}

fn counts(answer: &Value) -> (i64, i64, i64, i64, f64) {
    (
        answer["checks"].as_i64().unwrap(),
        answer["up"].as_i64().unwrap(),
        answer["down"].as_i64().unwrap(),
        answer["degraded"].as_i64().unwrap(),
        answer["latencyMaxMs"].as_f64().unwrap_or(0.0),
    )
}

async fn maintain_until_idle(app: &TestApp, retention_days: u32) -> Vec<rollup::Report> {
    let mut client = shared::testing::connect(&app.db_name).await;
    let mut reports = Vec::new();
    loop {
        let report = rollup::maintain(&mut client, retention_days).await.unwrap();
        assert!(report.ran, "nobody else holds the lock in this database");
        let idle = report.hours_rolled == 0 && report.days_rolled == 0;
        reports.push(report);
        if idle {
            return reports;
        }
    }
}

#[tokio::test]
async fn uptime_from_rollups_equals_uptime_from_raw_rows() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    history(&app, id).await;

    let mut before = Vec::new();
    for period in ["24h", "7d", "30d"] {
        let answer = uptime(&app, id, period).await;
        assert_eq!(
            counts(&answer),
            raw_truth(&app, id, &answer).await,
            "{period} before rollups"
        );
        before.push(answer);
    }

    let reports = maintain_until_idle(&app, 30).await;
    // 4 days of hours take more than one capped run.
    assert!(reports.len() >= 3, "{reports:?}");
    let hours: usize = reports.iter().map(|r| r.hours_rolled).sum();
    let days: usize = reports.iter().map(|r| r.days_rolled).sum();
    assert!((94..=98).contains(&hours), "hours rolled: {hours}");
    assert!((3..=4).contains(&days), "days rolled: {days}");
    let down: i64 = app
        .db
        .query_one(
            "SELECT sum(down)::int8 FROM check_rollups_hourly WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(down, 60, "the down hour, spread over two hourly buckets");

    for (period, old) in ["24h", "7d", "30d"].into_iter().zip(before) {
        let answer = uptime(&app, id, period).await;
        assert_eq!(
            counts(&answer),
            raw_truth(&app, id, &answer).await,
            "{period} from rollups"
        );
        let avg = answer["latencyAvgMs"].as_f64().unwrap();
        assert!(
            (avg - old["latencyAvgMs"].as_f64().unwrap()).abs() < 0.5,
            "{period}: {answer} vs {old}"
        );
        let expected =
            100.0 * (1.0 - answer["down"].as_f64().unwrap() / answer["checks"].as_f64().unwrap());
        assert!((answer["uptimePercent"].as_f64().unwrap() - expected).abs() < 0.001);
    }

    // The answer really comes from the rollups: raw rows of rolled days can
    // go (as retention drops them) without changing it.
    let week = uptime(&app, id, "7d").await;
    app.db
        .execute(
            "DELETE FROM check_results WHERE slot_ts < now() - interval '2 days'",
            &[],
        )
        .await
        .unwrap();
    let after = uptime(&app, id, "7d").await;
    assert_eq!(counts(&after), counts(&week));
    assert!(counts(&after).0 > raw_truth(&app, id, &after).await.0);

    let day = uptime(&app, id, "24h").await;
    assert_eq!(day["incidents"], 1, "{day}");
    let open = day["downtimeSeconds"].as_f64().unwrap();
    assert!((600.0..630.0).contains(&open), "{day}");
    let week = uptime(&app, id, "7d").await;
    assert_eq!(week["incidents"], 3, "{week}");
    let downtime = week["downtimeSeconds"].as_f64().unwrap();
    assert!((7800.0..7830.0).contains(&downtime), "{week}");
    assert_eq!(uptime(&app, id, "30d").await["incidents"], 3);
    assert_eq!(week["period"], "7d");
    assert_eq!(week["monitorId"], id.to_string());
}

#[tokio::test]
async fn a_late_result_rolls_its_hour_and_day_again() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    history(&app, id).await;
    maintain_until_idle(&app, 30).await;

    // A result for an hour that is already rolled, written the way a worker
    // writes (e.g. its buffer flushed after Postgres came back).
    let hour: DateTime<Utc> = app
        .db
        .query_one(
            "SELECT date_trunc('hour', now(), 'UTC') - interval '40 hours'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rolled = |table: &'static str, bucket: DateTime<Utc>| {
        let db = &app.db;
        async move {
            let row = db
                .query_one(
                    &format!("SELECT checks, latency_max_ms FROM {table} WHERE monitor_id = $1 AND bucket = $2"),
                    &[&id, &bucket],
                )
                .await
                .unwrap();
            (row.get::<_, i32>(0), row.get::<_, f32>(1))
        }
    };
    let day = rollup::Kind::Daily.floor(hour);
    let (hour_checks, _) = rolled("check_rollups_hourly", hour).await;
    let (day_checks, _) = rolled("check_rollups_daily", day).await;

    let config = test_config(&app.db_name, &[]);
    let pool = shared::db::build_pool(&config).unwrap();
    let mut client = pool.get().await.unwrap();
    let late = CheckResult {
        monitor_id: id,
        slot_ts: hour + Duration::seconds(90),
        checked_at: hour + Duration::seconds(90),
        worker_id: Some("late".into()),
        status: CheckStatus::Up,
        status_code: None,
        error: None,
        timings: Timings {
            total_ms: 5000.0,
            ..Timings::default()
        },
        body_snippet: None,
        details: None,
        in_maintenance: false,
    };
    let applied = uptime_worker::store::write_batch(&mut client, &[late])
        .await
        .unwrap();
    assert_eq!(applied.inserted, 1);
    let dirty: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM rollup_dirty_hours WHERE hour = $1",
            &[&hour],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dirty, 1, "the writer marks the hour");

    maintain_until_idle(&app, 30).await;
    assert_eq!(
        rolled("check_rollups_hourly", hour).await,
        (hour_checks + 1, 5000.0)
    );
    assert_eq!(
        rolled("check_rollups_daily", day).await,
        (day_checks + 1, 5000.0)
    );
    let left: i64 = app
        .db
        .query_one("SELECT count(*) FROM rollup_dirty_hours", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn retention_drops_old_days_and_year_old_rollups() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    app.db
        .batch_execute(
            "SELECT uptime_ensure_check_result_partitions(\
                 (now() AT TIME ZONE 'UTC')::date - 40, (now() AT TIME ZONE 'UTC')::date - 38)",
        )
        .await
        .unwrap();
    // Rows 39 days ago (a partition), 50 days ago (no partition: the
    // default one), and yesterday.
    for days in [39, 50, 1] {
        app.db
            .execute(
                "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
                 VALUES ($1, now() - make_interval(days => $2), now() - make_interval(days => $2), 'up', 1)",
                &[&id, &days],
            )
            .await
            .unwrap();
    }
    app.db
        .execute(
            "INSERT INTO check_rollups_hourly VALUES ($1, now() - interval '400 days', 1, 1, 0, 0, 1, 1, 1, 1), \
                                                     ($1, now() - interval '300 days', 1, 1, 0, 0, 1, 1, 1, 1)",
            &[&id],
        )
        .await
        .unwrap();

    let reports = maintain_until_idle(&app, 30).await;
    assert_eq!(reports[0].partitions_dropped, 3, "{reports:?}");
    assert_eq!(reports[0].rollups_pruned, 1, "{reports:?}");
    let days: Vec<i32> = app
        .db
        .query(
            "SELECT (now()::date - slot_ts::date) FROM check_results WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(days, vec![1]);
    let ahead: Option<String> = app
        .db
        .query_one(
            "SELECT to_regclass('check_results_' || to_char((now() AT TIME ZONE 'UTC')::date + 7, 'YYYYMMDD'))::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ahead.is_some(), "a week of partitions ahead");
    let old: Option<String> = app
        .db
        .query_one(
            "SELECT to_regclass('check_results_' || to_char((now() AT TIME ZONE 'UTC')::date - 39, 'YYYYMMDD'))::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(old.is_none());

    // A deleted monitor's rollups go with it.
    app.delete(&format!("/api/v1/monitors/{id}")).await;
    let left: i64 = app
        .db
        .query_one("SELECT count(*) FROM check_rollups_hourly", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn uptime_rejects_bad_periods_and_needs_read_scope() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let empty = uptime(&app, id, "90d").await;
    assert_eq!(empty["checks"], 0);
    assert!(empty["uptimePercent"].is_null());
    assert_eq!(empty["downtimeSeconds"], 0.0);
    let body = assert_error(
        app.get(&format!("/api/v1/monitors/{id}/uptime?period=2d"))
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("24h, 7d, 30d, 90d, 365d"));
    assert_error(
        app.get(&format!("/api/v1/monitors/{id}/uptime?perod=7d"))
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/monitors/{}/uptime", Uuid::now_v7()))
            .await,
        404,
        "not_found",
    )
    .await;
    let writer = app.create_key(&["write"]).await;
    assert_error(
        app.request_as(
            &writer,
            Method::GET,
            &format!("/api/v1/monitors/{id}/uptime"),
        )
        .send()
        .await
        .unwrap(),
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn checks_in_maintenance_are_counted_apart_and_left_out_of_uptime() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    history(&app, id).await;
    // Two hours, 20 h ago, taken during maintenance and all down: without
    // the split they would cost 120 checks of downtime.
    let marked = app
        .db
        .execute(
            "UPDATE check_results SET in_maintenance = true, status = 'down' \
             WHERE monitor_id = $1 AND slot_ts >= now() - interval '20 hours' \
               AND slot_ts < now() - interval '18 hours'",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(marked, 120);
    for rolled in [false, true] {
        if rolled {
            maintain_until_idle(&app, 30).await;
        }
        let day = uptime(&app, id, "24h").await;
        assert_eq!(day["maintenanceChecks"], 120, "rolled: {rolled}: {day}");
        let row = app
            .db
            .query_one(
                "SELECT count(*) FILTER (WHERE NOT in_maintenance), \
                     count(*) FILTER (WHERE status = 'down' AND NOT in_maintenance) \
                 FROM check_results WHERE monitor_id = $1 \
                   AND slot_ts >= $2::text::timestamptz AND slot_ts < $3::text::timestamptz",
                &[
                    &id,
                    &day["from"].as_str().unwrap(),
                    &day["to"].as_str().unwrap(),
                ],
            )
            .await
            .unwrap();
        let (checks, down): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(day["checks"], checks, "rolled: {rolled}");
        assert_eq!(day["down"], down, "rolled: {rolled}");
        #[allow(clippy::cast_precision_loss)]
        let expected = 100.0 * (1.0 - down as f64 / checks as f64);
        let percent = day["uptimePercent"].as_f64().unwrap();
        assert!(
            (percent - expected).abs() < 0.001,
            "rolled: {rolled}: {day}"
        );
    }
}
