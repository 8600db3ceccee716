//! Operations files checked against the real thing: promtool on the
//! Prometheus config and alert rules, every metric and label a dashboard or
//! alert names is really exported by a running API and worker, and the
//! Compose file passes `docker compose config` where that tool exists.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::checks::{start_worker_with, target};
use crate::helpers::spawn_app_with;
use crate::support::receiver;

fn root() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/..")
}

#[test]
fn prometheus_config_and_alert_rules_pass_promtool() {
    let promtool = which("promtool").expect("promtool is missing: run scripts/test-deps.sh");
    for args in [
        ["check", "config", "prometheus/prometheus.yml"],
        ["check", "rules", "prometheus/alerts.yml"],
    ] {
        let output = Command::new(&promtool)
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn which(tool: &str) -> Option<String> {
    std::env::var("PATH").ok()?.split(':').find_map(|dir| {
        let path = format!("{dir}/{tool}");
        std::path::Path::new(&path).exists().then_some(path)
    })
}

/// Every PromQL expression of the dashboard and the alert rules.
fn expressions() -> Vec<String> {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/grafana/dashboards/uptime.json", root())).unwrap(),
    )
    .unwrap();
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    let rules = std::fs::read_to_string(format!("{}/prometheus/alerts.yml", root())).unwrap();
    exprs.extend(
        rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("expr:"))
            .map(|e| e.trim().to_owned()),
    );
    assert!(
        exprs.len() >= 15,
        "expected the dashboard and alert expressions"
    );
    exprs
}

/// Metric names (ours, `uptime_*`) with the label keys of their selectors,
/// and the labels of `by (...)` clauses, in one expression.
fn parse(expr: &str) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    let bytes = expr.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut metrics = Vec::new();
    let mut by = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            let token = &expr[start..i];
            if token.starts_with("uptime_") {
                let mut labels = Vec::new();
                if bytes.get(i) == Some(&b'{') {
                    let end = expr[i..].find('}').map_or(bytes.len(), |e| i + e);
                    for pair in expr[i + 1..end].split(',') {
                        if let Some((key, _)) = pair.split_once(['=', '!', '~']) {
                            labels.push(key.trim().to_owned());
                        }
                    }
                }
                metrics.push((token.to_owned(), labels));
            } else if token == "by" || token == "without" {
                let rest = expr[i..].trim_start();
                if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
                    by.extend(inner.0.split(',').map(|l| l.trim().to_owned()));
                }
            }
            continue;
        }
        i += 1;
    }
    (metrics, by)
}

/// Series names with the label keys seen on them, from /metrics text.
fn exported(text: &str) -> HashMap<String, HashSet<String>> {
    let mut map: HashMap<String, HashSet<String>> = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let entry = map.entry(line[..name_end].to_owned()).or_default();
        if line[name_end..].starts_with('{') {
            let end = line.find('}').unwrap_or(line.len());
            for pair in line[name_end + 1..end].split("\",") {
                if let Some((key, _)) = pair.split_once('=') {
                    entry.insert(key.trim().to_owned());
                }
            }
        }
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboards_and_alerts_name_only_metrics_the_processes_export() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let (hook, _rx) = receiver().await;
    let channel: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "hook", "type": "webhook", "url": format!("http://{hook}/hook")}),
        )
        .await
        .json()
        .await
        .unwrap();
    let up = target(Duration::ZERO).await;
    app.create_monitor(json!({"name": "up", "type": "http", "target": up,
                              "intervalSeconds": 1, "timeoutSeconds": 1}))
        .await;
    app.create_monitor(
        json!({"name": "down", "type": "tcp", "target": "127.0.0.1:9",
                              "intervalSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 1,
                              "channelIds": [channel["id"]]}),
    )
    .await;
    // A component, so its status gauge is exported too.
    app.db
        .execute(
            "INSERT INTO components (id, name) VALUES (gen_random_uuid(), 'Website')",
            &[],
        )
        .await
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let stop = start_worker_with(&app, &port);
    // Wait for checks, an incident and a delivered notification.
    let mut delivered = false;
    for _ in 0..100 {
        let row = app
            .db
            .query_one(
                "SELECT count(*) FROM notification_events WHERE status = 'delivered'",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "no notification was delivered");
    tokio::time::sleep(Duration::from_secs(6)).await; // a heartbeat and a housekeeping round
    let api = app.get("/metrics").await.text().await.unwrap();
    let worker = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = stop.send(());
    let mut series = exported(&api);
    for (name, labels) in exported(&worker) {
        series.entry(name).or_default().extend(labels);
    }
    // Labels Prometheus adds at scrape time or histogram buckets carry.
    let implicit: HashSet<&str> = ["instance", "job", "le", ""].into_iter().collect();
    for expr in expressions() {
        let (metrics, by) = parse(&expr);
        assert!(
            !metrics.is_empty() || expr.contains("up{"),
            "no metric in {expr}"
        );
        let mut labels_of_expr = HashSet::new();
        for (name, labels) in &metrics {
            let seen = series
                .get(name)
                .unwrap_or_else(|| panic!("{name} (in `{expr}`) is not exported"));
            for label in labels {
                assert!(
                    seen.contains(label),
                    "{name} has no label {label} (in `{expr}`)"
                );
            }
            labels_of_expr.extend(seen.iter().cloned());
        }
        for label in by {
            assert!(
                implicit.contains(label.as_str()) || labels_of_expr.contains(&label),
                "`by ({label})` in `{expr}` names a label no metric there has"
            );
        }
    }
    // Metric names follow the conventions: counters end in _total,
    // durations in _seconds.
    for name in series.keys().filter(|n| n.starts_with("uptime_")) {
        let base = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            !base.contains("_ms") && !base.ends_with("_millis"),
            "{name}: durations are in seconds"
        );
    }
    assert!(api.contains("# TYPE uptime_api_http_requests_total counter"));
    assert!(worker.contains("# TYPE uptime_checks_total counter"));
}

#[test]
fn the_compose_file_is_valid_where_compose_exists() {
    let compose = std::fs::read_to_string(format!("{}/docker-compose.yml", root())).unwrap();
    for needle in [
        "postgres:",
        "redis:",
        "api:",
        "worker:",
        "prometheus:",
        "grafana:",
        "8008:8008",
        "9090:9090",
        "3000:3000",
        "service_healthy",
        "replicas: 2",
        "GF_SECURITY_ADMIN_PASSWORD",
        "./prometheus/prometheus.yml",
        "./grafana/provisioning",
        "./grafana/dashboards",
    ] {
        assert!(
            compose.contains(needle),
            "docker-compose.yml lacks {needle}"
        );
    }
    let dockerfile = std::fs::read_to_string(format!("{}/Dockerfile", root())).unwrap();
    assert!(dockerfile.contains("USER uptime") && dockerfile.contains("ca-certificates"));
    // `docker compose` (the plugin) or the standalone `docker-compose`.
    let tools: [&[&str]; 2] = [&["docker", "compose"], &["docker-compose"]];
    for tool in tools {
        let present = Command::new(tool[0])
            .args(&tool[1..])
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            continue;
        }
        let output = Command::new(tool[0])
            .args(&tool[1..])
            .args(["config", "--quiet"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{tool:?} config failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    eprintln!("note: neither `docker compose` nor `docker-compose` is installed; checked the file's content only");
}
