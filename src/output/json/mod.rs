//! JSON value formatting as Zeek's JSON writer produces it.

mod double;

pub(crate) use double::decompose;
pub use double::{double, rounded6};

use crate::time::Ts;
use std::io::Write;

/// Appends `"key":` (key written verbatim; callers pass plain ASCII names).
/// Always inlined: with a literal name the copy has a constant size.
#[inline(always)]
pub fn key(buf: &mut Vec<u8>, first: &mut bool, k: &str) {
    if !*first {
        buf.push(b',');
    }
    *first = false;
    buf.push(b'"');
    buf.extend_from_slice(k.as_bytes());
    buf.extend_from_slice(b"\":");
}

/// Appends `"key":<time>` as Zeek's JSON writer does for `time` values.
pub fn time(buf: &mut Vec<u8>, first: &mut bool, k: &str, t: Ts, tf: super::TimeFormat) {
    key(buf, first, k);
    match tf {
        super::TimeFormat::Epoch => epoch(buf, t),
        super::TimeFormat::Iso8601 => iso8601(buf, t),
    }
}

/// Appends a time as Zeek's JSON writer prints it (`TS_EPOCH`): the
/// shortest decimal that reads back as the double Zeek holds
/// ([`Ts::zeek_f64`]). The same text as [`double`], without float
/// formatting in the common case: a whole-microsecond time of at least
/// 1 s and below 2^33 s whose six-decimal form lies strictly within half
/// a unit in the last place of that double. Its spacing (10^-6) is wider
/// than the double's (at most 2^-20), so no other six-decimal number (and
/// so no shorter one) reads back as the same double, and that form with
/// trailing zeros trimmed is the shortest. Anything else goes to
/// [`double`].
pub fn epoch(buf: &mut Vec<u8>, t: Ts) {
    if !epoch_six_decimals(buf, t) {
        double(buf, t.zeek_f64());
    }
}

/// [`epoch`]'s common case; false (nothing written) when it does not apply.
fn epoch_six_decimals(buf: &mut Vec<u8>, t: Ts) -> bool {
    let d = t.zeek_f64();
    let secs = t.0.div_euclid(crate::time::SEC);
    let frac = t.0.rem_euclid(crate::time::SEC);
    let bits = d.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let man = bits & ((1u64 << 52) - 1);
    if frac % 1000 != 0 || !(0..33).contains(&exp) || man == 0 {
        return false;
    }
    let usec = frac / 1000;
    let n = i128::from(secs) * 1_000_000 + i128::from(usec);
    let m = i128::from(man | (1u64 << 52));
    // d = m * 2^(exp - 52); compare N / 10^6 with it, scaled by 10^6 * 2^(52 - exp).
    let diff = (n << (52 - exp)) - m * 1_000_000;
    if diff.abs() * 2 >= 1_000_000 {
        return false;
    }
    // Seconds (1 to 2^33), the point and six digits of fraction in one
    // block, appended at once.
    let mut d = [0u8; 24];
    let at = whole_digits(&mut d, 0, secs as u64);
    let len = fraction6(&mut d, at, usec as u64);
    push_prefix(buf, &d, len);
    true
}

/// Appends a time or interval in nanoseconds as Zeek's TSV writer prints
/// it: seconds with exactly six decimals, rounded to the microsecond (the
/// text of [`crate::time::Secs6`], without the formatting machinery; an
/// `i64` of nanoseconds is below 10^10 s, the digits' room).
pub fn secs6(buf: &mut Vec<u8>, ns: i64) {
    let us = Ts(ns).as_micros_rounded();
    let a = us.unsigned_abs();
    let whole = a / 1_000_000;
    if whole >= 10_000_000_000 {
        let _ = write!(buf, "{}", crate::time::Secs6(ns));
        return;
    }
    let mut d = [0u8; 24];
    let mut at = 0;
    if us < 0 {
        d[0] = b'-';
        at = 1;
    }
    let at = whole_digits(&mut d, at, whole);
    // (all six decimals: TSV keeps trailing zeros)
    fraction6(&mut d, at, a % 1_000_000);
    push_prefix(buf, &d, at + 7);
}

