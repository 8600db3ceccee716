//! A test bed: its own database (cloned from the migrated template), its own
//! Redis key prefix on the shared Redis, a local target server, and workers
//! run in-process or as real `uptime-worker` processes.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::check::{Engine, EngineOptions};
use shared::config::Config;
use shared::redis::Keys;
use shared::schedule::{Entry, Schedule};
use shared::testing::{database_url, drop_database, fresh_database, test_config};
use tokio::sync::oneshot;
use uptime_worker::heartbeat::Identity;
use uptime_worker::Stats;
use uuid::Uuid;

pub use crate::support::Hits;

/// Worker tests measure timing (slots one second apart, leases of a few
/// seconds); they run one at a time so they don't starve each other of the
/// two CPUs.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One test's world.
pub struct Bed {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    pub db_name: String,
    pub db: tokio_postgres::Client,
    pub redis: deadpool_redis::Pool,
    pub schedule: Schedule,
    pub prefix: String,
    pub target: std::net::SocketAddr,
    pub hits: Arc<Hits>,
}

impl Drop for Bed {
    fn drop(&mut self) {
        drop_database(&self.db_name);
    }
}

/// An in-process worker.
pub struct InProcess {
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Stops the worker as SIGTERM would and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let outcome = tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("worker stops in time");
        outcome.expect("worker task").expect("worker exits cleanly");
    }
}

/// A worker process.
pub struct Process {
    pub child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; returns its code.
    pub async fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bed {
    pub async fn new() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let db_name = fresh_database().await;
        let config = test_config(&db_name, &[]);
        let (target, hits) = crate::support::http_server(None).await;
        let redis = shared::redis::build_pool(&config).expect("redis pool");
        let prefix = config.redis_key_prefix.clone();
        Self {
            _turn: turn,
            db: shared::testing::connect(&db_name).await,
            schedule: Schedule::new(&Keys::new(prefix.clone()), 0),
            db_name,
            redis,
            prefix,
            target,
            hits,
        }
    }

