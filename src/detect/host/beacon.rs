//! Beacon detection (after RITA's beacon analysis): regular connections
//! from one host to one destination and service class. Owns, per (orig_h,
//! resp_h, [`ServiceClass`]), a ring of the last [`RING`] connection start
//! times and sizes; per destination, how many distinct originators contacted
//! it; and the training knowledge that tells a new, rare destination from a
//! known or popular one (pairs seen in training, originators that already
//! spread a service class over several destinations, popular destinations).
//!
//! Periodicity alone does not make a notice: health polls, NTP and update
//! checks are periodic too. A notice needs a regular series *and* a
//! destination that is new for the pair, rare (few originators) and not
//! part of a rotation the originator already showed in training.
//!
//! Must not: look at packets, use addresses as anything but keys (stored
//! knowledge holds only hashes), or grow without bound (every table has a
//! cap and evicts its least recently seen keys; training sets stop growing
//! at their cap).

use super::lru::{fnv1a, Lru, FNV_OFFSET};
use super::pool_ring::{Pool, PoolRing};
use super::Set as HashSet;
use super::{notice, HostDetector, Phase, SUPPRESS_FOR};
use crate::context::Features;
use crate::decode::Addr;
use crate::detect::features::ServiceClass;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};

/// Connections kept per (orig, resp, class): the series scored.
pub const RING: usize = 64;
/// Largest lag tried: intervals `t[i+k] - t[i]` for `k = 1..=MAX_LAG`, so a
/// check-in made of up to 4 connections (e.g. SYN retries) is regular at
/// lag 4.
pub const MAX_LAG: usize = 4;
/// Fewest connections in the series before it is scored.
pub const MIN_CONNS: usize = 8;
/// Fewest intervals at a lag for that lag to be tried: as many as lag 1
/// has at [`MIN_CONNS`], so a larger lag is never judged on fewer
/// intervals (a lag-4 pattern needs 11 connections, three check-ins).
pub const MIN_INTERVALS: usize = MIN_CONNS - 1;
/// Least interval dispersion component (MAD at most a fifth of the period):
/// uniform check-in jitter up to ±40 % of the period passes (±p % has
/// MAD = p/200 × period), while random (Poisson) arrivals have MAD ≈ 0.7 ×
/// median and score about 0.3. On simulated series scored at every new
/// connection from 8 to 64, about 2 % of Poisson series pass at some point
/// (nearly all while they have under 16 connections), before the rarity
/// conditions.
pub const MIN_DISPERSION: f64 = 0.8;
/// Least combined score (mean of the five components, 0..1) for a notice:
/// RITA's threshold for a likely beacon. The mean of the three interval
/// components must reach it too: the size and count components give nearly
/// full marks to any steady series of equal-size connections (random-time
/// retries of one request, for instance), so they may support regular
/// timing but not stand in for it.
pub const MIN_SCORE: f64 = 0.8;
/// Shortest period (seconds between check-ins) that counts as a beacon;
/// faster repetition is a flood, scan or brute force (their own detectors).
pub const MIN_PERIOD: f64 = 5.0;
/// Most distinct originators a destination may have had for it to be rare.
pub const MAX_PREVALENCE: usize = 2;
/// Distinct destinations of one service class in training from which an
/// originator's new peers of that class are normal rotation (NTP pools,
/// CDNs).
pub const SPREAD: usize = 3;
/// Series (orig, resp, class) held; the least recently seen is evicted.
pub const MAX_SERIES: usize = 1 << 16;
/// Destinations whose originators are counted.
pub const MAX_DESTS: usize = 1 << 16;
/// Most entries of each training set (pairs, spread classes, popular
/// destinations); further ones are not learned.
pub const MAX_TRAINED: usize = 1 << 20;

/// The training knowledge, by 64-bit FNV-1a hashes (stable across runs).
#[derive(Clone, Debug, Default)]
struct Knowledge {
    /// (orig, resp) pairs seen in training.
    pairs: HashSet<u64>,
    /// (orig, class) that reached [`SPREAD`] destinations in training.
    spread: HashSet<u64>,
    /// Destinations with more than [`MAX_PREVALENCE`] originators in training.
    popular: HashSet<u64>,
}

