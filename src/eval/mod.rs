//! Evaluation: scores the sensor's own logs against labelled datasets
//! (`connscope eval`).
//!
//! Owns: reading `score.log` and `notice.log` back (either format, see
//! [`logs`]), joining score rows to `labels.csv` ([`labels`]), the ranking
//! metrics ([`metrics`]), host-level matching of notices against a lab
//! schedule, host labels and expected notices ([`hosts`]), and the
//! [`Report`] with its table ([`Report::table`]) and JSON form.
//!
//! Must not: run the sensor or the detectors, write anywhere (the caller
//! writes the report), or fail on data it can parse: a run with no
//! positives, no notices or no matches still yields a report (metrics that
//! are undefined are `null`).
//!
//! # Connection level
//! Every score.log row is joined to a label ([`labels::LabelIndex::join`]);
//! rows without one are counted as `unmatched` and dropped. Test rows are
//! those with `ts ≥ train_until` when it is given, otherwise those whose
//! label's `split` is `test`; labels with `split = excluded` are dropped in
//! both cases. Detector columns are found from the file, not named here:
//! TSV columns of type `double`; in JSON lines, columns other than `ts` and
//! `id.*` whose every value is a number. Per detector: ROC-AUC, PR-AUC
//! (average precision), recall at 1 % FPR with its threshold, and the recall
//! of each attack type at that threshold. Rows where a detector's value is
//! unset or not finite are left out of that detector only (`missing`).
//!
//! # JSON shape (`--json`)
//! ```text
//! {
//!   "logs_dir": "out/", "labels": "labels.csv",
//!   "connection": {
//!     "test_selection": "split" | "train_until", "train_until": 1795315794.0 | null,
//!     "score_rows": 6740, "matched": 6735, "unmatched": 5,
//!     "excluded": 0, "train_rows": 230, "test_rows": 6505,
//!     "positives": 6170, "negatives": 335,
//!     "positives_by_type": { "syn-flood": 4800, ... },
//!     "max_fpr": 0.01,
//!     "detectors": [
//!       { "name": "robust", "rows": 6505, "missing": 0,
//!         "positives": 6170, "negatives": 335,
//!         "roc_auc": 0.93 | null, "pr_auc": 0.99 | null,
//!         "recall_at_1pct_fpr": 0.71 | null, "threshold": 4.2 | null,
//!         "false_positives": 3,
//!         "per_attack_type": { "syn-flood": { "positives": 4800, "detected": 4790, "recall": 0.998 }, ... } },
//!       ... one per detector column, in file order ...
//!     ]
//!   },
//!   "notices": { "file": "out/notice.log" | null, "total": 12, "by_type": { "ConnScope::Scan": 2, ... } },
//!   "attacks": [ { "id": "scan-syn", "attack_type": "scan-syn", "host": "att",
//!                  "expected_note": "ConnScope::Scan", "actual_start": ..., "actual_end": ...,
//!                  "detected": true, "matching_notices": 1,
//!                  "time_to_first_notice_s": 3.1 | null, "first_notice_msg": "..." | null } ] | null,
//!   "hosts": [ { "addr": "10.66.0.66", "name": "att", "role": "attacker", "label": 1,
//!                "notices": 5, "by_type": { "ConnScope::Scan": 2, ... } } ] | null,
//!   "benign_flagged": { "count": 1, "unknown_host_notices": 0,
//!                       "notices": [ { "ts": ..., "note": "...", "msg": "...", "hosts": ["10.66.0.23"] } ] } | null,
//!   "expected_notices": [ { "note": "ConnScope::Scan", "addrs": ["192.168.2.16"], "found": true,
//!                           "count": 1, "first_ts": ... | null, "first_msg": "..." | null,
//!                           "peers_named": ["..."] } ]
//! }
//! ```
//! `attacks` needs `--schedule`; `hosts` and `benign_flagged` need
//! `--hosts`. Metrics are `null` when undefined (no positives or no
//! negatives); `threshold` is `null` when even the top score exceeds the
//! FPR budget (recall 0).

pub mod hosts;
pub mod labels;
pub mod logs;
pub mod metrics;

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The false positive budget for the recall figure.
pub const MAX_FPR: f64 = 0.01;

