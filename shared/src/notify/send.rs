//! One delivery attempt over HTTP: rustls, no redirects, a timeout, a
//! bounded read of the answer, and the target policy applied to the
//! addresses the name resolves to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use uuid::Uuid;

use super::{format, parse_retry_after, sign};
use crate::config::{Config, Secret};
use crate::model::channel::ChannelTarget;
use crate::model::ChannelType;
use crate::target_policy::is_forbidden;

/// Largest part of a receiver's answer kept with an attempt.
pub const RESPONSE_SNIPPET_BYTES: usize = 1024;
const USER_AGENT: &str = concat!("UpTime-Notifier/", env!("CARGO_PKG_VERSION"));

/// What to deliver, and where.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub event_id: Uuid,
    pub kind: ChannelType,
    pub target: &'a ChannelTarget,
    /// The channel's `whsec_` secret (webhooks).
    pub signing_secret: Option<&'a str>,
    /// The canonical event payload.
    pub payload: &'a Value,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// Anything else that may succeed later (timeouts, 5xx, 3xx, 429, ...).
    Retry,
    /// 410 Gone: the receiver is gone; the channel is disabled.
    Gone,
    /// Will never succeed as configured (refused target, bad URL).
    Permanent,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Gone => "gone",
            Outcome::Permanent => "refused",
        }
    }
}

/// The record of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
    /// From `Retry-After` on 429 and 503.
    pub retry_after: Option<Duration>,
}

impl Attempt {
    /// Bounds the error and the answer snippet and replaces what PostgreSQL
    /// cannot store (see [`crate::outside_text`]).
    pub fn make_storable(&mut self) {
        use crate::outside_text::{clean_in_place, MAX_ERROR_BYTES};
        clean_in_place(&mut self.error, MAX_ERROR_BYTES);
        clean_in_place(&mut self.response_snippet, RESPONSE_SNIPPET_BYTES);
    }

    /// The attempt without the receiver's answer, for when even the cleaned
    /// answer could not be stored: the outcome is kept, the text is not.
    pub fn without_answer(&self) -> Self {
        Self {
            error: self
                .error
                .as_ref()
                .map(|_| "the receiver's answer could not be stored".to_owned()),
            response_snippet: None,
            ..self.clone()
        }
    }
}

/// Resolves names for reqwest and drops addresses the target policy refuses.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    allow_private: bool,
}

