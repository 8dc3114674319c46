//! The isolation forest compiled for batches of points: every comparison
//! `x[f] >= t` of a tree becomes a comparison of small integers,
//! `rank_f(x) > k`, where `rank_f(x)` counts the distinct thresholds on
//! feature `f` (over all trees) that are `<= x[f]` and `k` is the position
//! of `t` among them. A point's ranks are computed once (one binary
//! search per feature); then each tree is a complete binary tree of 4-byte
//! nodes (children of node `i` at `2i + 1` and `2i + 2`, leaves shallower
//! than the deepest copied down to its depth), walked without branches for
//! eight points at once (AVX2 gathers when the CPU has them, the same
//! steps in scalar code otherwise). The walk reaches the same leaf as [`Flat`]'s, and each
//! point's path lengths are added tree by tree in the same order: the same
//! bits as one by one.
//!
//! Owns: [`Ranked`], built from a [`Flat`] forest.
//! Must not: differ from [`Flat`] by a single bit, or read outside its
//! tables on any model (a forest deeper than [`MAX_DEPTH`] or with a NaN
//! threshold is not compiled: the caller keeps [`Flat`]).

use super::{Flat, LEAF_SLOT, POINT};
use crate::detect::features::N_FEATURES;
use crate::detect::rank_index::RankIndex;

/// Deepest forest compiled this way (complete trees of `2^depth` leaves:
/// at 10, 12 KiB of tables per tree; grown trees have depth 8).
const MAX_DEPTH: usize = 10;
/// Most nodes (and leaves) of the compiled trees: a model file with very
/// many deep trees (not one this crate writes: 100 trees of 256 leaves)
/// keeps the arena walk rather than growing the tables past 12 MiB.
const MAX_ENTRIES: usize = 1 << 20;
/// Slots of a point the trees read: the features and the zero slot that
/// out-of-range features read (see [`Flat::fill`]).
const SLOTS: usize = N_FEATURES + 1;
/// Length of a point's row of ranks (a power of two, so a masked slot is
/// always inside the row).
const STRIDE: usize = 32;
const _: () = assert!(SLOTS <= STRIDE && SLOTS <= LEAF_SLOT && STRIDE.is_power_of_two());
/// Points walked side by side (one AVX2 register of 32-bit lanes).
const GROUP: usize = 8;
/// Points ranked and walked together (whole groups; a larger call is cut
/// into chunks, each point's sum being its own).
pub(super) const CHUNK: usize = 4 * GROUP;
/// Fewest points for which the ranked walk is used (below it the
/// latency of its gathers, not their number, decides; measured).
pub(super) const MIN_BATCH: usize = 16;
/// A node's slot is its low byte, its threshold's rank the rest.
const SLOT_BITS: i32 = 8;

/// A forest compiled to ranks and complete trees (see the module header).
#[derive(Clone, Debug)]
pub(super) struct Ranked {
    /// Depth of every tree (the deepest leaf of the forest).
    depth: usize,
    /// Number of trees, in [`Flat`]'s order (its padding trees included).
    trees: usize,
    /// `2^depth` entries per tree: inner nodes in breadth-first order
    /// (`(rank << 8) | slot`), the last entry unused.
    nodes: Vec<i32>,
    /// `2^depth` path lengths per tree, its leaves left to right.
    leaves: Vec<f64>,
    /// Per slot, the distinct thresholds of the forest's nodes on it, in
    /// increasing order.
    thresholds: Vec<Vec<f64>>,
    /// Per slot, the lookup table in front of its thresholds.
    index: Vec<RankIndex>,
}

