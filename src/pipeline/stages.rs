//! The writer thread's stages between the engines and the log files
//! (Vector's transforms): the context stage orders finished connections in
//! network time and computes their context features; each later [`Stage`]
//! (detection) sees every connection in that order with its features and
//! emits rows through [`Emit`]. The chain knows nothing of files; the sink
//! ([`super::LogSink`]) only writes what the chain emits.
//!
//! Must not: see packets or connection state (only [`ConnSummary`]), read a
//! clock, or write files.

use crate::context::{ContextConfig, ContextStage, Features};
use crate::record::{ConnSummary, NoticeRecord, ScoreRecord};
use crate::time::Ts;

/// Where the stages' rows go (the log writers).
pub trait Emit {
    /// A context.log row.
    fn context(&mut self, c: &ConnSummary, f: &Features);
    /// A score.log row.
    fn score(&mut self, r: &ScoreRecord);
    /// A notice.log row.
    fn notice(&mut self, n: &NoticeRecord);
}

/// A stage after the context stage.
pub trait Stage: Send {
    /// One connection, in context order, with its context features.
    fn record(&mut self, c: &ConnSummary, f: &Features, out: &mut dyn Emit);
    /// End of input (every record was given).
    fn finish(&mut self, _out: &mut dyn Emit) {}
}

/// The chain: the context stage, then the other stages in order.
pub struct StageChain {
    /// Summaries are boxed: the reorder heap moves them while sifting.
    context: ContextStage<Box<ConnSummary>>,
    /// Emit context.log rows (`--context`).
    write_context: bool,
    stages: Vec<Box<dyn Stage>>,
}

impl StageChain {
    /// A chain with a context stage of these settings (writing context.log
    /// rows when `write_context`) and no later stage.
    pub fn new(cfg: ContextConfig, write_context: bool) -> StageChain {
        StageChain {
            context: ContextStage::new(cfg),
            write_context,
            stages: Vec::new(),
        }
    }

    /// Appends a stage.
    pub fn push_stage(&mut self, s: Box<dyn Stage>) {
        self.stages.push(s);
    }

    /// Queues a finished connection (any arrival order).
    pub fn push(&mut self, c: ConnSummary) {
        self.context.push(Box::new(c));
    }

    /// Whether [`release`](Self::release) with `watermark` would emit anything.
    pub fn ready(&self, watermark: Ts) -> bool {
        self.context.ready(watermark)
    }

    /// Passes every queued record logged before `watermark` (every record
    /// still to come is logged at or after it) through the stages.
    pub fn release(&mut self, watermark: Ts, out: &mut dyn Emit) {
        let (wc, stages) = (self.write_context, &mut self.stages);
        self.context.release(watermark, &mut |c, f| {
            Self::pass(wc, stages, c, f, out);
        });
    }

    /// End of input: passes everything still queued, then finishes the stages.
    pub fn finish(&mut self, out: &mut dyn Emit) {
        let (wc, stages) = (self.write_context, &mut self.stages);
        self.context.finish(&mut |c, f| {
            Self::pass(wc, stages, c, f, out);
        });
        for s in self.stages.iter_mut() {
            s.finish(out);
        }
    }

    fn pass(
        write_context: bool,
        stages: &mut [Box<dyn Stage>],
        c: &ConnSummary,
        f: &Features,
        out: &mut dyn Emit,
    ) {
        if write_context {
            out.context(c, f);
        }
        for s in stages.iter_mut() {
            s.record(c, f, out);
        }
    }
}
