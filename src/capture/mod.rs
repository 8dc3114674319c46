//! Packet sources.
//!
//! Owns reading packets from the outside world: capture files (pcap and pcapng,
//! read by our own parser so errors can name the byte offset) and, later, live
//! interfaces. A source hands out one borrowed [`Packet`] at a time; it never
//! decodes packet contents and never looks at flows.

#[cfg(target_os = "linux")]
pub mod afpacket;
pub mod file;
pub mod live;
pub mod merge;

pub use file::CaptureError;

use crate::time::Ts;

/// Link-layer header types (the `LINKTYPE_*` values of pcap/pcapng).
pub mod linktype {
    /// BSD loopback (`DLT_NULL`): 4-byte address family in host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II / 802.3.
    pub const ETHERNET: u32 = 1;
    /// PPP (RFC 1661 framing with protocol field).
    pub const PPP: u32 = 9;
    /// FDDI.
    pub const FDDI: u32 = 10;
    /// Raw IP (the OpenBSD/DLT_RAW value 12 and 14 also map here).
    pub const RAW: u32 = 101;
    /// PPP in HDLC-like framing.
    pub const PPP_HDLC: u32 = 50;
    /// Cisco HDLC (no analyzer in Zeek: decoded as raw IP, as Zeek does).
    pub const C_HDLC: u32 = 104;
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: u32 = 105;
    /// OpenBSD loopback (`DLT_LOOP`): 4-byte address family, network order
    /// (no analyzer in Zeek: decoded as raw IP, as Zeek does).
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// IEEE 802.11 with radiotap header.
    pub const IEEE802_11_RADIOTAP: u32 = 127;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux netfilter NFLOG, its TLV headers (type and length) little-endian.
    pub const NFLOG: u32 = 239;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;

    /// Internal, never in a file: NFLOG whose TLV headers are big-endian.
    ///
    /// NFLOG's TLV type and length fields are in the byte order of the host
    /// that captured them; libpcap swaps them to the reading host's order
    /// when a savefile's byte order differs (`swap_nflog_header`, called
    /// through `pcap_post_process` for pcap and pcapng alike), and Zeek's
    /// NFLog analyzer reads them in host order. In effect they are in the
    /// file's byte order, so the file readers hand out packets of NFLOG
    /// interfaces of big-endian files (pcap magic, pcapng section) with
    /// this value ([`from_file`]), and live captures on a big-endian host
    /// too ([`from_host`]); the packet bytes stay as captured. Link-type
    /// values in files are at most 28 bits (pcap) or 16 bits (pcapng), so
    /// bit 31 cannot collide with one.
    pub const NFLOG_BE: u32 = 0x8000_0000 | NFLOG;

    /// The link type to hand out for packets of an interface of link type
    /// `lt` in a capture file written in big-endian (`big_endian`) or
    /// little-endian byte order: `lt` itself, except NFLOG from a
    /// big-endian file ([`NFLOG_BE`]).
    pub const fn from_file(lt: u32, big_endian: bool) -> u32 {
        if lt == NFLOG && big_endian {
            NFLOG_BE
        } else {
            lt
        }
    }

    /// The link type to hand out for packets libpcap captures live with
    /// link type `lt`: NFLOG's TLV headers are in this host's byte order.
    pub const fn from_host(lt: u32) -> u32 {
        from_file(lt, cfg!(target_endian = "big"))
    }
}

/// One captured packet, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Capture timestamp (network time).
    pub ts: Ts,
    /// Length of the packet on the wire (may exceed `data.len()` with a snaplen).
    pub wire_len: u32,
    /// Link type of the interface the packet was captured on.
    pub linktype: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What a source yields next.
#[derive(Debug)]
pub enum Next<'a> {
    /// A packet.
    Packet(Packet<'a>),
    /// No packet arrived within the source's poll interval (live sources);
    /// the pipeline uses this to check for shutdown and to write stats.
    Idle,
    /// The source is exhausted (end of file).
    End,
}

/// Capture counters of a source (live sources; files report none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Packets received by the capture mechanism.
    pub received: u64,
    /// Packets dropped because the capture buffer was full.
    pub dropped: u64,
    /// Packets dropped by the interface or driver.
    pub if_dropped: u64,
}

/// A packet source: a capture file, a libpcap handle, an AF_PACKET ring.
pub trait PacketSource {
    /// The next packet, borrowed until the following call.
    fn next(&mut self) -> Result<Next<'_>, CaptureError>;
    /// Capture counters, if the source has any (64-bit, wrap-corrected).
    fn stats(&mut self) -> Option<SourceStats> {
        None
    }
    /// Whether packets arrive in real time (then a full worker queue drops
    /// packets instead of stalling the capture).
    fn is_live(&self) -> bool {
        false
    }
    /// The reference-counted buffer the last packet's bytes lie in, when the
    /// source reads into such buffers (classic pcap files): a consumer may
    /// keep it instead of copying the packet. The source never writes a
    /// buffer it handed out again.
    fn shared_block(&self) -> Option<&std::sync::Arc<file::ReadBlock>> {
        None
    }
}

impl<R: std::io::Read> PacketSource for file::FileSource<R> {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        Ok(match self.next_packet()? {
            Some(p) => Next::Packet(p),
            None => Next::End,
        })
    }
    fn shared_block(&self) -> Option<&std::sync::Arc<file::ReadBlock>> {
        file::FileSource::shared_block(self)
    }
}
