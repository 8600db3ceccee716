//! `/api/v1/channels`: notification channels (stored and validated here;
//! delivery is the worker's).

use actix_web::{web, HttpResponse};
use deadpool_postgres::GenericClient;
use serde::Deserialize;
use serde_json::Value;
use shared::model::channel::{generate_signing_secret, CHANNEL_COLUMNS};
use shared::model::{Channel, ChannelType, Scope};
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{self, channel::ChannelSpec};
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/channels/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

pub(crate) async fn fetch(
    client: &impl GenericClient,
    id: Uuid,
    lock: bool,
) -> Result<Channel, ApiError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    Ok(Channel::from_row(&row)?)
}

fn spec_of(channel: &Channel) -> ChannelSpec {
    ChannelSpec {
        name: channel.name.clone(),
        kind: channel.kind,
        target: channel.target.clone(),
        enabled: channel.enabled,
        policy: channel.policy.clone(),
    }
}

fn config_json(spec: &ChannelSpec) -> Value {
    serde_json::to_value(&spec.target).unwrap_or(Value::Null)
}

fn reminder(spec: &ChannelSpec) -> Option<i32> {
    spec.policy
        .reminder_interval_seconds
        .and_then(|v| i32::try_from(v).ok())
}

fn throttle(spec: &ChannelSpec) -> i32 {
    i32::try_from(spec.policy.throttle_seconds).unwrap_or(i32::MAX)
}

/// The answer form (URL in full only with `reveal_url`), plus the signing
/// secret when it was just generated.
fn with_secret(channel: &Channel, reveal_url: bool, secret: Option<String>) -> Value {
    let mut json = channel.to_json(reveal_url);
    if let Some(secret) = secret {
        json["signingSecret"] = Value::String(secret);
    }
    json
}

#[tracing::instrument(skip_all)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let spec =
        input::channel::parse(body.into_inner(), state.config.allow_private_targets, None).await?;
    let id = Uuid::now_v7();
    let secret = (spec.kind == ChannelType::Webhook).then(generate_signing_secret);
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO notification_channels (id, name, type, config, signing_secret, enabled, \
                 events, reminder_interval_seconds, throttle_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.name,
            &spec.kind.as_str(),
            &config_json(&spec),
            &secret,
            &spec.enabled,
            &spec.policy.events,
            &reminder(&spec),
            &throttle(&spec),
        ],
    )
    .await?;
    let channel = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "channel.create",
            entity_type: "channel",
            entity_id: id.to_string(),
            before: None,
            after: Some(channel.to_audit_json()),
        },
    )
    .await?;
    tx.commit().await?;
    // The key that creates a channel sees its URL once, in this answer.
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/channels/{id}")))
        .json(with_secret(&channel, true, secret)))
}

/// Query parameters of `GET /api/v1/channels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    enabled: Option<bool>,
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Value>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let after: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
    if let Some(kind) = &query.kind {
        kind.parse::<ChannelType>().map_err(|()| {
            ApiError::bad_request(
                "invalid_query",
                "type must be one of webhook, slack, discord, teams, telegram",
            )
        })?;
    }
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels \
             WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR type = $2) \
               AND ($3::bool IS NULL OR enabled = $3) \
             ORDER BY id LIMIT $4"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[&after, &query.kind, &query.enabled, &(limit + 1)],
        )
        .await?;
    let channels = rows
        .iter()
        .map(Channel::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let page = pagination::page(channels, limit, |c| c.id);
    let reveal = caller.is_admin();
    Ok(web::Json(Page {
        items: page.items.iter().map(|c| c.to_json(reveal)).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[tracing::instrument(skip_all, fields(channel_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    Ok(web::Json(
        fetch(&client, *path, false)
            .await?
            .to_json(caller.is_admin()),
    ))
}

/// Writes a validated spec over channel `id`. A channel that becomes a
/// webhook gets a signing secret, returned once.
async fn update(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: Uuid,
    spec: ChannelSpec,
    expected: Option<&Channel>,
) -> Result<Value, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let before = fetch(&tx, id, true).await?;
    if expected.is_some_and(|e| e.updated_at != before.updated_at) {
        return Err(ApiError::Conflict(
            "the channel changed while this request was processed; retry".to_owned(),
        ));
    }
    let secret = (spec.kind == ChannelType::Webhook && before.kind != ChannelType::Webhook)
        .then(generate_signing_secret);
    let statement = tx
        .prepare_cached(
            "UPDATE notification_channels SET name = $2, type = $3, config = $4, enabled = $5, \
             signing_secret = COALESCE($6, signing_secret), events = $7, \
             reminder_interval_seconds = $8, throttle_seconds = $9, \
             disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
             updated_at = now() WHERE id = $1",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &spec.name,
            &spec.kind.as_str(),
            &config_json(&spec),
            &spec.enabled,
            &secret,
            &spec.policy.events,
            &reminder(&spec),
            &throttle(&spec),
        ],
    )
    .await?;
    let after = fetch(&tx, id, false).await?;
    audit::record(
        &tx,
        caller,
        meta,
        Change {
            action: "channel.update",
            entity_type: "channel",
            entity_id: id.to_string(),
            before: Some(before.to_audit_json()),
            after: Some(after.to_audit_json()),
        },
    )
    .await?;
    tx.commit().await?;
    // A URL this request set is shown back to it; a kept one only to admins.
    let reveal = caller.is_admin() || after.target.url != before.target.url;
    Ok(with_secret(&after, reveal, secret))
}

#[tracing::instrument(skip_all, fields(channel_id = %path))]
async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<web::Json<Value>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let current = {
        let client = state.db.get().await?;
        fetch(&client, id, false).await?
    };
    let spec = input::channel::parse(
        body.into_inner(),
        state.config.allow_private_targets,
        current.target.url.as_deref(),
    )
    .await?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, None).await?,
    ))
}

#[tracing::instrument(skip_all, fields(channel_id = %path))]
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
    let mut merged = spec_of(&current).to_input_json();
    input::merge_patch(&mut merged, patch);
    let spec = input::channel::parse(
        merged,
        state.config.allow_private_targets,
        current.target.url.as_deref(),
    )
    .await?;
    Ok(web::Json(
        update(&state, &caller, &meta, id, spec, Some(&current)).await?,
    ))
}

#[tracing::instrument(skip_all, fields(channel_id = %path))]
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
        .prepare_cached("DELETE FROM notification_channels WHERE id = $1")
        .await?;
    tx.execute(&statement, &[&id]).await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "channel.delete",
            entity_type: "channel",
            entity_id: id.to_string(),
            before: Some(before.to_audit_json()),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
