//! Host volume: an originator's connections, distinct peers, bytes sent and
//! bytes received per minute, against what that host (or, for a host never
//! seen in training, the whole population) normally does.
//!
//! Owns, per originator host, the open interval's four counts and an online
//! baseline per series: EWMA mean and EWMA variance (α = [`ALPHA`]) over its
//! closed intervals, and the largest value seen in training. A population
//! baseline (mean, variance and largest value over every host's closed
//! intervals in training) stands in for hosts never seen in training.
//!
//! Intervals are [`INTERVAL_SECS`] (60 s) of `logged_at` time, aligned to
//! the epoch. A host's interval closes when a record of that host with a
//! later interval arrives, or when any record arrives two or more intervals
//! later (so silent hosts close too). The intervals a host was silent in
//! count as 0 for its baseline (at most [`MAX_ZERO_FILL`] of them are
//! applied; after that the EWMA has forgotten the past anyway).
//!
//! Rule (in [`Phase::Score`], when an interval closes), per series, all of:
//! 1. value > mean + 3σ, with σ floored at 25 % of the mean and at an
//!    absolute floor (2 connections, 1 peer, 100 kB), so a host that always
//!    does the same thing does not get a zero-width band;
//! 2. value > 3 × the largest value its baseline saw in training (the
//!    population's largest for a host not seen in training): a forecast
//!    band alone flags any user's first big download;
//! 3. value ≥ an absolute floor: 100 connections, 50 peers, 50 MB sent or
//!    500 MB received in the minute. Receiving is what users do (updates,
//!    video), so its floor is ten times higher; sending 50 MB in a minute,
//!    opening 100 connections or reaching 50 hosts is what scans, floods and
//!    exfiltration do and what a workstation rarely does.
//!
//! A series' baseline is updated only with intervals that did not raise, so
//! an attack does not become normal. A host first seen while scoring is
//! compared with the population until it has [`MIN_OWN`] intervals of its
//! own. [`Phase::Train`] learns and raises nothing.
//!
//! Must not: use addresses as anything but keys, read a clock (time is
//! `logged_at`), or grow without bound (at most [`MAX_HOSTS`] hosts, the
//! least recently seen evicted first; distinct peers are counted in a
//! fixed 2048-bit linear-counting sketch per host, exact in practice
//! below about 50 peers and within a few per cent up to a few thousand).

use super::Map as HashMap;
use super::{notice, thousands, HostDetector, Phase, Preread};
use crate::context::Features;
use crate::decode::Addr;
use crate::detect::json_scan::Cursor;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::SEC;

/// Interval length, seconds.
pub const INTERVAL_SECS: i64 = 60;
/// EWMA weight of the newest interval.
pub const ALPHA: f64 = 0.1;
/// Band width, in standard deviations.
pub const SIGMAS: f64 = 3.0;
/// σ is at least this share of the mean.
pub const SIGMA_REL_FLOOR: f64 = 0.25;
/// A value must exceed this multiple of the largest training value.
pub const TRAIN_MAX_FACTOR: f64 = 3.0;
/// Intervals of its own a host first seen in scoring needs before its own
/// baseline replaces the population's.
pub const MIN_OWN: u64 = 30;
/// Most silent intervals applied as zeros at once.
pub const MAX_ZERO_FILL: i64 = 64;
/// Hosts held at most.
pub const MAX_HOSTS: usize = 32_768;

/// The series, in order: names as written in `sub` and identifiers.
pub const SERIES: [&str; 4] = ["conns", "peers", "up_bytes", "down_bytes"];
/// Absolute floors of σ, per series.
pub const SIGMA_ABS_FLOOR: [f64; 4] = [2.0, 1.0, 100e3, 100e3];
/// Absolute floors of a raised value, per series.
pub const VALUE_FLOOR: [f64; 4] = [100.0, 50.0, 50e6, 500e6];

const SKETCH_WORDS: usize = 32;
/// A loaded host's interval before its first record (no silent gap to fill).
const NO_INTERVAL: i64 = i64::MIN;
const SKETCH_BITS: f64 = (SKETCH_WORDS * 64) as f64;

