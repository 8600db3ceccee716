//! The notification sender against local receivers: the target policy on
//! resolved addresses, and what an attempt records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use shared::config::Config;
use shared::model::channel::ChannelTarget;
use shared::model::ChannelType;
use shared::notify::send::{Delivery, Outcome, Sender};
use support::{receiver, Reply};
use uuid::Uuid;

fn sender(allow_private: bool) -> Sender {
    let config = Config::from_pairs([
        (
            "ALLOW_PRIVATE_TARGETS",
            if allow_private { "true" } else { "false" },
        ),
        ("WEBHOOK_TIMEOUT_SECONDS", "2"),
    ])
    .unwrap();
    Sender::new(&config).unwrap()
}

fn target(url: String) -> ChannelTarget {
    ChannelTarget {
        url: Some(url),
        bot_token: None,
        chat_id: None,
    }
}

#[tokio::test]
async fn private_receivers_are_refused_on_the_resolved_address() {
    let (addr, rx) = receiver().await;
    let payload = json!({"type": "test"});
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
    ] {
        let target = target(url.clone());
        let attempt = sender(false)
            .send(Delivery {
                event_id: Uuid::now_v7(),
                kind: ChannelType::Webhook,
                target: &target,
                signing_secret: None,
                payload: &payload,
            })
            .await;
        assert_eq!(attempt.outcome, Outcome::Permanent, "{url}: {attempt:?}");
        assert!(
            attempt.error.unwrap().contains("private or reserved"),
            "{url}"
        );
    }
    assert_eq!(rx.count(), 0, "nothing reached the private receiver");
}

#[tokio::test]
async fn attempts_record_code_latency_and_a_bounded_snippet() {
    let (addr, rx) = receiver().await;
    rx.then(Reply::Huge).then(Reply::Status(301));
    let payload = json!({"type": "test"});
    let target = target(format!("http://{addr}/hook"));
    let send = || async {
        sender(true)
            .send(Delivery {
                event_id: Uuid::now_v7(),
                kind: ChannelType::Webhook,
                target: &target,
                signing_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                payload: &payload,
            })
            .await
    };
    let huge = send().await;
    assert_eq!(huge.outcome, Outcome::Retry);
    assert_eq!(huge.status_code, Some(500));
    assert_eq!(huge.response_snippet.unwrap().len(), 1024);
    // Redirects are not followed and count as failures.
    let moved = send().await;
    assert_eq!(moved.outcome, Outcome::Retry);
    assert_eq!(moved.error.as_deref(), Some("the receiver answered 301"));
    let ok = send().await;
    assert_eq!(ok.outcome, Outcome::Delivered);
    assert!(ok.latency.as_nanos() > 0);
    assert_eq!(rx.count(), 3);
}
