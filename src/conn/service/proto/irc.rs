//! IRC: line checks, DCC SEND expectations and the 670 STARTTLS reply.

use super::{digits3, word, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Expect, Service, Transport};
use std::net::{IpAddr, Ipv4Addr};

/// IRC (`src/analyzer/protocol/irc/IRC.cc`, DCC in
/// `scripts/base/protocols/irc/dcc-send.zeek`): attached on 6666-6669/tcp
/// or by `irc_client1/2` with `irc_server_reply`. Confirms on any client
/// line of 3+ characters; violations on a line too short after its prefix
/// or a malformed numeric reply. `DCC SEND` raises an irc-dcc-data
/// expectation; reply 670 (STARTTLS) hands over to SSL.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Irc {
    d: [IrcDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct IrcDir {
    line: LineBuf<160>,
}

impl Irc {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self, d: usize) {
        self.d[d].line.clear();
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while self.d[di].line.feed(data, &mut pos, false) {
            let line = self.d[di].line;
            self.d[di].line.clear();
            if line.total > 512 {
                continue;
            }
            let mut l = skip_spaces(line.line());
            if l.len() < 3 {
                continue;
            }
            if l[0] == b':' {
                let Some(sp) = l.iter().position(|&b| b == b' ') else {
                    continue;
                };
                l = skip_spaces(&l[sp + 1..]);
            }
            if c.is_orig {
                ev.push(Service::Irc, What::Confirm);
            }
            if l.len() < 3 {
                ev.push(Service::Irc, What::Violation);
                return Step::Done;
            }
            if l[0].is_ascii_digit() {
                match digits3(l) {
                    Some(code) if l.get(3) == Some(&b' ') => {
                        if code == 670 {
                            ev.hand_off(Service::Irc, Service::Ssl, pos);
                            return Step::Done;
                        }
                    }
                    _ => {
                        ev.push(Service::Irc, What::Violation);
                        return Step::Done;
                    }
                }
                continue;
            }
            let (cmd, params) = word(l);
            if cmd.eq_ignore_ascii_case(b"PRIVMSG") {
                if let Some(e) = dcc_send(params) {
                    ev.expect(e);
                }
            }
        }
        Step::More
    }
}

fn skip_spaces(l: &[u8]) -> &[u8] {
    let i = l.iter().position(|&b| b != b' ').unwrap_or(l.len());
    &l[i..]
}

/// `<target> :\x01DCC SEND <file> <ip as integer> <port> [<size>]\x01`.
fn dcc_send(params: &[u8]) -> Option<Expect> {
    let sp = params.iter().position(|&b| b == b' ')?;
    let mut m = skip_spaces(&params[sp + 1..]);
    if m.first() == Some(&b':') {
        m = &m[1..];
    }
    if m.first() == Some(&1) {
        m = &m[1..];
    }
    if m.last() == Some(&1) {
        m = &m[..m.len() - 1];
    }
    let mut parts = [&[][..]; 7];
    let mut n = 0;
    for p in m.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        if n == parts.len() {
            return None;
        }
        parts[n] = p;
        n += 1;
    }
    let arity_ok = (5..=6).contains(&n) || (n == 7 && parts[6] == b"T");
    if parts[0] != b"DCC" || !arity_ok {
        return None;
    }
    if !parts[1].eq_ignore_ascii_case(b"SEND") {
        return None;
    }
    let num = |s: &[u8]| -> Option<u64> {
        if s.is_empty() || s.len() > 10 || !s.iter().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(s.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0')))
    };
    let ip = u32::try_from(num(parts[3])?).ok()?;
    let port = u16::try_from(num(parts[4])?).ok()?;
    Some(Expect {
        from_conn_orig: false,
        resp_host: Some(IpAddr::V4(Ipv4Addr::from(ip))),
        resp_port: port,
        service: Service::IrcDccData,
        any_orig: true,
    })
}
