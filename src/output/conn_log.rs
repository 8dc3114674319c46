//! conn.log: Zeek's field names, order, types and unset/empty conventions
//! (`scripts/base/protocols/conn/main.zeek`), plus the optional policy-script
//! columns (`community_id`, `vlan`/`inner_vlan`, `orig_l2_addr`/`resp_l2_addr`),
//! connscope's `--conn-extras` and the GeoIP/ASN columns (`orig_cc` ...).

use super::row::{self, Columns, Item, Row, Val};
use crate::dns::names::NameCache;
use crate::record::ConnRecord;

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

/// A conn.log row: the record with the log's options, and the names seen
/// resolving to its addresses when `orig_name` / `resp_name` are on.
pub struct ConnRow<'a> {
    /// The connection.
    pub rec: &'a ConnRecord,
    /// Which optional columns the log has.
    pub opts: &'a ConnLogOptions,
    /// Passive DNS names by address (`--conn-names`); the name columns are
    /// unset without it.
    pub names: Option<&'a NameCache>,
}

impl Row for ConnRow<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        let (r, o) = (self.rec, self.opts);
        let c = &r.conn;
        v.col("ts", Val::Time(c.start));
        v.col("uid", Val::Uid(&c.uid));
        v.col("id.orig_h", Val::Addr(&c.orig_h));
        v.col("id.orig_p", Val::Port(c.orig_p));
        v.col("id.resp_h", Val::Addr(&c.resp_h));
        v.col("id.resp_p", Val::Port(c.resp_p));
        v.col("proto", Val::Enum(c.transport.name()));
        let services = |f: &mut dyn FnMut(Item<'_>)| {
            c.service.for_each(|s| f(Item::Str(s.name().as_bytes())));
        };
        v.col(
            "service",
            if c.service.is_empty() {
                Val::Unset("string")
            } else {
                Val::Joined(&services)
            },
        );
        if c.last > c.start {
            let (ob, rb) = c.sizes();
            v.col("duration", Val::Span(c.start, c.last));
            v.col("orig_bytes", Val::Count(ob));
            v.col("resp_bytes", Val::Count(rb));
        } else {
            v.col("duration", Val::Unset("interval"));
            v.col("orig_bytes", Val::Unset("count"));
            v.col("resp_bytes", Val::Unset("count"));
        }
        v.col("conn_state", Val::Str(c.conn_state().as_bytes()));
        v.col(
            "local_orig",
            r.local_orig.map_or(Val::Unset("bool"), Val::Bool),
        );
        v.col(
            "local_resp",
            r.local_resp.map_or(Val::Unset("bool"), Val::Bool),
        );
        v.col("missed_bytes", Val::Count(c.missed_bytes));
        let history = c.history.as_bytes();
        v.col(
            "history",
            if history.is_empty() {
                Val::Unset("string")
            } else {
                Val::Str(history)
            },
        );
        v.col("orig_pkts", Val::Count(c.orig_pkts));
        v.col("orig_ip_bytes", Val::Count(c.orig_ip_bytes));
        v.col("resp_pkts", Val::Count(c.resp_pkts));
        v.col("resp_ip_bytes", Val::Count(c.resp_ip_bytes));
        let parents = |f: &mut dyn FnMut(Item<'_>)| {
            c.tunnel_parents()
                .for_each(|u| f(Item::Str(u.as_str().as_bytes())));
        };
        v.col(
            "tunnel_parents",
            if c.tunnel_parents().next().is_none() {
                Val::Unset("set[string]")
            } else {
                Val::List("set[string]", &parents)
            },
        );
        v.col("ip_proto", Val::Count(u64::from(c.ip_proto)));
        if o.community_id {
            let cid = r.community_id.as_ref();
            v.col(
                "community_id",
                cid.map_or(Val::Unset("string"), |s| Val::Str(s.as_bytes())),
            );
        }
        if o.vlan {
            for (name, id) in [("vlan", c.vlan), ("inner_vlan", c.inner_vlan)] {
                v.col(
                    name,
                    id.map_or(Val::Unset("int"), |id| Val::Int(i64::from(id))),
                );
            }
        }
        if o.l2_addrs {
            for (name, mac) in [("orig_l2_addr", &c.l2.0), ("resp_l2_addr", &c.l2.1)] {
                let text = mac.map(|m| mac_text(&m));
                v.col(
                    name,
                    text.as_ref().map_or(Val::Unset("string"), |t| Val::Str(t)),
                );
            }
        }
        if o.extras {
            super::flowmeter_log::visit_conn_extras(&c.flow_features(), v);
        }
        if o.dns.names {
            for (name, a) in [("orig_name", &c.orig_h), ("resp_name", &c.resp_h)] {
                let cache = self.names.filter(|n| n.get(a).next().is_some());
                let names = |f: &mut dyn FnMut(Item<'_>)| {
                    if let Some(n) = cache {
                        n.get(a).for_each(|s| f(Item::Str(s)));
                    }
                };
                v.col(
                    name,
                    match cache {
                        Some(_) => Val::List("set[string]", &names),
                        None => Val::Unset("set[string]"),
                    },
                );
            }
        }
        super::geo_fields::visit_conn(r, o, v);
    }
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac_text(m: &[u8; 6]) -> [u8; 17] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [b':'; 17];
    for (i, b) in m.iter().enumerate() {
        t[3 * i] = HEX[usize::from(b >> 4)];
        t[3 * i + 1] = HEX[usize::from(b & 15)];
    }
    t
}

