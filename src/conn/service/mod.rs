//! Service identification from payload (Zeek's dynamic protocol detection).
//!
//! Owns deciding which application protocol a connection speaks, the way Zeek's
//! default mode fills conn.log's `service`: an analyzer is tried on a
//! connection (by well-known port or by a payload signature, as Zeek's
//! `register_for_ports` and `dpd.sig` do), and the service is logged only when
//! the analyzer *confirms* by parsing the payload, never from the port alone.
//! It also reports the application-level role flips Zeek performs (DNS when
//! the first message is a response, NTP by mode) and FTP data-channel
//! expectations.
//!
//! Must not: touch connection state, allocate per packet, or panic on any
//! payload bytes.
//!
//! # Model (what Zeek does, and what is reproduced here)
//!
//! * **Attachment.** At connection creation Zeek attaches every analyzer
//!   registered (`Analyzer::register_for_ports` in
//!   `scripts/base/protocols/*/main.zeek`) for the *responder* port
//!   (`src/analyzer/Manager.cc::BuildInitialAnalyzerTree`). It also attaches a
//!   PIA (`src/analyzer/protocol/pia/PIA.cc`) that matches the `dpd.sig`
//!   signatures on the first `dpd_buffer_size` (1024) bytes of the stream
//!   (both directions counted together; matching stops for good once more
//!   than 1024 bytes were buffered, `dpd_match_only_beginning=T`). A matching
//!   signature with `enable "x"` attaches analyzer `x` and replays the
//!   buffered stream into it. `requires-reverse-signature` makes a signature
//!   fire only once the other direction's signature matched too (in either
//!   order).
//! * **Confirmation.** The service is added (ordered set, first confirmation
//!   wins the position) when the attached analyzer calls
//!   `AnalyzerConfirmation` (`scripts/base/frameworks/analyzer/dpd.zeek`).
//! * **Violation.** An analyzer violation within the first 10 KiB of the
//!   connection (`DPD::ignore_violations_after`) disables the analyzer and
//!   removes its service if it had been confirmed (`analyzer_failed` in
//!   `dpd.zeek`). Later violations are ignored.
//!
//! Here every candidate analyzer parses the stream from its start ("shadow"
//! parse); its confirmation/violation is applied as soon as it is attached
//! (by port at creation, or when its signature fires), which is equivalent to
//! Zeek's replay of the PIA buffer.

mod dns_query;
mod names;
mod proto;
mod sig;

pub use dns_query::{parse_question, DnsQuery, SUFFIX_MAX};
pub use names::{Service, ServiceSet, SERVICE_COUNT};
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_proto;