/// Why an evaluation could not run: an input could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, not chained, so it prints once).
        error: std::io::Error,
    },
    /// A file's content is malformed (`line` 0 = not tied to one line).
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl EvalError {
    /// A read error.
    pub fn io(path: &Path, error: std::io::Error) -> EvalError {
        EvalError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// A parse error.
    pub fn parse(path: &Path, line: usize, reason: String) -> EvalError {
        EvalError::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        }
    }
}

/// What to evaluate.
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    /// Directory holding score.log (required) and notice.log (optional).
    pub logs_dir: PathBuf,
    /// Connection labels.
    pub labels: PathBuf,
    /// Host labels (`hosts.csv`).
    pub hosts: Option<PathBuf>,
    /// Lab schedule (`schedule.json`).
    pub schedule: Option<PathBuf>,
    /// Test rows are those with `ts ≥` this (else the labels' split).
    pub train_until: Option<f64>,
    /// Notices that must exist.
    pub expect: Vec<hosts::Expectation>,
}

/// Recall of one attack type at the chosen threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeRecall {
    /// Test positives of this type (with a value for this detector).
    pub positives: usize,
    /// Those at or above the threshold.
    pub detected: usize,
    /// `detected / positives`.
    pub recall: f64,
}

/// One detector's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectorResult {
    /// Column name.
    pub name: String,
    /// Test rows with a finite value.
    pub rows: usize,
    /// Test rows without one.
    pub missing: usize,
    /// Positives among `rows`.
    pub positives: usize,
    /// Negatives among `rows`.
    pub negatives: usize,
    /// ROC-AUC.
    pub roc_auc: Option<f64>,
    /// Average precision.
    pub pr_auc: Option<f64>,
    /// Recall at [`MAX_FPR`].
    pub recall_at_1pct_fpr: Option<f64>,
    /// The threshold it is reached at (score ≥ threshold flags).
    pub threshold: Option<f64>,
    /// Negatives flagged at that threshold.
    pub false_positives: usize,
    /// Recall per attack type at that threshold.
    pub per_attack_type: BTreeMap<String, TypeRecall>,
}

/// Connection-level figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnectionReport {
    /// `split` or `train_until`.
    pub test_selection: String,
    /// The `--train-until` boundary.
    pub train_until: Option<f64>,
    /// score.log rows.
    pub score_rows: usize,
    /// Rows joined to a label.
    pub matched: usize,
    /// Rows with no label.
    pub unmatched: usize,
    /// Matched rows whose label has `split = excluded`.
    pub excluded: usize,
    /// Matched rows not selected for testing.
    pub train_rows: usize,
    /// Matched test rows.
    pub test_rows: usize,
    /// Test rows labelled 1.
    pub positives: usize,
    /// Test rows labelled 0.
    pub negatives: usize,
    /// Test positives by attack type.
    pub positives_by_type: BTreeMap<String, usize>,
    /// The FPR budget of `recall_at_1pct_fpr`.
    pub max_fpr: f64,
    /// Per detector column, in file order.
    pub detectors: Vec<DetectorResult>,
    /// Test rows no connection-level scorer can tell apart across labels.
    pub indistinguishable: Indistinguishable,
}

/// Test rows that share their sample with rows of the other label: the
/// same `service_class` and the same value in every detector column. The
/// detectors are deterministic functions of a connection's sample (its
/// class and features), so equal samples give equal values, and every
/// scorer of those samples ties such rows; the pairs they form count one
/// half in any ROC-AUC, which bounds it. (Equal values of every detector
/// from different samples would be a coincidence.)
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Indistinguishable {
    /// Positive–negative pairs with the same sample.
    pub tied_pairs: u64,
    /// Positives that share their sample with a negative.
    pub positives: usize,
    /// Negatives that share their sample with a positive.
    pub negatives: usize,
    /// The highest ROC-AUC a scorer of these samples can reach (every
    /// other pair ordered right, each tied pair one half); `None` without
    /// both labels.
    pub roc_auc_ceiling: Option<f64>,
}

