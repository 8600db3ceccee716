//! Why a check failed, in words a person reads, with the machine detail kept
//! apart in the result's `details`.
//!
//! Every message is a sentence fragment that starts with what failed and
//! names the host or address it failed on: no type names, no debug
//! formatting, no trailing period. DNS, TLS and HTTP protocol failures start
//! with `DNS: `, `TLS: ` and `HTTP`; refusals by the target policy keep their
//! `refused: ` prefix. What a program needs (a stable error kind, the phase,
//! the library's own message, the OS error code, the DNS rcode) goes into
//! `details` under the keys below.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use serde_json::{Map, Value};

use super::Phase;
use crate::model::ExpectedStatus;

/// The `details` key of the stable, snake_case error kind (`dns_nxdomain`, ...).
pub const ERROR_KIND: &str = "errorKind";
/// The `details` key of the phase a failed check stopped in.
pub const ERROR_PHASE: &str = "errorPhase";
/// The `details` key of the underlying library's message, cause by cause.
pub const ERROR_DETAIL: &str = "errorDetail";
/// The `details` key of the operating system's error number.
const OS_ERROR: &str = "osError";
/// The `details` key of the time budget that ran out, in milliseconds.
const TIMEOUT_MS: &str = "timeoutMs";
/// The `details` key of the address a connection was tried to.
const REMOTE_ADDR: &str = "remoteAddr";
/// The `details` key of a DNS response code.
const RCODE: &str = "rcode";

/// What kind of failure a check met; stored as `details.errorKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The monitor's target or request cannot be used as given.
    InvalidTarget,
    /// The target policy refused the address.
    TargetRefused,
    /// A phase did not finish in time (see `errorPhase`).
    Timeout,
    DnsNxdomain,
    DnsNoRecords,
    /// The resolver answered with an error rcode (SERVFAIL, REFUSED, ...).
    DnsServerError,
    DnsUnreachable,
    DnsFailed,
    /// A DNS answer lacks an expected value.
    DnsMismatch,
    ConnectionRefused,
    ConnectionReset,
    Unreachable,
    ConnectFailed,
    TlsHandshakeFailed,
    TlsExpired,
    TlsNotYetValid,
    TlsUntrusted,
    TlsNameMismatch,
    TlsRevoked,
    TlsBadSignature,
    TlsInvalidCertificate,
    TlsNoCertificate,
    /// The certificate is valid but expires within the warning period.
    TlsExpiring,
    /// The status code is not the expected one.
    HttpStatus,
    HttpInvalidResponse,
    HttpConnectionClosed,
    HttpFailed,
    RedirectInvalid,
    TooManyRedirects,
    KeywordMissing,
    KeywordPresent,
    /// Slower than the monitor's degraded threshold.
    Slow,
}

impl ErrorKind {
    /// The code stored in `details.errorKind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidTarget => "invalid_target",
            ErrorKind::TargetRefused => "target_refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::DnsNxdomain => "dns_nxdomain",
            ErrorKind::DnsNoRecords => "dns_no_records",
            ErrorKind::DnsServerError => "dns_server_error",
            ErrorKind::DnsUnreachable => "dns_unreachable",
            ErrorKind::DnsFailed => "dns_failed",
            ErrorKind::DnsMismatch => "dns_mismatch",
            ErrorKind::ConnectionRefused => "connection_refused",
            ErrorKind::ConnectionReset => "connection_reset",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::TlsHandshakeFailed => "tls_handshake_failed",
            ErrorKind::TlsExpired => "tls_expired",
            ErrorKind::TlsNotYetValid => "tls_not_yet_valid",
            ErrorKind::TlsUntrusted => "tls_untrusted",
            ErrorKind::TlsNameMismatch => "tls_name_mismatch",
            ErrorKind::TlsRevoked => "tls_revoked",
            ErrorKind::TlsBadSignature => "tls_bad_signature",
            ErrorKind::TlsInvalidCertificate => "tls_invalid_certificate",
            ErrorKind::TlsNoCertificate => "tls_no_certificate",
            ErrorKind::TlsExpiring => "tls_expiring",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::HttpInvalidResponse => "http_invalid_response",
            ErrorKind::HttpConnectionClosed => "http_connection_closed",
            ErrorKind::HttpFailed => "http_failed",
            ErrorKind::RedirectInvalid => "redirect_invalid",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::KeywordMissing => "keyword_missing",
            ErrorKind::KeywordPresent => "keyword_present",
            ErrorKind::Slow => "slow",
        }
    }
}

/// Why a check stopped: the message a person reads, the phase it stopped
/// in, its kind and the machine detail for `details`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub phase: Phase,
    pub kind: ErrorKind,
    pub message: String,
    pub details: Map<String, Value>,
}

