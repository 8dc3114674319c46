//! Placeholder until the real detector lands (scores 0).

use super::{ConnDetector, Sample};

/// Placeholder.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct IsolationForest {}

impl IsolationForest {
    /// Fits on benign samples.
    pub fn fit(_samples: &[Sample], _seed: u64) -> Self {
        IsolationForest {}
    }
}

impl ConnDetector for IsolationForest {
    fn name(&self) -> &'static str {
        "iforest"
    }
    fn score(&self, _s: &Sample) -> f64 {
        0.0
    }
}
