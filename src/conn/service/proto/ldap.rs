//! LDAP over TCP and UDP (Zeek's Spicy analyzers `LDAP_TCP` / `LDAP_UDP`),
//! up to StartTLS.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Bytes of a message's start kept to decide on it.
const HEAD: usize = 40;
/// OID of the StartTLS extended request (RFC 4511 4.14.1).
const STARTTLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// A BER length at `h[i..]`: `(length, bytes used)`; `None` = need more.
fn ber_len(h: &[u8], i: usize) -> Option<Result<(u64, usize), ()>> {
    let b = *h.get(i)?;
    if b & 0x80 == 0 {
        return Some(Ok((u64::from(b), 1)));
    }
    let n = usize::from(b & 0x7f);
    if n > 8 {
        return Some(Err(()));
    }
    let bytes = h.get(i + 1..i + 1 + n)?;
    Some(Ok((
        bytes.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)),
        1 + n,
    )))
}

/// What the start of one LDAPMessage says.
#[derive(Clone, Copy, Debug, Default)]
struct Msg {
    /// Header plus body length: the whole message.
    total: u64,
    op: u8,
    /// ExtendedRequest naming StartTLS.
    starttls_request: bool,
    /// The LDAPResult code (responses), when read.
    result: Option<u8>,
    /// BindRequest with SASL credentials.
    sasl_bind: bool,
}

/// Whether the protocolOp's unit in `ldap.spicy` starts with an
/// `ASN1::ASN1Message(True)`: BindRequest (`version`), the LDAPResult
/// responses (`Result.code`: Bind, SearchResultDone, Modify, Add, Del,
/// ModDN, Compare and Extended responses), SearchRequest (`baseObject`),
/// SearchResultEntry and ModifyRequest (`objectName`), DelRequest
/// (`objectName`) and AbandonRequest (`messageID`). UnbindRequest is empty,
/// ExtendedRequest starts with a bare context-specific header and the
/// `NotImplemented` ops skip their bytes.
fn starts_with_asn1_message(op: u8) -> bool {
    matches!(
        op,
        0 | 1 | 3 | 4 | 5 | 6 | 7 | 9 | 10 | 11 | 13 | 15 | 16 | 24
    )
}

/// Whether the first BER element of a protocolOp body (`b`, its first bytes
/// as far as known) certainly does not fit the `op_len` bytes the op
/// declares. `Message` parses the op's unit with `&size=self.opLen`, so an
/// `ASN1Message` whose header (`ASN1Header`: tag byte and `LengthType`) or
/// declared body (`&size=head.len.len`) runs past the op is a parse error
/// (`asn1.spicy`). This is what RFC 4511's IMPLICIT primitive encodings of
/// AbandonRequest (`50 01 02`: no room for a header) and DelRequest (`4a`
/// then the DN's bytes read as a tag and a length) do to Zeek's grammar,
/// which expects a nested element (as of Zeek `a13de64`; zeek#5859, opened
/// 2026-09-01, later gave both ops their own IMPLICIT parsing, which is not
/// modelled). Undecided (false) when the bytes that
/// decide are not in the head, or for long-form lengths of 0 or more than
/// 8 bytes.
fn first_tlv_overruns(b: &[u8], op_len: u64) -> bool {
    if op_len < 2 {
        return true;
    }
    let Some(&l) = b.get(1) else {
        return false;
    };
    let (hdr, len) = if l & 0x80 == 0 {
        (2u64, u64::from(l))
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 8 {
            return false;
        }
        if 2 + n as u64 > op_len {
            return true;
        }
        let Some(bytes) = b.get(2..2 + n) else {
            return false;
        };
        (
            2 + n as u64,
            bytes.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)),
        )
    };
    hdr.saturating_add(len) > op_len
}

