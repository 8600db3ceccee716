//! Deliveries: `GET /api/v1/channels/{id}/deliveries`,
//! `POST /api/v1/channels/{id}/test` and
//! `POST /api/v1/notification-events/{id}/redeliver`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::model::Scope;
use shared::notify::outbox::{self, Claimed, RetryPolicy};
use uuid::Uuid;

use crate::audit::{self, Change, RequestMeta};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::routes::channels;
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/channels/{id}/deliveries").route(web::get().to(deliveries)))
        .service(web::resource("/channels/{id}/test").route(web::post().to(test)))
        .service(
            web::resource("/notification-events/{id}/redeliver").route(web::post().to(redeliver)),
        );
}

/// Query parameters of the delivery list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(channel_id = %path))]
async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Value>>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path.into_inner();
    let limit = pagination::limit(query.limit)?;
    let before: Option<i64> = pagination::decode_cursor(query.cursor.as_deref())?;
    let client = state.db.get().await?;
    channels::fetch(&client, id, false).await?;
    let statement = client
        .prepare_cached(
            "SELECT a.id, a.event_id, e.event_type, e.incident_id, e.status AS event_status, \
                    a.attempt, a.attempted_at, a.outcome, a.status_code, a.latency_ms, a.error, \
                    a.response_snippet \
             FROM notification_attempts a JOIN notification_events e ON e.id = a.event_id \
             WHERE a.channel_id = $1 AND ($2::bigint IS NULL OR a.id < $2) \
             ORDER BY a.id DESC LIMIT $3",
        )
        .await?;
    let rows = client
        .query(&statement, &[&id, &before, &(limit + 1)])
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(json!({
            "id": row.try_get::<_, i64>("id")?,
            "eventId": row.try_get::<_, Uuid>("event_id")?,
            "eventType": row.try_get::<_, String>("event_type")?,
            "incidentId": row.try_get::<_, Option<Uuid>>("incident_id")?,
            "eventStatus": row.try_get::<_, String>("event_status")?,
            "attempt": row.try_get::<_, i32>("attempt")?,
            "attemptedAt": row.try_get::<_, DateTime<Utc>>("attempted_at")?,
            "outcome": row.try_get::<_, String>("outcome")?,
            "statusCode": row.try_get::<_, Option<i32>>("status_code")?,
            "latencyMs": row.try_get::<_, f32>("latency_ms")?,
            "error": row.try_get::<_, Option<String>>("error")?,
            "responseSnippet": row.try_get::<_, Option<String>>("response_snippet")?,
        }));
    }
    Ok(web::Json(pagination::page(items, limit, |item| {
        item["id"].as_i64().unwrap_or_default()
    })))
}

/// Sends a `test` event to the channel now and answers with the attempt.
#[tracing::instrument(skip_all, fields(channel_id = %path))]
async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let channel = channels::fetch(&client, id, false).await?;
    // The channel may be deleted while this runs: each step below that
    // finds it gone answers 404, like a channel that never was.
    let signing_secret: Option<String> = client
        .query_opt(
            "SELECT signing_secret FROM notification_channels WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("channel"))?
        .try_get(0)?;
    let event_id = Uuid::now_v7();
    let payload = json!({
        "type": shared::notify::TEST,
        "id": event_id,
        "timestamp": Utc::now(),
        "channel": {"id": id, "name": channel.name},
        "message": "This is a test event sent from UpTime.",
    });
    let holder = format!("api:{}", Uuid::new_v4().simple());
    let queued = client
        .execute(
            "INSERT INTO notification_events (id, channel_id, event_type, payload, locked_by, \
                 locked_until) \
             SELECT $1, c.id, 'test', $3, $4, now() + interval '5 minutes' \
             FROM notification_channels c WHERE c.id = $2 FOR KEY SHARE",
            &[&event_id, &id, &payload, &holder],
        )
        .await?;
    if queued == 0 {
        return Err(ApiError::NotFound("channel"));
    }
    let event = Claimed {
        id: event_id,
        channel_id: id,
        event_type: shared::notify::TEST.to_owned(),
        payload,
        attempts: 0,
        retry_from: 0,
        kind: channel.kind,
        target: channel.target,
        signing_secret,
    };
    let attempted_at = Utc::now();
    let attempt = state.sender.send(event.delivery()).await;
    // A test is one attempt: it is not retried.
    let policy = RetryPolicy {
        max_retries: 0,
        base: state.config.webhook_retry_base,
    };
    outbox::settle(&mut client, &event, &holder, &attempt, policy, attempted_at).await?;
    let tx = client.transaction().await?;
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "channel.test",
            entity_type: "channel",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({"eventId": event_id, "outcome": attempt.outcome.as_str()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(json!({
        "eventId": event_id,
        "delivered": attempt.outcome == shared::notify::send::Outcome::Delivered,
        "outcome": attempt.outcome.as_str(),
        "statusCode": attempt.status_code,
        "latencyMs": shared::check::millis(attempt.latency),
        "error": attempt.error,
        "responseSnippet": attempt.response_snippet,
    })))
}

/// Queues an event again, with a fresh retry budget.
#[tracing::instrument(skip_all, fields(event_id = %path))]
async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    meta: RequestMeta,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let id = path.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let current = tx
        .query_opt(
            "SELECT status, locked_until > now() AS busy, attempts FROM notification_events \
             WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("notification event"))?;
    let status: String = current.try_get(0)?;
    if status == "pending" && current.try_get::<_, Option<bool>>(1)?.unwrap_or(false) {
        return Err(ApiError::Conflict(
            "a delivery of this event is in progress; retry when it has finished".to_owned(),
        ));
    }
    let row = tx
        .query_one(
            "UPDATE notification_events SET status = 'pending', next_attempt_at = now(), \
                 retry_from = attempts, locked_by = NULL, locked_until = NULL, last_error = NULL, \
                 updated_at = now() \
             WHERE id = $1 \
             RETURNING id, channel_id, event_type, status, attempts, next_attempt_at",
            &[&id],
        )
        .await?;
    let body = json!({
        "id": row.try_get::<_, Uuid>(0)?,
        "channelId": row.try_get::<_, Uuid>(1)?,
        "eventType": row.try_get::<_, String>(2)?,
        "status": row.try_get::<_, String>(3)?,
        "attempts": row.try_get::<_, i32>(4)?,
        "nextAttemptAt": row.try_get::<_, DateTime<Utc>>(5)?,
        "previousStatus": status,
    });
    audit::record(
        &tx,
        &caller,
        &meta,
        Change {
            action: "notification_event.redeliver",
            entity_type: "notification_event",
            entity_id: id.to_string(),
            before: Some(json!({"status": status})),
            after: Some(json!({"status": "pending"})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(body))
}
