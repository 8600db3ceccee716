//! Status incidents: the timeline an operator writes, the component statuses
//! an open incident shows, the outbox events, and the automatic incidents
//! the database opens from real check results written by the worker's
//! fenced write path.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::model::{CheckResult, CheckStatus, Timings};
use uuid::Uuid;

use crate::helpers::{assert_error, invalid_fields, spawn_app, test_config, TestApp};

const BASE: &str = "/api/v1/status-incidents";

/// A component row written straight to the database (the components API is
/// not what these tests are about).
async fn component(app: &TestApp, name: &str, auto_incident: bool) -> Uuid {
    let id = Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO components (id, name, auto_incident) VALUES ($1, $2, $3)",
            &[&id, &name, &auto_incident],
        )
        .await
        .unwrap();
    id
}

/// A monitor that goes down at its first failure and up at its first success.
async fn monitor(app: &TestApp, name: &str) -> Uuid {
    let created = app
        .create_monitor(json!({
            "name": name, "type": "tcp", "target": "93.184.216.34:443",
            "failureThreshold": 1, "recoveryThreshold": 1
        }))
        .await;
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn drive(app: &TestApp, component: Uuid, monitor: Uuid) {
    app.db
        .execute(
            "INSERT INTO component_monitors (component_id, monitor_id) VALUES ($1, $2)",
            &[&component, &monitor],
        )
        .await
        .unwrap();
}

/// A key with `scopes`: (raw key, key id).
async fn key(app: &TestApp, scopes: &[&str]) -> (String, Uuid) {
    let response = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "ops", "scopes": scopes}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (
        body["key"].as_str().unwrap().to_owned(),
        body["id"].as_str().unwrap().parse().unwrap(),
    )
}

async fn send(app: &TestApp, key: &str, method: Method, path: &str, body: &Value) -> Value {
    let response = app
        .request_as(key, method.clone(), path)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap();
    assert!(
        (200..300).contains(&status),
        "{method} {path} {body} -> {status} {json}"
    );
    json
}

async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.post(BASE, &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create failed: {json}");
    json
}

async fn post_update(app: &TestApp, id: &str, body: Value) -> Value {
    let response = app.post(&format!("{BASE}/{id}/updates"), &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "update failed: {json}");
    json
}

