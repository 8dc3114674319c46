//! The TCP stream matcher: how one direction's bytes drive [`Dir`]: the
//! head buffer handed to the prefix patterns, the line patterns (FTP,
//! SMTP, POP3, IRC clients and servers), RDP's fixed offset, Redis, the
//! byte-wise `dpd_xmpp` and PostgreSQL `user\0` matchers, and the skip over
//! bytes that cannot change state.
//!
//! Must not buffer the stream (only the fixed head and line windows) nor
//! decide which analyzers to enable (that is `Sigs::enabled`).

use super::needle::{find_stop, N_MCDN};
use super::prefix::{prefix_sig, P};
use super::{
    is_space, Dir, FTP_CLIENT, FTP_SERVER, HEAD, IRC_CLIENT, IRC_SERVER, LAST_PREFIX, PG_STARTUP,
    PG_STARTUP_HEAD, POP3_CLIENT, PREFIX_SIGS, RDP_SERVER, REDIS_CLIENT, REDIS_SERVER, SMTP_CLIENT,
    XMPP,
};

/// States of the `dpd_xmpp` matcher
/// (`/^(<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:/`).
const X_START: u8 = 0;
const X_LT: u8 = 1;
const X_XML: u8 = 2;
const X_DECL: u8 = 3;
const X_DECL_Q: u8 = 4;
const X_SPACE: u8 = 5;
const X_STREAM: u8 = 6;
const X_ATTRS: u8 = 7;
const X_DONE: u8 = 0xfe;
const X_FAIL: u8 = 0xff;
const X_STREAM_LIT: &[u8] = b"<stream:stream ";
const X_NS_LIT: &[u8] = b"xmlns='jabber:";
/// `dpd_postgresql_client_startup_3_x` looks for `user\0` within 7 + 256 +
/// 5 bytes.
const PG_USER_END: u32 = 7 + 256 + 5;

impl Dir {
    /// `dpd_ftp_server` can never match in this direction: its greeting
    /// must be the first non-empty line, and that line (or its first four
    /// bytes) was something else, or was read as the originator's.
    pub(super) fn ftp_server_dead(&self) -> bool {
        self.matched & FTP_SERVER == 0
            && !self.ftp_greeting
            && (self.ftp_no_greeting || self.lines_done > 0)
    }

    pub(super) fn feed(&mut self, is_orig: bool, data: &[u8]) {
        // The head first (it touches no state the other two read), so that
        // `feed_extra` knows whether the PostgreSQL startup head failed.
        self.feed_head(is_orig, data);
        self.feed_extra(data, true);
        self.feed_bytes(is_orig, data);
    }

    /// The byte-wise matchers that must see every byte of their window:
    /// `dpd_xmpp` and the `user\0` part of the PostgreSQL startup pattern.
    /// With `gate`, `user\0` is not looked for once the startup head failed:
    /// it only matters with the head (`startup` in `Sigs::enabled` needs
    /// both). Without (the tests' reference), every byte of the window.
    fn feed_extra(&mut self, data: &[u8], gate: bool) {
        let mut off = self.seen;
        let head_ok = !gate || self.failed & PG_STARTUP_HEAD == 0;
        for &b in data {
            let pg_active = head_ok && off < PG_USER_END && self.matched & PG_STARTUP == 0;
            if self.xmpp >= X_DONE && !pg_active {
                break;
            }
            if pg_active && off >= 7 {
                let want = b"user\0"[usize::from(self.pg_user)];
                if b == want {
                    self.pg_user += 1;
                    if self.pg_user == 5 {
                        self.matched |= PG_STARTUP;
                    }
                } else {
                    self.pg_user = u8::from(b == b'u');
                }
            }
            if self.xmpp < X_DONE {
                self.xmpp_step(b);
            }
            off = off.saturating_add(1);
        }
    }

