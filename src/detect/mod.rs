//! Detection: scores every connection and every host inline, from what the
//! earlier stages produced for a finished connection (its
//! [`ConnSummary`](crate::record::ConnSummary) and its context
//! [`Features`](crate::context::Features)).
//!
//! Connection level, each learned once from benign traffic and never
//! re-fitted on the data it scores (one file each, behind [`ConnDetector`]):
//! [`robust`] (median/MAD z-scores and IQR fences per service class),
//! [`forest`] (isolation forest), [`ecod`] (empirical tails),
//! [`autoencoder`] (a small autoencoder). Their scores are combined into one
//! calibrated score. Host and pair level, behind
//! [`host::HostDetector`]: scan, flood, brute force, beacon, DNS tunnel,
//! slow HTTP, host volume and coordination, each with its own notice type.
//!
//! Must not: see packets or connection state, read a clock, or use
//! addresses, uids or absolute times as model inputs (they key state only).

pub mod autoencoder;
pub mod ecod;
pub mod features;
pub mod forest;
pub mod host;
pub(crate) mod json_scan;
pub mod model;
pub mod rank_index;
pub(crate) mod rng;
pub mod robust;
pub mod stage;

use features::{FeatureVec, ServiceClass};

/// Bound on feature values as the connection-level detectors read them.
const VALUE_BOUND: f64 = 1e12;

/// A feature value as the connection-level detectors read it: NaN as 0,
/// huge values clamped to ±[`VALUE_BOUND`] (one rule for fitting and
/// scoring, in every detector).
fn clean(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-VALUE_BOUND, VALUE_BOUND)
    }
}

/// Indexes of at most `cap` of `n` items, evenly strided (all of them
/// when `n <= cap`): the training subsample every detector fits on.
fn stride_indexes(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        (0..n).collect()
    } else {
        (0..cap)
            .map(|i| ((i as u128 * n as u128) / cap as u128) as usize)
            .collect()
    }
}

/// The [`clean`] feature rows of at most `cap` of `samples`, strided as
/// [`stride_indexes`].
fn cleaned_rows(samples: &[Sample], cap: usize) -> Vec<FeatureVec> {
    stride_indexes(samples.len(), cap)
        .into_iter()
        .map(|k| samples[k].x.map(clean))
        .collect()
}

/// One connection as the connection-level detectors see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Its service class (per-class baselines key on it).
    pub class: ServiceClass,
    /// Its features.
    pub x: FeatureVec,
}

/// A connection-level detector: fitted once on benign [`Sample`]s (each type
/// has its own `fit`), then scores connections, higher = more anomalous.
/// Scoring is O(model size), independent of how much was scored before.
pub trait ConnDetector: Send + Sync {
    /// Its name (a score.log column): `robust`, `iforest`, `ecod`,
    /// `autoencoder`.
    fn name(&self) -> &'static str;

    /// The anomaly score of one connection (finite; higher = more anomalous).
    fn score(&self, s: &Sample) -> f64;
}
