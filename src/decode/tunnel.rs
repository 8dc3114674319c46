//! Tunnel encapsulations: recognising a tunnel header and slicing out the
//! inner packet. The engine decides when to try them (IP protocol 4/41/47,
//! UDP responder ports) and owns the encapsulation stack and tunnel uids.
//!
//! Rules follow Zeek's packet analyzers (`src/packet_analysis/protocol/{gre,
//! iptunnel,vxlan,geneve,teredo,ayiya,gtpv1}`).

use super::weird::Analyzer;
use super::{be16, Weird};

/// The kind of tunnel, as Zeek's `Tunnel::Type` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// IP-in-IP (IPv4/IPv6 in IPv4/IPv6).
    Ip,
    /// GRE (including ERSPAN and PPTP's enhanced GRE).
    Gre,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
    /// Teredo.
    Teredo,
    /// AYIYA.
    Ayiya,
    /// GTPv1-U.
    Gtpv1,
}

impl TunnelKind {
    /// Zeek's `Tunnel::Type` name (as tunnel.log writes it).
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Ip => "Tunnel::IP",
            TunnelKind::Gre => "Tunnel::GRE",
            TunnelKind::Vxlan => "Tunnel::VXLAN",
            TunnelKind::Geneve => "Tunnel::GENEVE",
            TunnelKind::Teredo => "Tunnel::TEREDO",
            TunnelKind::Ayiya => "Tunnel::AYIYA",
            TunnelKind::Gtpv1 => "Tunnel::GTPv1",
        }
    }

    /// The Zeek packet analyzer that decapsulates this kind (IP-in-IP and
    /// GRE's inner packets: `IPTunnel`).
    pub fn analyzer(self) -> Analyzer {
        match self {
            TunnelKind::Ip => Analyzer::IpTunnel,
            TunnelKind::Gre => Analyzer::Gre,
            TunnelKind::Vxlan => Analyzer::Vxlan,
            TunnelKind::Geneve => Analyzer::Geneve,
            TunnelKind::Teredo => Analyzer::Teredo,
            TunnelKind::Ayiya => Analyzer::Ayiya,
            TunnelKind::Gtpv1 => Analyzer::Gtpv1,
        }
    }
}

/// What follows a tunnel header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InnerLink {
    /// An Ethernet frame.
    Ethernet,
    /// An IP packet (IPv4 or IPv6 by version nibble).
    Ip,
    /// An IP packet that must be exactly as long as its total length (PPTP).
    IpExact,
}

/// The inner packet of a tunnel.
#[derive(Clone, Copy, Debug)]
pub struct Inner<'a> {
    /// How to decode `data`.
    pub link: InnerLink,
    /// The inner bytes.
    pub data: &'a [u8],
    /// Bytes of tunnel header consumed before `data`.
    pub consumed: usize,
}

