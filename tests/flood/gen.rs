//! Flood captures, written as a stream (nothing held in memory): shared by
//! `tests/flood.rs` and `examples/floodgen.rs` (used by `scripts/flood-bench.sh`).
//!
//! Every flood is interleaved with legitimate traffic that must still be
//! logged correctly: one complete TCP connection (or, for the fragment
//! flood, one UDP datagram in two fragments) every `LEGIT_EVERY` flood
//! packets. TCP/UDP checksums are left zero: read with `-C`.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// A legitimate exchange after this many flood packets.
pub const LEGIT_EVERY: u64 = 1000;

/// The floods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flood {
    /// SYNs from random sources to one server.
    Syn,
    /// Distinct UDP flows, one request and one reply each, all left open.
    Flows,
    /// First fragments (more-fragments set) that never complete.
    Frags,
    /// One TCP connection carrying 1-byte segments out of order, with gaps,
    /// then repeated SYNs with new sequence numbers on a second connection.
    Ooo,
}

impl Flood {
    /// From its name.
    pub fn from_name(s: &str) -> Option<Flood> {
        Some(match s {
            "syn" => Flood::Syn,
            "flows" => Flood::Flows,
            "frags" => Flood::Frags,
            "ooo" => Flood::Ooo,
            _ => return None,
        })
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    /// Packets.
    pub packets: u64,
    /// Legitimate exchanges (each one conn.log record).
    pub legit: u64,
}

struct Pcap {
    w: BufWriter<File>,
    ts_us: u64,
    packets: u64,
}

impl Pcap {
    fn new(path: &Path) -> Pcap {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path).expect("create pcap"));
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&h).unwrap();
        Pcap {
            w,
            ts_us: 1_700_000_000_000_000,
            packets: 0,
        }
    }

    fn frame(&mut self, ip: &[u8]) {
        // 1 µs apart: a flood of a million packets per second.
        self.ts_us += 1;
        let len = (14 + ip.len()) as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((self.ts_us / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((self.ts_us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.w.write_all(&h).unwrap();
        self.w
            .write_all(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00])
            .unwrap();
        self.w.write_all(ip).unwrap();
        self.packets += 1;
    }
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut v = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        (id >> 8) as u8,
        id as u8,
        (frag >> 8) as u8,
        frag as u8,
        64,
        proto,
        0,
        0,
    ];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    let mut sum: u32 = 0;
    for c in v.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;

fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(20 + payload.len());
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(payload);
    v
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Legitimate exchange `i`: a complete TCP connection 192.168.77.x → 192.168.1.1:80
/// (handshake, 5 bytes each way, FIN both ways): conn_state SF.
fn legit_tcp(p: &mut Pcap, i: u64) {
    let c = [192, 168, 77, (i % 250) as u8 + 1];
    let s = [192, 168, 1, 1];
    let cp = 20000 + (i % 40000) as u16;
    let (a, b) = (1000u32, 5000u32);
    let pk = |p: &mut Pcap, fwd: bool, seq, ack, fl, pl: &[u8]| {
        let (src, dst, sp, dp) = if fwd { (c, s, cp, 80) } else { (s, c, 80, cp) };
        p.frame(&ipv4(
            src,
            dst,
            6,
            1,
            0x4000,
            &tcp(sp, dp, seq, ack, fl, pl),
        ));
    };
    pk(p, true, a, 0, SYN, b"");
    pk(p, false, b, a + 1, SYN | ACK, b"");
    pk(p, true, a + 1, b + 1, ACK, b"");
    pk(p, true, a + 1, b + 1, ACK | PSH, b"hello");
    pk(p, false, b + 1, a + 6, ACK | PSH, b"world");
    pk(p, true, a + 6, b + 6, ACK | FIN, b"");
    pk(p, false, b + 6, a + 7, ACK | FIN, b"");
    pk(p, true, a + 7, b + 7, ACK, b"");
}

/// Legitimate fragmented datagram `i`: UDP 192.168.77.x:5353+i → 192.168.1.2:9999,
/// 1000 bytes of payload in two fragments (orig_bytes 1000).
fn legit_frag(p: &mut Pcap, i: u64) {
    let c = [192, 168, 77, (i % 250) as u8 + 1];
    let s = [192, 168, 1, 2];
    let d = udp(30000 + (i % 30000) as u16, 9999, &[0x55; 1000]);
    let id = 40000 + (i % 20000) as u16;
    p.frame(&ipv4(c, s, 17, id, 0x2000, &d[..504]));
    p.frame(&ipv4(c, s, 17, id, 504 / 8, &d[504..]));
}

/// Writes `n` flood packets (plus the legitimate traffic) to `path`.
pub fn write(flood: Flood, n: u64, path: &Path) -> Written {
    let mut p = Pcap::new(path);
    let mut rng = Rng(0x5eed ^ n);
    let mut legit = 0;
    match flood {
        Flood::Ooo => {
            // One connection: handshake, then `n` 1-byte segments, each
            // above the last with a gap, sent in descending order in blocks
            // (every block is a run of out-of-order ranges), then FINs.
            let (c, s) = ([10, 1, 0, 1], [10, 2, 0, 1]);
            let (a, b) = (1u32 << 20, 7u32 << 20);
            let pk = |p: &mut Pcap, fwd: bool, seq, ack, fl, pl: &[u8]| {
                let (src, dst, sp, dp) = if fwd {
                    (c, s, 40000, 8080)
                } else {
                    (s, c, 8080, 40000)
                };
                p.frame(&ipv4(
                    src,
                    dst,
                    6,
                    1,
                    0x4000,
                    &tcp(sp, dp, seq, ack, fl, pl),
                ));
            };
            pk(&mut p, true, a, 0, SYN, b"");
            pk(&mut p, false, b, a + 1, SYN | ACK, b"");
            pk(&mut p, true, a + 1, b + 1, ACK, b"");
            let block = 64u64;
            let mut i = 0;
            while i < n {
                let m = block.min(n - i);
                for k in (0..m).rev() {
                    let off = ((i + k) * 2) as u32;
                    pk(&mut p, true, a + 2 + off, b + 1, ACK, b"x");
                }
                i += m;
            }
            let end = a + 2 + (n * 2) as u32;
            pk(&mut p, true, end, b + 1, ACK | FIN, b"");
            pk(&mut p, false, b + 1, end + 1, ACK | FIN, b"");
            // Repeated RSTs with new sequence numbers on a second
            // connection: each adds an `R` to the history (Zeek's repeat
            // rule), up to the bound.
            let c2 = [10, 3, 0, 1];
            let pk2 = |p: &mut Pcap, fwd: bool, seq, ack, fl| {
                let (src, dst, sp, dp) = if fwd {
                    (c2, s, 40001, 8080)
                } else {
                    (s, c2, 8080, 40001)
                };
                p.frame(&ipv4(
                    src,
                    dst,
                    6,
                    1,
                    0x4000,
                    &tcp(sp, dp, seq, ack, fl, b""),
                ));
            };
            pk2(&mut p, true, a, 0, SYN);
            pk2(&mut p, false, b, a + 1, SYN | ACK);
            pk2(&mut p, true, a + 1, b + 1, ACK);
            for k in 0..1000u32 {
                pk2(&mut p, true, a + 1 + k * 3, b + 1, 0x04);
            }
            legit_tcp(&mut p, 0);
            legit += 1;
        }
        _ => {
            for i in 0..n {
                if i % LEGIT_EVERY == LEGIT_EVERY / 2 {
                    if flood == Flood::Frags {
                        legit_frag(&mut p, legit);
                    } else {
                        legit_tcp(&mut p, legit);
                    }
                    legit += 1;
                }
                let r = rng.next();
                let src = [
                    10 + (r % 100) as u8,
                    (r >> 8) as u8,
                    (r >> 16) as u8,
                    (r >> 24) as u8,
                ];
                let sp = 1024 + ((r >> 32) % 60000) as u16;
                match flood {
                    Flood::Syn => {
                        let seg = tcp(sp, 80, (r >> 16) as u32, 0, SYN, b"");
                        p.frame(&ipv4(src, [172, 16, 0, 1], 6, 1, 0x4000, &seg));
                    }
                    Flood::Flows => {
                        let dst = [172, 16, (i >> 8) as u8, i as u8];
                        p.frame(&ipv4(src, dst, 17, 1, 0, &udp(sp, 53, b"query")));
                        p.frame(&ipv4(dst, src, 17, 1, 0, &udp(53, sp, b"reply")));
                    }
                    Flood::Frags => {
                        // 64 bytes of a datagram whose rest never comes.
                        let id = (r >> 40) as u16;
                        p.frame(&ipv4(src, [172, 16, 0, 2], 17, id, 0x2000, &[0xaa; 64]));
                    }
                    Flood::Ooo => unreachable!(),
                }
            }
        }
    }
    p.w.flush().unwrap();
    Written {
        packets: p.packets,
        legit,
    }
}
