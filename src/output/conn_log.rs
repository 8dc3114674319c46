//! conn.log: Zeek's field names, order, types and unset/empty conventions
//! (`scripts/base/protocols/conn/main.zeek`), plus the optional policy-script
//! columns (`community_id`, `vlan`/`inner_vlan`, `orig_l2_addr`/`resp_l2_addr`),
//! connscope's `--conn-extras` and the GeoIP/ASN columns (`orig_cc` ...).

use super::{json, tsv, TimeFormat};
use crate::record::ConnRecord;
use std::io::Write;

/// Optional conn.log columns.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnLogOptions {
    /// `community_id` (policy/protocols/conn/community-id-logging).
    pub community_id: bool,
    /// `vlan`, `inner_vlan` (policy/protocols/conn/vlan-logging).
    pub vlan: bool,
    /// `orig_l2_addr`, `resp_l2_addr` (policy/protocols/conn/mac-logging).
    pub l2_addrs: bool,
    /// The `--conn-extras` flow statistics columns (needs `ConnConfig::flow_stats`).
    pub extras: bool,
    /// Also write flowmeter.log (needs `ConnConfig::flow_stats`).
    pub flowmeter: bool,
    /// Also write context.log with these settings (`--context`).
    pub context: Option<crate::context::ContextConfig>,
    /// Passive DNS: dns.log's optional columns, and `orig_name` /
    /// `resp_name` in conn.log when `dns.names` (`--conn-names`).
    pub dns: crate::dns::DnsConfig,
    /// `orig_cc resp_cc orig_city resp_city` (`--geoip-db`).
    pub geo: bool,
    /// `orig_asn resp_asn orig_as_org resp_as_org` (`--asn-db`).
    pub asn: bool,
}

const BASE_FIELDS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("ip_proto", "count"),
];

/// The `(name, type)` columns for these options.
pub fn columns(o: &ConnLogOptions) -> Vec<(&'static str, &'static str)> {
    let mut v = BASE_FIELDS.to_vec();
    if o.community_id {
        v.push(("community_id", "string"));
    }
    if o.vlan {
        v.push(("vlan", "int"));
        v.push(("inner_vlan", "int"));
    }
    if o.l2_addrs {
        v.push(("orig_l2_addr", "string"));
        v.push(("resp_l2_addr", "string"));
    }
    if o.extras {
        v.extend(super::flowmeter_log::conn_extras_columns());
    }
    if o.dns.names {
        v.push(("orig_name", "set[string]"));
        v.push(("resp_name", "set[string]"));
    }
    v.extend(super::geo_fields::conn_columns(o));
    v
}

/// Appends `orig_name` and `resp_name` (names seen resolving to each
/// address, most recent first; unset when none) to a JSON object written by
/// [`write_json`].
pub fn append_names_json<'a>(
    buf: &mut Vec<u8>,
    orig: impl Iterator<Item = &'a [u8]>,
    resp: impl Iterator<Item = &'a [u8]>,
) {
    if buf.last() != Some(&b'}') {
        return;
    }
    buf.pop();
    let mut first = buf.last() == Some(&b'{');
    for (k, names) in [
        (
            "orig_name",
            &mut orig.peekable() as &mut dyn Iterator<Item = &[u8]>,
        ),
        ("resp_name", &mut resp.peekable()),
    ] {
        let mut any = false;
        for n in names {
            if !any {
                json::key(buf, &mut first, k);
                buf.push(b'[');
                any = true;
            } else {
                buf.push(b',');
            }
            json::string(buf, n);
        }
        if any {
            buf.push(b']');
        }
    }
    buf.push(b'}');
}

/// Appends `orig_name` and `resp_name` to a TSV line written by [`write_tsv`].
pub fn append_names_tsv<'a>(
    buf: &mut Vec<u8>,
    orig: impl Iterator<Item = &'a [u8]>,
    resp: impl Iterator<Item = &'a [u8]>,
) {
    for names in [
        &mut orig.into_iter() as &mut dyn Iterator<Item = &[u8]>,
        &mut resp.into_iter(),
    ] {
        buf.push(b'\t');
        let mut any = false;
        for n in names {
            if any {
                buf.push(b',');
            }
            tsv::string(buf, n, true);
            any = true;
        }
        if !any {
            buf.push(b'-');
        }
    }
}

fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn service_names(r: &ConnRecord) -> impl Iterator<Item = &'static str> + '_ {
    r.conn.service.iter().map(|s| s.name())
}

