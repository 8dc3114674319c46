//! Context features: per connection, what the traffic around it looked like
//! when it was logged — the KDD'99 time-based (2 s) and host-based (100
//! connections) traffic features, originator fan-out, and per-originator
//! connection/byte counts per interval. Written to `context.log` (see
//! [`crate::output::context_log`]); every definition is in `docs/CONTEXT.md`.
//!
//! One [`ContextStage`] sees every record of a run (it lives on the writer
//! thread), so there is no state shared between worker shards. Windows are
//! defined over a total order of the records in **network time** — the
//! [`OrderKey`]: the time the connection was logged
//! ([`ConnRecord::logged_at`]), then start time, uid and 5-tuple — never over
//! arrival order at the writer. Records are held in a small reorder buffer
//! and released, in key order, once no record that sorts before them can
//! still arrive: the caller passes a *watermark*, a network time that every
//! shard has reached (records logged later carry `logged_at` at or after
//! it). Hence the features are the same for `-j 1` and `-j N` and
//! deterministic for the same input.
//!
//! Memory is bounded: the reorder buffer holds only records logged at or
//! after the slowest shard's time, the windows hold at most
//! [`ContextConfig::max_window`] and [`ContextConfig::host_window`] entries,
//! and the per-host interval tables at most [`ContextConfig::max_hosts`]
//! hosts each.

mod series;
mod window;

#[cfg(test)]
mod tests;

pub use series::{HostSeries, SeriesValue};
pub use window::{WindowAgg, WindowCounts};

use crate::conn::uid::Uid;
use crate::conn::Transport;
use crate::decode::Addr;
use crate::record::{ConnRecord, ConnSummary};
use crate::time::{Ts, SEC};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

/// Settings of the context stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    /// Length of the time window, nanoseconds (KDD: 2 s). A connection
    /// logged at `t` sees the earlier connections logged in `[t - window, t]`.
    pub window: i64,
    /// Length of the connection-count window (KDD: 100 connections).
    pub host_window: usize,
    /// Most connections the time window keeps (the most recent ones); bounds
    /// memory under floods.
    pub max_window: usize,
    /// Length of a per-host series interval, nanoseconds (default 60 s).
    pub interval: i64,
    /// Most originator hosts tracked per interval; further hosts in that
    /// interval report 0.
    pub max_hosts: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            window: 2 * SEC,
            host_window: 100,
            max_window: 1 << 16,
            interval: 60 * SEC,
            max_hosts: 1 << 20,
        }
    }
}

/// The service of a connection as the context features compare it: the
/// transport plus the responder port for TCP and UDP, the ICMP type
/// (conn.log's `id.orig_p`) for ICMP, and 0 for other transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service {
    /// 0 tcp, 1 udp, 2 icmp, 3 other.
    pub transport: u8,
    /// Port or ICMP type.
    pub port: u16,
}

/// What the context stage needs of one connection (copied out of its
/// [`ConnRecord`]; a few dozen bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// When it was logged (network time).
    pub logged_at: Ts,
    /// conn.log `ts`.
    pub start: Ts,
    /// conn.log `uid`.
    pub uid: Uid,
    /// `id.orig_h`.
    pub orig_h: Addr,
    /// `id.orig_p`.
    pub orig_p: u16,
    /// `id.resp_h`.
    pub resp_h: Addr,
    /// `id.resp_p`.
    pub resp_p: u16,
    /// `proto`.
    pub transport: Transport,
    /// A SYN error: TCP with `conn_state` S0, RSTOS0 or SH.
    pub serror: bool,
    /// A REJ error: TCP with `conn_state` REJ.
    pub rerror: bool,
    /// `orig_ip_bytes + resp_ip_bytes`.
    pub bytes: u64,
}

/// Whether a TCP `conn_state` is a SYN error (the originator tried, the
/// responder never answered: S0, RSTOS0, SH).
pub fn is_syn_error(transport: Transport, conn_state: &str) -> bool {
    transport == Transport::Tcp && matches!(conn_state, "S0" | "RSTOS0" | "SH")
}

/// Whether a TCP `conn_state` is a REJ error (the responder refused: REJ).
pub fn is_rej_error(transport: Transport, conn_state: &str) -> bool {
    transport == Transport::Tcp && conn_state == "REJ"
}

impl ConnInfo {
    /// The facts of a finished record.
    pub fn from_record(r: &ConnRecord) -> ConnInfo {
        ConnInfo::from_summary(&ConnSummary::of(r))
    }

    /// The facts of a record's summary.
    pub fn from_summary(c: &ConnSummary) -> ConnInfo {
        ConnInfo {
            logged_at: c.logged_at,
            start: c.start,
            uid: c.uid,
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
            transport: c.transport,
            serror: c.transport == Transport::Tcp && c.conn_state.is_syn_error(),
            rerror: c.transport == Transport::Tcp && c.conn_state.is_rejected(),
            bytes: c.orig_ip_bytes + c.resp_ip_bytes,
        }
    }

