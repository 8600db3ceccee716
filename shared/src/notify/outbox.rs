//! The outbox in Postgres: claiming due events under a lease, recording each
//! attempt, scheduling retries, reminders, and the outbox gauges.
//!
//! An event is claimed by setting `locked_by`/`locked_until` on rows picked
//! with `FOR UPDATE SKIP LOCKED`, so two workers never send the same attempt;
//! a worker that dies after claiming leaves the row to be claimed again when
//! the lease runs out (delivery is at least once; receivers deduplicate by
//! `webhook-id`, which is the event id on every attempt).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::send::{Attempt, Outcome};
use crate::model::channel::ChannelTarget;
use crate::model::ChannelType;

/// An event claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub event_type: String,
    pub payload: Value,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts made before the last redelivery request.
    pub retry_from: i32,
    pub kind: ChannelType,
    pub target: ChannelTarget,
    pub signing_secret: Option<String>,
}

impl Claimed {
    /// What one attempt of this event sends.
    pub fn delivery(&self) -> super::send::Delivery<'_> {
        super::send::Delivery {
            event_id: self.id,
            kind: self.kind,
            target: &self.target,
            signing_secret: self.signing_secret.as_deref(),
            payload: &self.payload,
        }
    }
}

/// Retry rules (WEBHOOK_MAX_RETRIES, WEBHOOK_RETRY_BASE_SECONDS).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
}

/// Where an event stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    /// Retried at this time.
    RetryAt(DateTime<Utc>),
    /// Given up: retries spent, 410 Gone, or a refused target.
    Failed,
    /// Another worker holds the event now; nothing was changed.
    LeaseLost,
}

const CLAIM: &str = "\
UPDATE notification_events e SET locked_by = $1, locked_until = now() + make_interval(secs => $2)
FROM notification_channels c
WHERE c.id = e.channel_id AND e.id IN (
    SELECT e2.id FROM notification_events e2
    JOIN notification_channels c2 ON c2.id = e2.channel_id
    WHERE e2.status = 'pending' AND e2.next_attempt_at <= now() AND c2.enabled
      AND (e2.locked_until IS NULL OR e2.locked_until < now())
    ORDER BY e2.next_attempt_at
    LIMIT $3
    FOR UPDATE OF e2 SKIP LOCKED)
RETURNING e.id, e.channel_id, e.event_type, e.payload, e.attempts, e.retry_from,
          c.type, c.config, c.signing_secret";

fn claimed_from_row(row: &tokio_postgres::Row) -> Result<Claimed, tokio_postgres::Error> {
    let kind: String = row.try_get("type")?;
    let config: Value = row.try_get("config")?;
    Ok(Claimed {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        retry_from: row.try_get("retry_from")?,
        kind: kind.parse().unwrap_or(ChannelType::Webhook),
        target: serde_json::from_value(config).unwrap_or(ChannelTarget {
            url: None,
            bot_token: None,
            chat_id: None,
        }),
        signing_secret: row.try_get("signing_secret")?,
    })
}

