//! The parsers of one connection, allocated only for the analyzers that
//! actually parse it.
//!
//! Owns which parser states exist. A parser whose state is more than a few
//! bytes gets it the first time its analyzer parses a payload of this
//! connection, and only if the analyzer then wants more (a parser that
//! rejects its first payload never allocates); the state is dropped as soon
//! as the analyzer is done or can no longer run ([`Parsers::release`]).
//! The datagram parsers' states are a few bytes inline; the stream parsers'
//! slots are one more box, created at a TCP connection's first payload. A
//! connection thus carries only what its attached or shadow-parsing
//! analyzers need (one 1,720-byte block for all of them before).
//!
//! Must not: decide attachment, confirmation or violation (the service state
//! does), or allocate more than once per analyzer and connection.

use super::{bit, finger, ftp};
use super::{
    dce_rpc, dhcp, http, irc, krb, ldap, mail, modbus, ntp, quic, rdp, rdpeudp, smb, socks, sql,
    ssh, ssl, syslog, syslog_tcp, tcp_misc, udp_misc, xmpp, Ctx, Dnp3, Dns, Events, Framed,
    LineBuf, Redis, Step,
};
use crate::conn::service::Service;

/// Runs parser `b` on one payload. A parser not created yet runs on a fresh
/// state on the stack, which is boxed only if the parser wants more.
#[inline]
fn run_boxed<T: Default>(b: &mut Option<Box<T>>, f: impl FnOnce(&mut T) -> Step) -> Step {
    run_boxed_keeping(b, |_| true, f)
}

/// [`run_boxed`], boxing the fresh state only when the parser wants more and
/// `keep` says it holds something worth keeping.
#[inline]
fn run_boxed_keeping<T: Default>(
    b: &mut Option<Box<T>>,
    keep: impl FnOnce(&T) -> bool,
    f: impl FnOnce(&mut T) -> Step,
) -> Step {
    match b {
        Some(x) => f(x),
        None => {
            let mut x = T::default();
            let step = f(&mut x);
            if step == Step::More && keep(&x) {
                *b = Some(Box::new(x));
            }
            step
        }
    }
}

/// Sets `p` to `None` when every analyzer of `mask` is in `gone`.
#[inline]
fn drop_if<T>(p: &mut Option<Box<T>>, gone: u64, mask: u64) {
    if gone & mask == mask {
        *p = None;
    }
}

/// The services that share [`Parsers::tcp_misc`].
const TCP_MISC: u64 =
    (1 << Service::Rfb as u32) | (1 << Service::Mqtt as u32) | (1 << Service::Dnp3Tcp as u32);

/// The stream parsers' states of a TCP connection (`None` = not created
/// yet, or released).
#[derive(Clone, Debug, Default)]
struct TcpParsers {
    http: Option<Box<http::Http>>,
    websocket: Option<Box<http::WebSocket>>,
    ssl: Option<Box<ssl::Ssl>>,
    ssh: Option<Box<ssh::Ssh>>,
    ftp: Option<Box<ftp::Ftp>>,
    irc: Option<Box<irc::Irc>>,
    smtp: Option<Box<mail::Smtp>>,
    pop3: Option<Box<mail::Pop3>>,
    imap: Option<Box<mail::Imap>>,
    ldap: Option<Box<ldap::Ldap>>,
    pg: Option<Box<sql::Postgres>>,
    mysql: Option<Box<sql::Mysql>>,
    krb_tcp: Option<Box<krb::KrbTcp>>,
    smb: Option<Box<smb::Smb>>,
    socks: Option<Box<socks::Socks>>,
    tcp_misc: Option<Box<tcp_misc::TcpMisc>>,
    redis: Option<Box<Redis>>,
    modbus: Option<Box<[Framed<7>; 2]>>,
    syslog_tcp: Option<Box<LineBuf<16>>>,
    dce: Option<Box<[Framed<10>; 2]>>,
    xmpp: xmpp::Xmpp,
    /// Finger's few bytes (both endpoints), inline.
    finger: finger::Finger,
    /// A content gap came before the SMTP parser's state was created: the
    /// state starts in `SMTP_AFTER_GAP` (a gap changes SMTP's default state,
    /// kept here rather than allocating it).
    smtp_gap: bool,
    rdp: Option<Box<rdp::Rdp>>,
}

