//! Unit tests of the stream protocols' service identification: HTTP, TLS,
//! SSH, FTP, IRC, POP3, SMTP, Modbus, Redis and RDP over TCP.
//!
//! Must not: read capture files (payloads are inline, cut from the traces).

use super::*;
use std::net::Ipv4Addr;

/// The data-channel expectations one payload raised, in order.
fn expects(st: &mut ServiceState, is_orig: bool, payload: &[u8]) -> Vec<Expect> {
    let mut x = Vec::new();
    st.on_payload_expecting(is_orig, payload, &mut x);
    x
}

/// A TLS 1.2 ClientHello record (first bytes of the https-to-http trace).
fn client_hello() -> Vec<u8> {
    let mut v = hex("1603010200 010001fc 0303");
    v.extend_from_slice(&[0x7d; 32]);
    v.extend_from_slice(&hex("00 0002 c02f 0100"));
    // The whole 0x200-byte record (padding extension data).
    v.resize(5 + 0x200, 0);
    v
}

/// A TLS ServerHello record.
fn server_hello() -> Vec<u8> {
    let mut v = hex("160303003a 02000036 0303");
    v.extend_from_slice(&[0x41; 32]);
    v.extend_from_slice(&hex("00 c02f 00 000e ff01000100 00230000 000f000101"));
    v
}

