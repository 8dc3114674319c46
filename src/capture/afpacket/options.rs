//! What a caller configures an [`AfPacket`](super::AfPacket) with: ring
//! sizes, timeouts, promiscuous mode, the BPF filter, `PACKET_FANOUT`
//! membership ([`Fanout`], [`FanoutMode`] and their kernel encoding); and
//! the counters it reports back ([`AfPacketStats`]).
//!
//! Plain values: must not open sockets or validate sizes against the
//! system (that happens in `AfPacket::open`).

use super::sys;
#[cfg(doc)]
use {
    super::AfPacket,
    crate::capture::{Next, PacketSource},
};

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

    pub(super) fn sockopt_value(self) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
