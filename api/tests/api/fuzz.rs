//! A bounded fuzz run over every route: hostile bodies, query strings,
//! cursors, path ids and headers from a seeded generator, then everything the
//! API accepted read back through every GET route; and rounds of requests
//! racing on linked resources. No answer may be a 5xx or take longer than
//! [`REQUEST_TIMEOUT`], and every 4xx must carry the JSON error shape.
//! Failures are collected and reported together, each with its request id
//! (the server logs a 5xx under it).
//!
//! The seed is fixed ([`DEFAULT_SEED`]), so every run of the suite sends the
//! same requests; `FUZZ_SEED=<n>` (decimal or 0x-hex) runs another sequence,
//! or replays one a failure report names. Each route draws from its own
//! generator (the seed mixed with the route), so adding a route leaves the
//! requests of the others unchanged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app_with, TestApp, ADMIN_KEY};

/// Requests sent to each route: about 4,600 in all (with the schedule and
/// public routes'), some 11 s on two cores.
const REQUESTS_PER_ROUTE: usize = 60;
/// Requests sent to each route whose body carries a maintenance schedule:
/// most never reach the schedule engine (credentials, content types,
/// broken bodies), and they are cheap.
const SCHEDULE_REQUESTS_PER_ROUTE: usize = 4 * REQUESTS_PER_ROUTE;
/// Requests sent to each public page, document, feed or badge route: no
/// body, few parameters, answered from memory.
const PUBLIC_REQUESTS_PER_ROUTE: usize = REQUESTS_PER_ROUTE / 2;
/// An answer slower than this counts as a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The seed unless FUZZ_SEED names another.
const DEFAULT_SEED: u64 = 20_250_601;
/// Targets live under the reserved `.invalid` top-level domain: they never
/// resolve, so nothing the run creates reaches the network.
const NOWHERE: &str = "uptime-fuzz.invalid";
/// Deliveries and pings go to names under [`NOWHERE`], which fail at the
/// name lookup; the short timeouts bound a resolver that stalls instead.
const NO_NETWORK: &[(&str, &str)] = &[
    ("TELEGRAM_API_URL", "https://telegram.uptime-fuzz.invalid"),
    ("WEBHOOK_TIMEOUT_SECONDS", "1"),
    ("DEFAULT_CHECK_TIMEOUT_SECONDS", "1"),
];
const TELEGRAM_TOKEN: &str = "123456789:AAEhBP0av28Qr6P5Xx-1234567890abcdefgh";

/// What the `{id}` of a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    None,
    Monitor,
    Channel,
    ApiKey,
    Incident,
    Event,
    Asset,
    Component,
    StatusIncident,
    /// The `{updateId}` beside a status incident's `{id}`.
    IncidentUpdate,
    MaintenanceWindow,
    StatusPage,
    /// A status page's slug.
    PageSlug,
    /// A status page's custom domain, named by the Host header (the path
    /// has no id).
    PageHost,
}

/// The body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Monitor,
    MonitorPatch,
    Channel,
    ChannelPatch,
    ApiKey,
    Ping,
    Component,
    ComponentPatch,
    ComponentStatus,
    StatusIncident,
    StatusIncidentPatch,
    IncidentUpdate,
    IncidentUpdateEdit,
    MaintenanceWindow,
    MaintenanceWindowPatch,
    StatusPage,
    StatusPagePatch,
}

impl Body {
    /// Whether the valid bodies of this kind carry edge values worth
    /// sending untouched (times, schedules, limits), so that they reach the
    /// database and the schedule engine rather than the validator only.
    fn has_edges(self) -> bool {
        matches!(
            self,
            Body::Component
                | Body::ComponentPatch
                | Body::ComponentStatus
                | Body::StatusIncident
                | Body::StatusIncidentPatch
                | Body::IncidentUpdate
                | Body::MaintenanceWindow
                | Body::MaintenanceWindowPatch
                | Body::StatusPage
                | Body::StatusPagePatch
        )
    }
}

/// What a cursor encodes.
#[derive(Debug, Clone, Copy)]
enum Position {
    Uuid,
    Number,
    Time,
    /// A status incident's place in its list: `startedAt|id`.
    Place,
}

/// A query parameter a route reads, by the values it takes.
#[derive(Debug, Clone, Copy)]
enum Param {
    Limit,
    /// A count from 1, such as a page number.
    Number(&'static str),
    Cursor(Position),
    Time(&'static str),
    Bool(&'static str),
    Uuid(&'static str),
    Text(&'static str),
    OneOf(&'static str, &'static [&'static str]),
}

struct Route {
    method: &'static str,
    path: &'static str,
    id: Id,
    params: &'static [Param],
    body: Body,
}

const fn route(
    method: &'static str,
    path: &'static str,
    id: Id,
    params: &'static [Param],
    body: Body,
) -> Route {
    Route {
        method,
        path,
        id,
        params,
        body,
    }
}

const MONITOR_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::OneOf("type", &["http", "keyword", "tcp", "dns", "tls"]),
    Param::Bool("enabled"),
    Param::OneOf("status", &["unknown", "up", "down", "degraded", "paused"]),
    Param::Text("tag"),
    Param::Text("search"),
];
const CHANNEL_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::OneOf(
        "type",
        &["webhook", "slack", "discord", "teams", "telegram"],
    ),
    Param::Bool("enabled"),
];
const KEY_LIST: &[Param] = &[Param::Limit, Param::Cursor(Position::Uuid)];
const AUDIT_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Number),
    Param::Text("entityType"),
    Param::Text("entityId"),
    Param::Text("actor"),
    Param::Text("action"),
    Param::Time("from"),
    Param::Time("to"),
];
const INCIDENT_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::Bool("open"),
    Param::Uuid("monitorId"),
    Param::Time("from"),
    Param::Time("to"),
];
const RESULTS: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Time),
    Param::Bool("open"),
];
const MONITOR_INCIDENTS: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::Bool("open"),
];
const UPTIME: &[Param] = &[Param::OneOf("period", &["24h", "7d", "30d", "90d", "365d"])];
const DELIVERIES: &[Param] = &[Param::Limit, Param::Cursor(Position::Number)];
/// `wait=true` holds the answer for up to the check timeout plus the lease
/// margin by design (no worker runs here); only its other values are sent.
const CHECK_NOW: &[Param] = &[Param::OneOf("wait", &["false"])];
/// What a component shows (and what an incident or an operator sets).
const COMPONENT_STATUSES: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const COMPONENT_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::Uuid("groupId"),
    Param::Bool("group"),
    Param::OneOf("status", COMPONENT_STATUSES),
    Param::Uuid("monitorId"),
];
const COMPONENT_HISTORY: &[Param] = &[Param::Limit, Param::Cursor(Position::Number)];
const STATUS_CHANGES: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Number),
    Param::Uuid("componentId"),
    Param::OneOf("source", &["automatic", "manual", "maintenance"]),
    Param::Time("from"),
    Param::Time("to"),
];
const STATUS_INCIDENT_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Place),
    Param::Bool("open"),
    Param::Uuid("componentId"),
    Param::Time("from"),
    Param::Time("to"),
];
const MAINTENANCE_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::OneOf("state", &["scheduled", "in_progress", "completed"]),
    Param::Time("from"),
    Param::Time("to"),
];
const STATUS_PAGE_LIST: &[Param] = &[
    Param::Limit,
    Param::Cursor(Position::Uuid),
    Param::Bool("published"),
];
/// The second id of a status incident update's path.
const UPDATE_ID: &str = "{updateId}";
/// The status incident of a public status page path.
const INCIDENT_ID: &str = "{incidentId}";
/// Second ids of a path, by placeholder, with what they name.
const SECOND_IDS: &[(&str, Id)] = &[
    (UPDATE_ID, Id::IncidentUpdate),
    (INCIDENT_ID, Id::StatusIncident),
];
/// The document of a public status page path.
const DOCUMENT: &str = "{document}";
/// The file of a badge path.
const BADGE: &str = "{badge}";
/// Parts of a path that name no resource, by placeholder: the values the
/// API serves and some it does not.
const PARTS: &[(&str, &[&str], &[&str])] = &[
    (DOCUMENT, DOCUMENTS, HOSTILE_DOCUMENTS),
    (BADGE, BADGES, HOSTILE_BADGES),
];
const BADGES: &[&str] = &[
    "status.svg",
    "uptime.svg",
    "response-time.svg",
    "cert-expiry.svg",
];
const HOSTILE_BADGES: &[&str] = &[
    "status",
    "STATUS.svg",
    "status.png",
    "status.svg%00",
    "..%2Fstatus.svg",
    "status.svg/",
    "%F0%9F%98%80.svg",
];
const BADGE_QUERY: &[Param] = &[
    Param::Text("label"),
    Param::OneOf(
        "style",
        &["flat", "flat-square", "plastic", "for-the-badge", "social"],
    ),
    Param::OneOf("period", &["24h", "7d", "30d", "90d"]),
];
const HISTORY: &[Param] = &[Param::Number("page")];
const SERIES: &[Param] = &[Param::OneOf("period", &["1h", "24h", "7d", "30d", "90d"])];
const DAILY: &[Param] = &[Param::Number("days")];
const STATS: &[Param] = &[Param::Uuid("ids"), Param::Text("ids")];
const SLA: &[Param] = &[
    Param::OneOf("period", &["month", "quarter", "year"]),
    Param::OneOf("month", &["2026-11", "2026-13", "0000-01", "9999-12"]),
    Param::OneOf("quarter", &["2026-Q4", "2026-Q5", "1969-Q1"]),
    Param::OneOf("year", &["2026", "1", "99999"]),
    Param::Time("from"),
    Param::Time("to"),
];
/// The Statuspage v2 documents a published page serves.
const DOCUMENTS: &[&str] = &[
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];
/// Documents no page serves (already percent-encoded where they need to be).
const HOSTILE_DOCUMENTS: &[&str] = &[
    "summary",
    "SUMMARY.json",
    "summary.json/",
    "summary.json%00",
    "summary.json;x",
    "..%2Fsummary.json",
    "incidents/../summary.json",
    "incidents%2Funresolved.json",
    "scheduled-maintenances/upcoming.json/extra",
    "%F0%9F%98%80.json",
    "a/b/c/d/e/f/g/h/i/j",
];

/// Every route the API serves, from the `configure` functions of
/// api/src/routes/*.rs and api/src/pages/*.rs. Add a new route here.
const ROUTES: &[Route] = &[
    route("GET", "/health", Id::None, &[], Body::None),
    route("GET", "/health-check", Id::None, &[], Body::None),
    route("GET", "/metrics", Id::None, &[], Body::None),
    route("POST", "/ping-endpoint", Id::None, &[], Body::Ping),
    route("GET", "/workers", Id::None, &[], Body::None),
    route("GET", "/assets/{id}", Id::Asset, &[], Body::None),
    route(
        "GET",
        "/api/v1/monitors",
        Id::None,
        MONITOR_LIST,
        Body::None,
    ),
    route("POST", "/api/v1/monitors", Id::None, &[], Body::Monitor),
    route(
        "POST",
        "/api/v1/monitors/test",
        Id::None,
        &[],
        Body::Monitor,
    ),
    route("GET", "/api/v1/me", Id::None, &[], Body::None),
    route("GET", "/api/v1/monitor-stats", Id::None, STATS, Body::None),
    route(
        "GET",
        "/api/v1/monitors/{id}/series",
        Id::Monitor,
        SERIES,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/monitors/{id}/uptime/daily",
        Id::Monitor,
        DAILY,
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/maintenance-windows/preview",
        Id::None,
        &[],
        Body::MaintenanceWindow,
    ),
    route("GET", "/api/v1/sla/reports", Id::None, SLA, Body::None),
    route("GET", "/", Id::None, &[], Body::None),
    route("GET", "/api/v1/monitors/{id}", Id::Monitor, &[], Body::None),
    route(
        "PUT",
        "/api/v1/monitors/{id}",
        Id::Monitor,
        &[],
        Body::Monitor,
    ),
    route(
        "PATCH",
        "/api/v1/monitors/{id}",
        Id::Monitor,
        &[],
        Body::MonitorPatch,
    ),
    route(
        "DELETE",
        "/api/v1/monitors/{id}",
        Id::Monitor,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/monitors/{id}/pause",
        Id::Monitor,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/monitors/{id}/resume",
        Id::Monitor,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/monitors/{id}/check-now",
        Id::Monitor,
        CHECK_NOW,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/monitors/{id}/results",
        Id::Monitor,
        RESULTS,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/monitors/{id}/uptime",
        Id::Monitor,
        UPTIME,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/monitors/{id}/incidents",
        Id::Monitor,
        MONITOR_INCIDENTS,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/channels",
        Id::None,
        CHANNEL_LIST,
        Body::None,
    ),
    route("POST", "/api/v1/channels", Id::None, &[], Body::Channel),
    route("GET", "/api/v1/channels/{id}", Id::Channel, &[], Body::None),
    route(
        "PUT",
        "/api/v1/channels/{id}",
        Id::Channel,
        &[],
        Body::Channel,
    ),
    route(
        "PATCH",
        "/api/v1/channels/{id}",
        Id::Channel,
        &[],
        Body::ChannelPatch,
    ),
    route(
        "DELETE",
        "/api/v1/channels/{id}",
        Id::Channel,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/channels/{id}/deliveries",
        Id::Channel,
        DELIVERIES,
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/channels/{id}/test",
        Id::Channel,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/notification-events/{id}/redeliver",
        Id::Event,
        &[],
        Body::None,
    ),
    route("GET", "/api/v1/api-keys", Id::None, KEY_LIST, Body::None),
    route("POST", "/api/v1/api-keys", Id::None, &[], Body::ApiKey),
    route("GET", "/api/v1/api-keys/{id}", Id::ApiKey, &[], Body::None),
    route(
        "DELETE",
        "/api/v1/api-keys/{id}",
        Id::ApiKey,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/audit-logs",
        Id::None,
        AUDIT_LIST,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/incidents",
        Id::None,
        INCIDENT_LIST,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/incidents/{id}",
        Id::Incident,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/components",
        Id::None,
        COMPONENT_LIST,
        Body::None,
    ),
    route("POST", "/api/v1/components", Id::None, &[], Body::Component),
    route(
        "GET",
        "/api/v1/components/{id}",
        Id::Component,
        &[],
        Body::None,
    ),
    route(
        "PUT",
        "/api/v1/components/{id}",
        Id::Component,
        &[],
        Body::Component,
    ),
    route(
        "PATCH",
        "/api/v1/components/{id}",
        Id::Component,
        &[],
        Body::ComponentPatch,
    ),
    route(
        "DELETE",
        "/api/v1/components/{id}",
        Id::Component,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/components/{id}/status",
        Id::Component,
        &[],
        Body::ComponentStatus,
    ),
    route(
        "GET",
        "/api/v1/components/{id}/history",
        Id::Component,
        COMPONENT_HISTORY,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/status-changes",
        Id::None,
        STATUS_CHANGES,
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/status-incidents",
        Id::None,
        STATUS_INCIDENT_LIST,
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/status-incidents",
        Id::None,
        &[],
        Body::StatusIncident,
    ),
    route(
        "GET",
        "/api/v1/status-incidents/{id}",
        Id::StatusIncident,
        &[],
        Body::None,
    ),
    route(
        "PATCH",
        "/api/v1/status-incidents/{id}",
        Id::StatusIncident,
        &[],
        Body::StatusIncidentPatch,
    ),
    route(
        "DELETE",
        "/api/v1/status-incidents/{id}",
        Id::StatusIncident,
        &[],
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/status-incidents/{id}/updates",
        Id::StatusIncident,
        &[],
        Body::IncidentUpdate,
    ),
    route(
        "GET",
        "/api/v1/status-incidents/{id}/updates/{updateId}",
        Id::StatusIncident,
        &[],
        Body::None,
    ),
    route(
        "PATCH",
        "/api/v1/status-incidents/{id}/updates/{updateId}",
        Id::StatusIncident,
        &[],
        Body::IncidentUpdateEdit,
    ),
    route(
        "GET",
        "/api/v1/maintenance-windows",
        Id::None,
        MAINTENANCE_LIST,
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/maintenance-windows",
        Id::None,
        &[],
        Body::MaintenanceWindow,
    ),
    route(
        "GET",
        "/api/v1/maintenance-windows/{id}",
        Id::MaintenanceWindow,
        &[],
        Body::None,
    ),
    route(
        "PATCH",
        "/api/v1/maintenance-windows/{id}",
        Id::MaintenanceWindow,
        &[],
        Body::MaintenanceWindowPatch,
    ),
    route(
        "DELETE",
        "/api/v1/maintenance-windows/{id}",
        Id::MaintenanceWindow,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/api/v1/status-pages",
        Id::None,
        STATUS_PAGE_LIST,
        Body::None,
    ),
    route(
        "POST",
        "/api/v1/status-pages",
        Id::None,
        &[],
        Body::StatusPage,
    ),
    route(
        "GET",
        "/api/v1/status-pages/{id}",
        Id::StatusPage,
        &[],
        Body::None,
    ),
    route(
        "PUT",
        "/api/v1/status-pages/{id}",
        Id::StatusPage,
        &[],
        Body::StatusPage,
    ),
    route(
        "PATCH",
        "/api/v1/status-pages/{id}",
        Id::StatusPage,
        &[],
        Body::StatusPagePatch,
    ),
    route(
        "DELETE",
        "/api/v1/status-pages/{id}",
        Id::StatusPage,
        &[],
        Body::None,
    ),
    route("GET", "/api/v1/workers/status", Id::None, &[], Body::None),
    route(
        "GET",
        "/status/{id}/api/v2/{document}",
        Id::PageSlug,
        &[],
        Body::None,
    ),
    route("GET", "/api/v2/{document}", Id::PageHost, &[], Body::None),
    route("GET", "/status/{id}", Id::PageSlug, &[], Body::None),
    route(
        "GET",
        "/status/{id}/history",
        Id::PageSlug,
        HISTORY,
        Body::None,
    ),
    route(
        "GET",
        "/status/{id}/incidents/{incidentId}",
        Id::PageSlug,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/status/{id}/feed.atom",
        Id::PageSlug,
        &[],
        Body::None,
    ),
    route(
        "GET",
        "/status/{id}/feed.rss",
        Id::PageSlug,
        &[],
        Body::None,
    ),
    route("GET", "/", Id::PageHost, &[], Body::None),
    route("GET", "/history", Id::PageHost, HISTORY, Body::None),
    route(
        "GET",
        "/incidents/{incidentId}",
        Id::PageHost,
        &[],
        Body::None,
    ),
    route("GET", "/feed.atom", Id::PageHost, &[], Body::None),
    route("GET", "/feed.rss", Id::PageHost, &[], Body::None),
    route(
        "GET",
        "/badge/component/{id}/{badge}",
        Id::Component,
        BADGE_QUERY,
        Body::None,
    ),
    route(
        "GET",
        "/badge/monitor/{id}/{badge}",
        Id::Monitor,
        BADGE_QUERY,
        Body::None,
    ),
];

