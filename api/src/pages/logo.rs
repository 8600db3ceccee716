//! A status page's logo. The page policy lets a page load images from its
//! own origin only, so the API fetches each page's `logoUrl` itself
//! (through the target policy, like every outbound request of ours), checks
//! that it is an image of at most [`MAX_LOGO_BYTES`], keeps it in
//! PostgreSQL (`status_page_logos`, migrations/V9) and serves it at a
//! content-hashed path under the page. The logo thus shows when its source
//! is down, and a reader's browser never contacts another origin.
//!
//! Every API instance runs a fetch loop ([`start`]): on every change to a
//! page, and at least every [`POLL`], it claims the logos that
//! are new, whose URL changed, that failed more than [`RETRY_FAILED`] ago or
//! were fetched more than [`REFRESH`] ago, fetches them and stores the
//! image or the error. A claim moves `attempted_at`, so instances do not
//! fetch the same logo at once; a result is stored only if the page's URL
//! is still the one fetched.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::CONTENT_SECURITY_POLICY;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use shared::config::Config;
use shared::notify::send::PolicyResolver;
use shared::target_policy::{check_host, is_forbidden};
use uuid::Uuid;

use super::Rendered;
use crate::startup::AppState;

/// The largest logo kept (the database checks it too).
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// How long one fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an instance looks for logos to fetch.
const POLL: Duration = Duration::from_secs(5);
/// How long a failed fetch waits before the next attempt.
const RETRY_FAILED: &str = "5 minutes";
/// How long a fetched logo is kept before it is fetched again (its source
/// may have changed; a failure then keeps the image already held).
const REFRESH: &str = "1 day";
/// How long a claim holds: an attempt not finished by then (its instance
/// stopped) may be taken by another.
const CLAIM_FOR: &str = "30 seconds";
/// Logos claimed by one instance per round.
const CLAIMS_PER_ROUND: i64 = 4;
/// Redirects followed, each to a target the policy allows.
const MAX_REDIRECTS: usize = 3;
/// How long a served logo may be cached: its path changes with its content.
const CACHE_SECONDS: u32 = 31_536_000;
/// The policy of a served logo: an SVG opened on its own runs nothing.
const LOGO_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const USER_AGENT: &str = concat!("UpTime-StatusPage/", env!("CARGO_PKG_VERSION"));

/// A logo held in memory, ready to serve.
#[derive(Debug)]
pub struct Logo {
    /// Hex SHA-256 of the image: its path and its ETag.
    pub sha: String,
    pub content_type: String,
    pub body: Rendered,
}

impl Logo {
    /// The path it is served at, under a page's `base` (`/status/{slug}`,
    /// or "" on its custom domain).
    pub fn path(&self, base: &str) -> String {
        format!("{base}/logo/{}", self.sha)
    }
}

/// The image type of `bytes` from their first bytes: PNG, JPEG, GIF, WebP,
/// ICO or SVG; an error naming what they are not otherwise.
pub fn sniff(bytes: &[u8]) -> Result<&'static str, String> {
    const NOT_AN_IMAGE: &str = "not a PNG, JPEG, GIF, WebP, ICO or SVG image";
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok("image/jpeg");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok("image/gif");
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Ok("image/webp");
    }
    if bytes.starts_with(&[0, 0, 1, 0]) && bytes.len() > 6 {
        return Ok("image/x-icon");
    }
    // SVG: XML text whose first element is <svg>, possibly after an XML
    // declaration, comments or a doctype.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &text[..text.len().min(4096)];
    let Ok(head) = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).map_err(|_| ()))
    else {
        return Err(NOT_AN_IMAGE.to_owned());
    };
    let mut rest = head.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
            rest = rest.split_once('>').map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let element = rest.strip_prefix("<svg").and_then(|r| r.chars().next());
    if element.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/') {
        Ok("image/svg+xml")
    } else {
        Err(NOT_AN_IMAGE.to_owned())
    }
}

/// The HTTP client logos are fetched with: the target policy on every name
/// and on every redirect's literal address, at most [`MAX_REDIRECTS`].
fn client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let url = attempt.url();
        if !matches!(url.scheme(), "http" | "https") {
            return attempt.error("redirected to a URL that is not http(s)");
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if !allow_private && literal.is_some_and(is_forbidden) {
            return attempt.error("redirected to a private or reserved address");
        }
        attempt.follow()
    });
    Ok(reqwest::Client::builder()
        .redirect(redirects)
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .user_agent(USER_AGENT)
        .dns_resolver(Arc::new(PolicyResolver::new(allow_private)))
        .build()?)
}