/// Writes one conn.log record as a Zeek JSON object.
pub fn write_json(buf: &mut Vec<u8>, r: &ConnRecord, o: &ConnLogOptions, tf: TimeFormat) {
    let c = &r.conn;
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", c.start, tf);
    json::key(buf, &mut first, "uid");
    json::uid(buf, &c.uid);
    json::conn_id(buf, &mut first, &(c.orig_h, c.orig_p, c.resp_h, c.resp_p));
    json::key(buf, &mut first, "proto");
    json::string(buf, c.transport.name().as_bytes());
    let mut svc = service_names(r).peekable();
    if svc.peek().is_some() {
        json::key(buf, &mut first, "service");
        buf.push(b'"');
        for (i, s) in svc.enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(s.as_bytes());
        }
        buf.push(b'"');
    }
    let dur = c.last.zeek_f64() - c.start.zeek_f64();
    if c.last > c.start {
        let (ob, rb) = c.sizes();
        json::key(buf, &mut first, "duration");
        json::double(buf, dur);
        json::key(buf, &mut first, "orig_bytes");
        json::uint(buf, ob);
        json::key(buf, &mut first, "resp_bytes");
        json::uint(buf, rb);
    }
    json::key(buf, &mut first, "conn_state");
    json::string(buf, c.conn_state().as_bytes());
    if let Some(l) = r.local_orig {
        json::key(buf, &mut first, "local_orig");
        buf.extend_from_slice(if l { b"true" } else { b"false" });
    }
    if let Some(l) = r.local_resp {
        json::key(buf, &mut first, "local_resp");
        buf.extend_from_slice(if l { b"true" } else { b"false" });
    }
    json::key(buf, &mut first, "missed_bytes");
    json::uint(buf, c.missed_bytes);
    if !c.history.as_bytes().is_empty() {
        json::key(buf, &mut first, "history");
        json::string(buf, c.history.as_bytes());
    }
    json::key(buf, &mut first, "orig_pkts");
    json::uint(buf, c.orig_pkts);
    json::key(buf, &mut first, "orig_ip_bytes");
    json::uint(buf, c.orig_ip_bytes);
    json::key(buf, &mut first, "resp_pkts");
    json::uint(buf, c.resp_pkts);
    json::key(buf, &mut first, "resp_ip_bytes");
    json::uint(buf, c.resp_ip_bytes);
    let mut tp = c.tunnel_parents().peekable();
    if tp.peek().is_some() {
        json::key(buf, &mut first, "tunnel_parents");
        buf.push(b'[');
        for (i, u) in tp.enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            json::string(buf, u.as_str().as_bytes());
        }
        buf.push(b']');
    }
    json::key(buf, &mut first, "ip_proto");
    json::uint(buf, c.ip_proto as u64);
    if o.community_id {
        if let Some(cid) = &r.community_id {
            json::key(buf, &mut first, "community_id");
            json::string(buf, cid.as_bytes());
        }
    }
    if o.vlan {
        if let Some(v) = c.vlan {
            json::key(buf, &mut first, "vlan");
            json::uint(buf, v as u64);
        }
        if let Some(v) = c.inner_vlan {
            json::key(buf, &mut first, "inner_vlan");
            json::uint(buf, v as u64);
        }
    }
    if o.l2_addrs {
        if let Some(m) = &c.l2.0 {
            json::key(buf, &mut first, "orig_l2_addr");
            json::string(buf, fmt_mac(m).as_bytes());
        }
        if let Some(m) = &c.l2.1 {
            json::key(buf, &mut first, "resp_l2_addr");
            json::string(buf, fmt_mac(m).as_bytes());
        }
    }
    if o.extras {
        let f = c.flow_features();
        super::flowmeter_log::write_conn_extras_json(buf, &mut first, &f);
    }
    super::geo_fields::write_conn_json(buf, &mut first, r, o);
    buf.push(b'}');
}

/// Writes one conn.log record as a Zeek TSV line (no newline).
pub fn write_tsv(buf: &mut Vec<u8>, r: &ConnRecord, o: &ConnLogOptions) {
    let c = &r.conn;
    let t = b'\t';
    let _ = write!(buf, "{}", crate::time::Secs6(c.start.0));
    buf.push(t);
    buf.extend_from_slice(c.uid.as_str().as_bytes());
    let _ = write!(
        buf,
        "\t{}\t{}\t{}\t{}\t",
        c.orig_h, c.orig_p, c.resp_h, c.resp_p
    );
    buf.extend_from_slice(c.transport.name().as_bytes());
    buf.push(t);
    let mut any = false;
    for (i, s) in service_names(r).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(s.as_bytes());
        any = true;
    }
    if !any {
        buf.push(b'-');
    }
    buf.push(t);
    if c.last > c.start {
        let (ob, rb) = c.sizes();
        let _ = write!(
            buf,
            "{}\t{}\t{}\t",
            crate::time::Secs6(c.last.0 - c.start.0),
            ob,
            rb
        );
    } else {
        buf.extend_from_slice(b"-\t-\t-\t");
    }
    buf.extend_from_slice(c.conn_state().as_bytes());
    buf.push(t);
    for l in [r.local_orig, r.local_resp] {
        buf.extend_from_slice(match l {
            Some(true) => b"T",
            Some(false) => b"F",
            None => b"-",
        });
        buf.push(t);
    }
    let _ = write!(buf, "{}\t", c.missed_bytes);
    if c.history.as_bytes().is_empty() {
        buf.push(b'-');
    } else {
        tsv::string(buf, c.history.as_bytes(), false);
    }
    let _ = write!(
        buf,
        "\t{}\t{}\t{}\t{}\t",
        c.orig_pkts, c.orig_ip_bytes, c.resp_pkts, c.resp_ip_bytes
    );
    let mut any = false;
    for (i, u) in c.tunnel_parents().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(u.as_str().as_bytes());
        any = true;
    }
    if !any {
        buf.push(b'-');
    }
    let _ = write!(buf, "\t{}", c.ip_proto);
    if o.community_id {
        buf.push(t);
        match &r.community_id {
            Some(s) => tsv::string(buf, s.as_bytes(), false),
            None => buf.push(b'-'),
        }
    }
    if o.vlan {
        for v in [c.vlan, c.inner_vlan] {
            buf.push(t);
            match v {
                Some(v) => {
                    let _ = write!(buf, "{v}");
                }
                None => buf.push(b'-'),
            }
        }
    }
    if o.l2_addrs {
        for m in [&c.l2.0, &c.l2.1] {
            buf.push(t);
            match m {
                Some(m) => buf.extend_from_slice(fmt_mac(m).as_bytes()),
                None => buf.push(b'-'),
            }
        }
    }
    if o.extras {
        let f = c.flow_features();
        super::flowmeter_log::write_conn_extras_tsv(buf, &f);
    }
    super::geo_fields::write_conn_tsv(buf, r, o);
}
