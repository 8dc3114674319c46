//! context.log: one row per conn.log `uid` with the context features of
//! [`crate::context`] (definitions in `docs/CONTEXT.md`).
//!
//! Rows are written in the context order (by `logged_at`, then conn.log `ts`,
//! then uid), not in conn.log's order, so the file is identical whatever the
//! number of workers. Formatting follows [`super::conn_log`]: JSON times as
//! epoch seconds (or ISO 8601), doubles via [`json::double`]; TSV times and
//! doubles with six decimals (Zeek's `%.6f`), counts as integers.

use super::{json, TimeFormat};
use crate::context::{ConnInfo, Features};
use crate::time::{Secs6, Ts};
use std::io::Write;

/// The log's path (`#path` and the file name stem).
pub const PATH: &str = "context";

/// One field value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// A Zeek `time`.
    Time(Ts),
    /// A Zeek `count`.
    Count(u64),
    /// A Zeek `double`.
    Double(f64),
}

impl Val {
    fn type_name(self) -> &'static str {
        match self {
            Val::Time(_) => "time",
            Val::Count(_) => "count",
            Val::Double(_) => "double",
        }
    }
}

/// Calls `v` with every column after `uid`, in log order: the single source
/// of the column list.
pub fn visit(c: &ConnInfo, f: &Features, v: &mut dyn FnMut(&'static str, Val)) {
    v("logged_at", Val::Time(c.logged_at));
    // KDD'99 time-based traffic features (time window).
    v("count", Val::Count(f.count));
    v("srv_count", Val::Count(f.srv_count));
    v("serror_rate", Val::Double(f.serror_rate));
    v("srv_serror_rate", Val::Double(f.srv_serror_rate));
    v("rerror_rate", Val::Double(f.rerror_rate));
    v("srv_rerror_rate", Val::Double(f.srv_rerror_rate));
    v("same_srv_rate", Val::Double(f.same_srv_rate));
    v("diff_srv_rate", Val::Double(f.diff_srv_rate));
    v("srv_diff_host_rate", Val::Double(f.srv_diff_host_rate));
    // KDD'99 host-based traffic features (count window).
    v("dst_host_count", Val::Count(f.dst_host_count));
    v("dst_host_srv_count", Val::Count(f.dst_host_srv_count));
    v(
        "dst_host_same_srv_rate",
        Val::Double(f.dst_host_same_srv_rate),
    );
    v(
        "dst_host_diff_srv_rate",
        Val::Double(f.dst_host_diff_srv_rate),
    );
    v(
        "dst_host_same_src_port_rate",
        Val::Double(f.dst_host_same_src_port_rate),
    );
    v(
        "dst_host_srv_diff_host_rate",
        Val::Double(f.dst_host_srv_diff_host_rate),
    );
    v("dst_host_serror_rate", Val::Double(f.dst_host_serror_rate));
    v(
        "dst_host_srv_serror_rate",
        Val::Double(f.dst_host_srv_serror_rate),
    );
    v("dst_host_rerror_rate", Val::Double(f.dst_host_rerror_rate));
    v(
        "dst_host_srv_rerror_rate",
        Val::Double(f.dst_host_srv_rerror_rate),
    );
    // Originator fan-out.
    v("src_count", Val::Count(f.src_count));
    v(
        "src_distinct_dst_hosts",
        Val::Count(f.src_distinct_dst_hosts),
    );
    v(
        "src_distinct_dst_ports",
        Val::Count(f.src_distinct_dst_ports),
    );
    v("src_host_count", Val::Count(f.src_host_count));
    v(
        "src_host_distinct_dst_hosts",
        Val::Count(f.src_host_distinct_dst_hosts),
    );
    v(
        "src_host_distinct_dst_ports",
        Val::Count(f.src_host_distinct_dst_ports),
    );
    // Per-originator series.
    v("interval", Val::Time(f.interval));
    v("src_interval_conns", Val::Count(f.series.conns));
    v("src_interval_bytes", Val::Count(f.series.bytes));
    v("src_prev_interval_conns", Val::Count(f.series.prev_conns));
    v("src_prev_interval_bytes", Val::Count(f.series.prev_bytes));
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

/// The `(name, type)` columns of context.log, `uid` first.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    let mut c = vec![("uid", "string")];
    visit(&dummy(), &Features::default(), &mut |n, v| {
        c.push((n, v.type_name()))
    });
    c
}

/// Writes one context.log record as a Zeek JSON object.
pub fn write_json(buf: &mut Vec<u8>, c: &ConnInfo, f: &Features, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::key(buf, &mut first, "uid");
    json::uid(buf, &c.uid);
    visit(c, f, &mut |n, v| {
        json::key(buf, &mut first, n);
        match v {
            Val::Time(t) => match tf {
                TimeFormat::Epoch => json::epoch(buf, t),
                TimeFormat::Iso8601 => json::iso8601(buf, t),
            },
            Val::Count(x) => json::uint(buf, x),
            Val::Double(x) => json::double(buf, x),
        }
    });
    buf.push(b'}');
}

/// Writes one context.log record as a Zeek TSV line (no newline).
pub fn write_tsv(buf: &mut Vec<u8>, c: &ConnInfo, f: &Features) {
    super::tsv::string(buf, c.uid.as_str().as_bytes(), false);
    visit(c, f, &mut |_, v| {
        buf.push(b'\t');
        let _ = match v {
            Val::Time(t) => write!(buf, "{}", Secs6(t.0)),
            Val::Count(x) => write!(buf, "{x}"),
            Val::Double(x) => write!(buf, "{x:.6}"),
        };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::SeriesValue;
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
        let mut j = Vec::new();
        write_json(&mut j, &c, &f, TimeFormat::Epoch);
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
        write_tsv(&mut t, &c, &f);
        let t = String::from_utf8(t).unwrap();
        let fields: Vec<&str> = t.split('\t').collect();
        assert_eq!(fields.len(), columns().len());
        assert_eq!(fields[1], "1300475167.096535");
        assert_eq!(fields[2], "3");
        assert_eq!(fields[4], "0.333333");
        assert_eq!(fields[27], "1300475160.000000");
        let mut i = Vec::new();
        write_json(&mut i, &c, &f, TimeFormat::Iso8601);
        let i = String::from_utf8(i).unwrap();
        assert!(
            i.contains("\"logged_at\":\"2011-03-18T19:06:07.096535Z\""),
            "{i}"
        );
    }
}
