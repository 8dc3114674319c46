//! Unit tests of the beacon detector (and a real-data check, ignored by
//! default).
//!
//! Must not: read files outside the ignored real-data check.

use super::*;
use crate::record::ConnState;

const C: [u8; 4] = [10, 66, 0, 24];
const S: [u8; 4] = [10, 66, 0, 99];

fn conn(o: [u8; 4], r: [u8; 4], port: u16, t: f64, up: u64, down: u64) -> ConnSummary {
    super::super::test_conn(o, r, port, t, ConnState::SF, up, down)
}

fn feed(b: &mut Beacon, conns: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
    let mut out = Vec::new();
    for c in conns {
        b.observe(c, &Features::default(), phase, &mut out);
    }
    out
}

/// A small xorshift in [0, 1).
fn rnd(x: &mut u64) -> f64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    (*x >> 11) as f64 / (1u64 << 53) as f64
}

/// Training: C browses a few other servers (no contact with S).
fn trained() -> Beacon {
    let mut b = Beacon::new();
    let conns: Vec<_> = (0..20)
        .map(|i| conn(C, [10, 66, 0, 10], 443, i as f64 * 7.0, 500, 5000))
        .collect();
    assert!(feed(&mut b, &conns, Phase::Train).is_empty());
    b
}

#[test]
fn perfectly_periodic_pair_has_known_components() {
    let hits: Vec<_> = (0..14).map(|i| (i as f64 * 30.0, 420, 300)).collect();
    let s = score(&hits).expect("scored");
    assert_eq!(s.lag, 1);
    assert_eq!((s.period, s.mad), (30.0, 0.0));
    assert_eq!(
        (s.interval_skew, s.interval_dispersion, s.count),
        (1.0, 1.0, 1.0)
    );
    assert_eq!(
        (s.size_skew, s.size_dispersion, s.combined),
        (1.0, 1.0, 1.0)
    );
    assert_eq!((s.orig_bytes, s.resp_bytes), (420.0, 300.0));
    // Fewer than MIN_CONNS: not scored.
    assert_eq!(score(&hits[..MIN_CONNS - 1]), None);
}

#[test]
fn hand_computed_components() {
    // Intervals 10,10,10,10,12,14,20 (8 connections), one size outlier.
    let t = [0.0, 10.0, 20.0, 30.0, 40.0, 52.0, 66.0, 86.0];
    let hits: Vec<_> = t
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, if i == 7 { 900 } else { 100 }, 0))
        .collect();
    let s = score(&hits).expect("scored");
    // Lag 1: q1 = 10, q2 = 10 (median on q1: no skew), q3 = 13;
    // deviations 0,0,0,0,2,4,10 -> MAD 0; count 8 / (1 + 86/10) = 0.833.
    // Lag 1 scores (1 + 1 + 0.833) / 3; larger lags score less.
    assert_eq!(s.lag, 1);
    assert_eq!((s.period, s.mad), (10.0, 0.0));
    assert!((s.count - 8.0 / 9.6).abs() < 1e-12, "{}", s.count);
    assert_eq!((s.interval_skew, s.interval_dispersion), (1.0, 1.0));
    // Sizes: all 100 but one: no skew, MAD 0.
    assert_eq!((s.size_skew, s.size_dispersion), (1.0, 1.0));
    assert!((s.combined - (4.0 + 8.0 / 9.6) / 5.0).abs() < 1e-12);
}

