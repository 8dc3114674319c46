//! IPv4 and IPv6 headers (with IPv6 extension headers) and the transport
//! headers above them (TCP, UDP, ICMP/ICMPv6), as zero-copy views.
//!
//! Validation follows Zeek's IP analyzer (`src/packet_analysis/protocol/ip/IP.cc`):
//! a packet whose IP total length exceeds its wire length, or whose header
//! lengths are inconsistent, or (with checksums validated) whose IPv4 header
//! checksum is wrong, is dropped with a named weird. A packet cut short by a
//! snaplen is still processed.

use super::weird::Analyzer;
use super::{be16, be32, fold, ones_sum, Addr, Weird};

/// Fragmentation fields of an IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification (IPv4 16 bits, IPv6 32 bits).
    pub id: u32,
    /// Byte offset of this fragment's data.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// A validated IP packet.
#[derive(Clone, Copy, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// IPv6 (else IPv4).
    pub is_v6: bool,
    /// Transport protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// Header length including IPv6 extension headers.
    pub hdr_len: usize,
    /// Zeek's `TotalLen()`: IPv4 total length, IPv6 40 + payload length.
    pub total_len: u32,
    /// Time to live / hop limit.
    pub ttl: u8,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// The IP header bytes (including extension headers).
    pub header: &'a [u8],
    /// Captured transport bytes, trimmed to the IP payload length.
    pub payload: &'a [u8],
    /// Transport length on the wire (`total_len - hdr_len`).
    pub payload_len: u32,
    /// Fragment fields, when this packet is a fragment.
    pub frag: Option<FragInfo>,
    /// Offset of the fragment header's next-header byte (IPv6), for reassembly.
    pub v6_frag_next_off: usize,
}

impl<'a> IpPacket<'a> {
    /// Whether the whole payload was captured.
    pub fn fully_captured(&self) -> bool {
        self.payload.len() as u32 >= self.payload_len
    }

    /// Pseudo-header checksum seed for TCP/UDP/ICMPv6 with transport length `len`.
    pub fn pseudo_sum(&self, proto: u8, len: u32) -> u64 {
        let mut acc = 0u64;
        if self.is_v6 {
            acc = ones_sum(&self.src.0, acc);
            acc = ones_sum(&self.dst.0, acc);
            acc += (len >> 16) as u64 + (len & 0xffff) as u64;
            acc += proto as u64;
        } else {
            acc = ones_sum(&self.src.0[12..], acc);
            acc = ones_sum(&self.dst.0[12..], acc);
            acc += proto as u64;
            acc += (len & 0xffff) as u64;
        }
        acc
    }

    /// Validates a TCP/UDP/ICMPv6 checksum over the captured payload (call only
    /// when fully captured).
    pub fn transport_checksum_ok(&self, proto: u8) -> bool {
        let len = self.payload_len;
        let acc = ones_sum(self.payload, self.pseudo_sum(proto, len));
        fold(acc) == 0xffff
    }
}

/// Parses an IP packet. `wire_len` is the number of wire bytes from the IP
/// header to the end of the frame; `ignore_checksums` is Zeek's `-C`.
pub fn parse(data: &[u8], wire_len: usize, ignore_checksums: bool) -> Result<IpPacket<'_>, Weird> {
    if data.len() < 20 {
        return Err(Weird::TruncatedIp);
    }
    match data[0] >> 4 {
        4 => parse_v4(data, wire_len, ignore_checksums),
        6 => parse_v6(data, wire_len),
        _ => Err(Weird::UnknownIpVersion),
    }
}

fn parse_v4(data: &[u8], wire_len: usize, ignore_checksums: bool) -> Result<IpPacket<'_>, Weird> {
    let hdr_len = ((data[0] & 0x0f) as usize) * 4;
    let mut total_len = be16(data, 2) as u32;
    if total_len == 0 {
        if !ignore_checksums {
            return Err(Weird::IpHdrLenZero);
        }
        total_len = data.len() as u32;
    }
    if (wire_len as u32) < total_len {
        return Err(Weird::TruncatedIpLen);
    }
    if hdr_len as u32 > total_len {
        return Err(Weird::InvalidIpHeaderSize);
    }
    if hdr_len > data.len() {
        return Err(Weird::InternallyTruncatedHeader(Analyzer::Ip));
    }
    if hdr_len < 20 {
        return Err(Weird::Ipv4MinHeaderSize);
    }
    let header = &data[..hdr_len];
    if !ignore_checksums && fold(ones_sum(header, 0)) != 0xffff {
        return Err(Weird::BadIpChecksum);
    }
    let ff = be16(data, 6);
    let offset = ((ff & 0x1fff) as u32) * 8;
    let more = ff & 0x2000 != 0;
    let frag = if offset != 0 || more {
        Some(FragInfo {
            id: be16(data, 4) as u32,
            offset,
            more,
        })
    } else {
        None
    };
    let end = (total_len as usize).min(data.len());
    Ok(IpPacket {
        src: Addr::v4([data[12], data[13], data[14], data[15]]),
        dst: Addr::v4([data[16], data[17], data[18], data[19]]),
        is_v6: false,
        proto: data[9],
        hdr_len,
        total_len,
        ttl: data[8],
        flow_label: 0,
        header,
        payload: &data[hdr_len..end],
        payload_len: total_len - hdr_len as u32,
        frag,
        v6_frag_next_off: 0,
    })
}

