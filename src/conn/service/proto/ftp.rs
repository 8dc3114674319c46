//! FTP control channel: command/reply checks, data-channel expectations and
//! `AUTH TLS`.

use super::framing::{Nvt, MAX_LINE_LENGTH};
use super::{digits3, skip_ws, word as word_of, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Expect, Service, Transport};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// FTP (`src/analyzer/protocol/ftp/FTP.cc`, expectations in
/// `scripts/base/protocols/ftp/main.zeek`): attached on 21, 2811/tcp or by
/// `dpd_ftp_server` (greeting + 230/331) with `dpd_ftp_client` (`USER`).
/// Confirms on every client line whose first word looks like a command (3+
/// printable non-space characters); violations on server lines without a
/// numeric reply code. `PORT`/`EPRT` and 227/229 replies to `PASV`/`EPSV`
/// raise ftp-data expectations; `AUTH TLS` answered by 234 hands over to SSL.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ftp {
    d: [FtpDir; 2],
    pending_reply: u16,
    /// Last command was PASV/EPSV.
    passive: bool,
    auth_tls: bool,
    /// A client line confirmed the analyzer (`AnalyzerConfirmed()`).
    confirmed: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct FtpDir {
    line: LineBuf<96>,
    /// The telnet commands between the stream and the lines.
    nvt: Nvt,
    /// The current line's first word, over the whole line.
    word: CmdWord,
}

/// Zeek's `FTP::max_command_length` (100).
const FTP_MAX_COMMAND_LENGTH: u32 = 100;

/// The first word of a line as `FTP_Analyzer::DeliverStream` takes it
/// (`util::skip_whitespace`, then `util::get_word` up to a NUL or an
/// `isspace` byte), measured over the whole line, not only its stored
/// bytes: `is_ftp_cmd` wants 3 or more `isprint` bytes and
/// `FTP::max_command_length` (100) at most.
#[derive(Clone, Copy, Debug, Default)]
struct CmdWord {
    /// 0: in the leading blanks; 1: in the word; 2: past it.
    phase: u8,
    len: u32,
    bad: bool,
}

impl CmdWord {
    fn feed(&mut self, body: &[u8]) {
        let mut rest = body;
        if self.phase == 0 {
            let n = rest
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(rest.len());
            rest = &rest[n..];
            if rest.is_empty() {
                return;
            }
            self.phase = 1;
        }
        if self.phase == 1 {
            let n = rest
                .iter()
                .position(|&b| b == 0 || matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                .unwrap_or(rest.len());
            self.bad |= rest[..n].iter().any(|b| !b.is_ascii_graphic());
            self.len = self
                .len
                .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            if n < rest.len() {
                self.phase = 2;
            }
        }
    }

    fn is_cmd(&self) -> bool {
        (3..=FTP_MAX_COMMAND_LENGTH).contains(&self.len) && !self.bad
    }

    /// `is_ftp_cmd` holds but the word is longer than
    /// `FTP::max_command_length`.
    fn is_too_long(&self) -> bool {
        self.len > FTP_MAX_COMMAND_LENGTH && !self.bad
    }
}

impl Ftp {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self, d: usize) {
        self.d[d].line.clear();
        self.d[d].word = CmdWord::default();
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut at = 0;
        while let Some(run) = self.d[di].nvt.next_run(data, &mut at) {
            let (start, part) = (run.start, &data[run]);
            let mut pos = 0;
            loop {
                let d = &mut self.d[di];
                let word = &mut d.word;
                let done = d
                    .line
                    .feed_with(part, &mut pos, true, MAX_LINE_LENGTH, |b| word.feed(b));
                if !done {
                    break;
                }
                if let Some(step) = self.line(c, ev, start + pos) {
                    return step;
                }
            }
        }
        Step::More
    }