impl TcpParsers {
    fn release(&mut self, gone: u64) {
        let b = bit;
        drop_if(&mut self.http, gone, b(Service::Http));
        drop_if(&mut self.websocket, gone, b(Service::Websocket));
        drop_if(&mut self.ssl, gone, b(Service::Ssl));
        drop_if(&mut self.ssh, gone, b(Service::Ssh));
        drop_if(&mut self.ftp, gone, b(Service::Ftp));
        drop_if(&mut self.irc, gone, b(Service::Irc));
        drop_if(&mut self.smtp, gone, b(Service::Smtp));
        drop_if(&mut self.pop3, gone, b(Service::Pop3));
        drop_if(&mut self.imap, gone, b(Service::Imap));
        drop_if(&mut self.ldap, gone, b(Service::LdapTcp));
        drop_if(&mut self.pg, gone, b(Service::Postgresql));
        drop_if(&mut self.mysql, gone, b(Service::Mysql));
        drop_if(&mut self.krb_tcp, gone, b(Service::KrbTcp));
        drop_if(&mut self.smb, gone, b(Service::Smb));
        drop_if(&mut self.socks, gone, b(Service::Socks));
        drop_if(&mut self.rdp, gone, b(Service::Rdp));
        drop_if(&mut self.tcp_misc, gone, TCP_MISC);
        drop_if(&mut self.redis, gone, b(Service::Redis));
        drop_if(&mut self.modbus, gone, b(Service::Modbus));
        drop_if(&mut self.syslog_tcp, gone, b(Service::SyslogTcp));
        drop_if(&mut self.dce, gone, b(Service::DceRpc));
    }

    /// Drops the state of `s` alone (its analyzer is done).
    fn release_one(&mut self, s: Service, done: u64) {
        match s {
            Service::Http => self.http = None,
            Service::Websocket => self.websocket = None,
            Service::Ssl => self.ssl = None,
            Service::Ssh => self.ssh = None,
            Service::Ftp => self.ftp = None,
            Service::Irc => self.irc = None,
            Service::Smtp => self.smtp = None,
            Service::Pop3 => self.pop3 = None,
            Service::Imap => self.imap = None,
            Service::LdapTcp => self.ldap = None,
            Service::Postgresql => self.pg = None,
            Service::Mysql => self.mysql = None,
            Service::KrbTcp => self.krb_tcp = None,
            Service::Smb => self.smb = None,
            Service::Socks => self.socks = None,
            Service::Rdp => self.rdp = None,
            Service::Rfb | Service::Mqtt | Service::Dnp3Tcp => {
                drop_if(&mut self.tcp_misc, done, TCP_MISC)
            }
            Service::Redis => self.redis = None,
            Service::Modbus => self.modbus = None,
            Service::SyslogTcp => self.syslog_tcp = None,
            Service::DceRpc => self.dce = None,
            _ => {}
        }
    }

    #[cfg(test)]
    fn boxed(&self) -> usize {
        [
            self.http.is_some(),
            self.websocket.is_some(),
            self.ssl.is_some(),
            self.ssh.is_some(),
            self.ftp.is_some(),
            self.irc.is_some(),
            self.smtp.is_some(),
            self.pop3.is_some(),
            self.imap.is_some(),
            self.ldap.is_some(),
            self.pg.is_some(),
            self.mysql.is_some(),
            self.krb_tcp.is_some(),
            self.smb.is_some(),
            self.socks.is_some(),
            self.rdp.is_some(),
            self.tcp_misc.is_some(),
            self.redis.is_some(),
            self.modbus.is_some(),
            self.syslog_tcp.is_some(),
            self.dce.is_some(),
        ]
        .iter()
        .filter(|&&x| x)
        .count()
    }

