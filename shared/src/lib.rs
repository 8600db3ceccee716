//! Code shared by the UpTime API and worker: configuration, database and
//! Redis access, the domain model and the network target policy.

pub mod check;
pub mod component_uptime;
pub mod config;
pub mod db;
pub mod maintenance;
pub mod model;
pub mod notify;
pub mod outside_text;
pub mod redis;
pub mod rollup;
pub mod schedule;
pub mod sla;
pub mod target_policy;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

/// The version both binaries report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
