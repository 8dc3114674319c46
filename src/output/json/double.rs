//! Doubles as Zeek's JSON writer prints them: the shortest decimal that
//! reads back as the same double ([`double`], zmij's digits with the
//! standard library's choice on ties and its spelling without exponents),
//! and score.log's six-decimal numbers ([`rounded6`]).
//!
//! Must not: format anything but a double.

use super::{fraction6, push_prefix, uint, whole_digits};
use std::io::Write;

/// Appends a double rounded to six decimals (as TSV's `%.6f` rounds it),
/// written without float formatting: trailing zeros trimmed, at least one
/// decimal (`0.25`, `3.0`). Values too large for that go to [`double`].
pub fn rounded6(buf: &mut Vec<u8>, v: f64) {
    let a = v.abs() * 1e6;
    // Below 10^15 adding one half is exact, so the cast rounds half away
    // from zero as `f64::round` does, without a libm call.
    if a.is_nan() || a >= 1.0e15 {
        double(buf, v);
        return;
    }
    let m = (a + 0.5) as u64;
    // Sign, whole part (at most 10^9 here), point and six digits of
    // fraction in one block, appended at once.
    let mut d = [0u8; 24];
    let mut at = 0;
    if v < 0.0 && m != 0 {
        d[0] = b'-';
        at = 1;
    }
    let at = whole_digits(&mut d, at, m / 1_000_000);
    let len = fraction6(&mut d, at, m % 1_000_000);
    push_prefix(buf, &d, len);
}

/// Appends a double the way Zeek's JSON writer does (shortest round-trip
/// representation, integral values with `.0`).
pub fn double(buf: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        buf.extend_from_slice(b"null");
        return;
    }
    // The most common values of the logs' rates and shares.
    if v.to_bits() == 0 {
        buf.extend_from_slice(b"0.0");
        return;
    }
    if v == 1.0 {
        buf.extend_from_slice(b"1.0");
        return;
    }
    // Fast path for integral values (counts, zeros): same text, no float formatting.
    // (A round trip through i64 instead of `fract`, which is a libm call
    // on baseline x86-64.)
    if v.abs() < 9.0e15 && (v as i64) as f64 == v {
        if v.is_sign_negative() {
            buf.push(b'-');
        }
        uint(buf, v.abs() as u64);
        buf.extend_from_slice(b".0");
        return;
    }
    // zmij's shortest round-trip digits (the same digits as the standard
    // library's, several times faster), except where two shortest
    // candidates lie exactly as close to the value: zmij rounds those ties
    // to even, the standard library up in magnitude, so the standard
    // library's choice is made here. A tie at n digits needs the exact
    // value to have n + 1 significant digits, the last a 5 (then zmij's
    // shortest form is one digit shorter than the exact value). zmij
    // prints exponents from 1e16 and below 1e-5, which the standard
    // library's `Display` (and Zeek's JSON) spells out in full: those are
    // rewritten.
    let mut b = zmij::Buffer::new();
    let mut s = b.format_finite(v).as_bytes();
    let mut bumped = [0u8; 40];
    if let Some((n, d)) = exact_significand(v).filter(|(n, _)| n % 10 == 5) {
        let (digits, last) = digits_of(s);
        // (zmij's significant digits, counted)
        let shortest = digits.checked_ilog10().map_or(0, |l| l + 1);
        if shortest + 1 == d {
            // A tie: the exact value lies halfway between two shortest
            // candidates, n / 10 and n / 10 + 1 (in units of their last
            // digit). The standard library takes the upper one, zmij the
            // even one; where they differ zmij's last digit is even and
            // nonzero, so the upper one is that digit plus one (no carry).
            let up = n / 10 + 1;
            match last {
                _ if digits == up => {}
                Some(i) if digits + 1 == up && s.len() <= bumped.len() && s[i] < b'9' => {
                    bumped[..s.len()].copy_from_slice(s);
                    bumped[i] += 1;
                    s = &bumped[..s.len()];
                }
                _ => {
                    // (not reached: zmij's digits are one of the two)
                    let start = buf.len();
                    let _ = write!(buf, "{v}");
                    if !buf[start..].contains(&b'.') {
                        buf.extend_from_slice(b".0");
                    }
                    return;
                }
            }
        }
    }
    match s.iter().position(|&c| c == b'e') {
        None => {
            buf.extend_from_slice(s);
            if !s.contains(&b'.') {
                buf.extend_from_slice(b".0");
            }
        }
        Some(e) => expand_exponent(buf, &s[..e], &s[e + 1..]),
    }
}

