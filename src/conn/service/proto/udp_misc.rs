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
/// is a violation (`check_tag`). An SNMPv3 header whose `msgFlags` OCTET
/// STRING is not one byte long is a violation too
/// (`proc_v3_header_data`, on `v3HeaderData`, which is parsed before
/// `Header`'s `proc_header`: the responder's confirmation still follows in
/// the same message).
pub(super) fn snmp(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let version = match ber(m, 0) {
        Some((0x30, _, h)) => match ber(m, h) {
            Some((0x02, n @ 1..=9, vh)) => m.get(h + vh..h + vh + n).map(|v| (v, h + vh + n)),
            _ => None,
        },
        _ => None,
    };
    let Some((v, after)) = version else {
        ev.push(Service::Snmp, What::Violation);
        return Step::Done;
    };
    // `binary_to_int64` of the version's content.
    let v3 = v.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)) == 3;
    if v3 && v3_flags_len(m, after).is_some_and(|n| n != 1) {
        ev.push(Service::Snmp, What::Violation);
        if !c.is_orig {
            ev.push(Service::Snmp, What::Confirm);
        }
        return Step::Done;
    }
    if !c.is_orig {
        ev.push(Service::Snmp, What::Confirm);
    }
    Step::More
}

/// The length of `msgFlags` in the `v3HeaderData` at `m[p..]` (`SEQUENCE {
/// msgID INTEGER, msgMaxSize INTEGER, msgFlags OCTET STRING, ... }`), when
/// its elements are there with their tags (anything else is left to the
/// rules above).
fn v3_flags_len(m: &[u8], p: usize) -> Option<usize> {
    let (0x30, _, h) = ber(m, p)? else {
        return None;
    };
    let mut p = p + h;
    for _ in 0..2 {
        let (0x02, n @ 1..=9, h) = ber(m, p)? else {
            return None;
        };
        p += h + n;
    }
    let (0x04, n, _) = ber(m, p)? else {
        return None;
    };
    Some(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snmp_v3_msg_flags_length() {
        // SEQUENCE { id 1, max size 1500, flags, model 3 }
        let hd = |flags: &[u8]| {
            let mut v = vec![0x30, (9 + 2 + flags.len()) as u8, 2, 1, 1, 2, 2, 5, 0xdc];
            v.extend([0x04, flags.len() as u8]);
            v.extend(flags);
            v.extend([2, 1, 3]);
            v
        };
        assert_eq!(v3_flags_len(&hd(&[4]), 0), Some(1));
        assert_eq!(v3_flags_len(&hd(&[4, 0]), 0), Some(2));
        assert_eq!(v3_flags_len(&hd(&[]), 0), Some(0));
        // Not a header data SEQUENCE, or cut short: no verdict here.
        assert_eq!(v3_flags_len(&[0x31, 0], 0), None);
        assert_eq!(v3_flags_len(&hd(&[4])[..8], 0), None);
    }
}
