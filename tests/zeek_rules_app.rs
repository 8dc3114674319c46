//! Zeek's application-analyzer rules as conn.log shows them (`service`,
//! `conn_state`, `history`), each on a capture this test builds
//! (`zeek_rules/pcap.rs`) and run through the `connscope` binary. The
//! expected values are written from Zeek's source, cited at each test:
//!
//! 1. loading the WebSocket package loads HTTP (`@load base/protocols/http`);
//! 2. a KRB-ERROR has no fixed first element (`KRB_ERROR_MSG`);
//! 3. a fragmented DTLS ClientHello confirms only once reassembled
//!    (`dtls-analyzer.pac`), and record sequence numbers more than 31 apart
//!    are never reassembled;
//! 4. rules connscope already followed, kept: Finger lines of any length,
//!    LDAP requests that get no answer, an SNMP request alone, a DCE-RPC
//!    bind and its ack.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::conn as run;
use serde_json::Value;

/// The one record of a run, with its service (`None` for `-`).
fn one(conn: &[Value]) -> (&Value, Option<&str>) {
    assert_eq!(conn.len(), 1, "{conn:#?}");
    let r = &conn[0];
    (r, r.get("service").and_then(Value::as_str))
}

/// A TCP conversation from 10.0.0.1:40000 to 10.0.0.2:`port`.
fn conversation(cap: &mut Cap, port: u16) -> Tcp<'_> {
    Tcp {
        cap,
        link: Link::Eth,
        c: Side {
            addr: a("10.0.0.1"),
            port: 40000,
            seq: 1000,
        },
        s: Side {
            addr: a("10.0.0.2"),
            port,
            seq: 8000,
        },
    }
}

/// One UDP datagram from 10.0.0.1:40000 to 10.0.0.2:`port` at `t_ms`
/// (`reply`: the other way).
fn datagram(cap: &mut Cap, t_ms: u64, port: u16, reply: bool, payload: &[u8]) {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let pkt = if reply {
        udp(s, c, port, 40000, payload, UdpSum::Good)
    } else {
        udp(c, s, 40000, port, payload, UdpSum::Good)
    };
    cap.at(t_ms, frame(Link::Eth, &pkt));
}

/// An HTTP upgrade to WebSocket answered `101`, then a server close frame
/// of 258 payload bytes (more than the 125 RFC 6455 allows a control frame).
fn websocket_capture() -> Cap {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 80);
    t.handshake(0);
    let req = b"GET /chat HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let mut close = vec![0x88, 0x7f];
    close.extend_from_slice(&258u64.to_be_bytes());
    close.extend_from_slice(&1000u16.to_be_bytes());
    close.extend_from_slice(&[b'C'; 256]);
    let next = t.talk(10, &[(true, req), (false, resp), (false, &close)]);
    t.close(next);
    cap
}

/// `scripts/base/protocols/websocket/main.zeek` begins with `@load
/// base/protocols/http`, so `zeek -b` loading only the WebSocket package has
/// HTTP on port 80 too: HTTP confirms on the request, hands the stream to
/// WebSocket on `101` + `Upgrade: websocket`, and WebSocket confirms on its
/// first whole message (`process_message` in `websocket-analyzer.pac`).
/// The oversized close frame is only capped (`new_frame_payload` in
/// `websocket-protocol.pac`: a weird, parsing goes on), no violation.
#[test]
fn websocket_package_loads_http() {
    let cap = websocket_capture();
    for mode in [&["--mode", "bare", "--analyzers", "websocket"][..], &[][..]] {
        let conn = run("ws", &cap, mode);
        let (r, service) = one(&conn);
        assert_eq!(service, Some("http,websocket"), "{mode:?}: {r}");
        assert_eq!(r["conn_state"], "SF");
    }
}

/// A KRB-ERROR (APPLICATION 30) SEQUENCE of the given elements.
fn krb_error(elements: &[&[u8]]) -> Vec<u8> {
    der(0x7e, &der(0x30, &elements.concat()))
}

