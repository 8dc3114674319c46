//! Zeek connection semantics.
//!
//! Owns one connection's state and the rules that turn its packets into a
//! conn.log record exactly as Zeek does: originator choice and flips
//! (SEMANTICS.md §3), the TCP endpoint state machine ([`tcp`]) and
//! `conn_state` ([`state`]), `history` ([`history`]), sequence-number byte
//! counts, `missed_bytes`, packet and IP byte counts, `duration`, ICMP
//! "ports" ([`icmp`]), timers on packet time, tunnel parents, `local_orig` /
//! `local_resp` ([`site`]), uids ([`uid`]), Community ID ([`community_id`]) and
//! service identification ([`service`]).
//!
//! Must not: look up flows (the flow table does), decode packets (the decode
//! stage does), read clocks, or write logs. Timers are requested through
//! [`Timers`]; the flow table runs them.

pub mod community_id;
pub mod history;
pub mod icmp;
pub mod service;
pub mod site;
pub mod state;
pub mod tcp;
pub mod uid;

use crate::decode::ip::{tcp_flags as F, IpPacket, Tcp};
use crate::decode::tunnel::TunnelKind;
use crate::decode::Addr;
use crate::stats::{FlowStats, PacketObs, TcpObs};
use crate::time::Ts;
use history::{bit, History, Scaled};
use service::{Service, ServiceSet, ServiceState};

/// Service identification of one connection: the analyzers' state while they
/// still want payload (boxed, dropped as soon as no analyzer can change
/// anything), then only the confirmed names.
#[derive(Clone, Debug, Default)]
pub struct Services {
    analyzers: Option<Box<ServiceState>>,
    list: [Option<Service>; 8],
    /// The DNS question, kept when the analyzers are dropped.
    dns: Option<Box<service::DnsQuery>>,
}

impl Services {
    fn new(enabled: ServiceSet, t: service::Transport, orig_port: u16, resp_port: u16) -> Self {
        let analyzers = (enabled != ServiceSet::none())
            .then(|| Box::new(ServiceState::new(enabled, t, orig_port, resp_port)));
        Services {
            analyzers,
            list: [None; 8],
            dns: None,
        }
    }

    /// Confirmed services in confirmation order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Service> + '_> {
        match &self.analyzers {
            Some(a) => Box::new(a.services()),
            None => Box::new(self.list.iter().flatten().copied()),
        }
    }

    /// The first DNS question the originator asked (when the DNS analyzer
    /// parsed one).
    pub fn dns_query(&self) -> Option<service::DnsQuery> {
        match &self.analyzers {
            Some(a) => a.dns_query(),
            None => self.dns.as_deref().copied(),
        }
    }

    /// Whether `s` is confirmed.
    pub fn contains(&self, s: Service) -> bool {
        self.iter().any(|x| x == s)
    }

    fn confirm(&mut self, s: Service) {
        match &mut self.analyzers {
            Some(a) => a.confirm(s),
            None => {
                if !self.list.iter().flatten().any(|x| *x == s) {
                    if let Some(slot) = self.list.iter_mut().find(|x| x.is_none()) {
                        *slot = Some(s);
                    }
                }
            }
        }
    }

    /// Drops the analyzers once none can change anything any more.
    fn settle(&mut self) {
        if self.analyzers.as_ref().is_some_and(|a| !a.wants_payload()) {
            if let Some(a) = self.analyzers.take() {
                for (slot, s) in self.list.iter_mut().zip(a.services()) {
                    *slot = Some(s);
                }
                self.dns = a.dns_query().map(Box::new);
            }
        }
    }
}
use site::LocalNets;
use tcp::{seq_delta, EndpointState as ES, GapList, TcpState, TOO_LARGE_SEQ_DELTA};
use uid::Uid;

/// The transport of a connection (conn.log's `proto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6.
    Icmp,
    /// Any other IP protocol.
    Other,
}

impl Transport {
    /// conn.log's `proto` value.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Other => "unknown_transport",
        }
    }
}

/// A set of ports (one bit per port).
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl Default for PortSet {
    fn default() -> Self {
        PortSet(Box::new([0; 1024]))
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PortSet {
    /// Adds a port.
    pub fn insert(&mut self, p: u16) {
        self.0[p as usize >> 6] |= 1 << (p & 63);
    }
    /// Whether `p` is in the set.
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.0[p as usize >> 6] & (1 << (p & 63)) != 0
    }
    /// The ports, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=u16::MAX).filter(|p| self.contains(*p))
    }
}

/// Zeek's default-mode `likely_server_ports` (all of `base/` loaded).
pub const DEFAULT_TCP_SERVER_PORTS: &[u16] = &[
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
    614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222,
    5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];
/// See [`DEFAULT_TCP_SERVER_PORTS`].
pub const DEFAULT_UDP_SERVER_PORTS: &[u16] = &[
    53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011, 4754, 4789,
    5060, 5072, 5353, 5355, 6081, 20000,
];
/// Zeek's bare-mode (`-b`) `likely_server_ports`: the tunnel packet analyzers only.
pub const BARE_UDP_SERVER_PORTS: &[u16] = &[2123, 2152, 3544, 4754, 4789, 5072, 6081];

/// Timeouts, in seconds (Zeek's defaults from `init-bare.zeek`).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// `tcp_inactivity_timeout`.
    pub tcp_inactivity: i64,
    /// `udp_inactivity_timeout` (also new TCP connections until the handshake ends).
    pub udp_inactivity: i64,
    /// `icmp_inactivity_timeout`.
    pub icmp_inactivity: i64,
    /// `unknown_ip_inactivity_timeout`.
    pub other_inactivity: i64,
    /// `tcp_attempt_delay`.
    pub tcp_attempt: i64,
    /// `tcp_close_delay`.
    pub tcp_close_delay: i64,
    /// `tcp_SYN_timeout` (first run of the TCP expire timer).
    pub tcp_syn_timeout: i64,
    /// `tcp_session_timer` (interval of the TCP expire timer).
    pub tcp_session_timer: i64,
    /// `tcp_connection_linger`.
    pub tcp_connection_linger: i64,
    /// Inactivity timeout for FTP/SSH/telnet/rlogin (`inactivity.zeek`).
    pub interactive: i64,
    /// `dns_session_timeout`: idle UDP DNS sessions end after this.
    pub dns_session: i64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_inactivity: 300,
            udp_inactivity: 60,
            icmp_inactivity: 60,
            other_inactivity: 60,
            tcp_attempt: 5,
            tcp_close_delay: 5,
            tcp_syn_timeout: 5,
            tcp_session_timer: 6,
            tcp_connection_linger: 5,
            interactive: 3600,
            dns_session: 10,
        }
    }
}

