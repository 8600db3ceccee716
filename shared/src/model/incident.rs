//! Incidents: a period during which a monitor was down.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A stored incident; open while `resolved_at` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: Uuid,
    pub monitor_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Seconds from start to resolution, or to now while open.
    pub duration_seconds: i64,
    pub first_error: Option<String>,
    pub last_error: Option<String>,
    pub failure_count: i32,
}

/// Columns selected by [`Incident::from_row`].
pub const INCIDENT_COLUMNS: &str =
    "id, monitor_id, started_at, resolved_at, first_error, last_error, failure_count";

impl Incident {
    /// Builds an incident from a row selected with [`INCIDENT_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let started_at: DateTime<Utc> = row.try_get("started_at")?;
        let resolved_at: Option<DateTime<Utc>> = row.try_get("resolved_at")?;
        Ok(Incident {
            id: row.try_get("id")?,
            monitor_id: row.try_get("monitor_id")?,
            started_at,
            resolved_at,
            duration_seconds: (resolved_at.unwrap_or_else(Utc::now) - started_at)
                .num_seconds()
                .max(0),
            first_error: row.try_get("first_error")?,
            last_error: row.try_get("last_error")?,
            failure_count: row.try_get("failure_count")?,
        })
    }
}
