//! Isolation forest (Liu, Ting and Zhou 2008): random axis-parallel
//! partitions of benign subsamples; a connection that is isolated after few
//! splits is anomalous. Trees are flat node vectors (the serialized form);
//! scoring walks a compiled copy ([`Flat`]): every tree's nodes in one
//! arena of 16-byte nodes, siblings adjacent, leaves holding their
//! precomputed path length, all trees stepped in lock-step. Batches of
//! 16 points and more walk a second compilation (`ranked.rs`) to the same
//! bits.
//!
//! Owns: the [`IsolationForest`] model, its fitting and scoring.
//! Must not: re-fit on what it scores, panic or return a non-finite score
//! on any input, or depend on anything but the samples and the seed
//! (the detectors' deterministic `Rng`). Memory is bounded: [`N_TREES`] trees
//! of at most `2 * MAX_SUBSAMPLE - 1` nodes; fitting reads at most
//! [`MAX_SAMPLES`] samples.

use super::features::N_FEATURES;
use super::json_scan::Cursor;
use super::rng::Rng;
use super::{clean, cleaned_rows, ConnDetector, Sample};

mod ranked;

/// Number of trees.
pub const N_TREES: usize = 100;
/// Subsample size per tree (fewer when training is smaller).
pub const MAX_SUBSAMPLE: usize = 256;
/// At most this many training samples are drawn from (stride subsampling
/// above it).
pub const MAX_SAMPLES: usize = 100_000;

/// Euler–Mascheroni constant used by the harmonic-number approximation.
const EULER_GAMMA: f64 = 0.577_215_664_9;

/// `c(n)`: the average path length of an unsuccessful search in a binary
/// search tree of `n` points, `2 H(n-1) - 2 (n-1)/n` with
/// `H(i) = ln i + 0.5772156649`; 0 for `n <= 1`.
pub fn c_factor(n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let m = (n - 1) as f64;
    2.0 * (m.ln() + EULER_GAMMA) - 2.0 * m / n as f64
}

/// One node of a flat tree. A leaf has `left == 0` (the root is node 0, so
/// no child is ever 0).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Node {
    feature: u16,
    threshold: f64,
    left: u32,
    right: u32,
    /// Number of training points that reached the node (used at leaves).
    size: u32,
}

/// [`c_factor`] from a table for leaf sizes up to [`MAX_SUBSAMPLE`] (no
/// logarithm per leaf while scoring).
fn c_factor_small(n: usize) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| (0..=MAX_SUBSAMPLE).map(c_factor).collect());
    t.get(n).copied().unwrap_or_else(|| c_factor(n))
}

/// One isolation tree: node 0 is the root.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// Builds the subtree over `pts` (rows of `data`), returns its index.
    fn build(
        &mut self,
        data: &[[f64; N_FEATURES]],
        pts: &mut [usize],
        depth: usize,
        limit: usize,
        rng: &mut Rng,
    ) -> u32 {
        let me = self.nodes.len() as u32;
        self.nodes.push(Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            size: pts.len() as u32,
        });
        if depth >= limit || pts.len() <= 1 {
            return me;
        }
        // features with a positive range among this node's points
        let mut lo = [f64::INFINITY; N_FEATURES];
        let mut hi = [f64::NEG_INFINITY; N_FEATURES];
        for &p in pts.iter() {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(&data[p]) {
                *l = l.min(v);
                *h = h.max(v);
            }
        }
        let cand: Vec<usize> = (0..N_FEATURES).filter(|&j| hi[j] > lo[j]).collect();
        if cand.is_empty() {
            return me;
        }
        let j = cand[rng.below(cand.len())];
        let (lo, hi) = (lo[j], hi[j]);
        // uniform in (lo, hi]; values are clamped finite, so no NaN here
        let mut t = lo + rng.open01() * (hi - lo);
        if t <= lo || t > hi {
            t = lo + 0.5 * (hi - lo);
            if t <= lo {
                t = hi;
            }
        }
        // partition: x < t to the left (non-empty: holds lo), rest right
        // (non-empty: holds hi)
        let mut k = 0;
        for i in 0..pts.len() {
            if data[pts[i]][j] < t {
                pts.swap(i, k);
                k += 1;
            }
        }
        let (l, r) = pts.split_at_mut(k);
        let left = self.build(data, l, depth + 1, limit, rng);
        let right = self.build(data, r, depth + 1, limit, rng);
        let n = &mut self.nodes[me as usize];
        n.feature = j as u16;
        n.threshold = t;
        n.left = left;
        n.right = right;
        me
    }

    /// Path length of `x`: edges to its leaf plus `c(leaf size)` (the
    /// reference for [`Flat`]).
    #[cfg(test)]
    fn path_length(&self, x: &[f64; N_FEATURES]) -> f64 {
        let mut i = 0usize;
        let mut depth = 0usize;
        // every step goes to a higher index, so this terminates; the bound
        // also guards against a corrupt (deserialized) model
        while let Some(n) = self.nodes.get(i) {
            if n.left == 0 || depth > self.nodes.len() {
                return depth as f64 + c_factor_small(n.size as usize);
            }
            let v = x.get(n.feature as usize).copied().unwrap_or(0.0);
            i = if v < n.threshold {
                n.left as usize
            } else {
                n.right as usize
            };
            depth += 1;
        }
        depth as f64
    }
}