/// `KRB_ERROR_MSG` (`src/analyzer/protocol/krb/krb-protocol.pac`): a
/// SEQUENCE of `KRB_ERROR_Arg`s read up to the error-code element `[6]`,
/// its INTEGER, then the rest; no element is required before `[6]` (the
/// other messages start with `pvno`). `proc_krb_error_msg`
/// (`krb-analyzer.pac`) confirms once the message parsed. An element index
/// outside the cases 0..=12, or no `[6]` at all, does not parse: a
/// violation, no service.
#[test]
fn krb_error_needs_no_pvno() {
    // [6] error-code 25, [12] e-data: METHOD-DATA with PA-ENC-TIMESTAMP and
    // an empty padata-value.
    let code = der(0xa6, &der(0x02, &[25]));
    let padata = der(
        0x30,
        &der(0x30, &cat(&[&der(0xa1, &der(0x02, &[2])), &[0xa2, 0x00]])),
    );
    let e_data = der(0xac, &padata);
    let pvno = der(0xa0, &der(0x02, &[5]));
    let bad_index = der(0xad, &der(0x02, &[1]));
    let cases: [(&str, Vec<u8>, Option<&str>); 4] = [
        ("no-pvno", krb_error(&[&code, &e_data]), Some("krb")),
        ("pvno-first", krb_error(&[&pvno, &code]), Some("krb")),
        ("no-error-code", krb_error(&[&pvno, &e_data]), None),
        ("index-13", krb_error(&[&code, &bad_index]), None),
    ];
    for (name, msg, want) in cases {
        let mut cap = Cap::default();
        datagram(&mut cap, 0, 88, false, &msg);
        let conn = run(name, &cap, &["--mode", "bare", "--analyzers", "krb"]);
        let (r, service) = one(&conn);
        assert_eq!(service, want, "{name}: {r}");
        assert_eq!(r["conn_state"], "S0");
        assert_eq!(r["history"], "D");
    }
    // Over TCP (`KRB_PDU_TCP`: a 4-byte length, then the same PDU).
    let msg = krb_error(&[&code, &e_data]);
    let mut framed = (msg.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 88);
    t.handshake(0);
    let next = t.talk(10, &[(false, &framed)]);
    t.close(next);
    let conn = run("krb-tcp", &cap, &["--mode", "bare", "--analyzers", "krb"]);
    let (r, service) = one(&conn);
    assert_eq!(service, Some("krb_tcp"), "{r}");
}

/// A DTLS 1.2 handshake record (epoch 0): `seq` the record sequence number,
/// then the handshake header (`msg_type`, `total` length, message_seq 0,
/// fragment offset `off`) and `frag`.
fn dtls_record(seq: u64, msg_type: u8, total: usize, off: usize, frag: &[u8]) -> Vec<u8> {
    let u24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&u24(total));
    hs.extend_from_slice(&[0, 0]);
    hs.extend_from_slice(&u24(off));
    hs.extend_from_slice(&u24(frag.len()));
    hs.extend_from_slice(frag);
    let mut rec = vec![22, 0xfe, 0xfd, 0, 0];
    rec.extend_from_slice(&seq.to_be_bytes()[2..]);
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// A DTLS 1.2 ClientHello body (no session id, no cookie, two suites).
fn dtls_client_hello() -> Vec<u8> {
    let mut b = vec![0xfe, 0xfd];
    b.extend_from_slice(&[0x5a; 32]);
    b.extend_from_slice(&[0, 0, 0, 4, 0xc0, 0x2b, 0xc0, 0x2f, 1, 0]);
    b
}

/// One fragment of the ClientHello: offset, length, record sequence number.
type Part = (usize, usize, u64);

/// A capture: the ClientHello in the fragments `parts` (offset, length,
/// record sequence number), one datagram each, to 4433/udp (no registered
/// port: `dpd_dtls_client` matches the first record, sequence number 0),
/// then a whole ServerHello back.
fn dtls_capture(parts: &[Part]) -> Cap {
    let hello = dtls_client_hello();
    let mut cap = Cap::default();
    for (i, &(off, len, seq)) in parts.iter().enumerate() {
        let rec = dtls_record(seq, 1, hello.len(), off, &hello[off..off + len]);
        datagram(&mut cap, i as u64, 4433, false, &rec);
    }
    let mut sh = vec![0xfe, 0xfd];
    sh.extend_from_slice(&[0x6b; 32]);
    sh.extend_from_slice(&[0, 0xc0, 0x2b, 0]);
    let rec = dtls_record(0, 2, sh.len(), 0, &sh);
    datagram(&mut cap, 10, 4433, true, &rec);
    cap
}

