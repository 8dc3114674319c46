//! Names seen resolving to addresses, for conn.log's `orig_name` /
//! `resp_name` (`--conn-names`): a bounded cache fed by the DNS stage's
//! [`NameBatch`]es, and a reorder stage on the writer thread that applies
//! observations and looks up finished connections in network-time order,
//! so the names written are the same for any worker count.
//!
//! Owns the cache and the ordering. Must not see packets, read a clock, or
//! grow without bound: at most `capacity` addresses (the least recently
//! resolved is forgotten first) with at most [`NAMES_PER_ADDR`] names each.
//!
//! Ordering: every item carries the network time it was produced at
//! (a connection: its removal time; names: the reply's packet time). Items
//! are released once the watermark (every shard's clock) has passed them,
//! by time, connections before names of the same time (timers run before
//! the packet that fires them), connections of one time in arrival order.
//! The cache's state depends only on the set of observations released so
//! far, not on their order within one time (ties are broken by address and
//! name), so shards interleaving differently give the same names.

use super::record::NameBatch;
use crate::decode::Addr;
use crate::time::Ts;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

/// Most names kept per address (the most recently seen).
pub const NAMES_PER_ADDR: usize = 3;
/// Default number of addresses kept.
pub const DEFAULT_CAPACITY: usize = 65_536;
/// Longest name kept, bytes.
const NAME_MAX: usize = 255;

/// The names of one address, most recent first.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// `(seen at, name)`, sorted by time then name, descending.
    names: Vec<(Ts, Box<[u8]>)>,
}

impl Entry {
    fn last(&self) -> Ts {
        self.names.first().map(|n| n.0).unwrap_or(Ts(i64::MIN))
    }
}

/// Address → names, bounded.
#[derive(Debug)]
pub struct NameCache {
    map: HashMap<Addr, Entry>,
    /// `(last seen, address)` min-heap for eviction; entries whose address
    /// has been seen since are stale and skipped (compacted when the heap
    /// outgrows the map).
    by_age: BinaryHeap<Reverse<(Ts, Addr)>>,
    capacity: usize,
}

impl NameCache {
    /// A cache of at most `capacity` addresses (at least 1).
    pub fn new(capacity: usize) -> NameCache {
        NameCache {
            map: HashMap::new(),
            by_age: BinaryHeap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Number of addresses held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `name` resolved to `addr` at `at`.
    pub fn insert(&mut self, at: Ts, addr: Addr, name: &[u8]) {
        if name.is_empty() {
            return;
        }
        let name = &name[..name.len().min(NAME_MAX)];
        let e = self.map.entry(addr).or_default();
        let old = e.last();
        match e.names.iter().position(|(_, n)| &n[..] == name) {
            Some(k) if e.names[k].0 >= at => {}
            Some(k) => e.names[k].0 = at,
            None => e.names.push((at, name.into())),
        }
        e.names
            .sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        e.names.truncate(NAMES_PER_ADDR);
        let new = e.last();
        if old != new {
            self.by_age.push(Reverse((new, addr)));
        }
        // Evict the least recently resolved (ties: the lowest address).
        while self.map.len() > self.capacity {
            let Some(Reverse((t, a))) = self.by_age.pop() else {
                break;
            };
            if self.map.get(&a).is_some_and(|e| e.last() == t) {
                self.map.remove(&a);
            }
        }
        if self.by_age.len() > 2 * self.map.len() + 1024 {
            self.by_age = self
                .map
                .iter()
                .map(|(a, e)| Reverse((e.last(), *a)))
                .collect();
        }
    }

    /// The names of `addr`, most recent first (ties: by name, descending).
    pub fn get(&self, addr: &Addr) -> impl Iterator<Item = &[u8]> {
        self.map
            .get(addr)
            .into_iter()
            .flat_map(|e| e.names.iter().map(|(_, n)| &n[..]))
    }
}

/// An item waiting for the watermark.
struct Item<R> {
    at: Ts,
    /// 0: a connection, 1: names.
    kind: u8,
    seq: u64,
    what: What<R>,
}

/// Boxed: the heap moves items while sifting, and records are large.
enum What<R> {
    Conn(Box<R>),
    Names(Box<NameBatch>),
}

impl<R> Item<R> {
    fn key(&self) -> (Ts, u8, u64) {
        (self.at, self.kind, self.seq)
    }
}

impl<R> PartialEq for Item<R> {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl<R> Eq for Item<R> {}
impl<R> PartialOrd for Item<R> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<R> Ord for Item<R> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on the key.
        o.key().cmp(&self.key())
    }
}

/// The writer-thread stage: finished connections (`R`) and name
/// observations in, connections with the cache as it stood at their time out.
pub struct NameStage<R> {
    heap: BinaryHeap<Item<R>>,
    seq: u64,
    cache: NameCache,
}

impl<R> NameStage<R> {
    /// A stage with a cache of `capacity` addresses.
    pub fn new(capacity: usize) -> Self {
        NameStage {
            heap: BinaryHeap::new(),
            seq: 0,
            cache: NameCache::new(capacity),
        }
    }

