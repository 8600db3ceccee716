//! Worker tests against real Postgres and Redis and local targets: exactly
//! one check per slot across workers, reclaiming leases of killed and
//! paused workers, rebuilding a lost schedule, check-now, thresholds and
//! incidents, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../shared/tests/support/mod.rs"]
mod support;

mod faults;
mod helpers;
mod hostile;
mod incidents;
mod maintenance;
mod notifications;
mod processes;
mod scheduling;
mod secret_logs;
mod status;
