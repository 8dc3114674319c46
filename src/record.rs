//! The record a closed connection carries to the stages after the flow
//! table: context, detectors and writers. It owns the finished [`Conn`] plus
//! the values derived once at logging time, so later stages add their own
//! sections without reaching back into the packet path.

use crate::conn::{Conn, ConnConfig};

/// A finished connection on its way to the writers.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    /// The connection as it was when removed.
    pub conn: Conn,
    /// `local_orig` (unset when no local networks are configured).
    pub local_orig: Option<bool>,
    /// `local_resp`.
    pub local_resp: Option<bool>,
    /// `community_id`, when enabled.
    pub community_id: Option<crate::conn::community_id::CommunityId>,
    /// Network time at which the connection was removed and logged (the
    /// engine's clock, so the same for any number of workers).
    pub logged_at: crate::time::Ts,
    /// GeoIP/ASN data of the non-local endpoints, filled by the writer
    /// (`--geoip-db`, `--asn-db`); empty until then.
    pub geo: crate::geoip::ConnGeo,
}

impl ConnRecord {
    /// Builds the record of a removed connection (`logged_at` = its last
    /// packet time; the engine sets the removal time).
    pub fn new(conn: Conn, cfg: &ConnConfig) -> ConnRecord {
        let (lo, lr) = if cfg.local_nets.is_empty() {
            (None, None)
        } else {
            (
                Some(cfg.local_nets.contains(&conn.orig_h)),
                Some(cfg.local_nets.contains(&conn.resp_h)),
            )
        };
        let community_id = cfg.community_id_seed.map(|seed| {
            crate::conn::community_id::community_id(
                seed,
                (conn.orig_h, conn.orig_p),
                (conn.resp_h, conn.resp_p),
                conn.ip_proto,
                conn.icmp_one_way,
            )
        });
        let logged_at = conn.last;
        ConnRecord {
            conn,
            local_orig: lo,
            local_resp: lr,
            community_id,
            logged_at,
            geo: crate::geoip::ConnGeo::default(),
        }
    }
}

/// conn.log's `conn_state` as a value (Zeek's `conn/main.zeek` names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    #[default]
    OTH,
}

impl ConnState {
    /// Every state, in declaration order.
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];

    /// The name conn.log writes.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    /// Parses a conn.log name (anything else is `OTH`).
    pub fn from_name(s: &str) -> ConnState {
        ConnState::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .unwrap_or(ConnState::OTH)
    }

    /// The originator tried and the responder never answered (S0, RSTOS0,
    /// SH: KDD's SYN error).
    pub fn is_syn_error(self) -> bool {
        matches!(self, ConnState::S0 | ConnState::RSTOS0 | ConnState::SH)
    }

    /// The responder refused (REJ).
    pub fn is_rejected(self) -> bool {
        self == ConnState::REJ
    }

    /// The TCP handshake completed (both sides established at some point).
    pub fn established(self) -> bool {
        matches!(
            self,
            ConnState::S1
                | ConnState::SF
                | ConnState::S2
                | ConnState::S3
                | ConnState::RSTO
                | ConnState::RSTR
        )
    }
}

/// The letters of a `history` string as a set: bit `c - b'A'` for the
/// originator's upper-case letters, bit `26 + c - b'a'` for the responder's
/// lower-case ones, bit 52 for the flip mark `^`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistorySet(pub u64);

impl HistorySet {
    /// The set of a history string.
    pub fn of(h: &[u8]) -> HistorySet {
        let mut m = 0u64;
        for &c in h {
            m |= match c {
                b'A'..=b'Z' => 1 << (c - b'A'),
                b'a'..=b'z' => 1 << (26 + c - b'a'),
                b'^' => 1 << 52,
                _ => 0,
            };
        }
        HistorySet(m)
    }

    /// Whether letter `c` (or `^`) occurs.
    pub fn has(self, c: u8) -> bool {
        self.0 & HistorySet::of(&[c]).0 != 0
    }
}

