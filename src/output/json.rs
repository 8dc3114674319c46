//! JSON value formatting as Zeek's JSON writer produces it.

use crate::time::Ts;
use std::io::Write;

/// Appends `"key":` (key written verbatim; callers pass plain ASCII names).
#[inline]
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
        super::TimeFormat::Epoch => double(buf, t.zeek_f64()),
        super::TimeFormat::Iso8601 => iso8601(buf, t),
    }
}

/// Appends an address as a JSON string (IPv4 without the formatting
/// machinery; IPv6 as the standard library writes it, RFC 5952).
pub fn addr(buf: &mut Vec<u8>, a: &crate::decode::Addr) {
    if a.is_v4() {
        buf.push(b'"');
        for (i, &o) in a.0[12..].iter().enumerate() {
            if i > 0 {
                buf.push(b'.');
            }
            uint(buf, o as u64);
        }
        buf.push(b'"');
    } else {
        let _ = write!(buf, "\"{a}\"");
    }
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
    key(buf, first, "id.orig_p");
    uint(buf, *ap as u64);
    key(buf, first, "id.resp_h");
    addr(buf, b);
    key(buf, first, "id.resp_p");
    uint(buf, *bp as u64);
}

/// Appends a JSON string with escaping.
pub fn string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    // Fast path: nothing to escape.
    if s.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        buf.extend_from_slice(s);
        buf.push(b'"');
        return;
    }
    for &c in s {
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            c if !(0x20..0x7f).contains(&c) => {
                let _ = write!(buf, "\\\\x{c:02x}");
            }
            c => buf.push(c),
        }
    }
    buf.push(b'"');
}

/// Appends a double the way Zeek's JSON writer does (shortest round-trip
/// representation, integral values with `.0`).
pub fn double(buf: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        buf.extend_from_slice(b"null");
        return;
    }
    // Fast path for integral values (counts, zeros): same text, no float formatting.
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        if v < 0.0 || (v == 0.0 && v.is_sign_negative()) {
            buf.push(b'-');
        }
        uint(buf, v.abs() as u64);
        buf.extend_from_slice(b".0");
        return;
    }
    let start = buf.len();
    let _ = write!(buf, "{v}");
    if !buf[start..].contains(&b'.') {
        buf.extend_from_slice(b".0");
    }
}

/// Appends an unsigned integer.
#[inline]
pub fn uint(buf: &mut Vec<u8>, v: u64) {
    let mut b = itoa_buf();
    let s = fmt_u64(&mut b, v);
    buf.extend_from_slice(s);
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn fmt_u64(b: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut i = 20;
    loop {
        i -= 1;
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &b[i..]
}

/// Appends a time as ISO 8601 UTC with microseconds (`JSON::TS_ISO8601`).
pub fn iso8601(buf: &mut Vec<u8>, t: Ts) {
    let us = t.as_micros_rounded();
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (y, mo, d, h, mi, s) = civil(secs);
    let _ = write!(
        buf,
        "\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z\""
    );
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
    }

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

    #[test]
    fn iso8601_and_civil() {
        let mut b = Vec::new();
        iso8601(&mut b, Ts(1_551_475_010_629_660_000));
        assert_eq!(b, b"\"2019-03-01T21:16:50.629660Z\"");
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
