//! Host-level evaluation: notices against a lab schedule, host labels and
//! expected notices.
//!
//! Owns: reading `hosts.csv` and `schedule.json` (lab-public format),
//! turning notice.log rows into [`Notice`]s, the attack-type → notice table
//! ([`EXPECTED_NOTICE`]), and the matching rules:
//! - an attack run is detected by a notice of its expected type with `ts` in
//!   `[actual_start − 1, actual_end + 120]` that names the acting host (any
//!   of its addresses in `src`, `dst`, `id.orig_h`, `id.resp_h`); for
//!   `c2-beacon` and `dns-exfil` it must also name one of `match.peers`
//!   (`"lab"` = any schedule host);
//! - a notice is a benign false flag when the hosts it names (`src`/`dst`;
//!   `id.orig_h`/`id.resp_h` when both are unset) are all `hosts.csv` rows
//!   with label 0.
//!
//! Must not: read score.log or labels.csv.

use super::labels::canon_addr;
use super::logs::Log;
use super::EvalError;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Slack before an attack's `actual_start`, seconds.
pub const ATTACK_SLACK_BEFORE_S: f64 = 1.0;
/// Slack after an attack's `actual_end`, seconds (host detectors report
/// when their evidence window closes).
pub const ATTACK_SLACK_AFTER_S: f64 = 120.0;

/// The notice each attack type should raise (names as notice.log writes
/// them; see `record::NoticeType::name`).
pub const EXPECTED_NOTICE: &[(&str, &str)] = &[
    ("scan-syn", "ConnScope::Scan"),
    ("scan-connect", "ConnScope::Scan"),
    ("syn-flood", "ConnScope::Flood"),
    ("bruteforce-ssh", "ConnScope::Brute_Force"),
    ("slowloris", "ConnScope::Slow_HTTP"),
    ("c2-beacon", "ConnScope::Beacon"),
    ("dns-exfil", "ConnScope::DNS_Tunnel"),
];

/// Attack types whose notice must name both ends (the acting host and a
/// peer).
pub const NEEDS_BOTH_ENDS: &[&str] = &["c2-beacon", "dns-exfil"];

/// The expected notice for an attack type.
pub fn expected_notice(attack_type: &str) -> Option<&'static str> {
    EXPECTED_NOTICE
        .iter()
        .find(|(t, _)| *t == attack_type)
        .map(|(_, n)| *n)
}

/// One notice.log row, reduced to what matching needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// Time.
    pub ts: f64,
    /// Type (`ConnScope::Scan`, ...).
    pub note: String,
    /// Message.
    pub msg: String,
    /// Acting host (canonical text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Host acted upon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    /// Triggering connection's originator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orig_h: Option<String>,
    /// Triggering connection's responder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp_h: Option<String>,
    /// 1-based line in notice.log.
    pub line: usize,
}

