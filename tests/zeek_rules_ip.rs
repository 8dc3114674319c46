//! Zeek's IP- and transport-level rules on malformed or unusual packets,
//! each on a capture this test builds (`zeek_rules/pcap.rs`) and run
//! through the `connscope` binary. The expected conn.log and weird.log
//! values are written from Zeek's source, cited at each test:
//!
//! 1. a transport header cut short by the IP length (`truncated_header`) or
//!    by the capture (`internally_truncated_header`);
//! 2. IGMP has a packet analyzer of its own and makes no connection;
//! 3. fragment weirds (`fragment_with_DF`, `excessively_small_fragment`,
//!    `excessively_large_fragment`) and an IPv6 datagram whose reassembled
//!    payload length wraps past 65,535 (`invalid_IP_header_size`);
//! 4. the TLS DPD signatures in either direction;
//! 5. MLD message truncation weirds of the ICMPv6 analyzer.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::Logs;
use serde_json::Value;
use std::net::IpAddr;

/// Runs `connscope read` (JSON logs, seed 0) with `extra` options.
fn run(name: &str, cap: &Cap, extra: &[&str]) -> Logs {
    run::read(name, &cap.bytes(), extra)
}

/// `IPBasedAnalyzer::CheckHeaderTrunc` (`src/packet_analysis/protocol/ip/
/// IPBasedAnalyzer.cc`), called by the TCP, UDP and ICMP analyzers before a
/// connection is looked up: an IP payload length below the transport's
/// minimum header is `truncated_header`; a header the payload length holds
/// but the capture does not (a snaplen cut it) is
/// `internally_truncated_header`. Neither packet makes a connection.
#[test]
fn transport_header_truncation_names_the_cut() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    // A SYN captured up to its IP header: the IP length covers the TCP
    // header, the capture does not.
    let syn = frame(Link::Eth, &tcp(c, s, 12345, 80, 1000, 0, SYN, &[]));
    let wire = syn.len() as u32;
    cap.at_cut(0, syn[..34].to_vec(), wire);
    // A UDP "header" of 6 bytes, fully captured: the IP length is short.
    cap.at(
        1,
        frame(Link::Eth, &ip(c, s, 17, &[0x9c, 0x40, 0, 53, 0, 6])),
    );
    let logs = run("trunc", &cap, &["--mode", "bare", "--analyzers", ""]);
    assert!(logs.conn.is_empty(), "{:#?}", logs.conn);
    assert_eq!(
        logs.weird_names(),
        ["internally_truncated_header", "truncated_header"]
    );
}

/// IGMP (IP protocol 2) goes to Zeek's IGMP packet analyzer, registered in
/// every mode (`scripts/base/packet-protocols/igmp/main.zeek`:
/// `try_register_packet_analyzer_by_name("IP", 0x02, "IGMP")`). It is not
/// a transport analyzer (`src/packet_analysis/protocol/igmp/`): no
/// connection, unlike another unknown protocol (`UnknownIPTransport.cc`).
#[test]
fn igmp_makes_no_connection() {
    let (h, g) = (a("10.0.0.1"), a("239.0.0.1"));
    let mut report = vec![0x16, 0, 0, 0];
    report.extend_from_slice(&[239, 0, 0, 1]);
    let mut cap = Cap::default();
    cap.at(0, frame(Link::Eth, &ip(h, g, 2, &report)));
    cap.at(1, frame(Link::Eth, &ip(h, g, 2, &report)));
    cap.at(2, frame(Link::Eth, &ip(h, g, 253, &[1, 2, 3, 4])));
    let logs = run("igmp", &cap, &["--mode", "bare", "--analyzers", ""]);
    assert_eq!(logs.conn.len(), 1, "{:#?}", logs.conn);
    let r = &logs.conn[0];
    assert_eq!(r["proto"], "unknown_transport");
    assert_eq!(r["ip_proto"], 253);
    assert_eq!(r["orig_pkts"], 1);
    assert!(logs.weird.is_empty(), "{:#?}", logs.weird);
}

/// An IPv4 fragment of UDP with its flags (DF, MF) and offset in bytes.
fn frag4(src: IpAddr, dst: IpAddr, id: u16, df: bool, mf: bool, off: u16, data: &[u8]) -> Vec<u8> {
    let mut p = ip(src, dst, 17, data);
    let flags = (u16::from(df) << 14) | (u16::from(mf) << 13) | (off / 8);
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&flags.to_be_bytes());
    p[10..12].copy_from_slice(&[0, 0]);
    let mut sum = 0u32;
    for c in p[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p
}

