//! Byte layout of `struct tpacket_block_desc` / `tpacket_hdr_v1` and
//! `struct tpacket3_hdr` (offsets into a block; host byte order).
//!
//! Offsets only: reading them (with bounds checks) is `ring`'s job.

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
