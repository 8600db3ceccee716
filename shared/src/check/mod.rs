//! The check engine: one implementation of the five check types, used by
//! the worker for scheduled checks and by the API for `/ping-endpoint`.
//!
//! Every phase is measured where it happens: names are resolved with
//! hickory-resolver, sockets connected with tokio, TLS negotiated with
//! rustls, and HTTP spoken with hyper's connection API over that socket.
//! The whole check is bounded by the monitor's timeout; a timeout names the
//! phase it interrupted. Connections go only to addresses the target policy
//! allows, checked on the addresses actually resolved (and after redirects).

mod dns;
mod failure;
mod http;
mod net;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::model::check_result::BODY_SNIPPET_MAX_BYTES;
use crate::model::{CheckStatus, MonitorSpec, MonitorType, Timings};

pub use failure::{ERROR_DETAIL, ERROR_KIND, ERROR_PHASE};
pub use net::{is_valid_hostname, split_host_port};

use failure::{ErrorKind, Failure};

/// Largest body read for keyword checks (and for plain HTTP checks).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The `details` key naming the fields whose outside text was altered to be
/// storable (`error`, `bodySnippet`, `details`).
pub const TEXT_ALTERED: &str = "textAltered";
/// Most redirects followed when a monitor follows redirects.
pub const MAX_REDIRECTS: usize = 10;

/// How the engine is set up; the same for every check it runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Connect to private and reserved targets (ALLOW_PRIVATE_TARGETS).
    pub allow_private_targets: bool,
    /// Days before expiry that make a TLS check degraded, unless the monitor says otherwise.
    pub tls_expiry_warn_days: u32,
    /// Extra trusted root certificates (beside the Mozilla roots).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Name servers for resolving targets; empty = the system resolver
    /// (/etc/resolv.conf and /etc/hosts).
    pub name_servers: Vec<SocketAddr>,
    /// Timeout used by `/ping-endpoint` checks.
    pub default_timeout: Duration,
    /// Addresses always refused, even when private targets are allowed.
    pub denied_addresses: Vec<std::net::IpAddr>,
}

impl EngineOptions {
    /// Options from the process configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            allow_private_targets: config.allow_private_targets,
            tls_expiry_warn_days: config.tls_expiry_warn_days,
            extra_roots: Vec::new(),
            name_servers: Vec::new(),
            default_timeout: config.default_check_timeout,
            denied_addresses: Vec::new(),
        }
    }
}

/// The verdict of one check with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: CheckStatus,
    pub status_code: Option<u16>,
    /// A short reason in plain words when not up; its kind and machine
    /// detail are in `details` (`errorKind`, `errorPhase`, `errorDetail`).
    pub error: Option<String>,
    pub timings: Timings,
    /// At most [`crate::model::check_result::BODY_SNIPPET_MAX_BYTES`] of the body.
    pub body_snippet: Option<String>,
    /// Type-specific facts (HTTP version, certificate, DNS answers, ...).
    pub details: Map<String, Value>,
}

impl Outcome {
    /// The details as a JSON value, or None when empty.
    pub fn details_json(&self) -> Option<Value> {
        (!self.details.is_empty()).then(|| Value::Object(self.details.clone()))
    }

    /// Makes every text of the outcome storable and displayable (see
    /// [`crate::outside_text`]): the error, the body snippet and every
    /// string in the details. Fields that changed are named in
    /// `details.textAltered`, so the stored evidence says it was altered.
    pub fn make_storable(&mut self) {
        use crate::outside_text::{clean_in_place, clean_map, MAX_DETAIL_BYTES, MAX_ERROR_BYTES};
        let mut altered: Vec<Value> = match self.details.remove(TEXT_ALTERED) {
            Some(Value::Array(names)) => names,
            _ => Vec::new(),
        };
        let mut note = |name: &str| {
            if !altered.iter().any(|v| v == name) {
                altered.push(Value::from(name));
            }
        };
        if clean_in_place(&mut self.error, MAX_ERROR_BYTES) {
            note("error");
        }
        if clean_in_place(&mut self.body_snippet, BODY_SNIPPET_MAX_BYTES) {
            note("bodySnippet");
        }
        if clean_map(&mut self.details, MAX_DETAIL_BYTES) {
            note("details");
        }
        if !altered.is_empty() {
            self.details
                .insert(TEXT_ALTERED.to_owned(), Value::Array(altered));
        }
    }