/// Writes the decimal digits of `v` (at most 10^10) into `d` from `at`,
/// two per table read; returns where they end. `d` has room for them
/// (24 bytes: a sign, ten digits and [`fraction6`]'s seven).
pub(crate) fn whole_digits(d: &mut [u8; 24], at: usize, v: u64) -> usize {
    let digits = (v.checked_ilog10().unwrap_or(0) as usize + 1).min(11);
    let end = (at + digits).min(d.len() - 7);
    digits_into(d, at, end, v);
    end
}

/// Writes the last `end - at` decimal digits of `v` into `d[at..end]`,
/// two per table read from the right (`end <= d.len()`).
#[inline]
pub(crate) fn digits_into(d: &mut [u8], at: usize, end: usize, mut v: u64) {
    let mut i = end;
    while i >= at + 2 {
        let [hi, lo] = PAIRS[(v % 100) as usize];
        d[i - 2] = hi;
        d[i - 1] = lo;
        v /= 100;
        i -= 2;
    }
    if i > at {
        d[at] = b'0' + (v % 10) as u8;
    }
}

/// Writes the point and the six digits of `micros` (below 10^6) into `d`
/// from `at` (at most 17), two per table read; returns the length up to
/// the last nonzero digit, one digit after the point kept.
pub(crate) fn fraction6(d: &mut [u8; 24], at: usize, micros: u64) -> usize {
    let at = at.min(d.len() - 7);
    d[at] = b'.';
    let f = (micros % 1_000_000) as usize;
    for (k, part) in [f / 10_000, f / 100 % 100, f % 100].into_iter().enumerate() {
        let [hi, lo] = PAIRS[part % 100];
        d[at + 1 + 2 * k] = hi;
        d[at + 2 + 2 * k] = lo;
    }
    let mut len = at + 7;
    while len > at + 2 && d[len - 1] == b'0' {
        len -= 1;
    }
    len
}

/// The two-digit forms of 0..100 (`"00"` to `"99"`).
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Appends an address as a JSON string (IPv4 without the formatting
/// machinery; IPv6 as the standard library writes it, RFC 5952).
pub fn addr(buf: &mut Vec<u8>, a: &crate::decode::Addr) {
    a.push_quoted(buf);
}

/// Appends an address's text without quotes (TSV), as [`addr`] writes it.
pub fn addr_text(buf: &mut Vec<u8>, a: &crate::decode::Addr) {
    a.push_text(buf);
}

/// Appends the four `id.*` members of a connection id.
pub fn conn_id(
    buf: &mut Vec<u8>,
    first: &mut bool,
    id: &(crate::decode::Addr, u16, crate::decode::Addr, u16),
) {
    let (a, ap, b, bp) = id;
    key(buf, first, "id.orig_h");
    addr(buf, a);
    buf.extend_from_slice(b",\"id.orig_p\":");
    uint(buf, *ap as u64);
    buf.extend_from_slice(b",\"id.resp_h\":");
    addr(buf, b);
    buf.extend_from_slice(b",\"id.resp_p\":");
    uint(buf, *bp as u64);
}

/// Appends a transport's `proto` value as a JSON string (Zeek's names
/// need no escaping: one constant copy, the text of [`string`]).
pub fn proto(buf: &mut Vec<u8>, t: crate::conn::Transport) {
    use crate::conn::Transport;
    buf.extend_from_slice(match t {
        Transport::Tcp => b"\"tcp\"".as_slice(),
        Transport::Udp => b"\"udp\"",
        Transport::Icmp => b"\"icmp\"",
        Transport::Other => b"\"unknown_transport\"",
    });
}

/// Appends a uid as a JSON string: its characters (a letter and base62
/// digits) need no escaping, so they are copied as one constant-size
/// block, cut back to the uid's length.
pub fn uid(buf: &mut Vec<u8>, u: &crate::conn::uid::Uid) {
    let (chars, len) = u.block();
    let mut b = [b'"'; 26];
    b[1..25].copy_from_slice(chars);
    b[1 + len] = b'"';
    push_prefix(buf, &b, len + 2);
}

/// Appends a JSON string with escaping.
pub fn string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    string_body(buf, s);
    buf.push(b'"');
}