fn parse_v6(data: &[u8], wire_len: usize) -> Result<IpPacket<'_>, Weird> {
    if data.len() < 40 {
        return Err(Weird::TruncatedIp);
    }
    let total_len = 40 + be16(data, 4) as u32;
    if (wire_len as u32) < total_len {
        return Err(Weird::TruncatedIpLen);
    }
    let mut next = data[6];
    let mut off = 40usize;
    let mut frag = None;
    let mut v6_frag_next_off = 0;
    // Walk the extension header chain (bounded by the header count).
    for _ in 0..32 {
        match next {
            0 | 43 | 60 | 51 => {
                if data.len() < off + 8 {
                    return Err(Weird::TruncatedIpv6Ext);
                }
                let len = if next == 51 {
                    (data[off + 1] as usize + 2) * 4
                } else {
                    (data[off + 1] as usize + 1) * 8
                };
                // A header past the total length but within the captured
                // bytes is walked: Zeek's chain is built over the captured
                // bytes (`IPv6_Hdr_Chain::Init`), then `IP.cc` drops the
                // packet as `invalid_IP_header_size` (below).
                if data.len() < off + len {
                    return Err(Weird::TruncatedIpv6Ext);
                }
                next = data[off];
                off += len;
            }
            44 => {
                if data.len() < off + 8 {
                    return Err(Weird::TruncatedIpv6Ext);
                }
                let fo = be16(data, off + 2);
                v6_frag_next_off = off;
                frag = Some(FragInfo {
                    id: be32(data, off + 4),
                    offset: ((fo >> 3) as u32) * 8,
                    more: fo & 1 != 0,
                });
                next = data[off];
                off += 8;
                if frag.is_some_and(|f| f.offset != 0 || f.more) {
                    break;
                }
                // An atomic fragment (offset 0, no more): keep parsing.
                frag = None;
            }
            _ => break,
        }
    }
    if off as u32 > total_len {
        return Err(Weird::InvalidIpHeaderSize);
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&data[8..24]);
    dst.copy_from_slice(&data[24..40]);
    let end = (total_len as usize).min(data.len());
    Ok(IpPacket {
        src: Addr(src),
        dst: Addr(dst),
        is_v6: true,
        proto: next,
        hdr_len: off,
        total_len,
        ttl: data[7],
        flow_label: be32(data, 0) & 0x000f_ffff,
        header: &data[..off],
        payload: &data[off..end],
        payload_len: total_len - off as u32,
        frag,
        v6_frag_next_off,
    })
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// A TCP header view.
#[derive(Clone, Copy, Debug)]
pub struct Tcp<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flag byte.
    pub flags: u8,
    /// Header length in bytes.
    pub hdr_len: usize,
    /// Advertised window (unscaled).
    pub window: u16,
    /// Option bytes.
    pub options: &'a [u8],
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload length on the wire.
    pub payload_len: u32,
}

impl Tcp<'_> {
    /// Whether `f` is set.
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// The window-scale option value, if present.
    pub fn window_scale(&self) -> Option<u8> {
        let o = self.options;
        let mut i = 0;
        while i < o.len() {
            match o[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let len = *o.get(i + 1)? as usize;
                    if len < 2 || i + len > o.len() {
                        break;
                    }
                    if kind == 3 && len == 3 {
                        return Some(o[i + 2]);
                    }
                    i += len;
                }
            }
        }
        None
    }
}

/// Zeek's `IPBasedAnalyzer::CheckHeaderTrunc` for a transport header of
/// `min` bytes (TCP 20, UDP 8, ICMP 8): an IP payload length below `min` is
/// `truncated_header` (a payload length of 0, as segmentation offload leaves
/// it, is not checked); a header that fits the payload length but not the
/// captured bytes is `internally_truncated_header`. (Zeek counts captured
/// link padding after the IP packet as captured; the view here ends at the
/// IP total length, which differs only for a zero payload length.)
/// `analyzer` is the transport's (TCP, UDP, ICMP): the weird is its own.
pub fn check_header_trunc(ip: &IpPacket<'_>, min: u32, analyzer: Analyzer) -> Result<(), Weird> {
    if ip.payload_len != 0 && ip.payload_len < min {
        return Err(Weird::TruncatedHeader(analyzer));
    }
    if (ip.payload.len() as u32) < min {
        return Err(Weird::InternallyTruncatedHeader(analyzer));
    }
    Ok(())
}

