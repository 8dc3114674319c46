//! Host- and pair-level detectors: each keeps bounded state keyed by hosts
//! or pairs (addresses key state only; they are never model inputs), sees
//! every connection in context order, and raises Zeek-style notices with a
//! message a person can act on.
//!
//! Must not: see packets or connection state (only [`ConnSummary`] and the
//! context [`Features`]), read a clock (time is the records' network time),
//! or grow without bound (every table has a cap and evicts its oldest keys).

pub mod beacon;
pub mod brute_force;
pub mod coordinated;
pub mod dns_tunnel;
pub mod flood;
pub mod host_volume;
pub mod scan;
pub mod slow_http;

use crate::context::Features;
use crate::record::{ConnSummary, NoticeRecord};

/// Whether the detect stage is learning (benign training window) or scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Learning what normal looks like: update baselines, raise nothing.
    Train,
    /// Scoring: raise notices.
    Score,
}

/// A host- or pair-level detector.
pub trait HostDetector: Send {
    /// Its name (score.log / model file key), e.g. `scan`.
    fn name(&self) -> &'static str;

    /// Sees one finished connection (in context order) and its context
    /// features; may push notices (only in [`Phase::Score`]).
    fn observe(
        &mut self,
        c: &ConnSummary,
        f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    );

    /// What it learned in training, to store in the model file (`null` when
    /// it learns nothing).
    fn save(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores what [`save`](Self::save) wrote.
    fn load(&mut self, _v: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// Entries held in its tables (reported as memory per host state).
    fn entries(&self) -> usize;
}
