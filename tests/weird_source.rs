//! weird.log's `source` column, end to end: captures this test builds
//! (`zeek_rules/pcap.rs`) run through the `connscope` binary
//! (`zeek_rules/run.rs`), each expected source read from Zeek's source at
//! the corpus's commit and cited at its test.
//!
//! The rule: a packet analyzer's `Weird(name, packet, addl)`
//! (`src/packet_analysis/Analyzer.cc`) calls `session_mgr->Weird(name,
//! packet, addl, GetAnalyzerName())`, a session analyzer's `Weird(name,
//! addl)` (`src/analyzer/Analyzer.cc`) calls `conn->Weird(name, addl,
//! GetAnalyzerName())`: the analyzer's canonical component name. A call
//! that passes no source (`session_mgr->Weird(name, ip_hdr)`,
//! `conn->Weird(name)`) leaves it empty, and `weird.zeek`'s handlers set
//! `source` only `if ( source != "" )`: unset, absent from the JSON.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use serde_json::Value;

/// The weird.log records of one run (JSON, seed 0).
fn weirds(name: &str, cap: &Cap) -> Vec<Value> {
    run::read(name, &cap.bytes(), &[]).weird
}

/// The one record named `name`; panics listing the names when there is
/// not exactly one.
fn only<'a>(ws: &'a [Value], name: &str) -> &'a Value {
    let hits: Vec<&Value> = ws.iter().filter(|w| w["name"] == name).collect();
    assert_eq!(hits.len(), 1, "{name} in {ws:#?}");
    hits[0]
}

/// The `source` of the record named `name` (`None` when absent).
fn source<'a>(ws: &'a [Value], name: &str) -> Option<&'a str> {
    let w = only(ws, name);
    w.get("source")
        .map(|s| s.as_str().expect("source is a string"))
}

/// The internet checksum of `data`.
fn cksum(data: &[u8]) -> u16 {
    let mut s: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Sets an IPv4 packet's flags/fragment-offset word and recomputes its
/// header checksum.
fn set_frag(pkt: &mut [u8], word: u16) {
    pkt[6..8].copy_from_slice(&word.to_be_bytes());
    pkt[10..12].copy_from_slice(&[0, 0]);
    let c = cksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// `bad_TCP_checksum`: `TCPAnalyzer::ValidateChecksum`
/// (`src/packet_analysis/protocol/tcp/TCP.cc`) calls
/// `adapter->Weird("bad_TCP_checksum")`, the TCP session adapter
/// (`IP::SessionAdapter("TCP", conn)`) whose `analyzer::Analyzer::Weird`
/// passes `GetAnalyzerName()`: `TCP`.
#[test]
fn bad_tcp_checksum_is_tcp() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    let mut seg = tcp(c, s, 40000, 80, 1000, 0, SYN, b"");
    seg[20 + 16] ^= 0x55;
    cap.at(0, frame(Link::Eth, &seg));
    let ws = weirds("tcp-checksum", &cap);
    assert_eq!(source(&ws, "bad_TCP_checksum"), Some("TCP"));
    // A connection weird: its uid and 4-tuple are set.
    let w = only(&ws, "bad_TCP_checksum");
    assert!(w["uid"].is_string(), "{w}");
    assert_eq!(w["id.resp_p"], 80);
}

/// `SYN_with_data`: `TCPSessionAdapter::SynWeirds`
/// (`src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`) calls
/// `endpoint->Conn()->Weird("SYN_with_data", "", GetAnalyzerName())`:
/// `TCP`. `spontaneous_FIN` (`UpdateInactiveState`: `Weird
/// ("spontaneous_FIN")`, the adapter's) is `TCP` too, but `weird.zeek`'s
/// `actions` ignore it (`ACTION_IGNORE`), so this test uses `SYN_with_data`
/// (`ACTION_LOG_PER_ORIG`).
#[test]
fn syn_with_data_is_tcp() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    cap.at(
        0,
        frame(Link::Eth, &tcp(c, s, 40001, 80, 1000, 0, SYN, b"hello")),
    );
    let ws = weirds("syn-data", &cap);
    assert_eq!(source(&ws, "SYN_with_data"), Some("TCP"));
}

/// `SYN_seq_jump` from `init_endpoint`, a static function of
/// `TCPSessionAdapter.cc`: `endpoint->Conn()->Weird("SYN_seq_jump")`, so
/// `Connection::Weird`'s default source `""` (`src/Conn.h`): unset. A
/// second SYN-ACK with another sequence number reaches it (`IsReuse` lets
/// a SYN-ACK through once the originator is active).
#[test]
fn syn_seq_jump_has_no_source() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    cap.at(
        0,
        frame(Link::Eth, &tcp(c, s, 40002, 80, 1000, 0, SYN, b"")),
    );
    let synack = |seq| frame(Link::Eth, &tcp(s, c, 80, 40002, seq, 1001, SYN | ACK, b""));
    cap.at(10, synack(5000));
    cap.at(20, synack(9000));
    let ws = weirds("syn-seq-jump", &cap);
    assert_eq!(source(&ws, "SYN_seq_jump"), None);
}

