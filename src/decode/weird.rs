//! Named decode anomalies (Zeek's weird names where Zeek has one) and the
//! Zeek analyzer each one comes from (weird.log's `source`).
//!
//! `source`: Zeek's packet analyzers raise their weirds through
//! `packet_analysis::Analyzer::Weird(name, packet, addl)`
//! (`src/packet_analysis/Analyzer.cc`), which calls `session_mgr->Weird(name,
//! packet, addl, GetAnalyzerName())`; the name is the analyzer component's
//! canonical name (`plugin::Component`: `util::canonify_name`, upper case,
//! every non-alphanumeric character `_`; `ComponentManager::
//! GetComponentName` returns it). Session adapters (`TCPSessionAdapter`,
//! `UDPSessionAdapter`, `ICMPSessionAdapter`, `IP::SessionAdapter("TCP",
//! ...)`) raise through `analyzer::Analyzer::Weird` (`src/analyzer/
//! Analyzer.cc`: `conn->Weird(name, addl, GetAnalyzerName())`). Weirds
//! raised with `session_mgr->Weird(name, ip_hdr)` (`src/session/Manager.cc`,
//! e.g. every `src/Frag.cc` weird) or `conn->Weird(name)` pass no source, and
//! `weird.zeek` leaves `source` unset when it is empty (`if ( source != "" )
//! i$source = source;`), so they log `-`. Conditions Zeek reports as an
//! analyzer violation, or silently, and connscope's own names have no
//! source either.

/// A Zeek packet analyzer, named as `GetAnalyzerName()` returns it: the
/// canonical name of the component each analyzer's constructor names
/// (`zeek::packet_analysis::Analyzer("Ethernet")`, ...; `Plugin.cc` of each
/// `src/packet_analysis/protocol/*` registers the same name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Analyzer {
    /// `ethernet/Ethernet.cc` (`"Ethernet"`).
    Ethernet,
    /// `null/Null.cc` (`"Null"`).
    Null,
    /// `linux_sll/LinuxSLL.cc` (`"LinuxSLL"`).
    LinuxSll,
    /// `linux_sll2/LinuxSLL2.cc` (`"LinuxSLL2"`).
    LinuxSll2,
    /// `ieee802_11_radio/IEEE802_11_Radio.cc` (`"IEEE802_11_Radio"`).
    Ieee80211Radio,
    /// `ieee802_11/IEEE802_11.cc` (`"IEEE802_11"`).
    Ieee80211,
    /// `fddi/FDDI.cc` (`"FDDI"`).
    Fddi,
    /// `ppp_serial/PPPSerial.cc` (`"PPPSerial"`).
    PppSerial,
    /// `pbb/PBB.cc` (`"PBB"`).
    Pbb,
    /// `vntag/VNTag.cc` (`"VNTag"`).
    VnTag,
    /// `vlan/VLAN.cc` (`"VLAN"`).
    Vlan,
    /// `mpls/MPLS.cc` (`"MPLS"`).
    Mpls,
    /// `pppoe/PPPoE.cc` (`"PPPoE"`).
    Pppoe,
    /// `nflog/NFLog.cc` (`"NFLog"`).
    Nflog,
    /// `ip/IP.cc` (`"IP"`).
    Ip,
    /// `tcp/TCP.cc` and its session adapter (`"TCP"`).
    Tcp,
    /// `udp/UDP.cc` and its session adapter (`"UDP"`).
    Udp,
    /// `icmp/ICMP.cc` and its session adapter (`"ICMP"`).
    Icmp,
    /// `gre/GRE.cc` (`"GRE"`).
    Gre,
    /// `iptunnel/IPTunnel.cc` (`"IPTunnel"`): IP-in-IP, GRE's and PPTP's
    /// inner packets.
    IpTunnel,
    /// `vxlan/VXLAN.cc` (`"VXLAN"`).
    Vxlan,
    /// `geneve/Geneve.cc` (`"Geneve"`).
    Geneve,
    /// `ayiya/AYIYA.cc` (`"AYIYA"`).
    Ayiya,
    /// `teredo/Teredo.cc` (`"TEREDO"`).
    Teredo,
    /// `gtpv1/GTPv1.cc` (`"GTPV1"`).
    Gtpv1,
}

