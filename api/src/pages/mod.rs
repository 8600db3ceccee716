//! HTML pages: the security headers every page answers with, and the
//! embedded stylesheets and scripts ([`assets`]) the pages reference; the
//! in-memory [`snapshot`] of published status pages and their Statuspage
//! v2 JSON ([`statuspage_api`]), its Atom and RSS [`feeds`] and the SVG
//! [`badges`] of its components and their monitors; the page itself in
//! HTML ([`status_page`]).

pub mod assets;
pub mod badges;
pub mod dashboard;
pub mod feeds;
pub mod logo;
pub mod snapshot;
pub mod status_page;
pub mod statuspage_api;

use actix_web::body::MessageBody;
use std::io::Write;
use std::sync::OnceLock;

use actix_web::http::header::{
    CacheControl, CacheDirective, ContentType, ETag, EntityTag, IfNoneMatch, ACCEPT_ENCODING,
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
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

/// A rendered public body and its strong ETag (a digest of the body), and
/// its gzipped form, made on first request and kept with it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: web::Bytes,
    pub etag: EntityTag,
    gzip: OnceLock<Option<(web::Bytes, EntityTag)>>,
}

/// Bodies shorter than this are sent as they are.
const GZIP_FROM_BYTES: usize = 1024;

impl Rendered {
    /// Tags `body` with the first 128 bits of its SHA-256.
    pub fn new(body: impl Into<web::Bytes>) -> Self {
        let body = body.into();
        let digest = Sha256::digest(&body);
        Self {
            etag: EntityTag::new_strong(hex::encode(&digest[..16])),
            body,
            gzip: OnceLock::new(),
        }
    }

    /// The body gzipped with its own ETag, when that is smaller.
    fn gzipped(&self) -> Option<&(web::Bytes, EntityTag)> {
        self.gzip
            .get_or_init(|| {
                if self.body.len() < GZIP_FROM_BYTES {
                    return None;
                }
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 4),
                    flate2::Compression::default(),
                );
                encoder.write_all(&self.body).ok()?;
                let packed = encoder.finish().ok()?;
                (packed.len() < self.body.len()).then(|| {
                    let etag = EntityTag::new_strong(format!("{}-gzip", self.etag.tag()));
                    (web::Bytes::from(packed), etag)
                })
            })
            .as_ref()
    }

    /// What `request` gets: the gzipped body when it accepts gzip (and that
    /// is smaller), else the body; with the ETag of what is sent and
    /// whether it is gzipped.
    pub fn for_request(&self, request: &HttpRequest) -> (&web::Bytes, &EntityTag, bool) {
        match self.gzipped().filter(|_| accepts_gzip(request)) {
            Some((body, etag)) => (body, etag, true),
            None => (&self.body, &self.etag, false),
        }
    }
}

/// Whether the request's `Accept-Encoding` takes gzip (by name or `*`,
/// with a quality above 0).
fn accepts_gzip(request: &HttpRequest) -> bool {
    let Some(header) = request.headers().get(ACCEPT_ENCODING) else {
        return false;
    };
    let Ok(text) = header.to_str() else {
        return false;
    };
    text.split(',').any(|part| {
        let mut pieces = part.split(';');
        let coding = pieces.next().unwrap_or("").trim();
        let refused = pieces.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// Whether the request's `If-None-Match` names `etag` (so 304 answers it).
pub fn client_holds(request: &HttpRequest, etag: &EntityTag) -> bool {
    match request.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(etag)),
        None => false,
    }
}

/// Starts the answer of a rendered public body for `request`: `304` when
/// the client holds what it would get, else `200`; with its ETag, `Vary:
/// Accept-Encoding` and, for a gzipped body, `Content-Encoding: gzip`. The
/// body to send goes with it (None for a 304).
pub fn start_answer<'a>(
    request: &HttpRequest,
    rendered: &'a Rendered,
) -> (HttpResponseBuilder, Option<&'a web::Bytes>) {
    let (body, etag, gzipped) = rendered.for_request(request);
    let held = client_holds(request, etag);
    let mut response = if held {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(ETag(etag.clone()))
        .insert_header((VARY, "Accept-Encoding"));
    if gzipped && !held {
        response.insert_header((CONTENT_ENCODING, "gzip"));
    }
    (response, (!held).then_some(body))
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
    let (mut response, body) = start_answer(request, rendered);
    response
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(max_age_seconds),
        ]))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
    extra(&mut response);
    match body {
        None => response.finish(),
        Some(body) => response
            .insert_header((CONTENT_TYPE, content_type))
            .body(body.clone()),
    }
}
