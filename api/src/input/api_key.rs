//! Validating an API key body.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::model::Scope;

use super::Fields;
use crate::error::ApiError;

/// A validated key request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySpec {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Validates a key body: name, scopes (default read + write), optional expiry.
pub fn parse(body: Value) -> Result<ApiKeySpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let name = fields.required_string("name", 200);
    let scopes = match fields.take("scopes") {
        None => vec![Scope::Read, Scope::Write],
        Some(Value::Array(items)) if !items.is_empty() => {
            let parsed: Option<Vec<Scope>> = items
                .iter()
                .map(|item| item.as_str().and_then(|s| s.parse().ok()))
                .collect();
            parsed.unwrap_or_else(|| {
                fields.error("scopes", "every entry must be one of read, write, admin");
                Vec::new()
            })
        }
        Some(_) => {
            fields.error("scopes", "must be a non-empty list of read, write, admin");
            Vec::new()
        }
    };
    let expires_at = match fields.take("expiresAt") {
        None => None,
        Some(Value::String(text)) => match DateTime::parse_from_rfc3339(&text) {
            Ok(at) if at.with_timezone(&Utc) > Utc::now() => Some(at.with_timezone(&Utc)),
            Ok(_) => {
                fields.error("expiresAt", "must be in the future");
                None
            }
            Err(_) => {
                fields.error(
                    "expiresAt",
                    "must be an RFC 3339 time such as 2030-01-01T00:00:00Z",
                );
                None
            }
        },
        Some(_) => {
            fields.error(
                "expiresAt",
                "must be an RFC 3339 time such as 2030-01-01T00:00:00Z",
            );
            None
        }
    };
    fields.finish(&[
        "id",
        "prefix",
        "createdAt",
        "lastUsedAt",
        "revokedAt",
        "key",
    ])?;
    let mut scopes = scopes;
    scopes.sort();
    scopes.dedup();
    Ok(ApiKeySpec {
        name: name.unwrap_or_default(),
        scopes,
        expires_at,
    })
}
