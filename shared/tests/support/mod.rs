//! Local targets for check tests: an HTTP/HTTPS server (HTTP/1.1 and
//! HTTP/2), certificates made on the spot, and a small DNS responder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, UdpSocket};

/// A certificate authority made for one test.
pub struct TestCa {
    pub cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate chain and key a test server presents.
#[derive(Clone)]
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
}

fn ymd(date: chrono::NaiveDate) -> (i32, u8, u8) {
    use chrono::Datelike;
    (date.year(), date.month() as u8, date.day() as u8)
}

impl TestCa {
    pub fn new() -> Self {
        Self::named("UpTime Test CA")
    }

    /// A CA with its own common name (issuer lookup is by name).
    pub fn named(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `names`, valid from yesterday until `days` from now
    /// (negative = already expired).
    pub fn leaf(&self, names: &[&str], days: i64) -> ServerCert {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let today = chrono::Utc::now().date_naive();
        let (by, bm, bd) = ymd(today - chrono::Duration::days(if days < 0 { 400 } else { 1 }));
        let (ay, am, ad) = ymd(today + chrono::Duration::days(days));
        params.not_before = date_time_ymd(by, bm, bd);
        params.not_after = date_time_ymd(ay, am, ad);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone(), self.cert.clone()],
            key: Arc::new(PrivatePkcs8KeyDer::from(key.serialize_der()).into()),
        }
    }
}

/// A self-signed certificate nobody trusts.
pub fn untrusted(names: &[&str]) -> ServerCert {
    TestCa::named("Unknown Stranger CA").leaf(names, 365)
}

/// Requests seen by a test server, and the switch of its `/flaky` route.
#[derive(Debug, Default)]
pub struct Hits {
    pub count: AtomicUsize,
    /// Requests per path (without the query).
    pub paths: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    /// When true, `/flaky/...` answers 500.
    pub failing: std::sync::atomic::AtomicBool,
}

impl Hits {
    pub fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Requests seen for `path`.
    pub fn path(&self, path: &str) -> usize {
        self.paths.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Makes `/flaky/...` fail (true) or succeed (false).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

/// Starts the test HTTP server (HTTPS when `cert` is given) on 127.0.0.1.
///
/// Routes: `/ok[/...]` (200 "hello world"), `/flaky/...` (500 while
/// failing is set), `/status/{code}`, `/slow/{ms}[/...]`,
/// `/redirect?to=URL` (302), `/loop` (302 to itself), `/echo` (the method,
/// the `x-probe` header and the body), `/big` (2 MiB of "a" then "needle").
pub async fn http_server(cert: Option<ServerCert>) -> (SocketAddr, Arc<Hits>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Hits::default());
    let acceptor = cert.map(|cert| {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain.clone(), cert.key.clone_key())
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    counter.count.fetch_add(1, Ordering::SeqCst);
                    *counter
                        .paths
                        .lock()
                        .unwrap()
                        .entry(req.uri().path().to_owned())
                        .or_default() += 1;
                    let failing = counter.failing.load(Ordering::SeqCst);
                    route(req, failing)
                });
                let builder = Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    (addr, hits)
}

async fn route(req: Request<Incoming>, failing: bool) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let reply = |code: u16, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(code).unwrap();
        response
    };
    if path == "/ok" || path.starts_with("/ok/") {
        return Ok(reply(200, "hello world".to_owned()));
    }
    if path.starts_with("/flaky/") {
        return Ok(if failing {
            reply(500, "failing".to_owned())
        } else {
            reply(200, "fine".to_owned())
        });
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap_or(500);
        return Ok(reply(code, format!("status {code}")));
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        let ms: u64 = ms.split('/').next().unwrap_or("").parse().unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return Ok(reply(200, "slow hello".to_owned()));
    }
    if path == "/redirect" {
        let to = query.strip_prefix("to=").unwrap_or("/ok").to_owned();
        let mut response = reply(302, String::new());
        response
            .headers_mut()
            .insert("location", to.parse().unwrap());
        return Ok(response);
    }
    if path == "/loop" {
        let mut response = reply(302, String::new());
        response
            .headers_mut()
            .insert("location", "/loop".parse().unwrap());
        return Ok(response);
    }
    if path == "/echo" {
        let method = req.method().to_string();
        let probe = req
            .headers()
            .get("x-probe")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Ok(reply(
            200,
            format!("{method} {probe} {}", String::from_utf8_lossy(&body)),
        ));
    }
    if path == "/big" {
        let mut body = "a".repeat(2 * 1024 * 1024);
        body.push_str("needle");
        return Ok(reply(200, body));
    }
    Ok(reply(404, "not found".to_owned()))
}

