//! The TPACKET_V3 receive ring: the mmap'ed memory ([`Ring`]: block
//! pointers, the status word handshake with the kernel, unmapping on drop)
//! and the walk through one block handed to user space ([`walk_start`],
//! [`walk_step`]: descriptor and frame headers checked against the block
//! before use), plus re-inserting the VLAN tag the kernel stripped.
//!
//! The walk is pure code over a byte slice (unit-tested on synthetic
//! blocks); only `Ring` touches the mapping. Must never trust ring
//! contents (a bad offset is a [`RingError`], never a panic or an
//! out-of-bounds read) and must not make socket calls.

use super::{layout, sys};
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// One frame header of a TPACKET_V3 block, checked against the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Seconds of the capture timestamp.
    pub sec: u32,
    /// Nanoseconds of the capture timestamp.
    pub nsec: u32,
    /// Original length of the packet on the wire (`tp_len`).
    pub len: u32,
    /// Offset of the captured bytes within the block.
    pub data_start: usize,
    /// Number of captured bytes (`tp_snaplen`).
    pub data_len: usize,
    /// The VLAN tag the kernel stripped from the frame, as (TPID, TCI).
    pub vlan: Option<(u16, u16)>,
}

/// Where a walk through one block stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkState {
    /// Frames of the block not handed out yet.
    pub remaining: u32,
    /// Offset of the next frame header within the block.
    pub offset: usize,
    /// End of the block's valid bytes (`blk_len`, clamped to the block).
    pub end: usize,
}

/// Why a block or frame header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The block descriptor's first-packet offset or length is outside the block.
    BadBlock,
    /// A frame header lies (partly) outside the block.
    FrameOutOfBounds,
    /// A frame's captured bytes lie (partly) outside the block.
    DataOutOfBounds,
    /// More frames were announced but the next-frame offset is zero or
    /// points outside the block.
    BadNextOffset,
}

fn rd_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

fn rd_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Starts a walk over a block handed to user space: reads its descriptor and
/// checks it against the block length. `Ok(None)` for a block without packets.
pub fn walk_start(block: &[u8]) -> Result<Option<WalkState>, RingError> {
    let num = rd_u32(block, layout::NUM_PKTS).ok_or(RingError::BadBlock)?;
    let first = rd_u32(block, layout::FIRST_PKT).ok_or(RingError::BadBlock)? as usize;
    let blk_len = rd_u32(block, layout::BLK_LEN).ok_or(RingError::BadBlock)? as usize;
    if num == 0 {
        return Ok(None);
    }
    let end = blk_len.min(block.len());
    if first < layout::BLOCK_HDR || first >= end {
        return Err(RingError::BadBlock);
    }
    Ok(Some(WalkState {
        remaining: num,
        offset: first,
        end,
    }))
}

/// Reads the frame at `st.offset` and advances `st` to the next one.
/// `None` when the block is exhausted. On an error the walk is finished
/// (`st.remaining` is set to 0): the rest of the block cannot be trusted.
pub fn walk_step(block: &[u8], st: &mut WalkState) -> Option<Result<Frame, RingError>> {
    if st.remaining == 0 {
        return None;
    }
    let r = read_frame(block, st);
    if r.is_err() {
        st.remaining = 0;
    }
    Some(r)
}

fn read_frame(block: &[u8], st: &mut WalkState) -> Result<Frame, RingError> {
    let off = st.offset;
    let hdr_end = off
        .checked_add(layout::FRAME_HDR)
        .ok_or(RingError::FrameOutOfBounds)?;
    if hdr_end > st.end {
        return Err(RingError::FrameOutOfBounds);
    }
    let b = &block[..st.end];
    let f = |field: usize| rd_u32(b, off + field).ok_or(RingError::FrameOutOfBounds);
    let next = f(layout::TP_NEXT_OFFSET)? as usize;
    let sec = f(layout::TP_SEC)?;
    let nsec = f(layout::TP_NSEC)?;
    let snaplen = f(layout::TP_SNAPLEN)? as usize;
    let len = f(layout::TP_LEN)?;
    let status = f(layout::TP_STATUS)?;
    let mac = rd_u16(b, off + layout::TP_MAC).ok_or(RingError::FrameOutOfBounds)? as usize;
    let tci = f(layout::TP_VLAN_TCI)?;
    let tpid = rd_u16(b, off + layout::TP_VLAN_TPID).ok_or(RingError::FrameOutOfBounds)?;
    let data_start = off + mac;
    let data_end = data_start
        .checked_add(snaplen)
        .ok_or(RingError::DataOutOfBounds)?;
    if mac < layout::FRAME_HDR || data_end > st.end {
        return Err(RingError::DataOutOfBounds);
    }
    // libpcap's test: a non-zero TCI, or the status bit (TCI 0 is a valid tag).
    let vlan = if tci != 0 || status & sys::TP_STATUS_VLAN_VALID != 0 {
        let tpid = if status & sys::TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
            tpid
        } else {
            0x8100
        };
        Some((tpid, tci as u16))
    } else {
        None
    };
    st.remaining -= 1;
    if st.remaining > 0 {
        let n = off.checked_add(next).filter(|&n| next != 0 && n < st.end);
        match n {
            Some(n) => st.offset = n,
            // This frame is fine; the next one cannot be found.
            None => {
                st.remaining = 0;
                st.offset = usize::MAX;
            }
        }
    }
    Ok(Frame {
        sec,
        nsec,
        len,
        data_start,
        data_len: snaplen,
        vlan,
    })
}

