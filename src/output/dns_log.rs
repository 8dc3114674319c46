//! dns.log: Zeek's fields, order, types and unset conventions
//! (`DNS::Info` in `scripts/base/protocols/dns/main.zeek`), with the
//! optional policy columns `auth`, `addl` (`policy/protocols/dns/auth-addl`)
//! and `original_query` (`log-original-query-case`). Vectors and sets are
//! written with at most 100 elements and strings with at most 4096 bytes
//! (Zeek's `Log::default_max_field_*` limits).

use super::{json, tsv, TimeFormat};
use crate::dns::consts;
use crate::dns::record::{DnsRecord, Span, MAX_CONTAINER_ELEMENTS, MAX_STRING_BYTES};
use crate::dns::DnsConfig;
use crate::time::Secs6;
use std::io::Write;

/// The log's name.
pub const PATH: &str = "dns";

const BASE_FIELDS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("trans_id", "count"),
    ("rtt", "interval"),
    ("query", "string"),
    ("qclass", "count"),
    ("qclass_name", "string"),
    ("qtype", "count"),
    ("qtype_name", "string"),
    ("rcode", "count"),
    ("rcode_name", "string"),
    ("AA", "bool"),
    ("TC", "bool"),
    ("RD", "bool"),
    ("RA", "bool"),
    ("Z", "count"),
    ("answers", "vector[string]"),
    ("TTLs", "vector[interval]"),
    ("rejected", "bool"),
    ("opcode", "count"),
    ("opcode_name", "string"),
];

/// The `(name, type)` columns for these settings.
pub fn columns(c: &DnsConfig) -> Vec<(&'static str, &'static str)> {
    let mut v = BASE_FIELDS.to_vec();
    if c.auth_addl {
        v.push(("auth", "set[string]"));
        v.push(("addl", "set[string]"));
    }
    if c.original_query {
        v.push(("original_query", "string"));
    }
    v
}

fn limited(b: &[u8]) -> &[u8] {
    &b[..b.len().min(MAX_STRING_BYTES)]
}

fn qtype_name(r: &DnsRecord, t: u16) -> std::borrow::Cow<'static, str> {
    if r.nbstat {
        "NBSTAT".into()
    } else {
        consts::qtype_name(t)
    }
}

/// `rtt` as Zeek computes it (a difference of double times), when set.
fn rtt_secs(r: &DnsRecord) -> Option<f64> {
    r.answered.map(|a| a.zeek_f64() - r.ts.zeek_f64())
}

/// Writes one row as a Zeek JSON object.
pub fn write_json(buf: &mut Vec<u8>, r: &DnsRecord, c: &DnsConfig, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", r.ts, tf);
    json::key(buf, &mut first, "uid");
    json::uid(buf, &r.uid);
    json::conn_id(buf, &mut first, &r.id);
    json::key(buf, &mut first, "proto");
    json::string(buf, if r.tcp { b"tcp" } else { b"udp" });
    json::key(buf, &mut first, "trans_id");
    json::uint(buf, u64::from(r.trans_id));
    if let Some(rtt) = rtt_secs(r) {
        json::key(buf, &mut first, "rtt");
        json::double(buf, rtt);
    }
    let str_field = |buf: &mut Vec<u8>, first: &mut bool, k: &str, s: Option<Span>| {
        if let Some(s) = s {
            json::key(buf, first, k);
            json::string(buf, limited(r.bytes(s)));
        }
    };
    str_field(buf, &mut first, "query", r.query);
    if let Some(q) = r.qclass {
        json::key(buf, &mut first, "qclass");
        json::uint(buf, u64::from(q));
        json::key(buf, &mut first, "qclass_name");
        json::string(buf, consts::class_name(q).as_bytes());
    }
    if let Some(t) = r.qtype {
        json::key(buf, &mut first, "qtype");
        json::uint(buf, u64::from(t));
        json::key(buf, &mut first, "qtype_name");
        json::string(buf, qtype_name(r, t).as_bytes());
    }
    if let Some(rc) = r.rcode {
        json::key(buf, &mut first, "rcode");
        json::uint(buf, u64::from(rc));
        json::key(buf, &mut first, "rcode_name");
        json::string(buf, consts::rcode_name(u16::from(rc)).as_bytes());
    }
    for (k, v) in [("AA", r.aa), ("TC", r.tc), ("RD", r.rd), ("RA", r.ra)] {
        json::key(buf, &mut first, k);
        buf.extend_from_slice(if v { b"true" } else { b"false" });
    }
    json::key(buf, &mut first, "Z");
    json::uint(buf, u64::from(r.z));
    if !r.answers.is_empty() {
        let n = r.answers.len().min(MAX_CONTAINER_ELEMENTS);
        json::key(buf, &mut first, "answers");
        buf.push(b'[');
        for (i, (s, _)) in r.answers[..n].iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            json::string(buf, limited(r.bytes(*s)));
        }
        buf.push(b']');
        json::key(buf, &mut first, "TTLs");
        buf.push(b'[');
        for (i, (_, ttl)) in r.answers[..n].iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            json::double(buf, f64::from(*ttl));
        }
        buf.push(b']');
    }
    json::key(buf, &mut first, "rejected");
    buf.extend_from_slice(if r.rejected { b"true" } else { b"false" });
    if let Some(op) = r.opcode {
        json::key(buf, &mut first, "opcode");
        json::uint(buf, u64::from(op));
        json::key(buf, &mut first, "opcode_name");
        json::string(buf, consts::opcode_name(op, r.netbios).as_bytes());
    }
    if c.auth_addl {
        for (k, set) in [("auth", &r.auth), ("addl", &r.addl)] {
            if set.is_empty() {
                continue;
            }
            json::key(buf, &mut first, k);
            buf.push(b'[');
            for (i, s) in set.iter().take(MAX_CONTAINER_ELEMENTS).enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                json::string(buf, limited(r.bytes(*s)));
            }
            buf.push(b']');
        }
    }
    if c.original_query {
        str_field(buf, &mut first, "original_query", r.original_query);
    }
    buf.push(b'}');
}

