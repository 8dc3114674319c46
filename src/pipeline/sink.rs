//! Log files for the records of a run, in one directory: conn.log always,
//! and weird.log, flowmeter.log, stats.log and capture_loss.log when they
//! have something to say (created on their first row, as Zeek does);
//! context.log with `--context`, score.log and notice.log with detection;
//! those rows come from the writer-thread stages ([`super::stages`]), in
//! context order. With `--geoip-db`/`--asn-db` the sink enriches conn,
//! conn_long and notice rows just before writing them ([`crate::geoip`]),
//! so enrichment costs one cached lookup per endpoint per record, never
//! per packet. dns.log rows are written as they arrive. With `--conn-names`,
//! conn.log lines wait in the names stage ([`crate::dns::names`]) until
//! every shard's clock passed them, so their `orig_name` / `resp_name` are
//! the same for any worker count. With `--format parquet` each log is
//! `NAME.parquet` instead, built from the same TSV rows
//! ([`crate::output::parquet`]). With `--kafka` every row written is also
//! handed, as Zeek JSON, to the Kafka output ([`crate::output::kafka`]),
//! which queues it without blocking; its counters go into stats.log. The
//! sink only writes.

use super::stages::{Emit, Stage, StageChain};
use super::weird_script::WeirdScript;
use crate::context::{ConnInfo, Features};
use crate::dns::names::{NameCache, NameStage};
use crate::dns::{DnsRecord, NameBatch};
use crate::engine::RecordSink;
use crate::geoip::{EnrichStats, Enricher};
use crate::output::capture_loss_log::{self, CaptureLossRecord};
use crate::output::conn_log::{self, ConnLogOptions, ConnRow};
use crate::output::context_log::{self, ContextRow};
use crate::output::dns_log::{self, DnsRow};
use crate::output::flowmeter_log::{self, FlowRow};
use crate::output::kafka::{KafkaCounts, KafkaOutput};
use crate::output::notice_log::{self, NoticeRow};
use crate::output::score_log;
use crate::output::stats_log::{self, StatsRecord};
use crate::output::weird_log::{self, WeirdRecord};
use crate::output::{row, tsv, LogFile, LogFormat, WriteError, WriterOptions};
use crate::record::ConnRecord;
use crate::record::{ConnSummary, NoticeRecord, ScoreRecord};
use crate::time::Ts;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The logs besides conn.log, in the order their files are closed.
#[derive(Clone, Copy)]
enum Log {
    Flowmeter,
    Context,
    Weird,
    Stats,
    CaptureLoss,
    ConnLong,
    Score,
    Notice,
    Dns,
}

impl Log {
    const ALL: [Log; 9] = [
        Log::Flowmeter,
        Log::Context,
        Log::Score,
        Log::Notice,
        Log::Weird,
        Log::Stats,
        Log::CaptureLoss,
        Log::ConnLong,
        Log::Dns,
    ];

    fn path(self) -> &'static str {
        match self {
            Log::Flowmeter => flowmeter_log::PATH,
            Log::Context => context_log::PATH,
            Log::Weird => "weird",
            Log::Stats => "stats",
            Log::CaptureLoss => "capture_loss",
            Log::ConnLong => "conn_long",
            Log::Score => score_log::PATH,
            Log::Notice => notice_log::PATH,
            Log::Dns => dns_log::PATH,
        }
    }
}

/// A log file to close, with its path and columns (for a header when empty).
type Closing = (LogFile, &'static str, Vec<(&'static str, &'static str)>);

/// Interval-based log rotation on network time.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// Seconds per log period.
    pub interval_secs: i64,
    /// Where finished files go.
    pub queue_dir: PathBuf,
    /// How finished files are named.
    pub naming: RotationNaming,
}

/// Names of rotated files (times are the period's open/close in UTC,
/// `%Y-%m-%d-%H-%M-%S`, Zeek's `Log::default_rotation_date_format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RotationNaming {
    /// `<path>__<open>__<close>__.log`, Zeek's log-queue (zeek-archiver
    /// picks them up from there).
    #[default]
    Queue,
    /// `<path>.<open>.log`, Zeek's classic rotation names.
    Date,
}