#[test]
fn http_confirms_on_request_line() {
    let mut st = tcp(58716, 80);
    let v = st.on_payload(true, b"GET /ok.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(v.confirmed, Some(Service::Http));
    st.on_payload(
        false,
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(names(&st), ["http"]);
}

#[test]
fn http_by_signature_on_other_port() {
    // tcp-padding: HTTP to 27272/tcp, found by dpd_http_client.
    let mut st = tcp(59406, 27272);
    st.on_payload(true, b"POST /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(names(&st), ["http"]);
}

#[test]
fn http_request_split_over_segments() {
    let mut st = tcp(1, 8080);
    assert_eq!(st.on_payload(true, b"GE").confirmed, None);
    assert_eq!(st.on_payload(true, b"T / HT").confirmed, None);
    assert_eq!(
        st.on_payload(true, b"TP/1.0\r\n").confirmed,
        Some(Service::Http)
    );
}

#[test]
fn http_not_parsed_on_partial_connection() {
    // wikipedia-default 35634 -> 80, history DdA: no service.
    let mut st = tcp(35634, 80);
    st.set_partial(true);
    st.on_payload(true, b"GET / HTTP/1.1\r\n\r\n");
    st.on_payload(false, b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn http_bad_request_line_is_a_violation() {
    let mut st = tcp(1, 80);
    st.on_payload(true, b"\x01\x02garbage\r\n");
    st.on_payload(true, b"GET / HTTP/1.1\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn https_to_http_port_leaves_no_service() {
    // https-to-http-rsto: TLS ClientHello to 80/tcp, the server answers with
    // plain HTML. SSL confirms on the ClientHello, then fails on the reply.
    let mut st = tcp(50382, 80);
    let v = st.on_payload(true, &client_hello());
    assert_eq!(v.confirmed, Some(Service::Ssl));
    let v = st.on_payload(false, b"<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n");
    assert_eq!(v.removed, Some(Service::Ssl));
    assert!(names(&st).is_empty());
}

#[test]
fn http_connect_then_tls() {
    // http-connect-null-linktype: CONNECT, 200, then a TLS handshake.
    let mut st = ServiceState::new(
        set(&[Service::Http, Service::Ssl]),
        Transport::Tcp,
        52522,
        80,
    );
    st.on_payload(
        true,
        b"CONNECT secure.newegg.com:443 HTTP/1.1\r\nHost: secure.newegg.com\r\n\r\n",
    );
    st.on_payload(
        false,
        b"HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache\r\n\r\n",
    );
    st.on_payload(true, &client_hello());
    st.on_payload(false, &server_hello());
    assert_eq!(names(&st), ["http", "ssl"]);
}

#[test]
fn tls_on_443_and_on_other_ports() {
    let mut st = tcp(1, 443);
    st.on_payload(true, &client_hello());
    st.on_payload(false, &server_hello());
    assert_eq!(names(&st), ["ssl"]);
    // modbus-non-modbus-502 (58380): a ClientHello to 502 is ssl, not modbus.
    let mut st = tcp(58380, 502);
    st.on_payload(true, &client_hello());
    st.on_payload(false, &hex("160301000003008001"));
    assert_eq!(names(&st), ["ssl"]);
}

const SSH_SERVER_KEX: &str = "000001af0002031100000000000000000000000000000000";
const NEWKEYS: &str = "0000000c0a15000000000000000000000000";

#[test]
fn ssh_confirms_on_newkeys_after_both_banners() {
    let mut st = tcp(51880, 22);
    st.on_payload(false, b"SSH-2.0-OpenSSH_6.2\r\n");
    st.on_payload(true, b"SSH-2.0-OpenSSH_6.6.1p1 Ubuntu\r\n");
    let mut kex = hex(SSH_SERVER_KEX);
    kex.resize(4 + 0x1af, 0);
    st.on_payload(false, &kex);
    assert!(names(&st).is_empty());
    let v = st.on_payload(true, &hex(NEWKEYS));
    assert_eq!(v.confirmed, Some(Service::Ssh));
}

#[test]
fn ssh_by_signature_needs_both_banners() {
    // ssh-basic: 40184 -> 41644 is ssh although not on port 22.
    let mut st = tcp(40184, 41644);
    st.on_payload(true, b"SSH-2.0-client\r\n");
    st.on_payload(false, b"SSH-2.0-server\r\n");
    st.on_payload(true, &hex(NEWKEYS));
    assert_eq!(names(&st), ["ssh"]);
}

#[test]
fn ssh_half_duplex_client_never_confirms() {
    // ssh-half-duplex-client: only the client side is captured.
    let mut st = tcp(51880, 22);
    st.on_payload(true, b"SSH-2.0-OpenSSH_6.6.1p1 Ubuntu\r\n");
    st.on_payload(true, &hex(NEWKEYS));
    st.on_payload(true, &[0x55; 200]);
    assert!(names(&st).is_empty());
}

#[test]
fn ssh1_confirms_on_session_key() {
    // ssh-basic 57191: SSH-1.5 client, SSH-1.99 server.
    let mut st = tcp(57191, 22);
    st.on_payload(
        false,
        &hex("5353482d312e39392d4f70656e5353485f362e362e317031205562756e74752d327562756e7475320a"),
    );
    st.on_payload(true, &hex("5353482d312e352d4f70656e5353485f362e320a"));
    let mut p = hex("000001af000203119b4e685db331");
    p.resize(436, 0);
    st.on_payload(false, &p);
    let mut p = hex("0000011400000000030303119b4e685db331");
    p.resize(284, 0);
    let v = st.on_payload(true, &p);
    assert_eq!(v.confirmed, Some(Service::Ssh));
}

#[test]
fn ftp_confirms_and_raises_expectations() {
    // ftp-ipv4.
    let mut st = ServiceState::new(set(&[Service::Ftp]), Transport::Tcp, 50003, 21);
    st.on_payload(
        false,
        b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n",
    );
    let v = st.on_payload(true, b"USER anonymous\r\n");
    assert_eq!(v.confirmed, Some(Service::Ftp));
    st.on_payload(
        false,
        b"331 Guest login ok, type your name as password.\r\n",
    );
    st.on_payload(
        false,
        b"230-\r\n    The NetBSD Project FTP Server\r\n230-\r\n",
    );
    st.on_payload(false, b"230 Guest login ok, access restrictions apply.\r\n");
    st.on_payload(true, b"PASV\r\n");
    let v = expects(
        &mut st,
        false,
        b"227 Entering Passive Mode (199,233,217,249,221,90)\r\n",
    );
    assert_eq!(
        v.first().copied(),
        Some(Expect {
            from_conn_orig: true,
            resp_host: Some(IpAddr::V4(Ipv4Addr::new(199, 233, 217, 249))),
            resp_port: 56666,
            service: Service::FtpData,
            any_orig: false,
        })
    );
    let v = expects(&mut st, true, b"PORT 141,142,220,235,131,46\r\n");
    assert_eq!(
        v.first().copied(),
        Some(Expect {
            from_conn_orig: false,
            resp_host: Some(IpAddr::V4(Ipv4Addr::new(141, 142, 220, 235))),
            resp_port: 33582,
            service: Service::FtpData,
            any_orig: false,
        })
    );
    st.on_payload(true, b"EPSV\r\n");
    let v = expects(
        &mut st,
        false,
        b"229 Entering Extended Passive Mode (|||6446|)\r\n",
    );
    let e = v[0];
    assert_eq!(
        (e.resp_host, e.resp_port, e.from_conn_orig),
        (None, 6446, true)
    );
    let v = expects(&mut st, true, b"EPRT |2|2001:db8::1|5282|\r\n");
    assert_eq!(v[0].resp_host, Some("2001:db8::1".parse().unwrap()));
    // A 227 that does not answer PASV raises nothing.
    st.on_payload(true, b"LIST\r\n");
    let v = expects(
        &mut st,
        false,
        b"227 Entering Passive Mode (1,2,3,4,5,6)\r\n",
    );
    assert_eq!(v.first().copied(), None);
    assert_eq!(names(&st), ["ftp"]);
}

#[test]
fn ftp_auth_tls_hands_over_to_ssl() {
    // ftp-auth-tls-rstr: service ftp,ssl.
    let mut st = tcp(40284, 21);
    st.on_payload(false, b"220 (vsFTPd 3.0.5)\r\n");
    st.on_payload(true, b"FEAT\r\n");
    st.on_payload(false, b"211-Features:\r\n EPRT\r\n EPSV\r\n211 End\r\n");
    st.on_payload(true, b"AUTH TLS\r\n");
    st.on_payload(false, b"234 Proceed with negotiation.\r\n");
    st.on_payload(true, &client_hello());
    st.on_payload(false, &server_hello());
    assert_eq!(names(&st), ["ftp", "ssl"]);
}

#[test]
fn ftp_non_numeric_reply_is_a_violation() {
    let mut st = tcp(1, 21);
    st.on_payload(false, b"hello there\r\n");
    st.on_payload(true, b"USER x\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn irc_and_dcc_send() {
    // irc-dcc-send.
    let mut st = ServiceState::new(set(&[Service::Irc]), Transport::Tcp, 59069, 6667);
    let v = st.on_payload(
        true,
        b"PASS test\r\nNICK tim2\r\nUSER tim tim 10.0.0.22 :Tim W\r\n",
    );
    assert_eq!(v.confirmed, Some(Service::Irc));
    st.on_payload(
        false,
        b"@time=2025-07-28T20:48:31.481Z :ircd1.local 255 tim2 :I have 1 clients\r\n",
    );
    let v = expects(
        &mut st,
        true,
        b"PRIVMSG tim1 :\x01DCC SEND ssh.trace 167772167 59130 1320211\x01\r\n",
    );
    let e = v[0];
    assert_eq!(e.service, Service::IrcDccData);
    assert!(e.any_orig);
    assert_eq!(e.resp_host, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))));
    assert_eq!(e.resp_port, 59130);
    // DCC CHAT schedules nothing.
    let v = expects(
        &mut st,
        true,
        b"PRIVMSG tim1 :\x01DCC CHAT CHAT 167772167 59214\x01\r\n",
    );
    assert_eq!(v.first().copied(), None);
    // Every DCC SEND line of one payload raises its own expectation
    // (`irc_dcc_message` per line, `dcc-send.zeek`).
    let v = expects(
        &mut st,
        true,
        b"PRIVMSG a :\x01DCC SEND f0 167772167 20000 1\x01\r\nPRIVMSG a :\x01DCC SEND f1 167772168 20001 1\x01\r\n",
    );
    let got: Vec<_> = v.iter().map(|e| (e.resp_host, e.resp_port)).collect();
    assert_eq!(
        got,
        [
            (Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))), 20000),
            (Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 8))), 20001)
        ]
    );
    assert_eq!(names(&st), ["irc"]);
}

