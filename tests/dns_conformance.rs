//! Zeek dns.log conformance: runs connscope over every case in
//! `../shared/conformance/zeek-dns/cases` (a trace, Zeek's btest script and
//! the dns.log baseline Zeek's test suite stores for it) and compares every
//! record and field with the baseline.
//!
//! The command line comes from the script's first `@TEST-EXEC: zeek ...`
//! line: `-b` (bare mode: only the analyzers of the `@load`ed protocol
//! packages), `-C` (ignore checksums), and the DNS policy scripts it loads
//! (`auth-addl` → `--dns-auth-addl`, `log-original-query-case` →
//! `--dns-original-query`). Records are matched on the 5-tuple, proto and
//! `trans_id` (the baselines mask `ts`, and uids differ between
//! implementations); `set[...]` fields compare as sets. The header's
//! `#fields` / `#types` must be equal too.
//!
//! Skips, saying so, when `../shared` is not beside the repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let s = std::env::var_os("CONNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let d = s.join("conformance/zeek-dns/cases");
    d.is_dir().then_some(d)
}

/// A Zeek TSV log: `#fields`, `#types`, rows.
struct Log {
    fields: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_log(p: &Path) -> Log {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let mut log = Log {
        fields: Vec::new(),
        types: Vec::new(),
        rows: Vec::new(),
    };
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            log.fields = f.split('\t').map(String::from).collect();
        } else if let Some(t) = line.strip_prefix("#types\t") {
            log.types = t.split('\t').map(String::from).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            log.rows.push(line.split('\t').map(String::from).collect());
        }
    }
    log
}

/// connscope options for a btest script.
fn options(case: &str, script: &str) -> Vec<String> {
    let exec = script
        .lines()
        .find_map(|l| {
            let c = l.split("@TEST-EXEC:").nth(1)?.trim();
            (c.starts_with("zeek ") && c.contains(" -r")).then_some(c)
        })
        .unwrap_or("");
    let words: Vec<&str> = exec.split_whitespace().collect();
    let flag = |f: char| {
        words
            .iter()
            .any(|w| w.starts_with('-') && !w.starts_with("--") && w[1..].contains(f))
    };
    // Scripts loaded: @load lines and script paths on the command line.
    let mut loads: Vec<String> = script
        .lines()
        .filter_map(|l| l.trim().strip_prefix("@load "))
        .map(|s| s.trim().to_string())
        .collect();
    loads.extend(
        words
            .iter()
            .filter(|w| w.contains("protocols/") || w.contains("frameworks/"))
            .map(|w| w.to_string()),
    );
    let has = |s: &str| loads.iter().any(|l| l.contains(s));
    let mut args = vec!["--format".into(), "tsv".into(), "-q".into()];
    if flag('C') {
        args.push("-C".into());
    }
    if flag('b') {
        // Each loaded protocol package registers its analyzer and adds its
        // ports to likely_server_ports (`redef likely_server_ports += { ports }`).
        let mut names = Vec::new();
        let mut ports = Vec::new();
        for (pkg, pkg_ports) in [
            ("dns", "53/udp,53/tcp,137/udp,5353/udp,5355/udp"),
            (
                "http",
                "80/tcp,81/tcp,631/tcp,1080/tcp,3128/tcp,8000/tcp,8080/tcp,8888/tcp",
            ),
        ] {
            if has(&format!("protocols/{pkg}")) || case.contains(&format!(".protocols.{pkg}.")) {
                names.push(pkg);
                ports.push(pkg_ports);
            }
        }
        args.push("--mode".into());
        args.push("bare".into());
        args.push("--analyzers".into());
        args.push(names.join(","));
        if !ports.is_empty() {
            args.push("--add-server-ports".into());
            args.push(ports.join(","));
        }
    }
    if has("dns/auth-addl") {
        args.push("--dns-auth-addl".into());
    }
    if has("dns/log-original-query-case") {
        args.push("--dns-original-query".into());
    }
    args
}

/// The matching key: 5-tuple, proto, trans_id.
fn key(fields: &[String], row: &[String]) -> String {
    [
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "trans_id",
    ]
    .iter()
    .map(|k| {
        fields
            .iter()
            .position(|f| f == k)
            .and_then(|i| row.get(i))
            .cloned()
            .unwrap_or_default()
    })
    .collect::<Vec<_>>()
    .join("|")
}

/// A field value as compared: sets sorted.
fn norm(ty: &str, v: &str) -> String {
    if ty.starts_with("set[") && v != "-" && v != "(empty)" {
        let mut e: Vec<&str> = v.split(',').collect();
        e.sort_unstable();
        e.join(",")
    } else {
        v.to_string()
    }
}

#[derive(Default)]
struct Tally {
    base_records: usize,
    got_records: usize,
    equal_records: usize,
    fields: usize,
    equal_fields: usize,
}

