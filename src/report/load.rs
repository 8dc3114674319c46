//! Reading a log directory into the report's tables: conn.log into a
//! compact column of [`Conn`]s (addresses and names interned, uids in one
//! arena), score.log joined to it by `uid`, and the small logs (notice,
//! weird, stats, capture_loss, Zeek's dns.log when present) whole.
//! [`details`] is a second, cheap pass that fetches the full rows of a few
//! chosen connections from conn.log, flowmeter.log and context.log.
//!
//! Must not: decide what is shown (that is [`super::aggregate`]), or keep
//! a whole row per connection: memory is a few tens of bytes per
//! connection, so a million connections stay in a few hundred MB.

use super::logs::{field_text, LogStream, Row};
use super::ReportError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// No index (a connection without a score row, a score row without a
/// connection).
pub const NONE: u32 = u32::MAX;

/// conn.log's own columns (Zeek's, in Zeek's order); any other column is an
/// "extra" shown generically (GeoIP, ASN, DNS names, optional fields).
pub const CONN_COLUMNS: [&str; 22] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
    "ip_proto",
];

/// Latest time (and longest duration) taken from a log, seconds: 2^62 ns,
/// the sensor's own clamp (`time::MAX_TS`, about 2116); rows past it are
/// skipped.
pub const MAX_TIME: f64 = 4_611_686_018.0;
/// Most distinct values counted per extra column (the rest are "other").
pub const EXTRA_DISTINCT_MAX: usize = 10_000;
/// Most addresses given names from dns.log, and names per address.
pub const NAMES_MAX: usize = 100_000;
/// Names kept per address.
pub const NAMES_PER_ADDR: usize = 3;

/// Strings stored once, referred to by a small id.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The id of `s` (added if new).
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    /// The id of `s`, if it was added.
    pub fn find(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    /// The string of `id` (empty for an unknown id).
    pub fn get(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// Strings held.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// No strings held.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Strings appended in order and read back by position (uids).
#[derive(Clone, Debug, Default)]
pub struct Arena {
    text: String,
    ends: Vec<usize>,
}

impl Arena {
    /// Appends `s` as the next entry.
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    /// Entry `i` (empty if out of range).
    pub fn get(&self, i: usize) -> &str {
        let end = self.ends.get(i).copied().unwrap_or(0);
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(end)
        };
        self.text.get(start..end).unwrap_or("")
    }
}

/// One conn.log row, compact.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conn {
    /// `ts`, epoch seconds.
    pub ts: f64,
    /// `duration` (0 when unset).
    pub duration: f64,
    /// `orig_bytes`.
    pub orig_bytes: u64,
    /// `resp_bytes`.
    pub resp_bytes: u64,
    /// `orig_pkts`.
    pub orig_pkts: u64,
    /// `resp_pkts`.
    pub resp_pkts: u64,
    /// `orig_ip_bytes`.
    pub orig_ip_bytes: u64,
    /// `resp_ip_bytes`.
    pub resp_ip_bytes: u64,
    /// `id.orig_h` ([`Dataset::addrs`]).
    pub orig_h: u32,
    /// `id.resp_h` ([`Dataset::addrs`]).
    pub resp_h: u32,
    /// `id.orig_p`.
    pub orig_p: u16,
    /// `id.resp_p`.
    pub resp_p: u16,
    /// `proto` ([`Dataset::words`]).
    pub proto: u32,
    /// `service` ([`Dataset::words`]; empty when unset).
    pub service: u32,
    /// `conn_state` ([`Dataset::words`]).
    pub state: u32,
    /// Its score.log row, or [`NONE`].
    pub score: u32,
}

impl Conn {
    /// End of the connection (`ts + duration`).
    pub fn end(&self) -> f64 {
        self.ts + self.duration
    }
}

/// Number of detector columns in score.log.
pub const N_DETECTORS: usize = crate::output::score_log::DETECTORS.len();

