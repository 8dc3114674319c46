//! Runs the `connscope` binary on a capture a test built and reads its JSON
//! logs back: the one runner of the Zeek-rule test files (`zeek_rules.rs`,
//! `zeek_rules_ip.rs`, `link_types.rs`, ...), each of which includes it with
//! `#[path = "zeek_rules/run.rs"] mod run;`.
//!
//! Must not: decide what a test expects (it only runs and reads).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The JSON records of one run's logs (empty for a log not written).
pub struct Logs {
    pub conn: Vec<Value>,
    pub weird: Vec<Value>,
    pub dns: Vec<Value>,
}

impl Logs {
    /// The weird names, in log order.
    pub fn weird_names(&self) -> Vec<&str> {
        self.weird
            .iter()
            .map(|w| w["name"].as_str().unwrap_or("?"))
            .collect()
    }
}

/// The JSON lines of one log file (none when the file is missing).
pub fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {e}: {l}")))
        .collect()
}

/// A fresh directory for one run (tests run in parallel: every call gets
/// its own).
fn tmpdir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("connscope-rules-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `connscope read -q -r PCAP -w DIR ARGS` (JSON logs, seed 0) on the
/// capture `pcap`; panics with connscope's stderr when it fails.
pub fn read(name: &str, pcap: &[u8], args: &[&str]) -> Logs {
    let dir = tmpdir(name);
    let input = dir.join("in.pcap");
    std::fs::write(&input, pcap).unwrap();
    let out = dir.join("out");
    let r = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args(["read", "-q", "-r"])
        .arg(&input)
        .arg("-w")
        .arg(&out)
        .args(args)
        .output()
        .expect("run connscope");
    assert!(
        r.status.success(),
        "{name}: connscope failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let logs = Logs {
        conn: lines(&out.join("conn.log")),
        weird: lines(&out.join("weird.log")),
        dns: lines(&out.join("dns.log")),
    };
    let _ = std::fs::remove_dir_all(&dir);
    logs
}

/// The conn.log records of [`read`] on a capture a test built (every file
/// including this one includes `zeek_rules/pcap.rs` as `pcap` too).
pub fn conn(name: &str, cap: &super::pcap::Cap, args: &[&str]) -> Vec<Value> {
    read(name, &cap.bytes(), args).conn
}

/// The conn.log record of the connection from client port `cport`.
pub fn by_port(conn: &[Value], cport: u16) -> &Value {
    conn.iter()
        .find(|r| r["id.orig_p"] == cport)
        .unwrap_or_else(|| panic!("no connection from port {cport}: {conn:#?}"))
}
