//! A small autoencoder (d → 16 → 6 → 16 → d, tanh hidden layers, linear
//! output) trained on standardized benign features; a connection scores by
//! its reconstruction error (RMSE in standardized units): what the
//! bottleneck cannot reproduce is unlike the training traffic.
//!
//! Owns: the [`Autoencoder`] model, its training (mini-batch Adam, seeded
//! Xavier initialisation, seeded shuffles) and scoring.
//! Must not: re-fit on what it scores, use threads or any randomness but
//! its seeded xorshift64 (training is bit-for-bit deterministic), panic or
//! return a non-finite score on any input, or train for an unbounded time
//! (at most [`MAX_SAMPLES`] samples and [`MAX_SAMPLE_PASSES`] sample
//! passes, so fitting takes a bounded time).

use super::features::N_FEATURES;
use super::rng::Rng;
use super::{clean, cleaned_rows, ConnDetector, Sample};

/// At most this many training samples are used (stride subsampling).
pub const MAX_SAMPLES: usize = 5_000;
/// Training budget: epochs × samples stays at or below this (within the
/// epoch bounds below).
pub const MAX_SAMPLE_PASSES: usize = 100_000;
/// Fewest epochs (tiny budgets still train).
const MIN_EPOCHS: usize = 20;
/// Most epochs (small training sets).
const MAX_EPOCHS: usize = 300;
/// Mini-batch size.
const BATCH: usize = 32;
/// Initial learning rate; decays exponentially to a tenth of it.
const LR: f64 = 1e-2;
/// Floor of the standard deviations used to standardize.
const STD_FLOOR: f64 = 0.1;
/// Standardized inputs are clipped to ±this.
const CLIP: f64 = 10.0;
/// Global gradient-norm clip (keeps Adam steps sane on odd data).
const GRAD_CLIP: f64 = 5.0;

/// Layer widths: input, encoder, bottleneck, decoder, output.
const SIZES: [usize; 5] = [N_FEATURES, 16, 6, 16, N_FEATURES];
/// Number of weight layers.
const LAYERS: usize = SIZES.len() - 1;

/// Total number of parameters (weights and biases of every layer).
const fn n_params() -> usize {
    let mut n = 0;
    let mut l = 0;
    while l < LAYERS {
        n += SIZES[l] * SIZES[l + 1] + SIZES[l + 1];
        l += 1;
    }
    n
}

/// Offset of layer `l`'s weights (row-major, `out × in`) in the flat
/// parameter vector; its biases follow them.
fn offset(l: usize) -> usize {
    (0..l).map(|k| SIZES[k] * SIZES[k + 1] + SIZES[k + 1]).sum()
}

