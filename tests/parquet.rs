//! Parquet output, read back with pyarrow and compared with the TSV output.
//!
//! - `--format parquet` on every capture in `pcaps/` (and the Zeek
//!   conformance captures in `../shared`, skipped when absent), with every
//!   optional log and column on and tiny row groups: each `NAME.parquet` is
//!   checked by `tests/parquet/check.py` against `NAME.log` of a
//!   `--format tsv` run of the same capture — Arrow type of every column
//!   from its Zeek type, every value of every row (times in exact
//!   microseconds, nulls, lists, escapes), the row-group count.
//! - `connscope convert` of TSV logs (the sensor's, and a hand-written log
//!   full of escapes, extreme numbers and odd strings whose values are also
//!   asserted by hand) and of JSON logs (epoch and ISO 8601 times).
//! - Rotation: several Parquet files, each complete, adding up to the TSV.
//! - A killed writer: the file holds every row group written before.
//! - A disk that fills up: the error names the file and the rows not
//!   written; the file keeps every row group written before, readable.
//! - Errors: unwritable output, corrupt or non-Zeek input name file, line
//!   and column, and leave no output behind.
//!
//! The checker needs Python with pyarrow (`scripts/ensure-deps.sh --test`
//! puts it in `.venv`): missing, the tests fail in CI (`CI` set) and are
//! skipped with a message elsewhere. The checker is shown to fail on a
//! changed value.

#[path = "flood/gen.rs"]
mod gen;

use connscope::output::parquet::{ParquetOptions, ParquetWriter};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-parquet-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A Python with pyarrow and duckdb, or `None` (skip) outside CI.
fn python() -> Option<PathBuf> {
    let venv = root().join(".venv/bin/python");
    for p in [venv, PathBuf::from("python3")] {
        let ok = Command::new(&p)
            .args(["-c", "import pyarrow, duckdb"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("pyarrow is missing: scripts/ensure-deps.sh --test installs it into .venv");
    }
    eprintln!(
        "SKIPPED: pyarrow is not installed (scripts/ensure-deps.sh --test installs it into .venv)"
    );
    None
}

/// Runs a Python snippet (`python -c SCRIPT ARG`) with the test venv's Python.
fn py_script(py: &Path, script: &str, arg: &Path) -> std::process::Output {
    Command::new(py)
        .args(["-c", script])
        .arg(arg)
        .output()
        .expect("run python")
}

fn connscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args(args)
        .output()
        .expect("run connscope")
}

fn read(pcap: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "read",
        "-q",
        "-r",
        pcap.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    connscope(&a)
}

/// Runs check.py over (parquet, tsv) pairs; returns (success, output).
fn check(py: &Path, row_group: Option<usize>, pairs: &[(String, PathBuf)]) -> (bool, String) {
    let mut c = Command::new(py);
    c.arg(root().join("tests/parquet/check.py"));
    if let Some(n) = row_group {
        c.args(["--row-group", &n.to_string()]);
    }
    for (p, t) in pairs {
        c.arg(p).arg(t);
    }
    let o = c.output().expect("run check.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// Every log of a run in both formats, paired by name; the sets of logs
/// must be the same.
fn pairs(pq_dir: &Path, tsv_dir: &Path) -> Vec<(String, PathBuf)> {
    let names = |d: &Path, ext: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| {
                let n = e.ok()?.file_name().to_string_lossy().into_owned();
                n.strip_suffix(ext).map(str::to_string)
            })
            .collect();
        v.sort();
        v
    };
    let (p, t) = (names(pq_dir, ".parquet"), names(tsv_dir, ".log"));
    assert_eq!(p, t, "the same logs in {pq_dir:?} and {tsv_dir:?}");
    p.iter()
        .map(|n| {
            (
                pq_dir.join(format!("{n}.parquet")).display().to_string(),
                tsv_dir.join(format!("{n}.log")),
            )
        })
        .collect()
}

/// Every optional log and column.
const ALL: &[&str] = &[
    "--flowmeter",
    "--conn-extras",
    "--context",
    "--community-id",
    "--vlan-fields",
    "--mac-fields",
    "--conn-names",
    "--dns-auth-addl",
    "--dns-original-query",
    "--interim-interval",
    "5",
];

/// Runs each capture in both formats and checks every log.
fn sensor_matches_tsv(py: &Path, pcaps: &[PathBuf], tag: &str) -> usize {
    let mut all = Vec::new();
    for (i, pcap) in pcaps.iter().enumerate() {
        let (t, p) = (
            tmpdir(&format!("{tag}-{i}-tsv")),
            tmpdir(&format!("{tag}-{i}-pq")),
        );
        let mut a = ALL.to_vec();
        a.extend(["--format", "tsv"]);
        let rt = read(pcap, &t, &a);
        let mut a = ALL.to_vec();
        a.extend(["--format", "parquet", "--parquet-row-group", "3"]);
        let rp = read(pcap, &p, &a);
        assert_eq!(rt.status.code(), rp.status.code(), "{pcap:?}");
        assert!(
            matches!(rp.status.code(), Some(0 | 2)),
            "{pcap:?}: {}",
            String::from_utf8_lossy(&rp.stderr)
        );
        all.extend(pairs(&p, &t));
    }
    let (ok, out) = check(py, Some(3), &all);
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        all.len()
    );
    all.len()
}

