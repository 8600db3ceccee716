//! Several workers on one schedule: every slot checked exactly once.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shared::schedule::CheckNow;
use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};

/// Asserts that each monitor's stored slots are distinct, one interval
/// apart with no gap, and match the requests its target saw.
fn assert_every_slot_once(
    bed: &Bed,
    monitors: &HashMap<Uuid, String>,
    slots: &HashMap<Uuid, Vec<chrono::DateTime<chrono::Utc>>>,
    interval_ms: i64,
    at_least: usize,
) {
    for (id, path) in monitors {
        let stored = slots.get(id).cloned().unwrap_or_default();
        assert!(
            stored.len() >= at_least,
            "monitor {id} has only {} results",
            stored.len()
        );
        for pair in stored.windows(2) {
            let gap = (pair[1] - pair[0]).num_milliseconds();
            assert_eq!(
                gap, interval_ms,
                "monitor {id}: slots {pair:?} are not consecutive"
            );
        }
        assert_eq!(
            bed.hits.path(path),
            stored.len(),
            "monitor {id}: target requests and stored results differ"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_check_every_slot_exactly_once() {
    let bed = Bed::new().await;
    let mut monitors = HashMap::new();
    for n in 0..30 {
        let path = format!("/ok/{n}");
        let id = bed.http_monitor(&path, MonitorOptions::default()).await;
        monitors.insert(id, path);
    }
    let workers = vec![
        bed.worker(&[("CHECK_WORKER_COUNT", "4")]).await,
        bed.worker(&[("CHECK_WORKER_COUNT", "4")]).await,
        bed.worker(&[("CHECK_WORKER_COUNT", "4")]).await,
    ];
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut by_worker = Vec::new();
    for worker in workers {
        by_worker.push(worker.stats.checks.load(Ordering::SeqCst));
        worker.stop().await;
    }
    let slots = bed.slots().await;
    assert_every_slot_once(&bed, &monitors, &slots, 1000, 4);
    // The work was shared, not done by one worker alone.
    assert!(
        by_worker.iter().filter(|n| **n > 0).count() >= 2,
        "checks per worker: {by_worker:?}"
    );
    // Results carry the timing breakdown and the worker that ran them.
    let row = bed
        .db
        .query_one(
            "SELECT count(*) FILTER (WHERE connect_ms IS NULL OR ttfb_ms IS NULL OR worker_id IS NULL), \
                    count(*) FROM check_results",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
    assert!(row.get::<_, i64>(1) >= 120);
    // Monitor state followed the newest slot.
    let stale: i64 = bed
        .db
        .query_one(
            "SELECT count(*) FROM monitors m WHERE m.status <> 'up' OR m.last_slot <> \
                 (SELECT max(slot_ts) FROM check_results r WHERE r.monitor_id = m.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flushed_schedule_is_rebuilt_once_and_no_monitor_is_missed() {
    let bed = Bed::new().await;
    let mut monitors = HashMap::new();
    for n in 0..20 {
        let path = format!("/ok/{n}");
        monitors.insert(
            bed.http_monitor(&path, MonitorOptions::default()).await,
            path,
        );
    }
    let a = bed.worker(&[]).await;
    let b = bed.worker(&[]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The prefix was new, so one worker built the schedule at start.
    let initial = a.stats.rebuilds.load(Ordering::SeqCst) + b.stats.rebuilds.load(Ordering::SeqCst);
    assert_eq!(initial, 1);
    bed.flush_redis().await;
    let flushed_at = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rebuilds =
        a.stats.rebuilds.load(Ordering::SeqCst) + b.stats.rebuilds.load(Ordering::SeqCst);
    a.stop().await;
    b.stop().await;
    assert_eq!(
        rebuilds - initial,
        1,
        "exactly one worker rebuilds the schedule"
    );
    let slots = bed.slots().await;
    for (id, path) in &monitors {
        let stored = &slots[id];
        let after = stored.iter().filter(|s| **s > flushed_at).count();
        assert!(
            after >= 2,
            "monitor {id} was missed after the flush ({after} results)"
        );
        assert_eq!(
            bed.hits.path(path),
            stored.len(),
            "monitor {id} checked twice for a slot"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_now_while_in_flight_runs_exactly_once_more() {
    let bed = Bed::new().await;
    let path = "/slow/800/check-now";
    let id = bed
        .http_monitor(
            path,
            MonitorOptions {
                interval: 300,
                timeout: 5,
                due_now: true,
                ..MonitorOptions::default()
            },
        )
        .await;
    let worker = bed.worker(&[]).await;
    bed.until(
        Duration::from_secs(5),
        "the first check to start",
        || async { bed.hits.path(path) == 1 },
    )
    .await;
    // Three requests while the first check runs: one more check, not three.
    let mut slots = Vec::new();
    for _ in 0..3 {
        match bed.schedule.check_now(&bed.redis, id).await.unwrap() {
            CheckNow::AfterInFlight { slot_ms } => slots.push(slot_ms),
            other => panic!("expected the check to be in flight, got {other:?}"),
        }
    }
    assert!(
        slots.windows(2).all(|w| w[0] == w[1]),
        "one pending slot: {slots:?}"
    );
    bed.until(Duration::from_secs(5), "two results", || async {
        bed.result_count(id).await == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(bed.hits.path(path), 2);
    assert_eq!(bed.result_count(id).await, 2);
    // Idle again: check-now makes it due at once and wakes the worker.
    let CheckNow::Due { .. } = bed.schedule.check_now(&bed.redis, id).await.unwrap() else {
        panic!("expected the monitor to be idle");
    };
    bed.until(Duration::from_secs(3), "a third result", || async {
        bed.result_count(id).await == 3
    })
    .await;
    worker.stop().await;
    // After the check-now runs the monitor is back on its grid slot.
    let next = bed
        .schedule
        .due_slot(&bed.redis, id)
        .await
        .unwrap()
        .unwrap();
    let phase = shared::schedule::phase_ms(id, 300_000);
    assert_eq!(
        (next - i64::try_from(phase).unwrap()).rem_euclid(300_000),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paused_and_deleted_monitors_stop_being_checked() {
    let bed = Bed::new().await;
    let paused = bed
        .http_monitor("/ok/paused", MonitorOptions::default())
        .await;
    let deleted = bed
        .http_monitor("/ok/deleted", MonitorOptions::default())
        .await;
    let kept = bed
        .http_monitor("/ok/kept", MonitorOptions::default())
        .await;
    let worker = bed.worker(&[]).await;
    bed.until(Duration::from_secs(5), "first checks", || async {
        bed.result_count(paused).await >= 1 && bed.result_count(deleted).await >= 1
    })
    .await;
    // What the API does: change Postgres, then the schedule.
    bed.db
        .execute(
            "UPDATE monitors SET enabled = false, status = 'paused' WHERE id = $1",
            &[&paused],
        )
        .await
        .unwrap();
    bed.schedule.remove(&bed.redis, paused).await.unwrap();
    bed.db
        .execute("DELETE FROM monitors WHERE id = $1", &[&deleted])
        .await
        .unwrap();
    bed.schedule.remove(&bed.redis, deleted).await.unwrap();
    let deleted_at = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let paused_hits = bed.hits.path("/ok/paused");
    let deleted_hits = bed.hits.path("/ok/deleted");
    let kept_before = bed.result_count(kept).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bed.hits.path("/ok/paused"), paused_hits);
    assert_eq!(bed.hits.path("/ok/deleted"), deleted_hits);
    assert!(bed.result_count(kept).await >= kept_before + 2);
    worker.stop().await;
    let status: String = bed
        .db
        .query_one("SELECT status FROM monitors WHERE id = $1", &[&paused])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        status, "paused",
        "a late result must not un-pause a monitor"
    );
    let late: i64 = bed
        .db
        .query_one(
            "SELECT count(*) FROM check_results WHERE monitor_id = $1 AND checked_at > $2",
            &[&deleted, &deleted_at],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(late, 0, "no result is stored for a deleted monitor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconciliation_repairs_differences_with_postgres() {
    let bed = Bed::new().await;
    // In Postgres but never scheduled (a lost API update).
    let id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO monitors (id, name, type, target, method, timeout_seconds, \
                 interval_seconds, failure_threshold, recovery_threshold, enabled) \
             VALUES ($1, 'unscheduled', 'http', $2, 'GET', 1, 1, 3, 1, true)",
            &[&id, &format!("http://{}/ok/unscheduled", bed.target)],
        )
        .await
        .unwrap();
    // Scheduled but no longer in Postgres.
    let ghost = bed
        .http_monitor("/ok/ghost", MonitorOptions::default())
        .await;
    bed.db
        .execute("DELETE FROM monitors WHERE id = $1", &[&ghost])
        .await
        .unwrap();
    // Mark the schedule complete, so the repair comes from reconciliation
    // and not from a rebuild.
    bed.schedule.rebuild(&bed.redis, &[]).await.unwrap();
    let worker = bed.worker(&[]).await;
    bed.until(
        Duration::from_secs(6),
        "the unscheduled monitor to be checked",
        || async { bed.result_count(id).await >= 1 },
    )
    .await;
    worker.stop().await;
    assert_eq!(
        bed.schedule.due_slot(&bed.redis, ghost).await.unwrap(),
        None
    );
}