fn compare(name: &str, base: &Log, got: &Log, diffs: &mut Vec<String>) -> Tally {
    let mut t = Tally {
        base_records: base.rows.len(),
        got_records: got.rows.len(),
        ..Tally::default()
    };
    if base.fields != got.fields || base.types != got.types {
        diffs.push(format!(
            "{name}: header differs\n  zeek      {:?}\n  connscope {:?}",
            base.fields, got.fields
        ));
    }
    // Compared fields: everything but the masked ts and the uid.
    let cols: Vec<(usize, &str)> = base
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| *f != "ts" && *f != "uid")
        .map(|(i, f)| (i, f.as_str()))
        .collect();
    let mut pool: BTreeMap<String, Vec<&Vec<String>>> = BTreeMap::new();
    for r in &got.rows {
        pool.entry(key(&got.fields, r)).or_default().push(r);
    }
    for b in &base.rows {
        let k = key(&base.fields, b);
        let value = |r: &[String], f: &str| {
            let i = got.fields.iter().position(|g| g == f);
            let ty = base
                .types
                .get(base.fields.iter().position(|x| x == f).unwrap_or(0));
            norm(
                ty.map(String::as_str).unwrap_or(""),
                i.and_then(|i| r.get(i))
                    .map(String::as_str)
                    .unwrap_or("<missing>"),
            )
        };
        let score = |r: &[String]| {
            cols.iter()
                .filter(|(i, f)| {
                    value(r, f)
                        == norm(&base.types[*i], b.get(*i).map(String::as_str).unwrap_or(""))
                })
                .count()
        };
        t.fields += cols.len();
        let cands = pool.entry(k.clone()).or_default();
        let best = (0..cands.len()).max_by_key(|&j| score(cands[j]));
        let Some(j) = best else {
            diffs.push(format!("{name}: no record for {k}"));
            continue;
        };
        let r = cands.remove(j);
        let s = score(r);
        t.equal_fields += s;
        if s == cols.len() {
            t.equal_records += 1;
        } else {
            for (i, f) in &cols {
                let (want, have) = (norm(&base.types[*i], &b[*i]), value(r, f));
                if want != have {
                    diffs.push(format!("{name} {k} {f}: zeek {want:?}, connscope {have:?}"));
                }
            }
        }
    }
    for (k, left) in pool {
        for _ in left {
            diffs.push(format!("{name}: extra record {k}"));
        }
    }
    t
}

#[test]
fn zeek_dns_log_conformance() {
    let Some(dir) = cases_dir() else {
        eprintln!(
            "SKIPPED zeek_dns_log_conformance: ../shared/conformance/zeek-dns/cases not present"
        );
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases in {}", dir.display());
    let out_root = std::env::temp_dir().join(format!("connscope-dns-conf-{}", std::process::id()));
    let mut total = Tally::default();
    let mut diffs = Vec::new();
    eprintln!(
        "{:<52} {:>5} {:>5} {:>6} {:>11}",
        "case", "zeek", "ours", "equal", "fields"
    );
    for name in &names {
        let case = dir.join(name);
        let script = std::fs::read_to_string(case.join("test.zeek")).unwrap_or_default();
        let trace = std::fs::read_dir(&case)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                let n = p.file_name().unwrap_or_default().to_string_lossy();
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".trace")
            })
            .unwrap_or_else(|| panic!("{name}: no trace"));
        let out = out_root.join(name);
        std::fs::create_dir_all(&out).unwrap();
        let args = options(name, &script);
        let r = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .arg("read")
            .arg("-r")
            .arg(&trace)
            .arg("-w")
            .arg(&out)
            .args(&args)
            .output()
            .expect("run connscope");
        assert!(
            matches!(r.status.code(), Some(0 | 2)),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let base = read_log(&case.join("dns.log"));
        let got = read_log(&out.join("dns.log"));
        let t = compare(name, &base, &got, &mut diffs);
        eprintln!(
            "{:<52} {:>5} {:>5} {:>6} {:>5}/{:<5}",
            name, t.base_records, t.got_records, t.equal_records, t.equal_fields, t.fields
        );
        total.base_records += t.base_records;
        total.got_records += t.got_records;
        total.equal_records += t.equal_records;
        total.fields += t.fields;
        total.equal_fields += t.equal_fields;
    }
    let _ = std::fs::remove_dir_all(&out_root);
    eprintln!(
        "{} cases: {}/{} records equal ({} written), {}/{} fields equal",
        names.len(),
        total.equal_records,
        total.base_records,
        total.got_records,
        total.equal_fields,
        total.fields
    );
    for d in &diffs {
        eprintln!("  {d}");
    }
    assert!(
        diffs.is_empty(),
        "{} differences from Zeek's baselines (listed above)",
        diffs.len()
    );
}
