//! `GET /monitors/{id}/series` and `GET /monitors/{id}/uptime/daily`: the
//! figures of each bucket and day, computed by hand from results and rollup
//! rows inserted directly; buckets from raw results, from rollups before
//! their watermark and from raw results after it; the rollup job filling
//! the phase columns.

use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::rollup;
use uuid::Uuid;

use crate::helpers::{assert_error, spawn_app, TestApp};

async fn monitor(app: &TestApp) -> Uuid {
    let body = app
        .create_monitor(json!({
            "name": "series", "type": "tcp", "target": "example.com:443", "intervalSeconds": 60
        }))
        .await;
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn db_now(app: &TestApp) -> DateTime<Utc> {
    app.db.query_one("SELECT now()", &[]).await.unwrap().get(0)
}

fn floor(t: DateTime<Utc>, width: Duration) -> DateTime<Utc> {
    t.duration_trunc(width).unwrap()
}

/// Phase times of a result: dns, connect, tls, first byte.
type Phases = [Option<f32>; 4];
const NO_PHASES: Phases = [None; 4];

/// Inserts one result as a worker would store it.
async fn result(
    app: &TestApp,
    id: Uuid,
    at: DateTime<Utc>,
    status: &str,
    total: f32,
    phases: Phases,
    in_maintenance: bool,
) {
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, \
                 total_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, in_maintenance) \
             VALUES ($1, $2, $2, 'seed', $3, $4, $5, $6, $7, $8, $9)",
            &[
                &id,
                &at,
                &status,
                &total,
                &phases[0],
                &phases[1],
                &phases[2],
                &phases[3],
                &in_maintenance,
            ],
        )
        .await
        .unwrap();
}

/// A rollup row: (checks, up, down, degraded, maintenance), latency (sum,
/// p50, p95, max), and phases (timed checks, dns, connect, tls, ttfb sums;
/// None as rows rolled before phases were kept).
struct Rollup {
    counts: (i32, i32, i32, i32, i32),
    latency: (f64, f32, f32, f32),
    phases: Option<(i32, [Option<f64>; 4])>,
}

async fn rollup_row(
    app: &TestApp,
    kind: rollup::Kind,
    id: Uuid,
    bucket: DateTime<Utc>,
    row: Rollup,
) {
    let (checks, up, down, degraded, maintenance) = row.counts;
    let (sum, p50, p95, max) = row.latency;
    let (timed, sums) = match row.phases {
        Some((timed, sums)) => (Some(timed), sums),
        None => (None, [None; 4]),
    };
    app.db
        .execute(
            &format!(
                "INSERT INTO {} (monitor_id, bucket, checks, up, down, degraded, maintenance, \
                     latency_sum_ms, latency_p50_ms, latency_p95_ms, latency_max_ms, timed_checks, \
                     dns_sum_ms, connect_sum_ms, tls_sum_ms, ttfb_sum_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                kind.table()
            ),
            &[
                &id,
                &bucket,
                &checks,
                &up,
                &down,
                &degraded,
                &maintenance,
                &sum,
                &p50,
                &p95,
                &max,
                &timed,
                &sums[0],
                &sums[1],
                &sums[2],
                &sums[3],
            ],
        )
        .await
        .unwrap();
}

async fn watermark(app: &TestApp, kind: &str, through: DateTime<Utc>) {
    app.db
        .execute(
            "INSERT INTO rollup_state (kind, through) VALUES ($1, $2) \
             ON CONFLICT (kind) DO UPDATE SET through = $2",
            &[&kind, &through],
        )
        .await
        .unwrap();
}

