//! Test support shared by the API and worker test suites (feature
//! `testing`): a migrated template database cloned per test, and the
//! configuration of a test process. Not part of the product.

use std::sync::OnceLock;

use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::config::Config;

/// Admin key every test app is started with.
pub const ADMIN_KEY: &str = "test-bootstrap-admin-key-0001";

/// Server-level connection used to create and drop databases.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://uptime:uptime@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Drops a test database (blocking; usable from Drop).
pub fn drop_database(name: &str) {
    let name = name.to_owned();
    // Async drop is not possible; a short-lived runtime on its own thread is.
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
                tokio::spawn(conn);
                let _ = client
                    .execute(
                        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                        &[],
                    )
                    .await;
            }
        });
    })
    .join();
}

/// A client on a test database.
pub async fn connect(db_name: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&database_url(db_name), NoTls)
        .await
        .expect("connect to test database");
    tokio::spawn(conn);
    client
}

/// Name of the migrated template, derived from the migrations built into
/// this binary (which are what fill it), so a schema change makes a new one
/// and a binary never uses a template another build's migrations filled.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let digest = crate::model::api_key::hash_key(&crate::db::embedded_migrations_fingerprint());
        format!("uptime_template_{}", hex_prefix(&digest))
    })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .expect("connect to TEST_DATABASE_URL");
    tokio::spawn(conn);
    client
}

/// Creates the template once per server (under an advisory lock, since test
/// binaries run in parallel), then clones it.
pub async fn fresh_database() -> String {
    let template = template_name();
    let admin = admin().await;
    admin
        .execute("SELECT pg_advisory_lock(7203991)", &[])
        .await
        .expect("template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("query pg_database")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        admin
            .execute(
                &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
                &[],
            )
            .await
            .expect("drop half-built template");
        admin
            .execute(&format!("CREATE DATABASE \"{building}\""), &[])
            .await
            .expect("create template");
        let config = test_config(&building, &[]);
        crate::db::migrate(&config).await.expect("migrate template");
        admin
            .execute(
                &format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
                &[],
            )
            .await
            .expect("publish template");
    }
    admin
        .execute("SELECT pg_advisory_unlock(7203991)", &[])
        .await
        .expect("template unlock");
    let name = format!("uptime_test_{}", Uuid::new_v4().simple());
    admin
        .execute(
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
            &[],
        )
        .await
        .expect("clone template");
    name
}

/// The configuration of a test app, with `extra` variables on top.
pub fn test_config(db_name: &str, extra: &[(&str, &str)]) -> Config {
    let db_url = database_url(db_name);
    let prefix = format!("uptime:test:{db_name}:");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("APP_ENV", "test"),
        ("APP_PORT", "0"),
        ("DATABASE_URL", &db_url),
        ("DATABASE_POOL_SIZE", "4"),
        ("REDIS_KEY_PREFIX", &prefix),
        ("UPTIME_BOOTSTRAP_API_KEY", ADMIN_KEY),
        ("LOG_LEVEL", "warn"),
    ];
    let redis = redis_url();
    pairs.push(("REDIS_URL", &redis));
    pairs.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
    pairs.extend_from_slice(extra);
    Config::from_pairs(pairs).expect("valid test configuration")
}
