use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::maintenance::{self, TickReport};
use uptime_api::input::merge_patch;
use uuid::Uuid;

use crate::helpers::{
    assert_error, invalid_fields, sibling_monitor, spawn_app, test_config, TestApp,
};

const WINDOWS: &str = "/api/v1/maintenance-windows";

/// `now + offset` to the millisecond (the database keeps microseconds).
fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A component straight in the database (the components API is tested on its own).
async fn insert_component(app: &TestApp, name: &str, group_id: Option<Uuid>, group: bool) -> Uuid {
    let id = Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO components (id, name, group_id, is_group) VALUES ($1, $2, $3, $4)",
            &[&id, &name, &group_id, &group],
        )
        .await
        .unwrap();
    id
}

/// An enabled channel subscribed to the maintenance events.
async fn insert_channel(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    app.db
        .execute(
            "INSERT INTO notification_channels (id, name, type, config, events) \
             VALUES ($1, 'ops', 'webhook', '{\"url\": \"https://hooks.example.com/x\"}', \
                     '{maintenance.started,maintenance.ended}')",
            &[&id],
        )
        .await
        .unwrap();
    id
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post(WINDOWS, body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create window failed: {json}");
    json
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// (status, status_source, in_maintenance) of a component.
async fn component_state(app: &TestApp, id: Uuid) -> (String, String, bool) {
    let row = app
        .db
        .query_one(
            "SELECT status, status_source, in_maintenance FROM components WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// (new status, source) of every history row of a component, oldest first.
async fn history(app: &TestApp, id: Uuid) -> Vec<(String, String)> {
    app.db
        .query(
            "SELECT new_status, source FROM component_status_changes \
             WHERE component_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Outbox rows of `event_type`.
async fn events(app: &TestApp, event_type: &str) -> Vec<Value> {
    app.db
        .query(
            "SELECT payload FROM notification_events WHERE event_type = $1 ORDER BY created_at",
            &[&event_type],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn occurrence_starts(app: &TestApp, window: &str) -> Vec<DateTime<Utc>> {
    let id = Uuid::parse_str(window).unwrap();
    app.db
        .query(
            "SELECT starts_at FROM maintenance_occurrences WHERE window_id = $1 ORDER BY starts_at",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn pool(app: &TestApp) -> deadpool_postgres::Pool {
    shared::db::build_pool(&test_config(&app.db_name, &[])).unwrap()
}

async fn tick_once(pool: &deadpool_postgres::Pool) -> TickReport {
    let mut client = pool.get().await.unwrap();
    maintenance::tick(&mut client, maintenance::HORIZON)
        .await
        .unwrap()
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn one_off_windows_are_created_read_patched_and_deleted_with_audit_rows() {
    let app = spawn_app().await;
    let monitor = app.create_monitor(sibling_monitor()).await;
    let component = insert_component(&app, "API", None, false).await;
    let (starts, ends) = (
        at(Duration::days(1)),
        at(Duration::days(1) + Duration::hours(2)),
    );
    let response = app
        .post(
            WINDOWS,
            &json!({
                "title": "Database upgrade",
                "description": "Postgres 17",
                "monitorIds": [monitor["id"]],
                "componentIds": [component],
                "startsAt": starts,
                "endsAt": ends,
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{WINDOWS}/{id}");
    assert_eq!(created["state"], "scheduled");
    assert_eq!(created["notifyChannels"], true);
    assert_eq!(created["monitorIds"], json!([monitor["id"]]));
    assert_eq!(created["componentIds"], json!([component]));
    assert_eq!(
        time(&created["startsAt"]),
        starts.parse::<DateTime<Utc>>().unwrap()
    );
    assert!(created["currentOccurrence"].is_null());
    assert_eq!(created["nextOccurrence"]["startsAt"], created["startsAt"]);
    assert_eq!(created["nextOccurrence"]["endsAt"], created["endsAt"]);
    assert_eq!(created["upcoming"].as_array().unwrap().len(), 1);
    assert!(
        created.get("cron").is_none(),
        "only the one-off fields: {created}"
    );
    assert_eq!(get_json(&app, &path).await, created);
    assert_eq!(occurrence_starts(&app, &id).await.len(), 1);

    let moved = at(Duration::days(2));
    let response = app
        .patch(&path, &json!({"title": "Postgres upgrade", "startsAt": moved, "endsAt": at(Duration::days(2) + Duration::hours(1))}))
        .await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["title"], "Postgres upgrade");
    assert_eq!(
        patched["description"], "Postgres 17",
        "a merge patch keeps what it leaves out"
    );
    assert_eq!(
        occurrence_starts(&app, &id).await,
        vec![time(&patched["startsAt"])],
        "the old occurrence is gone, the new one is there"
    );

    let response = app
        .patch(
            &path,
            &json!({"startsAt": null, "endsAt": null, "cron": "0 2 * * 0",
                    "durationMinutes": 60, "timezone": "Europe/Berlin", "description": null}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let recurring: Value = response.json().await.unwrap();
    assert_eq!(recurring["cron"], "0 2 * * 0");
    assert_eq!(recurring["timezone"], "Europe/Berlin");
    assert!(recurring.get("startsAt").is_none() && recurring["description"].is_null());
    let upcoming: Vec<DateTime<Utc>> = recurring["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| time(&o["startsAt"]))
        .collect();
    assert_eq!(upcoming.len(), 5);
    let stored = occurrence_starts(&app, &id).await;
    assert!(stored.len() >= 2, "two weeks of Sundays: {stored:?}");
    assert_eq!(stored, upcoming[..stored.len()].to_vec());

    assert_eq!(app.delete(&path).await.status(), 204);
    assert_error(app.get(&path).await, 404, "not_found").await;
    assert!(occurrence_starts(&app, &id).await.is_empty());
    assert_error(app.delete(&path).await, 404, "not_found").await;

    let audit: Vec<(String, String, bool, bool)> = app
        .audit_rows()
        .await
        .iter()
        .filter(|row| row.get::<_, String>("entity_type") == "maintenance_window")
        .map(|row| {
            (
                row.get("action"),
                row.get("entity_id"),
                row.get::<_, Option<Value>>("before").is_some(),
                row.get::<_, Option<Value>>("after").is_some(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        vec![
            (
                "maintenance_window.create".to_owned(),
                id.clone(),
                false,
                true
            ),
            (
                "maintenance_window.update".to_owned(),
                id.clone(),
                true,
                true
            ),
            (
                "maintenance_window.update".to_owned(),
                id.clone(),
                true,
                true
            ),
            (
                "maintenance_window.delete".to_owned(),
                id.clone(),
                true,
                false
            ),
        ]
    );
}

#[tokio::test]
async fn a_recurring_window_in_berlin_fires_at_the_right_utc_instants_across_daylight_saving() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    let window = create(
        &app,
        &json!({
            "title": "Sunday patching",
            "componentIds": [component],
            "cron": "0 2 * * 0",
            "durationMinutes": 60,
            "timezone": "Europe/Berlin",
            "activeFrom": "2027-03-20T00:00:00Z",
            "activeUntil": "2027-04-05T00:00:00Z",
            "notifyChannels": false,
        }),
    )
    .await;
    assert_eq!(window["state"], "scheduled");
    assert_eq!(window["notifyChannels"], false);
    assert_eq!(
        window["upcoming"],
        json!([
            {"startsAt": "2027-03-21T01:00:00Z", "endsAt": "2027-03-21T02:00:00Z"},
            {"startsAt": "2027-03-28T01:00:00Z", "endsAt": "2027-03-28T02:00:00Z"},
            {"startsAt": "2027-04-04T00:00:00Z", "endsAt": "2027-04-04T01:00:00Z"},
        ])
    );
    assert_eq!(window["nextOccurrence"], window["upcoming"][0]);

    let autumn = create(
        &app,
        &json!({
            "title": "Sunday patching (autumn)",
            "componentIds": [component],
            "cron": "0 2 * * SUN",
            "durationMinutes": 30,
            "timezone": "Europe/Berlin",
            "activeFrom": "2027-10-23T00:00:00Z",
            "activeUntil": "2027-11-08T00:00:00Z",
        }),
    )
    .await;
    let starts: Vec<&str> = autumn["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["startsAt"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2027-10-24T00:00:00Z",
            "2027-10-31T00:00:00Z",
            "2027-11-07T01:00:00Z"
        ]
    );

    let over = create(
        &app,
        &json!({
            "title": "Last year's patching",
            "componentIds": [component],
            "cron": "@weekly",
            "durationMinutes": 60,
            "timezone": "UTC",
            "activeUntil": "2020-01-01T00:00:00Z",
        }),
    )
    .await;
    assert_eq!(over["state"], "completed");
    assert!(over["upcoming"].as_array().unwrap().is_empty());
    assert!(over["nextOccurrence"].is_null());
}

#[tokio::test]
async fn window_bodies_are_validated_field_by_field() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    let unknown = Uuid::now_v7();
    let unknown_text = unknown.to_string();
    let starts = at(Duration::hours(1));
    let ends = at(Duration::hours(2));
    let one_off = |extra: Value| {
        let mut body =
            json!({"title": "w", "componentIds": [component], "startsAt": starts, "endsAt": ends});
        merge_patch(&mut body, extra);
        body
    };
    let recurring = |extra: Value| {
        let mut body = json!({"title": "w", "componentIds": [component], "cron": "0 2 * * 0",
                              "durationMinutes": 60, "timezone": "Europe/Berlin"});
        merge_patch(&mut body, extra);
        body
    };
    // (body, field, a part of the message)
    let cases = [
        (one_off(json!({"title": null})), "title", "required"),
        (one_off(json!({"title": "x".repeat(201)})), "title", "200"),
        (
            one_off(json!({"description": "x".repeat(5001)})),
            "description",
            "5000",
        ),
        (
            one_off(json!({"componentIds": []})),
            "componentIds",
            "at least one",
        ),
        (
            one_off(json!({"componentIds": [], "monitorIds": []})),
            "monitorIds",
            "at least one",
        ),
        (
            one_off(json!({"componentIds": ["nope"]})),
            "componentIds",
            "entry 1",
        ),
        (
            one_off(json!({"componentIds": "nope"})),
            "componentIds",
            "list",
        ),
        (
            one_off(json!({"componentIds": [unknown]})),
            "componentIds",
            unknown_text.as_str(),
        ),
        (
            one_off(json!({"monitorIds": [unknown]})),
            "monitorIds",
            unknown_text.as_str(),
        ),
        (
            one_off(json!({"endsAt": starts})),
            "endsAt",
            "after startsAt",
        ),
        (
            one_off(json!({"endsAt": at(Duration::hours(-1))})),
            "endsAt",
            "ends before it starts",
        ),
        (one_off(json!({"endsAt": null})), "endsAt", "required"),
        (
            one_off(json!({"startsAt": "tomorrow"})),
            "startsAt",
            "RFC 3339",
        ),
        (
            one_off(json!({"startsAt": "0000-12-31T00:00:00Z"})),
            "startsAt",
            "0001 and 9999",
        ),
        (one_off(json!({"startsAt": 5})), "startsAt", "RFC 3339"),
        (
            one_off(json!({"activeFrom": starts})),
            "activeFrom",
            "recurring",
        ),
        (
            one_off(json!({"cron": "0 2 * * 0"})),
            "cron",
            "either one-off",
        ),
        (
            one_off(json!({"timezone": "UTC"})),
            "timezone",
            "either one-off",
        ),
        (
            json!({"title": "w", "componentIds": [component]}),
            "startsAt",
            "required",
        ),
        (
            recurring(json!({"cron": "0 2 * * 8"})),
            "cron",
            "day-of-week field \"8\"",
        ),
        (
            recurring(json!({"cron": "61 2 * * 0"})),
            "cron",
            "minute field \"61\"",
        ),
        (
            recurring(json!({"cron": "0 0 2 * * 0"})),
            "cron",
            "5 fields",
        ),
        (
            recurring(json!({"cron": "0 0 31 2 *"})),
            "cron",
            "never matches",
        ),
        (recurring(json!({"cron": 5})), "cron", "5-field"),
        (recurring(json!({"cron": null})), "cron", "required"),
        (
            recurring(json!({"timezone": "Europe/Berln"})),
            "timezone",
            "\"Europe/Berln\"",
        ),
        (recurring(json!({"timezone": null})), "timezone", "required"),
        (
            recurring(json!({"durationMinutes": 0})),
            "durationMinutes",
            "1 to 10080",
        ),
        (
            recurring(json!({"durationMinutes": 10081})),
            "durationMinutes",
            "1 to 10080",
        ),
        (
            recurring(json!({"durationMinutes": 1.5})),
            "durationMinutes",
            "whole number",
        ),
        (
            recurring(json!({"durationMinutes": null})),
            "durationMinutes",
            "required",
        ),
        (
            recurring(
                json!({"activeFrom": "2030-02-01T00:00:00Z", "activeUntil": "2030-01-01T00:00:00Z"}),
            ),
            "activeUntil",
            "after activeFrom",
        ),
        (
            recurring(json!({"activeFrom": "2030-02-30T00:00:00Z"})),
            "activeFrom",
            "RFC 3339",
        ),
        (
            one_off(json!({"notifyChannels": "yes"})),
            "notifyChannels",
            "true or false",
        ),
        (one_off(json!({"state": "completed"})), "state", "read-only"),
        (one_off(json!({"id": unknown})), "id", "read-only"),
        (
            one_off(json!({"colour": "red"})),
            "colour",
            "not a known field",
        ),
    ];
    for (body, field, part) in cases {
        let error = assert_error(app.post(WINDOWS, &body).await, 422, "validation_failed").await;
        assert!(
            invalid_fields(&error).contains(&field.to_owned()),
            "{body} -> {error}"
        );
        let message = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["field"] == field)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(part), "{body} -> {message}");
    }
    for body in [json!([]), json!("x"), json!(null)] {
        assert_error(app.post(WINDOWS, &body).await, 422, "validation_failed").await;
    }
    let response = app
        .request(Method::POST, WINDOWS)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert_eq!(
        app.db
            .query_one("SELECT count(*) FROM maintenance_windows", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        0,
        "nothing invalid was stored"
    );

    // A patch is validated as the window it would make.
    let window = create(&app, &one_off(json!({}))).await;
    let path = format!("{WINDOWS}/{}", window["id"].as_str().unwrap());
    let error = assert_error(
        app.patch(&path, &json!({"cron": "0 2 * * 0"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["cron"]);
    let error = assert_error(
        app.patch(&path, &json!({"componentIds": [unknown]})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["componentIds"]);
    assert_error(
        app.patch(&path, &json!([1])).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.patch(&format!("{WINDOWS}/{unknown}"), &json!({"title": "x"}))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn lists_filter_by_state_and_time_and_page_through() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    let mut ids = Vec::new();
    for (title, extra) in [
        (
            "past",
            json!({"startsAt": at(Duration::hours(-3)), "endsAt": at(Duration::hours(-2))}),
        ),
        (
            "now",
            json!({"startsAt": at(Duration::hours(-1)), "endsAt": at(Duration::hours(1))}),
        ),
        (
            "soon",
            json!({"startsAt": at(Duration::days(1)), "endsAt": at(Duration::days(1) + Duration::hours(1))}),
        ),
        (
            "weekly later",
            json!({"cron": "0 3 * * *", "durationMinutes": 60, "timezone": "UTC",
                                "activeFrom": at(Duration::days(30))}),
        ),
        (
            "weekly before",
            json!({"cron": "0 3 * * *", "durationMinutes": 60, "timezone": "UTC",
                                 "activeFrom": at(Duration::days(-10)), "activeUntil": at(Duration::days(-5))}),
        ),
    ] {
        let mut body = json!({"title": title, "componentIds": [component]});
        merge_patch(&mut body, extra);
        let window = create(&app, &body).await;
        ids.push(window["id"].as_str().unwrap().to_owned());
    }
    let titles = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|w| w["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.collect_pages(&format!("{WINDOWS}?limit=2")).await;
    assert_eq!(
        all.iter()
            .map(|w| w["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        ids,
        "every window once, in the order created"
    );
    assert!(all
        .iter()
        .all(|w| w.get("upcoming").is_none() && w["state"].is_string()));
    for (state, expected) in [
        ("scheduled", vec!["soon", "weekly later"]),
        ("in_progress", vec!["now"]),
        ("completed", vec!["past", "weekly before"]),
    ] {
        let found = app
            .collect_pages(&format!("{WINDOWS}?state={state}&limit=1"))
            .await;
        assert_eq!(titles(&found), expected, "state={state}");
        assert!(found.iter().all(|w| w["state"] == state));
    }
    let now_window = get_json(&app, &format!("{WINDOWS}/{}", ids[1])).await;
    assert_eq!(
        now_window["currentOccurrence"]["startsAt"],
        now_window["startsAt"]
    );
    assert!(now_window["nextOccurrence"].is_null());

    let from = urlencode(&at(Duration::hours(12)));
    let to = urlencode(&at(Duration::days(2)));
    let found = app
        .collect_pages(&format!("{WINDOWS}?from={from}&to={to}"))
        .await;
    assert_eq!(titles(&found), ["soon"]);
    let to = urlencode(&at(Duration::seconds(1)));
    let found = app.collect_pages(&format!("{WINDOWS}?to={to}")).await;
    assert_eq!(
        titles(&found),
        ["past", "now"],
        "a recurring window's occurrences count from its creation"
    );
    let from = urlencode(&at(Duration::days(29)));
    let found = app
        .collect_pages(&format!("{WINDOWS}?from={from}&state=scheduled"))
        .await;
    assert_eq!(titles(&found), ["weekly later"]);

    for query in [
        "state=done",
        "from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z",
        "from=0000-06-01T00:00:00Z",
        "limit=0",
        "cursor=not-a-cursor",
        "colour=red",
        "from=yesterday",
    ] {
        let response = app.get(&format!("{WINDOWS}?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
    }
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn read_only_keys_read_windows_but_cannot_write_them() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    let window = create(
        &app,
        &json!({"title": "w", "componentIds": [component], "startsAt": at(Duration::hours(1)), "endsAt": at(Duration::hours(2))}),
    )
    .await;
    let path = format!("{WINDOWS}/{}", window["id"].as_str().unwrap());
    let key = app.create_key(&["read"]).await;
    for request in [
        app.request_as(&key, Method::GET, WINDOWS),
        app.request_as(&key, Method::GET, &path),
    ] {
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    for request in [
        app.request_as(&key, Method::POST, WINDOWS)
            .json(&json!({"title": "x"})),
        app.request_as(&key, Method::PATCH, &path)
            .json(&json!({"title": "x"})),
        app.request_as(&key, Method::DELETE, &path),
    ] {
        assert_error(request.send().await.unwrap(), 403, "forbidden").await;
    }
    assert_error(
        app.anonymous(Method::GET, WINDOWS).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(get_json(&app, &path).await["title"], "w");
}

/// Three workers tick concurrently through a two-second window: each edge is
/// detected and announced once, and the components it covers (one directly,
/// one through its group) go under maintenance and back.
#[tokio::test]
async fn ticking_workers_start_and_end_a_window_exactly_once() {
    let app = spawn_app().await;
    let api = insert_component(&app, "API", None, false).await;
    let group = insert_component(&app, "Storage", None, true).await;
    let disk = insert_component(&app, "Disks", Some(group), false).await;
    insert_channel(&app).await;
    let window = create(
        &app,
        &json!({
            "title": "Quick fix",
            "componentIds": [api, group],
            "startsAt": at(Duration::milliseconds(1500)),
            "endsAt": at(Duration::milliseconds(3500)),
        }),
    )
    .await;
    let pool = pool(&app);
    let deadline = tokio::time::Instant::now() + StdDuration::from_millis(5500);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut total = TickReport::default();
                while tokio::time::Instant::now() < deadline {
                    let report = tick_once(&pool).await;
                    total.started += report.started;
                    total.ended += report.ended;
                    total.missed += report.missed;
                    tokio::time::sleep(StdDuration::from_millis(20)).await;
                }
                total
            })
        })
        .collect();
    let mut seen_under_maintenance = false;
    while tokio::time::Instant::now() < deadline {
        if component_state(&app, disk).await.0 == "under_maintenance" {
            seen_under_maintenance = true;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let mut started = 0;
    let mut ended = 0;
    for worker in workers {
        let report = worker.await.unwrap();
        assert_eq!(report.missed, 0);
        started += report.started;
        ended += report.ended;
    }
    assert_eq!((started, ended), (1, 1), "each edge detected once");
    assert!(
        seen_under_maintenance,
        "the group's child was under maintenance"
    );

    for component in [api, group, disk] {
        assert_eq!(
            history(&app, component).await,
            [
                ("operational".to_owned(), "automatic".to_owned()),
                ("under_maintenance".to_owned(), "maintenance".to_owned()),
                ("operational".to_owned(), "automatic".to_owned()),
            ]
        );
        assert_eq!(
            component_state(&app, component).await,
            ("operational".to_owned(), "automatic".to_owned(), false)
        );
    }
    let started = events(&app, "maintenance.started").await;
    let ended = events(&app, "maintenance.ended").await;
    assert_eq!((started.len(), ended.len()), (1, 1));
    assert_eq!(started[0]["maintenance"]["id"], window["id"]);
    assert_eq!(started[0]["maintenance"]["title"], "Quick fix");
    assert_eq!(
        ended[0]["maintenance"]["components"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let row = app
        .db
        .query_one(
            "SELECT starts_at, ends_at, started_at, ended_at FROM maintenance_occurrences",
            &[],
        )
        .await
        .unwrap();
    let (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>) = (row.get(0), row.get(1));
    let (started_at, ended_at): (DateTime<Utc>, DateTime<Utc>) = (row.get(2), row.get(3));
    assert!(starts_at <= started_at && started_at < ends_at && ends_at <= ended_at);
}

#[tokio::test]
async fn editing_or_deleting_a_window_in_progress_moves_its_components_at_once() {
    let app = spawn_app().await;
    let first = insert_component(&app, "API", None, false).await;
    let second = insert_component(&app, "Web", None, false).await;
    insert_channel(&app).await;
    let window = create(
        &app,
        &json!({"title": "Now", "componentIds": [first],
                "startsAt": at(Duration::minutes(-1)), "endsAt": at(Duration::hours(1))}),
    )
    .await;
    assert_eq!(window["state"], "in_progress");
    // Written in progress: the tick announces the start and moves the component.
    assert_eq!(component_state(&app, first).await.0, "operational");
    let pool = pool(&app);
    assert_eq!(tick_once(&pool).await.started, 1);
    assert_eq!(component_state(&app, first).await.0, "under_maintenance");

    let path = format!("{WINDOWS}/{}", window["id"].as_str().unwrap());
    let response = app.patch(&path, &json!({"componentIds": [second]})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(component_state(&app, first).await.0, "operational");
    assert_eq!(component_state(&app, second).await.0, "under_maintenance");

    // Ending it earlier is an edit; the tick announces the end.
    let response = app
        .patch(
            &path,
            &json!({"endsAt": at(Duration::seconds(-1)), "startsAt": at(Duration::minutes(-2))}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let report = tick_once(&pool).await;
    assert_eq!((report.started, report.ended), (0, 1), "{report:?}");
    assert_eq!(component_state(&app, second).await.0, "operational");

    // Deleting one in progress ends it in the same transaction.
    let window = create(
        &app,
        &json!({"title": "Again", "componentIds": [first],
                "startsAt": at(Duration::minutes(-1)), "endsAt": at(Duration::hours(1))}),
    )
    .await;
    assert_eq!(tick_once(&pool).await.started, 1);
    assert_eq!(component_state(&app, first).await.0, "under_maintenance");
    let path = format!("{WINDOWS}/{}", window["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).await.status(), 204);
    assert_eq!(
        component_state(&app, first).await,
        ("operational".to_owned(), "automatic".to_owned(), false)
    );
    assert_eq!(events(&app, "maintenance.started").await.len(), 2);
    assert_eq!(events(&app, "maintenance.ended").await.len(), 2);
    assert_eq!(tick_once(&pool).await, TickReport::default());
}

#[tokio::test]
async fn an_occurrence_no_worker_saw_is_closed_without_events() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    insert_channel(&app).await;
    create(
        &app,
        &json!({"title": "Blink", "componentIds": [component],
                "startsAt": at(Duration::milliseconds(300)), "endsAt": at(Duration::milliseconds(800))}),
    )
    .await;
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    let report = tick_once(&pool(&app)).await;
    assert_eq!((report.started, report.ended, report.missed), (0, 0, 1));
    assert!(events(&app, "maintenance.started").await.is_empty());
    assert!(events(&app, "maintenance.ended").await.is_empty());
    assert_eq!(
        history(&app, component).await.len(),
        1,
        "never under maintenance"
    );
}

#[tokio::test]
async fn every_minute_windows_are_materialized_in_bounded_steps() {
    let app = spawn_app().await;
    let component = insert_component(&app, "API", None, false).await;
    let window = create(
        &app,
        &json!({"title": "Every minute", "componentIds": [component],
                "cron": "* * * * *", "durationMinutes": 1, "timezone": "UTC",
                "activeFrom": at(Duration::hours(1))}),
    )
    .await;
    let id = window["id"].as_str().unwrap();
    assert_eq!(
        occurrence_starts(&app, id).await.len(),
        maintenance::MAX_OCCURRENCES
    );
    let pool = pool(&app);
    let report = tick_once(&pool).await;
    assert_eq!(report.windows_extended, 1);
    let stored = occurrence_starts(&app, id).await;
    assert_eq!(stored.len(), 2 * maintenance::MAX_OCCURRENCES);
    assert!(stored
        .windows(2)
        .all(|w| w[1] - w[0] == Duration::minutes(1)));
    // Now materialized past the horizon: the next ticks leave it alone.
    assert_eq!(tick_once(&pool).await.windows_extended, 0);
    // An edit recomputes what it can and drops what the schedule no longer
    // has, beyond where the computation stopped too.
    let active_until = time(&window["activeFrom"]) + Duration::days(5);
    let response = app
        .patch(
            &format!("{WINDOWS}/{id}"),
            &json!({"activeUntil": active_until.to_rfc3339()}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let stored = occurrence_starts(&app, id).await;
    assert_eq!(stored.len(), 5 * 24 * 60);
    assert!(stored.iter().all(|start| *start < active_until));
    assert_eq!(tick_once(&pool).await.windows_extended, 0);
}