/// Claims up to `limit` due events of enabled channels for `worker`.
pub async fn claim(
    client: &impl deadpool_postgres::GenericClient,
    worker: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, tokio_postgres::Error> {
    let statement = client.prepare_cached(CLAIM).await?;
    let rows = client
        .query(&statement, &[&worker, &lease.as_secs_f64(), &limit])
        .await?;
    rows.iter().map(claimed_from_row).collect()
}

/// Records `attempt` of `event` (claimed by `worker`) and settles the event:
/// delivered, retried later, or failed; a 410 also disables the channel.
pub async fn settle(
    client: &mut deadpool_postgres::Client,
    event: &Claimed,
    worker: &str,
    attempt: &Attempt,
    policy: RetryPolicy,
    attempted_at: DateTime<Utc>,
) -> Result<Settled, tokio_postgres::Error> {
    let number = event.attempts + 1;
    let retries_used = u32::try_from(number - event.retry_from).unwrap_or(1);
    let settled = match attempt.outcome {
        Outcome::Delivered => Settled::Delivered,
        Outcome::Gone | Outcome::Permanent => Settled::Failed,
        Outcome::Retry if retries_used > policy.max_retries => Settled::Failed,
        Outcome::Retry => {
            let delay = attempt.retry_after.unwrap_or_else(|| {
                super::backoff(policy.base, retries_used, rand::random::<f64>())
            });
            let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
            Settled::RetryAt(Utc::now() + delay)
        }
    };
    match record(client, event, worker, attempt, settled, attempted_at).await {
        Err(error) if crate::db::is_data_rejection(&error) => {
            // The answer was cleaned when the attempt ended, so this should
            // not happen; if it does, the attempt is recorded without it
            // rather than left unrecorded (which would deliver it again).
            tracing::error!(event_id = %event.id, error = %error, "a delivery attempt was rejected by Postgres; recording it without the receiver's answer");
            let bare = attempt.without_answer();
            record(client, event, worker, &bare, settled, attempted_at).await
        }
        other => other,
    }
}

/// Writes one attempt and the event's new state in one transaction.
async fn record(
    client: &mut deadpool_postgres::Client,
    event: &Claimed,
    worker: &str,
    attempt: &Attempt,
    settled: Settled,
    attempted_at: DateTime<Utc>,
) -> Result<Settled, tokio_postgres::Error> {
    let number = event.attempts + 1;
    let tx = client.transaction().await?;
    // The channel first: a concurrent channel delete (which locks the channel
    // and cascades to this event) then either waits for this record or has
    // already removed the event, instead of deadlocking with it.
    let channel = tx
        .prepare_cached("SELECT 1 FROM notification_channels WHERE id = $1 FOR KEY SHARE")
        .await?;
    if tx
        .query_opt(&channel, &[&event.channel_id])
        .await?
        .is_none()
    {
        return Ok(Settled::LeaseLost);
    }
    let update = tx
        .prepare_cached(
            "UPDATE notification_events SET attempts = $3, \
                 status = $4, next_attempt_at = COALESCE($5, next_attempt_at), \
                 last_error = $6, delivered_at = CASE WHEN $4 = 'delivered' THEN now() END, \
                 locked_by = NULL, locked_until = NULL, updated_at = now() \
             WHERE id = $1 AND locked_by = $2 AND status = 'pending'",
        )
        .await?;
    let (status, next) = match settled {
        Settled::Delivered => ("delivered", None),
        Settled::RetryAt(at) => ("pending", Some(at)),
        _ => ("failed", None),
    };
    let changed = tx
        .execute(
            &update,
            &[&event.id, &worker, &number, &status, &next, &attempt.error],
        )
        .await?;
    if changed == 0 {
        return Ok(Settled::LeaseLost);
    }
    let record = tx
        .prepare_cached(
            "INSERT INTO notification_attempts (event_id, channel_id, attempt, attempted_at, \
                 outcome, status_code, latency_ms, error, response_snippet) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &record,
        &[
            &event.id,
            &event.channel_id,
            &number,
            &attempted_at,
            &attempt.outcome.as_str(),
            &attempt.status_code.map(i32::from),
            &crate::check::millis(attempt.latency),
            &attempt.error,
            &attempt.response_snippet,
        ],
    )
    .await?;
    if attempt.outcome == Outcome::Gone {
        let disable = tx
            .prepare_cached(
                "UPDATE notification_channels SET enabled = false, disabled_reason = $2, \
                     updated_at = now() WHERE id = $1",
            )
            .await?;
        let reason = format!(
            "the receiver answered 410 Gone at {}; re-enable the channel when it is back",
            attempted_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        tx.execute(&disable, &[&event.channel_id, &reason]).await?;
    }
    tx.commit().await?;
    Ok(settled)
}

/// Queues reminders for open incidents on channels with a reminder interval,
/// each interval after the opening or the previous reminder. Safe to run
/// from several workers at once (one row per sequence number).
pub async fn queue_reminders(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<u64, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "WITH due AS ( \
                 SELECT gen_random_uuid() AS id, c.id AS channel_id, i.id AS incident_id, \
                        i.monitor_id, COALESCE(last.seq, 0) + 1 AS sequence, \
                        jsonb_build_object('id', m.id, 'name', m.name, 'type', m.type, \
                            'target', m.target) AS monitor, \
                        jsonb_build_object('id', i.id, 'startedAt', i.started_at, \
                            'resolvedAt', NULL, \
                            'durationSeconds', floor(extract(epoch FROM now() - i.started_at)), \
                            'failureCount', i.failure_count, 'firstError', i.first_error, \
                            'lastError', i.last_error) AS incident \
                 FROM incidents i \
                 JOIN monitors m ON m.id = i.monitor_id \
                 JOIN monitor_channels mc ON mc.monitor_id = i.monitor_id \
                 JOIN notification_channels c ON c.id = mc.channel_id \
                 LEFT JOIN LATERAL ( \
                     SELECT max(e.sequence) AS seq, max(e.created_at) AS at \
                     FROM notification_events e \
                     WHERE e.incident_id = i.id AND e.channel_id = c.id \
                       AND e.event_type IN ('incident.opened', 'incident.reminder')) last ON true \
                 WHERE i.resolved_at IS NULL AND c.enabled \
                   AND c.reminder_interval_seconds IS NOT NULL \
                   AND 'incident.opened' = ANY (c.events) \
                   AND COALESCE(last.at, i.started_at) \
                       < now() - make_interval(secs => c.reminder_interval_seconds)) \
             INSERT INTO notification_events (id, channel_id, incident_id, monitor_id, event_type, \
                 sequence, payload) \
             SELECT id, channel_id, incident_id, monitor_id, 'incident.reminder', sequence, \
                    jsonb_build_object('type', 'incident.reminder', 'id', id, 'timestamp', now(), \
                        'monitor', monitor, 'incident', incident) \
             FROM due \
             ON CONFLICT (incident_id, channel_id, event_type, sequence) \
                 WHERE incident_id IS NOT NULL DO NOTHING",
        )
        .await?;
    client.execute(&statement, &[]).await
}

/// Pending events and the age in seconds of the oldest due one.
pub async fn depth(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<(i64, f64), tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*), COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 \
             FROM notification_events WHERE status = 'pending'",
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
