//! The flow table's hash index: 32-bit key hashes to slot numbers.
//!
//! Owns only the mapping from a key's hash to candidate slots; the caller
//! compares keys (they live in the slots). Open addressing with linear
//! probing and backward-shift deletion (no tombstones), one `u64` per
//! bucket: the high half is the key's 32-bit hash, the low half the slot
//! number plus one (0 = empty bucket). A lookup reads one cache line in the
//! common case (hashbrown's control bytes and entries are two).
//!
//! It must not know what a key is, and it never fails: every slot number a
//! caller stores is a `u32`.

/// Buckets of an empty index.
const MIN_BUCKETS: usize = 1024;

/// Hash-to-slot index (see the module header).
pub struct SlotIndex {
    buckets: Vec<u64>,
    mask: usize,
    len: usize,
}

impl Default for SlotIndex {
    fn default() -> Self {
        SlotIndex::new()
    }
}

#[inline]
fn entry(h: u32, slot: u32) -> u64 {
    (h as u64) << 32 | (slot as u64 + 1)
}

#[inline]
fn hash_of(e: u64) -> u32 {
    (e >> 32) as u32
}

#[inline]
fn slot_of(e: u64) -> u32 {
    (e as u32).wrapping_sub(1)
}

impl SlotIndex {
    /// An empty index.
    pub fn new() -> Self {
        SlotIndex {
            buckets: vec![0; MIN_BUCKETS],
            mask: MIN_BUCKETS - 1,
            len: 0,
        }
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn home(&self, h: u32) -> usize {
        h as usize & self.mask
    }

    /// The bucket of the first entry of `h`'s probe run for which `hit`
    /// holds (the run ends at an empty bucket).
    #[inline]
    fn probe(&self, h: u32, mut hit: impl FnMut(u64) -> bool) -> Option<usize> {
        let mut i = self.home(h);
        loop {
            let e = *self.buckets.get(i)?;
            if e == 0 {
                return None;
            }
            if hit(e) {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The slot of the first entry with hash `h` for which `is_key` holds.
    #[inline]
    pub fn find(&self, h: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let i = self.probe(h, |e| hash_of(e) == h && is_key(slot_of(e)))?;
        self.buckets.get(i).map(|&e| slot_of(e))
    }

    /// Adds `slot` under hash `h` (the caller makes sure its key is not
    /// already present).
    pub fn insert(&mut self, h: u32, slot: u32) {
        if (self.len + 1) * 2 > self.buckets.len() {
            self.grow();
        }
        self.place(entry(h, slot));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mut i = self.home(hash_of(e));
        while let Some(b) = self.buckets.get_mut(i) {
            if *b == 0 {
                *b = e;
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let n = self.buckets.len() * 2;
        let old = std::mem::replace(&mut self.buckets, vec![0; n]);
        self.mask = n - 1;
        for e in old.into_iter().filter(|&e| e != 0) {
            self.place(e);
        }
    }

    /// Points the entry (hash `h`, slot `old`) at `new`; false if absent.
    pub fn replace(&mut self, h: u32, old: u32, new: u32) -> bool {
        match self.position(h, old) {
            Some(i) => {
                self.buckets[i] = entry(h, new);
                true
            }
            None => false,
        }
    }

    fn position(&self, h: u32, slot: u32) -> Option<usize> {
        let want = entry(h, slot);
        self.probe(h, |e| e == want)
    }

    /// Removes the entry (hash `h`, slot `slot`); false if absent.
    pub fn remove(&mut self, h: u32, slot: u32) -> bool {
        let Some(mut hole) = self.position(h, slot) else {
            return false;
        };
        self.len -= 1;
        // Backward-shift deletion: move later entries of the probe run into
        // the hole unless their home lies cyclically in (hole, j].
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask;
            let e = self.buckets[j];
            if e == 0 {
                break;
            }
            let k = self.home(hash_of(e));
            let stays = if hole <= j {
                hole < k && k <= j
            } else {
                hole < k || k <= j
            };
            if !stays {
                self.buckets[hole] = e;
                hole = j;
            }
        }
        self.buckets[hole] = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against a `HashMap` model, with hashes from a tiny range so probe
        /// runs collide, wrap around the end and shift back on removal.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..3, 0u32..64, 0u32..3000), 0..3000)) {
            let mut ix = SlotIndex::new();
            // slot -> hash (slots are unique, as in the flow table)
            let mut model: HashMap<u32, u32> = HashMap::new();
            let mut next_slot = 0u32;
            for (op, hsel, pick) in ops {
                // Hashes that all share a few home buckets near the end of the table.
                let h = (1023 - (hsel % 8)) | (hsel << 16);
                match op {
                    0 => {
                        ix.insert(h, next_slot);
                        model.insert(next_slot, h);
                        next_slot += 1;
                    }
                    1 if !model.is_empty() => {
                        let mut slots: Vec<u32> = model.keys().copied().collect();
                        slots.sort_unstable();
                        let s = slots[pick as usize % slots.len()];
                        let hh = model.remove(&s).unwrap();
                        prop_assert!(ix.remove(hh, s));
                        prop_assert!(!ix.remove(hh, s));
                    }
                    _ => {
                        let mut slots: Vec<u32> = model.keys().copied().collect();
                        slots.sort_unstable();
                        if let Some(&s) = slots.get(pick as usize % slots.len().max(1)) {
                            let hh = model[&s];
                            prop_assert_eq!(ix.find(hh, |x| x == s), Some(s));
                        }
                    }
                }
                prop_assert_eq!(ix.len(), model.len());
            }
            for (&s, &h) in &model {
                prop_assert_eq!(ix.find(h, |x| x == s), Some(s));
            }
            prop_assert_eq!(ix.find(7, |_| true).is_some(), model.values().any(|&h| h == 7));
        }
    }

    #[test]
    fn grows_and_keeps_everything() {
        let mut ix = SlotIndex::new();
        let h = |i: u32| i.wrapping_mul(0x9e37_79b9);
        for i in 0..100_000 {
            ix.insert(h(i), i);
        }
        assert!(ix.buckets.len() >= 2 * 100_000);
        for i in 0..100_000 {
            assert_eq!(ix.find(h(i), |s| s == i), Some(i));
        }
        for i in (0..100_000).step_by(2) {
            assert!(ix.remove(h(i), i));
        }
        for i in 0..100_000 {
            let want = (i % 2 == 1).then_some(i);
            assert_eq!(ix.find(h(i), |s| s == i), want);
        }
        assert!(ix.replace(h(1), 1, 7));
        assert_eq!(ix.find(h(1), |s| s == 7), Some(7));
    }
}
