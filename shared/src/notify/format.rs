//! The request body each channel type receives for an event. Webhooks get
//! the canonical payload as stored; chat channels get the same facts in
//! their native layout: Slack blocks, Discord embeds, a Microsoft Teams
//! Adaptive Card message, a Telegram sendMessage call. Red for opened, green
//! for resolved.

use serde_json::{json, Value};

use super::{INCIDENT_OPENED, INCIDENT_REMINDER, INCIDENT_RESOLVED, MONITOR_DEGRADED, TEST};
use crate::model::ChannelType;

const RED: &str = "#D93025";
const GREEN: &str = "#1E8E3E";
const AMBER: &str = "#F29900";
const BLUE: &str = "#1A73E8";

/// The facts every chat format shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub title: String,
    pub status: String,
    pub color: &'static str,
    pub emoji: &'static str,
    pub monitor: String,
    pub target: String,
    pub time: String,
    pub details: String,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads the facts of an event from its canonical payload.
pub fn summarize(payload: &Value) -> Summary {
    let kind = payload["type"].as_str().unwrap_or(TEST);
    let name = text(&payload["monitor"]["name"]).unwrap_or_else(|| "UpTime".to_owned());
    let (status, color, emoji) = match kind {
        INCIDENT_OPENED => ("DOWN", RED, "🔴"),
        INCIDENT_REMINDER => ("STILL DOWN", RED, "🔴"),
        INCIDENT_RESOLVED => ("RESOLVED", GREEN, "🟢"),
        MONITOR_DEGRADED => ("DEGRADED", AMBER, "🟠"),
        _ => ("TEST", BLUE, "🔔"),
    };
    let title = match kind {
        INCIDENT_OPENED => format!("{name} is down"),
        INCIDENT_REMINDER => format!("{name} is still down"),
        INCIDENT_RESOLVED => format!("{name} recovered"),
        MONITOR_DEGRADED => format!("{name} is degraded"),
        _ => "UpTime test notification".to_owned(),
    };
    let incident = &payload["incident"];
    let check = &payload["check"];
    let mut details = Vec::new();
    if let Some(error) = text(&check["error"]).or_else(|| text(&incident["lastError"])) {
        details.push(error);
    }
    if let Some(duration) = incident["durationSeconds"].as_i64() {
        if kind == INCIDENT_RESOLVED || kind == INCIDENT_REMINDER {
            details.push(format!("down for {}", human_duration(duration)));
        }
    }
    if let Some(total) = check["timings"]["totalMs"].as_f64() {
        details.push(format!("check took {total:.0} ms"));
    }
    if kind == TEST {
        details.push("This is a test event sent from UpTime.".to_owned());
    }
    Summary {
        title,
        status: status.to_owned(),
        color,
        emoji,
        monitor: name,
        target: text(&payload["monitor"]["target"]).unwrap_or_else(|| "-".to_owned()),
        time: text(&payload["timestamp"]).unwrap_or_default(),
        details: if details.is_empty() {
            "-".to_owned()
        } else {
            details.join("; ")
        },
    }
}

fn human_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

/// The JSON body sent to a channel of `kind` (Telegram also needs `chat_id`).
pub fn body(kind: ChannelType, payload: &Value, chat_id: Option<&str>) -> Value {
    match kind {
        ChannelType::Webhook => payload.clone(),
        ChannelType::Slack => slack(&summarize(payload)),
        ChannelType::Discord => discord(&summarize(payload)),
        ChannelType::Teams => teams(&summarize(payload)),
        ChannelType::Telegram => telegram(&summarize(payload), chat_id.unwrap_or_default()),
    }
}

fn slack(s: &Summary) -> Value {
    json!({
        "text": format!("{} {}: {}", s.emoji, s.title, s.details),
        "attachments": [{
            "color": s.color,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": format!("{} {}", s.emoji, s.title), "emoji": true}},
                {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": format!("*Monitor*\n{}", s.monitor)},
                    {"type": "mrkdwn", "text": format!("*Status*\n{}", s.status)},
                    {"type": "mrkdwn", "text": format!("*Target*\n{}", s.target)},
                    {"type": "mrkdwn", "text": format!("*Time*\n{}", s.time)},
                ]},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Details*\n{}", s.details)}},
            ],
        }],
    })
}