/// One feature that made a connection stand out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Contribution {
    /// Feature name ([`Dataset::words`]).
    pub feature: u32,
    /// The connection's value.
    pub value: f64,
    /// The baseline (median of its class in training).
    pub baseline: f64,
}

/// One score.log row, compact.
#[derive(Clone, Copy, Debug, Default)]
pub struct Score {
    /// `ts`.
    pub ts: f64,
    /// The combined `score` (NaN when unset).
    pub score: f64,
    /// Each detector's score, in [`crate::output::score_log::DETECTORS`]
    /// order (NaN when unset).
    pub detectors: [f64; N_DETECTORS],
    /// `anomalous`.
    pub anomalous: bool,
    /// `top_features` / `top_values` / `top_baselines`.
    pub top: [Contribution; 3],
    /// Contributions used in `top`.
    pub n_top: u8,
    /// `id.orig_h` ([`Dataset::addrs`]).
    pub orig_h: u32,
    /// `id.resp_h`.
    pub resp_h: u32,
    /// `id.orig_p`.
    pub orig_p: u16,
    /// `id.resp_p`.
    pub resp_p: u16,
    /// `proto` ([`Dataset::words`]).
    pub proto: u32,
    /// `service_class` ([`Dataset::words`]).
    pub class: u32,
    /// Its conn.log row, or [`NONE`].
    pub conn: u32,
}

/// One notice.log row (all text as logged).
#[derive(Clone, Debug, Default)]
pub struct Notice {
    /// `ts`.
    pub ts: f64,
    /// `note`.
    pub note: String,
    /// `msg`.
    pub msg: String,
    /// `sub`.
    pub sub: String,
    /// `uid`.
    pub uid: Option<String>,
    /// `src`.
    pub src: Option<String>,
    /// `dst`.
    pub dst: Option<String>,
    /// `p`.
    pub p: Option<u16>,
    /// `n`.
    pub n: Option<f64>,
    /// `proto`.
    pub proto: Option<String>,
}

/// One weird name's rows.
#[derive(Clone, Debug, Default)]
pub struct WeirdStat {
    /// Rows.
    pub count: u64,
    /// First row's `ts`.
    pub first_ts: f64,
    /// First row's `uid` (if any).
    pub uid: Option<String>,
    /// First row's `addl` (if any).
    pub addl: Option<String>,
}

/// stats.log totals.
#[derive(Clone, Debug, Default)]
pub struct StatsTotals {
    /// Rows.
    pub rows: u64,
    /// `pkts_proc` over the worker rows.
    pub packets: u64,
    /// `bytes_recv` over the worker rows.
    pub bytes: u64,
    /// `decode_errors` over the worker rows.
    pub decode_errors: u64,
    /// `evictions` over the worker rows.
    pub evictions: u64,
    /// `pkts_proc` over the `capture` rows (live: what the kernel handed over).
    pub capture_received: u64,
    /// `pkts_dropped` over the `capture` rows.
    pub capture_dropped: u64,
}

/// capture_loss.log totals.
#[derive(Clone, Debug, Default)]
pub struct LossTotals {
    /// Rows.
    pub rows: u64,
    /// `gaps` summed.
    pub gaps: u64,
    /// `acks` summed.
    pub acks: u64,
    /// Largest `percent_lost` of a row.
    pub max_percent: f64,
}

/// One extra conn.log column's values.
#[derive(Clone, Debug, Default)]
pub struct ExtraColumn {
    /// Column name.
    pub name: String,
    /// Rows where it is set.
    pub set: u64,
    /// Rows per value (at most [`EXTRA_DISTINCT_MAX`] values).
    pub values: HashMap<String, u64>,
    /// Rows whose value was not counted because the table was full.
    pub other: u64,
}

/// What one file gave.
#[derive(Clone, Debug, Default)]
pub struct FileInfo {
    /// File name.
    pub name: String,
    /// `json`, `tsv` or `empty`.
    pub format: String,
    /// Rows read.
    pub rows: u64,
    /// Lines that did not parse (skipped).
    pub skipped: u64,
    /// The first of them.
    pub first_error: Option<String>,
}