/// Settings that change connection semantics.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    /// Likely server ports, TCP.
    pub tcp_server_ports: PortSet,
    /// Likely server ports, UDP.
    pub udp_server_ports: PortSet,
    /// Zeek's `-C`: accept bad checksums.
    pub ignore_checksums: bool,
    /// Zeek's `report_gaps_for_partial`.
    pub report_gaps_for_partial: bool,
    /// Application analyzers loaded.
    pub analyzers: ServiceSet,
    /// `Site::local_nets`.
    pub local_nets: LocalNets,
    /// Seed for uids.
    pub seed: u64,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// `Tunnel::max_changes_per_connection`.
    pub tunnel_max_changes: u32,
    /// Community ID seed, when the field is enabled.
    pub community_id_seed: Option<u16>,
    /// Keep per-connection flow statistics ([`crate::stats`]).
    pub flow_stats: bool,
    /// Extra analyzer ports (Zeek's `<Analyzer>::ports += {...}` redefs):
    /// `(analyzer, port, is_tcp)`.
    pub analyzer_ports: Vec<(Service, u16, bool)>,
}

impl ConnConfig {
    /// Zeek's default mode.
    pub fn zeek_default() -> Self {
        let mut c = ConnConfig::zeek_bare();
        for p in DEFAULT_TCP_SERVER_PORTS {
            c.tcp_server_ports.insert(*p);
        }
        for p in DEFAULT_UDP_SERVER_PORTS {
            c.udp_server_ports.insert(*p);
        }
        c.analyzers = ServiceSet::all();
        c
    }
    /// Zeek's bare mode (`-b`) with the conn and tunnel scripts only.
    pub fn zeek_bare() -> Self {
        let mut udp = PortSet::default();
        for p in BARE_UDP_SERVER_PORTS {
            udp.insert(*p);
        }
        ConnConfig {
            tcp_server_ports: PortSet::default(),
            udp_server_ports: udp,
            ignore_checksums: false,
            report_gaps_for_partial: false,
            analyzers: ServiceSet::none(),
            local_nets: LocalNets::zeek_default(),
            seed: 0,
            timeouts: Timeouts::default(),
            tunnel_max_changes: 5,
            community_id_seed: None,
            flow_stats: false,
            analyzer_ports: Vec::new(),
        }
    }
}

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
        }
    }

    /// Every weird, by bit index.
    pub const ALL: [ConnWeird; 16] = [
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
    ];

    /// Whether this weird reports a per-connection bound being hit.
    pub fn is_state_limit(self) -> bool {
        matches!(
            self,
            ConnWeird::TcpOooRangesFolded | ConnWeird::HistoryLimit
        )
    }
}

/// Kinds of connection timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// Inactivity timeout (`Connection::InactivityTimer`).
    Inactivity,
    /// TCP connection attempt (`AttemptTimer`).
    TcpAttempt,
    /// TCP expire sweep (`ExpireTimer`).
    TcpExpire,
    /// Removal after a completed close (`ConnDeleteTimer`).
    TcpDelete,
    /// The DNS analyzer's session expiry on UDP (`DNS_Analyzer::ExpireTimer`).
    DnsExpire,
}

/// Where a connection asks for timers. `epoch` lets the table ignore timers
/// that were cancelled since.
pub trait Timers {
    /// Schedules `kind` at `at`.
    fn add(&mut self, at: Ts, kind: TimerKind, epoch: u32);
}

/// What a due timer decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerOutcome {
    /// Remove (log) the connection now.
    Remove,
    /// Nothing to do.
    Keep,
}

/// One layer of encapsulation: the tunnel kind and its uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EncapLayer {
    /// Tunnel kind (None = unused slot).
    pub kind: Option<TunnelKind>,
    /// The tunnel's uid (conn uid for UDP tunnels).
    pub uid: Option<Uid>,
}

/// Maximum tunnel nesting (Zeek's `Tunnel::max_depth`).
pub const MAX_TUNNEL_DEPTH: usize = 2;

/// The encapsulation stack of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Encap {
    /// Layers, outermost first.
    pub layers: [EncapLayer; MAX_TUNNEL_DEPTH],
    /// Number of layers.
    pub depth: u8,
}

impl Encap {
    /// The innermost tunnel's uid.
    pub fn last_uid(&self) -> Option<Uid> {
        if self.depth == 0 {
            None
        } else {
            self.layers[self.depth as usize - 1].uid
        }
    }
    /// Adds a layer; false when the depth limit is reached.
    pub fn push(&mut self, kind: TunnelKind, uid: Uid) -> bool {
        if self.depth as usize >= MAX_TUNNEL_DEPTH {
            return false;
        }
        self.layers[self.depth as usize] = EncapLayer {
            kind: Some(kind),
            uid: Some(uid),
        };
        self.depth += 1;
        true
    }
}

/// Maximum distinct tunnel parents remembered.
const MAX_TUNNEL_PARENTS: usize = 16;

/// Static facts about a new connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnInit {
    /// Transport.
    pub transport: Transport,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Originator address and port (before any flip at creation).
    pub orig: (Addr, u16),
    /// Responder address and port.
    pub resp: (Addr, u16),
    /// First packet time.
    pub ts: Ts,
    /// One-way ICMP message.
    pub icmp_one_way: bool,
    /// VLAN ids.
    pub vlan: Option<u16>,
    /// Inner VLAN id.
    pub inner_vlan: Option<u16>,
    /// Source / destination MAC of the first packet.
    pub l2: (Option<[u8; 6]>, Option<[u8; 6]>),
}

/// One connection.
#[derive(Clone, Debug)]
pub struct Conn {
    /// uid.
    pub uid: Uid,
    /// Transport.
    pub transport: Transport,
    /// IP protocol.
    pub ip_proto: u8,
    /// Originator address.
    pub orig_h: Addr,
    /// Originator port (ICMP: type).
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: Addr,
    /// Responder port (ICMP: counterpart type or code).
    pub resp_p: u16,
    /// First packet time.
    pub start: Ts,
    /// Last packet time (Zeek's `last_time`).
    pub last: Ts,
    /// History.
    pub history: History,
    /// ConnSize counters.
    pub orig_pkts: u64,
    /// See `orig_pkts`.
    pub orig_ip_bytes: u64,
    /// See `orig_pkts`.
    pub resp_pkts: u64,
    /// See `orig_pkts`.
    pub resp_ip_bytes: u64,
    /// TCP state (unused for other transports).
    pub tcp: TcpState,
    /// UDP/ICMP payload bytes per side (-1: nothing accepted yet).
    orig_len: i64,
    resp_len: i64,
    /// Bad-checksum counters for UDP/ICMP (`C`/`c`).
    orig_chk: Scaled,
    resp_chk: Scaled,
    /// Sum of content gaps.
    pub missed_bytes: u64,
    /// Service identification.
    pub service: Services,
    /// Current inactivity timeout, seconds (0 = none).
    inactivity_timeout: i64,
    /// Timer epoch (bumped by "cancel all timers").
    pub timer_epoch: u32,
    /// Inactivity timer epoch (bumped when the timeout changes).
    pub inact_epoch: u32,
    /// Current encapsulation.
    encap: Encap,
    /// Tunnel parents, in order (allocated only for tunnelled connections).
    tunnel_parents: Vec<Uid>,
    tunnel_changes: u32,
    /// VLAN ids of the first packet.
    pub vlan: Option<u16>,
    /// Inner VLAN id.
    pub inner_vlan: Option<u16>,
    /// MAC addresses (originator, responder).
    pub l2: (Option<[u8; 6]>, Option<[u8; 6]>),
    /// One-way ICMP flow.
    pub icmp_one_way: bool,
    /// Removed from the table (waiting to be logged).
    pub removed: bool,
    /// Directions in which a tunnel header was seen (bit 1 orig, bit 2 resp;
    /// bit 4: Teredo keeps state for the connection).
    pub tunnel_dirs: u8,
    /// A tunnel packet analyzer raised a violation on this connection
    /// (`AnalyzerViolated`): it is not tried again.
    pub tunnel_violated: bool,
    /// Capture-loss counters not yet collected by the engine: (ack events, gap events).
    pub loss: (u32, u32),
    /// Flow statistics of the counted packets (allocated only when enabled).
    pub stats: Option<Box<FlowStats>>,
    /// Weirds already reported for this connection (bit per [`ConnWeird`]).
    weirds_seen: u16,
    /// Weirds raised by the last packet, not yet reported.
    weirds_pending: u16,
    /// Passive DNS (dns.log) state, when Zeek's DNS analyzer is attached.
    pub dns_log: crate::dns::DnsLogState,
}