impl Indistinguishable {
    /// Groups `rows` by sample (see the type) and counts the groups that
    /// hold both labels.
    fn of(rows: &[TestRow]) -> Indistinguishable {
        // (class, the bits of each detector value) -> (positives, negatives)
        type Sample<'a> = (&'a str, Vec<Option<u64>>);
        let mut groups: BTreeMap<Sample, (usize, usize)> = BTreeMap::new();
        for r in rows {
            let key = (
                r.class,
                r.values.iter().map(|v| v.map(f64::to_bits)).collect(),
            );
            let g = groups.entry(key).or_insert((0, 0));
            if r.label {
                g.0 += 1;
            } else {
                g.1 += 1;
            }
        }
        let mut out = Indistinguishable::default();
        for &(p, n) in groups.values().filter(|(p, n)| *p > 0 && *n > 0) {
            out.tied_pairs += (p * n) as u64;
            out.positives += p;
            out.negatives += n;
        }
        let p = rows.iter().filter(|r| r.label).count();
        let n = rows.len() - p;
        if p > 0 && n > 0 {
            out.roc_auc_ceiling = Some(1.0 - 0.5 * out.tied_pairs as f64 / (p as f64 * n as f64));
        }
        out
    }
}

/// Notice counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoticeSummary {
    /// notice.log, if present.
    pub file: Option<PathBuf>,
    /// How many notices.
    pub total: usize,
    /// By type.
    pub by_type: BTreeMap<String, usize>,
}

/// Notices about benign hosts only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenignFlagged {
    /// How many.
    pub count: usize,
    /// Notices that name no `hosts.csv` address at all.
    pub unknown_host_notices: usize,
    /// The notices.
    pub notices: Vec<hosts::FalseFlag>,
}

/// Everything `connscope eval` reports (the `--json` document).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The log directory.
    pub logs_dir: PathBuf,
    /// The labels file.
    pub labels: PathBuf,
    /// Connection level.
    pub connection: ConnectionReport,
    /// Notice counts.
    pub notices: NoticeSummary,
    /// Per attack run (with a schedule).
    pub attacks: Option<Vec<hosts::AttackResult>>,
    /// Per `hosts.csv` row (with hosts).
    pub hosts: Option<Vec<hosts::HostResult>>,
    /// Benign false flags (with hosts).
    pub benign_flagged: Option<BenignFlagged>,
    /// Per `--expect-notice`.
    pub expected_notices: Vec<hosts::ExpectationResult>,
}

/// The detector columns of a score.log (see the module docs).
pub fn detector_columns(log: &logs::Log) -> Vec<String> {
    log.columns
        .iter()
        .filter(|c| c.as_str() != "ts" && !c.starts_with("id."))
        .filter(|c| {
            if !log.types.is_empty() {
                return log.types.get(c.as_str()).map(String::as_str) == Some("double");
            }
            let mut any = false;
            for r in &log.records {
                match r.fields.get(c.as_str()) {
                    Some(logs::Field::Num(_)) => any = true,
                    None => {}
                    Some(_) => return false,
                }
            }
            any
        })
        .cloned()
        .collect()
}

/// One test row: label and the detector values.
struct TestRow<'a> {
    label: bool,
    attack_type: &'a str,
    /// `service_class` (empty without the column).
    class: &'a str,
    values: Vec<Option<f64>>,
}

