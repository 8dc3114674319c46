//! Batched scoring: [`POINTS`] inputs reconstructed side by side,
//! input-major, by portable code or (chosen at run time) AVX2 registers.
//!
//! Must not: fuse a multiply and an add or reorder a sum: each lane must
//! keep the bits of its point reconstructed alone
//! ([`reconstruct`](super::net::reconstruct)).

use super::net::{layer, tanh, LAYERS, SIZES, TANH_CLAMP, TANH_P, TANH_Q, WIDTH};
use crate::detect::features::N_FEATURES;

/// Points reconstructed side by side by [`reconstruct_lanes`].
pub(super) const POINTS: usize = 4;
// (the AVX2 path holds a group in one register)
const _: () = assert!(POINTS == 4);

/// [`reconstruct`](super::net::reconstruct) of [`POINTS`] inputs at once,
/// stored input-major (`x[i][q]` is input `i` of point `q`). Each point
/// gets the same arithmetic in the same order as alone
/// ([`dot`](super::net::dot)'s four running sums added pairwise, then the
/// bias, then [`tanh`]), lane by lane, so the same bits; a weight is read
/// once for the group, and the lanes are independent, so they vectorize
/// without horizontal sums. On a CPU with AVX2 the same code is compiled
/// for it (a group is one register per sum; multiplies and adds stay
/// separate, so the bits do not change).
pub(super) fn reconstruct_lanes(
    p: &[f64],
    x: &[[f64; POINTS]; N_FEATURES],
) -> [[f64; POINTS]; N_FEATURES] {
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
pub(super) unsafe fn reconstruct_lanes_avx2(
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
pub(super) fn lanes(p: &[f64], x: &[[f64; POINTS]; N_FEATURES]) -> [[f64; POINTS]; N_FEATURES] {
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
