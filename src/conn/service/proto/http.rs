//! HTTP: request/reply line checks (confirmation, violations) on every
//! message of the connection, the message framing that finds the next
//! request/reply line (headers, Content-Length, chunked bodies), and the
//! CONNECT / Upgrade handoffs; the WebSocket child analyzer.

use super::{digits3, skip_ws, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Service, Transport};

/// HTTP (`src/analyzer/protocol/http/HTTP.cc`): attached on 80, 81, 631,
/// 1080, 3128, 8000, 8080, 8888/tcp or by `dpd_http_client` /
/// `dpd_http_server`. Partial connections are never parsed.
///
/// As `HTTP_Analyzer::DeliverStream` does, each direction goes back to
/// expecting a request (reply) line once a message is over
/// (`RequestMade` / `ReplyMade` from `HTTP_Message::Done`), so every
/// request and reply line of the connection is judged:
///
/// * a valid request line confirms (`HTTP_Request`) and queues its method
///   (`unanswered_requests`); an invalid non-empty one is "not a http
///   request line" while a request is expected (`RequestExpected`: no
///   request yet, or keep-alive, from a version above 1.0 on either side or
///   the client's `Connection: keep-alive`), else it is only
///   `crud_trailing_HTTP_request`; after the violation requests are no
///   longer parsed (`EXPECT_REQUEST_NOTHING`);
/// * a valid reply line confirms while a request is unanswered; an invalid
///   non-empty one is "not a http reply line" (`EXPECT_REPLY_NOTHING`);
///   reply lines are case-sensitive (`PrefixMatch(.., "HTTP/")`);
/// * a message ends as `HTTP_Entity::SubmitAllHeaders` / `Deliver` decide:
///   no body for a reply to HEAD (a method that is a prefix of `HEAD`, as
///   `strncasecmp` over the method's length compares), a 1xx, 204 or 304
///   reply (`ExpectReplyMessageBody`); a chunked body when
///   `Transfer-Encoding: chunked` comes with version 1.1 (the request's
///   while a request is ongoing, else the reply's); else `Content-Length`
///   bytes; else the rest of the connection after a server's
///   `Connection: close` or a gzip/deflate `Content-Encoding`, and for a
///   reply without length; a request without length has no body. A 1xx
///   reply answers no request (the queue is not popped).
///
/// After a `CONNECT` (any prefix of the word, as above) answered by 200,
/// every later payload goes to a fresh PIA at the end of the reply headers
/// (signatures find the tunnelled protocol: usually SSL). A `101` reply
/// with `Connection: upgrade` and an `Upgrade` token, answering the only
/// unanswered request, ends parsing (`ReplyMade`: `upgraded`); when the
/// token is `websocket` (`HTTP::upgrade_analyzers`, filled by
/// `base/protocols/websocket`) the stream goes to the WebSocket analyzer.
///
/// Bodies are counted, never buffered. Stopped conservatively (no more
/// lines judged, so never a violation Zeek would not raise): a
/// `multipart/*` or `message/*` body (MIME boundaries end it), a 206 reply
/// with `Content-Range` (its range length), a header value or chunk size
/// cut by the stored line prefix, a folded relevant header without a
/// value on its first line, more than 64 unanswered requests, and a
/// content gap (Zeek skips a gap that falls inside a counted body,
/// `HTTP_Entity::Undelivered`; connscope stops that direction, and the
/// replies too after a gap in the requests).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Http {
    d: [HttpDir; 2],
    /// The request line being read (its version).
    scan: ReqScan,
    /// `connect_request`: set by a CONNECT request, cleared by a reply
    /// line whose code is not 200.
    connect: bool,
    /// `keep_alive` (`RequestExpected`).
    keep_alive: bool,
    /// `num_requests > 0`.
    any_request: bool,
    /// `connection_close`: the server sent `Connection: close`.
    conn_close: bool,
    /// `request_ongoing`: a request line was seen, its message not over.
    req_ongoing: bool,
    /// `request_version` / `reply_version`, `major << 8 | minor` (0: none).
    req_version: u16,
    reply_version: u16,
    /// `reply_code` of the reply being read (0 between replies).
    reply_code: u16,
    /// `upgrade_connection`, a non-empty `upgrade_protocol`, and whether it
    /// is websocket, for the reply being read.
    upgrade_conn: bool,
    upgrade_proto: bool,
    upgrade_ws: bool,
    /// `unanswered_requests.size()` (at most 64) and, bit i, whether the
    /// i-th of them (front first) is a HEAD.
    pending: u8,
    heads: u64,
}

