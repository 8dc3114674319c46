//! Inline SVG charts: a host series with its band and marked points, the
//! score histogram with the threshold, and the scatter of clustered
//! anomalies. Each returns one `<svg>` element as text; every label is
//! escaped with [`esc`]. Charts carry `data-*` attributes with the numbers
//! they draw (points, points outside, bins, total) so a test can read them
//! back from the browser's DOM.
//!
//! Must not: compute figures (they come from [`super::aggregate`]) or
//! reference anything outside the element (no fonts, images or scripts).

use super::aggregate::{Histogram, Point};
use super::html::{bytes, esc, fnum, hms};
use std::fmt::Write;

/// What a y axis counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Plain counts.
    Count,
    /// Bytes (kB, MB, ...).
    Bytes,
}

fn fmt_unit(u: Unit, x: f64) -> String {
    match u {
        Unit::Count => fnum(x),
        Unit::Bytes => bytes(x),
    }
}

/// A "nice" tick step (1, 2 or 5 × 10^k) for about `n` ticks over `span`.
pub fn nice_step(span: f64, n: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / n.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Cluster colours (index = cluster rank; noise is grey).
pub const PALETTE: [&str; 10] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A host series chart: values as a line, the band as a shaded area with
/// its mean dashed, the learning intervals greyed, points above the band
/// red and below it blue.
pub fn series_chart(
    title: &str,
    points: &[Point],
    first_interval: i64,
    interval: f64,
    unit: Unit,
) -> String {
    let (w, h) = (318.0, 150.0);
    let (ml, mr, mt, mb) = (52.0, 16.0, 18.0, 22.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let n = points.len().max(1);
    let ymax_raw = points
        .iter()
        .flat_map(|p| [p.value, p.hi])
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let step = nice_step(ymax_raw.max(1.0), 3.0);
    let ymax = (ymax_raw.max(1.0) / step).ceil() * step;
    let x = |k: f64| {
        ml + if n > 1 {
            k / (n - 1) as f64 * pw
        } else {
            pw / 2.0
        }
    };
    let y = |v: f64| mt + ph - (v / ymax).clamp(0.0, 1.05) * ph;
    let above = points.iter().filter(|p| p.outside == 1).count();
    let below = points.iter().filter(|p| p.outside == -1).count();
    let mut s = String::with_capacity(4096 + points.len() * 40);
    let _ = write!(
        s,
        "<svg class=\"chart series\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" data-points=\"{}\" data-above=\"{above}\" data-below=\"{below}\"><title>{}</title>",
        points.len(),
        esc(title)
    );
    let _ = write!(
        s,
        "<text x=\"{ml}\" y=\"12\" class=\"ct\">{}</text>",
        esc(title)
    );
    // Learning intervals.
    let mut k = 0;
    while k < points.len() {
        if !points[k].learning {
            k += 1;
            continue;
        }
        let start = k;
        while k < points.len() && points[k].learning {
            k += 1;
        }
        let half = if n > 1 {
            pw / (n - 1) as f64 / 2.0
        } else {
            0.0
        };
        let x0 = (x(start as f64) - half).max(ml);
        let x1 = (x((k - 1) as f64) + half).min(ml + pw);
        let _ = write!(
            s,
            "<rect class=\"learn\" x=\"{}\" y=\"{mt}\" width=\"{}\" height=\"{ph}\"><title>learning the band</title></rect>",
            r1(x0),
            r1((x1 - x0).max(1.0))
        );
    }
    // Grid and y labels.
    let mut t = 0.0;
    while t <= ymax + step * 0.01 {
        let yy = r1(y(t));
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ml}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\"/><text class=\"yl\" x=\"{}\" y=\"{}\">{}</text>",
            ml + pw,
            ml - 4.0,
            yy + 3.0,
            esc(&fmt_unit(unit, t))
        );
        t += step;
    }
    // x labels: about 5 times.
    let xs = (n as f64 / 5.0).ceil().max(1.0) as usize;
    for k in (0..n).step_by(xs) {
        let ts = (first_interval + k as i64) as f64 * interval;
        let _ = write!(
            s,
            "<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>",
            r1(x(k as f64)),
            h - 6.0,
            esc(&hms(ts, interval < 60.0))
        );
    }
    // Band: one shaded area per run of points with the same baseline
    // (the host's own, or the population's for a host new since training).
    let mut k = 0;
    while k < points.len() {
        if !(points[k].hi.is_finite() && points[k].lo.is_finite()) {
            k += 1;
            continue;
        }
        let pop = points[k].population;
        let start = k;
        while k < points.len()
            && points[k].hi.is_finite()
            && points[k].lo.is_finite()
            && points[k].population == pop
        {
            k += 1;
        }
        let run = start..k;
        let class = if pop { "band pop" } else { "band" };
        let _ = write!(s, "<path class=\"{class}\" d=\"");
        for (j, i) in run.clone().enumerate() {
            let _ = write!(
                s,
                "{}{},{}",
                if j == 0 { "M" } else { "L" },
                r1(x(i as f64)),
                r1(y(points[i].hi))
            );
        }
        if run.len() == 1 {
            let _ = write!(
                s,
                "L{},{}",
                r1(x(start as f64) + 2.0),
                r1(y(points[start].hi))
            );
            let _ = write!(
                s,
                "L{},{}",
                r1(x(start as f64) + 2.0),
                r1(y(points[start].lo))
            );
        }
        for i in run.clone().rev() {
            let _ = write!(s, "L{},{}", r1(x(i as f64)), r1(y(points[i].lo)));
        }
        let _ = write!(
            s,
            "Z\"><title>{}</title></path><polyline class=\"mean\" points=\"",
            if pop {
                "population band (host new since training)"
            } else {
                "the host's band"
            }
        );
        for i in run {
            let _ = write!(s, "{},{} ", r1(x(i as f64)), r1(y(points[i].mean)));
        }
        s.push_str("\"/>");
    }
    s.push_str("<polyline class=\"line\" points=\"");
    for (k, p) in points.iter().enumerate() {
        let _ = write!(s, "{},{} ", r1(x(k as f64)), r1(y(p.value)));
    }
    s.push_str("\"/>");
    for (k, p) in points.iter().enumerate().filter(|(_, p)| p.outside != 0) {
        let ts = (first_interval + k as i64) as f64 * interval;
        let (class, word) = if p.outside > 0 {
            ("above", "above")
        } else {
            ("below", "below")
        };
        let _ = write!(
            s,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"3.2\"><title>{}</title></circle>",
            r1(x(k as f64)),
            r1(y(p.value)),
            esc(&format!(
                "{} UTC: {} ({word} the band {} to {})",
                hms(ts, interval < 60.0),
                fmt_unit(unit, p.value),
                fmt_unit(unit, p.lo),
                fmt_unit(unit, p.hi)
            ))
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{ml}\" x2=\"{ml}\" y1=\"{mt}\" y2=\"{}\"/></svg>",
        mt + ph
    );
    s
}

/// The score histogram (log-scaled counts) with the threshold.
pub fn histogram_chart(hist: &Histogram, threshold: Option<f64>) -> String {
    let (w, h) = (760.0, 250.0);
    let (ml, mr, mt, mb) = (52.0, 12.0, 16.0, 34.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let bins = hist.counts.len().max(1);
    let hi = hist.lo + hist.width * bins as f64;
    let max = hist.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let decades = max.log10().ceil().max(1.0);
    let y = |c: f64| {
        if c <= 0.0 {
            mt + ph
        } else {
            mt + ph - (c.log10() + 0.3) / (decades + 0.3) * ph
        }
    };
    let x = |v: f64| ml + (v - hist.lo) / (hi - hist.lo) * pw;
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        "<svg class=\"chart hist\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" data-total=\"{}\" data-bins=\"{bins}\" data-overflow=\"{}\" data-threshold=\"{}\"><title>score histogram</title>",
        hist.total,
        hist.overflow,
        threshold.map_or("".to_string(), |t| format!("{t}"))
    );
    for d in 0..=(decades as u32) {
        let c = 10f64.powi(d as i32);
        let yy = r1(y(c));
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ml}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\"/><text class=\"yl\" x=\"{}\" y=\"{}\">{}</text>",
            ml + pw,
            ml - 4.0,
            yy + 3.0,
            esc(&fnum(c))
        );
    }
    let bw = pw / bins as f64;
    for (k, &c) in hist.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let a = hist.anomalous.get(k).copied().unwrap_or(0);
        let from = hist.lo + hist.width * k as f64;
        let to = from + hist.width;
        let class = if a * 2 > c { "hb anom" } else { "hb" };
        let last = k + 1 == bins && hist.overflow > 0;
        let _ = write!(
            s,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" data-count=\"{c}\"><title>{}</title></rect>",
            r1(ml + bw * k as f64 + 0.5),
            r1(y(c as f64)),
            r1((bw - 1.0).max(0.5)),
            r1(mt + ph - y(c as f64)),
            esc(&format!(
                "score {} to {}{}: {} connections, {} anomalous",
                fnum(from),
                if last { "and above".to_string() } else { fnum(to) },
                if last { format!(" ({} beyond {})", hist.overflow, fnum(to)) } else { String::new() },
                fnum(c as f64),
                fnum(a as f64)
            ))
        );
    }
    let step = nice_step(hi - hist.lo, 8.0);
    let mut t = (hist.lo / step).ceil() * step;
    while t <= hi + 1e-9 {
        let _ = write!(
            s,
            "<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>",
            r1(x(t)),
            mt + ph + 14.0,
            esc(&fnum(t))
        );
        t += step;
    }
    let _ = write!(
        s,
        "<text class=\"xl\" x=\"{}\" y=\"{}\">combined score (0 = training median, 1 = training 99th percentile)</text>",
        ml + pw / 2.0,
        h - 4.0
    );
    if let Some(t) = threshold.filter(|t| t.is_finite() && *t >= hist.lo && *t <= hi) {
        let xx = r1(x(t));
        let _ = write!(
            s,
            "<line class=\"thr\" x1=\"{xx}\" x2=\"{xx}\" y1=\"{mt}\" y2=\"{}\"/><text class=\"thrl\" x=\"{}\" y=\"{}\">threshold {}</text>",
            mt + ph,
            xx + 4.0,
            mt + 10.0,
            esc(&fnum(t))
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{ml}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        ml + pw,
        mt + ph,
        mt + ph
    );
    s
}

