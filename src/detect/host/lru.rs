//! A bounded map that evicts its least recently used key: the tables of the
//! host detectors. Owns only ordering and capacity; what a value means is
//! the detector's business. Must not grow past its capacity or do more than
//! amortised O(1) work per access.

use super::Map;
use std::collections::VecDeque;
use std::hash::Hash;

/// A map of at most `cap` keys; inserting a new key into a full map evicts
/// the key touched longest ago. Deterministic: recency is an access counter,
/// not a clock.
#[derive(Clone, Debug)]
pub(crate) struct Lru<K, V> {
    cap: usize,
    seq: u64,
    map: Map<K, (u64, V)>,
    /// Every touch as `(seq, key)`, oldest first, once the map has been
    /// full (before, the map's own seqs are the order: it is built from
    /// them when the first eviction needs it, so a map that never fills
    /// keeps no queue). An entry is live while its seq is the key's
    /// current one; stale entries are skipped when evicting and swept once
    /// they outnumber the live ones.
    order: VecDeque<(u64, K)>,
    /// Whether `order` holds every live key (the map has been full).
    ordered: bool,
}

impl<K: Clone + Eq + Hash, V> Lru<K, V> {
    /// An empty map holding at most `cap` (at least 1) keys.
    pub(crate) fn new(cap: usize) -> Self {
        Lru {
            cap: cap.max(1),
            seq: 0,
            map: Map::default(),
            order: VecDeque::new(),
            ordered: false,
        }
    }

    /// Number of keys held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The value of `k` (no recency update).
    pub(crate) fn peek(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(_, v)| v)
    }

    /// The value of `k`, made most recent; created with `new` if absent
    /// (evicting the least recent key when full).
    pub(crate) fn touch(&mut self, k: &K, new: impl FnOnce() -> V) -> &mut V {
        self.touch_with(k, new, |_| {})
    }

    /// [`touch`](Self::touch), handing each evicted value to `on_evict`
    /// (to give back what it holds elsewhere, e.g. its
    /// [`pool_ring`](super::pool_ring) blocks).
    pub(crate) fn touch_with(
        &mut self,
        k: &K,
        new: impl FnOnce() -> V,
        mut on_evict: impl FnMut(V),
    ) -> &mut V {
        self.seq += 1;
        let seq = self.seq;
        if self.map.len() >= self.cap && !self.map.contains_key(k) {
            if !self.ordered {
                let mut all: Vec<(u64, K)> =
                    self.map.iter().map(|(k, (s, _))| (*s, k.clone())).collect();
                all.sort_unstable_by_key(|(s, _)| *s);
                self.order = all.into();
                self.ordered = true;
            }
            while self.map.len() >= self.cap {
                let Some((s, old)) = self.order.pop_front() else {
                    break;
                };
                if self.map.get(&old).is_some_and(|(cur, _)| *cur == s) {
                    if let Some((_, v)) = self.map.remove(&old) {
                        on_evict(v);
                    }
                }
            }
        }
        if self.ordered {
            self.order.push_back((seq, k.clone()));
            if self.order.len() > 2 * self.cap + 64 {
                let map = &self.map;
                self.order
                    .retain(|(s, key)| key == k || map.get(key).is_some_and(|(cur, _)| cur == s));
            }
        }
        let e = self.map.entry(k.clone()).or_insert_with(|| (seq, new()));
        e.0 = seq;
        &mut e.1
    }

    /// All values (any order).
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|(_, v)| v)
    }
}

/// FNV-1a 64 over bytes, continuing from `h` (start with [`FNV_OFFSET`]):
/// a hash that is the same on every run and platform, for model files.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a 64 offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_touched() {
        let mut m: Lru<u32, u32> = Lru::new(2);
        *m.touch(&1, || 10) += 1;
        m.touch(&2, || 20);
        m.touch(&1, || 0); // 1 is now the most recent
        m.touch(&3, || 30); // evicts 2
        assert_eq!(m.len(), 2);
        assert_eq!(m.peek(&1), Some(&11));
        assert_eq!(m.peek(&2), None);
        assert_eq!(m.peek(&3), Some(&30));
    }

    /// Touches keys drawn by `key(i, x)` for `n` steps on an Lru of `cap`
    /// and on a vector in recency order (the oracle); they agree at every
    /// step, and the queue stays bounded.
    fn against_naive(cap: usize, n: u32, key: impl Fn(u32, u32) -> u32) {
        let mut m: Lru<u32, u32> = Lru::new(cap);
        let mut naive: Vec<(u32, u32)> = Vec::new();
        let mut x: u32 = 12345;
        for i in 0..n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let k = key(i, x >> 16);
            *m.touch(&k, || 0) += 1;
            match naive.iter().position(|(key, _)| *key == k) {
                Some(i) => {
                    let mut e = naive.remove(i);
                    e.1 += 1;
                    naive.push(e);
                }
                None => {
                    if naive.len() == cap {
                        naive.remove(0);
                    }
                    naive.push((k, 1));
                }
            }
            assert_eq!(m.len(), naive.len());
            assert!(m.order.len() <= 2 * cap + 64 + 1);
        }
        for (k, v) in &naive {
            assert_eq!(m.peek(k), Some(v));
        }
    }

    #[test]
    fn matches_a_naive_lru_and_stays_bounded() {
        against_naive(8, 20_000, |_, x| x % 13);
    }

    #[test]
    fn matches_a_naive_lru_when_it_fills_late() {
        // Many touches of fewer keys than the capacity (no queue kept),
        // then more keys: the first eviction takes the order from the
        // map's own recency, then the queue keeps it.
        against_naive(
            100,
            30_000,
            |i, x| if i < 10_000 { x % 90 } else { x % 300 },
        );
        let mut m: Lru<u32, u32> = Lru::new(4);
        for k in 0..4 {
            m.touch(&k, || k);
        }
        assert!(m.order.is_empty(), "no queue before the map is full");
    }
}
