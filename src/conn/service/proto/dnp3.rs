//! DNP3 over TCP and UDP: `DNP3_Base::ProcessData`
//! (`src/analyzer/protocol/dnp3/DNP3.cc`), shared by `DNP3_TCP` (each
//! stream chunk) and `DNP3_UDP` (each datagram), one state per role.
//!
//! Each link frame: the first 11 bytes (the 10-byte link header and the
//! transport byte, `PSEUDO_APP_LAYER_INDEX`) are gathered first; then
//! `0x05 0x64` must open it, else a weird and the analyzer stops
//! (`SetSkip`, no violation); a bad header CRC is
//! `AnalyzerViolation("broken_checksum")` and stops; a good one is
//! `AnalyzerConfirmation()`, whatever the length byte. A length of 5 (no
//! transport and application data) clears the state and drops the rest of
//! the chunk (`return true`); a length of 0 stops; otherwise the frame's
//! `n` bytes are gathered (a length of 1 to 3 gives `n` below the 11 held,
//! `AddToBuffer`'s "invalid target length": stops), and `ParseAppLayer`
//! checks each 16-byte chunk's CRC (a bad one stops) and that the first
//! chunk (FIR) was seen (else stops); FIN clears the state.
//!
//! Must not: parse the application layer (its binpac exceptions, which
//! would be violations, are not modelled) or buffer more than a header.

use super::{Events, Step, What};
use crate::conn::service::Service;

/// The DNP3 link-layer CRC (CRC-16/DNP: reflected polynomial 0xA6BC, final
/// XOR), `DNP3_Base::CalcCRC`.
pub(super) fn dnp3_crc(b: &[u8]) -> u16 {
    let mut crc = CRC_INIT;
    for &x in b {
        crc = crc_step(crc, x);
    }
    !crc
}

const CRC_INIT: u16 = 0;

fn crc_step(mut crc: u16, x: u8) -> u16 {
    crc ^= u16::from(x);
    for _ in 0..8 {
        crc = if crc & 1 != 0 {
            (crc >> 1) ^ 0xa6bc
        } else {
            crc >> 1
        };
    }
    crc
}

/// The header bytes gathered before a frame is judged.
const HDR: usize = 11;

/// One role's `Endpoint`.
#[derive(Clone, Copy, Debug, Default)]
struct Dir {
    hdr: [u8; HDR],
    hdr_n: u8,
    /// In a frame's application layer (`! in_hdr`).
    in_app: bool,
    /// Bytes of the frame still to come.
    frame_left: u32,
    /// Data bytes left in the current chunk, then its 2 CRC bytes.
    chunk_left: u8,
    crc_n: u8,
    crc: u16,
    crc_got: [u8; 2],
    /// Data bytes of the frame after the current chunk.
    data_left: u32,
    /// A chunk's CRC failed (acted on once the frame is whole).
    crc_bad: bool,
    tpflags: u8,
    /// `encountered_first_chunk`.
    first_chunk: bool,
}

/// DNP3's per-connection state (both roles).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Dnp3 {
    dirs: [Dir; 2],
}

impl Dnp3 {
    pub(super) fn flip(&mut self) {
        self.dirs.swap(0, 1);
    }

    /// `ProcessData` on one chunk (TCP) or datagram (UDP) of role `dir`.
    pub(super) fn run(&mut self, s: Service, dir: usize, data: &[u8], ev: &mut Events) -> Step {
        let d = &mut self.dirs[dir];
        let mut pos = 0;
        while pos < data.len() {
            if !d.in_app {
                let n = (HDR - usize::from(d.hdr_n)).min(data.len() - pos);
                let at = usize::from(d.hdr_n);
                d.hdr[at..at + n].copy_from_slice(&data[pos..pos + n]);
                d.hdr_n += n as u8;
                pos += n;
                if usize::from(d.hdr_n) < HDR {
                    return Step::More;
                }
                let h = d.hdr;
                if h[..2] != [0x05, 0x64] {
                    // dnp3_header_lacks_magic: only a weird.
                    return Step::Done;
                }
                if u16::from_le_bytes([h[8], h[9]]) != dnp3_crc(&h[..8]) {
                    ev.push(s, What::Violation);
                    return Step::Done;
                }
                ev.push(s, What::Confirm);
                let len = u32::from(h[2]);
                if len == 5 {
                    // ClearEndpointState; the rest of the chunk is dropped.
                    *d = Dir::default();
                    return Step::More;
                }
                if len == 0 {
                    // dnp3_negative_or_zero_length_link_layer.
                    return Step::Done;
                }
                // `n`, the frame's bytes (C's division and remainder of the
                // negative `len - 5` for a length below 5).
                let data_len = len as i32 - 5;
                let n = HDR as i32 + data_len + (data_len / 16) * 2 - 1
                    + if data_len % 16 == 0 { 0 } else { 2 };
                if n < HDR as i32 {
                    // "dnp3 invalid target length" (AnalyzerError).
                    return Step::Done;
                }
                d.in_app = true;
                d.tpflags = h[10];
                d.frame_left = (n - HDR as i32) as u32;
                d.crc_bad = false;
                d.data_left = data_len.max(0) as u32;
                d.start_chunk();
                if d.data_left > 0 || d.chunk_left > 0 {
                    // The transport byte is the first chunk's first byte.
                    d.eat(h[10]);
                }
            }
            let n = (d.frame_left as usize).min(data.len() - pos);
            for &b in &data[pos..pos + n] {
                d.eat(b);
            }
            d.frame_left -= n as u32;
            pos += n;
            if d.frame_left > 0 {
                return Step::More;
            }
            // ParseAppLayer on the whole frame.
            if d.crc_bad {
                return Step::Done;
            }
            let (first, last) = (d.tpflags & 0x40 != 0, d.tpflags & 0x80 != 0);
            if first {
                d.first_chunk = true;
            } else if !d.first_chunk {
                // dnp3_first_application_layer_chunk_missing.
                return Step::Done;
            }
            let keep = d.first_chunk && !last;
            *d = Dir {
                first_chunk: keep,
                ..Dir::default()
            };
        }
        Step::More
    }
}

