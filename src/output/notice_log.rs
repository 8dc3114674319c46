//! notice.log: Zeek's `Notice::Info` columns
//! (`scripts/base/frameworks/notice/main.zeek`), so Zeek tooling and SIEM
//! parsers read connscope's notices as Zeek's. `actions` is always
//! `Notice::ACTION_LOG`; file and email fields are unset. With `--geoip-db`
//! Zeek's `remote_location.*` columns follow ([`super::geo_fields`]).

use super::{json, TimeFormat};
use crate::record::NoticeRecord;
use crate::time::Secs6;
use std::io::Write;

/// The log's path (`notice.log`).
pub const PATH: &str = "notice";

/// `(name, type)` columns, as Zeek writes notice.log.
pub const COLUMNS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("fuid", "string"),
    ("file_mime_type", "string"),
    ("file_desc", "string"),
    ("proto", "enum"),
    ("note", "enum"),
    ("msg", "string"),
    ("sub", "string"),
    ("src", "addr"),
    ("dst", "addr"),
    ("p", "port"),
    ("n", "count"),
    ("peer_descr", "string"),
    ("actions", "set[enum]"),
    ("email_dest", "set[string]"),
    ("suppress_for", "interval"),
];

/// JSON form (unset fields omitted, as Zeek's JSON writer does).
pub fn write_json(buf: &mut Vec<u8>, n: &NoticeRecord, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", n.ts, tf);
    if let Some(u) = &n.uid {
        json::key(buf, &mut first, "uid");
        json::string(buf, u.as_str().as_bytes());
    }
    if let Some(id) = &n.id {
        json::conn_id(buf, &mut first, id);
    }
    if let Some(p) = n.proto {
        json::key(buf, &mut first, "proto");
        json::string(buf, p.name().as_bytes());
    }
    json::key(buf, &mut first, "note");
    json::string(buf, n.note.name().as_bytes());
    json::key(buf, &mut first, "msg");
    json::string(buf, n.msg.as_bytes());
    json::key(buf, &mut first, "sub");
    json::string(buf, n.sub.as_bytes());
    if let Some(a) = &n.src {
        json::key(buf, &mut first, "src");
        json::addr(buf, a);
    }
    if let Some(a) = &n.dst {
        json::key(buf, &mut first, "dst");
        json::addr(buf, a);
    }
    if let Some((p, _)) = n.p {
        json::key(buf, &mut first, "p");
        json::uint(buf, p as u64);
    }
    if let Some(c) = n.n {
        json::key(buf, &mut first, "n");
        json::uint(buf, c);
    }
    json::key(buf, &mut first, "peer_descr");
    json::string(buf, b"connscope");
    json::key(buf, &mut first, "actions");
    buf.extend_from_slice(b"[\"Notice::ACTION_LOG\"]");
    json::key(buf, &mut first, "suppress_for");
    json::double(buf, n.suppress_for);
    super::geo_fields::write_notice_json(buf, &mut first, n.remote_location.as_ref());
    buf.push(b'}');
}

/// TSV form.
pub fn write_tsv(buf: &mut Vec<u8>, n: &NoticeRecord) {
    let _ = write!(buf, "{}\t", Secs6(n.ts.0));
    match &n.uid {
        Some(u) => buf.extend_from_slice(u.as_str().as_bytes()),
        None => buf.push(b'-'),
    }
    match &n.id {
        Some((a, ap, b, bp)) => {
            let _ = write!(buf, "\t{a}\t{ap}\t{b}\t{bp}");
        }
        None => buf.extend_from_slice(b"\t-\t-\t-\t-"),
    }
    buf.extend_from_slice(b"\t-\t-\t-\t");
    match n.proto {
        Some(p) => buf.extend_from_slice(p.name().as_bytes()),
        None => buf.push(b'-'),
    }
    buf.push(b'\t');
    buf.extend_from_slice(n.note.name().as_bytes());
    buf.push(b'\t');
    super::tsv::string(buf, n.msg.as_bytes(), false);
    buf.push(b'\t');
    super::tsv::string(buf, n.sub.as_bytes(), false);
    for a in [&n.src, &n.dst] {
        match a {
            Some(a) => {
                let _ = write!(buf, "\t{a}");
            }
            None => buf.extend_from_slice(b"\t-"),
        }
    }
    match n.p {
        Some((p, _)) => {
            let _ = write!(buf, "\t{p}");
        }
        None => buf.extend_from_slice(b"\t-"),
    }
    match n.n {
        Some(c) => {
            let _ = write!(buf, "\t{c}");
        }
        None => buf.extend_from_slice(b"\t-"),
    }
    let _ = write!(
        buf,
        "\tconnscope\tNotice::ACTION_LOG\t(empty)\t{:.6}",
        n.suppress_for
    );
}
