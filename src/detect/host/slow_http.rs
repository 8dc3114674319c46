//! Slow HTTP (slowloris, slow POST, slow read): one client holding many
//! long, nearly idle HTTP connections to one server, to exhaust the
//! server's connection pool.
//!
//! Owns one sliding window per (client, server) of its recent *idle HTTP
//! connections*: HTTP-ish (service `http` or `ssl` confirmed, or TCP to
//! port 80, 443, 8000, 8080 or 8443 with no other service), lasting at
//! least [`MIN_DURATION`] (10 s), with the client sending under
//! [`MAX_ORIG_RATE`] (100 B/s), the server under [`MAX_RESP_RATE`]
//! (100 B/s), and under [`MAX_PKT_RATE`] (2) packets per second in both
//! directions together.
//!
//! Rule (raised in [`Phase::Score`] when an idle connection is logged):
//! at least [`MIN_CONNS`] (20) idle connections in [`WINDOW_SECS`] (5 min),
//! or at least [`MIN_CONCURRENT`] (10) of them open at the same moment (the
//! moment the newest one opened).
//!
//! Why these numbers: a normal request is answered in well under 10 s;
//! slow attacks keep each request open by trickling a header line or a few
//! body bytes every few seconds (slowhttptest's default is one every 10 s),
//! far below 100 B/s, and the server has nothing to answer until the
//! request completes (or, for slow read, the client's zero window holds its
//! answer back). Browsers open at most 6 persistent connections per server
//! (RFC 7230 §6.4 practice) and reuse them, so 10 idle at once, or 20 idle
//! ones within 5 min, is more than any one browser holds; attacks open
//! hundreds.
//!
//! Training learns the (client, server) pairs that already met the rule on
//! benign traffic (a reverse proxy keeping a pool of idle upstream
//! connections); those pairs are not raised in scoring.
//!
//! Must not: use addresses as anything but keys, read a clock (time is
//! `logged_at`, `start` and `last`), or grow without bound (at most
//! [`MAX_KEYS`] pairs, the least recently seen evicted first; at most
//! [`RING`] connections per pair).

use super::{notice, HostDetector, Phase};
use super::{Map as HashMap, Set as HashSet};
use crate::conn::service::Service;
use crate::conn::Transport;
use crate::context::Features;
use crate::decode::Addr;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::SEC;
use std::collections::VecDeque;

/// Length of the sliding window, seconds.
pub const WINDOW_SECS: i64 = 300;
/// Shortest duration of an idle connection, seconds.
pub const MIN_DURATION: f64 = 10.0;
/// Highest client payload rate of an idle connection, bytes per second.
pub const MAX_ORIG_RATE: f64 = 100.0;
/// Highest server payload rate of an idle connection, bytes per second.
pub const MAX_RESP_RATE: f64 = 100.0;
/// Highest packet rate (both directions) of an idle connection, per second.
pub const MAX_PKT_RATE: f64 = 2.0;
/// Idle connections in the window that raise.
pub const MIN_CONNS: usize = 20;
/// Idle connections open at once that raise.
pub const MIN_CONCURRENT: usize = 10;
/// Idle connections kept per pair (the most recent).
pub const RING: usize = 256;
/// Pairs held at most.
pub const MAX_KEYS: usize = 8_192;
/// Pairs learned in training held at most.
pub const MAX_TRAINED: usize = 4_096;

type Key = (Addr, Addr);

/// Whether a connection speaks HTTP or HTTPS (by confirmed service, else by
/// its TCP port).
pub fn is_http(c: &ConnSummary) -> bool {
    if c.transport != Transport::Tcp {
        return false;
    }
    match c.service {
        Some(s) => s == Service::Http || s == Service::Ssl,
        None => matches!(c.resp_p, 80 | 443 | 8000 | 8080 | 8443),
    }
}

/// Whether an HTTP connection was long and nearly idle (module docs).
pub fn is_idle(c: &ConnSummary) -> bool {
    let d = c.duration();
    if d < MIN_DURATION {
        return false;
    }
    let pkts = (c.orig_pkts + c.resp_pkts) as f64;
    (c.orig_bytes as f64) / d < MAX_ORIG_RATE
        && (c.resp_bytes as f64) / d < MAX_RESP_RATE
        && pkts / d < MAX_PKT_RATE
        && c.orig_pkts > 0
}