    fn push(&mut self, at: Ts, kind: u8, what: What<R>) {
        self.seq += 1;
        self.heap.push(Item {
            at,
            kind,
            seq: self.seq,
            what,
        });
    }

    /// A connection removed at `at`.
    pub fn push_conn(&mut self, at: Ts, r: R) {
        self.push(at, 0, What::Conn(Box::new(r)));
    }

    /// Names seen in a reply.
    pub fn push_names(&mut self, b: NameBatch) {
        if !b.pairs.is_empty() {
            self.push(b.at, 1, What::Names(Box::new(b)));
        }
    }

    /// Whether [`release`](Self::release) with `watermark` would release anything.
    pub fn ready(&self, watermark: Ts) -> bool {
        self.heap.peek().is_some_and(|i| i.at < watermark)
    }

    /// Releases every item before `watermark` (everything when `None`):
    /// names go into the cache, connections to `f` with the cache.
    pub fn release(&mut self, watermark: Option<Ts>, f: &mut dyn FnMut(R, &NameCache)) {
        while self
            .heap
            .peek()
            .is_some_and(|i| watermark.is_none_or(|w| i.at < w))
        {
            let Some(item) = self.heap.pop() else {
                break;
            };
            match item.what {
                What::Conn(r) => f(*r, &self.cache),
                What::Names(b) => {
                    for &(a, s) in &b.pairs {
                        self.cache.insert(b.at, a, b.name(s));
                    }
                }
            }
        }
    }

    /// The cache (for rows written outside the ordered path).
    pub fn cache(&self) -> &NameCache {
        &self.cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(x: u8) -> Addr {
        Addr::v4([10, 0, 0, x])
    }

    fn names(c: &NameCache, x: u8) -> Vec<String> {
        c.get(&a(x))
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    #[test]
    fn keeps_the_most_recent_names_per_address() {
        let mut c = NameCache::new(10);
        c.insert(Ts(1), a(1), b"one.example");
        c.insert(Ts(2), a(1), b"two.example");
        c.insert(Ts(3), a(1), b"three.example");
        c.insert(Ts(4), a(1), b"four.example");
        c.insert(Ts(5), a(1), b"two.example");
        assert_eq!(
            names(&c, 1),
            ["two.example", "four.example", "three.example"]
        );
        // An older sighting of a kept name does not move it.
        c.insert(Ts(1), a(1), b"four.example");
        assert_eq!(
            names(&c, 1),
            ["two.example", "four.example", "three.example"]
        );
        assert!(names(&c, 2).is_empty());
    }

    #[test]
    fn evicts_the_least_recently_resolved_address() {
        let mut c = NameCache::new(2);
        c.insert(Ts(1), a(1), b"a");
        c.insert(Ts(2), a(2), b"b");
        c.insert(Ts(3), a(1), b"a2"); // a(1) is now the most recent
        c.insert(Ts(4), a(3), b"c");
        assert_eq!(c.len(), 2);
        assert!(names(&c, 2).is_empty());
        assert_eq!(names(&c, 1), ["a2", "a"]);
        assert_eq!(names(&c, 3), ["c"]);
    }

    #[test]
    fn state_does_not_depend_on_order_within_a_time() {
        let obs = [
            (5, 1, "x"),
            (5, 2, "y"),
            (5, 3, "z"),
            (5, 1, "w"),
            (6, 4, "v"),
        ];
        let run = |order: &[usize]| {
            let mut c = NameCache::new(2);
            for &k in order {
                let (t, x, n) = obs[k];
                c.insert(Ts(t), a(x), n.as_bytes());
            }
            (1..=4).map(|x| names(&c, x)).collect::<Vec<_>>()
        };
        let want = run(&[0, 1, 2, 3, 4]);
        for order in [[3, 2, 1, 0, 4], [1, 3, 0, 2, 4], [2, 0, 3, 1, 4]] {
            assert_eq!(run(&order), want, "{order:?}");
        }
    }

    #[test]
    fn stage_orders_by_time_with_connections_first() {
        let mut s: NameStage<&'static str> = NameStage::new(8);
        let batch = |t: i64, x: u8, n: &str| NameBatch {
            at: Ts(t),
            pairs: vec![(a(x), (0, n.len() as u32))],
            text: n.as_bytes().to_vec(),
        };
        // Arrival order differs from time order (two shards).
        s.push_conn(Ts(30), "late");
        s.push_names(batch(10, 1, "first.example"));
        s.push_conn(Ts(10), "same-time");
        s.push_names(batch(20, 1, "second.example"));
        let mut seen = Vec::new();
        assert!(!s.ready(Ts(10)));
        assert!(s.ready(Ts(11)));
        s.release(Some(Ts(25)), &mut |r, c| {
            seen.push((r, names(c, 1)));
        });
        // Released before the watermark only; "same-time" precedes the names of its time.
        assert_eq!(seen, vec![("same-time", vec![])]);
        s.release(None, &mut |r, c| seen.push((r, names(c, 1))));
        assert_eq!(
            seen[1],
            (
                "late",
                vec!["second.example".to_string(), "first.example".to_string()]
            )
        );
    }
}
