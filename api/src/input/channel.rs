//! Validating a notification channel body.

use serde_json::Value;
use shared::model::channel::{
    looks_masked, mask_url, ChannelPolicy, ChannelTarget, SUBSCRIBABLE_EVENTS,
};
use shared::model::ChannelType;
use shared::target_policy;

use super::Fields;
use crate::error::ApiError;

/// Fields of a channel that only the server sets.
pub const READ_ONLY: [&str; 5] = [
    "id",
    "disabledReason",
    "createdAt",
    "updatedAt",
    "signingSecret",
];
const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;

/// A validated channel body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub kind: ChannelType,
    pub target: ChannelTarget,
    pub enabled: bool,
    pub policy: ChannelPolicy,
}

impl ChannelSpec {
    /// The editable form, onto which a PATCH is merged.
    pub fn to_input_json(&self) -> Value {
        let mut value = serde_json::json!({
            "name": self.name,
            "type": self.kind,
            "enabled": self.enabled,
            "events": self.policy.short_events(),
            "reminderIntervalSeconds": self.policy.reminder_interval_seconds,
            "throttleSeconds": self.policy.throttle_seconds,
        });
        if let (Some(map), Ok(Value::Object(extra))) =
            (value.as_object_mut(), serde_json::to_value(&self.target))
        {
            map.extend(extra);
        }
        value
    }
}

/// Validates a channel body; `allow_private` is ALLOW_PRIVATE_TARGETS and
/// `stored_url` the URL the channel has now (None when creating): its
/// masked form, sent back unchanged, keeps it.
pub async fn parse(
    body: Value,
    allow_private: bool,
    stored_url: Option<&str>,
) -> Result<ChannelSpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let name = fields.required_string("name", MAX_NAME);
    let kind = match fields.take("type") {
        None => {
            fields.error("type", "is required");
            None
        }
        Some(Value::String(t)) if t.parse::<ChannelType>().is_ok() => t.parse().ok(),
        Some(_) => {
            fields.error(
                "type",
                "must be one of webhook, slack, discord, teams, telegram",
            );
            None
        }
    };
    let enabled = fields.bool("enabled").unwrap_or(true);
    let policy = parse_policy(&mut fields);
    let mut target = ChannelTarget {
        url: None,
        bot_token: None,
        chat_id: None,
    };
    let mut policy_host = None;
    match kind {
        Some(ChannelType::Telegram) => {
            fields.refuse(
                "url",
                "does not apply to telegram channels (use botToken and chatId)",
            );
            target.bot_token = fields.required_string("botToken", 200);
            if target
                .bot_token
                .as_deref()
                .is_some_and(|t| !is_telegram_token(t))
            {
                fields.error(
                    "botToken",
                    "must look like 123456789:AAE... (bot id, colon, secret)",
                );
            }
            target.chat_id = match fields.take("chatId") {
                None => {
                    fields.error("chatId", "is required");
                    None
                }
                Some(Value::Number(n)) if n.is_i64() => Some(n.to_string()),
                Some(Value::String(s)) if is_telegram_chat_id(s.trim()) => {
                    Some(s.trim().to_owned())
                }
                Some(_) => {
                    fields.error("chatId", "must be a numeric chat id or an @channel name");
                    None
                }
            };
        }
        Some(kind) => {
            let not_for = format!("does not apply to {} channels", kind.as_str());
            fields.refuse("botToken", &not_for);
            fields.refuse("chatId", &not_for);
            target.url = fields
                .required_string("url", MAX_URL)
                .and_then(|url| unmask(&mut fields, url, stored_url));
            if let Some(url) = &target.url {
                let kept = stored_url == Some(url.as_str());
                policy_host = check_url(&mut fields, url, allow_private, kept);
            }
        }
        None => {}
    }
    if let Some(host) = policy_host {
        if let Err(refused) = target_policy::check_host(&host, allow_private).await {
            fields.error("url", refused.to_string());
        }
    }
    fields.finish(&READ_ONLY)?;
    Ok(ChannelSpec {
        name: name.unwrap_or_default(),
        kind: kind.unwrap_or(ChannelType::Webhook),
        target,
        enabled,
        policy,
    })
}

