//! Packet decoding: link layers, IP, transports and tunnels.
//!
//! Owns turning captured bytes into borrowed views: [`link`] strips link-layer
//! framing down to an IP packet, [`ip`] validates and slices IPv4/IPv6 (with
//! extension headers), [`frag`] reassembles IP fragments under hard limits,
//! [`tunnel`] recognises encapsulations (GRE/ERSPAN/PPTP, VXLAN, Geneve,
//! Teredo, AYIYA, GTP-U). Every anomaly is a named [`Weird`], as in Zeek's
//! weird.log. Views check their lengths once; after that no accessor panics.
//!
//! Must not: know about connections, read clocks, or allocate per packet
//! (fragment reassembly is the one bounded exception: it owns buffers for
//! datagrams under reassembly).

mod addr_text;
pub mod frag;
pub mod ip;
pub mod link;
pub mod tunnel;
pub mod weird;

pub use weird::Weird;

/// An IP address stored as 16 bytes (IPv4 as IPv4-mapped IPv6), as Zeek does.
/// Ordered like its bytes (network order).
#[derive(Clone, Copy, Eq, Default)]
pub struct Addr(pub [u8; 16]);

impl std::hash::Hash for Addr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As the derived impl: hash values (and any map order) stay the same.
        self.0.hash(state);
    }
}

impl Addr {
    /// The address as one big-endian number (same order as the bytes).
    #[inline]
    fn as_u128(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }
}

impl PartialEq for Addr {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_u128() == other.as_u128()
    }
}

impl PartialOrd for Addr {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Addr {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_u128().cmp(&other.as_u128())
    }
}

const V4_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

impl Addr {
    /// From four IPv4 bytes.
    pub fn v4(b: [u8; 4]) -> Addr {
        let mut a = [0u8; 16];
        a[..12].copy_from_slice(&V4_PREFIX);
        a[12..].copy_from_slice(&b);
        Addr(a)
    }
    /// From a slice of 4 (IPv4) or 16 (IPv6) bytes; other lengths give `::`.
    pub fn from_slice(b: &[u8]) -> Addr {
        match b.len() {
            4 => Addr::v4([b[0], b[1], b[2], b[3]]),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Addr(a)
            }
            _ => Addr::default(),
        }
    }
    /// Whether this is an IPv4 address.
    pub fn is_v4(&self) -> bool {
        self.as_u128() >> 32 == 0xffff
    }
    /// The standard-library form.
    pub fn to_ip(self) -> std::net::IpAddr {
        if self.is_v4() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                self.0[12], self.0[13], self.0[14], self.0[15],
            ))
        } else {
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(self.0))
        }
    }
    /// From the standard-library form.
    pub fn from_ip(ip: std::net::IpAddr) -> Addr {
        match ip {
            std::net::IpAddr::V4(v) => Addr::v4(v.octets()),
            std::net::IpAddr::V6(v) => Addr(v.octets()),
        }
    }
    /// The IPv4 broadcast address 255.255.255.255.
    pub fn is_v4_broadcast(&self) -> bool {
        self.is_v4() && self.0[12..] == [255, 255, 255, 255]
    }
    /// IPv4 224/4 or IPv6 ff00::/8.
    pub fn is_multicast(&self) -> bool {
        if self.is_v4() {
            self.0[12] & 0xf0 == 0xe0
        } else {
            self.0[0] == 0xff
        }
    }
}

impl Addr {
    /// Appends the address's text, as `Display` writes it (see `addr_text`).
    pub fn push_text(&self, buf: &mut Vec<u8>) {
        addr_text::push(buf, self, false);
    }
    /// Appends the address's text in double quotes (a JSON string).
    pub fn push_quoted(&self, buf: &mut Vec<u8>) {
        addr_text::push(buf, self, true);
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.to_ip(), f)
    }
}

impl std::fmt::Debug for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Reads a big-endian u16 at `off`; 0 when out of range (callers check lengths first).
#[inline]
pub(crate) fn be16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Reads a big-endian u32 at `off`; 0 when out of range.
#[inline]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

