//! Multi-worker processing: [`run`](super::run) with N shard threads (the
//! calling thread reads and hashes each packet to a shard in batches that
//! point into the read buffers) and [`run_each`](super::run_each) (one
//! engine thread per source), both with one writer thread.
//!
//! Owns the threads, the channels between them and the merge of the
//! workers' records on the writer thread. Must not interpret packets beyond
//! the shard hash.

use super::*;
use crate::capture::file::ReadBlock;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Packets per batch handed to the workers.
const BATCH: usize = 512;
/// Records per message from a worker to the writer.
const SINK_BATCH: usize = 256;
/// Batches kept for reuse (more than the queues can hold in flight).
const POOL: usize = 64;

/// A batch of packets, shared read-only by every worker.
#[derive(Default)]
struct Batch {
    ts: Vec<Ts>,
    shard: Vec<u16>,
    linktype: Vec<u32>,
    wire: Vec<u32>,
    /// Where each packet's bytes are: `(block, start, end)`, block
    /// `COPIED` = in `data`, otherwise an index into `blocks`.
    range: Vec<(u32, u32, u32)>,
    data: Vec<u8>,
    /// The source's read buffers the packets lie in (zero-copy files).
    blocks: Vec<Arc<ReadBlock>>,
    /// Packets each worker lost earlier because its queue was full (live capture).
    dropped_for: Vec<u64>,
    /// Write stats.log rows after this batch (SIGUSR1).
    stats_now: bool,
}

/// `Batch::range` block index of packets copied into `Batch::data`.
const COPIED: u32 = u32::MAX;

impl Batch {
    /// Packet `i`'s bytes.
    fn bytes(&self, i: usize) -> Option<&[u8]> {
        let &(blk, s, e) = self.range.get(i)?;
        let buf: &[u8] = if blk == COPIED {
            &self.data
        } else {
            self.blocks.get(blk as usize)?
        };
        buf.get(s as usize..e as usize)
    }

    /// Records the last packet as lying at `ptr..ptr + len` inside the
    /// source's `block` (no copy); false if it does not.
    fn place_in_block(&mut self, block: &Arc<ReadBlock>, ptr: usize, len: usize) -> bool {
        let base = block.as_ptr() as usize;
        if ptr < base || ptr + len > base + block.len() {
            return false;
        }
        let same = self.blocks.last().is_some_and(|b| Arc::ptr_eq(b, block));
        if !same {
            self.blocks.push(Arc::clone(block));
        }
        let (s, e) = ((ptr - base) as u32, (ptr - base + len) as u32);
        self.range.push(((self.blocks.len() - 1) as u32, s, e));
        true
    }

    fn clear(&mut self) {
        self.ts.clear();
        self.shard.clear();
        self.linktype.clear();
        self.wire.clear();
        self.range.clear();
        self.data.clear();
        self.blocks.clear();
        self.dropped_for.clear();
        self.stats_now = false;
    }
}

/// Batches handed to the workers, reused once every worker dropped its
/// reference, so the reader allocates nothing in the steady state (and
/// the source's blocks a finished batch held are released at once).
#[derive(Default)]
struct Pool {
    sent: std::collections::VecDeque<Arc<Batch>>,
    free: Vec<Batch>,
}

impl Pool {
    /// An empty batch: a finished one with its capacity, or a new one.
    fn take(&mut self) -> Batch {
        for _ in 0..self.sent.len() {
            let Some(b) = self.sent.pop_front() else {
                break;
            };
            match Arc::try_unwrap(b) {
                Ok(mut b) => {
                    b.clear();
                    self.free.push(b);
                }
                // Still being read: look again later.
                Err(b) => self.sent.push_back(b),
            }
        }
        self.free.pop().unwrap_or_default()
    }

    fn keep(&mut self, b: Arc<Batch>) {
        if self.sent.len() >= POOL {
            self.sent.pop_front();
        }
        self.sent.push_back(b);
    }
}

enum Out {
    Conns(Vec<ConnRecord>),
    Weirds(Vec<WeirdRecord>),
    Stats(StatsRecord),
    Loss(CaptureLossRecord),
    Interim(Box<ConnRecord>),
    /// dns.log rows.
    Dns(Vec<crate::dns::DnsRecord>),
    /// Names seen resolving to addresses.
    Names(Vec<crate::dns::NameBatch>),
    /// The first packet time (every shard sees every timestamp).
    Start(Ts),
    /// A shard's clock after a batch: its later records are logged at or after it.
    Clock(u16, Ts),
}

