//! Validating a status page body (create, replace, or a patch merged onto
//! the current one).
//!
//! What needs the database (components that exist, a group listed beside
//! its own children, slugs and domains other pages hold) is checked by the
//! handler inside its write transaction.

use serde_json::{json, Map, Value};
use shared::model::status_page::{
    self, DEFAULT_HISTORY_DAYS, DEFAULT_UPTIME_DAYS, HISTORY_DAYS, MAX_SLUG, RESERVED_SLUGS,
    UPTIME_DAYS,
};
use shared::model::{Section, StatusPage, Theme};
use uuid::Uuid;

use super::Fields;
use crate::error::ApiError;

/// Fields of a status page that only the server sets.
pub const READ_ONLY: [&str; 4] = ["id", "url", "createdAt", "updatedAt"];
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_FOOTER: usize = 2000;
const MAX_URL: usize = 2048;
const MAX_SECTION_NAME: usize = 200;
/// Most sections on a page.
const MAX_SECTIONS: usize = 50;
/// Most components (or groups) listed in one section.
const MAX_SECTION_COMPONENTS: usize = 100;
/// Longest host name DNS allows.
const MAX_DOMAIN: usize = 253;

/// A validated status page body.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPageSpec {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub homepage_url: Option<String>,
    pub published: bool,
    /// In order; no component id appears twice on the page.
    pub sections: Vec<Section>,
    pub uptime_days: i32,
    pub history_days: i32,
    pub footer_text: Option<String>,
    pub theme: Theme,
    /// Lowercase.
    pub custom_domain: Option<String>,
    pub show_monitor_details: bool,
}

impl StatusPageSpec {
    /// The editable part of a stored page.
    pub fn of(page: &StatusPage) -> Self {
        Self {
            slug: page.slug.clone(),
            title: page.title.clone(),
            description: page.description.clone(),
            logo_url: page.logo_url.clone(),
            homepage_url: page.homepage_url.clone(),
            published: page.published,
            sections: page.sections.clone(),
            uptime_days: page.uptime_days,
            history_days: page.history_days,
            footer_text: page.footer_text.clone(),
            theme: page.theme,
            custom_domain: page.custom_domain.clone(),
            show_monitor_details: page.show_monitor_details,
        }
    }

    /// The editable form, onto which a PATCH is merged.
    pub fn to_input_json(&self) -> Value {
        json!({
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "logoUrl": self.logo_url,
            "homepageUrl": self.homepage_url,
            "published": self.published,
            "sections": self.sections,
            "uptimeDays": self.uptime_days,
            "historyDays": self.history_days,
            "footerText": self.footer_text,
            "theme": self.theme.as_str(),
            "customDomain": self.custom_domain,
            "showMonitorDetails": self.show_monitor_details,
        })
    }

    /// Every component or group id the page lists, in page order.
    pub fn component_ids(&self) -> Vec<Uuid> {
        self.sections
            .iter()
            .flat_map(|s| s.component_ids.iter().copied())
            .collect()
    }
}

/// Validates a status page body. Every problem is reported at once as a 422.
pub fn parse(body: Value) -> Result<StatusPageSpec, ApiError> {
    let mut fields = Fields::new(body)?;
    let slug = parse_slug(&mut fields);
    let title = fields.required_string("title", MAX_TITLE);
    let description = fields
        .string("description", MAX_DESCRIPTION)
        .filter(|d| !d.is_empty());
    let logo_url = parse_url(&mut fields, "logoUrl");
    let homepage_url = parse_url(&mut fields, "homepageUrl");
    let published = fields.bool("published").unwrap_or(false);
    let sections = parse_sections(&mut fields);
    let uptime_days = parse_uptime_days(&mut fields);
    let history_days = fields
        .u32_in(
            "historyDays",
            HISTORY_DAYS.start().unsigned_abs()..=HISTORY_DAYS.end().unsigned_abs(),
        )
        .and_then(|d| i32::try_from(d).ok())
        .unwrap_or(DEFAULT_HISTORY_DAYS);
    let footer_text = fields
        .string("footerText", MAX_FOOTER)
        .filter(|f| !f.is_empty());
    let theme = parse_theme(&mut fields);
    let custom_domain = parse_domain(&mut fields);
    let show_monitor_details = fields.bool("showMonitorDetails").unwrap_or(false);
    fields.finish(&READ_ONLY)?;
    Ok(StatusPageSpec {
        slug: slug.unwrap_or_default(),
        title: title.unwrap_or_default(),
        description,
        logo_url,
        homepage_url,
        published,
        sections,
        uptime_days,
        history_days,
        footer_text,
        theme,
        custom_domain,
        show_monitor_details,
    })
}

