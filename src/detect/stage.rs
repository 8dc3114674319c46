//! The detect stage on the writer thread: for every connection, in context
//! order, the connection-level scores (score.log) and the host-level
//! detectors (notice.log, with Zeek's suppression). It learns first when
//! asked to (the benign training prefix of a capture, or a whole benign
//! capture for `connscope train`), then scores with what it learned and
//! never re-fits. Scores are memoized by exact sample (a small
//! direct-mapped table): a repeated connection costs a lookup.
//!
//! Must not: see packets or connection state, read a clock, or write files
//! (rows go to [`Emit`]).

use super::features::{ClassName, Familiarity, Inputs, ServiceClass};
use super::host::{self, HostDetector, Phase};
use super::model::{Model, TrainInfo};
use super::rng::Rng;
use super::Sample;
use crate::context::Features;
use crate::pipeline::stages::{Emit, Stage};
use crate::record::{ConnSummary, NoticeRecord, NoticeType, ScoreRecord, TopFeatures};
use crate::time::{Ts, SEC};
use std::sync::{Arc, Mutex};

/// Most training samples kept (a deterministic reservoir beyond it).
pub const MAX_TRAIN_SAMPLES: usize = 50_000;
/// Entries of the score memo (`2^MEMO_BITS`).
const MEMO_BITS: u32 = 15;
const MEMO_SLOTS: usize = 1 << MEMO_BITS;

/// Lookups per window of the memo's hit-rate check.
const MEMO_WINDOW: u32 = 4096;
/// Below this many hits in a window the memo is bypassed (2 %).
const MEMO_MIN_HITS: u32 = MEMO_WINDOW / 50;
/// Connections scored without the memo before it is tried again.
const MEMO_BYPASS: u32 = 16 * MEMO_WINDOW;

/// A direct-mapped memo of the connection-level scores by exact sample
/// (class and the bits of every feature): real traffic repeats itself
/// (scans, probes, periodic polls), and the detectors are pure functions of
/// the sample, so a hit returns exactly what scoring would. Traffic that
/// does not repeat (under 2 % hits in a window) turns it off for a while,
/// so hashing, comparing and filling 12 MB of slots cost nothing there;
/// either way the scores are the same.
///
/// Each fill of a slot gets an identity, unique in the process
/// ([`MemoScores::fill`]): rows scored from the same fill have the same
/// scores and features, so score.log's writer can reuse their rendered
/// text by it ([`ScoreRecord::tail_id`]).
struct Memo {
    /// Each slot's key (the class and [`Inputs::words`]) and scores.
    slots: Vec<Option<(MemoKey, MemoScores)>>,
    /// The identity of the next fill (this memo's number in its high bits).
    next_fill: u64,
    /// Lookups and hits in the current window.
    lookups: u32,
    hits: u32,
    /// Scores left to compute without the memo.
    bypass: u32,
}

impl Memo {
    fn new() -> Memo {
        /// Memos created so far (the high bits of their fill identities).
        static MEMOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = MEMOS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Memo {
            slots: Vec::new(),
            next_fill: n << 40,
            lookups: 0,
            hits: 0,
            bypass: 0,
        }
    }

    /// The slot of `s`: a multiplicative hash of its class and
    /// [`Inputs::words`] (one multiply per word; the top bits, the best
    /// mixed, pick the slot). A collision only costs a miss: the key
    /// itself is compared. Computed once per connection, by the lookup,
    /// which hands it on to the insert of a miss.
    fn slot_of(s: &Inputs) -> usize {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = class_word(s.class).wrapping_mul(K);
        for &w in &s.words() {
            h = (h.rotate_left(26) ^ w).wrapping_mul(K);
        }
        (h >> (64 - MEMO_BITS)) as usize
    }

