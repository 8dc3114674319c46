//! Passive DNS: Zeek's dns.log from the packet path, and the names seen
//! resolving to addresses for conn.log's `orig_name` / `resp_name`.
//!
//! Owns, in data-flow order:
//! - [`wire`]: the DNS wire format as Zeek's analyzer reads it (header,
//!   names with compression, cursor rules), allocation-free and bounded;
//! - [`rr`]: questions and resource records, and the answer text Zeek's
//!   scripts build from them;
//! - [`session`]: one connection's pairing of queries and replies
//!   (`base/protocols/dns/main.zeek`), and TCP message framing;
//! - [`record`]: the rows handed to the writers;
//! - [`names`]: the writer-side address → names cache and its
//!   network-time ordering;
//! - [`consts`]: Zeek's name tables.
//!
//! The engine calls [`DnsLogState::payload`] with each UDP datagram and each
//! new TCP stream segment of a connection Zeek's DNS analyzer is attached to
//! (decided when the connection is created: responder port 53/tcp, 53, 137,
//! 5353, 5355/udp, or an `--analyzer-port dns:...`), after service
//! identification has applied its role flip; and [`DnsLogState::finish`]
//! when the connection is removed. Must not: look up other connections,
//! read a clock, or write files (`output::dns_log` formats, the pipeline
//! writes).

pub mod consts;
pub mod names;
pub mod record;
pub mod rr;
pub mod session;
pub mod wire;

pub use record::{DnsOut, DnsRecord, NameBatch};
pub use session::ConnCtx;

use crate::decode::Addr;
use crate::time::Ts;
use session::Session;

/// Passive DNS settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Write dns.log (run the DNS state of connections with the DNS analyzer).
    pub log: bool,
    /// Add `auth` and `addl` (Zeek's `policy/protocols/dns/auth-addl`).
    pub auth_addl: bool,
    /// Add `original_query` (`policy/protocols/dns/log-original-query-case`).
    pub original_query: bool,
    /// Emit names seen resolving to addresses (conn.log `orig_name` / `resp_name`).
    pub names: bool,
    /// Addresses the names cache keeps.
    pub names_capacity: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            log: true,
            auth_addl: false,
            original_query: false,
            names: false,
            names_capacity: names::DEFAULT_CAPACITY,
        }
    }
}

impl DnsConfig {
    /// Whether the per-connection DNS state runs at all.
    pub fn active(&self) -> bool {
        self.log || self.names
    }
}

/// Whether Zeek's DNS analyzer registers for this responder port
/// (`DNS::ports`: 53/udp, 53/tcp, 137/udp, 5353/udp, 5355/udp).
pub fn analyzer_port(tcp: bool, port: u16) -> bool {
    if tcp {
        port == 53
    } else {
        matches!(port, 53 | 137 | 5353 | 5355)
    }
}

/// A connection's passive-DNS state: whether the DNS analyzer is attached,
/// and (from its first message) the session. One byte and a pointer while idle.
#[derive(Clone, Debug, Default)]
pub struct DnsLogState {
    attached: bool,
    session: Option<Box<Session>>,
}

impl DnsLogState {
    /// Attaches the DNS analyzer (at connection creation).
    pub fn attach(&mut self) {
        self.attached = true;
    }

    /// Whether the DNS analyzer is attached.
    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// Payload of the connection (one datagram, or new TCP bytes from the
    /// endpoint `sender`), after role flips were applied.
    pub fn payload(
        &mut self,
        cfg: &DnsConfig,
        ctx: &ConnCtx,
        now: Ts,
        sender: (Addr, u16),
        data: &[u8],
        out: &mut dyn FnMut(DnsOut),
    ) {
        if !self.attached || data.is_empty() {
            return;
        }
        self.session
            .get_or_insert_with(Box::default)
            .payload(cfg, ctx, now, sender, data, out);
    }

    /// The connection is removed: unmatched queries and replies are logged.
    pub fn finish(&mut self, out: &mut dyn FnMut(DnsOut)) {
        if let Some(s) = self.session.take() {
            s.finish(out);
        }
    }
}
