//! `/api/v1/sla/reports`: each monitor's and component's availability over
//! a UTC month, quarter, year or span against its SLA target (see
//! shared::sla and the README for how every figure is computed).

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::model::Scope;
use shared::sla::{self, Period, PeriodKind, Report};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sla/reports").route(web::get().to(reports)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    period: Option<String>,
    month: Option<String>,
    quarter: Option<String>,
    year: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The period a report covers, and whether it is over.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportPeriod {
    #[serde(flatten)]
    period: Period,
    complete: bool,
}

#[derive(Serialize)]
struct Reports {
    period: ReportPeriod,
    reports: Vec<Report>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

fn timestamp(name: &str, value: Option<&str>) -> Result<DateTime<Utc>, ApiError> {
    let value = value.ok_or_else(|| {
        invalid(format!(
            "{name} is required when from or to is given: give both."
        ))
    })?;
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(format!(
                "{name} must be an RFC 3339 time such as 2026-11-01T00:00:00Z."
            ))
        })
}

/// Which period the query asks for; the current month when it names none.
fn period(query: &ReportQuery, now: DateTime<Utc>) -> Result<Period, ApiError> {
    let calendar = [
        ("month", &query.month),
        ("quarter", &query.quarter),
        ("year", &query.year),
    ];
    if query.from.is_some() || query.to.is_some() {
        if let Some(name) = std::iter::once(("period", &query.period))
            .chain(calendar)
            .find_map(|(name, value)| value.as_ref().map(|_| name))
        {
            return Err(invalid(format!(
                "{name} cannot be combined with from and to: give either a calendar period or a span."
            )));
        }
        let from = timestamp("from", query.from.as_deref())?;
        let to = timestamp("to", query.to.as_deref())?;
        return Period::custom(from, to).ok_or_else(|| {
            invalid(format!(
                "to must be after from, and at most {} days later.",
                sla::MAX_SPAN_DAYS
            ))
        });
    }
    let given: Vec<&str> = calendar
        .iter()
        .filter(|(_, value)| value.is_some())
        .map(|(name, _)| *name)
        .collect();
    let kind = match query.period.as_deref() {
        Some("month") => PeriodKind::Month,
        Some("quarter") => PeriodKind::Quarter,
        Some("year") => PeriodKind::Year,
        Some(_) => return Err(invalid("period must be month, quarter or year.")),
        None => match given.as_slice() {
            [] | ["month"] => PeriodKind::Month,
            ["quarter"] => PeriodKind::Quarter,
            ["year"] => PeriodKind::Year,
            _ => {
                return Err(invalid(format!(
                    "{} cannot be combined: give only one of month, quarter or year.",
                    given.join(" and ")
                )))
            }
        },
    };
    let (wanted, value, parse, example): (_, _, fn(&str) -> Option<Period>, _) = match kind {
        PeriodKind::Quarter => ("quarter", &query.quarter, Period::parse_quarter, "2026-Q4"),
        PeriodKind::Year => ("year", &query.year, Period::parse_year, "2026"),
        PeriodKind::Month | PeriodKind::Custom => {
            ("month", &query.month, Period::parse_month, "2026-11")
        }
    };
    if let Some(other) = given.iter().find(|name| **name != wanted) {
        return Err(invalid(format!(
            "{other} does not apply to period={wanted}; give {wanted} instead."
        )));
    }
    match value {
        Some(text) => parse(text).ok_or_else(|| {
            invalid(format!(
                "{wanted} must be written like {example} (years 1970 to 9999)."
            ))
        }),
        None => Period::containing(kind, now)
            .ok_or_else(|| invalid(format!("{wanted} must be given for this date."))),
    }
}

/// SLA reports over one period for every monitor and component with a target.
#[tracing::instrument(skip_all)]
async fn reports(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReportQuery>,
) -> Result<web::Json<Reports>, ApiError> {
    caller.require(Scope::Read)?;
    let client = state.db.get().await?;
    let clock = client.prepare_cached("SELECT now()").await?;
    let now: DateTime<Utc> = client.query_one(&clock, &[]).await?.get(0);
    let period = period(&query, now)?;
    let reports = sla::reports(&client, &period, now).await?;
    Ok(web::Json(Reports {
        period: ReportPeriod {
            complete: period.to <= now,
            period,
        },
        reports,
    }))
}
