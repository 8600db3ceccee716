//! The target policy end to end: every refused range is answered 422 at
//! create time (monitors, channels, `/ping-endpoint`), loopback names are
//! refused without a lookup, and at connect time a name that resolves into a
//! refused range is refused before any connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};
use shared::check::{Engine, EngineOptions};
use shared::model::CheckStatus;
use shared::target_policy::{Carried, Ipv6Block, Treatment, IPV6_BLOCKS, REFUSED_IPV4};
use tokio::net::UdpSocket;

use crate::helpers::{assert_error, invalid_fields, spawn_app, TestApp};

/// How a literal address is written as a URL host.
fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `v4` written where `form` carries its IPv4 address.
fn carrying(form: &Ipv6Block, carried: Carried, v4: Ipv4Addr) -> Ipv6Addr {
    let shift = match carried {
        Carried::Last32Bits => 0,
        Carried::Bits16To47 => 80,
    };
    Ipv6Addr::from_bits(form.network.to_bits() | (u128::from(v4.to_bits()) << shift))
}

/// A literal address from every refused range: the first and last address
/// of each refused block, each IPv6 form carrying a refused IPv4 address,
/// and IPv6 outside global unicast.
fn one_address_per_refused_range() -> Vec<(IpAddr, String)> {
    let mut addresses = Vec::new();
    for block in REFUSED_IPV4 {
        for ip in [block.network, block.last()] {
            addresses.push((IpAddr::V4(ip), format!("{} {block}", block.name)));
        }
    }
    for block in IPV6_BLOCKS {
        match block.treatment {
            Treatment::Refused => {
                for ip in [block.network, block.last()] {
                    addresses.push((IpAddr::V6(ip), format!("{} {block}", block.name)));
                }
            }
            Treatment::CarriesIpv4(carried) => {
                for inner in REFUSED_IPV4 {
                    let ip = carrying(block, carried, inner.network);
                    addresses.push((
                        IpAddr::V6(ip),
                        format!("{} {block} carrying {} {inner}", block.name, inner.name),
                    ));
                }
            }
            Treatment::Reachable => {}
        }
    }
    addresses.push(("4000::1".parse().unwrap(), "outside 2000::/3".to_owned()));
    addresses
}

/// Posts `body` to `path` and asserts a 422 naming only `field`, whose
/// message contains `why`.
async fn assert_refused(app: &TestApp, path: &str, body: Value, field: &str, why: &str) {
    let error = assert_error(app.post(path, &body).await, 422, "validation_failed").await;
    assert_eq!(invalid_fields(&error), [field], "{body} -> {error}");
    let message = error["details"][0]["message"].as_str().unwrap();
    assert!(message.contains(why), "{body} -> {message}");
    assert!(
        message.contains("ALLOW_PRIVATE_TARGETS=true"),
        "{body} -> {message}"
    );
}

