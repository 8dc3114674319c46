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

use super::{linktype, CaptureError, Next, Packet, PacketSource, SourceStats};
use crate::time::Ts;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// Kernel ABI values from `linux/if_packet.h` (stable userspace ABI).
mod sys {
    pub const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
    pub const PACKET_RX_RING: libc::c_int = 5;
    pub const PACKET_STATISTICS: libc::c_int = 6;
    pub const PACKET_VERSION: libc::c_int = 10;
    pub const PACKET_FANOUT: libc::c_int = 18;
    pub const TPACKET_V3: libc::c_int = 2;
    pub const PACKET_MR_PROMISC: libc::c_ushort = 1;
    pub const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
    pub const SO_ATTACH_FILTER: libc::c_int = 26;
    pub const ETH_P_ALL: u16 = 0x0003;

    pub const TP_STATUS_KERNEL: u32 = 0;
    pub const TP_STATUS_USER: u32 = 1;
    pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
    pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

    /// `struct tpacket_req3`.
    #[repr(C)]
    #[derive(Default)]
    pub struct TpacketReq3 {
        pub tp_block_size: u32,
        pub tp_block_nr: u32,
        pub tp_frame_size: u32,
        pub tp_frame_nr: u32,
        pub tp_retire_blk_tov: u32,
        pub tp_sizeof_priv: u32,
        pub tp_feature_req_word: u32,
    }

    /// `struct tpacket_stats_v3`.
    #[repr(C)]
    #[derive(Default)]
    pub struct TpacketStatsV3 {
        pub tp_packets: u32,
        pub tp_drops: u32,
        pub tp_freeze_q_cnt: u32,
    }

    /// `struct packet_mreq`.
    #[repr(C)]
    #[derive(Default)]
    pub struct PacketMreq {
        pub mr_ifindex: libc::c_int,
        pub mr_type: libc::c_ushort,
        pub mr_alen: libc::c_ushort,
        pub mr_address: [u8; 8],
    }

    /// `struct sock_filter` (one classic BPF instruction).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct SockFilter {
        pub code: u16,
        pub jt: u8,
        pub jf: u8,
        pub k: u32,
    }

    /// `struct sock_fprog`.
    #[repr(C)]
    pub struct SockFprog {
        pub len: libc::c_ushort,
        pub filter: *const SockFilter,
    }
}

/// Byte layout of `struct tpacket_block_desc` / `tpacket_hdr_v1` and
/// `struct tpacket3_hdr` (offsets into a block; host byte order).
mod layout {
    /// `hdr.bh1.block_status`.
    pub const BLOCK_STATUS: usize = 8;
    /// `hdr.bh1.num_pkts`.
    pub const NUM_PKTS: usize = 12;
    /// `hdr.bh1.offset_to_first_pkt`.
    pub const FIRST_PKT: usize = 16;
    /// `hdr.bh1.blk_len`.
    pub const BLK_LEN: usize = 20;
    /// Size of the block descriptor.
    pub const BLOCK_HDR: usize = 48;

    /// Frame header fields, relative to the frame.
    pub const TP_NEXT_OFFSET: usize = 0;
    pub const TP_SEC: usize = 4;
    pub const TP_NSEC: usize = 8;
    pub const TP_SNAPLEN: usize = 12;
    pub const TP_LEN: usize = 16;
    pub const TP_STATUS: usize = 20;
    pub const TP_MAC: usize = 24;
    pub const TP_VLAN_TCI: usize = 32;
    pub const TP_VLAN_TPID: usize = 36;
    /// Size of `struct tpacket3_hdr`.
    pub const FRAME_HDR: usize = 48;
}

/// `PACKET_FANOUT` modes (how the kernel picks a socket of the group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanoutMode {
    /// By the packet's flow hash (`PACKET_FANOUT_HASH`): both directions of a
    /// flow go to the same socket. The mode to use for connection tracking.
    Hash,
    /// Round robin (`PACKET_FANOUT_LB`); splits flows.
    LoadBalance,
    /// By the receiving CPU (`PACKET_FANOUT_CPU`).
    Cpu,
    /// By the NIC's receive queue (`PACKET_FANOUT_QM`).
    QueueMapping,
}

