//! Placeholder until the real detector lands (raises nothing).

use super::{HostDetector, Phase};
use crate::context::Features;
use crate::record::{ConnSummary, NoticeRecord};

/// Placeholder.
#[derive(Default)]
pub struct Scan {}

impl HostDetector for Scan {
    fn name(&self) -> &'static str {
        "scan"
    }
    fn observe(&mut self, _c: &ConnSummary, _f: &Features, _p: Phase, _o: &mut Vec<NoticeRecord>) {}
    fn entries(&self) -> usize {
        0
    }
}
