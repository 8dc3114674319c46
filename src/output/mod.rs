//! Log schemas and writers: Zeek TSV and Zeek JSON, byte for byte.
//!
//! Owns how records become lines: [`conn_log`] (conn.log), [`flowmeter_log`]
//! (flowmeter.log and the conn.log extras), [`context_log`] (context.log),
//! [`weird_log`] (weird.log), the shared TSV header and escaping ([`tsv`]) and JSON value formatting
//! ([`json`]), and [`LogFile`], a buffered file writer that reuses
//! one line buffer (no intermediate JSON values, nothing allocated per record
//! beyond the buffer's growth). Must not: change a record or decide what is
//! logged.

pub mod capture_loss_log;
pub mod conn_log;
pub mod context_log;
pub mod flowmeter_log;
pub mod json;
pub mod notice_log;
pub mod score_log;
pub mod stats_log;
pub mod tsv;
pub mod weird_log;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Zeek JSON lines (`LogAscii::use_json = T`).
    Json,
    /// Zeek TSV with `#` headers.
    Tsv,
}

/// How JSON writes `time` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Epoch seconds as a number (`JSON::TS_EPOCH`, Zeek's default).
    Epoch,
    /// `2019-03-01T21:16:50.629660Z` (`JSON::TS_ISO8601`).
    Iso8601,
}

/// Writer options.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Format.
    pub format: LogFormat,
    /// JSON time format.
    pub time_format: TimeFormat,
}

/// An error writing a log.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}")]
pub struct WriteError {
    /// The log file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// One log file being written.
pub struct LogFile {
    path: PathBuf,
    out: BufWriter<File>,
    /// Reused line buffer.
    pub line: Vec<u8>,
    /// Records written.
    pub records: u64,
    failed: Option<io::Error>,
}

impl LogFile {
    /// Creates (truncates) `dir/name`.
    pub fn create(dir: &Path, name: &str) -> Result<LogFile, WriteError> {
        let path = dir.join(name);
        let f = create_private(&path).map_err(|e| WriteError {
            path: path.clone(),
            source: e,
        })?;
        Ok(LogFile {
            path,
            out: BufWriter::with_capacity(1 << 16, f),
            line: Vec::with_capacity(1024),
            records: 0,
            failed: None,
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes raw bytes (headers).
    pub fn write_raw(&mut self, b: &[u8]) {
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(b) {
                self.failed = Some(e);
            }
        }
    }

    /// Writes `self.line` as one record and clears it.
    pub fn commit_line(&mut self) {
        self.line.push(b'\n');
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(&self.line) {
                self.failed = Some(e);
            }
        }
        self.line.clear();
        self.records += 1;
    }

    /// Flushes; reports the first error met while writing.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        if self.failed.is_none() {
            if let Err(e) = self.out.flush() {
                self.failed = Some(e);
            }
        }
        match self.failed.take() {
            Some(e) => Err(WriteError {
                path: self.path.clone(),
                source: e,
            }),
            None => Ok(()),
        }
    }
}

/// Creates a file readable by its owner and group only (logs may be sensitive).
fn create_private(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o640);
    }
    o.open(path)
}
