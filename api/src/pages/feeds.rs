//! Atom 1.0 and RSS 2.0 feeds of a published status page:
//! `/status/{slug}/feed.atom` and `/status/{slug}/feed.rss` (and `/feed.atom`,
//! `/feed.rss` on the page's custom domain). One entry per status incident,
//! its updates as content (newest first), and one per maintenance window;
//! never anything about monitors. Written by the `atom_syndication` and `rss`
//! crates from the snapshot, once per snapshot and origin (see [`Cache`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use atom_syndication as atom;
use chrono::{DateTime, Utc};
use shared::maintenance::State;

use super::snapshot::{PageIncident, PageMaintenance, Snapshot};
use super::statuspage_api::PublicError;
use super::Rendered;
use crate::startup::AppState;
use shared::model::status_page::is_valid_slug;

/// How long clients and proxies may reuse a feed (as the JSON documents).
pub const MAX_AGE_SECONDS: u32 = 10;

/// How many origins (scheme and host) a snapshot keeps feeds for; more are
/// rendered per request, so a flood of made-up Host headers holds no memory.
const MAX_ORIGINS: usize = 8;

/// The longest Host header used in feed links; a longer one gets
/// root-relative links.
const MAX_HOST: usize = 255;

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Atom,
    Rss,
}

impl Format {
    fn from_file(name: &str) -> Option<Self> {
        match name {
            "feed.atom" => Some(Format::Atom),
            "feed.rss" => Some(Format::Rss),
            _ => None,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Format::Atom => "feed.atom",
            Format::Rss => "feed.rss",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
        }
    }
}

/// A snapshot's rendered feeds, by origin and format. Part of
/// [`super::snapshot::PublishedPage`], so a new snapshot starts empty.
#[derive(Debug, Default)]
pub struct Cache {
    rendered: Mutex<HashMap<(String, Format), Arc<Rendered>>>,
}

impl Cache {
    fn get_or_render(
        &self,
        snapshot: &Snapshot,
        origin: &str,
        format: Format,
    ) -> Result<Arc<Rendered>, FeedError> {
        let key = (origin.to_owned(), format);
        if let Some(found) = self.lock().get(&key) {
            return Ok(Arc::clone(found));
        }
        let rendered = Arc::new(Rendered::new(render(snapshot, origin, format)?));
        let mut cached = self.lock();
        if cached.len() < MAX_ORIGINS * 2 {
            cached.insert(key, Arc::clone(&rendered));
        }
        Ok(rendered)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Format), Arc<Rendered>>> {
        match self.rendered.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A feed the writer could not produce (not expected: every value is text).
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("atom: {0}")]
    Atom(#[from] atom::Error),
    #[error("rss: {0}")]
    Rss(#[from] rss::Error),
}

/// Registers the feed routes by slug and by custom domain.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/status/{slug}/{file:feed\\.(?:atom|rss)}").route(web::get().to(by_slug)),
    )
    .service(web::resource("/{file:feed\\.(?:atom|rss)}").route(web::get().to(by_host)));
}

/// `GET /status/{slug}/feed.atom|rss`.
#[tracing::instrument(skip_all, fields(slug = %path.0))]
async fn by_slug(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let (slug, file) = path.into_inner();
    if !is_valid_slug(&slug) {
        return Err(PublicError::NotFound);
    }
    let format = Format::from_file(&file).ok_or(PublicError::NotFound)?;
    let published = state.status_pages.published();
    if published.built_at.is_none() {
        return Err(PublicError::Unavailable);
    }
    let page = published.by_slug.get(&slug).ok_or(PublicError::NotFound)?;
    serve(page, format, &request)
}

/// `GET /feed.atom|rss` on a page's custom domain.
#[tracing::instrument(skip_all)]
async fn by_host(
    state: web::Data<AppState>,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let format = Format::from_file(&path).ok_or(PublicError::NotFound)?;
    let published = state.status_pages.published();
    if published.built_at.is_none() {
        return Err(PublicError::Unavailable);
    }
    let host = request.connection_info().host().to_owned();
    let page = published.by_host(&host).ok_or(PublicError::NotFound)?;
    serve(page, format, &request)
}

