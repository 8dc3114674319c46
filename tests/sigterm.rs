//! SIGTERM in the middle of a replay: connscope stops reading, logs every
//! open connection and exits 0, and no packet it processed is missing from
//! conn.log (the packet counts of the records add up to the packets it read).
//!
//! Uses a capture generated with ../shared/bench/gen-pcap.py (every packet
//! is TCP, UDP or ICMP with good checksums, so each one is counted in exactly
//! one record); skipped, saying so, when ../shared is absent.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigterm_mid_replay_loses_no_connection() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let gen = root.join("../shared/bench/gen-pcap.py");
    if !gen.exists() {
        eprintln!("SKIPPED sigterm_mid_replay_loses_no_connection: ../shared/bench/gen-pcap.py not present");
        return;
    }
    let dir = std::env::temp_dir().join(format!("connscope-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("gen.pcap");
    let st = Command::new("python3")
        .arg(&gen)
        .args([
            "-o",
            pcap.to_str().unwrap(),
            "-n",
            "400000",
            "-f",
            "20000",
            "--seed",
            "3",
            "-q",
        ])
        .status()
        .expect("python3");
    assert!(st.success());
    for workers in ["1", "2"] {
        let out = dir.join(format!("logs-j{workers}"));
        let child = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .args([
                "read",
                "-r",
                pcap.to_str().unwrap(),
                "-w",
                out.to_str().unwrap(),
                "-j",
                workers,
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "exit {:?}: {err}", o.status);
        let processed: u64 = err
            .lines()
            .find_map(|l| {
                l.strip_prefix("connscope: ")?
                    .split(" packets")
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no packet count in {err}"));
        let mut counted = 0u64;
        for line in std::fs::read_to_string(out.join("conn.log"))
            .unwrap()
            .lines()
        {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            counted += v["orig_pkts"].as_u64().unwrap() + v["resp_pkts"].as_u64().unwrap();
        }
        eprintln!("-j {workers}: processed {processed} of 400000 packets; records count {counted}; interrupted: {}", err.contains("interrupted"));
        assert_eq!(
            counted, processed,
            "-j {workers}: packets missing from conn.log"
        );
    }
}