impl FanoutMode {
    fn kernel_value(self) -> u32 {
        match self {
            FanoutMode::Hash => 0,
            FanoutMode::LoadBalance => 1,
            FanoutMode::Cpu => 2,
            FanoutMode::QueueMapping => 5,
        }
    }
}

/// Membership of a `PACKET_FANOUT` group: every socket on the host (per
/// network namespace) that joins the same group id with the same mode shares
/// the interface's packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fanout {
    /// Group id (per host; give each interface's group its own id).
    pub group: u16,
    /// How packets are spread over the group.
    pub mode: FanoutMode,
    /// `PACKET_FANOUT_FLAG_DEFRAG`: the kernel reassembles IPv4 fragments
    /// before hashing, so all fragments of a datagram reach one socket (they
    /// are then delivered as one reassembled packet).
    pub defrag: bool,
}

impl Fanout {
    /// Hash mode with IPv4 defragmentation: the setting for connection logs.
    pub fn hash(group: u16) -> Fanout {
        Fanout {
            group,
            mode: FanoutMode::Hash,
            defrag: true,
        }
    }

    fn sockopt_value(self) -> u32 {
        let flags = if self.defrag {
            sys::PACKET_FANOUT_FLAG_DEFRAG
        } else {
            0
        };
        u32::from(self.group) | ((self.mode.kernel_value() | flags) << 16)
    }
}

/// Options for [`AfPacket::open`]. Start from [`AfPacketOptions::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfPacketOptions {
    /// Interface name (e.g. `eth0`).
    pub iface: String,
    /// Bytes per ring block: a multiple of the page size, and a power of two.
    /// The largest packet that fits whole is a block minus 96 bytes of headers.
    pub block_size: u32,
    /// Number of blocks (ring memory = `block_size * block_count`).
    pub block_count: u32,
    /// Nominal frame size (`tp_frame_size`): a multiple of 16 that divides
    /// `block_size`. TPACKET_V3 packs frames by their real size; this only
    /// sizes the kernel's frame count.
    pub frame_size: u32,
    /// Milliseconds after which the kernel hands over a partly filled block
    /// (`tp_retire_blk_tov`); bounds the latency at low packet rates.
    pub block_timeout_ms: u32,
    /// Milliseconds [`PacketSource::next`] waits for a block before returning
    /// [`Next::Idle`] (never blocks forever; 0 = do not wait).
    pub poll_timeout_ms: u32,
    /// Put the interface into promiscuous mode (`PACKET_MR_PROMISC`; dropped
    /// automatically when the socket closes).
    pub promiscuous: bool,
    /// A BPF filter expression (tcpdump syntax), compiled by libpcap for
    /// Ethernet and attached to the socket (`SO_ATTACH_FILTER`). The kernel
    /// runs it on the frame *after* stripping an outer VLAN tag, so `vlan`
    /// primitives do not match outer tags here.
    pub filter: Option<String>,
    /// Join a fanout group (after binding).
    pub fanout: Option<Fanout>,
}

impl AfPacketOptions {
    /// Defaults: 1 MiB blocks x 64 (64 MiB ring), 2048-byte nominal frames,
    /// 10 ms block timeout, 100 ms poll timeout, promiscuous, no filter, no
    /// fanout.
    pub fn new(iface: impl Into<String>) -> AfPacketOptions {
        AfPacketOptions {
            iface: iface.into(),
            block_size: 1 << 20,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 10,
            poll_timeout_ms: 100,
            promiscuous: true,
            filter: None,
            fanout: None,
        }
    }
}

