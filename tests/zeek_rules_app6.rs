//! Zeek's confirmation and violation rules found by the audit of each
//! analyzer's `AnalyzerConfirmation` / `AnalyzerViolation` call sites
//! (issue 15, recorded in `docs/ZEEK_GENERATORS.md`, "Analyzer confirmation
//! audit"), each on a capture this test builds (`zeek_rules/pcap.rs`) and
//! run through the `connscope` binary. The expected values are written from
//! Zeek's source as of `a13de64`, cited at each test:
//!
//! 1. SSL: a ServerHello with an unsupported version is a violation;
//! 2. SSL: `determine_ssl_record_layer` re-checks every record's version
//!    once the layer is TLS (0x0304 is not a record-layer version);
//! 3. SSL: a plaintext record of an unknown content type is a violation,
//!    a ciphertext one (after ChangeCipherSpec) is not;
//! 4. SSLv2: a SERVER-HELLO whose version is not 2 is a violation, and
//!    only the directions Zeek allows open an SSLv2 record layer;
//! 5. Syslog over UDP (Spicy): the priority is optional, any datagram
//!    confirms unless it starts with `<` and is not `<digits>`;
//! 6. XMPP: `<tls:starttls>` / `<tls:proceed>` upgrade to SSL like the
//!    tags without a namespace prefix (`token_no_ns`);
//! 7. POP3: `ParseCmd` drops a leading `+`/`-` once per word it tries, so
//!    `++CAPA` is CAPA and `++OK` is no word;
//! 8. KRB_TCP: a partial connection (no SYN) is never parsed (`IsPartial`).

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

/// A TLS record: content type, record-layer version, body.
fn record(ctype: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ctype];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A handshake message: type, 24-bit length, body.
fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len() as u32;
    let mut m = vec![msg_type, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    m.extend_from_slice(body);
    m
}

/// A ClientHello record (TLS 1.2 hello in a TLS 1.0 record, one cipher
/// suite, null compression, no extensions).
fn client_hello() -> Vec<u8> {
    let body = cat(&[
        &[0x03, 0x03],
        &[0x11; 32],
        &[0],
        &[0, 2, 0x00, 0x2f],
        &[1, 0],
    ]);
    record(22, 0x0301, &handshake(1, &body))
}

/// A ServerHello record whose `server_version` is `version`.
fn server_hello(version: u16) -> Vec<u8> {
    let body = cat(&[
        &version.to_be_bytes(),
        &[0x22; 32],
        &[0],
        &[0x00, 0x2f],
        &[0],
    ]);
    record(22, 0x0303, &handshake(2, &body))
}

/// One TCP connection to 443 from `port` carrying `msgs`, at `base` ms.
fn tls_conn(cap: &mut Cap, port: u16, base: u64, msgs: &[(bool, &[u8])]) {
    let mut t = conversation(cap, port, 443);
    t.handshake(base);
    let next = t.talk(base + 10, msgs);
    t.close(next);
}

/// `proc_client_hello` (`tls-handshake-analyzer.pac`) confirms a ClientHello
/// whose version passes `version_ok`; `proc_server_hello` only checks:
/// `if ( ! version_ok(version) ) { AnalyzerViolation("unsupported server
/// SSL version 0x%04x"); SetSkip(true); }` and never confirms. A violation
/// within `DPD::ignore_violations_after` (10 KiB) makes `dpd.zeek` disable
/// the analyzer and remove `ssl` from the service field again.
#[test]
fn ssl_server_hello_with_unsupported_version_is_a_violation() {
    let ch = client_hello();
    let mut cap = Cap::default();
    let cases: [(u16, u16, bool); 3] = [
        (43000, 0x0303, true),
        // TLS 1.3 draft versions pass `version_ok`.
        (43001, 0x7f1c, true),
        (43002, 0x0305, false),
    ];
    for (i, (port, version, _)) in cases.iter().enumerate() {
        let sh = server_hello(*version);
        tls_conn(
            &mut cap,
            *port,
            i as u64 * 1000,
            &[(true, &ch), (false, &sh)],
        );
    }
    let conn = run("ssl-server-hello-version", &cap, &[]);
    for (port, _, keeps) in &cases {
        let r = by_port(&conn, *port);
        if *keeps {
            assert_eq!(r["service"], "ssl", "{r:#?}");
        } else {
            assert!(r.get("service").is_none(), "{r:#?}");
        }
    }
}

