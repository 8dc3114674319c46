//! Per-protocol parsers: just enough of each Zeek analyzer to know when it
//! calls `AnalyzerConfirmation` / `AnalyzerViolation`, when it flips the
//! connection, hands the stream over to SSL (STARTTLS-like) or schedules a
//! data channel. Each parser keeps fixed-size per-direction state and never
//! buffers a whole message.

use super::{Expect, Service, Transport};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most analyzer events one payload can produce.
pub(crate) const MAX_EVENTS: usize = 16;

/// An analyzer event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum What {
    Confirm,
    Violation,
    Flip,
}

/// Events produced by the parsers for one payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Events {
    pub(crate) items: [(Service, What); MAX_EVENTS],
    pub(crate) n: usize,
    pub(crate) expect: Option<Expect>,
    /// Offset in the payload where an SSL analyzer takes over the stream.
    pub(crate) starttls: Option<usize>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            items: [(Service::Http, What::Confirm); MAX_EVENTS],
            n: 0,
            expect: None,
            starttls: None,
        }
    }
}

impl Events {
    fn push(&mut self, s: Service, w: What) {
        if self.n < MAX_EVENTS {
            self.items[self.n] = (s, w);
            self.n += 1;
        }
    }
}

/// What the parsers need to know about the payload.
pub(crate) struct Ctx {
    pub(crate) is_orig: bool,
    pub(crate) partial: bool,
    pub(crate) resp_port: u16,
    pub(crate) transport: Transport,
}

impl Ctx {
    fn dir(&self) -> usize {
        usize::from(!self.is_orig)
    }
}

/// Whether a parser wants more input.
#[derive(PartialEq, Eq)]
enum Step {
    More,
    Done,
}

/// All parsers of one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsers {
    done: u32,
    http: Http,
    ssl: Ssl,
    ssh: Ssh,
    ftp: Ftp,
    irc: Irc,
    smtp: Smtp,
    pop3: [LineBuf<8>; 2],
    dns: Dns,
    ntp_flipped: bool,
    quic: [bool; 2],
    redis: [LineBuf<8>; 2],
    rdp_seen: bool,
    rdpeudp: u8,
    modbus: [Framed<7>; 2],
    syslog_tcp: LineBuf<16>,
    dce: [Framed<10>; 2],
}

impl Parsers {
    pub(crate) fn new(_t: Transport) -> Self {
        Parsers::default()
    }

    /// The first DNS question the DNS parser read (either direction).
    pub(crate) fn dns_query(&self) -> Option<super::DnsQuery> {
        self.dns.query
    }

    pub(crate) fn is_done(&self, s: Service) -> bool {
        self.done & (1 << s as u32) != 0
    }

    pub(crate) fn reset_ssl(&mut self) {
        self.ssl = Ssl::default();
        self.done &= !(1 << Service::Ssl as u32);
    }

    pub(crate) fn flip(&mut self) {
        self.http.d.swap(0, 1);
        self.ssl.d.swap(0, 1);
        self.ssh.d.swap(0, 1);
        self.ftp.d.swap(0, 1);
        self.irc.d.swap(0, 1);
        self.smtp.d.swap(0, 1);
        self.pop3.swap(0, 1);
        self.dns.tcp.swap(0, 1);
        self.quic.swap(0, 1);
        self.redis.swap(0, 1);
        self.modbus.swap(0, 1);
        self.dce.swap(0, 1);
    }

    pub(crate) fn gap(&mut self, is_orig: bool) {
        let d = usize::from(!is_orig);
        // Binary framings cannot resync; SSL and SSH stop after any gap.
        for s in [
            Service::Ssl,
            Service::Ssh,
            Service::Modbus,
            Service::DceRpc,
            Service::Dns,
        ] {
            self.done |= 1 << s as u32;
        }
        self.http.d[d].gap = true;
        self.ftp.d[d].line.clear();
        self.irc.d[d].line.clear();
        self.smtp.d[d].line.clear();
    }

    pub(crate) fn run(&mut self, s: Service, c: &Ctx, data: &[u8], ev: &mut Events) {
        let step = match s {
            Service::Http => self.http.run(c, data, ev),
            Service::Ssl => self.ssl.run(c, data, ev),
            Service::Ssh => self.ssh.run(c, data, ev),
            Service::Ftp => self.ftp.run(c, data, ev),
            Service::Irc => self.irc.run(c, data, ev),
            Service::Smtp => self.smtp.run(c, data, ev),
            Service::Pop3 => pop3(&mut self.pop3[c.dir()], c, data, ev),
            Service::Dns => self.dns.run(c, data, ev),
            Service::Dhcp => dhcp(data, ev),
            Service::Ntp => ntp(&mut self.ntp_flipped, c, data, ev),
            Service::Quic => quic(&mut self.quic, c, data, ev),
            Service::Redis => redis(&mut self.redis[c.dir()], c, data, ev),
            Service::Rdp => rdp(&mut self.rdp_seen, c, data, ev),
            Service::Rdpeudp => rdpeudp(&mut self.rdpeudp, c, data, ev),
            Service::Modbus => modbus(&mut self.modbus[c.dir()], data, ev),
            Service::Syslog => syslog(data, ev),
            Service::SyslogTcp => syslog_tcp(&mut self.syslog_tcp, c, data, ev),
            Service::DceRpc => dce_rpc(&mut self.dce[c.dir()], data, ev),
            _ => Step::Done,
        };
        if step == Step::Done {
            self.done |= 1 << s as u32;
        }
    }
}

