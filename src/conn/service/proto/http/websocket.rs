//! WebSocket, the child analyzer HTTP hands an upgraded stream to.

use super::super::{Ctx, Events, Step, What};
use crate::conn::service::Service;

/// WebSocket (`src/analyzer/protocol/websocket/`, BinPAC by default:
/// `WebSocket::use_spicy_analyzer = F`): only ever a child of HTTP.
/// `websocket-protocol.pac` parses each direction as a sequence of
/// messages: a first frame, then (while no frame had FIN) continuation
/// frames, each with its whole payload. `process_message`
/// (`websocket-analyzer.pac`, a `&let` of `WebSocket_Message`) confirms
/// once a whole message has been parsed, so a message cut off by the end
/// of the connection confirms nothing. The frame header's `&enforce` is the
/// one check: a first frame with opcode 0 (continuation), or a
/// continuation frame with another opcode, throws, which
/// `WebSocket_Analyzer::DeliverStream` reports as a violation. Other
/// opcodes and the reserved bits (RSV1 of `permessage-deflate`) are not
/// checked.
#[derive(Clone, Copy, Debug, Default)]
pub(in super::super) struct WebSocket {
    d: [WsDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct WsDir {
    hdr: [u8; 14],
    hlen: u8,
    /// Payload bytes of the current frame still to come.
    skip: u64,
    /// A message's first frame had no FIN: the next frames continue it.
    in_msg: bool,
    /// The current frame has FIN: its payload ends the message.
    fin: bool,
}

impl WebSocket {
    pub(in super::super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(in super::super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        let d = &mut self.d[c.dir()];
        let mut pos = 0;
        while pos < data.len() {
            if d.skip > 0 {
                let n = (d.skip.min((data.len() - pos) as u64)) as usize;
                pos += n;
                d.skip -= n as u64;
                if d.skip == 0 && d.fin {
                    // The message's last payload byte.
                    ev.push(Service::Websocket, What::Confirm);
                }
                continue;
            }
            d.hdr[d.hlen as usize] = data[pos];
            d.hlen += 1;
            pos += 1;
            let h = &d.hdr[..d.hlen as usize];
            if h.len() < 2 {
                continue;
            }
            // `first2: uint16 &enforce((first_frame && opcode != 0) ||
            // (!first_frame && opcode == 0))`.
            let opcode = h[0] & 0x0f;
            if (opcode == 0) != d.in_msg {
                ev.push(Service::Websocket, What::Violation);
                return Step::Done;
            }
            let masked = h[1] & 0x80 != 0;
            let len7 = h[1] & 0x7f;
            let ext = match len7 {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let need = 2 + ext + if masked { 4 } else { 0 };
            if h.len() < need {
                continue;
            }
            let len = match ext {
                0 => u64::from(len7),
                2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                _ => h[2..10].iter().fold(0u64, |a, &b| a << 8 | u64::from(b)),
            };
            d.fin = h[0] & 0x80 != 0;
            d.in_msg = !d.fin;
            d.hlen = 0;
            d.skip = len;
            if len == 0 && d.fin {
                ev.push(Service::Websocket, What::Confirm);
            }
        }
        Step::More
    }
}
