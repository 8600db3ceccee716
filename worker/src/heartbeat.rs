//! The worker's heartbeat row in worker_heartbeats.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio::sync::watch;

/// How often the heartbeat is written.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

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

async fn beat(db: &Pool, identity: &Identity) -> anyhow::Result<()> {
    let client = db.get().await?;
    let statement = client
        .prepare_cached(
            "INSERT INTO worker_heartbeats (worker_id, host, pid, version, started_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, now()) \
             ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = now()",
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
            ],
        )
        .await?;
    Ok(())
}

/// Writes the heartbeat every [`HEARTBEAT_INTERVAL`] until `stop` turns true;
/// a failed write is logged and retried at the next beat.
pub async fn run(db: Pool, identity: Identity, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(error) = beat(&db, &identity).await {
                    tracing::warn!(error = format!("{error:#}"), "heartbeat failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Deletes the heartbeat row on a clean stop.
pub async fn remove(db: &Pool, identity: &Identity) {
    if let Ok(client) = db.get().await {
        let _ = client
            .execute(
                "DELETE FROM worker_heartbeats WHERE worker_id = $1",
                &[&identity.worker_id],
            )
            .await;
    }
}
