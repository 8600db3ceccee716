//! The check engine against real local targets: HTTP/1.1 and HTTP/2 servers,
//! TLS with certificates made here, a TCP listener and a DNS responder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::check::{Engine, EngineOptions, Outcome};
use shared::model::{
    CheckStatus, DnsRecordType, ExpectedStatus, KeywordMode, MonitorSpec, MonitorType,
};
use support::{
    closed_port, closed_udp_port, dns_server, http_server, silent_server, untrusted, TestCa,
};

fn options(allow_private: bool) -> EngineOptions {
    EngineOptions {
        allow_private_targets: allow_private,
        tls_expiry_warn_days: 14,
        extra_roots: Vec::new(),
        name_servers: Vec::new(),
        default_timeout: Duration::from_secs(5),
        denied_addresses: Vec::new(),
    }
}

fn engine() -> Arc<Engine> {
    Engine::new(options(true)).unwrap()
}

fn spec(kind: MonitorType, target: impl Into<String>) -> MonitorSpec {
    MonitorSpec {
        name: "test".to_owned(),
        kind,
        target: target.into(),
        method: None,
        headers: None,
        body: None,
        expected_status: None,
        follow_redirects: None,
        degraded_threshold_ms: None,
        keyword: None,
        keyword_mode: None,
        keyword_case_sensitive: None,
        dns_record_type: None,
        dns_expected: None,
        dns_resolver: None,
        tls_expiry_warn_days: None,
        timeout_seconds: 5,
        interval_seconds: 60,
        failure_threshold: 1,
        recovery_threshold: 1,
        sla_target: None,
        enabled: true,
        tags: Vec::new(),
        channel_ids: Vec::new(),
    }
}

fn http(addr: SocketAddr, path: &str) -> MonitorSpec {
    spec(MonitorType::Http, format!("http://{addr}{path}"))
}

/// The outcome's error, which must read as a person would write it: no
/// Rust debug formatting or type paths, no trailing period.
fn error(outcome: &Outcome) -> &str {
    let error = outcome.error.as_deref().unwrap_or("");
    for dump in ["{", "}", "Query", "Name(", "::", "Error(", "Some(", "\\"] {
        assert!(!error.contains(dump), "{error:?} contains {dump:?}");
    }
    assert!(!error.ends_with('.'), "{error:?} ends with a period");
    error
}

/// A string in the outcome's details.
fn detail<'a>(outcome: &'a Outcome, key: &str) -> &'a str {
    outcome
        .details
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

#[tokio::test]
async fn http_up_has_connect_ttfb_and_total_timings() {
    let (addr, hits) = http_server(None).await;
    let outcome = engine().check(&http(addr, "/ok")).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.body_snippet.as_deref(), Some("hello world"));
    let t = outcome.timings;
    assert_eq!(t.dns_ms, None, "an IP target needs no lookup");
    assert!(t.connect_ms.unwrap() > 0.0);
    assert!(t.ttfb_ms.unwrap() > 0.0);
    assert_eq!(t.tls_ms, None);
    assert!(t.total_ms >= t.connect_ms.unwrap() + t.ttfb_ms.unwrap());
    assert_eq!(outcome.details["httpVersion"], "HTTP/1.1");
    assert_eq!(hits.get(), 1);
}

#[tokio::test]
async fn http_host_names_are_resolved_and_timed() {
    let (addr, _) = http_server(None).await;
    let dns = dns_server().await;
    let mut opts = options(true);
    opts.name_servers = vec![dns];
    let engine = Engine::new(opts).unwrap();
    let outcome = engine
        .check(&spec(
            MonitorType::Http,
            format!("http://good.test:{}/ok", addr.port()),
        ))
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert!(outcome.timings.dns_ms.unwrap() > 0.0);
}

