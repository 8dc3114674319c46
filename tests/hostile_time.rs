//! Far-future and jumping packet timestamps.
//!
//! Writes its own captures (classic pcap and pcapng): a few normal TCP and UDP
//! connections, then one packet whose timestamp is 50 years ahead, `u32::MAX`
//! seconds, `u64::MAX` pcapng units or years back, then more normal packets.
//! `connscope read` runs on them with every periodic job at 1 s (stats,
//! capture loss, interim records, context series, rotation into a log queue)
//! under a watchdog: it must finish (a catch-up loop per missed interval would
//! take years), write records for the normal connections and write a bounded
//! number of periodic rows. A SIGTERM sent mid-run over a large capture with a
//! jump in it must stop the read within about a second, open connections
//! flushed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const T0: u64 = 1_600_000_000;
const YEAR: u64 = 365 * 86_400;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One's-complement sum of 16-bit words.
fn csum(parts: &[&[u8]]) -> u16 {
    let mut acc = 0u32;
    for p in parts {
        for c in p.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            acc += u32::from(w);
        }
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An Ethernet + IPv4 frame carrying `l4` (protocol `proto`), with good
/// IP and transport checksums.
fn frame(src: [u8; 4], dst: [u8; 4], proto: u8, mut l4: Vec<u8>) -> Vec<u8> {
    let len = (l4.len() + 20) as u16;
    let pseudo = [
        &src[..],
        &dst[..],
        &[0, proto],
        &(l4.len() as u16).to_be_bytes(),
    ]
    .concat();
    let at = if proto == 6 { 16 } else { 6 };
    let c = csum(&[&pseudo, &l4]);
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&len.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = csum(&[&ip]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}

fn udp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    frame(src, dst, 17, u)
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 4],
    sp: u16,
    dst: [u8; 4],
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sp.to_be_bytes());
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    frame(src, dst, 6, t)
}

const C: [u8; 4] = [10, 0, 0, 1];

/// A TCP connection (handshake, request, response, FIN/ACK both ways) from
/// `C:sport` to `server:80`, starting at `t` (microseconds).
fn tcp_conn(out: &mut Vec<(u64, Vec<u8>)>, t: u64, server: [u8; 4], sport: u16) {
    let (syn, ack, psh, fin) = (0x02, 0x10, 0x08, 0x01);
    let (a, b) = (1000u32, 5000u32);
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (rq, rs) = (req.len() as u32, resp.len() as u32);
    let pkts = [
        tcp(C, sport, server, 80, a, 0, syn, b""),
        tcp(server, 80, C, sport, b, a + 1, syn | ack, b""),
        tcp(C, sport, server, 80, a + 1, b + 1, ack, b""),
        tcp(C, sport, server, 80, a + 1, b + 1, psh | ack, req),
        tcp(server, 80, C, sport, b + 1, a + 1 + rq, psh | ack, resp),
        tcp(C, sport, server, 80, a + 1 + rq, b + 1 + rs, fin | ack, b""),
        tcp(server, 80, C, sport, b + 1 + rs, a + 2 + rq, fin | ack, b""),
        tcp(C, sport, server, 80, a + 2 + rq, b + 2 + rs, ack, b""),
    ];
    for (i, p) in pkts.into_iter().enumerate() {
        out.push((t + i as u64 * 10_000, p));
    }
}

/// A DNS-like UDP query and reply from `C:sport` to `server:53` at `t` (µs).
fn udp_conn(out: &mut Vec<(u64, Vec<u8>)>, t: u64, server: [u8; 4], sport: u16) {
    out.push((t, udp(C, sport, server, 53, &[0u8; 30])));
    out.push((t + 20_000, udp(server, 53, C, sport, &[1u8; 46])));
}

/// How the odd packet's time is set.
#[derive(Clone, Copy, Debug)]
enum Jump {
    /// 50 years after the normal packets.
    Years50,
    /// `u32::MAX` seconds (classic pcap's largest value).
    U32Max,
    /// `u64::MAX` raw pcapng units (far beyond what nanoseconds in an i64
    /// can hold).
    U64Max,
    /// 20 years before the normal packets.
    Back20,
}

