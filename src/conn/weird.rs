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

    /// Whether this weird reports a per-connection bound being hit.
    pub fn is_state_limit(self) -> bool {
        matches!(
            self,
            ConnWeird::TcpOooRangesFolded | ConnWeird::HistoryLimit
        )
    }
}
