//! The summary section: capture span, packets, connections, bytes,
//! services, weirds, capture loss and detection as cards, then services,
//! conn_state and weirds as tables with bars.
//!
//! Must not: compute figures (they come from the dataset and the view).

use super::{num_td, uid_link};
use crate::report::aggregate::View;
use crate::report::html::{bytes, duration, esc, fnum, hms, utc};
use crate::report::load::Dataset;
use std::fmt::Write;

fn card(h: &mut String, id: &str, k: &str, v: &str, detail: &str) {
    let _ = write!(
        h,
        "<div class=\"card\" id=\"{id}\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"d\">{detail}</div></div>",
        esc(k),
        esc(v)
    );
}

fn counts_line(items: &[(String, u64)], max: usize) -> String {
    let mut o = String::new();
    for (i, (k, n)) in items.iter().take(max).enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        let _ = write!(o, "{} {}", esc(k), esc(&fnum(*n as f64)));
    }
    if items.len() > max {
        let _ = write!(o, ", … ({} more)", items.len() - max);
    }
    o
}

pub(in crate::report) fn summary_section(h: &mut String, d: &Dataset, v: &View) {
    let s = &v.summary;
    h.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    card(
        h,
        "sum-span",
        "capture span",
        &duration(s.last - s.first),
        &format!(
            "{} – {} UTC",
            esc(&utc(s.first, false)),
            esc(&hms(s.last, true))
        ),
    );
    let (pk, pk_detail) = if d.stats.rows > 0 {
        (
            fnum(d.stats.packets as f64),
            format!(
                "processed (stats.log); {} in connections; {} decode errors",
                esc(&fnum(s.conn_pkts as f64)),
                esc(&fnum(d.stats.decode_errors as f64))
            ),
        )
    } else {
        (
            fnum(s.conn_pkts as f64),
            "in connections (no stats.log)".to_string(),
        )
    };
    card(h, "sum-packets", "packets", &pk, &pk_detail);
    card(
        h,
        "sum-conns",
        "connections",
        &fnum(s.conns as f64),
        &format!(
            "{}; {} originators, {} responders",
            counts_line(&s.protos, 4),
            esc(&fnum(s.originators as f64)),
            esc(&fnum(s.responders as f64))
        ),
    );
    card(
        h,
        "sum-bytes",
        "bytes (IP)",
        &bytes((s.orig_ip_bytes + s.resp_ip_bytes) as f64),
        &format!(
            "{} up, {} down; payload {} / {}",
            esc(&bytes(s.orig_ip_bytes as f64)),
            esc(&bytes(s.resp_ip_bytes as f64)),
            esc(&bytes(s.orig_bytes as f64)),
            esc(&bytes(s.resp_bytes as f64))
        ),
    );
    card(
        h,
        "sum-services",
        "services",
        &fnum(s.services.iter().filter(|(k, _)| k != "-").count() as f64),
        &counts_line(&s.services, 6),
    );
    card(
        h,
        "sum-weirds",
        "weirds",
        &fnum(d.weird_total as f64),
        &counts_line(
            &d.weirds
                .iter()
                .map(|(k, w)| (k.clone(), w.count))
                .collect::<Vec<_>>(),
            4,
        ),
    );
    let (loss, loss_d) = if d.loss.rows > 0 {
        let pct = if d.loss.acks > 0 {
            100.0 * d.loss.gaps as f64 / d.loss.acks as f64
        } else {
            0.0
        };
        (
            format!("{} %", fnum(pct)),
            format!(
                "{} gaps in {} ACKs (capture_loss.log); worst interval {} %",
                esc(&fnum(d.loss.gaps as f64)),
                esc(&fnum(d.loss.acks as f64)),
                esc(&fnum(d.loss.max_percent))
            ),
        )
    } else {
        ("–".into(), "no capture_loss.log".into())
    };
    card(h, "sum-loss", "capture loss", &loss, &loss_d);
    card(
        h,
        "sum-detect",
        "detection",
        &format!("{} notices", fnum(d.notices.len() as f64)),
        &format!(
            "{} connections scored, {} anomalous",
            esc(&fnum(v.scored as f64)),
            esc(&fnum(v.anomalous as f64))
        ),
    );
    h.push_str("</div>");
    // Services and states as bars.
    h.push_str("<div class=\"grid2\">");
    for (name, items) in [("service", &s.services), ("conn_state", &s.states)] {
        let max = items.iter().map(|x| x.1).max().unwrap_or(1).max(1) as f64;
        let _ = write!(
            h,
            "<table class=\"sortable\" id=\"tbl-{name}\"><thead><tr><th>{name}</th><th class=\"n\">connections</th></tr></thead><tbody>"
        );
        for (k, n) in items.iter().take(20) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\" data-v=\"{n}\"><span class=\"bar\" style=\"width:{}px\"></span>{}</td></tr>",
                esc(k),
                ((*n as f64 / max) * 120.0).round().max(1.0),
                esc(&fnum(*n as f64))
            );
        }
        h.push_str("</tbody></table>");
    }
    if !d.weirds.is_empty() {
        h.push_str("<table class=\"sortable\" id=\"tbl-weirds\"><thead><tr><th>weird</th><th class=\"n\">rows</th><th>first</th><th>example</th></tr></thead><tbody>");
        for (k, w) in d.weirds.iter().take(100) {
            let _ = write!(
                h,
                "<tr><td>{}</td>{}<td>{}</td><td class=\"mono\">{}{}</td></tr>",
                esc(k),
                num_td(w.count as f64, &fnum(w.count as f64)),
                esc(&utc(w.first_ts, true)),
                w.uid.as_deref().map(|u| uid_link(v, u)).unwrap_or_default(),
                w.addl
                    .as_deref()
                    .map(|a| format!(" {}", esc(a)))
                    .unwrap_or_default()
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</div></section>");
}
