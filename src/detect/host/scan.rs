//! `ConnScope::Scan`: one originator's fan-out over many responder hosts or
//! ports in a short window, most of it unanswered or refused — the shape of
//! nmap's SYN and connect scans, worm-style random-address probing and
//! port sweeps (Zeek's `Scan::Address_Scan` / `Scan::Port_Scan`, with the
//! failed share instead of a fixed list of "unsuccessful" states).
//!
//! Per originator, a window of the last [`WINDOW`] seconds of its
//! connections (at most [`MAX_ENTRIES`]) with exact distinct counts of
//! targets (host+port), hosts and ports, over all its connections and over
//! its failed ones. A notice is raised when the failed connections alone
//! reach [`MIN_DISTINCT`] distinct hosts or ports and at least
//! [`MIN_FAILED_SHARE`] of the distinct targets failed (so a scan mixed
//! with the same host's other activity is still seen, and a busy client
//! whose connections succeed is not a scanner). One notice per scan episode:
//! an episode ends when the originator's distinct targets fall below half
//! the threshold again, so a later scan by the same host is a new notice.
//!
//! Must not: see packets or connection state, or keep more than
//! [`MAX_ORIGINATORS`] originators (the least recently seen are dropped).

use super::pool_ring::{Pool, PoolRing};
use super::Map as HashMap;
use super::{evict_oldest_with, failed, notice, thousands, HostDetector, Phase};
use crate::context::Features;
use crate::decode::Addr;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::{Ts, SEC};

/// Window length, seconds.
pub const WINDOW: i64 = 60;
/// Distinct hosts or ports that make a scan.
pub const MIN_DISTINCT: usize = 20;
/// Share of failed connections in the window.
pub const MIN_FAILED_SHARE: f64 = 0.5;
/// Most connections kept per originator.
pub const MAX_ENTRIES: usize = 4096;
/// Most originators tracked.
pub const MAX_ORIGINATORS: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Entry {
    at: Ts,
    host: Addr,
    port: (u16, u8),
    failed: bool,
}

/// Connections kept inline per originator before its window moves to the
/// heap (most originators make one or two connections a minute).
const INLINE: usize = 2;
/// Failed connections in the window from which the distinct counts are
/// kept ([`Counts`]): with fewer, the failed connections cannot reach
/// [`MIN_DISTINCT`] distinct hosts or ports, and an episode ends (its
/// failed targets are below half the threshold), so the counts would
/// decide nothing. An originator whose connections succeed keeps none.
const COUNT_FROM: usize = MIN_DISTINCT / 2;

/// A key's connections in an originator's window: all of them and the
/// failed ones.
#[derive(Default, Clone, Copy)]
struct Tally {
    all: u32,
    failed: u32,
}

/// Distinct targets, hosts and ports in an originator's window (a
/// [`Tally`] per key), and how many of each have failed connections: one
/// map update per kind of key and connection.
#[derive(Default)]
struct Counts {
    targets: HashMap<(Addr, (u16, u8)), Tally>,
    hosts: HashMap<Addr, Tally>,
    ports: HashMap<(u16, u8), Tally>,
    failed_targets: usize,
    failed_hosts: usize,
    failed_ports: usize,
}

/// Counts one connection of key `k`; true when it is the key's first
/// failed one.
fn bump<K: Eq + std::hash::Hash>(m: &mut HashMap<K, Tally>, k: K, failed: bool) -> bool {
    let t = m.entry(k).or_default();
    t.all += 1;
    t.failed += u32::from(failed);
    failed && t.failed == 1
}

/// Forgets one connection of key `k` (the key when it has none left);
/// true when it was the key's last failed one.
fn dec<K: Eq + std::hash::Hash>(m: &mut HashMap<K, Tally>, k: &K, failed: bool) -> bool {
    let Some(t) = m.get_mut(k) else {
        return false;
    };
    t.all = t.all.saturating_sub(1);
    let last_failed = failed && t.failed == 1;
    if failed {
        t.failed = t.failed.saturating_sub(1);
    }
    if t.all == 0 {
        m.remove(k);
    }
    last_failed
}

impl Counts {
    fn add(&mut self, e: &Entry) {
        let f = e.failed;
        self.failed_targets += usize::from(bump(&mut self.targets, (e.host, e.port), f));
        self.failed_hosts += usize::from(bump(&mut self.hosts, e.host, f));
        self.failed_ports += usize::from(bump(&mut self.ports, e.port, f));
    }