/// A worker's sink: batches records to the writer thread.
struct ChannelSink {
    tx: Sender<Out>,
    /// Emptied record vectors coming back from the writer (no allocation
    /// per message in the steady state).
    empties: Receiver<Vec<ConnRecord>>,
    conns: Vec<ConnRecord>,
    weirds: Vec<WeirdRecord>,
    dns: Vec<crate::dns::DnsRecord>,
    names: Vec<crate::dns::NameBatch>,
}

impl ChannelSink {
    fn new(tx: Sender<Out>, empties: Receiver<Vec<ConnRecord>>) -> Self {
        ChannelSink {
            tx,
            empties,
            conns: Vec::with_capacity(SINK_BATCH),
            weirds: Vec::new(),
            dns: Vec::new(),
            names: Vec::new(),
        }
    }

    fn flush(&mut self) {
        if !self.dns.is_empty() {
            let _ = self.tx.send(Out::Dns(std::mem::take(&mut self.dns)));
        }
        if !self.names.is_empty() {
            let _ = self.tx.send(Out::Names(std::mem::take(&mut self.names)));
        }
        if !self.conns.is_empty() {
            let next = self.empties.try_recv().unwrap_or_default();
            let full = std::mem::replace(&mut self.conns, next);
            let _ = self.tx.send(Out::Conns(full));
        }
        if !self.weirds.is_empty() {
            let _ = self.tx.send(Out::Weirds(std::mem::take(&mut self.weirds)));
        }
    }
}

impl RecordSink for ChannelSink {
    fn conn(&mut self, rec: ConnRecord) {
        self.conns.push(rec);
        if self.conns.len() >= SINK_BATCH {
            self.flush();
        }
    }
    fn weird(&mut self, w: WeirdRecord) {
        self.weirds.push(w);
        if self.weirds.len() >= 256 {
            self.flush();
        }
    }
    fn stats(&mut self, s: StatsRecord) {
        self.flush();
        let _ = self.tx.send(Out::Stats(s));
    }
    fn capture_loss(&mut self, r: CaptureLossRecord) {
        let _ = self.tx.send(Out::Loss(r));
    }
    fn interim(&mut self, rec: ConnRecord) {
        let _ = self.tx.send(Out::Interim(Box::new(rec)));
    }
    fn dns(&mut self, rec: crate::dns::DnsRecord) {
        self.dns.push(rec);
        if self.dns.len() >= SINK_BATCH {
            let _ = self.tx.send(Out::Dns(std::mem::take(&mut self.dns)));
        }
    }
    fn dns_names(&mut self, names: crate::dns::NameBatch) {
        self.names.push(names);
        if self.names.len() >= SINK_BATCH {
            let _ = self.tx.send(Out::Names(std::mem::take(&mut self.names)));
        }
    }
}

fn worker(
    me: u16,
    rx: Receiver<Arc<Batch>>,
    tx: Sender<Out>,
    empties: Receiver<Vec<ConnRecord>>,
    cfg: EngineConfig,
) -> EngineStats {
    let sink = ChannelSink::new(tx, empties);
    let mut engine = Engine::new(cfg, sink);
    let mut started = false;
    for b in rx.iter() {
        if !started && !b.ts.is_empty() {
            started = true;
            let _ = engine.sink().tx.send(Out::Start(b.ts[0]));
        }
        if let Some(&d) = b.dropped_for.get(me as usize) {
            engine.note_queue_drops(d);
        }
        for i in 0..b.ts.len() {
            if b.shard[i] == me {
                let p = Packet {
                    ts: b.ts[i],
                    wire_len: b.wire[i],
                    linktype: b.linktype[i],
                    data: b.bytes(i).unwrap_or(&[]),
                };
                engine.process(&p);
            } else {
                engine.advance(b.ts[i]);
            }
        }
        if b.stats_now {
            engine.write_stats_now();
        }
        engine.sink().flush();
        let now = engine.now();
        let _ = engine.sink().tx.send(Out::Clock(me, now));
    }
    engine.finish();
    engine.sink().flush();
    engine.stats
}

