//! SLA reports: for every monitor and component with an SLA target, how its
//! availability over a calendar period (a UTC month, quarter or year, or any
//! span) compares with the target, the error budget the target allows and
//! how much of it downtime used, incidents, MTTR and MTBF.
//!
//! Monitors take their availability from their checks (the rollups of
//! [`crate::rollup`], maintenance checks left out) and their downtime from
//! their incidents; components take both from their status history
//! ([`crate::component_uptime`]). The README says how each figure is made.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use uuid::Uuid;

use crate::{component_uptime, rollup};

/// Longest span a report may cover (a leap year).
pub const MAX_SPAN_DAYS: i64 = 366;

/// How a period was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
    /// Explicit `from` and `to`.
    Custom,
}

/// The span a report covers: [from, to), in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub kind: PeriodKind,
    /// "2026-11", "2026-Q4", "2026"; None for a custom span.
    pub label: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

fn midnight(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(year, month, 1)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// First day of the month `months` after (year, month).
fn months_later(year: i32, month: u32, months: u32) -> Option<DateTime<Utc>> {
    let index = year.checked_mul(12)? + i32::try_from(month + months).ok()? - 1;
    midnight(
        index.div_euclid(12),
        u32::try_from(index.rem_euclid(12)).ok()? + 1,
    )
}

/// Years a calendar period may name.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

impl Period {
    /// A UTC calendar month, such as 2026-11.
    pub fn month(year: i32, month: u32) -> Option<Self> {
        if !YEARS.contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        Some(Period {
            kind: PeriodKind::Month,
            label: Some(format!("{year:04}-{month:02}")),
            from: midnight(year, month)?,
            to: months_later(year, month, 1)?,
        })
    }

    /// A UTC calendar quarter (1 to 4), such as 2026-Q4.
    pub fn quarter(year: i32, quarter: u32) -> Option<Self> {
        if !YEARS.contains(&year) || !(1..=4).contains(&quarter) {
            return None;
        }
        let first = (quarter - 1) * 3 + 1;
        Some(Period {
            kind: PeriodKind::Quarter,
            label: Some(format!("{year:04}-Q{quarter}")),
            from: midnight(year, first)?,
            to: months_later(year, first, 3)?,
        })
    }

    /// A UTC calendar year.
    pub fn year(year: i32) -> Option<Self> {
        if !YEARS.contains(&year) {
            return None;
        }
        Some(Period {
            kind: PeriodKind::Year,
            label: Some(format!("{year:04}")),
            from: midnight(year, 1)?,
            to: midnight(year + 1, 1)?,
        })
    }

    /// Any span up to [`MAX_SPAN_DAYS`] long.
    pub fn custom(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Self> {
        (from < to && to - from <= Duration::days(MAX_SPAN_DAYS)).then_some(Period {
            kind: PeriodKind::Custom,
            label: None,
            from,
            to,
        })
    }

    /// Parses "2026-11".
    pub fn parse_month(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        (year.len() == 4 && month.len() == 2)
            .then(|| Self::month(year.parse().ok()?, month.parse().ok()?))?
    }

    /// Parses "2026-Q4" (the Q in either case).
    pub fn parse_quarter(text: &str) -> Option<Self> {
        let (year, quarter) = text.split_once('-')?;
        let quarter = quarter
            .strip_prefix('Q')
            .or_else(|| quarter.strip_prefix('q'))?;
        (year.len() == 4 && quarter.len() == 1)
            .then(|| Self::quarter(year.parse().ok()?, quarter.parse().ok()?))?
    }

    /// Parses "2026".
    pub fn parse_year(text: &str) -> Option<Self> {
        (text.len() == 4)
            .then(|| Self::year(text.parse().ok()?))
            .flatten()
    }

    /// The month, quarter or year of `kind` that contains `now`.
    pub fn containing(kind: PeriodKind, now: DateTime<Utc>) -> Option<Self> {
        match kind {
            PeriodKind::Month => Self::month(now.year(), now.month()),
            PeriodKind::Quarter => Self::quarter(now.year(), (now.month() - 1) / 3 + 1),
            PeriodKind::Year | PeriodKind::Custom => Self::year(now.year()),
        }
    }
}

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Monitor,
    Component,
}

/// One monitor's or component's figures over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: Subject,
    pub id: Uuid,
    pub name: String,
    /// The SLA target, in percent.
    pub target: f64,
    /// None while there is no data for the period.
    pub availability_percent: Option<f64>,
    /// Whether availability reached the target; None without data.
    pub met: Option<bool>,
    /// Time of the period that counts: elapsed (up to now), after the
    /// subject was created, outside maintenance.
    pub counted_seconds: f64,
    /// Time under maintenance, left out of every figure.
    pub maintenance_seconds: f64,
    /// Allowed downtime: (1 - target / 100) × counted seconds.
    pub error_budget_seconds: f64,
    pub downtime_seconds: f64,
    /// Downtime over the error budget, in percent; None when the budget is 0.
    pub budget_used_percent: Option<f64>,
    /// Incidents open at some point of the period.
    pub incidents: i64,
    /// Mean duration of the incidents resolved in the period.
    pub mttr_seconds: Option<f64>,
    /// (Counted seconds - downtime) / incidents; None without incidents.
    pub mtbf_seconds: Option<f64>,
}

