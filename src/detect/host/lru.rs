//! A bounded map that evicts its least recently used key: the tables of the
//! host detectors. Owns only ordering and capacity; what a value means is
//! the detector's business. Must not grow past its capacity or do more than
//! O(log n) work per access.

use super::Map;
use std::collections::BTreeMap;
use std::hash::Hash;

/// A map of at most `cap` keys; inserting a new key into a full map evicts
/// the key touched longest ago. Deterministic: recency is an access counter,
/// not a clock.
#[derive(Clone, Debug)]
pub(crate) struct Lru<K, V> {
    cap: usize,
    seq: u64,
    map: Map<K, (u64, V)>,
    order: BTreeMap<u64, K>,
}

impl<K: Clone + Eq + Hash, V> Lru<K, V> {
    /// An empty map holding at most `cap` (at least 1) keys.
    pub(crate) fn new(cap: usize) -> Self {
        Lru {
            cap: cap.max(1),
            seq: 0,
            map: Map::default(),
            order: BTreeMap::new(),
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
        self.seq += 1;
        let seq = self.seq;
        if let Some((s, _)) = self.map.get(k) {
            self.order.remove(s);
        } else {
            while self.map.len() >= self.cap {
                match self.order.pop_first() {
                    Some((_, old)) => {
                        self.map.remove(&old);
                    }
                    None => break,
                }
            }
        }
        self.order.insert(seq, k.clone());
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
        assert_eq!(m.order.len(), 2);
    }
}
