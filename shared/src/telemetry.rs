//! Logging and metrics set-up, and every metric name used by both binaries.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{Config, LogFormat};

/// Requests served by the API, by method, route template and status.
pub const HTTP_REQUESTS_TOTAL: &str = "uptime_api_http_requests_total";
/// API request latency, by method, route template and status.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "uptime_api_http_request_duration_seconds";
/// PostgreSQL pool connections by state (idle, in_use).
pub const DB_POOL_CONNECTIONS: &str = "uptime_db_pool_connections";
/// Configured maximum size of the PostgreSQL pool.
pub const DB_POOL_MAX_CONNECTIONS: &str = "uptime_db_pool_max_connections";
/// Redis pool connections by state (idle, in_use).
pub const REDIS_POOL_CONNECTIONS: &str = "uptime_redis_pool_connections";
/// Build information; the value is always 1.
pub const BUILD_INFO: &str = "uptime_build_info";

/// Latency buckets in seconds for request histograms.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the log subscriber once; later calls (tests) are ignored.
pub fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(config.log_level.as_filter()));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder, installed on first use and described.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is already global; render an empty one of our own.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS_TOTAL, "API requests served");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "API request latency"
    );
    metrics::describe_gauge!(DB_POOL_CONNECTIONS, "PostgreSQL pool connections by state");
    metrics::describe_gauge!(DB_POOL_MAX_CONNECTIONS, "PostgreSQL pool maximum size");
    metrics::describe_gauge!(REDIS_POOL_CONNECTIONS, "Redis pool connections by state");
    metrics::describe_gauge!(BUILD_INFO, "Build information");
}