/// Length of a point as the compiled forest reads it: the features, a
/// zero slot that out-of-range features read (see [`Flat::fill`]),
/// zeros up to a power of two, and last [`LEAF_SLOT`].
const POINT: usize = (N_FEATURES + 1).next_power_of_two();

/// The point's slot that leaves read: -inf, below every value, so a leaf
/// keeps a point on itself (see [`FlatNode`]).
const LEAF_SLOT: usize = POINT - 1;
const _: () = assert!(LEAF_SLOT > N_FEATURES);

/// Trees (or points) walked side by side by [`Flat::total_path_length`]
/// (and [`Flat::total_path_lengths`]).
const LANES: usize = 4;

/// A sample as the compiled forest reads it (see [`POINT`]).
fn point(s: &Sample) -> [f64; POINT] {
    let mut x = [0.0; POINT];
    for (d, &v) in x.iter_mut().zip(&s.x) {
        *d = clean(v);
    }
    x[LEAF_SLOT] = f64::NEG_INFINITY;
    x
}

/// One node of the compiled forest, 16 bytes. An inner node sends `x` to
/// `next + (x[feature] >= threshold)` (left, as in [`Tree`], when below:
/// values and thresholds are finite, JSON has no NaN). A leaf reads
/// [`LEAF_SLOT`] (-inf, never `>=` a finite number) and `next` points to
/// itself, so walking it more steps stays on it; its `threshold` holds the
/// path length of a point ending there (depth + `c(leaf size)`), read in
/// the same cache line as the last step.
#[derive(Clone, Copy, Debug)]
struct FlatNode {
    threshold: f64,
    next: u32,
    feature: u32,
}

/// Every tree compiled into one arena (see [`FlatNode`]).
#[derive(Clone, Debug, Default)]
struct Flat {
    nodes: Vec<FlatNode>,
    /// Arena index of each tree's root.
    roots: Vec<u32>,
    /// Steps that bring every point to its leaf in every tree (the
    /// deepest leaf's depth).
    steps: usize,
}

impl Flat {
    fn compile(trees: &[Tree]) -> Flat {
        let mut f = Flat::default();
        for t in trees {
            let root = f.push_leaf(0.0);
            f.roots.push(root);
            f.fill(t, 0, 0, root);
        }
        // Whole groups of LANES trees for the walk: the missing ones are
        // one leaf of path length 0 (adding 0 to the positive sum changes
        // nothing).
        if f.roots.len() % LANES != 0 {
            let pad = f.push_leaf(0.0);
            while f.roots.len() % LANES != 0 {
                f.roots.push(pad);
            }
        }
        // Padded to a power of two with unreachable leaves, so the walk
        // can mask an index instead of checking it.
        while !f.nodes.len().is_power_of_two() {
            f.push_leaf(0.0);
        }
        f
    }