/// A log directory, read.
#[derive(Debug, Default)]
pub struct Dataset {
    /// The directory.
    pub dir: PathBuf,
    /// Files read, in reading order.
    pub files: Vec<FileInfo>,
    /// Addresses.
    pub addrs: Interner,
    /// Protocols, services, states, service classes, feature names.
    pub words: Interner,
    /// conn.log rows in file order.
    pub conns: Vec<Conn>,
    /// conn.log uids, by row.
    pub conn_uids: Arena,
    /// uid → conn row (the first with that uid).
    pub conn_by_uid: HashMap<String, u32>,
    /// score.log rows in file order.
    pub scores: Vec<Score>,
    /// score.log uids, by row.
    pub score_uids: Arena,
    /// Whether score.log exists.
    pub has_scores: bool,
    /// notice.log rows.
    pub notices: Vec<Notice>,
    /// weird.log rows by name.
    pub weirds: BTreeMap<String, WeirdStat>,
    /// weird.log rows.
    pub weird_total: u64,
    /// stats.log.
    pub stats: StatsTotals,
    /// capture_loss.log.
    pub loss: LossTotals,
    /// Extra conn.log columns, in order of first appearance.
    pub extras: Vec<ExtraColumn>,
    /// Names of addresses from dns.log answers.
    pub names: HashMap<String, Vec<String>>,
}

impl Dataset {
    /// A connection's uid.
    pub fn conn_uid(&self, i: u32) -> &str {
        self.conn_uids.get(i as usize)
    }

    /// A score row's uid.
    pub fn score_uid(&self, i: u32) -> &str {
        self.score_uids.get(i as usize)
    }

    /// Counts rows of the last file read whose `ts` was missing or out of
    /// range as skipped.
    fn bad_times(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(f) = self.files.last_mut() {
            f.skipped += n;
            if f.first_error.is_none() {
                f.first_error = Some(format!("{n} rows without a ts between 1970 and 2116"));
            }
        }
    }

    fn file(&mut self, s: &LogStream, rows: u64) {
        self.files.push(FileInfo {
            name: s
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format: s.format().to_string(),
            rows,
            skipped: s.skipped,
            first_error: s.first_error.clone(),
        });
    }
}

fn u64_of(r: &Row, c: usize) -> u64 {
    r.num(c)
        .filter(|x| x.is_finite() && *x > 0.0)
        .map_or(0, |x| x.min(u64::MAX as f64) as u64)
}

fn port_of(r: &Row, c: usize) -> u16 {
    r.num(c)
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map_or(0, |x| x.min(65535.0) as u16)
}

/// Reads every log the report uses from `dir`. conn.log is required.
pub fn load(dir: &Path) -> Result<Dataset, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NotADirectory(dir.to_path_buf()));
    }
    let mut d = Dataset {
        dir: dir.to_path_buf(),
        ..Dataset::default()
    };
    load_conns(&mut d)?;
    load_scores(&mut d)?;
    load_notices(&mut d)?;
    load_weirds(&mut d)?;
    load_stats(&mut d)?;
    load_loss(&mut d)?;
    load_dns(&mut d)?;
    Ok(d)
}

