//! The analyzer names and sets: [`Service`] (one per Zeek analyzer this
//! crate knows, named as conn.log's `service` names it) and [`ServiceSet`]
//! (a bit set of them, with the analyzers each script package loads
//! together).
//!
//! Must not: hold per-connection state or parse payload.

/// An application protocol analyzer, named as Zeek names it in `service`
/// (the analyzer's name, lower-cased: `Analyzer::name` in
/// `base/frameworks/analyzer/main.zeek`, written by `dpd.zeek`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Service {
    /// HTTP.
    Http,
    /// SSL/TLS (Zeek logs `ssl`).
    Ssl,
    /// DNS (also NetBIOS name service and mDNS/LLMNR, as Zeek does).
    Dns,
    /// SSH.
    Ssh,
    /// FTP control channel.
    Ftp,
    /// FTP data channel (from an expectation raised by the control channel).
    FtpData,
    /// SMTP.
    Smtp,
    /// POP3.
    Pop3,
    /// IRC.
    Irc,
    /// DHCP.
    Dhcp,
    /// NTP.
    Ntp,
    /// QUIC.
    Quic,
    /// Redis (RESP).
    Redis,
    /// RDP.
    Rdp,
    /// RDP over UDP.
    Rdpeudp,
    /// Modbus/TCP.
    Modbus,
    /// Syslog (UDP).
    Syslog,
    /// Syslog over TCP (Zeek logs `syslog_tcp`); enabled together with [`Service::Syslog`].
    SyslogTcp,
    /// DCE/RPC (Zeek logs `dce_rpc`).
    DceRpc,
    /// IRC DCC file transfer (from an expectation raised by the IRC channel).
    IrcDccData,
    /// VXLAN tunnel (packet analyzer; confirmed by the engine).
    Vxlan,
    /// Geneve tunnel (packet analyzer; confirmed by the engine).
    Geneve,
    /// Teredo tunnel (packet analyzer; confirmed by the engine).
    Teredo,
    /// AYIYA tunnel (packet analyzer; confirmed by the engine).
    Ayiya,
    /// GTPv1 tunnel (packet analyzer; confirmed by the engine).
    Gtpv1,
    /// IMAP.
    Imap,
    /// XMPP.
    Xmpp,
    /// LDAP over TCP (Spicy analyzer `LDAP_TCP`).
    LdapTcp,
    /// Connectionless LDAP over UDP (Spicy analyzer `LDAP_UDP`).
    LdapUdp,
    /// PostgreSQL (Spicy analyzer `PostgreSQL`).
    Postgresql,
    /// MySQL.
    Mysql,
    /// Kerberos over UDP (analyzer `KRB`).
    Krb,
    /// Kerberos over TCP (analyzer `KRB_TCP`).
    KrbTcp,
    /// SMB (v1 and v2/3).
    Smb,
    /// GSSAPI (a child of SMB, DCE/RPC, LDAP, HTTP; no port, no signature).
    Gssapi,
    /// NTLM (a child of SMB, GSSAPI, DCE/RPC; no port, no signature).
    Ntlm,
    /// SOCKS v4/v5.
    Socks,
    /// RFB (VNC).
    Rfb,
    /// MQTT.
    Mqtt,
    /// DNP3 over TCP (analyzer `DNP3_TCP`).
    Dnp3Tcp,
    /// DNP3 over UDP (analyzer `DNP3_UDP`).
    Dnp3Udp,
    /// SNMP.
    Snmp,
    /// SIP (over UDP).
    Sip,
    /// RADIUS.
    Radius,
    /// DTLS (analyzer `DTLS`, loaded with the SSL scripts).
    Dtls,
    /// WebSocket (a child of HTTP after `101 Switching Protocols`).
    Websocket,
    /// Finger (Spicy analyzer `Finger`).
    Finger,
}

/// Number of [`Service`] variants.
pub const SERVICE_COUNT: usize = 47;

impl Service {
    /// Every analyzer, in declaration order.
    pub const ALL: [Service; SERVICE_COUNT] = [
        Service::Http,
        Service::Ssl,
        Service::Dns,
        Service::Ssh,
        Service::Ftp,
        Service::FtpData,
        Service::Smtp,
        Service::Pop3,
        Service::Irc,
        Service::Dhcp,
        Service::Ntp,
        Service::Quic,
        Service::Redis,
        Service::Rdp,
        Service::Rdpeudp,
        Service::Modbus,
        Service::Syslog,
        Service::SyslogTcp,
        Service::DceRpc,
        Service::IrcDccData,
        Service::Vxlan,
        Service::Geneve,
        Service::Teredo,
        Service::Ayiya,
        Service::Gtpv1,
        Service::Imap,
        Service::Xmpp,
        Service::LdapTcp,
        Service::LdapUdp,
        Service::Postgresql,
        Service::Mysql,
        Service::Krb,
        Service::KrbTcp,
        Service::Smb,
        Service::Gssapi,
        Service::Ntlm,
        Service::Socks,
        Service::Rfb,
        Service::Mqtt,
        Service::Dnp3Tcp,
        Service::Dnp3Udp,
        Service::Snmp,
        Service::Sip,
        Service::Radius,
        Service::Dtls,
        Service::Websocket,
        Service::Finger,
    ];

