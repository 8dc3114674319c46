//! The clusters section: the scatter of the anomalous connections and the
//! table of clusters with their kind, hosts, ports, span, scores and a
//! typical member.
//!
//! Must not: cluster (`report::cluster` does) or order the clusters.

use super::{addr, num_td, uid_link};
use crate::report::aggregate::{self, View};
use crate::report::cluster::{DIM_NAMES, MAX_POINTS};
use crate::report::html::{bytes, duration, esc, fnum, hms};
use crate::report::load::{Dataset, NONE};
use crate::report::svg;
use std::fmt::Write;

pub(in crate::report) fn clusters_section(h: &mut String, d: &Dataset, v: &View) {
    let cl = &v.clustering;
    let _ = write!(
        h,
        "<section id=\"clusters\"><h2>Clusters of anomalous connections</h2><p class=\"note\">Density clustering (DBSCAN, eps {}, min_pts {}) of the {} anomalous connections on {}; only connections of the same protocol, service and conn_state are neighbours. Identical-looking connections are merged first (grid cell {}), so each dot is one merged point and its area grows with the connections it holds.</p>",
        fnum(cl.params.eps),
        fnum(cl.params.min_pts),
        esc(&fnum(v.anomalous_conns as f64)),
        esc(&DIM_NAMES.join(", ")),
        fnum(cl.cell),
    );
    if v.anomalous_conns == 0 {
        h.push_str("<p class=\"note\">No anomalous connections.</p></section>");
        return;
    }
    let _ = write!(
        h,
        "<p id=\"cluster-summary\">{} clusters hold {} connections; {} are noise (in no cluster){}.</p>",
        esc(&fnum(cl.clusters.len() as f64)),
        esc(&fnum(cl.clusters.iter().map(|c| c.members.len()).sum::<usize>() as f64)),
        esc(&fnum(cl.noise.len() as f64)),
        if cl.unclustered > 0 {
            format!(
                "; {} were not clustered: past {} merged points a sample is clustered",
                esc(&fnum(cl.unclustered as f64)),
                MAX_POINTS
            )
        } else if cl.assigned > 0 {
            format!(
                "; past {} merged points a sample was clustered and {} connections outside it joined the cluster of their nearest core point",
                MAX_POINTS,
                esc(&fnum(cl.assigned as f64))
            )
        } else {
            String::new()
        }
    );
    h.push_str(&svg::scatter_chart(&cl.plot));
    h.push_str("<table class=\"sortable\" id=\"tbl-clusters\"><thead><tr><th>cluster</th><th class=\"n\">connections</th><th>kind</th><th>originators</th><th>responders</th><th>responder ports</th><th>first – last start</th><th class=\"n\">score mean / max</th><th>typical member</th></tr></thead><tbody>");
    let total = v.anomalous_conns.max(1) as f64;
    for (k, c) in v.clusters.iter().enumerate() {
        let tops = |(n, top): &(usize, aggregate::TopValues), is_addr: bool| -> String {
            let mut o = format!("<b>{}</b>: ", esc(&fnum(*n as f64)));
            for (i, (x, cnt)) in top.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                let shown = if is_addr { addr(d, x) } else { esc(x) };
                let _ = write!(o, "{shown} ×{}", esc(&fnum(*cnt as f64)));
            }
            if *n > top.len() {
                o.push_str(", …");
            }
            o
        };
        let t = d.conns.get(c.typical as usize).copied().unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td><span class=\"sw\" style=\"background:{}\"></span>{}</td>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td>{}<td>{} {} → {}:{}, {}, {} / {}, {} / {} pkts</td></tr>",
            svg::PALETTE.get(k).copied().unwrap_or("#7f7f7f"),
            k + 1,
            num_td(c.size as f64, &format!("{} ({} %)", fnum(c.size as f64), fnum((c.size as f64 / total * 1000.0).round() / 10.0))),
            esc(&c.kind),
            tops(&c.origs, true),
            tops(&c.resps, true),
            tops(&c.ports, false),
            esc(&hms(c.first, true)),
            esc(&hms(c.last, true)),
            num_td(c.mean_score, &format!("{} / {}", fnum(c.mean_score), fnum(c.max_score))),
            if c.typical == NONE { "–".to_string() } else { uid_link(v, d.conn_uid(c.typical)) },
            addr(d, d.addrs.get(t.orig_h)),
            addr(d, d.addrs.get(t.resp_h)),
            t.resp_p,
            esc(&duration(t.duration)),
            esc(&bytes(t.orig_bytes as f64)),
            esc(&bytes(t.resp_bytes as f64)),
            esc(&fnum(t.orig_pkts as f64)),
            esc(&fnum(t.resp_pkts as f64)),
        );
    }
    h.push_str("</tbody></table>");
    if cl.clusters.len() > v.clusters.len() {
        let _ = write!(
            h,
            "<p class=\"note\">The {} largest of {} clusters are listed.</p>",
            v.clusters.len(),
            cl.clusters.len()
        );
    }
    h.push_str("</section>");
}