/// The dot product of `w` and `x` (equal lengths) with four running sums,
/// added pairwise at the end: the one summation order of training and
/// scoring, short enough a dependency chain for the sums to pipeline (and
/// vectorize).
#[inline(always)]
fn dot(w: &[f64], x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (wc, xc) = (w.chunks_exact(4), x.chunks_exact(4));
    let (wr, xr) = (wc.remainder(), xc.remainder());
    for (a, b) in wc.zip(xc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    for (k, (a, b)) in wr.iter().zip(xr).enumerate() {
        acc[k] += a * b;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Where [`tanh`]'s rational form reaches ±1 (it is clamped there).
const TANH_CLAMP: f64 = 7.905_311_107_635_498;
/// [`tanh`]'s numerator coefficients (of x, x³, ..., x¹³).
const TANH_P: [f64; 7] = [
    4.893_524_558_917_86e-3,
    6.372_619_288_754_36e-4,
    1.485_722_357_179_79e-5,
    5.122_297_090_371_14e-8,
    -8.604_671_522_137_35e-11,
    2.000_187_904_824_77e-13,
    -2.760_768_477_423_55e-16,
];
/// [`tanh`]'s denominator coefficients (of 1, x², x⁴, x⁶).
const TANH_Q: [f64; 4] = [
    4.893_525_185_543_85e-3,
    2.268_434_632_439e-3,
    1.185_347_056_866_54e-4,
    1.198_258_394_667_02e-6,
];

/// The hidden layers' activation: tanh as a rational function (odd
/// numerator of degree 13 over an even denominator of degree 6, the
/// minimax form Eigen uses for single precision), clamped where it reaches
/// ±1. Within 3e-7 of tanh, monotone and bounded by 1; about twenty
/// arithmetic operations against the hundred of libm's `tanh`. Training
/// and scoring both use it (the backward pass's `1 - a²` is tanh's
/// derivative, which this follows to the same precision).
#[inline(always)]
fn tanh(x: f64) -> f64 {
    const CLAMP: f64 = TANH_CLAMP;
    const A: [f64; 7] = TANH_P;
    const B: [f64; 4] = TANH_Q;
    // NaN stays NaN (clamp passes it through).
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = A[6];
    let p = p * x2 + A[5];
    let p = p * x2 + A[4];
    let p = p * x2 + A[3];
    let p = p * x2 + A[2];
    let p = p * x2 + A[1];
    let p = p * x2 + A[0];
    let q = B[3];
    let q = q * x2 + B[2];
    let q = q * x2 + B[1];
    let q = q * x2 + B[0];
    x * p / q
}

/// Activations of every layer for one input.
type Acts = [Vec<f64>; LAYERS + 1];

fn new_acts() -> Acts {
    SIZES.map(|n| vec![0.0; n])
}

/// Forward pass of `x` (standardized, length `SIZES[0]`) through `p`,
/// filling `a` (a[0] = x, a[LAYERS] = reconstruction).
fn forward(p: &[f64], x: &[f64], a: &mut Acts) {
    a[0].copy_from_slice(x);
    for l in 0..LAYERS {
        let (w, b, last) = layer(p, l);
        let (prev, next) = a.split_at_mut(l + 1);
        let input = &prev[l];
        for ((out, row), bias) in next[0].iter_mut().zip(w.chunks_exact(SIZES[l])).zip(b) {
            let s = bias + dot(row, input);
            *out = if last { s } else { tanh(s) };
        }
    }
}

/// The widest layer.
const WIDTH: usize = {
    let mut w = 0;
    let mut i = 0;
    while i < SIZES.len() {
        if SIZES[i] > w {
            w = SIZES[i];
        }
        i += 1;
    }
    w
};

/// Layer `l`'s weights (`out × in`, row-major) and biases in `p`, and
/// whether it is the last (no activation). `p` has [`n_params`] values.
fn layer(p: &[f64], l: usize) -> (&[f64], &[f64], bool) {
    let (ni, no) = (SIZES[l], SIZES[l + 1]);
    let off = offset(l);
    let (w, b) = p[off..off + ni * no + no].split_at(ni * no);
    (w, b, l + 1 == LAYERS)
}

/// [`forward`] for scoring: the reconstruction of `x`, with the
/// activations on the stack (same arithmetic, same order).
fn reconstruct(p: &[f64], x: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
    let mut cur = [0.0; WIDTH];
    let mut next = [0.0; WIDTH];
    cur[..N_FEATURES].copy_from_slice(x);
    for l in 0..LAYERS {
        let (w, b, last) = layer(p, l);
        let (ni, no) = (SIZES[l], SIZES[l + 1]);
        let input = &cur[..ni];
        for ((out, row), bias) in next[..no].iter_mut().zip(w.chunks_exact(ni)).zip(b) {
            let s = bias + dot(row, input);
            *out = if last { s } else { tanh(s) };
        }
        std::mem::swap(&mut cur, &mut next);
    }
    let mut out = [0.0; N_FEATURES];
    out.copy_from_slice(&cur[..N_FEATURES]);
    out
}

/// Points reconstructed side by side by [`reconstruct_lanes`].
const POINTS: usize = 4;
// (the AVX2 path holds a group in one register)
const _: () = assert!(POINTS == 4);

/// [`reconstruct`] of [`POINTS`] inputs at once, stored input-major
/// (`x[i][q]` is input `i` of point `q`). Each point gets the same
/// arithmetic in the same order as alone ([`dot`]'s four running sums
/// added pairwise, then the bias, then [`tanh`]), lane by lane, so the
/// same bits; a weight is read once for the group, and the lanes are
/// independent, so they vectorize without horizontal sums. On a CPU with
/// AVX2 the same code is compiled for it (a group is one register per
/// sum; multiplies and adds stay separate, so the bits do not change).
fn reconstruct_lanes(p: &[f64], x: &[[f64; POINTS]; N_FEATURES]) -> [[f64; POINTS]; N_FEATURES] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { reconstruct_lanes_avx2(p, x) };
    }
    lanes(p, x)
}

/// [`lanes`] with AVX2 registers, one per running sum of a group: the
/// same operations in the same order (products, then sums, never fused).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn reconstruct_lanes_avx2(
    p: &[f64],
    x: &[[f64; POINTS]; N_FEATURES],
) -> [[f64; POINTS]; N_FEATURES] {
    use std::arch::x86_64::*;
    /// [`tanh`] of four lanes (the same operations).
    #[inline(always)]
    unsafe fn tanh4(x: __m256d) -> __m256d {
        const CLAMP: f64 = TANH_CLAMP;
        const A: [f64; 7] = TANH_P;
        const B: [f64; 4] = TANH_Q;
        // f64::clamp: NaN passes (min/max return their second operand
        // when one is NaN).
        let x = _mm256_max_pd(
            _mm256_set1_pd(-CLAMP),
            _mm256_min_pd(_mm256_set1_pd(CLAMP), x),
        );
        let x2 = _mm256_mul_pd(x, x);
        let mut p = _mm256_set1_pd(A[6]);
        for a in A[..6].iter().rev() {
            p = _mm256_add_pd(_mm256_mul_pd(p, x2), _mm256_set1_pd(*a));
        }
        let mut q = _mm256_set1_pd(B[3]);
        for b in B[..3].iter().rev() {
            q = _mm256_add_pd(_mm256_mul_pd(q, x2), _mm256_set1_pd(*b));
        }
        _mm256_div_pd(_mm256_mul_pd(x, p), q)
    }
    let zero = _mm256_setzero_pd();
    let mut cur = [zero; WIDTH];
    let mut next = [zero; WIDTH];
    for (c, xi) in cur.iter_mut().zip(x) {
        *c = _mm256_loadu_pd(xi.as_ptr());
    }
    for l in 0..LAYERS {
        let (w, b, last) = layer(p, l);
        let (ni, no) = (SIZES[l], SIZES[l + 1]);
        let input = &cur[..ni];
        for ((out, row), &bias) in next[..no].iter_mut().zip(w.chunks_exact(ni)).zip(b) {
            let mut acc = [zero; 4];
            let (wc, xc) = (row.chunks_exact(4), input.chunks_exact(4));
            let (wr, xr) = (wc.remainder(), xc.remainder());
            for (a, xs) in wc.zip(xc) {
                for k in 0..4 {
                    acc[k] = _mm256_add_pd(acc[k], _mm256_mul_pd(_mm256_set1_pd(a[k]), xs[k]));
                }
            }
            for (k, (a, xs)) in wr.iter().zip(xr).enumerate() {
                acc[k] = _mm256_add_pd(acc[k], _mm256_mul_pd(_mm256_set1_pd(*a), *xs));
            }
            let s = _mm256_add_pd(
                _mm256_set1_pd(bias),
                _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])),
            );
            *out = if last { s } else { tanh4(s) };
        }
        cur[..no].copy_from_slice(&next[..no]);
    }
    let mut out = [[0.0; POINTS]; N_FEATURES];
    for (o, c) in out.iter_mut().zip(&cur) {
        _mm256_storeu_pd(o.as_mut_ptr(), *c);
    }
    out
}

