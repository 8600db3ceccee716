//! Validating status incident bodies: a new incident, a merge patch onto a
//! stored one, a timeline update, and the edit of an update's text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{json, Value};
use shared::model::status_incident::{Impact, IncidentStatus, StatusIncident};
use shared::model::ComponentStatus;
use uuid::Uuid;

use super::Fields;
use crate::error::ApiError;

/// Fields of an incident that only the server sets.
pub const READ_ONLY: [&str; 7] = [
    "id",
    "resolvedAt",
    "autoComponentId",
    "takenOver",
    "createdAt",
    "updatedAt",
    "updates",
];
/// Fields of an update that only the server sets.
const UPDATE_READ_ONLY: [&str; 6] = [
    "id",
    "incidentId",
    "authorKeyId",
    "automatic",
    "createdAt",
    "editedAt",
];
const MAX_NAME: usize = 200;
const MAX_BODY: usize = 10_000;
const MAX_POSTMORTEM: usize = 50_000;
const MAX_COMPONENTS: usize = 100;
const MAX_MONITOR_INCIDENTS: usize = 100;
const FUTURE: &str = "must not be in the future";
use super::TIME_FORMAT;

/// The editable fields of an incident, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSpec {
    pub name: String,
    pub impact: Impact,
    /// Existing components, sorted, without repeats.
    pub component_ids: Vec<Uuid>,
    /// The status each listed component takes while the incident is open.
    pub component_statuses: BTreeMap<Uuid, ComponentStatus>,
    /// Existing monitor incidents, sorted, without repeats.
    pub monitor_incident_ids: Vec<Uuid>,
    /// None on create: the database's now.
    pub started_at: Option<DateTime<Utc>>,
}

impl IncidentSpec {
    /// The status of each listed component, in `component_ids` order (None:
    /// keeps its automatic status), for the database's arrays.
    pub fn statuses_by_component(&self) -> Vec<Option<&'static str>> {
        self.component_ids
            .iter()
            .map(|id| self.component_statuses.get(id).map(|s| s.as_str()))
            .collect()
    }
}

/// A validated `POST /status-incidents` body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub spec: IncidentSpec,
    pub status: IncidentStatus,
    /// The text of the first update.
    pub body: Option<String>,
}

/// A validated incident after a merge patch.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEdit {
    pub spec: IncidentSpec,
    pub postmortem: Option<String>,
}

/// A validated `POST /status-incidents/{id}/updates` body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpdate {
    pub status: IncidentStatus,
    pub body: String,
    pub component_statuses: BTreeMap<Uuid, ComponentStatus>,
    /// None: the database's now.
    pub display_at: Option<DateTime<Utc>>,
}

/// Validates a new incident; ids are checked (and kept from being deleted
/// until `client`'s transaction ends) in the database.
pub async fn parse_new(body: Value, client: &impl GenericClient) -> Result<NewIncident, ApiError> {
    let mut fields = Fields::new(body)?;
    let status = match fields.take("status") {
        None => Some(IncidentStatus::Investigating),
        Some(value) => match value.as_str().and_then(|s| s.parse().ok()) {
            Some(IncidentStatus::Postmortem) => {
                fields.error(
                    "status",
                    "cannot be postmortem for a new incident; create it resolved, then post a \
                     postmortem update",
                );
                None
            }
            Some(status) => Some(status),
            None => {
                fields.error(
                    "status",
                    "must be one of investigating, identified, monitoring, resolved",
                );
                None
            }
        },
    };
    let body = fields.string("body", MAX_BODY).filter(|b| !b.is_empty());
    fields.refuse(
        "postmortem",
        "can be written once the incident is resolved (with PATCH or a postmortem update)",
    );
    let spec = read_spec(&mut fields, client, None).await?;
    fields.finish(&READ_ONLY)?;
    Ok(NewIncident {
        spec,
        status: status.unwrap_or(IncidentStatus::Investigating),
        body,
    })
}

/// The editable form of `incident`, onto which a merge patch is applied.
pub fn to_input_json(incident: &StatusIncident) -> Value {
    json!({
        "name": incident.name,
        "impact": incident.impact,
        "postmortem": incident.postmortem,
        "componentIds": incident.component_ids,
        "componentStatuses": incident.component_statuses,
        "monitorIncidentIds": incident.monitor_incident_ids,
        "startedAt": incident.started_at,
    })
}

/// Applies a merge patch to `incident`'s editable form. When the patch sets
/// `componentIds`, the stored statuses of components it leaves out go with
/// them; statuses the patch itself names stay, to be judged.
pub fn merge(incident: &StatusIncident, patch: Value) -> Value {
    let named: BTreeSet<String> = patch
        .get("componentStatuses")
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    let sets_ids = patch.get("componentIds").is_some();
    let mut merged = to_input_json(incident);
    super::merge_patch(&mut merged, patch);
    if sets_ids {
        let kept: BTreeSet<String> = merged
            .get("componentIds")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(Value::Object(statuses)) = merged.get_mut("componentStatuses") {
            statuses.retain(|id, _| kept.contains(id) || named.contains(id));
        }
    }
    merged
}

