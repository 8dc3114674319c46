//! SSL/TLS record framing up to the first handshake message of each side.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// SSL/TLS (`src/analyzer/protocol/ssl/`, `ssl-protocol.pac`,
/// `tls-handshake-analyzer.pac`): attached on 443, 465, 563, 585, 614, 636,
/// 989-995, 5223/tcp, by `dpd_tls_client` / `dpd_tls_server`, or by a
/// STARTTLS handoff (FTP `AUTH TLS`+234, IRC 670, SMTP STARTTLS+220, HTTP
/// CONNECT+200). Confirms on a ClientHello with a supported version once
/// the record holding it is complete (`SSLRecord` is binpac's flow unit,
/// `&length`: `proc_client_hello` runs on the whole record); a record header
/// that is neither TLS nor SSLv2 is a violation. Partial connections and
/// streams with gaps are not parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ssl {
    d: [SslDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct SslDir {
    hdr: [u8; 11],
    hlen: u8,
    /// Bytes of the current record body still to skip.
    skip: u32,
    /// First handshake message of this direction examined.
    hs_seen: bool,
    bytes: u32,
    /// The ClientHello's verdict, applied once its record is complete (the
    /// record is binpac's flow unit): 1 = confirm, 2 = violation.
    pending: u8,
}

impl SslDir {
    /// At the end of a record: applies a pending ClientHello verdict
    /// (confirm, or a violation: then true, the analyzer is done).
    fn verdict(&mut self, ev: &mut Events) -> bool {
        let pending = std::mem::take(&mut self.pending);
        match pending {
            1 => ev.push(Service::Ssl, What::Confirm),
            2 => ev.push(Service::Ssl, What::Violation),
            _ => {}
        }
        pending == 2
    }
}

pub(super) fn ssl_version_ok(v: u16) -> bool {
    matches!(v, 0x0002 | 0x0300..=0x0304 | 0x7f00..=0x7fff | 0xfeff | 0xfefd | 0xfefc)
}

impl Ssl {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let d = &mut self.d[c.dir()];
        d.bytes = d.bytes.saturating_add(data.len() as u32);
        let mut pos = 0;
        while pos < data.len() {
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                if d.skip == 0 && d.verdict(ev) {
                    return Step::Done;
                }
                continue;
            }
            let want = if d.hlen >= 5 && d.hdr[0] == 22 && !d.hs_seen {
                11
            } else {
                5
            };
            while (d.hlen as usize) < want && pos < data.len() {
                d.hdr[d.hlen as usize] = data[pos];
                d.hlen += 1;
                pos += 1;
            }
            if (d.hlen as usize) < want {
                break;
            }
            let h = d.hdr;
            if want == 5 {
                if (20..=30).contains(&h[0]) && h[1] == 3 && h[2] <= 4 {
                    let len = u32::from(h[3]) << 8 | u32::from(h[4]);
                    if h[0] == 22 && !d.hs_seen && len >= 6 {
                        continue; // read the handshake header too
                    }
                    d.skip = len;
                    d.hlen = 0;
                } else if h[0] & 0x80 != 0 && h[2] < 5 && h[2] != 3 {
                    // SSLv2 record; a CLIENT-HELLO carries the version next.
                    let len = (u32::from(h[0] & 0x7f) << 8 | u32::from(h[1])).saturating_sub(3);
                    if h[2] == 1 && !d.hs_seen {
                        d.hs_seen = true;
                        let v = u16::from(h[3]) << 8 | u16::from(h[4]);
                        d.pending = if ssl_version_ok(v) { 1 } else { 2 };
                    }
                    d.skip = len;
                    d.hlen = 0;
                } else {
                    ev.push(Service::Ssl, What::Violation);
                    return Step::Done;
                }
            } else {
                // Handshake record: type at 5, ClientHello version at 9..11.
                d.hs_seen = true;
                let len = u32::from(h[3]) << 8 | u32::from(h[4]);
                if h[5] == 1 {
                    let v = u16::from(h[9]) << 8 | u16::from(h[10]);
                    d.pending = if ssl_version_ok(v) { 1 } else { 2 };
                }
                d.skip = len.saturating_sub(6);
                d.hlen = 0;
                if d.skip == 0 && d.verdict(ev) {
                    return Step::Done;
                }
            }
        }
        // Nothing after the violation window can change the outcome.
        if self.d[0].bytes.saturating_add(self.d[1].bytes) > 10 * 1024 {
            Step::Done
        } else {
            Step::More
        }
    }
}

/// DTLS (`src/analyzer/protocol/ssl/DTLS.cc`, the SSL binpac grammar in DTLS
/// mode): attached on 443/udp or by `dpd_dtls_client`. Each datagram holds
/// DTLS records (13-byte header: type, version, epoch, sequence, length);
/// a ClientHello whose `client_version` is a DTLS version confirms, another
/// version or a record that is neither a known content type nor a DTLS
/// version is a violation.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Dtls {
    seen_hello: bool,
}

fn dtls_version_ok(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc | 0x0100)
}

impl Dtls {
    pub(super) fn flip(&mut self) {}

    pub(super) fn run(&mut self, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Udp {
            return Step::Done;
        }
        let mut p = 0;
        while m.len() >= p + 13 {
            let h = &m[p..p + 13];
            let version = u16::from_be_bytes([h[1], h[2]]);
            let len = usize::from(u16::from_be_bytes([h[11], h[12]]));
            if !(20..=26).contains(&h[0]) || !dtls_version_ok(version) {
                ev.push(Service::Dtls, What::Violation);
                return Step::Done;
            }
            let body = m.get(p + 13..(p + 13 + len).min(m.len())).unwrap_or(&[]);
            // Handshake: type(1) length(3) seq(2) frag_off(3) frag_len(3), then the hello.
            if h[0] == 22 && !self.seen_hello && body.len() >= 14 && body[0] == 1 {
                self.seen_hello = true;
                let v = u16::from_be_bytes([body[12], body[13]]);
                if dtls_version_ok(v) {
                    ev.push(Service::Dtls, What::Confirm);
                } else {
                    ev.push(Service::Dtls, What::Violation);
                    return Step::Done;
                }
            }
            p += 13 + len;
        }
        Step::More
    }
}
