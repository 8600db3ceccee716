//! HTML pages: the security headers every page answers with, and the
//! embedded stylesheets and scripts ([`assets`]) the pages reference; the
//! in-memory [`snapshot`] of published status pages and their Statuspage
//! v2 JSON ([`statuspage_api`]), its Atom and RSS [`feeds`] and the SVG
//! [`badges`] of its components and their monitors; the page itself in
//! HTML ([`status_page`]).

pub mod assets;
pub mod badges;
pub mod feeds;
pub mod logo;
pub mod snapshot;
pub mod status_page;
pub mod statuspage_api;

use actix_web::body::MessageBody;
use actix_web::http::header::{
    CacheControl, CacheDirective, ContentType, ETag, EntityTag, IfNoneMatch,
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};

/// Registers the Atom and RSS feeds, the SVG badges and the pages' logos.
pub fn configure_feeds_and_badges(cfg: &mut web::ServiceConfig) {
    feeds::configure(cfg);
    badges::configure(cfg);
    logo::configure(cfg);
}

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

/// A rendered public body and its strong ETag (a digest of the body).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: web::Bytes,
    pub etag: EntityTag,
}

impl Rendered {
    /// Tags `body` with the first 128 bits of its SHA-256.
    pub fn new(body: impl Into<web::Bytes>) -> Self {
        let body = body.into();
        let digest = Sha256::digest(&body);
        Self {
            etag: EntityTag::new_strong(hex::encode(&digest[..16])),
            body,
        }
    }
}

/// Whether the request's `If-None-Match` names `etag` (so 304 answers it).
pub fn client_holds(request: &HttpRequest, etag: &EntityTag) -> bool {
    match request.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(etag)),
        None => false,
    }
}

/// Answers a public, cacheable body: `304 Not Modified` when the request's
/// `If-None-Match` names its ETag, else `200` with `content_type`; both with
/// the ETag, `Cache-Control: public, max-age=...`, CORS open to all and
/// `nosniff`. `extra` adds headers of the body's kind (e.g. a CSP).
pub fn conditional(
    request: &HttpRequest,
    rendered: &Rendered,
    content_type: &'static str,
    max_age_seconds: u32,
    extra: impl FnOnce(&mut HttpResponseBuilder),
) -> HttpResponse {
    let fresh = client_holds(request, &rendered.etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(ETag(rendered.etag.clone()))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(max_age_seconds),
        ]))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
    extra(&mut response);
    if fresh {
        return response.finish();
    }
    response
        .insert_header((CONTENT_TYPE, content_type))
        .body(rendered.body.clone())
}