/// The writer thread: records from every worker into the logs; emptied
/// record vectors go back to the workers.
fn spawn_writer(
    mut sink: LogSink,
    out_rx: Receiver<Out>,
    empty_tx: Sender<Vec<ConnRecord>>,
    workers: usize,
) -> Result<JoinHandle<LogSink>, ReadError> {
    spawn("connscope-writer".into(), move || {
        // Each shard's clock; context rows are released below the slowest.
        let mut clocks = vec![Ts(i64::MIN); workers];
        for m in out_rx.iter() {
            match m {
                Out::Conns(mut v) => {
                    v.drain(..).for_each(|r| sink.conn(r));
                    let _ = empty_tx.try_send(v);
                }
                Out::Weirds(v) => v.into_iter().for_each(|w| sink.weird(w)),
                Out::Stats(s) => sink.stats(s),
                Out::Loss(r) => sink.capture_loss(r),
                Out::Interim(r) => sink.interim(*r),
                Out::Dns(v) => v.into_iter().for_each(|r| sink.dns(r)),
                Out::Names(v) => v.into_iter().for_each(|n| sink.dns_names(n)),
                Out::Start(t) => sink.saw_time(t),
                Out::Clock(w, t) => {
                    if let Some(c) = clocks.get_mut(w as usize) {
                        *c = t;
                    }
                    if let Some(min) = clocks.iter().min() {
                        sink.watermark(*min);
                    }
                }
            }
        }
        sink
    })
}

/// A shard thread's engine settings: its `peer` in stats.log.
fn shard_config(cfg: &EngineConfig, w: usize) -> EngineConfig {
    let mut c = cfg.clone();
    c.peer = format!("worker-{w}");
    c
}

/// Starts shard thread `w`.
fn spawn_shard<T: Send + 'static>(
    w: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, ReadError> {
    spawn(format!("connscope-shard-{w}"), f)
}

/// Starts a named thread; failing to start one is a [`ReadError::Worker`].
fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, ReadError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(|e| ReadError::Worker(e.to_string()))
}

/// Waits for a thread; its panic is a [`ReadError::Worker`]
/// ("`who` panicked").
fn join<T>(h: JoinHandle<T>, who: &str) -> Result<T, ReadError> {
    h.join()
        .map_err(|_| ReadError::Worker(format!("{who} panicked")))
}

/// The capture thread of [`run`] with N workers: reads, hashes each
/// packet to a shard and hands batches to every shard.
struct Capture<'a> {
    ctl: &'a dyn Control,
    workers: usize,
    /// The capture thread's own stats rows, sent straight to the writer.
    rows: CaptureRows,
    rows_tx: Sender<Out>,
    inputs: Vec<Sender<Arc<Batch>>>,
    batch: Batch,
    pool: Pool,
    /// Files apply back-pressure (nothing is lost); live sources must not
    /// stall the capture, so a worker whose queue is full misses the batch
    /// and the loss is counted (stats.log `queue_drops`).
    live: bool,
    /// Files read into shared blocks: batches point into them, no copy.
    zero_copy: bool,
    pending_drops: Vec<u64>,
    first: Option<Ts>,
    last: Ts,
    n: u64,
    /// Where the last packet's bytes are (`ptr`, `len`), until
    /// [`Capture::settle`] places them in the source's shared block.
    at: (usize, usize),
}

impl Capture<'_> {
    /// Hands the batch to every worker and starts a new one.
    fn hand_over(&mut self) {
        let next = self.pool.take();
        let b = std::mem::replace(&mut self.batch, next);
        self.send(b);
    }

    fn send(&mut self, mut b: Batch) {
        b.dropped_for.extend_from_slice(&self.pending_drops);
        self.pending_drops.iter_mut().for_each(|d| *d = 0);
        let b = Arc::new(b);
        for (w, tx) in self.inputs.iter().enumerate() {
            if self.live {
                if tx.try_send(b.clone()).is_err() {
                    let lost = b.shard.iter().filter(|s| **s as usize == w).count();
                    self.pending_drops[w] += lost as u64;
                }
            } else {
                let _ = tx.send(b.clone());
            }
        }
        self.pool.keep(b);
    }

    /// A capture row now, straight to the writer.
    fn force_row<S: PacketSource>(&mut self, src: &mut S) {
        if let Some(r) = self.rows.due(src, self.last, true) {
            let _ = self.rows_tx.send(Out::Stats(r));
        }
    }

    /// End of input: the last batch and the last capture row; closes
    /// the workers' queues. Returns the first and last packet times.
    fn finish<S: PacketSource>(mut self, src: &mut S) -> (Option<Ts>, Ts) {
        if !self.batch.ts.is_empty() {
            let b = std::mem::take(&mut self.batch);
            self.send(b);
        }
        self.inputs.clear();
        if self.rows.enabled() {
            self.force_row(src);
        }
        (self.first, self.last)
    }
}

