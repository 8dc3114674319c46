//! The HTML report (`connscope report LOGDIR -o report.html`): one
//! self-contained page built from a log directory, showing what the
//! detectors found.
//!
//! Owns: reading the logs back ([`logs`]: a streaming reader for both
//! formats; [`load`]: conn.log, score.log, notice.log, weird.log,
//! stats.log, capture_loss.log, Zeek's dns.log when present, and a few full
//! rows from conn/flowmeter/context.log), the figures ([`aggregate`]:
//! summary, per-host series with their learned bands, score histogram, top
//! connections, notices' connections), clustering of the anomalous
//! connections ([`cluster`]), inline SVG charts ([`svg`]) and the page
//! ([`html`]: every value from the logs is HTML-escaped, in text and in
//! attributes).
//!
//! Must not: touch the packet path or the detectors' state (it only reads
//! files that are already written), fetch anything over the network (the
//! page has no external reference: styles, charts and the small script are
//! inline), or grow with the input beyond a compact row per connection:
//! tables on the page are capped and sampled, and the page says where.
//!
//! Entry point: [`build`] (the page as a string, with what it contains) or
//! [`write`] (to a file).

pub mod aggregate;
pub mod cluster;
pub mod html;
pub mod load;
pub mod logs;
pub mod sha256;
pub mod svg;

use std::path::{Path, PathBuf};

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The log directory does not exist.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// The log directory has no conn.log.
    #[error("{0}: no conn.log (the report needs at least conn.log)")]
    NoConnLog(PathBuf),
    /// The model file given for the threshold could not be read.
    #[error("{0}")]
    Model(String),
}

impl ReportError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Where the score threshold drawn on the histogram comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Threshold {
    /// Not known (no model, no anomalous row): none is drawn.
    Unknown,
    /// The calibrated threshold of a model (from its file or from the run
    /// that fitted it).
    Model {
        /// The threshold.
        value: f64,
        /// Where it was read (file name or "the fitted model").
        from: String,
    },
    /// Inferred from score.log: above the highest score not marked
    /// anomalous, at most the lowest score marked anomalous.
    Inferred {
        /// Highest score not anomalous.
        below: f64,
        /// Lowest score anomalous.
        above: f64,
    },
}

impl Threshold {
    /// The value drawn (for an inferred threshold, the lowest anomalous
    /// score).
    pub fn value(&self) -> Option<f64> {
        match self {
            Threshold::Unknown => None,
            Threshold::Model { value, .. } => Some(*value),
            Threshold::Inferred { above, .. } => Some(*above),
        }
    }
}

/// What to put on the page.
#[derive(Clone, Debug)]
pub struct Options {
    /// The log directory.
    pub dir: PathBuf,
    /// Connections listed by score.
    pub top: usize,
    /// Hosts drawn with their series.
    pub hosts: usize,
    /// Series interval, seconds (`None`: 60 s, the Host_Volume detector's,
    /// widened so a series has at most [`aggregate::MAX_INTERVALS`] points).
    pub interval: Option<f64>,
    /// The model threshold, when known to the caller.
    pub threshold: Option<(f64, String)>,
    /// Clustering parameters.
    pub cluster: cluster::Params,
}

impl Options {
    /// Defaults for `dir`: 25 connections, 12 hosts.
    pub fn new(dir: &Path) -> Options {
        Options {
            dir: dir.to_path_buf(),
            top: 25,
            hosts: 12,
            interval: None,
            threshold: None,
            cluster: cluster::Params::default(),
        }
    }
}

/// A built page and what went into it.
#[derive(Clone, Debug)]
pub struct Built {
    /// The HTML.
    pub html: String,
    /// conn.log rows read.
    pub conns: u64,
    /// score.log rows read.
    pub scores: u64,
    /// notice.log rows read.
    pub notices: u64,
    /// Lines skipped because they did not parse, over every file.
    pub skipped: u64,
}

/// Reads the log directory and builds the page.
pub fn build(opts: &Options) -> Result<Built, ReportError> {
    let data = load::load(&opts.dir)?;
    let view = aggregate::View::new(&data, opts)?;
    let html = html::page(&data, &view, opts);
    Ok(Built {
        html,
        conns: data.conns.len() as u64,
        scores: data.scores.len() as u64,
        notices: data.notices.len() as u64,
        skipped: data.files.iter().map(|f| f.skipped).sum(),
    })
}

/// Builds the page and writes it to `out`.
pub fn write(opts: &Options, out: &Path) -> Result<Built, ReportError> {
    let b = build(opts)?;
    std::fs::write(out, b.html.as_bytes()).map_err(|e| ReportError::io(out, e))?;
    Ok(b)
}