/// A plain, copyable summary of a finished (or interim) connection,
/// computed once when it is logged: what the stages after the writers'
/// conn.log (context, detectors) know of a connection. It never points
/// back into connection state.
#[derive(Clone, Copy, Debug)]
pub struct ConnSummary {
    /// `uid`.
    pub uid: crate::conn::uid::Uid,
    /// `ts` (first packet).
    pub start: crate::time::Ts,
    /// Last packet time.
    pub last: crate::time::Ts,
    /// Network time at which it was logged.
    pub logged_at: crate::time::Ts,
    /// `id.orig_h`.
    pub orig_h: crate::decode::Addr,
    /// `id.orig_p`.
    pub orig_p: u16,
    /// `id.resp_h`.
    pub resp_h: crate::decode::Addr,
    /// `id.resp_p`.
    pub resp_p: u16,
    /// `proto`.
    pub transport: crate::conn::Transport,
    /// IP protocol number.
    pub ip_proto: u8,
    /// `conn_state`.
    pub conn_state: ConnState,
    /// `history` letters.
    pub history: HistorySet,
    /// `orig_bytes`.
    pub orig_bytes: u64,
    /// `resp_bytes`.
    pub resp_bytes: u64,
    /// `orig_pkts`.
    pub orig_pkts: u64,
    /// `resp_pkts`.
    pub resp_pkts: u64,
    /// `orig_ip_bytes`.
    pub orig_ip_bytes: u64,
    /// `resp_ip_bytes`.
    pub resp_ip_bytes: u64,
    /// `missed_bytes`.
    pub missed_bytes: u64,
    /// Confirmed services (as a set).
    pub services: crate::conn::service::ServiceSet,
    /// The first confirmed service (conn.log's first `service` entry).
    pub service: Option<crate::conn::service::Service>,
    /// `local_orig`.
    pub local_orig: Option<bool>,
    /// `local_resp`.
    pub local_resp: Option<bool>,
    /// Flow statistics (all zero when statistics are off).
    pub flow: crate::stats::FlowFeatures,
    /// The first DNS question the originator asked, if it spoke DNS.
    pub dns: Option<crate::conn::service::DnsQuery>,
    /// An interim record of a connection still open (conn_long.log).
    pub interim: bool,
}

impl ConnSummary {
    /// The summary of a record.
    pub fn of(r: &ConnRecord) -> ConnSummary {
        let c = &r.conn;
        let (orig_bytes, resp_bytes) = c.sizes();
        let mut services = crate::conn::service::ServiceSet::none();
        let mut service = None;
        c.service.for_each(|s| {
            services.insert(s);
            service.get_or_insert(s);
        });
        ConnSummary {
            uid: c.uid,
            start: c.start,
            last: c.last,
            logged_at: r.logged_at,
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
            transport: c.transport,
            ip_proto: c.ip_proto,
            conn_state: ConnState::from_name(c.conn_state()),
            history: HistorySet::of(c.history.as_bytes()),
            orig_bytes,
            resp_bytes,
            orig_pkts: c.orig_pkts,
            resp_pkts: c.resp_pkts,
            orig_ip_bytes: c.orig_ip_bytes,
            resp_ip_bytes: c.resp_ip_bytes,
            missed_bytes: c.missed_bytes,
            services,
            service,
            local_orig: r.local_orig,
            local_resp: r.local_resp,
            flow: c.flow_features(),
            dns: c.service.dns_query(),
            interim: false,
        }
    }

    /// Duration in seconds (`last − start`).
    pub fn duration(&self) -> f64 {
        (self.last.0 - self.start.0) as f64 / crate::time::SEC as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_state_names_round_trip() {
        for s in ConnState::ALL {
            assert_eq!(ConnState::from_name(s.name()), s);
        }
        assert_eq!(ConnState::from_name("bogus"), ConnState::OTH);
        assert!(ConnState::S0.is_syn_error() && ConnState::REJ.is_rejected());
        assert!(ConnState::SF.established() && !ConnState::S0.established());
    }

    #[test]
    fn history_letters() {
        let h = HistorySet::of(b"^ShADadFf");
        for c in *b"^ShADadFf" {
            assert!(h.has(c), "{}", c as char);
        }
        assert!(!h.has(b'R') && !h.has(b'r'));
    }
}

/// The notice types connscope raises (Zeek's `Notice::Type`, in the
/// `ConnScope` module).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeType {
    /// Fan-out over many peers or ports from one originator.
    Scan,
    /// Many half-open or rejected connections towards one responder.
    Flood,
    /// Many short, similar connections from one host to one service.
    BruteForce,
    /// Regular connections between a pair to a rare destination.
    Beacon,
    /// DNS queries whose names carry data.
    DnsTunnel,
    /// Many long, nearly idle HTTP connections from one client to one server.
    SlowHttp,
    /// A host's connections, peers or bytes outside its learned band.
    HostVolume,
    /// Several internal hosts contacting the same rare external destination.
    Coordinated,
}

impl NoticeType {
    /// Every type.
    pub const ALL: [NoticeType; 8] = [
        NoticeType::Scan,
        NoticeType::Flood,
        NoticeType::BruteForce,
        NoticeType::Beacon,
        NoticeType::DnsTunnel,
        NoticeType::SlowHttp,
        NoticeType::HostVolume,
        NoticeType::Coordinated,
    ];

