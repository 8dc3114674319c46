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
}