/// Up to `N` distinct hashes (a saturating distinct count).
#[derive(Clone, Copy, Debug)]
struct Few<const N: usize> {
    h: [u64; N],
    n: u8,
}

impl<const N: usize> Default for Few<N> {
    fn default() -> Self {
        Few { h: [0; N], n: 0 }
    }
}

impl<const N: usize> Few<N> {
    /// Adds `x`; returns the distinct count (at most `N`).
    fn add(&mut self, x: u64) -> usize {
        let n = usize::from(self.n).min(N);
        if n < N && !self.h[..n].contains(&x) {
            self.h[n] = x;
            self.n += 1;
        }
        usize::from(self.n)
    }
}

/// One connection of a series.
#[derive(Clone, Copy, Debug)]
struct Hit {
    t: f64,
    orig_bytes: u64,
    resp_bytes: u64,
}

/// A series key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    orig: Addr,
    resp: Addr,
    class: ServiceClass,
}

#[derive(Clone, Debug, Default)]
struct Series {
    ring: PoolRing<Hit, 2>,
    /// Connections seen for the key (not only those in the ring).
    total: u64,
    last_notice: Option<f64>,
    /// Whether the trained knowledge covers the key (a known pair, a
    /// popular destination, or an originator's common class): fixed once
    /// scoring starts, so looked up once per series.
    known: Option<bool>,
}

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

/// A hasher for stable keys (addresses, service classes).
struct Fnv(u64);

impl std::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = fnv1a(self.0, s.as_bytes());
        Ok(())
    }
}

fn h_addr(a: &Addr) -> u64 {
    fnv1a(FNV_OFFSET, &a.0)
}

fn h_pair(o: &Addr, r: &Addr) -> u64 {
    fnv1a(fnv1a(FNV_OFFSET, &o.0), &r.0)
}

fn h_class(o: &Addr, c: ServiceClass) -> u64 {
    use std::fmt::Write;
    let mut h = Fnv(fnv1a(FNV_OFFSET, &o.0));
    let _ = write!(h, "/{c}");
    h.0
}

/// The beacon detector (`beacon`, notice `ConnScope::Beacon`).
#[derive(Clone, Debug)]
pub struct Beacon {
    series: Lru<Key, Series>,
    /// The blocks of the series' rings.
    pool: Pool<Hit>,
    /// Distinct originators per destination (saturating at
    /// `MAX_PREVALENCE + 1`), both phases.
    prevalence: Lru<u64, Few<{ MAX_PREVALENCE + 1 }>>,
    /// Training: distinct destinations per (orig, class), up to [`SPREAD`].
    peers: Lru<u64, Few<SPREAD>>,
    known: Knowledge,
}

impl Default for Beacon {
    fn default() -> Self {
        Beacon::new()
    }
}

impl Beacon {
    /// A detector that knows nothing yet.
    pub fn new() -> Beacon {
        Beacon {
            series: Lru::new(MAX_SERIES),
            pool: Pool::default(),
            prevalence: Lru::new(MAX_DESTS),
            peers: Lru::new(MAX_DESTS),
            known: Knowledge::default(),
        }
    }

    fn learn(&mut self, c: &ConnSummary, class: ServiceClass, prev: usize) {
        let k = &mut self.known;
        if k.pairs.len() < MAX_TRAINED {
            k.pairs.insert(h_pair(&c.orig_h, &c.resp_h));
        }
        let hc = h_class(&c.orig_h, class);
        let spread = self.peers.touch(&hc, Few::default).add(h_addr(&c.resp_h));
        if spread >= SPREAD && k.spread.len() < MAX_TRAINED {
            k.spread.insert(hc);
        }
        if prev > MAX_PREVALENCE && k.popular.len() < MAX_TRAINED {
            k.popular.insert(h_addr(&c.resp_h));
        }
    }
}

