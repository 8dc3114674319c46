//! The single-shard engine: one packet in, connection records out.
//!
//! Owns the per-shard stages in order: link decode → IP (with bounded
//! fragment reassembly) → tunnels → flow table → connection semantics →
//! service identification, and hands every removed connection, as a
//! [`ConnRecord`], to a [`RecordSink`]. Time is the packet time passed in;
//! timers due at or before a packet run before it (Zeek's rule).
//!
//! Must not: know about threads, files or formats (the pipeline and the
//! writers do), or allocate per packet on the common path.

use crate::capture::Packet;
use crate::conn::service::{Expect, Service};
use crate::conn::uid::Uid;
use crate::conn::{Conn, ConnConfig, ConnInit, Encap, Transport, MAX_TUNNEL_DEPTH};
use crate::decode::frag::{FragLimits, Reassembler};
use crate::decode::ip::{self, IpPacket, Tcp};
use crate::decode::link::{self, L3};
use crate::decode::tunnel::{self, InnerLink, TunnelKind};
use crate::decode::{Addr, Weird};
use crate::flow::{FlowKey, FlowTable};
use crate::output::capture_loss_log::{self, CaptureLossRecord};
use crate::output::stats_log::StatsRecord;
use crate::output::weird_log::WeirdRecord;
use crate::record::ConnRecord;
use crate::time::Ts;
use std::collections::HashMap;

/// Where finished records go.
pub trait RecordSink {
    /// A connection was removed from the table.
    fn conn(&mut self, rec: ConnRecord);
    /// A weird was raised.
    fn weird(&mut self, w: WeirdRecord);
    /// A stats row for the last interval (default: dropped).
    fn stats(&mut self, _s: StatsRecord) {}
    /// A capture-loss row for the last interval (default: dropped).
    fn capture_loss(&mut self, _r: CaptureLossRecord) {}
    /// An interim record of a connection that is still open (default: dropped).
    fn interim(&mut self, _rec: ConnRecord) {}
    /// A dns.log row (default: dropped).
    fn dns(&mut self, _rec: crate::dns::DnsRecord) {}
    /// Names seen resolving to addresses in a DNS reply (default: dropped).
    fn dns_names(&mut self, _names: crate::dns::NameBatch) {}
}

/// A periodic row due at the end of representable time never comes.
const NEVER: Ts = Ts(i64::MAX);

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Connection semantics.
    pub conn: ConnConfig,
    /// Fragment reassembly limits.
    pub frag: FragLimits,
    /// Maximum connections in the table (0 = unlimited). When full, the
    /// least recently created connection is logged early.
    pub max_conns: usize,
    /// Seconds of network time between stats rows (0 = no stats).
    pub stats_interval: i64,
    /// Name written in stats rows' `peer` (e.g. `worker-0`).
    pub peer: String,
    /// Seconds of network time between capture_loss.log rows (0 = none).
    pub capture_loss_interval: i64,
    /// Seconds of network time between interim records of long-lived
    /// connections (0 = none): every connection open at least this long is
    /// written to conn_long.log with its state so far, under its own uid.
    pub interim_interval: i64,
    /// Passive DNS (dns.log, names for conn.log).
    pub dns: crate::dns::DnsConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            conn: ConnConfig::zeek_default(),
            frag: FragLimits::default(),
            max_conns: 0,
            stats_interval: 300,
            peer: "worker-0".into(),
            capture_loss_interval: 900,
            interim_interval: 0,
            dns: crate::dns::DnsConfig::default(),
        }
    }
}

/// Memory the process needs besides the per-worker tables (binary, read
/// buffers, log buffers), in bytes, for [`EngineConfig::apply_memory_budget`].
pub const BASE_BYTES: u64 = 16 << 20;
/// More for `-j N` (N > 1): batches in flight to the shards and record
/// batches in flight to the writer thread.
pub const THREADED_BYTES: u64 = 32 << 20;

/// Bytes one open connection costs, all its parts counted: the slot (key and
/// `Conn`), boxed analyzer state (kept while undecided: a SYN flood never
/// decides), flow statistics when on, history letters, its index bucket
/// (load at most 1/2), age entry and a few timer entries, plus a quarter for
/// allocator slack. About 2 KB by default (the README's measured 1.58 KB
/// per connection of a real capture, where most analyzers had decided).
pub fn conn_bytes(flow_stats: bool) -> u64 {
    use std::mem::size_of;
    let slot = size_of::<Conn>() + size_of::<FlowKey>() + 16;
    let boxed = size_of::<crate::conn::service::ServiceState>() + 32;
    let stats = if flow_stats {
        size_of::<crate::stats::FlowStats>() + 16
    } else {
        0
    };
    let small = 32 /* history */ + 16 /* index */ + 16 /* age */ + 4 * 40 /* timers */;
    ((slot + boxed + stats + small) as u64) * 5 / 4
}

/// Caps derived from `--max-memory` (per worker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryCaps {
    /// Open connections per worker.
    pub max_conns: usize,
    /// Bytes buffered for fragment reassembly per worker.
    pub frag_bytes: usize,
    /// Datagrams under reassembly per worker.
    pub frag_datagrams: usize,
    /// Bytes one connection was budgeted at.
    pub conn_bytes: u64,
}

/// Splits a process memory budget of `mib` MiB over `workers` workers: the
/// base (plus the thread hand-off for `-j N`), one eighth of the rest (at
/// most 64 MiB, the default pool) for fragment reassembly, the remainder for
/// open connections at [`conn_bytes`] each. Errors when the budget cannot
/// hold the base and a minimal table.
pub fn memory_caps(mib: u64, workers: usize, flow_stats: bool) -> Result<MemoryCaps, String> {
    let workers = workers.max(1) as u64;
    let budget = mib.saturating_mul(1 << 20);
    let base = BASE_BYTES + if workers > 1 { THREADED_BYTES } else { 0 };
    let min = base + workers * (4 << 20);
    if budget < min {
        return Err(format!(
            "--max-memory {mib}: at least {} MiB are needed with {workers} worker(s)",
            min.div_ceil(1 << 20)
        ));
    }
    let rest = budget - base;
    let frag_total = (rest / 8).min(64 << 20);
    let frag_bytes = frag_total / workers;
    let per_conn = conn_bytes(flow_stats);
    let max_conns = ((rest - frag_total) / workers / per_conn).max(1);
    // Every datagram also costs its header, piece list and map entry.
    let frag_datagrams = (frag_bytes / 2048).clamp(16, 8192);
    Ok(MemoryCaps {
        max_conns: max_conns as usize,
        frag_bytes: frag_bytes as usize,
        frag_datagrams: frag_datagrams as usize,
        conn_bytes: per_conn,
    })
}

