//! Log files for the records of a run: conn.log and weird.log in a directory.

use crate::engine::RecordSink;
use crate::output::conn_log::{self, ConnLogOptions};
use crate::output::flowmeter_log;
use crate::output::stats_log::{self, StatsRecord};
use crate::output::weird_log::{self, WeirdRecord};
use crate::output::{tsv, LogFile, LogFormat, WriteError, WriterOptions};
use crate::record::ConnRecord;
use crate::time::Ts;
use std::path::{Path, PathBuf};

/// Writes conn.log and weird.log into a directory.
pub struct LogSink {
    opts: WriterOptions,
    conn_opts: ConnLogOptions,
    dir: PathBuf,
    conn: Option<LogFile>,
    weird: Option<LogFile>,
    flowmeter: Option<LogFile>,
    stats: Option<LogFile>,
    first_ts: Option<Ts>,
    last_ts: Ts,
    error: Option<WriteError>,
}

impl LogSink {
    /// A sink writing into `dir` (files are created on first record, except
    /// conn.log which always exists).
    pub fn new(
        dir: &Path,
        opts: WriterOptions,
        conn_opts: ConnLogOptions,
    ) -> Result<LogSink, WriteError> {
        let mut s = LogSink {
            opts,
            conn_opts,
            dir: dir.to_path_buf(),
            conn: None,
            weird: None,
            flowmeter: None,
            stats: None,
            first_ts: None,
            last_ts: Ts(0),
            error: None,
        };
        s.conn = Some(LogFile::create(dir, &Self::file_name("conn", opts.format))?);
        if conn_opts.flowmeter {
            s.flowmeter = Some(LogFile::create(
                dir,
                &Self::file_name(flowmeter_log::PATH, opts.format),
            )?);
        }
        Ok(s)
    }

    fn file_name(path: &str, _f: LogFormat) -> String {
        format!("{path}.log")
    }

    /// Records the network time span (for the TSV `#open`/`#close` lines).
    pub fn saw_time(&mut self, ts: Ts) {
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        if ts > self.last_ts {
            self.last_ts = ts;
        }
    }

    fn open_time(&self) -> String {
        tsv::meta_time(
            self.first_ts
                .map(|t| t.0.div_euclid(crate::time::SEC))
                .unwrap_or(0),
        )
    }

    fn header(&self, f: &mut LogFile, path: &str, cols: &[(&str, &str)]) {
        if self.opts.format == LogFormat::Tsv {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let types: Vec<&str> = cols.iter().map(|c| c.1).collect();
            let mut h = Vec::new();
            tsv::header(&mut h, path, &self.open_time(), &names, &types);
            f.write_raw(&h);
        }
    }

    /// Finishes all files (TSV `#close` lines), reporting the first write error.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        let close = tsv::meta_time(self.last_ts.0.div_euclid(crate::time::SEC));
        let mut conn = self.conn.take();
        if let Some(f) = conn.as_mut() {
            if f.records == 0 && self.opts.format == LogFormat::Tsv {
                let cols = conn_log::columns(&self.conn_opts);
                self.header(f, "conn", &cols);
            }
        }
        let mut fm = self.flowmeter.take();
        if let Some(f) = fm.as_mut() {
            if f.records == 0 && self.opts.format == LogFormat::Tsv {
                self.header(f, flowmeter_log::PATH, &flowmeter_log::columns());
            }
        }
        let mut st = self.stats.take();
        for f in [conn.as_mut(), self.weird.as_mut(), fm.as_mut(), st.as_mut()]
            .into_iter()
            .flatten()
        {
            if self.opts.format == LogFormat::Tsv {
                let mut c = Vec::new();
                tsv::close(&mut c, &close);
                f.write_raw(&c);
            }
            if let Err(e) = f.finish() {
                self.error.get_or_insert(e);
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl RecordSink for LogSink {
    fn conn(&mut self, rec: ConnRecord) {
        if let Some(mut f) = self.flowmeter.take() {
            if f.records == 0 {
                self.header(&mut f, flowmeter_log::PATH, &flowmeter_log::columns());
            }
            let c = &rec.conn;
            let feat = c
                .stats
                .as_deref()
                .copied()
                .unwrap_or_default()
                .features(c.start, c.last);
            match self.opts.format {
                LogFormat::Json => flowmeter_log::write_json(&mut f.line, c.uid.as_str(), &feat),
                LogFormat::Tsv => flowmeter_log::write_tsv(&mut f.line, c.uid.as_str(), &feat),
            }
            f.commit_line();
            self.flowmeter = Some(f);
        }
        let Some(mut f) = self.conn.take() else {
            return;
        };
        if f.records == 0 {
            let cols = conn_log::columns(&self.conn_opts);
            self.header(&mut f, "conn", &cols);
        }
        match self.opts.format {
            LogFormat::Json => {
                conn_log::write_json(&mut f.line, &rec, &self.conn_opts, self.opts.time_format)
            }
            LogFormat::Tsv => conn_log::write_tsv(&mut f.line, &rec, &self.conn_opts),
        }
        f.commit_line();
        self.conn = Some(f);
    }

    fn weird(&mut self, w: WeirdRecord) {
        if self.weird.is_none() {
            match LogFile::create(&self.dir, &Self::file_name("weird", self.opts.format)) {
                Ok(mut f) => {
                    self.header(&mut f, "weird", weird_log::COLUMNS);
                    self.weird = Some(f);
                }
                Err(e) => {
                    self.error.get_or_insert(e);
                    return;
                }
            }
        }
        let Some(mut f) = self.weird.take() else {
            return;
        };
        match self.opts.format {
            LogFormat::Json => weird_log::write_json(&mut f.line, &w, self.opts.time_format),
            LogFormat::Tsv => weird_log::write_tsv(&mut f.line, &w),
        }
        f.commit_line();
        self.weird = Some(f);
    }

    fn stats(&mut self, s: StatsRecord) {
        if self.stats.is_none() {
            match LogFile::create(&self.dir, &Self::file_name("stats", self.opts.format)) {
                Ok(mut f) => {
                    self.header(&mut f, "stats", stats_log::COLUMNS);
                    self.stats = Some(f);
                }
                Err(e) => {
                    self.error.get_or_insert(e);
                    return;
                }
            }
        }
        let Some(mut f) = self.stats.take() else {
            return;
        };
        match self.opts.format {
            LogFormat::Json => stats_log::write_json(&mut f.line, &s, self.opts.time_format),
            LogFormat::Tsv => stats_log::write_tsv(&mut f.line, &s),
        }
        f.commit_line();
        self.stats = Some(f);
    }
}
