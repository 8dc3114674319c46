//! The feature vector a connection-level detector sees: the connection's
//! own values (sizes, packets, state, flow statistics, DNS question) and
//! its context features, log-scaled where they span orders of magnitude.
//! IPs, MACs, uids and absolute times are never features; ports appear only
//! through the [`ServiceClass`].

use crate::conn::service::Service;
use crate::conn::Transport;
use crate::context::Features;
use crate::record::ConnSummary;
use std::fmt;

/// Number of features.
pub const N_FEATURES: usize = 47;

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
    "log_count",
    "log_srv_count",
    "serror_rate",
    "rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "log_dst_host_count",
    "log_dst_host_srv_count",
    "dst_host_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_same_src_port_rate",
    "log_src_count",
    "log_src_distinct_dst_hosts",
    "log_src_distinct_dst_ports",
    "log_src_host_distinct_dst_hosts",
    "log_src_host_distinct_dst_ports",
    "log_src_interval_conns",
    "log_src_interval_bytes",
    "dns_name_len",
    "dns_entropy",
    "dns_labels",
];

fn ln1p(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x.ln_1p()
    } else {
        0.0
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The features of a connection with its context.
pub fn extract(c: &ConnSummary, f: &Features) -> FeatureVec {
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
    let x = [
        ln1p(c.duration()),
        ln1p(c.orig_bytes as f64),
        ln1p(c.resp_bytes as f64),
        ln1p(c.orig_pkts as f64),
        ln1p(c.resp_pkts as f64),
        per(c.orig_ip_bytes, c.orig_pkts),
        per(c.resp_ip_bytes, c.resp_pkts),
        ln1p(c.resp_bytes as f64) - ln1p(c.orig_bytes as f64),
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
        ln1p((fl.fwd.retrans + fl.bwd.retrans) as f64),
        ln1p(f.count as f64),
        ln1p(f.srv_count as f64),
        f.serror_rate,
        f.rerror_rate,
        f.same_srv_rate,
        f.diff_srv_rate,
        f.srv_diff_host_rate,
        ln1p(f.dst_host_count as f64),
        ln1p(f.dst_host_srv_count as f64),
        f.dst_host_serror_rate,
        f.dst_host_rerror_rate,
        f.dst_host_same_src_port_rate,
        ln1p(f.src_count as f64),
        ln1p(f.src_distinct_dst_hosts as f64),
        ln1p(f.src_distinct_dst_ports as f64),
        ln1p(f.src_host_distinct_dst_hosts as f64),
        ln1p(f.src_host_distinct_dst_ports as f64),
        ln1p(f.series.conns as f64),
        ln1p(f.series.bytes as f64),
        ln1p(dns.name_len as f64),
        dns.entropy as f64,
        dns.labels as f64,
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
    fn names_are_unique() {
        let mut n = FEATURE_NAMES.to_vec();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), N_FEATURES);
    }
}
