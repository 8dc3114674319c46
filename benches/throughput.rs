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
//!   (also with context.log, and with GeoIP/ASN enrichment from generated
//!   databases covering the whole IPv4 space) and `-j 2`, without dns.log;
//! - the same `-j 1` with dns.log (the default), and with dns.log and
//!   `--conn-names`;
//! - `-j 1` conn.log as TSV and as Parquet (`--format parquet`), paired.
//!
//! With `CONNSCOPE_BENCH_DNS=1` (scripts/bench.sh's DNS-heavy capture) only
//! the libpcap rate and the dns.log rows (`-j 1` off / on / with names,
//! `-j 2` on) are measured.
//!
//! With `CONNSCOPE_BENCH_STAGES=1` only the per-stage table: cumulative
//! configurations on the same file, each best of REPEATS: the reader; +
//! decoding (link, IP, transport headers, checksums, flow key, done here
//! with the public decode API); + flow table and connection state (the
//! engine in Zeek's bare mode, records dropped); + service analyzers and
//! DNS parsing; + flow statistics; + output (`-j 1 --flowmeter`: conn.log,
//! dns.log, flowmeter.log JSON on disk); + context (context.log). A stage's
//! nanoseconds per packet are its row's minus the row above's.
//!
//! Each as packets/s and as a ratio to the libpcap rate.

use connscope::capture::file::FileSource;
use connscope::engine::{Engine, EngineConfig, RecordSink};
use connscope::output::conn_log::{ConnLogOptions, ConnRow};
use connscope::output::flowmeter_log::FlowRow;
use connscope::output::row;
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
            let r = FlowRow {
                uid: &c.uid,
                features: &f,
            };
            row::json(&mut self.buf, &r, TimeFormat::Epoch);
        }
        let r = ConnRow {
            rec: &rec,
            opts: &ConnLogOptions::default(),
            names: None,
        };
        row::json(&mut self.buf, &r, TimeFormat::Epoch);
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
        parquet: None,
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

/// `-j 1` conn.log on disk as TSV, or as Parquet (built from the TSV rows).
fn engine_logs_tsv(p: &Path, dir: &Path, parquet: bool) -> u64 {
    let opts = WriterOptions {
        format: LogFormat::Tsv,
        time_format: TimeFormat::Epoch,
        parquet: parquet.then(connscope::output::parquet::ParquetOptions::default),
    };
    let dns = connscope::dns::DnsConfig {
        log: false,
        ..Default::default()
    };
    let cfg = EngineConfig {
        dns,
        ..EngineConfig::default()
    };
    let conn = ConnLogOptions {
        dns,
        ..ConnLogOptions::default()
    };
    let s = connscope::pipeline::read_file(p, dir, cfg, opts, conn, 1, &|| false).expect("read");
    s.stats.packets
}

