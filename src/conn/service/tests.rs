//! Unit tests with payloads taken from the Zeek conformance traces
//! (`shared/conformance/zeek/cases/*`) or written after them.

use super::*;
use std::net::Ipv4Addr;

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

fn names(st: &ServiceState) -> Vec<&'static str> {
    st.services().map(Service::name).collect()
}

fn set(list: &[Service]) -> ServiceSet {
    let mut s = ServiceSet::none();
    for &x in list {
        s.insert(x);
    }
    s
}

fn tcp(orig_port: u16, resp_port: u16) -> ServiceState {
    ServiceState::new(ServiceSet::all(), Transport::Tcp, orig_port, resp_port)
}

fn udp(orig_port: u16, resp_port: u16) -> ServiceState {
    ServiceState::new(ServiceSet::all(), Transport::Udp, orig_port, resp_port)
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
fn names_round_trip() {
    for s in Service::ALL {
        assert_eq!(Service::from_name(s.name()), Some(s));
    }
    assert_eq!(Service::from_name("TLS"), Some(Service::Ssl));
    assert_eq!(Service::from_name("dce-rpc"), Some(Service::DceRpc));
    assert_eq!(ServiceSet::all().0.count_ones() as usize, SERVICE_COUNT);
}

#[test]
fn state_is_small() {
    // Boxed per connection only while an analyzer can still change the
    // outcome; the signature state and the parsers are out of line (2,048
    // bytes with all of them inline before).
    let n = std::mem::size_of::<ServiceState>();
    eprintln!("size_of::<ServiceState>() = {n}");
    assert!(n <= 136, "ServiceState is {n} bytes");
}

#[test]
fn parsers_exist_only_while_analyzers_run() {
    // No payload yet: neither signature state nor parsers.
    let mut st = tcp(40000, 80);
    assert_eq!(st.allocated(), (0, false));
    // A first request: HTTP confirms; the shadow parsers that rejected it
    // are gone already, the signature state stays for the DPD buffer.
    st.on_payload(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(names(&st), ["http"]);
    let (parsers, sigs) = st.allocated();
    assert!(sigs);
    assert!((1..=10).contains(&parsers), "{parsers} parsers allocated");
    // Past the DPD buffer: signature state dropped, only the attached HTTP
    // parser left.
    st.on_payload(false, &[b'x'; 1100]);
    assert_eq!(st.allocated(), (1, false));
    assert_eq!(names(&st), ["http"]);
}

#[test]
fn gap_before_any_payload_creates_the_http_parser() {
    // A gap changes HTTP's default state (it stops expecting a first line),
    // so its parser is created by the gap; other parsers are not.
    let mut st = tcp(40000, 80);
    st.on_gap(true);
    assert_eq!(st.allocated(), (1, false));
    // A flip before any payload allocates nothing.
    let mut st = tcp(40000, 80);
    st.flip();
    assert_eq!(st.allocated(), (0, false));
}

#[test]
fn ftp_stops_shadow_parsing_once_its_signature_cannot_fire() {
    // Off port 21 FTP is attached only by `dpd_ftp_server`, whose greeting
    // must be the server's first line: after a non-greeting first line on
    // both sides its parser goes, and the state decides sooner.
    let mut st = tcp(40000, 40001);
    st.on_payload(true, b"hello there\r\n");
    st.on_payload(false, b"500 nope\r\n");
    assert!(!st.p.tcp_has(Service::Ftp));
    assert_ne!(st.sig_dead & Service::Ftp.bit(), 0);
    // With the greeting FTP still runs and confirms off its port.
    let mut st = tcp(40000, 40001);
    st.on_payload(false, b"220 ready\r\n");
    st.on_payload(true, b"USER anonymous\r\n");
    st.on_payload(false, b"331 password\r\n");
    assert_eq!(names(&st), ["ftp"]);
}

#[test]
fn unknown_stream_releases_everything_after_the_dpd_buffer() {
    let mut st = tcp(40000, 40001);
    st.on_payload(true, &[0x5a; 600]);
    st.on_payload(false, &[0xa5; 600]);
    assert_eq!(st.allocated(), (0, false));
    assert!(!st.wants_payload());
}

#[test]
fn dns_query_survives_parser_release() {
    let mut st = udp(5353, 53);
    // A standard query for "a.b" (id 1, one question, type A).
    let q = hex("0001 0100 0001 0000 0000 0000 0161 0162 00 0001 0001");
    st.on_payload(true, &q);
    assert!(st.dns_query().is_some());
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
    let v = st.on_payload(
        false,
        b"227 Entering Passive Mode (199,233,217,249,221,90)\r\n",
    );
    assert_eq!(
        v.expect,
        Some(Expect {
            from_conn_orig: true,
            resp_host: Some(IpAddr::V4(Ipv4Addr::new(199, 233, 217, 249))),
            resp_port: 56666,
            service: Service::FtpData,
            any_orig: false,
        })
    );
    let v = st.on_payload(true, b"PORT 141,142,220,235,131,46\r\n");
    assert_eq!(
        v.expect,
        Some(Expect {
            from_conn_orig: false,
            resp_host: Some(IpAddr::V4(Ipv4Addr::new(141, 142, 220, 235))),
            resp_port: 33582,
            service: Service::FtpData,
            any_orig: false,
        })
    );
    st.on_payload(true, b"EPSV\r\n");
    let v = st.on_payload(false, b"229 Entering Extended Passive Mode (|||6446|)\r\n");
    let e = v.expect.unwrap();
    assert_eq!(
        (e.resp_host, e.resp_port, e.from_conn_orig),
        (None, 6446, true)
    );
    let v = st.on_payload(true, b"EPRT |2|2001:db8::1|5282|\r\n");
    assert_eq!(
        v.expect.unwrap().resp_host,
        Some("2001:db8::1".parse().unwrap())
    );
    // A 227 that does not answer PASV raises nothing.
    st.on_payload(true, b"LIST\r\n");
    let v = st.on_payload(false, b"227 Entering Passive Mode (1,2,3,4,5,6)\r\n");
    assert_eq!(v.expect, None);
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
    let v = st.on_payload(
        true,
        b"PRIVMSG tim1 :\x01DCC SEND ssh.trace 167772167 59130 1320211\x01\r\n",
    );
    let e = v.expect.unwrap();
    assert_eq!(e.service, Service::IrcDccData);
    assert!(e.any_orig);
    assert_eq!(e.resp_host, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))));
    assert_eq!(e.resp_port, 59130);
    // DCC CHAT schedules nothing.
    let v = st.on_payload(
        true,
        b"PRIVMSG tim1 :\x01DCC CHAT CHAT 167772167 59214\x01\r\n",
    );
    assert_eq!(v.expect, None);
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
fn dns_udp_query_and_reply() {
    // wikipedia-default.
    let mut st = udp(43927, 53);
    let q = hex("a7f4010000010000000000000675706c6f61640977696b696d65646961036f726700001c0001");
    let r = hex("a7f4818000010000000100000675706c6f61640977696b696d65646961036f726700001c0001c0130006000100000db70027036e7330c0130a686f73746d6173746572c01377dde9080000a8c000001c200012750000000258");
    let v = st.on_payload(true, &q);
    assert_eq!(v.confirmed, Some(Service::Dns));
    assert!(!v.flip);
    let v = st.on_payload(false, &r);
    assert!(!v.flip);
    assert_eq!(names(&st), ["dns"]);
    // The question is kept: upload.wikimedia.org, AAAA.
    let d = st.dns_query().expect("question kept");
    assert_eq!((d.name_len, d.labels, d.max_label, d.qtype), (20, 3, 9, 28));
    assert_eq!(d.suffix(), "wikimedia.org");
}