    /// The name Zeek writes in conn.log's `service`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Http => "http",
            Service::Ssl => "ssl",
            Service::Dns => "dns",
            Service::Ssh => "ssh",
            Service::Ftp => "ftp",
            Service::FtpData => "ftp-data",
            Service::Smtp => "smtp",
            Service::Pop3 => "pop3",
            Service::Irc => "irc",
            Service::Dhcp => "dhcp",
            Service::Ntp => "ntp",
            Service::Quic => "quic",
            Service::Redis => "redis",
            Service::Rdp => "rdp",
            Service::Rdpeudp => "rdpeudp",
            Service::Modbus => "modbus",
            Service::Syslog => "syslog",
            Service::SyslogTcp => "syslog_tcp",
            Service::DceRpc => "dce_rpc",
            Service::IrcDccData => "irc-dcc-data",
            Service::Vxlan => "vxlan",
            Service::Geneve => "geneve",
            Service::Teredo => "teredo",
            Service::Ayiya => "ayiya",
            Service::Gtpv1 => "gtpv1",
            Service::Imap => "imap",
            Service::Xmpp => "xmpp",
            Service::LdapTcp => "ldap_tcp",
            Service::LdapUdp => "ldap_udp",
            Service::Postgresql => "postgresql",
            Service::Mysql => "mysql",
            Service::Krb => "krb",
            Service::KrbTcp => "krb_tcp",
            Service::Smb => "smb",
            Service::Gssapi => "gssapi",
            Service::Ntlm => "ntlm",
            Service::Socks => "socks",
            Service::Rfb => "rfb",
            Service::Mqtt => "mqtt",
            Service::Dnp3Tcp => "dnp3_tcp",
            Service::Dnp3Udp => "dnp3_udp",
            Service::Snmp => "snmp",
            Service::Sip => "sip",
            Service::Radius => "radius",
            Service::Dtls => "dtls",
            Service::Websocket => "websocket",
            Service::Finger => "finger",
        }
    }

    /// Parses a Zeek analyzer or script package name (`http`, `ssl`,
    /// `ftp-data`, `dce-rpc`, `ldap`, `krb`, ...). A package that loads
    /// several analyzers names its first; [`ServiceSet::insert_package`]
    /// adds the others.
    pub fn from_name(s: &str) -> Option<Service> {
        let s = s.to_ascii_lowercase();
        let s = match s.as_str() {
            "tls" => "ssl",
            "dce-rpc" => "dce_rpc",
            "spicy_redis" => "redis",
            "ldap" => "ldap_tcp",
            "dnp3" => "dnp3_tcp",
            "kerberos" => "krb",
            other => other,
        };
        Service::ALL.iter().copied().find(|x| x.name() == s)
    }

    pub(super) fn bit(self) -> u64 {
        1u64 << (self as u32)
    }
}

/// A set of services (bit per [`Service`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceSet(pub u64);

impl ServiceSet {
    /// Every analyzer (Zeek's default mode).
    pub fn all() -> Self {
        ServiceSet((1u64 << SERVICE_COUNT) - 1)
    }
    /// No analyzer (Zeek's bare mode without protocol scripts).
    pub fn none() -> Self {
        ServiceSet(0)
    }
    /// Whether `s` is in the set.
    pub fn contains(self, s: Service) -> bool {
        self.0 & s.bit() != 0
    }
    /// Adds `s`.
    pub fn insert(&mut self, s: Service) {
        self.0 |= s.bit();
    }
    /// Adds `s` and every analyzer its script package registers with it
    /// (`base/protocols/<pkg>/main.zeek`): syslog also `syslog_tcp`, rdp
    /// also `rdpeudp`, ssl also `dtls`, ldap both `ldap_tcp` and
    /// `ldap_udp`, krb both `krb` and `krb_tcp`, dnp3 both transports,
    /// websocket also `http` (the package `@load`s `base/protocols/http`).
    pub fn insert_package(&mut self, s: Service) {
        self.insert(s);
        for &(a, b) in PACKAGE_MEMBERS {
            if s == a {
                self.insert(b);
            }
        }
    }
    /// The set with every package member added ([`Self::insert_package`]).
    pub fn with_package_members(self) -> Self {
        let mut out = self;
        for &(a, b) in PACKAGE_MEMBERS {
            if self.contains(a) {
                out.insert(b);
            }
        }
        out
    }
}

/// Analyzers one script package registers together.
const PACKAGE_MEMBERS: &[(Service, Service)] = &[
    (Service::Syslog, Service::SyslogTcp),
    (Service::Rdp, Service::Rdpeudp),
    (Service::Ssl, Service::Dtls),
    (Service::LdapTcp, Service::LdapUdp),
    (Service::Krb, Service::KrbTcp),
    (Service::KrbTcp, Service::Krb),
    (Service::Dnp3Tcp, Service::Dnp3Udp),
    // `base/protocols/websocket/main.zeek` starts with `@load
    // base/protocols/http`: loading WebSocket loads HTTP (its ports and
    // signatures), the only way a WebSocket upgrade is ever seen.
    (Service::Websocket, Service::Http),
];