/// Index of the first byte of `data` that is one of `set`, or `data.len()`
/// (SSE2 on x86_64, 16 bytes a step).
pub(crate) fn find_any<const N: usize>(data: &[u8], set: [u8; N]) -> usize {
    #[allow(unused_mut)]
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_setzero_si128,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; every load is an
        // unaligned 16-byte read inside `data` (i + 16 <= len).
        unsafe {
            let keys = set.map(|k| _mm_set1_epi8(k as i8));
            while i + 16 <= data.len() {
                let v = _mm_loadu_si128(data.as_ptr().add(i) as *const __m128i);
                let mut m = _mm_setzero_si128();
                for k in &keys {
                    m = _mm_or_si128(m, _mm_cmpeq_epi8(v, *k));
                }
                let bits = _mm_movemask_epi8(m);
                if bits != 0 {
                    return i + bits.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    let rest = data.get(i..).unwrap_or(&[]);
    i + rest
        .iter()
        .position(|b| set.contains(b))
        .unwrap_or(rest.len())
}

/// A small deterministic generator (xorshift64) for the differential tests
/// here and in `decode`.
#[cfg(test)]
pub(crate) fn test_rng(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

use std::net::IpAddr;

/// Transport protocol of the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// TCP (payload is the reassembled, in-order stream).
    #[default]
    Tcp,
    /// UDP (payload is one datagram).
    Udp,
}

/// A data-channel expectation: a future connection to
/// `resp_host:resp_port` gets service `service` (ftp-data or irc-dcc-data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The data connection's originator is this connection's originator
    /// (FTP PASV/EPSV) or its responder (FTP PORT/EPRT). Ignored when
    /// `any_orig` is set.
    pub from_conn_orig: bool,
    /// The data connection's responder host; `None` = this connection's
    /// responder host (EPSV without an address).
    pub resp_host: Option<IpAddr>,
    /// The data connection's responder port.
    pub resp_port: u16,
    /// Service to give the expected connection (`FtpData` or `IrcDccData`).
    pub service: Service,
    /// Any originator may open the data connection (IRC DCC SEND, which
    /// Zeek schedules with originator 0.0.0.0).
    pub any_orig: bool,
}

/// What one payload changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// A service newly confirmed by this payload (the last one, if several).
    pub confirmed: Option<Service>,
    /// The connection must swap originator and responder now (DNS / NTP);
    /// the engine then calls [`ServiceState::flip`].
    pub flip: bool,
    /// A confirmed service removed by an analyzer violation in this payload.
    pub removed: Option<Service>,
    /// An analyzer reached a configurable limit: the history gets `X`.
    pub limit: bool,
}

/// Most services a connection can list at once.
const MAX_LISTED: usize = 8;
/// Zeek's `dpd_buffer_size`.
const DPD_BUFFER: u32 = 1024;
/// Zeek's `DPD::ignore_violations_after`.
const IGNORE_VIOLATIONS_AFTER: u64 = 10 * 1024;

/// TCP analyzers this module runs itself, in the order they see a payload.
/// A parent comes before the child it may hand the rest of the stream to
/// (STARTTLS-style upgrades to SSL, HTTP's upgrade to WebSocket), so the
/// child sees the bytes after the handoff point in the same payload.
const TCP_ANALYZERS: [Service; 28] = [
    // Finger first: it runs only when attached by its port (79/tcp, no
    // signature), and Zeek's port-registered analyzers are children of the
    // TCP analyzer ahead of the PIA (`Manager::BuildInitialAnalyzerTree`),
    // so on one segment it confirms before anything a signature attaches.
    Service::Finger,
    Service::Ftp,
    Service::Irc,
    Service::Smtp,
    Service::Pop3,
    Service::Imap,
    Service::Xmpp,
    Service::LdapTcp,
    Service::Postgresql,
    Service::Mysql,
    Service::Http,
    Service::Ssh,
    Service::Dns,
    Service::Redis,
    Service::Rdp,
    Service::Modbus,
    Service::SyslogTcp,
    Service::DceRpc,
    Service::KrbTcp,
    Service::Smb,
    Service::Socks,
    Service::Rfb,
    Service::Mqtt,
    Service::Dnp3Tcp,
    Service::Websocket,
    // SSL last: FTP/IRC/SMTP/POP3/IMAP/XMPP/LDAP/PostgreSQL/MySQL/HTTP may
    // hand the stream over to it.
    Service::Ssl,
    // Never attached by port or signature: only confirmed by their parents.
    Service::Gssapi,
    Service::Ntlm,
];

/// UDP analyzers this module runs itself.
const UDP_ANALYZERS: [Service; 14] = [
    Service::Dns,
    Service::Dhcp,
    Service::Ntp,
    Service::Quic,
    Service::Rdpeudp,
    Service::Syslog,
    Service::Krb,
    Service::Snmp,
    Service::Sip,
    Service::Radius,
    Service::LdapUdp,
    Service::Dnp3Udp,
    Service::Dtls,
    Service::Gssapi,
];

fn analyzers(t: Transport) -> &'static [Service] {
    match t {
        Transport::Tcp => &TCP_ANALYZERS,
        Transport::Udp => &UDP_ANALYZERS,
    }
}

/// Analyzers that other analyzers instantiate as children
/// (`analyzer_mgr->InstantiateAnalyzer` in Zeek's C++ analyzers): they run
/// whatever scripts are loaded, so their confirmation lists them even in
/// bare mode.
const CHILDREN: u64 = (1 << Service::Ssl as u32)
    | (1 << Service::Gssapi as u32)
    | (1 << Service::Ntlm as u32)
    | (1 << Service::Krb as u32);

