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

/// Each component's status history from its last change at or before `$2`
/// (an index probe per component) up to `$3`, in order, with the
/// transaction's now. The spans are summed in Rust ([`series_of`]): one
/// pass over the changes, where SQL needed a sort and a join per span.
const HISTORY: &str = "\
WITH ids AS (
    SELECT DISTINCT unnest($1::uuid[]) AS component_id
), starts AS MATERIALIZED (
    SELECT ids.component_id,
           COALESCE((SELECT p.at FROM component_status_changes p
                     WHERE p.component_id = ids.component_id AND p.at <= $2
                     ORDER BY p.at DESC, p.id DESC LIMIT 1), '-infinity') AS from_at
    FROM ids
)
SELECT s.component_id, h.new_status, h.at, now()
FROM starts s
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-component index range scan rather than a
    -- join over every component's whole history.
    SELECT c.id, c.new_status, c.at FROM component_status_changes c
    WHERE c.component_id = s.component_id AND c.at >= s.from_at AND c.at < $3
    OFFSET 0
) h
ORDER BY s.component_id, h.at, h.id";

/// Which of a span's sums a status adds to.
fn kind(status: &str) -> Option<usize> {
    match status {
        "operational" => Some(0),
        "degraded_performance" => Some(1),
        "partial_outage" => Some(2),
        "major_outage" => Some(3),
        "under_maintenance" => Some(4),
        _ => None,
    }
}

/// Adds the segment [from, to) of status `kind` to the spans of width
/// `width` from `start` (times in microseconds), clipped to each span.
fn spread(sums: &mut [[i64; 5]], start: i64, width: i64, from: i64, to: i64, kind: usize) {
    if to <= from || width <= 0 {
        return;
    }
    let count = i64::try_from(sums.len()).unwrap_or(i64::MAX);
    let first = (from - start).div_euclid(width).max(0);
    let last = (to - 1 - start).div_euclid(width).min(count - 1);
    let mut i = first;
    while i <= last {
        let span_start = start + width * i;
        let overlap = to.min(span_start + width) - from.max(span_start);
        if overlap > 0 {
            if let Some(span) = usize::try_from(i).ok().and_then(|i| sums.get_mut(i)) {
                span[kind] += overlap;
            }
        }
        i += 1;
    }
}

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
    let width_us = width.num_microseconds().unwrap_or(i64::MAX);
    let spans = usize::try_from(count).unwrap_or(usize::MAX);
    let end = start + width * i32::try_from(count).unwrap_or(i32::MAX);
    let statement = client.prepare_cached(HISTORY).await?;
    let rows = client
        .query(&statement, &[&components, &start, &end])
        .await?;
    let start_us = start.timestamp_micros();
    let mut sums: HashMap<Uuid, Vec<[i64; 5]>> = components
        .iter()
        .map(|id| (*id, vec![[0; 5]; spans]))
        .collect();
    // Rows come per component, oldest first: each change lasts until the
    // next one of its component, the last until now.
    for (index, row) in rows.iter().enumerate() {
        let component: Uuid = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let at: DateTime<Utc> = row.try_get(2)?;
        let now: DateTime<Utc> = row.try_get(3)?;
        let next = rows
            .get(index + 1)
            .filter(|next| next.get::<_, Uuid>(0) == component)
            .map(|next| next.get::<_, DateTime<Utc>>(2))
            .unwrap_or(now)
            .min(now);
        let (Some(kind), Some(spans)) = (kind(&status), sums.get_mut(&component)) else {
            continue;
        };
        spread(
            spans,
            start_us,
            width_us,
            at.timestamp_micros(),
            next.timestamp_micros(),
            kind,
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let seconds = |us: i64| round(us as f64 / 1_000_000.0);
    for (component, spans) in sums {
        let series = spans
            .iter()
            .enumerate()
            .map(|(i, span)| {
                let from = start + width * i32::try_from(i).unwrap_or(i32::MAX);
                let to = from + width;
                let [operational, degraded, partial, major, maintenance] = span.map(seconds);
                #[allow(clippy::cast_precision_loss)]
                let length = width_us as f64 / 1_000_000.0;
                let available = operational + degraded;
                let counted = available + partial + major;
                ComponentUptime {
                    from,
                    to,
                    operational_seconds: operational,
                    degraded_seconds: degraded,
                    partial_outage_seconds: partial,
                    major_outage_seconds: major,
                    maintenance_seconds: maintenance,
                    no_data_seconds: round((length - counted - maintenance).max(0.0)),
                    uptime_percent: (counted > 0.0)
                        .then(|| (available * 100.0 / counted * 10_000.0).round() / 10_000.0),
                }
            })
            .collect();
        out.insert(component, series);
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

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn a_segment_is_spread_over_the_spans_it_touches_and_clipped_to_them() {
        // Three spans of 10 from 100: [100,110), [110,120), [120,130).
        let mut sums = vec![[0i64; 5]; 3];
        spread(&mut sums, 100, 10, 95, 125, 2);
        assert_eq!(
            sums.iter().map(|s| s[2]).collect::<Vec<_>>(),
            [10, 10, 5],
            "before the first span is left out"
        );
        spread(&mut sums, 100, 10, 128, 200, 0);
        assert_eq!(sums[2][0], 2, "after the last span is left out");
        spread(&mut sums, 100, 10, 110, 110, 1);
        spread(&mut sums, 100, 10, 130, 140, 1);
        spread(&mut sums, 100, 10, 50, 90, 1);
        assert!(
            sums.iter().all(|s| s[1] == 0),
            "empty or outside segments add nothing"
        );
        // A boundary belongs to the span it starts.
        let mut sums = vec![[0i64; 5]; 2];
        spread(&mut sums, 0, 10, 10, 20, 4);
        assert_eq!((sums[0][4], sums[1][4]), (0, 10));
    }
}
