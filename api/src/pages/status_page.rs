//! The public status page in HTML: `GET /status/{slug}`, its incident
//! permalinks and its history, rendered with askama (api/templates/) from
//! the in-memory [`super::snapshot`] only, so a request never reaches the
//! database. The same pages answer at `/` on a page's custom domain.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use shared::component_uptime::ComponentUptime;
use shared::maintenance::State;
use shared::model::component::ComponentStatus;
use shared::model::status_incident::{Impact, IncidentStatus};
use uuid::Uuid;

use super::assets::{STATUS_CSS, STATUS_JS};
use super::snapshot::{
    Overall, PageComponent, PageIncident, PageMaintenance, PageMonitor, PublishedPage, Snapshot,
};
use super::statuspage_api::MAX_AGE_SECONDS;
use super::Rendered;
use super::PAGE_POLICY;
use crate::middleware::RequestId;
use crate::startup::AppState;
use shared::model::status_page::is_valid_slug;

/// How many past incidents one page of the history lists.
const HISTORY_PAGE_SIZE: usize = 20;

/// The public paths of a status page, used by the router and the templates.
#[derive(Debug, Clone, Copy)]
pub enum StatusRoute {
    Page,
    History,
    Incident,
}

impl StatusRoute {
    /// The route under `/status/{slug}`.
    fn by_slug(self) -> &'static str {
        match self {
            StatusRoute::Page => "/status/{slug}",
            StatusRoute::History => "/status/{slug}/history",
            StatusRoute::Incident => "/status/{slug}/incidents/{id}",
        }
    }

    /// The route on a page's custom domain.
    fn by_host(self) -> &'static str {
        match self {
            StatusRoute::Page => "/",
            StatusRoute::History => "/history",
            StatusRoute::Incident => "/incidents/{id}",
        }
    }
}

/// The links of one page as its reader reached it: under `/status/{slug}`,
/// or at the root of its custom domain.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    fn by_slug(slug: &str) -> Self {
        Self {
            base: StatusRoute::Page.by_slug().replace("{slug}", slug),
        }
    }

    fn by_host() -> Self {
        Self {
            base: String::new(),
        }
    }

    /// The page itself.
    pub fn page(&self) -> String {
        if self.base.is_empty() {
            StatusRoute::Page.by_host().to_owned()
        } else {
            self.base.clone()
        }
    }

    /// The history, at `page` (1 is the first).
    pub fn history(&self, page: usize) -> String {
        let path = format!("{}{}", self.base, StatusRoute::History.by_host());
        if page <= 1 {
            path
        } else {
            format!("{path}?page={page}")
        }
    }

    /// An incident's permalink.
    pub fn incident(&self, id: Uuid) -> String {
        let path = StatusRoute::Incident
            .by_host()
            .replace("{id}", &id.to_string());
        format!("{}{path}", self.base)
    }
}

/// Registers the pages under `/status/{slug}` and, for a request whose Host
/// is a published page's custom domain, at `/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(StatusRoute::Page.by_slug(), web::get().to(page_by_slug))
        .route(
            StatusRoute::History.by_slug(),
            web::get().to(history_by_slug),
        )
        .route(
            StatusRoute::Incident.by_slug(),
            web::get().to(incident_by_slug),
        );
    for (route, handler) in [
        (StatusRoute::Page, web::get().to(page_by_host)),
        (StatusRoute::History, web::get().to(history_by_host)),
        (StatusRoute::Incident, web::get().to(incident_by_host)),
    ] {
        cfg.service(
            web::resource(route.by_host())
                .guard(guard::fn_guard(on_custom_domain))
                .route(handler),
        );
    }
}

/// Whether the request's Host is a published page's custom domain.
pub(crate) fn on_custom_domain(ctx: &guard::GuardContext<'_>) -> bool {
    let Some(state) = ctx.app_data::<web::Data<AppState>>() else {
        return false;
    };
    let Some(host) = ctx
        .head()
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    state.status_pages.published().by_host(host).is_some()
}

/// Why a page is not shown; each answers a plain HTML page.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("There is no status page here.")]
    NotFound,
    #[error("The status page is starting and has not read the latest status yet.")]
    Unavailable,
    #[error("The status page could not be shown.")]
    Render(#[from] askama::Error),
}