/// Where a direction is in its current message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// `EXPECT_REQUEST_LINE` / `EXPECT_REPLY_LINE`.
    #[default]
    Line,
    /// Header lines up to an empty one.
    Headers,
    /// `Content-Length` body bytes (`left`).
    Body,
    /// A chunk-size line (`EXPECT_CHUNK_SIZE`).
    ChunkSize,
    /// Chunk data bytes (`left`).
    ChunkData,
    /// The line after chunk data (`EXPECT_CHUNK_DATA_CRLF`).
    ChunkCrlf,
    /// Trailer header lines after the last chunk (`EXPECT_CHUNK_TRAILER`).
    Trailer,
    /// Everything else is one body (until the connection ends, or HTTP/0.9
    /// reply data): no more lines are judged.
    Raw,
    /// Not parsed any more (`EXPECT_*_NOTHING`, a gap, or a conservative
    /// stop).
    Stop,
}

/// `HTTP_Message::expect_body`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Expect {
    #[default]
    Maybe,
    Expected,
    NotExpected,
}

#[derive(Clone, Copy, Debug, Default)]
struct HttpDir {
    line: LineBuf<48>,
    phase: Phase,
    /// Progress matching "http/" (case-insensitive) in the current line.
    ver_prog: u8,
    ver_found: bool,
    /// Body or chunk bytes still to come.
    left: u64,
    /// The current message's headers (`HTTP_Entity`): `content_length`
    /// (-1: none), `chunked_transfer_state != NON_CHUNKED_TRANSFER`, a
    /// gzip/deflate encoding, a multipart/message content type, a
    /// Content-Range in a 206 reply; the last header was a relevant one
    /// without a value token (a folded continuation could give it one).
    content_length: i64,
    chunked: bool,
    gzip: bool,
    nested: bool,
    range: bool,
    fold_risk: bool,
    expect: Expect,
}

/// Finds a request line's version as `ParseRequest` does, over the whole
/// line while it streams in: the method token, blanks, the URI
/// (`is_reserved_URI_char`, `is_unreserved_URI_char`, `%`), then the first
/// "HTTP/" (case-sensitive) after the URI, or at the URI's start when the
/// URI runs to the end of the line (`missing_HTTP_uri`).
#[derive(Clone, Copy, Debug, Default)]
struct ReqScan {
    /// 0 method, 1 blanks, 2 URI, 3 searching "HTTP/", 4 version, 5 done.
    phase: u8,
    /// Bytes of "HTTP/" matched (at the URI's start in phase 2).
    m: u8,
    /// The bytes after "HTTP/" (first three) and how many there were.
    ver: [u8; 3],
    nver: u8,
}

/// What a request line's scan found.
enum ReqVersion {
    /// No "HTTP/": HTTP/0.9.
    None,
    /// "HTTP/" with fewer than three bytes after it: the version is kept.
    Short,
    Version(u16),
}

impl ReqScan {
    fn feed(&mut self, run: &[u8]) {
        for &b in run {
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        const P: &[u8; 5] = b"HTTP/";
        let ws = b == b' ' || b == b'\t';
        match self.phase {
            0 if is_token(b) => {}
            0 if ws => self.phase = 1,
            0 => self.phase = 5,
            1 if ws => {}
            1 | 2 => {
                if self.phase == 1 {
                    self.phase = 2;
                    self.m = 0;
                    self.nver = 0;
                }
                if is_uri_char(b) {
                    if self.m < 5 {
                        // The URI's start is still "HTTP/"; 6 = it is not.
                        if P.get(usize::from(self.m)) == Some(&b) {
                            self.m += 1;
                        } else {
                            self.m = 6;
                        }
                    } else if self.m == 5 {
                        self.capture(b);
                    }
                } else {
                    self.phase = 3;
                    self.m = 0;
                    self.nver = 0;
                    self.byte(b);
                }
            }
            3 => {
                if P.get(usize::from(self.m)) == Some(&b) {
                    self.m += 1;
                    if self.m == 5 {
                        self.phase = 4;
                    }
                } else {
                    self.m = u8::from(b == b'H');
                }
            }
            4 => self.capture(b),
            _ => {}
        }
    }

    fn capture(&mut self, b: u8) {
        if let Some(v) = self.ver.get_mut(usize::from(self.nver)) {
            *v = b;
        }
        self.nver = self.nver.saturating_add(1);
    }

    fn result(&self) -> ReqVersion {
        let found = (self.phase == 2 && self.m == 5) || self.phase == 4;
        if !found {
            ReqVersion::None
        } else if self.nver < 3 {
            ReqVersion::Short
        } else {
            ReqVersion::Version(http_version(&self.ver))
        }
    }
}

/// `HTTP_Version`: "d.d" as `major << 8 | minor`, else 0.
fn http_version(v: &[u8]) -> u16 {
    match v {
        [a, b'.', c, ..] if a.is_ascii_digit() && c.is_ascii_digit() => {
            u16::from(a - b'0') << 8 | u16::from(c - b'0')
        }
        _ => 0,
    }
}

/// `SetVersion`'s keep-alive rule: a version above 1.0.
fn above_1_0(v: u16) -> bool {
    v > (1 << 8)
}

fn is_token(c: u8) -> bool {
    c > 31 && c < 127 && !b" \t()<>@,;:\\\"/[]?={}".contains(&c)
}

fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":/?#[]@!$&'()*+,;=-_.~%".contains(&c)
}

