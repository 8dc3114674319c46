//! `ConnScope::Flood`: a burst of half-open or rejected connections towards
//! one responder service — a SYN flood (hping3, booters) or a connection
//! exhaustion attempt. Per responder host, port and transport, one-second
//! buckets over the last [`WINDOW`] seconds count connections and failed
//! ones (never answered, or refused), and a majority vote (Boyer–Moore)
//! finds the dominant originator. A notice is raised when the window holds
//! at least [`MIN_FAILED`] failed connections, at a rate of at least
//! [`MIN_RATE`] per second, and at least [`MIN_FAILED_SHARE`] of the
//! service's connections failed. It names the victim (`dst`, `p`) and, when
//! one originator sent at least half of them, the source (`src`); with
//! spoofed random sources `src` is unset. One notice per flood episode.
//!
//! Must not: see packets or connection state, or keep more than
//! [`MAX_SERVICES`] responder services (least recently seen dropped).

use super::Map as HashMap;
use super::{evict_oldest, failed, notice, thousands, HostDetector, Phase, Quiet};
use crate::conn::Transport;
use crate::context::Features;
use crate::decode::Addr;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::{Ts, SEC};

/// Window length, seconds (one bucket per second).
pub const WINDOW: usize = 10;
/// Failed connections in the window that make a flood.
pub const MIN_FAILED: u64 = 100;
/// Failed connections per second.
pub const MIN_RATE: f64 = 10.0;
/// Share of the service's connections that failed.
pub const MIN_FAILED_SHARE: f64 = 0.8;
/// Most responder services tracked.
pub const MAX_SERVICES: usize = 1 << 16;

#[derive(Default)]
struct Service {
    /// (second, conns, failed) per bucket, indexed by second % WINDOW.
    buckets: [(i64, u64, u64); WINDOW],
    candidate: Option<Addr>,
    votes: u64,
    /// Failed connections from the candidate in the episode (exact when
    /// the candidate did not change).
    cand_failed: u64,
    /// Failed connections since the episode's first.
    ep_failed: u64,
    last_seen: Ts,
    in_episode: bool,
    episode: u64,
    first_failed: Option<Ts>,
    /// This episode's last notice.
    quiet: Quiet,
}

impl Service {
    fn totals(&self, now_s: i64) -> (u64, u64) {
        let lo = now_s - WINDOW as i64;
        self.buckets
            .iter()
            .filter(|b| b.0 > lo && b.0 <= now_s)
            .fold((0, 0), |(c, f), b| (c + b.1, f + b.2))
    }
}

/// The flood detector.
#[derive(Default)]
pub struct Flood {
    services: HashMap<(Addr, u16, Transport), Service>,
}

