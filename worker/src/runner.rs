//! The claim loop: take due monitors from the Redis schedule, check them
//! with bounded concurrency, hand results to the writer, acknowledge once
//! the result is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::Pool as PgPool;
use deadpool_redis::Pool as RedisPool;
use shared::check::Engine;
use shared::config::Config;
use shared::model::{CheckResult, CheckStatus, Monitor, MONITOR_COLUMNS};
use shared::schedule::{slot_time, AckOutcome, Claim, Schedule, LEASE_MARGIN};
use shared::telemetry as t;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::writer::{Pending, BUFFER_CAPACITY};

/// Longest wait between claim attempts while Redis or Postgres is failing.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Shortest pause between claims when work is due soon, so claims batch.
const MIN_PAUSE: Duration = Duration::from_millis(5);
/// Extra attempts at an acknowledgement after a Redis error.
const ACK_RETRIES: u32 = 3;
/// Longest a finished check waits for its result to be stored before it
/// acknowledges anyway. A slot is acknowledged only once its result is in
/// Postgres, so a worker killed between check and write loses nothing (the
/// lease expires and another worker runs the slot). While Postgres is slow
/// or away, waiting longer would stall scheduling, so after this the slot is
/// acknowledged with the result still in the buffer.
const STORE_WAIT: Duration = Duration::from_secs(2);
/// How long a Redis or Postgres call of the loop may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Live counters of one worker, read by the heartbeat and by tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Monitor id -> claim of the checks running now.
    pub in_flight: Mutex<HashMap<Uuid, Claim>>,
    /// Claimed checks not started yet.
    pub queued: AtomicUsize,
    /// Results handed to the writer and not yet written.
    pub buffered: AtomicUsize,
    /// Checks finished.
    pub checks: AtomicU64,
    /// Slots acknowledged before their result was stored (see `STORE_WAIT`).
    pub acked_unstored: AtomicU64,
    /// Schedule rebuilds this worker performed.
    pub rebuilds: AtomicU64,
    /// Leases this worker reaped.
    pub reaped: AtomicU64,
}

impl Stats {
    /// Ids of the monitors being checked now.
    pub fn in_flight_ids(&self) -> Vec<Uuid> {
        self.in_flight
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    fn in_flight_len(&self) -> usize {
        self.in_flight.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Everything the claim loop and its tasks share.
pub struct Runner {
    pub config: Arc<Config>,
    pub worker_id: String,
    pub db: PgPool,
    pub redis: RedisPool,
    pub schedule: Schedule,
    pub engine: Arc<Engine>,
    pub stats: Arc<Stats>,
    pub results: mpsc::Sender<Pending>,
    /// Signalled by the wake subscription (check-now, new monitors).
    pub wake: Arc<Notify>,
    /// Signalled when a check finishes and frees a slot of concurrency.
    freed: Notify,
    /// Signalled when the schedule must be rebuilt.
    pub rebuild: Arc<Notify>,
    /// Last known copy of each monitor, used while Postgres is unreachable.
    cache: Mutex<HashMap<Uuid, Monitor>>,
}

impl Runner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<Config>,
        worker_id: String,
        db: PgPool,
        redis: RedisPool,
        schedule: Schedule,
        engine: Arc<Engine>,
        stats: Arc<Stats>,
        results: mpsc::Sender<Pending>,
        wake: Arc<Notify>,
        rebuild: Arc<Notify>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            worker_id,
            db,
            redis,
            schedule,
            engine,
            stats,
            results,
            wake,
            freed: Notify::new(),
            rebuild,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Claims and runs checks until `stop` turns true; then waits for the
    /// checks in flight (up to `drain`) and releases the ones left.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>, drain: Duration) {
        let concurrency = self.config.check_worker_count;
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        let mut backoff = Duration::ZERO;
        loop {
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let buffered = self.stats.buffered.load(Ordering::Relaxed);
            let free = if buffered >= BUFFER_CAPACITY * 9 / 10 {
                0
            } else {
                permits.available_permits()
            };
            let claimed = tokio::time::timeout(
                CALL_TIMEOUT,
                self.schedule.claim(&self.redis, &self.worker_id, free),
            )
            .await;
            let batch = match claimed {
                Ok(Ok(batch)) => {
                    backoff = Duration::ZERO;
                    batch
                }
                Ok(Err(error)) => {
                    backoff = next_backoff(backoff);
                    tracing::warn!(error = %error, retry_in_ms = backoff.as_millis() as u64, "claim failed; backing off");
                    pause(&mut stop, backoff).await;
                    continue;
                }
                Err(_) => {
                    backoff = next_backoff(backoff);
                    tracing::warn!(
                        retry_in_ms = backoff.as_millis() as u64,
                        "claim timed out; backing off"
                    );
                    pause(&mut stop, backoff).await;
                    continue;
                }
            };
            if batch.reaped > 0 {
                self.stats
                    .reaped
                    .fetch_add(u64::from(batch.reaped), Ordering::Relaxed);
                metrics::counter!(t::LEASES_RECLAIMED_TOTAL).increment(u64::from(batch.reaped));
            }
            if !batch.epoch_present {
                self.rebuild.notify_one();
            }
            let got = batch.claims.len();
            if got > 0 {
                let started = self.start(batch.claims, &permits, &mut tasks).await;
                if !started {
                    // Postgres is unreachable and nothing is cached: back off.
                    backoff = next_backoff(backoff);
                    pause(&mut stop, backoff).await;
                    continue;
                }
            }
            self.publish_gauges();
            let wait = if free == 0 {
                // Saturated (or the buffer is full): a finished check wakes us.
                self.config.scheduler_tick
            } else if got == free {
                Duration::ZERO
            } else {
                let until_due = batch
                    .next_due_in_ms
                    .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
                jittered_tick(self.config.scheduler_tick)
                    .min(until_due.unwrap_or(Duration::MAX))
                    .max(MIN_PAUSE)
            };
            if wait.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            let saturated = free == 0;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
                () = self.freed.notified(), if saturated => {}
                _ = stop.changed() => {}
            }
        }
        self.drain(tasks, drain).await;
    }

