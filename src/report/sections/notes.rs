//! The notes section: what was read, aggregated, capped and sampled, and
//! each file's rows and skipped lines.
//!
//! Must not: compute figures (it reports the caps and counts the other
//! parts used).

use super::num_td;
use crate::report::aggregate::{self, View};
use crate::report::cluster::MAX_POINTS;
use crate::report::html::{esc, fnum};
use crate::report::load::Dataset;
use crate::report::Options;
use std::fmt::Write;

pub(in crate::report) fn notes_section(h: &mut String, d: &Dataset, v: &View, opts: &Options) {
    h.push_str("<section id=\"notes\"><h2>Notes: what was read, aggregated and sampled</h2><ul>");
    let _ = write!(
        h,
        "<li>Every figure aggregates all {} conn.log rows and {} score.log rows. Lists are capped: the first {} notices by time, {} connections per notice, the {} top-scored connections, {} host charts (hosts named in notices first, then most points above their band, then busiest) from the {} hosts in the table, the {} largest clusters.</li>",
        esc(&fnum(d.conns.len() as f64)),
        esc(&fnum(d.scores.len() as f64)),
        aggregate::NOTICES_MAX,
        aggregate::NOTICE_CONNS_MAX,
        opts.top,
        v.series.len(),
        v.hosts.len(),
        aggregate::CLUSTERS_MAX,
    );
    let cl = &v.clustering;
    let _ = write!(
        h,
        "<li>Clustering: {} anomalous connections merged into {} points (grid cell {}){}.</li>",
        esc(&fnum(v.anomalous_conns as f64)),
        esc(&fnum(cl.points as f64)),
        fnum(cl.cell),
        if cl.unclustered > 0 {
            format!(
                "; over {MAX_POINTS} points, so a deterministic sample of {MAX_POINTS} was clustered and {} connections were left out",
                esc(&fnum(cl.unclustered as f64))
            )
        } else if cl.points >= MAX_POINTS {
            format!(
                "; over {MAX_POINTS} points, so a deterministic sample of {MAX_POINTS} was clustered and every other point joined the cluster of its nearest core point within eps, or the noise ({} connections joined a cluster)",
                esc(&fnum(cl.assigned as f64))
            )
        } else {
            "; all of them clustered".into()
        }
    );
    h.push_str("<li>Per-host series use conn.log start times; the Host_Volume detector itself bins by logging time, so a point can sit one interval earlier here.</li></ul>");
    h.push_str("<table id=\"tbl-files\"><thead><tr><th>file</th><th>format</th><th class=\"n\">rows</th><th class=\"n\">lines skipped</th><th>first skipped line</th></tr></thead><tbody>");
    for f in &d.files {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td>{}{}<td>{}</td></tr>",
            esc(&f.name),
            esc(&f.format),
            num_td(f.rows as f64, &fnum(f.rows as f64)),
            num_td(f.skipped as f64, &fnum(f.skipped as f64)),
            esc(f.first_error.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table></section>");
}
