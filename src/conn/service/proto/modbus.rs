//! Modbus/TCP: length-framed PDUs with a zero protocol id.
//!
//! Must not: parse function codes (each complete PDU confirms).

use super::{Events, Framed, Step};
use crate::conn::service::Service;

/// Modbus/TCP (`src/analyzer/protocol/modbus/modbus-analyzer.pac`): attached
/// on 502/tcp only. Confirms on every complete PDU; a non-zero protocol id
/// or a length below 2 is a violation.
pub(super) fn modbus(f: &mut Framed<7>, data: &[u8], ev: &mut Events) -> Step {
    f.run(data, Service::Modbus, ev, |h| {
        let pid = u16::from_be_bytes([h[2], h[3]]);
        let len = u32::from(u16::from_be_bytes([h[4], h[5]]));
        if pid != 0 || len < 2 {
            None
        } else {
            Some(len - 1)
        }
    })
}
