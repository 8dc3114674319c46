//! A check on real data (not run by default): reads a JSON conn.log written
//! by `connscope read` (path in `CONNSCOPE_LAB_CONN_LOG`), drives the four
//! detectors of this change with Train before `CONNSCOPE_LAB_TRAIN_END`
//! (network time, default lab-public's t0 + 210 s) and Score after, prints
//! every notice and checks that none names only benign hosts
//! (`CONNSCOPE_LAB_BAD`, comma-separated, default lab-public's att, imp and
//! cnc).

use super::super::{
    brute_force::BruteForce, coordinated::Coordinated, slow_http::SlowHttp, test_conn,
    HostDetector, Phase,
};
use super::HostVolume;
use crate::context::Features;
use crate::decode::Addr;
use crate::record::{ConnState, ConnSummary, NoticeRecord};
use crate::time::Ts;

fn parse(line: &str) -> Option<ConnSummary> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let f = |k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
    let u = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
    let ip = |k: &str| s(k).parse::<std::net::IpAddr>().ok().map(Addr::from_ip);
    let ts = f("ts");
    let dur = f("duration");
    let mut c = test_conn(
        [0; 4],
        [0; 4],
        u("id.resp_p") as u16,
        ts + dur,
        ConnState::from_name(s("conn_state")),
        u("orig_bytes"),
        u("resp_bytes"),
    );
    c.start = Ts((ts * 1e9) as i64);
    c.orig_h = ip("id.orig_h")?;
    c.resp_h = ip("id.resp_h")?;
    c.orig_p = u("id.orig_p") as u16;
    c.transport = match s("proto") {
        "tcp" => crate::conn::Transport::Tcp,
        "udp" => crate::conn::Transport::Udp,
        "icmp" => crate::conn::Transport::Icmp,
        _ => crate::conn::Transport::Other,
    };
    c.service = s("service")
        .split(',')
        .next()
        .and_then(crate::conn::service::Service::from_name);
    c.orig_pkts = u("orig_pkts");
    c.resp_pkts = u("resp_pkts");
    c.orig_ip_bytes = u("orig_ip_bytes");
    c.resp_ip_bytes = u("resp_ip_bytes");
    c.local_orig = v.get("local_orig").and_then(|x| x.as_bool());
    c.local_resp = v.get("local_resp").and_then(|x| x.as_bool());
    Some(c)
}

#[test]
#[ignore]
fn lab_public_notices() {
    let Ok(path) = std::env::var("CONNSCOPE_LAB_CONN_LOG") else {
        eprintln!("CONNSCOPE_LAB_CONN_LOG not set; skipped");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut cs: Vec<ConnSummary> = text.lines().filter_map(parse).collect();
    cs.sort_by_key(|c| (c.logged_at, c.start));
    let train_end: f64 = std::env::var("CONNSCOPE_LAB_TRAIN_END")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_795_315_584.224 + 210.0);
    let bad: Vec<Addr> = std::env::var("CONNSCOPE_LAB_BAD")
        .unwrap_or_else(|_| "10.66.0.66,10.66.0.24,10.66.0.99".into())
        .split(',')
        .filter_map(|s| s.parse().ok().map(Addr::from_ip))
        .collect();
    let mut dets: Vec<Box<dyn HostDetector>> = vec![
        Box::new(BruteForce::new()),
        Box::new(SlowHttp::new()),
        Box::new(HostVolume::new()),
        Box::new(Coordinated::new()),
    ];
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<(&'static str, NoticeRecord)> = Vec::new();
    let f = Features::default();
    for c in &cs {
        let phase = if (c.logged_at.0 as f64) / 1e9 < train_end {
            Phase::Train
        } else {
            Phase::Score
        };
        for d in dets.iter_mut() {
            let mut out = Vec::new();
            d.observe(c, &f, phase, &mut out);
            for n in out {
                if seen.insert((n.note, n.identifier.clone())) {
                    kept.push((d.name(), n));
                }
            }
        }
    }
    println!(
        "{} connections, {} notices (first of each type+identifier)",
        cs.len(),
        kept.len()
    );
    for (name, n) in &kept {
        println!(
            "{name} +{:.1}s src={:?} dst={:?} n={:?} id={} | {} | {}",
            n.ts.0 as f64 / 1e9 - (train_end - 210.0),
            n.src,
            n.dst,
            n.n,
            n.identifier,
            n.msg,
            n.sub
        );
    }
    for d in &dets {
        println!("{}: {} entries; model {}", d.name(), d.entries(), d.save());
    }
    for (name, n) in &kept {
        let names_bad =
            n.src.is_some_and(|a| bad.contains(&a)) || n.dst.is_some_and(|a| bad.contains(&a));
        assert!(names_bad, "{name} names only benign hosts: {}", n.msg);
    }
}
