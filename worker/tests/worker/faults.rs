//! Dependencies that are away: the worker backs off instead of crashing and
//! picks up once they return.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use uuid::Uuid;

use crate::helpers::Bed;

/// A redis-server of this test's own on `port` (no persistence).
struct OwnRedis(std::process::Child);

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        Self(child)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_waits_out_a_missing_redis_and_then_builds_the_schedule() {
    let bed = Bed::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO monitors (id, name, type, target, method, timeout_seconds, \
                 interval_seconds, failure_threshold, recovery_threshold, enabled) \
             VALUES ($1, 'waiting', 'http', $2, 'GET', 1, 1, 3, 1, true)",
            &[&id, &format!("http://{}/ok/waiting", bed.target)],
        )
        .await
        .unwrap();
    let url = format!("redis://127.0.0.1:{port}/0");
    let worker = bed.worker(&[("REDIS_URL", &url)]).await;
    // Redis is not there: the worker stays up, checks nothing, keeps its
    // Postgres heartbeat.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(worker.stats.checks.load(Ordering::SeqCst), 0);
    let beats: i64 = bed
        .db
        .query_one("SELECT count(*) FROM worker_heartbeats", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(beats, 1);
    // Redis arrives, empty: the schedule is built from Postgres and checks start.
    let _redis = OwnRedis::start(port);
    bed.until(
        Duration::from_secs(15),
        "checks after Redis came up",
        || async { bed.result_count(id).await >= 2 },
    )
    .await;
    assert_eq!(worker.stats.rebuilds.load(Ordering::SeqCst), 1);
    worker.stop().await;
}

/// A slot is acknowledged only once its result is committed, so a worker
/// killed in between loses nothing; while Postgres does not answer, the
/// acknowledgement goes out after about 2 s anyway so scheduling goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_is_acknowledged_once_its_result_is_stored_or_after_the_wait() {
    let bed = Bed::new().await;
    let id = bed
        .http_monitor(
            "/ok/acked",
            crate::helpers::MonitorOptions {
                interval: 60,
                timeout: 2,
                due_now: true,
                ..Default::default()
            },
        )
        .await;
    let leased = || async { bed.schedule.sizes(&bed.redis).await.unwrap().1 };
    // While this transaction holds the lock, result inserts wait (reads don't).
    let mut locker = shared::testing::connect(&bed.db_name).await;
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE check_results IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let worker = bed.worker(&[]).await;
    bed.until(Duration::from_secs(10), "the first check", || async {
        bed.hits.path("/ok/acked") >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(leased().await, 1, "checked but not stored: still leased");
    assert_eq!(bed.result_count(id).await, 0);
    lock.commit().await.unwrap();
    bed.until(Duration::from_secs(5), "the acknowledgement", || async {
        leased().await == 0
    })
    .await;
    assert_eq!(
        bed.result_count(id).await,
        1,
        "acknowledged after the write"
    );
    assert_eq!(worker.stats.acked_unstored.load(Ordering::SeqCst), 0);

    // Postgres stalls for longer than the wait: the slot is acknowledged
    // with the result still buffered, which is written once Postgres answers.
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE check_results IN EXCLUSIVE MODE")
        .await
        .unwrap();
    bed.schedule.check_now(&bed.redis, id).await.unwrap();
    bed.until(Duration::from_secs(10), "the second check", || async {
        bed.hits.path("/ok/acked") >= 2
    })
    .await;
    let checked = tokio::time::Instant::now();
    bed.until(Duration::from_secs(6), "the acknowledgement", || async {
        leased().await == 0
    })
    .await;
    assert!(
        checked.elapsed() >= Duration::from_millis(1_000),
        "the worker waited for the write before giving up on it"
    );
    assert_eq!(bed.result_count(id).await, 1, "not stored yet");
    assert_eq!(worker.stats.acked_unstored.load(Ordering::SeqCst), 1);
    lock.commit().await.unwrap();
    bed.until(Duration::from_secs(10), "the buffered result", || async {
        bed.result_count(id).await == 2
    })
    .await;
    worker.stop().await;
}
