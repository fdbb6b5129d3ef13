//! What kind of address an IP is, for the `url` input's policy: only
//! public unicast addresses may be fetched (loopback too when a test or a
//! local setup allows it). Forms that embed or translate an IPv4 address
//! (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are classified by what
//! they lead to, and the tunnelling and translation forms are refused even
//! when that is public, since a gateway would re-route them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The class of an address, named in refusals (never the address itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Public unicast: may be fetched.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local).
    Private,
    /// 169.254/16 (incl. cloud metadata services), fe80::/10.
    LinkLocal,
    /// fec0::/10 (deprecated site-local).
    SiteLocal,
    /// 100.64/10 (carrier-grade NAT).
    SharedAddressSpace,
    /// Documentation, benchmarking, future-use and protocol-assignment
    /// ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 198.18/15, 240/4,
    /// 192.0.0/24, 2001:db8::/32, 2001::/23, anything outside 2000::/3 …).
    Reserved,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// An IPv6 form that carries a public IPv4 address through a gateway
    /// (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16).
    Translated,
}

impl AddressClass {
    /// Whether addresses of this class may be fetched.
    pub fn is_fetchable(self, allow_loopback: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Loopback => allow_loopback,
            _ => false,
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::SiteLocal => "site-local",
            Self::SharedAddressSpace => "shared (carrier-grade NAT)",
            Self::Reserved => "reserved/documentation",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Translated => "IPv4-in-IPv6 translation (NAT64/6to4/IPv4-compatible)",
        })
    }
}

/// The class of `ip`.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (169, 254, _) => AddressClass::LinkLocal,
        (100, 64..=127, _) => AddressClass::SharedAddressSpace,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _) => AddressClass::Reserved,
        // IETF protocol assignments, documentation (TEST-NET-1..3),
        // benchmarking, the deprecated 6to4 relay anycast.
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) | (192, 88, 99) => {
            AddressClass::Reserved
        }
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    // ::ffff:a.b.c.d reaches a.b.c.d itself (a dual-stack socket connects over IPv4).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| {
        let class = classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
        if class == AddressClass::Public {
            AddressClass::Translated
        } else {
            class
        }
    };
    match s {
        // IPv4-compatible ::a.b.c.d (deprecated).
        [0, 0, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        // NAT64 well-known prefix: the IPv4 address is the last 32 bits.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
        [0x2002, hi, lo, ..] => embedded(hi, lo),
        // Local-use NAT64 (RFC 8215); where the IPv4 sits depends on the prefix length.
        [0x64, 0xff9b, 1, ..] => AddressClass::Translated,
        [0x64, 0xff9b, ..] => AddressClass::Reserved,
        _ if s[0] & 0xff00 == 0xff00 => AddressClass::Multicast,
        _ if s[0] & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        _ if s[0] & 0xffc0 == 0xfec0 => AddressClass::SiteLocal,
        _ if s[0] & 0xfe00 == 0xfc00 => AddressClass::Private,
        // Only 2000::/3 is global unicast; within it, 2001::/23 (IETF
        // protocol assignments, incl. Teredo 2001::/32) and 2001:db8::/32
        // (documentation) are not hosts to fetch from.
        _ if s[0] & 0xe000 != 0x2000 => AddressClass::Reserved,
        [0x2001, 0x0db8, ..] => AddressClass::Reserved,
        [0x2001, second, ..] if second < 0x0200 => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

#[cfg(test)]
mod tests {
    use super::AddressClass::*;
    use super::*;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
    }

    #[test]
    fn ipv4_ranges() {
        let cases = [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.169.254", LinkLocal),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.254", SharedAddressSpace),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("254.1.1.1", Reserved),
            ("192.0.0.8", Reserved),
            ("192.0.2.10", Reserved),
            ("198.51.100.7", Reserved),
            ("203.0.113.5", Reserved),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("192.88.99.1", Reserved),
            ("8.8.8.8", Public),
            ("93.184.216.34", Public),
            ("172.32.0.1", Public),
            ("100.128.0.1", Public),
            ("198.20.0.1", Public),
            ("192.0.3.1", Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4() {
        let cases = [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("feff::1", SiteLocal),
            ("fd00::1", Private),
            ("fc00::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Reserved),
            ("2001:db8:ffff::1", Reserved),
            ("2001::1", Reserved),
            ("2001:2::1", Reserved),
            ("100::1", Reserved),
            ("4000::1", Reserved),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::10.0.0.1", Private),
            ("::8.8.8.8", Translated),
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::808:808", Translated),
            ("64:ff9b:1::808:808", Translated),
            ("64:ff9b:1:2::1", Translated),
            ("64:ff9b:2::1", Reserved),
            ("2002:7f00:1::1", Loopback),
            ("2002:c0a8:101::1", Private),
            ("2002:808:808::1", Translated),
            ("2606:2800:220:1:248:1893:25c8:1946", Public),
            ("2a00:1450:4001::1", Public),
            ("2001:4860::8888", Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn only_public_addresses_are_fetchable_and_loopback_when_allowed() {
        assert!(Public.is_fetchable(false));
        assert!(!Loopback.is_fetchable(false));
        assert!(Loopback.is_fetchable(true));
        for other in
            [Private, LinkLocal, SiteLocal, SharedAddressSpace, Reserved, Unspecified, Multicast, Broadcast, Translated]
        {
            assert!(!other.is_fetchable(true), "{other}");
        }
    }
}
