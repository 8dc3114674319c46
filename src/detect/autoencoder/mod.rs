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
//!
//! Files: `mod.rs` the model, its training loop and scoring; `net.rs` the
//! network's arithmetic (layout, dot product, tanh, forward and backward
//! passes); `lanes.rs` batched reconstruction, several points side by side;
//! `tests.rs` the unit tests.

mod lanes;
mod net;

use super::features::N_FEATURES;
use super::rng::Rng;
use super::{clean, cleaned_rows, ConnDetector, Sample};
use lanes::{reconstruct_lanes, POINTS};
use net::{backward, forward, n_params, new_acts, offset, reconstruct, LAYERS, SIZES};

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
mod tests;
