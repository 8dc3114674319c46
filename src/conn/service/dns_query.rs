//! The question of a DNS query, as the detectors see it (wire format only:
//! RFC 1035 §4.1.2). Owns parsing the first question name of a DNS message
//! into a small fixed-size summary ([`parse_question`]); keeps no state (the
//! DNS analyzer decides which message to parse and stores the result). Must
//! not allocate or panic on any bytes.

/// Longest registered-domain suffix kept (bytes).
pub const SUFFIX_MAX: usize = 32;

/// What a detector needs of a DNS question: sizes and character statistics
/// of the name, a hash to count distinct names, and the last two labels
/// (the "registered domain", for messages).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DnsQuery {
    /// Length of the name in presentation form without the trailing dot.
    pub name_len: u16,
    /// Number of labels.
    pub labels: u8,
    /// Length of the longest label.
    pub max_label: u8,
    /// Shannon entropy of the name's characters, bits per character.
    pub entropy: f32,
    /// Digits among the name's characters (share, 0..1).
    pub digit_share: f32,
    /// 64-bit FNV-1a hash of the lower-cased name (counts distinct names).
    pub name_hash: u64,
    /// `qtype`.
    pub qtype: u16,
    /// The last two labels, lower-cased (e.g. `cdn-sync.net`), truncated.
    pub suffix: [u8; SUFFIX_MAX],
    /// Bytes used in `suffix`.
    pub suffix_len: u8,
}

impl DnsQuery {
    /// The registered-domain suffix as text.
    pub fn suffix(&self) -> &str {
        let n = (self.suffix_len as usize).min(SUFFIX_MAX);
        std::str::from_utf8(self.suffix.get(..n).unwrap_or(&[])).unwrap_or("")
    }
}

/// Reads a big-endian `u16` at `p`.
fn be16(m: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*m.get(p)?, *m.get(p.checked_add(1)?)?]))
}

