//! Which shard a packet goes to with `-j N` (the capture thread calls
//! [`shard_hash`] on every packet).
//!
//! A packet can belong to more than one connection: a tunnel datagram is
//! counted by its outer UDP connection and carries a packet of an inner one.
//! Every packet of every connection, outer and inner, must reach the same
//! shard, so the key of a packet is an *anchor* that all of them share:
//!
//! 1. By default the outermost IP address pair, direction-independent
//!    (fragments, both directions, every connection between two hosts and
//!    every tunnel whose two directions use the same outer pair meet).
//! 2. Teredo (RFC 4380) is built to be asymmetric: a client talks through
//!    its server (UDP 3544) and receives from a relay, so the two directions
//!    of an inner connection travel between different outer pairs. Every
//!    Teredo datagram is anchored to the Teredo client's UDP endpoint
//!    (address and port, as the capture sees them), the one thing the
//!    client's server and relay connections share: the side whose inner
//!    IPv6 address is a Teredo address (`2001:0::/32`) when exactly one is,
//!    else (qualification, bubbles between two clients) the side that is
//!    not port 3544. Both answers are the same for every packet of a
//!    Teredo connection, so the outer connections stay whole too.
//! 3. 6to4 (RFC 3056, IPv6 in IPv4, protocol 41) is asymmetric the same
//!    way (out through the anycast relay 192.88.99.1, back from whichever
//!    relay is nearest): an inner IPv6 packet with a 6to4 address
//!    (`2002::/16`) on exactly one side is anchored to the IPv4 address
//!    embedded in it. IP tunnels have no outer connection to keep whole.
//! 4. A native IPv6 packet with a Teredo or 6to4 address on exactly one
//!    side is anchored to the IPv4 endpoint embedded in that address, so the
//!    native leg of a connection seen at a relay (outside the client's NAT,
//!    where the embedded endpoint is the one the capture sees) meets its
//!    tunnelled leg.
//!
//! Fragments of an outer IPv4 packet (other than the first, they carry no
//! transport header) can only be keyed by their addresses, so a fragmented
//! tunnel datagram always takes rule 1. What still splits is listed in the
//! README ("Workers").
//!
//! Must not: allocate, lock or loop without a bound (it runs once per packet
//! on the capture thread), or depend on anything but the frame's bytes.

use crate::decode::link;
use crate::decode::tunnel;

/// FNV-1a offset basis.
const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &x in bytes {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// An IPv4 endpoint a packet is anchored to (port 0 for a 6to4 host).
type Endpoint = ([u8; 4], u16);

/// The Teredo server port.
const TEREDO_PORT: u16 = 3544;

/// Ports where Zeek's UDP analyzer runs another tunnel analyzer before it
/// would try Teredo (GTP 2123/2152, GRE 4754, VXLAN 4789, AYIYA 5072,
/// Geneve 6081): such connections keep the address pair.
fn other_tunnel_port(p: u16) -> bool {
    matches!(p, 2123 | 2152 | 4754 | 4789 | 5072 | 6081)
}

/// A shard key for a frame of link type `linktype`: equal for every packet
/// of a connection (outer and inner, see the module documentation), spread
/// over connections. Non-IP frames hash to 0.
pub fn shard_hash(linktype: u32, frame: &[u8]) -> u64 {
    // The common frame, Ethernet with IPv4 or IPv6 right after the
    // addresses, without the whole link decoder (which gives the same IP
    // bytes for it: more than 16 bytes, an EtherType of IP, no VLAN or
    // FabricPath header, nothing trimmed).
    if linktype == crate::capture::linktype::ETHERNET && frame.len() > 16 {
        if let 0x0800 | 0x86dd = crate::decode::be16(frame, 12) {
            return ip_hash(&frame[14..]);
        }
    }
    let Ok(Some(l3)) = link::decode(linktype, frame) else {
        return 0;
    };
    ip_hash(l3.ip)
}

/// The shard key of an IP packet (the bytes from its IP header on).
fn ip_hash(ip: &[u8]) -> u64 {
    match ip.first().map(|v| v >> 4) {
        Some(4) if ip.len() >= 20 => {
            let (src, dst) = (&ip[12..16], &ip[16..20]);
            match v4_anchor(ip) {
                Some(e) => endpoint_hash(e),
                None => pair_hash(src, dst),
            }
        }
        Some(6) if ip.len() >= 40 => {
            let (src, dst) = (&ip[8..24], &ip[24..40]);
            match v6_anchor(src, dst) {
                Some(e) => endpoint_hash(e),
                None => pair_hash(src, dst),
            }
        }
        _ => 0,
    }
}

/// The direction-independent hash of an address pair (rule 1).
fn pair_hash(a: &[u8], b: &[u8]) -> u64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    crate::conn::uid::mix(fnv(fnv(FNV_BASIS, lo), hi))
}