impl Failure {
    pub fn new(phase: Phase, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            phase,
            kind,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds one machine fact to the failure's details.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Keeps the library's message (with its causes) and any OS error code
    /// in the details.
    pub fn caused_by(mut self, error: &(dyn StdError + 'static)) -> Self {
        self.details
            .insert(ERROR_DETAIL.to_owned(), Value::String(error_chain(error)));
        if let Some(code) = causes(error).find_map(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .and_then(io::Error::raw_os_error)
        }) {
            self.details.insert(OS_ERROR.to_owned(), Value::from(code));
        }
        self
    }

    /// The check's time ran out during `phase`, talking to `subject`.
    pub fn timeout(phase: Phase, subject: &str, timeout: Duration) -> Self {
        let took = duration_words(timeout);
        let message = match phase {
            Phase::Dns => return dns_timeout(subject, None, timeout),
            Phase::Connect => format!("connection to {subject} timed out after {took}"),
            Phase::Tls => format!("TLS: handshake with {subject} timed out after {took}"),
            Phase::Ttfb => format!("HTTP: no response from {subject} within {took}"),
            Phase::Body => format!("HTTP: reading the body from {subject} timed out after {took}"),
        };
        Self::new(phase, ErrorKind::Timeout, message).with(TIMEOUT_MS, millis_of(timeout))
    }

    /// Writes the kind, the phase and the detail into a result's details
    /// and gives back the message.
    pub fn record(self, details: &mut Map<String, Value>) -> String {
        details.extend(self.details);
        details.insert(ERROR_KIND.to_owned(), Value::from(self.kind.as_str()));
        details.insert(ERROR_PHASE.to_owned(), Value::from(self.phase.as_str()));
        self.message
    }
}

/// An error and its causes, outermost first. An io::Error that wraps
/// another error shows that error's text but does not return it as its
/// source, so it is looked into.
fn causes<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(
        Some(error),
        |&current: &&'a (dyn StdError + 'static)| match current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => current.source(),
        },
    )
}

/// An error's message followed by those of its causes, each once.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    for cause in causes(error) {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

fn millis_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// "10 s", "1.5 s" or "500 ms".
fn duration_words(duration: Duration) -> String {
    let ms = millis_of(duration);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// "1 day", "3 days".
fn days(count: i64) -> String {
    if count == 1 {
        "1 day".to_owned()
    } else {
        format!("{count} days")
    }
}

/// The UTC date of a unix time, as 2026-11-27.
fn date(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .map_or_else(|| unix.to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// `host (address)` for a name, the address alone when the host is one.
fn peer(host: &str, addr: SocketAddr) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        addr.to_string()
    } else {
        format!("{bare} ({addr})")
    }
}

// ---- target and request ----------------------------------------------------

/// The monitor's target or request cannot be used as given.
pub(crate) fn invalid(phase: Phase, message: impl Into<String>) -> Failure {
    Failure::new(phase, ErrorKind::InvalidTarget, message)
}

// ---- DNS -------------------------------------------------------------------

/// "the resolver" or "the resolver 10.0.0.53:53".
fn resolver_words(resolver: Option<SocketAddr>) -> String {
    resolver.map_or_else(
        || "the resolver".to_owned(),
        |a| format!("the resolver {a}"),
    )
}

/// The mnemonic of a response code (NXDOMAIN, SERVFAIL, ...).
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".to_owned(),
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NXDomain => "NXDOMAIN".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// No answer for `name` from the resolver within `timeout`.
pub(crate) fn dns_timeout(name: &str, resolver: Option<SocketAddr>, timeout: Duration) -> Failure {
    let name = name.trim_end_matches('.');
    Failure::new(
        Phase::Dns,
        ErrorKind::Timeout,
        format!(
            "DNS: {} did not answer for {name} within {}",
            resolver_words(resolver),
            duration_words(timeout)
        ),
    )
    .with(TIMEOUT_MS, millis_of(timeout))
}

/// A failed lookup of `asked` records ("AAAA", "A or AAAA") for `name`
/// that took `waited`.
pub(crate) fn dns_lookup(
    name: &str,
    asked: &str,
    resolver: Option<SocketAddr>,
    waited: Duration,
    error: &NetError,
) -> Failure {
    let name = name.trim_end_matches('.');
    let server = resolver_words(resolver);
    let (kind, message) = match error {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
            let message = match *response_code {
                ResponseCode::NXDomain => format!("DNS: {name} does not exist (NXDOMAIN)"),
                ResponseCode::NoError => dns_empty_answer(name, asked),
                code => format!("DNS: {name} has no {asked} record ({})", rcode_name(code)),
            };
            let kind = if *response_code == ResponseCode::NXDomain {
                ErrorKind::DnsNxdomain
            } else {
                ErrorKind::DnsNoRecords
            };
            // The rcode says it all; the library's text is a debug dump.
            return Failure::new(Phase::Dns, kind, message).with(RCODE, rcode_name(*response_code));
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            return Failure::new(
                Phase::Dns,
                ErrorKind::DnsServerError,
                format!("DNS: {server} answered {} for {name}", rcode_name(*code)),
            )
            .with(RCODE, rcode_name(*code));
        }
        // The resolver gave up (after its own retries), before the check's
        // time ran out: say how long it waited, in whole seconds.
        NetError::Timeout => {
            let waited = Duration::from_secs(millis_of(waited).saturating_add(500) / 1000);
            return dns_timeout(name, resolver, waited.max(Duration::from_secs(1)));
        }
        NetError::Io(_) | NetError::NoConnections | NetError::Busy => (
            ErrorKind::DnsUnreachable,
            format!("DNS: {server} could not be reached to look up {name}"),
        ),
        NetError::Proto(_) | NetError::Truncated | NetError::QueryCaseMismatch => (
            ErrorKind::DnsFailed,
            format!("DNS: the answer from {server} for {name} could not be read"),
        ),
        _ => (
            ErrorKind::DnsFailed,
            format!("DNS: lookup of {name} failed"),
        ),
    };
    let failure = Failure::new(Phase::Dns, kind, message);
    match error {
        NetError::Io(io) => failure.caused_by(io.as_ref()),
        other => failure.caused_by(other),
    }
}

