//! `/api/v1/monitors`: create, list, read, replace, patch, delete, pause,
//! resume, and a monitor's results and incidents.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::GenericClient;
use serde::Deserialize;
use serde_json::Value;
use shared::model::check_result::CHECK_RESULT_COLUMNS;
use shared::model::incident::INCIDENT_COLUMNS;
use shared::model::monitor::MONITOR_COLUMNS;
use shared::model::{
    CheckResult, Incident, Monitor, MonitorSpec, MonitorStatus, MonitorType, Scope,
};
use shared::rollup;
use shared::schedule::Entry;
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{self, monitor::Rules};
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/monitors")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/monitors/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/monitors/{id}/pause").route(web::post().to(pause)))
    .service(
        web::resource("/monitors/{id}/check-now").route(web::post().to(super::checks::check_now)),
    )
    .service(web::resource("/monitors/{id}/resume").route(web::post().to(resume)))
    .service(web::resource("/monitors/{id}/results").route(web::get().to(results)))
    .service(web::resource("/monitors/{id}/uptime").route(web::get().to(uptime)))
    .service(web::resource("/monitors/{id}/incidents").route(web::get().to(incidents)));
}

/// How long the API waits for Redis when mirroring a schedule change.
const SCHEDULE_SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Mirrors a monitor into the Redis schedule right after its change is
/// committed, so workers see it within one poll: enabled monitors are
/// (re)scheduled (`due_now` for new and resumed ones), others removed. A
/// failure is logged and counted; the workers' periodic reconciliation
/// repairs the difference from Postgres.
pub(crate) async fn sync_schedule(state: &AppState, monitor: &Monitor, due_now: bool) {
    let update = async {
        if monitor.spec.enabled {
            let entry = Entry::of(monitor);
            state.schedule.upsert(&state.redis, &entry, due_now).await
        } else {
            state.schedule.remove(&state.redis, monitor.id).await
        }
    };
    let failure = match tokio::time::timeout(SCHEDULE_SYNC_TIMEOUT, update).await {
        Ok(Ok(())) => return,
        Ok(Err(error)) => error.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    metrics::counter!(shared::telemetry::SCHEDULE_UPDATE_ERRORS_TOTAL).increment(1);
    tracing::warn!(
        monitor_id = %monitor.id,
        error = %failure,
        "schedule update failed; reconciliation will repair it"
    );
}

/// The validation rules of a monitor body under this configuration.
pub(crate) fn rules(state: &AppState) -> Rules {
    Rules {
        default_timeout_seconds: u32::try_from(state.config.default_check_timeout.as_secs())
            .unwrap_or(10),
        allow_private_targets: state.config.allow_private_targets,
    }
}

fn to_json(monitor: &Monitor) -> Value {
    serde_json::to_value(monitor).unwrap_or(Value::Null)
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

async fn fetch(
    client: &impl GenericClient,
    id: Uuid,
    lock: bool,
) -> Result<Option<Monitor>, ApiError> {
    let sql = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors m WHERE m.id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    match client.query_opt(&statement, &[&id]).await? {
        Some(row) => Ok(Some(Monitor::from_row(&row)?)),
        None => Ok(None),
    }
}

pub(crate) async fn fetch_existing(
    client: &impl GenericClient,
    id: Uuid,
    lock: bool,
) -> Result<Monitor, ApiError> {
    fetch(client, id, lock)
        .await?
        .ok_or(ApiError::NotFound("monitor"))
}

/// Fails with 422 naming every channel id that does not exist.
async fn check_channels(client: &impl GenericClient, ids: &[Uuid]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    // Key-share locks, taken before the links are touched, keep a channel
    // from being deleted under this write (which would otherwise fail the
    // link insert, or deadlock with the delete's cascade).
    let statement = client
        .prepare_cached(
            "SELECT id FROM notification_channels WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
        )
        .await?;
    let found: Vec<Uuid> = client
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
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "channelIds",
            format!("no such channel: {}", missing.join(", ")),
        ))
    }
}