/// The hash of one anchoring endpoint (rules 2 to 4).
fn endpoint_hash((addr, port): Endpoint) -> u64 {
    let h = fnv(fnv(FNV_BASIS, &addr), &port.to_be_bytes());
    crate::conn::uid::mix(fnv(h, b"anchor"))
}

/// The anchor of an IPv4 packet: a Teredo datagram's client endpoint (rule
/// 2) or the 6to4 host inside protocol 41 (rule 3); none for a fragment.
fn v4_anchor(ip: &[u8]) -> Option<Endpoint> {
    let ihl = ((ip[0] & 0x0f) as usize) * 4;
    let fragment = crate::decode::be16(ip, 6) & 0x3fff != 0;
    if ihl < 20 || fragment {
        return None;
    }
    // The bytes the IPv4 header counts (not the link layer's padding).
    let end = (crate::decode::be16(ip, 2) as usize).min(ip.len());
    let l4 = ip.get(ihl..end)?;
    match ip[9] {
        17 => {
            let src = [ip[12], ip[13], ip[14], ip[15]];
            let dst = [ip[16], ip[17], ip[18], ip[19]];
            teredo_client(src, dst, l4)
        }
        41 => {
            let inner = l4.get(..40)?;
            if inner[0] >> 4 != 6 {
                return None;
            }
            v6_anchor(&inner[8..24], &inner[24..40])
        }
        _ => None,
    }
}

/// The Teredo client's endpoint of a UDP datagram `udp` from `src` to `dst`
/// (rule 2), or none when the datagram is not Teredo by either test.
fn teredo_client(src: [u8; 4], dst: [u8; 4], udp: &[u8]) -> Option<Endpoint> {
    if udp.len() < 8 {
        return None;
    }
    let sp = crate::decode::be16(udp, 0);
    let dp = crate::decode::be16(udp, 2);
    if other_tunnel_port(sp) || other_tunnel_port(dp) {
        return None;
    }
    if let Some(h) = tunnel::teredo_inner_header(&udp[8..]) {
        match (is_teredo(&h[8..24]), is_teredo(&h[24..40])) {
            (true, false) => return Some((src, sp)),
            (false, true) => return Some((dst, dp)),
            _ => {}
        }
    }
    match (sp == TEREDO_PORT, dp == TEREDO_PORT) {
        (true, false) => Some((dst, dp)),
        (false, true) => Some((src, sp)),
        _ => None,
    }
}

/// The anchor of an IPv6 address pair: the IPv4 endpoint embedded in the
/// one Teredo address, else in the one 6to4 address (rules 3 and 4).
fn v6_anchor(src: &[u8], dst: &[u8]) -> Option<Endpoint> {
    match (is_teredo(src), is_teredo(dst)) {
        (true, false) => return Some(teredo_mapped(src)),
        (false, true) => return Some(teredo_mapped(dst)),
        _ => {}
    }
    match (is_6to4(src), is_6to4(dst)) {
        (true, false) => Some(([src[2], src[3], src[4], src[5]], 0)),
        (false, true) => Some(([dst[2], dst[3], dst[4], dst[5]], 0)),
        _ => None,
    }
}

/// A Teredo address: `2001:0000::/32`.
fn is_teredo(a: &[u8]) -> bool {
    a[..4] == [0x20, 0x01, 0, 0]
}

