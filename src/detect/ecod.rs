//! ECOD (Li et al. 2022, "Empirical-Cumulative-distribution-based Outlier
//! Detection"): per feature the empirical left and right tail probabilities
//! of a value among benign training values; a connection scores by the sum
//! of its negative log tail probabilities (left, right, or the side the
//! feature's training skewness points to, whichever sum is largest).
//!
//! Owns: the [`Ecod`] model, its fitting and scoring.
//! Must not: re-fit on what it scores, panic or return a non-finite score
//! on any input, or keep more than [`MAX_QUANTILES`] values per feature
//! (fitting reads at most [`MAX_SAMPLES`] samples).

use super::features::N_FEATURES;
use super::json_scan::Cursor;
use super::rank_index::RankIndex;
use super::{clean, ConnDetector, Sample};

/// At most this many sorted values are kept per feature (evenly spaced
/// order statistics, min and max included).
pub const MAX_QUANTILES: usize = 1024;
/// At most this many training samples are read (stride subsampling above
/// it).
pub const MAX_SAMPLES: usize = 100_000;

/// One feature's empirical distribution.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Column {
    /// Sorted training values, or evenly spaced order statistics of them.
    q: Vec<f64>,
    /// The number of training values `q` stands for.
    n: usize,
    /// Training skewness < 0: the auto side is the left tail.
    left_auto: bool,
    /// Scoring tables, built on first use (also after loading a model):
    /// see [`Tables`].
    #[serde(skip)]
    neg_ln: std::sync::OnceLock<Tables>,
}

/// A column's tails over its distinct stored values: scoring is one binary
/// search over the (few) distinct values and one lookup, no logarithm.
#[derive(Clone, Debug, Default, PartialEq)]
struct Tables {
    /// Distinct stored values, ascending.
    uniq: Vec<f64>,
    /// By `j`, the number of distinct values `<= v`: `-ln F_left(v)`,
    /// `-ln F_right(v)` when `v` is no stored value, and `-ln F_right(v)`
    /// when `v = uniq[j - 1]` (the one random access of a lookup).
    tails: Vec<[f64; 3]>,
    /// The lookup table in front of `uniq`.
    index: RankIndex,
}