impl<S: PacketSource> driver::Shape<S> for Capture<'_> {
    type Error = ReadError;

    #[inline]
    fn packet(&mut self, p: Packet<'_>) -> Result<(), ReadError> {
        self.first.get_or_insert(p.ts);
        if p.ts > self.last {
            self.last = p.ts;
        }
        let shard = (crate::engine::shard_hash(p.linktype, p.data) % self.workers as u64) as u16;
        let batch = &mut self.batch;
        batch.ts.push(p.ts);
        batch.shard.push(shard);
        batch.linktype.push(p.linktype);
        batch.wire.push(p.wire_len);
        if self.zero_copy {
            self.at = (p.data.as_ptr() as usize, p.data.len());
        } else {
            let s = batch.data.len() as u32;
            batch.data.extend_from_slice(p.data);
            batch.range.push((COPIED, s, batch.data.len() as u32));
        }
        Ok(())
    }

    #[inline]
    fn settle(&mut self, src: &mut S) -> Result<(), ReadError> {
        let (ptr, len) = self.at;
        if self.zero_copy
            && !src
                .shared_block()
                .is_some_and(|blk| self.batch.place_in_block(blk, ptr, len))
        {
            return Err(ReadError::Worker(
                "capture source handed out a packet outside its shared buffer".into(),
            ));
        }
        self.n += 1;
        if let Some(r) = self.rows.due(src, self.last, false) {
            let _ = self.rows_tx.send(Out::Stats(r));
        }
        Ok(())
    }

    fn poll(&mut self, src: &mut S, why: driver::Poll) -> bool {
        match why {
            // A full batch (the driver polls every `BATCH` packets).
            driver::Poll::Packets => {
                let stop = self.n % 4096 < BATCH as u64 && self.ctl.stop();
                self.batch.stats_now = !stop && self.ctl.stats_now();
                if self.batch.stats_now && !stop {
                    self.force_row(src);
                }
                self.hand_over();
                stop
            }
            driver::Poll::Idle => {
                // Hand over what is buffered so live traffic is not held back.
                let stop = self.ctl.stop();
                if self.ctl.stats_now() {
                    self.batch.stats_now = true;
                    self.force_row(src);
                }
                if !self.batch.ts.is_empty() || self.batch.stats_now {
                    self.hand_over();
                }
                stop
            }
        }
    }
}

pub(super) fn run<S: PacketSource>(
    src: &mut S,
    sink: LogSink,
    cfg: EngineConfig,
    workers: usize,
    ctl: &dyn Control,
) -> Result<ReadSummary, ReadError> {
    let workers = workers.min(u16::MAX as usize);
    let (out_tx, out_rx) = bounded::<Out>(64);
    let (empty_tx, empty_rx) = bounded::<Vec<ConnRecord>>(64 + 2 * workers);
    let mut inputs = Vec::new();
    let mut handles = Vec::new();
    for w in 0..workers {
        let (tx, rx) = bounded::<Arc<Batch>>(16);
        inputs.push(tx);
        let otx = out_tx.clone();
        let erx = empty_rx.clone();
        let c = shard_config(&cfg, w);
        handles.push(spawn_shard(w, move || worker(w as u16, rx, otx, erx, c))?);
    }
    let writer = spawn_writer(sink, out_rx, empty_tx, workers)?;

    let mut cap = Capture {
        ctl,
        workers,
        rows: CaptureRows::new(cfg.stats_interval),
        rows_tx: out_tx,
        inputs,
        batch: Batch::default(),
        pool: Pool::default(),
        live: src.is_live(),
        zero_copy: src.shared_block().is_some(),
        pending_drops: vec![0u64; workers],
        first: None,
        last: Ts(0),
        n: 0,
        at: (0, 0),
    };
    let input_error = driver::drive(src, BATCH as u64, &mut cap)?.input_error();
    let (first, last) = cap.finish(src);
    let mut stats = EngineStats::default();
    for h in handles {
        stats.add(&join(h, "a shard")?);
    }
    let mut sink = join(writer, "the writer")?;
    if let Some(f) = first {
        sink.saw_time(f);
        sink.saw_time(last);
    }
    sink.finish()?;
    Ok(ReadSummary { stats, input_error })
}

/// Requests from the main thread to own-source workers.
struct Flags {
    stop: AtomicBool,
    stats: Vec<AtomicBool>,
    /// The latest packet time any worker saw (nanoseconds).
    latest: AtomicI64,
}

type WorkerEnd = (EngineStats, Option<SourceStats>, Option<CaptureError>);

/// Packets between two hand-overs of an own-source worker (records
/// flushed to the writer, its clock, the stop and stats flags).
const HAND_OVER_EVERY: u64 = 512;

/// A worker of [`run_each`]: its own source, engine and capture row.
struct OwnSource<'a> {
    me: u16,
    engine: Engine<ChannelSink>,
    rows: CaptureRows,
    flags: &'a Flags,
    started: bool,
    /// The last packet's time.
    ts: Ts,
}

