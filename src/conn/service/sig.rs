//! Zeek's DPD signatures (`scripts/base/protocols/*/dpd.sig`), matched
//! incrementally on the first bytes of each direction without buffering the
//! stream.
//!
//! Zeek semantics reproduced: payload patterns are anchored at the start of
//! the direction's stream and match as soon as a prefix of the stream matches
//! (`.` matches any byte); `tcp-state originator|responder` restricts the
//! direction; `requires-reverse-signature` makes a signature fire only once
//! the other direction matched its own signature, whichever came first.

use super::{Service, Transport};

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

/// HTTP methods of `dpd_http_client` (`scripts/base/protocols/http/dpd.sig`).
const HTTP_METHODS: [&[u8]; 50] = [
    b"OPTIONS",
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"ACL",
    b"BASELINE-CONTROL",
    b"BIND",
    b"CHECKIN",
    b"CHECKOUT",
    b"CONNECT",
    b"COPY",
    b"LABEL",
    b"LINK",
    b"LOCK",
    b"MERGE",
    b"MKACTIVITY",
    b"MKCALENDAR",
    b"MKCOL",
    b"MKREDIRECTREF",
    b"MOVE",
    b"ORDERPATCH",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"REBIND",
    b"REPORT",
    b"SEARCH",
    b"TRACE",
    b"UNBIND",
    b"UNCHECKOUT",
    b"UNLINK",
    b"UNLOCK",
    b"UPDATE",
    b"VERSION-CONTROL",
    b"BCOPY",
    b"BDELETE",
    b"BMOVE",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"NOTIFY",
    b"POLL",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"X-MS-ENUMATTS",
    b"MKWORKSPACE",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
    b"MKWORKSPACE",
];

/// Substrings searched anywhere in a direction's first bytes.
const NEEDLES: [&[u8]; 7] = [
    b"Cookie: mstshash=",
    b"Duca",
    b"rdpdr",
    b"rdpsnd",
    b"drdynvc",
    b"cliprdr",
    b"McDn",
];
/// Longest needle.
const MAX_NEEDLE: usize = 17;
/// KMP failure function of each needle: `FAIL[k][i]` is the length of the
/// longest proper prefix of `NEEDLES[k][..=i]` that is also its suffix.
const FAIL: [[u8; MAX_NEEDLE]; NEEDLES.len()] = {
    let mut f = [[0u8; MAX_NEEDLE]; NEEDLES.len()];
    let mut k = 0;
    while k < NEEDLES.len() {
        let n = NEEDLES[k];
        assert!(n.len() <= MAX_NEEDLE);
        let (mut i, mut len) = (1, 0usize);
        while i < n.len() {
            if n[i] == n[len] {
                len += 1;
                f[k][i] = len as u8;
                i += 1;
            } else if len > 0 {
                len = f[k][len - 1] as usize;
            } else {
                i += 1;
            }
        }
        k += 1;
    }
    f
};
/// By byte, the needles (bit `k`: `NEEDLES[k]`) that it starts.
const NEEDLE_STARTS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < NEEDLES.len() {
        t[NEEDLES[i][0] as usize] |= 1 << i;
        i += 1;
    }
    t
};
/// The first two bytes of each needle (one entry per distinct pair).
const PAIRS: [[u8; 2]; 6] = [*b"Co", *b"Du", *b"rd", *b"dr", *b"cl", *b"Mc"];
const _: () = {
    // every needle starts with one of the pairs
    let mut k = 0;
    while k < NEEDLES.len() {
        let (a, b) = (NEEDLES[k][0], NEEDLES[k][1]);
        let mut found = false;
        let mut j = 0;
        while j < PAIRS.len() {
            found |= PAIRS[j][0] == a && PAIRS[j][1] == b;
            j += 1;
        }
        assert!(found);
        k += 1;
    }
};

/// Whether position `i` of `data` may change matcher state inside a
/// decided line (see `Dir::can_skip`): a line end, or the start of one of
/// [`PAIRS`] (the last byte when it may start one). At any other position
/// no needle can start, so with none in progress every needle stays at 0.
fn is_stop(data: &[u8], i: usize) -> bool {
    let Some(&c) = data.get(i) else {
        return false;
    };
    if c == b'\r' || c == b'\n' {
        return true;
    }
    if NEEDLE_STARTS[c as usize] == 0 {
        return false;
    }
    match data.get(i + 1) {
        None => true,
        Some(&d) => PAIRS.contains(&[c, d]),
    }
}

