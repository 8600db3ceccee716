//! Load benchmark of the whole check pipeline: N HTTP monitors against a
//! local target, one or more real `uptime-worker` processes, every result
//! persisted. Prints checks per second, scheduling lateness (p50/p99 from
//! the workers' histogram), CPU seconds per 1,000 checks (worker, Redis,
//! Postgres), peak worker memory and rows written.
//!
//! `make bench` runs it; see BENCHMARKS.md for numbers. Options (env):
//! BENCH_MONITORS (5000), BENCH_INTERVAL (5), BENCH_SECONDS (30),
//! BENCH_WARMUP (10), BENCH_WORKERS (1), BENCH_CONCURRENCY (64).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use uuid::Uuid;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU ticks (user + system) of a process from /proc.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let user: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let system: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    user + system
}

/// Peak resident memory (VmHWM) of a process in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Pids of every process whose command name is `name`.
fn pids_named(name: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
            {
                pids.push(pid);
            }
        }
    }
    pids
}

fn ticks_of(pids: &[u32]) -> u64 {
    pids.iter().map(|p| cpu_ticks(*p)).sum()
}

/// Cumulative lateness histogram buckets (le -> count) from /metrics text.
fn lateness_buckets(text: &str) -> Vec<(f64, f64)> {
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("uptime_scheduling_lateness_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count: f64 = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The upper bound of the bucket holding quantile `q` of the observations
/// between two scrapes.
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let base: HashMap<u64, f64> = before.iter().map(|(le, c)| (le.to_bits(), *c)).collect();
    let diff: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, c)| (*le, c - base.get(&le.to_bits()).copied().unwrap_or(0.0)))
        .collect();
    let total = diff.last().map_or(0.0, |d| d.1);
    for (le, count) in &diff {
        if *count >= total * q {
            return *le;
        }
    }
    f64::INFINITY
}

async fn scrape(client: &reqwest::Client, port: u16) -> String {
    client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .map(|r| r.text())
        .expect("scrape")
        .await
        .unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn count(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM check_results", &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
}

#[tokio::main]
async fn main() {
    let monitors = env_num("BENCH_MONITORS", 5000);
    let interval = env_num("BENCH_INTERVAL", 5);
    let seconds = env_num("BENCH_SECONDS", 30);
    let warmup = env_num("BENCH_WARMUP", 10);
    let workers = env_num("BENCH_WORKERS", 1);
    let concurrency = env_num("BENCH_CONCURRENCY", 64);
    let worker_bin = std::env::var("BENCH_WORKER_BIN")
        .unwrap_or_else(|_| "target/release/uptime-worker".to_owned());

    // The target: a minimal HTTP/1.1 server on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let db_name = shared::testing::fresh_database().await;
    let db = shared::testing::connect(&db_name).await;
    let ids: Vec<Uuid> = (0..monitors).map(|_| Uuid::now_v7()).collect();
    let names: Vec<String> = (0..monitors).map(|n| format!("bench {n}")).collect();
    let url = format!("http://{target}/");
    let interval_i = i32::try_from(interval).unwrap();
    db.execute(
        "INSERT INTO monitors (id, name, type, target, method, timeout_seconds, interval_seconds, \
             failure_threshold, recovery_threshold, enabled) \
         SELECT id, name, 'http', $3, 'GET', LEAST(5, $4), $4, 3, 1, true \
         FROM unnest($1::uuid[], $2::text[]) AS t(id, name)",
        &[&ids, &names, &url, &interval_i],
    )
    .await
    .expect("insert monitors");
    let prefix = format!("uptime:bench:{db_name}:");

    let mut children = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..workers {
        let port = free_port();
        ports.push(port);
        let child = Command::new(&worker_bin)
            .env("APP_ENV", "test")
            .env("DATABASE_URL", shared::testing::database_url(&db_name))
            .env("REDIS_URL", shared::testing::redis_url())
            .env("REDIS_KEY_PREFIX", &prefix)
            .env("ALLOW_PRIVATE_TARGETS", "true")
            .env("METRICS_PORT", port.to_string())
            .env("CHECK_WORKER_COUNT", concurrency.to_string())
            .env("DATABASE_POOL_SIZE", "8")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {worker_bin}: {e} (run `cargo build --release` first)")
            });
        children.push(child);
    }
    let client = reqwest::Client::new();
    tokio::time::sleep(Duration::from_secs(warmup)).await;

    let worker_pids: Vec<u32> = children.iter().map(std::process::Child::id).collect();
    let redis_pids = pids_named("redis-server");
    let pg_pids = pids_named("postgres");
    let mut before_buckets = Vec::new();
    for port in &ports {
        before_buckets.push(lateness_buckets(&scrape(&client, *port).await));
    }
    let rows_before = count(&db).await;
    let (w0, r0, p0) = (
        ticks_of(&worker_pids),
        ticks_of(&redis_pids),
        ticks_of(&pg_pids),
    );
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (w1, r1, p1) = (
        ticks_of(&worker_pids),
        ticks_of(&redis_pids),
        ticks_of(&pg_pids),
    );
    let rows_after = count(&db).await;
    let mut p50 = 0.0f64;
    let mut p99 = 0.0f64;
    for (port, before) in ports.iter().zip(&before_buckets) {
        let after = lateness_buckets(&scrape(&client, *port).await);
        p50 = p50.max(quantile(before, &after, 0.50));
        p99 = p99.max(quantile(before, &after, 0.99));
    }
    let peak: Vec<u64> = worker_pids.iter().map(|p| peak_rss_kib(*p)).collect();
    let size: i64 = db
        .query_one(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'check_results'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let total_rows = rows_after;
    for mut child in children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }

    #[allow(clippy::cast_precision_loss)]
    {
        let checks = (rows_after - rows_before) as f64;
        let tick = 100.0; // USER_HZ
        let per_k = |ticks: u64| (ticks as f64 / tick) / (checks / 1000.0);
        println!(
            "monitors            {monitors} at {interval}s interval ({} checks/s expected)",
            monitors as f64 / interval as f64
        );
        println!("workers             {workers} x concurrency {concurrency}");
        println!("window              {elapsed:.1} s after {warmup} s warm-up");
        println!(
            "checks stored       {checks} ({:.0} checks/s)",
            checks / elapsed
        );
        println!("lateness p50        <= {:.1} ms", p50 * 1000.0);
        println!("lateness p99        <= {:.1} ms", p99 * 1000.0);
        println!(
            "CPU s / 1000 checks worker {:.3}, redis {:.3}, postgres {:.3}",
            per_k(w1 - w0),
            per_k(r1 - r0),
            per_k(p1 - p0)
        );
        println!(
            "peak RSS            worker {:?} MiB, redis-server {} MiB, largest postgres process {} MiB",
            peak.iter().map(|k| k / 1024).collect::<Vec<_>>(),
            redis_pids.iter().map(|p| peak_rss_kib(*p)).max().unwrap_or(0) / 1024,
            pg_pids.iter().map(|p| peak_rss_kib(*p)).max().unwrap_or(0) / 1024
        );
        println!("rows written        {total_rows} total; {:.0} bytes per stored result (table + indexes)", size as f64 / total_rows.max(1) as f64);
    }
    drop(db);
    shared::testing::drop_database(&db_name);

    #[allow(clippy::cast_precision_loss)]
    let rate = monitors as f64 / interval as f64;
    if env_num("BENCH_BLACKBOX", 1) == 1 {
        blackbox(&format!("http://{target}/"), rate, seconds, concurrency).await;
    }
}

