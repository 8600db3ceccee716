//! Notification channels: where incident events are delivered.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of receiver a channel delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Webhook,
    Slack,
    Discord,
    Teams,
    Telegram,
}

impl ChannelType {
    /// Every channel type.
    pub const ALL: [ChannelType; 5] = [
        ChannelType::Webhook,
        ChannelType::Slack,
        ChannelType::Discord,
        ChannelType::Teams,
        ChannelType::Telegram,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Webhook => "webhook",
            ChannelType::Slack => "slack",
            ChannelType::Discord => "discord",
            ChannelType::Teams => "teams",
            ChannelType::Telegram => "telegram",
        }
    }
}

impl FromStr for ChannelType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// Where and how a channel delivers; stored as the `config` JSON column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
}

/// Event types a channel can subscribe to, with the names shown and
/// accepted for them: the monitor events keep their short names; the status
/// domain's are named in full.
pub const SUBSCRIBABLE_EVENTS: [(&str, &str); 9] = [
    ("opened", crate::notify::INCIDENT_OPENED),
    ("resolved", crate::notify::INCIDENT_RESOLVED),
    ("degraded", crate::notify::MONITOR_DEGRADED),
    (
        crate::notify::COMPONENT_STATUS_CHANGED,
        crate::notify::COMPONENT_STATUS_CHANGED,
    ),
    (
        crate::notify::STATUS_INCIDENT_CREATED,
        crate::notify::STATUS_INCIDENT_CREATED,
    ),
    (
        crate::notify::STATUS_INCIDENT_UPDATED,
        crate::notify::STATUS_INCIDENT_UPDATED,
    ),
    (
        crate::notify::STATUS_INCIDENT_RESOLVED,
        crate::notify::STATUS_INCIDENT_RESOLVED,
    ),
    (
        crate::notify::MAINTENANCE_STARTED,
        crate::notify::MAINTENANCE_STARTED,
    ),
    (
        crate::notify::MAINTENANCE_ENDED,
        crate::notify::MAINTENANCE_ENDED,
    ),
];

/// Default opened-message throttle per channel, in seconds.
pub const DEFAULT_THROTTLE_SECONDS: u32 = 300;

/// Which events a channel gets and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPolicy {
    /// Full event type names (`incident.opened`, ...).
    pub events: Vec<String>,
    /// Repeat `incident.reminder` this often while an incident stays open.
    pub reminder_interval_seconds: Option<u32>,
    /// At most one opened message per monitor within this window.
    pub throttle_seconds: u32,
}

impl Default for ChannelPolicy {
    fn default() -> Self {
        Self {
            events: vec!["incident.opened".to_owned(), "incident.resolved".to_owned()],
            reminder_interval_seconds: None,
            throttle_seconds: DEFAULT_THROTTLE_SECONDS,
        }
    }
}

impl ChannelPolicy {
    /// The short names (`opened`, `resolved`, `degraded`) shown in JSON.
    pub fn short_events(&self) -> Vec<&'static str> {
        SUBSCRIBABLE_EVENTS
            .iter()
            .filter(|(_, full)| self.events.iter().any(|e| e == full))
            .map(|(short, _)| *short)
            .collect()
    }
}

/// A stored channel. The signing secret is never part of it; it is shown once
/// when a webhook channel is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: Uuid,
    pub name: String,
    pub kind: ChannelType,
    pub target: ChannelTarget,
    pub policy: ChannelPolicy,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Columns selected by [`Channel::from_row`].
pub const CHANNEL_COLUMNS: &str = "id, name, type, config, enabled, disabled_reason, \
    created_at, updated_at, events, reminder_interval_seconds, throttle_seconds";

