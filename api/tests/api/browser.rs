//! The /workers page in a real browser: Debian's Chromium driven by
//! playwright-core (tests/browser/workers.mjs) against this API and a worker,
//! including that the page's CSP stops an injected inline script.

use std::time::Duration;

use serde_json::json;

use crate::checks::{start_worker, target};
use crate::helpers::{spawn_app_with, ADMIN_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workers_page_shows_the_fleet_live_and_runs_no_injected_script_in_a_real_browser() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let script = format!("{root}/tests/browser/workers.mjs");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser test setup missing: run scripts/test-deps.sh (make test does)"
    );
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let url = target(Duration::ZERO).await;
    for name in ["Checkout API", "Search", "Login"] {
        app.create_monitor(json!({
            "name": name, "type": "http", "target": url,
            "intervalSeconds": 1, "timeoutSeconds": 1,
        }))
        .await;
    }
    let stop = start_worker(&app);
    let artifacts = format!("{root}/target/browser-artifacts");
    let address = app.address.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .arg(&address)
            .arg(ADMIN_KEY)
            .arg(&artifacts)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let artifacts = format!("{root}/target/browser-artifacts");
    let _ = stop.send(());
    assert!(
        output.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for screenshot in ["workers-desktop.png", "workers-phone.png"] {
        assert!(std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists());
    }
}
