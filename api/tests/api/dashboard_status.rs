//! The dashboard's status views in a real browser
//! (tests/browser/scenarios/dashboard-status.mjs): components, status
//! pages, status incidents and maintenance windows made through the forms,
//! then read back from the API to see that the forms said what they meant.

use serde_json::{json, Value};

use crate::browser::scenario;
use crate::helpers::{spawn_app, TestApp, ADMIN_KEY};

const MONITOR: &str = "Checkout probe";

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    app.collect_pages(path).await
}

fn named<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["name"] == name || i["title"] == name)
        .unwrap_or_else(|| panic!("no {name:?} in {items:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_builds_components_a_page_an_incident_and_maintenance_in_the_dashboard_in_a_real_browser(
) {
    let app = spawn_app().await;
    let monitor = app
        .create_monitor(
            json!({"name": MONITOR, "type": "http", "target": "https://example.com/health"}),
        )
        .await;
    // A past monitor incident, for the incident list.
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, last_error, \
                                    failure_count, opened_slot, resolved_slot) \
             VALUES (gen_random_uuid(), $1::text::uuid, now() - interval '3 hours', now() - interval '150 minutes', \
                     'connection refused by 203.0.113.7:443', 'connection refused by 203.0.113.7:443', 9, \
                     now() - interval '3 hours', now() - interval '150 minutes')",
            &[&monitor["id"].as_str().unwrap()],
        )
        .await
        .unwrap();
    let read = app.create_key(&["read"]).await;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let artifacts = format!("{root}/target/browser-artifacts");
    let output = scenario(
        "dashboard-status",
        &[&app.address, ADMIN_KEY, &read, &artifacts, MONITOR],
    )
    .await;
    if let Err(error) = output {
        panic!("browser test failed:\n{error}");
    }

    // The component tree: a group with its child, and a component driven by the monitor.
    let components = items(&app, "/api/v1/components").await;
    let backend = named(&components, "Backend");
    let jobs = named(&components, "Jobs");
    let public_api = named(&components, "Public API");
    assert_eq!(backend["group"], true);
    assert_eq!(jobs["groupId"], backend["id"]);
    assert_eq!(jobs["statusSource"], "automatic", "handed back: {jobs}");
    assert_eq!(public_api["monitorIds"], json!([monitor["id"]]));
    assert_eq!(public_api["description"], "REST and webhooks");
    assert_eq!(public_api["owner"], "Platform team");
    assert_eq!(public_api["status"], "major_outage");

    // The page: two sections in the order left after moving them, published.
    let pages = items(&app, "/api/v1/status-pages").await;
    let page = named(&pages, "Acme status");
    assert_eq!(page["slug"], "acme-status");
    assert_eq!(page["published"], true);
    assert_eq!(page["description"], "Everything Acme runs");
    assert_eq!(
        page["sections"],
        json!([{"name": "Applications", "componentIds": [public_api["id"]]},
               {"name": "Infrastructure", "componentIds": [backend["id"]]}])
    );

    // The incident: both components affected, one with a status, and the update that changed it.
    let incidents = items(&app, "/api/v1/status-incidents").await;
    let incident = named(&incidents, "Checkout errors");
    assert_eq!(incident["status"], "identified");
    let mut affected: Vec<&str> = incident["componentIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    affected.sort_unstable();
    let mut expected = vec![
        public_api["id"].as_str().unwrap(),
        jobs["id"].as_str().unwrap(),
    ];
    expected.sort_unstable();
    assert_eq!(affected, expected);
    let api_id = public_api["id"].as_str().unwrap();
    assert_eq!(
        incident["componentStatuses"],
        json!({api_id: "major_outage"})
    );
    let detail: Value = app
        .get(&format!(
            "/api/v1/status-incidents/{}",
            incident["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let updates = detail["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["body"], "The payment provider is failing.");
    assert_eq!(
        updates[0]["componentStatuses"],
        json!({api_id: "major_outage"})
    );
    assert_eq!(
        updates[1]["body"],
        "We are investigating errors at checkout."
    );

    // The window: recurring, in the zone typed, covering the component.
    let windows = items(&app, "/api/v1/maintenance-windows").await;
    let window = named(&windows, "Sunday patching");
    assert_eq!(window["cron"], "0 2 * * 0");
    assert_eq!(window["durationMinutes"], 60, "edited from 90");
    assert_eq!(window["timezone"], "Europe/Berlin");
    assert_eq!(window["componentIds"], json!([public_api["id"]]));
    assert_eq!(window["monitorIds"], json!([]));

    for screenshot in [
        "dashboard-components-desktop.png",
        "dashboard-components-phone.png",
        "dashboard-pages-desktop.png",
        "dashboard-pages-phone.png",
        "dashboard-incidents-desktop.png",
        "dashboard-incidents-phone.png",
        "dashboard-maintenance-desktop.png",
        "dashboard-maintenance-phone.png",
    ] {
        assert!(
            std::path::Path::new(&format!("{artifacts}/{screenshot}")).exists(),
            "{screenshot}"
        );
    }
}
