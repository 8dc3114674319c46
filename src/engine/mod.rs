//! The single-shard engine: one packet in, connection records out.
//!
//! Owns the per-shard stages in order: link decode → IP (with bounded
//! fragment reassembly) → tunnels → flow table → connection semantics →
//! service identification, and hands every removed connection, as a
//! [`ConnRecord`], to a [`RecordSink`]. Time is the packet time passed in;
//! timers due at or before a packet run before it (Zeek's rule).
//!
//! Split: `transport` (the per-transport handlers, UDP tunnel choice,
//! passive DNS hand-off), `periodic` (the schedule of periodic rows),
//! `shard` (which shard a packet goes to with `-j N`: [`shard_hash`]).
//!
//! Must not: know about threads, files or formats (the pipeline and the
//! writers do), or allocate per packet on the common path.

use crate::capture::Packet;
use crate::conn::service::Expect;
use crate::conn::uid::Uid;
use crate::conn::{Conn, ConnConfig, ConnInit, Encap, Transport, MAX_TUNNEL_DEPTH};
use crate::decode::frag::{FragLimits, Reassembler};
use crate::decode::ip::{self, IpPacket};
use crate::decode::link::{self, L3};
use crate::decode::tunnel::{self, InnerLink, TunnelKind};
use crate::decode::weird::Analyzer;
use crate::decode::{Addr, Weird};
use crate::flow::{FlowKey, FlowTable};
use crate::record::{
    capture_loss_percent, CaptureLossRecord, ConnRecord, StatsRecord, WeirdRecord,
};
use crate::time::Ts;
use weirds::WeirdSampler;

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

mod periodic;

pub use periodic::{Due, Periodic, NEVER};

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
/// decides; counted as a TCP connection's with payload, see
/// [`crate::conn::service::undecided_bytes`]), flow statistics when on,
/// history letters, its index bucket (load at most 1/2), age entry and a few
/// timer entries, plus a quarter for allocator slack. About 1.7 KB by
/// default (the README's measured 1.56 KB per open connection of the
/// generated 3 M-packet capture).
pub fn conn_bytes(flow_stats: bool) -> u64 {
    use std::mem::size_of;
    let slot = size_of::<Conn>() + size_of::<FlowKey>() + 16;
    let boxed = crate::conn::service::undecided_bytes();
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

/// The engine.
pub struct Engine<S: RecordSink> {
    cfg: EngineConfig,
    table: FlowTable,
    frag: Reassembler,
    frag_buf: Vec<u8>,
    expects: Vec<(Expect, Addr, Addr, Ts)>,
    /// The expectations of the payload being inspected (reused, so the
    /// packet path does not allocate).
    expect_buf: Vec<Expect>,
    weirds: WeirdSampler,
    /// Connections touched by the current packet (for their weirds).
    touched: Vec<u32>,
    /// The current packet's UDP length mismatches, `(slot, UDP length, IP
    /// payload length)`: `UDP_datagram_length_mismatch`'s addl, built only
    /// if the weird is logged (cleared after every packet; its capacity
    /// is reused).
    udp_lengths: Vec<(u32, u16, u32)>,
    sink: S,
    now: Ts,
    last_frag_expire: Ts,
    /// stats.log rows, and the counters at the last row.
    stats_rows: Periodic,
    stats_base: EngineStats,
    /// capture_loss.log rows.
    loss_rows: Periodic,
    /// conn_long.log (interim) rows.
    interim_rows: Periodic,
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
            stats_rows: Periodic::new(cfg.stats_interval),
            loss_rows: Periodic::new(cfg.capture_loss_interval),
            interim_rows: Periodic::new(cfg.interim_interval),
            frag: Reassembler::new(cfg.frag),
            cfg,
            table,
            frag_buf: Vec::new(),
            expects: Vec::new(),
            expect_buf: Vec::new(),
            weirds: WeirdSampler::default(),
            touched: Vec::new(),
            udp_lengths: Vec::new(),
            sink,
            now: Ts(0),
            last_frag_expire: Ts(0),
            stats_base: EngineStats::default(),
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
        self.udp_lengths.clear();
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
        if let Some(d) = self.stats_rows.tick(now) {
            self.emit_stats(d.due);
        }
        if let Some(d) = self.interim_rows.tick(now) {
            self.emit_interim(d.due);
        }
        if let Some(d) = self.loss_rows.tick(now) {
            self.emit_capture_loss(d.start, d.due);
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
            self.stats_rows.next_due(),
            self.interim_rows.next_due(),
            self.loss_rows.next_due(),
        ];
        self.wake = rows.into_iter().flatten().min().unwrap_or(Ts(i64::MAX));
    }

    /// End of input: every open connection is logged, oldest first, then a
    /// last stats row.
    pub fn finish(&mut self) {
        for slot in self.table.slots_by_age() {
            self.remove(slot);
        }
        if self.cfg.stats_interval > 0 && self.stats_rows.next_due().is_some() {
            let now = self.now;
            self.emit_stats(now);
        }
        if let Some(start) = self.loss_rows.start() {
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
            percent_lost: capture_loss_percent(gaps, acks),
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
            kafka: None,
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
            conn.shed_analyzers();
            let mut rec = ConnRecord::new(conn, &self.cfg.conn);
            rec.logged_at = now;
            self.sink.conn(rec);
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
                for w in crate::decode::frag::fragment_weirds(&ipp)
                    .into_iter()
                    .flatten()
                {
                    self.flow_weird(ts, w, ipp.src, ipp.dst);
                }
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
                    // Reassembled datagrams are already validated: no header
                    // checksum check. The rebuilt header can still be wrong:
                    // an IPv6 payload length past 65,535 wraps as Zeek's
                    // `htons` does (`src/Frag.cc`), and `IP.cc` then drops the
                    // datagram with a weird (`invalid_IP_header_size`).
                    match ip::parse(&buf, len, true) {
                        Ok(whole) => self.dispatch(ts, &whole, encap, l2, depth, len),
                        Err(w) => self.weird(ts, w, None),
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
            // IGMP goes to Zeek's IGMP packet analyzer, registered for IP
            // protocol 2 in every mode (`scripts/base/packet-protocols/igmp/
            // main.zeek`, `src/packet_analysis/protocol/igmp/`): it is not a
            // transport analyzer, so IGMP makes no connection.
            2 => {}
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
            // Zeek's IPTunnel analyzer checks the depth for IP-in-IP and
            // for GRE's inner packet alike (`IPTunnel.cc`).
            let w = Weird::ExceededTunnelMaxDepth(Analyzer::IpTunnel);
            return self.weird(ts, w, None);
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
                    _ => return self.weird(ts, Weird::InvalidInnerIp(Analyzer::IpTunnel), None),
                };
                if total != data.len() {
                    return self.weird(ts, Weird::InvalidInnerIp(Analyzer::IpTunnel), None);
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
        // (the port first: most expectations differ there, and it costs
        // no address conversion)
        let pos = self.expects.iter().position(|(x, o, r, _)| {
            x.resp_port == conn.resp_p
                && x.resp_host.map(Addr::from_ip).unwrap_or(*r) == conn.resp_h
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
}

fn l2ctx(l3: &L3<'_>) -> L2Ctx {
    L2Ctx {
        vlan: l3.vlan,
        inner_vlan: l3.inner_vlan,
        src: l3.src_mac,
        dst: l3.dst_mac,
    }
}

mod shard;
mod transport;
mod weirds;

pub use shard::shard_hash;
use transport::dns_out;
pub use transport::udp_tunnel_kind;

#[cfg(test)]
mod tests;
