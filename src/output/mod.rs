//! Log schemas and writers: Zeek TSV and Zeek JSON, byte for byte.
//!
//! Owns how records become lines. Each log module ([`conn_log`],
//! [`dns_log`], [`flowmeter_log`] with the conn.log extras, [`context_log`],
//! [`score_log`], [`notice_log`], [`weird_log`], [`stats_log`],
//! [`capture_loss_log`], [`geo_fields`]) states its columns once, as a
//! [`row::Row`] visit over typed values; [`row`] writes any row as Zeek
//! JSON or TSV and gives its header, with the value formatting of [`json`]
//! and [`tsv`] (escaping, header). Parquet files are built from the TSV
//! rows ([`parquet`]); [`LogFile`] is a buffered file writer that reuses
//! one line buffer (no intermediate JSON values, nothing allocated per
//! record beyond the buffer's growth). Must not: change a record or decide
//! what is logged.

pub mod capture_loss_log;
pub mod conn_log;
pub mod context_log;
pub mod dns_log;
pub mod flowmeter_log;
pub mod geo_fields;
pub mod json;
pub mod kafka;
pub mod notice_log;
pub mod parquet;
pub mod row;
pub mod score_log;
pub mod stats_log;
pub mod tsv;
pub mod weird_log;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Calls `v` with the four `id.*` columns of a connection's 4-tuple (all
/// unset when there is none).
#[inline(always)]
pub fn visit_conn_id<C: row::Columns>(
    id: Option<&(crate::decode::Addr, u16, crate::decode::Addr, u16)>,
    v: &mut C,
) {
    use row::Val;
    match id {
        Some((a, ap, b, bp)) => {
            v.col("id.orig_h", Val::Addr(a));
            v.col("id.orig_p", Val::Port(*ap));
            v.col("id.resp_h", Val::Addr(b));
            v.col("id.resp_p", Val::Port(*bp));
        }
        None => {
            v.col("id.orig_h", Val::Unset("addr"));
            v.col("id.orig_p", Val::Unset("port"));
            v.col("id.resp_h", Val::Unset("addr"));
            v.col("id.resp_p", Val::Unset("port"));
        }
    }
}

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
    /// Write each log as Parquet (`NAME.parquet`) instead of text: rows are
    /// rendered as TSV (`format` must be [`LogFormat::Tsv`]) and parsed by
    /// the log's `#types` into typed columns.
    pub parquet: Option<parquet::ParquetOptions>,
}

impl WriterOptions {
    /// The file name extension of the logs (`log` or `parquet`).
    pub fn extension(&self) -> &'static str {
        if self.parquet.is_some() {
            "parquet"
        } else {
            "log"
        }
    }

    /// Whether files get the TSV header and `#close` lines.
    pub fn tsv_text(&self) -> bool {
        self.format == LogFormat::Tsv && self.parquet.is_none()
    }
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
    /// Set for a Parquet log: rows go there instead of `buf`.
    parquet: Option<Box<parquet::ParquetWriter>>,
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
            parquet: None,
            buf: Vec::with_capacity(BUF),
            buffered: 0,
            line: Vec::with_capacity(1024),
            records: 0,
            failed: None,
            lost: 0,
            fail_flag: None,
        })
    }

    /// Creates (truncates) `dir/name` as a Parquet file for the log
    /// `log_path` with `columns` (names and Zeek types); each committed
    /// line must be a TSV row of those columns.
    pub fn create_parquet(
        dir: &Path,
        name: &str,
        log_path: &str,
        columns: &[(&str, &str)],
        opts: parquet::ParquetOptions,
    ) -> Result<LogFile, WriteError> {
        let path = dir.join(name);
        let err = |e| WriteError {
            path: path.clone(),
            source: e,
            lost: 0,
        };
        let w = parquet::ParquetWriter::create(&path, log_path, columns, opts).map_err(err)?;
        let out = w.file().try_clone().map_err(err)?;
        Ok(LogFile {
            path: path.clone(),
            out,
            parquet: Some(Box::new(w)),
            buf: Vec::new(),
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

    fn fail(&mut self, e: io::Error) {
        self.failed = Some(e);
        if let Some(f) = &self.fail_flag {
            f.store(true, Ordering::Relaxed);
        }
    }

    /// Writes a Parquet file's open row group (also after an earlier
    /// error: the rows buffered before it are still written if the file
    /// takes them); on an error its rows are lost.
    fn flush_parquet(&mut self) {
        let Some(p) = self.parquet.as_mut() else {
            return;
        };
        if let Err(e) = p.flush() {
            self.parquet_error(e);
        }
    }

    /// Counts what `e` lost; the first error is the one reported.
    fn parquet_error(&mut self, e: parquet::ParquetError) {
        let e = match e {
            parquet::ParquetError::Io { source, lost } => {
                self.lost += lost;
                source
            }
            e => {
                self.lost += 1;
                io::Error::new(io::ErrorKind::InvalidData, e.to_string())
            }
        };
        if self.failed.is_none() {
            self.fail(e);
        }
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
        if self.failed.is_none() && self.parquet.is_none() {
            self.buf.extend_from_slice(b);
            if self.buf.len() >= BUF {
                self.drain();
            }
        }
    }

    /// Writes `self.line` as one record and clears it (after a write error:
    /// counts it as not written).
    pub fn commit_line(&mut self) {
        if let Some(p) = self.parquet.as_mut() {
            if self.failed.is_none() {
                if let Err(e) = p.push_tsv(&self.line) {
                    self.parquet_error(e);
                }
            } else {
                self.lost += 1;
            }
            self.line.clear();
            self.records += 1;
            return;
        }
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
        self.flush_parquet();
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
        self.flush_parquet();
        self.drain();
    }
}

pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o640);
    }
    o.open(path)
}