/// The body of [`reconstruct_lanes`].
#[inline(always)]
fn lanes(p: &[f64], x: &[[f64; POINTS]; N_FEATURES]) -> [[f64; POINTS]; N_FEATURES] {
    let mut cur = [[0.0; POINTS]; WIDTH];
    let mut next = [[0.0; POINTS]; WIDTH];
    cur[..N_FEATURES].copy_from_slice(x);
    for l in 0..LAYERS {
        let (w, b, last) = layer(p, l);
        let (ni, no) = (SIZES[l], SIZES[l + 1]);
        let input = &cur[..ni];
        for ((out, row), &bias) in next[..no].iter_mut().zip(w.chunks_exact(ni)).zip(b) {
            let mut acc = [[0.0f64; POINTS]; 4];
            let (wc, xc) = (row.chunks_exact(4), input.chunks_exact(4));
            let (wr, xr) = (wc.remainder(), xc.remainder());
            for (a, xs) in wc.zip(xc) {
                for k in 0..4 {
                    for q in 0..POINTS {
                        acc[k][q] += a[k] * xs[k][q];
                    }
                }
            }
            for (k, (a, xs)) in wr.iter().zip(xr).enumerate() {
                for q in 0..POINTS {
                    acc[k][q] += a * xs[q];
                }
            }
            for q in 0..POINTS {
                let s = bias + ((acc[0][q] + acc[1][q]) + (acc[2][q] + acc[3][q]));
                out[q] = if last { s } else { tanh(s) };
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    let mut out = [[0.0; POINTS]; N_FEATURES];
    out.copy_from_slice(&cur[..N_FEATURES]);
    out
}

/// The score of a squared reconstruction error summed over the features
/// (added in feature order from 0): the RMSE, 0 if not finite.
fn rmse(sse: f64) -> f64 {
    let r = (sse / N_FEATURES as f64).sqrt();
    if r.is_finite() {
        r
    } else {
        0.0
    }
}

/// Accumulates into `g` the gradient of `scale * |a[LAYERS] - x|^2` after
/// `forward(p, x, a)`; `d` holds per-layer deltas (scratch).
fn backward(p: &[f64], x: &[f64], a: &Acts, d: &mut Acts, scale: f64, g: &mut [f64]) {
    for ((dv, o), t) in d[LAYERS].iter_mut().zip(&a[LAYERS]).zip(x) {
        *dv = 2.0 * scale * (o - t);
    }
    for l in (0..LAYERS).rev() {
        let (ni, no) = (SIZES[l], SIZES[l + 1]);
        let off = offset(l);
        let (lower, upper) = d.split_at_mut(l + 1);
        let delta = &upper[0];
        let input = &a[l];
        {
            let (gw, gb) = g[off..off + ni * no + no].split_at_mut(ni * no);
            for ((grow, &dl), gbv) in gw.chunks_exact_mut(ni).zip(delta.iter()).zip(gb) {
                *gbv += dl;
                for (gi, xi) in grow.iter_mut().zip(input) {
                    *gi += dl * xi;
                }
            }
        }
        if l > 0 {
            let nd = &mut lower[l];
            nd.iter_mut().for_each(|v| *v = 0.0);
            for (row, &dl) in p[off..off + ni * no].chunks_exact(ni).zip(delta.iter()) {
                for (ndi, wi) in nd.iter_mut().zip(row) {
                    *ndi += wi * dl;
                }
            }
            for (ndi, av) in nd.iter_mut().zip(input) {
                *ndi *= 1.0 - av * av;
            }
        }
    }
}

/// Autoencoder detector, fitted on benign samples.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Autoencoder {
    /// Training means per feature (empty when fitted on nothing).
    mean: Vec<f64>,
    /// Training standard deviations per feature, floored at 0.1.
    std: Vec<f64>,
    /// Flat parameters: per layer, weights (out × in, row-major) then
    /// biases.
    params: Vec<f64>,
    /// Mean training loss (MSE, standardized units) per epoch.
    loss_history: Vec<f64>,
}

impl Autoencoder {
    /// Trains the autoencoder on benign samples (at most [`MAX_SAMPLES`],
    /// stride-subsampled): standardize, Xavier-initialise from `seed`, then
    /// mini-batch Adam with a decaying learning rate for
    /// `clamp(MAX_SAMPLE_PASSES / n, 20, 300)` epochs.
    pub fn fit(samples: &[Sample], seed: u64) -> Self {
        let n_all = samples.len();
        let n = n_all.min(MAX_SAMPLES);
        if n == 0 {
            return Autoencoder {
                mean: Vec::new(),
                std: Vec::new(),
                params: Vec::new(),
                loss_history: Vec::new(),
            };
        }
        let raw = cleaned_rows(samples, MAX_SAMPLES);
        let mut mean = vec![0.0; N_FEATURES];
        let mut std = vec![0.0; N_FEATURES];
        for j in 0..N_FEATURES {
            let m = raw.iter().map(|r| r[j]).sum::<f64>() / n as f64;
            let var = raw.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            mean[j] = if m.is_finite() { m } else { 0.0 };
            std[j] = if sd.is_finite() {
                sd.max(STD_FLOOR)
            } else {
                STD_FLOOR
            };
        }
        let mut model = Autoencoder {
            mean,
            std,
            params: Vec::new(),
            loss_history: Vec::new(),
        };
        let data: Vec<[f64; N_FEATURES]> = raw.iter().map(|r| model.standardize(r)).collect();
        drop(raw);

        let mut rng = Rng::new(seed);
        let mut p = vec![0.0; n_params()];
        for l in 0..LAYERS {
            let (ni, no) = (SIZES[l], SIZES[l + 1]);
            let bound = (6.0 / (ni + no) as f64).sqrt();
            let off = offset(l);
            for w in &mut p[off..off + ni * no] {
                *w = (2.0 * rng.unit() - 1.0) * bound;
            }
        }

        let epochs = (MAX_SAMPLE_PASSES / n).clamp(MIN_EPOCHS, MAX_EPOCHS);
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let mut m1 = vec![0.0; p.len()];
        let mut m2 = vec![0.0; p.len()];
        let mut g = vec![0.0; p.len()];
        let (mut a, mut d) = (new_acts(), new_acts());
        let mut order: Vec<usize> = (0..n).collect();
        let mut t = 0i32;
        let mut history = Vec::with_capacity(epochs);
        for e in 0..epochs {
            let lr = LR * 0.1f64.powf(e as f64 / (epochs.max(2) - 1) as f64);
            for i in (1..n).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let mut sse = 0.0;
            for batch in order.chunks(BATCH) {
                g.iter_mut().for_each(|v| *v = 0.0);
                let scale = 1.0 / (batch.len() * N_FEATURES) as f64;
                for &i in batch {
                    let x = &data[i];
                    forward(&p, x, &mut a);
                    sse += a[LAYERS]
                        .iter()
                        .zip(x)
                        .map(|(o, t)| (o - t) * (o - t))
                        .sum::<f64>();
                    backward(&p, x, &a, &mut d, scale, &mut g);
                }
                let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                if !norm.is_finite() {
                    continue;
                }
                let clip = if norm > GRAD_CLIP {
                    GRAD_CLIP / norm
                } else {
                    1.0
                };
                t = t.saturating_add(1);
                let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
                for (((w, gv), mv), vv) in p.iter_mut().zip(&g).zip(&mut m1).zip(&mut m2) {
                    let gv = gv * clip;
                    *mv = b1 * *mv + (1.0 - b1) * gv;
                    *vv = b2 * *vv + (1.0 - b2) * gv * gv;
                    *w -= lr * (*mv / c1) / ((*vv / c2).sqrt() + eps);
                }
            }
            history.push(sse / (n * N_FEATURES) as f64);
        }
        if p.iter().all(|v| v.is_finite()) {
            model.params = p;
        }
        model.loss_history = history;
        model
    }

    /// Standardizes and clips one feature vector.
    fn standardize(&self, x: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
        let mut z = [0.0; N_FEATURES];
        for (((zv, &xv), m), s) in z.iter_mut().zip(x).zip(&self.mean).zip(&self.std) {
            let v = (clean(xv) - m) / s;
            *zv = if v.is_nan() {
                0.0
            } else {
                v.clamp(-CLIP, CLIP)
            };
        }
        z
    }

    /// Mean training loss (MSE in standardized units) after each epoch,
    /// first to last (empty for an empty model).
    pub fn loss_history(&self) -> &[f64] {
        &self.loss_history
    }

    /// Whether the parameters have the shape this build scores with (a
    /// model fitted on nothing, or a malformed file, scores 0).
    fn well_formed(&self) -> bool {
        self.params.len() == n_params()
            && self.mean.len() == N_FEATURES
            && self.std.len() == N_FEATURES
    }

    /// [`score`](ConnDetector::score) of every sample of `batch` into
    /// `out` (as long): groups of [`POINTS`] reconstructed side by side
    /// ([`reconstruct_lanes`]), the rest one by one; the same bits as one
    /// by one.
    pub fn score_batch(&self, batch: &[Sample], out: &mut [f64]) {
        let n = batch.len().min(out.len());
        if !self.well_formed() {
            out.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let full = n / POINTS * POINTS;
        for (group, o) in batch[..full]
            .chunks_exact(POINTS)
            .zip(out[..full].chunks_exact_mut(POINTS))
        {
            let mut x = [[0.0; POINTS]; N_FEATURES];
            for (q, s) in group.iter().enumerate() {
                for (xi, z) in x.iter_mut().zip(self.standardize(&s.x)) {
                    xi[q] = z;
                }
            }
            let r = reconstruct_lanes(&self.params, &x);
            for (q, v) in o.iter_mut().enumerate() {
                let mut sse = 0.0;
                for (ri, xi) in r.iter().zip(&x) {
                    sse += (ri[q] - xi[q]) * (ri[q] - xi[q]);
                }
                *v = rmse(sse);
            }
        }
        for (s, v) in batch[full..n].iter().zip(&mut out[full..n]) {
            *v = self.score(s);
        }
    }
}

impl ConnDetector for Autoencoder {
    fn name(&self) -> &'static str {
        "autoencoder"
    }

    /// RMSE of the reconstruction in standardized units; 0 for an empty (or
    /// malformed) model.
    fn score(&self, s: &Sample) -> f64 {
        if !self.well_formed() {
            return 0.0;
        }
        let z = self.standardize(&s.x);
        let mut sse = 0.0;
        for (o, t) in reconstruct(&self.params, &z).iter().zip(&z) {
            sse += (o - t) * (o - t);
        }
        rmse(sse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_follows_std_and_stays_monotone_and_bounded() {
        let mut prev = -1.0;
        for i in -400_000..=400_000 {
            let x = i as f64 / 20_000.0;
            let t = tanh(x);
            assert!((t - x.tanh()).abs() < 3e-7, "tanh({x}) = {t}");
            assert!(t >= prev, "not monotone at {x}");
            assert!(t.abs() < 1.0);
            assert_eq!(tanh(-x).to_bits(), (-t).to_bits());
            prev = t;
        }
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(f64::NAN).is_nan());
        assert!((tanh(1e300) - 1.0).abs() < 3e-7 && (tanh(f64::NEG_INFINITY) + 1.0).abs() < 3e-7);
    }

    #[test]
    fn dot_is_the_dot_product() {
        // Every length a layer can have (remainders 0..3), against a
        // sequential sum of exactly representable products.
        for n in 0..=33usize {
            let w: Vec<f64> = (0..n).map(|i| (i as f64) - 7.0).collect();
            let x: Vec<f64> = (0..n).map(|i| 0.5 * (i % 5) as f64).collect();
            let want: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
            assert_eq!(dot(&w, &x), want, "n = {n}");
        }
    }

    #[test]
    fn reconstruct_gives_forwards_bits() {
        // `reconstruct` (scoring, activations on the stack) against
        // `forward` (training) on seeded random weights and inputs,
        // including zeros and negative zeros: the same bits.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 11 {
                0 => 0.0,
                1 => -0.0,
                _ => (x >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0,
            }
        };
        for _ in 0..300 {
            let p: Vec<f64> = (0..n_params()).map(|_| rnd()).collect();
            let z: [f64; N_FEATURES] = std::array::from_fn(|_| rnd());
            let mut a = new_acts();
            forward(&p, &z, &mut a);
            let r = reconstruct(&p, &z);
            for (u, v) in r.iter().zip(&a[LAYERS]) {
                assert_eq!(u.to_bits(), v.to_bits());
            }
            // Groups of points side by side, portable and (where the CPU
            // has it) AVX2: each lane the bits of its point alone.
            let zs: [[f64; N_FEATURES]; POINTS] =
                std::array::from_fn(|q| std::array::from_fn(|i| if q == 0 { z[i] } else { rnd() }));
            let x: [[f64; POINTS]; N_FEATURES] = std::array::from_fn(|i| zs.map(|z| z[i]));
            let mut groups = vec![lanes(&p, &x), reconstruct_lanes(&p, &x)];
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                groups.push(unsafe { reconstruct_lanes_avx2(&p, &x) });
            }
            for g in groups {
                for (q, z) in zs.iter().enumerate() {
                    let alone = reconstruct(&p, z);
                    for (i, v) in alone.iter().enumerate() {
                        assert_eq!(g[i][q].to_bits(), v.to_bits());
                    }
                }
            }
        }
    }
    use crate::conn::service::Service;
    use crate::detect::features::ServiceClass;

    const HTTP: ServiceClass = ServiceClass::Service(Service::Http);

    /// Points on a 2-D plane in feature space plus small noise.
    fn manifold(n: usize, seed: u64) -> Vec<Sample> {
        let mut r = Rng::new(seed);
        (0..n)
            .map(|_| {
                let (a, b) = (2.0 * r.unit() - 1.0, 2.0 * r.unit() - 1.0);
                let mut x = [0.0; N_FEATURES];
                for (j, v) in x.iter_mut().enumerate() {
                    let jf = j as f64;
                    *v =
                        3.0 + a * (0.7 * jf).sin() + b * (0.3 * jf).cos() + 0.02 * (r.unit() - 0.5);
                }
                Sample { class: HTTP, x }
            })
            .collect()
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn parameter_layout() {
        // d*16+16 + 16*6+6 + 6*16+16 + 16*d+d
        let d = N_FEATURES;
        assert_eq!(n_params(), (d * 16 + 16) + 102 + 112 + (16 * d + d));
        assert_eq!(offset(0), 0);
        assert_eq!(offset(1), d * 16 + 16);
        assert_eq!(offset(LAYERS), n_params());
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut r = Rng::new(3);
        let p: Vec<f64> = (0..n_params()).map(|_| r.unit() - 0.5).collect();
        let x: Vec<f64> = (0..N_FEATURES).map(|_| 2.0 * r.unit() - 1.0).collect();
        let loss = |p: &[f64]| {
            let mut a = new_acts();
            forward(p, &x, &mut a);
            a[LAYERS]
                .iter()
                .zip(&x)
                .map(|(o, t)| (o - t) * (o - t))
                .sum::<f64>()
        };
        let (mut a, mut d) = (new_acts(), new_acts());
        let mut g = vec![0.0; n_params()];
        forward(&p, &x, &mut a);
        backward(&p, &x, &a, &mut d, 1.0, &mut g);
        let n = n_params();
        for k in [0, 5, n / 3, n / 2, 2 * n / 3, n - 1] {
            let h = 1e-6;
            let mut pp = p.clone();
            pp[k] += h;
            let mut pm = p.clone();
            pm[k] -= h;
            let num = (loss(&pp) - loss(&pm)) / (2.0 * h);
            assert!(
                (num - g[k]).abs() < 1e-5 * num.abs().max(1.0),
                "{k}: {num} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn off_manifold_point_scores_high_and_loss_decreases() {
        let train = manifold(500, 1);
        let m = Autoencoder::fit(&train, 7);
        let h = m.loss_history();
        assert_eq!(h.len(), MAX_EPOCHS.min(MAX_SAMPLE_PASSES / 500));
        assert!(
            h[h.len() - 1] < 0.25 * h[0],
            "{} -> {}",
            h[0],
            h[h.len() - 1]
        );
        let med = median(train.iter().map(|s| m.score(s)).collect());
        let max_in = manifold(200, 2)
            .iter()
            .map(|s| m.score(s))
            .fold(0.0, f64::max);
        // off the plane: every feature one unit (about one std) up and down
        // in an alternating pattern the plane cannot express
        let mut off = train[0];
        for (j, v) in off.x.iter_mut().enumerate() {
            *v = 3.0 + if j % 2 == 0 { 0.8 } else { -0.8 };
        }
        let so = m.score(&off);
        assert!(so > 3.0 * med, "{so} vs median {med}");
        assert!(so > max_in, "{so} vs max inlier {max_in}");
    }

    #[test]
    fn batches_give_the_bits_of_one_by_one() {
        // Batches of every length (whole groups of points and remainders),
        // extreme points included, of a trained, an empty and a malformed
        // model: the bits of scoring one by one.
        let m = Autoencoder::fit(&manifold(300, 5), 3);
        let mut probe = manifold(40, 6);
        for (k, big) in [1e9, -1e9, f64::NAN, f64::INFINITY, 0.0]
            .into_iter()
            .enumerate()
        {
            let mut s = probe[k];
            s.x.iter_mut().step_by(k + 1).for_each(|v| *v = big);
            probe.push(s);
        }
        let empty = Autoencoder::fit(&[], 0);
        let mut malformed = m.clone();
        malformed.params.pop();
        for model in [&m, &empty, &malformed] {
            for len in [0, 1, 3, 4, 5, 8, 13, probe.len()] {
                let batch = &probe[..len.min(probe.len())];
                let mut out = vec![f64::NAN; batch.len()];
                model.score_batch(batch, &mut out);
                for (s, v) in batch.iter().zip(&out) {
                    assert_eq!(v.to_bits(), model.score(s).to_bits());
                }
            }
        }
        assert!(probe.iter().any(|s| m.score(s) > 0.0));
    }

    #[test]
    fn deterministic_and_serde_round_trip() {
        let train = manifold(200, 4);
        let a = Autoencoder::fit(&train, 9);
        let b = Autoencoder::fit(&train, 9);
        let c = Autoencoder::fit(&train, 10);
        let json = serde_json::to_string(&a).expect("serialize");
        // serde_json without its `float_roundtrip` feature may parse a float
        // one ulp off, hence the 1e-12 relative tolerance below.
        let r: Autoencoder = serde_json::from_str(&json).expect("deserialize");
        let mut differs = false;
        for s in &manifold(30, 5) {
            let sa = a.score(s);
            assert_eq!(sa, b.score(s));
            assert!((sa - r.score(s)).abs() <= 1e-12 * sa.abs().max(1.0));
            differs |= sa != c.score(s);
        }
        assert!(differs);
        assert_eq!(a.name(), "autoencoder");
    }

    #[test]
    fn empty_constant_and_huge() {
        let m = Autoencoder::fit(&[], 0);
        let s = manifold(1, 1)[0];
        assert_eq!(m.score(&s), 0.0);
        assert!(m.loss_history().is_empty());

        let constant: Vec<Sample> = (0..40).map(|_| s).collect();
        let m = Autoencoder::fit(&constant, 0);
        let sc = m.score(&s);
        assert!(sc.is_finite() && sc < 0.1, "{sc}");

        let m = Autoencoder::fit(&manifold(100, 2), 0);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            let mut x = s;
            x.x = [v; N_FEATURES];
            let sc = m.score(&x);
            assert!(sc.is_finite(), "{v} -> {sc}");
        }
        let bad: Vec<Sample> = (0..20)
            .map(|i| {
                let mut x = s;
                x.x[i] = if i % 2 == 0 { f64::NAN } else { 1e300 };
                x
            })
            .collect();
        let m = Autoencoder::fit(&bad, 0);
        assert!(m.score(&s).is_finite());
    }

    #[test]
    fn fit_on_max_samples_is_bounded() {
        let train = manifold(MAX_SAMPLES + 1000, 6);
        let start = std::time::Instant::now();
        let m = Autoencoder::fit(&train, 1);
        let took = start.elapsed();
        eprintln!("autoencoder fit on {MAX_SAMPLES} x {N_FEATURES}: {took:?}");
        assert_eq!(m.loss_history().len(), MIN_EPOCHS);
        assert!(m.score(&train[0]).is_finite());
    }
}