/// The answer for `name` has no `asked` record, and no error.
pub(crate) fn dns_empty_answer(name: &str, asked: &str) -> String {
    format!(
        "DNS: {} has no {asked} record (NOERROR, empty answer)",
        name.trim_end_matches('.')
    )
}

/// The name resolved to no address at all.
pub(crate) fn dns_no_address(name: &str) -> Failure {
    let name = name.trim_end_matches('.');
    Failure::new(
        Phase::Dns,
        ErrorKind::DnsNoRecords,
        format!("DNS: {name} has no A or AAAA record"),
    )
}

/// The answer for `name` lacks `missing`; `answers` is what came back.
pub(crate) fn dns_mismatch(
    name: &str,
    asked: &str,
    missing: &[&str],
    answers: &[String],
) -> String {
    format!(
        "DNS: expected {} in the {asked} answer for {}, got {}",
        or_list(missing),
        name.trim_end_matches('.'),
        answers.join(", ")
    )
}

/// "a", "a or b", "a, b or c".
fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => format!(
            "{} or {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

// ---- connect ---------------------------------------------------------------

/// A TCP connect to `addr` (for `host`) that failed.
pub(crate) fn connect(host: &str, addr: SocketAddr, error: &io::Error) -> Failure {
    let to = peer(host, addr);
    let (kind, message) = match error.kind() {
        io::ErrorKind::ConnectionRefused => (
            ErrorKind::ConnectionRefused,
            format!("connection refused by {to}"),
        ),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => (
            ErrorKind::ConnectionReset,
            format!("connection reset by {to}"),
        ),
        io::ErrorKind::HostUnreachable => (
            ErrorKind::Unreachable,
            format!("{to} is unreachable (no route to host)"),
        ),
        io::ErrorKind::NetworkUnreachable => (
            ErrorKind::Unreachable,
            format!("{to} is unreachable (network unreachable)"),
        ),
        io::ErrorKind::TimedOut => (ErrorKind::Timeout, format!("connection to {to} timed out")),
        _ => (
            ErrorKind::ConnectFailed,
            format!("connection to {to} failed"),
        ),
    };
    Failure::new(Phase::Connect, kind, message)
        .with(REMOTE_ADDR, addr.to_string())
        .caused_by(error)
}

/// The connect timed out trying `addr` for `host`.
pub(crate) fn connect_timeout(host: &str, addr: SocketAddr, timeout: Duration) -> Failure {
    Failure::timeout(Phase::Connect, &peer(host, addr), timeout).with(REMOTE_ADDR, addr.to_string())
}

// ---- TLS -------------------------------------------------------------------

/// A TLS handshake with `host` that failed (rustls errors arrive inside
/// the io::Error tokio-rustls returns).
pub(crate) fn tls_handshake(host: &str, error: &io::Error) -> Failure {
    use rustls::Error as E;
    let why = match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(E::AlertReceived(alert)) => match alert.as_str() {
            Some(name) => format!(", the server sent the alert \"{}\"", words(name)),
            None => ", the server sent an alert".to_owned(),
        },
        Some(E::PeerIncompatible(_)) => {
            ", the server shares no TLS version or cipher suite with us".to_owned()
        }
        Some(E::NoApplicationProtocol) => {
            ", the server shares no application protocol (ALPN) with us".to_owned()
        }
        Some(
            E::InvalidMessage(_)
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::PeerMisbehaved(_),
        ) => ", the server's answer is not valid TLS".to_owned(),
        Some(_) => String::new(),
        None => match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => ", the server closed the connection".to_owned(),
            _ => String::new(),
        },
    };
    Failure::new(
        Phase::Tls,
        ErrorKind::TlsHandshakeFailed,
        format!("TLS: handshake with {host} failed{why}"),
    )
    .caused_by(error)
}

