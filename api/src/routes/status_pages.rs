//! `/api/v1/status-pages`: create, list, read, replace, patch and delete
//! the public status pages. What readers see at `/status/{slug}` is built
//! from these rows by the pages in `crate::pages`.
//!
//! A section stores the ids it was given; a component deleted later simply
//! drops out of the sections when they are read (see
//! [`shared::model::status_page::STATUS_PAGE_COLUMNS`]), so deleting a
//! component never has to touch, or be refused by, the pages that list it.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use serde::Deserialize;
use serde_json::Value;
use shared::model::status_page::STATUS_PAGE_COLUMNS;
use shared::model::{Scope, StatusPage};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::input::{self, status_page::StatusPageSpec};
use crate::pagination::{self, Page};
use crate::startup::AppState;

/// Why a slug or custom domain another page holds is refused.
const TAKEN: &str = "is taken by another status page";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/status-pages")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/status-pages/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

fn to_json(page: &StatusPage) -> Value {
    serde_json::to_value(page).unwrap_or(Value::Null)
}

async fn fetch(client: &impl GenericClient, id: Uuid, lock: bool) -> Result<StatusPage, ApiError> {
    let sql = format!(
        "SELECT {STATUS_PAGE_COLUMNS} FROM status_pages p WHERE p.id = $1{}",
        if lock { " FOR UPDATE OF p" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("status page"))?;
    Ok(StatusPage::from_row(&row)?)
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Locks the components the sections list against deletion (in id order,
/// before the page: the lock order of the rest of the API) and names those
/// that do not exist and children listed beside their own group (a group
/// brings its children, so they would show twice).
async fn check_components(
    tx: &Transaction<'_>,
    spec: &StatusPageSpec,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let mut ids = spec.component_ids();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort();
    let statement = tx
        .prepare_cached(
            "SELECT id, name, group_id FROM components WHERE id = ANY($1) \
             ORDER BY id FOR KEY SHARE",
        )
        .await?;
    let rows = tx.query(&statement, &[&ids]).await?;
    let found: Vec<(Uuid, String, Option<Uuid>)> = rows
        .iter()
        .map(|row| (row.get("id"), row.get("name"), row.get("group_id")))
        .collect();
    let name_of = |id: Uuid| {
        found
            .iter()
            .find(|(found_id, _, _)| *found_id == id)
            .map(|(_, name, _)| name.as_str())
    };
    let listed = spec.component_ids();
    let missing: Vec<String> = listed
        .iter()
        .filter(|id| name_of(**id).is_none())
        .map(Uuid::to_string)
        .collect();
    if !missing.is_empty() {
        errors.push(field_error(
            "sections",
            format!("no such component: {}", missing.join(", ")),
        ));
    }
    for id in &listed {
        let Some((_, name, Some(group_id))) = found.iter().find(|(found_id, _, _)| found_id == id)
        else {
            continue;
        };
        if listed.contains(group_id) {
            errors.push(field_error(
                "sections",
                format!(
                    "component {name:?} ({id}) is in the group {:?} ({group_id}), which the \
                     page also lists; a group brings its children, so list the group or its \
                     children, not both",
                    name_of(*group_id).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// Names the slug and custom domain of `spec` that another page holds.
async fn check_taken(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &StatusPageSpec,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let statement = tx
        .prepare_cached(
            "SELECT slug, custom_domain FROM status_pages \
             WHERE id <> $1 AND (slug = $2 OR custom_domain = $3)",
        )
        .await?;
    let rows = tx
        .query(&statement, &[&id, &spec.slug, &spec.custom_domain])
        .await?;
    if rows
        .iter()
        .any(|row| row.get::<_, String>("slug") == spec.slug)
    {
        errors.push(field_error("slug", TAKEN));
    }
    if spec.custom_domain.is_some()
        && rows
            .iter()
            .any(|row| row.get::<_, Option<String>>("custom_domain") == spec.custom_domain)
    {
        errors.push(field_error("customDomain", TAKEN));
    }
    Ok(())
}

/// A slug or domain taken by a concurrent request between [`check_taken`]
/// and the write is the same client error, not a 500.
fn write_error(error: tokio_postgres::Error) -> ApiError {
    let field = error
        .as_db_error()
        .filter(|db| db.code() == &SqlState::UNIQUE_VIOLATION)
        .and_then(|db| match db.constraint() {
            Some("status_pages_slug_key") => Some("slug"),
            Some("status_pages_custom_domain_key") => Some("customDomain"),
            _ => None,
        });
    match field {
        Some(field) => ApiError::invalid_field(field, TAKEN),
        None => error.into(),
    }
}

/// Writes `spec` as page `id` (inserting it when `insert`), then its
/// sections, in order.
async fn write_spec(
    tx: &Transaction<'_>,
    id: Uuid,
    spec: &StatusPageSpec,
    insert: bool,
) -> Result<(), ApiError> {
    let sql = if insert {
        "INSERT INTO status_pages (id, slug, title, description, logo_url, homepage_url, \
         published, uptime_days, history_days, footer_text, theme, custom_domain, \
         show_monitor_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    } else {
        "UPDATE status_pages SET slug = $2, title = $3, description = $4, logo_url = $5, \
         homepage_url = $6, published = $7, uptime_days = $8, history_days = $9, \
         footer_text = $10, theme = $11, custom_domain = $12, show_monitor_details = $13, \
         updated_at = now() WHERE id = $1"
    };
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.slug,
            &spec.title,
            &spec.description,
            &spec.logo_url,
            &spec.homepage_url,
            &spec.published,
            &spec.uptime_days,
            &spec.history_days,
            &spec.footer_text,
            &spec.theme.as_str(),
            &spec.custom_domain,
            &spec.show_monitor_details,
        ],
    )
    .await
    .map_err(write_error)?;
    let statement = tx
        .prepare_cached("DELETE FROM status_page_sections WHERE page_id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    let sections = serde_json::to_value(&spec.sections).unwrap_or(Value::Null);
    let statement = tx
        .prepare_cached(
            "INSERT INTO status_page_sections (page_id, position, name, component_ids) \
             SELECT $1, (s.n - 1)::integer, s.section->>'name', \
                 ARRAY(SELECT c.id::uuid FROM jsonb_array_elements_text(s.section->'componentIds') \
                       WITH ORDINALITY AS c(id, n) ORDER BY c.n) \
             FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS s(section, n)",
        )
        .await?;
    tx.execute(&statement, &[&id, &sections]).await?;
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
    let spec = input::status_page::parse(body.into_inner())?;
    let id = Uuid::now_v7();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let mut errors = Vec::new();
    check_components(&tx, &spec, &mut errors).await?;
    check_taken(&tx, id, &spec, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    write_spec(&tx, id, &spec, true).await?;
    let page = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_page.create",
            entity_type: "status_page",
            entity_id: id.to_string(),
            before: None,
            after: Some(to_json(&page)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/status-pages/{id}")))
        .json(page))
}

/// Query parameters of `GET /api/v1/status-pages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// Only published (true) or only unpublished (false) pages.
    published: Option<bool>,
}

/// Lists pages in the order they were created (by id, the cursor).
#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<StatusPage>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {STATUS_PAGE_COLUMNS} FROM status_pages p \
             WHERE ($1::uuid IS NULL OR p.id > $1) \
               AND ($2::bool IS NULL OR p.published = $2) \
             ORDER BY p.id LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&after, &query.published, &(limit + 1)])
        .await?;
    let pages = rows
        .iter()
        .map(StatusPage::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(pages, limit, |p| p.id)))
}

#[tracing::instrument(skip_all, fields(status_page_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<StatusPage>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    Ok(web::Json(fetch(&client, *path, false).await?))
}

/// Writes a validated spec over page `id`; with `expected_version` (a
/// PATCH), fails with 409 if the page changed since it was read.
async fn update(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: Uuid,
    spec: StatusPageSpec,
    expected_version: Option<DateTime<Utc>>,
) -> Result<StatusPage, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let mut errors = Vec::new();
    check_components(&tx, &spec, &mut errors).await?;
    let before = fetch(&tx, id, true).await?;
    if expected_version.is_some_and(|v| v != before.updated_at) {
        return Err(ApiError::Conflict(
            "the status page changed while this request was processed; retry".to_owned(),
        ));
    }
    check_taken(&tx, id, &spec, &mut errors).await?;
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
            action: "status_page.update",
            entity_type: "status_page",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(status_page_id = %path))]
async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<StatusPage>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?;
    }
    let spec = input::status_page::parse(body.into_inner())?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, None).await?,
    ))
}

#[tracing::instrument(skip_all, fields(status_page_id = %path))]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<StatusPage>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let patch = input::merge_patch_body(body.into_inner())?;
    let current = {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?
    };
    let mut merged = StatusPageSpec::of(&current).to_input_json();
    input::merge_patch(&mut merged, patch);
    let spec = input::status_page::parse(merged)?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, Some(current.updated_at)).await?,
    ))
}

/// Deletes a page and its sections; its public URL answers 404 from the
/// next snapshot on.
#[tracing::instrument(skip_all, fields(status_page_id = %path))]
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
    let statement = tx
        .prepare_cached("DELETE FROM status_pages WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "status_page.delete",
            entity_type: "status_page",
            entity_id: id.to_string(),
            before: Some(to_json(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