/// One idle connection in a window.
#[derive(Clone, Copy)]
struct Idle {
    logged: i64,
    start: i64,
    last: i64,
    orig_bytes: u64,
    resp_bytes: u64,
}

/// One pair's window.
#[derive(Default)]
struct Pair {
    /// The pair's last notice.
    quiet: super::Quiet,
    ring: VecDeque<Idle>,
    sum_dur: f64,
    sum_orig: f64,
    sum_resp: f64,
    last_seen: i64,
}

impl Pair {
    fn pop(&mut self) {
        if let Some(o) = self.ring.pop_front() {
            self.sum_dur -= (o.last - o.start) as f64 / SEC as f64;
            self.sum_orig -= o.orig_bytes as f64;
            self.sum_resp -= o.resp_bytes as f64;
        }
    }

    fn push(&mut self, i: Idle) {
        while let Some(f) = self.ring.front() {
            if f.logged >= i.logged - WINDOW_SECS * SEC && self.ring.len() < RING {
                break;
            }
            self.pop();
        }
        self.sum_dur += (i.last - i.start) as f64 / SEC as f64;
        self.sum_orig += i.orig_bytes as f64;
        self.sum_resp += i.resp_bytes as f64;
        self.ring.push_back(i);
        self.last_seen = i.logged;
    }

    /// Connections open when the newest one opened (itself included).
    fn concurrent(&self) -> usize {
        let Some(n) = self.ring.back() else { return 0 };
        self.ring
            .iter()
            .filter(|o| o.start <= n.start && o.last >= n.start)
            .count()
    }
}

/// The slow-HTTP detector (see the module docs).
#[derive(Default)]
pub struct SlowHttp {
    pairs: HashMap<Key, Pair>,
    /// Pairs that met the rule in training.
    trained: HashSet<Key>,
}

impl SlowHttp {
    /// An empty detector.
    pub fn new() -> SlowHttp {
        SlowHttp::default()
    }

    fn evict(&mut self) {
        if self.pairs.len() <= MAX_KEYS {
            return;
        }
        // Drop the least recently seen quarter at once: O(1) amortised.
        let keep = MAX_KEYS - MAX_KEYS / 4;
        let mut ages: Vec<(i64, Key)> = self.pairs.iter().map(|(k, p)| (p.last_seen, *k)).collect();
        let drop = ages.len() - keep;
        // Ties in age are broken by the key, so what is dropped does not
        // depend on the hash seed (the same output on every run).
        ages.select_nth_unstable(drop);
        for (_, k) in ages.iter().take(drop) {
            self.pairs.remove(k);
        }
    }
}

