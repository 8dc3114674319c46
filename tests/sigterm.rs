//! SIGTERM in the middle of a replay: connscope stops reading, logs every
//! open connection and exits 0, and no packet it processed is missing from
//! conn.log (the packet counts of the records add up to the packets it read).
//! SIGUSR1 writes stats.log rows on demand.
//!
//! Uses a capture generated with ../shared/bench/gen-pcap.py (every packet
//! is TCP, UDP or ICMP with good checksums, so each one is counted in exactly
//! one record); skipped, saying so, when ../shared is absent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The generated capture and the test's work directory (made once), or
/// `None` when ../shared is absent.
fn generated() -> Option<&'static (PathBuf, PathBuf)> {
    static GEN: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    GEN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let gen = root.join("../shared/bench/gen-pcap.py");
        if !gen.exists() {
            return None;
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
        Some((pcap, dir))
    })
    .as_ref()
}

/// Starts `connscope read -r PCAP -w OUT ARGS..` (stderr captured) and
/// returns once its signal handlers are installed (they are set up before
/// the log directory is made) or it has ended.
fn start_read(pcap: &Path, out: &Path, args: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .args(args)
        .arg("-r")
        .arg(pcap)
        .arg("-w")
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while !out.exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}

/// Sends SIGTERM to a running `read` 100 ms after it started, waits for it,
/// checks that it exited cleanly and returns its output and the packet count
/// it reported.
fn sigterm_after_100ms(child: std::process::Child) -> (std::process::Output, u64) {
    std::thread::sleep(Duration::from_millis(100));
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
    (o, processed)
}

#[test]
fn sigterm_mid_replay_loses_no_connection() {
    let Some((pcap, dir)) = generated() else {
        eprintln!("SKIPPED sigterm_mid_replay_loses_no_connection: ../shared/bench/gen-pcap.py not present");
        return;
    };
    for workers in ["1", "2"] {
        let out = dir.join(format!("logs-j{workers}"));
        // Mid-replay: reading 400k packets takes several times 100 ms.
        let child = start_read(pcap, &out, &["-j", workers]);
        let (o, processed) = sigterm_after_100ms(child);
        let err = String::from_utf8_lossy(&o.stderr);
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
        assert!(
            processed < 400_000 && err.contains("interrupted"),
            "-j {workers}: the signal did not land mid-replay"
        );
    }
}

