//! Retention of raw results, hourly and daily rollups, and uptime over a
//! period answered from them.
//!
//! One worker at a time (a Postgres session advisory lock) runs [`maintain`]
//! every minute: it keeps result partitions ahead, drops the days older than
//! RESULTS_RETENTION_DAYS, rolls every closed hour and day into
//! `check_rollups_hourly` / `check_rollups_daily`, rolls again the hours that
//! received late results (marked in `rollup_dirty_hours` by the writer), and
//! prunes rollups older than a year. [`uptime`] combines daily rollups, hourly
//! rollups and the raw rows at the edges, so it is exact and reads at most a
//! few hundred rows.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;
use uuid::Uuid;

/// Key of the advisory lock the maintenance job runs under.
const MAINTENANCE_LOCK_KEY: i64 = 0x5570_7469_6d65_0002;
/// A bucket is rolled this long after it ends, so results still in flight
/// (checks end up to a timeout after their slot) are in it.
pub const ROLLUP_GRACE: Duration = Duration::minutes(5);
/// Rollups are kept this long.
pub const ROLLUP_RETENTION_DAYS: i64 = 365;
/// At most this many buckets of each kind are rolled per run, so one run
/// stays short after a long stop; the next runs catch up.
const MAX_BUCKETS_PER_RUN: usize = 48;

/// The two rollup granularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hourly,
    Daily,
}

impl Kind {
    /// The table holding this kind's rollups.
    pub fn table(self) -> &'static str {
        match self {
            Self::Hourly => "check_rollups_hourly",
            Self::Daily => "check_rollups_daily",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
        }
    }
    fn width(self) -> Duration {
        match self {
            Self::Hourly => Duration::hours(1),
            Self::Daily => Duration::days(1),
        }
    }
    /// The start of the bucket holding `t`.
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.duration_trunc(self.width()).unwrap_or(t)
    }
    /// The start of the first bucket at or after `t`.
    pub fn ceil(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let floor = self.floor(t);
        if floor == t {
            t
        } else {
            floor + self.width()
        }
    }
}

/// What one maintenance run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// False when another worker holds the lock (nothing was done).
    pub ran: bool,
    pub partitions_created: i32,
    pub partitions_dropped: i32,
    pub hours_rolled: usize,
    pub days_rolled: usize,
    pub rollups_pruned: u64,
}

impl Report {
    /// True when the run created, dropped, rolled or pruned something.
    pub fn changed_anything(&self) -> bool {
        self.partitions_created > 0
            || self.partitions_dropped > 0
            || self.hours_rolled > 0
            || self.days_rolled > 0
            || self.rollups_pruned > 0
    }
}

/// Runs the maintenance job once if no other process is running it.
pub async fn maintain(
    client: &mut tokio_postgres::Client,
    retention_days: u32,
) -> Result<Report, tokio_postgres::Error> {
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&MAINTENANCE_LOCK_KEY])
        .await?
        .get(0);
    if !locked {
        return Ok(Report::default());
    }
    let outcome = maintain_locked(client, retention_days).await;
    // A failed unlock means the session is gone, and the lock with it.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MAINTENANCE_LOCK_KEY])
        .await;
    outcome
}

async fn maintain_locked(
    client: &mut tokio_postgres::Client,
    retention_days: u32,
) -> Result<Report, tokio_postgres::Error> {
    let mut report = Report {
        ran: true,
        ..Report::default()
    };
    let now: DateTime<Utc> = client.query_one("SELECT now()", &[]).await?.get(0);
    report.partitions_created = client
        .query_one(
            "SELECT uptime_ensure_check_result_partitions(\
                 (now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7)",
            &[],
        )
        .await?
        .get(0);
    let keep_from = (now - Duration::days(i64::from(retention_days))).date_naive();
    report.partitions_dropped = client
        .query_one(
            "SELECT uptime_drop_check_result_partitions($1)",
            &[&keep_from],
        )
        .await?
        .get(0);
    let raw_from = Utc.from_utc_datetime(&keep_from.and_time(chrono::NaiveTime::MIN));

    for kind in [Kind::Hourly, Kind::Daily] {
        // Marks taken, buckets rolled and the watermark moved together.
        let tx = client.transaction().await?;
        let rolled = roll_pending(&tx, kind, now, raw_from).await?.len();
        tx.commit().await?;
        match kind {
            Kind::Hourly => report.hours_rolled = rolled,
            Kind::Daily => report.days_rolled = rolled,
        }
    }

    let cutoff = now - Duration::days(ROLLUP_RETENTION_DAYS);
    for kind in [Kind::Hourly, Kind::Daily] {
        report.rollups_pruned += client
            .execute(
                &format!("DELETE FROM {} WHERE bucket < $1", kind.table()),
                &[&cutoff],
            )
            .await?;
    }
    Ok(report)
}

