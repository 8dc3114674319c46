//! dns.log and conn.log names end to end on `pcaps/dns.pcap` (made by
//! `pcaps/gen_dns.py`, whose expected dns.log rows, `pcaps/dns.dns.json`,
//! are written by hand from Zeek's rules): the rows, both formats, the
//! policy columns, `--no-dns-log`, and `--conn-names` with one and two
//! workers.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-dnslog-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(out: &Path, extra: &[&str]) {
    let r = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .arg("-r")
        .arg(root().join("pcaps/dns.pcap"))
        .arg("-w")
        .arg(out)
        .arg("-q")
        .args(extra)
        .output()
        .expect("run connscope");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

fn sorted_lines(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn dns_log_rows_match_zeek_rules() {
    let out = tmpdir("json");
    run(&out, &[]);
    let want = sorted_lines(&root().join("pcaps/dns.dns.json"));
    assert_eq!(want.len(), 8);
    assert_eq!(sorted_lines(&out.join("dns.log")), want);
    // No names columns unless asked for.
    let conn = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert!(!conn.contains("orig_name") && !conn.contains("resp_name"));
}

#[test]
fn tsv_header_and_policy_columns() {
    let out = tmpdir("tsv");
    run(
        &out,
        &["--format", "tsv", "--dns-auth-addl", "--dns-original-query"],
    );
    let text = std::fs::read_to_string(out.join("dns.log")).unwrap();
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .unwrap()
        .split('\t')
        .collect();
    let types: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#types\t"))
        .unwrap()
        .split('\t')
        .collect();
    assert_eq!(
        fields[..9],
        [
            "ts",
            "uid",
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "proto",
            "trans_id",
            "rtt"
        ]
    );
    assert_eq!(
        fields[fields.len() - 5..],
        ["opcode", "opcode_name", "auth", "addl", "original_query"]
    );
    assert_eq!(types[21..23], ["vector[string]", "vector[interval]"]);
    assert!(text.contains("#path\tdns\n"));
    // The TCP row: the TXT answer, and the question in its original case.
    let tcp = text
        .lines()
        .find(|l| l.contains("\ttcp\t"))
        .expect("the TCP DNS row");
    let f: Vec<&str> = tcp.split('\t').collect();
    assert_eq!(f[8], "0.000600");
    assert_eq!(f[21], "TXT 11 v=spf1 -all TXT 11 hello world");
    assert_eq!(f[22], "60.000000");
    assert_eq!(f[f.len() - 1], "txt.example.com");
    // The CNAME query's original case; its authority NS is in `auth`.
    let a = text.lines().find(|l| l.contains("\t4097\t")).unwrap();
    let f: Vec<&str> = a.split('\t').collect();
    assert_eq!(f[f.len() - 1], "Www.Example.COM");
    assert_eq!(f[f.len() - 3], "ns1.example.net");
    assert_eq!(f[f.len() - 2], "-", "the OPT record is not logged");
}

#[test]
fn no_dns_log_option() {
    let out = tmpdir("off");
    run(&out, &["--no-dns-log"]);
    assert!(!out.join("dns.log").exists());
    assert!(out.join("conn.log").exists());
    // Names still come from DNS answers without dns.log.
    let names_only = tmpdir("off-names");
    run(&names_only, &["--no-dns-log", "--conn-names"]);
    assert!(!names_only.join("dns.log").exists());
    let conn = std::fs::read_to_string(names_only.join("conn.log")).unwrap();
    assert!(conn.contains("\"resp_name\":[\"www.example.com\"]"));
}

/// `orig_name` / `resp_name` of a conn.log JSON line.
fn names(line: &str) -> (Vec<String>, Vec<String>) {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let get = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    (get("orig_name"), get("resp_name"))
}

#[test]
fn conn_names_from_dns_answers_same_for_any_worker_count() {
    let one = tmpdir("names1");
    run(&one, &["--conn-names"]);
    let conn = std::fs::read_to_string(one.join("conn.log")).unwrap();
    let by = |needle: &str| {
        names(
            conn.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no conn with {needle}")),
        )
    };
    let none: Vec<String> = Vec::new();
    // Resolved by the A answers (name = the question) and by the PTR answer.
    assert_eq!(
        by("\"id.resp_h\":\"93.184.216.34\""),
        (none.clone(), vec!["www.example.com".to_string()])
    );
    // 10.0.0.30 announced itself over mDNS as printer.local.
    assert_eq!(
        by("\"id.resp_h\":\"93.184.216.35\""),
        (
            vec!["printer.local".to_string()],
            vec!["www.example.com".to_string()]
        )
    );
    // The resolver itself was never an answer.
    assert_eq!(by("\"id.orig_p\":40021"), (none.clone(), none));
    // Same conn.log and dns.log (as sets of lines) with two workers.
    let two = tmpdir("names2");
    run(&two, &["--conn-names", "-j", "2"]);
    for log in ["conn.log", "dns.log"] {
        assert_eq!(
            sorted_lines(&one.join(log)),
            sorted_lines(&two.join(log)),
            "{log}"
        );
    }
    // TSV: two set[string] columns at the end.
    let tsv = tmpdir("names-tsv");
    run(&tsv, &["--conn-names", "--format", "tsv"]);
    let text = std::fs::read_to_string(tsv.join("conn.log")).unwrap();
    assert!(text.contains("\torig_name\tresp_name\n"));
    assert!(text.contains("\tset[string]\tset[string]\n"));
    let row = text
        .lines()
        .find(|l| l.contains("\t93.184.216.35\t"))
        .unwrap();
    assert!(row.ends_with("\tprinter.local\twww.example.com"), "{row}");
}
