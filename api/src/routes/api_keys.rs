//! `/api/v1/api-keys`: create (the raw key is shown once), list, read, revoke.

use actix_web::{web, HttpResponse};
use deadpool_postgres::GenericClient;
use serde::Deserialize;
use serde_json::Value;
use shared::model::api_key::{display_prefix, generate_key, hash_key, API_KEY_COLUMNS};
use shared::model::{ApiKey, Scope};
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api-keys/{id}")
            .route(web::get().to(get))
            .route(web::delete().to(revoke)),
    );
}

async fn fetch(client: &impl GenericClient, id: Uuid) -> Result<ApiKey, ApiError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("API key"))?;
    Ok(ApiKey::from_row(&row)?)
}

fn to_json(key: &ApiKey) -> Value {
    serde_json::to_value(key).unwrap_or(Value::Null)
}

#[tracing::instrument(skip_all)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let spec = input::api_key::parse(body.into_inner())?;
    let raw = generate_key();
    let id = Uuid::now_v7();
    let scopes: Vec<&str> = spec.scopes.iter().map(|s| s.as_str()).collect();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.name,
            &display_prefix(&raw),
            &&hash_key(&raw)[..],
            &scopes,
            &spec.expires_at,
        ],
    )
    .await?;
    let key = fetch(&tx, id).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "api_key.create",
            entity_type: "api_key",
            entity_id: id.to_string(),
            before: None,
            after: Some(to_json(&key)),
        },
    )
    .await?;
    tx.commit().await?;
    let mut body = to_json(&key);
    body["key"] = Value::String(raw);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-keys/{id}")))
        .json(body))
}

/// Query parameters of `GET /api/v1/api-keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<ApiKey>>, ApiError> {
    caller.require(Scope::Admin)?;
    let limit = pagination::limit(query.limit)?;
    let after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE ($1::uuid IS NULL OR id > $1) \
             ORDER BY id LIMIT $2"
        ))
        .await?;
    let rows = client.query(&statement, &[&after, &(limit + 1)]).await?;
    let keys = rows
        .iter()
        .map(ApiKey::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(keys, limit, |k| k.id)))
}

#[tracing::instrument(skip_all, fields(key_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<ApiKey>, ApiError> {
    caller.require(Scope::Admin)?;
    let client = state.db.get().await?;
    Ok(web::Json(fetch(&client, *path).await?))
}

/// Revokes a key; revoking a revoked key changes nothing and answers 204 again.
#[tracing::instrument(skip_all, fields(key_id = %path))]
async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch(&tx, id).await?;
    if before.revoked_at.is_none() {
        let statement = tx
            .prepare_cached("UPDATE api_keys SET revoked_at = now() WHERE id = $1")
            .await?;
        tx.execute(&statement, &[&id]).await?;
        let after = fetch(&tx, id).await?;
        audit::record(
            &tx,
            &caller,
            &meta,
            Change {
                action: "api_key.revoke",
                entity_type: "api_key",
                entity_id: id.to_string(),
                before: Some(to_json(&before)),
                after: Some(to_json(&after)),
            },
        )
        .await?;
    }
    tx.commit().await?;
    // After the commit, so a request racing the revocation cannot re-read
    // the key as valid and remember it.
    state.keys.forget(id);
    Ok(HttpResponse::NoContent().finish())
}
