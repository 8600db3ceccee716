//! `/api/v1/status-incidents`: what operators tell the people who depend on
//! a service, with a timeline of updates. An open incident shows the status
//! it gives each affected component by writing that component's override
//! (tagged with the incident's id); resolving or deleting it clears them.
//! The database opens and resolves automatic incidents by itself
//! (migrations/V5__status_domain.sql); an operator's update takes one over.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::model::status_incident::{
    IncidentStatus, IncidentUpdate, StatusIncident, INCIDENT_UPDATE_COLUMNS,
    STATUS_INCIDENT_COLUMNS,
};
use shared::model::{ComponentStatus, Scope};
use shared::notify;
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::pagination::{self, Page};
use crate::startup::AppState;

/// The audit log's entity type for incidents and their updates.
const ENTITY: &str = "status_incident";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/status-incidents")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/status-incidents/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/status-incidents/{id}/updates").route(web::post().to(post_update)))
    .service(
        web::resource("/status-incidents/{id}/updates/{update_id}")
            .route(web::get().to(get_update))
            .route(web::patch().to(edit_update)),
    );
}

/// An incident with its timeline, newest update first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IncidentView {
    #[serde(flatten)]
    incident: StatusIncident,
    updates: Vec<IncidentUpdate>,
}

impl IncidentView {
    async fn load(client: &impl GenericClient, id: Uuid) -> Result<Self, ApiError> {
        Ok(IncidentView {
            incident: fetch(client, id, false).await?,
            updates: timeline(client, id).await?,
        })
    }
}

fn json_of(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Reads incident `id`, locking it against other changes when `lock`.
async fn fetch(
    client: &impl GenericClient,
    id: Uuid,
    lock: bool,
) -> Result<StatusIncident, ApiError> {
    let sql = format!(
        "SELECT {STATUS_INCIDENT_COLUMNS} FROM status_incidents si WHERE si.id = $1{}",
        if lock { " FOR UPDATE OF si" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("status incident"))?;
    Ok(StatusIncident::from_row(&row)?)
}

/// Locks incident `id` for a change, after the components the change may
/// move, in id order: the database's triggers lock a component before the
/// automatic incident they open or resolve for it, so this takes the same
/// order and neither waits on the other.
async fn lock(tx: &Transaction<'_>, id: Uuid) -> Result<StatusIncident, ApiError> {
    let statement = tx
        .prepare_cached(
            "SELECT c.id FROM components c \
             WHERE c.manual_incident_id = $1 \
                OR c.id IN (SELECT sic.component_id FROM status_incident_components sic \
                            WHERE sic.incident_id = $1) \
                OR c.id = (SELECT si.auto_component_id FROM status_incidents si WHERE si.id = $1) \
             ORDER BY c.is_group, c.id FOR NO KEY UPDATE",
        )
        .await?;
    tx.execute(&statement, &[&id]).await?;
    fetch(tx, id, true).await
}

/// The updates of incident `id`, newest (by display time) first.
async fn timeline(client: &impl GenericClient, id: Uuid) -> Result<Vec<IncidentUpdate>, ApiError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {INCIDENT_UPDATE_COLUMNS} FROM status_incident_updates \
             WHERE incident_id = $1 ORDER BY display_at DESC, id DESC"
        ))
        .await?;
    let rows = client.query(&statement, &[&id]).await?;
    Ok(rows
        .iter()
        .map(IncidentUpdate::from_row)
        .collect::<Result<_, _>>()?)
}

/// Reads update `update_id` of incident `id`, locking it when `lock`.
async fn fetch_update(
    client: &impl GenericClient,
    id: Uuid,
    update_id: Uuid,
    lock: bool,
) -> Result<IncidentUpdate, ApiError> {
    let sql = format!(
        "SELECT {INCIDENT_UPDATE_COLUMNS} FROM status_incident_updates \
         WHERE id = $1 AND incident_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&update_id, &id])
        .await?
        .ok_or(ApiError::NotFound("status incident update"))?;
    Ok(IncidentUpdate::from_row(&row)?)
}

/// Replaces the components and monitor incidents incident `id` lists.
async fn write_links(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &input::status_incident::IncidentSpec,
) -> Result<(), ApiError> {
    // Separate statements: an INSERT does not see a DELETE of the same
    // statement, so the rows it puts back would collide with those it drops.
    for sql in [
        "DELETE FROM status_incident_components WHERE incident_id = $1",
        "DELETE FROM status_incident_monitor_incidents WHERE incident_id = $1",
    ] {
        let statement = tx.prepare_cached(sql).await?;
        tx.execute(&statement, &[&id]).await?;
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_incident_components (incident_id, component_id, status) \
             SELECT $1, t.component_id, t.status \
             FROM unnest($2::uuid[], $3::text[]) AS t(component_id, status)",
        )
        .await?;
    tx.execute(
        &statement,
        &[&id, &spec.component_ids, &spec.statuses_by_component()],
    )
    .await?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_incident_monitor_incidents (incident_id, monitor_incident_id) \
             SELECT $1, unnest($2::uuid[])",
        )
        .await?;
    tx.execute(&statement, &[&id, &spec.monitor_incident_ids])
        .await?;
    Ok(())
}