impl ViewError {
    fn status_code(&self) -> StatusCode {
        match self {
            ViewError::NotFound => StatusCode::NOT_FOUND,
            ViewError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ViewError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error page, naming the request id for whoever reports it.
    fn response(&self, request: &HttpRequest) -> HttpResponse {
        if let ViewError::Render(error) = self {
            tracing::error!(%error, "status page template failed");
        }
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone());
        let (title, advice) = match self {
            ViewError::NotFound => (
                "Page not found",
                "Check the address, or ask the people who run the service for the link to their status page.",
            ),
            ViewError::Unavailable => (
                "Status page starting",
                "Please reload this page in a few seconds.",
            ),
            ViewError::Render(_) => (
                "Something went wrong",
                "Please try again in a moment.",
            ),
        };
        let view = ErrorView {
            chrome: Chrome::plain(title),
            message: self.to_string(),
            advice,
            request_id,
        };
        let body = view
            .render()
            .unwrap_or_else(|_| format!("<!doctype html><title>{title}</title><p>{title}</p>"));
        let mut response = HttpResponse::build(self.status_code());
        with_page_headers(&mut response).insert_header((header::CACHE_CONTROL, "no-store"));
        if matches!(self, ViewError::Unavailable) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.body(body)
    }
}

/// How a request names its page.
enum Wanted<'a> {
    Slug(&'a str),
    Host,
}

/// The page a request asks for, from the latest snapshot.
fn find(
    state: &AppState,
    request: &HttpRequest,
    wanted: Wanted<'_>,
) -> Result<(Arc<PublishedPage>, Links), ViewError> {
    if matches!(wanted, Wanted::Slug(slug) if !is_valid_slug(slug)) {
        return Err(ViewError::NotFound);
    }
    let published = state.status_pages.published();
    if published.built_at.is_none() {
        return Err(ViewError::Unavailable);
    }
    match wanted {
        Wanted::Slug(slug) => {
            let page = published.by_slug.get(slug).ok_or(ViewError::NotFound)?;
            Ok((Arc::clone(page), Links::by_slug(slug)))
        }
        Wanted::Host => {
            let host = request.connection_info().host().to_owned();
            let page = published.by_host(&host).ok_or(ViewError::NotFound)?;
            Ok((Arc::clone(page), Links::by_host()))
        }
    }
}

/// Query of the history page.
#[derive(Debug, serde::Deserialize)]
struct HistoryQuery {
    page: Option<usize>,
}

/// What a handler is asked to show.
enum Show {
    Page,
    History(usize),
    Incident(String),
}

async fn page_by_slug(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    respond(&state, &request, Wanted::Slug(&slug), Show::Page)
}

async fn history_by_slug(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: Option<web::Query<HistoryQuery>>,
    request: HttpRequest,
) -> HttpResponse {
    let page = query.and_then(|q| q.page).unwrap_or(1);
    respond(&state, &request, Wanted::Slug(&slug), Show::History(page))
}

async fn incident_by_slug(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> HttpResponse {
    let (slug, id) = path.into_inner();
    respond(&state, &request, Wanted::Slug(&slug), Show::Incident(id))
}

async fn page_by_host(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    respond(&state, &request, Wanted::Host, Show::Page)
}

async fn history_by_host(
    state: web::Data<AppState>,
    query: Option<web::Query<HistoryQuery>>,
    request: HttpRequest,
) -> HttpResponse {
    let page = query.and_then(|q| q.page).unwrap_or(1);
    respond(&state, &request, Wanted::Host, Show::History(page))
}

async fn incident_by_host(
    state: web::Data<AppState>,
    id: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    respond(
        &state,
        &request,
        Wanted::Host,
        Show::Incident(id.into_inner()),
    )
}

/// Renders what was asked for (once per snapshot, see [`RenderCache`]),
/// or its error page.
#[tracing::instrument(skip_all)]
fn respond(
    state: &AppState,
    request: &HttpRequest,
    wanted: Wanted<'_>,
    show: Show,
) -> HttpResponse {
    let rendered = find(state, request, wanted).and_then(|(page, links)| {
        let key = format!("{}|{}", links.base, show.key());
        if let Some(body) = RENDER_CACHE.get(&page, &key) {
            return Ok(body);
        }
        let body = Arc::new(Rendered::new(render(&page.snapshot, &links, show)?));
        RENDER_CACHE.put(&page, key, Arc::clone(&body));
        Ok(body)
    });
    match rendered {
        Ok(body) => cached(request, &body),
        Err(error) => error.response(request),
    }
}

impl Show {
    /// What distinguishes this answer among a page's answers.
    fn key(&self) -> String {
        match self {
            Show::Page => "page".to_owned(),
            Show::History(number) => format!("history/{number}"),
            Show::Incident(id) => format!("incident/{id}"),
        }
    }
}

/// The HTML of `show` for `snapshot`.
fn render(snapshot: &Snapshot, links: &Links, show: Show) -> Result<String, ViewError> {
    match show {
        Show::Page => Ok(StatusView::new(snapshot, links).render()?),
        Show::History(number) => {
            let view = HistoryView::new(snapshot, links, number).ok_or(ViewError::NotFound)?;
            Ok(view.render()?)
        }
        Show::Incident(id) => {
            let id: Uuid = id.parse().map_err(|_| ViewError::NotFound)?;
            let incident = snapshot
                .incidents
                .iter()
                .find(|i| i.incident.id == id)
                .ok_or(ViewError::NotFound)?;
            Ok(IncidentPageView::new(snapshot, links, incident).render()?)
        }
    }
}

/// The most rendered answers kept for live snapshots (pages × links ×
/// history pages and permalinks); beyond it the cache starts afresh.
const RENDER_CACHE_PRUNE_AT: usize = 256;

/// Answers rendered from the snapshot they were rendered for, so a storm of
/// readers costs one render per answer per rebuild. An entry holds its
/// snapshot weakly: once a rebuild replaces the snapshot, it is stale.
static RENDER_CACHE: RenderCache = RenderCache {
    entries: Mutex::new(Vec::new()),
};

struct RenderCache {
    entries: Mutex<Vec<CacheEntry>>,
}

struct CacheEntry {
    page: Weak<PublishedPage>,
    key: String,
    body: Arc<Rendered>,
}

impl RenderCache {
    fn get(&self, page: &Arc<PublishedPage>, key: &str) -> Option<Arc<Rendered>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|e| e.key == key && std::ptr::eq(e.page.as_ptr(), Arc::as_ptr(page)))
            .map(|e| Arc::clone(&e.body))
    }

