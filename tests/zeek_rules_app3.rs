//! Zeek's application-level rules found with the traffic generators of
//! Zeek's own test suite (`testing/btest/Traces/*.py`), each on a capture
//! this test builds (`zeek_rules/pcap.rs`) and run through the `connscope`
//! binary. The expected values are written from Zeek's source, cited at
//! each test:
//!
//! 1. every IRC `DCC SEND` line and every FTP `PORT` command schedules its
//!    own data channel, also when several share one TCP segment;
//! 2. WebSocket confirms on a whole message (all its frames, payload
//!    included), not on a frame header, and checks only the continuation
//!    opcode;
//! 3. after a content gap SMTP reads no command until the server's next
//!    reply, and that reply confirms.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::conn as run;
use serde_json::Value;

/// A TCP conversation from `client` to `server`.
fn conversation<'a>(cap: &'a mut Cap, client: (&str, u16), server: (&str, u16)) -> Tcp<'a> {
    Tcp {
        cap,
        link: Link::Eth,
        c: Side {
            addr: a(client.0),
            port: client.1,
            seq: 1000,
        },
        s: Side {
            addr: a(server.0),
            port: server.1,
            seq: 5000,
        },
    }
}

/// The record of the connection to `resp_h:resp_p`.
fn to<'a>(conn: &'a [Value], resp_h: &str, resp_p: u16) -> &'a Value {
    conn.iter()
        .find(|r| r["id.resp_h"] == resp_h && r["id.resp_p"] == resp_p)
        .unwrap_or_else(|| panic!("no connection to {resp_h}:{resp_p}: {conn:#?}"))
}

/// A data connection from `client` to `server` with a few bytes each way,
/// starting at `t_ms`.
fn data_conn(cap: &mut Cap, t_ms: u64, client: (&str, u16), server: (&str, u16)) {
    let mut t = conversation(cap, client, server);
    t.handshake(t_ms);
    let t_ms = t.talk(t_ms + 10, &[(false, b"0123456789"), (true, b"\0\0\0\x0a")]);
    t.close(t_ms);
}