/// Locks components in id order, the order the database's triggers use, so
/// that this transaction and a worker's cannot wait on each other.
async fn lock_components(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<(), ApiError> {
    let statement = tx
        .prepare_cached(
            "SELECT 1 FROM components WHERE id = ANY($1) ORDER BY is_group, id FOR NO KEY UPDATE",
        )
        .await?;
    tx.execute(&statement, &[&ids]).await?;
    Ok(())
}

/// Gives each component in `statuses` the override of incident `id` (the
/// database's triggers show it and write the history).
async fn apply_overrides(
    tx: &Transaction<'_>,
    id: Uuid,
    statuses: &BTreeMap<Uuid, ComponentStatus>,
    message: &str,
    actor: Option<Uuid>,
) -> Result<(), ApiError> {
    if statuses.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = statuses.keys().copied().collect();
    let values: Vec<&str> = statuses.values().map(|s| s.as_str()).collect();
    lock_components(tx, &ids).await?;
    let statement = tx
        .prepare_cached(
            "UPDATE components c SET manual_status = t.status, manual_message = $4, \
                 manual_until = NULL, manual_actor = $5, manual_incident_id = $1, \
                 updated_at = now() \
             FROM unnest($2::uuid[], $3::text[]) AS t(id, status) WHERE c.id = t.id",
        )
        .await?;
    tx.execute(&statement, &[&id, &ids, &values, &message, &actor])
        .await?;
    Ok(())
}

/// Returns the components incident `id` overrides, except those in `keep`,
/// to their automatic status.
async fn clear_overrides(tx: &Transaction<'_>, id: Uuid, keep: &[Uuid]) -> Result<(), ApiError> {
    let statement = tx
        .prepare_cached(
            "SELECT id FROM components WHERE manual_incident_id = $1 AND NOT (id = ANY($2)) \
             ORDER BY is_group, id FOR NO KEY UPDATE",
        )
        .await?;
    let ids: Vec<Uuid> = tx
        .query(&statement, &[&id, &keep])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "UPDATE components SET manual_status = NULL, manual_message = NULL, \
                 manual_until = NULL, manual_actor = NULL, manual_incident_id = NULL, \
                 updated_at = now() \
             WHERE id = ANY($2) AND manual_incident_id = $1",
        )
        .await?;
    tx.execute(&statement, &[&id, &ids]).await?;
    Ok(())
}

/// Enqueues `event_type` for incident `id` on every channel subscribed to
/// it. The message shows `update` as the latest one (the database picks the
/// newest by display time, which a backdated update is not).
async fn enqueue(
    tx: &Transaction<'_>,
    event_type: &str,
    id: Uuid,
    update: Option<Uuid>,
) -> Result<(), ApiError> {
    let statement = tx
        .prepare_cached(
            "SELECT uptime_status_event($1::text, $2::uuid, NULL::uuid, COALESCE(( \
                 SELECT jsonb_build_object('latestUpdate', jsonb_build_object( \
                     'status', u.status, 'body', u.body, 'displayAt', u.display_at)) \
                 FROM status_incident_updates u WHERE u.id = $3::uuid), '{}'))",
        )
        .await?;
    tx.execute(&statement, &[&event_type, &id, &update]).await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let new = input::status_incident::parse_new(body.into_inner(), &tx).await?;
    let id = Uuid::now_v7();
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_incidents (id, name, impact, status, started_at, resolved_at) \
             VALUES ($1, $2, $3, $4, COALESCE($5, now()), CASE WHEN $6 THEN now() END)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &new.spec.name,
            &new.spec.impact.as_str(),
            &new.status.as_str(),
            &new.spec.started_at,
            &new.status.is_closed(),
        ],
    )
    .await?;
    write_links(&tx, id, &new.spec).await?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_incident_updates (id, incident_id, status, body, \
                 component_statuses, author_key_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &Uuid::now_v7(),
            &id,
            &new.status.as_str(),
            &new.body,
            &json_of(&new.spec.component_statuses),
            &caller.key_id,
        ],
    )
    .await?;
    if !new.status.is_closed() {
        let message = new.body.as_deref().unwrap_or(&new.spec.name);
        apply_overrides(
            &tx,
            id,
            &new.spec.component_statuses,
            message,
            caller.key_id,
        )
        .await?;
    }
    enqueue(&tx, notify::STATUS_INCIDENT_CREATED, id, None).await?;
    let view = IncidentView::load(&tx, id).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_incident.create",
            entity_type: ENTITY,
            entity_id: id.to_string(),
            before: None,
            after: Some(json_of(&view)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/status-incidents/{id}")))
        .json(view))
}

