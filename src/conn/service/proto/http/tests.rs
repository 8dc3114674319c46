//! Unit tests of the HTTP and WebSocket analyzers.

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
