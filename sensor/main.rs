//! The `connscope` command: a thin binary over the library.
//!
//! Parses the command line, builds the engine settings, runs the pipeline and
//! turns errors into messages and exit codes. Exit status: 0 success, 1 usage
//! or output error, 2 the input capture was truncated or corrupt (every record
//! before the damage was still written).

mod cli;
mod config;
mod privs;
mod progress;

use anyhow::{Context, Result};
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn main() -> ExitCode {
    let argv = match config::expand(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("connscope: error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let args = cli::Cli::parse_from(argv);
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("connscope: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: cli::Cli) -> Result<ExitCode> {
    match args.command {
        cli::Command::Read(r) => read(r),
        cli::Command::Live(l) => live(l),
    }
}

/// The log sink: rotation and SIGHUP reopening as configured.
fn make_sink(
    r: &cli::ReadArgs,
    dir: &std::path::Path,
    wopts: connscope::output::WriterOptions,
    copts: connscope::output::conn_log::ConnLogOptions,
) -> Result<connscope::pipeline::LogSink> {
    let mut sink = connscope::pipeline::LogSink::new(dir, wopts, copts)?;
    if r.rotate_interval > 0 {
        let queue_dir = r.log_queue.clone().unwrap_or_else(|| dir.join("log-queue"));
        sink.set_rotation(connscope::pipeline::Rotation {
            interval_secs: r.rotate_interval,
            queue_dir,
        })?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .context("installing the SIGHUP handler")?;
    sink.set_reopen_flag(hup);
    Ok(sink)
}

/// SIGTERM / SIGINT set this flag; the pipeline stops reading, flushes every
/// open connection and closes the logs.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&flag))
            .context("installing signal handlers")?;
    }
    Ok(flag)
}

fn read(r: cli::ReadArgs) -> Result<ExitCode> {
    let dir = r.log_dir.clone().unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating log directory {}", dir.display()))?;
    let (cfg, wopts, copts) = r.settings()?;
    let stop = stop_flag()?;
    let stopped = || stop.load(Ordering::Relaxed);
    let Some(input) = r.read.clone() else {
        anyhow::bail!("read needs -r FILE");
    };
    let src = connscope::capture::file::FileSource::open(&input)?;
    let total = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let (mut src, bar) = progress::track(src, total, !r.quiet);
    let sink = make_sink(&r, &dir, wopts, copts)?;
    let summary = connscope::pipeline::run(&mut src, sink, cfg, r.workers.max(1), &stopped);
    drop(bar);
    let summary = summary.with_context(|| format!("reading {}", input.display()))?;
    if stopped() && !r.quiet {
        eprintln!("connscope: interrupted; open connections were flushed");
    }
    let s = summary.stats;
    if !r.quiet {
        eprintln!(
            "connscope: {} packets, {} connections logged to {}",
            s.packets,
            s.conns_logged,
            dir.display()
        );
    }
    if let Some(e) = summary.input_error {
        eprintln!("connscope: error: {e} (records before this point were written)");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn live(l: cli::LiveArgs) -> Result<ExitCode> {
    use connscope::capture::live::{PcapLive, PcapOptions};
    use connscope::pipeline::run;
    let r = &l.common;
    let dir = r.log_dir.clone().unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating log directory {}", dir.display()))?;
    let (cfg, wopts, copts) = r.settings()?;
    let stop = stop_flag()?;
    let stopped = || stop.load(Ordering::Relaxed);
    let workers = r.workers.max(1);
    let (summary, drops) = match l.source {
        cli::SourceKind::Pcap => {
            let mut o = PcapOptions::new(&l.interface);
            o.filter = l.filter.clone();
            o.snaplen = l.snaplen;
            o.promiscuous = !l.no_promisc;
            o.buffer_size = l.buffer_size;
            let mut src = PcapLive::open(&o)?;
            if let Some(u) = &l.user {
                privs::drop_to(u, &dir)?;
            }
            // Logs are created after the privilege drop, owned by the capture user.
            let sink = make_sink(r, &dir, wopts, copts)?;
            let s = run(&mut src, sink, cfg, workers, &stopped)?;
            (s, connscope::capture::PacketSource::stats(&mut src))
        }
        cli::SourceKind::AfPacket => {
            live_afpacket(&l, &dir, (wopts, copts), cfg, workers, &stopped)?
        }
    };
    if !r.quiet {
        let s = summary.stats;
        eprintln!(
            "connscope: {} packets, {} connections logged to {}",
            s.packets,
            s.conns_logged,
            dir.display()
        );
        if let Some(d) = drops {
            eprintln!(
                "connscope: capture received {}, dropped {}, interface dropped {}",
                d.received, d.dropped, d.if_dropped
            );
        }
    }
    if let Some(e) = summary.input_error {
        eprintln!("connscope: error: {e}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(target_os = "linux")]
fn live_afpacket(
    l: &cli::LiveArgs,
    dir: &std::path::Path,
    (wopts, copts): (
        connscope::output::WriterOptions,
        connscope::output::conn_log::ConnLogOptions,
    ),
    cfg: connscope::engine::EngineConfig,
    workers: usize,
    stop: &dyn Fn() -> bool,
) -> Result<(
    connscope::pipeline::ReadSummary,
    Option<connscope::capture::SourceStats>,
)> {
    use connscope::capture::afpacket::{AfPacket, AfPacketOptions, Fanout};
    let mut o = AfPacketOptions::new(&l.interface);
    o.filter = l.filter.clone();
    o.promiscuous = !l.no_promisc;
    o.block_size = l.ring_block_size;
    o.block_count = l.ring_blocks;
    o.fanout = l.fanout_group.map(Fanout::hash);
    let mut src = AfPacket::open(&o)?;
    if let Some(u) = &l.user {
        privs::drop_to(u, dir)?;
    }
    let sink = make_sink(&l.common, dir, wopts, copts)?;
    let s = connscope::pipeline::run(&mut src, sink, cfg, workers, stop)?;
    Ok((s, connscope::capture::PacketSource::stats(&mut src)))
}

#[cfg(not(target_os = "linux"))]
fn live_afpacket(
    _l: &cli::LiveArgs,
    _dir: &std::path::Path,
    _opts: (
        connscope::output::WriterOptions,
        connscope::output::conn_log::ConnLogOptions,
    ),
    _cfg: connscope::engine::EngineConfig,
    _workers: usize,
    _stop: &dyn Fn() -> bool,
) -> Result<(
    connscope::pipeline::ReadSummary,
    Option<connscope::capture::SourceStats>,
)> {
    anyhow::bail!("AF_PACKET capture is only available on Linux")
}
