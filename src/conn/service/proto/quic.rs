//! QUIC (`src/analyzer/protocol/quic/QUIC.spicy`, `decrypt_crypto.cc`):
//! when the analyzer confirms, and the SSL child it feeds with the CRYPTO
//! frames of the Initial packets.
//!
//! Zeek's rules, per datagram (`RequestFrame` for the originator,
//! `ResponseFrame` for the responder; each a list of `Packet`s sharing one
//! per-connection `Context`):
//!
//! * A packet whose fixed bit (0x40) is clear is discarded with the rest of
//!   the datagram (no event).
//! * A short-header packet needs `1 + client_cid_len` bytes and eats the rest
//!   of the datagram (`ShortHeader`, `ShortPacketPayload`).
//! * A long-header packet parses the version and both connection IDs; a
//!   version outside v1 (plus drafts 22-34 and mvfst `faceb001/2/0e/11/12/13`)
//!   and v2 throws ("unhandled QUIC version", so a Version Negotiation packet,
//!   version 0, is a violation too). Initial (length >= 20), 0-RTT and
//!   Handshake packets are length-delimited; a Retry eats the rest of the
//!   datagram and resets the decryption context (`reset_crypto`: the next
//!   client Initial's DCID keys the decryption).
//! * An Initial is decrypted when `can_decrypt`: this side's CRYPTO stream has
//!   not finished its first handshake message, and for the responder the
//!   client's original DCID is known. The keys come from that DCID
//!   (RFC 9001 5.2, RFC 9369 3.3.1; drafts and mvfst use their own salts).
//!   A failed decryption (bad tag, payload over 10,000 bytes) throws; a
//!   successful one calls `spicy::accept_input()`: the QUIC confirmation.
//! * The decrypted frames are parsed: PADDING, PING, ACK, CRYPTO and
//!   CONNECTION_CLOSE (0x1c); any other frame type throws (after the
//!   confirmation). CRYPTO data is reassembled by offset (`sink.write`)
//!   into `CryptoSinkUnit`, which reads the first handshake message's
//!   4-byte header (a length over 2^14 + 256 throws) and forwards the
//!   message to the SSL child as one TLS record. More in-order CRYPTO data
//!   than that message throws.
//! * The SSL child (`proc-client-hello.pac`) confirms once the whole
//!   ClientHello arrived and its version is supported; so a normal
//!   connection logs `quic,ssl`.
//!
//! Every throw is an analyzer violation (removing `quic` within the first
//! 10 KiB, `dpd.zeek`); the parser then stops. Out-of-order CRYPTO pieces
//! are kept as up to [`MAX_PIECES`] ranges (more are dropped: an
//! approximation of the sink's unbounded buffer). Connection IDs longer
//! than 20 bytes (QUIC's limit) are not used as keys: such an Initial counts
//! as undecryptable (a violation), as it is for any real endpoint.

use super::{Ctx, Events, Step, What};
use crate::conn::service::Service;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use hkdf::Hkdf;
use sha2::Sha256;

/// Out-of-order CRYPTO ranges kept per direction.
const MAX_PIECES: usize = 8;
/// `CryptoSinkUnit`: the handshake message may be at most 2^14 + 256 bytes
/// (its 4-byte header included).
const MAX_MESSAGE: u32 = (1 << 14) + 256;
/// `decrypt_crypto.cc`: payloads over 10,000 bytes are refused.
const MAX_PAYLOAD: usize = 10_000;

/// Per-connection QUIC state (`Context`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Quic {
    /// The client's first Initial DCID (`initial_destination_conn_id`).
    dcid: [u8; 20],
    dcid_len: u8,
    have_dcid: bool,
    /// `client_cid_len` (the short header's DCID length).
    client_cid_len: u8,
    /// CRYPTO streams: `[client, server]` (`from_client` = originator).
    crypto: [Crypto; 2],
}

