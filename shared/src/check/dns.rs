//! DNS checks: one query of one record type, through the engine's resolver
//! or the server the monitor names.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::proto::rr::{RData, RecordType};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::failure::{self, ErrorKind, Failure};
use super::net::{build_resolver, Net};
use super::{add, millis, Budget, Phase, Verdict};
use crate::model::{CheckStatus, DnsRecordType, MonitorSpec, Timings};
use crate::target_policy::is_forbidden;

fn record_type(kind: DnsRecordType) -> RecordType {
    match kind {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Cname => RecordType::CNAME,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Txt => RecordType::TXT,
        DnsRecordType::Ns => RecordType::NS,
    }
}

/// The resolver address a monitor names: `ip` or `ip:port` (port 53 by default).
pub(crate) fn resolver_addr(raw: &str) -> Option<SocketAddr> {
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Some(addr);
    }
    raw.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

/// Lower-cases and drops a trailing dot, so answers compare as users write them.
fn normalize(value: &str) -> String {
    value.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn answer_text(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.to_string(),
        RData::AAAA(a) => a.to_string(),
        RData::CNAME(name) => name.to_string(),
        RData::NS(name) => name.to_string(),
        RData::MX(mx) => mx.to_string(),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect::<String>(),
        _ => return None,
    })
}

pub(crate) async fn check(
    net: &Net,
    spec: &MonitorSpec,
    budget: &Budget,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<Verdict, Failure> {
    let kind = spec.dns_record_type.unwrap_or(DnsRecordType::A);
    let own;
    let (resolver, server) = match spec.dns_resolver.as_deref() {
        Some(raw) => {
            let addr = resolver_addr(raw).ok_or_else(|| {
                failure::invalid(
                    Phase::Dns,
                    format!("DNS: the resolver address {raw} is invalid"),
                )
            })?;
            if !net.allow_private() && is_forbidden(addr.ip()) {
                return Err(Failure::new(
                    Phase::Dns,
                    ErrorKind::TargetRefused,
                    format!(
                        "refused: resolver {} is a private or reserved address \
                         (set ALLOW_PRIVATE_TARGETS=true to allow)",
                        addr.ip()
                    ),
                )
                .with("refusedAddress", addr.ip().to_string()));
            }
            details.insert("resolver".to_owned(), Value::String(addr.to_string()));
            own = build_resolver(&[addr]).map_err(|e| {
                Failure::new(
                    Phase::Dns,
                    ErrorKind::DnsFailed,
                    format!("DNS: a resolver for {addr} could not be set up"),
                )
                .caused_by(e.as_ref())
            })?;
            (&own, Some(addr))
        }
        None => (net.resolver(), net.name_server()),
    };
    details.insert(
        "recordType".to_owned(),
        Value::String(kind.as_str().to_owned()),
    );
    let name = if spec.target.ends_with('.') {
        spec.target.clone()
    } else {
        format!("{}.", spec.target)
    };
    let started = Instant::now();
    let lookup = budget
        .within(resolver.lookup(name.as_str(), record_type(kind)))
        .await;
    let waited = started.elapsed();
    add(&mut timings.dns_ms, millis(waited));
    let lookup = match lookup {
        None => return Err(failure::dns_timeout(&name, server, budget.timeout)),
        Some(Err(error)) => {
            return Err(failure::dns_lookup(
                &name,
                kind.as_str(),
                server,
                waited,
                &error,
            ))
        }
        Some(Ok(lookup)) => lookup,
    };
    let wanted = record_type(kind);
    let answers: Vec<String> = lookup
        .answers()
        .iter()
        .filter(|record| record.record_type() == wanted)
        .filter_map(|record| answer_text(&record.data))
        .collect();
    details.insert("rcode".to_owned(), Value::String("NOERROR".to_owned()));
    details.insert(
        "answers".to_owned(),
        Value::Array(answers.iter().cloned().map(Value::String).collect()),
    );
    let mut verdict = Verdict::up();
    if answers.is_empty() {
        // Records of other types only (a CNAME for an A query, say).
        verdict.not_up(
            CheckStatus::Down,
            ErrorKind::DnsNoRecords,
            failure::dns_empty_answer(&name, kind.as_str()),
        );
        return Ok(verdict);
    }
    let got: Vec<String> = answers.iter().map(|a| normalize(a)).collect();
    let missing: Vec<&str> = spec
        .dns_expected
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|want| !got.contains(&normalize(want)))
        .collect();
    if !missing.is_empty() {
        details.insert(
            "expectedMissing".to_owned(),
            Value::Array(missing.iter().map(|m| Value::from(*m)).collect()),
        );
        verdict.not_up(
            CheckStatus::Down,
            ErrorKind::DnsMismatch,
            failure::dns_mismatch(&name, kind.as_str(), &missing, &answers),
        );
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses_default_to_port_53() {
        assert_eq!(
            resolver_addr("1.1.1.1"),
            Some("1.1.1.1:53".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert_eq!(
            resolver_addr("127.0.0.1:5353").map(|a| a.port()),
            Some(5353)
        );
        assert_eq!(resolver_addr("[::1]:53").map(|a| a.port()), Some(53));
        assert_eq!(resolver_addr("dns.example"), None);
    }

    #[test]
    fn answers_compare_without_case_or_trailing_dot() {
        assert_eq!(normalize("Mail.Example.COM."), "mail.example.com");
    }
}
