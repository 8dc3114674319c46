//! The TCP machine of one connection: Zeek's `TCPSessionAdapter` packet
//! path (checksum, `H` flip, endpoint init, history letters, window
//! tracking, acks, the endpoint state machine, content gaps and close).
//!
//! Must not: look up connections, touch service analyzers' payload or
//! statistics beyond what the connection counts.
//!
//! Files: `mod.rs` the segment, the packet path and its sequence, window,
//! history and acknowledgement phases; `state_machine.rs` the endpoint
//! state machine and close.

mod state_machine;

use super::endpoint::{seq_delta, EndpointState as ES, GapList, TcpState, TOO_LARGE_SEQ_DELTA};
use crate::conn::history::bit;
use crate::conn::{Conn, ConnConfig, ConnWeird, Timers};
use crate::decode::ip::{tcp_flags as F, IpPacket, Tcp};
use crate::stats::TcpObs;
use crate::time::Ts;

/// One TCP segment as the machine sees it, built once per packet.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// From the originator (after any `H` flip).
    is_orig: bool,
    syn: bool,
    fin: bool,
    rst: bool,
    ack: bool,
    /// Payload length on the wire.
    len: u32,
    /// Payload bytes captured.
    caplen: u32,
    /// Sequence number.
    seq: u32,
    /// Acknowledgement number.
    ack_seq: u32,
    /// Sequence space the segment takes (payload, SYN, FIN; none for RST).
    seg_len: i64,
    /// `seq + seg_len`.
    seq_one_past: u32,
    /// Advertised window (unscaled).
    window: u16,
    /// The window-scale option (parsed on SYNs only).
    window_scale: Option<u8>,
}

impl Segment {
    #[inline]
    fn new(is_orig: bool, t: &Tcp<'_>) -> Segment {
        let flags = t.flags;
        let (syn, fin, rst) = (
            flags & F::SYN != 0,
            flags & F::FIN != 0,
            flags & F::RST != 0,
        );
        let len = t.payload_len;
        let mut seg_len = len as i64;
        if syn {
            seg_len += 1;
        }
        if fin {
            seg_len += 1;
        }
        if rst {
            seg_len -= len as i64;
        }
        Segment {
            is_orig,
            syn,
            fin,
            rst,
            ack: flags & F::ACK != 0,
            len,
            caplen: t.payload.len() as u32,
            seq: t.seq,
            ack_seq: t.ack,
            seg_len,
            seq_one_past: t.seq.wrapping_add(seg_len as u32),
            window: t.window,
            window_scale: if syn { t.window_scale() } else { None },
        }
    }
}

/// What one TCP segment did to its connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOutcome {
    /// The segment is the originator's (the `H` flip can change it).
    pub is_orig: bool,
    /// Its payload is new data worth showing to the analyzers.
    pub new_data: bool,
    /// Its capture-loss counts.
    pub loss: CaptureLoss,
    /// It closed its sender (FIN or RST: Zeek's `do_close`), so the
    /// analyzers' `ConnectionClosed` runs after its payload.
    pub closed: bool,
}

/// Capture-loss counts of one acknowledgement (Zeek's `get_gap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureLoss {
    /// Acknowledgements that advanced on an established connection.
    pub acks: u32,
    /// Of those, the ones that revealed missing data.
    pub gaps: u32,
}

/// The sequence number relative to the sender's start.
#[derive(Clone, Copy, Debug)]
struct RelSeq {
    seq: u64,
    /// Below the start (an old segment): not delivered.
    underflow: bool,
}

/// What `update_last_seq` found.
#[derive(Clone, Copy, Debug)]
struct LastSeq {
    retransmit: bool,
}
impl Conn {
    /// Whether this TCP packet, arriving for this connection, starts a new
    /// connection instead (Zeek's `TCPSessionAdapter::IsReuse`).
    pub fn tcp_is_reuse(&self, t: &Tcp<'_>) -> bool {
        if t.flags & F::SYN == 0 {
            return false;
        }
        let mut conn_orig = &self.tcp.orig;
        if t.flags & F::ACK != 0 {
            if self.tcp.orig.state != ES::Inactive {
                return false;
            }
            conn_orig = &self.tcp.resp;
        }
        if !self.tcp.is_closed() {
            if t.seq == conn_orig.start_seq {
                return false;
            }
            if t.flags & F::ACK == 0
                && conn_orig.state == ES::SynAckSent
                && self.tcp.resp.state == ES::Inactive
                && t.seq == self.tcp.resp.start_seq
            {
                return false;
            }
        }
        true
    }

    /// Whether the history is exactly `H` and this packet would add `A`/`D`:
    /// Zeek then flips the connection (the SYN-ACK came from the client side).
    pub fn tcp_wants_h_flip(&self, t: &Tcp<'_>) -> bool {
        self.history.as_bytes() == b"H"
            && t.flags & (F::SYN | F::FIN | F::RST) == 0
            && (t.payload_len > 0 || t.flags & F::ACK != 0)
    }

