//! Every HTML page: a strict Content-Security-Policy and the page headers,
//! markup that needs no inline script or style, and embedded assets served
//! under content-hashed URLs with long-lived caching.

use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::Method;

use crate::helpers::{spawn_app, TestApp};

/// Every page the API serves (the dashboard's shell; /workers redirects to it).
const PAGES: &[&str] = &["/"];

async fn fetch(app: &TestApp, path: &str) -> (u16, HeaderMap, String) {
    let response = app.anonymous(Method::GET, path).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

/// Every `/assets/...` URL in the markup, in order.
fn asset_urls(html: &str) -> Vec<&str> {
    html.match_indices("\"/assets/")
        .map(|(start, _)| {
            let url = &html[start + 1..];
            &url[..url.find('"').unwrap()]
        })
        .collect()
}

/// The inside of every tag, `<` and `>` excluded.
fn tags(html: &str) -> impl Iterator<Item = &str> {
    html.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(rest))
}

/// Whether a tag has an `on...=` event handler attribute.
fn has_handler(tag: &str) -> bool {
    tag.split_whitespace().skip(1).any(|attribute| {
        let name = attribute.split('=').next().unwrap_or_default();
        attribute.contains('=')
            && name.len() > 2
            && name.to_ascii_lowercase().starts_with("on")
            && name.chars().all(|c| c.is_ascii_alphabetic())
    })
}

#[tokio::test]
async fn every_page_answers_with_a_strict_policy_and_is_never_stored() {
    let app = spawn_app().await;
    for path in PAGES {
        let (status, headers, _) = fetch(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(header(&headers, "content-type").starts_with("text/html"));
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
        let policy = header(&headers, "content-security-policy");
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-eval"), "{path}: {policy}");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                policy.split("; ").any(|d| d == directive),
                "{path}: {directive} missing from {policy}"
            );
        }
    }
}

#[tokio::test]
async fn no_page_carries_inline_script_style_or_event_handlers() {
    let app = spawn_app().await;
    for path in PAGES {
        let (_, _, html) = fetch(&app, path).await;
        for tag in tags(&html) {
            let lower = tag.to_ascii_lowercase();
            if lower.starts_with("script") {
                assert!(lower.contains(" src=\"/assets/"), "{path}: inline <{tag}>");
            }
            assert!(!lower.starts_with("style"), "{path}: a <style> element");
            assert!(
                !lower.contains("style="),
                "{path}: a style attribute in <{tag}>"
            );
            assert!(!has_handler(tag), "{path}: an event handler in <{tag}>");
        }
        assert!(!html.contains("{{"), "{path}: an unfilled placeholder");
    }
}

#[tokio::test]
async fn every_asset_a_page_references_is_served_for_a_year_under_its_content_hash() {
    let app = spawn_app().await;
    for path in PAGES {
        let (_, _, html) = fetch(&app, path).await;
        let urls = asset_urls(&html);
        assert!(urls.len() >= 2, "{path} links no stylesheet or script");
        for url in urls {
            let name = url.trim_start_matches("/assets/");
            // name.hash.extension, where the name may hold dots (uPlot.min).
            let parts: Vec<&str> = name.rsplitn(3, '.').collect();
            assert_eq!(parts.len(), 3, "{url} is not name.hash.extension");
            assert_eq!(parts[1].len(), 12, "{url}");
            assert!(parts[1].chars().all(|c| c.is_ascii_hexdigit()), "{url}");
            let expected_type = match parts[0] {
                "css" => "text/css",
                "js" => "text/javascript",
                other => panic!("{url}: unexpected extension {other}"),
            };

            let (status, headers, body) = fetch(&app, url).await;
            assert_eq!(status, 200, "{url} referenced by {path}");
            assert!(!body.is_empty(), "{url}");
            assert!(
                header(&headers, CONTENT_TYPE.as_str()).starts_with(expected_type),
                "{url}"
            );
            let caching = header(&headers, CACHE_CONTROL.as_str());
            for directive in ["public", "max-age=31536000", "immutable"] {
                assert!(caching.contains(directive), "{url}: {caching}");
            }
            assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
            let etag = header(&headers, ETAG.as_str());
            assert!(
                etag.starts_with('"') && !etag.starts_with("W/"),
                "{url}: weak ETag {etag}"
            );
        }
    }
}

#[tokio::test]
async fn an_asset_the_browser_already_holds_is_answered_not_modified() {
    let app = spawn_app().await;
    let (_, _, html) = fetch(&app, "/").await;
    for url in asset_urls(&html) {
        let (_, headers, _) = fetch(&app, url).await;
        let etag = header(&headers, ETAG.as_str()).to_owned();

        let response = app
            .anonymous(Method::GET, url)
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{url}");
        assert_eq!(header(response.headers(), ETAG.as_str()), etag);
        assert!(header(response.headers(), CACHE_CONTROL.as_str()).contains("immutable"));
        assert!(response.bytes().await.unwrap().is_empty());

        let response = app
            .anonymous(Method::GET, url)
            .header(IF_NONE_MATCH, "\"some-older-version\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn an_unknown_or_outdated_asset_is_not_found() {
    let app = spawn_app().await;
    for path in [
        "/assets/nothing.css",
        "/assets/workers.js",
        "/assets/workers.000000000000.js",
    ] {
        let (status, _, _) = fetch(&app, path).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn the_workers_address_leads_to_the_dashboards_workers_view() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/workers", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(header(response.headers(), "location"), "/#/workers");
}