impl Ranked {
    /// Compiles `flat`, or `None` when it cannot be (see the module
    /// header).
    pub(super) fn compile(flat: &Flat) -> Option<Ranked> {
        let depth = flat.steps;
        if depth > MAX_DEPTH
            || flat.nodes.is_empty()
            || flat.roots.is_empty()
            || flat.roots.len().saturating_mul(1 << depth) > MAX_ENTRIES
        {
            return None;
        }
        let mut thresholds = vec![Vec::new(); SLOTS];
        for n in flat.nodes.iter().filter(|n| is_inner(n.feature)) {
            if n.threshold.is_nan() {
                return None;
            }
            thresholds.get_mut(n.feature as usize)?.push(n.threshold);
        }
        for t in &mut thresholds {
            t.sort_by(f64::total_cmp);
            // -0.0 and 0.0 compare equal: one rank
            t.dedup_by(|a, b| a == b);
            if t.len() >= 1 << (31 - SLOT_BITS) {
                return None;
            }
        }
        let width = 1usize << depth;
        let mut r = Ranked {
            depth,
            trees: flat.roots.len(),
            nodes: vec![0; width * flat.roots.len()],
            leaves: vec![0.0; width * flat.roots.len()],
            index: thresholds.iter().map(|t| RankIndex::new(t)).collect(),
            thresholds,
        };
        for (t, &root) in flat.roots.iter().enumerate() {
            r.fill(flat, t, 0, root, 0);
        }
        Some(r)
    }

    /// Compiles the subtree of [`Flat`] node `at` into node `i` (at
    /// `level`) of tree `t`; a leaf above the last level is copied into
    /// both children.
    fn fill(&mut self, flat: &Flat, t: usize, i: usize, at: u32, level: usize) {
        let width = 1usize << self.depth;
        let mask = flat.nodes.len().wrapping_sub(1);
        let n = flat.nodes[at as usize & mask];
        if level == self.depth {
            self.leaves[t * width + (i + 1 - width)] = n.threshold;
            return;
        }
        let (left, right) = if is_inner(n.feature) {
            let slot = n.feature as usize;
            let k = self.thresholds[slot].partition_point(|&u| u < n.threshold);
            self.nodes[t * width + i] = ((k as i32) << SLOT_BITS) | slot as i32;
            (n.next, n.next.wrapping_add(1))
        } else {
            (at, at)
        };
        self.fill(flat, t, 2 * i + 1, left, level + 1);
        self.fill(flat, t, 2 * i + 2, right, level + 1);
    }

    /// The ranks of `x` (a point as [`Flat`] reads it) into `row`.
    fn ranks(&self, x: &[f64; POINT], row: &mut [i32]) {
        let slots = self.thresholds.iter().zip(&self.index);
        for ((r, (t, idx)), &v) in row.iter_mut().zip(slots).zip(x) {
            *r = idx.count_le(t, v) as i32;
        }
    }

    /// The sum over the trees of each point's path length into `sums` (as
    /// long as `xs`), tree by tree as [`Flat::total_path_lengths`]: the
    /// same bits.
    pub(super) fn total_path_lengths(&self, xs: &[[f64; POINT]], sums: &mut [f64]) {
        for (xs, sums) in xs.chunks(CHUNK).zip(sums.chunks_mut(CHUNK)) {
            let n = xs.len().min(sums.len());
            let padded = n.div_ceil(GROUP) * GROUP;
            // rows of padding points stay 0 (their sums are dropped)
            let mut ranks = [0i32; CHUNK * STRIDE];
            let ranks = &mut ranks[..padded * STRIDE];
            for (x, row) in xs.iter().zip(ranks.chunks_exact_mut(STRIDE)) {
                self.ranks(x, row);
            }
            let mut out = [0.0f64; CHUNK];
            let out = &mut out[..padded];
            self.walk_any(ranks, out);
            sums[..n].copy_from_slice(&out[..n]);
        }
    }