    /// The name notice.log writes (`ConnScope::Scan`, ...).
    pub fn name(self) -> &'static str {
        match self {
            NoticeType::Scan => "ConnScope::Scan",
            NoticeType::Flood => "ConnScope::Flood",
            NoticeType::BruteForce => "ConnScope::Brute_Force",
            NoticeType::Beacon => "ConnScope::Beacon",
            NoticeType::DnsTunnel => "ConnScope::DNS_Tunnel",
            NoticeType::SlowHttp => "ConnScope::Slow_HTTP",
            NoticeType::HostVolume => "ConnScope::Host_Volume",
            NoticeType::Coordinated => "ConnScope::Coordinated",
        }
    }

    /// Parses a notice.log name.
    pub fn from_name(s: &str) -> Option<NoticeType> {
        NoticeType::ALL.iter().copied().find(|n| n.name() == s)
    }
}

/// One notice.log row (Zeek's `Notice::Info`).
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeRecord {
    /// When the evidence was complete (network time).
    pub ts: crate::time::Ts,
    /// The connection that triggered it, if one did.
    pub uid: Option<crate::conn::uid::Uid>,
    /// That connection's 4-tuple.
    pub id: Option<(crate::decode::Addr, u16, crate::decode::Addr, u16)>,
    /// That connection's transport.
    pub proto: Option<crate::conn::Transport>,
    /// The type.
    pub note: NoticeType,
    /// What happened, in plain words.
    pub msg: String,
    /// Supporting detail (scores and their components).
    pub sub: String,
    /// The acting host.
    pub src: Option<crate::decode::Addr>,
    /// The host acted upon.
    pub dst: Option<crate::decode::Addr>,
    /// The port acted upon, with its transport.
    pub p: Option<(u16, crate::conn::Transport)>,
    /// A count (connections, queries, ...).
    pub n: Option<u64>,
    /// Suppression interval, seconds: no notice of the same type and
    /// identifier is raised again within it.
    pub suppress_for: f64,
    /// The suppression identifier (Zeek's `identifier`): type + this.
    pub identifier: String,
    /// Zeek's `remote_location` (filled by the writer with `--geoip-db`).
    pub remote_location: Option<crate::geoip::Location>,
}

/// A feature that drove a score, with its value and the baseline it was
/// compared against (score.log's `top_*` columns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contribution {
    /// Index into `detect::features::FEATURE_NAMES`.
    pub feature: usize,
    /// The connection's value.
    pub value: f64,
    /// The baseline (median of the benign training values of its class).
    pub baseline: f64,
    /// Robust z-score (signed).
    pub z: f64,
}

/// At most three [`Contribution`]s, held inline (a slice by deref).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TopFeatures {
    n: usize,
    items: [Option<Contribution>; 3],
}

impl TopFeatures {
    /// Appends `c` (ignored when three are held).
    pub fn push(&mut self, c: Contribution) {
        if let Some(slot) = self.items.get_mut(self.n) {
            *slot = Some(c);
            self.n += 1;
        }
    }

    /// The contributions, in order.
    pub fn to_vec(&self) -> Vec<Contribution> {
        self.iter().copied().collect()
    }

    /// Iterates over the contributions.
    pub fn iter(&self) -> impl Iterator<Item = &Contribution> + '_ {
        self.items.iter().flatten()
    }

    /// Number held.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

impl FromIterator<Contribution> for TopFeatures {
    fn from_iter<I: IntoIterator<Item = Contribution>>(it: I) -> Self {
        let mut t = TopFeatures::default();
        for c in it {
            t.push(c);
        }
        t
    }
}