/// Appends the escaped text of a JSON string, without its quotes.
pub fn string_body(buf: &mut Vec<u8>, s: &[u8]) {
    // Runs of plain bytes are found eight at a time and copied at once;
    // only escapes are written singly.
    let mut plain = 0;
    let mut i = 0;
    loop {
        i = plain_run(s, i, [b'"', b'\\']);
        let Some(&c) = s.get(i) else { break };
        i += 1;
        if (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' {
            continue;
        }
        buf.extend_from_slice(s.get(plain..i - 1).unwrap_or_default());
        plain = i;
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            c => {
                let _ = write!(buf, "\\\\x{c:02x}");
            }
        }
    }
    buf.extend_from_slice(s.get(plain..).unwrap_or_default());
}

/// The end of the run of whole eight-byte words of `s` from `at` in which
/// no byte is below 0x20, 0x7f or above, or one of `special` (the start of
/// the first word holding one, or of the last partial word): what a
/// string escaper can copy as it is before looking at bytes one by one.
#[inline(always)]
pub(crate) fn plain_run(s: &[u8], mut at: usize, special: [u8; 2]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // (a high bit where a byte is zero; exact for "any zero": the borrow
    // can only misreport a byte above a zero one)
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let (a, b) = (ONES * u64::from(special[0]), ONES * u64::from(special[1]));
    while let Some(w) = s.get(at..at + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
        let w = u64::from_le_bytes(w);
        let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        if (below_space | w & HIGH | zero(w ^ (ONES * 0x7f)) | zero(w ^ a) | zero(w ^ b)) != 0 {
            break;
        }
        at += 8;
    }
    at
}

/// Appends the first `len` bytes of `block`: the block is copied whole
/// (a constant-size copy the compiler inlines, no memcpy call for a few
/// bytes) and cut back. The writers build short numbers and addresses in a
/// fixed stack block and append them with this.
#[inline]
pub fn push_prefix<const N: usize>(buf: &mut Vec<u8>, block: &[u8; N], len: usize) {
    let start = buf.len();
    buf.extend_from_slice(block);
    buf.truncate(start + len.min(N));
}