/// One side's CRYPTO stream as `CryptoSinkUnit` sees it.
#[derive(Clone, Copy, Debug, Default)]
struct Crypto {
    /// First bytes of the stream: type, 24-bit length, client version.
    head: [u8; 6],
    /// Bytes delivered in order (`|crypto_sink|`).
    contiguous: u32,
    /// Pending out-of-order ranges `[start, end)`.
    pieces: [(u32, u32); MAX_PIECES],
    n_pieces: u8,
    /// The first handshake message's length plus 4 (0 = not read yet).
    length: u32,
    /// The whole first message was delivered.
    finished: bool,
}

/// Why a datagram stops the analyzer (a Spicy parse error).
struct Violation;

type Res<T> = Result<T, Violation>;

/// A QUIC variable-length integer at `*p` (RFC 9000 16).
fn varint(d: &[u8], p: &mut usize) -> Res<u64> {
    let b0 = *d.get(*p).ok_or(Violation)?;
    let n = 1usize << (b0 >> 6);
    let bytes = d.get(*p..*p + n).ok_or(Violation)?;
    let mut v = u64::from(b0 & 0x3f);
    for &b in &bytes[1..] {
        v = v << 8 | u64::from(b);
    }
    *p += n;
    Ok(v)
}

/// `n` more bytes at `*p`.
fn take<'a>(d: &'a [u8], p: &mut usize, n: u64) -> Res<&'a [u8]> {
    let n = usize::try_from(n).map_err(|_| Violation)?;
    let end = p.checked_add(n).ok_or(Violation)?;
    let s = d.get(*p..end).ok_or(Violation)?;
    *p = end;
    Ok(s)
}

/// Which key schedule a version uses (`QuicPacketProtectionV1/V2`), or
/// `None` when `LongHeaderPacket` does not handle it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    V1,
    V2,
}

fn family(v: u32) -> Option<Family> {
    match v {
        0xff00_0016..=0xff00_0022
        | 0xface_b001
        | 0xface_b002
        | 0xface_b00e
        | 0xface_b011
        | 0xface_b012
        | 0xface_b013
        | 0x0000_0001 => Some(Family::V1),
        0x6b33_43cf => Some(Family::V2),
        _ => None,
    }
}

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_D22: [u8; 20] = [
    0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd,
    0x7a, 0x02, 0x64, 0x4a,
];
const SALT_D23_D28: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
const SALT_D29_D32: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// The Initial salt of a version (`GetInitialSalt`).
fn salt(v: u32) -> &'static [u8; 20] {
    match v {
        0x6b33_43cf => &SALT_V2,
        0xff00_0016 | 0xface_b001 => &SALT_D22,
        0xff00_0017..=0xff00_001c | 0xface_b002..=0xface_b013 => &SALT_D23_D28,
        0xff00_001d..=0xff00_0020 => &SALT_D29_D32,
        _ => &SALT_V1,
    }
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
fn expand_label(prk: &[u8], label: &[u8], out: &mut [u8]) -> Option<()> {
    let hk = Hkdf::<Sha256>::from_prk(prk).ok()?;
    let mut info = [0u8; 2 + 1 + 6 + 16 + 1];
    let n = 6 + label.len();
    if n > 6 + 16 {
        return None;
    }
    info[..2].copy_from_slice(&(out.len() as u16).to_be_bytes());
    info[2] = n as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label);
    info[9 + label.len()] = 0;
    hk.expand(&info[..10 + label.len()], out).ok()
}

/// Initial packet protection keys of one side.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Keys {
    pub(super) key: [u8; 16],
    pub(super) iv: [u8; 12],
    pub(super) hp: [u8; 16],
}

