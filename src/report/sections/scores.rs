//! The score sections: the score histogram with the threshold, and the top
//! connections by score with the features that stood out (a `log_*`
//! feature shown back in its own unit).
//!
//! Must not: rank or sample connections (the view's aggregation does).

use super::{addr, num_td, uid_link, word};
use crate::report::aggregate::View;
use crate::report::html::{bytes, duration, esc, fnum, utc};
use crate::report::load::Dataset;
use crate::report::svg;
use crate::report::{Options, Threshold};
use std::fmt::Write;

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

pub(in crate::report) fn scores_section(h: &mut String, d: &Dataset, v: &View) {
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

pub(in crate::report) fn top_section(h: &mut String, d: &Dataset, v: &View, opts: &Options) {
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
