//! HTTP and keyword checks over hyper's connection API, HTTP/1.1 or HTTP/2
//! (ALPN), with redirects followed hop by hop under the target policy.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, LOCATION, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::failure::{self, ErrorKind, Failure};
use super::net::Net;
use super::{add, millis, snippet, Budget, Phase, Verdict, MAX_BODY_BYTES, MAX_REDIRECTS};
use crate::model::check_result::BODY_SNIPPET_MAX_BYTES;
use crate::model::{CheckStatus, KeywordMode, MonitorSpec, MonitorType, Timings};

/// The User-Agent sent with every check.
const AGENT: &str = concat!("UpTime/", env!("CARGO_PKG_VERSION"), " (+monitoring)");

pub(crate) async fn check(
    net: &Net,
    spec: &MonitorSpec,
    budget: &Budget,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<Verdict, Failure> {
    let mut url = url::Url::parse(&spec.target)
        .map_err(|e| failure::invalid(Phase::Connect, format!("invalid URL ({e})")))?;
    let method_name = spec.method.as_deref().unwrap_or("GET");
    let mut method = Method::from_bytes(method_name.as_bytes()).map_err(|_| {
        failure::invalid(
            Phase::Connect,
            format!("invalid HTTP method \"{method_name}\""),
        )
    })?;
    let mut body = spec.body.clone();
    let follow = spec.follow_redirects.unwrap_or(false);
    let keyword = spec.kind == MonitorType::Keyword;
    let limit = if keyword { MAX_BODY_BYTES } else { 64 * 1024 };
    let mut hops = 0usize;
    let (response, bytes, truncated) = loop {
        let (response, bytes, truncated) = exchange(
            net,
            &url,
            &method,
            spec,
            body.as_deref(),
            limit,
            budget,
            timings,
            details,
        )
        .await?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if follow && status.is_redirection() && hops < MAX_REDIRECTS => {
                let from = authority(&url);
                url = url.join(&location).map_err(|e| {
                    Failure::new(
                        Phase::Ttfb,
                        ErrorKind::RedirectInvalid,
                        format!("HTTP: {from} redirected to an invalid location"),
                    )
                    .with("location", location.as_str())
                    .caused_by(&e)
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(Failure::new(
                        Phase::Ttfb,
                        ErrorKind::RedirectInvalid,
                        format!(
                            "HTTP: {from} redirected to the unsupported scheme \"{}\" \
                             (only http and https are followed)",
                            url.scheme()
                        ),
                    )
                    .with("location", location));
                }
                hops += 1;
                if status == StatusCode::SEE_OTHER
                    || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                }
            }
            Some(_) if follow && status.is_redirection() => {
                return Err(Failure::new(
                    Phase::Ttfb,
                    ErrorKind::TooManyRedirects,
                    format!("HTTP: too many redirects (more than {MAX_REDIRECTS})"),
                )
                .with("redirects", hops)
                .with("finalUrl", url.to_string()));
            }
            _ => break (response, bytes, truncated),
        }
    };
    if hops > 0 {
        details.insert("redirects".to_owned(), Value::from(hops));
        details.insert("finalUrl".to_owned(), Value::String(url.to_string()));
    }
    details.insert("bodyBytes".to_owned(), Value::from(bytes.len()));
    if truncated {
        details.insert("bodyTruncated".to_owned(), Value::Bool(true));
    }
    let code = response.status().as_u16();
    let mut verdict = Verdict::up();
    verdict.status_code = Some(code);
    let (body_snippet, replaced) = snippet(&bytes, BODY_SNIPPET_MAX_BYTES);
    verdict.body_snippet = body_snippet;
    if replaced {
        details.insert(
            super::TEXT_ALTERED.to_owned(),
            Value::Array(vec![Value::from("bodySnippet")]),
        );
    }
    let expected = spec.expected_status.clone().unwrap_or_default();
    if !expected.matches(code) {
        details.insert("expectedStatus".to_owned(), expected.to_json());
        verdict.not_up(
            CheckStatus::Down,
            ErrorKind::HttpStatus,
            failure::status_mismatch(code, &expected),
        );
        return Ok(verdict);
    }
    if keyword {
        if let Some(word) = spec.keyword.as_deref() {
            let found = contains(&bytes, word, spec.keyword_case_sensitive.unwrap_or(true));
            let mode = spec.keyword_mode.unwrap_or(KeywordMode::Contains);
            details.insert("keywordFound".to_owned(), Value::Bool(found));
            match (mode, found) {
                (KeywordMode::Contains, false) => verdict.not_up(
                    CheckStatus::Down,
                    ErrorKind::KeywordMissing,
                    failure::keyword_missing(word, truncated.then_some(limit)),
                ),
                (KeywordMode::NotContains, true) => verdict.not_up(
                    CheckStatus::Down,
                    ErrorKind::KeywordPresent,
                    failure::keyword_present(word),
                ),
                _ => {}
            }
        }
    }
    Ok(verdict)
}

/// `host[:port]` of a URL, as messages name it.
fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn contains(body: &[u8], word: &str, case_sensitive: bool) -> bool {
    let text = String::from_utf8_lossy(body);
    if case_sensitive {
        text.contains(word)
    } else {
        text.to_lowercase().contains(&word.to_lowercase())
    }
}

