//! Standard base64 (RFC 4648 §4, `=`-padded): the encoding of
//! `community_id` and of the report's CSP script hashes.
//!
//! Owns the alphabet and the padding, nothing else; [`encode_into`] writes
//! into the caller's buffer, so a caller on the per-connection path
//! allocates nothing.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The length of the encoding of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the encoding of `data` into `out`, which holds at least
/// [`encoded_len`] bytes (bytes past what fits are not written).
pub fn encode_into(data: &[u8], out: &mut [u8]) {
    for (c, o) in data.chunks(3).zip(out.chunks_mut(4)) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, slot) in o.iter_mut().enumerate() {
            // (1 + the chunk's input bytes) characters, then padding
            *slot = if k <= c.len() {
                ALPHABET[(n >> (18 - 6 * k)) as usize & 63]
            } else {
                b'='
            };
        }
    }
}

/// The encoding of `data`.
pub fn encode(data: &[u8]) -> String {
    let mut out = vec![0u8; encoded_len(data.len())];
    encode_into(data, &mut out);
    // (ASCII by construction)
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(i.as_bytes()), o);
            assert_eq!(encoded_len(i.len()), o.len());
        }
    }
}