/// Validates `incident` after a merge patch (see [`merge`]).
pub async fn parse_edit(
    merged: Value,
    incident: &StatusIncident,
    client: &impl GenericClient,
) -> Result<IncidentEdit, ApiError> {
    let mut fields = Fields::new(merged)?;
    fields.refuse(
        "status",
        "changes through an update: POST /api/v1/status-incidents/{id}/updates",
    );
    if !fields.has("startedAt") {
        fields.error("startedAt", "is required (it cannot be removed)");
    }
    let postmortem = match fields.string("postmortem", MAX_POSTMORTEM) {
        Some(text) if text.is_empty() => {
            fields.error("postmortem", "must not be empty; send null to remove it");
            None
        }
        Some(_) if !incident.status.is_closed() => {
            fields.error("postmortem", "can be written once the incident is resolved");
            None
        }
        other => other,
    };
    let spec = read_spec(&mut fields, client, Some(incident)).await?;
    fields.finish(&READ_ONLY)?;
    Ok(IncidentEdit { spec, postmortem })
}

/// Validates a timeline update for `incident` (locked by the caller).
pub fn parse_update(body: Value, incident: &StatusIncident) -> Result<NewUpdate, ApiError> {
    let mut fields = Fields::new(body)?;
    let status = match fields.take("status") {
        None => {
            fields.error("status", "is required");
            None
        }
        Some(value) => match value.as_str().and_then(|s| s.parse().ok()) {
            Some(IncidentStatus::Postmortem) if !incident.status.is_closed() => {
                fields.error(
                    "status",
                    "can be postmortem only once the incident is resolved",
                );
                None
            }
            Some(status) if incident.status.is_closed() && status != IncidentStatus::Postmortem => {
                fields.error(
                    "status",
                    "must be postmortem: the incident is resolved, and a resolved incident takes \
                     only a postmortem update",
                );
                None
            }
            Some(status) => Some(status),
            None => {
                fields.error(
                    "status",
                    "must be one of investigating, identified, monitoring, resolved, postmortem",
                );
                None
            }
        },
    };
    let body = fields.required_string("body", MAX_BODY);
    let component_statuses = if incident.status.is_closed() {
        fields.refuse(
            "componentStatuses",
            "does not apply to a resolved incident: its components are back to automatic",
        );
        BTreeMap::new()
    } else if status == Some(IncidentStatus::Resolved) {
        fields.refuse(
            "componentStatuses",
            "does not apply to a resolving update: resolving returns every affected component \
             to its automatic status",
        );
        BTreeMap::new()
    } else {
        let statuses = statuses_field(&mut fields, "componentStatuses").unwrap_or_default();
        let strangers: Vec<String> = statuses
            .keys()
            .filter(|id| !incident.component_ids.contains(id))
            .map(Uuid::to_string)
            .collect();
        if !strangers.is_empty() {
            fields.error(
                "componentStatuses",
                format!(
                    "names components this incident does not affect (add them to componentIds \
                     with PATCH first): {}",
                    strangers.join(", ")
                ),
            );
        }
        statuses
    };
    let display_at = time_field(&mut fields, "displayAt");
    if display_at.is_some_and(|at| at > Utc::now()) {
        fields.error("displayAt", FUTURE);
    }
    fields.finish(&UPDATE_READ_ONLY)?;
    Ok(NewUpdate {
        status: status.unwrap_or(IncidentStatus::Investigating),
        body: body.unwrap_or_default(),
        component_statuses,
        display_at,
    })
}

/// Validates the edit of an update: its `body`, nothing else.
pub fn parse_update_edit(body: Value) -> Result<String, ApiError> {
    let mut fields = Fields::new(body)?;
    let text = fields.required_string("body", MAX_BODY);
    for name in ["status", "componentStatuses", "displayAt"] {
        fields.refuse(
            name,
            "cannot be edited (only the body can); post a new update instead",
        );
    }
    fields.finish(&UPDATE_READ_ONLY)?;
    Ok(text.unwrap_or_default())
}