/// Writes the logs of a run into a directory.
pub struct LogSink {
    /// Set (e.g. by SIGHUP) to ask for every log to be closed and reopened.
    reopen_flag: Option<Arc<AtomicBool>>,
    rotation: Option<Rotation>,
    /// End of the current rotation period.
    period_end: Option<Ts>,
    opts: WriterOptions,
    conn_opts: ConnLogOptions,
    dir: PathBuf,
    conn: Option<LogFile>,
    others: [Option<LogFile>; 9],
    /// The writer-thread stages (context, detection), when any is on.
    chain: Option<StageChain>,
    /// score.log's repeated columns, rendered once (made on first use).
    score_tail: Option<score_log::TailCache>,
    /// conn.log lines waiting for their names (`--conn-names`).
    names: Option<NameStage<ConnRecord>>,
    first_ts: Option<Ts>,
    last_ts: Ts,
    error: Option<WriteError>,
    /// Fill stats.log `mem` (live capture).
    memory_stats: bool,
    /// Set at the first failed write or file creation: the pipeline stops
    /// reading (no more records would reach the logs) and `finish` reports
    /// the path and the records not written.
    failed: Arc<AtomicBool>,
    /// GeoIP/ASN enrichment of conn and notice rows (`--geoip-db`,
    /// `--asn-db`), and where its counters go at the end.
    geo: Option<(Enricher, GeoReport)>,
    /// The Kafka output (`--kafka`), and where its totals go at the end.
    kafka: Option<(KafkaOutput, KafkaReport)>,
    /// Whether any stats.log row came (stats rows are on).
    stats_seen: bool,
    /// weird.zeek's de-duplication of the weirds reaching weird.log.
    weird_script: WeirdScript,
}

/// The enrichment counters of a run, filled when the sink finishes.
pub type GeoReport = Arc<std::sync::Mutex<EnrichStats>>;

/// The Kafka output's totals of a run, filled when the sink finishes.
pub type KafkaReport = Arc<std::sync::Mutex<KafkaCounts>>;

/// Resident set size of this process in MiB (Linux `/proc/self/statm`).
fn resident_mib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = u64::try_from(page).ok().filter(|p| *p > 0)?;
    Some(pages * page / (1 << 20))
}

impl LogSink {
    /// A sink writing into `dir`; conn.log (and flowmeter.log when enabled)
    /// are created now, the other logs on their first row.
    pub fn new(
        dir: &Path,
        opts: WriterOptions,
        conn_opts: ConnLogOptions,
    ) -> Result<LogSink, WriteError> {
        let mut s = LogSink {
            reopen_flag: None,
            rotation: None,
            period_end: None,
            opts,
            conn_opts,
            dir: dir.to_path_buf(),
            conn: None,
            others: Default::default(),
            chain: None,
            score_tail: None,
            names: conn_opts
                .dns
                .names
                .then(|| NameStage::new(conn_opts.dns.names_capacity)),
            first_ts: None,
            last_ts: Ts(0),
            error: None,
            memory_stats: false,
            failed: Arc::new(AtomicBool::new(false)),
            geo: None,
            kafka: None,
            stats_seen: false,
            weird_script: WeirdScript::default(),
        };
        s.conn = Some(open_log(
            &opts,
            dir,
            "conn",
            &conn_log::columns(&conn_opts),
        )?);
        if conn_opts.flowmeter {
            let cols = flowmeter_log::columns();
            let f = open_log(&opts, dir, flowmeter_log::PATH, &cols)?;
            s.others[Log::Flowmeter as usize] = Some(f);
        }
        if let Some(cfg) = conn_opts.context {
            let f = open_log(&opts, dir, context_log::PATH, &context_log::columns())?;
            s.others[Log::Context as usize] = Some(f);
            s.chain = Some(StageChain::new(cfg, true));
        }
        Ok(s)
    }

    /// Raised at the first write error (shared: the pipeline polls it like
    /// a stop request).
    pub fn failure_flag(&self) -> Arc<AtomicBool> {
        self.failed.clone()
    }

