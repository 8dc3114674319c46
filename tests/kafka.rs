//! The Kafka output (`--kafka`) against a real Kafka-protocol broker:
//! `tansu` (a Rust Kafka broker, sqlite storage so data survives a
//! restart), started by the test on a free loopback port in a scratch
//! directory, and read back with Python `confluent-kafka`
//! (`tests/kafka/consume.py`; Debian's kcat 1.7.1 / librdkafka 2.0.2 cannot
//! parse tansu's ApiVersions reply).
//!
//! * every row of every log of the project's pcaps reaches Kafka, byte for
//!   byte the JSON line of the file, in file order: one topic per log (bare
//!   records), one topic with zeek-kafka's `{"<log>": {...}}` records, and
//!   TSV files with `--kafka-logs` (the records are still JSON);
//! * the broker is killed in the middle of a run (the sensor reads a FIFO
//!   the test feeds in parts) and restarted on the same storage: what it
//!   had acknowledged before is still there at the same offsets, and every
//!   row is either in the topic or counted as failed/dropped in stats.log;
//! * without a broker, and with a tiny queue, every row is counted as
//!   failed or dropped (no broker needed).
//!
//! The broker tests need the `tansu` binary (`CONNSCOPE_TANSU`, else
//! `~/.cache/connscope/tansu/bin/tansu`, else `tansu` on PATH; built by
//! `scripts/ensure-deps.sh --kafka-broker`) and `.venv` with confluent-kafka
//! (`scripts/ensure-deps.sh --test`). They are skipped, saying so, when
//! either is missing, unless `CONNSCOPE_KAFKA_TEST=1` (as
//! `scripts/kafka-test.sh --broker` sets), which makes a missing tool a
//! failure.

