//! The page's sections, each written into the page's buffer: summary,
//! notices, hosts, scores, top connections, clusters, names and extra
//! fields, connection details, notes. Every value from the logs goes
//! through [`esc`] (text and attributes) or [`anchor`] (ids and links).
//!
//! Must not: compute figures (they come from [`super::aggregate`]) or
//! write anything outside the section's element.
//!
//! Files: `mod.rs` the cells every section shares (addresses with names,
//! numbers, uid links, a conn.log row); one file per section or pair of
//! sections: `summary.rs`, `notices.rs`, `hosts.rs`, `scores.rs` (scores
//! and top connections), `clusters.rs`, `details.rs` (names and extra
//! fields, connection details), `notes.rs`.

mod clusters;
mod details;
mod hosts;
mod notes;
mod notices;
mod scores;
mod summary;

pub(super) use clusters::clusters_section;
pub(super) use details::{details_section, fields_section};
pub(super) use hosts::hosts_section;
pub(super) use notes::notes_section;
pub(super) use notices::notices_section;
pub(super) use scores::{scores_section, top_section};
pub(super) use summary::summary_section;

use super::aggregate::View;
use super::html::{anchor, bytes, duration, esc, fnum, push_esc, utc};
use super::load::Dataset;
use std::fmt::Write;

/// An address with its DNS names (from dns.log), escaped.
fn addr(d: &Dataset, a: &str) -> String {
    let mut s = esc(a);
    if let Some(names) = d.names.get(a) {
        s.push_str(" <span class=\"name\">(");
        push_esc(&mut s, &names.join(", "));
        s.push_str(")</span>");
    }
    s
}

fn word(d: &Dataset, w: u32) -> &str {
    let s = d.words.get(w);
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn num_td(x: f64, text: &str) -> String {
    let v = if x.is_finite() { x } else { 0.0 };
    format!("<td class=\"n\" data-v=\"{v}\">{}</td>", esc(text))
}

/// A uid, linked to its detail block when the page has one.
fn uid_link(v: &View, uid: &str) -> String {
    if v.details.contains_key(uid) {
        format!(
            "<a class=\"mono\" href=\"#{}\">{}</a>",
            anchor("c", uid),
            esc(uid)
        )
    } else {
        format!("<span class=\"mono\">{}</span>", esc(uid))
    }
}

const CONN_HEAD: &str = "<tr><th>start (UTC)</th><th>uid</th><th>originator</th><th>responder</th><th>proto / service</th><th>state</th><th class=\"n\">duration</th><th class=\"n\">bytes up / down</th><th class=\"n\">packets</th><th class=\"n\">score</th></tr>";

/// One conn.log row as table cells.
fn conn_row(d: &Dataset, v: &View, i: u32) -> String {
    let Some(c) = d.conns.get(i as usize) else {
        return String::new();
    };
    let score = d.scores.get(c.score as usize);
    let mut s = String::with_capacity(512);
    let _ = write!(
        s,
        "<tr><td data-v=\"{}\">{}</td><td>{}</td><td>{}:{}</td><td>{}:{}</td><td>{} / {}</td><td>{}</td>{}{}{}",
        c.ts,
        esc(&utc(c.ts, true)),
        uid_link(v, d.conn_uid(i)),
        addr(d, d.addrs.get(c.orig_h)),
        c.orig_p,
        addr(d, d.addrs.get(c.resp_h)),
        c.resp_p,
        esc(word(d, c.proto)),
        esc(word(d, c.service)),
        esc(word(d, c.state)),
        num_td(c.duration, &duration(c.duration)),
        num_td(
            (c.orig_bytes + c.resp_bytes) as f64,
            &format!("{} / {}", bytes(c.orig_bytes as f64), bytes(c.resp_bytes as f64))
        ),
        num_td(
            (c.orig_pkts + c.resp_pkts) as f64,
            &format!("{} / {}", fnum(c.orig_pkts as f64), fnum(c.resp_pkts as f64))
        ),
    );
    match score {
        Some(sc) => {
            let _ = write!(
                s,
                "<td class=\"n\" data-v=\"{}\">{}{}</td></tr>",
                if sc.score.is_finite() { sc.score } else { 0.0 },
                esc(&fnum(sc.score)),
                if sc.anomalous {
                    " <span class=\"tag anom\">anomalous</span>"
                } else {
                    ""
                }
            );
        }
        None => s.push_str("<td class=\"n\" data-v=\"0\">–</td></tr>"),
    }
    s
}