#[tokio::test]
async fn http_unexpected_status_is_down_with_the_code() {
    let (addr, _) = http_server(None).await;
    let outcome = engine().check(&http(addr, "/status/503")).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(outcome.status_code, Some(503));
    assert_eq!(
        error(&outcome),
        "HTTP 503 Service Unavailable, expected 2xx"
    );
    assert_eq!(detail(&outcome, "errorKind"), "http_status");
    assert_eq!(detail(&outcome, "expectedStatus"), "2xx");

    let mut listed = http(addr, "/status/418");
    listed.expected_status = Some(ExpectedStatus::List(vec![200, 418]));
    assert_eq!(engine().check(&listed).await.status, CheckStatus::Up);
}

#[tokio::test]
async fn http_slow_answer_is_degraded_over_the_threshold() {
    let (addr, _) = http_server(None).await;
    let mut slow = http(addr, "/slow/300");
    slow.degraded_threshold_ms = Some(100);
    let outcome = engine().check(&slow).await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");
    assert!(error(&outcome).contains("over the 100 ms threshold"));
    assert!(outcome.timings.ttfb_ms.unwrap() >= 300.0);
}

#[tokio::test]
async fn http_timeout_names_the_phase() {
    let (addr, _) = http_server(None).await;
    let mut slow = http(addr, "/slow/5000");
    slow.timeout_seconds = 1;
    let outcome = engine().check(&slow).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        format!("HTTP: no response from {addr} within 1 s")
    );
    assert_eq!(detail(&outcome, "errorKind"), "timeout");
    assert_eq!(detail(&outcome, "errorPhase"), "ttfb");
    assert_eq!(outcome.details["timeoutMs"], 1000);
    assert!(outcome.timings.total_ms >= 1000.0 && outcome.timings.total_ms < 2000.0);
    assert!(outcome.timings.connect_ms.is_some());
}

#[tokio::test]
async fn http_connection_refused_is_down_at_connect() {
    let addr = closed_port().await;
    let outcome = engine().check(&http(addr, "/ok")).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(error(&outcome), format!("connection refused by {addr}"));
    assert_eq!(detail(&outcome, "errorKind"), "connection_refused");
    assert_eq!(detail(&outcome, "errorPhase"), "connect");
    assert_eq!(detail(&outcome, "remoteAddr"), addr.to_string());
    assert_eq!(outcome.details["osError"], 111, "ECONNREFUSED on Linux");
    assert!(detail(&outcome, "errorDetail").contains("refused"));
    assert!(outcome.timings.connect_ms.is_some());
}

#[tokio::test]
async fn http_sends_method_headers_and_body() {
    let (addr, _) = http_server(None).await;
    let mut post = spec(MonitorType::Keyword, format!("http://{addr}/echo"));
    post.method = Some("POST".to_owned());
    post.headers = Some([("X-Probe".to_owned(), "probe-42".to_owned())].into());
    post.body = Some("{\"ping\":1}".to_owned());
    post.keyword = Some("POST probe-42 {\"ping\":1}".to_owned());
    let outcome = engine().check(&post).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
}

#[tokio::test]
async fn keyword_modes_and_case() {
    let (addr, _) = http_server(None).await;
    let mut check = spec(MonitorType::Keyword, format!("http://{addr}/ok"));
    check.keyword = Some("WORLD".to_owned());
    check.keyword_case_sensitive = Some(true);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(error(&outcome), "keyword \"WORLD\" not found in the body");
    assert_eq!(detail(&outcome, "errorKind"), "keyword_missing");

    check.keyword_case_sensitive = Some(false);
    assert_eq!(engine().check(&check).await.status, CheckStatus::Up);

    check.keyword_mode = Some(KeywordMode::NotContains);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "keyword \"WORLD\" found in the body, expected absent"
    );
    assert_eq!(detail(&outcome, "errorKind"), "keyword_present");
}