/// Normal connections at T0.., the odd packet, then more normal connections.
/// Times in microseconds; the odd packet's as the raw value to write.
fn packets(jump: Jump) -> (Vec<(u64, Vec<u8>)>, usize) {
    let s1 = [10, 0, 1, 1];
    let s2 = [10, 0, 1, 2];
    let mut v = Vec::new();
    let t = T0 * 1_000_000;
    tcp_conn(&mut v, t, s1, 40001);
    udp_conn(&mut v, t + 200_000, s2, 50001);
    tcp_conn(&mut v, t + 1_500_000, s1, 40002);
    let odd_at = v.len();
    let odd = match jump {
        Jump::Years50 => t + 50 * YEAR * 1_000_000,
        Jump::U32Max => u64::from(u32::MAX) * 1_000_000,
        Jump::U64Max => u64::MAX,
        Jump::Back20 => t - 20 * YEAR * 1_000_000,
    };
    v.push((odd, udp(C, 50009, [10, 0, 9, 9], 9999, b"odd")));
    tcp_conn(&mut v, t + 3_000_000, s1, 40003);
    udp_conn(&mut v, t + 3_500_000, s2, 50002);
    tcp_conn(&mut v, t + 5_000_000, s2, 40004);
    (v, odd_at)
}

/// Classic pcap, microseconds (the `u64::MAX` jump is written as `u32::MAX`
/// seconds, 999999 µs).
fn write_pcap(path: &Path, pkts: &[(u64, Vec<u8>)]) {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&[2, 0, 4, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (t, d) in pkts {
        let secs = (t / 1_000_000).min(u64::from(u32::MAX)) as u32;
        let us = if *t == u64::MAX {
            999_999
        } else {
            (t % 1_000_000) as u32
        };
        f.extend_from_slice(&secs.to_le_bytes());
        f.extend_from_slice(&us.to_le_bytes());
        f.extend_from_slice(&(d.len() as u32).to_le_bytes());
        f.extend_from_slice(&(d.len() as u32).to_le_bytes());
        f.extend_from_slice(d);
    }
    std::fs::write(path, f).unwrap();
}

fn block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let total = (12 + body.len().div_ceil(4) * 4) as u32;
    out.extend_from_slice(&btype.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
    out.extend_from_slice(&total.to_le_bytes());
}

/// pcapng, one Ethernet interface, default microsecond resolution; times
/// are written as raw 64-bit units.
fn write_pcapng(path: &Path, pkts: &[(u64, Vec<u8>)]) {
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut f, 0x0a0d0d0a, &shb);
    let mut idb = vec![1, 0, 0, 0];
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut f, 1, &idb);
    for (t, d) in pkts {
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*t as u32).to_le_bytes());
        epb.extend_from_slice(&(d.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(d.len() as u32).to_le_bytes());
        epb.extend_from_slice(d);
        block(&mut f, 6, &epb);
    }
    std::fs::write(path, f).unwrap();
}

