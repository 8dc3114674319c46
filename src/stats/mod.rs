//! Per-connection flow statistics: the values behind flowmeter.log and the
//! optional conn.log extras (`--conn-extras`). Field definitions are in
//! `docs/FEATURES.md`; this module is their implementation.
//!
//! Owns [`FlowStats`], a fixed-size accumulator boxed per connection: O(1)
//! memory and O(1) work per packet. What every flow needs is inline and
//! compact (byte-length moments share their count and keep 32-bit extremes);
//! what only flows with an idle gap or a finished bulk transfer need
//! (active/idle periods, bulk totals) is one small box allocated the first
//! time such an event happens, at most once per connection. The connection
//! calls [`FlowStats::observe`] once for every packet it counts in
//! `orig_pkts`/`resp_pkts` (so after Zeek's checksum checks), with the
//! packet's final direction, and [`FlowStats::flip`] whenever it swaps
//! originator and responder. At logging time [`FlowStats::features`] turns
//! the accumulators into [`FlowFeatures`] given the connection's start and
//! last time.
//!
//! Must not: decide which packets belong to a connection or which side is the
//! originator (the connection does), read clocks, or format logs.
//!
//! Means and standard deviations come from exact integer moments
//! ([`moments::Moments`]): every input is an integer (bytes, or nanoseconds),
//! so nothing is rounded until the final division.

pub mod moments;

use crate::decode::ip::{IpPacket, Tcp};
use crate::time::{Ts, SEC};
use moments::{Moments, Summary};

/// A flow gap longer than this starts a new subflow (zeek-flowmeter's
/// `subflow_max_iat`, 1 s).
pub const SUBFLOW_GAP_NS: i64 = SEC;
/// Consecutive same-direction data packets closer than this belong to the
/// same bulk candidate (zeek-flowmeter's `bulk_timeout`, 1 s).
pub const BULK_TIMEOUT_NS: i64 = SEC;
/// A bulk candidate with at least this many packets is a bulk transfer
/// (zeek-flowmeter's `bulk_min_length`).
pub const BULK_MIN_PKTS: u64 = 5;
/// A flow gap longer than this is an idle period and ends an active period
/// (zeek-flowmeter's `active_timeout`, 5 s).
pub const ACTIVE_TIMEOUT_NS: i64 = 5 * SEC;

/// TCP flag bits as they appear in the header's flag byte (the decode
/// stage's constants).
pub use crate::decode::ip::tcp_flags as flag;

/// The TCP header facts the statistics need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpObs {
    /// The flag byte (header byte 13: CWR ECE URG ACK PSH RST SYN FIN).
    pub flags: u8,
    /// The advertised window exactly as in the header (not scaled).
    pub window: u16,
    /// The sequence number.
    pub seq: u32,
}

impl TcpObs {
    /// The facts of a decoded TCP header.
    pub fn from_tcp(t: &Tcp<'_>) -> TcpObs {
        TcpObs {
            flags: t.flags,
            window: t.window,
            seq: t.seq,
        }
    }
}

/// One counted packet as the statistics see it. All lengths are wire
/// lengths taken from the headers (not the captured length), of the IP packet
/// the connection is keyed on: for tunnelled traffic the inner packet, for
/// fragmented datagrams the reassembled datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketObs {
    /// Packet time (for a reassembled datagram: the completing fragment's).
    pub ts: Ts,
    /// Sent by the originator, as the connection decides it for this packet
    /// (after any flip the packet itself caused).
    pub is_orig: bool,
    /// IP length: IPv4 total length, IPv6 40 + payload length (Zeek's `TotalLen`,
    /// the value summed into `orig_ip_bytes`/`resp_ip_bytes`).
    pub ip_len: u32,
    /// IP header length including IPv6 extension headers.
    pub ip_hdr_len: u32,
    /// Transport header length: TCP data offset × 4 (options included), 8
    /// for UDP, ICMP and ICMPv6, 0 for other IP protocols.
    pub l4_hdr_len: u32,
    /// Transport payload: `ip_len − ip_hdr_len − l4_hdr_len` (saturating at 0).
    pub payload_len: u32,
    /// TCP header facts; `None` for other transports.
    pub tcp: Option<TcpObs>,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

