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
//!
//! Files: `mod.rs` the detector (series, prevalence, training knowledge,
//! the notice); `score.rs` the score of one series' timing and sizes
//! ([`score()`], [`BeaconScore`]); `tests.rs` the unit tests.

mod score;

pub use score::{score, BeaconScore};

use super::lru::{fnv1a, Lru, FNV_OFFSET};
use super::pool_ring::{Pool, PoolRing};
use super::Set as HashSet;
use super::{notice, HostDetector, Phase, Preread, SUPPRESS_FOR};
use crate::context::Features;
use crate::decode::Addr;
use crate::detect::features::ServiceClass;
use crate::detect::json_scan::Cursor;
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

/// The training knowledge as [`HostDetector::save`] wrote it: the hashes of
/// `pairs`, `spread` and `popular` (at most [`MAX_TRAINED`] of each).
#[derive(Clone, Debug)]
pub struct Saved([Vec<u64>; 3]);

/// [`HostDetector::save`]'s form read at `c` in one pass (other keys
/// checked and ignored, a missing list empty, hashes past the first
/// [`MAX_TRAINED`] of a list checked as strings only): the fast reader of
/// [`load_raw`](HostDetector::load_raw), also run ahead while the model
/// file is read ([`Preread`](super::Preread)). `None` for anything else, a
/// bad hash too, so that the serde reader ([`Beacon::load_raw_serde`])
/// reads it and names the error.
pub(crate) fn read_saved(c: &mut Cursor) -> Option<Saved> {
    let mut lists: [Option<Vec<u64>>; 3] = Default::default();
    c.object(|key, c| {
        let list = match key {
            "pairs" => &mut lists[0],
            "spread" => &mut lists[1],
            "popular" => &mut lists[2],
            _ => return c.value().map(drop),
        };
        if list.is_some() {
            // (a repeated field: serde's error)
            return None;
        }
        let mut v = Vec::new();
        c.array(|c| {
            let x = c.plain_str()?;
            if v.len() < MAX_TRAINED {
                v.push(hex_u64(x)?);
            }
            Some(())
        })?;
        *list = Some(v);
        Some(())
    })?;
    Some(Saved(lists.map(Option::unwrap_or_default)))
}

/// `u64::from_str_radix(x, 16)`, with a short cut for what a saved file
/// holds (sixteen hex digits, `{h:016x}`).
fn hex_u64(x: &str) -> Option<u64> {
    let b = x.as_bytes();
    match (b.get(..8), b.get(8..)) {
        (Some(hi), Some(lo)) if b.len() == 16 => {
            if let (Some(hi), Some(lo)) = (hex8(hi), hex8(lo)) {
                return Some(u64::from(hi) << 32 | u64::from(lo));
            }
        }
        _ => {}
    }
    u64::from_str_radix(x, 16).ok()
}

/// Eight hex digits (either case), eight bytes at a time; `None` for any
/// other byte.
fn hex8(b: &[u8]) -> Option<u32> {
    const ONES: u64 = u64::MAX / 255;
    let mut w = [0; 8];
    w.copy_from_slice(b);
    let x = u64::from_le_bytes(w);
    // Per byte (the high bit of each sum marks `byte >= bound`; no sum
    // carries into the next byte): a digit is 0x30..=0x39, a letter
    // (lower-cased) 0x61..=0x66, and no byte is above 0x7f.
    let ascii = x & (ONES * 0x7f);
    let at_least = |v: u64, bound: u64| v + ONES * (0x80 - bound);
    let digit = at_least(ascii, 0x30) & !at_least(ascii, 0x3a);
    let lower = ascii | (ONES * 0x20);
    let letter = at_least(lower, 0x61) & !at_least(lower, 0x67);
    if (digit | letter) & !x & (ONES * 0x80) != ONES * 0x80 {
        return None;
    }
    // Nibble values (a letter's low bits plus 9), first digit in the low
    // byte, then packed pairwise into the high-first order of the text.
    let v = (x & (ONES * 0x0f)) + 9 * ((letter >> 7) & ONES);
    let v = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = ((v << 8) | (v >> 16)) & 0x0000_ffff_0000_ffff;
    Some(((v << 16) | (v >> 32)) as u32)
}

/// The hashes of `lists` (the first [`MAX_TRAINED`] of each); the first
/// that is not a hex `u64` is an error.
fn hashes(lists: [Vec<&str>; 3]) -> Result<Saved, String> {
    let mut out: [Vec<u64>; 3] = Default::default();
    for ((v, o), k) in lists
        .iter()
        .zip(&mut out)
        .zip(["pairs", "spread", "popular"])
    {
        *o = v
            .iter()
            .take(MAX_TRAINED)
            .map(|x| hex_u64(x).ok_or_else(|| format!("beacon: bad hash in {k}")))
            .collect::<Result<_, _>>()?;
    }
    Ok(Saved(out))
}

impl Beacon {
    /// Restores the training knowledge.
    fn restore(&mut self, Saved([pairs, spread, popular]): Saved) {
        let set = |v: Vec<u64>| {
            // (sized once: no rehashing while tens of thousands go in)
            let mut out = HashSet::with_capacity_and_hasher(v.len(), Default::default());
            out.extend(v);
            out
        };
        self.known = Knowledge {
            pairs: set(pairs),
            spread: set(spread),
            popular: set(popular),
        };
    }

    /// [`load_raw`](HostDetector::load_raw) with serde: what it falls back
    /// to for anything but the saved form (and so for every error), and the
    /// reference it is tested against.
    pub fn load_raw_serde(&mut self, raw: &str) -> Result<(), String> {
        /// [`HostDetector::save`]'s form: hex hashes (other keys ignored),
        /// borrowed from the text (no string per hash).
        #[derive(serde::Deserialize)]
        struct Form<'a> {
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
        let s: Form = serde_json::from_str(raw).map_err(|e| format!("beacon: {e}"))?;
        self.restore(hashes([s.pairs, s.spread, s.popular])?);
        Ok(())
    }
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
        match Cursor::whole(raw, read_saved) {
            Some(s) => {
                self.restore(s);
                Ok(())
            }
            None => self.load_raw_serde(raw),
        }
    }

    fn load_preread(&mut self, p: Preread) -> Result<(), String> {
        match p {
            Preread::Beacon(s) => {
                self.restore(s);
                Ok(())
            }
            _ => Err("beacon: another detector's entry".to_string()),
        }
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
mod tests;
