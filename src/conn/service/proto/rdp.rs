//! RDP over TCP (`src/analyzer/protocol/rdp/RDP.cc`, `rdp-protocol.pac`,
//! `rdp-analyzer.pac`): attached on 3389/tcp or by `dpd_rdp_client` with
//! `dpd_rdp_server`.
//!
//! * Partial connections and streams after a content gap are not parsed
//!   (`DeliverStream`: `IsPartial`, `had_gap`).
//! * The stream is a sequence of TPKT records (`&length=tpkt_len`) holding a
//!   COTP PDU. The client's Connection Request (0xe0) must carry
//!   `Cookie: mstshash=...\r\n` (binpac `RE` fields: a mismatch throws, a
//!   violation). The server's Connection Confirm (0xd0) with a response
//!   record must be a negotiation response (2) or failure (3) (no other
//!   case: a violation).
//! * The analyzer does not confirm on the X.224 handshake: it confirms on
//!   the client's MCS Connect-Initial carrying `Client_Core_Data`
//!   (`proc_rdp_client_core_data`) or the server's Connect-Response
//!   (`GCC_Server_Create_Response`, `Server_Security_Data`).
//! * A negotiation response selecting a protocol > 0 (TLS, CredSSP) turns
//!   the connection encrypted (`go_encrypted`): every later payload goes to
//!   a new `PIA_TCP` child, whose signatures attach SSL, which confirms on
//!   the ClientHello. So a TLS-protected RDP session logs `ssl` (RDP itself
//!   never sees the MCS messages inside TLS).

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

#[derive(Clone, Copy, Debug, Default)]
struct Dir {
    hdr: [u8; 4],
    hlen: u8,
    /// Bytes of the current record still to skip.
    skip: u32,
}

/// Per-connection RDP parser state.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Rdp {
    d: [Dir; 2],
}