/// `determine_ssl_record_layer` (`ssl-protocol.pac`): once
/// `record_layer_version_` is a TLS version, every record of either
/// direction must carry SSLv3, TLS 1.0, 1.1 or 1.2 in its header, else
/// `AnalyzerViolation("Invalid version late in TLS connection. ...")`
/// and `SetSkip(true)`; the first record is held to the same four
/// versions ("Invalid version in TLS connection"). 0x0304 is not one of
/// them (TLS 1.3 records say 0x0303).
#[test]
fn ssl_record_layer_version_is_checked_on_every_record() {
    let ch = client_hello();
    let sh = server_hello(0x0303);
    let alert = |v: u16| record(21, v, &[1, 0]);
    let mut cap = Cap::default();
    let ok = alert(0x0303);
    let bad = alert(0x0304);
    tls_conn(
        &mut cap,
        43010,
        0,
        &[(true, &ch), (false, &sh), (false, &ok)],
    );
    tls_conn(
        &mut cap,
        43011,
        1000,
        &[(true, &ch), (false, &sh), (false, &bad)],
    );
    // The client's first record with version 0x0304: never confirms.
    let ch13 = {
        let mut r = client_hello();
        r[2] = 0x04;
        r
    };
    tls_conn(&mut cap, 43012, 2000, &[(true, &ch13), (false, &sh)]);
    let conn = run("ssl-record-version", &cap, &[]);
    assert_eq!(by_port(&conn, 43010)["service"], "ssl", "{conn:#?}");
    assert!(by_port(&conn, 43011).get("service").is_none(), "{conn:#?}");
    assert!(by_port(&conn, 43012).get("service").is_none(), "{conn:#?}");
}

/// `PlaintextRecord` (`ssl-dtls-protocol.pac`) knows CHANGE_CIPHER_SPEC,
/// ALERT, HEARTBEAT, APPLICATION_DATA (and HANDSHAKE, `ssl-protocol.pac`);
/// `default -> unknown_record : UnknownRecord(rec)`, whose
/// `proc_unknown_record` (`ssl-dtls-analyzer.pac`) is
/// `AnalyzerViolation("unknown SSL record type (%d) from %s")`. The record
/// layer itself accepts types 20..30. After a ChangeCipherSpec
/// (`startEncryption(rec.is_orig)`) `RecordText` is a `CiphertextRecord`
/// whatever the type, so the same record there is no violation.
#[test]
fn ssl_unknown_plaintext_record_type_is_a_violation() {
    let ch = client_hello();
    let sh = server_hello(0x0303);
    let ccs = record(20, 0x0303, &[1]);
    let odd = record(25, 0x0303, &[0; 8]);
    let mut cap = Cap::default();
    tls_conn(
        &mut cap,
        43020,
        0,
        &[(true, &ch), (false, &sh), (false, &odd)],
    );
    tls_conn(
        &mut cap,
        43021,
        1000,
        &[(true, &ch), (false, &sh), (false, &ccs), (false, &odd)],
    );
    let conn = run("ssl-unknown-record", &cap, &[]);
    assert!(by_port(&conn, 43020).get("service").is_none(), "{conn:#?}");
    assert_eq!(by_port(&conn, 43021)["service"], "ssl", "{conn:#?}");
}

/// An SSLv2 record: 2-byte header with the high bit, then `body` (message
/// type first).
fn v2(body: &[u8]) -> Vec<u8> {
    let n = body.len() as u16 | 0x8000;
    cat(&[&n.to_be_bytes(), body])
}

