//! Live capture through libpcap (the `pcap` crate).
//!
//! Owns one activated libpcap handle on one interface: its options (snaplen,
//! promiscuous mode, kernel buffer size, immediate mode, timestamp precision,
//! BPF filter), turning `pcap_next_ex` results into [`Next`] values (a short
//! read timeout becomes [`Next::Idle`], so a read never blocks forever), and
//! turning libpcap's 32-bit counters into 64-bit running totals.
//!
//! It must not decode packets, know about flows or threads, or spread packets
//! over processes (libpcap has no `PACKET_FANOUT`; that is
//! [`super::afpacket`]'s job).

use super::{CaptureError, Next, Packet, PacketSource, SourceStats};
use crate::time::Ts;
use pcap::{Active, Capture, Precision};
use std::os::fd::{AsRawFd, RawFd};

/// Options for [`PcapLive::open`]. Start from [`PcapOptions::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapOptions {
    /// Interface name (e.g. `eth0`; `any` for libpcap's cooked all-interfaces capture).
    pub iface: String,
    /// Bytes captured per packet.
    pub snaplen: u32,
    /// Put the interface into promiscuous mode.
    pub promiscuous: bool,
    /// Kernel capture buffer in bytes (libpcap's default is 2 MiB).
    pub buffer_size: u32,
    /// Deliver packets as they arrive instead of waiting for a full buffer.
    pub immediate: bool,
    /// Milliseconds [`PacketSource::next`] waits, once the buffer is drained,
    /// before returning [`Next::Idle`]. The handle runs in non-blocking mode
    /// and this wait is our own `poll`, because libpcap's blocking read keeps
    /// polling past its timeout and would never return on a silent interface.
    pub poll_timeout_ms: u32,
    /// A BPF filter expression (tcpdump syntax).
    pub filter: Option<String>,
    /// Ask for nanosecond timestamps (used when libpcap grants them;
    /// microseconds otherwise).
    pub nanosecond: bool,
}

impl PcapOptions {
    /// Defaults: snaplen 262144, promiscuous, 32 MiB buffer, immediate mode,
    /// 100 ms read timeout, no filter, nanosecond timestamps.
    pub fn new(iface: impl Into<String>) -> PcapOptions {
        PcapOptions {
            iface: iface.into(),
            snaplen: 262_144,
            promiscuous: true,
            buffer_size: 32 << 20,
            immediate: true,
            poll_timeout_ms: 100,
            filter: None,
            nanosecond: true,
        }
    }
}

/// A 64-bit running total over a 32-bit counter that wraps (libpcap's
/// `u_int` statistics on long runs). Assumes fewer than 2^32 increments
/// between two updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WrapCounter {
    last: u32,
    total: u64,
}

impl WrapCounter {
    /// Feeds the counter's current 32-bit value; returns the 64-bit total.
    pub fn update(&mut self, now: u32) -> u64 {
        self.total += u64::from(now.wrapping_sub(self.last));
        self.last = now;
        self.total
    }

    /// The total so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// A live libpcap capture on one interface.
pub struct PcapLive {
    cap: Capture<Active>,
    /// libpcap's socket, polled while the buffer is drained.
    fd: RawFd,
    /// The last read found nothing buffered: wait before the next one.
    drained: bool,
    poll_timeout_ms: i32,
    iface: String,
    linktype: u32,
    /// Timestamp fraction units per second (1e9 or 1e6).
    nanos: bool,
    received: WrapCounter,
    dropped: WrapCounter,
    if_dropped: WrapCounter,
}

extern "C" {
    // From libpcap (linked by the `pcap` crate), which does not wrap it.
    fn pcap_get_tstamp_precision(p: *mut std::ffi::c_void) -> std::ffi::c_int;
}

/// libpcap's `PCAP_TSTAMP_PRECISION_NANO`.
const PCAP_TSTAMP_PRECISION_NANO: std::ffi::c_int = 1;

/// libpcap's own message without the crate's "libpcap error: " prefix.
fn pcap_msg(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s,
        e => e.to_string(),
    }
}

fn open_error(iface: &str, op: &str, e: pcap::Error) -> CaptureError {
    let reason = pcap_msg(e);
    let lower = reason.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        CaptureError::PermissionDenied {
            iface: iface.to_string(),
            reason,
        }
    } else if lower.contains("no such device") {
        CaptureError::NoSuchInterface {
            iface: iface.to_string(),
        }
    } else {
        CaptureError::Live {
            iface: iface.to_string(),
            op: op.to_string(),
            reason,
        }
    }
}