    /// Adds a stage after the context stage (detection). The context stage
    /// runs for it even without `--context` (its rows are then not written).
    pub fn add_stage(&mut self, stage: Box<dyn Stage>) {
        let cfg = self.conn_opts.context.unwrap_or_default();
        self.chain
            .get_or_insert_with(|| StageChain::new(cfg, false))
            .push_stage(stage);
    }

    /// Enriches conn.log, conn_long.log and notice.log rows with `e` (the
    /// columns are the ones `ConnLogOptions::geo`/`asn` named); the
    /// returned report holds its counters once the sink has finished.
    pub fn set_geoip(&mut self, e: Enricher) -> GeoReport {
        let report = GeoReport::default();
        self.geo = Some((e, report.clone()));
        report
    }

    /// Also sends every row (as Zeek JSON) to `k`; stats.log gains the
    /// Kafka columns. The returned report holds the run's totals once the
    /// sink has finished.
    pub fn set_kafka(&mut self, k: KafkaOutput) -> KafkaReport {
        let report = KafkaReport::default();
        self.kafka = Some((k, report.clone()));
        report
    }

    /// Writes the process's resident memory into stats.log `mem` (live
    /// capture; offline logs stay reproducible without it).
    pub fn set_memory_stats(&mut self, on: bool) {
        self.memory_stats = on;
    }

    /// A flag that, when set, makes the sink reopen its logs at the next row.
    pub fn set_reopen_flag(&mut self, flag: Arc<AtomicBool>) {
        self.reopen_flag = Some(flag);
    }

