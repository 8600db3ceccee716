//! The audit log: who changed what, before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_key_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

/// Columns selected by [`AuditEntry::from_row`].
pub const AUDIT_COLUMNS: &str = "id, at, actor_key_id, actor, action, entity_type, entity_id, \
    before, after, request_id, client_addr";

impl AuditEntry {
    /// Builds an entry from a row selected with [`AUDIT_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(AuditEntry {
            id: row.try_get("id")?,
            at: row.try_get("at")?,
            actor_key_id: row.try_get("actor_key_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            entity_type: row.try_get("entity_type")?,
            entity_id: row.try_get("entity_id")?,
            before: row.try_get("before")?,
            after: row.try_get("after")?,
            request_id: row.try_get("request_id")?,
            client_addr: row.try_get("client_addr")?,
        })
    }
}
