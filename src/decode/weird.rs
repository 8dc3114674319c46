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
    /// `snap/SNAP.cc` (`"SNAP"`).
    Snap,
    /// `llc/LLC.cc` (`"LLC"`).
    Llc,
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
            Analyzer::Snap => "SNAP",
            Analyzer::Llc => "LLC",
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
    /// analyzer, which names it (see [`Weird::name`]).
    TruncatedLinkHeader(Analyzer),
    /// A Cisco FabricPath frame cut inside its outer header (Ethernet.cc
    /// `truncated_link_header_cfp`).
    TruncatedFabricPath,
    /// An EtherType between 1501 and 1535 (Ethernet.cc).
    UndefinedEtherType,
    /// A VLAN tag's type between 1501 and 1535 (VLAN.cc).
    UndefinedVlanProtocol,
    /// An 802.2 SNAP frame under 3 bytes (SNAP.cc).
    TruncatedSnapLlcHeader,
    /// An 802.2 SNAP frame shorter than its LLC header and 5 bytes (SNAP.cc).
    TruncatedSnapHeader,
    /// An 802.2 LLC frame under 3 bytes (LLC.cc).
    TruncatedLlcHeader,
    /// An 802.11 data frame with under 8 bytes for its LLC header
    /// (IEEE802_11.cc `HandleInnerPacket`).
    Truncated80211LlcHeader,
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
    /// TCP checksum wrong.
    BadTcpChecksum,
    /// UDP checksum wrong.
    BadUdpChecksum,
    /// ICMP checksum wrong.
    BadIcmpChecksum,
    /// A GRE version other than 0 or 1 (the version: addl `version=N`).
    UnknownGreVersion(u8),
    /// A version-0 GRE protocol type connscope does not decode
    /// (connscope's name: Zeek forwards it by its dispatch map).
    UnknownGreProtocol,
    /// Enhanced GRE (version 1) with a protocol type other than PPTP's
    /// (the type: addl `proto=N`).
    EgreProtocolType(u16),
    /// GRE with the (deprecated) routing bit.
    GreRouting,
    /// GRE with a reserved flag bit set.
    UnknownGreFlags,
    /// PPTP carrying a PPP protocol other than IPv4/IPv6.
    NonIpPacketInEncap,
    /// Truncated GRE header.
    TruncatedGre,
    /// Tunnels nested deeper than the limit, found by that tunnel's analyzer.
    ExceededTunnelMaxDepth(Analyzer),
    /// Truncated VXLAN/Geneve/GTP/AYIYA/Teredo header.
    TruncatedTunnelHeader(Analyzer),
    /// An encapsulated packet that is not valid IP.
    InvalidInnerIp(Analyzer),
    /// A Teredo bubble (IPv6, no next header) followed by bytes.
    TeredoBubbleWithPayload,
    /// A tunnel header with nothing encapsulated after it.
    TunnelEmptyPacket(Analyzer),
    /// A Geneve header with a version other than 0 (the version: addl).
    GeneveInvalidVersion(u8),
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
            // Each link layer's `AnalyzePacket` names its own; MPLS.cc is
            // the one `truncated_link_header`.
            Weird::TruncatedLinkHeader(a) => match a {
                Analyzer::Ethernet => "truncated_ethernet_frame",
                Analyzer::Null => "null_analyzer_failed",
                Analyzer::LinuxSll => "truncated_Linux_SLL_header",
                Analyzer::LinuxSll2 => "truncated_Linux_SLL2_header",
                Analyzer::Ieee80211Radio => "truncated_radiotap_header",
                Analyzer::Ieee80211 => "truncated_802_11_header",
                Analyzer::Fddi => "FDDI_analyzer_failed",
                Analyzer::PppSerial => "truncated_ppp_serial_header",
                Analyzer::Pbb => "truncated_PBB_header",
                Analyzer::VnTag => "truncated_vntag_header",
                Analyzer::Vlan => "truncated_VLAN_header",
                Analyzer::Pppoe => "truncated_pppoe_header",
                _ => "truncated_link_header",
            },
            Weird::TruncatedFabricPath => "truncated_link_header_cfp",
            Weird::UndefinedEtherType => "undefined_ether_type",
            Weird::UndefinedVlanProtocol => "undefined_vlan_protocol",
            Weird::TruncatedSnapLlcHeader => "truncated_snap_llc_header",
            Weird::TruncatedSnapHeader => "truncated_snap_header",
            Weird::TruncatedLlcHeader => "truncated_llc_header",
            Weird::Truncated80211LlcHeader => "truncated_802_11_llc_header",
            Weird::MaxPacketAnalyzerDepthExceeded => "max_packet_analyzer_depth_exceeded",
            Weird::TruncatedVlanHeader => "truncated_VLAN_header",
            Weird::TruncatedMplsHeader => "truncated_link_header",
            Weird::TruncatedPppoeHeader => "truncated_pppoe_header",
            Weird::TruncatedIp => "truncated_IP",
            Weird::UnknownIpVersion => "unknown_ip_version",
            Weird::TruncatedIpLen => "truncated_IP_len",
            Weird::InvalidIpHeaderSize => "invalid_IP_header_size",
            Weird::InternallyTruncatedHeader(_) => "internally_truncated_header",
            Weird::Ipv4MinHeaderSize => "IPv4_min_header_size",
            Weird::IpHdrLenZero => "ip_hdr_len_zero",
            Weird::BadIpChecksum => "bad_IP_checksum",
            Weird::IncompletelyCapturedFragment => "incompletely_captured_fragment",
            Weird::FragmentLimit => "connscope_fragment_limit_reached",
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
            Weird::BadTcpChecksum => "bad_TCP_checksum",
            Weird::BadUdpChecksum => "bad_UDP_checksum",
            Weird::BadIcmpChecksum => "bad_ICMP_checksum",
            Weird::UnknownGreVersion(_) => "unknown_gre_version",
            Weird::UnknownGreProtocol => "unknown_gre_protocol",
            Weird::EgreProtocolType(_) => "egre_protocol_type",
            Weird::GreRouting => "gre_routing",
            Weird::UnknownGreFlags => "unknown_gre_flags",
            Weird::NonIpPacketInEncap => "non_ip_packet_in_encap",
            Weird::TruncatedGre => "truncated_GRE",
            Weird::ExceededTunnelMaxDepth(_) => "exceeded_tunnel_max_depth",
            Weird::TruncatedTunnelHeader(_) => "truncated_tunnel_header",
            Weird::InvalidInnerIp(_) => "invalid_inner_IP",
            Weird::TeredoBubbleWithPayload => "Teredo_bubble_with_payload",
            // VXLAN.cc, Geneve.cc, AYIYA.cc: `Weird("<tunnel>_empty_packet", packet)`.
            Weird::TunnelEmptyPacket(Analyzer::Geneve) => "geneve_empty_packet",
            Weird::TunnelEmptyPacket(Analyzer::Ayiya) => "ayiya_empty_packet",
            Weird::TunnelEmptyPacket(_) => "vxlan_empty_packet",
            Weird::GeneveInvalidVersion(_) => "geneve_invalid_version",
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
            // protocol/*/`): `Weird("truncated_...", packet)` (FDDI.cc
            // `Weird("FDDI_analyzer_failed")`, no packet: the same
            // analyzer name), so its own name.
            Weird::TruncatedLinkHeader(a) => Some(a.name()),
            Weird::TruncatedFabricPath | Weird::UndefinedEtherType => Some(A::Ethernet.name()),
            Weird::UndefinedVlanProtocol => Some(A::Vlan.name()),
            Weird::TruncatedSnapLlcHeader | Weird::TruncatedSnapHeader => Some(A::Snap.name()),
            Weird::TruncatedLlcHeader => Some(A::Llc.name()),
            Weird::Truncated80211LlcHeader => Some(A::Ieee80211.name()),
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
            Weird::TruncatedGre
            | Weird::UnknownGreVersion(_)
            | Weird::EgreProtocolType(_)
            | Weird::GreRouting
            | Weird::UnknownGreFlags
            | Weird::NonIpPacketInEncap => Some(A::Gre.name()),
            Weird::UnknownGreProtocol => None,
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
            Weird::GeneveInvalidVersion(_) => Some(A::Geneve.name()),
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
            // truncated extension header silently; and connscope's own bounds.
            Weird::TruncatedIpv6Ext
            | Weird::FragmentLimit
            | Weird::FragEvicted
            | Weird::FragTooManyPieces => None,
        }
    }

    /// Whether Zeek logs this weird at all: `false` for the conditions
    /// Zeek raises no weird for (connscope still counts them in stats.log's
    /// `decode_errors`): a truncated IPv6 extension header
    /// (`IPv6_Hdr_Chain::Init`, src/IP.cc, stops silently), a version-0 GRE
    /// protocol type connscope does not decode (GRE.cc forwards it by the
    /// dispatch map, no weird), and the UDP tunnels' truncations and bad
    /// inner packets that VXLAN.cc, Geneve.cc, AYIYA.cc and GTPv1.cc report
    /// as `AnalyzerViolation` (IPTunnel's and Teredo's are weirds).
    pub fn logged(self) -> bool {
        match self {
            Weird::TruncatedIpv6Ext | Weird::UnknownGreProtocol => false,
            Weird::TruncatedTunnelHeader(a) => a == Analyzer::Teredo,
            Weird::InvalidInnerIp(a) => a == Analyzer::IpTunnel,
            _ => true,
        }
    }

    /// The weird.log `addl` Zeek writes with this weird, if any (built
    /// only when the weird is logged).
    pub fn addl(self) -> Option<String> {
        match self {
            // NFLog.cc: `util::fmt("(%zu > %zu)", tlv_skip, len)`.
            Weird::NflogTlvPastEnd(skip, left) => Some(format!("({skip} > {left})")),
            // GRE.cc: `util::fmt("version=%d", gre_version)`,
            // `util::fmt("proto=%d", proto_typ)`.
            Weird::UnknownGreVersion(v) => Some(format!("version={v}")),
            Weird::EgreProtocolType(p) => Some(format!("proto={p}")),
            // Geneve.cc: `util::fmt("%d", version)`.
            Weird::GeneveInvalidVersion(v) => Some(format!("{v}")),
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
            A::Snap,
            A::Llc,
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