/// Parses a GRE header (`b` = GRE header onwards), in the order of
/// `GREAnalyzer::AnalyzePacket` (`gre/GRE.cc`): under 4 bytes
/// `truncated_GRE`; a version other than 0 or 1 `unknown_gre_version`
/// (addl `version=N`); version 0's bridged Ethernet and ERSPAN types cut
/// short `truncated_GRE`; version 1 (enhanced GRE) with a protocol other
/// than PPTP's 0x880b `egre_protocol_type` (addl `proto=N`); then the
/// routing bit `gre_routing`, a reserved flag bit `unknown_gre_flags`, the
/// headers past the bytes `truncated_GRE`, and for PPTP a PPP protocol
/// other than IPv4/IPv6 `non_ip_packet_in_encap`. (Another version-0
/// protocol type is connscope's `unknown_gre_protocol`: Zeek forwards it
/// by its dispatch map, which this does not model.)
pub fn gre(b: &[u8]) -> Result<Inner<'_>, Weird> {
    if b.len() < 4 {
        return Err(Weird::TruncatedGre);
    }
    let flags = be16(b, 0) as u32;
    let proto = be16(b, 2);
    let version = flags & 0x7;
    let mut hlen = 4usize;
    if flags & 0x8000 != 0 {
        hlen += 4;
    }
    if flags & 0x2000 != 0 {
        hlen += 4;
    }
    if flags & 0x1000 != 0 {
        hlen += 4;
    }
    if flags & 0x0080 != 0 {
        hlen += 4;
    }
    if version > 1 {
        return Err(Weird::UnknownGreVersion(version as u8));
    }
    let pptp = if version == 1 { 4 } else { 0 };
    let (mut eth, mut erspan) = (0usize, 0usize);
    let link = if version == 0 {
        match proto {
            0x6558 => {
                if b.len() <= hlen + 14 {
                    return Err(Weird::TruncatedGre);
                }
                eth = 14;
                Some(InnerLink::Ethernet)
            }
            0x88be => {
                if b.len() <= hlen + 14 {
                    return Err(Weird::TruncatedGre);
                }
                eth = 14;
                // ERSPAN type II has a sequence number and an 8-byte header; type I has neither.
                if flags & 0x1000 != 0 {
                    erspan = 8;
                    if b.len() < hlen + eth + erspan {
                        return Err(Weird::TruncatedGre);
                    }
                }
                Some(InnerLink::Ethernet)
            }
            0x22eb => {
                if b.len() <= hlen + 14 + 12 {
                    return Err(Weird::TruncatedGre);
                }
                erspan = 12;
                eth = 14;
                if b[hlen + 11] & 0x01 != 0 {
                    if b.len() <= hlen + erspan + 8 + eth {
                        return Err(Weird::TruncatedGre);
                    }
                    erspan += 8;
                }
                Some(InnerLink::Ethernet)
            }
            0x0800 | 0x86dd => Some(InnerLink::Ip),
            _ => None,
        }
    } else {
        if proto != 0x880b {
            return Err(Weird::EgreProtocolType(proto));
        }
        Some(InnerLink::IpExact)
    };
    if flags & 0x4000 != 0 {
        return Err(Weird::GreRouting);
    }
    if flags & 0x0078 != 0 {
        return Err(Weird::UnknownGreFlags);
    }
    if b.len() < hlen + pptp + eth + erspan {
        return Err(Weird::TruncatedGre);
    }
    if version == 1 && !matches!(be16(b, hlen + 2), 0x0021 | 0x0057) {
        return Err(Weird::NonIpPacketInEncap);
    }
    let Some(link) = link else {
        return Err(Weird::UnknownGreProtocol);
    };
    let skip = hlen + pptp + erspan;
    Ok(Inner {
        link,
        data: &b[skip..],
        consumed: skip,
    })
}

/// What a UDP tunnel packet analyzer made of one datagram (Zeek's
/// `AnalyzePacket` outcomes).
#[derive(Clone, Copy, Debug)]
pub enum Decap<'a> {
    /// Not handled by this analyzer, nothing confirmed or violated (AYIYA
    /// control messages, GTP signalling, a Geneve version other than 0).
    Pass(Option<Weird>),
    /// The header parsed: the analyzer confirms (Teredo: this side is
    /// valid) and forwards `inner` if there is one (else `weird`).
    Ok {
        /// The encapsulated packet, when one follows.
        inner: Option<Inner<'a>>,
        /// A weird to report (empty packet, bubble with payload, unknown
        /// next protocol).
        weird: Option<Weird>,
    },
    /// `AnalyzerViolation`: the analyzer stops for the connection.
    Violation(Weird),
}

