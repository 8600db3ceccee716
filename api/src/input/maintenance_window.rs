//! Validating a maintenance window body (create, or a patch merged onto the
//! current one).
//!
//! A window is one-off (`startsAt`, `endsAt`) or recurring (`cron`,
//! `durationMinutes`, `timezone`, optional `activeFrom` / `activeUntil`); a
//! body naming parts of both kinds is refused. Whether the monitors and
//! components exist is checked by the handler inside its write transaction.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::maintenance::{
    self, CronExpr, Schedule, Window, MAX_DURATION_MINUTES, MIN_DURATION_MINUTES,
};
use uuid::Uuid;

use super::Fields;
use crate::error::ApiError;

/// Fields of a window that only the server sets.
pub const READ_ONLY: [&str; 8] = [
    "id",
    "state",
    "currentOccurrence",
    "nextOccurrence",
    "upcoming",
    "occurrences",
    "createdAt",
    "updatedAt",
];
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 5000;
const MAX_IDS: usize = 500;
const MAX_CRON: usize = 200;
const MAX_TIMEZONE: usize = 100;
const ONE_OFF_FIELDS: [&str; 2] = ["startsAt", "endsAt"];
const RECURRING_FIELDS: [&str; 3] = ["cron", "durationMinutes", "timezone"];
const ACTIVE_FIELDS: [&str; 2] = ["activeFrom", "activeUntil"];

/// A validated window body.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    pub title: String,
    pub description: Option<String>,
    /// Sorted, without duplicates.
    pub monitor_ids: Vec<Uuid>,
    /// Sorted, without duplicates.
    pub component_ids: Vec<Uuid>,
    pub schedule: Schedule,
    pub notify_channels: bool,
}

impl WindowSpec {
    /// The editable part of a stored window.
    pub fn of(window: &Window) -> Self {
        Self {
            title: window.title.clone(),
            description: window.description.clone(),
            monitor_ids: window.monitor_ids.clone(),
            component_ids: window.component_ids.clone(),
            schedule: window.schedule.clone(),
            notify_channels: window.notify_channels,
        }
    }

    /// The editable form, onto which a PATCH is merged: only the fields of
    /// the window's kind, so a patch switches kinds by nulling the others.
    pub fn to_input_json(&self) -> Value {
        let mut value = json!({
            "title": self.title,
            "description": self.description,
            "monitorIds": self.monitor_ids,
            "componentIds": self.component_ids,
            "notifyChannels": self.notify_channels,
        });
        if let (Some(map), Value::Object(schedule)) =
            (value.as_object_mut(), schedule_json(&self.schedule))
        {
            map.extend(schedule);
        }
        value
    }
}

/// The schedule's fields as the API writes them.
pub fn schedule_json(schedule: &Schedule) -> Value {
    match schedule {
        Schedule::OneOff { starts_at, ends_at } => json!({
            "startsAt": starts_at,
            "endsAt": ends_at,
        }),
        Schedule::Recurring {
            cron,
            duration,
            timezone,
            active_from,
            active_until,
        } => json!({
            "cron": cron.as_str(),
            "durationMinutes": duration.num_minutes(),
            "timezone": timezone.name(),
            "activeFrom": active_from,
            "activeUntil": active_until,
        }),
    }
}

/// Validates a window body. Every problem is reported at once as a 422.
pub fn parse(body: Value) -> Result<WindowSpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let title = fields.required_string("title", MAX_TITLE);
    let description = fields
        .string("description", MAX_DESCRIPTION)
        .filter(|d| !d.is_empty());
    let monitor_ids = parse_ids(&mut fields, "monitorIds", "monitor");
    let component_ids = parse_ids(&mut fields, "componentIds", "component");
    if monitor_ids.as_ref().is_some_and(Vec::is_empty)
        && component_ids.as_ref().is_some_and(Vec::is_empty)
    {
        for name in ["monitorIds", "componentIds"] {
            fields.error(
                name,
                "a window must cover something: list at least one monitor in monitorIds or one component in componentIds",
            );
        }
    }
    let notify_channels = fields.bool("notifyChannels").unwrap_or(true);
    let schedule = parse_schedule(&mut fields);
    fields.finish(&READ_ONLY)?;
    match (title, monitor_ids, component_ids, schedule) {
        (Some(title), Some(monitor_ids), Some(component_ids), Some(schedule)) => Ok(WindowSpec {
            title,
            description,
            monitor_ids,
            component_ids,
            schedule,
            notify_channels,
        }),
        // Every None above recorded an error, so finish() returned it.
        _ => Err(ApiError::invalid_field("", "the body failed validation")),
    }
}

