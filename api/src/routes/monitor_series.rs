//! A monitor's history for charts: `GET /api/v1/monitors/{id}/series` (the
//! latency chart, with phases and percentiles per bucket) and
//! `GET /api/v1/monitors/{id}/uptime/daily` (one entry per UTC day, for the
//! uptime calendar).
//!
//! Short periods are bucketed from the raw results; long ones read the
//! rollups (shared::rollup), and the newest buckets, not rolled yet, are
//! computed from the raw results the same way, so a chart is current.

use actix_web::web;
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use deadpool_postgres::Client;
use serde::{Deserialize, Serialize};
use shared::model::Scope;
use shared::rollup::{self, Kind};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::monitors::fetch_existing;
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/monitors/{id}/series").route(web::get().to(series)))
        .service(web::resource("/monitors/{id}/uptime/daily").route(web::get().to(uptime_daily)));
}

/// Where a chart period's points come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Raw results in buckets of this many seconds.
    Raw(i64),
    /// One point per rollup bucket.
    Rollup(Kind),
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Raw(_) => "raw",
            Source::Rollup(Kind::Hourly) => "hourly",
            Source::Rollup(Kind::Daily) => "daily",
        }
    }

    fn bucket(self) -> Duration {
        match self {
            Source::Raw(seconds) => Duration::seconds(seconds),
            Source::Rollup(Kind::Hourly) => Duration::hours(1),
            Source::Rollup(Kind::Daily) => Duration::days(1),
        }
    }
}

/// The chart periods: name, length in hours, source. At most 288 points each.
const CHART_PERIODS: [(&str, i64, Source); 5] = [
    ("1h", 1, Source::Raw(15)),
    ("24h", 24, Source::Raw(300)),
    ("7d", 7 * 24, Source::Rollup(Kind::Hourly)),
    ("30d", 30 * 24, Source::Rollup(Kind::Daily)),
    ("90d", 90 * 24, Source::Rollup(Kind::Daily)),
];

/// Most days `GET /monitors/{id}/uptime/daily` answers.
const MAX_DAYS: i64 = 365;
/// Days answered when the query names none.
const DEFAULT_DAYS: i64 = 90;

/// Buckets are aligned to UTC midnight (so to every whole minute and hour).
const BUCKET_ORIGIN: &str = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    period: Option<String>,
}

/// One bucket of the chart. Counts leave out checks taken during
/// maintenance (counted apart); latency covers every check; phases are the
/// means over the checks that did not fail (null where unknown).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Point {
    at: DateTime<Utc>,
    checks: i64,
    up: i64,
    down: i64,
    degraded: i64,
    maintenance_checks: i64,
    avg_ms: Option<f64>,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    max_ms: Option<f64>,
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
}

/// The answer of `GET /monitors/{id}/series`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Series {
    monitor_id: Uuid,
    period: &'static str,
    /// "raw", "hourly" or "daily".
    source: &'static str,
    bucket_seconds: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Buckets with at least one check, oldest first.
    points: Vec<Point>,
}

/// Milliseconds to three decimals.
fn ms(value: Option<f64>) -> Option<f64> {
    value.map(|v| (v * 1000.0).round() / 1000.0)
}

/// `part / count` to three decimals, None when there is nothing to divide.
fn mean(part: Option<f64>, count: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // counts stay far below 2^52
    ms(part.filter(|_| count > 0).map(|sum| sum / count as f64))
}

/// A point from a row of [`raw_points_sql`] or [`rollup_points_sql`].
fn point(row: &Row) -> Point {
    let checks: i64 = row.get(1);
    let maintenance: i64 = row.get(5);
    let timed: Option<i64> = row.get(10);
    let timed = timed.unwrap_or(0);
    Point {
        at: row.get(0),
        checks,
        up: row.get(2),
        down: row.get(3),
        degraded: row.get(4),
        maintenance_checks: maintenance,
        avg_ms: mean(row.get(6), checks + maintenance),
        p50_ms: ms(row.get(7)),
        p95_ms: ms(row.get(8)),
        max_ms: ms(row.get(9)),
        dns_ms: mean(row.get(11), timed),
        connect_ms: mean(row.get(12), timed),
        tls_ms: mean(row.get(13), timed),
        ttfb_ms: mean(row.get(14), timed),
    }
}