/// Interface index, or `None` if there is no such interface.
pub(crate) fn if_index(iface: &str) -> Option<u32> {
    let c = std::ffi::CString::new(iface).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

impl PcapLive {
    /// Opens and activates a capture on `opts.iface` and installs the filter.
    ///
    /// Errors: [`CaptureError::NoSuchInterface`],
    /// [`CaptureError::PermissionDenied`] (needs root or `CAP_NET_RAW`),
    /// [`CaptureError::Filter`], [`CaptureError::Live`] (other libpcap failures).
    pub fn open(opts: &PcapOptions) -> Result<PcapLive, CaptureError> {
        let iface = opts.iface.as_str();
        if iface != "any" && if_index(iface).is_none() {
            return Err(CaptureError::NoSuchInterface {
                iface: iface.to_string(),
            });
        }
        let clamp = |v: u32| v.min(i32::MAX as u32) as i32;
        let mut inactive = Capture::from_device(iface)
            .map_err(|e| open_error(iface, "pcap_create", e))?
            .snaplen(clamp(opts.snaplen))
            .promisc(opts.promiscuous)
            .buffer_size(clamp(opts.buffer_size))
            .immediate_mode(opts.immediate)
            .timeout(clamp(opts.poll_timeout_ms.max(1)));
        if opts.nanosecond {
            inactive = inactive.precision(Precision::Nano);
        }
        let mut cap = inactive
            .open()
            .map_err(|e| open_error(iface, "pcap_activate", e))?
            .setnonblock()
            .map_err(|e| open_error(iface, "pcap_setnonblock", e))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| CaptureError::Filter {
                iface: iface.to_string(),
                filter: f.clone(),
                reason: pcap_msg(e),
            })?;
        }
        // SAFETY: `as_ptr` is the live, activated pcap_t owned by `cap`;
        // pcap_get_tstamp_precision only reads it.
        let nanos = unsafe { pcap_get_tstamp_precision(cap.as_ptr() as *mut std::ffi::c_void) }
            == PCAP_TSTAMP_PRECISION_NANO;
        // NFLOG's TLV headers come in this host's byte order.
        let linktype = crate::capture::linktype::from_host(cap.get_datalink().0 as u32);
        let fd = cap.as_raw_fd();
        Ok(PcapLive {
            cap,
            fd,
            drained: false,
            poll_timeout_ms: clamp(opts.poll_timeout_ms),
            iface: iface.to_string(),
            linktype,
            nanos,
            received: WrapCounter::default(),
            dropped: WrapCounter::default(),
            if_dropped: WrapCounter::default(),
        })
    }

    /// The interface this handle captures on.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The link type libpcap reports for the interface (`LINKTYPE_*`; NFLOG
    /// on a big-endian host as [`crate::capture::linktype::NFLOG_BE`]).
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Whether packet timestamps have nanosecond (not microsecond) resolution.
    pub fn nanosecond(&self) -> bool {
        self.nanos
    }
}

/// Waits up to `timeout_ms` for `fd` to become readable (or to report an
/// error, which the following read will pick up). A signal ends the wait early.
fn wait_readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1; `fd` is libpcap's open socket.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    r > 0
}

impl PacketSource for PcapLive {
    fn is_live(&self) -> bool {
        true
    }
    /// A buffered packet, or — once the buffer is drained — [`Next::Idle`]
    /// right away; the call after that waits up to the poll timeout for a
    /// packet and returns [`Next::Idle`] if none came.
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.drained {
            if !wait_readable(self.fd, self.poll_timeout_ms) {
                return Ok(Next::Idle);
            }
            self.drained = false;
        }
        match self.cap.next_packet() {
            Ok(p) => {
                let h = p.header;
                // time_t / suseconds_t are narrower than i64 on some targets.
                #[allow(clippy::useless_conversion)]
                let (secs, frac) = (i64::from(h.ts.tv_sec), i64::from(h.ts.tv_usec));
                let frac = if self.nanos { frac } else { frac * 1000 };
                Ok(Next::Packet(Packet {
                    ts: Ts::from_parts(secs, frac),
                    wire_len: h.len,
                    linktype: self.linktype,
                    data: p.data,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                self.drained = true;
                Ok(Next::Idle)
            }
            Err(pcap::Error::NoMorePackets) => Ok(Next::End),
            Err(e) => Err(CaptureError::Live {
                iface: self.iface.clone(),
                op: "read".into(),
                reason: pcap_msg(e),
            }),
        }
    }

    fn stats(&mut self) -> Option<SourceStats> {
        let s = self.cap.stats().ok()?;
        Some(SourceStats {
            received: self.received.update(s.received),
            dropped: self.dropped.update(s.dropped),
            if_dropped: self.if_dropped.update(s.if_dropped),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_counter_counts_through_wraps() {
        let mut c = WrapCounter::default();
        assert_eq!(c.update(0), 0);
        assert_eq!(c.update(100), 100);
        assert_eq!(c.update(u32::MAX - 5), u64::from(u32::MAX) - 5);
        // Wraps: MAX-5 -> 10 is 16 increments.
        assert_eq!(c.update(10), u64::from(u32::MAX) + 11);
        // Several laps, each under 2^32 increments.
        let mut v: u32 = 10;
        let mut expect = c.total();
        for _ in 0..10 {
            v = v.wrapping_add(3_000_000_000);
            expect += 3_000_000_000;
            assert_eq!(c.update(v), expect);
        }
        assert!(c.total() > 5 * u64::from(u32::MAX));
        // Unchanged value adds nothing.
        assert_eq!(c.update(v), expect);
    }

    #[test]
    fn missing_interface_is_named() {
        let e = match PcapLive::open(&PcapOptions::new("cs-no-such0")) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing interface"),
        };
        assert!(matches!(e, CaptureError::NoSuchInterface { .. }), "{e}");
        assert_eq!(e.to_string(), "interface cs-no-such0: no such interface");
    }

    #[test]
    fn open_error_classification() {
        let e = open_error(
            "eth0",
            "pcap_activate",
            pcap::Error::PcapError(
                "eth0: You don't have permission to perform this capture on that device (socket: Operation not permitted)".into(),
            ),
        );
        assert!(matches!(e, CaptureError::PermissionDenied { .. }));
        assert!(e
            .to_string()
            .starts_with("interface eth0: permission denied"));
        let e = open_error(
            "eth0",
            "pcap_activate",
            pcap::Error::PcapError("something else".into()),
        );
        assert_eq!(
            e.to_string(),
            "interface eth0: pcap_activate: something else"
        );
    }
}
