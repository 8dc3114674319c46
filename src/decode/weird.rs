//! Named decode anomalies (Zeek's weird names where Zeek has one).

/// A decode anomaly. The name is what weird.log shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Weird {
    /// Link layer shorter than its header.
    TruncatedLinkHeader,
    /// The chain of link-layer packet analyzers (Ethernet, VLAN, PBB,
    /// VN-Tag, ...) grew past Zeek's `PacketAnalyzer::max_depth` (25,
    /// `scripts/base/packet-protocols/main.zeek`); an unknown link type is
    /// raw IP and an unknown EtherType no weird, as in Zeek.
    MaxPacketAnalyzerDepthExceeded,
    /// A VLAN header cut short.
    TruncatedVlanHeader,
    /// MPLS label stack cut short.
    TruncatedMplsHeader,
    /// PPPoE header cut short.
    TruncatedPppoeHeader,
    /// Fewer bytes than an IP header.
    TruncatedIp,
    /// IP version other than 4 or 6.
    UnknownIpVersion,
    /// IP total length exceeds the wire length.
    TruncatedIpLen,
    /// IP header length larger than total length.
    InvalidIpHeaderSize,
    /// IP header runs past the captured bytes.
    InternallyTruncatedHeader,
    /// IPv4 header length below 20.
    Ipv4MinHeaderSize,
    /// IPv4 total length 0 (segmentation offload).
    IpHdrLenZero,
    /// Bad IPv4 header checksum.
    BadIpChecksum,
    /// A fragment not fully captured.
    IncompletelyCapturedFragment,
    /// Fragment reassembly limits reached; the fragment was dropped.
    FragmentLimit,
    /// The reassembly pool was full (datagrams or bytes): its oldest
    /// datagram was dropped to make room (`--max-memory`, or the defaults).
    FragEvicted,
    /// A datagram arrived in more disjoint pieces than are tracked; it was dropped.
    FragTooManyPieces,
    /// Overlapping fragments with different contents.
    FragmentInconsistentOverlap,
    /// An IPv4 fragment with the don't-fragment bit set (a flow weird).
    FragmentWithDf,
    /// A fragment with more to follow whose IP total length is below 64 (a flow weird).
    ExcessivelySmallFragment,
    /// A fragment whose data ends past byte 64,000 of its datagram (a flow weird).
    ExcessivelyLargeFragment,
    /// IPv6 extension header chain cut short.
    TruncatedIpv6Ext,
    /// IPv6 next header "none".
    Ipv6NoNext,
    /// Transport header cut short.
    TruncatedHeader,
    /// TCP data offset below 20 or beyond the segment.
    BadTcpHeaderLen,
    /// UDP length field inconsistent with the IP payload.
    BadUdpLength,
    /// TCP checksum wrong.
    BadTcpChecksum,
    /// UDP checksum wrong.
    BadUdpChecksum,
    /// ICMP checksum wrong.
    BadIcmpChecksum,
    /// GRE version or flags we do not decode.
    UnknownGreVersion,
    /// GRE protocol we do not decode.
    UnknownGreProtocol,
    /// Truncated GRE header.
    TruncatedGre,
    /// Tunnels nested deeper than the limit.
    ExceededTunnelMaxDepth,
    /// Truncated VXLAN/Geneve/GTP/AYIYA/Teredo header.
    TruncatedTunnelHeader,
    /// An encapsulated packet that is not valid IP.
    InvalidInnerIp,
    /// 802.11 frame we do not decode (management, control, protected).
    Ieee80211NotData,
    /// A Teredo bubble (IPv6, no next header) followed by bytes.
    TeredoBubbleWithPayload,
    /// A tunnel header with nothing encapsulated after it.
    TunnelEmptyPacket,
    /// A Geneve header with a version other than 0.
    GeneveInvalidVersion,
    /// An NFLOG frame of 4 bytes or fewer (no room for a TLV).
    TruncatedNflogHeader,
    /// An NFLOG header whose version byte is not 0.
    UnknownNflogVersion,
    /// NFLOG TLVs ending without a payload TLV (type 9) followed by bytes.
    NflogNoPcapPayload,
    /// An NFLOG TLV (other than the payload) whose length is below 4.
    NflogBadTlvLen,
    /// An NFLOG TLV (other than the payload) whose length, rounded up to
    /// 4, runs past the bytes left: `(padded length, bytes left)`, the
    /// weird's addl (`NFLog.cc`: `nflog_bad_tlv_len`, `"(%zu > %zu)"`).
    NflogTlvPastEnd(u32, u32),
}

