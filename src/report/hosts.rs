//! Per-host series with a learned band: the "Hosts" section's figures.
//!
//! Per-host series are per originator and interval (epoch-aligned, 60 s by
//! default like the `Host_Volume` detector's): connections, distinct peers
//! (responders), bytes up (`orig_ip_bytes`) and down (`resp_ip_bytes`), by
//! conn.log `ts`. The band is the `Host_Volume` detector's baseline: an
//! EWMA mean and variance (α = [`host_volume::ALPHA`]) over the host's
//! intervals (silent ones count as 0), band = mean ± 3σ with σ at least
//! 25 % of the mean and an absolute floor per series. Intervals in the
//! training prefix (connections score.log has no row for) only teach the
//! band; after it a host seen in training is judged on its own band and a
//! new host on the population's (every host's training intervals) until it
//! has `MIN_OWN` intervals of its own. Without a prefix (a loaded model),
//! a host's first [`WARMUP`] intervals teach its band. Points outside the
//! band are marked, and one above it is not learned from (so an attack
//! does not become normal), as the detector does.
//!
//! Must not: read files or format HTML.

use super::aggregate::View;
use super::load::{Dataset, NONE};
use super::Options;
use crate::detect::host::host_volume;
use std::collections::{HashMap, HashSet};

/// Most intervals in a series (the interval widens past it).
pub const MAX_INTERVALS: usize = 720;
/// Intervals a host's band learns from before points are judged.
pub const WARMUP: u64 = 5;
/// Hosts in the host table.
pub const HOST_TABLE_MAX: usize = 50;

/// One point of a host series.
#[derive(Clone, Copy, Debug, Default)]
pub struct Point {
    /// The value.
    pub value: f64,
    /// Band mean before this interval (NaN before the first).
    pub mean: f64,
    /// Band low edge.
    pub lo: f64,
    /// Band high edge.
    pub hi: f64,
    /// Only learned from (training prefix or warm-up).
    pub learning: bool,
    /// Judged and outside the band: +1 above, -1 below, 0 inside.
    pub outside: i8,
    /// The band is the population's (a host new since training).
    pub population: bool,
}

/// One host's four series.
#[derive(Clone, Debug, Default)]
pub struct HostSeries {
    /// The host ([`Dataset::addrs`]).
    pub addr: u32,
    /// Interval index (`start / interval`) of the first point.
    pub first_interval: i64,
    /// Per series ([`SERIES`]), one point per interval.
    pub series: [Vec<Point>; 4],
    /// Points above the band over the four series.
    pub above: u64,
    /// Points below the band.
    pub below: u64,
}

/// Series names, in [`HostSeries::series`] order.
pub const SERIES: [&str; 4] = ["connections", "distinct peers", "bytes up", "bytes down"];

/// One row of the host table.
#[derive(Clone, Debug, Default)]
pub struct HostRow {
    /// The host.
    pub addr: u32,
    /// Connections it originated.
    pub conns: u64,
    /// Distinct responders it contacted.
    pub peers: u64,
    /// `orig_ip_bytes` summed.
    pub up: u64,
    /// `resp_ip_bytes` summed.
    pub down: u64,
    /// Notices naming it as `src`.
    pub notices: u64,
    /// Anomalous connections it originated.
    pub anomalous: u64,
    /// Points above its band (when its series was computed).
    pub above: Option<u64>,
}

/// The series interval: the option, else 60 s widened (in steps a person
/// reads: 2, 5, 10, 15, 30 min, 1, 2, 6, 12 h, days) until the span has at
/// most [`MAX_INTERVALS`].
pub fn interval(opts: &Options, span: f64) -> f64 {
    if let Some(i) = opts.interval.filter(|i| i.is_finite() && *i >= 1.0) {
        return i;
    }
    let steps = [
        60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0,
    ];
    let mut iv = steps[0];
    for s in steps {
        iv = s;
        if span / s <= MAX_INTERVALS as f64 {
            return s;
        }
    }
    while span / iv > MAX_INTERVALS as f64 {
        iv *= 2.0;
    }
    iv
}

