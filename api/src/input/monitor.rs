//! Validating a monitor body (create, replace, or a patch merged onto the current one).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde_json::Value;
use shared::model::monitor::{
    DnsRecordType, ExpectedStatus, KeywordMode, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_INTERVAL_SECONDS, DEFAULT_RECOVERY_THRESHOLD, INTERVAL_RANGE, THRESHOLD_RANGE,
    TIMEOUT_RANGE,
};
use shared::model::{MonitorSpec, MonitorType};
use shared::target_policy;
use uuid::Uuid;

use super::{is_valid_hostname, split_host_port, Fields};
use crate::error::ApiError;

/// HTTP methods a monitor may use.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Fields of a monitor that only the server sets.
pub const READ_ONLY: [&str; 6] = [
    "id",
    "status",
    "lastCheckedAt",
    "consecutiveFailures",
    "createdAt",
    "updatedAt",
];
const MAX_NAME: usize = 200;
const MAX_TARGET: usize = 2048;
const MAX_BODY: usize = 65_536;
const MAX_HEADERS: usize = 50;
const MAX_TAGS: usize = 20;
const MAX_TAG_LEN: usize = 64;
const MAX_CHANNELS: usize = 50;
const MAX_KEYWORD: usize = 1024;
const MAX_DNS_EXPECTED: usize = 20;
const DEGRADED_THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=300_000;
const WARN_DAYS_RANGE: std::ops::RangeInclusive<u32> = 0..=365;

const HTTP_FIELDS: [&str; 5] = [
    "method",
    "headers",
    "body",
    "expectedStatus",
    "followRedirects",
];
const KEYWORD_FIELDS: [&str; 3] = ["keyword", "keywordMode", "keywordCaseSensitive"];
const DNS_FIELDS: [&str; 3] = ["dnsRecordType", "dnsExpected", "dnsResolver"];
const TLS_FIELDS: [&str; 1] = ["tlsExpiryWarnDays"];

/// What validation needs from the configuration.
pub struct Rules {
    pub default_timeout_seconds: u32,
    pub allow_private_targets: bool,
}

/// Validates a monitor body into a spec, including the address policy of its
/// target. Every problem is reported at once as a 422.
pub async fn parse(body: Value, rules: &Rules) -> Result<MonitorSpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let name = fields.required_string("name", MAX_NAME);
    let kind = match fields.take("type") {
        None => {
            fields.error("type", "is required");
            None
        }
        Some(Value::String(t)) => match t.parse::<MonitorType>() {
            Ok(kind) => Some(kind),
            Err(()) => {
                fields.error("type", "must be one of http, keyword, tcp, dns, tls");
                None
            }
        },
        Some(_) => {
            fields.error("type", "must be one of http, keyword, tcp, dns, tls");
            None
        }
    };
    let target = fields.required_string("target", MAX_TARGET);

    let interval_seconds = fields
        .u32_in("intervalSeconds", INTERVAL_RANGE)
        .unwrap_or(DEFAULT_INTERVAL_SECONDS);
    let timeout_given = fields.u32_in("timeoutSeconds", TIMEOUT_RANGE);
    let timeout_seconds =
        timeout_given.unwrap_or_else(|| rules.default_timeout_seconds.min(interval_seconds));
    if timeout_given.is_some_and(|t| t > interval_seconds) && !fields.has_error("intervalSeconds") {
        fields.error(
            "timeoutSeconds",
            format!("must not exceed intervalSeconds ({interval_seconds})"),
        );
    }
    let failure_threshold = fields
        .u32_in("failureThreshold", THRESHOLD_RANGE)
        .unwrap_or(DEFAULT_FAILURE_THRESHOLD);
    let recovery_threshold = fields
        .u32_in("recoveryThreshold", THRESHOLD_RANGE)
        .unwrap_or(DEFAULT_RECOVERY_THRESHOLD);
    let sla_target = parse_sla_target(&mut fields);
    let enabled = fields.bool("enabled").unwrap_or(true);
    let tags = parse_tags(&mut fields);
    let channel_ids = parse_channel_ids(&mut fields);

    let mut spec = MonitorSpec {
        name: name.unwrap_or_default(),
        kind: kind.unwrap_or(MonitorType::Http),
        target: target.clone().unwrap_or_default(),
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
        timeout_seconds,
        interval_seconds,
        failure_threshold,
        recovery_threshold,
        sla_target,
        enabled,
        tags,
        channel_ids,
    };

    // Any check slower than this (total time) is degraded, not up.
    spec.degraded_threshold_ms = fields.u32_in("degradedThresholdMs", DEGRADED_THRESHOLD_RANGE);
    if let Some(ms) = spec.degraded_threshold_ms {
        if u64::from(ms) >= u64::from(spec.timeout_seconds) * 1000 {
            fields.error(
                "degradedThresholdMs",
                format!(
                    "must be below the timeout ({} ms)",
                    spec.timeout_seconds * 1000
                ),
            );
        }
    }

    // Which address the check connects to, checked against the policy below.
    let mut policy_host: Option<(&'static str, String)> = None;
    if let Some(kind) = kind {
        let not_for = format!("does not apply to {} monitors", kind.as_str());
        if kind.is_http() {
            parse_http_fields(&mut fields, &mut spec);
            if let Some(target) = &target {
                policy_host = http_target_host(&mut fields, target).map(|h| ("target", h));
            }
        } else {
            HTTP_FIELDS.iter().for_each(|f| fields.refuse(f, &not_for));
        }
        if kind == MonitorType::Keyword {
            parse_keyword_fields(&mut fields, &mut spec);
        } else {
            KEYWORD_FIELDS
                .iter()
                .for_each(|f| fields.refuse(f, &not_for));
        }
        if kind == MonitorType::Dns {
            if let Some(target) = &target {
                if !is_valid_hostname(target) {
                    fields.error("target", "must be a hostname such as example.com");
                }
            }
            policy_host = parse_dns_fields(&mut fields, &mut spec).map(|h| ("dnsResolver", h));
        } else {
            DNS_FIELDS.iter().for_each(|f| fields.refuse(f, &not_for));
        }
        if kind == MonitorType::Tls {
            spec.tls_expiry_warn_days = fields.u32_in("tlsExpiryWarnDays", WARN_DAYS_RANGE);
            if let Some(target) = &target {
                policy_host = tls_target_host(&mut fields, target).map(|h| ("target", h));
            }
        } else {
            TLS_FIELDS.iter().for_each(|f| fields.refuse(f, &not_for));
        }
        if kind == MonitorType::Tcp {
            if let Some(target) = &target {
                match split_host_port(target) {
                    Some((host, _)) => policy_host = Some(("target", host)),
                    None => {
                        fields.error("target", "must be host:port, such as db.example.com:5432")
                    }
                }
            }
        }
    }

    if let Some((field, host)) = policy_host {
        if !fields.has_error(field) {
            if let Err(refused) =
                target_policy::check_host(&host, rules.allow_private_targets).await
            {
                fields.error(field, refused.to_string());
            }
        }
    }
    fields.finish(&READ_ONLY)?;
    Ok(spec)
}

