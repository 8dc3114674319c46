//! Flow table: canonical keys, the per-shard connection table and its timers.
//!
//! Owns where connections live and when their timers fire: a hash index
//! from [`FlowKey`] to a slot (`index`), a slab of [`Conn`]s, and a timer
//! queue on network time (`timer`). It never interprets packets; it only
//! stores connections and runs the timers they ask for, in time order (ties
//! in insertion order), so removal order is deterministic. One table per
//! shard: no locks.

use crate::conn::{Conn, TimerKind, Timers};
use crate::decode::Addr;
use crate::time::Ts;
use std::hash::BuildHasher;

mod index;
mod timer;

use index::SlotIndex;
use timer::{TimerEntry, TimerQueue};

/// A connection key: the 5-tuple in canonical order (both directions map to
/// the same key), except one-way ICMP messages, which keep their direction.
#[derive(Clone, Copy, Debug)]
pub struct FlowKey {
    /// Lower endpoint address.
    pub a: Addr,
    /// Higher endpoint address.
    pub b: Addr,
    /// Port of `a`.
    pub pa: u16,
    /// Port of `b`.
    pub pb: u16,
    /// IP protocol.
    pub proto: u8,
}

impl FlowKey {
    /// The key of a packet from `src:sp` to `dst:dp`.
    pub fn new(src: Addr, sp: u16, dst: Addr, dp: u16, proto: u8, one_way: bool) -> FlowKey {
        if one_way || (src, sp) <= (dst, dp) {
            FlowKey {
                a: src,
                b: dst,
                pa: sp,
                pb: dp,
                proto,
            }
        } else {
            FlowKey {
                a: dst,
                b: src,
                pa: dp,
                pb: sp,
                proto,
            }
        }
    }

    /// A direction-independent hash for picking a shard.
    pub fn shard_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |b: &[u8]| {
            for &x in b {
                h ^= x as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(&self.a.0);
        feed(&self.b.0);
        feed(&self.pa.to_be_bytes());
        feed(&self.pb.to_be_bytes());
        feed(&[self.proto]);
        crate::conn::uid::mix(h)
    }
}

impl FlowKey {
    /// The key as five machine words (addresses as two words each; ports and
    /// protocol packed into the last): equality and hashing work on these.
    #[inline]
    fn words(&self) -> [u64; 5] {
        let w = |a: &Addr, i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&a.0[i..i + 8]);
            u64::from_ne_bytes(b)
        };
        [
            w(&self.a, 0),
            w(&self.a, 8),
            w(&self.b, 0),
            w(&self.b, 8),
            (self.pa as u64) << 24 | (self.pb as u64) << 8 | self.proto as u64,
        ]
    }
}

impl PartialEq for FlowKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.words(), other.words());
        // Branch-free; an array `==` would call memcmp.
        ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0
    }
}

impl Eq for FlowKey {}

impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for w in self.words() {
            state.write_u64(w);
        }
    }
}

struct Slot {
    key: FlowKey,
    conn: Conn,
}

/// The connection table of one shard.
///
/// The index holds only hashes and slot numbers (8 bytes an entry); keys
/// are compared in the slot, which the packet touches next anyway.
pub struct FlowTable {
    map: SlotIndex,
    hasher: foldhash::fast::FixedState,
    slots: Vec<Option<Slot>>,
    /// The serial of each slot's connection (0 = free), beside the slab:
    /// whether a timer or age entry is still current is a read of these 8
    /// bytes, not of the connection's slot (a cache miss per stale timer
    /// of a removed connection).
    serials: Vec<u64>,
    free: Vec<u32>,
    queue: TimerQueue,
    order: u64,
    next_serial: u64,
    /// Slots in creation order (entries of removed connections are skipped
    /// lazily, and compacted away when they outnumber the live ones).
    age: std::collections::VecDeque<(u64, u32)>,
    /// Timer entries beyond which the queue is swept of the entries of
    /// removed connections (0 = never; see [`FlowTable::set_timer_bound`]).
    timer_bound: usize,
    /// Swept timer entries, in total.
    pub timers_swept: u64,
}

