//! Pending timers of one flow table, on network time.
//!
//! Owns the order in which timers fire: by due time, ties in insertion
//! order, exactly as one heap over all of them would. Most timers are set
//! far ahead (inactivity: minutes) and many are stale by then, so only
//! timers due before `base` (within about a second of network time) sit in
//! a small heap that stays in cache; later ones wait in one-second buckets
//! (an append each) and enter the heap when network time reaches their
//! second, timers beyond the buckets in a second heap. A clock jump past the
//! buckets drains them at once and moves `base` straight past the new time,
//! so catching up costs O(pending timers) whatever the jump (never a step
//! per elapsed second). It must not look at
//! connections: whether a due timer still applies is the table's question.

use crate::conn::TimerKind;
use crate::time::{Ts, SEC};
use std::collections::VecDeque;

/// Width of one bucket.
const WIDTH: i64 = SEC;
/// Buckets (seconds) ahead of `base`; later timers go to the overflow heap.
const BUCKETS: usize = 1024;

/// The timer queue (see the module header).
#[derive(Default)]
pub(super) struct TimerQueue {
    /// Timers due before `base`.
    near: TimerHeap,
    /// `far[i]`: timers due in `[base + i*WIDTH, base + (i+1)*WIDTH)`
    /// (allocated at the first timer).
    far: VecDeque<Vec<TimerEntry>>,
    /// Timers in `far`.
    far_len: usize,
    /// Timers due at or after `base + BUCKETS*WIDTH`.
    overflow: TimerHeap,
    /// Start of `far[0]`'s second; `None` before the first timer.
    base: Option<i64>,
}

impl TimerQueue {
    /// Pending timers.
    pub(super) fn len(&self) -> usize {
        self.near.len() + self.far_len + self.overflow.len()
    }

    fn end(base: i64) -> i64 {
        base.saturating_add(BUCKETS as i64 * WIDTH)
    }

    /// Queues a timer.
    pub(super) fn push(&mut self, e: TimerEntry) {
        let base = match self.base {
            Some(b) => b,
            None => {
                let b = e.at.0.div_euclid(WIDTH).saturating_mul(WIDTH);
                self.far = (0..BUCKETS).map(|_| Vec::new()).collect();
                self.base = Some(b);
                b
            }
        };
        self.place(base, e);
    }

    fn place(&mut self, base: i64, e: TimerEntry) {
        if e.at.0 < base {
            self.near.push(e);
        } else if e.at.0 >= Self::end(base) {
            self.overflow.push(e);
        } else if let Some(b) = self.far.get_mut(((e.at.0 - base) / WIDTH) as usize) {
            b.push(e);
            self.far_len += 1;
        } else {
            self.overflow.push(e);
        }
    }

    /// Moves every timer due at or before `now` that `keep` accepts into
    /// the near heap (the others are dropped: a timer of a removed
    /// connection never applies again, so it need not be ordered).
    fn reach(&mut self, now: Ts, keep: &impl Fn(&TimerEntry) -> bool) {
        let Some(mut base) = self.base else {
            return;
        };
        while now.0 >= base {
            if self.far_len != 0 && now.0 >= Self::end(base) {
                // The clock jumped past every bucket (a gap in the capture,
                // or a corrupt timestamp years ahead): all of them are due.
                // Draining them at once keeps the catch-up O(timers), not
                // one step per elapsed second.
                for b in self.far.iter_mut() {
                    for e in b.drain(..).filter(keep) {
                        self.near.push(e);
                    }
                }
                self.far_len = 0;
            }
            if self.far_len == 0 {
                // Nothing in the buckets: jump straight past `now`.
                let next = now
                    .0
                    .div_euclid(WIDTH)
                    .saturating_add(1)
                    .saturating_mul(WIDTH);
                base = next.max(base.saturating_add(WIDTH));
            } else {
                let mut b = self.far.pop_front().unwrap_or_default();
                self.far_len -= b.len();
                for e in b.drain(..).filter(keep) {
                    self.near.push(e);
                }
                self.far.push_back(b);
                base = base.saturating_add(WIDTH);
            }
            // Overflow timers that now fall within the buckets (or before).
            while let Some(e) = self.overflow.peek().copied() {
                if e.at.0 >= Self::end(base) {
                    break;
                }
                self.overflow.pop();
                self.place(base, e);
            }
            if base == i64::MAX {
                break;
            }
        }
        self.base = Some(base);
    }

