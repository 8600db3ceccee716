//! Real worker processes: SIGKILL and SIGSTOP mid-check, SIGTERM.

use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};

async fn writers(bed: &Bed, id: Uuid) -> Vec<(chrono::DateTime<chrono::Utc>, String)> {
    bed.db
        .query(
            "SELECT slot_ts, worker_id FROM check_results WHERE monitor_id = $1 ORDER BY slot_ts",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get::<_, Option<String>>(1).unwrap_or_default()))
        .collect()
}

/// A slow monitor checked once (long interval): timeout 3 s, lease 8 s.
async fn slow_monitor(bed: &Bed, path: &str) -> Uuid {
    bed.http_monitor(
        path,
        MonitorOptions {
            interval: 600,
            timeout: 3,
            due_now: true,
            ..MonitorOptions::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_has_its_check_reclaimed_after_the_lease() {
    let bed = Bed::new().await;
    let path = "/slow/2000/killed";
    let id = slow_monitor(&bed, path).await;
    let mut doomed = bed.process(&[]);
    bed.until(
        Duration::from_secs(10),
        "the first worker to start the check",
        || async { bed.hits.path(path) == 1 },
    )
    .await;
    doomed.child.kill().unwrap();
    let _ = doomed.child.wait();
    let rescuer = bed.process(&[]);
    // The lease (3 s + 5 s) must run out before another worker may check.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bed.hits.path(path), 1, "reclaimed before the lease ended");
    bed.until(
        Duration::from_secs(15),
        "the slot to be checked again",
        || async { bed.result_count(id).await == 1 },
    )
    .await;
    assert_eq!(bed.hits.path(path), 2);
    let rows = writers(&bed, id).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].1.contains(&rescuer.pid().to_string()), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_worker_that_comes_back_writes_no_duplicate() {
    let bed = Bed::new().await;
    let path = "/slow/1500/paused";
    let id = slow_monitor(&bed, path).await;
    let frozen = bed.process(&[]);
    bed.until(
        Duration::from_secs(10),
        "the first worker to start the check",
        || async { bed.hits.path(path) == 1 },
    )
    .await;
    frozen.signal("STOP");
    let other = bed.process(&[]);
    bed.until(
        Duration::from_secs(15),
        "another worker to check the slot",
        || async { bed.result_count(id).await == 1 },
    )
    .await;
    let before = writers(&bed, id).await;
    assert!(before[0].1.contains(&other.pid().to_string()));
    frozen.signal("CONT");
    // The resumed worker finishes its stale check: its write is fenced off.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        writers(&bed, id).await,
        before,
        "no second result for the slot"
    );
    let last_slot: chrono::DateTime<chrono::Utc> = bed
        .db
        .query_one("SELECT last_slot FROM monitors WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(last_slot, before[0].0);
    // The monitor is still scheduled (due at a later slot, or being checked
    // again if an acknowledgement was lost): the stale worker changed nothing.
    let next = bed.schedule.due_slot(&bed.redis, id).await.unwrap();
    let (_, leased) = bed.schedule.sizes(&bed.redis).await.unwrap();
    assert!(
        next.is_some_and(|n| n > before[0].0.timestamp_millis()) || leased == 1,
        "next due {next:?} after slot {}, leased {leased}",
        before[0].0.timestamp_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_short_checks_releases_long_ones_and_exits_zero() {
    let bed = Bed::new().await;
    let short = slow_monitor(&bed, "/slow/1000/short").await;
    let long = bed
        .http_monitor(
            "/slow/20000/long",
            MonitorOptions {
                interval: 600,
                timeout: 30,
                due_now: true,
                ..MonitorOptions::default()
            },
        )
        .await;
    let mut worker = bed.process(&[("SHUTDOWN_TIMEOUT_SECONDS", "4")]);
    bed.until(Duration::from_secs(10), "both checks to start", || async {
        bed.hits.path("/slow/1000/short") == 1 && bed.hits.path("/slow/20000/long") == 1
    })
    .await;
    let (due_before, _) = bed.schedule.sizes(&bed.redis).await.unwrap();
    worker.signal("TERM");
    let code = worker.wait(Duration::from_secs(8)).await;
    assert_eq!(
        code,
        Some(0),
        "the worker exits 0 within SHUTDOWN_TIMEOUT_SECONDS"
    );
    assert_eq!(
        bed.result_count(short).await,
        1,
        "the short check finished and was kept"
    );
    assert_eq!(bed.result_count(long).await, 0);
    // The long check was released: due again at once, not leased.
    let (due, leased) = bed.schedule.sizes(&bed.redis).await.unwrap();
    assert_eq!(leased, 0);
    assert_eq!(due, due_before + 2);
    let slot = bed
        .schedule
        .due_slot(&bed.redis, long)
        .await
        .unwrap()
        .unwrap();
    assert!(slot <= chrono::Utc::now().timestamp_millis());
    let heartbeats: i64 = bed
        .db
        .query_one("SELECT count(*) FROM worker_heartbeats", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(heartbeats, 0, "a clean stop removes the heartbeat");
}