/// A place in the list: incidents are listed newest first by `startedAt`,
/// ties broken by id, and a cursor is the last incident's place.
struct Position {
    started_at: DateTime<Utc>,
    id: Uuid,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}|{}",
            self.started_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.id
        )
    }
}

impl FromStr for Position {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (at, id) = s.split_once('|').ok_or(())?;
        let started_at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| ())?
            .with_timezone(&Utc);
        if !input::time_in_range(&started_at) {
            return Err(());
        }
        Ok(Position {
            started_at,
            id: id.parse().map_err(|_| ())?,
        })
    }
}

/// Query parameters of `GET /api/v1/status-incidents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// Only open (true) or only resolved (false) incidents.
    open: Option<bool>,
    /// Only incidents that affect this component.
    component_id: Option<Uuid>,
    /// Incidents that started at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Incidents that started before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<StatusIncident>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let after: Option<Position> = pagination::decode_cursor(query.cursor.as_deref())?;
    input::check_query_time("from", query.from)?;
    input::check_query_time("to", query.to)?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from >= to {
            return Err(ApiError::bad_request(
                "invalid_query",
                "from must be earlier than to",
            ));
        }
    }
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {STATUS_INCIDENT_COLUMNS} FROM status_incidents si \
             WHERE ($1::timestamptz IS NULL OR (si.started_at, si.id) < ($1, $2::uuid)) \
               AND ($3::bool IS NULL OR (si.resolved_at IS NULL) = $3) \
               AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM status_incident_components f \
                    WHERE f.incident_id = si.id AND f.component_id = $4)) \
               AND ($5::timestamptz IS NULL OR si.started_at >= $5) \
               AND ($6::timestamptz IS NULL OR si.started_at < $6) \
             ORDER BY si.started_at DESC, si.id DESC LIMIT $7"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &after.as_ref().map(|p| p.started_at),
                &after.as_ref().map(|p| p.id),
                &query.open,
                &query.component_id,
                &query.from,
                &query.to,
                &(limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(StatusIncident::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(items, limit, |i| Position {
        started_at: i.started_at,
        id: i.id,
    })))
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<IncidentView>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    Ok(web::Json(IncidentView::load(&client, *path).await?))
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path))]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<IncidentView>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let patch = input::merge_patch_body(body.into_inner())?;
    let touches_components =
        patch.get("componentIds").is_some() || patch.get("componentStatuses").is_some();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = lock(&tx, id).await?;
    let merged = input::status_incident::merge(&before, patch);
    let edit = input::status_incident::parse_edit(merged, &before, &tx).await?;
    // The status follows the postmortem only once the incident is over.
    let statement = tx
        .prepare_cached(
            "UPDATE status_incidents SET name = $2, impact = $3, started_at = $4, \
                 postmortem = $5, \
                 status = CASE WHEN status IN ('resolved', 'postmortem') THEN \
                     CASE WHEN $5::text IS NULL THEN 'resolved' ELSE 'postmortem' END \
                     ELSE status END, \
                 updated_at = now() \
             WHERE id = $1",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &edit.spec.name,
            &edit.spec.impact.as_str(),
            &edit.spec.started_at.unwrap_or(before.started_at),
            &edit.postmortem,
        ],
    )
    .await?;
    write_links(&tx, id, &edit.spec).await?;
    if touches_components && !before.status.is_closed() {
        let updates = timeline(&tx, id).await?;
        let message = updates
            .iter()
            .find_map(|u| u.body.as_deref())
            .unwrap_or(&edit.spec.name);
        let keep: Vec<Uuid> = edit.spec.component_statuses.keys().copied().collect();
        clear_overrides(&tx, id, &keep).await?;
        apply_overrides(
            &tx,
            id,
            &edit.spec.component_statuses,
            message,
            caller.key_id,
        )
        .await?;
    }
    let view = IncidentView::load(&tx, id).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_incident.update",
            entity_type: ENTITY,
            entity_id: id.to_string(),
            before: Some(json_of(&before)),
            after: Some(json_of(&view.incident)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(web::Json(view))
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path))]
async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    lock(&tx, id).await?;
    let before = IncidentView::load(&tx, id).await?;
    let statement = tx
        .prepare_cached("DELETE FROM status_incidents WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    // After the incident is gone, as when it resolves.
    clear_overrides(&tx, id, &[]).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_incident.delete",
            entity_type: ENTITY,
            entity_id: id.to_string(),
            before: Some(json_of(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path))]