fn project_pcaps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "expected the generated captures in pcaps/");
    v
}

#[test]
fn sensor_parquet_equals_tsv_on_the_project_captures() {
    let Some(py) = python() else { return };
    let n = sensor_matches_tsv(&py, &project_pcaps(), "own");
    assert!(n >= 30, "only {n} logs compared");
}

#[test]
fn sensor_parquet_equals_tsv_on_the_zeek_conformance_captures() {
    let shared = root().join("../shared/conformance");
    let mut pcaps = Vec::new();
    for d in ["zeek/cases", "zeek-dns/cases"] {
        let Ok(cases) = std::fs::read_dir(shared.join(d)) else {
            continue;
        };
        for c in cases {
            for f in std::fs::read_dir(c.unwrap().path()).into_iter().flatten() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                    pcaps.push(f);
                }
            }
        }
    }
    if pcaps.is_empty() {
        eprintln!("SKIPPED: ../shared/conformance is not present");
        return;
    }
    let Some(py) = python() else { return };
    pcaps.sort();
    sensor_matches_tsv(&py, &pcaps, "zeek");
}

/// score.log and notice.log (detection on a labelled dataset with a scan).
#[test]
fn detection_logs_as_parquet() {
    let ds = root().join("../shared/datasets/hideandseek-short/hideandseek-short.pcap");
    if !ds.exists() {
        eprintln!("SKIPPED: ../shared/datasets/hideandseek-short is not present");
        return;
    }
    let Some(py) = python() else { return };
    let (t, p) = (tmpdir("detect-tsv"), tmpdir("detect-pq"));
    let det = ["--train-seconds", "480", "--context", "--flowmeter"];
    let mut a = det.to_vec();
    a.extend(["--format", "tsv"]);
    assert!(read(&ds, &t, &a).status.success());
    let mut a = det.to_vec();
    a.extend(["--format", "parquet", "--parquet-row-group", "100"]);
    assert!(read(&ds, &p, &a).status.success());
    let all = pairs(&p, &t);
    for log in ["score", "notice", "context"] {
        assert!(
            all.iter()
                .any(|(n, _)| n.ends_with(&format!("/{log}.parquet"))),
            "{log}: {all:?}"
        );
    }
    let (ok, out) = check(&py, Some(100), &all);
    assert!(ok, "{out}");
}

/// DuckDB (its own Parquet reader) gives the figures the TSV gives.
#[test]
fn duckdb_reads_the_same_values() {
    let Some(py) = python() else { return };
    let (t, p) = (tmpdir("duck-tsv"), tmpdir("duck-pq"));
    let pcap = root().join("pcaps/dns.pcap");
    assert!(read(&pcap, &t, &["--format", "tsv"]).status.success());
    let r = read(
        &pcap,
        &p,
        &["--format", "parquet", "--parquet-row-group", "4"],
    );
    assert!(r.status.success());
    // The figures from the TSV, computed here.
    let rows = |log: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(t.join(log))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').map(String::from).collect())
            .collect()
    };
    let conn = rows("conn.log");
    let sum: u64 = conn.iter().filter_map(|r| r[9].parse::<u64>().ok()).sum();
    let null_dur = conn.iter().filter(|r| r[8] == "-").count();
    let min_ts = conn
        .iter()
        .map(|r| r[0].clone())
        .min()
        .unwrap()
        .replace('.', "");
    let dns = rows("dns.log");
    let answers: usize = dns
        .iter()
        .filter(|r| r[21] != "-" && r[21] != "(empty)")
        .map(|r| r[21].split(',').count())
        .sum();
    let expect = format!(
        "{} {sum} {null_dur} {} {answers}",
        conn.len(),
        min_ts.trim_start_matches('0')
    );
    let script = r#"