    fn push_leaf(&mut self, value: f64) -> u32 {
        let me = self.nodes.len() as u32;
        self.nodes.push(FlatNode {
            threshold: value,
            next: me,
            feature: LEAF_SLOT as u32,
        });
        me
    }

    /// Compiles tree node `i` (reached at `depth`) into arena slot `at`,
    /// depth first with each pair of children side by side (a path's next
    /// node is often in the cache line of the last).
    /// As [`Tree::path_length`]: a missing node ends the path at its depth;
    /// a child not after its parent (a corrupt model) ends it at the parent
    /// (guards against cycles).
    fn fill(&mut self, t: &Tree, i: usize, depth: usize, at: u32) {
        let Some(n) = t.nodes.get(i) else {
            self.nodes[at as usize].threshold = depth as f64;
            return;
        };
        let (l, r) = (n.left as usize, n.right as usize);
        if n.left == 0 || l <= i || r <= i {
            self.nodes[at as usize].threshold = depth as f64 + c_factor_small(n.size as usize);
            self.steps = self.steps.max(depth);
            return;
        }
        let left = self.push_leaf(0.0);
        let right = self.push_leaf(0.0);
        debug_assert_eq!(right, left + 1);
        self.nodes[at as usize] = FlatNode {
            threshold: n.threshold,
            next: left,
            // out-of-range features read as 0 (the extra slot of the point)
            feature: (n.feature as usize).min(N_FEATURES) as u32,
        };
        self.steps = self.steps.max(depth + 1);
        self.fill(t, l, depth + 1, left);
        self.fill(t, r, depth + 1, right);
    }

    /// The sum over the trees of the path lengths of `x` (trees in order).
    fn total_path_length(&self, x: &[f64; POINT]) -> f64 {
        let mask = self.nodes.len().wrapping_sub(1);
        // Every index below is masked, so none can be out of bounds: the
        // arena's length is a power of two (`compile`), and `x` has a
        // power-of-two length too.
        let Some(nodes) = self.nodes.get(..=mask) else {
            return 0.0;
        };
        let mut sum = 0.0;
        // LANES trees walked side by side (independent chains of loads
        // that overlap), a fixed count the compiler unrolls.
        for roots in self.roots.chunks_exact(LANES) {
            let mut at = [0u32; LANES];
            at.copy_from_slice(roots);
            for _ in 0..self.steps {
                for a in at.iter_mut() {
                    let n = nodes[*a as usize & mask];
                    let v = x[n.feature as usize & (POINT - 1)];
                    *a = n.next + u32::from(v >= n.threshold);
                }
            }
            for a in at {
                sum += nodes[a as usize & mask].threshold;
            }
        }
        sum
    }
}

impl Flat {
    /// [`total_path_length`](Self::total_path_length) of every point of
    /// `xs` into `sums` (as long): tree by tree, LANES points side by side
    /// in each, so a tree's nodes are read from cache for the whole batch.
    /// Each point's sum is over the trees in order, as one by one: the same
    /// bits.
    fn total_path_lengths(&self, xs: &[[f64; POINT]], sums: &mut [f64]) {
        let mask = self.nodes.len().wrapping_sub(1);
        let Some(nodes) = self.nodes.get(..=mask) else {
            sums.iter_mut().for_each(|v| *v = 0.0);
            return;
        };
        // Whole groups of LANES points tree by tree; the few left over
        // (and a batch of fewer) one by one, LANES trees side by side.
        let full = xs.len().min(sums.len()) / LANES * LANES;
        let (head_x, tail_x) = xs.split_at(full);
        let (head_s, tail_s) = sums.split_at_mut(full);
        head_s.iter_mut().for_each(|v| *v = 0.0);
        for &root in &self.roots {
            for (p, o) in head_x
                .chunks_exact(LANES)
                .zip(head_s.chunks_exact_mut(LANES))
            {
                let mut at = [root; LANES];
                for _ in 0..self.steps {
                    for (a, x) in at.iter_mut().zip(p) {
                        let n = nodes[*a as usize & mask];
                        let v = x[n.feature as usize & (POINT - 1)];
                        *a = n.next + u32::from(v >= n.threshold);
                    }
                }
                for (a, v) in at.iter().zip(o.iter_mut()) {
                    *v += nodes[*a as usize & mask].threshold;
                }
            }
        }
        for (x, v) in tail_x.iter().zip(tail_s) {
            *v = self.total_path_length(x);
        }
    }
}

