//! An address's text as the standard library's `Display` writes it
//! (dotted IPv4 for IPv4-mapped addresses, RFC 5952 IPv6 otherwise),
//! without the formatting machinery: every log's address columns and
//! dns.log's A/AAAA answers are written this way.
//!
//! Must not: differ from `Display` by a byte (checked in the tests).

use super::Addr;

#[inline]
pub(super) fn push(buf: &mut Vec<u8>, a: &Addr, quoted: bool) {
    let q = usize::from(quoted);
    if a.is_v4() {
        // Built in a fixed block from a table of the 256 octets' digits,
        // appended whole and cut back (no per-octet division, no memcpy call).
        let mut b = [b'"'; 20];
        // (the opening quote at 0 when quoted; the closing one after the digits)
        let mut i = q;
        for (k, &o) in a.0[12..].iter().enumerate() {
            if k > 0 {
                if let Some(c) = b.get_mut(i) {
                    *c = b'.';
                }
                i += 1;
            }
            let e = OCTETS[usize::from(o)];
            if let Some(d) = b.get_mut(i..i + 3) {
                d.copy_from_slice(&e[..3]);
            }
            i += usize::from(e[3]);
        }
        if let Some(c) = b.get_mut(i) {
            *c = b'"';
        }
        let start = buf.len();
        buf.extend_from_slice(&b);
        buf.truncate(start + (i + q).min(b.len()));
    } else {
        if quoted {
            buf.push(b'"');
        }
        v6(buf, &a.0);
        if quoted {
            buf.push(b'"');
        }
    }
}

/// Appends an IPv6 address as the standard library's `Display` writes one
/// that is not IPv4-mapped (RFC 5952: lowercase hex groups without leading
/// zeros, the first longest run of two or more zero groups as `::`),
/// without the formatting machinery.
pub(super) fn v6(buf: &mut Vec<u8>, a: &[u8; 16]) {
    let g: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // the first longest run of zero groups
    let (mut best_at, mut best_len, mut run_at, mut run_len) = (0, 0, 0, 0);
    for (i, &x) in g.iter().enumerate() {
        if x == 0 {
            if run_len == 0 {
                run_at = i;
            }
            run_len += 1;
            if run_len > best_len {
                best_at = run_at;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    let hex = |buf: &mut Vec<u8>, x: u16| {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (x >> shift) & 0xf;
            if d != 0 || started || shift == 0 {
                started = true;
                buf.push(DIGITS[d as usize]);
            }
        }
    };
    let groups = |buf: &mut Vec<u8>, gs: &[u16]| {
        for (i, &x) in gs.iter().enumerate() {
            if i > 0 {
                buf.push(b':');
            }
            hex(buf, x);
        }
    };
    if best_len > 1 {
        groups(buf, g.get(..best_at).unwrap_or_default());
        buf.extend_from_slice(b"::");
        groups(buf, g.get(best_at + best_len..).unwrap_or_default());
    } else {
        groups(buf, &g);
    }
}

/// Each octet's decimal digits (left-aligned) and, last, how many there are.
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        t[v] = if v >= 100 {
            [
                b'0' + (v / 100) as u8,
                b'0' + (v / 10 % 10) as u8,
                b'0' + (v % 10) as u8,
                3,
            ]
        } else if v >= 10 {
            [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8, 0, 2]
        } else {
            [b'0' + v as u8, 0, 0, 1]
        };
        v += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_display() {
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            z
        };
        for k in 0..100_000u32 {
            let r = next();
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&r.to_le_bytes());
            b[8..].copy_from_slice(&next().to_le_bytes());
            // zero runs of every length and place, and IPv4-mapped ones
            let (at, len) = ((k % 8) as usize, (k / 8 % 9) as usize);
            for g in b.chunks_exact_mut(2).skip(at).take(len) {
                g.fill(0);
            }
            let a = match k % 5 {
                0 => Addr::v4([b[0], b[1], b[2], b[3]]),
                1 => Addr::v4([b[0] % 10, b[1] % 100, 0, 255]),
                _ => Addr(b),
            };
            let mut t = Vec::new();
            a.push_text(&mut t);
            assert_eq!(String::from_utf8(t).unwrap(), a.to_string());
            let mut q = Vec::new();
            a.push_quoted(&mut q);
            assert_eq!(String::from_utf8(q).unwrap(), format!("\"{a}\""));
        }
    }
}