/// `m` is a non-empty case-insensitive prefix of `word`
/// (`strncasecmp(m, word, len(m)) == 0`).
fn prefix_of(m: &[u8], word: &[u8]) -> bool {
    !m.is_empty() && m.len() <= word.len() && m.eq_ignore_ascii_case(&word[..m.len()])
}

/// MIME's `is_lws`.
fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `MIME_skip_lws_comments`: blanks and parenthesised comments.
fn skip_lws_comments(l: &[u8]) -> usize {
    let mut i = 0;
    while i < l.len() {
        if is_lws(l[i]) {
            i += 1;
        } else if l[i] == b'(' {
            let mut par = 0u32;
            let mut j = i;
            let mut end = l.len();
            while j < l.len() {
                match l[j] {
                    b'(' => par += 1,
                    b')' => {
                        par = par.saturating_sub(1);
                        if par == 0 {
                            end = j + 1;
                            break;
                        }
                    }
                    b'\\' => j += 1,
                    _ => {}
                }
                j += 1;
            }
            i = end;
        } else {
            return i;
        }
    }
    l.len()
}

/// `MIME_is_token_char`.
fn is_mime_token(c: u8) -> bool {
    (33..=126).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// `MIME_get_token`: the first token of `l`, skipping blanks, comments and
/// other bytes before it; its start and end.
fn mime_token(l: &[u8]) -> Option<(usize, usize)> {
    let mut i = skip_lws_comments(l);
    while i < l.len() {
        if is_mime_token(l[i]) {
            let n = l[i..].iter().take_while(|&&c| is_mime_token(c)).count();
            return Some((i, i + n));
        }
        let j = skip_lws_comments(&l[i..]);
        i += j.max(1);
    }
    None
}

/// A header line as `MIME_Header` splits it: the field name
/// (`MIME_get_field_name` skips blanks, comments and other bytes before
/// it) and the value (after the ':' and `isspace` bytes); `None` for a
/// malformed line.
fn header(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let name_char = |c: u8| (33..=126).contains(&c) && c != b':';
    let mut i = skip_lws_comments(l);
    while i < l.len() && !name_char(l[i]) {
        i += skip_lws_comments(&l[i..]).max(1);
    }
    let rest = l.get(i..)?;
    let n = rest.iter().take_while(|&&c| name_char(c)).count();
    if n == 0 {
        return None;
    }
    let name = &rest[..n];
    let after = &rest[n..];
    let k = skip_lws_comments(after);
    if after.get(k) != Some(&b':') {
        return None;
    }
    let v = &after[k + 1..];
    let w = v
        .iter()
        .take_while(|&&c| c == b' ' || (9..=13).contains(&c))
        .count();
    Some((name, &v[w..]))
}

/// `util::atoi_n`: an optional '-', then digits of `base` up to the first
/// other byte (none at all fails); wraps as Zeek's int64 does.
fn atoi_n(s: &[u8], base: u32) -> Option<(i64, usize)> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    let mut i = 0;
    for &c in digits {
        let Some(d) = (c as char).to_digit(base) else {
            if i == 0 {
                return None;
            }
            break;
        };
        n = n.wrapping_mul(i64::from(base)).wrapping_add(i64::from(d));
        i += 1;
    }
    let end = i + usize::from(neg);
    Some((if neg { n.wrapping_neg() } else { n }, end))
}

/// A conservative stop: the direction, or both.
enum Stop {
    Dir,
    Both,
}

