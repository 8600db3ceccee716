//! Writing audit rows, in the same transaction as the change they describe.

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest};
use deadpool_postgres::Transaction;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::middleware::RequestId;

/// Where a request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl FromRequest for RequestMeta {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(RequestMeta {
            request_id: req.extensions().get::<RequestId>().map(|id| id.0.clone()),
            client_addr: req.peer_addr().map(|addr| addr.ip().to_string()),
        }))
    }
}

/// One change to record.
pub struct Change<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Inserts the audit row for `change` inside `tx`.
#[tracing::instrument(skip_all, fields(action = change.action))]
pub async fn record(
    tx: &Transaction<'_>,
    caller: &Caller,
    meta: &RequestMeta,
    change: Change<'_>,
) -> Result<(), ApiError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO audit_logs (actor_key_id, actor, action, entity_type, entity_id, \
             before, after, request_id, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &caller.key_id,
            &caller.actor(),
            &change.action,
            &change.entity_type,
            &change.entity_id,
            &change.before,
            &change.after,
            &meta.request_id,
            &meta.client_addr,
        ],
    )
    .await?;
    Ok(())
}
