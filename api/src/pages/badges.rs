//! shields.io-style SVG badges of the components on published status pages
//! and of the monitors that drive them:
//! `/badge/{kind}/{id}/{status|uptime|response-time|cert-expiry}.svg`, with
//! `label`, `style` and (uptime, response time) `period` parameters.
//!
//! Anything without a badge (unknown or unpublished id, a monitor driving no
//! published component, a bad kind or id) answers the same grey "unknown"
//! badge with `200`, so a badge URL tells nothing about private monitors.
//!
//! A component's status comes from the snapshot. Every other figure is read
//! from PostgreSQL at most once per [`FIGURE_TTL`] per badge ([`Figures`]):
//! on a miss, with at most [`CONCURRENT_READS`] reads at a time for all
//! badges, each waiting at most [`READ_WAIT`] for its turn; while PostgreSQL
//! cannot answer, the last figure keeps being served, or "unknown".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{TimeDelta, Utc};
use shared::model::component::ComponentStatus;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::snapshot::Published;
use super::Rendered;
use crate::startup::AppState;

/// How long clients and proxies may reuse a badge.
pub const MAX_AGE_SECONDS: u32 = 60;
/// How long a figure read from PostgreSQL is served before it is read again.
pub const FIGURE_TTL: Duration = Duration::from_secs(30);
/// Reads of badge figures running at once, for all badges together.
pub const CONCURRENT_READS: usize = 2;
/// How long a miss waits for its turn to read before answering with the
/// last figure or "unknown".
pub const READ_WAIT: Duration = Duration::from_secs(2);
/// The longest `label` taken; longer ones are cut.
const MAX_LABEL_CHARS: usize = 64;
/// Entries kept before expired ones are swept.
const SWEEP_ABOVE: usize = 4096;

/// The Content-Security-Policy of a badge, for when one is opened on its
/// own: nothing may load or run; only inline styles are allowed, as
/// shields-style SVGs are styled inline and a style cannot run code.
pub const BADGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const GREY: &str = "#9f9f9f";
const BRIGHTGREEN: &str = "#4c1";
const GREEN: &str = "#97ca00";
const YELLOWGREEN: &str = "#a4a61d";
const YELLOW: &str = "#dfb317";
const ORANGE: &str = "#fe7d37";
const RED: &str = "#e05d44";
const BLUE: &str = "#007ec6";

/// Registers `/badge/{kind}/{id}/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/badge/{kind}/{id}/{file}").route(web::get().to(badge)));
}

/// What a badge is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Component,
    Monitor,
}

/// What a badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Metric {
    Status,
    Uptime,
    ResponseTime,
    CertExpiry,
}

impl Metric {
    fn from_file(file: &str) -> Option<Self> {
        match file {
            "status.svg" => Some(Metric::Status),
            "uptime.svg" => Some(Metric::Uptime),
            "response-time.svg" => Some(Metric::ResponseTime),
            "cert-expiry.svg" => Some(Metric::CertExpiry),
            _ => None,
        }
    }

    fn default_label(self, period: Period) -> String {
        match self {
            Metric::Status => "status".to_owned(),
            Metric::Uptime => format!("uptime {}", period.name()),
            Metric::ResponseTime => format!("response time {}", period.name()),
            Metric::CertExpiry => "certificate".to_owned(),
        }
    }

    fn uses_period(self) -> bool {
        matches!(self, Metric::Uptime | Metric::ResponseTime)
    }
}

/// The span an uptime or response-time badge covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Period {
    Day,
    Week,
    Month,
    Quarter,
}

impl Period {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "24h" => Some(Period::Day),
            "7d" => Some(Period::Week),
            "30d" => Some(Period::Month),
            "90d" => Some(Period::Quarter),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Period::Day => "24h",
            Period::Week => "7d",
            Period::Month => "30d",
            Period::Quarter => "90d",
        }
    }

    fn days(self) -> i64 {
        match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
            Period::Quarter => 90,
        }
    }
}

/// What a badge says.
#[derive(Debug, Clone, PartialEq)]
enum Figure {
    /// Nothing to show (no badge, or its figure could not be read).
    Unknown,
    /// The figure does not apply (a component's response time, a monitor
    /// without a certificate).
    NotApplicable,
    Component(ComponentStatus),
    /// `monitors.status`: up, down, degraded or unknown.
    Monitor(String),
    Uptime(Option<f64>),
    ResponseTime(Option<f64>),
    CertDays(Option<i64>),
}

