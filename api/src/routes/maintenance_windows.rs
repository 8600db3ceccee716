//! `/api/v1/maintenance-windows`: create, list, read, patch and delete
//! maintenance windows.
//!
//! A write materializes the window's occurrences ([`API_HORIZON`] ahead) in
//! its own transaction, so the result writer sees them at once. Starts and
//! ends are left to the workers' tick (shared::maintenance::tick), even for a
//! window already in progress when it is written: the tick announces them and
//! puts the covered components under maintenance within seconds. `state`,
//! `currentOccurrence`, `nextOccurrence` and `upcoming` are computed from the
//! schedule and the clock.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::maintenance::{
    self, MaintenanceError, State, Window, WindowRowError, API_HORIZON, WINDOW_COLUMNS,
};
use shared::model::Scope;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::input::{
    self,
    maintenance_window::{schedule_json, WindowSpec},
};
use crate::pagination::{self, Page};
use crate::startup::AppState;

/// Occurrences listed as `upcoming` when one window is read.
const UPCOMING: usize = 5;
/// Windows a list request examines at most before it answers with what it
/// found (and a cursor to go on from).
const MAX_SCANNED: usize = 5_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/maintenance-windows")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/maintenance-windows/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

fn from_row(row: &Row) -> Result<Window, ApiError> {
    Window::from_row(row).map_err(|error| match error {
        WindowRowError::Column(error) => ApiError::from(error),
        other => ApiError::Internal(anyhow::Error::new(other)),
    })
}

fn engine_error(error: MaintenanceError) -> ApiError {
    match error {
        MaintenanceError::Db(error) => ApiError::from(error),
        MaintenanceError::NotFound(_) => ApiError::NotFound("maintenance window"),
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

async fn fetch(client: &impl GenericClient, id: Uuid, lock: bool) -> Result<Window, ApiError> {
    let sql = format!(
        "SELECT {WINDOW_COLUMNS} FROM maintenance_windows w WHERE w.id = $1{}",
        if lock { " FOR UPDATE OF w" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("maintenance window"))?;
    from_row(&row)
}

/// The answer form: the stored fields, the schedule's fields, and where the
/// window stands at `now`; with `upcoming` when `detail`.
fn view(window: &Window, now: DateTime<Utc>, detail: bool) -> Value {
    let schedule = &window.schedule;
    let upcoming = maintenance::upcoming(schedule, now, if detail { UPCOMING } else { 1 });
    let mut json = json!({
        "id": window.id,
        "title": window.title,
        "description": window.description,
        "monitorIds": window.monitor_ids,
        "componentIds": window.component_ids,
        "notifyChannels": window.notify_channels,
        "state": maintenance::state(schedule, now),
        "currentOccurrence": maintenance::current_occurrence(schedule, now),
        "nextOccurrence": upcoming.first(),
        "createdAt": window.created_at,
        "updatedAt": window.updated_at,
    });
    if let (Some(map), Value::Object(fields)) = (json.as_object_mut(), schedule_json(schedule)) {
        map.extend(fields);
        if detail {
            map.insert("upcoming".to_owned(), json!(upcoming));
        }
    }
    json
}

/// What the audit log keeps of a window: its stored fields.
fn audit_json(window: &Window) -> Value {
    let mut json = WindowSpec::of(window).to_input_json();
    json["id"] = json!(window.id);
    json
}

fn field_error(field: &str, message: String) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message,
    }
}

/// Names the ids of `table` among `ids` that do not exist, and locks the
/// others against deletion until the transaction ends (monitors first, then
/// components: the lock order of the rest of the API).
async fn missing(tx: &Transaction<'_>, table: &str, ids: &[Uuid]) -> Result<Vec<String>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let statement = tx
        .prepare_cached(&format!(
            "SELECT id FROM {table} WHERE id = ANY($1) ORDER BY id FOR KEY SHARE"
        ))
        .await?;
    let found: Vec<Uuid> = tx
        .query(&statement, &[&ids])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .map(Uuid::to_string)
        .collect())
}

