//! Zeek semantics beyond the public corpus, found by re-reading Zeek's
//! source (issue 15, recorded in `docs/ZEEK_GENERATORS.md`, "Analyzer
//! confirmation audit"), each on a capture this test builds
//! (`zeek_rules/pcap.rs`) and run through the `connscope` binary. The
//! expected values are written from Zeek's source as of `a13de64`, cited at
//! each test:
//!
//! 1. HTTP: every reply line is judged, not only the first: after a
//!    message (`HTTP_Message::Done` → `ReplyMade`) the responder expects a
//!    reply line again, found past the headers and a `Content-Length` or
//!    chunked body, right after the headers of a reply to HEAD, of a 1xx,
//!    204 or 304 reply (`ExpectReplyMessageBody`), never after a reply
//!    without length (its body runs to the end); a bad later one is "not a
//!    http reply line" (`src/analyzer/protocol/http/HTTP.cc`,
//!    `HTTP_Analyzer::DeliverStream`, `HTTP_Entity::SubmitAllHeaders`,
//!    `HTTP_Entity::Deliver`);
//! 2. HTTP: every request line is judged: after a request's headers (and
//!    its `Content-Length` body; a request without length has none) the
//!    originator expects a request line again, and a bad one is "not a
//!    http request line" while `RequestExpected()` (keep-alive from a
//!    version above 1.0 or `Connection: keep-alive`), else only
//!    `crud_trailing_HTTP_request`;
//! 3. HTTP: a `101` reply upgrades only with the server's `Connection:
//!    upgrade` and an `Upgrade` token while one request is unanswered
//!    (`ReplyMade`), also on a later reply of a keep-alive connection;
//!    otherwise parsing goes on;
//! 4. DNS: an SOA answer fails `ParseAnswers` (so no
//!    `AnalyzerConfirmation`) when fewer than 20 bytes of the message are
//!    left after its two names (`ParseRR_SOA`, `src/analyzer/protocol/dns/
//!    DNS.cc`), over UDP and over TCP with the message split over
//!    segments.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::by_port;
use run::conn as run;
use serde_json::Value;