impl Analyzer {
    /// The canonical component name (`util::canonify_name`).
    pub fn name(self) -> &'static str {
        match self {
            Analyzer::Ethernet => "ETHERNET",
            Analyzer::Null => "NULL",
            Analyzer::LinuxSll => "LINUXSLL",
            Analyzer::LinuxSll2 => "LINUXSLL2",
            Analyzer::Ieee80211Radio => "IEEE802_11_RADIO",
            Analyzer::Ieee80211 => "IEEE802_11",
            Analyzer::Fddi => "FDDI",
            Analyzer::PppSerial => "PPPSERIAL",
            Analyzer::Pbb => "PBB",
            Analyzer::VnTag => "VNTAG",
            Analyzer::Vlan => "VLAN",
            Analyzer::Mpls => "MPLS",
            Analyzer::Pppoe => "PPPOE",
            Analyzer::Nflog => "NFLOG",
            Analyzer::Ip => "IP",
            Analyzer::Tcp => "TCP",
            Analyzer::Udp => "UDP",
            Analyzer::Icmp => "ICMP",
            Analyzer::Gre => "GRE",
            Analyzer::IpTunnel => "IPTUNNEL",
            Analyzer::Vxlan => "VXLAN",
            Analyzer::Geneve => "GENEVE",
            Analyzer::Ayiya => "AYIYA",
            Analyzer::Teredo => "TEREDO",
            Analyzer::Gtpv1 => "GTPV1",
        }
    }
}

