//! TCP endpoint state: sequence tracking, the endpoint state machine and the
//! bookkeeping that feeds `conn_state`, `history`, byte counts and
//! `missed_bytes`.
//!
//! A port of the rules in Zeek's `TCPSessionAdapter.cc`, `TCP_Endpoint.cc` and
//! `TCP_Reassembler.cc` (see SEMANTICS.md §4–§8). The reassembler here tracks
//! sequence *ranges* only (no payload copies): that is all conn.log needs.

use crate::conn::history::Scaled;

/// Sequence deltas beyond this are not trusted on SYN/RST packets.
pub const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// A TCP endpoint state (Zeek's `EndpointState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Nothing seen.
    #[default]
    Inactive,
    /// SYN sent.
    SynSent,
    /// SYN-ACK sent by the originator.
    SynAckSent,
    /// Data seen without a SYN.
    Partial,
    /// Handshake seen.
    Established,
    /// FIN sent.
    Closed,
    /// RST sent.
    Reset,
}

impl EndpointState {
    /// INACTIVE, SYN_SENT or SYN_ACK_SENT.
    pub fn is_handshake(self) -> bool {
        matches!(
            self,
            EndpointState::Inactive | EndpointState::SynSent | EndpointState::SynAckSent
        )
    }
}

/// Signed distance between two sequence numbers.
#[inline]
pub fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Maximum out-of-order ranges tracked per direction (further ones are merged away).
const MAX_BLOCKS: usize = 4;

/// One direction of a TCP connection.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    /// Current state.
    pub state: EndpointState,
    /// Previous state.
    pub prev_state: EndpointState,
    /// Initial sequence number (as though a SYN was seen).
    pub start_seq: u32,
    /// Highest sequence seen (one past).
    pub last_seq: u32,
    /// Highest acknowledgement received for this side's data.
    pub ack_seq: u32,
    /// Wraps of `last_seq`.
    pub seq_wraps: u32,
    /// Wraps of `ack_seq`.
    pub ack_wraps: u32,
    /// Window scale shift.
    pub window_scale: u8,
    /// Last accepted window (scaled).
    pub window: u32,
    /// Sequence number that carried `window`.
    pub window_seq: u32,
    /// Ack number that carried `window`.
    pub window_ack_seq: u32,
    /// A FIN was seen.
    pub fin_seen: bool,
    /// Relative sequence just past the FIN.
    pub fin_seq: u64,
    /// A close was reported for this side.
    pub did_close: bool,
    /// Relative sequence of the last SYN / FIN end / RST (history repeat rule).
    pub hist_last_syn: u64,
    /// See `hist_last_syn`.
    pub hist_last_fin: u64,
    /// See `hist_last_syn`.
    pub hist_last_rst: u64,
    /// Checksum errors (`C`).
    pub chk: Scaled,
    /// Retransmissions (`T`).
    pub rxmt: Scaled,
    /// Zero windows (`W`).
    pub win0: Scaled,
    /// Content gaps (`G`).
    pub gap: Scaled,
    /// Reassembly: next relative sequence expected in order.
    pub last_reassem_seq: u64,
    /// Reassembly: highest acknowledged relative sequence processed.
    pub trim_seq: u64,
    /// Out-of-order ranges above `last_reassem_seq` (relative): out of line,
    /// allocated only while the side has some.
    ooo: Option<Box<OooRanges>>,
    /// The out-of-order ranges ever exceeded [`MAX_BLOCKS`] (two were folded).
    pub folded: bool,
}

impl Endpoint {
    /// A fresh endpoint.
    pub fn new() -> Self {
        Endpoint {
            last_reassem_seq: 1,
            trim_seq: 1,
            ..Default::default()
        }
    }

    /// Full 64-bit sequence space value.
    #[inline]
    pub fn full(seq: u32, wraps: u32) -> u64 {
        ((wraps as u64) << 32) | seq as u64
    }