    fn flip(&mut self) {
        fn f<T>(p: &mut Option<Box<T>>, flip: impl FnOnce(&mut T)) {
            if let Some(x) = p {
                flip(x);
            }
        }
        f(&mut self.http, |x| x.flip());
        f(&mut self.websocket, |x| x.flip());
        f(&mut self.ssl, |x| x.flip());
        f(&mut self.ssh, |x| x.flip());
        f(&mut self.ftp, |x| x.flip());
        f(&mut self.irc, |x| x.flip());
        f(&mut self.smtp, |x| x.flip());
        f(&mut self.pop3, |x| x.flip());
        f(&mut self.imap, |x| x.flip());
        f(&mut self.ldap, |x| x.flip());
        f(&mut self.pg, |x| x.flip());
        f(&mut self.mysql, |x| x.flip());
        f(&mut self.krb_tcp, |x| x.flip());
        f(&mut self.smb, |x| x.flip());
        f(&mut self.socks, |x| x.flip());
        f(&mut self.rdp, |x| x.flip());
        f(&mut self.tcp_misc, |x| x.flip());
        f(&mut self.modbus, |x| x.swap(0, 1));
        f(&mut self.dce, |x| x.swap(0, 1));
        self.xmpp.flip();
        self.finger.flip();
    }

    fn gap(&mut self, d: usize, http_done: bool) {
        // HTTP remembers the gap (its state is created here if it has not
        // parsed yet), SMTP in `smtp_gap` until its state is created; for
        // the others a gap on the default state changes nothing.
        if !http_done {
            self.http.get_or_insert_with(Box::default).gap(d);
        }
        if let Some(x) = &mut self.ftp {
            x.gap(d);
        }
        if let Some(x) = &mut self.irc {
            x.gap(d);
        }
        match &mut self.smtp {
            Some(x) => x.gap(d),
            None => self.smtp_gap = true,
        }
        if let Some(x) = &mut self.pop3 {
            x.gap(d);
        }
        if let Some(x) = &mut self.smb {
            x.gap();
        }
    }

    fn run(&mut self, s: Service, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        match s {
            Service::Http => run_boxed(&mut self.http, |x| x.run(c, data, ev)),
            Service::Websocket => run_boxed(&mut self.websocket, |x| x.run(c, data, ev)),
            Service::Ssl => run_boxed(&mut self.ssl, |x| x.run(c, data, ev)),
            Service::Ssh => run_boxed(&mut self.ssh, |x| x.run(c, data, ev)),
            Service::Ftp => run_boxed(&mut self.ftp, |x| x.run(c, data, ev)),
            Service::Irc => run_boxed(&mut self.irc, |x| x.run(c, data, ev)),
            Service::Smtp => {
                let gap = std::mem::take(&mut self.smtp_gap);
                run_boxed(&mut self.smtp, |x| {
                    if gap {
                        x.gap(c.dir());
                    }
                    x.run(c, data, ev)
                })
            }
            Service::Pop3 => run_boxed(&mut self.pop3, |x| x.run(c, data, ev)),
            Service::Imap => run_boxed(&mut self.imap, |x| x.run(c, data, ev)),
            Service::Xmpp => self.xmpp.run(c, data, ev),
            Service::Finger => self.finger.run(c, data, ev),
            Service::LdapTcp => run_boxed(&mut self.ldap, |x| x.run_tcp(c, data, ev)),
            Service::Postgresql => run_boxed(&mut self.pg, |x| x.run(c, data, ev)),
            Service::Mysql => run_boxed(&mut self.mysql, |x| x.run(c, data, ev)),
            Service::KrbTcp => run_boxed(&mut self.krb_tcp, |x| x.run(c, data, ev)),
            Service::Smb => run_boxed(&mut self.smb, |x| x.run(c, data, ev)),
            Service::Socks => run_boxed(&mut self.socks, |x| x.run(c, data, ev)),
            Service::Rfb => run_boxed(&mut self.tcp_misc, |x| x.rfb(c, data, ev)),
            Service::Mqtt => run_boxed(&mut self.tcp_misc, |x| x.mqtt(c, data, ev)),
            Service::Dnp3Tcp => run_boxed(&mut self.tcp_misc, |x| x.dnp3(c, data, ev)),
            Service::Redis => run_boxed(&mut self.redis, |x| x.run(c, data, ev)),
            Service::Rdp => run_boxed(&mut self.rdp, |x| x.run(c, data, ev)),
            Service::Modbus => run_boxed(&mut self.modbus, |x| modbus(&mut x[c.dir()], data, ev)),
            Service::SyslogTcp => run_boxed(&mut self.syslog_tcp, |x| syslog_tcp(x, c, data, ev)),
            Service::DceRpc => run_boxed(&mut self.dce, |x| dce_rpc(&mut x[c.dir()], data, ev)),
            _ => Step::Done,
        }
    }
}

