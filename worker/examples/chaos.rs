//! Chaos suite: the whole product under faults, with invariants checked
//! after every scenario.
//!
//! Starts its own PostgreSQL and Redis on free loopback ports (so it can stop
//! them), the API, three `uptime-worker` processes, a target server that
//! records every check id (`X-UpTime-Check: <monitor>:<slot>`) it is asked and
//! a webhook receiver that verifies every signature. Creates a few hundred
//! HTTP monitors at 2-5 s (some flipping between up and down, with a webhook
//! channel), then runs the scenarios: worker SIGKILL mid-check, SIGSTOP past
//! the lease, rolling SIGTERM restart; Redis restarted empty, stalled past
//! every lease (DEBUG SLEEP) and down; PostgreSQL restarted and down; monitors
//! created, changed, paused and deleted, and check-now, while checks run.
//!
//! Invariants: every grid slot of every enabled monitor is stored, except
//! slots inside a whole-system outage (Redis away: nothing can be scheduled);
//! no slot stored twice; every stored result was really requested from the
//! target; no incident transition notified twice or missed; every delivery
//! correctly signed; no gap between two checks above interval + lease outside
//! outages; every process under a memory bound. Prints a table per scenario
//! and exits 1 on any violation.
//!
//! `make chaos` runs the full suite (300 monitors, 30 s outages);
//! `CHAOS_SHORT=1` (CI) runs 90 monitors and 10 s outages. Options (env):
//! CHAOS_MONITORS, CHAOS_BIN_DIR (default target/release), CHAOS_KEEP=1 keeps
//! the work directory with every process log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use serde_json::{json, Value};
use uuid::Uuid;

const ADMIN_KEY: &str = "chaos-admin-key-0123456789abcdef";
const WORKERS: usize = 3;
/// Check timeout of every monitor; the lease is this + 5 s.
const TIMEOUT_MS: i64 = 1_000;
const LEASE_MS: i64 = TIMEOUT_MS + 5_000;
/// Flipping targets change state this often.
const FLIP_SECONDS: u64 = 17;
/// Peak resident memory allowed to any of our processes.
const MEMORY_BOUND_KIB: u64 = 256 * 1024;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool as the postgres user when we are root (PostgreSQL
/// refuses to run as root).
fn pg_command(tool: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(tool);
        command
    } else {
        Command::new(tool)
    }
}

