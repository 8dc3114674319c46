//! SOCKS (`src/analyzer/protocol/socks/SOCKS.cc`, `socks-protocol.pac`,
//! `socks-analyzer.pac`): attached on 1080/tcp or by the `dpd_socks4*` /
//! `dpd_socks5*` signatures.
//!
//! * Partial connections are never parsed (`DeliverStream`: "punt on
//!   partial").
//! * The client's first byte is the version: 4 or 5, else a violation
//!   (`version_error`).
//! * SOCKS4: the request (command, port, address, NUL-terminated user id,
//!   and for SOCKS4a, an address up to 0.0.0.255, a NUL-terminated host
//!   name) ends the client's part (`EndpointDone(true)`); the 8-byte reply
//!   confirms and ends the server's (`EndpointDone(false)`).
//! * SOCKS5: greeting, method choice, the username/password sub-negotiation
//!   when method 2 was chosen, then the request (a non-zero reserved byte,
//!   an undefined command or address type is a violation) ends the client's
//!   part and the reply (an undefined address type is a violation) confirms
//!   and ends the server's.
//! * Once both parts ended, every later payload goes to a new PIA
//!   (`PIA_TCP`, signatures only) as the inner stream: the tunnelled
//!   protocol's analyzer is attached by its signature and adds its service
//!   (`socks,http`). The payload that ends the handshake is not forwarded.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Per-connection SOCKS parser state.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Socks {
    /// Per direction, bytes of the current message kept.
    buf: [[u8; 24]; 2],
    len: [u8; 2],
    /// 0 = unknown, 4 or 5 once the client's version byte was read.
    version: u8,
    /// SOCKS5 progress: per direction, messages completed.
    msgs: [u8; 2],
    /// SOCKS5: the method the server chose.
    method: u8,
    /// SOCKS4: NULs seen in the current request.
    nuls: u8,
    /// `EndpointDone`: the client's / server's part ended.
    done: [bool; 2],
}

impl Socks {
    pub(super) fn flip(&mut self) {
        self.buf.swap(0, 1);
        self.len.swap(0, 1);
        self.msgs.swap(0, 1);
        self.done.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let di = c.dir();
        for &b in data {
            if self.done[di] {
                // The rest of a part that already ended (binpac would try
                // another message; Zeek assumes none comes).
                break;
            }
            if self.version == 0 {
                if !c.is_orig {
                    return Step::More;
                }
                if b != 4 && b != 5 {
                    ev.push(Service::Socks, What::Violation);
                    return Step::Done;
                }
                self.version = b;
            }
            let n = usize::from(self.len[di]);
            if n < self.buf[di].len() {
                self.buf[di][n] = b;
            }
            self.len[di] = self.len[di].saturating_add(1);
            let buf = self.buf[di];
            let m = &buf[..usize::from(self.len[di]).min(24)];
            let got = usize::from(self.len[di]);
            let complete = if self.version == 4 {
                if c.is_orig {
                    if got > 8 && b == 0 {
                        self.nuls += 1;
                    }
                    // SOCKS4a (address 0.0.0.x): a host name follows.
                    let v4a = m.get(4..7) == Some(&[0, 0, 0]);
                    let end = self.nuls == if v4a { 2 } else { 1 };
                    if end {
                        self.done[0] = true;
                    }
                    end
                } else if got == 8 {
                    ev.push(Service::Socks, What::Confirm);
                    self.done[1] = true;
                    true
                } else {
                    false
                }
            } else {
                match self.socks5_message(c.is_orig, m, got, ev) {
                    Err(()) => return Step::Done,
                    Ok(x) => x,
                }
            };
            if complete {
                self.len[di] = 0;
                self.msgs[di] = self.msgs[di].saturating_add(1);
            }
        }
        if self.done == [true, true] {
            ev.inner_dpd = Some(Service::Socks);
            return Step::Done;
        }
        Step::More
    }

    /// One SOCKS5 message so far: `Ok(true)` = message complete,
    /// `Ok(false)` = more bytes, `Err` = violation.
    fn socks5_message(
        &mut self,
        is_orig: bool,
        m: &[u8],
        got: usize,
        ev: &mut Events,
    ) -> Result<bool, ()> {
        let di = usize::from(!is_orig);
        let k = self.msgs[di];
        // Address length of an (atyp, ...) field at m[3..].
        let addr_end = |m: &[u8]| -> Option<Result<usize, ()>> {
            let atyp = *m.get(3)?;
            Some(match atyp {
                1 => Ok(4 + 4 + 2),
                4 => Ok(4 + 16 + 2),
                3 => Ok(4 + 1 + usize::from(*m.get(4)?) + 2),
                _ => Err(()),
            })
        };
        if is_orig {
            match k {
                // Greeting: version, method count, methods.
                0 => Ok(got >= 2 && got == 2 + usize::from(m[1])),
                // Username/password sub-negotiation when method 2 was chosen.
                1 if self.method == 2 => {
                    let ul = usize::from(*m.get(1).unwrap_or(&0));
                    let pl = m.get(2 + ul).map(|&x| usize::from(x));
                    Ok(pl.is_some_and(|pl| got == 3 + ul + pl))
                }
                _ => {
                    if got < 4 {
                        return Ok(false);
                    }
                    if m[2] != 0 || m[1] == 0 || m[1] > 3 {
                        ev.push(Service::Socks, What::Violation);
                        return Err(());
                    }
                    match addr_end(m) {
                        None => Ok(false),
                        Some(Err(())) => {
                            ev.push(Service::Socks, What::Violation);
                            Err(())
                        }
                        Some(Ok(end)) if got >= end => {
                            self.done[0] = true;
                            Ok(true)
                        }
                        Some(Ok(_)) => Ok(false),
                    }
                }
            }
        } else {
            match k {
                0 => {
                    if got == 2 {
                        self.method = m[1];
                        return Ok(true);
                    }
                    Ok(false)
                }
                1 if self.method == 2 => Ok(got == 2),
                _ => {
                    if got < 4 {
                        return Ok(false);
                    }
                    match addr_end(m) {
                        None => Ok(false),
                        Some(Err(())) => {
                            ev.push(Service::Socks, What::Violation);
                            Err(())
                        }
                        Some(Ok(end)) if got >= end => {
                            ev.push(Service::Socks, What::Confirm);
                            self.done[1] = true;
                            Ok(true)
                        }
                        Some(Ok(_)) => Ok(false),
                    }
                }
            }
        }
    }
}