impl Notice {
    /// Every address the notice names (`src`, `dst`, `id.orig_h`,
    /// `id.resp_h`).
    pub fn all_named(&self) -> impl Iterator<Item = &str> {
        [&self.src, &self.dst, &self.orig_h, &self.resp_h]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// The hosts it is about: `src`/`dst`, or the connection's endpoints
    /// when both are unset.
    pub fn subjects(&self) -> Vec<&str> {
        let sd: Vec<&str> = [&self.src, &self.dst]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !sd.is_empty() {
            return sd;
        }
        [&self.orig_h, &self.resp_h]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Whether it names this (canonical) address anywhere.
    pub fn names(&self, addr: &str) -> bool {
        self.all_named().any(|a| a == addr)
    }
}

/// Notices from a parsed notice.log; rows without `ts` or `note` are
/// errors.
pub fn notices_from_log(log: &Log, path: &Path) -> Result<Vec<Notice>, EvalError> {
    let mut out = Vec::with_capacity(log.records.len());
    for r in &log.records {
        let ts = r
            .time("ts")
            .ok_or_else(|| EvalError::parse(path, r.line, "notice without a valid ts".into()))?;
        let note = r
            .str("note")
            .ok_or_else(|| EvalError::parse(path, r.line, "notice without a note".into()))?;
        let addr = |k: &str| r.str(k).filter(|s| !s.is_empty()).map(canon_addr);
        out.push(Notice {
            ts,
            note: note.to_string(),
            msg: r.str("msg").unwrap_or("").to_string(),
            src: addr("src"),
            dst: addr("dst"),
            orig_h: addr("id.orig_h"),
            resp_h: addr("id.resp_h"),
            line: r.line,
        });
    }
    out.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    Ok(out)
}

/// One `hosts.csv` row.
#[derive(Clone, Debug, PartialEq)]
pub struct HostRow {
    /// Address (canonical).
    pub addr: String,
    /// Host name.
    pub name: String,
    /// Role.
    pub role: String,
    /// 1 = ran attacks or was their C2 end.
    pub label: bool,
}

/// Reads `hosts.csv` (columns `host, name, role, label, ...` by header).
pub fn read_hosts(path: &Path) -> Result<Vec<HostRow>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    parse_hosts(&text).map_err(|(l, r)| EvalError::parse(path, l, r))
}

/// Parses `hosts.csv` text; errors are (1-based line, reason).
pub fn parse_hosts(text: &str) -> Result<Vec<HostRow>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h.trim_end_matches('\r').split(',').map(str::trim).collect(),
        None => return Err((1, "empty file (no header)".into())),
    };
    let col = |n: &str| {
        header
            .iter()
            .position(|h| *h == n)
            .ok_or((1, format!("no {n:?} column in the header")))
    };
    let (c_h, c_l) = (col("host")?, col("label")?);
    let c_n = header.iter().position(|h| *h == "name");
    let c_r = header.iter().position(|h| *h == "role");
    let mut out = Vec::new();
    for (i, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        if raw.is_empty() {
            continue;
        }
        let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err((
                i + 1,
                format!("{} columns, the header has {}", cells.len(), header.len()),
            ));
        }
        let label = match cells[c_l] {
            "1" => true,
            "0" => false,
            o => return Err((i + 1, format!("label {o:?} is not 0 or 1"))),
        };
        let get = |c: Option<usize>| c.map(|c| cells[c].to_string()).unwrap_or_default();
        out.push(HostRow {
            addr: canon_addr(cells[c_h]),
            name: get(c_n),
            role: get(c_r),
            label,
        });
    }
    Ok(out)
}

/// One attack run from `schedule.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attack {
    /// Its id (`beacon`, `scan-syn`, ...), or the type when absent.
    pub id: String,
    /// Attack type (`scan-syn`, ...).
    pub attack_type: String,
    /// Name of the host that ran it.
    pub host: String,
    /// That host's addresses (canonical).
    pub host_addrs: Vec<String>,
    /// Peer addresses (canonical; every schedule host's for `"lab"`).
    pub peers: Vec<String>,
    /// Start, epoch seconds.
    pub actual_start: f64,
    /// End, epoch seconds.
    pub actual_end: f64,
}

/// Reads `schedule.json` into its attack runs (those with `ran: false` are
/// skipped).
pub fn read_schedule(path: &Path) -> Result<Vec<Attack>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    parse_schedule(&text).map_err(|(l, r)| EvalError::parse(path, l, r))
}

