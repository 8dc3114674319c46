//! The feature vector a connection-level detector sees: the connection's
//! own values (sizes, packets, state, flow statistics, DNS question) and
//! whether its responder and its host pair are new, log-scaled where they
//! span orders of magnitude. IPs, MACs, uids and absolute times are never
//! features; ports appear only through the [`ServiceClass`].
//!
//! The context features (KDD windows, originator fan-out and series) are
//! deliberately not in this vector: they describe the *host's* traffic,
//! and in a connection vector they spread one busy host's activity onto
//! every benign connection it makes at the same time. Measured on the
//! shared datasets (ROC-AUC of the combined score, same training prefix):
//! hideandseek 0.856 with them, 0.883 without; lab-public 0.989 with them,
//! 0.992 without. Host and window context is judged where it belongs, by
//! the host-level detectors ([`crate::detect::host`]), which receive the
//! context features with every connection.

use crate::conn::service::Service;
use crate::conn::Transport;
use crate::record::ConnSummary;
use std::fmt;

/// Number of features.
pub const N_FEATURES: usize = 30;

/// One connection's features, in [`FEATURE_NAMES`] order.
pub type FeatureVec = [f64; N_FEATURES];

/// The names of the features (score.log's `top_features` uses them).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "log_duration",
    "log_orig_bytes",
    "log_resp_bytes",
    "log_orig_pkts",
    "log_resp_pkts",
    "log_orig_pkt_size",
    "log_resp_pkt_size",
    "log_bytes_ratio",
    "established",
    "syn_error",
    "rejected",
    "reset",
    "no_reply",
    "service_known",
    "proto_tcp",
    "proto_udp",
    "proto_icmp",
    "log_iat_mean",
    "log_iat_std",
    "log_fwd_payload_std",
    "log_bwd_payload_std",
    "log_payload_rate",
    "log_pkt_rate",
    "log_rtt_ms",
    "log_retrans",
    "dns_name_len",
    "dns_entropy",
    "dns_labels",
    "resp_new",
    "pair_new",
];

fn ln1p(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x.ln_1p()
    } else {
        0.0
    }
}

/// Counts below this read [`ln1p`] from a table.
const COUNT_TABLE: usize = 4096;

/// [`ln1p`] of a count: small counts (packets, retransmissions, name
/// lengths, small byte counts) from a table filled by [`ln1p`] itself
/// (the same bits), larger ones computed.
fn ln1p_count(n: u64) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| (0..COUNT_TABLE).map(|i| ln1p(i as f64)).collect());
    match t.get(n as usize) {
        Some(v) if n < COUNT_TABLE as u64 => *v,
        _ => ln1p(n as f64),
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// How familiar a connection's responder is: earlier connections (in this
/// run, before this one) to its responder host from anyone, and from its
/// originator. Counts, never addresses (see [`Familiarity`] in the stage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Earlier connections to the responder host.
    pub resp: u64,
    /// Earlier connections between the same two hosts.
    pub pair: u64,
}

/// Bounded counts of earlier connections per responder host and per host
/// pair (addresses key the counts; only the counts are features). The
/// least recently seen half is dropped when a table is full.
#[derive(Default)]
pub struct Familiarity {
    resp: crate::detect::host::Map<crate::decode::Addr, (u64, crate::time::Ts)>,
    pair: crate::detect::host::Map<
        (crate::decode::Addr, crate::decode::Addr),
        (u64, crate::time::Ts),
    >,
}

/// Most keys per familiarity table.
pub const MAX_FAMILIAR: usize = 1 << 18;

impl Familiarity {
    /// The counts before `c`, then counts `c`.
    pub fn observe(&mut self, c: &ConnSummary) -> Seen {
        use crate::detect::host::evict_oldest;
        let t = c.logged_at;
        // (the lookup only when full: below the cap nothing is evicted)
        if self.resp.len() >= MAX_FAMILIAR && !self.resp.contains_key(&c.resp_h) {
            evict_oldest(&mut self.resp, MAX_FAMILIAR, |v| v.1);
        }
        let key = if c.orig_h <= c.resp_h {
            (c.orig_h, c.resp_h)
        } else {
            (c.resp_h, c.orig_h)
        };
        if self.pair.len() >= MAX_FAMILIAR && !self.pair.contains_key(&key) {
            evict_oldest(&mut self.pair, MAX_FAMILIAR, |v| v.1);
        }
        let r = self.resp.entry(c.resp_h).or_insert((0, t));
        let p = self.pair.entry(key).or_insert((0, t));
        let seen = Seen {
            resp: r.0,
            pair: p.0,
        };
        *r = (r.0 + 1, t);
        *p = (p.0 + 1, t);
        seen
    }

