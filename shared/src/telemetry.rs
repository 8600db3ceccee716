//! Logging and metrics set-up, and every metric name used by both binaries.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{Config, LogFormat, LogLevel};

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
/// Checks run, by monitor type and outcome (up, down, degraded).
pub const CHECKS_TOTAL: &str = "uptime_checks_total";
/// Check phase durations, by monitor type and phase (dns, connect, tls, ttfb, total).
pub const CHECK_DURATION_SECONDS: &str = "uptime_check_duration_seconds";
/// Claim time minus slot time, by the Redis clock.
pub const SCHEDULING_LATENESS_SECONDS: &str = "uptime_scheduling_lateness_seconds";
/// Expired leases reaped and made due again.
pub const LEASES_RECLAIMED_TOTAL: &str = "uptime_leases_reclaimed_total";
/// Acknowledgements refused because the lease was no longer ours.
pub const LEASES_LOST_TOTAL: &str = "uptime_leases_lost_total";
/// Slots acknowledged before their result was confirmed stored (Postgres
/// slow or away; such results live only in the worker's buffer).
pub const ACKS_UNSTORED_TOTAL: &str = "uptime_acks_before_stored_total";
/// Checks running on this worker.
pub const CHECKS_IN_FLIGHT: &str = "uptime_worker_checks_in_flight";
/// Checks claimed but not started on this worker.
pub const CHECKS_QUEUED: &str = "uptime_worker_checks_queued";
/// Results waiting to be written to Postgres.
pub const RESULTS_BUFFERED: &str = "uptime_worker_results_buffered";
/// Results written to Postgres (duplicates excluded).
pub const RESULTS_WRITTEN_TOTAL: &str = "uptime_results_written_total";
/// Failed attempts to write a batch of results.
pub const RESULT_WRITE_ERRORS_TOTAL: &str = "uptime_result_write_errors_total";
/// Results Postgres refused as they were, stored without their text.
pub const RESULTS_STRIPPED_TOTAL: &str = "uptime_results_stripped_total";
/// Incidents opened.
pub const INCIDENTS_OPENED_TOTAL: &str = "uptime_incidents_opened_total";
/// Incidents resolved.
pub const INCIDENTS_RESOLVED_TOTAL: &str = "uptime_incidents_resolved_total";
/// Whether a monitor's last check on this worker was up (1), degraded (0.5) or down (0).
pub const MONITOR_UP: &str = "uptime_monitor_up";
/// Total duration of a monitor's last check on this worker.
pub const MONITOR_LATENCY_SECONDS: &str = "uptime_monitor_latency_seconds";
/// Schedule rebuilds from Postgres after Redis lost it.
pub const SCHEDULE_REBUILDS_TOTAL: &str = "uptime_schedule_rebuilds_total";
/// Schedule differences repaired by reconciliation, by kind (upserted, removed).
pub const SCHEDULE_REPAIRS_TOTAL: &str = "uptime_schedule_repairs_total";
/// Schedule updates from the API that failed (reconciliation repairs them).
pub const SCHEDULE_UPDATE_ERRORS_TOTAL: &str = "uptime_schedule_update_errors_total";

/// Notification deliveries by channel type and outcome (delivered, retry, failed, ...).
pub const NOTIFICATIONS_TOTAL: &str = "uptime_notifications_total";
/// Duration of one delivery attempt, by channel type.
pub const NOTIFICATION_ATTEMPT_SECONDS: &str = "uptime_notification_attempt_duration_seconds";
/// Notification events waiting to be delivered.
pub const OUTBOX_PENDING: &str = "uptime_outbox_pending_events";
/// Age of the oldest pending notification event.
pub const OUTBOX_OLDEST_PENDING_SECONDS: &str = "uptime_outbox_oldest_pending_age_seconds";

/// Monitors by status (exported by the API at scrape time).
pub const MONITORS: &str = "uptime_monitors";
/// Open incidents (exported by the API at scrape time).
pub const OPEN_INCIDENTS: &str = "uptime_open_incidents";
/// Each component's shown status, by `ComponentStatus::gauge`: 0 operational,
/// 1 degraded_performance, 2 partial_outage, 3 major_outage, 4
/// under_maintenance (exported by the API at scrape time).
pub const COMPONENT_STATUS: &str = "uptime_component_status";
/// Status incidents by status; resolved and postmortem count the last 24 h
/// (exported by the API at scrape time).
pub const STATUS_INCIDENTS: &str = "uptime_status_incidents";
/// Maintenance windows by state: scheduled, in_progress, completed
/// (exported by the API at scrape time).
pub const MAINTENANCE_WINDOWS: &str = "uptime_maintenance_windows";
/// Unix time of a worker's last successful heartbeat.
pub const WORKER_HEARTBEAT_TIMESTAMP_SECONDS: &str = "uptime_worker_heartbeat_timestamp_seconds";