/// All parsers of one connection: the done set, the datagram parsers'
/// few bytes, the DNS parser (both transports; kept until the whole state is
/// dropped, as it holds the DNS question) and the stream parsers' box.
/// A created parser behaves exactly as if it had existed (in its `Default`
/// state) since the connection started: every parser's `flip` of a default
/// state is a no-op, and [`Parsers::gap`] creates the one parser (HTTP) whose
/// default state a gap changes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsers {
    done: u64,
    dns: Option<Box<Dns>>,
    tcp: Option<Box<TcpParsers>>,
    udp_misc: udp_misc::UdpMisc,
    ntp_flipped: bool,
    /// QUIC's context, DTLS's handshake reassembly and DNP3's link framing
    /// ([`Dgram`]).
    dgram: Option<Box<Dgram>>,
    rdpeudp: u8,
}

/// The datagram analyzers' states too large to hold inline, QUIC's context
/// and DTLS's handshake reassembly (both analyzers run on 443/udp), and
/// DNP3's per-role link framing (20000/udp): one box, created when one
/// first has something to keep (QUIC: its first datagram that wants more;
/// DTLS: a fragment of a handshake message; DNP3: any datagram), and
/// dropped when none can run again.
#[derive(Clone, Debug, Default)]
struct Dgram {
    quic: quic::Quic,
    dtls: ssl::Dtls,
    dnp3: Dnp3,
}

/// The services that share [`Parsers::dgram`].
const DGRAM: u64 =
    (1 << Service::Quic as u32) | (1 << Service::Dtls as u32) | (1 << Service::Dnp3Udp as u32);

impl Parsers {
    /// The first DNS question the DNS parser read (either direction).
    pub(crate) fn dns_query(&self) -> Option<crate::conn::service::DnsQuery> {
        self.dns.as_ref().and_then(|d| d.query)
    }

    pub(crate) fn is_done(&self, s: Service) -> bool {
        self.done & bit(s) != 0
    }

    /// Size of the stream parsers' slots (one box per TCP connection with
    /// payload).
    pub(crate) fn stream_slots_bytes() -> usize {
        std::mem::size_of::<TcpParsers>()
    }

    fn tcp(&mut self) -> &mut TcpParsers {
        self.tcp.get_or_insert_with(Box::default)
    }

    /// A fresh parser for `s` (a child analyzer instantiated mid-stream).
    pub(crate) fn reset(&mut self, s: Service) {
        if let Some(t) = &mut self.tcp {
            match s {
                Service::Ssl => t.ssl = None,
                Service::Websocket => t.websocket = None,
                _ => {}
            }
        }
        self.done &= !bit(s);
    }

    /// Fresh parsers for the analyzers in `fresh` (an inner stream starts:
    /// the PIA of SOCKS or RDP); the `parent` itself stays done.
    pub(crate) fn restart(&mut self, fresh: u64, parent: Service) {
        self.release(fresh | bit(parent));
        if let Some(t) = &mut self.tcp {
            // The inline states.
            if fresh & bit(Service::Xmpp) != 0 {
                t.xmpp = xmpp::Xmpp::default();
            }
            if fresh & bit(Service::Finger) != 0 {
                t.finger = finger::Finger::default();
            }
            if fresh & bit(Service::Smtp) != 0 {
                t.smtp_gap = false;
            }
        }
        self.done &= !fresh;
        self.done |= bit(parent);
    }

    /// Drops the parser states whose analyzers are all in `gone` (done, or
    /// unable to run again). The DNS state stays (its question is read at
    /// logging time).
    pub(crate) fn release(&mut self, gone: u64) {
        if let Some(d) = &mut self.dgram {
            if gone & bit(Service::Quic) != 0 {
                d.quic = quic::Quic::default();
            }
        }
        drop_if(&mut self.dgram, gone, DGRAM);
        if let Some(t) = &mut self.tcp {
            t.release(gone);
        }
    }

    /// Whether the FTP, IRC or HTTP parser's state exists (for the tests).
    #[cfg(test)]
    pub(crate) fn tcp_has(&self, s: Service) -> bool {
        self.tcp.as_ref().is_some_and(|t| match s {
            Service::Ftp => t.ftp.is_some(),
            Service::Irc => t.irc.is_some(),
            Service::Http => t.http.is_some(),
            _ => false,
        })
    }