impl Conn {
    /// Zeek's `WantConnection` flip decision for the first packet.
    pub fn flip_at_creation(cfg: &ConnConfig, init: &ConnInit, tcp_flags: u8) -> bool {
        if init.resp.0.is_v4_broadcast() {
            return false;
        }
        let (sp, dp) = (init.orig.1, init.resp.1);
        match init.transport {
            Transport::Tcp => {
                let syn = tcp_flags & F::SYN != 0;
                let ack = tcp_flags & F::ACK != 0;
                if syn && !ack {
                    return false;
                }
                let ports = &cfg.tcp_server_ports;
                if ports.contains(sp) {
                    if ports.contains(dp) {
                        !syn && sp < dp
                    } else {
                        true
                    }
                } else {
                    false
                }
            }
            Transport::Udp => {
                let ports = &cfg.udp_server_ports;
                ports.contains(sp) && !ports.contains(dp)
            }
            _ => false,
        }
    }

    /// A new connection from its first packet. Schedules its first timers.
    pub fn new(
        cfg: &ConnConfig,
        init: &ConnInit,
        encap: &Encap,
        flip: bool,
        timers: &mut dyn Timers,
    ) -> Conn {
        let uid = Uid::for_conn(cfg.seed, init.orig, init.resp, init.ip_proto, init.ts.0);
        let enabled = cfg.analyzers;
        let svc_t = match init.transport {
            Transport::Tcp => service::Transport::Tcp,
            _ => service::Transport::Udp,
        };
        let mut c = Conn {
            uid,
            transport: init.transport,
            ip_proto: init.ip_proto,
            orig_h: init.orig.0,
            orig_p: init.orig.1,
            resp_h: init.resp.0,
            resp_p: init.resp.1,
            start: init.ts,
            last: init.ts,
            history: History::new(),
            orig_pkts: 0,
            orig_ip_bytes: 0,
            resp_pkts: 0,
            resp_ip_bytes: 0,
            tcp: TcpState::default(),
            orig_len: -1,
            resp_len: -1,
            orig_chk: Scaled::default(),
            resp_chk: Scaled::default(),
            missed_bytes: 0,
            service: Services::default(),
            inactivity_timeout: 0,
            timer_epoch: 0,
            inact_epoch: 0,
            encap: *encap,
            tunnel_parents: Vec::new(),
            tunnel_changes: 0,
            vlan: init.vlan,
            inner_vlan: init.inner_vlan,
            l2: init.l2,
            icmp_one_way: init.icmp_one_way,
            removed: false,
            tunnel_dirs: 0,
            tunnel_violated: false,
            weirds_seen: 0,
            weirds_pending: 0,
            stats: cfg.flow_stats.then(Box::default),
            loss: (0, 0),
            dns_log: Default::default(),
        };
        if let Some(u) = encap.last_uid() {
            c.add_tunnel_parent(u);
        }
        if flip {
            c.flip_roles();
        }
        // The analyzer tree is built after the flip at creation
        // (`IPBasedAnalyzer::NewConn`): port analyzers attach by the final
        // responder port.
        c.service = Services::new(
            if matches!(init.transport, Transport::Tcp | Transport::Udp) {
                enabled
            } else {
                ServiceSet::none()
            },
            svc_t,
            c.orig_p,
            c.resp_p,
        );
        let is_tcp = init.transport == Transport::Tcp;
        for &(s, port, tcp) in &cfg.analyzer_ports {
            if tcp == is_tcp && port == c.resp_p && enabled.contains(s) {
                if let Some(a) = c.service.analyzers.as_mut() {
                    a.attach_analyzer(s);
                }
            }
        }
        if let Some(a) = c.service.analyzers.as_mut() {
            a.set_resp_multicast(c.resp_h.is_multicast());
        }
        // Zeek attaches its DNS analyzer by responder port when the connection is built.
        if matches!(init.transport, Transport::Tcp | Transport::Udp)
            && enabled.contains(Service::Dns)
            && (crate::dns::analyzer_port(is_tcp, c.resp_p)
                || cfg
                    .analyzer_ports
                    .iter()
                    .any(|&(s, p, t)| s == Service::Dns && p == c.resp_p && t == is_tcp))
        {
            c.dns_log.attach();
        }
        c.service.settle();
        let t = cfg.timeouts;
        match init.transport {
            Transport::Tcp => {
                timers.add(
                    init.ts.plus_secs(t.tcp_syn_timeout),
                    TimerKind::TcpExpire,
                    c.timer_epoch,
                );
                c.set_inactivity_timeout(t.udp_inactivity, timers);
            }
            Transport::Udp => {
                c.set_inactivity_timeout(t.udp_inactivity, timers);
                // The DNS analyzer attaches by responder port and runs its own expiry.
                if cfg.analyzers.contains(Service::Dns)
                    && matches!(c.resp_p, 53 | 137 | 5353 | 5355)
                {
                    timers.add(
                        init.ts.plus_secs(t.dns_session),
                        TimerKind::DnsExpire,
                        c.timer_epoch,
                    );
                }
            }
            Transport::Icmp => c.set_inactivity_timeout(t.icmp_inactivity, timers),
            Transport::Other => c.set_inactivity_timeout(t.other_inactivity, timers),
        }
        c
    }

    /// Raises a weird (reported once per connection and name).
    pub fn raise(&mut self, w: ConnWeird) {
        let bit = 1u16 << w as u8;
        if self.weirds_seen & bit == 0 {
            self.weirds_seen |= bit;
            self.weirds_pending |= bit;
        }
    }

    /// Takes the weirds raised since the last call.
    pub fn take_weirds(&mut self) -> impl Iterator<Item = ConnWeird> {
        let p = std::mem::take(&mut self.weirds_pending);
        ConnWeird::ALL
            .into_iter()
            .filter(move |w| p & (1 << *w as u8) != 0)
    }