/// Index of the first stop of `data` ([`is_stop`]), or `data.len()`
/// (SSE2 on x86_64, 16 positions a step).
fn find_stop(data: &[u8]) -> usize {
    #[allow(unused_mut)]
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; both loads are
        // unaligned 16-byte reads inside `data` (i + 17 <= len).
        unsafe {
            let cr = _mm_set1_epi8(b'\r' as i8);
            let lf = _mm_set1_epi8(b'\n' as i8);
            let firsts = PAIRS.map(|p| _mm_set1_epi8(p[0] as i8));
            let seconds = PAIRS.map(|p| _mm_set1_epi8(p[1] as i8));
            while i + 17 <= data.len() {
                let a = _mm_loadu_si128(data.as_ptr().add(i) as *const __m128i);
                let b = _mm_loadu_si128(data.as_ptr().add(i + 1) as *const __m128i);
                let mut m = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
                for (f, s) in firsts.iter().zip(&seconds) {
                    m = _mm_or_si128(
                        m,
                        _mm_and_si128(_mm_cmpeq_epi8(a, *f), _mm_cmpeq_epi8(b, *s)),
                    );
                }
                let bits = _mm_movemask_epi8(m);
                if bits != 0 {
                    return i + bits.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < data.len() && !is_stop(data, i) {
        i += 1;
    }
    i
}

const N_COOKIE: usize = 0;
const N_DUCA: usize = 1;
const N_MCDN: usize = 6;

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

/// Signature state of a UDP connection: 4 bytes, kept inline.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UdpSigs {
    /// `dpd_ldap_client_udp` / `dpd_ldap_server_udp` matched, per direction.
    udp_ldap_client: [bool; 2],
    udp_ldap_server: [bool; 2],
}

impl UdpSigs {
    /// Swaps the directions.
    pub(crate) fn flip(&mut self) {
        self.udp_ldap_client.swap(0, 1);
        self.udp_ldap_server.swap(0, 1);
    }

    /// UDP signatures, matched per datagram (`requires-reverse-signature`
    /// across datagrams of the two directions): the analyzers to enable.
    pub(crate) fn udp(&mut self, is_orig: bool, p: &[u8]) -> u64 {
        let i = usize::from(!is_orig);
        if ldap_client(p, &[0x60, 0x63, 0x77]) == P::Yes {
            self.udp_ldap_client[i] = true;
        }
        if p.first() == Some(&0x30) {
            self.udp_ldap_server[i] = true;
        }
        let mut out = udp_stateless(p);
        let (c, s) = (self.udp_ldap_client, self.udp_ldap_server);
        if (c[0] && s[1]) || (c[1] && s[0]) {
            out |= sbit(Service::LdapUdp);
        }
        out
    }
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

/// UDP signatures that need no state, matched per datagram: returns the
/// analyzers to enable.
fn udp_stateless(p: &[u8]) -> u64 {
    let mut out = 0;
    // dhcp_cookie: /^.*\x63\x82\x53\x63/
    if p.windows(4)
        .any(|w| w[0] == 0x63 && w[1] == 0x82 && w[2] == 0x53 && w[3] == 0x63)
    {
        out |= sbit(Service::Dhcp);
    }
    // dpd_quic_initial / dpd_quic_v2_initial
    if p.len() >= 5
        && ((p[0] & 0xf0 == 0xc0 && p[1..5] == [0, 0, 0, 1])
            || (p[0] & 0xf0 == 0xd0 && p[1..5] == [0x6b, 0x33, 0x43, 0xcf]))
    {
        out |= sbit(Service::Quic);
    }
    // dpd_rdpeudp_syn: payload-size == 1232, /^\xff{4}.{2}.{1}\x01/
    if p.len() == 1232 && p[..4] == [0xff; 4] && p[7] == 0x01 {
        out |= sbit(Service::Rdpeudp);
    }
    // dpd_krb_udp: /\x6c...\x30...\xa1\x03\x02\x05/
    if p.len() >= 12 && p[0] == 0x6c && p[4] == 0x30 && p[8..12] == [0xa1, 0x03, 0x02, 0x05] {
        out |= sbit(Service::Krb);
    }
    // dpd_sip: /^( SIP\/[0-9]\.[0-9]\x0d\x0a|SIP\/[0-9]\.[0-9] [0-9][0-9][0-9] )/
    let sip_ver = |v: &[u8]| {
        v.len() >= 7
            && v[..4] == *b"SIP/"
            && v[4].is_ascii_digit()
            && v[5] == b'.'
            && v[6].is_ascii_digit()
    };
    if (p.first() == Some(&b' ') && sip_ver(&p[1..]) && p.get(8..10) == Some(b"\r\n"))
        || (sip_ver(p)
            && p.get(7) == Some(&b' ')
            && p.get(8..11)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && p.get(11) == Some(&b' '))
    {
        out |= sbit(Service::Sip);
    }
    // dpd_dtls_client: /^\x16\xfe[\xff\xfd]\x00{7}...\x01.{11}\xfe[\xff\xfd]/
    if p.len() >= 27
        && p[0] == 0x16
        && p[1] == 0xfe
        && matches!(p[2], 0xff | 0xfd)
        && p[3..10] == [0; 7]
        && p[13] == 0x01
        && p[25] == 0xfe
        && matches!(p[26], 0xff | 0xfd)
    {
        out |= sbit(Service::Dtls);
    }
    out
}

/// `dpd_ldap_client_udp` / `_tcp`: `^\x30` BER length `\x02` short
/// integer, then one of `ops`.
fn ldap_client(h: &[u8], ops: &[u8]) -> P {
    let Some(&b0) = h.first() else { return P::More };
    if b0 != 0x30 {
        return P::No;
    }
    let Some(&l) = h.get(1) else { return P::More };
    let i = match l {
        0x05..=0x7f => 2,
        0x81..=0x84 => 2 + usize::from(l - 0x80),
        _ => return P::No,
    };
    let Some(&t) = h.get(i) else { return P::More };
    if t != 0x02 {
        return P::No;
    }
    let Some(&il) = h.get(i + 1) else {
        return P::More;
    };
    if !(1..=4).contains(&il) {
        return P::No;
    }
    match h.get(i + 2 + usize::from(il)) {
        None => P::More,
        Some(op) if ops.contains(op) => P::Yes,
        Some(_) => P::No,
    }
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

/// Outcome of a prefix pattern on the bytes seen so far.
#[derive(PartialEq, Eq)]
enum P {
    Yes,
    No,
    More,
}

/// Compares `got` against the fixed pattern `pat` (`None` = any byte).
fn fixed(got: &[u8], pat: &[Option<&[u8]>]) -> P {
    for (i, alts) in pat.iter().enumerate() {
        match (got.get(i), alts) {
            (None, _) => return P::More,
            (Some(_), None) => {}
            (Some(b), Some(set)) => {
                if !set.contains(b) {
                    return P::No;
                }
            }
        }
    }
    P::Yes
}

const V03: &[u8] = &[0, 1, 2, 3];

fn tls_client(h: &[u8]) -> P {
    // /^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]/
    fixed(
        h,
        &[
            Some(&[0x16]),
            Some(&[3]),
            Some(V03),
            None,
            None,
            Some(&[1]),
            None,
            None,
            None,
            Some(&[3]),
            Some(V03),
        ],
    )
}

fn tls_server_at(h: &[u8]) -> P {
    // \x16\x03[\x00-\x03]..\x02...((\x03[\x00-\x04])|(\x7F[\x00-\x50]))
    let p = fixed(
        h,
        &[
            Some(&[0x16]),
            Some(&[3]),
            Some(V03),
            None,
            None,
            Some(&[2]),
            None,
            None,
            None,
        ],
    );
    if p != P::Yes {
        return p;
    }
    match (h.get(9), h.get(10)) {
        (None, _) => P::More,
        (Some(3), None) | (Some(0x7f), None) => P::More,
        (Some(3), Some(&v)) if v <= 4 => P::Yes,
        (Some(0x7f), Some(&v)) if v <= 0x50 => P::Yes,
        _ => P::No,
    }
}

fn tls_server(h: &[u8]) -> P {
    // /^(\x15\x03[\x00-\x03]....)?<server hello>/
    let direct = tls_server_at(h);
    if direct == P::Yes {
        return P::Yes;
    }
    let alert = fixed(
        h,
        &[Some(&[0x15]), Some(&[3]), Some(V03), None, None, None, None],
    );
    let after = match alert {
        P::Yes => tls_server_at(h.get(7..).unwrap_or(&[])),
        other => other,
    };
    match (direct, after) {
        (_, P::Yes) => P::Yes,
        (P::No, P::No) => P::No,
        _ => P::More,
    }
}

/// `^[[:space:]]*` followed by one of `words` (case-sensitive).
fn ws_then_word(h: &[u8], words: &[&[u8]]) -> P {
    let start = h.iter().position(|&b| !is_space(b));
    let Some(start) = start else { return P::More };
    let rest = &h[start..];
    let mut more = false;
    for w in words {
        // Neither can start with the other unless the first bytes agree.
        if w.first() != rest.first() {
            continue;
        }
        if rest.starts_with(w) {
            return P::Yes;
        }
        if w.starts_with(rest) {
            more = true;
        }
    }
    if more {
        P::More
    } else {
        P::No
    }
}

fn prefix_sig(sig: u64, is_orig: bool, h: &[u8]) -> P {
    match sig {
        LDAP_CLIENT => ldap_client(h, &[0x4a, 0x60, 0x63, 0x66, 0x68, 0x6c, 0x6e, 0x77]),
        LDAP_SERVER => fixed(h, &[Some(&[0x30])]),
        PG_SSLREQ => fixed(
            h,
            &[
                Some(&[0]),
                Some(&[0]),
                Some(&[0]),
                Some(&[8]),
                Some(&[4]),
                Some(&[0xd2]),
                Some(&[0x16]),
                Some(&[0x2f]),
            ],
        ),
        PG_SSL_REPLY => fixed(h, &[Some(b"SN")]),
        PG_STARTUP_HEAD => fixed(
            h,
            &[None, None, None, None, Some(&[0]), Some(&[3]), Some(&[0])],
        ),
        PG_ANY_RESPONSE => {
            let alnum: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            fixed(h, &[Some(alnum), Some(&[0]), Some(&[0]), None, None])
        }
        SMB => fixed(
            h,
            &[
                None,
                None,
                None,
                None,
                Some(&[0xfe, 0xff]),
                Some(b"S"),
                Some(b"M"),
                Some(b"B"),
            ],
        ),
        // dpd_socks4_client (originator) / dpd_socks4_reverse_client (responder):
        // /^\x04[\x01\x02].{0,32}\x00/
        SOCKS4_CLIENT => match fixed(h, &[Some(&[4]), Some(&[1, 2])]) {
            P::Yes => match h[2..].iter().take(33).position(|&b| b == 0) {
                Some(_) => P::Yes,
                None if h.len() < 2 + 33 => P::More,
                None => P::No,
            },
            other => other,
        },
        SOCKS4_SERVER => fixed(h, &[Some(&[0]), Some(&[0x5a, 0x5b, 0x5c, 0x5d])]),
        SOCKS5_CLIENT if is_orig => fixed(h, &[Some(&[5]), None, Some(&[0, 1, 2])]),
        SOCKS5_SERVER if !is_orig => match fixed(h, &[Some(&[5]), Some(&[0, 1])]) {
            P::Yes if h[1] == 1 => fixed(h, &[None, None, Some(&[0, 1, 2])]),
            other => other,
        },
        RFB => fixed(h, &[Some(b"R"), Some(b"F"), Some(b"B")]),
        // dpd_mqtt: /^.{4,7}MQ/
        MQTT => {
            let mut more = false;
            for i in 4..=7 {
                match (h.get(i), h.get(i + 1)) {
                    (Some(b'M'), Some(b'Q')) => return P::Yes,
                    (None, _) | (Some(b'M'), None) => more = true,
                    _ => {}
                }
            }
            if more {
                P::More
            } else {
                P::No
            }
        }
        HTTP_CLIENT if is_orig => ws_then_word(h, &HTTP_METHODS),
        HTTP_SERVER if !is_orig => fixed(
            h,
            &[
                Some(b"hH"),
                Some(b"tT"),
                Some(b"tT"),
                Some(b"pP"),
                Some(b"/"),
                Some(b"0123456789"),
            ],
        ),
        TLS_CLIENT if is_orig => tls_client(h),
        TLS_SERVER if !is_orig => tls_server(h),
        // dpd_ssh_client / dpd_ssh_server: /^[sS][sS][hH]-[12]\./
        SSH => fixed(
            h,
            &[
                Some(b"sS"),
                Some(b"sS"),
                Some(b"hH"),
                Some(b"-"),
                Some(b"12"),
                Some(b"."),
            ],
        ),
        // dpd_smtp_server: /^[[:space:]]*220[[:space:]-]/
        SMTP_SERVER if !is_orig => {
            let Some(start) = h.iter().position(|&b| !is_space(b)) else {
                return P::More;
            };
            fixed(
                &h[start..],
                &[
                    Some(b"2"),
                    Some(b"2"),
                    Some(b"0"),
                    Some(b" \t\n\r\x0b\x0c-"),
                ],
            )
        }
        // dpd_pop3_server: /^\+OK/
        POP3_SERVER if !is_orig => fixed(h, &[Some(b"+"), Some(b"O"), Some(b"K")]),
        // dpd_dce_rpc: /^\x05[\x00\x01][\x00-\x13]\x03/
        DCE_RPC => {
            let ptypes: [u8; 20] = core::array::from_fn(|i| i as u8);
            fixed(h, &[Some(&[5]), Some(&[0, 1]), Some(&ptypes), Some(&[3])])
        }
        _ => P::No,
    }
}

/// States of the `dpd_xmpp` matcher
/// (`/^(<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:/`).
const X_START: u8 = 0;
const X_LT: u8 = 1;
const X_XML: u8 = 2;
const X_DECL: u8 = 3;
const X_DECL_Q: u8 = 4;
const X_SPACE: u8 = 5;
const X_STREAM: u8 = 6;
const X_ATTRS: u8 = 7;
const X_DONE: u8 = 0xfe;
const X_FAIL: u8 = 0xff;
const X_STREAM_LIT: &[u8] = b"<stream:stream ";
const X_NS_LIT: &[u8] = b"xmlns='jabber:";
/// `dpd_postgresql_client_startup_3_x` looks for `user\0` within 7 + 256 +
/// 5 bytes.
const PG_USER_END: u32 = 7 + 256 + 5;

impl Dir {
    /// `dpd_ftp_server` can never match in this direction: its greeting
    /// must be the first non-empty line, and that line (or its first four
    /// bytes) was something else, or was read as the originator's.
    fn ftp_server_dead(&self) -> bool {
        self.matched & FTP_SERVER == 0
            && !self.ftp_greeting
            && (self.ftp_no_greeting || self.lines_done > 0)
    }

    fn feed(&mut self, is_orig: bool, data: &[u8]) {
        // The head first (it touches no state the other two read), so that
        // `feed_extra` knows whether the PostgreSQL startup head failed.
        self.feed_head(is_orig, data);
        self.feed_extra(data, true);
        self.feed_bytes(is_orig, data);
    }

    /// The byte-wise matchers that must see every byte of their window:
    /// `dpd_xmpp` and the `user\0` part of the PostgreSQL startup pattern.
    /// With `gate`, `user\0` is not looked for once the startup head failed:
    /// it only matters with the head (`startup` in `Sigs::enabled` needs
    /// both). Without (the tests' reference), every byte of the window.
    fn feed_extra(&mut self, data: &[u8], gate: bool) {
        let mut off = self.seen;
        let head_ok = !gate || self.failed & PG_STARTUP_HEAD == 0;
        for &b in data {
            let pg_active = head_ok && off < PG_USER_END && self.matched & PG_STARTUP == 0;
            if self.xmpp >= X_DONE && !pg_active {
                break;
            }
            if pg_active && off >= 7 {
                let want = b"user\0"[usize::from(self.pg_user)];
                if b == want {
                    self.pg_user += 1;
                    if self.pg_user == 5 {
                        self.matched |= PG_STARTUP;
                    }
                } else {
                    self.pg_user = u8::from(b == b'u');
                }
            }
            if self.xmpp < X_DONE {
                self.xmpp_step(b);
            }
            off = off.saturating_add(1);
        }
    }

    fn xmpp_step(&mut self, b: u8) {
        let k = usize::from(self.xmpp_k);
        self.xmpp = match self.xmpp {
            X_START if b == b'<' => X_LT,
            X_START | X_SPACE if matches!(b, b'\n' | b'\r' | b' ') => X_SPACE,
            X_SPACE if b == b'<' => {
                self.xmpp_k = 1;
                X_STREAM
            }
            X_LT if b == b'?' => {
                self.xmpp_k = 0;
                X_XML
            }
            X_LT if b == b's' => {
                self.xmpp_k = 2;
                X_STREAM
            }
            X_XML if b == b"xml"[k] => {
                self.xmpp_k += 1;
                if self.xmpp_k == 3 {
                    X_DECL
                } else {
                    X_XML
                }
            }
            X_DECL if b == b'?' => X_DECL_Q,
            X_DECL if b != b'>' => X_DECL,
            X_DECL_Q if b == b'>' => X_SPACE,
            X_STREAM if b == X_STREAM_LIT[k] => {
                self.xmpp_k += 1;
                if usize::from(self.xmpp_k) == X_STREAM_LIT.len() {
                    self.xmpp_k = 0;
                    X_ATTRS
                } else {
                    X_STREAM
                }
            }
            X_ATTRS if b == b'>' => X_FAIL,
            X_ATTRS => {
                if b == X_NS_LIT[k] {
                    self.xmpp_k += 1;
                    if usize::from(self.xmpp_k) == X_NS_LIT.len() {
                        self.matched |= XMPP;
                        return self.xmpp = X_DONE;
                    }
                } else {
                    self.xmpp_k = u8::from(b == b'x');
                }
                X_ATTRS
            }
            _ => X_FAIL,
        };
    }

    /// Patterns decided on the first bytes of the direction.
    fn feed_head(&mut self, is_orig: bool, data: &[u8]) {
        // Prefix patterns.
        if (self.head_len as usize) < HEAD {
            let n = (HEAD - self.head_len as usize).min(data.len());
            let at = self.head_len as usize;
            self.head[at..at + n].copy_from_slice(&data[..n]);
            self.head_len += n as u8;
            let mut bit = 1u64;
            while bit <= LAST_PREFIX {
                if PREFIX_SIGS & bit != 0 && (self.matched | self.failed) & bit == 0 {
                    match prefix_sig(bit, is_orig, &self.head[..self.head_len as usize]) {
                        P::Yes => self.matched |= bit,
                        P::No => self.failed |= bit,
                        P::More if self.head_len as usize == HEAD => self.failed |= bit,
                        P::More => {}
                    }
                }
                bit <<= 1;
            }
        }
        // Redis server, first line: /^([-+_,].*\r\n|[:$*#(!=%`~>][+-]?[0-9]+(\.[0-9]*)?\r\n)/
        if !is_orig && self.matched & REDIS_SERVER == 0 && self.failed & REDIS_SERVER == 0 {
            self.redis_server(data);
        }
    }

    /// Patterns that may match anywhere in the direction's bytes.
    fn feed_bytes(&mut self, is_orig: bool, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            if self.can_skip(is_orig) {
                // Bytes that change nothing but counters: jump to the next
                // line end or possible needle start.
                let rest = &data[i..];
                let k = find_stop(rest);
                if k > 0 {
                    self.skip(&rest[..k]);
                    i += k;
                    continue;
                }
            }
            self.byte(is_orig, data[i]);
            i += 1;
        }
    }

    /// Whether the next bytes, up to a stop ([`is_stop`]), can only advance
    /// counters: inside a line whose start decided every line pattern, no
    /// needle in progress, past the fixed RDP offset.
    fn can_skip(&self, is_orig: bool) -> bool {
        if !self.line_body || self.prev_cr || self.seen <= 5 || self.in_progress != 0 {
            return false;
        }
        let n = self.line_len as usize;
        if is_orig {
            // Client line patterns decide at lengths 4 and 5; IRC's USER/NICK
            // look at the whole (24-byte) line buffer at its end.
            let l = &self.line[..n];
            n == self.line.len()
                || (n >= 5
                    && !l[..4].eq_ignore_ascii_case(b"USER")
                    && !l[..4].eq_ignore_ascii_case(b"NICK"))
        } else {
            n >= 4 && self.irc_state == 0xff
        }
    }

    /// Consumes bytes up to a stop ([`is_stop`]) while [`Self::can_skip`]
    /// holds: the effect of [`Self::byte`] on each, without the matchers.
    fn skip(&mut self, run: &[u8]) {
        let at = self.line_len as usize;
        let room = self.line.len() - at;
        let n = room.min(run.len());
        self.line[at..at + n].copy_from_slice(&run[..n]);
        self.line_len += n as u8;
        let k = u32::try_from(run.len()).unwrap_or(u32::MAX);
        self.seen = self.seen.saturating_add(k);
        self.line_count = self.line_count.saturating_add(k);
        self.prev_cr = false;
    }

    fn redis_server(&mut self, data: &[u8]) {
        let h = &self.head[..self.head_len as usize];
        let Some(&first) = h.first() else { return };
        if b"-+_,".contains(&first) {
            // `.*\r\n`: any CRLF later in the stream.
            let mut prev = self.prev_cr;
            let crlf = self.crlf
                || data.iter().any(|&b| {
                    let hit = prev && b == b'\n';
                    prev = b == b'\r';
                    hit
                });
            if crlf {
                self.matched |= REDIS_SERVER;
            }
            return;
        }
        if !b":$*#(!=%`~>".contains(&first) {
            self.failed |= REDIS_SERVER;
            return;
        }
        // [+-]?[0-9]+(\.[0-9]*)?\r\n, within the head buffer.
        let mut i = 1;
        if matches!(h.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = h[i.min(h.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        i += digits;
        if i >= h.len() {
            if h.len() == HEAD {
                self.failed |= REDIS_SERVER;
            }
            return;
        }
        if digits == 0 {
            self.failed |= REDIS_SERVER;
            return;
        }
        if h[i] == b'.' {
            i += 1;
            i += h[i.min(h.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        match (h.get(i), h.get(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => self.matched |= REDIS_SERVER,
            (Some(b'\r'), None) | (None, _) if h.len() < HEAD => {}
            _ => self.failed |= REDIS_SERVER,
        }
    }

    fn byte(&mut self, is_orig: bool, b: u8) {
        if self.prev_cr && b == b'\n' {
            self.crlf = true;
            if is_orig {
                // resp-client: /^.*\r\n/
                self.matched |= REDIS_CLIENT;
            }
        }
        self.prev_cr = b == b'\r';
        self.needles(b);
        // RDP server: /(.{5}\xd0|.*McDn)/
        if (self.seen == 5 && b == 0xd0) || self.found & (1 << N_MCDN) != 0 {
            self.matched |= RDP_SERVER;
        }
        self.seen = self.seen.saturating_add(1);
        if b == b'\n' || b == b'\r' {
            self.end_line(is_orig);
            return;
        }
        if !self.line_body && (b == b' ' || b == b'\t' || b == 0x0b || b == 0x0c) {
            return;
        }
        self.line_body = true;
        if (self.line_len as usize) < self.line.len() {
            self.line[self.line_len as usize] = b;
            self.line_len += 1;
        }
        self.line_count = self.line_count.saturating_add(1);
        self.line_progress(is_orig, b);
    }

    fn needles(&mut self, b: u8) {
        // Only the needles in progress and those `b` starts can change
        // state (any other stays at 0): nothing to do for most bytes.
        let mut todo = NEEDLE_STARTS[b as usize] | self.in_progress;
        while todo != 0 {
            let k = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            let (Some(n), Some(fail)) = (NEEDLES.get(k), FAIL.get(k)) else {
                break;
            };
            let mut p = self.needle[k] as usize;
            // Longest prefix of `n` that is a suffix of the text + b.
            loop {
                if p < n.len() && n[p] == b {
                    p += 1;
                    break;
                }
                if p == 0 {
                    break;
                }
                // Fall back to the next shorter border of n[..p].
                p = fail[p - 1] as usize;
            }
            if p == n.len() {
                self.found |= 1 << k;
                if k == N_DUCA {
                    self.duca = true;
                } else if k > N_DUCA && k < N_MCDN && self.duca {
                    self.matched |= RDP_CLIENT;
                }
                if k == N_COOKIE {
                    self.matched |= RDP_CLIENT;
                }
                p = 0;
            }
            self.needle[k] = p as u8;
            if p == 0 {
                self.in_progress &= !(1 << k);
            } else {
                self.in_progress |= 1 << k;
            }
        }
    }

    /// Line-start patterns decided while the line is being read.
    fn line_progress(&mut self, is_orig: bool, c: u8) {
        let l = &self.line[..self.line_len as usize];
        let up = |i: usize| l.get(i).map(|c| c.to_ascii_uppercase());
        if is_orig {
            // dpd_ftp_client: /(|.*[\n\r]) *[uU][sS][eE][rR] /
            if l.len() == 5 && up(0) == Some(b'U') && l[..5].eq_ignore_ascii_case(b"USER ") {
                self.matched |= FTP_CLIENT;
            }
            // dpd_smtp_client: /(|.*[\n\r])[[:space:]]*([hH][eE][lL][oO]|[eE][hH][lL][oO])/
            if l.len() == 4 && (l.eq_ignore_ascii_case(b"HELO") || l.eq_ignore_ascii_case(b"EHLO"))
            {
                self.matched |= SMTP_CLIENT;
            }
            // dpd_pop3_client: USER\s | APOP\s | CAPA | AUTH
            if l.len() == 4 && (l.eq_ignore_ascii_case(b"CAPA") || l.eq_ignore_ascii_case(b"AUTH"))
            {
                self.matched |= POP3_CLIENT;
            }
            if l.len() == 5
                && is_space(l[4])
                && (l[..4].eq_ignore_ascii_case(b"USER") || l[..4].eq_ignore_ascii_case(b"APOP"))
            {
                self.matched |= POP3_CLIENT;
            }
        } else {
            // dpd_ftp_server: /^[\n\r ]*(120|220)[^0-9].*[\n\r] *(230|331)[^0-9]/
            if l.len() == 4 {
                let code = &l[..3];
                if self.lines_done == 0 {
                    if (code == b"120" || code == b"220") && !l[3].is_ascii_digit() {
                        self.ftp_greeting = true;
                    } else {
                        self.ftp_no_greeting = true;
                    }
                } else if self.ftp_greeting
                    && !self.ftp_no_greeting
                    && (code == b"230" || code == b"331")
                    && !l[3].is_ascii_digit()
                {
                    self.matched |= FTP_SERVER;
                }
            }
            // irc_server_reply: /^(|.*[\n\r])(:[^ \n\r]+ )?[0-9][0-9][0-9] /
            if self.irc_state != 0xff {
                let n = self.line_count;
                self.irc_state = match (self.irc_state, c) {
                    (0, b':') if n == 1 => 1,
                    (0, d) if d.is_ascii_digit() => 11,
                    (1, b' ') if n > 2 => 10,
                    (1, _) => 1,
                    (10, d) if d.is_ascii_digit() => 11,
                    (11, d) if d.is_ascii_digit() => 12,
                    (12, d) if d.is_ascii_digit() => 13,
                    (13, b' ') => {
                        self.matched |= IRC_SERVER;
                        0xff
                    }
                    _ => 0xff,
                };
            }
        }
    }

    fn end_line(&mut self, is_orig: bool) {
        let l = &self.line[..self.line_len as usize];
        if is_orig && self.line_count > 0 {
            // irc_client1/2: USER +.+ ... NICK +.*[\r\n]  or  NICK +.+ ... USER +.+[\r\n]
            let kw = |k: &[u8], need_arg: bool| {
                l.len() > 4
                    && l[..4].eq_ignore_ascii_case(k)
                    && l[4] == b' '
                    && (!need_arg || l[4..].iter().any(|&c| c != b' '))
            };
            if kw(b"USER", true) {
                if self.irc_lines & 2 != 0 {
                    self.matched |= IRC_CLIENT;
                }
                self.irc_lines |= 1;
            }
            if kw(b"NICK", false) {
                if self.irc_lines & 1 != 0 {
                    self.matched |= IRC_CLIENT;
                }
                if kw(b"NICK", true) {
                    self.irc_lines |= 2;
                }
            }
        }
        if self.line_count > 0 {
            self.lines_done = self.lines_done.saturating_add(1);
        }
        self.line_len = 0;
        self.line_count = 0;
        self.line_body = false;
        self.irc_state = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failure table holds each needle's borders (checked naively).
    #[test]
    fn needle_failure_table_is_the_border_function() {
        for (k, n) in NEEDLES.iter().enumerate() {
            for p in 1..=n.len() {
                let border = (0..p).rev().find(|&q| n[..q] == n[p - q..p]).unwrap_or(0);
                assert_eq!(FAIL[k][p - 1] as usize, border, "needle {k} prefix {p}");
            }
        }
    }

    #[test]
    fn stop_search_finds_exactly_the_stops() {
        // Every byte, and every needle pair, at every offset around the
        // vector steps, also cut short: the search finds the first
        // position `is_stop` names, and `is_stop` is a line end or the
        // start of two bytes some needle starts with (the last byte: one).
        let starts_needle = |w: &[u8]| NEEDLES.iter().any(|n| n.starts_with(w));
        for b in 0..=255u8 {
            for next in [b'x', b'o', b'u', b'd', b'r', b'l', b'c'] {
                for at in [0usize, 5, 15, 16, 17, 31, 39, 40] {
                    let mut v = vec![b'x'; 41];
                    v[at] = b;
                    if at + 1 < v.len() {
                        v[at + 1] = next;
                    }
                    let stop = |v: &[u8], i: usize| {
                        v[i] == b'\r' || v[i] == b'\n' || starts_needle(&v[i..(i + 2).min(v.len())])
                    };
                    let want = (0..v.len()).find(|&i| stop(&v, i)).unwrap_or(v.len());
                    assert_eq!(find_stop(&v), want, "byte {b} then {next} at {at}");
                    let cut = &v[..at + 1];
                    let want = (0..cut.len()).find(|&i| stop(cut, i)).unwrap_or(cut.len());
                    assert_eq!(find_stop(cut), want, "cut after byte {b} at {at}");
                }
            }
        }
    }

    /// The skipping feed leaves exactly the state of byte-at-a-time matching.
    #[test]
    fn skipping_equals_bytewise() {
        let mut rnd = super::super::test_rng(0x9e37_79b9_7f4a_7c15);
        let words: [&[u8]; 15] = [
            b"USER bob\r\n",
            b"Duca..drdynvc",
            b"rdprdpsnd",
            b"cliprdrdynvcMcD",
            b"NICK x\r\n",
            b"Cookie: mstshash=a",
            b"Duca rdpdr",
            b":irc.example 001 nick :hi\r\n",
            b"220 ftp\r\n331 ok\r\n",
            b"McDn",
            b"HELO a\r\n",
            b"\r\n",
            b"   \t  ",
            b"GET / HTTP/1.1\r\n",
            b"+OK\r\n",
        ];
        // What the gate on the PostgreSQL head may change: nothing that
        // `Sigs::enabled` reads.
        fn observable(d: &Dir) -> Dir {
            let mut d = *d;
            if d.failed & PG_STARTUP_HEAD != 0 {
                d.matched &= !PG_STARTUP;
                d.pg_user = 0;
            }
            d
        }
        let mut startups = 0;
        for round in 0..400 {
            let mut data = Vec::new();
            if round % 4 == 0 {
                // The startup head, sometimes followed by `user\0`.
                data.extend_from_slice(b"\0\0\0\x28\0\x03\0");
            }
            if round % 8 == 0 {
                data.extend_from_slice(b"xx user\0");
            }
            while data.len() < 1500 {
                if rnd() % 3 == 0 {
                    data.extend_from_slice(words[(rnd() % words.len() as u64) as usize]);
                } else {
                    let n = (rnd() % 40) as usize;
                    // Mostly letters and blanks, some random bytes.
                    data.extend((0..n).map(|_| match rnd() % 8 {
                        0 => b' ',
                        1 => (rnd() % 256) as u8,
                        _ => b'a' + (rnd() % 26) as u8,
                    }));
                }
            }
            for is_orig in [true, false] {
                let (mut fast, mut slow) = (Dir::default(), Dir::default());
                let mut at = 0;
                while at < data.len() {
                    let n = ((rnd() % 300) as usize + 1).min(data.len() - at);
                    let seg = &data[at..at + n];
                    fast.feed(is_orig, seg);
                    // The reference: prefix patterns via feed on an empty
                    // slice after filling head, then every byte.
                    slow.feed_extra(seg, false);
                    slow.feed_head(is_orig, seg);
                    for &b in seg {
                        slow.byte(is_orig, b);
                    }
                    at += n;
                    assert_eq!(
                        observable(&fast),
                        observable(&slow),
                        "round {round} orig {is_orig} at {at}"
                    );
                }
                let both = PG_STARTUP | PG_STARTUP_HEAD;
                startups += usize::from(fast.matched & both == both);
            }
        }
        assert!(startups > 0, "no PostgreSQL startup message matched");
    }
}
