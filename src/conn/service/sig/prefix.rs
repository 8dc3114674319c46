//! The prefix patterns: signatures decided on the first `HEAD` bytes of a
//! direction (`^`-anchored fixed patterns: TLS, SSH, HTTP methods, SMTP and
//! POP3 greetings, DCE-RPC, LDAP, PostgreSQL, SMB, SOCKS, RFB, MQTT), each
//! answering [`P`] (yes, no, or more bytes needed).
//!
//! Pure functions of the bytes seen: must hold no state and know nothing of
//! lines or later bytes (those are `tcp`'s).

use super::{
    is_space, DCE_RPC, HTTP_CLIENT, HTTP_SERVER, LDAP_CLIENT, LDAP_SERVER, MQTT, PG_ANY_RESPONSE,
    PG_SSLREQ, PG_SSL_REPLY, PG_STARTUP_HEAD, POP3_SERVER, RFB, SMB, SMTP_SERVER, SOCKS4_CLIENT,
    SOCKS4_SERVER, SOCKS5_CLIENT, SOCKS5_SERVER, SSH, TLS_CLIENT, TLS_SERVER,
};

/// HTTP methods of `dpd_http_client` (`scripts/base/protocols/http/dpd.sig`;
/// QUERY, RFC 10008, added by zeek/zeek#5595, June 2026).
const HTTP_METHODS: [&[u8]; 51] = [
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
    b"QUERY",
];

/// `dpd_ldap_client_udp` / `_tcp`: `^\x30` BER length `\x02` short
/// integer, then one of `ops`.
pub(super) fn ldap_client(h: &[u8], ops: &[u8]) -> P {
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

/// Outcome of a prefix pattern on the bytes seen so far.
#[derive(PartialEq, Eq)]
pub(super) enum P {
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

pub(super) fn prefix_sig(sig: u64, is_orig: bool, h: &[u8]) -> P {
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
