//! SMB (v1 and v2/3) and the GSSAPI / NTLM / KRB analyzers it instantiates
//! for security blobs.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Kerberos 5 mechanism OID (1.2.840.113554.1.2.2) as DER, and the MS
/// variant (1.2.840.48018.1.2.2).
const KRB5_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const MS_KRB5_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];

/// `SMB_Conn::forward_gssapi` on a security blob: a blob of 8+ bytes that
/// starts with `NTLMSSP` goes to NTLM, any other to GSSAPI (which confirms
/// on every blob it parses, `GSSAPI.cc`), and GSSAPI hands an `NTLMSSP`
/// mechToken to NTLM and a Kerberos one to KRB (`gssapi-analyzer.pac`).
pub(super) fn forward_gssapi(parent: Service, blob: &[u8], ev: &mut Events) {
    if blob.len() < 8 {
        return;
    }
    if blob.starts_with(b"NTLMSSP") {
        ev.push(Service::Ntlm, What::Child(parent));
        return;
    }
    if !matches!(blob[0], 0x60 | 0xa0 | 0xa1) {
        // GSSAPI_SELECT's unknown branch: parsed, nothing forwarded.
        ev.push(Service::Gssapi, What::Child(parent));
        return;
    }
    ev.push(Service::Gssapi, What::Child(parent));
    if find(blob, b"NTLMSSP\0").is_some() {
        ev.push(Service::Ntlm, What::Child(parent));
    } else if let Some(i) = find(blob, &KRB5_OID).or_else(|| find(blob, &MS_KRB5_OID)) {
        // krb5 token: OID, 2-byte token id, then the KRB message.
        let rest = &blob[i + KRB5_OID.len()..];
        if rest.len() > 2 && super::krb::pdu_ok(&rest[2..]) {
            ev.push(Service::Krb, What::Child(parent));
        }
    }
}

/// Length of the DCE/RPC v5 PDU at the start of `d` (`dpd_dce_rpc`'s
/// header: version 5, minor 0/1, type 0..=19; fragment length by the data
/// representation's byte order), when its header is there.
pub(super) fn dce_pdu_len(d: &[u8]) -> Option<usize> {
    if d.len() < 16 || d[0] != 5 || d[1] > 1 || d[2] > 19 {
        return None;
    }
    let le = d[4] & 0x10 != 0;
    let frag = if le {
        u16::from_le_bytes([d[8], d[9]])
    } else {
        u16::from_be_bytes([d[8], d[9]])
    };
    (frag >= 16).then_some(usize::from(frag))
}

/// `DCE_RPC_Conn::forward_auth` (`dce_rpc-auth.pac`): the authentication
/// verifier of a whole PDU goes to GSSAPI (type 9), NTLM (10) or KRB (16).
pub(super) fn dce_auth(pdu: &[u8], parent: Service, ev: &mut Events) {
    let le = pdu.get(4).is_some_and(|b| b & 0x10 != 0);
    let Some(al) = pdu.get(10..12) else { return };
    let auth_len = usize::from(if le {
        u16::from_le_bytes([al[0], al[1]])
    } else {
        u16::from_be_bytes([al[0], al[1]])
    });
    if auth_len == 0 || pdu.len() < 16 + 8 + auth_len {
        return;
    }
    let trailer = pdu.len() - auth_len - 8;
    let blob = &pdu[trailer + 8..];
    match pdu[trailer] {
        0x09 => forward_gssapi(parent, blob, ev),
        0x0a => ev.push(Service::Ntlm, What::Child(parent)),
        0x10 if super::krb::pdu_ok(blob) => ev.push(Service::Krb, What::Child(parent)),
        _ => {}
    }
}