fn serve(
    page: &super::snapshot::PublishedPage,
    format: Format,
    request: &HttpRequest,
) -> Result<HttpResponse, PublicError> {
    // PUBLIC_BASE_URL when set; else the request's own origin.
    let origin = match &page.snapshot.base_url {
        Some(base) => base.clone(),
        None => origin(request),
    };
    let rendered = page
        .feeds
        .get_or_render(&page.snapshot, &origin, format)
        .map_err(|error| {
            tracing::error!(%error, "feed not rendered");
            PublicError::Unavailable
        })?;
    Ok(super::conditional(
        request,
        &rendered,
        format.content_type(),
        MAX_AGE_SECONDS,
        |_| {},
    ))
}

/// `scheme://host` of the request (as proxies forward it), or "" when the
/// Host is not a plain host name, so links stay root-relative.
fn origin(request: &HttpRequest) -> String {
    let info = request.connection_info();
    let host = info.host();
    let plain = !host.is_empty()
        && host.len() <= MAX_HOST
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let scheme = info.scheme();
    if plain && (scheme == "http" || scheme == "https") {
        format!("{scheme}://{}", host.to_ascii_lowercase())
    } else {
        String::new()
    }
}

/// Where the page and its feeds live, as seen from `origin`.
struct Links {
    page: String,
    feed: String,
}

impl Links {
    fn new(snapshot: &Snapshot, origin: &str, format: Format) -> Self {
        let page = match &snapshot.page.custom_domain {
            Some(domain) => format!("https://{domain}"),
            None => format!("{origin}/status/{}", snapshot.page.slug),
        };
        Self {
            feed: format!("{page}/{}", format.file()),
            page,
        }
    }

    fn incident(&self, incident: &PageIncident) -> String {
        format!("{}/incidents/{}", self.page, incident.incident.id)
    }
}

/// One feed entry, in the words both formats share.
struct Item {
    id: String,
    title: String,
    link: String,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// HTML, every piece of text escaped.
    content: String,
}

fn render(snapshot: &Snapshot, origin: &str, format: Format) -> Result<Vec<u8>, FeedError> {
    let links = Links::new(snapshot, origin, format);
    let mut items: Vec<Item> = snapshot
        .incidents
        .iter()
        .map(|incident| incident_item(incident, &links))
        .chain(
            snapshot
                .maintenances
                .iter()
                .map(|window| maintenance_item(window, &links)),
        )
        .collect();
    items.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
    let title = format!("{} status", snapshot.page.title);
    let description = snapshot
        .page
        .description
        .clone()
        .unwrap_or_else(|| format!("Incidents and maintenance of {}", snapshot.page.title));
    match format {
        Format::Atom => atom_feed(snapshot, &links, title, description, items),
        Format::Rss => rss_channel(&links, title, description, snapshot.updated_at, items),
    }
}

fn incident_item(incident: &PageIncident, links: &Links) -> Item {
    let mut content = String::new();
    // Updates are newest first in the snapshot.
    for update in &incident.updates {
        content.push_str("<p><strong>");
        content.push_str(update.status.label());
        content.push_str("</strong> (");
        content.push_str(&time(update.display_at));
        content.push(')');
        if let Some(body) = &update.body {
            content.push_str("<br>");
            push_escaped(&mut content, body);
        }
        content.push_str("</p>");
    }
    if content.is_empty() {
        content.push_str("<p>");
        content.push_str(incident.incident.status.label());
        content.push_str("</p>");
    }
    let updated = incident
        .updates
        .iter()
        .map(|u| u.edited_at.unwrap_or(u.created_at).max(u.display_at))
        .fold(incident.incident.updated_at, DateTime::max);
    Item {
        id: format!("urn:uuid:{}", incident.incident.id),
        title: format!(
            "{} ({})",
            incident.incident.name,
            incident.incident.status.label()
        ),
        link: links.incident(incident),
        published: incident.incident.started_at,
        updated,
        content,
    }
}

