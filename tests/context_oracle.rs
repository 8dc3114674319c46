//! context.log against an independent implementation: runs
//! `tests/oracle/context_oracle.py --run-all`, which runs connscope with
//! `--context` on `pcaps/*.pcap` and `../shared/datasets/*/*.pcap`, recomputes
//! every field of every row by brute force from conn.log (counts and times
//! exact, doubles within 1e-9 relative) and requires `-j 3` to write the same
//! context.log as `-j 1`. Also checks the TSV form against the JSON form.
//!
//! Skips, saying so, when the binary has no `--context` option.

use std::path::{Path, PathBuf};
use std::process::Command;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_connscope")
}

fn has_context() -> bool {
    let help = Command::new(exe())
        .args(["read", "--help"])
        .output()
        .expect("running connscope");
    String::from_utf8_lossy(&help.stdout).contains("--context")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn context_matches_the_python_oracle() {
    if !has_context() {
        eprintln!("SKIPPED context_matches_the_python_oracle: connscope has no --context option");
        return;
    }
    let status = Command::new("python3")
        .arg(root().join("tests/oracle/context_oracle.py"))
        .arg("--run-all")
        .arg(exe())
        .status()
        .expect("running tests/oracle/context_oracle.py (python3 needed)");
    assert!(
        status.success(),
        "context oracle reported mismatches (see output above)"
    );
}

fn run(pcap: &Path, out: &Path, extra: &[&str]) {
    std::fs::create_dir_all(out).unwrap();
    let st = Command::new(exe())
        .arg("read")
        .arg("-r")
        .arg(pcap)
        .arg("-w")
        .arg(out)
        .args(["--context", "-q"])
        .args(extra)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn context_tsv_agrees_with_json() {
    if !has_context() {
        eprintln!("SKIPPED context_tsv_agrees_with_json: connscope has no --context option");
        return;
    }
    let pcap = root().join("pcaps/tcp_states.pcap");
    let tmp = std::env::temp_dir().join(format!("connscope-ctx-{}", std::process::id()));
    let (j, t) = (tmp.join("json"), tmp.join("tsv"));
    run(&pcap, &j, &[]);
    run(&pcap, &t, &["--format", "tsv"]);
    let json = std::fs::read_to_string(j.join("context.log")).unwrap();
    let tsv = std::fs::read_to_string(t.join("context.log")).unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    let fields: Vec<&str> = tsv
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("#fields")
        .split('\t')
        .collect();
    assert!(tsv.lines().any(|l| l == "#path\tcontext"));
    assert!(tsv.lines().last().unwrap().starts_with("#close\t"));
    let rows: Vec<&str> = tsv.lines().filter(|l| !l.starts_with('#')).collect();
    let objs: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), objs.len());
    assert!(!rows.is_empty());
    for (row, obj) in rows.iter().zip(&objs) {
        let vals: Vec<&str> = row.split('\t').collect();
        assert_eq!(vals.len(), fields.len());
        let obj = obj.as_object().unwrap();
        // (Key order is checked by the Python oracle; serde_json sorts keys.)
        assert_eq!(obj.len(), fields.len());
        for (name, v) in fields.iter().zip(&vals) {
            let j = &obj[*name];
            if let Some(s) = j.as_str() {
                assert_eq!(s, *v, "{name}");
            } else if let Some(n) = j.as_u64() {
                assert_eq!(n.to_string(), *v, "{name}");
            } else {
                let x = j.as_f64().unwrap();
                assert_eq!(format!("{x:.6}"), *v, "{name}");
            }
        }
    }
}