fn connection_level(
    score: &logs::Log,
    score_path: &Path,
    idx: &labels::LabelIndex,
    train_until: Option<f64>,
) -> Result<ConnectionReport, EvalError> {
    let detectors = detector_columns(score);
    let (mut matched, mut unmatched, mut excluded, mut train) = (0, 0, 0, 0);
    let mut rows: Vec<TestRow> = Vec::new();
    for r in &score.records {
        let need =
            |k: &str| EvalError::parse(score_path, r.line, format!("{k} is missing or malformed"));
        let ts = r.time("ts").ok_or_else(|| need("ts"))?;
        let proto = r.str("proto").ok_or_else(|| need("proto"))?;
        let port = |k: &str| {
            r.num(k)
                .filter(|p| (0.0..=65535.0).contains(p) && p.fract() == 0.0)
                .map(|p| p as u16)
                .ok_or_else(|| need(k))
        };
        let oh = r.str("id.orig_h").ok_or_else(|| need("id.orig_h"))?;
        let rh = r.str("id.resp_h").ok_or_else(|| need("id.resp_h"))?;
        let (op, rp) = (port("id.orig_p")?, port("id.resp_p")?);
        let Some(l) = idx.join(proto, (oh, op), (rh, rp), ts) else {
            unmatched += 1;
            continue;
        };
        matched += 1;
        if l.split == "excluded" {
            excluded += 1;
            continue;
        }
        let test = match train_until {
            Some(t) => ts >= t,
            None => l.split == "test",
        };
        if !test {
            train += 1;
            continue;
        }
        rows.push(TestRow {
            label: l.label,
            attack_type: &l.attack_type,
            class: r.str("service_class").unwrap_or(""),
            values: detectors
                .iter()
                .map(|d| r.num(d).filter(|v| v.is_finite()))
                .collect(),
        });
    }
    let positives = rows.iter().filter(|r| r.label).count();
    let mut positives_by_type = BTreeMap::new();
    for r in rows.iter().filter(|r| r.label) {
        *positives_by_type
            .entry(r.attack_type.to_string())
            .or_insert(0) += 1;
    }
    let results = detectors
        .iter()
        .enumerate()
        .map(|(d, name)| evaluate_detector(name, d, &rows))
        .collect();
    Ok(ConnectionReport {
        test_selection: if train_until.is_some() {
            "train_until"
        } else {
            "split"
        }
        .into(),
        train_until,
        score_rows: score.records.len(),
        matched,
        unmatched,
        excluded,
        train_rows: train,
        test_rows: rows.len(),
        positives,
        negatives: rows.len() - positives,
        positives_by_type,
        max_fpr: MAX_FPR,
        detectors: results,
        indistinguishable: Indistinguishable::of(&rows),
    })
}

fn evaluate_detector(name: &str, d: usize, rows: &[TestRow]) -> DetectorResult {
    let mut s = Vec::with_capacity(rows.len());
    let mut l = Vec::with_capacity(rows.len());
    let mut types = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(v) = r.values[d] {
            s.push(v);
            l.push(r.label);
            types.push(r.attack_type);
        }
    }
    let op = metrics::recall_at_fpr(&s, &l, MAX_FPR);
    let threshold = op.and_then(|o| o.threshold);
    let mut per: BTreeMap<String, TypeRecall> = BTreeMap::new();
    for i in (0..s.len()).filter(|&i| l[i]) {
        let e = per.entry(types[i].to_string()).or_insert(TypeRecall {
            positives: 0,
            detected: 0,
            recall: 0.0,
        });
        e.positives += 1;
        if threshold.is_some_and(|t| s[i] >= t) {
            e.detected += 1;
        }
    }
    for e in per.values_mut() {
        e.recall = e.detected as f64 / e.positives as f64;
    }
    let positives = l.iter().filter(|&&x| x).count();
    DetectorResult {
        name: name.to_string(),
        rows: s.len(),
        missing: rows.len() - s.len(),
        positives,
        negatives: s.len() - positives,
        roc_auc: metrics::roc_auc(&s, &l),
        pr_auc: metrics::average_precision(&s, &l),
        recall_at_1pct_fpr: op.map(|o| o.recall),
        threshold,
        false_positives: op.map_or(0, |o| o.false_positives),
        per_attack_type: per,
    }
}

/// Runs the whole evaluation.
pub fn run(opts: &EvalOptions) -> Result<Report, EvalError> {
    let score_path = opts.logs_dir.join("score.log");
    let score = logs::read_log(&score_path)?;
    let idx = labels::LabelIndex::read(&opts.labels)?;
    let connection = connection_level(&score, &score_path, &idx, opts.train_until)?;

    let notice_path = opts.logs_dir.join("notice.log");
    let (notices, notice_file) = if notice_path.exists() {
        let log = logs::read_log(&notice_path)?;
        (
            hosts::notices_from_log(&log, &notice_path)?,
            Some(notice_path),
        )
    } else {
        (Vec::new(), None)
    };
    let mut by_type = BTreeMap::new();
    for n in &notices {
        *by_type.entry(n.note.clone()).or_insert(0) += 1;
    }
    let attacks = match &opts.schedule {
        Some(p) => Some(hosts::match_attacks(&hosts::read_schedule(p)?, &notices)),
        None => None,
    };
    let (host_results, benign_flagged) = match &opts.hosts {
        Some(p) => {
            let rows = hosts::read_hosts(p)?;
            let (flags, unknown) = hosts::false_flags(&rows, &notices);
            (
                Some(hosts::per_host(&rows, &notices)),
                Some(BenignFlagged {
                    count: flags.len(),
                    unknown_host_notices: unknown,
                    notices: flags,
                }),
            )
        }
        None => (None, None),
    };
    Ok(Report {
        logs_dir: opts.logs_dir.clone(),
        labels: opts.labels.clone(),
        connection,
        notices: NoticeSummary {
            file: notice_file,
            total: notices.len(),
            by_type,
        },
        attacks,
        hosts: host_results,
        benign_flagged,
        expected_notices: hosts::check_expectations(&opts.expect, &notices),
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) => format!("{x:.prec$}"),
        None => "-".into(),
    }
}

