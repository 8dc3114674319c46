//! DNS over TCP, the framing side: Zeek's `Contents_DNS`
//! (`src/analyzer/protocol/dns/DNS.cc`), which reads each message's 2-byte
//! length, buffers the message across segments and hands it to
//! `DNS_Interpreter::ParseMessage` once whole (`ProcessChunk` →
//! `ForwardPacket`), and at connection close parses what it holds of an
//! unfinished message (`Flush`, from `DNS_Analyzer::ConnectionClosed`).
//!
//! Here a message split over payloads is not buffered: [`Split`] parses it
//! as its bytes arrive, with the same rules as [`super::dns::judge`] on the
//! whole message (the message length is known from the prefix), and keeps
//! what it needs to tell what `judge` would say of the bytes received so
//! far (the `Flush` case). `dns.rs` tests both against `judge`.
//!
//! Must not: buffer a message, or decide what Zeek does with an outcome
//! (`dns.rs` flips, confirms and raises violations).

use super::dns::{NAME_ROOM, SOA, SOA_FIXED};

/// What `DNS_Interpreter::ParseMessage` decides about a message of at least
/// 12 bytes (shorter ones are only a weird).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// `ParseQuestions` or `ParseAnswers` failed: no confirmation.
    Nothing,
    /// Questions and answers parsed: `AnalyzerConfirmation`.
    Confirm,
    /// `qdcount > dns_max_queries` (25): a violation.
    TooManyQueries,
}

/// Where the parse of a split message stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Reading the 12-byte header.
    #[default]
    Header,
    /// At a label length byte (offset `next`) of a question's or an RR's
    /// name.
    Label,
    /// A question's name ended at `next`: its type and class follow.
    QFixed,
    /// An RR's name ended at `next`: its 10 fixed bytes follow.
    RFixed,
    /// An SOA's rname ended at `next`: 20 bytes must be left in the
    /// message (`ParseRR_SOA`).
    SoaFixed,
    /// The parse ended: `Outcome`.
    Done(Outcome),
}

/// The parse of one message whose bytes arrive over several payloads.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Split {
    /// The message length (from the prefix).
    size: u32,
    /// Bytes of the message received so far (`Contents_DNS::buf_n`).
    have: u32,
    hdr: [u8; 12],
    phase: Phase,
    /// In the answer section (else the questions).
    answers: bool,
    /// Items left in the current section, the current one included.
    left: u16,
    /// Offset of the next byte the parse looks at.
    next: u32,
    /// Fixed RR bytes collected at `next`.
    fixed: [u8; 10],
    fixed_n: u8,
    /// Room left in the current name's buffer (`name_len`, see
    /// `dns::dns_name`).
    room: u32,
    /// Names of an SOA's rdata still to read after the current one (the
    /// current name is an rdata name when `soa_names > 0` or `in_soa`).
    soa_names: u8,
    in_soa: bool,
    /// Farthest rdata end of the RRs parsed (an SOA can end before its
    /// rdata does): a message cut before it fails that RR's length check
    /// (`rdlength > len`).
    rd_end: u32,
    /// Farthest end of a label that ended its name without being read
    /// (longer than 63 bytes, `DNS_label_too_long`, or than the room left,
    /// `DNS_label_len_gt_name_len`): a message cut before that end ends the
    /// name at the cut instead (`label_len > len`), and fails.
    long_end: u32,
    /// The parse failed on a last answer with rdlength 0 whose fixed bytes
    /// end here (`rdlength == 0 && len > 0`); a message cut exactly there
    /// has `len == 0` and confirms.
    zero_end: u32,
    netbios: bool,
}

impl Split {
    /// A message of `size` bytes starts (its first bytes are still to
    /// come through [`Split::feed`]).
    pub(super) fn new(size: u16, netbios: bool) -> Self {
        Split {
            size: u32::from(size),
            room: NAME_ROOM as u32,
            netbios,
            ..Split::default()
        }
    }

    /// Bytes received so far.
    pub(super) fn have(&self) -> u32 {
        self.have
    }

    /// Bytes still to come.
    pub(super) fn missing(&self) -> u32 {
        self.size - self.have
    }

    /// QR of the header (valid once 12 bytes arrived).
    pub(super) fn qr(&self) -> bool {
        self.hdr[2] & 0x80 != 0
    }