async fn ping(app: &TestApp, endpoint: &str) -> reqwest::Response {
    app.anonymous(reqwest::Method::POST, "/ping-endpoint")
        .json(&json!({ "endpoint": endpoint }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn http_monitors_on_every_refused_range_are_refused() {
    let app = spawn_app().await;
    for (ip, range) in one_address_per_refused_range() {
        let body =
            json!({"name": range, "type": "http", "target": format!("http://{}/", url_host(ip))});
        assert_refused(
            &app,
            "/api/v1/monitors",
            body,
            "target",
            "is a private or reserved address",
        )
        .await;
    }
}

#[tokio::test]
async fn tcp_tls_dns_resolver_and_channel_targets_refuse_reserved_ranges() {
    let app = spawn_app().await;
    for ip in [
        "198.18.0.1",
        "198.19.255.255",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.200",
        "192.0.0.1",
        "192.88.99.1",
        "2001:db8::1",
        "3fff::1",
        "2001:2::1",
        "2001::1",
        "2002:7f00:1::",
        "2002:c000:201::",
        "64:ff9b:1::1",
        "64:ff9b::c612:1",
        "5f00::1",
        "100::1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let host = url_host(ip);
        let why = format!("{ip} is a private or reserved address");
        let monitors = [
            (
                json!({"name": "n", "type": "tcp", "target": format!("{host}:80")}),
                "target",
            ),
            (
                json!({"name": "n", "type": "tls", "target": format!("{host}:443")}),
                "target",
            ),
            (
                json!({"name": "n", "type": "dns", "target": "example.com", "dnsResolver": ip.to_string()}),
                "dnsResolver",
            ),
        ];
        for (body, field) in monitors {
            assert_refused(&app, "/api/v1/monitors", body, field, &why).await;
        }
        let channel =
            json!({"name": "hook", "type": "webhook", "url": format!("https://{host}/hook")});
        assert_refused(&app, "/api/v1/channels", channel, "url", &why).await;
    }
}

#[tokio::test]
async fn loopback_names_are_refused_at_create_time() {
    let app = spawn_app().await;
    let monitors = [
        json!({"name": "n", "type": "http", "target": "http://localhost./"}),
        json!({"name": "n", "type": "http", "target": "http://foo.localhost/"}),
        json!({"name": "n", "type": "http", "target": "https://Api.LocalHost.:8443/health"}),
        json!({"name": "n", "type": "http", "target": "http://localhost.localdomain/"}),
        json!({"name": "n", "type": "tcp", "target": "localhost.:80"}),
        json!({"name": "n", "type": "tcp", "target": "ip6-localhost:5432"}),
        json!({"name": "n", "type": "tls", "target": "ip6-loopback:443"}),
    ];
    for body in monitors {
        assert_refused(
            &app,
            "/api/v1/monitors",
            body,
            "target",
            "is a loopback name",
        )
        .await;
    }
    let channel = json!({"name": "hook", "type": "webhook", "url": "https://hooks.localhost./in"});
    assert_refused(
        &app,
        "/api/v1/channels",
        channel,
        "url",
        "is a loopback name",
    )
    .await;
}

#[tokio::test]
async fn public_addresses_are_still_accepted() {
    let app = spawn_app().await;
    for target in [
        "http://1.1.1.1/",
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "https://[2a00:1450::1]/",
        "http://[2002:808:808::1]/",
        "http://[64:ff9b::808:808]/",
        "http://[::ffff:8.8.8.8]/",
    ] {
        app.create_monitor(json!({"name": "n", "type": "http", "target": target}))
            .await;
    }
    app.create_monitor(json!({"name": "n", "type": "tcp", "target": "[2001:4860:4860::8888]:53"}))
        .await;
}

#[tokio::test]
async fn ping_endpoint_refuses_reserved_ranges_without_contacting_them() {
    let app = spawn_app().await;
    for (endpoint, why) in [
        (
            "http://198.18.0.1/",
            "198.18.0.1 is a private or reserved address",
        ),
        (
            "http://192.0.2.1/",
            "192.0.2.1 is a private or reserved address",
        ),
        (
            "http://[2002:7f00:1::]/",
            "2002:7f00:1:: is a private or reserved address",
        ),
        (
            "https://203.0.113.9:8443/x",
            "203.0.113.9 is a private or reserved address",
        ),
        ("http://localhost./", "localhost. is a loopback name"),
    ] {
        let error = assert_error(ping(&app, endpoint).await, 422, "validation_failed").await;
        assert_eq!(invalid_fields(&error), ["endpoint"], "{endpoint}");
        let message = error["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{endpoint} -> {message}");
    }
}

/// A DNS responder on 127.0.0.1 answering A and AAAA queries from
/// `answers` (an empty answer for the other type, NXDOMAIN for other names).
async fn dns_answering(answers: &'static [(&'static str, &'static str)]) -> SocketAddr {
    use hickory_resolver::proto::op::{Message, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, AAAA};
    use hickory_resolver::proto::rr::{RData, Record, RecordType};

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(query) = request.queries.first().cloned() else {
                continue;
            };
            let name = query.name().to_ascii().to_ascii_lowercase();
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.recursion_desired = request.metadata.recursion_desired;
            response.metadata.recursion_available = true;
            response.metadata.authoritative = true;
            response.add_queries(request.queries.iter().cloned());
            let known: Vec<IpAddr> = answers
                .iter()
                .filter(|(owner, _)| name.trim_end_matches('.') == *owner)
                .map(|(_, ip)| ip.parse().unwrap())
                .collect();
            if known.is_empty() {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            for ip in known {
                let data = match (ip, query.query_type()) {
                    (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                    (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                    _ => continue,
                };
                response.add_answer(Record::from_rdata(query.name().clone(), 60, data));
            }
            if let Ok(bytes) = response.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

fn strict_engine(name_server: SocketAddr, allow_private: bool) -> std::sync::Arc<Engine> {
    Engine::new(EngineOptions {
        allow_private_targets: allow_private,
        tls_expiry_warn_days: 14,
        extra_roots: Vec::new(),
        name_servers: vec![name_server],
        default_timeout: Duration::from_secs(2),
        denied_addresses: Vec::new(),
    })
    .unwrap()
}

#[tokio::test]
async fn names_resolving_into_reserved_ranges_are_refused_at_connect_time() {
    const ANSWERS: &[(&str, &str)] = &[
        ("bench.test", "198.18.0.1"),
        ("doc.test", "192.0.2.1"),
        ("ietf.test", "192.0.0.8"),
        ("doc6.test", "2001:db8::1"),
        ("sixtofour.test", "2002:7f00:1::"),
        ("nat64.test", "64:ff9b::c000:201"),
        ("teredo.test", "2001:0:808:808::fefe:fefe"),
        ("mapped.test", "::ffff:127.0.0.1"),
    ];
    let dns = dns_answering(ANSWERS).await;
    let engine = strict_engine(dns, false);
    for (name, ip) in ANSWERS {
        let outcome = engine.ping(&format!("http://{name}:9/")).await;
        assert_eq!(outcome.status, CheckStatus::Down, "{name}");
        let error = outcome.error.as_deref().unwrap_or("");
        assert!(
            error.starts_with(&format!(
                "refused: {name} resolves to {}, a private or reserved address",
                ip.parse::<IpAddr>().unwrap()
            )),
            "{name}: {error}"
        );
        assert_eq!(
            outcome.timings.connect_ms, None,
            "{name}: no connection may be tried"
        );
    }
}

#[tokio::test]
async fn a_mapped_loopback_answer_never_reaches_the_listener() {
    const ANSWERS: &[(&str, &str)] = &[("mapped.test", "::ffff:127.0.0.1")];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let dns = dns_answering(ANSWERS).await;
    let url = format!("http://mapped.test:{port}/");

    let outcome = strict_engine(dns, false).ping(&url).await;
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("refused:"),
        "{outcome:?}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The same answer does reach the listener when private targets are allowed.
    strict_engine(dns, true).ping(&url).await;
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn webhooks_to_reserved_addresses_are_refused_at_send_time() {
    use shared::config::Config;
    use shared::model::channel::ChannelTarget;
    use shared::model::ChannelType;
    use shared::notify::send::{Delivery, Outcome, Sender};

    let config = Config::from_pairs([("WEBHOOK_TIMEOUT_SECONDS", "2")]).unwrap();
    let sender = Sender::new(&config).unwrap();
    let payload = json!({"type": "test"});
    for url in [
        "https://198.18.0.1/hook",
        "https://192.0.2.1/hook",
        "https://[2001:db8::1]/hook",
        "https://[2002:c000:201::]/hook",
    ] {
        let target = ChannelTarget {
            url: Some(url.to_owned()),
            bot_token: None,
            chat_id: None,
        };
        let attempt = sender
            .send(Delivery {
                event_id: uuid::Uuid::now_v7(),
                kind: ChannelType::Webhook,
                target: &target,
                signing_secret: None,
                payload: &payload,
            })
            .await;
        assert_eq!(attempt.outcome, Outcome::Permanent, "{url}: {attempt:?}");
        assert!(
            attempt
                .error
                .as_deref()
                .unwrap_or("")
                .contains("private or reserved"),
            "{url}: {attempt:?}"
        );
    }
}