/// A percentage above 0 and below 100 with at most three decimals, such as
/// 99.95; null or absent: no target.
fn parse_sla_target(fields: &mut Fields) -> Option<f64> {
    let value = fields.take("slaTarget")?;
    let valid = value.as_f64().filter(|target| {
        let thousandths = target * 1000.0;
        *target > 0.0 && *target < 100.0 && (thousandths - thousandths.round()).abs() < 1e-6
    });
    if valid.is_none() {
        fields.error(
            "slaTarget",
            "must be a percentage above 0 and below 100 with at most three decimals, such as 99.9",
        );
    }
    valid
}

fn parse_tags(fields: &mut Fields) -> Vec<String> {
    let mut tags = fields
        .string_list("tags", MAX_TAGS, MAX_TAG_LEN)
        .unwrap_or_default();
    tags.sort();
    tags.dedup();
    tags
}

fn parse_channel_ids(fields: &mut Fields) -> Vec<Uuid> {
    let raw = fields
        .string_list("channelIds", MAX_CHANNELS, 64)
        .unwrap_or_default();
    let mut ids = Vec::with_capacity(raw.len());
    for text in raw {
        match Uuid::parse_str(&text) {
            Ok(id) => ids.push(id),
            Err(_) => fields.error("channelIds", format!("{text:?} is not a channel id (UUID)")),
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

fn parse_http_fields(fields: &mut Fields, spec: &mut MonitorSpec) {
    let method = fields
        .string("method", 16)
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".to_owned());
    if !METHODS.contains(&method.as_str()) && !fields.has_error("method") {
        fields.error("method", format!("must be one of {}", METHODS.join(", ")));
    }
    if let Some(value) = fields.take("headers") {
        spec.headers = parse_headers(fields, value);
    }
    spec.body = fields.string("body", MAX_BODY).filter(|b| !b.is_empty());
    if spec.body.is_some() && matches!(method.as_str(), "GET" | "HEAD") {
        fields.error(
            "body",
            format!("is not sent with {method}; use POST, PUT or PATCH"),
        );
    }
    spec.expected_status = Some(match fields.take("expectedStatus") {
        None => ExpectedStatus::default(),
        Some(value) => ExpectedStatus::from_json(&value).unwrap_or_else(|| {
            fields.error(
                "expectedStatus",
                "must be a status code (200), a list ([200, 204]), a class (\"2xx\") or a range (\"200-299\")",
            );
            ExpectedStatus::default()
        }),
    });
    spec.follow_redirects = Some(fields.bool("followRedirects").unwrap_or(false));
    spec.method = Some(method);
}

fn parse_headers(fields: &mut Fields, value: Value) -> Option<BTreeMap<String, String>> {
    let Value::Object(map) = value else {
        fields.error(
            "headers",
            "must be an object of header names to string values",
        );
        return None;
    };
    if map.len() > MAX_HEADERS {
        fields.error(
            "headers",
            format!("must have at most {MAX_HEADERS} entries"),
        );
        return None;
    }
    let mut headers = BTreeMap::new();
    for (name, value) in map {
        let valid_name = !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let Some(value) = value.as_str().map(str::to_owned) else {
            fields.error("headers", format!("the value of {name:?} must be a string"));
            continue;
        };
        if !valid_name {
            fields.error("headers", format!("{name:?} is not a valid header name"));
        } else if value.len() > 8192 || value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            fields.error(
                "headers",
                format!(
                    "the value of {name:?} must be at most 8192 characters without line breaks"
                ),
            );
        } else {
            headers.insert(name, value);
        }
    }
    Some(headers).filter(|h| !h.is_empty())
}

fn parse_keyword_fields(fields: &mut Fields, spec: &mut MonitorSpec) {
    spec.keyword = fields.required_string("keyword", MAX_KEYWORD);
    spec.keyword_mode = Some(match fields.take("keywordMode") {
        None => KeywordMode::Contains,
        Some(Value::String(mode)) if mode.parse::<KeywordMode>().is_ok() => {
            mode.parse().unwrap_or(KeywordMode::Contains)
        }
        Some(_) => {
            fields.error("keywordMode", "must be contains or notContains");
            KeywordMode::Contains
        }
    });
    spec.keyword_case_sensitive = Some(fields.bool("keywordCaseSensitive").unwrap_or(true));
}

/// Validates the DNS fields; returns the resolver host to check against the policy.
fn parse_dns_fields(fields: &mut Fields, spec: &mut MonitorSpec) -> Option<String> {
    spec.dns_record_type = Some(match fields.take("dnsRecordType") {
        None => DnsRecordType::A,
        Some(Value::String(t)) if t.parse::<DnsRecordType>().is_ok() => {
            t.parse().unwrap_or(DnsRecordType::A)
        }
        Some(_) => {
            fields.error(
                "dnsRecordType",
                "must be one of A, AAAA, CNAME, MX, TXT, NS",
            );
            DnsRecordType::A
        }
    });
    spec.dns_expected = fields
        .string_list("dnsExpected", MAX_DNS_EXPECTED, 255)
        .filter(|values| !values.is_empty());
    let resolver = fields.string("dnsResolver", 64).filter(|r| !r.is_empty())?;
    let ip = resolver
        .parse::<SocketAddr>()
        .map(|addr| addr.ip())
        .or_else(|_| resolver.parse::<IpAddr>());
    match ip {
        Ok(ip) => {
            spec.dns_resolver = Some(resolver);
            Some(ip.to_string())
        }
        Err(_) => {
            fields.error(
                "dnsResolver",
                "must be an IP address, optionally with a port (1.1.1.1 or 1.1.1.1:53)",
            );
            None
        }
    }
}

/// Validates an http(s) URL target; returns its host.
fn http_target_host(fields: &mut Fields, target: &str) -> Option<String> {
    let Ok(url) = url::Url::parse(target) else {
        fields.error("target", "must be an http:// or https:// URL");
        return None;
    };
    if !matches!(url.scheme(), "http" | "https") {
        fields.error("target", "must be an http:// or https:// URL");
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        fields.error(
            "target",
            "must not carry credentials; send them in headers (Authorization) instead",
        );
        return None;
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => Some(host.to_owned()),
        _ => {
            fields.error("target", "must name a host");
            None
        }
    }
}

/// Validates a TLS target (host, host:port or https://host[:port]); returns its host.
fn tls_target_host(fields: &mut Fields, target: &str) -> Option<String> {
    let host = if target.starts_with("https://") {
        url::Url::parse(target)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    } else if let Some((host, _)) = split_host_port(target) {
        Some(host)
    } else if is_valid_hostname(target) || target.parse::<IpAddr>().is_ok() {
        Some(target.to_owned())
    } else {
        None
    };
    if host.is_none() {
        fields.error(
            "target",
            "must be host, host:port or https://host[:port], such as example.com:443",
        );
    }
    host
}
