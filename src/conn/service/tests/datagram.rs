//! Unit tests of the datagram protocols' service identification (and their
//! TCP framings where Zeek has one): DNS, NTP, DHCP, RDPEUDP, syslog and QUIC.
//!
//! Must not: read capture files (payloads are inline, cut from the traces).

use super::*;

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
    // A message split over two payloads is reassembled (`Contents_DNS`)
    // and confirms; its question is not kept for the detectors.
    let mut st = tcp(1, 53);
    st.on_payload(true, &framed[..10]);
    assert!(names(&st).is_empty());
    st.on_payload(true, &framed[10..]);
    assert_eq!(names(&st), ["dns"]);
    assert_eq!(st.dns_query(), None);
}

#[test]
fn dns_over_tcp_flush_at_close() {
    let q = hex("a7f4010000010000000000000675706c6f61640977696b696d65646961036f726700001c0001");
    // A length of 100, then the whole 38-byte query: parsed at close only.
    let mut cut = vec![0, 100];
    cut.extend_from_slice(&q);
    let mut st = tcp(1, 53);
    st.on_payload(true, &cut);
    assert!(names(&st).is_empty());
    let v = st.on_close();
    assert_eq!((v.confirmed, v.flip), (Some(Service::Dns), false));
    // Only the header came: nothing at close. `Flush` leaves `buf_n` and
    // sets `msg_size` to 0, so the next bytes start a new length: the
    // whole query after it confirms (it would not complete the cut
    // 100-byte message).
    let mut st = tcp(1, 53);
    st.on_payload(true, &cut[..14]);
    assert_eq!(st.on_close(), Verdict::default());
    let mut framed = vec![0, q.len() as u8];
    framed.extend_from_slice(&q);
    let v = st.on_payload(true, &framed);
    assert_eq!(v.confirmed, Some(Service::Dns));
    // Nothing held: closing changes nothing; UDP never flushes.
    let mut st = tcp(1, 53);
    st.on_payload(true, &cut[..2]);
    assert_eq!(st.on_close(), Verdict::default());
    let mut st = udp(1, 53);
    st.on_payload(true, &q[..20]);
    assert_eq!(st.on_close(), Verdict::default());
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