// Two workers: the app's background tasks (the status pages' snapshot
// rebuilds, on every change) run on this runtime and would otherwise hold
// up the requests between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_hostile_requests_without_a_server_error() {
    let seed = seed();
    println!("fuzz seed {seed} (FUZZ_SEED={seed} replays this run)");
    let app = spawn_app_with(NO_NETWORK).await;
    let started = Instant::now();
    let fixture = Fixture::create(&app).await;
    let setup = started.elapsed();
    let mut run = Run::new(&app.address);
    for (index, route) in ROUTES.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(seed ^ route_hash(route));
        for n in 0..requests_for(route) {
            let real = fixture.real_id(&app, route, &mut rng).await;
            let request_id = format!("fuzz-{seed}-{index}-{n}");
            let probe = Probe::generate(&mut rng, route, &fixture, &real, request_id);
            run.send(route, probe).await;
        }
        if changes_fixture(route) {
            fixture.restore(&app).await;
        }
    }
    let fuzzed = run.sent;
    read_back(&mut run, &fixture, seed).await;
    println!(
        "fuzz: {} routes, {fuzzed} requests ({} not sendable by the client) and {} reading \
         back, in {:.1?} after {:.1?} of setup; statuses {:?}",
        ROUTES.len(),
        run.unsendable,
        run.sent - fuzzed,
        started.elapsed() - setup,
        setup,
        run.statuses,
    );
    assert!(run.findings.is_empty(), "{}", run.report(seed));
}

/// Rounds of the racing run.
const RACING_ROUNDS: usize = 40;
/// Requests sent at once in each round.
const RACING_REQUESTS: usize = 8;

/// Rounds of requests sent at once against a monitor and a channel linked to
/// it, the channel's deletion always among them: links written while their
/// channel goes, deliveries recorded for a channel going away, pauses racing
/// edits. The seed draws each round's mix, but timing decides the
/// interleaving, so a failure here shows a race the seed may not replay.
#[tokio::test]
async fn racing_requests_on_linked_resources_answer_without_a_server_error() {
    let seed = seed();
    println!("racing seed {seed} (FUZZ_SEED={seed} draws the same rounds)");
    let app = spawn_app_with(NO_NETWORK).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7261_6369_6e67);
    let mut run = Run::new(&app.address);
    let started = Instant::now();
    for round in 0..RACING_ROUNDS {
        // A monitor and a channel of this round's own, linked.
        let channel = doomed_channel(&app).await.to_string();
        let mut linked = monitor_bodies(None).swap_remove(0);
        linked["channelIds"] = json!([channel]);
        let monitor = id_of(&app.create_monitor(linked.clone()).await).to_string();
        let relink = json!({"channelIds": [channel], "tags": [format!("round-{round}")]});
        let rename = json!({"name": format!("round {round}")});
        let candidates = [
            ("PUT", "/api/v1/monitors/{id}", &monitor, Some(&linked)),
            ("POST", "/api/v1/monitors", &monitor, Some(&linked)),
            ("PATCH", "/api/v1/monitors/{id}", &monitor, Some(&relink)),
            ("POST", "/api/v1/monitors/{id}/pause", &monitor, None),
            ("POST", "/api/v1/monitors/{id}/resume", &monitor, None),
            ("POST", "/api/v1/monitors/{id}/check-now", &monitor, None),
            ("GET", "/api/v1/monitors/{id}/results", &monitor, None),
            ("DELETE", "/api/v1/monitors/{id}", &monitor, None),
            ("PATCH", "/api/v1/channels/{id}", &channel, Some(&rename)),
            ("POST", "/api/v1/channels/{id}/test", &channel, None),
            ("GET", "/api/v1/channels/{id}/deliveries", &channel, None),
            ("DELETE", "/api/v1/channels/{id}", &channel, None),
        ];
        // The channel's deletion races in every round.
        let mut chosen = vec![candidates[candidates.len() - 1]];
        chosen.extend((1..RACING_REQUESTS).map(|_| *candidates.choose(&mut rng).unwrap()));
        let racers = chosen
            .into_iter()
            .map(|(method, path, id, body)| (method, path, path.replace("{id}", id), body))
            .collect();
        race(&mut run, racers, &format!("fuzz-{seed}-race-{round}")).await;
    }
    println!(
        "racing: {} rounds of {RACING_REQUESTS} requests in {:.1?}; statuses {:?}",
        RACING_ROUNDS,
        started.elapsed(),
        run.statuses,
    );
    assert!(run.findings.is_empty(), "{}", run.report(seed));
}

/// One request of a racing round: method, route path, target, body.
type Racer<'a> = (&'static str, &'static str, String, Option<&'a Value>);

/// Sends `racers` at once, each noting the others; request ids start with
/// `request_id`.
async fn race(run: &mut Run, racers: Vec<Racer<'_>>, request_id: &str) {
    let together: Vec<String> = racers
        .iter()
        .map(|(method, _, target, _)| format!("{method} {target}"))
        .collect();
    let together = format!("sent at once with {}", together.join(", "));
    let probes = racers
        .into_iter()
        .enumerate()
        .map(|(i, (method, path, target, body))| {
            let route = ROUTES
                .iter()
                .find(|r| r.method == method && r.path == path)
                .expect("a route of the table");
            let mut probe = Probe::json(method, &target, body, format!("{request_id}-{i}"));
            probe.note.push(together.clone());
            (route, probe)
        })
        .collect();
    run.send_together(probes).await;
}

/// Rounds of the racing run on status resources.
const STATUS_RACING_ROUNDS: usize = 9;

/// Rounds of requests sent at once against a group, a component in it, an
/// open status incident overriding the component, a maintenance window in
/// progress over both and a status page listing the component: the
/// component, the incident or the window goes in every round (in turn),
/// while incidents, windows and pages naming the component are created and
/// patched (two pages under one slug), updates posted, overrides set and
/// cleared and the component moved between groups. As above, timing
/// decides the interleaving.
// Two workers, as for the fuzz run: a rebuild must not hold back half a
// round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_on_status_resources_answer_without_a_server_error() {
    let seed = seed();
    println!("status racing seed {seed} (FUZZ_SEED={seed} draws the same rounds)");
    let app = spawn_app_with(NO_NETWORK).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7374_6174_7573);
    let mut run = Run::new(&app.address);
    let monitor = id_of(
        &app.create_monitor(monitor_bodies(None).swap_remove(2))
            .await,
    );
    let started = Instant::now();
    for round in 0..STATUS_RACING_ROUNDS {
        let round_name = format!("round {round}");
        let group = json!({"name": format!("{round_name} group"), "group": true});
        let group = id_of(&created(app.post("/api/v1/components", &group).await).await);
        let in_group = json!({
            "name": round_name, "groupId": group, "monitorIds": [monitor], "autoIncident": true,
        });
        let component = id_of(&created(app.post("/api/v1/components", &in_group).await).await);
        let both = json!([group, component]);
        let opened = json!({
            "name": round_name, "componentIds": both,
            "componentStatuses": {component.to_string(): "major_outage"},
        });
        let incident = id_of(&created(app.post("/api/v1/status-incidents", &opened).await).await);
        let updates = format!("/api/v1/status-incidents/{incident}/updates");
        let worse = json!({
            "status": "identified", "body": "Found it.",
            "componentStatuses": {component.to_string(): "partial_outage"},
        });
        let update = id_of(&created(app.post(&updates, &worse).await).await);
        let now = Utc::now();
        let window_body = json!({
            "title": round_name, "componentIds": both, "monitorIds": [monitor],
            "startsAt": now - chrono::Duration::hours(1), "endsAt": now + chrono::Duration::hours(1),
        });
        let window = created(app.post("/api/v1/maintenance-windows", &window_body).await).await;
        let window = id_of(&window);
        start_occurrences(&app, window).await;
        let listing = |slug: String| {
            json!({
                "slug": slug, "title": round_name,
                "sections": [{"name": "Core", "componentIds": [component]}],
            })
        };
        let page = listing(format!("race-{round}"));
        let page = id_of(&created(app.post("/api/v1/status-pages", &page).await).await);

        let (group, component, incident) = (
            group.to_string(),
            component.to_string(),
            incident.to_string(),
        );
        let (window, page) = (window.to_string(), page.to_string());
        let ungrouped = json!({"name": round_name, "monitorIds": [monitor]});
        let regroup = json!({"groupId": group, "position": round});
        let ungroup = json!({"group": false});
        let manual = json!({"status": "major_outage", "message": "racing"});
        let automatic = json!({"status": "automatic"});
        let child = json!({"name": "racing child", "groupId": group});
        let another = json!({
            "name": "racing", "componentIds": [component],
            "componentStatuses": {component.clone(): "degraded_performance"},
        });
        let relink = json!({
            "componentIds": both, "componentStatuses": {component.clone(): "under_maintenance"},
        });
        let better = json!({
            "status": "monitoring", "body": "Better.",
            "componentStatuses": {component.clone(): "degraded_performance"},
        });
        let resolved = json!({"status": "resolved", "body": "Fixed."});
        let edit = json!({"body": "Found it, edited."});
        let covering = json!({
            "title": "racing", "componentIds": [component, group],
            "cron": "* * * * *", "durationMinutes": 1, "timezone": "Europe/Berlin",
        });
        let narrow = json!({"componentIds": [component], "monitorIds": []});
        // Every request of the round that creates a page takes this slug.
        let same_slug = listing(format!("race-{round}-again"));
        let regroup_page = json!({"sections": [{"name": "All", "componentIds": [group]}]});
        let one = |method, path: &'static str, id: &str, body| {
            (method, path, path.replace("{id}", id), body)
        };
        let with_update = |method, body| {
            let path = "/api/v1/status-incidents/{id}/updates/{updateId}";
            let target = format!("{updates}/{update}");
            (method, path, target, body)
        };
        let candidates: Vec<Racer> = vec![
            one("DELETE", "/api/v1/components/{id}", &component, None),
            one("DELETE", "/api/v1/components/{id}", &group, None),
            one(
                "PUT",
                "/api/v1/components/{id}",
                &component,
                Some(&ungrouped),
            ),
            one(
                "PATCH",
                "/api/v1/components/{id}",
                &component,
                Some(&regroup),
            ),
            one("PATCH", "/api/v1/components/{id}", &group, Some(&ungroup)),
            one(
                "POST",
                "/api/v1/components/{id}/status",
                &component,
                Some(&manual),
            ),
            one(
                "POST",
                "/api/v1/components/{id}/status",
                &component,
                Some(&automatic),
            ),
            one("GET", "/api/v1/components/{id}/history", &component, None),
            one("POST", "/api/v1/components", "", Some(&child)),
            (
                "GET",
                "/api/v1/status-changes",
                format!("/api/v1/status-changes?componentId={component}"),
                None,
            ),
            one("POST", "/api/v1/status-incidents", "", Some(&another)),
            one(
                "PATCH",
                "/api/v1/status-incidents/{id}",
                &incident,
                Some(&relink),
            ),
            one(
                "POST",
                "/api/v1/status-incidents/{id}/updates",
                &incident,
                Some(&better),
            ),
            one(
                "POST",
                "/api/v1/status-incidents/{id}/updates",
                &incident,
                Some(&resolved),
            ),
            with_update("PATCH", Some(&edit)),
            with_update("GET", None),
            one("DELETE", "/api/v1/status-incidents/{id}", &incident, None),
            one("POST", "/api/v1/maintenance-windows", "", Some(&covering)),
            one(
                "PATCH",
                "/api/v1/maintenance-windows/{id}",
                &window,
                Some(&narrow),
            ),
            one("DELETE", "/api/v1/maintenance-windows/{id}", &window, None),
            one("POST", "/api/v1/status-pages", "", Some(&same_slug)),
            one(
                "PATCH",
                "/api/v1/status-pages/{id}",
                &page,
                Some(&regroup_page),
            ),
        ];
        // In turn, the component, the incident or the window goes.
        let doomed = match round % 3 {
            0 => format!("/api/v1/components/{component}"),
            1 => format!("/api/v1/status-incidents/{incident}"),
            _ => format!("/api/v1/maintenance-windows/{window}"),
        };
        let doomed = candidates
            .iter()
            .find(|(method, _, target, _)| *method == "DELETE" && *target == doomed)
            .expect("a deletion among the candidates");
        let mut chosen = vec![doomed.clone()];
        chosen.extend((1..RACING_REQUESTS).map(|_| candidates.choose(&mut rng).unwrap().clone()));
        race(
            &mut run,
            chosen,
            &format!("fuzz-{seed}-status-race-{round}"),
        )
        .await;
    }
    println!(
        "status racing: {STATUS_RACING_ROUNDS} rounds of {RACING_REQUESTS} requests in {:.1?}; \
         statuses {:?}",
        started.elapsed(),
        run.statuses,
    );
    assert!(run.findings.is_empty(), "{}", run.report(seed));
}

