//! Name resolution, the target policy on resolved addresses, TCP connect and
//! the TLS handshake, each timed where it happens.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::failure::{self, ErrorKind, Failure};
use super::{add, millis, Budget, EngineOptions, Phase};
use crate::model::Timings;
use crate::target_policy::is_forbidden;

/// How long one DNS request may take before the resolver retries.
const DNS_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Network access shared by every check of one engine.
pub(crate) struct Net {
    resolver: TokioResolver,
    /// The name server targets are resolved with, when there is just one.
    name_server: Option<SocketAddr>,
    allow_private: bool,
    denied: Vec<IpAddr>,
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
}

/// Builds a resolver for `servers` (empty = the system configuration).
pub(crate) fn build_resolver(servers: &[SocketAddr]) -> anyhow::Result<TokioResolver> {
    let mut options = ResolverOpts::default();
    options.timeout = DNS_REQUEST_TIMEOUT;
    options.attempts = 1;
    if servers.is_empty() {
        return TokioResolver::builder_tokio()
            .map_err(|e| anyhow::anyhow!("reading the system resolver configuration: {e}"))?
            .with_options(options)
            .build()
            .map_err(|e| anyhow::anyhow!("building the resolver: {e}"));
    }
    let name_servers = servers
        .iter()
        .map(|addr| {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut ns.connections {
                connection.port = addr.port();
            }
            ns
        })
        .collect();
    options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    let config = ResolverConfig::from_parts(None, vec![], name_servers);
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|e| anyhow::anyhow!("building the resolver: {e}"))
}

impl Net {
    pub fn new(options: &EngineOptions) -> anyhow::Result<Self> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in &options.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| anyhow::anyhow!("an extra root certificate is invalid: {e}"))?;
        }
        Ok(Self {
            resolver: build_resolver(&options.name_servers)?,
            name_server: match options.name_servers.as_slice() {
                [one] => Some(*one),
                _ => None,
            },
            allow_private: options.allow_private_targets,
            denied: options.denied_addresses.clone(),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(roots),
        })
    }

    pub fn resolver(&self) -> &TokioResolver {
        &self.resolver
    }

    /// The one name server targets are resolved with, if set.
    pub fn name_server(&self) -> Option<SocketAddr> {
        self.name_server
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// Resolves `host` (an address is used as is) and keeps the addresses the
    /// target policy allows; refuses when none is left.
    pub async fn resolve(
        &self,
        host: &str,
        budget: &Budget,
        timings: &mut Timings,
    ) -> Result<Vec<IpAddr>, Failure> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !self.allow_private && crate::target_policy::is_loopback_name(host) {
            return Err(Failure::new(
                Phase::Connect,
                ErrorKind::TargetRefused,
                format!(
                    "refused: {host} is a loopback name, a private or reserved target (set ALLOW_PRIVATE_TARGETS=true to allow)"
                ),
            ));
        }
        let addresses: Vec<IpAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![ip]
        } else {
            let started = Instant::now();
            let lookup = budget.within(self.resolver.lookup_ip(host)).await;
            let waited = started.elapsed();
            add(&mut timings.dns_ms, millis(waited));
            match lookup {
                None => return Err(failure::dns_timeout(host, self.name_server, budget.timeout)),
                Some(Err(error)) => {
                    return Err(failure::dns_lookup(
                        host,
                        "A or AAAA",
                        self.name_server,
                        waited,
                        &error,
                    ))
                }
                Some(Ok(lookup)) => lookup.iter().collect(),
            }
        };
        if addresses.is_empty() {
            return Err(failure::dns_no_address(host));
        }
        let allowed: Vec<IpAddr> = addresses
            .iter()
            .copied()
            .filter(|ip| (self.allow_private || !is_forbidden(*ip)) && !self.denied.contains(ip))
            .collect();
        if allowed.is_empty() {
            return Err(Failure::new(
                Phase::Connect,
                ErrorKind::TargetRefused,
                if self.allow_private {
                    format!(
                        "refused: {host} resolves to {}, a denied address",
                        addresses[0]
                    )
                } else {
                    format!(
                        "refused: {host} resolves to {}, a private or reserved address \
                         (set ALLOW_PRIVATE_TARGETS=true to allow)",
                        addresses[0]
                    )
                },
            )
            .with("refusedAddress", addresses[0].to_string()));
        }
        Ok(allowed)
    }

    /// Resolves and connects to `host:port`, trying each allowed address in turn.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        budget: &Budget,
        timings: &mut Timings,
    ) -> Result<TcpStream, Failure> {
        let addresses = self.resolve(host, budget, timings).await?;
        let started = Instant::now();
        let mut last_error = None;
        for ip in addresses {
            let addr = SocketAddr::new(ip, port);
            match budget.within(TcpStream::connect(addr)).await {
                Some(Ok(stream)) => {
                    add(&mut timings.connect_ms, millis(started.elapsed()));
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Some(Err(error)) => {
                    last_error = Some(failure::connect(host, addr, &error));
                    if Instant::now() >= budget.deadline {
                        break;
                    }
                }
                None => {
                    last_error = Some(failure::connect_timeout(host, addr, budget.timeout));
                    break;
                }
            }
        }
        add(&mut timings.connect_ms, millis(started.elapsed()));
        Err(last_error.unwrap_or_else(|| failure::dns_no_address(host)))
    }

    /// Negotiates TLS over `stream` for `host` (certificate errors are
    /// recorded, not fatal, so the caller can report the certificate).
    pub async fn tls(
        &self,
        stream: TcpStream,
        host: &str,
        alpn: &[&[u8]],
        budget: &Budget,
        timings: &mut Timings,
    ) -> Result<(TlsStream<TcpStream>, Option<rustls::Error>), Failure> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(host.to_owned()).map_err(|_| {
            failure::invalid(
                Phase::Tls,
                format!("TLS: {host} is not a valid server name"),
            )
        })?;
        let unusable = |error: &(dyn std::error::Error + 'static)| {
            Failure::new(
                Phase::Tls,
                ErrorKind::TlsHandshakeFailed,
                "TLS: the client could not be set up",
            )
            .caused_by(error)
        };
        let verifier = Arc::new(
            RecordingVerifier::new(self.roots.clone(), self.provider.clone())
                .map_err(|e| unusable(&e))?,
        );
        let mut config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| unusable(&e))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.resumption = rustls::client::Resumption::disabled();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let started = Instant::now();
        let handshake = budget.within(connector.connect(server_name, stream)).await;
        add(&mut timings.tls_ms, millis(started.elapsed()));
        let stream = match handshake {
            Some(Ok(stream)) => stream,
            Some(Err(error)) => return Err(failure::tls_handshake(host, &error)),
            None => return Err(Failure::timeout(Phase::Tls, host, budget.timeout)),
        };
        let error = verifier
            .error
            .lock()
            .map(|mut e| e.take())
            .unwrap_or_default();
        Ok((stream, error))
    }
}