/// Rolls the closed buckets after the watermark (daily ones only once their
/// hours are rolled) and the dirty ones before it; returns the buckets rolled.
async fn roll_pending(
    client: &impl GenericClient,
    kind: Kind,
    now: DateTime<Utc>,
    raw_from: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, tokio_postgres::Error> {
    let mut closed_before = kind.floor(now - ROLLUP_GRACE);
    if kind == Kind::Daily {
        // A day is rolled from raw rows like an hour, but only after every
        // hour of it has been, so the daily watermark never passes the hourly.
        if let Some(hourly) = watermark(client, Kind::Hourly).await? {
            closed_before = closed_before.min(kind.floor(hourly));
        }
    }
    let stored = watermark(client, kind).await?;
    let through = match stored {
        Some(through) => through,
        None => {
            // First run: start at the oldest result we still have.
            let oldest: Option<DateTime<Utc>> = client
                .query_one("SELECT min(checked_at) FROM check_results", &[])
                .await?
                .get(0);
            kind.floor(oldest.unwrap_or(now).max(raw_from).min(closed_before))
        }
    };

    let mut next = through;
    let mut buckets = Vec::new();
    while next < closed_before && buckets.len() < MAX_BUCKETS_PER_RUN {
        buckets.push(next);
        next += kind.width();
    }
    if kind == Kind::Hourly {
        // Hours marked dirty before the new watermark, taken off the list in
        // this statement; the rolls below read later snapshots, so a result
        // written after its mark was taken is either read or marks it again.
        let dirty: Vec<DateTime<Utc>> = client
            .query(
                "DELETE FROM rollup_dirty_hours WHERE hour < $1 RETURNING hour",
                &[&next],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        buckets.extend(
            dirty
                .iter()
                .filter(|hour| **hour < through && **hour >= raw_from),
        );
        // Days already rolled whose hours changed are rolled again too.
        let daily = watermark(client, Kind::Daily).await?;
        let stale_days: Vec<DateTime<Utc>> = dirty
            .iter()
            .map(|hour| Kind::Daily.floor(*hour))
            .filter(|day| daily.is_some_and(|through| *day < through) && *day >= raw_from)
            .collect();
        for day in dedup(stale_days) {
            roll_bucket(client, Kind::Daily, day).await?;
        }
    }
    let buckets = dedup(buckets);
    for bucket in &buckets {
        roll_bucket(client, kind, *bucket).await?;
    }
    if next > through || stored.is_none() {
        client
            .execute(
                "INSERT INTO rollup_state (kind, through) VALUES ($1, $2) \
                 ON CONFLICT (kind) DO UPDATE SET through = GREATEST(rollup_state.through, $2)",
                &[&kind.name(), &next],
            )
            .await?;
    }
    Ok(buckets)
}

fn dedup(mut items: Vec<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
    items.sort();
    items.dedup();
    items
}

async fn watermark(
    client: &impl GenericClient,
    kind: Kind,
) -> Result<Option<DateTime<Utc>>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT through FROM rollup_state WHERE kind = $1",
            &[&kind.name()],
        )
        .await?
        .map(|row| row.get(0)))
}