#[test]
fn sigusr1_writes_stats_rows_now() {
    let Some((pcap, dir)) = generated() else {
        eprintln!("SKIPPED sigusr1_writes_stats_rows_now: ../shared/bench/gen-pcap.py not present");
        return;
    };
    for workers in ["1", "2"] {
        let out = dir.join(format!("usr1-j{workers}"));
        // No periodic rows: every stats.log row comes from a SIGUSR1.
        let mut child = start_read(pcap, &out, &["-q", "--stats-interval", "0", "-j", workers]);
        let mut sent = 0;
        while child.try_wait().unwrap().is_none() {
            // SAFETY: sending a signal to our own (still running) child process.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGUSR1);
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(child.wait().unwrap().success());
        let rows = std::fs::read_to_string(out.join("stats.log")).unwrap_or_default();
        let rows: Vec<serde_json::Value> = rows
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        eprintln!(
            "-j {workers}: {sent} SIGUSR1 sent, {} stats rows",
            rows.len()
        );
        if sent <= 1 {
            eprintln!("-j {workers}: the read ended before a signal could land; nothing to check");
            continue;
        }
        assert!(!rows.is_empty(), "-j {workers}: SIGUSR1 wrote no stats row");
        for r in &rows {
            assert!(r["peer"].as_str().unwrap().starts_with("worker-"), "{r}");
        }
        let processed: u64 = rows.iter().map(|r| r["pkts_proc"].as_u64().unwrap()).sum();
        assert!(processed <= 400_000, "{processed}");
    }
}

/// The same with `--format parquet`: after SIGTERM every Parquet file has
/// its footer and conn.parquet holds every processed packet (read back
/// with pyarrow; skipped without it outside CI, failed in CI).
#[test]
fn sigterm_closes_parquet_files() {
    let Some((pcap, dir)) = generated() else {
        eprintln!("SKIPPED sigterm_closes_parquet_files: ../shared/bench/gen-pcap.py not present");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(py) = [root.join(".venv/bin/python"), PathBuf::from("python3")]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import pyarrow"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "pyarrow is missing: scripts/ensure-deps.sh --test installs it"
        );
        eprintln!("SKIPPED sigterm_closes_parquet_files: pyarrow is not installed");
        return;
    };
    let out = dir.join("logs-parquet");
    let child = start_read(
        pcap,
        &out,
        &["--format", "parquet", "--parquet-row-group", "1000"],
    );
    let (_, processed) = sigterm_after_100ms(child);
    let script = r#"
import sys, glob, pyarrow.compute as pc, pyarrow.parquet as pq
for f in glob.glob(sys.argv[1] + "/*.parquet"):
    pq.read_table(f)
t = pq.read_table(sys.argv[1] + "/conn.parquet")
print(pc.sum(t["orig_pkts"]).as_py() + pc.sum(t["resp_pkts"]).as_py())
"#;
    let r = Command::new(&py)
        .args(["-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let counted: u64 = String::from_utf8_lossy(&r.stdout).trim().parse().unwrap();
    eprintln!("parquet: processed {processed} of 400000 packets; records count {counted}");
    assert_eq!(counted, processed, "packets missing from conn.parquet");
}

/// A scratch directory of its own for a FIFO test (no ../shared needed).
fn fifo_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connscope-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("in.pcap");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string; creates a FIFO in our scratch directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    dir
}

/// Sends SIGTERM to `child` and waits for it; fails if it has not exited
/// 20 s later (a hang, not a speed limit: it should exit at once).
fn sigterm_and_wait(mut child: Child) -> std::process::Output {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    for _ in 0..2000 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("connscope did not exit after SIGTERM");
}

/// A capture arriving through a FIFO whose writer stalls (keeps it open and
/// sends nothing): SIGTERM still stops the reader at once, the connections
/// of the packets already read are logged, and the exit is clean (not a
/// "truncated" error for the record the stall cut in two).
#[test]
fn sigterm_stops_a_read_stalled_on_a_fifo() {
    let dir = fifo_dir("fifo-stall");
    let fifo = dir.join("in.pcap");
    let out = dir.join("logs");
    let pcap =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pcaps/tcp_states.pcap"))
            .unwrap();
    // Everything but the last 40 bytes: the last packet is cut in two.
    let part = pcap[..pcap.len() - 40].to_vec();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        std::io::Write::write_all(&mut f, &part).unwrap();
        // Stall with the FIFO open until the test is done with the reader.
        std::thread::sleep(Duration::from_secs(30));
        drop(f);
    });
    let child = start_read(&dir.join("in.pcap"), &out, &[]);
    // Let it read what the writer sent (sequencing only: it then blocks).
    std::thread::sleep(Duration::from_millis(500));
    let o = sigterm_and_wait(child);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    assert!(err.contains("interrupted"), "{err}");
    let logged = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert!(
        !logged.is_empty(),
        "no connection of the packets read was logged: {err}"
    );
    drop(writer);
}

/// SIGTERM while the FIFO has no writer yet (the open itself waits): a
/// clean exit that says nothing was read.
#[test]
fn sigterm_stops_a_read_waiting_for_a_fifo_writer() {
    let dir = fifo_dir("fifo-open");
    let child = start_read(&dir.join("in.pcap"), &dir.join("logs"), &[]);
    std::thread::sleep(Duration::from_millis(200));
    let o = sigterm_and_wait(child);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    assert!(err.contains("nothing was read"), "{err}");
}