    /// This connection's [`Service`].
    pub fn service(&self) -> Service {
        let (transport, port) = match self.transport {
            Transport::Tcp => (0, self.resp_p),
            Transport::Udp => (1, self.resp_p),
            Transport::Icmp => (2, self.orig_p),
            Transport::Other => (3, 0),
        };
        Service { transport, port }
    }

    /// The position of this connection in the context order.
    pub fn key(&self) -> OrderKey {
        OrderKey {
            logged_at: self.logged_at,
            start: self.start,
            uid: self.uid,
            tuple: (
                self.orig_h,
                self.orig_p,
                self.resp_h,
                self.resp_p,
                self.service().transport,
            ),
        }
    }
}

/// The total order the windows are defined over: `logged_at`, then `start`,
/// then uid (as text), then the 5-tuple (only to make the order total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderKey {
    /// Logging time.
    pub logged_at: Ts,
    /// Start time.
    pub start: Ts,
    /// uid.
    pub uid: Uid,
    /// orig_h, orig_p, resp_h, resp_p, transport.
    pub tuple: (Addr, u16, Addr, u16, u8),
}

impl Ord for OrderKey {
    fn cmp(&self, o: &Self) -> Ordering {
        self.logged_at
            .cmp(&o.logged_at)
            .then(self.start.cmp(&o.start))
            .then_with(|| self.uid.as_str().cmp(o.uid.as_str()))
            .then(self.tuple.cmp(&o.tuple))
    }
}