/// A TCP listener that accepts and then says nothing (TLS handshakes hang).
pub async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// A loopback port nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A loopback UDP port nothing listens on.
pub async fn closed_udp_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    addr
}

/// Starts a DNS responder on 127.0.0.1 (UDP) with fixed answers:
/// `good.test` A 127.0.0.1, `multi.test` A 10.0.0.1 and 10.0.0.2,
/// `alias.test` CNAME good.test, `mail.test` MX 10 mx1.mail.test,
/// `txt.test` TXT "v=spf1 -all", `ns.test` NS ns1.test, `servfail.test`
/// SERVFAIL, `slow.test` never answered, anything else NXDOMAIN.
pub async fn dns_server() -> SocketAddr {
    use hickory_resolver::proto::op::{Message, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, CNAME, MX, NS, TXT};
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(query) = request.queries.first().cloned() else {
                continue;
            };
            let name = query.name().to_ascii().to_ascii_lowercase();
            if name == "slow.test." {
                continue;
            }
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.recursion_desired = request.metadata.recursion_desired;
            response.metadata.recursion_available = true;
            response.metadata.authoritative = true;
            response.add_queries(request.queries.iter().cloned());
            let owner = query.name().clone();
            let record = |data: RData| Record::from_rdata(owner.clone(), 60, data);
            let qtype = query.query_type();
            match (name.as_str(), qtype) {
                ("good.test.", RecordType::A) => {
                    response.add_answer(record(RData::A(A::new(127, 0, 0, 1))));
                }
                ("multi.test.", RecordType::A) => {
                    response.add_answer(record(RData::A(A::new(10, 0, 0, 1))));
                    response.add_answer(record(RData::A(A::new(10, 0, 0, 2))));
                }
                ("alias.test.", RecordType::CNAME) => {
                    response.add_answer(record(RData::CNAME(CNAME(
                        Name::from_ascii("good.test.").unwrap(),
                    ))));
                }
                ("mail.test.", RecordType::MX) => {
                    response.add_answer(record(RData::MX(MX::new(
                        10,
                        Name::from_ascii("mx1.mail.test.").unwrap(),
                    ))));
                }
                ("txt.test.", RecordType::TXT) => {
                    response
                        .add_answer(record(RData::TXT(TXT::new(vec!["v=spf1 -all".to_owned()]))));
                }
                ("ns.test.", RecordType::NS) => {
                    response.add_answer(record(RData::NS(NS(
                        Name::from_ascii("ns1.test.").unwrap()
                    ))));
                }
                ("servfail.test.", _) => {
                    response.metadata.response_code = ResponseCode::ServFail;
                }
                (
                    "good.test." | "multi.test." | "alias.test." | "mail.test." | "txt.test."
                    | "ns.test.",
                    _,
                ) => {}
                _ => {
                    response.metadata.response_code = ResponseCode::NXDomain;
                }
            }
            if let Ok(bytes) = response.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

/// How the webhook receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with one extra header (e.g. Retry-After).
    WithHeader(u16, &'static str, String),
    /// Never answers.
    Hang,
    /// 500 with a 5 MiB body.
    Huge,
    /// Closes the connection without an answer.
    Close,
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: std::collections::HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A local webhook receiver: answers from a script (then 200), records all.
#[derive(Debug, Default)]
pub struct Receiver {
    pub script: std::sync::Mutex<std::collections::VecDeque<Reply>>,
    pub received: std::sync::Mutex<Vec<Received>>,
}

impl Receiver {
    pub fn then(&self, reply: Reply) -> &Self {
        self.script.lock().unwrap().push_back(reply);
        self
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// Starts a receiver on 127.0.0.1.
pub async fn receiver() -> (SocketAddr, Arc<Receiver>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Receiver::default());
    let shared = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        state.received.lock().unwrap().push(Received {
                            path,
                            headers,
                            body,
                            at: std::time::Instant::now(),
                        });
                        let reply = state
                            .script
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or(Reply::Status(200));
                        let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                        match reply {
                            Reply::Status(code) => {
                                *response.status_mut() = StatusCode::from_u16(code).unwrap();
                            }
                            Reply::WithHeader(code, name, value) => {
                                *response.status_mut() = StatusCode::from_u16(code).unwrap();
                                response.headers_mut().insert(name, value.parse().unwrap());
                            }
                            Reply::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            Reply::Huge => {
                                response = Response::new(Full::new(Bytes::from(vec![
                                    b'x';
                                    5 * 1024
                                        * 1024
                                ])));
                                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                            }
                            Reply::Close => {
                                return Err(std::io::Error::other("closing"));
                            }
                        }
                        Ok::<_, std::io::Error>(response)
                    }
                });
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, state)
}