/// Recomputes one bucket for every monitor from the raw results, replacing
/// what was there (rows of deleted monitors are skipped). Phase times are
/// summed over the checks that did not fail (`timed_checks`), as the chart
/// series shows them (see migrations/V10__rollup_phases.sql).
pub async fn roll_bucket(
    client: &impl GenericClient,
    kind: Kind,
    bucket: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    let end = bucket + kind.width();
    let sql = format!(
        "INSERT INTO {table} (monitor_id, bucket, checks, up, down, degraded, maintenance, \
             latency_sum_ms, latency_p50_ms, latency_p95_ms, latency_max_ms, timed_checks, \
             dns_sum_ms, connect_sum_ms, tls_sum_ms, ttfb_sum_ms) \
         SELECT r.monitor_id, $1, count(*) FILTER (WHERE NOT r.in_maintenance), \
             count(*) FILTER (WHERE r.status = 'up' AND NOT r.in_maintenance), \
             count(*) FILTER (WHERE r.status = 'down' AND NOT r.in_maintenance), \
             count(*) FILTER (WHERE r.status = 'degraded' AND NOT r.in_maintenance), \
             count(*) FILTER (WHERE r.in_maintenance), \
             sum(r.total_ms), percentile_cont(0.5) WITHIN GROUP (ORDER BY r.total_ms), \
             percentile_cont(0.95) WITHIN GROUP (ORDER BY r.total_ms), max(r.total_ms), \
             count(*) FILTER (WHERE r.status <> 'down'), \
             sum(r.dns_ms::float8) FILTER (WHERE r.status <> 'down'), \
             sum(r.connect_ms::float8) FILTER (WHERE r.status <> 'down'), \
             sum(r.tls_ms::float8) FILTER (WHERE r.status <> 'down'), \
             sum(r.ttfb_ms::float8) FILTER (WHERE r.status <> 'down') \
         FROM check_results r JOIN monitors m ON m.id = r.monitor_id \
         WHERE r.slot_ts >= $1 AND r.slot_ts < $2 \
         GROUP BY r.monitor_id \
         ON CONFLICT (monitor_id, bucket) DO UPDATE SET checks = excluded.checks, \
             up = excluded.up, down = excluded.down, degraded = excluded.degraded, \
             maintenance = excluded.maintenance, \
             latency_sum_ms = excluded.latency_sum_ms, latency_p50_ms = excluded.latency_p50_ms, \
             latency_p95_ms = excluded.latency_p95_ms, latency_max_ms = excluded.latency_max_ms, \
             timed_checks = excluded.timed_checks, dns_sum_ms = excluded.dns_sum_ms, \
             connect_sum_ms = excluded.connect_sum_ms, tls_sum_ms = excluded.tls_sum_ms, \
             ttfb_sum_ms = excluded.ttfb_sum_ms",
        table = kind.table()
    );
    client.execute(&sql, &[&bucket, &end]).await
}

/// The periods `GET /monitors/{id}/uptime` accepts.
pub const PERIODS: [(&str, i64); 5] = [
    ("24h", 1),
    ("7d", 7),
    ("30d", 30),
    ("90d", 90),
    ("365d", 365),
];

/// Uptime of one monitor over a period ending now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uptime {
    pub monitor_id: Uuid,
    pub period: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Checks outside maintenance, and how they ended.
    pub checks: i64,
    pub up: i64,
    pub down: i64,
    pub degraded: i64,
    /// Checks taken during maintenance windows: stored, but left out of
    /// `checks` and `uptimePercent`.
    pub maintenance_checks: i64,
    /// Share of checks (outside maintenance) that were not down (degraded
    /// counts as available); null when there were no checks.
    pub uptime_percent: Option<f64>,
    /// Time inside incidents (confirmed outages), clipped to the period.
    pub downtime_seconds: f64,
    /// Incidents that were open at some point of the period.
    pub incidents: i64,
    pub latency_avg_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

/// Share of `checks` that were not down, in percent to four decimals; None
/// without checks. Degraded counts as available.
pub fn uptime_percent(checks: i64, down: i64) -> Option<f64> {
    (checks > 0)
        .then(|| ((checks - down) as f64 * 100.0 / checks as f64 * 10_000.0).round() / 10_000.0)
}

/// The time ranges a period is read from: raw edges, hourly, daily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub start: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Hourly rollups cover [h0, d0) and [d1, h1); daily cover [d0, d1);
    /// raw rows cover [start, h0) and [h1, now).
    pub h0: DateTime<Utc>,
    pub d0: DateTime<Utc>,
    pub d1: DateTime<Utc>,
    pub h1: DateTime<Utc>,
}

impl Plan {
    pub fn new(
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        hourly_through: Option<DateTime<Utc>>,
        daily_through: Option<DateTime<Utc>>,
    ) -> Self {
        let h0 = Kind::Hourly.ceil(start).min(now);
        let h1 = hourly_through
            .map(|t| t.min(Kind::Hourly.floor(now)))
            .unwrap_or(h0)
            .max(h0);
        let d0 = Kind::Daily.ceil(h0);
        let d1 = daily_through.map(|t| t.min(h1)).unwrap_or(d0).max(d0);
        if d1 > d0 && d1 <= h1 {
            Self {
                start,
                now,
                h0,
                d0,
                d1,
                h1,
            }
        } else {
            // No whole rolled day inside: hourly rollups cover [h0, h1).
            Self {
                start,
                now,
                h0,
                d0: h1,
                d1: h1,
                h1,
            }
        }
    }
}

