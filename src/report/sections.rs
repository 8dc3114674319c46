//! The page's sections, each written into the page's buffer: summary,
//! notices, hosts, scores, top connections, clusters, names and extra
//! fields, connection details, notes. Every value from the logs goes
//! through [`esc`] (text and attributes) or [`anchor`] (ids and links).
//!
//! Must not: compute figures (they come from [`super::aggregate`]) or
//! write anything outside the section's element.

use super::aggregate::{self, View, SERIES};
use super::cluster::{DIM_NAMES, MAX_POINTS};
use super::html::{anchor, bytes, duration, esc, fnum, hms, push_esc, utc};
use super::load::{Dataset, Detail, NONE};
use super::svg::{self, Unit};
use super::{Options, Threshold};
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

/// A feature value as people read it: `log_*` features are `ln(1+x)`.
fn feature_value(name: &str, x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let Some(base) = name.strip_prefix("log_") else {
        return fnum(x);
    };
    let raw = x.exp_m1();
    if base.contains("bytes") && !base.contains("ratio")
        || base.ends_with("size")
        || base.contains("payload_std")
    {
        bytes(raw)
    } else if base == "duration" || base.starts_with("iat") {
        duration(raw)
    } else if base == "rtt_ms" {
        format!("{} ms", fnum(raw))
    } else if base == "payload_rate" {
        format!("{}/s", bytes(raw))
    } else if base == "pkt_rate" {
        format!("{} pkt/s", fnum(raw))
    } else {
        fnum(raw)
    }
}

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

pub(super) fn summary_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(super) fn notices_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(super) fn hosts_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(super) fn scores_section(h: &mut String, d: &Dataset, v: &View) {
    h.push_str("<section id=\"scores\"><h2>Scores</h2>");
    let Some(hist) = &v.histogram else {
        h.push_str("<p class=\"note\">No score.log rows: the logs were written without a model (<code>--model</code>, <code>--train-seconds</code> or <code>--train-until</code>).</p></section>");
        return;
    };
    let thr = v.threshold.as_ref().and_then(Threshold::value);
    let what = match &v.threshold {
        Some(Threshold::Model { value, from }) => format!(
            "threshold {} (calibrated, from {})",
            esc(&format!("{value:.6}")),
            esc(from)
        ),
        Some(Threshold::Inferred { below, above }) => format!(
            "threshold between {} and {} (inferred from score.log: the highest score not marked anomalous and the lowest marked; pass <code>--model</code> for the calibrated value)",
            esc(&format!("{below:.6}")),
            esc(&format!("{above:.6}"))
        ),
        _ => "no threshold known (no anomalous row, no model)".into(),
    };
    let _ = write!(
        h,
        "<p>{} connections scored, <span class=\"bad\" id=\"anomalous-count\">{}</span> above the threshold; {}. Counts are on a log scale; red bars are mostly anomalous rows.</p>",
        esc(&fnum(v.scored as f64)),
        esc(&fnum(v.anomalous as f64)),
        what
    );
    h.push_str(&svg::histogram_chart(hist, thr));
    if hist.overflow > 0 {
        let _ = write!(
            h,
            "<p class=\"note\">The last bin also holds the {} scores beyond its edge (up to {}).</p>",
            esc(&fnum(hist.overflow as f64)),
            esc(&fnum(
                d.scores
                    .iter()
                    .map(|s| s.score)
                    .filter(|x| x.is_finite())
                    .fold(f64::NEG_INFINITY, f64::max)
            ))
        );
    }
    h.push_str("</section>");
}

pub(super) fn top_section(h: &mut String, d: &Dataset, v: &View, opts: &Options) {
    let _ = write!(
        h,
        "<section id=\"top\"><h2>Top {} connections by score</h2>",
        opts.top
    );
    if v.top.is_empty() {
        h.push_str("<p class=\"note\">No scored connections.</p></section>");
        return;
    }
    h.push_str("<p class=\"note\">Why each stood out: the three features with the largest robust |z| against its service class in training (score.log <code>top_features</code>), the connection's value against the class median. <code>log_*</code> features are ln(1+x); the value in brackets is x.</p>");
    h.push_str("<table class=\"sortable\" id=\"tbl-top\"><thead><tr><th class=\"n\">#</th><th class=\"n\">score</th><th>start (UTC)</th><th>uid</th><th>originator → responder</th><th>proto / class</th><th>top features: value vs baseline</th><th class=\"n\">robust / iforest / ecod / ae</th></tr></thead><tbody>");
    for (rank, &i) in v.top.iter().enumerate() {
        let Some(s) = d.scores.get(i as usize) else {
            continue;
        };
        let _ = write!(
            h,
            "<tr>{}<td class=\"n\" data-v=\"{}\">{}{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}:{} → {}:{}</td><td>{} / {}</td><td>",
            num_td((rank + 1) as f64, &(rank + 1).to_string()),
            s.score,
            esc(&fnum(s.score)),
            if s.anomalous { " <span class=\"tag anom\">anomalous</span>" } else { "" },
            s.ts,
            esc(&utc(s.ts, true)),
            uid_link(v, d.score_uid(i)),
            addr(d, d.addrs.get(s.orig_h)),
            s.orig_p,
            addr(d, d.addrs.get(s.resp_h)),
            s.resp_p,
            esc(word(d, s.proto)),
            esc(word(d, s.class)),
        );
        for c in s.top.iter().take(s.n_top as usize) {
            let name = d.words.get(c.feature);
            let dir = if c.value > c.baseline {
                "<span class=\"up\">▲</span>"
            } else if c.value < c.baseline {
                "<span class=\"down\">▼</span>"
            } else {
                ""
            };
            let raw = if name.starts_with("log_") {
                format!(
                    " <span class=\"name\">({} vs {})</span>",
                    esc(&feature_value(name, c.value)),
                    esc(&feature_value(name, c.baseline))
                )
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<div>{dir} <code>{}</code> {} vs {}{raw}</div>",
                esc(name),
                esc(&fnum(c.value)),
                esc(&fnum(c.baseline)),
            );
        }
        let dets: Vec<String> = s.detectors.iter().map(|x| fnum(*x)).collect();
        let _ = write!(
            h,
            "</td><td class=\"n\">{}</td></tr>",
            esc(&dets.join(" / "))
        );
    }
    h.push_str("</tbody></table></section>");
}

pub(super) fn clusters_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(super) fn fields_section(h: &mut String, d: &Dataset) {
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

pub(super) fn details_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(super) fn notes_section(h: &mut String, d: &Dataset, v: &View, opts: &Options) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_values_undo_the_log() {
        // ln(1 + 9999) = 9.21034; 1e4 - 1 bytes.
        assert_eq!(feature_value("log_orig_bytes", 10_000f64.ln()), "10.0 kB");
        assert_eq!(feature_value("log_duration", 2f64.ln()), "1 s");
        assert_eq!(feature_value("syn_error", 1.0), "1");
    }
}