    /// Keys held.
    pub fn entries(&self) -> usize {
        self.resp.len() + self.pair.len()
    }
}

/// Everything [`extract`] reads of a connection and its familiarity,
/// gathered once into a plain copyable value: the features are a function
/// of these alone, so equal inputs give equal features (the stage's score
/// memo keys on them and skips the extraction for a connection it has
/// scored before).
#[derive(Clone, Copy, Debug)]
pub struct Inputs {
    /// The connection's service class.
    pub class: ServiceClass,
    /// Duration, seconds.
    duration: f64,
    /// Orig and resp bytes, packets and IP bytes, then retransmissions.
    counts: [u64; 7],
    /// Flow statistics: IAT mean and std, forward and backward payload
    /// std, payload bytes and packets per second, SYN to SYN-ACK (s).
    rates: [f64; 7],
    /// DNS question name length, label count, entropy (0 without one).
    dns: (u16, u8, f32),
    /// The flag features, one bit each (see [`Inputs::of`]).
    flags: u16,
}

impl Inputs {
    /// The inputs of `c`, whose responder and host pair were `seen` so
    /// often before.
    pub fn of(c: &ConnSummary, seen: Seen) -> Inputs {
        let fl = &c.flow;
        let dns = c.dns.unwrap_or_default();
        let bits = [
            c.conn_state.established(),
            c.conn_state.is_syn_error(),
            c.conn_state.is_rejected(),
            c.history.has(b'R') || c.history.has(b'r'),
            c.resp_pkts == 0,
            c.service.is_some(),
            c.transport == Transport::Tcp,
            c.transport == Transport::Udp,
            c.transport == Transport::Icmp,
            seen.resp == 0,
            seen.pair == 0,
        ];
        Inputs {
            class: ServiceClass::of(c),
            duration: c.duration(),
            counts: [
                c.orig_bytes,
                c.resp_bytes,
                c.orig_pkts,
                c.resp_pkts,
                c.orig_ip_bytes,
                c.resp_ip_bytes,
                fl.fwd.retrans + fl.bwd.retrans,
            ],
            rates: [
                fl.flow_iat.avg,
                fl.flow_iat.std,
                fl.fwd.payload.std,
                fl.bwd.payload.std,
                fl.payload_bytes_per_second,
                fl.flow_pkts_per_sec,
                fl.rtt_syn_synack.unwrap_or(0.0),
            ],
            dns: (dns.name_len, dns.labels, dns.entropy),
            flags: bits
                .iter()
                .enumerate()
                .fold(0, |f, (i, &b)| f | u16::from(b) << i),
        }
    }

    /// Flag `i` (in [`Inputs::of`]'s order) as a feature value.
    fn flag(&self, i: u32) -> f64 {
        flag(self.flags >> i & 1 == 1)
    }

    /// The inputs as words (floats by their bits) besides the class: equal
    /// words and class are equal inputs, bit for bit (the score memo's
    /// key).
    pub fn words(&self) -> [u64; 17] {
        let mut w = [0u64; 17];
        w[0] = self.duration.to_bits();
        w[1..8].copy_from_slice(&self.counts);
        for (d, r) in w[8..15].iter_mut().zip(&self.rates) {
            *d = r.to_bits();
        }
        w[15] = u64::from(self.dns.0)
            | u64::from(self.dns.1) << 16
            | u64::from(self.dns.2.to_bits()) << 32;
        w[16] = u64::from(self.flags);
        w
    }

    /// The connection as the connection-level detectors see it.
    pub fn sample(&self) -> crate::detect::Sample {
        crate::detect::Sample {
            class: self.class,
            x: features(self),
        }
    }
}

