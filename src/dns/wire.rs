//! DNS wire format (RFC 1035 §4.1) read exactly as Zeek's DNS analyzer reads
//! it (`src/analyzer/protocol/dns/DNS.cc`): the header, a cursor with Zeek's
//! `ExtractShort` / `ExtractLong` / `ExtractStream` rules, and names with
//! `ExtractName` / `ExtractLabel`'s rules — including where parsing stops and
//! what it consumed when a name is malformed, since every later field is read
//! from there.
//!
//! Owns only byte-level decoding. Must not allocate (names are written into
//! a fixed buffer on the stack), recurse, or panic on any input.
//!
//! # Limits (what a hostile message can cost)
//!
//! * A name is at most [`NAME_CAP`] bytes in presentation form (Zeek's
//!   `u_char name[513]`); a label that would not fit ends the name there.
//! * Labels are at most 63 bytes ([`LABEL_MAX`]) except on NetBIOS name
//!   service (responder port 137), where Zeek accepts longer ones.
//! * A compression pointer must point strictly before itself, and the name
//!   it points to is read only up to the pointer (Zeek's
//!   `DNS_label_forward_compress_offset` rule): a loop is impossible and
//!   every name is read in O(message length).
//! * At most [`MAX_POINTER_CHAIN`] pointers are followed for one name
//!   (Zeek's `dns_max_compression_chain_depth`, default 20); the name ends
//!   at the pointer that would exceed it.
//! * Pointers are followed in a loop with a fixed-size stack of level starts
//!   (for Zeek's per-level trailing-dot rule), never by recursion.

use crate::decode::Addr;

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// Longest name kept, bytes (Zeek's 513-byte buffers minus the terminator).
pub const NAME_CAP: usize = 512;
/// Longest TSIG algorithm name kept (Zeek reads it into a 1024-byte buffer).
pub const TSIG_NAME_CAP: usize = 1023;
/// Longest label outside NetBIOS (RFC 1035 §2.3.4).
pub const LABEL_MAX: usize = 63;
/// Most compression pointers followed for one name.
pub const MAX_POINTER_CHAIN: usize = 20;

/// The fixed DNS header (`DNS_MsgInfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// QR: a response.
    pub qr: bool,
    /// OPCODE (4 bits).
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// The 3-bit Z field (Zeek includes the AD and CD bits in it).
    pub z: u8,
    /// RCODE (4 bits).
    pub rcode: u8,
    /// Questions (zone section of an UPDATE).
    pub qdcount: u16,
    /// Answers (prerequisites of an UPDATE).
    pub ancount: u16,
    /// Authority records (updates of an UPDATE).
    pub nscount: u16,
    /// Additional records.
    pub arcount: u16,
}

impl Header {
    /// Reads the header; `None` when the message is shorter than 12 bytes
    /// (Zeek's `DNS_truncated_len_lt_hdr_len`: the message is ignored).
    pub fn parse(m: &[u8]) -> Option<Header> {
        let h = m.get(..HEADER_LEN)?;
        let w = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let flags = w(2);
        Some(Header {
            id: w(0),
            qr: flags & 0x8000 != 0,
            opcode: ((flags & 0x7800) >> 11) as u8,
            aa: flags & 0x0400 != 0,
            tc: flags & 0x0200 != 0,
            rd: flags & 0x0100 != 0,
            ra: flags & 0x0080 != 0,
            z: ((flags & 0x0070) >> 4) as u8,
            rcode: (flags & 0x000f) as u8,
            qdcount: w(4),
            ancount: w(6),
            nscount: w(8),
            arcount: w(10),
        })
    }
}