impl HostDetector for SlowHttp {
    fn name(&self) -> &'static str {
        "slow_http"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if c.interim || !is_http(c) || !is_idle(c) {
            return;
        }
        let key = (c.orig_h, c.resp_h);
        let p = self.pairs.entry(key).or_default();
        p.push(Idle {
            logged: c.logged_at.0,
            start: c.start.0,
            last: c.last.0,
            orig_bytes: c.orig_bytes,
            resp_bytes: c.resp_bytes,
        });
        let n = p.ring.len();
        let conc = if n >= MIN_CONCURRENT {
            p.concurrent()
        } else {
            0
        };
        let hit = n >= MIN_CONNS || conc >= MIN_CONCURRENT;
        let (dur, ob, rb) = (p.sum_dur, p.sum_orig, p.sum_resp);
        let first = p.ring.front().map_or(c.start.0, |f| f.start);
        self.evict();
        if !hit {
            return;
        }
        match phase {
            Phase::Train => {
                if self.trained.len() < MAX_TRAINED {
                    self.trained.insert(key);
                }
            }
            Phase::Score => {
                if self.trained.contains(&key)
                    || self
                        .pairs
                        .get_mut(&key)
                        .is_some_and(|p| !p.quiet.ready(c.logged_at))
                {
                    return;
                }
                let nf = n as f64;
                let mean_dur = dur / nf;
                let (orate, rrate) = if dur > 0.0 {
                    (ob / dur, rb / dur)
                } else {
                    (0.0, 0.0)
                };
                let span = (c.logged_at.0 - first) as f64 / SEC as f64;
                let msg = format!(
                    "{} held {} long, nearly idle HTTP connections to {}:{} within {:.0} s ({} open at once; on average {:.0} s long, sending {:.1} B/s and receiving {:.1} B/s)",
                    c.orig_h, n, c.resp_h, c.resp_p, span, conc, mean_dur, orate, rrate
                );
                let sub = format!(
                    "idle_conns={n} concurrent={conc} window_s={WINDOW_SECS} mean_duration_s={mean_dur:.1} orig_Bps={orate:.2} resp_Bps={rrate:.2} min_conns={MIN_CONNS} min_concurrent={MIN_CONCURRENT}"
                );
                out.push(notice(
                    NoticeType::SlowHttp,
                    c,
                    Some(c.orig_h),
                    Some(c.resp_h),
                    Some((c.resp_p, c.transport)),
                    Some(n as u64),
                    msg,
                    sub,
                    format!("{}-{}", c.orig_h, c.resp_h),
                ));
            }
        }
    }

    fn save(&self) -> serde_json::Value {
        let mut keys: Vec<String> = self
            .trained
            .iter()
            .map(|(o, r)| format!("{o}|{r}"))
            .collect();
        keys.sort();
        serde_json::json!({ "trained_pairs": keys })
    }

    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        self.trained.clear();
        if v.is_null() {
            return Ok(());
        }
        let keys = v
            .get("trained_pairs")
            .and_then(|k| k.as_array())
            .ok_or("slow_http: missing trained_pairs")?;
        for k in keys.iter().take(MAX_TRAINED) {
            let s = k.as_str().ok_or("slow_http: pair is not a string")?;
            let (o, r) = s
                .split_once('|')
                .ok_or_else(|| format!("slow_http: bad pair {s}"))?;
            let o: std::net::IpAddr = o.parse().map_err(|_| format!("slow_http: bad pair {s}"))?;
            let r: std::net::IpAddr = r.parse().map_err(|_| format!("slow_http: bad pair {s}"))?;
            self.trained.insert((Addr::from_ip(o), Addr::from_ip(r)));
        }
        Ok(())
    }

    fn entries(&self) -> usize {
        self.pairs.len() + self.trained.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_conn;
    use super::*;
    use crate::record::ConnState;
    use crate::time::Ts;

    const ATT: [u8; 4] = [10, 66, 0, 66];
    const WEB: [u8; 4] = [10, 66, 0, 10];

    /// A connection from `start` lasting `dur` s, logged at its end.
    #[allow(clippy::too_many_arguments)]
    fn conn(
        orig: [u8; 4],
        resp: [u8; 4],
        port: u16,
        start: f64,
        dur: f64,
        ob: u64,
        rb: u64,
        pkts: (u64, u64),
    ) -> ConnSummary {
        let mut c = test_conn(orig, resp, port, start + dur, ConnState::SF, ob, rb);
        c.start = Ts((start * 1e9) as i64);
        c.orig_pkts = pkts.0;
        c.resp_pkts = pkts.1;
        c
    }

    fn run(d: &mut SlowHttp, cs: &mut [ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
        cs.sort_by_key(|c| c.logged_at);
        let mut out = Vec::new();
        for c in cs.iter() {
            d.observe(c, &Features::default(), phase, &mut out);
        }
        out
    }

    /// slowhttptest -c 150 -r 30 -l 60: 30 new connections a second for
    /// 5 s, each trickling ~500 bytes over 60 s with no answer.
    fn slowloris(t0: f64) -> Vec<ConnSummary> {
        (0u32..150)
            .map(|i| {
                let s = t0 + f64::from(i) / 30.0;
                conn(ATT, WEB, 80, s, 60.0, 454 + u64::from(i % 70), 0, (10, 10))
            })
            .collect()
    }

    #[test]
    fn slowloris_is_flagged_by_concurrency() {
        let mut d = SlowHttp::new();
        let out = run(&mut d, &mut slowloris(1000.0), Phase::Score);
        assert_eq!(out.len(), 1, "raised at the 10th idle connection, once");
        let n = &out[0];
        assert_eq!(n.note, NoticeType::SlowHttp);
        assert_eq!(n.n, Some(10));
        assert_eq!(n.src, Some(Addr::v4(ATT)));
        assert_eq!(n.dst, Some(Addr::v4(WEB)));
        assert_eq!(n.p, Some((80, Transport::Tcp)));
        assert!(
            n.msg.starts_with(
                "10.66.0.66 held 10 long, nearly idle HTTP connections to 10.66.0.10:80"
            ),
            "{}",
            n.msg
        );
        assert!(
            n.msg.contains("(10 open at once; on average 60 s long"),
            "{}",
            n.msg
        );
        assert!(n.msg.contains("receiving 0.0 B/s"), "{}", n.msg);
        assert_eq!(n.identifier, "10.66.0.66-10.66.0.10");
    }

    #[test]
    fn sequential_idle_connections_flag_at_twenty() {
        // One at a time, each 12 s, back to back: never 10 at once.
        let mut d = SlowHttp::new();
        let mut cs: Vec<_> = (0..20)
            .map(|i| {
                conn(
                    ATT,
                    WEB,
                    8080,
                    1000.0 + f64::from(i) * 13.0,
                    12.0,
                    300,
                    0,
                    (5, 4),
                )
            })
            .collect();
        let out = run(&mut d, &mut cs, Phase::Score);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].n, Some(20));
        assert!(out[0].msg.contains("(1 open at once"), "{}", out[0].msg);
        // 19 only: nothing.
        let mut d = SlowHttp::new();
        assert!(run(&mut d, &mut cs[..19].to_vec(), Phase::Score).is_empty());
    }

    #[test]
    fn benign_patterns_are_not_flagged() {
        let c3 = [10, 66, 0, 23];
        let mut cs = Vec::new();
        // Long-lived ssh connections, idle (not HTTP).
        for i in 0..30 {
            cs.push(conn(
                c3,
                WEB,
                22,
                1000.0 + f64::from(i),
                300.0,
                4000,
                3800,
                (45, 30),
            ));
        }
        // curl browsing: short, many.
        for i in 0..100 {
            cs.push(conn(
                [10, 66, 0, 21],
                WEB,
                80,
                1000.0 + f64::from(i) * 3.0,
                0.2,
                400,
                15000,
                (6, 14),
            ));
        }
        // https health poll every 60 s.
        for i in 0..10 {
            let mut c = conn(
                c3,
                WEB,
                443,
                1000.0 + f64::from(i) * 60.0,
                0.05,
                700,
                3500,
                (10, 10),
            );
            c.service = Some(Service::Ssl);
            cs.push(c);
        }
        // A browser: 6 keep-alive connections per page that stay idle 60 s
        // after loading assets (a few KB each), one page a minute.
        for page in 0..5 {
            for k in 0..6 {
                cs.push(conn(
                    [10, 66, 0, 22],
                    WEB,
                    80,
                    1000.0 + f64::from(page) * 61.0 + f64::from(k) * 0.1,
                    60.0,
                    1200,
                    45_000,
                    (20, 40),
                ));
            }
        }
        let mut d = SlowHttp::new();
        assert!(run(&mut d, &mut cs, Phase::Score).is_empty());
        assert_eq!(d.entries(), 0, "no idle HTTP connection kept");
    }

    #[test]
    fn training_learns_pairs_and_raises_nothing() {
        let mut d = SlowHttp::new();
        assert!(run(&mut d, &mut slowloris(1000.0), Phase::Train).is_empty());
        let saved = d.save();
        assert_eq!(
            saved,
            serde_json::json!({ "trained_pairs": ["10.66.0.66|10.66.0.10"] })
        );
        let mut e = SlowHttp::new();
        e.load(&saved).unwrap_or_else(|err| panic!("{err}"));
        assert!(run(&mut e, &mut slowloris(5000.0), Phase::Score).is_empty());
        let mut f = SlowHttp::new();
        f.load(&serde_json::Value::Null)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(f.save(), serde_json::json!({ "trained_pairs": [] }));
        assert!(f
            .load(&serde_json::json!({ "trained_pairs": ["nonsense"] }))
            .is_err());
    }

    #[test]
    fn tables_stay_bounded() {
        let mut d = SlowHttp::new();
        let mut out = Vec::new();
        for i in 0..(MAX_KEYS as u32 + 3000) {
            let b = i.to_be_bytes();
            let c = conn(
                [10, b[1], b[2], b[3]],
                WEB,
                80,
                1000.0 + f64::from(i),
                30.0,
                100,
                0,
                (5, 3),
            );
            d.observe(&c, &Features::default(), Phase::Score, &mut out);
        }
        assert!(d.entries() <= MAX_KEYS);
        let mut p = Pair::default();
        for i in 0..1000 {
            p.push(Idle {
                logged: i,
                start: 0,
                last: i,
                orig_bytes: 1,
                resp_bytes: 0,
            });
        }
        assert_eq!(p.ring.len(), RING);
    }
}