/// The same target probed by Prometheus' blackbox_exporter at the same rate:
/// CPU seconds per 1,000 probes of the exporter process alone (it schedules
/// nothing and stores nothing; Prometheus would do that).
async fn blackbox(target: &str, rate: f64, seconds: u64, concurrency: u64) {
    let Some(binary) = ["prometheus-blackbox-exporter", "blackbox_exporter"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        println!("blackbox_exporter   not installed (apt-get install prometheus-blackbox-exporter); comparison skipped");
        return;
    };
    let config =
        std::env::temp_dir().join(format!("uptime-bench-blackbox-{}.yml", std::process::id()));
    std::fs::write(
        &config,
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(concurrency).unwrap_or(64))
        .build()
        .unwrap();
    let probe = format!("http://127.0.0.1:{port}/probe?module=http_2xx&target={target}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(&probe).send().await.is_err() {
        assert!(Instant::now() < deadline, "blackbox_exporter did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let succeeded = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(
        usize::try_from(concurrency).unwrap_or(64),
    ));
    let run = |window: Duration, count: bool| {
        let client = client.clone();
        let probe = probe.clone();
        let succeeded = succeeded.clone();
        let slots = slots.clone();
        async move {
            // Probes are issued on a 10 ms tick at the monitors' rate.
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let started = Instant::now();
            let mut issued = 0.0f64;
            while started.elapsed() < window {
                tick.tick().await;
                let due = rate * started.elapsed().as_secs_f64();
                while issued < due {
                    issued += 1.0;
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        break;
                    };
                    let (client, probe, succeeded) =
                        (client.clone(), probe.clone(), succeeded.clone());
                    tokio::spawn(async move {
                        let ok = match client.get(&probe).send().await {
                            Ok(r) => r.text().await.is_ok_and(|b| b.contains("probe_success 1")),
                            Err(_) => false,
                        };
                        if ok && count {
                            succeeded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        drop(permit);
                    });
                }
            }
            let _ = slots
                .acquire_many(u32::try_from(concurrency).unwrap_or(64))
                .await;
        }
    };
    run(Duration::from_secs(3), false).await;
    let pid = child.id();
    let before = cpu_ticks(pid);
    let started = Instant::now();
    run(Duration::from_secs(seconds), true).await;
    let elapsed = started.elapsed().as_secs_f64();
    let ticks = cpu_ticks(pid) - before;
    let probes = succeeded.load(std::sync::atomic::Ordering::Relaxed);
    let peak = peak_rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&config);
    #[allow(clippy::cast_precision_loss)]
    {
        println!(
            "blackbox_exporter   {probes} successful probes in {elapsed:.1} s ({:.0} probes/s, asked {rate:.0}/s)",
            probes as f64 / elapsed
        );
        println!(
            "blackbox CPU        {:.3} s / 1000 probes (exporter only), peak RSS {} MiB",
            (ticks as f64 / 100.0) / (probes.max(1) as f64 / 1000.0),
            peak / 1024
        );
    }
}