/// Data written to or read from an SMB named pipe: DCE/RPC PDUs go to the
/// DCE_RPC analyzer SMB instantiates for pipes (`smb-pipe.pac`), which
/// confirms on a whole PDU and forwards its authentication.
fn pipe_data(d: &[u8], ev: &mut Events) {
    let mut p = 0;
    while let Some(n) = d.get(p..).and_then(dce_pdu_len) {
        let Some(pdu) = d.get(p..p + n) else { return };
        ev.push(Service::DceRpc, What::Child(Service::Smb));
        // Its own children hang off the same SMB analyzer.
        dce_auth(pdu, Service::Smb, ev);
        p += n;
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct SmbDir {
    nbss: [u8; 4],
    nlen: u8,
    /// Bytes of the current NBSS message still to skip.
    skip: u32,
}

/// SMB (`src/analyzer/protocol/smb/SMB.cc`): attached on 139, 445/tcp or by
/// `dpd_smb`. Parsing starts at a delivered chunk with an SMB header at
/// offset 4 (resynchronised after a gap) and the analyzer confirms after
/// three chunks without a binpac exception. An exception (a message too
/// short for its headers, [`truncated`]) is a violation and needs a resync;
/// within the first 10 KiB the violation removes the analyzer (and `smb`,
/// if confirmed: `dpd.zeek`'s `analyzer_failed`). Security blobs of SMB2
/// NEGOTIATE / SESSION_SETUP and SMB1 NEGOTIATE / SESSION_SETUP_ANDX
/// (extended security) go to GSSAPI / NTLM ([`forward_gssapi`]) when the
/// message's start is in one chunk.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Smb {
    d: [SmbDir; 2],
    synced: bool,
    chunks: u8,
    /// SMB1 transaction requests on a named pipe, by message id.
    pipes: PipeMids,
}

impl Smb {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self) {
        self.synced = false;
        self.d = Default::default();
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        if !self.synced {
            if data.len() < 8 || !(data[4..8] == *b"\xffSMB" || data[4..8] == *b"\xfeSMB") {
                return Step::More;
            }
            self.synced = true;
            self.d = Default::default();
        }
        let d = &mut self.d[c.dir()];
        let mut pos = 0;
        while pos < data.len() {
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                continue;
            }
            if d.nlen == 0 && data.len() - pos >= 4 {
                let h = &data[pos..pos + 4];
                let len = u32::from_be_bytes([0, h[1], h[2], h[3]]);
                let start = pos + 4;
                let msg = &data[start..data.len().min(start + len as usize)];
                if h[0] == 0 {
                    if truncated(len as usize, msg, c.is_orig) {
                        // A binpac exception: `ProtocolViolation`, then
                        // `NeedResync` (the chunk does not count).
                        ev.push(Service::Smb, What::Violation);
                        self.synced = false;
                        self.d = Default::default();
                        return Step::More;
                    }
                    message(msg, &mut self.pipes, ev);
                }
                pos = start;
                d.skip = len;
                continue;
            }
            d.nbss[usize::from(d.nlen)] = data[pos];
            d.nlen += 1;
            pos += 1;
            if d.nlen == 4 {
                d.nlen = 0;
                d.skip = u32::from_be_bytes([0, d.nbss[1], d.nbss[2], d.nbss[3]]);
            }
        }
        self.chunks = self.chunks.saturating_add(1);
        if self.chunks == 3 {
            ev.push(Service::Smb, What::Confirm);
        }
        Step::More
    }
}

/// Whether an NBSS session message of `len` bytes (`part` = its bytes in
/// this chunk) is too short for what binpac reads unconditionally, which
/// throws `ExceptionOutOfBound` (`smb.pac`: `SMB_TCP` is `&length=len+4`):
/// the 4-byte protocol id (`SMB_Protocol_Identifier`), SMB1's 32-byte
/// header (`SMB_Header`), SMB2's 64-byte header (`SMB2_Header`) and the
/// fixed part of its body (`smb2-protocol.pac`, `smb2-com-*.pac`: an error
/// response's 8 bytes, plus a symlink error's 28 when its byte count is not
/// zero, else each command's fixed fields). Other protocol
/// ids parse as `empty`. Only decided when the header's first 20 bytes are
/// in the chunk.
fn truncated(len: usize, part: &[u8], is_orig: bool) -> bool {
    if len < 4 {
        return true;
    }
    let Some(proto) = part.get(..4) else {
        return false;
    };
    match proto {
        b"\xffSMB" => len < 32,
        b"\xfeSMB" => {
            if len < 64 {
                return true;
            }
            let Some(h) = part.get(..20) else {
                return false;
            };
            let status = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
            let command = u16::from_le_bytes([h[12], h[13]]);
            let body = if !matches!(status, 0 | 0x8000_0005 | 0xc000_0016) {
                // SMB2_error_response: structure size, reserved, byte count;
                // a non-zero byte count makes binpac read an
                // `SMB2_symlink_error` (28 fixed bytes) whatever the status.
                match part.get(68..72) {
                    Some(b) if b != [0, 0, 0, 0] => 8 + 28,
                    _ => 8,
                }
            } else {
                // `SMB2_Message`: request or response by direction.
                smb2_fixed(command, !is_orig)
            };
            len < 64 + body
        }
        _ => false,
    }
}

/// Bytes of an SMB2 body's fixed part (MS-SMB2 2.2: the structure size
/// without its variable buffer), 0 for commands binpac parses as `empty`.
fn smb2_fixed(command: u16, response: bool) -> usize {
    match (command, response) {
        (0, false) => 36,
        (0, true) => 64,
        (1, false) => 24,
        (1, true) => 8,
        (2 | 4 | 12 | 13, _) => 4,
        (3, false) => 8,
        (3, true) => 16,
        (5, false) => 56,
        (5, true) => 88,
        (6, false) => 24,
        (6, true) => 60,
        (7, false) => 24,
        (7, true) => 4,
        (8 | 9, false) => 48,
        (8 | 9, true) => 16,
        (10, false) => 24,
        (10, true) => 4,
        (11, false) => 56,
        (11, true) => 48,
        (14 | 15, false) => 32,
        (14 | 15, true) => 8,
        (16, false) => 40,
        (16, true) => 8,
        (17, false) => 32,
        (17, true) => 2,
        (18, _) => 24,
        _ => 0,
    }
}

