//! `GET /health` and the legacy `GET /health-check`: the state of each dependency.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::startup::AppState;

/// Longest a dependency may take to answer a health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/health-check").route(web::get().to(health)));
}

fn verdict(outcome: Result<Result<(), String>, tokio::time::error::Elapsed>) -> serde_json::Value {
    match outcome {
        Ok(Ok(())) => json!({ "status": "up" }),
        Ok(Err(error)) => json!({ "status": "down", "error": error }),
        Err(_) => json!({ "status": "down", "error": "timed out" }),
    }
}

#[tracing::instrument(skip_all)]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, redis) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, shared::db::ping(state.db.idlest())),
        tokio::time::timeout(PROBE_TIMEOUT, shared::redis::ping(&state.redis)),
    );
    let postgres = verdict(postgres);
    let redis = verdict(redis);
    let down: Vec<&str> = [("postgres", &postgres), ("redis", &redis)]
        .into_iter()
        .filter(|(_, v)| v["status"] != "up")
        .map(|(name, _)| name)
        .collect();
    let body = json!({
        "status": if down.is_empty() { "ok" } else { "unavailable" },
        "version": shared::VERSION,
        "checks": { "postgres": postgres, "redis": redis },
    });
    if down.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        let mut body = body;
        body["error"] = json!("dependency_unavailable");
        body["message"] = json!(format!("unavailable: {}", down.join(", ")));
        HttpResponse::ServiceUnavailable().json(body)
    }
}
