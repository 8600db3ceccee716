//! Delivers the outbox: claims due notification events under a lease,
//! sends each with bounded concurrency, records every attempt, retries with
//! backoff. Runs beside the claim loop and never blocks checking.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use shared::config::Config;
use shared::notify::outbox::{self, Claimed, RetryPolicy, Settled};
use shared::notify::send::Sender;
use shared::telemetry as t;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Deliveries in flight per worker.
const CONCURRENCY: usize = 16;
/// How often the notifier looks for due events when idle.
const POLL: Duration = Duration::from_millis(500);
/// How often reminders and the outbox gauges are refreshed.
const HOUSEKEEPING: Duration = Duration::from_secs(10);

/// Runs until `stop` turns true; deliveries in flight then get a short
/// grace period, and anything unfinished is left to its lease.
pub async fn run(
    db: Pool,
    config: Arc<Config>,
    worker_id: String,
    mut stop: watch::Receiver<bool>,
) {
    let sender = match Sender::new(&config) {
        Ok(sender) => sender,
        Err(error) => {
            tracing::error!(error = %error, "the notifier could not start");
            return;
        }
    };
    let policy = RetryPolicy {
        max_retries: config.webhook_max_retries,
        base: config.webhook_retry_base,
    };
    // The lease covers one attempt: the request timeout plus bookkeeping.
    let lease = config.webhook_timeout * 2 + Duration::from_secs(10);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    let mut last_housekeeping: Option<tokio::time::Instant> = None;
    let mut backoff = Duration::ZERO;
    loop {
        if *stop.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING) {
            last_housekeeping = Some(tokio::time::Instant::now());
            if let Err(error) = housekeep(&db).await {
                tracing::warn!(error = format!("{error:#}"), "outbox housekeeping failed");
            }
        }
        let free = permits.available_permits();
        let claimed = if free == 0 {
            Ok(Vec::new())
        } else {
            claim(&db, &worker_id, lease, free).await
        };
        let events = match claimed {
            Ok(events) => {
                backoff = Duration::ZERO;
                events
            }
            Err(error) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(5));
                tracing::warn!(
                    error = format!("{error:#}"),
                    "claiming notifications failed"
                );
                pause(&mut stop, backoff).await;
                continue;
            }
        };
        let got = events.len();
        for event in events {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let db = db.clone();
            let sender = sender.clone();
            let worker_id = worker_id.clone();
            tasks.spawn(async move {
                deliver(&db, &sender, &worker_id, &event, policy).await;
                drop(permit);
            });
        }
        if got == 0 || got == free {
            pause(
                &mut stop,
                if got == 0 {
                    POLL
                } else {
                    Duration::from_millis(20)
                },
            )
            .await;
        }
    }
    let grace = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(grace);
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            () = &mut grace => {
                tasks.abort_all();
                break;
            }
        }
    }
}

async fn claim(
    db: &Pool,
    worker_id: &str,
    lease: Duration,
    limit: usize,
) -> anyhow::Result<Vec<Claimed>> {
    let client = db.get().await?;
    Ok(outbox::claim(
        &client,
        worker_id,
        lease,
        i64::try_from(limit).unwrap_or(16),
    )
    .await?)
}

async fn housekeep(db: &Pool) -> anyhow::Result<()> {
    let client = db.get().await?;
    let reminders = outbox::queue_reminders(&client).await?;
    if reminders > 0 {
        tracing::info!(reminders, "queued incident reminders");
    }
    let (pending, oldest) = outbox::depth(&client).await?;
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!(t::OUTBOX_PENDING).set(pending as f64);
    metrics::gauge!(t::OUTBOX_OLDEST_PENDING_SECONDS).set(oldest);
    Ok(())
}

/// One attempt of one event, recorded whatever happens.
async fn deliver(
    db: &Pool,
    sender: &Sender,
    worker_id: &str,
    event: &Claimed,
    policy: RetryPolicy,
) {
    let attempted_at = chrono::Utc::now();
    let attempt = sender.send(event.delivery()).await;
    let kind = event.kind.as_str();
    metrics::histogram!(t::NOTIFICATION_ATTEMPT_SECONDS, "channel_type" => kind)
        .record(attempt.latency.as_secs_f64());
    let settled = record(db, worker_id, event, &attempt, policy, attempted_at).await;
    let outcome = match settled {
        Ok(Settled::Delivered) => "delivered",
        Ok(Settled::RetryAt(_)) => "retry",
        Ok(Settled::Failed) => {
            tracing::warn!(event_id = %event.id, channel_id = %event.channel_id, error = attempt.error.as_deref().unwrap_or_default(), "notification given up");
            "failed"
        }
        Ok(Settled::LeaseLost) => "lease_lost",
        Err(error) => {
            tracing::error!(event_id = %event.id, error = %error, "a delivery could not be recorded; it will be retried");
            "error"
        }
    };
    metrics::counter!(t::NOTIFICATIONS_TOTAL, "channel_type" => kind, "outcome" => outcome)
        .increment(1);
    if attempt.outcome == shared::notify::send::Outcome::Gone {
        tracing::warn!(channel_id = %event.channel_id, "channel disabled: the receiver answered 410 Gone");
    }
}

/// Records an attempt that was made. Postgres being away is waited out
/// (backing off up to 5 s) rather than given up, because an unrecorded
/// attempt is sent again when its lease runs out; the record still lands
/// after the lease if no other worker claimed the event meanwhile (its
/// `locked_by` is still this worker's). Only a rejection of the data itself,
/// which `settle` already retries without the receiver's answer, ends it.
async fn record(
    db: &Pool,
    worker_id: &str,
    event: &Claimed,
    attempt: &shared::notify::send::Attempt,
    policy: RetryPolicy,
    attempted_at: chrono::DateTime<chrono::Utc>,
) -> Result<Settled, tokio_postgres::Error> {
    let mut wait = Duration::from_millis(200);
    loop {
        let failure = match db.get().await {
            Ok(mut client) => {
                match outbox::settle(&mut client, event, worker_id, attempt, policy, attempted_at)
                    .await
                {
                    Err(error) if !shared::db::is_data_rejection(&error) => error.to_string(),
                    settled => return settled,
                }
            }
            Err(error) => error.to_string(),
        };
        tracing::warn!(event_id = %event.id, error = %failure, retry_in_ms = wait.as_millis() as u64, "recording a delivery failed; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}
