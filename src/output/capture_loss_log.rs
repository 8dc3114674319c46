//! capture_loss.log: Zeek's format (`policy/misc/capture-loss.zeek`): per
//! interval, how many TCP acknowledgements revealed data that was never seen.

use super::{json, TimeFormat};
use crate::time::Secs6;
use std::io::Write;

pub use crate::record::{capture_loss_percent as percent, CaptureLossRecord};

/// `(name, type)` columns.
pub const COLUMNS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("ts_delta", "interval"),
    ("peer", "string"),
    ("gaps", "count"),
    ("acks", "count"),
    ("percent_lost", "double"),
];

/// JSON form.
pub fn write_json(buf: &mut Vec<u8>, r: &CaptureLossRecord, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", r.ts, tf);
    json::key(buf, &mut first, "ts_delta");
    json::double(buf, r.ts_delta as f64 / 1e9);
    json::key(buf, &mut first, "peer");
    json::string(buf, r.peer.as_bytes());
    json::key(buf, &mut first, "gaps");
    json::uint(buf, r.gaps);
    json::key(buf, &mut first, "acks");
    json::uint(buf, r.acks);
    json::key(buf, &mut first, "percent_lost");
    json::double(buf, r.percent_lost);
    buf.push(b'}');
}

/// TSV form.
pub fn write_tsv(buf: &mut Vec<u8>, r: &CaptureLossRecord) {
    let _ = write!(buf, "{}\t{}\t", Secs6(r.ts.0), Secs6(r.ts_delta));
    super::tsv::string(buf, r.peer.as_bytes(), false);
    let _ = write!(buf, "\t{}\t{}\t{:.6}", r.gaps, r.acks, r.percent_lost);
}