/// The Initial keys for `version`, keyed by the client's original DCID.
pub(super) fn initial_keys(version: u32, dcid: &[u8], from_client: bool) -> Option<Keys> {
    let fam = family(version)?;
    let (initial, _) = Hkdf::<Sha256>::extract(Some(salt(version)), dcid);
    let mut secret = [0u8; 32];
    let label: &[u8] = if from_client {
        b"client in"
    } else {
        b"server in"
    };
    expand_label(&initial, label, &mut secret)?;
    let (lk, li, lh): (&[u8], &[u8], &[u8]) = match fam {
        Family::V1 => (b"quic key", b"quic iv", b"quic hp"),
        Family::V2 => (b"quicv2 key", b"quicv2 iv", b"quicv2 hp"),
    };
    let mut k = Keys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(&secret, lk, &mut k.key)?;
    expand_label(&secret, li, &mut k.iv)?;
    expand_label(&secret, lh, &mut k.hp)?;
    Some(k)
}

/// `QUIC_decrypt_crypto_payload`: removes header protection from the
/// Initial `pkt` (header, then `payload_len` bytes from `pn_off`) and
/// decrypts it into `out`; returns the plaintext length.
fn decrypt(
    keys: &Keys,
    pkt: &[u8],
    pn_off: usize,
    payload_len: usize,
    out: &mut [u8; MAX_PAYLOAD],
) -> Res<usize> {
    if payload_len < 20 || pkt.len() < pn_off + payload_len {
        return Err(Violation);
    }
    let sample = pkt.get(pn_off + 4..pn_off + 20).ok_or(Violation)?;
    let hp = aes::Aes128::new(&keys.hp.into());
    let mut mask = aes::Block::clone_from_slice(sample);
    hp.encrypt_block(&mut mask);
    let first = pkt[0] ^ (mask[0] & 0x0f);
    let pn_len = usize::from(first & 3) + 1;
    if payload_len > MAX_PAYLOAD {
        return Err(Violation);
    }
    let hdr_len = pn_off + pn_len;
    // The unprotected header is the AEAD's associated data (on the stack
    // unless a long token makes it unusually big).
    let mut small = [0u8; 512];
    let mut big = Vec::new();
    let hdr: &mut [u8] = if hdr_len <= small.len() {
        &mut small[..hdr_len]
    } else {
        big.resize(hdr_len, 0);
        &mut big
    };
    hdr.copy_from_slice(&pkt[..hdr_len]);
    hdr[0] = first;
    let mut pn: u64 = 0;
    for i in 0..pn_len {
        hdr[pn_off + i] ^= mask[1 + i];
        pn = pn << 8 | u64::from(hdr[pn_off + i]);
    }
    let enc = payload_len - pn_len - 16;
    let ct = &pkt[hdr_len..hdr_len + enc];
    let tag = &pkt[hdr_len + enc..hdr_len + enc + 16];
    let mut nonce = keys.iv;
    for i in 0..8 {
        nonce[11 - i] ^= (pn >> (8 * i)) as u8;
    }
    let buf = &mut out[..enc];
    buf.copy_from_slice(ct);
    let gcm = aes_gcm::Aes128Gcm::new(&keys.key.into());
    gcm.decrypt_in_place_detached(
        aes_gcm::Nonce::from_slice(&nonce),
        hdr,
        buf,
        aes_gcm::Tag::from_slice(tag),
    )
    .map_err(|_| Violation)?;
    if enc == 0 {
        // `QUIC.spicy`: "decryption failed" on an empty result.
        return Err(Violation);
    }
    Ok(enc)
}