// ---------------------------------------------------------------------------
// Line splitting (Zeek's ContentLine / NVT support analyzers).

/// The current line of one direction: its first `N` bytes and its length.
#[derive(Clone, Copy, Debug)]
struct LineBuf<const N: usize> {
    buf: [u8; N],
    total: u32,
    /// Skip a '\n' right after a '\r' terminator.
    skip_lf: bool,
    /// Lines completed so far (saturating).
    count: u32,
}

impl<const N: usize> Default for LineBuf<N> {
    fn default() -> Self {
        LineBuf {
            buf: [0; N],
            total: 0,
            skip_lf: false,
            count: 0,
        }
    }
}

impl<const N: usize> LineBuf<N> {
    /// Consumes bytes from `data[*pos..]` until a line is complete (returns
    /// true, `*pos` just after the terminator) or the data ends. With
    /// `lf_only` only '\n' ends a line (a trailing '\r' is dropped), as FTP's
    /// NVT does; otherwise '\r', '\n' and "\r\n" all end one line.
    fn feed(&mut self, data: &[u8], pos: &mut usize, lf_only: bool) -> bool {
        let Some(mut rest) = data.get(*pos..) else {
            return false;
        };
        if self.skip_lf {
            if let Some(&b) = rest.first() {
                self.skip_lf = false;
                if b == b'\n' {
                    *pos += 1;
                    rest = &rest[1..];
                }
            }
        }
        let end = if lf_only {
            super::find_any(rest, [b'\n'])
        } else {
            super::find_any(rest, [b'\n', b'\r'])
        };
        let end = (end < rest.len()).then_some(end);
        let body = &rest[..end.unwrap_or(rest.len())];
        let t = self.total as usize;
        if t < N {
            let n = (N - t).min(body.len());
            self.buf[t..t + n].copy_from_slice(&body[..n]);
        }
        let added = u32::try_from(body.len()).unwrap_or(u32::MAX);
        self.total = self.total.saturating_add(added);
        let Some(k) = end else {
            *pos = data.len();
            return false;
        };
        *pos += k + 1;
        if rest[k] == b'\r' {
            // "\r\n" is one terminator; consume the '\n' now if present.
            match data.get(*pos) {
                Some(b'\n') => *pos += 1,
                Some(_) => {}
                None => self.skip_lf = true,
            }
        }
        if lf_only && self.total > 0 && self.last() == Some(b'\r') {
            self.total -= 1;
        }
        self.count = self.count.saturating_add(1);
        true
    }

    fn last(&self) -> Option<u8> {
        let t = self.total as usize;
        if t == 0 || t > N {
            return None;
        }
        Some(self.buf[t - 1])
    }

    /// The stored part of the line.
    fn line(&self) -> &[u8] {
        &self.buf[..(self.total as usize).min(N)]
    }

    fn clear(&mut self) {
        self.total = 0;
    }
}

fn skip_ws(l: &[u8]) -> &[u8] {
    let i = l
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(l.len());
    &l[i..]
}

/// First whitespace-delimited word and the rest (after blanks).
fn word(l: &[u8]) -> (&[u8], &[u8]) {
    let l = skip_ws(l);
    let i = l
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(l.len());
    (&l[..i], skip_ws(&l[i..]))
}