/// "HandshakeFailure" -> "handshake failure".
fn words(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The certificate `host` presented failed verification; `names` are the
/// names the certificate is for (its subject alternative names).
pub(crate) fn certificate(host: &str, error: &rustls::Error, names: &[String]) -> Failure {
    use rustls::{CertificateError as C, Error as E};
    let (kind, message) = match error {
        E::InvalidCertificate(cert) => match cert {
            C::ExpiredContext { time, not_after } => {
                let (now, end) = (unix(*time), unix(*not_after));
                let ago = (now - end).div_euclid(86_400);
                let ago = if ago < 1 {
                    "less than a day ago".to_owned()
                } else {
                    format!("{} ago", days(ago))
                };
                (
                    ErrorKind::TlsExpired,
                    format!(
                        "TLS: certificate for {host} expired {ago} (on {})",
                        date(end)
                    ),
                )
            }
            C::Expired => (
                ErrorKind::TlsExpired,
                format!("TLS: certificate for {host} has expired"),
            ),
            C::NotValidYetContext { not_before, .. } => (
                ErrorKind::TlsNotYetValid,
                format!(
                    "TLS: certificate for {host} is not valid until {}",
                    date(unix(*not_before))
                ),
            ),
            C::NotValidYet => (
                ErrorKind::TlsNotYetValid,
                format!("TLS: certificate for {host} is not valid yet"),
            ),
            C::UnknownIssuer => (
                ErrorKind::TlsUntrusted,
                format!("TLS: certificate for {host} is not trusted (unknown issuer)"),
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                (ErrorKind::TlsNameMismatch, name_mismatch(host, names))
            }
            C::Revoked => (
                ErrorKind::TlsRevoked,
                format!("TLS: certificate for {host} is revoked"),
            ),
            C::BadSignature => (
                ErrorKind::TlsBadSignature,
                format!("TLS: certificate for {host} has an invalid signature"),
            ),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
                ErrorKind::TlsInvalidCertificate,
                format!("TLS: certificate for {host} is not meant for a server"),
            ),
            _ => (
                ErrorKind::TlsInvalidCertificate,
                format!("TLS: certificate for {host} is invalid"),
            ),
        },
        _ => (
            ErrorKind::TlsInvalidCertificate,
            format!("TLS: certificate for {host} could not be verified"),
        ),
    };
    Failure::new(Phase::Tls, kind, message).caused_by(error)
}

fn unix(time: rustls::pki_types::UnixTime) -> i64 {
    i64::try_from(time.as_secs()).unwrap_or(i64::MAX)
}

/// Names shown in a mismatch; more are summed up.
const NAMES_SHOWN: usize = 3;

fn name_mismatch(host: &str, names: &[String]) -> String {
    match names {
        [] => format!("TLS: certificate is not for {host} (it names no host)"),
        names if names.len() > NAMES_SHOWN => format!(
            "TLS: certificate is for {} and {} more, not {host}",
            names[..NAMES_SHOWN].join(", "),
            names.len() - NAMES_SHOWN
        ),
        names => format!("TLS: certificate is for {}, not {host}", or_list(names)),
    }
}

/// The certificate expires within the warning period.
pub(crate) fn certificate_expiring(
    host: &str,
    days_remaining: i64,
    not_after: i64,
    warn_days: u32,
) -> String {
    let within = if days_remaining < 1 {
        "less than a day".to_owned()
    } else {
        days(days_remaining)
    };
    format!(
        "TLS: certificate for {host} expires in {within} (on {}), within the {warn_days}-day warning period",
        date(not_after)
    )
}

// ---- HTTP ------------------------------------------------------------------

/// "HTTP 503 Service Unavailable, expected 2xx".
pub(crate) fn status_mismatch(code: u16, expected: &ExpectedStatus) -> String {
    let reason = hyper::StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason());
    let expected = match expected {
        ExpectedStatus::List(codes) => {
            or_list(&codes.iter().map(u16::to_string).collect::<Vec<_>>())
        }
        other => other.to_string(),
    };
    match reason {
        Some(reason) => format!("HTTP {code} {reason}, expected {expected}"),
        None => format!("HTTP {code}, expected {expected}"),
    }
}