impl Dir {
    fn start_chunk(&mut self) {
        let n = self.data_left.min(16);
        self.chunk_left = n as u8;
        self.data_left -= n;
        self.crc = CRC_INIT;
        self.crc_n = 0;
    }

    /// One byte of the frame after its link header: chunk data, then the
    /// chunk's CRC (`CheckCRC(n, data, data + n, "app_chunk")`).
    fn eat(&mut self, b: u8) {
        if self.chunk_left > 0 {
            self.crc = crc_step(self.crc, b);
            self.chunk_left -= 1;
            return;
        }
        self.crc_got[usize::from(self.crc_n)] = b;
        self.crc_n += 1;
        if self.crc_n < 2 {
            return;
        }
        if u16::from_le_bytes(self.crc_got) != !self.crc {
            self.crc_bad = true;
        }
        if self.data_left > 0 {
            self.start_chunk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link frame: header (length from the user data), then the user
    /// data (transport byte first) in 16-byte chunks with their CRCs.
    fn frame(ctrl: u8, user: &[u8]) -> Vec<u8> {
        let mut h = vec![0x05, 0x64, (user.len() + 5) as u8, ctrl, 1, 0, 2, 0];
        let c = dnp3_crc(&h);
        h.extend(c.to_le_bytes());
        for chunk in user.chunks(16) {
            h.extend(chunk);
            h.extend(dnp3_crc(chunk).to_le_bytes());
        }
        h
    }

    fn events(d: &mut Dnp3, dir: usize, data: &[u8]) -> (Vec<What>, Step) {
        let mut ev = Events::default();
        let step = d.run(Service::Dnp3Tcp, dir, data, &mut ev);
        (ev.items[..ev.n].iter().map(|e| e.1).collect(), step)
    }

    #[test]
    fn frames_confirm_once_their_11_header_bytes_are_in() {
        let f = frame(0xc4, &[0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06]);
        let mut d = Dnp3::default();
        assert_eq!(events(&mut d, 0, &f[..10]), (vec![], Step::More));
        assert_eq!(events(&mut d, 0, &f[10..]).0, [What::Confirm]);
        // A second frame, split inside a chunk, and a long one.
        let long = frame(0x44, &[0xc1; 40]);
        assert_eq!(
            events(&mut d, 0, &f[..15]),
            (vec![What::Confirm], Step::More)
        );
        assert_eq!(events(&mut d, 0, &f[15..]), (vec![], Step::More));
        assert_eq!(events(&mut d, 1, &long).1, Step::More);
    }

    #[test]
    fn a_later_bad_header_crc_is_a_violation_a_bad_magic_is_not() {
        let f = frame(0xc4, &[0xc0, 0xc1, 0x01]);
        let mut bad = f.clone();
        bad[9] ^= 1;
        let mut d = Dnp3::default();
        let both = [f.clone(), bad].concat();
        assert_eq!(
            events(&mut d, 0, &both),
            (vec![What::Confirm, What::Violation], Step::Done)
        );
        let mut d = Dnp3::default();
        let mut nomagic = f.clone();
        nomagic[1] = 0x65;
        assert_eq!(events(&mut d, 0, &nomagic), (vec![], Step::Done));
    }

    #[test]
    fn lengths_below_six() {
        let mut d = Dnp3::default();
        // Length 5: confirmed; the rest of the chunk is dropped (even a bad
        // frame), the next chunk starts a frame.
        let f5 = frame(0x40, &[]);
        let mut bad = frame(0xc4, &[0xc0, 0xc1]);
        bad[8] ^= 1;
        let chunk = [f5.as_slice(), &[0x05], &bad].concat();
        assert_eq!(events(&mut d, 0, &chunk), (vec![What::Confirm], Step::More));
        assert_eq!(events(&mut d, 0, &bad), (vec![What::Violation], Step::Done));
        // Length 3 with a good header CRC confirms, then stops.
        let mut h = vec![0x05, 0x64, 3, 0x40, 1, 0, 2, 0];
        h.extend(dnp3_crc(&h).to_le_bytes());
        h.push(0xc0);
        let mut d = Dnp3::default();
        assert_eq!(events(&mut d, 0, &h), (vec![What::Confirm], Step::Done));
    }

    #[test]
    fn a_bad_chunk_crc_or_a_missing_first_chunk_stops_without_violation() {
        let mut f = frame(0xc4, &[0xc0, 0xc1, 0x01]);
        let last = f.len() - 1;
        f[last] ^= 1;
        let mut d = Dnp3::default();
        assert_eq!(events(&mut d, 0, &f), (vec![What::Confirm], Step::Done));
        // Transport byte without FIR (0x40).
        let f = frame(0xc4, &[0x80, 0xc1, 0x01]);
        let mut d = Dnp3::default();
        assert_eq!(events(&mut d, 0, &f), (vec![What::Confirm], Step::Done));
    }
}
