//! The beacon score of one series (after RITA): per lag, the intervals'
//! skew, dispersion and count of check-ins, and the originator's sizes'
//! skew and dispersion, combined into [`BeaconScore`].
//!
//! Must not: allocate (fixed arrays of [`RING`] values), keep state between
//! calls, or know about keys, training or notices (the detector in
//! `mod.rs` decides what a score means for a destination).

use super::{MAX_LAG, MIN_CONNS, MIN_DISPERSION, MIN_INTERVALS, MIN_PERIOD, MIN_SCORE, RING};

/// The components of a series' beacon score (each 0..1, 1 = beacon-like).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeaconScore {
    /// The lag whose intervals were most regular (1..=[`MAX_LAG`]).
    pub lag: usize,
    /// Median interval at that lag, seconds (the check-in period).
    pub period: f64,
    /// Median absolute deviation of those intervals, seconds.
    pub mad: f64,
    /// 1 − |Bowley skew| of the intervals.
    pub interval_skew: f64,
    /// 1 − min(√lag · MAD / median, 1) of the intervals (√lag: a sum of
    /// `lag` jittered intervals is relatively √lag times tighter, so longer
    /// lags gain nothing from aggregation alone).
    pub interval_dispersion: f64,
    /// min(n / (1 + lag · span / period), 1): no missing check-ins.
    pub count: f64,
    /// 1 − |Bowley skew| of the originator's byte counts.
    pub size_skew: f64,
    /// 1 − min(MAD / median, 1) of the originator's byte counts.
    pub size_dispersion: f64,
    /// Mean of the three interval components (skew, dispersion, count).
    pub interval: f64,
    /// Mean of the five components.
    pub combined: f64,
    /// Median originator bytes per connection.
    pub orig_bytes: f64,
    /// Median responder bytes per connection.
    pub resp_bytes: f64,
}

impl BeaconScore {
    /// Whether the series is a beacon: combined and interval scores at
    /// least [`MIN_SCORE`], interval dispersion at least
    /// [`MIN_DISPERSION`], and a period of at least [`MIN_PERIOD`].
    pub fn is_beacon(&self) -> bool {
        self.combined >= MIN_SCORE
            && self.interval >= MIN_SCORE
            && self.interval_dispersion >= MIN_DISPERSION
            && self.period >= MIN_PERIOD
    }
}

/// The `q`-quantile of sorted values (linear interpolation).
fn quantile(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (s[lo.min(s.len() - 1)], s[hi.min(s.len() - 1)]);
    a + (b - a) * (pos - lo as f64)
}

fn sort(v: &mut [f64]) {
    v.sort_unstable_by(|a, b| a.total_cmp(b));
}

/// (1 − |Bowley skew|, median, MAD) of values, sorted in place; `buf` is
/// scratch of the same length. Degenerate quartiles (no spread, or the
/// median on a quartile) count as no skew, as RITA does.
fn shape(v: &mut [f64], buf: &mut [f64]) -> (f64, f64, f64) {
    sort(v);
    let (q1, q2, q3) = (quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75));
    let den = q3 - q1;
    let eps = 1e-9 * q2.abs().max(1.0);
    let skew = if den <= eps || (q2 - q1).abs() <= eps || (q3 - q2).abs() <= eps {
        0.0
    } else {
        (q1 + q3 - 2.0 * q2) / den
    };
    let dev = &mut buf[..v.len()];
    for (d, x) in dev.iter_mut().zip(v.iter()) {
        *d = (x - q2).abs();
    }
    sort(dev);
    (1.0 - skew.abs().min(1.0), q2, quantile(dev, 0.5))
}

/// 1 − min(f · MAD / median, 1); a constant series scores 1.
fn dispersion(median: f64, mad: f64, f: f64) -> f64 {
    if mad <= 0.0 {
        1.0
    } else if median <= 0.0 {
        0.0
    } else {
        1.0 - (f * mad / median).min(1.0)
    }
}