    /// The scores of `s` if remembered (`None` on a miss, and while the
    /// memo steps aside), and the slot it looked in (`None` while the memo
    /// steps aside: nothing is hashed then).
    fn lookup(&mut self, s: &Inputs) -> (Option<MemoScores>, Option<usize>) {
        if self.bypass > 0 {
            self.bypass -= 1;
            return (None, None);
        }
        if self.slots.is_empty() {
            // (allocated on first use: a run that never scores pays nothing)
            self.slots = vec![None; MEMO_SLOTS];
        }
        self.lookups += 1;
        if self.lookups == MEMO_WINDOW {
            if self.hits < MEMO_MIN_HITS {
                self.bypass = MEMO_BYPASS;
            }
            self.lookups = 0;
            self.hits = 0;
        }
        let slot = Memo::slot_of(s);
        if let Some(Some((k, scores))) = self.slots.get(slot) {
            if k.0 == s.class && k.1 == s.words() {
                self.hits += 1;
                return (Some(*scores), Some(slot));
            }
        }
        (None, Some(slot))
    }

    /// Remembers the scores of `s` in the `slot` its lookup looked in
    /// (nothing without one, or while the memo steps aside), and returns
    /// the fill's identity.
    fn insert(&mut self, s: &Inputs, slot: Option<usize>, scores: MemoScores) -> Option<u64> {
        if self.bypass > 0 {
            return None;
        }
        let slot = self.slots.get_mut(slot?)?;
        let fill = self.next_fill;
        self.next_fill += 1;
        *slot = Some(((s.class, s.words()), MemoScores { fill, ..scores }));
        Some(fill)
    }

    /// The scores of `s`, from the memo or from `m` (then remembered).
    #[cfg(test)]
    fn scores(&mut self, m: &Model, s: &Inputs) -> ([f64; 4], TopFeatures) {
        let (hit, slot) = self.lookup(s);
        if let Some(hit) = hit {
            return (hit.raw, hit.top);
        }
        let r = m.raw_and_top(&s.sample());
        self.insert(s, slot, MemoScores::new(m, s, r.0, r.1));
        r
    }
}

/// A service class as one word (distinct classes, distinct words), for
/// the memo's hash.
fn class_word(c: ServiceClass) -> u64 {
    let t = |t: crate::conn::Transport| t as u64;
    match c {
        ServiceClass::Service(s) => 1 << 40 | s as u64,
        ServiceClass::Port(tr, p) => 2 << 40 | t(tr) << 16 | u64::from(p),
        ServiceClass::High(tr) => 3 << 40 | t(tr),
        ServiceClass::Icmp => 4 << 40,
    }
}

/// A memo key: the class and the bits of the other inputs
/// ([`Inputs::words`]).
type MemoKey = (ServiceClass, [u64; 17]);

/// What the memo keeps of a connection's scores: the detectors' raw
/// scores and top features, and what the row derives from them and the
/// class alone (the combined score, the class's name).
#[derive(Clone, Copy)]
struct MemoScores {
    raw: [f64; 4],
    top: TopFeatures,
    combined: f64,
    name: ClassName,
    /// The identity of the fill that stored them.
    fill: u64,
}

impl MemoScores {
    /// The scores of a connection with inputs `s` (no fill yet).
    fn new(m: &Model, s: &Inputs, raw: [f64; 4], top: TopFeatures) -> MemoScores {
        MemoScores {
            raw,
            top,
            combined: m.combine(&raw),
            name: s.class.name(),
            fill: 0,
        }
    }
}

/// Memo misses scored together (see [`DetectStage::flush`]).
const BATCH: usize = 32;
/// Rows waiting for their batch at most (memo hits wait beside misses).
const MAX_PENDING: usize = 8 * BATCH;
/// Network time a score row waits for its batch at most, as long as
/// connections keep closing (nanoseconds; the end of input flushes).
const BATCH_WAIT: i64 = SEC;

