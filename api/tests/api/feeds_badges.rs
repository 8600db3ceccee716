//! The Atom and RSS feeds of a published status page and the SVG badges of
//! its components and their monitors, read back as a feed reader and an
//! SVG viewer would.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// How long a change may take to reach the snapshot.
const PROMISED: StdDuration = StdDuration::from_secs(6);

const SECRET_MONITOR: &str = "secret-monitor-name-b4d9";
const SECRET_TARGET: &str = "https://internal-b4d9.example.com/health";
const OTHER_MONITOR: &str = "private-monitor-c1e2";

/// A published page "acme" with the components API (driven by a monitor)
/// and CDN, a hidden component, an incident on API with two updates, and a
/// maintenance window on CDN.
struct Fixture {
    app: TestApp,
    api: String,
    cdn: String,
    hidden: String,
    monitor: String,
    other_monitor: String,
    incident: String,
}

async fn component(app: &TestApp, body: Value) -> String {
    let response = app.post("/api/v1/components", &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let json: Value = response.json().await.unwrap();
    json["id"].as_str().unwrap().to_owned()
}

/// Creates a page through the management API and publishes it with PATCH.
async fn published_page(app: &TestApp, slug: &str, component_ids: &[&str]) -> String {
    let response = app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": slug, "title": "Acme", "sections": [{"name": "Core", "componentIds": component_ids}]}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let page: Value = response.json().await.unwrap();
    let path = format!("/api/v1/status-pages/{}", page["id"].as_str().unwrap());
    let response = app.patch(&path, &json!({"published": true})).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    path
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let monitor = app
        .create_monitor(json!({"name": SECRET_MONITOR, "type": "http", "target": SECRET_TARGET}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_monitor = app
        .create_monitor(
            json!({"name": OTHER_MONITOR, "type": "http", "target": "https://c1e2.example.com"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = component(&app, json!({"name": "API", "monitorIds": [monitor]})).await;
    let cdn = component(&app, json!({"name": "CDN"})).await;
    let hidden = component(
        &app,
        json!({"name": "Hidden billing", "monitorIds": [other_monitor]}),
    )
    .await;
    published_page(&app, "acme", &[&api, &cdn]).await;

    let response = app
        .post(
            "/api/v1/status-incidents",
            &json!({
                "name": "Slow API responses",
                "body": "We are investigating slow <responses>.",
                "componentIds": [api, hidden],
                "componentStatuses": {api.clone(): "degraded_performance"}
            }),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
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
    let at = |offset: Duration| (Utc::now() + offset).to_rfc3339();
    for body in [
        json!({"title": "CDN migration", "description": "Moving static files.", "componentIds": [cdn],
               "startsAt": at(Duration::minutes(-10)), "endsAt": at(Duration::hours(1))}),
        json!({"title": "Billing window", "componentIds": [hidden],
               "startsAt": at(Duration::days(1)), "endsAt": at(Duration::days(1) + Duration::hours(1))}),
    ] {
        let response = app.post("/api/v1/maintenance-windows", &body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    Fixture {
        app,
        api,
        cdn,
        hidden,
        monitor,
        other_monitor,
        incident,
    }
}

async fn get(app: &TestApp, path: &str) -> Response {
    app.anonymous(Method::GET, path).send().await.unwrap()
}

/// Polls the Atom feed until it shows both updates and the maintenance.
async fn settled_atom(app: &TestApp) -> atom_syndication::Feed {
    let started = Instant::now();
    loop {
        let response = get(app, "/status/acme/feed.atom").await;
        if response.status() == 200 {
            let body = response.bytes().await.unwrap();
            let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
            let updates_shown = feed.entries.iter().any(|e| {
                e.content
                    .as_ref()
                    .and_then(|c| c.value.as_deref())
                    .is_some_and(|v| v.contains("A slow query"))
            });
            if updates_shown && feed.entries.len() == 2 {
                return feed;
            }
        }
        assert!(
            started.elapsed() < PROMISED,
            "the feed did not show the incident within {PROMISED:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn atom_feed_lists_incident_updates_newest_first_and_maintenance() {
    let f = fixture().await;
    let feed = settled_atom(&f.app).await;
    assert_eq!(feed.title.value, "Acme status");
    let incident = feed
        .entries
        .iter()
        .find(|e| e.id == format!("urn:uuid:{}", f.incident))
        .expect("the incident's entry");
    assert!(incident.title.value.starts_with("Slow API responses"));
    assert!(incident.links[0]
        .href
        .ends_with(&format!("/status/acme/incidents/{}", f.incident)));
    let content = incident.content.as_ref().unwrap();
    assert_eq!(content.content_type.as_deref(), Some("html"));
    let html = content.value.as_deref().unwrap();
    let identified = html.find("A slow query; fixing it.").unwrap();
    let investigating = html
        .find("We are investigating slow &lt;responses&gt;.")
        .expect("the first update, escaped");
    assert!(identified < investigating, "newest update first: {html}");
    assert!(html.contains("Identified") && html.contains("Investigating"));
    let maintenance = feed
        .entries
        .iter()
        .find(|e| e.title.value.contains("CDN migration"))
        .expect("the maintenance entry");
    assert!(maintenance.title.value.contains("In progress"));
    let body = maintenance
        .content
        .as_ref()
        .unwrap()
        .value
        .as_deref()
        .unwrap();
    assert!(body.contains("Moving static files."));
}

#[tokio::test]
async fn rss_feed_has_the_same_items_and_no_monitor_or_hidden_data() {
    let f = fixture().await;
    settled_atom(&f.app).await;
    let response = get(&f.app, "/status/acme/feed.rss").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    for secret in [
        SECRET_MONITOR,
        SECRET_TARGET,
        OTHER_MONITOR,
        "Hidden billing",
        "Billing window",
        f.hidden.as_str(),
        f.monitor.as_str(),
    ] {
        assert!(!body.contains(secret), "the RSS feed shows {secret}");
    }
    let channel = rss::Channel::read_from(body.as_bytes()).unwrap();
    assert_eq!(channel.title, "Acme status");
    assert!(channel.link.ends_with("/status/acme"), "{}", channel.link);
    assert_eq!(channel.items.len(), 2);
    let incident = channel
        .items
        .iter()
        .find(|i| i.guid.as_ref().unwrap().value == format!("urn:uuid:{}", f.incident))
        .unwrap();
    let description = incident.description.as_deref().unwrap();
    assert!(description.contains("A slow query; fixing it."));
    assert!(description.contains("We are investigating"));
    assert!(incident.pub_date.is_some());

    let atom = get(&f.app, "/status/acme/feed.atom").await;
    assert_eq!(
        atom.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let atom = atom.text().await.unwrap();
    for secret in [
        SECRET_MONITOR,
        SECRET_TARGET,
        "Hidden billing",
        "Billing window",
    ] {
        assert!(!atom.contains(secret), "the Atom feed shows {secret}");
    }
}

#[tokio::test]
async fn feeds_answer_etag_304_and_404_for_unpublished_or_unknown_pages() {
    let f = fixture().await;
    settled_atom(&f.app).await;
    for path in ["/status/acme/feed.atom", "/status/acme/feed.rss"] {
        let response = get(&f.app, path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "public, max-age=10");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let response = f
            .app
            .anonymous(Method::GET, path)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{path}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = f
        .app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": "draft", "title": "Draft", "sections": [{"name": "All", "componentIds": [f.hidden]}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    for path in [
        "/status/draft/feed.atom",
        "/status/draft/feed.rss",
        "/status/nowhere/feed.rss",
        "/status/Not_A_Slug/feed.atom",
        "/feed.atom",
    ] {
        assert_eq!(get(&f.app, path).await.status(), 404, "{path}");
    }
}

/// The text an SVG shows, its nodes joined by spaces.
fn svg_text(svg: &str) -> String {
    let document = roxmltree::Document::parse(svg).unwrap();
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fetches a badge, checks its headers and returns its text.
async fn badge_text(app: &TestApp, path: &str) -> String {
    let response = get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(headers["content-type"], "image/svg+xml", "{path}");
    assert_eq!(headers["cache-control"], "public, max-age=60", "{path}");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    svg_text(&body)
}

/// Polls a badge until its text contains `wanted`.
async fn eventually_badge(app: &TestApp, path: &str, wanted: &str) -> String {
    let started = Instant::now();
    loop {
        let text = badge_text(app, path).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(
            started.elapsed() < PROMISED,
            "{path} did not show {wanted:?}: {text}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn badges_show_figures_of_published_components_and_their_monitors() {
    let f = fixture().await;
    // A check of the monitor a minute ago: up, 123 ms.
    f.app
        .db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
             VALUES ($1, now() - interval '1 minute', now() - interval '1 minute', 'up', 123)",
            &[&f.monitor.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    f.app
        .db
        .execute(
            "UPDATE monitors SET status = 'up' WHERE id = $1",
            &[&f.monitor.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();

    let api = format!("/badge/component/{}", f.api);
    let text = eventually_badge(&f.app, &format!("{api}/status.svg"), "partial outage").await;
    assert!(text.contains("status"), "{text}");
    let text = badge_text(&f.app, &format!("{api}/uptime.svg?period=7d")).await;
    assert!(text.contains("uptime 7d"), "{text}");
    assert!(text.contains('%') || text.contains("no data"), "{text}");
    let text = badge_text(&f.app, &format!("{api}/response-time.svg")).await;
    assert!(text.contains("n/a"), "{text}");
    let text = badge_text(
        &f.app,
        &format!(
            "/badge/component/{}/status.svg?label=Edge&style=flat-square",
            f.cdn
        ),
    )
    .await;
    assert!(
        text.contains("Edge") && text.contains("operational"),
        "{text}"
    );
    let text = badge_text(&f.app, &format!("{api}/status.svg?style=for-the-badge")).await;
    assert!(text.to_lowercase().contains("partial outage"), "{text}");

    let monitor = format!("/badge/monitor/{}", f.monitor);
    let text = badge_text(&f.app, &format!("{monitor}/status.svg")).await;
    assert!(text.contains("up"), "{text}");
    let text = badge_text(&f.app, &format!("{monitor}/uptime.svg?period=24h")).await;
    assert!(
        text.contains("uptime 24h") && text.contains("100%"),
        "{text}"
    );
    let text = badge_text(&f.app, &format!("{monitor}/response-time.svg?period=24h")).await;
    assert!(text.contains("123 ms"), "{text}");
    let text = badge_text(&f.app, &format!("{monitor}/cert-expiry.svg")).await;
    assert!(
        text.contains("certificate") && text.contains("n/a"),
        "{text}"
    );
    // The badge names no monitor.
    let text = badge_text(&f.app, &format!("{monitor}/status.svg")).await;
    assert!(!text.contains(SECRET_MONITOR) && !text.contains("internal-b4d9"));
}

#[tokio::test]
async fn anything_without_a_badge_answers_the_same_neutral_unknown_badge() {
    let f = fixture().await;
    // Wait for the snapshot, so "unknown" is not just a cold start.
    eventually_badge(
        &f.app,
        &format!("/badge/component/{}/status.svg", f.api),
        "partial outage",
    )
    .await;
    let neutral = get(
        &f.app,
        &format!("/badge/component/{}/status.svg", uuid::Uuid::new_v4()),
    )
    .await
    .text()
    .await
    .unwrap();
    // shields writes each text more than once (shadow, text, accessible title).
    let text = svg_text(&neutral);
    assert!(
        text.contains("unknown")
            && text
                .split(' ')
                .all(|word| word == "status" || word == "unknown"),
        "{text}"
    );
    for id in [
        f.hidden.as_str(),
        f.other_monitor.as_str(),
        "not-a-uuid",
        f.incident.as_str(),
    ] {
        for kind in ["component", "monitor", "page"] {
            let path = format!("/badge/{kind}/{id}/status.svg");
            let response = get(&f.app, &path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.text().await.unwrap(), neutral, "{path}");
        }
    }
    let text = badge_text(
        &f.app,
        &format!("/badge/monitor/{}/uptime.svg", f.other_monitor),
    )
    .await;
    assert!(text.contains("unknown") && !text.contains('%'), "{text}");
    let text = badge_text(
        &f.app,
        &format!("/badge/component/{}/uptime.svg?period=1y", f.api),
    )
    .await;
    assert!(text.contains("unknown"), "{text}");
    // A component whose page is unpublished has no badge either.
    let page = published_page(&f.app, "second", &[&f.hidden]).await;
    eventually_badge(
        &f.app,
        &format!("/badge/component/{}/status.svg", f.hidden),
        "operational",
    )
    .await;
    let response = f.app.patch(&page, &json!({"published": false})).await;
    assert_eq!(response.status(), 200);
    eventually_badge(
        &f.app,
        &format!("/badge/component/{}/status.svg", f.hidden),
        "unknown",
    )
    .await;
}

#[tokio::test]
async fn badges_answer_304_to_their_etag() {
    let f = fixture().await;
    let path = format!("/badge/component/{}/status.svg", f.cdn);
    eventually_badge(&f.app, &path, "operational").await;
    let response = get(&f.app, &path).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let response = f
        .app
        .anonymous(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], etag.as_str());
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
}

#[tokio::test]
async fn cert_expiry_badge_shows_the_days_left_of_the_latest_tls_check() {
    let app = spawn_app().await;
    let tls = app
        .create_monitor(json!({"name": "cert", "type": "tls", "target": "example.com:443"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id: uuid::Uuid = tls.parse().unwrap();
    for (minutes_ago, days) in [(2, 50), (1, 45)] {
        app.db
            .execute(
                "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms, details) \
                 VALUES ($1, now() - make_interval(mins => $2), now() - make_interval(mins => $2), \
                         'up', 40, jsonb_build_object('certificate', jsonb_build_object('daysRemaining', $3::int)))",
                &[&id, &minutes_ago, &days],
            )
            .await
            .unwrap();
    }
    let website = component(&app, json!({"name": "Website", "monitorIds": [tls]})).await;
    published_page(&app, "certs", &[&website]).await;
    let path = format!("/badge/monitor/{tls}/cert-expiry.svg?label=TLS");
    let text = eventually_badge(&app, &path, "45 days").await;
    assert!(text.contains("TLS"), "{text}");
}

#[tokio::test]
async fn a_custom_domain_serves_its_feeds_at_the_root() {
    let f = fixture().await;
    let pages: Value = f
        .app
        .get("/api/v1/status-pages")
        .await
        .json()
        .await
        .unwrap();
    let page = &pages["items"][0];
    let path = format!("/api/v1/status-pages/{}", page["id"].as_str().unwrap());
    let response = f
        .app
        .patch(&path, &json!({"customDomain": "status.acme.example"}))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let started = Instant::now();
    loop {
        let response = f
            .app
            .anonymous(Method::GET, "/feed.rss")
            .header("Host", "status.acme.example")
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            let body = response.text().await.unwrap();
            let channel = rss::Channel::read_from(body.as_bytes()).unwrap();
            assert_eq!(channel.link, "https://status.acme.example");
            assert!(channel.items.iter().any(|i| i
                .link
                .as_deref()
                .is_some_and(|l| l.starts_with("https://status.acme.example/incidents/"))));
            break;
        }
        assert!(
            started.elapsed() < PROMISED,
            "/feed.rss on the custom domain answered {}",
            response.status()
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}