/// A request read off a raw socket: its path (without the query), headers
/// (lower-case names) and body (by Content-Length).
struct RawRequest {
    path: String,
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

/// Longest request head the raw servers read.
const RAW_HEAD_LIMIT: usize = 64 * 1024;

/// Reads one HTTP/1.1 request; `None` when the peer closes (or stalls for
/// 5 s) before a whole head arrived.
async fn read_raw_request(stream: &mut tokio::net::TcpStream) -> Option<RawRequest> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > RAW_HEAD_LIMIT {
            return None;
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let path = target.split('?').next().unwrap_or("").to_owned();
    let headers: std::collections::HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    body.truncate(length);
    Some(RawRequest {
        path,
        headers,
        body,
    })
}

/// A whole answer: `status_line` (without CRLF), `headers`, then `body`
/// with its Content-Length; the connection closes after it.
fn raw_answer(status_line: &[u8], headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out = status_line.to_vec();
    out.extend_from_slice(b"\r\n");
    for header in headers {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Size of the header `/huge-header` of the hostile server sends.
pub const HUGE_HEADER_BYTES: usize = 10 * 1024 * 1024;

/// A body of everything a text column should never see as it is: invalid
/// UTF-8, NUL, ANSI escapes, a bidi override, BEL, DEL and a C1 control.
pub const GARBLED_BODY: &[u8] =
    b"\xff\xfe\xc3\x28 status \x1b[31mred\x1b[0m \xe2\x80\xaeevil\x07\x7f\xc2\x85\x00 end";

/// Starts a hostile HTTP/1.1 target on 127.0.0.1: a raw socket server that
/// writes answers byte by byte, so it can send what hyper never would.
///
/// Routes: `/nul` (200 `ok\0ok`), `/nul-keyword` (200 `ok\0ok keyword`),
/// `/nul-then-healthy` (200 `\0healthy`), `/garbled` (200
/// [`GARBLED_BODY`]), `/odd-reason` (status line `200 \xff\0\x1b[31mOK`),
/// `/obs-reason` (status line `200 \x80\xfe\xff OK`: bytes RFC 9112 still
/// allows), `/nul-header` (a header value with NUL), `/huge-header` (a
/// header of [`HUGE_HEADER_BYTES`]), anything else 404. Requests are counted
/// in [`Hits`] by path; connections closed without a request (a TCP check)
/// are counted under the path `""`.
pub async fn hostile_server() -> (SocketAddr, Arc<Hits>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Hits::default());
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let request = read_raw_request(&mut stream).await;
                let path = request.map(|r| r.path).unwrap_or_default();
                if !path.is_empty() {
                    counter.count.fetch_add(1, Ordering::SeqCst);
                }
                *counter
                    .paths
                    .lock()
                    .unwrap()
                    .entry(path.clone())
                    .or_default() += 1;
                if !path.is_empty() {
                    let _ = answer_hostile(&mut stream, &path).await;
                }
            });
        }
    });
    (addr, hits)
}