    /// Loads the claimed monitors and starts their checks. False when none
    /// could be started because the monitors could not be loaded.
    async fn start(
        self: &Arc<Self>,
        claims: Vec<Claim>,
        permits: &Arc<Semaphore>,
        tasks: &mut JoinSet<()>,
    ) -> bool {
        // The leases started (at the latest) now.
        let claimed = tokio::time::Instant::now();
        self.stats.queued.fetch_add(claims.len(), Ordering::Relaxed);
        let ids: Vec<Uuid> = claims.iter().map(|c| c.monitor_id).collect();
        let loaded = self.load(&ids).await;
        let mut started_any = false;
        for claim in claims {
            let monitor = match &loaded {
                Ok(found) => found.get(&claim.monitor_id).cloned(),
                Err(()) => self
                    .cache
                    .lock()
                    .ok()
                    .and_then(|c| c.get(&claim.monitor_id).cloned()),
            };
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            match monitor {
                Some(monitor) if monitor.spec.enabled => {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return started_any;
                    };
                    started_any = true;
                    if let Ok(mut in_flight) = self.stats.in_flight.lock() {
                        in_flight.insert(claim.monitor_id, claim);
                    }
                    let runner = Arc::clone(self);
                    tasks.spawn(async move {
                        runner.check(claim, monitor, claimed, permit).await;
                    });
                }
                Some(_) | None if loaded.is_ok() => {
                    // Paused or deleted in Postgres (the source of truth):
                    // drop it from the schedule.
                    started_any = true;
                    let _ = self.schedule.remove(&self.redis, claim.monitor_id).await;
                }
                _ => {
                    let _ = self
                        .schedule
                        .release(&self.redis, &self.worker_id, &claim)
                        .await;
                }
            }
        }
        started_any
    }

    /// Loads monitors by id; Err when Postgres is unreachable.
    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Monitor>, ()> {
        let query = async {
            let client = self.db.get().await.map_err(|e| e.to_string())?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {MONITOR_COLUMNS} FROM monitors m WHERE m.id = ANY($1)"
                ))
                .await
                .map_err(|e| e.to_string())?;
            let rows = client
                .query(&statement, &[&ids])
                .await
                .map_err(|e| e.to_string())?;
            rows.iter()
                .map(|row| Monitor::from_row(row).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        };
        match tokio::time::timeout(CALL_TIMEOUT, query).await {
            Ok(Ok(monitors)) => {
                let found: HashMap<Uuid, Monitor> =
                    monitors.into_iter().map(|m| (m.id, m)).collect();
                if let Ok(mut cache) = self.cache.lock() {
                    for id in ids {
                        match found.get(id) {
                            Some(m) => cache.insert(*id, m.clone()),
                            None => cache.remove(id),
                        };
                    }
                }
                Ok(found)
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "loading monitors failed; using cached copies");
                Err(())
            }
            Err(_) => {
                tracing::warn!("loading monitors timed out; using cached copies");
                Err(())
            }
        }
    }

    /// Runs one check, hands the result to the writer and acknowledges once
    /// it is stored (or after [`STORE_WAIT`], whichever comes first).
    ///
    /// HTTP requests carry `X-UpTime-Check: <monitorId>:<slotMs>` (the check
    /// id the API hands out) unless the monitor sets that header itself, so a
    /// target can tell monitor traffic apart and match it to stored results.
    ///
    /// The concurrency `permit` is given back as soon as the result is handed
    /// to the writer: waiting for the write takes no check slot (the buffer
    /// limit bounds those waits). A check aborted at shutdown while it waits
    /// has its claim released, so the slot may be checked once more by
    /// another worker (Postgres keeps one result) rather than lost.
    async fn check(
        &self,
        claim: Claim,
        monitor: Monitor,
        claimed: tokio::time::Instant,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let lateness_ms = (claim.claimed_at_ms - claim.slot_ms).max(0);
        #[allow(clippy::cast_precision_loss)]
        metrics::histogram!(t::SCHEDULING_LATENESS_SECONDS).record(lateness_ms as f64 / 1000.0);
        // Abandon the check well before the lease ends, whatever the engine does.
        let lease_end = claimed + Duration::from_millis(u64::try_from(claim.lease_ms).unwrap_or(0));
        let hard = lease_end
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(LEASE_MARGIN / 2)
            .max(Duration::from_secs(1));
        let kind = monitor.spec.kind.as_str();
        let spec = tagged_spec(&monitor, &claim);
        let outcome = match tokio::time::timeout(hard, self.engine.check(&spec)).await {
            Ok(outcome) => outcome,
            Err(_) => shared::check::Outcome {
                status: CheckStatus::Down,
                status_code: None,
                error: Some("check abandoned before its lease ended".to_owned()),
                timings: shared::model::Timings {
                    total_ms: shared::check::millis(hard),
                    ..Default::default()
                },
                body_snippet: None,
                details: serde_json::Map::new(),
            },
        };
        record_metrics(kind, &monitor, &outcome);
        let result = CheckResult {
            monitor_id: monitor.id,
            slot_ts: slot_time(claim.slot_ms),
            checked_at: Utc::now(),
            worker_id: Some(self.worker_id.clone()),
            status: outcome.status,
            status_code: outcome.status_code.map(i32::from),
            error: outcome.error.clone(),
            timings: outcome.timings,
            body_snippet: outcome.body_snippet.clone(),
            details: outcome.details_json(),
            in_maintenance: false,
        };
        self.stats.buffered.fetch_add(1, Ordering::Relaxed);
        let (pending, stored) = Pending::new(result);
        let sent = self.results.send(pending).await;
        drop(permit);
        self.freed.notify_one();
        if sent.is_err() {
            self.stats.buffered.fetch_sub(1, Ordering::Relaxed);
            tracing::error!(monitor_id = %monitor.id, "result writer is gone; result dropped");
        } else {
            // Never wait into the last second of the lease: the ack must
            // still find it ours.
            let lease_left = lease_end
                .saturating_duration_since(tokio::time::Instant::now())
                .saturating_sub(Duration::from_secs(1));
            let wait = STORE_WAIT.min(lease_left);
            if !matches!(tokio::time::timeout(wait, stored).await, Ok(Ok(()))) {
                metrics::counter!(t::ACKS_UNSTORED_TOTAL).increment(1);
                self.stats.acked_unstored.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(monitor_id = %monitor.id, slot = claim.slot_ms, "acknowledging before the result is stored");
            }
        }
        self.stats.checks.fetch_add(1, Ordering::Relaxed);
        match self.ack(&claim).await {
            Ok(AckOutcome::LeaseLost) => {
                metrics::counter!(t::LEASES_LOST_TOTAL).increment(1);
                tracing::info!(monitor_id = %monitor.id, slot = claim.slot_ms, "lease lost before the acknowledgement");
            }
            Ok(_) => {}
            Err(error) => {
                // The lease expires and another worker reschedules the slot;
                // the stored result fences off a second write.
                tracing::warn!(monitor_id = %monitor.id, error = %error, "acknowledgement failed");
            }
        }
        if let Ok(mut in_flight) = self.stats.in_flight.lock() {
            in_flight.remove(&monitor.id);
        }
    }

    /// Acknowledges a claim, retrying briefly on Redis errors (the lease
    /// leaves time for that).
    async fn ack(&self, claim: &Claim) -> Result<AckOutcome, redis::RedisError> {
        let mut attempt = 0;
        loop {
            match self.schedule.ack(&self.redis, &self.worker_id, claim).await {
                Err(error) if attempt < ACK_RETRIES => {
                    attempt += 1;
                    tracing::debug!(error = %error, attempt, "acknowledgement failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                outcome => return outcome,
            }
        }
    }

    /// Waits for running checks up to `drain`, then aborts the rest and
    /// gives their leases back so another worker takes the slots at once.
    async fn drain(&self, mut tasks: JoinSet<()>, drain: Duration) {
        let deadline = tokio::time::Instant::now() + drain;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        let left: Vec<Claim> = self
            .stats
            .in_flight
            .lock()
            .map(|mut m| m.drain().map(|(_, c)| c).collect())
            .unwrap_or_default();
        for claim in left {
            match self
                .schedule
                .release(&self.redis, &self.worker_id, &claim)
                .await
            {
                Ok(_) => {
                    tracing::info!(monitor_id = %claim.monitor_id, "released an unfinished check")
                }
                Err(error) => {
                    tracing::warn!(monitor_id = %claim.monitor_id, error = %error, "release failed; the lease will expire")
                }
            }
        }
        self.publish_gauges();
    }

    fn publish_gauges(&self) {
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!(t::CHECKS_IN_FLIGHT).set(self.stats.in_flight_len() as f64);
            metrics::gauge!(t::CHECKS_QUEUED).set(self.stats.queued.load(Ordering::Relaxed) as f64);
            metrics::gauge!(t::RESULTS_BUFFERED)
                .set(self.stats.buffered.load(Ordering::Relaxed) as f64);
        }
    }
}

