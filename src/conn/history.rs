//! The `history` string and its once-only and logarithmic rules
//! (Zeek's `Session::CheckHistory`, `Connection::ScaledHistoryEntry`).

/// History letters in order, with the "seen once" mask. The first
/// [`INLINE_LETTERS`] letters live inline (no allocation for ordinary
/// connections); a longer history moves to one buffer of [`MAX_LETTERS`].
#[derive(Clone, Debug, Default)]
pub struct History {
    inline: [u8; INLINE_LETTERS],
    /// Letters in use (inline, or in `spill` once it exists).
    len: u16,
    /// Letters were dropped at [`MAX_LETTERS`].
    truncated: bool,
    seen: u32,
    spill: Option<Box<[u8; MAX_LETTERS]>>,
}

/// Letters kept inline before the history moves to its own buffer.
pub const INLINE_LETTERS: usize = 17;

/// Longest history kept (repeated SYN/FIN/RST letters with new sequence
/// numbers are the only unbounded growth); later letters are dropped and the
/// connection reports `connscope_history_limit`.
pub const MAX_LETTERS: usize = 256;

/// A once-only history bit (originator side; the responder side is `<< 16`).
pub mod bit {
    /// A SYN (`S`/`H`).
    pub const SYN: u32 = 0x1;
    /// A FIN.
    pub const FIN: u32 = 0x2;
    /// A RST.
    pub const RST: u32 = 0x4;
    /// A FIN+RST (`I`).
    pub const FIN_RST: u32 = 0x8;
    /// A pure ACK.
    pub const ACK: u32 = 0x10;
    /// Payload.
    pub const DATA: u32 = 0x20;
    /// Several of SYN/FIN/RST (`Q`).
    pub const MULTI_FLAG: u32 = 0x40;
    /// UDP payload, originator (`D`).
    pub const UDP_ORIG_DATA: u32 = 0x1;
    /// UDP payload, responder (`d`).
    pub const UDP_RESP_DATA: u32 = 0x2;
    /// Analysis limit (`X`), either side.
    pub const LIMIT: u32 = 0x8000;
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Appends `c` unconditionally.
    pub fn add(&mut self, c: u8) {
        let n = self.len as usize;
        if n >= MAX_LETTERS {
            self.truncated = true;
            return;
        }
        if n < INLINE_LETTERS && self.spill.is_none() {
            self.inline[n] = c;
        } else {
            let spill = self.spill.get_or_insert_with(|| {
                let mut b = Box::new([0u8; MAX_LETTERS]);
                b[..n].copy_from_slice(&self.inline[..n]);
                b
            });
            spill[n] = c;
        }
        self.len += 1;
    }

    /// Whether letters were dropped at [`MAX_LETTERS`].
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Adds `c` if `mask` was not seen before. Returns true when it had been
    /// seen already (Zeek's `CheckHistory` convention).
    pub fn check(&mut self, mask: u32, c: u8) -> bool {
        if self.seen & mask == 0 {
            self.seen |= mask;
            self.add(c);
            false
        } else {
            true
        }
    }

    /// The letters.
    pub fn as_bytes(&self) -> &[u8] {
        let n = self.len as usize;
        match &self.spill {
            Some(b) => &b[..n],
            None => &self.inline[..n],
        }
    }

    /// Replaces the letters (keeps the seen mask).
    pub fn set(&mut self, s: &[u8]) {
        self.len = 0;
        self.spill = None;
        for &c in s {
            self.add(c);
        }
    }
}

/// A logarithmic counter: the letter is added at the 1st, 10th, 100th, ...
/// event (Zeek's `ScaledHistoryEntry`, a 32-bit counter and threshold: at
/// the 10^9th event the threshold cannot grow, so the count restarts and the
/// letter comes again every 10^9 events). Four bytes: the threshold is the
/// next power of ten above the count, so only the count is stored; once the
/// threshold is stuck at 10^9 the count carries [`Scaled::STUCK`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Scaled(u32);