#[tokio::test]
async fn keyword_reads_at_most_one_mebibyte() {
    let (addr, _) = http_server(None).await;
    let mut check = spec(MonitorType::Keyword, format!("http://{addr}/big"));
    check.keyword = Some("needle".to_owned());
    let outcome = engine().check(&check).await;
    // The needle sits after 2 MiB: it is beyond what a check reads.
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "keyword \"needle\" not found in the first 1 MiB of the body"
    );
    assert_eq!(outcome.details["bodyBytes"], 1024 * 1024);
    assert_eq!(outcome.details["bodyTruncated"], true);
    assert_eq!(outcome.body_snippet.unwrap().len(), 1024);
}

#[tokio::test]
async fn redirects_are_followed_only_when_asked() {
    let (addr, hits) = http_server(None).await;
    let mut check = http(addr, &format!("/redirect?to=http://{addr}/ok"));
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(outcome.status_code, Some(302));

    check.follow_redirects = Some(true);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(outcome.details["redirects"], 1);
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn redirect_loops_and_odd_schemes_are_down_in_words() {
    let (addr, hits) = http_server(None).await;
    let mut check = http(addr, "/loop");
    check.follow_redirects = Some(true);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(error(&outcome), "HTTP: too many redirects (more than 10)");
    assert_eq!(detail(&outcome, "errorKind"), "too_many_redirects");
    assert_eq!(outcome.details["redirects"], 10);
    assert_eq!(hits.path("/loop"), 11);

    let mut check = http(addr, "/redirect?to=ftp://files.example/");
    check.follow_redirects = Some(true);
    let outcome = engine().check(&check).await;
    assert_eq!(
        error(&outcome),
        format!(
            "HTTP: {addr} redirected to the unsupported scheme \"ftp\" \
             (only http and https are followed)"
        )
    );
    assert_eq!(detail(&outcome, "errorKind"), "redirect_invalid");
    assert_eq!(detail(&outcome, "location"), "ftp://files.example/");
}

#[tokio::test]
async fn a_target_that_hangs_up_without_an_answer_is_down_in_words() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            // Read the request, then close without a word.
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
        }
    });
    let outcome = engine().check(&http(addr, "/ok")).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        format!("HTTP: {addr} closed the connection without a response")
    );
    assert_eq!(detail(&outcome, "errorKind"), "http_connection_closed");
    assert_eq!(detail(&outcome, "errorPhase"), "ttfb");
    assert!(!detail(&outcome, "errorDetail").is_empty());
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let (addr, hits) = http_server(None).await;
    let strict = Engine::new(options(false)).unwrap();
    let outcome = strict.check(&http(addr, "/ok")).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert!(
        error(&outcome).contains("private or reserved address"),
        "{outcome:?}"
    );
    assert_eq!(detail(&outcome, "errorKind"), "target_refused");
    assert_eq!(detail(&outcome, "refusedAddress"), "127.0.0.1");
    assert_eq!(hits.get(), 0, "nothing may reach a refused target");

    // A public-looking name that resolves to loopback (DNS rebinding) is
    // refused on the resolved address.
    let dns = dns_server().await;
    let mut opts = options(false);
    opts.name_servers = vec![dns];
    let strict = Engine::new(opts).unwrap();
    let outcome = strict
        .check(&spec(
            MonitorType::Http,
            format!("http://good.test:{}/ok", addr.port()),
        ))
        .await;
    assert!(
        error(&outcome).contains("good.test resolves to 127.0.0.1"),
        "{outcome:?}"
    );
    assert_eq!(hits.get(), 0);
}

#[tokio::test]
async fn redirects_to_denied_addresses_are_refused() {
    let (addr, hits) = http_server(None).await;
    let mut opts = options(true);
    opts.denied_addresses = vec!["127.0.0.2".parse().unwrap()];
    let engine = Engine::new(opts).unwrap();
    let mut check = http(
        addr,
        &format!("/redirect?to=http://127.0.0.2:{}/ok", addr.port()),
    );
    check.follow_redirects = Some(true);
    let outcome = engine.check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert!(error(&outcome).contains("127.0.0.2"), "{outcome:?}");
    assert_eq!(hits.get(), 1, "only the first hop was requested");
}