/// `proc_handshake` (`src/analyzer/protocol/ssl/dtls-analyzer.pac`) hands a
/// handshake message to the parser only whole: at once when one record
/// holds it, else when every fragment between the first and the last
/// record sequence number arrived (bit `seq - first` of a 32-bit mask).
/// Only the parsed ClientHello confirms (`proc_client_hello`); the
/// ServerHello does not. A fragment whose record sequence number is 32 or
/// more past the first is never reassembled (zeek/zeek#5510 bounded that
/// shift, undefined behaviour before), so a ClientHello split over records
/// 0, 128 and 256 confirms nothing.
#[test]
fn dtls_client_hello_confirms_once_reassembled() {
    let n = dtls_client_hello().len();
    let (f1, f2) = (n / 3, n / 3);
    let cases: [(&str, Vec<Part>, Option<&str>); 5] = [
        ("whole", vec![(0, n, 0)], Some("dtls")),
        (
            "in-order",
            vec![(0, f1, 0), (f1, f2, 1), (f1 + f2, n - f1 - f2, 2)],
            Some("dtls"),
        ),
        (
            "reordered",
            vec![(0, f1, 0), (f1 + f2, n - f1 - f2, 2), (f1, f2, 1)],
            Some("dtls"),
        ),
        ("first-only", vec![(0, f1, 0)], None),
        (
            "jumps",
            vec![(0, f1, 0), (f1, f2, 128), (f1 + f2, n - f1 - f2, 256)],
            None,
        ),
    ];
    for (name, parts, want) in cases {
        let cap = dtls_capture(&parts);
        let conn = run(name, &cap, &[]);
        let (r, service) = one(&conn);
        assert_eq!(service, want, "{name}: {r}");
        assert_eq!(r["conn_state"], "SF");
        assert_eq!(r["history"], "Dd");
    }
}

/// `finger.spicy` (`src/analyzer/protocol/finger/`) reads a request's
/// `arg` and each reply line as `/[^\r\n]*/` with no length limit: a
/// 1,300-byte user name confirms on its own (`|arg[0]| > 0`), and so does
/// a 1,300-byte reply line after a short request (`|data| > 10`). Both
/// connections are `finger`.
#[test]
fn finger_lines_have_no_length_limit() {
    let long_user = [&[b'A'; 1300][..], b"\r\n"].concat();
    let long_reply = [&[b'B'; 1300][..], b"\r\n"].concat();
    type Talk<'a> = Vec<(bool, &'a [u8])>;
    let talks: [(&str, Talk); 2] = [
        ("request", vec![(true, &long_user)]),
        ("reply", vec![(true, b"user\r\n"), (false, &long_reply)]),
    ];
    for (name, talk) in talks {
        let mut cap = Cap::default();
        let mut t = conversation(&mut cap, 79);
        t.handshake(0);
        let next = t.talk(10, &talk);
        t.close(next);
        let conn = run(name, &cap, &[]);
        let (r, service) = one(&conn);
        assert_eq!(service, Some("finger"), "{name}: {r}");
        assert_eq!(r["conn_state"], "SF");
    }
}