/// VXLAN (`packet_analysis/protocol/vxlan/VXLAN.cc`): an 8-byte header with
/// the `I` flag, then an Ethernet frame. A short header or a missing `I`
/// flag is a violation; a header alone is confirmed with a weird.
pub fn vxlan(b: &[u8]) -> Decap<'_> {
    if b.len() < 8 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Vxlan));
    }
    if b[0] & 0x08 == 0 {
        return Decap::Violation(Weird::InvalidInnerIp(Analyzer::Vxlan));
    }
    let data = &b[8..];
    if data.is_empty() {
        return Decap::Ok {
            inner: None,
            weird: Some(Weird::TunnelEmptyPacket(Analyzer::Vxlan)),
        };
    }
    Decap::Ok {
        inner: Some(Inner {
            link: InnerLink::Ethernet,
            data,
            consumed: 8,
        }),
        weird: None,
    }
}

/// Geneve (`packet_analysis/protocol/geneve/Geneve.cc`): an 8-byte header
/// plus options; version 0 only (another version is a weird, not a
/// violation); the protocol type picks Ethernet or IP. Another protocol
/// type (ARP 0x0806 included, which only Zeek's ARP analyzer reads) is
/// confirmed but carries nothing we decode, and no weird: it has no entry
/// in Geneve's dispatch map (`scripts/base/packet-protocols/geneve/
/// main.zeek`) and Geneve no default analyzer, so `Analyzer::ForwardPacket`
/// only raises `unknown_protocol` (`ReportUnknownProtocol`).
pub fn geneve(b: &[u8]) -> Decap<'_> {
    if b.len() < 8 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Geneve));
    }
    if b[0] >> 6 != 0 {
        return Decap::Pass(Some(Weird::GeneveInvalidVersion(b[0] >> 6)));
    }
    let hlen = 8 + ((b[0] & 0x3f) as usize) * 4;
    if b.len() < hlen {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Geneve));
    }
    let data = &b[hlen..];
    if data.is_empty() {
        return Decap::Ok {
            inner: None,
            weird: Some(Weird::TunnelEmptyPacket(Analyzer::Geneve)),
        };
    }
    let link = match be16(b, 2) {
        0x6558 => InnerLink::Ethernet,
        0x0800 | 0x86dd => InnerLink::Ip,
        _ => {
            return Decap::Ok {
                inner: None,
                weird: None,
            }
        }
    };
    Decap::Ok {
        inner: Some(Inner {
            link,
            data,
            consumed: hlen,
        }),
        weird: None,
    }
}

/// The length an IP packet's header declares (IPv4 total length, IPv6 40 +
/// payload length), or `None` when `ip` is not IPv4/IPv6 or too short.
fn ip_declared_len(ip: &[u8]) -> Option<usize> {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => Some(be16(ip, 2) as usize),
        Some(6) if ip.len() >= 40 => Some(40 + be16(ip, 4) as usize),
        _ => None,
    }
}

/// GTPv1-U (`packet_analysis/protocol/gtpv1/`): only G-PDUs (type 0xff)
/// carry a packet; the analyzer confirms when the inner IP packet is exactly
/// as long as the rest of the datagram (`IP::ParsePacket`), anything else
/// inside a G-PDU is a violation.
pub fn gtpv1(b: &[u8]) -> Decap<'_> {
    if b.len() < 8 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Gtpv1));
    }
    let flags = b[0];
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Gtpv1));
    }
    if b[1] != 0xff {
        return Decap::Pass(None);
    }
    let mut off = 8;
    if flags & 0x07 != 0 {
        if b.len() < 12 {
            return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Gtpv1));
        }
        let mut next = b[11];
        off = 12;
        if flags & 0x04 != 0 {
            // Extension headers: length in 4-byte units, last byte = next type.
            let mut guard = 0;
            while next != 0 {
                guard += 1;
                let Some(&l) = b.get(off) else {
                    return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Gtpv1));
                };
                let len = l as usize * 4;
                if len == 0 || b.len() < off + len || guard > 16 {
                    return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Gtpv1));
                }
                next = b[off + len - 1];
                off += len;
            }
        }
    }
    let data = &b[off..];
    match ip_declared_len(data) {
        Some(n) if n == data.len() => Decap::Ok {
            inner: Some(Inner {
                link: InnerLink::Ip,
                data,
                consumed: off,
            }),
            weird: None,
        },
        _ => Decap::Violation(Weird::InvalidInnerIp(Analyzer::Gtpv1)),
    }
}