    /// Keeps only the timers `keep` accepts (the order of the rest is
    /// unchanged: it is the `(at, order)` key's, wherever a timer sits).
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&TimerEntry) -> bool) {
        self.near.retain(&mut keep);
        self.overflow.retain(&mut keep);
        let mut n = 0;
        for b in self.far.iter_mut() {
            b.retain(&mut keep);
            n += b.len();
        }
        self.far_len = n;
    }

    /// No timer is due before this time.
    #[inline]
    pub(super) fn due_bound(&self) -> Ts {
        let base = Ts(self.base.unwrap_or(i64::MAX));
        match self.near.peek() {
            Some(e) if e.at < base => e.at,
            _ => base,
        }
    }

    /// The next timer due at or before `now`, removed; ties in insertion
    /// order. Timers that `keep` rejects may be dropped on the way (the
    /// caller skips them anyway; `keep` must stay false for them).
    pub(super) fn pop_due(
        &mut self,
        now: Ts,
        keep: impl Fn(&TimerEntry) -> bool,
    ) -> Option<TimerEntry> {
        if self.base.is_some_and(|b| now.0 >= b) {
            self.reach(now, &keep);
        }
        if self.near.peek()?.at > now {
            return None;
        }
        self.near.pop()
    }
}

/// A 4-ary min-heap of timers ordered by `(at, order)`: half the depth of a
/// binary heap, so fewer cache misses per push and pop on large tables.
#[derive(Default)]
pub(super) struct TimerHeap {
    v: Vec<TimerEntry>,
}

impl TimerHeap {
    #[inline]
    fn key(e: &TimerEntry) -> (Ts, u64) {
        (e.at, e.order)
    }

    fn len(&self) -> usize {
        self.v.len()
    }

    fn peek(&self) -> Option<&TimerEntry> {
        self.v.first()
    }

    /// Keeps the entries `keep` accepts; a sorted array is a valid heap.
    fn retain(&mut self, keep: &mut impl FnMut(&TimerEntry) -> bool) {
        let before = self.v.len();
        self.v.retain(|e| keep(e));
        if self.v.len() != before {
            self.v.sort_unstable_by_key(Self::key);
        }
    }

    fn push(&mut self, e: TimerEntry) {
        let mut i = self.v.len();
        let k = Self::key(&e);
        self.v.push(e);
        while i > 0 {
            let p = (i - 1) / 4;
            if Self::key(&self.v[p]) <= k {
                break;
            }
            self.v.swap(i, p);
            i = p;
        }
    }

    fn pop(&mut self) -> Option<TimerEntry> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.v[0], last);
        let n = self.v.len();
        let k = Self::key(&self.v[0]);
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let mut min = first;
            for c in first + 1..(first + 4).min(n) {
                if Self::key(&self.v[c]) < Self::key(&self.v[min]) {
                    min = c;
                }
            }
            if Self::key(&self.v[min]) >= k {
                break;
            }
            self.v.swap(i, min);
            i = min;
        }
        Some(top)
    }
}

