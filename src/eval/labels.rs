//! Connection labels (`labels.csv`) and the join of sensor rows to them.
//!
//! Owns: parsing `labels.csv` by its header (`ts_start, orig_h, orig_p,
//! resp_h, resp_p, proto, label, attack_type, ts_end, split`; other columns
//! are ignored), and [`LabelIndex::join`]: same protocol (`icmp6` counts as
//! `icmp`, as Zeek's conn.log writes it), the same unordered pair of
//! (address, port) endpoints (a record may be flipped), and the row's `ts`
//! within `[ts_start − 1 s, ts_end + 1 s]`; among several candidates the one
//! whose `ts_start` is nearest.
//!
//! Must not: decide which rows are test rows or compute metrics.

use super::EvalError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// Slack on each side of a labelled connection's time span, seconds.
pub const JOIN_SLACK_S: f64 = 1.0;

/// One labelled connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// First packet time.
    pub ts_start: f64,
    /// Last packet time.
    pub ts_end: f64,
    /// 1 = malicious.
    pub label: bool,
    /// `benign` or the attack type.
    pub attack_type: String,
    /// `train`, `test` or `excluded`.
    pub split: String,
    /// 1-based line in labels.csv.
    pub line: usize,
}

/// (protocol, lower endpoint, higher endpoint): the join key.
type Key = (String, (String, u16), (String, u16));

/// Labels indexed by protocol and unordered endpoint pair, each list sorted
/// by `ts_start`.
#[derive(Debug, Default)]
pub struct LabelIndex {
    by_key: HashMap<Key, Vec<Label>>,
    /// How many labels were read.
    pub len: usize,
}

/// An address in canonical text (so `fd66:0::10` and `fd66::10` agree);
/// text that is not an address is kept as it is.
pub fn canon_addr(a: &str) -> String {
    match a.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => a.to_string(),
    }
}

/// Protocol names as conn.log writes them (`icmp6`/`ipv6-icmp` → `icmp`).
pub fn canon_proto(p: &str) -> String {
    let p = p.to_ascii_lowercase();
    match p.as_str() {
        "icmp6" | "icmpv6" | "ipv6-icmp" => "icmp".into(),
        _ => p,
    }
}

fn key(proto: &str, a: (&str, u16), b: (&str, u16)) -> Key {
    let a = (canon_addr(a.0), a.1);
    let b = (canon_addr(b.0), b.1);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (canon_proto(proto), lo, hi)
}