/// Timer requests of one connection, queued into the table's timer queue.
pub struct SlotTimers<'a> {
    queue: &'a mut TimerQueue,
    order: &'a mut u64,
    slot: u32,
    serial: u64,
}

impl Timers for SlotTimers<'_> {
    fn add(&mut self, at: Ts, kind: TimerKind, epoch: u32) {
        *self.order += 1;
        self.queue.push(TimerEntry {
            at,
            order: *self.order,
            slot: self.slot,
            serial: self.serial,
            kind,
            epoch,
        });
    }
}

/// A due timer: which connection and what kind.
#[derive(Clone, Copy, Debug)]
pub struct DueTimer {
    /// The slot.
    pub slot: u32,
    /// The timer kind.
    pub kind: TimerKind,
    /// Its epoch.
    pub epoch: u32,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowTable {
    /// An empty table.
    pub fn new() -> Self {
        FlowTable {
            map: SlotIndex::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x5eed),
            slots: Vec::new(),
            serials: Vec::new(),
            free: Vec::new(),
            queue: TimerQueue::default(),
            order: 0,
            next_serial: 1,
            age: std::collections::VecDeque::new(),
            timer_bound: 0,
            timers_swept: 0,
        }
    }

    /// Bounds the timer queue: when it holds more than `n` entries, the
    /// entries of connections no longer in the table (evicted or removed
    /// before their timers were due) are dropped, and the bound grows to
    /// twice what is left if that is more (amortised O(1) per timer). Such
    /// entries would be skipped when due anyway, so removal order and records
    /// are unchanged; only stats.log `active_timers` sees the difference.
    pub fn set_timer_bound(&mut self, n: usize) {
        self.timer_bound = n;
    }

    /// Whether `serial` is the connection in `slot` (serials start at 1).
    #[inline]
    fn current(serials: &[u64], slot: u32, serial: u64) -> bool {
        serials.get(slot as usize) == Some(&serial)
    }

    fn sweep_timers(&mut self) {
        let serials = &self.serials;
        let before = self.queue.len();
        self.queue
            .retain(|e| Self::current(serials, e.slot, e.serial));
        self.timers_swept += (before - self.queue.len()) as u64;
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The slot of a key.
    pub fn lookup(&self, key: &FlowKey) -> Option<u32> {
        let h = self.hash(key);
        let slots = &self.slots;
        self.map.find(h, |s| Self::key_of(slots, s) == Some(key))
    }

    #[inline]
    fn hash(&self, key: &FlowKey) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    fn key_of(slots: &[Option<Slot>], s: u32) -> Option<&FlowKey> {
        slots.get(s as usize)?.as_ref().map(|x| &x.key)
    }

    /// Reserves a slot for a new connection; returns it with its timers handle.
    pub fn reserve(&mut self) -> (u32, u64) {
        let serial = self.next_serial;
        self.next_serial += 1;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.serials.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        (slot, serial)
    }

    /// A timers handle for a slot (for a connection being created or processed).
    pub fn timers(&mut self, slot: u32, serial: u64) -> SlotTimers<'_> {
        if self.timer_bound > 0 && self.queue.len() > self.timer_bound {
            self.sweep_timers();
            self.timer_bound = self.timer_bound.max(2 * self.queue.len());
        }
        SlotTimers {
            queue: &mut self.queue,
            order: &mut self.order,
            slot,
            serial,
        }
    }

    /// Stores a new connection in a reserved slot.
    pub fn insert(&mut self, slot: u32, serial: u64, key: FlowKey, conn: Conn) {
        let h = self.hash(&key);
        let slots = &self.slots;
        match self.map.find(h, |s| Self::key_of(slots, s) == Some(&key)) {
            Some(old) => {
                self.map.replace(h, old, slot);
            }
            None => self.map.insert(h, slot),
        }
        self.age.push_back((serial, slot));
        if let (Some(x), Some(n)) = (
            self.slots.get_mut(slot as usize),
            self.serials.get_mut(slot as usize),
        ) {
            *x = Some(Slot { key, conn });
            *n = serial;
        }
        if self.age.len() > 2 * self.map.len() + 1024 {
            // Mostly removed connections: keep the queue proportional to the table.
            let serials = &self.serials;
            self.age
                .retain(|&(serial, slot)| Self::current(serials, slot, serial));
        }
    }