impl EngineConfig {
    /// Applies `--max-memory` caps (a tighter `--max-conns` stays).
    pub fn apply_caps(&mut self, caps: &MemoryCaps) {
        self.max_conns = match self.max_conns {
            0 => caps.max_conns,
            n => n.min(caps.max_conns),
        };
        self.frag.max_bytes = self.frag.max_bytes.min(caps.frag_bytes);
        self.frag.max_datagrams = self.frag.max_datagrams.min(caps.frag_datagrams);
    }
}

/// Counters the engine keeps (for stats.log and the closing summary).
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    /// Packets seen.
    pub packets: u64,
    /// Bytes seen (wire length).
    pub bytes: u64,
    /// Packets that were not IP (ARP, ...).
    pub non_ip: u64,
    /// Packets dropped by a decode weird.
    pub decode_errors: u64,
    /// Connections created.
    pub conns_created: u64,
    /// Connections logged.
    pub conns_logged: u64,
    /// Connections evicted early because the table was full.
    pub conns_evicted: u64,
    /// Packets lost because this worker's queue was full (live capture).
    pub queue_drops: u64,
    /// Datagrams under reassembly dropped to make room or for too many pieces.
    pub frag_evicted: u64,
    /// Connections that hit a per-connection bound (weirds
    /// `connscope_tcp_ooo_ranges_folded`, `connscope_history_limit`).
    pub conn_state_limits: u64,
    /// TCP acknowledgements of established connections (capture loss).
    pub ack_events: u64,
    /// Of those, the ones that revealed missing data.
    pub gap_events: u64,
    /// Open connections by transport (TCP, UDP, ICMP, other).
    pub active: [u64; 4],
    /// Connections created by transport (TCP, UDP, ICMP, other).
    pub created: [u64; 4],
}

impl EngineStats {
    /// Adds another worker's counters.
    pub fn add(&mut self, o: &EngineStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.non_ip += o.non_ip;
        self.decode_errors += o.decode_errors;
        self.conns_created += o.conns_created;
        self.conns_logged += o.conns_logged;
        self.conns_evicted += o.conns_evicted;
        self.ack_events += o.ack_events;
        self.queue_drops += o.queue_drops;
        self.frag_evicted += o.frag_evicted;
        self.conn_state_limits += o.conn_state_limits;
        self.gap_events += o.gap_events;
        for i in 0..4 {
            self.active[i] += o.active[i];
            self.created[i] += o.created[i];
        }
    }
}

fn tidx(t: Transport) -> usize {
    match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
        Transport::Icmp => 2,
        Transport::Other => 3,
    }
}

/// Link-layer context of the outermost packet.
#[derive(Clone, Copy, Default)]
struct L2Ctx {
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    src: Option<[u8; 6]>,
    dst: Option<[u8; 6]>,
}

/// Weird sampling (Zeek's `Weird::sampling_threshold` / `sampling_rate`).
struct WeirdSampler {
    counts: HashMap<&'static str, u64>,
}

impl WeirdSampler {
    fn allow(&mut self, name: &'static str) -> bool {
        let n = self.counts.entry(name).or_insert(0);
        *n += 1;
        *n <= 1000 || *n % 1000 == 0
    }
}

/// The engine.
pub struct Engine<S: RecordSink> {
    cfg: EngineConfig,
    table: FlowTable,
    frag: Reassembler,
    frag_buf: Vec<u8>,
    expects: Vec<(Expect, Addr, Addr, Ts)>,
    weirds: WeirdSampler,
    /// Connections touched by the current packet (for their weirds).
    touched: Vec<u32>,
    sink: S,
    now: Ts,
    last_frag_expire: Ts,
    /// When the next stats row is due, and the counters at the last row.
    next_stats: Option<Ts>,
    stats_base: EngineStats,
    next_loss: Option<(Ts, Ts)>,
    next_interim: Option<Ts>,
    /// Before this time no stats, interim or capture-loss row is due (the
    /// timers have their own bound): [`Engine::advance`] returns at once.
    wake: Ts,
    loss_base: (u64, u64),
    /// Counters.
    pub stats: EngineStats,
}

impl<S: RecordSink> Engine<S> {
    /// A new engine writing to `sink`.
    pub fn new(cfg: EngineConfig, sink: S) -> Self {
        let mut table = FlowTable::new();
        if cfg.max_conns > 0 {
            // Timers of evicted connections would otherwise wait until due.
            table.set_timer_bound(cfg.max_conns.saturating_mul(4).max(4096));
        }
        Engine {
            frag: Reassembler::new(cfg.frag),
            cfg,
            table,
            frag_buf: Vec::new(),
            expects: Vec::new(),
            weirds: WeirdSampler {
                counts: HashMap::new(),
            },
            touched: Vec::new(),
            sink,
            now: Ts(0),
            last_frag_expire: Ts(0),
            next_stats: None,
            stats_base: EngineStats::default(),
            next_loss: None,
            next_interim: None,
            wake: Ts(i64::MIN),
            loss_base: (0, 0),
            stats: EngineStats::default(),
        }
    }

    /// The sink.
    pub fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Consumes the engine, returning the sink.
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Open connections.
    pub fn open_conns(&self) -> usize {
        self.table.len()
    }

    /// Current network time.
    pub fn now(&self) -> Ts {
        self.now
    }

    /// Processes one packet.
    pub fn process(&mut self, pkt: &Packet<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += pkt.wire_len as u64;
        // Times outside `[0, MAX_TS]` (only a broken source makes them) are
        // clamped, so no time arithmetic downstream can overflow.
        let ts = pkt.ts.clamp_capture();
        let now = if ts > self.now { ts } else { self.now };
        self.advance(now);
        if now.0 - self.last_frag_expire.0 >= crate::time::SEC {
            self.frag.expire(now);
            self.last_frag_expire = now;
        }
        match link::decode(pkt.linktype, pkt.data) {
            Ok(Some(l3)) => {
                let wire = (pkt.wire_len as usize).saturating_sub(l3.link_len);
                let l2 = l2ctx(&l3);
                self.process_ip(ts, l3.ip, wire, &Encap::default(), l2, 0);
            }
            Ok(None) => self.stats.non_ip += 1,
            Err(w) => self.weird(ts, w, None),
        }
        while let Some(slot) = self.touched.pop() {
            self.conn_weirds(ts, slot);
        }
    }

    /// Runs all timers due at or before `now`.
    #[inline]
    pub fn advance(&mut self, now: Ts) {
        if now > self.now {
            self.now = now;
        }
        // The common case (every packet calls this): nothing is due yet.
        if now < self.wake && now < self.table.due_bound() {
            return;
        }
        self.advance_slow(now);
    }

