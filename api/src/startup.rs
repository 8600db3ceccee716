//! Building and running the API server.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpServer};
use anyhow::Context;
use shared::check::{Engine, EngineOptions};
use shared::config::Config;
use shared::model::api_key::hash_key;
use shared::redis::Keys;
use shared::schedule::Schedule;

use crate::error::ApiError;
use crate::{middleware, routes};

/// What every handler can reach. Each HTTP worker thread has its own copy,
/// differing only in `db`.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// PostgreSQL, through this worker thread's pool (see [`Db`]).
    pub db: Db,
    pub redis: deadpool_redis::Pool,
    /// SHA-256 of UPTIME_BOOTSTRAP_API_KEY; the raw key is not kept here.
    pub bootstrap_key_hash: [u8; 32],
    /// The check schedule the workers claim from.
    pub schedule: Schedule,
    /// The check engine behind `/ping-endpoint`.
    pub engine: Arc<Engine>,
    /// Sends channel test events.
    pub sender: shared::notify::send::Sender,
    /// Bounds concurrent `/ping-endpoint` checks.
    pub ping_slots: Arc<tokio::sync::Semaphore>,
    /// API keys recently read from Postgres.
    pub keys: Arc<crate::auth::KeyCache>,
    /// Snapshots of the published status pages, shared by every thread.
    pub status_pages: Arc<crate::pages::snapshot::Store>,
}

/// How long a request waits for its own thread's pool before it borrows an
/// idle connection of another thread's.
const BORROW_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// The API's PostgreSQL pools: DATABASE_POOL_SIZE split over the HTTP
/// worker threads (one per core), or one shared pool when there are fewer
/// connections than threads. A connection is driven by the thread that
/// opened it, so a thread that uses its own pool runs a request and its
/// queries without waking another thread per query (BENCHMARKS.md, API).
#[derive(Clone)]
pub struct Db {
    pools: Arc<Vec<deadpool_postgres::Pool>>,
    /// The pool of the thread holding this copy.
    local: usize,
    /// False while the schema may be behind this binary: the process
    /// started with PostgreSQL unreachable and has not migrated yet.
    ready: Arc<AtomicBool>,
}

impl Db {
    fn build(config: &Config, workers: usize, ready: Arc<AtomicBool>) -> anyhow::Result<Self> {
        let size = config.database_pool_size;
        let pools = if workers < 2 || size < workers {
            vec![shared::db::build_pool(config)?]
        } else {
            (0..workers)
                .map(|i| {
                    let share = size / workers + usize::from(i < size % workers);
                    shared::db::build_pool_sized(config, share)
                })
                .collect::<anyhow::Result<_>>()?
        };
        Ok(Self {
            pools: Arc::new(pools),
            local: 0,
            ready,
        })
    }

    /// This copy, bound to pool `index` (wrapping).
    fn for_thread(&self, index: usize) -> Self {
        Self {
            pools: Arc::clone(&self.pools),
            local: index % self.pools.len(),
            ready: Arc::clone(&self.ready),
        }
    }

    /// A connection from this thread's pool. If none comes free within
    /// [`BORROW_AFTER`] (requests holding theirs across slow calls), an idle
    /// one of another thread's pool is borrowed; failing that, it waits for
    /// this thread's pool up to the configured timeout.
    /// Until the schema is migrated (see [`Application::build`]) there is
    /// no connection to have: requests answer 503.
    pub async fn get(&self) -> Result<deadpool_postgres::Client, deadpool_postgres::PoolError> {
        if !self.ready.load(Ordering::Acquire) {
            return Err(deadpool_postgres::PoolError::Closed);
        }
        let local = &self.pools[self.local];
        if self.pools.len() == 1 {
            return local.get().await;
        }
        let configured = local.timeouts();
        let first = deadpool_postgres::Timeouts {
            wait: Some(BORROW_AFTER),
            ..configured
        };
        match local.timeout_get(&first).await {
            Err(deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait)) => {}
            other => return other,
        }
        let idlest = self.idlest();
        if idlest.status().available > 0 {
            idlest.get().await
        } else {
            local.get().await
        }
    }

    /// Every pool of the process (for the pool gauges).
    pub fn pools(&self) -> &[deadpool_postgres::Pool] {
        &self.pools
    }

    /// The pool with the most idle connections (for the health probe, so
    /// one busy thread's pool does not make Postgres look down).
    pub fn idlest(&self) -> &deadpool_postgres::Pool {
        self.pools
            .iter()
            .max_by_key(|pool| pool.status().available)
            .unwrap_or(&self.pools[self.local])
    }
}

/// See `client_disconnect_timeout` in [`Application::build_with_engine`].
const UNREAD_BODY_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Most `/ping-endpoint` checks running at once; more are answered 429.
const PING_CONCURRENCY: usize = 8;

