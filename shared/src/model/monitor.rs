//! Monitors: what to check, how often, and their current state.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Shortest and longest check interval, in seconds.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 1..=86_400;
/// Shortest and longest check timeout, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=300;
/// Allowed failure and recovery thresholds.
pub const THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=100;
/// Default number of consecutive failures that opens an incident.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
/// Default number of consecutive successes that resolves an incident.
pub const DEFAULT_RECOVERY_THRESHOLD: u32 = 1;
/// Default check interval, in seconds.
pub const DEFAULT_INTERVAL_SECONDS: u32 = 60;

/// The kind of check a monitor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorType {
    Http,
    Keyword,
    Tcp,
    Dns,
    Tls,
}

impl MonitorType {
    /// Every type, in documentation order.
    pub const ALL: [MonitorType; 5] = [
        MonitorType::Http,
        MonitorType::Keyword,
        MonitorType::Tcp,
        MonitorType::Dns,
        MonitorType::Tls,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorType::Http => "http",
            MonitorType::Keyword => "keyword",
            MonitorType::Tcp => "tcp",
            MonitorType::Dns => "dns",
            MonitorType::Tls => "tls",
        }
    }

    /// True for the types that make an HTTP request.
    pub fn is_http(self) -> bool {
        matches!(self, MonitorType::Http | MonitorType::Keyword)
    }
}

impl FromStr for MonitorType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// The current state of a monitor as the last checks left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorStatus {
    Unknown,
    Up,
    Down,
    Degraded,
    Paused,
}

impl MonitorStatus {
    /// Every status.
    pub const ALL: [MonitorStatus; 5] = [
        MonitorStatus::Unknown,
        MonitorStatus::Up,
        MonitorStatus::Down,
        MonitorStatus::Degraded,
        MonitorStatus::Paused,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorStatus::Unknown => "unknown",
            MonitorStatus::Up => "up",
            MonitorStatus::Down => "down",
            MonitorStatus::Degraded => "degraded",
            MonitorStatus::Paused => "paused",
        }
    }
}

impl FromStr for MonitorStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// Which HTTP status codes count as up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedStatus {
    /// Exactly this code.
    Code(u16),
    /// Any of these codes.
    List(Vec<u16>),
    /// A class such as 2xx (the leading digit).
    Class(u8),
    /// An inclusive range such as 200-399.
    Range(u16, u16),
}

impl Default for ExpectedStatus {
    fn default() -> Self {
        ExpectedStatus::Class(2)
    }
}

impl ExpectedStatus {
    /// Whether `code` satisfies this expectation.
    pub fn matches(&self, code: u16) -> bool {
        match self {
            ExpectedStatus::Code(c) => *c == code,
            ExpectedStatus::List(codes) => codes.contains(&code),
            ExpectedStatus::Class(class) => code / 100 == u16::from(*class),
            ExpectedStatus::Range(lo, hi) => (*lo..=*hi).contains(&code),
        }
    }

    /// Parses the text forms: "200", "200,204", "2xx", "200-299".
    pub fn parse_text(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
            let digit: u8 = class.parse().ok()?;
            return (1..=5)
                .contains(&digit)
                .then_some(ExpectedStatus::Class(digit));
        }
        if let Some((lo, hi)) = text.split_once('-') {
            let (lo, hi) = (status_code(lo)?, status_code(hi)?);
            return (lo <= hi).then_some(ExpectedStatus::Range(lo, hi));
        }
        if text.contains(',') {
            let codes = text
                .split(',')
                .map(status_code)
                .collect::<Option<Vec<_>>>()?;
            return Some(ExpectedStatus::List(codes));
        }
        status_code(text).map(ExpectedStatus::Code)
    }

    /// Parses the JSON forms: a number, a list of numbers, or one of the text forms.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|c| (100..=599).contains(c))
                .map(ExpectedStatus::Code),
            serde_json::Value::Array(items) if !items.is_empty() && items.len() <= 50 => items
                .iter()
                .map(|item| match Self::from_json(item) {
                    Some(ExpectedStatus::Code(c)) => Some(c),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(ExpectedStatus::List),
            serde_json::Value::String(text) => Self::parse_text(text),
            _ => None,
        }
    }

    /// The canonical JSON form: a number, a list, or a string for classes and ranges.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ExpectedStatus::Code(c) => serde_json::json!(c),
            ExpectedStatus::List(codes) => serde_json::json!(codes),
            ExpectedStatus::Class(_) | ExpectedStatus::Range(..) => {
                serde_json::Value::String(self.to_string())
            }
        }
    }
}

