//! The API's one error type: a stable snake_case code, an HTTP status and a
//! message, serialised as `{"error": code, "message": ..., "details": ...}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use shared::model::Scope;

/// One rejected field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("this API key lacks the '{}' scope", .0.as_str())]
    Forbidden(Scope),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body failed validation")]
    Validation(Vec<FieldError>),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("{0}")]
    TooManyRequests(&'static str),
    /// The request ran past API_WRITE_TIMEOUT_SECONDS; carries the request id
    /// because this answer is built outside the request.
    #[error("the request took longer than the server allows and was abandoned")]
    DeadlineExceeded(String),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a [FieldError]>,
}

impl ApiError {
    /// A 400 for malformed query strings, cursors and the like.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 422 for a single field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// The stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Validation(_) => "validation_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::TooManyRequests(_) => "rate_limited",
            ApiError::DeadlineExceeded(_) => "timeout",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "an internal error occurred; see the server log for this request id".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::DeadlineExceeded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::TooManyRequests(_) => {
                response.insert_header(("Retry-After", "1"));
            }
            ApiError::DeadlineExceeded(request_id) => {
                response.insert_header(("X-Request-Id", request_id.as_str()));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: self.code(),
            message: self.public_message(),
            details: match self {
                ApiError::Validation(fields) => Some(fields),
                _ => None,
            },
        })
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(error: redis::RedisError) -> Self {
        tracing::warn!(%error, "Redis request failed");
        ApiError::Unavailable("the schedule (Redis) is unavailable; retry shortly")
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(%error, "no database connection");
        ApiError::Unavailable("the database is unavailable; retry shortly")
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        if error.is_closed() {
            tracing::warn!(%error, "database connection lost");
            return ApiError::Unavailable("the database is unavailable; retry shortly");
        }
        // Class 22 (data exception: a time, number or text out of range) and
        // a failed CHECK can only come from values a request carried. Each is checked at its
        // source; this keeps one that slipped through a client error.
        if error.as_db_error().is_some_and(|db| {
            let code = db.code().code();
            code.starts_with("22") || code == "23514"
        }) {
            tracing::warn!(%error, "the database refused a value of the request");
            return ApiError::bad_request(
                "invalid_value",
                "a value in the request is outside what can be stored (a time, number or text out of range)",
            );
        }
        // A row this request referred to was deleted by a concurrent one
        // (foreign key), or the two waited on each other (serialization,
        // deadlock). Handlers lock what they refer to; this keeps a case
        // that slipped through a retryable conflict rather than a 500.
        if error
            .as_db_error()
            .is_some_and(|db| matches!(db.code().code(), "23503" | "40001" | "40P01"))
        {
            tracing::warn!(%error, "a request conflicted with a concurrent one");
            return ApiError::Conflict(
                "the request conflicted with a concurrent change; retry".to_owned(),
            );
        }
        ApiError::Internal(anyhow::Error::new(error).context("database query"))
    }
}

/// The JSON error answered for a bare status produced outside our handlers
/// (unknown route, wrong method).
pub fn status_error_body(status: StatusCode) -> serde_json::Value {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not accept that method".to_owned(),
        ),
        other => (
            "http_error",
            other
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned(),
        ),
    };
    serde_json::json!({ "error": code, "message": message })
}
