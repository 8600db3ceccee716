//! Channel policy, the test endpoint, deliveries and redelivery.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, invalid_fields, spawn_app_with};
use crate::support::{receiver, Reply};

const PRIVATE_OK: &[(&str, &str)] = &[("ALLOW_PRIVATE_TARGETS", "true")];

#[tokio::test]
async fn channel_policy_is_validated_and_shown() {
    let app = spawn_app_with(&[]).await;
    let response = app
        .post(
            "/api/v1/channels",
            &json!({"name": "ops", "type": "webhook", "url": "https://hooks.example.com/x",
                    "events": ["opened", "degraded"], "reminderIntervalSeconds": 600,
                    "throttleSeconds": 0}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["events"], json!(["opened", "degraded"]));
    assert_eq!(created["reminderIntervalSeconds"], 600);
    assert_eq!(created["throttleSeconds"], 0);
    let id = created["id"].as_str().unwrap();

    // Defaults: opened and resolved, no reminders, 300 s throttle.
    let plain: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "plain", "type": "slack", "url": "https://hooks.slack.com/services/x"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain["events"], json!(["opened", "resolved"]));
    assert!(plain["reminderIntervalSeconds"].is_null());
    assert_eq!(plain["throttleSeconds"], 300);

    let patched: Value = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &json!({"events": ["incident.resolved"], "reminderIntervalSeconds": null}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["events"], json!(["resolved"]));
    assert!(patched["reminderIntervalSeconds"].is_null());

    for (body, field) in [
        (json!({"events": ["nope"]}), "events"),
        (json!({"events": "opened"}), "events"),
        (
            json!({"reminderIntervalSeconds": 10}),
            "reminderIntervalSeconds",
        ),
        (json!({"throttleSeconds": -1}), "throttleSeconds"),
        (json!({"throttleSeconds": 100_000}), "throttleSeconds"),
    ] {
        let mut full =
            json!({"name": "bad", "type": "webhook", "url": "https://hooks.example.com/x"});
        full.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let error = assert_error(
            app.post("/api/v1/channels", &full).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(invalid_fields(&error), [field], "{body}");
    }
}

#[tokio::test]
async fn the_test_endpoint_sends_one_signed_event_and_records_it() {
    let app = spawn_app_with(PRIVATE_OK).await;
    let (addr, rx) = receiver().await;
    let created: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "hook", "type": "webhook", "url": format!("http://{addr}/hook")}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["signingSecret"].as_str().unwrap().to_owned();

    let response = app
        .post(&format!("/api/v1/channels/{id}/test"), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["delivered"], true);
    assert_eq!(outcome["statusCode"], 200);
    let requests = rx.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.json()["type"], "test");
    assert_eq!(
        request.header("webhook-id"),
        outcome["eventId"].as_str().unwrap()
    );
    assert!(shared::notify::sign::verify_standard(
        &secret,
        request.header("webhook-id"),
        request.header("webhook-timestamp").parse().unwrap(),
        &request.body,
        request.header("webhook-signature"),
    ));

    // A failing receiver: the test reports it and does not retry.
    rx.then(Reply::Status(503));
    let outcome: Value = app
        .post(&format!("/api/v1/channels/{id}/test"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["delivered"], false);
    assert_eq!(outcome["statusCode"], 503);
    assert_eq!(outcome["error"], "the receiver answered 503");

    let deliveries = app
        .collect_pages(&format!("/api/v1/channels/{id}/deliveries?limit=1"))
        .await;
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0]["statusCode"], 503);
    assert_eq!(deliveries[0]["eventStatus"], "failed");
    assert_eq!(deliveries[1]["outcome"], "delivered");
    assert_eq!(deliveries[1]["eventType"], "test");
    assert!(deliveries[1]["latencyMs"].as_f64().unwrap() > 0.0);

    let reader = app.create_key(&["read"]).await;
    let response = app
        .request_as(
            &reader,
            reqwest::Method::POST,
            &format!("/api/v1/channels/{id}/test"),
        )
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
    let response = app
        .request_as(
            &reader,
            reqwest::Method::GET,
            &format!("/api/v1/channels/{id}/deliveries"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_error(
        app.get(&format!("/api/v1/channels/{}/deliveries", Uuid::now_v7()))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/v1/channels/{}/test", Uuid::now_v7()),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn redeliver_queues_an_event_again_with_a_fresh_budget() {
    let app = spawn_app_with(&[]).await;
    let created: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "hook", "type": "webhook", "url": "https://hooks.example.com/x"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let channel: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let event = Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO notification_events (id, channel_id, event_type, payload, status, attempts, \
                 last_error) VALUES ($1, $2, 'incident.opened', '{}', 'failed', 4, 'the receiver answered 500')",
            &[&event, &channel],
        )
        .await
        .unwrap();
    let response = app
        .post(
            &format!("/api/v1/notification-events/{event}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["previousStatus"], "failed");
    assert_eq!(body["attempts"], 4);
    let row = app
        .db
        .query_one(
            "SELECT retry_from, next_attempt_at <= now(), last_error FROM notification_events WHERE id = $1",
            &[&event],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 4, "a fresh retry budget");
    assert!(row.get::<_, bool>(1));
    assert!(row.get::<_, Option<String>>(2).is_none());

    // While a worker holds it, redelivery waits.
    app.db
        .execute(
            "UPDATE notification_events SET locked_by = 'w', locked_until = now() + interval '1 minute' \
             WHERE id = $1",
            &[&event],
        )
        .await
        .unwrap();
    assert_error(
        app.post(
            &format!("/api/v1/notification-events/{event}/redeliver"),
            &json!({}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/v1/notification-events/{}/redeliver", Uuid::now_v7()),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let audit = app.audit_rows().await;
    assert!(audit
        .iter()
        .any(|r| r.get::<_, String>("action") == "notification_event.redeliver"));
}

/// A receiver that reads each request head and answers every one with
/// `answer` as it is, byte for byte; it counts the requests.
async fn raw_receiver(
    answer: &'static [u8],
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let mut read = 0;
                // Read the head and a JSON body small enough to fit.
                while let Ok(n) = stream.read(&mut buffer[read..]).await {
                    if n == 0 {
                        return;
                    }
                    read += n;
                    if buffer[..read].windows(2).any(|w| w == b"}}" || w == b"\"}") {
                        break;
                    }
                }
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, count)
}

#[tokio::test]
async fn a_receiver_answering_unstorable_bytes_is_recorded_once() {
    let app = spawn_app_with(PRIVATE_OK).await;
    for (answer, delivered) in [
        (&b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nok\0ok!"[..], true),
        (&b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 7\r\nConnection: close\r\n\r\n\xff\xfe\0\x1b[1m"[..], false),
    ] {
        let (addr, count) = raw_receiver(answer).await;
        let created: Value = app
            .post(
                "/api/v1/channels",
                &json!({"name": "hook", "type": "webhook", "url": format!("http://{addr}/hook")}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let response = app
            .post(&format!("/api/v1/channels/{id}/test"), &json!({}))
            .await;
        assert_eq!(response.status(), 200, "the test endpoint answers, whatever the receiver sent");
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["delivered"], delivered, "{outcome}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
        let snippet = outcome["responseSnippet"].as_str().unwrap();
        assert!(snippet.contains('\u{FFFD}') && !snippet.contains('\0'), "{snippet:?}");
        let deliveries = app
            .collect_pages(&format!("/api/v1/channels/{id}/deliveries"))
            .await;
        assert_eq!(deliveries.len(), 1, "one attempt, recorded once");
        assert_eq!(deliveries[0]["responseSnippet"], snippet);
        let event = Uuid::parse_str(outcome["eventId"].as_str().unwrap()).unwrap();
        let row = app
            .db
            .query_one(
                "SELECT attempts, status FROM notification_events WHERE id = $1",
                &[&event],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 1, "the attempt is counted");
        let status: String = row.get(1);
        assert_eq!(status, if delivered { "delivered" } else { "failed" });
    }
}