/// Fails with 422 naming every monitor and component id that does not exist.
async fn check_references(tx: &Transaction<'_>, spec: &WindowSpec) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let monitors = missing(tx, "monitors", &spec.monitor_ids).await?;
    if !monitors.is_empty() {
        errors.push(field_error(
            "monitorIds",
            format!("no such monitor: {}", monitors.join(", ")),
        ));
    }
    let components = missing(tx, "components", &spec.component_ids).await?;
    if !components.is_empty() {
        errors.push(field_error(
            "componentIds",
            format!("no such component: {}", components.join(", ")),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Writes `spec` as window `id` (inserting it when `insert`), its monitors
/// and components, and materializes its occurrences.
async fn write_spec(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &WindowSpec,
    insert: bool,
) -> Result<(), ApiError> {
    let sql = if insert {
        "INSERT INTO maintenance_windows (id, title, description, starts_at, ends_at, cron, \
         duration_minutes, timezone, active_from, active_until, notify_channels) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE maintenance_windows SET title = $2, description = $3, starts_at = $4, \
         ends_at = $5, cron = $6, duration_minutes = $7, timezone = $8, active_from = $9, \
         active_until = $10, notify_channels = $11, updated_at = now() WHERE id = $1"
    };
    let columns = Columns::of(spec);
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.title,
            &spec.description,
            &columns.starts_at,
            &columns.ends_at,
            &columns.cron,
            &columns.duration_minutes,
            &columns.timezone,
            &columns.active_from,
            &columns.active_until,
            &spec.notify_channels,
        ],
    )
    .await?;
    for (table, column, ids) in [
        (
            "maintenance_window_monitors",
            "monitor_id",
            &spec.monitor_ids,
        ),
        (
            "maintenance_window_components",
            "component_id",
            &spec.component_ids,
        ),
    ] {
        let statement = tx
            .prepare_cached(&format!(
                "WITH gone AS (DELETE FROM {table} WHERE window_id = $1 AND {column} <> ALL($2::uuid[])) \
                 INSERT INTO {table} (window_id, {column}) \
                 SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
            ))
            .await?;
        tx.execute(&statement, &[&id, ids]).await?;
    }
    maintenance::materialize(tx, id, Utc::now() + API_HORIZON)
        .await
        .map_err(engine_error)?;
    Ok(())
}

/// The schedule as `maintenance_windows` columns.
struct Columns<'a> {
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    cron: Option<&'a str>,
    duration_minutes: Option<i32>,
    timezone: Option<&'static str>,
    active_from: Option<DateTime<Utc>>,
    active_until: Option<DateTime<Utc>>,
}

impl<'a> Columns<'a> {
    fn of(spec: &'a WindowSpec) -> Self {
        match &spec.schedule {
            maintenance::Schedule::OneOff { starts_at, ends_at } => Self {
                starts_at: Some(*starts_at),
                ends_at: Some(*ends_at),
                cron: None,
                duration_minutes: None,
                timezone: None,
                active_from: None,
                active_until: None,
            },
            maintenance::Schedule::Recurring {
                cron,
                duration,
                timezone,
                active_from,
                active_until,
            } => Self {
                starts_at: None,
                ends_at: None,
                cron: Some(cron.as_str()),
                duration_minutes: i32::try_from(duration.num_minutes()).ok(),
                timezone: Some(timezone.name()),
                active_from: *active_from,
                active_until: *active_until,
            },
        }
    }
}

#[tracing::instrument(skip_all)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let spec = input::maintenance_window::parse(body.into_inner())?;
    let id = Uuid::now_v7();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    check_references(&tx, &spec).await?;
    write_spec(&tx, id, &spec, true).await?;
    let window = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "maintenance_window.create",
            entity_type: "maintenance_window",
            entity_id: id.to_string(),
            before: None,
            after: Some(audit_json(&window)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/maintenance-windows/{id}")))
        .json(view(&window, Utc::now(), true)))
}