impl Figure {
    fn message_and_color(&self) -> (String, &'static str) {
        match self {
            Figure::Unknown => ("unknown".to_owned(), GREY),
            Figure::NotApplicable => ("n/a".to_owned(), GREY),
            Figure::Component(status) => {
                let color = match status {
                    ComponentStatus::Operational => BRIGHTGREEN,
                    ComponentStatus::DegradedPerformance => YELLOW,
                    ComponentStatus::PartialOutage => ORANGE,
                    ComponentStatus::MajorOutage => RED,
                    ComponentStatus::UnderMaintenance => BLUE,
                };
                (status.label().to_lowercase(), color)
            }
            Figure::Monitor(status) => match status.as_str() {
                "up" => ("up".to_owned(), BRIGHTGREEN),
                "degraded" => ("degraded".to_owned(), YELLOW),
                "down" => ("down".to_owned(), RED),
                _ => ("unknown".to_owned(), GREY),
            },
            Figure::Uptime(None) | Figure::ResponseTime(None) => ("no data".to_owned(), GREY),
            Figure::Uptime(Some(percent)) => {
                let color = match *percent {
                    p if p >= 99.9 => BRIGHTGREEN,
                    p if p >= 99.0 => GREEN,
                    p if p >= 97.0 => YELLOWGREEN,
                    p if p >= 95.0 => YELLOW,
                    p if p >= 90.0 => ORANGE,
                    _ => RED,
                };
                (format!("{}%", two_decimals(*percent)), color)
            }
            Figure::ResponseTime(Some(ms)) => {
                let color = match *ms {
                    ms if ms < 200.0 => BRIGHTGREEN,
                    ms if ms < 500.0 => GREEN,
                    ms if ms < 1000.0 => YELLOW,
                    ms if ms < 2000.0 => ORANGE,
                    _ => RED,
                };
                (format!("{ms:.0} ms"), color)
            }
            Figure::CertDays(None) => ("n/a".to_owned(), GREY),
            Figure::CertDays(Some(days)) => match *days {
                d if d <= 0 => ("expired".to_owned(), RED),
                1 => ("1 day".to_owned(), RED),
                d if d < 7 => (format!("{d} days"), RED),
                d if d < 14 => (format!("{d} days"), ORANGE),
                d if d < 30 => (format!("{d} days"), YELLOW),
                d => (format!("{d} days"), BRIGHTGREEN),
            },
        }
    }
}

/// 99.95, 100, 99.9: at most two decimals, no trailing zeros.
fn two_decimals(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// One figure of one badge subject.
type Key = (Kind, Uuid, Metric, Option<Period>);

/// Figures read from PostgreSQL, each kept for [`FIGURE_TTL`]; shared by
/// every HTTP worker thread through the snapshot store.
#[derive(Debug)]
pub struct Figures {
    cached: Mutex<HashMap<Key, (Instant, Figure)>>,
    reads: Semaphore,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            cached: Mutex::default(),
            reads: Semaphore::new(CONCURRENT_READS),
        }
    }
}

impl Figures {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (Instant, Figure)>> {
        match self.cached.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The cached figure, and whether it is still fresh.
    fn cached(&self, key: &Key) -> Option<(Figure, bool)> {
        self.lock()
            .get(key)
            .map(|(at, figure)| (figure.clone(), at.elapsed() < FIGURE_TTL))
    }

    fn keep(&self, key: Key, figure: Figure) {
        let mut cached = self.lock();
        if cached.len() >= SWEEP_ABOVE {
            cached.retain(|_, (at, _)| at.elapsed() < FIGURE_TTL);
        }
        cached.insert(key, (Instant::now(), figure));
    }

    /// The figure of `key`: cached, or read (bounded, see the module docs).
    async fn get(&self, state: &AppState, key: Key) -> Figure {
        let stale = match self.cached(&key) {
            Some((figure, true)) => return figure,
            Some((figure, false)) => Some(figure),
            None => None,
        };
        let fallback = || stale.clone().unwrap_or(Figure::Unknown);
        let Ok(Ok(_permit)) = tokio::time::timeout(READ_WAIT, self.reads.acquire()).await else {
            return fallback();
        };
        // Another request may have read it while this one waited.
        if let Some((figure, true)) = self.cached(&key) {
            return figure;
        }
        match read(state, key).await {
            Ok(figure) => {
                self.keep(key, figure.clone());
                figure
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "badge figure not read");
                fallback()
            }
        }
    }
}