    fn remove(&mut self, e: &Entry) {
        let f = e.failed;
        self.failed_targets -= usize::from(dec(&mut self.targets, &(e.host, e.port), f));
        self.failed_hosts -= usize::from(dec(&mut self.hosts, &e.host, f));
        self.failed_ports -= usize::from(dec(&mut self.ports, &e.port, f));
    }

    /// The key of `m` with the most failed connections (ties: the larger
    /// key), and that count.
    fn top_failed<K: Copy + Ord>(m: &HashMap<K, Tally>) -> Option<(K, u32)> {
        m.iter()
            .filter(|(_, t)| t.failed > 0)
            .max_by_key(|(k, t)| (t.failed, **k))
            .map(|(k, t)| (*k, t.failed))
    }
}

#[derive(Default)]
struct Originator {
    entries: PoolRing<Entry, INLINE>,
    /// Kept only while the window holds [`COUNT_FROM`] failed connections
    /// or more (dropped below half of that), rebuilt from `entries` when
    /// needed.
    counts: Option<Box<Counts>>,
    failed: usize,
    last_seen: Ts,
    in_episode: bool,
    episode: u64,
    /// This episode's last notice.
    quiet: super::Quiet,
}

impl Originator {
    fn pop(&mut self, pool: &mut Pool<Entry>) {
        if let Some(e) = self.entries.pop_front(pool) {
            if e.failed {
                self.failed -= 1;
            }
            if let Some(c) = &mut self.counts {
                c.remove(&e);
            }
        }
    }

    fn push(&mut self, pool: &mut Pool<Entry>, e: Entry) {
        let oldest = e.at.0 - WINDOW * SEC;
        while self.entries.front(pool).is_some_and(|f| f.at.0 < oldest)
            || self.entries.len() >= MAX_ENTRIES
        {
            self.pop(pool);
        }
        if e.failed {
            self.failed += 1;
        }
        if let Some(c) = &mut self.counts {
            c.add(&e);
        }
        self.entries.push_back(pool, e);
        if self.failed < COUNT_FROM / 2 {
            self.counts = None;
        }
    }

    /// The distinct counts, built from the window if they are not kept.
    fn counts(&mut self, pool: &Pool<Entry>) -> &Counts {
        let entries = &self.entries;
        self.counts.get_or_insert_with(|| {
            let mut c = Box::<Counts>::default();
            for e in entries.iter(pool) {
                c.add(e);
            }
            c
        })
    }
}

/// The scan detector.
#[derive(Default)]
pub struct Scan {
    origs: HashMap<Addr, Originator>,
    /// The blocks of the originators' windows.
    pool: Pool<Entry>,
}

fn proto_name(t: u8) -> &'static str {
    match t {
        0 => "tcp",
        1 => "udp",
        2 => "icmp",
        _ => "other",
    }
}