    /// Performs the `H` flip: roles swap and the history becomes `^h`.
    pub fn tcp_h_flip(&mut self) {
        self.flip_roles();
        self.history.set(b"^h");
    }

    /// Processes a TCP packet (after the connection lookup): Zeek's
    /// `TCPSessionAdapter::DeliverPacket`, one phase per step.
    pub fn tcp_packet(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'_>,
        t: &Tcp<'_>,
    ) -> TcpOutcome {
        let mut seg = Segment::new(is_orig, t);
        // Checksum (only on fully captured segments).
        if !cfg.ignore_checksums && seg.caplen >= seg.len && !ip.transport_checksum_ok(6) {
            self.tcp_bad_checksum(seg.is_orig);
            return TcpOutcome {
                is_orig: seg.is_orig,
                ..TcpOutcome::default()
            };
        }
        if self.tcp_wants_h_flip(t) {
            self.tcp_h_flip();
            seg.is_orig = !seg.is_orig;
        }
        self.tcp.set_partial_status(seg.syn, seg.ack, seg.is_orig);
        if self.init_endpoint(&seg) {
            self.raise(ConnWeird::SynSeqJump);
        }
        let rel = self.relative_seq(&seg);
        self.update_history(&seg, rel.seq);
        self.update_window(&seg);
        if !self.tcp.orig.did_close || !self.tcp.resp.did_close {
            self.last = now;
        }
        self.control_flags(&seg, rel.seq);
        let rel_ack = self.process_ack(&seg);
        let last_seq = self.update_last_seq(&seg);
        let close = self.update_state_machine(cfg, timers, now, &seg);
        let loss = match rel_ack {
            Some(rel_ack) => self.ack_received(cfg, &seg, rel_ack),
            None => CaptureLoss::default(),
        };
        // CheckPIA_FirstPacket: this side has now been seen.
        self.tcp.first_packet_seen |= if seg.is_orig { 1 } else { 2 };
        self.record_data_sent(&seg, rel);
        if close.close {
            self.connection_closed(cfg, timers, seg.is_orig, close.gen_event);
        }
        self.count(
            now,
            seg.is_orig,
            ip,
            t.hdr_len as u32,
            Some(TcpObs::from_tcp(t)),
        );
        if let Some(a) = self.service.analyzers.as_mut() {
            a.set_partial(self.tcp.is_partial);
        }
        TcpOutcome {
            is_orig: seg.is_orig,
            new_data: seg.len > 0 && !seg.rst && !last_seq.retransmit && !rel.underflow,
            loss,
            closed: close.close,
        }
    }

    /// A segment with a wrong checksum: the scaled `C` letter and the weird.
    fn tcp_bad_checksum(&mut self, is_orig: bool) {
        let (ep, _) = self.tcp.sides(is_orig);
        if ep.chk.hit() {
            self.history.add(if is_orig { b'C' } else { b'c' });
        }
        self.raise(ConnWeird::BadTcpChecksum);
    }

    /// Zeek's `init_endpoint`: the sender's initial sequence numbers. Returns
    /// whether a SYN moved the initial sequence (`SYN_seq_jump`).
    fn init_endpoint(&mut self, seg: &Segment) -> bool {
        let (ep, _) = self.tcp.sides(seg.is_orig);
        let (syn, base_seq, seq_one_past) = (seg.syn, seg.seq, seg.seq_one_past);
        let mut seq_jump = false;
        match ep.state {
            ES::Inactive => {
                let mut last = seq_one_past;
                if syn {
                    ep.init_ack_seq(base_seq);
                    ep.init_start_seq(base_seq);
                } else {
                    ep.init_ack_seq(base_seq.wrapping_sub(1));
                    ep.init_start_seq(base_seq.wrapping_sub(1));
                    last = base_seq;
                }
                ep.init_last_seq(last);
            }
            ES::SynSent | ES::SynAckSent => {
                if syn && base_seq != ep.start_seq {
                    seq_jump = true;
                    ep.init_start_seq(base_seq);
                    ep.init_ack_seq(base_seq);
                    ep.init_last_seq(seq_one_past);
                }
            }
            ES::Established | ES::Partial => {
                if syn {
                    seq_jump |= base_seq != ep.start_seq;
                    ep.init_start_seq(base_seq);
                    ep.init_ack_seq(base_seq);
                    ep.init_last_seq(seq_one_past);
                }
            }
            ES::Reset => {
                if syn && ep.prev_state == ES::Inactive {
                    ep.init_start_seq(base_seq);
                    ep.init_ack_seq(base_seq);
                    ep.init_last_seq(seq_one_past);
                }
            }
            ES::Closed => {}
        }
        seq_jump
    }