    /// [`walk_avx2`](Self::walk_avx2) when the CPU has AVX2, else
    /// [`walk`](Self::walk).
    fn walk_any(&self, ranks: &[i32], out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.walk_avx2(ranks, out) };
            return;
        }
        self.walk(ranks, out);
    }

    /// The walk of [`total_path_lengths`](Self::total_path_lengths) in
    /// scalar code: `ranks` holds [`STRIDE`] entries per point of `out`.
    fn walk(&self, ranks: &[i32], out: &mut [f64]) {
        let width = 1usize << self.depth;
        for (nodes, leaves) in self
            .nodes
            .chunks_exact(width)
            .zip(self.leaves.chunks_exact(width))
        {
            for (row, sum) in ranks.chunks_exact(STRIDE).zip(out.iter_mut()) {
                let mut i = 0usize;
                for _ in 0..self.depth {
                    let node = nodes[i & (width - 1)];
                    let slot = (node & 0xFF) as usize & (STRIDE - 1);
                    let right = row[slot] > node >> SLOT_BITS;
                    i = 2 * i + 1 + usize::from(right);
                }
                *sum += leaves[(i + 1 - width) & (width - 1)];
            }
        }
    }

    /// [`walk`](Self::walk) with AVX2: eight points per register, gathers
    /// for their nodes, ranks and leaves. `out` holds whole groups of
    /// [`GROUP`] points, `ranks` [`STRIDE`] entries for each.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn walk_avx2(&self, ranks: &[i32], out: &mut [f64]) {
        use std::arch::x86_64::*;
        let width = 1usize << self.depth;
        let groups = out.len() / GROUP;
        if ranks.len() < groups * GROUP * STRIDE
            || self.nodes.len() < self.trees * width
            || self.leaves.len() < self.trees * width
        {
            return self.walk(ranks, out);
        }
        let stride = STRIDE as i32;
        // each lane's row of ranks, relative to its group's first
        let rows = _mm256_setr_epi32(
            0,
            stride,
            2 * stride,
            3 * stride,
            4 * stride,
            5 * stride,
            6 * stride,
            7 * stride,
        );
        let one = _mm256_set1_epi32(1);
        let slot_mask = _mm256_set1_epi32(STRIDE as i32 - 1);
        let first_leaf = _mm256_set1_epi32(width as i32 - 1);
        // Up to CHAINS groups walk each tree step by step together: their
        // chains of dependent gathers overlap.
        const CHAINS: usize = 4;
        for first in (0..groups).step_by(CHAINS) {
            let chains = (groups - first).min(CHAINS);
            for t in 0..self.trees {
                // SAFETY (every gather below): a node index stays below
                // `width - 1` for `depth` steps (level L holds 2^L - 1 ..
                // 2^(L+1) - 2), a leaf index is below `width`, a slot is
                // masked below STRIDE; the lengths were checked above.
                let nodes = self.nodes.as_ptr().add(t * width);
                let leaves = self.leaves.as_ptr().add(t * width);
                let mut i = [_mm256_setzero_si256(); CHAINS];
                for _ in 0..self.depth {
                    for (c, i) in i.iter_mut().enumerate().take(chains) {
                        let row0 = ranks.as_ptr().add((first + c) * GROUP * STRIDE);
                        let node = _mm256_i32gather_epi32::<4>(nodes, *i);
                        let slot = _mm256_and_si256(node, slot_mask);
                        let k = _mm256_srai_epi32::<SLOT_BITS>(node);
                        let r = _mm256_i32gather_epi32::<4>(row0, _mm256_add_epi32(rows, slot));
                        // -1 where the point goes right
                        let right = _mm256_cmpgt_epi32(r, k);
                        *i = _mm256_sub_epi32(
                            _mm256_add_epi32(_mm256_add_epi32(*i, *i), one),
                            right,
                        );
                    }
                }
                for (c, i) in i.iter().enumerate().take(chains) {
                    let leaf = _mm256_sub_epi32(*i, first_leaf);
                    let lo = _mm256_i32gather_pd::<8>(leaves, _mm256_castsi256_si128(leaf));
                    let hi = _mm256_i32gather_pd::<8>(leaves, _mm256_extracti128_si256::<1>(leaf));
                    let o = out.as_mut_ptr().add((first + c) * GROUP);
                    _mm256_storeu_pd(o, _mm256_add_pd(_mm256_loadu_pd(o), lo));
                    _mm256_storeu_pd(o.add(4), _mm256_add_pd(_mm256_loadu_pd(o.add(4)), hi));
                }
            }
        }
    }
}

