//! Status incidents: what an operator tells the people who depend on a
//! service ("We are investigating…"), with a timeline of updates. Monitor
//! incidents stay machine facts; a status incident may link to them.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::component::ComponentStatus;

/// How much of the service an incident affects (Statuspage's impact),
/// ordered from none to critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    /// The impact a component status implies, as the automation assigns it
    /// (migrations/V5: a major outage is critical, a partial one major).
    pub fn of_status(status: ComponentStatus) -> Impact {
        match status {
            ComponentStatus::MajorOutage => Impact::Critical,
            ComponentStatus::PartialOutage => Impact::Major,
            ComponentStatus::DegradedPerformance => Impact::Minor,
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Impact::None,
        }
    }

    /// The impact of the worst of `statuses` (none when there are none): the
    /// default of an incident that does not state its impact.
    pub fn worst_of(statuses: impl IntoIterator<Item = ComponentStatus>) -> Impact {
        statuses
            .into_iter()
            .map(Impact::of_status)
            .max()
            .unwrap_or(Impact::None)
    }
}

impl FromStr for Impact {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Where an incident stands (Statuspage's incident statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
        IncidentStatus::Postmortem,
    ];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Postmortem => "postmortem",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
            IncidentStatus::Postmortem => "Postmortem",
        }
    }

    /// Whether the incident is over.
    pub fn is_closed(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Postmortem)
    }
}

impl FromStr for IncidentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Reads a `{componentId: status}` JSON object, skipping what is not one.
pub fn component_statuses(value: &serde_json::Value) -> BTreeMap<Uuid, ComponentStatus> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentUpdate {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub status: IncidentStatus,
    pub body: Option<String>,
    /// The component statuses this update set.
    pub component_statuses: BTreeMap<Uuid, ComponentStatus>,
    pub author_key_id: Option<Uuid>,
    /// Written by the automation (automatic incidents).
    pub automatic: bool,
    pub created_at: DateTime<Utc>,
    pub display_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

/// Columns selected by [`IncidentUpdate::from_row`].
pub const INCIDENT_UPDATE_COLUMNS: &str = "id, incident_id, status, body, component_statuses, \
    author_key_id, automatic, created_at, display_at, edited_at";

impl IncidentUpdate {
    /// Builds an update from a row selected with [`INCIDENT_UPDATE_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let status: String = row.try_get("status")?;
        let statuses: serde_json::Value = row.try_get("component_statuses")?;
        Ok(IncidentUpdate {
            id: row.try_get("id")?,
            incident_id: row.try_get("incident_id")?,
            status: status.parse().unwrap_or(IncidentStatus::Investigating),
            body: row.try_get("body")?,
            component_statuses: component_statuses(&statuses),
            author_key_id: row.try_get("author_key_id")?,
            automatic: row.try_get("automatic")?,
            created_at: row.try_get("created_at")?,
            display_at: row.try_get("display_at")?,
            edited_at: row.try_get("edited_at")?,
        })
    }
}

/// A stored status incident (its updates are read separately).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusIncident {
    pub id: Uuid,
    pub name: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub postmortem: Option<String>,
    pub component_ids: Vec<Uuid>,
    /// The status each affected component takes while the incident is open;
    /// a component without an entry keeps its automatic status.
    pub component_statuses: BTreeMap<Uuid, ComponentStatus>,
    pub monitor_incident_ids: Vec<Uuid>,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Opened by the automation for this component.
    pub auto_component_id: Option<Uuid>,
    /// An operator posted an update, so the automation leaves it alone.
    pub taken_over: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Columns selected by [`StatusIncident::from_row`] from `status_incidents si`.
pub const STATUS_INCIDENT_COLUMNS: &str = "si.id, si.name, si.impact, si.status, si.postmortem, \
    si.started_at, si.resolved_at, si.auto_component_id, si.taken_over, si.created_at, \
    si.updated_at, \
    ARRAY(SELECT sic.component_id FROM status_incident_components sic \
          WHERE sic.incident_id = si.id ORDER BY sic.component_id) AS component_ids, \
    (SELECT COALESCE(jsonb_object_agg(sic.component_id, sic.status), '{}') \
     FROM status_incident_components sic \
     WHERE sic.incident_id = si.id AND sic.status IS NOT NULL) AS component_statuses, \
    ARRAY(SELECT l.monitor_incident_id FROM status_incident_monitor_incidents l \
          WHERE l.incident_id = si.id ORDER BY l.monitor_incident_id) AS monitor_incident_ids";

impl StatusIncident {
    /// Builds an incident from a row selected with [`STATUS_INCIDENT_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let impact: String = row.try_get("impact")?;
        let status: String = row.try_get("status")?;
        let statuses: serde_json::Value = row.try_get("component_statuses")?;
        Ok(StatusIncident {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            impact: impact.parse().unwrap_or(Impact::None),
            status: status.parse().unwrap_or(IncidentStatus::Investigating),
            postmortem: row.try_get("postmortem")?,
            component_ids: row.try_get("component_ids")?,
            component_statuses: component_statuses(&statuses),
            monitor_incident_ids: row.try_get("monitor_incident_ids")?,
            started_at: row.try_get("started_at")?,
            resolved_at: row.try_get("resolved_at")?,
            auto_component_id: row.try_get("auto_component_id")?,
            taken_over: row.try_get("taken_over")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_follows_the_worst_component_status() {
        assert_eq!(Impact::worst_of([]), Impact::None);
        assert_eq!(
            Impact::worst_of([
                ComponentStatus::DegradedPerformance,
                ComponentStatus::MajorOutage,
                ComponentStatus::Operational,
            ]),
            Impact::Critical
        );
        assert_eq!(
            Impact::worst_of([ComponentStatus::PartialOutage]),
            Impact::Major
        );
        assert_eq!(
            Impact::worst_of([ComponentStatus::UnderMaintenance]),
            Impact::None
        );
    }

    #[test]
    fn names_round_trip() {
        for impact in Impact::ALL {
            assert_eq!(impact.as_str().parse(), Ok(impact));
        }
        for status in IncidentStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!(IncidentStatus::Postmortem.is_closed());
        assert!(!IncidentStatus::Monitoring.is_closed());
    }
}
