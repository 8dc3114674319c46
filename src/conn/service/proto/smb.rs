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
/// three chunks without a binpac exception. Security blobs of SMB2
/// NEGOTIATE / SESSION_SETUP and SMB1 NEGOTIATE / SESSION_SETUP_ANDX
/// (extended security) go to GSSAPI / NTLM ([`forward_gssapi`]) when the
/// message's start is in one chunk.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Smb {
    d: [SmbDir; 2],
    synced: bool,
    chunks: u8,
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
                    message(msg, ev);
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

fn le16(b: &[u8], i: usize) -> usize {
    b.get(i..i + 2)
        .map_or(0, |x| usize::from(u16::from_le_bytes([x[0], x[1]])))
}

/// One SMB message (what of it is in this chunk): forwards security blobs.
fn message(m: &[u8], ev: &mut Events) {
    if m.len() < 4 {
        return;
    }
    if m[..4] == *b"\xfeSMB" && m.len() >= 64 {
        let cmd = le16(m, 12);
        let response = m[16] & 0x01 != 0;
        let body = &m[64..];
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