async fn get_as(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.request_as(key, Method::GET, path).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn series(app: &TestApp, id: Uuid, period: &str) -> Value {
    get_as(
        app,
        crate::helpers::ADMIN_KEY,
        &format!("/api/v1/monitors/{id}/series?period={period}"),
    )
    .await
}

fn at(point: &Value) -> DateTime<Utc> {
    point["at"].as_str().unwrap().parse().unwrap()
}

/// Asserts the counts of a point or day: checks, up, down, degraded, maintenance.
fn assert_counts(item: &Value, expected: (i64, i64, i64, i64, i64)) {
    let got = (
        item["checks"].as_i64().unwrap(),
        item["up"].as_i64().unwrap(),
        item["down"].as_i64().unwrap(),
        item["degraded"].as_i64().unwrap(),
        item["maintenanceChecks"].as_i64().unwrap(),
    );
    assert_eq!(got, expected, "{item}");
}

/// Asserts millisecond fields (null where None), to the answer's 3 decimals.
fn assert_ms(point: &Value, fields: &[(&str, Option<f64>)]) {
    for (field, expected) in fields {
        match expected {
            None => assert!(point[field].is_null(), "{field} should be null in {point}"),
            Some(value) => {
                let got = point[field]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{field} missing in {point}"));
                assert!(
                    (got - value).abs() < 0.0015,
                    "{field}: {got} != {value} in {point}"
                );
            }
        }
    }
}

#[tokio::test]
async fn short_periods_bucket_raw_results_with_percentiles_and_phase_means() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let now = db_now(&app).await;
    // A 5-minute boundary at least 10 minutes ago: the start of a 15-s
    // bucket (1 h) and of a 5-min bucket (24 h).
    let b = floor(now - Duration::minutes(10), Duration::minutes(5));
    let s = Duration::seconds;
    result(
        &app,
        id,
        b,
        "up",
        100.0,
        [Some(10.0), Some(20.0), Some(30.0), Some(40.0)],
        false,
    )
    .await;
    result(
        &app,
        id,
        b + s(5),
        "degraded",
        300.0,
        [Some(20.0), Some(40.0), None, Some(200.0)],
        false,
    )
    .await;
    // Failed checks count but add no phases; the last microsecond of the bucket.
    result(
        &app,
        id,
        b + Duration::microseconds(14_999_999),
        "down",
        1000.0,
        [Some(999.0), None, None, None],
        false,
    )
    .await;
    // In maintenance: counted apart, its latency counts.
    result(&app, id, b + s(7), "down", 400.0, NO_PHASES, true).await;
    // The next 15-s bucket starts exactly here.
    result(
        &app,
        id,
        b + s(15),
        "up",
        50.0,
        [Some(1.0), Some(2.0), Some(3.0), Some(4.0)],
        false,
    )
    .await;
    // Outside the last hour, inside the last day; a check without phases.
    result(
        &app,
        id,
        b - Duration::hours(1),
        "up",
        70.0,
        NO_PHASES,
        false,
    )
    .await;
    // Older than a day.
    result(
        &app,
        id,
        now - Duration::hours(25),
        "up",
        5.0,
        NO_PHASES,
        false,
    )
    .await;

    let hour = series(&app, id, "1h").await;
    assert_eq!(hour["period"], "1h");
    assert_eq!(hour["source"], "raw");
    assert_eq!(hour["bucketSeconds"], 15);
    assert_eq!(hour["monitorId"], id.to_string());
    let from: DateTime<Utc> = hour["from"].as_str().unwrap().parse().unwrap();
    let to: DateTime<Utc> = hour["to"].as_str().unwrap().parse().unwrap();
    assert!(
        to - from <= Duration::hours(1) && to - from > Duration::minutes(59),
        "{hour}"
    );
    assert_eq!(from, floor(from, s(15)), "buckets start on whole 15 s");
    let points = hour["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{hour}");
    assert_eq!(at(&points[0]), b);
    assert_counts(&points[0], (3, 1, 1, 1, 1));
    // Latency over all four: 100, 300, 400, 1000.
    assert_ms(
        &points[0],
        &[
            ("avgMs", Some(450.0)),
            ("p50Ms", Some(350.0)),
            ("p95Ms", Some(910.0)),
            ("maxMs", Some(1000.0)),
            // Phases over the two checks that did not fail.
            ("dnsMs", Some(15.0)),
            ("connectMs", Some(30.0)),
            ("tlsMs", Some(15.0)),
            ("ttfbMs", Some(120.0)),
        ],
    );
    assert_eq!(at(&points[1]), b + s(15));
    assert_counts(&points[1], (1, 1, 0, 0, 0));
    assert_ms(
        &points[1],
        &[
            ("avgMs", Some(50.0)),
            ("p50Ms", Some(50.0)),
            ("p95Ms", Some(50.0)),
            ("dnsMs", Some(1.0)),
            ("ttfbMs", Some(4.0)),
        ],
    );

    let day = series(&app, id, "24h").await;
    assert_eq!(day["source"], "raw");
    assert_eq!(day["bucketSeconds"], 300);
    let points = day["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{day}");
    assert_eq!(at(&points[0]), b - Duration::hours(1));
    assert_counts(&points[0], (1, 1, 0, 0, 0));
    assert_ms(
        &points[0],
        &[
            ("avgMs", Some(70.0)),
            ("dnsMs", None),
            ("connectMs", None),
            ("tlsMs", None),
            ("ttfbMs", None),
        ],
    );
    assert_eq!(at(&points[1]), b);
    assert_counts(&points[1], (4, 2, 1, 1, 1));
    // 50, 100, 300, 400, 1000; phases over three checks.
    assert_ms(
        &points[1],
        &[
            ("avgMs", Some(370.0)),
            ("p50Ms", Some(300.0)),
            ("p95Ms", Some(880.0)),
            ("maxMs", Some(1000.0)),
            ("dnsMs", Some(31.0 / 3.0)),
            ("connectMs", Some(62.0 / 3.0)),
            ("tlsMs", Some(11.0)),
            ("ttfbMs", Some(244.0 / 3.0)),
        ],
    );
}

