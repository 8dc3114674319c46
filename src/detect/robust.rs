//! Robust per-class baselines: per service class (and globally) the median,
//! MAD and quartiles of every feature, learned once from benign traffic;
//! a connection scores by its largest robust z-scores against its class's
//! baseline (or the global one for rare classes), plus a bonus when its
//! class never appeared in training. Also explains a score (top features)
//! and counts IQR fence violations.
//!
//! Owns: the [`Robust`] model, its fitting and scoring.
//! Must not: re-fit on what it scores, panic or return a non-finite score
//! on any input, or keep more than a bounded number of training values
//! (fitting subsamples to [`MAX_SAMPLES`] per baseline; the model keeps four
//! numbers per feature per class).

use super::features::{ServiceClass, N_FEATURES};
use super::host::Map;
use super::{clean, stride_indexes, ConnDetector, Sample};
use crate::record::{Contribution, TopFeatures};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// At most this many samples are used per baseline (deterministic stride
/// subsampling above it).
pub const MAX_SAMPLES: usize = 20_000;

/// Classes with fewer training samples than this get no baseline of their
/// own (they are scored against the global baseline).
pub const MIN_CLASS_SAMPLES: usize = 10;

/// Added to the score of a connection whose class never appeared in
/// training.
pub const NOVEL_CLASS_BONUS: f64 = 3.0;

/// Floor of every per-feature scale and of the IQR used by the fences.
const SCALE_FLOOR: f64 = 0.1;
/// |z| is clipped here before averaging.
const Z_CLIP: f64 = 30.0;
/// How many of the largest |z| are averaged.
const TOP_K: usize = 5;
/// Fence multiplier of the IQR.
const FENCE_K: f64 = 3.0;

/// Quantile `p` of sorted values, linear interpolation between order
/// statistics (`h = (n-1)p`); 0 for an empty slice.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let lo = lo.min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Per class, its own baseline (if it has one) and whether it is novel.
type ClassIndex = Map<ServiceClass, (Option<Baseline>, bool)>;

/// One baseline: per-feature robust statistics of a set of samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Baseline {
    /// Number of samples it was fitted on.
    n: usize,
    median: Vec<f64>,
    mad: Vec<f64>,
    q1: Vec<f64>,
    q3: Vec<f64>,
    /// [`scale`](Self::scale) of every feature, computed once for the
    /// copies the scorer reads ([`prepared`](Self::prepared)); empty in a
    /// fitted or loaded baseline (then computed on each use: the same bits).
    #[serde(skip)]
    scales: Vec<f64>,
}

impl Baseline {
    fn fit(samples: &[Sample], idx: &[usize]) -> Baseline {
        let mut b = Baseline {
            n: idx.len(),
            median: vec![0.0; N_FEATURES],
            mad: vec![0.0; N_FEATURES],
            q1: vec![0.0; N_FEATURES],
            q3: vec![0.0; N_FEATURES],
            scales: Vec::new(),
        };
        let mut col: Vec<f64> = Vec::with_capacity(idx.len());
        for j in 0..N_FEATURES {
            col.clear();
            col.extend(idx.iter().map(|&i| clean(samples[i].x[j])));
            col.sort_by(f64::total_cmp);
            let med = quantile(&col, 0.5);
            b.median[j] = med;
            b.q1[j] = quantile(&col, 0.25);
            b.q3[j] = quantile(&col, 0.75);
            for v in col.iter_mut() {
                *v = (*v - med).abs();
            }
            col.sort_by(f64::total_cmp);
            b.mad[j] = quantile(&col, 0.5);
        }
        b
    }

    /// Whether every per-feature vector has one entry per feature (a
    /// deserialized model might not).
    fn valid(&self) -> bool {
        [&self.median, &self.mad, &self.q1, &self.q3]
            .iter()
            .all(|v| v.len() == N_FEATURES)
    }

    fn iqr(&self, j: usize) -> f64 {
        (self.q3[j] - self.q1[j]).max(0.0)
    }

