//! Community ID v1 flow hashes (as Zeek's `community_id_v1` with base64 output).
//!
//! `base64(sha1(seed (2, BE) ‖ src ‖ dst ‖ proto ‖ 0 ‖ sport (2, BE) ‖ dport (2, BE)))`
//! with the endpoints ordered so that the smaller (address, port) comes first,
//! except for one-way ICMP messages; prefixed with `1:`.

use crate::decode::Addr;
use sha1::{Digest, Sha1};

/// A Community ID string (`1:` and 28 base64 characters), held inline
/// (no allocation per connection).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CommunityId([u8; LEN]);

/// `1:` and the base64 of a 20-byte SHA-1 digest.
const LEN: usize = 2 + crate::base64::encoded_len(20);

impl CommunityId {
    /// The text.
    pub fn as_str(&self) -> &str {
        // (ASCII by construction)
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computes the Community ID: the hashed message is assembled on the
/// stack and digested in one call.
pub fn community_id(
    seed: u16,
    orig: (Addr, u16),
    resp: (Addr, u16),
    proto: u8,
    one_way_icmp: bool,
) -> CommunityId {
    let (a, b) = if one_way_icmp || (orig.0, orig.1) <= (resp.0, resp.1) {
        (orig, resp)
    } else {
        (resp, orig)
    };
    // seed (2) ‖ two addresses (4 or 16 each) ‖ proto, 0 ‖ two ports (2 each)
    let mut msg = [0u8; 2 + 32 + 2 + 4];
    msg[..2].copy_from_slice(&seed.to_be_bytes());
    let mut n = 2;
    let v4 = a.0.is_v4() && b.0.is_v4();
    for addr in [&a.0, &b.0] {
        let bytes = if v4 { &addr.0[12..] } else { &addr.0[..] };
        msg[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    }
    msg[n] = proto;
    n += 2;
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        msg[n..n + 2].copy_from_slice(&a.1.to_be_bytes());
        msg[n + 2..n + 4].copy_from_slice(&b.1.to_be_bytes());
        n += 4;
    }
    // (the sha1 crate uses the CPU's SHA instructions when it has them)
    let digest: [u8; 20] = Sha1::digest(&msg[..n]).into();
    let mut out = [0u8; LEN];
    out[0] = b'1';
    out[1] = b':';
    crate::base64::encode_into(&digest, &mut out[2..]);
    CommunityId(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_tcp() {
        // Community ID spec baseline: 128.232.110.120:34855 -> 66.35.250.204:80 TCP, seed 0.
        let a = Addr::from_ip("128.232.110.120".parse().unwrap());
        let b = Addr::from_ip("66.35.250.204".parse().unwrap());
        assert_eq!(
            community_id(0, (a, 34855), (b, 80), 6, false).as_str(),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(0, (b, 80), (a, 34855), 6, false).as_str(),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
    }

    #[test]
    fn zeek_baseline_value() {
        // From Zeek's community-id-logging test baseline.
        let a = Addr::from_ip("141.142.228.5".parse().unwrap());
        let b = Addr::from_ip("192.150.187.43".parse().unwrap());
        assert_eq!(
            community_id(0, (a, 59856), (b, 80), 6, false).as_str(),
            "1:yvyB8h+3dnggTZW0UEITWCst97w="
        );
    }

    #[test]
    fn ipv6_icmp_and_other_protocols() {
        // Expected values from Python's hashlib and base64 over the
        // message as the spec lays it out (seed, addresses, proto, 0,
        // ports), an implementation independent of this one.
        let a = Addr::from_ip("fe80::200:86ff:fe05:80da".parse().unwrap());
        let b = Addr::from_ip("fe80::260:97ff:fe07:69ea".parse().unwrap());
        let id = community_id(0, (a, 135), (b, 0), 58, false);
        assert_eq!(id.as_str(), "1:3FDodqjxTeB47dHJ4Jl32sRa0XI=");
        assert_eq!(
            community_id(0, (a, 1), (b, 2), 47, false).as_str(),
            "1:92h+fq8ECSZkvAsENsuE85rNZ68="
        );
        // the order of the endpoints does not matter, except one-way
        assert_eq!(id, community_id(0, (b, 0), (a, 135), 58, false));
        assert_ne!(id, community_id(0, (b, 0), (a, 135), 58, true));
        // a protocol without ports hashes no ports
        assert_eq!(
            community_id(0, (a, 1), (b, 2), 47, false),
            community_id(0, (a, 3), (b, 4), 47, false)
        );
    }
}
