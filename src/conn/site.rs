//! Local networks (`Site::local_nets`), for `local_orig` / `local_resp`.
//!
//! Zeek's default makes `local_nets` equal `Site::private_address_space`
//! (`scripts/base/utils/site.zeek`, `private_address_space_is_local = T`).

use crate::decode::Addr;
use std::str::FromStr;

/// A subnet in 16-byte (IPv4-mapped) form, as one 128-bit number and the
/// mask of its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    /// The address, big-endian (the same order as its bytes), masked.
    net: u128,
    /// The prefix's bits set.
    mask: u128,
}

impl Subnet {
    /// The subnet of `addr` with a prefix of `len` bits of the 128.
    fn new(addr: [u8; 16], len: u8) -> Subnet {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0);
        Subnet {
            net: u128::from_be_bytes(addr) & mask,
            mask,
        }
    }

    /// Whether `a` is inside.
    #[inline]
    pub fn contains(&self, a: &Addr) -> bool {
        u128::from_be_bytes(a.0) & self.mask == self.net
    }
}

impl FromStr for Subnet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_start_matches('[');
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("subnet {s:?} has no /prefix"))?;
        let a = a.trim_end_matches(']');
        let ip: std::net::IpAddr = a
            .parse()
            .map_err(|_| format!("bad address in subnet {s:?}"))?;
        let l: u8 = l
            .parse()
            .map_err(|_| format!("bad prefix length in subnet {s:?}"))?;
        let (addr, len) = match ip {
            std::net::IpAddr::V4(_) => {
                if l > 32 {
                    return Err(format!("prefix length {l} > 32 in {s:?}"));
                }
                (Addr::from_ip(ip).0, l + 96)
            }
            std::net::IpAddr::V6(_) => {
                if l > 128 {
                    return Err(format!("prefix length {l} > 128 in {s:?}"));
                }
                (Addr::from_ip(ip).0, l)
            }
        };
        Ok(Subnet::new(addr, len))
    }
}

/// Zeek's `Site::private_address_space`.
pub const PRIVATE_ADDRESS_SPACE: &[&str] = &[
    "0.0.0.0/8",
    "2002::/24",
    "10.0.0.0/8",
    "2002:a00::/24",
    "100.64.0.0/10",
    "2002:6440::/26",
    "127.0.0.0/8",
    "2002:7f00::/24",
    "169.254.0.0/16",
    "2002:a9fe::/32",
    "172.16.0.0/12",
    "2002:ac10::/28",
    "192.0.0.0/24",
    "2002:c000::/40",
    "192.0.2.0/24",
    "2002:c000:200::/40",
    "192.168.0.0/16",
    "2002:c0a8::/32",
    "198.18.0.0/15",
    "2002:c612::/31",
    "198.51.100.0/24",
    "2002:c633:6400::/40",
    "203.0.113.0/24",
    "2002:cb00:7100::/40",
    "224.0.0.0/24",
    "2002:e000::/40",
    "239.0.0.0/8",
    "2002:ef00::/24",
    "240.0.0.0/4",
    "2002:f000::/20",
    "255.255.255.255/32",
    "2002:ffff:ffff::/48",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
];

/// A set of local networks.
#[derive(Clone, Debug, Default)]
pub struct LocalNets {
    nets: Vec<Subnet>,
}

impl LocalNets {
    /// Zeek's default: the private address space.
    pub fn zeek_default() -> Self {
        let mut n = LocalNets::default();
        for s in PRIVATE_ADDRESS_SPACE {
            if let Ok(sub) = s.parse() {
                n.nets.push(sub);
            }
        }
        n
    }
    /// No local networks (fields are then unset).
    pub fn empty() -> Self {
        LocalNets::default()
    }
    /// Adds a subnet.
    pub fn add(&mut self, s: Subnet) {
        self.nets.push(s);
    }
    /// Whether there are any local networks (else the fields are unset).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
    /// Whether `a` is local.
    pub fn contains(&self, a: &Addr) -> bool {
        self.nets.iter().any(|n| n.contains(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Addr {
        Addr::from_ip(s.parse().unwrap())
    }

    #[test]
    fn defaults_match_zeek() {
        let n = LocalNets::zeek_default();
        assert_eq!(n.nets.len(), PRIVATE_ADDRESS_SPACE.len());
        for l in [
            "10.1.2.3",
            "192.168.2.16",
            "172.28.2.3",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "0.0.0.0",
            "fe80::1",
            "::",
            "fd00::1",
            "2001:0:4137:9e50::1",
        ] {
            assert!(n.contains(&a(l)), "{l}");
        }
        for r in [
            "8.8.8.8",
            "66.59.111.190",
            "224.0.1.1",
            "ff02::1",
            "2001:4860::68",
            "172.32.0.1",
        ] {
            assert!(!n.contains(&a(r)), "{r}");
        }
    }

    /// The mask test against the prefix compared bit by bit, for seeded
    /// random addresses and every prefix length, with addresses that
    /// agree with the subnet up to a chosen bit.
    #[test]
    fn contains_is_the_bitwise_prefix_test() {
        let bit = |a: &[u8; 16], i: usize| a[i / 8] >> (7 - i % 8) & 1;
        let mut rng = crate::detect::rng::Rng::new(7);
        let mut bytes = || {
            let mut b = [0u8; 16];
            for x in b.iter_mut() {
                *x = rng.next() as u8;
            }
            b
        };
        for _ in 0..300 {
            let net = bytes();
            let other = bytes();
            for len in 0..=128u8 {
                let sub = Subnet::new(net, len);
                for agree in [0usize, len as usize / 2, len as usize, 128] {
                    // the subnet's first `agree` bits, then `other`'s
                    let mut b = other;
                    for i in 0..agree {
                        let m = 0x80u8 >> (i % 8);
                        b[i / 8] = (b[i / 8] & !m) | (net[i / 8] & m);
                    }
                    let want = (0..len as usize).all(|i| bit(&b, i) == bit(&net, i));
                    assert_eq!(sub.contains(&Addr(b)), want, "{len} {agree}");
                }
            }
        }
        assert!(Subnet::new([0; 16], 0).contains(&a("8.8.8.8")));
        assert!("10.0.0.0/8"
            .parse::<Subnet>()
            .unwrap()
            .contains(&a("10.255.0.1")));
        assert!(!"10.0.0.0/8"
            .parse::<Subnet>()
            .unwrap()
            .contains(&a("11.0.0.1")));
        assert!("::1/128".parse::<Subnet>().unwrap().contains(&a("::1")));
    }
}