/// Analyzers registered for a responder port (`register_for_ports` in each
/// `scripts/base/protocols/*/main.zeek`, Zeek default values).
pub(crate) fn port_analyzers(t: Transport, port: u16) -> u64 {
    let s: &[Service] = match (t, port) {
        (Transport::Tcp, 21 | 2811) => &[Service::Ftp],
        (Transport::Tcp, 22) => &[Service::Ssh],
        (Transport::Tcp, 25 | 587) => &[Service::Smtp],
        (Transport::Tcp, 53) => &[Service::Dns],
        (Transport::Tcp, 79) => &[Service::Finger],
        // SOCKS and HTTP both register 1080/tcp.
        (Transport::Tcp, 1080) => &[Service::Http, Service::Socks],
        (Transport::Tcp, 80 | 81 | 631 | 3128 | 8000 | 8080 | 8888) => &[Service::Http],
        (Transport::Tcp, 88) => &[Service::KrbTcp],
        (Transport::Tcp, 135) => &[Service::DceRpc],
        (Transport::Tcp, 139 | 445) => &[Service::Smb],
        (Transport::Tcp, 143) => &[Service::Imap],
        (Transport::Tcp, 389 | 3268) => &[Service::LdapTcp],
        (
            Transport::Tcp,
            443 | 465 | 563 | 585 | 614 | 636 | 989 | 990 | 992 | 993 | 995 | 5223,
        ) => &[Service::Ssl],
        (Transport::Tcp, 502) => &[Service::Modbus],
        (Transport::Tcp, 514) => &[Service::SyslogTcp],
        (Transport::Tcp, 1434 | 3306) => &[Service::Mysql],
        (Transport::Tcp, 1883) => &[Service::Mqtt],
        (Transport::Tcp, 3389) => &[Service::Rdp],
        (Transport::Tcp, 5222 | 5269) => &[Service::Xmpp],
        (Transport::Tcp, 5432) => &[Service::Postgresql],
        (Transport::Tcp, 6379) => &[Service::Redis],
        (Transport::Tcp, 6666..=6669) => &[Service::Irc],
        (Transport::Tcp, 20000) => &[Service::Dnp3Tcp],
        (Transport::Udp, 53 | 137 | 5353 | 5355) => &[Service::Dns],
        (Transport::Udp, 67 | 68 | 4011) => &[Service::Dhcp],
        (Transport::Udp, 88) => &[Service::Krb],
        (Transport::Udp, 123) => &[Service::Ntp],
        (Transport::Udp, 161 | 162) => &[Service::Snmp],
        (Transport::Udp, 389) => &[Service::LdapUdp],
        // QUIC and DTLS both register 443/udp.
        (Transport::Udp, 443) => &[Service::Quic, Service::Dtls],
        (Transport::Udp, 514) => &[Service::Syslog],
        (Transport::Udp, 1812) => &[Service::Radius],
        (Transport::Udp, 3389) => &[Service::Rdpeudp],
        (Transport::Udp, 5060) => &[Service::Sip],
        (Transport::Udp, 20000) => &[Service::Dnp3Udp],
        _ => &[],
    };
    s.iter().fold(0, |m, x| m | x.bit())
}

/// Bytes a connection's analyzer state holds while undecided, for memory
/// budgets: the fixed part, a TCP connection's stream signature state and
/// stream parsers' slots, each with allocator overhead (the parsers' own
/// states come and go as analyzers start and finish; UDP connections hold
/// less).
pub fn undecided_bytes() -> usize {
    use std::mem::size_of;
    size_of::<ServiceState>()
        + size_of::<sig::Sigs>()
        + proto::Parsers::stream_slots_bytes()
        + 3 * 16
}

/// Per-connection service-detection state: a small fixed part (bit sets of
/// the analyzers' standing, ports, counters, the confirmed list) and, from
/// the first payload on, the signature matcher (until the DPD buffer is
/// full) and the parsers actually running (`proto::Parsers` creates each
/// on first use and drops it once its analyzer is done).
#[derive(Clone, Debug, Default)]
pub struct ServiceState {
    enabled: u64,
    transport: Transport,
    orig_port: u16,
    resp_port: u16,
    listed: [u8; MAX_LISTED],
    n_listed: u8,
    /// Analyzers attached to the connection.
    attached: u64,
    /// Analyzers removed after a violation (never re-attached).
    disabled: u64,
    /// Shadow-parse outcomes not yet applied (analyzer not attached yet).
    pend_confirm: u64,
    pend_violation: u64,
    /// Analyzers that ever confirmed (for `wants_payload`).
    ever_confirmed: u64,
    /// Bytes seen by the PIA (both directions, saturating); matching stops
    /// above 1024.
    pia_bytes: u16,
    pia_open: bool,
    /// Payload bytes seen (saturating; only compared with 10 KiB).
    total: u32,
    partial: bool,
    resp_multicast: bool,
    /// SOCKS finished its handshake, or RDP negotiated TLS: the next payload
    /// starts the inner stream, seen by a fresh PIA
    /// ([`ServiceState::restart_dpd`]); the analyzer that hands it over.
    inner_pending: Option<Service>,
    /// The PIA's stream signature state (TCP): created at the first
    /// payload, dropped when matching stops (`pia_open` false).
    sigs: Option<Box<sig::Sigs>>,
    /// The PIA's datagram signature state (UDP).
    udp_sigs: sig::UdpSigs,
    /// Analyzers whose signature can no longer fire ([`sig::Sigs::dead`]):
    /// unless attached, they stop shadow-parsing.
    sig_dead: u64,
    /// The parsers (each created on first use; TCP ones in one more box).
    p: proto::Parsers,
}