/// Wraps the WebPKI verifier; remembers its verdict instead of failing the
/// handshake, so a TLS check can still read and report the certificate.
/// Callers refuse to send anything over a connection with an error.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    error: Mutex<Option<rustls::Error>>,
}

impl RecordingVerifier {
    fn new(
        roots: Arc<RootCertStore>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, rustls::client::VerifierBuilderError> {
        Ok(Self {
            inner: WebPkiServerVerifier::builder_with_provider(roots, provider).build()?,
            error: Mutex::new(None),
        })
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Err(error) = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            if let Ok(mut slot) = self.error.lock() {
                *slot = Some(error);
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Whether `host` is a valid DNS host name (labels of letters, digits, `-`, `_`).
pub fn is_valid_hostname(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Splits `host:port` (IPv6 in brackets); the host must be a name or address.
pub fn split_host_port(target: &str) -> Option<(String, u16)> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return (addr.port() != 0).then(|| (addr.ip().to_string(), addr.port()));
    }
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    is_valid_hostname(host).then(|| (host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_accepts_names_and_addresses() {
        assert_eq!(
            split_host_port("db.example.com:5432"),
            Some(("db.example.com".into(), 5432))
        );
        assert_eq!(
            split_host_port("[2001:db8::1]:443"),
            Some(("2001:db8::1".into(), 443))
        );
        assert_eq!(split_host_port("1.2.3.4:80"), Some(("1.2.3.4".into(), 80)));
        assert_eq!(split_host_port("example.com"), None);
        assert_eq!(split_host_port("example.com:0"), None);
        assert_eq!(split_host_port("example.com:99999"), None);
        assert_eq!(split_host_port("http://x:80"), None);
    }

    #[test]
    fn host_names_are_validated_label_by_label() {
        assert!(is_valid_hostname("example.com"));
        assert!(is_valid_hostname("a-b.example.com."));
        assert!(!is_valid_hostname("-bad.example.com"));
        assert!(!is_valid_hostname("a..b"));
        assert!(!is_valid_hostname("spaces are bad"));
        assert!(!is_valid_hostname(""));
        assert!(!is_valid_hostname(&"a".repeat(64)));
    }
}