/// One series' baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Base {
    /// Intervals it has seen.
    n: u64,
    mean: f64,
    var: f64,
    /// Largest value seen in training.
    max: f64,
}

impl Base {
    /// EWMA update (the first value sets the mean).
    fn ewma(&mut self, x: f64) {
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            let inc = ALPHA * d;
            self.mean += inc;
            self.var = (1.0 - ALPHA) * (self.var + d * inc);
        }
        self.n += 1;
    }

    /// Exact running mean and variance (Welford, `var` holds M2 / n).
    fn welford(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        let m2 = self.var * (self.n - 1) as f64 + d * (x - self.mean);
        self.var = m2 / self.n as f64;
    }

    fn sd(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }

    fn to_json(self) -> serde_json::Value {
        serde_json::json!([self.n, self.mean, self.var, self.max])
    }
}

/// One host: its baselines and where its open interval stands. The open
/// interval's counts are out of line ([`Tally`], only for hosts with data
/// in it), so the table of the hosts a model knows stays small.
#[derive(Clone, Debug, Default)]
struct Host {
    /// Index of the open (or last closed) interval.
    interval: i64,
    /// The open interval's counts (their slot in [`Tallies`]) once it has
    /// data.
    tally: Option<u32>,
    /// Baselines per series.
    base: [Base; 4],
    /// The baselines were learned in training.
    trained: bool,
    /// Last interval with data, for eviction.
    last_seen: i64,
    /// The drain of `open` that last kept this host (drops duplicates).
    kept_by: u64,
}

impl Host {
    /// The open interval has data.
    fn open(&self) -> bool {
        self.tally.is_some()
    }
}

/// One host's open interval: connections, distinct peers, bytes.
#[derive(Clone, Debug, Default)]
struct Tally {
    conns: u64,
    up: u64,
    down: u64,
    /// The first peer of the interval (named when it is the only one).
    first_peer: Addr,
    sketch: [u64; SKETCH_WORDS],
}

fn addr_hash(a: &Addr) -> u64 {
    let v = u128::from_be_bytes(a.0);
    crate::conn::uid::mix((v as u64) ^ crate::conn::uid::mix((v >> 64) as u64))
}

impl Tally {
    fn add(&mut self, c: &ConnSummary) {
        if self.conns == 0 {
            self.first_peer = c.resp_h;
        }
        self.conns += 1;
        let h = addr_hash(&c.resp_h) as usize % (SKETCH_WORDS * 64);
        if let Some(w) = self.sketch.get_mut(h / 64) {
            *w |= 1u64 << (h % 64);
        }
        self.up = self.up.saturating_add(c.orig_ip_bytes);
        self.down = self.down.saturating_add(c.resp_ip_bytes);
    }

    /// Distinct peers (linear counting; exact in practice below ~50).
    fn peers(&self) -> u64 {
        let ones: u32 = self.sketch.iter().map(|w| w.count_ones()).sum();
        let zeros = SKETCH_BITS - f64::from(ones);
        if zeros < 1.0 {
            return (SKETCH_BITS * SKETCH_BITS.ln()).round() as u64;
        }
        (-SKETCH_BITS * (zeros / SKETCH_BITS).ln()).round() as u64
    }
}

/// The open intervals' [`Tally`]s: a slab whose freed slots are reused, so
/// a host's interval opening and closing allocates nothing once warm. At
/// most one slot per host in the table.
#[derive(Default)]
struct Tallies {
    slots: Vec<Tally>,
    free: Vec<u32>,
}

impl Tallies {
    /// A zeroed tally's slot.
    fn take(&mut self) -> u32 {
        match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Tally::default());
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn get(&self, i: u32) -> Option<&Tally> {
        self.slots.get(i as usize)
    }

    /// Adds `c` to `h`'s open interval (opening its tally).
    fn add(&mut self, h: &mut Host, c: &ConnSummary) {
        let i = match h.tally {
            Some(i) => i,
            None => {
                let i = self.take();
                h.tally = Some(i);
                i
            }
        };
        if let Some(t) = self.slots.get_mut(i as usize) {
            t.add(c);
        }
    }

