//! Wiring: a packet source through the engine (one or several shard
//! threads) into log files.
//!
//! The only place that knows about threads and how sources, engines and
//! writers are put together. Offline replay and live capture share this path
//! and the same clock rule (packet time). Three shapes:
//! - [`run`] with one worker: source, engine and writer on the calling thread;
//! - [`run`] with N workers: the calling thread reads and hashes each packet
//!   to a shard, N shard threads own their flow tables, one writer thread;
//! - [`run_each`]: one engine thread per source (AF_PACKET fanout rings),
//!   one writer thread.
//!
//! Each shape reads its source with the one loop of [`driver`] (the `next()`
//! match, the polling cadence, end / stop / input error); this module says
//! what a packet and a poll do in each shape.
//!
//! It must not interpret packets beyond the shard hash.

mod driver;
mod parallel;
mod sink;
pub mod stages;
pub mod weird_script;

pub use sink::{GeoReport, KafkaReport, LogSink, Rotation, RotationNaming};

use crate::capture::file::{CaptureError, FileSource};
use crate::capture::{Packet, PacketSource, SourceStats};
use crate::engine::{Engine, EngineConfig, EngineStats, RecordSink};
use crate::output::capture_loss_log::CaptureLossRecord;
use crate::output::conn_log::ConnLogOptions;
use crate::output::stats_log::StatsRecord;
use crate::output::weird_log::WeirdRecord;
use crate::output::{WriteError, WriterOptions};
use crate::record::ConnRecord;
use crate::time::Ts;
use std::path::Path;

/// Requests from outside the pipeline (signals), polled now and then.
///
/// Any `Fn() -> bool` is a `Control` that only asks to stop.
pub trait Control {
    /// Stop reading, flush every open connection and close the logs (SIGTERM).
    fn stop(&self) -> bool;
    /// Write stats.log rows now (SIGUSR1); reading the request clears it.
    fn stats_now(&self) -> bool {
        false
    }
}

impl<F: Fn() -> bool> Control for F {
    fn stop(&self) -> bool {
        self()
    }
}

/// A `Control` that also stops when a log could not be written: reading on
/// would only produce records that cannot be logged.
struct StopOnWriteError<'a> {
    ctl: &'a dyn Control,
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Control for StopOnWriteError<'_> {
    fn stop(&self) -> bool {
        self.ctl.stop() || self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn stats_now(&self) -> bool {
        self.ctl.stats_now()
    }
}

/// The capture thread's own stats.log rows (`peer` = `capture`): packets the
/// kernel or interface received and dropped per interval, from the source's
/// wrap-corrected counters. Written on packet time like the workers' rows.
struct CaptureRows {
    rows: crate::engine::Periodic,
    last: SourceStats,
    peer: String,
}

impl CaptureRows {
    fn new(interval: i64) -> Self {
        CaptureRows {
            rows: crate::engine::Periodic::new(interval),
            last: SourceStats::default(),
            peer: "capture".into(),
        }
    }

    /// Whether rows are written at all.
    fn enabled(&self) -> bool {
        self.rows.interval() > 0
    }

    /// A row when `now` crossed the interval boundary (or `force`), for
    /// sources with counters.
    fn due<S: PacketSource>(&mut self, src: &mut S, now: Ts, force: bool) -> Option<StatsRecord> {
        // O(1) however far `now` jumped (one row for the jump).
        if !force && self.rows.tick(now).is_none() {
            return None;
        }
        let s = src.stats()?;
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let row = StatsRecord {
            ts: now,
            peer: self.peer.clone(),
            pkts_proc: d(s.received, self.last.received),
            pkts_dropped: Some(
                d(s.dropped, self.last.dropped) + d(s.if_dropped, self.last.if_dropped),
            ),
            pkts_link: Some(
                d(s.received, self.last.received)
                    + d(s.dropped, self.last.dropped)
                    + d(s.if_dropped, self.last.if_dropped),
            ),
            ..StatsRecord::default()
        };
        self.last = s;
        Some(row)
    }
}

impl CaptureRows {
    /// Writes the row [`due`](Self::due) at `now` (or now, with `force`)
    /// into `engine`'s sink.
    #[inline]
    fn write_due<S: PacketSource, K: RecordSink>(
        &mut self,
        src: &mut S,
        engine: &mut Engine<K>,
        now: Ts,
        force: bool,
    ) {
        if let Some(r) = self.due(src, now, force) {
            engine.sink().stats(r);
        }
    }

    /// A stats request (SIGUSR1): the engine's rows and the capture row,
    /// now.
    fn stats_now<S: PacketSource, K: RecordSink>(&mut self, src: &mut S, engine: &mut Engine<K>) {
        let now = engine.now();
        engine.write_stats_now();
        self.write_due(src, engine, now, true);
    }
}