/// Whether `route` answers people (HTML pages, feeds, badges) rather than
/// programs, and without credentials.
fn answers_people(route: &Route) -> bool {
    route.path.starts_with("/badge/")
        || (matches!(route.id, Id::PageSlug | Id::PageHost) && !route.path.contains("/api/"))
}

/// Whether `route` serves the public without credentials: the pages for
/// people and the Statuspage documents.
fn is_public(route: &Route) -> bool {
    answers_people(route) || matches!(route.id, Id::PageSlug | Id::PageHost)
}

/// Requests sent to `route` in the fuzz run.
fn requests_for(route: &Route) -> usize {
    match route.body {
        Body::MaintenanceWindow | Body::MaintenanceWindowPatch => SCHEDULE_REQUESTS_PER_ROUTE,
        _ if is_public(route) => PUBLIC_REQUESTS_PER_ROUTE,
        _ => REQUESTS_PER_ROUTE,
    }
}

/// Whether requests to `route` can leave the fixture changed (a DELETE
/// works on resources of its own): edits, pauses, statuses set, and
/// incidents created or updated (which override the components' statuses).
fn changes_fixture(route: &Route) -> bool {
    matches!(route.method, "PUT" | "PATCH")
        || (route.method == "POST"
            && [
                "/pause",
                "/resume",
                "/status",
                "/updates",
                "/status-incidents",
            ]
            .iter()
            .any(|end| route.path.ends_with(end)))
}

/// FUZZ_SEED, or [`DEFAULT_SEED`].
fn seed() -> u64 {
    let Ok(text) = std::env::var("FUZZ_SEED") else {
        return DEFAULT_SEED;
    };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("FUZZ_SEED must be an unsigned integer, got {text:?}"))
}

/// FNV-1a of the route, so each route's requests depend on the seed and the
/// route only.
fn route_hash(route: &Route) -> u64 {
    format!("{} {}", route.method, route.path)
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// One of each resource, so that paths with real ids exist.
struct Fixture {
    read_key: String,
    revoked_key: String,
    monitor: Uuid,
    monitor_body: Value,
    /// Every channel type, with the body that created it.
    channels: Vec<(Uuid, Value)>,
    /// The channel URLs as the read-only key sees them.
    masked_urls: Vec<String>,
    api_key: Uuid,
    incident: Uuid,
    event: Uuid,
    attempt: i64,
    audit_entry: i64,
    result_slot: String,
    asset: String,
    /// A group, a component, a status incident and a maintenance window.
    status: StatusFixture,
}

impl Fixture {
    async fn create(app: &TestApp) -> Self {
        let mut channels = Vec::new();
        for body in channel_bodies() {
            let created = created(app.post("/api/v1/channels", &body).await).await;
            channels.push((id_of(&created), body));
        }
        let webhook = channels[0].0;
        let monitor_body = monitor_bodies(Some(webhook)).swap_remove(0);
        let monitor = id_of(&app.create_monitor(monitor_body.clone()).await);
        let (read_key, _) = new_key(app, &["read"]).await;
        let (_, api_key) = new_key(app, &["write"]).await;
        let (revoked_key, revoked) = new_key(app, &["admin"]).await;
        let response = app.delete(&format!("/api/v1/api-keys/{revoked}")).await;
        assert_eq!(response.status(), 204);

        // Rows only the worker writes.
        let incident = Uuid::now_v7();
        app.db
            .execute(
                "INSERT INTO incidents (id, monitor_id, started_at, first_error, last_error, \
                     failure_count, opened_slot) \
                 VALUES ($1, $2, now() - interval '5 minutes', 'timeout', 'timeout', 3, \
                     now() - interval '5 minutes')",
                &[&incident, &monitor],
            )
            .await
            .unwrap();
        let slot = Utc::now() - chrono::Duration::seconds(60);
        app.db
            .execute(
                "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
                 VALUES ($1, $2, $2, 'down', 12.5)",
                &[&monitor, &slot],
            )
            .await
            .unwrap();
        let event = Uuid::now_v7();
        app.db
            .execute(
                "INSERT INTO notification_events (id, channel_id, event_type, payload, status, \
                     attempts, last_error) \
                 VALUES ($1, $2, 'incident.opened', '{}', 'failed', 4, 'the receiver answered 500')",
                &[&event, &webhook],
            )
            .await
            .unwrap();
        app.db
            .execute(
                "INSERT INTO worker_heartbeats (worker_id, host, pid, version, started_at, \
                     last_seen_at, in_flight) \
                 VALUES ('fuzz-1', 'fuzz-host', 1, '0.0.1', now(), now(), ARRAY[$1::uuid])",
                &[&monitor],
            )
            .await
            .unwrap();
        let response = app
            .post(&format!("/api/v1/channels/{webhook}/test"), &json!({}))
            .await;
        assert_eq!(response.status(), 200, "channel test for a delivery row");
        let attempt: i64 = app
            .db
            .query_one("SELECT max(id) FROM notification_attempts", &[])
            .await
            .unwrap()
            .get(0);
        let audit_entry: i64 = app
            .db
            .query_one("SELECT max(id) FROM audit_logs", &[])
            .await
            .unwrap()
            .get(0);
        let mut masked_urls = Vec::new();
        for (id, _) in &channels {
            let path = format!("/api/v1/channels/{id}");
            let response = app.request_as(&read_key, Method::GET, &path).send().await;
            let channel: Value = response.unwrap().json().await.unwrap();
            masked_urls.extend(channel["url"].as_str().map(str::to_owned));
        }
        let status = StatusFixture::create(app, monitor, incident).await;
        let page = app.get("/workers").await.text().await.unwrap();
        let asset = page
            .split("/assets/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the workers page links an asset")
            .to_owned();
        Self {
            read_key,
            revoked_key,
            monitor,
            monitor_body,
            channels,
            masked_urls,
            api_key,
            incident,
            event,
            attempt,
            audit_entry,
            result_slot: slot.to_rfc3339_opts(SecondsFormat::Micros, true),
            asset,
            status,
        }
    }

    /// The real id for a request to `route`; a DELETE gets a resource of its
    /// own, so the fixture outlives the run.
    async fn real_id(&self, app: &TestApp, route: &Route, rng: &mut StdRng) -> String {
        let fresh = route.method == "DELETE";
        match route.id {
            Id::Monitor if fresh => {
                let body = monitor_bodies(None).swap_remove(0);
                id_of(&app.create_monitor(body).await).to_string()
            }
            Id::Channel if fresh => doomed_channel(app).await.to_string(),
            Id::ApiKey if fresh => new_key(app, &["read"]).await.1.to_string(),
            Id::Component if fresh => {
                doomed_component(app, self.status.group, rng.random_bool(0.3))
                    .await
                    .to_string()
            }
            Id::StatusIncident if fresh => doomed_status_incident(app, self.status.component)
                .await
                .to_string(),
            Id::StatusPage if fresh => doomed_page(app, self.status.group).await.to_string(),
            Id::MaintenanceWindow if fresh => {
                doomed_window(app, self.status.component).await.to_string()
            }
            Id::Channel => self.channels.choose(rng).unwrap().0.to_string(),
            Id::Component => [self.status.group, self.status.component]
                .choose(rng)
                .unwrap()
                .to_string(),
            Id::StatusIncident => {
                // A resolved incident takes postmortems only: updates mostly
                // find it open, as the timeline of an outage does.
                if route.path.ends_with("/updates") && rng.random_bool(0.7) {
                    self.status.reopen(app).await;
                }
                self.status.status_incident.to_string()
            }
            kind => self.id_of_kind(kind),
        }
    }

    /// The fixture's resource of `kind`.
    fn id_of_kind(&self, kind: Id) -> String {
        match kind {
            Id::Monitor => self.monitor.to_string(),
            Id::Channel => self.channels[0].0.to_string(),
            Id::ApiKey => self.api_key.to_string(),
            Id::Incident => self.incident.to_string(),
            Id::Event => self.event.to_string(),
            Id::Asset => self.asset.clone(),
            Id::Component => self.status.component.to_string(),
            Id::StatusIncident => self.status.status_incident.to_string(),
            Id::IncidentUpdate => self.status.update.to_string(),
            Id::MaintenanceWindow => self.status.window.to_string(),
            Id::StatusPage => self.status.page.to_string(),
            Id::PageSlug => PAGE_SLUG.to_owned(),
            Id::PageHost => page_host(PAGE_SLUG),
            Id::None => String::new(),
        }
    }

    /// Every id the fixture holds.
    fn ids(&self) -> Vec<Uuid> {
        self.ids_except(Id::None)
    }

    /// The ids of resources other than `kind` (a DELETE given one of them
    /// must not remove the fixture).
    fn ids_except(&self, kind: Id) -> Vec<Uuid> {
        let mut ids = Vec::new();
        for (owner, id) in [
            (Id::Monitor, self.monitor),
            (Id::ApiKey, self.api_key),
            (Id::Incident, self.incident),
            (Id::Event, self.event),
            (Id::Component, self.status.group),
            (Id::Component, self.status.component),
            (Id::StatusIncident, self.status.status_incident),
            (Id::IncidentUpdate, self.status.update),
            (Id::MaintenanceWindow, self.status.window),
            (Id::StatusPage, self.status.page),
        ] {
            if owner != kind {
                ids.push(id);
            }
        }
        if kind != Id::Channel {
            ids.extend(self.channels.iter().map(|(id, _)| *id));
        }
        ids
    }

    /// Puts the monitor, the channels and the status resources back as
    /// created (the run patches, pauses, retypes, overrides and resolves
    /// them).
    async fn restore(&self, app: &TestApp) {
        let path = format!("/api/v1/monitors/{}", self.monitor);
        let response = app.put(&path, &self.monitor_body).await;
        assert_eq!(response.status(), 200, "restoring the monitor");
        for (id, body) in &self.channels {
            let response = app.put(&format!("/api/v1/channels/{id}"), body).await;
            assert_eq!(response.status(), 200, "restoring channel {body}");
        }
        self.status.restore(app).await;
    }
}

/// The slug of the fixture's status page (published, with a custom domain).
const PAGE_SLUG: &str = "fuzz-status";

/// The custom domain of the page with `slug` (see [`status_page_bodies`]).
fn page_host(slug: &str) -> String {
    format!("{slug}.{NOWHERE}")
}

/// When the fixture's status incident started.
const STATUS_INCIDENT_STARTED: &str = "2024-01-01T00:00:00.000000Z";

/// The status resources of the fixture.
struct StatusFixture {
    group: Uuid,
    group_body: Value,
    component: Uuid,
    component_body: Value,
    status_incident: Uuid,
    status_incident_form: Value,
    update: Uuid,
    update_body: Value,
    window: Uuid,
    window_body: Value,
    status_change: i64,
    page: Uuid,
    page_body: Value,
}

impl StatusFixture {
    /// A group, a component in it driven by `monitor`, an incident on both
    /// linked to the monitor incident `incident` with an update, and a
    /// window in progress over the group.
    async fn create(app: &TestApp, monitor: Uuid, incident: Uuid) -> Self {
        let group_body = json!({
            "name": "fuzz backend", "description": "Services behind the API", "group": true,
            "position": 1, "autoIncident": false, "slaTarget": 99.5,
        });
        let group = id_of(&created(app.post("/api/v1/components", &group_body).await).await);
        let component_body = component_bodies(group, monitor).swap_remove(1);
        let component =
            id_of(&created(app.post("/api/v1/components", &component_body).await).await);
        let affected = [group, component];
        let body = json!({
            "name": "fuzz outage", "status": "identified", "impact": "major",
            "body": "Requests to the API fail.", "componentIds": affected,
            "componentStatuses": {component.to_string(): "partial_outage"},
            "monitorIncidentIds": [incident], "startedAt": STATUS_INCIDENT_STARTED,
        });
        let status_incident =
            id_of(&created(app.post("/api/v1/status-incidents", &body).await).await);
        let update_path = format!("/api/v1/status-incidents/{status_incident}/updates");
        let update = json!({
            "status": "monitoring", "body": "A fix is rolling out.",
            "componentStatuses": {component.to_string(): "degraded_performance"},
        });
        let update = id_of(&created(app.post(&update_path, &update).await).await);
        let status_incident_form = json!({
            "name": "fuzz outage", "impact": "major", "componentIds": affected,
            "componentStatuses": {
                component.to_string(): "degraded_performance", group.to_string(): null,
            },
            "monitorIncidentIds": [incident], "startedAt": STATUS_INCIDENT_STARTED,
            "postmortem": null,
        });
        // Back to back, all day: always in progress.
        let window_body = json!({
            "title": "fuzz nightly", "description": "Backups", "monitorIds": [monitor],
            "componentIds": [group], "cron": "0 0 * * *", "durationMinutes": 1440,
            "timezone": "UTC", "activeFrom": "2024-01-01T00:00:00Z",
            "activeUntil": "2999-01-01T00:00:00Z", "notifyChannels": true,
        });
        let window =
            id_of(&created(app.post("/api/v1/maintenance-windows", &window_body).await).await);
        start_occurrences(app, window).await;
        let page_body = status_page_bodies(group, component, PAGE_SLUG).swap_remove(0);
        let page = id_of(&created(app.post("/api/v1/status-pages", &page_body).await).await);
        let status_change: i64 = app
            .db
            .query_one("SELECT max(id) FROM component_status_changes", &[])
            .await
            .unwrap()
            .get(0);
        Self {
            group,
            group_body,
            component,
            component_body,
            status_incident,
            status_incident_form,
            update,
            update_body: json!({"body": "A fix is rolling out."}),
            window,
            window_body,
            status_change,
            page,
            page_body,
        }
    }

    /// Puts the components, the incident, its update and the window back
    /// as created (the run edits, overrides and resolves them).
    async fn restore(&self, app: &TestApp) {
        // The group first: the component names it.
        for (id, body) in [
            (self.group, &self.group_body),
            (self.component, &self.component_body),
        ] {
            let path = format!("/api/v1/components/{id}");
            let response = app.put(&path, body).await;
            assert_eq!(response.status(), 200, "restoring component {body}");
            let automatic = json!({"status": "automatic"});
            let response = app.post(&format!("{path}/status"), &automatic).await;
            assert_eq!(response.status(), 200, "clearing the status of {body}");
        }
        // Then the incident, which gives the component its status again.
        self.reopen(app).await;
        let path = format!("/api/v1/status-incidents/{}", self.status_incident);
        let response = app.patch(&path, &self.status_incident_form).await;
        assert_eq!(response.status(), 200, "restoring the status incident");
        let response = app
            .patch(
                &format!("{path}/updates/{}", self.update),
                &self.update_body,
            )
            .await;
        assert_eq!(response.status(), 200, "restoring the update");
        let mut window = self.window_body.clone();
        window["startsAt"] = Value::Null;
        window["endsAt"] = Value::Null;
        let path = format!("/api/v1/maintenance-windows/{}", self.window);
        let response = app.patch(&path, &window).await;
        assert_eq!(response.status(), 200, "restoring the maintenance window");
        let path = format!("/api/v1/status-pages/{}", self.page);
        let response = app.put(&path, &self.page_body).await;
        assert_eq!(response.status(), 200, "restoring the status page");
    }

    /// Reopens the status incident if it was resolved, as no request can
    /// (its components get their statuses back from [`Self::restore`]).
    async fn reopen(&self, app: &TestApp) {
        app.db
            .execute(
                "UPDATE status_incidents SET status = 'monitoring', resolved_at = NULL, \
                     postmortem = NULL \
                 WHERE id = $1 AND resolved_at IS NOT NULL",
                &[&self.status_incident],
            )
            .await
            .unwrap();
    }
}

/// A page of its own listing `group`.
async fn doomed_page(app: &TestApp, group: Uuid) -> Uuid {
    let slug = format!("doomed-{}", Uuid::now_v7().simple());
    let body = json!({
        "slug": slug, "title": "Doomed", "sections": [{"name": "All", "componentIds": [group]}],
    });
    id_of(&created(app.post("/api/v1/status-pages", &body).await).await)
}

/// Marks the occurrences of `window` in progress as started and puts what
/// it covers under maintenance, as a worker's status clock would.
async fn start_occurrences(app: &TestApp, window: Uuid) {
    app.db
        .execute(
            "UPDATE maintenance_occurrences SET started_at = now() \
             WHERE window_id = $1 AND starts_at <= now() AND ends_at > now()",
            &[&window],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "UPDATE components SET in_maintenance = uptime_component_in_maintenance(id) \
             WHERE in_maintenance IS DISTINCT FROM uptime_component_in_maintenance(id)",
            &[],
        )
        .await
        .unwrap();
}

/// A component of its own in `group`, or (`as_group`) a group of its own
/// with a component in it.
async fn doomed_component(app: &TestApp, group: Uuid, as_group: bool) -> Uuid {
    let body = if as_group {
        json!({"name": "fuzz doomed group", "group": true})
    } else {
        json!({"name": "fuzz doomed", "groupId": group})
    };
    let id = id_of(&created(app.post("/api/v1/components", &body).await).await);
    if as_group {
        let child = json!({"name": "fuzz orphan", "groupId": id});
        created(app.post("/api/v1/components", &child).await).await;
    }
    id
}

/// An open status incident of its own on `component`, which keeps its
/// status (so deleting it leaves the fixture's override alone).
async fn doomed_status_incident(app: &TestApp, component: Uuid) -> Uuid {
    let body = json!({"name": "fuzz doomed", "componentIds": [component], "body": "Doomed."});
    id_of(&created(app.post("/api/v1/status-incidents", &body).await).await)
}

/// A one-off window of its own over `component`, in progress and started.
async fn doomed_window(app: &TestApp, component: Uuid) -> Uuid {
    let now = Utc::now();
    let body = json!({
        "title": "fuzz doomed", "componentIds": [component],
        "startsAt": now - chrono::Duration::hours(1), "endsAt": now + chrono::Duration::hours(1),
    });
    let id = id_of(&created(app.post("/api/v1/maintenance-windows", &body).await).await);
    start_occurrences(app, id).await;
    id
}

/// A webhook channel inserted directly (creating it through the API would
/// look its name up).
async fn doomed_channel(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    let config = json!({"url": format!("https://doomed.{NOWHERE}/hook")});
    app.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config) \
             VALUES ($1, 'fuzz doomed', 'webhook', $2)",
            &[&id, &config],
        )
        .await
        .unwrap();
    id
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "fixture create failed: {body}");
    body
}

