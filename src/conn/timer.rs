//! A connection's timers (Zeek's `Connection` and `TCPSessionAdapter`
//! timers on packet time): the timer kinds, how a connection asks for one
//! ([`Timers`]), the inactivity timeout and its epochs, and what a due timer
//! decides ([`TimerOutcome`]).
//!
//! Must not: keep a timer queue (the flow table does), read a clock (time is
//! the packets' network time) or remove a connection itself (a due timer
//! only says [`TimerOutcome::Remove`]).

use super::tcp::EndpointState as ES;
use super::{Conn, ConnConfig};
use crate::time::Ts;

/// Kinds of connection timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// Inactivity timeout (`Connection::InactivityTimer`).
    Inactivity,
    /// TCP connection attempt (`AttemptTimer`).
    TcpAttempt,
    /// TCP expire sweep (`ExpireTimer`).
    TcpExpire,
    /// Removal after a completed close (`ConnDeleteTimer`).
    TcpDelete,
    /// The DNS analyzer's session expiry on UDP (`DNS_Analyzer::ExpireTimer`).
    DnsExpire,
}

/// Where a connection asks for timers. `epoch` lets the table ignore timers
/// that were cancelled since.
pub trait Timers {
    /// Schedules `kind` at `at`.
    fn add(&mut self, at: Ts, kind: TimerKind, epoch: u32);
}

/// What a due timer decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerOutcome {
    /// Remove (log) the connection now.
    Remove,
    /// Nothing to do.
    Keep,
}

impl Conn {
    /// Zeek's `SetInactivityTimeout`: replaces the inactivity timer.
    pub fn set_inactivity_timeout(&mut self, secs: i64, timers: &mut dyn Timers) {
        if secs == self.inactivity_timeout {
            return;
        }
        self.inact_epoch = self.inact_epoch.wrapping_add(1);
        if secs > 0 {
            timers.add(
                self.last.plus_secs(secs),
                TimerKind::Inactivity,
                self.inact_epoch,
            );
        }
        self.inactivity_timeout = secs;
    }

    /// Zeek's `CancelTimers`.
    pub(super) fn cancel_timers(&mut self) {
        self.timer_epoch = self.timer_epoch.wrapping_add(1);
        self.inact_epoch = self.inact_epoch.wrapping_add(1);
        self.inactivity_timeout = -1;
    }

    /// Whether a scheduled timer is still current.
    pub fn timer_valid(&self, kind: TimerKind, epoch: u32) -> bool {
        match kind {
            TimerKind::Inactivity => epoch == self.inact_epoch && self.inactivity_timeout > 0,
            _ => epoch == self.timer_epoch,
        }
    }

    /// Runs a due timer at network time `now`.
    pub fn on_timer(
        &mut self,
        cfg: &ConnConfig,
        kind: TimerKind,
        now: Ts,
        timers: &mut dyn Timers,
    ) -> TimerOutcome {
        let t = &cfg.timeouts;
        match kind {
            TimerKind::Inactivity => {
                if self.last.plus_secs(self.inactivity_timeout) <= now {
                    TimerOutcome::Remove
                } else {
                    timers.add(
                        self.last.plus_secs(self.inactivity_timeout),
                        TimerKind::Inactivity,
                        self.inact_epoch,
                    );
                    TimerOutcome::Keep
                }
            }
            TimerKind::TcpAttempt => {
                if !self.tcp.is_active {
                    return TimerOutcome::Keep;
                }
                if matches!(self.tcp.orig.state, ES::SynSent | ES::SynAckSent)
                    && self.tcp.resp.state == ES::Inactive
                {
                    self.tcp.is_active = false;
                    TimerOutcome::Remove
                } else {
                    TimerOutcome::Keep
                }
            }
            TimerKind::TcpExpire => {
                if !self.tcp.is_active {
                    return TimerOutcome::Keep;
                }
                let (o, r) = (&self.tcp.orig, &self.tcp.resp);
                if self.last.plus_secs(t.tcp_connection_linger) < now {
                    if (o.did_close || r.did_close)
                        && ((o.did_close && r.did_close)
                            || o.state == ES::Reset
                            || r.state == ES::Reset
                            || o.state == ES::Inactive
                            || r.state == ES::Inactive)
                    {
                        self.tcp.is_active = false;
                        return TimerOutcome::Remove;
                    }
                    if r.state == ES::Inactive && o.state == ES::Inactive {
                        return TimerOutcome::Remove;
                    }
                }
                timers.add(
                    now.plus_secs(t.tcp_session_timer),
                    TimerKind::TcpExpire,
                    self.timer_epoch,
                );
                TimerOutcome::Keep
            }
            TimerKind::TcpDelete => TimerOutcome::Remove,
            TimerKind::DnsExpire => {
                if now.0 - self.last.0 >= (t.dns_session - 1) * crate::time::SEC {
                    TimerOutcome::Remove
                } else {
                    timers.add(
                        now.plus_secs(t.dns_session),
                        TimerKind::DnsExpire,
                        self.timer_epoch,
                    );
                    TimerOutcome::Keep
                }
            }
        }
    }
}
