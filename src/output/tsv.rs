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
    for &c in s {
        if c == b'\t' || c == b'\\' || !(0x20..0x7f).contains(&c) || (in_set && c == b',') {
            let _ = write!(out, "\\x{c:02x}");
        } else {
            out.push(c);
        }
    }
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
        assert_eq!(meta_time(1_704_067_200), "2024-01-01-00-00-00");
    }
}
