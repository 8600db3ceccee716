//! `GET /api/v1/audit-logs`: the audit trail, newest first, with filters.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::model::audit::AUDIT_COLUMNS;
use shared::model::{AuditEntry, Scope};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit-logs").route(web::get().to(list)));
}

/// Query parameters of `GET /api/v1/audit-logs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    caller.require(Scope::Admin)?;
    let limit = pagination::limit(query.limit)?;
    let before: Option<i64> = pagination::decode_cursor(query.cursor.as_deref())?;
    input::check_query_time("from", query.from)?;
    input::check_query_time("to", query.to)?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(ApiError::bad_request(
                "invalid_query",
                "from must not be after to",
            ));
        }
    }
    for (name, value) in [
        ("entityType", &query.entity_type),
        ("entityId", &query.entity_id),
        ("actor", &query.actor),
        ("action", &query.action),
    ] {
        input::check_query_text(name, value.as_deref())?;
    }
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_logs \
             WHERE ($1::bigint IS NULL OR id < $1) \
               AND ($2::text IS NULL OR entity_type = $2) \
               AND ($3::text IS NULL OR entity_id = $3) \
               AND ($4::text IS NULL OR actor = $4) \
               AND ($5::text IS NULL OR action = $5) \
               AND ($6::timestamptz IS NULL OR at >= $6) \
               AND ($7::timestamptz IS NULL OR at < $7) \
             ORDER BY id DESC LIMIT $8"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &before,
                &query.entity_type,
                &query.entity_id,
                &query.actor,
                &query.action,
                &query.from,
                &query.to,
                &(limit + 1),
            ],
        )
        .await?;
    let entries = rows
        .iter()
        .map(AuditEntry::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(entries, limit, |e| e.id)))
}