fn id_of(created: &Value) -> Uuid {
    created["id"].as_str().unwrap().parse().unwrap()
}

/// Creates a key; returns the raw key and its id.
async fn new_key(app: &TestApp, scopes: &[&str]) -> (String, Uuid) {
    let body = json!({"name": "fuzz", "scopes": scopes});
    let created = created(app.post("/api/v1/api-keys", &body).await).await;
    (created["key"].as_str().unwrap().to_owned(), id_of(&created))
}

/// A valid body of each monitor type, every optional field set, so that
/// replacing any one field reaches its validator. Targets are public
/// addresses, so validating them needs no name lookup; no worker runs here,
/// so nothing contacts them.
fn monitor_bodies(channel: Option<Uuid>) -> Vec<Value> {
    let channels: Vec<Uuid> = channel.into_iter().collect();
    vec![
        json!({
            "name": "fuzz http", "type": "http", "target": "https://1.1.1.1/health",
            "method": "POST", "headers": {"X-Fuzz": "1", "Accept": "text/plain"}, "body": "ping",
            "expectedStatus": [200, 204], "followRedirects": true, "degradedThresholdMs": 2000,
            "timeoutSeconds": 5, "intervalSeconds": 60, "failureThreshold": 3,
            "recoveryThreshold": 2, "enabled": true, "tags": ["fuzz", "edge"],
            "channelIds": channels,
        }),
        json!({
            "name": "fuzz keyword", "type": "keyword", "target": "http://9.9.9.9/",
            "keyword": "ok", "keywordMode": "notContains", "keywordCaseSensitive": false,
            "expectedStatus": "200-299", "timeoutSeconds": 10, "intervalSeconds": 300,
        }),
        json!({
            "name": "fuzz tcp", "type": "tcp", "target": "8.8.8.8:5432",
            "timeoutSeconds": 3, "intervalSeconds": 30, "tags": ["db"],
        }),
        json!({
            "name": "fuzz dns", "type": "dns", "target": NOWHERE, "dnsRecordType": "MX",
            "dnsExpected": ["mail.example.com"], "dnsResolver": "1.1.1.1:53",
        }),
        json!({
            "name": "fuzz tls", "type": "tls", "target": "1.0.0.1:443",
            "tlsExpiryWarnDays": 14, "enabled": false,
        }),
    ]
}

/// A valid body of each channel type; the webhook comes first.
fn channel_bodies() -> Vec<Value> {
    let mut bodies = vec![json!({
        "name": "fuzz webhook", "type": "webhook", "url": format!("https://hooks.{NOWHERE}/in?token=abc"),
        "events": ["opened", "resolved", "degraded"], "reminderIntervalSeconds": 3600,
        "throttleSeconds": 0, "enabled": true,
    })];
    for kind in ["slack", "discord", "teams"] {
        bodies.push(json!({
            "name": format!("fuzz {kind}"), "type": kind,
            "url": format!("https://{kind}.{NOWHERE}/hook"),
        }));
    }
    bodies.push(json!({
        "name": "fuzz telegram", "type": "telegram", "botToken": TELEGRAM_TOKEN,
        "chatId": "-1001234567890", "events": ["incident.opened"],
    }));
    bodies
}

/// A valid body of each kind of component: a group, a component in
/// `group` driven by `monitor` with every optional field set, and the least
/// one.
fn component_bodies(group: Uuid, monitor: Uuid) -> Vec<Value> {
    vec![
        json!({
            "name": "fuzz group", "description": "Everything behind the edge", "group": true,
            "position": 3,
        }),
        json!({
            "name": "fuzz api", "description": "The public REST API",
            "url": format!("https://status.{NOWHERE}/api"), "owner": "platform team",
            "group": false, "groupId": group, "position": 2, "monitorIds": [monitor],
            "autoIncident": true, "slaTarget": 99.9,
        }),
        json!({"name": "fuzz minimal"}),
    ]
}

/// Values a component field takes at its edges (and a few it refuses that
/// only the database can tell: a group that is not one, a self-reference).
fn component_edges(fixture: &Fixture) -> Vec<(&'static str, Value)> {
    let monitor = fixture.monitor.to_string();
    vec![
        ("name", json!("😀".repeat(200))),
        ("name", json!("  padded  ")),
        ("description", json!("é".repeat(2000))),
        ("description", json!("")),
        ("url", json!("https://例え.テスト/status")),
        ("url", json!("http://[::1]:8080/")),
        (
            "url",
            json!(format!("https://{NOWHERE}/{}", "p".repeat(2000))),
        ),
        ("owner", json!("")),
        ("position", json!(i32::MAX)),
        ("slaTarget", json!(5e-324)),
        ("slaTarget", json!(100)),
        ("slaTarget", json!(99.999_999_999_999_99)),
        (
            "monitorIds",
            json!([monitor, monitor.to_uppercase(), monitor]),
        ),
        ("monitorIds", json!([])),
        ("groupId", json!(fixture.status.component)),
        ("groupId", json!(format!(" {} ", fixture.status.group))),
        ("groupId", Value::Null),
    ]
}

/// Free text at the edges of what a field of at most `max` characters takes.
fn edge_text(rng: &mut StdRng, max: usize) -> String {
    match rng.random_range(0..8) {
        0 => "😀".repeat(max),
        1 => "é".repeat(max),
        2 => "line\nbreak\ttab".to_owned(),
        3 => "  padded  ".to_owned(),
        4 => "\u{202e}\u{feff}\u{2028}".to_owned(),
        5 => "'; DROP TABLE components; --".to_owned(),
        6 => "<script>alert(1)</script>".to_owned(),
        _ => "Fuzzing.".to_owned(),
    }
}

/// Times for an `until`: later ones at the edges, below a microsecond, and
/// two that are not later (past, or past the year 9999 in UTC).
const LATER: &[&str] = &[
    "2999-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2999-01-01T00:00:00.0000001Z",
    "2999-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2000-01-01T00:00:00Z",
];

/// Times for a start: earlier ones at the edges, and two that are not
/// (before the year 1 in UTC, in the future).
const EARLIER: &[&str] = &[
    "2024-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00.0000001Z",
    "2024-02-29T23:59:59.999999999-12:00",
    "0001-01-01T00:00:00+14:00",
    "2999-01-01T00:00:00Z",
];

const IMPACTS: &[&str] = &["none", "minor", "major", "critical"];
const INCIDENT_STATUSES: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];

/// A manual status, or "automatic" (which takes neither message nor until).
fn component_status_body(rng: &mut StdRng) -> Value {
    let status = if rng.random_bool(1.0 / 6.0) {
        "automatic"
    } else {
        COMPONENT_STATUSES.choose(rng).unwrap()
    };
    let mut body = json!({"status": status});
    // Sent with "automatic" now and then all the same.
    if status != "automatic" || rng.random_bool(0.1) {
        if rng.random_bool(0.7) {
            body["message"] = json!(edge_text(rng, 2000));
        }
        if rng.random_bool(0.6) {
            body["until"] = json!(LATER.choose(rng).unwrap());
        }
    }
    body
}

/// A new status incident on the fixture's components, optional fields left
/// out now and then.
fn status_incident_body(rng: &mut StdRng, fixture: &Fixture) -> Value {
    let mut statuses = serde_json::Map::new();
    statuses.insert(
        fixture.status.component.to_string(),
        json!(COMPONENT_STATUSES.choose(rng).unwrap()),
    );
    if rng.random_bool(0.3) {
        statuses.insert(
            fixture.status.group.to_string(),
            json!(COMPONENT_STATUSES.choose(rng).unwrap()),
        );
    }
    let mut body = json!({
        "name": edge_text(rng, 200),
        "status": INCIDENT_STATUSES[..4].choose(rng).unwrap(),
        "impact": IMPACTS.choose(rng).unwrap(),
        "body": edge_text(rng, 10_000),
        "componentIds": [fixture.status.group, fixture.status.component],
        "componentStatuses": statuses,
        "monitorIncidentIds": [fixture.incident],
        "startedAt": EARLIER.choose(rng).unwrap(),
    });
    let map = body.as_object_mut().unwrap();
    for field in [
        "status",
        "impact",
        "body",
        "componentStatuses",
        "monitorIncidentIds",
        "startedAt",
    ] {
        if rng.random_bool(0.2) {
            map.remove(field);
        }
    }
    body
}

/// A timeline update for the fixture's incident: statuses only where an
/// update may carry them.
fn incident_update_body(rng: &mut StdRng, fixture: &Fixture) -> Value {
    let status = *INCIDENT_STATUSES.choose(rng).unwrap();
    let mut body = json!({"status": status, "body": edge_text(rng, 10_000)});
    if !matches!(status, "resolved" | "postmortem") && rng.random_bool(0.6) {
        body["componentStatuses"] = json!({
            fixture.status.component.to_string(): COMPONENT_STATUSES.choose(rng).unwrap(),
        });
    }
    if rng.random_bool(0.4) {
        body["displayAt"] = json!(EARLIER.choose(rng).unwrap());
    }
    body
}