/// End of input: flushes every open connection and writes the last capture
/// row (when stats rows are on).
fn finish_engine<S: PacketSource, K: RecordSink>(
    engine: &mut Engine<K>,
    src: &mut S,
    rows: &mut CaptureRows,
) {
    engine.finish();
    let now = engine.now();
    if rows.enabled() {
        rows.write_due(src, engine, now, true);
    }
}

/// The outcome of reading a capture.
#[derive(Debug)]
pub struct ReadSummary {
    /// Engine counters (summed over workers).
    pub stats: EngineStats,
    /// The input error that stopped reading early, if any (records before it were written).
    pub input_error: Option<CaptureError>,
}

/// Errors that stop a read before any record is written.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The capture could not be opened.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A log could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A worker thread failed.
    #[error("worker thread failed: {0}")]
    Worker(String),
}

/// Reads a capture file through the engine, writing logs into `dir`; see [`run`].
pub fn read_file(
    input: &Path,
    dir: &Path,
    cfg: EngineConfig,
    opts: WriterOptions,
    conn_opts: ConnLogOptions,
    workers: usize,
    ctl: &dyn Control,
) -> Result<ReadSummary, ReadError> {
    let mut src = FileSource::open(input)?;
    let sink = LogSink::new(dir, opts, conn_opts)?;
    run(&mut src, sink, cfg, workers, ctl)
}

/// Runs a packet source through the engine into `sink`. With `workers > 1`
/// the packets are spread over that many shard threads by a
/// direction-independent hash of the outermost IP address pair; every shard
/// sees every packet's timestamp, so timers fire exactly as with one worker
/// and the set of records is the same. `ctl` is polled now and then: a stop
/// request (SIGTERM) ends reading early and flushes open connections; a
/// stats request (SIGUSR1) writes stats.log rows at once.
pub fn run<S: PacketSource>(
    src: &mut S,
    sink: LogSink,
    cfg: EngineConfig,
    workers: usize,
    ctl: &dyn Control,
) -> Result<ReadSummary, ReadError> {
    let ctl = &StopOnWriteError {
        ctl,
        failed: sink.failure_flag(),
    };
    if workers > 1 {
        return parallel::run(src, sink, cfg, workers, ctl);
    }
    let mut one = OneWorker {
        rows: CaptureRows::new(cfg.stats_interval),
        engine: Engine::new(cfg, sink),
        ctl,
        ts: Ts(0),
    };
    let Ok(end) = driver::drive(src, POLL_EVERY, &mut one);
    let input_error = end.input_error();
    let OneWorker {
        mut engine,
        mut rows,
        ..
    } = one;
    finish_engine(&mut engine, src, &mut rows);
    let stats = engine.stats;
    let mut sink = engine.into_sink();
    sink.finish()?;
    Ok(ReadSummary { stats, input_error })
}

/// Packets between two polls of the `Control` (and of the capture row)
/// with one worker; an idle source is polled at once.
const POLL_EVERY: u64 = 4096;

/// [`run`] with one worker: source, engine and writer on the calling thread.
struct OneWorker<'a> {
    engine: Engine<LogSink>,
    rows: CaptureRows,
    ctl: &'a dyn Control,
    /// The last packet's time.
    ts: Ts,
}

impl<S: PacketSource> driver::Shape<S> for OneWorker<'_> {
    type Error = std::convert::Infallible;

    #[inline]
    fn packet(&mut self, p: Packet<'_>) -> Result<(), Self::Error> {
        let ts = p.ts;
        self.engine.sink().saw_time(ts);
        // Every record still to come is logged at or after p.ts.
        self.engine.sink().watermark(ts);
        self.engine.process(&p);
        self.ts = ts;
        Ok(())
    }

    #[inline]
    fn settle(&mut self, src: &mut S) -> Result<(), Self::Error> {
        self.rows.write_due(src, &mut self.engine, self.ts, false);
        Ok(())
    }

    fn poll(&mut self, src: &mut S, _why: driver::Poll) -> bool {
        if self.ctl.stats_now() {
            self.rows.stats_now(src, &mut self.engine);
        }
        self.ctl.stop()
    }
}

/// Runs one engine thread per source (e.g. the sockets of one AF_PACKET
/// fanout group, where the kernel spreads packets over the workers by flow
/// hash): no capture thread and no copy between capture and engine. Every
/// worker has its own timers on its own packets' time; an idle worker
/// advances to the latest time any worker saw, so timers keep firing. Each
/// worker writes its own capture row (`peer` = `capture-N`). Returns the
/// summary and the summed source counters.
pub fn run_each<S: PacketSource + Send + 'static>(
    sources: Vec<S>,
    sink: LogSink,
    cfg: EngineConfig,
    ctl: &dyn Control,
) -> Result<(ReadSummary, Option<SourceStats>), ReadError> {
    let ctl = &StopOnWriteError {
        ctl,
        failed: sink.failure_flag(),
    };
    parallel::run_each(sources, sink, cfg, ctl)
}