    /// Stream parser states currently allocated, DNS included (for the tests).
    #[cfg(test)]
    pub(crate) fn boxed(&self) -> usize {
        self.tcp.as_ref().map_or(0, |t| t.boxed()) + usize::from(self.dns.is_some())
    }

    pub(crate) fn flip(&mut self) {
        if let Some(t) = &mut self.tcp {
            t.flip();
        }
        if let Some(d) = &mut self.dns {
            d.tcp.swap(0, 1);
        }
        if let Some(d) = &mut self.dgram {
            d.dtls.flip();
        }
        self.udp_misc.flip();
        // QUIC's context is keyed by role at parse time, as Zeek's is: a
        // flip does not swap it.
    }

    pub(crate) fn gap(&mut self, is_orig: bool) {
        let d = usize::from(!is_orig);
        // Binary framings cannot resync; SSL and SSH stop after any gap,
        // IMAP and XMPP stop parsing (`had_gap`); a Spicy unit (LDAP,
        // PostgreSQL, Finger, ...) meets missing data and is skipped. DNS
        // reads on: `Contents_DNS` has no `Undelivered` and `DNS_Analyzer`
        // no gap check, so the bytes after a gap continue the length or
        // message it was reading (`DNS.cc`).
        for s in [
            Service::Ssl,
            Service::Ssh,
            Service::Modbus,
            Service::DceRpc,
            Service::Rdp,
            Service::Imap,
            Service::Xmpp,
            Service::LdapTcp,
            Service::Postgresql,
            Service::Mysql,
            Service::KrbTcp,
            Service::Socks,
            Service::Rfb,
            Service::Mqtt,
            Service::Dnp3Tcp,
            Service::Websocket,
            Service::Finger,
        ] {
            self.done |= bit(s);
        }
        let http_done = self.is_done(Service::Http);
        self.tcp().gap(d, http_done);
        let done = self.done;
        self.release(done);
    }

    /// The connection closed (a FIN or RST, after its payload): Zeek calls
    /// every child analyzer's `ConnectionClosed`; of the parsers here only
    /// DNS acts on it (`Contents_DNS::Flush`).
    pub(crate) fn close(&mut self, c: &Ctx, ev: &mut Events) {
        if self.is_done(Service::Dns) {
            return;
        }
        let Some(d) = &mut self.dns else { return };
        if d.close(c, ev) == Step::Done {
            self.done |= bit(Service::Dns);
        }
    }

    pub(crate) fn run(&mut self, s: Service, c: &Ctx, data: &[u8], ev: &mut Events) {
        let step = match s {
            Service::Dtls => run_boxed_keeping(
                &mut self.dgram,
                |d| !d.dtls.idle(),
                |d| d.dtls.run(c, data, ev),
            ),
            Service::LdapUdp => ldap::run_udp(c, data, ev),
            Service::Krb => krb::run_udp(c, data, ev),
            Service::Snmp => udp_misc::snmp(c, data, ev),
            Service::Sip => udp_misc::sip(c, data, ev),
            Service::Radius => udp_misc::radius(c, data, ev),
            Service::Dnp3Udp => run_boxed(&mut self.dgram, |d| {
                udp_misc::dnp3(&mut d.dnp3, c, data, ev)
            }),
            Service::Dns => self.dns.get_or_insert_with(Box::default).run(c, data, ev),
            Service::Dhcp => dhcp(data, ev),
            Service::Ntp => ntp(&mut self.ntp_flipped, c, data, ev),
            Service::Quic => run_boxed(&mut self.dgram, |d| d.quic.run(c, data, ev)),
            Service::Rdpeudp => rdpeudp(&mut self.rdpeudp, c, data, ev),
            Service::Syslog => syslog(data, ev),
            _ => self.tcp().run(s, c, data, ev),
        };
        if step == Step::Done {
            self.done |= bit(s);
            if s == Service::Quic {
                if let Some(d) = &mut self.dgram {
                    d.quic = quic::Quic::default();
                }
            }
            let done = self.done;
            if let Some(t) = &mut self.tcp {
                t.release_one(s, done);
            }
        }
    }
}