    fn check_reopen(&mut self) {
        if self
            .reopen_flag
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed))
        {
            self.reopen();
        }
    }

    /// Turns on interval-based rotation (the queue directory is created).
    pub fn set_rotation(&mut self, r: Rotation) -> Result<(), WriteError> {
        std::fs::create_dir_all(&r.queue_dir).map_err(|e| WriteError {
            lost: 0,
            path: r.queue_dir.clone(),
            source: e,
        })?;
        self.rotation = Some(r);
        Ok(())
    }

    /// Records network time: the span for the TSV `#open`/`#close` lines, and
    /// the clock that drives rotation.
    pub fn saw_time(&mut self, ts: Ts) {
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        if ts > self.last_ts {
            self.last_ts = ts;
        }
        let Some(interval) = self.rotation.as_ref().map(|r| r.interval_secs.max(1)) else {
            return;
        };
        let step = interval.saturating_mul(crate::time::SEC);
        // O(1) whatever the jump: the period is found by division, and one
        // rotation is made for any number of skipped periods.
        let end_of = |ts: Ts| Ts((ts.0.div_euclid(step) * step).saturating_add(step));
        match self.period_end {
            None => {
                // Periods are aligned to multiples of the interval, as Zeek's.
                self.period_end = Some(end_of(ts));
            }
            Some(end) if ts >= end => {
                self.rotate(end);
                self.period_end = Some(end_of(ts));
            }
            Some(_) => {}
        }
    }

    /// Tells the context stage that every record still to come is logged at
    /// or after `ts` (network time), so rows before it can be written. With
    /// one worker that is the packet time; with several, the slowest shard's
    /// clock.
    pub fn watermark(&mut self, ts: Ts) {
        if self.chain.as_ref().is_some_and(|c| c.ready(ts)) {
            self.release_chain(Some(ts));
        }
        if self.names.as_ref().is_some_and(|n| n.ready(ts)) {
            self.release_names(Some(ts));
        }
    }

    /// Writes the conn.log lines the names stage releases (all of them when
    /// `upto` is `None`).
    fn release_names(&mut self, upto: Option<Ts>) {
        let Some(mut stage) = self.names.take() else {
            return;
        };
        stage.release(upto, &mut |rec, cache| self.write_conn(&rec, Some(cache)));
        self.names = Some(stage);
    }

    /// Runs the released records through the stages (all of them, and the
    /// stages' end, when `upto` is `None`), writing what they emit.
    fn release_chain(&mut self, upto: Option<Ts>) {
        let Some(mut chain) = self.chain.take() else {
            return;
        };
        match upto {
            Some(ts) => chain.release(ts, self),
            None => chain.finish(self),
        }
        self.chain = Some(chain);
    }

    /// Closes every open log as of `close` and moves it into the queue
    /// directory; new files start on their next row (conn.log at once).
    fn rotate(&mut self, close: Ts) {
        let Some(r) = self.rotation.clone() else {
            return;
        };
        let open = self.open_time();
        let close_s = tsv::meta_time(close.0.div_euclid(crate::time::SEC));
        let mut files = self.take_files();
        let ext = self.opts.extension();
        for (f, path, cols) in files.iter_mut() {
            self.close_file(f, path, cols, &close_s);
            let name = match r.naming {
                RotationNaming::Queue => format!("{path}__{open}__{close_s}__.{ext}"),
                RotationNaming::Date => format!("{path}.{open}.{ext}"),
            };
            let dest = r.queue_dir.join(name);
            if let Err(e) = std::fs::rename(f.path(), &dest) {
                self.error.get_or_insert(WriteError {
                    lost: 0,
                    path: dest,
                    source: e,
                });
            }
        }
        self.first_ts = Some(close);
        match open_log(
            &self.opts,
            &self.dir,
            "conn",
            &conn_log::columns(&self.conn_opts),
        ) {
            Ok(f) => self.conn = Some(f),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    /// SIGHUP: close every log and start new files in place (for logrotate,
    /// which renamed the old ones).
    pub fn reopen(&mut self) {
        let close_s = tsv::meta_time(self.last_ts.0.div_euclid(crate::time::SEC));
        let mut files = self.take_files();
        for (f, path, cols) in files.iter_mut() {
            self.close_file(f, path, cols, &close_s);
        }
        self.first_ts = Some(self.last_ts);
        match open_log(
            &self.opts,
            &self.dir,
            "conn",
            &conn_log::columns(&self.conn_opts),
        ) {
            Ok(f) => self.conn = Some(f),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    fn take_files(&mut self) -> Vec<Closing> {
        let mut files: Vec<Closing> = Vec::new();
        if let Some(f) = self.conn.take() {
            files.push((f, "conn", conn_log::columns(&self.conn_opts)));
        }
        for log in Log::ALL {
            if let Some(f) = self.others[log as usize].take() {
                files.push((f, log.path(), self.columns_of(log)));
            }
        }
        files
    }

    fn close_file(&mut self, f: &mut LogFile, path: &str, cols: &[(&str, &str)], close: &str) {
        if self.opts.tsv_text() {
            if f.records == 0 {
                self.header(f, path, cols);
            }
            let mut c = Vec::new();
            tsv::close(&mut c, close);
            f.write_raw(&c);
        }
        if let Err(e) = f.finish() {
            self.error.get_or_insert(e);
        }
    }

    fn open_time(&self) -> String {
        let secs = self.first_ts.map(|t| t.0.div_euclid(crate::time::SEC));
        tsv::meta_time(secs.unwrap_or(0))
    }

    fn header(&self, f: &mut LogFile, path: &str, cols: &[(&str, &str)]) {
        if self.opts.tsv_text() {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let types: Vec<&str> = cols.iter().map(|c| c.1).collect();
            let mut h = Vec::new();
            tsv::header(&mut h, path, &self.open_time(), &names, &types);
            f.write_raw(&h);
        }
    }

    /// A log's `(name, type)` columns with this sink's options.
    fn columns_of(&self, log: Log) -> Vec<(&'static str, &'static str)> {
        match log {
            Log::Flowmeter => flowmeter_log::columns(),
            Log::Context => context_log::columns(),
            Log::Weird => weird_log::columns(),
            Log::Stats => stats_log::columns(self.kafka.is_some()),
            Log::CaptureLoss => capture_loss_log::columns(),
            Log::ConnLong => conn_log::columns(&self.conn_opts),
            Log::Score => score_log::columns(),
            Log::Notice => notice_log::columns(self.conn_opts.geo),
            Log::Dns => dns_log::columns(&self.conn_opts.dns),
        }
    }

    /// Appends one row to `log`, creating the file (and its header) first if needed.
    fn row(&mut self, log: Log, mut write: impl FnMut(&mut Vec<u8>, LogFormat)) {
        let i = log as usize;
        if self.others[i].is_none() {
            match open_log(&self.opts, &self.dir, log.path(), &self.columns_of(log)) {
                Ok(f) => self.others[i] = Some(f),
                Err(e) => {
                    self.failed.store(true, Ordering::Relaxed);
                    self.error.get_or_insert(e);
                    return;
                }
            }
        }
        let Some(mut f) = self.others[i].take() else {
            return;
        };
        if f.records == 0 {
            let cols = self.columns_of(log);
            self.header(&mut f, log.path(), &cols);
        }
        write(&mut f.line, self.opts.format);
        if let Some((k, _)) = self.kafka.as_mut() {
            let is_json = self.opts.format == LogFormat::Json;
            k.send_row(log.path(), &f.line, is_json, |b| write(b, LogFormat::Json));
        }
        f.commit_line();
        if f.failed() {
            self.failed.store(true, Ordering::Relaxed);
        }
        self.others[i] = Some(f);
    }

    /// Finishes all files (TSV `#close` lines), reporting the first write error.
    /// With rotation on, the last period's files are moved to the queue too.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        self.release_chain(None);
        if let Some((e, report)) = &self.geo {
            if let Ok(mut r) = report.lock() {
                *r = e.stats();
            }
        }
        self.release_names(None);
        self.finish_kafka();
        if self.rotation.is_some() {
            let last = self.last_ts;
            self.rotate(last);
            // rotate() opened a fresh conn.log for a next period: there is none.
            if let Some(f) = self.conn.take() {
                let _ = std::fs::remove_file(f.path());
            }
        } else {
            let close = tsv::meta_time(self.last_ts.0.div_euclid(crate::time::SEC));
            let mut files = self.take_files();
            for (f, path, cols) in files.iter_mut() {
                self.close_file(f, path, cols, &close);
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Emit for LogSink {
    fn context(&mut self, c: &ConnSummary, f: &Features) {
        let tf = self.opts.time_format;
        let c = ConnInfo::from_summary(c);
        let r = ContextRow {
            info: &c,
            features: f,
        };
        self.row(Log::Context, |buf, fmt| row::write(buf, &r, fmt, tf));
    }

    fn score(&mut self, r: &ScoreRecord) {
        let tf = self.opts.time_format;
        let mut cache = self.score_tail.take().unwrap_or_default();
        self.row(Log::Score, |buf, fmt| cache.write(buf, r, fmt, tf));
        self.score_tail = Some(cache);
    }

    fn notice(&mut self, n: &NoticeRecord) {
        let tf = self.opts.time_format;
        let geo_cols = self.conn_opts.geo;
        let located;
        let n = match self.geo.as_mut() {
            Some((g, _)) => {
                let mut c = n.clone();
                c.remote_location = g.remote_location(n.src.as_ref(), n.dst.as_ref());
                located = c;
                &located
            }
            None => n,
        };
        let r = NoticeRow {
            notice: n,
            geo: geo_cols,
        };
        self.row(Log::Notice, |buf, fmt| row::write(buf, &r, fmt, tf));
    }
}

impl RecordSink for LogSink {
    fn conn(&mut self, mut rec: ConnRecord) {
        self.check_reopen();
        if let Some((g, _)) = self.geo.as_mut() {
            rec.geo = g.conn(&rec.conn.orig_h, &rec.conn.resp_h);
        }
        if self.rotation.is_some() {
            self.saw_time(rec.conn.last);
        }
        if let Some(c) = self.chain.as_mut() {
            c.push(ConnSummary::of(&rec));
        }
        if self.conn_opts.flowmeter {
            let c = &rec.conn;
            let feat = c.flow_features();
            let r = FlowRow {
                uid: &c.uid,
                features: &feat,
            };
            let tf = self.opts.time_format;
            self.row(Log::Flowmeter, |buf, fmt| row::write(buf, &r, fmt, tf));
        }
        match self.names.as_mut() {
            Some(n) => n.push_conn(rec.logged_at, rec),
            None => self.write_conn(&rec, None),
        }
    }

    fn weird(&mut self, w: WeirdRecord) {
        if !self.weird_script.admit(&w) {
            return;
        }
        let tf = self.opts.time_format;
        self.row(Log::Weird, |buf, fmt| row::write(buf, &w, fmt, tf));
    }

    fn stats(&mut self, mut s: StatsRecord) {
        if self.memory_stats && s.mem.is_none() {
            s.mem = resident_mib();
        }
        self.stats_seen = true;
        if let Some((k, _)) = self.kafka.as_mut() {
            s.kafka = Some(k.interval_counts());
        }
        let tf = self.opts.time_format;
        self.row(Log::Stats, |buf, fmt| row::write(buf, &s, fmt, tf));
    }

    fn capture_loss(&mut self, r: CaptureLossRecord) {
        let tf = self.opts.time_format;
        self.row(Log::CaptureLoss, |buf, fmt| row::write(buf, &r, fmt, tf));
    }

    fn interim(&mut self, mut rec: ConnRecord) {
        if let Some((g, _)) = self.geo.as_mut() {
            rec.geo = g.conn(&rec.conn.orig_h, &rec.conn.resp_h);
        }
        let (opts, tf) = (self.conn_opts, self.opts.time_format);
        // Interim rows are written at once: their names are what is known now.
        let names = self.names.take();
        let r = ConnRow {
            rec: &rec,
            opts: &opts,
            names: names.as_ref().map(|n| n.cache()),
        };
        self.row(Log::ConnLong, |buf, fmt| row::write(buf, &r, fmt, tf));
        self.names = names;
    }

    fn dns(&mut self, rec: DnsRecord) {
        let (cfg, tf) = (self.conn_opts.dns, self.opts.time_format);
        let r = DnsRow {
            rec: &rec,
            cfg: &cfg,
        };
        self.row(Log::Dns, |buf, fmt| row::write(buf, &r, fmt, tf));
    }

    fn dns_names(&mut self, names: NameBatch) {
        if let Some(n) = self.names.as_mut() {
            n.push_names(names);
        }
    }
}

/// Creates `dir/<path>.log`, or `dir/<path>.parquet` typed by `cols` with
/// `--format parquet`.
fn open_log(
    opts: &WriterOptions,
    dir: &Path,
    path: &str,
    cols: &[(&str, &str)],
) -> Result<LogFile, WriteError> {
    let name = format!("{path}.{}", opts.extension());
    match opts.parquet {
        Some(p) => LogFile::create_parquet(dir, &name, path, cols, p),
        None => LogFile::create(dir, &name),
    }
}

impl LogSink {
    /// Writes one conn.log line (with names from `cache` when the names
    /// columns are on).
    fn write_conn(&mut self, rec: &ConnRecord, cache: Option<&NameCache>) {
        let Some(mut f) = self.conn.take() else {
            return;
        };
        if f.records == 0 {
            let cols = conn_log::columns(&self.conn_opts);
            self.header(&mut f, "conn", &cols);
        }
        let fmt = self.opts.format;
        let tf = self.opts.time_format;
        let r = ConnRow {
            rec,
            opts: &self.conn_opts,
            names: cache,
        };
        row::write(&mut f.line, &r, fmt, tf);
        if let Some((k, _)) = self.kafka.as_mut() {
            k.send_row("conn", &f.line, fmt == LogFormat::Json, |b| {
                row::json(b, &r, tf)
            });
        }
        f.commit_line();
        if f.failed() {
            self.failed.store(true, Ordering::Relaxed);
        }
        self.conn = Some(f);
    }
}

impl LogSink {
    /// The end of the Kafka output (after the last row): waits for the
    /// outstanding deliveries (up to its flush timeout), writes a last
    /// stats.log row (`peer` `kafka`, only into the file: the producer is
    /// closed) with what changed since the previous row when stats rows
    /// are on, and fills the report.
    fn finish_kafka(&mut self) {
        let Some((k, report)) = self.kafka.as_mut() else {
            return;
        };
        let total = k.finish();
        if let Ok(mut r) = report.lock() {
            *r = total;
        }
        if !self.stats_seen {
            return;
        }
        let row = StatsRecord {
            ts: self.last_ts,
            peer: "kafka".into(),
            ..StatsRecord::default()
        };
        self.stats(row);
    }
}
