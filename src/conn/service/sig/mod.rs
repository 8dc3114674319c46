//! Zeek's DPD signatures (`scripts/base/protocols/*/dpd.sig`), matched
//! incrementally on the first bytes of each direction without buffering the
//! stream.
//!
//! Zeek semantics reproduced: payload patterns are anchored at the start of
//! the direction's stream and match as soon as a prefix of the stream matches
//! (`.` matches any byte); `tcp-state originator|responder` restricts the
//! direction; `requires-reverse-signature` makes a signature fire only once
//! the other direction matched its own signature, whichever came first.

//!
//! This module owns the signature bits, the per-direction state ([`Dir`]),
//! the TCP entry point ([`Sigs`]: feed, `dead`, and which analyzers the
//! matched bits enable) and [`has_signature`]. The matching itself lives in
//! the children: `prefix` (patterns decided on a direction's first bytes),
//! `tcp` (the stream matcher over every byte), `needle` (the substring
//! needles and the SIMD stop search that lets the stream matcher skip),
//! `udp` (per-datagram signatures). It must not buffer stream bytes beyond
//! the fixed head and line windows, nor know about analyzers beyond
//! which [`Service`] a signature enables.

use super::{Service, Transport};

mod needle;
mod prefix;
mod tcp;
mod udp;

use needle::NEEDLES;
pub(crate) use udp::UdpSigs;

/// Signature patterns (per direction).
const HTTP_CLIENT: u64 = 1 << 0;
const HTTP_SERVER: u64 = 1 << 1;
const TLS_CLIENT: u64 = 1 << 2;
const TLS_SERVER: u64 = 1 << 3;
const SSH: u64 = 1 << 4;
const FTP_CLIENT: u64 = 1 << 5;
const FTP_SERVER: u64 = 1 << 6;
const SMTP_CLIENT: u64 = 1 << 7;
const SMTP_SERVER: u64 = 1 << 8;
const POP3_CLIENT: u64 = 1 << 9;
const POP3_SERVER: u64 = 1 << 10;
const IRC_CLIENT: u64 = 1 << 11;
const IRC_SERVER: u64 = 1 << 12;
const REDIS_CLIENT: u64 = 1 << 13;
const REDIS_SERVER: u64 = 1 << 14;
const RDP_CLIENT: u64 = 1 << 15;
const RDP_SERVER: u64 = 1 << 16;
const DCE_RPC: u64 = 1 << 17;
const LDAP_CLIENT: u64 = 1 << 18;
const LDAP_SERVER: u64 = 1 << 19;
const PG_SSLREQ: u64 = 1 << 20;
const PG_SSL_REPLY: u64 = 1 << 21;
const PG_STARTUP: u64 = 1 << 22;
const PG_ANY_RESPONSE: u64 = 1 << 23;
const SMB: u64 = 1 << 24;
const SOCKS4_CLIENT: u64 = 1 << 25;
const SOCKS4_SERVER: u64 = 1 << 26;
const SOCKS5_CLIENT: u64 = 1 << 27;
const SOCKS5_SERVER: u64 = 1 << 28;
const RFB: u64 = 1 << 29;
const MQTT: u64 = 1 << 30;
const XMPP: u64 = 1 << 31;
/// `^....\x00\x03\x00` of `dpd_postgresql_client_startup_3_x` held; the
/// `.{0,256}user\x00` part is matched byte by byte.
const PG_STARTUP_HEAD: u64 = 1 << 32;

/// Prefix patterns decided from the first `HEAD` bytes of a direction.
const PREFIX_SIGS: u64 = HTTP_CLIENT
    | HTTP_SERVER
    | TLS_CLIENT
    | TLS_SERVER
    | SSH
    | SMTP_SERVER
    | POP3_SERVER
    | DCE_RPC
    | LDAP_CLIENT
    | LDAP_SERVER
    | PG_SSLREQ
    | PG_SSL_REPLY
    | PG_ANY_RESPONSE
    | SMB
    | SOCKS4_CLIENT
    | SOCKS4_SERVER
    | SOCKS5_CLIENT
    | SOCKS5_SERVER
    | RFB
    | MQTT
    | PG_STARTUP_HEAD;
