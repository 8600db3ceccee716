//! `POST /api/v1/maintenance-windows/preview`: a schedule's next five
//! occurrences, in UTC and in its time zone, validated like a window and
//! stored nowhere.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, invalid_fields, spawn_app, TestApp};

const PREVIEW: &str = "/api/v1/maintenance-windows/preview";

async fn preview(app: &TestApp, body: Value) -> Value {
    let response = app.post(PREVIEW, &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "preview failed: {json}");
    json
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_weekly_window_previews_its_next_five_sundays_in_its_time_zone() {
    let app = spawn_app().await;
    let answer = preview(
        &app,
        json!({"cron": "0 2 * * 0", "durationMinutes": 60, "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(answer["timezone"], "Europe/Berlin");
    let occurrences = answer["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 5);
    let now = Utc::now();
    let mut previous: Option<DateTime<Utc>> = None;
    for occurrence in occurrences {
        let starts = time(&occurrence["startsAt"]);
        let ends = time(&occurrence["endsAt"]);
        assert!(starts > now, "{occurrence}");
        assert_eq!(ends - starts, Duration::minutes(60));
        // Sunday 02:00 on the wall clock, whatever daylight-saving says
        // (except on the spring-forward day, when 02:00 does not exist).
        let local: DateTime<chrono::FixedOffset> = occurrence["localStartsAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(local, starts, "the local time is the same instant");
        assert_eq!(chrono::Datelike::weekday(&local), chrono::Weekday::Sun);
        let offset = occurrence["utcOffset"].as_str().unwrap();
        assert!(offset == "+01:00" || offset == "+02:00", "{offset}");
        assert!(local.to_rfc3339().ends_with(offset));
        let hour = chrono::Timelike::hour(&local);
        assert!(hour == 2 || hour == 3, "{local}");
        let local_ends: DateTime<chrono::FixedOffset> =
            occurrence["localEndsAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(local_ends, ends);
        if let Some(previous) = previous {
            let gap = starts - previous;
            assert!(
                (gap - Duration::days(7)).num_hours().abs() <= 1,
                "a week apart: {gap}"
            );
        }
        previous = Some(starts);
    }
    let stored: i64 = app
        .db
        .query_one("SELECT count(*) FROM maintenance_windows", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0, "a preview stores nothing");
}

#[tokio::test]
async fn a_schedule_that_ends_soon_previews_fewer_and_a_one_off_window_reads_in_utc() {
    let app = spawn_app().await;
    let until = Utc::now() + Duration::days(2) + Duration::hours(1);
    let answer = preview(
        &app,
        json!({"cron": "@daily", "durationMinutes": 30, "timezone": "UTC",
               "activeUntil": until.to_rfc3339()}),
    )
    .await;
    let count = answer["occurrences"].as_array().unwrap().len();
    assert!((2..=3).contains(&count), "{answer}");

    let starts = Utc::now() + Duration::days(3);
    let answer = preview(
        &app,
        json!({"startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(2)).to_rfc3339()}),
    )
    .await;
    assert_eq!(answer["timezone"], "UTC");
    let occurrences = answer["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0]["utcOffset"], "+00:00");
    assert_eq!(
        time(&occurrences[0]["endsAt"]) - time(&occurrences[0]["startsAt"]),
        Duration::hours(2)
    );

    let past = Utc::now() - Duration::days(3);
    let answer = preview(
        &app,
        json!({"startsAt": past.to_rfc3339(), "endsAt": (past + Duration::hours(2)).to_rfc3339()}),
    )
    .await;
    assert_eq!(answer["occurrences"], json!([]));
}

#[tokio::test]
async fn a_bad_cron_field_or_time_zone_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let response = app
        .post(
            PREVIEW,
            &json!({"cron": "0 25 * * 0", "durationMinutes": 60, "timezone": "Mars/Olympus"}),
        )
        .await;
    let body = assert_error(response, 422, "validation_failed").await;
    let mut fields = invalid_fields(&body);
    fields.sort();
    assert_eq!(fields, ["cron", "timezone"]);
    let text = body["details"].to_string();
    assert!(
        text.contains("hour"),
        "the message names the hour field: {text}"
    );
    assert!(text.contains("Mars/Olympus"), "{text}");

    // Too long for the gap between two occurrences, and kinds mixed.
    let response = app
        .post(
            PREVIEW,
            &json!({"cron": "0 * * * *", "durationMinutes": 90, "timezone": "UTC"}),
        )
        .await;
    let body = assert_error(response, 422, "validation_failed").await;
    assert_eq!(invalid_fields(&body), ["durationMinutes"]);
    let response = app
        .post(
            PREVIEW,
            &json!({"cron": "0 2 * * 0", "startsAt": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_error(response, 422, "validation_failed").await;
    let response = app.post(PREVIEW, &json!({})).await;
    let body = assert_error(response, 422, "validation_failed").await;
    assert_eq!(invalid_fields(&body), ["startsAt"]);
}

#[tokio::test]
async fn the_rest_of_a_window_body_is_ignored_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    let answer = preview(
        &app,
        json!({"title": "Sunday patching", "componentIds": ["not even an id"], "notifyChannels": false,
               "cron": "30 1 * * 6", "durationMinutes": 90, "timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(answer["occurrences"].as_array().unwrap().len(), 5);
    let response = app
        .post(
            PREVIEW,
            &json!({"cron": "30 1 * * 6", "durationMinutes": 90, "timezone": "UTC", "colour": "red"}),
        )
        .await;
    let body = assert_error(response, 422, "validation_failed").await;
    assert_eq!(invalid_fields(&body), ["colour"]);
}

#[tokio::test]
async fn a_read_key_may_preview_and_the_window_routes_still_answer_beside_it() {
    let app = spawn_app().await;
    let read = app.create_key(&["read"]).await;
    let body = json!({"cron": "0 3 * * *", "durationMinutes": 15, "timezone": "Asia/Tokyo"});
    let response = app
        .request_as(&read, Method::POST, PREVIEW)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .anonymous(Method::POST, PREVIEW)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;

    // A window's own routes are unchanged by the preview's path.
    let monitor = app.create_monitor(crate::helpers::sibling_monitor()).await;
    let response = app
        .post(
            "/api/v1/maintenance-windows",
            &json!({"title": "Nightly", "monitorIds": [monitor["id"]],
                    "cron": "0 3 * * *", "durationMinutes": 15, "timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let window: Value = response.json().await.unwrap();
    let path = format!(
        "/api/v1/maintenance-windows/{}",
        window["id"].as_str().unwrap()
    );
    let stored: Value = app.get(&path).await.json().await.unwrap();
    // The preview lists what the window's own `upcoming` lists.
    let previewed = preview(&app, body).await;
    let starts: Vec<&Value> = previewed["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["startsAt"])
        .collect();
    let upcoming: Vec<&Value> = stored["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["startsAt"])
        .collect();
    assert_eq!(starts, upcoming);
    assert_error(app.get(PREVIEW).await, 405, "method_not_allowed").await;
    assert_eq!(app.delete(&path).await.status(), 204);
}
