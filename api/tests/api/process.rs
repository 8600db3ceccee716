//! The real binary: configuration errors, secrets in output, graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{admin_url, spawn_app, ADMIN_KEY};

fn api_binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uptime-api"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn invalid_configuration_stops_with_one_line_naming_the_variable() {
    for (var, value, expected) in [
        (
            "APP_PORT",
            "http",
            "APP_PORT=\"http\": expected an integer from 0 to 65535",
        ),
        (
            "CHECK_WORKER_COUNT",
            "0",
            "CHECK_WORKER_COUNT=\"0\": expected an integer from 1 to 1024",
        ),
        (
            "SCHEDULER_TICK_SECONDS",
            "61",
            "SCHEDULER_TICK_SECONDS=\"61\": expected an integer from 1 to 60",
        ),
        (
            "WEBHOOK_MAX_RETRIES",
            "11",
            "WEBHOOK_MAX_RETRIES=\"11\": expected an integer from 0 to 10",
        ),
        (
            "LOG_LEVEL",
            "loud",
            "LOG_LEVEL=\"loud\": expected one of debug, info, warn, error",
        ),
        (
            "ALLOW_PRIVATE_TARGETS",
            "perhaps",
            "ALLOW_PRIVATE_TARGETS=\"perhaps\": expected true or false",
        ),
    ] {
        let output = api_binary().env(var, value).output().unwrap();
        assert!(
            !output.status.success(),
            "{var}={value} must stop the process"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn production_refuses_weak_settings_without_echoing_secrets() {
    let output = api_binary()
        .env("APP_ENV", "production")
        .env("UPTIME_BOOTSTRAP_API_KEY", "tiny-secret")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("UPTIME_BOOTSTRAP_API_KEY"));
    assert!(!stderr.contains("tiny-secret"));

    let output = api_binary()
        .env("APP_ENV", "production")
        .env("UPTIME_BOOTSTRAP_API_KEY", "a-very-long-production-key")
        .env("ALLOW_PRIVATE_TARGETS", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ALLOW_PRIVATE_TARGETS"));
}

#[test]
fn database_password_never_appears_in_output() {
    // Nothing listens on port 1: the API starts anyway, says PostgreSQL is
    // unreachable and keeps retrying its migrations; it is stopped here.
    let mut child = api_binary()
        .env(
            "DATABASE_URL",
            "postgres://uptime:sup3r-s3cret-pw@127.0.0.1:1/uptime",
        )
        .env("APP_PORT", "0")
        .env("UPTIME_BOOTSTRAP_API_KEY", "bootstrap-key-never-logged")
        .env("LOG_LEVEL", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(all.contains("PostgreSQL is unreachable"), "{all}");
    assert!(all.contains("127.0.0.1:1"), "{all}");
    assert!(!all.contains("sup3r-s3cret-pw"), "{all}");
    assert!(!all.contains("bootstrap-key-never-logged"), "{all}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    // Reuse a migrated test database; the binary migrates it again (a no-op).
    let app = spawn_app().await;
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(&format!("/{}", app.db_name));
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = api_binary()
        .env("DATABASE_URL", url.as_str())
        .env("APP_PORT", port.to_string())
        .env("UPTIME_BOOTSTRAP_API_KEY", ADMIN_KEY)
        .env("REDIS_KEY_PREFIX", format!("uptime:test:{}:", app.db_name))
        .env("SHUTDOWN_TIMEOUT_SECONDS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the API did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the API did not stop within the shutdown timeout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