fn hex_list(s: &HashSet<u64>) -> serde_json::Value {
    let mut v: Vec<u64> = s.iter().copied().collect();
    v.sort_unstable();
    serde_json::Value::Array(
        v.into_iter()
            .map(|h| serde_json::Value::String(format!("{h:016x}")))
            .collect(),
    )
}

impl HostDetector for Beacon {
    fn name(&self) -> &'static str {
        "beacon"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if c.interim {
            return;
        }
        let class = ServiceClass::of(c);
        let hr = h_addr(&c.resp_h);
        let prev = self
            .prevalence
            .touch(&hr, Few::default)
            .add(h_addr(&c.orig_h));
        if phase == Phase::Train {
            self.learn(c, class, prev);
        }
        let key = Key {
            orig: c.orig_h,
            resp: c.resp_h,
            class,
        };
        let t = c.start.as_secs_f64();
        let pool = &mut self.pool;
        let s = self
            .series
            .touch_with(&key, Series::default, |mut s| s.ring.clear(pool));
        if s.ring.len() >= RING {
            s.ring.pop_front(pool);
        }
        s.ring.push_back(
            pool,
            Hit {
                t,
                orig_bytes: c.orig_bytes,
                resp_bytes: c.resp_bytes,
            },
        );
        s.total += 1;
        if phase != Phase::Score || s.ring.len() < MIN_CONNS {
            return;
        }
        if s.last_notice
            .is_some_and(|l| t >= l && t - l < SUPPRESS_FOR)
        {
            return;
        }
        // New and rare: checked before any scoring work (what training
        // knew of the key, once per series: it no longer changes).
        let k = &self.known;
        let known = *s.known.get_or_insert_with(|| {
            k.pairs.contains(&h_pair(&c.orig_h, &c.resp_h))
                || k.popular.contains(&hr)
                || k.spread.contains(&h_class(&c.orig_h, class))
        });
        if known || prev > MAX_PREVALENCE {
            return;
        }
        let mut hits = [(0.0, 0u64, 0u64); RING];
        for (h, x) in hits.iter_mut().zip(s.ring.iter(&self.pool)) {
            *h = (x.t, x.orig_bytes, x.resp_bytes);
        }
        let n = s.ring.len();
        let Some(b) = score(&hits[..n]) else { return };
        if !b.is_beacon() {
            return;
        }
        s.last_notice = Some(t);
        let total = s.total;
        let port = format!("{}/{}", c.resp_p, c.transport.name());
        let groups = if b.lag > 1 {
            format!(" in groups of {}", b.lag)
        } else {
            String::new()
        };
        let msg = format!(
            "{} contacted {} on {port} {total} times, every {:.1} s{groups} (MAD {:.1} s), \
             {:.0} B up / {:.0} B down each: a new, rare destination",
            c.orig_h, c.resp_h, b.period, b.mad, b.orig_bytes, b.resp_bytes
        );
        let sub = format!(
            "score={:.3} interval_score={:.3} interval_skew={:.3} interval_dispersion={:.3} count={:.3} \
             size_skew={:.3} size_dispersion={:.3} lag={} period={:.2}s mad={:.2}s \
             series={n} class={class} originators={prev}",
            b.combined,
            b.interval,
            b.interval_skew,
            b.interval_dispersion,
            b.count,
            b.size_skew,
            b.size_dispersion,
            b.lag,
            b.period,
            b.mad
        );
        out.push(notice(
            NoticeType::Beacon,
            c,
            Some(c.orig_h),
            Some(c.resp_h),
            Some((c.resp_p, c.transport)),
            Some(total),
            msg,
            sub,
            format!("{}-{}-{class}", c.orig_h, c.resp_h),
        ));
    }

    fn save(&self) -> serde_json::Value {
        let k = &self.known;
        serde_json::json!({
            "pairs": hex_list(&k.pairs),
            "spread": hex_list(&k.spread),
            "popular": hex_list(&k.popular),
        })
    }

    fn load_raw(&mut self, raw: &str) -> Result<(), String> {
        /// [`HostDetector::save`]'s form: hex hashes (other keys ignored),
        /// borrowed from the text (no string per hash).
        #[derive(serde::Deserialize)]
        struct Saved<'a> {
            #[serde(default, borrow)]
            pairs: Vec<&'a str>,
            #[serde(default, borrow)]
            spread: Vec<&'a str>,
            #[serde(default, borrow)]
            popular: Vec<&'a str>,
        }
        if raw.trim() == "null" {
            self.known = Knowledge::default();
            return Ok(());
        }
        let s: Saved = serde_json::from_str(raw).map_err(|e| format!("beacon: {e}"))?;
        let set = |v: &[&str], k: &str| -> Result<HashSet<u64>, String> {
            // (sized once: no rehashing while tens of thousands go in)
            let mut out =
                HashSet::with_capacity_and_hasher(v.len().min(MAX_TRAINED), Default::default());
            for x in v.iter().take(MAX_TRAINED) {
                out.insert(
                    u64::from_str_radix(x, 16).map_err(|_| format!("beacon: bad hash in {k}"))?,
                );
            }
            Ok(out)
        };
        self.known = Knowledge {
            pairs: set(&s.pairs, "pairs")?,
            spread: set(&s.spread, "spread")?,
            popular: set(&s.popular, "popular")?,
        };
        Ok(())
    }

    /// The same as [`load_raw`](HostDetector::load_raw) (one parser for
    /// both forms).
    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        self.load_raw(&v.to_string())
    }

    fn entries(&self) -> usize {
        let k = &self.known;
        self.series.values().map(|s| s.ring.len()).sum::<usize>()
            + self.series.len()
            + self.prevalence.len()
            + self.peers.len()
            + k.pairs.len()
            + k.spread.len()
            + k.popular.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ConnState;

    const C: [u8; 4] = [10, 66, 0, 24];
    const S: [u8; 4] = [10, 66, 0, 99];

    fn conn(o: [u8; 4], r: [u8; 4], port: u16, t: f64, up: u64, down: u64) -> ConnSummary {
        super::super::test_conn(o, r, port, t, ConnState::SF, up, down)
    }

    fn feed(b: &mut Beacon, conns: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
        let mut out = Vec::new();
        for c in conns {
            b.observe(c, &Features::default(), phase, &mut out);
        }
        out
    }

    /// A small xorshift in [0, 1).
    fn rnd(x: &mut u64) -> f64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Training: C browses a few other servers (no contact with S).
    fn trained() -> Beacon {
        let mut b = Beacon::new();
        let conns: Vec<_> = (0..20)
            .map(|i| conn(C, [10, 66, 0, 10], 443, i as f64 * 7.0, 500, 5000))
            .collect();
        assert!(feed(&mut b, &conns, Phase::Train).is_empty());
        b
    }

    #[test]
    fn perfectly_periodic_pair_has_known_components() {
        let hits: Vec<_> = (0..14).map(|i| (i as f64 * 30.0, 420, 300)).collect();
        let s = score(&hits).expect("scored");
        assert_eq!(s.lag, 1);
        assert_eq!((s.period, s.mad), (30.0, 0.0));
        assert_eq!(
            (s.interval_skew, s.interval_dispersion, s.count),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(
            (s.size_skew, s.size_dispersion, s.combined),
            (1.0, 1.0, 1.0)
        );
        assert_eq!((s.orig_bytes, s.resp_bytes), (420.0, 300.0));
        // Fewer than MIN_CONNS: not scored.
        assert_eq!(score(&hits[..MIN_CONNS - 1]), None);
    }

    #[test]
    fn hand_computed_components() {
        // Intervals 10,10,10,10,12,14,20 (8 connections), one size outlier.
        let t = [0.0, 10.0, 20.0, 30.0, 40.0, 52.0, 66.0, 86.0];
        let hits: Vec<_> = t
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, if i == 7 { 900 } else { 100 }, 0))
            .collect();
        let s = score(&hits).expect("scored");
        // Lag 1: q1 = 10, q2 = 10 (median on q1: no skew), q3 = 13;
        // deviations 0,0,0,0,2,4,10 -> MAD 0; count 8 / (1 + 86/10) = 0.833.
        // Lag 1 scores (1 + 1 + 0.833) / 3; larger lags score less.
        assert_eq!(s.lag, 1);
        assert_eq!((s.period, s.mad), (10.0, 0.0));
        assert!((s.count - 8.0 / 9.6).abs() < 1e-12, "{}", s.count);
        assert_eq!((s.interval_skew, s.interval_dispersion), (1.0, 1.0));
        // Sizes: all 100 but one: no skew, MAD 0.
        assert_eq!((s.size_skew, s.size_dispersion), (1.0, 1.0));
        assert!((s.combined - (4.0 + 8.0 / 9.6) / 5.0).abs() < 1e-12);
    }

    #[test]
    fn periodic_beacon_to_new_rare_destination_is_flagged() {
        let mut b = trained();
        let mut x = 42u64;
        // Every 30 s ± 10 %, sizes 420 ± 5 up.
        let mut t = 1000.0;
        let conns: Vec<_> = (0..14)
            .map(|_| {
                t += 30.0 * (0.9 + 0.2 * rnd(&mut x));
                conn(C, S, 8080, t, 418 + (rnd(&mut x) * 5.0) as u64, 300)
            })
            .collect();
        let out = feed(&mut b, &conns, Phase::Score);
        assert_eq!(out.len(), 1, "{out:?}");
        let n = &out[0];
        assert_eq!(n.note, NoticeType::Beacon);
        assert_eq!(n.n, Some(MIN_CONNS as u64));
        assert_eq!((n.src, n.dst), (Some(Addr::v4(C)), Some(Addr::v4(S))));
        assert_eq!(n.p, Some((8080, crate::conn::Transport::Tcp)));
        assert_eq!(n.identifier, "10.66.0.24-10.66.0.99-tcp/high");
        assert!(
            n.msg
                .starts_with("10.66.0.24 contacted 10.66.0.99 on 8080/tcp 8 times, every "),
            "{}",
            n.msg
        );
        assert!(n.msg.ends_with("300 B down each: a new, rare destination"));
        assert!(n.sub.contains("lag=1"), "{}", n.sub);
    }

    #[test]
    fn jittered_series_pass_random_series_rarely() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let (mut jit, mut poi) = (0, 0);
        for _ in 0..200 {
            let (mut a, mut b) = (0.0, 0.0);
            let mut ja = Vec::new();
            let mut pb = Vec::new();
            for _ in 0..16 {
                a += 60.0 * (0.8 + 0.4 * rnd(&mut x)); // ±20 %
                b += -60.0 * (1.0 - rnd(&mut x)).ln();
                ja.push((a, 300, 300));
                pb.push((b, 300, 300));
            }
            jit += usize::from(score(&ja).is_some_and(|s| s.is_beacon()));
            poi += usize::from(score(&pb).is_some_and(|s| s.is_beacon()));
        }
        // Bowley skew of 15 intervals is noisy: a few jittered series
        // fall short at this length (they pass as the series grows).
        assert!(jit >= 160, "±20 % jitter: {jit} of 200");
        assert!(poi <= 4, "Poisson: {poi} of 200");
    }

    #[test]
    fn lag_four_retry_groups_are_flagged() {
        let mut b = trained();
        // Each check-in: 4 connections (SYN retries at +0, +1, +3, +7 s),
        // every 80.06 s, no reply.
        let mut conns = Vec::new();
        for g in 0..6 {
            for d in [0.0, 1.0, 3.0, 7.0] {
                let t = 5000.0 + g as f64 * 80.06 + d;
                let mut c = conn(C, S, 50, t, 0, 0);
                c.conn_state = ConnState::S0;
                conns.push(c);
            }
        }
        let hits: Vec<_> = conns
            .iter()
            .map(|c| (c.start.as_secs_f64(), 0, 0))
            .collect();
        let s = score(&hits).expect("scored");
        assert_eq!(s.lag, 4);
        assert!((s.period - 80.06).abs() < 1e-6, "{}", s.period);
        assert!(s.mad < 1e-6);
        assert!(s.combined > 0.95, "{s:?}");
        // At lag 1 alone the intervals (1, 2, 4, 73 s) are far from regular.
        let out = feed(&mut b, &conns, Phase::Score);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].msg.contains("every 80.1 s in groups of 4"),
            "{}",
            out[0].msg
        );
        assert_eq!(out[0].identifier, "10.66.0.24-10.66.0.99-tcp/50");
    }

    #[test]
    fn health_poll_to_known_or_popular_destination_is_not_flagged() {
        let api = [10, 66, 0, 10];
        let c3 = [10, 66, 0, 23];
        let mut x = 7u64;
        let poll = |from: f64, k: usize, x: &mut u64| -> Vec<ConnSummary> {
            (0..k)
                .map(|i| {
                    let t = from + i as f64 * 60.0 + 2.0 * rnd(x);
                    conn(c3, api, 443, t, 517, 4000 + (rnd(x) * 10.0) as u64)
                })
                .collect()
        };
        // (a) The pair was seen in training.
        let mut b = Beacon::new();
        feed(&mut b, &poll(0.0, 3, &mut x), Phase::Train);
        assert!(feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).is_empty());
        // (b) New for c3, but a popular destination (3 other clients).
        let mut b = Beacon::new();
        for o in 1..=3u8 {
            feed(
                &mut b,
                &[conn([10, 66, 0, o], api, 443, 10.0, 1, 1)],
                Phase::Score,
            );
        }
        assert!(feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).is_empty());
        // The same poll to a new, rare destination is a beacon by these rules.
        let mut b = Beacon::new();
        assert_eq!(
            feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).len(),
            1
        );
    }

    #[test]
    fn rotation_in_a_spread_class_is_not_flagged() {
        // Training: NTP-like polls to three pool servers.
        let mut b = Beacon::new();
        for (i, s) in [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]
            .iter()
            .enumerate()
        {
            feed(&mut b, &[conn(C, *s, 123, i as f64, 48, 48)], Phase::Train);
        }
        // A new pool server polled every 64 s: normal rotation.
        let conns: Vec<_> = (0..20)
            .map(|i| conn(C, [4, 4, 4, 4], 123, 1000.0 + i as f64 * 64.0, 48, 48))
            .collect();
        assert!(feed(&mut b, &conns, Phase::Score).is_empty());
        // Knowledge survives save/load.
        let mut c = Beacon::new();
        c.load(&b.save()).expect("loads");
        assert!(feed(&mut c, &conns, Phase::Score).is_empty());
        assert_eq!(c.known.spread.len(), 1);
        assert_eq!(c.known.pairs.len(), 3);
        assert!(c.load(&serde_json::json!({"pairs": [1]})).is_err());
        c.load(&serde_json::Value::Null).expect("null loads");
        assert!(c.known.pairs.is_empty());
    }

    #[test]
    fn random_times_and_fast_repeats_are_not_flagged() {
        // Poisson arrivals (mean 60 s), equal sizes, new rare destination.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut flagged = 0;
        for trial in 0..50 {
            let mut b = Beacon::new();
            let mut t = 0.0;
            let conns: Vec<_> = (0..40)
                .map(|_| {
                    t += -60.0 * (1.0 - rnd(&mut x)).ln();
                    conn(C, [10, 9, 0, trial as u8], 8080, t, 200, 200)
                })
                .collect();
            flagged += usize::from(!feed(&mut b, &conns, Phase::Score).is_empty());
        }
        assert!(flagged <= 3, "{flagged} of 50 random series flagged");
        // A perfectly regular flood (every 10 ms) is not a beacon.
        let mut b = Beacon::new();
        let conns: Vec<_> = (0..100)
            .map(|i| conn(C, S, 80, i as f64 * 0.01, 0, 0))
            .collect();
        assert!(feed(&mut b, &conns, Phase::Score).is_empty());
    }

    #[test]
    fn tables_are_bounded() {
        let mut b = Beacon::new();
        for i in 0..(MAX_SERIES + 10) {
            let r = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            feed(&mut b, &[conn(C, r, 80, i as f64, 1, 1)], Phase::Score);
        }
        assert_eq!(b.series.len(), MAX_SERIES);
        assert_eq!(b.prevalence.len(), MAX_DESTS);
        let mut s = Beacon::new();
        let conns: Vec<_> = (0..200)
            .map(|i| conn(C, S, 80, i as f64 * 30.0, 1, 1))
            .collect();
        feed(&mut s, &conns, Phase::Score);
        assert_eq!(s.series.values().next().map(|x| x.ring.len()), Some(RING));
    }

    /// Reads a JSON conn.log written by `connscope read` into summaries.
    fn read_conn_log(path: &str) -> Vec<ConnSummary> {
        let text = std::fs::read_to_string(path).expect("conn.log");
        let addr = |v: &serde_json::Value| {
            v.as_str()
                .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                .map(Addr::from_ip)
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
            let u = |k: &str| v[k].as_u64().unwrap_or(0);
            let mut c = super::super::test_conn([0; 4], [0; 4], 0, f("ts"), ConnState::OTH, 0, 0);
            c.uid = crate::conn::uid::Uid::from_words(b'C', i as u64, 0);
            c.last = crate::time::Ts::from_secs_f64(f("ts") + f("duration"));
            c.logged_at = c.last;
            c.orig_h = addr(&v["id.orig_h"]);
            c.resp_h = addr(&v["id.resp_h"]);
            c.orig_p = u("id.orig_p") as u16;
            c.resp_p = u("id.resp_p") as u16;
            (c.transport, c.ip_proto) = match v["proto"].as_str() {
                Some("tcp") => (crate::conn::Transport::Tcp, 6),
                Some("udp") => (crate::conn::Transport::Udp, 17),
                Some("icmp") => (crate::conn::Transport::Icmp, 1),
                _ => (crate::conn::Transport::Other, 0),
            };
            c.conn_state = ConnState::from_name(v["conn_state"].as_str().unwrap_or(""));
            c.service = v["service"]
                .as_str()
                .and_then(|s| s.split(',').next())
                .and_then(crate::conn::service::Service::from_name);
            (c.orig_bytes, c.resp_bytes) = (u("orig_bytes"), u("resp_bytes"));
            (c.orig_pkts, c.resp_pkts) = (u("orig_pkts"), u("resp_pkts"));
            out.push(c);
        }
        out.sort_by_key(|a| a.logged_at.0);
        out
    }

    /// Real-data check: `BEACON_CONN_LOG=path BEACON_TRAIN_END=epoch cargo
    /// test --lib real_conn_log -- --ignored --nocapture` prints the notices.
    #[test]
    #[ignore]
    fn real_conn_log() {
        let (Ok(path), Ok(end)) = (
            std::env::var("BEACON_CONN_LOG"),
            std::env::var("BEACON_TRAIN_END"),
        ) else {
            return;
        };
        let end: f64 = end.parse().expect("train end");
        let conns = read_conn_log(&path);
        let mut b = Beacon::new();
        let mut out = Vec::new();
        for c in &conns {
            let phase = if c.start.as_secs_f64() < end {
                Phase::Train
            } else {
                Phase::Score
            };
            b.observe(c, &Features::default(), phase, &mut out);
        }
        eprintln!("{} connections, {} notices", conns.len(), out.len());
        for n in &out {
            eprintln!("{:.3} {}\n    {}", n.ts.as_secs_f64(), n.msg, n.sub);
        }
    }
}