/// `truncated_IP`: `IPAnalyzer::AnalyzePacket`
/// (`src/packet_analysis/protocol/ip/IP.cc`): `Weird("truncated_IP",
/// packet)` with under 20 bytes, the IP analyzer's: `IP`. The Ethernet
/// frame around it cut inside its header is the Ethernet analyzer's
/// (`ethernet/Ethernet.cc`: `if ( 16 >= len ) Weird(
/// "truncated_ethernet_frame", packet)`): `ETHERNET`.
#[test]
fn truncated_ip_is_ip_and_truncated_ethernet_is_ethernet() {
    let mut cap = Cap::default();
    let mut f = frame(Link::Eth, &[0x45; 20]);
    f.truncate(14 + 12);
    cap.at(0, f);
    let mut g = frame(Link::Eth, &[0x45; 20]);
    g.truncate(10);
    cap.at(10, g);
    let ws = weirds("truncated-ip", &cap);
    assert_eq!(source(&ws, "truncated_IP"), Some("IP"));
    assert_eq!(source(&ws, "truncated_ethernet_frame"), Some("ETHERNET"));
}

/// `truncated_header` is raised by `IPBasedAnalyzer::CheckHeaderTrunc`
/// (`src/packet_analysis/protocol/ip/IPBasedAnalyzer.cc`, `Weird(...,
/// packet)`) for whichever transport analyzer calls it: `UDPAnalyzer::
/// InitConnKey` (`udp/UDP.cc`) with 8 bytes, `TCPAnalyzer`'s (`tcp/TCP.cc`)
/// with 20. One name, the source of the analyzer that raised it: `UDP`,
/// `TCP`.
#[test]
fn truncated_header_follows_the_transport() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    cap.at(0, frame(Link::Eth, &ip(c, s, 17, &[0, 53, 0, 53])));
    let ws = weirds("truncated-udp", &cap);
    assert_eq!(source(&ws, "truncated_header"), Some("UDP"));
    let mut cap = Cap::default();
    cap.at(0, frame(Link::Eth, &ip(c, s, 6, &[0; 12])));
    let ws = weirds("truncated-tcp", &cap);
    assert_eq!(source(&ws, "truncated_header"), Some("TCP"));
}

/// `bad_UDP_checksum`: `UDPSessionAdapter::HandleBadChecksum`
/// (`src/packet_analysis/protocol/udp/UDPSessionAdapter.cc`):
/// `Weird("bad_UDP_checksum")`, the adapter's (`IP::SessionAdapter("UDP",
/// conn)`): `UDP`.
#[test]
fn bad_udp_checksum_is_udp() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    let d = udp(c, s, 40000, 5353, b"payload!", UdpSum::Bad);
    cap.at(0, frame(Link::Eth, &d));
    let ws = weirds("udp-checksum", &cap);
    assert_eq!(source(&ws, "bad_UDP_checksum"), Some("UDP"));
}

/// Fragments: `FragReassembler::AddFragment` (`src/Frag.cc`) raises
/// `s->Weird("fragment_with_DF", ip)` and `s->Weird(
/// "excessively_small_fragment", ip)`: `session::Manager::Weird(name,
/// ip_hdr, addl)` (`src/session/Manager.cc`) calls `reporter->Weird(src,
/// dst, name, addl)` with no source, a `flow_weird` that `weird.zeek` logs
/// with both addresses, ports 0 and no source.
#[test]
fn fragment_flow_weirds_have_no_source() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    // A first fragment (more to follow) with DF set, 36 bytes long.
    let mut p = ip(c, s, 17, &[0u8; 16]);
    set_frag(&mut p, 0x4000 | 0x2000);
    cap.at(0, frame(Link::Eth, &p));
    let ws = weirds("fragment", &cap);
    for name in ["fragment_with_DF", "excessively_small_fragment"] {
        assert_eq!(source(&ws, name), None, "{name}");
        let w = only(&ws, name);
        assert_eq!(w["id.orig_h"], "10.0.0.1");
        assert_eq!(w["id.orig_p"], 0);
        assert_eq!(w["id.resp_p"], 0);
        assert!(w.get("uid").is_none(), "{w}");
    }
}

/// The names of the weird.log rows.
fn names(ws: &[Value]) -> Vec<&str> {
    ws.iter().map(|w| w["name"].as_str().unwrap()).collect()
}