/// Parses `schedule.json` text; errors are (line, reason), line 0 when the
/// problem is not tied to one line.
pub fn parse_schedule(text: &str) -> Result<Vec<Attack>, (usize, String)> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(text).map_err(|e| (e.line(), e.to_string()))?;
    let mut hosts: HashMap<String, Vec<String>> = HashMap::new();
    let mut all: Vec<String> = Vec::new();
    for h in v["hosts"]
        .as_array()
        .ok_or((0, "no \"hosts\" array".into()))?
    {
        let name = h["name"]
            .as_str()
            .ok_or((0, "a host without a \"name\"".into()))?;
        let addrs: Vec<String> = ["ipv4", "ipv6"]
            .iter()
            .filter_map(|k| h[*k].as_str())
            .map(canon_addr)
            .collect();
        all.extend(addrs.iter().cloned());
        hosts.insert(name.to_string(), addrs);
    }
    let mut out = Vec::new();
    for a in v["attacks"]
        .as_array()
        .ok_or((0, "no \"attacks\" array".into()))?
    {
        if a["ran"].as_bool() == Some(false) {
            continue;
        }
        let ty = a["type"]
            .as_str()
            .ok_or((0, "an attack without a \"type\"".into()))?;
        let what = |k: &str| format!("attack {ty}: no {k:?}");
        let host = a["host"].as_str().ok_or_else(|| (0, what("host")))?;
        let host_addrs = hosts
            .get(host)
            .cloned()
            .ok_or_else(|| (0, format!("attack {ty}: host {host:?} is not in \"hosts\"")))?;
        let peers = match &a["match"]["peers"] {
            Value::String(s) if s == "lab" => all.clone(),
            Value::String(s) => vec![canon_addr(s)],
            Value::Array(xs) => xs
                .iter()
                .filter_map(Value::as_str)
                .map(canon_addr)
                .collect(),
            _ => Vec::new(),
        };
        out.push(Attack {
            id: a["id"].as_str().unwrap_or(ty).to_string(),
            attack_type: ty.to_string(),
            host: host.to_string(),
            host_addrs,
            peers,
            actual_start: a["actual_start"]
                .as_f64()
                .ok_or_else(|| (0, what("actual_start")))?,
            actual_end: a["actual_end"]
                .as_f64()
                .ok_or_else(|| (0, what("actual_end")))?,
        });
    }
    Ok(out)
}

/// Whether one attack run was detected, and how.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttackResult {
    /// Schedule id.
    pub id: String,
    /// Attack type.
    pub attack_type: String,
    /// Acting host's name.
    pub host: String,
    /// The notice type that counts (`null` for a type not in the table).
    pub expected_note: Option<String>,
    /// Start, epoch seconds.
    pub actual_start: f64,
    /// End, epoch seconds.
    pub actual_end: f64,
    /// Whether a matching notice exists.
    pub detected: bool,
    /// How many notices match.
    pub matching_notices: usize,
    /// Seconds from `actual_start` to the first matching notice (may be
    /// negative, down to −1).
    pub time_to_first_notice_s: Option<f64>,
    /// The first matching notice's msg.
    pub first_notice_msg: Option<String>,
}

/// Matches every attack against the notices.
pub fn match_attacks(attacks: &[Attack], notices: &[Notice]) -> Vec<AttackResult> {
    attacks
        .iter()
        .map(|a| {
            let note = expected_notice(&a.attack_type);
            let both = NEEDS_BOTH_ENDS.contains(&a.attack_type.as_str());
            let lo = a.actual_start - ATTACK_SLACK_BEFORE_S;
            let hi = a.actual_end + ATTACK_SLACK_AFTER_S;
            let hits: Vec<&Notice> = notices
                .iter()
                .filter(|n| Some(n.note.as_str()) == note)
                .filter(|n| n.ts >= lo && n.ts <= hi)
                .filter(|n| a.host_addrs.iter().any(|h| n.names(h)))
                .filter(|n| !both || a.peers.iter().any(|p| n.names(p)))
                .collect();
            let first = hits.first();
            AttackResult {
                id: a.id.clone(),
                attack_type: a.attack_type.clone(),
                host: a.host.clone(),
                expected_note: note.map(str::to_string),
                actual_start: a.actual_start,
                actual_end: a.actual_end,
                detected: first.is_some(),
                matching_notices: hits.len(),
                time_to_first_notice_s: first.map(|n| n.ts - a.actual_start),
                first_notice_msg: first.map(|n| n.msg.clone()),
            }
        })
        .collect()
}

/// A notice about benign hosts only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FalseFlag {
    /// Time.
    pub ts: f64,
    /// Type.
    pub note: String,
    /// Message.
    pub msg: String,
    /// The hosts it is about.
    pub hosts: Vec<String>,
}