    /// Gives back `h`'s tally (zeroed for its next user).
    fn release(&mut self, h: &mut Host) {
        if let Some(i) = h.tally.take() {
            if let Some(t) = self.slots.get_mut(i as usize) {
                *t = Tally::default();
                self.free.push(i);
            }
        }
    }
}

/// The host-volume detector (see the module docs).
#[derive(Default)]
pub struct HostVolume {
    hosts: HashMap<Addr, Host>,
    /// The open intervals' counts.
    tallies: Tallies,
    /// Population baseline (training intervals of every host).
    pop: [Base; 4],
    /// Hosts that may have an open interval (checked when draining; a
    /// host closed and reopened between drains may be listed twice).
    open: Vec<Addr>,
    /// Drains of `open` so far.
    drains: u64,
    /// The newest interval seen in any record.
    newest: i64,
    /// The last record seen (the end of input closes intervals with it;
    /// only the fields a notice reads are kept current, see
    /// [`keep_notice_fields`](super::keep_notice_fields)).
    last: Option<ConnSummary>,
}

fn hms(interval: i64) -> String {
    let s = (interval * INTERVAL_SECS).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn fmt_value(series: usize, x: f64) -> String {
    if series >= 2 {
        format!("{:.1} MB", x / 1e6)
    } else {
        format!("{x:.1}")
    }
}

impl HostVolume {
    /// An empty detector.
    pub fn new() -> HostVolume {
        HostVolume::default()
    }

    /// Closes `h`'s open interval: scores it (in `Score`), then updates the
    /// baselines with the series that did not raise.
    fn close(&mut self, addr: Addr, by: &ConnSummary, phase: Phase, out: &mut Vec<NoticeRecord>) {
        let pop = self.pop;
        let Some(h) = self.hosts.get_mut(&addr) else {
            return;
        };
        let Some(t) = h.tally.and_then(|i| self.tallies.get(i)) else {
            return;
        };
        let peers = t.peers();
        let x = [t.conns as f64, peers as f64, t.up as f64, t.down as f64];
        match phase {
            Phase::Train => {
                for (s, &v) in x.iter().enumerate() {
                    if let Some(b) = h.base.get_mut(s) {
                        b.ewma(v);
                        b.max = b.max.max(v);
                    }
                    if let Some(p) = self.pop.get_mut(s) {
                        p.welford(v);
                        p.max = p.max.max(v);
                    }
                }
                h.trained = true;
            }
            Phase::Score => {
                let own = h.trained || h.base[0].n >= MIN_OWN;
                for (s, &v) in x.iter().enumerate() {
                    let b = if own { h.base[s] } else { pop[s] };
                    let tmax = if h.trained { h.base[s].max } else { pop[s].max };
                    let sigma = b.sd().max(SIGMA_REL_FLOOR * b.mean).max(SIGMA_ABS_FLOOR[s]);
                    let band = b.mean + SIGMAS * sigma;
                    let limit = band.max(TRAIN_MAX_FACTOR * tmax).max(VALUE_FLOOR[s]);
                    let raise = v > band && v > TRAIN_MAX_FACTOR * tmax && v >= VALUE_FLOOR[s];
                    if !raise {
                        h.base[s].ewma(v);
                        continue;
                    }
                    let peer_word = if peers == 1 { "peer" } else { "peers" };
                    let what = match s {
                        0 => format!(
                            "made {} connections to {} {peer_word}",
                            thousands(t.conns),
                            thousands(peers)
                        ),
                        1 => format!(
                            "contacted {} distinct peers in {} connections",
                            thousands(peers),
                            thousands(t.conns)
                        ),
                        2 => format!("sent {:.1} MB to {} {peer_word}", v / 1e6, thousands(peers)),
                        _ => format!(
                            "received {:.1} MB from {} {peer_word}",
                            v / 1e6,
                            thousands(peers)
                        ),
                    };
                    let whose = if own {
                        "its baseline"
                    } else {
                        "population baseline"
                    };
                    let msg = format!(
                        "{addr} {what} in the minute from {} ({whose} {} +/- {}, training max {})",
                        hms(h.interval),
                        fmt_value(s, b.mean),
                        fmt_value(s, b.sd()),
                        fmt_value(s, tmax),
                    );
                    let sub = format!(
                        "series={} value={v} baseline={} mean={:.3} sd={:.3} sigma={sigma:.3} band={band:.3} train_max={tmax} floor={} limit={limit:.3} interval_start={} conns={} peers={peers} up_bytes={} down_bytes={}",
                        SERIES[s],
                        if own { "host" } else { "population" },
                        b.mean,
                        b.sd(),
                        VALUE_FLOOR[s],
                        h.interval * INTERVAL_SECS,
                        t.conns,
                        t.up,
                        t.down,
                    );
                    let dst = (peers == 1).then_some(t.first_peer);
                    let mut n = notice(
                        NoticeType::HostVolume,
                        by,
                        Some(addr),
                        dst,
                        None,
                        Some(v.round() as u64),
                        msg,
                        sub,
                        format!("{addr}-{}", SERIES[s]),
                    );
                    // About an interval, not one connection.
                    n.uid = None;
                    n.id = None;
                    n.proto = None;
                    out.push(n);
                }
            }
        }
        self.tallies.release(h);
    }

    /// Applies `k` silent intervals as zeros to a host's baselines.
    fn zero_fill(h: &mut Host, k: i64) {
        if h.base[0].n == 0 {
            return;
        }
        for _ in 0..k.clamp(0, MAX_ZERO_FILL) {
            for b in h.base.iter_mut() {
                b.ewma(0.0);
            }
        }
    }

    fn evict(&mut self) {
        if self.hosts.len() <= MAX_HOSTS {
            return;
        }
        // Drop the least recently seen quarter at once: O(1) amortised.
        let keep = MAX_HOSTS - MAX_HOSTS / 4;
        let mut ages: Vec<(i64, Addr)> =
            self.hosts.iter().map(|(k, h)| (h.last_seen, *k)).collect();
        let drop = ages.len() - keep;
        // Ties in age are broken by the key, so what is dropped does not
        // depend on the hash seed (the same output on every run).
        ages.select_nth_unstable(drop);
        for (_, k) in ages.iter().take(drop) {
            if let Some(mut h) = self.hosts.remove(k) {
                self.tallies.release(&mut h);
            }
        }
    }
}

/// Reads `[[count, mean, var, max] × 4]` (JSON text, whitespace allowed)
/// into four baselines; `None` for any other shape or a count that is no
/// unsigned integer. Numbers are read by [`Cursor::f64`] (correctly
/// rounded, as serde's `float_roundtrip`).
fn four_bases(text: &str) -> Option<[Base; 4]> {
    Cursor::whole(text, read_four_bases)
}

/// [`four_bases`] at a cursor (numbers in JSON's grammar).
fn read_four_bases(c: &mut Cursor) -> Option<[Base; 4]> {
    let mut out = [Base::default(); 4];
    c.eat(b'[')?;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            c.eat(b',')?;
        }
        c.eat(b'[')?;
        let n = c.u64()?;
        let mut v = [0.0; 3];
        for x in v.iter_mut() {
            *x = c.sep_f64(b',')?;
        }
        c.eat(b']')?;
        *o = Base {
            n,
            mean: v[0],
            var: v[1],
            max: v[2],
        };
    }
    c.eat(b']')?;
    Some(out)
}