/// Writes one row as a Zeek TSV line (no newline).
pub fn write_tsv(buf: &mut Vec<u8>, r: &DnsRecord, c: &DnsConfig) {
    let t = b'\t';
    let (oh, op, rh, rp) = r.id;
    let _ = write!(buf, "{}\t", Secs6(r.ts.0));
    buf.extend_from_slice(r.uid.as_str().as_bytes());
    let _ = write!(buf, "\t{oh}\t{op}\t{rh}\t{rp}\t");
    buf.extend_from_slice(if r.tcp { b"tcp" } else { b"udp" });
    let _ = write!(buf, "\t{}\t", r.trans_id);
    match r.answered {
        Some(a) => {
            let _ = write!(buf, "{}", Secs6(a.0 - r.ts.0));
        }
        None => buf.push(b'-'),
    }
    buf.push(t);
    opt_str(buf, r, r.query);
    buf.push(t);
    match r.qclass {
        Some(q) => {
            let _ = write!(buf, "{q}\t");
            tsv::string(buf, consts::class_name(q).as_bytes(), false);
        }
        None => buf.extend_from_slice(b"-\t-"),
    }
    buf.push(t);
    match r.qtype {
        Some(q) => {
            let _ = write!(buf, "{q}\t");
            tsv::string(buf, qtype_name(r, q).as_bytes(), false);
        }
        None => buf.extend_from_slice(b"-\t-"),
    }
    buf.push(t);
    match r.rcode {
        Some(rc) => {
            let _ = write!(buf, "{rc}\t");
            tsv::string(buf, consts::rcode_name(u16::from(rc)).as_bytes(), false);
        }
        None => buf.extend_from_slice(b"-\t-"),
    }
    for v in [r.aa, r.tc, r.rd, r.ra] {
        buf.push(t);
        buf.push(if v { b'T' } else { b'F' });
    }
    let _ = write!(buf, "\t{}\t", r.z);
    if r.answers.is_empty() {
        buf.extend_from_slice(b"-\t-");
    } else {
        let n = r.answers.len().min(MAX_CONTAINER_ELEMENTS);
        for (i, (s, _)) in r.answers[..n].iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            tsv::string(buf, limited(r.bytes(*s)), true);
        }
        buf.push(t);
        for (i, (_, ttl)) in r.answers[..n].iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            let _ = write!(buf, "{}", Secs6(i64::from(*ttl) * crate::time::SEC));
        }
    }
    buf.push(t);
    buf.push(if r.rejected { b'T' } else { b'F' });
    buf.push(t);
    match r.opcode {
        Some(op) => {
            let _ = write!(buf, "{op}\t");
            tsv::string(buf, consts::opcode_name(op, r.netbios).as_bytes(), false);
        }
        None => buf.extend_from_slice(b"-\t-"),
    }
    if c.auth_addl {
        for set in [&r.auth, &r.addl] {
            buf.push(t);
            if set.is_empty() {
                buf.push(b'-');
            }
            for (i, s) in set.iter().take(MAX_CONTAINER_ELEMENTS).enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                tsv::string(buf, limited(r.bytes(*s)), true);
            }
        }
    }
    if c.original_query {
        buf.push(t);
        opt_str(buf, r, r.original_query);
    }
}

