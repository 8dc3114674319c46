//! `connscope report LOGDIR -o report.html`: the HTML report of a log
//! directory (and `--report FILE` at the end of `read`).
//!
//! Owns the command's options, reading the model threshold from a model
//! file, and the one-line summary on stderr. Must not compute any figure
//! itself (the library's [`connscope::report`] does). Exit status: 0 when
//! the page was written, 1 when the directory, conn.log, the model or the
//! output file cannot be read or written (the message names it).

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `connscope report` options.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Log directory (conn.log required; score.log, notice.log, weird.log, stats.log, capture_loss.log, flowmeter.log, context.log and Zeek's dns.log used when present; TSV or JSON).
    #[arg(value_name = "LOGDIR")]
    pub logs: PathBuf,
    /// Where to write the page (default: LOGDIR/report.html).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Model file (from `connscope train` or --save-model) whose calibrated threshold is drawn; without it the threshold is inferred from score.log's anomalous column.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Connections listed by score.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub top: usize,
    /// Hosts drawn with their series.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub hosts: usize,
    /// Series interval in seconds (default: 60, widened so a series has at most 720 points).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<f64>,
    /// Clustering radius (Euclidean, on ln(1+x) features).
    #[arg(long, value_name = "EPS", default_value_t = 0.75)]
    pub eps: f64,
    /// Connections a neighbourhood needs to be a cluster core.
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    pub min_pts: f64,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `connscope report`.
pub fn run(a: ReportArgs) -> Result<ExitCode> {
    let mut opts = connscope::report::Options::new(&a.logs);
    opts.top = a.top;
    opts.hosts = a.hosts;
    opts.interval = a.interval;
    if !(a.eps.is_finite() && a.eps > 0.0) {
        anyhow::bail!("--eps {}: must be a positive number", a.eps);
    }
    if let Some(i) = a.interval.filter(|i| !(i.is_finite() && *i >= 1.0)) {
        anyhow::bail!("--interval {i}: must be at least 1 second");
    }
    if !(a.min_pts.is_finite() && a.min_pts >= 1.0) {
        anyhow::bail!("--min-pts {}: must be at least 1", a.min_pts);
    }
    opts.cluster = connscope::report::cluster::Params {
        eps: a.eps,
        min_pts: a.min_pts,
    };
    if let Some(m) = &a.model {
        opts.threshold = Some(model_threshold(m)?);
    }
    let out = a.output.unwrap_or_else(|| a.logs.join("report.html"));
    write(&opts, &out, a.quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// The calibrated threshold of a model file, named after the file.
pub fn model_threshold(path: &Path) -> Result<(f64, String)> {
    let m = connscope::detect::model::Model::load(path)?;
    Ok((m.threshold, path.display().to_string()))
}

/// Builds the report of `opts.dir` into `out`; one line on stderr unless
/// `quiet`.
pub fn write(opts: &connscope::report::Options, out: &Path, quiet: bool) -> Result<()> {
    let t = std::time::Instant::now();
    let b = connscope::report::write(opts, out)
        .with_context(|| format!("building the report of {}", opts.dir.display()))?;
    if !quiet {
        eprintln!(
            "connscope: report of {} connections, {} scores, {} notices written to {} ({} bytes, {:.1} s){}",
            b.conns,
            b.scores,
            b.notices,
            out.display(),
            b.html.len(),
            t.elapsed().as_secs_f64(),
            if b.skipped > 0 {
                format!("; {} unreadable log lines skipped (listed on the page)", b.skipped)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
