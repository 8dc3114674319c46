//! Link layers: from a captured frame to the IP packet inside it.
//!
//! Handles Ethernet (with 802.1Q/802.1ad/0x9100 VLAN tags, MPLS, PPPoE,
//! 802.1ah PBB, VN-Tag, Cisco FabricPath, 802.3 LLC/SNAP), Linux cooked
//! capture v1/v2, BSD null, raw IP, PPP, FDDI, 802.11 with radiotap and
//! Linux NFLOG; every other link type is raw IP, as in Zeek (see
//! [`decode`]). Non-IP frames (ARP, LLDP, ...) give `Ok(None)`.

use super::weird::Analyzer;
use super::{be16, Weird};
use crate::capture::linktype;

/// The IP packet found inside a frame, with the link-layer context Zeek logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct L3<'a> {
    /// The IP packet (captured bytes, starting at the IP header).
    pub ip: &'a [u8],
    /// Link-layer bytes before the IP header (to compute the IP wire length).
    pub link_len: usize,
    /// Outer 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Inner VLAN id (QinQ).
    pub inner_vlan: Option<u16>,
    /// Source MAC address when the link has one.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC address when the link has one.
    pub dst_mac: Option<[u8; 6]>,
}

/// Strips the link layer of a frame with link type `lt`.
///
/// A link type without a link-layer analyzer, raw IP (101, 12, 14, 228,
/// 229), OpenBSD loopback (108) and Cisco HDLC (104) (Zeek has no analyzer
/// for either) and any unknown one alike, is a raw IP packet from its
/// first byte, as in Zeek: `packet_mgr->ProcessPacket` forwards every frame to
/// the root analyzer by link type (`src/packet_analysis/Manager.cc`),
/// whose dispatch map (`register_packet_analyzer(ANALYZER_ROOT, DLT_*)` in
/// `scripts/base/packet-protocols/*/main.zeek`) holds only the link
/// layers decoded here, and `Analyzer::ForwardPacket`
/// (`src/packet_analysis/Analyzer.cc`) falls back to the root's
/// `default_analyzer`, `ANALYZER_IP`
/// (`scripts/base/packet-protocols/root/main.zeek`). The IP parser then
/// reports `truncated_IP` (under 20 bytes) or `unknown_ip_version`.
pub fn decode(lt: u32, frame: &[u8]) -> Result<Option<L3<'_>>, Weird> {
    let mut l3 = L3::default();
    let r = match lt {
        linktype::ETHERNET => ethernet(frame, 0, &mut l3),
        linktype::NULL => {
            // Null.cc: `if ( 4 >= len ) Weird("null_analyzer_failed", ...)`.
            if frame.len() <= 4 {
                return Err(Weird::TruncatedLinkHeader(Analyzer::Null));
            }
            let b = [frame[0], frame[1], frame[2], frame[3]];
            // Host byte order of the capturing machine: accept either.
            let le = u32::from_le_bytes(b);
            let fam = if le < 256 { le } else { u32::from_be_bytes(b) };
            match fam {
                2 | 24 | 28 | 30 => Ok(Some(4)),
                _ => Ok(None),
            }
        }
        linktype::PPP | linktype::PPP_HDLC => ppp_serial(frame),
        linktype::FDDI => fddi(frame, &mut l3),
        linktype::LINUX_SLL => {
            // LinuxSLL.cc: `if ( sizeof(SLLHeader) >= len )` (16).
            if frame.len() <= 16 {
                return Err(Weird::TruncatedLinkHeader(Analyzer::LinuxSll));
            }
            let proto = be16(frame, 14);
            if be16(frame, 4) == 6 {
                let mut m = [0u8; 6];
                m.copy_from_slice(&frame[6..12]);
                // Packet type 4 = sent by us: source address.
                l3.src_mac = Some(m);
            }
            ethertype(frame, 16, proto, &mut l3)
        }
        linktype::LINUX_SLL2 => {
            // LinuxSLL2.cc: `if ( sizeof(SLL2Header) >= len )` (20).
            if frame.len() <= 20 {
                return Err(Weird::TruncatedLinkHeader(Analyzer::LinuxSll2));
            }
            let proto = be16(frame, 0);
            ethertype(frame, 20, proto, &mut l3)
        }
        linktype::IEEE802_11_RADIOTAP => {
            // IEEE802_11_Radio.cc: `3 >= len`, then `rtheader_len >= len`.
            if frame.len() <= 3 {
                return Err(Weird::TruncatedLinkHeader(Analyzer::Ieee80211Radio));
            }
            let rlen = u16::from_le_bytes([frame[2], frame[3]]) as usize;
            if rlen >= frame.len() {
                return Err(Weird::TruncatedLinkHeader(Analyzer::Ieee80211Radio));
            }
            ieee80211(frame, rlen, &mut l3)
        }
        linktype::IEEE802_11 => ieee80211(frame, 0, &mut l3),
        linktype::NFLOG => nflog(frame, false),
        linktype::NFLOG_BE => nflog(frame, true),
        // Raw IP and unknown link types: the root's default analyzer, IP.
        _ => Ok(Some(0)),
    };
    match r? {
        Some(off) => {
            l3.ip = frame.get(off..).unwrap_or(&[]);
            l3.link_len = off;
            Ok(Some(l3))
        }
        None => Ok(None),
    }
}