#[test]
fn dns_question_from_either_direction_kept_once() {
    let q1 = hex("a7f4010000010000000000000675706c6f61640977696b696d65646961036f726700001c0001");
    let q2 = hex("00010100000100000000000003777777076578616d706c6503636f6d0000010001");
    // A response alone carries no query.
    let mut st = udp(53, 43927);
    st.attach_analyzer(Service::Dns);
    let r = hex("a7f4818000010000000100000675706c6f61640977696b696d65646961036f726700001c0001c0130006000100000db70027036e7330c0130a686f73746d6173746572c01377dde9080000a8c000001c200012750000000258");
    st.on_payload(true, &r);
    assert_eq!(st.dns_query(), None);
    // A query from the responder side (before any flip) is kept ...
    st.on_payload(false, &q2);
    assert_eq!(
        st.dns_query().map(|d| d.suffix().to_string()),
        Some("example.com".into())
    );
    // ... and the first one stays.
    st.on_payload(false, &q1);
    assert_eq!(st.dns_query().map(|d| d.name_len), Some(15));
}

#[test]
fn dns_flips_when_first_message_is_a_response() {
    let r = hex("a7f4818000010000000100000675706c6f61640977696b696d65646961036f726700001c0001c0130006000100000db70027036e7330c0130a686f73746d6173746572c01377dde9080000a8c000001c200012750000000258");
    let mut st = udp(53, 43927);
    st.attach_analyzer(Service::Dns);
    let v = st.on_payload(true, &r);
    assert!(v.flip);
    st.flip();
    // Only the first message can flip.
    let v = st.on_payload(true, &r);
    assert!(!v.flip);
    assert_eq!(names(&st), ["dns"]);
    // Never towards a multicast responder.
    let mut st = udp(5353, 5353);
    st.set_resp_multicast(true);
    assert!(!st.on_payload(true, &r).flip);
}

