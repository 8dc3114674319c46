//! Per-protocol parsers: just enough of each Zeek analyzer to know when it
//! calls `AnalyzerConfirmation` / `AnalyzerViolation`, when it flips the
//! connection, hands the stream over to a child analyzer (STARTTLS-like
//! upgrades to SSL, HTTP's upgrade to WebSocket), confirms child analyzers
//! it instantiates (SMB's GSSAPI/NTLM/KRB) or schedules a data channel.
//! Each parser keeps fixed-size per-direction state and never buffers a
//! whole message.
//!
//! Files: `mod.rs` the parser framework every parser shares (its events,
//! [`What`] and [`Events`]; its input, [`Ctx`]; whether it wants more,
//! `Step`); `framing.rs` the shared line splitter and length framing;
//! `set.rs` the parsers a connection runs ([`Parsers`]); one file per
//! protocol (or protocol family) for the rest.
//!
//! Must not: buffer a whole message, see more of the connection than
//! [`Ctx`], or act on its events itself (the service state in `super`
//! applies them).

mod dce_rpc;
mod dhcp;
mod dnp3;
mod dns;
mod dns_tcp;
mod finger;
mod ftp;
mod http;
mod irc;
mod krb;
mod ldap;
mod mail;
mod modbus;
mod ntp;
mod quic;
mod rdp;
mod rdpeudp;
mod redis;
mod smb;
mod socks;
mod sql;
mod ssh;
mod ssl;
mod syslog;
mod tcp_misc;
mod udp_misc;
mod xmpp;

mod framing;
mod set;
pub(crate) use set::Parsers;

// The parsers `set.rs` runs and the framings the protocol files share, as
// `super::` names for both.
use dce_rpc::dce_rpc;
use dhcp::dhcp;
use dnp3::Dnp3;
use dns::Dns;
use framing::{digits3, skip_ws, word, Framed, LineBuf};
use modbus::modbus;
use ntp::ntp;
use rdpeudp::rdpeudp;
use redis::Redis;
use syslog::{syslog, syslog_tcp};

use super::{Service, Transport};

/// Most analyzer events one payload can produce.
pub(crate) const MAX_EVENTS: usize = 16;

/// Most data-channel expectations one payload keeps (the engine's table
/// holds as many): past it the oldest goes first, as in the table.
pub(crate) const MAX_EXPECTS: usize = 1024;

/// An analyzer event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum What {
    Confirm,
    Violation,
    Flip,
    /// A child analyzer instantiated by the given parent confirmed (the
    /// event's service is the child).
    Child(Service),
    /// The analyzer hit one of Zeek's configurable limits: Zeek marks the
    /// connection's history with `X` (`CheckHistory(HIST_UNKNOWN_PKT,
    /// 'X')`, zeek/zeek#5699, July 2026).
    Limit,
}

/// Events produced by the parsers for one payload.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    pub(crate) items: [(Service, What); MAX_EVENTS],
    pub(crate) n: usize,
    /// Data-channel expectations raised by this payload, in order: every
    /// FTP `PORT`/`EPRT` command and `227`/`229` reply and every IRC `DCC
    /// SEND` line raises its own (`ftp/main.zeek`'s `ftp_request` /
    /// `ftp_reply`, `irc/dcc-send.zeek`'s `irc_dcc_message`, one event per
    /// line). The buffer is the caller's, reused from payload to payload.
    pub(crate) expects: Vec<super::Expect>,
    /// How many of `expects` the service state has already checked.
    pub(crate) expects_checked: usize,
    /// A child analyzer that takes over the stream at this offset of the
    /// payload (STARTTLS: SSL; HTTP upgrade: WebSocket).
    pub(crate) handoff: Option<(Service, usize)>,
    /// The analyzer that raised `handoff`.
    pub(crate) handoff_from: Option<Service>,
    /// This analyzer (SOCKS after its handshake, RDP once TLS/CredSSP was
    /// negotiated) hands every later payload to a fresh PIA as an inner
    /// stream (`SOCKS_Analyzer` / `RDP_Analyzer::DeliverStream`).
    pub(crate) inner_dpd: Option<Service>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            items: [(Service::Http, What::Confirm); MAX_EVENTS],
            n: 0,
            expects: Vec::new(),
            expects_checked: 0,
            handoff: None,
            handoff_from: None,
            inner_dpd: None,
        }
    }
}

impl Events {
    fn push(&mut self, s: Service, w: What) {
        // An event already queued for this payload changes nothing when it
        // repeats (confirming, violating and flipping are idempotent), so
        // many PDUs in one payload (DCE/RPC PDUs in an SMB pipe
        // transaction) cannot crowd out later events such as the parent's
        // own confirmation.
        if self.items[..self.n].contains(&(s, w)) {
            return;
        }
        if self.n < MAX_EVENTS {
            self.items[self.n] = (s, w);
            self.n += 1;
        }
    }

    /// A data-channel expectation (bounded by [`MAX_EXPECTS`], oldest
    /// dropped first).
    fn expect(&mut self, e: super::Expect) {
        if self.expects.len() >= MAX_EXPECTS {
            self.expects.remove(0);
            self.expects_checked = self.expects_checked.saturating_sub(1);
        }
        self.expects.push(e);
    }

    /// `from` hands the rest of the stream, from `off` on, to `child`.
    fn hand_off(&mut self, from: Service, child: Service, off: usize) {
        self.handoff = Some((child, off));
        self.handoff_from = Some(from);
    }
}

/// What the parsers need to know about the payload.
pub(crate) struct Ctx {
    pub(crate) is_orig: bool,
    pub(crate) partial: bool,
    pub(crate) resp_port: u16,
    pub(crate) transport: Transport,
}

impl Ctx {
    fn dir(&self) -> usize {
        usize::from(!self.is_orig)
    }
}

/// Whether a parser wants more input.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    More,
    Done,
}

/// CRC-16/DNP of the DNP3 link layer (for the unit tests).
#[cfg(test)]
pub(crate) fn dnp3_crc_for_test(b: &[u8]) -> u16 {
    dnp3::dnp3_crc(b)
}

fn bit(s: Service) -> u64 {
    1u64 << (s as u32)
}