impl Http {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    /// A content gap in direction `d` (`HTTP_Analyzer::Undelivered`): the
    /// direction stops (`SetSkipDeliveries`); a gap in the requests also
    /// stops a reply being read (`ReplyMade(true, ..)`), and, since Zeek
    /// would have gone on after a gap inside a counted request body while
    /// connscope does not, replies stop then too.
    pub(super) fn gap(&mut self, d: usize) {
        if d == 0 {
            let in_body = matches!(self.d[0].phase, Phase::Body | Phase::ChunkData);
            if in_body || self.d[1].phase != Phase::Line {
                self.d[1].phase = Phase::Stop;
            }
        }
        if let Some(x) = self.d.get_mut(d) {
            x.phase = Phase::Stop;
        }
    }

    fn stopped(&self, d: usize) -> bool {
        matches!(self.d[d].phase, Phase::Raw | Phase::Stop)
    }

    fn stop(&mut self, di: usize, how: Stop) {
        match how {
            Stop::Dir => self.d[di].phase = Phase::Stop,
            Stop::Both => {
                self.d[0].phase = Phase::Stop;
                self.d[1].phase = Phase::Stop;
            }
        }
    }

    /// The conservative stop for direction `di`: a stop in the requests
    /// also stops the replies (whether a reply has a body depends on the
    /// requests, `ExpectReplyMessageBody`).
    fn give_up(&mut self, di: usize) {
        self.stop(di, if di == 0 { Stop::Both } else { Stop::Dir });
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let phase = self.d[di].phase;
            match phase {
                Phase::Raw | Phase::Stop => break,
                Phase::Body | Phase::ChunkData => {
                    // `SetPlainDelivery`: counted, not read as lines.
                    let d = &mut self.d[di];
                    d.line.eat_lf(data, &mut pos);
                    let n = d.left.min((data.len() - pos) as u64);
                    pos += n as usize;
                    d.left -= n;
                    if d.left == 0 {
                        if phase == Phase::ChunkData {
                            d.phase = Phase::ChunkCrlf;
                        } else if self.end_message(di, pos, ev) {
                            return Step::Done;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let request_line = c.is_orig && phase == Phase::Line;
            let scan = &mut self.scan;
            let HttpDir {
                line,
                ver_prog,
                ver_found,
                ..
            } = &mut self.d[di];
            let done = line.feed_with(data, &mut pos, false, u32::MAX, |run| {
                if request_line {
                    scan.feed(run);
                    for &b in run {
                        let want = b"http/"[usize::from(*ver_prog)];
                        if b.to_ascii_lowercase() == want {
                            *ver_prog += 1;
                            if *ver_prog == 5 {
                                *ver_found = true;
                                *ver_prog = 0;
                            }
                        } else {
                            *ver_prog = u8::from(b.eq_ignore_ascii_case(&b'h'));
                        }
                    }
                }
            });
            if !done {
                break;
            }
            let d = &mut self.d[di];
            let total = d.line.total;
            let mut buf = [0u8; 48];
            let stored = d.line.line();
            let n = stored.len();
            buf[..n].copy_from_slice(stored);
            let l = &buf[..n];
            let has_version = d.ver_found;
            d.line.clear();
            d.ver_prog = 0;
            d.ver_found = false;
            let scan = std::mem::take(&mut self.scan);
            let end = match phase {
                Phase::Line if c.is_orig => self.request(l, total, has_version, &scan, ev),
                Phase::Line => self.reply(l, total, ev),
                Phase::Headers | Phase::Trailer => self.header_line(di, l, total, pos, ev),
                Phase::ChunkSize => {
                    self.chunk_size(di, l, total);
                    false
                }
                Phase::ChunkCrlf => {
                    self.d[di].phase = Phase::ChunkSize;
                    false
                }
                _ => false,
            };
            if end {
                return Step::Done;
            }
            if !c.is_orig && total == 0 && phase != Phase::Line && self.connect {
                // An empty reply line while `connect_request` (a 200 to a
                // CONNECT): a new PIA gets every later payload
                // (`HTTP_Analyzer::DeliverStream`: "set up tunnel
                // decapsulation", `ForwardStream`).
                ev.inner_dpd = Some(Service::Http);
                return Step::Done;
            }
        }
        if self.stopped(0) && self.stopped(1) {
            Step::Done
        } else {
            Step::More
        }
    }

    /// A line while a request line is expected. Returns true to end
    /// parsing.
    fn request(
        &mut self,
        l: &[u8],
        total: u32,
        has_version: bool,
        scan: &ReqScan,
        ev: &mut Events,
    ) -> bool {
        if total == 0 {
            // `empty_http_request` / `crud_trailing_HTTP_request`.
            return false;
        }
        let Some(is09) = request_line(l, has_version) else {
            if !self.any_request || self.keep_alive {
                ev.push(Service::Http, What::Violation);
                self.d[0].phase = Phase::Stop;
            }
            return false;
        };
        ev.push(Service::Http, What::Confirm);
        self.any_request = true;
        let m = l.iter().take_while(|&&b| is_token(b)).count();
        let method = &l[..m];
        if prefix_of(method, b"CONNECT") {
            self.connect = true;
        }
        match scan.result() {
            ReqVersion::None if is09 => self.req_version = 9,
            ReqVersion::Version(v) => self.req_version = v,
            ReqVersion::None | ReqVersion::Short => {}
        }
        if above_1_0(self.req_version) {
            self.keep_alive = true;
        }
        if self.pending >= 64 {
            self.give_up(0);
            return false;
        }
        if prefix_of(method, b"HEAD") {
            self.heads |= 1 << self.pending;
        } else {
            self.heads &= !(1 << self.pending);
        }
        self.pending += 1;
        self.req_ongoing = true;
        self.begin(0, Expect::Maybe);
        if is09 {
            // `EXPECT_REPLY_HTTP09`: the server's data is raw from now on.
            self.d[1].phase = Phase::Raw;
        }
        false
    }

    /// A line while a reply line is expected.
    fn reply(&mut self, l: &[u8], total: u32, ev: &mut Events) -> bool {
        if total == 0 {
            return false;
        }
        if l.len() >= 5 && &l[..5] == b"HTTP/" {
            // `SetVersion(&reply_version, HTTP_Version(..))` comes before
            // the code is checked.
            self.reply_version = http_version(&l[5..]);
            if above_1_0(self.reply_version) {
                self.keep_alive = true;
            }
        }
        let Some(code) = reply_line(l, total) else {
            ev.push(Service::Http, What::Violation);
            self.d[1].phase = Phase::Stop;
            return false;
        };
        if self.pending > 0 {
            ev.push(Service::Http, What::Confirm);
        }
        self.reply_code = code;
        if self.connect && code != 200 {
            self.connect = false;
        }
        let head = self.pending > 0 && self.heads & 1 != 0;
        let expect = if head || (100..200).contains(&code) || code == 204 || code == 304 {
            Expect::NotExpected
        } else {
            Expect::Expected
        };
        self.begin(1, expect);
        false
    }

    /// A new message's headers follow in direction `di`.
    fn begin(&mut self, di: usize, expect: Expect) {
        let d = &mut self.d[di];
        d.phase = Phase::Headers;
        d.content_length = -1;
        d.chunked = false;
        d.gzip = false;
        d.nested = false;
        d.range = false;
        d.fold_risk = false;
        d.expect = expect;
    }

    /// A header (or trailer) line; an empty one (or one starting with NUL,
    /// `MIME_Entity::Deliver`) ends them.
    fn header_line(
        &mut self,
        di: usize,
        l: &[u8],
        total: u32,
        pos: usize,
        ev: &mut Events,
    ) -> bool {
        let cut = total as usize > l.len();
        match l.first() {
            None | Some(0) => return self.headers_done(di, pos, ev),
            Some(&b) if is_lws(b) => {
                // A continuation of the last header (`ContHeader`).
                if self.d[di].fold_risk {
                    self.give_up(di);
                }
                return false;
            }
            _ => {}
        }
        self.d[di].fold_risk = false;
        let Some((name, value)) = header(l) else {
            return false;
        };
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        let relevant = is(b"content-length")
            || is(b"transfer-encoding")
            || is(b"content-encoding")
            || is(b"content-type")
            || is(b"content-range")
            || is(b"connection")
            || is(b"upgrade");
        if !relevant {
            return false;
        }
        let tok = mime_token(value);
        let token = match tok {
            // A token reaching the end of the stored prefix may go on.
            Some((_, b)) if cut && b == value.len() => {
                self.give_up(di);
                return false;
            }
            Some((a, b)) => &value[a..b],
            None => {
                self.d[di].fold_risk = true;
                if cut {
                    self.give_up(di);
                }
                return false;
            }
        };
        let is_orig = di == 0;
        let d = &mut self.d[di];
        if is(b"content-length") {
            // `atoi_n` over the token; a token that is no number is 0.
            d.content_length = atoi_n(token, 10).map_or(0, |(n, _)| n);
        } else if is(b"content-range") && self.reply_code == 206 {
            // The range length would change `content_length`: not modelled.
            d.range = true;
        } else if is(b"transfer-encoding") {
            let v = if self.req_ongoing {
                self.req_version
            } else {
                self.reply_version
            };
            if token.eq_ignore_ascii_case(b"chunked") && v == (1 << 8 | 1) {
                d.chunked = true;
            }
        } else if is(b"content-encoding") {
            if token.eq_ignore_ascii_case(b"gzip")
                || token.eq_ignore_ascii_case(b"x-gzip")
                || token.eq_ignore_ascii_case(b"deflate")
            {
                d.gzip = true;
            }
        } else if is(b"content-type") {
            d.nested =
                token.eq_ignore_ascii_case(b"multipart") || token.eq_ignore_ascii_case(b"message");
        } else if is(b"connection") {
            // `HTTP_Analyzer::HTTP_Header`.
            if is_orig && token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
            if !is_orig && token.eq_ignore_ascii_case(b"close") {
                self.conn_close = true;
            } else if !is_orig && token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade_conn = true;
            }
        } else if is(b"upgrade") && !is_orig {
            self.upgrade_proto = true;
            self.upgrade_ws = token.eq_ignore_ascii_case(b"websocket");
        }
        false
    }

    /// The end of a message's headers (`HTTP_Entity::SubmitAllHeaders`).
    fn headers_done(&mut self, di: usize, pos: usize, ev: &mut Events) -> bool {
        let d = self.d[di];
        if d.phase == Phase::Trailer || d.expect == Expect::NotExpected {
            return self.end_message(di, pos, ev);
        }
        if d.nested {
            self.give_up(di);
        } else if d.chunked {
            self.d[di].phase = Phase::ChunkSize;
        } else if d.range {
            self.give_up(di);
        } else if d.content_length > 0 {
            self.d[di].phase = Phase::Body;
            self.d[di].left = d.content_length as u64;
        } else if d.content_length == 0 {
            return self.end_message(di, pos, ev);
        } else if self.conn_close || d.gzip || d.expect == Expect::Expected {
            self.d[di].phase = Phase::Raw;
        } else {
            return self.end_message(di, pos, ev);
        }
        false
    }

    /// A chunk-size line (`EXPECT_CHUNK_SIZE`): `atoi_n` in base 16, 0 when
    /// it fails; a size above 0 is followed by its data, else by trailer
    /// headers.
    fn chunk_size(&mut self, di: usize, l: &[u8], total: u32) {
        let parsed = atoi_n(l, 16);
        if total as usize > l.len() && parsed.is_some_and(|(_, end)| end == l.len()) {
            // The digits may go on past the stored prefix.
            self.give_up(di);
            return;
        }
        let n = parsed.map_or(0, |(n, _)| n);
        let d = &mut self.d[di];
        if n > 0 {
            d.phase = Phase::ChunkData;
            d.left = n as u64;
        } else {
            d.phase = Phase::Trailer;
        }
    }

    /// `HTTP_Message::Done` → `RequestMade` / `ReplyMade`: the direction
    /// expects a request (reply) line again. Returns true when a 101
    /// upgrade ends parsing (handing the stream to WebSocket at `pos`).
    fn end_message(&mut self, di: usize, pos: usize, ev: &mut Events) -> bool {
        self.d[di].phase = Phase::Line;
        if di == 0 {
            self.req_ongoing = false;
            return false;
        }
        let code = self.reply_code;
        // 1xx replies do not answer a request.
        if !(100..200).contains(&code) && self.pending > 0 {
            self.pending -= 1;
            self.heads >>= 1;
        }
        if code == 101 && self.pending == 1 && self.upgrade_conn && self.upgrade_proto {
            // `upgraded`: `HTTP_Upgrade`, `http_connection_upgrade`.
            if self.upgrade_ws {
                ev.hand_off(Service::Http, Service::Websocket, pos);
            }
            self.stop(di, Stop::Both);
            return true;
        }
        self.reply_code = 0;
        self.upgrade_conn = false;
        self.upgrade_proto = false;
        self.upgrade_ws = false;
        false
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

/// `HTTP_ReplyLine`: the reply code when valid ("HTTP/" is matched
/// case-sensitively, `PrefixMatch`).
fn reply_line(l: &[u8], total: u32) -> Option<u16> {
    if l.len() < 5 || &l[..5] != b"HTTP/" {
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

/// WebSocket (`src/analyzer/protocol/websocket/`, BinPAC by default:
/// `WebSocket::use_spicy_analyzer = F`): only ever a child of HTTP.
/// `websocket-protocol.pac` parses each direction as a sequence of
/// messages: a first frame, then (while no frame had FIN) continuation
/// frames, each with its whole payload. `process_message`
/// (`websocket-analyzer.pac`, a `&let` of `WebSocket_Message`) confirms
/// once a whole message has been parsed, so a message cut off by the end
/// of the connection confirms nothing. The frame header's `&enforce` is the
/// one check: a first frame with opcode 0 (continuation), or a
/// continuation frame with another opcode, throws, which
/// `WebSocket_Analyzer::DeliverStream` reports as a violation. Other
/// opcodes and the reserved bits (RSV1 of `permessage-deflate`) are not
/// checked.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WebSocket {
    d: [WsDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct WsDir {
    hdr: [u8; 14],
    hlen: u8,
    /// Payload bytes of the current frame still to come.
    skip: u64,
    /// A message's first frame had no FIN: the next frames continue it.
    in_msg: bool,
    /// The current frame has FIN: its payload ends the message.
    fin: bool,
}

impl WebSocket {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        let d = &mut self.d[c.dir()];
        let mut pos = 0;
        while pos < data.len() {
            if d.skip > 0 {
                let n = (d.skip.min((data.len() - pos) as u64)) as usize;
                pos += n;
                d.skip -= n as u64;
                if d.skip == 0 && d.fin {
                    // The message's last payload byte.
                    ev.push(Service::Websocket, What::Confirm);
                }
                continue;
            }
            d.hdr[d.hlen as usize] = data[pos];
            d.hlen += 1;
            pos += 1;
            let h = &d.hdr[..d.hlen as usize];
            if h.len() < 2 {
                continue;
            }
            // `first2: uint16 &enforce((first_frame && opcode != 0) ||
            // (!first_frame && opcode == 0))`.
            let opcode = h[0] & 0x0f;
            if (opcode == 0) != d.in_msg {
                ev.push(Service::Websocket, What::Violation);
                return Step::Done;
            }
            let masked = h[1] & 0x80 != 0;
            let len7 = h[1] & 0x7f;
            let ext = match len7 {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let need = 2 + ext + if masked { 4 } else { 0 };
            if h.len() < need {
                continue;
            }
            let len = match ext {
                0 => u64::from(len7),
                2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                _ => h[2..10].iter().fold(0u64, |a, &b| a << 8 | u64::from(b)),
            };
            d.fin = h[0] & 0x80 != 0;
            d.in_msg = !d.fin;
            d.hlen = 0;
            d.skip = len;
            if len == 0 && d.fin {
                ev.push(Service::Websocket, What::Confirm);
            }
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(is_orig: bool) -> Ctx {
        Ctx {
            is_orig,
            partial: false,
            resp_port: 80,
            transport: Transport::Tcp,
        }
    }

    /// Feeds `parts` (client ones `true`) one payload each; the events.
    fn feed(h: &mut Http, parts: &[(bool, &[u8])]) -> Vec<(Service, What)> {
        let mut all = Vec::new();
        for &(orig, p) in parts {
            let mut ev = Events::default();
            h.run(&ctx(orig), p, &mut ev);
            all.extend_from_slice(&ev.items[..ev.n]);
        }
        all
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    /// A Content-Length body is counted over any split of the payloads,
    /// the '\n' of a header "\r\n" cut between payloads is not a body
    /// byte, and the reply line after the body is read.
    #[test]
    fn content_length_body_is_counted_over_any_split() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nab\r\ncd\rHTTP/1.1 404 No\r\n";
        for cut in 1..reply.len() {
            let mut h = Http::default();
            feed(&mut h, &[(true, GET), (true, GET)]);
            let ev = feed(&mut h, &[(false, &reply[..cut]), (false, &reply[cut..])]);
            assert!(!ev.contains(&(Service::Http, What::Violation)), "cut {cut}");
            // The second reply's headers are being read.
            assert_eq!(h.d[1].phase, Phase::Headers, "cut {cut}");
            assert_eq!(h.reply_code, 404, "cut {cut}");
            assert_eq!(h.pending, 1, "cut {cut}");
        }
    }

    /// Chunk sizes in hex with extensions, data counted, the CRLF line
    /// after the data, the last chunk and the trailer; a chunked header
    /// with HTTP/1.0 is no chunked body (`http_version == {1, 1}`).
    #[test]
    fn chunked_body_and_version_rule() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            1A;x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n";
        for cut in 1..reply.len() {
            let mut h = Http::default();
            feed(&mut h, &[(true, GET)]);
            feed(&mut h, &[(false, &reply[..cut]), (false, &reply[cut..])]);
            assert_eq!(h.d[1].phase, Phase::Line, "cut {cut}");
            assert_eq!(h.pending, 0, "cut {cut}");
        }
        let mut h = Http::default();
        feed(&mut h, &[(true, b"GET / HTTP/1.0\r\n\r\n")]);
        feed(
            &mut h,
            &[(
                false,
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
            )],
        );
        // No length, not chunked: the body runs to the end.
        assert_eq!(h.d[1].phase, Phase::Raw);
    }

    /// A bad chunk size is 0 (the last chunk); a negative Content-Length
    /// is no length; a size cut by the stored prefix stops parsing.
    #[test]
    fn odd_lengths() {
        assert_eq!(atoi_n(b"1f;x", 16), Some((31, 2)));
        assert_eq!(atoi_n(b"-5", 10), Some((-5, 2)));
        assert_eq!(atoi_n(b"x1", 16), None);
        assert_eq!(atoi_n(b"-", 10), Some((0, 1)));
        let mut h = Http::default();
        feed(&mut h, &[(true, GET)]);
        feed(
            &mut h,
            &[(
                false,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
            )],
        );
        assert_eq!(h.d[1].phase, Phase::Line);
        let mut h = Http::default();
        feed(
            &mut h,
            &[(true, b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n")],
        );
        assert_eq!(h.d[0].phase, Phase::Line);
        let mut h = Http::default();
        feed(&mut h, &[(true, GET)]);
        let long = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".as_slice(),
            &[b'1'; 60],
            b"\r\n",
        ]
        .concat();
        feed(&mut h, &[(false, &long)]);
        assert_eq!(h.d[1].phase, Phase::Stop);
    }

    /// The request version is read after the URI; a URI holding "HTTP/"
    /// does not count, a missing URI does.
    #[test]
    fn request_version_scan() {
        let version = |l: &[u8]| {
            let mut s = ReqScan::default();
            s.feed(l);
            match s.result() {
                ReqVersion::None => "none".to_string(),
                ReqVersion::Short => "short".to_string(),
                ReqVersion::Version(v) => format!("{}.{}", v >> 8, v & 0xff),
            }
        };
        assert_eq!(version(b"GET / HTTP/1.1"), "1.1");
        assert_eq!(version(b"GET /HTTP/2.0 HTTP/1.0"), "1.0");
        assert_eq!(version(b"GET HTTP/1.1"), "1.1");
        assert_eq!(version(b"GET /"), "none");
        assert_eq!(version(b"GET / HTTP/1"), "short");
        assert_eq!(version(b"GET / http/1.1"), "none");
        assert_eq!(version(b"GET / HTTP/x.y"), "0.0");
    }

    /// Pipelined requests: a reply to HEAD has no body, the queue pops per
    /// final reply, a 1xx pops nothing.
    #[test]
    fn head_and_interim_replies() {
        let mut h = Http::default();
        feed(
            &mut h,
            &[(true, b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")],
        );
        assert_eq!((h.pending, h.heads), (2, 1));
        feed(
            &mut h,
            &[(
                false,
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
            )],
        );
        assert_eq!((h.pending, h.heads, h.d[1].phase), (1, 0, Phase::Line));
        feed(
            &mut h,
            &[(false, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")],
        );
        assert_eq!((h.pending, h.d[1].phase, h.d[1].left), (1, Phase::Body, 3));
    }

    /// A 101 upgrades only with `Connection: upgrade` and an `Upgrade`
    /// token; otherwise the reply side reads lines again.
    #[test]
    fn upgrade_needs_connection_upgrade() {
        let mut h = Http::default();
        feed(&mut h, &[(true, GET)]);
        let mut ev = Events::default();
        let r = h.run(
            &ctx(false),
            b"HTTP/1.1 101 S\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
            &mut ev,
        );
        assert_eq!(r, Step::Done);
        assert!(ev.handoff.is_none());
        let mut h = Http::default();
        feed(&mut h, &[(true, GET)]);
        let r = h.run(
            &ctx(false),
            b"HTTP/1.1 101 S\r\nUpgrade: h2c\r\n\r\n",
            &mut Events::default(),
        );
        assert_eq!((r, h.d[1].phase, h.pending), (Step::More, Phase::Line, 1));
    }

    /// No input panics, whatever the bytes and the split.
    #[test]
    fn arbitrary_bytes_do_not_panic() {
        const ALPHA: &[u8] = b"HTTP/1.1 0123456789abcdef:\r\n -;chunkedContent-Length";
        let mut x: u32 = 1;
        for _ in 0..2000 {
            let mut h = Http::default();
            let mut buf = [0u8; 64];
            for round in 0..8 {
                for b in buf.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *b = ALPHA[x as usize % ALPHA.len()];
                }
                let mut ev = Events::default();
                h.run(&ctx(round % 2 == 0), &buf[..(x as usize % 64)], &mut ev);
            }
        }
    }
}
