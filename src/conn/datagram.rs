//! The per-packet paths of UDP, ICMP and other IP protocols (checksums,
//! payload sizes, the `D`/`d` and scaled `C`/`c` history letters), and the
//! packet and IP byte counts every transport shares (TCP's machine counts
//! through `Conn::count` too).
//!
//! Must not: show payload to analyzers (the engine does, through
//! `Conn::inspect`) or touch TCP state.

use super::history::bit;
use super::{Conn, ConnConfig, ConnWeird};
use crate::decode::ip::IpPacket;
use crate::stats::{PacketObs, TcpObs};
use crate::time::Ts;

impl Conn {
    pub(super) fn count(
        &mut self,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'_>,
        l4_hdr_len: u32,
        tcp: Option<TcpObs>,
    ) {
        if let Some(s) = self.stats.as_mut() {
            s.observe(&PacketObs::from_ip(now, is_orig, ip, l4_hdr_len, tcp));
        }
        let ip_len = ip.total_len;
        if is_orig {
            self.orig_pkts += 1;
            self.orig_ip_bytes += ip_len as u64;
        } else {
            self.resp_pkts += 1;
            self.resp_ip_bytes += ip_len as u64;
        }
    }

    fn bad_checksum(&mut self, is_orig: bool) {
        let hit = if is_orig {
            self.orig_chk.hit()
        } else {
            self.resp_chk.hit()
        };
        if hit {
            self.history.add(if is_orig { b'C' } else { b'c' });
        }
    }

    /// Processes a UDP packet. Returns the payload to show analyzers, if accepted.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_packet<'a>(
        &mut self,
        cfg: &ConnConfig,
        now: Ts,
        is_orig: bool,
        ip: &IpPacket<'a>,
        ulen: u16,
        checksum: u16,
        wire_complete: bool,
    ) -> bool {
        let len = ip.payload_len;
        let mut validate = !cfg.ignore_checksums && ip.payload.len() as u32 >= len && wire_complete;
        // VXLAN-looking payload to the VXLAN port (`UDP.cc`): a zero checksum
        // is accepted (also over IPv6); a non-zero one is checked, as
        // `Tunnel::validate_vxlan_checksums` defaults to T.
        if validate
            && len > 8 + 8 + 14
            && ip.payload.get(8).is_some_and(|b| b & 0x08 == 0x08)
            && crate::decode::be16(ip.payload, 2) == 4789
        {
            validate = checksum != 0;
        }
        if validate {
            let bad = if ip.is_v6 {
                !ip.transport_checksum_ok(17)
            } else {
                checksum != 0 && !ip.transport_checksum_ok(17)
            };
            if bad {
                self.bad_checksum(is_orig);
                self.raise(ConnWeird::BadUdpChecksum);
                return false;
            }
        }
        if ulen as u32 != len {
            self.raise(ConnWeird::UdpDatagramLengthMismatch);
        }
        self.last = now;
        let plen = ulen as i64 - 8;
        if is_orig {
            self.history.check(bit::UDP_ORIG_DATA, b'D');
            self.orig_len = if self.orig_len < 0 {
                plen
            } else {
                self.orig_len + plen
            };
        } else {
            self.history.check(bit::UDP_RESP_DATA << 16, b'd');
            self.resp_len = if self.resp_len < 0 {
                plen
            } else {
                self.resp_len + plen
            };
        }
        self.count(now, is_orig, ip, 8, None);
        true
    }

    /// Processes an ICMP/ICMPv6 packet.
    pub fn icmp_packet(&mut self, cfg: &ConnConfig, now: Ts, is_orig: bool, ip: &IpPacket<'_>) {
        let len = ip.payload_len;
        if !cfg.ignore_checksums && ip.payload.len() as u32 >= len {
            let ok = if ip.is_v6 {
                ip.transport_checksum_ok(58)
            } else {
                crate::decode::fold(crate::decode::ones_sum(ip.payload, 0)) == 0xffff
            };
            if !ok {
                self.raise(ConnWeird::BadIcmpChecksum);
                return;
            }
        }
        self.last = now;
        if ip.proto == 58 {
            if let Some(w) = super::icmp::icmp6_weird(ip.payload) {
                self.raise(w);
            }
        }
        let plen = len as i64 - 8;
        if is_orig {
            self.orig_len = if self.orig_len < 0 {
                plen
            } else {
                self.orig_len + plen
            };
        } else {
            self.resp_len = if self.resp_len < 0 {
                plen
            } else {
                self.resp_len + plen
            };
        }
        self.count(now, is_orig, ip, 8, None);
    }

    /// Processes a packet of another IP protocol.
    pub fn other_packet(&mut self, now: Ts, is_orig: bool, ip: &IpPacket<'_>) {
        self.last = now;
        self.count(now, is_orig, ip, 0, None);
    }
}
