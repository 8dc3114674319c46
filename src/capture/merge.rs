//! Several live sources read as one (`connscope live -i eth0 -i eth1`).
//!
//! Owns only the round-robin between its sources: it takes a short burst from
//! one, then moves on, and reports [`Next::Idle`] once a whole round found
//! nothing. Each packet is copied into the merger's own buffer (the sources'
//! buffers cannot be borrowed across the round). Packet times come from the
//! sources; nothing here reads a clock.

use super::{CaptureError, Next, Packet, PacketSource, SourceStats};

/// Packets taken from one source before trying the next.
const BURST: u32 = 64;

/// Round-robin over several sources.
pub struct Merge {
    sources: Vec<Box<dyn PacketSource>>,
    cur: usize,
    burst: u32,
    buf: Vec<u8>,
}

impl Merge {
    /// Merges `sources` (each should have a short poll timeout, so an idle
    /// one does not hold back the others for long).
    pub fn new(sources: Vec<Box<dyn PacketSource>>) -> Merge {
        Merge {
            sources,
            cur: 0,
            burst: 0,
            buf: Vec::with_capacity(1 << 16),
        }
    }
}

impl PacketSource for Merge {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        let n = self.sources.len();
        let mut idle = 0;
        let mut ended = 0;
        let mut got = None;
        while idle + ended < n.max(1) && n > 0 {
            if self.burst >= BURST {
                self.burst = 0;
                self.cur = (self.cur + 1) % n;
            }
            let Some(src) = self.sources.get_mut(self.cur) else {
                break;
            };
            match src.next()? {
                Next::Packet(p) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    got = Some((p.ts, p.wire_len, p.linktype));
                    self.burst += 1;
                    break;
                }
                Next::Idle => idle += 1,
                Next::End => ended += 1,
            }
            self.burst = 0;
            self.cur = (self.cur + 1) % n;
        }
        Ok(match got {
            Some((ts, wire_len, linktype)) => Next::Packet(Packet {
                ts,
                wire_len,
                linktype,
                data: &self.buf,
            }),
            None if n > 0 && ended == n => Next::End,
            None => Next::Idle,
        })
    }

    fn stats(&mut self) -> Option<SourceStats> {
        let mut total: Option<SourceStats> = None;
        for s in &mut self.sources {
            if let Some(x) = s.stats() {
                let t = total.get_or_insert_with(SourceStats::default);
                t.received += x.received;
                t.dropped += x.dropped;
                t.if_dropped += x.if_dropped;
            }
        }
        total
    }

    fn is_live(&self) -> bool {
        self.sources.iter().any(|s| s.is_live())
    }
}

impl<P: PacketSource + ?Sized> PacketSource for Box<P> {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        (**self).next()
    }
    fn stats(&mut self) -> Option<SourceStats> {
        (**self).stats()
    }
    fn is_live(&self) -> bool {
        (**self).is_live()
    }
    fn shared_block(&self) -> Option<&std::sync::Arc<crate::capture::file::ReadBlock>> {
        (**self).shared_block()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Ts;

    /// A scripted source: packets with one marker byte, `None` = idle.
    struct Script(Vec<Option<u8>>, u32);

    impl PacketSource for Script {
        fn next(&mut self) -> Result<Next<'_>, CaptureError> {
            if self.0.is_empty() {
                return Ok(Next::End);
            }
            let item = self.0.remove(0);
            Ok(match item {
                Some(b) => {
                    self.1 = b as u32;
                    Next::Packet(Packet {
                        ts: Ts(b as i64),
                        wire_len: 1,
                        linktype: 1,
                        data: if b % 2 == 0 { &[0] } else { &[1] },
                    })
                }
                None => Next::Idle,
            })
        }
        fn stats(&mut self) -> Option<SourceStats> {
            Some(SourceStats {
                received: self.1 as u64,
                dropped: 1,
                if_dropped: 0,
            })
        }
    }

    #[test]
    fn takes_every_packet_of_every_source_then_ends() {
        let a = Script(vec![Some(1), None, Some(3), Some(5)], 0);
        let b = Script(vec![None, Some(2), None, None, Some(4)], 0);
        let mut m = Merge::new(vec![Box::new(a), Box::new(b)]);
        let mut seen = Vec::new();
        let mut idles = 0;
        loop {
            match m.next().expect("scripted sources do not fail") {
                Next::Packet(p) => {
                    assert_eq!(p.data, [(p.ts.0 % 2) as u8]);
                    seen.push(p.ts.0);
                }
                Next::Idle => idles += 1,
                Next::End => break,
            }
            assert!(idles < 20, "no progress");
        }
        seen.sort();
        assert_eq!(seen, [1, 2, 3, 4, 5]);
        let s = m.stats().expect("counters");
        assert_eq!((s.received, s.dropped), (5 + 4, 2));
    }
}