/// The raw measurements a report's figures are derived from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub target: f64,
    pub availability_percent: Option<f64>,
    pub counted_seconds: f64,
    pub maintenance_seconds: f64,
    pub downtime_seconds: f64,
    pub incidents: i64,
    pub mttr_seconds: Option<f64>,
}

fn seconds(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn percent(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

impl Report {
    /// Derives the budget, whether the target was met, and MTBF.
    pub fn new(kind: Subject, id: Uuid, name: String, measured: Measured) -> Self {
        let counted = seconds(measured.counted_seconds);
        let downtime = seconds(measured.downtime_seconds);
        let budget = seconds((1.0 - measured.target / 100.0) * counted);
        #[allow(clippy::cast_precision_loss)]
        let mtbf = (measured.incidents > 0)
            .then(|| seconds((counted - downtime).max(0.0) / measured.incidents as f64));
        Report {
            kind,
            id,
            name,
            target: measured.target,
            availability_percent: measured.availability_percent,
            met: measured
                .availability_percent
                .map(|available| available >= measured.target),
            counted_seconds: counted,
            maintenance_seconds: seconds(measured.maintenance_seconds),
            error_budget_seconds: budget,
            downtime_seconds: downtime,
            budget_used_percent: (budget > 0.0).then(|| percent(downtime * 100.0 / budget)),
            incidents: measured.incidents,
            mttr_seconds: measured.mttr_seconds.map(seconds),
            mtbf_seconds: mtbf,
        }
    }
}

/// Seconds covered by a multirange expression.
macro_rules! multirange_seconds {
    ($expr:literal) => {
        concat!(
            "(SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)::float8 \
             FROM unnest(",
            $expr,
            ") AS r)"
        )
    };
}

/// Per monitor with a target: its span in the period (from its creation, up
/// to now), the maintenance occurrences covering it (directly or through
/// components) merged, and its incidents merged and clipped to what is left.
const MONITORS: &str = concat!(
    "WITH m AS (
        SELECT id, name, sla_target,
               tstzrange(GREATEST(created_at, $1::timestamptz),
                         GREATEST(created_at, $1::timestamptz,
                                  LEAST($2::timestamptz, $3::timestamptz))) AS span
        FROM monitors WHERE sla_target IS NOT NULL
    ), spans AS (
        SELECT m.*, coalesce((
            SELECT range_agg(tstzrange(o.starts_at, o.ends_at))
            FROM maintenance_window_coverage cov
            JOIN maintenance_occurrences o ON o.window_id = cov.window_id
            WHERE cov.monitor_id = m.id AND o.starts_at < upper(m.span) AND o.ends_at > lower(m.span)
        ), '{}'::tstzmultirange) * tstzmultirange(m.span) AS maintenance
        FROM m
    ), f AS (
        SELECT spans.*, tstzmultirange(span) - maintenance AS counted FROM spans
    )
    SELECT id, name, sla_target, ",
    multirange_seconds!("counted"),
    ", ",
    multirange_seconds!("maintenance"),
    ", ",
    multirange_seconds!(
        "counted * coalesce((
            SELECT range_agg(tstzrange(i.started_at, coalesce(i.resolved_at, 'infinity')))
            FROM incidents i WHERE i.monitor_id = f.id
              AND i.started_at < upper(span) AND coalesce(i.resolved_at, 'infinity') > lower(span)
        ), '{}'::tstzmultirange)"
    ),
    ",
        (SELECT count(*) FROM incidents i WHERE i.monitor_id = f.id AND i.started_at < $2
           AND i.started_at < $3 AND (i.resolved_at IS NULL OR i.resolved_at > $1))::int8,
        (SELECT avg(extract(epoch FROM i.resolved_at - i.started_at))::float8 FROM incidents i
         WHERE i.monitor_id = f.id AND i.resolved_at >= $1 AND i.resolved_at < $2)
    FROM f ORDER BY name, id"
);

/// Per component with a target: the status incidents that touch it (listed
/// as affected, or opened automatically for it).
const COMPONENTS: &str = "\
WITH c AS (SELECT id, name, sla_target FROM components WHERE sla_target IS NOT NULL),
touching AS (
    SELECT c.id AS component_id, si.started_at, si.resolved_at
    FROM c JOIN status_incidents si ON si.auto_component_id = c.id
        OR EXISTS (SELECT 1 FROM status_incident_components sic
                   WHERE sic.incident_id = si.id AND sic.component_id = c.id)
)
SELECT c.id, c.name, c.sla_target,
    (SELECT count(*) FROM touching t WHERE t.component_id = c.id AND t.started_at < $2
       AND t.started_at < $3 AND (t.resolved_at IS NULL OR t.resolved_at > $1))::int8,
    (SELECT avg(extract(epoch FROM t.resolved_at - t.started_at))::float8 FROM touching t
     WHERE t.component_id = c.id AND t.resolved_at >= $1 AND t.resolved_at < $2)