/// `IRC_Analyzer::DeliverStream` (`src/analyzer/protocol/irc/IRC.cc`) parses
/// every line of a segment and raises `irc_dcc_message` for each `DCC SEND`;
/// `scripts/base/protocols/irc/dcc-send.zeek`'s handler calls
/// `Analyzer::schedule_analyzer(0.0.0.0, address, p, ANALYZER_IRC_DATA, 5
/// min)` for each, and `scheduled_analyzer_applied` adds `irc-dcc-data` to
/// the data connection. Zeek's `irc-dcc-state-growth.pcapng.py` sends 30
/// such lines in 1200-byte segments: the data connection of the first line
/// of a segment is as expected as that of the last (connscope kept only a
/// segment's last expectation). The same holds for FTP: `ftp/main.zeek`'s
/// `ftp_request` calls `add_expected_data_channel` for every `PORT`.
#[test]
fn every_data_channel_of_one_segment_is_expected() {
    let mut cap = Cap::default();
    let mut irc = conversation(&mut cap, ("192.0.2.10", 41000), ("192.0.2.20", 6667));
    irc.handshake(0);
    // 192.0.2.30 = 3221226014, 192.0.2.31 = 3221226015.
    let lines = b"NICK loadbot\r\nUSER loadbot 0 * :load bot\r\n\
PRIVMSG victim :\x01DCC SEND f0.bin 3221226014 20000 1\x01\r\n\
PRIVMSG victim :\x01DCC SEND f1.bin 3221226014 20001 1\x01\r\n\
PRIVMSG victim :\x01DCC SEND f2.bin 3221226015 21000 1\x01\r\n";
    let t_ms = irc.talk(10, &[(true, lines)]);
    irc.close(t_ms);
    data_conn(&mut cap, 1000, ("192.0.2.99", 50000), ("192.0.2.30", 20000));
    data_conn(&mut cap, 2000, ("192.0.2.99", 50001), ("192.0.2.30", 20001));
    data_conn(&mut cap, 3000, ("192.0.2.98", 50002), ("192.0.2.31", 21000));
    // A port no line named.
    data_conn(&mut cap, 4000, ("192.0.2.99", 50003), ("192.0.2.31", 21001));
    let conn = run("irc-dcc", &cap, &[]);
    assert_eq!(conn.len(), 5, "{conn:#?}");
    assert_eq!(to(&conn, "192.0.2.20", 6667)["service"], "irc");
    for (h, p) in [
        ("192.0.2.30", 20000),
        ("192.0.2.30", 20001),
        ("192.0.2.31", 21000),
    ] {
        assert_eq!(to(&conn, h, p)["service"], "irc-dcc-data", "{h}:{p}");
    }
    assert!(to(&conn, "192.0.2.31", 21001).get("service").is_none());

    // FTP: two active-mode PORT commands pipelined in one segment.
    let mut cap = Cap::default();
    let mut ftp = conversation(&mut cap, ("10.0.0.1", 40000), ("10.0.0.2", 21));
    ftp.handshake(0);
    let t_ms = ftp.talk(
        10,
        &[
            (false, b"220 ready\r\n"),
            (true, b"USER anonymous\r\n"),
            (false, b"331 send password\r\n"),
            (true, b"PASS x\r\n"),
            (false, b"230 ok\r\n"),
            (true, b"PORT 10,0,0,1,156,65\r\nPORT 10,0,0,1,156,66\r\n"),
            (false, b"200 ok\r\n200 ok\r\n"),
        ],
    );
    ftp.close(t_ms);
    data_conn(&mut cap, 1000, ("10.0.0.2", 20), ("10.0.0.1", 40001));
    data_conn(&mut cap, 2000, ("10.0.0.2", 20), ("10.0.0.1", 40002));
    let conn = run("ftp-port", &cap, &[]);
    assert_eq!(to(&conn, "10.0.0.2", 21)["service"], "ftp");
    for p in [40001, 40002] {
        assert_eq!(to(&conn, "10.0.0.1", p)["service"], "ftp-data", "{p}");
    }
}

/// A WebSocket frame (`fin`, `opcode`, payload); client frames are masked
/// with key 1, 2, 3, 4.
fn ws_frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![u8::from(fin) << 7 | opcode];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => f.push(m | n as u8),
        n => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        let key = [1u8, 2, 3, 4];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// An HTTP upgrade to WebSocket on 8765/tcp (HTTP by its signatures, as
/// with Zeek's `ws_traffic_generator.py`, which negotiates
/// `permessage-deflate`), then the client's `frames`, then the close.
/// Returns the connection's `service`.
fn websocket(name: &str, frames: &[&[u8]]) -> String {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, ("127.0.0.1", 45678), ("127.0.0.1", 8765));
    t.handshake(0);
    let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    let mut t_ms = t.talk(10, &[(true, req), (false, resp)]);
    for f in frames {
        t_ms = t.talk(t_ms, &[(true, f)]);
    }
    t.close(t_ms);
    let conn = run(name, &cap, &[]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    conn[0]["service"].as_str().unwrap_or("-").to_string()
}