/// The features of a connection with its context.
pub fn extract(c: &ConnSummary, seen: Seen) -> FeatureVec {
    features(&Inputs::of(c, seen))
}

/// The features of gathered [`Inputs`].
pub fn features(i: &Inputs) -> FeatureVec {
    let per = |bytes: u64, pkts: u64| {
        if pkts == 0 {
            0.0
        } else {
            ln1p(bytes as f64 / pkts as f64)
        }
    };
    let [ob, rb, op, rp, oip, rip, retrans] = i.counts;
    let [iat_avg, iat_std, fwd_std, bwd_std, payload_rate, pkt_rate, rtt] = i.rates;
    let (orig_bytes, resp_bytes) = (ln1p_count(ob), ln1p_count(rb));
    let x = [
        ln1p(i.duration),
        orig_bytes,
        resp_bytes,
        ln1p_count(op),
        ln1p_count(rp),
        per(oip, op),
        per(rip, rp),
        resp_bytes - orig_bytes,
        i.flag(0),
        i.flag(1),
        i.flag(2),
        i.flag(3),
        i.flag(4),
        i.flag(5),
        i.flag(6),
        i.flag(7),
        i.flag(8),
        ln1p(iat_avg),
        ln1p(iat_std),
        ln1p(fwd_std),
        ln1p(bwd_std),
        ln1p(payload_rate),
        ln1p(pkt_rate),
        ln1p(rtt * 1000.0),
        ln1p_count(retrans),
        ln1p_count(u64::from(i.dns.0)),
        i.dns.2 as f64,
        i.dns.1 as f64,
        i.flag(9),
        i.flag(10),
    ];
    x.map(|v| if v.is_finite() { v } else { 0.0 })
}

/// The class of service a connection belongs to, for per-class baselines:
/// the first confirmed service when there is one, else the transport with
/// the responder port when it is a well-known port (< 1024), else the
/// transport alone ("tcp/high"). ICMP is one class. Ports enter the models
/// only this way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceClass {
    /// A confirmed service (its first one).
    Service(Service),
    /// No confirmed service, a well-known responder port.
    Port(Transport, u16),
    /// No confirmed service, a port at or above 1024.
    High(Transport),
    /// ICMP (any type).
    Icmp,
}

impl ServiceClass {
    /// The class of a connection.
    pub fn of(c: &ConnSummary) -> ServiceClass {
        if let Some(s) = c.service {
            return ServiceClass::Service(s);
        }
        match c.transport {
            Transport::Icmp => ServiceClass::Icmp,
            t if c.resp_p < 1024 => ServiceClass::Port(t, c.resp_p),
            t => ServiceClass::High(t),
        }
    }

    /// Parses the text form written by `Display` (model files).
    pub fn parse(s: &str) -> Option<ServiceClass> {
        if s == "icmp" {
            return Some(ServiceClass::Icmp);
        }
        if let Some((t, rest)) = s.split_once('/') {
            let t = match t {
                "tcp" => Transport::Tcp,
                "udp" => Transport::Udp,
                "other" => Transport::Other,
                _ => return None,
            };
            if rest == "high" {
                return Some(ServiceClass::High(t));
            }
            return rest.parse().ok().map(|p| ServiceClass::Port(t, p));
        }
        Service::from_name(s).map(ServiceClass::Service)
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Icmp => "icmp",
        Transport::Other => "other",
    }
}

/// A [`ServiceClass`]'s name held inline (no allocation per connection).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClassName {
    len: u8,
    buf: [u8; 23],
}

impl ClassName {
    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("?")
    }
}

