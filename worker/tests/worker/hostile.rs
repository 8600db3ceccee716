//! Hostile targets and receivers. Whatever comes back (NUL bytes, invalid
//! UTF-8, control characters, odd reason phrases, a 10 MB header, odd
//! certificate names, a DNS TXT record with NUL), every slot gets exactly
//! one stored result with text Postgres accepts and a person can read, the
//! monitor's state follows the verdicts and incidents open; every
//! notification attempt is recorded once and retries stop at the limit.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::check::TEXT_ALTERED;
use shared::model::{CheckResult, CheckStatus, DnsRecordType, KeywordMode, MonitorType};
use uuid::Uuid;

use crate::helpers::{monitor_spec, Bed, MonitorOptions};
use crate::support::{
    dns_server_with_txt, hostile_server, http_server, raw_receiver, RawReply, Receiver, TestCa,
    GARBLED_BODY,
};

/// Results every monitor has before the worker stops.
const SLOTS: usize = 4;
/// Failures that open an incident on the hostile monitors.
const FAILURE_THRESHOLD: i32 = 2;

fn options() -> MonitorOptions {
    MonitorOptions {
        failure_threshold: FAILURE_THRESHOLD,
        ..MonitorOptions::default()
    }
}

/// Text that is safe to store and show: no NUL or other control character
/// (tab, line feed and carriage return aside) and no bidi control.
fn is_clean(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r')
            || !(c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c))
    })
}

fn assert_clean(text: Option<&str>, what: &str) {
    if let Some(text) = text {
        assert!(is_clean(text), "{what} is not clean: {text:?}");
    }
}