#[test]
fn dns_mdns_netbios_llmnr() {
    let mdns = hex("0000000000010000000000000667656d696e69095f736674702d737368045f746370056c6f63616c0000210001");
    let nbns = hex("ff6e011000010000000000002045434643464845444441454445434444444944444545444245474445444341410000200001");
    let mut st = udp(5353, 5353);
    st.on_payload(true, &mdns);
    assert_eq!(names(&st), ["dns"]);
    let mut st = udp(137, 137);
    st.on_payload(true, &nbns);
    assert_eq!(names(&st), ["dns"]);
    let mut st = udp(65373, 5355);
    st.on_payload(true, &mdns);
    assert_eq!(names(&st), ["dns"]);
    // 138/udp (NetBIOS datagram) has no analyzer.
    let mut st = ServiceState::new(set(&[Service::Dns]), Transport::Udp, 138, 138);
    st.on_payload(true, &nbns);
    assert!(names(&st).is_empty());
    assert!(!st.wants_payload());
}

#[test]
fn dns_too_many_questions_is_a_violation() {
    let mut st = udp(1, 53);
    st.on_payload(true, &hex("0001010000ff0000000000000000010001"));
    assert!(names(&st).is_empty());
}

#[test]
fn dns_over_tcp() {
    let q = hex("a7f4010000010000000000000675706c6f61640977696b696d65646961036f726700001c0001");
    let mut framed = vec![0, q.len() as u8];
    framed.extend_from_slice(&q);
    let mut st = tcp(1, 53);
    st.on_payload(true, &framed);
    assert_eq!(names(&st), ["dns"]);
    assert_eq!(st.dns_query().map(|d| d.qtype), Some(28));
    // A message split over two payloads is not reassembled.
    let mut st = tcp(1, 53);
    st.on_payload(true, &framed[..10]);
    st.on_payload(true, &framed[10..]);
    assert_eq!(st.dns_query(), None);
}

#[test]
fn ntp_confirms_and_flips_by_mode() {
    // gre-sample: mode 3 (client) and mode 4 (server) messages.
    let client = hex("230b06ef00000000000002d67f7f0101c290f0ecd9a78f25c290f0c76aeb2000c290f0b6fe03b3e9c290f0f5d98dac25");
    let server = hex("240206ee000003bc000002e4cdbcb921c290f098e430a000c290f0f5d98dac25c290f1093be6f000c290f1093bf88000");
    let mut st = udp(123, 123);
    let v = st.on_payload(true, &client);
    assert_eq!((v.confirmed, v.flip), (Some(Service::Ntp), false));
    assert!(!st.on_payload(false, &server).flip);
    // A server-mode message from the originator flips, once.
    let mut st = udp(40000, 123);
    assert!(st.on_payload(true, &server).flip);
    st.flip();
    assert!(!st.on_payload(true, &server).flip);
    // NTP has no signature: nothing on other ports.
    let mut st = udp(40000, 40001);
    st.on_payload(true, &client);
    assert!(names(&st).is_empty());
}