    fn advance_slow(&mut self, now: Ts) {
        if self.cfg.stats_interval > 0 {
            match self.next_stats {
                None => self.next_stats = Some(now.plus_secs(self.cfg.stats_interval)),
                Some(due) if now >= due && due != NEVER => {
                    self.emit_stats(due);
                    // Quiet stretches (or a timestamp years ahead) produce one
                    // row, not one per missed interval: O(1) catch-up.
                    self.next_stats = Some(due.next_after(now, self.cfg.stats_interval));
                }
                Some(_) => {}
            }
        }
        let ii = self.cfg.interim_interval;
        if ii > 0 {
            match self.next_interim {
                None => self.next_interim = Some(now.plus_secs(ii)),
                Some(due) if now >= due && due != NEVER => {
                    self.emit_interim(due);
                    self.next_interim = Some(due.next_after(now, ii));
                }
                Some(_) => {}
            }
        }
        let li = self.cfg.capture_loss_interval;
        if li > 0 {
            match self.next_loss {
                None => self.next_loss = Some((now, now.plus_secs(li))),
                Some((start, due)) if now >= due && due != NEVER => {
                    self.emit_capture_loss(start, due);
                    self.next_loss = Some((due, due.next_after(now, li)));
                }
                Some(_) => {}
            }
        }
        while let Some(due) = self.table.next_due(now) {
            let cfg = &self.cfg.conn;
            let outcome = match self.table.get(due.slot) {
                Some((conn, mut timers)) => conn.on_timer(cfg, due.kind, now, &mut timers),
                None => continue,
            };
            if outcome == crate::conn::TimerOutcome::Remove {
                self.remove(due.slot);
            }
        }
        let rows = [
            self.next_stats,
            self.next_interim,
            self.next_loss.map(|l| l.1),
        ];
        self.wake = rows.into_iter().flatten().min().unwrap_or(Ts(i64::MAX));
    }

    /// End of input: every open connection is logged, oldest first, then a
    /// last stats row.
    pub fn finish(&mut self) {
        for slot in self.table.slots_by_age() {
            self.remove(slot);
        }
        if self.cfg.stats_interval > 0 && self.next_stats.is_some() {
            let now = self.now;
            self.emit_stats(now);
        }
        if let Some((start, _)) = self.next_loss {
            let now = self.now;
            self.emit_capture_loss(start, now);
        }
    }

    /// Writes a stats.log row now (SIGUSR1), at the current network time; the
    /// periodic rows keep their schedule.
    pub fn write_stats_now(&mut self) {
        let now = self.now;
        self.emit_stats(now);
    }

    /// Counts packets the capture thread could not hand to this engine.
    pub fn note_queue_drops(&mut self, n: u64) {
        self.stats.queue_drops += n;
    }

    /// Writes interim records of the connections open for at least an interval.
    fn emit_interim(&mut self, now: Ts) {
        let min_age = self.cfg.interim_interval;
        for slot in self.table.slots_by_age() {
            let Some((c, _)) = self.table.get(slot) else {
                continue;
            };
            if now.0 - c.start.0 < min_age * crate::time::SEC {
                continue;
            }
            let mut snapshot = c.clone();
            // The snapshot needs no DNS pairing state.
            snapshot.dns_log = Default::default();
            let rec = ConnRecord::new(snapshot, &self.cfg.conn);
            self.sink.interim(rec);
        }
    }

    /// Writes a capture-loss row for the interval `[start, end]`.
    fn emit_capture_loss(&mut self, start: Ts, end: Ts) {
        let gaps = self.stats.gap_events - self.loss_base.1;
        let acks = self.stats.ack_events - self.loss_base.0;
        self.loss_base = (self.stats.ack_events, self.stats.gap_events);
        self.sink.capture_loss(CaptureLossRecord {
            ts: end,
            ts_delta: end.0 - start.0,
            peer: self.cfg.peer.clone(),
            gaps,
            acks,
            percent_lost: capture_loss_log::percent(gaps, acks),
        });
    }

    /// Writes a stats row for the interval ending at `ts`.
    fn emit_stats(&mut self, ts: Ts) {
        let (s, b) = (&self.stats, &self.stats_base);
        let rec = StatsRecord {
            ts,
            peer: self.cfg.peer.clone(),
            mem: None,
            pkts_proc: s.packets - b.packets,
            bytes_recv: s.bytes - b.bytes,
            pkts_dropped: None,
            pkts_link: None,
            active_tcp_conns: s.active[0],
            active_udp_conns: s.active[1],
            active_icmp_conns: s.active[2],
            tcp_conns: s.created[0] - b.created[0],
            udp_conns: s.created[1] - b.created[1],
            icmp_conns: s.created[2] - b.created[2],
            active_timers: self.table.timer_count() as u64,
            reassem_frag_size: self.frag.bytes() as u64,
            decode_errors: s.decode_errors - b.decode_errors,
            evictions: s.conns_evicted - b.conns_evicted,
            queue_drops: s.queue_drops - b.queue_drops,
            frag_evictions: s.frag_evicted - b.frag_evicted,
            conn_state_limits: s.conn_state_limits - b.conn_state_limits,
        };
        self.stats_base = *s;
        self.sink.stats(rec);
    }

    fn remove(&mut self, slot: u32) {
        let now = self.now;
        self.conn_weirds(now, slot);
        if let Some(mut conn) = self.table.remove(slot) {
            let (sink, log) = (&mut self.sink, self.cfg.dns.log);
            conn.dns_log.finish(&mut |o| dns_out(sink, o, log));
            self.stats.conns_logged += 1;
            self.stats.active[tidx(conn.transport)] -= 1;
            let mut rec = ConnRecord::new(conn, &self.cfg.conn);
            rec.logged_at = now;
            self.sink.conn(rec);
        }
    }

    /// Reports a bound being hit (sampled like every weird; not a decode error).
    fn limit_weird(&mut self, ts: Ts, w: Weird) {
        if self.weirds.allow(w.name()) {
            self.sink.weird(WeirdRecord {
                ts,
                uid: None,
                id: None,
                name: w.name(),
                addl: None,
            });
        }
    }

    fn weird(&mut self, ts: Ts, w: Weird, conn: Option<&Conn>) {
        self.stats.decode_errors += conn.is_none() as u64;
        if !self.weirds.allow(w.name()) {
            return;
        }
        let (uid, id) = match conn {
            Some(c) => (
                Some(c.uid.as_str().to_string()),
                Some((c.orig_h, c.orig_p, c.resp_h, c.resp_p)),
            ),
            None => (None, None),
        };
        self.sink.weird(WeirdRecord {
            ts,
            uid,
            id,
            name: w.name(),
            addl: None,
        });
    }

