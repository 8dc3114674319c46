//! Tunnel encapsulations: recognising a tunnel header and slicing out the
//! inner packet. The engine decides when to try them (IP protocol 4/41/47,
//! UDP responder ports) and owns the encapsulation stack and tunnel uids.
//!
//! Rules follow Zeek's packet analyzers (`src/packet_analysis/protocol/{gre,
//! iptunnel,vxlan,geneve,teredo,ayiya,gtpv1}`).

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

/// Parses a GRE header (`b` = GRE header onwards).
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
        return Err(Weird::UnknownGreVersion);
    }
    if flags & 0x4000 != 0 || flags & 0x0078 != 0 {
        return Err(Weird::UnknownGreVersion);
    }
    let (link, skip) = if version == 1 {
        if proto != 0x880b {
            return Err(Weird::UnknownGreProtocol);
        }
        if b.len() < hlen + 4 {
            return Err(Weird::TruncatedGre);
        }
        match be16(b, hlen + 2) {
            0x0021 | 0x0057 => (InnerLink::IpExact, hlen + 4),
            _ => return Err(Weird::UnknownGreProtocol),
        }
    } else {
        match proto {
            0x6558 => {
                if b.len() <= hlen + 14 {
                    return Err(Weird::TruncatedGre);
                }
                (InnerLink::Ethernet, hlen)
            }
            0x88be => {
                if b.len() <= hlen + 14 {
                    return Err(Weird::TruncatedGre);
                }
                // ERSPAN type II has a sequence number and an 8-byte header; type I has neither.
                let erspan = if flags & 0x1000 != 0 { 8 } else { 0 };
                if b.len() < hlen + 14 + erspan {
                    return Err(Weird::TruncatedGre);
                }
                (InnerLink::Ethernet, hlen + erspan)
            }
            0x22eb => {
                if b.len() <= hlen + 14 + 12 {
                    return Err(Weird::TruncatedGre);
                }
                let mut erspan = 12;
                if b[hlen + 11] & 0x01 != 0 {
                    if b.len() <= hlen + 12 + 8 + 14 {
                        return Err(Weird::TruncatedGre);
                    }
                    erspan += 8;
                }
                (InnerLink::Ethernet, hlen + erspan)
            }
            0x0800 | 0x86dd => (InnerLink::Ip, hlen),
            _ => return Err(Weird::UnknownGreProtocol),
        }
    };
    if b.len() < skip {
        return Err(Weird::TruncatedGre);
    }
    Ok(Inner {
        link,
        data: &b[skip..],
        consumed: skip,
    })
}

/// Parses a VXLAN header (UDP payload).
pub fn vxlan(b: &[u8]) -> Result<Inner<'_>, Weird> {
    if b.len() < 8 + 14 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    Ok(Inner {
        link: InnerLink::Ethernet,
        data: &b[8..],
        consumed: 8,
    })
}

/// Parses a Geneve header (UDP payload).
pub fn geneve(b: &[u8]) -> Result<Inner<'_>, Weird> {
    if b.len() < 8 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    if b[0] >> 6 != 0 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    let hlen = 8 + ((b[0] & 0x3f) as usize) * 4;
    if b.len() < hlen {
        return Err(Weird::TruncatedTunnelHeader);
    }
    let link = match be16(b, 2) {
        0x6558 => InnerLink::Ethernet,
        0x0800 | 0x86dd => InnerLink::Ip,
        _ => return Err(Weird::UnknownLinkProtocol),
    };
    Ok(Inner {
        link,
        data: &b[hlen..],
        consumed: hlen,
    })
}

/// Parses a GTPv1-U header (UDP payload). Only G-PDUs carry an inner packet.
pub fn gtpv1(b: &[u8]) -> Result<Option<Inner<'_>>, Weird> {
    if b.len() < 8 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    let flags = b[0];
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    if b[1] != 0xff {
        return Ok(None);
    }
    let mut off = 8;
    if flags & 0x07 != 0 {
        if b.len() < 12 {
            return Err(Weird::TruncatedTunnelHeader);
        }
        let mut next = b[11];
        off = 12;
        if flags & 0x04 != 0 {
            // Extension headers: length in 4-byte units, last byte = next type.
            let mut guard = 0;
            while next != 0 {
                guard += 1;
                let Some(&l) = b.get(off) else {
                    return Err(Weird::TruncatedTunnelHeader);
                };
                let len = l as usize * 4;
                if len == 0 || b.len() < off + len || guard > 16 {
                    return Err(Weird::TruncatedTunnelHeader);
                }
                next = b[off + len - 1];
                off += len;
            }
        }
    }
    if b.len() <= off {
        return Err(Weird::TruncatedTunnelHeader);
    }
    match b[off] >> 4 {
        4 | 6 => Ok(Some(Inner {
            link: InnerLink::Ip,
            data: &b[off..],
            consumed: off,
        })),
        _ => Err(Weird::InvalidInnerIp),
    }
}

/// Parses an AYIYA header (UDP payload). Only "forward" messages carry a packet.
pub fn ayiya(b: &[u8]) -> Result<Option<Inner<'_>>, Weird> {
    if b.len() < 8 {
        return Err(Weird::TruncatedTunnelHeader);
    }
    let id_len = 1usize << (b[0] >> 4);
    let sig_len = ((b[1] >> 4) as usize) * 4;
    let opcode = b[2] & 0x0f;
    let next = b[3];
    let hlen = 8 + id_len + sig_len;
    if b.len() < hlen {
        return Err(Weird::TruncatedTunnelHeader);
    }
    if opcode != 1 {
        return Ok(None);
    }
    if next != 4 && next != 41 {
        return Err(Weird::InvalidInnerIp);
    }
    Ok(Some(Inner {
        link: InnerLink::IpExact,
        data: &b[hlen..],
        consumed: hlen,
    }))
}

/// Parses a Teredo packet (UDP payload): optional authentication and origin
/// indication headers, then an IPv6 packet whose length matches exactly.
/// Returns `None` when the payload does not look like Teredo.
pub fn teredo(b: &[u8]) -> Option<Inner<'_>> {
    let mut off = 0;
    // Authentication header: 0x0001, id-len, auth-len, id, auth, nonce(8), confirmation(1).
    if b.len() >= 2 && b[0] == 0x00 && b[1] == 0x01 {
        let id_len = *b.get(2)? as usize;
        let au_len = *b.get(3)? as usize;
        off = 4 + id_len + au_len + 8 + 1;
    }
    // Origin indication: 0x0000 + port(2) + address(4).
    if b.len() >= off + 2 && b[off] == 0x00 && b[off + 1] == 0x00 {
        off += 8;
    }
    let ip = b.get(off..)?;
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return None;
    }
    let total = 40 + be16(ip, 4) as usize;
    if total != ip.len() {
        return None;
    }
    Some(Inner {
        link: InnerLink::IpExact,
        data: ip,
        consumed: off,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(gre(&[0, 2, 8, 0]).unwrap_err(), Weird::UnknownGreVersion);
    }

    #[test]
    fn teredo_requires_exact_ipv6_length() {
        let mut b = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4];
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        ip.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&ip);
        assert_eq!(teredo(&b).unwrap().consumed, 8);
        b.push(0);
        assert!(teredo(&b).is_none());
        assert!(teredo(b"random bytes that are not teredo at all......").is_none());
    }
}