fn assert_clean_json(value: &Value, what: &str) {
    match value {
        Value::String(text) => assert_clean(Some(text), what),
        Value::Array(items) => items.iter().for_each(|v| assert_clean_json(v, what)),
        Value::Object(map) => {
            for (key, item) in map {
                assert_clean(Some(key), what);
                assert_clean_json(item, what);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The fields a result names as altered to be stored.
fn altered(result: &CheckResult) -> Vec<&str> {
    result
        .details
        .as_ref()
        .and_then(|d| d[TEXT_ALTERED].as_array())
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A monitor's state as the store left it.
#[derive(Debug)]
struct State {
    status: String,
    consecutive_failures: i32,
    last_slot: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

async fn state(bed: &Bed, id: Uuid) -> State {
    let row = bed
        .db
        .query_one(
            "SELECT status, consecutive_failures, last_slot, last_error FROM monitors \
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    State {
        status: row.get(0),
        consecutive_failures: row.get(1),
        last_slot: row.get(2),
        last_error: row.get(3),
    }
}

/// Asserts what every hostile scenario shares, and returns the results:
/// - one result per slot, one interval apart from the first to the last,
///   the last one just before `stopped`, and as many as the target saw
///   requests when it counts them (`requests`);
/// - every verdict is `want`, every text is clean;
/// - the monitor's state follows: status, failures, last slot, last error;
/// - a down monitor has one open incident from its threshold failure on,
///   with the first failure's error; any other monitor has none.
async fn assert_recorded(
    bed: &Bed,
    what: &str,
    id: Uuid,
    want: CheckStatus,
    requests: Option<usize>,
    stopped: DateTime<Utc>,
) -> Vec<CheckResult> {
    let results = bed.results(id).await;
    let state = state(bed, id).await;
    assert!(
        results.len() >= SLOTS,
        "{what}: only {} results stored; the monitor is {state:?}",
        results.len()
    );
    let slots: HashSet<DateTime<Utc>> = results.iter().map(|r| r.slot_ts).collect();
    assert_eq!(slots.len(), results.len(), "{what}: a slot stored twice");
    for pair in results.windows(2) {
        assert_eq!(
            (pair[1].slot_ts - pair[0].slot_ts).num_milliseconds(),
            1000,
            "{what}: slots {} and {} are not consecutive",
            pair[0].slot_ts,
            pair[1].slot_ts
        );
    }
    let last = results.last().unwrap();
    assert!(
        stopped - last.slot_ts < chrono::Duration::seconds(4),
        "{what}: no result for the slots before the worker stopped (last {})",
        last.slot_ts
    );
    if let Some(requests) = requests {
        assert_eq!(
            requests,
            results.len(),
            "{what}: the target saw {requests} checks but {} results are stored",
            results.len()
        );
    }
    for result in &results {
        assert_eq!(result.status, want, "{what}: {result:?}");
        assert_clean(result.error.as_deref(), &format!("{what}: the error"));
        assert_clean(
            result.body_snippet.as_deref(),
            &format!("{what}: the body snippet"),
        );
        if let Some(details) = &result.details {
            assert_clean_json(details, &format!("{what}: the details"));
        }
    }

    assert_eq!(state.status, want.as_str(), "{what}: monitor status");
    assert_eq!(state.last_slot, Some(last.slot_ts), "{what}: last slot");
    assert_eq!(state.last_error, last.error, "{what}: last error");
    let failures = if want == CheckStatus::Down {
        results.len()
    } else {
        0
    };
    assert_eq!(
        usize::try_from(state.consecutive_failures).unwrap(),
        failures,
        "{what}: consecutive failures"
    );

    let incidents = bed
        .db
        .query(
            "SELECT started_at, opened_slot, first_error, last_error, failure_count, \
                 resolved_at IS NULL FROM incidents WHERE monitor_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    if want == CheckStatus::Down {
        assert_eq!(incidents.len(), 1, "{what}: one incident");
        let incident = &incidents[0];
        let threshold = usize::try_from(FAILURE_THRESHOLD).unwrap();
        assert_eq!(
            incident.get::<_, DateTime<Utc>>(0),
            results[0].checked_at,
            "{what}: the incident starts at the first failure"
        );
        assert_eq!(
            incident.get::<_, DateTime<Utc>>(1),
            results[threshold - 1].slot_ts,
            "{what}: the incident opens at the threshold failure"
        );
        let first_error: Option<String> = incident.get(2);
        assert!(first_error.is_some(), "{what}: the incident has no error");
        assert_eq!(first_error, results[0].error, "{what}: first error");
        assert_clean(
            incident.get(3),
            &format!("{what}: the incident's last error"),
        );
        assert_eq!(
            usize::try_from(incident.get::<_, i32>(4)).unwrap(),
            results.len(),
            "{what}: failure count"
        );
        assert!(incident.get::<_, bool>(5), "{what}: the incident is open");
    } else {
        assert!(incidents.is_empty(), "{what}: no incident");
    }
    results
}

/// Waits (20 s at most) until every monitor in `ids` has [`SLOTS`]
/// results; the assertions that follow name any monitor that fell short.
async fn wait_for_results(bed: &Bed, ids: &[Uuid]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let slots = bed.slots().await;
        if ids
            .iter()
            .all(|id| slots.get(id).map_or(0, Vec::len) >= SLOTS)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_http_answers_get_one_clean_result_per_slot_and_drive_the_monitor() {
    let bed = Bed::new().await;
    let (addr, hits) = hostile_server().await;
    let http = |path: &str| {
        monitor_spec(
            MonitorType::Http,
            &format!("http://{addr}{path}"),
            options(),
        )
    };
    let keyword = |path: &str| {
        let mut spec = monitor_spec(
            MonitorType::Keyword,
            &format!("http://{addr}{path}"),
            options(),
        );
        spec.keyword = Some("healthy".to_owned());
        spec.keyword_mode = Some(KeywordMode::Contains);
        spec
    };
    let nul = bed.monitor(&http("/nul"), false).await;
    let keyword_missing = bed.monitor(&keyword("/nul-keyword"), false).await;
    let keyword_after_nul = bed.monitor(&keyword("/nul-then-healthy"), false).await;
    let garbled = bed.monitor(&http("/garbled"), false).await;
    let odd_reason = bed.monitor(&http("/odd-reason"), false).await;
    let obs_reason = bed.monitor(&http("/obs-reason"), false).await;
    let nul_header = bed.monitor(&http("/nul-header"), false).await;
    let huge_header = bed.monitor(&http("/huge-header"), false).await;
    let worker = bed.worker(&[]).await;
    wait_for_results(
        &bed,
        &[
            nul,
            keyword_missing,
            keyword_after_nul,
            garbled,
            odd_reason,
            obs_reason,
            nul_header,
            huge_header,
        ],
    )
    .await;
    worker.stop().await;
    let stopped = Utc::now();
    let recorded = |what: &'static str, id: Uuid, want: CheckStatus, path: &'static str| {
        let requests = hits.path(path);
        let bed = &bed;
        async move { assert_recorded(bed, what, id, want, Some(requests), stopped).await }
    };

    // A NUL byte in a 200 body: up, the snippet keeps the text around it.
    for result in recorded("NUL body", nul, CheckStatus::Up, "/nul").await {
        assert_eq!(result.status_code, Some(200));
        assert_eq!(result.body_snippet.as_deref(), Some("ok\u{FFFD}ok"));
        assert_eq!(altered(&result), ["bodySnippet"]);
    }

    // The keyword is missing from a body with NUL: down, and an incident.
    let missing = recorded(
        "keyword missing after NUL",
        keyword_missing,
        CheckStatus::Down,
        "/nul-keyword",
    )
    .await;
    for result in missing {
        assert_eq!(
            result.error.as_deref(),
            Some("keyword \"healthy\" not found in the body")
        );
        assert_eq!(result.body_snippet.as_deref(), Some("ok\u{FFFD}ok keyword"));
        assert_eq!(result.details.as_ref().unwrap()["keywordFound"], false);
        assert_eq!(altered(&result), ["bodySnippet"]);
    }

    // A keyword right after a NUL byte is still found.
    let found = recorded(
        "keyword after NUL",
        keyword_after_nul,
        CheckStatus::Up,
        "/nul-then-healthy",
    )
    .await;
    for result in found {
        assert_eq!(result.body_snippet.as_deref(), Some("\u{FFFD}healthy"));
        assert_eq!(result.details.as_ref().unwrap()["keywordFound"], true);
    }

    // Invalid UTF-8, ANSI escapes, a bidi override and C0/C1 controls.
    let expected = "\u{FFFD}\u{FFFD}\u{FFFD}( status \u{FFFD}[31mred\u{FFFD}[0m \u{FFFD}evil\
                    \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD} end";
    for result in recorded("garbled body", garbled, CheckStatus::Up, "/garbled").await {
        assert_eq!(result.body_snippet.as_deref(), Some(expected));
        assert_eq!(
            result.details.as_ref().unwrap()["bodyBytes"],
            GARBLED_BODY.len()
        );
        assert_eq!(altered(&result), ["bodySnippet"]);
    }

    // A reason phrase with NUL and an escape is not HTTP: down, with an
    // error that says so in clean words.
    let odd = recorded(
        "odd reason phrase",
        odd_reason,
        CheckStatus::Down,
        "/odd-reason",
    )
    .await;
    for result in odd {
        assert_eq!(result.status_code, None);
        assert_eq!(
            result.error.as_deref(),
            Some(format!("HTTP: the response from {addr} has an invalid status line").as_str())
        );
        let details = result.details.as_ref().unwrap();
        assert_eq!(details["errorKind"], "http_invalid_response");
        assert_eq!(details["errorDetail"], "invalid HTTP status-code parsed");
    }

    // Bytes 0x80-0xff in the reason phrase are allowed (obs-text): up.
    for result in recorded(
        "obs-text reason",
        obs_reason,
        CheckStatus::Up,
        "/obs-reason",
    )
    .await
    {
        assert_eq!(result.status_code, Some(200));
        assert_eq!(result.body_snippet.as_deref(), Some("obs"));
    }

    // NUL in a header value, and a 10 MB header: down, with an error.
    let nul_headers = recorded(
        "NUL in a header",
        nul_header,
        CheckStatus::Down,
        "/nul-header",
    )
    .await;
    for result in nul_headers {
        assert_eq!(
            result.error.as_deref(),
            Some(format!("HTTP: the response from {addr} is not valid HTTP").as_str())
        );
        assert_eq!(
            result.details.as_ref().unwrap()["errorDetail"],
            "invalid HTTP header parsed"
        );
    }
    let huge = recorded(
        "10 MB header",
        huge_header,
        CheckStatus::Down,
        "/huge-header",
    )
    .await;
    for result in huge {
        assert_eq!(
            result.error.as_deref(),
            Some(format!("HTTP: the response head from {addr} is too large").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_tcp_tls_and_dns_answers_get_one_clean_result_per_slot() {
    let bed = Bed::new().await;
    // TCP: the hostile server accepts; that is all a TCP check asks.
    let (addr, hits) = hostile_server().await;
    let tcp = bed
        .monitor(
            &monitor_spec(MonitorType::Tcp, &addr.to_string(), options()),
            false,
        )
        .await;
    // TLS: names with NUL, escapes and a bidi override in the subject, the
    // issuer and the SAN (rcgen writes UTF8String and IA5String as given).
    let ca = TestCa::named("Odd\0CA \u{1b}[2J\u{202e}");
    let cert = ca.leaf(&["odd\0name\u{1b}[31m.test", "127.0.0.1"], 30);
    let (tls_addr, _) = http_server(Some(cert)).await;
    let tls = bed
        .monitor(
            &monitor_spec(MonitorType::Tls, &tls_addr.to_string(), options()),
            false,
        )
        .await;
    // DNS: a TXT record of a NUL byte, invalid UTF-8 and an escape.
    let resolver = dns_server_with_txt(&[b"ok\0ok ", b"\xff\xfe\x1b[31m"]).await;
    let mut txt = monitor_spec(MonitorType::Dns, "hostile.test", options());
    txt.dns_record_type = Some(DnsRecordType::Txt);
    txt.dns_resolver = Some(resolver.to_string());
    let txt_any = bed.monitor(&txt, false).await;
    txt.dns_expected = Some(vec!["v=spf1 -all".to_owned()]);
    let txt_expected = bed.monitor(&txt, false).await;
    let worker = bed.worker(&[]).await;
    wait_for_results(&bed, &[tcp, tls, txt_any, txt_expected]).await;
    worker.stop().await;
    let stopped = Utc::now();

    // The target counts a bare connection when it sees it closed, which may
    // come a moment after the check's result was stored.
    let checks = usize::try_from(bed.result_count(tcp).await).unwrap();
    bed.until(
        Duration::from_secs(2),
        "the target to see every TCP check",
        || async { hits.path("") >= checks },
    )
    .await;
    let connections = hits.path("");
    for result in assert_recorded(
        &bed,
        "TCP",
        tcp,
        CheckStatus::Up,
        Some(connections),
        stopped,
    )
    .await
    {
        assert!(result.error.is_none());
    }

    // Nobody trusts the odd CA: down, with the certificate's facts stored.
    for result in assert_recorded(&bed, "TLS", tls, CheckStatus::Down, None, stopped).await {
        let certificate = &result.details.as_ref().unwrap()["certificate"];
        assert_eq!(
            certificate["subject"], "CN=odd\u{FFFD}name\u{FFFD}[31m.test",
            "TLS: {result:?}"
        );
        assert_eq!(
            certificate["issuer"],
            "CN=Odd\u{FFFD}CA \u{FFFD}[2J\u{FFFD}"
        );
        assert_eq!(
            certificate["sans"],
            json!(["odd\u{FFFD}name\u{FFFD}[31m.test", "127.0.0.1"])
        );
        assert!(certificate["daysRemaining"].as_i64().unwrap() >= 29);
        assert_eq!(
            result.error.as_deref(),
            Some("TLS: certificate for 127.0.0.1 is not trusted (unknown issuer)")
        );
        assert_eq!(
            result.details.as_ref().unwrap()["errorKind"],
            "tls_untrusted"
        );
        assert_eq!(altered(&result), ["details"]);
    }

    let answer = "ok\u{FFFD}ok \u{FFFD}\u{FFFD}\u{FFFD}[31m";
    for result in assert_recorded(&bed, "DNS TXT", txt_any, CheckStatus::Up, None, stopped).await {
        assert_eq!(
            result.details.as_ref().unwrap()["answers"],
            json!([answer]),
            "DNS TXT: {result:?}"
        );
        assert_eq!(altered(&result), ["details"]);
    }
    // The expectation is missing: down, and the error quotes the answer clean.
    for result in assert_recorded(
        &bed,
        "DNS TXT expected",
        txt_expected,
        CheckStatus::Down,
        None,
        stopped,
    )
    .await
    {
        assert_eq!(
            result.error.as_deref(),
            Some(
                format!(
                    "DNS: expected v=spf1 -all in the TXT answer for hostile.test, got {answer}"
                )
                .as_str()
            ),
            "DNS TXT expected: {result:?}"
        );
        assert_eq!(result.details.as_ref().unwrap()["answers"], json!([answer]));
        assert_eq!(altered(&result), ["error", "details"]);
    }
}

/// Notifier settings: quick retries, two of them, a short timeout.
const NOTIFY: &[(&str, &str)] = &[
    ("WEBHOOK_RETRY_BASE_SECONDS", "1"),
    ("WEBHOOK_MAX_RETRIES", "2"),
    ("WEBHOOK_TIMEOUT_SECONDS", "2"),
];
/// WEBHOOK_MAX_RETRIES above.
const MAX_RETRIES: usize = 2;
/// WEBHOOK_TIMEOUT_SECONDS above.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One attempt as recorded.
#[derive(Debug)]
struct Recorded {
    attempt: i32,
    outcome: String,
    status_code: Option<i32>,
    latency_ms: f32,
    error: Option<String>,
    snippet: Option<String>,
}

/// A hostile receiver: how it answers every request, whether that answer
/// is a success (delivered at once) or not (retried to the limit), and what
/// its recorded attempts show beyond what every case shares.
struct Case {
    what: &'static str,
    reply: RawReply,
    succeeds: bool,
    attempts: fn(&[Recorded]),
}

/// A [`Case`] behind a webhook channel of a monitor that is down.
struct Hook {
    case: Case,
    receiver: Arc<Receiver>,
    channel: Uuid,
}

fn millis(duration: Duration) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let ms = duration.as_millis() as f32;
    ms
}

fn hostile_receivers() -> Vec<Case> {
    vec![
        Case {
            what: "200 with NUL",
            reply: RawReply::Body(200, "text/plain", b"ok\0ok".to_vec()),
            succeeds: true,
            attempts: |attempts| {
                assert_eq!(attempts[0].status_code, Some(200));
                assert_eq!(attempts[0].snippet.as_deref(), Some("ok\u{FFFD}ok"));
            },
        },
        Case {
            what: "500 with invalid UTF-8",
            reply: RawReply::Body(
                500,
                "text/plain; charset=utf-8",
                b"\xff\xfe\0 broken \x1b[31m\xe2\x80\xae".to_vec(),
            ),
            succeeds: false,
            attempts: |attempts| {
                for attempt in attempts {
                    assert_eq!(attempt.status_code, Some(500));
                    assert_eq!(attempt.error.as_deref(), Some("the receiver answered 500"));
                    assert_eq!(
                        attempt.snippet.as_deref(),
                        Some("\u{FFFD}\u{FFFD}\u{FFFD} broken \u{FFFD}[31m\u{FFFD}")
                    );
                }
            },
        },
        Case {
            what: "endless flood",
            reply: RawReply::Endless {
                chunk: b"\0\xff\x1b".repeat(4096),
                pause: Duration::ZERO,
            },
            succeeds: true,
            attempts: |attempts| assert_replaced_snippet(&attempts[0]),
        },
        Case {
            what: "endless trickle",
            reply: RawReply::Endless {
                chunk: b"\0".to_vec(),
                pause: Duration::from_millis(100),
            },
            succeeds: true,
            attempts: |attempts| {
                // Read until the timeout, then recorded once.
                assert!(attempts[0].latency_ms >= millis(TIMEOUT) - 100.0);
                assert_replaced_snippet(&attempts[0]);
            },
        },
        Case {
            what: "200 with binary",
            reply: RawReply::Body(200, "application/octet-stream", (0..=255u8).collect()),
            succeeds: true,
            attempts: |attempts| {
                assert_eq!(attempts[0].status_code, Some(200));
                // Printable ASCII, tab, line feed and carriage return stay;
                // every other byte value reads as one U+FFFD.
                let shown: String = (0..=255u8)
                    .map(|b| match b {
                        b'\t' | b'\n' | b'\r' | 0x20..=0x7e => char::from(b),
                        _ => '\u{FFFD}',
                    })
                    .collect();
                assert_eq!(attempts[0].snippet.as_deref(), Some(shown.as_str()));
            },
        },
    ]
}

/// A 200 whose answer was all NUL and odd bytes: a bounded snippet of U+FFFD.
fn assert_replaced_snippet(attempt: &Recorded) {
    assert_eq!(attempt.status_code, Some(200));
    let snippet = attempt.snippet.as_deref().unwrap();
    assert!(snippet.len() <= 1024, "{} bytes", snippet.len());
    assert!(
        !snippet.is_empty() && snippet.chars().all(|c| c == '\u{FFFD}'),
        "{snippet:?}"
    );
}

async fn settled(bed: &Bed, channels: &[Uuid]) -> bool {
    let row = bed
        .db
        .query_one(
            "SELECT count(*) FROM notification_events \
             WHERE channel_id = ANY($1) AND status IN ('delivered', 'failed')",
            &[&channels],
        )
        .await
        .unwrap();
    usize::try_from(row.get::<_, i64>(0)).unwrap() == channels.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_receivers_get_each_attempt_recorded_once_and_retries_stop_at_the_limit() {
    let bed = Bed::new().await;
    let mut hooks = Vec::new();
    for case in hostile_receivers() {
        let (addr, receiver) = raw_receiver(case.reply.clone()).await;
        let channel = Uuid::now_v7();
        bed.db
            .execute(
                "INSERT INTO notification_channels (id, name, type, config) \
                 VALUES ($1, $2, 'webhook', $3)",
                &[
                    &channel,
                    &case.what,
                    &json!({"url": format!("http://{addr}/hook")}),
                ],
            )
            .await
            .unwrap();
        let mut spec = monitor_spec(
            MonitorType::Http,
            &format!("http://{}/status/500", bed.target),
            MonitorOptions {
                failure_threshold: 1,
                ..MonitorOptions::default()
            },
        );
        spec.channel_ids = vec![channel];
        bed.monitor(&spec, false).await;
        hooks.push(Hook {
            case,
            receiver,
            channel,
        });
    }
    let channels: Vec<Uuid> = hooks.iter().map(|h| h.channel).collect();
    let worker = bed.worker(NOTIFY).await;
    // Settled or not, the assertions below say what each event shows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !settled(&bed, &channels).await && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Longer than the first retry delay (1 s ± 20 %): nothing more is sent.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    worker.stop().await;

    for hook in &hooks {
        let what = hook.case.what;
        let events = bed
            .db
            .query(
                "SELECT id, event_type, status, attempts, last_error FROM notification_events \
                 WHERE channel_id = $1",
                &[&hook.channel],
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{what}: one event");
        let event: Uuid = events[0].get(0);
        assert_eq!(events[0].get::<_, String>(1), "incident.opened");
        let (want_status, want_outcome, want_attempts) = if hook.case.succeeds {
            ("delivered", "delivered", 1)
        } else {
            ("failed", "retry", MAX_RETRIES + 1)
        };
        assert_clean(events[0].get(4), &format!("{what}: the event's last error"));

        let recorded: Vec<Recorded> = bed
            .db
            .query(
                "SELECT attempt, outcome, status_code, latency_ms, error, response_snippet \
                 FROM notification_attempts WHERE event_id = $1 ORDER BY attempt",
                &[&event],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| Recorded {
                attempt: r.get(0),
                outcome: r.get(1),
                status_code: r.get(2),
                latency_ms: r.get(3),
                error: r.get(4),
                snippet: r.get(5),
            })
            .collect();
        let requests = hook.receiver.requests();
        // Each attempt made is recorded once, on the event and as a row.
        assert_eq!(
            (
                events[0].get::<_, String>(2).as_str(),
                usize::try_from(events[0].get::<_, i32>(3)).unwrap(),
                recorded.len(),
                requests.len(),
            ),
            (want_status, want_attempts, want_attempts, want_attempts),
            "{what}: event status, event attempts, attempt rows, requests received"
        );
        for request in &requests {
            assert_eq!(request.header("webhook-id"), event.to_string());
            assert_eq!(request.json()["type"], "incident.opened");
        }
        for (n, attempt) in recorded.iter().enumerate() {
            assert_eq!(usize::try_from(attempt.attempt).unwrap(), n + 1);
            assert_eq!(attempt.outcome, want_outcome, "{what}: {attempt:?}");
            assert_clean(
                attempt.error.as_deref(),
                &format!("{what}: an attempt's error"),
            );
            assert_clean(
                attempt.snippet.as_deref(),
                &format!("{what}: an attempt's answer"),
            );
            // Recorded within the timeout, however long the answer runs.
            assert!(
                attempt.latency_ms < millis(TIMEOUT) + 500.0,
                "{what}: {attempt:?}"
            );
        }
        (hook.case.attempts)(&recorded);
    }
}