fn trusting(ca: &TestCa) -> Arc<Engine> {
    let mut opts = options(true);
    opts.extra_roots = vec![ca.cert.clone()];
    Engine::new(opts).unwrap()
}

#[tokio::test]
async fn https_negotiates_http2_and_times_the_handshake() {
    let ca = TestCa::new();
    let (addr, _) = http_server(Some(ca.leaf(&["localhost", "127.0.0.1"], 90))).await;
    let outcome = trusting(&ca)
        .check(&spec(MonitorType::Http, format!("https://{addr}/ok")))
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.details["httpVersion"], "HTTP/2");
    let t = outcome.timings;
    assert!(t.tls_ms.unwrap() > 0.0 && t.connect_ms.unwrap() > 0.0 && t.ttfb_ms.unwrap() > 0.0);
    assert!(t.total_ms >= t.tls_ms.unwrap() + t.connect_ms.unwrap() + t.ttfb_ms.unwrap());
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_is_down_before_any_request() {
    let (addr, hits) = http_server(Some(untrusted(&["127.0.0.1"]))).await;
    let outcome = engine()
        .check(&spec(MonitorType::Http, format!("https://{addr}/ok")))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "TLS: certificate for 127.0.0.1 is not trusted (unknown issuer)"
    );
    assert_eq!(detail(&outcome, "errorKind"), "tls_untrusted");
    assert_eq!(detail(&outcome, "errorPhase"), "tls");
    assert_eq!(hits.get(), 0);
}

fn tls(addr: SocketAddr) -> MonitorSpec {
    spec(MonitorType::Tls, addr.to_string())
}

#[tokio::test]
async fn tls_up_reports_the_certificate() {
    let ca = TestCa::new();
    let (addr, _) = http_server(Some(ca.leaf(&["127.0.0.1", "localhost"], 200))).await;
    let outcome = trusting(&ca).check(&tls(addr)).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    let cert = &outcome.details["certificate"];
    assert_eq!(cert["subject"], "CN=127.0.0.1");
    assert_eq!(cert["issuer"], "CN=UpTime Test CA");
    assert_eq!(cert["sans"], serde_json::json!(["127.0.0.1", "localhost"]));
    let days = cert["daysRemaining"].as_i64().unwrap();
    assert!((198..=200).contains(&days), "{days}");
    assert!(outcome.timings.tls_ms.unwrap() > 0.0);
    assert_eq!(outcome.timings.ttfb_ms, None);
}

#[tokio::test]
async fn tls_near_expiry_is_degraded() {
    let ca = TestCa::new();
    let (addr, _) = http_server(Some(ca.leaf(&["127.0.0.1"], 5))).await;
    let outcome = trusting(&ca).check(&tls(addr)).await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");
    let days = outcome.details["certificate"]["daysRemaining"]
        .as_i64()
        .unwrap();
    let on = (chrono::Utc::now().date_naive() + chrono::Duration::days(5)).format("%Y-%m-%d");
    assert_eq!(
        error(&outcome),
        format!(
            "TLS: certificate for 127.0.0.1 expires in {days} days (on {on}), \
             within the 14-day warning period"
        )
    );
    assert_eq!(detail(&outcome, "errorKind"), "tls_expiring");
    assert_eq!(outcome.details["tlsExpiryWarnDays"], 14);

    // The monitor's own threshold wins over the engine default.
    let mut lenient = tls(addr);
    lenient.tls_expiry_warn_days = Some(2);
    assert_eq!(trusting(&ca).check(&lenient).await.status, CheckStatus::Up);
}