fn digits3(l: &[u8]) -> Option<u16> {
    match l {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
/// HTTP (`src/analyzer/protocol/http/HTTP.cc`): attached on 80, 81, 631,
/// 1080, 3128, 8000, 8080, 8888/tcp or by `dpd_http_client` /
/// `dpd_http_server`. Confirms on a valid request line (`HTTP_Request`);
/// "not a http request line" / "not a http reply line" violations on an
/// unparsable first line. Partial connections are never parsed. After a
/// `CONNECT` answered by 200 the rest of the stream goes to SSL.
#[derive(Clone, Copy, Debug, Default)]
struct Http {
    d: [HttpDir; 2],
    connect: bool,
    http09: bool,
    /// Reading the headers of a 200 reply to CONNECT.
    connect_ok: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct HttpDir {
    line: LineBuf<48>,
    first_done: bool,
    /// Progress matching "http/" (case-insensitive) in the current line.
    ver_prog: u8,
    ver_found: bool,
    gap: bool,
}

fn is_token(c: u8) -> bool {
    c > 31 && c < 127 && !b" \t()<>@,;:\\\"/[]?={}".contains(&c)
}

fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":/?#[]@!$&'()*+,;=-_.~%".contains(&c)
}

impl Http {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let d = &mut self.d[di];
            if d.gap || (d.first_done && (c.is_orig || !self.connect_ok)) {
                break;
            }
            let start = pos;
            let done = d.line.feed(data, &mut pos, false);
            if c.is_orig && !d.first_done {
                for &b in &data[start..pos] {
                    let want = b"http/"[d.ver_prog as usize];
                    if b.to_ascii_lowercase() == want {
                        d.ver_prog += 1;
                        if d.ver_prog == 5 {
                            d.ver_found = true;
                            d.ver_prog = 0;
                        }
                    } else {
                        d.ver_prog = u8::from(b.eq_ignore_ascii_case(&b'h'));
                    }
                }
            }
            if !done {
                break;
            }
            let total = d.line.total;
            let l = d.line.line();
            if self.connect_ok {
                if total == 0 {
                    // End of the 200 reply's headers: SSL takes over.
                    self.connect_ok = false;
                    ev.starttls = Some(pos);
                    return Step::Done;
                }
            } else if total == 0 {
                // Empty line: a weird at most.
            } else if c.is_orig {
                d.first_done = true;
                match request_line(l, d.ver_found) {
                    Some(is09) => {
                        ev.push(Service::Http, What::Confirm);
                        self.connect = l.len() >= 8 && l[..8].eq_ignore_ascii_case(b"CONNECT ");
                        self.http09 = is09;
                    }
                    None => {
                        ev.push(Service::Http, What::Violation);
                        return Step::Done;
                    }
                }
            } else {
                d.first_done = true;
                if !self.http09 {
                    match reply_line(l, total) {
                        Some(code) => {
                            if self.connect && code == 200 {
                                self.connect_ok = true;
                            }
                        }
                        None => {
                            ev.push(Service::Http, What::Violation);
                            return Step::Done;
                        }
                    }
                }
            }
            let d = &mut self.d[di];
            d.line.clear();
            d.ver_prog = 0;
            d.ver_found = false;
        }
        if self.d[0].first_done && self.d[1].first_done && !self.connect_ok {
            Step::Done
        } else {
            Step::More
        }
    }
}

/// `HTTP_RequestLine`: `Some(is_http09)` when valid.
fn request_line(l: &[u8], has_version: bool) -> Option<bool> {
    let m = l.iter().take_while(|&&b| is_token(b)).count();
    if m == 0 {
        return None;
    }
    let rest = &l[m..];
    let after = skip_ws(rest);
    if after.len() == rest.len() && !(rest.is_empty() && m == l.len() && l.len() == 48) {
        return None;
    }
    if has_version {
        return Some(false);
    }
    // HTTP/0.9: a GET-like method and a URI.
    let has_uri = after.first().is_some_and(|&b| is_uri_char(b));
    if m >= 3 && has_uri {
        Some(true)
    } else {
        None
    }
}

/// `HTTP_ReplyLine`: the reply code when valid.
fn reply_line(l: &[u8], total: u32) -> Option<u16> {
    if l.len() < 5 || !l[..5].eq_ignore_ascii_case(b"HTTP/") {
        return None;
    }
    let sp = l[5..].iter().position(|&b| b == b' ' || b == b'\t')? + 5;
    let rest = skip_ws(&l[sp..]);
    let consumed = l.len() - rest.len();
    if (total as usize) < consumed + 3 {
        return None;
    }
    Some(digits3(rest).unwrap_or(0))
}

// ---------------------------------------------------------------------------
/// SSL/TLS (`src/analyzer/protocol/ssl/`, `ssl-protocol.pac`,
/// `tls-handshake-analyzer.pac`): attached on 443, 465, 563, 585, 614, 636,
/// 989-995, 5223/tcp, by `dpd_tls_client` / `dpd_tls_server`, or by a
/// STARTTLS handoff (FTP `AUTH TLS`+234, IRC 670, SMTP STARTTLS+220, HTTP
/// CONNECT+200). Confirms on a ClientHello with a supported version; a
/// record header that is neither TLS nor SSLv2 is a violation. Partial
/// connections and streams with gaps are not parsed.
#[derive(Clone, Copy, Debug, Default)]
struct Ssl {
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
}

fn ssl_version_ok(v: u16) -> bool {
    matches!(v, 0x0002 | 0x0300..=0x0304 | 0x7f00..=0x7fff | 0xfeff | 0xfefd | 0xfefc)
}

impl Ssl {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
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
                        if ssl_version_ok(v) {
                            ev.push(Service::Ssl, What::Confirm);
                        } else {
                            ev.push(Service::Ssl, What::Violation);
                            return Step::Done;
                        }
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
                    if ssl_version_ok(v) {
                        ev.push(Service::Ssl, What::Confirm);
                    } else {
                        ev.push(Service::Ssl, What::Violation);
                        return Step::Done;
                    }
                }
                d.skip = len.saturating_sub(6);
                d.hlen = 0;
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