    /// JSON for API answers: status, code, error, timings, snippet, details.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "status": self.status,
            "statusCode": self.status_code,
            "error": self.error,
            "timings": self.timings,
            "bodySnippet": self.body_snippet,
            "details": self.details_json(),
        })
    }
}

/// The phase of a check, named in errors and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Dns,
    Connect,
    Tls,
    /// Request written until the first response byte.
    Ttfb,
    /// Reading the response body.
    Body,
}

impl Phase {
    /// The name used in `details.errorPhase` and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Ttfb => "ttfb",
            Phase::Body => "body",
        }
    }
}

/// The time budget of one check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub started: Instant,
    pub deadline: Instant,
    pub timeout: Duration,
}

impl Budget {
    fn new(timeout: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            deadline: started + timeout,
            timeout,
        }
    }

    /// Runs `fut` until the deadline; None when the check's time ran out.
    pub async fn within<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout_at(self.deadline, fut).await.ok()
    }

    /// Milliseconds since the check started.
    pub fn elapsed_ms(&self) -> f32 {
        millis(self.started.elapsed())
    }
}

/// A duration in milliseconds with sub-millisecond resolution.
pub fn millis(duration: Duration) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let value = (duration.as_secs_f64() * 1000.0) as f32;
    value
}

/// Adds `value` to an optional phase total (phases repeat across redirects).
pub(crate) fn add(slot: &mut Option<f32>, value: f32) {
    *slot = Some(slot.unwrap_or(0.0) + value);
}

/// The engine; cheap to share behind an Arc.
pub struct Engine {
    options: EngineOptions,
    net: net::Net,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish()
    }
}

impl Engine {
    /// Builds the engine: the resolver and the TLS trust store.
    pub fn new(options: EngineOptions) -> anyhow::Result<Arc<Self>> {
        let net = net::Net::new(&options)?;
        Ok(Arc::new(Self { options, net }))
    }

    /// The options the engine was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Runs the check a monitor describes.
    pub async fn check(&self, spec: &MonitorSpec) -> Outcome {
        let timeout = Duration::from_secs(u64::from(spec.timeout_seconds.max(1)));
        let budget = Budget::new(timeout);
        let mut timings = Timings::default();
        let mut details = Map::new();
        let result = match spec.kind {
            MonitorType::Http | MonitorType::Keyword => {
                http::check(&self.net, spec, &budget, &mut timings, &mut details).await
            }
            MonitorType::Tcp => {
                tcp_check(&self.net, spec, &budget, &mut timings, &mut details).await
            }
            MonitorType::Dns => {
                dns::check(&self.net, spec, &budget, &mut timings, &mut details).await
            }
            MonitorType::Tls => {
                let warn = spec
                    .tls_expiry_warn_days
                    .unwrap_or(self.options.tls_expiry_warn_days);
                tls::check(&self.net, spec, warn, &budget, &mut timings, &mut details).await
            }
        };
        timings.total_ms = budget.elapsed_ms();
        let mut outcome = match result {
            Ok(verdict) => {
                if let Some(kind) = verdict.kind {
                    details.insert(ERROR_KIND.to_owned(), Value::from(kind.as_str()));
                }
                Outcome {
                    status: verdict.status,
                    status_code: verdict.status_code,
                    error: verdict.error,
                    timings,
                    body_snippet: verdict.body_snippet,
                    details,
                }
            }
            Err(failure) => {
                let error = failure.record(&mut details);
                Outcome {
                    status: CheckStatus::Down,
                    status_code: None,
                    error: Some(error),
                    timings,
                    body_snippet: None,
                    details,
                }
            }
        };
        if outcome.status == CheckStatus::Up {
            if let Some(threshold) = spec.degraded_threshold_ms {
                #[allow(clippy::cast_precision_loss)]
                if outcome.timings.total_ms > threshold as f32 {
                    outcome.status = CheckStatus::Degraded;
                    outcome.error = Some(format!(
                        "slow: {:.1} ms is over the {threshold} ms threshold",
                        outcome.timings.total_ms
                    ));
                    outcome
                        .details
                        .insert(ERROR_KIND.to_owned(), Value::from(ErrorKind::Slow.as_str()));
                    outcome
                        .details
                        .insert("degradedThresholdMs".to_owned(), Value::from(threshold));
                }
            }
        }
        outcome.make_storable();
        outcome
    }

