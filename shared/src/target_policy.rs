//! Which network addresses checks and notifications may reach (SSRF rule).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest the API waits for a name lookup while validating a target.
pub const VALIDATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// True for loopback, private, link-local, unspecified, multicast, broadcast,
/// shared (CGNAT) and unique-local addresses, including IPv4-mapped and
/// IPv4-compatible IPv6 forms of them.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let segments = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 well-known prefix.
    if segments[..6] == [0, 0, 0, 0, 0, 0] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return ip.is_loopback() || ip.is_unspecified() || is_forbidden_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefused {
    #[error("{0} is a private, loopback or link-local address; set ALLOW_PRIVATE_TARGETS=true to allow it")]
    PrivateAddress(IpAddr),
    #[error("{host} resolves to {ip}, a private, loopback or link-local address; set ALLOW_PRIVATE_TARGETS=true to allow it")]
    ResolvesPrivate { host: String, ip: IpAddr },
}

/// Validation-time check of a host (name or literal address). Names are
/// looked up with a bounded wait; a name that does not resolve now is
/// accepted, since the check will report it and connect-time rules still apply.
pub async fn check_host(host: &str, allow_private: bool) -> Result<(), TargetRefused> {
    if allow_private {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return if is_forbidden(ip) {
            Err(TargetRefused::PrivateAddress(ip))
        } else {
            Ok(())
        };
    }
    let lookup = tokio::net::lookup_host((bare, 0));
    let Ok(Ok(addresses)) = tokio::time::timeout(VALIDATION_LOOKUP_TIMEOUT, lookup).await else {
        return Ok(());
    };
    for address in addresses {
        if is_forbidden(address.ip()) {
            return Err(TargetRefused::ResolvesPrivate {
                host: bare.to_owned(),
                ip: address.ip(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(text: &str) -> bool {
        is_forbidden(text.parse().expect("valid ip"))
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(forbidden(ip), "{ip} should be forbidden");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[tokio::test]
    async fn localhost_name_is_refused_unless_allowed() {
        assert!(check_host("localhost", false).await.is_err());
        assert!(check_host("localhost", true).await.is_ok());
        assert!(check_host("[::1]", false).await.is_err());
    }
}