/// `websocket-protocol.pac` parses a direction as `WebSocket_Message`s: a
/// first frame, then continuation frames `&until($element.hdr.fin)`, each
/// frame with its whole payload (`chunks ... &until(remaining == 0)`), and
/// `websocket-analyzer.pac` confirms in `process_message`, a `&let` of the
/// whole message. So a first fragment without its continuation, or a frame
/// whose payload never arrives, confirms nothing: the connection keeps
/// `http` only. The header's one check is `first2`'s `&enforce`: a first
/// frame with opcode 0, or a continuation frame with another opcode, throws
/// and `WebSocket_Analyzer::DeliverStream` reports a violation; a reserved
/// opcode (3) or RSV1 (`permessage-deflate`'s compressed bit) is parsed
/// like any other frame (`WebSocket::use_spicy_analyzer = F`, so BinPAC).
#[test]
fn websocket_confirms_on_a_whole_message() {
    let text = b"Hello_Zeek_Analyzer_".repeat(5);
    // A compressed (RSV1) text message in one frame, as the generator sends.
    let mut deflated = ws_frame(true, 1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], true);
    deflated[0] |= 0x40;
    assert_eq!(websocket("ws-deflate", &[&deflated]), "http,websocket");
    // Two fragments make one message.
    let first = ws_frame(false, 1, &text, true);
    let last = ws_frame(true, 0, &text, true);
    assert_eq!(
        websocket("ws-fragments", &[&first, &last]),
        "http,websocket"
    );
    // The first fragment alone is no whole message.
    assert_eq!(websocket("ws-first-fragment", &[&first]), "http");
    // A frame announcing 100 payload bytes, 10 of them sent.
    let mut cut = ws_frame(true, 2, &[0; 100], true);
    cut.truncate(cut.len() - 90);
    assert_eq!(websocket("ws-cut", &[&cut]), "http");
    // A reserved opcode is no violation.
    assert_eq!(
        websocket("ws-opcode3", &[&ws_frame(true, 3, b"x", true)]),
        "http,websocket"
    );
    // A continuation frame first, or a text frame inside a fragmented
    // message, is a violation (never confirmed).
    assert_eq!(
        websocket("ws-continuation-first", &[&ws_frame(true, 0, b"x", true)]),
        "http"
    );
    let inner = ws_frame(true, 1, &text, true);
    assert_eq!(websocket("ws-text-inside", &[&first, &inner]), "http");
}

/// An SMTP session on 25/tcp: the banner, then the client's `EHLO` is lost
/// (acknowledged by the server, never captured), then `after` (each
/// message acknowledged by the peer), then the close.
fn smtp_after_gap(name: &str, after: &[(bool, &[u8])]) -> Value {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, ("10.0.0.1", 40000), ("10.0.0.2", 25));
    t.handshake(0);
    let t_ms = t.talk(10, &[(false, b"220 mail.example ESMTP\r\n")]);
    t.send(t_ms, true, ACK | PSH, b"EHLO client.example\r\n");
    t.cap.frames.pop();
    // The server's ACK of it reveals the gap.
    t.send(t_ms + 1, false, ACK, b"");
    let t_ms = t.talk(t_ms + 10, after);
    t.close(t_ms);
    let conn = run(name, &cap, &[]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    conn[0].clone()
}

/// `SMTP_Analyzer::Undelivered` (`src/analyzer/protocol/smtp/SMTP.cc`)
/// sets `state = SMTP_AFTER_GAP` on a content gap in either direction. In
/// that state `ProcessLine` keeps a client line aside (`line_after_gap`)
/// instead of parsing a command, so no `RequestEvent` confirms; the next
/// server reply that is not a continuation of a pending multi-line reply
/// goes through `NewReply`, which in `SMTP_AFTER_GAP` switches to
/// `SMTP_GAP_RECOVERY` and calls `RequestEvent("(UNKNOWN)")`, whose
/// `AnalyzerConfirmation()` confirms. So a session whose first command was
/// lost is `smtp` once the server answers it, and a command right after the
/// gap, before any reply, confirms nothing.
#[test]
fn smtp_confirms_on_the_reply_after_a_gap() {
    // The lost EHLO's reply confirms, though no command was ever read.
    let r = smtp_after_gap("smtp-gap-reply", &[(false, b"250 mail.example\r\n")]);
    assert_eq!(r["service"], "smtp", "{r:#?}");
    assert_eq!(r["missed_bytes"], 21, "{r:#?}");
    // A command after the gap but before any reply is not read as one.
    let r = smtp_after_gap("smtp-gap-cmd", &[(true, b"MAIL FROM:<a@example.org>\r\n")]);
    assert!(r.get("service").is_none(), "{r:#?}");
    // Then the server's reply confirms.
    let r = smtp_after_gap(
        "smtp-gap-cmd-reply",
        &[
            (true, b"MAIL FROM:<a@example.org>\r\n"),
            (false, b"250 OK\r\n"),
        ],
    );
    assert_eq!(r["service"], "smtp", "{r:#?}");
}
