//! Zeek logs as Parquet files: a small self-contained writer (no Arrow, no
//! compression) fed the rows the TSV writers render.
//!
//! A log's `#fields` / `#types` give the schema ([`column`] maps each Zeek
//! type: `time` → INT64 TIMESTAMP(MICROS, UTC), `interval` → DOUBLE seconds,
//! `count` → UINT64, `int` → INT64, `double` → DOUBLE, `bool` → BOOLEAN,
//! `port` → UINT16, `set`/`vector` → LIST, everything else → STRING), each
//! row's TSV fields are parsed into per-column buffers (`-` → null,
//! `(empty)` → empty string or list, `\xNN` unescaped), and every
//! `row_group_rows` rows (or 64 MiB buffered) a row group is written: one
//! PLAIN data page per column, levels as RLE runs ([`thrift`] encodes the
//! headers). After every row group the footer is written again at the end,
//! so the file on disk is always a complete Parquet file: a crash loses the
//! open row group only (unless it strikes while a row group is being
//! written); a failed write (disk full) puts the previous footer back.
//! Column statistics: null counts, and min/max of `time` columns. [`convert`] turns Zeek TSV and JSON log files into Parquet.
//!
//! Owns the file layout, row groups and the footer. Must not: decide what
//! is logged, or read anything but the rows it is given.

pub mod column;
pub mod convert;
mod thrift;

use column::{ColType, Column, FieldError};
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thrift::{Ty, Writer};

/// Parquet writer options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Rows per row group (the rows a crash can lose, and the memory held).
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            row_group_rows: 65_536,
        }
    }
}

/// A row group is also written once its buffers hold this many bytes.
const MAX_GROUP_BYTES: usize = 64 << 20;

/// An error writing a Parquet row.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// Writing the file failed; `lost` rows of the open row group are not in it.
    #[error("{source}")]
    Io {
        /// The I/O error.
        #[source]
        source: io::Error,
        /// Rows that did not reach the file.
        lost: u64,
    },
    /// A field does not parse as its column's type (the row is not written).
    #[error("column {name} (#{index}): {source}")]
    Field {
        /// Column name.
        name: String,
        /// Column number (from 1).
        index: usize,
        /// What was wrong.
        #[source]
        source: FieldError,
    },
    /// The row has a different number of fields than the schema.
    #[error("{found} fields, the log has {expected} columns")]
    Width {
        /// Fields in the row.
        found: usize,
        /// Columns in the schema.
        expected: usize,
    },
}

/// Where one column chunk lies.
struct Chunk {
    offset: i64,
    size: i64,
    page: column::PageInfo,
}

/// One written row group.
struct Group {
    chunks: Vec<Chunk>,
    rows: i64,
}

/// One Parquet file being written.
pub struct ParquetWriter {
    path: PathBuf,
    file: File,
    columns: Vec<Column>,
    /// Footer key/value metadata (`zeek_path`, `zeek_types`).
    meta: Vec<(String, String)>,
    opts: ParquetOptions,
    /// Rows in the open row group.
    rows: usize,
    groups: Vec<Group>,
    total_rows: i64,
    /// Where the row data ends (the footer starts) in the file.
    data_end: u64,
    out: Vec<u8>,
    body: Vec<u8>,
    scratch: Vec<u8>,
    marks: Vec<(usize, usize, usize)>,
}

