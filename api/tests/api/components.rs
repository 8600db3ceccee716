//! Components: the CRUD API, its validation, manual statuses, the status
//! history, and the status rule driven by real check results written
//! through the worker's fenced write path.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::model::{CheckResult, CheckStatus, Timings};

use crate::helpers::{assert_error, invalid_fields, spawn_app, test_config, TestApp};

/// Creates a component and returns its JSON.
async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.post("/api/v1/components", &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create component failed: {json}");
    json
}

/// A monitor that turns down on its first failure and up on its first success.
async fn monitor(app: &TestApp, name: &str) -> String {
    let created = app
        .create_monitor(json!({
            "name": name, "type": "http", "target": "https://example.com",
            "failureThreshold": 1, "recoveryThreshold": 1
        }))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn component_path(component: &Value) -> String {
    format!("/api/v1/components/{}", component["id"].as_str().unwrap())
}

/// Creates a key with `scopes`; returns (raw key, key id).
async fn key_with_id(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let response = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "operator", "scopes": scopes}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let json: Value = response.json().await.unwrap();
    (
        json["key"].as_str().unwrap().to_owned(),
        json["id"].as_str().unwrap().to_owned(),
    )
}

/// Check results written the way workers write them.
struct Results {
    pool: deadpool_postgres::Pool,
    slot: DateTime<Utc>,
}

impl Results {
    fn new(app: &TestApp) -> Self {
        let now = Utc::now();
        Self {
            pool: shared::db::build_pool(&test_config(&app.db_name, &[])).unwrap(),
            slot: DateTime::from_timestamp(now.timestamp(), 0).unwrap(),
        }
    }

    /// One result per monitor, all in the next slot.
    async fn report(&mut self, results: &[(&str, CheckStatus)]) {
        self.slot += Duration::seconds(1);
        let batch: Vec<CheckResult> = results
            .iter()
            .map(|(monitor, status)| CheckResult {
                monitor_id: monitor.parse().unwrap(),
                slot_ts: self.slot,
                checked_at: self.slot,
                worker_id: Some("test".into()),
                status: *status,
                status_code: Some(if *status == CheckStatus::Down {
                    503
                } else {
                    200
                }),
                error: (*status == CheckStatus::Down)
                    .then(|| "HTTP 503 Service Unavailable, expected 2xx".into()),
                timings: Timings {
                    total_ms: 12.0,
                    ..Timings::default()
                },
                body_snippet: None,
                details: None,
                in_maintenance: false,
            })
            .collect();
        let mut client = self.pool.get().await.unwrap();
        let applied = uptime_worker::store::write_batch(&mut client, &batch)
            .await
            .unwrap();
        assert_eq!(applied.applied, batch.len(), "every result applies");
    }
}

/// (status, noData) of a component as the API shows it.
async fn shown(app: &TestApp, component: &Value) -> (String, bool) {
    let json = read(app, &component_path(component)).await;
    (
        json["status"].as_str().unwrap().to_owned(),
        json["noData"].as_bool().unwrap(),
    )
}

fn state(status: &str, no_data: bool) -> (String, bool) {
    (status.to_owned(), no_data)
}