/// A 6to4 address: `2002::/16`.
fn is_6to4(a: &[u8]) -> bool {
    a[..2] == [0x20, 0x02]
}

/// The client's mapped (public) endpoint in a Teredo address: the last 32
/// bits and the 16 before them, each inverted.
fn teredo_mapped(a: &[u8]) -> Endpoint {
    let port = crate::decode::be16(a, 10) ^ 0xffff;
    ([!a[12], !a[13], !a[14], !a[15]], port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::linktype;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(s: &str) -> [u8; 4] {
        s.parse::<Ipv4Addr>().unwrap().octets()
    }

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }

    /// Ethernet + IPv4 (no options) around `l4`; `frag` is the flags and
    /// offset word. Checksums do not matter to the shard hash.
    fn eth_v4(src: [u8; 4], dst: [u8; 4], proto: u8, frag: u16, l4: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1]);
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(l4);
        f
    }

    /// An IPv6 packet (no extension headers).
    fn ip6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    fn eth_v6(pkt: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        f.extend_from_slice(pkt);
        f
    }

    fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = sp.to_be_bytes().to_vec();
        u.extend_from_slice(&dp.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    /// A UDP datagram in Ethernet/IPv4.
    fn eth_udp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, payload: &[u8]) -> Vec<u8> {
        eth_v4(src, dst, 17, 0, &udp(sp, dp, payload))
    }

    fn h(frame: &[u8]) -> u64 {
        shard_hash(linktype::ETHERNET, frame)
    }

    /// A Teredo origin indication (port and address inverted).
    fn origin(port: u16, addr: [u8; 4]) -> Vec<u8> {
        let mut o = vec![0, 0];
        o.extend_from_slice(&(!port).to_be_bytes());
        o.extend(addr.iter().map(|b| !b));
        o
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// An ICMPv6 echo (request or reply).
    fn echo(reply: bool) -> Vec<u8> {
        vec![
            if reply { 129 } else { 128 },
            0,
            0,
            0,
            0,
            7,
            0,
            1,
            b'p',
            b'i',
        ]
    }

    /// A TCP header (flags only; the shard hash reads no further).
    fn tcp(sp: u16, dp: u16, flags: u8) -> Vec<u8> {
        let mut t = sp.to_be_bytes().to_vec();
        t.extend_from_slice(&dp.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t
    }

    // The addresses of Zeek's Teredo trace (`tunnels/Teredo.pcap`): the client
    // behind a NAT, its server (and the server's second address, which
    // answers the cone test), a relay on an ordinary port, a native peer.
    const CLIENT: &str = "192.168.2.16";
    const CPORT: u16 = 3797;
    const SERVER: &str = "65.55.158.80";
    const SERVER2: &str = "65.55.158.81";
    const RELAY: &str = "83.170.1.38";
    const RPORT: u16 = 32900;
    const T: &str = "2001:0:4137:9e50:8000:f12a:b9c8:2815";
    const PEER: &str = "2001:4860:0:2001::68";

    /// Every packet of the client's Teredo exchanges: qualification with its
    /// server, an echo request through the server whose reply comes back
    /// through the relay, bubbles, and a TCP connection through the relay.
    fn teredo_exchange() -> Vec<(&'static str, Vec<u8>)> {
        let (c, s, s2, r) = (v4(CLIENT), v4(SERVER), v4(SERVER2), v4(RELAY));
        let (t, x) = (v6(T), v6(PEER));
        let client_ll = v6("fe80::8000:ffff:ffff:fffd");
        let server_ll = v6("fe80::8000:f227:bec8:61af");
        let rs = ip6(client_ll, v6("ff02::2"), 58, &[133, 0, 0, 0, 0, 0, 0, 0]);
        let ra = ip6(server_ll, client_ll, 58, &[134, 0, 0, 0, 0, 0, 0, 0]);
        let bubble = |a, b| ip6(a, b, 59, &[]);
        let to_server = |p: &[u8]| eth_udp(c, CPORT, s, TEREDO_PORT, p);
        let from_server = |from, p: &[u8]| eth_udp(from, TEREDO_PORT, c, CPORT, p);
        let to_relay = |p: &[u8]| eth_udp(c, CPORT, r, RPORT, p);
        let from_relay = |p: &[u8]| eth_udp(r, RPORT, c, CPORT, p);
        vec![
            ("router solicitation", to_server(&rs)),
            (
                "router advertisement (cone test, second address)",
                from_server(s2, &cat(&[&origin(CPORT, [70, 55, 215, 234]), &ra])),
            ),
            (
                "router advertisement",
                from_server(s, &cat(&[&origin(CPORT, [70, 55, 215, 234]), &ra])),
            ),
            (
                "echo request via the server",
                to_server(&ip6(t, x, 58, &echo(false))),
            ),
            (
                "indirect bubble via the server",
                from_server(s, &cat(&[&origin(RPORT, r), &bubble(x, t)])),
            ),
            ("direct bubble to the relay", to_relay(&bubble(t, x))),
            (
                "echo reply via the relay",
                from_relay(&ip6(x, t, 58, &echo(true))),
            ),
            (
                "SYN via the relay",
                to_relay(&ip6(t, x, 6, &tcp(1286, 80, 0x02))),
            ),
            (
                "SYN-ACK via the relay",
                from_relay(&ip6(x, t, 6, &tcp(80, 1286, 0x12))),
            ),
            (
                "ACK via the relay",
                to_relay(&ip6(t, x, 6, &tcp(1286, 80, 0x10))),
            ),
        ]
    }

    /// The Ethernet fast path gives the hash of the whole link decoder:
    /// every frame of the tests' kinds, cut at every length, and random
    /// bytes behind an IP EtherType.
    #[test]
    fn ethernet_fast_path_is_the_decoder_hash() {
        let full = |frame: &[u8]| match link::decode(linktype::ETHERNET, frame) {
            Ok(Some(l3)) => ip_hash(l3.ip),
            _ => 0,
        };
        let mut frames = vec![
            eth_v4(v4("10.0.0.1"), v4("10.0.0.2"), 6, 0, &[0; 20]),
            eth_v4(v4("10.0.0.1"), v4("10.0.0.2"), 17, 0x2000, &[1; 12]),
        ];
        let mut v6frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        v6frame.extend(ip6(v6("2001::1"), v6("2002:c000:0201::1"), 17, &[0; 8]));
        frames.push(v6frame);
        let mut x: u32 = 7;
        for _ in 0..2000 {
            let mut f = vec![0u8; 14 + (x % 90) as usize];
            for b in f.iter_mut() {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (x >> 16) as u8;
            }
            f[12] = 0x08;
            f[13] = 0x00;
            if x % 2 == 0 {
                f[12] = 0x86;
                f[13] = 0xdd;
            }
            if let Some(v) = f.get_mut(14) {
                *v = if x % 2 == 0 { 0x60 } else { 0x45 };
            }
            frames.push(f);
        }
        for f in &frames {
            for n in 0..=f.len() {
                let cut = &f[..n];
                assert_eq!(shard_hash(linktype::ETHERNET, cut), full(cut), "{cut:02x?}");
            }
        }
    }

    /// NFLOG frames (either TLV byte order) and frames of an unknown link
    /// type (raw IP to Zeek) hash as the same IP packet in Ethernet: the
    /// shard key goes through the same `link::decode`.
    #[test]
    fn nflog_and_unknown_link_types_hash_like_their_ip_packet() {
        let eth = eth_udp(v4("10.0.0.1"), 5353, v4("10.0.0.2"), 53, b"q");
        let ip = &eth[14..];
        let nflog = |be: bool| {
            let w = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
            let mut f = vec![2, 0, 0, 0];
            f.extend_from_slice(&w(9)); // NFULA_PREFIX, 5 bytes: padded to 12
            f.extend_from_slice(&w(10));
            f.extend_from_slice(b"pfx\0\0\0\0\0");
            f.extend_from_slice(&w(4 + ip.len() as u16));
            f.extend_from_slice(&w(9)); // NFULA_PAYLOAD
            f.extend_from_slice(ip);
            f
        };
        let want = h(&eth);
        assert_ne!(want, 0);
        assert_eq!(shard_hash(linktype::NFLOG, &nflog(false)), want);
        assert_eq!(shard_hash(linktype::NFLOG_BE, &nflog(true)), want);
        assert_eq!(shard_hash(linktype::NFLOG, &nflog(true)), 0);
        assert_eq!(shard_hash(linktype::RAW, ip), want);
        assert_eq!(shard_hash(9999, ip), want);
    }

    #[test]
    fn teredo_via_server_and_relay_lands_on_one_shard() {
        let frames = teredo_exchange();
        let want = endpoint_hash((v4(CLIENT), CPORT));
        for (what, f) in &frames {
            assert_eq!(h(f), want, "{what}");
        }
        // The address pairs alone would have split the echo (and the two
        // outer connections) over two of two shards.
        assert_ne!(
            pair_hash(&v4(CLIENT), &v4(SERVER)) % 2,
            pair_hash(&v4(CLIENT), &v4(RELAY)) % 2
        );
    }

    #[test]
    fn teredo_outer_connection_stays_whole_whatever_it_carries() {
        let (c, s) = (v4(CLIENT), v4(SERVER));
        // Payload that is no Teredo at all, both directions of port 3544.
        let a = h(&eth_udp(c, CPORT, s, TEREDO_PORT, b"not teredo"));
        let b = h(&eth_udp(s, TEREDO_PORT, c, CPORT, b"nor this"));
        let t = h(&eth_udp(
            c,
            CPORT,
            s,
            TEREDO_PORT,
            &ip6(v6(T), v6(PEER), 59, &[]),
        ));
        assert_eq!((a, b), (t, t));
        // Bubbles between two Teredo clients (both inner addresses Teredo)
        // through the server: the port decides.
        let other = v6("2001:0:4137:9e50:8000:1234:5678:9abc");
        let bb = h(&eth_udp(
            c,
            CPORT,
            s,
            TEREDO_PORT,
            &ip6(v6(T), other, 59, &[]),
        ));
        assert_eq!(bb, t);
        // Cut by the snap length after the inner header: the same shard.
        let full = eth_udp(
            c,
            CPORT,
            v4(RELAY),
            RPORT,
            &ip6(v6(T), v6(PEER), 58, &echo(false)),
        );
        assert_eq!(h(&full[..14 + 20 + 8 + 40]), h(&full));
        assert_eq!(h(&full), t);
    }

    #[test]
    fn plain_traffic_keeps_the_direction_independent_pair_hash() {
        let (a, b) = (v4("10.0.0.1"), v4("93.184.216.34"));
        let want = pair_hash(&a, &b);
        assert_eq!(h(&eth_udp(a, 40000, b, 53, b"q")), want);
        assert_eq!(h(&eth_udp(b, 53, a, 40000, b"r")), want);
        assert_eq!(h(&eth_v4(a, b, 6, 0, &tcp(40001, 443, 2))), want);
        assert_eq!(h(&eth_v4(b, a, 6, 0, &tcp(443, 40001, 0x12))), want);
        // The pair hash is the FNV-1a of the ordered addresses, mixed (the
        // shards `-j N` used before tunnels were anchored).
        let mut f = FNV_BASIS;
        for &x in a.iter().chain(b.iter()) {
            f = (f ^ x as u64).wrapping_mul(0x0100_0000_01b3);
        }
        assert_eq!(want, crate::conn::uid::mix(f));
        let (x, y) = (v6("2606:2800:220:1::1"), v6("fd00::7"));
        let w6 = pair_hash(&x, &y);
        assert_eq!(h(&eth_v6(&ip6(x, y, 17, &udp(1, 2, b"")))), w6);
        assert_eq!(h(&eth_v6(&ip6(y, x, 6, &tcp(2, 1, 0x10)))), w6);
        assert_ne!(w6, want);
        // Not IP.
        let mut arp = vec![0xff; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(h(&arp), 0);
    }

    #[test]
    fn fragments_and_other_tunnel_ports_keep_the_pair() {
        let (c, s) = (v4(CLIENT), v4(SERVER));
        let teredo = udp(CPORT, TEREDO_PORT, &ip6(v6(T), v6(PEER), 58, &echo(false)));
        let pair = pair_hash(&c, &s);
        // A first fragment (MF) and a later one (offset): the addresses only.
        assert_eq!(h(&eth_v4(c, s, 17, 0x2000, &teredo)), pair);
        assert_eq!(h(&eth_v4(c, s, 17, 0x0003, &teredo[..16])), pair);
        // DF alone is no fragment.
        assert_ne!(h(&eth_v4(c, s, 17, 0x4000, &teredo)), pair);
        // Teredo-looking payload on a VXLAN port is left to the pair.
        let inner = ip6(v6(T), v6(PEER), 59, &[]);
        assert_eq!(h(&eth_udp(c, 40000, s, 4789, &inner)), pair);
        assert_eq!(h(&eth_udp(c, 3544, s, 4789, &inner)), pair);
        // A UDP connection between two port-3544 endpoints without Teredo.
        assert_eq!(h(&eth_udp(c, 3544, s, 3544, b"x")), pair);
        // Bytes past the IPv4 total length (link padding) are not payload.
        let mut padded = eth_udp(c, 40000, s, 40001, b"");
        padded.extend_from_slice(&inner);
        assert_eq!(h(&padded), pair);
        let mut counted = eth_udp(c, 40000, s, 40001, &inner);
        assert_ne!(h(&counted), pair);
        counted.truncate(14 + 20 + 8 + 39);
        assert_eq!(h(&counted), pair, "an inner header cut short");
    }

    #[test]
    fn sixto4_via_anycast_relay_and_back_from_another_lands_on_one_shard() {
        let host = v4("198.51.100.7");
        let host6 = v6("2002:c633:6407::1");
        let peer = v6("2001:db8:1::80");
        let want = endpoint_hash((host, 0));
        let out = eth_v4(
            host,
            v4("192.88.99.1"),
            41,
            0,
            &ip6(host6, peer, 6, &tcp(40000, 443, 2)),
        );
        let back = eth_v4(
            v4("203.0.113.9"),
            host,
            41,
            0,
            &ip6(peer, host6, 6, &tcp(443, 40000, 0x12)),
        );
        assert_eq!((h(&out), h(&back)), (want, want));
        // The native leg, seen at a relay.
        assert_eq!(
            h(&eth_v6(&ip6(peer, host6, 6, &tcp(443, 40000, 0x10)))),
            want
        );
        // 6in4 without a 6to4 address (a tunnel broker): the outer pair.
        let plain = eth_v4(
            host,
            v4("192.0.2.1"),
            41,
            0,
            &ip6(v6("2001:db8:2::1"), peer, 59, &[]),
        );
        assert_eq!(h(&plain), pair_hash(&host, &v4("192.0.2.1")));
        // Between two 6to4 hosts: no single anchor.
        let other6 = v6("2002:cb00:7101::1");
        let direct = eth_v4(host, v4("203.0.113.1"), 41, 0, &ip6(host6, other6, 59, &[]));
        assert_eq!(h(&direct), pair_hash(&host, &v4("203.0.113.1")));
    }

    #[test]
    fn native_teredo_leg_meets_the_tunnelled_one_outside_the_nat() {
        // Seen outside the client's NAT, the client's endpoint is the mapped
        // one its Teredo address embeds (70.55.215.234:3797 here).
        let mapped = v4("70.55.215.234");
        assert_eq!(teredo_mapped(&v6(T)), (mapped, CPORT));
        let tunnelled = eth_udp(
            v4(RELAY),
            RPORT,
            mapped,
            CPORT,
            &ip6(v6(PEER), v6(T), 58, &echo(true)),
        );
        let native = eth_v6(&ip6(v6(T), v6(PEER), 58, &echo(false)));
        assert_eq!(h(&native), h(&tunnelled));
        // Teredo wins over 6to4 when the pair has one of each.
        let mixed = eth_v6(&ip6(v6("2002:c633:6407::1"), v6(T), 59, &[]));
        assert_eq!(h(&mixed), endpoint_hash((mapped, CPORT)));
    }
}
