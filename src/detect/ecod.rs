//! Placeholder until the real detector lands (scores 0).

use super::{ConnDetector, Sample};

/// Placeholder.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Ecod {}

impl Ecod {
    /// Fits on benign samples.
    pub fn fit(_samples: &[Sample], _seed: u64) -> Self {
        Ecod {}
    }
}

impl ConnDetector for Ecod {
    fn name(&self) -> &'static str {
        "ecod"
    }
    fn score(&self, _s: &Sample) -> f64 {
        0.0
    }
}