/// Appends an unsigned integer.
#[inline]
pub fn uint(buf: &mut Vec<u8>, v: u64) {
    // The digits are built left-aligned in a fixed 20-byte block that is
    // appended whole and cut back: a constant-size copy, no memcpy call.
    let n = v.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut b = itoa_buf();
    digits_into(&mut b, 0, n.min(20), v);
    push_prefix(buf, &b, n);
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Appends a time as ISO 8601 UTC with microseconds (`JSON::TS_ISO8601`).
pub fn iso8601(buf: &mut Vec<u8>, t: Ts) {
    let us = t.as_micros_rounded();
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (y, mo, d, h, mi, s) = civil(secs);
    let Ok(y @ 0..=9999) = u32::try_from(y) else {
        let _ = write!(
            buf,
            "\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z\""
        );
        return;
    };
    // Four-digit years (every capture's): the fields' digit pairs into one
    // fixed block, without the formatting machinery.
    let mut b = *b"\"0000-00-00T00:00:00.000000Z\"";
    let f = frac as usize;
    for (at, v) in [
        (1, y as usize / 100),
        (3, y as usize % 100),
        (6, mo as usize),
        (9, d as usize),
        (12, h as usize),
        (15, mi as usize),
        (18, s as usize),
        (21, f / 10_000),
        (23, f / 100 % 100),
        (25, f % 100),
    ] {
        let [hi, lo] = PAIRS[v % 100];
        b[at] = hi;
        b[at + 1] = lo;
    }
    buf.extend_from_slice(&b);
}

/// UTC calendar fields of a Unix time (Howard Hinnant's days-from-civil inverse).
pub fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_print_as_escaped_strings_do() {
        use crate::conn::uid::Uid;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for k in 0..5000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // every length, from small words to full ones
            let (a, b) = (x >> (k % 64), x.rotate_left(k as u32) >> (k % 61));
            let u = Uid::from_words([b'C', b'F', b'X'][k as usize % 3], a, b);
            let (mut got, mut want) = (b"[".to_vec(), b"[".to_vec());
            uid(&mut got, &u);
            string(&mut want, u.as_str().as_bytes());
            assert_eq!(got, want);
        }
    }

    #[test]
    fn addresses_print_as_the_standard_library_does() {
        use crate::decode::Addr;
        for ip in [
            "0.0.0.0",
            "10.1.20.255",
            "192.168.0.1",
            "::1",
            "fd00::1:2",
            "::ffff:1.2.3.4",
        ] {
            let a = Addr::from_ip(ip.parse().unwrap());
            let mut b = Vec::new();
            addr(&mut b, &a);
            assert_eq!(String::from_utf8(b).unwrap(), format!("\"{a}\""), "{ip}");
        }
        // Every octet value in every position.
        for o in 0..=255u8 {
            for ip in [[o, 0, 0, 0], [1, o, 2, 3], [255, 255, o, 9], [10, 0, 0, o]] {
                let a = Addr::from_ip(std::net::IpAddr::from(ip));
                let mut b = b"x".to_vec();
                addr(&mut b, &a);
                assert_eq!(String::from_utf8(b).unwrap(), format!("x\"{a}\""));
            }
        }
        // Random addresses with groups often zero (every zero-run shape,
        // ties between runs) against the standard library's Display.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut a = [0u8; 16];
            for g in a.chunks_exact_mut(2) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v: u16 = match x % 4 {
                    0 | 1 => 0,
                    2 => (x >> 8) as u16 & 0xf,
                    _ => (x >> 16) as u16,
                };
                g.copy_from_slice(&v.to_be_bytes());
            }
            let a = Addr(a);
            let mut b = Vec::new();
            addr(&mut b, &a);
            assert_eq!(String::from_utf8(b).unwrap(), format!("\"{a}\""));
            let mut t = b"x".to_vec();
            addr_text(&mut t, &a);
            assert_eq!(String::from_utf8(t).unwrap(), format!("x{a}"));
        }
        for o in 0..=255u8 {
            let a = Addr::from_ip(std::net::IpAddr::from([o, 1, o, 100]));
            let mut t = Vec::new();
            addr_text(&mut t, &a);
            assert_eq!(String::from_utf8(t).unwrap(), a.to_string());
        }
    }

    #[test]
    fn secs6_prints_as_the_display_form() {
        // Oracle: `Secs6`'s Display (the formatting machinery).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let check = |ns: i64| {
            let mut b = Vec::new();
            secs6(&mut b, ns);
            assert_eq!(
                String::from_utf8(b).unwrap(),
                crate::time::Secs6(ns).to_string(),
                "{ns}"
            );
        };
        for ns in [
            0,
            1,
            499,
            500,
            -500,
            -501,
            999_999_500,
            1_000_000_000,
            -1_500_000_000,
            1_700_000_000_123_456_789,
            9_223_372_036_854_499_999,
            9_223_372_036_854_500_000,
            i64::MAX,
            i64::MIN,
        ] {
            check(ns);
        }
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check((x >> (x % 50)) as i64 * if x & 1 == 0 { 1 } else { -1 });
        }
    }

    #[test]
    fn epoch_times_print_as_the_shortest_double() {
        // Oracle: the standard library's shortest round-trip formatting.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let check = |ns: i64| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            epoch(&mut a, Ts(ns));
            double(&mut b, Ts(ns).zeek_f64());
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "{ns}"
            );
        };
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x >> 11) % 9_000_000_000;
            let usec = (x >> 40) % 1_000_000;
            let frac = if x & 7 == 0 {
                usec % 10 * 100_000
            } else {
                usec
            };
            check((secs * 1_000_000 + frac) as i64 * 1000);
            check(((x >> 20) % (1 << 40)) as i64 * 977);
        }
        // every digit count of the seconds, at its edges
        for k in 0..10u32 {
            for secs in [10i64.pow(k) - 1, 10i64.pow(k), 10i64.pow(k) + 7] {
                for usec in [0, 5, 120_000, 999_999, 314_159] {
                    check((secs * 1_000_000 + usec) * 1000);
                }
            }
        }
        for ns in [
            0,
            1,
            999,
            1_000,
            250_000_000,
            1_000_000_000,
            1_700_000_000_000_000_000,
        ] {
            check(ns);
        }
        // The common case takes the fast path.
        let fast = (0..1000i64)
            .filter(|k| {
                epoch_six_decimals(
                    &mut Vec::new(),
                    Ts(1_704_067_200_000_000_000 + k * 7_919_000),
                )
            })
            .count();
        assert!(fast > 990, "{fast}");
        let mut b = Vec::new();
        epoch(&mut b, Ts(1_704_067_200_278_158_000));
        assert_eq!(b, b"1704067200.278158");
        b.clear();
        epoch(&mut b, Ts(1_704_067_200_000_000_000));
        assert_eq!(b, b"1704067200.0");
    }

    #[test]
    fn strings_escape_like_the_bytewise_reference() {
        fn reference(s: &[u8]) -> Vec<u8> {
            let mut b = vec![b'"'];
            for &c in s {
                match c {
                    b'"' => b.extend_from_slice(b"\\\""),
                    b'\\' => b.extend_from_slice(b"\\\\"),
                    b'\n' => b.extend_from_slice(b"\\n"),
                    b'\r' => b.extend_from_slice(b"\\r"),
                    b'\t' => b.extend_from_slice(b"\\t"),
                    c if !(0x20..0x7f).contains(&c) => {
                        b.extend_from_slice(format!("\\\\x{c:02x}").as_bytes())
                    }
                    c => b.push(c),
                }
            }
            b.push(b'"');
            b
        }
        let mut x: u32 = 7;
        for len in 0..200usize {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let r = (x >> 16) as u8;
                    if r % 3 == 0 {
                        r
                    } else {
                        b'a' + r % 26
                    }
                })
                .collect();
            let mut b = Vec::new();
            string(&mut b, &s);
            assert_eq!(b, reference(&s));
        }
        // Every byte value at every position of a plain 24-byte run (each
        // lane of the eight-byte scan, and the bytewise tail).
        for at in 0..24 {
            for c in 0..=255u8 {
                let mut s = b"abcdefghijklmnopqrstuvwx".to_vec();
                s[at] = c;
                let mut b = Vec::new();
                string(&mut b, &s);
                assert_eq!(b, reference(&s), "{at} {c}");
            }
        }
    }

    #[test]
    fn uints_print_as_the_standard_library_does() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut vals = vec![0, 1, 9, 10, 99, 100, u64::MAX, u64::MAX / 10, 10u64.pow(19)];
        vals.extend((0..20).map(|k| 10u64.pow(k)));
        vals.extend((1..20).map(|k| 10u64.pow(k) - 1));
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(x >> (x % 64));
        }
        for v in vals {
            let mut b = b"x".to_vec();
            uint(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), format!("x{v}"));
        }
    }

    #[test]
    fn iso8601_and_civil() {
        let mut b = Vec::new();
        iso8601(&mut b, Ts(1_551_475_010_629_660_000));
        assert_eq!(b, b"\"2019-03-01T21:16:50.629660Z\"");
        // Against the formatting machinery: seeded times over the whole
        // range of nanoseconds (years 1677 to 2262).
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for k in 0..50_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let ns = match k % 3 {
                0 => (z >> 2) as i64,
                1 => (z >> 1) as i64 - (1 << 62),
                _ => (z % 2_000_000_000_000_000_000) as i64,
            };
            let t = Ts(ns);
            let us = t.as_micros_rounded();
            let (y, mo, d, h, mi, s) = civil(us.div_euclid(1_000_000));
            let frac = us.rem_euclid(1_000_000);
            let want = format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z\"");
            let mut b = Vec::new();
            iso8601(&mut b, t);
            assert_eq!(String::from_utf8(b).unwrap(), want, "{ns}");
        }
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn proto_is_the_escaped_name() {
        use crate::conn::Transport;
        for t in [
            Transport::Tcp,
            Transport::Udp,
            Transport::Icmp,
            Transport::Other,
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            proto(&mut a, t);
            string(&mut b, t.name().as_bytes());
            assert_eq!(a, b);
        }
    }
}