/// One score.log row: every connection-level detector's score.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRecord {
    /// conn.log `ts` of the connection.
    pub ts: crate::time::Ts,
    /// conn.log `uid`.
    pub uid: crate::conn::uid::Uid,
    /// 4-tuple.
    pub id: (crate::decode::Addr, u16, crate::decode::Addr, u16),
    /// Transport.
    pub proto: crate::conn::Transport,
    /// Service class.
    pub service_class: crate::detect::features::ClassName,
    /// Each detector's raw score, by name, in a fixed order.
    pub scores: [(&'static str, f64); 4],
    /// The combined score (higher = more anomalous).
    pub score: f64,
    /// `score` is above the calibrated threshold.
    pub anomalous: bool,
    /// The top contributing features (at most three).
    pub top: TopFeatures,
    /// An identity of everything after `proto` (class, scores, anomalous,
    /// top features): rows with the same identity have the same values
    /// there (the detect stage's memo fill they were scored from), so a
    /// writer may reuse their text; `None` when unknown.
    pub tail_id: Option<u64>,
}

// The periodic and per-event records of the engine (stats.log,
// weird.log, capture_loss.log rows): plain values, formatted by `output`.

/// One stats row.
#[derive(Clone, Debug, Default)]
pub struct StatsRecord {
    /// End of the interval (network time).
    pub ts: crate::time::Ts,
    /// Which worker or capture thread wrote it (`worker-0`, `capture`).
    pub peer: String,
    /// Resident memory of the process in MiB (live capture; unset offline,
    /// so replays stay byte-identical).
    pub mem: Option<u64>,
    /// Packets processed in the interval.
    pub pkts_proc: u64,
    /// Bytes received in the interval (wire length).
    pub bytes_recv: u64,
    /// Packets dropped by the kernel/capture buffer in the interval (capture rows).
    pub pkts_dropped: Option<u64>,
    /// Packets seen on the link in the interval (capture rows).
    pub pkts_link: Option<u64>,
    /// Open TCP connections.
    pub active_tcp_conns: u64,
    /// Open UDP connections.
    pub active_udp_conns: u64,
    /// Open ICMP connections.
    pub active_icmp_conns: u64,
    /// TCP connections created in the interval.
    pub tcp_conns: u64,
    /// UDP connections created in the interval.
    pub udp_conns: u64,
    /// ICMP connections created in the interval.
    pub icmp_conns: u64,
    /// Timer entries pending.
    pub active_timers: u64,
    /// Bytes buffered in fragment reassembly.
    pub reassem_frag_size: u64,
    /// Packets dropped by decode errors in the interval.
    pub decode_errors: u64,
    /// Connections logged early because the table was full, in the interval.
    pub evictions: u64,
    /// Packets the capture thread could not hand to this worker (queue full), in the interval.
    pub queue_drops: u64,
    /// Datagrams under reassembly dropped to make room (the pool was full)
    /// or because they came in too many pieces.
    pub frag_evictions: u64,
    /// Connections that hit a per-connection bound (out-of-order ranges,
    /// history length).
    pub conn_state_limits: u64,
    /// The Kafka output's counters since the previous stats.log row
    /// (`--kafka`; its columns, `output::kafka::STATS_COLUMNS`, are
    /// appended only then).
    pub kafka: Option<KafkaCounts>,
}

/// Delivery counters of the Kafka output, over an interval (in stats.log:
/// since the previous stats.log row, so a column sums to the run's total)
/// or over a whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KafkaCounts {
    /// Records handed to the producer's queue.
    pub sent: u64,
    /// Records the broker acknowledged (delivery report without error).
    pub acked: u64,
    /// Records not queued: the queue was full (or the producer refused the
    /// record, e.g. larger than `message.max.bytes`).
    pub dropped: u64,
    /// Queued records whose delivery failed (`message.timeout.ms` passed,
    /// a broker error), or that were still unacknowledged when the flush at
    /// the end timed out.
    pub failed: u64,
}

/// One weird.
#[derive(Clone, Debug, Default)]
pub struct WeirdRecord {
    /// Time.
    pub ts: crate::time::Ts,
    /// Connection uid, if the weird belongs to one.
    pub uid: Option<String>,
    /// Connection 4-tuple, if any.
    pub id: Option<(crate::decode::Addr, u16, crate::decode::Addr, u16)>,
    /// Weird name.
    pub name: &'static str,
    /// Additional information.
    pub addl: Option<String>,
    /// The name of the Zeek analyzer that raises this weird (weird.log's
    /// `source`), when Zeek's call passes one (`Weird::source`,
    /// `ConnWeird::source`).
    pub source: Option<&'static str>,
}

/// One capture-loss row.
#[derive(Clone, Debug, Default)]
pub struct CaptureLossRecord {
    /// End of the interval (network time).
    pub ts: crate::time::Ts,
    /// Length of the interval, nanoseconds.
    pub ts_delta: i64,
    /// Worker name.
    pub peer: String,
    /// Acks that revealed missing data, in the interval.
    pub gaps: u64,
    /// Acks of established connections, in the interval.
    pub acks: u64,
    /// `100 * gaps / acks` (0 without acks).
    pub percent_lost: f64,
}

/// Zeek's percentage: `100 * gaps / acks`, 0 when there were no acks.
pub fn capture_loss_percent(gaps: u64, acks: u64) -> f64 {
    if acks == 0 {
        0.0
    } else {
        100.0 * gaps as f64 / acks as f64
    }
}