fn opt_str(buf: &mut Vec<u8>, r: &DnsRecord, s: Option<Span>) {
    match s {
        Some(s) => tsv::string(buf, limited(r.bytes(s)), false),
        None => buf.push(b'-'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::uid::Uid;
    use crate::decode::Addr;
    use crate::time::Ts;

    fn rec() -> DnsRecord {
        let id = (Addr::v4([10, 0, 0, 1]), 40000, Addr::v4([10, 0, 0, 53]), 53);
        let ts = Ts(1_704_067_200_000_000_000);
        let mut r = DnsRecord::new(ts, Uid::from_words(b'C', 1, 2), id, false, 4660);
        r.query = Some(r.push_text(&[b"www.example.com"]));
        r.qclass = Some(1);
        r.qtype = Some(1);
        r.rcode = Some(0);
        r.rd = true;
        r.ra = true;
        r.opcode = Some(0);
        r.answered = Some(Ts(ts.0 + 1_500_000));
        let a = r.push_text(&[b"cdn,example.net"]);
        let b = r.push_text(&[b"93.184.216.34"]);
        r.answers = vec![(a, 300), (b, 60)];
        r
    }

    #[test]
    fn tsv_row_matches_zeek_layout() {
        let mut b = Vec::new();
        let r = rec();
        write_tsv(&mut b, &r, &DnsConfig::default());
        let line = String::from_utf8(b).unwrap();
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), BASE_FIELDS.len());
        assert_eq!(f[0], "1704067200.000000");
        assert_eq!(
            &f[2..8],
            ["10.0.0.1", "40000", "10.0.0.53", "53", "udp", "4660"]
        );
        assert_eq!(f[8], "0.001500");
        assert_eq!(
            &f[9..16],
            [
                "www.example.com",
                "1",
                "C_INTERNET",
                "1",
                "A",
                "0",
                "NOERROR"
            ]
        );
        assert_eq!(&f[16..21], ["F", "F", "T", "T", "0"]);
        // The set separator inside an element is escaped.
        assert_eq!(f[21], "cdn\\x2cexample.net,93.184.216.34");
        assert_eq!(f[22], "300.000000,60.000000");
        assert_eq!(&f[23..], ["F", "0", "query"]);
    }

    #[test]
    fn json_row_omits_unset_fields() {
        let mut r = rec();
        r.answered = None;
        r.answers.clear();
        r.rcode = None;
        let mut b = Vec::new();
        write_json(&mut b, &r, &DnsConfig::default(), TimeFormat::Epoch);
        let s = String::from_utf8(b).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["trans_id"], 4660);
        assert!(v.get("rtt").is_none() && v.get("answers").is_none() && v.get("rcode").is_none());
        assert_eq!(v["qtype_name"], "A");
        assert_eq!(v["opcode_name"], "query");
        let keys: Vec<&str> = s
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .filter_map(|kv| kv.split(':').next())
            .map(|k| k.trim_matches('"'))
            .collect();
        assert_eq!(keys[..3], ["ts", "uid", "id.orig_h"]);
    }

    #[test]
    fn json_vectors_and_limits() {
        let mut r = rec();
        let big = vec![b'x'; MAX_STRING_BYTES + 10];
        let s = r.push_text(&[&big]);
        r.answers = (0..150).map(|i| (s, i)).collect();
        let mut b = Vec::new();
        write_json(&mut b, &r, &DnsConfig::default(), TimeFormat::Epoch);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        let answers = v["answers"].as_array().unwrap();
        assert_eq!(answers.len(), MAX_CONTAINER_ELEMENTS);
        assert_eq!(answers[0].as_str().unwrap().len(), MAX_STRING_BYTES);
        assert_eq!(v["TTLs"][3], 3.0);
        // Zeek's rtt is a difference of double times, not of nanoseconds.
        let rtt = v["rtt"].as_f64().unwrap();
        assert!((rtt - 0.0015).abs() < 1e-6 && rtt != 0.0015, "{rtt}");
    }
}
