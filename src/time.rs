//! Network time.
//!
//! Owns the one clock of the engine: packet timestamps in nanoseconds since the
//! Unix epoch. Nothing in the engine reads a wall clock; every timer, duration
//! and window is computed from these values, so a replay is deterministic.

use std::fmt;

/// A point in network time (nanoseconds since the Unix epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

/// One second in [`Ts`] units.
pub const SEC: i64 = 1_000_000_000;

impl Ts {
    /// Builds a timestamp from whole seconds and a nanosecond fraction.
    pub fn from_parts(secs: i64, nanos: i64) -> Ts {
        Ts(secs.saturating_mul(SEC).saturating_add(nanos))
    }

    /// Builds a timestamp from (possibly fractional) seconds.
    pub fn from_secs_f64(s: f64) -> Ts {
        Ts((s * SEC as f64).round() as i64)
    }

    /// This time plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> Ts {
        Ts(self.0.saturating_add(secs.saturating_mul(SEC)))
    }

    /// Seconds as a float (for statistics).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / SEC as f64
    }

    /// The time as Zeek holds it: a double of seconds, built from whole
    /// seconds plus the fraction (microsecond captures: `sec + usec / 1e6`).
    pub fn zeek_f64(self) -> f64 {
        let secs = self.0.div_euclid(SEC);
        let frac = self.0.rem_euclid(SEC);
        if frac % 1000 == 0 {
            secs as f64 + (frac / 1000) as f64 / 1e6
        } else {
            secs as f64 + frac as f64 / 1e9
        }
    }

    /// Microseconds, rounded half away from zero, as Zeek prints times with `%.6f`.
    pub fn as_micros_rounded(self) -> i64 {
        let q = self.0.div_euclid(1000);
        let r = self.0.rem_euclid(1000);
        if r >= 500 {
            q + 1
        } else {
            q
        }
    }
}

/// Formats a time or interval (nanoseconds) the way Zeek does: seconds with
/// exactly six decimals.
pub struct Secs6(pub i64);

impl fmt::Display for Secs6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = Ts(self.0).as_micros_rounded();
        let sign = if us < 0 { "-" } else { "" };
        let a = us.unsigned_abs();
        write!(f, "{}{}.{:06}", sign, a / 1_000_000, a % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_decimals() {
        assert_eq!(
            Secs6(1_300_475_167_096_535_000).to_string(),
            "1300475167.096535"
        );
        assert_eq!(Secs6(0).to_string(), "0.000000");
        assert_eq!(Secs6(357_000).to_string(), "0.000357");
        // Rounding of sub-microsecond parts (nanosecond captures).
        assert_eq!(Secs6(1_499).to_string(), "0.000001");
        assert_eq!(Secs6(1_500).to_string(), "0.000002");
        assert_eq!(Secs6(-2_000_000).to_string(), "-0.002000");
    }
}
