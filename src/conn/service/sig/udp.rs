//! The UDP signatures, matched per datagram: the stateless ones (DHCP,
//! QUIC, RDPEUDP, Kerberos, SIP, DTLS) and LDAP, whose
//! `requires-reverse-signature` holds across datagrams of the two
//! directions ([`UdpSigs`], 4 bytes kept inline in the service state).
//!
//! Must not keep payload bytes or grow [`UdpSigs`] past a few flags: it
//! lives in every UDP connection.

use super::prefix::{ldap_client, P};
use super::{sbit, Service};

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
