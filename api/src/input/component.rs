//! Validating a component body (create, replace, or a patch merged onto the
//! current one) and a manual status (`POST /components/{id}/status`).
//!
//! What needs the database (monitors and groups that exist, a group's
//! children) is checked by the handler inside its write transaction.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::model::{Component, ComponentStatus};
use uuid::Uuid;

use super::Fields;
use crate::error::ApiError;

/// Fields of a component that only the server sets.
pub const READ_ONLY: [&str; 9] = [
    "id",
    "status",
    "statusSource",
    "automaticStatus",
    "noData",
    "override",
    "statusChangedAt",
    "createdAt",
    "updatedAt",
];
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_URL: usize = 2048;
const MAX_OWNER: usize = 200;
const MAX_MONITORS: usize = 100;
/// Longest message of a manual status.
const MAX_MESSAGE: usize = 2000;
/// `position` fits the database's integer.
const POSITION_RANGE: RangeInclusive<u32> = 0..=i32::MAX.unsigned_abs();
/// The word that hands a component back to its monitors.
pub const AUTOMATIC: &str = "automatic";

/// A validated component body.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentSpec {
    pub name: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub owner: Option<String>,
    pub group: bool,
    pub group_id: Option<Uuid>,
    pub position: i32,
    /// Sorted, without duplicates.
    pub monitor_ids: Vec<Uuid>,
    pub auto_incident: bool,
    pub sla_target: Option<f64>,
}

impl ComponentSpec {
    /// The editable part of a stored component.
    pub fn of(component: &Component) -> Self {
        Self {
            name: component.name.clone(),
            description: component.description.clone(),
            url: component.url.clone(),
            owner: component.owner.clone(),
            group: component.group,
            group_id: component.group_id,
            position: component.position,
            monitor_ids: component.monitor_ids.clone(),
            auto_incident: component.auto_incident,
            sla_target: component.sla_target,
        }
    }

    /// The editable form, onto which a PATCH is merged.
    pub fn to_input_json(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "url": self.url,
            "owner": self.owner,
            "group": self.group,
            "groupId": self.group_id,
            "position": self.position,
            "monitorIds": self.monitor_ids,
            "autoIncident": self.auto_incident,
            "slaTarget": self.sla_target,
        })
    }
}

/// Validates a component body. Every problem is reported at once as a 422.
pub fn parse(body: Value) -> Result<ComponentSpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let name = fields.required_string("name", MAX_NAME);
    let description = fields
        .string("description", MAX_DESCRIPTION)
        .filter(|d| !d.is_empty());
    let url = fields
        .string("url", MAX_URL)
        .filter(|u| !u.is_empty())
        .filter(|u| check_url(&mut fields, u));
    let owner = fields.string("owner", MAX_OWNER).filter(|o| !o.is_empty());
    let group = fields.bool("group").unwrap_or(false);
    let group_id = parse_uuid(&mut fields, "groupId", "a component id");
    let position = fields
        .u32_in("position", POSITION_RANGE)
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(0);
    let monitor_ids = parse_monitor_ids(&mut fields);
    let auto_incident = fields.bool("autoIncident").unwrap_or(false);
    let sla_target = parse_sla_target(&mut fields);
    if group && group_id.is_some() {
        fields.error(
            "groupId",
            "must be empty for a group: groups are one level deep, a group cannot be inside a group",
        );
    }
    if group && !monitor_ids.is_empty() {
        fields.error(
            "monitorIds",
            "must be empty for a group: a group's status comes from its components",
        );
    }
    fields.finish(&READ_ONLY)?;
    Ok(ComponentSpec {
        name: name.unwrap_or_default(),
        description,
        url,
        owner,
        group,
        group_id,
        position,
        monitor_ids,
        auto_incident,
        sla_target,
    })
}

/// An `http://` or `https://` URL with a host (shown as a link, never fetched).
fn check_url(fields: &mut Fields, url: &str) -> bool {
    let valid = url::Url::parse(url).is_ok_and(|parsed| {
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|h| !h.is_empty())
    });
    if !valid {
        fields.error("url", "must be an http:// or https:// URL with a host");
    }
    valid
}

