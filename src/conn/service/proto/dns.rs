//! DNS, the analyzer's side: when Zeek's DNS analyzer confirms, flips or
//! raises a violation, and the first question kept for the detectors.
//!
//! Must not: build dns.log rows (`crate::dns` parses and pairs the
//! messages for dns.log) or buffer a TCP message split over payloads
//! (`dns_tcp.rs` parses it as it comes).

use super::dns_tcp::{Outcome, Split};
use super::{Ctx, Events, Step, What};
use crate::conn::service::{parse_question, DnsQuery, Service, Transport};

/// DNS (`src/analyzer/protocol/dns/DNS.cc`): attached on 53/tcp+udp and
/// 137, 5353, 5355/udp (NetBIOS-NS, mDNS, LLMNR); no signature. Each
/// message: if it is the analyzer's first message, comes from the
/// originator and is a response, the connection flips (unless the responder
/// is multicast). More than 25 questions is a violation; otherwise the
/// analyzer confirms once the questions and answers parse ([`judge`]).
/// Besides, the first query whose question parses (see [`parse_question`])
/// is kept for the detectors: one parse per connection, whichever direction
/// sent it; over TCP only a message whole in one payload is read for it.
///
/// Over TCP each direction is Zeek's `Contents_DNS`: a 2-byte length, then
/// the message, which may span payloads ([`Split`]); at connection close
/// ([`Dns::close`]) an unfinished message is parsed as far as it came.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dns {
    first_message: bool,
    pub(super) tcp: [DnsTcp; 2],
    pub(super) query: Option<DnsQuery>,
}

impl Default for Dns {
    fn default() -> Self {
        Dns {
            first_message: true,
            tcp: [DnsTcp::default(); 2],
            query: None,
        }
    }
}

/// One direction's `Contents_DNS` state (`DNS_LEN_HI`, `DNS_LEN_LO`,
/// `DNS_MESSAGE_BUFFER`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) enum DnsTcp {
    #[default]
    LenHi,
    LenLo(u8),
    /// A message of this length starts with the next byte.
    Start(u16),
    /// A message partly received.
    Body(Split),
}

impl Dns {
    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport == Transport::Udp {
            return self.message(c, data, ev);
        }
        let nb = c.resp_port == 137;
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            let t = &mut self.tcp[c.dir()];
            match *t {
                DnsTcp::LenHi => {
                    *t = DnsTcp::LenLo(rest[0]);
                    pos += 1;
                }
                DnsTcp::LenLo(hi) => {
                    *t = DnsTcp::Start(u16::from_be_bytes([hi, rest[0]]));
                    pos += 1;
                }
                DnsTcp::Start(size) => {
                    let size = usize::from(size);
                    if rest.len() >= size {
                        // Whole in this payload (an empty message too: Zeek
                        // forwards it at once, and it is too short to parse).
                        *t = DnsTcp::LenHi;
                        pos += size;
                        if self.message(c, &rest[..size], ev) == Step::Done {
                            return Step::Done;
                        }
                    } else {
                        let mut s = Split::new(size as u16, nb);
                        s.feed(rest);
                        *t = DnsTcp::Body(s);
                        pos = data.len();
                    }
                }
                DnsTcp::Body(mut s) => {
                    let n = (s.missing() as usize).min(rest.len());
                    s.feed(&rest[..n]);
                    pos += n;
                    if s.missing() > 0 {
                        *t = DnsTcp::Body(s);
                        continue;
                    }
                    *t = DnsTcp::LenHi;
                    if let Some(o) = s.complete() {
                        if self.verdict(c, Some(s.qr()), o, ev) == Step::Done {
                            return Step::Done;
                        }
                    }
                }
            }
        }
        Step::More
    }

    /// `DNS_Analyzer::ConnectionClosed` → `Contents_DNS::Flush` of the
    /// originator's side, then the responder's: a message partly received
    /// (`buf_n > 0`) is parsed as it stands, with `is_query` 2 (so it never
    /// flips). Zeek then sets `msg_size` to 0 and leaves `buf_n` and the
    /// state: the direction's next byte forwards an empty message and
    /// starts a new length, so the rest of the cut message is read as
    /// length prefixes and messages.
    pub(super) fn close(&mut self, c: &Ctx, ev: &mut Events) -> Step {
        for d in [true, false] {
            let c = Ctx { is_orig: d, ..*c };
            let t = &mut self.tcp[c.dir()];
            let DnsTcp::Body(s) = *t else { continue };
            if s.have() == 0 {
                continue;
            }
            *t = DnsTcp::LenHi;
            if let Some(o) = s.cut() {
                if self.verdict(&c, None, o, ev) == Step::Done {
                    return Step::Done;
                }
            }
        }
        Step::More
    }

    fn message(&mut self, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
        if m.len() < 12 {
            return Step::More;
        }
        if self.query.is_none() {
            self.query = parse_question(m);
        }
        let o = judge(m, c.resp_port == 137);
        self.verdict(c, Some(m[2] & 0x80 != 0), o, ev)
    }

    /// `ParseMessage` on a message of at least 12 bytes: the flip (`qr` is
    /// `None` for a flushed message, `is_query` 2), then the outcome.
    fn verdict(&mut self, c: &Ctx, qr: Option<bool>, o: Outcome, ev: &mut Events) -> Step {
        if self.first_message && qr == Some(true) && c.is_orig {
            ev.push(Service::Dns, What::Flip);
        }
        self.first_message = false;
        match o {
            Outcome::TooManyQueries => {
                // `dns_max_queries` (`DNS.cc`): `X` in the history, then a
                // violation.
                ev.push(Service::Dns, What::Limit);
                ev.push(Service::Dns, What::Violation);
                Step::Done
            }
            Outcome::Confirm => {
                ev.push(Service::Dns, What::Confirm);
                Step::More
            }
            Outcome::Nothing => Step::More,
        }
    }
}

