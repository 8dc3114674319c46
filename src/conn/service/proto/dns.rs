//! DNS, the analyzer's side: when Zeek's DNS analyzer confirms, flips or
//! raises a violation, and the first question kept for the detectors.
//!
//! Must not: build dns.log rows (`crate::dns` parses and pairs the
//! messages for dns.log) or reassemble a TCP message split over payloads.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{parse_question, DnsQuery, Service, Transport};

/// DNS (`src/analyzer/protocol/dns/DNS.cc`): attached on 53/tcp+udp and
/// 137, 5353, 5355/udp (NetBIOS-NS, mDNS, LLMNR); no signature. Each
/// message: if it is the analyzer's first message, comes from the
/// originator and is a response, the connection flips (unless the responder
/// is multicast). More than 25 questions is a violation; otherwise the
/// analyzer confirms once the questions and answers parse. Besides, the
/// first query whose question parses (see [`parse_question`]) is
/// kept for the detectors: one parse per connection, whichever direction
/// sent it; a TCP message is parsed only when it is whole in one payload.
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

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct DnsTcp {
    len: [u8; 2],
    have: u8,
    skip: u32,
}

impl Dns {
    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport == Transport::Udp {
            return self.message(c, data, ev);
        }
        let mut pos = 0;
        while pos < data.len() {
            let t = &mut self.tcp[c.dir()];
            if t.skip > 0 {
                let n = (t.skip as usize).min(data.len() - pos);
                pos += n;
                t.skip -= n as u32;
                continue;
            }
            while t.have < 2 && pos < data.len() {
                t.len[t.have as usize] = data[pos];
                t.have += 1;
                pos += 1;
            }
            if t.have < 2 {
                break;
            }
            t.have = 0;
            let len = usize::from(u16::from_be_bytes(t.len));
            let avail = data.len() - pos;
            if avail >= len {
                let step = self.message(c, &data[pos..pos + len], ev);
                pos += len;
                if step == Step::Done {
                    return step;
                }
            } else {
                // A message split over segments is not reassembled here.
                self.tcp[c.dir()].skip = (len - avail) as u32;
                pos = data.len();
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
        let qr = m[2] & 0x80 != 0;
        if self.first_message && qr && c.is_orig {
            ev.push(Service::Dns, What::Flip);
        }
        self.first_message = false;
        let count = |i: usize| usize::from(u16::from_be_bytes([m[i], m[i + 1]]));
        let (qd, an) = (count(4), count(6));
        if qd > 25 {
            // `dns_max_queries` (`DNS.cc`): `X` in the history, then a
            // violation.
            ev.push(Service::Dns, What::Limit);
            ev.push(Service::Dns, What::Violation);
            return Step::Done;
        }
        let nb = c.resp_port == 137;
        let mut p = 12;
        for _ in 0..qd {
            p = dns_name(m, p, nb);
            if m.len() < p + 4 {
                return Step::More;
            }
            p += 4;
        }
        for _ in 0..an {
            match dns_rr(m, p, nb) {
                Some(np) => p = np,
                None => return Step::More,
            }
        }
        ev.push(Service::Dns, What::Confirm);
        Step::More
    }
}

/// `ExtractName`: returns the offset after the name (never fails; a bad
/// label just ends it, as Zeek's does).
fn dns_name(m: &[u8], mut p: usize, netbios: bool) -> usize {
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
        if l > 63 && !netbios {
            return p;
        }
        p += l;
    }
}

/// `ParseAnswer`: the offset after the RR, or `None` when it does not parse.
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
        _ => Some(p + rdlen),
    }
}