/// Capture counters of an [`AfPacket`] socket, 64-bit running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AfPacketStats {
    /// Packets the socket received (`tp_packets`, which the kernel reports
    /// including drops).
    pub packets: u64,
    /// Packets dropped because the ring was full (`tp_drops`).
    pub drops: u64,
    /// Times the ring was frozen because it was full (`tp_freeze_q_cnt`).
    pub freeze_q_cnt: u64,
    /// Blocks or frames whose headers failed the bounds checks (skipped).
    pub ring_errors: u64,
}

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

/// Converts libpcap's compiled program, as printed by its `Display`
/// (`"code jt jf k"`), into kernel socket-filter instructions.
fn parse_bpf_insn(s: &str) -> Option<sys::SockFilter> {
    let mut it = s.split_whitespace();
    let code = it.next()?.parse().ok()?;
    let jt = it.next()?.parse().ok()?;
    let jf = it.next()?.parse().ok()?;
    let k = it.next()?.parse().ok()?;
    it.next()
        .is_none()
        .then_some(sys::SockFilter { code, jt, jf, k })
}

/// Compiles a tcpdump filter expression for Ethernet with libpcap (on a dead
/// handle) into kernel socket-filter instructions.
fn compile_filter(iface: &str, expr: &str) -> Result<Vec<sys::SockFilter>, CaptureError> {
    let err = |reason: String| CaptureError::Filter {
        iface: iface.to_string(),
        filter: expr.to_string(),
        reason,
    };
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| err(e.to_string()))?;
    let prog = dead.compile(expr, true).map_err(|e| match e {
        pcap::Error::PcapError(s) => err(s),
        e => err(e.to_string()),
    })?;
    let insns: Option<Vec<_>> = prog
        .get_instructions()
        .iter()
        .map(|i| parse_bpf_insn(&i.to_string()))
        .collect();
    let insns = insns.ok_or_else(|| err("unexpected compiled instruction".into()))?;
    if insns.is_empty() || insns.len() > usize::from(u16::MAX) {
        return Err(err(format!("compiled to {} instructions", insns.len())));
    }
    Ok(insns)
}