#[test]
fn periodic_beacon_to_new_rare_destination_is_flagged() {
    let mut b = trained();
    let mut x = 42u64;
    // Every 30 s ± 10 %, sizes 420 ± 5 up.
    let mut t = 1000.0;
    let conns: Vec<_> = (0..14)
        .map(|_| {
            t += 30.0 * (0.9 + 0.2 * rnd(&mut x));
            conn(C, S, 8080, t, 418 + (rnd(&mut x) * 5.0) as u64, 300)
        })
        .collect();
    let out = feed(&mut b, &conns, Phase::Score);
    assert_eq!(out.len(), 1, "{out:?}");
    let n = &out[0];
    assert_eq!(n.note, NoticeType::Beacon);
    assert_eq!(n.n, Some(MIN_CONNS as u64));
    assert_eq!((n.src, n.dst), (Some(Addr::v4(C)), Some(Addr::v4(S))));
    assert_eq!(n.p, Some((8080, crate::conn::Transport::Tcp)));
    assert_eq!(n.identifier, "10.66.0.24-10.66.0.99-tcp/high");
    assert!(
        n.msg
            .starts_with("10.66.0.24 contacted 10.66.0.99 on 8080/tcp 8 times, every "),
        "{}",
        n.msg
    );
    assert!(n.msg.ends_with("300 B down each: a new, rare destination"));
    assert!(n.sub.contains("lag=1"), "{}", n.sub);
}

#[test]
fn jittered_series_pass_random_series_rarely() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let (mut jit, mut poi) = (0, 0);
    for _ in 0..200 {
        let (mut a, mut b) = (0.0, 0.0);
        let mut ja = Vec::new();
        let mut pb = Vec::new();
        for _ in 0..16 {
            a += 60.0 * (0.8 + 0.4 * rnd(&mut x)); // ±20 %
            b += -60.0 * (1.0 - rnd(&mut x)).ln();
            ja.push((a, 300, 300));
            pb.push((b, 300, 300));
        }
        jit += usize::from(score(&ja).is_some_and(|s| s.is_beacon()));
        poi += usize::from(score(&pb).is_some_and(|s| s.is_beacon()));
    }
    // Bowley skew of 15 intervals is noisy: a few jittered series
    // fall short at this length (they pass as the series grows).
    assert!(jit >= 160, "±20 % jitter: {jit} of 200");
    assert!(poi <= 4, "Poisson: {poi} of 200");
}

#[test]
fn lag_four_retry_groups_are_flagged() {
    let mut b = trained();
    // Each check-in: 4 connections (SYN retries at +0, +1, +3, +7 s),
    // every 80.06 s, no reply.
    let mut conns = Vec::new();
    for g in 0..6 {
        for d in [0.0, 1.0, 3.0, 7.0] {
            let t = 5000.0 + g as f64 * 80.06 + d;
            let mut c = conn(C, S, 50, t, 0, 0);
            c.conn_state = ConnState::S0;
            conns.push(c);
        }
    }
    let hits: Vec<_> = conns
        .iter()
        .map(|c| (c.start.as_secs_f64(), 0, 0))
        .collect();
    let s = score(&hits).expect("scored");
    assert_eq!(s.lag, 4);
    assert!((s.period - 80.06).abs() < 1e-6, "{}", s.period);
    assert!(s.mad < 1e-6);
    assert!(s.combined > 0.95, "{s:?}");
    // At lag 1 alone the intervals (1, 2, 4, 73 s) are far from regular.
    let out = feed(&mut b, &conns, Phase::Score);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].msg.contains("every 80.1 s in groups of 4"),
        "{}",
        out[0].msg
    );
    assert_eq!(out[0].identifier, "10.66.0.24-10.66.0.99-tcp/50");
}

#[test]
fn health_poll_to_known_or_popular_destination_is_not_flagged() {
    let api = [10, 66, 0, 10];
    let c3 = [10, 66, 0, 23];
    let mut x = 7u64;
    let poll = |from: f64, k: usize, x: &mut u64| -> Vec<ConnSummary> {
        (0..k)
            .map(|i| {
                let t = from + i as f64 * 60.0 + 2.0 * rnd(x);
                conn(c3, api, 443, t, 517, 4000 + (rnd(x) * 10.0) as u64)
            })
            .collect()
    };
    // (a) The pair was seen in training.
    let mut b = Beacon::new();
    feed(&mut b, &poll(0.0, 3, &mut x), Phase::Train);
    assert!(feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).is_empty());
    // (b) New for c3, but a popular destination (3 other clients).
    let mut b = Beacon::new();
    for o in 1..=3u8 {
        feed(
            &mut b,
            &[conn([10, 66, 0, o], api, 443, 10.0, 1, 1)],
            Phase::Score,
        );
    }
    assert!(feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).is_empty());
    // The same poll to a new, rare destination is a beacon by these rules.
    let mut b = Beacon::new();
    assert_eq!(
        feed(&mut b, &poll(300.0, 30, &mut x), Phase::Score).len(),
        1
    );
}