fn maintenance_item(maintenance: &PageMaintenance, links: &Links) -> Item {
    let state = match maintenance.state {
        State::Scheduled => "Scheduled",
        State::InProgress => "In progress",
        State::Completed => "Completed",
    };
    let mut content = String::from("<p><strong>");
    content.push_str(state);
    content.push_str("</strong>");
    if let Some(occurrence) = maintenance.occurrence {
        content.push_str(" from ");
        content.push_str(&time(occurrence.starts_at));
        content.push_str(" to ");
        content.push_str(&time(occurrence.ends_at));
    }
    content.push_str("</p>");
    if let Some(description) = &maintenance.window.description {
        content.push_str("<p>");
        push_escaped(&mut content, description);
        content.push_str("</p>");
    }
    let published = maintenance
        .occurrence
        .map_or(maintenance.window.created_at, |o| o.starts_at);
    Item {
        id: format!("urn:uuid:{}", maintenance.window.id),
        title: format!("Maintenance: {} ({state})", maintenance.window.title),
        link: links.page.clone(),
        published,
        updated: maintenance.window.updated_at,
        content,
    }
}

fn atom_feed(
    snapshot: &Snapshot,
    links: &Links,
    title: String,
    description: String,
    items: Vec<Item>,
) -> Result<Vec<u8>, FeedError> {
    let link = |href: &str, rel: &str, mime: Option<&str>| atom::Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..atom::Link::default()
    };
    let entries = items
        .into_iter()
        .map(|item| atom::Entry {
            title: atom::Text::plain(item.title),
            id: item.id,
            updated: item.updated.fixed_offset(),
            published: Some(item.published.fixed_offset()),
            links: vec![link(&item.link, "alternate", Some("text/html"))],
            content: Some(atom::Content {
                value: Some(item.content),
                content_type: Some("html".to_owned()),
                ..atom::Content::default()
            }),
            ..atom::Entry::default()
        })
        .collect();
    let feed = atom::Feed {
        title: atom::Text::plain(title),
        id: format!("urn:uuid:{}", snapshot.page.id),
        updated: snapshot.updated_at.fixed_offset(),
        authors: vec![atom::Person {
            name: snapshot.page.title.clone(),
            uri: Some(links.page.clone()).filter(|uri| uri.contains("://")),
            ..atom::Person::default()
        }],
        subtitle: Some(atom::Text::plain(description)),
        links: vec![
            link(&links.page, "alternate", Some("text/html")),
            link(&links.feed, "self", Some("application/atom+xml")),
        ],
        entries,
        ..atom::Feed::default()
    };
    Ok(feed.write_to(Vec::new())?)
}

fn rss_channel(
    links: &Links,
    title: String,
    description: String,
    updated_at: DateTime<Utc>,
    items: Vec<Item>,
) -> Result<Vec<u8>, FeedError> {
    let items = items
        .into_iter()
        .map(|item| rss::Item {
            title: Some(item.title),
            link: Some(item.link),
            description: Some(item.content),
            guid: Some(rss::Guid {
                value: item.id,
                permalink: false,
            }),
            pub_date: Some(item.updated.to_rfc2822()),
            ..rss::Item::default()
        })
        .collect();
    let channel = rss::Channel {
        title,
        link: links.page.clone(),
        description,
        last_build_date: Some(updated_at.to_rfc2822()),
        ttl: Some("1".to_owned()),
        items,
        ..rss::Channel::default()
    };
    Ok(channel.write_to(Vec::new())?)
}

/// A time as the page shows it before script: UTC, to the minute.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Appends `text` with HTML's special characters escaped, line breaks kept.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
}