/// A connection waiting for its score (see [`DetectStage::flush`]).
struct Pending {
    ts: Ts,
    uid: crate::conn::uid::Uid,
    id: (crate::decode::Addr, u16, crate::decode::Addr, u16),
    proto: crate::conn::Transport,
    logged_at: Ts,
    /// The memo slot its lookup looked in ([`Memo::slot_of`]; none while
    /// the memo stepped aside).
    slot: Option<usize>,
    /// From the memo, when it remembered them (else the sample waits in
    /// [`DetectStage::misses`], in the same order).
    scores: Option<MemoScores>,
}

/// Most suppression entries kept.
const MAX_SUPPRESS: usize = 1 << 16;

/// What the stage learns from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Training {
    /// Nothing: score with a loaded model (or only run host detectors).
    None,
    /// Connections starting in the first N seconds of packet time.
    Seconds(f64),
    /// Connections starting before this time.
    Until(Ts),
    /// Every connection (`connscope train`): nothing is scored.
    All,
}

/// Settings of the detect stage.
#[derive(Clone, Debug)]
pub struct DetectConfig {
    /// What to learn from.
    pub training: Training,
    /// A model learned earlier (`--model`).
    pub model: Option<Model>,
    /// Target false-positive rate of the combined score's threshold.
    pub target_fpr: f64,
    /// Seed of the randomised detectors.
    pub seed: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            training: Training::None,
            model: None,
            target_fpr: 0.001,
            seed: 0,
        }
    }
}

/// What the stage did, read by the caller after the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectReport {
    /// Connections scored (score.log rows).
    pub scored: u64,
    /// Connections learned from.
    pub trained: u64,
    /// Notices written (after suppression).
    pub notices: u64,
    /// Entries held by the host-level detectors and familiarity tables at
    /// the end (bounded by their caps).
    pub host_entries: usize,
}

/// Where the stage leaves its report at the end of input.
pub type ReportSlot = Arc<Mutex<DetectReport>>;

/// Where the stage leaves the model it fitted (read by the caller after
/// the run, e.g. to write it with `connscope train`).
pub type ModelSlot = Arc<Mutex<Option<Model>>>;

/// Every host-level detector, in a fixed order.
pub fn host_detectors() -> Vec<Box<dyn HostDetector>> {
    vec![
        Box::new(host::scan::Scan::default()),
        Box::new(host::flood::Flood::default()),
        Box::new(host::brute_force::BruteForce::default()),
        Box::new(host::beacon::Beacon::default()),
        Box::new(host::dns_tunnel::DnsTunnel::default()),
        Box::new(host::slow_http::SlowHttp::default()),
        Box::new(host::host_volume::HostVolume::default()),
        Box::new(host::coordinated::Coordinated::default()),
    ]
}

/// The detect stage.
pub struct DetectStage {
    cfg: DetectConfig,
    model: Option<Model>,
    /// Earliest connection start seen (for [`Training::Seconds`]).
    first_start: Option<Ts>,
    samples: Vec<Sample>,
    seen: u64,
    /// The training reservoir's random numbers.
    rng: Rng,
    train_first: Option<Ts>,
    train_last: Ts,
    hosts: Vec<Box<dyn HostDetector>>,
    familiar: Familiarity,
    notices: Vec<NoticeRecord>,
    suppress: host::Map<(NoticeType, String), Ts>,
    memo: Memo,
    /// Connections whose score rows wait for their batch, in order.
    pending: Vec<Pending>,
    /// The inputs of the memo misses among `pending`, in order.
    misses: Vec<Inputs>,
    /// Their samples while a batch is scored (kept for its capacity).
    samples_of_misses: Vec<Sample>,
    /// Their scores while a batch is written (kept for its capacity).
    computed: Vec<([f64; 4], TopFeatures)>,
    slot: ModelSlot,
    report: ReportSlot,
    /// Connections scored.
    pub scored: u64,
    /// Notices raised (after suppression).
    pub raised: u64,
}

