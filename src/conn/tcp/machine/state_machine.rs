//! The TCP endpoint state machine of one connection: Zeek's
//! `UpdateStateMachine` and `UpdateInactiveState` (the sender's endpoint
//! state from the segment's flags, reverse-order handshakes, partial
//! connections), `TCP_Endpoint::SetState` with the inactivity-timeout switch
//! at the end of the handshake, and what closing schedules
//! (`ConnectionClosed`: the delete or expire timer).
//!
//! Must not: track sequence numbers, windows or acknowledgements (the
//! per-packet phases in `mod.rs` do) or see payload.

use super::Segment;
use crate::conn::tcp::endpoint::EndpointState as ES;
use crate::conn::{Conn, ConnConfig, ConnWeird, TimerKind, Timers};
use crate::time::Ts;

/// The state machine's decision on closing.
#[derive(Clone, Copy, Debug)]
pub(super) struct Close {
    /// The sender closed (FIN or RST).
    pub(super) close: bool,
    /// Zeek would generate the close event.
    pub(super) gen_event: bool,
}

impl Conn {
    /// Zeek's `UpdateStateMachine`: the sender's endpoint state, and whether
    /// the connection closes.
    pub(super) fn update_state_machine(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        now: Ts,
        seg: &Segment,
    ) -> Close {
        let (is_orig, base_seq, len) = (seg.is_orig, seg.seq, seg.len);
        let (syn, fin, rst, ackf) = (seg.syn, seg.fin, seg.rst, seg.ack);
        let mut do_close = false;
        let mut gen_event = false;
        let state = if is_orig {
            self.tcp.orig.state
        } else {
            self.tcp.resp.state
        };
        match state {
            ES::Inactive => {
                if syn {
                    if is_orig {
                        if ackf {
                            self.raise(ConnWeird::ConnectionOriginatorSynAck);
                        }
                        let s = if ackf { ES::SynAckSent } else { ES::SynSent };
                        self.set_state(cfg, timers, is_orig, s);
                        timers.add(
                            now.plus_secs(cfg.timeouts.tcp_attempt),
                            TimerKind::TcpAttempt,
                            self.timer_epoch,
                        );
                    } else {
                        let mut is_orig_now = is_orig;
                        if !ackf {
                            let peer_state = self.tcp.orig.state;
                            if peer_state == ES::SynAckSent && base_seq == self.tcp.resp.start_seq {
                                // SYN/SYN-ACK seen in reverse order: flip and establish.
                                self.tcp.is_partial = false;
                                self.flip_roles();
                                is_orig_now = true;
                                // After the flip the sender is the originator; its peer is the old originator.
                                self.set_state(cfg, timers, false, ES::Established);
                                self.tcp.first_packet_seen |= 1;
                            }
                        }
                        let peer_is_orig = !is_orig_now;
                        let peer_state = if peer_is_orig {
                            self.tcp.orig.state
                        } else {
                            self.tcp.resp.state
                        };
                        if peer_state == ES::SynSent {
                            self.set_state(cfg, timers, peer_is_orig, ES::Established);
                        }
                        self.set_state(cfg, timers, is_orig_now, ES::Established);
                        let peer_state = if peer_is_orig {
                            self.tcp.orig.state
                        } else {
                            self.tcp.resp.state
                        };
                        if peer_state != ES::Partial {
                            self.connection_established(cfg, timers);
                        }
                        if is_orig_now != is_orig {
                            // Continue with the flipped orientation.
                            return self.finish_inactive(cfg, timers, is_orig_now, seg);
                        }
                    }
                }
                return self.finish_inactive(cfg, timers, is_orig, seg);
            }
            ES::SynSent | ES::SynAckSent => {
                if fin {
                    self.set_state(cfg, timers, is_orig, ES::Closed);
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    self.tcp.is_active = false;
                    do_close = true;
                } else if len > 0 {
                    self.raise(ConnWeird::DataBeforeEstablished);
                }
            }
            ES::Established | ES::Partial => {
                let peer_state = if is_orig {
                    self.tcp.resp.state
                } else {
                    self.tcp.orig.state
                };
                if syn && state == ES::Partial && peer_state == ES::Inactive && !ackf {
                    self.set_state(cfg, timers, is_orig, ES::SynSent);
                }
                if fin && !rst {
                    self.set_state(cfg, timers, is_orig, ES::Closed);
                    let peer = if is_orig {
                        &mut self.tcp.resp
                    } else {
                        &mut self.tcp.orig
                    };
                    if peer.state == ES::Reset && peer.prev_state == ES::Closed {
                        self.set_state(cfg, timers, !is_orig, ES::Closed);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    do_close = true;
                    let peer = if is_orig {
                        &self.tcp.resp
                    } else {
                        &self.tcp.orig
                    };
                    if peer.state != ES::Reset || peer.prev_state != ES::Established {
                        self.tcp.is_active = false;
                    }
                }
            }
            ES::Closed => {
                if syn {
                    self.raise(ConnWeird::SynAfterClose);
                }
                let peer_state = if is_orig {
                    self.tcp.resp.state
                } else {
                    self.tcp.orig.state
                };
                if rst && peer_state != ES::Closed {
                    self.set_state(cfg, timers, is_orig, ES::Reset);
                    let ep = if is_orig {
                        &self.tcp.orig
                    } else {
                        &self.tcp.resp
                    };
                    if !ep.did_close {
                        do_close = true;
                    }
                }
            }
            ES::Reset => {}
        }
        Close {
            close: do_close,
            gen_event,
        }
    }

    /// The second half of Zeek's `UpdateInactiveState` (FIN, RST, no control flags).
    fn finish_inactive(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        seg: &Segment,
    ) -> Close {
        let (syn, fin, rst, ackf, len) = (seg.syn, seg.fin, seg.rst, seg.ack, seg.len);
        let mut do_close = false;
        let mut gen_event = false;
        if fin {
            self.set_state(cfg, timers, is_orig, ES::Closed);
            do_close = true;
            gen_event = true;
            let peer = if is_orig {
                &self.tcp.resp
            } else {
                &self.tcp.orig
            };
            if peer.state != ES::Partial && !syn {
                self.raise(ConnWeird::SpontaneousFin);
            }
        }
        if rst {
            self.set_state(cfg, timers, is_orig, ES::Reset);
            let peer_state = if is_orig {
                self.tcp.resp.state
            } else {
                self.tcp.orig.state
            };
            let is_reject = if is_orig {
                peer_state == ES::Established
            } else {
                matches!(peer_state, ES::SynSent | ES::SynAckSent)
            };
            do_close = true;
            gen_event = !is_reject;
            if !is_reject && peer_state == ES::Inactive {
                self.raise(ConnWeird::SpontaneousRst);
            }
        }
        let state = if is_orig {
            self.tcp.orig.state
        } else {
            self.tcp.resp.state
        };
        if state == ES::Inactive {
            let peer_state = if is_orig {
                self.tcp.resp.state
            } else {
                self.tcp.orig.state
            };
            if !is_orig && len == 0 && self.tcp.orig.state == ES::SynSent {
                // An ACK of the SYN before the SYN-ACK: not a partial connection.
            } else if ackf && peer_state == ES::Established {
                self.set_state(cfg, timers, is_orig, ES::Established);
                self.tcp.is_partial = false;
                self.tcp.first_packet_seen |= if is_orig { 1 } else { 2 };
            } else {
                self.set_state(cfg, timers, is_orig, ES::Partial);
            }
        }
        Close {
            close: do_close,
            gen_event,
        }
    }

    /// `TCP_Endpoint::SetState`, with the inactivity-timeout switch at the end
    /// of the handshake.
    fn set_state(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers, is_orig: bool, s: ES) {
        let (ep_state, peer_state) = if is_orig {
            (self.tcp.orig.state, self.tcp.resp.state)
        } else {
            (self.tcp.resp.state, self.tcp.orig.state)
        };
        if s == ep_state {
            return;
        }
        if !s.is_handshake() && ep_state.is_handshake() && peer_state.is_handshake() {
            self.set_inactivity_timeout(cfg.timeouts.tcp_inactivity, timers);
        }
        let ep = if is_orig {
            &mut self.tcp.orig
        } else {
            &mut self.tcp.resp
        };
        ep.prev_state = ep.state;
        ep.state = s;
    }

    /// The `connection_established` handler of `conn/inactivity.zeek`.
    fn connection_established(&mut self, cfg: &ConnConfig, timers: &mut dyn Timers) {
        let mut port = self.resp_p;
        if self.tcp.orig.state == ES::Inactive
            && !cfg.tcp_server_ports.contains(port)
            && cfg.tcp_server_ports.contains(self.orig_p)
        {
            port = self.orig_p;
        }
        if matches!(port, 21 | 22 | 23 | 513) {
            self.set_inactivity_timeout(cfg.timeouts.interactive, timers);
        }
    }

    /// Zeek's `TCPSessionAdapter::ConnectionClosed`.
    pub(super) fn connection_closed(
        &mut self,
        cfg: &ConnConfig,
        timers: &mut dyn Timers,
        is_orig: bool,
        gen_event: bool,
    ) {
        let (ep, peer) = self.tcp.sides(is_orig);
        if ep.did_close {
            return;
        }
        ep.did_close = true;
        let close_complete = ep.state == ES::Reset || peer.did_close || peer.state == ES::Inactive;
        if close_complete {
            if (ep.prev_state != ES::Inactive || peer.state != ES::Inactive) && gen_event {
                self.tcp.is_active = false;
            }
            self.cancel_timers();
            timers.add(
                self.last.plus_secs(cfg.timeouts.tcp_close_delay),
                TimerKind::TcpDelete,
                self.timer_epoch,
            );
        } else if ep.prev_state != ES::Inactive {
            timers.add(
                self.last.plus_secs(cfg.timeouts.tcp_session_timer),
                TimerKind::TcpExpire,
                self.timer_epoch,
            );
        }
    }
}