#[test]
fn rotation_in_a_spread_class_is_not_flagged() {
    // Training: NTP-like polls to three pool servers.
    let mut b = Beacon::new();
    for (i, s) in [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]
        .iter()
        .enumerate()
    {
        feed(&mut b, &[conn(C, *s, 123, i as f64, 48, 48)], Phase::Train);
    }
    // A new pool server polled every 64 s: normal rotation.
    let conns: Vec<_> = (0..20)
        .map(|i| conn(C, [4, 4, 4, 4], 123, 1000.0 + i as f64 * 64.0, 48, 48))
        .collect();
    assert!(feed(&mut b, &conns, Phase::Score).is_empty());
    // Knowledge survives save/load.
    let mut c = Beacon::new();
    c.load(&b.save()).expect("loads");
    assert!(feed(&mut c, &conns, Phase::Score).is_empty());
    assert_eq!(c.known.spread.len(), 1);
    assert_eq!(c.known.pairs.len(), 3);
    assert!(c.load(&serde_json::json!({"pairs": [1]})).is_err());
    c.load(&serde_json::Value::Null).expect("null loads");
    assert!(c.known.pairs.is_empty());
}

#[test]
fn random_times_and_fast_repeats_are_not_flagged() {
    // Poisson arrivals (mean 60 s), equal sizes, new rare destination.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut flagged = 0;
    for trial in 0..50 {
        let mut b = Beacon::new();
        let mut t = 0.0;
        let conns: Vec<_> = (0..40)
            .map(|_| {
                t += -60.0 * (1.0 - rnd(&mut x)).ln();
                conn(C, [10, 9, 0, trial as u8], 8080, t, 200, 200)
            })
            .collect();
        flagged += usize::from(!feed(&mut b, &conns, Phase::Score).is_empty());
    }
    assert!(flagged <= 3, "{flagged} of 50 random series flagged");
    // A perfectly regular flood (every 10 ms) is not a beacon.
    let mut b = Beacon::new();
    let conns: Vec<_> = (0..100)
        .map(|i| conn(C, S, 80, i as f64 * 0.01, 0, 0))
        .collect();
    assert!(feed(&mut b, &conns, Phase::Score).is_empty());
}

#[test]
fn tables_are_bounded() {
    let mut b = Beacon::new();
    for i in 0..(MAX_SERIES + 10) {
        let r = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        feed(&mut b, &[conn(C, r, 80, i as f64, 1, 1)], Phase::Score);
    }
    assert_eq!(b.series.len(), MAX_SERIES);
    assert_eq!(b.prevalence.len(), MAX_DESTS);
    let mut s = Beacon::new();
    let conns: Vec<_> = (0..200)
        .map(|i| conn(C, S, 80, i as f64 * 30.0, 1, 1))
        .collect();
    feed(&mut s, &conns, Phase::Score);
    assert_eq!(s.series.values().next().map(|x| x.ring.len()), Some(RING));
}

/// Reads a JSON conn.log written by `connscope read` into summaries.
fn read_conn_log(path: &str) -> Vec<ConnSummary> {
    let text = std::fs::read_to_string(path).expect("conn.log");
    let addr = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            .map(Addr::from_ip)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        let u = |k: &str| v[k].as_u64().unwrap_or(0);
        let mut c = super::super::test_conn([0; 4], [0; 4], 0, f("ts"), ConnState::OTH, 0, 0);
        c.uid = crate::conn::uid::Uid::from_words(b'C', i as u64, 0);
        c.last = crate::time::Ts::from_secs_f64(f("ts") + f("duration"));
        c.logged_at = c.last;
        c.orig_h = addr(&v["id.orig_h"]);
        c.resp_h = addr(&v["id.resp_h"]);
        c.orig_p = u("id.orig_p") as u16;
        c.resp_p = u("id.resp_p") as u16;
        (c.transport, c.ip_proto) = match v["proto"].as_str() {
            Some("tcp") => (crate::conn::Transport::Tcp, 6),
            Some("udp") => (crate::conn::Transport::Udp, 17),
            Some("icmp") => (crate::conn::Transport::Icmp, 1),
            _ => (crate::conn::Transport::Other, 0),
        };
        c.conn_state = ConnState::from_name(v["conn_state"].as_str().unwrap_or(""));
        c.service = v["service"]
            .as_str()
            .and_then(|s| s.split(',').next())
            .and_then(crate::conn::service::Service::from_name);
        (c.orig_bytes, c.resp_bytes) = (u("orig_bytes"), u("resp_bytes"));
        (c.orig_pkts, c.resp_pkts) = (u("orig_pkts"), u("resp_pkts"));
        out.push(c);
    }
    out.sort_by_key(|a| a.logged_at.0);
    out
}