    /// max(1.4826 MAD, IQR/1.349, 0.1).
    #[inline]
    fn scale(&self, j: usize) -> f64 {
        let s = (1.4826 * self.mad[j])
            .max(self.iqr(j) / 1.349)
            .max(SCALE_FLOOR);
        if s.is_finite() {
            s
        } else {
            SCALE_FLOOR
        }
    }

    /// This baseline with its scales computed (what the scorer reads).
    fn prepared(mut self) -> Baseline {
        if self.valid() {
            self.scales = (0..N_FEATURES).map(|j| self.scale(j)).collect();
        }
        self
    }

    #[inline]
    fn z(&self, j: usize, v: f64) -> f64 {
        let scale = match self.scales.get(j) {
            Some(&s) => s,
            None => self.scale(j),
        };
        let z = (clean(v) - self.median[j]) / scale;
        if z.is_finite() {
            z
        } else {
            0.0
        }
    }

    fn violates_fence(&self, j: usize, v: f64) -> bool {
        let iqr = self.iqr(j).max(SCALE_FLOOR);
        let v = clean(v);
        v < self.q1[j] - FENCE_K * iqr || v > self.q3[j] + FENCE_K * iqr
    }
}

/// Robust z-score detector: median/MAD/IQR baselines per service class and
/// globally, fitted on benign samples.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Robust {
    /// Baseline over all (subsampled) training samples; `None` when the
    /// training set was empty (everything then scores 0).
    global: Option<Baseline>,
    /// Baselines of classes with at least [`MIN_CLASS_SAMPLES`] samples,
    /// keyed by the class's text form.
    classes: BTreeMap<String, Baseline>,
    /// Every class seen in training, however rarely.
    seen: BTreeSet<String>,
    /// `classes` and `seen` by class: the class's own baseline when it has
    /// one, and whether it is novel, then the global baseline, all
    /// [`prepared`](Baseline::prepared) (built on first use, also after
    /// loading a model): one hash lookup per connection instead of text
    /// keys, and no scale computed per feature and connection.
    #[serde(skip)]
    index: OnceLock<(ClassIndex, Baseline)>,
}

impl Robust {
    /// Learns the baselines from benign samples (`seed` is unused: fitting
    /// is deterministic without randomness; kept for a uniform API).
    pub fn fit(samples: &[Sample], seed: u64) -> Self {
        let _ = seed;
        if samples.is_empty() {
            return Robust {
                global: None,
                classes: BTreeMap::new(),
                seen: BTreeSet::new(),
                index: OnceLock::new(),
            };
        }
        let global = Baseline::fit(samples, &stride_indexes(samples.len(), MAX_SAMPLES));
        let mut by_class: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in samples.iter().enumerate() {
            by_class.entry(s.class.to_string()).or_default().push(i);
        }
        let seen = by_class.keys().cloned().collect();
        let classes = by_class
            .into_iter()
            .filter(|(_, idx)| idx.len() >= MIN_CLASS_SAMPLES)
            .map(|(k, idx)| {
                let sub: Vec<usize> = stride_indexes(idx.len(), MAX_SAMPLES)
                    .into_iter()
                    .map(|i| idx[i])
                    .collect();
                (k, Baseline::fit(samples, &sub))
            })
            .collect();
        Robust {
            global: Some(global),
            classes,
            seen,
            index: OnceLock::new(),
        }
    }

    /// The classes that have a baseline of their own, in text order.
    pub fn classes(&self) -> impl Iterator<Item = &str> {
        self.classes.keys().map(String::as_str)
    }

    /// The baseline a sample is scored against and whether its class is
    /// novel (never seen in training).
    fn baseline(&self, s: &Sample) -> Option<(&Baseline, bool)> {
        let global = self.global.as_ref()?;
        let (index, global) = self.index.get_or_init(|| {
            // A name is the class whose text form it is (a hand-edited
            // "tcp/080" is no class's name and matches none, as before).
            let index = self
                .seen
                .iter()
                .chain(self.classes.keys())
                .filter_map(|name| {
                    let c = ServiceClass::parse(name)?;
                    let own = self.classes.get(name).cloned().map(Baseline::prepared);
                    (c.name().as_str() == name).then(|| (c, (own, !self.seen.contains(name))))
                })
                .collect();
            (index, global.clone().prepared())
        });
        let (b, novel) = match index.get(&s.class) {
            Some((own, novel)) => (own.as_ref().unwrap_or(global), *novel),
            None => (global, true),
        };
        b.valid().then_some((b, novel))
    }

