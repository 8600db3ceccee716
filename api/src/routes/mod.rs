//! Every endpoint, one module per resource.

pub mod api_keys;
pub mod audit;
pub mod channels;
pub mod health;
pub mod metrics;
pub mod monitors;

use actix_web::web;

/// Registers all routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(monitors::configure)
            .configure(channels::configure)
            .configure(api_keys::configure)
            .configure(audit::configure),
    );
}