/// Validates the schedule fields of a window body alone, for a preview of
/// its occurrences (`POST /maintenance-windows/preview`): the same rules and
/// messages as [`parse`]. The window's other fields may come along (a form
/// sends the body it is about to save) and are ignored.
pub fn parse_schedule_only(body: Value) -> Result<Schedule, ApiError> {
    let mut fields = Fields::new(body)?;
    for name in [
        "title",
        "description",
        "monitorIds",
        "componentIds",
        "notifyChannels",
    ] {
        fields.take(name);
    }
    let schedule = parse_schedule(&mut fields);
    fields.finish(&READ_ONLY)?;
    schedule.ok_or_else(|| ApiError::invalid_field("", "the body failed validation"))
}

/// A list of ids (absent = empty), sorted without duplicates; None after an error.
fn parse_ids(fields: &mut Fields, name: &str, what: &str) -> Option<Vec<Uuid>> {
    let items = match fields.take(name) {
        None => return Some(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_IDS => items,
        Some(Value::Array(_)) => {
            fields.error(name, format!("must have at most {MAX_IDS} entries"));
            return None;
        }
        Some(_) => {
            fields.error(name, format!("must be a list of {what} ids (UUIDs)"));
            return None;
        }
    };
    let mut ids = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for (position, item) in items.iter().enumerate() {
        match item
            .as_str()
            .and_then(|text| Uuid::parse_str(text.trim()).ok())
        {
            Some(id) => ids.push(id),
            None => bad.push((position + 1).to_string()),
        }
    }
    if !bad.is_empty() {
        let which = match bad.as_slice() {
            [one] => format!("entry {one} is not"),
            many => format!("entries {} are not", many.join(", ")),
        };
        fields.error(
            name,
            format!("every entry must be a {what} id (UUID); {which}"),
        );
        return None;
    }
    ids.sort();
    ids.dedup();
    Some(ids)
}

/// The schedule: one-off or recurring, never both.
fn parse_schedule(fields: &mut Fields) -> Option<Schedule> {
    let one_off = ONE_OFF_FIELDS.iter().any(|name| fields.has(name));
    let recurring = RECURRING_FIELDS.iter().any(|name| fields.has(name));
    if one_off && recurring {
        for name in RECURRING_FIELDS {
            fields.refuse(
                name,
                "does not go with startsAt and endsAt: a window is either one-off (startsAt, endsAt) \
                 or recurring (cron, durationMinutes, timezone), not both",
            );
        }
        // Read but not judged: the kind is what is wrong.
        for name in ACTIVE_FIELDS.iter().chain(&ONE_OFF_FIELDS) {
            fields.take(name);
        }
        return None;
    }
    if recurring {
        return parse_recurring(fields);
    }
    for name in ACTIVE_FIELDS {
        fields.refuse(
            name,
            "applies only to recurring windows (with cron, durationMinutes and timezone)",
        );
    }
    if !one_off {
        fields.error(
            "startsAt",
            "is required: give startsAt and endsAt for a one-off window, or cron, durationMinutes \
             and timezone for a recurring one",
        );
        return None;
    }
    let starts_at = required_time(fields, "startsAt", "for a one-off window");
    let ends_at = required_time(fields, "endsAt", "for a one-off window");
    let (starts_at, ends_at) = (starts_at?, ends_at?);
    match Schedule::one_off(starts_at, ends_at) {
        Ok(schedule) => Some(schedule),
        Err(error) => {
            fields.error(error.field(), error.to_string());
            None
        }
    }
}

fn parse_recurring(fields: &mut Fields) -> Option<Schedule> {
    let cron = match fields.take("cron") {
        None => {
            fields.error("cron", "is required for a recurring window");
            None
        }
        Some(Value::String(text)) if text.chars().count() <= MAX_CRON => CronExpr::parse(&text)
            .map_err(|error| fields.error("cron", error.to_string()))
            .ok(),
        Some(_) => {
            fields.error(
                "cron",
                format!(
                    "must be a 5-field cron expression (minute hour day-of-month month day-of-week) of at most {MAX_CRON} characters, such as \"0 2 * * 0\""
                ),
            );
            None
        }
    };
    let duration = match fields.take("durationMinutes") {
        None => {
            fields.error("durationMinutes", "is required for a recurring window");
            None
        }
        Some(value) => match value.as_i64() {
            Some(minutes) => maintenance::duration_from_minutes(minutes)
                .map_err(|error| fields.error("durationMinutes", error.to_string()))
                .ok(),
            None => {
                fields.error(
                    "durationMinutes",
                    format!(
                        "must be a whole number of minutes from {MIN_DURATION_MINUTES} to \
                         {MAX_DURATION_MINUTES} (one week)"
                    ),
                );
                None
            }
        },
    };
    let timezone = match fields.take("timezone") {
        None => {
            fields.error("timezone", "is required for a recurring window");
            None
        }
        Some(Value::String(name)) if name.chars().count() <= MAX_TIMEZONE => {
            maintenance::parse_time_zone(&name)
                .map_err(|error| fields.error("timezone", error.to_string()))
                .ok()
        }
        Some(_) => {
            fields.error(
                "timezone",
                "must be an IANA time zone name such as Europe/Berlin or UTC",
            );
            None
        }
    };
    let active_from = optional_time(fields, "activeFrom");
    let active_until = optional_time(fields, "activeUntil");
    let schedule = Schedule::Recurring {
        cron: cron?,
        duration: duration?,
        timezone: timezone?,
        active_from: active_from?,
        active_until: active_until?,
    };
    match schedule.validate().and_then(|()| schedule.check_overlap()) {
        Ok(()) => Some(schedule),
        Err(error) => {
            fields.error(error.field(), error.to_string());
            None
        }
    }
}

use super::TIME_FORMAT;

/// A required time; None after an error.
fn required_time(fields: &mut Fields, name: &str, context: &str) -> Option<DateTime<Utc>> {
    if !fields.has(name) {
        fields.error(name, format!("is required {context}"));
        return None;
    }
    optional_time(fields, name).flatten()
}

/// An optional time: Some(None) when absent, None after an error.
fn optional_time(fields: &mut Fields, name: &str) -> Option<Option<DateTime<Utc>>> {
    let Some(value) = fields.take(name) else {
        return Some(None);
    };
    let parsed = super::parse_time(&value);
    match parsed {
        Some(time) => Some(Some(time)),
        None => {
            fields.error(name, TIME_FORMAT);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;

    #[test]
    fn a_spec_survives_its_own_input_form() {
        let id = Uuid::now_v7();
        let one_off = parse(json!({
            "title": " Database upgrade ",
            "monitorIds": [id, id],
            "startsAt": "2030-01-01T02:00:00+01:00",
            "endsAt": "2030-01-01T03:00:00Z",
        }))
        .unwrap();
        assert_eq!(one_off.title, "Database upgrade");
        assert_eq!(one_off.monitor_ids, vec![id]);
        assert!(one_off.notify_channels);
        assert_eq!(parse(one_off.to_input_json()).unwrap(), one_off);
        let recurring = parse(json!({
            "title": "Sunday patching",
            "componentIds": [id],
            "cron": "0 2 * * 0",
            "durationMinutes": 60,
            "timezone": "Europe/Berlin",
            "activeUntil": "2031-01-01T00:00:00Z",
            "notifyChannels": false,
        }))
        .unwrap();
        assert_eq!(parse(recurring.to_input_json()).unwrap(), recurring);
    }

    #[test]
    fn kinds_do_not_mix() {
        let id = Uuid::now_v7();
        let error = parse(json!({
            "title": "x", "monitorIds": [id],
            "startsAt": "2030-01-01T02:00:00Z", "endsAt": "2030-01-01T03:00:00Z",
            "cron": "0 2 * * 0",
        }))
        .unwrap_err();
        let ApiError::Validation(details) = error else {
            panic!("not a validation error");
        };
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].field, "cron");
    }
}
