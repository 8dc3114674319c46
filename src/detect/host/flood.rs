//! Placeholder until the real detector lands (raises nothing).

use super::{HostDetector, Phase};
use crate::context::Features;
use crate::record::{ConnSummary, NoticeRecord};

/// Placeholder.
#[derive(Default)]
pub struct Flood {}

impl HostDetector for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }
    fn observe(&mut self, _c: &ConnSummary, _f: &Features, _p: Phase, _o: &mut Vec<NoticeRecord>) {}
    fn entries(&self) -> usize {
        0
    }
}