/// Copies `data` into `out` with an 802.1Q-style tag (TPID, TCI) inserted
/// after the two MAC addresses, as it was on the wire.
pub fn reinsert_vlan(data: &[u8], tpid: u16, tci: u16, out: &mut Vec<u8>) {
    out.clear();
    if data.len() < 12 {
        out.extend_from_slice(data);
        return;
    }
    out.extend_from_slice(&data[..12]);
    out.extend_from_slice(&tpid.to_be_bytes());
    out.extend_from_slice(&tci.to_be_bytes());
    out.extend_from_slice(&data[12..]);
}

/// The mmap'ed receive ring.
pub(super) struct Ring {
    pub(super) base: NonNull<u8>,
    pub(super) len: usize,
    pub(super) block_size: usize,
    pub(super) block_count: usize,
}

// SAFETY: the ring is plain memory shared with the kernel; `AfPacket` owns it
// exclusively and only touches it through `&self`/`&mut self`.
unsafe impl Send for Ring {}

impl Ring {
    fn block_ptr(&self, i: usize) -> *mut u8 {
        debug_assert!(i < self.block_count);
        // SAFETY: i < block_count, so the offset is within the mapping of
        // block_size * block_count bytes.
        unsafe { self.base.as_ptr().add(i * self.block_size) }
    }

    /// The block's status word (read with acquire semantics: if it says
    /// TP_STATUS_USER, the kernel's writes to the block are visible).
    pub(super) fn status(&self, i: usize) -> u32 {
        // SAFETY: the status word lies within block i (offset 8 < block size,
        // 4-byte aligned as blocks are page aligned); volatile because the
        // kernel writes it concurrently.
        let v = unsafe {
            std::ptr::read_volatile(self.block_ptr(i).add(layout::BLOCK_STATUS) as *const u32)
        };
        fence(Ordering::Acquire);
        v
    }

    /// Hands block `i` back to the kernel.
    pub(super) fn release(&self, i: usize) {
        fence(Ordering::Release);
        // SAFETY: as in `status`; we own the block (TP_STATUS_USER) and no
        // borrow of it outlives this call (callers hold `&mut AfPacket`).
        unsafe {
            std::ptr::write_volatile(
                self.block_ptr(i).add(layout::BLOCK_STATUS) as *mut u32,
                sys::TP_STATUS_KERNEL,
            )
        }
    }

