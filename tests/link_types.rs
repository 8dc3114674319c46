//! Link types Zeek reads without a link layer connscope had: Linux NFLOG
//! (`LINKTYPE_NFLOG`, 239) and link types without an analyzer, end to end
//! through the `connscope` binary. The same TCP and UDP (IPv4 and IPv6)
//! packets are written as Ethernet, as NFLOG in a little-endian and in a
//! big-endian pcap, and under an unknown link type; conn.log must hold the
//! same records for all of them (connscope writes no link-layer column by
//! default), and the broken frames mixed in must give the weirds Zeek's
//! source names:
//!
//! - `src/packet_analysis/protocol/nflog/NFLog.cc`: `truncated_nflog_header`
//!   (4 bytes or fewer), `unknown_nflog_version` (version byte not 0),
//!   `nflog_bad_tlv_len` (a TLV length below 4, or one that, rounded up to
//!   4, runs past the bytes left), `nflog_no_pcap_payload` (the TLVs end
//!   without the payload TLV, type 9);
//!   families 2 and 10 go to IP (`scripts/base/packet-protocols/nflog/
//!   main.zeek`), another family to no analyzer, which
//!   `Analyzer::ForwardPacket` (`src/packet_analysis/Analyzer.cc`) reports
//!   as an unknown protocol, not a weird.
//! - NFLOG's TLV type and length are in the capturing host's byte order;
//!   libpcap swaps them for the reading host when the file's byte order
//!   differs (`swap_nflog_header`, `pcap_post_process`), so they follow the
//!   file's byte order.
//! - An unknown link type goes to the root analyzer's `default_analyzer`,
//!   IP (`scripts/base/packet-protocols/root/main.zeek`): the frame is an
//!   IP packet; `IP.cc` says `truncated_IP` under 20 bytes, else
//!   `unknown_ip_version` when it is not IPv4/IPv6.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use serde_json::Value;

/// The good traffic, in Ethernet frames: a TCP connection (handshake, data
/// both ways, close), a UDP exchange over IPv4 and one over IPv6.
fn traffic() -> Cap {
    let mut cap = Cap::default();
    let mut t = Tcp {
        cap: &mut cap,
        link: Link::Eth,
        c: Side {
            addr: a("10.0.0.7"),
            port: 40000,
            seq: 1000,
        },
        s: Side {
            addr: a("93.184.216.34"),
            port: 8080,
            seq: 5000,
        },
    };
    t.handshake(0);
    let end = t.talk(
        10,
        &[(true, b"hello server"), (false, b"hello client, longer")],
    );
    t.close(end);
    let (c, s) = (a("10.0.0.7"), a("10.0.0.9"));
    cap.at(
        100,
        frame(Link::Eth, &udp(c, s, 40001, 9999, b"ping", UdpSum::Good)),
    );
    cap.at(
        101,
        frame(Link::Eth, &udp(s, c, 9999, 40001, b"pong!", UdpSum::Good)),
    );
    let (c6, s6) = (a("fd00::7"), a("fd00::9"));
    cap.at(
        110,
        frame(Link::Eth, &udp(c6, s6, 40002, 9998, b"ping6", UdpSum::Good)),
    );
    cap.at(
        111,
        frame(
            Link::Eth,
            &udp(s6, c6, 9998, 40002, b"pong6!", UdpSum::Good),
        ),
    );
    cap
}

/// One NFLOG TLV: type, length field, value, zero padding to 4 bytes
/// (type and length in big-endian when `be`).
fn tlv(f: &mut Vec<u8>, be: bool, t: u16, len: u16, value: &[u8]) {
    let w = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    f.extend_from_slice(&w(len));
    f.extend_from_slice(&w(t));
    f.extend_from_slice(value);
    while f.len() % 4 != 0 {
        f.push(0);
    }
}

/// An NFLOG frame as the kernel writes one: header (family, version 0,
/// resource id 1 big-endian), `NFULA_PACKET_HDR` (8), `NFULA_PREFIX`
/// ("connscope\0": length 14, padded to 16), `NFULA_UID` (8), then the
/// payload TLV (type 9) with the IP packet.
fn nflog(family: u8, be: bool, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![family, 0, 0, 1];
    let proto: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
        0x86dd
    } else {
        0x0800
    };
    let p = proto.to_be_bytes();
    tlv(&mut f, be, 1, 8, &[p[0], p[1], 3, 0]);
    tlv(&mut f, be, 10, 14, b"connscope\0");
    tlv(&mut f, be, 11, 8, &[0, 0, 3, 0xe8]);
    let w = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    f.extend_from_slice(&w(4 + ip.len() as u16));
    f.extend_from_slice(&w(9));
    f.extend_from_slice(ip);
    f
}

