//! weird.log: Zeek's fields (`scripts/base/frameworks/notice/weird.zeek`).

use super::{json, TimeFormat};
use crate::time::Secs6;
use std::io::Write;

pub use crate::record::WeirdRecord;

/// `(name, type)` columns.
pub const COLUMNS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("name", "string"),
    ("addl", "string"),
    ("notice", "bool"),
    ("peer", "string"),
    ("source", "string"),
];

/// JSON form.
pub fn write_json(buf: &mut Vec<u8>, w: &WeirdRecord, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", w.ts, tf);
    if let Some(u) = &w.uid {
        json::key(buf, &mut first, "uid");
        json::string(buf, u.as_bytes());
    }
    if let Some(id) = &w.id {
        json::conn_id(buf, &mut first, id);
    }
    json::key(buf, &mut first, "name");
    json::string(buf, w.name.as_bytes());
    if let Some(a) = &w.addl {
        json::key(buf, &mut first, "addl");
        json::string(buf, a.as_bytes());
    }
    json::key(buf, &mut first, "notice");
    buf.extend_from_slice(b"false");
    json::key(buf, &mut first, "peer");
    json::string(buf, b"connscope");
    buf.push(b'}');
}

/// TSV form.
pub fn write_tsv(buf: &mut Vec<u8>, w: &WeirdRecord) {
    let _ = write!(buf, "{}\t", Secs6(w.ts.0));
    match &w.uid {
        Some(u) => buf.extend_from_slice(u.as_bytes()),
        None => buf.push(b'-'),
    }
    match &w.id {
        Some((a, ap, b, bp)) => {
            let _ = write!(buf, "\t{a}\t{ap}\t{b}\t{bp}");
        }
        None => buf.extend_from_slice(b"\t-\t-\t-\t-"),
    }
    buf.push(b'\t');
    buf.extend_from_slice(w.name.as_bytes());
    buf.push(b'\t');
    match &w.addl {
        Some(a) => super::tsv::string(buf, a.as_bytes(), false),
        None => buf.push(b'-'),
    }
    buf.extend_from_slice(b"\tF\tconnscope\t-");
}