/// Parses the start of an `LDAP::Message` (`ldap.spicy`): SEQUENCE header,
/// INTEGER messageID, APPLICATION protocolOp whose length fits the
/// message, and the op's first element when its unit starts with one
/// ([`first_tlv_overruns`]). `Ok(None)` = more bytes needed (head not full
/// yet).
fn parse(h: &[u8], full: bool) -> Result<Option<Msg>, ()> {
    let more = |full: bool| if full { Err(()) } else { Ok(None) };
    let Some(&t) = h.first() else {
        return more(full);
    };
    if t != 0x30 {
        return Err(());
    }
    let Some(l) = ber_len(h, 1) else {
        return more(full);
    };
    let (msg_len, ln) = l?;
    let seq_hdr = 1 + ln;
    let total = (seq_hdr as u64).saturating_add(msg_len);
    if !full && (h.len() as u64) < total.min(HEAD as u64) {
        return Ok(None);
    }
    // messageID
    let i = seq_hdr;
    let Some(&t) = h.get(i) else {
        return more(full);
    };
    if t != 0x02 {
        return Err(());
    }
    let Some(l) = ber_len(h, i + 1) else {
        return more(full);
    };
    let (id_len, ln) = l?;
    // (a length past any buffer, up to 2^64 - 1, leaves `i` past the end:
    // more bytes needed, or the datagram's end)
    let i = (i + 1 + ln).saturating_add(usize::try_from(id_len).unwrap_or(usize::MAX));
    // protocolOp: APPLICATION class.
    let Some(&t) = h.get(i) else {
        return more(full);
    };
    if t >> 6 != 1 || t & 0x1f == 0x1f {
        return Err(());
    }
    let Some(l) = ber_len(h, i + 1) else {
        return more(full);
    };
    let (op_len, ln) = l?;
    let body = i + 1 + ln;
    if (body as u64).saturating_add(op_len) > total {
        return Err(());
    }
    let mut m = Msg {
        total,
        op: t & 0x1f,
        ..Msg::default()
    };
    let b = h.get(body..).unwrap_or(&[]);
    if starts_with_asn1_message(m.op) && first_tlv_overruns(b, op_len) {
        return Err(());
    }
    match m.op {
        // ExtendedRequest: [0] requestName.
        23 if b.len() >= 2 && b[0] & 0xc0 == 0x80 => {
            let n = usize::from(b[1]);
            m.starttls_request = b.get(2..2 + n) == Some(STARTTLS_OID);
        }
        // Responses with an LDAPResult: ENUMERATED resultCode first.
        1 | 5 | 7 | 9 | 11 | 13 | 15 | 24 if b.len() >= 3 && b[0] == 0x0a && b[1] == 1 => {
            m.result = Some(b[2]);
        }
        // BindRequest: version INTEGER, name OCTET STRING, auth choice.
        0 if b.len() >= 3 && b[0] == 0x02 => {
            let v = 2 + usize::from(b[1]);
            if let (Some(&0x04), Some(&n)) = (b.get(v), b.get(v + 1)) {
                m.sasl_bind = b.get(v + 2 + usize::from(n)) == Some(&0xa3);
            }
        }
        _ => {}
    }
    Ok(Some(m))
}

/// Message modes (`MessageMode` in `ldap.spicy`), in the `Ctx` that both
/// directions share (`%context`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// `Undef` (or `CLEARTEXT`): every message is an LDAPMessage.
    #[default]
    Clear,
    /// After a successful SASL bind (`BindResponse`: a SASL mechanism and
    /// `SUCCESS`): the next message of either direction decides for the
    /// rest of the connection (`MaybeEncrypted`): a first byte 0x30 sets
    /// `CLEARTEXT`, anything else `ENCRYPTED` (or `MS_KRB5`, whose wrap
    /// token checks are not modelled: framed as `ENCRYPTED`).
    MaybeEncrypted,
    /// `ENCRYPTED`: each message is a 4-byte length and a payload skipped.
    Encrypted,
}

#[derive(Clone, Copy, Debug)]
struct Dir {
    head: [u8; HEAD],
    hlen: u8,
    /// Bytes of the current message still to skip after its head.
    skip: u64,
    /// The current message, once its head was decided.
    cur: Option<Msg>,
    /// Inside an encrypted SASL frame: its length bytes read so far.
    enc: u8,
    enc_len: [u8; 4],
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            head: [0; HEAD],
            hlen: 0,
            skip: 0,
            cur: None,
            enc: 0,
            enc_len: [0; 4],
        }
    }
}