/// The end of the training prefix: the latest start among the connections
/// score.log has no row for (a training prefix is learned from, not
/// scored), when later connections were scored. `None` when everything was
/// scored (a loaded model) or nothing was.
pub fn train_end(d: &Dataset) -> Option<f64> {
    if d.scores.is_empty() {
        return None;
    }
    let t = d
        .conns
        .iter()
        .filter(|c| c.score == NONE)
        .map(|c| c.ts)
        .fold(f64::NEG_INFINITY, f64::max);
    let later = d.conns.iter().any(|c| c.score != NONE && c.ts > t);
    (t.is_finite() && later).then_some(t)
}

/// The baseline of one series (the `Host_Volume` detector's): an EWMA for
/// a host, an exact mean and variance for the population.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Base {
    /// Intervals seen.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

impl Base {
    /// EWMA update (the first value sets the mean).
    pub fn ewma(&mut self, x: f64) {
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            let inc = host_volume::ALPHA * d;
            self.mean += inc;
            self.var = (1.0 - host_volume::ALPHA) * (self.var + d * inc);
        }
        self.n += 1;
    }

    /// Exact running mean and variance (Welford; `var` is M2 / n).
    pub fn welford(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        let m2 = self.var * (self.n - 1) as f64 + d * (x - self.mean);
        self.var = m2 / self.n as f64;
    }

    /// The band `[max(0, mean - 3σ), mean + 3σ]`, σ floored as the
    /// detector floors it.
    pub fn band(&self, series: usize) -> (f64, f64) {
        let floor = host_volume::SIGMA_ABS_FLOOR
            .get(series)
            .copied()
            .unwrap_or(0.0);
        let sigma = self
            .var
            .max(0.0)
            .sqrt()
            .max(host_volume::SIGMA_REL_FLOOR * self.mean)
            .max(floor);
        (
            (self.mean - host_volume::SIGMAS * sigma).max(0.0),
            self.mean + host_volume::SIGMAS * sigma,
        )
    }
}

/// What a series' band depends on besides its values.
#[derive(Clone, Copy, Debug, Default)]
pub struct BandCtx {
    /// Interval length, seconds.
    pub interval: f64,
    /// End of the training prefix.
    pub train_end: Option<f64>,
    /// The population baseline per series (every host's intervals with
    /// connections in the training prefix), when there is a prefix.
    pub pop: Option<[Base; 4]>,
}

/// Runs the band over one series of values starting at interval `first`
/// (see the module docs): intervals in the training prefix teach the
/// host's own EWMA; after it, a host with training intervals is judged
/// against its own band, a new one against the population's until it has
/// [`host_volume::MIN_OWN`] intervals of its own. Without a training
/// prefix the host's own band is used after [`WARMUP`] intervals.
pub fn band_series(values: &[f64], series: usize, first: i64, ctx: &BandCtx) -> Vec<Point> {
    let mut own = Base::default();
    let mut trained = false;
    let pop = ctx.pop.and_then(|p| p.get(series).copied());
    values
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            let start = (first + k as i64) as f64 * ctx.interval;
            let in_train = ctx.train_end.is_some_and(|t| start + ctx.interval <= t);
            let use_pop = !in_train && !trained && own.n < host_volume::MIN_OWN && pop.is_some();
            let base = match pop {
                Some(p) if use_pop => p,
                _ => own,
            };
            let learning = in_train || (!use_pop && !trained && own.n < WARMUP);
            let (lo, hi) = if base.n == 0 {
                (f64::NAN, f64::NAN)
            } else {
                base.band(series)
            };
            let outside = if learning || base.n == 0 {
                0
            } else if x > hi {
                1
            } else if x < lo {
                -1
            } else {
                0
            };
            let mean = if base.n == 0 { f64::NAN } else { base.mean };
            if outside != 1 {
                own.ewma(x);
            }
            trained |= in_train;
            Point {
                value: x,
                mean,
                lo,
                hi,
                learning,
                outside,
                population: use_pop,
            }
        })
        .collect()
}