    /// The bytes of block `i`. Only call while its status is TP_STATUS_USER:
    /// the kernel does not write a block user space owns.
    pub(super) fn block(&self, i: usize) -> &[u8] {
        // SAFETY: block i is within the mapping, which lives as long as
        // `self`; the caller checked that user space owns it, so the kernel
        // does not modify it while the slice exists (it is given back only via
        // `release`, which needs no outstanding borrow as packets borrow the
        // `AfPacket` mutably).
        unsafe { std::slice::from_raw_parts(self.block_ptr(i), self.block_size) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned; nothing borrows
        // the ring any more.
        unsafe {
            libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a synthetic TPACKET_V3 block: descriptor + frames laid out the
    /// way the kernel does (16-byte aligned, mac at 48 + 2 bytes of padding
    /// as for Ethernet).
    struct Builder {
        buf: Vec<u8>,
        frames: Vec<usize>,
    }

    impl Builder {
        fn new(size: usize) -> Self {
            Builder {
                buf: vec![0; size],
                frames: Vec::new(),
            }
        }
        fn put32(&mut self, at: usize, v: u32) {
            self.buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        }
        fn put16(&mut self, at: usize, v: u16) {
            self.buf[at..at + 2].copy_from_slice(&v.to_ne_bytes());
        }
        fn frame(&mut self, sec: u32, nsec: u32, data: &[u8], status: u32, tci: u32) -> usize {
            let off = match self.frames.last() {
                None => 64,
                Some(&prev) => {
                    let snap =
                        u32::from_ne_bytes(self.buf[prev + 12..prev + 16].try_into().unwrap())
                            as usize;
                    (prev + 48 + 2 + snap + 15) & !15
                }
            };
            if let Some(&prev) = self.frames.last() {
                self.put32(prev, (off - prev) as u32);
            }
            self.put32(off + layout::TP_SEC, sec);
            self.put32(off + layout::TP_NSEC, nsec);
            self.put32(off + layout::TP_SNAPLEN, data.len() as u32);
            self.put32(off + layout::TP_LEN, data.len() as u32 + 10);
            self.put32(off + layout::TP_STATUS, status);
            self.put16(off + layout::TP_MAC, 50);
            self.put32(off + layout::TP_VLAN_TCI, tci);
            self.put16(off + layout::TP_VLAN_TPID, 0x88a8);
            self.buf[off + 50..off + 50 + data.len()].copy_from_slice(data);
            self.frames.push(off);
            off
        }
        fn finish(mut self) -> Vec<u8> {
            let n = self.frames.len() as u32;
            let end = self
                .frames
                .last()
                .map(|&o| o + 50 + self.buf[o + 12] as usize)
                .unwrap_or(64);
            self.put32(layout::BLOCK_STATUS, sys::TP_STATUS_USER);
            self.put32(layout::NUM_PKTS, n);
            self.put32(layout::FIRST_PKT, 64);
            self.put32(layout::BLK_LEN, end as u32);
            self.buf
        }
    }

    fn walk_all(block: &[u8]) -> Vec<Result<Frame, RingError>> {
        let mut out = Vec::new();
        let Some(mut st) = walk_start(block).unwrap() else {
            return out;
        };
        while let Some(r) = walk_step(block, &mut st) {
            out.push(r);
            assert!(out.len() < 1000);
        }
        out
    }

    #[test]
    fn walks_frames_of_a_block() {
        let mut b = Builder::new(4096);
        b.frame(10, 5, &[1; 60], 1, 0);
        b.frame(11, 6, &[2; 33], 1, 0);
        b.frame(12, 7, &[3; 100], 1, 0);
        let blk = b.finish();
        let fr = walk_all(&blk);
        assert_eq!(fr.len(), 3);
        let f: Vec<Frame> = fr.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            (f[0].sec, f[0].nsec, f[0].data_len, f[0].len),
            (10, 5, 60, 70)
        );
        assert_eq!(&blk[f[0].data_start..f[0].data_start + 60], &[1; 60][..]);
        assert_eq!(&blk[f[1].data_start..f[1].data_start + 33], &[2; 33][..]);
        assert_eq!(&blk[f[2].data_start..f[2].data_start + 100], &[3; 100][..]);
        assert!(f.iter().all(|f| f.vlan.is_none()));
    }

    #[test]
    fn empty_block_has_no_walk() {
        let blk = Builder::new(256).finish();
        assert_eq!(walk_start(&blk), Ok(None));
    }

    #[test]
    fn vlan_tag_is_reported_and_reinserted() {
        let mut b = Builder::new(1024);
        let mut eth = vec![0xaa; 12];
        eth.extend_from_slice(&[0x08, 0x00, 0x45]);
        b.frame(1, 2, &eth, 1 | sys::TP_STATUS_VLAN_VALID, 0);
        b.frame(
            1,
            3,
            &eth,
            1 | sys::TP_STATUS_VLAN_VALID | sys::TP_STATUS_VLAN_TPID_VALID,
            100,
        );
        let blk = b.finish();
        let f: Vec<Frame> = walk_all(&blk).into_iter().map(Result::unwrap).collect();
        assert_eq!(f[0].vlan, Some((0x8100, 0)));
        assert_eq!(f[1].vlan, Some((0x88a8, 100)));
        let mut out = Vec::new();
        reinsert_vlan(&eth, 0x88a8, 100, &mut out);
        assert_eq!(&out[..12], &[0xaa; 12]);
        assert_eq!(&out[12..16], &[0x88, 0xa8, 0x00, 100]);
        assert_eq!(&out[16..], &[0x08, 0x00, 0x45]);
    }

    #[test]
    fn data_past_block_end_is_rejected_not_panicking() {
        let mut b = Builder::new(512);
        let off = b.frame(1, 0, &[9; 40], 1, 0);
        b.frame(1, 0, &[9; 40], 1, 0);
        let mut blk = b.finish();
        // First frame claims 10000 captured bytes.
        blk[off + layout::TP_SNAPLEN..off + layout::TP_SNAPLEN + 4]
            .copy_from_slice(&10_000u32.to_ne_bytes());
        let fr = walk_all(&blk);
        assert_eq!(fr, vec![Err(RingError::DataOutOfBounds)]);
    }

    #[test]
    fn bad_next_offset_ends_the_walk_after_the_good_frame() {
        let mut b = Builder::new(512);
        let off = b.frame(1, 0, &[9; 40], 1, 0);
        b.frame(2, 0, &[8; 40], 1, 0);
        let mut blk = b.finish();
        for bad in [0u32, 100_000, u32::MAX] {
            blk[off..off + 4].copy_from_slice(&bad.to_ne_bytes());
            let fr = walk_all(&blk);
            assert_eq!(fr.len(), 1, "next offset {bad}");
            assert!(fr[0].is_ok());
        }
    }

    #[test]
    fn frame_header_past_block_end_is_rejected() {
        let mut b = Builder::new(512);
        b.frame(1, 0, &[9; 40], 1, 0);
        let mut blk = b.finish();
        // More packets announced than present; blk_len ends right after frame 1.
        blk[layout::NUM_PKTS..layout::NUM_PKTS + 4].copy_from_slice(&2u32.to_ne_bytes());
        let off = 64;
        // Next frame starts inside blk_len (154) but its header runs past it.
        blk[off..off + 4].copy_from_slice(&80u32.to_ne_bytes());
        let fr = walk_all(&blk);
        assert_eq!(fr.len(), 2);
        assert!(fr[0].is_ok());
        assert_eq!(fr[1], Err(RingError::FrameOutOfBounds));
    }

    #[test]
    fn bad_block_descriptors_are_rejected() {
        let mut blk = Builder::new(256).finish();
        blk[layout::NUM_PKTS..layout::NUM_PKTS + 4].copy_from_slice(&1u32.to_ne_bytes());
        // first packet inside the descriptor
        blk[layout::FIRST_PKT..layout::FIRST_PKT + 4].copy_from_slice(&8u32.to_ne_bytes());
        assert_eq!(walk_start(&blk), Err(RingError::BadBlock));
        // first packet beyond blk_len
        blk[layout::FIRST_PKT..layout::FIRST_PKT + 4].copy_from_slice(&200u32.to_ne_bytes());
        blk[layout::BLK_LEN..layout::BLK_LEN + 4].copy_from_slice(&100u32.to_ne_bytes());
        assert_eq!(walk_start(&blk), Err(RingError::BadBlock));
        // a block too short for a descriptor
        assert_eq!(walk_start(&blk[..10]), Err(RingError::BadBlock));
        // blk_len larger than the block is clamped, never read past the slice
        blk[layout::FIRST_PKT..layout::FIRST_PKT + 4].copy_from_slice(&64u32.to_ne_bytes());
        blk[layout::BLK_LEN..layout::BLK_LEN + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let mut st = walk_start(&blk).unwrap().unwrap();
        assert_eq!(st.end, 256);
        // frame at 64 with mac 0 < header size
        assert_eq!(
            walk_step(&blk, &mut st),
            Some(Err(RingError::DataOutOfBounds))
        );
        assert_eq!(walk_step(&blk, &mut st), None);
    }

    #[test]
    fn arbitrary_blocks_never_panic() {
        // A cheap deterministic fuzz over garbage blocks.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..2000 {
            let mut blk = vec![0u8; 512];
            for b in blk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = (x >> 24) as u8;
            }
            // Keep the numbers small often enough to reach the frame walk.
            blk[layout::NUM_PKTS..layout::NUM_PKTS + 4].copy_from_slice(&3u32.to_ne_bytes());
            blk[layout::FIRST_PKT..layout::FIRST_PKT + 4]
                .copy_from_slice(&(48 + (x % 300) as u32).to_ne_bytes());
            if let Ok(Some(mut st)) = walk_start(&blk) {
                let mut n = 0;
                while let Some(r) = walk_step(&blk, &mut st) {
                    if let Ok(f) = r {
                        assert!(f.data_start + f.data_len <= blk.len());
                    }
                    n += 1;
                    assert!(n <= 3);
                }
            }
        }
    }
}