/// Buckets of `$4` seconds over raw results in [$2, $3), as a rollup
/// computes them (see shared::rollup::roll_bucket).
fn raw_points_sql() -> String {
    format!(
        "SELECT date_bin(make_interval(secs => $4), slot_ts, {BUCKET_ORIGIN}), \
             count(*) FILTER (WHERE NOT in_maintenance), \
             count(*) FILTER (WHERE status = 'up' AND NOT in_maintenance), \
             count(*) FILTER (WHERE status = 'down' AND NOT in_maintenance), \
             count(*) FILTER (WHERE status = 'degraded' AND NOT in_maintenance), \
             count(*) FILTER (WHERE in_maintenance), \
             sum(total_ms::float8), \
             percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms), \
             percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms), \
             max(total_ms)::float8, \
             count(*) FILTER (WHERE status <> 'down'), \
             sum(dns_ms::float8) FILTER (WHERE status <> 'down'), \
             sum(connect_ms::float8) FILTER (WHERE status <> 'down'), \
             sum(tls_ms::float8) FILTER (WHERE status <> 'down'), \
             sum(ttfb_ms::float8) FILTER (WHERE status <> 'down') \
         FROM check_results WHERE monitor_id = $1 AND slot_ts >= $2 AND slot_ts < $3 \
         GROUP BY 1 ORDER BY 1"
    )
}

/// The rollup rows of one kind in [$2, $3).
fn rollup_points_sql(kind: Kind) -> String {
    format!(
        "SELECT bucket, checks::int8, up::int8, down::int8, degraded::int8, maintenance::int8, \
             latency_sum_ms, latency_p50_ms::float8, latency_p95_ms::float8, \
             latency_max_ms::float8, timed_checks::int8, dns_sum_ms, connect_sum_ms, \
             tls_sum_ms, ttfb_sum_ms \
         FROM {} WHERE monitor_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket",
        kind.table()
    )
}

/// Raw results of `monitor` in [from, to) in buckets of `bucket`.
async fn raw_points(
    client: &Client,
    monitor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket: Duration,
) -> Result<Vec<Point>, tokio_postgres::Error> {
    if from >= to {
        return Ok(Vec::new());
    }
    let statement = client.prepare_cached(&raw_points_sql()).await?;
    #[allow(clippy::cast_precision_loss)] // bucket widths are small
    let seconds = bucket.num_seconds() as f64;
    let rows = client
        .query(&statement, &[&monitor, &from, &to, &seconds])
        .await?;
    Ok(rows.iter().map(point).collect())
}

/// Rollups of `monitor` in [from, to).
async fn rollup_points(
    client: &Client,
    kind: Kind,
    monitor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Point>, tokio_postgres::Error> {
    if from >= to {
        return Ok(Vec::new());
    }
    let statement = client.prepare_cached(&rollup_points_sql(kind)).await?;
    let rows = client.query(&statement, &[&monitor, &from, &to]).await?;
    Ok(rows.iter().map(point).collect())
}

/// The database's clock and how far each rollup is complete.
async fn watermarks(
    client: &Client,
) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "SELECT now(), \
                 (SELECT through FROM rollup_state WHERE kind = 'hourly'), \
                 (SELECT through FROM rollup_state WHERE kind = 'daily')",
        )
        .await?;
    let row = client.query_one(&statement, &[]).await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// The start of the first bucket of width `bucket` at or after `t`.
fn ceil(t: DateTime<Utc>, bucket: Duration) -> DateTime<Utc> {
    let floor = t.duration_trunc(bucket).unwrap_or(t);
    if floor == t {
        t
    } else {
        floor + bucket
    }
}