impl Crypto {
    /// `crypto_sink.write(data, offset)`, then `CryptoSinkUnit` on what is
    /// in order, then the Frame's size check. `client` selects the SSL
    /// child's ClientHello rule.
    fn write(&mut self, off: u64, data: &[u8], client: bool, ev: &mut Events) -> Res<()> {
        let Ok(start) = u32::try_from(off) else {
            return Ok(()); // far beyond anything the sink will deliver
        };
        let end = start.saturating_add(data.len() as u32);
        for (i, &b) in data.iter().enumerate() {
            let at = start as usize + i;
            if at >= self.head.len() {
                break;
            }
            self.head[at] = b;
        }
        if end > self.contiguous {
            if start <= self.contiguous {
                self.contiguous = end;
            } else if (self.n_pieces as usize) < MAX_PIECES {
                self.pieces[self.n_pieces as usize] = (start, end);
                self.n_pieces += 1;
            }
        }
        // Pull in pending pieces that now touch the in-order data.
        let mut merged = true;
        while merged {
            merged = false;
            let mut i = 0;
            while i < self.n_pieces as usize {
                let (s, e) = self.pieces[i];
                if s <= self.contiguous {
                    self.contiguous = self.contiguous.max(e);
                    self.n_pieces -= 1;
                    self.pieces[i] = self.pieces[self.n_pieces as usize];
                    merged = true;
                } else {
                    i += 1;
                }
            }
        }
        if self.length == 0 && self.contiguous >= 4 {
            let h = self.head;
            self.length = (u32::from(h[1]) << 16 | u32::from(h[2]) << 8 | u32::from(h[3])) + 4;
            if self.length > MAX_MESSAGE {
                return Err(Violation);
            }
        }
        if self.length > 0 && !self.finished && self.contiguous >= self.length {
            self.finished = true;
            // The SSL child parses the whole record; a ClientHello with a
            // supported version confirms it (`proc_client_hello`).
            let v = u16::from_be_bytes([self.head[4], self.head[5]]);
            if client && self.head[0] == 1 && super::ssl::ssl_version_ok(v) {
                ev.push(Service::Ssl, What::Child(Service::Quic));
            }
        }
        if self.length > 0 && self.contiguous > self.length {
            return Err(Violation); // "too much crypto data received"
        }
        Ok(())
    }
}

impl Quic {
    pub(super) fn run(&mut self, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
        match self.datagram(c.is_orig, m, ev) {
            Ok(()) => Step::More,
            Err(Violation) => {
                ev.push(Service::Quic, What::Violation);
                Step::Done
            }
        }
    }

    fn datagram(&mut self, from_client: bool, m: &[u8], ev: &mut Events) -> Res<()> {
        let mut pos = 0;
        while pos < m.len() {
            let b0 = m[pos];
            if b0 & 0x40 == 0 {
                return Ok(()); // fixed bit clear: discarded
            }
            if b0 & 0x80 == 0 {
                // Short header: the DCID, then the rest is skipped.
                return if m.len() - pos > usize::from(self.client_cid_len) {
                    Ok(())
                } else {
                    Err(Violation)
                };
            }
            pos = self.long_packet(from_client, m, pos, ev)?;
        }
        Ok(())
    }

    /// One long-header packet at `start`; returns where the next begins.
    fn long_packet(
        &mut self,
        from_client: bool,
        m: &[u8],
        start: usize,
        ev: &mut Events,
    ) -> Res<usize> {
        let mut p = start + 1;
        let v = take(m, &mut p, 4)?;
        let version = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        let dl = u64::from(*m.get(p).ok_or(Violation)?);
        p += 1;
        let dcid = take(m, &mut p, dl)?;
        let sl = u64::from(*m.get(p).ok_or(Violation)?);
        p += 1;
        take(m, &mut p, sl)?;
        let fam = family(version).ok_or(Violation)?;
        let ty = (m[start] >> 4) & 3;
        // v2 renumbered the types (RFC 9369 3.2): Retry 0, Initial 1.
        let (initial, retry) = match fam {
            Family::V1 => (ty == 0, ty == 3),
            Family::V2 => (ty == 1, ty == 0),
        };
        if retry {
            // `reset_crypto`: the next client Initial starts over.
            self.have_dcid = false;
            self.crypto = [Crypto::default(); 2];
            return Ok(m.len());
        }
        if initial {
            let tl = varint(m, &mut p)?;
            take(m, &mut p, tl)?;
            let len = varint(m, &mut p)?;
            if len < 20 {
                return Err(Violation);
            }
            let pn_off = p;
            take(m, &mut p, len)?;
            let side = usize::from(!from_client);
            let can = !self.crypto[side].finished && (from_client || self.have_dcid);
            if can {
                if from_client {
                    self.client_cid_len = sl as u8;
                    if !self.have_dcid {
                        if dcid.len() > self.dcid.len() {
                            return Err(Violation);
                        }
                        self.dcid[..dcid.len()].copy_from_slice(dcid);
                        self.dcid_len = dcid.len() as u8;
                        self.have_dcid = true;
                    }
                } else {
                    self.client_cid_len = dl as u8;
                }
                let id = &self.dcid[..usize::from(self.dcid_len)];
                let keys = initial_keys(version, id, from_client).ok_or(Violation)?;
                let mut plain = [0u8; MAX_PAYLOAD];
                let n = decrypt(
                    &keys,
                    &m[start..p],
                    pn_off - start,
                    len as usize,
                    &mut plain,
                )?;
                ev.push(Service::Quic, What::Confirm);
                self.frames(side, &plain[..n], ev)?;
            }
            return Ok(p);
        }
        // 0-RTT and Handshake: a length, then skipped.
        let len = varint(m, &mut p)?;
        take(m, &mut p, len)?;
        Ok(p)
    }

