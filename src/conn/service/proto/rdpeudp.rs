//! RDPEUDP: the SYN / SYN+ACK / ACK handshake of RDP over UDP.
//!
//! Must not: look past the handshake's flags (RDP over TCP is `rdp.rs`).

use super::{Ctx, Events, Step, What};
use crate::conn::service::Service;

/// RDPEUDP (`src/analyzer/protocol/rdp/rdpeudp-analyzer.pac`): attached on
/// 3389/udp or by `dpd_rdpeudp_syn`. Confirms when the SYN / SYN+ACK / ACK
/// handshake completes.
pub(super) fn rdpeudp(state: &mut u8, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
    if m.len() < 8 {
        return Step::More;
    }
    let flags = u16::from_be_bytes([m[6], m[7]]);
    const SYN: u16 = 0x0001;
    const ACK: u16 = 0x0004;
    match (*state, c.is_orig) {
        (0, true) if flags & SYN != 0 && m[..4] == [0xff; 4] => *state = 1,
        (1, false) if flags & (SYN | ACK) == SYN | ACK => *state = 2,
        (2, true) if flags & ACK != 0 && flags & SYN == 0 => {
            ev.push(Service::Rdpeudp, What::Confirm);
            return Step::Done;
        }
        _ => {}
    }
    Step::More
}
