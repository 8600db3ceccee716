//! Delivering the outbox to local receivers: signatures, retries, 410,
//! Retry-After, leases of dead workers, throttle, reminders, chat formats,
//! and receivers that hang or misbehave while checks go on.

use std::time::Duration;

use base64::Engine;
use hmac::Mac;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{Bed, MonitorOptions};
use crate::support::{receiver, Received, Reply};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LEGACY: &str = "sibling-shared-secret";

/// Verifies a request the way a Standard Webhooks library does, written
/// here independently of the product's signing code.
fn assert_signed(request: &Received) {
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    assert!(
        !id.is_empty() && !timestamp.is_empty(),
        "missing webhook-id/timestamp"
    );
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!(
        (0..300).contains(&age),
        "timestamp {timestamp} is not current"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert!(
        request
            .header("webhook-signature")
            .split(' ')
            .any(|s| s == expected),
        "bad webhook-signature"
    );
    let mut legacy = hmac::Hmac::<sha2::Sha256>::new_from_slice(LEGACY.as_bytes()).unwrap();
    legacy.update(&request.body);
    assert_eq!(
        request.header("x-uptime-signature"),
        format!("sha256={}", hex::encode(legacy.finalize().into_bytes()))
    );
}

async fn channel(bed: &Bed, kind: &str, config: Value, extra: &str) -> Uuid {
    let id = Uuid::now_v7();
    bed.db
        .execute(
            &format!(
                "INSERT INTO notification_channels (id, name, type, config, signing_secret{}) \
                 VALUES ($1, 'receiver', $2, $3, $4{})",
                if extra.is_empty() {
                    ""
                } else {
                    ", reminder_interval_seconds"
                },
                if extra.is_empty() {
                    "".to_owned()
                } else {
                    format!(", {extra}")
                },
            ),
            &[&id, &kind, &config, &SECRET],
        )
        .await
        .unwrap();
    id
}

fn payload(event: Uuid, kind: &str) -> Value {
    json!({
        "type": kind,
        "id": event,
        "timestamp": chrono::Utc::now(),
        "monitor": {"id": Uuid::now_v7(), "name": "Checkout API", "type": "http", "target": "https://shop.example.com"},
        "incident": {"id": Uuid::now_v7(), "durationSeconds": 0, "lastError": "HTTP 503 Service Unavailable, expected 2xx"},
        "check": {"status": "down", "error": "HTTP 503 Service Unavailable, expected 2xx", "timings": {"totalMs": 12.0}},
    })
}

async fn event(bed: &Bed, channel: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    bed.db
        .execute(
            "INSERT INTO notification_events (id, channel_id, event_type, payload) \
             VALUES ($1, $2, 'incident.opened', $3)",
            &[&id, &channel, &payload(id, "incident.opened")],
        )
        .await
        .unwrap();
    id
}

async fn event_state(bed: &Bed, id: Uuid) -> (String, i32) {
    let row = bed
        .db
        .query_one(
            "SELECT status, attempts FROM notification_events WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn attempts(bed: &Bed, id: Uuid) -> Vec<(i32, String, Option<i32>)> {
    bed.db
        .query(
            "SELECT attempt, outcome, status_code FROM notification_attempts WHERE event_id = $1 \
             ORDER BY attempt",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

const NOTIFY: &[(&str, &str)] = &[
    ("WEBHOOK_RETRY_BASE_SECONDS", "1"),
    ("WEBHOOK_MAX_RETRIES", "3"),
    ("WEBHOOK_TIMEOUT_SECONDS", "2"),
    ("WEBHOOK_SIGNING_SECRET", LEGACY),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_failing_twice_gets_one_signed_delivery_after_three_attempts() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    rx.then(Reply::Status(500)).then(Reply::Close);
    let hook = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr}/hook")}),
        "",
    )
    .await;
    let id = event(&bed, hook).await;
    let worker = bed.worker(NOTIFY).await;
    bed.until(Duration::from_secs(15), "the delivery", || async {
        event_state(&bed, id).await.0 == "delivered"
    })
    .await;
    worker.stop().await;
    assert_eq!(event_state(&bed, id).await, ("delivered".to_owned(), 3));
    let outcomes: Vec<String> = attempts(&bed, id).await.into_iter().map(|a| a.1).collect();
    assert_eq!(outcomes, ["retry", "retry", "delivered"]);
    let requests = rx.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_signed(request);
        assert_eq!(
            request.header("webhook-id"),
            id.to_string(),
            "same id on every attempt"
        );
        assert_eq!(request.json()["type"], "incident.opened");
    }
    // Backoff: about 1 s, then about 4 s (±20 %).
    let first = requests[1].at - requests[0].at;
    let second = requests[2].at - requests[1].at;
    assert!(
        first >= Duration::from_millis(750) && first < Duration::from_millis(2500),
        "{first:?}"
    );
    assert!(
        second >= Duration::from_millis(3000) && second < Duration::from_millis(6000),
        "{second:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gone_disables_the_channel_and_retry_after_is_honoured() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    rx.then(Reply::Status(410));
    let gone = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr}/gone")}),
        "",
    )
    .await;
    let first = event(&bed, gone).await;
    let (addr2, slow) = receiver().await;
    slow.then(Reply::WithHeader(429, "retry-after", "3".to_owned()));
    let limited = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr2}/limited")}),
        "",
    )
    .await;
    let limited_event = event(&bed, limited).await;
    let worker = bed.worker(NOTIFY).await;
    bed.until(Duration::from_secs(10), "the 410 to be handled", || async {
        event_state(&bed, first).await.0 == "failed"
    })
    .await;
    let row = bed
        .db
        .query_one(
            "SELECT enabled, disabled_reason FROM notification_channels WHERE id = $1",
            &[&gone],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0));
    assert!(row
        .get::<_, Option<String>>(1)
        .unwrap()
        .contains("410 Gone"));
    // A disabled channel gets nothing more.
    let second = event(&bed, gone).await;
    bed.until(Duration::from_secs(10), "the limited delivery", || async {
        event_state(&bed, limited_event).await.0 == "delivered"
    })
    .await;
    worker.stop().await;
    assert_eq!(event_state(&bed, second).await, ("pending".to_owned(), 0));
    assert_eq!(rx.count(), 1);
    let waits = slow.requests();
    assert_eq!(waits.len(), 2);
    let gap = waits[1].at - waits[0].at;
    assert!(
        gap >= Duration::from_millis(2900),
        "Retry-After: 3 was not honoured ({gap:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spent_retries_fail_the_event_and_bad_receivers_never_stall_checks() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    rx.then(Reply::Hang)
        .then(Reply::Huge)
        .then(Reply::Status(503));
    let hook = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr}/bad")}),
        "",
    )
    .await;
    let id = event(&bed, hook).await;
    let monitor = bed
        .http_monitor("/ok/meanwhile", MonitorOptions::default())
        .await;
    let mut config = NOTIFY.to_vec();
    config.retain(|(k, _)| *k != "WEBHOOK_MAX_RETRIES");
    config.push(("WEBHOOK_MAX_RETRIES", "2"));
    let worker = bed.worker(&config).await;
    bed.until(Duration::from_secs(20), "the event to fail", || async {
        event_state(&bed, id).await.0 == "failed"
    })
    .await;
    let checks = bed.result_count(monitor).await;
    worker.stop().await;
    let tries = attempts(&bed, id).await;
    assert_eq!(tries.len(), 3, "one attempt and two retries: {tries:?}");
    // The hang timed out; the huge body was read only in part (and 200 is delivered).
    let errors: Vec<Option<String>> = bed
        .db
        .query(
            "SELECT error FROM notification_attempts WHERE event_id = $1 ORDER BY attempt",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(errors[0].as_deref(), Some("timeout after 2 s"));
    let _ = rx;
    assert!(
        checks >= 5,
        "checks went on while deliveries failed ({checks})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_claimed_by_a_dead_worker_is_delivered_once_after_its_lease() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    let hook = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr}/hook")}),
        "",
    )
    .await;
    let id = event(&bed, hook).await;
    // A worker claimed it and died before sending.
    bed.db
        .execute(
            "UPDATE notification_events SET locked_by = 'dead-worker', \
                 locked_until = now() + interval '2 seconds' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let worker = bed.worker(NOTIFY).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        rx.count(),
        0,
        "delivered while another worker held the lease"
    );
    bed.until(Duration::from_secs(10), "the delivery", || async {
        event_state(&bed, id).await.0 == "delivered"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    worker.stop().await;
    assert_eq!(rx.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flapping_monitor_is_throttled_and_long_incidents_get_reminders() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    let hook = channel(
        &bed,
        "webhook",
        json!({"url": format!("http://{addr}/hook")}),
        "60",
    )
    .await;
    let monitor = bed
        .http_monitor(
            "/flaky/throttle",
            MonitorOptions {
                failure_threshold: 1,
                ..MonitorOptions::default()
            },
        )
        .await;
    bed.db
        .execute(
            "INSERT INTO monitor_channels (monitor_id, channel_id) VALUES ($1, $2)",
            &[&monitor, &hook],
        )
        .await
        .unwrap();
    let worker = bed.worker(NOTIFY).await;
    // Flap: down, up, down within the 300 s throttle window.
    for failing in [true, false, true] {
        bed.hits.set_failing(failing);
        let want = if failing { "down" } else { "up" };
        bed.until(Duration::from_secs(6), want, || async {
            let status: String = bed
                .db
                .query_one("SELECT status FROM monitors WHERE id = $1", &[&monitor])
                .await
                .unwrap()
                .get(0);
            status == want
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rows = bed
        .db
        .query(
            "SELECT event_type, status FROM notification_events WHERE channel_id = $1 \
             ORDER BY created_at",
            &[&hook],
        )
        .await
        .unwrap();
    let events: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        events,
        [
            ("incident.opened".to_owned(), "delivered".to_owned()),
            ("incident.resolved".to_owned(), "delivered".to_owned()),
            ("incident.opened".to_owned(), "suppressed".to_owned()),
        ]
    );
    // An incident open for longer than the reminder interval gets one reminder.
    bed.db
        .execute(
            "UPDATE incidents SET started_at = now() - interval '2 minutes' \
             WHERE monitor_id = $1 AND resolved_at IS NULL",
            &[&monitor],
        )
        .await
        .unwrap();
    bed.db
        .execute(
            "UPDATE notification_events SET created_at = now() - interval '2 minutes' \
             WHERE channel_id = $1",
            &[&hook],
        )
        .await
        .unwrap();
    bed.until(Duration::from_secs(15), "a reminder", || async {
        rx.requests()
            .iter()
            .any(|r| r.json()["type"] == "incident.reminder")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    worker.stop().await;
    let reminders = rx
        .requests()
        .iter()
        .filter(|r| r.json()["type"] == "incident.reminder")
        .count();
    assert_eq!(reminders, 1, "one reminder per interval");
    let reminder = rx
        .requests()
        .into_iter()
        .find(|r| r.json()["type"] == "incident.reminder")
        .unwrap();
    assert_signed(&reminder);
    assert!(
        reminder.json()["incident"]["durationSeconds"]
            .as_f64()
            .unwrap()
            >= 119.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_channels_receive_their_native_formats() {
    let bed = Bed::new().await;
    let (addr, rx) = receiver().await;
    let base = format!("http://{addr}");
    let token = "123456789:AAEhBP0av28Qr6P5Xx-1234567890abcdefg";
    let slack = channel(&bed, "slack", json!({"url": format!("{base}/slack")}), "").await;
    let discord = channel(
        &bed,
        "discord",
        json!({"url": format!("{base}/discord")}),
        "",
    )
    .await;
    let teams = channel(&bed, "teams", json!({"url": format!("{base}/teams")}), "").await;
    let telegram = channel(
        &bed,
        "telegram",
        json!({"botToken": token, "chatId": "-1001234"}),
        "",
    )
    .await;
    for ch in [slack, discord, teams, telegram] {
        event(&bed, ch).await;
    }
    let mut config = NOTIFY.to_vec();
    config.push(("TELEGRAM_API_URL", base.as_str()));
    let worker = bed.worker(&config).await;
    bed.until(Duration::from_secs(10), "four deliveries", || async {
        rx.count() == 4
    })
    .await;
    worker.stop().await;
    let by_path = |path: &str| {
        rx.requests()
            .into_iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing at {path}"))
            .json()
    };
    let slack = by_path("/slack");
    assert_eq!(slack["attachments"][0]["color"], "#D93025");
    assert_eq!(slack["attachments"][0]["blocks"][0]["type"], "header");
    let discord = by_path("/discord");
    assert_eq!(discord["embeds"][0]["color"], 0xD9_3025);
    assert_eq!(discord["embeds"][0]["fields"][0]["value"], "Checkout API");
    let teams = by_path("/teams");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
    let telegram = by_path(&format!("/bot{token}/sendMessage"));
    assert_eq!(telegram["chat_id"], -1_001_234);
    assert!(telegram["text"]
        .as_str()
        .unwrap()
        .contains("Checkout API is down"));
    // Chat messages are not webhooks: no signature headers.
    assert!(rx
        .requests()
        .iter()
        .all(|r| r.header("webhook-signature").is_empty()));
}