/// The significant digits of a decimal as zmij prints it, as an integer
/// (trailing zeros dropped), and the index in `s` of the last of them.
fn digits_of(s: &[u8]) -> (u128, Option<usize>) {
    let end = s.iter().position(|&c| c == b'e').unwrap_or(s.len());
    let mut last = None;
    for (i, c) in s.iter().enumerate().take(end) {
        if (b'1'..=b'9').contains(c) {
            last = Some(i);
        }
    }
    let mut n: u128 = 0;
    for &c in s.iter().take(last.map_or(0, |i| i + 1)) {
        if c.is_ascii_digit() {
            n = n * 10 + u128::from(c - b'0');
        }
    }
    (n, last)
}

/// A finite double's magnitude as `m * 2^e`: `m` below 2^53 (a
/// subnormal without the implicit bit, at the least exponent), exactly.
pub(crate) fn decompose(v: f64) -> (u64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    }
}

/// The significant digits N of the exact decimal value of `v` (finite,
/// non-zero) as an integer (no trailing zeros) and their number d, when d
/// is 16 to 18, else `None`: the only doubles whose shortest round-trip
/// form (at most 17 digits) can be a tie between two candidates. A tie at
/// n digits needs an exact expansion of n + 1 digits ending in 5, and two
/// distinct decimals of at most 15 digits never read back as the same
/// double (`DBL_DIG`), so n + 1 is 16 to 18.
fn exact_significand(v: f64) -> Option<(u128, u32)> {
    let (m, e) = decompose(v);
    if m == 0 {
        return None;
    }
    let t = m.trailing_zeros();
    let (m, f) = (m >> t, e + t as i32);
    const LO: u128 = 1_000_000_000_000_000; // 10^15
    const HI: u128 = 1_000_000_000_000_000_000; // 10^18
                                                // The significant digits as an integer N (no trailing decimal zeros).
    let n = if f < 0 {
        // v = m / 2^-f = m * 5^-f / 10^-f; m odd, so N = m * 5^-f.
        if f < -26 {
            return None;
        }
        u128::from(m) * 5u128.pow((-f) as u32)
    } else {
        // v = m * 2^f; each factor 5 of m pairs with a 2 into a trailing zero.
        if f > 64 {
            return None;
        }
        let mut m = m;
        let mut z = 0;
        while z < f && m % 5 == 0 {
            m /= 5;
            z += 1;
        }
        u128::from(m) << (f - z)
    };
    const D16: u128 = 10_000_000_000_000_000; // 10^16
    const D17: u128 = 100_000_000_000_000_000; // 10^17
    match n {
        n if !(LO..HI).contains(&n) => None,
        n if n < D16 => Some((n, 16)),
        n if n < D17 => Some((n, 17)),
        _ => Some((n, 18)),
    }
}

/// Writes `mantissa` × 10^`exp` (zmij's `-d.ddde±x` form, split at the `e`)
/// without an exponent, as `Display` for `f64` does, with `.0` after a whole
/// number.
fn expand_exponent(buf: &mut Vec<u8>, mantissa: &[u8], exp: &[u8]) {
    let (neg, m) = match mantissa.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, mantissa),
    };
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &c in m.iter().filter(|c| c.is_ascii_digit()) {
        if let Some(d) = digits.get_mut(n) {
            *d = c;
            n += 1;
        }
    }
    let digits = digits.get(..n).unwrap_or_default();
    let (eneg, e) = match exp.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, exp),
    };
    let mag = e.iter().fold(0usize, |a, &c| {
        a * 10 + usize::from(c.wrapping_sub(b'0') % 10)
    });
    if neg {
        buf.push(b'-');
    }
    if eneg {
        // d.ddd × 10^-mag = 0.000ddd with mag - 1 zeros after the point.
        buf.extend_from_slice(b"0.");
        buf.resize(buf.len() + mag.saturating_sub(1), b'0');
        buf.extend_from_slice(digits);
    } else if digits.len() > mag + 1 {
        // Not produced by zmij (it prints these without an exponent).
        let (int, frac) = digits.split_at(mag + 1);
        buf.extend_from_slice(int);
        buf.push(b'.');
        buf.extend_from_slice(frac);
    } else {
        buf.extend_from_slice(digits);
        buf.resize(buf.len() + (mag + 1 - digits.len()), b'0');
        buf.extend_from_slice(b".0");
    }
}