/// A bound, ready-to-run API server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Migrates the database, builds the pools and binds APP_PORT (0 picks
    /// a free port). When PostgreSQL cannot be reached the server starts
    /// anyway, so that status pages answer their plain 503 and the API its
    /// JSON 503 (not a refused connection), and migrates in the background
    /// as soon as PostgreSQL answers; until then no request uses the
    /// database. Any other failure to migrate stops the process.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let ready = match shared::db::migrate(&config).await {
            Ok(()) => true,
            Err(error) if shared::db::is_unreachable(&error) => {
                tracing::warn!(
                    error = %format!("{error:#}"),
                    "PostgreSQL is unreachable; serving 503 until it answers and the schema is migrated"
                );
                false
            }
            Err(error) => return Err(error),
        };
        let ready = Arc::new(AtomicBool::new(ready));
        let listener = TcpListener::bind(("0.0.0.0", config.app_port))
            .with_context(|| format!("binding APP_PORT {}", config.app_port))?;
        if !ready.load(Ordering::Acquire) {
            tokio::spawn(migrate_when_reachable(config.clone(), Arc::clone(&ready)));
        }
        let engine = Engine::new(EngineOptions::from_config(&config))?;
        Self::build_ready(config, listener, engine, ready)
    }

    /// Builds the server on an existing listener (migrations already applied).
    pub fn build_with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let engine = Engine::new(EngineOptions::from_config(&config))?;
        Self::build_with_engine(config, listener, engine)
    }

    /// Builds the server with a given check engine (tests trust their own
    /// certificates or name servers through it).
    pub fn build_with_engine(
        config: Config,
        listener: TcpListener,
        engine: Arc<Engine>,
    ) -> anyhow::Result<Self> {
        Self::build_ready(config, listener, engine, Arc::new(AtomicBool::new(true)))
    }

    fn build_ready(
        config: Config,
        listener: TcpListener,
        engine: Arc<Engine>,
        ready: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        shared::telemetry::prometheus();
        shared::telemetry::spawn_upkeep();
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let status_pages = crate::pages::snapshot::Store::new();
        status_pages.start(&config)?;
        let state = AppState {
            db: Db::build(&config, workers, ready)?,
            redis: shared::redis::build_pool(&config)?,
            bootstrap_key_hash: hash_key(config.bootstrap_api_key.expose()),
            schedule: Schedule::new(&Keys::new(config.redis_key_prefix.clone()), 0),
            engine,
            ping_slots: Arc::new(tokio::sync::Semaphore::new(PING_CONCURRENCY)),
            sender: shared::notify::send::Sender::new(&config)?,
            keys: Arc::default(),
            status_pages,
            config: Arc::new(config),
        };
        let config = Arc::clone(&state.config);
        let body_limit = config.max_request_body_bytes;
        let next_pool = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let server = HttpServer::new(move || {
            // Called once on each worker thread.
            let mut local = state.clone();
            let index = next_pool.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            local.db = local.db.for_thread(index);
            App::new()
                .app_data(web::Data::new(local))
                .app_data(
                    web::JsonConfig::default()
                        .limit(body_limit)
                        .error_handler(move |e, _| json_error(e, body_limit).into()),
                )
                .app_data(web::PayloadConfig::default().limit(body_limit))
                .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
                .app_data(
                    web::PathConfig::default().error_handler(|e, req| path_error(e, req).into()),
                )
                .wrap(from_fn(middleware::observe))
                .configure(routes::configure)
                .configure(crate::pages::statuspage_api::configure)
                .configure(crate::pages::configure_feeds_and_badges)
                .configure(crate::pages::status_page::configure)
                .configure(crate::pages::dashboard::configure)
        })
        .workers(workers)
        .client_request_timeout(config.api_read_header_timeout)
        // How long a connection answered with `Connection: close` while its
        // request body is still unread may go on discarding that body before
        // the socket is shut (see middleware::observe).
        .client_disconnect_timeout(UNREAD_BODY_GRACE)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then drains within SHUTDOWN_TIMEOUT_SECONDS.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.stop(true).await;
        server.await??;
        Ok(())
    }

    /// Serves until the server stops (tests run it in the background).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Retries the migrations of a process that started with PostgreSQL
/// unreachable (1 s, doubling to 30 s between attempts) and marks the
/// schema ready once they are applied.
async fn migrate_when_reachable(config: Config, ready: Arc<AtomicBool>) {
    let mut pause = std::time::Duration::from_secs(1);
    loop {
        tokio::time::sleep(pause).await;
        match shared::db::migrate(&config).await {
            Ok(()) => {
                ready.store(true, Ordering::Release);
                tracing::info!("PostgreSQL answers and the schema is migrated; serving requests");
                return;
            }
            Err(error) if shared::db::is_unreachable(&error) => {
                tracing::debug!(error = %format!("{error:#}"), "PostgreSQL still unreachable");
            }
            Err(error) => tracing::error!(
                error = %format!("{error:#}"),
                "migrating failed; requests keep answering 503"
            ),
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(30));
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::PayloadTooLarge(limit)
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
        }
        other => ApiError::bad_request(
            "malformed_body",
            format!("the body could not be read: {other}"),
        ),
    }
}

fn query_error(error: QueryPayloadError) -> ApiError {
    ApiError::bad_request("invalid_query", format!("invalid query string: {error}"))
}

fn path_error(_: PathError, _: &HttpRequest) -> ApiError {
    ApiError::NotFound("resource")
}