/// "1 MiB", "64 KiB", "100 bytes".
fn size_words(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The keyword is missing; `cut_at` is the read limit when the body was cut there.
pub(crate) fn keyword_missing(word: &str, cut_at: Option<usize>) -> String {
    match cut_at {
        Some(limit) => format!(
            "keyword \"{word}\" not found in the first {} of the body",
            size_words(limit)
        ),
        None => format!("keyword \"{word}\" not found in the body"),
    }
}

/// The keyword is in the body of a monitor that expects it absent.
pub(crate) fn keyword_present(word: &str) -> String {
    format!("keyword \"{word}\" found in the body, expected absent")
}

/// How an HTTP exchange broke, from hyper's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpBreak {
    HeadTooLarge,
    BadStatusLine,
    NotHttp,
    /// The peer closed before the message was complete.
    Closed,
    Reset,
    Other,
}

impl HttpBreak {
    pub fn of(error: &hyper::Error) -> Self {
        if error.is_parse() && error.to_string().contains("too large") {
            HttpBreak::HeadTooLarge
        } else if error.is_parse_status() {
            HttpBreak::BadStatusLine
        } else if error.is_parse() {
            HttpBreak::NotHttp
        } else if error.is_incomplete_message() || error.is_closed() || error.is_canceled() {
            HttpBreak::Closed
        } else if io_kind(error).is_some_and(|kind| {
            matches!(
                kind,
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            )
        }) {
            HttpBreak::Reset
        } else {
            HttpBreak::Other
        }
    }
}

/// The kind of the first io::Error among the causes of `error`.
fn io_kind(error: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    causes(error).find_map(|cause| cause.downcast_ref::<io::Error>().map(io::Error::kind))
}

/// An HTTP exchange with `authority` that broke in `phase` (waiting for the
/// response head, or reading the body).
pub(crate) fn http_break(phase: Phase, authority: &str, how: HttpBreak) -> Failure {
    let reading_body = phase == Phase::Body;
    let (kind, message) = match how {
        HttpBreak::HeadTooLarge => (
            ErrorKind::HttpInvalidResponse,
            format!("HTTP: the response head from {authority} is too large"),
        ),
        HttpBreak::BadStatusLine => (
            ErrorKind::HttpInvalidResponse,
            format!("HTTP: the response from {authority} has an invalid status line"),
        ),
        HttpBreak::NotHttp => (
            ErrorKind::HttpInvalidResponse,
            format!("HTTP: the response from {authority} is not valid HTTP"),
        ),
        HttpBreak::Closed if reading_body => (
            ErrorKind::HttpConnectionClosed,
            format!("HTTP: {authority} closed the connection before the body was complete"),
        ),
        HttpBreak::Closed => (
            ErrorKind::HttpConnectionClosed,
            format!("HTTP: {authority} closed the connection without a response"),
        ),
        HttpBreak::Reset => (
            ErrorKind::ConnectionReset,
            format!("HTTP: connection reset by {authority}"),
        ),
        HttpBreak::Other if reading_body => (
            ErrorKind::HttpFailed,
            format!("HTTP: reading the body from {authority} failed"),
        ),
        HttpBreak::Other => (
            ErrorKind::HttpFailed,
            format!("HTTP: the request to {authority} failed"),
        ),
    };
    Failure::new(phase, kind, message)
}

