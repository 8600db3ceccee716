//! HTML pages: the security headers every page answers with, and the
//! embedded stylesheets and scripts ([`assets`]) the pages reference; the
//! in-memory [`snapshot`] of published status pages and their Statuspage
//! v2 JSON ([`statuspage_api`]).

pub mod assets;
pub mod snapshot;
pub mod statuspage_api;

use actix_web::body::MessageBody;
use actix_web::http::header::{
    ContentType, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::HttpResponse;

/// The Content-Security-Policy of every page: scripts, styles, fonts and
/// images from this origin only (so no inline script, `style` attribute or
/// event handler runs), requests to this origin only, no plugins, no
/// `<base>`, forms post here, and no framing by other sites.
pub const PAGE_POLICY: &str = concat!(
    "default-src 'none'; ",
    "script-src 'self'; ",
    "style-src 'self'; ",
    "img-src 'self' data:; ",
    "connect-src 'self'; ",
    "font-src 'self'; ",
    "object-src 'none'; ",
    "base-uri 'none'; ",
    "form-action 'self'; ",
    "frame-ancestors 'none'",
);

/// A `200 OK` HTML page with [`PAGE_POLICY`] and the other page headers;
/// never stored, since pages show live state.
pub fn html(body: impl MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .insert_header((CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(body)
}