/// Link-layer truncations are named by each analyzer: PPPoE.cc `if ( 8 >=
/// len ) Weird("truncated_pppoe_header", packet)` (source `PPPOE`),
/// VLAN.cc `if ( 4 >= len ) Weird("truncated_VLAN_header", packet)`,
/// Ethernet.cc `if ( 16 >= len ) Weird("truncated_ethernet_frame",
/// packet)`: exactly at the bound, not one byte past it.
#[test]
fn link_truncations_use_each_analyzers_name() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let pkt = udp(c, s, 40000, 53, b"x", UdpSum::Good);
    let mut cap = Cap::default();
    // PPPoE with exactly its 8 bytes (6 + the PPP protocol).
    let mut f = frame(Link::Pppoe(1), &pkt);
    f.truncate(14 + 8);
    cap.at(0, f);
    // A VLAN tag with nothing after it.
    let mut f = frame(Link::Vlans(&[(0x8100, 5)]), &pkt);
    f.truncate(14 + 4);
    cap.at(10, f);
    // 16 bytes of Ethernet.
    let mut f = frame(Link::Eth, &pkt);
    f.truncate(16);
    cap.at(20, f);
    let ws = weirds("link-names", &cap);
    assert_eq!(source(&ws, "truncated_pppoe_header"), Some("PPPOE"));
    assert_eq!(source(&ws, "truncated_VLAN_header"), Some("VLAN"));
    assert_eq!(source(&ws, "truncated_ethernet_frame"), Some("ETHERNET"));
    assert!(!names(&ws).contains(&"truncated_PPPoE_header"), "{ws:#?}");
}

/// `TCPAnalyzer::ExtractTCP_Header` (`tcp/TCP.cc`): `if ( tcp_hdr_len <
/// sizeof(struct tcphdr) ) adapter->Weird("bad_TCP_header_len")`; `if (
/// tcp_hdr_len > uint32_t(len) || tcp_hdr_len > uint32_t(remaining) )
/// adapter->Weird("truncated_header")`: a data offset below 20 bytes is
/// the one, a header longer than the segment the other. Both on the
/// connection (the adapter's `Weird`): uid set, source `TCP`.
#[test]
fn tcp_data_offset_weirds() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    let mut short = tcp(c, s, 40010, 80, 1000, 0, SYN, b"");
    short[20 + 12] = 0x40; // 16 bytes
    cap.at(0, frame(Link::Eth, &short));
    let mut long = tcp(c, s, 40011, 80, 1000, 0, SYN, b"");
    long[20 + 12] = 0xf0; // 60 bytes in a 20-byte segment
    cap.at(10, frame(Link::Eth, &long));
    let ws = weirds("tcp-offset", &cap);
    let bad = only(&ws, "bad_TCP_header_len");
    assert_eq!(
        (bad["id.orig_p"].as_u64(), bad["source"].as_str()),
        (Some(40010), Some("TCP"))
    );
    assert!(bad["uid"].is_string(), "{bad}");
    let trunc = only(&ws, "truncated_header");
    assert_eq!(
        (trunc["id.orig_p"].as_u64(), trunc["source"].as_str()),
        (Some(40011), Some("TCP"))
    );
    assert!(trunc["uid"].is_string(), "{trunc}");
}

/// `UDPAnalyzer::DeliverPacket` (`udp/UDP.cc`): `if ( ulen != len )
/// adapter->Weird("UDP_datagram_length_mismatch", util::fmt("%d != %d",
/// ulen, len))`, the UDP length field and the IP payload length.
#[test]
fn udp_length_mismatch_has_its_addl() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    let mut d = udp(c, s, 40000, 5353, &[7u8; 20], UdpSum::Zero);
    d[20 + 4..20 + 6].copy_from_slice(&24u16.to_be_bytes());
    cap.at(0, frame(Link::Eth, &d));
    let ws = weirds("udp-len", &cap);
    let w = only(&ws, "UDP_datagram_length_mismatch");
    assert_eq!(w["addl"], "24 != 28");
    assert_eq!(w["source"], "UDP");
}

/// GRE.cc: `Weird("unknown_gre_version", packet, util::fmt("version=%d",
/// gre_version))`; `Weird("egre_protocol_type", packet, util::fmt(
/// "proto=%d", proto_typ))` for version 1 without PPTP's 0x880b; `Weird(
/// "gre_routing", packet)` for the routing bit.
#[test]
fn gre_weirds_and_their_addl() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    cap.at(
        0,
        frame(Link::Eth, &ip(c, s, 47, &[0, 2, 0x08, 0, 0, 0, 0, 0])),
    );
    cap.at(
        10,
        frame(Link::Eth, &ip(c, s, 47, &[0, 1, 0x08, 0, 0, 0, 0, 0])),
    );
    cap.at(
        20,
        frame(Link::Eth, &ip(c, s, 47, &[0x40, 0, 0x08, 0, 0, 0, 0, 0])),
    );
    let ws = weirds("gre", &cap);
    let v = only(&ws, "unknown_gre_version");
    assert_eq!(
        (v["addl"].as_str(), v["source"].as_str()),
        (Some("version=2"), Some("GRE"))
    );
    let e = only(&ws, "egre_protocol_type");
    assert_eq!(e["addl"], "proto=2048");
    assert_eq!(source(&ws, "gre_routing"), Some("GRE"));
}