/// One request/response over a fresh connection; returns the response head,
/// the body read (up to `limit`) and whether it was cut.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    net: &Net,
    url: &url::Url,
    method: &Method,
    spec: &MonitorSpec,
    body: Option<&str>,
    limit: usize,
    budget: &Budget,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<(Response<()>, Vec<u8>, bool), Failure> {
    let host = url
        .host_str()
        .ok_or_else(|| failure::invalid(Phase::Connect, "the URL has no host"))?
        .to_owned();
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => {
            return Err(failure::invalid(
                Phase::Connect,
                format!("unsupported URL scheme \"{other}\" (only http and https)"),
            ))
        }
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| failure::invalid(Phase::Connect, "the URL has no port"))?;
    let stream = net.connect(&host, port, budget, timings).await?;
    if let Ok(peer) = stream.peer_addr() {
        details.insert("remoteAddr".to_owned(), Value::String(peer.to_string()));
    }
    let authority = authority(url);
    let request = build_request(url, method, spec, body, &authority)?;
    let ongoing = Exchange {
        authority: &authority,
        limit,
        budget,
    };
    if https {
        let (tls, error) = net
            .tls(stream, &host, &[b"h2", b"http/1.1"], budget, timings)
            .await?;
        if let Some(error) = error {
            let names = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(super::tls::certificate_names)
                .unwrap_or_default();
            return Err(failure::certificate(&host, &error, &names));
        }
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        send(tls, request, h2, &ongoing, timings, details).await
    } else {
        send(stream, request, false, &ongoing, timings, details).await
    }
}

fn build_request(
    url: &url::Url,
    method: &Method,
    spec: &MonitorSpec,
    body: Option<&str>,
    authority: &str,
) -> Result<Request<Full<Bytes>>, Failure> {
    let invalid =
        |what: String| failure::invalid(Phase::Connect, format!("invalid request: {what}"));
    let mut builder = Request::builder().method(method.clone()).uri(url.as_str());
    let headers = builder
        .headers_mut()
        .ok_or_else(|| invalid(format!("the URL {url} cannot be requested")))?;
    headers.insert(
        HOST,
        HeaderValue::from_str(authority)
            .map_err(|_| invalid(format!("{authority} is not a valid Host header")))?,
    );
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    for (name, value) in spec.headers.iter().flatten() {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("\"{name}\" is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("the value of the header {name} is not valid")))?;
        headers.insert(header, value);
    }
    let payload = Bytes::from(body.unwrap_or_default().to_owned());
    if body.is_some() {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(payload.len()));
    }
    builder
        .body(Full::new(payload))
        .map_err(|e| invalid(format!("the URL {url} cannot be requested")).caused_by(&e))
}

/// One request/response exchange: whom it talks to and its limits.
struct Exchange<'a> {
    /// `host[:port]`, as messages name the target.
    authority: &'a str,
    /// Most body bytes read.
    limit: usize,
    budget: &'a Budget,
}

impl Exchange<'_> {
    /// The value of a hyper step bounded by the budget, or why it failed.
    fn settle<T>(&self, phase: Phase, step: Option<Result<T, hyper::Error>>) -> Result<T, Failure> {
        match step {
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => Err(failure::http(phase, self.authority, &error)),
            None => Err(Failure::timeout(phase, self.authority, self.budget.timeout)),
        }
    }
}

async fn send<S>(
    stream: S,
    mut request: Request<Full<Bytes>>,
    h2: bool,
    exchange: &Exchange<'_>,
    timings: &mut Timings,
    details: &mut Map<String, Value>,
) -> Result<(Response<()>, Vec<u8>, bool), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (budget, limit) = (exchange.budget, exchange.limit);
    let stream = TokioIo::new(stream);
    let started = Instant::now();
    let response = if h2 {
        details.insert("httpVersion".to_owned(), Value::String("HTTP/2".to_owned()));
        // HTTP/2 carries the authority in the URI; no Host header.
        request.headers_mut().remove(HOST);
        let handshake = budget
            .within(hyper::client::conn::http2::handshake(
                TokioExecutor::new(),
                stream,
            ))
            .await;
        let (mut sender, connection) = exchange.settle(Phase::Ttfb, handshake)?;
        tokio::spawn(connection);
        budget.within(sender.send_request(request)).await
    } else {
        details.insert(
            "httpVersion".to_owned(),
            Value::String("HTTP/1.1".to_owned()),
        );
        // HTTP/1.1 sends the path; the authority goes in Host.
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        *request.uri_mut() = path.parse().map_err(|_| {
            failure::invalid(
                Phase::Connect,
                format!("invalid request: {path} is not a valid path"),
            )
        })?;
        let handshake = budget
            .within(hyper::client::conn::http1::handshake(stream))
            .await;
        let (mut sender, connection) = exchange.settle(Phase::Ttfb, handshake)?;
        tokio::spawn(connection);
        budget.within(sender.send_request(request)).await
    };
    add(&mut timings.ttfb_ms, millis(started.elapsed()));
    let response = exchange.settle(Phase::Ttfb, response)?;
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    let mut truncated = false;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            if let Some(data) = frame.data_ref() {
                let take = data.len().min(limit - bytes.len());
                bytes.extend_from_slice(&data[..take]);
                if bytes.len() >= limit {
                    truncated = true;
                    break;
                }
            }
        }
        Ok::<(), hyper::Error>(())
    };
    let read = budget.within(read).await;
    exchange.settle(Phase::Body, read)?;
    Ok((Response::from_parts(parts, ()), bytes, truncated))
}