    /// The segment's sequence number relative to the sender's start.
    fn relative_seq(&mut self, seg: &Segment) -> RelSeq {
        let (ep, _) = self.tcp.sides(seg.is_orig);
        let (seq, underflow) =
            relative_seq(ep.start_seq, seg.seq, ep.last_seq, ep.seq_wraps, |s, w| {
                ep.to_relative(s, w)
            });
        RelSeq { seq, underflow }
    }

    /// Zeek's `update_history`: the flag letters, once or on a new sequence.
    fn update_history(&mut self, seg: &Segment, rel_seq: u64) {
        let (is_orig, syn, fin, rst) = (seg.is_orig, seg.syn, seg.fin, seg.rst);
        let bits = syn as u32 + fin as u32 + rst as u32;
        let sh = if is_orig { 0 } else { 16 };
        let lc = |c: u8| if is_orig { c } else { c.to_ascii_lowercase() };
        if bits > 1 {
            if fin && rst {
                self.history.check(bit::FIN_RST << sh, lc(b'I'));
            } else {
                self.history.check(bit::MULTI_FLAG << sh, lc(b'Q'));
            }
        } else if bits == 1 {
            let ep = if is_orig {
                &mut self.tcp.orig
            } else {
                &mut self.tcp.resp
            };
            if syn {
                let code = if seg.ack { b'H' } else { b'S' };
                if self.history.check(bit::SYN << sh, lc(code)) && rel_seq != ep.hist_last_syn {
                    self.history.add(lc(code));
                }
                ep.hist_last_syn = rel_seq;
            }
            if fin {
                let v = rel_seq.wrapping_add(seg.len as u64);
                if self.history.check(bit::FIN << sh, lc(b'F')) && v != ep.hist_last_fin {
                    self.history.add(lc(b'F'));
                }
                ep.hist_last_fin = v;
            }
            if rst {
                if self.history.check(bit::RST << sh, lc(b'R')) && rel_seq != ep.hist_last_rst {
                    self.history.add(lc(b'R'));
                }
                ep.hist_last_rst = rel_seq;
            }
        } else if seg.len > 0 {
            self.history.check(bit::DATA << sh, lc(b'D'));
        } else if seg.ack {
            self.history.check(bit::ACK << sh, lc(b'A'));
        }
    }

    /// Zeek's `update_window`: window tracking and the scaled `W` letter.
    fn update_window(&mut self, seg: &Segment) {
        let (ep, peer) = self.tcp.sides(seg.is_orig);
        let scale = ep.window_scale.min(14) as u32;
        let window = (seg.window as u32) << scale;
        let zero = window == 0 && !seg.rst && peer.state != ES::Closed && ep.state != ES::Reset;
        if !seg.syn
            && !seg.fin
            && !seg.rst
            && ep.state != ES::Closed
            && ep.state != ES::Reset
            && seq_delta(seg.seq, ep.window_seq) >= 0
            && seq_delta(seg.ack_seq, ep.window_ack_seq) >= 0
        {
            ep.window = window;
            ep.window_ack_seq = seg.ack_seq;
            ep.window_seq = seg.seq;
        }
        if zero && ep.win0.hit() {
            self.history.add(if seg.is_orig { b'W' } else { b'w' });
        }
    }

    /// SYN options and weirds, the FIN's sequence.
    fn control_flags(&mut self, seg: &Segment, rel_seq: u64) {
        if seg.syn {
            if seg.rst {
                self.raise(ConnWeird::TcpChristmas);
            }
            if seg.len > 0 {
                self.raise(ConnWeird::SynWithData);
            }
            let (ep, peer) = self.tcp.sides(seg.is_orig);
            match seg.window_scale {
                None => {
                    ep.window_scale = 0;
                    if seg.ack {
                        peer.window_scale = 0;
                    }
                }
                Some(s) => {
                    ep.window_scale = s.min(14);
                    ep.window_seq = seg.seq;
                    ep.window_ack_seq = seg.ack_seq;
                    peer.window_seq = seg.ack_seq;
                    peer.window_ack_seq = seg.seq;
                }
            }
        }
        if seg.fin {
            let (ep, _) = self.tcp.sides(seg.is_orig);
            ep.fin_seen = true;
            ep.fin_seq = rel_seq.wrapping_add(seg.seg_len as u64);
        }
    }