/// `GET /monitors/{id}/series?period=1h|24h|7d|30d|90d` (read; default 24h).
#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn series(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<SeriesQuery>,
) -> Result<web::Json<Series>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let wanted = query.period.as_deref().unwrap_or("24h");
    let Some(&(period, hours, source)) = CHART_PERIODS.iter().find(|(name, ..)| *name == wanted)
    else {
        let names: Vec<&str> = CHART_PERIODS.iter().map(|(name, ..)| *name).collect();
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("period must be one of {}", names.join(", ")),
        ));
    };
    let client = state.db.get().await?;
    fetch_existing(&client, id, false).await?;
    let (now, hourly_through, daily_through) = watermarks(&client).await?;
    let bucket = source.bucket();
    let from = ceil(now - Duration::hours(hours), bucket);
    let points = match source {
        Source::Raw(_) => raw_points(&client, id, from, now, bucket).await?,
        Source::Rollup(kind) => {
            let through = match kind {
                Kind::Hourly => hourly_through,
                Kind::Daily => daily_through,
            };
            // Rolled buckets from the rollups, the rest from raw results.
            let split = through.map_or(from, |t| t.clamp(from, kind.floor(now)));
            let mut points = rollup_points(&client, kind, id, from, split).await?;
            points.extend(raw_points(&client, id, split, now, bucket).await?);
            points
        }
    };
    Ok(web::Json(Series {
        monitor_id: id,
        period,
        source: source.name(),
        bucket_seconds: bucket.num_seconds(),
        from,
        to: now,
        points,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyQuery {
    days: Option<String>,
}

/// One UTC day of a monitor's uptime.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Day {
    date: NaiveDate,
    /// Checks outside maintenance, and how they ended.
    checks: i64,
    up: i64,
    down: i64,
    degraded: i64,
    maintenance_checks: i64,
    /// As in `/uptime`: checks not down / checks; null without checks.
    uptime_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Daily {
    monitor_id: Uuid,
    /// Oldest first; the last is today so far.
    items: Vec<Day>,
}

/// `GET /monitors/{id}/uptime/daily?days=90` (read; 1–365): daily rollups,
/// then hourly rollups and raw results for the days not rolled yet.
#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn uptime_daily(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<DailyQuery>,
) -> Result<web::Json<Daily>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let days = match query.days.as_deref() {
        None => DEFAULT_DAYS,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|days| (1..=MAX_DAYS).contains(days))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("days must be a whole number from 1 to {MAX_DAYS}"),
                )
            })?,
    };
    let client = state.db.get().await?;
    fetch_existing(&client, id, false).await?;
    let (now, hourly_through, daily_through) = watermarks(&client).await?;
    let today = Kind::Daily.floor(now);
    let start = today - Duration::days(days - 1);
    // Daily rollups cover [start, d), hourly ones [d, h), raw results [h, now).
    let d = daily_through.map_or(start, |t| t.clamp(start, today));
    let h = hourly_through.map_or(d, |t| t.clamp(d, Kind::Hourly.floor(now)));
    let statement = client
        .prepare_cached(&format!(
            "SELECT day, sum(checks)::int8, sum(up)::int8, sum(down)::int8, \
                 sum(degraded)::int8, sum(maintenance)::int8 FROM ( \
               SELECT bucket AS day, checks, up, down, degraded, maintenance \
                 FROM check_rollups_daily WHERE monitor_id = $1 AND bucket >= $2 AND bucket < $3 \
               UNION ALL \
               SELECT date_bin('1 day', bucket, {BUCKET_ORIGIN}), checks, up, down, degraded, \
                   maintenance \
                 FROM check_rollups_hourly WHERE monitor_id = $1 AND bucket >= $3 AND bucket < $4 \
               UNION ALL \
               SELECT date_bin('1 day', slot_ts, {BUCKET_ORIGIN}), \
                   (count(*) FILTER (WHERE NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'up' AND NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'down' AND NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'degraded' AND NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE in_maintenance))::int4 \
                 FROM check_results WHERE monitor_id = $1 AND slot_ts >= $4 AND slot_ts < $5 \
                 GROUP BY 1 \
             ) s GROUP BY day"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&id, &start, &d, &h, &now])
        .await?;
    let mut items: Vec<Day> = (0..days)
        .map(|n| Day {
            date: (start + Duration::days(n)).date_naive(),
            checks: 0,
            up: 0,
            down: 0,
            degraded: 0,
            maintenance_checks: 0,
            uptime_percent: None,
        })
        .collect();
    for row in &rows {
        let day: DateTime<Utc> = row.get(0);
        let Ok(index) = usize::try_from((day - start).num_days()) else {
            continue;
        };
        let Some(item) = items.get_mut(index) else {
            continue;
        };
        item.checks = row.get(1);
        item.up = row.get(2);
        item.down = row.get(3);
        item.degraded = row.get(4);
        item.maintenance_checks = row.get(5);
        item.uptime_percent = rollup::uptime_percent(item.checks, item.down);
    }
    Ok(web::Json(Daily {
        monitor_id: id,
        items,
    }))
}
