//! Pages in a real browser: Debian's Chromium driven by playwright-core
//! against this API. The dashboard's workers view, reached at /workers
//! (tests/browser/scenarios/workers.mjs), with a worker, including that the
//! dashboard's CSP stops an injected inline script;
//! the public status page (tests/browser/status.mjs) at desktop and phone
//! widths and in dark mode.

use std::time::Duration;

use serde_json::{json, Value};

use crate::checks::{start_worker, target};
use crate::helpers::{spawn_app_with, ADMIN_KEY};

/// The test binary's one browser: tests/browser/runner.mjs, started on
/// first use and ended when the binary exits (its stdin closes). Scenarios
/// (tests/browser/scenarios/*.mjs) run one at a time.
struct Runner {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    next_id: u64,
}

static RUNNER: std::sync::Mutex<Option<Runner>> = std::sync::Mutex::new(None);

fn browser_root() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser test setup missing: run scripts/test-deps.sh (make test does)"
    );
    root.to_owned()
}

impl Runner {
    fn start() -> Runner {
        use std::process::{Command, Stdio};
        let root = browser_root();
        let mut child = Command::new("node")
            .arg(format!("{root}/tests/browser/runner.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs tests/browser/runner.mjs");
        let stdin = child.stdin.take().expect("runner stdin");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("runner stdout"));
        Runner {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }
}

/// Runs the browser scenario `name` (tests/browser/scenarios/{name}.mjs)
/// with `args` in the binary's one browser; what it returned, or why it
/// failed.
pub async fn scenario(name: &str, args: &[&str]) -> Result<String, String> {
    use std::io::{BufRead, Write};
    let request = (
        name.to_owned(),
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        let mut guard = RUNNER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let alive = guard
            .as_mut()
            .is_some_and(|r| matches!(r.child.try_wait(), Ok(None)));
        if !alive {
            *guard = Some(Runner::start());
        }
        let runner = guard.as_mut().expect("runner started");
        let id = runner.next_id;
        runner.next_id += 1;
        let line = json!({"id": id, "scenario": request.0, "args": request.1}).to_string();
        if writeln!(runner.stdin, "{line}")
            .and_then(|()| runner.stdin.flush())
            .is_err()
        {
            *guard = None;
            return Err("the browser runner stopped".to_owned());
        }
        let mut answer = String::new();
        if runner.stdout.read_line(&mut answer).unwrap_or(0) == 0 {
            *guard = None;
            return Err("the browser runner stopped without answering".to_owned());
        }
        let answer: Value = serde_json::from_str(&answer)
            .map_err(|e| format!("the browser runner answered {answer:?}: {e}"))?;
        if answer["ok"] == true {
            Ok(answer["output"].as_str().unwrap_or_default().to_owned())
        } else {
            Err(answer["error"].as_str().unwrap_or("failed").to_owned())
        }
    })
    .await
    .expect("the scenario thread ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workers_view_shows_the_fleet_live_and_runs_no_injected_script_in_a_real_browser() {
    let root = browser_root();
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
    let output = scenario("workers", &[&app.address, ADMIN_KEY, &artifacts]).await;
    let _ = stop.send(());
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }
    for screenshot in [
        "dashboard-workers-desktop.png",
        "dashboard-workers-phone.png",
        "dashboard-workers-dark-phone.png",
    ] {
        assert!(std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists());
    }
}