impl ServiceState {
    /// Creates the state for a new connection. `enabled` are the loaded
    /// analyzers, as [`Service::from_name`] of the loaded
    /// `base/protocols/<name>` packages (each package's other analyzers are
    /// added, see [`ServiceSet::insert_package`]).
    /// Analyzers registered for `resp_port` are attached at once, as Zeek does
    /// when it builds the analyzer tree.
    pub fn new(enabled: ServiceSet, t: Transport, orig_port: u16, resp_port: u16) -> Self {
        let en = enabled.with_package_members().0;
        let mut s = ServiceState {
            enabled: en,
            transport: t,
            orig_port,
            resp_port,
            pia_open: true,
            ..Default::default()
        };
        s.attached = port_analyzers(t, resp_port) & en;
        s
    }

    /// Attaches analyzer `s` as if it were registered for this connection's
    /// responder port (script redefs such as `Redis::ports += {10625/tcp}`, or
    /// a test's own `Analyzer::register_for_port`). Call right after `new`.
    pub fn attach_analyzer(&mut self, s: Service) {
        if self.enabled & s.bit() != 0 {
            self.attached |= s.bit();
        }
    }

    /// Marks a TCP connection whose first packet had no SYN (Zeek's
    /// `IsPartial`): HTTP, SSL, SSH, POP3, IMAP, XMPP and KRB_TCP then never
    /// parse it.
    pub fn set_partial(&mut self, partial: bool) {
        self.partial = partial;
    }

    /// Whether the responder address is multicast (DNS never flips then).
    pub fn set_resp_multicast(&mut self, multicast: bool) {
        self.resp_multicast = multicast;
    }

    /// A content gap of the TCP stream in direction `is_orig`: stream parsers
    /// that cannot resync (SSL, SSH, line protocols' current line) stop.
    pub fn on_gap(&mut self, is_orig: bool) {
        self.p.gap(is_orig);
        // The PIA buffer records the gap; signature matching continues, but
        // the patterns are anchored at the stream start anyway.
    }

    /// Called with each new (non-retransmitted) TCP segment payload or each
    /// UDP datagram payload, in arrival order; `is_orig` relative to the
    /// current roles. Never panics, never allocates.
    pub fn on_payload(&mut self, is_orig: bool, payload: &[u8]) -> Verdict {
        self.on_payload_expecting(is_orig, payload, &mut Vec::new())
    }

