//! Which network addresses checks and notifications may reach (SSRF rule).
//!
//! The rule follows the IANA special-purpose address registries (RFC 6890):
//! every block whose "Globally Reachable" is False or N/A is refused, and so
//! is any IPv6 address outside global unicast (2000::/3). IPv6 forms that
//! carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are
//! judged by that address. Teredo is refused outright: the registry marks it
//! not globally reachable, and a relay would carry traffic to the client
//! address hidden in it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest the API waits for a name lookup while validating a target.
pub const VALIDATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// An IPv4 block the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Block {
    pub network: Ipv4Addr,
    pub prefix_len: u8,
    pub name: &'static str,
}

/// Every IPv4 block refused: the special-purpose registry entries that are
/// not globally reachable, multicast, and the whole of 192.0.0.0/24 (its
/// two anycast addresses too: nothing a check needs answers there).
#[rustfmt::skip]
pub const REFUSED_IPV4: &[Ipv4Block] = &[
    Ipv4Block::new([0, 0, 0, 0],         8,  "this network"),
    Ipv4Block::new([10, 0, 0, 0],        8,  "private use"),
    Ipv4Block::new([100, 64, 0, 0],      10, "shared address space (CGNAT)"),
    Ipv4Block::new([127, 0, 0, 0],       8,  "loopback"),
    Ipv4Block::new([169, 254, 0, 0],     16, "link-local"),
    Ipv4Block::new([172, 16, 0, 0],      12, "private use"),
    Ipv4Block::new([192, 0, 0, 0],       24, "IETF protocol assignments"),
    Ipv4Block::new([192, 0, 2, 0],       24, "documentation (TEST-NET-1)"),
    Ipv4Block::new([192, 88, 99, 0],     24, "6to4 relay anycast (deprecated)"),
    Ipv4Block::new([192, 168, 0, 0],     16, "private use"),
    Ipv4Block::new([198, 18, 0, 0],      15, "benchmarking"),
    Ipv4Block::new([198, 51, 100, 0],    24, "documentation (TEST-NET-2)"),
    Ipv4Block::new([203, 0, 113, 0],     24, "documentation (TEST-NET-3)"),
    Ipv4Block::new([224, 0, 0, 0],       4,  "multicast"),
    Ipv4Block::new([240, 0, 0, 0],       4,  "reserved"),
    Ipv4Block::new([255, 255, 255, 255], 32, "limited broadcast"),
];

impl Ipv4Block {
    const fn new(octets: [u8; 4], prefix_len: u8, name: &'static str) -> Self {
        let [a, b, c, d] = octets;
        Self {
            network: Ipv4Addr::new(a, b, c, d),
            prefix_len,
            name,
        }
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }

    /// True when `ip` is inside the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network)
    }

    /// The block's last address.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !self.mask())
    }
}

impl fmt::Display for Ipv4Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// What the policy does with the addresses of an IPv6 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Never contacted.
    Refused,
    /// Globally reachable, though inside a refused block.
    Reachable,
    /// Carries an IPv4 address, which decides.
    CarriesIpv4(Carried),
}

/// Where an IPv6 form carries its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// The last 32 bits (IPv4-mapped, IPv4-compatible, NAT64).
    Last32Bits,
    /// Bits 16 to 47 (6to4).
    Bits16To47,
}

impl Carried {
    /// The IPv4 address `ip` carries here.
    pub fn extract(self, ip: Ipv6Addr) -> Ipv4Addr {
        let bits = ip.to_bits();
        let shift = match self {
            Carried::Last32Bits => 0,
            Carried::Bits16To47 => 80,
        };
        // Truncating keeps exactly the 32 bits that start at `shift`.
        Ipv4Addr::from((bits >> shift) as u32)
    }
}

/// An IPv6 block of the special-purpose registry (or one the policy adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Block {
    pub network: Ipv6Addr,
    pub prefix_len: u8,
    pub name: &'static str,
    pub treatment: Treatment,
}

/// Global unicast: an IPv6 address outside it and outside every block of
/// [`IPV6_BLOCKS`] is refused.
pub const GLOBAL_UNICAST: Ipv6Block = Ipv6Block::new(
    [0x2000, 0, 0, 0, 0, 0, 0, 0],
    3,
    "global unicast",
    Treatment::Reachable,
);