/// The anomalies' merged points: x = ln(1 + duration), y = ln(1 + payload
/// bytes both ways), area by the connections merged, colour by cluster.
pub fn scatter_chart(points: &[([f64; 5], f64, Option<u32>)]) -> String {
    let (w, h) = (600.0, 300.0);
    let (ml, mr, mt, mb) = (64.0, 10.0, 10.0, 34.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let xy = |p: &[f64; 5]| {
        let bytes = p[1].exp_m1().max(0.0) + p[2].exp_m1().max(0.0);
        (p[0], bytes.ln_1p())
    };
    let (mut xmax, mut ymax) = (1.0f64, 1.0f64);
    for (p, _, _) in points {
        let (a, b) = xy(p);
        xmax = xmax.max(a);
        ymax = ymax.max(b);
    }
    xmax = xmax.ceil();
    ymax = ymax.ceil();
    // A margin below 0, so points at zero are not on the axes.
    let (x0, y0) = (-0.04 * xmax, -0.04 * ymax);
    let x = |v: f64| ml + (v - x0) / (xmax - x0) * pw;
    let y = |v: f64| mt + ph - (v - y0) / (ymax - y0) * ph;
    let mut s = String::with_capacity(1024 + points.len() * 90);
    let _ = write!(
        s,
        "<svg class=\"chart scatter\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" data-points=\"{}\"><title>clusters of anomalous connections</title>",
        points.len()
    );
    let ys = nice_step(ymax, 5.0).max(1.0).round();
    let mut k = 0.0;
    while k <= ymax + 1e-9 {
        let yy = r1(y(k));
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ml}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\"/><text class=\"yl\" x=\"{}\" y=\"{}\">{}</text>",
            ml + pw,
            ml - 4.0,
            yy + 3.0,
            esc(&bytes(k.exp_m1()))
        );
        k += ys;
    }
    let xs = nice_step(xmax, 6.0).max(1.0).round();
    let mut t = 0.0;
    while t <= xmax + 1e-9 {
        let _ = write!(
            s,
            "<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>",
            r1(x(t)),
            mt + ph + 14.0,
            esc(&super::html::duration(t.exp_m1()))
        );
        t += xs;
    }
    let _ = write!(
        s,
        "<text class=\"xl\" x=\"{}\" y=\"{}\">x: duration, y: payload bytes both ways (both log scale)</text>",
        ml + pw / 2.0,
        h - 4.0
    );
    // Noise first, so clusters are drawn on top.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].2.is_some(), std::cmp::Reverse(points[i].1 as u64)));
    for i in order {
        let (p, wgt, l) = &points[i];
        let (a, b) = xy(p);
        let (fill, label) = match l {
            Some(c) => (
                PALETTE.get(*c as usize).copied().unwrap_or("#7f7f7f"),
                format!("cluster {}", c + 1),
            ),
            None => ("#b0b0b0", "noise".to_string()),
        };
        let r = (2.5 + wgt.log10().max(0.0) * 2.5).min(14.0);
        let _ = write!(
            s,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" fill-opacity=\"0.65\" stroke=\"#fff\" stroke-width=\"0.6\"><title>{}</title></circle>",
            r1(x(a)),
            r1(y(b)),
            r1(r),
            esc(&format!("{label}: {} connections", fnum(*wgt)))
        );
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{ml}\" x2=\"{ml}\" y1=\"{mt}\" y2=\"{}\"/><line class=\"axis\" x1=\"{ml}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        mt + ph,
        ml + pw,
        mt + ph,
        mt + ph
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(801.0, 3.0), 500.0);
        assert_eq!(nice_step(0.9, 3.0), 0.5);
        assert_eq!(nice_step(0.0, 3.0), 1.0);
        assert_eq!(nice_step(f64::NAN, 3.0), 1.0);
    }

    #[test]
    fn series_chart_marks_points_and_escapes_the_title() {
        let mut pts = vec![
            Point {
                value: 1.0,
                mean: 1.0,
                lo: 0.0,
                hi: 5.0,
                learning: false,
                outside: 0,
                population: false,
            };
            10
        ];
        pts[0].learning = true;
        pts[4].value = 9.0;
        pts[4].outside = 1;
        let svg = series_chart("<b>\"x\"</b>", &pts, 100, 60.0, Unit::Count);
        assert!(svg.contains("data-points=\"10\" data-above=\"1\" data-below=\"0\""));
        assert_eq!(svg.matches("<circle class=\"above\"").count(), 1);
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;b&gt;&quot;x&quot;&lt;/b&gt;"));
        assert_eq!(svg.matches("<rect class=\"learn\"").count(), 1);
    }
}
