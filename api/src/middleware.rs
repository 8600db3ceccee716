//! The one middleware every request passes: request id, deadline, metrics,
//! JSON bodies for bare error statuses, and logging of server errors.

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use shared::telemetry::{HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};

use crate::error::{status_error_body, ApiError};
use crate::startup::AppState;

/// The id of the current request, echoed in `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Header carrying the request id both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied request id we adopt.
const MAX_REQUEST_ID_LEN: usize = 64;

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID_HEADER)?.to_str().ok()?;
    let acceptable = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    acceptable.then(|| value.to_owned())
}

/// Wraps every request; see the module docs.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let deadline = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config.api_write_timeout)
        .unwrap_or(Duration::from_secs(30));
    let method = req.method().to_string();

    let mut response = match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(Ok(response)) => response.map_into_boxed_body(),
        Ok(Err(error)) => {
            let status = error.as_response_error().status_code();
            record(&method, "unmatched".to_owned(), status.as_u16(), started);
            return Err(error);
        }
        Err(_) => {
            tracing::error!(request_id = %request_id, ?deadline, "request abandoned at the deadline");
            let error = ApiError::DeadlineExceeded(request_id);
            record(&method, "unmatched".to_owned(), 503, started);
            return Err(error.into());
        }
    };

    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        if !response.headers().contains_key(CONTENT_TYPE) {
            let body = HttpResponse::build(status).json(status_error_body(status));
            response = response.into_response(body);
        }
        if status.is_server_error() {
            let cause = response
                .response()
                .error()
                .map(|e| format!("{e}"))
                .unwrap_or_default();
            tracing::error!(request_id = %request_id, %status, error = %cause, "request failed");
        }
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    record(&method, route, status.as_u16(), started);
    Ok(response)
}

fn record(method: &str, route: String, status: u16, started: Instant) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(started.elapsed().as_secs_f64());
}