/// `ParseMessage`'s outcome for a whole message `m` (at least 12 bytes):
/// more than 25 questions is a violation, else it confirms once
/// `ParseQuestions` and `ParseAnswers(ancount)` succeed.
pub(super) fn judge(m: &[u8], nb: bool) -> Outcome {
    let count = |i: usize| usize::from(u16::from_be_bytes([m[i], m[i + 1]]));
    let (qd, an) = (count(4), count(6));
    if qd > 25 {
        return Outcome::TooManyQueries;
    }
    let mut p = 12;
    for _ in 0..qd {
        p = dns_name(m, p, nb);
        if m.len() < p + 4 {
            return Outcome::Nothing;
        }
        p += 4;
    }
    for _ in 0..an {
        match dns_rr(m, p, nb) {
            Some(np) => p = np,
            None => return Outcome::Nothing,
        }
    }
    Outcome::Confirm
}

/// `ExtractName`: returns the offset after the name (never fails; a bad
/// label just ends it, as Zeek's does). `ParseQuestion` / `ParseAnswer`
/// give it a 512-byte buffer (`u_char name[513]; int name_len =
/// sizeof(name) - 1;`), and `ExtractLabel` ends the name after the length
/// byte of a label that does not fit (`label_len >= name_len`,
/// `DNS_label_len_gt_name_len`): each label takes its length plus a dot.
fn dns_name(m: &[u8], mut p: usize, netbios: bool) -> usize {
    let mut room = NAME_ROOM;
    loop {
        let Some(&l) = m.get(p) else { return p };
        p += 1;
        if p >= m.len() || l == 0 {
            return p;
        }
        if l & 0xc0 == 0xc0 {
            return p + 1; // compression pointer: the name ends here
        }
        let l = usize::from(l);
        if l > m.len() - p {
            return m.len();
        }
        if (l > 63 && !netbios) || l >= room {
            return p;
        }
        room -= l + 1;
        p += l;
    }
}

/// The name buffer `ExtractName` fills (`sizeof(name) - 1`).
pub(super) const NAME_ROOM: usize = 512;

/// `ParseAnswer`: the offset after the RR, or `None` when it does not parse.
/// The type-specific parses modelled: `ParseRR_A` / `ParseRR_AAAA` (rdlength
/// 4 / 16) and `ParseRR_SOA`, which reads two names (`ExtractName` over
/// the rest of the message, not the rdata) and then needs 20 bytes left
/// in the message (`if ( len < 20 ) return false;`), the RR ending after
/// them whatever its rdlength (`DNS_RR_length_mismatch` is only a weird).
/// Other types end at their rdlength.
fn dns_rr(m: &[u8], p: usize, netbios: bool) -> Option<usize> {
    let p = dns_name(m, p, netbios);
    if m.len() < p + 10 {
        return None;
    }
    let rtype = u16::from_be_bytes([m[p], m[p + 1]]);
    let rdlen = usize::from(u16::from_be_bytes([m[p + 8], m[p + 9]]));
    let p = p + 10;
    let left = m.len() - p;
    if rdlen > left || (rdlen == 0 && left > 0) {
        return None;
    }
    match rtype {
        1 if rdlen != 4 => None,
        28 if rdlen != 16 => None,
        SOA => {
            let q = dns_name(m, p, netbios);
            let q = dns_name(m, q, netbios);
            (m.len() - q >= SOA_FIXED).then_some(q + SOA_FIXED)
        }
        _ => Some(p + rdlen),
    }
}

/// RR type SOA.
pub(super) const SOA: u16 = 6;

/// The five 32-bit fields after an SOA's two names.
pub(super) const SOA_FIXED: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    /// One answer of type SOA with `rdata`, then `tail` (more bytes of the
    /// message, counted by no record).
    fn soa(rdata: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend([0, 0, 6, 0, 1, 0, 0, 0, 60]);
        m.extend((rdata.len() as u16).to_be_bytes());
        m.extend(rdata);
        m.extend(tail);
        m
    }

    /// `ParseRR_SOA`: two names, then 20 bytes left in the message (not in
    /// the rdata); the RR ends after them.
    #[test]
    fn soa_needs_twenty_bytes_after_its_names() {
        let whole = [&[0u8, 0][..], &[1; 20]].concat();
        assert_eq!(judge(&soa(&whole, &[]), false), Outcome::Confirm);
        // Ten bytes after the names: too short as the last record.
        assert_eq!(judge(&soa(&whole[..12], &[]), false), Outcome::Nothing);
        // Compressed names count as two bytes each.
        let ptrs = [&[0xc0u8, 12, 0xc0, 12][..], &[1; 20]].concat();
        assert_eq!(judge(&soa(&ptrs, &[]), false), Outcome::Confirm);
        // A name running past the message leaves nothing for the fields.
        assert_eq!(judge(&soa(&[0, 40, 1, 2], &[]), false), Outcome::Nothing);
    }
}
