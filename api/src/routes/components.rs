//! `/api/v1/components`: create, list, read, replace, patch, delete, set or
//! clear a manual status, and the status history (one component's, and all
//! components' at `/api/v1/status-changes`).
//!
//! The API never computes a status: it writes what the status derives from
//! (the component, its monitors, the override) and reads what the
//! database's triggers made of it (migrations/V5__status_domain.sql).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::model::component::{COMPONENT_COLUMNS, STATUS_CHANGE_COLUMNS};
use shared::model::{Component, ComponentStatus, Scope, StatusChange, StatusSource};
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::input::{
    self,
    component::{ComponentSpec, StatusRequest},
};
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/components")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/components/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/components/{id}/status").route(web::post().to(set_status)))
    .service(web::resource("/components/{id}/history").route(web::get().to(history)))
    .service(web::resource("/components/{id}/uptime").route(web::get().to(uptime)))
    .service(web::resource("/components/{id}/uptime/daily").route(web::get().to(uptime_daily)))
    .service(web::resource("/status-changes").route(web::get().to(status_changes)));
}

fn to_json(component: &Component) -> Value {
    serde_json::to_value(component).unwrap_or(Value::Null)
}

async fn fetch(client: &impl GenericClient, id: Uuid, lock: bool) -> Result<Component, ApiError> {
    let sql = format!(
        "SELECT {COMPONENT_COLUMNS} FROM components c WHERE c.id = $1{}",
        if lock { " FOR UPDATE OF c" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("component"))?;
    Ok(Component::from_row(&row)?)
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

// Lock order, the one the worker's result write takes for one monitor (the
// monitor, the component it drives, that component's group): monitors
// first, then the component, then groups. Holding the groups locked until commit keeps
// a concurrent request from turning one into a non-group (or deleting it)
// between the check and the write.

/// Locks `ids` against deletion and names those that do not exist.
async fn check_monitors(
    tx: &Transaction<'_>,
    ids: &[Uuid],
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached("SELECT id FROM monitors WHERE id = ANY($1) ORDER BY id FOR KEY SHARE")
        .await?;
    let found: Vec<Uuid> = tx
        .query(&statement, &[&ids])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains(id))
        .map(Uuid::to_string)
        .collect();
    if !missing.is_empty() {
        errors.push(field_error(
            "monitorIds",
            format!("no such monitor: {}", missing.join(", ")),
        ));
    }
    Ok(())
}

/// Locks the group `spec` names and the one the component leaves, in id
/// order, and checks the rules that need them: `groupId` names a group other
/// than the component itself, and a group with components stays a group.
async fn check_groups(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &ComponentSpec,
    before: Option<&Component>,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if spec.group_id == Some(id) {
        errors.push(field_error(
            "groupId",
            "must name a group other than this component",
        ));
    }
    let mut groups: Vec<Uuid> = spec
        .group_id
        .into_iter()
        .chain(before.and_then(|b| b.group_id))
        .filter(|g| *g != id)
        .collect();
    groups.sort();
    groups.dedup();
    if !groups.is_empty() {
        let statement = tx
            .prepare_cached(
                "SELECT id, name, is_group FROM components WHERE id = ANY($1) \
                 ORDER BY id FOR UPDATE",
            )
            .await?;
        let rows = tx.query(&statement, &[&groups]).await?;
        if let Some(group_id) = spec.group_id.filter(|g| *g != id) {
            match rows.iter().find(|row| row.get::<_, Uuid>("id") == group_id) {
                None => errors.push(field_error(
                    "groupId",
                    format!("must name a group; no component has the id {group_id}"),
                )),
                Some(row) if !row.get::<_, bool>("is_group") => errors.push(field_error(
                    "groupId",
                    format!(
                        "must name a group; {:?} is not a group",
                        row.get::<_, String>("name")
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    if before.is_some_and(|b| b.group) && !spec.group {
        let statement = tx
            .prepare_cached("SELECT count(*) FROM components WHERE group_id = $1")
            .await?;
        let children: i64 = tx.query_one(&statement, &[&id]).await?.get(0);
        if children > 0 {
            errors.push(field_error(
                "group",
                format!(
                    "cannot be false while {children} component(s) are in this group; \
                     move them out or delete them first"
                ),
            ));
        }
    }
    Ok(())
}

/// Writes `spec` as component `id` (inserting it when `insert`), then its
/// monitors. The triggers derive the status and write its history.
async fn write_spec(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &ComponentSpec,
    insert: bool,
) -> Result<(), ApiError> {
    let sql = if insert {
        "INSERT INTO components (id, name, description, url, owner, is_group, group_id, \
         position, auto_incident, sla_target) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    } else {
        // An override whose time is up ends with this write (the worker's
        // status clock would end it within seconds anyway).
        "UPDATE components SET name = $2, description = $3, url = $4, owner = $5, \
         is_group = $6, group_id = $7, position = $8, auto_incident = $9, sla_target = $10, \
         manual_status = CASE WHEN manual_until <= now() THEN NULL ELSE manual_status END, \
         manual_message = CASE WHEN manual_until <= now() THEN NULL ELSE manual_message END, \
         manual_actor = CASE WHEN manual_until <= now() THEN NULL ELSE manual_actor END, \
         manual_incident_id = CASE WHEN manual_until <= now() THEN NULL ELSE manual_incident_id END, \
         manual_until = CASE WHEN manual_until <= now() THEN NULL ELSE manual_until END, \
         updated_at = now() WHERE id = $1"
    };
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.name,
            &spec.description,
            &spec.url,
            &spec.owner,
            &spec.group,
            &spec.group_id,
            &spec.position,
            &spec.auto_incident,
            &spec.sla_target,
        ],
    )
    .await?;
    // One statement, so the component's status is derived once from the
    // final set of monitors: removing then adding in two statements could
    // pass through "no monitors" and write a change to history and the
    // outbox that never really happened.
    let statement = tx
        .prepare_cached(
            "WITH gone AS (DELETE FROM component_monitors \
                 WHERE component_id = $1 AND monitor_id <> ALL($2::uuid[])) \
             INSERT INTO component_monitors (component_id, monitor_id) \
             SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(&statement, &[&id, &spec.monitor_ids]).await?;
    // Whether it is a group decides what the status derives from, and no
    // trigger follows that column.
    let statement = tx
        .prepare_cached("SELECT uptime_refresh_component($1)")
        .await?;
    tx.execute(&statement, &[&id]).await?;
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
    let spec = input::component::parse(body.into_inner())?;
    let id = Uuid::now_v7();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let mut errors = Vec::new();
    check_monitors(&tx, &spec.monitor_ids, &mut errors).await?;
    check_groups(&tx, id, &spec, None, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    write_spec(&tx, id, &spec, true).await?;
    let component = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "component.create",
            entity_type: "component",
            entity_id: id.to_string(),
            before: None,
            after: Some(to_json(&component)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/components/{id}")))
        .json(component))
}

/// Query parameters of `GET /api/v1/components`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// Components in this group.
    group_id: Option<Uuid>,
    /// Only groups (true) or only non-groups (false).
    group: Option<bool>,
    status: Option<String>,
    /// Components this monitor drives.
    monitor_id: Option<Uuid>,
}

fn status_names() -> String {
    ComponentStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lists components in the order they were created (by id, the cursor).
#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Component>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    if let Some(status) = &query.status {
        status.parse::<ComponentStatus>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                format!("status must be one of {}", status_names()),
            )
        })?;
    }
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COMPONENT_COLUMNS} FROM components c \
             WHERE ($1::uuid IS NULL OR c.id > $1) \
               AND ($2::uuid IS NULL OR c.group_id = $2) \
               AND ($3::bool IS NULL OR c.is_group = $3) \
               AND ($4::text IS NULL OR c.status = $4) \
               AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM component_monitors cm \
                    WHERE cm.component_id = c.id AND cm.monitor_id = $5)) \
             ORDER BY c.id LIMIT $6"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &after,
                &query.group_id,
                &query.group,
                &query.status,
                &query.monitor_id,
                &(limit + 1),
            ],
        )
        .await?;
    let components = rows
        .iter()
        .map(Component::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(components, limit, |c| c.id)))
}