    /// Whether weirds are waiting to be reported.
    pub fn has_weirds(&self) -> bool {
        self.weirds_pending != 0
    }

    /// Raises the weirds of bounds hit inside the connection's own state
    /// (history length) that have no weird of their own yet.
    #[inline]
    pub fn check_bounds(&mut self) {
        if self.history.truncated() {
            self.raise(ConnWeird::HistoryLimit);
        }
    }

    fn add_tunnel_parent(&mut self, u: Uid) {
        if !self.tunnel_parents.contains(&u) && self.tunnel_parents.len() < MAX_TUNNEL_PARENTS {
            self.tunnel_parents.push(u);
        }
    }

    /// Tunnel parents in the order they were added.
    pub fn tunnel_parents(&self) -> impl Iterator<Item = &Uid> {
        self.tunnel_parents.iter()
    }

    /// Zeek's `SetInactivityTimeout`: replaces the inactivity timer.
    pub fn set_inactivity_timeout(&mut self, secs: i64, timers: &mut dyn Timers) {
        if secs == self.inactivity_timeout {
            return;
        }
        self.inact_epoch = self.inact_epoch.wrapping_add(1);
        if secs > 0 {
            timers.add(
                self.last.plus_secs(secs),
                TimerKind::Inactivity,
                self.inact_epoch,
            );
        }
        self.inactivity_timeout = secs;
    }

    /// Zeek's `CancelTimers`.
    fn cancel_timers(&mut self) {
        self.timer_epoch = self.timer_epoch.wrapping_add(1);
        self.inact_epoch = self.inact_epoch.wrapping_add(1);
        self.inactivity_timeout = -1;
    }

    /// Whether a scheduled timer is still current.
    pub fn timer_valid(&self, kind: TimerKind, epoch: u32) -> bool {
        match kind {
            TimerKind::Inactivity => epoch == self.inact_epoch && self.inactivity_timeout > 0,
            _ => epoch == self.timer_epoch,
        }
    }

    /// Runs a due timer at network time `now`.
    pub fn on_timer(
        &mut self,
        cfg: &ConnConfig,
        kind: TimerKind,
        now: Ts,
        timers: &mut dyn Timers,
    ) -> TimerOutcome {
        let t = &cfg.timeouts;
        match kind {
            TimerKind::Inactivity => {
                if self.last.plus_secs(self.inactivity_timeout) <= now {
                    TimerOutcome::Remove
                } else {
                    timers.add(
                        self.last.plus_secs(self.inactivity_timeout),
                        TimerKind::Inactivity,
                        self.inact_epoch,
                    );
                    TimerOutcome::Keep
                }
            }
            TimerKind::TcpAttempt => {
                if !self.tcp.is_active {
                    return TimerOutcome::Keep;
                }
                if matches!(self.tcp.orig.state, ES::SynSent | ES::SynAckSent)
                    && self.tcp.resp.state == ES::Inactive
                {
                    self.tcp.is_active = false;
                    TimerOutcome::Remove
                } else {
                    TimerOutcome::Keep
                }
            }
            TimerKind::TcpExpire => {
                if !self.tcp.is_active {
                    return TimerOutcome::Keep;
                }
                let (o, r) = (&self.tcp.orig, &self.tcp.resp);
                if self.last.plus_secs(t.tcp_connection_linger) < now {
                    if (o.did_close || r.did_close)
                        && ((o.did_close && r.did_close)
                            || o.state == ES::Reset
                            || r.state == ES::Reset
                            || o.state == ES::Inactive
                            || r.state == ES::Inactive)
                    {
                        self.tcp.is_active = false;
                        return TimerOutcome::Remove;
                    }
                    if r.state == ES::Inactive && o.state == ES::Inactive {
                        return TimerOutcome::Remove;
                    }
                }
                timers.add(
                    now.plus_secs(t.tcp_session_timer),
                    TimerKind::TcpExpire,
                    self.timer_epoch,
                );
                TimerOutcome::Keep
            }
            TimerKind::TcpDelete => TimerOutcome::Remove,
            TimerKind::DnsExpire => {
                if now.0 - self.last.0 >= (t.dns_session - 1) * crate::time::SEC {
                    TimerOutcome::Remove
                } else {
                    timers.add(
                        now.plus_secs(t.dns_session),
                        TimerKind::DnsExpire,
                        self.timer_epoch,
                    );
                    TimerOutcome::Keep
                }
            }
        }
    }

    /// The originator's (`is_orig`) or the responder's address and port.
    pub fn endpoint(&self, is_orig: bool) -> (Addr, u16) {
        if is_orig {
            (self.orig_h, self.orig_p)
        } else {
            (self.resp_h, self.resp_p)
        }
    }

    /// Swaps originator and responder (Zeek's `Connection::FlipRoles`).
    pub fn flip_roles(&mut self) {
        std::mem::swap(&mut self.orig_h, &mut self.resp_h);
        std::mem::swap(&mut self.orig_p, &mut self.resp_p);
        self.l2 = (self.l2.1, self.l2.0);
        std::mem::swap(&mut self.orig_pkts, &mut self.resp_pkts);
        std::mem::swap(&mut self.orig_ip_bytes, &mut self.resp_ip_bytes);
        std::mem::swap(&mut self.orig_len, &mut self.resp_len);
        std::mem::swap(&mut self.orig_chk, &mut self.resp_chk);
        if self.transport == Transport::Tcp {
            self.tcp.flip();
        }
        if let Some(a) = self.service.analyzers.as_mut() {
            a.flip();
        }
        self.tunnel_dirs =
            (self.tunnel_dirs & !3) | ((self.tunnel_dirs & 1) << 1) | ((self.tunnel_dirs & 2) >> 1);
        if let Some(a) = self.service.analyzers.as_mut() {
            a.set_resp_multicast(self.resp_h.is_multicast());
        }
        self.history.add(b'^');
        if let Some(s) = self.stats.as_mut() {
            s.flip();
        }
    }

    /// Zeek's `CheckEncapsulation`, plus the tunnel-parent bookkeeping of
    /// `conn/main.zeek` and the analysis-limit history letter.
    pub fn check_encap(&mut self, cfg: &ConnConfig, encap: &Encap, is_orig: bool) {
        if self.encap == *encap {
            return;
        }
        let limit = cfg.tunnel_max_changes;
        if encap.depth > 0 && self.encap.depth > 0 {
            if limit == 0 || self.tunnel_changes < limit {
                self.tunnel_changes += 1;
                if let Some(u) = encap.last_uid() {
                    self.add_tunnel_parent(u);
                }
            } else {
                // Analysis limit: one letter per connection, cased by the packet's side.
                self.history
                    .check(bit::LIMIT, if is_orig { b'X' } else { b'x' });
            }
        } else if let Some(u) = encap.last_uid() {
            self.add_tunnel_parent(u);
        }
        self.encap = *encap;
    }

