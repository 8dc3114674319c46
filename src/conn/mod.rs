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
//!
//! Files: `mod.rs` the connection ([`Conn`]: creation and the flip at
//! creation, weirds, role flips, payload to the analyzers, sizes);
//! `timer.rs` its timers; `tunnel.rs` its tunnel state; `datagram.rs` the
//! UDP, ICMP and other-protocol packet paths and the shared packet counts;
//! the TCP path is [`tcp`]'s machine.

pub mod community_id;
mod config;
mod datagram;
mod encap;
pub mod history;
pub mod icmp;
pub mod service;
mod services;
pub mod site;
pub mod state;
pub mod tcp;
mod timer;
mod tunnel;
pub mod uid;
mod weird;

pub use config::{
    ConnConfig, PortSet, TimeoutError, Timeouts, BARE_UDP_SERVER_PORTS, DEFAULT_TCP_SERVER_PORTS,
    DEFAULT_UDP_SERVER_PORTS,
};
pub use encap::{Encap, EncapLayer, MAX_TUNNEL_DEPTH};
pub use services::Services;
pub use timer::{TimerKind, TimerOutcome, Timers};
pub use weird::ConnWeird;

use crate::decode::ip::tcp_flags as F;
use crate::decode::Addr;
use crate::stats::FlowStats;
use crate::time::Ts;
use history::{History, Scaled};
use service::{Service, ServiceSet};
use tcp::TcpState;
use tunnel::TunnelState;
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
    /// Tunnel state (encapsulation, parents, tunnel analyzers' flags), out
    /// of line: allocated only for connections inside or carrying a tunnel.
    tunnel: Option<Box<TunnelState>>,
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
    /// Flow statistics of the counted packets (allocated only when enabled).
    pub stats: Option<Box<FlowStats>>,
    /// Weirds already reported for this connection (bit per [`ConnWeird`]).
    weirds_seen: u32,
    /// Weirds raised by the last packet, not yet reported.
    weirds_pending: u32,
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
            tunnel: None,
            vlan: init.vlan,
            inner_vlan: init.inner_vlan,
            l2: init.l2,
            icmp_one_way: init.icmp_one_way,
            removed: false,
            weirds_seen: 0,
            weirds_pending: 0,
            stats: cfg.flow_stats.then(Box::default),
            dns_log: Default::default(),
        };
        if encap.depth > 0 {
            let t = c.tunnel.insert(Box::default());
            t.encap = *encap;
            if let Some(u) = encap.last_uid() {
                t.add_parent(u);
            }
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
        let bit = 1u32 << w as u8;
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
        if let Some(t) = self.tunnel.as_mut() {
            t.dirs = (t.dirs & !3) | ((t.dirs & 1) << 1) | ((t.dirs & 2) >> 1);
        }
        if let Some(a) = self.service.analyzers.as_mut() {
            a.set_resp_multicast(self.resp_h.is_multicast());
        }
        self.history.add(b'^');
        if let Some(s) = self.stats.as_mut() {
            s.flip();
        }
    }

    /// Shows payload to the service analyzers; applies flips and puts the
    /// data-channel expectations (FTP data, IRC DCC) the payload raised, in
    /// order, in `expects` (cleared first; the caller reuses it).
    pub fn inspect(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        payload: &[u8],
        expects: &mut Vec<service::Expect>,
    ) {
        expects.clear();
        let Some(a) = self.service.analyzers.as_mut() else {
            return;
        };
        if payload.is_empty() {
            return;
        }
        let v = a.on_payload_expecting(is_orig, payload, expects);
        self.service.settle();
        if let Some(s) = v.confirmed {
            self.on_confirm(cfg, timers, s);
        }
        if v.flip {
            self.flip_roles();
        }
        if v.limit {
            // After a flip, as in `DNS_Interpreter::ParseMessage`, which flips
            // before it checks its limits. `X` in either direction.
            self.history.check(history::bit::LIMIT, b'X');
        }
    }

    /// A TCP segment closed its sender (FIN or RST; after its payload went
    /// to [`Conn::inspect`]): the analyzers' `ConnectionClosed`.
    pub fn tcp_closed(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers) {
        let Some(a) = self.service.analyzers.as_mut() else {
            return;
        };
        let v = a.on_close();
        self.service.settle();
        if let Some(s) = v.confirmed {
            self.on_confirm(cfg, timers, s);
        }
        if v.limit {
            self.history.check(history::bit::LIMIT, b'X');
        }
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
        match self.stats.as_deref() {
            Some(s) => s.features(self.start, self.last),
            None => FlowStats::default().features(self.start, self.last),
        }
    }

    /// The connection is over (removed, about to be logged): drops its
    /// service analyzers where they were allocated, keeping the services
    /// and the DNS question the logs read.
    pub fn shed_analyzers(&mut self) {
        self.service.shed();
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

#[cfg(test)]
mod size_tests {
    #[test]
    fn connection_state_stays_small() {
        let n = std::mem::size_of::<super::Conn>();
        eprintln!("size_of::<Conn>() = {n}");
        use std::mem::size_of;
        eprintln!(
            "tcp {} endpoint {} history {} services {} encap {} dns_log {} uid {} addr {} flowstats {} servicestate {}",
            size_of::<super::TcpState>(),
            size_of::<super::tcp::Endpoint>(),
            size_of::<super::History>(),
            size_of::<super::Services>(),
            size_of::<super::Encap>(),
            size_of::<crate::dns::DnsLogState>(),
            size_of::<super::Uid>(),
            size_of::<super::Addr>(),
            size_of::<crate::stats::FlowStats>(),
            size_of::<super::service::ServiceState>(),
        );
        // Service analyzers are boxed and dropped early; tunnel state, long
        // histories and out-of-order TCP ranges live out of line, allocated
        // only for the connections that need them (was 760 bytes before).
        assert!(n <= 512, "Conn grew to {n} bytes");
    }
}