#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<Component>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    Ok(web::Json(fetch(&client, *path, false).await?))
}

/// Writes a validated spec over component `id`; with `expected_version`
/// (a PATCH), fails with 409 if the component changed since it was read.
async fn update(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: Uuid,
    spec: ComponentSpec,
    expected_version: Option<DateTime<Utc>>,
) -> Result<Component, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let mut errors = Vec::new();
    check_monitors(&tx, &spec.monitor_ids, &mut errors).await?;
    let before = fetch(&tx, id, true).await?;
    if expected_version.is_some_and(|v| v != before.updated_at) {
        return Err(ApiError::Conflict(
            "the component changed while this request was processed; retry".to_owned(),
        ));
    }
    check_groups(&tx, id, &spec, Some(&before), &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    write_spec(&tx, id, &spec, false).await?;
    let after = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        caller,
        meta,
        Change {
            action: "component.update",
            entity_type: "component",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Component>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?;
    }
    let spec = input::component::parse(body.into_inner())?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, None).await?,
    ))
}

#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Component>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let patch = input::merge_patch_body(body.into_inner())?;
    let current = {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?
    };
    let mut merged = ComponentSpec::of(&current).to_input_json();
    input::merge_patch(&mut merged, patch);
    let spec = input::component::parse(merged)?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, Some(current.updated_at)).await?,
    ))
}