    fn put(&self, page: &Arc<PublishedPage>, key: String, body: Arc<Rendered>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // The bodies of snapshots no longer served go at once (a body is
        // held strongly; only its page weakly): a 100-component page is
        // about a megabyte, and one is rendered per rebuild.
        entries.retain(|e| e.page.strong_count() > 0);
        if entries.len() >= RENDER_CACHE_PRUNE_AT {
            entries.clear();
        }
        entries.push(CacheEntry {
            page: Arc::downgrade(page),
            key,
            body,
        });
    }
}

/// The page headers every HTML answer carries.
fn with_page_headers(
    response: &mut actix_web::HttpResponseBuilder,
) -> &mut actix_web::HttpResponseBuilder {
    response
        .insert_header(ContentType::html())
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
}

/// `200` with the body's ETag and a short public max-age, or `304` when
/// the client holds this body.
fn cached(request: &HttpRequest, body: &Rendered) -> HttpResponse {
    let (mut response, body) = super::start_answer(request, body);
    with_page_headers(&mut response).insert_header(CacheControl(vec![
        CacheDirective::Public,
        CacheDirective::MaxAge(MAX_AGE_SECONDS),
    ]));
    match body {
        None => response.finish(),
        Some(body) => response.body(body.clone()),
    }
}

/// What the layout needs: the page's title, theme, links and freshness.
pub struct Chrome {
    /// The `<title>`.
    pub title: String,
    /// The page's name in the header; empty on error pages.
    pub page_name: String,
    /// `auto`, `light` or `dark`.
    pub theme: &'static str,
    pub css: &'static str,
    pub js: &'static str,
    /// The status page's own URL (the header links to it).
    pub home: String,
    /// The page's logo, served under the page.
    pub logo: Option<String>,
    pub homepage_url: Option<String>,
    pub footer_text: Option<String>,
    /// When the snapshot was read.
    pub built_at: Option<TimeView>,
    /// Whether status.js refreshes the page's main element every minute.
    pub refresh: bool,
}

