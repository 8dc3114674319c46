//! context.log: one row per conn.log `uid` with the context features of
//! [`crate::context`] (definitions in `docs/CONTEXT.md`).
//!
//! Rows are written in the context order (by `logged_at`, then conn.log `ts`,
//! then uid), not in conn.log's order, so the file is identical whatever the
//! number of workers. The columns are one [`Row`] visit, written by
//! [`super::row`] in either format.

use super::row::{self, Columns, Row, Val};
use crate::context::{ConnInfo, Features};
use crate::time::Ts;

/// The log's path (`#path` and the file name stem).
pub const PATH: &str = "context";

/// Calls `v` with every column after `uid`, in log order: the single source
/// of the column list.
pub fn visit<C: Columns>(c: &ConnInfo, f: &Features, v: &mut C) {
    v.col("logged_at", Val::Time(c.logged_at));
    // KDD'99 time-based traffic features (time window).
    v.col("count", Val::Count(f.count));
    v.col("srv_count", Val::Count(f.srv_count));
    v.col("serror_rate", Val::Double(f.serror_rate));
    v.col("srv_serror_rate", Val::Double(f.srv_serror_rate));
    v.col("rerror_rate", Val::Double(f.rerror_rate));
    v.col("srv_rerror_rate", Val::Double(f.srv_rerror_rate));
    v.col("same_srv_rate", Val::Double(f.same_srv_rate));
    v.col("diff_srv_rate", Val::Double(f.diff_srv_rate));
    v.col("srv_diff_host_rate", Val::Double(f.srv_diff_host_rate));
    // KDD'99 host-based traffic features (count window).
    v.col("dst_host_count", Val::Count(f.dst_host_count));
    v.col("dst_host_srv_count", Val::Count(f.dst_host_srv_count));
    v.col(
        "dst_host_same_srv_rate",
        Val::Double(f.dst_host_same_srv_rate),
    );
    v.col(
        "dst_host_diff_srv_rate",
        Val::Double(f.dst_host_diff_srv_rate),
    );
    v.col(
        "dst_host_same_src_port_rate",
        Val::Double(f.dst_host_same_src_port_rate),
    );
    v.col(
        "dst_host_srv_diff_host_rate",
        Val::Double(f.dst_host_srv_diff_host_rate),
    );
    v.col("dst_host_serror_rate", Val::Double(f.dst_host_serror_rate));
    v.col(
        "dst_host_srv_serror_rate",
        Val::Double(f.dst_host_srv_serror_rate),
    );
    v.col("dst_host_rerror_rate", Val::Double(f.dst_host_rerror_rate));
    v.col(
        "dst_host_srv_rerror_rate",
        Val::Double(f.dst_host_srv_rerror_rate),
    );
    // Originator fan-out.
    v.col("src_count", Val::Count(f.src_count));
    v.col(
        "src_distinct_dst_hosts",
        Val::Count(f.src_distinct_dst_hosts),
    );
    v.col(
        "src_distinct_dst_ports",
        Val::Count(f.src_distinct_dst_ports),
    );
    v.col("src_host_count", Val::Count(f.src_host_count));
    v.col(
        "src_host_distinct_dst_hosts",
        Val::Count(f.src_host_distinct_dst_hosts),
    );
    v.col(
        "src_host_distinct_dst_ports",
        Val::Count(f.src_host_distinct_dst_ports),
    );
    // Per-originator series.
    v.col("interval", Val::Time(f.interval));
    v.col("src_interval_conns", Val::Count(f.series.conns));
    v.col("src_interval_bytes", Val::Count(f.series.bytes));
    v.col("src_prev_interval_conns", Val::Count(f.series.prev_conns));
    v.col("src_prev_interval_bytes", Val::Count(f.series.prev_bytes));
}

fn dummy() -> ConnInfo {
    use crate::conn::uid::Uid;
    use crate::decode::Addr;
    ConnInfo {
        logged_at: Ts(0),
        start: Ts(0),
        uid: Uid::from_words(b'C', 0, 0),
        orig_h: Addr::default(),
        orig_p: 0,
        resp_h: Addr::default(),
        resp_p: 0,
        transport: crate::conn::Transport::Tcp,
        serror: false,
        rerror: false,
        bytes: 0,
    }
}

/// A context.log row: the connection's uid and its context features.
pub struct ContextRow<'a> {
    /// The connection.
    pub info: &'a ConnInfo,
    /// Its features.
    pub features: &'a Features,
}

impl Row for ContextRow<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        v.col("uid", Val::Uid(&self.info.uid));
        visit(self.info, self.features, v);
    }
}

/// The `(name, type)` columns of context.log, `uid` first.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    row::columns(&ContextRow {
        info: &dummy(),
        features: &Features::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::SeriesValue;
    use crate::output::TimeFormat;
    use crate::time::SEC;

    fn sample() -> (ConnInfo, Features) {
        let mut c = dummy();
        c.logged_at = Ts(1_300_475_167 * SEC + 96_535_000);
        let f = Features {
            count: 3,
            srv_count: 2,
            serror_rate: 1.0 / 3.0,
            same_srv_rate: 0.5,
            interval: Ts(1_300_475_160 * SEC),
            series: SeriesValue {
                conns: 4,
                bytes: 1200,
                prev_conns: 1,
                prev_bytes: 60,
            },
            ..Features::default()
        };
        (c, f)
    }

    #[test]
    fn columns_are_unique_and_typed() {
        let cols = columns();
        assert_eq!(cols.len(), 1 + 1 + 19 + 6 + 5);
        assert_eq!(cols[0], ("uid", "string"));
        assert_eq!(cols[1], ("logged_at", "time"));
        assert_eq!(cols[2], ("count", "count"));
        assert_eq!(cols[4], ("serror_rate", "double"));
        assert_eq!(cols[20], ("dst_host_srv_rerror_rate", "double"));
        let mut seen = std::collections::HashSet::new();
        assert!(cols.iter().all(|c| seen.insert(c.0)));
    }

    #[test]
    fn json_and_tsv() {
        let (c, f) = sample();
        let row = ContextRow {
            info: &c,
            features: &f,
        };
        row::check_formats_agree(&row);
        let mut j = Vec::new();
        row::json(&mut j, &row, TimeFormat::Epoch);
        let text = String::from_utf8(j.clone()).unwrap();
        assert!(text.contains("\"logged_at\":1300475167.096535,"), "{text}");
        assert!(text.contains("\"count\":3,"), "{text}");
        assert!(text.contains("\"same_srv_rate\":0.5,"), "{text}");
        assert!(text.contains("\"rerror_rate\":0.0,"), "{text}");
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v.as_object().unwrap().len(), columns().len());
        assert_eq!(v["serror_rate"].as_f64(), Some(1.0 / 3.0));
        assert_eq!(v["src_interval_bytes"].as_u64(), Some(1200));
        let mut t = Vec::new();
        row::tsv(&mut t, &row);
        let t = String::from_utf8(t).unwrap();
        let fields: Vec<&str> = t.split('\t').collect();
        assert_eq!(fields.len(), columns().len());
        assert_eq!(fields[1], "1300475167.096535");
        assert_eq!(fields[2], "3");
        assert_eq!(fields[4], "0.333333");
        assert_eq!(fields[27], "1300475160.000000");
        let mut i = Vec::new();
        row::json(&mut i, &row, TimeFormat::Iso8601);
        let i = String::from_utf8(i).unwrap();
        assert!(
            i.contains("\"logged_at\":\"2011-03-18T19:06:07.096535Z\""),
            "{i}"
        );
    }
}