    /// The next bytes of the message (at most [`Split::missing`]).
    pub(super) fn feed(&mut self, data: &[u8]) {
        let start = self.have;
        let data = &data[..data.len().min(self.missing() as usize)];
        for (i, &b) in data.iter().enumerate() {
            let at = start as usize + i;
            if at >= 12 {
                break;
            }
            self.hdr[at] = b;
        }
        self.have += data.len() as u32;
        if self.have < 12 {
            return;
        }
        if self.phase == Phase::Header {
            self.start_sections();
        }
        self.pump(start, data);
    }

    /// The whole message arrived: `ParseMessage`'s outcome (`None` for a
    /// message shorter than the header).
    pub(super) fn complete(&self) -> Option<Outcome> {
        if self.size < 12 {
            return None;
        }
        match self.phase {
            Phase::Done(o) => Some(o),
            // Cannot happen: with every byte in, the parse always ends.
            _ => Some(Outcome::Nothing),
        }
    }

    /// `Flush`: the outcome of parsing the bytes received so far as a
    /// whole message (`None` below the header).
    pub(super) fn cut(&self) -> Option<Outcome> {
        let l = self.have;
        if l < 12 {
            return None;
        }
        if self.phase == Phase::Done(Outcome::TooManyQueries) {
            return Some(Outcome::TooManyQueries);
        }
        if self.long_end > l {
            return Some(Outcome::Nothing);
        }
        Some(match self.phase {
            // Every question and answer ended within the bytes received,
            // the same way (no length check of a cut message differs).
            Phase::Done(Outcome::Confirm) if self.next <= l && self.rd_end <= l => Outcome::Confirm,
            Phase::Done(Outcome::Nothing) if self.zero_end == l && self.rd_end <= l => {
                Outcome::Confirm
            }
            // Anything still open needs bytes past the cut.
            _ => Outcome::Nothing,
        })
    }