    /// Relative sequence of `seq` with `wraps`.
    #[inline]
    pub fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        Endpoint::full(seq, wraps).wrapping_sub(self.start_seq as u64)
    }

    /// Sets the initial sequence.
    pub fn init_start_seq(&mut self, s: u32) {
        self.start_seq = s;
    }
    /// Sets the ack sequence.
    pub fn init_ack_seq(&mut self, s: u32) {
        self.ack_seq = s;
        self.ack_wraps = 0;
    }
    /// Sets the last sequence.
    pub fn init_last_seq(&mut self, s: u32) {
        self.last_seq = s;
        self.seq_wraps = 0;
    }
    /// Advances `last_seq` (caller checked the delta is positive).
    pub fn update_last_seq(&mut self, s: u32) {
        if s < self.last_seq {
            self.seq_wraps += 1;
        }
        self.last_seq = s;
    }
    /// Advances `ack_seq` (caller checked the delta is positive).
    pub fn update_ack_seq(&mut self, s: u32) {
        if s < self.ack_seq {
            self.ack_wraps += 1;
        }
        self.ack_seq = s;
    }

    /// Whether nothing beyond the SYN was acknowledged.
    pub fn no_data_acked(&self) -> bool {
        let ack = Endpoint::full(self.ack_seq, self.ack_wraps);
        let start = self.start_seq as u64;
        ack == start || ack == start + 1
    }

    /// Bytes sent, from sequence numbers (Zeek's `TCP_Endpoint::Size`).
    pub fn size(&self, peer_state: EndpointState) -> u64 {
        if self.prev_state == EndpointState::SynSent
            && self.state == EndpointState::Reset
            && peer_state == EndpointState::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let last = Endpoint::full(self.last_seq, self.seq_wraps);
        let ack = Endpoint::full(self.ack_seq, self.ack_wraps);
        let start = self.start_seq as u64;
        let mut size = if last > ack {
            last.wrapping_sub(start)
        } else {
            ack.wrapping_sub(start)
        };
        size = size.saturating_sub(1);
        if self.fin_seen && size != 0 {
            size -= 1;
        }
        size
    }

    /// Whether the side is active (sent something and not closed).
    pub fn is_active(&self) -> bool {
        self.state != EndpointState::Inactive && !self.did_close
    }

    /// Reassembly: records that `[seq, seq+len)` was sent (relative sequence).
    /// Returns true the first time the out-of-order ranges hit their bound
    /// ([`MAX_BLOCKS`] per direction; the two lowest are folded together).
    pub fn data_sent(&mut self, seq: u64, len: u64) -> bool {
        let before = self.folded;
        self.data_sent_inner(seq, len);
        self.folded && !before
    }

    fn data_sent_inner(&mut self, seq: u64, len: u64) {
        let ack = self.to_relative(self.ack_seq, self.ack_wraps);
        let (mut seq, mut len) = (seq, len);
        if seq < ack {
            let upper = seq + len;
            if upper <= ack {
                return;
            }
            len -= ack - seq;
            seq = ack;
        }
        let upper = seq + len;
        if upper <= self.last_reassem_seq {
            return;
        }
        if seq <= self.last_reassem_seq {
            self.last_reassem_seq = upper;
            self.drain_blocks();
        } else {
            self.insert_block(seq, upper);
        }
    }

    fn drain_blocks(&mut self) {
        let Some(o) = self.ooo.as_deref_mut() else {
            return;
        };
        loop {
            let mut advanced = false;
            let mut i = 0;
            while i < o.n as usize {
                let (s, e) = o.blocks[i];
                if s <= self.last_reassem_seq {
                    if e > self.last_reassem_seq {
                        self.last_reassem_seq = e;
                        advanced = true;
                    }
                    o.remove(i);
                } else {
                    i += 1;
                }
            }
            if !advanced {
                break;
            }
        }
    }

    fn insert_block(&mut self, s: u64, e: u64) {
        let o = self.ooo.get_or_insert_with(Box::default);
        // Merge with overlapping/adjacent ranges.
        let (mut s, mut e) = (s, e);
        let mut i = 0;
        while i < o.n as usize {
            let (bs, be) = o.blocks[i];
            if bs <= e && s <= be {
                s = s.min(bs);
                e = e.max(be);
                o.remove(i);
            } else {
                i += 1;
            }
        }
        if o.n as usize == MAX_BLOCKS {
            // Bounded: fold the two lowest ranges together.
            self.folded = true;
            o.blocks[..MAX_BLOCKS].sort_unstable();
            let (a, b) = (o.blocks[0], o.blocks[1]);
            o.blocks[0] = (a.0, b.1);
            o.remove(1);
        }
        let n = o.n as usize;
        o.blocks[n] = (s, e);
        o.n += 1;
        o.blocks[..o.n as usize].sort_unstable();
    }

    /// Out-of-order ranges held (relative sequence, ascending after a sort).
    pub fn ooo_ranges(&self) -> usize {
        self.ooo.as_ref().map_or(0, |o| o.n as usize)
    }

    /// Reassembly: the peer acknowledged up to `seq` (relative). Returns the
    /// content gaps (sequence, length) now known to be missing, at most two
    /// merged reports: the bytes before and between buffered ranges.
    /// Returns whether the acknowledgement advanced past what was already
    /// acknowledged (an "ack event" for capture-loss accounting).
    pub fn ack_received(&mut self, seq: u64, is_partial: bool, gaps: &mut GapList) -> bool {
        let mut seq = seq;
        if self.fin_seen && seq >= self.fin_seq {
            seq = self.fin_seq.saturating_sub(1);
        }
        if seq <= self.trim_seq {
            return false;
        }
        if seq > self.last_reassem_seq {
            // Undelivered(seq).
            if !(seq <= 2 && is_partial) {
                if let Some(o) = self.ooo.as_deref_mut() {
                    o.blocks[..o.n as usize].sort_unstable();
                    while o.n > 0 {
                        let (s, e) = o.blocks[0];
                        if s >= seq {
                            break;
                        }
                        if s > self.last_reassem_seq {
                            gaps.push(self.last_reassem_seq, s - self.last_reassem_seq);
                            self.last_reassem_seq = s;
                        }
                        if e > self.last_reassem_seq {
                            self.last_reassem_seq = e;
                        }
                        o.remove(0);
                    }
                }
                if seq > self.last_reassem_seq {
                    gaps.push(self.last_reassem_seq, seq - self.last_reassem_seq);
                }
                if seq > self.last_reassem_seq {
                    self.last_reassem_seq = seq;
                }
                self.drain_blocks();
            }
        }
        // Drop ranges below the trim point; the buffer goes once empty.
        if let Some(o) = self.ooo.as_deref_mut() {
            let mut i = 0;
            while i < o.n as usize {
                if o.blocks[i].1 <= seq {
                    o.remove(i);
                } else {
                    i += 1;
                }
            }
            if o.n == 0 {
                self.ooo = None;
            }
        }
        self.trim_seq = seq;
        true
    }
}

