//! QUIC Initial packets for the Zeek-rule tests: RFC 9001 5 (v1) / RFC 9369
//! (v2) Initial protection, written from the RFCs for the tests (the
//! sensor's decryption is separate code).

use aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use hkdf::Hkdf;
use sha2::Sha256;

pub const V1: u32 = 1;
pub const V2: u32 = 0x6b33_43cf;

fn label(secret: &[u8], name: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {name}");
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    let mut out = vec![0; len];
    Hkdf::<Sha256>::from_prk(secret)
        .unwrap()
        .expand(&info, &mut out)
        .unwrap();
    out
}

/// (key, iv, hp) of one side's Initial protection.
fn keys(version: u32, dcid: &[u8], client: bool) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let salt: [u8; 20] = if version == V2 {
        [
            0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
            0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
        ]
    } else {
        [
            0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
            0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
        ]
    };
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&salt), dcid);
    let secret = label(&prk, if client { "client in" } else { "server in" }, 32);
    let p = if version == V2 { "quicv2 " } else { "quic " };
    (
        label(&secret, &format!("{p}key"), 16),
        label(&secret, &format!("{p}iv"), 12),
        label(&secret, &format!("{p}hp"), 16),
    )
}

/// Who sends an Initial and with which connection IDs.
pub struct Hdr<'a> {
    pub version: u32,
    /// From the client (else the server).
    pub client: bool,
    /// The client's original DCID (keys the protection).
    pub odcid: &'a [u8],
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
}

/// A protected Initial with packet number `pn` and the `frames` padded to
/// `pad` plaintext bytes.
pub fn initial(h: &Hdr<'_>, pn: u32, frames: &[u8], pad: usize) -> Vec<u8> {
    let Hdr {
        version,
        client,
        odcid,
        dcid,
        scid,
    } = *h;
    let (key, iv, hp) = keys(version, odcid, client);
    let mut plain = frames.to_vec();
    if plain.len() < pad {
        plain.resize(pad, 0);
    }
    let len = plain.len() + 4 + 16;
    let mut hdr = vec![if version == V2 { 0xd3 } else { 0xc3 }];
    hdr.extend_from_slice(&version.to_be_bytes());
    hdr.push(dcid.len() as u8);
    hdr.extend_from_slice(dcid);
    hdr.push(scid.len() as u8);
    hdr.extend_from_slice(scid);
    hdr.push(0); // no token (RFC 9000 17.2.2: the field is in both directions)
    hdr.extend_from_slice(&(0x4000 | len as u16).to_be_bytes());
    let pn_off = hdr.len();
    hdr.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = iv.clone();
    for (i, b) in pn.to_be_bytes().iter().enumerate() {
        nonce[8 + i] ^= b;
    }
    let gcm = aes_gcm::Aes128Gcm::new_from_slice(&key).unwrap();
    let tag = gcm
        .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&nonce), &hdr, &mut plain)
        .unwrap();
    let mut pkt = hdr;
    pkt.extend_from_slice(&plain);
    pkt.extend_from_slice(&tag);
    let mut mask = aes::Block::clone_from_slice(&pkt[pn_off + 4..pn_off + 20]);
    aes::Aes128::new_from_slice(&hp)
        .unwrap()
        .encrypt_block(&mut mask);
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        pkt[pn_off + i] ^= mask[1 + i];
    }
    pkt
}

/// A CRYPTO frame (RFC 9000 19.6) at `off`.
pub fn crypto(off: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x4000 | off as u16).to_be_bytes());
    f.extend_from_slice(&(0x4000 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// A TLS 1.3 ClientHello handshake message (legacy_version 0x0303) of
/// `len` body bytes, as QUIC carries it (no record header).
pub fn client_hello(len: usize) -> Vec<u8> {
    let mut h = vec![
        0x01,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0x03,
        0x03,
    ];
    h.extend_from_slice(&[0x42; 32]);
    h.extend_from_slice(&[0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    let ext = len - (h.len() - 4) - 2;
    h.extend_from_slice(&(ext as u16).to_be_bytes());
    // One padding extension (type 21) filling the rest.
    h.extend_from_slice(&[0x00, 0x15]);
    h.extend_from_slice(&((ext - 4) as u16).to_be_bytes());
    h.resize(4 + len, 0);
    h
}

/// A TLS 1.3 ServerHello handshake message.
pub fn server_hello() -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x24; 32]);
    b.extend_from_slice(&[
        0x00, 0x13, 0x01, 0x00, 0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
    ]);
    let mut h = vec![0x02, 0, (b.len() >> 8) as u8, b.len() as u8];
    h.extend_from_slice(&b);
    h
}