/// AYIYA (`packet_analysis/protocol/ayiya/AYIYA.cc`): a header of 8 bytes
/// plus identity and signature; only "forward" messages (opcode 1) carry a
/// packet, and they confirm as soon as the header fits, whatever follows.
pub fn ayiya(b: &[u8]) -> Decap<'_> {
    if b.len() < 8 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Ayiya));
    }
    let id_len = 1usize << (b[0] >> 4);
    let sig_len = ((b[1] >> 4) as usize) * 4;
    let opcode = b[2] & 0x0f;
    let next = b[3];
    let hlen = 8 + id_len + sig_len;
    if b.len() < hlen {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Ayiya));
    }
    if opcode != 1 {
        return Decap::Pass(None);
    }
    let data = &b[hlen..];
    if data.is_empty() {
        return Decap::Ok {
            inner: None,
            weird: Some(Weird::TunnelEmptyPacket(Analyzer::Ayiya)),
        };
    }
    if next != 4 && next != 41 {
        return Decap::Ok {
            inner: None,
            weird: Some(Weird::InvalidInnerIp(Analyzer::Ayiya)),
        };
    }
    Decap::Ok {
        inner: Some(Inner {
            link: InnerLink::Ip,
            data,
            consumed: hlen,
        }),
        weird: None,
    }
}

/// `AYIYAAnalyzer::DetectProtocol`: AYIYA on a port without a registered
/// analyzer.
pub fn ayiya_detect(b: &[u8]) -> bool {
    b.len() >= 3 && b[1] == 0x52 && b[2] == 0x11
}

/// Where the inner IPv6 header of a Teredo datagram starts: after an
/// optional authentication header and an optional origin indication, in
/// that order, each whole; the weird of a datagram laid out otherwise (the
/// IPv6 header itself is not checked here). Shared by [`teredo`] and
/// [`teredo_inner_header`].
fn teredo_ipv6_at(b: &[u8]) -> Result<usize, Weird> {
    let mut off = 0;
    let (mut origin, mut auth) = (false, false);
    loop {
        let rest = &b[off.min(b.len())..];
        if rest.len() < 2 {
            return Err(Weird::TruncatedTunnelHeader(Analyzer::Teredo));
        }
        let tag = be16(rest, 0);
        if tag == 0 {
            if origin || rest.len() < 8 {
                return Err(Weird::TruncatedTunnelHeader(Analyzer::Teredo));
            }
            origin = true;
            off += 8;
        } else if tag == 1 {
            if origin || auth || rest.len() < 4 {
                return Err(Weird::TruncatedTunnelHeader(Analyzer::Teredo));
            }
            let tot = 4 + rest[2] as usize + rest[3] as usize + 8 + 1;
            if rest.len() < tot {
                return Err(Weird::TruncatedTunnelHeader(Analyzer::Teredo));
            }
            auth = true;
            off += tot;
        } else if tag >> 12 == 6 {
            return Ok(off);
        } else {
            return Err(Weird::InvalidInnerIp(Analyzer::Teredo));
        }
    }
}

/// Teredo (`packet_analysis/protocol/teredo/Teredo.cc`): optional
/// authentication and origin indication headers, then an IPv6 packet that
/// must be exactly as long as the rest of the datagram; a bubble (no next
/// header, empty payload) followed by more bytes is accepted with a weird.
/// Anything else is a violation.
pub fn teredo(b: &[u8]) -> Decap<'_> {
    let off = match teredo_ipv6_at(b) {
        Ok(off) => off,
        Err(w) => return Decap::Violation(w),
    };
    let ip = &b[off.min(b.len())..];
    if ip.len() < 40 {
        return Decap::Violation(Weird::TruncatedTunnelHeader(Analyzer::Teredo));
    }
    let total = 40 + be16(ip, 4) as usize;
    let mut weird = None;
    let data = if total > ip.len() {
        return Decap::Violation(Weird::InvalidInnerIp(Analyzer::Teredo));
    } else if total < ip.len() {
        if ip[6] == 59 && total == 40 {
            weird = Some(Weird::TeredoBubbleWithPayload);
            &ip[..40]
        } else {
            return Decap::Violation(Weird::InvalidInnerIp(Analyzer::Teredo));
        }
    } else {
        ip
    };
    Decap::Ok {
        inner: Some(Inner {
            link: InnerLink::IpExact,
            data,
            consumed: off,
        }),
        weird,
    }
}

