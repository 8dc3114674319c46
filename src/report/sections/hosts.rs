//! The hosts section: the per-originator table and each charted host's four
//! series against the Host_Volume band.
//!
//! Must not: recompute the band (the view carries it, from
//! `report::hosts`).

use super::{addr, num_td};
use crate::report::aggregate::{self, View, SERIES};
use crate::report::html::{anchor, bytes, duration, esc, fnum, hms};
use crate::report::load::Dataset;
use crate::report::svg::{self, Unit};
use std::fmt::Write;

pub(in crate::report) fn hosts_section(h: &mut String, d: &Dataset, v: &View) {
    let _ = write!(
        h,
        "<section id=\"hosts\"><h2>Hosts</h2><p class=\"note\">Per originator and {} interval (UTC, by conn.log start time): connections, distinct peers, IP bytes up (<code>orig_ip_bytes</code>) and down (<code>resp_ip_bytes</code>). The shaded band is the Host_Volume detector's baseline: EWMA mean (dashed) ± 3σ, α = {}, σ at least 25 % of the mean; silent intervals count as 0. {} Points above the band are red (and not learned from), below it blue. A Host_Volume notice also needs 3× the training maximum and an absolute floor.</p>",
        esc(&duration(v.interval)),
        crate::detect::host::host_volume::ALPHA,
        match v.train_end {
            Some(t) => format!(
                "Grey intervals, the training prefix before {} UTC, only teach the band; after it a host seen in training is judged on its own band, and a host first seen later on the population band (orange: every host's training intervals) until it has {} intervals of its own.",
                esc(&hms(t, true)),
                crate::detect::host::host_volume::MIN_OWN
            ),
            None => format!(
                "There is no training prefix in these logs: a host's first {} intervals (grey) only teach its band.",
                aggregate::WARMUP
            ),
        },
    );
    h.push_str("<table class=\"sortable\" id=\"tbl-hosts\"><thead><tr><th>originator</th><th class=\"n\">connections</th><th class=\"n\">peers</th><th class=\"n\">bytes up</th><th class=\"n\">bytes down</th><th class=\"n\">anomalous</th><th class=\"n\">notices</th><th class=\"n\">points above band</th></tr></thead><tbody>");
    for r in &v.hosts {
        let _ = write!(
            h,
            "<tr><td>{}</td>{}{}{}{}{}{}{}</tr>",
            addr(d, d.addrs.get(r.addr)),
            num_td(r.conns as f64, &fnum(r.conns as f64)),
            num_td(r.peers as f64, &fnum(r.peers as f64)),
            num_td(r.up as f64, &bytes(r.up as f64)),
            num_td(r.down as f64, &bytes(r.down as f64)),
            num_td(r.anomalous as f64, &fnum(r.anomalous as f64)),
            num_td(r.notices as f64, &fnum(r.notices as f64)),
            num_td(
                r.above.unwrap_or(0) as f64,
                &r.above
                    .map(|a| fnum(a as f64))
                    .unwrap_or_else(|| "–".into())
            ),
        );
    }
    h.push_str("</tbody></table>");
    for hs in &v.series {
        let name = d.addrs.get(hs.addr);
        let _ = write!(
            h,
            "<div class=\"host\" id=\"{}\"><h3>{} <span class=\"note\">{} points above the band, {} below</span></h3><div class=\"grid2\">",
            anchor("host", name),
            addr(d, name),
            hs.above,
            hs.below
        );
        for (k, pts) in hs.series.iter().enumerate() {
            let unit = if k >= 2 { Unit::Bytes } else { Unit::Count };
            h.push_str(&svg::series_chart(
                &format!("{} per {}", SERIES[k], duration(v.interval)),
                pts,
                hs.first_interval,
                v.interval,
                unit,
            ));
        }
        h.push_str("</div></div>");
    }
    h.push_str("</section>");
}
