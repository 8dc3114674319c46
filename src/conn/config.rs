//! Settings that change connection semantics: likely server ports,
//! timeouts, analyzers, local networks and the optional per-connection state.
//!
//! Must not: hold per-connection state.

use super::service::{Service, ServiceSet};
use super::site::LocalNets;

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