impl Chrome {
    fn of(snapshot: &Snapshot, links: &Links, title: String) -> Self {
        let theme = match snapshot.page.theme.as_str() {
            "light" => "light",
            "dark" => "dark",
            _ => "auto",
        };
        Self {
            title,
            page_name: snapshot.page.title.clone(),
            theme,
            css: STATUS_CSS.url(),
            js: STATUS_JS.url(),
            home: links.page(),
            logo: snapshot
                .page
                .logo_sha
                .as_ref()
                .map(|sha| format!("{}/logo/{sha}", links.base)),
            homepage_url: snapshot
                .page
                .homepage_url
                .clone()
                .filter(|url| url.starts_with("https://") || url.starts_with("http://")),
            footer_text: snapshot.page.footer_text.clone(),
            built_at: Some(TimeView::at(snapshot.built_at)),
            refresh: false,
        }
    }

    fn plain(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            page_name: String::new(),
            theme: "auto",
            css: STATUS_CSS.url(),
            js: STATUS_JS.url(),
            home: String::new(),
            logo: None,
            homepage_url: None,
            footer_text: None,
            built_at: None,
            refresh: false,
        }
    }
}

/// A moment: ISO 8601 for `datetime`, UTC words for readers without script.
pub struct TimeView {
    pub iso: String,
    pub text: String,
    /// `datetime` or `date`: how status.js writes it in local time.
    pub format: &'static str,
}

impl TimeView {
    fn at(at: DateTime<Utc>) -> Self {
        Self {
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: at.format("%-d %b %Y, %H:%M UTC").to_string(),
            format: "datetime",
        }
    }

    fn day(day: NaiveDate) -> Self {
        Self {
            iso: day.format("%Y-%m-%d").to_string(),
            text: day.format("%-d %B %Y").to_string(),
            format: "date",
        }
    }
}

/// A status in words with its colour class (`ok`, `minor`, `major`,
/// `critical`, `maint`).
pub struct StatusBadge {
    pub label: &'static str,
    pub class: &'static str,
}

impl StatusBadge {
    fn component(status: ComponentStatus) -> Self {
        let class = match status {
            ComponentStatus::Operational => "ok",
            ComponentStatus::DegradedPerformance => "minor",
            ComponentStatus::PartialOutage => "major",
            ComponentStatus::MajorOutage => "critical",
            ComponentStatus::UnderMaintenance => "maint",
        };
        Self {
            label: status.label(),
            class,
        }
    }

    fn overall(overall: Overall) -> Self {
        let class = match overall {
            Overall::Operational => "ok",
            Overall::Degraded => "minor",
            Overall::PartialOutage => "major",
            Overall::MajorOutage => "critical",
            Overall::Maintenance => "maint",
        };
        Self {
            label: overall.label(),
            class,
        }
    }

    fn monitor(status: &str) -> Self {
        let (label, class) = match status {
            "up" => ("Up", "ok"),
            "degraded" => ("Degraded", "minor"),
            "down" => ("Down", "critical"),
            "paused" => ("Paused", "muted"),
            _ => ("Not checked yet", "muted"),
        };
        Self { label, class }
    }

    fn impact(impact: Impact) -> Self {
        let (label, class) = match impact {
            Impact::None => ("No impact", "ok"),
            Impact::Minor => ("Minor impact", "minor"),
            Impact::Major => ("Major impact", "major"),
            Impact::Critical => ("Critical impact", "critical"),
        };
        Self { label, class }
    }
}

/// One day's bar: its date, colour class and words.
pub struct DayView {
    pub date: TimeView,
    /// `ok`, `minor`, `major`, `critical`, `maint` or `none`.
    pub class: &'static str,
    pub text: String,
}

impl DayView {
    /// `component`'s bar for `day`, naming the incidents and maintenance of
    /// that day that touched it.
    fn of(snapshot: &Snapshot, component: Uuid, day: &ComponentUptime) -> Self {
        let (class, mut text) = match day.uptime_percent {
            Some(percent) => (
                uptime_class(percent),
                format!("{} uptime", percent_text(percent)),
            ),
            None if day.maintenance_seconds > 0.0 => ("maint", "Under maintenance".to_owned()),
            None => ("none", "No data".to_owned()),
        };
        let overlaps = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
            from < day.to && to.is_none_or(|to| to > day.from)
        };
        for incident in snapshot.incidents.iter().filter(|i| {
            i.component_ids.contains(&component)
                && overlaps(i.incident.started_at, i.incident.resolved_at)
        }) {
            text.push_str("; incident: ");
            text.push_str(&incident.incident.name);
        }
        for maintenance in snapshot.maintenances.iter().filter(|m| {
            m.component_ids.contains(&component)
                && m.occurrence
                    .is_some_and(|o| overlaps(o.starts_at, Some(o.ends_at)))
        }) {
            text.push_str("; maintenance: ");
            text.push_str(&maintenance.window.title);
        }
        Self {
            date: TimeView::day(day.from.date_naive()),
            class,
            text,
        }
    }
}