    fn count(
        &mut self,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'_>,
        l4_hdr_len: u32,
        tcp: Option<TcpObs>,
    ) {
        if let Some(s) = self.stats.as_mut() {
            s.observe(&PacketObs::from_ip(now, is_orig, ip, l4_hdr_len, tcp));
        }
        let ip_len = ip.total_len;
        if is_orig {
            self.orig_pkts += 1;
            self.orig_ip_bytes += ip_len as u64;
        } else {
            self.resp_pkts += 1;
            self.resp_ip_bytes += ip_len as u64;
        }
    }

    fn bad_checksum(&mut self, is_orig: bool) {
        let hit = if is_orig {
            self.orig_chk.hit()
        } else {
            self.resp_chk.hit()
        };
        if hit {
            self.history.add(if is_orig { b'C' } else { b'c' });
        }
    }

    /// Whether this TCP packet, arriving for this connection, starts a new
    /// connection instead (Zeek's `TCPSessionAdapter::IsReuse`).
    pub fn tcp_is_reuse(&self, t: &Tcp<'_>) -> bool {
        if t.flags & F::SYN == 0 {
            return false;
        }
        let mut conn_orig = &self.tcp.orig;
        if t.flags & F::ACK != 0 {
            if self.tcp.orig.state != ES::Inactive {
                return false;
            }
            conn_orig = &self.tcp.resp;
        }
        if !self.tcp.is_closed() {
            if t.seq == conn_orig.start_seq {
                return false;
            }
            if t.flags & F::ACK == 0
                && conn_orig.state == ES::SynAckSent
                && self.tcp.resp.state == ES::Inactive
                && t.seq == self.tcp.resp.start_seq
            {
                return false;
            }
        }
        true
    }

    /// Whether the history is exactly `H` and this packet would add `A`/`D`:
    /// Zeek then flips the connection (the SYN-ACK came from the client side).
    pub fn tcp_wants_h_flip(&self, t: &Tcp<'_>) -> bool {
        self.history.as_bytes() == b"H"
            && t.flags & (F::SYN | F::FIN | F::RST) == 0
            && (t.payload_len > 0 || t.flags & F::ACK != 0)
    }

    /// Performs the `H` flip: roles swap and the history becomes `^h`.
    pub fn tcp_h_flip(&mut self) {
        self.flip_roles();
        self.history.set(b"^h");
    }