/// Creates a component and returns its id.
async fn component(app: &crate::helpers::TestApp, body: Value) -> String {
    let response = app.post("/api/v1/components", &body).await;
    assert_eq!(response.status(), 201);
    let json: Value = response.json().await.unwrap();
    json["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_status_page_reads_well_on_a_laptop_a_phone_and_in_dark_mode_in_a_real_browser() {
    let root = browser_root();
    // The page's logo comes from a server of its own on loopback (hence
    // ALLOW_PRIVATE_TARGETS), and reaches readers from the page's origin.
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let logo_url = serve_logo().await;
    let api = component(
        &app,
        json!({"name": "API", "description": "Public REST API"}),
    )
    .await;
    let group = component(&app, json!({"name": "Dashboard", "group": true})).await;
    component(&app, json!({"name": "Web app", "groupId": group})).await;
    component(&app, json!({"name": "Reports", "groupId": group})).await;
    let database = component(&app, json!({"name": "Database"})).await;
    let cdn = component(&app, json!({"name": "CDN"})).await;
    // History to show: components that existed for 60 days, with a few
    // outages in the past (the first 30 bars read "no data").
    app.db
        .execute(
            "UPDATE components SET created_at = now() - interval '60 days'",
            &[],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO component_status_changes (component_id, old_status, new_status, source, at) \
             SELECT id, 'operational', 'operational', 'automatic', created_at FROM components",
            &[],
        )
        .await
        .unwrap();
    let api_id: uuid::Uuid = api.parse().unwrap();
    let database_id: uuid::Uuid = database.parse().unwrap();
    for (id, days_ago, status, hours) in [
        (api_id, 41, "partial_outage", 3),
        (api_id, 12, "major_outage", 1),
        (database_id, 25, "degraded_performance", 8),
        (database_id, 6, "major_outage", 5),
    ] {
        app.db
            .execute(
                "INSERT INTO component_status_changes (component_id, old_status, new_status, source, at) \
                 VALUES ($1, 'operational', $2, 'automatic', now() - make_interval(days => $3)), \
                        ($1, $2, 'operational', 'automatic', \
                         now() - make_interval(days => $3) + make_interval(hours => $4))",
                &[&id, &status, &days_ago, &hours],
            )
            .await
            .unwrap();
    }
    let response = app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": "acme", "title": "Acme Cloud", "uptimeDays": 90, "historyDays": 14,
                    "description": "Current status of Acme Cloud's services.",
                    "homepageUrl": "https://acme.example.com", "logoUrl": logo_url,
                    "footerText": "Questions? Write to support@acme.example.com.",
                    "sections": [{"name": "Applications", "componentIds": [api, group]},
                                 {"name": "Infrastructure", "componentIds": [database, cdn]}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let page: Value = response.json().await.unwrap();
    let path = format!("/api/v1/status-pages/{}", page["id"].as_str().unwrap());
    assert_eq!(
        app.patch(&path, &json!({"published": true})).await.status(),
        200
    );
    // A resolved incident for the history, an active one with a timeline,
    // and maintenance.
    let response = app
        .post(
            "/api/v1/status-incidents",
            &json!({"name": "Delayed report e-mails", "impact": "minor",
                    "body": "Report e-mails are delayed by up to 20 minutes.", "componentIds": [api]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let resolved: Value = response.json().await.unwrap();
    let response = app
        .post(
            &format!(
                "/api/v1/status-incidents/{}/updates",
                resolved["id"].as_str().unwrap()
            ),
            &json!({"status": "resolved", "body": "E-mails are on time again."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let incident = "Database failover in progress";
    let response = app
        .post(
            "/api/v1/status-incidents",
            &json!({"name": incident, "body": "Some requests fail while the primary database is unreachable.",
                    "componentIds": [database, api],
                    "componentStatuses": {database.clone(): "partial_outage"}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let active: Value = response.json().await.unwrap();
    let response = app
        .post(
            &format!("/api/v1/status-incidents/{}/updates", active["id"].as_str().unwrap()),
            &json!({"status": "identified",
                    "body": "We are failing over to the standby database.\nWrites may fail for a few minutes."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let soon = chrono::Utc::now() + chrono::Duration::days(3);
    let response = app
        .post(
            "/api/v1/maintenance-windows",
            &json!({"title": "CDN certificate rotation", "componentIds": [cdn],
                    "description": "Brief reconnects are expected.",
                    "startsAt": soon.to_rfc3339(),
                    "endsAt": (soon + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(response.status(), 201);
    // A second page over the same components that shows monitor details:
    // a long target and a long error must wrap at 375 px.
    let probe = app
        .create_monitor(json!({"name": "API health probe", "type": "http",
            "target": "https://api.acme.example.com/v1/health/deep-check-with-a-long-path?region=eu-central-1"}))
        .await;
    let probe_id: uuid::Uuid = probe["id"].as_str().unwrap().parse().unwrap();
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms, error) \
             VALUES ($1, now() - interval '30 seconds', now() - interval '30 seconds', 'down', 10000, \
                     'request to https://api.acme.example.com/v1/health/deep-check-with-a-long-path timed out after 10 s')",
            &[&probe_id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "UPDATE monitors SET status = 'down', last_checked_at = now() - interval '30 seconds' WHERE id = $1",
            &[&probe_id],
        )
        .await
        .unwrap();
    let edge = component(
        &app,
        json!({"name": "API (edge)", "monitorIds": [probe["id"]]}),
    )
    .await;
    let response = app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": "acme-ops", "title": "Acme Cloud (operations)", "showMonitorDetails": true,
                    "published": true,
                    "sections": [{"name": "Applications", "componentIds": [edge, api, group]}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    // Wait for the snapshot to show the timeline.
    let url = format!("{}/status/acme", app.address);
    let details_url = format!("{}/status/acme-ops", app.address);
    let started = std::time::Instant::now();
    loop {
        let body = app
            .anonymous(reqwest::Method::GET, "/status/acme")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let details = app
            .anonymous(reqwest::Method::GET, "/status/acme-ops")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains("failing over")
            && body.contains("CDN certificate rotation")
            && body.contains("class=\"brand-logo\"")
            && details.contains("API health probe")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "page never settled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let artifacts = format!("{root}/target/browser-artifacts");
    let output = scenario(
        "status",
        &[&url, "Partial outage", incident, &artifacts, &details_url],
    )
    .await;
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }
    for screenshot in [
        "status-desktop.png",
        "status-phone.png",
        "status-dark.png",
        "status-details-phone.png",
    ] {
        assert!(std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists());
    }
}

/// Serves an SVG logo on a loopback port; its URL.
async fn serve_logo() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const LOGO: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\" width=\"64\" height=\"64\">\
        <rect width=\"64\" height=\"64\" rx=\"14\" fill=\"#4f46e5\"/>\
        <path d=\"M32 12 50 52H41l-3.6-8.4H26.6L23 52h-9zm0 14.5-3.1 8.6h6.2z\" fill=\"#fff\"/></svg>";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    LOGO.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(LOGO.as_bytes()).await;
            });
        }
    });
    format!("http://{address}/acme-logo.svg")
}