impl PacketObs {
    /// Builds the observation of a packet from its IP view. `l4_hdr_len` is
    /// the transport header length (see the field), `tcp` the TCP facts.
    pub fn from_ip(
        ts: Ts,
        is_orig: bool,
        ip: &IpPacket<'_>,
        l4_hdr_len: u32,
        tcp: Option<TcpObs>,
    ) -> PacketObs {
        let ip_hdr_len = ip.hdr_len as u32;
        PacketObs {
            ts,
            is_orig,
            ip_len: ip.total_len,
            ip_hdr_len,
            l4_hdr_len,
            payload_len: ip
                .total_len
                .saturating_sub(ip_hdr_len)
                .saturating_sub(l4_hdr_len),
            tcp,
            ttl: ip.ttl,
        }
    }
}

/// TCP flag counters, indexed by bit position (FIN = 0 … CWR = 7).
type FlagCounts = [u64; 8];

/// Sum, sum of squares and extremes of 32-bit samples whose count is kept
/// by the owner ([`Dir::n`]): the same accumulator as [`Moments`], stored in
/// 32 bytes instead of 48 ([`LenAcc::moments`] rebuilds the `Moments`).
#[derive(Clone, Copy, Debug, Default)]
struct LenAcc {
    sum: u64,
    sumsq: u128,
    min: u32,
    max: u32,
}