    fn count(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.hdr[i], self.hdr[i + 1]])
    }

    fn start_sections(&mut self) {
        let (qd, an) = (self.count(4), self.count(6));
        self.next = 12;
        if qd > 25 {
            self.phase = Phase::Done(Outcome::TooManyQueries);
        } else if qd > 0 {
            (self.answers, self.left, self.phase) = (false, qd, Phase::Label);
        } else {
            self.start_answers(an);
        }
    }

    fn start_answers(&mut self, an: u16) {
        if an > 0 {
            (self.answers, self.left, self.phase) = (true, an, Phase::Label);
        } else {
            self.phase = Phase::Done(Outcome::Confirm);
        }
    }

    /// The current item's name ended at `p`.
    fn name_end(&mut self, p: u32) {
        self.next = p;
        self.fixed_n = 0;
        self.room = NAME_ROOM as u32;
        if self.in_soa {
            // An SOA's mname, then its rname.
            if self.soa_names > 0 {
                self.soa_names -= 1;
                self.phase = Phase::Label;
            } else {
                self.in_soa = false;
                self.phase = Phase::SoaFixed;
            }
            return;
        }
        self.phase = if self.answers {
            Phase::RFixed
        } else {
            Phase::QFixed
        };
    }

    /// The current item is done at `p`: on to the next one.
    fn item_done(&mut self, p: u32) {
        self.next = p;
        self.left -= 1;
        if self.left > 0 {
            self.phase = Phase::Label;
        } else if !self.answers {
            let an = self.count(6);
            self.start_answers(an);
        } else {
            self.phase = Phase::Done(Outcome::Confirm);
        }
    }

    /// Advances the parse over the bytes at offsets `start..self.have`
    /// (`data`), as far as they allow; `dns::dns_name` / `dns::dns_rr` with
    /// the message length `size`.
    fn pump(&mut self, start: u32, data: &[u8]) {
        let t = self.size;
        let byte = |at: u32| -> Option<u8> {
            let i = at.checked_sub(start)?;
            data.get(i as usize).copied()
        };
        loop {
            match self.phase {
                Phase::Header | Phase::Done(_) => return,
                Phase::Label => {
                    let mut p = self.next;
                    if p >= t {
                        self.name_end(p);
                        continue;
                    }
                    let Some(l) = byte(p) else { return };
                    let l = u32::from(l);
                    p += 1;
                    if p >= t || l == 0 {
                        self.name_end(p);
                    } else if l & 0xc0 == 0xc0 {
                        self.name_end(p + 1);
                    } else if l > t - p {
                        self.name_end(t);
                    } else if (l > 63 && !self.netbios) || l >= self.room {
                        self.long_end = self.long_end.max(p + l);
                        self.name_end(p);
                    } else {
                        self.room -= l + 1;
                        self.next = p + l;
                    }
                }
                Phase::SoaFixed => {
                    if t - self.next < SOA_FIXED as u32 {
                        self.phase = Phase::Done(Outcome::Nothing);
                    } else {
                        self.item_done(self.next + SOA_FIXED as u32);
                    }
                }
                Phase::QFixed => {
                    if t < self.next + 4 {
                        self.phase = Phase::Done(Outcome::Nothing);
                    } else {
                        self.item_done(self.next + 4);
                    }
                }
                Phase::RFixed => {
                    if t < self.next + 10 {
                        self.phase = Phase::Done(Outcome::Nothing);
                        continue;
                    }
                    while self.fixed_n < 10 {
                        let Some(b) = byte(self.next + u32::from(self.fixed_n)) else {
                            return;
                        };
                        self.fixed[usize::from(self.fixed_n)] = b;
                        self.fixed_n += 1;
                    }
                    let f = self.fixed;
                    let rtype = u16::from_be_bytes([f[0], f[1]]);
                    let rdlen = u32::from(u16::from_be_bytes([f[8], f[9]]));
                    let p = self.next + 10;
                    let left = t - p;
                    let bad_type = match rtype {
                        1 => rdlen != 4,
                        28 => rdlen != 16,
                        _ => false,
                    };
                    // Cut right after an empty rdata, the RR parses only
                    // where its type needs no bytes (not A, AAAA or SOA).
                    let needs_bytes = rtype == 1 || rtype == 28 || rtype == SOA;
                    if rdlen == 0 && left > 0 && !needs_bytes && self.left == 1 {
                        self.zero_end = p;
                    }
                    if rdlen > left || (rdlen == 0 && left > 0) || bad_type {
                        self.phase = Phase::Done(Outcome::Nothing);
                    } else if rtype == SOA {
                        self.rd_end = self.rd_end.max(p + rdlen);
                        // `ParseRR_SOA`: mname and rname from the rdata's
                        // start, then the fixed fields.
                        self.next = p;
                        self.soa_names = 1;
                        self.in_soa = true;
                        self.phase = Phase::Label;
                    } else {
                        self.item_done(p + rdlen);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::dns::judge;
    use super::*;
    use crate::conn::service::test_rng;

    /// A message of random structure: counts, names (labels of any length,
    /// pointers, labels past the end), question and RR fixed fields with
    /// types 1, 28 and others and rdlengths that fit or not, and trailing
    /// bytes.
    fn message(rng: &mut impl FnMut() -> u64) -> Vec<u8> {
        let mut m = vec![0u8; 12];
        m[2] = if rng() % 2 == 0 { 0x80 } else { 0 };
        let qd = if rng() % 20 == 0 { 26 } else { rng() % 3 } as u16;
        let an = (rng() % 4) as u16;
        m[4..6].copy_from_slice(&qd.to_be_bytes());
        m[6..8].copy_from_slice(&an.to_be_bytes());
        let name = |m: &mut Vec<u8>, rng: &mut dyn FnMut() -> u64| {
            // Now and then a name too long for the 512-byte buffer.
            let labels = if rng() % 10 == 0 {
                7 + rng() % 4
            } else {
                rng() % 3
            };
            let big = labels > 3;
            for _ in 0..labels {
                let l = match rng() % 8 {
                    _ if big => 55 + (rng() % 9) as u8,
                    0 => 64 + (rng() % 40) as u8,
                    1 => 0xc0,
                    _ => (rng() % 12) as u8 + 1,
                };
                m.push(l);
                if l == 0xc0 {
                    m.push(rng() as u8);
                    return;
                }
                let body = if rng() % 10 == 0 { l / 2 } else { l };
                m.extend((0..body).map(|_| b'a' + (rng() % 26) as u8));
            }
            m.push(0);
        };
        for _ in 0..qd.min(3) {
            name(&mut m, rng);
            m.extend([0, 1, 0, 1]);
        }
        for _ in 0..an {
            name(&mut m, rng);
            let rtype: u16 = [1, 28, 5, 16, 99, 6, 6][(rng() % 7) as usize];
            if rtype == 6 && rng() % 2 == 0 {
                // An SOA whose rdata is two names and the fixed fields,
                // now and then some of them short.
                let start = m.len();
                m.extend(rtype.to_be_bytes());
                m.extend([0, 1, 0, 0, 0, 60, 0, 0]);
                name(&mut m, rng);
                name(&mut m, rng);
                let fixed = if rng() % 3 == 0 { rng() % 20 } else { 20 };
                m.extend((0..fixed).map(|_| rng() as u8));
                let rdlen = (m.len() - start - 10) as u16;
                m[start + 8..start + 10].copy_from_slice(&rdlen.to_be_bytes());
                continue;
            }
            let rdlen: u16 = match rng() % 5 {
                0 => 0,
                1 => 4,
                2 => 16,
                _ => (rng() % 20) as u16,
            };
            m.extend(rtype.to_be_bytes());
            m.extend([0, 1, 0, 0, 0, 60]);
            m.extend(rdlen.to_be_bytes());
            let body = if rng() % 8 == 0 {
                rng() % 24
            } else {
                u64::from(rdlen)
            };
            m.extend((0..body).map(|_| rng() as u8));
        }
        if rng() % 4 == 0 {
            m.extend((0..rng() % 6).map(|_| rng() as u8));
        }
        m
    }

    /// Feeds `m` to a split parse of a message of `size` bytes in random
    /// chunks.
    fn fed(m: &[u8], size: usize, nb: bool, rng: &mut impl FnMut() -> u64) -> Split {
        let mut s = Split::new(size as u16, nb);
        let mut pos = 0;
        while pos < m.len() {
            let n = (1 + (rng() % 9) as usize).min(m.len() - pos);
            s.feed(&m[pos..pos + n]);
            pos += n;
        }
        s
    }

    #[test]
    fn split_and_cut_messages_agree_with_the_whole_message_parse() {
        let mut rng = test_rng(0x05ee_dd45);
        let mut seen = [0usize; 3];
        for _ in 0..3000 {
            let m = message(&mut rng);
            let nb = rng() % 8 == 0;
            let s = fed(&m, m.len(), nb, &mut rng);
            let whole = judge(&m, nb);
            assert_eq!(s.complete(), Some(whole), "{m:02x?}");
            seen[whole as usize] += 1;
            for l in 1..m.len() {
                let s = fed(&m[..l], m.len(), nb, &mut rng);
                let want = (l >= 12).then(|| judge(&m[..l], nb));
                assert_eq!(s.cut(), want, "cut at {l}: {m:02x?}");
            }
        }
        // Every outcome occurs.
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }

    #[test]
    fn a_message_cut_right_after_an_empty_last_rdata_confirms() {
        // One answer, type 16 with rdlength 0, and one more byte: the whole
        // message fails (`rdlength == 0 && len > 0`), the message cut
        // before that byte confirms.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend([0, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0]);
        m.push(0xff);
        assert_eq!(judge(&m, false), Outcome::Nothing);
        let mut s = Split::new(m.len() as u16, false);
        s.feed(&m[..m.len() - 1]);
        assert_eq!(s.cut(), Some(Outcome::Confirm));
        s.feed(&m[m.len() - 1..]);
        assert_eq!(s.complete(), Some(Outcome::Nothing));
    }

    #[test]
    fn a_label_too_long_that_passes_the_cut_fails_the_cut_message() {
        // A 70-byte label (not NetBIOS) ends its name at once in the whole
        // message, but cut inside it, the label runs past the end.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 70];
        m.extend([0, 1, 0, 1]);
        m.extend([b'x'; 80]);
        assert_eq!(judge(&m, false), Outcome::Confirm);
        assert_eq!(judge(&m[..20], false), Outcome::Nothing);
        let s = fed(&m[..20], m.len(), false, &mut test_rng(7));
        assert_eq!(s.cut(), Some(Outcome::Nothing));
        let s = fed(&m[..90], m.len(), false, &mut test_rng(7));
        assert_eq!(s.cut(), Some(Outcome::Confirm));
    }
}