impl<S: PacketSource> driver::Shape<S> for OwnSource<'_> {
    type Error = std::convert::Infallible;

    #[inline]
    fn packet(&mut self, p: Packet<'_>) -> Result<(), Self::Error> {
        let ts = p.ts;
        if !self.started {
            self.started = true;
            let _ = self.engine.sink().tx.send(Out::Start(ts));
        }
        self.engine.process(&p);
        self.flags.latest.fetch_max(ts.0, Ordering::Relaxed);
        self.ts = ts;
        Ok(())
    }

    #[inline]
    fn settle(&mut self, src: &mut S) -> Result<(), Self::Error> {
        self.rows.write_due(src, &mut self.engine, self.ts, false);
        Ok(())
    }

    fn poll(&mut self, src: &mut S, why: driver::Poll) -> bool {
        let (me, flags) = (self.me, self.flags);
        let engine = &mut self.engine;
        if why == driver::Poll::Idle {
            // Network time moves on elsewhere: let this shard's timers run.
            let latest = Ts(flags.latest.load(Ordering::Relaxed));
            if self.started && latest > engine.now() {
                engine.advance(latest);
            }
        }
        if flags
            .stats
            .get(me as usize)
            .is_some_and(|f| f.swap(false, Ordering::Relaxed))
        {
            self.rows.stats_now(src, engine);
        }
        engine.sink().flush();
        let now = engine.now();
        let _ = engine.sink().tx.send(Out::Clock(me, now));
        flags.stop.load(Ordering::Relaxed)
    }
}

fn own_source_worker<S: PacketSource>(
    me: u16,
    mut src: S,
    sink: ChannelSink,
    cfg: EngineConfig,
    flags: &Flags,
) -> WorkerEnd {
    let mut rows = CaptureRows::new(cfg.stats_interval);
    rows.peer = format!("capture-{me}");
    let mut w = OwnSource {
        me,
        engine: Engine::new(cfg, sink),
        rows,
        flags,
        started: false,
        ts: Ts(0),
    };
    let Ok(end) = driver::drive(&mut src, HAND_OVER_EVERY, &mut w);
    let OwnSource {
        mut engine,
        mut rows,
        ..
    } = w;
    finish_engine(&mut engine, &mut src, &mut rows);
    engine.sink().flush();
    (engine.stats, src.stats(), end.input_error())
}

pub(super) fn run_each<S: PacketSource + Send + 'static>(
    sources: Vec<S>,
    sink: LogSink,
    cfg: EngineConfig,
    ctl: &dyn Control,
) -> Result<(ReadSummary, Option<SourceStats>), ReadError> {
    let workers = sources.len().clamp(1, u16::MAX as usize);
    let (out_tx, out_rx) = bounded::<Out>(64);
    let (empty_tx, empty_rx) = bounded::<Vec<ConnRecord>>(64 + 2 * workers);
    let flags = Arc::new(Flags {
        stop: AtomicBool::new(false),
        stats: (0..workers).map(|_| AtomicBool::new(false)).collect(),
        latest: AtomicI64::new(i64::MIN),
    });
    let mut handles = Vec::new();
    for (w, src) in sources.into_iter().enumerate().take(workers) {
        let sink = ChannelSink::new(out_tx.clone(), empty_rx.clone());
        let c = shard_config(&cfg, w);
        let f = Arc::clone(&flags);
        handles.push(spawn_shard(w, move || {
            own_source_worker(w as u16, src, sink, c, &f)
        })?);
    }
    drop(out_tx);
    let writer = spawn_writer(sink, out_rx, empty_tx, workers)?;
    // Signals are polled here and passed on; the workers never block on them.
    while !handles.iter().all(|h| h.is_finished()) {
        if ctl.stop() {
            flags.stop.store(true, Ordering::Relaxed);
        }
        if ctl.stats_now() {
            flags
                .stats
                .iter()
                .for_each(|f| f.store(true, Ordering::Relaxed));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut stats = EngineStats::default();
    let mut source: Option<SourceStats> = None;
    let mut input_error = None;
    for h in handles {
        let (s, src, err) = join(h, "a shard")?;
        stats.add(&s);
        if let Some(x) = src {
            let t = source.get_or_insert_with(SourceStats::default);
            t.received += x.received;
            t.dropped += x.dropped;
            t.if_dropped += x.if_dropped;
        }
        input_error = input_error.or(err);
    }
    let mut sink = join(writer, "the writer")?;
    sink.finish()?;
    Ok((ReadSummary { stats, input_error }, source))
}
