//! Connection uids: Zeek-shaped (`C` + base62 of 96 bits), derived
//! deterministically from a seed, the connection's canonical 5-tuple and its
//! first packet time, so the same input gives the same uids whatever the
//! number of worker threads.
//!
//! Algorithm (documented so other tools can reproduce it): FNV-1a 64 over
//! `seed (8, LE) ‖ lo_addr (16) ‖ lo_port (2, BE) ‖ hi_addr (16) ‖ hi_port (2, BE)
//! ‖ proto (1) ‖ first-packet time in ns (8, LE)`, where lo/hi are the two
//! endpoints sorted by (address bytes, port) and IPv4 is IPv4-mapped; then
//! `a = mix(h) >> 32`, `b = mix(h ^ 0x9E3779B97F4A7C15)` with SplitMix64's
//! finaliser, and `uid = "C" + b62(a) + b62(b)`, digits least significant first.

use crate::decode::Addr;
use std::fmt;

/// A uid, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uid {
    buf: [u8; 24],
    len: u8,
}

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// SplitMix64's finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Uid {
    /// Builds `prefix` + base62(a) + base62(b).
    pub fn from_words(prefix: u8, a: u64, b: u64) -> Uid {
        let mut u = Uid {
            buf: [0; 24],
            len: 0,
        };
        u.buf[0] = prefix;
        u.len = 1;
        for mut w in [a, b] {
            loop {
                u.buf[u.len as usize] = ALPHABET[(w % 62) as usize];
                u.len += 1;
                w /= 62;
                if w == 0 {
                    break;
                }
            }
        }
        u
    }

    /// The uid of a connection.
    pub fn for_conn(seed: u64, a: (Addr, u16), b: (Addr, u16), proto: u8, first_ns: i64) -> Uid {
        // (`Addr` is ordered like its bytes, compared as one number)
        let (lo, hi) = if (a.0, a.1) <= (b.0, b.1) {
            (a, b)
        } else {
            (b, a)
        };
        let mut h = Fnv::new();
        h.write(&seed.to_le_bytes());
        h.write(&lo.0 .0);
        h.write(&lo.1.to_be_bytes());
        h.write(&hi.0 .0);
        h.write(&hi.1.to_be_bytes());
        h.write(&[proto]);
        h.write(&first_ns.to_le_bytes());
        Uid::from_hash(h.0)
    }

    /// The uid of an IP-level tunnel between two addresses (order-independent).
    pub fn for_ip_tunnel(seed: u64, a: Addr, b: Addr) -> Uid {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = Fnv::new();
        h.write(&seed.to_le_bytes());
        h.write(b"ip-tunnel");
        h.write(&lo.0);
        h.write(&hi.0);
        Uid::from_hash(h.0)
    }

    fn from_hash(h: u64) -> Uid {
        Uid::from_words(b'C', mix(h) >> 32, mix(h ^ 0x9E37_79B9_7F4A_7C15))
    }

    /// Its characters in a fixed block (the first `len` bytes; the rest
    /// zero), for writers that copy a constant size and cut back.
    pub fn block(&self) -> (&[u8; 24], usize) {
        (&self.buf, (self.len as usize).min(self.buf.len()))
    }

    /// The uid text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("C")
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_least_significant_first() {
        assert_eq!(Uid::from_words(b'C', 0, 61).as_str(), "C0Z");
        assert_eq!(Uid::from_words(b'C', 62, 1).as_str(), "C011");
    }

    #[test]
    fn stable_and_direction_independent() {
        let a = (Addr::v4([10, 0, 0, 1]), 40000);
        let b = (Addr::v4([93, 184, 216, 34]), 80);
        let u1 = Uid::for_conn(0, a, b, 6, 1_704_067_200_000_000_000);
        let u2 = Uid::for_conn(0, b, a, 6, 1_704_067_200_000_000_000);
        assert_eq!(u1, u2);
        assert_ne!(u1, Uid::for_conn(1, a, b, 6, 1_704_067_200_000_000_000));
        assert!(u1.as_str().starts_with('C') && u1.as_str().len() >= 12);
    }
}
