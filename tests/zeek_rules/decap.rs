//! Decapsulation edges, each on a capture built here and run in Zeek's bare
//! mode (`zeek -b`, as the btests that exercise them): the expected conn.log
//! and weird.log values are read from Zeek's source, cited at each test.

use super::pcap::*;
use super::{a, outer_and_inner, rec, service};
use serde_json::Value;

/// Runs `connscope read` in bare mode on the pcap bytes; returns the
/// conn.log and weird.log records.
fn run_logs(name: &str, pcap: &[u8], extra: &[&str]) -> (Vec<Value>, Vec<Value>) {
    let args: Vec<&str> = ["--mode", "bare"].iter().chain(extra).copied().collect();
    let logs = super::run::read(name, pcap, &args);
    (logs.conn, logs.weird)
}

/// Outer UDP datagram from 10.1.0.1 to 10.1.0.2 in an Ethernet frame.
fn outer(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    frame(
        Link::Eth,
        &udp(
            a("10.1.0.1"),
            a("10.1.0.2"),
            sport,
            dport,
            payload,
            UdpSum::Good,
        ),
    )
}

/// A Geneve header (version 0, no options) with protocol type `proto`.
fn geneve(proto: u16) -> Vec<u8> {
    let p = proto.to_be_bytes();
    vec![0, 0, p[0], p[1], 0x12, 0x34, 0x56, 0]
}

fn uid(r: &Value) -> &str {
    r["uid"].as_str().unwrap()
}

/// Geneve's protocol type picks the next analyzer
/// (`scripts/base/packet-protocols/geneve/main.zeek`): 0x86DD (IPv6) goes
/// to IP with no Ethernet frame in between (the registration once read
/// 0x08DD; that value has no analyzer now), 0x0806 to ARP, which opens no
/// connection. `Geneve.cc` confirms as soon as its header parses, whatever
/// follows, and a protocol type without an analyzer is an unknown protocol,
/// not a weird. The inner IPv6 exchange is one connection, both directions
/// inside the one outer connection.
#[test]
fn geneve_carries_ipv6_and_arp_without_ethernet() {
    let (c, s) = (a("fd00::1"), a("fd00::2"));
    let there = udp(c, s, 40000, 40001, b"hello", UdpSum::Good);
    let back = udp(s, c, 40001, 40000, b"world", UdpSum::Good);
    let mut cap = Cap::default();
    cap.at(0, outer(40300, 6081, &cat(&[&geneve(0x86dd), &there])));
    cap.at(1, outer(40300, 6081, &cat(&[&geneve(0x86dd), &back])));
    // An ARP request (Ethernet/IPv4, 28 bytes) straight after the header.
    let arp = cat(&[
        &[0, 1, 8, 0, 6, 4, 0, 1],
        &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 10, 1, 0, 1],
        &[0, 0, 0, 0, 0, 0, 10, 1, 0, 2],
    ]);
    cap.at(2, outer(40301, 6081, &cat(&[&geneve(0x0806), &arp])));
    cap.at(3, outer(40302, 6081, &cat(&[&geneve(0x08dd), &there])));
    let (recs, weirds) = run_logs("geneve-ipv6-arp", &cap.bytes(), &["--analyzers", ""]);
    assert!(weirds.is_empty(), "{weirds:#?}");
    assert_eq!(recs.len(), 4, "{recs:#?}");
    let (tunnel, inner) = outer_and_inner(&recs, 6081);
    assert_eq!(tunnel["id.orig_p"], 40300);
    assert_eq!(service(tunnel), "geneve");
    assert_eq!(tunnel["conn_state"], "S0");
    assert_eq!(tunnel["history"], "D");
    // 20 + 8 + 8 (Geneve) + 53 (IPv6, UDP, 5 bytes), twice.
    assert_eq!(
        (&tunnel["orig_pkts"], &tunnel["orig_ip_bytes"]),
        (&2.into(), &178.into())
    );
    assert_eq!(inner.len(), 1, "{recs:#?}");
    let i = inner[0];
    assert_eq!(
        (&i["id.orig_h"], &i["id.resp_p"]),
        (&"fd00::1".into(), &40001.into())
    );
    assert_eq!(
        (&i["conn_state"], &i["history"]),
        (&"SF".into(), &"Dd".into())
    );
    assert_eq!((&i["orig_bytes"], &i["resp_bytes"]), (&5.into(), &5.into()));
    assert_eq!(
        (&i["orig_ip_bytes"], &i["resp_ip_bytes"]),
        (&53.into(), &53.into())
    );
    // ARP and the unregistered 0x08DD: confirmed, nothing inside.
    for port in [40301, 40302] {
        let r = recs.iter().find(|r| r["id.orig_p"] == port).unwrap();
        assert_eq!((service(r), &r["conn_state"]), ("geneve", &"S0".into()));
        assert_eq!(r["orig_pkts"], 1);
        let parented = recs.iter().filter(|x| x["tunnel_parents"][0] == uid(r));
        assert_eq!(parented.count(), 0, "{port}");
    }
}