impl fmt::Display for ExpectedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedStatus::Code(c) => write!(f, "{c}"),
            ExpectedStatus::List(codes) => {
                let parts: Vec<String> = codes.iter().map(u16::to_string).collect();
                f.write_str(&parts.join(","))
            }
            ExpectedStatus::Class(class) => write!(f, "{class}xx"),
            ExpectedStatus::Range(lo, hi) => write!(f, "{lo}-{hi}"),
        }
    }
}

fn status_code(text: &str) -> Option<u16> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|c| (100..=599).contains(c))
}

impl Serialize for ExpectedStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Whether the keyword must appear in the body or must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeywordMode {
    #[serde(rename = "contains")]
    Contains,
    #[serde(rename = "notContains")]
    NotContains,
}

impl KeywordMode {
    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            KeywordMode::Contains => "contains",
            KeywordMode::NotContains => "notContains",
        }
    }
}

impl FromStr for KeywordMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "contains" => Ok(KeywordMode::Contains),
            "notContains" => Ok(KeywordMode::NotContains),
            _ => Err(()),
        }
    }
}

/// DNS record types a dns monitor can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsRecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl DnsRecordType {
    /// Every record type.
    pub const ALL: [DnsRecordType; 6] = [
        DnsRecordType::A,
        DnsRecordType::Aaaa,
        DnsRecordType::Cname,
        DnsRecordType::Mx,
        DnsRecordType::Txt,
        DnsRecordType::Ns,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
            DnsRecordType::Ns => "NS",
        }
    }
}

impl FromStr for DnsRecordType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or(())
    }
}

/// Everything a user sets on a monitor; validated before it is built.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MonitorType,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<ExpectedStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_threshold_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword_mode: Option<KeywordMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword_case_sensitive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_record_type: Option<DnsRecordType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_expected: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_resolver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_expiry_warn_days: Option<u32>,
    pub timeout_seconds: u32,
    pub interval_seconds: u32,
    pub failure_threshold: u32,
    pub recovery_threshold: u32,
    /// The availability, in percent, the monitor is meant to reach over an
    /// SLA period; None: no target.
    pub sla_target: Option<f64>,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub channel_ids: Vec<Uuid>,
}

/// A stored monitor with its current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Monitor {
    pub id: Uuid,
    #[serde(flatten)]
    pub spec: MonitorSpec,
    pub status: MonitorStatus,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Columns selected by [`Monitor::from_row`], with channel ids aggregated.
pub const MONITOR_COLUMNS: &str = "m.id, m.name, m.type, m.target, m.method, m.headers, m.body, \
    m.expected_status, m.follow_redirects, m.degraded_threshold_ms, m.keyword, m.keyword_mode, \
    m.keyword_case_sensitive, m.dns_record_type, m.dns_expected, m.dns_resolver, \
    m.tls_expiry_warn_days, m.timeout_seconds, m.interval_seconds, m.failure_threshold, \
    m.recovery_threshold, m.sla_target, m.enabled, m.tags, m.status, m.last_checked_at, \
    m.consecutive_failures, m.created_at, m.updated_at, \
    ARRAY(SELECT mc.channel_id FROM monitor_channels mc WHERE mc.monitor_id = m.id \
          ORDER BY mc.channel_id) AS channel_ids";

