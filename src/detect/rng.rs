//! The detectors' random numbers: xorshift64 seeded through SplitMix64's
//! finaliser, so a model is the same on every run and platform for the
//! same seed. Owns only [`Rng`]; must not read a clock or the OS's entropy.

/// xorshift64: small deterministic RNG.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed` (0 and small seeds are fine: the seed is
    /// mixed first).
    pub(crate) fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// A generator continuing from state `x` as it is (no mixing; a zero
    /// state, which xorshift never leaves, is replaced as in [`new`](Self::new)).
    pub(crate) fn from_state(x: u64) -> Rng {
        Rng(if x == 0 { 0x2545_F491_4F6C_DD1D } else { x })
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, n) (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in the open interval (0, 1).
    pub(crate) fn open01(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sequence_and_ranges() {
        // seed 0 through SplitMix64's finaliser, then xorshift64 (13, 7, 17),
        // computed independently (Python, 64-bit masks)
        let mut r = Rng::new(0);
        assert_eq!(r.next(), 0x6661_260e_8cc5_7df4);
        assert_eq!(r.next(), 0x2ed7_a803_1b23_0a0f);
        assert_eq!(r.next(), 0x1383_0ddd_eb20_2fdb);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let o = r.open01();
            assert!(o > 0.0 && o < 1.0);
        }
        assert_eq!(r.below(0), 0);
        // a state taken as it is: one xorshift step of 5, by hand
        assert_eq!(Rng::from_state(5).next(), 5_411_348_805);
    }
}