/// One host's four series from its connections (conn.log rows).
fn host_series(d: &Dataset, addr: u32, conns: &[u32], ctx: &BandCtx, last_iv: i64) -> HostSeries {
    let iv_of = |t: f64| (t / ctx.interval).floor() as i64;
    let first = conns
        .iter()
        .map(|&c| iv_of(d.conns[c as usize].ts))
        .min()
        .unwrap_or(last_iv);
    let n = (last_iv - first + 1).clamp(1, 4 * MAX_INTERVALS as i64) as usize;
    let mut vals = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut peers: Vec<HashSet<u32>> = vec![HashSet::new(); n];
    for &c in conns {
        let c = &d.conns[c as usize];
        let k = (iv_of(c.ts) - first) as usize;
        if k >= n {
            continue;
        }
        vals[0][k] += 1.0;
        peers[k].insert(c.resp_h);
        vals[2][k] += c.orig_ip_bytes as f64;
        vals[3][k] += c.resp_ip_bytes as f64;
    }
    for (k, p) in peers.iter().enumerate() {
        vals[1][k] = p.len() as f64;
    }
    let mut h = HostSeries {
        addr,
        first_interval: first,
        ..HostSeries::default()
    };
    for (s, vs) in vals.iter().enumerate() {
        h.series[s] = band_series(vs, s, first, ctx);
        h.above += h.series[s].iter().filter(|p| p.outside == 1).count() as u64;
        h.below += h.series[s].iter().filter(|p| p.outside == -1).count() as u64;
    }
    h
}

/// The population baseline: Welford over every (originator, interval)
/// with connections that ends within the training prefix.
fn population(d: &Dataset, interval: f64, train_end: f64) -> [Base; 4] {
    let mut acc: HashMap<(u32, i64), [f64; 3]> = HashMap::new();
    let mut peers: HashSet<(u32, i64, u32)> = HashSet::new();
    for c in &d.conns {
        let iv = (c.ts / interval).floor() as i64;
        if (iv + 1) as f64 * interval > train_end {
            continue;
        }
        let a = acc.entry((c.orig_h, iv)).or_insert([0.0; 3]);
        a[0] += 1.0;
        a[1] += c.orig_ip_bytes as f64;
        a[2] += c.resp_ip_bytes as f64;
        peers.insert((c.orig_h, iv, c.resp_h));
    }
    let mut npeers: HashMap<(u32, i64), f64> = HashMap::new();
    for (h, iv, _) in peers {
        *npeers.entry((h, iv)).or_insert(0.0) += 1.0;
    }
    // A fixed order, so the sums do not depend on hashing.
    let mut keys: Vec<(u32, i64)> = acc.keys().copied().collect();
    keys.sort_unstable();
    let mut b = [Base::default(); 4];
    for k in keys {
        let a = acc[&k];
        let p = npeers.get(&k).copied().unwrap_or(0.0);
        for (s, x) in [a[0], p, a[1], a[2]].into_iter().enumerate() {
            b[s].welford(x);
        }
    }
    b
}

