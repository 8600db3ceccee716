//! A component's uptime, computed from its status history: the share of time
//! not in `partial_outage` or `major_outage`, with time under maintenance and
//! time before the component existed left out. Status-page day bars, badges
//! and SLA reports all take their figures from here.

use std::collections::HashMap;

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

/// Per component and span: seconds by kind of status. Every span of the
/// series is one row per component, empty spans included. A component's
/// history is read from its last change at or before the first span's start
/// (the index on `(component_id, at, id)`); each segment of it is spread
/// over the spans it touches, clipped to each span and to now.
const SERIES: &str = "\
WITH ids AS (
    SELECT DISTINCT unnest($1::uuid[]) AS component_id
), bounds AS (
    SELECT $2::timestamptz AS s0, make_interval(secs => $3::float8) AS w, $4::int AS n,
           $2::timestamptz + make_interval(secs => $3::float8) * $4::int AS e0
), spans AS (
    SELECT i, b.s0 + b.w * i AS s, b.s0 + b.w * (i + 1) AS e
    FROM bounds b CROSS JOIN generate_series(0, b.n - 1) AS i
), history AS (
    SELECT ids.component_id, h.new_status, h.at,
           lead(h.at) OVER (PARTITION BY ids.component_id ORDER BY h.at, h.id) AS next_at
    FROM ids CROSS JOIN bounds b
    CROSS JOIN LATERAL (
        SELECT c.id, c.new_status, c.at FROM component_status_changes c
        WHERE c.component_id = ids.component_id AND c.at < b.e0
          AND c.at >= COALESCE((SELECT p.at FROM component_status_changes p
                                WHERE p.component_id = ids.component_id AND p.at <= b.s0
                                ORDER BY p.at DESC, p.id DESC LIMIT 1), '-infinity')
    ) h
), segments AS (
    SELECT h.component_id, h.new_status, i,
           extract(epoch FROM LEAST(COALESCE(h.next_at, now()), b.s0 + b.w * (i + 1), now())
                             - GREATEST(h.at, b.s0 + b.w * i)) AS seconds
    FROM history h CROSS JOIN bounds b
    CROSS JOIN LATERAL generate_series(
        GREATEST(0, floor(extract(epoch FROM h.at - b.s0) / $3::float8))::int,
        LEAST(b.n - 1, floor(extract(epoch FROM LEAST(COALESCE(h.next_at, now()), b.e0) - b.s0)
                             / $3::float8))::int) AS i
)
SELECT ids.component_id, spans.i, spans.s, spans.e,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'operational'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'degraded_performance'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'partial_outage'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'major_outage'), 0)::float8,
    coalesce(sum(seconds) FILTER (WHERE new_status = 'under_maintenance'), 0)::float8
FROM ids CROSS JOIN spans
LEFT JOIN segments ON segments.component_id = ids.component_id AND segments.i = spans.i
    AND segments.seconds > 0
GROUP BY ids.component_id, spans.i, spans.s, spans.e ORDER BY ids.component_id, spans.i";

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
    let mut all = series_of(client, &[component], start, width, count).await?;
    Ok(all.remove(&component).unwrap_or_default())
}

/// [`series`] for several components in one statement (a status page's day
/// bars): each component's spans, oldest first. Components without any
/// history get spans of no data.
pub async fn series_of(
    client: &impl deadpool_postgres::GenericClient,
    components: &[Uuid],
    start: DateTime<Utc>,
    width: Duration,
    count: u32,
) -> Result<HashMap<Uuid, Vec<ComponentUptime>>, tokio_postgres::Error> {
    let mut out: HashMap<Uuid, Vec<ComponentUptime>> = HashMap::new();
    if components.is_empty() || count == 0 {
        return Ok(out);
    }
    let statement = client.prepare_cached(SERIES).await?;
    #[allow(clippy::cast_precision_loss)]
    let width = width.num_milliseconds() as f64 / 1000.0;
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    let rows = client
        .query(&statement, &[&components, &start, &width, &count])
        .await?;
    for row in &rows {
        let component: Uuid = row.try_get(0)?;
        let (from, to): (DateTime<Utc>, DateTime<Utc>) = (row.try_get(2)?, row.try_get(3)?);
        let operational = round(row.try_get(4)?);
        let degraded = round(row.try_get(5)?);
        let partial = round(row.try_get(6)?);
        let major = round(row.try_get(7)?);
        let maintenance = round(row.try_get(8)?);
        #[allow(clippy::cast_precision_loss)]
        let span = (to - from).num_milliseconds() as f64 / 1000.0;
        let available = operational + degraded;
        let counted = available + partial + major;
        out.entry(component).or_default().push(ComponentUptime {
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
        });
    }
    Ok(out)
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
