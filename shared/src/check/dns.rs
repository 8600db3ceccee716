//! DNS checks: one query of one record type, through the engine's resolver
//! or the server the monitor names.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::net::{build_resolver, Net};
use super::{add, millis, Budget, Failure, Phase, Verdict};
use crate::model::{DnsRecordType, MonitorSpec, Timings};
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

fn rcode_error(error: &NetError) -> String {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
            match *response_code {
                ResponseCode::NXDomain => "dns: NXDOMAIN (the name does not exist)".to_owned(),
                ResponseCode::NoError => "dns: no records of this type (NOERROR)".to_owned(),
                code => format!("dns: no records ({})", rcode_name(code)),
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("dns: server answered {}", rcode_name(*code))
        }
        other => format!("dns: {other}"),
    }
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
    let resolver = match spec.dns_resolver.as_deref() {
        Some(raw) => {
            let addr = resolver_addr(raw)
                .ok_or_else(|| Failure::new(Phase::Dns, format!("invalid resolver {raw}")))?;
            if !net.allow_private() && is_forbidden(addr.ip()) {
                return Err(Failure::new(
                    Phase::Dns,
                    format!(
                        "refused: resolver {} is a private or reserved address \
                         (set ALLOW_PRIVATE_TARGETS=true to allow)",
                        addr.ip()
                    ),
                ));
            }
            details.insert("resolver".to_owned(), Value::String(addr.to_string()));
            own = build_resolver(&[addr]).map_err(|e| Failure::new(Phase::Dns, e.to_string()))?;
            &own
        }
        None => net.resolver(),
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
    let lookup =
        tokio::time::timeout_at(budget.deadline, resolver.lookup(name, record_type(kind))).await;
    add(&mut timings.dns_ms, millis(started.elapsed()));
    let lookup = match lookup {
        Err(_) => return Err(Failure::timeout(Phase::Dns, budget.timeout)),
        Ok(Err(error)) => {
            if let NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. }))
            | NetError::Dns(DnsError::ResponseCode(response_code)) = &error
            {
                details.insert(
                    "rcode".to_owned(),
                    Value::String(rcode_name(*response_code)),
                );
            }
            if matches!(error, NetError::Timeout) {
                return Err(Failure::timeout(Phase::Dns, budget.timeout));
            }
            return Ok(Verdict::down(rcode_error(&error)));
        }
        Ok(Ok(lookup)) => lookup,
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
    if answers.is_empty() {
        return Ok(Verdict::down("dns: no records of this type (NOERROR)"));
    }
    let got: Vec<String> = answers.iter().map(|a| normalize(a)).collect();
    let missing: Vec<&String> = spec
        .dns_expected
        .iter()
        .flatten()
        .filter(|want| !got.contains(&normalize(want)))
        .collect();
    if !missing.is_empty() {
        return Ok(Verdict::down(format!(
            "dns: expected {} not in the answer ({})",
            missing
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            answers.join(", ")
        )));
    }
    Ok(Verdict::up())
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
