//! A status page outlives its PostgreSQL: the real `uptime-api` binary runs
//! against a PostgreSQL of the test's own, which the test stops hard, then
//! starts again.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{Client, Response};
use serde_json::{json, Value};

use crate::helpers::ADMIN_KEY;

/// Where the PostgreSQL server binaries are (Debian's layout).
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long the API may take to start and migrate.
const STARTUP: Duration = Duration::from_secs(30);
/// How long a change may take to reach the page (the snapshot rebuilds on
/// NOTIFY, and at least every 5 s without it).
const PROMISED: Duration = Duration::from_secs(15);
/// Two rebuilds this far apart are periodic ones (a burst of NOTIFYs
/// rebuilds within a second).
const QUIET: chrono::TimeDelta = chrono::TimeDelta::seconds(3);
/// How long the pages are read with PostgreSQL down: longer than the 5 s
/// rebuild period, so at least one rebuild has failed meanwhile.
const OUTAGE: Duration = Duration::from_secs(8);
/// How long the page may take to show a change once PostgreSQL is back
/// (a rebuild every 5 s, whatever the LISTEN connection's backoff).
const RECOVERY: Duration = Duration::from_secs(12);
/// The most a plain error page may weigh.
const PLAIN_PAGE_BYTES: usize = 4096;

const SLUG: &str = "sturdy";
const TITLE: &str = "Sturdy Co status";
const INCIDENT: &str = "Elevated API error rates";
const UPDATE: &str = "A bad deploy; rolling it back.";
const RECOVERED_UPDATE: &str = "The rollback is out; we are watching.";

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL tool, run as the postgres user when we are root
/// (PostgreSQL refuses to run as root).
fn pg_tool(name: &str) -> Command {
    let tool = Path::new(PG_BIN).join(name);
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(tool);
        command
    } else {
        Command::new(tool)
    };
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// The last lines of a log, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A PostgreSQL cluster of the test's own on a free loopback port, in a
/// temporary directory; stopped and removed when dropped.
struct OwnPostgres {
    dir: PathBuf,
    port: u16,
}

impl OwnPostgres {
    /// Creates and starts the cluster with an `uptime` role and database.
    async fn start_new() -> Self {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("uptime-pg-down-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // From here on, Drop removes the directory whatever fails.
        let postgres = Self {
            dir,
            port: free_port(),
        };
        tokio::task::block_in_place(|| {
            if is_root() {
                let chown = Command::new("chown")
                    .arg("postgres")
                    .arg(&postgres.dir)
                    .status()
                    .unwrap();
                assert!(chown.success(), "chown of the PostgreSQL directory");
            }
            let initdb = pg_tool("initdb")
                .arg("-D")
                .arg(postgres.data())
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .status()
                .unwrap();
            assert!(
                initdb.success(),
                "initdb of the test's own PostgreSQL failed"
            );
            postgres.start();
        });
        let (client, connection) = tokio_postgres::connect(
            &format!("postgres://postgres@127.0.0.1:{}/postgres", postgres.port),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        let driver = tokio::spawn(connection);
        client
            .batch_execute("CREATE ROLE uptime LOGIN PASSWORD 'uptime'")
            .await
            .unwrap();
        client
            .batch_execute("CREATE DATABASE uptime OWNER uptime")
            .await
            .unwrap();
        drop(client);
        let _ = driver.await;
        postgres
    }

    fn data(&self) -> PathBuf {
        self.dir.join("pg")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The URL the API is given.
    fn url(&self) -> String {
        format!("postgres://uptime:uptime@127.0.0.1:{}/uptime", self.port)
    }

    /// Starts the server and waits until it accepts connections (blocking).
    fn start(&self) {
        let started = pg_tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "30", "-l"])
            .arg(self.log())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.data().display()
            ))
            .arg("start")
            .status()
            .unwrap();
        assert!(
            started.success(),
            "pg_ctl start failed; PostgreSQL's log:\n{}",
            tail(&self.log())
        );
    }

    /// Stops the server at once, as a crash would (blocking).
    fn stop_immediately(&self) -> bool {
        pg_tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Whether a connection to its port is refused (nothing listens).
    fn refuses_connections(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port))
            .is_err_and(|e| e.kind() == ErrorKind::ConnectionRefused)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("PostgreSQL's log:\n{}", tail(&self.log()));
        }
        self.stop_immediately();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `uptime-api` process; killed when dropped.
struct ApiProcess {
    child: Child,
    address: String,
    log: PathBuf,
}