fn pg_bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|p| p.join("postgres").exists())
        .expect("PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Every process of the system under test, and how to start each again.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pg_bin: PathBuf,
    pg_port: u16,
    redis_port: u16,
    api_port: u16,
    redis: Option<Child>,
    api: Option<Child>,
    workers: Vec<Option<Child>>,
    metrics_ports: Vec<u16>,
    /// Peak VmHWM seen per role.
    peaks: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Cluster {
    fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/uptime", self.pg_port)
    }

    fn env(&self, command: &mut Command) {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.database_url())
            .env(
                "REDIS_URL",
                format!("redis://127.0.0.1:{}/0", self.redis_port),
            )
            .env("REDIS_KEY_PREFIX", "chaos:")
            .env("UPTIME_BOOTSTRAP_API_KEY", ADMIN_KEY)
            .env("APP_ENV", "development")
            .env("ALLOW_PRIVATE_TARGETS", "true")
            .env("APP_PORT", self.api_port.to_string())
            .env("LOG_LEVEL", "info")
            .env("SCHEDULER_TICK_SECONDS", "1")
            .env("CHECK_WORKER_COUNT", "64")
            .env("WEBHOOK_TIMEOUT_SECONDS", "3")
            .env("WEBHOOK_RETRY_BASE_SECONDS", "1")
            .env("WEBHOOK_MAX_RETRIES", "8")
            .env("SHUTDOWN_TIMEOUT_SECONDS", "8");
    }

    fn log(&self, name: &str) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap()
    }

    fn start_pg(&self) {
        let data = self.dir.join("pg");
        let status = pg_command(&self.pg_bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-w", "-t", "30", "-l"])
            .arg(self.dir.join("postgres.log"))
            .args(["-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300",
                self.pg_port,
                data.display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed; see postgres.log");
    }

    fn stop_pg(&self) {
        let data = self.dir.join("pg");
        let _ = pg_command(&self.pg_bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-w", "-m", "fast", "stop"])
            .stdout(Stdio::null())
            .status();
    }

    fn start_redis(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",
                "--dir",
            ])
            .arg(&self.dir)
            .stdout(self.log("redis"))
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.redis = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.redis_port)).is_err() {
            assert!(Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill_redis(&mut self) {
        if let Some(mut child) = self.redis.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn start_api(&mut self) {
        let mut command = Command::new(self.bin.join("uptime-api"));
        self.env(&mut command);
        let child = command
            .stdout(self.log("api"))
            .stderr(self.log("api"))
            .spawn()
            .expect("uptime-api");
        self.api = Some(child);
    }

    fn start_worker(&mut self, index: usize) {
        let mut command = Command::new(self.bin.join("uptime-worker"));
        self.env(&mut command);
        command.env("METRICS_PORT", self.metrics_ports[index].to_string());
        let name = format!("worker-{index}");
        let child = command
            .stdout(self.log(&name))
            .stderr(self.log(&name))
            .spawn()
            .expect("uptime-worker");
        self.workers[index] = Some(child);
    }

    fn worker_pid(&self, index: usize) -> u32 {
        self.workers[index].as_ref().unwrap().id()
    }

    /// Waits for a worker to exit and reports its status code.
    fn reap_worker(&mut self, index: usize, within: Duration) -> Option<i32> {
        let mut child = self.workers[index].take()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reports (and restarts) any process of ours that died on its own.
    fn check_alive(&mut self) -> usize {
        let mut dead = 0;
        if let Some(Ok(Some(status))) = self.api.as_mut().map(Child::try_wait) {
            println!("chaos: VIOLATION the API exited by itself ({status}); see api.log");
            dead += 1;
            self.start_api();
        }
        for i in 0..self.workers.len() {
            if let Some(Ok(Some(status))) = self.workers[i].as_mut().map(Child::try_wait) {
                println!(
                    "chaos: VIOLATION worker-{i} exited by itself ({status}); see worker-{i}.log"
                );
                dead += 1;
                self.start_worker(i);
            }
        }
        dead
    }

    fn sample_memory(&self) {
        let mut peaks = self.peaks.lock().unwrap();
        let mut note = |role: String, pid: u32| {
            let kib = rss_kib(pid, "VmHWM:");
            let peak = peaks.entry(role).or_default();
            *peak = (*peak).max(kib);
        };
        if let Some(api) = &self.api {
            note("api".into(), api.id());
        }
        for (i, worker) in self.workers.iter().enumerate() {
            if let Some(worker) = worker {
                note(format!("worker-{i}"), worker.id());
            }
        }
    }

    fn shutdown(&mut self) {
        for worker in self.workers.iter_mut().flatten() {
            let _ = worker.kill();
            let _ = worker.wait();
        }
        if let Some(api) = self.api.as_mut() {
            let _ = api.kill();
            let _ = api.wait();
        }
        self.kill_redis();
        self.stop_pg();
    }
}

/// What the target and the receiver saw.
#[derive(Default)]
struct Seen {
    /// Check id → number of requests.
    checks: HashMap<String, u32>,
    /// webhook-id → (deliveries, event type, monitor id); bad signatures.
    webhooks: HashMap<String, (u32, String, String)>,
    bad_signatures: u32,
    /// webhook-ids already answered once with 503 (to exercise retries).
    refused_once: HashSet<String>,
}

fn flip_down(index: u64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now + index * 5) / FLIP_SECONDS % 2 == 1
}

async fn serve<F, Fut>(port: u16, handler: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
}

fn reply(status: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"ok")))
        .unwrap()
}