impl Monitor {
    /// Builds a monitor from a row selected with [`MONITOR_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let kind: String = row.try_get("type")?;
        let status: String = row.try_get("status")?;
        let headers: Option<serde_json::Value> = row.try_get("headers")?;
        let expected_status: Option<serde_json::Value> = row.try_get("expected_status")?;
        let keyword_mode: Option<String> = row.try_get("keyword_mode")?;
        let dns_record_type: Option<String> = row.try_get("dns_record_type")?;
        Ok(Monitor {
            id: row.try_get("id")?,
            spec: MonitorSpec {
                name: row.try_get("name")?,
                // The CHECK constraints keep these columns within the enums.
                kind: kind.parse().unwrap_or(MonitorType::Http),
                target: row.try_get("target")?,
                method: row.try_get("method")?,
                headers: headers.and_then(|h| serde_json::from_value(h).ok()),
                body: row.try_get("body")?,
                expected_status: expected_status.as_ref().and_then(ExpectedStatus::from_json),
                follow_redirects: row.try_get("follow_redirects")?,
                degraded_threshold_ms: to_u32(row.try_get("degraded_threshold_ms")?),
                keyword: row.try_get("keyword")?,
                keyword_mode: keyword_mode.and_then(|m| m.parse().ok()),
                keyword_case_sensitive: row.try_get("keyword_case_sensitive")?,
                dns_record_type: dns_record_type.and_then(|t| t.parse().ok()),
                dns_expected: row.try_get("dns_expected")?,
                dns_resolver: row.try_get("dns_resolver")?,
                tls_expiry_warn_days: to_u32(row.try_get("tls_expiry_warn_days")?),
                timeout_seconds: to_u32(Some(row.try_get("timeout_seconds")?)).unwrap_or(1),
                interval_seconds: to_u32(Some(row.try_get("interval_seconds")?)).unwrap_or(1),
                failure_threshold: to_u32(Some(row.try_get("failure_threshold")?)).unwrap_or(1),
                recovery_threshold: to_u32(Some(row.try_get("recovery_threshold")?)).unwrap_or(1),
                sla_target: row.try_get("sla_target")?,
                enabled: row.try_get("enabled")?,
                tags: row.try_get("tags")?,
                channel_ids: row.try_get("channel_ids")?,
            },
            status: status.parse().unwrap_or(MonitorStatus::Unknown),
            last_checked_at: row.try_get("last_checked_at")?,
            consecutive_failures: row.try_get("consecutive_failures")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

fn to_u32(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expected_status_accepts_code_list_class_and_range() {
        assert_eq!(
            ExpectedStatus::from_json(&json!(200)),
            Some(ExpectedStatus::Code(200))
        );
        assert_eq!(
            ExpectedStatus::from_json(&json!([200, 204])),
            Some(ExpectedStatus::List(vec![200, 204]))
        );
        assert_eq!(
            ExpectedStatus::from_json(&json!("2xx")),
            Some(ExpectedStatus::Class(2))
        );
        assert_eq!(
            ExpectedStatus::from_json(&json!("200-399")),
            Some(ExpectedStatus::Range(200, 399))
        );
        assert_eq!(ExpectedStatus::from_json(&json!(99)), None);
        assert_eq!(ExpectedStatus::from_json(&json!("7xx")), None);
        assert_eq!(ExpectedStatus::from_json(&json!("400-200")), None);
        assert_eq!(ExpectedStatus::from_json(&json!([])), None);
    }

    #[test]
    fn expected_status_matches_codes() {
        assert!(ExpectedStatus::Class(2).matches(204));
        assert!(!ExpectedStatus::Class(2).matches(301));
        assert!(ExpectedStatus::Range(200, 399).matches(301));
        assert!(ExpectedStatus::List(vec![200, 418]).matches(418));
        assert!(!ExpectedStatus::Code(200).matches(201));
    }

    #[test]
    fn expected_status_round_trips_through_json() {
        for value in [
            json!(200),
            json!([200, 201]),
            json!("2xx"),
            json!("200-299"),
        ] {
            let parsed = ExpectedStatus::from_json(&value).expect("valid");
            assert_eq!(parsed.to_json(), value);
        }
    }
}
