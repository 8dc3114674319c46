//! Unit tests of the analyzers added for Zeek's full default set: their
//! confirmation and violation points, as cited in each parser's doc.

use super::*;

fn names(st: &ServiceState) -> Vec<&'static str> {
    st.services().map(Service::name).collect()
}

fn tcp(resp_port: u16) -> ServiceState {
    ServiceState::new(ServiceSet::all(), Transport::Tcp, 40000, resp_port)
}

fn udp(resp_port: u16) -> ServiceState {
    ServiceState::new(ServiceSet::all(), Transport::Udp, 40000, resp_port)
}

#[test]
fn package_names_expand() {
    let mut s = ServiceSet::none();
    s.insert_package(Service::from_name("ldap").unwrap());
    assert!(s.contains(Service::LdapTcp) && s.contains(Service::LdapUdp));
    let s = ServiceSet(Service::Krb.bit()).with_package_members();
    assert!(s.contains(Service::KrbTcp));
    let s = ServiceSet(Service::Ssl.bit()).with_package_members();
    assert!(s.contains(Service::Dtls));
    assert_eq!(Service::from_name("dnp3"), Some(Service::Dnp3Tcp));
}

#[test]
fn imap_segments_must_be_tokens() {
    let mut st = tcp(143);
    st.on_payload(false, b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    assert_eq!(names(&st), ["imap"]);
    // A segment that is not `TAG SP COMMAND ... CRLF` is a binpac exception.
    st.on_payload(true, b"hello\r\n");
    assert!(
        names(&st).is_empty(),
        "violation within 10 KiB removes imap"
    );
    // `login` in lower case stops the analyzer (SetSkip): later junk is ignored.
    let mut st = tcp(143);
    st.on_payload(true, b"a1 login bob secret\r\n");
    st.on_payload(false, b"junk without tag structure\r\n");
    assert_eq!(names(&st), ["imap"]);
    // Upper-case LOGIN does not (the grammar compares exactly).
    let mut st = tcp(143);
    st.on_payload(true, b"a1 LOGIN bob secret\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn pop3_pipelined_commands_answered_in_order() {
    // POP3 alone: in the default set the Redis signature
    // (`resp-serialized-server`) also matches a `+OK` greeting.
    let mut st = ServiceState::new(ServiceSet(Service::Pop3.bit()), Transport::Tcp, 40000, 110);
    st.attach_analyzer(Service::Pop3);
    st.on_payload(false, b"+OK ready\r\n");
    st.on_payload(true, b"USER bob\r\nPASS x\r\n");
    assert!(names(&st).is_empty());
    st.on_payload(false, b"+OK\r\n");
    assert_eq!(names(&st), ["pop3"], "+OK answers USER");
    // An unknown server word outside multi-line data is a violation.
    st.on_payload(false, b"+OK logged in\r\nBOGUS\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn xmpp_text_between_tags_is_a_violation() {
    let mut st = tcp(5222);
    st.on_payload(true, b"<stream:stream to='x' xmlns='jabber:client'>");
    assert_eq!(names(&st), ["xmpp"]);
    st.on_payload(true, b"<message><body>hi</body></message>");
    // `message` stops the analyzer before the text is reached.
    assert_eq!(names(&st), ["xmpp"]);
    let mut st = tcp(5222);
    st.on_payload(true, b"<stream:stream to='x'>");
    st.on_payload(false, b"<a>text</a>");
    assert!(names(&st).is_empty());
}

#[test]
fn ldap_messages_split_and_violations() {
    let bind = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
    ];
    let mut st = tcp(389);
    st.on_payload(true, &bind[..5]);
    assert!(names(&st).is_empty(), "incomplete message");
    st.on_payload(true, &bind[5..]);
    assert_eq!(names(&st), ["ldap_tcp"]);
    // Not a SEQUENCE: violation.
    let mut st = tcp(389);
    st.on_payload(true, b"\x01\x02 no BER here");
    assert!(names(&st).is_empty());
    assert!(!st.runs(Service::LdapTcp));
    // CLDAP: a whole datagram of messages; trailing junk is a violation.
    let mut st = udp(389);
    st.on_payload(true, &bind);
    assert_eq!(names(&st), ["ldap_udp"]);
    let mut junk = bind.to_vec();
    junk.push(0x99);
    let mut st = udp(389);
    st.on_payload(true, &junk);
    assert!(names(&st).is_empty());
}

/// `ldap.spicy`: an op unit that starts with `ASN1::ASN1Message(True)` is
/// parsed with `&size=opLen`, so a first element whose header or declared
/// length runs past the op is a parse error (long-form lengths included).
#[test]
fn ldap_first_element_must_fit_the_op() {
    let bind = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
    ];
    // DelRequest [APPLICATION 10] holding an OCTET STRING of 200 bytes with
    // a long-form length: fits.
    let mut del = vec![
        0x30, 0x81, 0xd1, 0x02, 0x01, 0x02, 0x6a, 0x81, 0xcb, 0x04, 0x81, 0xc8,
    ];
    del.extend_from_slice(&[b'a'; 200]);
    let mut st = tcp(389);
    st.on_payload(true, &bind);
    st.on_payload(true, &del);
    assert_eq!(names(&st), ["ldap_tcp"]);
    // The same element claiming 0x0100 bytes (`82 01 00`): past the op.
    let mut bad = vec![
        0x30, 0x81, 0xd2, 0x02, 0x01, 0x02, 0x6a, 0x81, 0xcc, 0x04, 0x82, 0x01, 0x00,
    ];
    bad.extend_from_slice(&[b'a'; 200]);
    let mut st = tcp(389);
    st.on_payload(true, &bind);
    st.on_payload(true, &bad);
    assert!(
        names(&st).is_empty(),
        "violation within 10 KiB removes ldap_tcp"
    );
    // An empty AbandonRequest (`50 00`): no room for the messageID.
    let mut st = tcp(389);
    st.on_payload(true, &bind);
    st.on_payload(true, &[0x30, 0x05, 0x02, 0x01, 0x03, 0x50, 0x00]);
    assert!(names(&st).is_empty());
    // UnbindRequest (`42 00`) is an empty unit: fine.
    let mut st = tcp(389);
    st.on_payload(true, &bind);
    st.on_payload(true, &[0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00]);
    assert_eq!(names(&st), ["ldap_tcp"]);
}

/// Found by fuzzing (`service_analyzers`): a messageID whose 8-byte BER
/// length is 2^64 - 1 overflowed the offset arithmetic.
#[test]
fn ldap_message_id_length_past_any_buffer() {
    let mut m = vec![0x30, 0x2d, 0x02, 0x88];
    m.extend_from_slice(&[0xff; 8]);
    m.extend_from_slice(b"-w',T[=*");
    let mut st = udp(389);
    st.on_payload(true, &m);
    assert!(names(&st).is_empty());
    let mut st = tcp(389);
    st.on_payload(true, &m);
    assert!(names(&st).is_empty(), "waits for a messageID it never gets");
}

#[test]
fn krb_tcp_message_split_over_segments() {
    // KRB-ERROR (pvno 5, error-code 25) inside the 4-byte length framing;
    // `KRB_ERROR_MSG` reads its elements up to the [6] error-code, so one
    // without it does not parse.
    let pdu = [
        0x7e, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa6, 0x03, 0x02, 0x01, 0x19,
    ];
    let mut m = (pdu.len() as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&pdu);
    let mut st = tcp(88);
    st.on_payload(false, &m[..7]);
    assert!(names(&st).is_empty());
    st.on_payload(false, &m[7..]);
    assert_eq!(names(&st), ["krb_tcp"]);
    // An unknown APPLICATION tag is a violation (KRB_PDU has no default case).
    let mut st = udp(88);
    st.on_payload(true, &[0x65, 0x03, 0x30, 0x01, 0x00]);
    assert!(names(&st).is_empty());
    assert!(!st.runs(Service::Krb));
}

#[test]
fn snmp_sip_radius_rules() {
    let get = [
        0x30, 0x19, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x0c,
        0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00,
    ];
    let mut st = udp(161);
    st.on_payload(true, &get);
    assert!(names(&st).is_empty(), "only a responder header confirms");
    st.on_payload(false, &get);
    assert_eq!(names(&st), ["snmp"]);
    let mut st = udp(161);
    st.on_payload(true, b"\x02\x01\x00");
    assert!(!st.runs(Service::Snmp), "wrong tag: violation");
    let mut st = udp(5060);
    st.on_payload(true, b"OPTIONS sip:x SIP/2.0\r\n\r\n");
    assert!(names(&st).is_empty());
    st.on_payload(false, b"SIP/2.0 200 OK\r\n\r\n");
    assert_eq!(names(&st), ["sip"]);
    let mut st = udp(1812);
    let mut r = vec![1, 1, 0, 22];
    r.extend_from_slice(&[0; 16]);
    r.extend_from_slice(&[1, 1]); // attribute length 1 < 2
    st.on_payload(true, &r);
    assert!(names(&st).is_empty() && !st.runs(Service::Radius));
}

#[test]
fn redis_violation_after_confirmation_removes_it() {
    let mut st = tcp(6379);
    st.on_payload(true, b"*1\r\n$4\r\nPING\r\n");
    st.on_payload(false, b"+PONG\r\n");
    assert_eq!(names(&st), ["redis"]);
    st.on_payload(false, b"*2\r\n$3\r\nfoo\r\n:42\r\n");
    assert_eq!(names(&st), ["redis"]);
    st.on_payload(false, b"not resp\r\n");
    assert!(names(&st).is_empty());
}

#[test]
fn postgres_ssl_refused_then_startup() {
    let mut st = tcp(5432);
    st.on_payload(true, &[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]);
    st.on_payload(false, b"N");
    assert_eq!(names(&st), ["postgresql"]);
    let mut startup = vec![0, 0, 0, 0x11, 0, 3, 0, 0];
    startup.extend_from_slice(b"user\0bob\0\0");
    st.on_payload(true, &startup);
    st.on_payload(false, b"Z\0\0\0\x05I");
    assert_eq!(names(&st), ["postgresql"]);
    // Major version 2: a violation.
    let mut st = tcp(5432);
    st.on_payload(true, &[0, 0, 0, 9, 0, 2, 0, 0, 0]);
    assert!(!st.runs(Service::Postgresql));
}

#[test]
fn socks4_reply_confirms() {
    let mut st = tcp(1080);
    st.on_payload(true, b"\x04\x01\x00\x50\x5d\xb8\xd8\x22bob\x00");
    st.on_payload(false, &[0, 0x5a, 0, 0, 0, 0, 0, 0]);
    assert_eq!(names(&st), ["socks"]);
    let mut st = tcp(1080);
    st.on_payload(true, b"\x07junk");
    assert!(!st.runs(Service::Socks), "unknown version");
}

#[test]
fn dtls_and_quic_share_443() {
    let mut st = udp(443);
    let mut d = vec![0x16, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 14];
    d.extend_from_slice(&[1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0xfe, 0xff]);
    st.on_payload(true, &d);
    assert_eq!(names(&st), ["dtls"]);
    // A QUIC Initial is no DTLS record: DTLS stops, QUIC goes on.
    let mut st = udp(443);
    // (A Handshake packet: no decryption is tried.)
    let mut q = vec![0xe0, 0, 0, 0, 1, 0, 0, 0x44, 0xa0];
    q.resize(1200, 0);
    st.on_payload(true, &q);
    assert!(!st.runs(Service::Dtls));
    assert!(st.runs(Service::Quic));
}

#[test]
fn smb_confirms_on_third_chunk_after_sync() {
    let mut st = tcp(445);
    st.on_payload(true, b"no smb header here");
    st.on_payload(true, b"still nothing");
    st.on_payload(true, &smb2_echo());
    st.on_payload(false, &smb2_echo());
    assert!(names(&st).is_empty());
    st.on_payload(true, &smb2_echo());
    assert_eq!(names(&st), ["smb"]);
}

/// An SMB2 ECHO request in NBSS framing: 64-byte header, 4-byte body.
fn smb2_echo() -> Vec<u8> {
    let mut m = vec![0, 0, 0, 68];
    m.extend_from_slice(b"\xfeSMB");
    m.extend_from_slice(&[64, 0, 0, 0, 0, 0, 0, 0, 13, 0]);
    m.resize(4 + 64, 0);
    m.extend_from_slice(&[4, 0, 0, 0]);
    m
}

#[test]
fn smb_message_shorter_than_its_header_is_a_violation() {
    // An 8-byte SMB2 message: binpac runs out of data in SMB2_Header.
    let mut st = tcp(445);
    let mut short = vec![0, 0, 0, 8];
    short.extend_from_slice(b"\xfeSMB\0\0\0\0");
    st.on_payload(true, &short);
    assert!(!st.runs(Service::Smb));
    // Confirmed first, then an ECHO response without its body: removed.
    let mut st = tcp(445);
    for _ in 0..3 {
        st.on_payload(true, &smb2_echo());
    }
    assert_eq!(names(&st), ["smb"]);
    let mut resp = smb2_echo();
    resp[3] = 64;
    resp.truncate(4 + 64);
    st.on_payload(false, &resp);
    assert!(names(&st).is_empty());
    // An error status needs the 8-byte error body; SMB1 its 32-byte header.
    let mut st = tcp(445);
    let mut err = smb2_echo();
    err[4 + 8..4 + 12].copy_from_slice(&0xc000_0022u32.to_le_bytes());
    st.on_payload(false, &err);
    assert!(!st.runs(Service::Smb));
    // An error response with a byte count (e.g. STATUS_BUFFER_TOO_SMALL's
    // 4 bytes): binpac reads a 28-byte SMB2_symlink_error and runs out.
    let mut st = tcp(445);
    let mut err = smb2_echo();
    err[4 + 8..4 + 12].copy_from_slice(&0xc000_0023u32.to_le_bytes());
    err[3] = 64 + 8 + 4;
    err.truncate(4 + 64);
    err.extend_from_slice(&[9, 0, 0, 0, 4, 0, 0, 0, 0x10, 0, 0, 0]);
    st.on_payload(false, &err);
    assert!(!st.runs(Service::Smb));
    let mut st = tcp(139);
    let mut smb1 = vec![0, 0, 0, 20];
    smb1.extend_from_slice(b"\xffSMB");
    smb1.resize(24, 0);
    st.on_payload(true, &smb1);
    assert!(!st.runs(Service::Smb));
    // Other NBSS message types and protocol ids are not parsed.
    let mut st = tcp(139);
    st.on_payload(true, b"\x81\0\0\x04\xfeSMB");
    st.on_payload(true, b"\0\0\0\x06\xfdSMB\0\0");
    assert!(st.runs(Service::Smb));
}

#[test]
fn mqtt_and_rfb() {
    let mut st = tcp(1883);
    st.on_payload(true, b"\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x3c");
    assert_eq!(names(&st), ["mqtt"]);
    let mut st = tcp(5900);
    st.on_payload(false, b"RFB 003.008\n");
    st.on_payload(true, b"RFB 003.008\n");
    assert_eq!(names(&st), ["rfb"]);
}

#[test]
fn dnp3_crc_check_value() {
    // CRC-16/DNP catalogue check value over "123456789".
    assert_eq!(proto::dnp3_crc_for_test(b"123456789"), 0xea82);
}

#[test]
fn socks_inner_stream_gets_a_fresh_pia() {
    // SOCKS5 on 1080 (also an HTTP port), then HTTP inside.
    let mut st = tcp(1080);
    st.on_payload(true, b"\x05\x01\x00");
    st.on_payload(false, b"\x05\x00");
    st.on_payload(true, b"\x05\x01\x00\x03\x0bexample.com\x00\x50");
    st.on_payload(false, b"\x05\x00\x00\x01\x0a\x00\x00\x01\x04\x38");
    assert_eq!(names(&st), ["socks"]);
    assert!(st.wants_payload());
    st.on_payload(true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    st.on_payload(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(names(&st), ["socks", "http"]);
}

#[test]
fn socks4a_reads_the_host_name() {
    let mut st = tcp(1080);
    st.on_payload(
        true,
        b"\x04\x01\x00\x50\x00\x00\x00\x01bob\x00example.com\x00",
    );
    st.on_payload(false, &[0, 0x5a, 0, 0, 0, 0, 0, 0]);
    assert_eq!(names(&st), ["socks"]);
    st.on_payload(true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    st.on_payload(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(names(&st), ["socks", "http"]);
}

#[test]
fn dce_rpc_violations_are_ignored() {
    // `redef DPD::ignore_violations += { Analyzer::ANALYZER_DCE_RPC }`: a
    // confirmed dce_rpc stays after a PDU header that is no DCE/RPC v5.
    let mut bind = vec![
        5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0, 0xb8, 0x10, 0xb8, 0x10,
    ];
    bind.resize(72, 0);
    let mut st = tcp(135);
    st.on_payload(true, &bind);
    assert_eq!(names(&st), ["dce_rpc"]);
    st.on_payload(false, b"HTTP/1.1 400 Bad Request\r\n\r\n");
    assert_eq!(names(&st), ["dce_rpc"]);
    assert!(st.attached & Service::DceRpc.bit() != 0 && st.disabled & Service::DceRpc.bit() == 0);
}

#[test]
fn new_parsers_never_panic() {
    // SOCKS, RDP, SMB and QUIC on their ports with mutated valid starts,
    // random cuts and both directions.
    let seeds: [(Transport, u16, &[u8]); 5] = [
        (
            Transport::Tcp,
            1080,
            b"\x05\x01\x00\x05\x00\x05\x01\x00\x03\x0bexample.com\x00\x50",
        ),
        (
            Transport::Tcp,
            1080,
            b"\x04\x01\x00\x50\x00\x00\x00\x01bob\x00host\x00",
        ),
        (
            Transport::Tcp,
            3389,
            b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x01\x00\x00\x00",
        ),
        (
            Transport::Tcp,
            445,
            b"\x00\x00\x00\x48\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x0d\x00",
        ),
        (
            Transport::Udp,
            443,
            b"\xc3\x00\x00\x00\x01\x08\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x44\xd0",
        ),
    ];
    let mut rnd = super::test_rng(0x51ed_270b_a9e3_7c11);
    for round in 0..4000 {
        let (t, port, seed) = seeds[round % seeds.len()];
        let mut st = ServiceState::new(ServiceSet::all(), t, 40000, port);
        for _ in 0..(1 + rnd() % 5) {
            let mut p = seed.to_vec();
            for _ in 0..(rnd() % 4) {
                let i = (rnd() as usize) % p.len();
                p[i] = rnd() as u8;
            }
            p.extend((0..(rnd() % 64)).map(|_| rnd() as u8));
            let cut = (rnd() as usize) % (p.len() + 1);
            st.on_payload(rnd() % 2 == 0, &p[..cut]);
            st.on_payload(rnd() % 2 == 0, &p[cut..]);
        }
    }
}
