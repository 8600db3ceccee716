//! `GET /api/v1/workers/status`: every worker's heartbeat (stale ones
//! flagged), the 50 most recent check results and monitor counts; and
//! `GET /workers`, which sends the browser to the dashboard's live view of
//! it.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::model::api_key::Scope;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::startup::AppState;

/// A worker without a heartbeat for this long is flagged stale.
pub const STALE_AFTER_SECONDS: i64 = 20;
/// How many recent results the status carries.
const RECENT_RESULTS: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/workers/status").route(web::get().to(status)));
}

/// Where `GET /workers` sends the browser: the dashboard's workers view.
const WORKERS_VIEW: &str = "/#/workers";

/// `GET /workers`: the address of the workers page before the dashboard,
/// kept working; the dashboard asks for a key and polls the status endpoint.
pub fn configure_page(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/workers").route(web::get().to(page)));
}

async fn page() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, WORKERS_VIEW))
        .finish()
}

#[tracing::instrument(skip_all)]
async fn status(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    let workers = client
        .query(
            "SELECT w.worker_id, w.host, w.pid, w.version, w.started_at, w.last_seen_at, \
                    w.active_jobs, w.queued_jobs, w.in_flight, now() AS now, \
                    ARRAY(SELECT json_build_object('id', m.id, 'name', m.name, 'type', m.type) \
                          FROM monitors m WHERE m.id = ANY(w.in_flight)) AS in_flight_monitors \
             FROM worker_heartbeats w ORDER BY w.started_at, w.worker_id",
            &[],
        )
        .await?;
    let mut items = Vec::with_capacity(workers.len());
    for row in &workers {
        let last_seen: DateTime<Utc> = row.try_get("last_seen_at")?;
        let now: DateTime<Utc> = row.try_get("now")?;
        let age = (now - last_seen).num_milliseconds().max(0);
        let in_flight: Vec<Uuid> = row.try_get("in_flight")?;
        let monitors: Vec<Value> = row.try_get("in_flight_monitors")?;
        items.push(json!({
            "workerId": row.try_get::<_, String>("worker_id")?,
            "host": row.try_get::<_, String>("host")?,
            "pid": row.try_get::<_, i32>("pid")?,
            "version": row.try_get::<_, String>("version")?,
            "startedAt": row.try_get::<_, DateTime<Utc>>("started_at")?,
            "lastSeenAt": last_seen,
            "lastSeenSecondsAgo": age as f64 / 1000.0,
            "stale": age > STALE_AFTER_SECONDS * 1000,
            "activeJobs": row.try_get::<_, i32>("active_jobs")?,
            "queuedJobs": row.try_get::<_, i32>("queued_jobs")?,
            "inFlight": in_flight,
            "inFlightMonitors": monitors,
        }));
    }
    let recent = client
        .query(
            "SELECT r.monitor_id, m.name, m.type, r.slot_ts, r.checked_at, r.worker_id, r.status, \
                    r.status_code, r.error, r.dns_ms, r.connect_ms, r.tls_ms, r.ttfb_ms, r.total_ms \
             FROM check_results r JOIN monitors m ON m.id = r.monitor_id \
             ORDER BY r.checked_at DESC LIMIT $1",
            &[&RECENT_RESULTS],
        )
        .await?;
    let mut results = Vec::with_capacity(recent.len());
    for row in &recent {
        results.push(json!({
            "monitorId": row.try_get::<_, Uuid>("monitor_id")?,
            "monitorName": row.try_get::<_, String>("name")?,
            "type": row.try_get::<_, String>("type")?,
            "slotTs": row.try_get::<_, DateTime<Utc>>("slot_ts")?,
            "checkedAt": row.try_get::<_, DateTime<Utc>>("checked_at")?,
            "workerId": row.try_get::<_, Option<String>>("worker_id")?,
            "status": row.try_get::<_, String>("status")?,
            "statusCode": row.try_get::<_, Option<i32>>("status_code")?,
            "error": row.try_get::<_, Option<String>>("error")?,
            "timings": {
                "dnsMs": row.try_get::<_, Option<f32>>("dns_ms")?,
                "connectMs": row.try_get::<_, Option<f32>>("connect_ms")?,
                "tlsMs": row.try_get::<_, Option<f32>>("tls_ms")?,
                "ttfbMs": row.try_get::<_, Option<f32>>("ttfb_ms")?,
                "totalMs": row.try_get::<_, f32>("total_ms")?,
            },
        }));
    }
    let counts = client
        .query_one(
            "SELECT \
               count(*) FILTER (WHERE status = 'up') AS up, \
               count(*) FILTER (WHERE status = 'down') AS down, \
               count(*) FILTER (WHERE status = 'degraded') AS degraded, \
               count(*) FILTER (WHERE status = 'paused') AS paused, \
               count(*) FILTER (WHERE status = 'unknown') AS unknown, \
               (SELECT count(*) FROM incidents WHERE resolved_at IS NULL) AS open_incidents \
             FROM monitors",
            &[],
        )
        .await?;
    Ok(web::Json(json!({
        "workers": items,
        "recentResults": results,
        "monitors": {
            "up": counts.try_get::<_, i64>("up")?,
            "down": counts.try_get::<_, i64>("down")?,
            "degraded": counts.try_get::<_, i64>("degraded")?,
            "paused": counts.try_get::<_, i64>("paused")?,
            "unknown": counts.try_get::<_, i64>("unknown")?,
        },
        "openIncidents": counts.try_get::<_, i64>("open_incidents")?,
        "staleAfterSeconds": STALE_AFTER_SECONDS,
    })))
}