/// Zeek's `(data, len)` pair: a position in the message and the end of what
/// the parser may still read (the end of the message at the top level).
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor after the header of `msg` (at its end when it is shorter).
    pub fn after_header(msg: &'a [u8]) -> Cursor<'a> {
        Cursor {
            msg,
            pos: HEADER_LEN.min(msg.len()),
            end: msg.len(),
        }
    }

    /// Bytes left (`len`).
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.pos
    }

    /// Whether nothing is left.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Offset in the message.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The whole message.
    pub fn message(&self) -> &'a [u8] {
        self.msg
    }

    /// `ExtractShort`: 0, consuming nothing, when fewer than 2 bytes are left.
    pub fn short(&mut self) -> u16 {
        if self.len() < 2 {
            return 0;
        }
        let v = u16::from_be_bytes([self.msg[self.pos], self.msg[self.pos + 1]]);
        self.pos += 2;
        v
    }

    /// `ExtractLong`: 0, consuming nothing, when fewer than 4 bytes are left.
    pub fn long(&mut self) -> u32 {
        if self.len() < 4 {
            return 0;
        }
        let p = self.pos;
        let v = u32::from_be_bytes([
            self.msg[p],
            self.msg[p + 1],
            self.msg[p + 2],
            self.msg[p + 3],
        ]);
        self.pos += 4;
        v
    }

    /// One byte (`data[0]; ++data; --len`), `None` when nothing is left.
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.msg.get(self.pos).filter(|_| self.pos < self.end)?;
        self.pos += 1;
        Some(b)
    }

    /// `ExtractStream`: the next `min(len, max(n, 0))` bytes.
    pub fn take(&mut self, n: i64) -> &'a [u8] {
        let n = (n.max(0) as u64).min(self.len() as u64) as usize;
        let s = &self.msg[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// `data += n; len -= n` (never past the end).
    pub fn skip(&mut self, n: usize) {
        self.pos += n.min(self.len());
    }
}

/// A name in presentation form as Zeek builds it: raw label bytes joined by
/// dots, no trailing dot, lower-cased where Zeek lower-cases. Holds
/// [`NAME_CAP`] bytes; a TSIG algorithm name (read with Zeek's larger
/// buffer, only for what it consumes) keeps its first [`NAME_CAP`] bytes.
pub struct Name {
    buf: [u8; NAME_CAP + 1],
    len: usize,
}

