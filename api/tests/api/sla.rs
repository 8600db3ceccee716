//! `slaTarget` on monitors and `GET /sla/reports`: figures checked against
//! ones computed by hand from rows the tests write, across a UTC month
//! boundary and with maintenance left out.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, invalid_fields, spawn_app, TestApp};

const OCTOBER_SECONDS: f64 = 31.0 * 86_400.0;

fn close(actual: &Value, expected: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{actual} is no number"));
    assert!(
        (actual - expected).abs() < 1e-3,
        "{actual} is not {expected}"
    );
}

fn rounded_percent(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

async fn report(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/sla/reports?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn entry<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report for {id} in {body}"))
}

/// A monitor with a 99.9 % target, created before October 2026.
async fn monitor_with_target(app: &TestApp) -> Uuid {
    let body = app
        .create_monitor(json!({
            "name": "checkout", "type": "tcp", "target": "example.com:443", "slaTarget": 99.9
        }))
        .await;
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    app.db
        .execute(
            "UPDATE monitors SET created_at = '2026-09-01T00:00:00Z' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    id
}

/// October 2026 for the monitor: one check an hour (744), six of them down,
/// two more down but inside a two-hour maintenance window on 10 October;
/// four incidents, one straddling each edge of the month and one half in
/// maintenance.
async fn october_of_a_monitor(app: &TestApp, id: Uuid) {
    app.db
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, worker_id, status, \
                 total_ms, in_maintenance) \
             SELECT $1, ts, ts, 'seed', \
                 CASE WHEN ts IN ('2026-10-05T10:00Z', '2026-10-31T23:00Z') \
                        OR ts BETWEEN '2026-10-20T00:00Z' AND '2026-10-20T03:00Z' \
                        OR ts IN ('2026-10-10T00:00Z', '2026-10-10T01:00Z') THEN 'down' \
                      ELSE 'up' END, \
                 20, ts >= '2026-10-10T00:00Z' AND ts < '2026-10-10T02:00Z' \
             FROM generate_series('2026-10-01T00:00Z'::timestamptz, '2026-10-31T23:00Z', \
                                  interval '1 hour') AS ts",
            &[&id],
        )
        .await
        .unwrap();
    let window = Uuid::new_v4();
    app.db
        .execute(
            "INSERT INTO maintenance_windows (id, title, starts_at, ends_at) \
             VALUES ($1, 'database upgrade', '2026-10-10T00:00Z', '2026-10-10T02:00Z')",
            &[&window],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO maintenance_window_monitors (window_id, monitor_id) VALUES ($1, $2)",
            &[&window, &id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) \
             VALUES ($1, '2026-10-10T00:00Z', '2026-10-10T02:00Z')",
            &[&window],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO incidents (id, monitor_id, started_at, resolved_at, first_error, opened_slot) \
             SELECT gen_random_uuid(), $1, s::timestamptz, r::timestamptz, 'refused', s::timestamptz \
             FROM (VALUES ('2026-09-30T23:00Z', '2026-10-01T00:15Z'), \
                          ('2026-10-05T10:00Z', '2026-10-05T10:30Z'), \
                          ('2026-10-10T01:30Z', '2026-10-10T02:30Z'), \
                          ('2026-10-31T23:30Z', '2026-11-01T00:30Z')) AS v(s, r)",
            &[&id],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn monitor_sla_target_is_set_validated_and_cleared() {
    let app = spawn_app().await;
    let created = app
        .create_monitor(json!({"name": "a", "type": "tcp", "target": "example.com:443"}))
        .await;
    assert!(created["slaTarget"].is_null(), "{created}");
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/monitors/{id}");

    let patched: Value = app
        .patch(&path, &json!({"slaTarget": 99.95}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["slaTarget"], 99.95);
    let fetched: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(fetched["slaTarget"], 99.95);

    let replaced: Value = app
        .put(
            &path,
            &json!({"name": "a", "type": "tcp", "target": "example.com:443", "slaTarget": 99.5}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["slaTarget"], 99.5);
    let cleared: Value = app
        .patch(&path, &json!({"slaTarget": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(cleared["slaTarget"].is_null(), "{cleared}");

    for bad in [
        json!(100),
        json!(0),
        json!(-1),
        json!(99.9999),
        json!("99.9"),
    ] {
        let body = assert_error(
            app.patch(&path, &json!({"slaTarget": bad})).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(invalid_fields(&body), ["slaTarget"], "{bad}: {body}");
    }
    let body = assert_error(
        app.post(
            "/api/v1/monitors",
            &json!({"name": "b", "type": "tcp", "target": "example.com:443", "slaTarget": 100.5}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&body), ["slaTarget"]);
}

#[tokio::test]
async fn monitor_report_for_a_closed_month_matches_hand_computed_figures() {
    let app = spawn_app().await;
    let id = monitor_with_target(&app).await;
    october_of_a_monitor(&app, id).await;
    // Monitors without a target have no report.
    app.create_monitor(json!({"name": "untracked", "type": "tcp", "target": "example.com:443"}))
        .await;

    let body = report(&app, "period=month&month=2026-10").await;
    assert_eq!(
        body["period"],
        json!({"kind": "month", "label": "2026-10", "from": "2026-10-01T00:00:00Z",
               "to": "2026-11-01T00:00:00Z", "complete": true})
    );
    assert_eq!(body["reports"].as_array().unwrap().len(), 1, "{body}");
    let r = entry(&body, &id.to_string());
    assert_eq!(r["kind"], "monitor");
    assert_eq!(r["name"], "checkout");
    assert_eq!(r["target"], 99.9);

    // 744 checks, 2 in maintenance: 742 count, 6 of them down.
    close(
        &r["availabilityPercent"],
        rounded_percent(736.0 * 100.0 / 742.0),
    );
    assert_eq!(r["met"], false);
    // The month less the two hours of maintenance.
    let counted = OCTOBER_SECONDS - 7200.0;
    close(&r["countedSeconds"], counted);
    close(&r["maintenanceSeconds"], 7200.0);
    // 15 min of the incident from September, 30 min on the 5th, the half
    // hour of the 10th outside maintenance, 30 min before midnight on the 31st.
    let downtime = 900.0 + 1800.0 + 1800.0 + 1800.0;
    close(&r["downtimeSeconds"], downtime);
    let budget = 0.001 * counted;
    close(&r["errorBudgetSeconds"], budget);
    close(
        &r["budgetUsedPercent"],
        rounded_percent(downtime * 100.0 / budget),
    );
    assert_eq!(r["incidents"], 4);
    // Resolved in October: 75 min, 30 min and 60 min (whole durations).
    close(&r["mttrSeconds"], (4500.0 + 1800.0 + 3600.0) / 3.0);
    close(&r["mtbfSeconds"], (counted - downtime) / 4.0);
}

#[tokio::test]
async fn an_outage_across_midnight_counts_in_each_month_and_the_quarter() {
    let app = spawn_app().await;
    let id = monitor_with_target(&app).await;
    october_of_a_monitor(&app, id).await;

    let november = report(&app, "month=2026-11").await;
    assert_eq!(november["period"]["label"], "2026-11");
    let r = entry(&november, &id.to_string());
    close(&r["downtimeSeconds"], 1800.0);
    assert_eq!(r["incidents"], 1);
    close(&r["mttrSeconds"], 3600.0);
    // No checks in November: no availability, and no verdict.
    assert!(r["availabilityPercent"].is_null(), "{r}");
    assert!(r["met"].is_null(), "{r}");

    let quarter = report(&app, "period=quarter&quarter=2026-Q4").await;
    assert_eq!(quarter["period"]["from"], "2026-10-01T00:00:00Z");
    assert_eq!(quarter["period"]["to"], "2027-01-01T00:00:00Z");
    assert_eq!(quarter["period"]["complete"], false);
    let r = entry(&quarter, &id.to_string());
    close(&r["downtimeSeconds"], 900.0 + 1800.0 + 1800.0 + 3600.0);
    assert_eq!(r["incidents"], 4);

    let span = report(&app, "from=2026-10-31T23:00:00Z&to=2026-11-01T01:00:00Z").await;
    assert_eq!(span["period"]["kind"], "custom");
    assert!(span["period"]["label"].is_null());
    let r = entry(&span, &id.to_string());
    close(&r["countedSeconds"], 7200.0);
    close(&r["downtimeSeconds"], 3600.0);
    // One check in the span (23:00, down).
    close(&r["availabilityPercent"], 0.0);

    let year = report(&app, "period=year&year=2026").await;
    assert_eq!(year["period"]["from"], "2026-01-01T00:00:00Z");
    assert_eq!(year["period"]["to"], "2027-01-01T00:00:00Z");
}

#[tokio::test]
async fn monitor_availability_is_read_from_the_rollups_once_rolled() {
    let app = spawn_app().await;
    let id = monitor_with_target(&app).await;
    // September 2026 rolled: 29 days of 1440 checks with 2 down (and 10 in
    // maintenance, left out), then 30 September by the hour, 60 checks an
    // hour, 30 of them down at noon. No raw rows are left.
    app.db
        .execute(
            "INSERT INTO check_rollups_daily (monitor_id, bucket, checks, up, down, degraded, \
                 latency_sum_ms, latency_p50_ms, latency_p95_ms, latency_max_ms, maintenance) \
             SELECT $1, d, 1440, 1438, 2, 0, 28800, 20, 20, 20, 10 \
             FROM generate_series('2026-09-01T00:00Z'::timestamptz, '2026-09-29T00:00Z', \
                                  interval '1 day') AS d",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO check_rollups_hourly (monitor_id, bucket, checks, up, down, degraded, \
                 latency_sum_ms, latency_p50_ms, latency_p95_ms, latency_max_ms) \
             SELECT $1, h, 60, CASE WHEN h = '2026-09-30T12:00Z' THEN 30 ELSE 60 END, \
                 CASE WHEN h = '2026-09-30T12:00Z' THEN 30 ELSE 0 END, 0, 1200, 20, 20, 20 \
             FROM generate_series('2026-09-30T00:00Z'::timestamptz, '2026-09-30T23:00Z', \
                                  interval '1 hour') AS h",
            &[&id],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO rollup_state (kind, through) \
             VALUES ('hourly', '2026-10-01T00:00Z'), ('daily', '2026-09-30T00:00Z') \
             ON CONFLICT (kind) DO UPDATE SET through = excluded.through",
            &[],
        )
        .await
        .unwrap();

    let body = report(&app, "month=2026-09").await;
    let r = entry(&body, &id.to_string());
    let checks = 29.0 * 1440.0 + 24.0 * 60.0;
    let down = 29.0 * 2.0 + 30.0;
    close(
        &r["availabilityPercent"],
        rounded_percent((checks - down) * 100.0 / checks),
    );
    // 99.7963 % is short of 99.9 %, though no incident used the budget.
    assert_eq!(r["met"], false);
    close(&r["countedSeconds"], 30.0 * 86_400.0);
    close(&r["errorBudgetSeconds"], 0.001 * 30.0 * 86_400.0);
    close(&r["downtimeSeconds"], 0.0);
    close(&r["budgetUsedPercent"], 0.0);
    assert_eq!(r["incidents"], 0);
    assert!(r["mttrSeconds"].is_null(), "{r}");
    assert!(r["mtbfSeconds"].is_null(), "{r}");
}

/// October 2026 for a component: operational from the 1st, three hours of
/// maintenance on the 15th, ten minutes of partial outage then fifty of
/// degraded performance on the 20th, and a major outage from 23:30 on the
/// 31st to 00:30 on 1 November.
async fn component_with_history(app: &TestApp) -> String {
    let response = app
        .post(
            "/api/v1/components",
            &json!({"name": "Payments", "slaTarget": 99.5}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let uuid: Uuid = id.parse().unwrap();
    app.db
        .execute(
            "DELETE FROM component_status_changes WHERE component_id = $1",
            &[&uuid],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO component_status_changes (component_id, new_status, source, at) \
             SELECT $1, s, 'automatic', at::timestamptz FROM (VALUES \
                 ('operational', '2026-10-01T00:00Z'), \
                 ('under_maintenance', '2026-10-15T00:00Z'), \
                 ('operational', '2026-10-15T03:00Z'), \
                 ('partial_outage', '2026-10-20T00:00Z'), \
                 ('degraded_performance', '2026-10-20T00:10Z'), \
                 ('operational', '2026-10-20T01:00Z'), \
                 ('major_outage', '2026-10-31T23:30Z'), \
                 ('operational', '2026-11-01T00:30Z')) AS v(s, at)",
            &[&uuid],
        )
        .await
        .unwrap();
    let incident = Uuid::new_v4();
    app.db
        .execute(
            "INSERT INTO status_incidents (id, name, impact, status, started_at, resolved_at) \
             VALUES ($1, 'Payments failing', 'major', 'resolved', '2026-10-20T00:00Z', \
                     '2026-10-20T01:00Z')",
            &[&incident],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "INSERT INTO status_incident_components (incident_id, component_id) VALUES ($1, $2)",
            &[&incident, &uuid],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn component_report_takes_its_figures_from_the_status_history() {
    let app = spawn_app().await;
    let id = component_with_history(&app).await;

    let october = report(&app, "month=2026-10").await;
    let r = entry(&october, &id);
    assert_eq!(r["kind"], "component");
    assert_eq!(r["name"], "Payments");
    assert_eq!(r["target"], 99.5);
    let counted = OCTOBER_SECONDS - 3.0 * 3600.0;
    let downtime = 600.0 + 1800.0;
    close(&r["countedSeconds"], counted);
    close(&r["maintenanceSeconds"], 3.0 * 3600.0);
    close(&r["downtimeSeconds"], downtime);
    close(
        &r["availabilityPercent"],
        rounded_percent((counted - downtime) * 100.0 / counted),
    );
    assert_eq!(r["met"], true);
    let budget = 0.005 * counted;
    close(&r["errorBudgetSeconds"], budget);
    close(
        &r["budgetUsedPercent"],
        rounded_percent(downtime * 100.0 / budget),
    );
    assert_eq!(r["incidents"], 1);
    close(&r["mttrSeconds"], 3600.0);
    close(&r["mtbfSeconds"], counted - downtime);

    let november = report(&app, "month=2026-11").await;
    let r = entry(&november, &id);
    close(&r["downtimeSeconds"], 1800.0);
    assert_eq!(r["incidents"], 0);
    assert!(r["mtbfSeconds"].is_null(), "{r}");
    assert!(r["mttrSeconds"].is_null(), "{r}");
}

#[tokio::test]
async fn reports_default_to_the_current_utc_month() {
    let app = spawn_app().await;
    let month: String = app
        .db
        .query_one("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')", &[])
        .await
        .unwrap()
        .get(0);
    let body = report(&app, "").await;
    assert_eq!(body["period"]["kind"], "month");
    assert_eq!(body["period"]["label"], month.as_str());
    assert_eq!(body["period"]["complete"], false);
    assert_eq!(body["reports"], json!([]));
}

#[tokio::test]
async fn periods_far_from_now_are_answered() {
    let app = spawn_app().await;
    let id = monitor_with_target(&app).await;
    for query in [
        "year=9999",
        "year=1970",
        "month=1970-01",
        "quarter=2026-q1",
        "from=0001-01-01T00:00:00Z&to=0001-12-01T00:00:00Z",
        "from=2026-11-01T00:00:00%2B14:00&to=2026-11-02T00:00:00-12:00",
    ] {
        let body = report(&app, query).await;
        let r = entry(&body, &id.to_string());
        assert!(r["availabilityPercent"].is_null(), "{query}: {r}");
    }
}

#[tokio::test]
async fn bad_report_parameters_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, named) in [
        ("period=week", "period"),
        ("month=2026-13", "month"),
        ("period=month&month=26-11", "month"),
        ("period=quarter&quarter=2026-Q5", "quarter"),
        ("year=twenty", "year"),
        ("period=month&year=2026", "year"),
        ("month=2026-11&quarter=2026-Q4", "quarter"),
        ("from=2026-11-01T00:00:00Z", "to"),
        ("to=2026-11-01T00:00:00Z", "from"),
        ("from=yesterday&to=2026-11-01T00:00:00Z", "from"),
        ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
        ("from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        (
            "month=2026-11&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
            "month",
        ),
    ] {
        let body = assert_error(
            app.get(&format!("/api/v1/sla/reports?{query}")).await,
            400,
            "invalid_query",
        )
        .await;
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {message}");
        assert!(message.ends_with('.'), "{query}: {message}");
    }
    assert_error(
        app.get("/api/v1/sla/reports?week=48").await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn reports_need_a_key_with_read_scope() {
    let app = spawn_app().await;
    let read = app.create_key(&["read"]).await;
    let response = app
        .request_as(&read, Method::GET, "/api/v1/sla/reports")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_error(
        app.anonymous(Method::GET, "/api/v1/sla/reports")
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
}