/// Whether a [`Flat`] node with this `feature` is an inner node (leaves
/// read [`LEAF_SLOT`]).
fn is_inner(feature: u32) -> bool {
    (feature as usize) < LEAF_SLOT
}

#[cfg(test)]
mod tests {
    use super::super::{point, IsolationForest};
    use super::*;
    use crate::detect::features::ServiceClass;
    use crate::detect::Sample;

    fn samples(n: usize, seed: u64) -> Vec<Sample> {
        let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|k| {
                let mut s = Sample {
                    class: ServiceClass::Icmp,
                    x: [0.0; N_FEATURES],
                };
                for (j, v) in s.x.iter_mut().enumerate() {
                    z ^= z << 13;
                    z ^= z >> 7;
                    z ^= z << 17;
                    // a few distinct values on some features (ties with
                    // thresholds), spread on others, signed zeros
                    *v = match j % 4 {
                        0 => (z % 5) as f64,
                        1 => (z % 1000) as f64 / 7.0,
                        2 if k % 11 == 0 => -0.0,
                        _ => ((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e3,
                    };
                }
                s
            })
            .collect()
    }

    #[test]
    fn same_bits_as_the_flat_walk() {
        let train = samples(2000, 1);
        let f = IsolationForest::fit(&train, 7);
        let ranked = Ranked::compile(&f.flat).expect("a grown forest compiles");
        assert_eq!(ranked.depth, 8);
        let mut probe = samples(300, 2);
        probe.extend(train.iter().take(100).copied());
        // points exactly on thresholds and next to them
        for (k, n) in f
            .flat
            .nodes
            .iter()
            .filter(|n| is_inner(n.feature))
            .enumerate()
            .take(200)
        {
            let mut s = train[k];
            if let Some(v) = s.x.get_mut(n.feature as usize) {
                *v = match k % 3 {
                    0 => n.threshold,
                    1 => n.threshold.next_down(),
                    _ => n.threshold.next_up(),
                };
            }
            probe.push(s);
        }
        let xs: Vec<_> = probe.iter().map(point).collect();
        let want: Vec<f64> = xs.iter().map(|x| f.flat.total_path_length(x)).collect();
        for len in [0, 1, 7, 8, 9, 31, 32, xs.len()] {
            let mut got = vec![f64::NAN; len];
            ranked.total_path_lengths(&xs[..len], &mut got);
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w.to_bits(), g.to_bits());
            }
            // the scalar walk alone, too
            let padded = len.div_ceil(GROUP) * GROUP;
            let mut ranks = vec![0i32; padded * STRIDE];
            for (x, row) in xs[..len].iter().zip(ranks.chunks_exact_mut(STRIDE)) {
                ranked.ranks(x, row);
            }
            let mut out = vec![0.0; padded];
            ranked.walk(&ranks, &mut out);
            for (w, g) in want.iter().zip(&out[..len]) {
                assert_eq!(w.to_bits(), g.to_bits());
            }
        }
    }

    #[test]
    fn too_many_deep_trees_are_not_compiled() {
        let f = IsolationForest::fit(&samples(1000, 4), 2);
        assert!(Ranked::compile(&f.flat).is_some());
        // 8,192 copies of depth-8 trees: 2^21 leaves, past the bound
        let many = super::super::Flat::compile(&vec![f.trees[0].clone(); 8192]);
        assert!(many.steps >= 8);
        assert!(Ranked::compile(&many).is_none());
    }

    #[test]
    fn ranks_count_thresholds_at_or_below() {
        let train = samples(500, 3);
        let f = IsolationForest::fit(&train, 1);
        let ranked = Ranked::compile(&f.flat).expect("compiles");
        let x = point(&train[0]);
        let mut row = [0i32; STRIDE];
        ranked.ranks(&x, &mut row);
        for (slot, t) in ranked.thresholds.iter().enumerate() {
            assert!(t.windows(2).all(|w| w[0] < w[1]));
            let by_hand = t.iter().filter(|&&u| u <= x[slot]).count();
            assert_eq!(row[slot] as usize, by_hand);
        }
    }
}
