//! Connection-level weirds: the names and their bit indices.
//!
//! Must not: decide when a weird is raised (the connection does).

/// Connection-level protocol oddities, logged to weird.log once per
/// connection and name (Zeek's names, from `TCPSessionAdapter.cc`, `UDP.cc`,
/// `ICMP.cc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ConnWeird {
    /// A TCP segment with a wrong checksum.
    BadTcpChecksum,
    /// A UDP datagram with a wrong checksum.
    BadUdpChecksum,
    /// An ICMP message with a wrong checksum.
    BadIcmpChecksum,
    /// A new SYN with a different sequence number on an open connection.
    SynSeqJump,
    /// Payload from a side that has not finished the handshake.
    DataBeforeEstablished,
    /// A FIN from a side never seen before.
    SpontaneousFin,
    /// A RST from a side never seen before.
    SpontaneousRst,
    /// The originator sent a SYN-ACK.
    ConnectionOriginatorSynAck,
    /// A SYN carrying payload.
    SynWithData,
    /// SYN together with RST.
    TcpChristmas,
    /// UDP length field differs from the IP payload length.
    UdpDatagramLengthMismatch,
    /// A connection's 5-tuple reused while the old one was still active.
    ActiveConnectionReuse,
    /// A SYN after the side had closed.
    SynAfterClose,
    /// The connection was logged early because the table was full (`--max-conns`).
    EvictedTableFull,
    /// More out-of-order TCP ranges than tracked: two were folded (bounded state).
    TcpOooRangesFolded,
    /// The history string reached its bound; later letters are dropped.
    HistoryLimit,
    /// An MLDv1 report or done (ICMPv6 131/132) without its 16-byte
    /// multicast address.
    TruncatedIcmpv6Mldv1,
    /// An MLDv2 report (ICMPv6 143) shorter than 20 bytes per announced record.
    TruncatedIcmpv6Mldv2,
    /// An MLDv2 multicast address record cut short (sources or auxiliary data).
    TruncatedIcmpv6Mldv2Record,
}