impl Column {
    /// A column as serde reads it from an object with exactly the fields
    /// `q`, `n` and `left_auto`, each once; `None` for anything else.
    fn read_json(c: &mut Cursor<'_>) -> Option<Column> {
        let (mut q, mut n, mut left_auto) = (None, None, None);
        c.object(|key, c| {
            match key {
                "q" if q.is_none() => q = Some(c.vec(Cursor::finite_f64)?),
                "n" if n.is_none() => n = Some(usize::try_from(c.u64()?).ok()?),
                "left_auto" if left_auto.is_none() => left_auto = Some(c.bool()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(Column {
            q: q?,
            n: n?,
            left_auto: left_auto?,
            neg_ln: std::sync::OnceLock::new(),
        })
    }
}

impl Column {
    fn fit(mut vals: Vec<f64>) -> Column {
        vals.sort_by(f64::total_cmp);
        let n = vals.len();
        let left_auto = skewness(&vals) < 0.0;
        let q = if n > MAX_QUANTILES {
            (0..MAX_QUANTILES)
                .map(|k| {
                    let pos = (k as f64 * (n - 1) as f64 / (MAX_QUANTILES - 1) as f64).round();
                    vals[(pos as usize).min(n - 1)]
                })
                .collect()
        } else {
            vals
        };
        Column {
            q,
            n,
            left_auto,
            neg_ln: std::sync::OnceLock::new(),
        }
    }

    /// The scoring tables (see [`Tables`]).
    fn tables(&self) -> &Tables {
        self.neg_ln.get_or_init(|| {
            let d = self.n as f64 + 2.0;
            let m = self.q.len();
            let left: Vec<f64> = (0..=m)
                .map(|c| {
                    let le = if c == 0 { 0.0 } else { self.rank(c - 1) + 1.0 };
                    -((le + 1.0) / d).ln()
                })
                .collect();
            let right: Vec<f64> = (0..=m)
                .map(|i| {
                    let ge = if i >= m {
                        0.0
                    } else {
                        self.n as f64 - self.rank(i)
                    };
                    -((ge + 1.0) / d).ln()
                })
                .collect();
            // uniq, and cnt_le[j] = stored points <= uniq[j - 1] (cnt_le[0] = 0)
            let mut uniq: Vec<f64> = Vec::new();
            let mut cnt_le = vec![0];
            for (k, &x) in self.q.iter().enumerate() {
                if uniq.last() == Some(&x) {
                    if let Some(c) = cnt_le.last_mut() {
                        *c = k + 1;
                    }
                } else {
                    uniq.push(x);
                    cnt_le.push(k + 1);
                }
            }
            let at = |t: &[f64], i: usize| t.get(i).copied().unwrap_or(0.0);
            let tails = (0..cnt_le.len())
                .map(|j| {
                    let c = cnt_le[j];
                    let below = if j > 0 { cnt_le[j - 1] } else { c };
                    [at(&left, c), at(&right, c), at(&right, below)]
                })
                .collect();
            Tables {
                index: RankIndex::new(&uniq),
                uniq,
                tails,
            }
        })
    }

    /// Adds this feature's `-ln` tails of `v` to the sums
    /// `[O_left, O_right, O_auto]` (see [`Ecod::parts`]).
    #[inline]
    fn add_tails(&self, o: &mut [f64; 3], v: f64) {
        let (nl, nr) = self.neg_ln_tails(clean(v));
        o[0] += nl;
        o[1] += nr;
        o[2] += if self.left_auto { nl } else { nr };
    }

    /// `(-ln F_left(v), -ln F_right(v))` from the tables.
    #[inline]
    fn neg_ln_tails(&self, v: f64) -> (f64, f64) {
        let t = self.tables();
        let j = t.index.count_le(&t.uniq, v);
        let exact = j > 0 && t.uniq.get(j - 1) == Some(&v);
        match t.tails.get(j) {
            Some(&[l, r, r_exact]) => (l, if exact { r_exact } else { r }),
            None => (0.0, 0.0),
        }
    }

    /// Rank (0-based, in the original `n`) of stored point `k`.
    fn rank(&self, k: usize) -> f64 {
        let m = self.q.len();
        if m == self.n || m <= 1 {
            k as f64
        } else {
            k as f64 * (self.n - 1) as f64 / (m - 1) as f64
        }
    }

    /// Estimated number of training values `<= v`.
    #[cfg(test)]
    fn count_le(&self, v: f64) -> f64 {
        let c = self.q.partition_point(|&x| x <= v);
        if c == 0 {
            0.0
        } else {
            self.rank(c - 1) + 1.0
        }
    }

    /// Estimated number of training values `>= v`.
    #[cfg(test)]
    fn count_ge(&self, v: f64) -> f64 {
        let i = self.q.partition_point(|&x| x < v);
        if i >= self.q.len() {
            0.0
        } else {
            self.n as f64 - self.rank(i)
        }
    }

    /// `(F_left(v), F_right(v))` with the `(count + 1) / (n + 2)` smoothing.
    #[cfg(test)]
    fn tails(&self, v: f64) -> (f64, f64) {
        let d = self.n as f64 + 2.0;
        ((self.count_le(v) + 1.0) / d, (self.count_ge(v) + 1.0) / d)
    }
}

/// Sample skewness `mean((x-μ)^3) / σ^3` (population moments); 0 when the
/// values are constant or empty.
fn skewness(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let m2 = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m3 = v.iter().map(|x| (x - mean).powi(3)).sum::<f64>() / n;
    let s = m3 / m2.powf(1.5);
    if m2 > 1e-300 && s.is_finite() {
        s
    } else {
        0.0
    }
}

/// ECOD detector over the connection features, fitted on benign samples.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Ecod {
    /// One column per feature; empty when fitted on no samples.
    cols: Vec<Column>,
}

impl Ecod {
    /// The model of a model file's `ecod` value, read with the JSON cursor
    /// (no serde): what serde reads when the value is an object with
    /// exactly the field `cols`, its columns as [`Column`]'s fields; `None`
    /// for anything else, which the model reader leaves to serde.
    pub(crate) fn read_json(c: &mut Cursor<'_>) -> Option<Ecod> {
        let cols = c.only_member("cols", |c| c.vec(Column::read_json))?;
        Some(Ecod { cols })
    }

    /// Learns each feature's empirical distribution from benign samples (at
    /// most [`MAX_SAMPLES`], stride-subsampled). `seed` is unused: fitting
    /// is deterministic without randomness.
    pub fn fit(samples: &[Sample], seed: u64) -> Self {
        let _ = seed;
        let n_all = samples.len();
        let n = n_all.min(MAX_SAMPLES);
        if n == 0 {
            return Ecod { cols: Vec::new() };
        }
        let pick = |i: usize| -> &Sample {
            if n_all <= MAX_SAMPLES {
                &samples[i]
            } else {
                &samples[((i as u128 * n_all as u128) / n as u128) as usize]
            }
        };
        let cols = (0..N_FEATURES)
            .map(|j| Column::fit((0..n).map(|i| clean(pick(i).x[j])).collect()))
            .collect();
        Ecod { cols }
    }

    /// The three outlyingness sums `[O_left, O_right, O_auto]`, each the sum
    /// over features of `-ln` of a tail probability (all 0 for an empty
    /// model).
    pub fn parts(&self, s: &Sample) -> [f64; 3] {
        let mut o = [0.0; 3];
        for (c, &v) in self.cols.iter().zip(s.x.iter()) {
            c.add_tails(&mut o, v);
        }
        o
    }
}

/// The score of the sums `[O_left, O_right, O_auto]`: their largest (0
/// when not finite).
fn score_of_parts([l, r, a]: [f64; 3]) -> f64 {
    let v = l.max(r).max(a);
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

impl Ecod {
    /// [`score`](ConnDetector::score) of every sample of `batch` into `out`
    /// (as long): feature by feature over the batch, so a column's table is
    /// read from cache for all of them. Each sample's sums are over the
    /// features in order, as one by one: the same bits.
    pub fn score_batch(&self, batch: &[Sample], out: &mut [f64]) {
        // (chunks with their sums on the stack: no allocation per batch;
        // each sample's sums are its own)
        const CHUNK: usize = 64;
        for (batch, out) in batch.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
            let mut o = [[0.0f64; 3]; CHUNK];
            for (j, c) in self.cols.iter().enumerate().take(N_FEATURES) {
                for (oi, s) in o.iter_mut().zip(batch) {
                    c.add_tails(oi, s.x.get(j).copied().unwrap_or(0.0));
                }
            }
            for (v, parts) in out.iter_mut().zip(o) {
                *v = score_of_parts(parts);
            }
        }
    }
}

impl ConnDetector for Ecod {
    fn name(&self) -> &'static str {
        "ecod"
    }

    /// `max(O_left, O_right, O_auto)`; 0 for an empty model.
    fn score(&self, s: &Sample) -> f64 {
        score_of_parts(self.parts(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::service::Service;
    use crate::detect::features::ServiceClass;

    const HTTP: ServiceClass = ServiceClass::Service(Service::Http);

    fn sample(mut f: impl FnMut(usize) -> f64) -> Sample {
        let mut x = [0.0; N_FEATURES];
        for (j, v) in x.iter_mut().enumerate() {
            *v = f(j);
        }
        Sample { class: HTTP, x }
    }

    fn cluster(n: usize, seed: u64) -> Vec<Sample> {
        let mut st = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                sample(|j| {
                    st ^= st << 13;
                    st ^= st >> 7;
                    st ^= st << 17;
                    2.0 + 0.1 * j as f64 + (st >> 11) as f64 / (1u64 << 53) as f64
                })
            })
            .collect()
    }

    #[test]
    fn tail_probabilities_by_hand() {
        // feature 0: 1, 2, 3 (skew 0 -> right); feature 1: 0, 0, 10
        // (skew > 0 -> right); feature 2: 0, 10, 10 (skew < 0 -> left);
        // the other features constant 0.
        let rows = [[1.0, 0.0, 0.0], [2.0, 0.0, 10.0], [3.0, 10.0, 10.0]];
        let train: Vec<Sample> = rows
            .iter()
            .map(|r| sample(|j| if j < 3 { r[j] } else { 0.0 }))
            .collect();
        let m = Ecod::fit(&train, 0);
        assert!(!m.cols[0].left_auto && !m.cols[1].left_auto && m.cols[2].left_auto);
        // n = 3, denominator 5.
        assert_eq!(m.cols[0].tails(2.5), (3.0 / 5.0, 2.0 / 5.0));
        assert_eq!(m.cols[0].tails(0.0), (1.0 / 5.0, 4.0 / 5.0));
        assert_eq!(m.cols[0].tails(9.0), (4.0 / 5.0, 1.0 / 5.0));
        assert_eq!(m.cols[0].tails(2.0), (3.0 / 5.0, 3.0 / 5.0));
        assert_eq!(m.cols[1].tails(0.0), (3.0 / 5.0, 4.0 / 5.0));
        assert_eq!(m.cols[2].tails(0.0), (2.0 / 5.0, 4.0 / 5.0));
        assert_eq!(m.cols[5].tails(0.0), (4.0 / 5.0, 4.0 / 5.0));

        let s = sample(|j| if j == 0 { 2.5 } else { 0.0 });
        let ln = |p: f64| -p.ln();
        let rest = (N_FEATURES - 3) as f64 * ln(0.8);
        let o_left = ln(0.6) + ln(0.6) + ln(0.4) + rest;
        let o_right = ln(0.4) + ln(0.8) + ln(0.8) + rest;
        let o_auto = ln(0.4) + ln(0.8) + ln(0.4) + rest;
        let [l, r, a] = m.parts(&s);
        assert!((l - o_left).abs() < 1e-12);
        assert!((r - o_right).abs() < 1e-12);
        assert!((a - o_auto).abs() < 1e-12);
        // auto is the largest here
        assert!((m.score(&s) - o_auto).abs() < 1e-12);
    }

    #[test]
    fn downsampled_counts_scale_to_n() {
        // 0..2000 in feature 0: kept as 1024 quantiles with min and max.
        let train: Vec<Sample> = (0..2000)
            .map(|i| sample(|j| if j == 0 { i as f64 } else { 0.0 }))
            .collect();
        let m = Ecod::fit(&train, 0);
        let c = &m.cols[0];
        assert_eq!(c.q.len(), MAX_QUANTILES);
        assert_eq!(c.n, 2000);
        assert_eq!(c.q[0], 0.0);
        assert_eq!(c.q[MAX_QUANTILES - 1], 1999.0);
        assert_eq!(c.count_le(-1.0), 0.0);
        assert_eq!(c.count_le(1999.0), 2000.0);
        assert_eq!(c.count_ge(0.0), 2000.0);
        assert_eq!(c.count_ge(2000.0), 0.0);
        // in the middle, within one stored step (about 2 values) of exact
        for v in [10.0, 500.0, 999.5, 1500.0, 1990.0] {
            let le = c.count_le(v);
            let exact = (v.floor() + 1.0).min(2000.0);
            assert!((le - exact).abs() <= 2.5, "{v}: {le} vs {exact}");
            let ge = c.count_ge(v);
            let exact = 2000.0 - v.ceil();
            assert!((ge - exact).abs() <= 2.5, "{v}: {ge} vs {exact}");
        }
    }

    #[test]
    fn skewness_by_hand() {
        // 0, 0, 3: mean 1, m2 = (1+1+4)/3 = 2, m3 = (-1-1+8)/3 = 2,
        // skew = 2 / 2^1.5 = 0.7071...
        assert!((skewness(&[0.0, 0.0, 3.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((skewness(&[0.0, 3.0, 3.0]) + 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(skewness(&[4.0, 4.0]), 0.0);
        assert_eq!(skewness(&[]), 0.0);
    }

    #[test]
    fn outlier_scores_above_every_inlier() {
        let train = cluster(2000, 1);
        let m = Ecod::fit(&train, 0);
        let test = cluster(300, 2);
        let max_in = test.iter().map(|s| m.score(s)).fold(0.0, f64::max);
        let mut out = test[0];
        for j in 0..10 {
            out.x[j] += 5.0;
        }
        assert!(m.score(&out) > max_in, "{} vs {max_in}", m.score(&out));
    }

    #[test]
    fn deterministic_and_serde_round_trip() {
        let train = cluster(3000, 3);
        let a = Ecod::fit(&train, 5);
        let b = Ecod::fit(&train, 5);
        let json = serde_json::to_string(&a).expect("serialize");
        // serde_json without its `float_roundtrip` feature may parse a float
        // one ulp off, hence the 1e-12 relative tolerance below.
        let c: Ecod = serde_json::from_str(&json).expect("deserialize");
        for s in &cluster(50, 4) {
            let sa = a.score(s);
            assert_eq!(sa, b.score(s));
            assert!((sa - c.score(s)).abs() <= 1e-12 * sa.abs().max(1.0));
        }
        assert_eq!(a.name(), "ecod");
    }

    #[test]
    fn empty_constant_and_huge() {
        let m = Ecod::fit(&[], 0);
        assert_eq!(m.score(&sample(|j| j as f64)), 0.0);
        assert_eq!(m.parts(&sample(|_| 1.0)), [0.0; 3]);

        let train: Vec<Sample> = (0..10).map(|_| sample(|_| 1.0)).collect();
        let m = Ecod::fit(&train, 0);
        // constant: value 1 -> both tails 11/12 on each of the 47 features
        let expect = -(N_FEATURES as f64) * (11.0f64 / 12.0).ln();
        assert!((m.score(&train[0]) - expect).abs() < 1e-9);
        // far away: one tail 1/12
        let far = -(N_FEATURES as f64) * (1.0f64 / 12.0).ln();
        for v in [f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            let sc = m.score(&sample(|_| v));
            assert!((sc - far).abs() < 1e-9, "{v} -> {sc}");
        }
        assert!(m.score(&sample(|_| f64::NAN)).is_finite());
        let bad: Vec<Sample> = (0..20)
            .map(|i| sample(|_| if i % 2 == 0 { f64::NAN } else { f64::INFINITY }))
            .collect();
        let m = Ecod::fit(&bad, 0);
        assert!(m.score(&train[0]).is_finite());
    }

    #[test]
    fn batch_scores_are_the_one_by_one_bits() {
        let train = cluster(3000, 4);
        let m = Ecod::fit(&train, 0);
        let mut probe = cluster(70, 8);
        probe.extend(train.iter().take(20).copied());
        probe[3].x[2] = f64::NAN;
        probe[5].x[7] = 1e300;
        for model in [&m, &Ecod::fit(&[], 0)] {
            let mut out = vec![f64::NAN; probe.len()];
            model.score_batch(&probe, &mut out);
            for (s, v) in probe.iter().zip(&out) {
                assert_eq!(v.to_bits(), model.score(s).to_bits());
            }
        }
    }

    #[test]
    fn table_lookup_matches_the_tail_formula() {
        // Duplicates, downsampling and values between, on and beyond the
        // stored points: the lookup equals -ln of the smoothed tails.
        let mut rng = crate::detect::rng::Rng::new(4);
        let mut next = || rng.next();
        for n in [1usize, 7, 300, 5000] {
            let vals: Vec<f64> = (0..n).map(|_| (next() % 13) as f64 * 0.5).collect();
            let c = Column::fit(vals);
            for k in 0..60 {
                let v = k as f64 * 0.125 - 0.5;
                let (l, r) = c.tails(v);
                let (nl, nr) = c.neg_ln_tails(v);
                assert!((nl + l.ln()).abs() < 1e-12, "n={n} v={v}");
                assert!((nr + r.ln()).abs() < 1e-12, "n={n} v={v}");
            }
        }
    }
}
