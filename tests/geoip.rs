//! GeoIP/ASN enrichment end to end: small MaxMind databases are built here
//! with the `mmdb-writer` crate (values chosen by the test), connscope runs
//! on the project's captures with `--geoip-db`/`--asn-db`, and conn.log must
//! be the expected conn.log (`pcaps/NAME.conn.json`, written by
//! `pcaps/gen.py`) with exactly the GeoIP/ASN fields of the non-local
//! endpoints appended; bad databases stop the run with an error naming the
//! file, before any log is written.

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{Value, Writer};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connscope-geoip-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn city(cc: &str, name: &str) -> Value {
    Value::map([
        ("country", Value::map([("iso_code", Value::from(cc))])),
        (
            "city",
            Value::map([("names", Value::map([("en", Value::from(name))]))]),
        ),
        (
            "location",
            Value::map([
                ("latitude", Value::from(42.25)),
                ("longitude", Value::from(-71.5)),
            ]),
        ),
    ])
}

/// City: 93.184.216.0/24 US Norwell, 2606:2800::/32 US Los Angeles,
/// 10.0.0.0/8 XX Private. ASN: 93.184.216.0/24 and 2606:2800::/32
/// AS15133 "Edgecast Inc.", 10.0.0.0/8 AS64512 "Private".
fn databases(dir: &Path) -> (PathBuf, PathBuf) {
    let mut c = Writer::new("GeoLite2-City");
    c.insert_value(net("93.184.216.0/24"), city("US", "Norwell"))
        .unwrap();
    c.insert_value(net("2606:2800::/32"), city("US", "Los Angeles"))
        .unwrap();
    c.insert_value(net("10.0.0.0/8"), city("XX", "Private"))
        .unwrap();
    let mut a = Writer::new("GeoLite2-ASN");
    let edgecast = Value::map([
        ("autonomous_system_number", Value::from(15133u32)),
        (
            "autonomous_system_organization",
            Value::from("Edgecast Inc."),
        ),
    ]);
    a.insert_value(net("93.184.216.0/24"), edgecast.clone())
        .unwrap();
    a.insert_value(net("2606:2800::/32"), edgecast).unwrap();
    a.insert_value(
        net("10.0.0.0/8"),
        Value::map([
            ("autonomous_system_number", Value::from(64512u32)),
            ("autonomous_system_organization", Value::from("Private")),
        ]),
    )
    .unwrap();
    let (cp, ap) = (dir.join("city.mmdb"), dir.join("asn.mmdb"));
    std::fs::write(&cp, c.to_bytes().unwrap()).unwrap();
    std::fs::write(&ap, a.to_bytes().unwrap()).unwrap();
    (cp, ap)
}