/// Decodes an Ethernet frame starting at `off`; returns the IP offset.
///
/// As `EthernetAnalyzer::AnalyzePacket` (`ethernet/Ethernet.cc`): 16 bytes
/// or fewer are `truncated_ethernet_frame`; a Cisco FabricPath frame
/// (EtherType 0x8903) of 30 bytes or fewer `truncated_link_header_cfp`;
/// an 802.3 length field above the bytes after the header
/// `truncated_ethernet_frame`; an EtherType between 1501 and 1535
/// `undefined_ether_type`.
pub fn ethernet(frame: &[u8], off: usize, l3: &mut L3<'_>) -> Result<Option<usize>, Weird> {
    let mut off = off;
    if frame.len() <= off + 16 {
        return Err(Weird::TruncatedLinkHeader(Analyzer::Ethernet));
    }
    // Cisco FabricPath: a 16-byte outer header before the real Ethernet frame.
    if be16(frame, off + 12) == 0x8903 {
        if frame.len() <= off + 16 + 14 {
            return Err(Weird::TruncatedFabricPath);
        }
        off += 16;
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[off..off + 6]);
    src.copy_from_slice(&frame[off + 6..off + 12]);
    l3.dst_mac = Some(dst);
    l3.src_mac = Some(src);
    let t = be16(frame, off + 12);
    if t <= 1500 {
        // 802.3 length field: only SNAP carries an EtherType.
        if frame.len() - (off + 14) < t as usize {
            return Err(Weird::TruncatedLinkHeader(Analyzer::Ethernet));
        }
        return ieee802_2(frame, off + 14, frame.len(), l3);
    }
    if t < 1536 {
        return Err(Weird::UndefinedEtherType);
    }
    ethertype(frame, off + 14, t, l3)
}

/// An IEEE 802.2 frame at `off` whose bytes end at `end` (Ethernet and
/// VLAN with a length field): `aa aa` is SNAP (`snap/SNAP.cc`: fewer than
/// 3 bytes `truncated_snap_llc_header`; an LLC header of 3 bytes, or 4 when
/// the control field is not unnumbered, plus 5, `truncated_snap_header`;
/// an OUI of 0 forwards the EtherType), `ff ff` Novell raw 802.3 (no IP),
/// anything else LLC (`llc/LLC.cc`: fewer than 3 bytes
/// `truncated_llc_header`; no IP behind it).
fn ieee802_2(
    frame: &[u8],
    off: usize,
    end: usize,
    l3: &mut L3<'_>,
) -> Result<Option<usize>, Weird> {
    let len = end.saturating_sub(off);
    let b = |i: usize| frame.get(off + i).copied().unwrap_or(0);
    if b(0) == 0xaa && b(1) == 0xaa {
        if len < 3 {
            return Err(Weird::TruncatedSnapLlcHeader);
        }
        let llc = if b(2) & 0x03 != 0x03 { 4 } else { 3 };
        if len < llc + 5 {
            return Err(Weird::TruncatedSnapHeader);
        }
        let oui = (u32::from(b(llc)) << 16) | (u32::from(b(llc + 1)) << 8) | u32::from(b(llc + 2));
        if oui != 0 {
            return Ok(None);
        }
        let t = be16(frame, off + llc + 3);
        return ethertype(frame, off + llc + 5, t, l3);
    }
    if b(0) == 0xff && b(1) == 0xff {
        return Ok(None);
    }
    if len < 3 {
        return Err(Weird::TruncatedLlcHeader);
    }
    Ok(None)
}

/// Zeek's `PacketAnalyzer::max_depth` (`scripts/base/packet-protocols/
/// main.zeek`, default 25): the longest chain of packet analyzers one
/// packet may go through; past it Zeek reports
/// `max_packet_analyzer_depth_exceeded` and drops the packet.
pub const PACKET_ANALYZER_MAX_DEPTH: usize = 25;

/// Analyzers every IP packet still needs after its link layer: IP and the
/// transport.
const AFTER_LINK: usize = 2;