impl LenAcc {
    /// Adds one sample; `first` when it is the owner's first sample.
    #[inline]
    fn add(&mut self, x: u32, first: bool) {
        if first {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let x = x as u64;
        self.sum = self.sum.wrapping_add(x);
        self.sumsq = self.sumsq.wrapping_add(x as u128 * x as u128);
    }

    /// The accumulator as [`Moments`] of `n` samples.
    fn moments(&self, n: u64) -> Moments {
        Moments {
            n,
            sum: self.sum,
            sumsq: self.sumsq,
            min: self.min as u64,
            max: self.max as u64,
        }
    }
}

/// Accumulators for one direction.
#[derive(Clone, Copy, Debug, Default)]
struct Dir {
    /// Packets counted in this direction.
    n: u64,
    /// Payload lengths.
    payload: LenAcc,
    /// IP lengths.
    ip_len: LenAcc,
    /// Gaps between consecutive packets of this direction, ns.
    iat: Moments,
    /// Time of the latest packet (valid when `payload.n > 0`).
    last_ts: i64,
    /// Packets with payload.
    data_pkts: u64,
    /// Transport header lengths: total, min, max.
    hdr_tot: u64,
    hdr_min: u32,
    hdr_max: u32,
    /// TCP flags seen, per bit.
    flags: FlagCounts,
    /// Window of the first / latest TCP packet.
    init_win: u16,
    last_win: u16,
    /// TTL range.
    ttl_min: u8,
    ttl_max: u8,
    /// Retransmitted packets and the highest sequence end seen.
    retrans: u64,
    seq_end: u32,
    seq_valid: bool,
}

/// Finished bulk transfers of one direction: how many, their packets, bytes
/// and durations (ns).
#[derive(Clone, Copy, Debug, Default)]
struct BulkTotals {
    count: u64,
    pkts: u64,
    bytes: u64,
    ns: u64,
}

/// What only some flows need: finished active periods (≥ 2 packets) and
/// idle gaps (ns), both non-empty only after a gap longer than
/// [`ACTIVE_TIMEOUT_NS`], and finished bulk transfers per direction.
#[derive(Clone, Copy, Debug, Default)]
struct Rare {
    active: Moments,
    idle: Moments,
    bulk: [BulkTotals; 2],
}

/// A run of consecutive same-direction data packets (a bulk candidate).
#[derive(Clone, Copy, Debug, Default)]
struct BulkRun {
    /// Side (0 originator, 1 responder).
    side: u8,
    pkts: u64,
    bytes: u64,
    /// Sum of the gaps inside the run, ns.
    ns: u64,
    /// Time of the run's latest packet.
    last_ts: i64,
}

/// "Not seen" for [`Handshake`]'s sides.
const NO_SIDE: u8 = 0xff;

/// TCP handshake timing state (40 bytes: the sides say which times are set).
#[derive(Clone, Copy, Debug)]
struct Handshake {
    /// Time of the latest SYN before the first SYN-ACK (valid when
    /// `syn_side` is a side).
    syn_t: i64,
    /// Time of the SYN-ACK side's latest SYN-ACK before the handshake ACK
    /// (valid when `synack_side` is a side).
    synack_t: i64,
    /// SYN → SYN-ACK, ns (valid when `have_syn_synack`).
    rtt_syn_synack: u64,
    /// SYN-ACK → ACK, ns (valid when `have_synack_ack`).
    rtt_synack_ack: u64,
    /// Side of that SYN, or [`NO_SIDE`].
    syn_side: u8,
    /// Side of the first SYN-ACK, or [`NO_SIDE`].
    synack_side: u8,
    have_syn_synack: bool,
    have_synack_ack: bool,
}

impl Default for Handshake {
    fn default() -> Self {
        Handshake {
            syn_t: 0,
            synack_t: 0,
            rtt_syn_synack: 0,
            rtt_synack_ack: 0,
            syn_side: NO_SIDE,
            synack_side: NO_SIDE,
            have_syn_synack: false,
            have_synack_ack: false,
        }
    }
}

/// A connection's flow statistics accumulators (fixed size; [`Rare`] out of
/// line, allocated once when first needed).
#[derive(Clone, Debug, Default)]
pub struct FlowStats {
    /// Index 0: originator, 1: responder.
    dir: [Dir; 2],
    /// Gaps between consecutive packets of the flow, ns.
    flow_iat: Moments,
    /// Time of the flow's latest packet.
    last_ts: i64,
    /// Flow gaps longer than [`SUBFLOW_GAP_NS`].
    subflow_breaks: u64,
    /// Current active period: packets and summed gaps.
    run_pkts: u64,
    run_ns: u64,
    /// Current bulk candidate.
    bulk: BulkRun,
    hs: Handshake,
    /// Active/idle periods and bulk totals: `None` until the first idle gap
    /// or finished bulk transfer.
    rare: Option<Box<Rare>>,
}

#[inline]
fn side(is_orig: bool) -> usize {
    if is_orig {
        0
    } else {
        1
    }
}

/// Non-negative gap in ns (timestamps going backwards count as 0).
#[inline]
fn gap(now: i64, before: i64) -> u64 {
    now.saturating_sub(before).max(0) as u64
}

impl FlowStats {
    /// Packets counted so far, both directions.
    pub fn packets(&self) -> u64 {
        self.dir[0].n + self.dir[1].n
    }