fn run(pcap: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connscope"))
        .arg("read")
        .arg("-r")
        .arg(root().join("pcaps").join(pcap))
        .arg("-w")
        .arg(out)
        .arg("-q")
        .args(extra)
        .output()
        .expect("run connscope")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "connscope failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The expected conn.log lines of `pcaps/NAME.conn.json` with `suffix(line)`
/// inserted before each closing brace.
fn expected(name: &str, suffix: &dyn Fn(&str) -> String) -> Vec<String> {
    std::fs::read_to_string(root().join(format!("pcaps/{name}.conn.json")))
        .unwrap()
        .lines()
        .map(|l| format!("{}{}}}", &l[..l.len() - 1], suffix(l)))
        .collect()
}

#[test]
fn conn_log_json_gets_the_fields_of_non_local_endpoints() {
    let dir = tmpdir("json");
    let (city, asn) = databases(&dir);
    let (c, a) = (city.to_str().unwrap(), asn.to_str().unwrap());
    let out = dir.join("tcp");
    ok(&run(
        "tcp_states.pcap",
        &out,
        &["--geoip-db", c, "--asn-db", a],
    ));
    // Every originator is local (10.0.0.0/8: no fields, although the
    // databases know it); responders are 93.184.216.34 or local
    // 192.168.1.10.
    let remote = |l: &str| l.contains("\"id.resp_h\":\"93.184.216.34\"");
    let want = expected("tcp_states", &|l| {
        if remote(l) {
            r#","resp_cc":"US","resp_city":"Norwell","resp_asn":15133,"resp_as_org":"Edgecast Inc.""#
                .to_string()
        } else {
            String::new()
        }
    });
    assert_eq!(want.iter().filter(|l| remote(l)).count(), 10);
    let got = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);

    // IPv6: the remote responder is enriched, the all-local pair is not.
    let out6 = dir.join("v6");
    ok(&run("ipv6.pcap", &out6, &["--geoip-db", c, "--asn-db", a]));
    let want = expected("ipv6", &|l| {
        if l.contains("\"id.resp_h\":\"2606:2800:220:1::1\"") {
            r#","resp_cc":"US","resp_city":"Los Angeles","resp_asn":15133,"resp_as_org":"Edgecast Inc.""#.to_string()
        } else {
            String::new()
        }
    });
    let got = std::fs::read_to_string(out6.join("conn.log")).unwrap();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);

    // Only an ASN database: only its columns.
    let out_a = dir.join("asn-only");
    ok(&run("tcp_states.pcap", &out_a, &["--asn-db", a]));
    let want = expected("tcp_states", &|l| {
        if remote(l) {
            r#","resp_asn":15133,"resp_as_org":"Edgecast Inc.""#.to_string()
        } else {
            String::new()
        }
    });
    let got = std::fs::read_to_string(out_a.join("conn.log")).unwrap();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn conn_log_tsv_columns_and_local_nets() {
    let dir = tmpdir("tsv");
    let (city, asn) = databases(&dir);
    let (c, a) = (city.to_str().unwrap(), asn.to_str().unwrap());
    let out = dir.join("tsv");
    ok(&run(
        "tcp_states.pcap",
        &out,
        &["--format", "tsv", "--geoip-db", c, "--asn-db", a],
    ));
    let log = std::fs::read_to_string(out.join("conn.log")).unwrap();
    let line = |p: &str| log.lines().find(|l| l.starts_with(p)).unwrap().to_string();
    let fields: Vec<String> = line("#fields\t").split('\t').map(String::from).collect();
    let types: Vec<String> = line("#types\t").split('\t').map(String::from).collect();
    assert_eq!(
        fields[fields.len() - 8..].join(" "),
        "orig_cc resp_cc orig_city resp_city orig_asn resp_asn orig_as_org resp_as_org"
    );
    assert_eq!(
        types[types.len() - 8..].join(" "),
        "string string string string count count string string"
    );
    assert_eq!(fields[fields.len() - 9], "ip_proto");
    let rows: Vec<&str> = log.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 13);
    for r in &rows {
        let v: Vec<&str> = r.split('\t').collect();
        assert_eq!(v.len(), fields.len() - 1, "{r}");
        let want = if v[4] == "93.184.216.34" {
            "-|US|-|Norwell|-|15133|-|Edgecast Inc."
        } else {
            assert_eq!(v[4], "192.168.1.10");
            "-|-|-|-|-|-|-|-"
        };
        assert_eq!(v[v.len() - 8..].join("|"), want, "{r}");
    }

    // Without the private address space as local, 10.0.0.0/8 is looked up;
    // with it added back through --local-nets it is not.
    let out2 = dir.join("nolocal");
    ok(&run(
        "tcp_states.pcap",
        &out2,
        &["--format", "tsv", "--no-private-local", "--geoip-db", c],
    ));
    let log2 = std::fs::read_to_string(out2.join("conn.log")).unwrap();
    for r in log2.lines().filter(|l| !l.starts_with('#')) {
        let v: Vec<&str> = r.split('\t').collect();
        let want = if v[4] == "93.184.216.34" {
            "XX|US|Private|Norwell"
        } else {
            "XX|-|Private|-" // 192.168.1.10: looked up, not in the database
        };
        assert_eq!(v[v.len() - 4..].join("|"), want, "{r}");
    }
    let out3 = dir.join("localnets");
    ok(&run(
        "tcp_states.pcap",
        &out3,
        &[
            "--format",
            "tsv",
            "--no-private-local",
            "--local-nets",
            "10.0.0.0/24",
            "--geoip-db",
            c,
        ],
    ));
    let log3 = std::fs::read_to_string(out3.join("conn.log")).unwrap();
    for r in log3.lines().filter(|l| !l.starts_with('#')) {
        let v: Vec<&str> = r.split('\t').collect();
        let want = if v[4] == "93.184.216.34" {
            "-|US|-|Norwell"
        } else {
            "-|-|-|-"
        };
        assert_eq!(v[v.len() - 4..].join("|"), want, "{r}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_databases_stop_the_run_naming_the_file() {
    let dir = tmpdir("bad");
    let (city, asn) = databases(&dir);
    let junk = dir.join("junk.mmdb");
    std::fs::write(&junk, b"\xab\xcd\xefMaxMind.com but nothing else").unwrap();
    let cut = dir.join("cut.mmdb");
    let bytes = std::fs::read(&city).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let missing = dir.join("missing.mmdb");
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (
            vec!["--geoip-db", missing.to_str().unwrap()],
            &missing,
            "No such file",
        ),
        (
            vec!["--geoip-db", junk.to_str().unwrap()],
            &junk,
            "not a usable MaxMind database",
        ),
        (
            vec!["--asn-db", cut.to_str().unwrap()],
            &cut,
            "not a usable MaxMind database",
        ),
        (
            vec!["--geoip-db", asn.to_str().unwrap()],
            &asn,
            "give it to --asn-db",
        ),
    ];
    for (i, (args, file, why)) in cases.iter().enumerate() {
        let out = dir.join(format!("out{i}"));
        let o = run("tcp_states.pcap", &out, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(file.to_str().unwrap()), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(
            !out.join("conn.log").exists(),
            "{args:?}: a log was written"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A capture of one SYN sweep: `scanner` sends a SYN to port 22 of 25 hosts
/// 10.1.0.1-25, 10 ms apart, none answered (checksums zero: read with -C).
fn sweep_pcap(path: &Path, scanner: [u8; 4]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..25u8 {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
        // IPv4, 40 bytes, TTL 64, TCP.
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&scanner);
        f.extend_from_slice(&[10, 1, 0, i + 1]);
        let sport = 45000u16 + u16::from(i);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&22u16.to_be_bytes());
        f.extend_from_slice(&777u32.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        let us = 10_000 * u32::from(i);
        out.extend_from_slice(&1_704_067_230u32.to_le_bytes());
        out.extend_from_slice(&us.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn notices_get_the_remote_location_of_a_non_local_src() {
    let dir = tmpdir("notice");
    let (city, _) = databases(&dir);
    let c = city.to_str().unwrap();
    let mut db = Writer::new("GeoLite2-City");
    db.insert_value(net("81.2.69.0/24"), city_with_region("GB", "ENG", "London"))
        .unwrap();
    let london = dir.join("london.mmdb");
    std::fs::write(&london, db.to_bytes().unwrap()).unwrap();

    // A remote scanner: remote_location is its own.
    let remote = dir.join("remote.pcap");
    sweep_pcap(&remote, [81, 2, 69, 160]);
    let out = dir.join("remote");
    let o = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args(["read", "-q", "-C", "--detect", "--geoip-db"])
        .arg(&london)
        .arg("-r")
        .arg(&remote)
        .arg("-w")
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let notices = std::fs::read_to_string(out.join("notice.log")).unwrap();
    let scan: serde_json::Value = notices
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|n| n["note"] == "ConnScope::Scan")
        .expect("a ConnScope::Scan notice");
    assert_eq!(scan["src"], "81.2.69.160");
    assert_eq!(scan["remote_location.country_code"], "GB");
    assert_eq!(scan["remote_location.region"], "ENG");
    assert_eq!(scan["remote_location.city"], "London");
    assert_eq!(scan["remote_location.latitude"], 51.5);
    assert_eq!(scan["remote_location.longitude"], -0.125);
    // The keys follow suppress_for, as Zeek writes them.
    let line = notices
        .lines()
        .find(|l| l.contains("ConnScope::Scan"))
        .unwrap();
    assert!(
        line.contains(",\"suppress_for\":3600.0,\"remote_location.country_code\":\"GB\""),
        "{line}"
    );
    // conn.log: the scanner is the non-local originator.
    let conn = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert_eq!(conn.lines().count(), 25);
    assert!(conn
        .lines()
        .all(|l| l.ends_with(",\"orig_cc\":\"GB\",\"orig_city\":\"London\"}")));

    // A local scanner and no dst: no remote_location (TSV: five `-`).
    let local = dir.join("local.pcap");
    sweep_pcap(&local, [10, 0, 0, 66]);
    let out = dir.join("local");
    let o = Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args([
            "read",
            "-q",
            "-C",
            "--detect",
            "--format",
            "tsv",
            "--geoip-db",
            c,
        ])
        .arg("-r")
        .arg(&local)
        .arg("-w")
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let notices = std::fs::read_to_string(out.join("notice.log")).unwrap();
    let fields = notices.lines().find(|l| l.starts_with("#fields")).unwrap();
    assert!(
        fields.ends_with("suppress_for\tremote_location.country_code\tremote_location.region\tremote_location.city\tremote_location.latitude\tremote_location.longitude"),
        "{fields}"
    );
    let types = notices.lines().find(|l| l.starts_with("#types")).unwrap();
    assert!(
        types.ends_with("interval\tstring\tstring\tstring\tdouble\tdouble"),
        "{types}"
    );
    let row = notices
        .lines()
        .find(|l| l.contains("ConnScope::Scan"))
        .expect("a ConnScope::Scan notice");
    assert!(row.ends_with("\t3600.000000\t-\t-\t-\t-\t-"), "{row}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn city_with_region(cc: &str, region: &str, name: &str) -> Value {
    Value::map([
        ("country", Value::map([("iso_code", Value::from(cc))])),
        (
            "subdivisions",
            Value::array([Value::map([("iso_code", Value::from(region))])]),
        ),
        (
            "city",
            Value::map([("names", Value::map([("en", Value::from(name))]))]),
        ),
        (
            "location",
            Value::map([
                ("latitude", Value::from(51.5)),
                ("longitude", Value::from(-0.125)),
            ]),
        ),
    ])
}
