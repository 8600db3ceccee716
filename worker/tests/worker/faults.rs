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

/// The writer never drops a result for its content: a result whose text
/// Postgres refuses (a NUL byte that reached it unclean) is stored with its
/// verdict and without the text, and the monitor's state follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_postgres_refuses_is_stored_without_its_text() {
    use shared::model::{CheckResult, CheckStatus, Timings};
    let bed = Bed::new().await;
    let id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO monitors (id, name, type, target, method, timeout_seconds, \
                 interval_seconds, failure_threshold, recovery_threshold, enabled) \
             VALUES ($1, 'refused', 'keyword', 'http://192.0.2.1/', 'GET', 1, 60, 1, 1, true)",
            &[&id],
        )
        .await
        .unwrap();
    let config = bed.config(&[]);
    let pool = shared::db::build_pool(&config).unwrap();
    let stats = std::sync::Arc::new(uptime_worker::Stats::default());
    let (sender, receiver) = uptime_worker::writer::channel();
    let (_give_up_tx, give_up) = tokio::sync::watch::channel(false);
    let writer = tokio::spawn(uptime_worker::writer::run(
        pool,
        receiver,
        stats.clone(),
        give_up,
    ));
    // Slots are whole seconds, as on the grid.
    let slot = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - 5, 0).unwrap();
    let mut details = serde_json::Map::new();
    details.insert("answer".to_owned(), serde_json::json!("txt\u{0}record"));
    let result = CheckResult {
        monitor_id: id,
        slot_ts: slot,
        checked_at: slot,
        worker_id: Some("test".to_owned()),
        status: CheckStatus::Down,
        status_code: Some(200),
        error: Some("keyword \"healthy\" not found in \u{0}".to_owned()),
        timings: Timings {
            total_ms: 3.0,
            ..Timings::default()
        },
        body_snippet: Some("ok\u{0}ok keyword".to_owned()),
        details: Some(serde_json::Value::Object(details)),
        in_maintenance: false,
    };
    stats.buffered.fetch_add(1, Ordering::Relaxed);
    let (pending, stored) = uptime_worker::writer::Pending::new(result);
    sender.send(pending).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), stored)
        .await
        .expect("the writer settles the result")
        .expect("the result is stored, not given up");
    let row = bed
        .db
        .query_one(
            "SELECT status, status_code, error, body_snippet, details FROM check_results \
             WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "down", "the verdict is kept");
    assert_eq!(row.get::<_, Option<i32>>(1), Some(200));
    let error: String = row.get(2);
    assert!(error.contains("could not be stored"), "{error}");
    assert_eq!(row.get::<_, Option<String>>(3), None);
    let details: serde_json::Value = row.get(4);
    assert_eq!(details["storeRejected"], "22021", "{details}");
    let (status, incidents): (String, i64) = {
        let row = bed
            .db
            .query_one(
                "SELECT m.status, (SELECT count(*) FROM incidents i WHERE i.monitor_id = m.id) \
                 FROM monitors m WHERE m.id = $1",
                &[&id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        status, "down",
        "the monitor's state follows the stored result"
    );
    assert_eq!(incidents, 1, "and its incident opens");
    drop(sender);
    tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .unwrap()
        .unwrap();
}

/// An attempt is always recorded: one whose answer Postgres refuses (it
/// reached `settle` unclean) is recorded without the answer, counted, and
/// scheduled by the retry policy like any other, never left to redeliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_whose_answer_postgres_refuses_is_recorded_without_it() {
    use shared::notify::outbox::{self, RetryPolicy, Settled};
    use shared::notify::send::{Attempt, Outcome};
    let bed = Bed::new().await;
    let channel = Uuid::now_v7();
    let event = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config) \
             VALUES ($1, 'hook', 'webhook', '{\"url\": \"https://hooks.example.com/x\"}')",
            &[&channel],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "INSERT INTO notification_events (id, channel_id, event_type, payload) \
             VALUES ($1, $2, 'test', '{}')",
            &[&event, &channel],
        )
        .await
        .unwrap();
    let pool = shared::db::build_pool(&bed.config(&[])).unwrap();
    let mut client = pool.get().await.unwrap();
    let claimed = outbox::claim(&client, "w1", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let attempt = Attempt {
        outcome: Outcome::Retry,
        status_code: Some(500),
        latency: Duration::from_millis(12),
        error: Some("the receiver answered 500: \u{0}".to_owned()),
        response_snippet: Some("\u{0}\u{0}".to_owned()),
        retry_after: None,
    };
    let policy = RetryPolicy {
        max_retries: 3,
        base: Duration::from_secs(30),
    };
    let settled = outbox::settle(
        &mut client,
        &claimed[0],
        "w1",
        &attempt,
        policy,
        chrono::Utc::now(),
    )
    .await
    .expect("the attempt is recorded");
    assert!(matches!(settled, Settled::RetryAt(_)), "{settled:?}");
    let row = bed
        .db
        .query_one(
            "SELECT a.outcome, a.status_code, a.error, a.response_snippet, e.attempts, \
                    e.status, e.locked_by \
             FROM notification_attempts a JOIN notification_events e ON e.id = a.event_id \
             WHERE a.event_id = $1",
            &[&event],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "retry");
    assert_eq!(row.get::<_, Option<i32>>(1), Some(500));
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("the receiver's answer could not be stored")
    );
    assert_eq!(row.get::<_, Option<String>>(3), None);
    assert_eq!(
        row.get::<_, i32>(4),
        1,
        "the attempt counts toward the limit"
    );
    assert_eq!(row.get::<_, String>(5), "pending");
    assert_eq!(
        row.get::<_, Option<String>>(6),
        None,
        "the lease is released"
    );
}
