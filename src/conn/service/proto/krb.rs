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

/// APPLICATION tag of KRB-ERROR (30).
const ERROR_TAG: u8 = 0x60 + 30;

/// Whether the body of a KRB-ERROR parses as `KRB_ERROR_MSG`
/// (`krb-protocol.pac`), which unlike the other messages has no fixed first
/// element: a SEQUENCE header (`ASN1EncodingMeta`, tag not checked), then
/// `args1`, `KRB_ERROR_Arg`s up to the one with index 6 (error-code, whose
/// own length is not consumed), the `error_code` INTEGER (meta and
/// content), then `args2` to the end of the data. Each `KRB_ERROR_Arg` is a
/// meta whose index (`tag - 0xa0`, 8-bit) must be one of the
/// `KRB_ERROR_Arg_Data` cases 0..=12 (binpac throws for any other) and
/// whose content must fit. `complete` = `b` holds the whole message; else
/// running out of bytes is not a failure (TCP keeps only a PDU's head).
fn error_ok(b: &[u8], complete: bool) -> bool {
    // One `ASN1EncodingMeta` at `b[i..]`: (tag, length, bytes used).
    let meta = |i: usize| -> Option<(u8, usize, usize)> {
        let t = *b.get(i)?;
        let (len, ln) = ber_len(b, i + 1)?;
        Some((t, len, 1 + ln))
    };
    let Some((_, _, used)) = meta(0) else {
        return !complete;
    };
    let mut i = used;
    let mut in_args1 = true;
    loop {
        if !in_args1 && i >= b.len() {
            return true; // `args2` ends with the data
        }
        let Some((t, len, used)) = meta(i) else {
            return !complete;
        };
        let index = t.wrapping_sub(0xa0);
        if index > 12 {
            return false;
        }
        i += used;
        if in_args1 && index == 6 {
            // `error_code`: its own meta and content.
            let Some((_, len, used)) = meta(i) else {
                return !complete;
            };
            i = i.saturating_add(used).saturating_add(len);
            in_args1 = false;
        } else if index != 6 {
            i = i.saturating_add(len);
        }
        if i > b.len() {
            return !complete;
        }
    }
}

/// Whether `m` is a KRB_PDU binpac parses: a known APPLICATION tag whose
/// length fits, holding a SEQUENCE (AP-REQ: the SEQUENCE after its inner
/// tags) whose first element is `[0]`/`[1]` `pvno` = 5; a KRB-ERROR as
/// [`error_ok`].
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
    if t == ERROR_TAG {
        // `KRB_ERROR_MSG` is not bounded by the APPLICATION length: `args2`
        // runs to the end of the datagram.
        return error_ok(&m[body..], true);
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
/// A partial connection (first packet without SYN) is never parsed.
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
        // `KRB_TCP.cc` `DeliverStream`: `if ( TCP()->IsPartial() ) return;`
        // (and nothing after a gap, `had_gap`, see `ProtoSet::gap`).
        if c.transport != Transport::Tcp || c.partial {
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
    if t == ERROR_TAG {
        return error_ok(b, false);
    }
    let Some((_, sl)) = (b.first() == Some(&0x30)).then(|| ber_len(b, 1)).flatten() else {
        return false;
    };
    let e = 1 + sl;
    matches!(b.get(e), Some(0xa0 | 0xa1))
        && b.get(e + 1..e + 5) == Some(&[0x03, 0x02, 0x01, 0x05][..])
}