    /// Processes a TCP packet (after the connection lookup). Returns whether
    /// the packet turned out to be the originator's (the `H` flip can change
    /// it) and whether its payload is new data worth showing to analyzers.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp_packet(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'_>,
        t: &Tcp<'_>,
    ) -> (bool, bool) {
        let len = t.payload_len;
        let caplen = t.payload.len() as u32;
        // Checksum (only on fully captured segments).
        if !cfg.ignore_checksums && caplen >= len && !ip.transport_checksum_ok(6) {
            let (ep, _) = self.tcp.sides(is_orig);
            if ep.chk.hit() {
                self.history.add(if is_orig { b'C' } else { b'c' });
            }
            self.raise(ConnWeird::BadTcpChecksum);
            return (is_orig, false);
        }
        let mut is_orig = is_orig;
        if self.tcp_wants_h_flip(t) {
            self.tcp_h_flip();
            is_orig = !is_orig;
        }
        let flags = t.flags;
        let syn = flags & F::SYN != 0;
        let fin = flags & F::FIN != 0;
        let rst = flags & F::RST != 0;
        let ackf = flags & F::ACK != 0;
        self.tcp.set_partial_status(syn, ackf, is_orig);

        let mut seg_len = len as i64;
        if syn {
            seg_len += 1;
        }
        if fin {
            seg_len += 1;
        }
        if rst {
            seg_len -= len as i64;
        }
        let base_seq = t.seq;
        let ack_seq = t.ack;
        let seq_one_past = base_seq.wrapping_add(seg_len as u32);

        // init_endpoint
        let mut seq_jump = false;
        {
            let (ep, _) = self.tcp.sides(is_orig);
            match ep.state {
                ES::Inactive => {
                    let mut last = seq_one_past;
                    if syn {
                        ep.init_ack_seq(base_seq);
                        ep.init_start_seq(base_seq);
                    } else {
                        ep.init_ack_seq(base_seq.wrapping_sub(1));
                        ep.init_start_seq(base_seq.wrapping_sub(1));
                        last = base_seq;
                    }
                    ep.init_last_seq(last);
                }
                ES::SynSent | ES::SynAckSent => {
                    if syn && base_seq != ep.start_seq {
                        seq_jump = true;
                        ep.init_start_seq(base_seq);
                        ep.init_ack_seq(base_seq);
                        ep.init_last_seq(seq_one_past);
                    }
                }
                ES::Established | ES::Partial => {
                    if syn {
                        seq_jump |= base_seq != ep.start_seq;
                        ep.init_start_seq(base_seq);
                        ep.init_ack_seq(base_seq);
                        ep.init_last_seq(seq_one_past);
                    }
                }
                ES::Reset => {
                    if syn && ep.prev_state == ES::Inactive {
                        ep.init_start_seq(base_seq);
                        ep.init_ack_seq(base_seq);
                        ep.init_last_seq(seq_one_past);
                    }
                }
                ES::Closed => {}
            }
        }

        if seq_jump {
            self.raise(ConnWeird::SynSeqJump);
        }
        let (rel_seq, seq_underflow) = {
            let (ep, _) = self.tcp.sides(is_orig);
            relative_seq(ep.start_seq, base_seq, ep.last_seq, ep.seq_wraps, |s, w| {
                ep.to_relative(s, w)
            })
        };

        // update_history
        {
            let bits = syn as u32 + fin as u32 + rst as u32;
            let sh = if is_orig { 0 } else { 16 };
            let lc = |c: u8| if is_orig { c } else { c.to_ascii_lowercase() };
            if bits > 1 {
                if fin && rst {
                    self.history.check(bit::FIN_RST << sh, lc(b'I'));
                } else {
                    self.history.check(bit::MULTI_FLAG << sh, lc(b'Q'));
                }
            } else if bits == 1 {
                let (ep, _) = if is_orig {
                    (&mut self.tcp.orig, ())
                } else {
                    (&mut self.tcp.resp, ())
                };
                if syn {
                    let code = if ackf { b'H' } else { b'S' };
                    if self.history.check(bit::SYN << sh, lc(code)) && rel_seq != ep.hist_last_syn {
                        self.history.add(lc(code));
                    }
                    ep.hist_last_syn = rel_seq;
                }
                if fin {
                    let v = rel_seq.wrapping_add(len as u64);
                    if self.history.check(bit::FIN << sh, lc(b'F')) && v != ep.hist_last_fin {
                        self.history.add(lc(b'F'));
                    }
                    ep.hist_last_fin = v;
                }
                if rst {
                    if self.history.check(bit::RST << sh, lc(b'R')) && rel_seq != ep.hist_last_rst {
                        self.history.add(lc(b'R'));
                    }
                    ep.hist_last_rst = rel_seq;
                }
            } else if len > 0 {
                self.history.check(bit::DATA << sh, lc(b'D'));
            } else if ackf {
                self.history.check(bit::ACK << sh, lc(b'A'));
            }
        }

        // update_window (zero-window accounting and window tracking)
        {
            let (ep, peer) = self.tcp.sides(is_orig);
            let scale = ep.window_scale.min(14) as u32;
            let window = (t.window as u32) << scale;
            let zero = window == 0 && !rst && peer.state != ES::Closed && ep.state != ES::Reset;
            if !syn
                && !fin
                && !rst
                && ep.state != ES::Closed
                && ep.state != ES::Reset
                && seq_delta(base_seq, ep.window_seq) >= 0
                && seq_delta(ack_seq, ep.window_ack_seq) >= 0
            {
                ep.window = window;
                ep.window_ack_seq = ack_seq;
                ep.window_seq = base_seq;
            }
            if zero && ep.win0.hit() {
                self.history.add(if is_orig { b'W' } else { b'w' });
            }
        }

        if !self.tcp.orig.did_close || !self.tcp.resp.did_close {
            self.last = now;
        }

        if syn {
            if rst {
                self.raise(ConnWeird::TcpChristmas);
            }
            if len > 0 {
                self.raise(ConnWeird::SynWithData);
            }
            let scale = t.window_scale();
            let (ep, peer) = self.tcp.sides(is_orig);
            match scale {
                None => {
                    if ackf {
                        ep.window_scale = 0;
                        peer.window_scale = 0;
                    } else {
                        ep.window_scale = 0;
                    }
                }
                Some(s) => {
                    ep.window_scale = s.min(14);
                    ep.window_seq = base_seq;
                    ep.window_ack_seq = ack_seq;
                    peer.window_seq = ack_seq;
                    peer.window_ack_seq = base_seq;
                }
            }
        }
        if fin {
            let (ep, _) = self.tcp.sides(is_orig);
            ep.fin_cnt += 1;
            ep.fin_seq = rel_seq.wrapping_add(seg_len as u64);
        }
        if rst {
            let (ep, _) = self.tcp.sides(is_orig);
            ep.rst_cnt += 1;
        }

        let mut rel_ack = 0u64;
        if ackf {
            let (_, peer) = self.tcp.sides(is_orig);
            if peer.state == ES::Inactive {
                rel_ack = 1;
                let a = ack_seq.wrapping_sub(1);
                peer.init_start_seq(a);
                peer.init_ack_seq(a);
                peer.init_last_seq(a);
            } else {
                let (r, under) = relative_seq(
                    peer.start_seq,
                    ack_seq,
                    peer.ack_seq,
                    peer.ack_wraps,
                    |s, w| peer.to_relative(s, w),
                );
                if under {
                    rel_ack = 0;
                } else {
                    rel_ack = r;
                    if !rst {
                        let d = seq_delta(ack_seq, peer.ack_seq);
                        if !(ack_seq == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0 {
                            peer.update_ack_seq(ack_seq);
                        }
                    }
                }
            }
        }

        // update_last_seq
        let mut rexmit = false;
        let delta_last = {
            let (ep, _) = self.tcp.sides(is_orig);
            let d = seq_delta(seq_one_past, ep.last_seq);
            if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&d) {
            } else if fin && ep.last_seq == ep.start_seq.wrapping_add(1) {
                ep.update_last_seq(seq_one_past);
            } else if ep.state == ES::Reset {
            } else if d > 0 {
                ep.update_last_seq(seq_one_past);
            } else if len > 0 {
                rexmit = true;
                if ep.rxmt.hit() {
                    self.history.add(if is_orig { b'T' } else { b't' });
                }
            }
            d
        };

        let (do_close, gen_event) =
            self.update_state_machine(cfg, timers, now, is_orig, base_seq, len, delta_last, flags);

        if ackf {
            let report = cfg.report_gaps_for_partial;
            let is_partial = self.tcp.is_partial;
            let mut gaps = GapList::default();
            let advanced = {
                let (_, peer) = self.tcp.sides(is_orig);
                peer.ack_received(rel_ack, is_partial, &mut gaps)
            };
            // Capture-loss accounting (Zeek's get_gap_stats): acks of both
            // established sides, and those that revealed missing data.
            let established =
                self.tcp.orig.state == ES::Established && self.tcp.resp.state == ES::Established;
            if advanced && (report || established) {
                self.loss.0 += 1;
                if gaps.iter().any(|(_, l)| l > 0) {
                    self.loss.1 += 1;
                }
            }
            let clean = clean_pair(&self.tcp, !is_orig);
            for (_, glen) in gaps.iter() {
                if let Some(a) = self.service.analyzers.as_mut() {
                    a.on_gap(!is_orig);
                }
                if clean {
                    let (_, peer) = self.tcp.sides(is_orig);
                    if peer.gap.hit() {
                        // The gap belongs to the peer's stream.
                        self.history.add(if is_orig { b'g' } else { b'G' });
                    }
                }
                if report || clean {
                    self.missed_bytes += glen;
                }
            }
        }

        // CheckPIA_FirstPacket: this side has now been seen.
        self.tcp.first_packet_seen |= if is_orig { 1 } else { 2 };

        let rel_data_seq = if syn {
            rel_seq.wrapping_add(1)
        } else {
            rel_seq
        };
        if len > 0 && !rst && !seq_underflow && caplen >= len {
            let (ep, _) = self.tcp.sides(is_orig);
            if ep.data_sent(rel_data_seq, len as u64) {
                self.raise(ConnWeird::TcpOooRangesFolded);
            }
        }

        if do_close {
            self.connection_closed(cfg, timers, is_orig, gen_event);
        }

        self.count(
            now,
            is_orig,
            ip,
            t.hdr_len as u32,
            Some(TcpObs::from_tcp(t)),
        );
        if let Some(a) = self.service.analyzers.as_mut() {
            a.set_partial(self.tcp.is_partial);
        }
        (is_orig, len > 0 && !rst && !rexmit && !seq_underflow)
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state_machine(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        now: Ts,
        is_orig: bool,
        base_seq: u32,
        len: u32,
        delta_last: i32,
        flags: u8,
    ) -> (bool, bool) {
        let syn = flags & F::SYN != 0;
        let fin = flags & F::FIN != 0;
        let rst = flags & F::RST != 0;
        let ackf = flags & F::ACK != 0;
        let mut do_close = false;
        let mut gen_event = false;
        let state = if is_orig {
            self.tcp.orig.state
        } else {
            self.tcp.resp.state
        };
        match state {
            ES::Inactive => {
                if syn {
                    if is_orig {
                        if ackf {
                            self.raise(ConnWeird::ConnectionOriginatorSynAck);
                        }
                        let s = if ackf { ES::SynAckSent } else { ES::SynSent };
                        self.set_state(cfg, timers, is_orig, s);
                        timers.add(
                            now.plus_secs(cfg.timeouts.tcp_attempt),
                            TimerKind::TcpAttempt,
                            self.timer_epoch,
                        );
                    } else {
                        let mut is_orig_now = is_orig;
                        if !ackf {
                            let peer_state = self.tcp.orig.state;
                            if peer_state == ES::SynAckSent && base_seq == self.tcp.resp.start_seq {
                                // SYN/SYN-ACK seen in reverse order: flip and establish.
                                self.tcp.is_partial = false;
                                self.flip_roles();
                                is_orig_now = true;
                                // After the flip the sender is the originator; its peer is the old originator.
                                self.set_state(cfg, timers, false, ES::Established);
                                self.tcp.first_packet_seen |= 1;
                            }
                        }
                        let peer_is_orig = !is_orig_now;
                        let peer_state = if peer_is_orig {
                            self.tcp.orig.state
                        } else {
                            self.tcp.resp.state
                        };
                        if peer_state == ES::SynSent {
                            self.set_state(cfg, timers, peer_is_orig, ES::Established);
                        }
                        self.set_state(cfg, timers, is_orig_now, ES::Established);
                        let peer_state = if peer_is_orig {
                            self.tcp.orig.state
                        } else {
                            self.tcp.resp.state
                        };
                        if peer_state != ES::Partial {
                            self.connection_established(cfg, timers);
                        }
                        if is_orig_now != is_orig {
                            // Continue with the flipped orientation.
                            return self.finish_inactive(
                                cfg,
                                timers,
                                is_orig_now,
                                len,
                                flags,
                                true,
                            );
                        }
                    }
                }
                return self.finish_inactive(cfg, timers, is_orig, len, flags, false);
            }
            ES::SynSent | ES::SynAckSent => {
                if fin {
                    self.set_state(cfg, timers, is_orig, ES::Closed);
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    self.tcp.is_active = false;
                    do_close = true;
                } else if len > 0 {
                    self.raise(ConnWeird::DataBeforeEstablished);
                }
            }
            ES::Established | ES::Partial => {
                let peer_state = if is_orig {
                    self.tcp.resp.state
                } else {
                    self.tcp.orig.state
                };
                if syn && state == ES::Partial && peer_state == ES::Inactive && !ackf {
                    self.set_state(cfg, timers, is_orig, ES::SynSent);
                }
                if fin && !rst {
                    self.set_state(cfg, timers, is_orig, ES::Closed);
                    let peer = if is_orig {
                        &mut self.tcp.resp
                    } else {
                        &mut self.tcp.orig
                    };
                    if peer.state == ES::Reset && peer.prev_state == ES::Closed {
                        self.set_state(cfg, timers, !is_orig, ES::Closed);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    do_close = true;
                    let peer = if is_orig {
                        &self.tcp.resp
                    } else {
                        &self.tcp.orig
                    };
                    if peer.state != ES::Reset || peer.prev_state != ES::Established {
                        self.tcp.is_active = false;
                    }
                }
            }
            ES::Closed => {
                let _ = delta_last;
                if syn {
                    self.raise(ConnWeird::SynAfterClose);
                }
                let peer_state = if is_orig {
                    self.tcp.resp.state
                } else {
                    self.tcp.orig.state
                };
                if rst && peer_state != ES::Closed {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    let ep = if is_orig {
                        &self.tcp.orig
                    } else {
                        &self.tcp.resp
                    };
                    if !ep.did_close {
                        do_close = true;
                    }
                }
            }
            ES::Reset => {}
        }
        (do_close, gen_event)
    }

    /// The second half of Zeek's `UpdateInactiveState` (FIN, RST, no control flags).
    fn finish_inactive(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        len: u32,
        flags: u8,
        _flipped: bool,
    ) -> (bool, bool) {
        let syn = flags & F::SYN != 0;
        let fin = flags & F::FIN != 0;
        let rst = flags & F::RST != 0;
        let ackf = flags & F::ACK != 0;
        let mut do_close = false;
        let mut gen_event = false;
        if fin {
            self.set_state(cfg, timers, is_orig, ES::Closed);
            do_close = true;
            gen_event = true;
            let peer = if is_orig {
                &self.tcp.resp
            } else {
                &self.tcp.orig
            };
            if peer.state != ES::Partial && !syn {
                self.raise(ConnWeird::SpontaneousFin);
            }
        }
        if rst {
            self.set_state(cfg, timers, is_orig, ES::Reset);
            let peer_state = if is_orig {
                self.tcp.resp.state
            } else {
                self.tcp.orig.state
            };
            let is_reject = if is_orig {
                peer_state == ES::Established
            } else {
                matches!(peer_state, ES::SynSent | ES::SynAckSent)
            };
            do_close = true;
            gen_event = !is_reject;
            if !is_reject && peer_state == ES::Inactive {
                self.raise(ConnWeird::SpontaneousRst);
            }
        }
        let state = if is_orig {
            self.tcp.orig.state
        } else {
            self.tcp.resp.state
        };
        if state == ES::Inactive {
            let peer_state = if is_orig {
                self.tcp.resp.state
            } else {
                self.tcp.orig.state
            };
            if !is_orig && len == 0 && self.tcp.orig.state == ES::SynSent {
                // An ACK of the SYN before the SYN-ACK: not a partial connection.
            } else if ackf && peer_state == ES::Established {
                self.set_state(cfg, timers, is_orig, ES::Established);
                self.tcp.is_partial = false;
                self.tcp.first_packet_seen |= if is_orig { 1 } else { 2 };
            } else {
                self.set_state(cfg, timers, is_orig, ES::Partial);
            }
        }
        (do_close, gen_event)
    }

    /// `TCP_Endpoint::SetState`, with the inactivity-timeout switch at the end
    /// of the handshake.
    fn set_state(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers, is_orig: bool, s: ES) {
        let (ep_state, peer_state) = if is_orig {
            (self.tcp.orig.state, self.tcp.resp.state)
        } else {
            (self.tcp.resp.state, self.tcp.orig.state)
        };
        if s == ep_state {
            return;
        }
        if !s.is_handshake() && ep_state.is_handshake() && peer_state.is_handshake() {
            self.set_inactivity_timeout(cfg.timeouts.tcp_inactivity, timers);
        }
        let ep = if is_orig {
            &mut self.tcp.orig
        } else {
            &mut self.tcp.resp
        };
        ep.prev_state = ep.state;
        ep.state = s;
    }

    /// The `connection_established` handler of `conn/inactivity.zeek`.
    fn connection_established(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers) {
        let mut port = self.resp_p;
        if self.tcp.orig.state == ES::Inactive
            && !cfg.tcp_server_ports.contains(port)
            && cfg.tcp_server_ports.contains(self.orig_p)
        {
            port = self.orig_p;
        }
        if matches!(port, 21 | 22 | 23 | 513) {
            self.set_inactivity_timeout(cfg.timeouts.interactive, timers);
        }
    }

    /// Zeek's `TCPSessionAdapter::ConnectionClosed`.
    fn connection_closed(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        gen_event: bool,
    ) {
        let (ep, peer) = self.tcp.sides(is_orig);
        if ep.did_close {
            return;
        }
        ep.did_close = true;
        let close_complete = ep.state == ES::Reset || peer.did_close || peer.state == ES::Inactive;
        if close_complete {
            if (ep.prev_state != ES::Inactive || peer.state != ES::Inactive) && gen_event {
                self.tcp.is_active = false;
            }
            self.cancel_timers();
            timers.add(
                self.last.plus_secs(cfg.timeouts.tcp_close_delay),
                TimerKind::TcpDelete,
                self.timer_epoch,
            );
        } else if ep.prev_state != ES::Inactive {
            timers.add(
                self.last.plus_secs(cfg.timeouts.tcp_session_timer),
                TimerKind::TcpExpire,
                self.timer_epoch,
            );
        }
    }

    /// Processes a UDP packet. Returns the payload to show analyzers, if accepted.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_packet<'a>(
        &mut self,
        cfg: &ConnConfig,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'a>,
        ulen: u16,
        checksum: u16,
        wire_complete: bool,
    ) -> bool {
        let len = ip.payload_len;
        let mut validate = !cfg.ignore_checksums && ip.payload.len() as u32 >= len && wire_complete;
        // VXLAN-looking payload to the VXLAN port (`UDP.cc`): a zero checksum
        // is accepted (also over IPv6); a non-zero one is checked, as
        // `Tunnel::validate_vxlan_checksums` defaults to T.
        if validate
            && len > 8 + 8 + 14
            && ip.payload.get(8).is_some_and(|b| b & 0x08 == 0x08)
            && crate::decode::be16(ip.payload, 2) == 4789
        {
            validate = checksum != 0;
        }
        if validate {
            let bad = if ip.is_v6 {
                !ip.transport_checksum_ok(17)
            } else {
                checksum != 0 && !ip.transport_checksum_ok(17)
            };
            if bad {
                self.bad_checksum(is_orig);
                self.raise(ConnWeird::BadUdpChecksum);
                return false;
            }
        }
        if ulen as u32 != len {
            self.raise(ConnWeird::UdpDatagramLengthMismatch);
        }
        self.last = now;
        let plen = ulen as i64 - 8;
        if is_orig {
            self.history.check(bit::UDP_ORIG_DATA, b'D');
            self.orig_len = if self.orig_len < 0 {
                plen
            } else {
                self.orig_len + plen
            };
        } else {
            self.history.check(bit::UDP_RESP_DATA << 16, b'd');
            self.resp_len = if self.resp_len < 0 {
                plen
            } else {
                self.resp_len + plen
            };
        }
        self.count(now, is_orig, ip, 8, None);
        true
    }

    /// Processes an ICMP/ICMPv6 packet.
    pub fn icmp_packet(&mut self, cfg: &ConnConfig, now: Ts, is_orig: bool, ip: &IpPacket<'_>) {
        let len = ip.payload_len;
        if !cfg.ignore_checksums && ip.payload.len() as u32 >= len {
            let ok = if ip.is_v6 {
                ip.transport_checksum_ok(58)
            } else {
                crate::decode::fold(crate::decode::ones_sum(ip.payload, 0)) == 0xffff
            };
            if !ok {
                self.raise(ConnWeird::BadIcmpChecksum);
                return;
            }
        }
        self.last = now;
        let plen = len as i64 - 8;
        if is_orig {
            self.orig_len = if self.orig_len < 0 {
                plen
            } else {
                self.orig_len + plen
            };
        } else {
            self.resp_len = if self.resp_len < 0 {
                plen
            } else {
                self.resp_len + plen
            };
        }
        self.count(now, is_orig, ip, 8, None);
    }

    /// Processes a packet of another IP protocol.
    pub fn other_packet(&mut self, now: Ts, is_orig: bool, ip: &IpPacket<'_>) {
        self.last = now;
        self.count(now, is_orig, ip, 0, None);
    }

    /// Shows payload to the service analyzers; applies flips and returns an
    /// FTP data expectation if one was raised.
    pub fn inspect(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        payload: &[u8],
    ) -> Option<service::Expect> {
        let a = self.service.analyzers.as_mut()?;
        if payload.is_empty() {
            return None;
        }
        let v = a.on_payload(is_orig, payload);
        self.service.settle();
        if let Some(s) = v.confirmed {
            self.on_confirm(cfg, timers, s);
        }
        if v.flip {
            self.flip_roles();
        }
        v.expect
    }

    /// A service was confirmed (from payload, a tunnel decapsulation or an expectation).
    pub fn confirm(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers, s: Service) {
        self.service.confirm(s);
        self.on_confirm(cfg, timers, s);
    }

    /// `analyzer_inactivity_timeouts` of `conn/inactivity.zeek`: FTP and SSH get 1 h.
    fn on_confirm(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers, s: Service) {
        if matches!(s, Service::Ftp | Service::Ssh) {
            self.set_inactivity_timeout(cfg.timeouts.interactive, timers);
        }
    }

    /// The flow statistics' final values (all zero when statistics are off).
    pub fn flow_features(&self) -> crate::stats::FlowFeatures {
        self.stats
            .as_deref()
            .copied()
            .unwrap_or_default()
            .features(self.start, self.last)
    }

    /// Bytes for `orig_bytes` / `resp_bytes`.
    pub fn sizes(&self) -> (u64, u64) {
        match self.transport {
            Transport::Tcp => (
                self.tcp.orig.size(self.tcp.resp.state),
                self.tcp.resp.size(self.tcp.orig.state),
            ),
            Transport::Udp | Transport::Icmp => {
                (self.orig_len.max(0) as u64, self.resp_len.max(0) as u64)
            }
            Transport::Other => (0, 0),
        }
    }

    /// Whether each UDP side had at least one accepted packet.
    pub fn udp_active(&self) -> (bool, bool) {
        (self.orig_len >= 0, self.resp_len >= 0)
    }

    /// conn.log's `conn_state`.
    pub fn conn_state(&self) -> &'static str {
        state::conn_state(self)
    }
}