/// The notices whose subjects are all label-0 `hosts.csv` rows, and how
/// many notices name no `hosts.csv` address at all.
pub fn false_flags(hosts: &[HostRow], notices: &[Notice]) -> (Vec<FalseFlag>, usize) {
    let label: HashMap<&str, bool> = hosts.iter().map(|h| (h.addr.as_str(), h.label)).collect();
    let mut flags = Vec::new();
    let mut unknown = 0;
    for n in notices {
        let subj = n.subjects();
        if !n.all_named().any(|a| label.contains_key(a)) {
            unknown += 1;
        }
        if !subj.is_empty() && subj.iter().all(|a| label.get(a) == Some(&false)) {
            flags.push(FalseFlag {
                ts: n.ts,
                note: n.note.clone(),
                msg: n.msg.clone(),
                hosts: subj.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    (flags, unknown)
}

/// One `hosts.csv` row and the notices naming it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostResult {
    /// Address.
    pub addr: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Ground truth label (1 = malicious).
    pub label: u8,
    /// Notices naming the address anywhere.
    pub notices: usize,
    /// Notice counts by type.
    pub by_type: BTreeMap<String, usize>,
}

/// Per host: the notices that name it.
pub fn per_host(hosts: &[HostRow], notices: &[Notice]) -> Vec<HostResult> {
    hosts
        .iter()
        .map(|h| {
            let mut by_type = BTreeMap::new();
            let mut n = 0;
            for x in notices.iter().filter(|x| x.names(&h.addr)) {
                n += 1;
                *by_type.entry(x.note.clone()).or_insert(0) += 1;
            }
            HostResult {
                addr: h.addr.clone(),
                name: h.name.clone(),
                role: h.role.clone(),
                label: u8::from(h.label),
                notices: n,
                by_type,
            }
        })
        .collect()
}

/// One `--expect-notice TYPE:ADDR[,ADDR...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Notice type (`ConnScope::` is prefixed to a bare name).
    pub note: String,
    /// Addresses that must all be named (canonical).
    pub addrs: Vec<String>,
}

impl std::str::FromStr for Expectation {
    type Err = String;

    /// `TYPE:ADDR[,ADDR...]`. The type ends at the first run of one or three
    /// colons (`::` belongs to the name, `:::1` is `:` + `::1`).
    fn from_str(s: &str) -> Result<Expectation, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut split = None;
        while i < b.len() {
            if b[i] == b':' {
                let mut j = i;
                while j < b.len() && b[j] == b':' {
                    j += 1;
                }
                if j - i != 2 {
                    split = Some(i);
                    break;
                }
                i = j;
            } else {
                i += 1;
            }
        }
        let bad = || format!("{s:?}: expected TYPE:ADDR[,ADDR...], e.g. ConnScope::Scan:10.0.0.1");
        let at = split.ok_or_else(bad)?;
        let (ty, rest) = (&s[..at], &s[at + 1..]);
        if ty.is_empty() || rest.is_empty() {
            return Err(bad());
        }
        let note = if ty.contains("::") {
            ty.to_string()
        } else {
            format!("ConnScope::{ty}")
        };
        let mut addrs = Vec::new();
        for a in rest.split(',') {
            let a = a.trim();
            if a.parse::<std::net::IpAddr>().is_err() {
                return Err(format!("{s:?}: {a:?} is not an IP address"));
            }
            addrs.push(canon_addr(a));
        }
        Ok(Expectation { note, addrs })
    }
}

/// The outcome of one expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectationResult {
    /// Notice type.
    pub note: String,
    /// Addresses that had to be named.
    pub addrs: Vec<String>,
    /// Whether a notice of that type names all of them.
    pub found: bool,
    /// How many do.
    pub count: usize,
    /// The first one's time.
    pub first_ts: Option<f64>,
    /// The first one's msg.
    pub first_msg: Option<String>,
    /// Every address named by such notices of that type that name the
    /// first address (to find, e.g., the C&C peer of a beacon).
    pub peers_named: Vec<String>,
}