    /// [`ServiceState::on_payload`] that also returns the data-channel
    /// expectations the payload raised, in order, in `expects` (cleared
    /// first; its capacity is kept, so a caller that reuses it allocates
    /// nothing per payload).
    pub fn on_payload_expecting(
        &mut self,
        is_orig: bool,
        payload: &[u8],
        expects: &mut Vec<Expect>,
    ) -> Verdict {
        expects.clear();
        let mut v = Verdict::default();
        if payload.is_empty() {
            return v;
        }
        let n = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.total = self.total.saturating_add(n);
        if let Some(parent) = self.inner_pending.take() {
            self.restart_dpd(parent);
        }
        let list = analyzers(self.transport);

        // 1. Signatures (PIA), only within the DPD buffer.
        let mut pia_closed = false;
        if self.pia_open {
            let fired = match self.transport {
                Transport::Tcp => {
                    let sigs = self.sigs.get_or_insert_with(Box::default);
                    let fired = sigs.tcp(is_orig, payload);
                    let dead = sigs.dead() & !self.sig_dead & !self.attached;
                    if dead != 0 {
                        // Their verdicts can never be applied: drop their
                        // parsers and pending outcomes.
                        self.sig_dead |= dead;
                        self.pend_confirm &= !dead;
                        self.pend_violation &= !dead;
                        self.p.release(dead);
                    }
                    fired
                }
                Transport::Udp => self.udp_sigs.udp(is_orig, payload),
            } & self.enabled;
            let n = u16::try_from(payload.len()).unwrap_or(u16::MAX);
            self.pia_bytes = self.pia_bytes.saturating_add(n);
            if u32::from(self.pia_bytes) > DPD_BUFFER {
                self.pia_open = false;
                self.sigs = None;
                pia_closed = true;
            }
            for &s in list {
                if fired & s.bit() != 0 {
                    self.attach_by_signature(s, &mut v);
                }
            }
        }

        // 2. Analyzers.
        let mut ev = proto::Events {
            expects: std::mem::take(expects),
            ..proto::Events::default()
        };
        let ctx = proto::Ctx {
            is_orig,
            partial: self.partial,
            resp_port: self.resp_port,
            transport: self.transport,
        };
        for &s in list {
            if let Some((child, off)) = ev.handoff {
                if child == s {
                    ev.handoff = None;
                    // An upgrade: a fresh child analyzer that sees the stream
                    // from this point on (instantiated by its parent, so it
                    // runs whatever scripts are loaded for SSL).
                    if self.enabled & s.bit() != 0 || CHILDREN & s.bit() != 0 {
                        self.p.reset(s);
                        self.enabled |= s.bit();
                        self.attached |= s.bit();
                        self.disabled &= !s.bit();
                        self.pend_confirm &= !s.bit();
                        self.pend_violation &= !s.bit();
                        let rest = payload.get(off..).unwrap_or(&[]);
                        if !rest.is_empty() {
                            self.p.run(s, &ctx, rest, &mut ev);
                            self.apply(&mut ev, &mut v);
                        }
                    }
                    continue;
                }
            }
            if !self.runs(s) {
                continue;
            }
            self.p.run(s, &ctx, payload, &mut ev);
            self.apply(&mut ev, &mut v);
        }
        if pia_closed {
            // Analyzers not attached by now never run again (a handoff
            // child starts from a fresh parser): drop their parsers.
            let gone = list
                .iter()
                .filter(|&&s| !self.runs(s))
                .fold(0, |m, s| m | s.bit());
            self.p.release(gone);
        }
        *expects = ev.expects;
        v
    }

    /// The TCP connection closed: a segment with FIN or RST that closes
    /// its sender (Zeek's `TCPSessionAdapter::ConnectionClosed`, called
    /// after the segment's payload was delivered, for every FIN/RST that
    /// closes, even a repeated one). The DNS analyzer parses a message it
    /// holds partly (`DNS_Analyzer::ConnectionClosed`); it never flips.
    pub fn on_close(&mut self) -> Verdict {
        let mut v = Verdict::default();
        if self.transport != Transport::Tcp || !self.runs(Service::Dns) {
            return v;
        }
        let mut ev = proto::Events::default();
        let ctx = proto::Ctx {
            is_orig: true,
            partial: self.partial,
            resp_port: self.resp_port,
            transport: self.transport,
        };
        self.p.close(&ctx, &mut ev);
        self.apply(&mut ev, &mut v);
        v
    }

    /// Parser states allocated now, and whether the signature state is (for
    /// the tests).
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> (usize, bool) {
        (self.p.boxed(), self.sigs.is_some())
    }