/// Query parameters of `GET /api/v1/maintenance-windows`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    state: Option<String>,
    /// Windows with an occurrence overlapping [from, to) (RFC 3339).
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// Lists windows in the order they were created (by id, the cursor). The
/// database narrows by the columns; the schedule decides. A page may hold
/// fewer than `limit` windows, with a cursor, when many did not match.
#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Value>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let mut after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    let wanted = match &query.state {
        None => None,
        Some(name) => Some(name.parse::<State>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                "state must be one of scheduled, in_progress, completed",
            )
        })?),
    };
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
    let now = Utc::now();
    let client = state.db.get().await?;
    // Necessary conditions only: a recurring window's state and occurrences
    // come from its schedule, checked below.
    let statement = client
        .prepare_cached(&format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows w \
             WHERE ($1::uuid IS NULL OR w.id > $1) \
               AND ($2::text IS NULL \
                    OR ($2 = 'scheduled' AND CASE WHEN w.cron IS NULL THEN w.starts_at > $3 \
                        ELSE w.active_until IS NULL OR w.active_until > $3 END) \
                    OR ($2 = 'in_progress' AND CASE WHEN w.cron IS NULL \
                        THEN w.starts_at <= $3 AND w.ends_at > $3 \
                        ELSE w.active_from IS NULL OR w.active_from <= $3 END) \
                    OR ($2 = 'completed' AND CASE WHEN w.cron IS NULL THEN w.ends_at <= $3 \
                        ELSE w.active_until <= $3 END)) \
               AND ($4::timestamptz IS NULL OR CASE WHEN w.cron IS NULL THEN w.ends_at > $4 \
                    ELSE w.active_until IS NULL \
                         OR w.active_until + make_interval(mins => w.duration_minutes) > $4 END) \
               AND ($5::timestamptz IS NULL OR CASE WHEN w.cron IS NULL THEN w.starts_at < $5 \
                    ELSE w.active_from IS NULL OR w.active_from < $5 END) \
             ORDER BY w.id LIMIT $6"
        ))
        .await?;
    let state_name = wanted.map(State::as_str);
    let mut items = Vec::new();
    let mut scanned = 0;
    let next_cursor = loop {
        let rows = client
            .query(
                &statement,
                &[
                    &after,
                    &state_name,
                    &now,
                    &query.from,
                    &query.to,
                    &(limit + 1),
                ],
            )
            .await?;
        let exhausted = i64::try_from(rows.len()).unwrap_or(i64::MAX) <= limit;
        for row in &rows {
            let window = from_row(row)?;
            scanned += 1;
            after = Some(window.id);
            if matches(&window, wanted, query.from, query.to, now) {
                items.push(window);
                if i64::try_from(items.len()).unwrap_or(i64::MAX) > limit {
                    let page = pagination::page(items, limit, |w| w.id);
                    return Ok(web::Json(Page {
                        items: page.items.iter().map(|w| view(w, now, false)).collect(),
                        next_cursor: page.next_cursor,
                    }));
                }
            }
        }
        if exhausted {
            break None;
        }
        if scanned >= MAX_SCANNED {
            break after.map(|id| pagination::encode_cursor(&id.to_string()));
        }
    };
    Ok(web::Json(Page {
        items: items.iter().map(|w| view(w, now, false)).collect(),
        next_cursor,
    }))
}

/// Whether `window` is in state `wanted` and has an occurrence overlapping
/// [`from`, `to`). A recurring window's occurrences count from its creation.
fn matches(
    window: &Window,
    wanted: Option<State>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    if wanted.is_some_and(|w| maintenance::state(&window.schedule, now) != w) {
        return false;
    }
    if from.is_none() && to.is_none() {
        return true;
    }
    let from = match window.schedule {
        maintenance::Schedule::OneOff { .. } => from,
        maintenance::Schedule::Recurring { .. } => {
            Some(from.map_or(window.created_at, |f| f.max(window.created_at)))
        }
    };
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return false;
        }
    }
    maintenance::overlaps(&window.schedule, from, to)
}

#[tracing::instrument(skip_all, fields(window_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    let window = fetch(&client, *path, false).await?;
    Ok(web::Json(view(&window, Utc::now(), true)))
}

/// Applies a JSON merge patch (RFC 7386) to the window's editable form. To
/// switch kinds, a patch sets the other kind's fields and nulls the current
/// ones.
#[tracing::instrument(skip_all, fields(window_id = %path))]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let patch = input::merge_patch_body(body.into_inner())?;
    let current = {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?
    };
    let mut merged = WindowSpec::of(&current).to_input_json();
    input::merge_patch(&mut merged, patch);
    let spec = input::maintenance_window::parse(merged)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch(&tx, id, true).await?;
    if before.updated_at != current.updated_at {
        return Err(ApiError::Conflict(
            "the maintenance window changed while this request was processed; retry".to_owned(),
        ));
    }
    check_references(&tx, &spec).await?;
    write_spec(&tx, id, &spec, false).await?;
    // Components added to or removed from an occurrence in progress follow now.
    maintenance::refresh_components(&tx).await?;
    let after = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "maintenance_window.update",
            entity_type: "maintenance_window",
            entity_id: id.to_string(),
            before: Some(audit_json(&before)),
            after: Some(audit_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(web::Json(view(&after, Utc::now(), true)))
}

/// Deletes a window. An occurrence in progress ends now, announced with
/// maintenance.ended, and its components leave maintenance in the same
/// transaction.
#[tracing::instrument(skip_all, fields(window_id = %path))]
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
    let before = fetch(&tx, id, true).await?;
    maintenance::end_in_progress(&tx, id).await?;
    let statement = tx
        .prepare_cached("DELETE FROM maintenance_windows WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    maintenance::refresh_components(&tx).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "maintenance_window.delete",
            entity_type: "maintenance_window",
            entity_id: id.to_string(),
            before: Some(audit_json(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