    /// Reports the weirds a connection raised while processing a packet.
    fn conn_weirds(&mut self, ts: Ts, slot: u32) {
        let Some((c, _)) = self.table.get(slot) else {
            return;
        };
        c.check_bounds();
        if !c.has_weirds() {
            return;
        }
        let uid = c.uid.as_str().to_string();
        let id = (c.orig_h, c.orig_p, c.resp_h, c.resp_p);
        let weirds: Vec<crate::conn::ConnWeird> = c.take_weirds().collect();
        for w in weirds {
            let name = w.name();
            self.stats.conn_state_limits += w.is_state_limit() as u64;
            if self.weirds.allow(name) {
                self.sink.weird(WeirdRecord {
                    ts,
                    uid: Some(uid.clone()),
                    id: Some(id),
                    name,
                    addl: None,
                });
            }
        }
    }

    fn process_ip(
        &mut self,
        ts: Ts,
        data: &[u8],
        wire: usize,
        encap: &Encap,
        l2: L2Ctx,
        depth: usize,
    ) {
        let ipp = match ip::parse(data, wire, self.cfg.conn.ignore_checksums) {
            Ok(p) => p,
            Err(w) => return self.weird(ts, w, None),
        };
        if let Some(f) = ipp.frag {
            if !ipp.fully_captured() {
                self.weird(ts, Weird::IncompletelyCapturedFragment, None);
                if f.offset != 0 {
                    return;
                }
                // The first fragment of a header-only trace is analysed as is.
            } else {
                let mut buf = std::mem::take(&mut self.frag_buf);
                let evicted_before = self.frag.evicted;
                let mut added_err = None;
                let done = match self.frag.add(ts, &ipp) {
                    Ok(Some(whole)) => {
                        buf.clear();
                        buf.extend_from_slice(whole);
                        true
                    }
                    Ok(None) => false,
                    Err(w) => {
                        added_err = Some(w);
                        false
                    }
                };
                if let Some(w) = added_err {
                    self.weird(ts, w, None);
                }
                if matches!(added_err, Some(Weird::FragTooManyPieces)) {
                    self.stats.frag_evicted += 1;
                }
                let evicted = self.frag.evicted - evicted_before;
                if evicted > 0 {
                    // The oldest datagrams made room for this fragment.
                    self.stats.frag_evicted += evicted;
                    self.limit_weird(ts, Weird::FragEvicted);
                }
                if done {
                    let len = buf.len();
                    // Reassembled datagrams are already validated: no header checksum check.
                    if let Ok(whole) = ip::parse(&buf, len, true) {
                        self.dispatch(ts, &whole, encap, l2, depth, len);
                    }
                }
                self.frag_buf = buf;
                return;
            }
        }
        let cap = data.len();
        self.dispatch(ts, &ipp, encap, l2, depth, cap);
    }