/// `events` (opened, resolved, degraded), `reminderIntervalSeconds` (null =
/// off, 60–604800) and `throttleSeconds` (0–86400, default 300).
fn parse_policy(fields: &mut Fields) -> ChannelPolicy {
    let mut policy = ChannelPolicy::default();
    match fields.take("events") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut events = Vec::new();
            for item in &items {
                let full = item.as_str().and_then(|name| {
                    SUBSCRIBABLE_EVENTS
                        .iter()
                        .find(|(short, full)| name == *short || name == *full)
                        .map(|(_, full)| (*full).to_owned())
                });
                match full {
                    Some(full) if !events.contains(&full) => events.push(full),
                    Some(_) => {}
                    None => {
                        fields.error(
                            "events",
                            format!(
                                "must list only {}",
                                SUBSCRIBABLE_EVENTS
                                    .iter()
                                    .map(|(short, _)| *short)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        return policy;
                    }
                }
            }
            policy.events = events;
        }
        Some(_) => fields.error(
            "events",
            "must be a list such as [\"opened\", \"resolved\"]",
        ),
    }
    match fields.take("reminderIntervalSeconds") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| (60..=604_800).contains(&v)) => {
            policy.reminder_interval_seconds = n.as_u64().and_then(|v| u32::try_from(v).ok());
        }
        Some(_) => fields.error(
            "reminderIntervalSeconds",
            "must be null (off) or a number of seconds from 60 to 604800",
        ),
    }
    match fields.take("throttleSeconds") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v <= 86_400) => {
            policy.throttle_seconds = n.as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
        }
        Some(_) => fields.error(
            "throttleSeconds",
            "must be a number of seconds from 0 to 86400",
        ),
    }
    policy
}

/// The URL to store: `url` itself, or the stored URL when `url` is its
/// masked form sent back unchanged. Any other masked-looking URL is refused,
/// so a client that saves what it read never overwrites a URL with its mask.
fn unmask(fields: &mut Fields, url: String, stored_url: Option<&str>) -> Option<String> {
    if !looks_masked(&url) {
        return Some(url);
    }
    match stored_url {
        Some(stored) if mask_url(stored) == url => Some(stored.to_owned()),
        _ => {
            fields.error(
                "url",
                "is a masked URL; send the full URL, or the stored URL's masked form unchanged to keep it",
            );
            None
        }
    }
}

/// Checks the scheme and credentials rules; returns the host for the
/// address policy. A URL the channel already has (`kept`) is not refused for
/// credentials it was stored with before they were refused.
fn check_url(fields: &mut Fields, url: &str, allow_private: bool, kept: bool) -> Option<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        fields.error("url", "must be an https:// URL");
        return None;
    };
    if !kept && (!parsed.username().is_empty() || parsed.password().is_some()) {
        fields.error(
            "url",
            "must not carry credentials (user:password@); receivers verify deliveries by their \
             webhook-signature header, or a token can go in the path or query",
        );
        return None;
    }
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            fields.error(
                "url",
                "must use https (http is allowed only with ALLOW_PRIVATE_TARGETS=true)",
            );
            return None;
        }
        _ => {
            fields.error("url", "must be an https:// URL");
            return None;
        }
    }
    match parsed.host_str() {
        Some(host) if !host.is_empty() => Some(host.to_owned()),
        _ => {
            fields.error("url", "must name a host");
            None
        }
    }
}

/// A Telegram bot token: numeric bot id, colon, 30+ URL-safe characters.
fn is_telegram_token(token: &str) -> bool {
    let Some((bot, secret)) = token.split_once(':') else {
        return false;
    };
    (1..=20).contains(&bot.len())
        && bot.bytes().all(|b| b.is_ascii_digit())
        && (30..=100).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A Telegram chat: a (possibly negative) number or an @channel username.
fn is_telegram_chat_id(chat: &str) -> bool {
    let digits = chat.strip_prefix('-').unwrap_or(chat);
    let numeric = (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let username = chat.strip_prefix('@').is_some_and(|name| {
        (5..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    numeric || username
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_tokens_and_chats_are_recognised() {
        assert!(is_telegram_token(
            "123456789:AAEhBP0av28Qr6P5Xx-1234567890abcdefg"
        ));
        assert!(!is_telegram_token("123456789"));
        assert!(!is_telegram_token(
            "abc:AAEhBP0av28Qr6P5Xx-1234567890abcdefg"
        ));
        assert!(!is_telegram_token("123:short"));
        assert!(is_telegram_chat_id("-1001234567890"));
        assert!(is_telegram_chat_id("@uptime_alerts"));
        assert!(!is_telegram_chat_id("uptime alerts"));
    }
}