impl HostDetector for Scan {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if self.origs.len() >= MAX_ORIGINATORS && !self.origs.contains_key(&c.orig_h) {
            let pool = &mut self.pool;
            evict_oldest_with(
                &mut self.origs,
                MAX_ORIGINATORS,
                |o| o.last_seen,
                |o| o.entries.clear(pool),
            );
        }
        let o = self.origs.entry(c.orig_h).or_default();
        o.last_seen = c.logged_at;
        let t = match c.transport {
            crate::conn::Transport::Tcp => 0,
            crate::conn::Transport::Udp => 1,
            crate::conn::Transport::Icmp => 2,
            crate::conn::Transport::Other => 3,
        };
        o.push(
            &mut self.pool,
            Entry {
                at: c.logged_at,
                host: c.resp_h,
                port: (c.resp_p, t),
                failed: failed(c),
            },
        );
        if o.failed < COUNT_FROM {
            // Not a scan, and an episode in progress is over (see COUNT_FROM).
            if o.in_episode {
                o.in_episode = false;
                o.episode += 1;
                o.quiet.reset();
            }
            return;
        }
        let k = o.counts(&self.pool);
        let (hosts, ports, targets) = (k.hosts.len(), k.ports.len(), k.targets.len());
        let (fh, fp, ft) = (k.failed_hosts, k.failed_ports, k.failed_targets);
        let n = o.entries.len();
        let share = ft as f64 / targets.max(1) as f64;
        let scanning = (fh >= MIN_DISTINCT || fp >= MIN_DISTINCT) && share >= MIN_FAILED_SHARE;
        if !scanning {
            if o.in_episode && ft < MIN_DISTINCT / 2 {
                o.in_episode = false;
                o.episode += 1;
                o.quiet.reset();
            }
            return;
        }
        o.in_episode = true;
        if phase != Phase::Score || !o.quiet.ready(c.logged_at) {
            return;
        }
        // Described by its failed part (the probes): the dominant host (a
        // port scan of one host) and port (a sweep) among the failed targets.
        let k = o.counts(&self.pool);
        let top_host = Counts::top_failed(&k.hosts);
        let top_port = Counts::top_failed(&k.ports);
        let nf = o.failed;
        let span = o
            .entries
            .iter(&self.pool)
            .find(|e| e.failed)
            .map_or(0.0, |f| (c.logged_at.0 - f.at.0) as f64 / SEC as f64);
        let dst = top_host
            .filter(|(_, k)| *k as usize * 10 >= nf * 8)
            .map(|(a, _)| a);
        let p = top_port
            .filter(|(_, k)| *k as usize * 10 >= nf * 8)
            .map(|(p, _)| p);
        let what = match (dst, p) {
            (Some(d), _) => format!("{} ports on {d}", thousands(fp as u64)),
            (None, Some((port, t))) => {
                format!("{} hosts on {port}/{}", thousands(fh as u64), proto_name(t))
            }
            (None, None) => format!(
                "{} ports on {} hosts",
                thousands(fp as u64),
                thousands(fh as u64)
            ),
        };
        let msg = format!(
            "{} probed {what} in {:.0} s: {} connections unanswered or rejected ({:.0} % of the {} targets it contacted)",
            c.orig_h,
            span.max(1.0),
            thousands(nf as u64),
            share * 100.0,
            thousands(targets as u64)
        );
        let sub = format!(
            "hosts={hosts} ports={ports} targets={targets} failed_hosts={fh} failed_ports={fp} failed_targets={ft} conns={n} failed_target_share={share:.3} window={WINDOW}s"
        );
        let tr = c.transport;
        out.push(notice(
            NoticeType::Scan,
            c,
            Some(c.orig_h),
            dst,
            p.map(|(port, _)| (port, tr)),
            Some(targets as u64),
            msg,
            sub,
            format!("{}-{}", c.orig_h, o.episode),
        ));
    }

    fn entries(&self) -> usize {
        self.origs.values().map(|o| 1 + o.entries.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_conn;
    use super::*;
    use crate::record::ConnState;

    fn run(conns: &[ConnSummary]) -> Vec<NoticeRecord> {
        let mut d = Scan::default();
        let mut out = Vec::new();
        for c in conns {
            d.observe(c, &Features::default(), Phase::Score, &mut out);
        }
        out
    }

    #[test]
    fn kept_counts_are_the_window_counted_again() {
        // Seeded entries pushed through an originator's window (old ones
        // leave by time and by the entry cap): the counts kept
        // incrementally equal the distinct keys of the window counted from
        // scratch, over all and over the failed connections.
        use std::collections::BTreeSet;
        let mut o = Originator::default();
        let mut pool = Pool::default();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for k in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            o.push(
                &mut pool,
                Entry {
                    at: Ts(k * SEC / 50 + (x % 7) as i64),
                    host: Addr::v4([10, 0, (x >> 8) as u8 % 3, (x >> 16) as u8 % 40]),
                    port: ((x >> 24) as u16 % 30, (x >> 40) as u8 % 2),
                    failed: x % 3 != 0,
                },
            );
            if k % 97 != 0 || o.entries.len() < COUNT_FROM {
                continue;
            }
            let es: Vec<Entry> = o.entries.iter(&pool).copied().collect();
            let distinct = |failed_only: bool| {
                let keep = |e: &&Entry| !failed_only || e.failed;
                let t: BTreeSet<_> = es.iter().filter(keep).map(|e| (e.host, e.port)).collect();
                let h: BTreeSet<_> = es.iter().filter(keep).map(|e| e.host).collect();
                let p: BTreeSet<_> = es.iter().filter(keep).map(|e| e.port).collect();
                (t.len(), h.len(), p.len())
            };
            let c = o.counts(&pool);
            assert_eq!(
                (c.targets.len(), c.hosts.len(), c.ports.len()),
                distinct(false)
            );
            assert_eq!(
                (c.failed_targets, c.failed_hosts, c.failed_ports),
                distinct(true)
            );
            let top = Counts::top_failed(&c.hosts);
            let want = es
                .iter()
                .filter(|e| e.failed)
                .map(|e| e.host)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|h| {
                    (
                        h,
                        es.iter().filter(|e| e.failed && e.host == h).count() as u32,
                    )
                })
                .max_by_key(|(h, n)| (*n, *h));
            assert_eq!(top, want);
        }
    }

    #[test]
    fn vertical_scan_of_one_host_is_flagged_with_its_counts() {
        // 25 ports on one host in 2.5 s, 24 of them refused.
        let conns: Vec<_> = (0..25)
            .map(|i| {
                let st = if i == 0 {
                    ConnState::SF
                } else {
                    ConnState::REJ
                };
                test_conn(
                    [10, 0, 0, 66],
                    [10, 0, 0, 10],
                    1000 + i,
                    100.0 + i as f64 * 0.1,
                    st,
                    0,
                    0,
                )
            })
            .collect();
        let n = run(&conns);
        assert!(!n.is_empty());
        let first = &n[0];
        assert_eq!(first.note, NoticeType::Scan);
        assert_eq!(first.n, Some(21));
        assert_eq!(first.src.map(|a| a.to_string()), Some("10.0.0.66".into()));
        assert_eq!(first.dst.map(|a| a.to_string()), Some("10.0.0.10".into()));
        assert!(
            first
                .msg
                .contains("probed 20 ports on 10.0.0.10 in 2 s: 20 connections"),
            "{}",
            first.msg
        );
        assert!(
            first.msg.contains("(95 % of the 21 targets"),
            "{}",
            first.msg
        );
    }

    #[test]
    fn horizontal_sweep_names_the_port() {
        let conns: Vec<_> = (0..30u8)
            .map(|i| {
                test_conn(
                    [192, 168, 2, 16],
                    [44, 1, i, 7],
                    23,
                    10.0 + f64::from(i),
                    ConnState::S0,
                    0,
                    0,
                )
            })
            .collect();
        let n = run(&conns);
        // One notice, at the 20th probe: the stage would suppress repeats,
        // so the detector builds none.
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].msg.contains("probed 20 hosts on 23/tcp"), "{n:?}");
        assert_eq!(n[0].dst, None);
        assert_eq!(n[0].p.map(|p| p.0), Some(23));
    }

    #[test]
    fn busy_successful_client_is_not_a_scan() {
        // 40 different web servers, all answered: a browser, not a scanner.
        let conns: Vec<_> = (0..40u8)
            .map(|i| {
                test_conn(
                    [10, 0, 0, 21],
                    [93, 1, i, 7],
                    443,
                    f64::from(i),
                    ConnState::SF,
                    500,
                    9000,
                )
            })
            .collect();
        assert!(run(&conns).is_empty());
        // Many failed connections to one service: a flood or a dead server, not a scan.
        let conns: Vec<_> = (0..400u16)
            .map(|i| {
                test_conn(
                    [10, 0, 0, 66],
                    [10, 0, 0, 10],
                    80,
                    f64::from(i) * 0.01,
                    ConnState::S0,
                    0,
                    0,
                )
            })
            .collect();
        assert!(run(&conns).is_empty());
    }

    #[test]
    fn a_later_scan_is_a_new_episode() {
        let mut conns: Vec<_> = (0..25)
            .map(|i| {
                test_conn(
                    [10, 0, 0, 66],
                    [10, 0, 0, 10],
                    1000 + i,
                    100.0 + f64::from(i) * 0.1,
                    ConnState::REJ,
                    0,
                    0,
                )
            })
            .collect();
        conns.extend((0..25).map(|i| {
            test_conn(
                [10, 0, 0, 66],
                [10, 0, 0, 11],
                1000 + i,
                400.0 + f64::from(i) * 0.1,
                ConnState::REJ,
                0,
                0,
            )
        }));
        let n = run(&conns);
        let ids: std::collections::BTreeSet<_> = n.iter().map(|x| x.identifier.clone()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
    }
}