    /// Accounts one counted packet.
    pub fn observe(&mut self, o: &PacketObs) {
        let t = o.ts.0;
        let s = side(o.is_orig);
        let payload = o.payload_len as u64;

        // Flow timing: IAT, subflows, active/idle.
        if self.packets() > 0 {
            let g = gap(t, self.last_ts);
            self.flow_iat.add(g);
            if g > SUBFLOW_GAP_NS as u64 {
                self.subflow_breaks += 1;
            }
            if g > ACTIVE_TIMEOUT_NS as u64 {
                let rare = self.rare.get_or_insert_with(Box::default);
                rare.idle.add(g);
                if self.run_pkts >= 2 {
                    rare.active.add(self.run_ns);
                }
                self.run_pkts = 1;
                self.run_ns = 0;
            } else {
                self.run_pkts += 1;
                self.run_ns += g;
            }
        } else {
            self.run_pkts = 1;
            self.run_ns = 0;
        }
        self.last_ts = t;

        // Bulk candidates: consecutive data packets of one direction.
        if payload > 0 {
            let b = &mut self.bulk;
            let g = gap(t, b.last_ts);
            if b.pkts > 0 && b.side as usize == s && g < BULK_TIMEOUT_NS as u64 {
                b.pkts += 1;
                b.bytes += payload;
                b.ns += g;
                b.last_ts = t;
            } else {
                if self.bulk.pkts >= BULK_MIN_PKTS {
                    let rare = self.rare.get_or_insert_with(Box::default);
                    Self::close_bulk(&mut rare.bulk, &self.bulk);
                }
                self.bulk = BulkRun {
                    side: s as u8,
                    pkts: 1,
                    bytes: payload,
                    ns: 0,
                    last_ts: t,
                };
            }
        }

        // Per direction.
        let d = &mut self.dir[s];
        let first = d.n == 0;
        if !first {
            d.iat.add(gap(t, d.last_ts));
        }
        d.last_ts = t;
        d.n += 1;
        d.payload.add(o.payload_len, first);
        d.ip_len.add(o.ip_len, first);
        if payload > 0 {
            d.data_pkts += 1;
        }
        d.hdr_tot += o.l4_hdr_len as u64;
        if first {
            d.hdr_min = o.l4_hdr_len;
            d.hdr_max = o.l4_hdr_len;
            d.ttl_min = o.ttl;
            d.ttl_max = o.ttl;
        } else {
            d.hdr_min = d.hdr_min.min(o.l4_hdr_len);
            d.hdr_max = d.hdr_max.max(o.l4_hdr_len);
            d.ttl_min = d.ttl_min.min(o.ttl);
            d.ttl_max = d.ttl_max.max(o.ttl);
        }

        let Some(tcp) = o.tcp else { return };
        let f = tcp.flags;
        for (bit, c) in d.flags.iter_mut().enumerate() {
            *c += ((f >> bit) & 1) as u64;
        }
        if first {
            d.init_win = tcp.window;
        }
        d.last_win = tcp.window;
        let syn = f & flag::SYN != 0;
        let ack = f & flag::ACK != 0;
        let rst = f & flag::RST != 0;
        let fin = f & flag::FIN != 0;
        if !rst {
            // Retransmission: payload that does not extend the side's highest
            // sequence end (serial-number arithmetic).
            let end = tcp
                .seq
                .wrapping_add(o.payload_len)
                .wrapping_add(syn as u32)
                .wrapping_add(fin as u32);
            if d.seq_valid {
                let delta = end.wrapping_sub(d.seq_end) as i32;
                if delta > 0 {
                    d.seq_end = end;
                } else if payload > 0 {
                    d.retrans += 1;
                }
            } else {
                d.seq_valid = true;
                d.seq_end = end;
            }
            self.handshake(s as u8, t, syn, ack);
        }
    }

    /// Handshake timing for a non-RST TCP packet from side `s`.
    fn handshake(&mut self, s: u8, t: i64, syn: bool, ack: bool) {
        let h = &mut self.hs;
        let synack = (h.synack_side != NO_SIDE).then_some((h.synack_side, h.synack_t));
        match (syn, ack, synack) {
            // SYN before any SYN-ACK: remember the latest.
            (true, false, None) => {
                h.syn_side = s;
                h.syn_t = t;
            }
            // The first SYN-ACK.
            (true, true, None) => {
                h.synack_side = s;
                h.synack_t = t;
                if h.syn_side != NO_SIDE && h.syn_side != s {
                    h.rtt_syn_synack = gap(t, h.syn_t);
                    h.have_syn_synack = true;
                }
            }
            // A repeated SYN-ACK from the same side before the ACK.
            (true, true, Some((sa, _))) if sa == s && !h.have_synack_ack => h.synack_t = t,
            // The ACK completing the handshake.
            (false, true, Some((sa, at))) if sa != s && !h.have_synack_ack => {
                h.rtt_synack_ack = gap(t, at);
                h.have_synack_ack = true;
            }
            _ => {}
        }
    }

    fn close_bulk(totals: &mut [BulkTotals; 2], b: &BulkRun) {
        if b.pkts >= BULK_MIN_PKTS {
            let d = &mut totals[b.side as usize];
            d.count += 1;
            d.pkts += b.pkts;
            d.bytes += b.bytes;
            d.ns += b.ns;
        }
    }