/// Cron expressions: times a daylight-saving change skips or repeats,
/// every minute (10,000 occurrences, the cap), days that rarely or never
/// come, croner's extensions and nicknames, and what the API refuses (six
/// fields, values out of range, steps of 0, odd digits and spaces).
const CRONS: &[&str] = &[
    "0 2 * * *",
    "30 2 * * *",
    "0 1 * * *",
    "0 0 * * *",
    "*/15 * * * *",
    "* * * * *",
    // Every minute as a list: 169 characters, under the limit.
    "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59 * * * *",
    "0 0 29 2 *",
    "0 0 29 2 1",
    "0 0 30 2 *",
    "0 0 31 2,4,6,9,11 *",
    "0 0 * * 5#5",
    "0 0 * * 5#6",
    "0 0 * * 1#0",
    "0 0 * * 1#-1",
    "0 0 L * *",
    "0 0 LW * *",
    "0 0 15W * *",
    "0 0 31W 2 *",
    "0 0 L-3 * *",
    "0 0 W * *",
    "0 0 * * 5L",
    "0 0 * * 7L",
    "0 0 * * #",
    "0 0 1,15,L * *",
    "0 0 ? * MON",
    "0 0 * * MON-FRI",
    "0 0 * JAN-DEC/2 *",
    "0 0 * * 0-7",
    "0 12 * * 7",
    "@weekly",
    "@DAILY",
    "@hourly",
    "@yearly",
    "@reboot",
    "@every 5m",
    "@daily extra",
    "59 23 31 12 *",
    "0-59/60 * * * *",
    "*/0 * * * *",
    "0 0 */400 * *",
    "0 0 1 1/0 *",
    "60 * * * *",
    "* 24 * * *",
    "0 0 0 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "-1 * * * *",
    "5-1 * * * *",
    "0 0 * * * *",
    "* * * * * *",
    "0 0 1 1 * 2030",
    "0 0 * *",
    "",
    "   ",
    "0\t0\t*\t*\t*",
    "0\u{2028}0 * * *",
    "０ 0 * * *",
];

/// IANA names where the clock does odd things (gaps at midnight, a skipped
/// day, half-hour and 45-minute offsets, a two-hour change, negative
/// daylight time), and names that are none.
const TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Europe/London",
    "America/Santiago",
    "America/Havana",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Antarctica/Troll",
    "Africa/Casablanca",
    "Europe/Dublin",
    "Asia/Tehran",
    "America/St_Johns",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "EST5EDT",
    "America/Argentina/ComodRivadavia",
    "Factory",
    "Mars/Olympus",
    "utc",
    "europe/berlin",
    "",
    " UTC ",
    "Europe/Berlin\u{0}",
    "../../etc/passwd",
    "localtime",
    "posixrules",
    "+01:00",
    "GMT+1",
    "Z",
    "US/Pacific-New",
];

/// `durationMinutes` as JSON: its limits, a day either side of a
/// daylight-saving change, and numbers that are not whole minutes.
const DURATIONS: &[&str] = &[
    "1",
    "15",
    "59",
    "1380",
    "1439",
    "1440",
    "1441",
    "10080",
    "10081",
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "18446744073709551616",
    "1e3",
    "1.5",
    "60.0",
    "\"60\"",
    "null",
];

/// One-off spans: across a daylight-saving gap and a repeated hour (written
/// as local times), a tenth of a microsecond long, the whole range, in
/// progress, over, reversed, and starting before the year 1 in UTC.
const ONE_OFF_SPANS: &[(&str, &str)] = &[
    ("2030-03-31T02:30:00+01:00", "2030-03-31T03:30:00+02:00"),
    ("2030-03-31T01:59:59+01:00", "2030-03-31T03:00:00+02:00"),
    ("2030-10-27T02:30:00+02:00", "2030-10-27T02:30:00+01:00"),
    ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00.0000001Z"),
    (
        "2030-01-01T00:00:00.0000001Z",
        "2030-01-01T00:00:00.0000009Z",
    ),
    ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"),
    ("2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z"),
    ("2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"),
    ("2030-01-01T00:00:00Z", "2029-12-31T23:59:59Z"),
    ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z"),
    ("0001-01-01T00:00:00+14:00", "2030-01-01T00:00:00Z"),
];

/// `activeFrom` / `activeUntil`: open, the whole range, a tenth of a
/// microsecond, Samoa's skipped day, past croner's last year, reversed.
const ACTIVE_SPANS: &[(Option<&str>, Option<&str>)] = &[
    (Some("2024-01-01T00:00:00Z"), Some("2999-01-01T00:00:00Z")),
    (
        Some("0001-01-01T00:00:00Z"),
        Some("9999-12-31T23:59:59.999999999Z"),
    ),
    (
        Some("2030-01-01T00:00:00Z"),
        Some("2030-01-01T00:00:00.0000001Z"),
    ),
    (
        Some("2011-12-29T00:00:00-10:00"),
        Some("2012-01-01T00:00:00+14:00"),
    ),
    (Some("4999-12-31T00:00:00Z"), None),
    (Some("9999-12-31T00:00:00Z"), None),
    (None, Some("0001-01-02T00:00:00Z")),
    (Some("2030-01-01T00:00:00Z"), Some("2029-01-01T00:00:00Z")),
];

/// A window over the fixture's monitor and components, one-off or
/// recurring.
fn window_body(rng: &mut StdRng, fixture: &Fixture) -> Value {
    let mut body = json!({
        "title": edge_text(rng, 200),
        "description": edge_text(rng, 5000),
        "monitorIds": [fixture.monitor],
        "componentIds": [fixture.status.group, fixture.status.component],
        "notifyChannels": rng.random_bool(0.5),
    });
    if rng.random_bool(0.2) {
        body["monitorIds"] = json!([]);
    }
    let schedule = if rng.random_bool(0.35) {
        one_off_schedule(rng)
    } else {
        recurring_schedule(rng)
    };
    body.as_object_mut().unwrap().extend(schedule);
    body
}

fn one_off_schedule(rng: &mut StdRng) -> serde_json::Map<String, Value> {
    let (starts, ends) = *ONE_OFF_SPANS.choose(rng).unwrap();
    let mut schedule = serde_json::Map::new();
    schedule.insert("startsAt".to_owned(), json!(starts));
    schedule.insert("endsAt".to_owned(), json!(ends));
    schedule
}

/// A recurring schedule; each part is at an edge half the time, so that
/// one edge at a time reaches the engine.
fn recurring_schedule(rng: &mut StdRng) -> serde_json::Map<String, Value> {
    let mut schedule = serde_json::Map::new();
    let cron = if rng.random_bool(0.5) {
        CRONS.choose(rng).unwrap()
    } else {
        "30 2 * * 0"
    };
    schedule.insert("cron".to_owned(), json!(cron));
    let duration = if rng.random_bool(0.5) {
        serde_json::from_str(DURATIONS.choose(rng).unwrap()).unwrap()
    } else {
        json!(60)
    };
    schedule.insert("durationMinutes".to_owned(), duration);
    let timezone = if rng.random_bool(0.5) {
        TIME_ZONES.choose(rng).unwrap()
    } else {
        "Europe/Berlin"
    };
    schedule.insert("timezone".to_owned(), json!(timezone));
    if rng.random_bool(0.5) {
        let (from, until) = *ACTIVE_SPANS.choose(rng).unwrap();
        if let Some(from) = from {
            schedule.insert("activeFrom".to_owned(), json!(from));
        }
        if let Some(until) = until {
            schedule.insert("activeUntil".to_owned(), json!(until));
        }
    }
    schedule
}

/// A merge patch for the fixture's window: a switch to one-off (the
/// recurring fields nulled), a few schedule fields, or a few of any.
fn window_patch(rng: &mut StdRng, fixture: &Fixture) -> Value {
    match rng.random_range(0..4) {
        0 => {
            let mut patch = json!({
                "cron": null, "durationMinutes": null, "timezone": null,
                "activeFrom": null, "activeUntil": null,
            });
            patch.as_object_mut().unwrap().extend(one_off_schedule(rng));
            patch
        }
        1 | 2 => {
            let schedule = Value::Object(recurring_schedule(rng));
            patch_of(rng, &schedule)
        }
        _ => {
            let full = window_body(rng, fixture);
            patch_of(rng, &full)
        }
    }
}

/// A valid page of each shape under `slug`: every field set (listing
/// `group`), and the least one (listing `component`).
fn status_page_bodies(group: Uuid, component: Uuid, slug: &str) -> Vec<Value> {
    vec![
        json!({
            "slug": slug, "title": "Fuzz status", "description": "Everything the fuzz runs",
            "logoUrl": format!("https://{NOWHERE}/logo.svg"),
            "homepageUrl": format!("http://{NOWHERE}/"), "published": true,
            "sections": [
                {"name": "Backend", "componentIds": [group]},
                {"name": "Empty", "componentIds": []},
            ],
            "uptimeDays": 30, "historyDays": 60, "footerText": "Questions: ops@uptime-fuzz.invalid",
            "theme": "dark", "customDomain": page_host(slug),
            "showMonitorDetails": true,
        }),
        json!({"slug": slug, "title": "Fuzz minimal", "sections": [{"name": "Core", "componentIds": [component]}]}),
    ]
}

/// Values a status page field takes at its edges, and some it refuses
/// (reserved and malformed slugs, domains that are addresses or carry a
/// port, credentials in a URL, a group beside its own child, too many
/// sections).
fn status_page_edges(fixture: &Fixture) -> Vec<(&'static str, Value)> {
    let (group, component) = (fixture.status.group, fixture.status.component);
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"name": format!("s{i}"), "componentIds": []}))
        .collect();
    vec![
        ("slug", json!("x".repeat(64))),
        ("slug", json!("a")),
        ("slug", json!("fuzz-status")),
        ("slug", json!("admin")),
        ("slug", json!("-a")),
        ("slug", json!("Upper")),
        ("slug", json!("ｆｕｌｌ")),
        ("title", json!("😀".repeat(200))),
        (
            "logoUrl",
            json!("https://user:pass@uptime-fuzz.invalid/logo.svg"),
        ),
        ("homepageUrl", json!("javascript:alert(1)")),
        ("homepageUrl", json!("https://例え.テスト/")),
        ("uptimeDays", json!(90)),
        ("uptimeDays", json!(45)),
        ("historyDays", json!(365)),
        ("historyDays", json!(366)),
        ("theme", json!("light")),
        ("theme", json!("Dark")),
        ("customDomain", json!("STATUS.Uptime-Fuzz.INVALID")),
        ("customDomain", json!("fuzz-status.uptime-fuzz.invalid")),
        ("customDomain", json!("xn--bcher-kva.invalid")),
        ("customDomain", json!(format!("{}.invalid", "a".repeat(63)))),
        (
            "customDomain",
            json!(format!("{}.invalid", "a.".repeat(122))),
        ),
        ("customDomain", json!("1.2.3.4")),
        ("customDomain", json!("[::1]")),
        ("customDomain", json!("status.example.com:8080")),
        ("customDomain", json!("a..invalid")),
        ("customDomain", json!("")),
        (
            "sections",
            json!([{"name": "Both", "componentIds": [group, component]}]),
        ),
        (
            "sections",
            json!([{"name": "Twice", "componentIds": [component, component]}]),
        ),
        (
            "sections",
            json!([{"name": "A", "componentIds": [component]}, {"name": "B", "componentIds": [component]}]),
        ),
        ("sections", json!([{"name": " ", "componentIds": []}])),
        (
            "sections",
            json!([{"name": "x", "componentIds": [], "extra": 1}]),
        ),
        ("sections", json!([])),
        ("sections", Value::Array(many)),
    ]
}

/// A page over the fixture's components, under a slug (and domain) of its
/// own most of the time.
fn status_page_body(rng: &mut StdRng, fixture: &Fixture) -> Value {
    let slug = if rng.random_bool(0.8) {
        format!("fuzz-{}", rng.random::<u32>())
    } else {
        "fuzz-status".to_owned()
    };
    let mut body = status_page_bodies(fixture.status.group, fixture.status.component, &slug)
        .choose(rng)
        .unwrap()
        .clone();
    if rng.random_bool(0.5) {
        let (field, value) = status_page_edges(fixture).choose(rng).unwrap().clone();
        body[field] = value;
    }
    body
}

fn base_body(rng: &mut StdRng, kind: Body, fixture: &Fixture) -> Value {
    match kind {
        Body::None => Value::Null,
        Body::Monitor => monitor_bodies(Some(fixture.channels[0].0))
            .choose(rng)
            .unwrap()
            .clone(),
        Body::MonitorPatch => {
            let full = base_body(rng, Body::Monitor, fixture);
            patch_of(rng, &full)
        }
        Body::Channel => {
            let mut body = channel_bodies().choose(rng).unwrap().clone();
            if body.get("url").is_some() && rng.random_bool(0.25) {
                // What a reader sees: kept when sent back to its own
                // channel, refused anywhere else.
                body["url"] = json!(fixture.masked_urls.choose(rng).unwrap());
            }
            body
        }
        Body::ChannelPatch => {
            let full = base_body(rng, Body::Channel, fixture);
            patch_of(rng, &full)
        }
        Body::ApiKey => json!({
            "name": "fuzz key", "scopes": ["read", "write"], "expiresAt": "2999-01-01T00:00:00Z",
        }),
        Body::Ping => json!({"endpoint": format!("https://ping.{NOWHERE}/")}),
        Body::Component => {
            let mut body = component_bodies(fixture.status.group, fixture.monitor)
                .choose(rng)
                .unwrap()
                .clone();
            if rng.random_bool(0.5) {
                let (field, value) = component_edges(fixture).choose(rng).unwrap().clone();
                body[field] = value;
            }
            body
        }
        Body::ComponentPatch => {
            let full = base_body(rng, Body::Component, fixture);
            patch_of(rng, &full)
        }
        Body::ComponentStatus => component_status_body(rng),
        Body::StatusIncident => status_incident_body(rng, fixture),
        Body::StatusIncidentPatch => {
            let mut full = status_incident_body(rng, fixture);
            let map = full.as_object_mut().unwrap();
            map.remove("status");
            map.remove("body");
            let postmortem = if rng.random_bool(0.5) {
                Value::Null
            } else {
                json!(edge_text(rng, 50_000))
            };
            map.insert("postmortem".to_owned(), postmortem);
            patch_of(rng, &full)
        }
        Body::IncidentUpdate => incident_update_body(rng, fixture),
        Body::IncidentUpdateEdit => json!({"body": edge_text(rng, 10_000)}),
        Body::MaintenanceWindow => window_body(rng, fixture),
        Body::MaintenanceWindowPatch => window_patch(rng, fixture),
        Body::StatusPage => status_page_body(rng, fixture),
        Body::StatusPagePatch => {
            let full = status_page_body(rng, fixture);
            patch_of(rng, &full)
        }
    }
}

/// A merge patch of one to three fields of `full`.
fn patch_of(rng: &mut StdRng, full: &Value) -> Value {
    let fields: Vec<(&String, &Value)> = full.as_object().unwrap().iter().collect();
    let count = rng.random_range(1..=3);
    let chosen: Vec<_> = fields.choose_multiple(rng, count).collect();
    Value::Object(
        chosen
            .into_iter()
            .map(|(k, v)| ((*k).clone(), (*v).clone()))
            .collect(),
    )
}

/// A placeholder for the value (or key) a hostile fragment takes the place of.
const SLOT: &str = "\u{1}fuzz-slot\u{1}";