#[tokio::test]
async fn components_are_created_read_replaced_patched_and_deleted() {
    let app = spawn_app().await;
    let api = monitor(&app, "API").await;
    let response = app
        .post(
            "/api/v1/components",
            &json!({
                "name": " Public API ", "description": "REST and webhooks",
                "url": "https://api.example.com", "owner": "Platform team",
                "position": 3, "monitorIds": [api, api], "autoIncident": true, "slaTarget": 99.9
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, component_path(&created));
    assert_eq!(created["name"], "Public API");
    assert_eq!(created["description"], "REST and webhooks");
    assert_eq!(created["url"], "https://api.example.com");
    assert_eq!(created["owner"], "Platform team");
    assert_eq!(created["group"], false);
    assert!(created["groupId"].is_null());
    assert_eq!(created["position"], 3);
    assert_eq!(created["monitorIds"], json!([api]), "duplicates fold");
    assert_eq!(created["autoIncident"], true);
    assert_eq!(created["slaTarget"], 99.9);
    assert_eq!(created["status"], "operational");
    assert_eq!(created["statusSource"], "automatic");
    assert_eq!(created["automaticStatus"], "operational");
    assert_eq!(created["noData"], true, "its monitor has no result yet");
    assert!(created["override"].is_null());
    for field in ["statusChangedAt", "createdAt", "updatedAt"] {
        assert!(created[field].is_string(), "{field}");
    }
    assert_eq!(read(&app, &location).await, created);

    let replaced: Value = app
        .put(&location, &json!({"name": "API"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["name"], "API");
    assert!(
        replaced["description"].is_null(),
        "PUT replaces the whole body"
    );
    assert_eq!(replaced["monitorIds"], json!([]));
    assert_eq!(replaced["autoIncident"], false);
    assert!(replaced["slaTarget"].is_null());
    assert_eq!(replaced["position"], 0);

    let patched: Value = app
        .patch(
            &location,
            &json!({"description": "Public REST API", "monitorIds": [api], "slaTarget": 99.5}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched["name"], "API",
        "a merge patch keeps what it does not name"
    );
    assert_eq!(patched["description"], "Public REST API");
    assert_eq!(patched["monitorIds"], json!([api]));
    assert_eq!(patched["slaTarget"], 99.5);
    let cleared: Value = app
        .patch(&location, &json!({"description": null, "slaTarget": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(cleared["description"].is_null() && cleared["slaTarget"].is_null());
    assert_eq!(cleared["monitorIds"], json!([api]));

    assert_eq!(app.delete(&location).await.status(), 204);
    assert_error(app.get(&location).await, 404, "not_found").await;
    let still: i64 = app
        .db
        .query_one("SELECT count(*) FROM monitors", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, 1, "deleting a component leaves its monitors");
}

#[tokio::test]
async fn unknown_components_are_not_found() {
    let app = spawn_app().await;
    let path = format!("/api/v1/components/{}", uuid::Uuid::now_v7());
    assert_error(app.get(&path).await, 404, "not_found").await;
    assert_error(
        app.put(&path, &json!({"name": "x"})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&path, &json!({"name": "x"})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(&path).await, 404, "not_found").await;
    assert_error(
        app.post(
            &format!("{path}/status"),
            &json!({"status": "major_outage"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.get(&format!("{path}/history")).await, 404, "not_found").await;
    assert_error(
        app.get("/api/v1/components/not-a-uuid").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn component_lists_page_in_creation_order_and_filter() {
    let app = spawn_app().await;
    let api = monitor(&app, "API").await;
    let web = monitor(&app, "Web").await;
    let group = create(&app, json!({"name": "Backend", "group": true})).await;
    let group_id = group["id"].as_str().unwrap();
    let mut children = Vec::new();
    for (name, monitors) in [
        ("API", vec![api.clone()]),
        ("Jobs", vec![]),
        ("Search", vec![api.clone(), web.clone()]),
    ] {
        children.push(
            create(
                &app,
                json!({"name": name, "groupId": group_id, "monitorIds": monitors}),
            )
            .await,
        );
    }
    let website = create(&app, json!({"name": "Website", "monitorIds": [web]})).await;

    let all = app.collect_pages("/api/v1/components?limit=2").await;
    let ids: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut expected = vec![group_id];
    expected.extend(children.iter().map(|c| c["id"].as_str().unwrap()));
    expected.push(website["id"].as_str().unwrap());
    assert_eq!(ids, expected, "ordered by id, which is creation order");
    let first: Value = read(&app, "/api/v1/components?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["nextCursor"].is_string());

    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(read(&app, &format!("/api/v1/components?groupId={group_id}")).await),
        ["API", "Jobs", "Search"]
    );
    assert_eq!(
        names(read(&app, "/api/v1/components?group=true").await),
        ["Backend"]
    );
    assert_eq!(
        names(read(&app, "/api/v1/components?group=false").await),
        ["API", "Jobs", "Search", "Website"]
    );
    assert_eq!(
        names(read(&app, &format!("/api/v1/components?monitorId={api}")).await),
        ["API", "Search"]
    );
    app.post(
        &format!("{}/status", component_path(&website)),
        &json!({"status": "major_outage"}),
    )
    .await;
    assert_eq!(
        names(read(&app, "/api/v1/components?status=major_outage").await),
        ["Website"]
    );
    assert_eq!(
        names(
            read(
                &app,
                &format!("/api/v1/components?groupId={group_id}&monitorId={api}&limit=1")
            )
            .await
        ),
        ["API"]
    );

    for bad in [
        "/api/v1/components?status=down",
        "/api/v1/components?cursor=bm90LWEtdXVpZA",
        "/api/v1/components?limit=0",
        "/api/v1/components?groupId=nope",
        "/api/v1/components?colour=red",
    ] {
        let response = app.get(bad).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn component_bodies_are_validated_field_by_field() {
    let app = spawn_app().await;
    let long = "x".repeat(201);
    let cases = [
        (json!({}), "name", "is required"),
        (json!({"name": ""}), "name", "must not be empty"),
        (json!({"name": long}), "name", "at most 200"),
        (
            json!({"name": "a", "description": "d".repeat(2001)}),
            "description",
            "at most 2000",
        ),
        (
            json!({"name": "a", "url": "ftp://files.example.com"}),
            "url",
            "http:// or https://",
        ),
        (
            json!({"name": "a", "url": "not a url"}),
            "url",
            "http:// or https://",
        ),
        (
            json!({"name": "a", "url": format!("https://example.com/{}", "p".repeat(2048))}),
            "url",
            "at most 2048",
        ),
        (json!({"name": "a", "owner": long}), "owner", "at most 200"),
        (
            json!({"name": "a", "group": "yes"}),
            "group",
            "true or false",
        ),
        (json!({"name": "a", "groupId": "nope"}), "groupId", "UUID"),
        (json!({"name": "a", "groupId": 7}), "groupId", "UUID"),
        (
            json!({"name": "a", "position": -1}),
            "position",
            "integer from 0",
        ),
        (
            json!({"name": "a", "position": 1.5}),
            "position",
            "integer from 0",
        ),
        (
            json!({"name": "a", "position": 3_000_000_000u64}),
            "position",
            "integer from 0",
        ),
        (
            json!({"name": "a", "monitorIds": "x"}),
            "monitorIds",
            "list",
        ),
        (
            json!({"name": "a", "monitorIds": ["nope"]}),
            "monitorIds",
            "not a monitor id",
        ),
        (
            json!({"name": "a", "autoIncident": 1}),
            "autoIncident",
            "true or false",
        ),
        (json!({"name": "a", "slaTarget": 0}), "slaTarget", "above 0"),
        (
            json!({"name": "a", "slaTarget": 100.01}),
            "slaTarget",
            "at most 100",
        ),
        (
            json!({"name": "a", "slaTarget": "99.9"}),
            "slaTarget",
            "percentage",
        ),
        (
            json!({"name": "a", "colour": "red"}),
            "colour",
            "is not a known field",
        ),
        (
            json!({"name": "a", "group": true, "groupId": uuid::Uuid::now_v7()}),
            "groupId",
            "cannot be inside a group",
        ),
        (
            json!({"name": "a", "group": true, "monitorIds": [uuid::Uuid::now_v7()]}),
            "monitorIds",
            "must be empty for a group",
        ),
    ];
    for (body, field, reason) in cases {
        let error = assert_error(
            app.post("/api/v1/components", &body).await,
            422,
            "validation_failed",
        )
        .await;
        let detail = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["field"] == field)
            .unwrap_or_else(|| panic!("{body} -> {error}"));
        assert!(
            detail["message"].as_str().unwrap().contains(reason),
            "{body} -> {detail}"
        );
    }
    for field in [
        "id",
        "status",
        "statusSource",
        "automaticStatus",
        "noData",
        "override",
        "statusChangedAt",
        "createdAt",
        "updatedAt",
    ] {
        let error = assert_error(
            app.post("/api/v1/components", &json!({"name": "a", field: "x"}))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            error["details"],
            json!([{"field": field, "message": "is read-only"}])
        );
    }
    let error = assert_error(
        app.post("/api/v1/components", &json!(["name"])).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(error["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("JSON object"));
    let all_at_once = assert_error(
        app.post(
            "/api/v1/components",
            &json!({"url": "x", "position": -1, "slaTarget": 101}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        invalid_fields(&all_at_once),
        ["name", "url", "position", "slaTarget"]
    );
    let count: i64 = app
        .db
        .query_one("SELECT count(*) FROM components", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "nothing invalid was stored");
}

#[tokio::test]
async fn references_are_checked_against_the_database() {
    let app = spawn_app().await;
    let api = monitor(&app, "API").await;
    let missing = uuid::Uuid::now_v7();
    let error = assert_error(
        app.post(
            "/api/v1/components",
            &json!({"name": "a", "monitorIds": [api, missing]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error["details"],
        json!([{"field": "monitorIds", "message": format!("no such monitor: {missing}")}])
    );

    let error = assert_error(
        app.post(
            "/api/v1/components",
            &json!({"name": "a", "groupId": missing}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["groupId"]);
    assert!(error["details"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("must name a group"));

    let plain = create(&app, json!({"name": "Website", "monitorIds": [api]})).await;
    let error = assert_error(
        app.post(
            "/api/v1/components",
            &json!({"name": "a", "groupId": plain["id"]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error["details"],
        json!([{"field": "groupId", "message": "must name a group; \"Website\" is not a group"}])
    );
    let error = assert_error(
        app.patch(&component_path(&plain), &json!({"groupId": plain["id"]}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error["details"],
        json!([{"field": "groupId", "message": "must name a group other than this component"}])
    );

    let group = create(&app, json!({"name": "Backend", "group": true})).await;
    let other = create(&app, json!({"name": "Frontend", "group": true})).await;
    let error = assert_error(
        app.patch(&component_path(&group), &json!({"groupId": other["id"]}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        invalid_fields(&error),
        ["groupId"],
        "no group inside a group"
    );
    let error = assert_error(
        app.patch(&component_path(&plain), &json!({"group": true}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        invalid_fields(&error),
        ["monitorIds"],
        "a group derives from its components, not from monitors"
    );
    let error = assert_error(
        app.patch(&component_path(&group), &json!({"monitorIds": [api]}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["monitorIds"]);

    // A group becomes a plain component only once it is empty.
    let child = create(&app, json!({"name": "API", "groupId": group["id"]})).await;
    assert_eq!(child["groupId"], group["id"]);
    let error = assert_error(
        app.patch(&component_path(&group), &json!({"group": false}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["group"]);
    assert!(error["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("1 component(s) are in this group"));
    let error = assert_error(
        app.patch(&component_path(&child), &json!({"group": true}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        invalid_fields(&error),
        ["groupId"],
        "a child cannot become a group"
    );
    let moved: Value = app
        .patch(&component_path(&child), &json!({"groupId": other["id"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["groupId"], other["id"]);
    let emptied = app
        .patch(
            &component_path(&group),
            &json!({"group": false, "monitorIds": [api]}),
        )
        .await;
    assert_eq!(emptied.status(), 200);
    let emptied: Value = emptied.json().await.unwrap();
    assert_eq!(
        (emptied["group"].clone(), emptied["monitorIds"].clone()),
        (json!(false), json!([api]))
    );
    let made_group = app
        .patch(
            &component_path(&plain),
            &json!({"group": true, "monitorIds": null}),
        )
        .await;
    assert_eq!(made_group.status(), 200);
}

#[tokio::test]
async fn concurrent_requests_cannot_put_a_component_in_a_non_group() {
    let app = spawn_app().await;
    for round in 0..8 {
        let group = create(
            &app,
            json!({"name": format!("Group {round}"), "group": true}),
        )
        .await;
        let ungroup = app
            .request(Method::PATCH, &component_path(&group))
            .json(&json!({"group": false}))
            .send();
        let join = app
            .request(Method::POST, "/api/v1/components")
            .json(&json!({"name": format!("Child {round}"), "groupId": group["id"]}))
            .send();
        let (ungroup, join) = tokio::join!(ungroup, join);
        let mut statuses = [
            ungroup.unwrap().status().as_u16(),
            join.unwrap().status().as_u16(),
        ];
        statuses.sort_unstable();
        assert!(
            statuses == [200, 422] || statuses == [201, 422],
            "exactly one wins: {statuses:?}"
        );
    }
    let orphans: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM components c JOIN components g ON g.id = c.group_id \
             WHERE NOT g.is_group",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0, "no component sits in a non-group");
}

#[tokio::test]
async fn deleting_a_group_leaves_its_components_ungrouped() {
    let app = spawn_app().await;
    let group = create(&app, json!({"name": "Backend", "group": true})).await;
    let a = create(
        &app,
        json!({"name": "API", "groupId": group["id"], "position": 1}),
    )
    .await;
    let b = create(
        &app,
        json!({"name": "Jobs", "groupId": group["id"], "position": 2}),
    )
    .await;
    assert_eq!(app.delete(&component_path(&group)).await.status(), 204);
    for child in [a, b] {
        let now = read(&app, &component_path(&child)).await;
        assert!(now["groupId"].is_null(), "{now}");
        assert_eq!(now["position"], child["position"]);
    }
}

#[tokio::test]
async fn a_read_only_key_cannot_change_components() {
    let app = spawn_app().await;
    let component = create(&app, json!({"name": "API"})).await;
    let path = component_path(&component);
    let read_key = app.create_key(&["read"]).await;
    let attempts = [
        (
            Method::POST,
            "/api/v1/components".to_owned(),
            json!({"name": "x"}),
        ),
        (Method::PUT, path.clone(), json!({"name": "x"})),
        (Method::PATCH, path.clone(), json!({"name": "x"})),
        (Method::DELETE, path.clone(), json!({})),
        (
            Method::POST,
            format!("{path}/status"),
            json!({"status": "major_outage"}),
        ),
    ];
    for (method, target, body) in attempts {
        let response = app
            .request_as(&read_key, method.clone(), &target)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "forbidden").await;
    }
    for target in [
        path.clone(),
        "/api/v1/components".to_owned(),
        format!("{path}/history"),
        "/api/v1/status-changes".to_owned(),
    ] {
        let response = app
            .request_as(&read_key, Method::GET, &target)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{target}");
    }
    assert_eq!(read(&app, &path).await, component, "nothing changed");
}

#[tokio::test]
async fn every_change_writes_an_audit_row() {
    let app = spawn_app().await;
    let (key, key_id) = key_with_id(&app, &["read", "write"]).await;
    let send = |method: Method, path: String, body: Value| {
        let request = app.request_as(&key, method, &path).json(&body);
        async move { request.send().await.unwrap() }
    };
    let created: Value = send(
        Method::POST,
        "/api/v1/components".into(),
        json!({"name": "API"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = component_path(&created);
    send(Method::PUT, path.clone(), json!({"name": "Public API"})).await;
    send(Method::PATCH, path.clone(), json!({"owner": "Platform"})).await;
    send(
        Method::POST,
        format!("{path}/status"),
        json!({"status": "partial_outage", "message": "Slow"}),
    )
    .await;
    send(
        Method::POST,
        format!("{path}/status"),
        json!({"status": "automatic"}),
    )
    .await;
    // Nothing to clear: no change, no row.
    send(
        Method::POST,
        format!("{path}/status"),
        json!({"status": "automatic"}),
    )
    .await;
    // Refused requests change nothing and record nothing.
    send(Method::PATCH, path.clone(), json!({"position": -1})).await;
    send(Method::DELETE, path.clone(), json!({})).await;

    let rows: Vec<AuditRow> = app
        .audit_rows()
        .await
        .iter()
        .filter(|row| row.get::<_, String>("entity_type") == "component")
        .map(|row| AuditRow {
            action: row.get("action"),
            entity_id: row.get("entity_id"),
            before: row.get("before"),
            after: row.get("after"),
            actor: row.get("actor_key_id"),
        })
        .collect();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "component.create",
            "component.update",
            "component.update",
            "component.status",
            "component.status",
            "component.delete"
        ]
    );
    let id = created["id"].as_str().unwrap();
    for row in &rows {
        let action = &row.action;
        assert_eq!(row.entity_id, id, "{action}");
        assert_eq!(row.actor.map(|a| a.to_string()), Some(key_id.clone()));
        assert_eq!(
            row.before.is_some(),
            action != "component.create",
            "{action}"
        );
        assert_eq!(
            row.after.is_some(),
            action != "component.delete",
            "{action}"
        );
    }
    let after = |i: usize| rows[i].after.clone().unwrap();
    assert_eq!(after(0)["name"], "API");
    assert_eq!(after(1)["name"], "Public API");
    assert_eq!(after(2)["owner"], "Platform");
    assert_eq!(after(3)["override"]["message"], "Slow");
    assert!(after(4)["override"].is_null());
    assert_eq!(rows[5].before.as_ref().unwrap()["name"], "Public API");
}

/// The columns of an audit row this file looks at.
struct AuditRow {
    action: String,
    entity_id: String,
    before: Option<Value>,
    after: Option<Value>,
    actor: Option<uuid::Uuid>,
}

#[tokio::test]
async fn a_manual_status_overrides_until_handed_back() {
    let app = spawn_app().await;
    let api = monitor(&app, "API").await;
    let mut results = Results::new(&app);
    results.report(&[(&api, CheckStatus::Up)]).await;
    let component = create(&app, json!({"name": "API", "monitorIds": [api]})).await;
    let path = component_path(&component);
    let (key, key_id) = key_with_id(&app, &["write"]).await;
    let until = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let response = app
        .request_as(&key, Method::POST, &format!("{path}/status"))
        .json(&json!({"status": "degraded_performance", "message": " Slow responses ", "until": until}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let overridden: Value = response.json().await.unwrap();
    assert_eq!(overridden["status"], "degraded_performance");
    assert_eq!(overridden["statusSource"], "manual");
    assert_eq!(overridden["automaticStatus"], "operational");
    assert_eq!(overridden["override"]["status"], "degraded_performance");
    assert_eq!(overridden["override"]["message"], "Slow responses");
    assert!(overridden["override"]["statusIncidentId"].is_null());
    let shown_until: DateTime<Utc> = overridden["override"]["until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        shown_until.timestamp(),
        until.parse::<DateTime<Utc>>().unwrap().timestamp()
    );
    let actor: Option<uuid::Uuid> = app
        .db
        .query_one(
            "SELECT manual_actor FROM components WHERE id = $1",
            &[&component["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(actor.unwrap().to_string(), key_id);

    // The monitors keep deciding the automatic status underneath.
    results.report(&[(&api, CheckStatus::Down)]).await;
    let underneath = read(&app, &path).await;
    assert_eq!(underneath["status"], "degraded_performance");
    assert_eq!(underneath["automaticStatus"], "major_outage");

    let handed_back: Value = app
        .post(&format!("{path}/status"), &json!({"status": "automatic"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(handed_back["status"], "major_outage");
    assert_eq!(handed_back["statusSource"], "automatic");
    assert!(handed_back["override"].is_null());

    // The bootstrap key has no key id: the override records no actor.
    let by_bootstrap: Value = app
        .post(&format!("{path}/status"), &json!({"status": "operational"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_bootstrap["status"], "operational");
    assert!(by_bootstrap["override"]["until"].is_null());
    let history = read(&app, &format!("{path}/history")).await;
    assert_eq!(history["items"][0]["source"], "manual");
    assert!(history["items"][0]["actorKeyId"].is_null());
}

#[tokio::test]
async fn manual_status_bodies_are_validated() {
    let app = spawn_app().await;
    let component = create(&app, json!({"name": "API"})).await;
    let path = format!("{}/status", component_path(&component));
    let past = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    let cases = [
        (json!({}), "status", "is required"),
        (json!({"status": "down"}), "status", "must be one of operational, degraded_performance, partial_outage, major_outage, under_maintenance, automatic"),
        (json!({"status": 3}), "status", "must be one of"),
        (json!({"status": "automatic", "message": "back"}), "message", "does not apply to \"automatic\""),
        (json!({"status": "automatic", "until": "2099-01-01T00:00:00Z"}), "until", "does not apply"),
        (json!({"status": "major_outage", "until": past}), "until", "must be in the future"),
        (json!({"status": "major_outage", "until": "tomorrow"}), "until", "RFC 3339"),
        (json!({"status": "major_outage", "until": "+10000-01-01T00:00:00Z"}), "until", "RFC 3339"),
        (json!({"status": "major_outage", "until": 1_900_000_000}), "until", "RFC 3339"),
        (json!({"status": "major_outage", "message": "m".repeat(2001)}), "message", "at most 2000"),
        (json!({"status": "major_outage", "colour": "red"}), "colour", "is not a known field"),
    ];
    for (body, field, reason) in cases {
        let error = assert_error(app.post(&path, &body).await, 422, "validation_failed").await;
        let detail = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["field"] == field)
            .unwrap_or_else(|| panic!("{body} -> {error}"));
        assert!(
            detail["message"].as_str().unwrap().contains(reason),
            "{body} -> {detail}"
        );
    }
    assert_eq!(read(&app, &component_path(&component)).await, component);
}

#[tokio::test]
async fn an_override_whose_time_is_up_ends() {
    let app = spawn_app().await;
    let component = create(&app, json!({"name": "API"})).await;
    let path = component_path(&component);
    let until = (Utc::now() + Duration::milliseconds(1500)).to_rfc3339();
    let set = app
        .post(
            &format!("{path}/status"),
            &json!({"status": "major_outage", "until": until}),
        )
        .await;
    assert_eq!(set.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    // Any write ends it (the workers' status clock does so within seconds).
    let patched: Value = app
        .patch(&path, &json!({"owner": "Platform"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["status"], "operational");
    assert_eq!(patched["statusSource"], "automatic");
    assert!(patched["override"].is_null());
    let history = read(&app, &format!("{path}/history")).await;
    assert_eq!(history["items"][0]["oldStatus"], "major_outage");
    assert_eq!(history["items"][0]["newStatus"], "operational");
    assert_eq!(history["items"][0]["source"], "automatic");
}

#[tokio::test]
async fn history_records_creation_automatic_and_manual_changes() {
    let app = spawn_app().await;
    let api = monitor(&app, "API").await;
    let mut results = Results::new(&app);
    let component = create(&app, json!({"name": "API", "monitorIds": [api]})).await;
    let other = create(&app, json!({"name": "Website"})).await;
    let path = component_path(&component);
    results.report(&[(&api, CheckStatus::Down)]).await;
    app.post(
        &format!("{path}/status"),
        &json!({"status": "partial_outage", "message": "Failing over"}),
    )
    .await;
    app.post(&format!("{path}/status"), &json!({"status": "automatic"}))
        .await;
    results.report(&[(&api, CheckStatus::Up)]).await;

    let history = app.collect_pages(&format!("{path}/history?limit=2")).await;
    let rows: Vec<(Value, Value, Value, Value)> = history
        .iter()
        .map(|h| {
            (
                h["oldStatus"].clone(),
                h["newStatus"].clone(),
                h["source"].clone(),
                h["message"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                json!("major_outage"),
                json!("operational"),
                json!("automatic"),
                Value::Null
            ),
            (
                json!("partial_outage"),
                json!("major_outage"),
                json!("automatic"),
                Value::Null
            ),
            (
                json!("major_outage"),
                json!("partial_outage"),
                json!("manual"),
                json!("Failing over")
            ),
            (
                json!("operational"),
                json!("major_outage"),
                json!("automatic"),
                Value::Null
            ),
            (
                Value::Null,
                json!("operational"),
                json!("automatic"),
                Value::Null
            ),
        ],
        "newest first, down to the row written at creation"
    );
    let ids: Vec<i64> = history.iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    for h in &history {
        assert_eq!(h["componentId"], component["id"]);
        assert!(h["at"].is_string());
        assert!(h.get("actorKeyId").is_some());
    }

    // All components: filters by component, source and time.
    let all = app.collect_pages("/api/v1/status-changes?limit=3").await;
    assert_eq!(all.len(), 6, "five for API, the creation of Website");
    assert_eq!(all[5]["componentName"], "API");
    assert_eq!(
        all.iter()
            .filter(|c| c["componentName"] == "Website")
            .count(),
        1
    );
    let of_other = read(
        &app,
        &format!(
            "/api/v1/status-changes?componentId={}",
            other["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(of_other["items"].as_array().unwrap().len(), 1);
    assert!(of_other["items"][0]["oldStatus"].is_null());
    let manual = read(&app, "/api/v1/status-changes?source=manual").await;
    assert_eq!(manual["items"].as_array().unwrap().len(), 1);
    assert_eq!(manual["items"][0]["message"], "Failing over");
    assert!(
        read(&app, "/api/v1/status-changes?source=maintenance").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let latest: DateTime<Utc> = all[0]["at"].as_str().unwrap().parse().unwrap();
    let from = (latest - Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let to = (latest + Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let within = app
        .collect_pages(&format!("/api/v1/status-changes?from={from}&to={to}"))
        .await;
    assert_eq!(within.len(), 6);
    let later = read(&app, &format!("/api/v1/status-changes?from={to}")).await;
    assert!(later["items"].as_array().unwrap().is_empty());
    let earlier = read(&app, &format!("/api/v1/status-changes?to={from}")).await;
    assert!(earlier["items"].as_array().unwrap().is_empty());

    for bad in [
        "/api/v1/status-changes?source=operator".to_owned(),
        format!("/api/v1/status-changes?from={to}&to={from}"),
        "/api/v1/status-changes?from=0000-01-01T00:00:00Z".to_owned(),
        "/api/v1/status-changes?from=yesterday".to_owned(),
        "/api/v1/status-changes?componentId=nope".to_owned(),
        "/api/v1/status-changes?cursor=eA".to_owned(),
        format!("{path}/history?cursor=eA"),
        format!("{path}/history?limit=501"),
    ] {
        assert_eq!(app.get(&bad).await.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn status_follows_the_rule_table() {
    let app = spawn_app().await;
    let mut results = Results::new(&app);
    let a = monitor(&app, "A").await;
    let b = monitor(&app, "B").await;
    let c = monitor(&app, "C").await;
    let both = create(&app, json!({"name": "Both", "monitorIds": [a, b]})).await;

    // No monitor with a known state: operational, with no data.
    assert_eq!(shown(&app, &both).await, state("operational", true));
    // All up.
    results
        .report(&[(&a, CheckStatus::Up), (&b, CheckStatus::Up)])
        .await;
    assert_eq!(shown(&app, &both).await, state("operational", false));
    // One degraded.
    results
        .report(&[(&a, CheckStatus::Degraded), (&b, CheckStatus::Up)])
        .await;
    assert_eq!(
        shown(&app, &both).await,
        state("degraded_performance", false)
    );
    // Some down (the other degraded or up).
    results
        .report(&[(&a, CheckStatus::Degraded), (&b, CheckStatus::Down)])
        .await;
    assert_eq!(shown(&app, &both).await, state("partial_outage", false));
    results
        .report(&[(&a, CheckStatus::Up), (&b, CheckStatus::Down)])
        .await;
    assert_eq!(shown(&app, &both).await, state("partial_outage", false));
    // All down.
    results
        .report(&[(&a, CheckStatus::Down), (&b, CheckStatus::Down)])
        .await;
    assert_eq!(shown(&app, &both).await, state("major_outage", false));
    // A paused monitor has no known state: the rest decide.
    app.post(&format!("/api/v1/monitors/{a}/pause"), &json!({}))
        .await;
    assert_eq!(shown(&app, &both).await, state("major_outage", false));
    results.report(&[(&b, CheckStatus::Up)]).await;
    assert_eq!(shown(&app, &both).await, state("operational", false));
    app.post(&format!("/api/v1/monitors/{b}/pause"), &json!({}))
        .await;
    assert_eq!(shown(&app, &both).await, state("operational", true));
    // Resumed monitors are unknown until their next result.
    app.post(&format!("/api/v1/monitors/{a}/resume"), &json!({}))
        .await;
    assert_eq!(shown(&app, &both).await, state("operational", true));
    results.report(&[(&a, CheckStatus::Down)]).await;
    assert_eq!(shown(&app, &both).await, state("major_outage", false));

    // A group takes the worst of its components.
    let group = create(&app, json!({"name": "Backend", "group": true})).await;
    assert_eq!(shown(&app, &group).await, state("operational", true));
    let single = create(
        &app,
        json!({"name": "Single", "groupId": group["id"], "monitorIds": [c]}),
    )
    .await;
    assert_eq!(shown(&app, &group).await, state("operational", true));
    results.report(&[(&c, CheckStatus::Degraded)]).await;
    assert_eq!(
        shown(&app, &single).await,
        state("degraded_performance", false)
    );
    assert_eq!(
        shown(&app, &group).await,
        state("degraded_performance", false)
    );
    let moved: Value = app
        .patch(&component_path(&both), &json!({"groupId": group["id"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["groupId"], group["id"]);
    assert_eq!(shown(&app, &group).await, state("major_outage", false));
    results.report(&[(&a, CheckStatus::Up)]).await;
    assert_eq!(
        shown(&app, &group).await,
        state("degraded_performance", false)
    );
    results.report(&[(&c, CheckStatus::Up)]).await;
    assert_eq!(shown(&app, &group).await, state("operational", false));

    // A component under a manual status moves its group.
    app.post(
        &format!("{}/status", component_path(&single)),
        &json!({"status": "partial_outage", "message": "Failing over"}),
    )
    .await;
    assert_eq!(shown(&app, &group).await, state("partial_outage", false));
    let group_json = read(&app, &component_path(&group)).await;
    assert_eq!(group_json["statusSource"], "automatic");
    app.post(
        &format!("{}/status", component_path(&single)),
        &json!({"status": "automatic"}),
    )
    .await;
    assert_eq!(shown(&app, &group).await, state("operational", false));
    // Leaving the group moves it too.
    results.report(&[(&a, CheckStatus::Down)]).await;
    assert_eq!(shown(&app, &group).await, state("major_outage", false));
    app.patch(&component_path(&both), &json!({"groupId": null}))
        .await;
    assert_eq!(shown(&app, &group).await, state("operational", false));
    let history = read(&app, &format!("{}/history", component_path(&group))).await;
    assert_eq!(history["items"][0]["oldStatus"], "major_outage");
    assert_eq!(history["items"][0]["source"], "automatic");
}

#[tokio::test]
async fn changing_monitors_derives_the_status_once() {
    let app = spawn_app().await;
    let mut results = Results::new(&app);
    let a = monitor(&app, "A").await;
    let b = monitor(&app, "B").await;
    results
        .report(&[(&a, CheckStatus::Down), (&b, CheckStatus::Down)])
        .await;
    let component = create(&app, json!({"name": "API", "monitorIds": [a]})).await;
    assert_eq!(component["status"], "major_outage");
    let path = component_path(&component);
    let before = read(&app, &format!("{path}/history")).await["items"]
        .as_array()
        .unwrap()
        .len();
    // Swapping one down monitor for another passes through no other status.
    let swapped: Value = app
        .patch(&path, &json!({"monitorIds": [b]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(swapped["monitorIds"], json!([b]));
    assert_eq!(swapped["status"], "major_outage");
    let after = read(&app, &format!("{path}/history")).await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before, "no change, no history row");
    // Deleting its monitor takes its data away.
    assert_eq!(
        app.delete(&format!("/api/v1/monitors/{b}")).await.status(),
        204
    );
    let now = read(&app, &path).await;
    assert_eq!(now["monitorIds"], json!([]));
    assert_eq!(
        (now["status"].clone(), now["noData"].clone()),
        (json!("operational"), json!(true))
    );
}

#[tokio::test]
async fn uptime_comes_from_the_history_leaving_out_maintenance_and_time_before_creation() {
    let app = crate::helpers::spawn_app().await;
    let id = uuid::Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO components (id, name) VALUES ($1, 'API')",
            &[&id],
        )
        .await
        .unwrap();
    // A history written at known times (UTC noon of past days): created 10
    // days ago; 2 h partial outage 5 days ago; 1 h maintenance 3 days ago;
    // 30 min major outage yesterday; degraded for 1 h 2 days ago.
    app.db
        .execute(
            "DELETE FROM component_status_changes WHERE component_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO component_status_changes (component_id, old_status, new_status, source, at) \
             SELECT $1, o, n, 'automatic', date_trunc('day', now()) + d FROM (VALUES \
               (NULL, 'operational', interval '-10 days 12 hours'), \
               ('operational', 'partial_outage', interval '-5 days 12 hours'), \
               ('partial_outage', 'operational', interval '-5 days 14 hours'), \
               ('operational', 'under_maintenance', interval '-3 days 12 hours'), \
               ('under_maintenance', 'operational', interval '-3 days 13 hours'), \
               ('operational', 'degraded_performance', interval '-2 days 12 hours'), \
               ('degraded_performance', 'operational', interval '-2 days 13 hours'), \
               ('operational', 'major_outage', interval '-1 days 12 hours'), \
               ('major_outage', 'operational', interval '-1 days 12 hours 30 minutes') \
             ) AS v(o, n, d)",
            &[&id],
        )
        .await
        .unwrap();
    let week: Value = app
        .get(&format!("/api/v1/components/{id}/uptime?period=7d"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(week["period"], "7d");
    assert!(
        (week["partialOutageSeconds"].as_f64().unwrap() - 7200.0).abs() < 0.01,
        "{week}"
    );
    assert!(
        (week["majorOutageSeconds"].as_f64().unwrap() - 1800.0).abs() < 0.01,
        "{week}"
    );
    assert!(
        (week["maintenanceSeconds"].as_f64().unwrap() - 3600.0).abs() < 0.01,
        "{week}"
    );
    assert!(
        (week["degradedSeconds"].as_f64().unwrap() - 3600.0).abs() < 0.01,
        "{week}"
    );
    assert!(week["noDataSeconds"].as_f64().unwrap() < 1.0, "{week}");
    let counted = 7.0 * 86400.0 - 3600.0;
    let expected = 100.0 * (counted - 9000.0) / counted;
    assert!(
        (week["uptimePercent"].as_f64().unwrap() - expected).abs() < 0.001,
        "{week}"
    );

    // Thirty days reach back before the component existed: no data, not up.
    let month: Value = app
        .get(&format!("/api/v1/components/{id}/uptime?period=30d"))
        .await
        .json()
        .await
        .unwrap();
    let no_data = month["noDataSeconds"].as_f64().unwrap();
    let from: chrono::DateTime<chrono::Utc> = month["from"].as_str().unwrap().parse().unwrap();
    let midnight = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let created = midnight - chrono::Duration::hours(9 * 24 + 12);
    #[allow(clippy::cast_precision_loss)]
    let expected_no_data = (created - from).num_milliseconds() as f64 / 1000.0;
    assert!((no_data - expected_no_data).abs() < 1.0, "{month}");

    let daily: Value = app
        .get(&format!("/api/v1/components/{id}/uptime/daily?days=12"))
        .await
        .json()
        .await
        .unwrap();
    let items = daily["items"].as_array().unwrap();
    assert_eq!(items.len(), 12);
    assert!(
        items[0]["uptimePercent"].is_null(),
        "before creation: {}",
        items[0]
    );
    assert_eq!(
        items[1]["uptimePercent"], 100.0,
        "the creation day counts from noon"
    );
    assert!((items[1]["noDataSeconds"].as_f64().unwrap() - 43200.0).abs() < 0.01);
    let partial_day = &items[6];
    assert!((partial_day["partialOutageSeconds"].as_f64().unwrap() - 7200.0).abs() < 0.01);
    let expected = 100.0 * (86400.0 - 7200.0) / 86400.0;
    assert!((partial_day["uptimePercent"].as_f64().unwrap() - expected).abs() < 0.001);
    assert_eq!(items[8]["uptimePercent"], 100.0, "maintenance is left out");
    assert!((items[8]["maintenanceSeconds"].as_f64().unwrap() - 3600.0).abs() < 0.01);
    let today = &items[11];
    assert!(
        today["noDataSeconds"].as_f64().unwrap() > 0.0,
        "the rest of today is to come"
    );

    for bad in ["period=1y", "days=0", "days=367", "unknown=1"] {
        let path = if bad.starts_with("period") || bad.starts_with("unknown") {
            format!("/api/v1/components/{id}/uptime?{bad}")
        } else {
            format!("/api/v1/components/{id}/uptime/daily?{bad}")
        };
        assert_eq!(app.get(&path).await.status(), 400, "{path}");
    }
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        app.get(&format!("/api/v1/components/{unknown}/uptime"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn metrics_carry_each_component_status_and_the_status_domain_counts() {
    let app = crate::helpers::spawn_app().await;
    let created: Value = app
        .post("/api/v1/components", &json!({"name": "Checkout"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/components/{id}/status"),
        &json!({"status": "major_outage", "message": "Failing over"}),
    )
    .await;
    app.post(
        "/api/v1/status-incidents",
        &json!({"name": "Checkout errors", "componentIds": [id]}),
    )
    .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
            .to_owned()
    };
    let status = line("uptime_component_status{");
    assert!(
        status.contains(&format!("component_id=\"{id}\""))
            && status.contains("component_name=\"Checkout\"")
            && status.ends_with(" 3"),
        "{status}"
    );
    // The counts are process-wide gauges other tests' scrapes also set, so
    // only their presence is asserted here; the per-component series is this
    // test's own.
    line("uptime_status_incidents{status=\"investigating\"}");
    line("uptime_maintenance_windows{state=\"scheduled\"}");
}