/// A decode anomaly. The name is what weird.log shows; an [`Analyzer`] in a
/// variant is the packet analyzer that found it (the same name is raised by
/// several), which decides its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Weird {
    /// Link layer shorter than its header, found by that link layer's
    /// analyzer.
    TruncatedLinkHeader(Analyzer),
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
    /// A header runs past the captured bytes: the IP header (IP) or a
    /// transport header (TCP, UDP, ICMP: `IPBasedAnalyzer::CheckHeaderTrunc`).
    InternallyTruncatedHeader(Analyzer),
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
    /// Transport header cut short (TCP, UDP or ICMP).
    TruncatedHeader(Analyzer),
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
    /// Tunnels nested deeper than the limit, found by that tunnel's analyzer.
    ExceededTunnelMaxDepth(Analyzer),
    /// Truncated VXLAN/Geneve/GTP/AYIYA/Teredo header.
    TruncatedTunnelHeader(Analyzer),
    /// An encapsulated packet that is not valid IP.
    InvalidInnerIp(Analyzer),
    /// 802.11 frame we do not decode (management, control, protected).
    Ieee80211NotData,
    /// A Teredo bubble (IPv6, no next header) followed by bytes.
    TeredoBubbleWithPayload,
    /// A tunnel header with nothing encapsulated after it.
    TunnelEmptyPacket(Analyzer),
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
            Weird::TruncatedLinkHeader(_) => "truncated_link_header",
            Weird::MaxPacketAnalyzerDepthExceeded => "max_packet_analyzer_depth_exceeded",
            Weird::TruncatedVlanHeader => "truncated_VLAN_header",
            Weird::TruncatedMplsHeader => "truncated_link_header",
            Weird::TruncatedPppoeHeader => "truncated_PPPoE_header",
            Weird::TruncatedIp => "truncated_IP",
            Weird::UnknownIpVersion => "unknown_ip_version",
            Weird::TruncatedIpLen => "truncated_IP_len",
            Weird::InvalidIpHeaderSize => "invalid_IP_header_size",
            Weird::InternallyTruncatedHeader(_) => "internally_truncated_header",
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
            Weird::TruncatedHeader(_) => "truncated_header",
            Weird::BadTcpHeaderLen => "bad_TCP_header_len",
            Weird::BadUdpLength => "bad_UDP_length",
            Weird::BadTcpChecksum => "bad_TCP_checksum",
            Weird::BadUdpChecksum => "bad_UDP_checksum",
            Weird::BadIcmpChecksum => "bad_ICMP_checksum",
            Weird::UnknownGreVersion => "unknown_gre_version",
            Weird::UnknownGreProtocol => "unknown_gre_protocol",
            Weird::TruncatedGre => "truncated_GRE",
            Weird::ExceededTunnelMaxDepth(_) => "exceeded_tunnel_max_depth",
            Weird::TruncatedTunnelHeader(_) => "truncated_tunnel_header",
            Weird::InvalidInnerIp(_) => "invalid_inner_IP",
            Weird::Ieee80211NotData => "802.11_not_data_frame",
            Weird::TeredoBubbleWithPayload => "Teredo_bubble_with_payload",
            Weird::TunnelEmptyPacket(_) => "tunnel_empty_packet",
            Weird::GeneveInvalidVersion => "geneve_invalid_version",
            Weird::TruncatedNflogHeader => "truncated_nflog_header",
            Weird::UnknownNflogVersion => "unknown_nflog_version",
            Weird::NflogNoPcapPayload => "nflog_no_pcap_payload",
            Weird::NflogBadTlvLen | Weird::NflogTlvPastEnd(..) => "nflog_bad_tlv_len",
        }
    }

    /// weird.log's `source`: the name of the Zeek analyzer whose call raises
    /// this weird (see the module documentation), `None` where that call
    /// passes none or Zeek raises no weird for it.
    pub fn source(self) -> Option<&'static str> {
        use Analyzer as A;
        match self {
            // Each link layer's `AnalyzePacket` (`src/packet_analysis/
            // protocol/*/`): `Weird("truncated_...", packet)`, so its own
            // name. (Zeek names these per analyzer: Ethernet.cc
            // `truncated_ethernet_frame`/`truncated_link_header_cfp`, Null.cc
            // `null_analyzer_failed`, LinuxSLL.cc `truncated_Linux_SLL_header`,
            // ...; MPLS.cc is the one `truncated_link_header`.)
            Weird::TruncatedLinkHeader(a) => Some(a.name()),
            Weird::TruncatedMplsHeader => Some(A::Mpls.name()),
            // VLAN.cc `Weird("truncated_VLAN_header", packet)`.
            Weird::TruncatedVlanHeader => Some(A::Vlan.name()),
            // PPPoE.cc `Weird("truncated_pppoe_header", packet)`.
            Weird::TruncatedPppoeHeader => Some(A::Pppoe.name()),
            // NFLog.cc: every weird is `Weird(name, packet)`.
            Weird::TruncatedNflogHeader
            | Weird::UnknownNflogVersion
            | Weird::NflogNoPcapPayload
            | Weird::NflogBadTlvLen
            | Weird::NflogTlvPastEnd(..) => Some(A::Nflog.name()),
            // Raised by Zeek's packet analysis core for `PacketAnalyzer::
            // max_depth`; the call was not in the source we could read.
            Weird::MaxPacketAnalyzerDepthExceeded => None,
            // ip/IP.cc `IPAnalyzer::AnalyzePacket`: `Weird(name, packet)`.
            Weird::TruncatedIp
            | Weird::UnknownIpVersion
            | Weird::TruncatedIpLen
            | Weird::InvalidIpHeaderSize
            | Weird::Ipv4MinHeaderSize
            | Weird::IpHdrLenZero
            | Weird::BadIpChecksum
            | Weird::IncompletelyCapturedFragment
            | Weird::Ipv6NoNext => Some(A::Ip.name()),
            // IP.cc for the IP header; `IPBasedAnalyzer::CheckHeaderTrunc`
            // (ip/IPBasedAnalyzer.cc, `Weird(..., packet)`) for the TCP, UDP
            // and ICMP analyzers' headers.
            Weird::InternallyTruncatedHeader(a) => Some(a.name()),
            // `CheckHeaderTrunc` as above; tcp/TCP.cc `ExtractTCP_Header`:
            // `adapter->Weird("truncated_header")`, the TCP session adapter.
            Weird::TruncatedHeader(a) => Some(a.name()),
            // tcp/TCP.cc `ExtractTCP_Header`: `adapter->Weird(...)`.
            Weird::BadTcpHeaderLen => Some(A::Tcp.name()),
            // tcp/TCP.cc `ValidateChecksum`, udp/UDPSessionAdapter.cc
            // `HandleBadChecksum`, icmp/ICMP.cc `DeliverPacket`: the session
            // adapter's `Weird`.
            Weird::BadTcpChecksum => Some(A::Tcp.name()),
            Weird::BadUdpChecksum => Some(A::Udp.name()),
            Weird::BadIcmpChecksum => Some(A::Icmp.name()),
            // src/Frag.cc `FragReassembler::AddFragment`/`Weird`:
            // `s->Weird(name, ip)`, `session::Manager::Weird(name, ip_hdr,
            // addl)` (src/session/Manager.cc), a flow weird without source.
            Weird::FragmentWithDf
            | Weird::ExcessivelySmallFragment
            | Weird::ExcessivelyLargeFragment
            | Weird::FragmentInconsistentOverlap => None,
            // gre/GRE.cc: `Weird("truncated_GRE"|"unknown_gre_version"|
            // "gre_routing"|"unknown_gre_flags"|"egre_protocol_type"|
            // "non_ip_packet_in_encap", packet)`.
            Weird::TruncatedGre | Weird::UnknownGreVersion | Weird::UnknownGreProtocol => {
                Some(A::Gre.name())
            }
            // iptunnel/IPTunnel.cc, vxlan/VXLAN.cc, geneve/Geneve.cc,
            // ayiya/AYIYA.cc: `Weird("exceeded_tunnel_max_depth", packet)`;
            // teredo/Teredo.cc: `Analyzer::Weird(..., packet)`. GTPv1.cc has
            // no depth check of its own.
            Weird::ExceededTunnelMaxDepth(a) => match a {
                A::Gtpv1 => None,
                a => Some(a.name()),
            },
            // VXLAN.cc `vxlan_empty_packet`, Geneve.cc `geneve_empty_packet`,
            // AYIYA.cc `ayiya_empty_packet`: `Weird(name, packet)`.
            Weird::TunnelEmptyPacket(a) => Some(a.name()),
            // Geneve.cc `Weird("geneve_invalid_version", packet, ...)`.
            Weird::GeneveInvalidVersion => Some(A::Geneve.name()),
            // Teredo.cc `TeredoEncapsulation::DoParse` (`truncated_Teredo`,
            // `truncated_Teredo_origin_indication`, ...,
            // `truncated_IPv6_in_Teredo`) through `TeredoAnalyzer::Weird`:
            // `reporter->Weird(conn, name, "", GetAnalyzerName())`. The other
            // tunnels' truncations are `AnalyzerViolation`s, no weird.
            Weird::TruncatedTunnelHeader(a) => match a {
                A::Teredo => Some(a.name()),
                _ => None,
            },
            // Teredo.cc `Weird("Teredo_bubble_with_payload", true)`, as above.
            Weird::TeredoBubbleWithPayload => Some(A::Teredo.name()),
            // IPTunnel.cc (PPTP's inner packet): `Weird("invalid_inner_IP_
            // version"|"truncated_inner_IP"|"inner_IP_payload_length_
            // mismatch", packet)`. VXLAN's, GTPv1's and Teredo's are
            // `AnalyzerViolation`s, AYIYA's an unknown protocol: no weird.
            Weird::InvalidInnerIp(a) => match a {
                A::IpTunnel => Some(a.name()),
                _ => None,
            },
            // No Zeek weird: IPv6_Hdr_Chain::Init (src/IP.cc) stops at a
            // truncated extension header silently; IEEE802_11.cc returns on
            // non-data frames without one; Zeek's UDP analyzer has no
            // `bad_UDP_length`; and connscope's own bounds.
            Weird::TruncatedIpv6Ext
            | Weird::Ieee80211NotData
            | Weird::BadUdpLength
            | Weird::FragmentLimit
            | Weird::FragEvicted
            | Weird::FragTooManyPieces => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every analyzer name is a canonical component name
    /// (`util::canonify_name`: upper case, digits and `_` only).
    #[test]
    fn analyzer_names_are_canonical() {
        use Analyzer as A;
        for a in [
            A::Ethernet,
            A::Null,
            A::LinuxSll,
            A::LinuxSll2,
            A::Ieee80211Radio,
            A::Ieee80211,
            A::Fddi,
            A::PppSerial,
            A::Pbb,
            A::VnTag,
            A::Vlan,
            A::Mpls,
            A::Pppoe,
            A::Nflog,
            A::Ip,
            A::Tcp,
            A::Udp,
            A::Icmp,
            A::Gre,
            A::IpTunnel,
            A::Vxlan,
            A::Geneve,
            A::Ayiya,
            A::Teredo,
            A::Gtpv1,
        ] {
            let n = a.name();
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{n}"
            );
        }
    }

    /// One name raised by several analyzers takes the source of the one
    /// that raised it.
    #[test]
    fn source_follows_the_analyzer() {
        use Analyzer as A;
        let cases = [
            (Weird::TruncatedLinkHeader(A::Ethernet), Some("ETHERNET")),
            (Weird::TruncatedLinkHeader(A::LinuxSll), Some("LINUXSLL")),
            (
                Weird::TruncatedLinkHeader(A::Ieee80211Radio),
                Some("IEEE802_11_RADIO"),
            ),
            (Weird::TruncatedMplsHeader, Some("MPLS")),
            (Weird::TruncatedHeader(A::Tcp), Some("TCP")),
            (Weird::TruncatedHeader(A::Udp), Some("UDP")),
            (Weird::TruncatedHeader(A::Icmp), Some("ICMP")),
            (Weird::InternallyTruncatedHeader(A::Ip), Some("IP")),
            (Weird::InternallyTruncatedHeader(A::Udp), Some("UDP")),
            (Weird::TruncatedIp, Some("IP")),
            (Weird::BadIpChecksum, Some("IP")),
            (Weird::BadTcpHeaderLen, Some("TCP")),
            (Weird::TruncatedGre, Some("GRE")),
            (Weird::ExceededTunnelMaxDepth(A::IpTunnel), Some("IPTUNNEL")),
            (Weird::ExceededTunnelMaxDepth(A::Vxlan), Some("VXLAN")),
            (Weird::ExceededTunnelMaxDepth(A::Gtpv1), None),
            (Weird::TunnelEmptyPacket(A::Geneve), Some("GENEVE")),
            (Weird::TruncatedTunnelHeader(A::Teredo), Some("TEREDO")),
            // Zeek reports these as analyzer violations, not weirds.
            (Weird::TruncatedTunnelHeader(A::Vxlan), None),
            (Weird::InvalidInnerIp(A::Gtpv1), None),
            (Weird::InvalidInnerIp(A::IpTunnel), Some("IPTUNNEL")),
            (Weird::NflogTlvPastEnd(8, 4), Some("NFLOG")),
            // `src/Frag.cc`: flow weirds without a source.
            (Weird::FragmentWithDf, None),
            (Weird::ExcessivelySmallFragment, None),
            (Weird::ExcessivelyLargeFragment, None),
        ];
        for (w, src) in cases {
            assert_eq!(w.source(), src, "{w:?}");
        }
    }

    /// connscope's own weirds have no Zeek source.
    #[test]
    fn connscope_weirds_have_no_source() {
        for w in [Weird::FragEvicted, Weird::FragTooManyPieces] {
            assert!(w.name().starts_with("connscope_"));
            assert_eq!(w.source(), None, "{w:?}");
        }
    }
}