async fn read(app: &TestApp, id: &str) -> Value {
    let response = app.get(&format!("{BASE}/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The component's shown status, its source, and the incident behind its override.
async fn shown(app: &TestApp, id: Uuid) -> (String, String, Option<Uuid>) {
    let row = app
        .db
        .query_one(
            "SELECT status, status_source, manual_incident_id FROM components WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// The component's history: (old, new, source, message, actor), oldest first.
async fn history(
    app: &TestApp,
    id: Uuid,
) -> Vec<(Option<String>, String, String, Option<String>, Option<Uuid>)> {
    app.db
        .query(
            "SELECT old_status, new_status, source, message, actor_key_id \
             FROM component_status_changes WHERE component_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Check results written through the worker's fenced write path, one
/// whole second apart and newer than any slot the monitors have.
struct Checks {
    client: deadpool_postgres::Client,
    slot: DateTime<Utc>,
}

impl Checks {
    async fn new(app: &TestApp) -> Self {
        let pool = shared::db::build_pool(&test_config(&app.db_name, &[])).unwrap();
        Checks {
            client: pool.get().await.unwrap(),
            slot: DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap(),
        }
    }

    async fn report(&mut self, monitor: Uuid, status: CheckStatus) {
        self.slot += Duration::seconds(1);
        let result = CheckResult {
            monitor_id: monitor,
            slot_ts: self.slot,
            checked_at: self.slot,
            worker_id: Some("status-incidents".into()),
            status,
            status_code: None,
            error: (status == CheckStatus::Down).then(|| "connection refused".to_owned()),
            timings: Timings::default(),
            body_snippet: None,
            details: None,
            in_maintenance: false,
        };
        let applied = uptime_worker::store::write_batch(&mut self.client, &[result])
            .await
            .unwrap();
        assert_eq!(applied.applied, 1, "the result moved its monitor");
    }
}

/// Incidents the automation opened for `component`: (id, resolved).
async fn automatic_incidents(app: &TestApp, component: Uuid) -> Vec<(Uuid, bool)> {
    app.db
        .query(
            "SELECT id, resolved_at IS NOT NULL FROM status_incidents \
             WHERE auto_component_id = $1 ORDER BY created_at",
            &[&component],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn open_monitor_incident(app: &TestApp, monitor: Uuid) -> Uuid {
    app.db
        .query_one(
            "SELECT id FROM incidents WHERE monitor_id = $1 AND resolved_at IS NULL",
            &[&monitor],
        )
        .await
        .unwrap()
        .get(0)
}

/// A webhook channel row subscribed to `events`.
async fn channel(app: &TestApp, events: &[&str]) -> Uuid {
    let id = Uuid::now_v7();
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    app.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config, events) \
             VALUES ($1, 'status hook', 'webhook', '{\"url\": \"https://hooks.example.com/s\"}', $2)",
            &[&id, &events],
        )
        .await
        .unwrap();
    id
}

/// The outbox rows of `channel`: (event type, incident status, components), oldest first.
async fn outbox(app: &TestApp, channel: Uuid) -> Vec<(String, Value)> {
    app.db
        .query(
            "SELECT event_type, payload FROM notification_events WHERE channel_id = $1 \
             ORDER BY created_at, event_type",
            &[&channel],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn an_incident_with_three_updates_holds_component_statuses_until_resolved() {
    let app = spawn_app().await;
    let (ops, ops_id) = key(&app, &["read", "write"]).await;
    let api = component(&app, "API", false).await;
    let web = component(&app, "Website", false).await;

    let response = app
        .request_as(&ops, Method::POST, BASE)
        .json(&json!({
            "name": "Checkout errors",
            "body": "We are investigating errors at checkout.",
            "componentIds": [api, web],
            "componentStatuses": {api.to_string(): "major_outage"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{BASE}/{id}"));
    assert_eq!(created["status"], "investigating");
    assert_eq!(
        created["impact"], "critical",
        "the impact follows the worst component status when not given"
    );
    assert!(created["resolvedAt"].is_null());
    let mut ids = vec![api.to_string(), web.to_string()];
    ids.sort();
    assert_eq!(created["componentIds"], json!(ids));
    assert_eq!(
        created["componentStatuses"],
        json!({api.to_string(): "major_outage"})
    );
    assert_eq!(created["updates"].as_array().unwrap().len(), 1);
    let first = &created["updates"][0];
    assert_eq!(first["status"], "investigating");
    assert_eq!(first["body"], "We are investigating errors at checkout.");
    assert_eq!(first["authorKeyId"], ops_id.to_string());
    assert_eq!(first["automatic"], false);
    assert_eq!(
        shown(&app, api).await,
        (
            "major_outage".into(),
            "manual".into(),
            Some(id.parse().unwrap())
        )
    );
    assert_eq!(
        shown(&app, web).await,
        ("operational".into(), "automatic".into(), None),
        "a component without a status keeps its automatic one"
    );

    let steps = [
        (
            "identified",
            "The payment provider is failing.",
            json!({api.to_string(): "partial_outage", web.to_string(): "degraded_performance"}),
        ),
        (
            "monitoring",
            "A fix is deployed; we are watching.",
            json!({api.to_string(): "degraded_performance"}),
        ),
        ("resolved", "Checkout works again.", json!(null)),
    ];
    for (status, body, statuses) in &steps {
        let mut update = json!({"status": status, "body": body});
        if !statuses.is_null() {
            update["componentStatuses"] = statuses.clone();
        }
        let stored = send(
            &app,
            &ops,
            Method::POST,
            &format!("{BASE}/{id}/updates"),
            &update,
        )
        .await;
        assert_eq!(stored["status"], *status);
        assert_eq!(stored["authorKeyId"], ops_id.to_string());
        if *status == "identified" {
            assert_eq!(
                shown(&app, web).await.0,
                "degraded_performance",
                "an update moves the components it names"
            );
        }
    }

    let incident = read(&app, &id).await;
    assert_eq!(incident["status"], "resolved");
    assert!(incident["resolvedAt"].is_string());
    let timeline: Vec<&str> = incident["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        ["resolved", "monitoring", "identified", "investigating"],
        "newest first"
    );
    assert_eq!(
        incident["updates"][1]["componentStatuses"],
        json!({api.to_string(): "degraded_performance"}),
        "each update keeps the component changes it made"
    );
    for component in [api, web] {
        assert_eq!(
            shown(&app, component).await,
            ("operational".into(), "automatic".into(), None),
            "resolving returns every affected component to automatic"
        );
    }

    let actor = Some(ops_id);
    assert_eq!(
        history(&app, api).await,
        vec![
            (None, "operational".into(), "automatic".into(), None, None),
            (
                Some("operational".into()),
                "major_outage".into(),
                "manual".into(),
                Some("We are investigating errors at checkout.".into()),
                actor
            ),
            (
                Some("major_outage".into()),
                "partial_outage".into(),
                "manual".into(),
                Some("The payment provider is failing.".into()),
                actor
            ),
            (
                Some("partial_outage".into()),
                "degraded_performance".into(),
                "manual".into(),
                Some("A fix is deployed; we are watching.".into()),
                actor
            ),
            (
                Some("degraded_performance".into()),
                "operational".into(),
                "automatic".into(),
                None,
                None
            ),
        ]
    );
    let web_sources: Vec<String> = history(&app, web)
        .await
        .into_iter()
        .map(|(_, _, source, _, _)| source)
        .collect();
    assert_eq!(web_sources, ["automatic", "manual", "automatic"]);
}

#[tokio::test]
async fn a_resolved_incident_takes_a_postmortem_update() {
    let app = spawn_app().await;
    let created = create(&app, json!({"name": "Slow search", "impact": "minor"})).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["impact"], "minor");
    assert!(
        created["updates"][0]["body"].is_null(),
        "the body is optional on create; the first update is written anyway"
    );
    let error = assert_error(
        app.post(
            &format!("{BASE}/{id}/updates"),
            &json!({"status": "postmortem", "body": "Too early."}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["status"]);
    post_update(&app, id, json!({"status": "resolved", "body": "Fixed."})).await;
    let resolved_at = read(&app, id).await["resolvedAt"].clone();
    post_update(
        &app,
        id,
        json!({"status": "postmortem", "body": "An index was missing."}),
    )
    .await;
    let incident = read(&app, id).await;
    assert_eq!(incident["status"], "postmortem");
    assert_eq!(incident["postmortem"], "An index was missing.");
    assert_eq!(
        incident["resolvedAt"], resolved_at,
        "the postmortem keeps the resolution time"
    );
    let error = assert_error(
        app.post(
            &format!("{BASE}/{id}/updates"),
            &json!({"status": "investigating", "body": "Again?"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["status"]);
}

#[tokio::test]
async fn incidents_are_listed_newest_first_with_filters_and_cursors() {
    let app = spawn_app().await;
    let storage = component(&app, "Storage", false).await;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let hours = |h: i64| at(now - Duration::hours(h));
    // Two incidents share a start time: the cursor must not lose either.
    let mut expected = Vec::new();
    for (name, started, extra) in [
        ("five", 5, json!({})),
        ("four", 4, json!({"status": "resolved"})),
        ("three-a", 3, json!({"componentIds": [storage]})),
        ("three-b", 3, json!({})),
        ("one", 1, json!({})),
    ] {
        let mut body = json!({"name": name, "startedAt": hours(started)});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let created = create(&app, body).await;
        expected.push((started, created["id"].as_str().unwrap().to_owned()));
    }
    // Newest first: fewest hours ago first, ties by id, higher first.
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let ids = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.collect_pages(&format!("{BASE}?limit=2")).await;
    assert_eq!(ids(all.clone()), expected, "newest first, every one once");
    assert!(
        all[0].get("updates").is_none(),
        "the list leaves timelines out"
    );
    let first: Value = app
        .get(&format!("{BASE}?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["nextCursor"].is_string());

    let names = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let resolved = app.collect_pages(&format!("{BASE}?open=false")).await;
    assert_eq!(names(resolved), ["four"]);
    let open = app
        .collect_pages(&format!("{BASE}?open=true&limit=1"))
        .await;
    assert_eq!(open.len(), 4);
    let storage_only = app
        .collect_pages(&format!("{BASE}?componentId={storage}"))
        .await;
    assert_eq!(names(storage_only), ["three-a"]);
    let window = app
        .collect_pages(&format!("{BASE}?from={}&to={}", hours(4), hours(1)))
        .await;
    let mut window = names(window);
    window.sort();
    assert_eq!(
        window,
        ["four", "three-a", "three-b"],
        "from inclusive, to exclusive"
    );

    assert_error(
        app.get(&format!("{BASE}?cursor=bm90LWEtY3Vyc29y")).await,
        400,
        "invalid_cursor",
    )
    .await;
    assert_error(
        app.get(&format!("{BASE}?from={}&to={}", hours(1), hours(2)))
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("{BASE}?limit=0")).await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("{BASE}?open=maybe")).await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("{BASE}?componentId=storage")).await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get(&format!("{BASE}?colour=red")).await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn an_update_body_can_be_edited_and_the_edit_is_audited() {
    let app = spawn_app().await;
    let created = create(&app, json!({"name": "DNS", "body": "Looking into it."})).await;
    let id = created["id"].as_str().unwrap();
    let update = post_update(
        &app,
        id,
        json!({"status": "identified", "body": "A resolver is misconfgured."}),
    )
    .await;
    let update_id = update["id"].as_str().unwrap();
    assert!(update["editedAt"].is_null());
    let path = format!("{BASE}/{id}/updates/{update_id}");

    let response = app
        .patch(&path, &json!({"body": "A resolver is misconfigured."}))
        .await;
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(edited["body"], "A resolver is misconfigured.");
    assert_eq!(edited["status"], "identified");
    assert_eq!(edited["createdAt"], update["createdAt"]);
    assert!(edited["editedAt"].is_string());
    let fetched: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(fetched, edited);

    for (body, field) in [
        (json!({"body": "x", "status": "resolved"}), "status"),
        (
            json!({"body": "x", "displayAt": "2020-01-01T00:00:00Z"}),
            "displayAt",
        ),
        (json!({"body": ""}), "body"),
        (json!({}), "body"),
        (
            json!({"body": "x", "editedAt": "2020-01-01T00:00:00Z"}),
            "editedAt",
        ),
    ] {
        let error = assert_error(app.patch(&path, &body).await, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), [field], "{body}");
    }
    assert_error(
        app.patch(
            &format!("{BASE}/{id}/updates/{}", Uuid::now_v7()),
            &json!({"body": "x"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let other = create(&app, json!({"name": "Other"})).await;
    assert_error(
        app.patch(
            &format!(
                "{BASE}/{}/updates/{update_id}",
                other["id"].as_str().unwrap()
            ),
            &json!({"body": "x"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    let rows = app.audit_rows().await;
    let ours: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r.get::<_, String>("entity_id") == id)
        .map(|r| (r.get("action"), r.get("entity_type"), r.get("actor")))
        .collect();
    assert_eq!(
        ours,
        [
            (
                "status_incident.create".into(),
                "status_incident".into(),
                "bootstrap".into()
            ),
            (
                "status_incident_update.create".into(),
                "status_incident".into(),
                "bootstrap".into()
            ),
            (
                "status_incident_update.edit".into(),
                "status_incident".into(),
                "bootstrap".into()
            ),
        ]
    );
    let edit = rows
        .iter()
        .find(|r| r.get::<_, String>("action") == "status_incident_update.edit")
        .unwrap();
    let before: Value = edit.get("before");
    let after: Value = edit.get("after");
    assert_eq!(before["body"], "A resolver is misconfgured.");
    assert_eq!(after["body"], "A resolver is misconfigured.");
    assert_eq!(after["id"], update_id);
}

#[tokio::test]
async fn a_patch_edits_the_incident_and_reapplies_its_component_statuses() {
    let app = spawn_app().await;
    let db = component(&app, "Database", false).await;
    let queue = component(&app, "Queue", false).await;
    let created = create(
        &app,
        json!({
            "name": "Latency", "impact": "minor", "body": "Slow writes.",
            "componentIds": [db, queue], "componentStatuses": {db.to_string(): "partial_outage"}
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{BASE}/{id}");

    let response = app
        .patch(
            &path,
            &json!({"name": "Write latency", "componentStatuses": {
                db.to_string(): null, queue.to_string(): "degraded_performance"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["name"], "Write latency");
    assert_eq!(
        patched["impact"], "minor",
        "kept when the patch leaves it out"
    );
    assert_eq!(
        patched["componentStatuses"],
        json!({queue.to_string(): "degraded_performance"})
    );
    assert_eq!(patched["updates"].as_array().unwrap().len(), 1);
    assert_eq!(
        shown(&app, db).await,
        ("operational".into(), "automatic".into(), None)
    );
    assert_eq!(
        shown(&app, queue).await,
        (
            "degraded_performance".into(),
            "manual".into(),
            Some(id.parse().unwrap())
        )
    );
    let message: Option<String> = app
        .db
        .query_one(
            "SELECT manual_message FROM components WHERE id = $1",
            &[&queue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        message.as_deref(),
        Some("Slow writes."),
        "the latest update's words"
    );

    // Leaving a component out of componentIds drops its status with it.
    let patched: Value = app
        .patch(&path, &json!({"componentIds": [db], "impact": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["componentIds"], json!([db]));
    assert_eq!(patched["componentStatuses"], json!({}));
    assert_eq!(
        patched["impact"], "none",
        "null impact follows the statuses"
    );
    assert_eq!(
        shown(&app, queue).await,
        ("operational".into(), "automatic".into(), None)
    );

    for (body, field) in [
        (json!({"status": "resolved"}), "status"),
        (json!({"postmortem": "Too early."}), "postmortem"),
        (json!({"startedAt": null}), "startedAt"),
        (json!({"name": null}), "name"),
        (
            json!({"componentStatuses": {queue.to_string(): "major_outage"}}),
            "componentStatuses",
        ),
        (json!({"resolvedAt": "2020-01-01T00:00:00Z"}), "resolvedAt"),
    ] {
        let error = assert_error(app.patch(&path, &body).await, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), [field], "{body}");
    }
    assert_error(
        app.patch(&path, &json!([1])).await,
        422,
        "validation_failed",
    )
    .await;

    post_update(&app, id, json!({"status": "resolved", "body": "Done."})).await;
    let resolved = read(&app, id).await;
    let error = assert_error(
        app.patch(
            &path,
            &json!({"startedAt": at(Utc::now() + Duration::hours(1))}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["startedAt"]);
    let with_postmortem: Value = app
        .patch(&path, &json!({"postmortem": "A disk filled up."}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(with_postmortem["status"], "postmortem");
    assert_eq!(with_postmortem["postmortem"], "A disk filled up.");
    assert_eq!(with_postmortem["resolvedAt"], resolved["resolvedAt"]);
    let without: Value = app
        .patch(&path, &json!({"postmortem": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(without["status"], "resolved");
    assert!(without["postmortem"].is_null());
    let earlier = at(Utc::now() - Duration::days(1));
    let moved: Value = app
        .patch(&path, &json!({"startedAt": earlier}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        moved["startedAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        earlier.parse::<DateTime<Utc>>().unwrap()
    );

    let audited: Vec<(Value, Value)> = app
        .audit_rows()
        .await
        .iter()
        .filter(|r| r.get::<_, String>("action") == "status_incident.update")
        .map(|r| (r.get("before"), r.get("after")))
        .collect();
    assert_eq!(audited.len(), 5);
    assert_eq!(audited[0].0["name"], "Latency");
    assert_eq!(audited[0].1["name"], "Write latency");
}

#[tokio::test]
async fn a_deleted_incident_releases_its_components_and_is_gone() {
    let app = spawn_app().await;
    let cdn = component(&app, "CDN", false).await;
    let created = create(
        &app,
        json!({"name": "CDN down", "componentIds": [cdn],
               "componentStatuses": {cdn.to_string(): "major_outage"}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(shown(&app, cdn).await.0, "major_outage");
    let response = app.delete(&format!("{BASE}/{id}")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        shown(&app, cdn).await,
        ("operational".into(), "automatic".into(), None)
    );
    assert_error(app.get(&format!("{BASE}/{id}")).await, 404, "not_found").await;
    assert_error(
        app.post(
            &format!("{BASE}/{id}/updates"),
            &json!({"status": "identified", "body": "Found it."}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post(
            &format!("{BASE}/{}/updates", Uuid::now_v7()),
            &json!({"status": "identified", "body": "Found it."}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&format!("{BASE}/{id}"), &json!({"name": "x"}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(&format!("{BASE}/{id}")).await, 404, "not_found").await;
    assert_error(
        app.get(&format!("{BASE}/not-an-id")).await,
        404,
        "not_found",
    )
    .await;
    let deleted = app
        .audit_rows()
        .await
        .into_iter()
        .find(|r| r.get::<_, String>("action") == "status_incident.delete")
        .unwrap();
    let before: Value = deleted.get("before");
    assert_eq!(before["name"], "CDN down");
    assert_eq!(before["updates"].as_array().unwrap().len(), 1);
    assert!(deleted.get::<_, Option<Value>>("after").is_none());
}

#[tokio::test]
async fn status_incident_bodies_are_validated_field_by_field() {
    let app = spawn_app().await;
    let known = component(&app, "Known", false).await;
    let stranger = Uuid::now_v7();
    let future = at(Utc::now() + Duration::hours(1));
    let create_cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "nul\u{0}"}), "name"),
        (json!({"name": "x", "impact": "huge"}), "impact"),
        (json!({"name": "x", "impact": 2}), "impact"),
        (json!({"name": "x", "status": "postmortem"}), "status"),
        (json!({"name": "x", "status": "closed"}), "status"),
        (json!({"name": "x", "body": 5}), "body"),
        (json!({"name": "x", "body": "x".repeat(10_001)}), "body"),
        (
            json!({"name": "x", "componentIds": [stranger]}),
            "componentIds",
        ),
        (
            json!({"name": "x", "componentIds": ["api"]}),
            "componentIds",
        ),
        (json!({"name": "x", "componentIds": known}), "componentIds"),
        (
            json!({"name": "x", "componentStatuses": {known.to_string(): "major_outage"}}),
            "componentStatuses",
        ),
        (
            json!({"name": "x", "componentIds": [known],
                   "componentStatuses": {known.to_string(): "broken"}}),
            "componentStatuses",
        ),
        (
            json!({"name": "x", "componentIds": [known],
                   "componentStatuses": {"api": "major_outage"}}),
            "componentStatuses",
        ),
        (
            json!({"name": "x", "componentIds": [known], "componentStatuses": [known]}),
            "componentStatuses",
        ),
        (
            json!({"name": "x", "monitorIncidentIds": [stranger]}),
            "monitorIncidentIds",
        ),
        (json!({"name": "x", "startedAt": future}), "startedAt"),
        (json!({"name": "x", "startedAt": "yesterday"}), "startedAt"),
        (
            json!({"name": "x", "startedAt": "0000-12-31T00:00:00Z"}),
            "startedAt",
        ),
        (
            json!({"name": "x", "startedAt": "9999-12-31T23:00:00-05:00"}),
            "startedAt",
        ),
        (json!({"name": "x", "postmortem": "Not yet."}), "postmortem"),
        (json!({"name": "x", "resolvedAt": future}), "resolvedAt"),
        (json!({"name": "x", "colour": "red"}), "colour"),
    ];
    for (body, field) in create_cases {
        let error = assert_error(app.post(BASE, &body).await, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), [field], "{body} -> {error}");
    }
    for body in [json!([]), json!("incident"), json!(null)] {
        assert_error(app.post(BASE, &body).await, 422, "validation_failed").await;
    }
    let error = assert_error(
        app.post(
            BASE,
            &json!({"impact": "huge", "componentIds": [stranger], "startedAt": future}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields = invalid_fields(&error);
    fields.sort();
    assert_eq!(
        fields,
        ["componentIds", "impact", "name", "startedAt"],
        "every problem at once"
    );
    assert!(
        error.to_string().contains(&stranger.to_string()),
        "the unknown id is named: {error}"
    );
    let listed: i64 = app
        .db
        .query_one("SELECT count(*) FROM status_incidents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 0, "nothing invalid was stored");

    let open = create(&app, json!({"name": "Open", "componentIds": [known]})).await;
    let other = component(&app, "Other", false).await;
    let path = format!("{BASE}/{}/updates", open["id"].as_str().unwrap());
    let update_cases = [
        (json!({"body": "x"}), "status"),
        (json!({"status": "fixed", "body": "x"}), "status"),
        (json!({"status": "postmortem", "body": "x"}), "status"),
        (json!({"status": "identified"}), "body"),
        (json!({"status": "identified", "body": "  "}), "body"),
        (
            json!({"status": "identified", "body": "x",
                   "componentStatuses": {other.to_string(): "major_outage"}}),
            "componentStatuses",
        ),
        (
            json!({"status": "identified", "body": "x",
                   "componentStatuses": {known.to_string(): "down"}}),
            "componentStatuses",
        ),
        (
            json!({"status": "resolved", "body": "x",
                   "componentStatuses": {known.to_string(): "operational"}}),
            "componentStatuses",
        ),
        (
            json!({"status": "identified", "body": "x", "displayAt": future}),
            "displayAt",
        ),
        (
            json!({"status": "identified", "body": "x", "displayAt": "soon"}),
            "displayAt",
        ),
        (
            json!({"status": "identified", "body": "x", "author": "me"}),
            "author",
        ),
        (
            json!({"status": "identified", "body": "x", "automatic": true}),
            "automatic",
        ),
    ];
    for (body, field) in update_cases {
        let error = assert_error(app.post(&path, &body).await, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), [field], "{body} -> {error}");
    }
    let updates: i64 = app
        .db
        .query_one("SELECT count(*) FROM status_incident_updates", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(updates, 1, "only the update written on create");

    // A backdated update is shown at its time, below later ones.
    let earlier = at(Utc::now() - Duration::minutes(30));
    post_update(
        &app,
        open["id"].as_str().unwrap(),
        json!({"status": "identified", "body": "Backfilled.", "displayAt": earlier}),
    )
    .await;
    let incident = read(&app, open["id"].as_str().unwrap()).await;
    assert_eq!(incident["updates"][1]["body"], "Backfilled.");
    assert_eq!(incident["status"], "identified");
}

#[tokio::test]
async fn a_read_only_key_cannot_change_status_incidents() {
    let app = spawn_app().await;
    let (reader, _) = key(&app, &["read"]).await;
    let created = create(&app, json!({"name": "Visible"})).await;
    let id = created["id"].as_str().unwrap();
    let update_id = created["updates"][0]["id"].as_str().unwrap();
    for path in [
        BASE.to_owned(),
        format!("{BASE}/{id}"),
        format!("{BASE}/{id}/updates/{update_id}"),
    ] {
        let response = app
            .request_as(&reader, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let body = json!({"name": "x", "status": "identified", "body": "x"});
    for (method, path) in [
        (Method::POST, BASE.to_owned()),
        (Method::PATCH, format!("{BASE}/{id}")),
        (Method::DELETE, format!("{BASE}/{id}")),
        (Method::POST, format!("{BASE}/{id}/updates")),
        (Method::PATCH, format!("{BASE}/{id}/updates/{update_id}")),
    ] {
        let response = app
            .request_as(&reader, method.clone(), &path)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "forbidden").await;
    }
    assert_error(
        app.anonymous(Method::GET, BASE).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let unchanged = read(&app, id).await;
    assert_eq!(unchanged["name"], "Visible");
    assert_eq!(unchanged["updates"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn created_updated_and_resolved_events_reach_subscribed_channels() {
    let app = spawn_app().await;
    let subscribed = channel(
        &app,
        &[
            "status_incident.created",
            "status_incident.updated",
            "status_incident.resolved",
        ],
    )
    .await;
    let monitors_only = channel(&app, &["incident.opened", "incident.resolved"]).await;
    let api = component(&app, "API", false).await;
    let created = create(
        &app,
        json!({"name": "Errors", "body": "Investigating.", "componentIds": [api],
               "componentStatuses": {api.to_string(): "partial_outage"}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    post_update(
        &app,
        id,
        json!({"status": "monitoring", "body": "Watching."}),
    )
    .await;
    post_update(
        &app,
        id,
        json!({"status": "monitoring", "body": "Backfilled: the cause was found earlier.",
               "displayAt": at(Utc::now() - Duration::minutes(20))}),
    )
    .await;
    post_update(&app, id, json!({"status": "resolved", "body": "Fixed."})).await;

    let events = outbox(&app, subscribed).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "status_incident.created",
            "status_incident.updated",
            "status_incident.updated",
            "status_incident.resolved"
        ]
    );
    let (_, opened) = &events[0];
    assert_eq!(opened["type"], "status_incident.created");
    assert_eq!(opened["statusIncident"]["id"], id);
    assert_eq!(opened["statusIncident"]["name"], "Errors");
    assert_eq!(opened["statusIncident"]["status"], "investigating");
    assert_eq!(
        opened["statusIncident"]["latestUpdate"]["body"],
        "Investigating."
    );
    assert_eq!(
        opened["statusIncident"]["components"],
        json!([{"id": api, "name": "API", "status": "partial_outage"}])
    );
    assert_eq!(
        events[1].1["statusIncident"]["latestUpdate"]["body"],
        "Watching."
    );
    assert_eq!(
        events[2].1["statusIncident"]["latestUpdate"]["body"],
        "Backfilled: the cause was found earlier.",
        "each message carries the update that caused it, backdated or not"
    );
    let (_, resolved) = &events[3];
    assert_eq!(resolved["statusIncident"]["status"], "resolved");
    assert_eq!(resolved["statusIncident"]["latestUpdate"]["body"], "Fixed.");
    assert!(resolved["statusIncident"]["resolvedAt"].is_string());
    assert_eq!(
        resolved["statusIncident"]["components"][0]["status"], "operational",
        "the resolved message shows the components back to automatic"
    );
    let pending: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM notification_events \
             WHERE channel_id = $1 AND status = 'pending' AND status_incident_id = $2::text::uuid",
            &[&subscribed, &id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 4);
    assert!(outbox(&app, monitors_only).await.is_empty());
}

#[tokio::test]
async fn an_automatic_incident_opens_on_an_outage_and_resolves_on_recovery() {
    let app = spawn_app().await;
    let hook = channel(
        &app,
        &["status_incident.created", "status_incident.resolved"],
    )
    .await;
    let first = monitor(&app, "api-1").await;
    let second = monitor(&app, "api-2").await;
    let api = component(&app, "API", true).await;
    drive(&app, api, first).await;
    drive(&app, api, second).await;
    let mut checks = Checks::new(&app).await;
    checks.report(first, CheckStatus::Up).await;
    checks.report(second, CheckStatus::Up).await;
    assert!(automatic_incidents(&app, api).await.is_empty());

    checks.report(first, CheckStatus::Down).await;
    assert_eq!(shown(&app, api).await.0, "partial_outage");
    let opened = automatic_incidents(&app, api).await;
    assert_eq!(opened.len(), 1);
    let id = opened[0].0.to_string();
    let incident = read(&app, &id).await;
    assert_eq!(incident["name"], "API is experiencing issues");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["autoComponentId"], api.to_string());
    assert_eq!(incident["takenOver"], false);
    assert_eq!(incident["componentIds"], json!([api]));
    assert_eq!(
        incident["componentStatuses"],
        json!({}),
        "the component keeps following its monitors"
    );
    assert_eq!(incident["updates"][0]["automatic"], true);
    assert_eq!(
        incident["updates"][0]["body"],
        "Investigating: API is experiencing issues."
    );
    let listed = app
        .collect_pages(&format!("{BASE}?open=true&componentId={api}"))
        .await;
    assert_eq!(listed.len(), 1);

    checks.report(second, CheckStatus::Down).await;
    assert_eq!(shown(&app, api).await.0, "major_outage");
    assert_eq!(
        automatic_incidents(&app, api).await.len(),
        1,
        "still one automatic incident for the component"
    );
    checks.report(first, CheckStatus::Up).await;
    assert_eq!(shown(&app, api).await.0, "partial_outage");
    assert_eq!(read(&app, &id).await["status"], "investigating");
    checks.report(second, CheckStatus::Up).await;
    assert_eq!(shown(&app, api).await.0, "operational");
    let resolved = read(&app, &id).await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolvedAt"].is_string());
    assert_eq!(resolved["updates"][0]["status"], "resolved");
    assert_eq!(resolved["updates"][0]["automatic"], true);
    assert_eq!(
        resolved["updates"][0]["body"],
        "Resolved: API is operational again."
    );
    let types: Vec<String> = outbox(&app, hook)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        types,
        ["status_incident.created", "status_incident.resolved"]
    );
    let automatic = outbox(&app, hook).await[0].1["statusIncident"]["automatic"].clone();
    assert_eq!(automatic, true);

    // The next outage opens a new one.
    checks.report(first, CheckStatus::Down).await;
    let incidents = automatic_incidents(&app, api).await;
    assert_eq!(incidents.len(), 2);
    assert_eq!(
        incidents.iter().filter(|(_, resolved)| !resolved).count(),
        1
    );
}

#[tokio::test]
async fn an_operator_update_takes_over_an_automatic_incident() {
    let app = spawn_app().await;
    let db = monitor(&app, "db").await;
    let database = component(&app, "Database", true).await;
    drive(&app, database, db).await;
    let mut checks = Checks::new(&app).await;
    checks.report(db, CheckStatus::Up).await;
    checks.report(db, CheckStatus::Down).await;
    let opened = automatic_incidents(&app, database).await;
    assert_eq!(opened.len(), 1);
    let id = opened[0].0.to_string();
    assert_eq!(read(&app, &id).await["impact"], "critical");

    let update = post_update(
        &app,
        &id,
        json!({"status": "identified", "body": "A replica lost its disk; failing over."}),
    )
    .await;
    assert_eq!(update["automatic"], false);
    assert_eq!(read(&app, &id).await["takenOver"], true);

    checks.report(db, CheckStatus::Up).await;
    assert_eq!(shown(&app, database).await.0, "operational");
    let incident = read(&app, &id).await;
    assert_eq!(
        incident["status"], "identified",
        "the automation leaves a taken-over incident alone"
    );
    assert_eq!(incident["updates"].as_array().unwrap().len(), 2);

    checks.report(db, CheckStatus::Down).await;
    assert_eq!(
        automatic_incidents(&app, database).await.len(),
        1,
        "the open incident still covers the component"
    );
    let second = app
        .db
        .execute(
            "INSERT INTO status_incidents (id, name, impact, status, started_at, auto_component_id) \
             VALUES (gen_random_uuid(), 'second', 'major', 'investigating', now(), $1)",
            &[&database],
        )
        .await
        .unwrap_err();
    assert_eq!(
        second.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        "the database refuses a second open automatic incident for a component"
    );

    post_update(
        &app,
        &id,
        json!({"status": "resolved", "body": "Failed over."}),
    )
    .await;
    let incident = read(&app, &id).await;
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["updates"][0]["automatic"], false);
    assert_eq!(
        shown(&app, database).await,
        ("major_outage".into(), "automatic".into(), None),
        "the component follows its monitors again"
    );
}

#[tokio::test]
async fn an_automatic_incident_links_the_monitor_incidents_behind_it() {
    let app = spawn_app().await;
    let first = monitor(&app, "web-1").await;
    let second = monitor(&app, "web-2").await;
    let web = component(&app, "Website", true).await;
    drive(&app, web, first).await;
    drive(&app, web, second).await;
    let mut checks = Checks::new(&app).await;
    checks.report(first, CheckStatus::Down).await;
    checks.report(second, CheckStatus::Down).await;
    let opened = automatic_incidents(&app, web).await;
    assert_eq!(opened.len(), 1);
    let mut behind = vec![
        open_monitor_incident(&app, first).await.to_string(),
        open_monitor_incident(&app, second).await.to_string(),
    ];
    behind.sort();
    let incident = read(&app, &opened[0].0.to_string()).await;
    assert_eq!(
        incident["monitorIncidentIds"],
        json!(behind),
        "the machine incident that opened it and the one that followed"
    );
}

#[tokio::test]
async fn resolving_over_a_component_still_failing_hands_it_to_the_automation() {
    let app = spawn_app().await;
    let queue = monitor(&app, "queue").await;
    let jobs = component(&app, "Jobs", true).await;
    drive(&app, jobs, queue).await;
    let mut checks = Checks::new(&app).await;
    checks.report(queue, CheckStatus::Up).await;
    let created = create(
        &app,
        json!({"name": "Slow jobs", "componentIds": [jobs],
               "componentStatuses": {jobs.to_string(): "degraded_performance"}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    checks.report(queue, CheckStatus::Down).await;
    assert_eq!(
        shown(&app, jobs).await,
        (
            "degraded_performance".into(),
            "manual".into(),
            Some(id.parse().unwrap())
        ),
        "the incident's status holds while it is open"
    );
    assert!(
        automatic_incidents(&app, jobs).await.is_empty(),
        "an open incident covers the component"
    );

    post_update(
        &app,
        id,
        json!({"status": "resolved", "body": "Jobs are fast again."}),
    )
    .await;
    assert_eq!(
        shown(&app, jobs).await,
        ("major_outage".into(), "automatic".into(), None)
    );
    let opened = automatic_incidents(&app, jobs).await;
    assert_eq!(
        opened.len(),
        1,
        "back to its monitors, in an outage no incident covers"
    );
    let automatic = read(&app, &opened[0].0.to_string()).await;
    assert_eq!(automatic["status"], "investigating");
    assert_eq!(
        automatic["monitorIncidentIds"],
        json!([open_monitor_incident(&app, queue).await])
    );

    checks.report(queue, CheckStatus::Up).await;
    assert_eq!(automatic_incidents(&app, jobs).await, [(opened[0].0, true)]);
}
