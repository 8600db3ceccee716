//! Writing check results, monitor state and incidents to Postgres.
//!
//! The slot is the fencing token. A result is inserted with ON CONFLICT DO
//! NOTHING on (monitor_id, slot_ts); only a result that was really inserted
//! may change the monitor, and only when its slot is newer than the
//! monitor's `last_slot`; incidents (and their outbox rows) change only when
//! that guarded update wins. A late or duplicate worker therefore cannot
//! write a second result or raise a second alert.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::json;
use shared::model::CheckResult;
use shared::notify;
use uuid::Uuid;

/// What one batch changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Results inserted (not duplicates, monitor still exists).
    pub inserted: usize,
    /// Results that advanced their monitor's state.
    pub applied: usize,
    /// Incidents opened: (monitor, incident).
    pub opened: Vec<(Uuid, Uuid)>,
    /// Incidents resolved: (monitor, incident).
    pub resolved: Vec<(Uuid, Uuid)>,
}

/// Inserts results (a slot only once), marking those whose slot falls in a
/// maintenance occurrence covering their monitor, and marks the past hours
/// they fall in as dirty, so the rollup job rolls those hours again (see
/// shared::rollup).
const INSERT_RESULTS: &str = "\
WITH r AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], \
    $5::text[], $6::int4[], $7::text[], $8::float4[], $9::float4[], $10::float4[], $11::float4[], \
    $12::float4[], $13::text[], $14::jsonb[]) \
    AS r(monitor_id, slot_ts, checked_at, worker_id, status, status_code, error, dns_ms, \
         connect_ms, tls_ms, ttfb_ms, total_ms, body_snippet, details)), \
maint AS MATERIALIZED (SELECT cov.monitor_id, o.starts_at, o.ends_at \
    FROM maintenance_occurrences o JOIN maintenance_window_coverage cov ON cov.window_id = o.window_id \
    WHERE o.starts_at <= (SELECT max(slot_ts) FROM r) AND o.ends_at > (SELECT min(slot_ts) FROM r)), \
ins AS (INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, status_code, \
    error, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, body_snippet, details, in_maintenance) \
SELECT r.*, EXISTS (SELECT 1 FROM maint WHERE maint.monitor_id = r.monitor_id \
    AND maint.starts_at <= r.slot_ts AND r.slot_ts < maint.ends_at) FROM r \
WHERE EXISTS (SELECT 1 FROM monitors m WHERE m.id = r.monitor_id) \
ON CONFLICT (monitor_id, slot_ts) DO NOTHING \
RETURNING monitor_id, slot_ts, in_maintenance), \
dirty AS (INSERT INTO rollup_dirty_hours (hour) \
    SELECT DISTINCT date_trunc('hour', slot_ts, 'UTC') AS hour FROM ins \
    WHERE slot_ts < date_trunc('hour', now(), 'UTC') ORDER BY hour ON CONFLICT DO NOTHING) \
SELECT monitor_id, slot_ts, in_maintenance FROM ins";

/// A result taken during maintenance moves only its monitor's last slot:
/// it neither counts toward failures nor opens, resolves or notifies. A
/// streak of failures that had not yet made the monitor down ends there, so
/// failures after the window count from the window's end.
const APPLY_MAINTENANCE: &str = "\
UPDATE monitors m SET last_slot = r.slot, last_checked_at = r.checked_at, \
    consecutive_failures = CASE WHEN m.status = 'down' THEN m.consecutive_failures ELSE 0 END, \
    failing_since = CASE WHEN m.status = 'down' THEN m.failing_since END, \
    first_failure_error = CASE WHEN m.status = 'down' THEN m.first_failure_error END \
FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS r(id, slot, checked_at) \
WHERE m.id = r.id AND m.enabled AND (m.last_slot IS NULL OR m.last_slot < r.slot)";

/// Advances the state of each monitor whose result slot is newer than its
/// last one; returns the old and new status so transitions can be seen.
const APPLY_STATE: &str = "\
WITH r AS (
    SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[])
        AS r(id, slot, checked_at, status, error)
), cur AS (
    SELECT m.id, m.status AS old_status
    FROM monitors m JOIN r ON r.id = m.id
    WHERE m.enabled AND (m.last_slot IS NULL OR m.last_slot < r.slot)
    FOR NO KEY UPDATE OF m
)
UPDATE monitors m SET
    last_slot = r.slot,
    last_checked_at = r.checked_at,
    consecutive_failures = CASE WHEN r.status = 'down' THEN m.consecutive_failures + 1 ELSE 0 END,
    consecutive_successes = CASE WHEN r.status = 'down' THEN 0 ELSE m.consecutive_successes + 1 END,
    failing_since = CASE WHEN r.status <> 'down' THEN NULL
                         WHEN m.consecutive_failures = 0 OR m.failing_since IS NULL THEN r.checked_at
                         ELSE m.failing_since END,
    first_failure_error = CASE WHEN r.status <> 'down' THEN NULL
                               WHEN m.consecutive_failures = 0 OR m.failing_since IS NULL THEN r.error
                               ELSE m.first_failure_error END,
    last_error = CASE WHEN r.status = 'up' THEN NULL ELSE r.error END,
    status = CASE
        WHEN r.status = 'down' THEN
            CASE WHEN m.consecutive_failures + 1 >= m.failure_threshold THEN 'down' ELSE m.status END
        WHEN m.status = 'down' AND m.consecutive_successes + 1 < m.recovery_threshold THEN 'down'
        ELSE r.status END