/// Writes every user-settable column of `spec` and the channel links.
async fn write_spec(
    client: &impl GenericClient,
    id: Uuid,
    spec: &MonitorSpec,
    insert: bool,
) -> Result<(), ApiError> {
    let sql = if insert {
        "INSERT INTO monitors (id, name, type, target, method, headers, body, expected_status, \
         follow_redirects, degraded_threshold_ms, keyword, keyword_mode, keyword_case_sensitive, \
         dns_record_type, dns_expected, dns_resolver, tls_expiry_warn_days, timeout_seconds, \
         interval_seconds, failure_threshold, recovery_threshold, enabled, tags, sla_target, \
         status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, CASE WHEN $22 THEN 'unknown' ELSE 'paused' END)"
    } else {
        "UPDATE monitors SET name = $2, type = $3, target = $4, method = $5, headers = $6, \
         body = $7, expected_status = $8, follow_redirects = $9, degraded_threshold_ms = $10, \
         keyword = $11, keyword_mode = $12, keyword_case_sensitive = $13, dns_record_type = $14, \
         dns_expected = $15, dns_resolver = $16, tls_expiry_warn_days = $17, \
         timeout_seconds = $18, interval_seconds = $19, failure_threshold = $20, \
         recovery_threshold = $21, enabled = $22, tags = $23, sla_target = $24, \
         status = CASE WHEN NOT $22 THEN 'paused' WHEN status = 'paused' THEN 'unknown' ELSE status END, \
         updated_at = now() WHERE id = $1"
    };
    let statement = client.prepare_cached(sql).await?;
    let headers = spec
        .headers
        .as_ref()
        .map(|h| serde_json::to_value(h).unwrap_or(Value::Null));
    let expected_status = spec.expected_status.as_ref().map(|e| e.to_json());
    client
        .execute(
            &statement,
            &[
                &id,
                &spec.name,
                &spec.kind.as_str(),
                &spec.target,
                &spec.method,
                &headers,
                &spec.body,
                &expected_status,
                &spec.follow_redirects,
                &spec.degraded_threshold_ms.map(int),
                &spec.keyword,
                &spec.keyword_mode.map(|m| m.as_str()),
                &spec.keyword_case_sensitive,
                &spec.dns_record_type.map(|t| t.as_str()),
                &spec.dns_expected,
                &spec.dns_resolver,
                &spec.tls_expiry_warn_days.map(int),
                &int(spec.timeout_seconds),
                &int(spec.interval_seconds),
                &int(spec.failure_threshold),
                &int(spec.recovery_threshold),
                &spec.enabled,
                &spec.tags,
                &spec.sla_target,
            ],
        )
        .await?;

    check_channels(client, &spec.channel_ids).await?;
    if !insert {
        let clear = client
            .prepare_cached("DELETE FROM monitor_channels WHERE monitor_id = $1")
            .await?;
        client.execute(&clear, &[&id]).await?;
    }
    let link = client
        .prepare_cached(
            "INSERT INTO monitor_channels (monitor_id, channel_id) SELECT $1, unnest($2::uuid[])",
        )
        .await?;
    client.execute(&link, &[&id, &spec.channel_ids]).await?;
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
    let spec = input::monitor::parse(body.into_inner(), &rules(&state)).await?;
    let id = Uuid::now_v7();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    write_spec(&tx, id, &spec, true).await?;
    let monitor = fetch_existing(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "monitor.create",
            entity_type: "monitor",
            entity_id: id.to_string(),
            before: None,
            after: Some(to_json(&monitor)),
        },
    )
    .await?;
    tx.commit().await?;
    sync_schedule(&state, &monitor, true).await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/monitors/{id}")))
        .json(monitor))
}

/// Query parameters of `GET /api/v1/monitors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    enabled: Option<bool>,
    status: Option<String>,
    tag: Option<String>,
    search: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Monitor>>, ApiError> {
    caller.require(Scope::Read)?;
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    if let Some(kind) = &query.kind {
        kind.parse::<MonitorType>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                "type must be one of http, keyword, tcp, dns, tls",
            )
        })?;
    }
    if let Some(status) = &query.status {
        status.parse::<MonitorStatus>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                "status must be one of unknown, up, down, degraded, paused",
            )
        })?;
    }
    input::check_query_text("search", query.search.as_deref())?;
    input::check_query_text("tag", query.tag.as_deref())?;
    let search = query.search.as_deref().map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors m \
             WHERE ($1::uuid IS NULL OR m.id > $1) \
               AND ($2::text IS NULL OR m.type = $2) \
               AND ($3::bool IS NULL OR m.enabled = $3) \
               AND ($4::text IS NULL OR m.status = $4) \
               AND ($5::text IS NULL OR m.tags @> ARRAY[$5::text]) \
               AND ($6::text IS NULL OR m.name ILIKE $6) \
             ORDER BY m.id LIMIT $7"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &after,
                &query.kind,
                &query.enabled,
                &query.status,
                &query.tag,
                &search,
                &(limit + 1),
            ],
        )
        .await?;
    let monitors = rows
        .iter()
        .map(Monitor::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(monitors, limit, |m| m.id)))
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<Monitor>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    Ok(web::Json(fetch_existing(&client, *path, false).await?))
}