/// Hostile JSON strings, written as JSON so that escapes serde would never
/// produce (lone surrogates) can be sent.
const JSON_STRINGS: &[&str] = &[
    r#""""#,
    r#"" ""#,
    r#""\u0000""#,
    r#""a\u0000b""#,
    r#""\u0001\u001f\u007f\u0085\u009f""#,
    r#""\ud800""#,
    r#""\udc00\ud800""#,
    r#""x\ud83d""#,
    r#""\ud83d\ude00""#,
    r#""\u202e\ufeff\uffff\ufffe""#,
    r#""\r\n\t""#,
    r#""line\nbreak""#,
    r#""'; DROP TABLE monitors; --""#,
    r#""%_\\""#,
    r#""${jndi:ldap://x}""#,
    r#""<script>alert(1)</script>""#,
    r#""../../../../etc/passwd""#,
    r#""http://[::1""#,
    r#""https://exa mple.com/""#,
    r#""https://user:pass@hooks.uptime-fuzz.invalid/x""#,
    r#""http://127.0.0.1:1/""#,
    r#""https://[::ffff:127.0.0.1]/""#,
    r#""https://0x7f000001/""#,
    r#""https://169.254.169.254/latest/meta-data/""#,
    r#""file:///etc/passwd""#,
    r#""javascript:alert(1)""#,
    r#""https://hooks.uptime-fuzz.invalid/***""#,
    r#""https://h***.invalid/***""#,
    r#""https://%00/""#,
    r#""https://xn--/""#,
    r#""https://a..b/""#,
    r#""https://uptime-fuzz.invalid:99999/""#,
    r#""https://uptime-fuzz.invalid:0/""#,
    r#""https://[fe80::1%25eth0]/""#,
    r#""host:""#,
    r#"":80""#,
    r#""[::1]:5432""#,
    r#""uptime-fuzz.invalid:-1""#,
    r#""uptime-fuzz.invalid:65536""#,
    r#""-5000-01-01T00:00:00Z""#,
    r#""+275760-09-13T00:00:00Z""#,
    r#""0000-01-01T00:00:00Z""#,
    r#""9999-12-31T23:59:60Z""#,
    r#""9999-12-31T23:59:59-23:59""#,
    r#""1970-01-01T00:00:00+25:00""#,
    r#""2030-02-30T00:00:00Z""#,
    r#""2999-01-01T00:00:00.9999999999Z""#,
    r#""00000000-0000-0000-0000-000000000000""#,
    r#""not-a-uuid""#,
    r#""admin""#,
    r#""ADMIN""#,
    r#""2xx""#,
    r#""6xx""#,
    r#""0-999""#,
    r#""299-200""#,
    r#""200-""#,
    r#""-""#,
    r#""GET\r\nX-Injected: 1""#,
    r#""TRACE""#,
    r#""CONNECT""#,
    r#""telegram""#,
    r#""webhook""#,
    r#""dns""#,
    r#""tls""#,
    r#""keyword""#,
    r#""1234567890:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA""#,
    r#""@chan""#,
    r#""@""#,
    r#""99999999999999999999""#,
    r#""NaN""#,
    r#""1e309""#,
    r#""-0""#,
    r#""true""#,
    r#""null""#,
    r#""opened""#,
    r#""incident.opened""#,
    r#""AAAA""#,
    r#""notContains""#,
];

/// Hostile JSON values other than strings: numbers at every edge, tokens
/// JSON does not have, wrong types.
const JSON_OTHERS: &[&str] = &[
    "1e309",
    "-1e309",
    "-0",
    "-0.0",
    "0.5",
    "1.0",
    "-1",
    "0",
    "1",
    "60",
    "86400",
    "604800",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1e-400",
    "123456789012345678901234567890e10",
    "1E2",
    "5e0",
    "NaN",
    "Infinity",
    "-Infinity",
    "+1",
    "01",
    ".5",
    "0x10",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "[null]",
    "[[]]",
    r#"{"":null}"#,
    r#"[1,"a",null,{}]"#,
    r#"["read","admin","admin"]"#,
    r#"["READ"]"#,
    r#"["read",null]"#,
    "[200,200,200]",
    "[0]",
    "[1000]",
    "[-1]",
    "[199,600]",
    r#"["opened","opened"]"#,
    r#"["incident.opened","nope"]"#,
    r#"{"X-A":"1","x-a":"2"}"#,
    r#"{"Host":"evil.invalid"}"#,
    r#"{"":""}"#,
    r#"{"a b":"c"}"#,
    r#"{"X":"a\r\nb"}"#,
    r#"{"X":1}"#,
    r#"{"__proto__":{"admin":true}}"#,
    r#"["00000000-0000-0000-0000-000000000000"]"#,
    r#"["not-a-uuid"]"#,
];

/// A hostile JSON value: mostly from the lists, sometimes a large one.
fn hostile_json(rng: &mut StdRng) -> String {
    match rng.random_range(0..100) {
        0..=39 => (*JSON_STRINGS.choose(rng).unwrap()).to_owned(),
        40..=79 => (*JSON_OTHERS.choose(rng).unwrap()).to_owned(),
        80..=83 => {
            let unit = *["a", "é", "😀", r"\u0000", r"\ud800", "%", r"\n"]
                .choose(rng)
                .unwrap();
            format!("\"{}\"", unit.repeat(100_000 / unit.len()))
        }
        84..=86 => {
            let item = *["1", "\"x\"", "null", "{}", "1e309"].choose(rng).unwrap();
            format!("[{}]", vec![item; 10_000].join(","))
        }
        87..=88 => nested(200, rng.random_bool(0.5)),
        89..=90 => nested(100, rng.random_bool(0.5)),
        91 => format!("\"https://{}.invalid/\"", "a".repeat(3000)),
        92 => format!("\"https://{}.invalid/\"", "a".repeat(64)),
        93 => format!("\"{}\"", "n".repeat(2049)),
        94 => format!("\"{}\"", "n".repeat(201)),
        95 => format!("\"{}\"", "b".repeat(65_537)),
        96 => {
            let keys: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\":\"v\"")).collect();
            format!("{{{}}}", keys.join(","))
        }
        97 => {
            let keys: Vec<String> = (0..51).map(|i| format!("\"X-H{i}\":\"v\"")).collect();
            format!("{{{}}}", keys.join(","))
        }
        // Over the body limit (1 MiB by default).
        98 => format!("\"{}\"", "z".repeat(1_100_000)),
        _ => format!("\"{}\"", Uuid::from_u128(rng.random())),
    }
}

fn nested(depth: usize, arrays: bool) -> String {
    if arrays {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    }
}

/// `base` as JSON text with one part made hostile, or bytes that are no
/// longer a valid body at all.
fn hostile_body(rng: &mut StdRng, base: &Value, note: &mut Vec<String>) -> Vec<u8> {
    let mut value = base.clone();
    let map = value.as_object_mut().unwrap();
    let keys: Vec<String> = map.keys().cloned().collect();
    let key = keys
        .choose(rng)
        .cloned()
        .unwrap_or_else(|| "name".to_owned());
    let slot_json = Value::String(SLOT.to_owned()).to_string();
    match rng.random_range(0..100) {
        // One value replaced, at the top or one level in.
        0..=44 => {
            let fragment = hostile_json(rng);
            let place = match map.get_mut(&key) {
                Some(Value::Array(items)) if !items.is_empty() && rng.random_bool(0.4) => {
                    let i = rng.random_range(0..items.len());
                    items[i] = Value::String(SLOT.to_owned());
                    format!("{key}[{i}]")
                }
                Some(Value::Object(fields)) if !fields.is_empty() && rng.random_bool(0.4) => {
                    let name = fields
                        .keys()
                        .nth(rng.random_range(0..fields.len()))
                        .unwrap()
                        .clone();
                    fields.insert(name.clone(), Value::String(SLOT.to_owned()));
                    format!("{key}.{name}")
                }
                _ => {
                    map.insert(key.clone(), Value::String(SLOT.to_owned()));
                    key
                }
            };
            note.push(format!("{place} = {}", excerpt(fragment.as_bytes(), 80)));
            value
                .to_string()
                .replacen(&slot_json, &fragment, 1)
                .into_bytes()
        }
        // A field with a hostile name.
        45..=49 => {
            let name = *JSON_STRINGS.choose(rng).unwrap();
            map.insert(SLOT.to_owned(), json!(1));
            note.push(format!("field named {name}"));
            value.to_string().replacen(&slot_json, name, 1).into_bytes()
        }
        // A key given twice.
        50..=57 => {
            let fragment = if rng.random_bool(0.5) {
                hostile_json(rng)
            } else {
                map[&key].to_string()
            };
            note.push(format!(
                "duplicate {key} = {}",
                excerpt(fragment.as_bytes(), 80)
            ));
            let text = value.to_string();
            let open = text.strip_suffix('}').unwrap();
            format!("{open},{}:{fragment}}}", json!(key)).into_bytes()
        }
        // Unknown or read-only fields.
        58..=63 => {
            let (name, extra) = [
                ("colour", json!("blue")),
                ("id", json!(Uuid::nil())),
                ("status", json!("up")),
                ("createdAt", json!("2020-01-01T00:00:00Z")),
                ("signingSecret", json!("whsec_x")),
                ("key", json!("k")),
                ("__proto__", json!({"admin": true})),
                ("", json!(null)),
            ]
            .choose(rng)
            .unwrap()
            .clone();
            map.insert(name.to_owned(), extra);
            note.push(format!("extra field {name:?}"));
            value.to_string().into_bytes()
        }
        // A field removed or nulled.
        64..=68 => {
            if rng.random_bool(0.5) {
                map.remove(&key);
                note.push(format!("without {key}"));
            } else {
                map.insert(key.clone(), Value::Null);
                note.push(format!("{key} = null"));
            }
            value.to_string().into_bytes()
        }
        69..=71 => value.to_string().into_bytes(),
        _ => garbage(rng, &value.to_string(), note),
    }
}

/// Bytes that are not a valid JSON object.
fn garbage(rng: &mut StdRng, valid: &str, note: &mut Vec<String>) -> Vec<u8> {
    let (label, bytes): (&str, Vec<u8>) = match rng.random_range(0..20) {
        0 => ("empty", Vec::new()),
        1 => {
            let mut bytes = vec![0u8; rng.random_range(1..512)];
            rng.fill(&mut bytes[..]);
            ("random bytes", bytes)
        }
        2 => {
            let cut = rng.random_range(0..valid.len().max(1));
            ("truncated", valid.as_bytes()[..cut].to_vec())
        }
        3 => (
            "byte order mark",
            [&b"\xEF\xBB\xBF"[..], valid.as_bytes()].concat(),
        ),
        4 => ("two documents", format!("{valid}{valid}").into_bytes()),
        5 => ("trailing garbage", format!("{valid} x").into_bytes()),
        6 => (
            "UTF-16LE",
            valid
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
        ),
        7 => ("latin-1 byte", b"{\"name\":\"caf\xe9\"}".to_vec()),
        8 => ("overlong NUL", b"{\"name\":\"a\xc0\x80b\"}".to_vec()),
        9 => ("UTF-8 surrogate", b"{\"name\":\"\xed\xa0\x80\"}".to_vec()),
        10 => ("raw NUL in a string", b"{\"name\":\"a\x00b\"}".to_vec()),
        11 => {
            let scalar = *["null", "[]", "\"x\"", "1", "true", "1e309", "-0"]
                .choose(rng)
                .unwrap();
            ("not an object", scalar.as_bytes().to_vec())
        }
        12 => ("whitespace", b" \n\t\r ".to_vec()),
        13 => ("unbalanced nesting", "[".repeat(100_000).into_bytes()),
        14 => (
            "deep nesting",
            nested(200, rng.random_bool(0.5)).into_bytes(),
        ),
        15 => (
            "multipart",
            b"--fuzz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--fuzz--\r\n"
                .to_vec(),
        ),
        16 => ("form", b"name=x&type=http&target=https%3A%2F%2Fa".to_vec()),
        17 => ("over the limit", vec![b' '; 1_100_000]),
        18 => ("NUL bytes", vec![0u8; 64]),
        _ => ("single quotes", valid.replace('"', "'").into_bytes()),
    };
    note.push(format!("body: {label}"));
    bytes
}

/// Content types other than `application/json`; `None` sends none.
const CONTENT_TYPES: &[Option<&[u8]>] = &[
    None,
    Some(b"text/plain".as_slice()),
    Some(b"application/json; charset=latin1".as_slice()),
    Some(b"application/json; charset=utf-16".as_slice()),
    Some(b"multipart/form-data; boundary=fuzz".as_slice()),
    Some(b"application/x-www-form-urlencoded".as_slice()),
    Some(b"application/merge-patch+json".as_slice()),
    Some(b"APPLICATION/JSON".as_slice()),
    Some(b"application/json; charset=\"utf-8\"; q=1; x".as_slice()),
    Some(b"application/jsonx".as_slice()),
    Some(b"application/json\xff".as_slice()),
    Some(b"".as_slice()),
    Some(b"*/*".as_slice()),
    Some(b"application/problem+json".as_slice()),
    Some(b";;;".as_slice()),
    Some(b"application/json, text/plain".as_slice()),
];

/// Hostile path segments (already percent-encoded where they need to be).
fn hostile_id(rng: &mut StdRng, real: &str, fixture: &Fixture, kind: Id) -> String {
    let real = if real.is_empty() { "x" } else { real };
    let other = fixture.ids_except(kind).choose(rng).unwrap().to_string();
    let asset_names = [
        "app.css",
        "../Cargo.toml",
        "%2e%2e%2fCargo.toml",
        "..%2F..%2FCargo.toml",
    ];
    if kind == Id::Asset && rng.random_bool(0.3) {
        return (*asset_names.choose(rng).unwrap()).to_owned();
    }
    let slugs = [
        "FUZZ-STATUS",
        "-fuzz-status",
        "fuzz--status",
        "fuzz-status%2F..",
        "fuzz_status",
        "admin",
    ];
    if kind == Id::PageSlug && rng.random_bool(0.3) {
        return match rng.random_range(0..5) {
            0 => "x".repeat(65),
            _ => (*slugs.choose(rng).unwrap()).to_owned(),
        };
    }
    match rng.random_range(0..25) {
        0 => "not-a-uuid".to_owned(),
        1 => Uuid::nil().to_string(),
        2 => Uuid::max().to_string(),
        3 => other,
        4 => "%00".to_owned(),
        5 => "%FF".to_owned(),
        6 => format!("{{{real}}}"),
        7 => format!("urn:uuid:{real}"),
        8 => real.to_uppercase(),
        9 => real.replace('-', ""),
        10 => format!("{real}%00"),
        11 => format!("%20{real}"),
        12 => real.chars().take(20).collect(),
        13 => "a".repeat(5000),
        14 => Uuid::from_u128(rng.random()).to_string(),
        15 => "-1".to_owned(),
        16 => "1e309".to_owned(),
        17 => "%E2%80%AE".to_owned(),
        18 => "null".to_owned(),
        19 => "%2F".to_owned(),
        20 => "..%2F..%2Fhealth".to_owned(),
        21 => "%0A".to_owned(),
        22 => "9223372036854775808".to_owned(),
        23 => "%F0%9F%98%80".to_owned(),
        _ => String::new(),
    }
}

