//! The names-and-fields section (addresses named in dns.log, conn.log's
//! extra columns) and the connection-details section (each linked
//! connection's full conn.log, flowmeter.log and context.log rows).
//!
//! Must not: read rows from the logs (the loader kept them).

use super::num_td;
use crate::report::aggregate::View;
use crate::report::html::{anchor, esc, fnum};
use crate::report::load::{Dataset, Detail};
use std::fmt::Write;

pub(in crate::report) fn fields_section(h: &mut String, d: &Dataset) {
    h.push_str("<section id=\"fields\"><h2>Names, places and extra fields</h2>");
    if d.names.is_empty() && d.extras.is_empty() {
        h.push_str("<p class=\"note\">These logs carry no DNS names (no dns.log) and no conn.log columns beyond Zeek's; GeoIP, ASN or name columns added to conn.log would be listed here.</p></section>");
        return;
    }
    if !d.names.is_empty() {
        let mut names: Vec<(&String, &Vec<String>)> = d.names.iter().collect();
        names.sort();
        let _ = write!(
            h,
            "<h3>Addresses named in dns.log answers ({})</h3><table class=\"sortable\" id=\"tbl-names\"><thead><tr><th>address</th><th>names</th></tr></thead><tbody>",
            esc(&fnum(names.len() as f64))
        );
        for (a, n) in names.iter().take(500) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(a),
                esc(&n.join(", "))
            );
        }
        h.push_str("</tbody></table>");
    }
    if !d.extras.is_empty() {
        h.push_str("<h3>conn.log columns beyond Zeek's (GeoIP, ASN, names, optional fields)</h3><table id=\"tbl-extras\"><thead><tr><th>column</th><th class=\"n\">rows set</th><th class=\"n\">distinct</th><th>most frequent values</th></tr></thead><tbody>");
        for e in &d.extras {
            let mut vals: Vec<(&String, &u64)> = e.values.iter().collect();
            vals.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let distinct = if e.other > 0 {
                format!("≥ {}", fnum(e.values.len() as f64))
            } else {
                fnum(e.values.len() as f64)
            };
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td>{}<td class=\"n\">{}</td><td>",
                esc(&e.name),
                num_td(e.set as f64, &fnum(e.set as f64)),
                esc(&distinct)
            );
            for (x, n) in vals.iter().take(10) {
                let _ = write!(
                    h,
                    "<span class=\"tag\">{} ×{}</span>",
                    esc(x),
                    esc(&fnum(**n as f64))
                );
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn pairs_table(h: &mut String, pairs: &[(String, String)]) {
    h.push_str("<div class=\"kvs\">");
    for (k, val) in pairs {
        let _ = write!(
            h,
            "<span class=\"kv\"><b>{}</b> <span class=\"mono\">{}</span></span>",
            esc(k),
            esc(val)
        );
    }
    h.push_str("</div>");
}

pub(in crate::report) fn details_section(h: &mut String, d: &Dataset, v: &View) {
    h.push_str("<section id=\"details\"><h2>Connection details</h2><p class=\"note\">The full conn.log row (with any extra columns) of each connection linked above, and its flowmeter.log and context.log rows when those logs exist.</p>");
    // Order: top by score, typical members, notices.
    let mut order: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |u: &str| {
        if v.details.contains_key(u) && seen.insert(u.to_string()) {
            order.push(u.to_string());
        }
    };
    for &s in &v.top {
        add(d.score_uid(s));
    }
    for c in &v.clusters {
        add(d.conn_uid(c.typical));
    }
    for nv in &v.notices {
        if let Some(u) = d.notices.get(nv.notice).and_then(|n| n.uid.as_deref()) {
            add(u);
        }
    }
    for u in order {
        let Some(det) = v.details.get(&u) else {
            continue;
        };
        let _ = write!(
            h,
            "<div class=\"detail\" id=\"{}\"><h3 class=\"mono\">{}</h3>",
            anchor("c", &u),
            esc(&u)
        );
        detail_body(h, det);
        h.push_str("</div>");
    }
    h.push_str("</section>");
}

fn detail_body(h: &mut String, det: &Detail) {
    pairs_table(h, &det.conn);
    for (name, pairs) in [
        ("flowmeter.log", &det.flowmeter),
        ("context.log", &det.context),
    ] {
        if pairs.is_empty() {
            continue;
        }
        let _ = write!(h, "<details><summary>{name}</summary>");
        pairs_table(h, pairs);
        h.push_str("</details>");
    }
}
