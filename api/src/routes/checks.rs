//! `POST /api/v1/monitors/{id}/check-now` and the legacy `POST /ping-endpoint`.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::model::api_key::Scope;
use shared::model::check_result::CHECK_RESULT_COLUMNS;
use shared::model::CheckResult;
use shared::schedule::{slot_time, CheckNow, Entry, LEASE_MARGIN};
use shared::target_policy;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::monitors::fetch_existing;
use crate::startup::AppState;

/// How often a waiting check-now looks for its result.
const WAIT_POLL: Duration = Duration::from_millis(100);
/// Time kept back from the request deadline when waiting.
const DEADLINE_RESERVE: Duration = Duration::from_secs(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ping-endpoint").route(web::post().to(ping)));
}

/// Query parameters of check-now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckNowQuery {
    wait: Option<bool>,
}

/// The monitor as stored now: 404 once deleted, 409 once paused.
async fn still_enabled(state: &AppState, id: Uuid) -> Result<shared::model::Monitor, ApiError> {
    let client = state.db.get().await?;
    let monitor = fetch_existing(&client, id, false).await?;
    if monitor.spec.enabled {
        Ok(monitor)
    } else {
        Err(ApiError::Conflict(
            "the monitor is paused; resume it first, or use POST /ping-endpoint for a one-off check"
                .to_owned(),
        ))
    }
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
pub async fn check_now(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<CheckNowQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let monitor = {
        let client = state.db.get().await?;
        fetch_existing(&client, id, false).await?
    };
    if !monitor.spec.enabled {
        return Err(ApiError::Conflict(
            "the monitor is paused; resume it first, or use POST /ping-endpoint for a one-off check"
                .to_owned(),
        ));
    }
    let mut outcome = state.schedule.check_now(&state.redis, id).await?;
    if outcome == CheckNow::NotScheduled {
        // Redis lost this monitor (restart, missed update), or a delete or
        // pause is removing it right now: read it again before scheduling
        // it, so a monitor being deleted or paused is not put back.
        let monitor = still_enabled(&state, id).await?;
        let entry = Entry::of(&monitor);
        state.schedule.upsert(&state.redis, &entry, false).await?;
        outcome = state.schedule.check_now(&state.redis, id).await?;
    }
    let (slot_ms, after_in_flight) = match outcome {
        CheckNow::Due { slot_ms } => (slot_ms, false),
        CheckNow::AfterInFlight { slot_ms } => (slot_ms, true),
        CheckNow::NotScheduled => {
            // Removed again meanwhile: say why if it was deleted or paused.
            still_enabled(&state, id).await?;
            return Err(ApiError::Unavailable(
                "the monitor could not be scheduled; retry shortly",
            ));
        }
    };
    let slot = slot_time(slot_ms);
    let check_id = format!("{id}:{slot_ms}");
    let pending = json!({
        "checkId": check_id,
        "monitorId": id,
        "slotTs": slot.to_rfc3339_opts(SecondsFormat::Millis, true),
        "state": if after_in_flight { "queued_after_in_flight" } else { "queued" },
    });
    if query.wait != Some(true) {
        return Ok(HttpResponse::Accepted().json(pending));
    }
    // One check (two when one is in flight) plus the lease margin, but
    // never past this request's own deadline.
    let timeout = Duration::from_secs(u64::from(monitor.spec.timeout_seconds));
    let runs = if after_in_flight { 2 } else { 1 };
    let bound = (timeout * runs + LEASE_MARGIN).min(
        state
            .config
            .api_write_timeout
            .saturating_sub(DEADLINE_RESERVE),
    );
    match wait_for_result(&state, id, slot, bound).await? {
        Some(result) => {
            let mut body = pending;
            body["state"] = json!("done");
            body["result"] = serde_json::to_value(&result).unwrap_or(Value::Null);
            Ok(HttpResponse::Ok().json(body))
        }
        None => Ok(HttpResponse::Accepted().json(pending)),
    }
}

/// Polls for the first result of `id` at or after `slot`, up to `bound`.
async fn wait_for_result(
    state: &AppState,
    id: Uuid,
    slot: DateTime<Utc>,
    bound: Duration,
) -> Result<Option<CheckResult>, ApiError> {
    let deadline = tokio::time::Instant::now() + bound;
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {CHECK_RESULT_COLUMNS} FROM check_results \
             WHERE monitor_id = $1 AND slot_ts >= $2 ORDER BY slot_ts LIMIT 1"
        ))
        .await?;
    loop {
        if let Some(row) = client.query_opt(&statement, &[&id, &slot]).await? {
            return Ok(Some(CheckResult::from_row(&row)?));
        }
        if tokio::time::Instant::now() + WAIT_POLL > deadline {
            return Ok(None);
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// Body of the legacy `POST /ping-endpoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingBody {
    endpoint: Option<Value>,
}

/// Runs one HTTP GET check of `endpoint` with the same engine and target
/// rules as monitors, and returns its result; nothing is stored. Open
/// without a key, as in the sibling system, but only a few run at once.
#[tracing::instrument(skip_all)]
async fn ping(
    state: web::Data<AppState>,
    body: web::Json<PingBody>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = match &body.endpoint {
        Some(Value::String(text)) if !text.trim().is_empty() => text.trim().to_owned(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ApiError::invalid_field("endpoint", "is required"))
        }
        Some(_) => return Err(ApiError::invalid_field("endpoint", "must be a string")),
    };
    let url = url::Url::parse(&endpoint).map_err(|_| {
        ApiError::invalid_field(
            "endpoint",
            "must be an absolute http(s) URL, such as https://example.com",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid_field(
            "endpoint",
            "must use http or https",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid_field(
            "endpoint",
            "must not carry credentials",
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(ApiError::invalid_field("endpoint", "must name a host"));
    };
    if let Err(refused) = target_policy::check_host(host, state.config.allow_private_targets).await
    {
        return Err(ApiError::invalid_field("endpoint", refused.to_string()));
    }
    let Ok(_slot) = state.ping_slots.clone().try_acquire_owned() else {
        return Err(ApiError::TooManyRequests(
            "too many ping checks are running; retry in a moment",
        ));
    };
    let checked_at = Utc::now();
    let outcome = state.engine.ping(url.as_str()).await;
    let mut body = outcome.to_json();
    body["endpoint"] = json!(url.as_str());
    body["checkedAt"] = json!(checked_at.to_rfc3339_opts(SecondsFormat::Millis, true));
    Ok(HttpResponse::Ok().json(body))
}
