//! The `connscope` command: a thin binary over the library.
//!
//! Parses the command line, builds the engine settings, runs the pipeline and
//! turns errors into messages and exit codes. Exit status: 0 success, 1 usage
//! or output error, 2 the input capture was truncated or corrupt (every record
//! before the damage was still written).

mod cli;
mod config;
mod convert_cmd;
mod eval_cmd;
mod privs;
mod progress;
mod report_cmd;

use anyhow::{Context, Result};
use clap::Parser;
use connscope::capture::file::{CaptureError, FileSource};
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
        cli::Command::Train(t) => train(t),
        cli::Command::Eval(e) => eval_cmd::run(e),
        cli::Command::Report(a) => report_cmd::run(a),
        cli::Command::Convert(c) => convert_cmd::run(c),
    }
}

/// The detect stage the options ask for (`None` when detection is off),
/// with the slot its fitted model is left in.
fn detect_stage(
    r: &cli::ReadArgs,
    train_all: bool,
) -> Result<
    Option<(
        connscope::detect::stage::DetectStage,
        connscope::detect::stage::ModelSlot,
    )>,
> {
    use connscope::detect::stage::{DetectConfig, DetectStage, Training};
    if !train_all && !r.detection() {
        return Ok(None);
    }
    if !(r.target_fpr > 0.0 && r.target_fpr < 1.0) {
        anyhow::bail!("--target-fpr {}: must be between 0 and 1", r.target_fpr);
    }
    let model = match &r.model {
        Some(p) => Some(connscope::detect::model::Model::load(p)?),
        None => None,
    };
    let training = if train_all {
        Training::All
    } else if let Some(s) = r.train_seconds {
        if !(s.is_finite() && s > 0.0) {
            anyhow::bail!("--train-seconds {s}: must be a positive number of seconds");
        }
        Training::Seconds(s)
    } else if let Some(t) = r.train_until {
        if !t.is_finite() {
            anyhow::bail!("--train-until {t}: not a time");
        }
        Training::Until(connscope::time::Ts((t * 1e9) as i64))
    } else {
        Training::None
    };
    if r.save_model.is_some() && !matches!(training, Training::Seconds(_) | Training::Until(_)) {
        anyhow::bail!("--save-model needs --train-seconds or --train-until");
    }
    let stage = DetectStage::new(DetectConfig {
        training,
        model,
        target_fpr: r.target_fpr,
        seed: r.seed,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let slot = stage.model_slot();
    Ok(Some((stage, slot)))
}

/// `connscope train`: reads a benign capture, fits every detector on it
/// and writes the model file.
fn train(t: cli::TrainArgs) -> Result<ExitCode> {
    let report = report_request(&t.common);
    let (code, slot) = read_with(t.common, true)?;
    let model = slot
        .and_then(|s| s.lock().ok().and_then(|mut m| m.take()))
        .context("training produced no model")?;
    model.save(&t.output)?;
    eprintln!(
        "connscope: model fitted on {} connections written to {}",
        model.trained.samples,
        t.output.display()
    );
    if let Some((out, mut opts, quiet)) = report {
        opts.threshold = Some((model.threshold, t.output.display().to_string()));
        report_cmd::write(&opts, &out, quiet)?;
    }
    Ok(code)
}

/// `--report FILE`: where to write it and its options (the threshold of
/// `--model`, if given; a model fitted by the run is added later).
fn report_request(
    r: &cli::ReadArgs,
) -> Option<(std::path::PathBuf, connscope::report::Options, bool)> {
    let out = r.report.clone()?;
    let dir = r.log_dir.clone().unwrap_or_else(|| ".".into());
    Some((out, connscope::report::Options::new(&dir), r.quiet))
}

/// Writes the `--report` page after a run; `fitted` is the threshold of a
/// model the run fitted (when it trained).
fn finish_report(
    req: Option<(std::path::PathBuf, connscope::report::Options, bool)>,
    model: Option<&std::path::Path>,
    fitted: Option<f64>,
) -> Result<()> {
    let Some((out, mut opts, quiet)) = req else {
        return Ok(());
    };
    opts.threshold = match (model, fitted) {
        (Some(m), _) => Some(report_cmd::model_threshold(m)?),
        (None, Some(t)) => Some((t, "the model fitted by this run".to_string())),
        (None, None) => None,
    };
    report_cmd::write(&opts, &out, quiet)
}

/// The threshold of the model a detect stage fitted, if any.
fn fitted_threshold(slot: Option<&connscope::detect::stage::ModelSlot>) -> Option<f64> {
    slot.and_then(|s| s.lock().ok().and_then(|m| m.as_ref().map(|m| m.threshold)))
}

/// The log sink: rotation, SIGHUP reopening and GeoIP/ASN enrichment as
/// configured (with the enrichment's report).
fn make_sink(
    r: &cli::ReadArgs,
    dir: &std::path::Path,
    wopts: connscope::output::WriterOptions,
    copts: connscope::output::conn_log::ConnLogOptions,
) -> Result<(
    connscope::pipeline::LogSink,
    Option<connscope::pipeline::GeoReport>,
)> {
    // The databases first: a bad one stops the run before any log exists.
    let enricher = r.geoip()?;
    // The Kafka settings too (a build without Kafka says so here).
    let kafka = match r.kafka.config()? {
        Some(c) => Some(connscope::output::kafka::KafkaOutput::new(&c)?),
        None => None,
    };
    let mut sink = connscope::pipeline::LogSink::new(dir, wopts, copts)?;
    let geo = enricher.map(|e| sink.set_geoip(e));
    if let Some(k) = kafka {
        let _ = KAFKA_REPORT.set(sink.set_kafka(k));
    }
    if r.rotate_interval > 0 {
        use connscope::pipeline::RotationNaming;
        let (naming, default_dir) = match r.rotate_naming {
            cli::RotateNaming::Queue => (RotationNaming::Queue, dir.join("log-queue")),
            cli::RotateNaming::Date => (RotationNaming::Date, dir.to_path_buf()),
        };
        sink.set_rotation(connscope::pipeline::Rotation {
            interval_secs: r.rotate_interval,
            queue_dir: r.log_queue.clone().unwrap_or(default_dir),
            naming,
        })?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .context("installing the SIGHUP handler")?;
    sink.set_reopen_flag(hup);
    Ok((sink, geo))
}

/// The Kafka output's totals, filled when the sink finishes (`--kafka`).
static KAFKA_REPORT: std::sync::OnceLock<connscope::pipeline::KafkaReport> =
    std::sync::OnceLock::new();

/// The Kafka line at the end of a run (`--kafka`).
fn print_kafka(r: &cli::ReadArgs) {
    let Some(k) = KAFKA_REPORT.get().and_then(|k| k.lock().ok().map(|k| *k)) else {
        return;
    };
    if !r.quiet || k.dropped + k.failed > 0 {
        eprintln!(
            "connscope: kafka: {} records queued, {} acknowledged, {} dropped (queue full), {} failed or not acknowledged by the end",
            k.sent, k.acked, k.dropped, k.failed
        );
    }
}

/// The GeoIP/ASN line at the end of a run.
fn print_geo(r: &cli::ReadArgs, geo: Option<connscope::pipeline::GeoReport>) {
    let Some(s) = geo.and_then(|g| g.lock().ok().map(|s| *s)) else {
        return;
    };
    if !r.quiet {
        eprintln!(
            "connscope: geoip: {} lookups of non-local addresses, {} from the cache, {} failed",
            s.lookups, s.cache_hits, s.errors
        );
    }
}

/// Signal flags the pipeline polls: SIGTERM / SIGINT stop reading (open
/// connections are flushed and the logs closed); SIGUSR1 writes stats.log
/// rows now.
struct Signals {
    stop: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers. With `interrupt_reads` (reading a file, which
    /// may be a pipe or FIFO that stalls), SIGTERM and SIGINT interrupt a
    /// blocked read instead of restarting it, so the reader sees the stop
    /// at once ([`FileSource::open_stoppable`]).
    fn install(interrupt_reads: bool) -> Result<Signals> {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, Arc::clone(&stop))
                .context("installing signal handlers")?;
            if interrupt_reads {
                no_restart(sig).context("installing signal handlers")?;
            }
        }
        let usr1 = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&usr1))
            .context("installing the SIGUSR1 handler")?;
        Ok(Signals { stop, usr1 })
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Clears `SA_RESTART` from `sig`'s installed handler (signal-hook installs
/// it with the flag), so a system call blocked when the signal arrives
/// returns EINTR.
fn no_restart(sig: i32) -> std::io::Result<()> {
    // SAFETY: reads and rewrites the process's own disposition of `sig`
    // with the same handler and mask; only the flags change.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut act) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        act.sa_flags &= !libc::SA_RESTART;
        if libc::sigaction(sig, &act, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl connscope::pipeline::Control for Signals {
    fn stop(&self) -> bool {
        self.stopped()
    }
    fn stats_now(&self) -> bool {
        self.usr1.swap(false, Ordering::Relaxed)
    }
}

/// What `read` and `live` set up before opening their input.
struct Setup {
    signals: Signals,
    dir: std::path::PathBuf,
    cfg: connscope::engine::EngineConfig,
    wopts: connscope::output::WriterOptions,
    copts: connscope::output::conn_log::ConnLogOptions,
}

/// The signal handlers (first, so a signal that arrives once the log
/// directory exists is handled; `interrupt_reads` as for
/// [`Signals::install`]), the log directory (created) and the settings.
fn set_up(r: &cli::ReadArgs, interrupt_reads: bool) -> Result<Setup> {
    let signals = Signals::install(interrupt_reads)?;
    let dir = r.log_dir.clone().unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating log directory {}", dir.display()))?;
    let (cfg, wopts, copts) = r.settings()?;
    Ok(Setup {
        signals,
        dir,
        cfg,
        wopts,
        copts,
    })
}

fn read(r: cli::ReadArgs) -> Result<ExitCode> {
    let save = r.save_model.clone();
    let report = report_request(&r);
    let model = r.model.clone();
    let (code, slot) = read_with(r, false)?;
    let fitted = fitted_threshold(slot.as_ref());
    save_model(save.as_deref(), slot)?;
    finish_report(report, model.as_deref(), fitted)?;
    Ok(code)
}

/// Reads a capture into logs; with detection, also returns the slot of the
/// model the detect stage fitted.
fn read_with(
    r: cli::ReadArgs,
    train_all: bool,
) -> Result<(ExitCode, Option<connscope::detect::stage::ModelSlot>)> {
    let Setup {
        signals,
        dir,
        cfg,
        wopts,
        copts,
    } = set_up(&r, true)?;
    let Some(input) = r.read.clone() else {
        anyhow::bail!("read needs -r FILE");
    };
    let src = match FileSource::open_stoppable(&input, Arc::clone(&signals.stop)) {
        Ok(s) => s,
        Err(CaptureError::Stopped { .. }) => {
            if !r.quiet {
                eprintln!(
                    "connscope: interrupted before {} opened; nothing was read",
                    input.display()
                );
            }
            return Ok((ExitCode::SUCCESS, None));
        }
        Err(e) => return Err(e.into()),
    };
    let total = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let (mut src, bar) = progress::track(src, total, !r.quiet);
    let (mut sink, geo) = make_sink(&r, &dir, wopts, copts)?;
    let mut slot = None;
    let mut report = None;
    if let Some((stage, s)) = detect_stage(&r, train_all)? {
        report = Some(stage.report_slot());
        sink.add_stage(Box::new(stage));
        slot = Some(s);
    }
    let summary = connscope::pipeline::run(&mut src, sink, cfg, r.workers.max(1), &signals);
    drop(bar);
    let summary = summary.with_context(|| format!("reading {}", input.display()))?;
    if signals.stopped() && !r.quiet {
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
    if !r.quiet && (r.max_memory > 0 || r.max_conns > 0) {
        // VmHWM is this program's own peak (getrusage's maxrss would include
        // the parent's before exec).
        let peak = peak_rss_kib().map_or("?".to_string(), |k| format!("{k}"));
        eprintln!(
            "connscope: peak RSS {peak} KiB (budget {} MiB); evicted {} connections, {} fragment datagrams; {} connections hit a state bound",
            r.max_memory, s.conns_evicted, s.frag_evicted, s.conn_state_limits
        );
    }
    print_geo(&r, geo);
    print_kafka(&r);
    if let Some(rep) = report.and_then(|r| r.lock().ok().map(|r| *r)) {
        if !r.quiet {
            eprintln!(
                "connscope: detection: {} connections learned from, {} scored, {} notices, {} host-state entries",
                rep.trained, rep.scored, rep.notices, rep.host_entries
            );
        }
    }
    if let Some(e) = summary.input_error {
        eprintln!("connscope: error: {e} (records before this point were written)");
        return Ok((ExitCode::from(2), slot));
    }
    Ok((ExitCode::SUCCESS, slot))
}

fn live(l: cli::LiveArgs) -> Result<ExitCode> {
    use connscope::capture::{merge::Merge, PacketSource};
    let r = &l.common;
    if let Some(f) = &r.read {
        anyhow::bail!(
            "`live` captures from -i; it does not read files (-r {}): use `connscope read -r FILE`",
            f.display()
        );
    }
    let Setup {
        signals,
        dir,
        cfg,
        wopts,
        copts,
    } = set_up(r, false)?;
    let several = l.interface.len() > 1;
    let workers = r.workers.max(1);
    let label = match l.source {
        cli::SourceKind::Pcap => "libpcap",
        cli::SourceKind::AfPacket => "AF_PACKET",
    };
    // AF_PACKET with a fanout group and several workers: one ring per
    // worker in the group; the kernel spreads the flows, no capture thread.
    if l.source == cli::SourceKind::AfPacket && l.fanout_group.is_some() && workers > 1 && !several
    {
        let rings = open_fanout_rings(&l, workers)?;
        let (sink, slot) = live_sink(&l, &dir, wopts, copts)?;
        if !r.quiet {
            eprintln!(
                "connscope: listening on {} ({label} fanout group, {workers} workers with a ring each)",
                l.interface.join(", ")
            );
        }
        let (summary, drops) = connscope::pipeline::run_each(rings, sink, cfg, &signals)?;
        return finish_live(r, &dir, summary, drops, slot);
    }
    let mut sources = Vec::new();
    for iface in &l.interface {
        sources.push(open_live(&l, iface, several)?);
    }
    let mut src: Box<dyn PacketSource> = if several {
        Box::new(Merge::new(sources))
    } else {
        sources.pop().context("no interface given (-i)")?
    };
    let (sink, slot) = live_sink(&l, &dir, wopts, copts)?;
    if !r.quiet {
        eprintln!(
            "connscope: listening on {} ({label}, {workers} worker{})",
            l.interface.join(", "),
            if workers > 1 { "s" } else { "" }
        );
    }
    let summary = connscope::pipeline::run(&mut src, sink, cfg, workers, &signals)?;
    let drops = src.stats();
    finish_live(r, &dir, summary, drops, slot)
}

/// Once the capture is open: drops privileges (`--user`), then creates the
/// logs (owned by the capture user) with live-only stats (`mem`) and the
/// detect stage (with the slot of the model it learns, if it trains).
fn live_sink(
    l: &cli::LiveArgs,
    dir: &std::path::Path,
    wopts: connscope::output::WriterOptions,
    copts: connscope::output::conn_log::ConnLogOptions,
) -> Result<(
    connscope::pipeline::LogSink,
    Option<connscope::detect::stage::ModelSlot>,
)> {
    if let Some(u) = &l.user {
        privs::drop_to(u, dir)?;
    }
    let (mut sink, _geo) = make_sink(&l.common, dir, wopts, copts)?;
    sink.set_memory_stats(true);
    let mut slot = None;
    if let Some((stage, s)) = detect_stage(&l.common, false)? {
        sink.add_stage(Box::new(stage));
        slot = Some(s);
    }
    Ok((sink, slot))
}

/// `--save-model`: writes the model the detect stage learned.
fn save_model(
    path: Option<&std::path::Path>,
    slot: Option<connscope::detect::stage::ModelSlot>,
) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let model = slot
        .and_then(|s| s.lock().ok().and_then(|mut m| m.take()))
        .context("training produced no model")?;
    model.save(path)?;
    Ok(())
}

/// This process's peak resident set size (`VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let st = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = st.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The end of a capture: the model it learned (`--save-model`), the
/// summary on stderr, the `--report` page; the exit code.
fn finish_live(
    r: &cli::ReadArgs,
    dir: &std::path::Path,
    summary: connscope::pipeline::ReadSummary,
    drops: Option<connscope::capture::SourceStats>,
    slot: Option<connscope::detect::stage::ModelSlot>,
) -> Result<ExitCode> {
    let fitted = fitted_threshold(slot.as_ref());
    save_model(r.save_model.as_deref(), slot)?;
    let code = live_summary(r, dir, summary, drops);
    finish_report(report_request(r), r.model.as_deref(), fitted)?;
    Ok(code)
}

/// The end-of-capture summary on stderr and the exit code.
fn live_summary(
    r: &cli::ReadArgs,
    dir: &std::path::Path,
    summary: connscope::pipeline::ReadSummary,
    drops: Option<connscope::capture::SourceStats>,
) -> ExitCode {
    print_kafka(r);
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
                "connscope: capture received {}, dropped {}, interface dropped {}, queue dropped {}",
                d.received, d.dropped, d.if_dropped, s.queue_drops
            );
        }
    }
    if let Some(e) = summary.input_error {
        eprintln!("connscope: error: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// Opens one interface with the chosen mechanism. With several interfaces
/// the poll timeout is short, so an idle one does not hold up the others.
fn open_live(
    l: &cli::LiveArgs,
    iface: &str,
    several: bool,
) -> Result<Box<dyn connscope::capture::PacketSource>> {
    Ok(match l.source {
        cli::SourceKind::Pcap => {
            use connscope::capture::live::{PcapLive, PcapOptions};
            let mut o = PcapOptions::new(iface);
            o.filter = l.filter.clone();
            o.snaplen = l.snaplen;
            o.promiscuous = !l.no_promisc;
            o.buffer_size = l.buffer_size;
            if several {
                o.poll_timeout_ms = o.poll_timeout_ms.min(10);
            }
            Box::new(PcapLive::open(&o)?)
        }
        cli::SourceKind::AfPacket => open_afpacket(l, iface, several)?,
    })
}

#[cfg(target_os = "linux")]
fn open_afpacket(
    l: &cli::LiveArgs,
    iface: &str,
    several: bool,
) -> Result<Box<dyn connscope::capture::PacketSource>> {
    use connscope::capture::afpacket::{AfPacket, AfPacketOptions, Fanout};
    let mut o = AfPacketOptions::new(iface);
    o.filter = l.filter.clone();
    o.promiscuous = !l.no_promisc;
    o.block_size = l.ring_block_size;
    o.block_count = l.ring_blocks;
    o.fanout = l.fanout_group.map(Fanout::hash);
    if several {
        o.poll_timeout_ms = o.poll_timeout_ms.min(10);
    }
    Ok(Box::new(AfPacket::open(&o)?))
}

/// `n` AF_PACKET rings on the one interface, all in the fanout group.
#[cfg(target_os = "linux")]
fn open_fanout_rings(
    l: &cli::LiveArgs,
    n: usize,
) -> Result<Vec<connscope::capture::afpacket::AfPacket>> {
    use connscope::capture::afpacket::{AfPacket, AfPacketOptions, Fanout};
    let iface = l.interface.first().context("no interface given (-i)")?;
    (0..n)
        .map(|_| {
            let mut o = AfPacketOptions::new(iface.as_str());
            o.filter = l.filter.clone();
            o.promiscuous = !l.no_promisc;
            o.block_size = l.ring_block_size;
            o.block_count = l.ring_blocks;
            o.fanout = l.fanout_group.map(Fanout::hash);
            Ok(AfPacket::open(&o)?)
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn open_fanout_rings(
    _l: &cli::LiveArgs,
    _n: usize,
) -> Result<Vec<connscope::capture::file::FileSource>> {
    anyhow::bail!("AF_PACKET capture is only available on Linux")
}

#[cfg(not(target_os = "linux"))]
fn open_afpacket(
    _l: &cli::LiveArgs,
    _iface: &str,
    _several: bool,
) -> Result<Box<dyn connscope::capture::PacketSource>> {
    anyhow::bail!("AF_PACKET capture is only available on Linux")
}