impl Node {
    /// A node as serde reads it from an object with exactly these five
    /// fields, each once; `None` for anything else.
    fn read_json(c: &mut Cursor<'_>) -> Option<Node> {
        let (mut feature, mut threshold, mut left, mut right, mut size) =
            (None, None, None, None, None);
        c.object(|key, c| {
            let u32_of = |c: &mut Cursor<'_>| u32::try_from(c.u64()?).ok();
            match key {
                "feature" if feature.is_none() => feature = Some(u16::try_from(c.u64()?).ok()?),
                "threshold" if threshold.is_none() => threshold = Some(c.finite_f64()?),
                "left" if left.is_none() => left = Some(u32_of(c)?),
                "right" if right.is_none() => right = Some(u32_of(c)?),
                "size" if size.is_none() => size = Some(u32_of(c)?),
                _ => return None,
            }
            Some(())
        })?;
        Some(Node {
            feature: feature?,
            threshold: threshold?,
            left: left?,
            right: right?,
            size: size?,
        })
    }
}

impl IsolationForest {
    /// The forest of a model file's `iforest` value, read with the JSON
    /// cursor (no serde): what serde reads when the value is an object
    /// with exactly the fields `trees` (objects with exactly `nodes`) and
    /// `subsample`, each once, and every node as [`Node`]'s fields; `None`
    /// for anything else (unknown, repeated or missing fields, escaped
    /// keys, numbers out of range), which the model reader leaves to serde.
    pub(crate) fn read_json(c: &mut Cursor<'_>) -> Option<IsolationForest> {
        let (mut trees, mut subsample) = (None, None);
        c.object(|key, c| {
            match key {
                "trees" if trees.is_none() => {
                    let tree = |c: &mut Cursor<'_>| {
                        let nodes = c.only_member("nodes", |c| c.vec(Node::read_json))?;
                        Some(Tree { nodes })
                    };
                    trees = Some(c.vec(tree)?);
                }
                "subsample" if subsample.is_none() => {
                    subsample = Some(usize::try_from(c.u64()?).ok()?);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(IsolationForest::new(trees?, subsample?))
    }
}

/// The serialized form of [`IsolationForest`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct ForestRepr {
    trees: Vec<Tree>,
    /// Subsample size each tree was grown on (ψ).
    subsample: usize,
}

impl From<ForestRepr> for IsolationForest {
    fn from(r: ForestRepr) -> Self {
        IsolationForest::new(r.trees, r.subsample)
    }
}

impl From<IsolationForest> for ForestRepr {
    fn from(f: IsolationForest) -> Self {
        ForestRepr {
            trees: f.trees,
            subsample: f.subsample,
        }
    }
}

/// Isolation forest over the connection features, fitted on benign
/// samples.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(from = "ForestRepr", into = "ForestRepr")]
pub struct IsolationForest {
    trees: Vec<Tree>,
    /// Subsample size each tree was grown on (ψ).
    subsample: usize,
    /// The trees compiled for scoring.
    flat: Flat,
    /// The trees compiled for batches (`None` for a forest too deep or
    /// with a NaN threshold, see [`ranked`]).
    ranked: Option<ranked::Ranked>,
}

impl IsolationForest {
    /// Grows [`N_TREES`] trees, each on `min(256, n)` samples drawn without
    /// replacement (from at most [`MAX_SAMPLES`] stride-subsampled
    /// samples), height limit `ceil(log2 ψ)`. Deterministic given `seed`.
    pub fn fit(samples: &[Sample], seed: u64) -> Self {
        let n_all = samples.len();
        let n = n_all.min(MAX_SAMPLES);
        if n == 0 {
            return IsolationForest::new(Vec::new(), 0);
        }
        let data = cleaned_rows(samples, MAX_SAMPLES);
        let psi = n.min(MAX_SUBSAMPLE);
        let limit = (psi as f64).log2().ceil().max(0.0) as usize;
        let mut rng = Rng::new(seed);
        let mut idx: Vec<usize> = (0..n).collect();
        let mut trees = Vec::with_capacity(N_TREES);
        for _ in 0..N_TREES {
            // partial Fisher-Yates: the first psi entries are the subsample
            for i in 0..psi {
                let j = i + rng.below(n - i);
                idx.swap(i, j);
            }
            let mut pts: Vec<usize> = idx[..psi].to_vec();
            let mut tree = Tree {
                nodes: Vec::with_capacity(2 * psi),
            };
            tree.build(&data, &mut pts, 0, limit, &mut rng);
            trees.push(tree);
        }
        IsolationForest::new(trees, psi)
    }

    fn new(trees: Vec<Tree>, subsample: usize) -> Self {
        let flat = Flat::compile(&trees);
        IsolationForest {
            ranked: ranked::Ranked::compile(&flat),
            flat,
            trees,
            subsample,
        }
    }

    /// The mean path length `E[h(x)]` over the trees (0 for an empty
    /// model).
    pub fn mean_path_length(&self, s: &Sample) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        self.flat.total_path_length(&point(s)) / self.trees.len() as f64
    }
}

impl IsolationForest {
    /// [`score`](ConnDetector::score) of every sample of `batch` into
    /// `out` (as long; the same bits as one by one, see
    /// [`Flat::total_path_lengths`]).
    pub fn score_batch(&self, batch: &[Sample], out: &mut [f64]) {
        if self.trees.is_empty() || c_factor(self.subsample) <= 0.0 {
            out.iter_mut().for_each(|v| *v = self.score_of_total(0.0));
            return;
        }
        if batch.len() < ranked::MIN_BATCH {
            // a few points (most batches on traffic that repeats itself):
            // one by one, the trees side by side (the same bits)
            for (s, v) in batch.iter().zip(out.iter_mut()) {
                *v = self.score_of_total(self.flat.total_path_length(&point(s)));
            }
            return;
        }
        // (a chunk of points on the stack: no allocation per batch; each
        // point's sum is its own, so the bits do not depend on the chunks)
        let mut xs = [[0.0; POINT]; ranked::CHUNK];
        for (batch, out) in batch
            .chunks(ranked::CHUNK)
            .zip(out.chunks_mut(ranked::CHUNK))
        {
            for (x, s) in xs.iter_mut().zip(batch) {
                *x = point(s);
            }
            let xs = &xs[..batch.len()];
            match &self.ranked {
                // a small batch is walked faster (and to the same bits) by
                // the trees side by side: the ranked walk's chains of
                // gathers need many points to overlap
                Some(r) if xs.len() >= ranked::MIN_BATCH => r.total_path_lengths(xs, out),
                _ => self.flat.total_path_lengths(xs, out),
            }
        }
        for v in out.iter_mut() {
            *v = self.score_of_total(*v);
        }
    }