/// Out-of-order ranges of one side (bounded at [`MAX_BLOCKS`]).
#[derive(Clone, Debug, Default)]
struct OooRanges {
    blocks: [(u64, u64); MAX_BLOCKS],
    n: u8,
}

impl OooRanges {
    fn remove(&mut self, i: usize) {
        let n = self.n as usize;
        self.blocks.copy_within(i + 1..n, i);
        self.n -= 1;
    }
}

/// Content gaps found by one acknowledgement (bounded).
#[derive(Default)]
pub struct GapList {
    items: [(u64, u64); MAX_BLOCKS + 1],
    n: usize,
}

impl GapList {
    fn push(&mut self, seq: u64, len: u64) {
        if self.n < self.items.len() {
            self.items[self.n] = (seq, len);
            self.n += 1;
        } else if let Some(last) = self.items.last_mut() {
            last.1 += len;
        }
    }
    /// The gaps.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.items[..self.n].iter().copied()
    }
}

/// TCP state of one connection (both endpoints plus adapter flags).
#[derive(Clone, Debug)]
pub struct TcpState {
    /// Originator endpoint.
    pub orig: Endpoint,
    /// Responder endpoint.
    pub resp: Endpoint,
    /// Zeek's `is_active`: cleared when the connection finished or was reset.
    pub is_active: bool,
    /// Zeek's `is_partial`.
    pub is_partial: bool,
    /// First packet seen per side (bit 1 orig, bit 2 resp).
    pub first_packet_seen: u8,
}

