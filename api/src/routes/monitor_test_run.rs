//! `POST /api/v1/monitors/test`: runs a monitor body once and answers the
//! result, storing nothing — the dashboard's "Test" button, and a dry run
//! for scripts. The body is validated exactly as `POST /api/v1/monitors`
//! validates it, and the check runs in the same engine under the same
//! target rules as a scheduled one.

use std::time::Duration;

use actix_web::{guard, web, HttpResponse};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};
use shared::model::Scope;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::startup::AppState;

/// Time kept back from the request deadline to answer in.
const DEADLINE_RESERVE: Duration = Duration::from_secs(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Registered before `/monitors/{id}` and for POST only: this literal
    // path wins for POST, while any other method on it still reaches the
    // monitor routes (and answers as it did before).
    cfg.service(
        web::resource("/monitors/test")
            .guard(guard::Post())
            .route(web::post().to(run)),
    );
}

/// Validates the body as a new monitor, runs its check once within this
/// request's deadline, and answers the outcome with the timeout it ran with.
#[tracing::instrument(skip_all)]
async fn run(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let mut spec =
        input::monitor::parse(body.into_inner(), &super::monitors::rules(&state)).await?;
    // Shares the bound of /ping-endpoint: a few one-off checks at a time.
    let Ok(_slot) = state.ping_slots.clone().try_acquire_owned() else {
        return Err(ApiError::TooManyRequests(
            "too many one-off checks are running; retry in a moment",
        ));
    };
    let deadline = state
        .config
        .api_write_timeout
        .saturating_sub(DEADLINE_RESERVE)
        .as_secs()
        .max(1);
    spec.timeout_seconds = spec
        .timeout_seconds
        .min(u32::try_from(deadline).unwrap_or(u32::MAX));
    let checked_at = Utc::now();
    let outcome = state.engine.check(&spec).await;
    let mut answer = outcome.to_json();
    answer["type"] = json!(spec.kind.as_str());
    answer["target"] = json!(spec.target);
    answer["timeoutSeconds"] = json!(spec.timeout_seconds);
    answer["checkedAt"] = json!(checked_at.to_rfc3339_opts(SecondsFormat::Millis, true));
    Ok(HttpResponse::Ok().json(answer))
}
