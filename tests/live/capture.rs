//! Test helper (cargo example `live_capture`, used by `scripts/live-test.sh`):
//! runs a live source through `connscope::pipeline::run` into a log
//! directory until SIGTERM/SIGINT or a deadline, the way the `connscope live`
//! subcommand will.
//!
//! ```text
//! live_capture pcap|afpacket IFACE LOGDIR [--workers N] [--fanout GROUP]
//!              [--filter EXPR] [--max-secs S] [--no-promisc]
//! ```
//!
//! Prints `ready` on stdout once the source is open (packets from then on are
//! captured) and one `live_capture: ...` summary line with the engine and
//! source counters on stderr at the end. Exit status 0, or 1 with a message.

use connscope::capture::afpacket::{AfPacket, AfPacketOptions, Fanout};
use connscope::capture::live::{PcapLive, PcapOptions};
use connscope::capture::PacketSource;
use connscope::engine::EngineConfig;
use connscope::output::conn_log::ConnLogOptions;
use connscope::output::{LogFormat, TimeFormat, WriterOptions};
use connscope::pipeline::{self, LogSink};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    kind: String,
    iface: String,
    dir: PathBuf,
    workers: usize,
    fanout: Option<u16>,
    filter: Option<String>,
    max_secs: u64,
    promisc: bool,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let usage = "usage: live_capture pcap|afpacket IFACE LOGDIR [--workers N] [--fanout GROUP] [--filter EXPR] [--max-secs S] [--no-promisc]";
    let mut a = Args {
        kind: it.next().ok_or(usage)?,
        iface: it.next().ok_or(usage)?,
        dir: it.next().ok_or(usage)?.into(),
        workers: 1,
        fanout: None,
        filter: None,
        max_secs: 120,
        promisc: true,
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--workers" => a.workers = val()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--fanout" => a.fanout = Some(val()?.parse().map_err(|e| format!("--fanout: {e}"))?),
            "--filter" => a.filter = Some(val()?),
            "--max-secs" => a.max_secs = val()?.parse().map_err(|e| format!("--max-secs: {e}"))?,
            "--no-promisc" => a.promisc = false,
            _ => return Err(format!("unknown option {flag}\n{usage}")),
        }
    }
    Ok(a)
}

fn run<S: PacketSource>(mut src: S, a: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&a.dir).map_err(|e| format!("{}: {e}", a.dir.display()))?;
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&flag)).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(a.max_secs);
    let stop = || flag.load(Ordering::Relaxed) || Instant::now() >= deadline;
    let sink = LogSink::new(
        &a.dir,
        WriterOptions {
            format: LogFormat::Json,
            time_format: TimeFormat::Epoch,
        },
        ConnLogOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    println!("ready");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let summary = pipeline::run(&mut src, sink, EngineConfig::default(), a.workers, &stop)
        .map_err(|e| e.to_string())?;
    let s = src.stats().unwrap_or_default();
    eprintln!(
        "live_capture: source={} iface={} workers={} packets={} conns={} received={} dropped={} if_dropped={} deadline_hit={}",
        a.kind,
        a.iface,
        a.workers,
        summary.stats.packets,
        summary.stats.conns_logged,
        s.received,
        s.dropped,
        s.if_dropped,
        !flag.load(Ordering::Relaxed),
    );
    match summary.input_error {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

fn main() -> std::process::ExitCode {
    let r = parse().and_then(|a| match a.kind.as_str() {
        "pcap" => {
            let mut o = PcapOptions::new(&a.iface);
            o.filter = a.filter.clone();
            o.promiscuous = a.promisc;
            let src = PcapLive::open(&o).map_err(|e| e.to_string())?;
            run(src, &a)
        }
        "afpacket" => {
            let mut o = AfPacketOptions::new(&a.iface);
            o.block_size = 1 << 16;
            o.block_count = 64;
            o.filter = a.filter.clone();
            o.promiscuous = a.promisc;
            o.fanout = a.fanout.map(Fanout::hash);
            let src = AfPacket::open(&o).map_err(|e| e.to_string())?;
            run(src, &a)
        }
        k => Err(format!("unknown source {k:?} (pcap or afpacket)")),
    });
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("live_capture: error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