impl ConnWeird {
    /// Zeek's weird name.
    pub fn name(self) -> &'static str {
        match self {
            ConnWeird::BadTcpChecksum => "bad_TCP_checksum",
            ConnWeird::BadUdpChecksum => "bad_UDP_checksum",
            ConnWeird::BadIcmpChecksum => "bad_ICMP_checksum",
            ConnWeird::SynSeqJump => "SYN_seq_jump",
            ConnWeird::DataBeforeEstablished => "data_before_established",
            ConnWeird::SpontaneousFin => "spontaneous_FIN",
            ConnWeird::SpontaneousRst => "spontaneous_RST",
            ConnWeird::ConnectionOriginatorSynAck => "connection_originator_SYN_ack",
            ConnWeird::SynWithData => "SYN_with_data",
            ConnWeird::TcpChristmas => "TCP_christmas",
            ConnWeird::UdpDatagramLengthMismatch => "UDP_datagram_length_mismatch",
            ConnWeird::ActiveConnectionReuse => "active_connection_reuse",
            ConnWeird::SynAfterClose => "SYN_after_close",
            ConnWeird::EvictedTableFull => "connscope_evicted_table_full",
            ConnWeird::TcpOooRangesFolded => "connscope_tcp_ooo_ranges_folded",
            ConnWeird::HistoryLimit => "connscope_history_limit",
            ConnWeird::TruncatedIcmpv6Mldv1 => "truncated_ICMPv6_MLDv1",
            ConnWeird::TruncatedIcmpv6Mldv2 => "truncated_ICMPv6_MLDv2",
            ConnWeird::TruncatedIcmpv6Mldv2Record => "truncated_ICMPv6_MLDv2_record",
        }
    }

    /// weird.log's `source`: the name of the Zeek analyzer whose call raises
    /// this weird (`analyzer::Analyzer::Weird`, `src/analyzer/Analyzer.cc`:
    /// `conn->Weird(name, addl, GetAnalyzerName())`, the session adapter's
    /// canonical component name), `None` where the call passes no source
    /// (`Connection::Weird(name, addl = "", source = "")`, `src/Conn.h`;
    /// `weird.zeek` then leaves `source` unset) or Zeek has no such weird.
    pub fn source(self) -> Option<&'static str> {
        const TCP: Option<&str> = Some("TCP");
        match self {
            // src/packet_analysis/protocol/tcp/TCP.cc `ValidateChecksum`:
            // `adapter->Weird("bad_TCP_checksum")`.
            ConnWeird::BadTcpChecksum => TCP,
            // udp/UDPSessionAdapter.cc `HandleBadChecksum`:
            // `Weird("bad_UDP_checksum")`; udp/UDP.cc `DeliverPacket`:
            // `adapter->Weird("UDP_datagram_length_mismatch", ...)`. The
            // adapter is `IP::SessionAdapter("UDP", conn)`.
            ConnWeird::BadUdpChecksum | ConnWeird::UdpDatagramLengthMismatch => Some("UDP"),
            // icmp/ICMP.cc `DeliverPacket`: `adapter->Weird("bad_ICMP_
            // checksum")`; `MLDReport`/`MLDReportV2`: `adapter->Weird(
            // "truncated_ICMPv6_MLDv1"|"truncated_ICMPv6_MLDv2"|
            // "truncated_ICMPv6_MLDv2_record")`. `IP::SessionAdapter("ICMP",
            // conn)`.
            ConnWeird::BadIcmpChecksum
            | ConnWeird::TruncatedIcmpv6Mldv1
            | ConnWeird::TruncatedIcmpv6Mldv2
            | ConnWeird::TruncatedIcmpv6Mldv2Record => Some("ICMP"),
            // tcp/TCPSessionAdapter.cc, the adapter's own `Weird(name)`:
            // `UpdateSYN_SentState` (`data_before_established`),
            // `UpdateInactiveState` (`connection_originator_SYN_ack`,
            // `spontaneous_FIN`, `spontaneous_RST`), `UpdateClosedState`
            // (`SYN_after_close`), `IsReuse` (`active_connection_reuse`);
            // `SynWeirds` passes it explicitly: `endpoint->Conn()->Weird(
            // "TCP_christmas"|"SYN_with_data", "", GetAnalyzerName())`.
            ConnWeird::DataBeforeEstablished
            | ConnWeird::ConnectionOriginatorSynAck
            | ConnWeird::SpontaneousFin
            | ConnWeird::SpontaneousRst
            | ConnWeird::SynAfterClose
            | ConnWeird::ActiveConnectionReuse
            | ConnWeird::TcpChristmas
            | ConnWeird::SynWithData => TCP,
            // TCPSessionAdapter.cc `init_endpoint` (a static function):
            // `endpoint->Conn()->Weird("SYN_seq_jump")`, no source. (Its
            // other call, in `IsReuse`, is the adapter's and would be `TCP`;
            // connscope raises it from `init_endpoint` only.)
            ConnWeird::SynSeqJump => None,
            // connscope's own bounds.
            ConnWeird::EvictedTableFull
            | ConnWeird::TcpOooRangesFolded
            | ConnWeird::HistoryLimit => None,
        }
    }

    /// Every weird, by bit index.
    pub const ALL: [ConnWeird; 19] = [
        ConnWeird::BadTcpChecksum,
        ConnWeird::BadUdpChecksum,
        ConnWeird::BadIcmpChecksum,
        ConnWeird::SynSeqJump,
        ConnWeird::DataBeforeEstablished,
        ConnWeird::SpontaneousFin,
        ConnWeird::SpontaneousRst,
        ConnWeird::ConnectionOriginatorSynAck,
        ConnWeird::SynWithData,
        ConnWeird::TcpChristmas,
        ConnWeird::UdpDatagramLengthMismatch,
        ConnWeird::ActiveConnectionReuse,
        ConnWeird::SynAfterClose,
        ConnWeird::EvictedTableFull,
        ConnWeird::TcpOooRangesFolded,
        ConnWeird::HistoryLimit,
        ConnWeird::TruncatedIcmpv6Mldv1,
        ConnWeird::TruncatedIcmpv6Mldv2,
        ConnWeird::TruncatedIcmpv6Mldv2Record,
    ];

    /// Whether this is one of connscope's own bounds (`connscope_*`: no
    /// Zeek weird), which can fire on every connection of a flood.
    pub fn is_own_bound(self) -> bool {
        matches!(
            self,
            ConnWeird::EvictedTableFull | ConnWeird::TcpOooRangesFolded | ConnWeird::HistoryLimit
        )
    }

    /// Whether this weird reports a per-connection bound being hit.
    pub fn is_state_limit(self) -> bool {
        matches!(
            self,
            ConnWeird::TcpOooRangesFolded | ConnWeird::HistoryLimit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_bounds_are_the_connscope_names() {
        for w in ConnWeird::ALL {
            assert_eq!(
                w.is_own_bound(),
                w.name().starts_with("connscope_"),
                "{w:?}"
            );
        }
    }

    #[test]
    fn sources() {
        for w in ConnWeird::ALL {
            let expect = match w.name() {
                n if n.starts_with("connscope_") => None,
                "SYN_seq_jump" => None,
                "bad_UDP_checksum" | "UDP_datagram_length_mismatch" => Some("UDP"),
                "bad_ICMP_checksum" => Some("ICMP"),
                n if n.starts_with("truncated_ICMPv6_") => Some("ICMP"),
                _ => Some("TCP"),
            };
            assert_eq!(w.source(), expect, "{}", w.name());
        }
    }
}