#[tokio::test]
async fn a_week_reads_hourly_rollups_before_their_watermark_and_raw_results_after() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let now = db_now(&app).await;
    let through = floor(now, Duration::hours(1)) - Duration::hours(2);
    watermark(&app, "hourly", through).await;
    let hourly = rollup::Kind::Hourly;
    // Rolled before phases were kept.
    rollup_row(
        &app,
        hourly,
        id,
        through - Duration::hours(5),
        Rollup {
            counts: (6, 6, 0, 0, 0),
            latency: (300.0, 40.0, 90.0, 100.0),
            phases: None,
        },
    )
    .await;
    rollup_row(
        &app,
        hourly,
        id,
        through - Duration::hours(3),
        Rollup {
            counts: (10, 8, 1, 1, 2),
            latency: (1200.0, 90.0, 250.0, 400.0),
            phases: Some((9, [Some(90.0), Some(180.0), None, Some(450.0)])),
        },
    )
    .await;
    // At the watermark: not rolled yet as far as readers know; the raw
    // results of that hour answer instead.
    rollup_row(
        &app,
        hourly,
        id,
        through,
        Rollup {
            counts: (999, 999, 0, 0, 0),
            latency: (999.0, 1.0, 1.0, 1.0),
            phases: None,
        },
    )
    .await;
    result(
        &app,
        id,
        through + Duration::minutes(10),
        "up",
        100.0,
        [Some(5.0), Some(10.0), Some(15.0), Some(20.0)],
        false,
    )
    .await;
    result(
        &app,
        id,
        through + Duration::minutes(20),
        "up",
        300.0,
        [Some(15.0), Some(30.0), Some(45.0), Some(60.0)],
        false,
    )
    .await;
    // Older than a week.
    rollup_row(
        &app,
        hourly,
        id,
        floor(now, Duration::hours(1)) - Duration::days(8),
        Rollup {
            counts: (1, 1, 0, 0, 0),
            latency: (1.0, 1.0, 1.0, 1.0),
            phases: None,
        },
    )
    .await;

    let week = series(&app, id, "7d").await;
    assert_eq!(week["source"], "hourly");
    assert_eq!(week["bucketSeconds"], 3600);
    let points = week["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{week}");
    assert_eq!(at(&points[0]), through - Duration::hours(5));
    assert_counts(&points[0], (6, 6, 0, 0, 0));
    assert_ms(
        &points[0],
        &[
            ("avgMs", Some(50.0)),
            ("p50Ms", Some(40.0)),
            ("p95Ms", Some(90.0)),
            ("maxMs", Some(100.0)),
            ("dnsMs", None),
            ("ttfbMs", None),
        ],
    );
    assert_eq!(at(&points[1]), through - Duration::hours(3));
    assert_counts(&points[1], (10, 8, 1, 1, 2));
    // Latency over the 12 checks, maintenance included; phases over 9.
    assert_ms(
        &points[1],
        &[
            ("avgMs", Some(100.0)),
            ("p50Ms", Some(90.0)),
            ("p95Ms", Some(250.0)),
            ("maxMs", Some(400.0)),
            ("dnsMs", Some(10.0)),
            ("connectMs", Some(20.0)),
            ("tlsMs", None),
            ("ttfbMs", Some(50.0)),
        ],
    );
    assert_eq!(at(&points[2]), through);
    assert_counts(&points[2], (2, 2, 0, 0, 0));
    assert_ms(
        &points[2],
        &[
            ("avgMs", Some(200.0)),
            ("p50Ms", Some(200.0)),
            ("p95Ms", Some(290.0)),
            ("maxMs", Some(300.0)),
            ("dnsMs", Some(10.0)),
            ("connectMs", Some(20.0)),
            ("tlsMs", Some(30.0)),
            ("ttfbMs", Some(40.0)),
        ],
    );
}