/// The IP packet of an Ethernet frame built by `frame(Link::Eth, ..)`.
fn ip_of(eth: &[u8]) -> &[u8] {
    &eth[14..]
}

/// Classic pcap with link type `lt`, microsecond timestamps, in big-endian
/// (`be`) or little-endian byte order.
fn pcap_file(lt: u32, be: bool, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let w32 = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let w16 = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let mut out = w32(0xa1b2_c3d4).to_vec();
    out.extend_from_slice(&w16(2));
    out.extend_from_slice(&w16(4));
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&w32(65535));
    out.extend_from_slice(&w32(lt));
    for (t, f) in frames {
        out.extend_from_slice(&w32((t / 1_000_000) as u32));
        out.extend_from_slice(&w32((t % 1_000_000) as u32));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(f);
    }
    out
}

/// Microseconds `ms` milliseconds after the traffic's start.
fn at(ms: u64) -> u64 {
    T0 + ms * 1000
}

/// The NFLOG capture: every good frame in NFLOG (family 2 or 10 as its IP
/// version), and between them broken frames, with the weird each gives
/// (`None`: none).
fn nflog_frames(be: bool) -> (Vec<(u64, Vec<u8>)>, Vec<&'static str>) {
    let mut frames: Vec<(u64, Vec<u8>)> = traffic()
        .frames
        .iter()
        .map(|(t, eth)| {
            let ip = ip_of(eth);
            let fam = if ip[0] >> 4 == 6 { 10 } else { 2 };
            (*t, nflog(fam, be, ip))
        })
        .collect();
    let some_ip = ip_of(&traffic().frames[0].1).to_vec();
    let mut broken: Vec<(Vec<u8>, Option<&'static str>)> = Vec::new();
    // Four bytes or fewer.
    broken.push((vec![2, 0, 0], Some("truncated_nflog_header")));
    broken.push((vec![2, 0, 0, 1], Some("truncated_nflog_header")));
    // Version 1.
    let mut f = nflog(2, be, &some_ip);
    f[1] = 1;
    broken.push((f, Some("unknown_nflog_version")));
    // A TLV length of 2.
    let mut f = vec![2, 0, 0, 1];
    tlv(&mut f, be, 1, 2, &[0, 0]);
    tlv(&mut f, be, 9, 24, &some_ip[..20]);
    broken.push((f, Some("nflog_bad_tlv_len")));
    // A TLV running past the end of the frame.
    let mut f = vec![2, 0, 0, 1];
    tlv(&mut f, be, 10, 400, b"prefix\0\0");
    broken.push((f, Some("nflog_bad_tlv_len")));
    // TLVs but no payload TLV.
    let mut f = vec![2, 0, 0, 1];
    tlv(&mut f, be, 1, 8, &[8, 0, 3, 0]);
    tlv(&mut f, be, 11, 8, &[0, 0, 3, 0xe8]);
    broken.push((f, Some("nflog_no_pcap_payload")));
    // A payload of 3 bytes: the IP analyzer's truncated_IP.
    let mut f = vec![2, 0, 0, 1];
    tlv(&mut f, be, 1, 8, &[8, 0, 3, 0]);
    tlv(&mut f, be, 9, 7, &[0x45, 0, 0]);
    broken.push((f, Some("truncated_IP")));
    // An unknown family: no analyzer, no weird, no connection.
    broken.push((nflog(7, be, &some_ip), None));
    let mut want = Vec::new();
    // Between the handshake and the data (the TCP connection's packets
    // are at 0..=2 ms, then 10 ms on).
    for (i, (f, w)) in broken.into_iter().enumerate() {
        frames.push((at(3) + i as u64 * 100, f));
        want.extend(w);
    }
    frames.sort_by_key(|(t, _)| *t);
    want.sort();
    // weird.zeek's `do_weird`: a weird without addresses has the empty
    // identifier, so its name is logged once per 10 minutes
    // (`weird_ignore`): the two frames of a kind give one row.
    want.dedup();
    (frames, want)
}

/// conn.log records (by uid) and sorted weird names of `connscope read` on
/// `bytes`; every weird here is a decode weird (no uid).
fn run(name: &str, bytes: &[u8], extra: &[&str]) -> (Vec<Value>, Vec<String>) {
    let logs = run::read(name, bytes, extra);
    let mut conns = logs.conn;
    conns.sort_by_key(|r| r["uid"].as_str().unwrap_or("").to_string());
    let mut weirds: Vec<String> = logs
        .weird
        .iter()
        .map(|w| {
            assert!(w.get("uid").is_none(), "{name}: {w}");
            w["name"].as_str().unwrap().to_string()
        })
        .collect();
    weirds.sort();
    (conns, weirds)
}

/// Ethernet's records: a TCP, a UDP and a UDP-over-IPv6 connection, in
/// full.
fn ethernet_records(extra: &[&str]) -> Vec<Value> {
    let eth = traffic().bytes();
    let (conns, weirds) = run("eth", &eth, extra);
    assert!(weirds.is_empty(), "{weirds:?}");
    assert_eq!(conns.len(), 3, "{conns:#?}");
    let tcp = conns.iter().find(|r| r["proto"] == "tcp").unwrap();
    assert_eq!(tcp["conn_state"], "SF");
    assert_eq!(tcp["history"], "ShADadFf");
    assert_eq!(
        (&tcp["orig_bytes"], &tcp["resp_bytes"]),
        (&12.into(), &20.into())
    );
    for (h, resp_bytes) in [("10.0.0.9", 5), ("fd00::9", 6)] {
        let u = conns.iter().find(|r| r["id.resp_h"] == h).unwrap();
        assert_eq!(
            (&u["proto"], &u["conn_state"]),
            (&"udp".into(), &"SF".into())
        );
        assert_eq!(u["resp_bytes"], resp_bytes);
    }
    conns
}

#[test]
fn nflog_little_and_big_endian_give_ethernets_records_and_zeeks_weirds() {
    let want = ethernet_records(&[]);
    for be in [false, true] {
        let (frames, want_weirds) = nflog_frames(be);
        let bytes = pcap_file(239, be, &frames);
        let name = if be { "nflog-be" } else { "nflog-le" };
        let (conns, weirds) = run(name, &bytes, &[]);
        assert_eq!(conns, want, "{name}");
        assert_eq!(weirds, want_weirds, "{name}");
        assert_eq!(weirds.len(), 5);
        // Sharded by the IP packet inside: the same with two workers.
        let (conns, weirds) = run(&format!("{name}-j2"), &bytes, &["-j", "2"]);
        assert_eq!(conns, want, "{name} -j 2");
        assert_eq!(weirds, want_weirds, "{name} -j 2");
        // The TLVs read in the wrong byte order: no packet found (the
        // swapped lengths run past the end, or leave no payload TLV).
        let wrong = pcap_file(239, !be, &frames);
        let (conns, weirds) = run(&format!("{name}-swapped"), &wrong, &[]);
        assert!(conns.is_empty(), "{name} swapped: {conns:#?}");
        assert!(
            weirds
                .iter()
                .filter(|w| *w == "nflog_no_pcap_payload" || *w == "nflog_bad_tlv_len")
                .count()
                >= 1,
            "{name} swapped: {weirds:?}"
        );
    }
}

/// Only the link-layer columns differ: NFLOG has no MAC addresses.
#[test]
fn nflog_has_no_l2_addresses() {
    let eth = ethernet_records(&["--mac-fields"]);
    assert!(eth.iter().all(|r| r["orig_l2_addr"].is_string()));
    let (frames, _) = nflog_frames(false);
    let (conns, _) = run(
        "nflog-mac",
        &pcap_file(239, false, &frames),
        &["--mac-fields"],
    );
    assert_eq!(conns.len(), eth.len());
    for (n, e) in conns.iter().zip(&eth) {
        assert!(
            n.get("orig_l2_addr").is_none() && n.get("resp_l2_addr").is_none(),
            "{n}"
        );
        let strip = |r: &Value| {
            let mut r = r.clone();
            let m = r.as_object_mut().unwrap();
            m.remove("orig_l2_addr");
            m.remove("resp_l2_addr");
            r
        };
        assert_eq!(strip(n), strip(e));
    }
}

/// An unknown link type is raw IP to Zeek: the reader opens the file, the
/// packets give Ethernet's records, non-IP frames give the IP analyzer's
/// weirds.
#[test]
fn unknown_link_type_is_raw_ip() {
    let want = ethernet_records(&[]);
    let mut frames: Vec<(u64, Vec<u8>)> = traffic()
        .frames
        .iter()
        .map(|(t, eth)| (*t, ip_of(eth).to_vec()))
        .collect();
    frames.push((at(3), vec![0x00, 0x01, 0x02]));
    frames.push((at(4), vec![0x45; 19]));
    frames.push((at(5), vec![0x00; 20]));
    frames.push((at(6), vec![0xff; 60]));
    frames.sort_by_key(|(t, _)| *t);
    // LINKTYPE_USER0 and a value no one assigned, in either byte order.
    for (lt, be) in [(147, false), (147, true), (60_000, false)] {
        let (conns, weirds) = run(&format!("lt{lt}"), &pcap_file(lt, be, &frames), &[]);
        assert_eq!(conns, want, "{lt}");
        assert_eq!(
            weirds,
            [
                // (one row per name: weird.zeek logs a weird without
                // addresses once per 10 minutes)
                "truncated_IP",
                "unknown_ip_version",
            ],
            "{lt}"
        );
    }
}
