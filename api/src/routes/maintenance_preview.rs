//! `POST /api/v1/maintenance-windows/preview`: the next occurrences a
//! maintenance window's schedule would have, without storing anything, so a
//! form can show them while the schedule is being typed.
//!
//! Registered before `/maintenance-windows/{id}`: that resource takes any
//! path segment, and would answer 405 for this one.

use actix_web::web;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use shared::maintenance::{self, Occurrence, Schedule};
use shared::model::Scope;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::maintenance_window::parse_schedule_only;

/// Occurrences a preview lists.
pub const PREVIEW_OCCURRENCES: usize = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/maintenance-windows/preview").route(web::post().to(preview)));
}

/// One occurrence, in UTC and in the window's time zone.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewOccurrence {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// RFC 3339 in the window's time zone, with its offset then.
    local_starts_at: String,
    local_ends_at: String,
    /// The zone's offset from UTC at the start, such as `+01:00`.
    utc_offset: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Preview {
    /// The window's IANA time zone (`UTC` for a one-off window).
    timezone: &'static str,
    /// The next occurrences that start after `at`, at most five; fewer when
    /// the schedule ends sooner (one-off, or `activeUntil`).
    occurrences: Vec<PreviewOccurrence>,
    /// The time the preview was computed at.
    at: DateTime<Utc>,
}

fn in_zone<Tz: TimeZone>(occurrence: &Occurrence, zone: &Tz) -> PreviewOccurrence
where
    Tz::Offset: std::fmt::Display,
{
    let starts = occurrence.starts_at.with_timezone(zone);
    let ends = occurrence.ends_at.with_timezone(zone);
    PreviewOccurrence {
        starts_at: occurrence.starts_at,
        ends_at: occurrence.ends_at,
        local_starts_at: starts.to_rfc3339_opts(SecondsFormat::Secs, false),
        local_ends_at: ends.to_rfc3339_opts(SecondsFormat::Secs, false),
        utc_offset: starts.format("%:z").to_string(),
    }
}

/// Validates the schedule fields of a window body exactly as a create does
/// (422 naming the bad field, such as a cron field or an unknown time zone)
/// and answers its next occurrences. Needs the `read` scope: it changes
/// nothing.
#[tracing::instrument(skip_all)]
async fn preview(caller: Caller, body: web::Json<Value>) -> Result<web::Json<Preview>, ApiError> {
    caller.require(Scope::Read)?;
    let schedule = parse_schedule_only(body.into_inner())?;
    let at = Utc::now();
    let upcoming = maintenance::upcoming(&schedule, at, PREVIEW_OCCURRENCES);
    let (timezone, occurrences) = match &schedule {
        Schedule::Recurring { timezone, .. } => (
            timezone.name(),
            upcoming.iter().map(|o| in_zone(o, timezone)).collect(),
        ),
        Schedule::OneOff { .. } => ("UTC", upcoming.iter().map(|o| in_zone(o, &Utc)).collect()),
    };
    Ok(web::Json(Preview {
        timezone,
        occurrences,
        at,
    }))
}