/// One capture with a closed conversation to port 80 per case (client
/// ports as given), run through connscope.
fn http_conversations(name: &str, cases: &[(u16, Talk<'_>)]) -> Vec<Value> {
    let mut cap = Cap::default();
    conversations(&mut cap, 80, cases);
    run(name, &cap, &[])
}

/// The `service` of the connection from `port` (`None` when unset).
fn service(conn: &[Value], port: u16) -> Option<&str> {
    by_port(conn, port).get("service").and_then(Value::as_str)
}

/// Every connection of these tests is a clean closed one whatever its
/// service: `SF`, `ShADadFf` (`ShADaFf` when the server sent no data; a
/// violation adds nothing to the history).
fn assert_closed(conn: &[Value], port: u16, history: &str) {
    let r = by_port(conn, port);
    assert_eq!(r["conn_state"], "SF", "{r:#?}");
    assert_eq!(r["history"], history, "{r:#?}");
}

const FULL: &str = "ShADadFf";

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n";
const GET2: &[u8] = b"GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n";
const HEAD: &[u8] = b"HEAD /a HTTP/1.1\r\nHost: example.com\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const BAD_REPLY: &[u8] = b"XTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// `HTTP_Analyzer::DeliverStream`, `EXPECT_REPLY_LINE`: `if (
/// HTTP_ReplyLine(line, end_of_line) ) { .. reply_state =
/// EXPECT_REPLY_MESSAGE; .. } else if ( line != end_of_line ) {
/// AnalyzerViolation("not a http reply line"); .. }`, and `ReplyMade`
/// (from `HTTP_Message::Done` at the end of each message) sets
/// `reply_state = EXPECT_REPLY_LINE` again. Where a message ends:
/// `HTTP_Entity::SubmitAllHeaders` ends it at once when
/// `ExpectReplyMessageBody()` says `HTTP_BODY_NOT_EXPECTED` (the front of
/// `unanswered_requests` is HEAD, or the code is 1xx, 204 or 304), goes to
/// `EXPECT_CHUNK_SIZE` for `Transfer-Encoding: chunked` (with version 1.1),
/// to a plain delivery of `content_length` bytes, or, for a reply without
/// length, reads the rest of the connection as the body. A 1xx reply pops
/// no request (`ReplyMade`). So a bad status line after any of these is a
/// violation within the first 10 KiB (`DPD::ignore_violations_after`), and
/// the service goes, while body bytes that look like a bad status line
/// are never judged.
#[test]
fn http_later_reply_lines_are_judged() {
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        a\r\nnot http\r\n\r\n3;ext=1\r\nxyz\r\n0\r\nTrailer: x\r\n\r\n";
    let long = b"HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n<html>\r\nnot http\r\n</html>";
    let head_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
    let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
    let no_length = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome text\r\n";
    let cases: Vec<(u16, Talk<'_>)> = vec![
        // A good second reply: still http.
        (
            41000,
            vec![(true, GET), (false, OK), (true, GET2), (false, OK)],
        ),
        // A bad second reply line: the violation removes http.
        (
            41001,
            vec![(true, GET), (false, OK), (true, GET2), (false, BAD_REPLY)],
        ),
        // A Content-Length body whose lines would be bad status lines is
        // counted, not read; the body split over two segments.
        (
            41002,
            vec![
                (true, GET),
                (false, &long[..45]),
                (false, &long[45..]),
                (true, GET2),
                (false, OK),
            ],
        ),
        // The same counted body, then a bad status line.
        (
            41003,
            vec![(true, GET), (false, long), (true, GET2), (false, BAD_REPLY)],
        ),
        // Chunks, a chunk extension and a trailer, then a good reply.
        (
            41004,
            vec![(true, GET), (false, chunked), (true, GET2), (false, OK)],
        ),
        // The same chunked body, then a bad status line.
        (
            41005,
            vec![
                (true, GET),
                (false, chunked),
                (true, GET2),
                (false, BAD_REPLY),
            ],
        ),
        // A reply to HEAD has no body whatever its Content-Length: the next
        // status line follows its headers.
        (
            41006,
            vec![(true, HEAD), (false, head_reply), (true, GET2), (false, OK)],
        ),
        (
            41007,
            vec![
                (true, HEAD),
                (false, head_reply),
                (true, GET2),
                (false, BAD_REPLY),
            ],
        ),
        // A 100 Continue, then the final reply; a bad one after the 100.
        (41008, vec![(true, GET), (false, cont), (false, OK)]),
        (41009, vec![(true, GET), (false, cont), (false, BAD_REPLY)]),
        // A 204 has no body either.
        (
            41010,
            vec![
                (true, GET),
                (false, no_content),
                (true, GET2),
                (false, BAD_REPLY),
            ],
        ),
        // A reply without length: its body runs to the end, nothing after
        // it is a status line.
        (
            41011,
            vec![
                (true, GET),
                (false, no_length),
                (true, GET2),
                (false, BAD_REPLY),
            ],
        ),
    ];
    let conn = http_conversations("http-later-replies", &cases);
    let want = [
        (41000, Some("http")),
        (41001, None),
        (41002, Some("http")),
        (41003, None),
        (41004, Some("http")),
        (41005, None),
        (41006, Some("http")),
        (41007, None),
        (41008, Some("http")),
        (41009, None),
        (41010, None),
        (41011, Some("http")),
    ];
    for (port, svc) in want {
        assert_eq!(service(&conn, port), svc, "port {port}");
        assert_closed(&conn, port, FULL);
    }
}

/// `HTTP_Analyzer::DeliverStream`, `EXPECT_REQUEST_LINE`: a line
/// `HTTP_RequestLine` rejects is `AnalyzerViolation("not a http request
/// line")` only `if ( RequestExpected() )` (`num_requests == 0 ||
/// keep_alive`, `HTTP.h`), else `HTTP_Event("crud_trailing_HTTP_request",
/// ..)`. `keep_alive` is set by `SetVersion` for a version above 1.0 and by
/// the client's `Connection: keep-alive` (`HTTP_Header`). The request
/// message (`HTTP_BODY_MAYBE`) ends after its headers without a length
/// (`SubmitAllHeaders`: `expect_body != HTTP_BODY_EXPECTED` → `EndOfData`)
/// or after `Content-Length` bytes, and `RequestMade` goes back to
/// `EXPECT_REQUEST_LINE`.
#[test]
fn http_later_request_lines_are_judged() {
    let bad = b"<html>\r\n";
    let get10 = b"GET /a HTTP/1.0\r\nHost: example.com\r\n\r\n";
    let get10_ka = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let ok10 = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let post = b"POST /f HTTP/1.1\r\nContent-Length: 8\r\n\r\n<html>\r\n";
    let pipelined = [GET, bad].concat();
    let cases: Vec<(u16, Talk<'_>)> = vec![
        // HTTP/1.1: a bad second request line is a violation.
        (42000, vec![(true, GET), (false, OK), (true, bad)]),
        // HTTP/1.0 without keep-alive: only crud, http stays.
        (42001, vec![(true, get10), (false, ok10), (true, bad)]),
        // HTTP/1.0 with Connection: keep-alive: a violation.
        (42002, vec![(true, get10_ka), (false, ok10), (true, bad)]),
        // A POST body that looks like a bad line is counted, not judged.
        (
            42003,
            vec![(true, post), (false, OK), (true, GET2), (false, OK)],
        ),
        // After that body the next line is judged again.
        (42004, vec![(true, post), (false, OK), (true, bad)]),
        // Two pipelined requests in one segment, the second bad.
        (42005, vec![(true, &pipelined)]),
    ];
    let conn = http_conversations("http-later-requests", &cases);
    let want = [
        (42000, None),
        (42001, Some("http")),
        (42002, None),
        (42003, Some("http")),
        (42004, None),
        (42005, None),
    ];
    for (port, svc) in want {
        let history = if port == 42005 { "ShADaFf" } else { FULL };
        assert_eq!(service(&conn, port), svc, "port {port}");
        assert_closed(&conn, port, history);
    }
}

/// `HTTP_Analyzer::ReplyMade`: `if ( reply_code == 101 &&
/// unanswered_requests.size() == 1 && upgrade_connection &&
/// upgrade_protocol.size() ) { upgraded = true; .. }`, where
/// `upgrade_connection` comes from the server's `Connection: upgrade`
/// token and `upgrade_protocol` from its `Upgrade` token (`HTTP_Header`);
/// after that `DeliverStream` returns early (`if ( upgraded ) return;`) and
/// `http_connection_upgrade` hands the stream to WebSocket
/// (`HTTP::upgrade_analyzers`). A 101 without `Connection: upgrade` does
/// not upgrade: the responder expects a reply line again, and a bad one is
/// a violation. The upgrade works on a later reply of a keep-alive
/// connection too.
#[test]
fn http_upgrade_on_a_later_reply() {
    let up = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\n\r\n";
    let switching = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\n\r\n";
    let switching_no_conn = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    // A masked text frame "hi" from the client, an unmasked one back.
    let frame_c: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    let frame_s: &[u8] = &[0x81, 0x02, b'h', b'i'];
    let cases: Vec<(u16, Talk<'_>)> = vec![
        (
            43000,
            vec![
                (true, GET),
                (false, OK),
                (true, up),
                (false, switching),
                (true, frame_c),
                (false, frame_s),
            ],
        ),
        // No `Connection: upgrade`: no upgrade, and the frame the server
        // sends next is a bad reply line.
        (
            43001,
            vec![
                (true, up),
                (false, switching_no_conn),
                (false, b"\x81\x02hi\r\n"),
            ],
        ),
    ];
    let conn = http_conversations("http-later-upgrade", &cases);
    assert_eq!(service(&conn, 43000), Some("http,websocket"));
    assert_eq!(service(&conn, 43001), None);
    assert_closed(&conn, 43000, FULL);
    assert_closed(&conn, 43001, FULL);
}

/// A DNS response (QR, no questions) with one answer: owner the root name,
/// type SOA, class IN, TTL 60, `rdata` with its length.
fn soa_response(rdata: &[u8]) -> Vec<u8> {
    let mut m = vec![0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
    m.extend([0, 0, 6, 0, 1, 0, 0, 0, 60]);
    m.extend((rdata.len() as u16).to_be_bytes());
    m.extend(rdata);
    m
}

/// `DNS_Interpreter::ParseAnswer` dispatches type SOA to `ParseRR_SOA`,
/// which reads the mname and rname with `ExtractName(data, len, ..)` over
/// the rest of the message, then `if ( len < 20 ) return false;` before
/// the five 32-bit fields; `ParseAnswers` then fails and `ParseMessage`
/// returns before `AnalyzerConfirmation()`. So an SOA whose rdata holds
/// two root names and 10 bytes, last in its message, confirms nothing,
/// where a whole SOA does. The client's query (a name without type and
/// class, `DNS_truncated_quest_too_short`) confirms nothing either, so the
/// response decides. Over TCP the response arrives split over two
/// segments (`Contents_DNS` reassembles it first).
#[test]
fn dns_soa_needs_twenty_bytes_after_its_names() {
    let mut query = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend([1, b'a', 0]);
    let mut good = b"\x02ns\x07example\x00\x05admin\x07example\x00".to_vec();
    good.extend([
        0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 7, 8, 0, 9, 58, 128, 0, 0, 1, 44,
    ]);
    let short = [0u8, 0, 0, 0, 0, 1, 0, 0, 14, 16, 0, 0];
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    for (i, rdata) in [&good[..], &short[..]].into_iter().enumerate() {
        let resp = soa_response(rdata);
        let port = 44000 + i as u16;
        let t = i as u64 * 1000;
        cap.at(
            t,
            frame(Link::Eth, &udp(c, s, port, 53, &query, UdpSum::Good)),
        );
        cap.at(
            t + 1,
            frame(Link::Eth, &udp(s, c, 53, port, &resp, UdpSum::Good)),
        );
        let framed = |m: &[u8]| cat(&[&(m.len() as u16).to_be_bytes(), m]);
        let (q, r) = (framed(&query), framed(&resp));
        let mut tc = conversation(&mut cap, 44100 + i as u16, 53);
        tc.handshake(t + 100);
        let next = tc.talk(t + 110, &[(true, &q), (false, &r[..20]), (false, &r[20..])]);
        tc.close(next);
    }
    let conn = run("dns-soa", &cap, &[]);
    for (port, svc, history) in [
        (44000, Some("dns"), "Dd"),
        (44001, None, "Dd"),
        (44100, Some("dns"), FULL),
        (44101, None, FULL),
    ] {
        let r = by_port(&conn, port);
        assert_eq!(service(&conn, port), svc, "port {port}");
        assert_eq!(r["conn_state"], "SF", "{r:#?}");
        assert_eq!(r["history"], history, "{r:#?}");
    }
}
