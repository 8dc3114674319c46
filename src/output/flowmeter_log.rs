//! flowmeter.log: one row per conn.log `uid` with the flow statistics of
//! [`crate::stats`], and the optional conn.log extras (`--conn-extras`).
//!
//! The first columns are the zeek-flowmeter package's, with its names, order
//! and Zeek types (record fields flattened with dots, e.g.
//! `fwd_pkts_payload.min`); connscope's own columns follow them. Definitions
//! of every field are in `docs/FEATURES.md`. Times are in seconds.
//!
//! The columns are one [`Row`] visit; [`super::row`] writes them in either
//! format (JSON doubles shortest round-trip, unset fields omitted; TSV
//! doubles and intervals with six decimals, Zeek's `%.6f`, unset as `-`).

use super::row::{self, Columns, Row, Val};
use crate::conn::uid::Uid;
use crate::stats::moments::Summary;
use crate::stats::FlowFeatures;

/// The log's path (`#path` and the file name stem).
pub const PATH: &str = "flowmeter";

#[inline(always)]
fn stats5<C: Columns>(v: &mut C, names: [&'static str; 5], s: &Summary) {
    v.col(names[0], Val::Double(s.min));
    v.col(names[1], Val::Double(s.max));
    v.col(names[2], Val::Double(s.tot));
    v.col(names[3], Val::Double(s.avg));
    v.col(names[4], Val::Double(s.std));
}

macro_rules! five {
    ($p:literal) => {
        [
            concat!($p, ".min"),
            concat!($p, ".max"),
            concat!($p, ".tot"),
            concat!($p, ".avg"),
            concat!($p, ".std"),
        ]
    };
}

fn opt_interval(x: Option<f64>) -> Val<'static> {
    x.map_or(Val::Unset("interval"), Val::Interval)
}