/// Parses the TCP header at the start of `ip.payload`, as
/// `TCPAnalyzer::ExtractTCP_Header` (`tcp/TCP.cc`): a data offset below 20
/// bytes is `bad_TCP_header_len`; a header longer than the IP payload
/// length or the captured bytes (`tcp_hdr_len > len || tcp_hdr_len >
/// remaining`) is `truncated_header`. Both are the TCP session adapter's
/// (`adapter->Weird`), raised on the connection.
pub fn tcp<'a>(ip: &IpPacket<'a>) -> Result<Tcp<'a>, Weird> {
    let b = ip.payload;
    if b.len() < 20 {
        return Err(Weird::TruncatedHeader(Analyzer::Tcp));
    }
    let hdr_len = ((b[12] >> 4) as usize) * 4;
    if hdr_len < 20 {
        return Err(Weird::BadTcpHeaderLen);
    }
    if hdr_len > b.len() || hdr_len as u32 > ip.payload_len {
        return Err(Weird::TruncatedHeader(Analyzer::Tcp));
    }
    Ok(Tcp {
        sport: be16(b, 0),
        dport: be16(b, 2),
        seq: be32(b, 4),
        ack: be32(b, 8),
        flags: b[13],
        hdr_len,
        window: be16(b, 14),
        options: &b[20..hdr_len],
        payload: &b[hdr_len..],
        payload_len: ip.payload_len - hdr_len as u32,
    })
}

/// A UDP header view.
#[derive(Clone, Copy, Debug)]
pub struct Udp<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// The UDP length field.
    pub ulen: u16,
    /// The checksum field.
    pub checksum: u16,
    /// Captured payload bytes (trimmed to the IP payload length).
    pub payload: &'a [u8],
}

/// Parses the UDP header at the start of `ip.payload`.
pub fn udp<'a>(ip: &IpPacket<'a>) -> Result<Udp<'a>, Weird> {
    let b = ip.payload;
    if b.len() < 8 {
        return Err(Weird::TruncatedHeader(Analyzer::Udp));
    }
    Ok(Udp {
        sport: be16(b, 0),
        dport: be16(b, 2),
        ulen: be16(b, 4),
        checksum: be16(b, 6),
        payload: &b[8..],
    })
}

/// An ICMP/ICMPv6 header view.
#[derive(Clone, Copy, Debug)]
pub struct Icmp<'a> {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes after the 4-byte type/code/checksum.
    pub rest: &'a [u8],
}

/// Parses the ICMP header at the start of `ip.payload`.
pub fn icmp<'a>(ip: &IpPacket<'a>) -> Result<Icmp<'a>, Weird> {
    let b = ip.payload;
    if b.len() < 8 {
        return Err(Weird::TruncatedHeader(Analyzer::Icmp));
    }
    Ok(Icmp {
        icmp_type: b[0],
        code: b[1],
        rest: &b[4..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        let c = !fold(ones_sum(&v, 0));
        v[10] = (c >> 8) as u8;
        v[11] = c as u8;
        let ulen = 8 + payload.len();
        v.extend_from_slice(&[0x30, 0x39, 0, 53, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv4_udp_with_padding_is_trimmed() {
        let mut p = ipv4_udp(b"abcd");
        p.extend_from_slice(&[0; 6]); // Ethernet padding
        let ip = parse(&p, p.len(), false).unwrap();
        assert_eq!(ip.total_len, 32);
        assert_eq!(ip.payload.len(), 12);
        let u = udp(&ip).unwrap();
        assert_eq!(u.payload, b"abcd");
        assert!(ip.fully_captured());
    }

    #[test]
    fn bad_header_checksum_only_with_validation() {
        let mut p = ipv4_udp(b"x");
        p[10] ^= 0xff;
        assert_eq!(parse(&p, p.len(), false).unwrap_err(), Weird::BadIpChecksum);
        assert!(parse(&p, p.len(), true).is_ok());
    }

    #[test]
    fn total_length_beyond_wire_is_dropped_but_snaplen_is_not() {
        let p = ipv4_udp(b"hello");
        assert_eq!(
            parse(&p, p.len() - 1, false).unwrap_err(),
            Weird::TruncatedIpLen
        );
        // Captured 30 of 33 bytes, wire length full: processed.
        let ip = parse(&p[..30], p.len(), false).unwrap();
        assert!(!ip.fully_captured());
    }

    #[test]
    fn ipv6_hop_by_hop_then_udp() {
        let mut p = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        p.extend_from_slice(&[0; 32]);
        p.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        let ip = parse(&p, p.len(), false).unwrap();
        assert_eq!(ip.proto, 17);
        assert_eq!(ip.hdr_len, 48);
        assert_eq!(ip.total_len, 56);
        assert_eq!(udp(&ip).unwrap().dport, 2);
    }
}