    /// The score of a point whose path lengths over the trees sum to
    /// `total`: `2^(-E[h(x)] / c(ψ))`; 0 for an empty model, 0.5 when
    /// trained on a single sample (no information), 0 if not finite.
    fn score_of_total(&self, total: f64) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        let c = c_factor(self.subsample);
        if c <= 0.0 {
            return 0.5;
        }
        let v = 2f64.powf(-(total / self.trees.len() as f64) / c);
        if v.is_finite() {
            v
        } else {
            0.0
        }
    }
}

impl ConnDetector for IsolationForest {
    fn name(&self) -> &'static str {
        "iforest"
    }

    /// `2^(-E[h(x)] / c(ψ))`, in (0, 1); 0 for an empty model, 0.5 when
    /// trained on a single sample (no information).
    fn score(&self, s: &Sample) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        self.score_of_total(self.flat.total_path_length(&point(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::service::Service;
    use crate::detect::features::ServiceClass;

    const HTTP: ServiceClass = ServiceClass::Service(Service::Http);

    fn cluster(n: usize, seed: u64) -> Vec<Sample> {
        let mut r = Rng::new(seed);
        (0..n)
            .map(|_| {
                let mut x = [0.0; N_FEATURES];
                for (j, v) in x.iter_mut().enumerate() {
                    // bell-shaped noise: sum of three uniforms
                    let e = r.open01() + r.open01() + r.open01() - 1.5;
                    *v = 3.0 + 0.05 * j as f64 + e;
                }
                Sample { class: HTTP, x }
            })
            .collect()
    }

    #[test]
    fn c_factor_by_hand() {
        assert_eq!(c_factor(0), 0.0);
        assert_eq!(c_factor(1), 0.0);
        // c(2) = 2 (ln 1 + γ) - 2 * 1/2 = 2γ - 1
        assert!((c_factor(2) - (2.0 * 0.5772156649 - 1.0)).abs() < 1e-12);
        // c(256) = 2 (ln 255 + γ) - 2 * 255/256 = 10.244770920...
        assert!(
            (c_factor(256) - 10.244_770_9).abs() < 1e-6,
            "{}",
            c_factor(256)
        );
        // c(10) = 2 (ln 9 + γ) - 1.8 = 3.748880...
        assert!(
            (c_factor(10) - 3.748_880_6).abs() < 1e-6,
            "{}",
            c_factor(10)
        );
    }

    #[test]
    fn outlier_scores_above_every_inlier() {
        let train = cluster(1000, 1);
        let f = IsolationForest::fit(&train, 7);
        assert_eq!(f.trees.len(), N_TREES);
        assert_eq!(f.subsample, 256);
        let max_in = train.iter().map(|s| f.score(s)).fold(0.0, f64::max);
        // far from the cluster in every feature
        let mut out = train[0];
        for (j, v) in out.x.iter_mut().enumerate() {
            *v += if j % 2 == 0 { 5.0 } else { -5.0 };
        }
        let so = f.score(&out);
        assert!(so > max_in, "{so} vs {max_in}");
        assert!(so > 0.6 && so < 1.0, "{so}");
        for s in &train {
            let v = f.score(s);
            assert!(v > 0.0 && v < 1.0);
        }
    }

    #[test]
    fn tree_shape_bounded() {
        let f = IsolationForest::fit(&cluster(1000, 3), 1);
        for t in &f.trees {
            assert!(t.nodes.len() < 2 * 256);
            // leaf sizes add to the subsample
            let leaves: u32 = t.nodes.iter().filter(|n| n.left == 0).map(|n| n.size).sum();
            assert_eq!(leaves, 256);
            assert!(t.nodes.iter().all(|n| n.left == 0 || n.right > n.left));
        }
        // height limit ceil(log2 256) = 8: no path longer than 8 + c(leaf)
        let x = [1e9; N_FEATURES];
        for t in &f.trees {
            assert!(t.path_length(&x) <= 8.0 + c_factor(256));
        }
    }

    #[test]
    fn compiled_forest_matches_the_trees() {
        let train = cluster(1000, 5);
        let f = IsolationForest::fit(&train, 3);
        let mut probe = cluster(200, 6);
        probe.extend(train.iter().take(50).copied());
        for (k, s) in probe.iter_mut().enumerate() {
            // some points far out, some exactly on a threshold
            if k % 7 == 0 {
                s.x[k % N_FEATURES] = 1e9;
            }
        }
        for t in &f.trees {
            if let Some(n) = t.nodes.iter().find(|n| n.left != 0) {
                let mut s = train[0];
                s.x[n.feature as usize] = n.threshold;
                probe.push(s);
            }
        }
        for s in &probe {
            let x = s.x.map(clean);
            let want: f64 = f.trees.iter().map(|t| t.path_length(&x)).sum::<f64>();
            let got = f.mean_path_length(s) * f.trees.len() as f64;
            assert!((want - got).abs() <= 1e-9 * want, "{want} {got}");
            assert_eq!(
                f.mean_path_length(s),
                want / f.trees.len() as f64,
                "same sum, same order"
            );
        }
        // a corrupt tree (child out of range, child before its parent, a
        // feature out of range) scores finite, without panicking
        let bad = Tree {
            nodes: vec![
                Node {
                    feature: 99,
                    threshold: 1.0,
                    left: 1,
                    right: 7,
                    size: 4,
                },
                Node {
                    feature: 0,
                    threshold: 1.0,
                    left: 0,
                    right: 0,
                    size: 2,
                },
            ],
        };
        let cyc = Tree {
            nodes: vec![
                Node {
                    feature: 0,
                    threshold: 1.0,
                    left: 1,
                    right: 2,
                    size: 4,
                },
                Node {
                    feature: 0,
                    threshold: 1.0,
                    left: 0,
                    right: 0,
                    size: 2,
                },
                Node {
                    feature: 0,
                    threshold: 1.0,
                    left: 1,
                    right: 0,
                    size: 2,
                },
            ],
        };
        let g = IsolationForest::new(vec![bad, cyc], 4);
        for s in &probe {
            assert!(g.score(s).is_finite());
        }
        // Batches of every length (whole groups of lanes and remainders),
        // of this forest, the corrupt one and an empty one: the bits of
        // scoring one by one.
        let empty = IsolationForest::new(Vec::new(), 0);
        for forest in [&f, &g, &empty] {
            for len in [0, 1, 3, 4, 5, 8, 13, probe.len()] {
                let batch = &probe[..len.min(probe.len())];
                let mut out = vec![f64::NAN; batch.len()];
                forest.score_batch(batch, &mut out);
                for (s, v) in batch.iter().zip(&out) {
                    assert_eq!(v.to_bits(), forest.score(s).to_bits());
                }
            }
        }
    }

    #[test]
    fn deterministic_and_serde_round_trip() {
        let train = cluster(500, 2);
        let a = IsolationForest::fit(&train, 11);
        let b = IsolationForest::fit(&train, 11);
        let c = IsolationForest::fit(&train, 12);
        let json = serde_json::to_string(&a).expect("serialize");
        // serde_json without its `float_roundtrip` feature may parse a float
        // one ulp off, hence the 1e-12 relative tolerance below.
        let d: IsolationForest = serde_json::from_str(&json).expect("deserialize");
        let test = cluster(50, 9);
        let mut differs = false;
        for s in &test {
            let sa = a.score(s);
            assert_eq!(sa, b.score(s));
            assert!((sa - d.score(s)).abs() <= 1e-12, "{sa} {}", d.score(s));
            differs |= sa != c.score(s);
        }
        assert!(differs, "another seed grows another forest");
        assert_eq!(a.name(), "iforest");
    }

    #[test]
    fn empty_tiny_constant_and_huge() {
        let f = IsolationForest::fit(&[], 0);
        let s = cluster(1, 5)[0];
        assert_eq!(f.score(&s), 0.0);

        let one = IsolationForest::fit(&[s], 0);
        assert_eq!(one.score(&s), 0.5);

        // constant features: every tree is a single leaf of size psi,
        // E[h] = c(psi), score = 2^-1 = 0.5
        let constant: Vec<Sample> = (0..50).map(|_| s).collect();
        let f = IsolationForest::fit(&constant, 0);
        assert!(f.trees.iter().all(|t| t.nodes.len() == 1));
        assert!((f.score(&s) - 0.5).abs() < 1e-12);

        // two distinct points: psi = 2, limit 1
        let mut s2 = s;
        s2.x[0] += 1.0;
        let f = IsolationForest::fit(&[s, s2], 3);
        assert!(f.score(&s).is_finite());

        let train = cluster(300, 4);
        let f = IsolationForest::fit(&train, 0);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            let mut x = s;
            x.x = [v; N_FEATURES];
            let sc = f.score(&x);
            assert!(sc.is_finite() && sc > 0.0 && sc < 1.0, "{v} -> {sc}");
        }
        let bad: Vec<Sample> = (0..30)
            .map(|i| {
                let mut x = s;
                x.x[i % N_FEATURES] = if i % 2 == 0 { f64::NAN } else { f64::INFINITY };
                x
            })
            .collect();
        let f = IsolationForest::fit(&bad, 0);
        assert!(f.score(&s).is_finite());
    }
}