/// A city and an ASN database built with mmdb-writer: every IPv4 /16 split
/// into four /18s (262,144 city networks, 2,000 distinct cities) and two
/// /17s (131,072 AS networks, 5,000 distinct ASes), so that every public
/// IPv4 address is found at a depth like GeoLite2's.
fn bench_databases() -> (Vec<u8>, Vec<u8>) {
    use mmdb_writer::ipnet::{IpNet, Ipv4Net};
    use mmdb_writer::{Value, Writer};
    let mut city = Writer::new("GeoLite2-City");
    let mut asn = Writer::new("GeoLite2-ASN");
    let cities: Vec<Value> = (0..2000u32)
        .map(|i| {
            Value::map([
                (
                    "country",
                    Value::map([(
                        "iso_code",
                        Value::from(format!(
                            "{}{}",
                            (b'A' + (i % 26) as u8) as char,
                            (b'A' + (i / 26 % 26) as u8) as char
                        )),
                    )]),
                ),
                (
                    "subdivisions",
                    Value::array([Value::map([(
                        "iso_code",
                        Value::from(format!("R{}", i % 50)),
                    )])]),
                ),
                (
                    "city",
                    Value::map([(
                        "names",
                        Value::map([("en", Value::from(format!("City {i}")))]),
                    )]),
                ),
                (
                    "location",
                    Value::map([
                        ("latitude", Value::from(f64::from(i % 180) - 90.0)),
                        ("longitude", Value::from(f64::from(i % 360) - 180.0)),
                    ]),
                ),
            ])
        })
        .collect();
    let ases: Vec<Value> = (0..5000u32)
        .map(|i| {
            Value::map([
                ("autonomous_system_number", Value::from(64_000 + i)),
                (
                    "autonomous_system_organization",
                    Value::from(format!("Network {i} Ltd")),
                ),
            ])
        })
        .collect();
    for hi in 0..=u16::MAX {
        let base = u32::from(hi) << 16;
        for q in 0..4u32 {
            let net = Ipv4Net::new((base | q << 14).into(), 18).expect("prefix");
            let v = &cities[((u32::from(hi) * 4 + q) % 2000) as usize];
            city.insert_value(IpNet::V4(net), v.clone())
                .expect("insert");
        }
        for h in 0..2u32 {
            let net = Ipv4Net::new((base | h << 15).into(), 17).expect("prefix");
            let v = &ases[((u32::from(hi) * 2 + h) % 5000) as usize];
            asn.insert_value(IpNet::V4(net), v.clone()).expect("insert");
        }
    }
    (
        city.to_bytes().expect("city db"),
        asn.to_bytes().expect("asn db"),
    )
}

/// `-j 1` conn.log on disk, with GeoIP/ASN enrichment when `dbs` is given.
fn engine_logs_geo(
    p: &Path,
    dir: &Path,
    dbs: Option<&(Vec<u8>, Vec<u8>)>,
) -> (u64, Option<connscope::geoip::EnrichStats>) {
    use connscope::geoip::{DbKind, Enricher, GeoDb};
    let opts = WriterOptions {
        format: LogFormat::Json,
        time_format: TimeFormat::Epoch,
        parquet: None,
    };
    let conn_opts = ConnLogOptions {
        geo: dbs.is_some(),
        asn: dbs.is_some(),
        ..ConnLogOptions::default()
    };
    let mut src = FileSource::open(p).expect("open");
    let mut sink = connscope::pipeline::LogSink::new(dir, opts, conn_opts).expect("sink");
    let mut report = None;
    if let Some((c, a)) = dbs {
        let city = GeoDb::from_bytes(c.clone(), DbKind::Location).expect("city db");
        let asn = GeoDb::from_bytes(a.clone(), DbKind::Asn).expect("asn db");
        let nets = EngineConfig::default().conn.local_nets;
        report = Some(sink.set_geoip(Enricher::new(Some(city), Some(asn), nets)));
    }
    let s = connscope::pipeline::run(&mut src, sink, EngineConfig::default(), 1, &|| false)
        .expect("read");
    let geo = report.and_then(|r| r.lock().ok().map(|g| *g));
    (s.stats.packets, geo)
}

/// Collects each record's endpoint pair (what enrichment looks up).
struct Endpoints(Vec<(connscope::decode::Addr, connscope::decode::Addr)>);

impl RecordSink for Endpoints {
    fn conn(&mut self, rec: ConnRecord) {
        self.0.push((rec.conn.orig_h, rec.conn.resp_h));
    }
    fn weird(&mut self, _w: WeirdRecord) {}
}

fn endpoints(p: &Path) -> Vec<(connscope::decode::Addr, connscope::decode::Addr)> {
    let mut src = FileSource::open(p).expect("open");
    let mut e = Engine::new(EngineConfig::default(), Endpoints(Vec::new()));
    while let Ok(Some(pkt)) = src.next_packet() {
        e.process(&pkt);
    }
    e.finish();
    std::mem::take(&mut e.sink().0)
}