impl DetectStage {
    /// A stage with these settings. A loaded model's host-detector state
    /// is restored; an incompatible one is an error.
    pub fn new(mut cfg: DetectConfig) -> Result<DetectStage, String> {
        let mut hosts = host_detectors();
        // The stage owns the model from here (no copy of a model that can
        // be tens of megabytes); the host detectors' knowledge moves into
        // the detectors, so its JSON form is dropped once loaded (a fit
        // saves it again from the detectors).
        let mut model = cfg.model.take();
        if let Some(m) = &mut model {
            for h in hosts.iter_mut() {
                if let Some(v) = m.hosts.get_mut(h.name()) {
                    match v.take_preread() {
                        Some(p) => h.load_preread(p),
                        None => h.load_raw(v.get()),
                    }
                    .map_err(|e| format!("model: detector {}: {e}", h.name()))?;
                }
            }
            m.hosts = Default::default();
        }
        Ok(DetectStage {
            model,
            rng: Rng::from_state(cfg.seed ^ 0x9e37_79b9_7f4a_7c15 | 1),
            cfg,
            first_start: None,
            samples: Vec::new(),
            seen: 0,
            train_first: None,
            train_last: Ts(0),
            hosts,
            familiar: Familiarity::default(),
            notices: Vec::new(),
            suppress: host::Map::default(),
            memo: Memo::new(),
            pending: Vec::with_capacity(MAX_PENDING),
            misses: Vec::with_capacity(BATCH),
            samples_of_misses: Vec::with_capacity(BATCH),
            computed: Vec::with_capacity(BATCH),
            slot: Arc::new(Mutex::new(None)),
            report: Arc::new(Mutex::new(DetectReport::default())),
            scored: 0,
            raised: 0,
        })
    }

    /// The slot the fitted model is left in.
    pub fn model_slot(&self) -> ModelSlot {
        Arc::clone(&self.slot)
    }

    /// The slot the end-of-input report is left in.
    pub fn report_slot(&self) -> ReportSlot {
        Arc::clone(&self.report)
    }

    /// Entries held by the host-level detectors' tables.
    pub fn host_entries(&self) -> usize {
        self.hosts.iter().map(|h| h.entries()).sum::<usize>() + self.familiar.entries()
    }

    /// The end of training, if the stage trains on a prefix.
    fn boundary(&self) -> Option<Ts> {
        match self.cfg.training {
            Training::Seconds(s) => self.first_start.map(|f| Ts(f.0 + (s * SEC as f64) as i64)),
            Training::Until(t) => Some(t),
            _ => None,
        }
    }

    fn learn(&mut self, c: &ConnSummary, s: Sample) {
        self.seen += 1;
        self.train_first = Some(self.train_first.map_or(c.start, |f| f.min(c.start)));
        self.train_last = self.train_last.max(c.start);
        if self.samples.len() < MAX_TRAIN_SAMPLES {
            self.samples.push(s);
        } else {
            // Reservoir sampling (deterministic for a seed).
            let j = self.rng.next() % self.seen;
            if let Some(slot) = self.samples.get_mut(j as usize) {
                *slot = s;
            }
        }
    }