impl HostDetector for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if c.transport == Transport::Icmp {
            return;
        }
        let key = (c.resp_h, c.resp_p, c.transport);
        if self.services.len() >= MAX_SERVICES && !self.services.contains_key(&key) {
            evict_oldest(&mut self.services, MAX_SERVICES, |s| s.last_seen);
        }
        let s = self.services.entry(key).or_default();
        s.last_seen = c.logged_at;
        let sec = c.logged_at.0.div_euclid(SEC);
        let b = &mut s.buckets[sec.rem_euclid(WINDOW as i64) as usize];
        if b.0 != sec {
            *b = (sec, 0, 0);
        }
        b.1 += 1;
        let fail = failed(c);
        if fail {
            b.2 += 1;
            s.ep_failed += 1;
            s.first_failed.get_or_insert(c.start);
            if s.candidate == Some(c.orig_h) {
                s.votes += 1;
                s.cand_failed += 1;
            } else if s.votes == 0 {
                s.candidate = Some(c.orig_h);
                s.votes = 1;
                s.cand_failed = 1;
            } else {
                s.votes -= 1;
            }
        }
        let (conns, nfailed) = s.totals(sec);
        let share = nfailed as f64 / conns.max(1) as f64;
        let rate = nfailed as f64 / WINDOW as f64;
        let flooding = nfailed >= MIN_FAILED && rate >= MIN_RATE && share >= MIN_FAILED_SHARE;
        // The rate the flood actually ran at: failures since the episode's
        // first one, over the time since (at least one second).
        let since = s
            .first_failed
            .map_or(1.0, |f| ((c.start.0 - f.0) as f64 / SEC as f64).max(1.0));
        let actual_rate = s.ep_failed as f64 / since;
        if !flooding {
            if s.in_episode && nfailed < MIN_FAILED / 2 {
                s.in_episode = false;
                s.episode += 1;
                s.candidate = None;
                s.votes = 0;
                s.cand_failed = 0;
                s.ep_failed = 0;
                s.first_failed = None;
                s.quiet.reset();
            } else if !s.in_episode && nfailed <= 1 {
                // Quiet window: start the vote afresh.
                s.first_failed = None;
                s.ep_failed = u64::from(fail);
                s.cand_failed = u64::from(fail);
                s.votes = u64::from(fail);
                s.candidate = fail.then_some(c.orig_h);
            }
            return;
        }
        s.in_episode = true;
        if phase != Phase::Score {
            return;
        }
        if !s.quiet.ready(c.logged_at) {
            return;
        }
        // The dominant source, if it sent at least half of the window's failures.
        let src = s.candidate.filter(|_| s.cand_failed * 2 >= s.ep_failed);
        let proto = c.transport.name();
        let from = match src {
            Some(a) => format!(" from {a}"),
            None => " from many sources".to_string(),
        };
        let msg = format!(
            "{} received {} connection attempts on {}/{proto} in {:.0} s{from}; {:.0} % never completed ({:.0} per second)",
            c.resp_h,
            thousands(conns),
            c.resp_p,
            since.min(WINDOW as f64),
            share * 100.0,
            actual_rate
        );
        let sub = format!(
            "failed={nfailed} conns={conns} failed_share={share:.3} window_rate={rate:.1}/s episode_failed={} episode_rate={actual_rate:.1}/s window={WINDOW}s",
            s.ep_failed
        );
        out.push(notice(
            NoticeType::Flood,
            c,
            src,
            Some(c.resp_h),
            Some((c.resp_p, c.transport)),
            Some(nfailed),
            msg,
            sub,
            format!("{}-{}-{}-{}", c.resp_h, c.resp_p, proto, s.episode),
        ));
    }

    fn entries(&self) -> usize {
        self.services.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_conn;
    use super::*;
    use crate::record::ConnState;

    fn run(conns: &[ConnSummary]) -> Vec<NoticeRecord> {
        let mut d = Flood::default();
        let mut out = Vec::new();
        for c in conns {
            d.observe(c, &Features::default(), Phase::Score, &mut out);
        }
        out
    }

    #[test]
    fn syn_flood_from_one_source_is_flagged() {
        // 400 SYNs per second for 2 s from one host: the first notice comes
        // with the 100th failed connection in the window.
        let conns: Vec<_> = (0..800u32)
            .map(|i| {
                test_conn(
                    [10, 0, 0, 66],
                    [10, 0, 0, 10],
                    80,
                    50.0 + f64::from(i) / 400.0,
                    ConnState::S0,
                    0,
                    0,
                )
            })
            .collect();
        let n = run(&conns);
        assert!(!n.is_empty());
        let first = &n[0];
        assert_eq!(first.n, Some(100));
        assert_eq!(first.src.map(|a| a.to_string()), Some("10.0.0.66".into()));
        assert_eq!(first.dst.map(|a| a.to_string()), Some("10.0.0.10".into()));
        assert_eq!(first.p.map(|p| p.0), Some(80));
        assert!(
            first
                .msg
                .contains("100 connection attempts on 80/tcp in 1 s from 10.0.0.66"),
            "{}",
            first.msg
        );
        assert!(first.msg.contains("100 % never completed"), "{}", first.msg);
    }

    #[test]
    fn spoofed_sources_leave_src_unset() {
        let conns: Vec<_> = (0..300u32)
            .map(|i| {
                let a = (i % 250) as u8;
                test_conn(
                    [100, 1, a, (i / 250) as u8],
                    [10, 0, 0, 10],
                    80,
                    50.0 + f64::from(i) / 300.0,
                    ConnState::S0,
                    0,
                    0,
                )
            })
            .collect();
        let n = run(&conns);
        assert!(!n.is_empty());
        assert_eq!(n[0].src, None, "{}", n[0].msg);
        assert!(n[0].msg.contains("from many sources"));
    }

    #[test]
    fn busy_healthy_server_and_slow_failures_are_not_floods() {
        // 1,000 answered connections per second.
        let conns: Vec<_> = (0..2000u32)
            .map(|i| {
                test_conn(
                    [10, 0, (i % 200) as u8, 1],
                    [10, 0, 0, 10],
                    443,
                    f64::from(i) / 1000.0,
                    ConnState::SF,
                    300,
                    3000,
                )
            })
            .collect();
        assert!(run(&conns).is_empty());
        // A dead server retried once a second by a client: failed, but slow.
        let conns: Vec<_> = (0..300u32)
            .map(|i| {
                test_conn(
                    [10, 0, 0, 21],
                    [10, 0, 0, 10],
                    8080,
                    f64::from(i),
                    ConnState::REJ,
                    0,
                    0,
                )
            })
            .collect();
        assert!(run(&conns).is_empty());
    }
}
