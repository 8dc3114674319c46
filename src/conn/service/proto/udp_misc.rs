//! Small datagram protocols: SNMP, SIP, RADIUS, DNP3 over UDP.

use super::dnp3::Dnp3;
use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Per-connection state of the small UDP analyzers (none keeps any now:
/// DNP3's lives with the other datagram states, `set.rs`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct UdpMisc;

impl UdpMisc {
    pub(super) fn flip(&mut self) {}
}

/// DNP3 over UDP (`DNP3_UDP`): attached on 20000/udp; each datagram goes to
/// `DNP3_Base::ProcessData` ([`Dnp3`]), whose per-role state lasts across
/// datagrams (a header can span two). Keyed by the role at delivery, as
/// Zeek's `orig_state` / `resp_state`: a flip swaps nothing.
pub(super) fn dnp3(d: &mut Dnp3, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    d.run(Service::Dnp3Udp, c.dir(), m, ev)
}

/// A BER element header at `m[i..]`: `(tag, length, header bytes)`.
fn ber(m: &[u8], i: usize) -> Option<(u8, usize, usize)> {
    let tag = *m.get(i)?;
    let b = *m.get(i + 1)?;
    if b & 0x80 == 0 {
        return Some((tag, usize::from(b), 2));
    }
    let n = usize::from(b & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let v = m
        .get(i + 2..i + 2 + n)?
        .iter()
        .fold(0usize, |a, &x| a << 8 | usize::from(x));
    Some((tag, v, 2 + n))
}

/// SNMP (`src/analyzer/protocol/snmp/snmp-analyzer.pac`): attached on 161,
/// 162/udp. A message is a SEQUENCE starting with an INTEGER version; a
/// header parsed from the responder confirms (`proc_header`), a wrong tag
/// is a violation (`check_tag`).
pub(super) fn snmp(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let ok = match ber(m, 0) {
        Some((0x30, _, h)) => matches!(ber(m, h), Some((0x02, 1..=9, _))),
        _ => false,
    };
    if !ok {
        ev.push(Service::Snmp, What::Violation);
        return Step::Done;
    }
    if !c.is_orig {
        ev.push(Service::Snmp, What::Confirm);
    }
    Step::More
}

/// SIP (`src/analyzer/protocol/sip/sip-analyzer.pac`): attached on 5060/udp
/// or by `dpd_sip`. A status line (`SIP/x.y NNN ...`) confirms
/// (`proc_sip_reply`); a request line (`METHOD URI SIP/x.y`) parses
/// without confirming; any other first line is a violation.
pub(super) fn sip(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let end = m
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(m.len());
    let line = &m[..end];
    let version = |v: &[u8]| {
        v.len() >= 7
            && v[..4] == *b"SIP/"
            && v[4].is_ascii_digit()
            && v[5] == b'.'
            && v[6].is_ascii_digit()
    };
    if line.starts_with(b"SIP/") {
        let mut parts = line.splitn(3, |&b| b == b' ');
        let v = parts.next().unwrap_or(&[]);
        let code = parts.next().unwrap_or(&[]);
        if version(v) && code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
            ev.push(Service::Sip, What::Confirm);
            return Step::More;
        }
    } else {
        let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let method = parts.next().unwrap_or(&[]);
        let uri = parts.next().unwrap_or(&[]);
        let v = parts.next().unwrap_or(&[]);
        if !method.is_empty()
            && method
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            && !uri.is_empty()
            && version(v)
        {
            return Step::More;
        }
    }
    ev.push(Service::Sip, What::Violation);
    Step::Done
}

/// RADIUS (`src/analyzer/protocol/radius/radius-analyzer.pac`): attached on
/// 1812/udp. Every message that parses (code, identifier, length >= 20 and
/// within the datagram, 16-byte authenticator, attributes of length >= 2)
/// confirms; anything else is a violation.
pub(super) fn radius(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let ok = m.len() >= 20 && {
        let len = usize::from(u16::from_be_bytes([m[2], m[3]]));
        len >= 20 && len <= m.len() && {
            let mut p = 20;
            let mut good = true;
            while p < len {
                let al = usize::from(*m.get(p + 1).unwrap_or(&0));
                if al < 2 || p + al > len {
                    good = false;
                    break;
                }
                p += al;
            }
            good
        }
    };
    ev.push(
        Service::Radius,
        if ok { What::Confirm } else { What::Violation },
    );
    if ok {
        Step::More
    } else {
        Step::Done
    }
}