/// `weird.zeek`'s `actions`: `["spontaneous_FIN"] = ACTION_IGNORE`,
/// `["spontaneous_RST"] = ACTION_IGNORE`; `do_weird` returns before
/// `Log::write`. A FIN and a RST that start connections log nothing.
#[test]
fn ignored_weirds_are_not_logged() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    cap.at(
        0,
        frame(Link::Eth, &tcp(c, s, 40020, 80, 1000, 1, FIN | ACK, b"")),
    );
    cap.at(
        10,
        frame(Link::Eth, &tcp(c, s, 40021, 80, 1000, 0, 0x04, b"")),
    );
    let ws = weirds("spontaneous", &cap);
    for n in ["spontaneous_FIN", "spontaneous_RST"] {
        assert!(!names(&ws).contains(&n), "{n} in {ws:#?}");
    }
}

/// Zeek has no weird for a truncated IPv6 extension header
/// (`IPv6_Hdr_Chain::Init`, src/IP.cc, stops at it): nothing is logged.
#[test]
fn truncated_ipv6_extension_header_is_not_a_zeek_weird() {
    let (c, s) = (a("2001:db8::1"), a("2001:db8::2"));
    let mut cap = Cap::default();
    // Next header 0 (hop-by-hop) with 4 of its 8 bytes.
    cap.at(0, frame(Link::Eth, &ip(c, s, 0, &[17, 0, 0, 0])));
    let ws = weirds("v6-ext", &cap);
    assert!(
        !names(&ws).contains(&"truncated_IPv6_extension_header"),
        "{ws:#?}"
    );
}

/// Weird sampling (src/Reporter.cc `PermitNetWeird`): per name, the first
/// `Weird::sampling_threshold` (25, `scripts/base/init-bare.zeek`) are
/// reported, then one in `sampling_rate` (1000); the name's count is
/// dropped `sampling_duration` (10 min) after its first weird
/// (`NetWeirdTimer`). `weird.zeek`'s `do_weird` then drops repeats of a
/// name and identifier (empty without addresses) for 10 min
/// (`weird_ignore`, `&create_expire=10min`), so of these 31 (26 past the
/// reporter) Zeek logs 2: the first, and the one eleven minutes later.
/// (The reporter's own counts: `engine::weirds` unit tests.)
#[test]
fn net_weirds_are_sampled_per_name() {
    let mut cap = Cap::default();
    for i in 0..30 {
        let mut f = frame(Link::Eth, &[0x45; 20]);
        f.truncate(14 + 12);
        cap.at(i, f);
    }
    // Eleven minutes later the count starts again.
    let mut f = frame(Link::Eth, &[0x45; 20]);
    f.truncate(14 + 12);
    cap.at(660_000, f);
    let ws = weirds("sampling", &cap);
    let n = ws.iter().filter(|w| w["name"] == "truncated_IP").count();
    assert_eq!(n, 2, "{ws:#?}");
}

/// A tunnel header with nothing after it: `VXLAN_Analyzer::AnalyzePacket`
/// (`src/packet_analysis/protocol/vxlan/VXLAN.cc`) confirms the header,
/// then `Weird("vxlan_empty_packet", packet)` when `len == 0`; Geneve.cc
/// and AYIYA.cc name theirs `geneve_empty_packet` / `ayiya_empty_packet`.
/// The source is the tunnel's analyzer.
#[test]
fn an_empty_tunnel_packet_is_named_by_its_tunnel() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    // VXLAN: the I flag and a VNI, nothing after the 8-byte header.
    let vxlan = [0x08, 0, 0, 0, 0, 0, 1, 0];
    cap.at(
        0,
        frame(Link::Eth, &udp(c, s, 40000, 4789, &vxlan, UdpSum::Good)),
    );
    // Geneve: version 0, no options, protocol Ethernet, nothing after it.
    let geneve = [0, 0, 0x65, 0x58, 0, 0, 1, 0];
    cap.at(
        1,
        frame(Link::Eth, &udp(c, s, 40001, 6081, &geneve, UdpSum::Good)),
    );
    let ws = weirds("tunnel-empty", &cap);
    assert_eq!(source(&ws, "vxlan_empty_packet"), Some("VXLAN"), "{ws:#?}");
    assert_eq!(
        source(&ws, "geneve_empty_packet"),
        Some("GENEVE"),
        "{ws:#?}"
    );
    assert!(ws.iter().all(|w| w["name"] != "tunnel_empty_packet"));
}