fn parse_slug(fields: &mut Fields) -> Option<String> {
    let slug = fields.required_string("slug", MAX_SLUG)?;
    if !status_page::is_valid_slug(&slug) {
        fields.error(
            "slug",
            "must be lowercase letters (a-z), digits and hyphens, not starting or ending \
             with a hyphen, such as \"acme-cloud\"",
        );
        return None;
    }
    if RESERVED_SLUGS.contains(&slug.as_str()) {
        fields.error(
            "slug",
            format!(
                "is reserved for the status pages' own paths; reserved slugs are {}",
                RESERVED_SLUGS.join(", ")
            ),
        );
        return None;
    }
    Some(slug)
}

/// An optional `http://` or `https://` URL with a host and no credentials
/// (shown as a link or image on a public page, never fetched by the server).
fn parse_url(fields: &mut Fields, name: &str) -> Option<String> {
    let url = fields.string(name, MAX_URL).filter(|u| !u.is_empty())?;
    // The URL parser drops tabs and line breaks; what is stored is what is shown.
    if url.chars().any(char::is_whitespace) {
        fields.error(name, "must not contain spaces or line breaks");
        return None;
    }
    match url::Url::parse(&url) {
        Ok(parsed)
            if matches!(parsed.scheme(), "http" | "https")
                && parsed.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                fields.error(
                    name,
                    "must not carry credentials (user:password@): the page is public",
                );
                return None;
            }
            Some(url)
        }
        _ => {
            fields.error(name, "must be an https:// (or http://) URL with a host");
            None
        }
    }
}

fn parse_uptime_days(fields: &mut Fields) -> i32 {
    let Some(value) = fields.take("uptimeDays") else {
        return DEFAULT_UPTIME_DAYS;
    };
    match value
        .as_i64()
        .and_then(|d| i32::try_from(d).ok())
        .filter(|d| UPTIME_DAYS.contains(d))
    {
        Some(days) => days,
        None => {
            let allowed: Vec<String> = UPTIME_DAYS.iter().map(i32::to_string).collect();
            fields.error(
                "uptimeDays",
                format!("must be one of {}", allowed.join(", ")),
            );
            DEFAULT_UPTIME_DAYS
        }
    }
}

fn parse_theme(fields: &mut Fields) -> Theme {
    let Some(value) = fields.take("theme") else {
        return Theme::default();
    };
    match value.as_str().and_then(|t| t.parse::<Theme>().ok()) {
        Some(theme) => theme,
        None => {
            let allowed: Vec<&str> = Theme::ALL.iter().map(|t| t.as_str()).collect();
            fields.error("theme", format!("must be one of {}", allowed.join(", ")));
            Theme::default()
        }
    }
}

/// A host name such as `status.example.com`: at least two labels of
/// letters, digits and hyphens, no scheme, port, path or trailing dot, not
/// an IP address. Host names compare without case, so it is stored lowercase.
fn parse_domain(fields: &mut Fields) -> Option<String> {
    let domain = fields
        .string("customDomain", MAX_DOMAIN)
        .filter(|d| !d.is_empty())?
        .to_ascii_lowercase();
    let reason = if domain.contains("://") {
        Some("must be a host name without a scheme, such as status.example.com")
    } else if domain.contains('/') {
        Some("must be a host name without a path, such as status.example.com")
    } else if domain.contains(':') && domain.parse::<std::net::IpAddr>().is_err() {
        Some("must be a host name without a port, such as status.example.com")
    } else if domain.parse::<std::net::IpAddr>().is_ok() {
        Some("must be a host name, not an IP address")
    } else if !is_domain(&domain) {
        Some(
            "must be a host name of at least two labels (letters, digits and hyphens, \
             separated by dots), such as status.example.com",
        )
    } else {
        None
    };
    match reason {
        Some(reason) => {
            fields.error("customDomain", reason);
            None
        }
        None => Some(domain),
    }
}

fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        // A top-level domain is never all digits (that would be an address).
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// `sections`: 1 to [`MAX_SECTIONS`] sections, each `{"name", "componentIds"}`,
/// with no component id listed twice on the page. Problems are reported on
/// the field `sections`, naming the section by its position (from 1).
fn parse_sections(fields: &mut Fields) -> Vec<Section> {
    let shape = "must be a list of sections such as \
                 [{\"name\": \"Core services\", \"componentIds\": [\"<component id>\"]}]";
    let items = match fields.take("sections") {
        None => {
            fields.error("sections", format!("is required; {shape}"));
            return Vec::new();
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            fields.error("sections", shape);
            return Vec::new();
        }
    };
    if items.is_empty() || items.len() > MAX_SECTIONS {
        fields.error(
            "sections",
            format!("must have from 1 to {MAX_SECTIONS} sections"),
        );
        return Vec::new();
    }
    let mut sections = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    let mut seen: Vec<(Uuid, usize)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let number = index + 1;
        let Value::Object(map) = item else {
            problems.push(format!(
                "section {number} must be an object with name and componentIds"
            ));
            continue;
        };
        match parse_section(map, number, &mut seen) {
            Ok(section) => sections.push(section),
            Err(mut reasons) => problems.append(&mut reasons),
        }
    }
    if problems.is_empty() {
        return sections;
    }
    for problem in problems {
        fields.error("sections", problem);
    }
    Vec::new()
}

