//! The notices section: counts per notice type with their hosts, then each
//! notice with its message and the connections of its window.
//!
//! Must not: choose a notice's connections (the view's aggregation does).

use super::{addr, conn_row, num_td, CONN_HEAD};
use crate::report::aggregate::{self, View};
use crate::report::html::{esc, fnum, hms, utc};
use crate::report::load::Dataset;
use std::fmt::Write;

pub(in crate::report) fn notices_section(h: &mut String, d: &Dataset, v: &View) {
    h.push_str("<section id=\"notices\"><h2>Notices</h2>");
    if d.notices.is_empty() {
        h.push_str("<p class=\"note\">No notices (notice.log is absent or empty).</p></section>");
        return;
    }
    h.push_str("<table class=\"sortable\" id=\"tbl-notice-types\"><thead><tr><th>note</th><th class=\"n\">notices</th><th>hosts (src, or dst when no src)</th></tr></thead><tbody>");
    for (note, (n, hosts)) in &v.notice_types {
        let mut hs: Vec<(String, u64)> = hosts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        hs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let _ = write!(
            h,
            "<tr><td>{}</td>{}<td>",
            esc(note),
            num_td(*n as f64, &fnum(*n as f64))
        );
        for (i, (host, c)) in hs.iter().take(10).enumerate() {
            if i > 0 {
                h.push_str(", ");
            }
            let _ = write!(h, "{} ×{}", addr(d, host), c);
        }
        if hs.len() > 10 {
            let _ = write!(h, ", … ({} more)", hs.len() - 10);
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table>");
    h.push_str("<table id=\"tbl-notices\"><thead><tr><th>time (UTC)</th><th>note</th><th>src → dst</th><th class=\"n\">n</th><th>message</th><th>connections</th></tr></thead><tbody>");
    for (k, nv) in v.notices.iter().enumerate() {
        let Some(n) = d.notices.get(nv.notice) else {
            continue;
        };
        let dst = match (&n.dst, n.p) {
            (Some(t), Some(p)) => format!(
                "{}:{}{}",
                addr(d, t),
                p,
                n.proto
                    .as_deref()
                    .map(|x| format!("/{}", esc(x)))
                    .unwrap_or_default()
            ),
            (Some(t), None) => addr(d, t),
            (None, Some(p)) => format!("port {p}"),
            (None, None) => "–".into(),
        };
        let total = nv.conns.len() as u64 + nv.more;
        let id = format!("notice-{k}");
        let _ = write!(
            h,
            "<tr id=\"{id}\"><td>{}</td><td>{}</td><td>{} → {}</td>{}<td class=\"msg\">{}<div class=\"note mono\">{}</div></td><td><a href=\"#{id}-conns\">{} connection{}</a></td></tr>",
            esc(&utc(n.ts, true)),
            esc(&n.note),
            n.src.as_deref().map(|s| addr(d, s)).unwrap_or_else(|| "–".into()),
            dst,
            num_td(n.n.unwrap_or(f64::NAN), &n.n.map(fnum).unwrap_or_else(|| "–".into())),
            esc(&n.msg),
            esc(&n.sub),
            esc(&fnum(total as f64)),
            if total == 1 { "" } else { "s" }
        );
        let _ = write!(
            h,
            "<tr class=\"nconns\"><td colspan=\"6\"><details><summary>{} connection{} of this notice (its own uid first, then those of {} between {} and {})</summary><table id=\"{id}-conns\"><thead>{CONN_HEAD}</thead><tbody>",
            esc(&fnum(total as f64)),
            if total == 1 { "" } else { "s" },
            if n.src.is_some() { "src (to dst and port p, when set)" } else { "dst" },
            esc(&hms(nv.window.0, true)),
            esc(&hms(nv.window.1, true)),
        );
        for &c in &nv.conns {
            h.push_str(&conn_row(d, v, c));
        }
        h.push_str("</tbody></table>");
        if nv.more > 0 {
            let _ = write!(
                h,
                "<p class=\"note\">… and {} more in the window (the first {} are listed).</p>",
                esc(&fnum(nv.more as f64)),
                aggregate::NOTICE_CONNS_MAX
            );
        }
        h.push_str("</details></td></tr>");
    }
    h.push_str("</tbody></table>");
    if d.notices.len() > v.notices.len() {
        let _ = write!(
            h,
            "<p class=\"note\">The first {} of {} notices (by time) are listed; the counts above cover all.</p>",
            v.notices.len(),
            d.notices.len()
        );
    }
    h.push_str("</section>");
}