/// Checks expectations against the notices.
pub fn check_expectations(exp: &[Expectation], notices: &[Notice]) -> Vec<ExpectationResult> {
    exp.iter()
        .map(|e| {
            let hits: Vec<&Notice> = notices
                .iter()
                .filter(|n| n.note == e.note && e.addrs.iter().all(|a| n.names(a)))
                .collect();
            let mut peers: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for n in &hits {
                for a in n.all_named() {
                    if !e.addrs.iter().any(|x| x == a) && seen.insert(a.to_string()) {
                        peers.push(a.to_string());
                    }
                }
            }
            ExpectationResult {
                note: e.note.clone(),
                addrs: e.addrs.clone(),
                found: !hits.is_empty(),
                count: hits.len(),
                first_ts: hits.first().map(|n| n.ts),
                first_msg: hits.first().map(|n| n.msg.clone()),
                peers_named: peers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &str = r#"{
      "hosts": [
        {"name": "web", "ipv4": "10.0.0.10", "ipv6": "fd00::10"},
        {"name": "imp", "ipv4": "10.0.0.24", "ipv6": null},
        {"name": "att", "ipv4": "10.0.0.66", "ipv6": null},
        {"name": "cnc", "ipv4": "10.0.0.99", "ipv6": null}
      ],
      "attacks": [
        {"id": "scan", "type": "scan-syn", "host": "att", "match": {"peers": "lab"},
         "actual_start": 1000.0, "actual_end": 1002.0, "ran": true},
        {"id": "beacon", "type": "c2-beacon", "host": "imp", "match": {"peers": ["10.0.0.99"]},
         "actual_start": 1000.0, "actual_end": 1300.0},
        {"id": "flood", "type": "syn-flood", "host": "att", "match": {"peers": ["10.0.0.10"]},
         "actual_start": 2000.0, "actual_end": 2010.0},
        {"id": "skipped", "type": "slowloris", "host": "att", "match": {"peers": ["10.0.0.10"]},
         "actual_start": 3000.0, "actual_end": 3010.0, "ran": false}
      ]}"#;

    fn notice(ts: f64, note: &str, src: Option<&str>, dst: Option<&str>) -> Notice {
        Notice {
            ts,
            note: note.into(),
            msg: format!("{note} at {ts}"),
            src: src.map(canon_addr),
            dst: dst.map(canon_addr),
            orig_h: None,
            resp_h: None,
            line: 0,
        }
    }

    #[test]
    fn every_expected_notice_is_a_sensor_notice_type() {
        for (_, n) in EXPECTED_NOTICE {
            assert!(crate::record::NoticeType::from_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn schedule_attacks_match_notices() {
        let attacks = parse_schedule(SCHEDULE).unwrap();
        assert_eq!(attacks.len(), 3, "ran: false is skipped");
        assert_eq!(attacks[0].peers.len(), 5, "lab = every host address");
        let notices = vec![
            // Scan: too early (before start - 1), then in window naming att.
            notice(998.5, "ConnScope::Scan", Some("10.0.0.66"), None),
            notice(1010.0, "ConnScope::Scan", Some("10.0.0.66"), None),
            // Beacon naming imp only: not enough (both ends needed).
            notice(1100.0, "ConnScope::Beacon", Some("10.0.0.24"), None),
            // Beacon naming both, via the connection's endpoints.
            Notice {
                orig_h: Some("10.0.0.24".into()),
                resp_h: Some("10.0.0.99".into()),
                ..notice(1200.0, "ConnScope::Beacon", None, None)
            },
            // Flood: right host, wrong type; then past actual_end + 120.
            notice(
                2005.0,
                "ConnScope::Scan",
                Some("10.0.0.66"),
                Some("10.0.0.10"),
            ),
            notice(
                2131.0,
                "ConnScope::Flood",
                Some("10.0.0.66"),
                Some("10.0.0.10"),
            ),
        ];
        let r = match_attacks(&attacks, &notices);
        assert!(r[0].detected);
        assert_eq!(r[0].matching_notices, 1);
        assert_eq!(r[0].time_to_first_notice_s, Some(10.0));
        assert_eq!(
            r[0].first_notice_msg.as_deref(),
            Some("ConnScope::Scan at 1010")
        );
        assert!(r[1].detected);
        assert_eq!(r[1].time_to_first_notice_s, Some(200.0));
        assert!(!r[2].detected);
        assert_eq!(r[2].expected_note.as_deref(), Some("ConnScope::Flood"));
        assert_eq!(r[2].time_to_first_notice_s, None);
        // The flood notice at actual_end + 120 exactly would count.
        let edge = [notice(2130.0, "ConnScope::Flood", Some("10.0.0.66"), None)];
        assert!(match_attacks(&attacks[2..], &edge)[0].detected);
    }

    #[test]
    fn benign_false_flags_and_per_host() {
        let hosts = parse_hosts(
            "host,name,role,label,attack_types\n10.0.0.10,web,server,0,\nfd00::10,web,server,0,\n10.0.0.21,c1,client,0,\n10.0.0.66,att,attacker,1,scan\n",
        )
        .unwrap();
        let notices = vec![
            notice(
                1.0,
                "ConnScope::Beacon",
                Some("10.0.0.21"),
                Some("fd00:0::10"),
            ),
            notice(2.0, "ConnScope::Scan", Some("10.0.0.66"), Some("10.0.0.10")),
            notice(3.0, "ConnScope::Host_Volume", Some("10.0.0.21"), None),
            notice(4.0, "ConnScope::Scan", Some("192.0.2.1"), None),
            // src/dst unset: the connection's endpoints are its subjects.
            Notice {
                orig_h: Some("10.0.0.21".into()),
                resp_h: Some("10.0.0.10".into()),
                ..notice(5.0, "ConnScope::Anomalous_Connection", None, None)
            },
        ];
        let (flags, unknown) = false_flags(&hosts, &notices);
        let ts: Vec<f64> = flags.iter().map(|f| f.ts).collect();
        assert_eq!(ts, [1.0, 3.0, 5.0]);
        assert_eq!(flags[0].hosts, ["10.0.0.21", "fd00::10"]);
        assert_eq!(unknown, 1);
        let ph = per_host(&hosts, &notices);
        assert_eq!(ph[2].addr, "10.0.0.21");
        assert_eq!(ph[2].notices, 3);
        assert_eq!(ph[3].notices, 1);
        assert_eq!(ph[3].by_type["ConnScope::Scan"], 1);
    }

    #[test]
    fn expectations_parse_and_match() {
        let e: Expectation = "ConnScope::Scan:192.168.2.16".parse().unwrap();
        assert_eq!(e.note, "ConnScope::Scan");
        assert_eq!(e.addrs, ["192.168.2.16"]);
        let e6: Expectation = "Beacon:fd00::1,10.0.0.1".parse().unwrap();
        assert_eq!(e6.note, "ConnScope::Beacon");
        assert_eq!(e6.addrs, ["fd00::1", "10.0.0.1"]);
        let lo: Expectation = "ConnScope::Scan:::1".parse().unwrap();
        assert_eq!(lo.addrs, ["::1"]);
        assert!("ConnScope::Scan".parse::<Expectation>().is_err());
        assert!("Scan:not-an-ip".parse::<Expectation>().is_err());
        let notices = vec![
            notice(5.0, "ConnScope::Beacon", Some("fd00::1"), Some("10.0.0.1")),
            notice(6.0, "ConnScope::Scan", Some("10.0.0.2"), None),
        ];
        let b: Expectation = "ConnScope::Beacon:fd00::1".parse().unwrap();
        let r = check_expectations(&[e6, e, b], &notices);
        assert!(r[0].found);
        assert_eq!(r[0].first_ts, Some(5.0));
        assert!(!r[1].found);
        assert_eq!(r[1].count, 0);
        assert_eq!(r[2].peers_named, ["10.0.0.1"]);
    }
}
