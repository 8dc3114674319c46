//! Rows due every interval of network time (stats.log, capture_loss.log,
//! conn_long.log): one schedule type for every periodic row.
//!
//! Must not: read clocks (time is passed in) or loop over missed intervals.

use crate::time::Ts;

/// A row due at the end of representable time never comes.
pub const NEVER: Ts = Ts(i64::MAX);

/// A schedule on network time: armed by the first time it sees (due one
/// interval later), then due whenever time reaches the due time. Quiet
/// stretches (or a timestamp years ahead) produce one row, not one per
/// missed interval: catch-up is O(1) ([`Ts::next_after`]).
#[derive(Clone, Copy, Debug)]
pub struct Periodic {
    /// Interval in seconds (≤ 0: never due).
    interval: i64,
    /// `(start of the current interval, its due time)`, once armed.
    window: Option<(Ts, Ts)>,
}

/// One interval that came due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// When the interval started (arming time or the previous due time).
    pub start: Ts,
    /// When it was due.
    pub due: Ts,
}

impl Periodic {
    /// A schedule every `interval` seconds (≤ 0 disables it).
    pub fn new(interval: i64) -> Periodic {
        Periodic {
            interval,
            window: None,
        }
    }

    /// Advances to `now`: arms the schedule on its first call, and returns
    /// the interval that came due, if one did (the next due time is then the
    /// first interval boundary after `now`).
    pub fn tick(&mut self, now: Ts) -> Option<Due> {
        if self.interval <= 0 {
            return None;
        }
        match self.window {
            None => {
                self.window = Some((now, now.plus_secs(self.interval)));
                None
            }
            Some((start, due)) if now >= due && due != NEVER => {
                self.window = Some((due, due.next_after(now, self.interval)));
                Some(Due { start, due })
            }
            Some(_) => None,
        }
    }

    /// The interval, seconds.
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// The next due time, once armed.
    pub fn next_due(&self) -> Option<Ts> {
        self.window.map(|w| w.1)
    }

    /// The start of the current interval, once armed.
    pub fn start(&self) -> Option<Ts> {
        self.window.map(|w| w.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SEC;

    #[test]
    fn arms_then_fires_once_per_crossing() {
        let mut p = Periodic::new(10);
        assert_eq!(p.next_due(), None);
        assert_eq!(p.tick(Ts(5 * SEC)), None);
        assert_eq!(p.next_due(), Some(Ts(15 * SEC)));
        assert_eq!(p.tick(Ts(15 * SEC - 1)), None);
        // Due at or after the boundary (inclusive).
        let d = p.tick(Ts(15 * SEC));
        assert_eq!(
            d,
            Some(Due {
                start: Ts(5 * SEC),
                due: Ts(15 * SEC)
            })
        );
        assert_eq!(p.next_due(), Some(Ts(25 * SEC)));
        // A jump over many intervals: one row, next boundary after `now`.
        let d = p.tick(Ts(1_000 * SEC + 3));
        assert_eq!(
            d,
            Some(Due {
                start: Ts(15 * SEC),
                due: Ts(25 * SEC)
            })
        );
        assert_eq!(p.next_due(), Some(Ts(1_005 * SEC)));
        assert_eq!(p.start(), Some(Ts(25 * SEC)));
    }

    #[test]
    fn disabled_and_never() {
        let mut off = Periodic::new(0);
        assert_eq!(off.tick(Ts(0)), None);
        assert_eq!(off.tick(Ts(i64::MAX)), None);
        assert_eq!(off.next_due(), None);
        let mut p = Periodic::new(1);
        p.tick(Ts(i64::MAX - 1));
        assert_eq!(p.next_due(), Some(NEVER));
        assert_eq!(p.tick(NEVER), None);
    }
}
