//! The HTTP and MIME grammar the analyzer reads lines with: a request
//! line's version scan, versions, tokens, URI characters, MIME header
//! tokens and numbers, as `HTTP.cc` and `MIME.cc` define them. Pure
//! functions over bytes; must not keep connection state.

/// Finds a request line's version as `ParseRequest` does, over the whole
/// line while it streams in: the method token, blanks, the URI
/// (`is_reserved_URI_char`, `is_unreserved_URI_char`, `%`), then the first
/// "HTTP/" (case-sensitive) after the URI, or at the URI's start when the
/// URI runs to the end of the line (`missing_HTTP_uri`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReqScan {
    /// 0 method, 1 blanks, 2 URI, 3 searching "HTTP/", 4 version, 5 done.
    phase: u8,
    /// Bytes of "HTTP/" matched (at the URI's start in phase 2).
    m: u8,
    /// The bytes after "HTTP/" (first three) and how many there were.
    ver: [u8; 3],
    nver: u8,
}

/// What a request line's scan found.
pub(super) enum ReqVersion {
    /// No "HTTP/": HTTP/0.9.
    None,
    /// "HTTP/" with fewer than three bytes after it: the version is kept.
    Short,
    Version(u16),
}

impl ReqScan {
    pub(super) fn feed(&mut self, run: &[u8]) {
        for &b in run {
            self.byte(b);
        }
    }

    pub(super) fn byte(&mut self, b: u8) {
        const P: &[u8; 5] = b"HTTP/";
        let ws = b == b' ' || b == b'\t';
        match self.phase {
            0 if is_token(b) => {}
            0 if ws => self.phase = 1,
            0 => self.phase = 5,
            1 if ws => {}
            1 | 2 => {
                if self.phase == 1 {
                    self.phase = 2;
                    self.m = 0;
                    self.nver = 0;
                }
                if is_uri_char(b) {
                    if self.m < 5 {
                        // The URI's start is still "HTTP/"; 6 = it is not.
                        if P.get(usize::from(self.m)) == Some(&b) {
                            self.m += 1;
                        } else {
                            self.m = 6;
                        }
                    } else if self.m == 5 {
                        self.capture(b);
                    }
                } else {
                    self.phase = 3;
                    self.m = 0;
                    self.nver = 0;
                    self.byte(b);
                }
            }
            3 => {
                if P.get(usize::from(self.m)) == Some(&b) {
                    self.m += 1;
                    if self.m == 5 {
                        self.phase = 4;
                    }
                } else {
                    self.m = u8::from(b == b'H');
                }
            }
            4 => self.capture(b),
            _ => {}
        }
    }

    pub(super) fn capture(&mut self, b: u8) {
        if let Some(v) = self.ver.get_mut(usize::from(self.nver)) {
            *v = b;
        }
        self.nver = self.nver.saturating_add(1);
    }

    pub(super) fn result(&self) -> ReqVersion {
        let found = (self.phase == 2 && self.m == 5) || self.phase == 4;
        if !found {
            ReqVersion::None
        } else if self.nver < 3 {
            ReqVersion::Short
        } else {
            ReqVersion::Version(http_version(&self.ver))
        }
    }
}

/// `HTTP_Version`: "d.d" as `major << 8 | minor`, else 0.
pub(super) fn http_version(v: &[u8]) -> u16 {
    match v {
        [a, b'.', c, ..] if a.is_ascii_digit() && c.is_ascii_digit() => {
            u16::from(a - b'0') << 8 | u16::from(c - b'0')
        }
        _ => 0,
    }
}

/// `SetVersion`'s keep-alive rule: a version above 1.0.
pub(super) fn above_1_0(v: u16) -> bool {
    v > (1 << 8)
}

pub(super) fn is_token(c: u8) -> bool {
    c > 31 && c < 127 && !b" \t()<>@,;:\\\"/[]?={}".contains(&c)
}

pub(super) fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":/?#[]@!$&'()*+,;=-_.~%".contains(&c)
}

/// `m` is a non-empty case-insensitive prefix of `word`
/// (`strncasecmp(m, word, len(m)) == 0`).
pub(super) fn prefix_of(m: &[u8], word: &[u8]) -> bool {
    !m.is_empty() && m.len() <= word.len() && m.eq_ignore_ascii_case(&word[..m.len()])
}

/// MIME's `is_lws`.
pub(super) fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `MIME_skip_lws_comments`: blanks and parenthesised comments.
pub(super) fn skip_lws_comments(l: &[u8]) -> usize {
    let mut i = 0;
    while i < l.len() {
        if is_lws(l[i]) {
            i += 1;
        } else if l[i] == b'(' {
            let mut par = 0u32;
            let mut j = i;
            let mut end = l.len();
            while j < l.len() {
                match l[j] {
                    b'(' => par += 1,
                    b')' => {
                        par = par.saturating_sub(1);
                        if par == 0 {
                            end = j + 1;
                            break;
                        }
                    }
                    b'\\' => j += 1,
                    _ => {}
                }
                j += 1;
            }
            i = end;
        } else {
            return i;
        }
    }
    l.len()
}

/// `MIME_is_token_char`.
pub(super) fn is_mime_token(c: u8) -> bool {
    (33..=126).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// `MIME_get_token`: the first token of `l`, skipping blanks, comments and
/// other bytes before it; its start and end.
pub(super) fn mime_token(l: &[u8]) -> Option<(usize, usize)> {
    let mut i = skip_lws_comments(l);
    while i < l.len() {
        if is_mime_token(l[i]) {
            let n = l[i..].iter().take_while(|&&c| is_mime_token(c)).count();
            return Some((i, i + n));
        }
        let j = skip_lws_comments(&l[i..]);
        i += j.max(1);
    }
    None
}

/// A header line as `MIME_Header` splits it: the field name
/// (`MIME_get_field_name` skips blanks, comments and other bytes before
/// it) and the value (after the ':' and `isspace` bytes); `None` for a
/// malformed line.
pub(super) fn header(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let name_char = |c: u8| (33..=126).contains(&c) && c != b':';
    let mut i = skip_lws_comments(l);
    while i < l.len() && !name_char(l[i]) {
        i += skip_lws_comments(&l[i..]).max(1);
    }
    let rest = l.get(i..)?;
    let n = rest.iter().take_while(|&&c| name_char(c)).count();
    if n == 0 {
        return None;
    }
    let name = &rest[..n];
    let after = &rest[n..];
    let k = skip_lws_comments(after);
    if after.get(k) != Some(&b':') {
        return None;
    }
    let v = &after[k + 1..];
    let w = v
        .iter()
        .take_while(|&&c| c == b' ' || (9..=13).contains(&c))
        .count();
    Some((name, &v[w..]))
}

/// `util::atoi_n`: an optional '-', then digits of `base` up to the first
/// other byte (none at all fails); wraps as Zeek's int64 does.
pub(super) fn atoi_n(s: &[u8], base: u32) -> Option<(i64, usize)> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    let mut i = 0;
    for &c in digits {
        let Some(d) = (c as char).to_digit(base) else {
            if i == 0 {
                return None;
            }
            break;
        };
        n = n.wrapping_mul(i64::from(base)).wrapping_add(i64::from(d));
        i += 1;
    }
    let end = i + usize::from(neg);
    Some((if neg { n.wrapping_neg() } else { n }, end))
}
