//! The result writer: batches results from the checks and writes them to
//! Postgres, keeping them (bounded) while Postgres is unreachable.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use shared::db::is_data_rejection;
use shared::model::CheckResult;
use shared::telemetry as t;
use tokio::sync::{mpsc, oneshot};

use crate::runner::Stats;
use crate::store;

/// Results held in memory at most; the claim loop stops claiming at 90 %.
pub const BUFFER_CAPACITY: usize = 20_000;
/// Largest batch written in one transaction.
const MAX_BATCH: usize = 500;
/// How long results wait to fill a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Longest wait between write attempts while Postgres is failing.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// A result on its way to Postgres, with the signal its check waits on
/// before acknowledging the slot.
pub struct Pending {
    pub result: CheckResult,
    /// Fired once the result is stored (or rejected by Postgres for its data,
    /// which no retry would change). Dropped unfired if the writer gives up.
    pub stored: oneshot::Sender<()>,
}

impl Pending {
    /// A result and the receiver that fires when it is stored.
    pub fn new(result: CheckResult) -> (Self, oneshot::Receiver<()>) {
        let (stored, rx) = oneshot::channel();
        (Self { result, stored }, rx)
    }
}

/// The channel the checks send results into.
pub fn channel() -> (mpsc::Sender<Pending>, mpsc::Receiver<Pending>) {
    mpsc::channel(BUFFER_CAPACITY)
}

/// Writes results until every sender is gone and the buffer is empty, or
/// until `give_up` resolves while Postgres still refuses (shutdown). Each
/// result's `stored` signal fires once its batch is committed.
pub async fn run(
    db: Pool,
    mut results: mpsc::Receiver<Pending>,
    stats: Arc<Stats>,
    mut give_up: tokio::sync::watch::Receiver<bool>,
) {
    let mut batch = Batch::default();
    loop {
        if batch.results.is_empty() {
            match results.recv().await {
                Some(pending) => batch.push(pending),
                None => return,
            }
        }
        // Gather what arrives within the window, up to a full batch.
        let window = tokio::time::sleep(BATCH_WINDOW);
        tokio::pin!(window);
        while batch.results.len() < MAX_BATCH {
            tokio::select! {
                biased;
                received = results.recv() => match received {
                    Some(pending) => batch.push(pending),
                    None => break,
                },
                () = &mut window => break,
            }
        }
        let mut retry = Duration::from_millis(100);
        loop {
            match write(&db, &batch.results).await {
                Ok(()) => {
                    stats
                        .buffered
                        .fetch_sub(batch.results.len(), Ordering::Relaxed);
                    batch.settle();
                    break;
                }
                Err(error) => {
                    metrics::counter!(t::RESULT_WRITE_ERRORS_TOTAL).increment(1);
                    tracing::warn!(
                        error = %error,
                        results = batch.results.len(),
                        retry_in_ms = retry.as_millis() as u64,
                        "writing results failed; keeping them and retrying"
                    );
                    if *give_up.borrow() {
                        tracing::error!(
                            results = batch.results.len(),
                            "shutting down with unwritten results"
                        );
                        return;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        _ = give_up.changed() => {}
                    }
                    retry = (retry * 2).min(MAX_RETRY);
                    // Take more results meanwhile so the checks are not blocked.
                    while batch.results.len() < MAX_BATCH {
                        match results.try_recv() {
                            Ok(pending) => batch.push(pending),
                            Err(_) => break,
                        }
                    }
                }
            }
        }
    }
}

/// Results being written, and their stored-signals in the same order.
#[derive(Default)]
struct Batch {
    results: Vec<CheckResult>,
    stored: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn push(&mut self, pending: Pending) {
        self.results.push(pending.result);
        self.stored.push(pending.stored);
    }

    /// The batch is committed: tell the waiting checks and start afresh.
    fn settle(&mut self) {
        self.results.clear();
        for stored in self.stored.drain(..) {
            // The check may have stopped waiting; that is fine.
            let _ = stored.send(());
        }
    }
}

async fn write(db: &Pool, batch: &[CheckResult]) -> anyhow::Result<()> {
    let mut client = tokio::time::timeout(Duration::from_secs(10), db.get())
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting for a connection"))??;
    let written = tokio::time::timeout(
        Duration::from_secs(30),
        store::write_batch(&mut client, batch),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out writing results"))?;
    let applied = match written {
        Ok(applied) => applied,
        Err(error) if is_data_rejection(&error) => {
            // Postgres refused the data itself, not the connection: write the
            // results one by one so a single bad row cannot block the rest.
            tracing::error!(error = %error, "a batch was rejected; writing its results one by one");
            let mut total = store::Applied::default();
            for result in batch {
                let applied = match write_one(&mut client, result).await {
                    Ok(applied) => applied,
                    Err(error) if is_data_rejection(&error) => {
                        // The text was made storable when the check ended, so
                        // this should not happen; if it does, the verdict is
                        // still stored, without the text Postgres refused.
                        tracing::error!(
                            error = %error,
                            monitor_id = %result.monitor_id,
                            slot = %result.slot_ts,
                            "result rejected by Postgres; storing it without its text"
                        );
                        metrics::counter!(t::RESULTS_STRIPPED_TOTAL).increment(1);
                        match write_one(&mut client, &result.without_text(&error)).await {
                            Ok(applied) => applied,
                            Err(error) if is_data_rejection(&error) => {
                                tracing::error!(
                                    error = %error,
                                    monitor_id = %result.monitor_id,
                                    slot = %result.slot_ts,
                                    "result rejected by Postgres even without its text; dropped"
                                );
                                continue;
                            }
                            Err(error) => return Err(error.into()),
                        }
                    }
                    Err(error) => return Err(error.into()),
                };
                total.inserted += applied.inserted;
                total.opened.extend(applied.opened);
                total.resolved.extend(applied.resolved);
            }
            total
        }
        Err(error) => return Err(error.into()),
    };
    metrics::counter!(t::RESULTS_WRITTEN_TOTAL).increment(applied.inserted as u64);
    metrics::counter!(t::INCIDENTS_OPENED_TOTAL).increment(applied.opened.len() as u64);
    metrics::counter!(t::INCIDENTS_RESOLVED_TOTAL).increment(applied.resolved.len() as u64);
    for (monitor, incident) in &applied.opened {
        tracing::info!(monitor_id = %monitor, incident_id = %incident, "incident opened");
    }
    for (monitor, incident) in &applied.resolved {
        tracing::info!(monitor_id = %monitor, incident_id = %incident, "incident resolved");
    }
    Ok(())
}

async fn write_one(
    client: &mut deadpool_postgres::Client,
    result: &CheckResult,
) -> Result<store::Applied, tokio_postgres::Error> {
    store::write_batch(client, std::slice::from_ref(result)).await
}
