//! The public status page snapshot and its Statuspage API v2 compatible JSON
//! (`/status/{slug}/api/v2/...`), checked against the shapes in
//! shared/reference/statuspage-api-v2.md.

use std::net::TcpListener;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use uptime_api::Application;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, test_config, TestApp};

/// Every document under `/api/v2/`.
const DOCUMENTS: [&str; 8] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];

/// How long a change may take to show (the snapshot rebuilds on NOTIFY, and
/// at least every 5 s without it).
const PROMISED: StdDuration = StdDuration::from_secs(6);

/// What a JSON value is, for shape assertions.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    StrOrNull,
    Int,
    Bool,
    Array,
    ArrayOrNull,
    Null,
    /// An ISO 8601 time with offset.
    Time,
    TimeOrNull,
    /// A `YYYY-MM-DD` date.
    Date,
}

/// Asserts that `object` has exactly the keys of `shape`, each of its kind.
fn assert_shape(object: &Value, shape: &[(&str, Kind)], what: &str) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {object}"));
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = shape.iter().map(|(k, _)| *k).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{what}: keys of {object}");
    for (key, kind) in shape {
        let value = &map[*key];
        let time = |v: &Value| {
            v.as_str()
                .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok())
        };
        let ok = match kind {
            Kind::Str => value.is_string(),
            Kind::StrOrNull => value.is_string() || value.is_null(),
            Kind::Int => value.is_i64(),
            Kind::Bool => value.is_boolean(),
            Kind::Array => value.is_array(),
            Kind::ArrayOrNull => value.is_array() || value.is_null(),
            Kind::Null => value.is_null(),
            Kind::Time => time(value),
            Kind::TimeOrNull => value.is_null() || time(value),
            Kind::Date => value
                .as_str()
                .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
        };
        assert!(ok, "{what}.{key}: expected {kind:?}, got {value}");
    }
}

const PAGE_SHAPE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("name", Kind::Str),
    ("url", Kind::Str),
    ("time_zone", Kind::Str),
    ("updated_at", Kind::Time),
];

const COMPONENT_SHAPE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("name", Kind::Str),
    ("status", Kind::Str),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
    ("position", Kind::Int),
    ("description", Kind::StrOrNull),
    ("showcase", Kind::Bool),
    ("start_date", Kind::Date),
    ("group_id", Kind::StrOrNull),
    ("page_id", Kind::Str),
    ("group", Kind::Bool),
    ("only_show_if_degraded", Kind::Bool),
];

const UPDATE_SHAPE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("status", Kind::Str),
    ("body", Kind::Str),
    ("incident_id", Kind::Str),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
    ("display_at", Kind::Time),
    ("affected_components", Kind::ArrayOrNull),
    ("deliver_notifications", Kind::Bool),
    ("custom_tweet", Kind::Null),
    ("tweet_id", Kind::Null),
];

const INCIDENT_SHAPE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("name", Kind::Str),
    ("status", Kind::Str),
    ("impact", Kind::Str),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
    ("monitoring_at", Kind::TimeOrNull),
    ("resolved_at", Kind::TimeOrNull),
    ("started_at", Kind::TimeOrNull),
    ("shortlink", Kind::Str),
    ("page_id", Kind::Str),
    ("incident_updates", Kind::Array),
    ("components", Kind::Array),
];

const STATUSES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];

fn assert_component(component: &Value, page_id: &str) {
    if component["group"] == true {
        let mut shape = COMPONENT_SHAPE.to_vec();
        shape.push(("components", Kind::Array));
        assert_shape(component, &shape, "group component");
    } else {
        assert_shape(component, COMPONENT_SHAPE, "component");
    }
    assert!(STATUSES.contains(&component["status"].as_str().unwrap()));
    assert_eq!(component["page_id"], page_id);
}