FROM c ORDER BY c.name, c.id";

/// Reports for every monitor, then every component, with a target, over
/// `period` as it stands at `now`.
#[tracing::instrument(skip_all, fields(from = %period.from, to = %period.to))]
pub async fn reports(
    client: &impl GenericClient,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Vec<Report>, tokio_postgres::Error> {
    let mut out = Vec::new();
    let until = period.to.min(now);

    let statement = client.prepare_cached(MONITORS).await?;
    let rows = client
        .query(&statement, &[&period.from, &period.to, &now])
        .await?;
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let checks = rollup::check_counts_of(client, &ids, period.from, until).await?;
    for row in rows {
        let id: Uuid = row.try_get(0)?;
        let counts = checks.get(&id).copied().unwrap_or_default();
        let measured = Measured {
            target: row.try_get(2)?,
            availability_percent: rollup::uptime_percent(counts.checks, counts.down),
            counted_seconds: row.try_get(3)?,
            maintenance_seconds: row.try_get(4)?,
            downtime_seconds: row.try_get(5)?,
            incidents: row.try_get(6)?,
            mttr_seconds: row.try_get(7)?,
        };
        out.push(Report::new(Subject::Monitor, id, row.try_get(1)?, measured));
    }

    let statement = client.prepare_cached(COMPONENTS).await?;
    let rows = client
        .query(&statement, &[&period.from, &period.to, &now])
        .await?;
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut uptimes =
        component_uptime::series_of(client, &ids, period.from, period.to - period.from, 1).await?;
    for row in rows {
        let id: Uuid = row.try_get(0)?;
        let uptime = uptimes.remove(&id).and_then(|mut spans| spans.pop());
        let (available, outage, maintenance) = uptime.as_ref().map_or((0.0, 0.0, 0.0), |u| {
            (
                u.operational_seconds + u.degraded_seconds,
                u.partial_outage_seconds + u.major_outage_seconds,
                u.maintenance_seconds,
            )
        });
        let measured = Measured {
            target: row.try_get(2)?,
            availability_percent: uptime.and_then(|u| u.uptime_percent),
            counted_seconds: available + outage,
            maintenance_seconds: maintenance,
            downtime_seconds: outage,
            incidents: row.try_get(3)?,
            mttr_seconds: row.try_get(4)?,
        };
        out.push(Report::new(
            Subject::Component,
            id,
            row.try_get(1)?,
            measured,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn calendar_periods_are_utc_and_half_open() {
        let november = Period::parse_month("2026-11").unwrap();
        assert_eq!(november.from, t("2026-11-01T00:00:00Z"));
        assert_eq!(november.to, t("2026-12-01T00:00:00Z"));
        let december = Period::parse_month("2026-12").unwrap();
        assert_eq!(december.to, t("2027-01-01T00:00:00Z"));
        let q4 = Period::parse_quarter("2026-Q4").unwrap();
        assert_eq!(
            (q4.from, q4.to),
            (t("2026-10-01T00:00:00Z"), t("2027-01-01T00:00:00Z"))
        );
        let year = Period::parse_year("2028").unwrap();
        assert_eq!(year.to - year.from, Duration::days(366));
        assert_eq!(
            Period::containing(PeriodKind::Quarter, t("2026-05-17T12:00:00Z")).map(|p| p.label),
            Some(Some("2026-Q2".to_owned()))
        );
    }

    #[test]
    fn malformed_periods_are_refused() {
        for text in ["2026-13", "2026-1", "26-11", "2026-00", "2026/11", "x"] {
            assert_eq!(Period::parse_month(text), None, "{text}");
        }
        for text in ["2026-Q5", "2026-Q0", "2026-4", "2026Q4"] {
            assert_eq!(Period::parse_quarter(text), None, "{text}");
        }
        assert_eq!(Period::parse_year("10000"), None);
        let from = t("2026-01-01T00:00:00Z");
        assert_eq!(Period::custom(from, from), None);
        assert_eq!(Period::custom(from, from + Duration::days(367)), None);
    }

    #[test]
    fn figures_follow_from_the_measurements() {
        let report = Report::new(
            Subject::Monitor,
            Uuid::nil(),
            "api".to_owned(),
            Measured {
                target: 99.9,
                availability_percent: Some(99.95),
                counted_seconds: 2_592_000.0,
                maintenance_seconds: 0.0,
                downtime_seconds: 1296.0,
                incidents: 2,
                mttr_seconds: Some(648.0),
            },
        );
        assert_eq!(report.error_budget_seconds, 2592.0);
        assert_eq!(report.budget_used_percent, Some(50.0));
        assert_eq!(report.met, Some(true));
        assert_eq!(report.mtbf_seconds, Some((2_592_000.0 - 1296.0) / 2.0));
    }
}
