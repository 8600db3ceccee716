//! Secrets never reach the logs, even at LOG_LEVEL=debug: the real API and
//! worker binaries go through creating every kind of secret and delivering
//! to every channel type, and their output is searched for each secret.
//!
//! The API binary is taken from next to the worker's: `make test` (cargo
//! test --workspace) builds both; alone, run `cargo build -p uptime-api`
//! first.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::helpers::Bed;

/// A value that cannot turn up in the logs by chance.
fn random(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

fn api_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_uptime-worker"))
        .with_file_name(format!("uptime-api{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p uptime-api` (make test does)",
        path.display()
    );
    path
}

/// A binary running with its stdout and stderr in one file.
struct Logged {
    child: Child,
    log: PathBuf,
}

impl Logged {
    fn start(program: &Path, vars: &[(&str, String)]) -> Self {
        let log = std::env::temp_dir().join(random("uptime-secret-logs-"));
        let file = File::create(&log).unwrap();
        let child = Command::new(program)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars.iter().map(|(name, value)| (*name, value)))
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// Stops the process with SIGTERM and returns everything it wrote.
    async fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// DATABASE_URL with a random password, where Postgres trusts connections
/// from 127.0.0.1 (as the test set-up has it); otherwise the password of
/// TEST_DATABASE_URL itself, which must not be logged either.
async fn database_url_with_password(db_name: &str) -> (String, String) {
    let url = shared::testing::database_url(db_name);
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, location) = rest.split_once('@').expect("a user in TEST_DATABASE_URL");
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let random_password = random("pw-");
    let with_random = format!("{scheme}://{user}:{random_password}@{location}");
    if tokio_postgres::connect(&with_random, NoTls).await.is_ok() {
        (with_random, random_password)
    } else {
        assert!(!password.is_empty(), "TEST_DATABASE_URL has no password");
        (url.clone(), format!("{user}:{password}@"))
    }
}

/// The API over HTTP with one key.
struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, json) = self.send(Method::POST, path, Some(body)).await;
        assert_eq!(status, 201, "{path}: {json}");
        json
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_at_debug_level() {
    let bed = Bed::new().await;
    let receiver = format!("http://{}", bed.target);
    let closed = crate::support::closed_port().await;
    let (database_url, db_password) = database_url_with_password(&bed.db_name).await;
    let bootstrap_key = random("bootstrap-");
    let legacy_signing_secret = random("legacy-signing-");
    let bot_token = format!("123456789:{}", random("AAE"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let common = [
        ("APP_ENV", "test".to_owned()),
        ("DATABASE_URL", database_url),
        ("DATABASE_POOL_SIZE", "4".to_owned()),
        ("REDIS_URL", shared::testing::redis_url()),
        ("REDIS_KEY_PREFIX", bed.prefix.clone()),
        ("UPTIME_BOOTSTRAP_API_KEY", bootstrap_key.clone()),
        ("WEBHOOK_SIGNING_SECRET", legacy_signing_secret.clone()),
        ("TELEGRAM_API_URL", format!("{receiver}/ok")),
        ("ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("WEBHOOK_MAX_RETRIES", "0".to_owned()),
        ("LOG_LEVEL", "debug".to_owned()),
    ];
    let mut api_vars = common.to_vec();
    api_vars.extend([
        ("APP_PORT", port.to_string()),
        ("LOG_FORMAT", "text".to_owned()),
    ]);
    let mut worker_vars = common.to_vec();
    worker_vars.extend([
        ("METRICS_PORT", "0".to_owned()),
        ("SCHEDULER_TICK_SECONDS", "1".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ]);
    let api = Logged::start(&api_binary(), &api_vars);
    let worker = Logged::start(Path::new(env!("CARGO_BIN_EXE_uptime-worker")), &worker_vars);

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    bed.until(Duration::from_secs(30), "the API to come up", || async {
        http.get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let bootstrap = Client {
        http: http.clone(),
        base: base.clone(),
        key: bootstrap_key.clone(),
    };
    let created = bootstrap
        .create(
            "/api/v1/api-keys",
            json!({"name": "logs", "scopes": ["admin"]}),
        )
        .await;
    let api_key = created["key"].as_str().unwrap().to_owned();
    let client = Client {
        key: api_key.clone(),
        ..bootstrap
    };

    let mut secrets = vec![
        ("bootstrap key", bootstrap_key),
        ("API key", api_key),
        ("WEBHOOK_SIGNING_SECRET", legacy_signing_secret),
        ("database password", db_password),
        ("Telegram token", bot_token.clone()),
        (
            "Telegram token secret",
            bot_token.split_once(':').unwrap().1.to_owned(),
        ),
    ];
    let mut channels = Vec::new();
    let mut delivering = Vec::new();
    for kind in ["webhook", "slack", "discord", "teams"] {
        let path_secret = random("path-");
        let token = random("token-");
        let url = format!("{receiver}/ok/{kind}/{path_secret}?token={token}");
        let channel = client
            .create(
                "/api/v1/channels",
                json!({"name": kind, "type": kind, "url": url}),
            )
            .await;
        secrets.extend([
            ("channel URL", url),
            ("channel URL path", path_secret),
            ("channel URL token", token),
        ]);
        if let Some(secret) = channel["signingSecret"].as_str() {
            secrets.push(("webhook signing secret", secret.to_owned()));
            let key = secret.trim_start_matches("whsec_").to_owned();
            secrets.push(("webhook signing key", key));
        }
        channels.push(channel["id"].as_str().unwrap().to_owned());
        delivering.push(channels.last().unwrap().clone());
    }
    let telegram = client
        .create(
            "/api/v1/channels",
            json!({"name": "telegram", "type": "telegram", "botToken": bot_token, "chatId": "-100123"}),
        )
        .await;
    channels.push(telegram["id"].as_str().unwrap().to_owned());
    delivering.push(channels.last().unwrap().clone());
    // A receiver that is down: the failure is logged, its URL must not be.
    let failing_token = random("token-");
    let failing_url = format!("http://{closed}/hook?token={failing_token}");
    let failing = client
        .create(
            "/api/v1/channels",
            json!({"name": "down", "type": "webhook", "url": failing_url}),
        )
        .await;
    secrets.extend([
        ("failing channel URL", failing_url),
        ("failing channel URL token", failing_token),
        (
            "failing channel signing secret",
            failing["signingSecret"].as_str().unwrap().to_owned(),
        ),
    ]);
    channels.push(failing["id"].as_str().unwrap().to_owned());
    // Credentials in a URL are refused (422) or stored; either way not logged.
    let user_secret = random("user-");
    let password_secret = random("password-");
    let with_credentials = format!(
        "http://{user_secret}:{password_secret}@{}/ok/creds",
        bed.target
    );
    let (status, answer) = client
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"name": "creds", "type": "webhook", "url": with_credentials})),
        )
        .await;
    assert!(status == 201 || status == 422, "{status}: {answer}");
    secrets.extend([
        ("URL credentials", with_credentials),
        ("URL user", user_secret),
        ("URL password", password_secret),
    ]);
    if let Some(id) = answer["id"].as_str() {
        channels.push(id.to_owned());
    }

    for id in &channels {
        let (status, attempt) = client
            .send(Method::POST, &format!("/api/v1/channels/{id}/test"), None)
            .await;
        assert_eq!(status, 200, "{attempt}");
        if delivering.contains(id) {
            assert_eq!(attempt["delivered"], true, "{attempt}");
        }
    }
    client
        .create(
            "/api/v1/monitors",
            json!({
                "name": "always down",
                "type": "http",
                "target": format!("{receiver}/status/500"),
                "intervalSeconds": 1,
                "timeoutSeconds": 1,
                "failureThreshold": 1,
                "channelIds": channels,
            }),
        )
        .await;
    bed.until(
        Duration::from_secs(60),
        "the worker to deliver the incident to every channel",
        || async {
            let row = bed
                .db
                .query_one(
                    "SELECT count(*) FILTER (WHERE status = 'delivered'), \
                            count(*) FILTER (WHERE status = 'failed') \
                     FROM notification_events WHERE incident_id IS NOT NULL",
                    &[],
                )
                .await
                .unwrap();
            let (delivered, failed): (i64, i64) = (row.get(0), row.get(1));
            delivered >= delivering.len() as i64 && failed >= 1
        },
    )
    .await;

    // A few more check cycles, each logged.
    bed.until(Duration::from_secs(30), "more checks", || async {
        let row = bed
            .db
            .query_one("SELECT count(*) FROM check_results", &[])
            .await
            .unwrap();
        row.get::<_, i64>(0) >= 3
    })
    .await;

    let api_output = api.stop().await;
    let worker_output = worker.stop().await;
    assert!(
        api_output.contains("request served"),
        "no API log lines: {api_output}"
    );
    assert!(
        worker_output.contains("starting uptime-worker"),
        "no worker log lines: {worker_output}"
    );
    let output = format!("{api_output}\n{worker_output}");
    assert!(output.contains("DEBUG"), "no debug lines: {output}");
    let leaks: Vec<String> = secrets
        .iter()
        .filter_map(|(what, secret)| {
            let line = output.lines().find(|line| line.contains(secret.as_str()))?;
            Some(format!("{what} in: {line}"))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets in the logs:\n{}",
        leaks.join("\n")
    );
}