/// `TeredoAnalyzer::DetectProtocol`: Teredo on a port without a registered
/// analyzer — a 40-byte IPv6 packet (a bubble) from or to a `2001:0000::/32`
/// address, or an IPv6 packet after an origin indication (possibly after an
/// authentication header).
pub fn teredo_detect(b: &[u8]) -> bool {
    let len = b.len();
    if len < 40 || (b[0] >> 4 != 6 && (b[0] != 0 || (b[1] != 0 && b[1] != 1))) {
        return false;
    }
    let prefix = [0x20, 0x01, 0x00, 0x00];
    if len == 40 && b[0] >> 4 == 6 && (b[8..12] == prefix || b[24..28] == prefix) {
        return true;
    }
    let mut data = b;
    let mut val = u16::from(b[1]);
    if val == 1 {
        let skip = 13 + b[2] as usize + b[3] as usize;
        if data.len() < skip {
            return false;
        }
        data = &data[skip..];
        if data.len() < 40 {
            return false;
        }
        val = be16(data, 0);
    }
    if val == 0 {
        if data.len() < 8 {
            return false;
        }
        data = &data[8..];
        return data.len() >= 40 && data[0] >> 4 == 6;
    }
    false
}

/// The inner IPv6 header (its first 40 bytes) of a datagram that looks like
/// Teredo: after an optional authentication header and an optional origin
/// indication (in that order, as [`teredo`] reads them), an IPv6 version
/// nibble and 40 captured bytes. Unlike [`teredo`] it does not check the
/// inner length, so it answers the same for a datagram cut by the snap
/// length (the shard hash needs one answer for every packet of a
/// connection). Bounded work, no allocation.
pub fn teredo_inner_header(b: &[u8]) -> Option<&[u8]> {
    let off = teredo_ipv6_at(b).ok()?;
    b.get(off..off + 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teredo_inner_header_after_auth_and_origin() {
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        ip.resize(40, 0);
        assert_eq!(teredo_inner_header(&ip), Some(&ip[..]));
        // Origin indication, then the header; trailing bytes do not matter.
        let mut o = vec![0, 0, 1, 2, 3, 4, 5, 6];
        o.extend_from_slice(&ip);
        o.extend_from_slice(b"cut or trailing");
        assert_eq!(teredo_inner_header(&o), Some(&ip[..]));
        // Authentication (client id 2, auth value 3 bytes), then origin.
        let mut a = vec![0, 1, 2, 3, 9, 9, 9, 9, 9];
        a.extend_from_slice(&[0; 8]);
        a.push(0);
        a.extend_from_slice(&o);
        assert_eq!(teredo_inner_header(&a), Some(&ip[..]));
        // Too short, or not IPv6 after the headers.
        assert_eq!(teredo_inner_header(&o[..47]), None);
        let mut v4 = o.clone();
        v4[8] = 0x45;
        assert_eq!(teredo_inner_header(&v4), None);
    }

    #[test]
    fn gre_plain_ip_and_erspan() {
        let b = [0x00, 0x00, 0x08, 0x00, 0x45, 0];
        let i = gre(&b).unwrap();
        assert_eq!(i.link, InnerLink::Ip);
        assert_eq!(i.consumed, 4);
        // ERSPAN type II: sequence bit set, 8-byte ERSPAN header.
        let mut b = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&[0; 20]);
        let i = gre(&b).unwrap();
        assert_eq!(i.consumed, 16);
        assert_eq!(i.link, InnerLink::Ethernet);
        assert_eq!(gre(&[0, 2, 8, 0]).unwrap_err(), Weird::UnknownGreVersion(2));
    }

    fn ok_inner<'a>(d: Decap<'a>) -> Option<Inner<'a>> {
        match d {
            Decap::Ok { inner, .. } => inner,
            _ => None,
        }
    }

    #[test]
    fn teredo_requires_exact_ipv6_length_but_bubbles_may_trail() {
        // Origin indication + a bubble (next header 59, no payload).
        let mut b = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4];
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        ip.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&ip);
        assert_eq!(ok_inner(teredo(&b)).unwrap().consumed, 8);
        // A bubble with bytes after it: accepted, with a weird.
        b.push(0);
        match teredo(&b) {
            Decap::Ok {
                inner: Some(i),
                weird,
            } => {
                assert_eq!(i.data.len(), 40);
                assert_eq!(weird, Some(Weird::TeredoBubbleWithPayload));
            }
            other => panic!("{other:?}"),
        }
        // Not a bubble (next header UDP): trailing bytes are a violation.
        b[8 + 6] = 17;
        assert!(matches!(teredo(&b), Decap::Violation(_)));
        assert!(matches!(
            teredo(b"random bytes that are not teredo at all......"),
            Decap::Violation(_)
        ));
    }

    #[test]
    fn teredo_detection_on_other_ports() {
        // A 40-byte bubble to a Teredo (2001:0000::/32) address.
        let mut bubble = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        bubble.extend_from_slice(&[0; 16]);
        bubble.extend_from_slice(&[0x20, 0x01, 0, 0]);
        bubble.extend_from_slice(&[0; 12]);
        assert!(teredo_detect(&bubble));
        bubble[24] = 0x21;
        assert!(!teredo_detect(&bubble), "not a Teredo address");
        // Origin indication then IPv6.
        let mut o = vec![0, 0, 1, 2, 3, 4, 5, 6, 0x60];
        o.resize(48, 0);
        assert!(teredo_detect(&o));
        assert!(ayiya_detect(&[0x11, 0x52, 0x11]));
        assert!(!ayiya_detect(&[0x11, 0x52, 0x12]));
    }

    #[test]
    fn vxlan_needs_the_i_flag_and_confirms_an_empty_packet() {
        assert!(matches!(vxlan(&[0; 8]), Decap::Violation(_)));
        assert!(matches!(
            vxlan(&[8, 0, 0, 0, 0, 0, 1, 0]),
            Decap::Ok { inner: None, .. }
        ));
        assert!(matches!(vxlan(&[8, 0, 0]), Decap::Violation(_)));
        assert!(matches!(
            geneve(&[0x40, 0, 0x65, 0x58, 0, 0, 0, 0, 1]),
            Decap::Pass(_)
        ));
    }

    /// A Geneve protocol type without an analyzer: confirmed, nothing
    /// inside, no weird (`Analyzer::ForwardPacket` reports an unknown
    /// protocol, not a weird).
    #[test]
    fn geneve_unknown_protocol_type_is_no_weird() {
        for proto in [[0x08, 0x06], [0x88, 0xcc], [0, 0]] {
            let b = [0, 0, proto[0], proto[1], 0, 0, 1, 0, 0xff, 0xff];
            assert!(
                matches!(
                    geneve(&b),
                    Decap::Ok {
                        inner: None,
                        weird: None
                    }
                ),
                "{proto:?}"
            );
        }
        let b = [0, 0, 0x08, 0x00, 0, 0, 1, 0, 0x45];
        assert!(matches!(
            geneve(&b),
            Decap::Ok {
                inner: Some(Inner {
                    link: InnerLink::Ip,
                    ..
                }),
                weird: None
            }
        ));
    }
}