/// An HTTP exchange with `authority` that failed with hyper's `error`.
pub(crate) fn http(phase: Phase, authority: &str, error: &hyper::Error) -> Failure {
    http_break(phase, authority, HttpBreak::of(error)).caused_by(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::{Name, RecordType};
    use rustls::pki_types::UnixTime;
    use rustls::CertificateError as C;

    /// What no message a person reads may contain: Rust debug formatting,
    /// type names or paths, and a trailing period.
    fn assert_plain(message: &str) {
        for dump in ["{", "}", "Query", "Name(", "::", "Error(", "Some(", "\\\""] {
            assert!(!message.contains(dump), "{message:?} contains {dump:?}");
        }
        assert!(!message.ends_with('.'), "{message:?} ends with a period");
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    fn no_records(name: &str, kind: RecordType, code: ResponseCode) -> NetError {
        let name = Name::from_ascii(name).expect("a DNS name");
        NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name, kind),
            code,
        )))
    }

    #[test]
    fn dns_failures_read_as_sentences_and_keep_the_rcode() {
        let resolver = Some(addr("10.0.0.53:53"));
        let waited = Duration::from_millis(6003);
        let cases = [
            (
                no_records("example.com.", RecordType::AAAA, ResponseCode::NXDomain),
                None,
                "DNS: example.com does not exist (NXDOMAIN)",
                "dns_nxdomain",
                Some("NXDOMAIN"),
            ),
            (
                no_records("example.com.", RecordType::AAAA, ResponseCode::NoError),
                None,
                "DNS: example.com has no AAAA record (NOERROR, empty answer)",
                "dns_no_records",
                Some("NOERROR"),
            ),
            (
                no_records("example.com.", RecordType::AAAA, ResponseCode::Refused),
                None,
                "DNS: example.com has no AAAA record (REFUSED)",
                "dns_no_records",
                Some("REFUSED"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)),
                resolver,
                "DNS: the resolver 10.0.0.53:53 answered SERVFAIL for example.com",
                "dns_server_error",
                Some("SERVFAIL"),
            ),
            (
                NetError::Timeout,
                resolver,
                "DNS: the resolver 10.0.0.53:53 did not answer for example.com within 6 s",
                "timeout",
                None,
            ),
            (
                NetError::from(io::Error::from(io::ErrorKind::ConnectionRefused)),
                None,
                "DNS: the resolver could not be reached to look up example.com",
                "dns_unreachable",
                None,
            ),
            (
                NetError::NoConnections,
                resolver,
                "DNS: the resolver 10.0.0.53:53 could not be reached to look up example.com",
                "dns_unreachable",
                None,
            ),
            (
                NetError::Truncated,
                None,
                "DNS: the answer from the resolver for example.com could not be read",
                "dns_failed",
                None,
            ),
            (
                NetError::Msg("odd".to_owned()),
                None,
                "DNS: lookup of example.com failed",
                "dns_failed",
                None,
            ),
        ];
        for (error, resolver, message, kind, rcode) in cases {
            let failure = dns_lookup("example.com.", "AAAA", resolver, waited, &error);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind.as_str(), kind, "{message}");
            assert_eq!(failure.phase, Phase::Dns);
            assert_eq!(
                failure.details.get(RCODE).and_then(Value::as_str),
                rcode,
                "{message}"
            );
            // The library's own text is kept, except where it is a debug
            // dump that the rcode already says better.
            assert_eq!(
                failure.details.contains_key(ERROR_DETAIL),
                rcode.is_none() && kind != "timeout",
                "{message}: {:?}",
                failure.details
            );
        }
        assert_eq!(
            dns_no_address("example.com").message,
            "DNS: example.com has no A or AAAA record"
        );
        assert_eq!(
            dns_mismatch(
                "multi.test",
                "A",
                &["10.0.0.9"],
                &["10.0.0.1".into(), "10.0.0.2".into()]
            ),
            "DNS: expected 10.0.0.9 in the A answer for multi.test, got 10.0.0.1, 10.0.0.2"
        );
        assert_eq!(
            dns_mismatch("txt.test.", "TXT", &["a", "b", "c"], &["d".into()]),
            "DNS: expected a, b or c in the TXT answer for txt.test, got d"
        );
    }

    #[test]
    fn connect_failures_name_the_address_and_keep_the_os_error() {
        let to = addr("10.0.0.5:443");
        let cases = [
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(111),
                "connection refused by 10.0.0.5:443",
                "connection_refused",
            ),
            (
                "example.com",
                io::Error::from_raw_os_error(111),
                "connection refused by example.com (10.0.0.5:443)",
                "connection_refused",
            ),
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(104),
                "connection reset by 10.0.0.5:443",
                "connection_reset",
            ),
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(113),
                "10.0.0.5:443 is unreachable (no route to host)",
                "unreachable",
            ),
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(101),
                "10.0.0.5:443 is unreachable (network unreachable)",
                "unreachable",
            ),
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(110),
                "connection to 10.0.0.5:443 timed out",
                "timeout",
            ),
            (
                "10.0.0.5",
                io::Error::from_raw_os_error(13),
                "connection to 10.0.0.5:443 failed",
                "connect_failed",
            ),
        ];
        for (host, error, message, kind) in cases {
            let failure = connect(host, to, &error);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind.as_str(), kind, "{message}");
            assert_eq!(failure.details[REMOTE_ADDR], "10.0.0.5:443");
            assert_eq!(
                failure.details[OS_ERROR],
                error.raw_os_error().expect("an OS error")
            );
            assert_eq!(failure.details[ERROR_DETAIL], error.to_string());
        }
        let ipv6 = connect(
            "::1",
            addr("[::1]:8080"),
            &io::Error::from_raw_os_error(111),
        );
        assert_eq!(ipv6.message, "connection refused by [::1]:8080");
    }

    #[test]
    fn timeouts_name_what_they_interrupted() {
        let ten = Duration::from_secs(10);
        let cases = [
            (
                Phase::Dns,
                "DNS: the resolver did not answer for example.com within 10 s",
            ),
            (
                Phase::Connect,
                "connection to example.com timed out after 10 s",
            ),
            (
                Phase::Tls,
                "TLS: handshake with example.com timed out after 10 s",
            ),
            (
                Phase::Ttfb,
                "HTTP: no response from example.com within 10 s",
            ),
            (
                Phase::Body,
                "HTTP: reading the body from example.com timed out after 10 s",
            ),
        ];
        for (phase, message) in cases {
            let failure = Failure::timeout(phase, "example.com", ten);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind, ErrorKind::Timeout);
            assert_eq!(failure.details[TIMEOUT_MS], 10_000);
            let mut details = Map::new();
            assert_eq!(failure.record(&mut details), message);
            assert_eq!(details[ERROR_KIND], "timeout");
            assert_eq!(details[ERROR_PHASE], phase.as_str());
        }
        assert_eq!(
            connect_timeout("10.0.0.5", addr("10.0.0.5:443"), ten).message,
            "connection to 10.0.0.5:443 timed out after 10 s"
        );
        assert_eq!(duration_words(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(duration_words(Duration::from_millis(250)), "250 ms");
    }

    fn at(unix: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(unix))
    }

    #[test]
    fn certificate_failures_say_what_is_wrong_in_words() {
        // 2026-11-27T00:00:00Z and three and a half days later.
        let end: u64 = 1_795_737_600;
        let now = end + 3 * 86_400 + 43_200;
        let names = ["www.example.org".to_owned()];
        let cases: Vec<(rustls::Error, &[String], &str, &str)> = vec![
            (
                C::ExpiredContext {
                    time: at(now),
                    not_after: at(end),
                }
                .into(),
                &[],
                "TLS: certificate for example.com expired 3 days ago (on 2026-11-27)",
                "tls_expired",
            ),
            (
                C::ExpiredContext {
                    time: at(end + 60),
                    not_after: at(end),
                }
                .into(),
                &[],
                "TLS: certificate for example.com expired less than a day ago (on 2026-11-27)",
                "tls_expired",
            ),
            (
                C::Expired.into(),
                &[],
                "TLS: certificate for example.com has expired",
                "tls_expired",
            ),
            (
                C::NotValidYetContext {
                    time: at(end - 86_400),
                    not_before: at(end),
                }
                .into(),
                &[],
                "TLS: certificate for example.com is not valid until 2026-11-27",
                "tls_not_yet_valid",
            ),
            (
                C::UnknownIssuer.into(),
                &[],
                "TLS: certificate for example.com is not trusted (unknown issuer)",
                "tls_untrusted",
            ),
            (
                C::NotValidForName.into(),
                &names,
                "TLS: certificate is for www.example.org, not example.com",
                "tls_name_mismatch",
            ),
            (
                C::NotValidForName.into(),
                &[],
                "TLS: certificate is not for example.com (it names no host)",
                "tls_name_mismatch",
            ),
            (
                C::Revoked.into(),
                &[],
                "TLS: certificate for example.com is revoked",
                "tls_revoked",
            ),
            (
                C::BadSignature.into(),
                &[],
                "TLS: certificate for example.com has an invalid signature",
                "tls_bad_signature",
            ),
            (
                C::BadEncoding.into(),
                &[],
                "TLS: certificate for example.com is invalid",
                "tls_invalid_certificate",
            ),
            (
                rustls::Error::General("odd".to_owned()),
                &[],
                "TLS: certificate for example.com could not be verified",
                "tls_invalid_certificate",
            ),
        ];
        for (error, names, message, kind) in cases {
            let failure = certificate("example.com", &error, names);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind.as_str(), kind, "{message}");
            assert_eq!(failure.phase, Phase::Tls);
            assert_eq!(failure.details[ERROR_DETAIL], error.to_string());
        }
        let many: Vec<String> = ["a.test", "b.test", "c.test", "d.test", "e.test"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            name_mismatch("x.test", &many),
            "TLS: certificate is for a.test, b.test, c.test and 2 more, not x.test"
        );
        assert_eq!(
            name_mismatch("x.test", &many[..2]),
            "TLS: certificate is for a.test or b.test, not x.test"
        );
        assert_eq!(
            certificate_expiring("example.com", 5, 1_795_737_600, 14),
            "TLS: certificate for example.com expires in 5 days (on 2026-11-27), \
             within the 14-day warning period"
        );
        assert_eq!(
            certificate_expiring("example.com", 0, 1_795_737_600, 1),
            "TLS: certificate for example.com expires in less than a day (on 2026-11-27), \
             within the 1-day warning period"
        );
    }

    #[test]
    fn tls_handshake_failures_say_why_when_known() {
        use rustls::{AlertDescription, Error as E, PeerIncompatible};
        let cases = [
            (
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    E::AlertReceived(AlertDescription::HandshakeFailure),
                ),
                "TLS: handshake with example.com failed, the server sent the alert \"handshake failure\"",
            ),
            (
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    E::PeerIncompatible(PeerIncompatible::Tls12NotOffered),
                ),
                "TLS: handshake with example.com failed, the server shares no TLS version or \
                 cipher suite with us",
            ),
            (
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                ),
                "TLS: handshake with example.com failed, the server's answer is not valid TLS",
            ),
            (
                io::Error::from(io::ErrorKind::UnexpectedEof),
                "TLS: handshake with example.com failed, the server closed the connection",
            ),
            (
                io::Error::new(io::ErrorKind::InvalidData, E::General("odd".to_owned())),
                "TLS: handshake with example.com failed",
            ),
        ];
        for (error, message) in cases {
            let failure = tls_handshake("example.com", &error);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind, ErrorKind::TlsHandshakeFailed);
            assert!(failure.details.contains_key(ERROR_DETAIL));
        }
    }

    #[test]
    fn http_failures_name_the_host_and_what_broke() {
        let cases = [
            (
                Phase::Ttfb,
                HttpBreak::HeadTooLarge,
                "HTTP: the response head from example.com is too large",
                "http_invalid_response",
            ),
            (
                Phase::Ttfb,
                HttpBreak::BadStatusLine,
                "HTTP: the response from example.com has an invalid status line",
                "http_invalid_response",
            ),
            (
                Phase::Ttfb,
                HttpBreak::NotHttp,
                "HTTP: the response from example.com is not valid HTTP",
                "http_invalid_response",
            ),
            (
                Phase::Ttfb,
                HttpBreak::Closed,
                "HTTP: example.com closed the connection without a response",
                "http_connection_closed",
            ),
            (
                Phase::Body,
                HttpBreak::Closed,
                "HTTP: example.com closed the connection before the body was complete",
                "http_connection_closed",
            ),
            (
                Phase::Ttfb,
                HttpBreak::Reset,
                "HTTP: connection reset by example.com",
                "connection_reset",
            ),
            (
                Phase::Ttfb,
                HttpBreak::Other,
                "HTTP: the request to example.com failed",
                "http_failed",
            ),
            (
                Phase::Body,
                HttpBreak::Other,
                "HTTP: reading the body from example.com failed",
                "http_failed",
            ),
        ];
        for (phase, how, message, kind) in cases {
            let failure = http_break(phase, "example.com", how);
            assert_eq!(failure.message, message);
            assert_plain(&failure.message);
            assert_eq!(failure.kind.as_str(), kind, "{message}");
        }
    }

    #[test]
    fn status_and_keyword_failures_read_as_sentences() {
        let cases = [
            (
                503,
                ExpectedStatus::Class(2),
                "HTTP 503 Service Unavailable, expected 2xx",
            ),
            (
                404,
                ExpectedStatus::Code(200),
                "HTTP 404 Not Found, expected 200",
            ),
            (
                500,
                ExpectedStatus::List(vec![200, 204, 418]),
                "HTTP 500 Internal Server Error, expected 200, 204 or 418",
            ),
            (
                599,
                ExpectedStatus::Range(200, 399),
                "HTTP 599, expected 200-399",
            ),
        ];
        for (code, expected, message) in cases {
            assert_eq!(status_mismatch(code, &expected), message);
            assert_plain(message);
        }
        assert_eq!(
            keyword_missing("ok", None),
            "keyword \"ok\" not found in the body"
        );
        assert_eq!(
            keyword_missing("ok", Some(64 * 1024)),
            "keyword \"ok\" not found in the first 64 KiB of the body"
        );
        assert_eq!(
            keyword_missing("ok", Some(1024 * 1024)),
            "keyword \"ok\" not found in the first 1 MiB of the body"
        );
        assert_eq!(
            keyword_present("WORLD"),
            "keyword \"WORLD\" found in the body, expected absent"
        );
    }

    #[test]
    fn error_details_keep_every_cause_once() {
        let inner = io::Error::from_raw_os_error(111);
        let outer = io::Error::other(inner);
        let failure = Failure::new(Phase::Connect, ErrorKind::ConnectFailed, "x").caused_by(&outer);
        assert_eq!(
            failure.details[ERROR_DETAIL],
            io::Error::from_raw_os_error(111).to_string()
        );
        assert_eq!(failure.details[OS_ERROR], 111);
    }
}
