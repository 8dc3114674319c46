//! dns.log: Zeek's fields, order, types and unset conventions
//! (`DNS::Info` in `scripts/base/protocols/dns/main.zeek`), with the
//! optional policy columns `auth`, `addl` (`policy/protocols/dns/auth-addl`)
//! and `original_query` (`log-original-query-case`). Vectors and sets are
//! written with at most 100 elements and strings with at most 4096 bytes
//! (Zeek's `Log::default_max_field_*` limits).

use super::row::{self, Columns, Item, Row, Val};
use crate::conn::uid::Uid;
use crate::decode::Addr;
use crate::dns::consts;
use crate::dns::record::{DnsRecord, Span, MAX_CONTAINER_ELEMENTS, MAX_STRING_BYTES};
use crate::dns::DnsConfig;
use crate::time::Ts;

/// The log's name.
pub const PATH: &str = "dns";

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

/// A dns.log row: the record with the log's optional columns.
pub struct DnsRow<'a> {
    /// The transaction.
    pub rec: &'a DnsRecord,
    /// Which optional columns the log has.
    pub cfg: &'a DnsConfig,
}

/// A code column and its name column (`qtype`, `qtype_name`), both unset
/// without a code.
#[inline(always)]
fn coded<C: Columns>(
    v: &mut C,
    names: [&'static str; 2],
    code: Option<u16>,
    name: impl Fn(u16) -> std::borrow::Cow<'static, str>,
) {
    match code {
        Some(x) => {
            v.col(names[0], Val::Count(u64::from(x)));
            v.col(names[1], Val::Str(name(x).as_bytes()));
        }
        None => {
            v.col(names[0], Val::Unset("count"));
            v.col(names[1], Val::Unset("string"));
        }
    }
}

impl Row for DnsRow<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        let r = self.rec;
        v.col("ts", Val::Time(r.ts));
        v.col("uid", Val::Uid(&r.uid));
        super::visit_conn_id(Some(&r.id), v);
        v.col("proto", Val::Enum(if r.tcp { "tcp" } else { "udp" }));
        v.col("trans_id", Val::Count(u64::from(r.trans_id)));
        v.col(
            "rtt",
            r.answered
                .map_or(Val::Unset("interval"), |a| Val::Span(r.ts, a)),
        );
        let text =
            |s: Option<Span>| s.map_or(Val::Unset("string"), |s| Val::Str(limited(r.bytes(s))));
        v.col("query", text(r.query));
        coded(v, ["qclass", "qclass_name"], r.qclass, consts::class_name);
        coded(v, ["qtype", "qtype_name"], r.qtype, |t| qtype_name(r, t));
        coded(
            v,
            ["rcode", "rcode_name"],
            r.rcode.map(u16::from),
            consts::rcode_name,
        );
        for (k, b) in [("AA", r.aa), ("TC", r.tc), ("RD", r.rd), ("RA", r.ra)] {
            v.col(k, Val::Bool(b));
        }
        v.col("Z", Val::Count(u64::from(r.z)));
        let n = r.answers.len().min(MAX_CONTAINER_ELEMENTS);
        let answers = r.answers.get(..n).unwrap_or_default();
        let names = |f: &mut dyn FnMut(Item<'_>)| {
            answers
                .iter()
                .for_each(|(s, _)| f(Item::Str(limited(r.bytes(*s)))));
        };
        let ttls = |f: &mut dyn FnMut(Item<'_>)| {
            answers
                .iter()
                .for_each(|(_, ttl)| f(Item::Interval(f64::from(*ttl))));
        };
        if answers.is_empty() {
            v.col("answers", Val::Unset("vector[string]"));
            v.col("TTLs", Val::Unset("vector[interval]"));
        } else {
            v.col("answers", Val::List("vector[string]", &names));
            v.col("TTLs", Val::List("vector[interval]", &ttls));
        }
        v.col("rejected", Val::Bool(r.rejected));
        coded(
            v,
            ["opcode", "opcode_name"],
            r.opcode.map(u16::from),
            |op| consts::opcode_name(op as u8, r.netbios),
        );
        if self.cfg.auth_addl {
            for (k, set) in [("auth", &r.auth), ("addl", &r.addl)] {
                let items = |f: &mut dyn FnMut(Item<'_>)| {
                    set.iter()
                        .take(MAX_CONTAINER_ELEMENTS)
                        .for_each(|s| f(Item::Str(limited(r.bytes(*s)))));
                };
                v.col(
                    k,
                    if set.is_empty() {
                        Val::Unset("set[string]")
                    } else {
                        Val::List("set[string]", &items)
                    },
                );
            }
        }
        if self.cfg.original_query {
            v.col("original_query", text(r.original_query));
        }
    }
}

/// The `(name, type)` columns for these settings.
pub fn columns(c: &DnsConfig) -> Vec<(&'static str, &'static str)> {
    let id = (Addr::default(), 0, Addr::default(), 0);
    let r = DnsRecord::new(Ts(0), Uid::from_words(b'C', 0, 0), id, false, 0);
    row::columns(&DnsRow { rec: &r, cfg: c })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::TimeFormat;

    fn write_tsv(b: &mut Vec<u8>, r: &DnsRecord, cfg: &DnsConfig) {
        row::tsv(b, &DnsRow { rec: r, cfg });
    }

    fn write_json(b: &mut Vec<u8>, r: &DnsRecord, cfg: &DnsConfig, tf: TimeFormat) {
        row::json(b, &DnsRow { rec: r, cfg }, tf);
    }

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
        row::check_formats_agree(&DnsRow {
            rec: &r,
            cfg: &DnsConfig {
                auth_addl: true,
                original_query: true,
                ..DnsConfig::default()
            },
        });
        write_tsv(&mut b, &r, &DnsConfig::default());
        let line = String::from_utf8(b).unwrap();
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), columns(&DnsConfig::default()).len());
        assert_eq!(f.len(), 26);
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