    /// Signed robust z-scores of every feature against the sample's
    /// baseline (`None` when the model is empty).
    fn zs(&self, s: &Sample) -> Option<(&Baseline, [f64; N_FEATURES], bool)> {
        let (b, novel) = self.baseline(s)?;
        let z = std::array::from_fn(|j| b.z(j, s.x[j]));
        Some((b, z, novel))
    }

    /// The 3 features with the largest |z| (ties by lower feature index):
    /// value (NaN read as 0, clamped to ±1e12), baseline median and signed
    /// z. Empty for an empty model.
    pub fn explain(&self, s: &Sample) -> Vec<Contribution> {
        self.assess(s).1.to_vec()
    }

    /// [`score`](ConnDetector::score) and [`explain`](Self::explain) in one
    /// pass (one baseline lookup, no allocation).
    pub fn assess(&self, s: &Sample) -> (f64, TopFeatures) {
        let Some((b, z, novel)) = self.zs(s) else {
            return (0.0, TopFeatures::default());
        };
        // the TOP_K largest clipped |z| (descending) and the 3 features
        // of largest |z| (ties by lower index), by insertion
        let mut big = [f64::NEG_INFINITY; TOP_K];
        let mut top = [usize::MAX; 3];
        for (j, v) in z.iter().enumerate() {
            let a = v.abs().min(Z_CLIP);
            if a.total_cmp(&big[TOP_K - 1]).is_gt() {
                let mut k = TOP_K - 1;
                while k > 0 && a.total_cmp(&big[k - 1]).is_gt() {
                    big[k] = big[k - 1];
                    k -= 1;
                }
                big[k] = a;
            }
            let above = |t: usize| t == usize::MAX || v.abs().total_cmp(&z[t].abs()).is_gt();
            if above(top[2]) {
                let mut k = 2;
                while k > 0 && above(top[k - 1]) {
                    top[k] = top[k - 1];
                    k -= 1;
                }
                top[k] = j;
            }
        }
        const _: () = assert!(TOP_K >= 1 && TOP_K <= N_FEATURES);
        let mean = big.iter().sum::<f64>() / TOP_K as f64;
        let bonus = if novel { NOVEL_CLASS_BONUS } else { 0.0 };
        let sc = mean + bonus;
        let sc = if sc.is_finite() { sc } else { Z_CLIP + bonus };
        let mut t = TopFeatures::default();
        for &j in top.iter().filter(|&&j| j < N_FEATURES) {
            t.push(Contribution {
                feature: j,
                value: clean(s.x[j]),
                baseline: b.median[j],
                z: z[j],
            });
        }
        (sc, t)
    }

    /// How many features lie outside the IQR fences
    /// `[q1 - 3 IQR, q3 + 3 IQR]` (IQR floored at 0.1) of the sample's
    /// baseline. 0 for an empty model.
    pub fn fence_violations(&self, s: &Sample) -> usize {
        let Some((b, _)) = self.baseline(s) else {
            return 0;
        };
        (0..N_FEATURES)
            .filter(|&j| b.violates_fence(j, s.x[j]))
            .count()
    }
}