    /// Originator and responder swapped: every per-direction accumulator and
    /// every remembered side swaps.
    pub fn flip(&mut self) {
        self.dir.swap(0, 1);
        self.bulk.side ^= 1;
        if let Some(r) = &mut self.rare {
            r.bulk.swap(0, 1);
        }
        if self.hs.syn_side != NO_SIDE {
            self.hs.syn_side ^= 1;
        }
        if self.hs.synack_side != NO_SIDE {
            self.hs.synack_side ^= 1;
        }
    }

    /// The final values for a connection that started at `start` and was
    /// last active at `last` (conn.log's `ts` and `ts + duration`). Pending
    /// bulk candidates and the current active period are closed here; `self`
    /// is not changed.
    pub fn features(&self, start: Ts, last: Ts) -> FlowFeatures {
        let rare = self.rare.as_deref().copied().unwrap_or_default();
        let mut bulk = rare.bulk;
        Self::close_bulk(&mut bulk, &self.bulk);
        let mut active = rare.active;
        if self.run_pkts >= 2 {
            active.add(self.run_ns);
        }
        let duration_ns = last.0.saturating_sub(start.0).max(0);
        let dur = duration_ns as f64 / SEC as f64;
        let pkts = self.packets();
        let subflows = if pkts > 0 { 1 + self.subflow_breaks } else { 0 };
        let per_sec = |x: f64| if duration_ns > 0 { x / dur } else { 0.0 };
        let per_subflow = |x: f64| {
            if subflows > 0 {
                x / subflows as f64
            } else {
                0.0
            }
        };
        let one = |d: &Dir, b: &BulkTotals| {
            let n = d.n;
            let payload = d.payload.moments(n);
            DirFeatures {
                pkts: n,
                data_pkts: d.data_pkts,
                pkts_per_sec: per_sec(n as f64),
                hdr_tot: d.hdr_tot,
                hdr_min: d.hdr_min as u64,
                hdr_max: d.hdr_max as u64,
                psh: d.flags[3],
                urg: d.flags[5],
                payload: payload.summary(1.0),
                iat: d.iat.summary(SEC as f64),
                subflow_pkts: per_subflow(n as f64),
                subflow_bytes: per_subflow(payload.sum as f64),
                bulk_bytes: if b.count > 0 {
                    b.bytes as f64 / b.count as f64
                } else {
                    0.0
                },
                bulk_packets: if b.count > 0 {
                    b.pkts as f64 / b.count as f64
                } else {
                    0.0
                },
                bulk_rate: if b.ns > 0 {
                    b.bytes as f64 / (b.ns as f64 / SEC as f64)
                } else {
                    0.0
                },
                init_win: d.init_win as u64,
                last_win: d.last_win as u64,
                pkt_len: d.ip_len.moments(n).summary(1.0),
                retrans: d.retrans,
                ttl_min: d.ttl_min as u64,
                ttl_max: d.ttl_max as u64,
            }
        };
        let (o, r) = (&self.dir[0], &self.dir[1]);
        let flag = |bit: usize| o.flags[bit] + r.flags[bit];
        let flow_payload = o.payload.moments(o.n).merged(&r.payload.moments(r.n));
        FlowFeatures {
            duration_ns,
            fwd: one(o, &bulk[0]),
            bwd: one(r, &bulk[1]),
            flow_pkts_per_sec: per_sec(pkts as f64),
            down_up_ratio: if o.n > 0 {
                r.n as f64 / o.n as f64
            } else {
                0.0
            },
            fin: flag(0),
            syn: flag(1),
            rst: flag(2),
            ack: flag(4),
            ece: flag(6),
            cwr: flag(7),
            flow_payload: flow_payload.summary(1.0),
            flow_iat: self.flow_iat.summary(SEC as f64),
            payload_bytes_per_second: per_sec(flow_payload.sum as f64),
            subflows,
            active: active.summary(SEC as f64),
            idle: rare.idle.summary(SEC as f64),
            rtt_syn_synack: (self.hs.have_syn_synack)
                .then(|| self.hs.rtt_syn_synack as f64 / SEC as f64),
            rtt_synack_ack: (self.hs.have_synack_ack)
                .then(|| self.hs.rtt_synack_ack as f64 / SEC as f64),
        }
    }
}

/// Final per-direction values (see `docs/FEATURES.md` for each).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DirFeatures {
    /// Packets (`*_pkts_tot`).
    pub pkts: u64,
    /// Packets with transport payload > 0 (`*_data_pkts_tot`).
    pub data_pkts: u64,
    /// Packets per second of connection duration (`*_pkts_per_sec`).
    pub pkts_per_sec: f64,
    /// Transport header bytes, total (`*_header_size_tot`).
    pub hdr_tot: u64,
    /// Smallest transport header (`*_header_size_min`).
    pub hdr_min: u64,
    /// Largest transport header (`*_header_size_max`).
    pub hdr_max: u64,
    /// Packets with PSH (`*_PSH_flag_count`).
    pub psh: u64,
    /// Packets with URG (`*_URG_flag_count`).
    pub urg: u64,
    /// Transport payload per packet (`*_pkts_payload.*`).
    pub payload: Summary,
    /// Gaps between this direction's packets, seconds (`*_iat.*`).
    pub iat: Summary,
    /// Packets per subflow (`*_subflow_pkts`).
    pub subflow_pkts: f64,
    /// Payload bytes per subflow (`*_subflow_bytes`).
    pub subflow_bytes: f64,
    /// Mean payload bytes per bulk transfer (`*_bulk_bytes`).
    pub bulk_bytes: f64,
    /// Mean packets per bulk transfer (`*_bulk_packets`).
    pub bulk_packets: f64,
    /// Bulk payload bytes per second of bulk time (`*_bulk_rate`).
    pub bulk_rate: f64,
    /// Window field of the first TCP packet (`*_init_window_size`).
    pub init_win: u64,
    /// Window field of the last TCP packet (`*_last_window_size`).
    pub last_win: u64,
    /// IP length per packet (`*_pkt_len.*`; `tot` is conn.log's `*_ip_bytes`).
    pub pkt_len: Summary,
    /// Retransmitted TCP packets (`*_retrans_pkts`).
    pub retrans: u64,
    /// Smallest TTL / hop limit (`*_ttl_min`).
    pub ttl_min: u64,
    /// Largest TTL / hop limit (`*_ttl_max`).
    pub ttl_max: u64,
}