    /// Fits the model on what was learned (once).
    fn fit(&mut self) {
        let secs = |t: Ts| t.0 as f64 / SEC as f64;
        let info = TrainInfo {
            samples: self.samples.len(),
            seen: self.seen,
            first_ts: self.train_first.map_or(0.0, secs),
            last_ts: secs(self.train_last),
            target_fpr: self.cfg.target_fpr,
            seed: self.cfg.seed,
        };
        let mut m = Model::fit(&self.samples, info);
        for h in &self.hosts {
            let v = h.save();
            // (a JSON value always converts to text)
            if let (false, Ok(raw)) = (v.is_null(), serde_json::value::to_raw_value(&v)) {
                m.hosts.insert(h.name().to_string(), raw.into());
            }
        }
        self.samples = Vec::new();
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(m.clone());
        }
        self.model = Some(m);
    }

    /// Queues `c` for scoring: its row is written when its batch is
    /// scored (see [`flush`](Self::flush)).
    fn score(&mut self, c: &ConnSummary, s: &Inputs, out: &mut dyn Emit) {
        if self.model.is_none() {
            return;
        }
        if self
            .pending
            .first()
            .is_some_and(|p| c.logged_at.0.saturating_sub(p.logged_at.0) >= BATCH_WAIT)
        {
            self.flush(out);
        }
        let (scores, slot) = self.memo.lookup(s);
        if scores.is_none() {
            self.misses.push(*s);
        }
        self.pending.push(Pending {
            ts: c.start,
            uid: c.uid,
            id: (c.orig_h, c.orig_p, c.resp_h, c.resp_p),
            proto: c.transport,
            logged_at: c.logged_at,
            slot,
            scores,
        });
        if self.misses.len() >= BATCH || self.pending.len() >= MAX_PENDING {
            self.flush(out);
        }
    }

    /// Scores the waiting connections (the memo's misses as one batch,
    /// whose forest walk reads each tree's nodes once for all of them) and
    /// writes their rows in order. A row waits for at most [`BATCH`]
    /// misses, [`MAX_PENDING`] rows or [`BATCH_WAIT`] of network time while
    /// connections keep closing, and for the end of input otherwise; the
    /// rows and their order are those of scoring one by one.
    fn flush(&mut self, out: &mut dyn Emit) {
        let Some(m) = &self.model else {
            self.pending.clear();
            self.misses.clear();
            return;
        };
        self.samples_of_misses.clear();
        self.samples_of_misses
            .extend(self.misses.iter().map(Inputs::sample));
        self.computed.clear();
        m.raw_and_top_batch(&self.samples_of_misses, &mut self.computed);
        let mut computed = self.computed.iter().copied().zip(&self.misses);
        let names = m.detector_names();
        for p in self.pending.drain(..) {
            let (sc, tail_id) = match p.scores {
                Some(hit) => (hit, Some(hit.fill)),
                None => match computed.next() {
                    Some(((raw, top), s)) => {
                        let sc = MemoScores::new(m, s, raw, top);
                        (sc, self.memo.insert(s, p.slot, sc))
                    }
                    // (every miss has its sample and scores)
                    None => continue,
                },
            };
            let r = ScoreRecord {
                ts: p.ts,
                uid: p.uid,
                id: p.id,
                proto: p.proto,
                service_class: sc.name,
                scores: std::array::from_fn(|i| (names[i], sc.raw[i])),
                score: sc.combined,
                anomalous: sc.combined > m.threshold,
                top: sc.top,
                tail_id,
            };
            self.scored += 1;
            out.score(&r);
        }
        self.misses.clear();
    }

    fn raise(&mut self, out: &mut dyn Emit) {
        for n in self.notices.drain(..) {
            let key = (n.note, n.identifier.clone());
            if let Some(until) = self.suppress.get(&key) {
                if n.ts < *until {
                    continue;
                }
            }
            if self.suppress.len() >= MAX_SUPPRESS {
                let now = n.ts;
                self.suppress.retain(|_, until| *until > now);
                if self.suppress.len() >= MAX_SUPPRESS {
                    self.suppress.clear();
                }
            }
            let until = Ts(n.ts.0 + (n.suppress_for * SEC as f64) as i64);
            self.suppress.insert(key, until);
            self.raised += 1;
            out.notice(&n);
        }
    }
}

impl Stage for DetectStage {
    fn record(&mut self, c: &ConnSummary, f: &Features, out: &mut dyn Emit) {
        if c.interim {
            return;
        }
        self.first_start = Some(self.first_start.map_or(c.start, |t| t.min(c.start)));
        // (the features are extracted when needed: for learning, and for
        // scoring only on a memo miss)
        let inputs = Inputs::of(c, self.familiar.observe(c));
        let training = match self.cfg.training {
            Training::All => true,
            Training::None => false,
            _ => self.model.is_none() && self.boundary().is_some_and(|b| c.start < b),
        };
        // The prefix is over once a record is logged past the boundary.
        if !training
            && self.model.is_none()
            && matches!(self.cfg.training, Training::Seconds(_) | Training::Until(_))
        {
            self.fit();
        }
        let phase = if training { Phase::Train } else { Phase::Score };
        if training {
            self.learn(c, inputs.sample());
        } else {
            self.score(c, &inputs, out);
        }
        let mut notices = std::mem::take(&mut self.notices);
        for h in self.hosts.iter_mut() {
            h.observe(c, f, phase, &mut notices);
        }
        if phase == Phase::Train {
            notices.clear();
        }
        self.notices = notices;
        self.raise(out);
    }