/// Times the API takes, the edges of its range among them (percent-encoded:
/// a bare `+` reads as a space).
const VALID_TIMES: &[&str] = &[
    "2024-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999999Z",
    "0001-01-01T00:00:00.000001Z",
    "2024-01-01T00:00:00.123456789Z",
    "2024-01-01T00:00:00%2B14:00",
    "0001-01-01T00:00:00-12:00",
    "1970-01-01T00:00:00Z",
];

/// Times out of range or malformed.
const HOSTILE_TIMES: &[&str] = &[
    "-5000-01-01T00:00:00Z",
    "%2B275760-09-13T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:60Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00%2B23:59",
    "1970-01-01T00:00:00%2B25:00",
    "2262-04-11T23:47:16.854775808Z",
    "2030-02-30T00:00:00Z",
    "2024-01-01T00:00:00.99999999999999999999Z",
    "1970-01-01",
    "now",
    "",
    "%00",
    "1700000000",
];

/// Free text a filter takes (at most 500 characters, no NUL).
const VALID_TEXTS: &[&str] = &[
    "%FF",
    "%C0%80",
    "%ED%A0%80",
    "%25_%5C",
    "%27%3B%20DROP%20TABLE%20monitors%3B--",
    "%E2%80%AE",
    "%F0%9F%98%80",
    "+",
    "%2B",
    "*",
    "%0A%0D",
    "",
    "bootstrap",
    "monitor.create",
    "monitor",
    "fuzz",
    "%5B%5D",
    "=",
];

const HOSTILE_LIMITS: &[&str] = &[
    "-1",
    "0",
    "501",
    "1e99",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "1.5",
    "0x10",
    "%2B5",
    "%205",
    "5%20",
    "",
    "abc",
    "%00",
    "%FF",
    "NaN",
    "1_0",
    "%EF%BC%90",
];

const HOSTILE_BOOLS: &[&str] = &["maybe", "1", "0", "TRUE", "", "yes", "%00", "null", "t"];

/// Positions a cursor may hold, the extremes among them.
fn valid_positions(position: Position, fixture: &Fixture) -> Vec<String> {
    match position {
        Position::Uuid => {
            let mut ids: Vec<String> = fixture.ids().iter().map(Uuid::to_string).collect();
            ids.extend([Uuid::nil().to_string(), Uuid::max().to_string()]);
            ids
        }
        Position::Number => [
            fixture.audit_entry,
            fixture.attempt,
            0,
            i64::MAX,
            i64::MIN,
            fixture.status.status_change,
        ]
        .iter()
        .map(i64::to_string)
        .collect(),
        Position::Time => [
            fixture.result_slot.as_str(),
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "2024-01-01T00:00:00+14:00",
        ]
        .map(str::to_owned)
        .to_vec(),
        Position::Place => vec![
            format!(
                "{}|{}",
                STATUS_INCIDENT_STARTED, fixture.status.status_incident
            ),
            format!("0001-01-01T00:00:00Z|{}", Uuid::nil()),
            format!("9999-12-31T23:59:59.999999999Z|{}", Uuid::max()),
            format!(
                "2024-01-01T00:00:00+14:00|{}",
                fixture.status.status_incident
            ),
        ],
    }
}

/// What a status incident cursor decodes to when the API did not issue it.
const HOSTILE_PLACES: &[&str] = &[
    "|",
    "||",
    "2024-01-01T00:00:00Z|",
    "|00000000-0000-0000-0000-000000000000",
    "2024-01-01T00:00:00Z|not-a-uuid",
    "2024-01-01T00:00:00Z|00000000-0000-0000-0000-000000000000|x",
    "2024-01-01T00:00:00Z|{00000000-0000-0000-0000-000000000000}",
    "0000-01-01T00:00:00Z|00000000-0000-0000-0000-000000000000",
    "-5000-01-01T00:00:00Z|00000000-0000-0000-0000-000000000000",
    "+275760-09-13T00:00:00Z|00000000-0000-0000-0000-000000000000",
    "9999-12-31T23:59:60Z|00000000-0000-0000-0000-000000000000",
    "0001-01-01T00:00:00+14:00|00000000-0000-0000-0000-000000000000",
    "9999-12-31T23:59:59-12:00|00000000-0000-0000-0000-000000000000",
    "2024-01-01T00:00:00.99999999999Z|00000000-0000-0000-0000-000000000000",
    "2024-01-01 00:00:00|00000000-0000-0000-0000-000000000000",
];

/// What cursors decode to when the API did not issue them.
const HOSTILE_POSITIONS: &[&str] = &[
    "-5000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:60Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "1970-01-01T00:00:00+25:00",
    "2262-04-11T23:47:16.854775808Z",
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "1e3",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "\0",
    "",
    " 1",
    "1 ",
];

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hostile_cursor(rng: &mut StdRng, position: Position, valid: &str) -> String {
    match rng.random_range(0..10) {
        3..=5 if matches!(position, Position::Place) => {
            URL_SAFE_NO_PAD.encode(HOSTILE_PLACES.choose(rng).unwrap())
        }
        0 => {
            let mut bytes = vec![0u8; rng.random_range(0..48)];
            rng.fill(&mut bytes[..]);
            URL_SAFE_NO_PAD.encode(bytes)
        }
        1 => encode(&STANDARD.encode(valid)),
        2 => STANDARD.encode(format!("{valid}??>>")),
        3..=5 => URL_SAFE_NO_PAD.encode(HOSTILE_POSITIONS.choose(rng).unwrap()),
        6 => URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00, 0x80]),
        7 => URL_SAFE_NO_PAD.encode(vec![b'9'; 6000]),
        _ => (*["%%%", "%00", "=", "====", "", "%FF", "a", "AAAA"]
            .choose(rng)
            .unwrap())
        .to_owned(),
    }
}

/// One percent-encoded value for `param`: one the API takes, or not.
fn query_value(rng: &mut StdRng, param: Param, fixture: &Fixture, hostile: bool) -> String {
    if hostile && rng.random_bool(0.05) {
        return "a".repeat(8 * 1024);
    }
    let pick = |rng: &mut StdRng, list: &[&str]| (*list.choose(rng).unwrap()).to_owned();
    match (param, hostile) {
        (Param::Limit, false) => pick(rng, &["1", "2", "50", "500"]),
        (Param::Limit, true) => pick(rng, HOSTILE_LIMITS),
        (Param::Number(_), false) => pick(rng, &["1", "2", "10", "9999"]),
        (Param::Number(_), true) => pick(rng, HOSTILE_LIMITS),
        (Param::Cursor(position), _) => {
            let valid = valid_positions(position, fixture)
                .choose(rng)
                .unwrap()
                .clone();
            if hostile {
                hostile_cursor(rng, position, &valid)
            } else {
                URL_SAFE_NO_PAD.encode(valid)
            }
        }
        (Param::Time(_), false) => pick(rng, VALID_TIMES),
        (Param::Time(_), true) => pick(rng, HOSTILE_TIMES),
        (Param::Bool(_), false) => pick(rng, &["true", "false"]),
        (Param::Bool(_), true) => pick(rng, HOSTILE_BOOLS),
        (Param::Uuid(_), false) => fixture.ids().choose(rng).unwrap().to_string(),
        (Param::Uuid(_), true) => {
            hostile_id(rng, &fixture.monitor.to_string(), fixture, Id::Monitor)
        }
        (Param::Text(_), false) => match rng.random_range(0..10) {
            0 => "%F0%9F%98%80".repeat(500),
            1 => fixture.monitor.to_string(),
            _ => pick(rng, VALID_TEXTS),
        },
        (Param::Text(_), true) => match rng.random_range(0..4) {
            0 => "%F0%9F%98%80".repeat(501),
            1 => "a".repeat(501),
            _ => pick(rng, &["%00", "a%00b", "%00%00"]),
        },
        (Param::OneOf(_, valid), false) => pick(rng, valid),
        (Param::OneOf(_, valid), true) => {
            let one = *valid.choose(rng).unwrap();
            match rng.random_range(0..5) {
                0 => one.to_uppercase(),
                1 => format!("%20{one}"),
                2 => format!("{one}%00"),
                3 => valid.join(","),
                _ => pick(rng, &["", "%00", "smtp", "%FF", "yes"]),
            }
        }
    }
}

fn param_name(param: Param) -> &'static str {
    match param {
        Param::Limit => "limit",
        Param::Cursor(_) => "cursor",
        Param::Number(name)
        | Param::Time(name)
        | Param::Bool(name)
        | Param::Uuid(name)
        | Param::Text(name)
        | Param::OneOf(name, _) => name,
    }
}

/// Query strings that are not pairs of known parameters.
const JUNK_QUERIES: &[&str] = &[
    "colour=blue",
    "__proto__=x",
    "limit[]=1",
    "LIMIT=1",
    "%00=1",
    "=",
    "==",
    "&&&",
    "%",
    "%%%",
    "?",
    "a=1;b=2",
    "%zz=1",
    "a=%FF",
    "cursor",
    "limit",
];

/// A query string (with its `?`), or none.
fn query(rng: &mut StdRng, params: &[Param], fixture: &Fixture, note: &mut Vec<String>) -> String {
    if params.is_empty() || rng.random_bool(0.15) {
        if rng.random_bool(0.3) {
            let junk = *JUNK_QUERIES.choose(rng).unwrap();
            note.push(format!("query {junk}"));
            return format!("?{junk}");
        }
        return String::new();
    }
    // Distinct parameters, mostly one of them hostile so the others are read
    // too; sometimes one is repeated.
    let count = rng.random_range(1..=params.len().min(4));
    let mut chosen: Vec<Param> = params.choose_multiple(rng, count).copied().collect();
    if rng.random_bool(0.1) {
        chosen.push(*params.choose(rng).unwrap());
    }
    let hostile = rng
        .random_bool(0.7)
        .then(|| rng.random_range(0..chosen.len()));
    let mut pairs: Vec<String> = chosen
        .into_iter()
        .enumerate()
        .map(|(i, param)| {
            let value = query_value(rng, param, fixture, hostile == Some(i));
            format!("{}={value}", param_name(param))
        })
        .collect();
    if rng.random_bool(0.1) {
        pairs.push((*JUNK_QUERIES.choose(rng).unwrap()).to_owned());
    }
    let text = pairs.join("&");
    note.push(format!("query {}", excerpt(text.as_bytes(), 160)));
    format!("?{text}")
}

fn header(name: &'static str, value: impl AsRef<[u8]>) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_bytes(value.as_ref()).expect("a header value reqwest can send"),
    )
}

fn bearer(key: &str) -> (HeaderName, HeaderValue) {
    header("authorization", format!("Bearer {key}"))
}

/// Credentials: mostly the admin or the read-only key, sometimes junk.
fn credentials(
    rng: &mut StdRng,
    fixture: &Fixture,
    note: &mut Vec<String>,
) -> Vec<(HeaderName, HeaderValue)> {
    let roll = rng.random_range(0..100);
    if roll < 65 {
        return vec![bearer(ADMIN_KEY)];
    }
    if roll < 85 {
        note.push("read-only key".to_owned());
        return vec![bearer(&fixture.read_key)];
    }
    let long = "k".repeat(10 * 1024);
    let (label, headers) = match rng.random_range(0..16) {
        0 => ("no credentials", vec![]),
        1 => ("Basic", vec![header("authorization", "Basic dXNlcjpwYXNz")]),
        2 => ("Bearer alone", vec![header("authorization", "Bearer")]),
        3 => ("Bearer 10 KB", vec![bearer(&long)]),
        4 => (
            "Bearer non-ASCII",
            vec![header("authorization", b"Bearer \xff\xfe\xc3\xbc")],
        ),
        5 => (
            "lower-case bearer",
            vec![header("authorization", format!("bearer {ADMIN_KEY}"))],
        ),
        6 => (
            "padded bearer",
            vec![header("authorization", format!("Bearer   {ADMIN_KEY}  "))],
        ),
        7 => (
            "tab after Bearer",
            vec![header("authorization", format!("Bearer\t{ADMIN_KEY}"))],
        ),
        8 => ("key with a suffix", vec![bearer(&format!("{ADMIN_KEY}x"))]),
        9 => ("revoked key", vec![bearer(&fixture.revoked_key)]),
        10 => ("257-byte key", vec![bearer(&"k".repeat(257))]),
        11 => ("X-API-Key 10 KB", vec![header("x-api-key", &long)]),
        12 => (
            "X-API-Key non-ASCII",
            vec![header("x-api-key", b"\xff\xfe")],
        ),
        13 => (
            "junk Authorization beside a good X-API-Key",
            vec![
                header("authorization", "Token abc"),
                header("x-api-key", ADMIN_KEY),
            ],
        ),
        14 => (
            "two Authorization headers",
            vec![bearer(ADMIN_KEY), bearer("junk")],
        ),
        _ => ("Bearer %00", vec![bearer("%00")]),
    };
    note.push(label.to_owned());
    headers
}

/// Odd headers other than credentials; `true` when X-Request-Id is among them.
fn odd_headers(rng: &mut StdRng, note: &mut Vec<String>) -> (Vec<(HeaderName, HeaderValue)>, bool) {
    let mut headers = Vec::new();
    let mut request_id = false;
    for _ in 0..rng.random_range(1..=2) {
        let (name, value): (&'static str, Vec<u8>) = match rng.random_range(0..22) {
            0 => ("x-request-id", vec![b'r'; 10 * 1024]),
            1 => ("x-request-id", b"\xff\xfe".to_vec()),
            2 => ("x-request-id", b"../../etc".to_vec()),
            3 => ("x-request-id", b"<script>".to_vec()),
            4 => ("x-request-id", Vec::new()),
            5 => ("accept", b"text/html".to_vec()),
            6 => ("accept", b"application/xml".to_vec()),
            7 => ("accept", b"*/*;q=0".to_vec()),
            8 => ("accept", b"application/json;q=abc".to_vec()),
            9 => ("accept", vec![b'a'; 4096]),
            10 => ("accept", b"\xff".to_vec()),
            11 => ("if-none-match", b"*".to_vec()),
            12 => ("if-none-match", b"\"".to_vec()),
            13 => ("if-none-match", b"W/\"x\", junk, \"\"".to_vec()),
            14 => ("if-none-match", vec![b'"'; 8 * 1024]),
            15 => ("if-match", b"junk".to_vec()),
            16 => ("content-encoding", b"gzip".to_vec()),
            17 => ("accept-encoding", b"gzip;q=2, *;q=-1".to_vec()),
            18 => ("range", b"bytes=99999999999999999999-".to_vec()),
            19 => ("user-agent", vec![b'u'; 8 * 1024]),
            20 => ("x-forwarded-for", b"\xff, 999.1.1.1, ::::".to_vec()),
            _ => ("cookie", vec![b'c'; 4096]),
        };
        request_id |= name == "x-request-id";
        note.push(format!("{name}: {}", excerpt(&value, 40)));
        headers.push(header(name, value));
    }
    (headers, request_id)
}

