//! Zeek conformance: runs `tests/conformance/run-case` over every case in
//! `../shared/conformance/zeek/cases` with the shared `conn-compare` tool and
//! requires a per-case mean record-exact match of at least 95 % with no case
//! below 80 % (the figures come from Zeek's own test baselines).
//!
//! Skips, saying so, when `../shared` is not beside the repository.

use std::path::PathBuf;
use std::process::Command;

fn shared() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let s = std::env::var_os("CONNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    s.join("conformance/zeek/cases").is_dir().then_some(s)
}

#[test]
fn zeek_conformance_corpus() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED zeek_conformance_corpus: ../shared/conformance/zeek/cases not present");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let run_case = root.join("tests/conformance/run-case");
    let out = Command::new("python3")
        .arg(shared.join("tools/conn-compare"))
        .arg("--cases")
        .arg(shared.join("conformance/zeek/cases"))
        .arg("--json")
        .arg("--run")
        .arg(format!(
            "python3 {} {{json}} {{pcap}} {{out}}",
            run_case.display()
        ))
        .env("CONNSCOPE", env!("CARGO_BIN_EXE_connscope"))
        .output()
        .expect("running conn-compare (python3 needed)");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "conn-compare gave no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let cases = report["cases"].as_array().expect("cases array");
    let mut low = Vec::new();
    eprintln!("{:<28} {:>6} {:>8}", "case", "recs", "exact%");
    for c in cases {
        let name = c["case"]
            .as_str()
            .or(c["name"].as_str())
            .unwrap_or("?")
            .to_string();
        let pct = c["exact_pct"].as_f64().unwrap_or(0.0);
        eprintln!("{:<28} {:>6} {:>8.1}", name, c["baseline_records"], pct);
        if pct < 80.0 {
            low.push(format!("{name}: {pct:.1}%"));
        }
    }
    let mean = report["totals"]["case_mean_exact_pct"]
        .as_f64()
        .unwrap_or(0.0);
    let total = report["totals"]["exact_pct"].as_f64().unwrap_or(0.0);
    eprintln!("per-case mean exact match {mean:.1}%, record-weighted {total:.1}%");
    assert!(low.is_empty(), "cases below 80 %: {low:?}");
    assert!(mean >= 95.0, "per-case mean exact match {mean:.1}% < 95%");
}
