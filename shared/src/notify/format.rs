//! The request body each channel type receives for an event. Webhooks get
//! the canonical payload as stored; chat channels get the same facts in
//! their native layout: Slack blocks, Discord embeds, a Microsoft Teams
//! Adaptive Card message, a Telegram sendMessage call. Red for opened, green
//! for resolved.

use serde_json::{json, Value};

use super::{
    COMPONENT_STATUS_CHANGED, INCIDENT_OPENED, INCIDENT_REMINDER, INCIDENT_RESOLVED,
    MAINTENANCE_ENDED, MAINTENANCE_STARTED, MONITOR_DEGRADED, STATUS_INCIDENT_CREATED,
    STATUS_INCIDENT_RESOLVED, STATUS_INCIDENT_UPDATED, TEST,
};
use crate::model::{ChannelType, ComponentStatus};

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
    /// What the event is about: "Monitor", "Component", "Incident", "Maintenance".
    pub subject_label: &'static str,
    pub monitor: String,
    /// What the second fact is: "Target", "Affects", "Was".
    pub target_label: &'static str,
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
    match kind {
        COMPONENT_STATUS_CHANGED => return component_summary(payload),
        STATUS_INCIDENT_CREATED | STATUS_INCIDENT_UPDATED | STATUS_INCIDENT_RESOLVED => {
            return status_incident_summary(kind, payload)
        }
        MAINTENANCE_STARTED | MAINTENANCE_ENDED => return maintenance_summary(kind, payload),
        _ => {}
    }
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
        subject_label: "Monitor",
        monitor: name,
        target_label: "Target",
        target: text(&payload["monitor"]["target"]).unwrap_or_else(|| "-".to_owned()),
        time: text(&payload["timestamp"]).unwrap_or_default(),
        details: if details.is_empty() {
            "-".to_owned()
        } else {
            details.join("; ")
        },
    }
}

fn joined(details: Vec<String>) -> String {
    if details.is_empty() {
        "-".to_owned()
    } else {
        details.join("; ")
    }
}

/// Colour and emoji of a component status.
fn component_look(status: Option<ComponentStatus>) -> (&'static str, &'static str) {
    match status {
        Some(ComponentStatus::Operational) => (GREEN, "🟢"),
        Some(ComponentStatus::DegradedPerformance) => (AMBER, "🟠"),
        Some(ComponentStatus::PartialOutage | ComponentStatus::MajorOutage) => (RED, "🔴"),
        Some(ComponentStatus::UnderMaintenance) | None => (BLUE, "🔵"),
    }
}

fn status_of(value: &Value) -> Option<ComponentStatus> {
    value.as_str().and_then(|s| s.parse().ok())
}

fn component_summary(payload: &Value) -> Summary {
    let component = &payload["component"];
    let name = text(&component["name"]).unwrap_or_else(|| "A component".to_owned());
    let status = status_of(&component["status"]);
    let label = status.map_or("Unknown", ComponentStatus::label);
    let (color, emoji) = component_look(status);
    let mut details = Vec::new();
    if let Some(message) = text(&component["message"]) {
        details.push(message);
    }
    match component["statusSource"].as_str() {
        Some("manual") => details.push("set by an operator".to_owned()),
        Some("maintenance") => details.push("a maintenance window is active".to_owned()),
        _ => details.push("from its monitors".to_owned()),
    }
    Summary {
        title: format!("{name}: {label}"),
        status: label.to_uppercase(),
        color,
        emoji,
        subject_label: "Component",
        monitor: name,
        target_label: "Was",
        target: status_of(&component["oldStatus"])
            .map_or("-", ComponentStatus::label)
            .to_owned(),
        time: text(&payload["timestamp"]).unwrap_or_default(),
        details: joined(details),
    }
}

fn status_incident_summary(kind: &str, payload: &Value) -> Summary {
    let incident = &payload["statusIncident"];
    let name = text(&incident["name"]).unwrap_or_else(|| "An incident".to_owned());
    let status = text(&incident["status"]).unwrap_or_default();
    let (color, emoji) = if kind == STATUS_INCIDENT_RESOLVED {
        (GREEN, "🟢")
    } else {
        match incident["impact"].as_str() {
            Some("critical" | "major") => (RED, "🔴"),
            Some("minor") => (AMBER, "🟠"),
            _ => (BLUE, "🔵"),
        }
    };
    let title = match kind {
        STATUS_INCIDENT_CREATED => format!("New incident: {name}"),
        STATUS_INCIDENT_RESOLVED => format!("Resolved: {name}"),
        _ => format!("Update: {name}"),
    };
    let affects: Vec<String> = incident["components"]
        .as_array()
        .map(|items| items.iter().filter_map(|c| text(&c["name"])).collect())
        .unwrap_or_default();
    let mut details = Vec::new();
    if let Some(body) = text(&incident["latestUpdate"]["body"]) {
        details.push(body);
    }
    if let Some(impact) = text(&incident["impact"]) {
        details.push(format!("impact: {impact}"));
    }
    Summary {
        title,
        status: status.to_uppercase(),
        color,
        emoji,
        subject_label: "Incident",
        monitor: name,
        target_label: "Affects",
        target: if affects.is_empty() {
            "-".to_owned()
        } else {
            affects.join(", ")
        },
        time: text(&payload["timestamp"]).unwrap_or_default(),
        details: joined(details),
    }
}