    fn xmpp_step(&mut self, b: u8) {
        let k = usize::from(self.xmpp_k);
        self.xmpp = match self.xmpp {
            X_START if b == b'<' => X_LT,
            X_START | X_SPACE if matches!(b, b'\n' | b'\r' | b' ') => X_SPACE,
            X_SPACE if b == b'<' => {
                self.xmpp_k = 1;
                X_STREAM
            }
            X_LT if b == b'?' => {
                self.xmpp_k = 0;
                X_XML
            }
            X_LT if b == b's' => {
                self.xmpp_k = 2;
                X_STREAM
            }
            X_XML if b == b"xml"[k] => {
                self.xmpp_k += 1;
                if self.xmpp_k == 3 {
                    X_DECL
                } else {
                    X_XML
                }
            }
            X_DECL if b == b'?' => X_DECL_Q,
            X_DECL if b != b'>' => X_DECL,
            X_DECL_Q if b == b'>' => X_SPACE,
            X_STREAM if b == X_STREAM_LIT[k] => {
                self.xmpp_k += 1;
                if usize::from(self.xmpp_k) == X_STREAM_LIT.len() {
                    self.xmpp_k = 0;
                    X_ATTRS
                } else {
                    X_STREAM
                }
            }
            X_ATTRS if b == b'>' => X_FAIL,
            X_ATTRS => {
                if b == X_NS_LIT[k] {
                    self.xmpp_k += 1;
                    if usize::from(self.xmpp_k) == X_NS_LIT.len() {
                        self.matched |= XMPP;
                        return self.xmpp = X_DONE;
                    }
                } else {
                    self.xmpp_k = u8::from(b == b'x');
                }
                X_ATTRS
            }
            _ => X_FAIL,
        };
    }

    /// Patterns decided on the first bytes of the direction.
    fn feed_head(&mut self, is_orig: bool, data: &[u8]) {
        // Prefix patterns.
        if (self.head_len as usize) < HEAD {
            let n = (HEAD - self.head_len as usize).min(data.len());
            let at = self.head_len as usize;
            self.head[at..at + n].copy_from_slice(&data[..n]);
            self.head_len += n as u8;
            let mut bit = 1u64;
            while bit <= LAST_PREFIX {
                if PREFIX_SIGS & bit != 0 && (self.matched | self.failed) & bit == 0 {
                    match prefix_sig(bit, is_orig, &self.head[..self.head_len as usize]) {
                        P::Yes => self.matched |= bit,
                        P::No => self.failed |= bit,
                        P::More if self.head_len as usize == HEAD => self.failed |= bit,
                        P::More => {}
                    }
                }
                bit <<= 1;
            }
        }
        // Redis server, first line: /^([-+_,].*\r\n|[:$*#(!=%`~>][+-]?[0-9]+(\.[0-9]*)?\r\n)/
        if !is_orig && self.matched & REDIS_SERVER == 0 && self.failed & REDIS_SERVER == 0 {
            self.redis_server(data);
        }
    }