/// One section; `seen` holds the ids earlier sections listed, with the
/// number of their section.
fn parse_section(
    mut map: Map<String, Value>,
    number: usize,
    seen: &mut Vec<(Uuid, usize)>,
) -> Result<Section, Vec<String>> {
    let mut problems = Vec::new();
    let name = match map.remove("name") {
        Some(Value::String(name)) => {
            let name = name.trim().to_owned();
            if name.is_empty() {
                problems.push(format!("section {number}: name must not be empty"));
            } else if name.chars().count() > MAX_SECTION_NAME {
                problems.push(format!(
                    "section {number}: name must be at most {MAX_SECTION_NAME} characters"
                ));
            } else if name.chars().any(char::is_control) {
                problems.push(format!(
                    "section {number}: name must not contain control characters"
                ));
            }
            name
        }
        None | Some(Value::Null) => {
            problems.push(format!("section {number}: name is required"));
            String::new()
        }
        Some(_) => {
            problems.push(format!("section {number}: name must be a string"));
            String::new()
        }
    };
    let mut component_ids = Vec::new();
    match map.remove("componentIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() > MAX_SECTION_COMPONENTS => {
            problems.push(format!(
                "section {number}: componentIds must have at most {MAX_SECTION_COMPONENTS} entries"
            ));
        }
        Some(Value::Array(items)) => {
            for (position, item) in items.iter().enumerate() {
                let entry = position + 1;
                let Some(id) = item
                    .as_str()
                    .and_then(|text| Uuid::parse_str(text.trim()).ok())
                else {
                    problems.push(format!(
                        "section {number}: componentIds entry {entry} is not a component id (UUID)"
                    ));
                    continue;
                };
                if let Some((_, first)) = seen.iter().find(|(seen_id, _)| *seen_id == id) {
                    let place = if *first == number {
                        "this section".to_owned()
                    } else {
                        format!("section {first}")
                    };
                    problems.push(format!(
                        "section {number}: component {id} is already listed in {place}; \
                         a component appears at most once on a page"
                    ));
                    continue;
                }
                seen.push((id, number));
                component_ids.push(id);
            }
        }
        Some(_) => problems.push(format!(
            "section {number}: componentIds must be a list of component ids (UUIDs)"
        )),
    }
    let mut unknown: Vec<&String> = map.keys().collect();
    unknown.sort();
    for key in unknown {
        problems.push(format!(
            "section {number}: {key} is not a known field (a section has name and componentIds)"
        ));
    }
    if problems.is_empty() {
        Ok(Section {
            name,
            component_ids,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        json!({"slug": "acme", "title": "Acme", "sections": [{"name": "Core"}]})
    }

    #[test]
    fn defaults_fill_what_a_body_leaves_out_and_round_trip() {
        let spec = parse(minimal()).expect("valid");
        assert!(!spec.published && !spec.show_monitor_details);
        assert_eq!((spec.uptime_days, spec.history_days), (90, 14));
        assert_eq!(spec.theme, Theme::Auto);
        assert_eq!(spec.sections[0].component_ids, Vec::<Uuid>::new());
        assert_eq!(parse(spec.to_input_json()).expect("round trip"), spec);
    }

    #[test]
    fn custom_domains_are_bare_host_names() {
        for (domain, ok) in [
            ("Status.Example.com", true),
            ("status.example.com", true),
            ("localhost", false),
            ("https://status.example.com", false),
            ("status.example.com:8080", false),
            ("status.example.com/x", false),
            ("10.0.0.1", false),
            ("::1", false),
            ("status.example.com.", false),
            ("st_atus.example.com", false),
            ("-a.example.com", false),
        ] {
            let mut body = minimal();
            body["customDomain"] = json!(domain);
            assert_eq!(parse(body).is_ok(), ok, "{domain}");
        }
    }

    #[test]
    fn a_component_appears_once_per_page() {
        let id = Uuid::now_v7();
        let mut body = minimal();
        body["sections"] = json!([
            {"name": "A", "componentIds": [id]},
            {"name": "B", "componentIds": [id]}
        ]);
        assert!(parse(body).is_err());
    }
}