/// One's-complement sum of `data` (16-bit big-endian words, odd byte padded), unfolded.
///
/// Sums little-endian 64-bit words into a 128-bit accumulator (an add and
/// an add-with-carry per 8 bytes, two independent chains), folds, and
/// swaps the bytes: the one's-complement sum is independent of byte order
/// (RFC 1071) and 2^16 = 1 modulo 0xffff, so a 64-bit word and every carry
/// out of it count as the sum of their 16-bit words, and the folded result
/// equals the word-by-word big-endian sum.
#[inline]
pub fn ones_sum(data: &[u8], acc: u64) -> u64 {
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u128::from(u64::from_le_bytes(w))
    };
    let (mut s0, mut s1) = (0u128, 0u128);
    let mut pairs = data.chunks_exact(16);
    for c in &mut pairs {
        s0 += word(&c[..8]);
        s1 += word(&c[8..]);
    }
    let mut rest = pairs.remainder();
    if rest.len() >= 8 {
        s0 += word(&rest[..8]);
        rest = &rest[8..];
    }
    let mut t = [0u8; 8];
    t[..rest.len()].copy_from_slice(rest);
    s1 += u128::from(u64::from_le_bytes(t));
    // At most 2^60 words of 2^64 each: no overflow of either half's sum.
    let s = s0 + s1;
    let folded = u128::from(s as u64) + (s >> 64);
    let folded = (folded as u64 & 0xffff_ffff) + (folded >> 32) as u64;
    acc + fold(folded).swap_bytes() as u64
}

/// Folds a one's-complement sum to 16 bits.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod checksum_tests {
    use super::{fold, ones_sum};

    /// RFC 1071's definition, word by word.
    fn reference(data: &[u8], mut acc: u64) -> u64 {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            acc += u16::from_be_bytes([c[0], c[1]]) as u64;
        }
        if let [b] = chunks.remainder() {
            acc += (*b as u64) << 8;
        }
        acc
    }

    #[test]
    fn addr_order_is_byte_order() {
        let mut rnd = crate::conn::service::test_rng(0x1234_5678_9abc_def1);
        for _ in 0..2000 {
            let mut a = [0u8; 16];
            let mut b = [0u8; 16];
            for i in 0..16 {
                a[i] = rnd() as u8 & 3;
                b[i] = rnd() as u8 & 3;
            }
            let (x, y) = (super::Addr(a), super::Addr(b));
            assert_eq!(x.cmp(&y), a.cmp(&b));
            assert_eq!(x == y, a == b);
        }
        assert!(super::Addr::v4([1, 2, 3, 4]).is_v4());
        assert!(!super::Addr([0xfe; 16]).is_v4());
        let mut a = super::Addr::v4([1, 2, 3, 4]).0;
        a[9] = 1;
        assert!(!super::Addr(a).is_v4());
    }

    #[test]
    fn ones_sum_equals_wordwise_definition() {
        let mut rnd = crate::conn::service::test_rng(0x853c_49e6_748f_ea9b);
        for round in 0..20000 {
            let n = (rnd() % 200) as usize;
            let data: Vec<u8> = (0..n)
                .map(|_| match round % 3 {
                    0 => 0xff,
                    1 => 0,
                    _ => rnd() as u8,
                } | if round % 7 == 0 { rnd() as u8 } else { 0 })
                .collect();
            let acc = rnd() % 0x4_0000;
            assert_eq!(
                fold(ones_sum(&data, acc)),
                fold(reference(&data, acc)),
                "{data:?} {acc}"
            );
        }
        // Every length and start alignment over one random buffer, and
        // all-ones data (the most carries).
        let buf: Vec<u8> = (0..3000).map(|_| rnd() as u8).collect();
        let ones = vec![0xffu8; 3000];
        for start in 0..16 {
            for len in (0..200).chain([1499, 1500, 1501, 2960, 2984 - start]) {
                for b in [&buf, &ones] {
                    let d = &b[start..start + len];
                    let acc = rnd() % 0x4_0000;
                    assert_eq!(
                        fold(ones_sum(d, acc)),
                        fold(reference(d, acc)),
                        "{start} {len}"
                    );
                }
            }
        }
        // RFC 1071 section 3's example.
        let ex = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(ones_sum(&ex, 0)), 0xddf2);
    }
}
