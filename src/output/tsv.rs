//! Zeek TSV ("ASCII writer") header and escaping.

use std::io::Write;

/// Writes the Zeek header block for a log.
pub fn header(out: &mut Vec<u8>, path: &str, open: &str, fields: &[&str], types: &[&str]) {
    out.extend_from_slice(
        b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
    );
    let _ = writeln!(out, "#path\t{path}");
    let _ = writeln!(out, "#open\t{open}");
    out.extend_from_slice(b"#fields");
    for f in fields {
        out.push(b'\t');
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(b"\n#types");
    for t in types {
        out.push(b'\t');
        out.extend_from_slice(t.as_bytes());
    }
    out.push(b'\n');
}

/// Writes the `#close` line.
pub fn close(out: &mut Vec<u8>, close: &str) {
    let _ = writeln!(out, "#close\t{close}");
}

/// Formats a Unix time as Zeek's `%Y-%m-%d-%H-%M-%S` (UTC).
pub fn meta_time(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = super::json::civil(secs);
    format!("{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}")
}

/// Appends a string field with Zeek's escaping (`\xNN` for non-printables,
/// the separator and a leading/whole unset or empty marker).
pub fn string(out: &mut Vec<u8>, s: &[u8], in_set: bool) {
    if s.is_empty() {
        out.extend_from_slice(b"(empty)");
        return;
    }
    if s == b"-" {
        out.extend_from_slice(b"\\x2d");
        return;
    }
    // Runs of plain bytes are found eight at a time and copied at once.
    // (A tab is below 0x20; outside a set `\\` stands in for `,`.)
    let special = [b'\\', if in_set { b',' } else { b'\\' }];
    let (mut plain, mut i) = (0, 0);
    loop {
        i = super::json::plain_run(s, i, special);
        let Some(&c) = s.get(i) else { break };
        i += 1;
        if c == b'\t' || c == b'\\' || !(0x20..0x7f).contains(&c) || (in_set && c == b',') {
            out.extend_from_slice(s.get(plain..i - 1).unwrap_or_default());
            plain = i;
            let _ = write!(out, "\\x{c:02x}");
        }
    }
    out.extend_from_slice(s.get(plain..).unwrap_or_default());
}

/// Appends `x` exactly as `format!("{x:.6}")` writes it (the TSV form of
/// Zeek's `double` and `interval` values): the exact binary value rounded
/// half to even at the sixth decimal. Below 2^53 that is integer
/// arithmetic: `x = m * 2^e`, so `x * 10^6 = m * 10^6 / 2^-e` with `m *
/// 10^6 < 2^73`, whose quotient and remainder fit in 128 bits; the
/// standard library's float formatting (Grisu with a Dragon fallback) cost
/// hundreds of instructions a number and was most of a TSV run with
/// flowmeter.log. Non-finite and larger values go to the standard library.
#[inline]
pub fn fixed6(out: &mut Vec<u8>, x: f64) {
    if x == 0.0 {
        // (the most common value of the statistics' columns: written here,
        // inlined, without the call)
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.000000"
        } else {
            b"0.000000"
        });
        return;
    }
    fixed6_nonzero(out, x);
}

/// [`fixed6`] of a nonzero `x`.
fn fixed6_nonzero(out: &mut Vec<u8>, x: f64) {
    /// 2^53: below it the whole part fits and `m * 10^6` fits in 128 bits.
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    if !x.is_finite() || x.abs() >= LIMIT {
        let _ = write!(out, "{x:.6}");
        return;
    }
    // |x| = m * 2^e
    let (m, e) = super::json::decompose(x);
    let n = u128::from(m) * 1_000_000;
    let micros = if e >= 0 {
        // (only e = 0 below 2^53, where m < 2^53)
        n.checked_shl(e as u32).unwrap_or(0)
    } else {
        let s = e.unsigned_abs();
        if s >= 127 {
            // n < 2^73 is below half a unit: rounds to 0
            0
        } else {
            let q = n >> s;
            let r = n & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            q + u128::from(r > half || (r == half && q & 1 == 1))
        }
    };
    // (below 2^64 micros, the usual case, the division is by a constant
    // on 64 bits: no 128-bit division call)
    let (whole, f) = match u64::try_from(micros) {
        Ok(v) => (v / 1_000_000, (v % 1_000_000) as u32),
        Err(_) => ((micros / 1_000_000) as u64, (micros % 1_000_000) as u32),
    };
    // Sign, whole part (at most 16 digits), point and six decimals (all
    // kept, as `secs6` keeps them) in one 24-byte block, appended at once.
    let mut d = [0u8; 24];
    let mut at = usize::from(x.is_sign_negative());
    d[0] = b'-';
    let digits = whole.checked_ilog10().unwrap_or(0) as usize + 1;
    super::json::digits_into(&mut d, at, at + digits, whole);
    at += digits;
    super::json::fraction6(&mut d, at, u64::from(f));
    super::json::push_prefix(out, &d, at + 7);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let mut o = Vec::new();
        string(&mut o, b"a\tb\x01", false);
        assert_eq!(o, b"a\\x09b\\x01");
        o.clear();
        string(&mut o, b"-", false);
        assert_eq!(o, b"\\x2d");
        o.clear();
        string(&mut o, b"", false);
        assert_eq!(o, b"(empty)");
        // Every byte value at every position of a plain 24-byte run, in
        // and out of a set, against the rule byte by byte.
        for in_set in [false, true] {
            for at in 0..24 {
                for c in 0..=255u8 {
                    let mut s = b"abcdefghijklmnopqrstuvwx".to_vec();
                    s[at] = c;
                    let mut want = Vec::new();
                    for &b in &s {
                        if b == b'\t'
                            || b == b'\\'
                            || !(0x20..0x7f).contains(&b)
                            || (in_set && b == b',')
                        {
                            want.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                        } else {
                            want.push(b);
                        }
                    }
                    o.clear();
                    string(&mut o, &s, in_set);
                    assert_eq!(o, want, "{in_set} {at} {c}");
                }
            }
        }
        assert_eq!(meta_time(1_704_067_200), "2024-01-01-00-00-00");
    }

    #[test]
    fn fixed6_is_std_six_decimals() {
        let check = |x: f64| {
            let mut b = Vec::new();
            fixed6(&mut b, x);
            assert_eq!(
                String::from_utf8_lossy(&b),
                format!("{x:.6}"),
                "{x:e} ({:#x})",
                x.to_bits()
            );
        };
        // Ties at the seventh decimal (j/128, j odd), their neighbours,
        // signed zeros, subnormals, the 2^53 boundary and non-finite values.
        for j in (1..20_000u32).step_by(2) {
            let t = f64::from(j) / 128.0;
            for x in [t, -t, t.next_up(), t.next_down(), -t.next_up()] {
                check(x);
            }
        }
        for x in [
            0.0,
            -0.0,
            5e-7,
            -5e-7,
            4.999_999_999_999_999e-7,
            0.999_999_5,
            999_999.999_999_5,
            1e-300,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_993.0,
            4_503_599_627_370_495.5,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            check(x);
        }
        // Random bit patterns (every exponent), and random values of the
        // magnitudes logs hold (durations, rates, ratios, byte counts).
        let mut z = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            z
        };
        for k in 0..200_000 {
            let r = next();
            check(f64::from_bits(r));
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            check(u * 10f64.powi(k % 14 - 6));
            check(-(u * 10f64.powi(k % 12 - 3)).round() / 1e6);
        }
    }
}