import sys, duckdb
d = sys.argv[1]
n, s, nd, ts = duckdb.sql(f"select count(*), sum(orig_bytes), count(*) filter (where duration is null), epoch_us(min(ts)) from '{d}/conn.parquet'").fetchall()[0]
a = duckdb.sql(f"select count(*) from (select unnest(answers) from '{d}/dns.parquet')").fetchall()[0][0]
print(n, s, nd, ts, a)
"#;
    let o = py_script(&py, script, &p);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), expect);
}

/// The checker is not a rubber stamp: one changed value is found.
#[test]
fn checker_finds_a_changed_value() {
    let Some(py) = python() else { return };
    let (t, p) = (tmpdir("neg-tsv"), tmpdir("neg-pq"));
    let pcap = root().join("pcaps/dns.pcap");
    assert!(read(&pcap, &t, &["--format", "tsv"]).status.success());
    assert!(read(&pcap, &p, &["--format", "parquet"]).status.success());
    let pair = vec![(
        p.join("conn.parquet").display().to_string(),
        t.join("conn.log"),
    )];
    assert!(check(&py, None, &pair).0);
    // orig_bytes of the first row + 1.
    let text = std::fs::read_to_string(t.join("conn.log")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines.iter().position(|l| !l.starts_with('#')).unwrap();
    let mut f: Vec<String> = lines[i].split('\t').map(String::from).collect();
    f[9] = (f[9].parse::<u64>().unwrap() + 1).to_string();
    lines[i] = f.join("\t");
    std::fs::write(t.join("conn.log"), lines.join("\n") + "\n").unwrap();
    let (ok, out) = check(&py, None, &pair);
    assert!(!ok && out.contains("column orig_bytes"), "{out}");
}

/// A Zeek TSV log written by hand: escapes, non-UTF-8, extreme numbers.
const HAND_LOG: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\thand
#open\t2024-01-01-00-00-00
#fields\tts\td\ts\tn\ti\tp\tb\tv\tnames\tiv\ta\te\tnet
#types\ttime\tinterval\tstring\tcount\tint\tport\tbool\tdouble\tset[string]\tvector[interval]\taddr\tenum\tsubnet
1704067200.000001\t-1.500000\ta\\x09b\\x5cc\t18446744073709551615\t-9223372036854775808\t65535\tT\t1e+300\ta\\x2cb,(empty),-\t0.5,-\t::1\tFOO\t10.0.0.0/8
0.000000\t0.000000\t\\x2d\t0\t0\t0\tF\t-0.0\t(empty)\t(empty)\t10.0.0.1\t-\t-
-1.250000\t-\t(empty)\t-\t-\t-\t-\tinf\t-\t-\t-\t-\t-
1.5\t1\t\\xc3\\xa9\\xff|\t1\t-1\t1\tT\tnan\t\\x2d\t1\t-\t-\t-
#close\t2024-01-01-00-00-01
";

#[test]
fn convert_tsv_hand_log_values() {
    let Some(py) = python() else { return };
    let d = tmpdir("hand");
    std::fs::write(d.join("hand.log"), HAND_LOG).unwrap();
    let o = connscope(&[
        "convert",
        "-o",
        d.join("out").to_str().unwrap(),
        d.join("hand.log").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pq = d.join("out/hand.parquet");
    let (ok, out) = check(
        &py,
        Some(65536),
        &[(pq.display().to_string(), d.join("hand.log"))],
    );
    assert!(ok, "{out}");
    // The same values written out by hand (not by the checker's parser).
    let script = r#"
import sys, math, pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
c = {n: t.column(n).to_pylist() for n in t.column_names}
us = t.column('ts').cast(pa.int64()).to_pylist()
assert us == [1704067200000001, 0, -1250000, 1500000], us
assert c['d'] == [-1.5, 0.0, None, 1.0], c['d']
assert c['s'] == ['a\tb\\c', '-', '', '\u00e9\\xff|'], c['s']
assert c['n'] == [2**64 - 1, 0, None, 1], c['n']
assert c['i'] == [-2**63, 0, None, -1], c['i']
assert c['p'] == [65535, 0, None, 1], c['p']
assert c['b'] == [True, False, None, True], c['b']
assert c['v'][:3] == [1e300, -0.0, math.inf] and math.isnan(c['v'][3]), c['v']
assert math.copysign(1, c['v'][1]) == -1
assert c['names'] == [['a,b', '', None], [], None, ['-']], c['names']
assert c['iv'] == [[0.5, None], [], None, [1.0]], c['iv']
assert c['a'] == ['::1', '10.0.0.1', None, None]
assert c['net'] == ['10.0.0.0/8', None, None, None]
md = pq.ParquetFile(sys.argv[1]).schema_arrow.metadata
assert md[b'zeek_path'] == b'hand', md
assert md[b'zeek_types'].split(b',')[0] == b'time'
print('hand ok')
"#;
    let o = py_script(&py, script, &pq);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn convert_sensor_tsv_and_json_logs() {
    let Some(py) = python() else { return };
    let pcap = root().join("pcaps/dns.pcap");
    let t = tmpdir("conv-tsv");
    let mut a = ALL.to_vec();
    a.extend(["--format", "tsv"]);
    assert!(read(&pcap, &t, &a).status.success());
    let mut tsv_logs: Vec<PathBuf> = std::fs::read_dir(&t)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    tsv_logs.sort();
    assert!(tsv_logs.len() >= 5, "{tsv_logs:?}");
    // TSV → Parquet.
    let out = t.join("pq");
    let mut args = vec!["convert", "-q", "-o", out.to_str().unwrap()];
    args.extend(tsv_logs.iter().map(|p| p.to_str().unwrap()));
    let o = connscope(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ok, text) = check(&py, None, &pairs(&out, &t));
    assert!(ok, "{text}");
    // JSON (epoch and ISO 8601 times) → Parquet, compared with the TSV.
    for ts in ["epoch", "iso8601"] {
        let j = tmpdir(&format!("conv-json-{ts}"));
        let mut a = ALL.to_vec();
        a.extend(["--format", "json", "--json-timestamps", ts]);
        assert!(read(&pcap, &j, &a).status.success());
        let out = j.join("pq");
        let mut args = vec!["convert", "-q", "-o", out.to_str().unwrap()];
        let names: Vec<PathBuf> = tsv_logs
            .iter()
            .map(|p| j.join(p.file_name().unwrap()))
            .collect();
        args.extend(names.iter().map(|p| p.to_str().unwrap()));
        let o = connscope(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut c = Command::new(&py);
        c.arg(root().join("tests/parquet/check.py")).arg("--json");
        for (p, tsv) in pairs(&out, &t) {
            c.arg(p).arg(tsv);
        }
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{ts}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn rotation_closes_every_parquet_file() {
    let Some(py) = python() else { return };
    let pcap = root().join("pcaps/timeout.pcap");
    let t = tmpdir("rot-tsv");
    assert!(read(&pcap, &t, &["--format", "tsv"]).status.success());
    let p = tmpdir("rot-pq");
    let r = read(
        &pcap,
        &p,
        &["--format", "parquet", "--rotate-interval", "20"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        !p.join("conn.parquet").exists(),
        "conn.parquet rotated away"
    );
    let mut files: Vec<String> = std::fs::read_dir(p.join("log-queue"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("conn__") && n.ends_with("__.parquet")
        })
        .map(|f| f.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "expected several periods: {files:?}");
    let (ok, out) = check(&py, None, &[(files.join(","), t.join("conn.log"))]);
    assert!(ok, "{out}");
}

/// A writer that dies without closing (no destructor runs, as after
/// SIGKILL) leaves a file holding every row group written before.
#[test]
fn killed_writer_loses_only_the_open_row_group() {
    let Some(py) = python() else { return };
    let d = tmpdir("killed");
    let path = d.join("k.parquet");
    let cols = [("ts", "time"), ("n", "count"), ("s", "set[string]")];
    let mut w =
        ParquetWriter::create(&path, "k", &cols, ParquetOptions { row_group_rows: 10 }).unwrap();
    for i in 0..25u64 {
        let line = format!("{i}.000001\t{i}\tx,y{i}");
        w.push_tsv(line.as_bytes()).unwrap();
    }
    std::mem::forget(w);
    let script = r#"
import sys, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
t = f.read()
assert f.metadata.num_row_groups == 2, f.metadata
assert t.column('n').to_pylist() == list(range(20)), t
assert t.column('s').to_pylist()[19] == ['x', 'y19']
# Row-group statistics: the time range and null count of each group.
import datetime
g = f.metadata.row_group(1).column(0).statistics
utc = datetime.timezone.utc
assert g.has_min_max and g.null_count == 0, g
assert g.min == datetime.datetime.fromtimestamp(10, utc).replace(microsecond=1), g.min
assert g.max == datetime.datetime.fromtimestamp(19, utc).replace(microsecond=1), g.max
print('killed ok')
"#;
    let o = py_script(&py, script, &path);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bad_output_and_bad_input_are_clear_errors() {
    let d = tmpdir("errors");
    // Unwritable output: the log directory is a file.
    std::fs::write(d.join("file"), "x").unwrap();
    let pcap = root().join("pcaps/dns.pcap");
    let r = read(&pcap, &d.join("file"), &["--format", "parquet"]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("file"), "{err}");
    // --report reads text logs: refused before anything is read.
    let r = read(
        &pcap,
        &d.join("rep"),
        &["--format", "parquet", "--report", "r.html"],
    );
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("cannot follow --format parquet"), "{err}");
    assert!(!d.join("rep/conn.parquet").exists());
    // A value that is not of its column's type: file, line, column named;
    // no output left behind; the other input is still converted.
    let bad = HAND_LOG.replace("\t18446744073709551615\t", "\t18446744073709551616\t");
    std::fs::write(d.join("bad.log"), bad).unwrap();
    std::fs::write(d.join("hand.log"), HAND_LOG).unwrap();
    std::fs::write(d.join("notzeek.log"), "hello\tworld\n").unwrap();
    let out = d.join("out");
    let o = connscope(&[
        "convert",
        "-o",
        out.to_str().unwrap(),
        d.join("bad.log").to_str().unwrap(),
        d.join("notzeek.log").to_str().unwrap(),
        d.join("missing.log").to_str().unwrap(),
        d.join("hand.log").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "bad.log: line 9: column n (#4): \"18446744073709551616\" is not a valid Count value"
        ),
        "{err}"
    );
    assert!(
        err.contains("notzeek.log: line 1: a row before the #fields and #types headers"),
        "{err}"
    );
    assert!(err.contains("missing.log: No such file"), "{err}");
    assert!(err.contains("3 of 4 files not converted"), "{err}");
    assert!(!out.join("bad.parquet").exists());
    assert!(!out.join("notzeek.parquet").exists());
    assert!(out.join("hand.parquet").exists());
    // An output directory that cannot be made.
    let o = connscope(&[
        "convert",
        "-o",
        d.join("file/sub").to_str().unwrap(),
        d.join("hand.log").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("creating the output directory"), "{err}");
}

/// A 64 KiB tmpfs fills up mid-run (needs root to mount; skipped without).
#[test]
fn full_disk_keeps_the_row_groups_written_before() {
    let d = tmpdir("full");
    let pcap = d.join("flows.pcap");
    let w = gen::write(gen::Flood::Flows, 20_000, &pcap);
    let total = 20_000 + w.legit;
    let logs = d.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&logs)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root?)");
        return;
    }
    let Some(py) = python() else {
        let _ = Command::new("umount").arg(&logs).status();
        return;
    };
    let o = read(
        &pcap,
        &logs,
        &[
            "-C",
            "--max-conns",
            "100",
            "--format",
            "parquet",
            "--parquet-row-group",
            "50",
            "--stats-interval",
            "0",
            "--capture-loss-interval",
            "0",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let conn = logs.join("conn.parquet");
    let script = r#"
import sys, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
print(f.metadata.num_rows, f.metadata.num_row_groups)
"#;
    let r = py_script(&py, script, &conn);
    let _ = Command::new("umount").arg(&logs).status();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("writing {}", conn.display())),
        "{err}"
    );
    assert!(err.contains("No space left on device"), "{err}");
    let lost: u64 = err
        .split(" records not written")
        .next()
        .and_then(|t| t.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(lost > 0, "{err}");
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(
        r.status.success(),
        "the file stays readable: {out}{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut it = out.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    let (kept, groups) = (it.next().unwrap(), it.next().unwrap());
    assert!(
        kept > 0 && kept == groups * 50,
        "{kept} rows in {groups} groups"
    );
    assert!(kept + lost <= total, "kept {kept} + lost {lost} > {total}");
    eprintln!("{kept} rows kept in {groups} row groups, {lost} not written (of {total})");
}