/// Lower-cases an ASCII byte; other bytes are kept as they are.
fn lower(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// FNV-1a 64 offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Longest name in presentation form (RFC 1035 §2.3.4).
const NAME_MAX: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
const LABEL_MAX: usize = 63;

/// Parses the first question of a DNS message (a UDP payload, or a TCP
/// message without its 2-byte length prefix).
///
/// Returns `None` unless the message is a query (QR = 0) with at least one
/// question whose name is made of uncompressed labels of at most 63 bytes,
/// at most 255 bytes in presentation form, followed by its `qtype`. The root
/// name gives an empty summary (length 0, no labels). Works on the bytes in
/// place: no allocation, no panic.
pub fn parse_question(msg: &[u8]) -> Option<DnsQuery> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 || be16(msg, 4)? == 0 {
        return None;
    }
    let mut counts = [0u8; 256];
    let mut q = DnsQuery::default();
    let mut hash = FNV_OFFSET;
    let mut chars = 0usize; // name characters, dots excluded
    let mut digits = 0usize;
    let mut name_len = 0usize;
    // Start offsets and lengths of the last two labels.
    let mut last: Option<(usize, usize)> = None;
    let mut prev: Option<(usize, usize)> = None;
    let mut p = 12usize;
    loop {
        let l = usize::from(*msg.get(p)?);
        p += 1;
        if l == 0 {
            break;
        }
        if l > LABEL_MAX {
            // 0xc0: a compression pointer; 0x40/0x80: reserved label types.
            return None;
        }
        let label = msg.get(p..p + l)?;
        let add = if q.labels == 0 { l } else { l + 1 };
        name_len += add;
        if name_len > NAME_MAX {
            return None;
        }
        if q.labels > 0 {
            hash = (hash ^ u64::from(b'.')).wrapping_mul(FNV_PRIME);
        }
        for &b in label {
            let c = lower(b);
            hash = (hash ^ u64::from(c)).wrapping_mul(FNV_PRIME);
            counts[usize::from(c)] = counts[usize::from(c)].saturating_add(1);
            digits += usize::from(c.is_ascii_digit());
        }
        chars += l;
        q.labels = q.labels.saturating_add(1);
        q.max_label = q.max_label.max(l as u8);
        prev = last;
        last = Some((p, l));
        p += l;
    }
    q.qtype = be16(msg, p)?;
    q.name_len = name_len as u16;
    q.name_hash = hash;
    if chars > 0 {
        let n = chars as f32;
        let mut h = 0.0f32;
        for &k in counts.iter().filter(|&&k| k > 0) {
            let pr = f32::from(k) / n;
            h -= pr * pr.log2();
        }
        q.entropy = h.max(0.0);
        q.digit_share = digits as f32 / n;
    }
    // The registered-domain suffix: the last two labels, lower-cased, with
    // bytes that are not printable ASCII replaced by '?'.
    let mut n = 0usize;
    let mut put = |b: u8| {
        if let Some(slot) = q.suffix.get_mut(n) {
            *slot = if b.is_ascii_graphic() { lower(b) } else { b'?' };
            n += 1;
        }
    };
    for (i, part) in [prev, last].into_iter().flatten().enumerate() {
        if i > 0 {
            put(b'.');
        }
        for &b in msg.get(part.0..part.0 + part.1).unwrap_or(&[]) {
            put(b);
        }
    }
    q.suffix_len = n as u8;
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query message (id 0x1234, RD) with one question `name`/`qtype`.
    fn query(labels: &[&[u8]], qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in labels {
            m.push(l.len() as u8);
            m.extend_from_slice(l);
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]); // qclass IN
        m
    }

    fn fnv(s: &[u8]) -> u64 {
        s.iter().fold(FNV_OFFSET, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
        })
    }

    #[test]
    fn parses_name_and_hand_computed_entropy() {
        // "aab.cc": characters a,a,b,c,c (dot excluded): p = 2/5, 1/5, 2/5.
        let q = parse_question(&query(&[b"aab", b"cc"], 1)).expect("parses");
        let want = -(2.0 * 0.4f32 * 0.4f32.log2() + 0.2 * 0.2f32.log2());
        assert!((q.entropy - want).abs() < 1e-5, "{} vs {want}", q.entropy);
        assert!((q.entropy - 1.521_928).abs() < 1e-5);
        assert_eq!((q.name_len, q.labels, q.max_label, q.qtype), (6, 2, 3, 1));
        assert_eq!(q.digit_share, 0.0);
        assert_eq!(q.suffix(), "aab.cc");
        assert_eq!(q.name_hash, fnv(b"aab.cc"));
    }

    #[test]
    fn case_insensitive_and_suffix_is_last_two_labels() {
        let a = parse_question(&query(&[b"X1y2", b"WWW", b"Cdn-Sync", b"NET"], 16)).unwrap();
        let b = parse_question(&query(&[b"x1Y2", b"www", b"cdn-sync", b"net"], 16)).unwrap();
        assert_eq!(a.name_hash, b.name_hash);
        assert_eq!(a.name_hash, fnv(b"x1y2.www.cdn-sync.net"));
        assert_eq!(a.suffix(), "cdn-sync.net");
        assert_eq!((a.name_len, a.labels, a.max_label, a.qtype), (21, 4, 8, 16));
        // 2 digits among 18 characters.
        assert!((a.digit_share - 2.0 / 18.0).abs() < 1e-6);
        // "aaaa.aaaa": one symbol, zero entropy.
        let z = parse_question(&query(&[b"aaaa", b"AAAA"], 1)).unwrap();
        assert_eq!(z.entropy, 0.0);
        // "abcd": four equally likely symbols, 2 bits.
        let t = parse_question(&query(&[b"abcd"], 1)).unwrap();
        assert!((t.entropy - 2.0).abs() < 1e-6);
        assert_eq!(t.suffix(), "abcd");
    }

    #[test]
    fn root_name() {
        let q = parse_question(&query(&[], 2)).expect("root parses");
        assert_eq!((q.name_len, q.labels, q.max_label, q.qtype), (0, 0, 0, 2));
        assert_eq!((q.entropy, q.suffix()), (0.0, ""));
        assert_eq!(q.name_hash, FNV_OFFSET);
    }

    #[test]
    fn rejects_pointer_response_truncated_and_oversized() {
        // A compression pointer in the question.
        let mut m = query(&[b"abc"], 1);
        m.truncate(12);
        m.extend_from_slice(&[3, b'a', b'b', b'c', 0xc0, 0x0c, 0, 1, 0, 1]);
        assert_eq!(parse_question(&m), None);
        // A response.
        let mut r = query(&[b"example", b"com"], 1);
        r[2] |= 0x80;
        assert_eq!(parse_question(&r), None);
        // No question.
        let mut z = query(&[b"example", b"com"], 1);
        z[5] = 0;
        assert_eq!(parse_question(&z), None);
        // Truncated anywhere before the qtype is complete.
        let full = query(&[b"example", b"com"], 1);
        let need = 12 + 13 + 2; // header, name, qtype
        for n in 0..need {
            assert_eq!(parse_question(&full[..n]), None, "len {n}");
        }
        assert!(parse_question(&full[..need]).is_some());
        // A 64-byte label.
        assert_eq!(parse_question(&query(&[&[b'a'; 64]], 1)), None);
        // 63-byte labels: 4 of them are 255 characters, 5 are too many.
        let l = [b'b'; 63];
        let ok = parse_question(&query(&[&l, &l, &l, &l[..63]], 1)).unwrap();
        assert_eq!(ok.name_len, 255);
        assert_eq!(parse_question(&query(&[&l, &l, &l, &l, b"x"], 1)), None);
    }

    #[test]
    fn suffix_is_truncated_and_printable() {
        let q = parse_question(&query(&[b"a", &[b'q'; 40], b"c\x00\xffm"], 1)).unwrap();
        assert_eq!(q.suffix_len as usize, SUFFIX_MAX);
        assert_eq!(q.suffix(), "q".repeat(SUFFIX_MAX));
        let p = parse_question(&query(&[b"x", b"c\x00\xffM"], 1)).unwrap();
        assert_eq!(p.suffix(), "x.c??m");
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..300 {
            let mut m = vec![0u8; len];
            for b in m.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = (x % 70) as u8;
            }
            if len > 5 {
                m[2] = 0;
                m[5] = 1;
            }
            let _ = parse_question(&m);
        }
    }
}
