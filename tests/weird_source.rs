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
use std::net::IpAddr;

fn a(s: &str) -> IpAddr {
    s.parse().unwrap()
}

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
/// (`ethernet/Ethernet.cc`, `Weird(..., packet)`): `ETHERNET`.
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
    assert_eq!(source(&ws, "truncated_link_header"), Some("ETHERNET"));
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