impl Default for Name {
    fn default() -> Self {
        Name {
            buf: [0; NAME_CAP + 1],
            len: 0,
        }
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl Name {
    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Whether the name is empty (the root).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lower-cases the name in place (ASCII, as C's `tolower`).
    pub fn make_lowercase(&mut self) {
        self.buf[..self.len].make_ascii_lowercase();
    }

    /// Copies another name.
    pub fn copy_from(&mut self, o: &Name) {
        self.buf[..o.len].copy_from_slice(o.as_bytes());
        self.len = o.len;
    }
}

/// How a name is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameRules {
    /// NetBIOS name service: labels longer than 63 bytes are accepted.
    pub netbios: bool,
    /// Lower-case the whole name (the part reached through a pointer is
    /// always lower-cased, as Zeek's recursive call does).
    pub downcase: bool,
    /// Buffer capacity ([`NAME_CAP`], or [`TSIG_NAME_CAP`] for TSIG).
    pub cap: usize,
}

impl NameRules {
    /// Zeek's default: lower-cased, 512 bytes.
    pub fn lower(netbios: bool) -> NameRules {
        NameRules {
            netbios,
            downcase: true,
            cap: NAME_CAP,
        }
    }
}

/// `ExtractName`: reads a name at the cursor into `out` and advances the
/// cursor past what Zeek consumes (labels up to and including the
/// terminating zero or the first pointer; a malformed label ends the name
/// after its length byte, or consumes the rest of the message when it runs
/// past the end).
pub fn extract_name(cur: &mut Cursor<'_>, out: &mut Name, rules: NameRules) {
    let msg = cur.msg;
    let cap = rules.cap.min(TSIG_NAME_CAP);
    // Start of each nesting level in the output (for the trailing-dot rule).
    let mut starts = [0usize; MAX_POINTER_CHAIN + 1];
    let mut depth = 0usize;
    let mut w = 0usize;
    let (mut pos, mut end) = (cur.pos, cur.end);
    loop {
        // ExtractLabel.
        if pos >= end {
            break;
        }
        let orig = pos;
        let l = msg[pos];
        pos += 1;
        if pos >= end || l == 0 {
            break;
        }
        if l & 0xc0 == 0xc0 {
            let off = (usize::from(l & 0x3f) << 8) | usize::from(msg[pos]);
            pos += 1;
            if off >= orig || depth >= MAX_POINTER_CHAIN {
                // Forward (or self) pointer, or too long a chain: the name ends.
                break;
            }
            if depth == 0 {
                cur.pos = pos;
                cur.end = end;
            }
            depth += 1;
            starts[depth] = w;
            pos = off;
            end = orig;
            continue;
        }
        let l = usize::from(l);
        if l > end - pos {
            // DNS_label_len_gt_pkt: the rest of the message is consumed.
            pos = end;
            break;
        }
        if (l > LABEL_MAX && !rules.netbios) || l >= cap - w {
            // DNS_label_too_long / DNS_label_len_gt_name_len.
            break;
        }
        // Past the buffer (a TSIG name only): counted, not kept.
        if let Some(dst) = out.buf.get_mut(w..w + l + 1) {
            dst[..l].copy_from_slice(&msg[pos..pos + l]);
            dst[l] = b'.';
        }
        w += l + 1;
        pos += l;
    }
    if depth == 0 {
        cur.pos = pos;
        cur.end = end;
    }
    // Each level, innermost first, drops its trailing dot.
    for k in (0..=depth).rev() {
        if w - starts[k] >= 2 && out.buf.get(w - 1).is_none_or(|&c| c == b'.') {
            w -= 1;
        }
    }
    let w = w.min(out.buf.len());
    let from = if rules.downcase {
        0
    } else if depth > 0 {
        // The part read through pointers (empty when it was the root).
        starts[1].min(w)
    } else {
        w
    };
    out.buf[from..w].make_ascii_lowercase();
    out.len = w;
}

/// A 4-byte address (`A`).
pub fn addr_v4(v: u32) -> Addr {
    Addr::v4(v.to_be_bytes())
}

/// A 16-byte address from four `ExtractLong` words (`AAAA`, `A6`).
pub fn addr_v6(words: [u32; 4]) -> Addr {
    let mut b = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    Addr(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message: 12 zero header bytes, then `body`.
    fn msg(body: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(body);
        m
    }

    fn name_at(m: &[u8], pos: usize, rules: NameRules) -> (String, usize) {
        let mut c = Cursor {
            msg: m,
            pos,
            end: m.len(),
        };
        let mut n = Name::default();
        extract_name(&mut c, &mut n, rules);
        (String::from_utf8_lossy(n.as_bytes()).into_owned(), c.pos())
    }

    #[test]
    fn header_fields() {
        // id 0xbb50, flags 0xa805: QR, opcode 5, rcode 5; counts 1,1,3,1.
        let m = [
            0xbb, 0x50, 0xa8, 0x05, 0, 1, 0, 1, 0, 3, 0, 1, 0xff, 0xff, 0xff,
        ];
        let h = Header::parse(&m).unwrap();
        assert_eq!((h.id, h.qr, h.opcode, h.rcode), (0xbb50, true, 5, 5));
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 1, 3, 1));
        // 0x0110: RD and the NetBIOS broadcast bit, which Zeek reports as Z = 1.
        let h = Header::parse(&[0, 0, 0x01, 0x10, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((h.rd, h.z, h.qr), (true, 1, false));
        assert_eq!(Header::parse(&m[..11]), None);
    }

    #[test]
    fn plain_and_compressed_names() {
        // 12: "Www.Example.COM" ; 29: "mail" + pointer to 16 ("Example.COM").
        let m = msg(b"\x03Www\x07Example\x03COM\x00\x04Mail\xc0\x10");
        assert_eq!(
            name_at(&m, 12, NameRules::lower(false)),
            ("www.example.com".into(), 29)
        );
        // Not lower-cased at the top level (a question), but the part read
        // through the pointer is (Zeek's recursive ExtractName lower-cases).
        let keep = NameRules {
            downcase: false,
            ..NameRules::lower(false)
        };
        assert_eq!(name_at(&m, 12, keep), ("Www.Example.COM".into(), 29));
        assert_eq!(name_at(&m, 29, keep), ("Mail.example.com".into(), 36));
        assert_eq!(
            name_at(&m, 29, NameRules::lower(false)),
            ("mail.example.com".into(), 36)
        );
    }

    #[test]
    fn root_and_pointer_to_root() {
        let m = msg(b"\x00\x03abc\xc0\x0c");
        assert_eq!(name_at(&m, 12, NameRules::lower(false)), ("".into(), 13));
        // "abc." then a pointer to the root: the trailing dot is removed.
        assert_eq!(name_at(&m, 13, NameRules::lower(false)), ("abc".into(), 19));
        // Kept in its case (a question): the empty part behind the pointer
        // is lower-cased, nothing else (found by fuzzing: an out-of-range slice).
        let m = msg(b"\x00\x03AbC\xc0\x0c");
        let keep = NameRules {
            downcase: false,
            ..NameRules::lower(false)
        };
        assert_eq!(name_at(&m, 13, keep), ("AbC".into(), 19));
    }

    #[test]
    fn forward_and_self_pointers_end_the_name() {
        // A pointer to itself (offset 12) and one pointing forward.
        let m = msg(b"\xc0\x0c\x03abc\xc0\x20\x00");
        assert_eq!(name_at(&m, 12, NameRules::lower(false)), ("".into(), 14));
        assert_eq!(name_at(&m, 14, NameRules::lower(false)), ("abc".into(), 20));
    }

    #[test]
    fn pointer_loops_cannot_happen_and_chains_are_bounded() {
        // Each name is one label plus a pointer to the previous name: a
        // chain of 30 pointers. Only 20 are followed.
        let mut body = b"\x01a\x00".to_vec();
        let mut prev = 12u16;
        for _ in 0..30 {
            let here = 12 + body.len() as u16;
            body.extend_from_slice(b"\x01b");
            body.extend_from_slice(&(0xc000 | prev).to_be_bytes());
            prev = here;
        }
        let m = msg(&body);
        let (n, end) = name_at(&m, usize::from(prev), NameRules::lower(false));
        assert_eq!(end, m.len());
        // 21 "b" labels: the start level plus 20 followed pointers; the
        // 21st pointer is not followed, so "a" never comes.
        assert_eq!(n, vec!["b"; 21].join("."));
    }

    #[test]
    fn bad_labels_stop_where_zeek_stops() {
        // A 64-byte label: the name ends after its length byte.
        let mut body = vec![64u8];
        body.extend_from_slice(&[b'x'; 64]);
        body.push(0);
        let m = msg(&body);
        assert_eq!(name_at(&m, 12, NameRules::lower(false)), ("".into(), 13));
        // On NetBIOS it is a label.
        let (n, end) = name_at(&m, 12, NameRules::lower(true));
        assert_eq!((n.len(), end), (64, m.len()));
        // A label running past the end consumes the rest of the message.
        let m = msg(b"\x03abc\x09de");
        assert_eq!(
            name_at(&m, 12, NameRules::lower(false)),
            ("abc".into(), m.len())
        );
        // A length byte that is the last byte: consumed, the name ends.
        let m = msg(b"\x03abc\x05");
        assert_eq!(
            name_at(&m, 12, NameRules::lower(false)),
            ("abc".into(), m.len())
        );
    }

    #[test]
    fn names_are_capped_at_the_buffer() {
        // 9 labels of 63 bytes: a label must be shorter than the space left,
        // so 8 fit into 512 bytes and the 9th ends the name after its length byte.
        let mut body = Vec::new();
        for _ in 0..9 {
            body.push(63);
            body.extend_from_slice(&[b'q'; 63]);
        }
        body.push(0);
        let m = msg(&body);
        let (n, end) = name_at(&m, 12, NameRules::lower(false));
        assert_eq!(n.len(), 8 * 64 - 1);
        assert_eq!(end, 12 + 8 * 64 + 1);
    }

    #[test]
    fn cursor_extracts_like_zeek() {
        let m = [1u8, 2, 3, 4, 5];
        let mut c = Cursor {
            msg: &m,
            pos: 0,
            end: 5,
        };
        assert_eq!(c.long(), 0x0102_0304);
        assert_eq!(c.long(), 0); // one byte left: nothing consumed
        assert_eq!(c.short(), 0);
        assert_eq!(c.len(), 1);
        assert_eq!(c.take(9), &[5]);
        assert_eq!(c.take(-3), &[] as &[u8]);
        assert_eq!(c.byte(), None);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400usize {
            let mut m = vec![0u8; len];
            for b in m.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly small labels and pointers.
                *b = match x % 5 {
                    0 => 0xc0 | (x >> 8) as u8 & 0x3f,
                    1 => (x >> 16) as u8,
                    _ => (x >> 24) as u8 % 12,
                };
            }
            for start in 0..len.min(40) {
                let mut c = Cursor {
                    msg: &m,
                    pos: start,
                    end: len,
                };
                let mut n = Name::default();
                extract_name(&mut c, &mut n, NameRules::lower(len % 2 == 0));
                assert!(c.pos() <= len && n.as_bytes().len() <= NAME_CAP);
            }
        }
    }
}
