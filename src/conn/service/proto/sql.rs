//! Databases: PostgreSQL (Spicy analyzer `PostgreSQL`) and MySQL, each up to
//! its confirmation and its TLS upgrade.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PgFront {
    /// Reading the first 8 bytes (length, version or SSLRequest magic).
    #[default]
    Initial,
    /// SSLRequest sent; the server's `S`/`N` decides.
    SslRequested,
    /// Reading the StartupMessage (its length known).
    Startup,
    /// Typed messages (`FrontendMessage`).
    Messages,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PgBack {
    /// Waiting for the frontend's first message.
    #[default]
    Initial,
    /// Expecting the `S`/`N` byte.
    SslByte,
    /// Typed messages (`BackendMessage`).
    Messages,
}

/// A typed message framer: type byte, 4-byte length (>= 4), body.
#[derive(Clone, Copy, Debug, Default)]
struct Typed {
    hdr: [u8; 6],
    hlen: u8,
    skip: u32,
}

/// PostgreSQL (`src/analyzer/protocol/postgresql/postgresql.spicy`,
/// `postgresql_zeek.spicy`): attached on 5432/tcp or by the SSLRequest /
/// startup signatures. Confirms on a complete StartupMessage (protocol 3)
/// and on the server's `S`/`N` answer to an SSLRequest; a first message
/// with another major version, a length below 8 (below 4 for typed
/// messages) or another answer byte is a violation. `S` hands both
/// directions to SSL.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Postgres {
    front: PgFront,
    back: PgBack,
    /// Frontend first bytes / StartupMessage bytes read.
    first: [u8; 8],
    flen: u8,
    startup_left: u32,
    d: [Typed; 2],
}

impl Postgres {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let mut pos = 0;
        if c.is_orig {
            while pos < data.len() {
                match self.front {
                    PgFront::Initial => {
                        while self.flen < 8 && pos < data.len() {
                            self.first[usize::from(self.flen)] = data[pos];
                            self.flen += 1;
                            pos += 1;
                        }
                        if self.flen < 8 {
                            break;
                        }
                        let len = u32::from_be_bytes([
                            self.first[0],
                            self.first[1],
                            self.first[2],
                            self.first[3],
                        ]);
                        let magic = u32::from_be_bytes([
                            self.first[4],
                            self.first[5],
                            self.first[6],
                            self.first[7],
                        ]);
                        if len < 8 {
                            ev.push(Service::Postgresql, What::Violation);
                            return Step::Done;
                        }
                        if len == 8 && magic == 80877103 {
                            self.front = PgFront::SslRequested;
                            if self.back == PgBack::Initial {
                                self.back = PgBack::SslByte;
                            }
                        } else if magic >> 16 != 3 || len < 9 {
                            ev.push(Service::Postgresql, What::Violation);
                            return Step::Done;
                        } else {
                            self.front = PgFront::Startup;
                            self.startup_left = len - 8;
                            if self.back == PgBack::Initial {
                                self.back = PgBack::Messages;
                            }
                        }
                    }
                    PgFront::SslRequested => {
                        // Buffered until the server answers (the `N` case
                        // re-parses it as a StartupMessage).
                        break;
                    }
                    PgFront::Startup => {
                        let n = (self.startup_left as usize).min(data.len() - pos);
                        pos += n;
                        self.startup_left -= n as u32;
                        if self.startup_left == 0 {
                            ev.push(Service::Postgresql, What::Confirm);
                            self.front = PgFront::Messages;
                        }
                    }
                    PgFront::Messages => {
                        if !typed(&mut self.d[0], data, &mut pos) {
                            ev.push(Service::Postgresql, What::Violation);
                            return Step::Done;
                        }
                    }
                }
            }
        } else {
            while pos < data.len() {
                match self.back {
                    PgBack::Initial => break, // buffered until the frontend spoke
                    PgBack::SslByte => {
                        let b = data[pos];
                        pos += 1;
                        match b {
                            b'S' => {
                                ev.push(Service::Postgresql, What::Confirm);
                                ev.hand_off(Service::Postgresql, Service::Ssl, pos);
                                return Step::Done;
                            }
                            b'N' => {
                                ev.push(Service::Postgresql, What::Confirm);
                                self.back = PgBack::Messages;
                                // The client now sends its StartupMessage.
                                self.front = PgFront::Initial;
                                self.flen = 0;
                            }
                            _ => {
                                ev.push(Service::Postgresql, What::Violation);
                                return Step::Done;
                            }
                        }
                    }
                    PgBack::Messages => {
                        if !typed(&mut self.d[1], data, &mut pos) {
                            ev.push(Service::Postgresql, What::Violation);
                            return Step::Done;
                        }
                    }
                }
            }
        }
        Step::More
    }
}

