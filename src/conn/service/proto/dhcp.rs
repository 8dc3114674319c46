//! DHCP: a BOOTP message with the DHCP magic cookie confirms.
//!
//! Must not: keep state (each datagram is judged alone) or read the options.

use super::{Events, Step, What};
use crate::conn::service::Service;

/// DHCP (`src/analyzer/protocol/dhcp/dhcp-analyzer.pac`): attached on 67, 68,
/// 4011/udp or by `dhcp_cookie`. Confirms on every BOOTP message with the
/// DHCP magic cookie; a short message or a bad cookie is a violation.
pub(super) fn dhcp(m: &[u8], ev: &mut Events) -> Step {
    if m.len() < 240 || m[236..240] != [0x63, 0x82, 0x53, 0x63] {
        ev.push(Service::Dhcp, What::Violation);
        return Step::Done;
    }
    ev.push(Service::Dhcp, What::Confirm);
    Step::More
}
