//! PostgreSQL: the connection pool, migrations, and the pool gauges.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::config::Config;

/// Key of the advisory lock held while migrations run, so two processes
/// starting at once apply them one after the other.
const MIGRATION_LOCK_KEY: i64 = 0x5570_7469_6d65_0001;
/// Transaction-level advisory locks (class 0x5570, key `hashtext(id)`)
/// serialize a monitor's deletion with result writes for it. The result
/// writer takes them shared for every monitor of its batch before it
/// inserts; deleting a monitor takes its lock exclusively first. So either
/// the delete waits for the writes in flight and then removes their rows, or
/// the writes wait for the delete and then find no monitor: no result is
/// left without its monitor. Advisory locks live in memory: no tuple is
/// locked, no WAL written, and foreign-key checks or the rollup job never
/// wait on them.
pub const LOCK_MONITOR_WRITES_SHARED: &str = "SELECT count(*) FROM (\
    SELECT pg_advisory_xact_lock_shared(21872, h) \
    FROM (SELECT DISTINCT hashtext(id::text) AS h FROM unnest($1::uuid[]) AS id) AS k \
    ORDER BY h) AS l";
/// The exclusive side of [`LOCK_MONITOR_WRITES_SHARED`], for one monitor.
pub const LOCK_MONITOR_WRITES_EXCLUSIVE: &str =
    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(21872, hashtext($1::uuid::text))) AS l";

/// How long a new connection may take before the attempt fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a free pooled connection.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(5);

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The versions and checksums of the migrations built into this binary: a
/// fingerprint of the schema it creates.
pub fn embedded_migrations_fingerprint() -> String {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| format!("{}:{}", m.version(), m.checksum()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses the configured URL into a connection config with our timeouts.
pub fn pg_config(config: &Config) -> anyhow::Result<tokio_postgres::Config> {
    let mut pg: tokio_postgres::Config = config
        .database_url
        .expose()
        .parse()
        .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL"))?;
    pg.connect_timeout(CONNECT_TIMEOUT);
    if pg.get_application_name().is_none() {
        pg.application_name("uptime");
    }
    Ok(pg)
}

/// Builds the pool; connections are opened lazily, so this succeeds while the
/// database is down.
pub fn build_pool(config: &Config) -> anyhow::Result<Pool> {
    build_pool_sized(config, config.database_pool_size)
}

/// [`build_pool`] with `max_size` connections instead of DATABASE_POOL_SIZE.
pub fn build_pool_sized(config: &Config, max_size: usize) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        pg_config(config)?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .runtime(Runtime::Tokio1)
        .build()
        .context("building the PostgreSQL pool")
}

/// Applies pending migrations under an advisory lock. Migrations come from
/// `MIGRATIONS_DIR` when that directory exists, otherwise from the copy
/// embedded in the binary at build time.
#[tracing::instrument(skip_all)]
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pg = pg_config(config)?;
    let (mut client, connection) = pg
        .connect(NoTls)
        .await
        .context("connecting to PostgreSQL to migrate")?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "migration connection closed");
        }
    });

    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .context("taking the migration lock")?;
    let outcome = run_migrations(&mut client, &config.migrations_dir).await;
    // Closing the connection releases the lock even if unlocking fails.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    drop(client);
    let _ = driver.await;
    outcome
}

async fn run_migrations(client: &mut tokio_postgres::Client, dir: &Path) -> anyhow::Result<()> {
    let report = if dir.is_dir() {
        let migrations = refinery::load_sql_migrations(dir)
            .with_context(|| format!("loading migrations from {}", dir.display()))?;
        refinery::Runner::new(&migrations).run_async(client).await
    } else {
        embedded::migrations::runner().run_async(client).await
    }
    .context("applying migrations")?;
    for migration in report.applied_migrations() {
        tracing::info!(
            version = migration.version(),
            name = migration.name(),
            "migration applied"
        );
    }
    Ok(())
}

/// Waits until the schema exists (the API migrates; workers wait for it).
pub async fn wait_for_schema(pool: &Pool, give_up_after: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + give_up_after;
    loop {
        let ready = match pool.get().await {
            Ok(client) => client
                .query_opt("SELECT to_regclass('public.worker_heartbeats')::text", &[])
                .await
                .ok()
                .flatten()
                .and_then(|row| row.get::<_, Option<String>>(0))
                .is_some(),
            Err(_) => false,
        };
        if ready {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("the database schema did not appear within {give_up_after:?}");
        }
        tracing::info!("waiting for the database schema");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Checks that a connection can be taken and answers.
pub async fn ping(pool: &Pool) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| pool_error_kind(&e))?;
    client
        .simple_query("SELECT 1")
        .await
        .map(|_| ())
        .map_err(|_| "query failed".to_owned())
}

fn pool_error_kind(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Timeout(_) => "timed out".to_owned(),
        deadpool_postgres::PoolError::Backend(_) => "connection failed".to_owned(),
        _ => "unavailable".to_owned(),
    }
}

/// True when Postgres rejected a statement for its data: a data exception
/// (class 22: encoding, range, format) or an integrity constraint (23).
/// Everything else — connections, resources, a schema older than this
/// binary, lock timeouts, conflicts — is worth retrying as it is.
pub fn is_data_rejection(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        code.starts_with("22") || code.starts_with("23")
    })
}

/// True when `error` says PostgreSQL could not be reached or would not take
/// connections yet (refused, reset, timed out, shutting down or starting
/// up), as opposed to a refusal that waiting does not cure (a wrong
/// password, a missing database, a failing migration).
pub fn is_unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|pg| match pg.as_db_error() {
                None => {
                    pg.is_closed()
                        || std::error::Error::source(pg).is_some_and(|s| s.is::<std::io::Error>())
                }
                Some(db) => {
                    let code = db.code().code();
                    code.starts_with("08") || code.starts_with("57P")
                }
            })
            || cause.is::<std::io::Error>()
    })
}

/// Publishes the size and idle connections of the process' pools as gauges.
pub fn record_pool_gauges(pools: &[Pool]) {
    let (mut in_use, mut idle, mut max) = (0, 0, 0);
    for pool in pools {
        let status = pool.status();
        in_use += status.size.saturating_sub(status.available);
        idle += status.available;
        max += status.max_size;
    }
    metrics::gauge!(crate::telemetry::DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    metrics::gauge!(crate::telemetry::DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(crate::telemetry::DB_POOL_MAX_CONNECTIONS).set(max as f64);
}
