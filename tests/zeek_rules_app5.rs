//! Zeek's rules behind conn.log's `service` found by the audit of Zeek's
//! traffic generator scripts (`testing/btest/Traces/**/*.py`, recorded in
//! `docs/ZEEK_GENERATORS.md`), each on a capture this test builds
//! (`zeek_rules/pcap.rs`) and run through the `connscope` binary. The
//! expected values are written from Zeek's source (as of `a13de64`), cited
//! at each test:
//!
//! 1. LDAP: a protocolOp whose first BER element does not fit the op
//!    (RFC 4511's IMPLICIT AbandonRequest and DelRequest, which Zeek's
//!    grammar reads as a nested element) is a parse error, so a violation
//!    that removes `ldap_tcp` / `ldap_udp` from a confirmed connection.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::by_port;
use run::conn as run;

/// An LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp }.
fn ldap_msg(id: u8, op: &[u8]) -> Vec<u8> {
    der(0x30, &cat(&[&der(0x02, &[id]), op]))
}

/// A simple BindRequest (version 3, a DN, simple credentials) and its
/// successful BindResponse: the first complete message confirms LDAP_TCP
/// (`on LDAP::Message::%done { spicy::accept_input(); }`, ldap.spicy).
fn bind_exchange() -> (Vec<u8>, Vec<u8>) {
    let req = ldap_msg(
        1,
        &der(
            0x60,
            &cat(&[
                &der(0x02, &[3]),
                &der(0x04, b"cn=admin,dc=example,dc=com"),
                &der(0x80, b"secret"),
            ]),
        ),
    );
    let resp = ldap_msg(
        1,
        &der(
            0x61,
            &cat(&[&der(0x0a, &[0]), &der(0x04, b""), &der(0x04, b"")]),
        ),
    );
    (req, resp)
}

/// `LDAP::Message` (`src/analyzer/protocol/ldap/ldap.spicy`) parses the
/// protocolOp's unit with `&size=self.opLen`; `AbandonRequest` is
/// `messageID: ASN1::ASN1Message(True)` and `DelRequest` is
/// `objectName: ASN1::ASN1Message(True)`, each a nested element
/// (`ASN1Header` = tag byte + `LengthType`, then `&size=head.len.len` bytes;
/// `asn1.spicy`). RFC 4511 encodes both IMPLICIT: `50 01 02` (abandon
/// message 2) leaves no room for a header, and `4a 24 "uid=jdoe,..."`
/// reads `u` as a tag and `i` (105) as a length past the 36-byte op. Either
/// is a parse error: the Spicy analyzer reports a violation, and within
/// `DPD::ignore_violations_after` (10 KiB) `dpd.zeek` disables the analyzer
/// and takes `ldap_tcp` out of the service field. The same requests with a
/// nested INTEGER / OCTET STRING keep it. This is Zeek at `a13de64`:
/// zeek#5859 ("ldap: Fix AbandonRequest and DelRequest parsing", opened
/// 2026-09-01 for zeek#5795) came after it. (The Zeek generators
/// `ldap/ldap-abandon.pcap.py` and `ldap/ldap-delete.pcap.py` send the
/// IMPLICIT forms after a bind.)
#[test]
fn ldap_op_whose_first_element_overruns_the_op_is_a_violation() {
    let dn: &[u8] = b"uid=jdoe,ou=People,dc=example,dc=com";
    let cases: [(u16, Vec<u8>, bool); 4] = [
        // IMPLICIT AbandonRequest: [APPLICATION 16] primitive, the id bare.
        (41000, ldap_msg(3, &[0x50, 0x01, 0x02]), false),
        // Nested INTEGER inside the abandon: parses.
        (41001, ldap_msg(3, &der(0x50, &der(0x02, &[2]))), true),
        // IMPLICIT DelRequest: [APPLICATION 10] primitive, the DN bare.
        (41002, ldap_msg(2, &der(0x4a, dn)), false),
        // Nested OCTET STRING inside the delete: parses.
        (41003, ldap_msg(2, &der(0x4a, &der(0x04, dn))), true),
    ];
    let mut cap = Cap::default();
    let (bind, bound) = bind_exchange();
    for (i, (port, op, _)) in cases.iter().enumerate() {
        let mut t = conversation(&mut cap, *port, 389);
        let base = i as u64 * 1000;
        t.handshake(base);
        let next = t.talk(base + 10, &[(true, &bind), (false, &bound), (true, op)]);
        t.close(next);
    }
    let conn = run("ldap-op-overrun", &cap, &[]);
    assert_eq!(conn.len(), 4, "{conn:#?}");
    for (port, _, keeps) in &cases {
        let r = by_port(&conn, *port);
        if *keeps {
            assert_eq!(r["service"], "ldap_tcp", "{r:#?}");
        } else {
            assert!(r.get("service").is_none(), "{r:#?}");
        }
        assert_eq!(r["history"], "ShADadFf", "{r:#?}");
    }
}

/// CLDAP (`LDAP_UDP`) runs the same `Message` unit over each datagram
/// (`ldap.evt`): a datagram holding a bind request confirms, and a later
/// IMPLICIT DelRequest is the same parse error, so `ldap_udp` goes too.
#[test]
fn cldap_op_whose_first_element_overruns_the_op_is_a_violation() {
    let (bind, _) = bind_exchange();
    let del = ldap_msg(2, &der(0x4a, b"uid=jdoe,dc=example,dc=com"));
    let mut cap = Cap::default();
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let d = |p: &[u8]| frame(Link::Eth, &udp(c, s, 42000, 389, p, UdpSum::Good));
    cap.at(0, d(&bind));
    cap.at(10, d(&del));
    let d = |p: &[u8]| frame(Link::Eth, &udp(c, s, 42001, 389, p, UdpSum::Good));
    cap.at(20, d(&bind));
    cap.at(30, d(&bind));
    let conn = run("cldap-op-overrun", &cap, &[]);
    assert!(by_port(&conn, 42000).get("service").is_none(), "{conn:#?}");
    assert_eq!(by_port(&conn, 42001)["service"], "ldap_udp", "{conn:#?}");
}