    /// One complete line of the current direction; `end` is where the data
    /// after it starts (for a hand-off). `Some` ends the parse.
    fn line(&mut self, c: &Ctx, ev: &mut Events, end: usize) -> Option<Step> {
        let di = c.dir();
        let line = self.d[di].line;
        let word = self.d[di].word;
        self.d[di].line.clear();
        self.d[di].word = CmdWord::default();
        let l = line.line();
        if line.limited {
            // `NVT_Analyzer::DeliverChunk`: the line reached the buffer's
            // limit, `LimitReachedWeird("nvt_line_size_exceeded", ...)`,
            // which puts `X` in the history (`analyzer::Analyzer::
            // LimitReachedWeird`, src/analyzer/Analyzer.cc).
            ev.push(Service::Ftp, What::Limit);
        }
        if line.total == 0 {
            return None;
        }
        if c.is_orig {
            let (cmd, arg) = word_of(l);
            if !word.is_cmd() {
                // `FTP_Analyzer::DeliverStream`: a command word longer
                // than `FTP::max_command_length` on a confirmed analyzer
                // is `LimitReachedWeird("FTP_max_command_length_exceeded")`.
                if word.is_too_long() && self.confirmed {
                    ev.push(Service::Ftp, What::Limit);
                }
                return None;
            }
            self.confirmed = true;
            ev.push(Service::Ftp, What::Confirm);
            let up = |k: &[u8]| cmd.eq_ignore_ascii_case(k);
            self.passive = up(b"PASV") || up(b"EPSV");
            if up(b"AUTH") {
                self.auth_tls = arg == b"TLS";
            }
            let data_port = if up(b"PORT") {
                parse_port(arg)
            } else if up(b"EPRT") {
                parse_eftp(arg)
            } else {
                None
            };
            if let Some((h, p)) = data_port {
                ev.expect(Expect {
                    from_conn_orig: false,
                    resp_host: h,
                    resp_port: p,
                    service: Service::FtpData,
                    any_orig: false,
                });
            }
        } else {
            let mut code = digits3(l).unwrap_or(0);
            let cont;
            if self.pending_reply != 0 {
                if code == self.pending_reply && l.get(3) == Some(&b' ') {
                    self.pending_reply = 0;
                    cont = false;
                } else {
                    cont = true;
                    code = 0;
                }
            } else if code < 100 || (l.len() > 3 && l[3] != b' ' && l[3] != b'-') {
                ev.push(Service::Ftp, What::Violation);
                return Some(Step::Done);
            } else if l.get(3) == Some(&b'-') {
                self.pending_reply = code;
                cont = true;
            } else {
                cont = false;
            }
            if code == 234 && self.auth_tls {
                ev.hand_off(Service::Ftp, Service::Ssl, end);
                return Some(Step::Done);
            }
            if !cont && (code == 227 || code == 229) && self.passive {
                let msg = l.get(3..).unwrap_or(&[]);
                let parsed = if code == 227 {
                    parse_pasv(msg)
                } else {
                    parse_epsv(msg)
                };
                if let Some((h, p)) = parsed {
                    ev.expect(Expect {
                        from_conn_orig: true,
                        resp_host: h,
                        resp_port: p,
                        service: Service::FtpData,
                        any_orig: false,
                    });
                }
            }
        }
        None
    }
}

/// `h1,h2,h3,h4,p1,p2` (each 0-255), as `parse_ftp_port` reads it.
fn parse_port(s: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    let mut v = [0u32; 6];
    let mut it = s.split(|&b| b == b',');
    for x in v.iter_mut() {
        let f = it.next()?;
        let f = skip_ws(f);
        let n = f.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 3 {
            return None;
        }
        *x = f[..n].iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0'));
        if *x > 255 {
            return None;
        }
    }
    let ip = Ipv4Addr::new(v[0] as u8, v[1] as u8, v[2] as u8, v[3] as u8);
    Some((Some(IpAddr::V4(ip)), (v[4] * 256 + v[5]) as u16))
}

/// The 227 reply text: after '(' or else from the first number list.
fn parse_pasv(msg: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    if let Some(i) = msg.iter().position(|&b| b == b'(') {
        return parse_port(&msg[i + 1..]);
    }
    let comma = msg.iter().position(|&b| b == b',')?;
    let start = msg[..comma]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    parse_port(&msg[start..])
}

/// `<d><proto><d><addr><d><port><d>` (EPRT argument, EPSV reply body).
fn parse_eftp(s: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    let s = skip_ws(s);
    let &delim = s.first()?;
    let mut f = s[1..].split(|&b| b == delim);
    let _proto = f.next()?;
    let addr = f.next()?;
    let port = f.next()?;
    f.next()?; // the closing delimiter
    let n = port.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n != port.len() || n > 5 {
        return None;
    }
    let p = port.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'));
    let p = u16::try_from(p).ok()?;
    if addr.is_empty() {
        return Some((None, p));
    }
    let a = std::str::from_utf8(addr).ok()?;
    let ip: IpAddr = a.parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) if v6 == Ipv6Addr::UNSPECIFIED => return Some((None, p)),
        IpAddr::V4(v4) if v4.is_unspecified() => return Some((None, p)),
        x => x,
    };
    Some((Some(ip), p))
}

fn parse_epsv(msg: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    let i = msg.iter().position(|&b| b == b'(')?;
    parse_eftp(&msg[i + 1..])
}
