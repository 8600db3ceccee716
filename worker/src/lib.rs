//! The UpTime worker. Until the scheduling issue lands it registers itself:
//! it waits for the schema, writes its heartbeat every few seconds, serves
//! `/metrics` on METRICS_PORT, and stops cleanly on SIGTERM.

pub mod heartbeat;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use shared::config::Config;

/// How long a starting worker waits for the API to create the schema.
const SCHEMA_WAIT: Duration = Duration::from_secs(120);

/// Runs the worker until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    shared::telemetry::prometheus();
    let db = shared::db::build_pool(&config)?;
    shared::db::wait_for_schema(&db, SCHEMA_WAIT).await?;

    let listener = TcpListener::bind(("0.0.0.0", config.metrics_port))
        .with_context(|| format!("binding METRICS_PORT {}", config.metrics_port))?;
    let metrics_db = db.clone();
    let server = HttpServer::new(move || {
        let db = metrics_db.clone();
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let db = db.clone();
                async move {
                    shared::db::record_pool_gauges(&db);
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
    let server_handle = server.handle();
    let server_task = tokio::spawn(server);

    let identity = heartbeat::Identity::new();
    tracing::info!(worker_id = %identity.worker_id, metrics_port = config.metrics_port, "worker started");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let beats = tokio::spawn(heartbeat::run(db.clone(), identity.clone(), stop_rx));

    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(config.shutdown_timeout, beats).await;
    heartbeat::remove(&db, &identity).await;
    server_handle.stop(true).await;
    let _ = server_task.await;
    Ok(())
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