/// The host table and the hosts drawn, into `v` (which has its summary,
/// interval and training end already).
pub fn hosts(d: &Dataset, opts: &Options, v: &mut View) {
    let n = d.addrs.len();
    let mut rows: Vec<HostRow> = Vec::new();
    let mut slot: Vec<u32> = vec![NONE; n];
    let mut by_host: Vec<Vec<u32>> = Vec::new();
    for c in &d.conns {
        let a = c.orig_h as usize;
        if a >= n {
            continue;
        }
        if slot[a] == NONE {
            slot[a] = rows.len() as u32;
            rows.push(HostRow {
                addr: c.orig_h,
                ..HostRow::default()
            });
            by_host.push(Vec::new());
        }
        let r = &mut rows[slot[a] as usize];
        r.conns += 1;
        r.up += c.orig_ip_bytes;
        r.down += c.resp_ip_bytes;
        if d.scores.get(c.score as usize).is_some_and(|s| s.anomalous) {
            r.anomalous += 1;
        }
    }
    for nt in &d.notices {
        if let Some(a) = nt.src.as_ref().and_then(|s| d.addrs.find(s)) {
            if let Some(&k) = slot.get(a as usize).filter(|k| **k != NONE) {
                rows[k as usize].notices += 1;
            }
        }
    }
    // Candidates for the charts: noticed hosts and the busiest.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        rows[b]
            .conns
            .cmp(&rows[a].conns)
            .then(rows[a].addr.cmp(&rows[b].addr))
    });
    let mut cand: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&k| rows[k].notices > 0)
        .collect();
    cand.extend(
        order
            .iter()
            .copied()
            .filter(|&k| rows[k].notices == 0)
            .take(HOST_TABLE_MAX),
    );
    let mut need: Vec<bool> = vec![false; rows.len()];
    for &k in &cand {
        need[k] = true;
    }
    for (i, c) in d.conns.iter().enumerate() {
        if let Some(&k) = slot.get(c.orig_h as usize) {
            if k != NONE && need[k as usize] {
                by_host[k as usize].push(i as u32);
            }
        }
    }
    let last_iv = (v.summary.last / v.interval).floor() as i64;
    let ctx = BandCtx {
        interval: v.interval,
        train_end: v.train_end,
        pop: v
            .train_end
            .map(|t| population(d, v.interval, t))
            .filter(|p| p[0].n > 0),
    };
    let mut series: Vec<(usize, HostSeries)> = Vec::new();
    for &k in &cand {
        let hs = host_series(d, rows[k].addr, &by_host[k], &ctx, last_iv);
        let mut peers: HashSet<u32> = HashSet::new();
        for &c in &by_host[k] {
            peers.insert(d.conns[c as usize].resp_h);
        }
        rows[k].peers = peers.len() as u64;
        rows[k].above = Some(hs.above);
        series.push((k, hs));
    }
    // Charts: noticed hosts (most notices first), then most points above
    // the band, then the busiest.
    series.sort_by(|(a, ha), (b, hb)| {
        rows[*b]
            .notices
            .cmp(&rows[*a].notices)
            .then(hb.above.cmp(&ha.above))
            .then(rows[*b].conns.cmp(&rows[*a].conns))
            .then(rows[*a].addr.cmp(&rows[*b].addr))
    });
    v.series = series
        .into_iter()
        .take(opts.hosts)
        .map(|(_, h)| h)
        .collect();
    let mut table: Vec<HostRow> = cand.iter().map(|&k| rows[k].clone()).collect();
    table.sort_by(|a, b| {
        b.notices
            .cmp(&a.notices)
            .then(b.conns.cmp(&a.conns))
            .then(a.addr.cmp(&b.addr))
    });
    table.truncate(HOST_TABLE_MAX.max(table.iter().filter(|r| r.notices > 0).count()));
    v.hosts = table;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(train_end: Option<f64>, pop: Option<[Base; 4]>) -> BandCtx {
        BandCtx {
            interval: 60.0,
            train_end,
            pop,
        }
    }

    #[test]
    fn band_learns_judges_and_does_not_learn_from_spikes() {
        // Ten intervals of 10 connections, then 100, then 10 again. The
        // EWMA of a constant 10 is mean 10, var 0; σ = max(0, 2.5, 2) = 2.5,
        // band = [2.5, 17.5]. 100 is above and not learned from; the
        // following 10 is inside and the band is unchanged.
        let mut vals = vec![10.0; 10];
        vals.push(100.0);
        vals.push(10.0);
        let p = band_series(&vals, 0, 0, &ctx(None, None));
        assert!(p[0].mean.is_nan() && p[0].learning);
        assert!(p[..5].iter().all(|x| x.learning), "warm-up of {WARMUP}");
        assert!(!p[5].learning);
        assert_eq!(p[10].outside, 1);
        assert!((p[10].mean - 10.0).abs() < 1e-12);
        assert!((p[10].lo - 2.5).abs() < 1e-12 && (p[10].hi - 17.5).abs() < 1e-12);
        assert_eq!(p[11].outside, 0);
        assert!(
            (p[11].mean - 10.0).abs() < 1e-12,
            "the spike was not learned"
        );
        // A drop to 0 after the warm-up is below the band.
        let p = band_series(
            &[10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 0.0],
            0,
            0,
            &ctx(None, None),
        );
        assert_eq!(p[6].outside, -1);
    }

    #[test]
    fn band_follows_the_detector_ewma() {
        // x = 0, 10: after two points the EWMA mean is 0 + 0.1 * 10 = 1,
        // var = 0.9 * (0 + 10 * 1) = 9, sd 3; band for series 0 (floor 2):
        // σ = max(3, 0.25, 2) = 3 -> [0, 10].
        let c = BandCtx {
            interval: 60.0,
            train_end: Some(120.0),
            pop: None,
        };
        let p = band_series(&[0.0, 10.0, 5.0], 0, 0, &c);
        assert!(p[0].learning && p[1].learning && !p[2].learning);
        assert!((p[2].mean - 1.0).abs() < 1e-12);
        assert!((p[2].hi - 10.0).abs() < 1e-12);
        assert_eq!(p[2].lo, 0.0);
    }

    #[test]
    fn new_hosts_use_the_population_band() {
        // Population: mean 6.3, sd 4.754 (about the lab's Host_Volume
        // notice); band high = 6.3 + 3 * 4.754 = 20.562. A host first seen after
        // training with 801 connections is above it at once.
        let pop = Base {
            n: 50,
            mean: 6.3,
            var: 4.754 * 4.754,
        };
        let c = ctx(Some(600.0), Some([pop; 4]));
        let p = band_series(&[801.0, 3.0], 0, 20, &c);
        assert!(p[0].population && !p[0].learning);
        assert!((p[0].hi - 20.562).abs() < 1e-9);
        assert_eq!(p[0].outside, 1);
        assert_eq!(p[1].outside, 0);
        // A host with training intervals is judged on its own band.
        let p = band_series(&[4.0, 4.0, 40.0], 0, 8, &c);
        assert!(p[0].learning && p[1].learning);
        assert!(!p[2].population);
        assert!((p[2].hi - (4.0 + 3.0 * 2.0)).abs() < 1e-12, "σ floor 2");
        assert_eq!(p[2].outside, 1);
    }

    #[test]
    fn welford_is_exact() {
        let mut b = Base::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            b.welford(x);
        }
        assert!((b.mean - 5.0).abs() < 1e-12);
        assert!((b.var - 4.0).abs() < 1e-12, "population variance 4");
    }

    #[test]
    fn training_prefix_is_learning() {
        // Intervals ending at or before the training end only teach; the
        // host trained, so it is judged on its own band right after.
        let vals = vec![1.0; 20];
        let p = band_series(&vals, 0, 100, &ctx(Some(60.0 * 112.0), None));
        assert!(p[11].learning, "interval 111 ends at 112 * 60");
        assert!(!p[12].learning);
    }

    #[test]
    fn interval_widens_with_the_span() {
        let o = Options::new(std::path::Path::new("."));
        assert_eq!(interval(&o, 600.0), 60.0);
        assert_eq!(interval(&o, 720.0 * 60.0), 60.0);
        assert_eq!(interval(&o, 720.0 * 60.0 + 1.0), 120.0);
        assert_eq!(interval(&o, 86_400.0), 120.0);
        assert_eq!(interval(&o, 86_401.0), 300.0);
        assert_eq!(interval(&o, 86_400.0 * 3650.0), 86_400.0 * 8.0);
        let mut o = o;
        o.interval = Some(10.0);
        assert_eq!(interval(&o, 86_400.0), 10.0);
    }
}