#[tokio::test]
async fn tls_expired_untrusted_and_mismatched_are_down() {
    let ca = TestCa::new();
    let (expired, _) = http_server(Some(ca.leaf(&["127.0.0.1"], -30))).await;
    let outcome = trusting(&ca).check(&tls(expired)).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    let on = (chrono::Utc::now().date_naive() - chrono::Duration::days(30)).format("%Y-%m-%d");
    assert_eq!(
        error(&outcome),
        format!("TLS: certificate for 127.0.0.1 expired 30 days ago (on {on})")
    );
    assert_eq!(detail(&outcome, "errorKind"), "tls_expired");
    assert!(
        outcome.details["certificate"]["daysRemaining"]
            .as_i64()
            .unwrap()
            < 0
    );

    let (strange, _) = http_server(Some(untrusted(&["127.0.0.1"]))).await;
    let outcome = trusting(&ca).check(&tls(strange)).await;
    assert_eq!(
        error(&outcome),
        "TLS: certificate for 127.0.0.1 is not trusted (unknown issuer)"
    );

    let (other, _) = http_server(Some(ca.leaf(&["other.test", "www.other.test"], 90))).await;
    let outcome = trusting(&ca).check(&tls(other)).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "TLS: certificate is for other.test or www.other.test, not 127.0.0.1"
    );
    assert_eq!(detail(&outcome, "errorKind"), "tls_name_mismatch");
    // The same words when an HTTPS check meets it.
    let outcome = trusting(&ca)
        .check(&spec(MonitorType::Http, format!("https://{other}/ok")))
        .await;
    assert_eq!(
        error(&outcome),
        "TLS: certificate is for other.test or www.other.test, not 127.0.0.1"
    );
}

#[tokio::test]
async fn tls_to_a_plain_http_server_fails_the_handshake_in_words() {
    let (addr, _) = http_server(None).await;
    let outcome = engine().check(&tls(addr)).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "TLS: handshake with 127.0.0.1 failed, the server's answer is not valid TLS"
    );
    assert_eq!(detail(&outcome, "errorKind"), "tls_handshake_failed");
    assert!(!detail(&outcome, "errorDetail").is_empty());
}

#[tokio::test]
async fn tls_handshake_timeout_names_the_phase() {
    let addr = silent_server().await;
    let mut check = tls(addr);
    check.timeout_seconds = 1;
    let outcome = engine().check(&check).await;
    assert_eq!(
        error(&outcome),
        "TLS: handshake with 127.0.0.1 timed out after 1 s"
    );
    assert_eq!(detail(&outcome, "errorPhase"), "tls");
    assert!(outcome.timings.connect_ms.is_some() && outcome.timings.tls_ms.is_some());
}

#[tokio::test]
async fn tcp_up_down_and_timeout() {
    let (addr, _) = http_server(None).await;
    let outcome = engine()
        .check(&spec(MonitorType::Tcp, addr.to_string()))
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert!(outcome.timings.connect_ms.unwrap() > 0.0);
    assert_eq!(outcome.details["remoteAddr"], addr.to_string());

    let closed = closed_port().await;
    let outcome = engine()
        .check(&spec(MonitorType::Tcp, closed.to_string()))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(error(&outcome), format!("connection refused by {closed}"));

    // A name whose lookup never answers: the timeout is in the dns phase.
    let dns = dns_server().await;
    let mut opts = options(true);
    opts.name_servers = vec![dns];
    let engine = Engine::new(opts).unwrap();
    let mut check = spec(MonitorType::Tcp, "slow.test:80");
    check.timeout_seconds = 1;
    let outcome = engine.check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        format!("DNS: the resolver {dns} did not answer for slow.test within 1 s")
    );
    assert_eq!(detail(&outcome, "errorKind"), "timeout");
    assert_eq!(detail(&outcome, "errorPhase"), "dns");
    assert!(outcome.timings.dns_ms.unwrap() >= 1000.0);
}

fn dns(resolver: SocketAddr, name: &str, kind: DnsRecordType) -> MonitorSpec {
    let mut check = spec(MonitorType::Dns, name);
    check.dns_record_type = Some(kind);
    check.dns_resolver = Some(resolver.to_string());
    check
}