fn assert_incident(incident: &Value, page_id: &str) {
    assert_shape(incident, INCIDENT_SHAPE, "incident");
    assert!([
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem"
    ]
    .contains(&incident["status"].as_str().unwrap()));
    assert!(["none", "minor", "major", "critical"].contains(&incident["impact"].as_str().unwrap()));
    assert_eq!(incident["page_id"], page_id);
    for update in incident["incident_updates"].as_array().unwrap() {
        assert_shape(update, UPDATE_SHAPE, "incident update");
        assert_eq!(update["incident_id"], incident["id"]);
        for affected in update["affected_components"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_shape(
                affected,
                &[
                    ("code", Kind::Str),
                    ("name", Kind::Str),
                    ("old_status", Kind::Str),
                    ("new_status", Kind::Str),
                ],
                "affected component",
            );
        }
    }
    for component in incident["components"].as_array().unwrap() {
        assert_component(component, page_id);
    }
}

fn assert_maintenance(maintenance: &Value, page_id: &str) {
    let mut shape = INCIDENT_SHAPE.to_vec();
    shape.push(("scheduled_for", Kind::Time));
    shape.push(("scheduled_until", Kind::Time));
    assert_shape(maintenance, &shape, "scheduled maintenance");
    assert_eq!(maintenance["impact"], "maintenance");
    assert!(["scheduled", "in_progress", "verifying", "completed"]
        .contains(&maintenance["status"].as_str().unwrap()));
    assert_eq!(maintenance["page_id"], page_id);
    for update in maintenance["incident_updates"].as_array().unwrap() {
        assert_shape(update, UPDATE_SHAPE, "maintenance update");
    }
    for component in maintenance["components"].as_array().unwrap() {
        assert_component(component, page_id);
    }
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

async fn component(app: &TestApp, body: Value) -> String {
    let response = app.post("/api/v1/components", &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create component failed: {json}");
    json["id"].as_str().unwrap().to_owned()
}

/// Creates a page with SQL (the management API is another module's) and
/// returns its id.
async fn page(app: &TestApp, slug: &str, published: bool, sections: &[(&str, &[&str])]) -> Uuid {
    let id = Uuid::new_v4();
    app.db
        .execute(
            "INSERT INTO status_pages (id, slug, title, description, published) \
             VALUES ($1, $2, $3, 'Our services', $4)",
            &[&id, &slug, &format!("{slug} status"), &published],
        )
        .await
        .unwrap();
    for (position, (name, ids)) in sections.iter().enumerate() {
        let ids: Vec<Uuid> = ids.iter().map(|s| s.parse().unwrap()).collect();
        app.db
            .execute(
                "INSERT INTO status_page_sections (page_id, position, name, component_ids) \
                 VALUES ($1, $2, $3, $4)",
                &[&id, &i32::try_from(position).unwrap(), name, &ids],
            )
            .await
            .unwrap();
    }
    id
}

async fn public(app: &TestApp, slug: &str, document: &str) -> Response {
    app.anonymous(Method::GET, &format!("/status/{slug}/api/v2/{document}"))
        .send()
        .await
        .unwrap()
}

async fn json_of(app: &TestApp, slug: &str, document: &str) -> Value {
    let response = public(app, slug, document).await;
    assert_eq!(response.status(), 200, "{slug}/{document}");
    response.json().await.unwrap()
}

/// Polls `document` until `check` holds, for at most [`PROMISED`]; returns
/// the body and how long it took.
async fn eventually(
    app: &TestApp,
    slug: &str,
    document: &str,
    check: impl Fn(&Value) -> bool,
) -> (Value, StdDuration) {
    let started = Instant::now();
    loop {
        let response = public(app, slug, document).await;
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            if check(&body) {
                return (body, started.elapsed());
            }
            assert!(
                started.elapsed() < PROMISED,
                "{slug}/{document} did not change within {PROMISED:?}: {body}"
            );
        } else {
            assert!(
                started.elapsed() < PROMISED,
                "{slug}/{document} answered {} for {PROMISED:?}",
                response.status()
            );
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// A page with a group and its children, a plain component, a component that
/// is not on the page, an incident with a timeline, and maintenance in
/// progress and upcoming; a monitor with a recognisable name and target
/// drives one of the components.
struct Fixture {
    app: TestApp,
    page_id: String,
    group: String,
    api: String,
    web: String,
    cdn: String,
    hidden: String,
    incident: String,
}

const SECRET_MONITOR: &str = "secret-monitor-name-7f3a";
const SECRET_TARGET: &str = "https://internal-7f3a.example.com/health";

async fn fixture() -> Fixture {
    fixture_with(&[]).await
}

async fn fixture_with(config: &[(&str, &str)]) -> Fixture {
    let app = spawn_app_with(config).await;
    let monitor = app
        .create_monitor(json!({"name": SECRET_MONITOR, "type": "http", "target": SECRET_TARGET}))
        .await;
    let group = component(
        &app,
        json!({"name": "Platform", "group": true, "description": "Everything we run"}),
    )
    .await;
    let api = component(
        &app,
        json!({"name": "API", "groupId": group, "position": 1, "monitorIds": [monitor["id"]]}),
    )
    .await;
    let web = component(
        &app,
        json!({"name": "Website", "groupId": group, "position": 2}),
    )
    .await;
    let cdn = component(&app, json!({"name": "CDN", "description": "Static files"})).await;
    let hidden = component(&app, json!({"name": "Hidden billing"})).await;
    let page_id = page(
        &app,
        "acme",
        true,
        &[("Core", &[&group]), ("Edge", &[&cdn])],
    )
    .await;

    let response = app
        .post(
            "/api/v1/status-incidents",
            &json!({
                "name": "Slow API responses",
                "body": "We are investigating slow responses.",
                "componentIds": [api, hidden],
                "componentStatuses": {api.clone(): "degraded_performance"}
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let incident: Value = response.json().await.unwrap();
    let incident = incident["id"].as_str().unwrap().to_owned();
    let response = app
        .post(
            &format!("/api/v1/status-incidents/{incident}/updates"),
            &json!({"status": "identified", "body": "A slow query; fixing it.",
                    "componentStatuses": {api.clone(): "partial_outage"}}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    for body in [
        json!({"title": "CDN migration", "description": "Moving static files.", "componentIds": [cdn],
               "startsAt": at(Duration::minutes(-10)), "endsAt": at(Duration::hours(1))}),
        json!({"title": "Platform upgrade", "componentIds": [group],
               "startsAt": at(Duration::days(2)), "endsAt": at(Duration::days(2) + Duration::hours(2))}),
        json!({"title": "Billing window", "componentIds": [hidden],
               "startsAt": at(Duration::days(1)), "endsAt": at(Duration::days(1) + Duration::hours(1))}),
    ] {
        let response = app.post("/api/v1/maintenance-windows", &body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    Fixture {
        app,
        page_id: page_id.to_string(),
        group,
        api,
        web,
        cdn,
        hidden,
        incident,
    }
}

/// Waits until the snapshot shows the fixture's incident update.
async fn settled(f: &Fixture) -> Value {
    eventually(&f.app, "acme", "summary.json", |s| {
        s["incidents"][0]["incident_updates"]
            .as_array()
            .is_some_and(|u| u.len() == 2)
            && s["scheduled_maintenances"]
                .as_array()
                .is_some_and(|m| m.len() == 2)
    })
    .await
    .0
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_v2_document_has_statuspage_shapes_and_values() {
    let f = fixture().await;
    let summary = settled(&f).await;
    let page_id = f.page_id.as_str();

    for document in DOCUMENTS {
        let body = json_of(&f.app, "acme", document).await;
        assert_shape(&body["page"], PAGE_SHAPE, "page");
        assert_eq!(body["page"]["id"], page_id);
        assert_eq!(body["page"]["name"], "acme status");
        assert_eq!(body["page"]["url"], "/status/acme");
        assert_eq!(body["page"]["time_zone"], "Etc/UTC");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        let expected: &[&str] = match document {
            "summary.json" => &[
                "components",
                "incidents",
                "page",
                "scheduled_maintenances",
                "status",
            ],
            "status.json" => &["page", "status"],
            "components.json" => &["components", "page"],
            "incidents.json" | "incidents/unresolved.json" => &["incidents", "page"],
            _ => &["page", "scheduled_maintenances"],
        };
        let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, expected, "{document}");
        if let Some(status) = body.get("status") {
            assert_shape(
                status,
                &[("indicator", Kind::Str), ("description", Kind::Str)],
                "status",
            );
        }
        for component in body["components"].as_array().into_iter().flatten() {
            assert_component(component, page_id);
        }
        for incident in body["incidents"].as_array().into_iter().flatten() {
            assert_incident(incident, page_id);
        }
        for maintenance in body["scheduled_maintenances"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_maintenance(maintenance, page_id);
        }
    }

    // Components in page order: the group, its children, then the next section.
    let components = &summary["components"];
    assert_eq!(
        ids(components),
        [&f.group, &f.api, &f.web, &f.cdn].map(String::as_str)
    );
    let group = &components[0];
    assert_eq!(group["name"], "Platform");
    assert_eq!(group["group"], true);
    assert_eq!(group["description"], "Everything we run");
    assert_eq!(group["components"], json!([f.api, f.web]));
    assert!(group["group_id"].is_null());
    for child in [&components[1], &components[2]] {
        assert_eq!(child["group_id"], f.group);
        assert_eq!(child["group"], false);
        assert!(child.get("components").is_none());
    }
    assert_eq!(components[1]["status"], "partial_outage");
    assert_eq!(components[2]["status"], "operational");
    assert_eq!(components[3]["description"], "Static files");
    let positions: Vec<i64> = components
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3, 4]);

    // The partial outage of API makes the page a major one.
    assert_eq!(summary["status"]["indicator"], "major");
    assert_eq!(summary["status"]["description"], "Partial System Outage");

    // The incident with its timeline, newest first; only components on the page.
    let incident = &summary["incidents"][0];
    assert_eq!(incident["id"], f.incident);
    assert_eq!(incident["name"], "Slow API responses");
    assert_eq!(incident["status"], "identified");
    assert!(incident["resolved_at"].is_null());
    assert!(incident["monitoring_at"].is_null());
    assert_eq!(
        incident["shortlink"],
        format!("/status/acme/incidents/{}", f.incident)
    );
    assert_eq!(ids(&incident["components"]), [f.api.as_str()]);
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates[0]["status"], "identified");
    assert_eq!(updates[0]["body"], "A slow query; fixing it.");
    assert_eq!(
        updates[0]["affected_components"],
        json!([{"code": f.api, "name": "API", "old_status": "degraded_performance",
                "new_status": "partial_outage"}])
    );
    assert_eq!(updates[1]["status"], "investigating");
    assert_eq!(updates[1]["body"], "We are investigating slow responses.");
    assert_eq!(
        updates[1]["affected_components"][0]["old_status"],
        "operational"
    );

    // Maintenance: the CDN's in progress, the group's upcoming (it covers the
    // children too); the hidden component's window is absent.
    let maintenances = &summary["scheduled_maintenances"];
    assert_eq!(maintenances[0]["name"], "CDN migration");
    assert_eq!(maintenances[0]["status"], "in_progress");
    assert_eq!(
        maintenances[0]["incident_updates"][0]["body"],
        "Moving static files."
    );
    assert_eq!(ids(&maintenances[0]["components"]), [f.cdn.as_str()]);
    assert_eq!(maintenances[1]["name"], "Platform upgrade");
    assert_eq!(maintenances[1]["status"], "scheduled");
    assert_eq!(
        ids(&maintenances[1]["components"]),
        [&f.group, &f.api, &f.web].map(String::as_str)
    );
    let scheduled_for: DateTime<Utc> = maintenances[1]["scheduled_for"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(scheduled_for > Utc::now() + Duration::days(1));

    let active = json_of(&f.app, "acme", "scheduled-maintenances/active.json").await;
    assert_eq!(
        active["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );
    assert_eq!(active["scheduled_maintenances"][0]["status"], "in_progress");
    let upcoming = json_of(&f.app, "acme", "scheduled-maintenances/upcoming.json").await;
    assert_eq!(
        upcoming["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );
    assert_eq!(upcoming["scheduled_maintenances"][0]["status"], "scheduled");

    // Resolving moves the incident out of the unresolved list, not out of incidents.json.
    let response = f
        .app
        .post(
            &format!("/api/v1/status-incidents/{}/updates", f.incident),
            &json!({"status": "monitoring", "body": "Fixed; watching."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = f
        .app
        .post(
            &format!("/api/v1/status-incidents/{}/updates", f.incident),
            &json!({"status": "resolved", "body": "All good."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let (unresolved, _) = eventually(&f.app, "acme", "incidents/unresolved.json", |b| {
        b["incidents"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    assert_shape(&unresolved["page"], PAGE_SHAPE, "page");
    let all = json_of(&f.app, "acme", "incidents.json").await;
    let incident = &all["incidents"][0];
    assert_incident(incident, page_id);
    assert_eq!(incident["status"], "resolved");
    assert!(incident["resolved_at"].is_string());
    assert!(incident["monitoring_at"].is_string());
    assert_eq!(incident["incident_updates"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn hidden_components_unpublished_pages_and_monitors_never_appear() {
    let f = fixture().await;
    settled(&f).await;
    page(&f.app, "draft", false, &[("All", &[&f.hidden])]).await;
    let hidden_name = "Hidden billing";
    for document in DOCUMENTS {
        let body = public(&f.app, "acme", document).await.text().await.unwrap();
        for secret in [
            f.hidden.as_str(),
            hidden_name,
            "Billing window",
            SECRET_MONITOR,
            SECRET_TARGET,
            "internal-7f3a",
        ] {
            assert!(!body.contains(secret), "{document} shows {secret}: {body}");
        }
        for slug in ["draft", "nowhere"] {
            let response = public(&f.app, slug, document).await;
            assert_eq!(response.status(), 404, "{slug}/{document}");
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "{slug}/{document}"
            );
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["error"], "not_found");
        }
    }
    // Publishing the draft shows it within seconds; unpublishing hides it again.
    f.app
        .db
        .execute(
            "UPDATE status_pages SET published = true WHERE slug = 'draft'",
            &[],
        )
        .await
        .unwrap();
    eventually(&f.app, "draft", "components.json", |b| {
        b["components"][0]["name"] == hidden_name
    })
    .await;
    f.app
        .db
        .execute(
            "UPDATE status_pages SET published = false WHERE slug = 'draft'",
            &[],
        )
        .await
        .unwrap();
    let started = Instant::now();
    while public(&f.app, "draft", "status.json").await.status() != 404 {
        assert!(
            started.elapsed() < PROMISED,
            "unpublished page still served"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    // A page's custom domain serves its documents at /api/v2/; other hosts get 404.
    f.app
        .db
        .execute(
            "UPDATE status_pages SET custom_domain = 'status.acme.test' WHERE slug = 'acme'",
            &[],
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let response = f
            .app
            .anonymous(Method::GET, "/api/v2/components.json")
            .header("Host", "Status.Acme.Test:8443")
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["page"]["url"], "https://status.acme.test");
            assert_eq!(body["components"].as_array().unwrap().len(), 4);
            break;
        }
        assert!(started.elapsed() < PROMISED, "custom domain not served");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let response = f
        .app
        .anonymous(Method::GET, "/api/v2/components.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Malformed slugs and unknown documents are 404 before any lookup.
    for path in [
        "/status/ACME/api/v2/summary.json",
        "/status/-acme/api/v2/summary.json",
        "/status/ac_me/api/v2/summary.json",
        &format!("/status/{}/api/v2/summary.json", "a".repeat(65)),
        "/status/acme/api/v2/history.json",
        "/status/acme/api/v2/summary.json/",
        "/status/acme/api/v1/summary.json",
    ] {
        let response = f.app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn status_indicator_follows_the_worst_component() {
    let app = spawn_app().await;
    let first = component(&app, json!({"name": "First"})).await;
    let second = component(&app, json!({"name": "Second"})).await;
    page(&app, "ind", true, &[("All", &[&first, &second])]).await;
    eventually(&app, "ind", "status.json", |b| {
        b["status"]["indicator"] == "none"
    })
    .await;
    let body = json_of(&app, "ind", "status.json").await;
    assert_eq!(body["status"]["description"], "All Systems Operational");
    for (status, indicator, description) in [
        (
            "degraded_performance",
            "minor",
            "Partially Degraded Service",
        ),
        ("partial_outage", "major", "Partial System Outage"),
        ("major_outage", "critical", "Major Service Outage"),
        (
            "under_maintenance",
            "maintenance",
            "Service Under Maintenance",
        ),
        ("operational", "none", "All Systems Operational"),
    ] {
        let response = app
            .post(
                &format!("/api/v1/components/{first}/status"),
                &json!({"status": status}),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let (body, _) = eventually(&app, "ind", "status.json", |b| {
            b["status"]["indicator"] == indicator
        })
        .await;
        assert_eq!(body["status"]["description"], description);
        let components = json_of(&app, "ind", "components.json").await;
        assert_eq!(components["components"][0]["status"], status);
        assert_eq!(components["components"][1]["status"], "operational");
    }
}

#[tokio::test]
async fn documents_carry_etag_cache_and_cors_headers_and_answer_304() {
    let f = fixture().await;
    settled(&f).await;
    for document in DOCUMENTS {
        let response = public(&f.app, "acme", document).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["cache-control"], "public, max-age=10");
        assert_eq!(headers["access-control-allow-origin"], "*");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let response = f
            .app
            .anonymous(Method::GET, &format!("/status/acme/api/v2/{document}"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{document}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert!(response.bytes().await.unwrap().is_empty());

        let response = f
            .app
            .anonymous(Method::GET, &format!("/status/acme/api/v2/{document}"))
            .header("If-None-Match", "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // A rebuild without a change keeps the ETag (a cache stays valid).
    let before = public(&f.app, "acme", "components.json").await.headers()["etag"].clone();
    tokio::time::sleep(StdDuration::from_millis(5500)).await;
    let after = public(&f.app, "acme", "components.json").await.headers()["etag"].clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn an_incident_update_shows_in_summary_within_seconds() {
    let f = fixture().await;
    let summary = settled(&f).await;
    let etag_before = public(&f.app, "acme", "summary.json").await.headers()["etag"].clone();
    assert_eq!(summary["incidents"][0]["status"], "identified");
    let response = f
        .app
        .post(
            &format!("/api/v1/status-incidents/{}/updates", f.incident),
            &json!({"status": "monitoring", "body": "A fix is out; we are watching."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let (summary, took) = eventually(&f.app, "acme", "summary.json", |s| {
        s["incidents"][0]["status"] == "monitoring"
    })
    .await;
    println!("incident update visible in summary.json after {took:?}");
    assert_eq!(
        summary["incidents"][0]["incident_updates"][0]["body"],
        "A fix is out; we are watching."
    );
    assert!(summary["incidents"][0]["monitoring_at"].is_string());
    let etag_after = public(&f.app, "acme", "summary.json").await.headers()["etag"].clone();
    assert_ne!(etag_before, etag_after);
}

#[tokio::test]
async fn cold_start_with_the_database_down_answers_503() {
    // A port nothing listens on: bind one, then free it.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://uptime:uptime@127.0.0.1:{port}/nowhere");
    let config = test_config("nowhere", &[("DATABASE_URL", &url)]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(config, listener).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    let client = reqwest::Client::new();
    for document in DOCUMENTS {
        let response = client
            .get(format!("{address}/status/acme/api/v2/{document}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{document}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unavailable");
        assert!(body["message"].as_str().is_some_and(|m| m.ends_with('.')));
    }
    // A malformed slug is still a plain 404.
    let response = client
        .get(format!("{address}/status/NOPE/api/v2/summary.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Not a timed assertion: prints how long one snapshot build takes for a page
/// of 100 components with 90 days of history (see the README).
#[tokio::test]
async fn measures_the_snapshot_build_of_100_components_with_90_days_of_bars() {
    let app = spawn_app().await;
    let today = Utc::now().duration_trunc(TimeDelta::days(1)).unwrap();
    let created = today - TimeDelta::days(91);
    let ids: Vec<Uuid> = (0..100).map(|_| Uuid::new_v4()).collect();
    app.db
        .execute(
            "INSERT INTO components (id, name, position, created_at, updated_at) \
             SELECT id, 'Component ' || n, n, $2, $2 \
             FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)",
            &[&ids, &created],
        )
        .await
        .unwrap();
    // Four status changes a day for 91 days per component.
    app.db
        .execute(
            "INSERT INTO component_status_changes (component_id, old_status, new_status, source, at) \
             SELECT c.id, 'operational', \
                    (ARRAY['operational','degraded_performance','partial_outage','major_outage'])[1 + (h / 6) % 4], \
                    'automatic', $2::timestamptz + make_interval(hours => h) \
             FROM unnest($1::uuid[]) AS c(id), generate_series(0, 91 * 24 - 1, 6) AS h",
            &[&ids, &created],
        )
        .await
        .unwrap();
    let id = Uuid::new_v4();
    app.db
        .execute(
            "INSERT INTO status_pages (id, slug, title, published, uptime_days) \
             VALUES ($1, 'big', 'Big', true, 90)",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO status_page_sections (page_id, position, name, component_ids) \
             VALUES ($1, 0, 'All', $2)",
            &[&id, &ids],
        )
        .await
        .unwrap();
    let config = test_config(&app.db_name, &[]);
    let pool = shared::db::build_pool_sized(&config, 1).unwrap();
    let mut client = pool.get().await.unwrap();
    let mut bars = uptime_api::pages::snapshot::DayBars::default();
    // Cold: every bar; cached: none; today: every component's status changed,
    // so today's bar of each is computed again.
    for kind in ["cold", "cached", "today", "cached", "today"] {
        if kind == "today" {
            app.db
                .execute("UPDATE components SET status_changed_at = now()", &[])
                .await
                .unwrap();
        }
        let started = Instant::now();
        let snapshots = uptime_api::pages::snapshot::build_all(&mut client, &mut bars)
            .await
            .unwrap();
        let built = started.elapsed();
        let render = Instant::now();
        for snapshot in &snapshots {
            uptime_api::pages::statuspage_api::Documents::render(snapshot).unwrap();
        }
        let rendered = render.elapsed();
        assert_eq!(snapshots[0].components.len(), 100);
        assert_eq!(snapshots[0].components[0].days.len(), 90);
        assert!(snapshots[0].components[0].uptime_percent.is_some());
        println!(
            "snapshot of 100 components x 90 days ({kind}): read {built:?}, JSON rendered {rendered:?}"
        );
    }
}

#[tokio::test]
async fn incidents_json_lists_the_50_most_recent_and_summary_only_open_ones() {
    let app = spawn_app().await;
    let shown = component(&app, json!({"name": "Shown"})).await;
    let shown_id: Uuid = shown.parse().unwrap();
    page(&app, "many", true, &[("All", &[&shown])]).await;
    // 55 incidents resolved long before the page's 14 days of history.
    app.db
        .execute(
            "WITH made AS ( \
                 INSERT INTO status_incidents (id, name, impact, status, started_at, resolved_at) \
                 SELECT gen_random_uuid(), 'Old incident ' || n, 'minor', 'resolved', \
                        now() - make_interval(days => 100 + n), now() - make_interval(days => 99 + n) \
                 FROM generate_series(1, 55) AS n RETURNING id) \
             INSERT INTO status_incident_components (incident_id, component_id) \
             SELECT id, $1 FROM made",
            &[&shown_id],
        )
        .await
        .unwrap();
    let (all, _) = eventually(&app, "many", "incidents.json", |b| {
        b["incidents"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    let names: Vec<&str> = all["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=50).map(|n| format!("Old incident {n}")).collect();
    assert_eq!(names, expected);
    let summary = json_of(&app, "many", "summary.json").await;
    assert_eq!(summary["incidents"], json!([]));
    let unresolved = json_of(&app, "many", "incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"], json!([]));
}

#[tokio::test]
async fn a_page_served_before_stays_up_when_its_database_is_gone() {
    let app = spawn_app().await;
    let shown = component(&app, json!({"name": "Shown"})).await;
    page(&app, "sturdy", true, &[("All", &[&shown])]).await;
    eventually(&app, "sturdy", "summary.json", |b| {
        b["components"][0]["name"] == "Shown"
    })
    .await;
    let before = public(&app, "sturdy", "summary.json").await;
    let etag = before.headers()["etag"].clone();
    let body = before.text().await.unwrap();

    let name = app.db_name.clone();
    tokio::task::spawn_blocking(move || shared::testing::drop_database(&name))
        .await
        .unwrap();
    // Longer than the rebuild interval: at least one rebuild has failed.
    tokio::time::sleep(StdDuration::from_secs(6)).await;
    for document in DOCUMENTS {
        assert_eq!(public(&app, "sturdy", document).await.status(), 200);
    }
    let after = public(&app, "sturdy", "summary.json").await;
    assert_eq!(after.headers()["etag"], etag);
    assert_eq!(after.text().await.unwrap(), body);
}

#[tokio::test]
async fn with_a_public_base_url_every_link_is_absolute_and_leads_somewhere() {
    let f = fixture_with(&[("PUBLIC_BASE_URL", "https://status.acme.example/")]).await;
    let summary = settled(&f).await;
    let base = "https://status.acme.example/status/acme";
    assert_eq!(summary["page"]["url"], base);
    let incident = &summary["incidents"][0];
    assert_eq!(
        incident["shortlink"],
        format!("{base}/incidents/{}", f.incident)
    );
    // Each shortlink, taken back to this server, answers the page that
    // holds it: the incident's permalink, the maintenance's anchor.
    let html = f
        .app
        .anonymous(
            Method::GET,
            &format!("/status/acme/incidents/{}", f.incident),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("Slow API responses"));
    let page_html = f
        .app
        .anonymous(Method::GET, "/status/acme")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for maintenance in summary["scheduled_maintenances"].as_array().unwrap() {
        let shortlink = maintenance["shortlink"].as_str().unwrap();
        let anchor = shortlink
            .strip_prefix(&format!("{base}#"))
            .unwrap_or_else(|| panic!("{shortlink} is not an anchor on {base}"));
        assert!(
            page_html.contains(&format!("id=\"{anchor}\"")),
            "no element {anchor} on the page"
        );
    }
    // Feeds link to the base URL whatever Host the request named.
    let feed = f
        .app
        .anonymous(Method::GET, "/status/acme/feed.atom")
        .header("Host", "internal-name:8008")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains(&format!("href=\"{base}\"")), "{feed}");
    assert!(!feed.contains("internal-name"), "{feed}");
}
