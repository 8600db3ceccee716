//! The worker's heartbeat row in worker_heartbeats.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use deadpool_redis::Pool as RedisPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::runner::Stats;

/// How often the heartbeat is written.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A worker silent for this long is shown as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(20);

/// Who this worker process is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub worker_id: String,
    pub host: String,
    pub pid: i32,
    pub started_at: DateTime<Utc>,
}

impl Identity {
    /// The identity of the running process.
    pub fn new() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let pid = i32::try_from(std::process::id()).unwrap_or(0);
        Self {
            worker_id: format!(
                "{host}-{pid}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            host,
            pid,
            started_at: Utc::now(),
        }
    }
}

impl Default for Identity {
    fn default() -> Self {
        Self::new()
    }
}

/// What a heartbeat reports besides the identity.
struct Load {
    active: i32,
    queued: i32,
    in_flight: Vec<Uuid>,
}

impl Load {
    fn of(stats: &Stats) -> Self {
        let in_flight = stats.in_flight_ids();
        Self {
            active: i32::try_from(in_flight.len()).unwrap_or(i32::MAX),
            queued: i32::try_from(
                stats.queued.load(Ordering::Relaxed) + stats.buffered.load(Ordering::Relaxed),
            )
            .unwrap_or(i32::MAX),
            in_flight,
        }
    }
}

async fn beat(db: &Pool, identity: &Identity, load: &Load) -> anyhow::Result<()> {
    let client = db.get().await?;
    let statement = client
        .prepare_cached(
            "INSERT INTO worker_heartbeats (worker_id, host, pid, version, started_at, last_seen_at, \
                 active_jobs, queued_jobs, in_flight) \
             VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8) \
             ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = now(), \
                 active_jobs = EXCLUDED.active_jobs, queued_jobs = EXCLUDED.queued_jobs, \
                 in_flight = EXCLUDED.in_flight",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &identity.worker_id,
                &identity.host,
                &identity.pid,
                &shared::VERSION,
                &identity.started_at,
                &load.active,
                &load.queued,
                &load.in_flight,
            ],
        )
        .await?;
    Ok(())
}

/// The Redis copy of the heartbeat, which expires when the worker stops beating.
async fn beat_redis(
    redis: &RedisPool,
    key: &str,
    identity: &Identity,
    load: &Load,
) -> anyhow::Result<()> {
    let mut conn = redis.get().await?;
    let body = serde_json::json!({
        "workerId": identity.worker_id,
        "host": identity.host,
        "pid": identity.pid,
        "version": shared::VERSION,
        "startedAt": identity.started_at,
        "lastSeenAt": Utc::now(),
        "activeJobs": load.active,
        "queuedJobs": load.queued,
        "inFlight": load.in_flight,
    });
    let () = redis::cmd("SET")
        .arg(key)
        .arg(body.to_string())
        .arg("EX")
        .arg(STALE_AFTER.as_secs())
        .query_async(&mut conn)
        .await?;
    Ok(())
}

/// The Redis key of a worker's heartbeat.
pub fn redis_key(prefix: &str, worker_id: &str) -> String {
    format!("{prefix}worker:{worker_id}")
}

/// Writes the heartbeat every [`HEARTBEAT_INTERVAL`] until `stop` turns true;
/// a failed write is logged and retried at the next beat.
pub async fn run(
    db: Pool,
    redis: RedisPool,
    key_prefix: String,
    identity: Identity,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let key = redis_key(&key_prefix, &identity.worker_id);
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let load = Load::of(&stats);
                let (pg, rd) = tokio::join!(
                    tokio::time::timeout(HEARTBEAT_INTERVAL, beat(&db, &identity, &load)),
                    tokio::time::timeout(HEARTBEAT_INTERVAL, beat_redis(&redis, &key, &identity, &load)),
                );
                match pg {
                    Ok(Ok(())) => {
                        #[allow(clippy::cast_precision_loss)]
                        metrics::gauge!(shared::telemetry::WORKER_HEARTBEAT_TIMESTAMP_SECONDS)
                            .set(Utc::now().timestamp_millis() as f64 / 1000.0);
                    }
                    Ok(Err(error)) => tracing::warn!(error = format!("{error:#}"), "heartbeat to Postgres failed"),
                    Err(_) => tracing::warn!("heartbeat to Postgres timed out"),
                }
                match rd {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(error = format!("{error:#}"), "heartbeat to Redis failed"),
                    Err(_) => tracing::warn!("heartbeat to Redis timed out"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Deletes the heartbeat row and key on a clean stop.
pub async fn remove(db: &Pool, redis: &RedisPool, key_prefix: &str, identity: &Identity) {
    if let Ok(mut conn) = redis.get().await {
        let _: Result<i64, _> = redis::cmd("DEL")
            .arg(redis_key(key_prefix, &identity.worker_id))
            .query_async(&mut conn)
            .await;
    }
    if let Ok(client) = db.get().await {
        let _ = client
            .execute(
                "DELETE FROM worker_heartbeats WHERE worker_id = $1",
                &[&identity.worker_id],
            )
            .await;
    }
}
