//! A third-party Statuspage client reads our pages unchanged: statuscheck
//! 3.11.0 from PyPI (tests/clients/, installed by scripts/test-deps.sh)
//! against a real API, through its own HTTP stack. docs/statuspage-clients.md
//! records the other clients tried by hand.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn create(app: &TestApp, path: &str, body: Value) -> String {
    let response = app.post(path, &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "POST {path}: {json}");
    json["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn statuscheck_reads_our_statuspage_json_unchanged() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let python = format!("{root}/tests/clients/.venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "Statuspage client missing: run scripts/test-deps.sh (make test does)"
    );
    let app = spawn_app().await;
    let api = create(&app, "/api/v1/components", json!({"name": "Public API"})).await;
    let backend = create(
        &app,
        "/api/v1/components",
        json!({"name": "Backend", "group": true}),
    )
    .await;
    create(
        &app,
        "/api/v1/components",
        json!({"name": "Jobs", "groupId": backend, "position": 1}),
    )
    .await;
    let database = create(
        &app,
        "/api/v1/components",
        json!({"name": "Database", "groupId": backend, "position": 2}),
    )
    .await;
    let website = create(&app, "/api/v1/components", json!({"name": "Website"})).await;
    let cdn = create(&app, "/api/v1/components", json!({"name": "CDN"})).await;
    create(
        &app,
        "/api/v1/status-pages",
        json!({"slug": "acme", "title": "Acme", "published": true,
               "sections": [{"name": "Services", "componentIds": [api, backend]},
                            {"name": "Edge", "componentIds": [website, cdn]}]}),
    )
    .await;
    let incident = create(
        &app,
        "/api/v1/status-incidents",
        json!({"name": "Checkout errors", "impact": "critical",
               "body": "Some checkouts fail.", "componentIds": [api],
               "componentStatuses": {api.clone(): "partial_outage"}}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/status-incidents/{incident}/updates"),
        json!({"status": "identified", "body": "A bad deploy; rolling back."}),
    )
    .await;
    let response = app
        .post(
            &format!("/api/v1/components/{database}/status"),
            &json!({"status": "under_maintenance", "message": "Upgrading"}),
        )
        .await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    let now = Utc::now();
    for (title, component, starts, hours) in [
        (
            "Database upgrade",
            &database,
            now - chrono::Duration::minutes(10),
            1,
        ),
        (
            "CDN certificate rotation",
            &cdn,
            now + chrono::Duration::days(2),
            1,
        ),
    ] {
        create(
            &app,
            "/api/v1/maintenance-windows",
            json!({"title": title, "componentIds": [component],
                   "startsAt": starts.to_rfc3339(),
                   "endsAt": (starts + chrono::Duration::hours(hours)).to_rfc3339()}),
        )
        .await;
    }
    // The snapshot shows it all within seconds.
    let started = Instant::now();
    loop {
        let summary: Value = app
            .anonymous(Method::GET, "/status/acme/api/v2/summary.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        let settled = summary["incidents"][0]["status"] == "identified"
            && summary["scheduled_maintenances"]
                .as_array()
                .is_some_and(|m| m.len() == 2)
            && summary["components"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["status"] == "under_maintenance"));
        if settled {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the page never settled: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let url = format!("{}/status/acme", app.address);
    let script = format!("{root}/tests/clients/statuscheck_check.py");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        output.status.success(),
        "statuscheck could not read the page:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("read the page as shown"));
}
