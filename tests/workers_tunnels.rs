//! `-j N` writes the records of `-j 1` for tunnels whose two directions
//! travel between different outer address pairs (`engine::shard`):
//!
//! * Teredo: a client behind a NAT sends an ICMPv6 echo request through its
//!   server (UDP 3544) and gets the reply from a relay on an ordinary port,
//!   then opens a TCP connection through the relay (Zeek's
//!   `tunnels/Teredo.pcap` has the same shape, and these are its
//!   addresses, which split over two shards by address pair);
//! * 6to4: a host sends through the anycast relay 192.88.99.1 and hears back
//!   from another relay (addresses chosen to split over two, three and four
//!   shards by address pair).
//!
//! The capture is built here (`zeek_rules/pcap.rs`) and read with one, two,
//! three and four workers; conn.log and weird.log must hold the same lines.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;

use pcap::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const CLIENT: &str = "192.168.2.16";
const CPORT: u16 = 3797;
const SERVER: &str = "65.55.158.80";
const RELAY: &str = "83.170.1.38";
const RPORT: u16 = 32900;
/// The client's Teredo address: server 65.55.158.80, mapped 70.55.215.234:3797.
const T: &str = "2001:0:4137:9e50:8000:f12a:b9c8:2815";
const PEER: &str = "2001:4860:0:2001::68";

const HOST4: &str = "198.51.100.7";
const HOST6: &str = "2002:c633:6407::1";
const ANYCAST: &str = "192.88.99.1";
const RELAY6TO4: &str = "203.0.113.2";
const WEB6: &str = "2001:db8:1::80";

/// A Teredo origin indication (port and address inverted).
fn origin(port: u16, addr: [u8; 4]) -> Vec<u8> {
    let mut o = vec![0, 0];
    o.extend_from_slice(&(!port).to_be_bytes());
    o.extend(addr.iter().map(|b| !b));
    o
}

/// An IPv6 bubble (next header 59, no payload).
fn bubble(src: &str, dst: &str) -> Vec<u8> {
    ip(a(src), a(dst), 59, &[])
}