/// Per-monitor gauges not updated for this long are dropped from /metrics,
/// so a worker stops exporting monitors that another worker now checks or
/// that were deleted.
const GAUGE_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Latency buckets in seconds for request histograms.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Our crates, as tracing targets: LOG_LEVEL sets their level.
const OWN_TARGETS: &[&str] = &["uptime_api", "uptime_worker", "shared"];

/// Dependencies that log SQL statements with their parameters, URLs, headers
/// or bodies below info, all of which can carry secrets: they never log
/// below info, whatever LOG_LEVEL or RUST_LOG say. A target matches every
/// crate and module whose path starts with it (`deadpool` covers
/// `deadpool_postgres`, `hyper` covers `hyper_util`, `actix` covers
/// `actix_http`).
const QUIET_DEPENDENCIES: &[&str] = &[
    "tokio_postgres",
    "postgres_protocol",
    "deadpool",
    "redis",
    "hyper",
    "h2",
    "reqwest",
    "actix",
];

/// Installs the log subscriber once; later calls (tests) are ignored.
///
/// LOG_LEVEL applies to our own crates; dependencies log at info at most.
/// RUST_LOG, when set, replaces that filter, but [`QUIET_DEPENDENCIES`] stay
/// capped at info: the cap is a second filter every event must also pass, so
/// no RUST_LOG directive, however specific, can lower it.
pub fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(log_directives(config.log_level)));
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(
            QUIET_DEPENDENCIES
                .iter()
                .map(|target| (*target, LevelFilter::INFO)),
        );
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(caps)
            .try_init(),
        LogFormat::Text => builder.finish().with(caps).try_init(),
    };
}

/// The filter for LOG_LEVEL: that level for our crates, and for every
/// dependency the same level but never below info.
fn log_directives(level: LogLevel) -> String {
    let dependencies = match level {
        LogLevel::Debug => LogLevel::Info,
        quieter => quieter,
    };
    let mut directives = dependencies.as_filter().to_owned();
    for target in OWN_TARGETS {
        directives.push_str(&format!(",{target}={}", level.as_filter()));
    }
    directives
}

/// The process-wide Prometheus recorder, installed on first use and described.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .idle_timeout(
                metrics_util::MetricKindMask::GAUGE,
                Some(GAUGE_IDLE_TIMEOUT),
            )
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

/// How often the recorder's histograms are drained without a scrape.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Drains the recorder's histogram samples every few seconds on the current
/// Tokio runtime (once per process). Without it, samples pile up between
/// scrapes — without bound when nothing scrapes /metrics (about 15 bytes
/// per API request; BENCHMARKS.md, status pages).
pub fn spawn_upkeep() {
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if STARTED.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return;
    }
    runtime.spawn(async {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            prometheus().run_upkeep();
        }
    });
}

fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS_TOTAL, "API requests served");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "API request latency"
    );
    metrics::describe_gauge!(DB_POOL_CONNECTIONS, "PostgreSQL pool connections by state");
    metrics::describe_gauge!(
        COMPONENT_STATUS,
        "Component status: 0 operational, 1 degraded_performance, 2 partial_outage, 3 major_outage, 4 under_maintenance"
    );
    metrics::describe_gauge!(
        MAINTENANCE_WINDOWS,
        "Maintenance windows by state (scheduled, in_progress, completed)"
    );
    metrics::describe_gauge!(
        STATUS_INCIDENTS,
        "Status incidents by status (resolved and postmortem: last 24 hours)"
    );
    metrics::describe_gauge!(DB_POOL_MAX_CONNECTIONS, "PostgreSQL pool maximum size");
    metrics::describe_gauge!(REDIS_POOL_CONNECTIONS, "Redis pool connections by state");
    metrics::describe_gauge!(BUILD_INFO, "Build information");
    metrics::describe_counter!(CHECKS_TOTAL, "Checks run by type and outcome");
    metrics::describe_histogram!(
        CHECK_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Check phase durations by type and phase"
    );
    metrics::describe_histogram!(
        SCHEDULING_LATENESS_SECONDS,
        metrics::Unit::Seconds,
        "Claim time minus slot time"
    );
    metrics::describe_counter!(LEASES_RECLAIMED_TOTAL, "Expired leases made due again");
    metrics::describe_counter!(
        LEASES_LOST_TOTAL,
        "Acknowledgements of leases no longer held"
    );
    metrics::describe_counter!(
        ACKS_UNSTORED_TOTAL,
        "Slots acknowledged before their result was stored"
    );
    metrics::describe_gauge!(CHECKS_IN_FLIGHT, "Checks running");
    metrics::describe_gauge!(CHECKS_QUEUED, "Checks claimed but not started");
    metrics::describe_gauge!(RESULTS_BUFFERED, "Results waiting to be written");
    metrics::describe_counter!(RESULTS_WRITTEN_TOTAL, "Results written");
    metrics::describe_counter!(RESULT_WRITE_ERRORS_TOTAL, "Failed result batch writes");
    metrics::describe_counter!(
        RESULTS_STRIPPED_TOTAL,
        "Results Postgres refused as they were, stored without their text"
    );
    metrics::describe_counter!(INCIDENTS_OPENED_TOTAL, "Incidents opened");
    metrics::describe_counter!(INCIDENTS_RESOLVED_TOTAL, "Incidents resolved");
    metrics::describe_gauge!(
        MONITOR_UP,
        "Last check state per monitor (1 up, 0.5 degraded, 0 down)"
    );
    metrics::describe_gauge!(
        MONITOR_LATENCY_SECONDS,
        metrics::Unit::Seconds,
        "Total duration of the last check per monitor"
    );
    metrics::describe_counter!(SCHEDULE_REBUILDS_TOTAL, "Schedule rebuilds from Postgres");
    metrics::describe_counter!(SCHEDULE_REPAIRS_TOTAL, "Schedule differences repaired");
    metrics::describe_counter!(SCHEDULE_UPDATE_ERRORS_TOTAL, "Failed schedule updates");
    metrics::describe_counter!(
        NOTIFICATIONS_TOTAL,
        "Notification attempts by channel type and outcome"
    );
    metrics::describe_histogram!(
        NOTIFICATION_ATTEMPT_SECONDS,
        metrics::Unit::Seconds,
        "Duration of one delivery attempt"
    );
    metrics::describe_gauge!(OUTBOX_PENDING, "Notification events waiting for delivery");
    metrics::describe_gauge!(
        OUTBOX_OLDEST_PENDING_SECONDS,
        metrics::Unit::Seconds,
        "Age of the oldest pending notification event"
    );
}

/// Registers the worker's counters at zero (and its build info), so rates
/// and alerts see a series from the start instead of no data.
pub fn init_worker_series() {
    metrics::gauge!(BUILD_INFO, "version" => crate::VERSION, "service" => "worker").set(1.0);
    for name in [
        INCIDENTS_OPENED_TOTAL,
        INCIDENTS_RESOLVED_TOTAL,
        LEASES_RECLAIMED_TOTAL,
        LEASES_LOST_TOTAL,
        ACKS_UNSTORED_TOTAL,
        RESULTS_WRITTEN_TOTAL,
        RESULT_WRITE_ERRORS_TOTAL,
        RESULTS_STRIPPED_TOTAL,
        SCHEDULE_REBUILDS_TOTAL,
    ] {
        metrics::counter!(name).increment(0);
    }
    for kind in crate::model::MonitorType::ALL {
        for outcome in ["up", "down", "degraded"] {
            metrics::counter!(CHECKS_TOTAL, "type" => kind.as_str(), "outcome" => outcome)
                .increment(0);
        }
    }
    for kind in crate::model::ChannelType::ALL {
        for outcome in ["delivered", "retry", "failed"] {
            metrics::counter!(NOTIFICATIONS_TOTAL, "channel_type" => kind.as_str(), "outcome" => outcome)
                .increment(0);
        }
    }
    for kind in ["upserted", "removed"] {
        metrics::counter!(SCHEDULE_REPAIRS_TOTAL, "kind" => kind).increment(0);
    }
}