/// Dispatches on an EtherType whose payload starts at `off`.
///
/// Each header on the way is one more packet analyzer in Zeek's chain
/// (VLAN, VN-Tag, MPLS, PPPoE: one; PBB: two, PBB and the customer frame's
/// Ethernet, `PBB.cc` forwarding to its default analyzer). A chain that
/// would not leave room for IP and the transport within
/// [`PACKET_ANALYZER_MAX_DEPTH`] is `max_packet_analyzer_depth_exceeded`
/// (the option's documentation; where exactly Zeek's count starts is not in
/// the source we read, so a chain near the limit may differ by one).
pub fn ethertype(
    frame: &[u8],
    off: usize,
    t: u16,
    l3: &mut L3<'_>,
) -> Result<Option<usize>, Weird> {
    let (mut off, mut t) = (off, t);
    // The link analyzer that read this EtherType.
    let mut depth = 1;
    loop {
        let step = match t {
            0x88e7 => 2,
            0x8100 | 0x88a8 | 0x9100 | 0x8847 | 0x8848 | 0x8864 | 0x8926 => 1,
            _ => 0,
        };
        depth += step;
        if depth + AFTER_LINK > PACKET_ANALYZER_MAX_DEPTH {
            return Err(Weird::MaxPacketAnalyzerDepthExceeded);
        }
        match t {
            0x0800 | 0x86dd => return Ok(Some(off)),
            0x8100 | 0x88a8 | 0x9100 => {
                // VLAN.cc: `if ( 4 >= len )`.
                if frame.len() <= off + 4 {
                    return Err(Weird::TruncatedVlanHeader);
                }
                let id = be16(frame, off) & 0x0fff;
                if l3.vlan.is_none() {
                    l3.vlan = Some(id);
                } else if l3.inner_vlan.is_none() {
                    l3.inner_vlan = Some(id);
                }
                t = be16(frame, off + 2);
                off += 4;
                // VLAN.cc: a length field is 802.2 (at least two bytes,
                // else `truncated_VLAN_header`; the bytes trimmed to the
                // length), 1501-1535 `undefined_vlan_protocol`.
                if t <= 1500 {
                    if frame.len() < off + 2 {
                        return Err(Weird::TruncatedVlanHeader);
                    }
                    let end = frame.len().min(off + t as usize);
                    return ieee802_2(frame, off, end, l3);
                }
                if t < 1536 {
                    return Err(Weird::UndefinedVlanProtocol);
                }
            }
            0x8847 | 0x8848 => {
                // MPLS: labels until bottom of stack, then IP by version nibble.
                loop {
                    // MPLS.cc: `if ( 4 >= len )` before each label.
                    if frame.len() <= off + 4 {
                        return Err(Weird::TruncatedMplsHeader);
                    }
                    let bos = frame[off + 2] & 0x01 != 0;
                    off += 4;
                    if bos {
                        break;
                    }
                }
                return ip_by_version(frame, off);
            }
            0x8864 => {
                // PPPoE session: 6-byte header then a PPP protocol number
                // (PPPoE.cc: `if ( 8 >= len )`).
                if frame.len() <= off + 8 {
                    return Err(Weird::TruncatedPppoeHeader);
                }
                return match be16(frame, off + 6) {
                    0x0021 | 0x0057 => Ok(Some(off + 8)),
                    _ => Ok(None),
                };
            }
            0x88e7 => {
                // 802.1ah PBB: I-TAG (4) + customer MACs (12) + EtherType.
                // PBB.cc: `if ( PBB_LEN >= len )` (18), then the customer
                // frame from byte 4 to the Ethernet analyzer (`16 >= len`).
                if frame.len() <= off + 18 {
                    return Err(Weird::TruncatedLinkHeader(Analyzer::Pbb));
                }
                if frame.len() <= off + 4 + 16 {
                    return Err(Weird::TruncatedLinkHeader(Analyzer::Ethernet));
                }
                let mut dst = [0u8; 6];
                let mut src = [0u8; 6];
                dst.copy_from_slice(&frame[off + 4..off + 10]);
                src.copy_from_slice(&frame[off + 10..off + 16]);
                l3.dst_mac = Some(dst);
                l3.src_mac = Some(src);
                t = be16(frame, off + 16);
                off += 18;
            }
            0x8926 => {
                // VN-Tag: 4-byte tag then EtherType (VNTag.cc: `6 >= len`).
                if frame.len() <= off + 6 {
                    return Err(Weird::TruncatedLinkHeader(Analyzer::VnTag));
                }
                t = be16(frame, off + 4);
                off += 6;
            }
            _ => return Ok(None),
        }
    }
}

fn ip_by_version(frame: &[u8], off: usize) -> Result<Option<usize>, Weird> {
    match frame.get(off).map(|b| b >> 4) {
        Some(4) | Some(6) => Ok(Some(off)),
        Some(_) => Err(Weird::UnknownIpVersion),
        None => Err(Weird::TruncatedIp),
    }
}

/// PPP with optional HDLC address/control bytes (PPPSerial.cc: 4 bytes or
/// fewer are `truncated_ppp_serial_header`).
pub fn ppp_serial(frame: &[u8]) -> Result<Option<usize>, Weird> {
    if frame.len() <= 4 {
        return Err(Weird::TruncatedLinkHeader(Analyzer::PppSerial));
    }
    let mut off = 0;
    if frame.len() >= 2 && frame[0] == 0xff && frame[1] == 0x03 {
        off = 2;
    } else if frame.len() >= 2 && frame[0] == 0x0f {
        // Cisco HDLC: address, control, EtherType.
        if frame.len() < 4 {
            return Err(Weird::TruncatedLinkHeader(Analyzer::PppSerial));
        }
        return match be16(frame, 2) {
            0x0800 | 0x86dd => Ok(Some(4)),
            _ => Ok(None),
        };
    }
    ppp_protocol(frame, off)
}

/// A PPP protocol field at `off` (1 or 2 bytes), then IPv4/IPv6.
pub fn ppp_protocol(frame: &[u8], off: usize) -> Result<Option<usize>, Weird> {
    let Some(&b0) = frame.get(off) else {
        return Err(Weird::TruncatedLinkHeader(Analyzer::PppSerial));
    };
    // Protocol-field compression: an odd first byte is a 1-byte protocol.
    let (proto, hlen) = if b0 & 1 == 1 {
        (b0 as u16, 1)
    } else {
        if frame.len() < off + 2 {
            return Err(Weird::TruncatedLinkHeader(Analyzer::PppSerial));
        }
        (be16(frame, off), 2)
    };
    match proto {
        0x0021 | 0x0057 => Ok(Some(off + hlen)),
        _ => Ok(None),
    }
}