/// One enabled stretch of a monitor at one interval.
#[derive(Debug, Clone)]
struct Span {
    interval_ms: i64,
    from_ms: i64,
    to_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct Tracked {
    spans: Vec<Span>,
    deleted: bool,
}

struct Scenario {
    name: &'static str,
    from_ms: i64,
    to_ms: i64,
    /// Whole-system outages: no slot in these windows is expected.
    outages: Vec<(i64, i64)>,
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<Value> {
        for _ in 0..40 {
            let mut request = self
                .client
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(ADMIN_KEY);
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return Some(response.json().await.unwrap_or(Value::Null));
                }
                Ok(response) if response.status().is_client_error() => {
                    let status = response.status();
                    panic!(
                        "{method} {path}: {status} {}",
                        response.text().await.unwrap_or_default()
                    );
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        None
    }
}

#[tokio::main]
async fn main() {
    let short = std::env::var("CHAOS_SHORT").is_ok_and(|v| v == "1");
    let monitors: usize = std::env::var("CHAOS_MONITORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if short { 90 } else { 300 });
    let outage = Duration::from_secs(if short { 10 } else { 30 });
    let settle = Duration::from_millis((LEASE_MS + 5_000 + 4_000) as u64);
    let bin =
        PathBuf::from(std::env::var("CHAOS_BIN_DIR").unwrap_or_else(|_| "target/release".into()));
    let dir = std::env::temp_dir().join(format!("uptime-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A panic anywhere must not leave the system under test running.
    let cleanup_dir = dir.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &std::process::id().to_string()])
            .status();
        let _ = pg_command(&pg_bindir().join("pg_ctl"))
            .args([
                "-D",
                cleanup_dir.join("pg").to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .stdout(Stdio::null())
            .status();
        println!("chaos: aborted; logs in {}", cleanup_dir.display());
        std::process::exit(2);
    }));
    println!(
        "chaos: {} monitors, {} workers, outages of {} s, work directory {}",
        monitors,
        WORKERS,
        outage.as_secs(),
        dir.display()
    );

    // PostgreSQL of our own.
    let pg_bin = pg_bindir();
    if is_root() {
        Command::new("chown")
            .args(["postgres"])
            .arg(&dir)
            .status()
            .unwrap();
    }
    let status = pg_command(&pg_bin.join("initdb"))
        .args(["-D"])
        .arg(dir.join("pg"))
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "initdb failed");
    let mut cluster = Cluster {
        dir: dir.clone(),
        bin,
        pg_bin,
        pg_port: free_port(),
        redis_port: free_port(),
        api_port: free_port(),
        redis: None,
        api: None,
        workers: (0..WORKERS).map(|_| None).collect(),
        metrics_ports: (0..WORKERS).map(|_| free_port()).collect(),
        peaks: Arc::default(),
    };
    cluster.start_pg();
    {
        let (client, conn) = tokio_postgres::connect(
            &format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.pg_port),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("CREATE DATABASE uptime")
            .await
            .unwrap();
    }
    cluster.start_redis();