/// Highest prefix pattern bit.
const LAST_PREFIX: u64 = PG_STARTUP_HEAD;
const HEAD: usize = 40;

/// Per-direction matcher state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dir {
    /// Patterns that matched in this direction.
    matched: u64,
    /// Prefix patterns that can no longer match.
    failed: u64,
    head: [u8; HEAD],
    head_len: u8,
    /// Bytes seen in this direction (saturating).
    seen: u32,
    /// Current line: first bytes after the leading blanks.
    line: [u8; 24],
    line_len: u8,
    /// Past the leading blanks of the current line.
    line_body: bool,
    /// Non-empty lines completed in this direction.
    lines_done: u32,
    /// The first line did not start with an FTP greeting.
    ftp_no_greeting: bool,
    /// Bytes of the current line after the leading blanks.
    line_count: u32,
    /// The last byte was '\r' (for "\r\n").
    prev_cr: bool,
    /// Saw "\r\n" anywhere.
    crlf: bool,
    /// IRC client lines seen: 1 = `USER +.+`, 2 = `NICK +.+`.
    irc_lines: u8,
    /// IRC server reply state on the current line.
    irc_state: u8,
    /// FTP server: greeting seen (`[\n\r ]*(120|220)[^0-9]`).
    ftp_greeting: bool,
    /// Progress on each of `NEEDLES`.
    needle: [u8; NEEDLES.len()],
    /// The needles in progress (bit `k`: `needle[k] != 0`).
    in_progress: u8,
    found: u8,
    /// "Duca" seen before one of the channel names.
    duca: bool,
    /// `dpd_xmpp` matcher state (see `Dir::xmpp`); 0xff = failed.
    xmpp: u8,
    /// Progress in the current literal of the XMPP pattern.
    xmpp_k: u8,
    /// Progress matching `user\0` for `dpd_postgresql_client_startup_3_x`.
    pg_user: u8,
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            matched: 0,
            failed: 0,
            head: [0; HEAD],
            head_len: 0,
            seen: 0,
            line: [0; 24],
            line_len: 0,
            line_body: false,
            lines_done: 0,
            ftp_no_greeting: false,
            line_count: 0,
            prev_cr: false,
            crlf: false,
            irc_lines: 0,
            irc_state: 0,
            ftp_greeting: false,
            needle: [0; NEEDLES.len()],
            in_progress: 0,
            found: 0,
            duca: false,
            xmpp: 0,
            xmpp_k: 0,
            pg_user: 0,
        }
    }
}

/// Stream signature state of a TCP connection (boxed by the service state
/// while the DPD buffer is open).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sigs {
    d: [Dir; 2],
}

/// Whether analyzer `s` has a DPD signature for this transport (otherwise it
/// is attached only by port).
pub(crate) fn has_signature(t: Transport, s: Service) -> bool {
    match t {
        Transport::Tcp => matches!(
            s,
            Service::Http
                | Service::Ssl
                | Service::Ssh
                | Service::Ftp
                | Service::Smtp
                | Service::Pop3
                | Service::Irc
                | Service::Redis
                | Service::Rdp
                | Service::DceRpc
                | Service::Xmpp
                | Service::LdapTcp
                | Service::Postgresql
                | Service::Smb
                | Service::Socks
                | Service::Rfb
                | Service::Mqtt
        ),
        Transport::Udp => matches!(
            s,
            Service::Dhcp
                | Service::Quic
                | Service::Rdpeudp
                | Service::Krb
                | Service::Sip
                | Service::Dtls
                | Service::LdapUdp
        ),
    }
}

fn sbit(s: Service) -> u64 {
    1u64 << s as u32
}