#[test]
fn irc_starttls() {
    // irc-starttls-sll: service irc,ssl.
    let mut st = ServiceState::new(
        set(&[Service::Irc, Service::Ssl]),
        Transport::Tcp,
        55123,
        6667,
    );
    st.on_payload(true, b"STARTTLS\r\n");
    st.on_payload(
        false,
        b":irc.joulunet.org 670  :STARTTLS successful, go ahead\r\n",
    );
    st.on_payload(true, &client_hello());
    st.on_payload(false, &server_hello());
    assert_eq!(names(&st), ["irc", "ssl"]);
}

#[test]
fn irc_by_signature() {
    let mut st = tcp(40000, 7000);
    st.on_payload(true, b"NICK bob\r\nUSER bob 0 * :Bob\r\n");
    assert!(
        names(&st).is_empty(),
        "needs the server reply signature too"
    );
    st.on_payload(false, b":server.example 001 bob :Welcome\r\n");
    assert_eq!(names(&st), ["irc"]);
}

#[test]
fn pop3_only_by_signature() {
    // pop3-basic: 110/tcp has no registered analyzer. POP3.cc confirms on
    // `+OK` to USER (or CAPA, STLS), not on the greeting.
    let mut st = ServiceState::new(set(&[Service::Pop3]), Transport::Tcp, 26272, 110);
    st.on_payload(false, b"+OK POP server ready\r\n");
    assert!(names(&st).is_empty());
    st.on_payload(true, b"USER bob\r\n");
    assert!(names(&st).is_empty(), "attached, but USER not answered yet");
    st.on_payload(false, b"+OK\r\n");
    assert_eq!(names(&st), ["pop3"]);
    // Without payload nothing is detected.
    let st = ServiceState::new(set(&[Service::Pop3]), Transport::Tcp, 26242, 110);
    assert!(names(&st).is_empty());
}

