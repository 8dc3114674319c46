//! Throughput benchmark: connscope's packets/s next to the raw libpcap read
//! rate of the same file, measured in the same run.
//!
//! Usage: `cargo bench --bench throughput -- FILE.pcap [REPEATS]`
//! (`scripts/bench.sh` generates FILE with ../shared/bench/gen-pcap.py).
//! Reports, best of REPEATS (default 3) each:
//! - libpcap raw read (pcap_next_ex over the file, touching every packet),
//! - connscope's own reader (no decoding),
//! - the engine with conn.log records built and discarded (no disk I/O),
//! - the same with per-connection statistics and flowmeter lines,
//! - the engine writing conn.log JSON to a temporary directory, `-j 1`
//!   (also with context.log) and `-j 2`, without dns.log;
//! - the same `-j 1` with dns.log (the default), and with dns.log and
//!   `--conn-names`.
//!
//! With `CONNSCOPE_BENCH_DNS=1` (scripts/bench.sh's DNS-heavy capture) only
//! the libpcap rate and the dns.log rows (`-j 1` off / on / with names,
//! `-j 2` on) are measured.
//!
//! Each as packets/s and as a ratio to the libpcap rate.

use connscope::capture::file::FileSource;
use connscope::engine::{Engine, EngineConfig, RecordSink};
use connscope::output::conn_log::{self, ConnLogOptions};
use connscope::output::flowmeter_log;
use connscope::output::weird_log::WeirdRecord;
use connscope::output::{LogFormat, TimeFormat, WriterOptions};
use connscope::record::ConnRecord;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Builds each JSON line (and, with statistics, the flowmeter line) and throws it away.
struct FormatOnly {
    buf: Vec<u8>,
    conns: u64,
    bytes: u64,
    stats: bool,
}

impl RecordSink for FormatOnly {
    fn conn(&mut self, rec: ConnRecord) {
        self.buf.clear();
        if self.stats {
            let c = &rec.conn;
            let f = c.flow_features();
            flowmeter_log::write_json(&mut self.buf, c.uid.as_str(), &f);
        }
        conn_log::write_json(
            &mut self.buf,
            &rec,
            &ConnLogOptions::default(),
            TimeFormat::Epoch,
        );
        self.bytes += self.buf.len() as u64;
        self.conns += 1;
    }
    fn weird(&mut self, _w: WeirdRecord) {}
}

fn best<F: FnMut() -> u64>(repeats: usize, mut f: F) -> (f64, u64) {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, n)
}

fn libpcap_read(p: &Path) -> u64 {
    let mut cap = pcap::Capture::from_file(p).expect("libpcap open");
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Ok(pkt) = cap.next_packet() {
        n += 1;
        sum =
            sum.wrapping_add(pkt.data.first().copied().unwrap_or(0) as u64 + pkt.header.len as u64);
    }
    std::hint::black_box(sum);
    n
}

fn own_read(p: &Path) -> u64 {
    let mut src = FileSource::open(p).expect("open");
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Ok(Some(pkt)) = src.next_packet() {
        n += 1;
        sum = sum.wrapping_add(pkt.data.first().copied().unwrap_or(0) as u64 + pkt.wire_len as u64);
    }
    std::hint::black_box(sum);
    n
}

fn engine_run(p: &Path, stats: bool) -> u64 {
    let mut src = FileSource::open(p).expect("open");
    let sink = FormatOnly {
        buf: Vec::with_capacity(2048),
        conns: 0,
        bytes: 0,
        stats,
    };
    let mut cfg = EngineConfig::default();
    cfg.conn.flow_stats = stats;
    cfg.dns.log = false;
    let mut e = Engine::new(cfg, sink);
    let mut n = 0u64;
    while let Ok(Some(pkt)) = src.next_packet() {
        e.process(&pkt);
        n += 1;
    }
    e.finish();
    std::hint::black_box(e.sink().bytes);
    n
}

/// dns.log off, on, or on with `--conn-names`.
#[derive(Clone, Copy, PartialEq)]
enum Dns {
    Off,
    Log,
    Names,
}