impl Sigs {
    /// Swaps the directions.
    pub(crate) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    /// Analyzers whose signature can no longer fire on this connection,
    /// whatever bytes follow and however the roles flip: FTP once neither
    /// direction can still show `dpd_ftp_server`'s greeting. (Other
    /// signatures can match on any later line or stay undecided until the
    /// DPD buffer is full.)
    pub(crate) fn dead(&self) -> u64 {
        if self.d.iter().all(Dir::ftp_server_dead) {
            sbit(Service::Ftp)
        } else {
            0
        }
    }

    /// Feeds stream bytes of one direction; returns the analyzers whose
    /// signature (including its reverse requirement) is satisfied.
    pub(crate) fn tcp(&mut self, is_orig: bool, data: &[u8]) -> u64 {
        let i = usize::from(!is_orig);
        let dir = &mut self.d[i];
        dir.feed(is_orig, data);
        self.enabled()
    }

    fn enabled(&self) -> u64 {
        let o = self.d[0].matched;
        let r = self.d[1].matched;
        let mut out = 0u64;
        let mut en = |s: Service| out |= sbit(s);
        // `requires-reverse-signature` without a tcp-state: the two patterns
        // in opposite directions.
        let pair = |a: u64, b: u64| (o & a != 0 && r & b != 0) || (r & a != 0 && o & b != 0);
        if o & HTTP_CLIENT != 0 || r & HTTP_SERVER != 0 {
            en(Service::Http);
        }
        if o & TLS_CLIENT != 0 || r & TLS_SERVER != 0 {
            en(Service::Ssl);
        }
        if o & SSH != 0 && r & SSH != 0 {
            en(Service::Ssh);
        }
        if o & FTP_CLIENT != 0 && r & FTP_SERVER != 0 {
            en(Service::Ftp);
        }
        if o & SMTP_CLIENT != 0 && r & SMTP_SERVER != 0 {
            en(Service::Smtp);
        }
        if o & POP3_CLIENT != 0 && r & POP3_SERVER != 0 {
            en(Service::Pop3);
        }
        if o & IRC_CLIENT != 0 && r & IRC_SERVER != 0 {
            en(Service::Irc);
        }
        // resp-serialized-server enables on its own; resp-client needs it.
        if r & REDIS_SERVER != 0 {
            en(Service::Redis);
        }
        // No tcp-state: client and server just need opposite directions.
        if (o & RDP_CLIENT != 0 && r & RDP_SERVER != 0)
            || (r & RDP_CLIENT != 0 && o & RDP_SERVER != 0)
        {
            en(Service::Rdp);
        }
        if (o | r) & DCE_RPC != 0 {
            en(Service::DceRpc);
        }
        if pair(LDAP_CLIENT, LDAP_SERVER) {
            en(Service::LdapTcp);
        }
        let startup = |m: u64| m & PG_STARTUP != 0 && m & PG_STARTUP_HEAD != 0;
        if pair(PG_SSLREQ, PG_SSL_REPLY)
            || (startup(o) && r & PG_ANY_RESPONSE != 0)
            || (startup(r) && o & PG_ANY_RESPONSE != 0)
        {
            en(Service::Postgresql);
        }
        if (o | r) & SMB != 0 {
            en(Service::Smb);
        }
        // dpd_socks4(_reverse)_client/server and dpd_socks5_client/server.
        if pair(SOCKS4_CLIENT, SOCKS4_SERVER) || (o & SOCKS5_CLIENT != 0 && r & SOCKS5_SERVER != 0)
        {
            en(Service::Socks);
        }
        // dpd_rfb_client is originator-only; dpd_rfb_server needs it reversed.
        if o & RFB != 0 && r & RFB != 0 {
            en(Service::Rfb);
        }
        if (o | r) & MQTT != 0 {
            en(Service::Mqtt);
        }
        if (o | r) & XMPP != 0 {
            en(Service::Xmpp);
        }
        out
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}