#[tokio::test]
async fn a_month_and_a_quarter_read_daily_rollups_and_raw_results_after_them() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let now = db_now(&app).await;
    let today = rollup::Kind::Daily.floor(now);
    let through = today - Duration::days(1);
    watermark(&app, "daily", through).await;
    let daily = rollup::Kind::Daily;
    let row = |checks: i32| Rollup {
        counts: (checks, checks - 2, 1, 1, 0),
        latency: (f64::from(checks) * 80.0, 70.0, 200.0, 900.0),
        phases: Some((
            checks - 1,
            [Some(f64::from(checks - 1) * 3.0), None, None, None],
        )),
    };
    rollup_row(&app, daily, id, through - Duration::days(2), row(1440)).await;
    rollup_row(&app, daily, id, through - Duration::days(40), row(100)).await;
    rollup_row(&app, daily, id, through, row(5)).await;
    result(
        &app,
        id,
        through + Duration::hours(1),
        "up",
        100.0,
        NO_PHASES,
        false,
    )
    .await;
    result(
        &app,
        id,
        through + Duration::hours(2),
        "down",
        300.0,
        NO_PHASES,
        false,
    )
    .await;

    let month = series(&app, id, "30d").await;
    assert_eq!(month["source"], "daily");
    assert_eq!(month["bucketSeconds"], 86400);
    let points = month["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{month}");
    assert_eq!(at(&points[0]), through - Duration::days(2));
    assert_counts(&points[0], (1440, 1438, 1, 1, 0));
    assert_ms(
        &points[0],
        &[
            ("avgMs", Some(80.0)),
            ("p50Ms", Some(70.0)),
            ("dnsMs", Some(3.0)),
            ("connectMs", None),
        ],
    );
    assert_eq!(at(&points[1]), through);
    assert_counts(&points[1], (2, 1, 1, 0, 0));
    assert_ms(
        &points[1],
        &[
            ("avgMs", Some(200.0)),
            ("p95Ms", Some(290.0)),
            ("dnsMs", None),
        ],
    );

    let quarter = series(&app, id, "90d").await;
    let points = quarter["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{quarter}");
    assert_eq!(at(&points[0]), through - Duration::days(40));
    assert_counts(&points[0], (100, 98, 1, 1, 0));
}