/// The headers that name the page of a request by host: the Host of
/// `real`, mostly, or one no page has, or a proxy's header naming it.
fn page_host_headers(
    rng: &mut StdRng,
    real: &str,
    note: &mut Vec<String>,
) -> Vec<(HeaderName, HeaderValue)> {
    if rng.random_bool(0.75) {
        return vec![header("host", real)];
    }
    let (label, headers) = match rng.random_range(0..12) {
        0 => ("upper-case host", vec![header("host", real.to_uppercase())]),
        1 => (
            "host with a port",
            vec![header("host", format!("{real}:8080"))],
        ),
        2 => (
            "host with a dot after",
            vec![header("host", format!("{real}."))],
        ),
        3 => ("empty host", vec![header("host", "")]),
        4 => ("address host", vec![header("host", "[::1]:80")]),
        5 => ("long host", vec![header("host", "a".repeat(8 * 1024))]),
        6 => ("non-ASCII host", vec![header("host", b"\xff\xfe.invalid")]),
        7 => (
            "two hosts",
            vec![header("host", format!("evil.invalid, {real}"))],
        ),
        8 => (
            "X-Forwarded-Host",
            vec![
                header("x-forwarded-host", real),
                header("host", "evil.invalid"),
            ],
        ),
        9 => (
            "Forwarded host",
            vec![header("forwarded", format!("for=1.2.3.4;host=\"{real}\""))],
        ),
        10 => (
            "garbled Forwarded",
            vec![header("forwarded", "host=;;;=,\"\"host")],
        ),
        _ => (
            "unknown host",
            vec![header("host", "status.nowhere.invalid")],
        ),
    };
    note.push(label.to_owned());
    headers
}

/// One request of the run.
struct Probe {
    method: Method,
    target: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
    /// What was made hostile, for the report.
    note: Vec<String>,
    request_id: String,
}

impl Probe {
    fn generate(
        rng: &mut StdRng,
        route: &Route,
        fixture: &Fixture,
        real: &str,
        request_id: String,
    ) -> Self {
        let mut note = Vec::new();
        let mut path = route.path.to_owned();
        if !matches!(route.id, Id::None | Id::PageHost) {
            let id = if rng.random_bool(0.75) {
                real.to_owned()
            } else {
                let id = hostile_id(rng, real, fixture, route.id);
                note.push(format!("id {}", excerpt(id.as_bytes(), 60)));
                id
            };
            path = path.replace("{id}", &id);
        }
        for (placeholder, kind) in SECOND_IDS {
            if !path.contains(placeholder) {
                continue;
            }
            let real = fixture.id_of_kind(*kind);
            let id = if rng.random_bool(0.75) {
                real
            } else {
                let id = hostile_id(rng, &real, fixture, *kind);
                note.push(format!("{placeholder} {}", excerpt(id.as_bytes(), 60)));
                id
            };
            path = path.replace(placeholder, &id);
        }
        for (placeholder, served, hostile) in PARTS {
            if !path.contains(placeholder) {
                continue;
            }
            let part = if rng.random_bool(0.75) {
                (*served.choose(rng).unwrap()).to_owned()
            } else {
                let part = match rng.random_range(0..10) {
                    0 => "a/".repeat(2000),
                    _ => (*hostile.choose(rng).unwrap()).to_owned(),
                };
                note.push(format!("{placeholder} {}", excerpt(part.as_bytes(), 60)));
                part
            };
            path = path.replace(placeholder, &part);
        }
        let target = format!("{path}{}", query(rng, route.params, fixture, &mut note));

        let mut method = Method::from_bytes(route.method.as_bytes()).unwrap();
        if rng.random_bool(0.04) {
            // Not DELETE: it would remove the fixture its real id names.
            let odd = *[
                "HEAD", "OPTIONS", "TRACE", "FUZZ", "GET", "POST", "PUT", "PATCH",
            ]
            .choose(rng)
            .unwrap();
            note.push(format!("method {odd}"));
            method = Method::from_bytes(odd.as_bytes()).unwrap();
        }

        let mut headers = Vec::new();
        let body = if route.body != Body::None || rng.random_bool(0.1) {
            let base = match route.body {
                Body::None => json!({"unexpected": true}),
                kind => base_body(rng, kind, fixture),
            };
            let bytes = if route.body.has_edges() && rng.random_bool(0.35) {
                note.push("edge values, otherwise as valid".to_owned());
                base.to_string().into_bytes()
            } else {
                hostile_body(rng, &base, &mut note)
            };
            if rng.random_bool(0.8) {
                headers.push(header("content-type", "application/json"));
            } else if let Some(content_type) = *CONTENT_TYPES.choose(rng).unwrap() {
                note.push(format!("content-type {}", excerpt(content_type, 60)));
                headers.push(header("content-type", content_type));
            } else {
                note.push("no content-type".to_owned());
            }
            Some(bytes)
        } else {
            None
        };

        if route.id == Id::PageHost {
            headers.extend(page_host_headers(rng, real, &mut note));
        }
        headers.extend(credentials(rng, fixture, &mut note));
        let mut own_request_id = false;
        if rng.random_bool(0.2) {
            let (odd, sets_request_id) = odd_headers(rng, &mut note);
            headers.extend(odd);
            own_request_id = sets_request_id;
        }
        if !own_request_id {
            headers.push(header("x-request-id", &request_id));
        }
        Self {
            method,
            target,
            headers,
            body,
            note,
            request_id,
        }
    }

    /// A request with the admin key and, when given, a JSON body.
    fn json(method: &str, target: &str, body: Option<&Value>, request_id: String) -> Self {
        let mut headers = vec![bearer(ADMIN_KEY), header("x-request-id", &request_id)];
        if body.is_some() {
            headers.push(header("content-type", "application/json"));
        }
        Self {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            target: target.to_owned(),
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
            note: Vec::new(),
            request_id,
        }
    }

    /// A plain GET with `key`.
    fn plain(target: &str, key: &str, request_id: String) -> Self {
        Self {
            method: Method::GET,
            target: target.to_owned(),
            headers: vec![bearer(key), header("x-request-id", &request_id)],
            body: None,
            note: vec!["reading back".to_owned()],
            request_id,
        }
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "{} {}\n    request id: {}\n    notes: {}",
            self.method,
            excerpt(self.target.as_bytes(), 300),
            self.request_id,
            if self.note.is_empty() {
                "none".to_owned()
            } else {
                self.note.join("; ")
            }
        );
        if let Some(body) = &self.body {
            text.push_str(&format!(
                "\n    body ({} bytes): {}",
                body.len(),
                excerpt(body, 300)
            ));
        }
        text
    }
}

/// Reads back, as the admin and as the read-only key, every page of every
/// list and every resource the run left behind, through each GET route of
/// the table: a value the API accepted must be one it can answer with. The
/// public documents of every page listed are read once, by slug and by
/// custom domain.
async fn read_back(run: &mut Run, fixture: &Fixture, seed: u64) {
    let keys = [ADMIN_KEY, fixture.read_key.as_str()];
    let mut sent = 0;
    let mut request_id = || {
        sent += 1;
        format!("fuzz-{seed}-read-{sent}")
    };
    // Ids by the list they came from; slugs and custom domains of pages.
    let mut listed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut slugs, mut hosts) = (Vec::new(), Vec::new());
    for route in ROUTES
        .iter()
        .filter(|r| r.method == "GET" && r.id == Id::None)
    {
        let page_size = if route.params.is_empty() {
            ""
        } else {
            "?limit=500"
        };
        for key in keys {
            let mut target = format!("{}{page_size}", route.path);
            for _ in 0..20 {
                let probe = Probe::plain(&target, key, request_id());
                let Some((200, body)) = run.send(route, probe).await else {
                    break;
                };
                let Ok(page) = serde_json::from_slice::<Value>(&body) else {
                    break;
                };
                let items = page["items"].as_array().into_iter().flatten();
                for item in items {
                    listed
                        .entry(route.path)
                        .or_default()
                        .extend(item["id"].as_str().map(str::to_owned));
                    slugs.extend(item["slug"].as_str().map(str::to_owned));
                    hosts.extend(item["customDomain"].as_str().map(str::to_owned));
                }
                let Some(next) = page["nextCursor"].as_str() else {
                    break;
                };
                target = format!("{}?limit=500&cursor={next}", route.path);
            }
        }
    }
    // The ids of the updates each status incident read lists, by its path
    // (its route comes before that of its updates).
    let mut updates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for route in ROUTES
        .iter()
        .filter(|r| r.method == "GET" && r.id != Id::None)
    {
        // A badge is read for every component or monitor listed.
        let list = match route.path.split("/{id}").next().unwrap_or_default() {
            "/badge/component" => "/api/v1/components",
            "/badge/monitor" => "/api/v1/monitors",
            list => list,
        };
        let mut ids = match route.id {
            Id::PageSlug => slugs.clone(),
            Id::PageHost => hosts.clone(),
            _ => listed.get(list).cloned().unwrap_or_default(),
        };
        // What needs no credentials is read once.
        let keys = if is_public(route) {
            &keys[..1]
        } else {
            &keys[..]
        };
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            ids.push(fixture.id_of_kind(route.id));
        }
        for id in &ids {
            let mut targets = vec![route.path.replace("{id}", id)];
            for (placeholder, served, _) in PARTS {
                if route.path.contains(placeholder) {
                    targets = targets
                        .iter()
                        .flat_map(|t| served.iter().map(move |part| t.replace(placeholder, part)))
                        .collect();
                }
            }
            // The fixture's incident on every page; every update of every
            // incident read.
            let incident = fixture.status.status_incident.to_string();
            for target in &mut targets {
                *target = target.replace(INCIDENT_ID, &incident);
            }
            if route.path.contains(UPDATE_ID) {
                targets = targets
                    .iter()
                    .flat_map(|target| {
                        let incident = target.split("/updates/").next().unwrap_or_default();
                        updates
                            .get(incident)
                            .into_iter()
                            .flatten()
                            .map(|update| target.replace(UPDATE_ID, update))
                    })
                    .collect();
            }
            for target in &targets {
                for key in keys {
                    let mut probe = Probe::plain(target, key, request_id());
                    if route.id == Id::PageHost {
                        probe.headers.push(header("host", id));
                    }
                    let Some((200, body)) = run.send(route, probe).await else {
                        continue;
                    };
                    let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
                        continue;
                    };
                    if let Some(timeline) = answer["updates"].as_array() {
                        let ids = timeline
                            .iter()
                            .filter_map(|update| update["id"].as_str().map(str::to_owned));
                        updates.insert(target.clone(), ids.collect());
                    }
                }
            }
        }
    }
}

/// The start of `bytes`, lossily decoded and escaped, for the report.
fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]);
    let escaped: String = text.escape_debug().collect();
    if bytes.len() > max {
        format!("{escaped}… ({} bytes)", bytes.len())
    } else {
        escaped
    }
}

/// What a run saw.
#[derive(Default)]
struct Run {
    client: reqwest::Client,
    address: String,
    sent: usize,
    unsendable: usize,
    statuses: BTreeMap<u16, usize>,
    findings: Vec<String>,
}

impl Run {
    fn new(address: &str) -> Self {
        Self {
            // A fresh connection per request: an answer that ends its
            // connection cannot fail the next request.
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            address: address.to_owned(),
            sent: 0,
            unsendable: 0,
            statuses: BTreeMap::new(),
            findings: Vec::new(),
        }
    }

    /// Sends `probe` to `route` and judges the answer; returns it when
    /// there is one.
    async fn send(&mut self, route: &Route, probe: Probe) -> Option<(u16, Vec<u8>)> {
        let outcome = exchange(&self.client, &self.address, &probe).await;
        self.judge(route, &probe, outcome)
    }

    /// Sends the probes at once.
    async fn send_together(&mut self, probes: Vec<(&Route, Probe)>) {
        let (client, address) = (&self.client, self.address.as_str());
        let outcomes = futures_util::future::join_all(
            probes
                .iter()
                .map(|(_, probe)| exchange(client, address, probe)),
        )
        .await;
        for ((route, probe), outcome) in probes.iter().zip(outcomes) {
            self.judge(route, probe, outcome);
        }
    }

    /// Counts an exchange and records what is wrong with it.
    fn judge(&mut self, route: &Route, probe: &Probe, outcome: Exchange) -> Option<(u16, Vec<u8>)> {
        let (problem, answer) = match outcome {
            Exchange::Unsendable => {
                self.unsendable += 1;
                return None;
            }
            Exchange::Failed(problem) => (Some(problem), None),
            Exchange::Answered(status, body) => {
                *self.statuses.entry(status).or_default() += 1;
                let problem = verdict(route, &probe.method, status, &body)
                    .map(|problem| format!("{problem}; answer {status} {}", excerpt(&body, 300)));
                (problem, Some((status, body)))
            }
        };
        self.sent += 1;
        if let Some(problem) = problem {
            self.findings.push(format!(
                "[{} {}] {problem}\n    {}",
                route.method,
                route.path,
                probe.describe()
            ));
        }
        answer
    }

    fn report(&self, seed: u64) -> String {
        format!(
            "{} of {} fuzz requests failed (seed {seed}; FUZZ_SEED={seed} replays them; match \
             the request id in the server log):\n{}",
            self.findings.len(),
            self.sent,
            self.findings.join("\n")
        )
    }
}

/// How one request went.
enum Exchange {
    /// The client refused to build it (not the server's doing).
    Unsendable,
    /// No answer: a timeout or a broken connection.
    Failed(String),
    Answered(u16, Vec<u8>),
}

async fn exchange(client: &reqwest::Client, address: &str, probe: &Probe) -> Exchange {
    let mut request = client.request(probe.method.clone(), format!("{address}{}", probe.target));
    for (name, value) in &probe.headers {
        request = request.header(name.clone(), value.clone());
    }
    if let Some(body) = &probe.body {
        request = request.body(body.clone());
    }
    let Ok(request) = request.build() else {
        return Exchange::Unsendable;
    };
    let answer = async {
        let response = client.execute(request).await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body.to_vec()))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
        Err(_) => Exchange::Failed(format!("no answer within {REQUEST_TIMEOUT:?}")),
        Ok(Err(error)) => Exchange::Failed(format!("transport error: {error:#}")),
        Ok(Ok((status, body))) => Exchange::Answered(status, body),
    }
}

/// What is wrong with an answer, if anything. Every 5xx counts, 503 too: in
/// this healthy setup nothing answers 503 (only /health with a dependency
/// down, check-now with Redis unreachable, a request past its deadline, or
/// a public page before its first snapshot). A 4xx of a page for people
/// may be in the page's own format.
fn verdict(route: &Route, method: &Method, status: u16, body: &[u8]) -> Option<String> {
    if status >= 500 {
        return Some("server error".to_owned());
    }
    if !(400..500).contains(&status) || *method == Method::HEAD || answers_people(route) {
        return None;
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Some("4xx answer is not JSON".to_owned());
    };
    let filled = |field: &str| json[field].as_str().is_some_and(|s| !s.is_empty());
    if filled("error") && filled("message") {
        None
    } else {
        Some("4xx answer lacks error or message".to_owned())
    }
}
