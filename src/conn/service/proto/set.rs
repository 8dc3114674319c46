//! The parsers of one connection, allocated only for the analyzers that
//! actually parse it.
//!
//! Owns which parser states exist: a parser's state is created (its
//! `Default`) the first time its analyzer parses a payload of this
//! connection, and dropped as soon as the analyzer is done or can no longer
//! run ([`Parsers::release`]). Parsers of a few bytes live inline; the others
//! are one small box each, so a connection carries only what its attached or
//! shadow-parsing analyzers need (a 2 KiB block for all of them before).
//!
//! Must not: decide attachment, confirmation or violation (the service state
//! does), or allocate more than once per analyzer and connection.

use super::{
    dce_rpc, dhcp, http, irc, krb, ldap, mail, modbus, ntp, quic, rdp, rdpeudp, smb, sql, ssh,
    ssl, syslog, syslog_tcp, tcp_misc, udp_misc, xmpp, Ctx, Dns, Events, Framed, LineBuf, Redis,
    Step,
};
use super::{bit, ftp};
use crate::conn::service::Service;

/// The state of parser `b`, created on first use.
#[inline]
fn lazy<T: Default>(b: &mut Option<Box<T>>) -> &mut T {
    b.get_or_insert_with(Box::default)
}

/// The services that share [`Parsers::tcp_misc`].
const TCP_MISC: u64 = (1 << Service::Socks as u32)
    | (1 << Service::Rfb as u32)
    | (1 << Service::Mqtt as u32)
    | (1 << Service::Dnp3Tcp as u32);

/// All parsers of one connection: `None` = not created yet, or released.
/// A created parser behaves exactly as if it had existed (in its `Default`
/// state) since the connection started: every parser's `flip` of a default
/// state is a no-op, and [`Parsers::gap`] creates the one parser (HTTP) whose
/// default state a gap changes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsers {
    done: u64,
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
    tcp_misc: Option<Box<tcp_misc::TcpMisc>>,
    /// Kept until the whole state is dropped: it holds the DNS question.
    dns: Option<Box<Dns>>,
    redis: Option<Box<Redis>>,
    modbus: Option<Box<[Framed<7>; 2]>>,
    syslog_tcp: Option<Box<LineBuf<16>>>,
    dce: Option<Box<[Framed<10>; 2]>>,
    dtls: ssl::Dtls,
    xmpp: xmpp::Xmpp,
    udp_misc: udp_misc::UdpMisc,
    ntp_flipped: bool,
    quic: [bool; 2],
    rdp_seen: bool,
    rdpeudp: u8,
}

impl Parsers {
    /// The first DNS question the DNS parser read (either direction).
    pub(crate) fn dns_query(&self) -> Option<crate::conn::service::DnsQuery> {
        self.dns.as_ref().and_then(|d| d.query)
    }

    pub(crate) fn is_done(&self, s: Service) -> bool {
        self.done & bit(s) != 0
    }

    /// A fresh parser for `s` (a child analyzer instantiated mid-stream).
    pub(crate) fn reset(&mut self, s: Service) {
        match s {
            Service::Ssl => self.ssl = None,
            Service::Websocket => self.websocket = None,
            _ => {}
        }
        self.done &= !bit(s);
    }

    /// Drops the parser states whose analyzers are all in `gone` (done, or
    /// unable to run again). The DNS state stays (its question is read at
    /// logging time).
    pub(crate) fn release(&mut self, gone: u64) {
        fn drop_if<T>(p: &mut Option<Box<T>>, gone: u64, mask: u64) {
            if gone & mask == mask {
                *p = None;
            }
        }
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
        drop_if(&mut self.tcp_misc, gone, TCP_MISC);
        drop_if(&mut self.redis, gone, b(Service::Redis));
        drop_if(&mut self.modbus, gone, b(Service::Modbus));
        drop_if(&mut self.syslog_tcp, gone, b(Service::SyslogTcp));
        drop_if(&mut self.dce, gone, b(Service::DceRpc));
    }

