//! A lookup table in front of a sorted list of doubles: how many of them
//! are at or below a value (`partition_point(|&u| u <= v)`), found by one
//! multiply into a bucket of the list's range and a binary search over the
//! few entries that bucket can hold, instead of a binary search over all.
//! The ECOD tables (a feature's distinct training values) and the ranked
//! forest (a feature's distinct thresholds) count this for every feature of
//! every scored point.
//!
//! Exact by construction: the bucket of a value is a monotone function of
//! it (a subtraction, a multiply by a positive constant and a truncation,
//! all monotone in IEEE arithmetic), so every entry in a lower bucket than
//! `v`'s is below `v` and every entry in a higher bucket above it; only
//! `v`'s own bucket is searched, whatever the rounding. The result is the
//! plain binary search's for every `v`, NaN and infinities included.
//!
//! Owns: the bucket bounds. Must not: hold the list (callers pass it, the
//! same list the index was built on).

/// The bucket bounds of a sorted list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankIndex {
    /// The list's first value.
    lo: f64,
    /// Buckets per unit of value.
    scale: f64,
    /// `starts[b]`: entries in buckets below `b` (`starts.len()` = buckets
    /// + 1, the last the list's length). Empty: no index (plain search).
    starts: Vec<u32>,
}

impl RankIndex {
    /// An index over `sorted` (ascending, no NaN), with about one bucket per
    /// entry; no index for lists too short to gain or whose range is not a
    /// finite positive width.
    pub fn new(sorted: &[f64]) -> RankIndex {
        let n = sorted.len();
        let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
            return RankIndex::default();
        };
        let width = hi - lo;
        if n < 8 || n > u32::MAX as usize / 2 || !(width.is_finite() && width > 0.0) {
            return RankIndex::default();
        }
        let buckets = n;
        let scale = buckets as f64 / width;
        if !scale.is_finite() || scale <= 0.0 {
            return RankIndex::default();
        }
        let mut idx = RankIndex {
            lo,
            scale,
            starts: vec![0; buckets + 1],
        };
        // count per bucket, then prefix sums shifted by one
        for &u in sorted {
            let b = idx.bucket(u);
            idx.starts[b + 1] += 1;
        }
        for b in 1..idx.starts.len() {
            idx.starts[b] += idx.starts[b - 1];
        }
        idx
    }

    /// `v`'s bucket (0 for NaN and below the range, the last at and above
    /// its end).
    #[inline(always)]
    fn bucket(&self, v: f64) -> usize {
        let last = self.starts.len().saturating_sub(2);
        // (`as` saturates: NaN and negatives give 0)
        (((v - self.lo) * self.scale) as usize).min(last)
    }

    /// How many entries of `sorted` (the list the index was built on) are
    /// at or below `v`: `sorted.partition_point(|&u| u <= v)`.
    #[inline(always)]
    pub fn count_le(&self, sorted: &[f64], v: f64) -> usize {
        if self.starts.is_empty() {
            return sorted.partition_point(|&u| u <= v);
        }
        let b = self.bucket(v);
        let (from, to) = match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&f), Some(&t)) => (f as usize, t as usize),
            _ => return sorted.partition_point(|&u| u <= v),
        };
        match sorted.get(from..to) {
            Some(within) => from + within.partition_point(|&u| u <= v),
            None => sorted.partition_point(|&u| u <= v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sorted: &[f64], probes: &[f64]) {
        let idx = RankIndex::new(sorted);
        for &v in probes {
            assert_eq!(
                idx.count_le(sorted, v),
                sorted.partition_point(|&u| u <= v),
                "{v:e} in {} entries",
                sorted.len()
            );
        }
    }

    /// Every entry, its neighbours one ulp away, values between entries,
    /// outside the range, signed zeros, infinities and NaN.
    fn probes(sorted: &[f64]) -> Vec<f64> {
        let mut p = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -1e300,
            1e300,
        ];
        for w in sorted.windows(2) {
            p.push((w[0] + w[1]) / 2.0);
        }
        for &u in sorted {
            p.extend([
                u,
                f64::from_bits(u.to_bits() + 1),
                f64::from_bits(u.to_bits().wrapping_sub(1)),
            ]);
            p.extend([u - 1.0, u + 1.0]);
        }
        p
    }

    #[test]
    fn counts_what_a_binary_search_counts() {
        let mut st = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            (st >> 11) as f64 / (1u64 << 53) as f64
        };
        let lists: Vec<Vec<f64>> = vec![
            // spread, clustered (log-scaled counts), tiny, a few huge values
            (0..500).map(|_| next() * 20.0).collect(),
            (0..300).map(|k| ((k % 17) as f64).ln_1p()).collect(),
            (0..9).map(|k| k as f64 * 1e-310).collect(),
            (0..64)
                .map(|k| if k < 60 { k as f64 } else { 1e200 * k as f64 })
                .collect(),
            vec![-3.0, -2.0, -0.0, 1e-300, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            vec![1.0; 3],
            vec![],
        ];
        for mut l in lists {
            l.sort_by(f64::total_cmp);
            l.dedup();
            let p = probes(&l);
            check(&l, &p);
        }
    }
}
