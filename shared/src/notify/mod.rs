//! Notifications: signing, per-channel formats and the one HTTP attempt.
//!
//! The outbox (`notification_events`) holds each event's canonical JSON
//! payload; a delivery attempt formats it for the channel type, signs
//! webhooks (Standard Webhooks), sends it with no redirects under the target
//! policy, and reports what happened. Retries and bookkeeping live with the
//! caller (the worker's notifier, the API's test endpoint).

pub mod format;
pub mod outbox;
pub mod send;
pub mod sign;

use std::time::Duration;

/// Event types a channel can receive.
pub const INCIDENT_OPENED: &str = "incident.opened";
pub const INCIDENT_RESOLVED: &str = "incident.resolved";
pub const INCIDENT_REMINDER: &str = "incident.reminder";
pub const MONITOR_DEGRADED: &str = "monitor.degraded";
pub const TEST: &str = "test";
/// Status-domain events: they belong to no monitor and go to every enabled
/// channel subscribed to them (enqueued by `uptime_status_event` in SQL).
pub const COMPONENT_STATUS_CHANGED: &str = "component.status_changed";
pub const STATUS_INCIDENT_CREATED: &str = "status_incident.created";
pub const STATUS_INCIDENT_UPDATED: &str = "status_incident.updated";
pub const STATUS_INCIDENT_RESOLVED: &str = "status_incident.resolved";
pub const MAINTENANCE_STARTED: &str = "maintenance.started";
pub const MAINTENANCE_ENDED: &str = "maintenance.ended";

/// Longest delay between attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// Delay before retry number `retry` (1 = after the first failed attempt):
/// about `base`, `4 × base`, `16 × base`, … with ±20 % jitter, capped at an
/// hour. `jitter` is a number in [0, 1) (random in production).
pub fn backoff(base: Duration, retry: u32, jitter: f64) -> Duration {
    let exponent = retry.saturating_sub(1).min(20);
    let nominal = base.as_secs_f64() * 4f64.powi(i32::try_from(exponent).unwrap_or(20));
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64((nominal * factor).min(MAX_RETRY_DELAY.as_secs_f64()))
}

/// Reads a `Retry-After` value: delta seconds or an HTTP date; capped at an hour.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_fourfold_with_bounded_jitter() {
        let base = Duration::from_secs(2);
        assert_eq!(backoff(base, 1, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(base, 2, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(base, 3, 0.5), Duration::from_secs(32));
        assert_eq!(backoff(base, 1, 0.0), Duration::from_secs_f64(1.6));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_secs_f64(2.4));
        assert_eq!(backoff(base, 12, 0.5), MAX_RETRY_DELAY);
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_DELAY));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
