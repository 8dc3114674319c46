//! Exact streaming moments of non-negative integer samples.
//!
//! Every quantity the flow statistics summarise is an integer at its source:
//! byte lengths, and time gaps in nanoseconds. [`Moments`] keeps the count,
//! sum, sum of squares (in `u128`), minimum and maximum, so mean and sample
//! variance are computed from exact integers at the end. This is at least as
//! stable as Welford's update (there is no rounding at all until the final
//! division, so there is no cancellation when the spread is tiny compared with
//! the mean), it costs one 64×64→128-bit multiply per sample, and two
//! accumulators merge exactly by addition (the whole-flow payload statistics
//! are the merge of the two directions).
//!
//! Range: the sum of squares cannot overflow for byte lengths (< 2^32 each, up
//! to 2^64 samples) nor for time gaps (their sum is bounded by the flow's
//! duration, an `i64` of nanoseconds, so the sum of squares is at most 2^126).

/// Count, sum, sum of squares, min and max of `u64` samples. `Default` is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moments {
    /// Number of samples.
    pub n: u64,
    /// Sum of the samples.
    pub sum: u64,
    /// Sum of the squared samples.
    pub sumsq: u128,
    /// Smallest sample (0 when empty).
    pub min: u64,
    /// Largest sample (0 when empty).
    pub max: u64,
}

impl Moments {
    /// Adds one sample.
    #[inline]
    pub fn add(&mut self, x: u64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += 1;
        self.sum = self.sum.wrapping_add(x);
        self.sumsq = self.sumsq.wrapping_add(x as u128 * x as u128);
    }

    /// The accumulator of both sample sets together (exact).
    pub fn merged(&self, o: &Moments) -> Moments {
        if self.n == 0 {
            return *o;
        }
        if o.n == 0 {
            return *self;
        }
        Moments {
            n: self.n + o.n,
            sum: self.sum.wrapping_add(o.sum),
            sumsq: self.sumsq.wrapping_add(o.sumsq),
            min: self.min.min(o.min),
            max: self.max.max(o.max),
        }
    }

    /// Mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum as f64 / self.n as f64
        }
    }

    /// Sample variance with the n−1 denominator (0 with fewer than two samples).
    ///
    /// Computed as `(n·Σx² − (Σx)²) / (n·(n−1))` with an exact integer
    /// numerator; only the final division rounds.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as u128;
        let s = self.sum as u128;
        let nf = self.n as f64;
        match n.checked_mul(self.sumsq) {
            Some(nq) => {
                // n·Σx² ≥ (Σx)² always (Cauchy–Schwarz), so this does not underflow.
                let num = nq.saturating_sub(s * s);
                num as f64 / (nf * (nf - 1.0))
            }
            None => {
                // Only for astronomically large inputs: Σx² − (Σx)²/n with the
                // integer part of the mean taken out exactly.
                let q = s / n;
                let r = s % n;
                let a = self.sumsq - q * q * n - 2 * q * r;
                let c = a as f64 - (r * r) as f64 / nf;
                c.max(0.0) / (nf - 1.0)
            }
        }
    }

    /// Sample standard deviation (n−1; 0 with fewer than two samples).
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// The five-number summary with every value divided by `scale`
    /// (1.0 for bytes, 1e9 for nanoseconds → seconds).
    pub fn summary(&self, scale: f64) -> Summary {
        Summary {
            min: self.min as f64 / scale,
            max: self.max as f64 / scale,
            tot: self.sum as f64 / scale,
            avg: self.mean() / scale,
            std: self.std() / scale,
        }
    }
}

/// zeek-flowmeter's `statistics_info`: min, max, total, mean and sample
/// standard deviation of a sample set; all 0 when the set is empty, `std` 0
/// with one sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum.
    pub tot: f64,
    /// Mean.
    pub avg: f64,
    /// Sample standard deviation (n−1).
    pub std: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(xs: &[u64]) -> Moments {
        let mut m = Moments::default();
        for &x in xs {
            m.add(x);
        }
        m
    }

    #[test]
    fn empty_and_single() {
        let m = Moments::default();
        assert_eq!(m.summary(1.0), Summary::default());
        let m = of(&[7]);
        assert_eq!(
            m.summary(1.0),
            Summary {
                min: 7.0,
                max: 7.0,
                tot: 7.0,
                avg: 7.0,
                std: 0.0
            }
        );
    }

    #[test]
    fn hand_computed() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x−5)² = 32, sample var 32/7.
        let m = of(&[2, 4, 4, 4, 5, 5, 7, 9]);
        let s = m.summary(1.0);
        assert_eq!((s.min, s.max, s.tot, s.avg), (2.0, 9.0, 40.0, 5.0));
        assert_eq!(m.variance(), 32.0 / 7.0);
        assert_eq!(s.std, (32.0f64 / 7.0).sqrt());
        // Seconds from nanoseconds.
        let t = of(&[1_000_000_000, 3_000_000_000]).summary(1e9);
        assert_eq!((t.min, t.max, t.tot, t.avg), (1.0, 3.0, 4.0, 2.0));
        assert_eq!(t.std, 2f64.sqrt());
    }

    #[test]
    fn no_cancellation_with_large_mean() {
        // Values around 10^15 with spread 1: naive f64 sums of squares lose it.
        let base = 1_000_000_000_000_000u64;
        let m = of(&[base, base + 1, base + 2]);
        assert_eq!(m.variance(), 1.0);
        assert_eq!(of(&[base; 5]).variance(), 0.0);
    }

    #[test]
    fn merge_is_exact() {
        let a = of(&[1, 2, 3]);
        let b = of(&[10, 20]);
        assert_eq!(a.merged(&b), of(&[1, 2, 3, 10, 20]));
        assert_eq!(Moments::default().merged(&b), b);
        assert_eq!(a.merged(&Moments::default()), a);
    }

    #[test]
    fn overflow_fallback_agrees() {
        // One huge value and fifteen zeros: n·Σx² = 2^128 overflows u128.
        let mut m = Moments::default();
        m.add(1u64 << 62);
        for _ in 0..15 {
            m.add(0);
        }
        assert!((m.n as u128).checked_mul(m.sumsq).is_none());
        // Mean 2^58; Σ(x−mean)² = 2^124 − 16·2^116 = 15·2^120; variance 2^120.
        assert_eq!(m.variance(), 2f64.powi(120));
    }
}