/// The colour class of a day or range by its uptime.
fn uptime_class(percent: f64) -> &'static str {
    if percent >= 99.9 {
        "ok"
    } else if percent >= 99.0 {
        "minor"
    } else if percent >= 95.0 {
        "major"
    } else {
        "critical"
    }
}

/// `99.95 %`, `100 %`: two decimals, trailing zeros dropped.
fn percent_text(percent: f64) -> String {
    let mut text = format!("{percent:.2}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    text.push_str(" %");
    text
}

/// A component (or group) with its status and day bars.
pub struct ComponentView {
    /// For the `<details>` a group opens (kept open across refreshes).
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub status: StatusBadge,
    pub days: Vec<DayView>,
    /// e.g. "99.98 % uptime over 90 days", or "No data yet".
    pub uptime: String,
    pub children: Vec<ComponentView>,
    /// Its monitors, on a page that shows monitor details.
    pub monitors: Vec<MonitorView>,
}

/// A monitor on a page that shows monitor details.
pub struct MonitorView {
    pub name: String,
    /// e.g. "HTTP", "TCP".
    pub kind: String,
    pub target: String,
    pub status: StatusBadge,
    /// e.g. "182 ms" (checks that succeeded only).
    pub latency: Option<String>,
    pub checked: Option<TimeView>,
    pub error: Option<String>,
}

impl MonitorView {
    fn of(monitor: &PageMonitor) -> Self {
        let failed = monitor.error.is_some();
        Self {
            name: monitor.name.clone(),
            kind: monitor.kind.to_ascii_uppercase(),
            target: monitor.target.clone(),
            status: StatusBadge::monitor(&monitor.status),
            latency: monitor
                .latency_ms
                .filter(|_| !failed)
                .map(|ms| format!("{} ms", ms.round())),
            checked: monitor.last_checked_at.map(TimeView::at),
            error: monitor.error.clone(),
        }
    }
}

impl ComponentView {
    fn of(snapshot: &Snapshot, component: &PageComponent) -> Self {
        let range = snapshot.page.uptime_days;
        let children = component
            .children
            .iter()
            .filter_map(|id| snapshot.components.iter().find(|c| c.id == *id))
            .map(|child| ComponentView::of(snapshot, child))
            .collect();
        let uptime = match component.uptime_percent {
            Some(percent) => format!("{} uptime over {range} days", percent_text(percent)),
            None => format!("No data over {range} days"),
        };
        Self {
            key: component.id.to_string(),
            name: component.name.clone(),
            description: component.description.clone(),
            status: StatusBadge::component(component.status),
            days: component
                .days
                .iter()
                .map(|day| DayView::of(snapshot, component.id, day))
                .collect(),
            uptime,
            children,
            monitors: component.monitors.iter().map(MonitorView::of).collect(),
        }
    }
}

/// A section of the page.
pub struct SectionView {
    pub name: String,
    pub components: Vec<ComponentView>,
}

/// One update of an incident's timeline.
pub struct UpdateView {
    pub status: &'static str,
    pub body: Option<String>,
    pub at: TimeView,
}

/// An incident with its timeline, newest update first.
pub struct IncidentView {
    pub name: String,
    pub url: String,
    pub status: &'static str,
    pub closed: bool,
    pub impact: StatusBadge,
    pub affected: String,
    pub started: TimeView,
    pub resolved: Option<TimeView>,
    pub updates: Vec<UpdateView>,
    pub postmortem: Option<String>,
}

impl IncidentView {
    fn of(snapshot: &Snapshot, links: &Links, incident: &PageIncident) -> Self {
        Self {
            name: incident.incident.name.clone(),
            url: links.incident(incident.incident.id),
            status: incident.incident.status.label(),
            closed: incident.incident.status.is_closed(),
            impact: StatusBadge::impact(incident.incident.impact),
            affected: names(snapshot, &incident.component_ids),
            started: TimeView::at(incident.incident.started_at),
            resolved: incident.incident.resolved_at.map(TimeView::at),
            updates: incident
                .updates
                .iter()
                .map(|u| UpdateView {
                    status: u.status.label(),
                    body: u.body.clone().filter(|b| !b.trim().is_empty()),
                    at: TimeView::at(u.display_at),
                })
                .collect(),
            postmortem: incident
                .incident
                .postmortem
                .clone()
                .filter(|_| incident.incident.status == IncidentStatus::Postmortem),
        }
    }
}

/// The names of the page's components among `ids`, in page order.
fn names(snapshot: &Snapshot, ids: &[Uuid]) -> String {
    snapshot
        .components
        .iter()
        .filter(|c| ids.contains(&c.id))
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A maintenance window in progress or upcoming.
pub struct MaintenanceView {
    /// The window's id: its anchor (`#maintenance-{id}`), which Statuspage
    /// JSON gives as its shortlink.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub state: &'static str,
    pub in_progress: bool,
    pub starts: Option<TimeView>,
    pub ends: Option<TimeView>,
    pub affected: String,
}

impl MaintenanceView {
    fn of(snapshot: &Snapshot, maintenance: &PageMaintenance) -> Self {
        Self {
            id: maintenance.window.id.to_string(),
            title: maintenance.window.title.clone(),
            description: maintenance.window.description.clone(),
            state: match maintenance.state {
                State::Scheduled => "Scheduled",
                State::InProgress => "In progress",
                State::Completed => "Completed",
            },
            in_progress: maintenance.state == State::InProgress,
            starts: maintenance.occurrence.map(|o| TimeView::at(o.starts_at)),
            ends: maintenance.occurrence.map(|o| TimeView::at(o.ends_at)),
            affected: names(snapshot, &maintenance.component_ids),
        }
    }
}

/// The past incidents of one day.
pub struct DayIncidents {
    pub date: TimeView,
    pub incidents: Vec<IncidentView>,
}

/// Closed incidents grouped by the day they started, newest first.
fn by_day<'a>(
    snapshot: &Snapshot,
    links: &Links,
    incidents: impl Iterator<Item = &'a PageIncident>,
) -> Vec<DayIncidents> {
    let mut days: Vec<DayIncidents> = Vec::new();
    for incident in incidents {
        let day = incident.incident.started_at.date_naive();
        let view = IncidentView::of(snapshot, links, incident);
        match days.last_mut() {
            Some(last) if last.date.iso == TimeView::day(day).iso => last.incidents.push(view),
            _ => days.push(DayIncidents {
                date: TimeView::day(day),
                incidents: vec![view],
            }),
        }
    }
    days
}

/// Closed incidents, newest first by start.
fn closed(snapshot: &Snapshot) -> Vec<&PageIncident> {
    let mut closed: Vec<&PageIncident> = snapshot
        .incidents
        .iter()
        .filter(|i| i.incident.status.is_closed())
        .collect();
    closed.sort_by_key(|i| std::cmp::Reverse(i.incident.started_at));
    closed
}

/// `GET /status/{slug}`.
#[derive(Template)]
#[template(path = "status/page.html")]
pub struct StatusView {
    pub chrome: Chrome,
    pub description: Option<String>,
    pub banner: StatusBadge,
    pub sections: Vec<SectionView>,
    pub active: Vec<IncidentView>,
    pub maintenance: Vec<MaintenanceView>,
    pub past: Vec<DayIncidents>,
    pub history_days: u32,
    pub uptime_days: u32,
    pub history_url: String,
}

impl StatusView {
    fn new(snapshot: &Snapshot, links: &Links) -> Self {
        let sections = snapshot
            .sections
            .iter()
            .map(|section| SectionView {
                name: section.name.clone(),
                components: section
                    .component_ids
                    .iter()
                    .filter_map(|id| snapshot.components.iter().find(|c| c.id == *id))
                    .map(|c| ComponentView::of(snapshot, c))
                    .collect(),
            })
            .collect();
        let since =
            snapshot.built_at - chrono::TimeDelta::days(i64::from(snapshot.page.history_days));
        let past = closed(snapshot)
            .into_iter()
            .filter(|i| i.incident.resolved_at.unwrap_or(i.incident.started_at) >= since);
        Self {
            chrome: Chrome {
                refresh: true,
                ..Chrome::of(snapshot, links, snapshot.page.title.clone())
            },
            description: snapshot.page.description.clone(),
            banner: StatusBadge::overall(snapshot.overall),
            sections,
            active: snapshot
                .incidents
                .iter()
                .filter(|i| !i.incident.status.is_closed())
                .map(|i| IncidentView::of(snapshot, links, i))
                .collect(),
            maintenance: snapshot
                .maintenances
                .iter()
                .filter(|m| m.state != State::Completed)
                .map(|m| MaintenanceView::of(snapshot, m))
                .collect(),
            past: by_day(snapshot, links, past),
            history_days: snapshot.page.history_days,
            uptime_days: snapshot.page.uptime_days,
            history_url: links.history(1),
        }
    }
}

/// `GET /status/{slug}/incidents/{id}`.
#[derive(Template)]
#[template(path = "status/incident.html")]
pub struct IncidentPageView {
    pub chrome: Chrome,
    pub incident: IncidentView,
}

impl IncidentPageView {
    fn new(snapshot: &Snapshot, links: &Links, incident: &PageIncident) -> Self {
        let view = IncidentView::of(snapshot, links, incident);
        Self {
            chrome: Chrome {
                refresh: true,
                ..Chrome::of(
                    snapshot,
                    links,
                    format!("{} - {}", view.name, snapshot.page.title),
                )
            },
            incident: view,
        }
    }
}

/// `GET /status/{slug}/history?page=N`.
#[derive(Template)]
#[template(path = "status/history.html")]
pub struct HistoryView {
    pub chrome: Chrome,
    pub days: Vec<DayIncidents>,
    pub number: usize,
    pub newer: Option<String>,
    pub older: Option<String>,
}

impl HistoryView {
    /// Page `number` of the history; None past its end.
    fn new(snapshot: &Snapshot, links: &Links, number: usize) -> Option<Self> {
        let closed = closed(snapshot);
        let pages = closed.len().div_ceil(HISTORY_PAGE_SIZE).max(1);
        if number == 0 || number > pages {
            return None;
        }
        let start = (number - 1) * HISTORY_PAGE_SIZE;
        let shown = closed.into_iter().skip(start).take(HISTORY_PAGE_SIZE);
        Some(Self {
            chrome: Chrome::of(
                snapshot,
                links,
                format!("Incident history - {}", snapshot.page.title),
            ),
            days: by_day(snapshot, links, shown),
            number,
            newer: (number > 1).then(|| links.history(number - 1)),
            older: (number < pages).then(|| links.history(number + 1)),
        })
    }
}

/// The plain page of a [`ViewError`].
#[derive(Template)]
#[template(path = "status/error.html")]
pub struct ErrorView {
    pub chrome: Chrome,
    pub message: String,
    pub advice: &'static str,
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_without_trailing_zeros() {
        assert_eq!(percent_text(100.0), "100 %");
        assert_eq!(percent_text(99.9), "99.9 %");
        assert_eq!(percent_text(99.954), "99.95 %");
        assert_eq!(percent_text(0.0), "0 %");
    }

    #[test]
    fn a_day_is_coloured_by_its_uptime() {
        assert_eq!(uptime_class(100.0), "ok");
        assert_eq!(uptime_class(99.9), "ok");
        assert_eq!(uptime_class(99.5), "minor");
        assert_eq!(uptime_class(97.0), "major");
        assert_eq!(uptime_class(50.0), "critical");
    }

    #[test]
    fn links_follow_the_routes_under_a_slug_and_on_a_custom_domain() {
        let id = Uuid::nil();
        let slug = Links::by_slug("acme");
        assert_eq!(slug.page(), "/status/acme");
        assert_eq!(slug.history(1), "/status/acme/history");
        assert_eq!(slug.history(3), "/status/acme/history?page=3");
        assert_eq!(slug.incident(id), format!("/status/acme/incidents/{id}"));
        let host = Links::by_host();
        assert_eq!(host.page(), "/");
        assert_eq!(host.history(2), "/history?page=2");
        assert_eq!(host.incident(id), format!("/incidents/{id}"));
    }
}