#[tokio::test]
async fn dns_answers_match_expected_values() {
    let server = dns_server().await;
    let mut check = dns(server, "multi.test", DnsRecordType::A);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(
        outcome.details["answers"],
        serde_json::json!(["10.0.0.1", "10.0.0.2"])
    );
    assert!(outcome.timings.dns_ms.unwrap() > 0.0);

    check.dns_expected = Some(vec!["10.0.0.2".to_owned()]);
    assert_eq!(engine().check(&check).await.status, CheckStatus::Up);

    check.dns_expected = Some(vec!["10.0.0.9".to_owned()]);
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "DNS: expected 10.0.0.9 in the A answer for multi.test, got 10.0.0.1, 10.0.0.2"
    );
    assert_eq!(detail(&outcome, "errorKind"), "dns_mismatch");
    assert_eq!(
        outcome.details["expectedMissing"],
        serde_json::json!(["10.0.0.9"])
    );

    for (name, kind, expected) in [
        ("mail.test", DnsRecordType::Mx, "10 mx1.mail.test."),
        ("txt.test", DnsRecordType::Txt, "v=spf1 -all"),
        ("ns.test", DnsRecordType::Ns, "NS1.test"),
        ("alias.test", DnsRecordType::Cname, "good.test"),
    ] {
        let mut check = dns(server, name, kind);
        check.dns_expected = Some(vec![expected.to_owned()]);
        let outcome = engine().check(&check).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{name}: {outcome:?}");
    }
}

#[tokio::test]
async fn dns_failures_report_the_rcode() {
    let server = dns_server().await;
    let outcome = engine()
        .check(&dns(server, "missing.test", DnsRecordType::A))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "DNS: missing.test does not exist (NXDOMAIN)"
    );
    assert_eq!(outcome.details["rcode"], "NXDOMAIN");
    assert_eq!(detail(&outcome, "errorKind"), "dns_nxdomain");

    let outcome = engine()
        .check(&dns(server, "servfail.test", DnsRecordType::A))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        format!("DNS: the resolver {server} answered SERVFAIL for servfail.test"),
        "{outcome:?}"
    );
    assert_eq!(detail(&outcome, "errorKind"), "dns_server_error");
    assert_eq!(outcome.details["rcode"], "SERVFAIL");

    let outcome = engine()
        .check(&dns(server, "txt.test", DnsRecordType::A))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "DNS: txt.test has no A record (NOERROR, empty answer)"
    );
    assert_eq!(outcome.details["rcode"], "NOERROR");
    assert_eq!(detail(&outcome, "errorKind"), "dns_no_records");

    let mut slow = dns(server, "slow.test", DnsRecordType::A);
    slow.timeout_seconds = 1;
    let outcome = engine().check(&slow).await;
    assert_eq!(
        error(&outcome),
        format!("DNS: the resolver {server} did not answer for slow.test within 1 s")
    );
}

/// The message that once read `dns: DNS error: no records found for Query {
/// name: Name("good.test."), query_type: AAAA, query_class: IN }`.
#[tokio::test]
async fn names_without_records_read_as_sentences_not_debug_dumps() {
    let server = dns_server().await;
    let outcome = engine()
        .check(&dns(server, "good.test", DnsRecordType::Aaaa))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        "DNS: good.test has no AAAA record (NOERROR, empty answer)"
    );
    assert_eq!(detail(&outcome, "rcode"), "NOERROR");
    assert_eq!(detail(&outcome, "recordType"), "AAAA");
    assert_eq!(detail(&outcome, "errorKind"), "dns_no_records");
    assert_eq!(detail(&outcome, "errorPhase"), "dns");

    // The same lookups for the host of an HTTP, TCP or TLS target.
    let mut opts = options(true);
    opts.name_servers = vec![server];
    let engine = Engine::new(opts).unwrap();
    for (target, kind, message, error_kind) in [
        (
            "http://txt.test:9/",
            MonitorType::Http,
            "DNS: txt.test has no A or AAAA record (NOERROR, empty answer)".to_owned(),
            "dns_no_records",
        ),
        (
            "missing.test:443",
            MonitorType::Tcp,
            "DNS: missing.test does not exist (NXDOMAIN)".to_owned(),
            "dns_nxdomain",
        ),
        (
            "servfail.test",
            MonitorType::Tls,
            format!("DNS: the resolver {server} answered SERVFAIL for servfail.test"),
            "dns_server_error",
        ),
    ] {
        let outcome = engine.check(&spec(kind, target)).await;
        assert_eq!(outcome.status, CheckStatus::Down, "{target}");
        assert_eq!(error(&outcome), message, "{target}");
        assert_eq!(detail(&outcome, "errorKind"), error_kind, "{target}");
        assert_eq!(detail(&outcome, "errorPhase"), "dns", "{target}");
        assert!(outcome.timings.dns_ms.is_some(), "{target}");
    }
}