    /// Roles were swapped (by the TCP layer or after a `Verdict.flip`): swap
    /// any per-direction state and the port notion.
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.orig_port, &mut self.resp_port);
        if let Some(s) = &mut self.sigs {
            s.flip();
        }
        self.udp_sigs.flip();
        self.p.flip();
    }

    /// Adds `s` to the confirmed list (idempotent) — used by the engine for
    /// tunnels and ftp-data / irc-dcc-data.
    pub fn confirm(&mut self, s: Service) {
        self.add_listed(s);
    }

    /// The first DNS question the originator asked (filled by the DNS
    /// analyzer; `None` until it parsed one).
    pub fn dns_query(&self) -> Option<DnsQuery> {
        self.p.dns_query()
    }

    /// Confirmed services in confirmation order.
    pub fn services(&self) -> impl Iterator<Item = Service> + '_ {
        let n = (self.n_listed as usize).min(MAX_LISTED);
        self.listed[..n]
            .iter()
            .filter_map(|&i| Service::ALL.get(i as usize).copied())
    }

    /// False once no enabled analyzer can still confirm, remove a service,
    /// flip the connection or raise an expectation (lets the engine skip calls).
    pub fn wants_payload(&self) -> bool {
        // A signature may still fire and attach an analyzer whose verdict is pending.
        let pending =
            self.pia_open && (self.pend_confirm | self.pend_violation) & !self.attached != 0;
        pending
            || self.inner_pending.is_some()
            || analyzers(self.transport).iter().any(|&s| self.live(s))
            || self.handoff_possible()
    }

    /// Whether analyzer `s` parses the next payload (attached, or still able
    /// to be attached by a signature).
    fn runs(&self, s: Service) -> bool {
        let b = s.bit();
        if self.enabled & b == 0 || self.p.is_done(s) {
            return false;
        }
        if self.attached & b != 0 {
            return self.disabled & b == 0;
        }
        self.disabled & b == 0
            && self.pia_open
            && self.sig_dead & b == 0
            && sig::has_signature(self.transport, s)
    }

    fn live(&self, s: Service) -> bool {
        if !self.runs(s) {
            return false;
        }
        // Past the violation window a confirmed analyzer can change nothing
        // more, unless it raises expectations, hands off, flips or confirms
        // child analyzers.
        let b = s.bit();
        let settled =
            u64::from(self.total) > IGNORE_VIOLATIONS_AFTER && self.ever_confirmed & b != 0;
        !settled || PARENTS & b != 0 || matches!(s, Service::Ntp | Service::Ftp | Service::Irc)
    }

    /// Whether an attached parent can still hand the stream to a child.
    fn handoff_possible(&self) -> bool {
        analyzers(self.transport)
            .iter()
            .any(|&s| PARENTS & s.bit() != 0 && self.attached & s.bit() != 0 && self.runs(s))
    }

    fn attach_by_signature(&mut self, s: Service, v: &mut Verdict) {
        let b = s.bit();
        if self.attached & b != 0 || self.disabled & b != 0 {
            return;
        }
        self.attached |= b;
        // Replay: apply what the analyzer saw on the buffered stream.
        if self.pend_confirm & b != 0 {
            self.do_confirm(s, v);
        }
        if self.pend_violation & b != 0 {
            self.do_violation(s, v);
        }
        self.pend_confirm &= !b;
        self.pend_violation &= !b;
    }

    fn apply(&mut self, ev: &mut proto::Events, v: &mut Verdict) {
        for i in 0..ev.n.min(proto::MAX_EVENTS) {
            let (s, what) = ev.items[i];
            let b = s.bit();
            let live = self.attached & b != 0 && self.disabled & b == 0;
            match what {
                proto::What::Confirm if live => self.do_confirm(s, v),
                proto::What::Confirm => {
                    if self.pend_violation & b == 0 {
                        self.pend_confirm |= b;
                    }
                }
                proto::What::Violation if live => self.do_violation(s, v),
                proto::What::Violation => self.pend_violation |= b,
                proto::What::Flip if live => {
                    if !(s == Service::Dns && self.resp_multicast) {
                        v.flip = true;
                    }
                }
                proto::What::Flip => {}
                proto::What::Limit if live => v.limit = true,
                proto::What::Limit => {}
                proto::What::Child(parent) => {
                    // A child analyzer the parent instantiated confirmed.
                    let pb = parent.bit();
                    if self.attached & pb != 0 && self.disabled & pb == 0 {
                        self.do_confirm(s, v);
                    }
                }
            }
        }
        ev.n = 0;
        if let Some(parent) = ev.inner_dpd.take() {
            let b = parent.bit();
            if self.attached & b != 0 && self.disabled & b == 0 {
                self.inner_pending = Some(parent);
            }
        }
        // The expectations this run raised count only from an attached,
        // enabled analyzer.
        let checked = ev.expects_checked.min(ev.expects.len());
        let mut kept = checked;
        for i in checked..ev.expects.len() {
            let e = ev.expects[i];
            let b = e.service_owner().bit();
            if self.attached & b != 0 && self.disabled & b == 0 {
                ev.expects[kept] = e;
                kept += 1;
            }
        }
        ev.expects.truncate(kept);
        ev.expects_checked = kept;
        if let Some((child, _)) = ev.handoff {
            // Only an attached parent hands over.
            let parent = ev.handoff_from.map_or(0, Service::bit);
            let parent_live = self.attached & parent != 0 && self.disabled & parent == 0;
            let child_ok = self.enabled & child.bit() != 0 || CHILDREN & child.bit() != 0;
            if !parent_live || !child_ok {
                ev.handoff = None;
            }
        }
    }

    /// SOCKS (after its handshake) and RDP (once TLS or CredSSP was
    /// negotiated) hand the rest of the connection to a new PIA as a child
    /// (`SOCKS_Analyzer` / `RDP_Analyzer::DeliverStream`: `new PIA_TCP`,
    /// `FirstPacket` both ways, then `ForwardStream`): signature matching
    /// starts over on the inner stream (first 1024 bytes), and every
    /// analyzer can be attached by its signature as a new child of
    /// `parent`, parsing the inner stream from its start. Analyzers attached
    /// to the outer stream (HTTP, also registered for 1080) are dropped: on
    /// the SOCKS bytes followed by the inner stream they meet a line or
    /// header that does not parse (a violation, or nothing) — an
    /// approximation, as one analyzer per protocol is modelled where Zeek
    /// can run both instances.
    fn restart_dpd(&mut self, parent: Service) {
        let all = analyzers(self.transport).iter().fold(0, |m, s| m | s.bit());
        let fresh = all & !parent.bit();
        self.attached &= !fresh;
        self.disabled &= !fresh;
        self.pend_confirm &= !fresh;
        self.pend_violation &= !fresh;
        self.sig_dead &= !fresh;
        self.pia_open = true;
        self.pia_bytes = 0;
        self.sigs = None;
        self.p.restart(fresh, parent);
    }

    fn do_confirm(&mut self, s: Service, v: &mut Verdict) {
        self.ever_confirmed |= s.bit();
        if self.add_listed(s) {
            v.confirmed = Some(s);
        }
    }

    fn do_violation(&mut self, s: Service, v: &mut Verdict) {
        if u64::from(self.total) > IGNORE_VIOLATIONS_AFTER {
            return;
        }
        if IGNORE_VIOLATIONS & s.bit() != 0 {
            // `DPD::ignore_violations`: neither disabled nor removed.
            return;
        }
        self.disabled |= s.bit();
        if self.remove_listed(s) {
            v.removed = Some(s);
            if v.confirmed == Some(s) {
                v.confirmed = None;
            }
        }
    }

    fn add_listed(&mut self, s: Service) -> bool {
        let n = (self.n_listed as usize).min(MAX_LISTED);
        if self.listed[..n].contains(&(s as u8)) || n == MAX_LISTED {
            return false;
        }
        self.listed[n] = s as u8;
        self.n_listed = (n + 1) as u8;
        true
    }

    fn remove_listed(&mut self, s: Service) -> bool {
        let n = (self.n_listed as usize).min(MAX_LISTED);
        match self.listed[..n].iter().position(|&x| x == s as u8) {
            Some(i) => {
                self.listed.copy_within(i + 1..n, i);
                self.n_listed = (n - 1) as u8;
                true
            }
            None => false,
        }
    }
}