// ---------------------------------------------------------------------------
/// SSH (`src/analyzer/protocol/ssh/ssh-protocol.pac`, `ssh-analyzer.pac`):
/// attached on 22/tcp or when both directions start with `SSH-[12].`
/// (`dpd_ssh_client` requires `dpd_ssh_server`). Key-exchange packets are
/// only parsed once both version banners are known (SSH1 when either side
/// is 1.x other than 1.99); the analyzer confirms on SSH2 `MSG_NEWKEYS`
/// (21) or SSH1 `SSH_CMSG_SESSION_KEY` (3). A one-sided capture therefore
/// never confirms. Partial connections are not parsed.
#[derive(Clone, Copy, Debug, Default)]
struct Ssh {
    d: [SshDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct SshDir {
    /// 0 = reading the banner, 1 = packets, 3 = encrypted / stopped.
    state: u8,
    /// Protocol version of the banner: 2, 199 (1.99) or 1.
    version: u8,
    banner: [u8; 8],
    blen: u8,
    hdr: [u8; 6],
    hlen: u8,
    /// Bytes to skip before the next header byte is read.
    skip: u32,
    /// SSH1: bytes still to skip after the type byte.
    after: u32,
}

impl SshDir {
    fn banner_done(&mut self) {
        let v = &self.banner[..self.blen as usize];
        self.version = if v.starts_with(b"SSH-2") {
            2
        } else if v.starts_with(b"SSH-1.99") {
            199
        } else {
            1
        };
        self.state = 1;
    }
}

impl Ssh {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let other = self.d[1 - di];
            let d = &mut self.d[di];
            if d.state == 0 {
                let b = data[pos];
                pos += 1;
                if b == b'\n' {
                    d.banner_done();
                } else if (d.blen as usize) < d.banner.len() {
                    d.banner[d.blen as usize] = b;
                    d.blen += 1;
                }
                continue;
            }
            if d.state != 1 {
                break;
            }
            if other.state == 0 {
                // The peer's version is unknown: Zeek drops the rest.
                d.hlen = 0;
                d.skip = 0;
                break;
            }
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                continue;
            }
            let ssh1 = d.version == 1 || other.version == 1;
            let want = if ssh1 && d.hlen >= 4 {
                5
            } else if ssh1 {
                4
            } else {
                6
            };
            while (d.hlen as usize) < want && pos < data.len() {
                d.hdr[d.hlen as usize] = data[pos];
                d.hlen += 1;
                pos += 1;
            }
            if (d.hlen as usize) < want {
                break;
            }
            let len = u32::from_be_bytes([d.hdr[0], d.hdr[1], d.hdr[2], d.hdr[3]]);
            if !(2..=256 * 1024).contains(&len) {
                d.state = 3;
                break;
            }
            if ssh1 && want == 4 {
                // Padding to a multiple of 8 comes before the type byte.
                d.skip = 8 - len % 8;
                d.after = len - 1;
                continue;
            }
            let msg_type = if ssh1 { d.hdr[4] } else { d.hdr[5] };
            d.hlen = 0;
            d.skip = if ssh1 { d.after } else { len - 2 };
            if (ssh1 && msg_type == 3) || (!ssh1 && msg_type == 21) {
                ev.push(Service::Ssh, What::Confirm);
                d.state = 3;
            }
        }
        if self.d[0].state >= 3 && self.d[1].state >= 3 {
            Step::Done
        } else {
            Step::More
        }
    }
}