#[tokio::test]
async fn a_resolver_that_does_not_listen_is_named() {
    // Nothing answers on UDP or TCP: the resolver retries until the check's
    // time runs out.
    let closed = closed_udp_port().await;
    let mut check = dns(closed, "good.test", DnsRecordType::A);
    check.timeout_seconds = 1;
    let outcome = engine().check(&check).await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert_eq!(
        error(&outcome),
        format!("DNS: the resolver {closed} did not answer for good.test within 1 s")
    );
    assert_eq!(detail(&outcome, "errorKind"), "timeout");
    assert_eq!(detail(&outcome, "resolver"), closed.to_string());
}

#[tokio::test]
async fn dns_resolvers_obey_the_target_policy() {
    let server = dns_server().await;
    let strict = Engine::new(options(false)).unwrap();
    let outcome = strict
        .check(&dns(server, "good.test", DnsRecordType::A))
        .await;
    assert_eq!(outcome.status, CheckStatus::Down);
    assert!(
        error(&outcome).contains("resolver 127.0.0.1 is a private"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn ping_is_a_plain_get_expecting_2xx() {
    let (addr, _) = http_server(None).await;
    let outcome = engine().ping(&format!("http://{addr}/ok")).await;
    assert_eq!(outcome.status, CheckStatus::Up);
    let json = outcome.to_json();
    assert_eq!(json["statusCode"], 200);
    assert!(json["timings"]["connectMs"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn slow_keyword_tcp_and_dns_checks_are_degraded_over_their_threshold() {
    let (addr, _) = http_server(None).await;
    let mut keyword = spec(MonitorType::Keyword, format!("http://{addr}/slow/120"));
    keyword.keyword = Some("slow hello".to_owned());
    keyword.degraded_threshold_ms = Some(50);
    let outcome = engine().check(&keyword).await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");

    // A keyword check that never answers times out waiting for the first byte.
    keyword.target = format!("http://{addr}/slow/4000");
    keyword.timeout_seconds = 1;
    let outcome = engine().check(&keyword).await;
    assert_eq!(
        error(&outcome),
        format!("HTTP: no response from {addr} within 1 s")
    );

    // Thresholds below what any real connect or query takes.
    let mut tcp = spec(MonitorType::Tcp, addr.to_string());
    tcp.degraded_threshold_ms = Some(0);
    assert_eq!(engine().check(&tcp).await.status, CheckStatus::Degraded);
    let server = dns_server().await;
    let mut query = dns(server, "good.test", DnsRecordType::A);
    query.degraded_threshold_ms = Some(0);
    let outcome = engine().check(&query).await;
    assert_eq!(outcome.status, CheckStatus::Degraded, "{outcome:?}");
    assert!(error(&outcome).starts_with("slow: "));
    assert!(error(&outcome).ends_with(" ms is over the 0 ms threshold"));
    assert_eq!(detail(&outcome, "errorKind"), "slow");
    assert_eq!(outcome.details["degradedThresholdMs"], 0);
}
