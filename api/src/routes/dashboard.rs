//! Endpoints the dashboard needs beyond the resources' own, documented and
//! tested like every other: who the caller is (`GET /api/v1/me`), and the
//! figures of the overview's monitor list (`GET /api/v1/monitor-stats`).

use actix_web::web;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use shared::model::api_key::Scope;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::startup::AppState;

/// Most monitors one stats request may name.
pub const MAX_STATS_IDS: usize = 100;
/// Width of a sparkline point: the last hour in 5-minute buckets.
const SPARK_BUCKET_SECONDS: i64 = 300;
const SPARK_BUCKETS: i64 = 12;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").route(web::get().to(me)))
        .service(web::resource("/monitor-stats").route(web::get().to(monitor_stats)));
}

/// The caller's key: its name and scopes (what the dashboard may offer).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    /// None for UPTIME_BOOTSTRAP_API_KEY.
    key_id: Option<Uuid>,
    name: String,
    scopes: Vec<&'static str>,
}

async fn me(caller: Caller) -> web::Json<Me> {
    web::Json(Me {
        key_id: caller.key_id,
        name: caller.name.clone(),
        scopes: caller.scopes.iter().map(|s| s.as_str()).collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    ids: Option<String>,
}

/// One monitor's overview figures.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MonitorStats {
    id: Uuid,
    /// Over the last 24 hours (maintenance left out), as `/uptime?period=24h`.
    uptime_24h_percent: Option<f64>,
    checks_24h: i64,
    /// The last hour in 5-minute buckets, oldest first: the mean total time
    /// of the checks that did not fail, or null for a bucket without any.
    latency_last_hour: Vec<Option<f64>>,
}

#[derive(Serialize)]
struct StatsPage {
    items: Vec<MonitorStats>,
    /// When the figures were read.
    at: DateTime<Utc>,
}

/// `GET /api/v1/monitor-stats?ids=a,b,...` (read; at most 100 ids): each
/// existing monitor's 24-hour uptime and last-hour latency; unknown ids are
/// left out.
#[tracing::instrument(skip_all)]
async fn monitor_stats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
) -> Result<web::Json<StatsPage>, ApiError> {
    caller.require(Scope::Read)?;
    let text = query.ids.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "ids: name at least one monitor id (comma-separated)",
        ));
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for part in text.split(',') {
        let id = part.trim().parse::<Uuid>().map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("ids: {:?} is not a monitor id (a UUID)", part.trim()),
            )
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_STATS_IDS {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("ids: at most {MAX_STATS_IDS} monitors per request"),
        ));
    }
    let client = state.db.get().await?;
    let existing = client
        .query(
            "SELECT id FROM monitors WHERE id = ANY($1) ORDER BY array_position($1, id)",
            &[&ids],
        )
        .await?;
    let ids: Vec<Uuid> = existing.iter().map(|row| row.get(0)).collect();
    let uptimes = try_join_all(
        ids.iter()
            .map(|id| shared::rollup::uptime(&client, *id, "24h", 1)),
    )
    .await?;
    let spark = client
        .query(
            "SELECT monitor_id, \
                 floor(extract(epoch FROM now() - slot_ts) / $2::float8)::int4 AS age, \
                 avg(total_ms) FILTER (WHERE status <> 'down')::float8 \
             FROM check_results \
             WHERE monitor_id = ANY($1) AND slot_ts > now() - make_interval(secs => $2::float8 * $3::float8) \
             GROUP BY 1, 2",
            &[
                &ids,
                &(SPARK_BUCKET_SECONDS as f64),
                &(SPARK_BUCKETS as f64),
            ],
        )
        .await?;
    let at: DateTime<Utc> = client.query_one("SELECT now()", &[]).await?.get(0);
    let mut items: Vec<MonitorStats> = ids
        .iter()
        .zip(uptimes)
        .map(|(id, uptime)| MonitorStats {
            id: *id,
            uptime_24h_percent: uptime.uptime_percent,
            checks_24h: uptime.checks,
            latency_last_hour: vec![None; SPARK_BUCKETS as usize],
        })
        .collect();
    for row in &spark {
        let id: Uuid = row.get(0);
        let age: i32 = row.get(1);
        let Some(item) = items.iter_mut().find(|i| i.id == id) else {
            continue;
        };
        let Ok(age) = usize::try_from(age) else {
            continue;
        };
        if age < item.latency_last_hour.len() {
            let index = item.latency_last_hour.len() - 1 - age;
            item.latency_last_hour[index] = row
                .get::<_, Option<f64>>(2)
                .map(|ms| (ms * 10.0).round() / 10.0);
        }
    }
    Ok(web::Json(StatsPage { items, at }))
}