/// The enrichment work alone: a fresh enricher over every record's
/// endpoints, as the writer does it. Seconds.
fn enrich_only(
    pairs: &[(connscope::decode::Addr, connscope::decode::Addr)],
    dbs: &(Vec<u8>, Vec<u8>),
) -> f64 {
    use connscope::geoip::{DbKind, Enricher, GeoDb};
    let city = GeoDb::from_bytes(dbs.0.clone(), DbKind::Location).expect("city db");
    let asn = GeoDb::from_bytes(dbs.1.clone(), DbKind::Asn).expect("asn db");
    let mut e = Enricher::new(
        Some(city),
        Some(asn),
        EngineConfig::default().conn.local_nets,
    );
    let t = Instant::now();
    let mut found = 0usize;
    for (o, r) in pairs {
        let g = e.conn(o, r);
        found += usize::from(g.orig.is_some()) + usize::from(g.resp.is_some());
    }
    std::hint::black_box(found);
    t.elapsed().as_secs_f64()
}

/// A walk over the mmap'ed file (classic little-endian pcap only; None
/// otherwise): each record header read and the packet's first byte touched,
/// nothing copied. What reading by mmap could at best reach.
fn mmap_walk(p: &Path) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(p).ok()?;
    let len = usize::try_from(f.metadata().ok()?.len()).ok()?;
    if len < 24 {
        return None;
    }
    // SAFETY: a read-only private mapping of a file this process does not
    // modify, unmapped below; the slice does not outlive it.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            f.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: the mapping is `len` readable bytes.
    let data = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
    let le = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    let mut n = None;
    if matches!(le(0), 0xa1b2_c3d4 | 0xa1b2_3c4d) {
        let (mut off, mut k, mut sum) = (24usize, 0u64, 0u64);
        while off + 16 <= len {
            let incl = le(off + 8) as usize;
            let body = off + 16;
            if body + incl > len {
                break;
            }
            sum = sum.wrapping_add(u64::from(data[body.min(len - 1)]) + u64::from(le(off + 12)));
            k += 1;
            off = body + incl;
        }
        std::hint::black_box(sum);
        n = Some(k);
    }
    // SAFETY: `ptr`/`len` are the mapping made above; `data` is not used after.
    unsafe { libc::munmap(ptr, len) };
    n
}

/// Drops every record (the engine's work without any formatting).
struct Discard(u64);

impl RecordSink for Discard {
    fn conn(&mut self, rec: ConnRecord) {
        self.0 += rec.conn.orig_pkts;
    }
    fn weird(&mut self, _w: WeirdRecord) {}
}

/// The engine's decoding of each packet, done here with the public decode
/// API: link layer, IP header (with its checksum), the transport header
/// and its checksum, and the flow key. Fragments and tunnels are not
/// followed (the engine reassembles and decapsulates them).
fn decode_only(p: &Path) -> u64 {
    use connscope::decode::{ip, link};
    use connscope::flow::FlowKey;
    let mut src = FileSource::open(p).expect("open");
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Ok(Some(pkt)) = src.next_packet() {
        n += 1;
        let Ok(Some(l3)) = link::decode(pkt.linktype, pkt.data) else {
            continue;
        };
        let wire = (pkt.wire_len as usize).saturating_sub(l3.link_len);
        let Ok(ipp) = ip::parse(l3.ip, wire, false) else {
            continue;
        };
        if ipp.frag.is_some() {
            continue;
        }
        let ok = ipp.fully_captured()
            && if ipp.proto == 1 {
                connscope::decode::fold(connscope::decode::ones_sum(ipp.payload, 0)) == 0xffff
            } else {
                ipp.transport_checksum_ok(ipp.proto)
            };
        let (sp, dp) = match ipp.proto {
            6 => match ip::tcp(&ipp) {
                Ok(t) => (t.sport, t.dport),
                Err(_) => continue,
            },
            17 => match ip::udp(&ipp) {
                Ok(u) => (u.sport, u.dport),
                Err(_) => continue,
            },
            1 | 58 => match ip::icmp(&ipp) {
                Ok(m) => (u16::from(m.icmp_type), u16::from(m.code)),
                Err(_) => continue,
            },
            _ => (0, 0),
        };
        let key = FlowKey::new(ipp.src, sp, ipp.dst, dp, ipp.proto, false);
        sum = sum.wrapping_add(key.shard_hash() ^ u64::from(ok));
    }
    std::hint::black_box(sum);
    n
}