#[test]
fn dhcp_by_port_and_signature() {
    let mut m = hex("01010600000007c00000000000000000000000000000000000000000");
    m.resize(236, 0);
    m.extend_from_slice(&hex("638253633501013204c0a8d3c2ff"));
    let mut st = udp(68, 67);
    assert_eq!(st.on_payload(true, &m).confirmed, Some(Service::Dhcp));
    let mut st = udp(5000, 5001);
    st.on_payload(true, &m);
    assert_eq!(names(&st), ["dhcp"]);
    let mut st = udp(68, 67);
    st.on_payload(true, &m[..100]);
    assert!(names(&st).is_empty());
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
fn rdpeudp_handshake() {
    // rdpeudp-success-ipv6 (bare mode, base/protocols/rdp).
    let mut syn = hex("ffffffff004018010b127f1504d004d0");
    syn.resize(1232, 0);
    let mut synack = hex("0b127f15004010050f94ea0b04d004d0");
    synack.resize(1232, 0);
    let ack = hex("0f94ea0b0400000c000000000b127f16");
    let mut st = ServiceState::new(set(&[Service::Rdp]), Transport::Udp, 61291, 3389);
    st.on_payload(true, &syn);
    st.on_payload(false, &synack);
    assert!(names(&st).is_empty());
    st.on_payload(true, &ack);
    assert_eq!(names(&st), ["rdpeudp"]);
}

#[test]
fn syslog_udp_and_tcp() {
    let mut st = udp(1, 514);
    st.on_payload(true, b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed");
    assert_eq!(names(&st), ["syslog"]);
    // tcp-syslog-raw-ipv4: octet-counted framing on a registered port.
    let mut st = ServiceState::new(set(&[Service::Syslog]), Transport::Tcp, 1, 12345);
    st.attach_analyzer(Service::SyslogTcp);
    st.on_payload(
        true,
        b"51 <13>Oct 11 22:14:15 mymachine su: 'su root' failed ",
    );
    assert_eq!(names(&st), ["syslog_tcp"]);
}

#[test]
fn quic_initials() {
    // Long headers that do not decrypt: a client Initial whose tag fails
    // is a violation (`decrypt_crypto.cc`), so no service.
    let mut st = udp(42834, 443);
    let mut ci = hex("c000000001 08 0001020304050607 00 00 4420");
    ci.resize(1200, 0);
    st.on_payload(true, &ci);
    assert!(names(&st).is_empty());
    assert!(!st.runs(Service::Quic));
}

#[test]
fn bare_mode_detects_nothing() {
    let mut st = ServiceState::new(ServiceSet::none(), Transport::Tcp, 1, 80);
    assert!(!st.wants_payload());
    st.on_payload(true, b"GET / HTTP/1.1\r\n\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn only_enabled_analyzers_attach() {
    let mut st = ServiceState::new(set(&[Service::Dns]), Transport::Tcp, 1, 80);
    st.on_payload(true, b"GET / HTTP/1.1\r\n\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn signatures_only_in_the_first_kilobyte() {
    let mut st = tcp(1, 9999);
    st.on_payload(false, &[b'x'; 1100]);
    st.on_payload(true, b"GET / HTTP/1.1\r\n\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn engine_confirmations_and_order() {
    let mut st = udp(53796, 5072);
    st.confirm(Service::Ayiya);
    st.confirm(Service::Ayiya);
    st.confirm(Service::FtpData);
    assert_eq!(names(&st), ["ayiya", "ftp-data"]);
}

#[test]
fn wants_payload_stops() {
    // UDP without a port analyzer: only the DHCP/QUIC/RDPEUDP signatures.
    let st = ServiceState::new(set(&[Service::Dns]), Transport::Udp, 1, 12345);
    assert!(!st.wants_payload());
    let st = udp(1, 12345);
    assert!(st.wants_payload());
    let mut st = tcp(1, 12345);
    assert!(st.wants_payload(), "signatures may still match");
    st.on_payload(true, &[0u8; 1500]);
    assert!(!st.wants_payload());
}

#[test]
fn never_panics_on_noise() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ports = [
        21u16, 22, 25, 53, 80, 123, 137, 443, 502, 514, 3389, 6379, 6667, 9999,
    ];
    for round in 0..400 {
        let t = if round % 2 == 0 {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let p = ports[round % ports.len()];
        let mut st = ServiceState::new(ServiceSet::all(), t, 40000, p);
        for _ in 0..20 {
            let len = (next() % 300) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next() as u8;
                    // Mix in protocol-looking bytes.
                    match r % 8 {
                        0 => b'\n',
                        1 => b' ',
                        2 => b'2',
                        _ => r,
                    }
                })
                .collect();
            let v = st.on_payload(next() % 2 == 0, &buf);
            if v.flip {
                st.flip();
            }
            if next() % 50 == 0 {
                st.on_gap(true);
            }
        }
        let _ = st.services().count();
    }
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

/// The vectorised byte-set search agrees with a plain scan.
#[test]
fn find_any_equals_a_plain_scan() {
    let mut rnd = test_rng(0x0bad_cafe_f00d_d00d);
    for round in 0..3000 {
        let n = (rnd() % 70) as usize;
        let data: Vec<u8> = (0..n).map(|_| (rnd() % 48) as u8 + 60).collect();
        let plain = |set: &[u8]| data.iter().position(|b| set.contains(b)).unwrap_or(n);
        assert_eq!(find_any(&data, [b'd']), plain(b"d"), "round {round}");
        assert_eq!(find_any(&data, [b'd', b'Z']), plain(b"dZ"), "round {round}");
        let eight = [b'C', b'D', b'r', b'd', b'c', b'M', b'\r', b'\n'];
        assert_eq!(find_any(&data, eight), plain(&eight), "round {round}");
    }
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