/// A connection record with every value at its default (the header's
/// source: the columns do not depend on the values).
fn sample_record() -> ConnRecord {
    struct NoTimers;
    impl crate::conn::Timers for NoTimers {
        fn add(&mut self, _: crate::time::Ts, _: crate::conn::TimerKind, _: u32) {}
    }
    let cfg = crate::conn::ConnConfig::zeek_bare();
    let init = crate::conn::ConnInit {
        transport: crate::conn::Transport::Tcp,
        ip_proto: 6,
        orig: (crate::decode::Addr::default(), 0),
        resp: (crate::decode::Addr::default(), 0),
        ts: crate::time::Ts(0),
        icmp_one_way: false,
        vlan: None,
        inner_vlan: None,
        l2: (None, None),
    };
    let encap = crate::conn::Encap::default();
    let conn = crate::conn::Conn::new(&cfg, &init, &encap, false, &mut NoTimers);
    ConnRecord::new(conn, &cfg)
}

/// The `(name, type)` columns for these options.
pub fn columns(o: &ConnLogOptions) -> Vec<(&'static str, &'static str)> {
    row::columns(&ConnRow {
        rec: &sample_record(),
        opts: o,
        names: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_agree_with_every_option() {
        let all = ConnLogOptions {
            community_id: true,
            vlan: true,
            l2_addrs: true,
            extras: true,
            geo: true,
            asn: true,
            ..ConnLogOptions::default()
        };
        let mut rec = sample_record();
        for opts in [ConnLogOptions::default(), all] {
            row::check_formats_agree(&ConnRow {
                rec: &rec,
                opts: &opts,
                names: None,
            });
        }
        rec.conn.vlan = Some(7);
        rec.conn.l2 = (Some([0, 1, 2, 0xab, 0xcd, 0xef]), None);
        rec.local_orig = Some(true);
        rec.local_resp = None;
        rec.community_id = Some(crate::conn::community_id::community_id(
            0,
            (rec.conn.orig_h, 1),
            (rec.conn.resp_h, 2),
            6,
            false,
        ));
        let r = ConnRow {
            rec: &rec,
            opts: &all,
            names: None,
        };
        row::check_formats_agree(&r);
        let mut t = Vec::new();
        row::tsv(&mut t, &r);
        let t = String::from_utf8(t).unwrap();
        let cols = columns(&all);
        let field = |name: &str| {
            let i = cols.iter().position(|c| c.0 == name).unwrap();
            t.split('\t').nth(i).unwrap().to_string()
        };
        assert_eq!(field("vlan"), "7");
        assert_eq!(field("inner_vlan"), "-");
        assert_eq!(field("orig_l2_addr"), "00:01:02:ab:cd:ef");
        assert_eq!(field("local_orig"), "T");
        assert_eq!(field("local_resp"), "-");
        assert!(field("community_id").starts_with("1:"));
    }
}
