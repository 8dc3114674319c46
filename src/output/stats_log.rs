//! stats.log: Zeek's fields where they apply (`policy/misc/stats.zeek`), one
//! row per worker per interval of network time, plus connscope's counters.

use super::row::{self, Columns, Row, Val};

pub use crate::record::StatsRecord;

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

impl Row for StatsRecord {
    /// Zeek's columns and connscope's counters; the Kafka producer's
    /// counters after them when the row has them (`--kafka`).
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        v.col("ts", Val::Time(self.ts));
        v.col("peer", Val::Str(self.peer.as_bytes()));
        for (k, n) in counts(self) {
            v.col(k, n.map_or(Val::Unset("count"), Val::Count));
        }
        if let Some(k) = &self.kafka {
            for ((name, _), n) in super::kafka::STATS_COLUMNS.iter().zip(k.values()) {
                v.col(name, Val::Count(n));
            }
        }
    }
}

/// `(name, type)` columns (with the Kafka producer's counters when
/// `kafka`).
pub fn columns(kafka: bool) -> Vec<(&'static str, &'static str)> {
    row::columns(&StatsRecord {
        kafka: kafka.then(Default::default),
        ..StatsRecord::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::kafka::{KafkaCounts, STATS_COLUMNS};
    use crate::output::TimeFormat;
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
        row::check_formats_agree(&row(None));
        row::check_formats_agree(&StatsRecord {
            mem: Some(12),
            ..row(None)
        });
        let k = KafkaCounts {
            sent: 5,
            acked: 4,
            dropped: 2,
            failed: 1,
        };
        row::check_formats_agree(&row(Some(k)));
        let mut off = Vec::new();
        row::tsv(&mut off, &row(None));
        let off = String::from_utf8(off).unwrap();
        assert_eq!(off.split('\t').count(), columns(false).len());
        assert_eq!(columns(false).len(), 20);
        assert_eq!(columns(true).len(), 24);
        assert!(!off.contains("kafka"));
        let mut on = Vec::new();
        row::tsv(&mut on, &row(Some(k)));
        let on = String::from_utf8(on).unwrap();
        assert_eq!(
            on.split('\t').count(),
            columns(false).len() + STATS_COLUMNS.len()
        );
        assert!(on.starts_with(&off), "{on}");
        assert!(on.ends_with("\t5\t4\t2\t1"), "{on}");

        let mut j = Vec::new();
        row::json(&mut j, &row(Some(k)), TimeFormat::Epoch);
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
        row::json(&mut j, &row(None), TimeFormat::Epoch);
        assert!(!String::from_utf8(j).unwrap().contains("kafka"));
    }
}
