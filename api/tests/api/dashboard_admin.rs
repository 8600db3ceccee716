//! The dashboard's notification channels, API keys and audit log in a real
//! browser (tests/browser/scenarios/dashboard-admin.mjs): an admin creates a
//! webhook channel pointing at a receiver of the test's own, sends it a test
//! and reads the delivery log, creates and revokes a key, and reads these
//! changes in the audit log; a write key edits the channel without seeing
//! its URL, which stays; a read key sees no edit control.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::scenario;
use crate::helpers::{spawn_app_with, ADMIN_KEY};

/// What a receiver got: each request's head and body, as text.
type Received = Arc<Mutex<Vec<String>>>;

/// An HTTP receiver on loopback that answers `200 ok` to every request and
/// records it; its URL.
async fn receiver() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    if complete(&request) {
                        break;
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).into_owned());
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (format!("http://{address}/uptime-hook"), received)
}

/// Whether `request` holds its whole head and the body its Content-Length announces.
fn complete(request: &[u8]) -> bool {
    let text = String::from_utf8_lossy(request);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_runs_channels_keys_and_the_audit_log_from_the_dashboard_and_a_read_key_only_reads(
) {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let read_key = app.create_key(&["read"]).await;
    let write_key = app.create_key(&["read", "write"]).await;
    let (hook, received) = receiver().await;
    let artifacts = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/browser-artifacts");
    let output = scenario(
        "dashboard-admin",
        &[
            &app.address,
            ADMIN_KEY,
            &write_key,
            &read_key,
            &hook,
            artifacts,
        ],
    )
    .await;
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }

    // The receiver got the test, signed, from the "Send test" button.
    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = requests[0].to_ascii_lowercase();
    assert!(request.starts_with("post /uptime-hook "), "{request}");
    assert!(request.contains("webhook-signature: v1,"), "{request}");
    assert!(request.contains("\"type\":\"test\""), "{request}");

    // What the browser did is what the database holds.
    let channel = app
        .db
        .query_one(
            "SELECT name, events, config->>'url', throttle_seconds FROM notification_channels",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(channel.get::<_, String>(0), "Ops webhook (EU)");
    // The write key saw the URL masked and sent the mask back: the URL stayed.
    assert_eq!(channel.get::<_, String>(2), hook);
    assert_eq!(channel.get::<_, i32>(3), 600);
    let events: Vec<String> = channel.get(1);
    assert!(
        events.contains(&"monitor.degraded".to_owned()),
        "{events:?}"
    );
    let revoked = app
        .db
        .query_one(
            "SELECT revoked_at IS NOT NULL FROM api_keys WHERE name = 'CI deploy'",
            &[],
        )
        .await
        .unwrap();
    assert!(revoked.get::<_, bool>(0));
    let redelivered = app
        .db
        .query_one(
            "SELECT status FROM notification_events WHERE event_type = 'test'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(redelivered.get::<_, String>(0), "pending");

    for view in ["channels", "channels-detail", "keys", "audit"] {
        for variant in ["phone", "dark-phone", "dark"] {
            let path = format!("{artifacts}/dashboard-{view}-{variant}.png");
            assert!(std::path::Path::new(&path).exists(), "{path}");
        }
    }
}
