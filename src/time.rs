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

/// The latest time a capture may carry: 2^62 ns (about year 2116). Capture
/// readers clamp packet times into `[0, MAX_TS]`, so a sum or difference of
/// two packet times (or a time plus any timeout) cannot overflow, however
/// corrupt the file. Classic pcap (32-bit seconds) never reaches it.
pub const MAX_TS: Ts = Ts(1 << 62);

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

    /// This time clamped into `[0, MAX_TS]` (see [`MAX_TS`]).
    pub fn clamp_capture(self) -> Ts {
        Ts(self.0.clamp(0, MAX_TS.0))
    }

    /// The next point of the grid `self + k * secs` (`k >= 1`) strictly after
    /// `now`: where a periodic job due at `self` is due next once it ran at
    /// `now`. Computed in O(1) however far `now` is past `self` (a corrupt
    /// timestamp years ahead costs no loop over the missed intervals); the
    /// same value as stepping `secs` at a time. Saturates at `i64::MAX`.
    pub fn next_after(self, now: Ts, secs: i64) -> Ts {
        let step = i128::from(secs.max(1)) * i128::from(SEC);
        let from = i128::from(self.0);
        let k = if now.0 < self.0 {
            1
        } else {
            (i128::from(now.0) - from) / step + 1
        };
        let next = from + k * step;
        Ts(next.min(i128::from(i64::MAX)) as i64)
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

    /// `next_after` equals stepping one interval at a time, and does not
    /// loop over a jump of years.
    #[test]
    fn next_after_matches_stepping() {
        for &(due, now, secs) in &[
            (10 * SEC, 10 * SEC, 5),
            (10 * SEC, 14 * SEC, 5),
            (10 * SEC, 15 * SEC, 5),
            (10 * SEC, 15 * SEC + 1, 5),
            (10 * SEC, 99 * SEC + 7, 5),
            (10 * SEC, 3 * SEC, 5),
            (7, 7 + 3 * SEC, 1),
        ] {
            let mut next = Ts(due).plus_secs(secs);
            while next <= Ts(now) {
                next = next.plus_secs(secs);
            }
            assert_eq!(
                Ts(due).next_after(Ts(now), secs),
                next,
                "{due} {now} {secs}"
            );
        }
        let far = MAX_TS;
        let n = Ts(SEC).next_after(far, 1);
        assert!(n > far && n.0 - far.0 <= SEC);
        assert_eq!(Ts(0).next_after(Ts(i64::MAX), 1), Ts(i64::MAX));
        assert_eq!(Ts(-5).clamp_capture(), Ts(0));
        assert_eq!(Ts(i64::MAX).clamp_capture(), MAX_TS);
    }

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
