//! Small TCP protocols: RFB, MQTT, DNP3 over TCP (framing in `dnp3.rs`).

use super::dnp3::Dnp3;
use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// Per-connection state of the small TCP analyzers.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TcpMisc {
    /// RFB: client version bytes kept.
    rfb: [u8; 12],
    rfb_len: u8,
    /// MQTT: first packet bytes kept (per direction).
    mqtt: [[u8; 16]; 2],
    mqtt_len: [u8; 2],
    /// DNP3 ([`Dnp3`]).
    dnp3: Dnp3,
}

impl TcpMisc {
    pub(super) fn flip(&mut self) {
        self.mqtt.swap(0, 1);
        self.mqtt_len.swap(0, 1);
        self.dnp3.flip();
    }

    /// RFB (`src/analyzer/protocol/rfb/rfb-analyzer.pac`): only attached by
    /// `dpd_rfb_server` with `dpd_rfb_client` (both sides start with
    /// `RFB`). The client's 12-byte version banner `RFB xxx.yyy\n` confirms;
    /// a banner that does not parse is a violation.
    pub(super) fn rfb(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        if !c.is_orig {
            return Step::More;
        }
        for &b in data {
            self.rfb[usize::from(self.rfb_len)] = b;
            self.rfb_len += 1;
            if self.rfb_len == 12 {
                let v = &self.rfb;
                let ok = v[..4] == *b"RFB " && v[7] == b'.' && v[11] == b'\n';
                ev.push(
                    Service::Rfb,
                    if ok { What::Confirm } else { What::Violation },
                );
                return Step::Done;
            }
        }
        Step::More
    }

    /// MQTT (`src/analyzer/protocol/mqtt/`): attached on 1883/tcp or by
    /// `dpd_mqtt`. The client's CONNECT (packet type 1, protocol name `MQTT`
    /// or `MQIsdp`) confirms; a first packet of type 0 or 15 is a violation.
    pub(super) fn mqtt(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        for &b in data {
            let n = usize::from(self.mqtt_len[di]);
            if n >= self.mqtt[di].len() {
                break;
            }
            self.mqtt[di][n] = b;
            self.mqtt_len[di] += 1;
        }
        let h = &self.mqtt[di][..usize::from(self.mqtt_len[di])];
        let Some(&t) = h.first() else {
            return Step::More;
        };
        let ty = t >> 4;
        if ty == 0 || ty == 15 {
            ev.push(Service::Mqtt, What::Violation);
            return Step::Done;
        }
        if !c.is_orig || ty != 1 {
            return Step::More;
        }
        // Remaining length (1-4 bytes), then the protocol name.
        let mut i = 1;
        while i < h.len() && h[i] & 0x80 != 0 && i < 4 {
            i += 1;
        }
        let name = h.get(i + 1..);
        let Some(name) = name else { return Step::More };
        if name.len() < 8 {
            return Step::More;
        }
        let ok = name.starts_with(b"\x00\x04MQTT") || name.starts_with(b"\x00\x06MQIsdp");
        ev.push(
            Service::Mqtt,
            if ok { What::Confirm } else { What::Violation },
        );
        Step::Done
    }

    /// DNP3 over TCP (`DNP3_TCP`, `src/analyzer/protocol/dnp3/DNP3.cc`):
    /// attached on 20000/tcp; each stream chunk goes to
    /// `DNP3_Base::ProcessData` ([`Dnp3`]).
    pub(super) fn dnp3(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        self.dnp3.run(Service::Dnp3Tcp, c.dir(), data, ev)
    }
}