fn maintenance_summary(kind: &str, payload: &Value) -> Summary {
    let window = &payload["maintenance"];
    let name = text(&window["title"]).unwrap_or_else(|| "Maintenance".to_owned());
    let started = kind == MAINTENANCE_STARTED;
    let affects: Vec<String> = window["components"]
        .as_array()
        .map(|items| items.iter().filter_map(|c| text(&c["name"])).collect())
        .unwrap_or_default();
    let mut details = Vec::new();
    if let Some(description) = text(&window["description"]) {
        details.push(description);
    }
    if let (Some(from), Some(to)) = (text(&window["startsAt"]), text(&window["endsAt"])) {
        details.push(format!("{from} to {to}"));
    }
    Summary {
        title: if started {
            format!("Maintenance started: {name}")
        } else {
            format!("Maintenance ended: {name}")
        },
        status: if started { "IN PROGRESS" } else { "COMPLETED" }.to_owned(),
        color: if started { BLUE } else { GREEN },
        emoji: if started { "🔵" } else { "🟢" },
        subject_label: "Maintenance",
        monitor: name,
        target_label: "Affects",
        target: if affects.is_empty() {
            "-".to_owned()
        } else {
            affects.join(", ")
        },
        time: text(&payload["timestamp"]).unwrap_or_default(),
        details: joined(details),
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
                    {"type": "mrkdwn", "text": format!("*{}*\n{}", s.subject_label, s.monitor)},
                    {"type": "mrkdwn", "text": format!("*Status*\n{}", s.status)},
                    {"type": "mrkdwn", "text": format!("*{}*\n{}", s.target_label, s.target)},
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
                {"name": s.subject_label, "value": s.monitor, "inline": true},
                {"name": "Status", "value": s.status, "inline": true},
                {"name": s.target_label, "value": s.target, "inline": false},
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
                        {"title": s.subject_label, "value": s.monitor},
                        {"title": "Status", "value": s.status},
                        {"title": s.target_label, "value": s.target},
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
        "{} <b>{}</b>\n<b>Status:</b> {}\n<b>{}:</b> {}\n<b>Time:</b> {}\n<b>Details:</b> {}",
        s.emoji,
        escape_html(&s.title),
        escape_html(&s.status),
        s.target_label,
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
    fn status_domain_events_read_as_sentences_in_every_format() {
        let changed = json!({
            "type": "component.status_changed", "id": "e1", "timestamp": "2026-11-21T10:00:00Z",
            "component": {"id": "c1", "name": "API", "status": "partial_outage",
                          "statusSource": "automatic", "oldStatus": "operational"},
        });
        let summary = summarize(&changed);
        assert_eq!(summary.title, "API: Partial outage");
        assert_eq!(
            (summary.color, summary.target.as_str()),
            (RED, "Operational")
        );
        let slack = body(ChannelType::Slack, &changed, None);
        assert!(slack["attachments"][0]["blocks"][1]["fields"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("*Component*"));

        let incident = json!({
            "type": "status_incident.created", "id": "e2", "timestamp": "2026-11-21T10:00:00Z",
            "statusIncident": {"id": "s1", "name": "Checkout errors", "impact": "major",
                "status": "investigating",
                "latestUpdate": {"status": "investigating", "body": "We are looking into it."},
                "components": [{"id": "c1", "name": "API", "status": "partial_outage"}]},
        });
        let summary = summarize(&incident);
        assert_eq!(summary.title, "New incident: Checkout errors");
        assert_eq!(summary.target, "API");
        assert!(summary.details.starts_with("We are looking into it."));
        let telegram = body(ChannelType::Telegram, &incident, Some("1"));
        assert!(telegram["text"]
            .as_str()
            .unwrap_or("")
            .contains("<b>Affects:</b> API"));
        let mut resolved = incident.clone();
        resolved["type"] = json!("status_incident.resolved");
        assert_eq!(summarize(&resolved).color, GREEN);
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