    /// Worker configuration for this bed, with `extra` variables on top.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut pairs = vec![
            ("ALLOW_PRIVATE_TARGETS", "true"),
            ("METRICS_PORT", "0"),
            ("SCHEDULER_TICK_SECONDS", "1"),
            ("CHECK_WORKER_COUNT", "16"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "10"),
        ];
        pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        pairs.extend_from_slice(extra);
        test_config(&self.db_name, &pairs)
    }

    /// Starts a worker in this process.
    pub async fn worker(&self, extra: &[(&str, &str)]) -> InProcess {
        let config = self.config(extra);
        let engine = Engine::new(EngineOptions::from_config(&config)).expect("engine");
        let identity = Identity::new();
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(uptime_worker::run_until(
            config,
            engine,
            identity,
            Some(stats.clone()),
            async move {
                let _ = stopped.await;
            },
        ));
        InProcess {
            stats,

            stop: Some(stop),
            task,
        }
    }

    /// Starts a real `uptime-worker` process.
    pub fn process(&self, extra: &[(&str, &str)]) -> Process {
        let mut vars: Vec<(String, String)> = vec![
            ("APP_ENV".into(), "test".into()),
            ("DATABASE_URL".into(), database_url(&self.db_name)),
            ("DATABASE_POOL_SIZE".into(), "4".into()),
            ("REDIS_URL".into(), shared::testing::redis_url()),
            ("REDIS_KEY_PREFIX".into(), self.prefix.clone()),
            ("ALLOW_PRIVATE_TARGETS".into(), "true".into()),
            ("METRICS_PORT".into(), "0".into()),
            ("SCHEDULER_TICK_SECONDS".into(), "1".into()),
            ("LOG_LEVEL".into(), "info".into()),
            ("LOG_FORMAT".into(), "text".into()),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push(((*k).to_owned(), (*v).to_owned()));
        }
        let child = Command::new(env!("CARGO_BIN_EXE_uptime-worker"))
            .env_clear()
            .envs(vars)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start uptime-worker");
        Process { child }
    }

    /// Inserts an http monitor on the target at `path` and schedules it
    /// (`due_now` = checked at once, otherwise at its next grid slot).
    pub async fn http_monitor(&self, path: &str, options: MonitorOptions) -> Uuid {
        let id = Uuid::now_v7();
        self.db
            .execute(
                "INSERT INTO monitors (id, name, type, target, method, timeout_seconds, \
                     interval_seconds, failure_threshold, recovery_threshold, enabled, \
                     degraded_threshold_ms) \
                 VALUES ($1, $2, 'http', $3, 'GET', $4, $5, $6, $7, true, $8)",
                &[
                    &id,
                    &format!("monitor {path}"),
                    &format!("http://{}{path}", self.target),
                    &options.timeout,
                    &options.interval,
                    &options.failure_threshold,
                    &options.recovery_threshold,
                    &options.degraded_threshold_ms,
                ],
            )
            .await
            .expect("insert monitor");
        self.schedule
            .upsert(
                &self.redis,
                &Entry {
                    id,
                    interval_seconds: u32::try_from(options.interval).unwrap(),
                    timeout_seconds: u32::try_from(options.timeout).unwrap(),
                },
                options.due_now,
            )
            .await
            .expect("schedule monitor");
        id
    }

    /// Stored result slots per monitor.
    pub async fn slots(&self) -> HashMap<Uuid, Vec<DateTime<Utc>>> {
        let rows = self
            .db
            .query(
                "SELECT monitor_id, slot_ts FROM check_results ORDER BY monitor_id, slot_ts",
                &[],
            )
            .await
            .expect("results");
        let mut map: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
        for row in rows {
            map.entry(row.get(0)).or_default().push(row.get(1));
        }
        map
    }

    /// Number of stored results of one monitor.
    pub async fn result_count(&self, id: Uuid) -> i64 {
        self.db
            .query_one(
                "SELECT count(*) FROM check_results WHERE monitor_id = $1",
                &[&id],
            )
            .await
            .expect("count")
            .get(0)
    }

    /// Waits until `probe` is true, polling; panics with `what` after `limit`.
    pub async fn until<F, Fut>(&self, limit: Duration, what: &str, mut probe: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if probe().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Deletes every Redis key of this bed (as if Redis restarted empty).
    pub async fn flush_redis(&self) {
        let mut conn = self.redis.get().await.expect("redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("*{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .expect("keys");
        if !keys.is_empty() {
            let () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await
                .expect("del");
        }
    }
}

/// Settings of a test monitor.
#[derive(Debug, Clone, Copy)]
pub struct MonitorOptions {
    pub interval: i32,
    pub timeout: i32,
    pub failure_threshold: i32,
    pub recovery_threshold: i32,
    pub degraded_threshold_ms: Option<i32>,
    pub due_now: bool,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        Self {
            interval: 1,
            timeout: 1,
            failure_threshold: 3,
            recovery_threshold: 1,
            degraded_threshold_ms: None,
            due_now: false,
        }
    }
}

/// A spec of `kind` on `target` with the settings of `options`; the
/// type-specific fields (keyword, DNS, TLS) are left for the caller to set.
pub fn monitor_spec(
    kind: shared::model::MonitorType,
    target: &str,
    options: MonitorOptions,
) -> shared::model::MonitorSpec {
    shared::model::MonitorSpec {
        name: format!("{} {target}", kind.as_str()),
        kind,
        target: target.to_owned(),
        method: kind.is_http().then(|| "GET".to_owned()),
        headers: None,
        body: None,
        expected_status: None,
        follow_redirects: None,
        degraded_threshold_ms: options
            .degraded_threshold_ms
            .map(|ms| u32::try_from(ms).unwrap()),
        keyword: None,
        keyword_mode: None,
        keyword_case_sensitive: None,
        dns_record_type: None,
        dns_expected: None,
        dns_resolver: None,
        tls_expiry_warn_days: None,
        timeout_seconds: u32::try_from(options.timeout).unwrap(),
        interval_seconds: u32::try_from(options.interval).unwrap(),
        failure_threshold: u32::try_from(options.failure_threshold).unwrap(),
        recovery_threshold: u32::try_from(options.recovery_threshold).unwrap(),
        sla_target: None,
        enabled: true,
        tags: Vec::new(),
        channel_ids: Vec::new(),
    }
}

impl Bed {
    /// Inserts a monitor of any type as `spec` describes, links its
    /// channels and schedules it (`due_now` as for [`Bed::http_monitor`]).
    pub async fn monitor(&self, spec: &shared::model::MonitorSpec, due_now: bool) -> Uuid {
        let id = Uuid::now_v7();
        let int = |n: u32| i32::try_from(n).unwrap();
        self.db
            .execute(
                "INSERT INTO monitors (id, name, type, target, method, headers, body, \
                     expected_status, follow_redirects, degraded_threshold_ms, keyword, \
                     keyword_mode, keyword_case_sensitive, dns_record_type, dns_expected, \
                     dns_resolver, tls_expiry_warn_days, timeout_seconds, interval_seconds, \
                     failure_threshold, recovery_threshold, enabled, tags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18, $19, $20, $21, $22, $23)",
                &[
                    &id,
                    &spec.name,
                    &spec.kind.as_str(),
                    &spec.target,
                    &spec.method,
                    &spec
                        .headers
                        .as_ref()
                        .map(|h| serde_json::to_value(h).unwrap()),
                    &spec.body,
                    &spec.expected_status.as_ref().map(|e| e.to_json()),
                    &spec.follow_redirects,
                    &spec.degraded_threshold_ms.map(int),
                    &spec.keyword,
                    &spec.keyword_mode.map(|m| m.as_str()),
                    &spec.keyword_case_sensitive,
                    &spec.dns_record_type.map(|t| t.as_str()),
                    &spec.dns_expected,
                    &spec.dns_resolver,
                    &spec.tls_expiry_warn_days.map(int),
                    &int(spec.timeout_seconds),
                    &int(spec.interval_seconds),
                    &int(spec.failure_threshold),
                    &int(spec.recovery_threshold),
                    &spec.enabled,
                    &spec.tags,
                ],
            )
            .await
            .expect("insert monitor");
        for channel in &spec.channel_ids {
            self.db
                .execute(
                    "INSERT INTO monitor_channels (monitor_id, channel_id) VALUES ($1, $2)",
                    &[&id, channel],
                )
                .await
                .expect("link channel");
        }
        self.schedule
            .upsert(
                &self.redis,
                &Entry {
                    id,
                    interval_seconds: spec.interval_seconds,
                    timeout_seconds: spec.timeout_seconds,
                },
                due_now,
            )
            .await
            .expect("schedule monitor");
        id
    }

    /// The stored results of one monitor, oldest slot first.
    pub async fn results(&self, id: Uuid) -> Vec<shared::model::CheckResult> {
        let sql = format!(
            "SELECT {} FROM check_results WHERE monitor_id = $1 ORDER BY slot_ts",
            shared::model::check_result::CHECK_RESULT_COLUMNS
        );
        self.db
            .query(&sql, &[&id])
            .await
            .expect("results")
            .iter()
            .map(|row| shared::model::CheckResult::from_row(row).expect("result row"))
            .collect()
    }
}
