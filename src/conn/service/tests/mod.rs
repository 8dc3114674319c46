//! Unit tests with payloads taken from the Zeek conformance traces
//! (`shared/conformance/zeek/cases/*`) or written after them.
//!
//! Files: `mod.rs` the helpers and the tests of the service state itself
//! (names, sizes, which parsers exist when, modes, the signature window,
//! noise); `stream.rs` the stream protocols; `datagram.rs` the datagram
//! protocols.

mod datagram;
mod stream;

use super::*;

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
    // The stream parsers' slots (one box per TCP connection with payload):
    // a pointer per parser, XMPP's and Finger's few bytes inline.
    let s = proto::Parsers::stream_slots_bytes();
    eprintln!("stream parser slots = {s}");
    assert!(s <= 184, "TcpParsers is {s} bytes");
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
