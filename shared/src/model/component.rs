//! Components: the services people think in ("the API", "the website"),
//! driven by monitors, grouped one level deep, with a history of every
//! change of their shown status. The status is derived in the database
//! (migrations/V5__status_domain.sql); this is how it is read.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A component's shown status, Statuspage's five values. Each carries what
/// a page needs to show it: words, a severity for "worst wins", the
/// gauge value, an icon name and a colour name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

impl ComponentStatus {
    /// Every status, in the order of the gauge values.
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
        ComponentStatus::UnderMaintenance,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
            ComponentStatus::UnderMaintenance => "under_maintenance",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
        }
    }

    /// Value of `uptime_component_status` (0 operational … 4 under maintenance).
    pub fn gauge(self) -> f64 {
        match self {
            ComponentStatus::Operational => 0.0,
            ComponentStatus::DegradedPerformance => 1.0,
            ComponentStatus::PartialOutage => 2.0,
            ComponentStatus::MajorOutage => 3.0,
            ComponentStatus::UnderMaintenance => 4.0,
        }
    }

    /// Whether this status counts as down time in uptime figures.
    pub fn is_outage(self) -> bool {
        matches!(
            self,
            ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
        )
    }
}

impl FromStr for ComponentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Where a component's shown status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// Derived from its monitors (or children).
    Automatic,
    /// Set by an operator or by an open status incident.
    Manual,
    /// An active maintenance window covers it.
    Maintenance,
}

impl StatusSource {
    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSource::Automatic => "automatic",
            StatusSource::Manual => "manual",
            StatusSource::Maintenance => "maintenance",
        }
    }
}

impl FromStr for StatusSource {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "automatic" => Ok(StatusSource::Automatic),
            "manual" => Ok(StatusSource::Manual),
            "maintenance" => Ok(StatusSource::Maintenance),
            _ => Err(()),
        }
    }
}

/// The manual status of a component, when one is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub status: ComponentStatus,
    pub message: Option<String>,
    pub until: Option<DateTime<Utc>>,
    /// The status incident that set it, if one did.
    pub status_incident_id: Option<Uuid>,
}

/// A stored component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub owner: Option<String>,
    pub group: bool,
    pub group_id: Option<Uuid>,
    pub position: i32,
    pub monitor_ids: Vec<Uuid>,
    pub auto_incident: bool,
    pub sla_target: Option<f64>,
    pub status: ComponentStatus,
    pub status_source: StatusSource,
    /// What the monitors (or children) say, whatever is shown.
    pub automatic_status: ComponentStatus,
    /// No monitor (or child) with a known state backs the status.
    pub no_data: bool,
    #[serde(rename = "override")]
    pub manual: Option<Override>,
    pub status_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Columns selected by [`Component::from_row`] from `components c`.
pub const COMPONENT_COLUMNS: &str = "c.id, c.name, c.description, c.url, c.owner, c.is_group, \
    c.group_id, c.position, c.auto_incident, c.sla_target, c.status, c.status_source, \
    c.auto_status, c.has_data, c.manual_status, c.manual_message, c.manual_until, \
    c.manual_incident_id, c.status_changed_at, c.created_at, c.updated_at, \
    ARRAY(SELECT cm.monitor_id FROM component_monitors cm WHERE cm.component_id = c.id \
          ORDER BY cm.monitor_id) AS monitor_ids";

fn status_column(
    row: &tokio_postgres::Row,
    column: &str,
) -> Result<ComponentStatus, tokio_postgres::Error> {
    let text: String = row.try_get(column)?;
    Ok(text.parse().unwrap_or(ComponentStatus::Operational))
}

impl Component {
    /// Builds a component from a row selected with [`COMPONENT_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let manual_status: Option<String> = row.try_get("manual_status")?;
        let source: String = row.try_get("status_source")?;
        Ok(Component {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            url: row.try_get("url")?,
            owner: row.try_get("owner")?,
            group: row.try_get("is_group")?,
            group_id: row.try_get("group_id")?,
            position: row.try_get("position")?,
            monitor_ids: row.try_get("monitor_ids")?,
            auto_incident: row.try_get("auto_incident")?,
            sla_target: row.try_get("sla_target")?,
            status: status_column(row, "status")?,
            status_source: source.parse().unwrap_or(StatusSource::Automatic),
            automatic_status: status_column(row, "auto_status")?,
            no_data: !row.try_get::<_, bool>("has_data")?,
            manual: match manual_status.and_then(|s| s.parse().ok()) {
                Some(status) => Some(Override {
                    status,
                    message: row.try_get("manual_message")?,
                    until: row.try_get("manual_until")?,
                    status_incident_id: row.try_get("manual_incident_id")?,
                }),
                None => None,
            },
            status_changed_at: row.try_get("status_changed_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Ends the manual overrides whose `until` has passed, so those components
/// show their automatic status again (the database's triggers write the
/// history and the event). Safe to run from every worker at once.
pub async fn end_expired_overrides(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<u64, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE components SET manual_status = NULL, manual_message = NULL, \
                 manual_until = NULL, manual_actor = NULL, manual_incident_id = NULL, \
                 updated_at = now() \
             WHERE id IN (SELECT id FROM components WHERE manual_until <= now() \
                          ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)",
        )
        .await?;
    client.execute(&statement, &[]).await
}

/// One change of a component's shown status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub id: i64,
    pub component_id: Uuid,
    /// None for the row written when the component was created.
    pub old_status: Option<ComponentStatus>,
    pub new_status: ComponentStatus,
    pub source: StatusSource,
    pub message: Option<String>,
    /// The API key that set a manual status.
    pub actor_key_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Columns selected by [`StatusChange::from_row`].
pub const STATUS_CHANGE_COLUMNS: &str =
    "id, component_id, old_status, new_status, source, message, actor_key_id, at";

impl StatusChange {
    /// Builds a change from a row selected with [`STATUS_CHANGE_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let old: Option<String> = row.try_get("old_status")?;
        let source: String = row.try_get("source")?;
        Ok(StatusChange {
            id: row.try_get("id")?,
            component_id: row.try_get("component_id")?,
            old_status: old.and_then(|s| s.parse().ok()),
            new_status: status_column(row, "new_status")?,
            source: source.parse().unwrap_or(StatusSource::Automatic),
            message: row.try_get("message")?,
            actor_key_id: row.try_get("actor_key_id")?,
            at: row.try_get("at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_order_by_gauge() {
        for (i, status) in ComponentStatus::ALL.into_iter().enumerate() {
            assert_eq!(status.as_str().parse(), Ok(status));
            #[allow(clippy::cast_precision_loss)]
            let expected = i as f64;
            assert!((status.gauge() - expected).abs() < f64::EPSILON);
            assert_eq!(
                serde_json::to_value(status).expect("json"),
                serde_json::json!(status.as_str())
            );
        }
        assert!(ComponentStatus::PartialOutage.is_outage());
        assert!(!ComponentStatus::UnderMaintenance.is_outage());
    }
}