impl Report {
    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let c = &self.connection;
        let sel = match c.train_until {
            Some(t) => format!("ts >= {t}"),
            None => "labels split = test".into(),
        };
        let _ = writeln!(o, "== Connection level ({}) ==", self.logs_dir.display());
        let _ = writeln!(
            o,
            "score rows {}  matched {}  unmatched {}  excluded {}  train {}  test {} ({sel})",
            c.score_rows, c.matched, c.unmatched, c.excluded, c.train_rows, c.test_rows
        );
        let _ = writeln!(o, "positives {}  negatives {}", c.positives, c.negatives);
        let _ = writeln!(
            o,
            "\n{:<14} {:>7} {:>7} {:>9} {:>12} {:>5} {:>7}",
            "detector", "ROC-AUC", "PR-AUC", "R@1%FPR", "threshold", "FP", "missing"
        );
        for d in &c.detectors {
            let _ = writeln!(
                o,
                "{:<14} {:>7} {:>7} {:>9} {:>12} {:>5} {:>7}",
                d.name,
                opt(d.roc_auc, 4),
                opt(d.pr_auc, 4),
                opt(d.recall_at_1pct_fpr, 4),
                opt(d.threshold, 4),
                d.false_positives,
                d.missing
            );
        }
        let tie = &c.indistinguishable;
        if tie.tied_pairs > 0 {
            let _ = writeln!(
                o,
                "indistinguishable: {} positives and {} negatives share their samples \
                 ({} pairs): no scorer of these samples exceeds ROC-AUC {}",
                tie.positives,
                tie.negatives,
                tie.tied_pairs,
                opt(tie.roc_auc_ceiling, 4)
            );
        }
        if !c.positives_by_type.is_empty() && !c.detectors.is_empty() {
            let _ = write!(
                o,
                "\nrecall at 1% FPR by attack type\n{:<30} {:>6}",
                "type", "n"
            );
            for d in &c.detectors {
                let _ = write!(o, " {:>11}", d.name);
            }
            o.push('\n');
            for (t, n) in &c.positives_by_type {
                let _ = write!(o, "{t:<30} {n:>6}");
                for d in &c.detectors {
                    let r = d.per_attack_type.get(t).map(|x| x.recall);
                    let _ = write!(o, " {:>11}", opt(r, 4));
                }
                o.push('\n');
            }
        }
        let n = &self.notices;
        let _ = writeln!(o, "\n== Notices: {} ==", n.total);
        if n.file.is_none() {
            let _ = writeln!(o, "(no notice.log)");
        }
        for (t, k) in &n.by_type {
            let _ = writeln!(o, "{t:<34} {k:>6}");
        }
        if let Some(a) = &self.attacks {
            let _ = writeln!(o, "\n== Attacks (schedule) ==");
            let _ = writeln!(
                o,
                "{:<16} {:<5} {:<22} {:>8} {:>9}  first notice",
                "attack", "host", "expected", "detected", "delay_s"
            );
            for r in a {
                let _ = writeln!(
                    o,
                    "{:<16} {:<5} {:<22} {:>8} {:>9}  {}",
                    r.attack_type,
                    r.host,
                    r.expected_note.as_deref().unwrap_or("-"),
                    if r.detected { "yes" } else { "NO" },
                    opt(r.time_to_first_notice_s, 1),
                    r.first_notice_msg.as_deref().unwrap_or("")
                );
            }
        }
        if let Some(h) = &self.hosts {
            let _ = writeln!(o, "\n== Hosts ==");
            for r in h {
                let types: Vec<String> =
                    r.by_type.iter().map(|(t, k)| format!("{t}x{k}")).collect();
                let _ = writeln!(
                    o,
                    "{:<26} {:<6} label {} notices {:>4}  {}",
                    r.addr,
                    r.name,
                    r.label,
                    r.notices,
                    types.join(" ")
                );
            }
        }
        if let Some(b) = &self.benign_flagged {
            let _ = writeln!(
                o,
                "\n== Benign hosts flagged: {} (notices naming no listed host: {}) ==",
                b.count, b.unknown_host_notices
            );
            for f in &b.notices {
                let _ = writeln!(
                    o,
                    "{:.3} {} [{}] {}",
                    f.ts,
                    f.note,
                    f.hosts.join(" "),
                    f.msg
                );
            }
        }
        if !self.expected_notices.is_empty() {
            let _ = writeln!(o, "\n== Expected notices ==");
            for e in &self.expected_notices {
                let _ = writeln!(
                    o,
                    "{} {}: {} ({} notices){}",
                    e.note,
                    e.addrs.join(","),
                    if e.found { "found" } else { "NOT FOUND" },
                    e.count,
                    e.first_msg
                        .as_deref()
                        .map(|m| format!(", first: {m}"))
                        .unwrap_or_default()
                );
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str =
        "ts_start,orig_h,orig_p,resp_h,resp_p,proto,label,attack_type,ts_end,split\n\
10,10.0.0.1,1000,10.0.0.2,80,tcp,0,benign,11,train\n\
20,10.0.0.1,1001,10.0.0.2,80,tcp,0,benign,21,test\n\
21,10.0.0.1,1002,10.0.0.2,80,tcp,0,benign,22,test\n\
22,10.0.0.66,1003,10.0.0.2,80,tcp,1,syn-flood,22,test\n\
23,10.0.0.66,1004,10.0.0.2,22,tcp,1,bruteforce-ssh,30,test\n\
24,10.0.0.1,1005,10.0.0.2,80,tcp,0,benign,25,excluded\n";

    fn score_line(ts: f64, op: u16, oh: &str, rp: u16, robust: &str, score: f64) -> String {
        format!("{ts}\tC\t{oh}\t{op}\t10.0.0.2\t{rp}\ttcp\thttp\t{robust}\t{score}\tF\t(empty)\n")
    }

    fn score_tsv() -> String {
        let mut s = String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tscore\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice_class\trobust\tscore\tanomalous\ttop_features\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tdouble\tdouble\tbool\tvector[string]\n");
        s += &score_line(10.0, 1000, "10.0.0.1", 80, "9.0", 9.0); // train
        s += &score_line(20.0, 1001, "10.0.0.1", 80, "1.0", 1.0);
        s += &score_line(21.0, 1002, "10.0.0.1", 80, "-", 2.0); // robust unset
        s += &score_line(22.0, 1003, "10.0.0.66", 80, "5.0", 3.0);
        s += &score_line(23.5, 1004, "10.0.0.66", 22, "0.5", 0.5);
        s += &score_line(24.0, 1005, "10.0.0.1", 80, "7.0", 7.0); // excluded
        s += &score_line(99.0, 4444, "10.0.0.9", 80, "1.0", 1.0); // unmatched
        s
    }

    /// Hand count: samples A (2 positives, 1 negative), B (1 positive,
    /// 2 negatives), C (1 positive), the same values as B in another
    /// class (1 negative), and a row like A with one value unset (1
    /// negative): 2·1 + 1·2 = 4 tied pairs of 4 positives × 5 negatives,
    /// so no scorer exceeds 1 − 0.5 · 4 / 20 = 0.9.
    #[test]
    fn indistinguishable_rows_bound_the_auc() {
        let row = |label: bool, class: &'static str, values: &[Option<f64>]| TestRow {
            label,
            attack_type: if label { "scan" } else { "benign" },
            class,
            values: values.to_vec(),
        };
        let (a, b, c) = (
            [Some(1.0), Some(2.0)],
            [Some(3.0), Some(4.0)],
            [Some(5.0), Some(6.0)],
        );
        let rows = [
            row(true, "tcp/23", &a),
            row(true, "tcp/23", &a),
            row(false, "tcp/23", &a),
            row(true, "udp/high", &b),
            row(false, "udp/high", &b),
            row(false, "udp/high", &b),
            row(true, "tcp/23", &c),
            row(false, "dns", &b),
            row(false, "tcp/23", &[Some(1.0), None]),
        ];
        let t = Indistinguishable::of(&rows);
        assert_eq!((t.tied_pairs, t.positives, t.negatives), (4, 3, 3));
        assert_eq!(t.roc_auc_ceiling, Some(0.9));
        // Without ties the ceiling is 1; with one label only there is none.
        assert_eq!(
            Indistinguishable::of(&rows[6..8]).roc_auc_ceiling,
            Some(1.0)
        );
        assert_eq!(Indistinguishable::of(&rows[..2]).roc_auc_ceiling, None);
    }

    #[test]
    fn connection_level_end_to_end_on_tsv() {
        let score = logs::parse_log(&score_tsv()).unwrap();
        assert_eq!(detector_columns(&score), ["robust", "score"]);
        let idx = labels::LabelIndex::parse(LABELS).unwrap();
        let c = connection_level(&score, Path::new("score.log"), &idx, None).unwrap();
        assert_eq!(
            (
                c.score_rows,
                c.matched,
                c.unmatched,
                c.excluded,
                c.train_rows
            ),
            (7, 6, 1, 1, 1)
        );
        assert_eq!((c.test_rows, c.positives, c.negatives), (4, 2, 2));
        // No two test rows share a sample.
        assert_eq!(c.indistinguishable.roc_auc_ceiling, Some(1.0));
        let robust = &c.detectors[0];
        // robust: neg 1.0, pos 5.0, pos 0.5 (one negative missing).
        assert_eq!((robust.rows, robust.missing), (3, 1));
        assert_eq!(robust.roc_auc, Some(0.5));
        // score: neg 1, neg 2, pos 3, pos 0.5: pairs won 2 of 4.
        let sc = &c.detectors[1];
        assert_eq!(sc.roc_auc, Some(0.5));
        // 0 FP allowed: t = 3.0, syn-flood found, brute force not.
        assert_eq!(sc.threshold, Some(3.0));
        assert_eq!(sc.recall_at_1pct_fpr, Some(0.5));
        assert_eq!(sc.per_attack_type["syn-flood"].recall, 1.0);
        assert_eq!(sc.per_attack_type["bruteforce-ssh"].detected, 0);
        // --train-until 21: the ts 20 row becomes train; excluded stays out.
        let c = connection_level(&score, Path::new("score.log"), &idx, Some(21.0)).unwrap();
        assert_eq!((c.train_rows, c.test_rows), (2, 3));
    }

    #[test]
    fn json_detector_columns_skip_ts_ids_and_non_numbers() {
        let text = "{\"ts\":1.0,\"id.orig_p\":5,\"proto\":\"tcp\",\"robust\":1.5,\"new_det\":2,\"anomalous\":false,\"top_values\":[1.0]}\n{\"ts\":2.0,\"id.orig_p\":6,\"proto\":\"tcp\",\"new_det\":3}\n";
        let log = logs::parse_log(text).unwrap();
        assert_eq!(detector_columns(&log), ["robust", "new_det"]);
    }

    #[test]
    fn missing_score_field_is_an_error_with_line() {
        let text = "{\"ts\":1.0,\"proto\":\"tcp\",\"id.orig_h\":\"1.2.3.4\",\"id.orig_p\":5,\"id.resp_h\":\"1.2.3.5\",\"id.resp_p\":80,\"score\":1}\n{\"ts\":2.0,\"proto\":\"tcp\",\"id.orig_h\":\"1.2.3.4\",\"id.orig_p\":5,\"score\":1}\n";
        let log = logs::parse_log(text).unwrap();
        let idx = labels::LabelIndex::parse(LABELS).unwrap();
        let e = connection_level(&log, Path::new("d/score.log"), &idx, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d/score.log:2: id.resp_h is missing or malformed"
        );
    }
}
