//! `connscope eval`: scores a log directory against labelled data.
//!
//! Owns the command's options and turning them into
//! [`connscope::eval::EvalOptions`]; prints the table to stdout and writes
//! the JSON report. Must not compute any figure itself (the library does).
//! Exit status: 0 whenever the inputs parse, 1 when one cannot be read or
//! parsed (the message names the file, line and reason).

use anyhow::{Context, Result};
use clap::Args;
use connscope::eval::hosts::Expectation;
use std::path::PathBuf;
use std::process::ExitCode;

/// `connscope eval` options.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Directory holding score.log (and notice.log, if any); TSV or JSON.
    #[arg(long, value_name = "DIR")]
    pub logs: PathBuf,
    /// Connection labels (labels.csv).
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// Host labels (hosts.csv): per-host notices and benign hosts flagged.
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// Lab schedule (schedule.json): was each attack run noticed, and when.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
    /// Test rows are score rows with ts >= EPOCH (default: the labels' split column).
    #[arg(long, value_name = "EPOCH")]
    pub train_until: Option<f64>,
    /// Require a notice of TYPE naming every ADDR (e.g. ConnScope::Scan:192.168.2.16); repeatable.
    #[arg(long = "expect-notice", value_name = "TYPE:ADDR[,ADDR]")]
    pub expect_notice: Vec<Expectation>,
    /// Also write every figure as JSON to this file.
    #[arg(long = "json", value_name = "OUT.json")]
    pub json: Option<PathBuf>,
}

/// Runs the evaluation, prints the table and writes the JSON report.
pub fn run(a: EvalArgs) -> Result<ExitCode> {
    let opts = connscope::eval::EvalOptions {
        logs_dir: a.logs,
        labels: a.labels,
        hosts: a.hosts,
        schedule: a.schedule,
        train_until: a.train_until,
        expect: a.expect_notice,
    };
    let report = connscope::eval::run(&opts)?;
    print!("{}", report.table());
    if let Some(path) = &a.json {
        let mut text = serde_json::to_string_pretty(&report).context("encoding the report")?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