    /// Patterns that may match anywhere in the direction's bytes.
    fn feed_bytes(&mut self, is_orig: bool, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            if self.can_skip(is_orig) {
                // Bytes that change nothing but counters: jump to the next
                // line end or possible needle start.
                let rest = &data[i..];
                let k = find_stop(rest);
                if k > 0 {
                    self.skip(&rest[..k]);
                    i += k;
                    continue;
                }
            }
            self.byte(is_orig, data[i]);
            i += 1;
        }
    }

    /// Whether the next bytes, up to a stop ([`is_stop`]), can only advance
    /// counters: inside a line whose start decided every line pattern, no
    /// needle in progress, past the fixed RDP offset.
    fn can_skip(&self, is_orig: bool) -> bool {
        if !self.line_body || self.prev_cr || self.seen <= 5 || self.in_progress != 0 {
            return false;
        }
        let n = self.line_len as usize;
        if is_orig {
            // Client line patterns decide at lengths 4 and 5; IRC's USER/NICK
            // look at the whole (24-byte) line buffer at its end.
            let l = &self.line[..n];
            n == self.line.len()
                || (n >= 5
                    && !l[..4].eq_ignore_ascii_case(b"USER")
                    && !l[..4].eq_ignore_ascii_case(b"NICK"))
        } else {
            n >= 4 && self.irc_state == 0xff
        }
    }

    /// Consumes bytes up to a stop ([`is_stop`]) while [`Self::can_skip`]
    /// holds: the effect of [`Self::byte`] on each, without the matchers.
    fn skip(&mut self, run: &[u8]) {
        let at = self.line_len as usize;
        let room = self.line.len() - at;
        let n = room.min(run.len());
        self.line[at..at + n].copy_from_slice(&run[..n]);
        self.line_len += n as u8;
        let k = u32::try_from(run.len()).unwrap_or(u32::MAX);
        self.seen = self.seen.saturating_add(k);
        self.line_count = self.line_count.saturating_add(k);
        self.prev_cr = false;
    }

    fn redis_server(&mut self, data: &[u8]) {
        let h = &self.head[..self.head_len as usize];
        let Some(&first) = h.first() else { return };
        if b"-+_,".contains(&first) {
            // `.*\r\n`: any CRLF later in the stream.
            let mut prev = self.prev_cr;
            let crlf = self.crlf
                || data.iter().any(|&b| {
                    let hit = prev && b == b'\n';
                    prev = b == b'\r';
                    hit
                });
            if crlf {
                self.matched |= REDIS_SERVER;
            }
            return;
        }
        if !b":$*#(!=%`~>".contains(&first) {
            self.failed |= REDIS_SERVER;
            return;
        }
        // [+-]?[0-9]+(\.[0-9]*)?\r\n, within the head buffer.
        let mut i = 1;
        if matches!(h.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = h[i.min(h.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        i += digits;
        if i >= h.len() {
            if h.len() == HEAD {
                self.failed |= REDIS_SERVER;
            }
            return;
        }
        if digits == 0 {
            self.failed |= REDIS_SERVER;
            return;
        }
        if h[i] == b'.' {
            i += 1;
            i += h[i.min(h.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        match (h.get(i), h.get(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => self.matched |= REDIS_SERVER,
            (Some(b'\r'), None) | (None, _) if h.len() < HEAD => {}
            _ => self.failed |= REDIS_SERVER,
        }
    }

    fn byte(&mut self, is_orig: bool, b: u8) {
        if self.prev_cr && b == b'\n' {
            self.crlf = true;
            if is_orig {
                // resp-client: /^.*\r\n/
                self.matched |= REDIS_CLIENT;
            }
        }
        self.prev_cr = b == b'\r';
        self.needles(b);
        // RDP server: /(.{5}\xd0|.*McDn)/
        if (self.seen == 5 && b == 0xd0) || self.found & (1 << N_MCDN) != 0 {
            self.matched |= RDP_SERVER;
        }
        self.seen = self.seen.saturating_add(1);
        if b == b'\n' || b == b'\r' {
            self.end_line(is_orig);
            return;
        }
        if !self.line_body && (b == b' ' || b == b'\t' || b == 0x0b || b == 0x0c) {
            return;
        }
        self.line_body = true;
        if (self.line_len as usize) < self.line.len() {
            self.line[self.line_len as usize] = b;
            self.line_len += 1;
        }
        self.line_count = self.line_count.saturating_add(1);
        self.line_progress(is_orig, b);
    }

    /// Line-start patterns decided while the line is being read.
    fn line_progress(&mut self, is_orig: bool, c: u8) {
        let l = &self.line[..self.line_len as usize];
        let up = |i: usize| l.get(i).map(|c| c.to_ascii_uppercase());
        if is_orig {
            // dpd_ftp_client: /(|.*[\n\r]) *[uU][sS][eE][rR] /
            if l.len() == 5 && up(0) == Some(b'U') && l[..5].eq_ignore_ascii_case(b"USER ") {
                self.matched |= FTP_CLIENT;
            }
            // dpd_smtp_client: /(|.*[\n\r])[[:space:]]*([hH][eE][lL][oO]|[eE][hH][lL][oO])/
            if l.len() == 4 && (l.eq_ignore_ascii_case(b"HELO") || l.eq_ignore_ascii_case(b"EHLO"))
            {
                self.matched |= SMTP_CLIENT;
            }
            // dpd_pop3_client: USER\s | APOP\s | CAPA | AUTH
            if l.len() == 4 && (l.eq_ignore_ascii_case(b"CAPA") || l.eq_ignore_ascii_case(b"AUTH"))
            {
                self.matched |= POP3_CLIENT;
            }
            if l.len() == 5
                && is_space(l[4])
                && (l[..4].eq_ignore_ascii_case(b"USER") || l[..4].eq_ignore_ascii_case(b"APOP"))
            {
                self.matched |= POP3_CLIENT;
            }
        } else {
            // dpd_ftp_server: /^[\n\r ]*(120|220)[^0-9].*[\n\r] *(230|331)[^0-9]/
            if l.len() == 4 {
                let code = &l[..3];
                if self.lines_done == 0 {
                    if (code == b"120" || code == b"220") && !l[3].is_ascii_digit() {
                        self.ftp_greeting = true;
                    } else {
                        self.ftp_no_greeting = true;
                    }
                } else if self.ftp_greeting
                    && !self.ftp_no_greeting
                    && (code == b"230" || code == b"331")
                    && !l[3].is_ascii_digit()
                {
                    self.matched |= FTP_SERVER;
                }
            }
            // irc_server_reply: /^(|.*[\n\r])(:[^ \n\r]+ )?[0-9][0-9][0-9] /
            if self.irc_state != 0xff {
                let n = self.line_count;
                self.irc_state = match (self.irc_state, c) {
                    (0, b':') if n == 1 => 1,
                    (0, d) if d.is_ascii_digit() => 11,
                    (1, b' ') if n > 2 => 10,
                    (1, _) => 1,
                    (10, d) if d.is_ascii_digit() => 11,
                    (11, d) if d.is_ascii_digit() => 12,
                    (12, d) if d.is_ascii_digit() => 13,
                    (13, b' ') => {
                        self.matched |= IRC_SERVER;
                        0xff
                    }
                    _ => 0xff,
                };
            }
        }
    }

    fn end_line(&mut self, is_orig: bool) {
        let l = &self.line[..self.line_len as usize];
        if is_orig && self.line_count > 0 {
            // irc_client1/2: USER +.+ ... NICK +.*[\r\n]  or  NICK +.+ ... USER +.+[\r\n]
            let kw = |k: &[u8], need_arg: bool| {
                l.len() > 4
                    && l[..4].eq_ignore_ascii_case(k)
                    && l[4] == b' '
                    && (!need_arg || l[4..].iter().any(|&c| c != b' '))
            };
            if kw(b"USER", true) {
                if self.irc_lines & 2 != 0 {
                    self.matched |= IRC_CLIENT;
                }
                self.irc_lines |= 1;
            }
            if kw(b"NICK", false) {
                if self.irc_lines & 1 != 0 {
                    self.matched |= IRC_CLIENT;
                }
                if kw(b"NICK", true) {
                    self.irc_lines |= 2;
                }
            }
        }
        if self.line_count > 0 {
            self.lines_done = self.lines_done.saturating_add(1);
        }
        self.line_len = 0;
        self.line_count = 0;
        self.line_body = false;
        self.irc_state = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The skipping feed leaves exactly the state of byte-at-a-time matching.
    #[test]
    fn skipping_equals_bytewise() {
        let mut rnd = crate::conn::service::test_rng(0x9e37_79b9_7f4a_7c15);
        let words: [&[u8]; 15] = [
            b"USER bob\r\n",
            b"Duca..drdynvc",
            b"rdprdpsnd",
            b"cliprdrdynvcMcD",
            b"NICK x\r\n",
            b"Cookie: mstshash=a",
            b"Duca rdpdr",
            b":irc.example 001 nick :hi\r\n",
            b"220 ftp\r\n331 ok\r\n",
            b"McDn",
            b"HELO a\r\n",
            b"\r\n",
            b"   \t  ",
            b"GET / HTTP/1.1\r\n",
            b"+OK\r\n",
        ];
        // What the gate on the PostgreSQL head may change: nothing that
        // `Sigs::enabled` reads.
        fn observable(d: &Dir) -> Dir {
            let mut d = *d;
            if d.failed & PG_STARTUP_HEAD != 0 {
                d.matched &= !PG_STARTUP;
                d.pg_user = 0;
            }
            d
        }
        let mut startups = 0;
        for round in 0..400 {
            let mut data = Vec::new();
            if round % 4 == 0 {
                // The startup head, sometimes followed by `user\0`.
                data.extend_from_slice(b"\0\0\0\x28\0\x03\0");
            }
            if round % 8 == 0 {
                data.extend_from_slice(b"xx user\0");
            }
            while data.len() < 1500 {
                if rnd() % 3 == 0 {
                    data.extend_from_slice(words[(rnd() % words.len() as u64) as usize]);
                } else {
                    let n = (rnd() % 40) as usize;
                    // Mostly letters and blanks, some random bytes.
                    data.extend((0..n).map(|_| match rnd() % 8 {
                        0 => b' ',
                        1 => (rnd() % 256) as u8,
                        _ => b'a' + (rnd() % 26) as u8,
                    }));
                }
            }
            for is_orig in [true, false] {
                let (mut fast, mut slow) = (Dir::default(), Dir::default());
                let mut at = 0;
                while at < data.len() {
                    let n = ((rnd() % 300) as usize + 1).min(data.len() - at);
                    let seg = &data[at..at + n];
                    fast.feed(is_orig, seg);
                    // The reference: prefix patterns via feed on an empty
                    // slice after filling head, then every byte.
                    slow.feed_extra(seg, false);
                    slow.feed_head(is_orig, seg);
                    for &b in seg {
                        slow.byte(is_orig, b);
                    }
                    at += n;
                    assert_eq!(
                        observable(&fast),
                        observable(&slow),
                        "round {round} orig {is_orig} at {at}"
                    );
                }
                let both = PG_STARTUP | PG_STARTUP_HEAD;
                startups += usize::from(fast.matched & both == both);
            }
        }
        assert!(startups > 0, "no PostgreSQL startup message matched");
    }
}