impl Weird {
    /// The weird.log name.
    pub fn name(self) -> &'static str {
        match self {
            Weird::TruncatedLinkHeader => "truncated_link_header",
            Weird::MaxPacketAnalyzerDepthExceeded => "max_packet_analyzer_depth_exceeded",
            Weird::TruncatedVlanHeader => "truncated_VLAN_header",
            Weird::TruncatedMplsHeader => "truncated_link_header",
            Weird::TruncatedPppoeHeader => "truncated_PPPoE_header",
            Weird::TruncatedIp => "truncated_IP",
            Weird::UnknownIpVersion => "unknown_ip_version",
            Weird::TruncatedIpLen => "truncated_IP_len",
            Weird::InvalidIpHeaderSize => "invalid_IP_header_size",
            Weird::InternallyTruncatedHeader => "internally_truncated_header",
            Weird::Ipv4MinHeaderSize => "IPv4_min_header_size",
            Weird::IpHdrLenZero => "ip_hdr_len_zero",
            Weird::BadIpChecksum => "bad_IP_checksum",
            Weird::IncompletelyCapturedFragment => "incompletely_captured_fragment",
            Weird::FragmentLimit => "fragment_limit_reached",
            Weird::FragEvicted => "connscope_frag_evicted",
            Weird::FragTooManyPieces => "connscope_frag_too_many_pieces",
            Weird::FragmentInconsistentOverlap => "fragment_inconsistency",
            Weird::FragmentWithDf => "fragment_with_DF",
            Weird::ExcessivelySmallFragment => "excessively_small_fragment",
            Weird::ExcessivelyLargeFragment => "excessively_large_fragment",
            Weird::TruncatedIpv6Ext => "truncated_IPv6_extension_header",
            Weird::Ipv6NoNext => "ipv6_no_next",
            Weird::TruncatedHeader => "truncated_header",
            Weird::BadTcpHeaderLen => "bad_TCP_header_len",
            Weird::BadUdpLength => "bad_UDP_length",
            Weird::BadTcpChecksum => "bad_TCP_checksum",
            Weird::BadUdpChecksum => "bad_UDP_checksum",
            Weird::BadIcmpChecksum => "bad_ICMP_checksum",
            Weird::UnknownGreVersion => "unknown_gre_version",
            Weird::UnknownGreProtocol => "unknown_gre_protocol",
            Weird::TruncatedGre => "truncated_GRE",
            Weird::ExceededTunnelMaxDepth => "exceeded_tunnel_max_depth",
            Weird::TruncatedTunnelHeader => "truncated_tunnel_header",
            Weird::InvalidInnerIp => "invalid_inner_IP",
            Weird::Ieee80211NotData => "802.11_not_data_frame",
            Weird::TeredoBubbleWithPayload => "Teredo_bubble_with_payload",
            Weird::TunnelEmptyPacket => "tunnel_empty_packet",
            Weird::GeneveInvalidVersion => "geneve_invalid_version",
            Weird::TruncatedNflogHeader => "truncated_nflog_header",
            Weird::UnknownNflogVersion => "unknown_nflog_version",
            Weird::NflogNoPcapPayload => "nflog_no_pcap_payload",
            Weird::NflogBadTlvLen | Weird::NflogTlvPastEnd(..) => "nflog_bad_tlv_len",
        }
    }

    /// The weird.log `addl` Zeek writes with this weird, if any.
    pub fn addl(self) -> Option<String> {
        match self {
            Weird::NflogTlvPastEnd(skip, left) => Some(format!("({skip} > {left})")),
            _ => None,
        }
    }
}
