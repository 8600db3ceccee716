//! Every endpoint, one module per resource.

pub mod api_keys;
pub mod audit;
pub mod channels;
pub mod checks;
pub mod components;
pub mod dashboard;
pub mod health;
pub mod incidents;
pub mod maintenance_preview;
pub mod maintenance_windows;
pub mod metrics;
pub mod monitor_series;
pub mod monitor_test_run;
pub mod monitors;
pub mod notifications;
pub mod sla;
pub mod status_incidents;
pub mod status_pages;
pub mod workers;

use actix_web::web;

/// Registers all routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    checks::configure(cfg);
    workers::configure_page(cfg);
    crate::pages::assets::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(monitor_test_run::configure)
            .configure(monitors::configure)
            .configure(monitor_series::configure)
            .configure(channels::configure)
            .configure(components::configure)
            .configure(api_keys::configure)
            .configure(audit::configure)
            .configure(incidents::configure)
            .configure(maintenance_preview::configure)
            .configure(maintenance_windows::configure)
            .configure(notifications::configure)
            .configure(sla::configure)
            .configure(status_incidents::configure)
            .configure(status_pages::configure)
            .configure(workers::configure)
            .configure(dashboard::configure),
    );
}
