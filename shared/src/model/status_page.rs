//! Status pages: what an operator publishes at `/status/{slug}`, section by
//! section (migrations/V7__status_pages.sql). A section lists components;
//! a group's id brings its children, in their order.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Day bars a page may show.
pub const UPTIME_DAYS: [i32; 3] = [30, 60, 90];
/// Day bars shown when the operator does not say.
pub const DEFAULT_UPTIME_DAYS: i32 = 90;
/// Fewest and most days of past incidents a page lists.
pub const HISTORY_DAYS: std::ops::RangeInclusive<i32> = 1..=365;
/// Days of past incidents listed when the operator does not say.
pub const DEFAULT_HISTORY_DAYS: i32 = 14;
/// Longest slug.
pub const MAX_SLUG: usize = 64;
/// Slugs refused because they name, or may one day name, a fixed path
/// beside the pages under `/status/`.
pub const RESERVED_SLUGS: [&str; 16] = [
    "admin",
    "api",
    "assets",
    "badge",
    "badges",
    "dashboard",
    "feed",
    "feeds",
    "health",
    "history",
    "incidents",
    "login",
    "logout",
    "metrics",
    "static",
    "status",
];

/// The public path of the page with `slug`.
pub fn public_path(slug: &str) -> String {
    format!("/status/{slug}")
}

/// Whether `slug` is a well-formed slug: 1 to [`MAX_SLUG`] lowercase ASCII
/// letters, digits and hyphens, neither starting nor ending with a hyphen
/// (the database's check, so that a slug is always safe in a path).
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// How a page picks light or dark colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follows the reader's `prefers-color-scheme`.
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    /// Every theme.
    pub const ALL: [Theme; 3] = [Theme::Auto, Theme::Light, Theme::Dark];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

impl FromStr for Theme {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// One section of a page: a heading and its components, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    pub name: String,
    /// Components and groups, in the order shown; ids of deleted components
    /// are left out when read.
    pub component_ids: Vec<Uuid>,
}

/// A stored status page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusPage {
    pub id: Uuid,
    pub slug: String,
    /// The public path, `/status/{slug}`.
    pub url: String,
    pub title: String,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    /// Where the logo from `logo_url` stands (None without a logo URL).
    pub logo: Option<LogoStatus>,
    pub homepage_url: Option<String>,
    /// An unpublished page is 404 to the public.
    pub published: bool,
    pub sections: Vec<Section>,
    pub uptime_days: i32,
    pub history_days: i32,
    pub footer_text: Option<String>,
    pub theme: Theme,
    pub custom_domain: Option<String>,
    /// Monitors' targets, errors and latencies are shown only when on.
    pub show_monitor_details: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page's logo: the API fetches `logoUrl` and serves the image from the
/// page's own origin (the page policy allows no other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoStatus {
    /// `pending` (not fetched yet), `shown` or `failed`.
    pub state: &'static str,
    /// Why the last fetch failed (a shown logo keeps showing the image
    /// fetched before).
    pub error: Option<String>,
    /// When the image shown was fetched.
    pub fetched_at: Option<DateTime<Utc>>,
    /// Its size in bytes and type, when fetched.
    pub bytes: Option<i32>,
    pub content_type: Option<String>,
}

impl LogoStatus {
    /// From the `status_page_logos` row of `source_url` (read as JSON by
    /// [`STATUS_PAGE_COLUMNS`]); a row of another URL is a pending fetch.
    fn of(logo_url: Option<&str>, row: Option<serde_json::Value>) -> Option<Self> {
        let logo_url = logo_url?;
        let row = row.filter(|r| r["sourceUrl"].as_str() == Some(logo_url));
        let Some(row) = row else {
            return Some(Self {
                state: "pending",
                error: None,
                fetched_at: None,
                bytes: None,
                content_type: None,
            });
        };
        let error = row["error"].as_str().map(str::to_owned);
        let bytes = row["bytes"].as_i64().and_then(|b| i32::try_from(b).ok());
        let state = match (&bytes, &error) {
            (Some(_), _) => "shown",
            (None, Some(_)) => "failed",
            (None, None) => "pending",
        };
        Some(Self {
            state,
            error,
            fetched_at: row["fetchedAt"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            bytes,
            content_type: row["contentType"].as_str().map(str::to_owned),
        })
    }
}

/// Columns selected by [`StatusPage::from_row`] from `status_pages p`. The
/// sections come as one JSON array, in order, each without the ids of
/// components deleted since the page was written.
pub const STATUS_PAGE_COLUMNS: &str = "p.id, p.slug, p.title, p.description, p.logo_url, \
    p.homepage_url, p.published, p.uptime_days, p.history_days, p.footer_text, p.theme, \
    p.custom_domain, p.show_monitor_details, p.created_at, p.updated_at, \
    (SELECT coalesce(json_agg(json_build_object('name', s.name, 'componentIds', \
         ARRAY(SELECT u.id FROM unnest(s.component_ids) WITH ORDINALITY AS u(id, n) \
               WHERE EXISTS (SELECT 1 FROM components c WHERE c.id = u.id) ORDER BY u.n)) \
         ORDER BY s.position), '[]'::json) \
     FROM status_page_sections s WHERE s.page_id = p.id) AS sections, \
    (SELECT json_build_object('sourceUrl', l.source_url, 'error', l.error, \
         'fetchedAt', to_char(l.fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
         'bytes', octet_length(l.bytes), 'contentType', l.content_type) \
     FROM status_page_logos l WHERE l.page_id = p.id) AS logo";

impl StatusPage {
    /// Builds a page from a row selected with [`STATUS_PAGE_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, anyhow::Error> {
        let slug: String = row.try_get("slug")?;
        let theme: String = row.try_get("theme")?;
        let sections: serde_json::Value = row.try_get("sections")?;
        Ok(StatusPage {
            id: row.try_get("id")?,
            url: public_path(&slug),
            slug,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            logo: LogoStatus::of(
                row.try_get::<_, Option<String>>("logo_url")?.as_deref(),
                row.try_get("logo")?,
            ),
            logo_url: row.try_get("logo_url")?,
            homepage_url: row.try_get("homepage_url")?,
            published: row.try_get("published")?,
            sections: serde_json::from_value(sections)?,
            uptime_days: row.try_get("uptime_days")?,
            history_days: row.try_get("history_days")?,
            footer_text: row.try_get("footer_text")?,
            theme: theme.parse().unwrap_or_default(),
            custom_domain: row.try_get("custom_domain")?,
            show_monitor_details: row.try_get("show_monitor_details")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        for good in ["a", "status", "acme-2", "a-b-c", &"x".repeat(MAX_SLUG)] {
            assert!(is_valid_slug(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Acme",
            "a_b",
            "a b",
            "ä",
            &"x".repeat(MAX_SLUG + 1),
        ] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn themes_round_trip() {
        for theme in Theme::ALL {
            assert_eq!(theme.as_str().parse(), Ok(theme));
        }
        assert_eq!(Theme::default(), Theme::Auto);
    }
}