/// What [`HostDetector::save`] wrote, as [`read_saved`] reads it: the
/// population's baselines and each host's, in text order.
#[derive(Clone, Debug)]
pub struct Saved {
    pop: [Base; 4],
    hosts: Vec<(Addr, [Base; 4])>,
}

/// [`HostDetector::save`]'s form read at `c` in one pass (other keys are
/// checked and ignored): the fast reader of [`load_raw`]
/// (HostDetector::load_raw), also run ahead while the model file is read
/// ([`Preread`](super::Preread)). `None` for anything else, and for what
/// the serde reader ([`HostVolume::load_raw_serde`]) would reject or cut
/// (more than [`MAX_HOSTS`] hosts), so that it reads those and names the
/// error. A model can hold 10^5 hosts.
pub(crate) fn read_saved(c: &mut Cursor) -> Option<Saved> {
    let (mut pop, mut hosts) = (None, None);
    c.object(|key, c| match key {
        "population" if pop.is_none() => {
            pop = Some(four_bases(c.value()?)?);
            Some(())
        }
        "hosts" if hosts.is_none() => {
            // (room for what the rest of the text can hold, at least 50
            // bytes a host: no copying while it grows)
            let mut v = Vec::with_capacity(MAX_HOSTS.min(c.remaining() / 50));
            c.object(|name, c| {
                if v.len() == MAX_HOSTS {
                    return None;
                }
                v.push((super::parse_addr(name)?, read_four_bases(c)?));
                Some(())
            })?;
            hosts = Some(v);
            Some(())
        }
        // (a repeated field: serde's error)
        "population" | "hosts" => None,
        _ => c.value().map(drop),
    })?;
    Some(Saved {
        pop: pop?,
        hosts: hosts?,
    })
}

