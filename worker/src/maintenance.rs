//! Background duties of every worker: rebuilding the schedule when Redis
//! lost it, reconciling it with Postgres, retention and rollups (one worker
//! at a time, see shared::rollup), and listening for wake-ups.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool as PgPool;
use deadpool_redis::Pool as RedisPool;
use futures_util::StreamExt;
use shared::rollup;
use shared::schedule::{self, Schedule};
use shared::telemetry as t;
use tokio::sync::{watch, Notify};

use crate::runner::Stats;

/// How often one worker (under a lock) compares the schedule with Postgres.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(120);
/// How often a worker runs (or finds another worker running) retention and
/// rollups: partitions ahead, old partitions dropped, closed hours rolled.
pub const ROLLUP_INTERVAL: Duration = Duration::from_secs(60);

/// How often a worker ends manual component overrides whose time is up and
/// marks the starts and ends of maintenance windows.
pub const STATUS_CLOCK_INTERVAL: Duration = Duration::from_secs(2);

/// Rebuilds the schedule whenever `needed` fires and the epoch is missing;
/// reconciles every [`RECONCILE_INTERVAL`] when this worker wins the lock.
#[allow(clippy::too_many_arguments)] // one task's handles, passed once at start
pub async fn run(
    db: PgPool,
    redis: RedisPool,
    schedule: Schedule,
    worker_id: String,
    retention_days: u32,
    needed: Arc<Notify>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut reconcile = tokio::time::interval(RECONCILE_INTERVAL);
    reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rollups = tokio::time::interval(ROLLUP_INTERVAL);
    rollups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = needed.notified() => {
                match rebuild_if_missing(&db, &redis, &schedule, &worker_id).await {
                    Ok(true) => {
                        stats.rebuilds.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!(t::SCHEDULE_REBUILDS_TOTAL).increment(1);
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(error = format!("{error:#}"), "schedule rebuild failed"),
                }
            }
            _ = reconcile.tick() => {
                if let Err(error) = reconcile_once(&db, &redis, &schedule, &worker_id).await {
                    tracing::warn!(error = format!("{error:#}"), "schedule reconciliation failed");
                }
            }
            _ = rollups.tick() => {
                if let Err(error) = maintain(&db, retention_days).await {
                    tracing::warn!(error = format!("{error:#}"), "retention and rollups failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// The status domain's clock, in a task of its own so a long rollup or
/// rebuild never holds it up: overrides that end by themselves, and the
/// starts and ends of maintenance windows (each edge is marked once, by
/// whichever worker gets there first). Runs until `stop` turns true.
pub async fn run_status_clock(db: PgPool, mut stop: watch::Receiver<bool>) {
    let mut clock = tokio::time::interval(STATUS_CLOCK_INTERVAL);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = clock.tick() => tick_status_clock(&db).await,
            _ = stop.changed() => return,
        }
    }
}

async fn tick_status_clock(db: &PgPool) {
    let mut client = match db.get().await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(error = %error, "status clock: no database connection");
            return;
        }
    };
    match shared::model::component::end_expired_overrides(&client).await {
        Ok(0) => {}
        Ok(ended) => {
            tracing::info!(
                components = ended,
                "manual component statuses ended by their time"
            );
        }
        Err(error) => tracing::warn!(error = %error, "ending expired overrides failed"),
    }
    match shared::maintenance::tick(&mut client, shared::maintenance::HORIZON).await {
        Ok(report) if report.changed_anything() => tracing::info!(
            started = report.started,
            ended = report.ended,
            missed = report.missed,
            components_changed = report.components_changed,
            occurrences_added = report.occurrences_added,
            "maintenance windows"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(error = %error, "maintenance windows: tick failed"),
    }
}

/// Rebuilds the schedule from Postgres if the epoch is missing and this
/// worker wins the rebuild lock. True when it rebuilt.
pub async fn rebuild_if_missing(
    db: &PgPool,
    redis: &RedisPool,
    schedule: &Schedule,
    worker_id: &str,
) -> anyhow::Result<bool> {
    if schedule.epoch_present(redis).await? {
        return Ok(false);
    }
    if !schedule.try_lock_rebuild(redis, worker_id).await? {
        return Ok(false);
    }
    let client = db.get().await?;
    let entries = schedule::load_entries(&client).await?;
    schedule.rebuild(redis, &entries).await?;
    tracing::info!(
        monitors = entries.len(),
        "rebuilt the schedule from Postgres"
    );
    Ok(true)
}

/// Reconciles the schedule with Postgres if no worker did within the interval.
pub async fn reconcile_once(
    db: &PgPool,
    redis: &RedisPool,
    schedule: &Schedule,
    worker_id: &str,
) -> anyhow::Result<()> {
    let lock_for = RECONCILE_INTERVAL.saturating_sub(Duration::from_secs(5));
    if !schedule
        .try_lock_reconcile(redis, worker_id, lock_for)
        .await?
    {
        return Ok(());
    }
    let client = db.get().await?;
    let entries = schedule::load_entries(&client).await?;
    let repairs = schedule.reconcile(redis, &entries).await?;
    if repairs.upserted > 0 || repairs.removed > 0 {
        tracing::info!(
            upserted = repairs.upserted,
            removed = repairs.removed,
            "reconciled the schedule"
        );
    }
    metrics::counter!(t::SCHEDULE_REPAIRS_TOTAL, "kind" => "upserted")
        .increment(repairs.upserted as u64);
    metrics::counter!(t::SCHEDULE_REPAIRS_TOTAL, "kind" => "removed")
        .increment(repairs.removed as u64);
    Ok(())
}

/// Runs retention and rollups once unless another worker is running them.
pub async fn maintain(db: &PgPool, retention_days: u32) -> anyhow::Result<rollup::Report> {
    let mut client = db.get().await?;
    let report = rollup::maintain(&mut client, retention_days).await?;
    if report.changed_anything() {
        tracing::info!(
            partitions_created = report.partitions_created,
            partitions_dropped = report.partitions_dropped,
            hours_rolled = report.hours_rolled,
            days_rolled = report.days_rolled,
            rollups_pruned = report.rollups_pruned,
            "retention and rollups"
        );
    }
    Ok(report)
}

/// Subscribes to the wake channel and notifies the claim loop on each
/// message; reconnects with backoff while Redis is away.
pub async fn wake_listener(
    redis_url: String,
    channel: String,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut retry = Duration::from_millis(200);
    loop {
        let session = async {
            let client = redis::Client::open(redis_url.as_str())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            let mut messages = pubsub.on_message();
            while messages.next().await.is_some() {
                wake.notify_one();
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::select! {
            outcome = session => {
                if let Err(error) = outcome {
                    tracing::debug!(error = %error, "wake subscription lost");
                }
            }
            _ = stop.changed() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            _ = stop.changed() => return,
        }
        retry = (retry * 2).min(Duration::from_secs(5));
    }
}