/// NFLOG's TLV type of the packet payload (`NFULA_PAYLOAD`).
const NFULA_PAYLOAD: u16 = 9;

/// Linux netfilter NFLOG (`LINKTYPE_NFLOG`), as Zeek's NFLog analyzer
/// (`src/packet_analysis/protocol/nflog/NFLog.cc`) reads it; returns the
/// offset of the packet after the payload TLV's 4-byte header.
///
/// - 4 bytes or fewer: `truncated_nflog_header`. Then a 4-byte header:
///   address family (`data[0]`), version (`data[1]`, must be 0, else
///   `unknown_nflog_version`), resource id.
/// - TLVs follow: 16-bit length (counting the 4-byte TLV header) and
///   16-bit type, in the byte order `big_endian` names (see
///   `capture::linktype::NFLOG_BE`). Before each TLV, 4 bytes or fewer
///   left: `nflog_no_pcap_payload`. Type 9 (`NFULA_PAYLOAD`): the packet
///   follows its header and runs to the end of the frame (its length is
///   not used). Any other type with a length below 4: `nflog_bad_tlv_len`;
///   else it is skipped, its length rounded up to a multiple of 4.
/// - A skipped TLV whose length, rounded up to a multiple of 4 in full
///   width, runs past the bytes left (counted from the TLV's start) is
///   `nflog_bad_tlv_len` with addl `(rounded > left)` (`NFLog.cc` since
///   Zeek checks `tlv_skip > len`; before that it underflowed).
/// - The family picks the next analyzer
///   (`scripts/base/packet-protocols/nflog/main.zeek`): 2 (AF_INET) and 10
///   (AF_INET6) go to the IP analyzer, which goes by the version nibble
///   whatever the family said. Another family has no dispatch entry and
///   the NFLog analyzer no default analyzer: `Analyzer::ForwardPacket`
///   (`src/packet_analysis/Analyzer.cc`) calls `ReportUnknownProtocol`,
///   an `unknown_protocol` event (unknown_protocols.log, a policy script),
///   and no weird: `Ok(None)`, a non-IP frame.
fn nflog(frame: &[u8], big_endian: bool) -> Result<Option<usize>, Weird> {
    if frame.len() <= 4 {
        return Err(Weird::TruncatedNflogHeader);
    }
    let family = frame[0];
    if frame[1] != 0 {
        return Err(Weird::UnknownNflogVersion);
    }
    let u16_at = |o: usize| {
        let b = [frame[o], frame[o + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let mut off = 4;
    loop {
        let left = frame.len() - off;
        if left <= 4 {
            return Err(Weird::NflogNoPcapPayload);
        }
        let (tlv_len, tlv_type) = (u16_at(off), u16_at(off + 2));
        if tlv_type == NFULA_PAYLOAD {
            off += 4;
            break;
        }
        if tlv_len < 4 {
            return Err(Weird::NflogBadTlvLen);
        }
        // A TLV whose padded length runs past the bytes left is a bad
        // length, its addl the two sizes (`NFLog.cc`: `tlv_skip > len`).
        let padded = (tlv_len as usize + 3) & !3;
        if padded > left {
            return Err(Weird::NflogTlvPastEnd(padded as u32, left as u32));
        }
        off += padded;
    }
    match family {
        2 | 10 => Ok(Some(off)),
        _ => Ok(None),
    }
}

fn fddi(frame: &[u8], l3: &mut L3<'_>) -> Result<Option<usize>, Weird> {
    // Frame control (1), destination (6), source (6), then LLC/SNAP (8)
    // (FDDI.cc: `if ( hdr_size >= len )`, 21).
    if frame.len() <= 21 {
        return Err(Weird::TruncatedLinkHeader(Analyzer::Fddi));
    }
    // Zeek's FDDI analyzer does not record the MAC addresses.
    if frame[13] != 0xaa || frame[14] != 0xaa {
        return Ok(None);
    }
    let t = be16(frame, 19);
    ethertype(frame, 21, t, l3)
}

/// 802.11 (`ieee802_11/IEEE802_11.cc`): 24 bytes or fewer, or no byte
/// after the header, `truncated_802_11_header`; fewer than 8 bytes for the
/// LLC header `truncated_802_11_llc_header`.
fn ieee80211(frame: &[u8], off: usize, l3: &mut L3<'_>) -> Result<Option<usize>, Weird> {
    if frame.len() <= off + 24 {
        return Err(Weird::TruncatedLinkHeader(Analyzer::Ieee80211));
    }
    let fc0 = frame[off];
    let fc1 = frame[off + 1];
    let ftype = (fc0 >> 2) & 0x3;
    if ftype != 2 {
        return Ok(None);
    }
    // Protected frames cannot be decoded.
    if fc1 & 0x40 != 0 {
        return Ok(None);
    }
    let subtype = fc0 >> 4;
    // Null data frames carry nothing.
    if subtype & 0x4 != 0 {
        return Ok(None);
    }
    let mut hlen = 24;
    let to_ds = fc1 & 0x1 != 0;
    let from_ds = fc1 & 0x2 != 0;
    if to_ds && from_ds {
        hlen += 6;
    }
    if subtype & 0x8 != 0 {
        hlen += 2; // QoS control
        if fc1 & 0x80 != 0 {
            hlen += 4; // HT control
        }
    }
    if frame.len() <= off + hlen {
        return Err(Weird::TruncatedLinkHeader(Analyzer::Ieee80211));
    }
    let mut a = [[0u8; 6]; 3];
    for (i, m) in a.iter_mut().enumerate() {
        m.copy_from_slice(&frame[off + 4 + 6 * i..off + 10 + 6 * i]);
    }
    let (dst, src) = match (to_ds, from_ds) {
        (false, false) => (a[0], a[1]),
        (false, true) => (a[0], a[2]),
        (true, false) => (a[2], a[1]),
        (true, true) => (a[2], a[1]),
    };
    l3.dst_mac = Some(dst);
    l3.src_mac = Some(src);
    let llc = off + hlen;
    if frame.len() < llc + 8 {
        return Err(Weird::Truncated80211LlcHeader);
    }
    if frame[llc] != 0xaa || frame[llc + 1] != 0xaa || frame[llc + 2] != 0x03 {
        return Ok(None);
    }
    let t = be16(frame, llc + 6);
    ethertype(frame, llc + 8, t, l3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_and_mpls() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x88, 0x47]);
        f.extend_from_slice(&[0, 0, 0x11, 64]); // one MPLS label, bottom of stack
        f.extend_from_slice(&[0x45, 0, 0, 20]);
        let l3 = decode(linktype::ETHERNET, &f).unwrap().unwrap();
        assert_eq!(l3.vlan, Some(100));
        assert_eq!(l3.inner_vlan, Some(200));
        assert_eq!(l3.ip[0], 0x45);
        assert_eq!(l3.link_len, 26);
    }

    #[test]
    fn arp_is_not_ip_and_short_frames_are_weird() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0]);
        assert!(decode(linktype::ETHERNET, &f).unwrap().is_none());
        // Ethernet.cc: `if ( 16 >= len ) Weird("truncated_ethernet_frame")`.
        for n in [10, 14, 16] {
            let w = decode(linktype::ETHERNET, &f[..n]).unwrap_err();
            assert_eq!(w, Weird::TruncatedLinkHeader(Analyzer::Ethernet));
            assert_eq!(w.name(), "truncated_ethernet_frame");
        }
        // An 802.3 length field above the bytes after the header.
        let mut g = vec![0u8; 12];
        g.extend_from_slice(&[0, 8, 0xaa, 0xaa, 3, 0, 0, 0, 8]);
        assert_eq!(
            decode(linktype::ETHERNET, &g).unwrap_err(),
            Weird::TruncatedLinkHeader(Analyzer::Ethernet)
        );
        // SNAP (`snap/SNAP.cc`): 3-byte LLC + 5 bytes, OUI 0, EtherType.
        g.extend_from_slice(&[0, 0x45, 0, 0, 20]);
        assert_eq!(
            decode(linktype::ETHERNET, &g).unwrap().unwrap().link_len,
            22
        );
        // Under LLC + 5 bytes: truncated_snap_header.
        let mut h = vec![0u8; 12];
        h.extend_from_slice(&[0, 4, 0xaa, 0xaa, 3, 0]);
        let w = decode(linktype::ETHERNET, &h).unwrap_err();
        assert_eq!(
            (w.name(), w.source()),
            ("truncated_snap_header", Some("SNAP"))
        );
        // Another OUI: not forwarded, no weird.
        let mut o = g.clone();
        o[19] = 1;
        assert!(decode(linktype::ETHERNET, &o).unwrap().is_none());
        // EtherType 1501..1535: undefined_ether_type.
        let mut u = f.clone();
        u[12..14].copy_from_slice(&1535u16.to_be_bytes());
        assert_eq!(
            decode(linktype::ETHERNET, &u).unwrap_err().name(),
            "undefined_ether_type"
        );
        // Cisco FabricPath cut inside the inner header (`cfplen + 14 >= len`).
        let mut c = vec![0u8; 12];
        c.extend_from_slice(&[0x89, 0x03]);
        c.resize(30, 0);
        let w = decode(linktype::ETHERNET, &c).unwrap_err();
        assert_eq!(
            (w.name(), w.source()),
            ("truncated_link_header_cfp", Some("ETHERNET"))
        );
    }

    /// Each link layer's truncation is its analyzer's own name, on Zeek's
    /// `N >= len` conditions (`src/packet_analysis/protocol/*/*.cc`).
    #[test]
    fn link_truncations_are_named_per_analyzer() {
        let cases: [(u32, usize, &str, &str); 7] = [
            (linktype::NULL, 4, "null_analyzer_failed", "NULL"),
            (
                linktype::LINUX_SLL,
                16,
                "truncated_Linux_SLL_header",
                "LINUXSLL",
            ),
            (
                linktype::LINUX_SLL2,
                20,
                "truncated_Linux_SLL2_header",
                "LINUXSLL2",
            ),
            (
                linktype::IEEE802_11_RADIOTAP,
                3,
                "truncated_radiotap_header",
                "IEEE802_11_RADIO",
            ),
            (
                linktype::IEEE802_11,
                24,
                "truncated_802_11_header",
                "IEEE802_11",
            ),
            (linktype::FDDI, 21, "FDDI_analyzer_failed", "FDDI"),
            (linktype::PPP, 4, "truncated_ppp_serial_header", "PPPSERIAL"),
        ];
        for (lt, n, name, src) in cases {
            let w = decode(lt, &vec![8u8; n]).unwrap_err();
            assert_eq!((w.name(), w.source()), (name, Some(src)), "{lt}");
        }
        // Radiotap: a header length at or past the frame's end.
        let r = [0, 0, 8, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(linktype::IEEE802_11_RADIOTAP, &r)
                .unwrap_err()
                .name(),
            "truncated_radiotap_header"
        );
        // EtherType chains: VLAN (`4 >= len`), PPPoE (`8 >= len`), VN-Tag
        // (`6 >= len`), PBB (`18 >= len`), MPLS (`4 >= len`).
        for (t, n, name) in [
            (0x8100u16, 4, "truncated_VLAN_header"),
            (0x8864, 8, "truncated_pppoe_header"),
            (0x8926, 6, "truncated_vntag_header"),
            (0x88e7, 18, "truncated_PBB_header"),
            (0x8847, 4, "truncated_link_header"),
        ] {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&t.to_be_bytes());
            f.resize(14 + n.max(3), 0);
            f.resize(14 + n, 0);
            let w = decode(linktype::ETHERNET, &f).unwrap_err();
            assert_eq!(w.name(), name, "{t:#x}");
        }
    }

    /// A minimal IPv4 header (total length 20, no payload).
    const V4: [u8; 20] = [
        0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];

    /// An NFLOG frame: header (`family`, `version`, resource id 0), then
    /// each TLV as (type, length field, value), padded with zeros to 4
    /// bytes, its type and length in big-endian (`be`) or little-endian
    /// order. A payload TLV is the last one and needs no padding.
    fn nflog_frame(family: u8, version: u8, tlvs: &[(u16, u16, &[u8])], be: bool) -> Vec<u8> {
        let mut f = vec![family, version, 0, 0];
        let b16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        for &(t, len, value) in tlvs {
            f.extend_from_slice(&b16(len));
            f.extend_from_slice(&b16(t));
            f.extend_from_slice(value);
            while t != NFULA_PAYLOAD && f.len() % 4 != 0 {
                f.push(0);
            }
        }
        f
    }

    /// The TLVs of a typical NFLOG packet (`NFULA_PACKET_HDR`, a 5-byte
    /// `NFULA_PREFIX` whose length 9 leaves 3 bytes of padding, a 4-byte
    /// `NFULA_UID`) and the payload `pkt`.
    fn typical_tlvs(pkt: &[u8]) -> Vec<(u16, u16, &[u8])> {
        vec![
            (1, 8, &[0x08, 0x00, 3, 0][..]),
            (10, 9, b"drop\0"),
            (11, 8, &[0, 0, 3, 0xe8]),
            (NFULA_PAYLOAD, 4 + pkt.len() as u16, pkt),
        ]
    }

    #[test]
    fn nflog_skips_padded_and_unpadded_tlvs_to_the_payload() {
        // 4 (header) + 8 + 12 (9, padded) + 8 + 4 (payload TLV header).
        let f = nflog_frame(2, 0, &typical_tlvs(&V4), false);
        let l3 = decode(linktype::NFLOG, &f).unwrap().unwrap();
        assert_eq!(l3.link_len, 36);
        assert_eq!(l3.ip, &V4[..]);
        assert_eq!((l3.src_mac, l3.vlan), (None, None));
        // A payload TLV first.
        let f = nflog_frame(2, 0, &[(NFULA_PAYLOAD, 24, &V4)], false);
        assert_eq!(decode(linktype::NFLOG, &f).unwrap().unwrap().link_len, 8);
        // The payload TLV's own length is not used: the packet runs to the end.
        let f = nflog_frame(2, 0, &[(NFULA_PAYLOAD, 0, &V4)], false);
        assert_eq!(decode(linktype::NFLOG, &f).unwrap().unwrap().ip, &V4[..]);
    }

    #[test]
    fn nflog_ipv6_and_the_family_byte() {
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[6] = 59;
        let f = nflog_frame(10, 0, &typical_tlvs(&v6), false);
        let l3 = decode(linktype::NFLOG, &f).unwrap().unwrap();
        assert_eq!(l3.ip, &v6[..]);
        // AF_INET and AF_INET6 both go to the IP analyzer, which goes by the
        // version nibble.
        let f = nflog_frame(2, 0, &typical_tlvs(&v6), false);
        assert_eq!(decode(linktype::NFLOG, &f).unwrap().unwrap().ip, &v6[..]);
        // Another family: no analyzer, no weird (unknown_protocol only).
        for fam in [0, 1, 7, 24, 255] {
            let f = nflog_frame(fam, 0, &typical_tlvs(&V4), false);
            assert!(decode(linktype::NFLOG, &f).unwrap().is_none(), "{fam}");
        }
        // The family is looked at only after the TLVs.
        let f = nflog_frame(7, 0, &[(1, 2, &[]), (NFULA_PAYLOAD, 24, &V4)], false);
        assert_eq!(
            decode(linktype::NFLOG, &f).unwrap_err(),
            Weird::NflogBadTlvLen
        );
    }

    #[test]
    fn nflog_header_weirds() {
        // Four bytes or fewer: truncated, whatever the version byte says.
        for f in [&[][..], &[2], &[2, 0, 0], &[2, 0, 0, 0], &[2, 1, 0, 0]] {
            assert_eq!(
                decode(linktype::NFLOG, f).unwrap_err(),
                Weird::TruncatedNflogHeader,
                "{f:?}"
            );
            assert_eq!(
                decode(linktype::NFLOG_BE, f).unwrap_err(),
                Weird::TruncatedNflogHeader
            );
        }
        for version in [1, 2, 0xff] {
            let f = nflog_frame(2, version, &typical_tlvs(&V4), false);
            assert_eq!(
                decode(linktype::NFLOG, &f).unwrap_err(),
                Weird::UnknownNflogVersion
            );
        }
    }

    #[test]
    fn nflog_tlv_weirds() {
        let no_payload = |f: &[u8]| {
            assert_eq!(
                decode(linktype::NFLOG, f).unwrap_err(),
                Weird::NflogNoPcapPayload,
                "{f:?}"
            )
        };
        // A TLV length below 4 (other than the payload's).
        for len in 0..4 {
            let f = nflog_frame(2, 0, &[(1, len, &[]), (NFULA_PAYLOAD, 24, &V4)], false);
            assert_eq!(
                decode(linktype::NFLOG, &f).unwrap_err(),
                Weird::NflogBadTlvLen
            );
        }
        // TLVs that end with the frame, or leave 4 bytes or fewer: no payload.
        no_payload(&nflog_frame(2, 0, &[(1, 8, &[0; 4])], false));
        no_payload(&nflog_frame(
            2,
            0,
            &[(1, 8, &[0; 4]), (11, 8, &[0; 4])],
            false,
        ));
        let mut f = nflog_frame(2, 0, &[(1, 8, &[0; 4])], false);
        f.extend_from_slice(&[1, 2, 3, 4]);
        no_payload(&f);
        // A payload TLV with nothing after its header.
        no_payload(&nflog_frame(2, 0, &[(NFULA_PAYLOAD, 4, &[])], false));
        // A TLV running past the end: a bad length naming the rounded
        // length and the bytes left, whether its length or only its
        // padding runs past (rounded in full width: 0xffff is 65536).
        let past = |f: &[u8], skip: u32, left: u32| {
            let w = decode(linktype::NFLOG, f).unwrap_err();
            assert_eq!(w, Weird::NflogTlvPastEnd(skip, left), "{f:?}");
            assert_eq!(w.name(), "nflog_bad_tlv_len");
            assert_eq!(w.addl().as_deref(), Some(&*format!("({skip} > {left})")));
        };
        past(&nflog_frame(2, 0, &[(1, 200, &[0; 8])], false), 200, 12);
        past(
            &nflog_frame(2, 0, &[(1, 0xffff, &[0; 8])], false),
            65536,
            12,
        );
        let mut f = nflog_frame(2, 0, &[(10, 11, &[0; 7])], false);
        f.truncate(15); // 4 + 11 bytes: the TLV's 11 fit, rounded to 12 they do not.
        past(&f, 12, 11);
        // A second TLV past the end: left is counted from its own start.
        let mut f = nflog_frame(2, 0, &[(1, 8, &[0; 4]), (11, 40, &[0; 8])], false);
        f.truncate(20);
        past(&f, 40, 8);
        // Exactly 5 bytes after a TLV: the payload is one byte (not IP,
        // which the IP parser then reports).
        let f = nflog_frame(2, 0, &[(1, 8, &[0; 4]), (NFULA_PAYLOAD, 5, &[0x45])], false);
        let l3 = decode(linktype::NFLOG, &f).unwrap().unwrap();
        assert_eq!(l3.ip, &[0x45]);
        assert_eq!(
            super::super::ip::parse(l3.ip, 1, false).unwrap_err(),
            Weird::TruncatedIp
        );
    }

    #[test]
    fn nflog_tlv_headers_in_the_file_byte_order() {
        let be = nflog_frame(2, 0, &typical_tlvs(&V4), true);
        let l3 = decode(linktype::NFLOG_BE, &be).unwrap().unwrap();
        assert_eq!((l3.link_len, l3.ip), (36, &V4[..]));
        // Read in the other order: 0x0800 (2048) bytes, past the end.
        let left = be.len() as u32 - 4;
        assert_eq!(
            decode(linktype::NFLOG, &be).unwrap_err(),
            Weird::NflogTlvPastEnd(2048, left)
        );
        let le = nflog_frame(2, 0, &typical_tlvs(&V4), false);
        assert_eq!(
            decode(linktype::NFLOG_BE, &le).unwrap_err(),
            Weird::NflogTlvPastEnd(2048, left)
        );
        // Big-endian weirds as little-endian ones.
        let f = nflog_frame(2, 0, &[(1, 3, &[]), (NFULA_PAYLOAD, 24, &V4)], true);
        assert_eq!(
            decode(linktype::NFLOG_BE, &f).unwrap_err(),
            Weird::NflogBadTlvLen
        );
        let f = nflog_frame(2, 0, &[(1, 200, &[0; 8])], true);
        assert_eq!(
            decode(linktype::NFLOG_BE, &f).unwrap_err(),
            Weird::NflogTlvPastEnd(200, 12)
        );
        // What the readers hand out.
        assert_eq!(
            linktype::from_file(linktype::NFLOG, true),
            linktype::NFLOG_BE
        );
        assert_eq!(linktype::from_file(linktype::NFLOG, false), linktype::NFLOG);
        assert_eq!(
            linktype::from_file(linktype::ETHERNET, true),
            linktype::ETHERNET
        );
        assert_eq!(
            linktype::from_host(linktype::NFLOG) == linktype::NFLOG_BE,
            cfg!(target_endian = "big")
        );
    }

    /// Raw IP and link types Zeek's root analyzer has no entry for go to
    /// its default analyzer, IP, from the frame's first byte
    /// (`scripts/base/packet-protocols/root/main.zeek`); the IP parser
    /// names what is not IP, checking the length before the version
    /// (`IP.cc`: `truncated_IP`, then `unknown_ip_version`).
    #[test]
    fn raw_and_unknown_link_types_are_raw_ip() {
        use super::super::ip;
        for lt in [
            linktype::RAW,
            12,
            14,
            linktype::IPV4,
            linktype::IPV6,
            2,
            147,
            9999,
            u32::MAX,
        ] {
            let l3 = decode(lt, &V4).unwrap().unwrap();
            assert_eq!((l3.link_len, l3.ip), (0, &V4[..]), "{lt}");
            assert_eq!((l3.src_mac, l3.vlan), (None, None));
            let p = ip::parse(l3.ip, V4.len(), true).unwrap();
            assert_eq!(p.dst, crate::decode::Addr::v4([10, 0, 0, 2]));
            // Garbage: under 20 bytes truncated_IP, whatever its first
            // nibble; 20 or more with a version other than 4 or 6,
            // unknown_ip_version.
            for (g, want) in [
                (&[][..], Weird::TruncatedIp),
                (&[0x00, 1, 2], Weird::TruncatedIp),
                (&[0x45; 19], Weird::TruncatedIp),
                (&[0x00; 20], Weird::UnknownIpVersion),
                (&[0xff; 64], Weird::UnknownIpVersion),
            ] {
                let l3 = decode(lt, g).unwrap().unwrap();
                assert_eq!(l3.ip, g);
                assert_eq!(
                    ip::parse(l3.ip, g.len(), true).unwrap_err(),
                    want,
                    "{lt} {g:?}"
                );
            }
        }
    }

    /// OpenBSD loopback (108) and Cisco HDLC (104) register no analyzer
    /// in Zeek's root dispatch map (`scripts/base/packet-protocols/`: null
    /// registers DLT_NULL 0 only, ppp_serial 50, ppp 9), so their frames
    /// are raw IP to it: the 4-byte headers make them `unknown_ip_version`.
    #[test]
    fn loop_and_cisco_hdlc_are_raw_ip_as_in_zeek() {
        use super::super::ip;
        let mut lo = vec![0, 0, 0, 2];
        lo.extend_from_slice(&V4);
        let mut hdlc = vec![0x0f, 0, 0x08, 0];
        hdlc.extend_from_slice(&V4);
        for (lt, f) in [(linktype::LOOP, &lo), (linktype::C_HDLC, &hdlc)] {
            let l3 = decode(lt, f).unwrap().unwrap();
            assert_eq!(l3.link_len, 0);
            assert_eq!(
                ip::parse(l3.ip, f.len(), true).unwrap_err(),
                Weird::UnknownIpVersion
            );
        }
    }

    #[test]
    fn null_loopback_either_byte_order() {
        let f = [2, 0, 0, 0, 0x45, 0];
        assert_eq!(decode(linktype::NULL, &f).unwrap().unwrap().link_len, 4);
        let f = [0, 0, 0, 30, 0x60, 0];
        assert_eq!(decode(linktype::NULL, &f).unwrap().unwrap().link_len, 4);
    }

    /// An Ethernet frame whose IPv4 packet sits under `pbb` PBB headers
    /// (each an I-TAG and a customer Ethernet header) and `vlans` tags.
    fn nested(pbb: usize, vlans: usize) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for i in 0..pbb {
            f.extend_from_slice(&[0x88, 0xe7, 0, 0, 0, 1]);
            f.extend_from_slice(&[2, 0, 0, 0, 0x20, i as u8, 2, 0, 0, 0, 0x10, i as u8]);
        }
        for _ in 0..vlans {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 7]);
        }
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 20]);
        f
    }

    /// `PacketAnalyzer::max_depth` = 25 analyzers: Ethernet, two per PBB
    /// (PBB, the customer frame's Ethernet), one per VLAN tag, and room
    /// for IP and the transport; one more is
    /// `max_packet_analyzer_depth_exceeded`, not a decoded packet.
    #[test]
    fn packet_analyzer_chain_depth() {
        // 1 + 2 * 11 + 2 = 25: decoded, the MACs of the innermost frame.
        let f = nested(11, 0);
        let l3 = decode(linktype::ETHERNET, &f).unwrap().unwrap();
        assert_eq!(l3.ip[0], 0x45);
        assert_eq!(l3.src_mac, Some([2, 0, 0, 0, 0x10, 10]));
        for (pbb, vlans) in [(12, 0), (50, 0), (0, 23), (11, 1)] {
            assert_eq!(
                decode(linktype::ETHERNET, &nested(pbb, vlans)).unwrap_err(),
                Weird::MaxPacketAnalyzerDepthExceeded,
                "{pbb} {vlans}"
            );
        }
        let f = nested(0, 22);
        let l3 = decode(linktype::ETHERNET, &f).unwrap().unwrap();
        assert_eq!(l3.link_len, 14 + 22 * 4);
        assert_eq!(
            Weird::MaxPacketAnalyzerDepthExceeded.name(),
            "max_packet_analyzer_depth_exceeded"
        );
    }
}