fn parse_uuid(fields: &mut Fields, name: &str, what: &str) -> Option<Uuid> {
    match fields.take(name)? {
        Value::String(text) => match Uuid::parse_str(text.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                fields.error(name, format!("must be {what} (a UUID)"));
                None
            }
        },
        _ => {
            fields.error(name, format!("must be {what} (a UUID)"));
            None
        }
    }
}

fn parse_monitor_ids(fields: &mut Fields) -> Vec<Uuid> {
    let raw = fields
        .string_list("monitorIds", MAX_MONITORS, 64)
        .unwrap_or_default();
    let mut ids = Vec::with_capacity(raw.len());
    for text in raw {
        match Uuid::parse_str(&text) {
            Ok(id) => ids.push(id),
            Err(_) => fields.error("monitorIds", format!("{text:?} is not a monitor id (UUID)")),
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// A percentage above 0 and at most 100, such as 99.9.
fn parse_sla_target(fields: &mut Fields) -> Option<f64> {
    let value = fields.take("slaTarget")?;
    match value.as_f64() {
        Some(target) if target > 0.0 && target <= 100.0 => Some(target),
        _ => {
            fields.error(
                "slaTarget",
                "must be a percentage above 0 and at most 100, such as 99.9",
            );
            None
        }
    }
}

/// A validated `POST /components/{id}/status` body.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusRequest {
    /// Show `status` until `until` (or until changed).
    Manual {
        status: ComponentStatus,
        message: Option<String>,
        until: Option<DateTime<Utc>>,
    },
    /// Hand the component back to its monitors.
    Automatic,
}

/// Validates a manual status body; `now` decides whether `until` is in the future.
pub fn parse_status(body: Value, now: DateTime<Utc>) -> Result<StatusRequest, ApiError> {
    let mut fields = Fields::new(body)?;
    let allowed = || {
        let mut names: Vec<&str> = ComponentStatus::ALL.iter().map(|s| s.as_str()).collect();
        names.push(AUTOMATIC);
        names.join(", ")
    };
    let mut automatic = false;
    let status = match fields.take("status") {
        None => {
            fields.error("status", "is required");
            None
        }
        Some(value) if value == AUTOMATIC => {
            automatic = true;
            None
        }
        Some(value) => {
            let status = value
                .as_str()
                .and_then(|s| s.parse::<ComponentStatus>().ok());
            if status.is_none() {
                fields.error("status", format!("must be one of {}", allowed()));
            }
            status
        }
    };
    if automatic {
        let reason = "does not apply to \"automatic\": the monitors decide the status";
        fields.refuse("message", reason);
        fields.refuse("until", reason);
    }
    let message = fields
        .string("message", MAX_MESSAGE)
        .filter(|m| !m.is_empty());
    let until = parse_until(&mut fields, now);
    fields.finish(&[])?;
    // Past `finish`, no status can only mean "automatic".
    Ok(match status {
        Some(status) => StatusRequest::Manual {
            status,
            message,
            until,
        },
        None => StatusRequest::Automatic,
    })
}

/// An optional RFC 3339 time after `now`.
fn parse_until(fields: &mut Fields, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = fields.take("until")?;
    let parsed = super::parse_time(&value);
    match parsed {
        Some(until) if until > now => Some(until),
        Some(_) => {
            fields.error("until", "must be in the future");
            None
        }
        None => {
            fields.error("until", super::TIME_FORMAT);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_a_body_leaves_out_and_duplicates_fold() {
        let id = Uuid::now_v7();
        let spec = parse(json!({"name": " API ", "monitorIds": [id, id]})).expect("valid");
        assert_eq!(spec.name, "API");
        assert_eq!(spec.monitor_ids, vec![id]);
        assert!(!spec.group && !spec.auto_incident);
        assert_eq!(
            (spec.position, spec.sla_target, spec.group_id),
            (0, None, None)
        );
        assert_eq!(parse(spec.to_input_json()).expect("round trip"), spec);
    }

    #[test]
    fn automatic_takes_no_message_or_until() {
        let now = Utc::now();
        assert_eq!(
            parse_status(json!({"status": "automatic"}), now).expect("valid"),
            StatusRequest::Automatic
        );
        assert!(parse_status(json!({"status": "automatic", "message": "x"}), now).is_err());
        assert!(parse_status(json!({"status": "down"}), now).is_err());
    }
}
