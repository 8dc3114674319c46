//! Per-originator connection and byte counts per fixed interval of network
//! time: the series the detectors model.
//!
//! Intervals are `[k·I, (k+1)·I)` of `logged_at` (epoch-aligned). Each
//! connection adds itself to its originator's counts of the interval it was
//! logged in and reports the running totals (itself included — so the last
//! connection of a host in an interval carries the interval's totals) and
//! the host's totals of the immediately preceding interval (0 when the host
//! had none, or that interval had no connections at all).

use super::ConnInfo;
use crate::decode::Addr;
use crate::time::Ts;
use std::collections::HashMap;

type Map = HashMap<Addr, (u64, u64), foldhash::fast::FixedState>;

fn map() -> Map {
    HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0x5e_41e5))
}

/// One originator's series values reported with a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesValue {
    /// Connections from the originator logged so far in this interval (this one included).
    pub conns: u64,
    /// Their `orig_ip_bytes + resp_ip_bytes`.
    pub bytes: u64,
    /// Connections from the originator in the previous interval.
    pub prev_conns: u64,
    /// Their bytes.
    pub prev_bytes: u64,
}

/// The interval tables: current and previous interval, per originator host.
pub struct HostSeries {
    interval: i64,
    max_hosts: usize,
    index: Option<i64>,
    cur: Map,
    prev: Map,
}

impl HostSeries {
    /// Intervals of `interval` nanoseconds (at least 1), at most `max_hosts`
    /// hosts tracked per interval.
    pub fn new(interval: i64, max_hosts: usize) -> HostSeries {
        HostSeries {
            interval: interval.max(1),
            max_hosts,
            index: None,
            cur: map(),
            prev: map(),
        }
    }

    /// Adds `c` (connections must come in non-decreasing `logged_at`) and
    /// returns its interval start and its originator's values. A host first
    /// seen in an interval whose table already holds `max_hosts` hosts is
    /// not tracked and reports 0 for the current interval.
    pub fn observe(&mut self, c: &ConnInfo) -> (Ts, SeriesValue) {
        let k = c.logged_at.0.div_euclid(self.interval);
        match self.index {
            Some(i) if i == k => {}
            Some(i) if i + 1 == k => {
                std::mem::swap(&mut self.cur, &mut self.prev);
                self.cur.clear();
            }
            _ => {
                self.prev.clear();
                self.cur.clear();
            }
        }
        self.index = Some(k);
        let (conns, bytes) = if self.cur.len() < self.max_hosts || self.cur.contains_key(&c.orig_h)
        {
            let e = self.cur.entry(c.orig_h).or_insert((0, 0));
            e.0 += 1;
            e.1 += c.bytes;
            *e
        } else {
            (0, 0)
        };
        let (prev_conns, prev_bytes) = self.prev.get(&c.orig_h).copied().unwrap_or((0, 0));
        (
            Ts(k * self.interval),
            SeriesValue {
                conns,
                bytes,
                prev_conns,
                prev_bytes,
            },
        )
    }
}