/// `FragReassembler::AddFragment` (`src/Frag.cc`) raises, per fragment it
/// takes, `fragment_with_DF` (IPv4 DF set), `excessively_small_fragment`
/// (more fragments follow and the IP total length is below 64) and
/// `excessively_large_fragment` (the data ends past byte 64,000), as flow
/// weirds (`weird.zeek`'s `flow_weird`: both addresses, ports 0). The
/// datagram still completes and makes its connection.
#[test]
fn fragment_weirds_are_flow_weirds() {
    let (c, s) = (a("192.0.2.1"), a("198.51.100.2"));
    // UDP header + 16 bytes in the first fragment (IP total 44), 8 more after.
    let mut datagram = vec![0x9c, 0x40, 0x1f, 0x90, 0, 32, 0, 0];
    datagram.extend_from_slice(&[0x41; 24]);
    let mut cap = Cap::default();
    cap.at(
        0,
        frame(Link::Eth, &frag4(c, s, 7, false, true, 0, &datagram[..24])),
    );
    cap.at(
        1,
        frame(Link::Eth, &frag4(c, s, 7, true, false, 24, &datagram[24..])),
    );
    let logs = run("frag4", &cap, &["-C", "--mode", "bare", "--analyzers", ""]);
    assert_eq!(
        logs.weird_names(),
        ["excessively_small_fragment", "fragment_with_DF"]
    );
    for w in &logs.weird {
        assert_eq!(w["id.orig_h"], "192.0.2.1");
        assert_eq!(w["id.resp_h"], "198.51.100.2");
        assert_eq!(w["id.orig_p"], 0);
        assert_eq!(w["id.resp_p"], 0);
        assert!(w.get("uid").is_none_or(Value::is_null), "{w}");
    }
    assert_eq!(logs.conn.len(), 1, "{:#?}", logs.conn);
    let r = &logs.conn[0];
    assert_eq!(r["proto"], "udp");
    assert_eq!(r["orig_pkts"], 1);
    assert_eq!(r["orig_ip_bytes"], 52);
}

/// IPv6 fragments (after a hop-by-hop header) of a 65,528-byte UDP
/// datagram. Reassembled, the payload length is 8 + 65,528 = 65,536, which
/// Zeek writes with `htons` (`src/Frag.cc`) as 0; `IP.cc` then finds the
/// header chain (48 bytes) longer than the total length (40) and drops the
/// datagram: `invalid_IP_header_size`, no connection. The two fragments
/// whose data ends past byte 64,000 each raise `excessively_large_fragment`,
/// a flow weird of one address pair: weird.zeek logs the second of the
/// same name and identifier (`src -> dst`) within 10 minutes no more
/// (`weird_ignore`), so one row.
#[test]
fn ipv6_reassembly_past_65535_is_invalid_header_size() {
    let (src, dst) = (
        "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap(),
        "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap(),
    );
    let data = vec![0x5au8; 65_528];
    let mut cap = Cap::default();
    for (i, chunk) in data.chunks(1440).enumerate() {
        let off = i * 1440;
        let more = off + chunk.len() < data.len();
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((16 + chunk.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 64]); // hop-by-hop next
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // HBH, PadN: fragment next
        let fo = ((off / 8) as u16) << 3 | u16::from(more);
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&fo.to_be_bytes());
        p.extend_from_slice(&0xa000_0000u32.to_be_bytes());
        p.extend_from_slice(chunk);
        cap.at(i as u64, frame(Link::Eth, &p));
    }
    let logs = run("frag6", &cap, &["--mode", "bare", "--analyzers", ""]);
    assert!(logs.conn.is_empty(), "{:#?}", logs.conn);
    assert_eq!(
        logs.weird_names(),
        ["excessively_large_fragment", "invalid_IP_header_size"]
    );
    assert_eq!(logs.weird[0]["id.orig_h"], "2001:db8::1");
}

/// A TLS record holding one handshake message of `kind` (1 ClientHello,
/// 2 ServerHello) with version 1.2.
fn tls_hello(kind: u8) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x11; 32]);
    if kind == 1 {
        body.extend_from_slice(&[0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]);
    } else {
        body.extend_from_slice(&[0x00, 0x00, 0x2f, 0x00]);
    }
    let mut hs = vec![kind, 0x00];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// `scripts/base/protocols/ssl/dpd.sig` as of the Zeek the conformance