impl PartialOrd for OrderKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The context features of one connection (definitions in `docs/CONTEXT.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Features {
    /// Time window: earlier connections to the same responder host.
    pub count: u64,
    /// Time window: earlier connections to the same service.
    pub srv_count: u64,
    /// SYN errors among `count`.
    pub serror_rate: f64,
    /// SYN errors among `srv_count`.
    pub srv_serror_rate: f64,
    /// REJ errors among `count`.
    pub rerror_rate: f64,
    /// REJ errors among `srv_count`.
    pub srv_rerror_rate: f64,
    /// Same service among `count`.
    pub same_srv_rate: f64,
    /// Other services among `count`.
    pub diff_srv_rate: f64,
    /// Other responder hosts among `srv_count`.
    pub srv_diff_host_rate: f64,
    /// Count window: earlier connections to the same responder host.
    pub dst_host_count: u64,
    /// Count window: earlier connections to the same service.
    pub dst_host_srv_count: u64,
    /// Same service among `dst_host_count`.
    pub dst_host_same_srv_rate: f64,
    /// Other services among `dst_host_count`.
    pub dst_host_diff_srv_rate: f64,
    /// Same originator port among `dst_host_srv_count`.
    pub dst_host_same_src_port_rate: f64,
    /// Other responder hosts among `dst_host_srv_count`.
    pub dst_host_srv_diff_host_rate: f64,
    /// SYN errors among `dst_host_count`.
    pub dst_host_serror_rate: f64,
    /// SYN errors among `dst_host_srv_count`.
    pub dst_host_srv_serror_rate: f64,
    /// REJ errors among `dst_host_count`.
    pub dst_host_rerror_rate: f64,
    /// REJ errors among `dst_host_srv_count`.
    pub dst_host_srv_rerror_rate: f64,
    /// Time window: earlier connections from the same originator host.
    pub src_count: u64,
    /// Distinct responder hosts among `src_count`.
    pub src_distinct_dst_hosts: u64,
    /// Distinct services (responder transport/port) among `src_count`.
    pub src_distinct_dst_ports: u64,
    /// Count window: earlier connections from the same originator host.
    pub src_host_count: u64,
    /// Distinct responder hosts among `src_host_count`.
    pub src_host_distinct_dst_hosts: u64,
    /// Distinct services among `src_host_count`.
    pub src_host_distinct_dst_ports: u64,
    /// Start of the series interval containing `logged_at`.
    pub interval: Ts,
    /// The originator's series in this interval and the previous one.
    pub series: SeriesValue,
}

/// `n / d`, or 0 when `d` is 0 (KDD's convention for empty windows).
#[inline]
pub fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// A window of earlier connections with its aggregates.
struct Window {
    entries: VecDeque<ConnInfo>,
    agg: WindowAgg,
}

impl Window {
    fn new() -> Window {
        Window {
            entries: VecDeque::new(),
            agg: WindowAgg::default(),
        }
    }

    fn push(&mut self, c: ConnInfo, cap: usize) {
        self.agg.add(&c);
        self.entries.push_back(c);
        while self.entries.len() > cap {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some(old) = self.entries.pop_front() {
            self.agg.remove(&old);
        }
    }
}

/// What the reorder buffer can hold: anything that knows its connection
/// facts ([`ConnInfo`] itself, or a whole [`ConnSummary`] that later stages
/// need).
pub trait Contextual {
    /// The facts the windows use.
    fn info(&self) -> ConnInfo;
}

impl Contextual for ConnInfo {
    fn info(&self) -> ConnInfo {
        *self
    }
}

impl Contextual for ConnSummary {
    fn info(&self) -> ConnInfo {
        ConnInfo::from_summary(self)
    }
}

/// Boxed items move cheaply inside the reorder buffer's heap.
impl<T: Contextual> Contextual for Box<T> {
    fn info(&self) -> ConnInfo {
        (**self).info()
    }
}

/// A record waiting in the reorder buffer.
struct Pending<T>(OrderKey, ConnInfo, T);

impl<T> PartialEq for Pending<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Pending<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.cmp(&o.0)
    }
}

/// The context stage: a reorder buffer and the accumulators, fed with every
/// record of a run. `T` is what the buffer carries to the caller with each
/// record's features (the writer thread passes [`ConnSummary`] on to the
/// detectors).
pub struct ContextStage<T: Contextual = ConnInfo> {
    cfg: ContextConfig,
    pending: BinaryHeap<Reverse<Pending<T>>>,
    time: Window,
    hosts: Window,
    series: HostSeries,
    /// The last released key (the order must never go backwards).
    last: Option<OrderKey>,
}

impl<T: Contextual> ContextStage<T> {
    /// A stage with these settings.
    pub fn new(cfg: ContextConfig) -> ContextStage<T> {
        ContextStage {
            cfg,
            pending: BinaryHeap::new(),
            time: Window::new(),
            hosts: Window::new(),
            series: HostSeries::new(cfg.interval, cfg.max_hosts),
            last: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ContextConfig {
        &self.cfg
    }

    /// Queues a finished connection (any arrival order).
    pub fn push(&mut self, item: T) {
        let c = item.info();
        self.pending.push(Reverse(Pending(c.key(), c, item)));
    }

    /// Records waiting for the watermark.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Releases, in order, every queued record logged before `watermark`
    /// (the caller guarantees that every record still to come has
    /// `logged_at >= watermark`), calling `emit` with its features.
    pub fn release(&mut self, watermark: Ts, emit: &mut dyn FnMut(&T, &Features)) {
        while let Some(Reverse(Pending(_, c, _))) = self.pending.peek() {
            if c.logged_at >= watermark {
                break;
            }
            let Some(Reverse(Pending(_, c, item))) = self.pending.pop() else {
                break;
            };
            let f = self.compute(&c);
            emit(&item, &f);
        }
    }

    /// Whether [`release`](Self::release) with `watermark` would emit anything.
    pub fn ready(&self, watermark: Ts) -> bool {
        self.pending
            .peek()
            .is_some_and(|Reverse(Pending(_, c, _))| c.logged_at < watermark)
    }

    /// End of input: releases everything still queued.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&T, &Features)) {
        while let Some(Reverse(Pending(_, c, item))) = self.pending.pop() {
            let f = self.compute(&c);
            emit(&item, &f);
        }
    }

    /// The features of `c`, which must come after every connection given
    /// before in the context order; then adds `c` to the windows. (The
    /// reorder buffer calls this; tests call it directly.)
    pub fn compute(&mut self, c: &ConnInfo) -> Features {
        let key = c.key();
        debug_assert!(self.last.is_none_or(|l| l < key), "context order");
        self.last = Some(key);
        // Time window: drop what is older than `window` before c.
        let oldest = c.logged_at.0.saturating_sub(self.cfg.window);
        while self
            .time
            .entries
            .front()
            .is_some_and(|e| e.logged_at.0 < oldest)
        {
            self.time.pop();
        }
        let t = self.time.agg.counts(c);
        let h = self.hosts.agg.counts(c);
        let (interval, series) = self.series.observe(c);
        let f = Features {
            count: t.host,
            srv_count: t.srv,
            serror_rate: rate(t.host_serror, t.host),
            srv_serror_rate: rate(t.srv_serror, t.srv),
            rerror_rate: rate(t.host_rerror, t.host),
            srv_rerror_rate: rate(t.srv_rerror, t.srv),
            same_srv_rate: rate(t.host_srv, t.host),
            diff_srv_rate: rate(t.host - t.host_srv, t.host),
            srv_diff_host_rate: rate(t.srv - t.host_srv, t.srv),
            dst_host_count: h.host,
            dst_host_srv_count: h.srv,
            dst_host_same_srv_rate: rate(h.host_srv, h.host),
            dst_host_diff_srv_rate: rate(h.host - h.host_srv, h.host),
            dst_host_same_src_port_rate: rate(h.srv_sport, h.srv),
            dst_host_srv_diff_host_rate: rate(h.srv - h.host_srv, h.srv),
            dst_host_serror_rate: rate(h.host_serror, h.host),
            dst_host_srv_serror_rate: rate(h.srv_serror, h.srv),
            dst_host_rerror_rate: rate(h.host_rerror, h.host),
            dst_host_srv_rerror_rate: rate(h.srv_rerror, h.srv),
            src_count: t.src,
            src_distinct_dst_hosts: t.src_hosts,
            src_distinct_dst_ports: t.src_ports,
            src_host_count: h.src,
            src_host_distinct_dst_hosts: h.src_hosts,
            src_host_distinct_dst_ports: h.src_ports,
            interval,
            series,
        };
        self.time.push(*c, self.cfg.max_window);
        self.hosts.push(*c, self.cfg.host_window);
        f
    }
}
