//! FIFOs of small `Copy` items for a detector with very many keys: each
//! keeps its first `N` items inline and then takes fixed-size blocks from
//! a [`Pool`] the detector owns, giving them back as it drains.
//!
//! [`super::ring::SmallRing`] moves a key past `N` items to its own
//! `VecDeque`: one allocation per such key, and on a busy sensor's
//! fragmented heap a `malloc` is a walk over cold free lists (profiled: the
//! scan detector's windows cost more in `malloc` than in their own code).
//! A pool allocates only when it grows (amortised, one vector) and reuses
//! the blocks of drained and evicted keys.
//!
//! Must not: hold anything but plain `Copy` data, reorder items, or keep a
//! block that no ring owns: a ring dropped without [`PoolRing::clear`]
//! leaves its blocks unused in the pool (bounded by the pool's peak, never
//! reused), so owners clear rings before they drop them.

/// Items per pool block.
pub(crate) const BLOCK: usize = 8;
/// No block.
const NIL: u32 = u32::MAX;

/// One block of a [`Pool`]: items and the next block of its ring.
#[derive(Clone, Debug)]
struct Block<T> {
    items: [T; BLOCK],
    next: u32,
}

/// The blocks of every [`PoolRing`] of one owner, and a free list.
#[derive(Clone, Debug)]
pub(crate) struct Pool<T: Copy> {
    blocks: Vec<Block<T>>,
    free: u32,
}

impl<T: Copy> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            blocks: Vec::new(),
            free: NIL,
        }
    }
}

impl<T: Copy> Pool<T> {
    /// A block (reused when one is free), its items filled with `fill`.
    fn alloc(&mut self, fill: T) -> u32 {
        if let Some(b) = self.blocks.get_mut(self.free as usize) {
            let i = self.free;
            self.free = b.next;
            b.next = NIL;
            return i;
        }
        self.blocks.push(Block {
            items: [fill; BLOCK],
            next: NIL,
        });
        (self.blocks.len() - 1) as u32
    }

    /// Gives block `i` back.
    fn release(&mut self, i: u32) {
        if let Some(b) = self.blocks.get_mut(i as usize) {
            b.next = self.free;
            self.free = i;
        }
    }

    /// Blocks held, used or free (the pool's peak).
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Free blocks.
    #[cfg(test)]
    fn free_blocks(&self) -> usize {
        let mut n = 0;
        let mut i = self.free;
        while let Some(b) = self.blocks.get(i as usize) {
            n += 1;
            i = b.next;
        }
        n
    }
}

/// A first-in first-out queue, inline up to `N` items (`N < BLOCK`), then
/// in blocks of its owner's [`Pool`].
#[derive(Clone, Debug, Default)]
pub(crate) enum PoolRing<T: Copy, const N: usize> {
    /// No items.
    #[default]
    Empty,
    /// `len` items at the front of the array (the rest are copies of
    /// earlier values, never read).
    Inline(u8, [T; N]),
    /// `len` items from position `start` of block `head` on, through the
    /// blocks' `next` links to block `tail`.
    Blocks {
        head: u32,
        tail: u32,
        start: u32,
        len: u32,
    },
}

/// The items of a [`PoolRing`], oldest first.
pub(crate) struct Iter<'a, T: Copy> {
    pool: &'a Pool<T>,
    inline: std::slice::Iter<'a, T>,
    block: u32,
    at: usize,
    left: usize,
}

impl<'a, T: Copy> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if let Some(v) = self.inline.next() {
            return Some(v);
        }
        if self.left == 0 {
            return None;
        }
        let b = self.pool.blocks.get(self.block as usize)?;
        let v = b.items.get(self.at)?;
        self.left -= 1;
        self.at += 1;
        if self.at == BLOCK {
            self.at = 0;
            self.block = b.next;
        }
        Some(v)
    }
}

impl<T: Copy, const N: usize> PoolRing<T, N> {
    const _FITS: () = assert!(N >= 1 && N < BLOCK);

    /// Items held.
    pub(crate) fn len(&self) -> usize {
        match self {
            PoolRing::Empty => 0,
            PoolRing::Inline(n, _) => usize::from(*n),
            PoolRing::Blocks { len, .. } => *len as usize,
        }
    }

    /// The oldest item.
    pub(crate) fn front<'a>(&'a self, pool: &'a Pool<T>) -> Option<&'a T> {
        self.iter(pool).next()
    }

    /// The items, oldest first.
    pub(crate) fn iter<'a>(&'a self, pool: &'a Pool<T>) -> Iter<'a, T> {
        let (inline, block, at, left): (&[T], _, _, _) = match self {
            PoolRing::Empty => (&[], NIL, 0, 0),
            PoolRing::Inline(n, a) => (&a[..usize::from(*n)], NIL, 0, 0),
            PoolRing::Blocks {
                head, start, len, ..
            } => (&[], *head, *start as usize, *len as usize),
        };
        Iter {
            pool,
            inline: inline.iter(),
            block,
            at,
            left,
        }
    }