/// Calls `v` with every column after `uid`, in log order. The single source
/// of the column list, so names, types and values cannot drift apart.
/// Generic and inlined, so that each writer is specialised for the columns:
/// every name is a constant at its call, and copying it is a few moves.
#[inline(always)]
pub fn visit<C: Columns>(f: &FlowFeatures, v: &mut C) {
    let (o, r) = (&f.fwd, &f.bwd);
    // zeek-flowmeter's columns.
    v.col("flow_duration", Val::Nanos(f.duration_ns));
    v.col("fwd_pkts_tot", Val::Count(o.pkts));
    v.col("bwd_pkts_tot", Val::Count(r.pkts));
    v.col("fwd_data_pkts_tot", Val::Count(o.data_pkts));
    v.col("bwd_data_pkts_tot", Val::Count(r.data_pkts));
    v.col("fwd_pkts_per_sec", Val::Double(o.pkts_per_sec));
    v.col("bwd_pkts_per_sec", Val::Double(r.pkts_per_sec));
    v.col("flow_pkts_per_sec", Val::Double(f.flow_pkts_per_sec));
    v.col("down_up_ratio", Val::Double(f.down_up_ratio));
    v.col("fwd_header_size_tot", Val::Count(o.hdr_tot));
    v.col("fwd_header_size_min", Val::Count(o.hdr_min));
    v.col("fwd_header_size_max", Val::Count(o.hdr_max));
    v.col("bwd_header_size_tot", Val::Count(r.hdr_tot));
    v.col("bwd_header_size_min", Val::Count(r.hdr_min));
    v.col("bwd_header_size_max", Val::Count(r.hdr_max));
    v.col("flow_FIN_flag_count", Val::Count(f.fin));
    v.col("flow_SYN_flag_count", Val::Count(f.syn));
    v.col("flow_RST_flag_count", Val::Count(f.rst));
    v.col("fwd_PSH_flag_count", Val::Count(o.psh));
    v.col("bwd_PSH_flag_count", Val::Count(r.psh));
    v.col("flow_ACK_flag_count", Val::Count(f.ack));
    v.col("fwd_URG_flag_count", Val::Count(o.urg));
    v.col("bwd_URG_flag_count", Val::Count(r.urg));
    v.col("flow_CWR_flag_count", Val::Count(f.cwr));
    v.col("flow_ECE_flag_count", Val::Count(f.ece));
    stats5(v, five!("fwd_pkts_payload"), &o.payload);
    stats5(v, five!("bwd_pkts_payload"), &r.payload);
    stats5(v, five!("flow_pkts_payload"), &f.flow_payload);
    stats5(v, five!("fwd_iat"), &o.iat);
    stats5(v, five!("bwd_iat"), &r.iat);
    stats5(v, five!("flow_iat"), &f.flow_iat);
    v.col(
        "payload_bytes_per_second",
        Val::Double(f.payload_bytes_per_second),
    );
    v.col("fwd_subflow_pkts", Val::Double(o.subflow_pkts));
    v.col("bwd_subflow_pkts", Val::Double(r.subflow_pkts));
    v.col("fwd_subflow_bytes", Val::Double(o.subflow_bytes));
    v.col("bwd_subflow_bytes", Val::Double(r.subflow_bytes));
    v.col("fwd_bulk_bytes", Val::Double(o.bulk_bytes));
    v.col("bwd_bulk_bytes", Val::Double(r.bulk_bytes));
    v.col("fwd_bulk_packets", Val::Double(o.bulk_packets));
    v.col("bwd_bulk_packets", Val::Double(r.bulk_packets));
    v.col("fwd_bulk_rate", Val::Double(o.bulk_rate));
    v.col("bwd_bulk_rate", Val::Double(r.bulk_rate));
    stats5(v, five!("active"), &f.active);
    stats5(v, five!("idle"), &f.idle);
    v.col("fwd_init_window_size", Val::Count(o.init_win));
    v.col("bwd_init_window_size", Val::Count(r.init_win));
    v.col("fwd_last_window_size", Val::Count(o.last_win));
    v.col("bwd_last_window_size", Val::Count(r.last_win));
    // connscope's additions.
    v.col("fwd_pkt_len.min", Val::Count(o.pkt_len.min as u64));
    v.col("fwd_pkt_len.max", Val::Count(o.pkt_len.max as u64));
    v.col("fwd_pkt_len.avg", Val::Double(o.pkt_len.avg));
    v.col("fwd_pkt_len.std", Val::Double(o.pkt_len.std));
    v.col("bwd_pkt_len.min", Val::Count(r.pkt_len.min as u64));
    v.col("bwd_pkt_len.max", Val::Count(r.pkt_len.max as u64));
    v.col("bwd_pkt_len.avg", Val::Double(r.pkt_len.avg));
    v.col("bwd_pkt_len.std", Val::Double(r.pkt_len.std));
    v.col("tcp_rtt_syn_synack", opt_interval(f.rtt_syn_synack));
    v.col("tcp_rtt_synack_ack", opt_interval(f.rtt_synack_ack));
    v.col("fwd_retrans_pkts", Val::Count(o.retrans));
    v.col("bwd_retrans_pkts", Val::Count(r.retrans));
    v.col("fwd_ttl_min", Val::Count(o.ttl_min));
    v.col("fwd_ttl_max", Val::Count(o.ttl_max));
    v.col("bwd_ttl_min", Val::Count(r.ttl_min));
    v.col("bwd_ttl_max", Val::Count(r.ttl_max));
}

/// A flowmeter.log row: the connection's uid and its flow features.
pub struct FlowRow<'a> {
    /// The conn.log uid.
    pub uid: &'a Uid,
    /// From [`crate::stats::FlowStats::features`] with the connection's
    /// start and last time.
    pub features: &'a FlowFeatures,
}

impl Row for FlowRow<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        v.col("uid", Val::Uid(self.uid));
        visit(self.features, v);
    }
}

/// The `(name, type)` columns of flowmeter.log, `uid` first.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    row::columns(&FlowRow {
        uid: &Uid::from_words(b'C', 0, 0),
        features: &FlowFeatures::default(),
    })
}

