//! The `connscope` command: a thin binary over the library.
//!
//! Parses the command line, builds the engine settings, runs the pipeline and
//! turns errors into messages and exit codes. Exit status: 0 success, 1 usage
//! or output error, 2 the input capture was truncated or corrupt (every record
//! before the damage was still written).

mod cli;

use anyhow::{Context, Result};
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
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
    }
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
    let summary = connscope::pipeline::read_file(
        &r.read,
        &dir,
        cfg,
        wopts,
        copts,
        r.workers.max(1),
        &stopped,
    )
    .with_context(|| format!("reading {}", r.read.display()))?;
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