/// Real-data check: `BEACON_CONN_LOG=path BEACON_TRAIN_END=epoch cargo
/// test --lib real_conn_log -- --ignored --nocapture` prints the notices.
#[test]
#[ignore]
fn real_conn_log() {
    let (Ok(path), Ok(end)) = (
        std::env::var("BEACON_CONN_LOG"),
        std::env::var("BEACON_TRAIN_END"),
    ) else {
        return;
    };
    let end: f64 = end.parse().expect("train end");
    let conns = read_conn_log(&path);
    let mut b = Beacon::new();
    let mut out = Vec::new();
    for c in &conns {
        let phase = if c.start.as_secs_f64() < end {
            Phase::Train
        } else {
            Phase::Score
        };
        b.observe(c, &Features::default(), phase, &mut out);
    }
    eprintln!("{} connections, {} notices", conns.len(), out.len());
    for n in &out {
        eprintln!("{:.3} {}\n    {}", n.ts.as_secs_f64(), n.msg, n.sub);
    }
}

#[test]
fn fast_reader_and_serde_restore_the_same_knowledge() {
    let mut b = trained();
    let conns: Vec<_> = (0..6)
        .map(|i| conn(C, [10, 66, 0, 40 + i], 123, 100.0 + f64::from(i), 48, 48))
        .collect();
    feed(&mut b, &conns, Phase::Train);
    let v = b.save();
    for text in [
        serde_json::to_string(&v).unwrap_or_default(),
        serde_json::to_string_pretty(&v).unwrap_or_default(),
    ] {
        // The saved form, compact or pretty, is the fast reader's.
        let mut c = Cursor::new(&text);
        assert!(read_saved(&mut c).is_some() && c.at_end(), "{text}");
        let (mut fast, mut slow) = (Beacon::new(), Beacon::new());
        fast.load_raw(&text).unwrap_or_else(|e| panic!("{e}"));
        slow.load_raw_serde(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fast.save(), slow.save());
        assert_eq!(fast.save(), v);
    }
    // Not the saved form: both give serde's error.
    let bad = r#"{"pairs": ["zz"]}"#;
    let (mut fast, mut slow) = (Beacon::new(), Beacon::new());
    assert_eq!(fast.load_raw(bad), slow.load_raw_serde(bad));
    assert!(fast.load_raw(bad).is_err());
}

#[test]
fn hex_hashes_read_as_from_str_radix_reads_them() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut cases: Vec<String> = [
        "",
        "0",
        "+0123456789abcde",
        "0123456789ABCDEF",
        "g123456789abcdef",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in 0..50_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut s = format!("{x:016x}");
        if k % 3 == 0 {
            s = s.to_uppercase();
        }
        if k % 5 == 0 {
            // One byte anywhere replaced by a byte near the hex ranges.
            let at = (x % 16) as usize;
            let c = [b'/', b':', b'@', b'G', b'`', b'g', 0x80 | b'1', b' '][(x >> 8) as usize % 8];
            let mut b = s.into_bytes();
            b[at] = c;
            s = String::from_utf8_lossy(&b).into_owned();
        }
        cases.push(s);
    }
    for s in &cases {
        assert_eq!(hex_u64(s), u64::from_str_radix(s, 16).ok(), "{s:?}");
    }
}