/// The IPv6 blocks the policy knows; the most specific block holding an
/// address decides.
#[rustfmt::skip]
pub const IPV6_BLOCKS: &[Ipv6Block] = {
    use Carried::{Bits16To47, Last32Bits};
    use Treatment::{CarriesIpv4, Reachable, Refused};
    &[
        Ipv6Block::new([0, 0, 0, 0, 0, 0, 0, 0],          96,  "IPv4-compatible (deprecated)", CarriesIpv4(Last32Bits)),
        Ipv6Block::new([0, 0, 0, 0, 0, 0, 0, 0],          128, "unspecified",                  Refused),
        Ipv6Block::new([0, 0, 0, 0, 0, 0, 0, 1],          128, "loopback",                     Refused),
        Ipv6Block::new([0, 0, 0, 0, 0, 0xffff, 0, 0],     96,  "IPv4-mapped",                  CarriesIpv4(Last32Bits)),
        Ipv6Block::new([0x64, 0xff9b, 0, 0, 0, 0, 0, 0],  96,  "NAT64 well-known prefix",      CarriesIpv4(Last32Bits)),
        Ipv6Block::new([0x64, 0xff9b, 1, 0, 0, 0, 0, 0],  48,  "NAT64 local use",              Refused),
        Ipv6Block::new([0x100, 0, 0, 0, 0, 0, 0, 0],      64,  "discard only",                 Refused),
        Ipv6Block::new([0x100, 0, 0, 1, 0, 0, 0, 0],      64,  "dummy prefix",                 Refused),
        Ipv6Block::new([0x2001, 0, 0, 0, 0, 0, 0, 0],     23,  "IETF protocol assignments",    Refused),
        Ipv6Block::new([0x2001, 0, 0, 0, 0, 0, 0, 0],     32,  "Teredo",                       Refused),
        Ipv6Block::new([0x2001, 1, 0, 0, 0, 0, 0, 1],     128, "PCP anycast",                  Reachable),
        Ipv6Block::new([0x2001, 1, 0, 0, 0, 0, 0, 2],     128, "TURN anycast",                 Reachable),
        Ipv6Block::new([0x2001, 1, 0, 0, 0, 0, 0, 3],     128, "DNS-SD SRP anycast",           Reachable),
        Ipv6Block::new([0x2001, 2, 0, 0, 0, 0, 0, 0],     48,  "benchmarking",                 Refused),
        Ipv6Block::new([0x2001, 3, 0, 0, 0, 0, 0, 0],     32,  "AMT",                          Reachable),
        Ipv6Block::new([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48,  "AS112-v6",                     Reachable),
        Ipv6Block::new([0x2001, 0x10, 0, 0, 0, 0, 0, 0],  28,  "ORCHID (deprecated)",          Refused),
        Ipv6Block::new([0x2001, 0x20, 0, 0, 0, 0, 0, 0],  28,  "ORCHIDv2",                     Reachable),
        Ipv6Block::new([0x2001, 0x30, 0, 0, 0, 0, 0, 0],  28,  "drone remote ID",              Reachable),
        Ipv6Block::new([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32,  "documentation",                Refused),
        Ipv6Block::new([0x2002, 0, 0, 0, 0, 0, 0, 0],     16,  "6to4",                         CarriesIpv4(Bits16To47)),
        Ipv6Block::new([0x3fff, 0, 0, 0, 0, 0, 0, 0],     20,  "documentation",                Refused),
        Ipv6Block::new([0x5f00, 0, 0, 0, 0, 0, 0, 0],     16,  "segment routing (SRv6) SIDs",  Refused),
        Ipv6Block::new([0xfc00, 0, 0, 0, 0, 0, 0, 0],     7,   "unique local",                 Refused),
        Ipv6Block::new([0xfe80, 0, 0, 0, 0, 0, 0, 0],     10,  "link-local",                   Refused),
        Ipv6Block::new([0xfec0, 0, 0, 0, 0, 0, 0, 0],     10,  "site-local (deprecated)",      Refused),
        Ipv6Block::new([0xff00, 0, 0, 0, 0, 0, 0, 0],     8,   "multicast",                    Refused),
    ]
};

impl Ipv6Block {
    const fn new(
        segments: [u16; 8],
        prefix_len: u8,
        name: &'static str,
        treatment: Treatment,
    ) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            network: Ipv6Addr::new(a, b, c, d, e, f, g, h),
            prefix_len,
            name,
            treatment,
        }
    }

    fn mask(&self) -> u128 {
        u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }

    /// True when `ip` is inside the block.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        ip.to_bits() & self.mask() == self.network.to_bits()
    }

    /// The block's last address.
    pub fn last(&self) -> Ipv6Addr {
        Ipv6Addr::from_bits(self.network.to_bits() | !self.mask())
    }
}

