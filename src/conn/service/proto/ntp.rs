//! NTP over UDP: message lengths by mode and the flip by mode.
//!
//! Must not: parse beyond the header length a message's mode needs.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// NTP (`src/analyzer/protocol/ntp/ntp-analyzer.pac`): attached on 123/udp
/// only. Confirms on every message that parses (48-byte standard message,
/// 12-byte control header for mode 6, 8-byte private header for mode 7);
/// flips once on a server-mode message from the originator or a
/// client-mode message from the responder. Too short is a violation.
pub(super) fn ntp(flipped: &mut bool, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if c.transport != Transport::Udp {
        return Step::Done;
    }
    let Some(&b0) = m.first() else {
        return Step::More;
    };
    let mode = b0 & 7;
    let need = match mode {
        6 => 12,
        7 => 8,
        _ => 48,
    };
    if m.len() < need {
        ev.push(Service::Ntp, What::Violation);
        return Step::Done;
    }
    ev.push(Service::Ntp, What::Confirm);
    if !*flipped && ((mode == 4 && c.is_orig) || (mode == 3 && !c.is_orig)) {
        *flipped = true;
        ev.push(Service::Ntp, What::Flip);
    }
    Step::More
}