    /// The decrypted frames of an Initial (`Frame`).
    fn frames(&mut self, side: usize, d: &[u8], ev: &mut Events) -> Res<()> {
        let mut p = 0;
        while p < d.len() {
            let t = d[p];
            p += 1;
            match t {
                0x00 => {
                    while d.get(p) == Some(&0) {
                        p += 1;
                    }
                }
                0x01 => {}
                0x02 | 0x03 => {
                    varint(d, &mut p)?;
                    varint(d, &mut p)?;
                    let mut ranges = varint(d, &mut p)?;
                    varint(d, &mut p)?;
                    while ranges > 0 {
                        varint(d, &mut p)?;
                        varint(d, &mut p)?;
                        ranges -= 1;
                    }
                    if t == 0x03 {
                        for _ in 0..3 {
                            varint(d, &mut p)?;
                        }
                    }
                }
                0x06 => {
                    let off = varint(d, &mut p)?;
                    let len = varint(d, &mut p)?;
                    let data = take(d, &mut p, len)?;
                    self.crypto[side].write(off, data, side == 0, ev)?;
                }
                0x1c => {
                    varint(d, &mut p)?;
                    if d.get(p) == Some(&0) {
                        p += 1;
                    } else {
                        varint(d, &mut p)?;
                    }
                    let rl = varint(d, &mut p)?;
                    take(d, &mut p, rl)?;
                }
                _ => return Err(Violation), // "unhandled frame type"
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    /// RFC 9001 A.1 (v1) and RFC 9369 A.1 (v2) keys for DCID 8394c8f03e515708.
    #[test]
    fn initial_keys_match_the_rfc_vectors() {
        let dcid = hex("8394c8f03e515708");
        let c = initial_keys(1, &dcid, true).unwrap();
        assert_eq!(c.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(c.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(c.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        let s = initial_keys(1, &dcid, false).unwrap();
        assert_eq!(s.key.to_vec(), hex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(s.iv.to_vec(), hex("0ac1493ca1905853b0bba03e"));
        assert_eq!(s.hp.to_vec(), hex("c206b8d9b9f0f37644430b490eeaa314"));
        let c2 = initial_keys(0x6b33_43cf, &dcid, true).unwrap();
        assert_eq!(c2.key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(c2.iv.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(c2.hp.to_vec(), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
        assert!(initial_keys(0x1a2a_3a4a, &dcid, true).is_none());
    }

    /// Builds a protected Initial (the reverse of [`decrypt`], written
    /// separately from it): header `hdr` ending in a 4-byte packet number.
    fn seal(keys: &Keys, hdr: &[u8], plain: &[u8]) -> Vec<u8> {
        let pn_off = hdr.len() - 4;
        let pn = u32::from_be_bytes(hdr[pn_off..].try_into().unwrap());
        let mut nonce = keys.iv;
        for (i, b) in pn.to_be_bytes().iter().enumerate() {
            nonce[8 + i] ^= b;
        }
        let mut body = plain.to_vec();
        let gcm = aes_gcm::Aes128Gcm::new(&keys.key.into());
        let tag = gcm
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&nonce), hdr, &mut body)
            .unwrap();
        let mut pkt = hdr.to_vec();
        pkt.extend_from_slice(&body);
        pkt.extend_from_slice(&tag);
        let hp = aes::Aes128::new(&keys.hp.into());
        let mut mask = aes::Block::clone_from_slice(&pkt[pn_off + 4..pn_off + 20]);
        hp.encrypt_block(&mut mask);
        pkt[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            pkt[pn_off + i] ^= mask[1 + i];
        }
        pkt
    }

    /// A client Initial (v1 or v2) carrying `frames`, padded to 1200 bytes.
    fn client_initial(version: u32, dcid: &[u8], frames: &[u8]) -> Vec<u8> {
        let mut plain = frames.to_vec();
        plain.resize(1200 - 30 - dcid.len(), 0);
        let len = plain.len() + 4 + 16;
        let ty = if version == 0x6b33_43cf { 0xd3 } else { 0xc3 };
        let mut hdr = vec![ty];
        hdr.extend_from_slice(&version.to_be_bytes());
        hdr.push(dcid.len() as u8);
        hdr.extend_from_slice(dcid);
        hdr.extend_from_slice(&[4, 1, 2, 3, 4, 0]);
        hdr.extend_from_slice(&(0x4000 | len as u16).to_be_bytes());
        hdr.extend_from_slice(&[0, 0, 0, 2]);
        seal(&initial_keys(version, dcid, true).unwrap(), &hdr, &plain)
    }

    fn crypto_frame(off: u64, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06, 0x40 | (off >> 8) as u8, off as u8];
        f.extend_from_slice(&[0x40 | (data.len() >> 8) as u8, data.len() as u8]);
        f.extend_from_slice(data);
        f
    }

    fn hello(len: usize) -> Vec<u8> {
        let mut h = vec![1, 0, (len >> 8) as u8, len as u8, 3, 3];
        h.resize(4 + len, 0x55);
        h
    }

    fn run(q: &mut Quic, orig: bool, m: &[u8]) -> Vec<(Service, What)> {
        let mut ev = Events::default();
        let c = Ctx {
            is_orig: orig,
            partial: false,
            resp_port: 443,
            transport: crate::conn::service::Transport::Udp,
        };
        q.run(&c, m, &mut ev);
        ev.items[..ev.n].to_vec()
    }

    #[test]
    fn client_hello_in_one_initial_confirms_quic_then_ssl() {
        let dcid = hex("8394c8f03e515708");
        for v in [1, 0x6b33_43cf, 0xff00_001d] {
            let pkt = client_initial(v, &dcid, &crypto_frame(0, &hello(300)));
            let mut q = Quic::default();
            assert_eq!(
                run(&mut q, true, &pkt),
                [
                    (Service::Quic, What::Confirm),
                    (Service::Ssl, What::Child(Service::Quic))
                ],
                "version {v:x}"
            );
        }
    }

    #[test]
    fn client_hello_over_two_initials_out_of_order() {
        let dcid = hex("0001020304050607");
        let h = hello(1500);
        let mut f1 = crypto_frame(700, &h[700..1100]);
        f1.extend_from_slice(&crypto_frame(0, &h[..300]));
        let f2 = [
            crypto_frame(1100, &h[1100..]),
            crypto_frame(300, &h[300..700]),
        ]
        .concat();
        let mut q = Quic::default();
        assert_eq!(
            run(&mut q, true, &client_initial(1, &dcid, &f1)),
            [(Service::Quic, What::Confirm)]
        );
        assert_eq!(
            run(&mut q, true, &client_initial(1, &dcid, &f2)),
            [
                (Service::Quic, What::Confirm),
                (Service::Ssl, What::Child(Service::Quic))
            ]
        );
        // Finished: later client Initials are not decrypted.
        assert!(run(&mut q, true, &client_initial(1, &dcid, &f2)).is_empty());
    }

    #[test]
    fn violations() {
        let dcid = hex("0001020304050607");
        // Wrong key material: the tag does not verify.
        let mut pkt = client_initial(1, &dcid, &crypto_frame(0, &hello(100)));
        let n = pkt.len();
        pkt[n - 1] ^= 1;
        assert_eq!(
            run(&mut Quic::default(), true, &pkt),
            [(Service::Quic, What::Violation)]
        );
        // An unknown version (and Version Negotiation, version 0).
        for v in [[0x1a, 0x2a, 0x3a, 0x4a], [0, 0, 0, 0]] {
            let mut p = vec![0xc0];
            p.extend_from_slice(&v);
            p.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
            assert_eq!(
                run(&mut Quic::default(), false, &p),
                [(Service::Quic, What::Violation)]
            );
        }
        // A frame type the Initial parser does not know, after confirming.
        let pkt = client_initial(1, &dcid, &[0x01, 0x10, 0x01]);
        assert_eq!(
            run(&mut Quic::default(), true, &pkt),
            [
                (Service::Quic, What::Confirm),
                (Service::Quic, What::Violation)
            ]
        );
        // Truncated Initial.
        let pkt = client_initial(1, &dcid, &crypto_frame(0, &hello(100)));
        assert_eq!(
            run(&mut Quic::default(), true, &pkt[..600]),
            [(Service::Quic, What::Violation)]
        );
    }

    #[test]
    fn quiet_packets() {
        let mut q = Quic::default();
        // Fixed bit clear, short headers, a server Initial before any
        // client one (no DCID to decrypt with): nothing.
        assert!(run(&mut q, true, &[0x00, 1, 2, 3]).is_empty());
        assert!(run(&mut q, true, &[0x40, 1, 2, 3]).is_empty());
        let dcid = hex("0001020304050607");
        let pkt = client_initial(1, &dcid, &crypto_frame(0, &hello(100)));
        assert!(run(&mut q, false, &pkt).is_empty());
        // A short header shorter than the client's CID is a violation.
        let mut q = Quic::default();
        run(&mut q, true, &pkt);
        assert_eq!(
            run(&mut q, true, &[0x40, 1, 2]),
            [(Service::Quic, What::Violation)]
        );
    }

    #[test]
    fn retry_rekeys_on_the_next_client_initial() {
        let d1 = hex("1111111111111111");
        let d2 = hex("2222222222222222");
        let mut q = Quic::default();
        // The first Initial is decrypted but carries only part of the hello.
        let h = hello(400);
        let first = client_initial(1, &d1, &crypto_frame(0, &h[..100]));
        assert_eq!(run(&mut q, true, &first), [(Service::Quic, What::Confirm)]);
        let mut retry = vec![0xf0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 8];
        retry.extend_from_slice(&d2);
        retry.extend_from_slice(&[0xaa; 40]);
        assert!(run(&mut q, false, &retry).is_empty());
        // Keyed by the new DCID, the whole hello from offset 0 again.
        let second = client_initial(1, &d2, &crypto_frame(0, &h));
        assert_eq!(
            run(&mut q, true, &second),
            [
                (Service::Quic, What::Confirm),
                (Service::Ssl, What::Child(Service::Quic))
            ]
        );
    }

    #[test]
    fn never_panics_on_mutations() {
        let dcid = hex("0001020304050607");
        let base = client_initial(1, &dcid, &crypto_frame(0, &hello(100)));
        let mut rnd = crate::conn::service::test_rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let mut p = base.clone();
            for _ in 0..(rnd() % 4) {
                let i = (rnd() as usize) % p.len();
                p[i] = rnd() as u8;
            }
            p.truncate((rnd() as usize) % (p.len() + 1));
            let mut q = Quic::default();
            run(&mut q, rnd() % 2 == 0, &p);
            run(&mut q, rnd() % 2 == 0, &p);
        }
    }
}