/// The capture: the Teredo exchanges, then a 6to4 connection.
fn capture() -> Cap {
    let mut cap = Cap::default();
    let teredo = |from: (&str, u16), to: (&str, u16), inner: &[u8]| {
        frame(
            Link::Eth,
            &udp(a(from.0), a(to.0), from.1, to.1, inner, UdpSum::Good),
        )
    };
    let (c, s, r) = ((CLIENT, CPORT), (SERVER, 3544), (RELAY, RPORT));
    for (i, t0) in [0u64, 200].into_iter().enumerate() {
        let seq = i as u16 + 1;
        // Direct IPv6 connectivity test: the request through the server,
        // the relay's indirect bubble through the server, the client's
        // direct bubble to the relay, the reply from the relay.
        let req = icmp6_echo(a(T), a(PEER), false, 7, seq, b"ping");
        cap.at(t0, teredo(c, s, &req));
        let ind = cat(&[&origin(RPORT, [83, 170, 1, 38]), &bubble(PEER, T)]);
        cap.at(t0 + 10, teredo(s, c, &ind));
        cap.at(t0 + 20, teredo(c, r, &bubble(T, PEER)));
        let rep = icmp6_echo(a(PEER), a(T), true, 7, seq, b"ping");
        cap.at(t0 + 30, teredo(r, c, &rep));
    }
    // TCP through the relay.
    let mut seq = (1000u32, 5000u32);
    let mut tcp_at = |cap: &mut Cap, t: u64, from_client: bool, flags: u8, data: &[u8]| {
        let ack = if flags & ACK != 0 {
            if from_client {
                seq.1
            } else {
                seq.0
            }
        } else {
            0
        };
        let (pkt, outer) = if from_client {
            let p = pcap::tcp(a(T), a(PEER), 1286, 80, seq.0, ack, flags, data);
            (p, (c, r))
        } else {
            let p = pcap::tcp(a(PEER), a(T), 80, 1286, seq.1, ack, flags, data);
            (p, (r, c))
        };
        cap.at(t, teredo(outer.0, outer.1, &pkt));
        let adv = data.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            seq.0 = seq.0.wrapping_add(adv);
        } else {
            seq.1 = seq.1.wrapping_add(adv);
        }
    };
    tcp_at(&mut cap, 300, true, SYN, &[]);
    tcp_at(&mut cap, 310, false, SYN | ACK, &[]);
    tcp_at(&mut cap, 311, true, ACK, &[]);
    tcp_at(
        &mut cap,
        312,
        true,
        ACK | PSH,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    tcp_at(
        &mut cap,
        330,
        false,
        ACK | PSH,
        b"HTTP/1.1 204 No Content\r\n\r\n",
    );
    tcp_at(&mut cap, 331, true, FIN | ACK, &[]);
    tcp_at(&mut cap, 340, false, FIN | ACK, &[]);
    tcp_at(&mut cap, 341, true, ACK, &[]);
    // 6to4: out through the anycast relay, back from another one.
    let mut conv_seq = (7000u32, 9000u32);
    let mut six = |cap: &mut Cap, t: u64, out: bool, flags: u8| {
        let (s6, d6, sp, dp, sq, ack) = if out {
            (HOST6, WEB6, 40000, 443, conv_seq.0, conv_seq.1)
        } else {
            (WEB6, HOST6, 443, 40000, conv_seq.1, conv_seq.0)
        };
        let ack = if flags & ACK != 0 { ack } else { 0 };
        let inner = pcap::tcp(a(s6), a(d6), sp, dp, sq, ack, flags, &[]);
        let (o_src, o_dst) = if out {
            (HOST4, ANYCAST)
        } else {
            (RELAY6TO4, HOST4)
        };
        cap.at(t, frame(Link::Eth, &ip(a(o_src), a(o_dst), 41, &inner)));
        let adv = u32::from(flags & (SYN | FIN) != 0);
        if out {
            conv_seq.0 += adv;
        } else {
            conv_seq.1 += adv;
        }
    };
    six(&mut cap, 400, true, SYN);
    six(&mut cap, 420, false, SYN | ACK);
    six(&mut cap, 421, true, ACK);
    six(&mut cap, 430, true, FIN | ACK);
    six(&mut cap, 440, false, FIN | ACK);
    six(&mut cap, 441, true, ACK);
    cap
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-workers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(pcap: &Path, out: &Path, workers: &str) {
    let r = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .arg("-r")
        .arg(pcap)
        .arg("-w")
        .arg(out)
        .args(["-q", "-j", workers])
        .output()
        .expect("run connscope");
    assert!(
        r.status.success(),
        "-j {workers}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
}

fn sorted_lines(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn teredo_via_server_and_relay_and_6to4_give_the_same_records_with_any_worker_count() {
    let dir = tmpdir("tunnels");
    let pcap = dir.join("in.pcap");
    std::fs::write(&pcap, capture().bytes()).unwrap();
    let one = dir.join("j1");
    read(&pcap, &one, "1");
    let conn = sorted_lines(&one.join("conn.log"));
    let recs: Vec<Value> = conn
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |proto: &str, orig_h: &str| {
        let v: Vec<&Value> = recs
            .iter()
            .filter(|r| r["proto"] == proto && r["id.orig_h"] == orig_h)
            .collect();
        assert_eq!(v.len(), 1, "{proto} from {orig_h}: {conn:#?}");
        v[0]
    };
    // One record per connection with -j 1: the echo saw both tunnels.
    let echo = find("icmp", T);
    assert_eq!(
        (echo["orig_pkts"].as_u64(), echo["resp_pkts"].as_u64()),
        (Some(2), Some(2))
    );
    let server_uid = recs
        .iter()
        .find(|r| r["id.resp_p"] == 3544)
        .expect("the server connection")["uid"]
        .clone();
    let relay_uid = recs
        .iter()
        .find(|r| r["id.resp_p"] == RPORT)
        .expect("the relay connection")["uid"]
        .clone();
    let parents = echo["tunnel_parents"].as_array().unwrap();
    assert!(
        parents.contains(&server_uid) && parents.contains(&relay_uid),
        "{echo}"
    );
    assert_eq!(find("tcp", T)["conn_state"], "SF");
    assert_eq!(find("tcp", HOST6)["conn_state"], "SF");
    let weird = sorted_lines(&one.join("weird.log"));
    for workers in ["2", "3", "4"] {
        let out = dir.join(format!("j{workers}"));
        read(&pcap, &out, workers);
        assert_eq!(sorted_lines(&out.join("conn.log")), conn, "-j {workers}");
        assert_eq!(sorted_lines(&out.join("weird.log")), weird, "-j {workers}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