/// The engine with records dropped: `bare` is Zeek's `-b` (no service
/// analyzers), `dns` builds dns.log rows, `stats` keeps flow statistics.
fn engine_stage(p: &Path, bare: bool, dns: bool, stats: bool) -> u64 {
    use connscope::conn::ConnConfig;
    let mut src = FileSource::open(p).expect("open");
    let mut cfg = EngineConfig::default();
    if bare {
        cfg.conn = ConnConfig::zeek_bare();
    }
    cfg.conn.flow_stats = stats;
    cfg.dns.log = dns;
    let mut e = Engine::new(cfg, Discard(0));
    let mut n = 0u64;
    while let Ok(Some(pkt)) = src.next_packet() {
        e.process(&pkt);
        n += 1;
    }
    e.finish();
    std::hint::black_box(e.sink().0);
    n
}

/// `read -j 1 --flowmeter` (conn.log, flowmeter.log, dns.log, JSON, on
/// disk), with `--context` when `context`.
fn logs_everything(p: &Path, dir: &Path, context: bool) -> u64 {
    let mut cfg = EngineConfig::default();
    cfg.conn.flow_stats = true;
    let opts = WriterOptions {
        format: LogFormat::Json,
        time_format: TimeFormat::Epoch,
        parquet: None,
    };
    let s = connscope::pipeline::read_file(
        p,
        dir,
        cfg,
        opts,
        ConnLogOptions {
            flowmeter: true,
            context: context.then(connscope::context::ContextConfig::default),
            ..ConnLogOptions::default()
        },
        1,
        &|| false,
    )
    .expect("read");
    s.stats.packets
}

