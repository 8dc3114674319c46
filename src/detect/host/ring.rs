//! A FIFO of small `Copy` items that keeps its first `N` items inline and
//! moves to the heap only when it grows past them.
//!
//! The host detectors keep one short history per key (an originator's
//! recent connections, a pair's connection times, a querier's DNS names).
//! Most keys on a busy network are seen once or twice, so a `VecDeque`
//! per key spends one allocation (and its free on eviction) on every new
//! key; this ring spends none until a key has more than `N` items.
//!
//! Must not: hold anything but plain `Copy` data, or reorder items.

use std::collections::VecDeque;

/// A first-in first-out queue, inline up to `N` items.
#[derive(Clone, Debug, Default)]
pub(crate) enum SmallRing<T: Copy, const N: usize> {
    /// No items.
    #[default]
    Empty,
    /// `len` items at the front of the array (the rest are copies of
    /// earlier values, never read).
    Inline(u8, [T; N]),
    /// More than `N` items at some point.
    Heap(VecDeque<T>),
}

/// The items of a [`SmallRing`], oldest first.
pub(crate) enum Iter<'a, T> {
    Slice(std::slice::Iter<'a, T>),
    Deque(std::collections::vec_deque::Iter<'a, T>),
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        match self {
            Iter::Slice(s) => s.next(),
            Iter::Deque(d) => d.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Slice(s) => s.size_hint(),
            Iter::Deque(d) => d.size_hint(),
        }
    }
}

impl<T: Copy, const N: usize> SmallRing<T, N> {
    /// Items held.
    pub(crate) fn len(&self) -> usize {
        match self {
            SmallRing::Empty => 0,
            SmallRing::Inline(n, _) => usize::from(*n),
            SmallRing::Heap(d) => d.len(),
        }
    }

    /// The oldest item.
    pub(crate) fn front(&self) -> Option<&T> {
        self.iter().next()
    }

    /// The newest item.
    pub(crate) fn back(&self) -> Option<&T> {
        match self {
            SmallRing::Empty => None,
            SmallRing::Inline(n, a) => a.get(usize::from(*n).checked_sub(1)?),
            SmallRing::Heap(d) => d.back(),
        }
    }

    /// The items, oldest first.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        match self {
            SmallRing::Empty => Iter::Slice([].iter()),
            SmallRing::Inline(n, a) => Iter::Slice(a[..usize::from(*n)].iter()),
            SmallRing::Heap(d) => Iter::Deque(d.iter()),
        }
    }

    /// Appends `v` as the newest item.
    pub(crate) fn push_back(&mut self, v: T) {
        match self {
            SmallRing::Empty => *self = SmallRing::Inline(1, [v; N]),
            SmallRing::Inline(n, a) if usize::from(*n) < N => {
                a[usize::from(*n)] = v;
                *n += 1;
            }
            SmallRing::Inline(_, a) => {
                let mut d = VecDeque::with_capacity(2 * N);
                d.extend(a.iter().copied());
                d.push_back(v);
                *self = SmallRing::Heap(d);
            }
            SmallRing::Heap(d) => d.push_back(v),
        }
    }

    /// Removes and returns the oldest item.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        match self {
            SmallRing::Empty => None,
            SmallRing::Inline(n, a) => {
                let first = pop_inline(n, a);
                if *n == 0 {
                    *self = SmallRing::Empty;
                }
                Some(first)
            }
            SmallRing::Heap(d) => d.pop_front(),
        }
    }
}

/// Removes the first of the `n` (at least one) items at the front of `a`
/// (the inline form of a ring here and of
/// [`PoolRing`](super::pool_ring::PoolRing)).
pub(super) fn pop_inline<T: Copy, const N: usize>(n: &mut u8, a: &mut [T; N]) -> T {
    let k = usize::from(*n).clamp(1, N);
    let first = a[0];
    a.copy_within(1..k, 0);
    *n = n.saturating_sub(1);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_vecdeque_across_the_inline_limit() {
        // A seeded mix of pushes and pops against VecDeque as the oracle.
        let mut r: SmallRing<u32, 3> = SmallRing::default();
        let mut d: VecDeque<u32> = VecDeque::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..5000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 5 < 3 {
                r.push_back(i);
                d.push_back(i);
            } else {
                assert_eq!(r.pop_front(), d.pop_front());
            }
            assert_eq!(r.len(), d.len());
            assert_eq!(r.front(), d.front());
            assert_eq!(r.back(), d.back());
            assert!(r.iter().eq(d.iter()));
        }
    }

    #[test]
    fn stays_inline_up_to_n_items() {
        let mut r: SmallRing<u8, 2> = SmallRing::default();
        assert!(matches!(r, SmallRing::Empty));
        assert_eq!(r.pop_front(), None);
        r.push_back(1);
        r.push_back(2);
        assert!(matches!(r, SmallRing::Inline(2, _)));
        assert_eq!(r.pop_front(), Some(1));
        assert_eq!(r.pop_front(), Some(2));
        assert!(matches!(r, SmallRing::Empty));
        for i in 0..3 {
            r.push_back(i);
        }
        assert!(matches!(r, SmallRing::Heap(_)));
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    }
}
