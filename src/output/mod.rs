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
pub mod dns_log;
pub mod flowmeter_log;
pub mod geo_fields;
pub mod json;
pub mod kafka;
pub mod notice_log;
pub mod score_log;
pub mod stats_log;
pub mod tsv;
pub mod weird_log;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
#[error("writing {path}{}", lost_note(*.lost))]
pub struct WriteError {
    /// The log file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
    /// Records of this log that are not in the file (the ones buffered when
    /// the write failed, and every later one).
    pub lost: u64,
}

fn lost_note(lost: u64) -> String {
    match lost {
        0 => String::new(),
        n => format!(" ({n} records not written)"),
    }
}

/// One log file: records are formatted into `line`, committed into a
/// 64 KiB buffer and written in whole buffers. After a write error nothing
/// more is written; every record that did not reach the file is counted.
pub struct LogFile {
    path: PathBuf,
    out: File,
    /// Bytes not yet handed to the file, and how many records they end.
    buf: Vec<u8>,
    buffered: u64,
    /// The record being formatted (committed by [`LogFile::commit_line`]).
    pub line: Vec<u8>,
    /// Records committed (written or lost).
    pub records: u64,
    failed: Option<io::Error>,
    /// Records that did not reach the file (after a write error).
    lost: u64,
    /// Set when a write fails (shared with the pipeline so reading stops).
    fail_flag: Option<Arc<AtomicBool>>,
}

/// Bytes buffered before a write to the file.
const BUF: usize = 1 << 16;

impl LogFile {
    /// Creates (truncates) `dir/name`.
    pub fn create(dir: &Path, name: &str) -> Result<LogFile, WriteError> {
        let path = dir.join(name);
        let f = create_private(&path).map_err(|e| WriteError {
            path: path.clone(),
            source: e,
            lost: 0,
        })?;
        Ok(LogFile {
            path,
            out: f,
            buf: Vec::with_capacity(BUF),
            buffered: 0,
            line: Vec::with_capacity(1024),
            records: 0,
            failed: None,
            lost: 0,
            fail_flag: None,
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Raises `flag` when a write fails.
    pub fn set_fail_flag(&mut self, flag: Arc<AtomicBool>) {
        self.fail_flag = Some(flag);
    }

    /// Whether a write failed.
    pub fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Hands the buffer to the file. On an error, the buffered records are
    /// lost (a partial last line may be in the file: its record counts as lost).
    fn drain(&mut self) {
        if self.failed.is_none() && !self.buf.is_empty() {
            match self.out.write_all(&self.buf) {
                Ok(()) => {}
                Err(e) => {
                    self.lost += self.buffered;
                    self.failed = Some(e);
                    if let Some(f) = &self.fail_flag {
                        f.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        self.buf.clear();
        self.buffered = 0;
    }

    /// Writes raw bytes (headers).
    pub fn write_raw(&mut self, b: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(b);
            if self.buf.len() >= BUF {
                self.drain();
            }
        }
    }

    /// Writes `self.line` as one record and clears it (after a write error:
    /// counts it as not written).
    pub fn commit_line(&mut self) {
        self.line.push(b'\n');
        if self.failed.is_none() {
            self.buf.extend_from_slice(&self.line);
            self.buffered += 1;
            if self.buf.len() >= BUF {
                self.drain();
            }
        } else {
            self.lost += 1;
        }
        self.line.clear();
        self.records += 1;
    }

    /// Writes what is buffered; reports the first error met while writing,
    /// with the records that did not reach the file.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        self.drain();
        match self.failed.take() {
            Some(e) => Err(WriteError {
                path: self.path.clone(),
                source: e,
                lost: self.lost,
            }),
            None => Ok(()),
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        self.drain();
    }
}

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