impl LabelIndex {
    /// Reads `labels.csv`.
    pub fn read(path: &Path) -> Result<LabelIndex, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
        LabelIndex::parse(&text).map_err(|(line, r)| EvalError::parse(path, line, r))
    }

    /// Parses `labels.csv` text; errors are (1-based line, reason).
    pub fn parse(text: &str) -> Result<LabelIndex, (usize, String)> {
        let mut lines = text.lines().enumerate();
        let header: Vec<&str> = match lines.next() {
            Some((_, h)) => h.trim_end_matches('\r').split(',').collect(),
            None => return Err((1, "empty file (no header)".into())),
        };
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or((1, format!("no {name:?} column in the header")))
        };
        let c_ts = col("ts_start")?;
        let c_oh = col("orig_h")?;
        let c_op = col("orig_p")?;
        let c_rh = col("resp_h")?;
        let c_rp = col("resp_p")?;
        let c_pr = col("proto")?;
        let c_lb = col("label")?;
        let c_at = col("attack_type")?;
        let c_te = col("ts_end")?;
        let c_sp = col("split")?;
        let mut idx = LabelIndex::default();
        for (i, raw) in lines {
            let line = i + 1;
            let raw = raw.trim_end_matches('\r');
            if raw.is_empty() {
                continue;
            }
            let cells: Vec<&str> = raw.split(',').collect();
            if cells.len() != header.len() {
                return Err((
                    line,
                    format!("{} columns, the header has {}", cells.len(), header.len()),
                ));
            }
            let num = |c: usize, what: &str| -> Result<f64, (usize, String)> {
                cells[c]
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| (line, format!("{what} {:?} is not a number", cells[c])))
            };
            let port = |c: usize, what: &str| -> Result<u16, (usize, String)> {
                cells[c]
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| (line, format!("{what} {:?} is not a port", cells[c])))
            };
            let ts_start = num(c_ts, "ts_start")?;
            let ts_end = num(c_te, "ts_end")?;
            let label = match cells[c_lb].trim() {
                "1" => true,
                "0" => false,
                other => return Err((line, format!("label {other:?} is not 0 or 1"))),
            };
            let k = key(
                cells[c_pr],
                (cells[c_oh], port(c_op, "orig_p")?),
                (cells[c_rh], port(c_rp, "resp_p")?),
            );
            idx.by_key.entry(k).or_default().push(Label {
                ts_start,
                ts_end,
                label,
                attack_type: cells[c_at].trim().to_string(),
                split: cells[c_sp].trim().to_string(),
                line,
            });
            idx.len += 1;
        }
        for v in idx.by_key.values_mut() {
            v.sort_by(|a, b| a.ts_start.total_cmp(&b.ts_start));
        }
        Ok(idx)
    }

    /// The label of a sensor row, if one matches (see the module docs).
    pub fn join(
        &self,
        proto: &str,
        orig: (&str, u16),
        resp: (&str, u16),
        ts: f64,
    ) -> Option<&Label> {
        let cands = self.by_key.get(&key(proto, orig, resp))?;
        cands
            .iter()
            .filter(|l| ts >= l.ts_start - JOIN_SLACK_S && ts <= l.ts_end + JOIN_SLACK_S)
            .min_by(|a, b| (ts - a.ts_start).abs().total_cmp(&(ts - b.ts_start).abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "ts_start,orig_h,orig_p,resp_h,resp_p,proto,label,attack_type,ts_end,duration,orig_pkts,resp_pkts,orig_bytes,resp_bytes,conn_state,split\n\
100.0,10.0.0.1,5000,10.0.0.2,80,tcp,1,syn-flood,100.5,0.5,1,0,0,0,S0,test\n\
110.0,10.0.0.1,5000,10.0.0.2,80,tcp,0,benign,130.0,20,5,5,10,10,SF,test\n\
120.0,10.0.0.1,5000,10.0.0.2,80,tcp,1,slowloris,125.0,5,1,1,0,0,SF,test\n\
50.0,fd66::21,135,ff02::1:ff00:a,0,icmp6,0,benign,50.0,0,1,0,24,0,S0,train\n";

    #[test]
    fn join_flipped_window_and_nearest() {
        let idx = LabelIndex::parse(CSV).unwrap();
        assert_eq!(idx.len, 4);
        let o = ("10.0.0.1", 5000);
        let r = ("10.0.0.2", 80);
        // Exact, and flipped.
        assert_eq!(
            idx.join("tcp", o, r, 100.0).unwrap().attack_type,
            "syn-flood"
        );
        assert_eq!(
            idx.join("tcp", r, o, 100.2).unwrap().attack_type,
            "syn-flood"
        );
        // Within 1 s before ts_start / after ts_end.
        assert_eq!(idx.join("tcp", o, r, 99.1).unwrap().line, 2);
        assert_eq!(idx.join("tcp", o, r, 101.4).unwrap().line, 2);
        // Outside every window.
        assert!(idx.join("tcp", o, r, 98.9).is_none());
        assert!(idx.join("tcp", o, r, 131.5).is_none());
        // Several windows hold ts = 121: nearest ts_start wins (120, not 110).
        assert_eq!(
            idx.join("tcp", o, r, 121.0).unwrap().attack_type,
            "slowloris"
        );
        // ts = 114: only the benign record's window holds it.
        assert_eq!(idx.join("tcp", o, r, 114.0).unwrap().attack_type, "benign");
        // Protocol must agree; ports too.
        assert!(idx.join("udp", o, r, 100.0).is_none());
        assert!(idx.join("tcp", ("10.0.0.1", 5001), r, 100.0).is_none());
        // icmp6 in labels is icmp in conn.log; addresses compared canonically.
        assert_eq!(
            idx.join("icmp", ("fd66:0:0::21", 135), ("ff02::1:ff00:a", 0), 50.0)
                .unwrap()
                .split,
            "train"
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let bad = "ts_start,orig_h,orig_p,resp_h,resp_p,proto,label,attack_type,ts_end,split\n1,a,1,b,2,tcp,1,x,2,test\n1,a,99999,b,2,tcp,1,x,2,test\n";
        assert_eq!(LabelIndex::parse(bad).unwrap_err().0, 3);
        let bad = "ts_start,orig_h\n";
        assert_eq!(LabelIndex::parse(bad).unwrap_err().0, 1);
    }
}