fn load_conns(d: &mut Dataset) -> Result<(), ReportError> {
    let path = d.dir.join("conn.log");
    let Some(mut s) = LogStream::open(&path)? else {
        return Err(ReportError::NoConnLog(d.dir.clone()));
    };
    let c: Vec<usize> = CONN_COLUMNS.iter().map(|n| s.col(n)).collect();
    let [ts, uid, oh, op, rh, rp, proto, service, duration, ob, rb, state, _lo, _lr, _mb, _hist, opk, oib, rpk, rib, _tp, _ipp] =
        c[..]
    else {
        return Ok(());
    };
    // Schema index → extras slot (NONE for conn.log's own columns).
    let mut extra_slot: Vec<u32> = vec![NONE; CONN_COLUMNS.len()];
    let mut extra_cols: Vec<usize> = Vec::new();
    let mut rows = 0u64;
    let mut bad = 0u64;
    while let Some(r) = s.next_row()? {
        let Some(t) = r.time(ts).filter(|t| (0.0..=MAX_TIME).contains(t)) else {
            bad += 1;
            continue;
        };
        let u = r.str(uid).unwrap_or("");
        let i = d.conns.len() as u32;
        d.conn_by_uid.entry(u.to_string()).or_insert(i);
        d.conn_uids.push(u);
        let conn = Conn {
            ts: t,
            duration: r
                .num(duration)
                .filter(|x| (0.0..=MAX_TIME).contains(x))
                .unwrap_or(0.0),
            orig_bytes: u64_of(r, ob),
            resp_bytes: u64_of(r, rb),
            orig_pkts: u64_of(r, opk),
            resp_pkts: u64_of(r, rpk),
            orig_ip_bytes: u64_of(r, oib),
            resp_ip_bytes: u64_of(r, rib),
            orig_h: d.addrs.id(r.str(oh).unwrap_or("")),
            resp_h: d.addrs.id(r.str(rh).unwrap_or("")),
            orig_p: port_of(r, op),
            resp_p: port_of(r, rp),
            proto: d.words.id(r.str(proto).unwrap_or("")),
            service: d.words.id(&r.list(service).join(",")),
            state: d.words.id(r.str(state).unwrap_or("")),
            score: NONE,
        };
        d.conns.push(conn);
        rows += 1;
        for (col, v) in r.fields() {
            if col < CONN_COLUMNS.len() {
                continue;
            }
            if extra_slot.len() <= col {
                extra_slot.resize(col + 1, NONE);
            }
            if extra_slot[col] == NONE {
                extra_slot[col] = d.extras.len() as u32;
                // Named after the loop (the schema is borrowed by the row).
                d.extras.push(ExtraColumn::default());
                extra_cols.push(col);
            }
            let Some(e) = d.extras.get_mut(extra_slot[col] as usize) else {
                continue;
            };
            e.set += 1;
            let text = field_text(v);
            if let Some(n) = e.values.get_mut(&text) {
                *n += 1;
            } else if e.values.len() < EXTRA_DISTINCT_MAX {
                e.values.insert(text, 1);
            } else {
                e.other += 1;
            }
        }
    }
    for (e, col) in d.extras.iter_mut().zip(extra_cols) {
        e.name = s.schema.names().get(col).cloned().unwrap_or_default();
    }
    d.file(&s, rows);
    d.bad_times(bad);
    Ok(())
}