/// Reads the editable fields shared by create and patch. `stored` is the
/// incident being patched (None when creating).
async fn read_spec(
    fields: &mut Fields,
    client: &impl GenericClient,
    stored: Option<&StatusIncident>,
) -> Result<IncidentSpec, ApiError> {
    let name = fields.required_string("name", MAX_NAME);
    let impact = match fields.take("impact") {
        None => None,
        Some(value) => {
            let parsed = value.as_str().and_then(|s| s.parse::<Impact>().ok());
            if parsed.is_none() {
                fields.error("impact", "must be one of none, minor, major, critical");
            }
            parsed
        }
    };
    let component_ids = id_list(fields, "componentIds", MAX_COMPONENTS, "component");
    let component_statuses = statuses_field(fields, "componentStatuses");
    let monitor_incident_ids = id_list(
        fields,
        "monitorIncidentIds",
        MAX_MONITOR_INCIDENTS,
        "monitor incident",
    );
    let started_at = time_field(fields, "startedAt");
    if let Some(at) = started_at {
        // A time read back unchanged is not judged again (the database's
        // clock set it, and may run ahead of ours).
        if stored.map(|s| s.started_at) != Some(at) && at > Utc::now() {
            fields.error("startedAt", FUTURE);
        } else if stored
            .and_then(|s| s.resolved_at)
            .is_some_and(|end| at > end)
        {
            fields.error("startedAt", "must not be after the incident's resolvedAt");
        }
    }

    if let Some(ids) = &component_ids {
        let missing = missing(
            client,
            "SELECT id FROM components WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
            ids,
        )
        .await?;
        if !missing.is_empty() {
            fields.error(
                "componentIds",
                format!("names components that do not exist: {}", missing.join(", ")),
            );
        }
    }
    if let (Some(statuses), false) = (&component_statuses, fields.has_error("componentIds")) {
        let listed = component_ids.as_deref().unwrap_or_default();
        let strangers: Vec<String> = statuses
            .keys()
            .filter(|id| !listed.contains(id))
            .map(Uuid::to_string)
            .collect();
        if !strangers.is_empty() {
            fields.error(
                "componentStatuses",
                format!(
                    "names components that are not in componentIds: {}",
                    strangers.join(", ")
                ),
            );
        }
    }
    if let Some(ids) = &monitor_incident_ids {
        let missing = missing(
            client,
            "SELECT id FROM incidents WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
            ids,
        )
        .await?;
        if !missing.is_empty() {
            fields.error(
                "monitorIncidentIds",
                format!(
                    "names monitor incidents that do not exist: {}",
                    missing.join(", ")
                ),
            );
        }
    }
    let component_statuses = component_statuses.unwrap_or_default();
    Ok(IncidentSpec {
        name: name.unwrap_or_default(),
        impact: impact.unwrap_or_else(|| Impact::worst_of(component_statuses.values().copied())),
        component_ids: component_ids.unwrap_or_default(),
        component_statuses,
        monitor_incident_ids: monitor_incident_ids.unwrap_or_default(),
        started_at,
    })
}

/// The ids among `ids` that `sql` (selecting the ids that exist, `$1` the
/// list) does not find.
async fn missing(
    client: &impl GenericClient,
    sql: &str,
    ids: &[Uuid],
) -> Result<Vec<String>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let statement = client.prepare_cached(sql).await?;
    let found: BTreeSet<Uuid> = client
        .query(&statement, &[&ids])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .map(Uuid::to_string)
        .collect())
}

/// An optional list of ids, sorted and without repeats.
fn id_list(fields: &mut Fields, name: &str, max: usize, what: &str) -> Option<Vec<Uuid>> {
    let value = fields.take(name)?;
    let reason = format!("must be a list of at most {max} {what} ids");
    let Value::Array(items) = value else {
        fields.error(name, reason);
        return None;
    };
    let ids: Option<BTreeSet<Uuid>> = items
        .iter()
        .map(|item| item.as_str().and_then(|s| s.parse().ok()))
        .collect();
    match ids {
        Some(ids) if items.len() <= max => Some(ids.into_iter().collect()),
        _ => {
            fields.error(name, reason);
            None
        }
    }
}

/// An optional `{componentId: status}` object.
fn statuses_field(fields: &mut Fields, name: &str) -> Option<BTreeMap<Uuid, ComponentStatus>> {
    let value = fields.take(name)?;
    let Value::Object(map) = value else {
        fields.error(
            name,
            "must be an object such as {\"<componentId>\": \"major_outage\"}",
        );
        return None;
    };
    if map.len() > MAX_COMPONENTS {
        fields.error(name, format!("must have at most {MAX_COMPONENTS} entries"));
        return None;
    }
    let mut statuses = BTreeMap::new();
    for (key, value) in map {
        let Ok(id) = key.parse::<Uuid>() else {
            fields.error(name, "every key must be a component id");
            return None;
        };
        let Some(status) = value
            .as_str()
            .and_then(|s| s.parse::<ComponentStatus>().ok())
        else {
            fields.error(
                name,
                "every value must be one of operational, degraded_performance, partial_outage, \
                 major_outage, under_maintenance",
            );
            return None;
        };
        statuses.insert(id, status);
    }
    Some(statuses)
}

/// An optional RFC 3339 time the API accepts (see [`time_in_range`]).
fn time_field(fields: &mut Fields, name: &str) -> Option<DateTime<Utc>> {
    let value = fields.take(name)?;
    let parsed = super::parse_time(&value);
    if parsed.is_none() {
        fields.error(name, TIME_FORMAT);
    }
    parsed
}