impl PolicyResolver {
    /// A resolver for `reqwest` that refuses loopback names and names
    /// resolving only to private or reserved addresses, unless
    /// `allow_private` (every outbound HTTP request of ours goes through it).
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            if !allow_private && crate::target_policy::is_loopback_name(&host) {
                return Err(format!(
                    "refused: {host} is a loopback name, a private or reserved target (set ALLOW_PRIVATE_TARGETS=true to allow)"
                )
                .into());
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || !is_forbidden(a.ip()))
                .collect();
            if allowed.is_empty() {
                let shown = found
                    .first()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default();
                return Err(format!(
                    "refused: {host} resolves to {shown}, a private or reserved address \
                     (set ALLOW_PRIVATE_TARGETS=true to allow)"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends notifications; cheap to clone.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    legacy_secret: Option<Secret>,
    telegram_base: String,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender configured from WEBHOOK_TIMEOUT_SECONDS, ALLOW_PRIVATE_TARGETS,
    /// WEBHOOK_SIGNING_SECRET and TELEGRAM_API_URL.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.webhook_timeout)
            .connect_timeout(config.webhook_timeout)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(PolicyResolver {
                allow_private: config.allow_private_targets,
            }))
            .build()?;
        Ok(Self {
            client,
            allow_private: config.allow_private_targets,
            legacy_secret: config.webhook_signing_secret.clone(),
            telegram_base: config.telegram_api_url.trim_end_matches('/').to_owned(),
            timeout: config.webhook_timeout,
        })
    }

    fn url(&self, delivery: &Delivery<'_>) -> Option<String> {
        match delivery.kind {
            ChannelType::Telegram => delivery
                .target
                .bot_token
                .as_deref()
                .map(|token| format!("{}/bot{token}/sendMessage", self.telegram_base)),
            _ => delivery.target.url.clone(),
        }
    }

    /// Makes one attempt; the receiver's answer and the error are storable
    /// text (see [`crate::outside_text`]) whatever the receiver sent.
    pub async fn send(&self, delivery: Delivery<'_>) -> Attempt {
        let mut attempt = self.attempt(delivery).await;
        attempt.make_storable();
        attempt
    }

    async fn attempt(&self, delivery: Delivery<'_>) -> Attempt {
        let started = Instant::now();
        let fail = |outcome, error: String| Attempt {
            outcome,
            status_code: None,
            latency: started.elapsed(),
            error: Some(error),
            response_snippet: None,
            retry_after: None,
        };
        let Some(url) = self.url(&delivery) else {
            return fail(Outcome::Permanent, "the channel has no URL".to_owned());
        };
        let Ok(parsed) = url::Url::parse(&url) else {
            return fail(Outcome::Permanent, "the channel URL is invalid".to_owned());
        };
        if let Some(host) = parsed.host_str() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>() {
                if !self.allow_private && is_forbidden(ip) {
                    return fail(
                        Outcome::Permanent,
                        format!(
                            "refused: {ip} is a private or reserved address \
                             (set ALLOW_PRIVATE_TARGETS=true to allow)"
                        ),
                    );
                }
            }
        }
        let body = serde_json::to_vec(&format::body(
            delivery.kind,
            delivery.payload,
            delivery.target.chat_id.as_deref(),
        ))
        .unwrap_or_default();
        let mut request = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if delivery.kind == ChannelType::Webhook {
            let id = delivery.event_id.to_string();
            let timestamp = chrono::Utc::now().timestamp();
            request = request
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string());
            if let Some(secret) = delivery.signing_secret {
                request = request.header(
                    "webhook-signature",
                    sign::standard_signature(secret, &id, timestamp, &body),
                );
            }
            if let Some(secret) = &self.legacy_secret {
                request = request.header(
                    "X-UpTime-Signature",
                    sign::legacy_signature(secret.expose(), &body),
                );
            }
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(error) => {
                let error = error.without_url();
                let message = describe(&error, self.timeout);
                let outcome = if message.contains("refused: ") {
                    Outcome::Permanent
                } else {
                    Outcome::Retry
                };
                return fail(outcome, message);
            }
        };
        let status = response.status();
        let retry_after = if status.as_u16() == 429 || status.as_u16() == 503 {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()))
        } else {
            None
        };
        let (snippet, read_error) = read_snippet(response).await;
        let outcome = if status.is_success() {
            Outcome::Delivered
        } else if status.as_u16() == 410 {
            Outcome::Gone
        } else {
            Outcome::Retry
        };
        let error = match outcome {
            Outcome::Delivered => None,
            Outcome::Gone => Some("the receiver answered 410 Gone".to_owned()),
            _ => Some(format!("the receiver answered {}", status.as_u16())),
        }
        .or(read_error.filter(|_| outcome != Outcome::Delivered));
        Attempt {
            outcome,
            status_code: Some(status.as_u16()),
            latency: started.elapsed(),
            error,
            response_snippet: snippet,
            retry_after,
        }
    }
}

/// Reads at most [`RESPONSE_SNIPPET_BYTES`] of the answer, then stops.
async fn read_snippet(mut response: reqwest::Response) -> (Option<String>, Option<String>) {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(RESPONSE_SNIPPET_BYTES - bytes.len());
                bytes.extend_from_slice(&chunk[..take]);
                if bytes.len() >= RESPONSE_SNIPPET_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                return (
                    crate::check::snippet(&bytes, RESPONSE_SNIPPET_BYTES).0,
                    Some(format!(
                        "reading the answer failed: {}",
                        error.without_url()
                    )),
                )
            }
        }
    }
    (
        crate::check::snippet(&bytes, RESPONSE_SNIPPET_BYTES).0,
        None,
    )
}

fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timeout after {} s", timeout.as_secs());
    }
    // The innermost cause says what happened (refused, reset, TLS, DNS).
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut last = error.to_string();
    while let Some(current) = source {
        last = current.to_string();
        source = current.source();
    }
    if error.is_connect() {
        format!("connect: {last}")
    } else {
        format!("request failed: {last}")
    }
}