/// Checks of one monitor over a span, and how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CheckCounts {
    /// Checks outside maintenance.
    pub checks: i64,
    pub up: i64,
    pub down: i64,
    pub degraded: i64,
    /// Checks taken during maintenance windows.
    pub maintenance_checks: i64,
    /// Sum and maximum of the total time of every check, in maintenance or not.
    pub latency_sum_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

/// Checks of `monitor` with a slot in [from, to): see [`check_counts_of`].
pub async fn check_counts(
    client: &impl deadpool_postgres::GenericClient,
    monitor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<CheckCounts, tokio_postgres::Error> {
    let mut counts = check_counts_of(client, &[monitor], from, to).await?;
    Ok(counts.remove(&monitor).unwrap_or_default())
}

/// Checks of each of `monitors` with a slot in [from, to), in one
/// statement: daily and hourly rollups where they cover whole days and
/// hours, raw results at the edges (see [`Plan`]). `to` should not be after
/// now. Monitors without checks are left out.
pub async fn check_counts_of(
    client: &impl deadpool_postgres::GenericClient,
    monitors: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<Uuid, CheckCounts>, tokio_postgres::Error> {
    let state = client
        .prepare_cached(
            "SELECT (SELECT through FROM rollup_state WHERE kind = 'hourly'), \
                 (SELECT through FROM rollup_state WHERE kind = 'daily')",
        )
        .await?;
    let state = client.query_one(&state, &[]).await?;
    let plan = Plan::new(from, to.max(from), state.get(0), state.get(1));
    let totals = client
        .prepare_cached(
            "SELECT monitor_id, coalesce(sum(checks), 0)::int8, coalesce(sum(up), 0)::int8, \
                 coalesce(sum(down), 0)::int8, coalesce(sum(degraded), 0)::int8, \
                 sum(lat_sum)::float8, max(lat_max)::float8, \
                 coalesce(sum(maintenance), 0)::int8 FROM ( \
               SELECT monitor_id, checks, up, down, degraded, latency_sum_ms AS lat_sum, \
                   latency_max_ms AS lat_max, maintenance \
                 FROM check_rollups_daily \
                 WHERE monitor_id = ANY($1) AND bucket >= $4 AND bucket < $5 \
               UNION ALL \
               SELECT monitor_id, checks, up, down, degraded, latency_sum_ms, latency_max_ms, \
                   maintenance \
                 FROM check_rollups_hourly WHERE monitor_id = ANY($1) \
                   AND ((bucket >= $3 AND bucket < $4) OR (bucket >= $5 AND bucket < $6)) \
               UNION ALL \
               SELECT monitor_id, (count(*) FILTER (WHERE NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'up' AND NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'down' AND NOT in_maintenance))::int4, \
                   (count(*) FILTER (WHERE status = 'degraded' AND NOT in_maintenance))::int4, \
                   sum(total_ms)::float8, max(total_ms), \
                   (count(*) FILTER (WHERE in_maintenance))::int4 \
                 FROM check_results WHERE monitor_id = ANY($1) \
                   AND ((slot_ts >= $2 AND slot_ts < $3) OR (slot_ts >= $6 AND slot_ts < $7)) \
                 GROUP BY monitor_id \
             ) s GROUP BY monitor_id",
        )
        .await?;
    let rows = client
        .query(
            &totals,
            &[
                &monitors,
                &plan.start,
                &plan.h0,
                &plan.d0,
                &plan.d1,
                &plan.h1,
                &plan.now,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get(0)?,
                CheckCounts {
                    checks: row.try_get(1)?,
                    up: row.try_get(2)?,
                    down: row.try_get(3)?,
                    degraded: row.try_get(4)?,
                    maintenance_checks: row.try_get(7)?,
                    latency_sum_ms: row.try_get(5)?,
                    latency_max_ms: row.try_get(6)?,
                },
            ))
        })
        .collect()
}

