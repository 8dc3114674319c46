//! Kerberos 5 over UDP (analyzer `KRB`) and TCP (analyzer `KRB_TCP`).

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Whether an APPLICATION tag starts one of the messages `KRB_PDU` knows
/// (`krb-protocol.pac`): AS-REQ 10, AS-REP 11, TGS-REQ 12, TGS-REP 13,
/// AP-REQ 14, AP-REP 15, SAFE 20, PRIV 21, CRED 22, ERROR 30.
fn known_tag(t: u8) -> bool {
    matches!(t.wrapping_sub(0x60), 10..=15 | 20..=22 | 30)
}

/// A BER length at `m[i..]`: `(length, bytes used)`.
fn ber_len(m: &[u8], i: usize) -> Option<(usize, usize)> {
    let b = *m.get(i)?;
    if b & 0x80 == 0 {
        return Some((usize::from(b), 1));
    }
    let n = usize::from(b & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let v = m
        .get(i + 1..i + 1 + n)?
        .iter()
        .fold(0usize, |a, &x| a << 8 | usize::from(x));
    Some((v, 1 + n))
}

/// Whether `m` is a KRB_PDU binpac parses: a known APPLICATION tag whose
/// length fits, holding a SEQUENCE (AP-REQ: the SEQUENCE after its inner
/// tags) whose first element is `[0]`/`[1]` `pvno` = 5.
pub(super) fn pdu_ok(m: &[u8]) -> bool {
    let Some(&t) = m.first() else { return false };
    if !known_tag(t) {
        return false;
    }
    let Some((len, ln)) = ber_len(m, 1) else {
        return false;
    };
    let body = 1 + ln;
    if body + len > m.len() {
        return false;
    }
    let b = &m[body..body + len];
    // SEQUENCE, then [n] INTEGER pvno.
    let Some((_, sl)) = (b.first() == Some(&0x30)).then(|| ber_len(b, 1)).flatten() else {
        return false;
    };
    let e = 1 + sl;
    matches!(b.get(e), Some(0xa0 | 0xa1))
        && b.get(e + 1..e + 5) == Some(&[0x03, 0x02, 0x01, 0x05][..])
}

/// KRB over UDP (`src/analyzer/protocol/krb/KRB.cc`): attached on 88/udp or
/// by `dpd_krb_udp`. Every datagram is one KRB_PDU: a message binpac
/// parses confirms (`proc_krb_*`), anything else is a violation.
pub(super) fn run_udp(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    if pdu_ok(m) {
        ev.push(Service::Krb, What::Confirm);
        Step::More
    } else {
        ev.push(Service::Krb, What::Violation);
        Step::Done
    }
}

/// KRB over TCP (`KRB_TCP.cc`, `KRB_PDU_TCP`): attached on 88/tcp. Each
/// message is a 4-byte big-endian length and a KRB_PDU; one that does not
/// parse is a violation. Only the first bytes of each message are kept.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct KrbTcp {
    d: [KDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct KDir {
    buf: [u8; 28],
    blen: u8,
    /// Length of the current PDU (after the 4 length bytes), once read.
    len: u32,
    /// PDU bytes of the current message seen.
    got: u32,
}

impl KrbTcp {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let d = &mut self.d[c.dir()];
        let mut pos = 0;
        while pos < data.len() {
            if d.blen < 4 {
                d.buf[usize::from(d.blen)] = data[pos];
                d.blen += 1;
                pos += 1;
                if d.blen == 4 {
                    d.len = u32::from_be_bytes([d.buf[0], d.buf[1], d.buf[2], d.buf[3]]);
                    d.got = 0;
                }
                continue;
            }
            let n = ((d.len - d.got) as usize).min(data.len() - pos);
            let room = d.buf.len() - usize::from(d.blen);
            let k = n.min(room);
            d.buf[usize::from(d.blen)..usize::from(d.blen) + k]
                .copy_from_slice(&data[pos..pos + k]);
            d.blen += k as u8;
            pos += n;
            d.got += n as u32;
            if d.got == d.len {
                // A whole PDU: check what was kept of it (its first 24 bytes
                // decide the tag, length and pvno).
                let pdu = &d.buf[4..usize::from(d.blen)];
                let ok = if d.len as usize <= pdu.len() {
                    pdu_ok(pdu)
                } else {
                    head_ok(pdu, d.len as usize)
                };
                d.blen = 0;
                if ok {
                    ev.push(Service::KrbTcp, What::Confirm);
                } else {
                    ev.push(Service::KrbTcp, What::Violation);
                    return Step::Done;
                }
            }
        }
        Step::More
    }
}

/// [`pdu_ok`] on the first bytes of a PDU of `total` bytes.
fn head_ok(h: &[u8], total: usize) -> bool {
    let Some(&t) = h.first() else { return false };
    let Some((len, ln)) = ber_len(h, 1) else {
        return false;
    };
    if !known_tag(t) || 1 + ln + len > total {
        return false;
    }
    let b = &h[1 + ln..];
    let Some((_, sl)) = (b.first() == Some(&0x30)).then(|| ber_len(b, 1)).flatten() else {
        return false;
    };
    let e = 1 + sl;
    matches!(b.get(e), Some(0xa0 | 0xa1))
        && b.get(e + 1..e + 5) == Some(&[0x03, 0x02, 0x01, 0x05][..])
}
