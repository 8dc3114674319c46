//! Placeholder until the real detector lands (scores 0).

use super::{ConnDetector, Sample};

/// Placeholder.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Autoencoder {}

impl Autoencoder {
    /// Fits on benign samples.
    pub fn fit(_samples: &[Sample], _seed: u64) -> Self {
        Autoencoder {}
    }
}

impl ConnDetector for Autoencoder {
    fn name(&self) -> &'static str {
        "autoencoder"
    }
    fn score(&self, _s: &Sample) -> f64 {
        0.0
    }
}