/// Final values of one connection (see `docs/FEATURES.md` for each).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FlowFeatures {
    /// Connection duration (`last − start`), ns (`flow_duration`).
    pub duration_ns: i64,
    /// Originator → responder.
    pub fwd: DirFeatures,
    /// Responder → originator.
    pub bwd: DirFeatures,
    /// Packets per second, both directions (`flow_pkts_per_sec`).
    pub flow_pkts_per_sec: f64,
    /// `bwd_pkts_tot / fwd_pkts_tot` (`down_up_ratio`).
    pub down_up_ratio: f64,
    /// Packets with FIN, both directions.
    pub fin: u64,
    /// Packets with SYN.
    pub syn: u64,
    /// Packets with RST.
    pub rst: u64,
    /// Packets with ACK.
    pub ack: u64,
    /// Packets with ECE.
    pub ece: u64,
    /// Packets with CWR.
    pub cwr: u64,
    /// Transport payload per packet, both directions (`flow_pkts_payload.*`).
    pub flow_payload: Summary,
    /// Gaps between consecutive packets, seconds (`flow_iat.*`).
    pub flow_iat: Summary,
    /// Payload bytes per second (`payload_bytes_per_second`).
    pub payload_bytes_per_second: f64,
    /// Number of subflows (0 for a connection without counted packets).
    pub subflows: u64,
    /// Active periods, seconds (`active.*`).
    pub active: Summary,
    /// Idle gaps, seconds (`idle.*`).
    pub idle: Summary,
    /// SYN → SYN-ACK, seconds (`tcp_rtt_syn_synack`; `None` when not seen).
    pub rtt_syn_synack: Option<f64>,
    /// SYN-ACK → ACK, seconds (`tcp_rtt_synack_ack`; `None` when not seen).
    pub rtt_synack_ack: Option<f64>,
}

#[cfg(test)]
mod tests;