FROM r JOIN cur ON cur.id = r.id
WHERE m.id = r.id
RETURNING m.id, cur.old_status, m.status, m.consecutive_failures, m.failing_since,
          m.first_failure_error, r.slot, r.checked_at, r.status AS result_status, r.error,
          m.name, m.type, m.target";

/// Writes a batch of results in one transaction and applies their effects.
pub async fn write_batch(
    client: &mut deadpool_postgres::Client,
    results: &[CheckResult],
) -> Result<Applied, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let mut applied = Applied::default();
    // Serializes with deletes of these monitors (see the lock's docs): the
    // insert below, a later statement, sees a delete that committed meanwhile.
    let monitors: Vec<Uuid> = results.iter().map(|r| r.monitor_id).collect();
    let statement = tx
        .prepare_cached(shared::db::LOCK_MONITOR_WRITES_SHARED)
        .await?;
    tx.execute(&statement, &[&monitors]).await?;
    let inserted = insert_results(&tx, results).await?;
    applied.inserted = inserted.len();

    // Apply state in slot order; a monitor appears at most once per round so
    // one UPDATE never sees two rows for the same monitor. Results taken in
    // maintenance only move the monitor's last slot.
    let (maintenance, mut pending): (Vec<&CheckResult>, Vec<&CheckResult>) = results
        .iter()
        .filter(|r| inserted.contains_key(&(r.monitor_id, r.slot_ts)))
        .partition(|r| inserted[&(r.monitor_id, r.slot_ts)]);
    pending.sort_by_key(|r| r.slot_ts);
    while !pending.is_empty() {
        let mut seen = HashSet::new();
        let (round, rest): (Vec<&CheckResult>, Vec<&CheckResult>) =
            pending.into_iter().partition(|r| seen.insert(r.monitor_id));
        pending = rest;
        apply_round(&tx, &round, &mut applied).await?;
    }
    // After the rounds, so a later ordinary result is never held back by a
    // maintenance one (each only moves last_slot forward).
    if !maintenance.is_empty() {
        let latest: HashMap<Uuid, &CheckResult> =
            maintenance.iter().fold(HashMap::new(), |mut latest, r| {
                let entry = latest.entry(r.monitor_id).or_insert(*r);
                if r.slot_ts > entry.slot_ts {
                    *entry = *r;
                }
                latest
            });
        let ids: Vec<Uuid> = latest.keys().copied().collect();
        let slots: Vec<DateTime<Utc>> = ids.iter().map(|id| latest[id].slot_ts).collect();
        let checked: Vec<DateTime<Utc>> = ids.iter().map(|id| latest[id].checked_at).collect();
        let statement = tx.prepare_cached(APPLY_MAINTENANCE).await?;
        tx.execute(&statement, &[&ids, &slots, &checked]).await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// Inserts the results; answers which were new, and whether each was
/// taken during maintenance.
async fn insert_results(
    tx: &deadpool_postgres::Transaction<'_>,
    results: &[CheckResult],
) -> Result<HashMap<(Uuid, DateTime<Utc>), bool>, tokio_postgres::Error> {
    let col = |f: fn(&CheckResult) -> Option<f32>| results.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = results.iter().map(|r| r.monitor_id).collect();
    let slots: Vec<DateTime<Utc>> = results.iter().map(|r| r.slot_ts).collect();
    let checked: Vec<DateTime<Utc>> = results.iter().map(|r| r.checked_at).collect();
    let workers: Vec<Option<&str>> = results.iter().map(|r| r.worker_id.as_deref()).collect();
    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    let codes: Vec<Option<i32>> = results.iter().map(|r| r.status_code).collect();
    let errors: Vec<Option<&str>> = results.iter().map(|r| r.error.as_deref()).collect();
    let dns = col(|r| r.timings.dns_ms);
    let connect = col(|r| r.timings.connect_ms);
    let tls = col(|r| r.timings.tls_ms);
    let ttfb = col(|r| r.timings.ttfb_ms);
    let total: Vec<f32> = results.iter().map(|r| r.timings.total_ms).collect();
    let snippets: Vec<Option<&str>> = results.iter().map(|r| r.body_snippet.as_deref()).collect();
    let details: Vec<Option<&serde_json::Value>> =
        results.iter().map(|r| r.details.as_ref()).collect();
    let statement = tx.prepare_cached(INSERT_RESULTS).await?;
    let rows = tx
        .query(
            &statement,
            &[
                &ids, &slots, &checked, &workers, &statuses, &codes, &errors, &dns, &connect, &tls,
                &ttfb, &total, &snippets, &details,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
        .collect()
}

async fn apply_round(
    tx: &deadpool_postgres::Transaction<'_>,
    round: &[&CheckResult],
    applied: &mut Applied,
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<Uuid> = round.iter().map(|r| r.monitor_id).collect();
    let slots: Vec<DateTime<Utc>> = round.iter().map(|r| r.slot_ts).collect();
    let checked: Vec<DateTime<Utc>> = round.iter().map(|r| r.checked_at).collect();
    let statuses: Vec<&str> = round.iter().map(|r| r.status.as_str()).collect();
    let errors: Vec<Option<&str>> = round.iter().map(|r| r.error.as_deref()).collect();
    let statement = tx.prepare_cached(APPLY_STATE).await?;
    let rows = tx
        .query(&statement, &[&ids, &slots, &checked, &statuses, &errors])
        .await?;
    applied.applied += rows.len();
    let by_id: HashMap<Uuid, &CheckResult> = round.iter().map(|r| (r.monitor_id, *r)).collect();
    for row in &rows {
        let id: Uuid = row.try_get("id")?;
        let old: String = row.try_get("old_status")?;
        let new: String = row.try_get("status")?;
        let result_status: String = row.try_get("result_status")?;
        let Some(result) = by_id.get(&id) else {
            continue;
        };
        let monitor = json!({
            "id": id,
            "name": row.try_get::<_, String>("name")?,
            "type": row.try_get::<_, String>("type")?,
            "target": row.try_get::<_, String>("target")?,
        });
        if old != "down" && new == "down" {
            if let Some(incident) = open_incident(tx, row, &monitor, result).await? {
                applied.opened.push((id, incident));
            }
        } else if old == "down" && new != "down" {
            if let Some(incident) = resolve_incident(tx, id, &monitor, result).await? {
                applied.resolved.push((id, incident));
            }
        } else if old != "degraded" && new == "degraded" {
            enqueue(
                tx,
                id,
                None,
                notify::MONITOR_DEGRADED,
                &monitor,
                &serde_json::Value::Null,
                result,
            )
            .await?;
        } else if new == "down" && result_status == "down" {
            let statement = tx
                .prepare_cached(
                    "UPDATE incidents SET last_error = $2, failure_count = failure_count + 1 \
                     WHERE monitor_id = $1 AND resolved_at IS NULL",
                )
                .await?;
            tx.execute(&statement, &[&id, &result.error]).await?;
        }
    }
    Ok(())
}

async fn open_incident(
    tx: &deadpool_postgres::Transaction<'_>,
    row: &tokio_postgres::Row,
    monitor: &serde_json::Value,
    result: &CheckResult,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    let monitor_id: Uuid = row.try_get("id")?;
    let failing_since: Option<DateTime<Utc>> = row.try_get("failing_since")?;
    let first_error: Option<String> = row.try_get("first_failure_error")?;
    let failures: i32 = row.try_get("consecutive_failures")?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO incidents (id, monitor_id, started_at, first_error, last_error, \
                 failure_count, opened_slot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (monitor_id) WHERE resolved_at IS NULL DO NOTHING \
             RETURNING id, started_at",
        )
        .await?;
    let id = Uuid::now_v7();
    let started = failing_since.unwrap_or(result.checked_at);
    let rows = tx
        .query(
            &statement,
            &[
                &id,
                &monitor_id,
                &started,
                &first_error,
                &result.error,
                &failures,
                &result.slot_ts,
            ],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let incident = json!({
        "id": id,
        "startedAt": started,
        "resolvedAt": null,
        "durationSeconds": (result.checked_at - started).num_seconds().max(0),
        "failureCount": failures,
        "firstError": first_error,
        "lastError": result.error,
    });
    enqueue(
        tx,
        monitor_id,
        Some(id),
        notify::INCIDENT_OPENED,
        monitor,
        &incident,
        result,
    )
    .await?;
    Ok(Some(id))
}

async fn resolve_incident(
    tx: &deadpool_postgres::Transaction<'_>,
    monitor_id: Uuid,
    monitor: &serde_json::Value,
    result: &CheckResult,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    let statement = tx
        .prepare_cached(
            "UPDATE incidents SET resolved_at = $2, resolved_slot = $3 \
             WHERE monitor_id = $1 AND resolved_at IS NULL \
             RETURNING id, started_at, first_error, last_error, failure_count",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[&monitor_id, &result.checked_at, &result.slot_ts],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let id: Uuid = row.try_get("id")?;
    let started: DateTime<Utc> = row.try_get("started_at")?;
    let incident = json!({
        "id": id,
        "startedAt": started,
        "resolvedAt": result.checked_at,
        "durationSeconds": (result.checked_at - started).num_seconds().max(0),
        "failureCount": row.try_get::<_, i32>("failure_count")?,
        "firstError": row.try_get::<_, Option<String>>("first_error")?,
        "lastError": row.try_get::<_, Option<String>>("last_error")?,
    });
    enqueue(
        tx,
        monitor_id,
        Some(id),
        notify::INCIDENT_RESOLVED,
        monitor,
        &incident,
        result,
    )
    .await?;
    Ok(Some(id))
}

/// Writes one outbox row per enabled channel attached to the monitor that
/// subscribes to `event_type`, in the same transaction as the change that
/// caused it (the notifier delivers them). Per channel, an opened (or
/// degraded) message within the channel's throttle window of the previous
/// one for the same monitor is stored as `suppressed`, and so is the
/// resolved message of an incident whose opening was suppressed.
#[allow(clippy::too_many_arguments)]
async fn enqueue(
    tx: &deadpool_postgres::Transaction<'_>,
    monitor_id: Uuid,
    incident_id: Option<Uuid>,
    event_type: &str,
    monitor: &serde_json::Value,
    incident: &serde_json::Value,
    result: &CheckResult,
) -> Result<(), tokio_postgres::Error> {
    let statement = tx
        .prepare_cached(
            "SELECT c.id, c.throttle_seconds, \
                 EXISTS (SELECT 1 FROM notification_events e \
                         WHERE e.monitor_id = $1 AND e.channel_id = c.id AND e.event_type = $2 \
                           AND e.status <> 'suppressed' \
                           AND e.created_at > now() - make_interval(secs => c.throttle_seconds)) \
                     AS throttled, \
                 EXISTS (SELECT 1 FROM notification_events e \
                         WHERE e.incident_id = $3 AND e.channel_id = c.id \
                           AND e.event_type = 'incident.opened' AND e.status = 'suppressed') \
                     AS opening_suppressed \
             FROM monitor_channels mc JOIN notification_channels c ON c.id = mc.channel_id \
             WHERE mc.monitor_id = $1 AND c.enabled AND $4 = ANY (c.events)",
        )
        .await?;
    // Reminders go to the channels that get openings.
    let subscription = if event_type == notify::INCIDENT_REMINDER {
        notify::INCIDENT_OPENED
    } else {
        event_type
    };
    let channels = tx
        .query(
            &statement,
            &[&monitor_id, &event_type, &incident_id, &subscription],
        )
        .await?;
    if channels.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO notification_events (id, channel_id, incident_id, monitor_id, event_type, \
                 payload, status, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (incident_id, channel_id, event_type, sequence) \
                 WHERE incident_id IS NOT NULL DO NOTHING",
        )
        .await?;
    for channel in &channels {
        let channel_id: Uuid = channel.try_get(0)?;
        let throttle: i32 = channel.try_get(1)?;
        let throttled: bool = channel.try_get(2)?;
        let opening_suppressed: bool = channel.try_get(3)?;
        let suppressed = match event_type {
            notify::INCIDENT_OPENED | notify::MONITOR_DEGRADED => throttled && throttle > 0,
            notify::INCIDENT_RESOLVED => opening_suppressed,
            _ => false,
        };
        let (status, reason) = if suppressed {
            (
                "suppressed",
                Some(format!(
                    "throttled: another {event_type} message for this monitor went to this \
                     channel within {throttle} s"
                )),
            )
        } else {
            ("pending", None)
        };
        let event_id = Uuid::now_v7();
        let payload = event_payload(event_id, event_type, monitor, incident, result);
        tx.execute(
            &insert,
            &[
                &event_id,
                &channel_id,
                &incident_id,
                &monitor_id,
                &event_type,
                &payload,
                &status,
                &reason,
            ],
        )
        .await?;
    }
    Ok(())
}

/// The canonical event payload (the webhook body; chat formats derive from it).
pub fn event_payload(
    event_id: Uuid,
    event_type: &str,
    monitor: &serde_json::Value,
    incident: &serde_json::Value,
    result: &CheckResult,
) -> serde_json::Value {
    let mut payload = json!({
        "type": event_type,
        "id": event_id,
        "timestamp": Utc::now(),
        "monitor": monitor,
        "check": result,
    });
    if !incident.is_null() {
        payload["incident"] = incident.clone();
    }
    payload
}