/// Deletes a component; the components of a group become ungrouped.
#[tracing::instrument(skip_all, fields(component_id = %path))]
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
    // Children before their group, the order every other writer takes.
    let statement = tx
        .prepare_cached("SELECT id FROM components WHERE group_id = $1 ORDER BY id FOR UPDATE")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    let before = fetch(&tx, id, true).await?;
    // Its override ends and its automatic incident resolves (with its
    // event) before it goes.
    let statement = tx
        .prepare_cached("SELECT uptime_component_retire($1)")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    let statement = tx
        .prepare_cached("DELETE FROM components WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "component.delete",
            entity_type: "component",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets or clears the manual status. Clearing a component that has none
/// changes nothing and records nothing.
#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn set_status(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Component>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch(&tx, id, true).await?;
    let request = input::component::parse_status(body.into_inner(), Utc::now())?;
    let (status, message, until, actor) = match request {
        StatusRequest::Automatic if before.manual.is_none() => return Ok(web::Json(before)),
        StatusRequest::Automatic => (None, None, None, None),
        StatusRequest::Manual {
            status,
            message,
            until,
        } => (Some(status.as_str()), message, until, caller.key_id),
    };
    let statement = tx
        .prepare_cached(
            "UPDATE components SET manual_status = $2, manual_message = $3, manual_until = $4, \
             manual_actor = $5, manual_incident_id = NULL, updated_at = now() WHERE id = $1",
        )
        .await?;
    tx.execute(&statement, &[&id, &status, &message, &until, &actor])
        .await?;
    let after = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "component.status",
            entity_type: "component",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(web::Json(after))
}

/// Query parameters of a component's history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Query of `GET /components/{id}/uptime`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UptimeQuery {
    period: Option<String>,
}

/// Uptime over a period ending now, from the status history (see
/// shared::component_uptime).
#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn uptime(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<UptimeQuery>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let (name, days) = input::period(query.period.as_deref(), "30d")?;
    let client = state.db.get().await?;
    fetch(&client, id, false).await?;
    let to = Utc::now();
    let figures =
        shared::component_uptime::over(&client, id, to - chrono::Duration::days(days), to).await?;
    let mut body = serde_json::to_value(figures).unwrap_or(Value::Null);
    body["componentId"] = serde_json::json!(id);
    body["period"] = serde_json::json!(name);
    Ok(web::Json(body))
}

/// Most days `GET /components/{id}/uptime/daily` answers.
const MAX_DAYS: u32 = 366;

/// Query of `GET /components/{id}/uptime/daily`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyQuery {
    days: Option<u32>,
}

/// One entry per UTC day, oldest first, ending with today (so far).
#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn uptime_daily(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<DailyQuery>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let days = query.days.unwrap_or(90);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("days must be between 1 and {MAX_DAYS}"),
        ));
    }
    let client = state.db.get().await?;
    fetch(&client, id, false).await?;
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc())
        .unwrap_or_else(Utc::now);
    let start = today - chrono::Duration::days(i64::from(days) - 1);
    let items =
        shared::component_uptime::series(&client, id, start, chrono::Duration::days(1), days)
            .await?;
    Ok(web::Json(
        serde_json::json!({"componentId": id, "items": items}),
    ))
}

/// One component's status changes, newest first.
#[tracing::instrument(skip_all, fields(component_id = %path))]
async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<Page<StatusChange>>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let before: Option<i64> = pagination::decode_cursor(query.cursor.as_deref())?;
    let client = state.db.get().await?;
    fetch(&client, id, false).await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {STATUS_CHANGE_COLUMNS} FROM component_status_changes \
             WHERE component_id = $1 AND ($2::bigint IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&id, &before, &(limit + 1)])
        .await?;
    let items = rows
        .iter()
        .map(StatusChange::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(items, limit, |c| c.id)))
}

/// A status change with the name of its component.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusChangeView {
    #[serde(flatten)]
    change: StatusChange,
    component_name: String,
}

/// Query parameters of `GET /api/v1/status-changes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangesQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    component_id: Option<Uuid>,
    source: Option<String>,
    /// Changes at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Changes before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

/// Every component's status changes, newest first.
#[tracing::instrument(skip_all)]
async fn status_changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ChangesQuery>,
) -> Result<web::Json<Page<StatusChangeView>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let before: Option<i64> = pagination::decode_cursor(query.cursor.as_deref())?;
    if let Some(source) = &query.source {
        source.parse::<StatusSource>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                "source must be one of automatic, manual, maintenance",
            )
        })?;
    }
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
            "SELECT {STATUS_CHANGE_COLUMNS}, (SELECT c.name FROM components c \
                 WHERE c.id = component_status_changes.component_id) AS component_name \
             FROM component_status_changes \
             WHERE ($1::bigint IS NULL OR id < $1) \
               AND ($2::uuid IS NULL OR component_id = $2) \
               AND ($3::text IS NULL OR source = $3) \
               AND ($4::timestamptz IS NULL OR at >= $4) \
               AND ($5::timestamptz IS NULL OR at < $5) \
             ORDER BY id DESC LIMIT $6"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &before,
                &query.component_id,
                &query.source,
                &query.from,
                &query.to,
                &(limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(StatusChangeView {
                change: StatusChange::from_row(row)?,
                component_name: row.try_get("component_name")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(web::Json(pagination::page(items, limit, |c| c.change.id)))
}