fn discord(s: &Summary) -> Value {
    let color = u32::from_str_radix(s.color.trim_start_matches('#'), 16).unwrap_or(0);
    json!({
        "username": "UpTime",
        "embeds": [{
            "title": format!("{} {}", s.emoji, s.title),
            "color": color,
            "fields": [
                {"name": "Monitor", "value": s.monitor, "inline": true},
                {"name": "Status", "value": s.status, "inline": true},
                {"name": "Target", "value": s.target, "inline": false},
                {"name": "Details", "value": s.details, "inline": false},
            ],
            "timestamp": s.time,
        }],
    })
}

fn teams(s: &Summary) -> Value {
    let color = if s.color == RED {
        "Attention"
    } else if s.color == GREEN {
        "Good"
    } else if s.color == AMBER {
        "Warning"
    } else {
        "Accent"
    };
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": format!("{} {} - {}", s.emoji, s.monitor, s.status),
                     "weight": "Bolder", "size": "Large", "color": color, "wrap": true},
                    {"type": "FactSet", "facts": [
                        {"title": "Service", "value": s.monitor},
                        {"title": "Status", "value": s.status},
                        {"title": "Target", "value": s.target},
                        {"title": "Time", "value": s.time},
                        {"title": "Details", "value": s.details},
                    ]},
                ],
            },
        }],
    })
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn telegram(s: &Summary, chat_id: &str) -> Value {
    let text = format!(
        "{} <b>{}</b>\n<b>Status:</b> {}\n<b>Target:</b> {}\n<b>Time:</b> {}\n<b>Details:</b> {}",
        s.emoji,
        escape_html(&s.title),
        escape_html(&s.status),
        escape_html(&s.target),
        escape_html(&s.time),
        escape_html(&s.details),
    );
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| Value::String(chat_id.to_owned()), Value::from);
    json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Value {
        json!({
            "type": "incident.opened",
            "id": "0190",
            "timestamp": "2026-11-21T10:00:00Z",
            "monitor": {"id": "m1", "name": "API <prod>", "type": "http", "target": "https://api.example.com"},
            "incident": {"id": "i1", "durationSeconds": 0, "lastError": "unexpected status 503"},
            "check": {"status": "down", "error": "unexpected status 503", "timings": {"totalMs": 12.5}},
        })
    }

    #[test]
    fn every_chat_format_carries_the_facts_in_its_shape() {
        let payload = opened();
        let slack = body(ChannelType::Slack, &payload, None);
        assert_eq!(slack["attachments"][0]["color"], RED);
        assert_eq!(slack["attachments"][0]["blocks"][0]["type"], "header");
        assert!(slack["text"]
            .as_str()
            .unwrap_or("")
            .contains("unexpected status 503"));

        let discord = body(ChannelType::Discord, &payload, None);
        assert_eq!(discord["embeds"][0]["color"], 0xD93025);
        assert_eq!(discord["embeds"][0]["fields"][1]["value"], "DOWN");

        let teams = body(ChannelType::Teams, &payload, None);
        assert_eq!(teams["type"], "message");
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(
            card["content"]["body"][1]["facts"][0]["value"],
            "API <prod>"
        );

        let telegram = body(ChannelType::Telegram, &payload, Some("-100123"));
        assert_eq!(telegram["chat_id"], -100_123);
        assert_eq!(telegram["parse_mode"], "HTML");
        assert!(telegram["text"]
            .as_str()
            .unwrap_or("")
            .contains("API &lt;prod&gt; is down"));

        assert_eq!(body(ChannelType::Webhook, &payload, None), payload);
    }

    #[test]
    fn resolved_is_green_with_the_duration() {
        let mut payload = opened();
        payload["type"] = json!("incident.resolved");
        payload["incident"]["durationSeconds"] = json!(125);
        payload["check"] = json!({"status": "up", "timings": {"totalMs": 9.0}});
        let summary = summarize(&payload);
        assert_eq!(summary.color, GREEN);
        assert_eq!(summary.status, "RESOLVED");
        assert!(
            summary.details.contains("down for 2m 5s"),
            "{}",
            summary.details
        );
    }
}