    /// Parser states currently allocated (for the tests).
    #[cfg(test)]
    pub(crate) fn boxed(&self) -> usize {
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
            self.tcp_misc.is_some(),
            self.dns.is_some(),
            self.redis.is_some(),
            self.modbus.is_some(),
            self.syslog_tcp.is_some(),
            self.dce.is_some(),
        ]
        .iter()
        .filter(|&&x| x)
        .count()
    }

    pub(crate) fn flip(&mut self) {
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
        f(&mut self.tcp_misc, |x| x.flip());
        f(&mut self.dns, |x| x.tcp.swap(0, 1));
        f(&mut self.modbus, |x| x.swap(0, 1));
        f(&mut self.dce, |x| x.swap(0, 1));
        self.dtls.flip();
        self.xmpp.flip();
        self.udp_misc.flip();
        self.quic.swap(0, 1);
    }

    pub(crate) fn gap(&mut self, is_orig: bool) {
        let d = usize::from(!is_orig);
        // Binary framings cannot resync; SSL and SSH stop after any gap,
        // IMAP and XMPP stop parsing (`had_gap`).
        for s in [
            Service::Ssl,
            Service::Ssh,
            Service::Modbus,
            Service::DceRpc,
            Service::Dns,
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
        ] {
            self.done |= bit(s);
        }
        // HTTP remembers the gap (created here if it has not parsed yet);
        // for the others a gap on the default state changes nothing.
        if !self.is_done(Service::Http) {
            lazy(&mut self.http).gap(d);
        }
        if let Some(x) = &mut self.ftp {
            x.gap(d);
        }
        if let Some(x) = &mut self.irc {
            x.gap(d);
        }
        if let Some(x) = &mut self.smtp {
            x.gap(d);
        }
        if let Some(x) = &mut self.pop3 {
            x.gap(d);
        }
        if let Some(x) = &mut self.smb {
            x.gap();
        }
        let done = self.done;
        self.release(done);
    }

    pub(crate) fn run(&mut self, s: Service, c: &Ctx, data: &[u8], ev: &mut Events) {
        let step = match s {
            Service::Http => lazy(&mut self.http).run(c, data, ev),
            Service::Websocket => lazy(&mut self.websocket).run(c, data, ev),
            Service::Ssl => lazy(&mut self.ssl).run(c, data, ev),
            Service::Dtls => self.dtls.run(c, data, ev),
            Service::Ssh => lazy(&mut self.ssh).run(c, data, ev),
            Service::Ftp => lazy(&mut self.ftp).run(c, data, ev),
            Service::Irc => lazy(&mut self.irc).run(c, data, ev),
            Service::Smtp => lazy(&mut self.smtp).run(c, data, ev),
            Service::Pop3 => lazy(&mut self.pop3).run(c, data, ev),
            Service::Imap => lazy(&mut self.imap).run(c, data, ev),
            Service::Xmpp => self.xmpp.run(c, data, ev),
            Service::LdapTcp => lazy(&mut self.ldap).run_tcp(c, data, ev),
            Service::LdapUdp => ldap::run_udp(c, data, ev),
            Service::Postgresql => lazy(&mut self.pg).run(c, data, ev),
            Service::Mysql => lazy(&mut self.mysql).run(c, data, ev),
            Service::Krb => krb::run_udp(c, data, ev),
            Service::KrbTcp => lazy(&mut self.krb_tcp).run(c, data, ev),
            Service::Smb => lazy(&mut self.smb).run(c, data, ev),
            Service::Socks => lazy(&mut self.tcp_misc).socks(c, data, ev),
            Service::Rfb => lazy(&mut self.tcp_misc).rfb(c, data, ev),
            Service::Mqtt => lazy(&mut self.tcp_misc).mqtt(c, data, ev),
            Service::Dnp3Tcp => lazy(&mut self.tcp_misc).dnp3(c, data, ev),
            Service::Snmp => udp_misc::snmp(c, data, ev),
            Service::Sip => udp_misc::sip(c, data, ev),
            Service::Radius => udp_misc::radius(c, data, ev),
            Service::Dnp3Udp => self.udp_misc.dnp3(c, data, ev),
            Service::Dns => lazy(&mut self.dns).run(c, data, ev),
            Service::Dhcp => dhcp(data, ev),
            Service::Ntp => ntp(&mut self.ntp_flipped, c, data, ev),
            Service::Quic => quic(&mut self.quic, c, data, ev),
            Service::Redis => lazy(&mut self.redis).run(c, data, ev),
            Service::Rdp => rdp(&mut self.rdp_seen, c, data, ev),
            Service::Rdpeudp => rdpeudp(&mut self.rdpeudp, c, data, ev),
            Service::Modbus => modbus(&mut lazy(&mut self.modbus)[c.dir()], data, ev),
            Service::Syslog => syslog(data, ev),
            Service::SyslogTcp => syslog_tcp(lazy(&mut self.syslog_tcp), c, data, ev),
            Service::DceRpc => dce_rpc(&mut lazy(&mut self.dce)[c.dir()], data, ev),
            _ => Step::Done,
        };
        if step == Step::Done {
            self.done |= bit(s);
            let done = self.done;
            self.release(done);
        }
    }
}
