//! notice.log: Zeek's `Notice::Info` columns
//! (`scripts/base/frameworks/notice/main.zeek`), so Zeek tooling and SIEM
//! parsers read connscope's notices as Zeek's. `actions` is always
//! `Notice::ACTION_LOG`; the file fields are unset and `email_dest` is the
//! empty set (`[]` in JSON, `(empty)` in TSV, as Zeek writes it). With
//! `--geoip-db` Zeek's `remote_location.*` columns follow
//! ([`super::geo_fields`]).

use super::row::{self, Columns, Item, Row, Val};
use crate::record::NoticeRecord;

/// The log's path (`notice.log`).
pub const PATH: &str = "notice";

/// A notice.log row: the notice, and whether the log has Zeek's
/// `remote_location.*` columns (`--geoip-db`).
pub struct NoticeRow<'a> {
    /// The notice.
    pub notice: &'a NoticeRecord,
    /// The `remote_location.*` columns are on.
    pub geo: bool,
}

impl Row for NoticeRow<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        let n = self.notice;
        v.col("ts", Val::Time(n.ts));
        v.col("uid", n.uid.as_ref().map_or(Val::Unset("string"), Val::Uid));
        super::visit_conn_id(n.id.as_ref(), v);
        for k in ["fuid", "file_mime_type", "file_desc"] {
            v.col(k, Val::Unset("string"));
        }
        v.col(
            "proto",
            n.proto.map_or(Val::Unset("enum"), |p| Val::Enum(p.name())),
        );
        v.col("note", Val::Enum(n.note.name()));
        v.col("msg", Val::Str(n.msg.as_bytes()));
        v.col("sub", Val::Str(n.sub.as_bytes()));
        for (k, a) in [("src", &n.src), ("dst", &n.dst)] {
            v.col(k, a.as_ref().map_or(Val::Unset("addr"), Val::Addr));
        }
        v.col("p", n.p.map_or(Val::Unset("port"), |(p, _)| Val::Port(p)));
        v.col("n", n.n.map_or(Val::Unset("count"), Val::Count));
        v.col("peer_descr", Val::Str(b"connscope"));
        let log = |f: &mut dyn FnMut(Item<'_>)| f(Item::Str(b"Notice::ACTION_LOG"));
        v.col("actions", Val::List("set[enum]", &log));
        v.col(
            "email_dest",
            Val::List("set[string]", &|_: &mut dyn FnMut(Item<'_>)| {}),
        );
        v.col("suppress_for", Val::Interval(n.suppress_for));
        if self.geo {
            super::geo_fields::visit_notice(n.remote_location.as_ref(), v);
        }
    }
}

/// `(name, type)` columns, as Zeek writes notice.log (with the
/// `remote_location.*` columns when `geo`).
pub fn columns(geo: bool) -> Vec<(&'static str, &'static str)> {
    row::columns(&NoticeRow {
        notice: &sample(),
        geo,
    })
}

/// A notice with nothing optional set.
fn sample() -> NoticeRecord {
    NoticeRecord {
        ts: crate::time::Ts(0),
        uid: None,
        id: None,
        proto: None,
        note: crate::record::NoticeType::Scan,
        msg: String::new(),
        sub: String::new(),
        src: None,
        dst: None,
        p: None,
        n: None,
        suppress_for: 0.0,
        identifier: String::new(),
        remote_location: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;

    #[test]
    fn formats_agree_and_zeek_fields() {
        let mut n = sample();
        for geo in [false, true] {
            row::check_formats_agree(&NoticeRow { notice: &n, geo });
        }
        n.uid = Some(crate::conn::uid::Uid::from_words(b'C', 1, 2));
        n.id = Some((Addr::v4([10, 0, 0, 1]), 40000, Addr::v4([10, 0, 0, 2]), 22));
        n.proto = Some(crate::conn::Transport::Tcp);
        n.msg = "10.0.0.1 made 10 short connections".into();
        n.src = n.id.map(|i| i.0);
        n.p = Some((22, crate::conn::Transport::Tcp));
        n.n = Some(10);
        n.suppress_for = 3600.0;
        let r = NoticeRow {
            notice: &n,
            geo: false,
        };
        row::check_formats_agree(&r);
        let mut j = Vec::new();
        row::json(&mut j, &r, crate::output::TimeFormat::Epoch);
        let j = String::from_utf8(j).unwrap();
        // As Zeek's JSON writer prints a notice (an empty set is `[]`).
        assert!(
            j.ends_with(",\"peer_descr\":\"connscope\",\"actions\":[\"Notice::ACTION_LOG\"],\"email_dest\":[],\"suppress_for\":3600.0}"),
            "{j}"
        );
        let mut t = Vec::new();
        row::tsv(&mut t, &r);
        let t = String::from_utf8(t).unwrap();
        assert!(
            t.ends_with("\tconnscope\tNotice::ACTION_LOG\t(empty)\t3600.000000"),
            "{t}"
        );
    }
}