/// Zeek's `get_relative_seq`: `(relative, underflow)`.
fn relative_seq(
    start: u32,
    cur: u32,
    last: u32,
    wraps: u32,
    to_rel: impl Fn(u32, u32) -> u64,
) -> (u64, bool) {
    let mut wraps = wraps;
    let delta = seq_delta(cur, last);
    if delta < 0 {
        if wraps > 0 && cur > last {
            wraps -= 1;
        }
    } else if delta > 0 && cur < last {
        wraps += 1;
    }
    if wraps == 0 {
        let d = seq_delta(cur, start);
        (d as i64 as u64, d < 0)
    } else {
        (to_rel(cur, wraps), false)
    }
}

/// Both endpoints established or cleanly closing (content gaps count then).
/// `side_is_orig` names the endpoint whose stream had the gap.
fn clean_pair(t: &TcpState, _side_is_orig: bool) -> bool {
    fn clean(e: &tcp::Endpoint) -> bool {
        e.state == ES::Established || (e.state == ES::Closed && e.prev_state == ES::Established)
    }
    clean(&t.orig) && clean(&t.resp)
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn connection_state_stays_small() {
        let n = std::mem::size_of::<super::Conn>();
        eprintln!("size_of::<Conn>() = {n}");
        // Service analyzers are boxed and dropped early; the rest is fixed-size.
        assert!(n <= 768, "Conn grew to {n} bytes");
    }
}
