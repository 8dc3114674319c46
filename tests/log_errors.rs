//! A log directory that fills up mid-run: the run stops reading, exits 1
//! with an error naming the file and the number of records not written, and
//! the records written before the failure stay in the file. Every record is
//! accounted for: complete lines in the file + records not written = all.
//!
//! Needs root to mount a 64 KiB tmpfs; otherwise `/dev/full` (nothing can be
//! written: every record is reported lost); skipped, with a message, when
//! neither is available.

#[path = "flood/gen.rs"]
mod gen;

use std::path::{Path, PathBuf};
use std::process::Command;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-logerr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `read` on `pcap` into `out`; returns (exit code, stderr, records not written).
fn run(pcap: &Path, out: &Path, workers: &str) -> (Option<i32>, String, u64) {
    let o = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args([
            "read",
            "-C",
            "-q",
            "--max-conns",
            "100",
            "-j",
            workers,
            "-r",
        ])
        .arg(pcap)
        .arg("-w")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let lost = err
        .split(" records not written")
        .next()
        .and_then(|t| t.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (o.status.code(), err, lost)
}

#[test]
fn full_log_directory_is_an_error_with_the_path_and_the_loss() {
    let d = tmpdir("full");
    let pcap = d.join("flows.pcap");
    // 20,000 UDP flows (+ 20 TCP): with --max-conns 100 records are written
    // all through the run, far more than 64 KiB of them.
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
        if !Path::new("/dev/full").exists() {
            eprintln!("SKIPPED: cannot mount a tmpfs (not root?) and no /dev/full");
            return;
        }
        eprintln!("no tmpfs (not root?): using /dev/full");
        std::os::unix::fs::symlink("/dev/full", logs.join("conn.log")).unwrap();
    }
    for workers in ["1", "2"] {
        for f in ["weird.log", "stats.log", "capture_loss.log"] {
            let _ = std::fs::remove_file(logs.join(f));
        }
        if mounted {
            let _ = std::fs::remove_file(logs.join("conn.log"));
        }
        let (code, err, lost) = run(&pcap, &logs, workers);
        assert_eq!(code, Some(1), "-j {workers}: {err}");
        let conn = logs.join("conn.log");
        assert!(
            err.contains(&format!("writing {}", conn.display())),
            "{err}"
        );
        assert!(err.contains("No space left on device"), "{err}");
        assert!(lost > 0, "{err}");
        let text = std::fs::read(&conn).unwrap_or_default();
        // Complete records only (a partial last line counts as not written).
        let kept = text
            .split(|&b| b == b'\n')
            .filter(|l| l.ends_with(b"}"))
            .count() as u64;
        if mounted {
            assert!(kept > 0, "records before the failure are kept");
        }
        // The run stopped reading at the failure; all it produced is
        // accounted for, and it cannot have produced more than the input holds.
        assert!(kept + lost <= total, "kept {kept} + lost {lost} > {total}");
        eprintln!(
            "-j {workers}: {kept} records kept, {lost} not written (of {total} in the input)"
        );
    }
    if mounted {
        let _ = Command::new("umount").arg(&logs).status();
    }
    let _ = std::fs::remove_dir_all(&d);
}
