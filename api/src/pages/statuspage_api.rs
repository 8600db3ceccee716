//! Statuspage API v2 compatible JSON under `/status/{slug}/api/v2/`: the
//! same documents, field names and values as Atlassian's public API, so
//! existing Statuspage clients read our pages unchanged. Every body is
//! rendered once per snapshot (see [`super::snapshot`]) with its ETag;
//! requests only pick one.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use shared::maintenance::State;
use shared::model::status_incident::{IncidentStatus, IncidentUpdate};
use uuid::Uuid;

use super::snapshot::{
    PageComponent, PageIncident, PageMaintenance, Snapshot, Store, RECENT_INCIDENTS,
};
use super::Rendered;
use crate::startup::AppState;
use shared::model::status_page::is_valid_slug;

/// How long clients and proxies may reuse a document: short, so a page in
/// trouble shows it within seconds, yet a storm of readers is served by
/// caches (the snapshot itself is at most a few seconds old).
pub const MAX_AGE_SECONDS: u32 = 10;

/// The documents, by their path under `/api/v2/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Summary,
    Status,
    Components,
    Incidents,
    UnresolvedIncidents,
    ScheduledMaintenances,
    UpcomingMaintenances,
    ActiveMaintenances,
}

impl Document {
    pub const ALL: [Document; 8] = [
        Document::Summary,
        Document::Status,
        Document::Components,
        Document::Incidents,
        Document::UnresolvedIncidents,
        Document::ScheduledMaintenances,
        Document::UpcomingMaintenances,
        Document::ActiveMaintenances,
    ];

    /// The path under `/api/v2/`.
    pub fn path(self) -> &'static str {
        match self {
            Document::Summary => "summary.json",
            Document::Status => "status.json",
            Document::Components => "components.json",
            Document::Incidents => "incidents.json",
            Document::UnresolvedIncidents => "incidents/unresolved.json",
            Document::ScheduledMaintenances => "scheduled-maintenances.json",
            Document::UpcomingMaintenances => "scheduled-maintenances/upcoming.json",
            Document::ActiveMaintenances => "scheduled-maintenances/active.json",
        }
    }

    fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.path() == path)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Every document of one page, rendered.
#[derive(Debug)]
pub struct Documents {
    rendered: Vec<Rendered>,
}

impl Documents {
    /// Renders every document of `snapshot`.
    pub fn render(snapshot: &Snapshot) -> serde_json::Result<Self> {
        let rendered = Document::ALL
            .into_iter()
            .map(|document| Ok(Rendered::new(body(snapshot, document)?)))
            .collect::<serde_json::Result<_>>()?;
        Ok(Self { rendered })
    }

    /// One rendered document.
    pub fn get(&self, document: Document) -> &Rendered {
        &self.rendered[document.index()]
    }
}

/// Registers `/status/{slug}/api/v2/...`, and `/api/v2/...` for a request
/// whose Host is a published page's custom domain.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/status/{slug}/api/v2/{document:.+}").route(web::get().to(document)),
    )
    .service(web::resource("/api/v2/{document:.+}").route(web::get().to(document_by_host)));
}

/// Why a document is not served.
#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    #[error("There is no published status page here.")]
    NotFound,
    #[error(
        "The status page is starting and cannot be shown yet. Please try again in a few seconds."
    )]
    Unavailable,
}

impl ResponseError for PublicError {
    fn status_code(&self) -> StatusCode {
        match self {
            PublicError::NotFound => StatusCode::NOT_FOUND,
            PublicError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            PublicError::NotFound => "not_found",
            PublicError::Unavailable => "unavailable",
        };
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if matches!(self, PublicError::Unavailable) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.json(serde_json::json!({"error": code, "message": self.to_string()}))
    }
}

/// `GET /status/{slug}/api/v2/{document}`.
#[tracing::instrument(skip_all, fields(slug = %path.0))]
async fn document(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let (slug, name) = path.into_inner();
    if !is_valid_slug(&slug) {
        return Err(PublicError::NotFound);
    }
    let document = Document::from_path(&name).ok_or(PublicError::NotFound)?;
    serve(&state.status_pages, Page::Slug(&slug), document, &request)
}

