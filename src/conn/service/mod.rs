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

/// An application protocol analyzer, named as Zeek names it in `service`.
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
    /// Syslog.
    Syslog,
}

/// Number of [`Service`] variants.
pub const SERVICE_COUNT: usize = 17;

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
        }
    }

    /// Parses a Zeek analyzer or script name (`http`, `ssl`, `ftp-data`, ...).
    pub fn from_name(s: &str) -> Option<Service> {
        let s = s.to_ascii_lowercase();
        Service::ALL.iter().copied().find(|x| x.name() == s || (s == "tls" && *x == Service::Ssl))
    }
}

/// A set of services (bit per [`Service`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceSet(pub u32);

impl ServiceSet {
    /// Every analyzer (Zeek's default mode).
    pub fn all() -> Self {
        ServiceSet((1u32 << SERVICE_COUNT) - 1)
    }
    /// No analyzer (Zeek's bare mode without protocol scripts).
    pub fn none() -> Self {
        ServiceSet(0)
    }
    /// Whether `s` is in the set.
    pub fn contains(self, s: Service) -> bool {
        self.0 & (1 << s as u32) != 0
    }
    /// Adds `s`.
    pub fn insert(&mut self, s: Service) {
        self.0 |= 1 << s as u32;
    }
}