/// Fetches `url` and checks that it is an image of at most
/// [`MAX_LOGO_BYTES`]: its type and bytes, or why not, in words.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    allow_private: bool,
) -> Result<(&'static str, Vec<u8>), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    check_host(host, allow_private)
        .await
        .map_err(|refused| format!("refused: {refused}"))?;
    let response = client.get(parsed).send().await.map_err(|error| {
        let error = error.without_url();
        if error.is_timeout() {
            format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
        } else {
            // The chain holds the cause (refused, reset, TLS, DNS).
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            format!("could not fetch it: {text}")
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("its server answered HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_LOGO_BYTES as u64)
    {
        return Err(format!("larger than {} KiB", MAX_LOGO_BYTES / 1024));
    }
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the download broke off: {}", e.without_url()))?;
        if bytes.len() + chunk.len() > MAX_LOGO_BYTES {
            return Err(format!("larger than {} KiB", MAX_LOGO_BYTES / 1024));
        }
        bytes.extend_from_slice(&chunk);
    }
    let content_type = sniff(&bytes)?;
    Ok((content_type, bytes))
}

/// Starts the fetch loop on the current Tokio runtime; `wake` starts a
/// round early (the status pages' NOTIFY).
pub fn start(config: &Config, wake: Arc<tokio::sync::Notify>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Handle::try_current()?;
    let pool = shared::db::build_pool_sized(config, 1)?;
    let allow_private = config.allow_private_targets;
    let client = client(allow_private)?;
    runtime.spawn(async move {
        loop {
            if let Err(error) = round(&pool, &client, allow_private).await {
                tracing::debug!(error = %format!("{error:#}"), "status page logo round failed");
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
    Ok(())
}

/// Claims the logos due (see the module's description).
const CLAIM: &str = "INSERT INTO status_page_logos AS l (page_id, source_url, attempted_at) \
    SELECT p.id, p.logo_url, now() FROM status_pages p \
    LEFT JOIN status_page_logos x ON x.page_id = p.id \
    WHERE p.logo_url IS NOT NULL AND (x.page_id IS NULL OR x.source_url <> p.logo_url \
        OR (x.attempted_at < now() - interval '{CLAIM_FOR}' AND ( \
            (x.fetched_at IS NULL AND x.error IS NULL) \
            OR (x.error IS NOT NULL AND x.attempted_at < now() - interval '{RETRY_FAILED}') \
            OR (x.error IS NULL AND x.fetched_at < now() - interval '{REFRESH}')))) \
    ORDER BY p.id LIMIT $1 \
    ON CONFLICT (page_id) DO UPDATE SET attempted_at = now(), source_url = excluded.source_url, \
        error = CASE WHEN l.source_url = excluded.source_url THEN l.error END, \
        bytes = CASE WHEN l.source_url = excluded.source_url THEN l.bytes END, \
        sha256 = CASE WHEN l.source_url = excluded.source_url THEN l.sha256 END, \
        content_type = CASE WHEN l.source_url = excluded.source_url THEN l.content_type END, \
        fetched_at = CASE WHEN l.source_url = excluded.source_url THEN l.fetched_at END \
    WHERE l.source_url <> excluded.source_url OR l.attempted_at < now() - interval '{CLAIM_FOR}' \
    RETURNING l.page_id, l.source_url";

/// One round: claim, fetch, store; stale rows of pages without a logo go.
async fn round(
    pool: &deadpool_postgres::Pool,
    client: &reqwest::Client,
    allow_private: bool,
) -> anyhow::Result<()> {
    let db = pool.get().await?;
    db.execute(
        "DELETE FROM status_page_logos l USING status_pages p \
         WHERE p.id = l.page_id AND p.logo_url IS NULL",
        &[],
    )
    .await?;
    let claim = CLAIM
        .replace("{CLAIM_FOR}", CLAIM_FOR)
        .replace("{RETRY_FAILED}", RETRY_FAILED)
        .replace("{REFRESH}", REFRESH);
    let claimed = db
        .query(&db.prepare_cached(&claim).await?, &[&CLAIMS_PER_ROUND])
        .await?;
    for row in claimed {
        let page: Uuid = row.try_get(0)?;
        let url: String = row.try_get(1)?;
        match fetch(client, &url, allow_private).await {
            Ok((content_type, bytes)) => {
                let sha = hex::encode(Sha256::digest(&bytes));
                db.execute(
                    "UPDATE status_page_logos SET content_type = $3, bytes = $4, sha256 = $5, \
                         fetched_at = now(), error = NULL \
                     WHERE page_id = $1 AND source_url = $2",
                    &[&page, &url, &content_type, &bytes, &sha],
                )
                .await?;
                tracing::info!(%page, bytes = bytes.len(), content_type, "status page logo fetched");
            }
            Err(error) => {
                let error = shared::outside_text::clean(&error, 1024).text.into_owned();
                db.execute(
                    "UPDATE status_page_logos SET error = $3 \
                     WHERE page_id = $1 AND source_url = $2",
                    &[&page, &url, &error],
                )
                .await?;
                tracing::info!(%page, %error, "status page logo not fetched");
            }
        }
    }
    Ok(())
}

/// The logos of the published pages, kept between snapshot rebuilds so
/// each image is read from PostgreSQL once.
#[derive(Debug, Default)]
pub struct Logos {
    by_sha: HashMap<String, Arc<Logo>>,
}

impl Logos {
    /// The logo `sha` of page `page`, read when not held; None when it is
    /// gone (a newer one replaced it since the snapshot was read).
    pub async fn get(
        &mut self,
        client: &impl deadpool_postgres::GenericClient,
        page: Uuid,
        sha: &str,
    ) -> Result<Option<Arc<Logo>>, tokio_postgres::Error> {
        if let Some(logo) = self.by_sha.get(sha) {
            return Ok(Some(Arc::clone(logo)));
        }
        let row = client
            .query_opt(
                "SELECT content_type, bytes FROM status_page_logos \
                 WHERE page_id = $1 AND sha256 = $2",
                &[&page, &sha],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bytes: Vec<u8> = row.try_get(1)?;
        let logo = Arc::new(Logo {
            sha: sha.to_owned(),
            content_type: row.try_get(0)?,
            body: Rendered::new(bytes),
        });
        self.by_sha.insert(sha.to_owned(), Arc::clone(&logo));
        Ok(Some(logo))
    }

    /// Forgets the logos not in `used`.
    pub fn keep(&mut self, used: &[String]) {
        self.by_sha.retain(|sha, _| used.contains(sha));
    }
}

/// Registers `/status/{slug}/logo/{sha}` and, on a custom domain, `/logo/{sha}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status/{slug}/logo/{sha}", web::get().to(by_slug));
    cfg.service(
        web::resource("/logo/{sha}")
            .guard(guard::fn_guard(super::status_page::on_custom_domain))
            .route(web::get().to(by_host)),
    );
}

async fn by_slug(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> HttpResponse {
    let (slug, sha) = path.into_inner();
    let published = state.status_pages.published();
    serve(published.by_slug.get(&slug), &sha, &request)
}

async fn by_host(
    state: web::Data<AppState>,
    sha: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let published = state.status_pages.published();
    let host = request.connection_info().host().to_owned();
    serve(published.by_host(&host), &sha, &request)
}

/// The page's logo when `sha` names it; a plain 404 otherwise.
fn serve(
    page: Option<&Arc<super::snapshot::PublishedPage>>,
    sha: &str,
    request: &HttpRequest,
) -> HttpResponse {
    let Some(logo) = page.and_then(|p| p.logo.as_ref()).filter(|l| l.sha == sha) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("No such logo.");
    };
    super::conditional(
        request,
        &logo.body,
        content_type_static(&logo.content_type),
        CACHE_SECONDS,
        |response| {
            response.insert_header((CONTENT_SECURITY_POLICY, LOGO_POLICY));
        },
    )
}

/// The stored content type as one of the types [`sniff`] gives.
fn content_type_static(stored: &str) -> &'static str {
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/x-icon",
        "image/svg+xml",
    ]
    .into_iter()
    .find(|t| *t == stored)
    .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_first_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png), Ok("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Ok("image/jpeg"));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Ok("image/gif"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert_eq!(sniff(&[0, 0, 1, 0, 1, 0, 16, 16]), Ok("image/x-icon"));
        for svg in [
            "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            "\u{feff}<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg>",
            "  <svg/>",
        ] {
            assert_eq!(sniff(svg.as_bytes()), Ok("image/svg+xml"), "{svg}");
        }
        for not in [
            &b"<html><svg></svg></html>"[..],
            b"<svgfoo>",
            b"hello",
            b"",
            b"<?xml version=\"1.0\"?><rss>",
            b"\xFF\xFE\xFD",
        ] {
            let error = sniff(not).unwrap_err();
            assert!(error.starts_with("not a PNG"), "{error}");
        }
    }
}
