//! The network's arithmetic, one code path for training and scoring: the
//! layer layout in the flat parameter vector, the dot product's summation
//! order, the rational tanh, the forward pass (activations kept for
//! training, on the stack for scoring) and the backward pass.
//!
//! Must not: allocate on the scoring path, change a summation order (the
//! same bits in training and scoring, on every run), or know about samples,
//! standardization or the training loop (`mod.rs`).

use crate::detect::features::N_FEATURES;

/// Layer widths: input, encoder, bottleneck, decoder, output.
pub(super) const SIZES: [usize; 5] = [N_FEATURES, 16, 6, 16, N_FEATURES];
/// Number of weight layers.
pub(super) const LAYERS: usize = SIZES.len() - 1;

/// Total number of parameters (weights and biases of every layer).
pub(super) const fn n_params() -> usize {
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
pub(super) fn offset(l: usize) -> usize {
    (0..l).map(|k| SIZES[k] * SIZES[k + 1] + SIZES[k + 1]).sum()
}

/// The dot product of `w` and `x` (equal lengths) with four running sums,
/// added pairwise at the end: the one summation order of training and
/// scoring, short enough a dependency chain for the sums to pipeline (and
/// vectorize).
#[inline(always)]
pub(super) fn dot(w: &[f64], x: &[f64]) -> f64 {
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
pub(super) const TANH_CLAMP: f64 = 7.905_311_107_635_498;
/// [`tanh`]'s numerator coefficients (of x, x³, ..., x¹³).
pub(super) const TANH_P: [f64; 7] = [
    4.893_524_558_917_86e-3,
    6.372_619_288_754_36e-4,
    1.485_722_357_179_79e-5,
    5.122_297_090_371_14e-8,
    -8.604_671_522_137_35e-11,
    2.000_187_904_824_77e-13,
    -2.760_768_477_423_55e-16,
];
/// [`tanh`]'s denominator coefficients (of 1, x², x⁴, x⁶).
pub(super) const TANH_Q: [f64; 4] = [
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
pub(super) fn tanh(x: f64) -> f64 {
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
pub(super) type Acts = [Vec<f64>; LAYERS + 1];

pub(super) fn new_acts() -> Acts {
    SIZES.map(|n| vec![0.0; n])
}

/// Forward pass of `x` (standardized, length `SIZES[0]`) through `p`,
/// filling `a` (a[0] = x, a[LAYERS] = reconstruction).
pub(super) fn forward(p: &[f64], x: &[f64], a: &mut Acts) {
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
pub(super) const WIDTH: usize = {
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
pub(super) fn layer(p: &[f64], l: usize) -> (&[f64], &[f64], bool) {
    let (ni, no) = (SIZES[l], SIZES[l + 1]);
    let off = offset(l);
    let (w, b) = p[off..off + ni * no + no].split_at(ni * no);
    (w, b, l + 1 == LAYERS)
}

/// [`forward`] for scoring: the reconstruction of `x`, with the
/// activations on the stack (same arithmetic, same order).
pub(super) fn reconstruct(p: &[f64], x: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
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

/// Accumulates into `g` the gradient of `scale * |a[LAYERS] - x|^2` after
/// `forward(p, x, a)`; `d` holds per-layer deltas (scratch).
pub(super) fn backward(p: &[f64], x: &[f64], a: &Acts, d: &mut Acts, scale: f64, g: &mut [f64]) {
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
