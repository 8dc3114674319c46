//! End-to-end tests over the project's own captures in `pcaps/`.
//!
//! Each `pcaps/NAME.pcap` has `pcaps/NAME.conn.json`, written by
//! `pcaps/gen.py` from its own model of Zeek's rules (SEMANTICS.md) and checked
//! against hand-written expectations — not captured from connscope. The
//! connscope output must match byte for byte (fixed seed 0).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-e2e-{}-{}", std::process::id(), name));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(pcap: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .arg("-r")
        .arg(pcap)
        .arg("-w")
        .arg(out)
        .args(extra)
        .output()
        .expect("run connscope")
}

fn captures() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("pcaps"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "pcap")
                .then(|| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        })
        .filter(|(n, _)| root().join(format!("pcaps/{n}.conn.json")).exists())
        .collect();
    v.sort();
    assert!(
        v.len() >= 10,
        "expected the generated captures in pcaps/ (run pcaps/gen.py)"
    );
    v
}

#[test]
fn conn_log_matches_expected_byte_for_byte() {
    let mut failures = Vec::new();
    for (name, pcap) in captures() {
        let out = tmpdir(&name);
        let r = run(&pcap, &out, &["-q"]);
        let expect_code = if name == "truncated" { 2 } else { 0 };
        assert_eq!(
            r.status.code(),
            Some(expect_code),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let got = std::fs::read_to_string(out.join("conn.log")).unwrap();
        let want = std::fs::read_to_string(root().join(format!("pcaps/{name}.conn.json"))).unwrap();
        if got != want {
            failures.push(format!("{name}:\n--- expected\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truncated_capture_names_file_offset_and_reason() {
    let pcap = root().join("pcaps/truncated.pcap");
    let out = tmpdir("trunc-msg");
    let r = run(&pcap, &out, &[]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    let want = std::fs::read_to_string(root().join("pcaps/truncated.expected-error.txt")).unwrap();
    assert!(err.contains("truncated.pcap"), "{err}");
    assert!(err.contains(want.trim()), "stderr {err:?} lacks {want:?}");
    assert!(err.contains("truncated"), "{err}");
}

/// `--timeout` is Zeek's `redef udp_inactivity_timeout = 1 hr;`: in
/// `pcaps/timeout.pcap` the UDP pair 40101 -> 4211 is quiet for 70 s
/// between two exchanges (`pcaps/README.md`), two records under Zeek's
/// default 60 s and one record of 70.5 s with 2/2 packets under an hour.
#[test]
fn zeek_timeouts_can_be_set() {
    let udp_4211 = |dir: &Path| -> Vec<(String, u64, u64)> {
        std::fs::read_to_string(dir.join("conn.log"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["id.resp_p"] == 4211)
            .map(|r| {
                (
                    format!("{}", r["duration"]),
                    r["orig_pkts"].as_u64().unwrap(),
                    r["resp_pkts"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let pcap = root().join("pcaps/timeout.pcap");
    let default = tmpdir("timeout-default");
    assert!(run(&pcap, &default, &["-q"]).status.success());
    assert_eq!(
        udp_4211(&default),
        [("0.5".to_string(), 1, 1), ("0.5".to_string(), 1, 1)]
    );
    let hour = tmpdir("timeout-hour");
    let r = run(
        &pcap,
        &hour,
        &["-q", "--timeout", "udp_inactivity_timeout=1 hr"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(udp_4211(&hour), [("70.5".to_string(), 2, 2)]);
    // A name Zeek does not have, or a value that is no interval: a clear error.
    for bad in ["udp_timeout=5", "udp_inactivity_timeout=soon"] {
        let r = run(&pcap, &hour, &["-q", "--timeout", bad]);
        assert_eq!(r.status.code(), Some(1));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(bad), "{err}");
    }
}

#[test]
fn not_a_capture_is_a_clear_error() {
    let out = tmpdir("notcap");
    let bogus = out.join("bogus.pcap");
    std::fs::write(&bogus, b"this is not a capture file at all").unwrap();
    let r = run(&bogus, &out, &[]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("bogus.pcap")
            && err.contains("not a pcap or pcapng file")
            && err.contains("offset 0"),
        "{err}"
    );
}

#[test]
fn live_refuses_a_capture_file() {
    // `live` shares `read`'s options; -r / --read must not be accepted and
    // ignored. Refused before anything is set up: no log directory, no capture.
    for flag in ["-r", "--read"] {
        let out = tmpdir("live-r").join("logs");
        let r = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .args(["live", "-i", "lo", flag, "pcaps/udp.pcap", "-w"])
            .arg(&out)
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(1), "{flag}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains("does not read files (-r pcaps/udp.pcap)"),
            "{flag}: {err}"
        );
        assert!(!out.exists(), "{flag}: the log directory was created");
    }
}

fn sorted_lines(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn workers_give_the_same_records() {
    for (name, pcap) in captures() {
        let one = tmpdir(&format!("{name}-j1"));
        let two = tmpdir(&format!("{name}-j3"));
        run(&pcap, &one, &["-q", "-j", "1"]);
        run(&pcap, &two, &["-q", "-j", "3"]);
        assert_eq!(
            sorted_lines(&one.join("conn.log")),
            sorted_lines(&two.join("conn.log")),
            "{name}"
        );
    }
}

#[test]
fn tsv_has_zeek_header_and_same_records() {
    let pcap = root().join("pcaps/tcp_states.pcap");
    let out = tmpdir("tsv");
    let r = run(&pcap, &out, &["-q", "--format", "tsv"]);
    assert!(r.status.success());
    let tsv = std::fs::read_to_string(out.join("conn.log")).unwrap();
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines[0], "#separator \\x09");
    assert_eq!(lines[1], "#set_separator\t,");
    assert_eq!(lines[2], "#empty_field\t(empty)");
    assert_eq!(lines[3], "#unset_field\t-");
    assert_eq!(lines[4], "#path\tconn");
    assert!(
        lines[5].starts_with("#open\t2024-01-01-00-00-00"),
        "{}",
        lines[5]
    );
    assert_eq!(lines[6], "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto");
    assert_eq!(lines[7], "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount");
    assert!(lines.last().unwrap().starts_with("#close\t"));
    // Same records as the JSON expectation, field by field.
    let want: Vec<serde_json::Value> =
        std::fs::read_to_string(root().join("pcaps/tcp_states.conn.json"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), want.len());
    for (row, w) in rows.iter().zip(&want) {
        assert_eq!(row[1], w["uid"].as_str().unwrap());
        assert_eq!(row[11], w["conn_state"].as_str().unwrap());
        assert_eq!(row[15], w["history"].as_str().unwrap_or("-"));
        assert_eq!(row[16], w["orig_pkts"].to_string());
        let ts = w["ts"].as_f64().unwrap();
        assert_eq!(row[0], format!("{ts:.6}"));
        match w.get("duration") {
            Some(d) => assert_eq!(row[8], format!("{:.6}", d.as_f64().unwrap())),
            None => assert_eq!(row[8], "-"),
        }
    }
}

/// Classic names: `conn.<open>.log` beside the live conn.log, one per period.
#[test]
fn date_named_rotation_adds_up_too() {
    let pcap = root().join("pcaps/timeout.pcap");
    let plain = tmpdir("rotd-plain");
    run(&pcap, &plain, &["-q"]);
    let out = tmpdir("rotd");
    let r = run(
        &pcap,
        &out,
        &["-q", "--rotate-interval", "20", "--rotate-naming", "date"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut union = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stamp) = name
            .strip_prefix("conn.")
            .and_then(|s| s.strip_suffix(".log"))
        else {
            continue;
        };
        // %Y-%m-%d-%H-%M-%S
        assert_eq!(stamp.len(), 19, "{name}");
        assert_eq!(stamp.matches('-').count(), 5, "{name}");
        n += 1;
        union.extend(
            std::fs::read_to_string(out.join(&name))
                .unwrap()
                .lines()
                .map(String::from),
        );
    }
    assert!(n >= 2, "expected several periods, got {n}");
    union.sort();
    assert_eq!(union, sorted_lines(&plain.join("conn.log")));
}

#[test]
fn rotated_logs_add_up_to_an_unrotated_run() {
    let pcap = root().join("pcaps/timeout.pcap");
    let plain = tmpdir("rot-plain");
    run(&pcap, &plain, &["-q"]);
    for (j, fmt) in [("1", "json"), ("2", "json"), ("1", "tsv")] {
        let out = tmpdir(&format!("rot-{j}-{fmt}"));
        let r = run(
            &pcap,
            &out,
            &["-q", "-j", j, "--format", fmt, "--rotate-interval", "20"],
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert!(
            !out.join("conn.log").exists(),
            "conn.log should have been rotated away"
        );
        let mut rotated: Vec<PathBuf> = std::fs::read_dir(out.join("log-queue"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("conn__")
            })
            .collect();
        rotated.sort();
        assert!(
            rotated.len() >= 2,
            "expected several periods, got {rotated:?}"
        );
        let mut union = Vec::new();
        for f in &rotated {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.ends_with("__.log") && name.matches("__").count() == 3,
                "{name}"
            );
            let text = std::fs::read_to_string(f).unwrap();
            if fmt == "tsv" {
                assert!(text.starts_with("#separator"), "{name}");
                assert!(
                    text.trim_end()
                        .lines()
                        .last()
                        .unwrap()
                        .starts_with("#close\t"),
                    "{name}"
                );
            }
            union.extend(
                text.lines()
                    .filter(|l| !l.starts_with('#'))
                    .map(String::from),
            );
        }
        union.sort();
        if fmt == "json" {
            assert_eq!(union, sorted_lines(&plain.join("conn.log")), "-j {j}");
        } else {
            assert_eq!(union.len(), sorted_lines(&plain.join("conn.log")).len());
        }
    }
}