/// `Client_Core_Data`'s fixed fields (`rdp-protocol.pac`).
const CLIENT_CORE: usize = 216;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What one TPKT record (`rec`, as much as this payload holds of its `len`
/// bytes) does.
enum Rec {
    Nothing,
    Confirm,
    Violation,
    /// TLS / CredSSP selected: the stream goes to a new PIA.
    Encrypted,
}

fn record(rec: &[u8], len: usize) -> Rec {
    let whole = rec.len() >= len;
    let (Some(&cotp_len), Some(&pdu)) = (rec.get(4), rec.get(5)) else {
        return Rec::Nothing;
    };
    match pdu {
        0xe0 => {
            // dst, src, flow control, then the cookie.
            let cookie = b"Cookie: mstshash=";
            let Some(tail) = rec.get(11..) else {
                return if whole { Rec::Violation } else { Rec::Nothing };
            };
            let n = cookie.len().min(tail.len());
            if tail[..n] != cookie[..n] {
                return Rec::Violation;
            }
            if n < cookie.len() {
                return if whole { Rec::Violation } else { Rec::Nothing };
            }
            match tail.iter().position(|&b| b == b'\r') {
                Some(i) => match tail.get(i + 1) {
                    Some(b'\n') => Rec::Nothing,
                    Some(_) => Rec::Violation,
                    None if whole => Rec::Violation,
                    None => Rec::Nothing,
                },
                None if whole => Rec::Violation,
                None => Rec::Nothing,
            }
        }
        0xd0 => {
            // `6 - cotp_len == 0`: no response record.
            if cotp_len == 6 {
                return Rec::Nothing;
            }
            match rec.get(11) {
                Some(2) => match rec.get(15..19) {
                    Some(p) if u32::from_le_bytes([p[0], p[1], p[2], p[3]]) > 0 => Rec::Encrypted,
                    _ => Rec::Nothing,
                },
                Some(3) => Rec::Nothing,
                Some(_) => Rec::Violation,
                None if whole => Rec::Violation,
                None => Rec::Nothing,
            }
        }
        0xf0 => match rec.get(8) {
            // Connect-Initial: the GCC create request ("Duca"), its user
            // data length, then the first data block: client core data.
            Some(0x65) => match find(rec, b"Duca") {
                Some(i) => {
                    let b = &rec[(i + 6).min(rec.len())..];
                    let ok = b.len() >= 4
                        && u16::from_le_bytes([b[0], b[1]]) == 0xc001
                        && usize::from(u16::from_le_bytes([b[2], b[3]])) >= 4 + CLIENT_CORE
                        && b.len() >= 4 + CLIENT_CORE;
                    if ok {
                        Rec::Confirm
                    } else {
                        Rec::Nothing
                    }
                }
                None => Rec::Nothing,
            },
            // Connect-Response: the GCC create response ("McDn").
            Some(0x66) if find(rec, b"McDn").is_some() => Rec::Confirm,
            _ => Rec::Nothing,
        },
        _ => Rec::Nothing,
    }
}

impl Rdp {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let d = &mut self.d[c.dir()];
        let mut pos = 0;
        let mut encrypted = false;
        while pos < data.len() {
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                continue;
            }
            if d.hlen == 0 && data.len() - pos >= 4 {
                // A record starting here: judged on what this payload holds.
                let len = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
                let rec = &data[pos..data.len().min(pos + len.max(4))];
                match record(rec, len) {
                    Rec::Nothing => {}
                    Rec::Confirm => ev.push(Service::Rdp, What::Confirm),
                    Rec::Violation => {
                        ev.push(Service::Rdp, What::Violation);
                        return Step::Done;
                    }
                    Rec::Encrypted => encrypted = true,
                }
                d.skip = len.saturating_sub(4) as u32;
                pos += 4;
                continue;
            }
            d.hdr[usize::from(d.hlen)] = data[pos];
            d.hlen += 1;
            pos += 1;
            if d.hlen == 4 {
                d.hlen = 0;
                d.skip = u32::from(u16::from_be_bytes([d.hdr[2], d.hdr[3]])).saturating_sub(4);
            }
        }
        if encrypted {
            ev.inner_dpd = Some(Service::Rdp);
            return Step::Done;
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Rdp, orig: bool, data: &[u8]) -> (Vec<(Service, What)>, Option<Service>, Step) {
        let mut ev = Events::default();
        let c = Ctx {
            is_orig: orig,
            partial: false,
            resp_port: 3389,
            transport: Transport::Tcp,
        };
        let step = r.run(&c, data, &mut ev);
        (ev.items[..ev.n].to_vec(), ev.inner_dpd, step)
    }

    fn tpkt(body: &[u8]) -> Vec<u8> {
        let mut v = vec![3, 0];
        v.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn handshake_does_not_confirm_and_tls_goes_to_the_pia() {
        let mut r = Rdp::default();
        let mut cr = vec![0x26, 0xe0, 0, 0, 0, 0, 0];
        cr.extend_from_slice(b"Cookie: mstshash=bob\r\n");
        cr.extend_from_slice(&[1, 0, 8, 0, 3, 0, 0, 0]);
        assert_eq!(run(&mut r, true, &tpkt(&cr)).0, []);
        let cc = [0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0];
        let (ev, inner, step) = run(&mut r, false, &tpkt(&cc));
        assert_eq!(ev, []);
        assert_eq!(inner, Some(Service::Rdp));
        assert!(step == Step::Done);
    }

    #[test]
    fn cookie_and_confirm_record_rules() {
        let mut cr = vec![0x26, 0xe0, 0, 0, 0, 0, 0];
        cr.extend_from_slice(b"Cookie: msts=123\r\n");
        let (ev, _, _) = run(&mut Rdp::default(), true, &tpkt(&cr));
        assert_eq!(ev, [(Service::Rdp, What::Violation)]);
        let cc = [0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 7, 0, 8, 0, 1, 0, 0, 0];
        let (ev, _, _) = run(&mut Rdp::default(), false, &tpkt(&cc));
        assert_eq!(ev, [(Service::Rdp, What::Violation)]);
        // Standard RDP security: selected protocol 0, no PIA.
        let cc = [0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 0, 0, 0, 0];
        let (ev, inner, _) = run(&mut Rdp::default(), false, &tpkt(&cc));
        assert_eq!((ev, inner), (vec![], None));
    }

    #[test]
    fn mcs_connect_messages_confirm() {
        let mut ci = vec![0x02, 0xf0, 0x80, 0x7f, 0x65, 0x82, 0x01, 0x00];
        ci.extend_from_slice(
            b"\x00\x05\x00\x14\x7c\x00\x01\x81\x2a\x00\x08\x00\x10\x00\x01\xc0\x00Duca\x81\x1c",
        );
        ci.extend_from_slice(&0xc001u16.to_le_bytes());
        ci.extend_from_slice(&((4 + CLIENT_CORE) as u16).to_le_bytes());
        ci.resize(ci.len() + CLIENT_CORE, 0);
        let (ev, _, _) = run(&mut Rdp::default(), true, &tpkt(&ci));
        assert_eq!(ev, [(Service::Rdp, What::Confirm)]);
        let mut resp = vec![0x02, 0xf0, 0x80, 0x7f, 0x66, 0x82, 0x01, 0x00];
        resp.extend_from_slice(b"\x0a\x01\x00\x02\x01\x00\x30\x1a\x00\x05\x00\x14\x7c\x00\x01\x2a\x14\x76\x0a\x01\x01\x00\x01\xc0\x00McDn\x80\x00");
        let (ev, _, _) = run(&mut Rdp::default(), false, &tpkt(&resp));
        assert_eq!(ev, [(Service::Rdp, What::Confirm)]);
    }
}