/// SSLv2 (`ssl-protocol.pac`, `determine_ssl_record_layer`): a CLIENT-HELLO
/// (`head2 == 0x01 && is_orig`) with version 2, 3.0 .. 3.3 passes and
/// `proc_client_hello` confirms; a SERVER-HELLO (`head2 == 0x04 && head4 <
/// 2 && ! is_orig`) sets the record layer to SSLv2, and
/// `proc_check_v2_server_hello_version` (`ssl-dtls-analyzer.pac`) is
/// `AnalyzerViolation("Invalid version in SSL server hello. Version: %d")`
/// when its `server_version` is not 2. Any other SSLv2 header before the
/// layer is known ("this is not SSL or TLS") is a violation: here a
/// CLIENT-MASTER-KEY sent before the server's hello.
#[test]
fn sslv2_server_hello_version_and_header_directions() {
    // CLIENT-HELLO: type 1, version 2, cipher-specs 3, session 0, challenge 16.
    let ch = v2(&cat(&[
        &[1, 0, 2, 0, 3, 0, 0, 0, 16],
        &[1, 0, 0x80],
        &[0x33; 16],
    ]));
    // SERVER-HELLO: type 1... type 4, hit 0, cert type 1, version, then
    // cert length 0, cipher-specs 3, connection id 16.
    let sh = |ver: u16| {
        v2(&cat(&[
            &[4, 0, 1],
            &ver.to_be_bytes(),
            &[0, 0, 0, 3, 0, 16],
            &[1, 0, 0x80],
            &[0x44; 16],
        ]))
    };
    // CLIENT-MASTER-KEY: type 2, cipher kind, clear 0, encrypted 0, arg 0.
    let cmk = v2(&[2, 1, 0, 0x80, 0, 0, 0, 0, 0, 0]);
    let (good, bad) = (sh(2), sh(3));
    let mut cap = Cap::default();
    tls_conn(
        &mut cap,
        43030,
        0,
        &[(true, &ch), (false, &good), (true, &cmk)],
    );
    tls_conn(&mut cap, 43031, 1000, &[(true, &ch), (false, &bad)]);
    tls_conn(
        &mut cap,
        43032,
        2000,
        &[(true, &ch), (true, &cmk), (false, &good)],
    );
    let conn = run("sslv2-server-hello", &cap, &[]);
    assert_eq!(by_port(&conn, 43030)["service"], "ssl", "{conn:#?}");
    assert!(by_port(&conn, 43031).get("service").is_none(), "{conn:#?}");
    assert!(by_port(&conn, 43032).get("service").is_none(), "{conn:#?}");
}

/// Syslog over UDP at `a13de64` is the Spicy analyzer (`syslog.evt`:
/// `protocol analyzer Syslog over UDP: parse with Syslog::Message`; the
/// binpac one is kept in `syslog/legacy/`). `Message` (`syslog.spicy`) is
/// `switch { -> prio: Priority; -> : void; }`, `msg: bytes &eod`, and
/// `on %done { spicy::accept_input(); }`: the priority is optional, so a
/// datagram without `<PRI>` confirms `syslog` too. A datagram that starts
/// with `<` must be `<digits>` (`Priority`: `b"<"`, `/[[:digit:]]+/`,
/// `b">"`), else the parse error is a violation.
#[test]
fn syslog_udp_priority_is_optional() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    let msgs: [(u16, &[u8]); 3] = [
        (44000, b"<34>Oct 11 22:14:15 host su: 'su root' failed"),
        (44001, b"Oct 11 22:14:15 host su: 'su root' failed"),
        (44002, b"<ab>Oct 11 22:14:15 host su: 'su root' failed"),
    ];
    for (i, (port, m)) in msgs.iter().enumerate() {
        let f = frame(Link::Eth, &udp(c, s, *port, 514, m, UdpSum::Good));
        cap.at(i as u64 * 100, f);
    }
    let conn = run("syslog-optional-pri", &cap, &[]);
    assert_eq!(by_port(&conn, 44000)["service"], "syslog", "{conn:#?}");
    assert_eq!(by_port(&conn, 44001)["service"], "syslog", "{conn:#?}");
    assert!(by_port(&conn, 44002).get("service").is_none(), "{conn:#?}");
}

