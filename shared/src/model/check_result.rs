//! The outcome of one check of one monitor slot.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest body snippet kept with a result, in bytes.
pub const BODY_SNIPPET_MAX_BYTES: usize = 1024;

/// The verdict of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
    Degraded,
}

impl CheckStatus {
    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Up => "up",
            CheckStatus::Down => "down",
            CheckStatus::Degraded => "degraded",
        }
    }
}

impl FromStr for CheckStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "up" => Ok(CheckStatus::Up),
            "down" => Ok(CheckStatus::Down),
            "degraded" => Ok(CheckStatus::Degraded),
            _ => Err(()),
        }
    }
}

/// Time spent in each phase of a check, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub dns_ms: Option<f32>,
    pub connect_ms: Option<f32>,
    pub tls_ms: Option<f32>,
    pub ttfb_ms: Option<f32>,
    pub total_ms: f32,
}

/// A stored check result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub monitor_id: Uuid,
    pub slot_ts: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
    pub worker_id: Option<String>,
    pub status: CheckStatus,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub timings: Timings,
    pub body_snippet: Option<String>,
    pub details: Option<serde_json::Value>,
    /// Taken while a maintenance window covered the monitor: stored, but not
    /// counted toward its failures or its uptime. Set by the writer.
    pub in_maintenance: bool,
}

/// Columns selected by [`CheckResult::from_row`].
pub const CHECK_RESULT_COLUMNS: &str = "monitor_id, slot_ts, checked_at, worker_id, status, \
    status_code, error, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, body_snippet, details, \
    in_maintenance";

impl CheckResult {
    /// This result without the text Postgres refused: verdict, status code
    /// and timings are kept; the snippet and details are dropped and the
    /// error says why, so the slot is still recorded and its state counts.
    pub fn without_text(&self, refusal: &tokio_postgres::Error) -> Self {
        let code = refusal
            .as_db_error()
            .map(|db| db.code().code().to_owned())
            .unwrap_or_default();
        Self {
            error: Some(format!(
                "the check's text could not be stored (PostgreSQL error {code}); its verdict is kept"
            )),
            body_snippet: None,
            details: Some(serde_json::json!({ "storeRejected": code })),
            ..self.clone()
        }
    }

    /// Builds a result from a row selected with [`CHECK_RESULT_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let status: String = row.try_get("status")?;
        Ok(CheckResult {
            monitor_id: row.try_get("monitor_id")?,
            slot_ts: row.try_get("slot_ts")?,
            checked_at: row.try_get("checked_at")?,
            worker_id: row.try_get("worker_id")?,
            status: status.parse().unwrap_or(CheckStatus::Down),
            status_code: row.try_get("status_code")?,
            error: row.try_get("error")?,
            timings: Timings {
                dns_ms: row.try_get("dns_ms")?,
                connect_ms: row.try_get("connect_ms")?,
                tls_ms: row.try_get("tls_ms")?,
                ttfb_ms: row.try_get("ttfb_ms")?,
                total_ms: row.try_get("total_ms")?,
            },
            body_snippet: row.try_get("body_snippet")?,
            details: row.try_get("details")?,
            in_maintenance: row.try_get("in_maintenance")?,
        })
    }
}