fn record_metrics(kind: &'static str, monitor: &Monitor, outcome: &shared::check::Outcome) {
    metrics::counter!(t::CHECKS_TOTAL, "type" => kind, "outcome" => outcome.status.as_str())
        .increment(1);
    let timings = &outcome.timings;
    for (phase, value) in [
        ("dns", timings.dns_ms),
        ("connect", timings.connect_ms),
        ("tls", timings.tls_ms),
        ("ttfb", timings.ttfb_ms),
        ("total", Some(timings.total_ms)),
    ] {
        if let Some(ms) = value {
            metrics::histogram!(t::CHECK_DURATION_SECONDS, "type" => kind, "phase" => phase)
                .record(f64::from(ms) / 1000.0);
        }
    }
    let labels = [
        ("monitor_id", monitor.id.to_string()),
        ("monitor_name", monitor.spec.name.clone()),
    ];
    let up = match outcome.status {
        CheckStatus::Up => 1.0,
        CheckStatus::Degraded => 0.5,
        CheckStatus::Down => 0.0,
    };
    metrics::gauge!(t::MONITOR_UP, &labels).set(up);
    metrics::gauge!(t::MONITOR_LATENCY_SECONDS, &labels).set(f64::from(timings.total_ms) / 1000.0);
}

fn next_backoff(current: Duration) -> Duration {
    if current.is_zero() {
        Duration::from_millis(100)
    } else {
        (current * 2).min(MAX_BACKOFF)
    }
}

/// The poll interval with ±20 % jitter, so workers don't poll in lockstep.
fn jittered_tick(tick: Duration) -> Duration {
    let factor = 0.8 + rand::random::<f64>() * 0.2;
    tick.mul_f64(factor)
}

async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Name of the header identifying a check to its HTTP target.
pub const CHECK_ID_HEADER: &str = "X-UpTime-Check";

/// The monitor's spec, with the check id header added for HTTP checks.
fn tagged_spec<'a>(
    monitor: &'a Monitor,
    claim: &Claim,
) -> std::borrow::Cow<'a, shared::model::MonitorSpec> {
    let spec = &monitor.spec;
    let own = spec
        .headers
        .iter()
        .flatten()
        .any(|(name, _)| name.eq_ignore_ascii_case(CHECK_ID_HEADER));
    if !spec.kind.is_http() || own {
        return std::borrow::Cow::Borrowed(spec);
    }
    let mut tagged = spec.clone();
    tagged.headers.get_or_insert_with(Default::default).insert(
        CHECK_ID_HEADER.to_owned(),
        format!("{}:{}", monitor.id, claim.slot_ms),
    );
    std::borrow::Cow::Owned(tagged)
}