/// XMPP (`xmpp-analyzer.pac` `proc_xmpp_token`): `token_no_ns` is the
/// token after its first `:` ("this discards the namespace"); `is_orig &&
/// ( token == "starttls" || token_no_ns == "starttls" )` sets
/// `client_starttls`, and the server's `proceed` (or `token_no_ns ==
/// "proceed"`) then calls `StartTLS()`, which hands the rest of the stream
/// to a new SSL analyzer: its ClientHello confirms `ssl`. Namespace-prefixed
/// `<tls:starttls>` / `<tls:proceed>` upgrade as the plain tags do.
#[test]
fn xmpp_starttls_with_namespace_prefix_upgrades() {
    let open: &[u8] = b"<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    let features: &[u8] = b"<?xml version='1.0'?><stream:stream from='example.com' id='s1' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features><tls:starttls xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'></tls:starttls></stream:features>";
    let starttls: &[u8] = b"<tls:starttls xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>";
    let proceed: &[u8] = b"<tls:proceed xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>";
    let ch = client_hello();
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 45000, 5222);
    t.handshake(0);
    let next = t.talk(
        10,
        &[
            (true, open),
            (false, features),
            (true, starttls),
            (false, proceed),
            (true, &ch),
        ],
    );
    t.close(next);
    let conn = run("xmpp-starttls-ns", &cap, &[]);
    assert_eq!(by_port(&conn, 45000)["service"], "xmpp,ssl", "{conn:#?}");
}

/// POP3 (`POP3.cc` `POP3_Analyzer::ParseCmd`): inside `for ( int code =
/// detail::POP3_CMD_OK; code < detail::POP3_CMD_END; ++code )` each step
/// first does `if ( c == '+' || c == '-' ) cmd = cmd.substr(1);`, so by the
/// word at index `i` (`POP3_cmd.def` order: OK, ERR, USER, ..., CAPA) up
/// to `i + 1` leading signs have been dropped. The client's `++CAPA` is
/// CAPA, and the server's `+OK` to it confirms (`case detail::CAPA:
/// AnalyzerConfirmation();` in `ProcessReply`). `++OK` is no word (OK is
/// tried with one sign dropped), so the same exchange answered `++OK`
/// confirms nothing and is a violation ("unknown server command"). The
/// first client line is `USER` for `dpd_pop3_client`; its `-ERR` does not
/// confirm.
#[test]
fn pop3_command_signs_are_dropped_once_per_word_tried() {
    let mut cap = Cap::default();
    for (i, (port, reply)) in [(45100u16, &b"+OK\r\n.\r\n"[..]), (45101, b"++OK\r\n")]
        .into_iter()
        .enumerate()
    {
        let mut t = conversation(&mut cap, port, 110);
        t.handshake(i as u64 * 1000);
        let next = t.talk(
            i as u64 * 1000 + 10,
            &[
                (false, b"+OK POP3 ready\r\n"),
                (true, b"USER bob\r\n"),
                (false, b"-ERR no such user\r\n"),
                (true, b"++CAPA\r\n"),
                (false, reply),
            ],
        );
        t.close(next);
    }
    let conn = run("pop3-signs", &cap, &[]);
    assert_eq!(by_port(&conn, 45100)["service"], "pop3", "{conn:#?}");
    // (`resp-serialized-server` also matches these `+` lines; only `pop3`
    // is judged here.)
    let svc = by_port(&conn, 45101).get("service").and_then(Value::as_str);
    assert!(!svc.unwrap_or("").contains("pop3"), "{conn:#?}");
}

/// KRB_TCP (`KRB_TCP.cc` `KRB_Analyzer::DeliverStream`): `if (
/// TCP()->IsPartial() ) return;` before `interp->NewData`, so a connection
/// whose first packet had no SYN is never parsed and never confirms
/// `krb_tcp`; the same AS-REQ (4-byte length, `KRB_PDU_TCP`) after a
/// handshake confirms (`krb-analyzer.pac` `proc_krb_kdc_req_msg`).
#[test]
fn krb_tcp_partial_connection_is_not_parsed() {
    let req = krb_as_req();
    let framed = cat(&[&(req.len() as u32).to_be_bytes(), &req]);
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 45200, 88);
    t.handshake(0);
    let next = t.talk(10, &[(true, &framed)]);
    t.close(next);
    let mut t = conversation(&mut cap, 45201, 88);
    let next = t.talk(1000, &[(true, &framed)]);
    t.close(next);
    let conn = run("krb-tcp-partial", &cap, &[]);
    assert_eq!(by_port(&conn, 45200)["service"], "krb_tcp", "{conn:#?}");
    assert!(by_port(&conn, 45201).get("service").is_none(), "{conn:#?}");
}