/// Calls `v` with the eight `--conn-extras` conn.log columns, in order.
#[inline(always)]
pub fn visit_conn_extras<C: Columns>(f: &FlowFeatures, v: &mut C) {
    v.col("orig_pkt_size_mean", Val::Double(f.fwd.pkt_len.avg));
    v.col("resp_pkt_size_mean", Val::Double(f.bwd.pkt_len.avg));
    v.col("orig_pkt_size_std", Val::Double(f.fwd.pkt_len.std));
    v.col("resp_pkt_size_std", Val::Double(f.bwd.pkt_len.std));
    v.col("orig_data_pkts", Val::Count(f.fwd.data_pkts));
    v.col("resp_data_pkts", Val::Count(f.bwd.data_pkts));
    v.col("iat_mean", Val::Interval(f.flow_iat.avg));
    v.col("iat_std", Val::Interval(f.flow_iat.std));
}

/// The `(name, type)` of the `--conn-extras` columns (appended to conn.log's).
pub fn conn_extras_columns() -> Vec<(&'static str, &'static str)> {
    let mut c = Vec::new();
    visit_conn_extras(&FlowFeatures::default(), &mut |n, v: Val<'_>| {
        c.push((n, v.type_name()))
    });
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{FlowStats, PacketObs, TcpObs};
    use crate::time::{Ts, SEC};

    const FLOWMETER: &str = "uid flow_duration fwd_pkts_tot bwd_pkts_tot fwd_data_pkts_tot bwd_data_pkts_tot fwd_pkts_per_sec bwd_pkts_per_sec flow_pkts_per_sec down_up_ratio fwd_header_size_tot fwd_header_size_min fwd_header_size_max bwd_header_size_tot bwd_header_size_min bwd_header_size_max flow_FIN_flag_count flow_SYN_flag_count flow_RST_flag_count fwd_PSH_flag_count bwd_PSH_flag_count flow_ACK_flag_count fwd_URG_flag_count bwd_URG_flag_count flow_CWR_flag_count flow_ECE_flag_count";

    fn features() -> FlowFeatures {
        let mut s = FlowStats::default();
        let base = 1_700_000_000 * SEC;
        for (i, (orig, flags, len)) in [
            (true, 0x02u8, 0u32),
            (false, 0x12, 0),
            (true, 0x10, 0),
            (true, 0x18, 5),
        ]
        .iter()
        .enumerate()
        {
            s.observe(&PacketObs {
                ts: Ts(base + i as i64 * 250_000_000),
                is_orig: *orig,
                ip_len: 40 + len,
                ip_hdr_len: 20,
                l4_hdr_len: 20,
                payload_len: *len,
                tcp: Some(TcpObs {
                    flags: *flags,
                    window: 1000,
                    seq: 1,
                }),
                ttl: 60,
            });
        }
        s.features(Ts(base), Ts(base + 750_000_000))
    }

    #[test]
    fn column_names_order_and_types() {
        let cols = columns();
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let want: Vec<&str> = FLOWMETER.split(' ').collect();
        assert_eq!(&names[..want.len()], &want[..]);
        let after = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert_eq!(
            names[after("flow_ECE_flag_count") + 1],
            "fwd_pkts_payload.min"
        );
        assert_eq!(names[after("flow_iat.std") + 1], "payload_bytes_per_second");
        assert_eq!(names[after("bwd_bulk_rate") + 1], "active.min");
        assert_eq!(names[after("idle.std") + 1], "fwd_init_window_size");
        assert_eq!(
            names[after("bwd_init_window_size") + 2],
            "bwd_last_window_size"
        );
        assert_eq!(cols.len(), 26 + 30 + 1 + 10 + 10 + 4 + 16);
        let ty = |n: &str| cols[after(n)].1;
        assert_eq!(ty("flow_duration"), "interval");
        assert_eq!(ty("fwd_pkts_payload.min"), "double");
        assert_eq!(ty("fwd_pkts_tot"), "count");
        assert_eq!(ty("fwd_subflow_pkts"), "double");
        assert_eq!(ty("tcp_rtt_syn_synack"), "interval");
        let mut seen = std::collections::HashSet::new();
        assert!(names.iter().all(|n| seen.insert(*n)), "duplicate column");
    }

    #[test]
    fn json_and_tsv_agree_with_columns() {
        let f = features();
        let uid = Uid::from_words(b'C', 1, 2);
        let row = FlowRow {
            uid: &uid,
            features: &f,
        };
        let mut j = Vec::new();
        row::json(&mut j, &row, crate::output::TimeFormat::Epoch);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        let obj = v.as_object().unwrap();
        row::check_formats_agree(&row);
        let cols = columns();
        // The handshake completed, so nothing is unset: every column present, in order.
        let keys: Vec<&String> = obj.keys().collect();
        assert_eq!(keys.len(), cols.len());
        assert_eq!(obj["uid"], uid.as_str());
        assert_eq!(obj["flow_duration"].as_f64(), Some(0.75));
        assert_eq!(obj["fwd_pkts_tot"].as_u64(), Some(3));
        assert_eq!(obj["flow_SYN_flag_count"].as_u64(), Some(2));
        assert_eq!(obj["fwd_pkts_per_sec"].as_f64(), Some(4.0));
        assert_eq!(obj["tcp_rtt_syn_synack"].as_f64(), Some(0.25));
        // Doubles always carry a decimal point, counts never do.
        let text = String::from_utf8(j.clone()).unwrap();
        assert!(text.contains("\"fwd_pkts_per_sec\":4.0,"), "{text}");
        assert!(text.contains("\"fwd_pkts_tot\":3,"), "{text}");
        let mut t = Vec::new();
        row::tsv(&mut t, &row);
        let t = String::from_utf8(t).unwrap();
        let fields: Vec<&str> = t.split('\t').collect();
        assert_eq!(fields.len(), cols.len());
        assert_eq!(fields[0], uid.as_str());
        assert_eq!(fields[1], "0.750000");
        assert_eq!(fields[2], "3");
        assert_eq!(fields[6], "4.000000");
    }

    #[test]
    fn unset_fields() {
        let mut s = FlowStats::default();
        s.observe(&PacketObs {
            ts: Ts(SEC),
            is_orig: true,
            ip_len: 30,
            ip_hdr_len: 20,
            l4_hdr_len: 8,
            payload_len: 2,
            tcp: None,
            ttl: 1,
        });
        let f = s.features(Ts(SEC), Ts(SEC));
        let uid = Uid::from_words(b'C', 1, 2);
        let row = FlowRow {
            uid: &uid,
            features: &f,
        };
        let mut j = Vec::new();
        row::json(&mut j, &row, crate::output::TimeFormat::Epoch);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert!(v.get("tcp_rtt_syn_synack").is_none());
        assert_eq!(v["flow_duration"].as_f64(), Some(0.0));
        assert_eq!(v["fwd_pkts_payload.std"].as_f64(), Some(0.0));
        let mut t = Vec::new();
        row::tsv(&mut t, &row);
        let t = String::from_utf8(t).unwrap();
        let cols = columns();
        let i = cols
            .iter()
            .position(|c| c.0 == "tcp_rtt_syn_synack")
            .unwrap();
        assert_eq!(t.split('\t').nth(i), Some("-"));
        assert_eq!(t.split('\t').nth(1), Some("0.000000"));
    }

    #[test]
    fn conn_extras() {
        let names: Vec<&str> = conn_extras_columns().iter().map(|c| c.0).collect();
        assert_eq!(
            names.join(" "),
            "orig_pkt_size_mean resp_pkt_size_mean orig_pkt_size_std resp_pkt_size_std orig_data_pkts resp_data_pkts iat_mean iat_std"
        );
        let f = features();
        let mut j = b"{\"uid\":\"C\"".to_vec();
        visit_conn_extras(
            &f,
            &mut row::Json::new(&mut j, crate::output::TimeFormat::Epoch, false),
        );
        j.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        // fwd IP lengths 40, 40, 45.
        assert!((v["orig_pkt_size_mean"].as_f64().unwrap() - 125.0 / 3.0).abs() < 1e-12);
        assert_eq!(v["resp_pkt_size_std"].as_f64(), Some(0.0));
        assert_eq!(v["orig_data_pkts"].as_u64(), Some(1));
        assert_eq!(v["iat_mean"].as_f64(), Some(0.25));
        let mut t = Vec::new();
        visit_conn_extras(&f, &mut row::Tsv::new(&mut t, false));
        let t = String::from_utf8(t).unwrap();
        assert_eq!(
            t,
            "\t41.666667\t40.000000\t2.886751\t0.000000\t1\t0\t0.250000\t0.000000"
        );
    }
}
