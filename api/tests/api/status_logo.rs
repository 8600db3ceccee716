//! A status page's logo: fetched by the API from `logoUrl` (a real HTTP
//! server on loopback here), served from the page's own origin at a
//! content-hashed path, and reported in the management API; what is not an
//! image, too large, or refused by the target policy is never shown.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{spawn_app_with, TestApp};

/// A PNG header and a few bytes: enough for the API to tell the type.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const SVG: &str = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
    width=\"10\" height=\"10\"><script>alert(1)</script><rect width=\"10\" height=\"10\"/></svg>";

/// Serves the logos of this test on a loopback port: `/logo.png`,
/// `/logo.svg`, `/page.html` (not an image), `/big.png` (over 256 KiB),
/// `/moved` (a redirect to `/logo.png`) and 404 for anything else.
async fn logo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let big = {
                    let mut big = PNG.to_vec();
                    big.resize(300 * 1024, 0);
                    big
                };
                let (status, extra, body): (&str, String, Vec<u8>) = match path.as_str() {
                    "/logo.png" => ("200 OK", "Content-Type: image/png\r\n".into(), PNG.to_vec()),
                    "/logo.svg" => (
                        "200 OK",
                        "Content-Type: image/svg+xml\r\n".into(),
                        SVG.as_bytes().to_vec(),
                    ),
                    "/page.html" => (
                        "200 OK",
                        "Content-Type: image/png\r\n".into(),
                        b"<html><body>not a logo</body></html>".to_vec(),
                    ),
                    "/big.png" => ("200 OK", "Content-Type: image/png\r\n".into(), big),
                    "/moved" => (
                        "302 Found",
                        format!("Location: http://{address}/logo.png\r\n"),
                        Vec::new(),
                    ),
                    _ => ("404 Not Found", String::new(), b"no".to_vec()),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

/// Creates a published page with `logo_url` and one component.
async fn page(app: &TestApp, slug: &str, logo_url: &str) -> String {
    let response = app
        .post("/api/v1/components", &json!({"name": "Website"}))
        .await;
    assert_eq!(response.status(), 201);
    let component: Value = response.json().await.unwrap();
    let response = app
        .post(
            "/api/v1/status-pages",
            &json!({"slug": slug, "title": "Acme", "published": true, "logoUrl": logo_url,
                    "sections": [{"name": "All", "componentIds": [component["id"]]}]}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["logo"]["state"], "pending", "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Polls the management API until the page's logo is in `state`.
async fn logo_state(app: &TestApp, page: &str, state: &str) -> Value {
    let started = Instant::now();
    loop {
        let body: Value = app
            .get(&format!("/api/v1/status-pages/{page}"))
            .await
            .json()
            .await
            .unwrap();
        if body["logo"]["state"] == state {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the logo never reached {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the public page until `check` holds for its HTML.
async fn public_html(app: &TestApp, slug: &str, check: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let html = app
            .anonymous(Method::GET, &format!("/status/{slug}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if check(&html) {
            return html;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the page never changed as expected:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The logo's path on the page, if it shows one.
fn logo_src(html: &str) -> Option<String> {
    let at = html.find("class=\"brand-logo\" src=\"")? + 24;
    Some(html[at..at + html[at..].find('"')?].to_owned())
}

#[tokio::test]
async fn a_logo_is_fetched_once_and_served_from_the_page_itself() {
    let server = logo_server().await;
    let app = spawn_app_with(&[("ALLOW_PRIVATE_TARGETS", "true")]).await;
    let page_id = page(&app, "acme", &format!("{server}/moved")).await;

    let body = logo_state(&app, &page_id, "shown").await;
    assert_eq!(body["logo"]["contentType"], "image/png");
    assert_eq!(body["logo"]["bytes"], PNG.len());
    assert!(body["logo"]["fetchedAt"].is_string(), "{body}");
    assert!(body["logo"]["error"].is_null());

    let html = public_html(&app, "acme", |h| logo_src(h).is_some()).await;
    let src = logo_src(&html).unwrap();
    assert!(src.starts_with("/status/acme/logo/"), "{src}");
    // Decorative: the page's name follows it in the same link.
    assert!(html.contains("alt=\"\""));
    let response = app.anonymous(Method::GET, &src).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    let etag = headers["etag"].clone();
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    let again = app
        .anonymous(Method::GET, &src)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Another hash, or another page's path, is a plain 404.
    for wrong in [
        format!("/status/acme/logo/{}", "0".repeat(64)),
        src.replace("/acme/", "/nope/"),
    ] {
        let response = app.anonymous(Method::GET, &wrong).send().await.unwrap();
        assert_eq!(response.status(), 404, "{wrong}");
    }

    // An SVG is served with a policy under which its script cannot run.
    let path = format!("/api/v1/status-pages/{page_id}");
    let response = app
        .patch(&path, &json!({"logoUrl": format!("{server}/logo.svg")}))
        .await;
    assert_eq!(response.status(), 200);
    logo_state(&app, &page_id, "shown").await;
    let html = public_html(&app, "acme", |h| logo_src(h).is_some_and(|s| s != src)).await;
    let svg = app
        .anonymous(Method::GET, &logo_src(&html).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let policy = svg.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("sandbox"),
        "{policy}"
    );

    // What is not an image, or is too large, is never shown, and says why.
    for (file, why) in [
        ("page.html", "not a PNG, JPEG, GIF, WebP, ICO or SVG image"),
        ("big.png", "larger than 256 KiB"),
        ("gone.png", "HTTP 404"),
    ] {
        let response = app
            .patch(&path, &json!({"logoUrl": format!("{server}/{file}")}))
            .await;
        assert_eq!(response.status(), 200);
        let body = logo_state(&app, &page_id, "failed").await;
        let error = body["logo"]["error"].as_str().unwrap();
        assert!(error.contains(why), "{file}: {error}");
        public_html(&app, "acme", |h| logo_src(h).is_none()).await;
    }

    // No logo URL, no logo.
    let response = app.patch(&path, &json!({"logoUrl": null})).await;
    let body: Value = response.json().await.unwrap();
    assert!(body["logo"].is_null(), "{body}");
}

#[tokio::test]
async fn a_logo_on_a_private_address_is_refused_by_the_target_policy() {
    let server = logo_server().await;
    let app = spawn_app_with(&[]).await;
    let page_id = page(&app, "private", &format!("{server}/logo.png")).await;
    let body = logo_state(&app, &page_id, "failed").await;
    let error = body["logo"]["error"].as_str().unwrap();
    assert!(error.contains("private or reserved address"), "{error}");
    let html = public_html(&app, "private", |h| h.contains("Acme")).await;
    assert!(logo_src(&html).is_none());
}