/// AYIYA (`AYIYA.cc`): the identity is `1 << (byte 0 >> 4)` bytes, up to
/// 32768, counted in a `size_t` (an 8-bit count turned 256 into 0 and
/// forwarded from inside the header), the signature `(byte 1 >> 4) * 4`;
/// a forward message confirms once the whole header fits and hands the
/// rest to IP by the next-header byte (41: IPv6). A header longer than the
/// datagram is a violation: no service, nothing inside.
#[test]
fn ayiya_identity_of_256_bytes() {
    let inner = udp(
        a("fd00::1"),
        a("fd00::2"),
        40000,
        40001,
        b"zeek",
        UdpSum::Good,
    );
    let head = [0x81, 0x52, 0x11, 41, 0, 0, 0, 0];
    let mut cap = Cap::default();
    cap.at(
        0,
        outer(40310, 5072, &cat(&[&head, &[0; 256], &[0; 20], &inner])),
    );
    // The same header with a 100-byte identity: 8 + 256 + 20 do not fit.
    cap.at(1, outer(40311, 5072, &cat(&[&head, &[0; 100]])));
    let (recs, weirds) = run_logs("ayiya-256", &cap.bytes(), &["--analyzers", ""]);
    // Only the short datagram's violation is reported (connscope names it
    // `truncated_tunnel_header`; Zeek raises `analyzer_violation_info`).
    assert!(
        weirds.iter().all(|w| w["id.orig_p"] == 40311),
        "{weirds:#?}"
    );
    assert_eq!(recs.len(), 3, "{recs:#?}");
    let (tunnel, inner) = outer_and_inner(&recs, 5072);
    assert_eq!(tunnel["id.orig_p"], 40310);
    assert_eq!(service(tunnel), "ayiya");
    assert_eq!(tunnel["orig_ip_bytes"], 20 + 8 + 8 + 256 + 20 + 52);
    assert_eq!(inner.len(), 1, "{recs:#?}");
    assert_eq!(
        (&inner[0]["id.orig_h"], &inner[0]["id.resp_p"]),
        (&"fd00::1".into(), &40001.into())
    );
    assert_eq!(
        (&inner[0]["history"], &inner[0]["orig_ip_bytes"]),
        (&"D".into(), &52.into())
    );
    let short = recs.iter().find(|r| r["id.orig_p"] == 40311).unwrap();
    assert_eq!((service(short), &short["history"]), ("-", &"D".into()));
}