    fn dispatch(
        &mut self,
        ts: Ts,
        ipp: &IpPacket<'_>,
        encap: &Encap,
        l2: L2Ctx,
        depth: usize,
        _cap: usize,
    ) {
        match ipp.proto {
            6 => self.tcp(ts, ipp, encap, l2),
            17 => self.udp(ts, ipp, encap, l2, depth),
            1 | 58 => self.icmp(ts, ipp, encap, l2),
            4 | 41 => {
                // IP-in-IP.
                self.ip_tunnel(
                    ts,
                    ipp,
                    TunnelKind::Ip,
                    InnerLink::Ip,
                    ipp.payload,
                    encap,
                    l2,
                    depth,
                );
            }
            47 => match tunnel::gre(ipp.payload) {
                Ok(inner) => self.ip_tunnel(
                    ts,
                    ipp,
                    TunnelKind::Gre,
                    inner.link,
                    inner.data,
                    encap,
                    l2,
                    depth,
                ),
                Err(w) => self.weird(ts, w, None),
            },
            50 | 135 => {} // ESP (encrypted) and mobility: no connection, as in Zeek.
            59 => self.weird(ts, Weird::Ipv6NoNext, None),
            _ => self.other(ts, ipp, encap, l2),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ip_tunnel(
        &mut self,
        ts: Ts,
        outer: &IpPacket<'_>,
        kind: TunnelKind,
        link: InnerLink,
        data: &[u8],
        encap: &Encap,
        l2: L2Ctx,
        depth: usize,
    ) {
        if encap.depth as usize >= MAX_TUNNEL_DEPTH {
            return self.weird(ts, Weird::ExceededTunnelMaxDepth, None);
        }
        let uid = Uid::for_ip_tunnel(self.cfg.conn.seed, outer.src, outer.dst);
        let mut e = *encap;
        e.push(kind, uid);
        self.inner(ts, link, data, data.len(), &e, l2, depth + 1);
    }

    /// Decodes and processes an encapsulated packet.
    #[allow(clippy::too_many_arguments)]
    fn inner(
        &mut self,
        ts: Ts,
        link: InnerLink,
        data: &[u8],
        wire: usize,
        encap: &Encap,
        l2: L2Ctx,
        depth: usize,
    ) {
        match link {
            InnerLink::Ethernet => {
                let mut l3 = L3::default();
                match link::ethernet(data, 0, &mut l3) {
                    Ok(Some(off)) => {
                        let ipd = data.get(off..).unwrap_or(&[]);
                        self.process_ip(ts, ipd, wire.saturating_sub(off), encap, l2, depth);
                    }
                    Ok(None) => {}
                    Err(w) => self.weird(ts, w, None),
                }
            }
            InnerLink::Ip => self.process_ip(ts, data, wire, encap, l2, depth),
            InnerLink::IpExact => {
                // The inner packet must be exactly as long as its IP total length.
                let total = match data.first().map(|b| b >> 4) {
                    Some(4) if data.len() >= 20 => crate::decode::be16(data, 2) as usize,
                    Some(6) if data.len() >= 40 => 40 + crate::decode::be16(data, 4) as usize,
                    _ => return self.weird(ts, Weird::InvalidInnerIp, None),
                };
                if total != data.len() {
                    return self.weird(ts, Weird::InvalidInnerIp, None);
                }
                self.process_ip(ts, data, data.len(), encap, l2, depth)
            }
        }
    }

    /// Finds or creates the connection for a packet; handles tunnel changes.
    /// Returns its slot and whether the packet is from the originator.
    #[allow(clippy::too_many_arguments)]
    fn lookup_or_create(
        &mut self,
        ts: Ts,
        key: FlowKey,
        init: ConnInit,
        encap: &Encap,
        tcp_flags: u8,
        reuse: &dyn Fn(&Conn) -> bool,
    ) -> u32 {
        let mut slot = self.table.lookup(&key);
        if let Some(s) = slot {
            let is_reuse = match self.table.get(s) {
                Some((c, _)) => reuse(c),
                None => false,
            };
            if is_reuse {
                self.remove(s);
                slot = None;
            }
        }
        let slot = self.lookup_or_insert(ts, key, init, encap, tcp_flags, slot);
        self.touched.push(slot);
        slot
    }

    fn lookup_or_insert(
        &mut self,
        ts: Ts,
        key: FlowKey,
        init: ConnInit,
        encap: &Encap,
        tcp_flags: u8,
        slot: Option<u32>,
    ) -> u32 {
        match slot {
            Some(s) => {
                let is_orig_guess = match self.table.get(s) {
                    Some((c, _)) => init.orig.0 == c.orig_h && init.orig.1 == c.orig_p,
                    None => true,
                };
                if let Some((c, _)) = self.table.get(s) {
                    c.check_encap(&self.cfg.conn, encap, is_orig_guess);
                }
                s
            }
            None => {
                if self.cfg.max_conns > 0 && self.table.len() >= self.cfg.max_conns {
                    if let Some(oldest) = self.table.oldest() {
                        self.stats.conns_evicted += 1;
                        // Logged early, as Zeek does when it must drop state;
                        // weird.log names the evicted connection.
                        if let Some((c, _)) = self.table.get(oldest) {
                            c.raise(crate::conn::ConnWeird::EvictedTableFull);
                        }
                        self.remove(oldest);
                    }
                }
                let flip = Conn::flip_at_creation(&self.cfg.conn, &init, tcp_flags);
                let (s, serial) = self.table.reserve();
                let mut timers = self.table.timers(s, serial);
                let mut conn = Conn::new(&self.cfg.conn, &init, encap, flip, &mut timers);
                self.apply_expectation(ts, &mut conn, s, serial);
                self.table.insert(s, serial, key, conn);
                self.stats.conns_created += 1;
                self.stats.active[tidx(init.transport)] += 1;
                self.stats.created[tidx(init.transport)] += 1;
                s
            }
        }
    }

    fn apply_expectation(&mut self, ts: Ts, conn: &mut Conn, slot: u32, serial: u64) {
        if self.expects.is_empty() || conn.transport != Transport::Tcp {
            return;
        }
        self.expects.retain(|e| e.3 > ts);
        let pos = self.expects.iter().position(|(x, o, r, _)| {
            let want_resp = x.resp_host.map(Addr::from_ip).unwrap_or(*r);
            want_resp == conn.resp_h
                && x.resp_port == conn.resp_p
                && (x.any_orig || *o == conn.orig_h)
        });
        if let Some(i) = pos {
            let svc = self.expects[i].0.service;
            let mut timers = self.table.timers(slot, serial);
            conn.confirm(&self.cfg.conn, &mut timers, svc);
        }
    }

    fn init(
        ipp: &IpPacket<'_>,
        ts: Ts,
        t: Transport,
        sp: u16,
        dp: u16,
        one_way: bool,
        l2: L2Ctx,
    ) -> ConnInit {
        ConnInit {
            transport: t,
            ip_proto: ipp.proto,
            orig: (ipp.src, sp),
            resp: (ipp.dst, dp),
            ts,
            icmp_one_way: one_way,
            vlan: l2.vlan,
            inner_vlan: l2.inner_vlan,
            l2: (l2.src, l2.dst),
        }
    }

    fn tcp(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        if ipp.payload_len < 20 || ipp.payload.len() < 20 {
            return self.weird(ts, Weird::TruncatedHeader, None);
        }
        let sp = crate::decode::be16(ipp.payload, 0);
        let dp = crate::decode::be16(ipp.payload, 2);
        let header = ip::tcp(ipp);
        let flags = ipp.payload[13];
        let key = FlowKey::new(ipp.src, sp, ipp.dst, dp, 6, false);
        let init = Self::init(ipp, ts, Transport::Tcp, sp, dp, false, l2);
        let reuse = |c: &Conn| match &header {
            Ok(t) => c.tcp_is_reuse(t),
            Err(_) => false,
        };
        let slot = self.lookup_or_create(ts, key, init, encap, flags, &reuse);
        let t: Tcp<'_> = match header {
            Ok(t) => t,
            Err(w) => {
                let c = self.table.get(slot).map(|(c, _)| c.clone());
                return self.weird(ts, w, c.as_ref());
            }
        };
        let cfg = &self.cfg.conn;
        let Some((conn, mut timers)) = self.table.get(slot) else {
            return;
        };
        let is_orig = ipp.src == conn.orig_h && sp == conn.orig_p;
        let out = conn.tcp_packet(cfg, &mut timers, ts, is_orig, ipp, &t);
        let is_orig = out.is_orig;
        self.stats.ack_events += out.loss.acks as u64;
        self.stats.gap_events += out.loss.gaps as u64;
        if out.new_data {
            // The analyzers see what was captured of the payload.
            let payload = &t.payload[..t.payload.len().min(t.payload_len as usize)];
            let sender = conn.endpoint(is_orig);
            let expect = conn.inspect(cfg, &mut timers, is_orig, payload);
            if self.cfg.dns.active() && conn.dns_log.is_attached() {
                let sink = &mut self.sink;
                dns_payload(&self.cfg.dns, conn, ts, sender, payload, sink);
            }
            if let Some(x) = expect {
                let (o, r) = (conn.orig_h, conn.resp_h);
                self.add_expect(x, o, r, ts);
            }
        }
    }

    fn add_expect(&mut self, x: Expect, conn_orig: Addr, conn_resp: Addr, ts: Ts) {
        // Data connection originator: this connection's originator (PASV) or responder (PORT).
        let (orig, resp) = if x.from_conn_orig {
            (conn_orig, conn_resp)
        } else {
            (conn_resp, conn_orig)
        };
        if self.expects.len() >= 1024 {
            self.expects.remove(0);
        }
        self.expects.push((x, orig, resp, ts.plus_secs(300)));
    }

    fn udp(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx, depth: usize) {
        let u = match ip::udp(ipp) {
            Ok(u) if ipp.payload_len >= 8 => u,
            _ => return self.weird(ts, Weird::TruncatedHeader, None),
        };
        let key = FlowKey::new(ipp.src, u.sport, ipp.dst, u.dport, 17, false);
        let init = Self::init(ipp, ts, Transport::Udp, u.sport, u.dport, false, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        let cfg = &self.cfg.conn;
        let Some((conn, mut timers)) = self.table.get(slot) else {
            return;
        };
        let is_orig = ipp.src == conn.orig_h && u.sport == conn.orig_p;
        let wire_complete = ipp.fully_captured();
        if !conn.udp_packet(cfg, ts, is_orig, ipp, u.ulen, u.checksum, wire_complete) {
            return;
        }
        let plen = (ipp.payload_len as usize)
            .saturating_sub(8)
            .min(u.payload.len());
        let payload = &u.payload[..plen];
        let resp_p = conn.resp_p;
        let uid = conn.uid;
        // Tunnels (packet analyzers), chosen by the responder port as Zeek's
        // UDP analyzer does (`ForwardPacket(..., RespPort())`); on a port
        // without one, the analyzers that can detect their protocol (AYIYA,
        // then Teredo) look at the payload. GRE over UDP is an IP tunnel.
        if resp_p == 4754 {
            if let Ok(i) = tunnel::gre(payload) {
                return self.ip_tunnel(ts, ipp, TunnelKind::Gre, i.link, i.data, encap, l2, depth);
            }
        }
        let kind = udp_tunnel_kind(resp_p, payload, conn.teredo_state(), conn.tunnel_violated());
        if kind == Some(TunnelKind::Teredo) {
            conn.set_teredo_state();
        }
        let decap = match kind {
            Some(TunnelKind::Vxlan) => tunnel::vxlan(payload),
            Some(TunnelKind::Geneve) => tunnel::geneve(payload),
            Some(TunnelKind::Gtpv1) => tunnel::gtpv1(payload),
            Some(TunnelKind::Ayiya) => tunnel::ayiya(payload),
            Some(TunnelKind::Teredo) => tunnel::teredo(payload),
            _ => tunnel::Decap::Pass(None),
        };
        let too_deep = kind.is_some() && encap.depth as usize >= MAX_TUNNEL_DEPTH;
        let mut tunnel_weird = None;
        let mut go = None;
        let mut handled = false;
        if too_deep {
            handled = true;
        } else if let Some(kind) = kind {
            let svc = match kind {
                TunnelKind::Vxlan => Service::Vxlan,
                TunnelKind::Geneve => Service::Geneve,
                TunnelKind::Gtpv1 => Service::Gtpv1,
                TunnelKind::Ayiya => Service::Ayiya,
                _ => Service::Teredo,
            };
            match decap {
                tunnel::Decap::Pass(w) => tunnel_weird = w,
                tunnel::Decap::Violation(w) => {
                    // The packet analyzer stops for this connection; its
                    // service stays (`dpd.zeek` fails protocol analyzers
                    // only).
                    handled = true;
                    tunnel_weird = Some(w);
                    conn.set_tunnel_violated();
                }
                tunnel::Decap::Ok { inner, weird } => {
                    handled = true;
                    tunnel_weird = weird;
                    let confirm = if kind == TunnelKind::Teredo {
                        // Tunnel::delay_teredo_confirmation: confirm once
                        // both sides sent valid Teredo.
                        conn.teredo_valid_from(is_orig)
                    } else {
                        true
                    };
                    if confirm && !conn.service.contains(svc) {
                        conn.confirm(cfg, &mut timers, svc);
                    }
                    go = inner.map(|i| (kind, i));
                }
            }
        }
        let expect = if handled {
            None
        } else {
            let sender = conn.endpoint(is_orig);
            let x = conn.inspect(cfg, &mut timers, is_orig, payload);
            if self.cfg.dns.active() && conn.dns_log.is_attached() {
                let sink = &mut self.sink;
                dns_payload(&self.cfg.dns, conn, ts, sender, payload, sink);
            }
            x
        };
        let (o, r) = (conn.orig_h, conn.resp_h);
        let weird_conn = tunnel_weird.map(|w| (w, conn.clone()));
        if let Some(x) = expect {
            self.add_expect(x, o, r, ts);
        }
        if let Some((w, c)) = weird_conn {
            self.weird(ts, w, Some(&c));
        }
        if too_deep {
            return self.weird(ts, Weird::ExceededTunnelMaxDepth, None);
        }
        let Some((kind, inner)) = go else { return };
        let mut e = *encap;
        e.push(kind, uid);
        // Inner wire length: the outer wire length minus what precedes the inner packet.
        let consumed_cap = ipp.payload.len() - inner.data.len();
        let wire = (ipp.payload_len as usize).saturating_sub(consumed_cap);
        let data = inner.data;
        self.inner(
            ts,
            inner.link,
            data,
            wire.max(data.len()),
            &e,
            l2,
            depth + 1,
        );
    }

    fn icmp(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        let m = match ip::icmp(ipp) {
            Ok(m) if ipp.payload_len >= 8 => m,
            _ => return self.weird(ts, Weird::TruncatedHeader, None),
        };
        let (sp, dp, one_way) = if ipp.proto == 58 {
            crate::conn::icmp::ports_v6(m.icmp_type, m.code)
        } else {
            crate::conn::icmp::ports_v4(m.icmp_type, m.code)
        };
        let key = FlowKey::new(ipp.src, sp, ipp.dst, dp, ipp.proto, one_way);
        let init = Self::init(ipp, ts, Transport::Icmp, sp, dp, one_way, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        let cfg = &self.cfg.conn;
        if let Some((conn, _)) = self.table.get(slot) {
            let is_orig = ipp.src == conn.orig_h && sp == conn.orig_p;
            conn.icmp_packet(cfg, ts, is_orig, ipp);
        }
    }

    fn other(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        let key = FlowKey::new(ipp.src, 0, ipp.dst, 0, ipp.proto, false);
        let init = Self::init(ipp, ts, Transport::Other, 0, 0, false, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        if let Some((conn, _)) = self.table.get(slot) {
            let is_orig = ipp.src == conn.orig_h;
            conn.other_packet(ts, is_orig, ipp);
        }
    }
}

/// The UDP tunnel analyzer for a packet, chosen as Zeek's UDP analyzer does:
/// by the responder port (`ForwardPacket(..., RespPort())`), else by the
/// analyzers that detect their protocol (AYIYA, then Teredo). Teredo keeps
/// per-connection state (`orig_resp_map`, see `new_teredo_state`) once it
/// analyzed a packet of the connection (`teredo_state`): later packets go to
/// it again. A tunnel analyzer that raised a violation on the connection
/// (`AnalyzerViolated(session)`, `violated`) is not tried again. Port 4754
/// (GRE over UDP) is handled before, as an IP tunnel.
pub fn udp_tunnel_kind(
    resp_p: u16,
    payload: &[u8],
    teredo_state: bool,
    violated: bool,
) -> Option<TunnelKind> {
    let kind = match resp_p {
        4789 => Some(TunnelKind::Vxlan),
        6081 => Some(TunnelKind::Geneve),
        2152 | 2123 => Some(TunnelKind::Gtpv1),
        5072 => Some(TunnelKind::Ayiya),
        3544 => Some(TunnelKind::Teredo),
        4754 => None,
        _ if tunnel::ayiya_detect(payload) => Some(TunnelKind::Ayiya),
        _ if teredo_state || tunnel::teredo_detect(payload) => Some(TunnelKind::Teredo),
        _ => None,
    };
    kind.filter(|_| !violated)
}

/// A direction-independent hash of a frame's outermost IP address pair, used
/// to pick a shard (so both directions, all fragments and every connection
/// between two hosts land on the same shard). Non-IP frames hash to 0.
pub fn shard_hash(linktype: u32, frame: &[u8]) -> u64 {
    let Ok(Some(l3)) = link::decode(linktype, frame) else {
        return 0;
    };
    let ip = l3.ip;
    let (a, b): (&[u8], &[u8]) = match ip.first().map(|v| v >> 4) {
        Some(4) if ip.len() >= 20 => (&ip[12..16], &ip[16..20]),
        Some(6) if ip.len() >= 40 => (&ip[8..24], &ip[24..40]),
        _ => return 0,
    };
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in lo.iter().chain(hi.iter()) {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    crate::conn::uid::mix(h)
}

fn l2ctx(l3: &L3<'_>) -> L2Ctx {
    L2Ctx {
        vlan: l3.vlan,
        inner_vlan: l3.inner_vlan,
        src: l3.src_mac,
        dst: l3.dst_mac,
    }
}

/// Hands a connection's payload to its passive-DNS state (after service
/// identification applied any role flip); rows go to the sink.
fn dns_payload<S: RecordSink>(
    cfg: &crate::dns::DnsConfig,
    conn: &mut Conn,
    ts: Ts,
    sender: (Addr, u16),
    payload: &[u8],
    sink: &mut S,
) {
    let ctx = crate::dns::ConnCtx {
        uid: conn.uid,
        id: (conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p),
        tcp: conn.transport == Transport::Tcp,
    };
    conn.dns_log
        .payload(cfg, &ctx, ts, sender, payload, &mut |o| {
            dns_out(sink, o, cfg.log)
        });
}

/// Routes one passive-DNS output to the sink (rows only when dns.log is on).
fn dns_out<S: RecordSink>(sink: &mut S, o: crate::dns::DnsOut, log: bool) {
    match o {
        crate::dns::DnsOut::Record(r) if log => sink.dns(r),
        crate::dns::DnsOut::Record(_) => {}
        crate::dns::DnsOut::Names(n) => sink.dns_names(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::linktype;
    use proptest::prelude::*;

    #[derive(Default)]
    struct Collect {
        conns: Vec<ConnRecord>,
        weirds: usize,
    }

    impl RecordSink for Collect {
        fn conn(&mut self, rec: ConnRecord) {
            self.conns.push(rec);
        }
        fn weird(&mut self, _w: WeirdRecord) {
            self.weirds += 1;
        }
    }

    const LINKTYPES: [u32; 10] = [
        linktype::ETHERNET,
        linktype::RAW,
        linktype::NULL,
        linktype::PPP,
        linktype::FDDI,
        linktype::LINUX_SLL,
        linktype::LINUX_SLL2,
        linktype::IEEE802_11_RADIOTAP,
        linktype::IPV4,
        linktype::IPV6,
    ];

    const T0: i64 = 1_704_067_200 * crate::time::SEC;
    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [93, 184, 216, 34];

    fn udp_frame(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .udp(sp, dp);
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).unwrap();
        v
    }

    /// A TCP segment; `flags` uses the SYN/ACK/FIN/RST bits of `tcp_flags`.
    #[allow(clippy::too_many_arguments)]
    fn tcp_frame(
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        use crate::decode::ip::tcp_flags as F;
        let mut b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 65535);
        if flags & F::SYN != 0 {
            b = b.syn();
        }
        if flags & F::ACK != 0 {
            b = b.ack(ack);
        }
        if flags & F::FIN != 0 {
            b = b.fin();
        }
        if flags & F::RST != 0 {
            b = b.rst();
        }
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).unwrap();
        v
    }

    fn run(frames: &[(i64, Vec<u8>)]) -> Vec<ConnRecord> {
        let mut e = Engine::new(EngineConfig::default(), Collect::default());
        for (t, f) in frames {
            e.process(&Packet {
                ts: Ts(T0 + t),
                wire_len: f.len() as u32,
                linktype: linktype::ETHERNET,
                data: f,
            });
        }
        e.finish();
        e.into_sink().conns
    }

    const MS: i64 = 1_000_000;

    #[test]
    fn memory_caps_split_the_budget() {
        let c = memory_caps(128, 1, false).unwrap();
        eprintln!("caps {c:?} stats {}", conn_bytes(true));
        assert!(c.conn_bytes > 1024 && c.conn_bytes < 4096);
        assert_eq!(c.frag_bytes, (112 << 20) / 8);
        assert!(c.max_conns as u64 * c.conn_bytes + c.frag_bytes as u64 <= 112 << 20);
        let two = memory_caps(128, 2, false).unwrap();
        assert!(two.max_conns < c.max_conns / 2);
        assert!(memory_caps(8, 1, false).is_err());
        let mut cfg = EngineConfig {
            max_conns: 10,
            ..EngineConfig::default()
        };
        cfg.apply_caps(&c);
        assert_eq!(cfg.max_conns, 10);
        assert_eq!(cfg.frag.max_bytes, c.frag_bytes);
    }

    #[test]
    fn udp_inactivity_boundary_is_inclusive() {
        let s = crate::time::SEC;
        let recs = run(&[
            (0, udp_frame(A, B, 40000, 4200, b"a")),
            (60 * s - 1, udp_frame(A, B, 40000, 4200, b"b")), // 59.999999999 s later: same connection
            (120 * s - 1, udp_frame(A, B, 40000, 4200, b"c")), // exactly 60 s after the last: a new one
        ]);
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].conn.orig_pkts, recs[1].conn.orig_pkts), (2, 1));
        assert_eq!(recs[0].conn.conn_state(), "S0");
        assert_eq!(recs[1].conn.start, Ts(T0 + 120 * s - 1));
    }

    #[test]
    fn tcp_attempt_timer_ends_unanswered_syn_after_5s() {
        use crate::decode::ip::tcp_flags as F;
        let s = crate::time::SEC;
        let recs = run(&[
            (0, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")),
            (3 * s, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")), // retransmission: same connection
            (9 * s, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")), // attempt timer fired at 5 s
        ]);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].conn.conn_state(), "S0");
        assert_eq!(recs[0].conn.history.as_bytes(), b"S");
        assert_eq!(recs[0].conn.orig_pkts, 2);
        assert_eq!(recs[1].conn.orig_pkts, 1);
    }

    #[test]
    fn closed_connection_removed_after_close_delay_and_reused_by_new_syn() {
        use crate::decode::ip::tcp_flags as F;
        let s = crate::time::SEC;
        let (c, sv) = (40000, 4100);
        let recs = run(&[
            (0, tcp_frame(A, B, c, sv, 100, 0, F::SYN, b"")),
            (MS, tcp_frame(B, A, sv, c, 500, 101, F::SYN | F::ACK, b"")),
            (2 * MS, tcp_frame(A, B, c, sv, 101, 501, F::ACK, b"")),
            (3 * MS, tcp_frame(A, B, c, sv, 101, 501, F::ACK, b"hello")),
            (
                4 * MS,
                tcp_frame(B, A, sv, c, 501, 106, F::ACK | F::FIN, b""),
            ),
            (
                5 * MS,
                tcp_frame(A, B, c, sv, 106, 502, F::ACK | F::FIN, b""),
            ),
            (6 * MS, tcp_frame(B, A, sv, c, 502, 107, F::ACK, b"")), // trailing ACK: not in duration
            // A new SYN on the closed connection starts a new one (reuse).
            (s, tcp_frame(A, B, c, sv, 9000, 0, F::SYN, b"")),
        ]);
        assert_eq!(recs.len(), 2);
        let r = &recs[0].conn;
        assert_eq!(r.conn_state(), "SF");
        // The responder's first pure ACK is the trailing one.
        assert_eq!(r.history.as_bytes(), b"ShADfFa");
        assert_eq!(r.sizes(), (5, 0));
        assert_eq!(r.last, Ts(T0 + 5 * MS));
        assert_eq!((r.orig_pkts, r.resp_pkts), (4, 3));
        assert_eq!(recs[1].conn.conn_state(), "S0");
    }

    #[test]
    fn close_delay_removes_five_seconds_after_last_activity() {
        use crate::decode::ip::tcp_flags as F;
        let s = crate::time::SEC;
        let (c, sv) = (40000, 4100);
        let recs = run(&[
            (0, tcp_frame(A, B, c, sv, 100, 0, F::SYN, b"")),
            (MS, tcp_frame(B, A, sv, c, 500, 101, F::RST | F::ACK, b"")), // rejected
            (5 * s + MS - 1, udp_frame(A, B, 1, 2, b"x")),                // clock tick: not yet 5 s
            (5 * s + MS, tcp_frame(B, A, sv, c, 500, 101, F::ACK, b"")), // exactly 5 s: removed first
        ]);
        let tcp: Vec<_> = recs
            .iter()
            .filter(|r| r.conn.transport == Transport::Tcp)
            .collect();
        assert_eq!(tcp.len(), 2);
        assert_eq!(tcp[0].conn.conn_state(), "REJ");
        assert_eq!(tcp[0].conn.history.as_bytes(), b"Sr");
        // A new connection whose first packet (an ACK) came from the old responder.
        assert_eq!(tcp[1].conn.history.as_bytes(), b"A");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..200), lt in 0usize..10, wire_extra in 0u32..64) {
            let mut e = Engine::new(EngineConfig::default(), Collect::default());
            let p = Packet { ts: Ts(1_000_000_000), wire_len: data.len() as u32 + wire_extra, linktype: LINKTYPES[lt], data: &data };
            e.process(&p);
            e.finish();
        }

        /// Valid-looking IPv4/IPv6 headers with random contents after them, to get past the first checks.
        #[test]
        fn decode_never_panics_on_ip_shaped_bytes(mut data in proptest::collection::vec(any::<u8>(), 20..120), v6 in any::<bool>(), proto in prop::sample::select(vec![1u8, 4, 6, 17, 41, 47, 58, 50, 132])) {
            if v6 {
                data.resize(data.len().max(48), 0);
                data[0] = 0x60;
                let plen = (data.len() - 40) as u16;
                data[4..6].copy_from_slice(&plen.to_be_bytes());
                data[6] = proto;
            } else {
                data[0] = 0x45;
                let tl = data.len() as u16;
                data[2..4].copy_from_slice(&tl.to_be_bytes());
                data[6] = 0;
                data[7] = 0;
                data[9] = proto;
            }
            let mut cfg = EngineConfig::default();
            cfg.conn.ignore_checksums = true;
            let mut e = Engine::new(cfg, Collect::default());
            let p = Packet { ts: Ts(1_000_000_000), wire_len: data.len() as u32, linktype: linktype::RAW, data: &data };
            e.process(&p);
            // Twice, so the second packet meets existing connection state.
            let p2 = Packet { ts: Ts(2_000_000_000), ..p };
            e.process(&p2);
            e.finish();
        }
    }