impl Scaled {
    /// Flag bit: the threshold is stuck at 10^9 (above any count below it).
    const STUCK: u32 = 1 << 31;
    const TOP: u32 = 1_000_000_000;

    /// Counts one event; true when the letter must be added now.
    #[inline]
    pub fn hit(&mut self) -> bool {
        if self.0 & Scaled::STUCK != 0 {
            let c = (self.0 & !Scaled::STUCK) + 1;
            if c == Scaled::TOP {
                self.0 = Scaled::STUCK;
                return true;
            }
            self.0 = Scaled::STUCK | c;
            return false;
        }
        self.0 += 1;
        match self.0 {
            1 | 10 | 100 | 1_000 | 10_000 | 100_000 | 1_000_000 | 10_000_000 | 100_000_000 => true,
            Scaled::TOP => {
                self.0 = Scaled::STUCK;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_only_and_scaled() {
        let mut h = History::new();
        assert!(!h.check(bit::DATA, b'D'));
        assert!(h.check(bit::DATA, b'D'));
        assert!(!h.check(bit::DATA << 16, b'd'));
        assert_eq!(h.as_bytes(), b"Dd");
        let mut s = Scaled::default();
        let hits: Vec<u32> = (1..=1000).filter(|_| s.hit()).collect();
        assert_eq!(hits.len(), 4); // 1st, 10th, 100th, 1000th
    }

    /// The counter and threshold of Zeek's `ScaledHistoryEntry` (and of
    /// connscope before the four-byte form), as the oracle.
    #[derive(Clone, Copy)]
    struct Reference {
        count: u32,
        threshold: u32,
    }

    impl Reference {
        fn hit(&mut self) -> bool {
            self.count = self.count.wrapping_add(1);
            if self.count == self.threshold {
                match self.threshold.checked_mul(10) {
                    Some(t) => self.threshold = t,
                    None => self.count = 0,
                }
                true
            } else {
                false
            }
        }
    }

    #[test]
    fn scaled_matches_counter_and_threshold_across_the_top() {
        let mut r = Reference {
            count: 0,
            threshold: 1,
        };
        let mut s = Scaled::default();
        for i in 0..200_000u32 {
            assert_eq!(s.hit(), r.hit(), "event {}", i + 1);
        }
        // Just below the 10^9th event (threshold about to be stuck), and
        // just below a later multiple of 10^9 (threshold stuck): the same
        // letters in both forms.
        for (mut s, mut r) in [
            (
                Scaled(999_999_990),
                Reference {
                    count: 999_999_990,
                    threshold: 1_000_000_000,
                },
            ),
            (
                Scaled(Scaled::STUCK | 999_999_990),
                Reference {
                    count: 999_999_990,
                    threshold: 1_000_000_000,
                },
            ),
        ] {
            let mut hits = Vec::new();
            for i in 0..1_000u32 {
                let (a, b) = (s.hit(), r.hit());
                assert_eq!(a, b, "event {i} past 999,999,990");
                if a {
                    hits.push(i);
                }
            }
            assert_eq!(hits, vec![9]);
            // Now stuck: the next letter comes 10^9 events later.
            assert_eq!(s.0, Scaled::STUCK | 990);
            assert_eq!(r.count, 990);
        }
    }

    #[test]
    fn long_history_moves_out_of_line_and_stops_at_the_bound() {
        let mut h = History::new();
        let want: Vec<u8> = (0..300u32).map(|i| b'a' + (i % 26) as u8).collect();
        for (i, &c) in want.iter().enumerate() {
            h.add(c);
            let n = (i + 1).min(MAX_LETTERS);
            assert_eq!(h.as_bytes(), &want[..n], "after {} letters", i + 1);
            assert_eq!(h.truncated(), i + 1 > MAX_LETTERS);
        }
        h.set(b"^h");
        assert_eq!(h.as_bytes(), b"^h");
    }
}