/// The previous [`double`] (the standard library's shortest formatting):
/// the oracle of the tests.
#[cfg(test)]
fn double_std(buf: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        buf.extend_from_slice(b"null");
        return;
    }
    let start = buf.len();
    let _ = write!(buf, "{v}");
    if !buf[start..].contains(&b'.') {
        buf.extend_from_slice(b".0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Ts;

    #[test]
    fn doubles_like_zeek() {
        let mut b = Vec::new();
        double(&mut b, 1_300_475_167.096535);
        assert_eq!(b, b"1300475167.096535");
        b.clear();
        double(&mut b, 3.0);
        assert_eq!(b, b"3.0");
        for v in [0.0, -0.0, 1.0, -7.0, 123456789.0, 1e15] {
            b.clear();
            double(&mut b, v);
            assert_eq!(String::from_utf8(b.clone()).unwrap(), format!("{v:?}"));
        }
        b.clear();
        double(&mut b, 1_300_475_170.254366 - 1_300_475_167.096535);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            format!("{}", 1_300_475_170.254366f64 - 1_300_475_167.096535)
        );
    }

    /// Checks [`double`] against [`double_std`] for one value.
    fn same_as_std(v: f64) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        double(&mut a, v);
        double_std(&mut b, v);
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{:#x}",
            v.to_bits()
        );
    }

    #[test]
    fn doubles_match_the_standard_library_on_edge_cases() {
        let mut edge = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9.0e15,
            9.0e15 - 1.0,
            9.0e15 + 1.0,
            -9.0e15,
            2f64.powi(53),
            2f64.powi(53) + 2.0,
            1e15 + 0.5,
            0.1,
            0.2 + 0.1,
            1.0 / 3.0,
            2.0 / 3.0,
            5e-324,
            1.7976931348623157e308,
            123456789012345680.0,
            0.000123,
            1.5e-5,
            9.99999e-6,
            1e-5,
            1e-6,
        ];
        for k in -325..=309 {
            let p = 10f64.powi(k);
            edge.extend([
                p,
                -p,
                p * 1.5,
                p * 9.999_999_999_999_998,
                p * 0.999_999_999_999_999_9,
            ]);
            edge.push(format!("1e{k}").parse().unwrap_or(0.0));
        }
        for k in -1075..=1024 {
            let p = 2f64.powi(k);
            edge.extend([
                p,
                f64::from_bits(p.to_bits().wrapping_sub(1)),
                f64::from_bits(p.to_bits() + 1),
            ]);
        }
        for v in edge {
            same_as_std(v);
        }
    }

    #[test]
    fn doubles_match_the_standard_library_on_exact_dyadic_values() {
        // m * 2^f with short exact expansions: the values where two shortest
        // candidates can tie (e.g. 670547832541714.25, 2^-25).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for f in -80..80 {
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let m = (x >> 11) >> (x & 31);
                let v = m as f64 * 2f64.powi(f);
                same_as_std(v);
                same_as_std(-v);
            }
        }
        let mut b = Vec::new();
        double(&mut b, f64::from_bits(0xc303_0ee0_aae8_9092)); // -670547832541714.25
        assert_eq!(b, b"-670547832541714.3");
        b.clear();
        double(&mut b, 2f64.powi(-25));
        assert_eq!(b, b"0.000000029802322387695313");
        b.clear();
        double(&mut b, 1.5e-7);
        assert_eq!(b, b"0.00000015");
        b.clear();
        double(&mut b, 1.25e20);
        assert_eq!(b, b"125000000000000000000.0");
    }

    #[test]
    fn durations_match_the_standard_library() {
        // conn.log's duration and dns.log's rtt: differences of two times
        // as Zeek's doubles, from microseconds to days apart, in the
        // epoch range of real captures.
        let mut x: u64 = 0x6a09_e667_f3bc_c909;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..500_000 {
            let start = 1_000_000_000_000_000_000 + (next() % 900_000_000_000_000_000) as i64;
            let r = next();
            let gap = ((r >> 8) % 10u64.pow(1 + (r % 14) as u32)) as i64 * 1_000;
            let d = Ts(start + gap).zeek_f64() - Ts(start).zeek_f64();
            same_as_std(d);
        }
    }

    #[test]
    fn doubles_match_the_standard_library_on_random_values() {
        // 2 M random bit patterns (every exponent, subnormals, NaN, inf)
        // and 2 M values like the logs' (ratios of counts, byte rates,
        // seconds with microseconds), both signs.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2_000_000 {
            same_as_std(f64::from_bits(next()));
            let r = next();
            let a = (r >> 40) as f64;
            let b = ((r & 0xff_ffff) + 1) as f64;
            let v = match r & 3 {
                0 => a / b,
                1 => a * 1e-6 + (r >> 60) as f64 * 1e9,
                2 => (a / b).sqrt() * 1e-3,
                _ => a * b * 1e3 / 7.0,
            };
            same_as_std(if r & 4 == 0 { v } else { -v });
        }
    }
}