/// A TCP SYN with a wrong checksum inside VXLAN and Geneve
/// (`packet_analysis/protocol/tcp/TCP.cc`): the lookup comes first, so the
/// inner connection exists (its `ts`, the outer uid as tunnel parent), but
/// the segment only adds `C` (`TCP_Endpoint::ChecksumError`) and the weird
/// `bad_TCP_checksum` with the inner uid; it is not counted: 0 packets,
/// `OTH`. The outer connections confirm their tunnel (`VXLAN.cc`,
/// `Geneve.cc`: once the header parses). `bad_TCP_checksum` is logged
/// once per originator (`ACTION_LOG_PER_ORIG` in weird.zeek), so the two
/// inner SYNs come from two hosts.
#[test]
fn inner_tcp_bad_checksum_in_vxlan_and_geneve() {
    let bad_syn = |sport: u16| {
        let orig = if sport == 12345 {
            "10.0.0.1"
        } else {
            "10.0.0.3"
        };
        let mut p = tcp(a(orig), a("10.0.0.2"), sport, 80, 1, 0, SYN, &[]);
        p[36..38].copy_from_slice(&[0xde, 0xad]);
        frame(Link::Eth, &p)
    };
    let vxlan = [0x08, 0, 0, 0, 0, 0, 42, 0];
    let mut cap = Cap::default();
    cap.at(0, outer(23456, 4789, &cat(&[&vxlan, &bad_syn(12345)])));
    cap.at(
        1,
        outer(23457, 6081, &cat(&[&geneve(0x6558), &bad_syn(12346)])),
    );
    let (recs, weirds) = run_logs("inner-bad-tcp-sum", &cap.bytes(), &["--analyzers", ""]);
    assert_eq!(recs.len(), 4, "{recs:#?}");
    for (port, svc, sport) in [(4789, "vxlan", 12345), (6081, "geneve", 12346)] {
        let (tunnel, inner) = outer_and_inner(&recs, port);
        assert_eq!(
            (service(tunnel), &tunnel["conn_state"]),
            (svc, &"S0".into())
        );
        assert_eq!(inner.len(), 1, "{svc}");
        let i = inner[0];
        assert_eq!(i["id.orig_p"], sport);
        assert_eq!(
            (service(i), &i["history"], &i["conn_state"]),
            ("-", &"C".into(), &"OTH".into())
        );
        assert_eq!(
            (&i["orig_pkts"], &i["orig_ip_bytes"]),
            (&0.into(), &0.into())
        );
        assert_eq!(
            (&i["resp_pkts"], &i["resp_ip_bytes"]),
            (&0.into(), &0.into())
        );
        let w: Vec<&Value> = weirds.iter().filter(|w| w["uid"] == uid(i)).collect();
        assert_eq!(w.len(), 1, "{svc}: {weirds:#?}");
        assert_eq!(
            (&w[0]["name"], &w[0]["id.orig_p"]),
            (&"bad_TCP_checksum".into(), &sport.into())
        );
    }
    assert_eq!(weirds.len(), 2, "{weirds:#?}");
}

/// SOCKS5 with IPv6 addresses (`socks-protocol.pac` address type 4, 16
/// bytes; `socks-analyzer.pac`): the request is parsed, the reply confirms
/// the analyzer (`socks5_reply`), so the connection is `socks`. An address
/// type the parser does not know in the reply is a protocol violation
/// before the confirmation: no service.
#[test]
fn socks5_ipv6_request_and_reply() {
    let v6: [u8; 16] = [
        0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66, 0x77, 0x77, 0x88,
        0x88,
    ];
    let request = cat(&[&[5, 1, 0, 4], &v6, &[0, 80]]);
    let reply = cat(&[&[5, 0, 0, 4], &v6, &[0, 80]]);
    let mut bad_reply = reply.clone();
    bad_reply[3] = 5;
    let mut cap = Cap::default();
    for (port, t0, rep) in [(40001, 0, &reply), (40002, 100, &bad_reply)] {
        let mut c = Tcp {
            cap: &mut cap,
            link: Link::Eth,
            c: Side {
                addr: a("192.0.2.1"),
                port,
                seq: 1000,
            },
            s: Side {
                addr: a("192.0.2.2"),
                port: 1080,
                seq: 2000,
            },
        };
        c.handshake(t0);
        let t = c.talk(
            t0 + 10,
            &[
                (true, b"\x05\x01\x00"),
                (false, b"\x05\x00"),
                (true, &request),
                (false, rep),
            ],
        );
        c.close(t);
    }
    let (recs, _) = run_logs("socks5-ipv6", &cap.bytes(), &["--analyzers", "socks"]);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let good = recs.iter().find(|r| r["id.orig_p"] == 40001).unwrap();
    assert_eq!(
        (service(good), &good["conn_state"]),
        ("socks", &"SF".into())
    );
    assert_eq!(
        (&good["orig_bytes"], &good["resp_bytes"]),
        (&25.into(), &24.into())
    );
    let bad = recs.iter().find(|r| r["id.orig_p"] == 40002).unwrap();
    assert_eq!((service(bad), &bad["conn_state"]), ("-", &"SF".into()));
}