/// `GET /api/v2/{document}` on a page's custom domain.
#[tracing::instrument(skip_all)]
async fn document_by_host(
    state: web::Data<AppState>,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let document = Document::from_path(&path).ok_or(PublicError::NotFound)?;
    let host = request.connection_info().host().to_owned();
    serve(&state.status_pages, Page::Host(&host), document, &request)
}

/// How a request names its page.
#[derive(Debug, Clone, Copy)]
pub enum Page<'a> {
    Slug(&'a str),
    /// The Host header, for custom domains.
    Host(&'a str),
}

/// Answers `document` of `page` from the latest snapshot.
pub fn serve(
    store: &Store,
    page: Page<'_>,
    document: Document,
    request: &HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let published = store.published();
    if published.built_at.is_none() {
        return Err(PublicError::Unavailable);
    }
    let page = match page {
        Page::Slug(slug) => published.by_slug.get(slug),
        Page::Host(host) => published.by_host(host),
    }
    .ok_or(PublicError::NotFound)?;
    let rendered = page.documents.get(document);
    Ok(super::conditional(
        request,
        rendered,
        "application/json",
        MAX_AGE_SECONDS,
        |_| {},
    ))
}

/// A time as Statuspage writes it: ISO 8601, milliseconds, with offset.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` signature
fn time<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[allow(clippy::ref_option)] // serde's `serialize_with` signature
fn optional_time<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => time(at, s),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct V2Page<'a> {
    id: Uuid,
    name: &'a str,
    url: String,
    time_zone: &'static str,
    #[serde(serialize_with = "time")]
    updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct V2Status {
    indicator: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct V2Component<'a> {
    id: Uuid,
    name: &'a str,
    status: &'static str,
    #[serde(serialize_with = "time")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    updated_at: DateTime<Utc>,
    position: usize,
    description: Option<&'a str>,
    showcase: bool,
    start_date: Option<NaiveDate>,
    group_id: Option<Uuid>,
    page_id: Uuid,
    group: bool,
    only_show_if_degraded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<&'a [Uuid]>,
}

#[derive(Serialize)]
struct V2AffectedComponent<'a> {
    code: Uuid,
    name: &'a str,
    old_status: &'static str,
    new_status: &'static str,
}

#[derive(Serialize)]
struct V2Update<'a> {
    id: String,
    status: &'static str,
    body: &'a str,
    incident_id: Uuid,
    #[serde(serialize_with = "time")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    updated_at: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    display_at: DateTime<Utc>,
    affected_components: Option<Vec<V2AffectedComponent<'a>>>,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
}

#[derive(Serialize)]
struct V2Incident<'a> {
    id: Uuid,
    name: &'a str,
    status: &'static str,
    impact: &'static str,
    #[serde(serialize_with = "time")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    updated_at: DateTime<Utc>,
    #[serde(serialize_with = "optional_time")]
    monitoring_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "optional_time")]
    resolved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "optional_time")]
    started_at: Option<DateTime<Utc>>,
    shortlink: String,
    page_id: Uuid,
    incident_updates: Vec<V2Update<'a>>,
    components: Vec<V2Component<'a>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_time"
    )]
    scheduled_for: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_time"
    )]
    scheduled_until: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct StatusDocument<'a> {
    page: V2Page<'a>,
    status: V2Status,
}

#[derive(Serialize)]
struct SummaryDocument<'a> {
    page: V2Page<'a>,
    components: Vec<V2Component<'a>>,
    incidents: Vec<V2Incident<'a>>,
    scheduled_maintenances: Vec<V2Incident<'a>>,
    status: V2Status,
}

#[derive(Serialize)]
struct ComponentsDocument<'a> {
    page: V2Page<'a>,
    components: Vec<V2Component<'a>>,
}

#[derive(Serialize)]
struct IncidentsDocument<'a> {
    page: V2Page<'a>,
    incidents: Vec<V2Incident<'a>>,
}

#[derive(Serialize)]
struct MaintenancesDocument<'a> {
    page: V2Page<'a>,
    scheduled_maintenances: Vec<V2Incident<'a>>,
}