/// `ldap.spicy`: every whole `LDAP::Message` confirms (`on
/// LDAP::Message::%done { spicy::accept_input(); }`), an AddRequest through
/// `NotImplemented` (skip to the end), a SearchRequest through its full
/// grammar. Requests no response answers change nothing for conn.log
/// (`LDAP::max_pending_*` only raise weirds in script land): `ldap_tcp`,
/// and `S1` without a FIN.
#[test]
fn unanswered_ldap_requests_confirm() {
    let int = |v: u8| der(0x02, &[v]);
    let attribute = der(
        0x30,
        &cat(&[&der(0x04, b"objectClass"), &der(0x31, &der(0x04, b"top"))]),
    );
    let add_body = cat(&[
        &der(0x04, b"cn=test,dc=example,dc=com"),
        &der(0x30, &attribute),
    ]);
    let search_body = cat(&[
        &der(0x04, b""),
        &der(0x0a, &[2]),
        &der(0x0a, &[0]),
        &int(0),
        &int(0),
        &der(0x01, &[0]),
        &der(0x87, b"objectClass"),
        &der(0x30, b""),
    ]);
    for (name, op, body) in [("adds", 0x68, add_body), ("searches", 0x63, search_body)] {
        let stream: Vec<u8> = (1..=10u8)
            .flat_map(|id| der(0x30, &cat(&[&int(id), &der(op, &body)])))
            .collect();
        let mut cap = Cap::default();
        let mut t = conversation(&mut cap, 389);
        t.handshake(0);
        t.send(10, true, ACK | PSH, &stream);
        let conn = run(name, &cap, &[]);
        let (r, service) = one(&conn);
        assert_eq!(service, Some("ldap_tcp"), "{name}: {r}");
        assert_eq!(r["conn_state"], "S1");
        assert_eq!(r["history"], "ShAD");
    }
}

/// `snmp-analyzer.pac` confirms on a header from the responder only, so a
/// get-request alone (here with an OID whose subidentifier runs over 64
/// bits, a weird in later Zeeks) leaves the service empty: `S0`, `D`.
#[test]
fn snmp_request_alone_has_no_service() {
    let mut oid = vec![0x2b];
    oid.extend_from_slice(&[0x80; 10]);
    oid.push(0);
    let varbind = der(0x30, &der(0x30, &cat(&[&der(0x06, &oid), &[0x05, 0x00]])));
    let pdu = der(
        0xa0,
        &cat(&[
            &der(0x02, &[1]),
            &der(0x02, &[0]),
            &der(0x02, &[0]),
            &varbind,
        ]),
    );
    let msg = der(0x30, &cat(&[&der(0x02, &[0]), &der(0x04, b"public"), &pdu]));
    let mut cap = Cap::default();
    datagram(&mut cap, 0, 161, false, &msg);
    let conn = run("snmp", &cap, &[]);
    let (r, service) = one(&conn);
    assert_eq!(service, None, "{r}");
    assert_eq!(r["conn_state"], "S0");
    assert_eq!(r["history"], "D");
}

/// A DCE-RPC v5 PDU (little-endian, first and last fragment, call id 1).
fn dce_pdu(ptype: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![5, 0, ptype, 0x03, 0x10, 0, 0, 0];
    p.extend_from_slice(&((16 + body.len()) as u16).to_le_bytes());
    p.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
    p.extend_from_slice(body);
    p
}

/// `DCE_RPC.cc` confirms on every complete PDU; a bind and a bind_ack whose
/// secondary address has no trailing NUL (only `dce_rpc_bind_ack`'s
/// `sec_addr` argument depends on that) give `dce_rpc`, `S1` without FIN.
#[test]
fn dce_rpc_bind_ack_without_nul_confirms() {
    let ndr = [
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60, 2, 0, 0, 0,
    ];
    let mut bind = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0];
    bind.extend_from_slice(&[0x11; 16]);
    bind.extend_from_slice(&[1, 0, 0, 0]);
    bind.extend_from_slice(&ndr);
    let mut ack = vec![0xb8, 0x10, 0xb8, 0x10, 0x78, 0x56, 0x34, 0x12, 3, 0];
    ack.extend_from_slice(b"ABC");
    ack.push(0); // pad to 4
    ack.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    ack.extend_from_slice(&ndr);
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 135);
    t.handshake(0);
    t.send(10, true, ACK | PSH, &dce_pdu(11, &bind));
    t.send(11, false, ACK | PSH, &dce_pdu(12, &ack));
    let conn = run("dce", &cap, &[]);
    let (r, service) = one(&conn);
    assert_eq!(service, Some("dce_rpc"), "{r}");
    assert_eq!(r["conn_state"], "S1");
    assert_eq!(r["history"], "ShADd");
}