fn engine_logs(p: &Path, dir: &Path, workers: usize, context: bool, dns: Dns) -> u64 {
    let opts = WriterOptions {
        format: LogFormat::Json,
        time_format: TimeFormat::Epoch,
    };
    let dns = connscope::dns::DnsConfig {
        log: dns != Dns::Off,
        names: dns == Dns::Names,
        ..Default::default()
    };
    let s = connscope::pipeline::read_file(
        p,
        dir,
        EngineConfig {
            dns,
            ..EngineConfig::default()
        },
        opts,
        ConnLogOptions {
            context: context.then(connscope::context::ContextConfig::default),
            dns,
            ..ConnLogOptions::default()
        },
        workers,
        &|| false,
    )
    .expect("read");
    s.stats.packets
}

fn row(name: &str, pps: f64, raw: f64) {
    println!("{:<36} {:>14.0} {:>10.3}", name, pps, pps / raw);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(file) = args.first().map(PathBuf::from) else {
        eprintln!(
            "usage: cargo bench --bench throughput -- FILE.pcap [REPEATS]  (see scripts/bench.sh)"
        );
        return;
    };
    let repeats: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("connscope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let (t_raw, n) = best(repeats, || libpcap_read(&file));
    let raw = n as f64 / t_raw;
    if std::env::var_os("CONNSCOPE_BENCH_RAW_ONLY").is_some() {
        // scripts/bench-detect.sh: only the libpcap read limit of this file.
        println!("libpcap_raw_pps {raw:.0} packets {n}");
        return;
    }
    println!("file: {} ({} packets)", file.display(), n);
    println!("{:<36} {:>14} {:>10}", "stage", "packets/s", "vs libpcap");
    row("libpcap raw read", raw, raw);
    if std::env::var_os("CONNSCOPE_BENCH_DNS").is_some() {
        let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, false, Dns::Off));
        let off = m as f64 / t;
        row("-j 1: conn.log, no dns.log", off, raw);
        let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, false, Dns::Log));
        let on = m as f64 / t;
        row("-j 1: conn.log + dns.log", on, raw);
        let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, false, Dns::Names));
        let names = m as f64 / t;
        row("-j 1: + --conn-names", names, raw);
        let (t, m) = best(repeats, || engine_logs(&file, &dir, 2, false, Dns::Log));
        row("-j 2: conn.log + dns.log", m as f64 / t, raw);
        println!(
            "dns.log cost: {:.1}% of throughput",
            (1.0 - on / off) * 100.0
        );
        println!(
            "dns.log + names cost: {:.1}% of throughput",
            (1.0 - names / off) * 100.0
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let (t, m) = best(repeats, || own_read(&file));
    row("connscope reader (no decode)", m as f64 / t, raw);
    let (t, m) = best(repeats, || engine_run(&file, false));
    let plain = m as f64 / t;
    row("engine, records built in memory", plain, raw);
    let (t, m) = best(repeats, || engine_run(&file, true));
    let with_stats = m as f64 / t;
    row("  + flow statistics (flowmeter)", with_stats, raw);
    let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, false, Dns::Off));
    let one = m as f64 / t;
    row("-j 1: engine + conn.log on disk", one, raw);
    let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, true, Dns::Off));
    let with_ctx = m as f64 / t;
    row("  + context.log (--context)", with_ctx, raw);
    let (t, m) = best(repeats, || engine_logs(&file, &dir, 1, false, Dns::Log));
    let with_dns = m as f64 / t;
    row("  + dns.log (default)", with_dns, raw);
    let (t, m) = best(repeats, || engine_logs(&file, &dir, 2, false, Dns::Off));
    let two = m as f64 / t;
    row("-j 2: engine + conn.log on disk", two, raw);
    println!("-j 2 / -j 1: {:.2}x", two / one);
    println!(
        "statistics cost: {:.1}% of throughput",
        (1.0 - with_stats / plain) * 100.0
    );
    println!(
        "context cost: {:.1}% of throughput",
        (1.0 - with_ctx / one) * 100.0
    );
    println!(
        "dns.log cost: {:.1}% of throughput",
        (1.0 - with_dns / one) * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