/// The JSON body of `document`.
fn body(snapshot: &Snapshot, document: Document) -> serde_json::Result<Vec<u8>> {
    let page = || page(snapshot);
    let status = || V2Status {
        indicator: snapshot.overall.indicator(),
        description: snapshot.overall.description(),
    };
    let incidents = |open_only: bool| -> Vec<V2Incident<'_>> {
        snapshot
            .incidents
            .iter()
            .filter(|i| !open_only || !i.incident.status.is_closed())
            .take(usize::try_from(RECENT_INCIDENTS).unwrap_or(usize::MAX))
            .map(|i| incident(snapshot, i))
            .collect()
    };
    let maintenances = |keep: &dyn Fn(State) -> bool| -> Vec<V2Incident<'_>> {
        snapshot
            .maintenances
            .iter()
            .filter(|m| keep(m.state))
            .take(usize::try_from(RECENT_INCIDENTS).unwrap_or(usize::MAX))
            .map(|m| maintenance(snapshot, m))
            .collect()
    };
    match document {
        Document::Status => serde_json::to_vec(&StatusDocument {
            page: page(),
            status: status(),
        }),
        Document::Summary => serde_json::to_vec(&SummaryDocument {
            page: page(),
            components: components(snapshot),
            incidents: incidents(true),
            scheduled_maintenances: maintenances(&|s| s != State::Completed),
            status: status(),
        }),
        Document::Components => serde_json::to_vec(&ComponentsDocument {
            page: page(),
            components: components(snapshot),
        }),
        Document::Incidents => serde_json::to_vec(&IncidentsDocument {
            page: page(),
            incidents: incidents(false),
        }),
        Document::UnresolvedIncidents => serde_json::to_vec(&IncidentsDocument {
            page: page(),
            incidents: incidents(true),
        }),
        Document::ScheduledMaintenances => serde_json::to_vec(&MaintenancesDocument {
            page: page(),
            scheduled_maintenances: maintenances(&|_| true),
        }),
        Document::UpcomingMaintenances => serde_json::to_vec(&MaintenancesDocument {
            page: page(),
            scheduled_maintenances: maintenances(&|s| s == State::Scheduled),
        }),
        Document::ActiveMaintenances => serde_json::to_vec(&MaintenancesDocument {
            page: page(),
            scheduled_maintenances: maintenances(&|s| s == State::InProgress),
        }),
    }
}

fn page(snapshot: &Snapshot) -> V2Page<'_> {
    V2Page {
        id: snapshot.page.id,
        name: &snapshot.page.title,
        url: snapshot.url(),
        time_zone: "Etc/UTC",
        updated_at: snapshot.updated_at,
    }
}

fn components(snapshot: &Snapshot) -> Vec<V2Component<'_>> {
    snapshot
        .components
        .iter()
        .enumerate()
        .map(|(index, c)| component(snapshot, c, index + 1))
        .collect()
}

fn component<'a>(snapshot: &'a Snapshot, c: &'a PageComponent, position: usize) -> V2Component<'a> {
    V2Component {
        id: c.id,
        name: &c.name,
        status: c.status.as_str(),
        created_at: c.created_at,
        updated_at: c.updated_at.max(c.status_changed_at),
        position,
        description: c.description.as_deref(),
        showcase: !c.group,
        start_date: Some(c.created_at.date_naive()),
        group_id: c.group_id,
        page_id: snapshot.page.id,
        group: c.group,
        only_show_if_degraded: false,
        components: c.group.then_some(c.children.as_slice()),
    }
}

/// The page's component objects for `ids` (already in page order).
fn components_of<'a>(snapshot: &'a Snapshot, ids: &[Uuid]) -> Vec<V2Component<'a>> {
    snapshot
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| ids.contains(&c.id))
        .map(|(index, c)| component(snapshot, c, index + 1))
        .collect()
}