/// The per-stage table: cumulative configurations on the same file, each
/// best of `repeats`; a stage's cost is the difference of nanoseconds per
/// packet between its row and the row above.
fn stage_table(file: &Path, dir: &Path, repeats: usize, raw: f64) {
    type Stage<'a> = (&'a str, Box<dyn Fn() -> u64 + 'a>);
    let stages: Vec<Stage<'_>> = vec![
        ("capture (connscope reader)", Box::new(|| own_read(file))),
        (
            "decode (link, IP, transport, checksums)",
            Box::new(|| decode_only(file)),
        ),
        (
            "flow table + connection state (-b)",
            Box::new(|| engine_stage(file, true, false, false)),
        ),
        (
            "service analyzers + DNS parsing",
            Box::new(|| engine_stage(file, false, true, false)),
        ),
        (
            "statistics (flowmeter)",
            Box::new(|| engine_stage(file, false, true, true)),
        ),
        (
            "output (conn, dns, flowmeter JSON)",
            Box::new(|| logs_everything(file, dir, false)),
        ),
        (
            "context (context.log)",
            Box::new(|| logs_everything(file, dir, true)),
        ),
    ];
    println!(
        "{:<42} {:>12} {:>10} {:>10} {:>10}",
        "cumulative stage", "packets/s", "vs libpcap", "ns/packet", "stage ns"
    );
    println!(
        "{:<42} {:>12.0} {:>10.3} {:>10.1} {:>10}",
        "libpcap raw read (reference)",
        raw,
        1.0,
        1e9 / raw,
        "-"
    );
    if mmap_walk(file).is_some() {
        let (t, m) = best(repeats, || mmap_walk(file).unwrap_or(0));
        let pps = m as f64 / t;
        println!(
            "{:<42} {:>12.0} {:>10.3} {:>10.1} {:>10}",
            "mmap walk, no copy (reference)",
            pps,
            pps / raw,
            1e9 / pps,
            "-"
        );
    }
    let mut prev = 0.0;
    for (name, f) in &stages {
        let (t, m) = best(repeats, f);
        let pps = m as f64 / t;
        let ns = 1e9 / pps;
        println!(
            "{:<42} {:>12.0} {:>10.3} {:>10.1} {:>+10.1}",
            name,
            pps,
            pps / raw,
            ns,
            ns - prev
        );
        prev = ns;
    }
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
    if std::env::var_os("CONNSCOPE_BENCH_STAGES").is_some() {
        stage_table(&file, &dir, repeats, raw);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
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
    // Without and with enrichment alternately (at least 5 pairs), best of
    // each, so that load from other jobs hits both alike.
    let dbs = bench_databases();
    let (mut t_plain, mut t_geo, mut m, mut geo) = (f64::MAX, f64::MAX, 0, None);
    for _ in 0..repeats.max(5) {
        let t = Instant::now();
        m = engine_logs_geo(&file, &dir, None).0;
        t_plain = t_plain.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        geo = engine_logs_geo(&file, &dir, Some(&dbs)).1;
        t_geo = t_geo.min(t.elapsed().as_secs_f64());
    }
    let (no_geo, with_geo) = (m as f64 / t_plain, m as f64 / t_geo);
    row("-j 1: conn.log (paired, no GeoIP)", no_geo, raw);
    row("  + GeoIP/ASN (--geoip-db --asn-db)", with_geo, raw);
    // TSV and Parquet alternately, best of each (as for GeoIP).
    let (mut t_tsv, mut t_pq, mut m_tsv) = (f64::MAX, f64::MAX, 0);
    for _ in 0..repeats.max(5) {
        let t = Instant::now();
        m_tsv = engine_logs_tsv(&file, &dir, false);
        t_tsv = t_tsv.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        engine_logs_tsv(&file, &dir, true);
        t_pq = t_pq.min(t.elapsed().as_secs_f64());
    }
    let (tsv_pps, pq_pps) = (m_tsv as f64 / t_tsv, m_tsv as f64 / t_pq);
    row("-j 1: conn.log TSV (paired)", tsv_pps, raw);
    row("  as Parquet (--format parquet)", pq_pps, raw);
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
    println!(
        "Parquet cost (vs TSV): {:.1}% of throughput",
        (1.0 - pq_pps / tsv_pps) * 100.0
    );
    println!(
        "GeoIP/ASN cost: {:.1}% of throughput",
        (1.0 - with_geo / no_geo) * 100.0
    );
    if let Some(g) = geo {
        println!(
            "GeoIP/ASN: {} lookups of non-local addresses, {} from the cache, {} failed",
            g.lookups, g.cache_hits, g.errors
        );
    }
    // The enrichment work alone (stable under load, unlike the difference
    // of two end-to-end runs): its share of the -j 1 time per packet.
    let pairs = endpoints(&file);
    let t_enrich = (0..repeats.max(5))
        .map(|_| enrich_only(&pairs, &dbs))
        .fold(f64::MAX, f64::min);
    let per_pkt = 1.0 / no_geo + t_enrich / m as f64;
    println!(
        "GeoIP/ASN work alone: {:.1} ms for {} records ({:.0} ns per record); -j 1 conn.log {:.0} -> {:.0} packets/s ({:.2}% cost)",
        t_enrich * 1e3,
        pairs.len(),
        t_enrich * 1e9 / pairs.len().max(1) as f64,
        no_geo,
        1.0 / per_pkt,
        (1.0 - (1.0 / per_pkt) / no_geo) * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