    /// Appends `v` as the newest item.
    pub(crate) fn push_back(&mut self, pool: &mut Pool<T>, v: T) {
        let () = Self::_FITS;
        match self {
            PoolRing::Empty => *self = PoolRing::Inline(1, [v; N]),
            PoolRing::Inline(n, a) if usize::from(*n) < N => {
                a[usize::from(*n)] = v;
                *n += 1;
            }
            PoolRing::Inline(_, a) => {
                let b = pool.alloc(v);
                if let Some(block) = pool.blocks.get_mut(b as usize) {
                    block.items[..N].copy_from_slice(a);
                    block.items[N] = v;
                }
                *self = PoolRing::Blocks {
                    head: b,
                    tail: b,
                    start: 0,
                    len: N as u32 + 1,
                };
            }
            PoolRing::Blocks {
                tail, start, len, ..
            } => {
                let end = (*start + *len) as usize % BLOCK;
                if end == 0 {
                    let b = pool.alloc(v);
                    if let Some(t) = pool.blocks.get_mut(*tail as usize) {
                        t.next = b;
                    }
                    *tail = b;
                }
                if let Some(t) = pool.blocks.get_mut(*tail as usize) {
                    t.items[end] = v;
                }
                *len += 1;
            }
        }
    }

    /// Removes and returns the oldest item.
    pub(crate) fn pop_front(&mut self, pool: &mut Pool<T>) -> Option<T> {
        match self {
            PoolRing::Empty => None,
            PoolRing::Inline(n, a) => {
                let first = super::ring::pop_inline(n, a);
                if *n == 0 {
                    *self = PoolRing::Empty;
                }
                Some(first)
            }
            PoolRing::Blocks {
                head, start, len, ..
            } => {
                let b = pool.blocks.get(*head as usize)?;
                let v = *b.items.get(*start as usize)?;
                let next = b.next;
                *start += 1;
                *len -= 1;
                if *len == 0 {
                    pool.release(*head);
                    *self = PoolRing::Empty;
                } else if *start as usize == BLOCK {
                    pool.release(*head);
                    *head = next;
                    *start = 0;
                }
                Some(v)
            }
        }
    }

    /// Removes every item, giving its blocks back to `pool`.
    pub(crate) fn clear(&mut self, pool: &mut Pool<T>) {
        if let PoolRing::Blocks {
            head, start, len, ..
        } = *self
        {
            let blocks = (start as usize + len as usize).div_ceil(BLOCK);
            let mut b = head;
            for _ in 0..blocks {
                let Some(next) = pool.blocks.get(b as usize).map(|x| x.next) else {
                    break;
                };
                pool.release(b);
                b = next;
            }
        }
        *self = PoolRing::Empty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn behaves_as_vecdeques_sharing_one_pool() {
        // Seeded pushes, pops and clears on several rings of one pool
        // against VecDeques as the oracle.
        let mut pool = Pool::default();
        let mut rings: Vec<PoolRing<u32, 2>> = vec![PoolRing::default(); 5];
        let mut oracle: Vec<VecDeque<u32>> = vec![VecDeque::new(); 5];
        let mut rng = crate::detect::rng::Rng::new(3);
        for i in 0..50_000u32 {
            let x = rng.next();
            let k = (x >> 32) as usize % rings.len();
            let (r, d) = (&mut rings[k], &mut oracle[k]);
            match x % 100 {
                0 => {
                    r.clear(&mut pool);
                    d.clear();
                }
                1..=55 => {
                    r.push_back(&mut pool, i);
                    d.push_back(i);
                }
                _ => assert_eq!(r.pop_front(&mut pool), d.pop_front()),
            }
            assert_eq!(r.len(), d.len());
            assert_eq!(r.front(&pool), d.front());
            assert!(r.iter(&pool).eq(d.iter()));
        }
        // every block is owned by a ring or free
        let owned: usize = rings
            .iter()
            .map(|r| match *r {
                PoolRing::Blocks { start, len, .. } => (start + len).div_ceil(BLOCK as u32),
                _ => 0,
            } as usize)
            .sum();
        assert_eq!(owned + pool.free_blocks(), pool.blocks());
        for r in &mut rings {
            r.clear(&mut pool);
        }
        assert_eq!(pool.free_blocks(), pool.blocks());
    }

    #[test]
    fn stays_inline_up_to_n_items_then_reuses_blocks() {
        let mut pool = Pool::default();
        let mut r: PoolRing<u8, 2> = PoolRing::default();
        assert_eq!(r.pop_front(&mut pool), None);
        r.push_back(&mut pool, 1);
        r.push_back(&mut pool, 2);
        assert!(matches!(r, PoolRing::Inline(2, _)));
        assert_eq!(pool.blocks(), 0);
        for i in 3..=20 {
            r.push_back(&mut pool, i);
        }
        assert_eq!(pool.blocks(), 3);
        assert_eq!(
            r.iter(&pool).copied().collect::<Vec<_>>(),
            (1..=20).collect::<Vec<_>>()
        );
        while r.pop_front(&mut pool).is_some() {}
        assert!(matches!(r, PoolRing::Empty));
        assert_eq!(pool.free_blocks(), 3);
        for i in 0..20 {
            r.push_back(&mut pool, i);
        }
        assert_eq!(pool.blocks(), 3, "blocks are reused");
    }
}
