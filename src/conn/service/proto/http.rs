//! HTTP: request/reply line checks (confirmation, violations) and the
//! CONNECT / Upgrade handoffs; the WebSocket child analyzer.

use super::{digits3, skip_ws, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Service, Transport};

/// HTTP (`src/analyzer/protocol/http/HTTP.cc`): attached on 80, 81, 631,
/// 1080, 3128, 8000, 8080, 8888/tcp or by `dpd_http_client` /
/// `dpd_http_server`. Confirms on a valid request line (`HTTP_Request`);
/// "not a http request line" / "not a http reply line" violations on an
/// unparsable first line. Partial connections are never parsed. After a
/// `CONNECT` answered by 200, every later payload goes to a fresh PIA
/// (signatures find the tunnelled protocol: usually SSL); after a
/// `101 Switching Protocols` reply whose `Upgrade` header names
/// `websocket` (`HTTP::upgrade_analyzers`, filled by
/// `base/protocols/websocket`) it goes to the WebSocket analyzer.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Http {
    d: [HttpDir; 2],
    connect: bool,
    http09: bool,
    /// Reading the headers of a 200 reply to CONNECT.
    connect_ok: bool,
    /// Reading the headers of a 101 reply.
    switching: bool,
    /// The 101 reply's `Upgrade` header names websocket.
    upgrade_ws: bool,
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
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self, d: usize) {
        self.d[d].gap = true;
    }

    fn reading_headers(&self) -> bool {
        self.connect_ok || self.switching
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let d = &mut self.d[di];
            let headers = self.connect_ok || self.switching;
            if d.gap || (d.first_done && (c.is_orig || !headers)) {
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
                    // End of the 200 reply's headers: a new PIA gets every
                    // later payload (`HTTP_Analyzer::DeliverStream`: "set up
                    // tunnel decapsulation", `ForwardStream`).
                    self.connect_ok = false;
                    ev.inner_dpd = Some(Service::Http);
                    return Step::Done;
                }
            } else if self.switching {
                if total == 0 {
                    // End of the 101 reply's headers (`HTTP_Upgrade`).
                    self.switching = false;
                    if self.upgrade_ws {
                        ev.hand_off(Service::Http, Service::Websocket, pos);
                    }
                    return Step::Done;
                }
                let (name, value) = match l.iter().position(|&b| b == b':') {
                    Some(i) => (&l[..i], skip_ws(&l[i + 1..])),
                    None => (l, &l[l.len()..]),
                };
                if name.eq_ignore_ascii_case(b"upgrade") {
                    self.upgrade_ws = value.eq_ignore_ascii_case(b"websocket");
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
                            } else if code == 101 {
                                self.switching = true;
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
        if self.d[0].first_done && self.d[1].first_done && !self.reading_headers() {
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