async fn post_update(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let incident = lock(&tx, id).await?;
    let update = input::status_incident::parse_update(body.into_inner(), &incident)?;
    // First: from now on the automation leaves an automatic incident alone,
    // including when the overrides written below move its component.
    let statement = tx
        .prepare_cached(
            "UPDATE status_incidents SET taken_over = true \
             WHERE id = $1 AND auto_component_id IS NOT NULL AND NOT taken_over",
        )
        .await?;
    tx.execute(&statement, &[&id]).await?;
    let update_id = Uuid::now_v7();
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_incident_updates (id, incident_id, status, body, \
                 component_statuses, author_key_id, display_at) \
             VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()))",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &update_id,
            &id,
            &update.status.as_str(),
            &update.body,
            &json_of(&update.component_statuses),
            &caller.key_id,
            &update.display_at,
        ],
    )
    .await?;
    let resolving = update.status == IncidentStatus::Resolved;
    if !update.component_statuses.is_empty() {
        let ids: Vec<Uuid> = update.component_statuses.keys().copied().collect();
        let values: Vec<&str> = update
            .component_statuses
            .values()
            .map(|s| s.as_str())
            .collect();
        let statement = tx
            .prepare_cached(
                "UPDATE status_incident_components sic SET status = t.status \
                 FROM unnest($2::uuid[], $3::text[]) AS t(component_id, status) \
                 WHERE sic.incident_id = $1 AND sic.component_id = t.component_id",
            )
            .await?;
        tx.execute(&statement, &[&id, &ids, &values]).await?;
        apply_overrides(
            &tx,
            id,
            &update.component_statuses,
            &update.body,
            caller.key_id,
        )
        .await?;
    }
    let statement = tx
        .prepare_cached(
            "UPDATE status_incidents SET status = $2, \
                 resolved_at = CASE WHEN $2 IN ('resolved', 'postmortem') \
                     THEN COALESCE(resolved_at, now()) END, \
                 postmortem = CASE WHEN $2 = 'postmortem' THEN $3 ELSE postmortem END, \
                 updated_at = now() \
             WHERE id = $1",
        )
        .await?;
    tx.execute(&statement, &[&id, &update.status.as_str(), &update.body])
        .await?;
    if resolving {
        // Once the incident is over: a component its monitors still show in
        // an outage is then one no open incident covers, and the automation
        // takes it as it takes any other (migrations/V5, uptime_auto_incident).
        clear_overrides(&tx, id, &[]).await?;
    }
    let event = if resolving {
        notify::STATUS_INCIDENT_RESOLVED
    } else {
        notify::STATUS_INCIDENT_UPDATED
    };
    enqueue(&tx, event, id, Some(update_id)).await?;
    let stored = fetch_update(&tx, id, update_id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_incident_update.create",
            entity_type: ENTITY,
            entity_id: id.to_string(),
            before: None,
            after: Some(json_of(&stored)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/status-incidents/{id}/updates/{update_id}"),
        ))
        .json(stored))
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path.0, update_id = %path.1))]
async fn get_update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<IncidentUpdate>, ApiError> {
    caller.require(Scope::Read)?;
    let (id, update_id) = path.into_inner();
    let client = state.db.get().await?;
    Ok(web::Json(
        fetch_update(&client, id, update_id, false).await?,
    ))
}

#[tracing::instrument(skip_all, fields(status_incident_id = %path.0, update_id = %path.1))]
async fn edit_update(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<Value>,
) -> Result<web::Json<IncidentUpdate>, ApiError> {
    caller.require(Scope::Write)?;
    let (id, update_id) = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch_update(&tx, id, update_id, true).await?;
    let text = input::status_incident::parse_update_edit(body.into_inner())?;
    let statement = tx
        .prepare_cached(
            "UPDATE status_incident_updates SET body = $2, edited_at = now() WHERE id = $1",
        )
        .await?;
    tx.execute(&statement, &[&update_id, &text]).await?;
    let after = fetch_update(&tx, id, update_id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_incident_update.edit",
            entity_type: ENTITY,
            entity_id: id.to_string(),
            before: Some(json_of(&before)),
            after: Some(json_of(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(web::Json(after))
}