impl Default for TcpState {
    fn default() -> Self {
        TcpState {
            orig: Endpoint::new(),
            resp: Endpoint::new(),
            is_active: true,
            is_partial: false,
            first_packet_seen: 0,
        }
    }
}

impl TcpState {
    /// Both sides reported a close.
    pub fn both_closed(&self) -> bool {
        self.orig.did_close && self.resp.did_close
    }
    /// Either side reported a close.
    pub fn is_closed(&self) -> bool {
        self.orig.did_close || self.resp.did_close
    }
    /// Swaps the roles (Zeek's `TCPSessionAdapter::FlipRoles`).
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.orig, &mut self.resp);
        let f = self.first_packet_seen;
        self.first_packet_seen = ((f & 1) << 1) | ((f & 2) >> 1);
        self.is_partial = false;
    }
    /// The endpoint and its peer for a direction.
    pub fn sides(&mut self, is_orig: bool) -> (&mut Endpoint, &mut Endpoint) {
        if is_orig {
            (&mut self.orig, &mut self.resp)
        } else {
            (&mut self.resp, &mut self.orig)
        }
    }
    /// Zeek's `SetPartialStatus`.
    pub fn set_partial_status(&mut self, syn: bool, ack: bool, is_orig: bool) {
        if is_orig {
            if self.first_packet_seen & 1 == 0 {
                self.is_partial = !syn || ack;
            }
        } else if self.first_packet_seen & 2 == 0 && !self.is_partial {
            self.is_partial = !syn;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_from_sequence_numbers() {
        let mut e = Endpoint::new();
        e.init_start_seq(1000);
        e.init_ack_seq(1000);
        e.init_last_seq(1001); // SYN
        e.update_last_seq(1101); // 100 bytes
        assert_eq!(e.size(EndpointState::Established), 100);
        e.fin_seen = true;
        e.update_last_seq(1102);
        assert_eq!(e.size(EndpointState::Established), 100);
        // Acked beyond what was seen: missing data counts.
        e.update_ack_seq(1202);
        assert_eq!(e.size(EndpointState::Established), 200);
    }

    #[test]
    fn size_wraps() {
        let mut e = Endpoint::new();
        e.init_start_seq(u32::MAX - 10);
        e.init_ack_seq(u32::MAX - 10);
        e.init_last_seq(u32::MAX - 9);
        e.update_last_seq(90);
        assert_eq!(e.seq_wraps, 1);
        assert_eq!(e.size(EndpointState::Established), 100);
    }

    #[test]
    fn gaps_from_acks_of_unseen_data() {
        let mut e = Endpoint::new();
        // 100 bytes in order, then 100 missing, then 100 bytes.
        e.data_sent(1, 100);
        e.data_sent(201, 100);
        assert_eq!(e.last_reassem_seq, 101);
        assert_eq!(e.ooo_ranges(), 1);
        let mut g = GapList::default();
        e.ack_received(301, false, &mut g);
        assert_eq!(g.iter().collect::<Vec<_>>(), vec![(101, 100)]);
        assert_eq!(e.last_reassem_seq, 301);
        // The out-of-line ranges are gone with the last range.
        assert_eq!(e.ooo_ranges(), 0);
        assert!(e.ooo.is_none());
        // Acks of data already seen report nothing.
        let mut g = GapList::default();
        e.ack_received(301, false, &mut g);
        assert_eq!(g.iter().count(), 0);
    }

    #[test]
    fn retransmission_below_reassembly_point_is_ignored() {
        let mut e = Endpoint::new();
        e.data_sent(1, 50);
        e.data_sent(1, 50);
        assert_eq!(e.last_reassem_seq, 51);
        assert_eq!(e.ooo_ranges(), 0);
    }
}