    /// The legacy `/ping-endpoint` check: a GET of `url` expecting 2xx.
    pub async fn ping(&self, url: &str) -> Outcome {
        let timeout = u32::try_from(self.options.default_timeout.as_secs())
            .unwrap_or(10)
            .max(1);
        let spec = MonitorSpec {
            name: "ping-endpoint".to_owned(),
            kind: MonitorType::Http,
            target: url.to_owned(),
            method: Some("GET".to_owned()),
            headers: None,
            body: None,
            expected_status: None,
            follow_redirects: Some(false),
            degraded_threshold_ms: None,
            keyword: None,
            keyword_mode: None,
            keyword_case_sensitive: None,
            dns_record_type: None,
            dns_expected: None,
            dns_resolver: None,
            tls_expiry_warn_days: None,
            timeout_seconds: timeout,
            interval_seconds: timeout,
            failure_threshold: 1,
            recovery_threshold: 1,
            sla_target: None,
            enabled: true,
            tags: Vec::new(),
            channel_ids: Vec::new(),
        };
        self.check(&spec).await
    }
}

/// What a check type decided, before the degraded threshold is applied.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub status: CheckStatus,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// The kind of the error, for `details.errorKind`.
    pub kind: Option<ErrorKind>,
    pub body_snippet: Option<String>,
}

impl Verdict {
    pub fn up() -> Self {
        Self {
            status: CheckStatus::Up,
            status_code: None,
            error: None,
            kind: None,
            body_snippet: None,
        }
    }

    /// Not up (`status`), for the reason `error` of `kind`.
    pub fn not_up(&mut self, status: CheckStatus, kind: ErrorKind, error: impl Into<String>) {
        self.status = status;
        self.kind = Some(kind);
        self.error = Some(error.into());
    }
}

async fn tcp_check(
    net: &net::Net,
    spec: &MonitorSpec,
    budget: &Budget,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<Verdict, Failure> {
    let (host, port) = split_host_port(&spec.target).ok_or_else(|| {
        failure::invalid(
            Phase::Connect,
            format!("the target {} is not host:port", spec.target),
        )
    })?;
    let stream = net.connect(&host, port, budget, timings).await?;
    if let Ok(peer) = stream.peer_addr() {
        details.insert("remoteAddr".to_owned(), Value::String(peer.to_string()));
    }
    Ok(Verdict::up())
}

/// At most `max` bytes of a body from outside as storable text (see
/// [`crate::outside_text`]), and whether a character had to be replaced.
pub(crate) fn snippet(bytes: &[u8], max: usize) -> (Option<String>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    let cleaned = crate::outside_text::clean_bytes(bytes, max);
    (Some(cleaned.text.into_owned()), cleaned.replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_stay_within_the_limit_on_char_boundaries() {
        let text = "é".repeat(600);
        let (cut, replaced) = snippet(text.as_bytes(), 1024);
        let cut = cut.expect("snippet");
        assert!(cut.len() <= 1024 && !replaced);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(snippet(b"", 1024), (None, false));
        // Invalid UTF-8 and NUL are replaced, and the result still fits.
        let binary = vec![0xffu8; 2000];
        let (binary, replaced) = snippet(&binary, 1024);
        assert!(binary.expect("snippet").len() <= 1024 && replaced);
        assert_eq!(
            snippet(b"ok\0ok", 10),
            (Some("ok\u{FFFD}ok".to_owned()), true)
        );
    }

    #[test]
    fn outcomes_are_made_storable_and_say_what_was_altered() {
        let mut details = Map::new();
        details.insert(
            "answers".to_owned(),
            serde_json::json!(["txt\u{0}", "fine"]),
        );
        details.insert(TEXT_ALTERED.to_owned(), serde_json::json!(["bodySnippet"]));
        let mut outcome = Outcome {
            status: CheckStatus::Down,
            status_code: Some(200),
            error: Some(format!("keyword not found in {}", "x\u{0}".repeat(2000))),
            timings: Timings::default(),
            body_snippet: Some("ok\u{FFFD}ok".to_owned()),
            details,
        };
        outcome.make_storable();
        let error = outcome.error.as_deref().expect("error kept");
        assert!(error.len() <= crate::outside_text::MAX_ERROR_BYTES && !error.contains('\0'));
        assert_eq!(
            outcome.details["answers"],
            serde_json::json!(["txt\u{FFFD}", "fine"])
        );
        assert_eq!(
            outcome.details[TEXT_ALTERED],
            serde_json::json!(["bodySnippet", "error", "details"])
        );
        // A clean outcome is left as it is, with no note.
        let mut clean = Outcome {
            error: None,
            body_snippet: Some("ok".to_owned()),
            details: Map::new(),
            ..outcome
        };
        clean.make_storable();
        assert!(clean.details.is_empty());
    }
}
