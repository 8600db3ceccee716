//! The dashboard's create / edit monitor form in a real browser
//! (tests/browser/scenarios/dashboard-monitor-form.mjs): a 422 message by
//! its field, a test run with timings, save, edit, fields that follow the
//! type, keyboard-only creation, a phone, dark mode, and a read-only key.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::scenario;
use crate::checks::{start_worker, target};
use crate::helpers::{spawn_app_with, ADMIN_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_creates_tests_and_edits_a_monitor_in_the_dashboard_form() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let url = target(Duration::ZERO).await;
    let response = app
        .post(
            "/api/v1/channels",
            &json!({"name": "Ops webhook", "type": "webhook",
                    "url": "https://hooks.example.com/uptime"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let reader = app.create_key(&["read"]).await;
    // A worker, so that the monitor the form creates gets checked.
    let stop = start_worker(&app);
    let artifacts = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/browser-artifacts");
    let output = scenario(
        "dashboard-monitor-form",
        &[&app.address, ADMIN_KEY, &reader, &url, artifacts],
    )
    .await;
    let _ = stop.send(());
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }

    // What the form saved, as the API reads it.
    let monitors = app.collect_pages("/api/v1/monitors").await;
    let named = |name: &str| -> &Value {
        monitors
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no monitor {name} in {monitors:?}"))
    };
    let checkout = named("Checkout API");
    assert_eq!(checkout["type"], "http");
    assert_eq!(checkout["target"], url.as_str());
    assert_eq!(checkout["intervalSeconds"], 30);
    assert_eq!(checkout["tags"], json!(["prod", "shop"]));
    assert_eq!(named("Keyboard check")["target"], url.as_str());
    assert_eq!(monitors.len(), 2, "the tests and the 422s stored nothing");
    for screenshot in [
        "dashboard-form-desktop.png",
        "dashboard-form-phone.png",
        "dashboard-form-dark.png",
        "dashboard-form-error.png",
    ] {
        assert!(std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists());
    }
}