fn le16(b: &[u8], i: usize) -> usize {
    b.get(i..i + 2)
        .map_or(0, |x| usize::from(u16::from_le_bytes([x[0], x[1]])))
}

fn le32(b: &[u8], i: usize) -> usize {
    b.get(i..i + 4)
        .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
}

/// One SMB message (what of it is in this chunk): forwards security blobs
/// and named-pipe payloads.
fn message(m: &[u8], pipes: &mut PipeMids, ev: &mut Events) {
    if m.len() < 4 {
        return;
    }
    if m[..4] == *b"\xfeSMB" && m.len() >= 64 {
        let cmd = le16(m, 12);
        let response = m[16] & 0x01 != 0;
        let body = &m[64..];
        // Named-pipe payloads: WRITE request, READ response, IOCTL both ways.
        let pipe = match (cmd, response) {
            (9, false) if body.len() >= 8 => Some((le16(body, 2), le32(body, 4))),
            (8, true) if body.len() >= 8 => Some((usize::from(body[2]), le32(body, 4))),
            (11, false) if body.len() >= 32 => Some((le32(body, 24), le32(body, 28))),
            (11, true) if body.len() >= 40 => Some((le32(body, 32), le32(body, 36))),
            _ => None,
        };
        if let Some((off, len)) = pipe {
            if let Some(d) = m.get(off..off.saturating_add(len)) {
                pipe_data(d, ev);
            }
        }
        let blob = match (cmd, response) {
            // NEGOTIATE response: security buffer offset/length at 56/58.
            (0, true) if body.len() >= 60 => Some((le16(body, 56), le16(body, 58))),
            // SESSION_SETUP request: offset/length at 12/14.
            (1, false) if body.len() >= 16 => Some((le16(body, 12), le16(body, 14))),
            // SESSION_SETUP response: offset/length at 4/6.
            (1, true) if body.len() >= 8 => Some((le16(body, 4), le16(body, 6))),
            _ => None,
        };
        if let Some((off, len)) = blob {
            if let Some(b) = m.get(off..off + len) {
                forward_gssapi(Service::Smb, b, ev);
            }
        }
        return;
    }
    if m[..4] == *b"\xffSMB" && m.len() >= 35 {
        let cmd = m[4];
        let response = m[9] & 0x80 != 0;
        let wc = usize::from(m[32]);
        let words = &m[33..];
        let bytes_at = 33 + wc * 2 + 2;
        let Some(bytes) = m.get(bytes_at..) else {
            return;
        };
        match (cmd, response, wc) {
            (0x25, false, _) => transaction_request(m, pipes, ev),
            (0x25, true, _) => transaction_response(m, pipes, ev),
            // NEGOTIATE response (NT LM 0.12) with extended security: GUID, then the blob.
            (0x72, true, 17) => {
                let caps = words
                    .get(19..23)
                    .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
                if caps & 0x8000_0000 != 0 {
                    if let Some(b) = bytes.get(16..) {
                        forward_gssapi(Service::Smb, b, ev);
                    }
                }
            }
            // SESSION_SETUP_ANDX request (extended security, 12 words).
            (0x73, false, 12) => {
                let len = le16(words, 14);
                if let Some(b) = bytes.get(..len) {
                    forward_gssapi(Service::Smb, b, ev);
                }
            }
            // SESSION_SETUP_ANDX response (extended security, 4 words).
            (0x73, true, 4) => {
                let len = le16(words, 6);
                if let Some(b) = bytes.get(..len) {
                    forward_gssapi(Service::Smb, b, ev);
                }
            }
            _ => {}
        }
    }
}

/// The SMB1 transaction requests whose responses carry pipe data: Zeek's
/// `is_file_a_pipe` map (`smb1-com-transaction.pac`), keyed by message id,
/// each entry taken by the response. Bounded: the oldest entry goes first.
#[derive(Clone, Copy, Debug, Default)]
struct PipeMids {
    mids: [u16; 8],
    n: u8,
}

impl PipeMids {
    /// `set_is_file_a_pipe(mid, is_pipe)`: a later request with the same
    /// message id replaces the earlier one.
    fn set(&mut self, mid: u16, is_pipe: bool) {
        self.take(mid);
        if !is_pipe {
            return;
        }
        let n = usize::from(self.n).min(self.mids.len());
        if n == self.mids.len() {
            self.mids.copy_within(1.., 0);
            self.mids[n - 1] = mid;
        } else {
            self.mids[n] = mid;
            self.n += 1;
        }
    }

