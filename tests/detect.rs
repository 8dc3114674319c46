//! End-to-end detection: train -> read -> eval on the labelled datasets in
//! `../shared/datasets/` (skipped, with a message, when they are not
//! there), and the model-file path on the project's own captures.
//!
//! The connection-level figures are checked against the best offline
//! detector on the same data and protocol (the issue's reference table);
//! the host-level ones against the dataset's schedule and host labels.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn datasets() -> Option<PathBuf> {
    let d = root().join("../shared/datasets");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "SKIPPED: {} is not present; the detection figures need the shared datasets",
            d.display()
        );
        None
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-detect-{}-{}", std::process::id(), name));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn connscope(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args(args)
        .output()
        .expect("run connscope");
    assert!(
        out.status.success(),
        "connscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `connscope read -r PCAP -w DIR -q EXTRA...`.
fn read(pcap: &Path, dir: &Path, extra: &[&str]) {
    let mut args = vec!["read", "-r", s(pcap), "-w", s(dir), "-q"];
    args.extend_from_slice(extra);
    connscope(&args);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The first packet's time of a classic pcap (seconds).
fn first_packet_time(pcap: &Path) -> f64 {
    let b = std::fs::read(pcap).unwrap();
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let frac = if magic == 0xa1b2_3c4d { 1e9 } else { 1e6 };
    let sec = u32::from_le_bytes(b[24..28].try_into().unwrap()) as f64;
    let sub = u32::from_le_bytes(b[28..32].try_into().unwrap()) as f64;
    sec + sub / frac
}

fn eval(dir: &Path, ds: &Path, extra: &[&str]) -> Value {
    let json = dir.join("eval.json");
    let labels = ds.join("labels.csv");
    let mut args = vec![
        "eval",
        "--logs",
        s(dir),
        "--labels",
        s(&labels),
        "--json",
        s(&json),
    ];
    args.extend_from_slice(extra);
    let out = connscope(&args);
    println!("{}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn detector<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["connection"]["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no detector {name}"))
}

fn fig(v: &Value, name: &str, key: &str) -> f64 {
    detector(v, name)[key].as_f64().unwrap_or(0.0)
}

/// The expected-notice result for `TYPE:ADDR`.
fn expected<'a>(v: &'a Value, note: &str, addr: &str) -> &'a Value {
    v["expected_notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["note"] == note && e["addrs"][0] == addr)
        .unwrap()
}

#[test]
fn lab_public_connection_and_host_level() {
    let Some(d) = datasets() else { return };
    let ds = d.join("lab-public");
    let pcap = ds.join("lab-public.pcap");
    let until = format!("{:.6}", first_packet_time(&pcap) + 210.0);
    let dir = tmpdir("lab");
    let model = dir.join("model.json");
    read(
        &pcap,
        &dir,
        &["--train-until", &until, "--save-model", s(&model)],
    );
    let hosts = ds.join("hosts.csv");
    let sched = ds.join("schedule.json");
    let v = eval(
        &dir,
        &ds,
        &[
            "--hosts",
            s(&hosts),
            "--schedule",
            s(&sched),
            "--train-until",
            &until,
        ],
    );
    // Reference: best offline detector 0.992 / 0.932.
    let auc = fig(&v, "score", "roc_auc");
    let rec = fig(&v, "score", "recall_at_1pct_fpr");
    assert!(auc >= 0.992, "ROC-AUC {auc}");
    assert!(rec >= 0.932, "recall at 1% FPR {rec}");
    // Every attack run gets a notice of its type naming the acting host
    // (beacon and DNS tunnel: both ends) within [start - 1, end + 120].
    for a in v["attacks"].as_array().unwrap() {
        assert_eq!(a["detected"], true, "attack not detected: {a}");
    }
    // No notice names only benign hosts (the 60 s health poll is not a beacon).
    assert_eq!(v["benign_flagged"]["count"], 0, "{}", v["benign_flagged"]);
    // The model learned on the prefix reads back and is the one scored with.
    let text = std::fs::read_to_string(&model).unwrap();
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["format"], "connscope-model");
    assert!(m["trained"]["samples"].as_u64().unwrap() > 100);
}

#[test]
fn hakai_beacon_pair_and_connection_scores() {
    let Some(d) = datasets() else { return };
    let ds = d.join("iot23-hakai-8-1");
    let pcap = ds.join("iot23-hakai-8-1.pcap");
    let dir = tmpdir("hakai");
    read(&pcap, &dir, &["--train-seconds", "3600"]);
    let v = eval(
        &dir,
        &ds,
        &["--expect-notice", "ConnScope::Beacon:192.168.100.113"],
    );
    // Reference: 1.000 / 1.000.
    assert!(fig(&v, "score", "roc_auc") >= 0.999);
    assert!(fig(&v, "score", "recall_at_1pct_fpr") >= 0.999);
    let e = expected(&v, "ConnScope::Beacon", "192.168.100.113");
    assert_eq!(e["found"], true, "{e}");
    let peers: Vec<&str> = e["peers_named"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        peers.contains(&"178.128.185.250") || peers.contains(&"128.185.250.50"),
        "the beacon notice names a C&C address: {peers:?}"
    );
    assert!(
        peers
            .iter()
            .all(|p| *p == "178.128.185.250" || *p == "128.185.250.50"),
        "only the C&C pair is a beacon: {peers:?}"
    );
}

#[test]
fn hideandseek_scanner_is_flagged() {
    let Some(d) = datasets() else { return };
    let ds = d.join("hideandseek-short");
    let pcap = ds.join("hideandseek-short.pcap");
    let dir = tmpdir("hns");
    read(&pcap, &dir, &["--train-seconds", "480"]);
    let v = eval(
        &dir,
        &ds,
        &["--expect-notice", "ConnScope::Scan:192.168.2.16"],
    );
    assert_eq!(
        expected(&v, "ConnScope::Scan", "192.168.2.16")["found"],
        true
    );
    // Reference: best offline detector 0.878 / 0.010. With 32 benign test
    // rows one benign row is 3.1 % FPR; the combined score reaches about
    // 0.87-0.88 ROC-AUC depending on the seed (see README), and beats the
    // reference recall.
    let auc = fig(&v, "score", "roc_auc");
    let rec = fig(&v, "score", "recall_at_1pct_fpr");
    assert!(auc >= 0.86, "ROC-AUC {auc}");
    assert!(rec >= 0.010, "recall at 1% FPR {rec}");
    // The bot's probes to non-public addresses (labelled benign) are the
    // same samples as its probes elsewhere: eval counts the tied pairs and
    // the ROC-AUC they leave any scorer, which no detector exceeds.
    let tie = &v["connection"]["indistinguishable"];
    let ceiling = tie["roc_auc_ceiling"].as_f64().unwrap_or(0.0);
    assert!(tie["tied_pairs"].as_u64().unwrap_or(0) > 0, "{tie}");
    assert!(ceiling < 0.95, "{tie}");
    for d in ["robust", "iforest", "ecod", "autoencoder", "score"] {
        let a = fig(&v, d, "roc_auc");
        assert!(
            a <= ceiling + 1e-12,
            "{d}: ROC-AUC {a} above the ceiling {ceiling}"
        );
    }
}

#[test]
fn train_then_score_with_a_model_file() {
    let pcaps = root().join("pcaps");
    let dir = tmpdir("model");
    let model = dir.join("model.json");
    let train_logs = dir.join("train");
    std::fs::create_dir_all(&train_logs).unwrap();
    connscope(&[
        "train",
        "-r",
        s(&pcaps.join("tcp_states.pcap")),
        "-w",
        s(&train_logs),
        "-o",
        s(&model),
        "-q",
    ]);
    let logs = dir.join("read");
    connscope(&[
        "read",
        "-r",
        s(&pcaps.join("udp.pcap")),
        "-w",
        s(&logs),
        "-q",
        "--model",
        s(&model),
    ]);
    let conns = std::fs::read_to_string(logs.join("conn.log")).unwrap();
    let scores = std::fs::read_to_string(logs.join("score.log")).unwrap();
    // Every connection is scored, keyed by uid.
    let uids = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = t
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["uid"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(uids(&conns), uids(&scores));
    for l in scores.lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        for k in ["robust", "iforest", "ecod", "autoencoder", "score"] {
            assert!(r[k].as_f64().unwrap().is_finite(), "{k} in {l}");
        }
    }
    // A corrupt or foreign model is refused with a message naming the file.
    for (name, body) in [
        ("corrupt.json", "{\"format\": \"connscope-model\", \"vers"),
        ("foreign.json", "{\"format\": \"other\", \"version\": 1}"),
        (
            "future.json",
            "{\"format\": \"connscope-model\", \"version\": 99}",
        ),
    ] {
        let bad = dir.join(name);
        std::fs::write(&bad, body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .args([
                "read",
                "-r",
                s(&pcaps.join("udp.pcap")),
                "-w",
                s(&logs),
                "-q",
                "--model",
                s(&bad),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn scores_and_notices_do_not_depend_on_worker_count() {
    let Some(d) = datasets() else { return };
    let pcap = d.join("lab-public/lab-public.pcap");
    let until = format!("{:.6}", first_packet_time(&pcap) + 210.0);
    let mut logs = Vec::new();
    for j in ["1", "2"] {
        let dir = tmpdir(&format!("j{j}"));
        read(&pcap, &dir, &["-j", j, "--train-until", &until]);
        logs.push(dir);
    }
    for f in ["score.log", "notice.log"] {
        let a = std::fs::read(logs[0].join(f)).unwrap();
        let b = std::fs::read(logs[1].join(f)).unwrap();
        assert!(a == b, "{f} differs between -j 1 and -j 2");
    }
}