impl fmt::Display for Ipv6Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// Names that mean this machine whatever a resolver says, beside
/// `localhost` and every `*.localhost` (RFC 6761): the usual hosts-file aliases.
pub const LOOPBACK_ALIASES: &[&str] = &[
    "localhost.localdomain",
    "localhost6",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ip6-loopback",
];

/// True for names that are loopback by definition: `localhost`,
/// `*.localhost` and [`LOOPBACK_ALIASES`], in any case, with or without the
/// final dot.
pub fn is_loopback_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || LOOPBACK_ALIASES.contains(&name.as_str())
}

/// True for every address the policy refuses: the blocks of
/// [`REFUSED_IPV4`], the refused blocks of [`IPV6_BLOCKS`], IPv6 forms
/// carrying a refused IPv4 address, and IPv6 outside [`GLOBAL_UNICAST`].
pub fn is_forbidden(ip: IpAddr) -> bool {
    refusal(ip).is_some()
}

/// The block that gets an address refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Ipv4(&'static Ipv4Block),
    Ipv6(&'static Ipv6Block),
    /// An IPv6 form carrying a refused IPv4 address.
    Carried {
        form: &'static Ipv6Block,
        inner: &'static Ipv4Block,
    },
    OutsideGlobalUnicast,
}

fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => refused_ipv4_block(v4).map(Refusal::Ipv4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refused_ipv4_block(ip: Ipv4Addr) -> Option<&'static Ipv4Block> {
    REFUSED_IPV4.iter().find(|block| block.contains(ip))
}

fn refusal_v6(ip: Ipv6Addr) -> Option<Refusal> {
    let most_specific = IPV6_BLOCKS
        .iter()
        .filter(|block| block.contains(ip))
        .max_by_key(|block| block.prefix_len);
    let Some(block) = most_specific else {
        return (!GLOBAL_UNICAST.contains(ip)).then_some(Refusal::OutsideGlobalUnicast);
    };
    match block.treatment {
        Treatment::Refused => Some(Refusal::Ipv6(block)),
        Treatment::Reachable => None,
        Treatment::CarriesIpv4(carried) => refused_ipv4_block(carried.extract(ip))
            .map(|inner| Refusal::Carried { form: block, inner }),
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Ipv4(block) => write!(f, "{} {block}", block.name),
            Refusal::Ipv6(block) => write!(f, "{} {block}", block.name),
            Refusal::Carried { form, inner } => {
                write!(f, "{} {inner} inside {} {form}", inner.name, form.name)
            }
            Refusal::OutsideGlobalUnicast => {
                write!(f, "outside {} {GLOBAL_UNICAST}", GLOBAL_UNICAST.name)
            }
        }
    }
}

/// The block that refuses an address, in parentheses, for messages.
struct Why(IpAddr);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match refusal(self.0) {
            Some(refusal) => write!(f, " ({refusal})"),
            None => Ok(()),
        }
    }
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefused {
    #[error("{0} is a private or reserved address{why}; set ALLOW_PRIVATE_TARGETS=true to allow it", why = Why(*.0))]
    PrivateAddress(IpAddr),
    #[error("{host} resolves to {ip}, a private or reserved address{why}; set ALLOW_PRIVATE_TARGETS=true to allow it", why = Why(*.ip))]
    ResolvesPrivate { host: String, ip: IpAddr },
    #[error("{0} is a loopback name, which always means the server itself; set ALLOW_PRIVATE_TARGETS=true to allow it")]
    LoopbackName(String),
}