/// Frames one typed message's bytes from `data[*pos..]`; false when its
/// length is below 4 or a `ReadyForQuery` status is not `I`/`T`/`E`.
fn typed(t: &mut Typed, data: &[u8], pos: &mut usize) -> bool {
    if t.skip > 0 {
        let n = (t.skip as usize).min(data.len() - *pos);
        *pos += n;
        t.skip -= n as u32;
        return true;
    }
    while usize::from(t.hlen) < t.hdr.len() && *pos < data.len() {
        t.hdr[usize::from(t.hlen)] = data[*pos];
        t.hlen += 1;
        *pos += 1;
        if t.hlen == 5 {
            let len = u32::from_be_bytes([t.hdr[1], t.hdr[2], t.hdr[3], t.hdr[4]]);
            if len < 4 {
                return false;
            }
            if len == 4 {
                t.hlen = 0;
                return true;
            }
        }
    }
    if usize::from(t.hlen) < t.hdr.len() {
        return true;
    }
    let len = u32::from_be_bytes([t.hdr[1], t.hdr[2], t.hdr[3], t.hdr[4]]);
    if t.hdr[0] == b'Z' && !matches!(t.hdr[5], b'I' | b'T' | b'E') {
        return false;
    }
    t.hlen = 0;
    t.skip = len - 5;
    true
}

/// MySQL (`src/analyzer/protocol/mysql/mysql-analyzer.pac`): attached on
/// 1434, 3306/tcp. Packets are a 3-byte little-endian length and a
/// sequence number. The server's first packet is the initial handshake
/// (protocol version 9 or 10); the client's handshake response confirms,
/// and with protocol 10 and `CLIENT_SSL` (0x0800) in its capability flags
/// it hands the stream to SSL after that packet.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Mysql {
    d: [MyDir; 2],
    /// Protocol version from the server's handshake (0 = not seen).
    version: u8,
    responded: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct MyDir {
    hdr: [u8; 8],
    hlen: u8,
    skip: u32,
    packets: u32,
}

impl Mysql {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let d = &mut self.d[di];
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                continue;
            }
            // Header (4 bytes) plus the first 4 payload bytes.
            while d.hlen < 8 && pos < data.len() {
                d.hdr[usize::from(d.hlen)] = data[pos];
                d.hlen += 1;
                pos += 1;
                if d.hlen == 4 {
                    let len = u32::from_le_bytes([d.hdr[0], d.hdr[1], d.hdr[2], 0]);
                    if len < 4 {
                        break;
                    }
                }
            }
            let len = u32::from_le_bytes([d.hdr[0], d.hdr[1], d.hdr[2], 0]);
            let want = 4 + len.min(4) as u8;
            if d.hlen < want {
                break;
            }
            d.hlen = 0;
            d.skip = len - u32::from(want - 4);
            d.packets += 1;
            let first = d.packets == 1;
            let payload = &d.hdr[4..usize::from(want)];
            if !c.is_orig && first && self.version == 0 {
                self.version = payload.first().copied().unwrap_or(0);
            } else if c.is_orig && first && !self.responded && matches!(self.version, 9 | 10) {
                self.responded = true;
                ev.push(Service::Mysql, What::Confirm);
                let caps = u16::from_le_bytes([
                    payload.first().copied().unwrap_or(0),
                    payload.get(1).copied().unwrap_or(0),
                ]);
                if self.version == 10 && caps & 0x0800 != 0 {
                    let end = pos + d.skip as usize;
                    if end <= data.len() {
                        ev.hand_off(Service::Mysql, Service::Ssl, end);
                        return Step::Done;
                    }
                    // The response continues in the next payload: SSL starts after it.
                    ev.hand_off(Service::Mysql, Service::Ssl, data.len());
                    return Step::Done;
                }
            }
        }
        Step::More
    }
}
