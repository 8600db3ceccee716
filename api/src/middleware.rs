//! The one middleware every request passes: request id, deadline, metrics,
//! JSON bodies for bare error statuses, logging of server errors, and closing
//! the connection after a request whose body was left unread.

use std::cell::RefCell;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ResponseHead, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{
    HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    TRANSFER_ENCODING,
};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::Stream;
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
    mut req: ServiceRequest,
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
    let body = declares_body(&req).then(|| WatchedBody::install(&mut req));

    let mut response = match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(Ok(response)) => response.map_into_boxed_body(),
        Ok(Err(error)) => {
            let status = error.as_response_error().status_code();
            record(&method, "unmatched".to_owned(), status.as_u16(), started);
            return Err(close_if_unread(error, body, &request_id));
        }
        Err(_) => {
            tracing::error!(request_id = %request_id, ?deadline, "request abandoned at the deadline");
            let error = ApiError::DeadlineExceeded(request_id.clone());
            record(&method, "unmatched".to_owned(), 503, started);
            return Err(close_if_unread(error.into(), body, &request_id));
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
    // Every HTML answer is under the page policy, even one whose handler
    // did not go through `pages::html`.
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !response.headers().contains_key(CONTENT_SECURITY_POLICY) {
        response.headers_mut().insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::pages::PAGE_POLICY),
        );
    }

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    // The route template, never the path or query: those may carry secrets.
    tracing::debug!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request served"
    );
    record(&method, route, status.as_u16(), started);
    if let Some(unread) = body.and_then(|body| body.unread(&request_id)) {
        response = response.map_body(|head, body| unread.close_after(head, body));
    }
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

/// Most bytes of a body left unread that are read and dropped once the answer
/// is ready, without waiting for more: a small body the handler ignored then
/// does not cost the connection.
const DRAIN_LIMIT: usize = 64 * 1024;

fn declares_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .is_some_and(|length| length > 0)
}

/// The request body as the handler reads it, shared with [`observe`], which
/// learns whether it was read to its end and keeps it when it was not.
#[derive(Clone)]
struct WatchedBody(Rc<RefCell<BodyState>>);

struct BodyState {
    payload: Payload,
    finished: bool,
}

impl WatchedBody {
    /// Puts a watched body in place of the request's payload.
    fn install(req: &mut ServiceRequest) -> Self {
        let watched = Self(Rc::new(RefCell::new(BodyState {
            payload: req.take_payload(),
            finished: false,
        })));
        req.set_payload(Payload::Stream {
            payload: Box::pin(watched.clone()),
        });
        watched
    }

    /// The body if it was left unread, after reading and dropping what has
    /// already arrived of it (up to [`DRAIN_LIMIT`], without waiting).
    fn unread(self, request_id: &str) -> Option<Self> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut drained = 0;
        {
            let mut state = self.0.borrow_mut();
            while !state.finished && drained <= DRAIN_LIMIT {
                match Pin::new(&mut state.payload).poll_next(&mut cx) {
                    Poll::Ready(Some(Ok(chunk))) => drained += chunk.len(),
                    Poll::Ready(None) => state.finished = true,
                    Poll::Ready(Some(Err(_))) | Poll::Pending => break,
                }
            }
            if state.finished {
                return None;
            }
        }
        tracing::debug!(request_id = %request_id, "request body left unread; closing the connection");
        Some(self)
    }

    /// Makes the answer close the connection. actix-http drains an unread
    /// chunked body after the answer for as long as the client sends it (and
    /// after a large one stopped answering the connection), so the answer
    /// says `Connection: close` and carries this unread body until it is
    /// sent: seeing the body still held, actix-http closes the connection
    /// after the answer, waiting at most the client disconnect timeout for
    /// the client to finish.
    fn close_after(self, head: &mut ResponseHead, body: BoxBody) -> BoxBody {
        head.set_connection_type(ConnectionType::Close);
        BoxBody::new(HoldingBody {
            body,
            _unread: self,
        })
    }
}

impl Stream for WatchedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.borrow_mut();
        let item = ready!(Pin::new(&mut state.payload).poll_next(cx));
        state.finished |= item.is_none();
        Poll::Ready(item)
    }
}

/// An answer's body that keeps the unread request body until it is sent.
struct HoldingBody {
    body: BoxBody,
    _unread: WatchedBody,
}

impl MessageBody for HoldingBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// An error answered after the body was left unread: its answer closes the
/// connection (see [`WatchedBody::close_after`]).
struct UnreadBodyError {
    error: actix_web::Error,
    unread: RefCell<Option<WatchedBody>>,
}

fn close_if_unread(
    error: actix_web::Error,
    body: Option<WatchedBody>,
    request_id: &str,
) -> actix_web::Error {
    match body.and_then(|body| body.unread(request_id)) {
        Some(unread) => UnreadBodyError {
            error,
            unread: RefCell::new(Some(unread)),
        }
        .into(),
        None => error,
    }
}

impl fmt::Debug for UnreadBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.error, f)
    }
}

impl fmt::Display for UnreadBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl ResponseError for UnreadBodyError {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let response = self.error.error_response();
        match self.unread.take() {
            Some(unread) => response.map_body(|head, body| unread.close_after(head, body)),
            None => response,
        }
    }
}