impl Channel {
    /// Builds a channel from a row selected with [`CHANNEL_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let kind: String = row.try_get("type")?;
        let config: serde_json::Value = row.try_get("config")?;
        Ok(Channel {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: kind.parse().unwrap_or(ChannelType::Webhook),
            target: serde_json::from_value(config).unwrap_or(ChannelTarget {
                url: None,
                bot_token: None,
                chat_id: None,
            }),
            policy: ChannelPolicy {
                events: row.try_get("events")?,
                reminder_interval_seconds: row
                    .try_get::<_, Option<i32>>("reminder_interval_seconds")?
                    .and_then(|v| u32::try_from(v).ok()),
                throttle_seconds: u32::try_from(row.try_get::<_, i32>("throttle_seconds")?)
                    .unwrap_or(DEFAULT_THROTTLE_SECONDS),
            },
            enabled: row.try_get("enabled")?,
            disabled_reason: row.try_get("disabled_reason")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// The JSON form for API answers. A Telegram bot token is always masked;
    /// the URL of a webhook, Slack, Discord or Teams channel is a bearer
    /// secret, shown in full only with `reveal_url` (admin keys, and the
    /// answer to the request that set it) and masked otherwise (see
    /// [`mask_url`]). `urlMasked` says which form was sent.
    pub fn to_json(&self, reveal_url: bool) -> serde_json::Value {
        let mut target = self.target.clone();
        target.bot_token = target.bot_token.as_deref().map(mask_bot_token);
        let masked = !reveal_url && target.url.is_some();
        if masked {
            target.url = target.url.as_deref().map(mask_url);
        }
        let mut value = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "type": self.kind,
            "enabled": self.enabled,
            "disabledReason": self.disabled_reason,
            "events": self.policy.short_events(),
            "reminderIntervalSeconds": self.policy.reminder_interval_seconds,
            "throttleSeconds": self.policy.throttle_seconds,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        });
        if let (Some(map), Ok(serde_json::Value::Object(extra))) =
            (value.as_object_mut(), serde_json::to_value(&target))
        {
            map.extend(extra);
            if target.url.is_some() {
                map.insert("urlMasked".to_owned(), serde_json::Value::Bool(masked));
            }
        }
        value
    }

    /// The form kept in audit rows: every secret masked.
    pub fn to_audit_json(&self) -> serde_json::Value {
        self.to_json(false)
    }
}

/// What stands for the hidden part of a masked secret.
pub const MASK: &str = "***";

/// Characters of a URL's end shown after the mask, when the hidden part is
/// long enough that showing them gives nothing useful away.
const URL_HINT_CHARS: usize = 4;
/// Shortest hidden part (path and query) that gets a hint.
const URL_HINT_MIN_HIDDEN: usize = 16;

/// A channel URL reduced to its scheme, host and port, the mask, and a
/// hint of its last characters: enough to tell channels apart, not to post
/// to them. `https://hooks.slack.com/services/T0/B0/abcdefXYZ1` becomes
/// `https://hooks.slack.com/***XYZ1`.
pub fn mask_url(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return MASK.to_owned();
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let hidden = &parsed[url::Position::BeforePath..];
    let hint = if hidden.chars().count() >= URL_HINT_MIN_HIDDEN {
        let skip = hidden.chars().count() - URL_HINT_CHARS;
        hidden.chars().skip(skip).collect()
    } else {
        String::new()
    };
    format!("{}://{host}{port}/{MASK}{hint}", parsed.scheme())
}

/// Whether `url` is (or pretends to be) a masked URL.
pub fn looks_masked(url: &str) -> bool {
    url.contains(&format!("/{MASK}"))
}

/// Prefix of webhook signing secrets (as in the Standard Webhooks specification).
pub const SIGNING_SECRET_PREFIX: &str = "whsec_";

/// A new webhook signing secret: the prefix and 32 random bytes in base64.
pub fn generate_signing_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{SIGNING_SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Keeps the bot id of a Telegram token and hides its secret part.
pub fn mask_bot_token(token: &str) -> String {
    match token.split_once(':') {
        Some((bot, _)) => format!("{bot}:{MASK}"),
        None => MASK.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_to_scheme_host_and_a_hint() {
        assert_eq!(
            mask_url("https://hooks.slack.com/services/T000/B000/abcdefghijklXYZ1"),
            "https://hooks.slack.com/***XYZ1"
        );
        assert_eq!(
            mask_url("https://user:pass@example.com:8443/hook?token=s3cr3t-t0ken-value"),
            "https://example.com:8443/***alue"
        );
        // A short path gets no hint: four characters of it would be most of it.
        assert_eq!(
            mask_url("https://example.com/hook"),
            "https://example.com/***"
        );
        assert_eq!(mask_url("not a url"), "***");
        assert!(looks_masked(&mask_url("https://example.com/hook")));
        assert!(!looks_masked("https://example.com/hook"));
    }
}
