//! The public status page in HTML (`/status/{slug}`, its incident
//! permalinks and history): what a reader sees for each overall status, a
//! page with a group, maintenance and an incident timeline, what stays
//! hidden, 404 and 503 pages, caching headers and the page policy.

use std::net::TcpListener;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use uptime_api::Application;

use crate::helpers::{spawn_app, test_config, TestApp};

/// How long a change may take to reach the page (the snapshot rebuilds on
/// NOTIFY, and at least every 5 s without it).
const PROMISED: StdDuration = StdDuration::from_secs(6);

/// Creates a component and returns its id.
async fn component(app: &TestApp, body: Value) -> String {
    let response = app.post("/api/v1/components", &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create component failed: {json}");
    json["id"].as_str().unwrap().to_owned()
}

/// Creates a page through the management API, then publishes it.
async fn publish(app: &TestApp, body: Value) -> Value {
    let response = app.post("/api/v1/status-pages", &body).await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create status page failed: {created}");
    let path = format!("/api/v1/status-pages/{}", created["id"].as_str().unwrap());
    let response = app.patch(&path, &json!({"published": true})).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn get(app: &TestApp, path: &str) -> Response {
    app.anonymous(Method::GET, path).send().await.unwrap()
}

/// Polls `path` until it answers 200 with a body for which `check` holds.
async fn eventually(app: &TestApp, path: &str, check: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let response = get(app, path).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        if status == 200 && check(&body) {
            return body;
        }
        assert!(
            started.elapsed() < PROMISED,
            "{path} did not show the change within {PROMISED:?} ({status}):\n{body}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// The words of the overall banner.
fn banner(html: &str) -> &str {
    let start = html
        .find("role=\"status\"")
        .expect("a banner with role=status");
    let rest = &html[start..];
    let text = &rest[rest.find("<p class=\"banner-text\">").unwrap() + 23..];
    &text[..text.find("</p>").unwrap()]
}

/// Where `needle` is in `html`, failing when it is absent.
fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not on the page"))
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

#[tokio::test]
async fn the_banner_says_the_overall_status_in_words() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    publish(
        &app,
        json!({"slug": "acme", "title": "Acme status",
               "sections": [{"name": "Core", "componentIds": [api]}]}),
    )
    .await;
    let html = eventually(&app, "/status/acme", |_| true).await;
    assert_eq!(banner(&html), "All systems operational");
    for (status, words) in [
        ("degraded_performance", "Degraded performance"),
        ("partial_outage", "Partial outage"),
        ("major_outage", "Major outage"),
        ("under_maintenance", "Under maintenance"),
        ("operational", "All systems operational"),
    ] {
        let response = app
            .post(
                &format!("/api/v1/components/{api}/status"),
                &json!({"status": status}),
            )
            .await;
        assert!(response.status().is_success(), "{status}");
        let html = eventually(&app, "/status/acme", |html| banner(html) == words).await;
        assert!(html.contains("<h1 class=\"page-title\">Acme status</h1>"));
    }
}

#[tokio::test]
async fn a_page_shows_its_sections_maintenance_and_incident_timeline_with_permalinks() {
    let app = spawn_app().await;
    let secret = app
        .create_monitor(json!({"name": "Secret probe", "type": "http",
                               "target": "https://internal-secret.example.com/health"}))
        .await;
    let group = component(&app, json!({"name": "Backend", "group": true})).await;
    let api = component(
        &app,
        json!({"name": "Public API", "groupId": group, "monitorIds": [secret["id"]]}),
    )
    .await;
    component(&app, json!({"name": "Website", "groupId": group})).await;
    let cdn = component(&app, json!({"name": "CDN", "description": "Static files"})).await;
    let hidden = component(&app, json!({"name": "Hidden billing"})).await;
    let page = publish(
        &app,
        json!({"slug": "acme", "title": "Acme status", "uptimeDays": 30, "historyDays": 7,
               "description": "Live status of Acme's services",
               "sections": [{"name": "Core", "componentIds": [group]},
                            {"name": "Edge", "componentIds": [cdn]}]}),
    )
    .await;
    assert_eq!(page["published"], true);

    let response = app
        .post(
            "/api/v1/status-incidents",
            &json!({"name": "Slow API responses",
                    "body": "We are investigating slow responses.\n<script>alert(1)</script>",
                    "componentIds": [api, hidden],
                    "componentStatuses": {api.clone(): "degraded_performance"}}),
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
    assert_eq!(response.status(), 201);
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

    let html = eventually(&app, "/status/acme", |html| {
        html.contains("A slow query; fixing it.") && html.contains("Platform upgrade")
    })
    .await;
    assert_eq!(banner(&html), "Partial outage");
    assert!(html.contains("Live status of Acme&#39;s services"));
    // Sections and components in page order, each status in words.
    let core = position(&html, ">Core</h2>");
    let backend = position(&html, ">Backend</h3>");
    let public_api = position(&html, ">Public API</h4>");
    let website = position(&html, ">Website</h4>");
    let edge = position(&html, ">Edge</h2>");
    let cdn_at = position(&html, ">CDN</h3>");
    assert!(core < backend && backend < public_api && public_api < website);
    assert!(website < edge && edge < cdn_at);
    assert!(html[public_api..website].contains("Partial outage"));
    // The worker, not the API, puts components under maintenance.
    assert!(html[cdn_at..].contains("Operational"));
    assert!(html.contains("Static files"));
    // A bar per day as a list with words; days before the component existed
    // are "no data", never 100 %.
    let bars = &html[position(&html, "aria-label=\"Uptime of CDN")..];
    let bars = &bars[..bars.find("</ol>").unwrap()];
    assert_eq!(bars.matches("<li class=\"bar").count(), 30);
    assert_eq!(bars.matches(": No data").count(), 29, "{bars}");
    assert!(html.contains("uptime over 30 days"));
    // Today's bar of an affected component names the day's incident.
    let api_bars = &html[position(&html, "aria-label=\"Uptime of Public API")..];
    let api_today = &api_bars[..api_bars.find("</ol>").unwrap()];
    let api_today = &api_today[api_today.rfind("<li").unwrap()..];
    assert!(
        api_today.contains("incident: Slow API responses"),
        "{api_today}"
    );
    // The active incident's timeline, newest first, escaped, linking to its permalink.
    let active = position(&html, ">Active incidents</h2>");
    let permalink = format!("/status/acme/incidents/{incident}");
    assert!(html[active..].contains(&format!("<a href=\"{permalink}\">Slow API responses</a>")));
    let newest = position(&html, "A slow query; fixing it.");
    let oldest = position(&html, "We are investigating slow responses.");
    assert!(active < newest && newest < oldest);
    assert!(html.contains("&#60;script&#62;alert(1)"));
    assert!(!html.contains("<script>alert"));
    assert!(html[active..].contains("Affects Public API"));
    // Maintenance: in progress and upcoming, with their times.
    let maintenance = position(&html, ">Maintenance</h2>");
    let migration = position(&html, "CDN migration");
    assert!(maintenance < migration);
    assert!(html[migration..].contains("In progress"));
    assert!(html[position(&html, "Platform upgrade")..].contains("Scheduled"));
    assert!(html.contains("<time datetime=\""));
    // Nothing private: hidden components, their windows, monitors.
    for private in [
        "Hidden billing",
        "Billing window",
        "Secret probe",
        "internal-secret",
        secret["id"].as_str().unwrap(),
    ] {
        assert!(!html.contains(private), "{private} leaked");
    }

    // The permalink shows the whole timeline.
    let incident_page = eventually(&app, &permalink, |_| true).await;
    assert!(incident_page.contains("<h1 class=\"incident-title\">Slow API responses</h1>"));
    let newest = position(&incident_page, "A slow query; fixing it.");
    assert!(newest < position(&incident_page, "We are investigating slow responses."));
    assert!(incident_page.contains("Identified") && incident_page.contains("Investigating"));
    assert!(!incident_page.contains("Hidden billing"));

    // Resolved, it moves to the past incidents of its day and the history.
    let response = app
        .post(
            &format!("/api/v1/status-incidents/{incident}/updates"),
            &json!({"status": "resolved", "body": "Fixed."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let html = eventually(&app, "/status/acme", |html| {
        !html.contains(">Active incidents</h2>")
    })
    .await;
    let past = position(&html, ">Past incidents</h2>");
    assert!(html[past..].contains(&format!("<a href=\"{permalink}\">Slow API responses</a>")));
    assert!(html[past..].contains("href=\"/status/acme/history\""));
    let history = eventually(&app, "/status/acme/history", |_| true).await;
    assert!(history.contains(&format!("<a href=\"{permalink}\">Slow API responses</a>")));
    assert_eq!(get(&app, "/status/acme/history?page=2").await.status(), 404);
    let resolved = eventually(&app, &permalink, |html| html.contains("Fixed.")).await;
    assert!(resolved.contains("Resolved"));
}

#[tokio::test]
async fn an_unpublished_or_unknown_page_is_a_plain_404_page() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    let response = app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": "draft", "title": "Draft status",
                    "sections": [{"name": "Core", "componentIds": [api]}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    publish(
        &app,
        json!({"slug": "live", "title": "Live",
               "sections": [{"name": "Core", "componentIds": [api]}]}),
    )
    .await;
    eventually(&app, "/status/live", |_| true).await;
    for path in [
        "/status/draft",
        "/status/draft/history",
        "/status/nobody",
        "/status/NOT-A-SLUG",
        "/status/live/incidents/not-an-id",
        "/status/live/incidents/00000000-0000-4000-8000-000000000000",
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = response.text().await.unwrap();
        assert!(body.contains("There is no status page here."), "{path}");
        assert!(!body.contains("Draft status"), "{path}");
    }
}

#[tokio::test]
async fn the_page_is_cacheable_with_an_etag_and_carries_the_page_policy() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    publish(
        &app,
        json!({"slug": "acme", "title": "Acme status", "theme": "dark",
               "sections": [{"name": "Core", "componentIds": [api]}]}),
    )
    .await;
    let html = eventually(&app, "/status/acme", |_| true).await;
    assert!(html.contains("<html lang=\"en\" data-theme=\"dark\">"));
    // The body changes when the snapshot is rebuilt, so a 304 may need a retry.
    let mut answered_304 = false;
    for _ in 0..5 {
        let response = get(&app, "/status/acme").await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers[CACHE_CONTROL], "public, max-age=10");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert_eq!(policy, uptime_api::pages::PAGE_POLICY);
        assert!(!policy.contains("unsafe-inline"));
        let etag = headers[ETAG].to_str().unwrap().to_owned();
        let again = app
            .anonymous(Method::GET, "/status/acme")
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        if again.status() == 304 {
            assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
            assert!(again.text().await.unwrap().is_empty());
            answered_304 = true;
            break;
        }
    }
    assert!(answered_304, "a matching If-None-Match never answered 304");
    // No inline script or style; every referenced asset is served.
    assert!(!html.contains("<script>") && !html.contains(" style="));
    let assets: Vec<&str> = html
        .match_indices("\"/assets/")
        .map(|(start, _)| {
            let url = &html[start + 1..];
            &url[..url.find('"').unwrap()]
        })
        .collect();
    assert_eq!(assets.len(), 2, "{assets:?}");
    for asset in assets {
        let response = get(&app, asset).await;
        assert_eq!(response.status(), 200, "{asset}");
    }
}

#[tokio::test]
async fn a_custom_domain_gets_its_page_at_the_root() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    publish(
        &app,
        json!({"slug": "acme", "title": "Acme status", "customDomain": "status.acme.test",
               "sections": [{"name": "Core", "componentIds": [api]}]}),
    )
    .await;
    eventually(&app, "/status/acme", |_| true).await;
    let response = app
        .anonymous(Method::GET, "/")
        .header(HOST, "status.acme.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<a class=\"brand\" href=\"/\">"));
    assert!(html.contains("<span>Acme status</span></a>"));
    assert!(html.contains("href=\"/history\""));
    // Any other host gets the dashboard at `/`.
    let other = get(&app, "/").await;
    assert_eq!(other.status(), 200);
    let other = other.text().await.unwrap();
    assert!(other.contains("Sign in to UpTime") && !other.contains("Acme status"));
}

#[tokio::test]
async fn a_cold_start_with_the_database_down_answers_a_plain_503_page() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://uptime:uptime@127.0.0.1:{port}/nowhere");
    let config = test_config("nowhere", &[("DATABASE_URL", &url)]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(config, listener).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    let response = reqwest::get(format!("{address}/status/acme"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(response.headers()["retry-after"], "5");
    let body = response.text().await.unwrap();
    assert!(body.contains("The status page is starting"));
}

#[tokio::test]
async fn a_page_served_before_stays_up_and_says_when_it_was_updated_when_its_database_is_gone() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    publish(
        &app,
        json!({"slug": "sturdy", "title": "Sturdy status",
               "sections": [{"name": "Core", "componentIds": [api]}]}),
    )
    .await;
    eventually(&app, "/status/sturdy", |_| true).await;
    let name = app.db_name.clone();
    tokio::task::spawn_blocking(move || shared::testing::drop_database(&name))
        .await
        .unwrap();
    // Longer than the rebuild interval: at least one rebuild has failed.
    tokio::time::sleep(StdDuration::from_secs(6)).await;
    let response = get(&app, "/status/sturdy").await;
    assert_eq!(response.status(), 200);
    let after = response.text().await.unwrap();
    assert_eq!(banner(&after), "All systems operational");
    // "Updated" names the last snapshot read, from before the database went.
    let at = &after[position(&after, "data-updated=\"") + 14..];
    let updated = chrono::DateTime::parse_from_rfc3339(&at[..at.find('"').unwrap()]).unwrap();
    assert!(Utc::now() - updated.with_timezone(&Utc) >= Duration::seconds(5));
}

#[tokio::test]
async fn monitor_details_show_only_on_a_page_that_asks_for_them() {
    let app = spawn_app().await;
    let up = app
        .create_monitor(json!({"name": "Checkout probe", "type": "http",
            "target": "https://shop.example.com/health"}))
        .await;
    let down = app
        .create_monitor(json!({"name": "Payments port", "type": "tcp",
            "target": "pay.example.com:8443"}))
        .await;
    for (monitor, status, ms, error) in [
        (&up, "up", 182.4_f32, None),
        (
            &down,
            "down",
            10_000.0,
            Some("connection refused by pay.example.com:8443"),
        ),
    ] {
        let id: uuid::Uuid = monitor["id"].as_str().unwrap().parse().unwrap();
        app.db
            .execute(
                "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms, error) \
                 VALUES ($1, now() - interval '1 minute', now() - interval '1 minute', $2, $3, $4)",
                &[&id, &status, &ms, &error],
            )
            .await
            .unwrap();
        app.db
            .execute(
                "UPDATE monitors SET status = $2, last_checked_at = now() - interval '1 minute' \
                 WHERE id = $1",
                &[&id, &status],
            )
            .await
            .unwrap();
    }
    let shop = component(
        &app,
        json!({"name": "Shop", "monitorIds": [up["id"], down["id"]]}),
    )
    .await;
    let plain = publish(
        &app,
        json!({"slug": "plain", "title": "Plain", "sections": [{"name": "All", "componentIds": [shop]}]}),
    )
    .await;
    assert_eq!(plain["showMonitorDetails"], false);
    let detailed = publish(
        &app,
        json!({"slug": "detailed", "title": "Detailed", "showMonitorDetails": true,
               "sections": [{"name": "All", "componentIds": [shop]}]}),
    )
    .await;
    assert_eq!(detailed["showMonitorDetails"], true);

    let html = eventually(&app, "/status/detailed", |b| b.contains("Checkout probe")).await;
    let list = &html[position(&html, "2 checks behind Shop")..];
    // Sorted by name, each with its type, target, status in words, latest
    // response time (successful checks only) and error.
    let checkout = position(list, "Checkout probe");
    let payments = position(list, "Payments port");
    assert!(checkout < payments, "monitors in name order");
    let checkout_part = &list[checkout..payments];
    for seen in [
        "HTTP",
        "https://shop.example.com/health",
        ">Up<",
        "Response time 182 ms",
        "Checked ",
    ] {
        assert!(
            checkout_part.contains(seen),
            "{seen:?} missing: {checkout_part}"
        );
    }
    let payments_part = &list[payments..list.find("</details>").unwrap()];
    for seen in [
        "TCP",
        "pay.example.com:8443",
        ">Down<",
        "connection refused by pay.example.com:8443",
    ] {
        assert!(
            payments_part.contains(seen),
            "{seen:?} missing: {payments_part}"
        );
    }
    assert!(
        !payments_part.contains("Response time"),
        "no response time for a failed check"
    );

    // The same component on a page without details: no monitor anywhere.
    let html = eventually(&app, "/status/plain", |b| b.contains("Shop")).await;
    for hidden in [
        "Checkout probe",
        "Payments port",
        "shop.example.com",
        "pay.example.com",
        "connection refused",
        "checks behind",
    ] {
        assert!(
            !html.contains(hidden),
            "{hidden:?} leaked on a page without details"
        );
    }
    // Nor in the JSON of either page: Statuspage's shapes have no monitors.
    for slug in ["plain", "detailed"] {
        let body = get(&app, &format!("/status/{slug}/api/v2/summary.json"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !body.contains("shop.example.com") && !body.contains("Checkout probe"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn readers_that_take_gzip_get_the_page_and_its_json_gzipped() {
    use std::io::Read;
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(component(&app, json!({"name": format!("Service {n}")})).await);
    }
    publish(
        &app,
        json!({"slug": "acme", "title": "Acme status",
               "sections": [{"name": "Core", "componentIds": ids}]}),
    )
    .await;
    eventually(&app, "/status/acme", |b| b.contains("Service 11")).await;
    for path in ["/status/acme", "/status/acme/api/v2/summary.json"] {
        // Several tries: the page's body changes with each snapshot rebuild.
        let mut matched = false;
        for _ in 0..5 {
            let plain = get(&app, path).await;
            let plain_etag = plain.headers()[ETAG].to_str().unwrap().to_owned();
            assert!(plain.headers().get("content-encoding").is_none());
            let plain = plain.bytes().await.unwrap();
            let packed = app
                .anonymous(Method::GET, path)
                .header("Accept-Encoding", "br;q=1.0, gzip;q=0.8")
                .send()
                .await
                .unwrap();
            assert_eq!(packed.status(), 200);
            let headers = packed.headers().clone();
            assert_eq!(headers["content-encoding"], "gzip", "{path}");
            assert_eq!(headers["vary"], "Accept-Encoding");
            let etag = headers[ETAG].to_str().unwrap().to_owned();
            assert_ne!(etag, plain_etag, "each encoding has its own ETag");
            let packed = packed.bytes().await.unwrap();
            assert!(
                packed.len() * 3 < plain.len(),
                "{path}: {} of {}",
                packed.len(),
                plain.len()
            );
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            if unpacked != plain {
                continue; // a rebuild fell between the two requests
            }
            let again = app
                .anonymous(Method::GET, path)
                .header("Accept-Encoding", "gzip")
                .header(IF_NONE_MATCH, &etag)
                .send()
                .await
                .unwrap();
            if again.status() != 304 {
                continue;
            }
            assert!(again.headers().get("content-encoding").is_none());
            matched = true;
            break;
        }
        assert!(
            matched,
            "{path}: gzip never matched the plain body and answered 304"
        );
        // gzip refused with q=0: the plain body.
        let refused = app
            .anonymous(Method::GET, path)
            .header("Accept-Encoding", "gzip;q=0, identity")
            .send()
            .await
            .unwrap();
        assert!(refused.headers().get("content-encoding").is_none());
    }
}