    /// The acknowledgement, relative to the peer's start (None without ACK);
    /// advances the peer's acknowledged sequence.
    fn process_ack(&mut self, seg: &Segment) -> Option<u64> {
        if !seg.ack {
            return None;
        }
        let ack_seq = seg.ack_seq;
        let (_, peer) = self.tcp.sides(seg.is_orig);
        if peer.state == ES::Inactive {
            let a = ack_seq.wrapping_sub(1);
            peer.init_start_seq(a);
            peer.init_ack_seq(a);
            peer.init_last_seq(a);
            return Some(1);
        }
        let (r, under) = relative_seq(
            peer.start_seq,
            ack_seq,
            peer.ack_seq,
            peer.ack_wraps,
            |s, w| peer.to_relative(s, w),
        );
        if under {
            return Some(0);
        }
        if !seg.rst {
            let d = seq_delta(ack_seq, peer.ack_seq);
            if !(ack_seq == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0 {
                peer.update_ack_seq(ack_seq);
            }
        }
        Some(r)
    }

    /// Zeek's `update_last_seq`: the sender's highest sequence, and
    /// retransmissions (scaled `T`).
    fn update_last_seq(&mut self, seg: &Segment) -> LastSeq {
        let (ep, _) = self.tcp.sides(seg.is_orig);
        let d = seq_delta(seg.seq_one_past, ep.last_seq);
        let mut retransmit = false;
        if (seg.syn || seg.rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&d) {
        } else if seg.fin && ep.last_seq == ep.start_seq.wrapping_add(1) {
            ep.update_last_seq(seg.seq_one_past);
        } else if ep.state == ES::Reset {
        } else if d > 0 {
            ep.update_last_seq(seg.seq_one_past);
        } else if seg.len > 0 {
            retransmit = true;
            if ep.rxmt.hit() {
                self.history.add(if seg.is_orig { b'T' } else { b't' });
            }
        }
        LastSeq { retransmit }
    }

    /// The peer's reassembler sees the acknowledgement: content gaps
    /// (`missed_bytes`, `G`) and the capture-loss counts.
    fn ack_received(&mut self, cfg: &ConnConfig, seg: &Segment, rel_ack: u64) -> CaptureLoss {
        let is_orig = seg.is_orig;
        let report = cfg.report_gaps_for_partial;
        let is_partial = self.tcp.is_partial;
        let mut gaps = GapList::default();
        let advanced = {
            let (_, peer) = self.tcp.sides(is_orig);
            peer.ack_received(rel_ack, is_partial, &mut gaps)
        };
        // Capture-loss accounting (Zeek's get_gap_stats): acks of both
        // established sides, and those that revealed missing data.
        let mut loss = CaptureLoss::default();
        let established =
            self.tcp.orig.state == ES::Established && self.tcp.resp.state == ES::Established;
        if advanced && (report || established) {
            loss.acks = 1;
            if gaps.iter().any(|(_, l)| l > 0) {
                loss.gaps = 1;
            }
        }
        let clean = clean_pair(&self.tcp);
        for (_, glen) in gaps.iter() {
            if let Some(a) = self.service.analyzers.as_mut() {
                a.on_gap(!is_orig);
            }
            if clean {
                let (_, peer) = self.tcp.sides(is_orig);
                if peer.gap.hit() {
                    // The gap belongs to the peer's stream.
                    self.history.add(if is_orig { b'g' } else { b'G' });
                }
            }
            if report || clean {
                self.missed_bytes += glen;
            }
        }
        loss
    }

    /// The sender's reassembler records the segment's range.
    fn record_data_sent(&mut self, seg: &Segment, rel: RelSeq) {
        let rel_data_seq = if seg.syn {
            rel.seq.wrapping_add(1)
        } else {
            rel.seq
        };
        if seg.len > 0 && !seg.rst && !rel.underflow && seg.caplen >= seg.len {
            let (ep, _) = self.tcp.sides(seg.is_orig);
            if ep.data_sent(rel_data_seq, seg.len as u64) {
                self.raise(ConnWeird::TcpOooRangesFolded);
            }
        }
    }
}

/// Zeek's `get_relative_seq`: `(relative, underflow)`.
fn relative_seq(
    start: u32,
    cur: u32,
    last: u32,
    wraps: u32,
    to_rel: impl Fn(u32, u32) -> u64,
) -> (u64, bool) {
    let mut wraps = wraps;
    let delta = seq_delta(cur, last);
    if delta < 0 {
        if wraps > 0 && cur > last {
            wraps -= 1;
        }
    } else if delta > 0 && cur < last {
        wraps += 1;
    }
    if wraps == 0 {
        let d = seq_delta(cur, start);
        (d as i64 as u64, d < 0)
    } else {
        (to_rel(cur, wraps), false)
    }
}

/// Both endpoints established or cleanly closing (content gaps count then).
fn clean_pair(t: &TcpState) -> bool {
    fn clean(e: &super::endpoint::Endpoint) -> bool {
        e.state == ES::Established || (e.state == ES::Closed && e.prev_state == ES::Established)
    }
    clean(&t.orig) && clean(&t.resp)
}