async fn answer_hostile(stream: &mut tokio::net::TcpStream, path: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    const OK: &[u8] = b"HTTP/1.1 200 OK";
    let plain: &[u8] = b"Content-Type: text/plain";
    let answer = match path {
        "/nul" => raw_answer(OK, &[plain], b"ok\0ok"),
        "/nul-keyword" => raw_answer(OK, &[plain], b"ok\0ok keyword"),
        "/nul-then-healthy" => raw_answer(OK, &[plain], b"\0healthy"),
        "/garbled" => raw_answer(OK, &[plain], GARBLED_BODY),
        "/odd-reason" => raw_answer(b"HTTP/1.1 200 \xff\x00\x1b[31mOK", &[plain], b"odd"),
        "/obs-reason" => raw_answer(b"HTTP/1.1 200 \x80\xfe\xff OK", &[plain], b"obs"),
        "/nul-header" => raw_answer(OK, &[plain, b"X-Odd: a\x00b"], b"nul header"),
        "/huge-header" => {
            stream.write_all(OK).await?;
            stream.write_all(b"\r\nX-Huge: ").await?;
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..HUGE_HEADER_BYTES / chunk.len() {
                stream.write_all(&chunk).await?;
            }
            raw_answer(b"", &[plain], b"huge header")
        }
        _ => raw_answer(b"HTTP/1.1 404 Not Found", &[plain], b"not found"),
    };
    stream.write_all(&answer).await?;
    stream.shutdown().await
}

/// Starts a DNS responder on 127.0.0.1 (UDP) answering every TXT query,
/// whatever the name, with one record made of `strings` (raw bytes, so
/// they may hold NUL or invalid UTF-8); other types get an empty NOERROR.
pub async fn dns_server_with_txt(strings: &[&[u8]]) -> SocketAddr {
    use hickory_resolver::proto::op::Message;
    use hickory_resolver::proto::rr::rdata::TXT;
    use hickory_resolver::proto::rr::{RData, Record, RecordType};

    let strings: Vec<Vec<u8>> = strings.iter().map(|s| s.to_vec()).collect();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(query) = request.queries.first().cloned() else {
                continue;
            };
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.recursion_desired = request.metadata.recursion_desired;
            response.metadata.recursion_available = true;
            response.metadata.authoritative = true;
            response.add_queries(request.queries.iter().cloned());
            if query.query_type() == RecordType::TXT {
                let parts: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
                response.add_answer(Record::from_rdata(
                    query.name().clone(),
                    60,
                    RData::TXT(TXT::from_bytes(parts)),
                ));
            }
            if let Ok(bytes) = response.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

/// How the raw receiver answers every request.
#[derive(Debug, Clone)]
pub enum RawReply {
    /// This status, content type and body (sent as they are).
    Body(u16, &'static str, Vec<u8>),
    /// 200, then a chunked body that never ends: `chunk` every `pause`
    /// until the client hangs up.
    Endless { chunk: Vec<u8>, pause: Duration },
}

/// Starts a raw webhook receiver on 127.0.0.1: records every request in a
/// [`Receiver`] (its script is not used) and answers each with `reply`,
/// written byte by byte.
pub async fn raw_receiver(reply: RawReply) -> (SocketAddr, Arc<Receiver>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Receiver::default());
    let shared = state.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let state = shared.clone();
            let reply = reply.clone();
            tokio::spawn(async move {
                let Some(request) = read_raw_request(&mut stream).await else {
                    return;
                };
                state.received.lock().unwrap().push(Received {
                    path: request.path,
                    headers: request.headers,
                    body: request.body,
                    at: std::time::Instant::now(),
                });
                let _ = answer_raw(&mut stream, &reply).await;
            });
        }
    });
    (addr, state)
}

async fn answer_raw(stream: &mut tokio::net::TcpStream, reply: &RawReply) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    match reply {
        RawReply::Body(code, content_type, body) => {
            let status = format!("HTTP/1.1 {code} Hostile");
            let kind = format!("Content-Type: {content_type}");
            stream
                .write_all(&raw_answer(status.as_bytes(), &[kind.as_bytes()], body))
                .await?;
        }
        RawReply::Endless { chunk, pause } => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                      Transfer-Encoding: chunked\r\n\r\n",
                )
                .await?;
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(chunk);
            framed.extend_from_slice(b"\r\n");
            loop {
                stream.write_all(&framed).await?;
                if pause.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(*pause).await;
                }
            }
        }
    }
    stream.shutdown().await
}
