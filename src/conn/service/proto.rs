//! Per-protocol parsers: just enough of each Zeek analyzer to know when it
//! calls `AnalyzerConfirmation` / `AnalyzerViolation`, when it flips the
//! connection, hands the stream over to a child analyzer (STARTTLS-like
//! upgrades to SSL, HTTP's upgrade to WebSocket), confirms child analyzers
//! it instantiates (SMB's GSSAPI/NTLM/KRB) or schedules a data channel.
//! Each parser keeps fixed-size per-direction state and never buffers a
//! whole message. One file per protocol family under `proto/`; DNS and the
//! small datagram and framed protocols live here.

mod ftp;
mod http;
mod irc;
mod krb;
mod ldap;
mod mail;
mod quic;
mod rdp;
mod smb;
mod socks;
mod sql;
mod ssh;
mod ssl;
mod tcp_misc;
mod udp_misc;
mod xmpp;

mod set;
pub(crate) use set::Parsers;

use super::{Service, Transport};

/// Most analyzer events one payload can produce.
pub(crate) const MAX_EVENTS: usize = 16;

/// An analyzer event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum What {
    Confirm,
    Violation,
    Flip,
    /// A child analyzer instantiated by the given parent confirmed (the
    /// event's service is the child).
    Child(Service),
}

/// Events produced by the parsers for one payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Events {
    pub(crate) items: [(Service, What); MAX_EVENTS],
    pub(crate) n: usize,
    pub(crate) expect: Option<super::Expect>,
    /// A child analyzer that takes over the stream at this offset of the
    /// payload (STARTTLS: SSL; HTTP upgrade: WebSocket).
    pub(crate) handoff: Option<(Service, usize)>,
    /// The analyzer that raised `handoff`.
    pub(crate) handoff_from: Option<Service>,
    /// This analyzer (SOCKS after its handshake, RDP once TLS/CredSSP was
    /// negotiated) hands every later payload to a fresh PIA as an inner
    /// stream (`SOCKS_Analyzer` / `RDP_Analyzer::DeliverStream`).
    pub(crate) inner_dpd: Option<Service>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            items: [(Service::Http, What::Confirm); MAX_EVENTS],
            n: 0,
            expect: None,
            handoff: None,
            handoff_from: None,
            inner_dpd: None,
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

    /// `from` hands the rest of the stream, from `off` on, to `child`.
    fn hand_off(&mut self, from: Service, child: Service, off: usize) {
        self.handoff = Some((child, off));
        self.handoff_from = Some(from);
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

/// CRC-16/DNP of the DNP3 link layer (for the unit tests).
#[cfg(test)]
pub(crate) fn dnp3_crc_for_test(b: &[u8]) -> u16 {
    tcp_misc::dnp3_crc(b)
}

fn bit(s: Service) -> u64 {
    1u64 << (s as u32)
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

/// Redis (`src/analyzer/protocol/redis/resp.spicy`, `zeek_resp.spicy`):
/// attached on 6379/tcp (plus `Redis::ports` redefs) or by
/// `resp-serialized-server`. The server side is a sequence of RESP values:
/// each complete top-level value confirms (`ServerData::%done`), a value
/// whose type byte is not a RESP type is a violation (`%error`). Simple
/// values are one line; bulk strings a length line and that many bytes;
/// arrays, sets and pushes a count of nested values, maps twice that.
/// The client side (arrays or inline commands) cannot fail. Partial
/// connections are parsed.
#[derive(Clone, Copy, Debug, Default)]
struct Redis {
    line: LineBuf<24>,
    /// Values still to read to complete the current top-level value (0 =
    /// the next line starts a new one).
    pending: u32,
    /// Bulk payload bytes (plus CRLF) still to skip.
    skip: u64,
}

impl Redis {
    fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.is_orig {
            return Step::More;
        }
        let mut pos = 0;
        while pos < data.len() {
            if self.skip > 0 {
                let n = self.skip.min((data.len() - pos) as u64);
                pos += n as usize;
                self.skip -= n;
                if self.skip == 0 {
                    self.value_done(ev);
                }
                continue;
            }
            if !self.line.feed(data, &mut pos, false) {
                break;
            }
            let l = self.line;
            self.line.clear();
            let l = l.line();
            let Some(&ty) = l.first() else {
                // An empty line where a value must start.
                ev.push(Service::Redis, What::Violation);
                return Step::Done;
            };
            let num = || -> Option<i64> { std::str::from_utf8(&l[1..]).ok()?.trim().parse().ok() };
            if self.pending == 0 {
                // A new top-level `ServerData`: one value to read.
                self.pending = 1;
            }
            match ty {
                b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => self.value_done(ev),
                b'$' | b'!' | b'=' => match num() {
                    Some(n) if n >= 0 => self.skip = n as u64 + 2,
                    Some(_) => self.value_done(ev),
                    None => {
                        ev.push(Service::Redis, What::Violation);
                        return Step::Done;
                    }
                },
                b'*' | b'>' | b'~' | b'%' => match num() {
                    Some(n) if n > 0 => {
                        let k = if ty == b'%' { 2 * n } else { n };
                        self.pending = self.pending.saturating_add(k.min(1 << 20) as u32);
                        self.value_done(ev);
                    }
                    Some(_) => self.value_done(ev),
                    None => {
                        ev.push(Service::Redis, What::Violation);
                        return Step::Done;
                    }
                },
                _ => {
                    ev.push(Service::Redis, What::Violation);
                    return Step::Done;
                }
            }
        }
        Step::More
    }

    /// A value was read: when none remains, a whole `ServerData` is done.
    fn value_done(&mut self, ev: &mut Events) {
        self.pending = self.pending.saturating_sub(1);
        if self.pending == 0 {
            ev.push(Service::Redis, What::Confirm);
        }
    }
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
/// header is a violation. Authentication verifiers (bind, alter context,
/// requests) confirm the GSSAPI, NTLM or KRB child.
fn dce_rpc(f: &mut Framed<10>, data: &[u8], ev: &mut Events) -> Step {
    if f.hlen == 0 && f.skip == 0 {
        // Whole PDUs from the start of the payload: their authentication
        // verifiers go to GSSAPI / NTLM / KRB (`forward_auth`).
        let mut p = 0;
        while let Some(n) = data.get(p..).and_then(smb::dce_pdu_len) {
            let Some(pdu) = data.get(p..p + n) else { break };
            smb::dce_auth(pdu, Service::DceRpc, ev);
            p += n;
        }
    }
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
