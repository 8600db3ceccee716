//! TLS checks: handshake, then the leaf certificate read with x509-parser.

use chrono::{DateTime, Utc};
use rustls::pki_types::CertificateDer;
use serde_json::{json, Map, Value};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::failure::{self, ErrorKind, Failure, ERROR_DETAIL};
use super::net::{split_host_port, Net};
use super::{Budget, Phase, Verdict};
use crate::model::{CheckStatus, MonitorSpec, Timings};

/// Host and port of a TLS target: `host`, `host:port` or `https://host[:port]`.
pub(crate) fn target(raw: &str) -> Option<(String, u16)> {
    if raw.starts_with("https://") {
        let url = url::Url::parse(raw).ok()?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        return Some((host.to_owned(), url.port().unwrap_or(443)));
    }
    if let Some(pair) = split_host_port(raw) {
        return Some(pair);
    }
    Some((raw.to_owned(), 443))
}

pub(crate) async fn check(
    net: &Net,
    spec: &MonitorSpec,
    warn_days: u32,
    budget: &Budget,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<Verdict, Failure> {
    let (host, port) = target(&spec.target).ok_or_else(|| {
        failure::invalid(
            Phase::Connect,
            format!("the TLS target {} is invalid", spec.target),
        )
    })?;
    let stream = net.connect(&host, port, budget, timings).await?;
    if let Ok(peer) = stream.peer_addr() {
        details.insert("remoteAddr".to_owned(), Value::String(peer.to_string()));
    }
    let (tls, error) = net.tls(stream, &host, &[], budget, timings).await?;
    let connection = tls.get_ref().1;
    if let Some(version) = connection.protocol_version() {
        details.insert(
            "tlsVersion".to_owned(),
            Value::String(format!("{version:?}").replace('_', ".")),
        );
    }
    let Some(leaf) = connection.peer_certificates().and_then(|c| c.first()) else {
        return Err(Failure::new(
            Phase::Tls,
            ErrorKind::TlsNoCertificate,
            format!("TLS: {host} sent no certificate"),
        ));
    };
    let (_, cert) = X509Certificate::from_der(leaf.as_ref()).map_err(|e| {
        Failure::new(
            Phase::Tls,
            ErrorKind::TlsInvalidCertificate,
            format!("TLS: the certificate from {host} could not be read"),
        )
        .with(ERROR_DETAIL, e.to_string())
    })?;
    let summary = summarize(&cert);
    details.insert("certificate".to_owned(), summary.json);
    if let Some(error) = error {
        return Err(failure::certificate(&host, &error, &summary.sans));
    }
    let mut verdict = Verdict::up();
    if summary.days_remaining < i64::from(warn_days) {
        details.insert("tlsExpiryWarnDays".to_owned(), Value::from(warn_days));
        verdict.not_up(
            CheckStatus::Degraded,
            ErrorKind::TlsExpiring,
            failure::certificate_expiring(
                &host,
                summary.days_remaining,
                summary.not_after,
                warn_days,
            ),
        );
    }
    Ok(verdict)
}

/// The names a certificate is for (its subject alternative names), or
/// none when it cannot be read.
pub(crate) fn certificate_names(leaf: &CertificateDer<'_>) -> Vec<String> {
    X509Certificate::from_der(leaf.as_ref())
        .map(|(_, cert)| subject_alt_names(&cert))
        .unwrap_or_default()
}

struct Summary {
    json: Value,
    sans: Vec<String>,
    /// Unix time of notAfter.
    not_after: i64,
    days_remaining: i64,
}

fn summarize(cert: &X509Certificate<'_>) -> Summary {
    let not_before = DateTime::<Utc>::from_timestamp(cert.validity().not_before.timestamp(), 0);
    let not_after_ts = cert.validity().not_after.timestamp();
    let not_after = DateTime::<Utc>::from_timestamp(not_after_ts, 0);
    let days_remaining = (not_after_ts - Utc::now().timestamp()).div_euclid(86_400);
    let sans = subject_alt_names(cert);
    Summary {
        json: json!({
            "subject": cert.subject().to_string(),
            "issuer": cert.issuer().to_string(),
            "sans": sans,
            "notBefore": not_before,
            "notAfter": not_after,
            "daysRemaining": days_remaining,
            "serial": cert.raw_serial_as_string(),
        }),
        sans,
        not_after: not_after_ts,
        days_remaining,
    }
}

fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut sans = Vec::new();
    if let Ok(Some(extension)) = cert.subject_alternative_name() {
        for name in &extension.value.general_names {
            match name {
                GeneralName::DNSName(dns) => sans.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    sans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_targets_accept_three_forms() {
        assert_eq!(target("example.com"), Some(("example.com".into(), 443)));
        assert_eq!(
            target("example.com:8443"),
            Some(("example.com".into(), 8443))
        );
        assert_eq!(
            target("https://example.com:9443/path"),
            Some(("example.com".into(), 9443))
        );
        assert_eq!(target("https://[::1]"), Some(("::1".into(), 443)));
    }
}