/// corpus comes from (2026-08): `dpd_ssl_client` carries `tcp-state
/// originator` and `dpd_ssl_server` `tcp-state responder` (each enables
/// "ssl" alone since zeek/zeek#1953). A ClientHello from the TCP responder
/// followed by a ServerHello from the originator matches neither, so on a
/// port without a registered analyzer the connection has no service. (A
/// later Zeek drops the `tcp-state`s, zeek/zeek#5896; connscope follows the
/// corpus's Zeek.) The same hellos in the usual direction give `ssl`.
#[test]
fn tls_hellos_in_reversed_tcp_roles_are_not_ssl() {
    for reversed in [true, false] {
        let mut cap = Cap::default();
        let mut t = Tcp {
            cap: &mut cap,
            link: Link::Eth,
            c: Side {
                addr: a("192.0.2.10"),
                port: 41000,
                seq: 1000,
            },
            s: Side {
                addr: a("192.0.2.20"),
                port: 31338,
                seq: 5000,
            },
        };
        t.handshake(0);
        let (client, server) = (tls_hello(1), tls_hello(2));
        let talk: [(bool, &[u8]); 2] = if reversed {
            [(false, &client), (true, &server)]
        } else {
            [(true, &client), (false, &server)]
        };
        t.talk(10, &talk);
        t.close(100);
        let logs = run("tls-rev", &cap, &["--mode", "bare", "--analyzers", "ssl"]);
        assert_eq!(logs.conn.len(), 1, "{:#?}", logs.conn);
        let r = &logs.conn[0];
        assert_eq!(r["id.orig_p"], 41000);
        assert_eq!(r["conn_state"], "SF");
        if reversed {
            assert!(r.get("service").is_none(), "{r}");
        } else {
            assert_eq!(r["service"], "ssl");
        }
    }
}

/// `ICMPAnalyzer::MLDReport` / `MLDReportV2` (`src/packet_analysis/
/// protocol/icmp/ICMP.cc`), run for every accepted MLD message: an MLDv1
/// report without its 16-byte group is `truncated_ICMPv6_MLDv1`; an MLDv2
/// report shorter than 20 bytes per announced record is
/// `truncated_ICMPv6_MLDv2`; a record whose sources or auxiliary data run
/// past the message is `truncated_ICMPv6_MLDv2_record`. A well-formed
/// report raises nothing. Each is a connection weird.
#[test]
fn mld_truncation_weirds() {
    let group = "ff02::1:3".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let srcs = [a("fe80::1"), a("fe80::2"), a("fe80::3"), a("fe80::4")];
    let dst = a("ff02::16");
    // A record: type, aux words, source count, group, sources, aux data.
    let record = |aux_words: u8, nsrc: u16, carried_src: usize, aux: &[u8]| {
        let mut r = vec![1, aux_words];
        r.extend_from_slice(&nsrc.to_be_bytes());
        r.extend_from_slice(&group);
        for _ in 0..carried_src {
            r.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        }
        r.extend_from_slice(aux);
        r
    };
    let v2 = |records: u16, recs: &[u8]| {
        let mut b = vec![0, 0];
        b.extend_from_slice(&records.to_be_bytes());
        b.extend_from_slice(recs);
        b
    };
    let mut cap = Cap::default();
    // Well formed: one source and one word of auxiliary data.
    let good = v2(1, &record(1, 1, 1, &[1, 2, 3, 4]));
    cap.at(0, frame(Link::Eth, &icmp6(srcs[0], dst, 143, 0, &good)));
    // Claims three sources, carries two.
    let short_rec = v2(1, &record(0, 3, 2, &[]));
    cap.at(
        1,
        frame(Link::Eth, &icmp6(srcs[1], dst, 143, 0, &short_rec)),
    );
    // Announces two records, carries one without sources (20 bytes).
    let short_msg = v2(2, &record(0, 0, 0, &[]));
    cap.at(
        2,
        frame(Link::Eth, &icmp6(srcs[2], dst, 143, 0, &short_msg)),
    );
    // MLDv1 report (131) with only 8 bytes after the header.
    let v1 = [0u8; 12];
    cap.at(3, frame(Link::Eth, &icmp6(srcs[3], dst, 131, 0, &v1)));
    let logs = run("mld", &cap, &["--mode", "bare", "--analyzers", ""]);
    assert_eq!(logs.conn.len(), 4, "{:#?}", logs.conn);
    assert_eq!(
        logs.weird_names(),
        [
            "truncated_ICMPv6_MLDv2_record",
            "truncated_ICMPv6_MLDv2",
            "truncated_ICMPv6_MLDv1"
        ]
    );
    let orig = |i: usize| logs.weird[i]["id.orig_h"].as_str().unwrap_or("");
    assert_eq!(
        [orig(0), orig(1), orig(2)],
        ["fe80::2", "fe80::3", "fe80::4"]
    );
    assert!(logs.weird.iter().all(|w| w["uid"].is_string()));
}