/// NFLOG (`packet_analysis/protocol/nflog/NFLog.cc`): a TLV other than the
/// payload whose length, rounded up to 4, is more than the bytes left from
/// its start is `nflog_bad_tlv_len` with addl `(rounded > left)`, and the
/// packet is dropped; the next frame decodes as usual.
#[test]
fn nflog_tlv_past_the_end_is_a_bad_length() {
    let pkt = udp(
        a("10.2.0.1"),
        a("10.2.0.2"),
        40400,
        9999,
        b"ok",
        UdpSum::Good,
    );
    let mut cap = Cap::default();
    // Header (AF_INET, version 0, resource 0), then a TLV of type 1 that
    // claims 256 bytes with 4 bytes of value: 8 bytes are left.
    cap.at(0, vec![2, 0, 0, 0, 0x00, 0x01, 0x01, 0x00, 0, 0, 0, 0]);
    let len = (4 + pkt.len() as u16).to_le_bytes();
    cap.at(1, cat(&[&[2, 0, 0, 0], &len, &[9, 0], &pkt]));
    let (recs, weirds) = run_logs(
        "nflog-past-end",
        &cap.bytes_as(239),
        &["--analyzers", "", "-C"],
    );
    assert_eq!(weirds.len(), 1, "{weirds:#?}");
    assert_eq!(
        (&weirds[0]["name"], &weirds[0]["addl"]),
        (&"nflog_bad_tlv_len".into(), &"(256 > 8)".into())
    );
    assert!(weirds[0].get("uid").is_none());
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(rec(&recs, "udp", 9999)["orig_pkts"], 1);
}

/// `PacketAnalyzer::max_depth` (`scripts/base/packet-protocols/main.zeek`,
/// 25): a packet whose analyzer chain grows past it is
/// `max_packet_analyzer_depth_exceeded` and opens no connection. Each PBB
/// header is two analyzers (PBB, then the customer frame's Ethernet,
/// `PBB.cc`), so 50 nested PBB frames are far past it; three are fine.
#[test]
fn pbb_chain_past_the_analyzer_depth() {
    let nest = |depth: usize, sport: u16| {
        let pkt = udp(
            a("192.0.2.1"),
            a("198.51.100.1"),
            sport,
            53,
            b"X",
            UdpSum::Good,
        );
        let mut f = frame(Link::Eth, &pkt);
        for _ in 0..depth {
            let outer_eth = [
                2, 0, 0, 0, 0x20, 2, 2, 0, 0, 0, 0x20, 1, 0x88, 0xe7, 0, 0, 0, 1,
            ];
            f = cat(&[&outer_eth, &f]);
        }
        f
    };
    let mut cap = Cap::default();
    cap.at(0, nest(50, 12345));
    cap.at(1, nest(3, 12346));
    let (recs, weirds) = run_logs("pbb-depth", &cap.bytes(), &["--analyzers", ""]);
    assert_eq!(weirds.len(), 1, "{weirds:#?}");
    assert_eq!(weirds[0]["name"], "max_packet_analyzer_depth_exceeded");
    assert!(weirds[0].get("uid").is_none());
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0]["id.orig_p"], 12346);
}

/// One TCP flow whose packets alternate between direct and GRE-encapsulated
/// (`Conn.cc::CheckEncapsulation`, `conn/main.zeek`'s `tunnel_changed`
/// handler): one connection, every packet counted, and the GRE tunnel's uid
/// (an IP tunnel: it has no conn.log record) is its one tunnel parent,
/// added at the first change from none to GRE. Whether later changes add
/// an `X` once `Tunnel::max_changes_per_connection` is reached is not
/// asserted: the stored Zeek sources count only GRE-to-GRE changes.
#[test]
fn alternating_direct_and_gre_is_one_connection() {
    let (c, s) = (a("10.20.0.1"), a("10.20.0.2"));
    let mut cap = Cap::default();
    for i in 0..20u32 {
        let seg = tcp(c, s, 44444, 80, 1 + i, 0, PSH | ACK, b"X");
        let pkt = if i % 2 == 0 {
            seg
        } else {
            ip(
                a("192.0.2.1"),
                a("198.51.100.1"),
                47,
                &cat(&[&[0, 0, 8, 0], &seg]),
            )
        };
        cap.at(u64::from(i), frame(Link::Eth, &pkt));
    }
    let (recs, weirds) = run_logs("direct-gre", &cap.bytes(), &["--analyzers", ""]);
    assert!(weirds.is_empty(), "{weirds:#?}");
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let r = &recs[0];
    assert_eq!(
        (&r["conn_state"], &r["orig_pkts"], &r["orig_ip_bytes"]),
        (&"OTH".into(), &20.into(), &820.into())
    );
    assert_eq!((&r["orig_bytes"], &r["resp_pkts"]), (&20.into(), &0.into()));
    assert!(r["history"].as_str().unwrap().starts_with('D'), "{r:#?}");
    assert_eq!(
        r["tunnel_parents"].as_array().map(Vec::len),
        Some(1),
        "{r:#?}"
    );
}