    // Target and receiver.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let target_port = free_port();
    let receiver_port = free_port();
    {
        let seen = seen.clone();
        serve(target_port, move |req: Request<hyper::body::Incoming>| {
            let seen = seen.clone();
            async move {
                if let Some(id) = req
                    .headers()
                    .get("x-uptime-check")
                    .and_then(|v| v.to_str().ok())
                {
                    *seen
                        .lock()
                        .unwrap()
                        .checks
                        .entry(id.to_owned())
                        .or_default() += 1;
                }
                let path = req.uri().path().to_owned();
                if path.starts_with("/slow/") {
                    // Slow answers keep checks in flight when a fault hits.
                    tokio::time::sleep(Duration::from_millis(600)).await;
                }
                match path
                    .strip_prefix("/flip/")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    Some(n) if flip_down(n) => reply(500),
                    _ => reply(200),
                }
            }
        })
        .await;
    }
    let secret: Arc<Mutex<String>> = Arc::default();
    {
        let seen = seen.clone();
        let secret = secret.clone();
        serve(receiver_port, move |req: Request<hyper::body::Incoming>| {
            let seen = seen.clone();
            let secret = secret.clone();
            async move {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let (id, timestamp, signature) = (
                    header("webhook-id"),
                    header("webhook-timestamp"),
                    header("webhook-signature"),
                );
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let valid = shared::notify::sign::verify_standard(
                    &secret.lock().unwrap(),
                    &id,
                    timestamp.parse().unwrap_or(0),
                    &body,
                    &signature,
                );
                let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut seen = seen.lock().unwrap();
                if !valid {
                    seen.bad_signatures += 1;
                    return reply(400);
                }
                // Every fifth event is refused once: deliveries must retry.
                if id.ends_with(['0', '5', 'a']) && seen.refused_once.insert(id.clone()) {
                    return reply(503);
                }
                let entry = seen.webhooks.entry(id).or_insert_with(|| {
                    (
                        0,
                        event["type"].as_str().unwrap_or_default().to_owned(),
                        event["monitor"]["id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                });
                entry.0 += 1;
                reply(200)
            }
        })
        .await;
    }

    cluster.start_api();
    for i in 0..WORKERS {
        cluster.start_worker(i);
    }
    let api = Api {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        base: format!("http://127.0.0.1:{}", cluster.api_port),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while api
        .client
        .get(format!("{}/health", api.base))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        assert!(
            Instant::now() < deadline,
            "the API did not become healthy; see api.log"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let channel = api
        .send(
            reqwest::Method::POST,
            "/api/v1/channels",
            Some(json!({"name": "chaos receiver", "type": "webhook",
                        "url": format!("http://127.0.0.1:{receiver_port}/hook"),
                        "events": ["incident.opened", "incident.resolved"], "throttleSeconds": 0})),
        )
        .await
        .unwrap();
    *secret.lock().unwrap() = channel["signingSecret"].as_str().unwrap().to_owned();
    let channel_id = channel["id"].as_str().unwrap().to_owned();

    let tracked: Arc<Mutex<HashMap<Uuid, Tracked>>> = Arc::default();
    let create = |index: usize| {
        let flip = index % 8 == 0;
        let interval = 2 + (index % 4) as i64;
        let mut body = json!({
            "name": format!("chaos {index}"), "type": "http",
            "target": if flip { format!("http://127.0.0.1:{target_port}/flip/{index}") }
                      else if index % 3 == 1 { format!("http://127.0.0.1:{target_port}/slow/{index}") }
                      else { format!("http://127.0.0.1:{target_port}/ok/{index}") },
            "intervalSeconds": interval, "timeoutSeconds": TIMEOUT_MS / 1000,
            "failureThreshold": 1, "recoveryThreshold": 1,
        });
        if flip {
            body["channelIds"] = json!([channel_id.clone()]);
        }
        let api = &api;
        let tracked = tracked.clone();
        async move {
            let created = api
                .send(reqwest::Method::POST, "/api/v1/monitors", Some(body))
                .await
                .unwrap();
            let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
            tracked.lock().unwrap().insert(
                id,
                Tracked {
                    spans: vec![Span {
                        interval_ms: interval * 1000,
                        from_ms: now_ms(),
                        to_ms: None,
                    }],
                    deleted: false,
                },
            );
            id
        }
    };
    let ids: Vec<Uuid> = stream::iter(0..monitors)
        .map(create)
        .buffer_unordered(16)
        .collect()
        .await;
    println!("chaos: created {} monitors; warming up", ids.len());

    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut crashes = 0;
    tokio::time::sleep(settle).await;

    macro_rules! scenario {
        ($name:expr, $body:block) => {{
            let from_ms = now_ms();
            println!("chaos: scenario {}", $name);
            crashes += cluster.check_alive();
            cluster.sample_memory();
            let outages: Vec<(i64, i64)> = $body;
            cluster.sample_memory();
            tokio::time::sleep(settle).await;
            cluster.sample_memory();
            scenarios.push(Scenario {
                name: $name,
                from_ms,
                to_ms: now_ms(),
                outages,
            });
        }};
    }

    scenario!("steady", {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Vec::new()
    });
    scenario!("worker SIGKILL mid-check", {
        signal(cluster.worker_pid(0), "KILL");
        cluster.reap_worker(0, Duration::from_secs(5));
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.start_worker(0);
        Vec::new()
    });
    scenario!("worker SIGSTOP past lease", {
        let pid = cluster.worker_pid(1);
        signal(pid, "STOP");
        tokio::time::sleep(Duration::from_millis((LEASE_MS + 3_000) as u64)).await;
        signal(pid, "CONT");
        Vec::new()
    });
    scenario!("rolling SIGTERM restart", {
        for i in 0..WORKERS {
            signal(cluster.worker_pid(i), "TERM");
            let code = cluster.reap_worker(i, Duration::from_secs(15));
            if code != Some(0) {
                println!("chaos: VIOLATION worker-{i} exited with {code:?} on SIGTERM");
            }
            cluster.start_worker(i);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Vec::new()
    });
    scenario!("redis restarted empty", {
        let from = now_ms();
        cluster.kill_redis();
        cluster.start_redis();
        vec![(from, now_ms())]
    });
    scenario!("redis stalled past every lease", {
        let from = now_ms();
        let url = format!("redis://127.0.0.1:{}/0", cluster.redis_port);
        let stall = (LEASE_MS / 1000 + 3) as u64;
        let blocker = tokio::spawn(async move {
            let client = redis::Client::open(url).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let _: redis::RedisResult<()> = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg(stall)
                .query_async(&mut conn)
                .await;
        });
        let _ = blocker.await;
        // The client may give up waiting before Redis wakes up.
        vec![(from, now_ms().max(from + stall as i64 * 1000))]
    });
    scenario!("redis down", {
        let from = now_ms();
        cluster.kill_redis();
        tokio::time::sleep(outage).await;
        cluster.start_redis();
        vec![(from, now_ms())]
    });
    scenario!("postgres restarted", {
        cluster.stop_pg();
        cluster.start_pg();
        Vec::new()
    });
    scenario!("postgres unreachable", {
        cluster.stop_pg();
        tokio::time::sleep(outage).await;
        cluster.start_pg();
        Vec::new()
    });
    let mut changed: HashSet<Uuid> = HashSet::new();
    scenario!("monitors changed under load", {
        let extra: Vec<Uuid> = stream::iter(monitors..monitors + 10)
            .map(create)
            .buffer_unordered(10)
            .collect()
            .await;
        changed.extend(extra.iter().copied());
        let pick: Vec<Uuid> = ids
            .iter()
            .filter(|id| !changed.contains(id))
            .copied()
            .take(20)
            .collect();
        for (n, id) in pick.iter().enumerate() {
            let at = now_ms();
            match n % 4 {
                0 => {
                    // New interval: the old span ends, a new one begins.
                    api.send(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/monitors/{id}"),
                        Some(json!({"intervalSeconds": 3})),
                    )
                    .await
                    .unwrap();
                    let mut tracked = tracked.lock().unwrap();
                    let entry = tracked.get_mut(id).unwrap();
                    entry.spans.last_mut().unwrap().to_ms = Some(at);
                    entry.spans.push(Span {
                        interval_ms: 3000,
                        from_ms: now_ms(),
                        to_ms: None,
                    });
                }
                1 => {
                    api.send(
                        reqwest::Method::POST,
                        &format!("/api/v1/monitors/{id}/pause"),
                        None,
                    )
                    .await
                    .unwrap();
                    tracked
                        .lock()
                        .unwrap()
                        .get_mut(id)
                        .unwrap()
                        .spans
                        .last_mut()
                        .unwrap()
                        .to_ms = Some(at);
                }
                2 => {
                    api.send(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/monitors/{id}"),
                        None,
                    )
                    .await;
                    let mut tracked = tracked.lock().unwrap();
                    let entry = tracked.get_mut(id).unwrap();
                    entry.spans.last_mut().unwrap().to_ms = Some(at);
                    entry.deleted = true;
                }
                _ => {
                    for _ in 0..3 {
                        api.send(
                            reqwest::Method::POST,
                            &format!("/api/v1/monitors/{id}/check-now"),
                            None,
                        )
                        .await
                        .unwrap();
                    }
                }
            }
            changed.insert(*id);
        }
        tokio::time::sleep(Duration::from_secs(6)).await;
        Vec::new()
    });
    crashes += cluster.check_alive();
    cluster.sample_memory();
    // The last slots' checks finish and are written.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Let the outbox drain before counting deliveries.
    let (db, conn) = tokio_postgres::connect(&cluster.database_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    // The workers keep checking meanwhile, so flapping targets may open or
    // resolve incidents after the outbox is drained. One statement (one
    // snapshot) reads the pending count together with the transitions and
    // events that existed then: those must be complete and delivered. Later
    // ones need not be, but their deliveries are still accounted for.
    let drain_deadline = Instant::now() + Duration::from_secs(90);
    // Only monitors with the webhook channel notify (the flipping ones;
    // others can fail too, e.g. a first check refused while 300 monitors
    // start at once). The suite never detaches a channel, so the current
    // attachment is the one every transition saw.
    let notified = "EXISTS (SELECT 1 FROM monitor_channels mc WHERE mc.monitor_id = i.monitor_id)";
    let drained = loop {
        let row = db
            .query_one(
                &format!("SELECT \
                   (SELECT count(*) FROM notification_events \
                     WHERE status NOT IN ('delivered', 'suppressed', 'failed')), \
                   (SELECT coalesce(array_agg(id::text), '{{}}') FROM notification_events), \
                   (SELECT coalesce(array_agg(id::text), '{{}}') FROM incidents i WHERE {notified}), \
                   (SELECT coalesce(array_agg(id::text), '{{}}') FROM incidents i \
                     WHERE resolved_at IS NOT NULL AND {notified})"),
                &[],
            )
            .await
            .unwrap();
        let pending: i64 = row.get(0);
        if pending == 0 || Instant::now() > drain_deadline {
            break Drained {
                events: row.get::<_, Vec<String>>(1).into_iter().collect(),
                opened: row.get(2),
                resolved: row.get(3),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };

    let tracked = std::mem::take(&mut *tracked.lock().unwrap());
    let violations = crashes
        + verify(
            &db, &seen, &tracked, &changed, &scenarios, &cluster, &drained,
        )
        .await;
    cluster.shutdown();
    if std::env::var("CHAOS_KEEP").is_ok_and(|v| v == "1") || violations > 0 {
        println!("chaos: logs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if violations > 0 {
        println!("chaos: {violations} violation(s)");
        std::process::exit(1);
    }
    println!("chaos: every invariant held");
}

/// What existed when the outbox was found drained (one snapshot).
struct Drained {
    /// Every event id.
    events: HashSet<String>,
    /// Every incident id.
    opened: Vec<String>,
    /// Ids of the incidents resolved by then.
    resolved: Vec<String>,
}

/// Checks every invariant, prints the table, returns the violation count.
async fn verify(
    db: &tokio_postgres::Client,
    seen: &Mutex<Seen>,
    tracked: &HashMap<Uuid, Tracked>,
    changed: &HashSet<Uuid>,
    scenarios: &[Scenario],
    cluster: &Cluster,
    drained: &Drained,
) -> usize {
    let mut violations = 0;
    // Taken out, so no lock is held across the queries below.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let rows = db
        .query(
            "SELECT monitor_id, (extract(epoch FROM slot_ts) * 1000)::int8, status, worker_id FROM check_results",
            &[],
        )
        .await
        .unwrap();
    let mut stored: HashMap<Uuid, Vec<i64>> = HashMap::new();
    let mut unrequested = 0;
    for row in &rows {
        let id: Uuid = row.get(0);
        let slot: i64 = row.get(1);
        let status: String = row.get(2);
        stored.entry(id).or_default().push(slot);
        // Every stored answer (up or an HTTP error) came from a real request.
        if status == "up" && !seen.checks.contains_key(&format!("{id}:{slot}")) {
            unrequested += 1;
        }
    }
    let duplicates: i64 = db
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM check_results GROUP BY monitor_id, slot_ts HAVING count(*) > 1) d",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for slots in stored.values_mut() {
        slots.sort_unstable();
    }
    let all_outages: Vec<(i64, i64)> = scenarios.iter().flat_map(|s| s.outages.clone()).collect();
    // A slot due while Redis is away (or just before, while it goes) cannot
    // be claimed; the first slot after it returns must be.
    let excluded = |slot: i64, interval: i64| {
        all_outages
            .iter()
            .any(|(a, b)| slot >= a - 1_000 && slot <= b + interval + 2_000)
    };

    // Notifications: events in the outbox, deliveries at the receiver.
    let events = db
        .query(
            "SELECT e.id::text, e.incident_id::text, e.event_type, e.status, \
                 (extract(epoch FROM e.created_at) * 1000)::int8 \
             FROM notification_events e",
            &[],
        )
        .await
        .unwrap();
    let mut per_transition: HashMap<(String, String), u32> = HashMap::new();
    for event in &events {
        *per_transition
            .entry((event.get::<_, String>(1), event.get::<_, String>(2)))
            .or_default() += 1;
    }
    let twice = per_transition.values().filter(|n| **n > 1).count();
    // Each transition that existed at the drain has its event (written in
    // the same transaction, so also in that snapshot).
    let without_event = drained
        .opened
        .iter()
        .map(|id| (id, "incident.opened"))
        .chain(drained.resolved.iter().map(|id| (id, "incident.resolved")))
        .filter(|(id, kind)| !per_transition.contains_key(&((*id).clone(), (*kind).to_owned())))
        .count();
    let (incidents, resolved) = (drained.opened.len(), drained.resolved.len());

    println!();
    println!(
        "{:<32} {:>9} {:>8} {:>5} {:>7} {:>8} {:>9} {:>5} {:>9}",
        "scenario",
        "expected",
        "stored",
        "dup",
        "missed",
        "notif.",
        "delivered",
        "dup",
        "max gap s"
    );
    let mut total_missed = 0;
    let mut missed_examples = Vec::new();
    for scenario in scenarios {
        let (mut expected, mut got, mut missed, mut max_gap) = (0, 0, 0, 0i64);
        // A deleted monitor's results go with it; only their absence is checked.
        for (id, monitor) in tracked.iter().filter(|(_, t)| !t.deleted) {
            let slots = stored.get(id).map(Vec::as_slice).unwrap_or_default();
            for span in &monitor.spans {
                let interval = span.interval_ms;
                let phase = shared::schedule::phase_ms(*id, interval as u64) as i64;
                // Slots from one interval after the span starts (the first
                // check is due at once, off the grid) to one lease before it
                // ends (a pause or delete may cut the last one short).
                let lo = (span.from_ms + interval).max(scenario.from_ms);
                let hi = span
                    .to_ms
                    .map_or(scenario.to_ms, |t| t - LEASE_MS)
                    .min(scenario.to_ms - 1);
                let mut slot = lo - (lo - phase).rem_euclid(interval) + interval;
                while slot <= hi {
                    if !excluded(slot, interval) {
                        expected += 1;
                        if slots.binary_search(&slot).is_ok() {
                            got += 1;
                        } else {
                            missed += 1;
                            if missed_examples.len() < 10 {
                                missed_examples.push(format!("{} {id}:{slot}", scenario.name));
                            }
                        }
                    }
                    slot += interval;
                }
                if changed.contains(id) {
                    continue;
                }
                for pair in slots.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    if b < scenario.from_ms || a > scenario.to_ms || b < span.from_ms {
                        continue;
                    }
                    if all_outages
                        .iter()
                        .any(|(x, y)| a <= *y + interval + 2_000 && b >= x - 1_000)
                    {
                        continue;
                    }
                    max_gap = max_gap.max(b - a);
                    if b - a > interval + LEASE_MS {
                        violations += 1;
                        println!(
                            "chaos: VIOLATION gap of {} ms for {id} between {a} and {b}",
                            b - a
                        );
                    }
                }
            }
        }
        let mut notif = 0;
        let mut delivered = 0;
        let mut redelivered = 0;
        for event in &events {
            let created: i64 = event.get(4);
            if created < scenario.from_ms || created >= scenario.to_ms {
                continue;
            }
            notif += 1;
            if let Some((count, _, _)) = seen.webhooks.get(&event.get::<_, String>(0)) {
                delivered += 1;
                redelivered += count.saturating_sub(1);
            }
        }
        total_missed += missed;
        println!(
            "{:<32} {:>9} {:>8} {:>5} {:>7} {:>8} {:>9} {:>5} {:>9.1}",
            scenario.name,
            expected,
            got,
            0,
            missed,
            notif,
            delivered,
            redelivered,
            max_gap as f64 / 1000.0
        );
    }
    println!();
    // Events from after the drain may still be on their way.
    let undelivered = events
        .iter()
        .filter(|e| {
            let id = e.get::<_, String>(0);
            e.get::<_, String>(3) != "suppressed"
                && drained.events.contains(&id)
                && !seen.webhooks.contains_key(&id)
        })
        .count();
    let deleted: HashSet<String> = tracked
        .iter()
        .filter(|(_, t)| t.deleted)
        .map(|(id, _)| id.to_string())
        .collect();
    let stray = seen
        .webhooks
        .iter()
        .filter(|(id, (_, _, monitor))| {
            !deleted.contains(monitor) && !events.iter().any(|e| e.get::<_, String>(0) == **id)
        })
        .count();
    let paused_late = tracked
        .iter()
        .filter(|(id, t)| {
            let end = t.spans.last().and_then(|s| s.to_ms);
            let resumed = t.spans.last().is_some_and(|s| s.to_ms.is_none());
            !resumed
                && !t.deleted
                && end.is_some_and(|end| {
                    stored
                        .get(id)
                        .is_some_and(|slots| slots.iter().any(|s| *s > end + LEASE_MS))
                })
        })
        .count();
    let deleted_left = tracked
        .iter()
        .filter(|(id, t)| t.deleted && stored.contains_key(id))
        .count();
    let checks = [
        ("slots missed outside outages", total_missed),
        ("slots stored twice", duplicates as usize),
        ("up results the target never saw", unrequested),
        ("transitions with two events", twice),
        ("incident transitions without an event", without_event),
        ("events never delivered", undelivered),
        ("deliveries not from an event", stray),
        ("bad signatures", seen.bad_signatures as usize),
        ("paused monitors still checked", paused_late),
        ("deleted monitors with results", deleted_left),
    ];
    for (what, count) in checks {
        println!("{:<44} {count}", what);
        violations += count;
    }
    for example in &missed_examples {
        println!("  missed: {example}");
    }
    println!(
        "incidents of monitors with the channel: opened {incidents}, resolved {resolved} (at the drain); events {}; check requests at the target {}; \
         repeated check requests {}",
        events.len(),
        seen.checks.values().map(|n| *n as usize).sum::<usize>(),
        seen.checks.values().filter(|n| **n > 1).count()
    );
    for (role, kib) in cluster.peaks.lock().unwrap().iter() {
        let over = *kib > MEMORY_BOUND_KIB;
        println!(
            "peak memory {role:<10} {:>7.1} MiB{}",
            *kib as f64 / 1024.0,
            if over { "  VIOLATION" } else { "" }
        );
        if over {
            violations += 1;
        }
    }
    violations
}
