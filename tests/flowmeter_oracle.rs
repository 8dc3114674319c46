//! flowmeter.log against an independent implementation: runs
//! `tests/oracle/run-all`, which installs `dpkt` with pip if needed, runs
//! connscope with `--flowmeter` on `pcaps/*.pcap` and
//! `../shared/datasets/*/*.pcap`, and compares every field of every
//! connection with `tests/oracle/flowmeter_oracle.py` (counts exact, doubles
//! within 1e-9 relative).
//!
//! Skips, saying so, when the binary has no `--flowmeter` option yet.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn flowmeter_matches_the_dpkt_oracle() {
    let exe = env!("CARGO_BIN_EXE_connscope");
    let help = Command::new(exe)
        .args(["read", "--help"])
        .output()
        .expect("running connscope");
    if !String::from_utf8_lossy(&help.stdout).contains("--flowmeter") {
        eprintln!("SKIPPED flowmeter_matches_the_dpkt_oracle: connscope has no --flowmeter option");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("python3")
        .arg(root.join("tests/oracle/run-all"))
        .arg(exe)
        .status()
        .expect("running tests/oracle/run-all (python3 needed)");
    assert!(
        status.success(),
        "flowmeter oracle reported mismatches (see output above)"
    );
}