    /// `get_is_file_a_pipe(mid)`: whether the request was on a pipe; the
    /// entry is erased.
    fn take(&mut self, mid: u16) -> bool {
        let n = usize::from(self.n).min(self.mids.len());
        match self.mids[..n].iter().position(|&m| m == mid) {
            Some(i) => {
                self.mids.copy_within(i + 1..n, i);
                self.n -= 1;
                true
            }
            None => false,
        }
    }
}

/// What an SMB1 transaction's name selects (`determine_transaction_type`,
/// `smb-common.pac`): `\PIPE\` followed by `LANMAN` is RAP, any other
/// `\PIPE\` name a named pipe (case-sensitive, ASCII or the low bytes of
/// UCS-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransType {
    Pipe,
    Rap,
    Unknown,
}

/// The transaction name at `at` (`SMB_string`, `smb-strings.pac`): ASCII up
/// to and including its NUL, or UCS-2 after a pad byte when `at` is odd
/// within the request (counted from the end of the 32-byte header) up to an
/// aligned NUL pair. Returns the type and the offset after the name, or
/// `None` when the name does not end in the message.
fn transaction_name(m: &[u8], at: usize, unicode: bool) -> Option<(TransType, usize)> {
    // Characters are every byte (ASCII) or every other byte (UCS-2); `size`
    // is the name's length in bytes, terminator included, which Zeek's
    // checks compare with the byte index of the last character tested.
    let (start, step) = if unicode {
        (at + ((at - 32) & 1), 2)
    } else {
        (at, 1)
    };
    let s = m.get(start..)?;
    let size = if unicode {
        s.chunks_exact(2).position(|c| c == [0, 0])? * 2 + 2
    } else {
        s.iter().position(|&b| b == 0)? + 1
    };
    let has = |from: usize, word: &[u8]| {
        size > (from + word.len() - 1) * step
            && word
                .iter()
                .enumerate()
                .all(|(i, &b)| s.get((from + i) * step) == Some(&b))
    };
    let t = match (has(0, b"\\PIPE\\"), has(6, b"LANMAN")) {
        (true, true) => TransType::Rap,
        (true, false) => TransType::Pipe,
        _ => TransType::Unknown,
    };
    Some((t, start + size))
}

/// Where a transaction's data starts: `padding to param_offset`, the
/// parameters, `padding to data_offset` (offsets from the SMB header's
/// start). binpac pads to an offset already passed with zero bytes.
fn data_start(after: usize, param_offset: usize, param_count: usize, data_offset: usize) -> usize {
    (after.max(param_offset) + param_count).max(data_offset)
}

/// `SMB1_transaction_request` (`smb1-com-transaction.pac`): the data of a
/// transaction on a `\PIPE\` name goes to DCE_RPC (`forward_dce_rpc`).
/// Which requests were on a pipe is remembered for their responses. A
/// transaction on a tree that is a pipe (`get_tree_is_pipe`, set by TREE
/// CONNECT) with another name is not followed: connscope does not track
/// trees.
fn transaction_request(m: &[u8], pipes: &mut PipeMids, ev: &mut Events) {
    let Some(w) = m.get(33..33 + 28) else { return };
    let setup_count = usize::from(w[26]);
    let unicode = le16(m, 10) & 0x8000 != 0;
    let mid = le16(m, 30) as u16;
    let Some((t, after)) = transaction_name(m, 33 + 28 + 2 * setup_count + 2, unicode) else {
        return;
    };
    pipes.set(mid, t == TransType::Pipe);
    if t != TransType::Pipe {
        return;
    }
    if let Some(d) = m.get(data_start(after, le16(w, 20), le16(w, 18), le16(w, 24))..) {
        pipe_data(d, ev);
    }
}

/// `SMB1_transaction_response`: data (when `data_count` is not 0) of the
/// response to a pipe request goes to DCE_RPC. A 35-byte message is an
/// empty response (`SMB_No_Message`), which leaves the request's entry.
fn transaction_response(m: &[u8], pipes: &mut PipeMids, ev: &mut Events) {
    if m.len() <= 35 {
        return;
    }
    let Some(w) = m.get(33..33 + 20) else { return };
    let setup_count = usize::from(w[18]);
    let after = 33 + 20 + 2 * setup_count + 2;
    if !pipes.take(le16(m, 30) as u16) || le16(w, 12) == 0 {
        return;
    }
    if let Some(d) = m.get(data_start(after, le16(w, 8), le16(w, 6), le16(w, 14))..) {
        pipe_data(d, ev);
    }
}
