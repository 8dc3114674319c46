//! The substring needles of the RDP signatures (`Cookie: mstshash=`,
//! `Duca` and the channel names, `McDn`): their KMP tables, the per-byte
//! needle step of the stream matcher, and the stop search (SSE2 on x86_64)
//! that finds the next byte where the matcher's state may change, so that
//! `Dir::feed_bytes` can skip the bytes in between.
//!
//! Must not decide any other pattern: the line and prefix patterns live in
//! `tcp` and `prefix`; a stop is only where *these* needles (or a line end)
//! may start, so adding a needle means updating [`PAIRS`].

use super::{Dir, RDP_CLIENT};

/// Substrings searched anywhere in a direction's first bytes.
pub(super) const NEEDLES: [&[u8]; 7] = [
    b"Cookie: mstshash=",
    b"Duca",
    b"rdpdr",
    b"rdpsnd",
    b"drdynvc",
    b"cliprdr",
    b"McDn",
];
/// Longest needle.
const MAX_NEEDLE: usize = 17;
/// KMP failure function of each needle: `FAIL[k][i]` is the length of the
/// longest proper prefix of `NEEDLES[k][..=i]` that is also its suffix.
const FAIL: [[u8; MAX_NEEDLE]; NEEDLES.len()] = {
    let mut f = [[0u8; MAX_NEEDLE]; NEEDLES.len()];
    let mut k = 0;
    while k < NEEDLES.len() {
        let n = NEEDLES[k];
        assert!(n.len() <= MAX_NEEDLE);
        let (mut i, mut len) = (1, 0usize);
        while i < n.len() {
            if n[i] == n[len] {
                len += 1;
                f[k][i] = len as u8;
                i += 1;
            } else if len > 0 {
                len = f[k][len - 1] as usize;
            } else {
                i += 1;
            }
        }
        k += 1;
    }
    f
};
/// By byte, the needles (bit `k`: `NEEDLES[k]`) that it starts.
const NEEDLE_STARTS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < NEEDLES.len() {
        t[NEEDLES[i][0] as usize] |= 1 << i;
        i += 1;
    }
    t
};
/// The first two bytes of each needle (one entry per distinct pair).
const PAIRS: [[u8; 2]; 6] = [*b"Co", *b"Du", *b"rd", *b"dr", *b"cl", *b"Mc"];
const _: () = {
    // every needle starts with one of the pairs
    let mut k = 0;
    while k < NEEDLES.len() {
        let (a, b) = (NEEDLES[k][0], NEEDLES[k][1]);
        let mut found = false;
        let mut j = 0;
        while j < PAIRS.len() {
            found |= PAIRS[j][0] == a && PAIRS[j][1] == b;
            j += 1;
        }
        assert!(found);
        k += 1;
    }
};

/// Whether position `i` of `data` may change matcher state inside a
/// decided line (see `Dir::can_skip`): a line end, or the start of one of
/// [`PAIRS`] (the last byte when it may start one). At any other position
/// no needle can start, so with none in progress every needle stays at 0.
fn is_stop(data: &[u8], i: usize) -> bool {
    let Some(&c) = data.get(i) else {
        return false;
    };
    if c == b'\r' || c == b'\n' {
        return true;
    }
    if NEEDLE_STARTS[c as usize] == 0 {
        return false;
    }
    match data.get(i + 1) {
        None => true,
        Some(&d) => PAIRS.contains(&[c, d]),
    }
}