#[tokio::test]
async fn the_rollup_job_keeps_phases_and_the_series_reads_the_same_from_rollups() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let now = db_now(&app).await;
    let hour = floor(now, Duration::hours(1)) - Duration::hours(3);
    let minute = Duration::minutes;
    result(
        &app,
        id,
        hour + minute(1),
        "up",
        100.0,
        [Some(10.0), Some(20.0), Some(30.0), Some(40.0)],
        false,
    )
    .await;
    result(
        &app,
        id,
        hour + minute(2),
        "degraded",
        500.0,
        [Some(30.0), Some(40.0), None, Some(400.0)],
        false,
    )
    .await;
    result(
        &app,
        id,
        hour + minute(3),
        "down",
        2000.0,
        [Some(7.0), None, None, None],
        false,
    )
    .await;
    result(
        &app,
        id,
        hour + minute(4),
        "up",
        200.0,
        [Some(20.0), Some(30.0), Some(40.0), Some(100.0)],
        true,
    )
    .await;
    // A day earlier, so a whole day gets rolled too.
    let earlier = hour - Duration::hours(30);
    result(
        &app,
        id,
        earlier,
        "up",
        60.0,
        [Some(6.0), Some(12.0), Some(18.0), Some(24.0)],
        false,
    )
    .await;

    let mut before = Vec::new();
    for period in ["7d", "30d"] {
        before.push(series(&app, id, period).await);
    }
    let mut client = shared::testing::connect(&app.db_name).await;
    loop {
        let report = rollup::maintain(&mut client, 30).await.unwrap();
        assert!(report.ran);
        if report.hours_rolled == 0 && report.days_rolled == 0 {
            break;
        }
    }
    let row = app
        .db
        .query_one(
            "SELECT checks, maintenance, timed_checks, dns_sum_ms, connect_sum_ms, tls_sum_ms, \
                 ttfb_sum_ms FROM check_rollups_hourly WHERE monitor_id = $1 AND bucket = $2",
            &[&id, &hour],
        )
        .await
        .unwrap();
    let counts: (i32, i32, Option<i32>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        counts,
        (3, 1, Some(3)),
        "the three checks that did not fail are timed"
    );
    let sums: [Option<f64>; 4] = [row.get(3), row.get(4), row.get(5), row.get(6)];
    assert_eq!(sums, [Some(60.0), Some(90.0), Some(70.0), Some(540.0)]);
    let day = rollup::Kind::Daily.floor(earlier);
    let row = app
        .db
        .query_one(
            "SELECT timed_checks, dns_sum_ms, ttfb_sum_ms FROM check_rollups_daily \
             WHERE monitor_id = $1 AND bucket = $2",
            &[&id, &day],
        )
        .await
        .unwrap();
    let daily: (Option<i32>, Option<f64>) = (row.get(0), row.get(1));
    assert!(daily.0.is_some_and(|timed| timed >= 1), "{daily:?}");
    assert!(daily.1.is_some_and(|sum| sum >= 6.0), "{daily:?}");

    for (period, old) in ["7d", "30d"].into_iter().zip(before) {
        let new = series(&app, id, period).await;
        assert_eq!(new["points"], old["points"], "{period} from rollups");
    }
    let week = series(&app, id, "7d").await;
    let point = week["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| at(p) == hour)
        .cloned()
        .unwrap();
    assert_ms(
        &point,
        &[
            ("dnsMs", Some(20.0)),
            ("connectMs", Some(30.0)),
            ("tlsMs", Some(70.0 / 3.0)),
            ("ttfbMs", Some(180.0)),
        ],
    );
}

