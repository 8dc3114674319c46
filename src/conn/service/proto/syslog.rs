//! Syslog over UDP and over TCP (octet-counted or newline-framed): the
//! `<PRI>` at a message's start.
//!
//! Must not: parse beyond a message's `<PRI>`.

use super::{Ctx, Events, LineBuf, Step, What};
use crate::conn::service::Service;

/// Syslog over UDP: at `a13de64` the Spicy analyzer
/// (`src/analyzer/protocol/syslog/syslog.spicy`, `syslog.evt`: `protocol
/// analyzer Syslog over UDP: parse with Syslog::Message`; the binpac one
/// lives on in `syslog/legacy/` and is not the default, issue zeek#4766
/// lists both in 2025-09), attached on 514/udp. `Message` is `switch { ->
/// prio: Priority; -> : void; }` then `msg: bytes &eod`, and its `%done`
/// calls `spicy::accept_input()`: the priority is optional, so every
/// datagram confirms, whether it starts with `<PRI>` or not (the defaults
/// 999 are "per legacy analyzer", whose `Syslog_Message_Optional_PRI` took
/// anything too). Only a datagram that starts with `<` but is not `<digits>`
/// (`Priority`: `b"<"`, `/[[:digit:]]+/`, `b">"`) fails to parse: a
/// violation.
pub(super) fn syslog(m: &[u8], ev: &mut Events) -> Step {
    if m.first() != Some(&b'<') || syslog_pri(m) == Some(true) {
        ev.push(Service::Syslog, What::Confirm);
        Step::More
    } else {
        ev.push(Service::Syslog, What::Violation);
        Step::Done
    }
}

/// `<digits>` at the start: `Some(true)` valid, `None` incomplete.
fn syslog_pri(m: &[u8]) -> Option<bool> {
    if *m.first()? != b'<' {
        return Some(false);
    }
    let n = m[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    match m.get(1 + n) {
        None => None,
        Some(b'>') => Some(n > 0),
        Some(_) => Some(false),
    }
}

/// Syslog over TCP (`syslog_tcp`, attached on 514/tcp): octet-counted
/// (`LEN <PRI>...`) or newline-framed messages; confirms on the first
/// message's `<PRI>`, a bad start is a violation.
pub(super) fn syslog_tcp(lb: &mut LineBuf<16>, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
    if !c.is_orig {
        return Step::More;
    }
    for &b in data {
        if (lb.total as usize) < 16 {
            lb.buf[lb.total as usize] = b;
            lb.total += 1;
        }
    }
    let h = lb.line();
    let digits = h.iter().take_while(|b| b.is_ascii_digit()).count();
    let msg = if digits > 0 && h.get(digits) == Some(&b' ') {
        &h[digits + 1..]
    } else {
        h
    };
    match syslog_pri(msg) {
        Some(true) => {
            ev.push(Service::SyslogTcp, What::Confirm);
            Step::Done
        }
        Some(false) => {
            ev.push(Service::SyslogTcp, What::Violation);
            Step::Done
        }
        None if h.len() == 16 => Step::Done,
        None => Step::More,
    }
}