    /// The connection in a slot and a timers handle for it.
    pub fn get(&mut self, slot: u32) -> Option<(&mut Conn, SlotTimers<'_>)> {
        let s = self.slots.get_mut(slot as usize)?.as_mut()?;
        let serial = self.serials.get(slot as usize).copied().unwrap_or(0);
        Some((
            &mut s.conn,
            SlotTimers {
                queue: &mut self.queue,
                order: &mut self.order,
                slot,
                serial,
            },
        ))
    }

    /// Removes a connection.
    pub fn remove(&mut self, slot: u32) -> Option<Conn> {
        let s = self.slots.get_mut(slot as usize)?.take()?;
        if let Some(n) = self.serials.get_mut(slot as usize) {
            *n = 0;
        }
        let h = self.hash(&s.key);
        self.map.remove(h, slot);
        self.free.push(slot);
        Some(s.conn)
    }

    /// Pops the next timer due at or before `now` that is still current.
    pub fn next_due(&mut self, now: Ts) -> Option<DueTimer> {
        let serials = &self.serials;
        // (most stale entries are of removed connections: told apart by
        // their serial, without touching the slab, and dropped before they
        // are ordered)
        let current = |e: &TimerEntry| Self::current(serials, e.slot, e.serial);
        while let Some(top) = self.queue.pop_due(now, current) {
            if !current(&top) {
                continue;
            }
            let Some(Some(s)) = self.slots.get(top.slot as usize) else {
                continue;
            };
            if !s.conn.timer_valid(top.kind, top.epoch) {
                continue;
            }
            return Some(DueTimer {
                slot: top.slot,
                kind: top.kind,
                epoch: top.epoch,
            });
        }
        None
    }

    /// The oldest connection still in the table (amortised O(1)).
    pub fn oldest(&mut self) -> Option<u32> {
        while let Some(&(serial, slot)) = self.age.front() {
            if Self::current(&self.serials, slot, serial) {
                return Some(slot);
            }
            self.age.pop_front();
        }
        None
    }

    /// All occupied slots in creation order (for the final flush).
    pub fn slots_by_age(&self) -> Vec<u32> {
        let mut v: Vec<(u64, u32)> = self
            .serials
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n != 0)
            .map(|(i, &n)| (n, i as u32))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, i)| i).collect()
    }

    /// No timer is due before this time (some may be due at it).
    #[inline]
    pub fn due_bound(&self) -> Ts {
        self.queue.due_bound()
    }

    /// Pending timer entries (for memory accounting).
    pub fn timer_count(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_is_symmetric(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), pa in any::<u16>(), pb in any::<u16>(), proto in any::<u8>()) {
            let (a, b) = (Addr(a), Addr(b));
            let k1 = FlowKey::new(a, pa, b, pb, proto, false);
            let k2 = FlowKey::new(b, pb, a, pa, proto, false);
            prop_assert_eq!(k1, k2);
            prop_assert_eq!(k1.shard_hash(), k2.shard_hash());
        }

        /// Word-wise equality is field-wise equality (differences in any one field).
        #[test]
        fn key_eq_is_fieldwise(a in any::<[u8; 16]>(), pa in any::<u16>(), pb in any::<u16>(), proto in any::<u8>(), i in 0usize..19, x in 1u8..) {
            let k = FlowKey { a: Addr(a), b: Addr(a), pa, pb, proto };
            prop_assert_eq!(k, k);
            let mut m = k;
            match i {
                0..=15 => m.b.0[i] ^= x,
                16 => m.pa ^= x as u16,
                17 => m.pb ^= (x as u16) << 8,
                _ => m.proto ^= x,
            }
            prop_assert_ne!(k, m);
        }
    }

    #[test]
    fn one_way_keys_keep_direction() {
        let a = Addr::v4([10, 0, 0, 2]);
        let b = Addr::v4([10, 0, 0, 1]);
        assert_ne!(
            FlowKey::new(a, 3, b, 3, 1, true),
            FlowKey::new(b, 3, a, 3, 1, true)
        );
    }
}