fn incident<'a>(snapshot: &'a Snapshot, i: &'a PageIncident) -> V2Incident<'a> {
    let monitoring_at = i
        .updates
        .iter()
        .filter(|u| u.status == IncidentStatus::Monitoring)
        .map(|u| u.display_at)
        .min();
    let updated_at = i
        .updates
        .iter()
        .map(|u| u.edited_at.unwrap_or(u.created_at))
        .fold(i.incident.updated_at, DateTime::max);
    V2Incident {
        id: i.incident.id,
        name: &i.incident.name,
        status: i.incident.status.as_str(),
        impact: i.incident.impact.as_str(),
        created_at: i.incident.created_at,
        updated_at,
        monitoring_at,
        resolved_at: i.incident.resolved_at,
        started_at: Some(i.incident.started_at),
        shortlink: format!("{}/incidents/{}", snapshot.url(), i.incident.id),
        page_id: snapshot.page.id,
        incident_updates: i
            .updates
            .iter()
            .enumerate()
            .map(|(index, u)| update(snapshot, u, &i.updates[index + 1..]))
            .collect(),
        components: components_of(snapshot, &i.component_ids),
        scheduled_for: None,
        scheduled_until: None,
    }
}

/// An update; `older` are the updates before it, newest first, for the
/// components' old statuses.
fn update<'a>(
    snapshot: &'a Snapshot,
    u: &'a IncidentUpdate,
    older: &[IncidentUpdate],
) -> V2Update<'a> {
    let affected: Vec<V2AffectedComponent<'a>> = snapshot
        .components
        .iter()
        .filter_map(|c| {
            let new = u.component_statuses.get(&c.id)?;
            let old = older
                .iter()
                .find_map(|o| o.component_statuses.get(&c.id))
                .map_or("operational", |s| s.as_str());
            Some(V2AffectedComponent {
                code: c.id,
                name: &c.name,
                old_status: old,
                new_status: new.as_str(),
            })
        })
        .collect();
    V2Update {
        id: u.id.to_string(),
        status: u.status.as_str(),
        body: u.body.as_deref().unwrap_or_default(),
        incident_id: u.incident_id,
        created_at: u.created_at,
        updated_at: u.edited_at.unwrap_or(u.created_at),
        display_at: u.display_at,
        affected_components: (!affected.is_empty()).then_some(affected),
        deliver_notifications: false,
        custom_tweet: None,
        tweet_id: None,
    }
}

/// A maintenance window's occurrence as a Statuspage scheduled maintenance.
fn maintenance<'a>(snapshot: &'a Snapshot, m: &'a PageMaintenance) -> V2Incident<'a> {
    let status = match m.state {
        State::Scheduled => "scheduled",
        State::InProgress => "in_progress",
        State::Completed => "completed",
    };
    let occurrence = m.occurrence;
    let started_at = match m.state {
        State::Scheduled => None,
        State::InProgress | State::Completed => occurrence.map(|o| o.starts_at),
    };
    let resolved_at = match m.state {
        State::Completed => occurrence.map(|o| o.ends_at),
        State::Scheduled | State::InProgress => None,
    };
    // Windows have no timeline; one update states where it stands.
    let shown_at = started_at.unwrap_or(m.window.updated_at);
    let at = resolved_at.unwrap_or(shown_at);
    let text = m.window.description.as_deref().unwrap_or(&m.window.title);
    V2Incident {
        id: m.window.id,
        name: &m.window.title,
        status,
        impact: "maintenance",
        created_at: m.window.created_at,
        updated_at: m.window.updated_at.max(at),
        monitoring_at: None,
        resolved_at,
        started_at,
        shortlink: format!("{}#maintenance-{}", snapshot.url(), m.window.id),
        page_id: snapshot.page.id,
        incident_updates: vec![V2Update {
            id: format!("{}-{status}", m.window.id),
            status,
            body: text,
            incident_id: m.window.id,
            created_at: at,
            updated_at: at,
            display_at: at,
            affected_components: None,
            deliver_notifications: false,
            custom_tweet: None,
            tweet_id: None,
        }],
        components: components_of(snapshot, &m.component_ids),
        scheduled_for: occurrence.map(|o| o.starts_at),
        scheduled_until: occurrence.map(|o| o.ends_at),
    }
}
