//! stats.log: Zeek's fields where they apply (`policy/misc/stats.zeek`), one
//! row per worker per interval of network time, plus connscope's counters.

use super::{json, TimeFormat};
use crate::time::Secs6;
use std::io::Write;

pub use crate::record::StatsRecord;

/// `(name, type)` columns.
pub const COLUMNS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("peer", "string"),
    ("mem", "count"),
    ("pkts_proc", "count"),
    ("bytes_recv", "count"),
    ("pkts_dropped", "count"),
    ("pkts_link", "count"),
    ("active_tcp_conns", "count"),
    ("active_udp_conns", "count"),
    ("active_icmp_conns", "count"),
    ("tcp_conns", "count"),
    ("udp_conns", "count"),
    ("icmp_conns", "count"),
    ("active_timers", "count"),
    ("reassem_frag_size", "count"),
    ("decode_errors", "count"),
    ("evictions", "count"),
    ("queue_drops", "count"),
    ("frag_evictions", "count"),
    ("conn_state_limits", "count"),
];

fn counts(s: &StatsRecord) -> [(&'static str, Option<u64>); 18] {
    [
        ("mem", s.mem),
        ("pkts_proc", Some(s.pkts_proc)),
        ("bytes_recv", Some(s.bytes_recv)),
        ("pkts_dropped", s.pkts_dropped),
        ("pkts_link", s.pkts_link),
        ("active_tcp_conns", Some(s.active_tcp_conns)),
        ("active_udp_conns", Some(s.active_udp_conns)),
        ("active_icmp_conns", Some(s.active_icmp_conns)),
        ("tcp_conns", Some(s.tcp_conns)),
        ("udp_conns", Some(s.udp_conns)),
        ("icmp_conns", Some(s.icmp_conns)),
        ("active_timers", Some(s.active_timers)),
        ("reassem_frag_size", Some(s.reassem_frag_size)),
        ("decode_errors", Some(s.decode_errors)),
        ("evictions", Some(s.evictions)),
        ("queue_drops", Some(s.queue_drops)),
        ("frag_evictions", Some(s.frag_evictions)),
        ("conn_state_limits", Some(s.conn_state_limits)),
    ]
}

/// JSON form.
pub fn write_json(buf: &mut Vec<u8>, s: &StatsRecord, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", s.ts, tf);
    json::key(buf, &mut first, "peer");
    json::string(buf, s.peer.as_bytes());
    for (k, v) in counts(s) {
        if let Some(v) = v {
            json::key(buf, &mut first, k);
            json::uint(buf, v);
        }
    }
    if let Some(k) = &s.kafka {
        for ((name, _), v) in super::kafka::STATS_COLUMNS.iter().zip(k.values()) {
            json::key(buf, &mut first, name);
            json::uint(buf, v);
        }
    }
    buf.push(b'}');
}

/// TSV form.
pub fn write_tsv(buf: &mut Vec<u8>, s: &StatsRecord) {
    let _ = write!(buf, "{}\t", Secs6(s.ts.0));
    super::tsv::string(buf, s.peer.as_bytes(), false);
    for (_, v) in counts(s) {
        match v {
            Some(v) => {
                let _ = write!(buf, "\t{v}");
            }
            None => buf.extend_from_slice(b"\t-"),
        }
    }
    if let Some(k) = &s.kafka {
        for v in k.values() {
            let _ = write!(buf, "\t{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::kafka::{KafkaCounts, STATS_COLUMNS};
    use crate::time::Ts;

    fn row(kafka: Option<KafkaCounts>) -> StatsRecord {
        StatsRecord {
            ts: Ts(1_500_000_000_000_000_000),
            peer: "worker-0".into(),
            pkts_proc: 7,
            kafka,
            ..StatsRecord::default()
        }
    }

    #[test]
    fn kafka_counts_are_appended_only_when_on() {
        let k = KafkaCounts {
            sent: 5,
            acked: 4,
            dropped: 2,
            failed: 1,
        };
        let mut off = Vec::new();
        write_tsv(&mut off, &row(None));
        let off = String::from_utf8(off).unwrap();
        assert_eq!(off.split('\t').count(), COLUMNS.len());
        assert!(!off.contains("kafka"));
        let mut on = Vec::new();
        write_tsv(&mut on, &row(Some(k)));
        let on = String::from_utf8(on).unwrap();
        assert_eq!(on.split('\t').count(), COLUMNS.len() + STATS_COLUMNS.len());
        assert!(on.starts_with(&off), "{on}");
        assert!(on.ends_with("\t5\t4\t2\t1"), "{on}");

        let mut j = Vec::new();
        write_json(&mut j, &row(Some(k)), TimeFormat::Epoch);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["kafka_sent"], 5);
        assert_eq!(v["kafka_acked"], 4);
        assert_eq!(v["kafka_dropped"], 2);
        assert_eq!(v["kafka_failed"], 1);
        let s = String::from_utf8(j).unwrap();
        assert!(
            s.ends_with(r#""kafka_sent":5,"kafka_acked":4,"kafka_dropped":2,"kafka_failed":1}"#),
            "{s}"
        );
        let mut j = Vec::new();
        write_json(&mut j, &row(None), TimeFormat::Epoch);
        assert!(!String::from_utf8(j).unwrap().contains("kafka"));
    }
}