    fn finish(&mut self, out: &mut dyn Emit) {
        self.flush(out);
        let phase = if self.model.is_some() || self.cfg.training == Training::None {
            Phase::Score
        } else {
            Phase::Train
        };
        let mut notices = std::mem::take(&mut self.notices);
        for h in self.hosts.iter_mut() {
            h.finish(phase, &mut notices);
        }
        if phase == Phase::Train {
            notices.clear();
        }
        self.notices = notices;
        self.raise(out);
        if self.model.is_none() && self.cfg.training != Training::None {
            self.fit();
        }
        if let Ok(mut r) = self.report.lock() {
            *r = DetectReport {
                scored: self.scored,
                trained: self.seen,
                notices: self.raised,
                host_entries: self.host_entries(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::service::Service;

    /// Collects what the stage emits.
    #[derive(Default)]
    struct Rows {
        scores: Vec<ScoreRecord>,
    }

    impl Emit for Rows {
        fn context(&mut self, _: &ConnSummary, _: &Features) {}
        fn score(&mut self, r: &ScoreRecord) {
            self.scores.push(r.clone());
        }
        fn notice(&mut self, _: &NoticeRecord) {}
    }

    #[test]
    fn batched_rows_are_the_rows_of_scoring_one_by_one() {
        use crate::record::ConnState;
        // Train on a benign-looking stretch, then score connections that
        // close in bursts (full batches) and after pauses (the wait bound),
        // repeats included (memo hits inside and across batches).
        let conn = |k: u32, t: f64| {
            let resp = [10, 0, (k % 7) as u8, 1];
            let bytes = u64::from(k % 13) * 100;
            host::test_conn(
                [10, 1, 0, (k % 5) as u8],
                resp,
                80 + (k % 3) as u16,
                t,
                ConnState::SF,
                bytes,
                2 * bytes,
            )
        };
        let mut train = DetectStage::new(DetectConfig {
            training: Training::All,
            ..DetectConfig::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let mut sink = Rows::default();
        for k in 0..400 {
            let c = conn(k, 1000.0 + f64::from(k) * 0.01);
            train.record(&c, &Features::default(), &mut sink);
        }
        train.finish(&mut sink);
        let Some(model) = train.model_slot().lock().ok().and_then(|m| m.clone()) else {
            panic!("no model fitted");
        };
        let mut stage = DetectStage::new(DetectConfig {
            model: Some(model.clone()),
            ..DetectConfig::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let mut familiar = Familiarity::default();
        let mut want = Vec::new();
        let mut rows = Rows::default();
        let mut t = 2000.0;
        for k in 0..300u32 {
            // bursts of 50 within 0.5 s, then a 3 s pause
            t += if k % 50 == 0 { 3.0 } else { 0.01 };
            let c = conn(k * 7 % 97, t);
            let s = Sample {
                class: ServiceClass::of(&c),
                x: crate::detect::features::extract(&c, familiar.observe(&c)),
            };
            want.push((c.uid, model.raw_and_top(&s)));
            stage.record(&c, &Features::default(), &mut rows);
            assert!(stage.misses.len() < BATCH && stage.pending.len() < MAX_PENDING);
        }
        assert!(
            rows.scores.len() < want.len(),
            "some rows wait for their batch"
        );
        stage.finish(&mut rows);
        assert_eq!(rows.scores.len(), want.len());
        for (r, (uid, (raw, top))) in rows.scores.iter().zip(&want) {
            assert_eq!(r.uid, *uid);
            assert_eq!(r.scores.map(|(_, v)| v.to_bits()), raw.map(f64::to_bits));
            assert_eq!(r.top, *top);
            assert_eq!(r.score.to_bits(), model.combine(raw).to_bits());
        }
    }

    #[test]
    fn memo_returns_what_scoring_would() {
        let class = ServiceClass::Service(Service::Http);
        let mut rng = Rng::new(9);
        let mut next = || rng.unit();
        let train: Vec<Sample> = (0..300)
            .map(|_| Sample {
                class,
                x: std::array::from_fn(|j| j as f64 + next()),
            })
            .collect();
        let info = TrainInfo {
            samples: train.len(),
            seen: train.len() as u64,
            first_ts: 0.0,
            last_ts: 0.0,
            target_fpr: 0.01,
            seed: 1,
        };
        let m = Model::fit(&train, info);
        // Inputs of varied connections: repeats, near-duplicates (one ulp,
        // -0.0 against 0.0, another class) and more than there are slots
        // (collisions).
        let conn = |k: usize| {
            let mut c = host::test_conn(
                [10, 1, 0, (k % 5) as u8],
                [10, 0, (k % 7) as u8, 1],
                [80u16, 443, 53, 40000][k % 4],
                1000.0 + k as f64,
                crate::record::ConnState::SF,
                (k % 13) as u64 * 100,
                (k % 17) as u64 * 1000,
            );
            c.last.0 = c.start.0 + (k as i64 % 9) * 250_000_000;
            c.orig_pkts = 1 + (k % 6) as u64;
            c.resp_pkts = (k % 8) as u64;
            c.flow.flow_iat.avg = (k % 11) as f64 / 10.0;
            c
        };
        let seen = crate::detect::features::Seen { resp: 1, pair: 0 };
        let mut probe: Vec<Inputs> = (0..50).map(|k| Inputs::of(&conn(k), seen)).collect();
        for k in 0..50 {
            let mut c = conn(k);
            c.flow.flow_iat.avg = c.flow.flow_iat.avg.next_up();
            probe.push(Inputs::of(&c, seen));
            c.flow.flow_iat.std = if k % 2 == 0 { 0.0 } else { -0.0 };
            probe.push(Inputs::of(&c, seen));
            c.transport = crate::conn::Transport::Icmp;
            probe.push(Inputs::of(&c, seen));
        }
        probe.extend((0..3 * MEMO_SLOTS).map(|i| Inputs::of(&conn(i % 997), seen)));
        let mut memo = Memo::new();
        for s in probe.iter().chain(probe.iter().rev()) {
            let (raw, top) = memo.scores(&m, s);
            let (want_raw, want_top) = m.raw_and_top(&s.sample());
            assert_eq!(raw.map(f64::to_bits), want_raw.map(f64::to_bits));
            assert_eq!(top, want_top);
        }
        // Traffic that does not repeat turns the memo off for a while, then
        // it is tried again; the scores stay exact throughout.
        let mut memo = Memo::new();
        let distinct = (0..(MEMO_WINDOW + MEMO_BYPASS + 2 * MEMO_WINDOW) as usize).map(|i| {
            let mut c = conn(i);
            c.orig_bytes = i as u64;
            Inputs::of(&c, seen)
        });
        let mut bypassed = false;
        for (i, s) in distinct.enumerate() {
            let (raw, _) = memo.scores(&m, &s);
            assert_eq!(
                raw.map(f64::to_bits),
                m.raw_and_top(&s.sample()).0.map(f64::to_bits)
            );
            bypassed |= memo.bypass > 0;
            if i == (MEMO_WINDOW + MEMO_BYPASS) as usize + 10 {
                assert!(bypassed && memo.bypass == 0, "the memo is tried again");
            }
        }
        assert!(bypassed);
    }
}
