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

/// A timeout setting that cannot be applied ([`Timeouts::set`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutError {
    /// Not one of Zeek's timeout globals that connscope keeps.
    #[error("unknown timeout {0:?} (one of {names})", names = Timeouts::NAMES.join(", "))]
    UnknownName(String),
    /// Not a Zeek interval (`60 min`, `5 secs`, `1hr`, `300`).
    #[error("{0:?} is not an interval such as 60min, 5 secs or 300")]
    BadInterval(String),
    /// Negative, or not a whole number of seconds.
    #[error("{0:?}: connscope keeps timeouts in whole, non-negative seconds")]
    NotWholeSeconds(String),
}

impl Timeouts {
    /// The Zeek globals [`Timeouts::set`] accepts (`init-bare.zeek`).
    pub const NAMES: [&'static str; 10] = [
        "tcp_inactivity_timeout",
        "udp_inactivity_timeout",
        "icmp_inactivity_timeout",
        "unknown_ip_inactivity_timeout",
        "tcp_attempt_delay",
        "tcp_close_delay",
        "tcp_SYN_timeout",
        "tcp_session_timer",
        "tcp_connection_linger",
        "dns_session_timeout",
    ];

    /// Sets the timeout Zeek calls `name` (as `redef name = value;` does)
    /// to `value`, a Zeek interval: a number with an optional unit `usec`,
    /// `msec`, `sec`, `min`, `hr` or `day` (each also plural), space or
    /// none between; a bare number is seconds. An inactivity timeout of 0
    /// turns that inactivity expiry off, as in Zeek.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), TimeoutError> {
        let field = match name {
            "tcp_inactivity_timeout" => &mut self.tcp_inactivity,
            "udp_inactivity_timeout" => &mut self.udp_inactivity,
            "icmp_inactivity_timeout" => &mut self.icmp_inactivity,
            "unknown_ip_inactivity_timeout" => &mut self.other_inactivity,
            "tcp_attempt_delay" => &mut self.tcp_attempt,
            "tcp_close_delay" => &mut self.tcp_close_delay,
            "tcp_SYN_timeout" => &mut self.tcp_syn_timeout,
            "tcp_session_timer" => &mut self.tcp_session_timer,
            "tcp_connection_linger" => &mut self.tcp_connection_linger,
            "dns_session_timeout" => &mut self.dns_session,
            _ => return Err(TimeoutError::UnknownName(name.to_string())),
        };
        *field = interval_secs(value)?;
        Ok(())
    }
}

/// A Zeek interval literal in whole seconds (see [`Timeouts::set`]).
fn interval_secs(text: &str) -> Result<i64, TimeoutError> {
    let bad = || TimeoutError::BadInterval(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    // Whole seconds are checked in integers (µs), so `0.5 min` is 30 s and
    // `1.5 sec` is refused, without float rounding.
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.contains('.') || frac.len() > 6 {
        return Err(bad());
    }
    let micros_per: i128 = match unit.trim() {
        "" | "sec" | "secs" => 1_000_000,
        "usec" | "usecs" => 1,
        "msec" | "msecs" => 1_000,
        "min" | "mins" => 60_000_000,
        "hr" | "hrs" => 3_600_000_000,
        "day" | "days" => 86_400_000_000,
        _ => return Err(bad()),
    };
    let whole: i128 = int.parse().map_err(|_| bad())?;
    let mut frac_micros: i128 = 0;
    for (i, d) in frac.bytes().enumerate() {
        frac_micros += i128::from(d - b'0') * 10i128.pow(5 - i as u32);
    }
    let micros = (whole * 1_000_000 + frac_micros)
        .checked_mul(micros_per)
        .ok_or_else(bad)?;
    if micros % 1_000_000_000_000 != 0 {
        return Err(TimeoutError::NotWholeSeconds(text.to_string()));
    }
    i64::try_from(micros / 1_000_000_000_000).map_err(|_| bad())
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
    /// Adds the likely server ports of the loaded analyzer packages, as
    /// loading `base/protocols/<pkg>/main.zeek` does in bare mode: each
    /// package's `redef likely_server_ports += { ports };` names the ports
    /// it registers its analyzers for (DHCP adds only 67/udp of its 67, 68
    /// and 4011, which is why the default lists hold the union less 68/udp).
    /// A later `<Pkg>::ports += {...}` redef does not reach the set, so
    /// [`ConnConfig::analyzer_ports`] add nothing here.
    pub fn add_package_server_ports(&mut self) {
        use super::service::{port_analyzers, Transport};
        let loaded = self.analyzers.with_package_members().0;
        for &p in DEFAULT_TCP_SERVER_PORTS {
            if port_analyzers(Transport::Tcp, p) & loaded != 0 {
                self.tcp_server_ports.insert(p);
            }
        }
        for &p in DEFAULT_UDP_SERVER_PORTS {
            if port_analyzers(Transport::Udp, p) & loaded != 0 {
                self.udp_server_ports.insert(p);
            }
        }
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

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[test]
    fn zeek_intervals() {
        for (text, secs) in [
            ("300", 300),
            ("60 min", 3600),
            ("60min", 3600),
            ("1hr", 3600),
            ("2 hrs", 7200),
            ("5 secs", 5),
            ("1 sec", 1),
            ("0.5 min", 30),
            ("1 day", 86_400),
            ("0", 0),
            ("2000 msec", 2),
            ("3000000 usecs", 3),
        ] {
            assert_eq!(interval_secs(text), Ok(secs), "{text}");
        }
        for text in [
            "",
            "min",
            "1.5 sec",
            "1 fortnight",
            "-5",
            "1..2 sec",
            ".5 min",
            "5. sec",
        ] {
            assert!(interval_secs(text).is_err(), "{text}");
        }
        assert_eq!(
            interval_secs("1.5 sec"),
            Err(TimeoutError::NotWholeSeconds("1.5 sec".into()))
        );
    }

    #[test]
    fn names_set_their_fields() {
        let mut t = Timeouts::default();
        t.set("tcp_inactivity_timeout", "60 min").unwrap();
        t.set("udp_inactivity_timeout", "15 secs").unwrap();
        t.set("tcp_SYN_timeout", "1 sec").unwrap();
        assert_eq!(
            (t.tcp_inactivity, t.udp_inactivity, t.tcp_syn_timeout),
            (3600, 15, 1)
        );
        for n in Timeouts::NAMES {
            let mut t = Timeouts::default();
            t.set(n, "7").unwrap();
        }
        assert!(matches!(
            Timeouts::default().set("tcp_inactivity", "1"),
            Err(TimeoutError::UnknownName(_))
        ));
    }
}