#[cfg(not(feature = "kafka"))]
#[test]
fn without_the_feature_kafka_is_a_clear_error() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("connscope-kafka-off-{}", std::process::id()));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_connscope"))
        .args(["read", "-q", "--kafka", "127.0.0.1:9", "-r"])
        .arg(root.join("pcaps/udp.pcap"))
        .arg("-w")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("built without Kafka support"), "{err}");
    // Nothing was written: the check comes before any log exists.
    assert!(!out.join("conn.log").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[cfg(feature = "kafka")]
mod with_kafka {
    use std::collections::{BTreeMap, HashMap};
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::{Duration, Instant};

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("connscope-kafka-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The broker and the consumer's Python, or `None` (skip) when one is
    /// missing and `CONNSCOPE_KAFKA_TEST` is not `1`.
    fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
        let required = std::env::var("CONNSCOPE_KAFKA_TEST").is_ok_and(|v| v == "1");
        let tansu = std::env::var_os("CONNSCOPE_TANSU")
            .map(PathBuf::from)
            .or_else(|| {
                let p = PathBuf::from(std::env::var_os("HOME")?)
                    .join(".cache/connscope/tansu/bin/tansu");
                p.exists().then_some(p)
            })
            .or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join("tansu"))
                    .find(|p| p.exists())
            });
        let python = root().join(".venv/bin/python");
        let python_ok = Command::new(&python)
            .args(["-c", "import confluent_kafka"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let missing = match (&tansu, python_ok) {
            (None, _) => "the tansu broker (scripts/kafka-test.sh --broker builds it, or set CONNSCOPE_TANSU)",
            (_, false) => ".venv with confluent-kafka (scripts/ensure-deps.sh --test)",
            _ => return Some((tansu.unwrap(), python)),
        };
        if required {
            panic!("{test}: CONNSCOPE_KAFKA_TEST=1 but {missing} is missing");
        }
        eprintln!("SKIPPED {test}: {missing} not found");
        None
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A tansu broker on loopback with sqlite storage in `dir`.
    struct Broker {
        bin: PathBuf,
        dir: PathBuf,
        port: u16,
        child: Option<Child>,
        starts: u32,
    }

    impl Broker {
        fn start(bin: &Path, dir: &Path) -> Broker {
            let mut b = Broker {
                bin: bin.to_path_buf(),
                dir: dir.to_path_buf(),
                port: free_port(),
                child: None,
                starts: 0,
            };
            b.restart();
            b
        }

        fn addr(&self) -> String {
            format!("127.0.0.1:{}", self.port)
        }

        /// Starts the broker (again, on the same port and storage) and
        /// waits until it accepts connections.
        fn restart(&mut self) {
            assert!(self.child.is_none());
            self.starts += 1;
            let url = format!("tcp://127.0.0.1:{}", self.port);
            let log =
                std::fs::File::create(self.dir.join(format!("tansu-{}.log", self.starts))).unwrap();
            let child = Command::new(&self.bin)
                .args([
                    "broker",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &url,
                ])
                .args(["--storage-engine", "sqlite://tansu.db"])
                // tansu reads a .env from its working directory: an empty one.
                .current_dir(&self.dir)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting tansu");
            self.child = Some(child);
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    panic!("tansu exited ({st}); see {}", self.dir.display());
                }
                assert!(Instant::now() < deadline, "tansu did not start listening");
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        /// Kills the broker (SIGKILL: it gets no chance to flush anything).
        fn kill(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }

        fn create_topic(&self, name: &str) {
            let url = format!("tcp://127.0.0.1:{}", self.port);
            let o = Command::new(&self.bin)
                .args([
                    "topic",
                    "create",
                    "--broker",
                    &url,
                    "--partitions",
                    "1",
                    name,
                ])
                .current_dir(&self.dir)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "tansu topic create {name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }

    impl Drop for Broker {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// Every record of `topics`, as (topic, offset, value), read with
    /// confluent-kafka from offset 0.
    fn consume(python: &Path, addr: &str, topics: &[&str]) -> Vec<(String, u64, String)> {
        let o = Command::new(python)
            .arg(root().join("tests/kafka/consume.py"))
            .arg(addr)
            .args(topics)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "consume.py: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let mut it = l.splitn(3, '\t');
                let (t, off, v) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
                (t.to_string(), off.parse().unwrap(), v.to_string())
            })
            .collect()
    }

    /// Waits until `topic` holds at least `n` records.
    fn wait_for(python: &Path, addr: &str, topic: &str, n: usize) {
        let st = Command::new(python)
            .arg(root().join("tests/kafka/consume.py"))
            .args(["--wait-for", &n.to_string(), addr, topic])
            .status()
            .unwrap();
        assert!(st.success(), "{topic} never held {n} records");
    }

    fn sensor(args: &[&str], pcap: &Path, out: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_connscope"))
            .arg("read")
            .args(args)
            .arg("-r")
            .arg(pcap)
            .arg("-w")
            .arg(out)
            .output()
            .unwrap()
    }

    /// The JSON lines of every log in `dir`, by log name, in file order;
    /// without stats.log's last row (`peer` `kafka`), which is written after
    /// the producer closed.
    fn log_lines(dir: &Path) -> BTreeMap<String, Vec<String>> {
        let mut m = BTreeMap::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(log) = name.strip_suffix(".log") else {
                continue;
            };
            let text = std::fs::read_to_string(&p).unwrap();
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.contains(r#""peer":"kafka""#))
                .map(str::to_string)
                .collect();
            m.insert(log.to_string(), lines);
        }
        m
    }

    /// The Kafka counters summed over stats.log (sent, acked, dropped,
    /// failed) and how many rows carried them; JSON or TSV (by its
    /// `#fields` header).
    fn kafka_totals(dir: &Path) -> ([u64; 4], usize) {
        const KEYS: [&str; 4] = ["kafka_sent", "kafka_acked", "kafka_dropped", "kafka_failed"];
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        let mut t = [0u64; 4];
        let mut rows = 0;
        let mut tsv_cols: Option<Vec<usize>> = None;
        for l in text.lines() {
            if let Some(f) = l.strip_prefix("#fields\t") {
                let names: Vec<&str> = f.split('\t').collect();
                let idx = KEYS.map(|k| names.iter().position(|n| *n == k).expect(k));
                tsv_cols = Some(idx.to_vec());
                continue;
            }
            if l.starts_with('#') {
                continue;
            }
            let vals: Vec<u64> = match &tsv_cols {
                Some(idx) => {
                    let cells: Vec<&str> = l.split('\t').collect();
                    idx.iter().map(|i| cells[*i].parse().expect(l)).collect()
                }
                None => {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    KEYS.iter()
                        .map(|k| {
                            v[k].as_u64()
                                .unwrap_or_else(|| panic!("{k} missing in {l}"))
                        })
                        .collect()
                }
            };
            for (i, v) in vals.into_iter().enumerate() {
                t[i] += v;
            }
            rows += 1;
        }
        (t, rows)
    }

    /// The project's pcaps (pcaps/*.pcap), sorted.
    fn project_pcaps() -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        v.sort();
        assert!(v.len() >= 10, "{v:?}");
        v
    }

    /// Flags of every run: more logs than the default (flowmeter, context).
    const FLAGS: &[&str] = &["-q", "--flowmeter", "--context"];

    /// Runs every project pcap with `args` (plus `FLAGS`) into
    /// `base/<pcap>`; returns each run's output directory. Checks that each
    /// run's stats.log accounts for what it sent: everything acknowledged.
    fn run_all(base: &Path, args: &[&str], sent_per_run: impl Fn(&Path) -> u64) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for pcap in project_pcaps() {
            let stem = pcap.file_stem().unwrap().to_str().unwrap();
            let out = base.join(stem);
            let mut all = FLAGS.to_vec();
            all.extend_from_slice(args);
            let o = sensor(&all, &pcap, &out);
            let err = String::from_utf8_lossy(&o.stderr);
            // truncated.pcap ends in an error (exit 2) after its records.
            let expected_code = if stem == "truncated" { 2 } else { 0 };
            assert_eq!(o.status.code(), Some(expected_code), "{stem}: {err}");
            let (t, rows) = kafka_totals(&out);
            let sent = sent_per_run(&out);
            assert!(rows >= 2, "{stem}: a stats row and the final kafka row");
            assert_eq!(
                t,
                [sent, sent, 0, 0],
                "{stem}: sent, acked, dropped, failed"
            );
            dirs.push(out);
        }
        dirs
    }

    #[test]
    fn every_row_reaches_kafka_in_both_shapes() {
        let Some((tansu, python)) = tools("every_row_reaches_kafka_in_both_shapes") else {
            return;
        };
        let dir = scratch("shapes");
        let broker = Broker::start(&tansu, &mkdir(dir.join("broker")));
        let addr = broker.addr();
        let logs = connscope::output::kafka::LOGS;
        for l in logs {
            broker.create_topic(l);
        }
        broker.create_topic("zeek-tagged");
        broker.create_topic("zeek-tsv");

        // 1. One topic per log, bare records.
        let count_all = |d: &Path| log_lines(d).values().map(|v| v.len() as u64).sum();
        let a = run_all(
            &dir.join("per-log"),
            &["--kafka", &addr, "--kafka-topic-per-log"],
            count_all,
        );
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &a {
            for (log, lines) in log_lines(d) {
                expected.entry(log).or_default().extend(lines);
            }
        }
        assert!(expected.len() >= 6, "{:?}", expected.keys());
        for log in expected.keys() {
            assert!(
                logs.contains(&log.as_str()),
                "log {log} is not in kafka::LOGS"
            );
        }
        let got = consume(&python, &addr, logs);
        let mut by_topic: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (t, _, v) in got {
            by_topic.entry(t).or_default().push(v);
        }
        for (log, lines) in &expected {
            let msgs = by_topic.remove(log).unwrap_or_default();
            assert_eq!(msgs.len(), lines.len(), "topic {log}");
            assert!(msgs == *lines, "topic {log}: records differ from {log}.log");
        }
        assert!(
            by_topic.is_empty(),
            "records in topics without a log: {by_topic:?}"
        );

        // 2. One topic, {"<log>": {...}} records (zeek-kafka's tag_json).
        let b = run_all(
            &dir.join("tagged"),
            &[
                "--kafka",
                &addr,
                "--kafka-topic",
                "zeek-tagged",
                "--kafka-tag-json",
            ],
            count_all,
        );
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &b {
            for (log, lines) in log_lines(d) {
                expected.entry(log).or_default().extend(lines);
            }
        }
        let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (_, _, v) in consume(&python, &addr, &["zeek-tagged"]) {
            // Exactly TaggedJSON::Describe's bytes: {"<path>": <record>}
            let rest = v.strip_prefix("{\"").expect(&v);
            let (log, rest) = rest.split_once("\": ").expect(&v);
            let rec = rest.strip_suffix('}').expect(&v);
            let parsed: serde_json::Value = serde_json::from_str(&v).expect(&v);
            assert_eq!(parsed.as_object().map(|o| o.len()), Some(1), "{v}");
            got.entry(log.to_string())
                .or_default()
                .push(rec.to_string());
        }
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (log, lines) in &expected {
            assert!(
                got[log] == *lines,
                "tagged {log}: records differ from {log}.log"
            );
        }

        // 3. TSV files, two logs to Kafka: the records are the JSON rows
        // (the JSON run's conn.log and dns.log lines: same input, seed and
        // columns; JSON adds community_id by default, TSV only when asked).
        let c = run_all(
            &dir.join("tsv"),
            &[
                "--kafka",
                &addr,
                "--kafka-topic",
                "zeek-tsv",
                "--kafka-logs",
                "conn,dns",
                "--format",
                "tsv",
                "--community-id",
            ],
            |d| {
                ["conn.log", "dns.log"]
                    .iter()
                    .map(|f| {
                        std::fs::read_to_string(d.join(f))
                            .map(|t| t.lines().filter(|l| !l.starts_with('#')).count() as u64)
                            .unwrap_or(0)
                    })
                    .sum()
            },
        );
        assert_eq!(c.len(), a.len());
        let mut want: HashMap<String, i64> = HashMap::new();
        for d in &a {
            let l = log_lines(d);
            for line in l["conn"].iter().chain(l.get("dns").into_iter().flatten()) {
                *want.entry(line.clone()).or_default() += 1;
            }
        }
        let got = consume(&python, &addr, &["zeek-tsv"]);
        assert_eq!(got.len() as i64, want.values().sum::<i64>());
        for (_, _, v) in got {
            *want.entry(v.clone()).or_default() -= 1;
        }
        assert!(
            want.values().all(|n| *n == 0),
            "zeek-tsv differs from conn+dns JSON"
        );
        drop(broker);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn mkdir(p: PathBuf) -> PathBuf {
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// A pcap of `n` one-packet UDP flows one second apart (Ethernet, IPv4
    /// with a valid header checksum, UDP without checksum): the global
    /// header and each packet record. Each flow is logged 60 s (Zeek's UDP
    /// inactivity timeout) after its packet, so records keep coming while
    /// the capture is read.
    fn udp_flows(n: u32) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut head = Vec::new();
        head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        head.extend_from_slice(&2u16.to_le_bytes());
        head.extend_from_slice(&4u16.to_le_bytes());
        head.extend_from_slice(&[0; 8]);
        head.extend_from_slice(&65535u32.to_le_bytes());
        head.extend_from_slice(&1u32.to_le_bytes());
        let mut pkts = Vec::new();
        for i in 0..n {
            let mut f = Vec::new();
            f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
            let payload = [0x5au8; 8];
            let ip_len = 20 + 8 + payload.len() as u16;
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
            ip[4..6].copy_from_slice(&(i as u16).to_be_bytes());
            ip[8] = 64;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&[10, 1, (i >> 8) as u8, i as u8]);
            ip[16..20].copy_from_slice(&[192, 168, 0, 1]);
            let sum: u32 = ip
                .chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .sum();
            let sum = (sum & 0xffff) + (sum >> 16);
            let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(&ip);
            f.extend_from_slice(&40000u16.to_be_bytes());
            f.extend_from_slice(&4201u16.to_be_bytes());
            f.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&payload);
            let mut rec = Vec::new();
            rec.extend_from_slice(&(1_704_067_200 + i).to_le_bytes());
            rec.extend_from_slice(&0u32.to_le_bytes());
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(&f);
            pkts.push(rec);
        }
        (head, pkts)
    }

    #[test]
    fn broker_restart_loses_nothing_it_acknowledged() {
        let Some((tansu, python)) = tools("broker_restart_loses_nothing_it_acknowledged") else {
            return;
        };
        let dir = scratch("restart");
        let mut broker = Broker::start(&tansu, &mkdir(dir.join("broker")));
        let addr = broker.addr();
        broker.create_topic("zeek");
        let fifo = dir.join("capture.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let out = dir.join("logs");
        let mut child = Command::new(env!("CARGO_BIN_EXE_connscope"))
            .args(["read", "--kafka", &addr, "--kafka-tag-json"])
            .args(["--stats-interval", "60", "--kafka-flush-timeout", "120"])
            // Reconnect within a second of the broker's return.
            .args(["--kafka-conf", "reconnect.backoff.max.ms=1000"])
            .arg("-r")
            .arg(&fifo)
            .arg("-w")
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (head, pkts) = udp_flows(3000);
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(&head).unwrap();
        let feed = |w: &mut std::fs::File, range: std::ops::Range<usize>| {
            for p in &pkts[range] {
                w.write_all(p).unwrap();
            }
            w.flush().unwrap();
        };
        // Part 1: ~940 flows time out and are logged; wait until the broker
        // holds (acknowledged) some of them, then read what it holds.
        feed(&mut w, 0..1000);
        wait_for(&python, &addr, "zeek", 500);
        let before = consume(&python, &addr, &["zeek"]);
        assert!(before.len() >= 500);
        broker.kill();
        // Part 2 is read while the broker is down: its records wait in the
        // producer's queue (the pause only gives the sensor time to read).
        feed(&mut w, 1000..2000);
        std::thread::sleep(Duration::from_millis(500));
        broker.restart();
        feed(&mut w, 2000..3000);
        drop(w);
        let deadline = Instant::now() + Duration::from_secs(300);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("connscope did not finish");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{err}");
        assert!(err.contains("connscope: kafka: "), "{err}");

        let files = log_lines(&out);
        assert_eq!(files["conn"].len(), 3000);
        let lines: Vec<String> = files
            .iter()
            .flat_map(|(log, ls)| ls.iter().map(move |l| format!("{{\"{log}\": {l}}}")))
            .collect();
        let (t, _) = kafka_totals(&out);
        let [sent, acked, dropped, failed] = t;
        assert_eq!(
            sent + dropped,
            lines.len() as u64,
            "every row was queued or dropped"
        );
        assert_eq!(
            sent,
            acked + failed,
            "every queued row was acknowledged or failed"
        );

        let after = consume(&python, &addr, &["zeek"]);
        // What the broker held before it was killed is still there, at the
        // same offsets.
        for (i, (_, off, v)) in before.iter().enumerate() {
            assert_eq!(
                (after[i].1, &after[i].2),
                (*off, v),
                "record at offset {off}"
            );
        }
        // Only rows of this run are in the topic (a batch whose
        // acknowledgement the kill cut off may have been sent again:
        // duplicates are counted, not refused).
        let mut want: HashMap<&str, u32> = HashMap::new();
        for l in &lines {
            *want.entry(l.as_str()).or_default() += 1;
        }
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for (_, _, v) in &after {
            assert!(want.contains_key(v.as_str()), "not a row of this run: {v}");
            *seen.entry(v.as_str()).or_default() += 1;
        }
        let duplicates: u32 = seen.iter().map(|(k, n)| n.saturating_sub(want[k])).sum();
        let present: u64 = seen.iter().map(|(k, n)| u64::from(*n.min(&want[k]))).sum();
        eprintln!(
            "restart: {} rows, {sent} queued, {acked} acknowledged, {dropped} dropped, {failed} failed; \
             {} records before the kill, {} after the run ({present} distinct rows, {duplicates} duplicates)",
            lines.len(),
            before.len(),
            after.len()
        );
        // Every acknowledged row is in the topic, and the rows missing
        // from it are no more than the ones counted as lost.
        assert!(
            present >= acked,
            "{present} rows in the topic < {acked} acknowledged"
        );
        assert!(
            lines.len() as u64 - present <= dropped + failed,
            "rows missing from the topic but not counted as lost"
        );
        // Records were delivered after the restart.
        assert!(acked as usize > before.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// No broker: every row queued is counted as failed when the flush at
    /// the end gives up; with a five-record queue the rest are dropped.
    #[test]
    fn unreachable_broker_and_full_queue_are_counted() {
        let dir = scratch("unreachable");
        let pcap = root().join("pcaps/tcp_states.pcap");
        // A port nothing listens on (bound, then released).
        let addr = format!("127.0.0.1:{}", free_port());
        for (name, extra) in [
            ("nobroker", vec![]),
            (
                "tinyqueue",
                vec!["--kafka-conf", "queue.buffering.max.messages=5"],
            ),
        ] {
            let out = dir.join(name);
            let mut args = vec!["--kafka", &addr, "--kafka-flush-timeout", "0.5"];
            args.extend(extra.iter().copied());
            let o = sensor(&args, &pcap, &out);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{err}");
            let rows: u64 = log_lines(&out).values().map(|v| v.len() as u64).sum();
            let (t, _) = kafka_totals(&out);
            let queued = if name == "tinyqueue" { 5 } else { rows };
            assert_eq!(t, [queued, 0, rows - queued, queued], "{name}");
            let line = format!(
                "connscope: kafka: {queued} records queued, 0 acknowledged, {} dropped (queue full), {queued} failed",
                rows - queued
            );
            assert!(err.contains(&line), "{name}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
