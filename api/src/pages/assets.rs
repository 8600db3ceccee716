//! Our stylesheets and scripts (api/assets/), embedded in the binary and
//! served under content-hashed URLs such as `/assets/core.0123456789ab.js`.
//! A change to a file changes its URL, so browsers keep every URL forever.

use std::sync::OnceLock;

use actix_web::http::header::{
    CacheControl, CacheDirective, ETag, EntityTag, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// The path every asset URL starts with.
const PREFIX: &str = "/assets/";
/// How many hex digits of the content's SHA-256 go into its URL.
const HASH_DIGITS: usize = 12;
/// A year, the longest `max-age` caches are asked to honour.
const CACHE_SECONDS: u32 = 365 * 24 * 60 * 60;

const CSS: &str = "text/css; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The stylesheet of the public status pages.
pub static STATUS_CSS: Asset =
    Asset::new("status.css", CSS, include_str!("../../assets/status.css"));
/// The script of the public status pages: local times, "updated N s ago"
/// and the quiet refresh.
pub static STATUS_JS: Asset = Asset::new(
    "status.js",
    JAVASCRIPT,
    include_str!("../../assets/status.js"),
);

/// The dashboard's stylesheet.
pub static DASHBOARD_CSS: Asset = Asset::new(
    "dashboard.css",
    CSS,
    include_str!("../../assets/dashboard/dashboard.css"),
);

/// The dashboard's scripts, in load order: the core (router, API client,
/// shared view helpers) first, then one file per group of views.
pub static DASHBOARD_JS: [Asset; 8] = [
    Asset::new(
        "core.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/core.js"),
    ),
    Asset::new(
        "view-overview.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-overview.js"),
    ),
    Asset::new(
        "view-monitor.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-monitor.js"),
    ),
    Asset::new(
        "view-monitor-form.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-monitor-form.js"),
    ),
    Asset::new(
        "view-incidents.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-incidents.js"),
    ),
    Asset::new(
        "view-status.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-status.js"),
    ),
    Asset::new(
        "view-admin.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-admin.js"),
    ),
    Asset::new(
        "view-workers.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/view-workers.js"),
    ),
];

/// uPlot 1.6.32 from npm (MIT; api/assets/vendor/README.md), for charts.
pub static UPLOT_JS: Asset = Asset::new(
    "uPlot.iife.min.js",
    JAVASCRIPT,
    include_str!("../../assets/vendor/uplot/uPlot.iife.min.js"),
);
pub static UPLOT_CSS: Asset = Asset::new(
    "uPlot.min.css",
    CSS,
    include_str!("../../assets/vendor/uplot/uPlot.min.css"),
);

/// Every asset served under [`PREFIX`].
fn all() -> impl Iterator<Item = &'static Asset> {
    [
        &STATUS_CSS,
        &STATUS_JS,
        &DASHBOARD_CSS,
        &UPLOT_JS,
        &UPLOT_CSS,
    ]
    .into_iter()
    .chain(DASHBOARD_JS.iter())
}

/// One embedded file.
pub struct Asset {
    /// Its name in api/assets/.
    file_name: &'static str,
    content_type: &'static str,
    content: &'static str,
    fingerprint: OnceLock<Fingerprint>,
}

/// What is derived from an asset's content, computed on first use.
struct Fingerprint {
    /// The file name with the content hash before its extension.
    hashed_name: String,
    url: String,
    etag: EntityTag,
}

impl Asset {
    const fn new(
        file_name: &'static str,
        content_type: &'static str,
        content: &'static str,
    ) -> Self {
        Self {
            file_name,
            content_type,
            content,
            fingerprint: OnceLock::new(),
        }
    }

    /// The content-hashed URL pages reference this asset by.
    pub fn url(&self) -> &str {
        &self.fingerprint().url
    }

    fn fingerprint(&self) -> &Fingerprint {
        self.fingerprint.get_or_init(|| {
            let digest = sha256_hex(self.content);
            let hash = &digest[..HASH_DIGITS];
            let hashed_name = match self.file_name.rsplit_once('.') {
                Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
                None => format!("{}.{hash}", self.file_name),
            };
            Fingerprint {
                url: format!("{PREFIX}{hashed_name}"),
                hashed_name,
                etag: EntityTag::new_strong(digest),
            }
        })
    }
}

/// Lowercase hex SHA-256 of `content`.
fn sha256_hex(content: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content.as_bytes()))
}

/// `GET /assets/{name}`: open to all, like the pages that link them.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(format!("{PREFIX}{{name}}")).route(web::get().to(serve)));
}

/// An asset by its content-hashed name; `304` when the client holds it.
#[tracing::instrument(skip_all, fields(name = %name))]
async fn serve(request: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = all()
        .find(|asset| asset.fingerprint().hashed_name == *name)
        .ok_or(ApiError::NotFound("asset"))?;
    let fingerprint = asset.fingerprint();
    let held = super::client_holds(&request, &fingerprint.etag);
    let mut response = if held {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(CACHE_SECONDS),
            CacheDirective::Extension("immutable".to_owned(), None),
        ]))
        .insert_header(ETag(fingerprint.etag.clone()))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if held {
        return Ok(response.finish());
    }
    Ok(response
        .content_type(asset.content_type)
        .body(asset.content))
}