/// Uptime of `monitor` over the `days` days before now.
pub async fn uptime(
    client: &deadpool_postgres::Client,
    monitor: Uuid,
    period: &str,
    days: i64,
) -> Result<Uptime, tokio_postgres::Error> {
    let clock = client.prepare_cached("SELECT now()").await?;
    let now: DateTime<Utc> = client.query_one(&clock, &[]).await?.get(0);
    let start = now - Duration::days(days);
    let counts = check_counts(client, monitor, start, now).await?;
    let incidents = client
        .prepare_cached(
            "SELECT count(*)::int8, coalesce(sum(extract(epoch FROM \
                 LEAST(coalesce(resolved_at, $3), $3) - GREATEST(started_at, $2))), 0)::float8 \
             FROM incidents WHERE monitor_id = $1 AND started_at < $3 \
               AND (resolved_at IS NULL OR resolved_at > $2)",
        )
        .await?;
    let incidents = client
        .query_one(&incidents, &[&monitor, &start, &now])
        .await?;
    // Latency is over every check taken, in maintenance or not.
    let measured = counts.checks + counts.maintenance_checks;
    Ok(Uptime {
        monitor_id: monitor,
        period: period.to_owned(),
        from: start,
        to: now,
        checks: counts.checks,
        up: counts.up,
        down: counts.down,
        degraded: counts.degraded,
        maintenance_checks: counts.maintenance_checks,
        uptime_percent: uptime_percent(counts.checks, counts.down),
        downtime_seconds: (incidents.get::<_, f64>(1) * 1000.0).round() / 1000.0,
        incidents: incidents.get(0),
        latency_avg_ms: counts
            .latency_sum_ms
            .filter(|_| measured > 0)
            .map(|sum| (sum / measured as f64 * 1000.0).round() / 1000.0),
        latency_max_ms: counts.latency_max_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_plan_uses_days_inside_hours_inside_and_raw_at_the_edges() {
        let plan = Plan::new(
            t("2026-01-01T10:30:00Z"),
            t("2026-01-05T12:20:00Z"),
            Some(t("2026-01-05T11:00:00Z")),
            Some(t("2026-01-05T00:00:00Z")),
        );
        assert_eq!(plan.h0, t("2026-01-01T11:00:00Z"));
        assert_eq!(plan.d0, t("2026-01-02T00:00:00Z"));
        assert_eq!(plan.d1, t("2026-01-05T00:00:00Z"));
        assert_eq!(plan.h1, t("2026-01-05T11:00:00Z"));
    }

    #[test]
    fn without_rollups_everything_is_raw() {
        let start = t("2026-01-01T10:30:00Z");
        let now = t("2026-01-02T10:30:00Z");
        let plan = Plan::new(start, now, None, None);
        assert_eq!(plan.h0, t("2026-01-01T11:00:00Z"));
        assert_eq!((plan.d0, plan.d1, plan.h1), (plan.h0, plan.h0, plan.h0));
    }

    #[test]
    fn rollups_behind_the_start_are_not_used() {
        let plan = Plan::new(
            t("2026-01-10T10:30:00Z"),
            t("2026-01-11T10:30:00Z"),
            Some(t("2026-01-05T00:00:00Z")),
            Some(t("2026-01-04T00:00:00Z")),
        );
        assert_eq!(plan.h1, plan.h0);
        assert_eq!((plan.d0, plan.d1), (plan.h0, plan.h0));
    }

    #[test]
    fn hours_only_when_no_whole_day_is_rolled() {
        let plan = Plan::new(
            t("2026-01-01T10:30:00Z"),
            t("2026-01-02T10:30:00Z"),
            Some(t("2026-01-02T09:00:00Z")),
            Some(t("2026-01-01T00:00:00Z")),
        );
        assert_eq!(plan.h0, t("2026-01-01T11:00:00Z"));
        assert_eq!(plan.h1, t("2026-01-02T09:00:00Z"));
        assert_eq!((plan.d0, plan.d1), (plan.h1, plan.h1));
    }

    #[test]
    fn buckets_floor_and_ceil() {
        let x = t("2026-03-04T05:06:07Z");
        assert_eq!(Kind::Hourly.floor(x), t("2026-03-04T05:00:00Z"));
        assert_eq!(Kind::Hourly.ceil(x), t("2026-03-04T06:00:00Z"));
        assert_eq!(Kind::Daily.floor(x), t("2026-03-04T00:00:00Z"));
        assert_eq!(
            Kind::Daily.ceil(t("2026-03-04T00:00:00Z")),
            t("2026-03-04T00:00:00Z")
        );
    }
}