/// Index of the first stop of `data` ([`is_stop`]), or `data.len()`
/// (SSE2 on x86_64, 16 positions a step).
pub(super) fn find_stop(data: &[u8]) -> usize {
    #[allow(unused_mut)]
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; both loads are
        // unaligned 16-byte reads inside `data` (i + 17 <= len).
        unsafe {
            let cr = _mm_set1_epi8(b'\r' as i8);
            let lf = _mm_set1_epi8(b'\n' as i8);
            let firsts = PAIRS.map(|p| _mm_set1_epi8(p[0] as i8));
            let seconds = PAIRS.map(|p| _mm_set1_epi8(p[1] as i8));
            while i + 17 <= data.len() {
                let a = _mm_loadu_si128(data.as_ptr().add(i) as *const __m128i);
                let b = _mm_loadu_si128(data.as_ptr().add(i + 1) as *const __m128i);
                let mut m = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
                for (f, s) in firsts.iter().zip(&seconds) {
                    m = _mm_or_si128(
                        m,
                        _mm_and_si128(_mm_cmpeq_epi8(a, *f), _mm_cmpeq_epi8(b, *s)),
                    );
                }
                let bits = _mm_movemask_epi8(m);
                if bits != 0 {
                    return i + bits.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < data.len() && !is_stop(data, i) {
        i += 1;
    }
    i
}

const N_COOKIE: usize = 0;
const N_DUCA: usize = 1;
pub(super) const N_MCDN: usize = 6;

impl Dir {
    pub(super) fn needles(&mut self, b: u8) {
        // Only the needles in progress and those `b` starts can change
        // state (any other stays at 0): nothing to do for most bytes.
        let mut todo = NEEDLE_STARTS[b as usize] | self.in_progress;
        while todo != 0 {
            let k = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            let (Some(n), Some(fail)) = (NEEDLES.get(k), FAIL.get(k)) else {
                break;
            };
            let mut p = self.needle[k] as usize;
            // Longest prefix of `n` that is a suffix of the text + b.
            loop {
                if p < n.len() && n[p] == b {
                    p += 1;
                    break;
                }
                if p == 0 {
                    break;
                }
                // Fall back to the next shorter border of n[..p].
                p = fail[p - 1] as usize;
            }
            if p == n.len() {
                self.found |= 1 << k;
                if k == N_DUCA {
                    self.duca = true;
                } else if k > N_DUCA && k < N_MCDN && self.duca {
                    self.matched |= RDP_CLIENT;
                }
                if k == N_COOKIE {
                    self.matched |= RDP_CLIENT;
                }
                p = 0;
            }
            self.needle[k] = p as u8;
            if p == 0 {
                self.in_progress &= !(1 << k);
            } else {
                self.in_progress |= 1 << k;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failure table holds each needle's borders (checked naively).
    #[test]
    fn needle_failure_table_is_the_border_function() {
        for (k, n) in NEEDLES.iter().enumerate() {
            for p in 1..=n.len() {
                let border = (0..p).rev().find(|&q| n[..q] == n[p - q..p]).unwrap_or(0);
                assert_eq!(FAIL[k][p - 1] as usize, border, "needle {k} prefix {p}");
            }
        }
    }

    #[test]
    fn stop_search_finds_exactly_the_stops() {
        // Every byte, and every needle pair, at every offset around the
        // vector steps, also cut short: the search finds the first
        // position `is_stop` names, and `is_stop` is a line end or the
        // start of two bytes some needle starts with (the last byte: one).
        let starts_needle = |w: &[u8]| NEEDLES.iter().any(|n| n.starts_with(w));
        for b in 0..=255u8 {
            for next in [b'x', b'o', b'u', b'd', b'r', b'l', b'c'] {
                for at in [0usize, 5, 15, 16, 17, 31, 39, 40] {
                    let mut v = vec![b'x'; 41];
                    v[at] = b;
                    if at + 1 < v.len() {
                        v[at + 1] = next;
                    }
                    let stop = |v: &[u8], i: usize| {
                        v[i] == b'\r' || v[i] == b'\n' || starts_needle(&v[i..(i + 2).min(v.len())])
                    };
                    let want = (0..v.len()).find(|&i| stop(&v, i)).unwrap_or(v.len());
                    assert_eq!(find_stop(&v), want, "byte {b} then {next} at {at}");
                    let cut = &v[..at + 1];
                    let want = (0..cut.len()).find(|&i| stop(cut, i)).unwrap_or(cut.len());
                    assert_eq!(find_stop(cut), want, "cut after byte {b} at {at}");
                }
            }
        }
    }
}
