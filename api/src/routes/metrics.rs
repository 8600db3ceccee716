//! `GET /metrics`: Prometheus text format.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    shared::db::record_pool_gauges(&state.db);
    let redis = state.redis.status();
    metrics::gauge!(shared::telemetry::REDIS_POOL_CONNECTIONS, "state" => "in_use")
        .set(redis.size.saturating_sub(redis.available) as f64);
    metrics::gauge!(shared::telemetry::REDIS_POOL_CONNECTIONS, "state" => "idle")
        .set(redis.available as f64);
    metrics::gauge!(shared::telemetry::BUILD_INFO, "version" => shared::VERSION, "service" => "api")
        .set(1.0);
    let handle = shared::telemetry::prometheus();
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}
