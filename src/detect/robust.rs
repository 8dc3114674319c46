//! Placeholder until the real detector lands (scores 0).

use super::{ConnDetector, Sample};

/// Placeholder.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Robust {}

impl Robust {
    /// Fits on benign samples.
    pub fn fit(_samples: &[Sample], _seed: u64) -> Self {
        Robust {}
    }
}

impl ConnDetector for Robust {
    fn name(&self) -> &'static str {
        "robust"
    }
    fn score(&self, _s: &Sample) -> f64 {
        0.0
    }
}

impl Robust {
    /// Top contributions.
    pub fn explain(&self, _s: &Sample) -> Vec<crate::record::Contribution> {
        Vec::new()
    }
}