impl HostVolume {
    /// Restores trained baselines (a repeated host: its last entry).
    fn restore(&mut self, s: Saved) {
        self.hosts.clear();
        self.tallies = Tallies::default();
        self.open.clear();
        self.pop = s.pop;
        self.hosts.reserve(s.hosts.len());
        for (a, base) in s.hosts {
            self.hosts.insert(
                a,
                Host {
                    base,
                    trained: true,
                    interval: NO_INTERVAL,
                    ..Host::default()
                },
            );
        }
    }

    /// [`load_raw`](HostDetector::load_raw) with serde: what it falls back
    /// to for anything but the saved form (and so for every error), and the
    /// reference it is tested against.
    pub fn load_raw_serde(&mut self, raw: &str) -> Result<(), String> {
        use serde_json::value::RawValue;
        /// [`HostDetector::save`]'s form (other keys are ignored), each
        /// host's series as their JSON text: serde checks the JSON, and
        /// [`four_bases`] reads the numbers.
        #[derive(serde::Deserialize)]
        struct Form<'a> {
            #[serde(borrow)]
            population: &'a RawValue,
            #[serde(borrow, deserialize_with = "entries")]
            hosts: Vec<(&'a str, &'a RawValue)>,
        }
        /// A JSON object read as its entries in document order.
        fn entries<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<(&'de str, &'de RawValue)>, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Vec<(&'de str, &'de RawValue)>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object of hosts")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(MAX_HOSTS));
                    while let Some(e) = m.next_entry()? {
                        v.push(e);
                    }
                    Ok(v)
                }
            }
            d.deserialize_map(V)
        }
        if raw.trim() == "null" {
            self.restore(Saved {
                pop: [Base::default(); 4],
                hosts: Vec::new(),
            });
            return Ok(());
        }
        let s: Form = serde_json::from_str(raw).map_err(|e| format!("host_volume: {e}"))?;
        let four = |what: &str, r: &RawValue| {
            four_bases(r.get()).ok_or_else(|| {
                format!("host_volume: {what}: expected four [count, mean, var, max] series")
            })
        };
        let pop = four("population", s.population)?;
        let mut hosts = s.hosts;
        if hosts.len() > MAX_HOSTS {
            // The first MAX_HOSTS names in text order (a repeated name: its
            // last entry), as a saved file lists them.
            let sorted: std::collections::BTreeMap<&str, &RawValue> = hosts.into_iter().collect();
            hosts = sorted.into_iter().take(MAX_HOSTS).collect();
        }
        let hosts = hosts
            .iter()
            .map(|(k, b)| {
                let ip: std::net::IpAddr = k
                    .parse()
                    .map_err(|_| format!("host_volume: bad host {k}"))?;
                Ok((Addr::from_ip(ip), four(k, b)?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        self.restore(Saved { pop, hosts });
        Ok(())
    }
}

impl HostDetector for HostVolume {
    fn name(&self) -> &'static str {
        "host_volume"
    }

    fn finish(&mut self, phase: Phase, out: &mut Vec<NoticeRecord>) {
        let Some(last) = self.last else {
            return;
        };
        for a in std::mem::take(&mut self.open) {
            self.close(a, &last, phase, out);
        }
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
        match self.last.as_mut() {
            Some(l) => super::keep_notice_fields(l, c),
            None => self.last = Some(*c),
        }
        let iv = c.logged_at.0.div_euclid(INTERVAL_SECS * SEC);
        // Close every host whose interval is two or more behind the newest.
        if iv > self.newest {
            self.newest = iv;
            self.drains += 1;
            let open = std::mem::take(&mut self.open);
            let mut still = Vec::with_capacity(open.len());
            for a in open {
                let close = match self.hosts.get_mut(&a) {
                    Some(h) if h.open() && h.kept_by != self.drains => {
                        if h.interval < iv - 1 {
                            true
                        } else {
                            h.kept_by = self.drains;
                            still.push(a);
                            false
                        }
                    }
                    _ => false,
                };
                if close {
                    self.close(a, c, phase, out);
                }
            }
            self.open = still;
        }
        let addr = c.orig_h;
        // Common case: the host's interval is open and current (one lookup).
        if let Some(h) = self.hosts.get_mut(&addr) {
            if h.interval >= iv && h.open() {
                self.tallies.add(h, c);
                h.last_seen = iv;
                return;
            }
        }
        let (prev, was_open) = match self.hosts.get(&addr) {
            Some(h) => (Some(h.interval), h.open()),
            None => (None, false),
        };
        match prev {
            Some(p) if p < iv => {
                if was_open {
                    self.close(addr, c, phase, out);
                }
                if let Some(h) = self.hosts.get_mut(&addr) {
                    if p != NO_INTERVAL {
                        HostVolume::zero_fill(h, iv.saturating_sub(p).saturating_sub(1));
                    }
                    self.tallies.release(h);
                    h.interval = iv;
                }
            }
            Some(_) => {}
            None => {
                let h = Host {
                    interval: iv,
                    ..Host::default()
                };
                self.hosts.insert(addr, h);
            }
        }
        if let Some(h) = self.hosts.get_mut(&addr) {
            if !h.open() {
                self.open.push(addr);
            }
            self.tallies.add(h, c);
            h.last_seen = iv;
        }
        self.evict();
        if self.open.len() > 2 * MAX_HOSTS {
            let hosts = &self.hosts;
            self.open.retain(|a| hosts.get(a).is_some_and(|h| h.open()));
            self.open.sort_unstable();
            self.open.dedup();
        }
    }

    fn save(&self) -> serde_json::Value {
        let mut hosts = serde_json::Map::new();
        let mut trained: Vec<(&Addr, &Host)> =
            self.hosts.iter().filter(|(_, h)| h.trained).collect();
        trained.sort_by_key(|(a, _)| **a);
        for (a, h) in trained {
            let v: Vec<serde_json::Value> = h.base.iter().map(|b| b.to_json()).collect();
            hosts.insert(a.to_string(), serde_json::Value::Array(v));
        }
        let pop: Vec<serde_json::Value> = self.pop.iter().map(|b| b.to_json()).collect();
        serde_json::json!({
            "interval_s": INTERVAL_SECS,
            "series": SERIES,
            "population": pop,
            "hosts": hosts,
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
            Preread::HostVolume(s) => {
                self.restore(s);
                Ok(())
            }
            _ => Err("host_volume: another detector's entry".to_string()),
        }
    }

    /// The same as [`load_raw`](HostDetector::load_raw) (one parser for
    /// both forms).
    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        self.load_raw(&v.to_string())
    }

    fn entries(&self) -> usize {
        self.hosts.len()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod lab_check;