impl fmt::Write for ClassName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = self.len as usize;
        let end = at + s.len();
        let dst = self.buf.get_mut(at..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl fmt::Debug for ClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl ServiceClass {
    /// Its name, as [`Display`](fmt::Display) writes it, without allocating.
    pub fn name(&self) -> ClassName {
        let mut n = ClassName {
            len: 0,
            buf: [0; 23],
        };
        // the longest name ("other/1023", a service name) fits; written
        // piece by piece (no formatting machinery: once per connection)
        let mut put = |s: &str| {
            let _ = fmt::Write::write_str(&mut n, s);
        };
        match self {
            ServiceClass::Service(s) => put(s.name()),
            ServiceClass::Port(t, p) => {
                put(transport_name(*t));
                put("/");
                let mut d = [0u8; 5];
                let mut i = d.len();
                let mut p = *p;
                loop {
                    i -= 1;
                    d[i] = b'0' + (p % 10) as u8;
                    p /= 10;
                    if p == 0 {
                        break;
                    }
                }
                put(std::str::from_utf8(&d[i..]).unwrap_or("?"));
            }
            ServiceClass::High(t) => {
                put(transport_name(*t));
                put("/high");
            }
            ServiceClass::Icmp => put("icmp"),
        }
        n
    }
}

impl fmt::Display for ServiceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceClass::Service(s) => f.write_str(s.name()),
            ServiceClass::Port(t, p) => write!(f, "{}/{p}", transport_name(*t)),
            ServiceClass::High(t) => write!(f, "{}/high", transport_name(*t)),
            ServiceClass::Icmp => f.write_str("icmp"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extraction as it was written before [`Inputs`] (the oracle).
    fn extract_reference(c: &ConnSummary, seen: Seen) -> FeatureVec {
        let fl = &c.flow;
        let per = |bytes: u64, pkts: u64| {
            if pkts == 0 {
                0.0
            } else {
                ln1p(bytes as f64 / pkts as f64)
            }
        };
        let reset = c.history.has(b'R') || c.history.has(b'r');
        let dns = c.dns.unwrap_or_default();
        let (orig_bytes, resp_bytes) = (ln1p_count(c.orig_bytes), ln1p_count(c.resp_bytes));
        let x = [
            ln1p(c.duration()),
            orig_bytes,
            resp_bytes,
            ln1p_count(c.orig_pkts),
            ln1p_count(c.resp_pkts),
            per(c.orig_ip_bytes, c.orig_pkts),
            per(c.resp_ip_bytes, c.resp_pkts),
            resp_bytes - orig_bytes,
            flag(c.conn_state.established()),
            flag(c.conn_state.is_syn_error()),
            flag(c.conn_state.is_rejected()),
            flag(reset),
            flag(c.resp_pkts == 0),
            flag(c.service.is_some()),
            flag(c.transport == Transport::Tcp),
            flag(c.transport == Transport::Udp),
            flag(c.transport == Transport::Icmp),
            ln1p(fl.flow_iat.avg),
            ln1p(fl.flow_iat.std),
            ln1p(fl.fwd.payload.std),
            ln1p(fl.bwd.payload.std),
            ln1p(fl.payload_bytes_per_second),
            ln1p(fl.flow_pkts_per_sec),
            ln1p(fl.rtt_syn_synack.unwrap_or(0.0) * 1000.0),
            ln1p_count(fl.fwd.retrans + fl.bwd.retrans),
            ln1p_count(u64::from(dns.name_len)),
            dns.entropy as f64,
            dns.labels as f64,
            flag(seen.resp == 0),
            flag(seen.pair == 0),
        ];
        x.map(|v| if v.is_finite() { v } else { 0.0 })
    }

    #[test]
    fn features_of_inputs_are_the_extraction_of_the_connection() {
        use crate::conn::service::DnsQuery;
        use crate::record::{ConnState, HistorySet};
        let states = [
            ConnState::S0,
            ConnState::SF,
            ConnState::REJ,
            ConnState::RSTO,
            ConnState::SH,
            ConnState::OTH,
        ];
        let mut rng = crate::detect::rng::Rng::new(2);
        let mut next = move || rng.next();
        let odd = [
            0.0,
            -0.0,
            1e-300,
            0.5,
            3.0,
            1e300,
            f64::NAN,
            f64::INFINITY,
            -1.0,
        ];
        for k in 0..3000usize {
            let mut c = crate::detect::host::test_conn(
                [10, 0, 0, (k % 7) as u8],
                [10, 0, 1, (k % 5) as u8],
                [22u16, 53, 80, 443, 5000, 40000][k % 6],
                1000.0 + k as f64 * 0.37,
                states[k % states.len()],
                next() % 100_000,
                if k % 3 == 0 { 0 } else { next() % 10_000_000 },
            );
            c.last.0 = c.start.0 + (next() % 10_000_000_000) as i64;
            c.orig_pkts = next() % 50;
            c.resp_pkts = if k % 4 == 0 { 0 } else { next() % 5000 };
            c.orig_ip_bytes = c.orig_bytes + 40 * c.orig_pkts;
            c.resp_ip_bytes = c.resp_bytes + 40 * c.resp_pkts;
            c.transport = [Transport::Tcp, Transport::Udp, Transport::Icmp][k % 3];
            c.service = [None, Some(Service::Http), Some(Service::Dns)][k % 3];
            c.history = HistorySet::of([&b"ShADad"[..], b"ShR", b"Dr", b""][k % 4]);
            let pick = |n: u64| odd[(n % odd.len() as u64) as usize];
            c.flow.flow_iat.avg = (next() % 1000) as f64 / 7.0;
            c.flow.flow_iat.std = pick(next());
            c.flow.fwd.payload.std = (next() % 1500) as f64 / 3.0;
            c.flow.bwd.payload.std = pick(next());
            c.flow.payload_bytes_per_second = (next() % 100_000) as f64 * 1.5;
            c.flow.flow_pkts_per_sec = pick(next());
            c.flow.rtt_syn_synack = (k % 2 == 0).then(|| (next() % 500) as f64 / 1e4);
            c.flow.fwd.retrans = next() % 3;
            c.flow.bwd.retrans = next() % 3;
            c.dns = (k % 5 == 0).then(|| DnsQuery {
                name_len: (next() % 250) as u16,
                labels: (next() % 9) as u8,
                entropy: (next() % 500) as f32 / 100.0,
                ..DnsQuery::default()
            });
            let seen = Seen {
                resp: next() % 3,
                pair: next() % 2,
            };
            let want = extract_reference(&c, seen);
            let got = features(&Inputs::of(&c, seen));
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w.to_bits(), g.to_bits(), "connection {k}");
            }
            // equal inputs, bit for bit, for the same connection
            let key = |i: Inputs| (i.class, i.words());
            assert!(key(Inputs::of(&c, seen)) == key(Inputs::of(&c, seen)));
            let mut d = c;
            d.flow.flow_iat.avg += 1.0;
            assert!(key(Inputs::of(&d, seen)) != key(Inputs::of(&c, seen)));
        }
    }

    #[test]
    fn counts_read_from_the_table_are_ln1p() {
        for n in (0..2 * COUNT_TABLE as u64).chain([1 << 20, u64::MAX]) {
            assert_eq!(ln1p_count(n).to_bits(), ln1p(n as f64).to_bits(), "{n}");
        }
    }

    #[test]
    fn class_text_round_trips() {
        for c in [
            ServiceClass::Service(Service::Http),
            ServiceClass::Service(Service::FtpData),
            ServiceClass::Port(Transport::Tcp, 23),
            ServiceClass::High(Transport::Udp),
            ServiceClass::Icmp,
        ] {
            assert_eq!(ServiceClass::parse(&c.to_string()), Some(c), "{c}");
        }
        assert_eq!(ServiceClass::parse("nonsense"), None);
    }

    #[test]
    fn class_name_is_display() {
        use crate::conn::service::Service;
        let mut classes = vec![
            ServiceClass::Icmp,
            ServiceClass::Service(Service::Http),
            ServiceClass::Service(Service::Quic),
        ];
        for t in [
            Transport::Tcp,
            Transport::Udp,
            Transport::Icmp,
            Transport::Other,
        ] {
            classes.push(ServiceClass::High(t));
            for p in [0, 1, 9, 10, 99, 100, 1023, 9999, 10000, 65535] {
                classes.push(ServiceClass::Port(t, p));
            }
        }
        for c in classes {
            assert_eq!(c.name().as_str(), c.to_string());
            // (ICMP is one class: "icmp/..." never occurs and does not parse)
            if !matches!(
                c,
                ServiceClass::Port(Transport::Icmp, _) | ServiceClass::High(Transport::Icmp)
            ) {
                assert_eq!(ServiceClass::parse(c.name().as_str()), Some(c));
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut n = FEATURE_NAMES.to_vec();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), N_FEATURES);
    }
}