impl ConnDetector for Robust {
    fn name(&self) -> &'static str {
        "robust"
    }

    /// Mean of the 5 largest |z| (each clipped at 30), plus
    /// [`NOVEL_CLASS_BONUS`] for a class never seen in training.
    fn score(&self, s: &Sample) -> f64 {
        self.assess(s).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::service::Service;
    use crate::conn::Transport;
    use crate::detect::features::ServiceClass;

    fn sample(class: ServiceClass, f: impl Fn(usize) -> f64) -> Sample {
        let mut x = [0.0; N_FEATURES];
        for (j, v) in x.iter_mut().enumerate() {
            *v = f(j);
        }
        Sample { class, x }
    }

    const HTTP: ServiceClass = ServiceClass::Service(Service::Http);
    const DNS: ServiceClass = ServiceClass::Service(Service::Dns);

    /// Small xorshift for test data.
    fn noise(state: &mut u64) -> f64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn cluster(class: ServiceClass, n: usize, seed: u64) -> Vec<Sample> {
        let mut st = seed | 1;
        (0..n)
            .map(|_| {
                let mut x = [0.0; N_FEATURES];
                for (j, v) in x.iter_mut().enumerate() {
                    *v = 5.0 + j as f64 * 0.1 + noise(&mut st);
                }
                Sample { class, x }
            })
            .collect()
    }

    #[test]
    fn one_pass_assessment_matches_sorting() {
        let mut train = cluster(HTTP, 300, 1);
        train.extend(cluster(DNS, 5, 2));
        let r = Robust::fit(&train, 0);
        let mut st = 7u64;
        let mut probe = cluster(HTTP, 50, 3);
        probe.extend(cluster(DNS, 20, 4));
        probe.extend(cluster(ServiceClass::Icmp, 20, 5));
        for (k, p) in probe.iter_mut().enumerate() {
            // outliers, ties (equal values) and clipped z
            p.x[k % N_FEATURES] += 100.0 * noise(&mut st);
            if k % 3 == 0 {
                p.x = [5.0; N_FEATURES];
            }
            if k % 5 == 0 {
                p.x[(k + 7) % N_FEATURES] = 1e9;
                p.x[(k + 9) % N_FEATURES] = -1e9;
            }
        }
        for p in &probe {
            let (b, novel) = r.baseline(p).unwrap();
            let z: Vec<f64> = (0..N_FEATURES).map(|j| b.z(j, p.x[j])).collect();
            let mut a: Vec<f64> = z.iter().map(|v| v.abs().min(Z_CLIP)).collect();
            a.sort_by(|x, y| y.total_cmp(x));
            let bonus = if novel { NOVEL_CLASS_BONUS } else { 0.0 };
            let want = a.iter().take(TOP_K).sum::<f64>() / TOP_K as f64 + bonus;
            let mut order: Vec<usize> = (0..N_FEATURES).collect();
            order.sort_by(|&x, &y| z[y].abs().total_cmp(&z[x].abs()).then(x.cmp(&y)));
            let (got, top) = r.assess(p);
            assert_eq!(got, want);
            assert_eq!(r.score(p), want);
            let feats: Vec<usize> = top.iter().map(|c| c.feature).collect();
            assert_eq!(feats, order[..3].to_vec());
            assert_eq!(r.explain(p), top.to_vec());
        }
    }

    #[test]
    fn quantiles_and_mad_by_hand() {
        // Values 1, 2, 3, 4, 100: median 3, q1 2, q3 4 (type-7),
        // |x - 3| = 2, 1, 0, 1, 97 -> MAD = 1.
        let vals = [1.0, 2.0, 3.0, 4.0, 100.0];
        let train: Vec<Sample> = (0..10)
            .map(|i| sample(HTTP, |j| if j == 0 { vals[i % 5] } else { 0.0 }))
            .collect();
        // 10 values: each twice. sorted: 1,1,2,2,3,3,4,4,100,100.
        // median = 3, q1 = h=2.25 -> 2, q3 = h=6.75 -> 4.
        // |x-3|: 0,0,1,1,1,1,2,2,97,97 -> MAD = 1.
        let m = Robust::fit(&train, 0);
        let b = &m.classes["http"];
        assert_eq!(b.median[0], 3.0);
        assert_eq!(b.q1[0], 2.0);
        assert_eq!(b.q3[0], 4.0);
        assert_eq!(b.mad[0], 1.0);
        assert_eq!(b.n, 10);
        // scale = max(1.4826, 2/1.349 = 1.4826..., 0.1)
        let scale = (1.4826f64).max(2.0 / 1.349);
        assert!((b.scale(0) - scale).abs() < 1e-12);
        // constant feature: scale floored at 0.1.
        assert_eq!(b.scale(1), 0.1);

        // A small list with interpolation: 1,2,3,4 -> median 2.5,
        // q1 = 1.75, q3 = 3.25; |x - 2.5| = 1.5,.5,.5,1.5 -> MAD 1.
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.5), 2.5);
        assert_eq!(quantile(&s, 0.25), 1.75);
        assert_eq!(quantile(&s, 0.75), 3.25);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn score_and_explain_by_hand() {
        // Feature 0 takes 0..=9 (median 4.5, MAD 2.5, IQR 4.5), the rest 0.
        let train: Vec<Sample> = (0..10)
            .map(|i| sample(HTTP, |j| if j == 0 { i as f64 } else { 0.0 }))
            .collect();
        let m = Robust::fit(&train, 0);
        // scale0 = max(1.4826*2.5 = 3.7065, 4.5/1.349 = 3.3358, 0.1) = 3.7065
        let s = sample(HTTP, |j| match j {
            0 => 4.5 + 3.7065,
            3 => -0.5,
            7 | 9 => 0.25,
            _ => 0.0,
        });
        // z0 = 1, z3 = -5, z7 = z9 = 2.5 -> top five |z|: 5, 2.5, 2.5, 1, 0
        // -> mean 2.2
        assert!((m.score(&s) - 2.2).abs() < 1e-9, "{}", m.score(&s));
        let e = m.explain(&s);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].feature, 3);
        assert!((e[0].z + 5.0).abs() < 1e-9);
        assert_eq!(e[0].baseline, 0.0);
        assert_eq!(e[0].value, -0.5);
        // exact tie between 7 and 9 broken by index
        assert_eq!(e[1].feature, 7);
        assert_eq!(e[2].feature, 9);
        assert!((e[1].z - 2.5).abs() < 1e-9);
        // Fences: feature 0 has q1 2.25, q3 6.75, fences [-11.25, 20.25]:
        // 8.2 inside; features 3, 7, 9 fence [-0.3, 0.3] (IQR floored at
        // 0.1): -0.5 outside, 0.25 inside.
        assert_eq!(m.fence_violations(&s), 1);
        assert_eq!(m.classes["http"].median[0], 4.5);
        // Clip at 30: one feature 1e9 -> (30 + 0 * 4) / 5 = 6.
        let far = sample(HTTP, |j| if j == 5 { 1e9 } else { 0.0 });
        // feature 0 at 0: z = -4.5/3.7065
        let expect = (30.0 + 4.5 / 3.7065) / 5.0;
        assert!((m.score(&far) - expect).abs() < 1e-9);
    }

    #[test]
    fn outlier_scores_above_every_inlier() {
        let train = cluster(HTTP, 500, 7);
        let m = Robust::fit(&train, 1);
        let test = cluster(HTTP, 200, 99);
        let max_in = test.iter().map(|s| m.score(s)).fold(0.0, f64::max);
        let mut out = test[0];
        out.x[1] += 20.0;
        out.x[2] -= 15.0;
        assert!(m.score(&out) > max_in, "{} vs {max_in}", m.score(&out));
        assert!(m.fence_violations(&out) >= 2);
        assert_eq!(m.explain(&out)[0].feature, 1);
    }

    #[test]
    fn classes_rare_and_novel() {
        let mut train = cluster(HTTP, 50, 3);
        train.extend(cluster(DNS, 5, 4)); // seen but rare
        let m = Robust::fit(&train, 0);
        assert_eq!(m.classes().collect::<Vec<_>>(), vec!["http"]);
        let base = train[0];
        let http = m.score(&base);
        let dns = m.score(&Sample { class: DNS, ..base });
        let novel_class = ServiceClass::Port(Transport::Tcp, 23);
        let novel = m.score(&Sample {
            class: novel_class,
            ..base
        });
        // DNS (rare) and the novel class both use the global baseline; only
        // the novel class gets the bonus.
        assert!((novel - dns - NOVEL_CLASS_BONUS).abs() < 1e-12);
        assert!(http.is_finite() && dns.is_finite());
    }

    #[test]
    fn empty_constant_and_huge() {
        let m = Robust::fit(&[], 0);
        let s = sample(HTTP, |j| j as f64);
        assert_eq!(m.score(&s), 0.0);
        assert!(m.explain(&s).is_empty());
        assert_eq!(m.fence_violations(&s), 0);
        assert_eq!(m.classes().count(), 0);

        let train: Vec<Sample> = (0..20).map(|_| sample(HTTP, |_| 1.0)).collect();
        let m = Robust::fit(&train, 0);
        assert_eq!(m.score(&train[0]), 0.0);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            let s = sample(HTTP, |_| v);
            let sc = m.score(&s);
            assert!(sc.is_finite(), "{v} -> {sc}");
            assert!(m.explain(&s).iter().all(|c| c.z.is_finite()));
        }
        // training on non-finite values does not poison the model
        let bad: Vec<Sample> = (0..20)
            .map(|i| sample(HTTP, |_| if i % 2 == 0 { f64::NAN } else { f64::INFINITY }))
            .collect();
        let m = Robust::fit(&bad, 0);
        assert!(m.score(&train[0]).is_finite());
    }

    #[test]
    fn deterministic_and_serde_round_trip() {
        let mut train = cluster(HTTP, 300, 5);
        train.extend(cluster(DNS, 30, 6));
        let a = Robust::fit(&train, 42);
        let b = Robust::fit(&train, 42);
        let json = serde_json::to_string(&a).expect("serialize");
        // serde_json without its `float_roundtrip` feature may parse a float
        // one ulp off, hence the 1e-12 relative tolerance below.
        let c: Robust = serde_json::from_str(&json).expect("deserialize");
        let test = cluster(HTTP, 50, 77);
        for s in &test {
            let (sa, sb, sc) = (a.score(s), b.score(s), c.score(s));
            assert_eq!(sa, sb);
            assert!((sa - sc).abs() <= 1e-12 * sa.abs().max(1.0), "{sa} {sc}");
        }
        assert_eq!(a.name(), "robust");
    }

    #[test]
    fn malformed_model_scores_zero() {
        let train = cluster(HTTP, 20, 1);
        let mut m = Robust::fit(&train, 0);
        if let Some(g) = m.global.as_mut() {
            g.median.truncate(3);
        }
        m.classes.clear();
        assert_eq!(m.score(&train[0]), 0.0);
        assert!(m.explain(&train[0]).is_empty());
        assert_eq!(m.fence_violations(&train[0]), 0);
    }

    #[test]
    fn subsampling_caps_baseline_size() {
        let idx = stride_indexes(50_000, MAX_SAMPLES);
        assert_eq!(idx.len(), MAX_SAMPLES);
        assert_eq!(idx[0], 0);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert!(*idx.last().unwrap_or(&0) < 50_000);
    }

    #[test]
    fn prepared_scales_give_the_same_bits() {
        let mut rng = crate::detect::rng::Rng::new(1);
        let mut next = || rng.unit();
        let samples: Vec<Sample> = (0..400)
            .map(|k| Sample {
                class: ServiceClass::Icmp,
                x: std::array::from_fn(|j| {
                    if j % 3 == 0 {
                        (k % 4) as f64
                    } else {
                        next() * 50.0
                    }
                }),
            })
            .collect();
        let idx: Vec<usize> = (0..samples.len()).collect();
        let b = Baseline::fit(&samples, &idx);
        let p = b.clone().prepared();
        assert_eq!(p.scales.len(), N_FEATURES);
        for _ in 0..2000 {
            let j = (next() * N_FEATURES as f64) as usize % N_FEATURES;
            let v = (next() - 0.3) * 1e3;
            assert_eq!(b.z(j, v).to_bits(), p.z(j, v).to_bits());
        }
    }
}