impl ApiProcess {
    /// Starts the binary against `postgres`, logging to `{name}.log` in its
    /// directory.
    fn spawn(postgres: &OwnPostgres, name: &str) -> Self {
        let port = free_port();
        let log = postgres.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        // Each process its own Redis keys, on the shared Redis.
        let prefix = format!(
            "uptime:test:pg-down:{}-{}:",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        let child = Command::new(env!("CARGO_BIN_EXE_uptime-api"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", postgres.url())
            .env("DATABASE_POOL_SIZE", "4")
            .env("REDIS_URL", shared::testing::redis_url())
            .env("REDIS_KEY_PREFIX", prefix)
            .env("APP_PORT", port.to_string())
            .env("METRICS_PORT", free_port().to_string())
            .env("UPTIME_BOOTSTRAP_API_KEY", ADMIN_KEY)
            .env("APP_ENV", "development")
            .env("LOG_LEVEL", "info")
            .env("ALLOW_PRIVATE_TARGETS", "true")
            // No `migrations` directory here: the binary's own copy is used.
            .current_dir(&postgres.dir)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// How it exited, if it has.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits until `/health` answers 200 (PostgreSQL and Redis reachable).
    async fn wait_healthy(&mut self, client: &Client) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                panic!(
                    "uptime-api exited ({status}) instead of serving; its log:\n{}",
                    tail(&self.log)
                );
            }
            let health = client.get(self.url("/health")).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < STARTUP,
                "uptime-api did not answer /health with 200 within {STARTUP:?}; its log:\n{}",
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// POSTs with the admin key, expecting 201; returns the created body.
    async fn create(&self, client: &Client, path: &str, body: Value) -> Value {
        let response = client
            .post(self.url(path))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(
            status, 201,
            "POST {path} should create; it answered: {text}"
        );
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}:\n{}", self.log.display(), tail(&self.log));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `<p class="updated">` line of a page: what a reader sees of how old
/// the page is.
fn updated_line(html: &str) -> &str {
    let start = html
        .find("<p class=\"updated\">")
        .unwrap_or_else(|| panic!("the page should say when it was updated:\n{html}"));
    let rest = &html[start..];
    &rest[..rest.find("</p>").expect("the updated line is closed") + 4]
}

/// The moment the page says it was updated (`data-updated`).
fn updated_at(html: &str) -> DateTime<Utc> {
    let line = updated_line(html);
    let value = &line[line.find("data-updated=\"").expect("data-updated") + 14..];
    DateTime::parse_from_rfc3339(&value[..value.find('"').expect("closing quote")])
        .expect("data-updated is RFC 3339")
        .with_timezone(&Utc)
}

/// What the four public forms of the page answered at one moment.
struct Public {
    html: String,
    html_etag: String,
    summary: Value,
    atom: String,
    badge: String,
}

/// GETs `url`, expecting 200; returns the response.
async fn ok(client: &Client, url: &str) -> Response {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} should answer: {e}"));
    assert_eq!(response.status(), 200, "GET {url} should answer 200");
    response
}

async fn read_public(client: &Client, api: &ApiProcess, badge: &str) -> Public {
    let response = ok(client, &api.url(&format!("/status/{SLUG}"))).await;
    let html_etag = response.headers()[ETAG].to_str().unwrap().to_owned();
    let html = response.text().await.unwrap();
    let summary = ok(
        client,
        &api.url(&format!("/status/{SLUG}/api/v2/summary.json")),
    )
    .await
    .json()
    .await
    .expect("summary.json should be JSON");
    let atom = ok(client, &api.url(&format!("/status/{SLUG}/feed.atom")))
        .await
        .text()
        .await
        .unwrap();
    let badge = ok(client, &api.url(badge)).await.text().await.unwrap();
    Public {
        html,
        html_etag,
        summary,
        atom,
        badge,
    }
}

/// What a process started while PostgreSQL is down did.
enum ColdStart {
    /// It answered `GET /status/{slug}`.
    Answered {
        status: u16,
        content_type: String,
        body: String,
    },
    /// It exited without answering.
    Exited { status: ExitStatus, log: String },
}

impl ColdStart {
    async fn observe(api: &mut ApiProcess, client: &Client) -> Self {
        let started = Instant::now();
        loop {
            if let Some(status) = api.exited() {
                return ColdStart::Exited {
                    status,
                    log: tail(&api.log),
                };
            }
            if let Ok(response) = client.get(api.url(&format!("/status/{SLUG}"))).send().await {
                return ColdStart::Answered {
                    status: response.status().as_u16(),
                    content_type: response
                        .headers()
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                    body: response.text().await.unwrap_or_default(),
                };
            }
            assert!(
                started.elapsed() < STARTUP,
                "a cold start with PostgreSQL down neither answered nor exited within {STARTUP:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The README's promise: a plain 503 page, nothing of the failure.
    fn assert_plain_503(&self) {
        match self {
            ColdStart::Exited { status, log } => panic!(
                "a cold start with PostgreSQL down should serve /status/{SLUG} with a plain 503 \
                 page (README: \"a cold start without PostgreSQL answers a plain 503 page\"), \
                 but uptime-api exited ({status}) without answering; its log:\n{log}"
            ),
            ColdStart::Answered {
                status,
                content_type,
                body,
            } => {
                assert_eq!(
                    *status, 503,
                    "a cold start with PostgreSQL down should answer 503:\n{body}"
                );
                assert!(
                    content_type.starts_with("text/html"),
                    "the 503 should be an HTML page, not {content_type}"
                );
                assert!(
                    body.contains("The status page is starting"),
                    "the 503 page should say the page is starting:\n{body}"
                );
                assert!(
                    body.len() < PLAIN_PAGE_BYTES,
                    "the 503 page should be short, not {} bytes",
                    body.len()
                );
                for leak in [
                    "panicked",
                    "RUST_BACKTRACE",
                    "stack backtrace",
                    "Connection refused",
                    "os error",
                    "tokio_postgres",
                    "deadpool",
                    "127.0.0.1",
                ] {
                    assert!(
                        !body.contains(leak),
                        "the 503 page should not show {leak:?}:\n{body}"
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_keeps_serving_while_its_postgres_is_stopped_and_recovers() {
    let began = Instant::now();
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let postgres = OwnPostgres::start_new().await;
    let mut api = ApiProcess::spawn(&postgres, "api");
    api.wait_healthy(&client).await;

    // A group with one component, a plain component, a published page and
    // an incident with an update on the grouped component.
    let group = api
        .create(
            &client,
            "/api/v1/components",
            json!({"name": "Platform", "group": true}),
        )
        .await;
    let component = api
        .create(
            &client,
            "/api/v1/components",
            json!({"name": "Public API", "groupId": group["id"]}),
        )
        .await;
    let component_id = component["id"].as_str().unwrap().to_owned();
    let website = api
        .create(&client, "/api/v1/components", json!({"name": "Website"}))
        .await;
    api.create(
        &client,
        "/api/v1/status-pages",
        json!({"slug": SLUG, "title": TITLE, "published": true,
               "sections": [{"name": "Services", "componentIds": [group["id"], website["id"]]}]}),
    )
    .await;
    let incident = api
        .create(
            &client,
            "/api/v1/status-incidents",
            json!({"name": INCIDENT, "body": "We are looking into failing API requests.",
                   "componentIds": [component_id],
                   "componentStatuses": {component_id.clone(): "partial_outage"}}),
        )
        .await;
    let incident_id = incident["id"].as_str().unwrap().to_owned();
    let updates = format!("/api/v1/status-incidents/{incident_id}/updates");
    api.create(
        &client,
        &updates,
        json!({"status": "identified", "body": UPDATE}),
    )
    .await;

    // The page shows the incident; then, right after a periodic rebuild (a
    // new "Updated" time, seconds after the last, so not one of the burst
    // the writes notified), everything is recorded and PostgreSQL stopped:
    // no successful rebuild falls in between.
    let page = api.url(&format!("/status/{SLUG}"));
    let started = Instant::now();
    let mut last_built: Option<DateTime<Utc>> = None;
    loop {
        let response = client.get(&page).send().await.unwrap();
        let status = response.status();
        let html = response.text().await.unwrap();
        if status == 200 && html.contains(INCIDENT) && html.contains(UPDATE) {
            let at = updated_at(&html);
            match last_built {
                Some(last) if at - last >= QUIET => break,
                _ => last_built = Some(at),
            }
        }
        assert!(
            started.elapsed() < PROMISED,
            "within {PROMISED:?}, {page} should show the incident and then be rebuilt on its \
             period; last answer {status}:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let badge = format!("/badge/component/{component_id}/status.svg");
    let before = read_public(&client, &api, &badge).await;
    let stopped = tokio::task::block_in_place(|| postgres.stop_immediately());
    let stopped_at = Instant::now();
    assert!(stopped, "pg_ctl stop -m immediate should stop PostgreSQL");
    assert!(
        postgres.refuses_connections(),
        "PostgreSQL's port {} should refuse connections once it is stopped",
        postgres.port
    );
    assert!(
        before.html.contains(TITLE),
        "the page should show its title"
    );
    assert_eq!(before.summary["incidents"][0]["name"], INCIDENT);
    assert!(
        before.atom.contains(INCIDENT),
        "the Atom feed should list the incident:\n{}",
        before.atom
    );
    assert!(
        before.badge.contains("partial outage"),
        "the component's badge should say partial outage:\n{}",
        before.badge
    );
    let updated = updated_line(&before.html).to_owned();
    println!(
        "recorded and stopped PostgreSQL after {:?}",
        began.elapsed()
    );

    // With PostgreSQL down, longer than a rebuild period: every form of the
    // page answers as recorded, and a cached copy stays valid.
    let mut rounds = 0;
    while stopped_at.elapsed() < OUTAGE {
        let now = read_public(&client, &api, &badge).await;
        for (what, needle) in [
            ("title", TITLE),
            ("incident", INCIDENT),
            ("update", UPDATE),
            ("updated time", updated.as_str()),
        ] {
            assert!(
                now.html.contains(needle),
                "with PostgreSQL down for {:?}, the page should still show its {what} \
                 {needle:?}:\n{}",
                stopped_at.elapsed(),
                now.html
            );
        }
        assert_eq!(
            now.html_etag, before.html_etag,
            "with PostgreSQL down, the page should keep its ETag (the last snapshot)"
        );
        assert_eq!(
            now.summary["incidents"][0]["id"], incident_id,
            "with PostgreSQL down, summary.json should still list the incident"
        );
        assert_eq!(
            now.summary, before.summary,
            "with PostgreSQL down, summary.json should be the last snapshot's"
        );
        assert_eq!(
            now.atom, before.atom,
            "with PostgreSQL down, the Atom feed should be the last snapshot's"
        );
        assert_eq!(
            now.badge, before.badge,
            "with PostgreSQL down, the badge should be the last snapshot's"
        );
        let conditional = client
            .get(&page)
            .header(IF_NONE_MATCH, &before.html_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            conditional.status(),
            304,
            "with PostgreSQL down, a GET with the recorded ETag should answer 304"
        );
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        std::fs::read_to_string(&api.log)
            .unwrap_or_default()
            .contains("status page rebuild failed"),
        "during {OUTAGE:?} without PostgreSQL, a snapshot rebuild should have failed (and been \
         logged); the API's log:\n{}",
        tail(&api.log)
    );
    let age = Utc::now() - updated_at(&before.html);
    assert!(
        age >= chrono::Duration::from_std(OUTAGE).unwrap(),
        "\"Updated\" should name the last snapshot read, at least {OUTAGE:?} ago, not {age}"
    );
    println!(
        "{rounds} rounds of the four URLs answered during {OUTAGE:?} without PostgreSQL; \
         total {:?}",
        began.elapsed()
    );

    // A second process started while PostgreSQL is still down.
    let mut cold = ApiProcess::spawn(&postgres, "cold-api");
    let cold_start = ColdStart::observe(&mut cold, &client).await;
    drop(cold);

    // PostgreSQL back: the first process picks up a new incident update.
    tokio::task::block_in_place(|| postgres.start());
    let restarted = Instant::now();
    loop {
        let response = client
            .post(api.url(&updates))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"status": "monitoring", "body": RECOVERED_UPDATE}))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 201 => break,
            Ok(r) if r.status().is_client_error() => panic!(
                "POST {updates} after PostgreSQL came back answered {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            _ => {}
        }
        assert!(
            restarted.elapsed() < RECOVERY,
            "the API should accept an incident update within {RECOVERY:?} of PostgreSQL's return"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    loop {
        let response = client.get(&page).send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "the page should answer 200 while PostgreSQL comes back"
        );
        let html = response.text().await.unwrap();
        if html.contains(RECOVERED_UPDATE) {
            assert!(
                updated_at(&html) > updated_at(&before.html),
                "the recovered page should say it was updated after the outage"
            );
            break;
        }
        assert!(
            restarted.elapsed() < RECOVERY,
            "within {RECOVERY:?} of PostgreSQL's return, the page should show the new update \
             {RECOVERED_UPDATE:?}:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "the page showed the new update {:?} after PostgreSQL started again; total {:?}",
        restarted.elapsed(),
        began.elapsed()
    );

    // Judged last, so the recovery above is shown whatever it says.
    cold_start.assert_plain_503();
}