fn load_scores(d: &mut Dataset) -> Result<(), ReportError> {
    let path = d.dir.join("score.log");
    let Some(mut s) = LogStream::open(&path)? else {
        return Ok(());
    };
    d.has_scores = true;
    let ts = s.col("ts");
    let uid = s.col("uid");
    let oh = s.col("id.orig_h");
    let op = s.col("id.orig_p");
    let rh = s.col("id.resp_h");
    let rp = s.col("id.resp_p");
    let proto = s.col("proto");
    let class = s.col("service_class");
    let score = s.col("score");
    let anomalous = s.col("anomalous");
    let tf = s.col("top_features");
    let tv = s.col("top_values");
    let tb = s.col("top_baselines");
    let dets: Vec<usize> = crate::output::score_log::DETECTORS
        .iter()
        .map(|n| s.col(n))
        .collect();
    let mut rows = 0u64;
    let mut bad = 0u64;
    while let Some(r) = s.next_row()? {
        let Some(t) = r.time(ts).filter(|t| (0.0..=MAX_TIME).contains(t)) else {
            bad += 1;
            continue;
        };
        let u = r.str(uid).unwrap_or("");
        let i = d.scores.len() as u32;
        let conn = d.conn_by_uid.get(u).copied().unwrap_or(NONE);
        let mut row = Score {
            ts: t,
            score: r.num(score).unwrap_or(f64::NAN),
            anomalous: r.bool(anomalous).unwrap_or(false),
            orig_h: d.addrs.id(r.str(oh).unwrap_or("")),
            resp_h: d.addrs.id(r.str(rh).unwrap_or("")),
            orig_p: port_of(r, op),
            resp_p: port_of(r, rp),
            proto: d.words.id(r.str(proto).unwrap_or("")),
            class: d.words.id(r.str(class).unwrap_or("")),
            conn,
            ..Score::default()
        };
        for (k, &c) in dets.iter().enumerate() {
            if let Some(x) = row.detectors.get_mut(k) {
                *x = r.num(c).unwrap_or(f64::NAN);
            }
        }
        let names = r.list(tf);
        let values = r.list(tv);
        let bases = r.list(tb);
        for (k, name) in names.iter().take(3).enumerate() {
            let num = |v: &[String]| {
                v.get(k)
                    .and_then(|x| x.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            row.top[k] = Contribution {
                feature: d.words.id(name),
                value: num(&values),
                baseline: num(&bases),
            };
            row.n_top = (k + 1) as u8;
        }
        if let Some(c) = d.conns.get_mut(conn as usize) {
            c.score = i;
        }
        d.score_uids.push(u);
        d.scores.push(row);
        rows += 1;
    }
    d.file(&s, rows);
    d.bad_times(bad);
    Ok(())
}

fn load_notices(d: &mut Dataset) -> Result<(), ReportError> {
    let Some(mut s) = LogStream::open(&d.dir.join("notice.log"))? else {
        return Ok(());
    };
    let c = [
        "ts", "note", "msg", "sub", "uid", "src", "dst", "p", "n", "proto",
    ]
    .map(|n| s.col(n));
    let mut rows = 0;
    while let Some(r) = s.next_row()? {
        let owned = |k: usize| r.str(c[k]).map(str::to_string);
        d.notices.push(Notice {
            ts: r.time(c[0]).unwrap_or(f64::NAN),
            note: owned(1).unwrap_or_default(),
            msg: owned(2).unwrap_or_default(),
            sub: owned(3).unwrap_or_default(),
            uid: owned(4),
            src: owned(5),
            dst: owned(6),
            p: r.num(c[7]).map(|x| x.clamp(0.0, 65535.0) as u16),
            n: r.num(c[8]),
            proto: owned(9),
        });
        rows += 1;
    }
    d.file(&s, rows);
    Ok(())
}

fn load_weirds(d: &mut Dataset) -> Result<(), ReportError> {
    let Some(mut s) = LogStream::open(&d.dir.join("weird.log"))? else {
        return Ok(());
    };
    let [ts, name, uid, addl] = ["ts", "name", "uid", "addl"].map(|n| s.col(n));
    let mut rows = 0;
    while let Some(r) = s.next_row()? {
        let n = r.str(name).unwrap_or("").to_string();
        let w = d.weirds.entry(n).or_insert_with(|| WeirdStat {
            count: 0,
            first_ts: r.time(ts).unwrap_or(f64::NAN),
            uid: r.str(uid).map(str::to_string),
            addl: r.str(addl).map(str::to_string),
        });
        w.count += 1;
        d.weird_total += 1;
        rows += 1;
    }
    d.file(&s, rows);
    Ok(())
}

fn load_stats(d: &mut Dataset) -> Result<(), ReportError> {
    let Some(mut s) = LogStream::open(&d.dir.join("stats.log"))? else {
        return Ok(());
    };
    let [peer, pkts, bytes, dropped, dec, ev] = [
        "peer",
        "pkts_proc",
        "bytes_recv",
        "pkts_dropped",
        "decode_errors",
        "evictions",
    ]
    .map(|n| s.col(n));
    let mut rows = 0;
    while let Some(r) = s.next_row()? {
        let t = &mut d.stats;
        t.rows += 1;
        if r.str(peer) == Some("capture") {
            t.capture_received += u64_of(r, pkts);
            t.capture_dropped += u64_of(r, dropped);
        } else {
            t.packets += u64_of(r, pkts);
            t.bytes += u64_of(r, bytes);
            t.decode_errors += u64_of(r, dec);
            t.evictions += u64_of(r, ev);
        }
        rows += 1;
    }
    d.file(&s, rows);
    Ok(())
}

fn load_loss(d: &mut Dataset) -> Result<(), ReportError> {
    let Some(mut s) = LogStream::open(&d.dir.join("capture_loss.log"))? else {
        return Ok(());
    };
    let [gaps, acks, pct] = ["gaps", "acks", "percent_lost"].map(|n| s.col(n));
    let mut rows = 0;
    while let Some(r) = s.next_row()? {
        let l = &mut d.loss;
        l.rows += 1;
        l.gaps += u64_of(r, gaps);
        l.acks += u64_of(r, acks);
        if let Some(p) = r.num(pct).filter(|p| p.is_finite()) {
            l.max_percent = l.max_percent.max(p);
        }
        rows += 1;
    }
    d.file(&s, rows);
    Ok(())
}

/// Zeek's dns.log, if present: every answer that is an address gets the
/// query's name.
fn load_dns(d: &mut Dataset) -> Result<(), ReportError> {
    let Some(mut s) = LogStream::open(&d.dir.join("dns.log"))? else {
        return Ok(());
    };
    let [query, answers] = ["query", "answers"].map(|n| s.col(n));
    let mut rows = 0;
    while let Some(r) = s.next_row()? {
        rows += 1;
        let Some(q) = r.str(query).filter(|q| !q.is_empty()) else {
            continue;
        };
        for a in r.list(answers) {
            if a.parse::<std::net::IpAddr>().is_err() {
                continue;
            }
            if d.names.len() >= NAMES_MAX && !d.names.contains_key(&a) {
                continue;
            }
            let v = d.names.entry(a).or_default();
            if v.len() < NAMES_PER_ADDR && !v.iter().any(|n| n == q) {
                v.push(q.to_string());
            }
        }
    }
    d.file(&s, rows);
    Ok(())
}

/// The full rows of a few connections, as logged: `(column, text)` pairs in
/// file order per log.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    /// conn.log.
    pub conn: Vec<(String, String)>,
    /// flowmeter.log (when present).
    pub flowmeter: Vec<(String, String)>,
    /// context.log (when present).
    pub context: Vec<(String, String)>,
}

/// Fetches the rows of `uids` from conn.log, flowmeter.log and
/// context.log. Lines of other uids are not parsed.
pub fn details(dir: &Path, uids: &HashSet<String>) -> Result<HashMap<String, Detail>, ReportError> {
    let mut out: HashMap<String, Detail> = HashMap::new();
    if uids.is_empty() {
        return Ok(out);
    }
    for (file, which) in [("conn.log", 0), ("flowmeter.log", 1), ("context.log", 2)] {
        let Some(mut s) = LogStream::open(&dir.join(file))? else {
            continue;
        };
        let uid = s.col("uid");
        while s.advance()? {
            if let Some(u) = s.quick_str("uid") {
                if !uids.contains(u) {
                    continue;
                }
            }
            let Some(r) = s.parse() else {
                continue;
            };
            let Some(u) = r.str(uid).filter(|u| uids.contains(*u)) else {
                continue;
            };
            let u = u.to_string();
            let pairs: Vec<(String, String)> = r
                .fields()
                .map(|(c, v)| (c, field_text(v)))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|(c, v)| (s.schema.names().get(c).cloned().unwrap_or_default(), v))
                .collect();
            let e = out.entry(u).or_default();
            let slot = match which {
                0 => &mut e.conn,
                1 => &mut e.flowmeter,
                _ => &mut e.context,
            };
            if slot.is_empty() {
                *slot = pairs;
            }
        }
    }
    Ok(out)
}
