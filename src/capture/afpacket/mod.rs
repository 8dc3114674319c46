//! Live capture from a Linux AF_PACKET socket with a TPACKET_V3 ring.
//!
//! Owns one `AF_PACKET` socket bound to one interface, its memory-mapped
//! receive ring (blocks of variable-size frames), the optional kernel BPF
//! filter, promiscuous membership and `PACKET_FANOUT` group membership (so
//! several sockets — threads or processes — share one interface, each getting
//! whole flows), and the kernel's capture counters (folded into 64-bit totals).
//!
//! It hands out packets borrowed straight from the ring: a block goes back to
//! the kernel only once every frame in it was handed out and the next call
//! comes. It must not decode packets beyond re-inserting a VLAN tag the kernel
//! stripped, must not know about flows or threads, and must never trust ring
//! contents: every block and frame offset and length is checked against the
//! block before it is used (a bad block is counted and given back, never a
//! panic).
//!
//! A thin layer over `libc` (no GPL `af_packet` crate). The frame walking is
//! pure code over a byte slice ([`walk_step`]) and is unit-tested on synthetic
//! blocks; only the syscalls and the mmap are `unsafe`.
//!
//! Files: `sys` and `layout` (the kernel ABI: socket option values and
//! structs, the byte layout of a ring block), `options` (what a caller
//! asks for: ring sizes, filter, promiscuous mode, fanout; the counters it
//! gets back), `ring` (the mmap'ed ring and the checked walk through one
//! block), `socket` (opening and configuring the socket, reading its
//! counters, polling). This file holds [`AfPacket`] and its
//! [`PacketSource`] loop over the ring's blocks; it must not issue socket
//! setup calls itself nor read ring bytes except through `ring`.

use super::{linktype, CaptureError, Next, Packet, PacketSource, SourceStats};
use crate::time::Ts;
use std::os::fd::OwnedFd;

mod layout;
mod options;
mod ring;
mod socket;
mod sys;

pub use options::{AfPacketOptions, AfPacketStats, Fanout, FanoutMode};
use ring::Ring;
pub use ring::{reinsert_vlan, walk_start, walk_step, Frame, RingError, WalkState};

/// A live AF_PACKET TPACKET_V3 capture on one interface (Linux), optionally
/// one member of a fanout group. Link type Ethernet; packets are borrowed
/// from the ring until the next call.
pub struct AfPacket {
    // Field order: the ring is unmapped before the socket closes.
    ring: Ring,
    fd: OwnedFd,
    iface: String,
    poll_timeout_ms: i32,
    /// Block the walk is in (or will look at next).
    cur: usize,
    /// Walk through block `cur`, when one is in progress.
    walk: Option<WalkState>,
    /// A block whose frames were all handed out: given back on the next call.
    release: Option<usize>,
    /// Frames with a re-inserted VLAN tag are copied here.
    scratch: Vec<u8>,
    totals: AfPacketStats,
}

impl AfPacket {
    /// The interface this socket captures on.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    fn next_block(&mut self) {
        self.cur = (self.cur + 1) % self.ring.block_count;
    }
}

impl PacketSource for AfPacket {
    fn is_live(&self) -> bool {
        true
    }
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        // The previous call handed out the last frame of this block and its
        // borrow has ended (we hold `&mut self` again): give the block back.
        if let Some(b) = self.release.take() {
            self.ring.release(b);
        }
        let mut polled = false;
        // Each turn either returns, polls once, or finishes one block, so a
        // ring full of empty or bad blocks ends the loop after one lap.
        let mut turns = 2 * self.ring.block_count + 2;
        let (block, frame) = loop {
            turns -= 1;
            if turns == 0 {
                return Ok(Next::Idle);
            }
            let Some(st) = self.walk.as_mut() else {
                if self.ring.status(self.cur) & sys::TP_STATUS_USER == 0 {
                    if polled {
                        return Ok(Next::Idle);
                    }
                    polled = true;
                    self.poll()?;
                    continue;
                }
                match walk_start(self.ring.block(self.cur)) {
                    Ok(Some(st)) => self.walk = Some(st),
                    Ok(None) => {
                        self.ring.release(self.cur);
                        self.next_block();
                    }
                    Err(_) => {
                        self.totals.ring_errors += 1;
                        self.ring.release(self.cur);
                        self.next_block();
                    }
                }
                continue;
            };
            let b = self.cur;
            let step = walk_step(self.ring.block(b), st);
            let done = st.remaining == 0;
            if done {
                self.walk = None;
                self.next_block();
            }
            match step {
                Some(Ok(f)) => {
                    if done {
                        self.release = Some(b);
                    }
                    break (b, f);
                }
                Some(Err(_)) => {
                    self.totals.ring_errors += 1;
                    self.ring.release(b);
                }
                None => self.ring.release(b),
            }
        };
        let raw = &self.ring.block(block)[frame.data_start..frame.data_start + frame.data_len];
        let ts = Ts::from_parts(i64::from(frame.sec), i64::from(frame.nsec));
        let (data, wire_len) = match frame.vlan {
            Some((tpid, tci)) => {
                reinsert_vlan(raw, tpid, tci, &mut self.scratch);
                (&self.scratch[..], frame.len.saturating_add(4))
            }
            None => (raw, frame.len),
        };
        Ok(Next::Packet(Packet {
            ts,
            wire_len,
            linktype: linktype::ETHERNET,
            data,
        }))
    }

    fn stats(&mut self) -> Option<SourceStats> {
        let t = self.totals().ok()?;
        Some(SourceStats {
            received: t.packets,
            dropped: t.drops,
            if_dropped: 0,
        })
    }
}
