//! Zeek's application-level rules behind conn.log's `service` and `history`,
//! each on a capture this test builds (`zeek_rules/pcap.rs`) and run
//! through the `connscope` binary. The expected values are written from
//! Zeek's source, cited at each test:
//!
//! 1. bare mode: a loaded protocol package adds its ports to
//!    `likely_server_ports`, which decides the roles of a partial
//!    connection;
//! 2. `dpd_http_client` knows the QUERY method (RFC 10008);
//! 3. SMB1 transactions on a `\PIPE\` name hand their data to DCE_RPC;
//! 4. more than `dns_max_queries` questions marks the history with `X`.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::conn as run;

/// `TCPAnalyzer::WantConnection` (`src/packet_analysis/protocol/tcp/
/// TCP.cc`) flips a connection whose first packet has no SYN when only its
/// source port is a likely server port. In bare mode the set holds what the
/// loaded packages add: `scripts/base/protocols/irc/main.zeek` has `redef
/// likely_server_ports += { ports }` (6666-6669/tcp). The flipped packet is
/// the responder's (`^d`); IRC confirms only on originator lines
/// (`IRC.cc`: `if ( orig ) AnalyzerConfirmation()`), so no service.
#[test]
fn bare_mode_package_ports_flip_partial_connections() {
    let mut cap = Cap::default();
    let line = b"PRIVMSG victim :hello there\r\n";
    let (srv, cli) = (a("192.168.1.100"), a("192.168.1.200"));
    cap.at(
        0,
        frame(
            Link::Eth,
            &tcp(srv, cli, 6667, 12345, 7000, 9000, PSH | ACK, line),
        ),
    );
    let conn = run("irc-ports", &cap, &["--mode", "bare", "--analyzers", "irc"]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    let r = &conn[0];
    assert_eq!(r["id.orig_h"], "192.168.1.200");
    assert_eq!(r["id.orig_p"], 12345);
    assert_eq!(r["id.resp_p"], 6667);
    assert_eq!(r["history"], "^d");
    assert_eq!(r["conn_state"], "OTH");
    assert!(r.get("service").is_none(), "{r:#?}");

    // Without the IRC package, 6667 is no likely server port: no flip.
    let conn = run("no-ports", &cap, &["--mode", "bare", "--analyzers", ""]);
    assert_eq!(conn[0]["id.orig_p"], 6667);
    assert_eq!(conn[0]["history"], "D");

    // `--likely-server-ports` replaces the packages' ports.
    let conn = run(
        "explicit-ports",
        &cap,
        &[
            "--mode",
            "bare",
            "--analyzers",
            "irc",
            "--likely-server-ports",
            "80/tcp",
        ],
    );
    assert_eq!(conn[0]["id.orig_p"], 6667);
}

/// `dpd_http_client` (`scripts/base/protocols/http/dpd.sig`) lists QUERY
/// since zeek/zeek#5595 (June 2026), and enables HTTP on its own (no
/// reverse signature since zeek/zeek#1160): a QUERY request on a port HTTP
/// is not registered for gets `http` once the request line parses
/// (`HTTP_Analyzer::HTTP_RequestLine` takes any token as the method).
#[test]
fn query_method_enables_http_by_signature() {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 54321, 4711);
    t.handshake(0);
    let body = br#"{"select": ["name"]}"#;
    let req = format!(
        "QUERY /users HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let req = cat(&[req.as_bytes(), body]);
    let t_ms = t.talk(10, &[(true, &req)]);
    t.close(t_ms);
    let conn = run("query", &cap, &["--mode", "bare", "--analyzers", "http"]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    assert_eq!(conn[0]["service"], "http");
    assert_eq!(conn[0]["history"], "ShADaFf");

    // A token HTTP's signature does not list leaves the connection alone.
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 54321, 4711);
    t.handshake(0);
    let t_ms = t.talk(10, &[(true, b"QUARRY /users HTTP/1.1\r\nHost: x\r\n\r\n")]);
    t.close(t_ms);
    let conn = run("quarry", &cap, &["--mode", "bare", "--analyzers", "http"]);
    assert!(conn[0].get("service").is_none(), "{:#?}", conn[0]);
}

/// An SMB1 header (`\xffSMB`, 32 bytes): command, flags, flags2 and mid.
fn smb1_header(cmd: u8, response: bool, unicode: bool, mid: u16) -> Vec<u8> {
    let mut h = b"\xffSMB".to_vec();
    h.push(cmd);
    h.extend_from_slice(&[0; 4]); // status
    h.push(if response { 0x88 } else { 0x08 });
    let flags2: u16 = if unicode { 0x8000 } else { 0 };
    h.extend_from_slice(&flags2.to_le_bytes());
    h.extend_from_slice(&[0; 12]); // pid high, security features, reserved
    h.extend_from_slice(&1u16.to_le_bytes()); // tid
    h.extend_from_slice(&1u16.to_le_bytes()); // pid low
    h.extend_from_slice(&1u16.to_le_bytes()); // uid
    h.extend_from_slice(&mid.to_le_bytes());
    h
}

/// An NBSS session message around `smb`.
fn nbss(smb: &[u8]) -> Vec<u8> {
    let n = smb.len() as u32;
    cat(&[&[0, (n >> 16) as u8, (n >> 8) as u8, n as u8], smb])
}

/// An SMB1 TRANSACTION request (14 words, no setup words) on `name` (its
/// wire bytes, terminator included) carrying `data`.
fn smb1_transaction(name: &[u8], unicode: bool, mid: u16, data: &[u8]) -> Vec<u8> {
    let h = smb1_header(0x25, false, unicode, mid);
    // Name at 32 + 1 + 28 + 2 = 63 (odd: a UCS-2 name gets a pad byte).
    let pad: &[u8] = if unicode { &[0] } else { &[] };
    let data_offset = (63 + pad.len() + name.len()) as u16;
    let mut w = vec![14u8];
    w.extend_from_slice(&0u16.to_le_bytes()); // total parameter count
    w.extend_from_slice(&(data.len() as u16).to_le_bytes());
    w.extend_from_slice(&0u16.to_le_bytes()); // max parameter count
    w.extend_from_slice(&0xffffu16.to_le_bytes()); // max data count
    w.extend_from_slice(&[0, 0]); // max setup count, reserved
    w.extend_from_slice(&[0; 2 + 4 + 2]); // flags, timeout, reserved
    w.extend_from_slice(&0u16.to_le_bytes()); // parameter count
    w.extend_from_slice(&0u16.to_le_bytes()); // parameter offset
    w.extend_from_slice(&(data.len() as u16).to_le_bytes());
    w.extend_from_slice(&data_offset.to_le_bytes());
    w.extend_from_slice(&[0, 0]); // setup count, reserved
    let bytes = (pad.len() + name.len() + data.len()) as u16;
    w.extend_from_slice(&bytes.to_le_bytes());
    nbss(&cat(&[&h, &w, pad, name, data]))
}

/// An SMB1 TRANSACTION response (10 words) carrying `data`.
fn smb1_transaction_response(mid: u16, data: &[u8]) -> Vec<u8> {
    let h = smb1_header(0x25, true, false, mid);
    let mut w = vec![10u8];
    w.extend_from_slice(&0u16.to_le_bytes()); // total parameter count
    w.extend_from_slice(&(data.len() as u16).to_le_bytes());
    w.extend_from_slice(&0u16.to_le_bytes()); // reserved
    w.extend_from_slice(&0u16.to_le_bytes()); // parameter count
    w.extend_from_slice(&0u16.to_le_bytes()); // parameter offset
    w.extend_from_slice(&0u16.to_le_bytes()); // parameter displacement
    w.extend_from_slice(&(data.len() as u16).to_le_bytes());
    w.extend_from_slice(&56u16.to_le_bytes()); // data offset: 32 + 21 + 2 + 1
    w.extend_from_slice(&0u16.to_le_bytes()); // data displacement
    w.extend_from_slice(&[0, 0]); // setup count, reserved
    w.extend_from_slice(&((1 + data.len()) as u16).to_le_bytes());
    nbss(&cat(&[&h, &w, &[0], data]))
}

/// A DCE/RPC request PDU header alone (16 bytes, little-endian).
fn dce_request(call_id: u32) -> Vec<u8> {
    let mut p = vec![5, 0, 0, 0x03, 0x10, 0, 0, 0];
    p.extend_from_slice(&16u16.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&call_id.to_le_bytes());
    p
}

/// Services of an SMB connection whose client sends `msgs` (one segment
/// each) after the handshake, the server answering `replies`.
fn smb_services(name: &str, msgs: &[Vec<u8>], replies: &[Vec<u8>]) -> Option<String> {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 49152, 445);
    t.handshake(0);
    let mut talk: Vec<(bool, &[u8])> = msgs.iter().map(|m| (true, m.as_slice())).collect();
    talk.extend(replies.iter().map(|m| (false, m.as_slice())));
    let t_ms = t.talk(10, &talk);
    t.close(t_ms);
    let conn = run(name, &cap, &["--mode", "bare", "--analyzers", "smb"]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    conn[0]["service"].as_str().map(str::to_string)
}

/// `SMB1_transaction_request` (`src/analyzer/protocol/smb/
/// smb1-com-transaction.pac`): `determine_transaction_type`
/// (`smb-common.pac`) makes a name starting `\PIPE\` a named pipe (but
/// `\PIPE\LANMAN` is RAP), and a pipe transaction's data, from
/// `data_offset` to the end of the message, goes to the DCE_RPC analyzer
/// SMB instantiates (`forward_dce_rpc`), which confirms on a whole PDU
/// (`dce_rpc-analyzer.pac`). Responses follow their request's message id
/// (`is_file_a_pipe`). SMB itself confirms on its third chunk (`SMB.cc`);
/// 25 PDUs in one transaction must not keep that from being seen.
#[test]
fn smb1_pipe_transactions_reach_dce_rpc() {
    let many: Vec<u8> = (0..25).flat_map(dce_request).collect();
    let pipe = smb1_transaction(b"\\PIPE\\\0", false, 1, &many);
    let msgs = [pipe.clone(), pipe.clone(), pipe];
    let services = smb_services("pipe", &msgs, &[]);
    assert_eq!(services.as_deref(), Some("dce_rpc,smb"));

    // UCS-2 name after its pad byte.
    let ucs2: Vec<u8> = "\\PIPE\\srvsvc\0".bytes().flat_map(|b| [b, 0]).collect();
    let msgs = [smb1_transaction(&ucs2, true, 1, &dce_request(1))];
    let services = smb_services("pipe-ucs2", &msgs, &[]);
    assert_eq!(services.as_deref(), Some("dce_rpc"));

    // RAP and other names: no DCE_RPC.
    for (n, name) in [
        ("rap", &b"\\PIPE\\LANMAN\0"[..]),
        ("mailslot", b"\\MAILSLOT\\BROWSE\0"),
    ] {
        let msgs = [smb1_transaction(name, false, 1, &dce_request(1))];
        assert_eq!(smb_services(n, &msgs, &[]), None, "{n}");
    }

    // The response to a pipe request carries the PDU; a response whose
    // message id matches no pipe request does not count.
    let req = smb1_transaction(b"\\PIPE\\\0", false, 7, &[]);
    let services = smb_services(
        "resp",
        std::slice::from_ref(&req),
        &[smb1_transaction_response(7, &dce_request(1))],
    );
    assert_eq!(services.as_deref(), Some("dce_rpc"));
    let services = smb_services(
        "resp-other",
        &[req],
        &[smb1_transaction_response(8, &dce_request(1))],
    );
    assert_eq!(services, None);
}

/// A DNS query with `n` questions for `example.com` A IN.
fn dns_query(n: u16) -> Vec<u8> {
    let mut m = vec![0xab, 0xcd, 0x01, 0x00];
    m.extend_from_slice(&n.to_be_bytes());
    m.extend_from_slice(&[0; 6]);
    for _ in 0..n {
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    }
    m
}

/// `DNS_Interpreter::ParseMessage` (`src/analyzer/protocol/dns/DNS.cc`):
/// more questions than `dns_max_queries` (25) marks the history with `X`
/// (zeek/zeek#5699, July 2026) before the analyzer violation that removes
/// DNS, so the message never confirms it.
#[test]
fn dns_too_many_questions_marks_history() {
    let (c, s) = (a("1.2.3.4"), a("5.6.7.8"));
    for (n, history, service) in [(25, "D", Some("dns")), (26, "DX", None)] {
        let mut cap = Cap::default();
        let q = dns_query(n);
        cap.at(0, frame(Link::Eth, &udp(c, s, 12345, 53, &q, UdpSum::Good)));
        let conn = run("dns-qd", &cap, &["--mode", "bare", "--analyzers", "dns"]);
        assert_eq!(conn.len(), 1, "{conn:#?}");
        assert_eq!(conn[0]["history"], history, "{n} questions");
        assert_eq!(conn[0]["service"].as_str(), service, "{n} questions");
    }
}