/// `DPD::ignore_violations` with the default scripts: the DCE-RPC and NTLM
/// scripts add their analyzers (`redef DPD::ignore_violations += {
/// Analyzer::ANALYZER_DCE_RPC }` in `base/protocols/dce-rpc/main.zeek`,
/// `ANALYZER_NTLM` in `base/protocols/ntlm/main.zeek`), so their violations
/// neither disable them nor remove their service (`dpd.zeek`,
/// `analyzer_violation_info`). Both analyzers only run when those packages
/// are loaded (or as children, whose scripts come with their parents').
const IGNORE_VIOLATIONS: u64 = (1 << Service::DceRpc as u32) | (1 << Service::Ntlm as u32);

/// Analyzers that hand the stream to a child or confirm children.
const PARENTS: u64 = (1 << Service::Ftp as u32)
    | (1 << Service::Irc as u32)
    | (1 << Service::Smtp as u32)
    | (1 << Service::Pop3 as u32)
    | (1 << Service::Imap as u32)
    | (1 << Service::Xmpp as u32)
    | (1 << Service::LdapTcp as u32)
    | (1 << Service::Postgresql as u32)
    | (1 << Service::Mysql as u32)
    | (1 << Service::Http as u32)
    | (1 << Service::Smb as u32);

impl Expect {
    /// The control-channel analyzer that raises this kind of expectation.
    fn service_owner(&self) -> Service {
        match self.service {
            Service::IrcDccData => Service::Irc,
            _ => Service::Ftp,
        }
    }
}