#[tokio::test]
async fn daily_uptime_combines_daily_hourly_and_raw_and_fills_empty_days() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let now = db_now(&app).await;
    let today = rollup::Kind::Daily.floor(now);
    let yesterday = today - Duration::days(1);
    let hours = Duration::hours;
    let days = Duration::days;
    // Days before yesterday are rolled daily; yesterday's hours until noon
    // hourly; the rest is raw.
    watermark(&app, "daily", yesterday).await;
    watermark(&app, "hourly", yesterday + hours(12)).await;
    let counts = |c: (i32, i32, i32, i32, i32)| Rollup {
        counts: c,
        latency: (1.0, 1.0, 1.0, 1.0),
        phases: None,
    };
    let (daily, hourly) = (rollup::Kind::Daily, rollup::Kind::Hourly);
    rollup_row(
        &app,
        daily,
        id,
        today - days(2),
        counts((1440, 1400, 20, 20, 0)),
    )
    .await;
    rollup_row(
        &app,
        daily,
        id,
        today - days(89),
        counts((100, 0, 100, 0, 0)),
    )
    .await;
    rollup_row(&app, daily, id, today - days(90), counts((7, 7, 0, 0, 0))).await;
    // Not read: yesterday is not rolled daily yet, and noon not hourly.
    rollup_row(&app, daily, id, yesterday, counts((5000, 5000, 0, 0, 0))).await;
    rollup_row(
        &app,
        hourly,
        id,
        yesterday + hours(12),
        counts((500, 500, 0, 0, 0)),
    )
    .await;
    rollup_row(
        &app,
        hourly,
        id,
        yesterday + hours(3),
        counts((60, 54, 6, 0, 0)),
    )
    .await;
    rollup_row(
        &app,
        hourly,
        id,
        yesterday + hours(11),
        counts((60, 58, 0, 2, 5)),
    )
    .await;
    // Rolled into 11:00 already: not counted twice.
    result(
        &app,
        id,
        yesterday + hours(11) + Duration::minutes(30),
        "down",
        1.0,
        NO_PHASES,
        false,
    )
    .await;
    result(&app, id, yesterday + hours(12), "up", 1.0, NO_PHASES, false).await;
    result(
        &app,
        id,
        yesterday + hours(20),
        "down",
        1.0,
        NO_PHASES,
        false,
    )
    .await;
    result(&app, id, today, "down", 1.0, NO_PHASES, true).await;

    let body = get_as(
        &app,
        crate::helpers::ADMIN_KEY,
        &format!("/api/v1/monitors/{id}/uptime/daily"),
    )
    .await;
    assert_eq!(body["monitorId"], id.to_string());
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 90);
    let date = |t: DateTime<Utc>| t.date_naive().to_string();
    assert_eq!(items[0]["date"], date(today - days(89)));
    assert_counts(&items[0], (100, 0, 100, 0, 0));
    assert_eq!(items[0]["uptimePercent"], 0.0);
    assert_eq!(items[1]["checks"], 0);
    assert!(items[1]["uptimePercent"].is_null());
    assert_eq!(items[87]["date"], date(today - days(2)));
    assert_counts(&items[87], (1440, 1400, 20, 20, 0));
    assert_eq!(items[87]["uptimePercent"], 98.6111);
    assert_eq!(items[88]["date"], date(yesterday));
    assert_counts(&items[88], (122, 113, 7, 2, 5));
    assert_eq!(items[88]["uptimePercent"], 94.2623);
    assert_eq!(items[89]["date"], date(today));
    assert_counts(&items[89], (0, 0, 0, 0, 1));
    assert!(items[89]["uptimePercent"].is_null());
    let with_data = items.iter().filter(|d| d["checks"] != 0).count();
    assert_eq!(with_data, 3);

    let reader = app.create_key(&["read"]).await;
    let week = get_as(
        &app,
        &reader,
        &format!("/api/v1/monitors/{id}/uptime/daily?days=7"),
    )
    .await;
    let items = week["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert_eq!(items[6]["date"], date(today));
    let one = get_as(
        &app,
        &reader,
        &format!("/api/v1/monitors/{id}/uptime/daily?days=1"),
    )
    .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_periods_and_days_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let id = monitor(&app).await;
    let empty = series(&app, id, "24h").await;
    assert_eq!(empty["points"], json!([]));
    let default = get_as(
        &app,
        crate::helpers::ADMIN_KEY,
        &format!("/api/v1/monitors/{id}/series"),
    )
    .await;
    assert_eq!(default["period"], "24h");
    for period in ["2h", "365d", ""] {
        let body = assert_error(
            app.get(&format!("/api/v1/monitors/{id}/series?period={period}"))
                .await,
            400,
            "invalid_query",
        )
        .await;
        assert_eq!(
            body["message"],
            "period must be one of 1h, 24h, 7d, 30d, 90d"
        );
    }
    for days in ["0", "366", "ten", "-1", "1.5"] {
        let body = assert_error(
            app.get(&format!("/api/v1/monitors/{id}/uptime/daily?days={days}"))
                .await,
            400,
            "invalid_query",
        )
        .await;
        assert_eq!(body["message"], "days must be a whole number from 1 to 365");
    }
    assert_error(
        app.get(&format!("/api/v1/monitors/{id}/series?perod=1h"))
            .await,
        400,
        "invalid_query",
    )
    .await;
    let unknown = Uuid::now_v7();
    for path in [
        format!("/api/v1/monitors/{unknown}/series?period=1h"),
        format!("/api/v1/monitors/{unknown}/uptime/daily"),
    ] {
        assert_error(app.get(&path).await, 404, "not_found").await;
    }
    let writer = app.create_key(&["write"]).await;
    for path in [
        format!("/api/v1/monitors/{id}/series"),
        format!("/api/v1/monitors/{id}/uptime/daily"),
    ] {
        assert_error(
            app.request_as(&writer, Method::GET, &path)
                .send()
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
    }
}
