//! Setting up the AF_PACKET socket: [`AfPacket::open`] (socket, TPACKET_V3
//! ring request and mmap, BPF filter compiled by libpcap and attached,
//! bind, promiscuous membership, fanout join, in that order), the
//! `PACKET_STATISTICS` counters, waiting for the socket with `poll`, and
//! mapping OS errors to [`CaptureError`]s that name the interface and step.
//!
//! Must not read ring contents (that is `ring`) nor hand out packets.

use super::ring::Ring;
use super::sys;
use super::{AfPacket, AfPacketOptions, AfPacketStats};
use crate::capture::CaptureError;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

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
            crate::capture::live::if_index(iface).ok_or_else(|| CaptureError::NoSuchInterface {
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
    pub(super) fn poll(&self) -> Result<(), CaptureError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
