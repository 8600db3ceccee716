//! A component's uptime, computed from its status history: the share of time
//! not in `partial_outage` or `major_outage`, with time under maintenance and
//! time before the component existed left out. Status-page day bars, badges
//! and SLA reports all take their figures from here.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Time a component spent in each kind of status over one span.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentUptime {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Operational or degraded: available.
    pub operational_seconds: f64,
    pub degraded_seconds: f64,
    pub partial_outage_seconds: f64,
    pub major_outage_seconds: f64,
    /// Under maintenance: left out of the percentage.
    pub maintenance_seconds: f64,
    /// Before the component existed (or after `to` when `to` is in the
    /// future): left out of the percentage.
    pub no_data_seconds: f64,
    /// Available time over available plus outage time, in percent; None
    /// when the span holds neither.
    pub uptime_percent: Option<f64>,
}

/// Per span: seconds by kind of status. Every span of the series is one row,
/// empty spans included; segments of the history are clipped to the span
/// and to now.
const SERIES: &str = "\
WITH spans AS (
    SELECT i, $2::timestamptz + make_interval(secs => $3::float8) * i AS s, $2::timestamptz + make_interval(secs => $3::float8) * (i + 1) AS e
    FROM generate_series(0, $4::int - 1) AS i
), history AS (
    SELECT new_status, at, lead(at) OVER (ORDER BY at, id) AS next_at
    FROM component_status_changes
    WHERE component_id = $1 AND at < $2::timestamptz + make_interval(secs => $3::float8) * $4::int
), segments AS (
    SELECT spans.i, history.new_status,
           extract(epoch FROM LEAST(COALESCE(history.next_at, now()), spans.e, now())
                             - GREATEST(history.at, spans.s)) AS seconds
    FROM spans JOIN history
      ON history.at < spans.e AND COALESCE(history.next_at, 'infinity') > spans.s
)
SELECT spans.i, spans.s, spans.e,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'operational'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'degraded_performance'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'partial_outage'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'major_outage'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'under_maintenance'), 0)::float8
FROM spans LEFT JOIN segments ON segments.i = spans.i AND segments.seconds > 0
GROUP BY spans.i, spans.s, spans.e ORDER BY spans.i";

/// Rounds to the millisecond, which is all the history's times carry.
fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Uptime over `count` consecutive spans of `width` from `start` (a day bar
/// per span, say). Spans after now count as no data.
pub async fn series(
    client: &impl deadpool_postgres::GenericClient,
    component: Uuid,
    start: DateTime<Utc>,
    width: Duration,
    count: u32,
) -> Result<Vec<ComponentUptime>, tokio_postgres::Error> {
    let statement = client.prepare_cached(SERIES).await?;
    #[allow(clippy::cast_precision_loss)]
    let width = width.num_milliseconds() as f64 / 1000.0;
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    let rows = client
        .query(&statement, &[&component, &start, &width, &count])
        .await?;
    rows.iter()
        .map(|row| {
            let (from, to): (DateTime<Utc>, DateTime<Utc>) = (row.try_get(1)?, row.try_get(2)?);
            let operational = round(row.try_get(3)?);
            let degraded = round(row.try_get(4)?);
            let partial = round(row.try_get(5)?);
            let major = round(row.try_get(6)?);
            let maintenance = round(row.try_get(7)?);
            #[allow(clippy::cast_precision_loss)]
            let span = (to - from).num_milliseconds() as f64 / 1000.0;
            let available = operational + degraded;
            let counted = available + partial + major;
            Ok(ComponentUptime {
                from,
                to,
                operational_seconds: operational,
                degraded_seconds: degraded,
                partial_outage_seconds: partial,
                major_outage_seconds: major,
                maintenance_seconds: maintenance,
                no_data_seconds: round((span - counted - maintenance).max(0.0)),
                uptime_percent: (counted > 0.0)
                    .then(|| (available * 100.0 / counted * 10_000.0).round() / 10_000.0),
            })
        })
        .collect()
}

/// Uptime over [from, to).
pub async fn over(
    client: &impl deadpool_postgres::GenericClient,
    component: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ComponentUptime, tokio_postgres::Error> {
    let mut spans = series(client, component, from, to - from, 1).await?;
    Ok(spans.pop().unwrap_or(ComponentUptime {
        from,
        to,
        operational_seconds: 0.0,
        degraded_seconds: 0.0,
        partial_outage_seconds: 0.0,
        major_outage_seconds: 0.0,
        maintenance_seconds: 0.0,
        no_data_seconds: 0.0,
        uptime_percent: None,
    }))
}