/// Runs `connscope read` with every periodic job at 1 s; kills it and fails
/// if it has not ended after `limit`.
fn run_watched(input: &Path, out: &Path, extra: &[&str], limit: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .arg("-r")
        .arg(input)
        .arg("-w")
        .arg(out)
        .args([
            "--stats-interval",
            "1",
            "--capture-loss-interval",
            "1",
            "--interim-interval",
            "1",
            "--rotate-interval",
            "1",
            "--context",
            "--context-interval",
            "1",
            "--log-queue",
        ])
        .arg(out.join("queue"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_limit(child, limit, &input.display().to_string())
}

fn wait_limit(mut child: Child, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: connscope still running after {limit:?} (catch-up loop?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Every JSON row of the log `name` (`conn`, `stats`, ...), rotated or not.
fn rows(out: &Path, name: &str) -> Vec<serde_json::Value> {
    let mut files = Vec::new();
    for dir in [out.to_path_buf(), out.join("queue")] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n == format!("{name}.log") || n.starts_with(&format!("{name}__")) {
                files.push(e.path());
            }
        }
    }
    let mut v = Vec::new();
    for f in files {
        for l in std::fs::read_to_string(&f).unwrap().lines() {
            if l.starts_with('#') || l.is_empty() {
                continue;
            }
            v.push(serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", f.display())));
        }
    }
    v
}

fn has_conn(conns: &[serde_json::Value], resp: &str, orig_p: u64) -> bool {
    conns
        .iter()
        .any(|c| c["id.resp_h"] == resp && c["id.orig_p"].as_u64() == Some(orig_p))
}

#[test]
fn jumps_finish_and_keep_the_normal_connections() {
    let mut report = Vec::new();
    for jump in [Jump::Years50, Jump::U32Max, Jump::U64Max, Jump::Back20] {
        let (pkts, _) = packets(jump);
        for ng in [false, true] {
            for workers in ["1", "2"] {
                let name = format!("{jump:?}-{}-j{workers}", if ng { "ng" } else { "pcap" });
                let dir = tmpdir(&name);
                let input = dir.join(if ng { "in.pcapng" } else { "in.pcap" });
                if ng {
                    write_pcapng(&input, &pkts);
                } else {
                    write_pcap(&input, &pkts);
                }
                let out = dir.join("logs");
                let t = Instant::now();
                let o = run_watched(
                    &input,
                    &out,
                    &["-q", "-j", workers],
                    Duration::from_secs(20),
                );
                let took = t.elapsed();
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(o.status.success(), "{name}: exit {:?}: {err}", o.status);
                let conns = rows(&out, "conn");
                for (resp, port) in [
                    ("10.0.1.1", 40001),
                    ("10.0.1.2", 50001),
                    ("10.0.1.1", 40002),
                    ("10.0.1.1", 40003),
                    ("10.0.1.2", 50002),
                    ("10.0.1.2", 40004),
                    ("10.0.9.9", 50009),
                ] {
                    assert!(
                        has_conn(&conns, resp, port),
                        "{name}: no record for {resp} from port {port}: {conns:?}"
                    );
                }
                // Every packet is counted in exactly one record.
                let counted: u64 = conns
                    .iter()
                    .map(|c| c["orig_pkts"].as_u64().unwrap() + c["resp_pkts"].as_u64().unwrap())
                    .sum();
                assert_eq!(counted, pkts.len() as u64, "{name}: {conns:?}");
                // The connections before the jump were complete: their
                // records are the normal ones (SF, every packet).
                let first = conns
                    .iter()
                    .find(|c| c["id.orig_p"].as_u64() == Some(40001))
                    .unwrap();
                assert_eq!(first["conn_state"], "SF", "{name}: {first}");
                assert_eq!(first["orig_pkts"].as_u64(), Some(5), "{name}: {first}");
                // Periodic jobs: a handful of rows, not one per missed second.
                let stats = rows(&out, "stats").len();
                let loss = rows(&out, "capture_loss").len();
                let queued = std::fs::read_dir(out.join("queue")).unwrap().count();
                assert!(stats < 60, "{name}: {stats} stats rows");
                assert!(loss < 60, "{name}: {loss} capture_loss rows");
                assert!(queued < 200, "{name}: {queued} rotated files");
                report.push(format!(
                    "{name}: {took:?}, {} conns, {stats} stats rows, {loss} loss rows, {queued} rotated files",
                    conns.len()
                ));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
}

/// A large capture (UDP flows, a 50-year jump early on) read with every
/// periodic job at 1 s; a SIGTERM mid-read stops it within about a second
/// and every packet it read is in a record.
#[test]
fn sigterm_after_a_jump_stops_promptly_and_flushes() {
    let dir = tmpdir("sigterm");
    let mut pkts = Vec::new();
    let t = T0 * 1_000_000;
    let n = 300_000u64;
    for i in 0..n {
        let flow = (i % 5000) as u16;
        let at = if i == 2000 {
            t + 50 * YEAR * 1_000_000
        } else {
            t + i * 100
        };
        let server = [10, 1, (flow >> 8) as u8, flow as u8];
        pkts.push((at, udp(C, 20000 + flow, server, 53, &[7u8; 40])));
    }
    let input = dir.join("big.pcap");
    write_pcap(&input, &pkts);
    for workers in ["1", "2"] {
        let out = dir.join(format!("logs-j{workers}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .arg("read")
            .arg("-r")
            .arg(&input)
            .arg("-w")
            .arg(&out)
            .args([
                "--stats-interval",
                "1",
                "--capture-loss-interval",
                "1",
                "--interim-interval",
                "1",
                "-j",
                workers,
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The log directory is made after the signal handlers are installed.
        while !out.exists() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(150));
        let sent = Instant::now();
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let o = wait_limit(child, Duration::from_secs(20), "sigterm");
        let latency = sent.elapsed();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "exit {:?}: {err}", o.status);
        let processed: u64 = err
            .lines()
            .find_map(|l| {
                l.strip_prefix("connscope: ")?
                    .split(" packets")
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no packet count in {err}"));
        let conns = rows(&out, "conn");
        let counted: u64 = conns
            .iter()
            .map(|c| c["orig_pkts"].as_u64().unwrap() + c["resp_pkts"].as_u64().unwrap())
            .sum();
        eprintln!(
            "-j {workers}: stopped {latency:?} after SIGTERM; {processed} of {n} packets read, {counted} in records; interrupted: {}",
            err.contains("interrupted")
        );
        assert_eq!(
            counted, processed,
            "-j {workers}: packets missing from conn.log"
        );
        assert!(
            latency < Duration::from_millis(1500),
            "-j {workers}: took {latency:?} to stop"
        );
        if !err.contains("interrupted") {
            eprintln!("-j {workers}: the read ended before the signal landed");
        }
    }
}
