//! Reading request bodies field by field, so that every rejected field is
//! reported with its reason and unknown fields are refused, not ignored.

pub mod api_key;
pub mod channel;
pub mod component;
pub mod maintenance_window;
pub mod monitor;
pub mod status_incident;
pub mod status_page;

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Utc};

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

/// A JSON object being validated.
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Starts reading `body`, which must be a JSON object.
    pub fn new(body: Value) -> Result<Self, ApiError> {
        match body {
            Value::Object(map) => Ok(Self {
                map,
                errors: Vec::new(),
            }),
            _ => Err(ApiError::invalid_field(
                "",
                "the body must be a JSON object",
            )),
        }
    }

    /// Records a problem with `field`.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Whether a problem was recorded for `field`.
    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// Removes a field; `null` counts as absent.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    /// Whether the body names `name` with a non-null value.
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    /// An optional string of at most `max` characters, trimmed.
    pub fn string(&mut self, name: &str, max: usize) -> Option<String> {
        match self.take(name)? {
            Value::String(s) => {
                let s = s.trim().to_owned();
                if s.chars().count() > max {
                    self.error(name, format!("must be at most {max} characters"));
                    None
                } else if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    self.error(name, "must not contain control characters");
                    None
                } else {
                    Some(s)
                }
            }
            _ => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A required, non-empty string of at most `max` characters.
    pub fn required_string(&mut self, name: &str, max: usize) -> Option<String> {
        if !self.has(name) {
            self.error(name, "is required");
            return None;
        }
        let value = self.string(name, max)?;
        if value.is_empty() {
            self.error(name, "must not be empty");
            return None;
        }
        Some(value)
    }

    /// An optional integer within `range`.
    pub fn u32_in(&mut self, name: &str, range: RangeInclusive<u32>) -> Option<u32> {
        let value = self.take(name)?;
        let parsed = value.as_u64().and_then(|n| u32::try_from(n).ok());
        match parsed {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.error(
                    name,
                    format!(
                        "must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, name: &str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(name, "must be true or false");
                None
            }
        }
    }

    /// An optional list of non-empty strings.
    pub fn string_list(
        &mut self,
        name: &str,
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<String>> {
        let Value::Array(items) = self.take(name)? else {
            self.error(name, "must be a list of strings");
            return None;
        };
        if items.len() > max_items {
            self.error(name, format!("must have at most {max_items} entries"));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s)
                    if !s.trim().is_empty()
                        && s.trim().chars().count() <= max_len
                        && !s.chars().any(char::is_control) =>
                {
                    out.push(s.trim().to_owned());
                }
                _ => {
                    self.error(
                        name,
                        format!(
                            "every entry must be a non-empty string of at most {max_len} characters without control characters"
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Refuses a field that does not apply (for example to this monitor type).
    pub fn refuse(&mut self, name: &str, reason: &str) {
        if self.has(name) {
            self.error(name, reason);
        }
        self.map.remove(name);
    }

    /// Ends reading: leftover fields are unknown, and any recorded problem
    /// becomes a 422 listing every field.
    pub fn finish(mut self, read_only: &[&str]) -> Result<(), ApiError> {
        let leftover: Vec<String> = self.map.keys().cloned().collect();
        for name in leftover {
            if read_only.contains(&name.as_str()) {
                self.error(&name, "is read-only");
            } else {
                self.error(&name, "is not a known field");
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// Longest free-text query parameter accepted.
const MAX_QUERY_TEXT: usize = 500;

/// Rejects free-text query parameters the database cannot take (NUL) or that
/// are unreasonably long.
pub fn check_query_text(name: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(text) if text.contains('\0') || text.chars().count() > MAX_QUERY_TEXT => {
            Err(ApiError::bad_request(
                "invalid_query",
                format!("{name} must be at most {MAX_QUERY_TEXT} characters without NUL"),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the API accepts `time`: years 1 to 9999, the times RFC 3339 can
/// write. (PostgreSQL's range is wider backwards in one direction and
/// narrower in none that matters, and no monitoring question needs more.)
pub fn time_in_range(time: &DateTime<Utc>) -> bool {
    (1..=9999).contains(&time.year())
}

/// What a time field must be, for 422 messages.
pub const TIME_FORMAT: &str =
    "must be an RFC 3339 time between the years 0001 and 9999, such as 2030-01-01T12:00:00Z";

/// A JSON string holding an RFC 3339 time the API accepts (see
/// [`time_in_range`]); None for anything else.
/// Cut to microseconds, what PostgreSQL keeps, so that what is checked here
/// (an end after a start, say) is what gets stored.
pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .map(|time| time.with_timezone(&Utc).trunc_subsecs(6))
        .filter(time_in_range)
}

/// Rejects a time query parameter outside [`time_in_range`], naming it.
pub fn check_query_time(name: &str, value: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match value {
        Some(time) if !time_in_range(&time) => Err(ApiError::bad_request(
            "invalid_query",
            format!("{name} must be a time between the years 0001 and 9999"),
        )),
        _ => Ok(()),
    }
}

/// A `period` query parameter (`24h`, `7d`, `30d`, `90d`, `365d`; see
/// `shared::rollup::PERIODS`): its name and its length in days.
pub fn period(
    requested: Option<&str>,
    default: &'static str,
) -> Result<(&'static str, i64), ApiError> {
    let wanted = requested.unwrap_or(default);
    shared::rollup::PERIODS
        .iter()
        .find(|(name, _)| *name == wanted)
        .copied()
        .ok_or_else(|| {
            let allowed: Vec<&str> = shared::rollup::PERIODS
                .iter()
                .map(|(name, _)| *name)
                .collect();
            ApiError::bad_request(
                "invalid_query",
                format!("period must be one of {}", allowed.join(", ")),
            )
        })
}

/// The body of a PATCH: a JSON merge patch, which must be an object.
pub fn merge_patch_body(patch: Value) -> Result<Value, ApiError> {
    if patch.is_object() {
        Ok(patch)
    } else {
        Err(ApiError::invalid_field(
            "",
            "the body must be a JSON object (a merge patch)",
        ))
    }
}

/// Applies a JSON merge patch (RFC 7386) to `target`.
pub fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(map) = target {
                for (key, value) in patch {
                    if value.is_null() {
                        map.remove(&key);
                    } else {
                        merge_patch(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

pub use shared::check::{is_valid_hostname, split_host_port};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_replaces_adds_and_removes() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut doc, json!({"a": 5, "b": {"c": null}, "e": [1]}));
        assert_eq!(doc, json!({"a": 5, "b": {"d": 3}, "e": [1]}));
    }
}