/// LDAP over TCP (`src/analyzer/protocol/ldap/ldap.spicy`): attached on 389,
/// 3268/tcp or by `dpd_ldap_client_tcp` with `dpd_ldap_server_tcp`. Each
/// direction is a sequence of BER LDAPMessages; each complete message
/// confirms (`spicy::accept_input`), a message that does not parse is a
/// violation and stops the analyzer. A client StartTLS extended request
/// answered by a successful extended response switches both directions to
/// SSL after that response.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ldap {
    d: [Dir; 2],
    mode: Mode,
    starttls_requested: bool,
    sasl_requested: bool,
}

impl Ldap {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run_tcp(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let d = &mut self.d[di];
            if d.enc > 0 {
                // Encrypted SASL frame: 4-byte length then payload.
                while d.enc < 5 && pos < data.len() {
                    d.enc_len[usize::from(d.enc - 1)] = data[pos];
                    d.enc += 1;
                    pos += 1;
                }
                if d.enc == 5 {
                    d.enc = 0;
                    d.skip = u64::from(u32::from_be_bytes(d.enc_len));
                    d.cur = None;
                }
                continue;
            }
            if d.skip > 0 {
                let n = d.skip.min((data.len() - pos) as u64) as usize;
                pos += n;
                d.skip -= n as u64;
                if d.skip == 0 {
                    if let Some(m) = d.cur.take() {
                        if let Some(step) = self.message_done(m, c.is_orig, pos, ev) {
                            return step;
                        }
                    }
                }
                continue;
            }
            if d.hlen == 0 && self.mode == Mode::MaybeEncrypted {
                self.mode = if data[pos] == 0x30 {
                    Mode::Clear
                } else {
                    Mode::Encrypted
                };
            }
            let d = &mut self.d[di];
            if d.hlen == 0 && self.mode == Mode::Encrypted {
                d.enc = 1;
                continue;
            }
            // Fill the head.
            let at = usize::from(d.hlen);
            let n = (HEAD - at).min(data.len() - pos);
            d.head[at..at + n].copy_from_slice(&data[pos..pos + n]);
            d.hlen += n as u8;
            let h = d.head;
            let hl = usize::from(d.hlen);
            match parse(&h[..hl], hl == HEAD) {
                Err(()) => {
                    ev.push(Service::LdapTcp, What::Violation);
                    return Step::Done;
                }
                Ok(None) => {
                    pos += n;
                }
                Ok(Some(m)) => {
                    // Consume only this message's bytes of the head.
                    let used = (m.total.min(hl as u64)) as usize;
                    let from_this = used.saturating_sub(at);
                    pos += from_this;
                    d.hlen = 0;
                    d.skip = m.total - used as u64;
                    if d.skip > 0 {
                        d.cur = Some(m);
                    } else if let Some(step) = self.message_done(m, c.is_orig, pos, ev) {
                        return step;
                    }
                }
            }
        }
        Step::More
    }

    /// `LDAP::Message::%done`: confirm, then the StartTLS / SASL bookkeeping.
    fn message_done(&mut self, m: Msg, is_orig: bool, pos: usize, ev: &mut Events) -> Option<Step> {
        ev.push(Service::LdapTcp, What::Confirm);
        if is_orig && m.starttls_request {
            self.starttls_requested = true;
        }
        if is_orig && m.sasl_bind {
            self.sasl_requested = true;
        }
        if !is_orig && m.op == 24 && self.starttls_requested && m.result == Some(0) {
            ev.hand_off(Service::LdapTcp, Service::Ssl, pos);
            return Some(Step::Done);
        }
        if !is_orig && m.op == 1 && self.sasl_requested && m.result == Some(0) {
            // Whatever the mode was: the next message decides again.
            self.mode = Mode::MaybeEncrypted;
        }
        None
    }
}

/// CLDAP (`LDAP_UDP`): attached on 389/udp or by `dpd_ldap_client_udp` with
/// `dpd_ldap_server_udp`. A datagram is a sequence of whole LDAPMessages:
/// each confirms; anything that does not parse is a violation.
pub(super) fn run_udp(c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let mut p = 0;
    while p < m.len() {
        let rest = &m[p..];
        let head = &rest[..rest.len().min(HEAD)];
        match parse(head, true) {
            Ok(Some(msg)) if msg.total <= rest.len() as u64 => {
                ev.push(Service::LdapUdp, What::Confirm);
                p += msg.total as usize;
            }
            _ => {
                ev.push(Service::LdapUdp, What::Violation);
                return Step::Done;
            }
        }
    }
    Step::More
}
