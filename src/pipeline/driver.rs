//! The source loop: the one place in the pipeline that calls a packet
//! source's `next()`.
//!
//! Owns reading a source to its end for every pipeline shape (one worker,
//! the capture thread of N shards, each worker of `run_each`): handing each
//! packet to the shape, the polling cadence (on idle and after every N
//! packets since the last poll: the shape checks its stop and stats requests
//! and writes its rows then), and telling end of input, a stop and an input
//! error apart.
//!
//! It must not know what a shape does with a packet (engines, batches,
//! threads, logs) and must add nothing per packet beyond a counter: no
//! allocation, no lock, no dynamic call (a [`Shape`] is a generic parameter,
//! so its methods are inlined into the loop).

use crate::capture::{CaptureError, Next, Packet, PacketSource};

/// Why the driver polls its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Poll {
    /// The source had no packet within its poll interval (live capture).
    Idle,
    /// `every` packets arrived since the last poll.
    Packets,
}

/// How reading ended.
#[derive(Debug)]
pub(super) enum End {
    /// The source is exhausted (end of file).
    Input,
    /// A poll asked to stop, or a stop interrupted the source while it
    /// waited for bytes ([`CaptureError::Stopped`]): the same clean end.
    Stopped,
    /// The source failed; every packet before the failure was handed over.
    Failed(CaptureError),
}

/// What a pipeline shape does with the packets the driver reads.
pub(super) trait Shape<S: PacketSource> {
    /// The shape's own failure, which ends reading at once.
    type Error;
    /// A packet arrived. It borrows the source, so the source is not lent
    /// here; [`Shape::settle`] follows with it.
    fn packet(&mut self, p: Packet<'_>) -> Result<(), Self::Error>;
    /// Right after each [`Shape::packet`], with the source free again (its
    /// counters for capture rows, the buffer the packet lies in).
    fn settle(&mut self, src: &mut S) -> Result<(), Self::Error>;
    /// On idle, or after every `every` packets since the last poll: requests
    /// from outside, stats rows, hand-overs. True stops reading.
    fn poll(&mut self, src: &mut S, why: Poll) -> bool;
}

/// Reads `src` into `shape` until the end of input, a stop (a poll returned
/// true, or the source was interrupted by one) or an input error. `every`
/// is the number of packets between two polls when the source never idles
/// (an idle poll starts the count again).
#[inline]
pub(super) fn drive<S, H>(src: &mut S, every: u64, shape: &mut H) -> Result<End, H::Error>
where
    S: PacketSource,
    H: Shape<S>,
{
    let mut since: u64 = 0;
    loop {
        match src.next() {
            Ok(Next::Packet(p)) => {
                shape.packet(p)?;
                shape.settle(src)?;
                since += 1;
                if since >= every {
                    since = 0;
                    if shape.poll(src, Poll::Packets) {
                        return Ok(End::Stopped);
                    }
                }
            }
            Ok(Next::Idle) => {
                since = 0;
                if shape.poll(src, Poll::Idle) {
                    return Ok(End::Stopped);
                }
            }
            Ok(Next::End) => return Ok(End::Input),
            Err(CaptureError::Stopped { .. }) => return Ok(End::Stopped),
            Err(e) => return Ok(End::Failed(e)),
        }
    }
}

impl End {
    /// The input error, if reading ended on one.
    pub(super) fn input_error(self) -> Option<CaptureError> {
        match self {
            End::Failed(e) => Some(e),
            End::Input | End::Stopped => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Ts;
    use std::path::PathBuf;

    /// One scripted step of a source.
    enum Step {
        Pkt(i64),
        Idle,
        Stopped,
        Broken,
    }

    /// A source that plays its steps, then ends.
    struct Script(std::vec::IntoIter<Step>);

    impl PacketSource for Script {
        fn next(&mut self) -> Result<Next<'_>, CaptureError> {
            let file = PathBuf::from("script");
            match self.0.next() {
                None => Ok(Next::End),
                Some(Step::Pkt(t)) => Ok(Next::Packet(Packet {
                    ts: Ts(t),
                    wire_len: 0,
                    linktype: 0,
                    data: &[],
                })),
                Some(Step::Idle) => Ok(Next::Idle),
                Some(Step::Stopped) => Err(CaptureError::Stopped { file, offset: 9 }),
                Some(Step::Broken) => Err(CaptureError::Truncated {
                    file,
                    offset: 9,
                    reason: "test".into(),
                }),
            }
        }
    }

    /// Records what the driver called, in order.
    #[derive(Default)]
    struct Log {
        calls: Vec<String>,
        stop_at_poll: Option<usize>,
        polls: usize,
    }

    impl Shape<Script> for Log {
        type Error = String;
        fn packet(&mut self, p: Packet<'_>) -> Result<(), String> {
            if p.ts.0 < 0 {
                return Err("negative".into());
            }
            self.calls.push(format!("p{}", p.ts.0));
            Ok(())
        }
        fn settle(&mut self, _src: &mut Script) -> Result<(), String> {
            self.calls.push("s".into());
            Ok(())
        }
        fn poll(&mut self, _src: &mut Script, why: Poll) -> bool {
            self.polls += 1;
            self.calls.push(format!("{why:?}"));
            self.stop_at_poll == Some(self.polls)
        }
    }

    /// How `drive` ended, as text.
    fn run(steps: Vec<Step>, every: u64, log: &mut Log) -> String {
        let mut src = Script(steps.into_iter());
        match drive(&mut src, every, log) {
            Ok(End::Input) => "input".into(),
            Ok(End::Stopped) => "stopped".into(),
            Ok(End::Failed(e)) => format!("failed: {e}"),
            Err(e) => format!("shape: {e}"),
        }
    }

    use Step::*;

    #[test]
    fn polls_every_n_packets_and_on_idle_restarting_the_count() {
        let mut log = Log::default();
        let steps = vec![
            Pkt(1),
            Pkt(2),
            Pkt(3),
            Pkt(4),
            Pkt(5),
            Idle,
            Pkt(6),
            Pkt(7),
            Pkt(8),
        ];
        assert_eq!(run(steps, 2, &mut log), "input");
        assert_eq!(
            log.calls.join(" "),
            "p1 s p2 s Packets p3 s p4 s Packets p5 s Idle p6 s p7 s Packets p8 s"
        );
    }

    #[test]
    fn a_poll_that_asks_to_stop_ends_reading_at_once() {
        let mut log = Log {
            stop_at_poll: Some(1),
            ..Log::default()
        };
        let steps = vec![Pkt(1), Pkt(2), Pkt(3)];
        assert_eq!(run(steps, 2, &mut log), "stopped");
        assert_eq!(log.calls.join(" "), "p1 s p2 s Packets");
    }

    #[test]
    fn an_interrupted_source_is_a_stop_and_other_errors_are_input_errors() {
        let mut log = Log::default();
        assert_eq!(run(vec![Pkt(1), Stopped, Pkt(2)], 100, &mut log), "stopped");
        assert_eq!(log.calls.join(" "), "p1 s");
        let mut log = Log::default();
        assert_eq!(
            run(vec![Pkt(1), Broken, Pkt(2)], 100, &mut log),
            "failed: script: truncated at offset 9: test"
        );
        assert_eq!(log.calls.join(" "), "p1 s");
    }

    #[test]
    fn a_shape_error_ends_reading_before_settle() {
        let mut log = Log::default();
        let steps = vec![Pkt(1), Pkt(-1), Pkt(2)];
        assert_eq!(run(steps, 100, &mut log), "shape: negative");
        assert_eq!(log.calls.join(" "), "p1 s");
    }
}