// ---------------------------------------------------------------------------
/// FTP (`src/analyzer/protocol/ftp/FTP.cc`, expectations in
/// `scripts/base/protocols/ftp/main.zeek`): attached on 21, 2811/tcp or by
/// `dpd_ftp_server` (greeting + 230/331) with `dpd_ftp_client` (`USER`).
/// Confirms on every client line whose first word looks like a command (3+
/// printable non-space characters); violations on server lines without a
/// numeric reply code. `PORT`/`EPRT` and 227/229 replies to `PASV`/`EPSV`
/// raise ftp-data expectations; `AUTH TLS` answered by 234 hands over to SSL.
#[derive(Clone, Copy, Debug, Default)]
struct Ftp {
    d: [FtpDir; 2],
    pending_reply: u16,
    /// Last command was PASV/EPSV.
    passive: bool,
    auth_tls: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct FtpDir {
    line: LineBuf<96>,
}

impl Ftp {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while self.d[di].line.feed(data, &mut pos, true) {
            let line = self.d[di].line;
            self.d[di].line.clear();
            let l = line.line();
            if line.total == 0 {
                continue;
            }
            if c.is_orig {
                let (cmd, arg) = word(l);
                let is_cmd =
                    cmd.len() >= 3 && cmd.len() <= 100 && cmd.iter().all(|&b| b.is_ascii_graphic());
                if !is_cmd {
                    continue;
                }
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
                    ev.expect = Some(Expect {
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
                    return Step::Done;
                } else if l.get(3) == Some(&b'-') {
                    self.pending_reply = code;
                    cont = true;
                } else {
                    cont = false;
                }
                if code == 234 && self.auth_tls {
                    ev.starttls = Some(pos);
                    return Step::Done;
                }
                if !cont && (code == 227 || code == 229) && self.passive {
                    let msg = l.get(3..).unwrap_or(&[]);
                    let parsed = if code == 227 {
                        parse_pasv(msg)
                    } else {
                        parse_epsv(msg)
                    };
                    if let Some((h, p)) = parsed {
                        ev.expect = Some(Expect {
                            from_conn_orig: true,
                            resp_host: h,
                            resp_port: p,
                            service: Service::FtpData,
                            any_orig: false,
                        });
                    }
                }
            }
        }
        Step::More
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

// ---------------------------------------------------------------------------
/// IRC (`src/analyzer/protocol/irc/IRC.cc`, DCC in
/// `scripts/base/protocols/irc/dcc-send.zeek`): attached on 6666-6669/tcp
/// or by `irc_client1/2` with `irc_server_reply`. Confirms on any client
/// line of 3+ characters; violations on a line too short after its prefix
/// or a malformed numeric reply. `DCC SEND` raises an irc-dcc-data
/// expectation; reply 670 (STARTTLS) hands over to SSL.
#[derive(Clone, Copy, Debug, Default)]
struct Irc {
    d: [IrcDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct IrcDir {
    line: LineBuf<160>,
}

impl Irc {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
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
                            ev.starttls = Some(pos);
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
                    ev.expect = Some(e);
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

// ---------------------------------------------------------------------------
/// SMTP (`src/analyzer/protocol/smtp/SMTP.cc`): attached on 25, 587/tcp or
/// by `dpd_smtp_client` (HELO/EHLO) with `dpd_smtp_server` (220). Treated as
/// confirming on the first recognised client command (approximation);
/// `STARTTLS` answered by 220 hands over to SSL.
#[derive(Clone, Copy, Debug, Default)]
struct Smtp {
    d: [SmtpDir; 2],
    starttls: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct SmtpDir {
    line: LineBuf<16>,
}

const SMTP_CMDS: [&[u8]; 21] = [
    b"HELO",
    b"EHLO",
    b"MAIL",
    b"RCPT",
    b"DATA",
    b"RSET",
    b"SEND",
    b"SOML",
    b"SAML",
    b"VRFY",
    b"EXPN",
    b"HELP",
    b"NOOP",
    b"QUIT",
    b"TURN",
    b"STARTTLS",
    b"AUTH",
    b"BDAT",
    b"ETRN",
    b"XCLIENT",
    b"XFORWARD",
];

impl Smtp {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while self.d[di].line.feed(data, &mut pos, false) {
            let line = self.d[di].line;
            self.d[di].line.clear();
            let (w, _) = word(line.line());
            if c.is_orig {
                if SMTP_CMDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                    ev.push(Service::Smtp, What::Confirm);
                    self.starttls = w.eq_ignore_ascii_case(b"STARTTLS");
                }
            } else if self.starttls && digits3(w) == Some(220) {
                ev.starttls = Some(pos);
                return Step::Done;
            }
        }
        Step::More
    }
}

// ---------------------------------------------------------------------------
/// POP3 (`src/analyzer/protocol/pop3/POP3.cc`): no registered port, only
/// `dpd_pop3_server` (`+OK`) with `dpd_pop3_client`. Treated as confirming
/// on the first `+OK` server line (approximation).
fn pop3(lb: &mut LineBuf<8>, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Tcp {
        return Step::Done;
    }
    if c.is_orig {
        return Step::More;
    }
    let mut pos = 0;
    while lb.feed(data, &mut pos, false) {
        let ok = lb.line().starts_with(b"+OK");
        lb.clear();
        if ok {
            ev.push(Service::Pop3, What::Confirm);
            return Step::Done;
        }
    }
    Step::More
}

// ---------------------------------------------------------------------------
/// DNS (`src/analyzer/protocol/dns/DNS.cc`): attached on 53/tcp+udp and
/// 137, 5353, 5355/udp (NetBIOS-NS, mDNS, LLMNR); no signature. Each
/// message: if it is the analyzer's first message, comes from the
/// originator and is a response, the connection flips (unless the responder
/// is multicast). More than 25 questions is a violation; otherwise the
/// analyzer confirms once the questions and answers parse. Besides, the
/// first query whose question parses (see [`super::parse_question`]) is
/// kept for the detectors: one parse per connection, whichever direction
/// sent it; a TCP message is parsed only when it is whole in one payload.
#[derive(Clone, Copy, Debug)]
struct Dns {
    first_message: bool,
    tcp: [DnsTcp; 2],
    query: Option<super::DnsQuery>,
}

impl Default for Dns {
    fn default() -> Self {
        Dns {
            first_message: true,
            tcp: [DnsTcp::default(); 2],
            query: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct DnsTcp {
    len: [u8; 2],
    have: u8,
    skip: u32,
}

impl Dns {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport == Transport::Udp {
            return self.message(c, data, ev);
        }
        let mut pos = 0;
        while pos < data.len() {
            let t = &mut self.tcp[c.dir()];
            if t.skip > 0 {
                let n = (t.skip as usize).min(data.len() - pos);
                pos += n;
                t.skip -= n as u32;
                continue;
            }
            while t.have < 2 && pos < data.len() {
                t.len[t.have as usize] = data[pos];
                t.have += 1;
                pos += 1;
            }
            if t.have < 2 {
                break;
            }
            t.have = 0;
            let len = usize::from(u16::from_be_bytes(t.len));
            let avail = data.len() - pos;
            if avail >= len {
                let step = self.message(c, &data[pos..pos + len], ev);
                pos += len;
                if step == Step::Done {
                    return step;
                }
            } else {
                // A message split over segments is not reassembled here.
                self.tcp[c.dir()].skip = (len - avail) as u32;
                pos = data.len();
            }
        }
        Step::More
    }

    fn message(&mut self, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
        if m.len() < 12 {
            return Step::More;
        }
        if self.query.is_none() {
            self.query = super::parse_question(m);
        }
        let qr = m[2] & 0x80 != 0;
        if self.first_message && qr && c.is_orig {
            ev.push(Service::Dns, What::Flip);
        }
        self.first_message = false;
        let count = |i: usize| usize::from(u16::from_be_bytes([m[i], m[i + 1]]));
        let (qd, an) = (count(4), count(6));
        if qd > 25 {
            ev.push(Service::Dns, What::Violation);
            return Step::Done;
        }
        let nb = c.resp_port == 137;
        let mut p = 12;
        for _ in 0..qd {
            p = dns_name(m, p, nb);
            if m.len() < p + 4 {
                return Step::More;
            }
            p += 4;
        }
        for _ in 0..an {
            match dns_rr(m, p, nb) {
                Some(np) => p = np,
                None => return Step::More,
            }
        }
        ev.push(Service::Dns, What::Confirm);
        Step::More
    }
}

/// `ExtractName`: returns the offset after the name (never fails; a bad
/// label just ends it, as Zeek's does).
fn dns_name(m: &[u8], mut p: usize, netbios: bool) -> usize {
    loop {
        let Some(&l) = m.get(p) else { return p };
        p += 1;
        if p >= m.len() || l == 0 {
            return p;
        }
        if l & 0xc0 == 0xc0 {
            return p + 1; // compression pointer: the name ends here
        }
        let l = usize::from(l);
        if l > m.len() - p {
            return m.len();
        }
        if l > 63 && !netbios {
            return p;
        }
        p += l;
    }
}

/// `ParseAnswer`: the offset after the RR, or `None` when it does not parse.
fn dns_rr(m: &[u8], p: usize, netbios: bool) -> Option<usize> {
    let p = dns_name(m, p, netbios);
    if m.len() < p + 10 {
        return None;
    }
    let rtype = u16::from_be_bytes([m[p], m[p + 1]]);
    let rdlen = usize::from(u16::from_be_bytes([m[p + 8], m[p + 9]]));
    let p = p + 10;
    let left = m.len() - p;
    if rdlen > left || (rdlen == 0 && left > 0) {
        return None;
    }
    match rtype {
        1 if rdlen != 4 => None,
        28 if rdlen != 16 => None,
        _ => Some(p + rdlen),
    }
}

// ---------------------------------------------------------------------------
/// DHCP (`src/analyzer/protocol/dhcp/dhcp-analyzer.pac`): attached on 67, 68,
/// 4011/udp or by `dhcp_cookie`. Confirms on every BOOTP message with the
/// DHCP magic cookie; a short message or a bad cookie is a violation.
fn dhcp(m: &[u8], ev: &mut Events) -> Step {
    if m.len() < 240 || m[236..240] != [0x63, 0x82, 0x53, 0x63] {
        ev.push(Service::Dhcp, What::Violation);
        return Step::Done;
    }
    ev.push(Service::Dhcp, What::Confirm);
    Step::More
}

/// NTP (`src/analyzer/protocol/ntp/ntp-analyzer.pac`): attached on 123/udp
/// only. Confirms on every message that parses (48-byte standard message,
/// 12-byte control header for mode 6, 8-byte private header for mode 7);
/// flips once on a server-mode message from the originator or a
/// client-mode message from the responder. Too short is a violation.
fn ntp(flipped: &mut bool, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let Some(&b0) = m.first() else {
        return Step::More;
    };
    let mode = b0 & 7;
    let need = match mode {
        6 => 12,
        7 => 8,
        _ => 48,
    };
    if m.len() < need {
        ev.push(Service::Ntp, What::Violation);
        return Step::Done;
    }
    ev.push(Service::Ntp, What::Confirm);
    if !*flipped && ((mode == 4 && c.is_orig) || (mode == 3 && !c.is_orig)) {
        *flipped = true;
        ev.push(Service::Ntp, What::Flip);
    }
    Step::More
}

/// QUIC (`src/analyzer/protocol/quic/QUIC.spicy`): attached on 443/udp or by
/// `dpd_quic_initial` / `dpd_quic_v2_initial`. Approximation: confirms once
/// the originator sent a long-header v1/v2 packet and the responder answered
/// with a long-header packet (Zeek confirms after decrypting the Initials).
fn quic(seen: &mut [bool; 2], c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if m.len() < 5 || m[0] & 0xc0 != 0xc0 {
        return Step::More;
    }
    let v = [m[1], m[2], m[3], m[4]];
    if v != [0, 0, 0, 1] && v != [0x6b, 0x33, 0x43, 0xcf] {
        return Step::More;
    }
    seen[c.dir()] = true;
    if seen[0] && seen[1] {
        ev.push(Service::Quic, What::Confirm);
        return Step::Done;
    }
    Step::More
}

/// Redis (`src/analyzer/protocol/redis/`, Spicy): attached on 6379/tcp (plus
/// `Redis::ports` redefs) or by `resp-serialized-server`. Approximation:
/// confirms on the first complete server line that starts with a RESP type
/// byte; parses partial connections.
fn redis(lb: &mut LineBuf<8>, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
    if c.is_orig {
        return Step::More;
    }
    let mut pos = 0;
    if lb.feed(data, &mut pos, false) {
        let ok = lb
            .line()
            .first()
            .is_some_and(|b| b"+-:$*_#,(!=%`~>".contains(b));
        lb.clear();
        if ok {
            ev.push(Service::Redis, What::Confirm);
        }
        return Step::Done;
    }
    Step::More
}

/// RDP (`src/analyzer/protocol/rdp/rdp-analyzer.pac`): attached on 3389/tcp
/// or by `dpd_rdp_client` with `dpd_rdp_server`. Confirms on the client's
/// X.224 Connection Request inside TPKT.
fn rdp(seen: &mut bool, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
    if !c.is_orig || *seen {
        return Step::More;
    }
    *seen = true;
    if data.len() >= 6 && data[0] == 3 && data[1] == 0 && data[5] & 0xf0 == 0xe0 {
        ev.push(Service::Rdp, What::Confirm);
    }
    Step::Done
}

/// RDPEUDP (`src/analyzer/protocol/rdp/rdpeudp-analyzer.pac`): attached on
/// 3389/udp or by `dpd_rdpeudp_syn`. Confirms when the SYN / SYN+ACK / ACK
/// handshake completes.
fn rdpeudp(state: &mut u8, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if m.len() < 8 {
        return Step::More;
    }
    let flags = u16::from_be_bytes([m[6], m[7]]);
    const SYN: u16 = 0x0001;
    const ACK: u16 = 0x0004;
    match (*state, c.is_orig) {
        (0, true) if flags & SYN != 0 && m[..4] == [0xff; 4] => *state = 1,
        (1, false) if flags & (SYN | ACK) == SYN | ACK => *state = 2,
        (2, true) if flags & ACK != 0 && flags & SYN == 0 => {
            ev.push(Service::Rdpeudp, What::Confirm);
            return Step::Done;
        }
        _ => {}
    }
    Step::More
}

/// A length-framed PDU stream: fixed header, then a body to skip.
#[derive(Clone, Copy, Debug)]
struct Framed<const H: usize> {
    hdr: [u8; H],
    hlen: u8,
    skip: u32,
}

impl<const H: usize> Default for Framed<H> {
    fn default() -> Self {
        Framed {
            hdr: [0; H],
            hlen: 0,
            skip: 0,
        }
    }
}

impl<const H: usize> Framed<H> {
    /// Runs the framing over `data`; `check` validates a complete header and
    /// returns the body length after it (`None` = violation). Confirms each
    /// complete PDU for `s`.
    fn run(
        &mut self,
        data: &[u8],
        s: Service,
        ev: &mut Events,
        check: impl Fn(&[u8; H]) -> Option<u32>,
    ) -> Step {
        let mut pos = 0;
        while pos < data.len() {
            if self.hlen as usize == H {
                let n = (self.skip as usize).min(data.len() - pos);
                pos += n;
                self.skip -= n as u32;
                if self.skip == 0 {
                    self.hlen = 0;
                    ev.push(s, What::Confirm);
                }
                continue;
            }
            while (self.hlen as usize) < H && pos < data.len() {
                self.hdr[self.hlen as usize] = data[pos];
                self.hlen += 1;
                pos += 1;
            }
            if (self.hlen as usize) < H {
                break;
            }
            match check(&self.hdr) {
                Some(0) => {
                    self.hlen = 0;
                    ev.push(s, What::Confirm);
                }
                Some(n) => self.skip = n,
                None => {
                    ev.push(s, What::Violation);
                    return Step::Done;
                }
            }
        }
        Step::More
    }
}

/// Modbus/TCP (`src/analyzer/protocol/modbus/modbus-analyzer.pac`): attached
/// on 502/tcp only. Confirms on every complete PDU; a non-zero protocol id
/// or a length below 2 is a violation.
fn modbus(f: &mut Framed<7>, data: &[u8], ev: &mut Events) -> Step {
    f.run(data, Service::Modbus, ev, |h| {
        let pid = u16::from_be_bytes([h[2], h[3]]);
        let len = u32::from(u16::from_be_bytes([h[4], h[5]]));
        if pid != 0 || len < 2 {
            None
        } else {
            Some(len - 1)
        }
    })
}

/// DCE/RPC (`src/analyzer/protocol/dce-rpc/`): attached on 135/tcp or by
/// `dpd_dce_rpc`. Confirms on a complete PDU with a v5 header; another
/// header is a violation.
fn dce_rpc(f: &mut Framed<10>, data: &[u8], ev: &mut Events) -> Step {
    f.run(data, Service::DceRpc, ev, |h| {
        if h[0] != 5 || h[1] > 1 || h[2] > 19 {
            return None;
        }
        let frag = if h[4] & 0x10 != 0 {
            u16::from_le_bytes([h[8], h[9]])
        } else {
            u16::from_be_bytes([h[8], h[9]])
        };
        if frag < 16 {
            return None;
        }
        Some(u32::from(frag) - 10)
    })
}

/// Syslog over UDP (`src/analyzer/protocol/syslog/syslog-protocol.pac`):
/// attached on 514/udp. Confirms on `<digits>`; anything else is a violation.
fn syslog(m: &[u8], ev: &mut Events) -> Step {
    if syslog_pri(m) == Some(true) {
        ev.push(Service::Syslog, What::Confirm);
        Step::More
    } else {
        ev.push(Service::Syslog, What::Violation);
        Step::Done
    }
}

/// `<digits>` at the start: `Some(true)` valid, `None` incomplete.
fn syslog_pri(m: &[u8]) -> Option<bool> {
    if *m.first()? != b'<' {
        return Some(false);
    }
    let n = m[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    match m.get(1 + n) {
        None => None,
        Some(b'>') => Some(n > 0),
        Some(_) => Some(false),
    }
}

/// Syslog over TCP (`syslog_tcp`, attached on 514/tcp): octet-counted
/// (`LEN <PRI>...`) or newline-framed messages; confirms on the first
/// message's `<PRI>`, a bad start is a violation.
fn syslog_tcp(lb: &mut LineBuf<16>, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
    if !c.is_orig {
        return Step::More;
    }
    for &b in data {
        if (lb.total as usize) < 16 {
            lb.buf[lb.total as usize] = b;
            lb.total += 1;
        }
    }
    let h = lb.line();
    let digits = h.iter().take_while(|b| b.is_ascii_digit()).count();
    let msg = if digits > 0 && h.get(digits) == Some(&b' ') {
        &h[digits + 1..]
    } else {
        h
    };
    match syslog_pri(msg) {
        Some(true) => {
            ev.push(Service::SyslogTcp, What::Confirm);
            Step::Done
        }
        Some(false) => {
            ev.push(Service::SyslogTcp, What::Violation);
            Step::Done
        }
        None if h.len() == 16 => Step::Done,
        None => Step::More,
    }
}

#[cfg(test)]
mod tests {
    use super::LineBuf;

    /// The byte-at-a-time line splitter [`LineBuf::feed`] replaced.
    fn feed_bytewise<const N: usize>(
        lb: &mut LineBuf<N>,
        data: &[u8],
        pos: &mut usize,
        lf_only: bool,
    ) -> bool {
        while let Some(&b) = data.get(*pos) {
            *pos += 1;
            if lb.skip_lf {
                lb.skip_lf = false;
                if b == b'\n' {
                    continue;
                }
            }
            if b == b'\n' || (!lf_only && b == b'\r') {
                if b == b'\r' {
                    match data.get(*pos) {
                        Some(b'\n') => *pos += 1,
                        Some(_) => {}
                        None => lb.skip_lf = true,
                    }
                }
                if lf_only && lb.total > 0 && lb.last() == Some(b'\r') {
                    lb.total -= 1;
                }
                lb.count = lb.count.saturating_add(1);
                return true;
            }
            if (lb.total as usize) < N {
                lb.buf[lb.total as usize] = b;
            }
            lb.total = lb.total.saturating_add(1);
        }
        false
    }

    #[test]
    fn line_splitting_equals_bytewise() {
        let mut rnd = super::super::test_rng(0x2545_f491_4f6c_dd1d);
        for round in 0..2000 {
            let n = (rnd() % 64) as usize;
            let data: Vec<u8> = (0..n)
                .map(|_| match rnd() % 6 {
                    0 => b'\r',
                    1 => b'\n',
                    _ => b'a' + (rnd() % 26) as u8,
                })
                .collect();
            let lf_only = round % 2 == 0;
            let (mut a, mut b) = (LineBuf::<8>::default(), LineBuf::<8>::default());
            // Split into two deliveries to exercise a '\r' at a segment end.
            let cut = if n == 0 { 0 } else { (rnd() as usize) % n };
            for seg in [&data[..cut], &data[cut..]] {
                let (mut pa, mut pb) = (0, 0);
                loop {
                    let ra = a.feed(seg, &mut pa, lf_only);
                    let rb = feed_bytewise(&mut b, seg, &mut pb, lf_only);
                    assert_eq!((ra, pa), (rb, pb), "round {round}");
                    assert_eq!(
                        (a.buf, a.total, a.skip_lf, a.count),
                        (b.buf, b.total, b.skip_lf, b.count),
                        "round {round}"
                    );
                    if ra {
                        a.total = 0;
                        b.total = 0;
                    } else {
                        break;
                    }
                }
            }
        }
    }
}
