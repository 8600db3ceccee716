//! `GET /api/v1/incidents` (filters: open, monitorId, from, to; paginated)
//! and `GET /api/v1/incidents/{id}`.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::model::api_key::Scope;
use shared::model::Incident;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::pagination::{self, Page};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/incidents").route(web::get().to(list)))
        .service(web::resource("/incidents/{id}").route(web::get().to(get)));
}

/// Columns of an incident with its monitor's name (alias i for incidents).
const COLUMNS: &str = "i.id, i.monitor_id, i.started_at, i.resolved_at, i.first_error, \
    i.last_error, i.failure_count, m.name AS monitor_name";

/// An incident with the name of its monitor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    #[serde(flatten)]
    incident: Incident,
    monitor_name: String,
}

impl IncidentView {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            incident: Incident::from_row(row)?,
            monitor_name: row.try_get("monitor_name")?,
        })
    }
}

/// Query parameters of the incident list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    open: Option<bool>,
    monitor_id: Option<Uuid>,
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
) -> Result<web::Json<Page<IncidentView>>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = pagination::limit(query.limit)?;
    let before: Option<Uuid> = pagination::decode_cursor(query.cursor.as_deref())?;
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
            "SELECT {COLUMNS} FROM incidents i JOIN monitors m ON m.id = i.monitor_id \
             WHERE ($1::uuid IS NULL OR i.id < $1) \
               AND ($2::bool IS NULL OR (i.resolved_at IS NULL) = $2) \
               AND ($3::uuid IS NULL OR i.monitor_id = $3) \
               AND ($4::timestamptz IS NULL OR i.started_at >= $4) \
               AND ($5::timestamptz IS NULL OR i.started_at < $5) \
             ORDER BY i.id DESC LIMIT $6"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &before,
                &query.open,
                &query.monitor_id,
                &query.from,
                &query.to,
                &(limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(IncidentView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(pagination::page(items, limit, |i| i.incident.id)))
}

#[tracing::instrument(skip_all, fields(incident_id = %path))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> Result<web::Json<IncidentView>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM incidents i JOIN monitors m ON m.id = i.monitor_id \
             WHERE i.id = $1"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&path.into_inner()])
        .await?
        .ok_or(ApiError::NotFound("incident"))?;
    Ok(web::Json(IncidentView::from_row(&row)?))
}
