//! The UpTime worker: claims due monitors from the Redis schedule, checks
//! them, writes results and incidents to Postgres, and reports itself.
//!
//! Any number of workers share one schedule; see `shared::schedule` for the
//! lease protocol and `store` for the fencing rules in Postgres.

pub mod heartbeat;
pub mod maintenance;
pub mod notifier;
pub mod runner;
pub mod store;
pub mod writer;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use shared::check::{Engine, EngineOptions};
use shared::config::Config;
use shared::redis::Keys;
use shared::schedule::Schedule;
use tokio::sync::Notify;

pub use runner::Stats;

/// How long a starting worker waits for the API to create the schema.
const SCHEMA_WAIT: Duration = Duration::from_secs(120);
/// Part of SHUTDOWN_TIMEOUT_SECONDS kept for writing the last results.
const FLUSH_SHARE: Duration = Duration::from_secs(2);

/// Runs the worker until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let engine = Engine::new(EngineOptions::from_config(&config))?;
    run_until(
        config,
        engine,
        heartbeat::Identity::new(),
        None,
        shutdown_signal(),
    )
    .await
}

/// Runs a worker until `shutdown` resolves. `stats` receives the worker's
/// live counters (tests read them); the engine is passed in so tests can
/// trust their own certificates or name servers.
pub async fn run_until(
    config: Config,
    engine: Arc<Engine>,
    identity: heartbeat::Identity,
    stats: Option<Arc<Stats>>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    shared::telemetry::prometheus();
    shared::telemetry::spawn_upkeep();
    shared::telemetry::init_worker_series();
    let db = shared::db::build_pool(&config)?;
    shared::db::wait_for_schema(&db, SCHEMA_WAIT).await?;
    let redis = shared::redis::build_pool(&config)?;
    let schedule = Schedule::new(&Keys::new(config.redis_key_prefix.clone()), 0);
    let stats = stats.unwrap_or_default();

    let (server, server_handle) = metrics_server(&config, db.clone())?;
    let server_task = tokio::spawn(server);

    tracing::info!(
        worker_id = %identity.worker_id,
        metrics_port = config.metrics_port,
        concurrency = config.check_worker_count,
        "worker started"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (give_up_tx, give_up_rx) = tokio::sync::watch::channel(false);
    let wake = Arc::new(Notify::new());
    let rebuild = Arc::new(Notify::new());
    let (results_tx, results_rx) = writer::channel();

    let writer_task = tokio::spawn(writer::run(
        db.clone(),
        results_rx,
        stats.clone(),
        give_up_rx,
    ));
    let beats = tokio::spawn(heartbeat::run(
        db.clone(),
        redis.clone(),
        config.redis_key_prefix.clone(),
        identity.clone(),
        stats.clone(),
        stop_rx.clone(),
    ));
    let duties = tokio::spawn(maintenance::run(
        db.clone(),
        redis.clone(),
        schedule.clone(),
        identity.worker_id.clone(),
        config.results_retention_days,
        rebuild.clone(),
        stats.clone(),
        stop_rx.clone(),
    ));
    let status_clock = tokio::spawn(maintenance::run_status_clock(db.clone(), stop_rx.clone()));
    let notifications = tokio::spawn(notifier::run(
        db.clone(),
        config.clone(),
        identity.worker_id.clone(),
        stop_rx.clone(),
    ));
    let listener = tokio::spawn(maintenance::wake_listener(
        config.redis_url.expose().to_owned(),
        schedule.wake_channel().to_owned(),
        wake.clone(),
        stop_rx.clone(),
    ));
    let runner = runner::Runner::new(
        config.clone(),
        identity.worker_id.clone(),
        db.clone(),
        redis.clone(),
        schedule,
        engine,
        stats.clone(),
        results_tx,
        wake,
        rebuild,
    );
    let drain = config.shutdown_timeout.saturating_sub(FLUSH_SHARE);
    let claim_loop = tokio::spawn(runner.run(stop_rx, drain));

    shutdown.await;
    let stopping = tokio::time::Instant::now();
    tracing::info!("stopping: no new claims; finishing checks in flight");
    let _ = stop_tx.send(true);
    // The claim loop drains (or releases) its checks, then drops the last
    // result sender, so the writer ends once everything is written.
    let _ = claim_loop.await;
    let flush_deadline = stopping + config.shutdown_timeout;
    if tokio::time::timeout_at(flush_deadline, writer_task)
        .await
        .is_err()
    {
        let _ = give_up_tx.send(true);
        tracing::error!("results still unwritten at the shutdown deadline");
    }
    let _ = tokio::join!(beats, duties, status_clock, listener, notifications);
    heartbeat::remove(&db, &redis, &config.redis_key_prefix, &identity).await;
    server_handle.stop(true).await;
    let _ = server_task.await;
    tracing::info!("stopped");
    Ok(())
}

type MetricsServer = (actix_web::dev::Server, actix_web::dev::ServerHandle);

fn metrics_server(config: &Config, db: deadpool_postgres::Pool) -> anyhow::Result<MetricsServer> {
    let listener = TcpListener::bind(("0.0.0.0", config.metrics_port))
        .with_context(|| format!("binding METRICS_PORT {}", config.metrics_port))?;
    let server = HttpServer::new(move || {
        let db = db.clone();
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let db = db.clone();
                async move {
                    shared::db::record_pool_gauges(std::slice::from_ref(&db));
                    let handle = shared::telemetry::prometheus();
                    handle.run_upkeep();
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(handle.render())
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok((server, handle))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {},
                _ = terminate.recv() => {},
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}
