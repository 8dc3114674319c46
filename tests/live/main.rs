//! Live-capture end-to-end test: runs `scripts/live-test.sh` (veth pairs in
//! two private network namespaces, tcpreplay of the project's captures,
//! `connscope live` with libpcap (one and two interfaces) and AF_PACKET (two
//! workers, and a two-process fanout group), stopped with SIGTERM, records
//! compared with `connscope read`).
//!
//! Skipped, with a message saying why, when not running as root, when `ip` or
//! `tcpreplay` is missing (this test never installs anything; the script
//! does when run by hand), when network namespaces cannot be created, or when
//! `CONNSCOPE_SKIP_LIVE` is set.

use std::path::PathBuf;
use std::process::Command;

fn skip(why: &str) {
    eprintln!("live test SKIPPED: {why}");
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn live_capture_matches_offline_read() {
    if std::env::var_os("CONNSCOPE_SKIP_LIVE").is_some() {
        return skip("CONNSCOPE_SKIP_LIVE is set");
    }
    let uid = Command::new("id").arg("-u").output();
    let root = matches!(&uid, Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return skip("needs root (network namespaces and raw sockets)");
    }
    for tool in ["ip", "tcpreplay", "python3"] {
        if !have(tool) {
            return skip(&format!(
                "`{tool}` is missing (scripts/live-test.sh installs tcpreplay when run by hand)"
            ));
        }
    }
    let root_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root_dir.join("scripts/live-test.sh"))
        .env("CONNSCOPE_BIN", env!("CARGO_BIN_EXE_connscope"))
        .output()
        .expect("run scripts/live-test.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    if out.status.code() == Some(77) {
        return skip("scripts/live-test.sh skipped (see above)");
    }
    assert!(out.status.success(), "live test failed:\n{text}");
}
