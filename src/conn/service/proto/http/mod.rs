//! HTTP: request/reply line checks (confirmation, violations) on every
//! message of the connection, the message framing that finds the next
//! request/reply line (headers, Content-Length, chunked bodies), and the
//! CONNECT / Upgrade handoffs; the WebSocket child analyzer.

use super::{digits3, skip_ws, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Service, Transport};

mod grammar;
mod websocket;

use grammar::*;
pub(super) use websocket::WebSocket;

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

#[cfg(test)]
mod tests;