#[test]
fn smtp_by_port_and_starttls() {
    let mut st = tcp(1, 25);
    st.on_payload(false, b"220 mail.example ESMTP\r\n");
    st.on_payload(true, b"EHLO me\r\n");
    st.on_payload(false, b"250-mail.example\r\n250 STARTTLS\r\n");
    st.on_payload(true, b"STARTTLS\r\n");
    st.on_payload(false, b"220 2.0.0 Ready to start TLS\r\n");
    st.on_payload(true, &client_hello());
    assert_eq!(names(&st), ["smtp", "ssl"]);
}

#[test]
fn modbus_and_non_modbus_on_502() {
    // modbus-non-modbus-502, stream 0: real Modbus.
    let mut st = tcp(3082, 502);
    st.on_payload(true, &hex("0001000000060a0100000001"));
    st.on_payload(false, &hex("0001000000040a010100"));
    assert_eq!(names(&st), ["modbus"]);
    // Stream 1: a DCE/RPC bind to 502 is dce_rpc, not modbus.
    let mut bind = hex("05000b03100000004800000001000000b810b81000000000010000000000");
    bind.resize(72, 0);
    let mut st = tcp(38129, 502);
    st.on_payload(true, &bind);
    st.on_payload(false, &hex("05000b030003008001"));
    assert_eq!(names(&st), ["dce_rpc"]);
    // Stream 5: scanner text.
    let mut st = tcp(33752, 502);
    st.on_payload(true, b"MGLNDD_160.97.70.36_502\n");
    st.on_payload(false, &hex("4d474c4e00035fb101"));
    assert!(names(&st).is_empty());
    // Stream 6: an RDP cookie without an RDP server answer.
    let mut st = tcp(7488, 502);
    st.on_payload(
        true,
        b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=admin\r\n",
    );
    st.on_payload(false, &hex("0300002b0003008001"));
    assert!(names(&st).is_empty());
}

#[test]
fn redis_midstream_on_extra_port() {
    // redis-django-cloud: Redis::ports += {10625/tcp}, partial connection.
    let mut st = ServiceState::new(set(&[Service::Redis]), Transport::Tcp, 50044, 10625);
    st.attach_analyzer(Service::Redis);
    st.set_partial(true);
    st.on_payload(true, b"*2\r\n$3\r\nGET\r\n$14\r\n:1:factorial_3\r\n");
    st.on_payload(false, b"$1\r\n6\r\n");
    assert_eq!(names(&st), ["redis"]);
}

#[test]
fn redis_by_signature() {
    let mut st = tcp(1, 7777);
    st.on_payload(true, b"PING\r\n");
    st.on_payload(false, b"+PONG\r\n");
    assert_eq!(names(&st), ["redis"]);
}

#[test]
fn rdp_connect_request() {
    // The X.224 request alone does not confirm (`rdp-analyzer.pac` confirms
    // on the MCS Connect-Initial/-Response); a cookie-less one is a
    // violation.
    let mut st = tcp(1, 3389);
    st.on_payload(
        true,
        b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=a\r\n",
    );
    assert!(names(&st).is_empty());
    assert!(st.runs(Service::Rdp));
    let mut st = tcp(1, 3389);
    st.on_payload(
        true,
        b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00",
    );
    assert!(!st.runs(Service::Rdp));
}

#[test]
fn pop3_server_greeting_first_then_capa() {
    let mut only = ServiceSet::none();
    only.insert(Service::Pop3);
    let mut s = ServiceState::new(only, Transport::Tcp, 26272, 110);
    s.set_partial(false);
    let mut v = s.on_payload(
        false,
        b"+OK POP server ready H mimap4 0MHoUr-1VDxRD3Ui5-00\r\n",
    );
    assert_eq!(v.confirmed, None);
    // The POP3 parser is done, but the client signature can still attach it.
    assert!(s.wants_payload());
    v = s.on_payload(true, b"CAPA\r\n");
    assert_eq!(v.confirmed, None, "CAPA is answered later");
    s.on_payload(true, b"QUIT\r\n");
    v = s.on_payload(
        false,
        b"+OK Capability list follows\r\nTOP\r\nUSER\r\n.\r\n",
    );
    assert_eq!(v.confirmed, Some(Service::Pop3));
    assert_eq!(s.services().collect::<Vec<_>>(), vec![Service::Pop3]);
}

#[test]
fn ssl_confirms_once_the_client_hello_record_is_whole() {
    // `SSLRecord` is the flow unit: `proc_client_hello` runs on the whole
    // record.
    let hello = client_hello();
    let mut st = tcp(1, 443);
    st.on_payload(true, &hello[..300]);
    assert!(names(&st).is_empty());
    st.on_payload(true, &hello[300..]);
    assert_eq!(names(&st), ["ssl"]);
}