/// Writes a validated spec over monitor `id` and records `action`.
async fn update(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: Uuid,
    spec: MonitorSpec,
    expected_version: Option<DateTime<Utc>>,
) -> Result<Monitor, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch_existing(&tx, id, true).await?;
    if expected_version.is_some_and(|v| v != before.updated_at) {
        return Err(ApiError::Conflict(
            "the monitor changed while this request was processed; retry".to_owned(),
        ));
    }
    write_spec(&tx, id, &spec, false).await?;
    let after = fetch_existing(&tx, id, false).await?;
    audit::record(
        &tx,
        caller,
        meta,
        Change {
            action: "monitor.update",
            entity_type: "monitor",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    sync_schedule(state, &after, !before.spec.enabled).await;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Monitor>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    {
        let client = state.db.get().await?;
        fetch_existing(&client, id, false).await?;
    }
    let spec = input::monitor::parse(body.into_inner(), &rules(&state)).await?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, None).await?,
    ))
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Monitor>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let patch = input::merge_patch_body(body.into_inner())?;
    let current = {
        let client = state.db.get().await?;
        fetch_existing(&client, id, false).await?
    };
    let mut merged = serde_json::to_value(&current.spec).unwrap_or(Value::Null);
    input::merge_patch(&mut merged, patch);
    let spec = input::monitor::parse(merged, &rules(&state)).await?;
    let updated = update(&state, &caller, &meta, id, spec, Some(current.updated_at)).await?;
    Ok(web::Json(updated))
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
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
    // Waits for result writes of this monitor in flight, and keeps new ones
    // out until the delete commits (see the lock's docs).
    let statement = tx
        .prepare_cached(shared::db::LOCK_MONITOR_WRITES_EXCLUSIVE)
        .await?;
    tx.execute(&statement, &[&id]).await?;
    let before = fetch_existing(&tx, id, true).await?;
    let statement = tx
        .prepare_cached("DELETE FROM monitors WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    // check_results is partitioned and carries no foreign key: its rows go
    // with the monitor here.
    let statement = tx
        .prepare_cached("DELETE FROM check_results WHERE monitor_id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "monitor.delete",
            entity_type: "monitor",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let mut removed = before;
    removed.spec.enabled = false;
    sync_schedule(&state, &removed, false).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Pauses or resumes; a no-op (and no audit row) when already in that state.
async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: Uuid,
    enabled: bool,
) -> Result<Monitor, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch_existing(&tx, id, true).await?;
    if before.spec.enabled == enabled {
        return Ok(before);
    }
    let statement = tx
        .prepare_cached(
            "UPDATE monitors SET enabled = $2, \
             status = CASE WHEN $2 THEN 'unknown' ELSE 'paused' END, updated_at = now() \
             WHERE id = $1",
        )
        .await?;
    tx.execute(&statement, &[&id, &enabled]).await?;
    let after = fetch_existing(&tx, id, false).await?;
    audit::record(
        &tx,
        caller,
        meta,
        Change {
            action: if enabled {
                "monitor.resume"
            } else {
                "monitor.pause"
            },
            entity_type: "monitor",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    sync_schedule(state, &after, enabled).await;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn pause(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<web::Json<Monitor>, ApiError> {
    caller.require(Scope::Write)?;
    Ok(web::Json(
        set_enabled(&state, &caller, &meta, *path, false).await?,
    ))
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn resume(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<web::Json<Monitor>, ApiError> {
    caller.require(Scope::Write)?;
    Ok(web::Json(
        set_enabled(&state, &caller, &meta, *path, true).await?,
    ))
}

/// Query parameters of the per-monitor lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    open: Option<bool>,
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn results(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<CheckResult>>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    if query.open.is_some() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "open applies to incidents only",
        ));
    }
    let limit = pagination::limit(query.limit)?;
    let before = pagination::decode_time_cursor(query.cursor.as_deref())?;
    let mut client = state.db.get().await?;
    // PostgreSQL keeps re-planning this query (about 17 ms across 40 daily
    // partitions) where the generic plan is as good; force it here only.
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL plan_cache_mode = force_generic_plan")
        .await?;
    fetch_existing(&tx, id, false).await?;
    // Two statements rather than `$2 IS NULL OR ...`, so each generic plan is
    // one index scan per daily partition.
    let rows = match before {
        None => {
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT {CHECK_RESULT_COLUMNS} FROM check_results \
                     WHERE monitor_id = $1 ORDER BY slot_ts DESC LIMIT $2"
                ))
                .await?;
            tx.query(&statement, &[&id, &(limit + 1)]).await?
        }
        Some(before) => {
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT {CHECK_RESULT_COLUMNS} FROM check_results \
                     WHERE monitor_id = $1 AND slot_ts < $2 ORDER BY slot_ts DESC LIMIT $3"
                ))
                .await?;
            tx.query(&statement, &[&id, &before, &(limit + 1)]).await?
        }
    };
    tx.commit().await?;
    let items = rows
        .iter()
        .map(CheckResult::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(items, limit, |r| {
        r.slot_ts.to_rfc3339_opts(SecondsFormat::Micros, true)
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UptimeQuery {
    period: Option<String>,
}

/// Uptime over a period ending now, from the rollups (see shared::rollup).
#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn uptime(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<UptimeQuery>,
) -> Result<web::Json<rollup::Uptime>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let (name, days) = input::period(query.period.as_deref(), "24h")?;
    let client = state.db.get().await?;
    fetch_existing(&client, id, false).await?;
    Ok(web::Json(rollup::uptime(&client, id, name, days).await?))
}

#[tracing::instrument(skip_all, fields(monitor_id = %path))]
async fn incidents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Incident>>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let before: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    let client = state.db.get().await?;
    fetch_existing(&client, id, false).await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents \
             WHERE monitor_id = $1 AND ($2::uuid IS NULL OR id < $2) \
               AND ($3::bool IS NULL OR (resolved_at IS NULL) = $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&id, &before, &query.open, &(limit + 1)])
        .await?;
    let items = rows
        .iter()
        .map(Incident::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(items, limit, |i| i.id)))
}