    /// Fuzzing (fuzz/ target `engine`, a 232-byte input): a packet stamped
    /// at the end of representable time (a pcapng `if_tsoffset` can give
    /// one) hung the engine: the next periodic row, saturating at
    /// `i64::MAX`, was never after `now`. And a capture jumping years ahead
    /// stepped through every missed interval one by one.
    #[test]
    fn periodic_rows_survive_time_at_the_end_and_huge_jumps() {
        let f = udp_frame(A, B, 40000, 4201, b"x");
        let mut cfg = EngineConfig {
            stats_interval: 1,
            capture_loss_interval: 1,
            interim_interval: 1,
            ..EngineConfig::default()
        };
        cfg.conn.flow_stats = true;
        let mut e = Engine::new(cfg, Collect::default());
        let start = std::time::Instant::now();
        // 4e9 s apart (the whole u32 range of pcap seconds), then the end of time.
        for ts in [
            0,
            4_000_000_000 * crate::time::SEC,
            i64::MAX - 5,
            i64::MAX,
            i64::MAX,
        ] {
            e.process(&Packet {
                ts: Ts(ts),
                wire_len: f.len() as u32,
                linktype: linktype::ETHERNET,
                data: &f,
            });
        }
        e.finish();
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        // One connection per distant time (each earlier one timed out).
        assert_eq!(e.into_sink().conns.len(), 3);
        assert_eq!(
            Ts(0).next_after(Ts(299 * crate::time::SEC), 300),
            Ts(300 * crate::time::SEC)
        );
        assert_eq!(
            Ts(0).next_after(Ts(300 * crate::time::SEC), 300),
            Ts(600 * crate::time::SEC)
        );
        assert_eq!(Ts(i64::MAX - 1).next_after(Ts(i64::MAX), 1), NEVER);
    }
}
