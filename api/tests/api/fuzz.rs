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

/// Requests sent to each route: about 2,100 in all, some 6 s on two cores.
const REQUESTS_PER_ROUTE: usize = 60;
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
}

/// What a cursor encodes.
#[derive(Debug, Clone, Copy)]
enum Position {
    Uuid,
    Number,
    Time,
}

/// A query parameter a route reads, by the values it takes.
#[derive(Debug, Clone, Copy)]
enum Param {
    Limit,
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

/// Every route the API serves, from the `configure` functions of
/// api/src/routes/*.rs and api/src/pages/assets.rs. Add a new route here.
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
    route("GET", "/api/v1/workers/status", Id::None, &[], Body::None),
];

#[tokio::test]
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
        for n in 0..REQUESTS_PER_ROUTE {
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
        let together: Vec<String> = chosen
            .iter()
            .map(|(method, path, _, _)| format!("{method} {path}"))
            .collect();
        let together = format!("sent at once with {}", together.join(", "));
        let probes = chosen
            .into_iter()
            .enumerate()
            .map(|(i, (method, path, id, body))| {
                let route = ROUTES
                    .iter()
                    .find(|r| r.method == method && r.path == path)
                    .expect("a route of the table");
                let target = path.replace("{id}", id);
                let request_id = format!("fuzz-{seed}-race-{round}-{i}");
                let mut probe = Probe::json(method, &target, body, request_id);
                probe.note.push(together.clone());
                (route, probe)
            })
            .collect();
        run.send_together(probes).await;
    }
    println!(
        "racing: {} rounds of {RACING_REQUESTS} requests in {:.1?}; statuses {:?}",
        RACING_ROUNDS,
        started.elapsed(),
        run.statuses,
    );
    assert!(run.findings.is_empty(), "{}", run.report(seed));
}

/// Whether requests to `route` can leave the fixture changed (a DELETE
/// works on resources of its own).
fn changes_fixture(route: &Route) -> bool {
    matches!(route.method, "PUT" | "PATCH")
        || route.path.ends_with("/pause")
        || route.path.ends_with("/resume")
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
            Id::Channel => self.channels.choose(rng).unwrap().0.to_string(),
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

    /// Puts the monitor and the channels back as created (the run patches,
    /// pauses and retypes them).
    async fn restore(&self, app: &TestApp) {
        let path = format!("/api/v1/monitors/{}", self.monitor);
        let response = app.put(&path, &self.monitor_body).await;
        assert_eq!(response.status(), 200, "restoring the monitor");
        for (id, body) in &self.channels {
            let response = app.put(&format!("/api/v1/channels/{id}"), body).await;
            assert_eq!(response.status(), 200, "restoring channel {body}");
        }
    }
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
        Position::Number => [fixture.audit_entry, fixture.attempt, 0, i64::MAX, i64::MIN]
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
    }
}

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

fn hostile_cursor(rng: &mut StdRng, valid: &str) -> String {
    match rng.random_range(0..10) {
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
        (Param::Cursor(position), _) => {
            let valid = valid_positions(position, fixture)
                .choose(rng)
                .unwrap()
                .clone();
            if hostile {
                hostile_cursor(rng, &valid)
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
        Param::Time(name)
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
        if route.id != Id::None {
            let id = if rng.random_bool(0.75) {
                real.to_owned()
            } else {
                let id = hostile_id(rng, real, fixture, route.id);
                note.push(format!("id {}", excerpt(id.as_bytes(), 60)));
                id
            };
            path = path.replace("{id}", &id);
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
            let bytes = hostile_body(rng, &base, &mut note);
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
/// the table: a value the API accepted must be one it can answer with.
async fn read_back(run: &mut Run, fixture: &Fixture, seed: u64) {
    let keys = [ADMIN_KEY, fixture.read_key.as_str()];
    let mut sent = 0;
    let mut request_id = || {
        sent += 1;
        format!("fuzz-{seed}-read-{sent}")
    };
    // Ids by the list they came from.
    let mut listed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
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
                let ids = page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item["id"].as_str().map(str::to_owned));
                listed.entry(route.path).or_default().extend(ids);
                let Some(next) = page["nextCursor"].as_str() else {
                    break;
                };
                target = format!("{}?limit=500&cursor={next}", route.path);
            }
        }
    }
    for route in ROUTES
        .iter()
        .filter(|r| r.method == "GET" && r.id != Id::None)
    {
        let list = route.path.split("/{id}").next().unwrap_or_default();
        let mut ids = listed.get(list).cloned().unwrap_or_default();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            ids.push(fixture.id_of_kind(route.id));
        }
        for id in &ids {
            for key in keys {
                let target = route.path.replace("{id}", id);
                run.send(route, Probe::plain(&target, key, request_id()))
                    .await;
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
                let problem = verdict(&probe.method, status, &body)
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
/// down, check-now with Redis unreachable, or a request past its deadline).
fn verdict(method: &Method, status: u16, body: &[u8]) -> Option<String> {
    if status >= 500 {
        return Some("server error".to_owned());
    }
    if !(400..500).contains(&status) || *method == Method::HEAD {
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