/// One pending timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TimerEntry {
    /// When it is due.
    pub at: Ts,
    /// Insertion order (ties at the same time fire in this order).
    pub order: u64,
    /// The connection's slot.
    pub slot: u32,
    /// The slot's serial when the timer was set (a reused slot ignores it).
    pub serial: u64,
    /// What the timer does.
    pub kind: TimerKind,
    /// The connection's timer epoch when it was set.
    pub epoch: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(at: i64, order: u64) -> TimerEntry {
        TimerEntry {
            at: Ts(at),
            order,
            slot: 0,
            serial: 0,
            kind: TimerKind::Inactivity,
            epoch: 0,
        }
    }

    /// A jump of fifty years with timers in the buckets and the overflow
    /// heap: every timer fires, in order, and the queue stays usable after.
    #[test]
    fn far_jump_fires_everything_at_once() {
        let mut q = TimerQueue::default();
        let t0 = 1_600_000_000 * SEC;
        let mut want = Vec::new();
        for i in 0..3000u64 {
            let at = t0 + (i as i64 % 7) * 400 * SEC + i as i64;
            q.push(entry(at, i));
            want.push((Ts(at), i));
        }
        want.sort();
        let far = Ts(t0 + 50 * 365 * 86_400 * SEC);
        let mut got = Vec::new();
        while let Some(e) = q.pop_due(far, |_| true) {
            got.push((e.at, e.order));
        }
        assert_eq!(got, want);
        assert_eq!(q.len(), 0);
        assert!(q.due_bound() > far);
        // Timers set after the jump still fire at their time.
        q.push(entry(far.0 + 5 * SEC, 9));
        assert!(q.pop_due(Ts(far.0 + 4 * SEC), |_| true).is_none());
        assert_eq!(
            q.pop_due(Ts(far.0 + 5 * SEC), |_| true).map(|e| e.order),
            Some(9)
        );
    }

    /// Timers `keep` rejects are dropped on their way to the near heap;
    /// the rest still fire in `(at, order)` order, stepping second by
    /// second or jumping past every bucket.
    #[test]
    fn rejected_timers_are_dropped_and_the_rest_keep_their_order() {
        for step in [SEC / 2, 2000 * SEC] {
            let mut q = TimerQueue::default();
            let t0 = 1_600_000_000 * SEC;
            let mut want = Vec::new();
            for i in 0..2000u64 {
                let at = t0 + (i as i64 * 7919) % (1500 * SEC) + 1;
                q.push(entry(at, i));
                if i % 3 != 0 {
                    want.push((Ts(at), i));
                }
            }
            want.sort();
            let mut got = Vec::new();
            let mut now = t0;
            while now <= t0 + 4000 * SEC {
                while let Some(e) = q.pop_due(Ts(now), |e| e.order % 3 != 0) {
                    if e.order % 3 != 0 {
                        got.push((e.at, e.order));
                    }
                }
                now += step;
            }
            assert_eq!(got, want, "step {step}");
            assert_eq!(q.len(), 0);
        }
    }

    proptest! {
        /// The 4-ary heap pops in `(at, order)` order, like a sorted list.
        #[test]
        fn timer_heap_pops_in_order(ops in proptest::collection::vec((any::<bool>(), 0i64..50), 0..400)) {
            let mut h = TimerHeap::default();
            let mut model: Vec<(Ts, u64)> = Vec::new();
            for (n, (is_push, at)) in ops.into_iter().enumerate() {
                if is_push || model.is_empty() {
                    let e = entry(at, n as u64);
                    h.push(e);
                    model.push((Ts(at), n as u64));
                } else {
                    model.sort();
                    let want = model.remove(0);
                    let got = h.pop().map(|e| (e.at, e.order));
                    prop_assert_eq!(got, Some(want));
                }
                prop_assert_eq!(h.len(), model.len());
            }
            model.sort();
            for want in model {
                prop_assert_eq!(h.pop().map(|e| (e.at, e.order)), Some(want));
            }
            prop_assert!(h.pop().is_none());
        }

        /// The queue pops exactly what one sorted list of all timers would,
        /// whatever the spread of due times (near, bucketed, overflow, far
        /// jumps of the clock) and however pushes and clock steps interleave.
        #[test]
        fn queue_pops_like_a_sorted_list(ops in proptest::collection::vec((0u8..4, 0i64..4000, 0u32..3), 0..600)) {
            let mut q = TimerQueue::default();
            let mut model: Vec<(Ts, u64)> = Vec::new();
            let mut now = 0i64;
            for (n, (op, x, scale)) in ops.into_iter().enumerate() {
                // Due times from sub-second to days ahead (beyond the buckets).
                let span = [SEC / 100, SEC, 500 * SEC][scale as usize];
                match op {
                    0 | 1 => {
                        let at = now + x * span / 100 - SEC / 10;
                        q.push(entry(at, n as u64));
                        model.push((Ts(at), n as u64));
                    }
                    _ => {
                        now += x * span / 400;
                        model.sort();
                        let due: Vec<_> = model.iter().copied().take_while(|&(t, _)| t.0 <= now).collect();
                        model.drain(..due.len());
                        let mut got = Vec::new();
                        while let Some(e) = q.pop_due(Ts(now), |_| true) {
                            got.push((e.at, e.order));
                        }
                        prop_assert_eq!(got, due);
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                let first = model.iter().min().map_or(Ts(i64::MAX), |m| m.0);
                prop_assert!(q.due_bound() <= first);
            }
            model.sort();
            let mut got = Vec::new();
            while let Some(e) = q.pop_due(Ts(i64::MAX), |_| true) {
                got.push((e.at, e.order));
            }
            prop_assert_eq!(got, model);
        }
    }
}