impl ParquetWriter {
    /// Creates (truncates) `path` for a log named `log_path` with `columns`
    /// (Zeek names and types) and writes an empty file (magic and footer).
    pub fn create(
        path: &Path,
        log_path: &str,
        columns: &[(&str, &str)],
        opts: ParquetOptions,
    ) -> io::Result<ParquetWriter> {
        let file = super::create_private(path)?;
        let types: Vec<&str> = columns.iter().map(|c| c.1).collect();
        let mut w = ParquetWriter {
            path: path.to_path_buf(),
            file,
            columns: columns
                .iter()
                .map(|(n, t)| Column::new(n, ColType::of(t)))
                .collect(),
            meta: vec![
                ("zeek_path".into(), log_path.into()),
                ("zeek_types".into(), types.join(",")),
            ],
            opts: ParquetOptions {
                row_group_rows: opts.row_group_rows.max(1),
            },
            rows: 0,
            groups: Vec::new(),
            total_rows: 0,
            data_end: 4,
            out: Vec::new(),
            body: Vec::new(),
            scratch: Vec::new(),
            marks: Vec::with_capacity(columns.len()),
        };
        w.out.extend_from_slice(b"PAR1");
        w.write_out(0)?;
        Ok(w)
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far (flushed or buffered).
    pub fn rows(&self) -> u64 {
        self.total_rows as u64 + self.rows as u64
    }

    /// Appends one row given as its TSV line (fields separated by tabs, a
    /// trailing newline ignored). A row that does not parse is not written.
    pub fn push_tsv(&mut self, line: &[u8]) -> Result<(), ParquetError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let found = line.split(|&c| c == b'\t').count();
        if found != self.columns.len() {
            return Err(ParquetError::Width {
                found,
                expected: self.columns.len(),
            });
        }
        self.marks.clear();
        self.marks.extend(self.columns.iter().map(Column::mark));
        let fields = line.split(|&c| c == b'\t');
        for (i, (c, f)) in self.columns.iter_mut().zip(fields).enumerate() {
            if let Err(e) = c.push_tsv(f, &mut self.scratch) {
                let name = c.name.clone();
                for (c, &(n, v, k)) in self.columns.iter_mut().zip(&self.marks) {
                    c.pop_row(n, v, k);
                }
                return Err(ParquetError::Field {
                    name,
                    index: i + 1,
                    source: e,
                });
            }
        }
        self.rows += 1;
        if self.rows >= self.opts.row_group_rows
            || self
                .columns
                .iter()
                .map(Column::buffered_bytes)
                .sum::<usize>()
                >= MAX_GROUP_BYTES
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the open row group (if any) and the footer after it. On an
    /// error the group's rows are lost (and counted in the error).
    pub fn flush(&mut self) -> Result<(), ParquetError> {
        if self.rows == 0 {
            return Ok(());
        }
        let rows = self.rows;
        self.rows = 0;
        self.out.clear();
        let mut chunks = Vec::with_capacity(self.columns.len());
        for c in &mut self.columns {
            let start = self.out.len();
            let page = c.encode_page(&mut self.out, &mut self.body);
            chunks.push(Chunk {
                offset: (self.data_end + start as u64) as i64,
                size: (self.out.len() - start) as i64,
                page,
            });
        }
        self.groups.push(Group {
            chunks,
            rows: rows as i64,
        });
        self.total_rows += rows as i64;
        if let Err(e) = self.write_out(self.data_end) {
            self.groups.pop();
            self.total_rows -= rows as i64;
            // The partial write replaced the footer: cut it off and put the
            // previous footer back (it fits in the space the cut frees), so
            // a full disk keeps every row group written before.
            let _ = self.file.set_len(self.data_end);
            self.out.clear();
            let _ = self.write_out(self.data_end);
            return Err(ParquetError::Io {
                source: e,
                lost: rows as u64,
            });
        }
        Ok(())
    }

    /// Appends the footer to `self.out` (row data, or the magic of a new
    /// file) and writes it all at `start`; the row data then ends where
    /// the footer begins.
    fn write_out(&mut self, start: u64) -> io::Result<()> {
        let footer_at = self.out.len();
        self.footer();
        let len = (self.out.len() - footer_at) as u32;
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(b"PAR1");
        self.file.seek(SeekFrom::Start(start))?;
        self.file.write_all(&self.out)?;
        self.data_end = start + footer_at as u64;
        Ok(())
    }

    /// The FileMetaData (thrift compact) of the groups written so far.
    fn footer(&mut self) {
        let mut w = Writer::new(&mut self.out);
        w.i32(1, 1); // version
        let elements = 1 + self
            .columns
            .iter()
            .map(|c| if c.ty.list { 3 } else { 1 })
            .sum::<usize>();
        w.list(2, Ty::Struct, elements);
        w.begin_value();
        w.binary(4, b"schema");
        w.i32(5, self.columns.len() as i32);
        w.end();
        for c in &self.columns {
            c.schema(&mut w);
        }
        w.i64(3, self.total_rows);
        w.list(4, Ty::Struct, self.groups.len());
        for g in &self.groups {
            w.begin_value();
            w.list(1, Ty::Struct, g.chunks.len());
            for (ch, c) in g.chunks.iter().zip(&self.columns) {
                w.begin_value();
                w.i64(2, ch.offset + ch.size); // file_offset (deprecated): the chunk's end
                w.begin(3); // ColumnMetaData
                w.i32(1, c.physical());
                w.list(2, Ty::I32, 2); // encodings: PLAIN, RLE
                w.i32_value(0);
                w.i32_value(3);
                let path = c.path();
                w.list(3, Ty::Binary, path.len());
                for p in path {
                    w.binary_value(p);
                }
                w.i32(4, 0); // codec: UNCOMPRESSED
                w.i64(5, ch.page.entries as i64);
                w.i64(6, ch.size);
                w.i64(7, ch.size);
                w.i64(9, ch.offset); // data_page_offset
                if ch.page.nulls.is_some() || ch.page.range.is_some() {
                    w.begin(12); // Statistics
                    if let Some(n) = ch.page.nulls {
                        w.i64(3, n as i64); // null_count
                    }
                    if let Some((lo, hi)) = ch.page.range {
                        w.binary(5, &hi.to_le_bytes()); // max_value
                        w.binary(6, &lo.to_le_bytes()); // min_value
                    }
                    w.end();
                }
                w.end();
                w.end();
            }
            let bytes: i64 = g.chunks.iter().map(|c| c.size).sum();
            w.i64(2, bytes); // total_byte_size
            w.i64(3, g.rows);
            w.i64(5, g.chunks.first().map_or(0, |c| c.offset)); // file_offset
            w.i64(6, bytes); // total_compressed_size
            w.end();
        }
        w.list(5, Ty::Struct, self.meta.len());
        for (k, v) in &self.meta {
            w.begin_value();
            w.binary(1, k.as_bytes());
            w.binary(2, v.as_bytes());
            w.end();
        }
        w.binary(
            6,
            concat!("connscope version ", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        // column_orders: TYPE_ORDER for every leaf (readers use min/max
        // statistics only when the order is given).
        w.list(7, Ty::Struct, self.columns.len());
        for _ in &self.columns {
            w.begin_value();
            w.begin(1);
            w.end();
            w.end();
        }
        w.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("connscope-pq-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        d
    }

    #[test]
    fn file_is_complete_after_every_row_group() {
        let p = tmp("groups.parquet");
        let cols = [("ts", "time"), ("n", "count"), ("s", "set[string]")];
        let mut w =
            ParquetWriter::create(&p, "t", &cols, ParquetOptions { row_group_rows: 2 }).unwrap();
        let empty = std::fs::read(&p).unwrap();
        assert!(empty.starts_with(b"PAR1") && empty.ends_with(b"PAR1"));
        w.push_tsv(b"1.000001\t1\ta,b\n").unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            empty,
            "a buffered row is not written"
        );
        w.push_tsv(b"2.0\t-\t(empty)").unwrap();
        let one = std::fs::read(&p).unwrap();
        assert!(one.len() > empty.len() && one.ends_with(b"PAR1"));
        // The footer length points at a footer that starts after the row data.
        let n = one.len();
        let flen = u32::from_le_bytes(one[n - 8..n - 4].try_into().unwrap()) as usize;
        assert_eq!(w.data_end as usize, n - 8 - flen);
        assert_eq!(w.rows(), 2);
        assert!(matches!(
            w.push_tsv(b"1\t2"),
            Err(ParquetError::Width {
                found: 2,
                expected: 3
            })
        ));
        let e = w.push_tsv(b"1\t2\t3").err();
        assert!(e.is_none());
        let e = w.push_tsv(b"x\t2\t3").unwrap_err();
        assert_eq!(
            e.to_string(),
            "column ts (#1): \"x\" is not a valid Time value"
        );
        w.flush().unwrap();
        assert_eq!(w.rows(), 3);
        let _ = std::fs::remove_file(&p);
    }
}