/// The mmap'ed receive ring.
struct Ring {
    base: NonNull<u8>,
    len: usize,
    block_size: usize,
    block_count: usize,
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
    fn status(&self, i: usize) -> u32 {
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
    fn release(&self, i: usize) {
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
    fn block(&self, i: usize) -> &[u8] {
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

fn os_err(iface: &str, op: &str, e: io::Error) -> CaptureError {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => CaptureError::PermissionDenied {
            iface: iface.to_string(),
            reason: format!("{op}: {e}"),
        },
        Some(libc::ENODEV) | Some(libc::ENXIO) => CaptureError::NoSuchInterface {
            iface: iface.to_string(),
        },
        _ => CaptureError::Live {
            iface: iface.to_string(),
            op: op.to_string(),
            reason: e.to_string(),
        },
    }
}

/// `setsockopt` with a plain-old-data value.
fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` points to a live, initialised T of size_of::<T>() bytes, and
    // every T used here is a #[repr(C)] struct or integer the kernel expects
    // for this option.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            v as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl AfPacket {
    /// Opens the socket, sets up and maps the ring, attaches the filter,
    /// binds to the interface, enables promiscuous mode and joins the fanout
    /// group, in that order (so no packet of another interface, or one the
    /// filter rejects, ever reaches the ring).
    ///
    /// Errors: [`CaptureError::NoSuchInterface`],
    /// [`CaptureError::PermissionDenied`] (needs root or `CAP_NET_RAW`),
    /// [`CaptureError::Filter`], [`CaptureError::Live`] (naming the failing
    /// step, e.g. invalid ring sizes or a fanout group with another mode).
    pub fn open(opts: &AfPacketOptions) -> Result<AfPacket, CaptureError> {
        let iface = opts.iface.as_str();
        let bad = |reason: String| CaptureError::Live {
            iface: iface.to_string(),
            op: "ring options".into(),
            reason,
        };
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u32;
        let (bs, bc, fs) = (opts.block_size, opts.block_count, opts.frame_size);
        if bs == 0 || bs % page != 0 || !bs.is_power_of_two() {
            return Err(bad(format!(
                "block size {bs} must be a power of two and a multiple of the page size {page}"
            )));
        }
        if fs < 64 || fs % 16 != 0 || bs % fs != 0 {
            return Err(bad(format!(
                "frame size {fs} must be a multiple of 16, at least 64, and divide the block size {bs}"
            )));
        }
        if bc == 0 || (bs as u64) * (bc as u64) > (1u64 << 40) {
            return Err(bad(format!("block count {bc} out of range")));
        }
        let frame_nr = (bs / fs)
            .checked_mul(bc)
            .ok_or_else(|| bad("too many frames".into()))?;
        let filter = match &opts.filter {
            Some(expr) => Some(compile_filter(iface, expr)?),
            None => None,
        };
        let ifindex =
            super::live::if_index(iface).ok_or_else(|| CaptureError::NoSuchInterface {
                iface: iface.to_string(),
            })?;

        // Protocol 0: the socket receives nothing until bind() names a
        // protocol, so the ring only ever sees this interface's packets.
        // SAFETY: plain syscall with integer arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(os_err(iface, "socket", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_VERSION, &sys::TPACKET_V3)
            .map_err(|e| os_err(iface, "PACKET_VERSION TPACKET_V3", e))?;
        let req = sys::TpacketReq3 {
            tp_block_size: bs,
            tp_block_nr: bc,
            tp_frame_size: fs,
            tp_frame_nr: frame_nr,
            tp_retire_blk_tov: opts.block_timeout_ms,
            ..Default::default()
        };
        setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_RX_RING, &req)
            .map_err(|e| os_err(iface, "PACKET_RX_RING", e))?;
        let len = bs as usize * bc as usize;
        // SAFETY: mapping a fresh region (addr NULL) of the ring's size from
        // the packet socket, as the kernel's PACKET_RX_RING API prescribes.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os_err(iface, "mmap ring", io::Error::last_os_error()));
        }
        let ring = Ring {
            base: NonNull::new(p as *mut u8).ok_or_else(|| bad("mmap returned NULL".into()))?,
            len,
            block_size: bs as usize,
            block_count: bc as usize,
        };

        if let Some(insns) = &filter {
            let prog = sys::SockFprog {
                len: insns.len() as libc::c_ushort,
                filter: insns.as_ptr(),
            };
            // The kernel copies the program during the call; `insns` outlives it.
            setsockopt(&fd, libc::SOL_SOCKET, sys::SO_ATTACH_FILTER, &prog)
                .map_err(|e| os_err(iface, "SO_ATTACH_FILTER", e))?;
        }

        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = sys::ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll and the length matches it.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(os_err(iface, "bind", io::Error::last_os_error()));
        }
        if opts.promiscuous {
            let mreq = sys::PacketMreq {
                mr_ifindex: ifindex as i32,
                mr_type: sys::PACKET_MR_PROMISC,
                ..Default::default()
            };
            setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|e| os_err(iface, "PACKET_ADD_MEMBERSHIP promiscuous", e))?;
        }
        if let Some(f) = opts.fanout {
            let v = f.sockopt_value();
            setsockopt(&fd, libc::SOL_PACKET, sys::PACKET_FANOUT, &v).map_err(|e| {
                os_err(
                    iface,
                    &format!(
                        "PACKET_FANOUT group {} ({:?}; a group's members must use the same mode)",
                        f.group, f.mode
                    ),
                    e,
                )
            })?;
        }
        Ok(AfPacket {
            ring,
            fd,
            iface: iface.to_string(),
            poll_timeout_ms: opts.poll_timeout_ms.min(i32::MAX as u32) as i32,
            cur: 0,
            walk: None,
            release: None,
            scratch: Vec::new(),
            totals: AfPacketStats::default(),
        })
    }

    /// The interface this socket captures on.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Reads the kernel counters (which the kernel resets on every read) into
    /// the running totals and returns them.
    pub fn totals(&mut self) -> Result<AfPacketStats, CaptureError> {
        let mut st = sys::TpacketStatsV3::default();
        let mut len = std::mem::size_of::<sys::TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: `st` is a writable tpacket_stats_v3 and `len` its size; the
        // kernel writes at most `len` bytes.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                sys::PACKET_STATISTICS,
                &mut st as *mut sys::TpacketStatsV3 as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 {
            return Err(os_err(
                &self.iface,
                "PACKET_STATISTICS",
                io::Error::last_os_error(),
            ));
        }
        self.totals.packets += u64::from(st.tp_packets);
        self.totals.drops += u64::from(st.tp_drops);
        self.totals.freeze_q_cnt += u64::from(st.tp_freeze_q_cnt);
        Ok(self.totals)
    }

    /// Waits up to the poll timeout for the socket to become readable.
    fn poll(&self) -> Result<(), CaptureError> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let r = unsafe { libc::poll(&mut pfd, 1, self.poll_timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // A signal (e.g. SIGTERM for shutdown) is just an idle moment.
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(os_err(&self.iface, "poll", e))
            };
        }
        if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            let mut err: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `err` is a writable int and `len` its size.
            unsafe {
                libc::getsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    &mut err as *mut libc::c_int as *mut libc::c_void,
                    &mut len,
                );
            }
            let e = if err == libc::ENETDOWN {
                CaptureError::Live {
                    iface: self.iface.clone(),
                    op: "poll".into(),
                    reason: "the interface went down".into(),
                }
            } else {
                os_err(&self.iface, "poll", io::Error::from_raw_os_error(err))
            };
            return Err(e);
        }
        Ok(())
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

    #[test]
    fn fanout_sockopt_value() {
        assert_eq!(Fanout::hash(7).sockopt_value(), 7 | (0x8000 << 16));
        let f = Fanout {
            group: 0xffff,
            mode: FanoutMode::Cpu,
            defrag: false,
        };
        assert_eq!(f.sockopt_value(), 0xffff | (2 << 16));
    }

    #[test]
    fn bpf_text_parses() {
        assert_eq!(
            parse_bpf_insn("40 0 0 12"),
            Some(sys::SockFilter {
                code: 40,
                jt: 0,
                jf: 0,
                k: 12
            })
        );
        assert_eq!(parse_bpf_insn("40 0 0"), None);
        assert_eq!(parse_bpf_insn("40 0 0 12 1"), None);
        assert_eq!(parse_bpf_insn("x 0 0 12"), None);
    }

    #[test]
    fn filter_compiles_to_kernel_instructions() {
        let p = compile_filter("lo", "udp port 53").unwrap();
        assert!(p.len() > 3);
        assert_eq!(p.last().unwrap().code & 0x07, 0x06, "ends in a BPF_RET");
        let e = compile_filter("eth9", "udp port nope").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("eth9") && msg.contains("udp port nope"),
            "{msg}"
        );
    }

    #[test]
    fn missing_interface_is_named() {
        let e = match AfPacket::open(&AfPacketOptions::new("cs-no-such0")) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing interface"),
        };
        assert!(matches!(e, CaptureError::NoSuchInterface { .. }), "{e}");
        assert!(e.to_string().contains("cs-no-such0"));
    }

    #[test]
    fn bad_ring_sizes_are_rejected() {
        let mut o = AfPacketOptions::new("lo");
        o.block_size = 3000;
        let e = AfPacket::open(&o).err().unwrap();
        assert!(e.to_string().contains("block size"), "{e}");
        let mut o = AfPacketOptions::new("lo");
        o.frame_size = 100;
        let e = AfPacket::open(&o).err().unwrap();
        assert!(e.to_string().contains("frame size"), "{e}");
    }
}