/// Whether sorted start times `t` come in check-ins of `k` connections
/// with the same spacing each time: the gaps repeat with period `k`
/// (median |gap[i + k] − gap[i]| below `period / 8k`). A regular lag-k
/// interval alone is not enough: summing k random gaps also makes lag-k
/// intervals look regular, but random gaps do not repeat. Lag 1 always
/// holds. O(n), no allocation.
fn grouped(t: &[f64], k: usize, period: f64) -> bool {
    if k <= 1 {
        return true;
    }
    let mut d = [0.0f64; RING];
    let mut m = 0;
    for i in 0..t.len().saturating_sub(k + 1) {
        let g0 = t[i + 1] - t[i];
        let gk = t[i + k + 1] - t[i + k];
        if let Some(x) = d.get_mut(m) {
            *x = (gk - g0).abs();
            m += 1;
        }
    }
    if m == 0 {
        return false;
    }
    let d = &mut d[..m];
    sort(d);
    quantile(d, 0.5) < period / (8 * k) as f64
}

/// Scores a series (start times and sizes, any order; at most [`RING`]):
/// `None` with fewer than [`MIN_CONNS`] connections or no lag with
/// [`MIN_INTERVALS`] intervals. O(RING log RING), no allocation.
pub fn score(hits: &[(f64, u64, u64)]) -> Option<BeaconScore> {
    let n = hits.len().min(RING);
    if n < MIN_CONNS {
        return None;
    }
    let mut t = [0.0f64; RING];
    let mut up = [0.0f64; RING];
    let mut down = [0.0f64; RING];
    let mut buf = [0.0f64; RING];
    for (i, h) in hits.iter().take(n).enumerate() {
        (t[i], up[i], down[i]) = (h.0, h.1 as f64, h.2 as f64);
    }
    let t = &mut t[..n];
    sort(t);
    let span = t[n - 1] - t[0];
    // Per lag: (interval score, lag, median, MAD, skew, dispersion, count).
    // Lags > 1 count only when the connections come in check-ins of that
    // many. The smallest lag that is regular wins (the fewest connections
    // per check-in that explain the series); else the best one.
    let mut best: Option<(f64, usize, f64, f64, f64, f64, f64)> = None;
    for k in 1..=MAX_LAG {
        if n < k + MIN_INTERVALS {
            break;
        }
        let mut iv = [0.0f64; RING];
        let m = n - k;
        for i in 0..m {
            iv[i] = t[i + k] - t[i];
        }
        let (skew, med, mad) = shape(&mut iv[..m], &mut buf);
        if !grouped(t, k, med) {
            continue;
        }
        let disp = dispersion(med, mad, (k as f64).sqrt());
        let count = if med > 0.0 {
            (n as f64 / (1.0 + k as f64 * span / med)).min(1.0)
        } else {
            0.0
        };
        let s = (skew + disp + count) / 3.0;
        let cand = (s, k, med, mad, skew, disp, count);
        if s >= MIN_SCORE && disp >= MIN_DISPERSION {
            best = Some(cand);
            break;
        }
        if best.is_none_or(|b| s > b.0) {
            best = Some(cand);
        }
    }
    let (interval, lag, period, mad, interval_skew, interval_dispersion, count) = best?;
    let (size_skew, up_med, up_mad) = shape(&mut up[..n], &mut buf);
    let size_dispersion = dispersion(up_med, up_mad, 1.0);
    let down_med = {
        let d = &mut down[..n];
        sort(d);
        quantile(d, 0.5)
    };
    let combined =
        (interval_skew + interval_dispersion + count + size_skew + size_dispersion) / 5.0;
    Some(BeaconScore {
        lag,
        period,
        mad,
        interval_skew,
        interval_dispersion,
        count,
        size_skew,
        size_dispersion,
        interval,
        combined,
        orig_bytes: up_med,
        resp_bytes: down_med,
    })
}