/// Validation-time check of a host (name or literal address). Loopback
/// names are refused without a lookup; other names are looked up with a
/// bounded wait, and a name that does not resolve now is accepted, since the
/// check will report it and connect-time rules still apply.
pub async fn check_host(host: &str, allow_private: bool) -> Result<(), TargetRefused> {
    if allow_private {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.trim_end_matches('.').parse::<IpAddr>() {
        return if is_forbidden(ip) {
            Err(TargetRefused::PrivateAddress(ip))
        } else {
            Ok(())
        };
    }
    if is_loopback_name(bare) {
        return Err(TargetRefused::LoopbackName(bare.to_owned()));
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

    fn v6_forbidden(ip: Ipv6Addr) -> bool {
        is_forbidden(IpAddr::V6(ip))
    }

    /// `v4` written into the place `carried` reads it from, inside `form`.
    fn carrying(form: &Ipv6Block, carried: Carried, v4: Ipv4Addr) -> Ipv6Addr {
        let shift = match carried {
            Carried::Last32Bits => 0,
            Carried::Bits16To47 => 80,
        };
        Ipv6Addr::from_bits(form.network.to_bits() | (u128::from(v4.to_bits()) << shift))
    }

    fn in_ipv6_table(ip: Ipv6Addr) -> bool {
        IPV6_BLOCKS.iter().any(|block| block.contains(ip))
    }

    #[test]
    fn every_refused_ipv4_block_is_refused_from_first_to_last_address() {
        for block in REFUSED_IPV4 {
            for ip in [block.network, block.last()] {
                assert!(
                    is_forbidden(IpAddr::V4(ip)),
                    "{ip} ({} {block}) should be refused",
                    block.name
                );
            }
        }
    }

    #[test]
    fn every_refused_ipv6_block_is_refused_from_first_to_last_address() {
        let refused = IPV6_BLOCKS
            .iter()
            .filter(|block| block.treatment == Treatment::Refused);
        for block in refused {
            for ip in [block.network, block.last()] {
                assert!(
                    v6_forbidden(ip),
                    "{ip} ({} {block}) should be refused",
                    block.name
                );
            }
        }
    }

    #[test]
    fn globally_reachable_sub_blocks_are_allowed_from_first_to_last_address() {
        let reachable = IPV6_BLOCKS
            .iter()
            .filter(|block| block.treatment == Treatment::Reachable);
        for block in reachable {
            for ip in [block.network, block.last()] {
                assert!(
                    !v6_forbidden(ip),
                    "{ip} ({} {block}) should be allowed",
                    block.name
                );
            }
        }
    }

    #[test]
    fn forms_carrying_ipv4_are_judged_by_the_carried_address() {
        let forms = IPV6_BLOCKS
            .iter()
            .filter_map(|block| match block.treatment {
                Treatment::CarriesIpv4(carried) => Some((block, carried)),
                _ => None,
            });
        for (form, carried) in forms {
            for block in REFUSED_IPV4 {
                for v4 in [block.network, block.last()] {
                    let ip = carrying(form, carried, v4);
                    assert!(
                        v6_forbidden(ip),
                        "{ip} ({} carrying {v4}) should be refused",
                        form.name
                    );
                }
            }
            for v4 in [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)] {
                let ip = carrying(form, carried, v4);
                assert!(
                    !v6_forbidden(ip),
                    "{ip} ({} carrying {v4}) should be allowed",
                    form.name
                );
            }
        }
        for ip in [
            "2002:c000:0201::",
            "2002:7f00:1::",
            "2002:c612::1",
            "64:ff9b::c000:201",
            "::ffff:198.18.0.1",
        ] {
            assert!(forbidden(ip), "{ip} should be refused");
        }
        for ip in [
            "2002:0808:0808::",
            "2002:0808:0808:1::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn teredo_is_refused_even_with_public_server_and_client() {
        // Server 8.8.8.8, client 1.1.1.1 (stored inverted in the last 32 bits).
        assert!(forbidden("2001:0:808:808::fefe:fefe"));
        // RFC 4380's example: server 65.54.227.120, client 192.0.2.45.
        assert!(forbidden("2001:0:4136:e378:8000:63bf:3fff:fdd2"));
    }

    #[test]
    fn addresses_just_outside_each_block_are_allowed() {
        for block in REFUSED_IPV4 {
            let before = u32::from(block.network).checked_sub(1).map(Ipv4Addr::from);
            let after = u32::from(block.last()).checked_add(1).map(Ipv4Addr::from);
            for ip in [before, after].into_iter().flatten() {
                if refused_ipv4_block(ip).is_none() {
                    assert!(
                        !is_forbidden(IpAddr::V4(ip)),
                        "{ip}, next to {block}, should be allowed"
                    );
                }
            }
        }
        for block in IPV6_BLOCKS {
            let before = block
                .network
                .to_bits()
                .checked_sub(1)
                .map(Ipv6Addr::from_bits);
            let after = block
                .last()
                .to_bits()
                .checked_add(1)
                .map(Ipv6Addr::from_bits);
            for ip in [before, after].into_iter().flatten() {
                if !in_ipv6_table(ip) && GLOBAL_UNICAST.contains(ip) {
                    assert!(
                        !v6_forbidden(ip),
                        "{ip}, next to {block}, should be allowed"
                    );
                }
            }
        }
        for ip in [
            "198.17.255.255",
            "198.20.0.0",
            "192.0.1.255",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "100.63.255.255",
            "100.128.0.0",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::",
            "2001:200::",
            "2003::",
            "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff:1000::",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn ipv6_outside_global_unicast_is_refused() {
        for ip in [
            "1::1",
            "64:ff9b:2::1",
            "::ffff:0:808:808",
            "4000::1",
            "8000::1",
            "e000::1",
            "fbff::1",
        ] {
            assert!(forbidden(ip), "{ip} should be refused");
        }
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
            "198.18.0.1",
            "198.19.255.254",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "192.0.0.1",
            "192.0.0.9",
            "192.88.99.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "2001:2::1",
            "2001:10::1",
            "2001:1::4",
            "100::1",
            "5f00::1",
            "fec0::1",
        ] {
            assert!(forbidden(ip), "{ip} should be forbidden");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn refusals_name_the_block() {
        let message =
            |ip: &str| TargetRefused::PrivateAddress(ip.parse().expect("valid ip")).to_string();
        assert_eq!(
            message("198.18.0.1"),
            "198.18.0.1 is a private or reserved address (benchmarking 198.18.0.0/15); \
             set ALLOW_PRIVATE_TARGETS=true to allow it"
        );
        assert_eq!(
            message("2002:7f00:1::"),
            "2002:7f00:1:: is a private or reserved address \
             (loopback 127.0.0.0/8 inside 6to4 2002::/16); set ALLOW_PRIVATE_TARGETS=true to allow it"
        );
        assert_eq!(
            message("4000::1"),
            "4000::1 is a private or reserved address (outside global unicast 2000::/3); \
             set ALLOW_PRIVATE_TARGETS=true to allow it"
        );
        let resolved = TargetRefused::ResolvesPrivate {
            host: "bench.example".to_owned(),
            ip: "2001:db8::1".parse().expect("valid ip"),
        };
        assert_eq!(
            resolved.to_string(),
            "bench.example resolves to 2001:db8::1, a private or reserved address \
             (documentation 2001:db8::/32); set ALLOW_PRIVATE_TARGETS=true to allow it"
        );
    }

    #[test]
    fn loopback_names_are_recognised_in_any_case_with_or_without_the_final_dot() {
        for name in [
            "localhost",
            "localhost.",
            "LocalHost",
            "foo.localhost",
            "a.b.LOCALHOST.",
            "localhost.localdomain",
            "localhost6",
            "ip6-localhost",
            "ip6-loopback.",
        ] {
            assert!(is_loopback_name(name), "{name} is loopback by definition");
        }
        for name in [
            "localhost.example.com",
            "mylocalhost",
            "example.com",
            "localhostx",
        ] {
            assert!(!is_loopback_name(name), "{name} is an ordinary name");
        }
    }

    #[tokio::test]
    async fn loopback_names_are_refused_before_any_lookup() {
        for name in [
            "localhost.",
            "foo.localhost",
            "FOO.LOCALHOST.",
            "ip6-loopback",
        ] {
            assert_eq!(
                check_host(name, false).await,
                Err(TargetRefused::LoopbackName(name.to_owned())),
                "{name}"
            );
        }
        let refused = check_host("localhost.", false).await.expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "localhost. is a loopback name, which always means the server itself; \
             set ALLOW_PRIVATE_TARGETS=true to allow it"
        );
    }

    #[tokio::test]
    async fn localhost_name_is_refused_unless_allowed() {
        assert!(check_host("localhost", false).await.is_err());
        assert!(check_host("localhost", true).await.is_ok());
        assert!(check_host("[::1]", false).await.is_err());
        assert!(check_host("198.18.0.1", false).await.is_err());
        assert!(check_host("127.0.0.1.", false).await.is_err());
        assert!(check_host("[2002:c000:201::]", false).await.is_err());
        assert!(check_host("198.18.0.1", true).await.is_ok());
    }
}