/// Reads one figure from PostgreSQL.
async fn read(state: &AppState, (kind, id, metric, period): Key) -> anyhow::Result<Figure> {
    let client = state.db.get().await?;
    let days = period.map_or(30, Period::days);
    Ok(match (kind, metric) {
        (Kind::Component, Metric::Uptime) => {
            let now = Utc::now();
            let uptime =
                shared::component_uptime::over(&client, id, now - TimeDelta::days(days), now)
                    .await?;
            Figure::Uptime(uptime.uptime_percent)
        }
        (Kind::Monitor, Metric::Status) => {
            let statement = client
                .prepare_cached("SELECT status FROM monitors WHERE id = $1")
                .await?;
            match client.query_opt(&statement, &[&id]).await? {
                Some(row) => Figure::Monitor(row.try_get(0)?),
                None => Figure::Unknown,
            }
        }
        (Kind::Monitor, Metric::Uptime | Metric::ResponseTime) => {
            let period_name = period.map_or("30d", Period::name);
            let uptime = shared::rollup::uptime(&client, id, period_name, days).await?;
            if metric == Metric::Uptime {
                Figure::Uptime(uptime.uptime_percent)
            } else {
                Figure::ResponseTime(uptime.latency_avg_ms)
            }
        }
        (Kind::Monitor, Metric::CertExpiry) => {
            let statement = client.prepare_cached(LATEST_CERTIFICATE).await?;
            let days: Option<i64> = client
                .query_opt(&statement, &[&id])
                .await?
                .map(|row| row.try_get(0))
                .transpose()?
                .flatten();
            Figure::CertDays(days)
        }
        // Answered from the snapshot or not applicable; never read.
        (Kind::Component, _) => Figure::NotApplicable,
    })
}

/// Days left on the certificate of a TLS monitor's latest check.
const LATEST_CERTIFICATE: &str = "SELECT (r.details->'certificate'->>'daysRemaining')::int8 \
    FROM monitors m JOIN LATERAL ( \
        SELECT details FROM check_results WHERE monitor_id = m.id \
        ORDER BY slot_ts DESC LIMIT 1) r ON true \
    WHERE m.id = $1 AND m.type = 'tls'";

/// The badge's query parameters, read leniently: anything unusable falls
/// back to its default (or, for `period`, to the unknown badge).
struct Params {
    label: Option<String>,
    style: shields::BadgeStyle,
    period: Option<Option<Period>>,
}

impl Params {
    fn parse(query: &str) -> Self {
        let mut params = Params {
            label: None,
            style: shields::BadgeStyle::Flat,
            period: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "label" => {
                    let label: String = value
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_LABEL_CHARS)
                        .collect();
                    params.label = Some(label);
                }
                "style" => params.style = value.parse().unwrap_or(shields::BadgeStyle::Flat),
                "period" => params.period = Some(Period::parse(&value)),
                _ => {}
            }
        }
        params
    }
}

/// `GET /badge/{kind}/{id}/{file}`.
#[tracing::instrument(skip_all, fields(kind = %path.0, file = %path.2))]
async fn badge(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    request: HttpRequest,
) -> HttpResponse {
    let (kind, id, file) = path.into_inner();
    let params = Params::parse(request.query_string());
    let metric = Metric::from_file(&file);
    let period = match params.period {
        None => Some(Period::Month),
        Some(parsed) => parsed,
    };
    let label = params.label.clone().unwrap_or_else(|| {
        metric.map_or_else(
            || "badge".to_owned(),
            |m| m.default_label(period.unwrap_or(Period::Month)),
        )
    });
    let kind = match kind.as_str() {
        "component" => Some(Kind::Component),
        "monitor" => Some(Kind::Monitor),
        _ => None,
    };
    let subject = kind.zip(Uuid::parse_str(&id).ok()).zip(metric).zip(period);
    let figure = match subject {
        Some((((kind, id), metric), period)) => {
            let published = state.status_pages.published();
            figure(&state, &published, kind, id, metric, period).await
        }
        None => Figure::Unknown,
    };
    let (message, color) = figure.message_and_color();
    let svg = shields::render_badge_svg(&shields::BadgeParams {
        style: params.style,
        label: Some(&label),
        message: Some(&message),
        message_color: Some(color),
        ..shields::BadgeParams::default()
    });
    let rendered = Rendered::new(svg);
    super::conditional(
        &request,
        &rendered,
        "image/svg+xml",
        MAX_AGE_SECONDS,
        |response| {
            response.insert_header((
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(BADGE_POLICY),
            ));
        },
    )
}

/// The figure of a subject that has a badge; [`Figure::Unknown`] for any
/// other.
async fn figure(
    state: &AppState,
    published: &Published,
    kind: Kind,
    id: Uuid,
    metric: Metric,
    period: Period,
) -> Figure {
    let eligible = match kind {
        Kind::Component => published.badge_components.contains_key(&id),
        Kind::Monitor => published.badge_monitors.contains(&id),
    };
    if !eligible {
        return Figure::Unknown;
    }
    match (kind, metric) {
        (Kind::Component, Metric::Status) => published
            .badge_components
            .get(&id)
            .map_or(Figure::Unknown, |status| Figure::Component(*status)),
        (Kind::Component, Metric::ResponseTime | Metric::CertExpiry) => Figure::NotApplicable,
        _ => {
            let period = metric.uses_period().then_some(period);
            state
                .status_pages
                .badge_figures
                .get(state, (kind, id, metric, period))
                .await
        }
    }
}
