//! Multiset counters over the connections of a window: added when a
//! connection enters, removed when it leaves, so every query is a few hash
//! lookups. Keys whose count drops to zero are removed, so the maps never
//! hold more keys than the window holds connections.

use super::{ConnInfo, Service};
use crate::decode::Addr;
use std::collections::HashMap;
use std::hash::Hash;

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

fn map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0xc0_47e7))
}

/// Connections, SYN errors and REJ errors in a group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Group {
    n: u64,
    serror: u64,
    rerror: u64,
}

/// One originator's connections in the window, and how many distinct
/// responder hosts and services they go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Src {
    conns: u64,
    hosts: u64,
    ports: u64,
}

/// Adds `d` (±1) to `m[k]`; returns the new count, removing zero entries.
fn bump<K: Hash + Eq>(m: &mut Map<K, u64>, k: K, up: bool) -> u64 {
    if up {
        let v = m.entry(k).or_insert(0);
        *v += 1;
        *v
    } else {
        match m.get_mut(&k) {
            Some(v) if *v > 1 => {
                *v -= 1;
                *v
            }
            Some(_) => {
                m.remove(&k);
                0
            }
            None => {
                debug_assert!(false, "removing a key not in the window");
                0
            }
        }
    }
}

fn bump_group<K: Hash + Eq + Copy>(m: &mut Map<K, Group>, k: K, c: &ConnInfo, up: bool) {
    let e = m.entry(k).or_default();
    if up {
        e.n += 1;
        e.serror += c.serror as u64;
        e.rerror += c.rerror as u64;
    } else {
        e.n -= 1;
        e.serror -= c.serror as u64;
        e.rerror -= c.rerror as u64;
        if e.n == 0 {
            m.remove(&k);
        }
    }
}

fn get<K: Hash + Eq>(m: &Map<K, u64>, k: &K) -> u64 {
    m.get(k).copied().unwrap_or(0)
}

/// The aggregates of one window.
pub struct WindowAgg {
    host: Map<Addr, Group>,
    srv: Map<Service, Group>,
    host_srv: Map<(Addr, Service), u64>,
    srv_sport: Map<(Service, u16), u64>,
    /// Per originator: its connections, distinct hosts and services.
    src: Map<Addr, Src>,
    src_host: Map<(Addr, Addr), u64>,
    src_port: Map<(Addr, Service), u64>,
}

impl Default for WindowAgg {
    fn default() -> Self {
        WindowAgg {
            host: map(),
            srv: map(),
            host_srv: map(),
            srv_sport: map(),
            src: map(),
            src_host: map(),
            src_port: map(),
        }
    }
}

/// What a window says about one connection (all counts over the window's
/// connections, the connection itself not included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// To the same responder host.
    pub host: u64,
    /// ... of which SYN errors.
    pub host_serror: u64,
    /// ... of which REJ errors.
    pub host_rerror: u64,
    /// To the same service.
    pub srv: u64,
    /// ... of which SYN errors.
    pub srv_serror: u64,
    /// ... of which REJ errors.
    pub srv_rerror: u64,
    /// To the same responder host and service.
    pub host_srv: u64,
    /// To the same service from the same originator port.
    pub srv_sport: u64,
    /// From the same originator host.
    pub src: u64,
    /// Distinct responder hosts of those.
    pub src_hosts: u64,
    /// Distinct services of those.
    pub src_ports: u64,
}

impl WindowAgg {
    fn update(&mut self, c: &ConnInfo, up: bool) {
        let s = c.service();
        bump_group(&mut self.host, c.resp_h, c, up);
        bump_group(&mut self.srv, s, c, up);
        bump(&mut self.host_srv, (c.resp_h, s), up);
        bump(&mut self.srv_sport, (s, c.orig_p), up);
        // A pair entering (count 0 -> 1) or leaving (1 -> 0) changes the
        // originator's number of distinct responders / services.
        let n = bump(&mut self.src_host, (c.orig_h, c.resp_h), up);
        let new_host = u64::from((up && n == 1) || (!up && n == 0));
        let n = bump(&mut self.src_port, (c.orig_h, s), up);
        let new_port = u64::from((up && n == 1) || (!up && n == 0));
        if up {
            let e = self.src.entry(c.orig_h).or_default();
            e.conns += 1;
            e.hosts += new_host;
            e.ports += new_port;
        } else if let Some(e) = self.src.get_mut(&c.orig_h) {
            e.conns = e.conns.saturating_sub(1);
            e.hosts = e.hosts.saturating_sub(new_host);
            e.ports = e.ports.saturating_sub(new_port);
            if e.conns == 0 {
                self.src.remove(&c.orig_h);
            }
        } else {
            debug_assert!(false, "removing an originator not in the window");
        }
    }

    /// Adds a connection entering the window.
    pub fn add(&mut self, c: &ConnInfo) {
        self.update(c, true);
    }

    /// Removes a connection leaving the window (must have been added).
    pub fn remove(&mut self, c: &ConnInfo) {
        self.update(c, false);
    }

    /// The counts for `c` over the connections now in the window.
    pub fn counts(&self, c: &ConnInfo) -> WindowCounts {
        let s = c.service();
        let h = self.host.get(&c.resp_h).copied().unwrap_or_default();
        let v = self.srv.get(&s).copied().unwrap_or_default();
        let src = self.src.get(&c.orig_h).copied().unwrap_or_default();
        WindowCounts {
            host: h.n,
            host_serror: h.serror,
            host_rerror: h.rerror,
            srv: v.n,
            srv_serror: v.serror,
            srv_rerror: v.rerror,
            host_srv: get(&self.host_srv, &(c.resp_h, s)),
            srv_sport: get(&self.srv_sport, &(s, c.orig_p)),
            src: src.conns,
            src_hosts: src.hosts,
            src_ports: src.ports,
        }
    }

    /// Whether the window is empty (every map drained).
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
            && self.srv.is_empty()
            && self.host_srv.is_empty()
            && self.srv_sport.is_empty()
            && self.src.is_empty()
            && self.src_host.is_empty()
            && self.src_port.is_empty()
    }
}
