//! pcapng: section header blocks (byte order per section), interface
//! description blocks (link type, `if_tsresol`, `if_tsoffset`), and the
//! enhanced, obsolete and simple packet blocks; other blocks are skipped.
//! Timestamps are converted and clamped here.
//!
//! Must not trust a block length: every length is checked against
//! `MAX_RECORD` and the block body before use, and bodies are read as the
//! bytes arrive.

use super::reader::io_error;
use super::{u16_at, u32_at, CaptureError, FileSource, Format, Interface, MAX_RECORD};
use crate::capture::Packet;
use crate::time::{Ts, MAX_TS, SEC};
use std::io::Read;

impl<R: Read> FileSource<R> {
    /// Reads the rest of a section header block whose 4-byte type was consumed.
    pub(super) fn read_shb_rest(&mut self, start: u64) -> Result<(), CaptureError> {
        let mut hdr = [0u8; 8];
        self.read_exact_at(&mut hdr, start, "pcapng section header")?;
        let bom = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let swapped = match bom {
            0x1a2b3c4d => false,
            0x4d3c2b1a => true,
            _ => {
                return Err(self.corrupt(start, format!("bad pcapng byte-order magic {bom:#010x}")))
            }
        };
        let total = u32_at(&hdr[0..4], swapped) as usize;
        if !(28..=MAX_RECORD).contains(&total) || total % 4 != 0 {
            return Err(self.corrupt(start, format!("bad section header length {total}")));
        }
        self.read_body(total - 12, start, "pcapng section header")?;
        self.format = Format::PcapNg {
            swapped,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    /// The next packet of a pcapng file. Blocks are parsed in place in the
    /// read-ahead buffer, as classic pcap records are: a packet's data is
    /// handed out without a copy (and can be kept by reference to its
    /// shared block), and the block is consumed at the next call. A new
    /// section header is read through the copying path (it is rare).
    pub(super) fn next_pcapng(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            // Release the block handed out or skipped last.
            self.reader.consume(std::mem::take(&mut self.pending));
            let start = self.offset;
            let n = self
                .reader
                .ensure(8)
                .map_err(|e| io_error(&self.path, start, e))?;
            if n == 0 {
                return Ok(None);
            }
            if n < 8 {
                self.offset += n as u64;
                return Err(CaptureError::Truncated {
                    file: self.path.clone(),
                    offset: start,
                    reason: format!("pcapng block header: needed 8 bytes, file ends after {n}"),
                });
            }
            let hdr = self.reader.peek();
            let hdr: [u8; 8] = std::array::from_fn(|i| hdr.get(i).copied().unwrap_or(0));
            if u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) == 0x0a0d0d0a {
                // New section: the byte order may change.
                self.reader.consume(8);
                self.offset = start + 8;
                let mut bom = [0u8; 4];
                self.read_exact_at(&mut bom, start, "pcapng section header")?;
                let bomv = u32::from_le_bytes(bom);
                let swapped = match bomv {
                    0x1a2b3c4d => false,
                    0x4d3c2b1a => true,
                    _ => {
                        return Err(self
                            .corrupt(start, format!("bad pcapng byte-order magic {bomv:#010x}")))
                    }
                };
                let total = u32_at(&hdr[4..8], swapped) as usize;
                if !(28..=MAX_RECORD).contains(&total) || total % 4 != 0 {
                    return Err(self.corrupt(start, format!("bad section header length {total}")));
                }
                self.read_body(total - 12, start, "pcapng section header")?;
                self.format = Format::PcapNg {
                    swapped,
                    interfaces: Vec::new(),
                };
                continue;
            }
            let swapped = match &self.format {
                Format::PcapNg { swapped, .. } => *swapped,
                Format::Pcap { .. } => unreachable_format(),
            };
            let btype = u32_at(&hdr[0..4], swapped);
            let total = u32_at(&hdr[4..8], swapped) as usize;
            if !(12..=MAX_RECORD).contains(&total) || total % 4 != 0 {
                return Err(self.corrupt(
                    start,
                    format!("bad pcapng block length {total} (block type {btype:#x})"),
                ));
            }
            // The whole block in the buffer (it grows only as the bytes
            // arrive: a length the file does not back allocates no more
            // than the file holds).
            let n = self
                .reader
                .ensure(total)
                .map_err(|e| io_error(&self.path, start, e))?;
            if n < total {
                self.offset += n as u64;
                self.reader.consume(n);
                return Err(CaptureError::Truncated {
                    file: self.path.clone(),
                    offset: start,
                    reason: format!(
                        "pcapng block: {} bytes expected, the file ends after {}",
                        total - 8,
                        n - 8
                    ),
                });
            }
            self.offset += total as u64;
            self.pending = total;
            self.reader.prefetch_next(total);
            let body_len = total - 12;
            match btype {
                1 => {
                    // Interface description block.
                    if body_len < 8 {
                        return Err(
                            self.corrupt(start, "interface description block too short".into())
                        );
                    }
                    let body = &self.reader.peek()[8..8 + body_len];
                    // The section's byte order (`swapped`: big-endian) decides
                    // how NFLOG's TLV headers read (`linktype::from_file`).
                    let linktype = u16_at(&body[0..2], swapped) as u32;
                    let linktype = crate::capture::linktype::from_file(linktype, swapped);
                    let (ts_units, ts_offset) = parse_idb_options(&body[8..], swapped);
                    if let Format::PcapNg { interfaces, .. } = &mut self.format {
                        interfaces.push(Interface {
                            linktype,
                            ts_units,
                            ts_offset,
                        });
                    }
                }
                6 | 2 => {
                    // Enhanced packet block (6) or obsolete packet block (2).
                    if body_len < 20 {
                        return Err(self.corrupt(start, "packet block too short".into()));
                    }
                    let body = &self.reader.peek()[8..8 + body_len];
                    let ifid = if btype == 6 {
                        u32_at(&body[0..4], swapped) as usize
                    } else {
                        u16_at(&body[0..2], swapped) as usize
                    };
                    let hi = u32_at(&body[4..8], swapped) as u64;
                    let lo = u32_at(&body[8..12], swapped) as u64;
                    let caplen = u32_at(&body[12..16], swapped) as usize;
                    let wire_len = u32_at(&body[16..20], swapped);
                    if 20 + caplen > body_len {
                        return Err(self.corrupt(
                            start,
                            format!(
                                "captured length {caplen} exceeds block body {}",
                                body_len - 20
                            ),
                        ));
                    }
                    let iface = match &self.format {
                        Format::PcapNg { interfaces, .. } => interfaces.get(ifid).copied(),
                        Format::Pcap { .. } => None,
                    };
                    let Some(iface) = iface else {
                        return Err(self.corrupt(
                            start,
                            format!("packet refers to undefined interface {ifid}"),
                        ));
                    };
                    let raw = (hi << 32) | lo;
                    let ts = units_to_ts(raw, iface.ts_units, iface.ts_offset);
                    self.packets += 1;
                    // The slice stays valid until the next call, which consumes it.
                    return Ok(Some(Packet {
                        ts,
                        wire_len: wire_len.max(caplen as u32),
                        linktype: iface.linktype,
                        data: &self.reader.peek()[8 + 20..8 + 20 + caplen],
                    }));
                }
                3 => {
                    // Simple packet block: interface 0, no timestamp.
                    if body_len < 4 {
                        return Err(self.corrupt(start, "simple packet block too short".into()));
                    }
                    let iface = match &self.format {
                        Format::PcapNg { interfaces, .. } => interfaces.first().copied(),
                        Format::Pcap { .. } => None,
                    };
                    let Some(iface) = iface else {
                        return Err(
                            self.corrupt(start, "simple packet block before any interface".into())
                        );
                    };
                    let wire_len = u32_at(&self.reader.peek()[8..12], swapped);
                    let caplen = (wire_len as usize).min(body_len - 4);
                    self.packets += 1;
                    return Ok(Some(Packet {
                        ts: Ts(0),
                        wire_len,
                        linktype: iface.linktype,
                        data: &self.reader.peek()[8 + 4..8 + 4 + caplen],
                    }));
                }
                _ => {} // Name resolution, statistics, custom blocks...: skipped.
            }
        }
    }
}

#[cold]
fn unreachable_format() -> bool {
    false
}

/// Parses `if_tsresol` (9) and `if_tsoffset` (14) from IDB options.
fn parse_idb_options(mut opts: &[u8], swapped: bool) -> (u64, i64) {
    let mut units = 1_000_000u64;
    let mut offset = 0i64;
    while opts.len() >= 4 {
        let code = u16_at(&opts[0..2], swapped);
        let len = u16_at(&opts[2..4], swapped) as usize;
        let padded = (len + 3) & !3;
        if code == 0 || opts.len() < 4 + len {
            break;
        }
        let val = &opts[4..4 + len];
        match code {
            9 if len >= 1 => {
                let r = val[0];
                let exp = (r & 0x7f) as u32;
                units = if r & 0x80 != 0 {
                    2u64.checked_pow(exp).unwrap_or(1_000_000)
                } else {
                    10u64.checked_pow(exp).unwrap_or(1_000_000)
                };
                if units == 0 {
                    units = 1_000_000;
                }
            }
            14 if len >= 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&val[0..8]);
                let v = u64::from_le_bytes(b);
                offset = if swapped { v.swap_bytes() } else { v } as i64;
            }
            _ => {}
        }
        if opts.len() < 4 + padded {
            break;
        }
        opts = &opts[4 + padded..];
    }
    (units, offset)
}

/// A pcapng timestamp (`raw` units of `1/units` s, plus `if_tsoffset`
/// seconds) as network time, clamped into `[0, MAX_TS]`: a corrupt or
/// hostile value (any `u64`, any offset) cannot overflow anything downstream.
fn units_to_ts(raw: u64, units: u64, offset_secs: i64) -> Ts {
    let units = u128::from(units.max(1));
    let raw = u128::from(raw);
    let secs = (raw / units) as i128 + i128::from(offset_secs);
    let nanos = ((raw % units) * SEC as u128 / units) as i128;
    let ns = secs * i128::from(SEC) + nanos;
    Ts(ns.clamp(0, i128::from(MAX_TS.0)) as i64)
}

/// Appends a pcapng block of type `btype` with `body` (padded to 32 bits)
/// to `v`: the test files' builder.
#[cfg(test)]
pub(super) fn test_block(v: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let total = 12 + body.len().div_ceil(4) * 4;
    v.extend_from_slice(&btype.to_le_bytes());
    v.extend_from_slice(&(total as u32).to_le_bytes());
    v.extend_from_slice(body);
    v.resize(v.len() + (total - 12 - body.len()), 0);
    v.extend_from_slice(&(total as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::test_block as block;
    use super::*;
    use crate::capture::file::reader::CHUNK;
    use std::path::Path;

    #[test]
    fn reads_pcapng_with_two_interfaces_and_tsresol() {
        let mut v = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut v, 0x0a0d0d0a, &shb);
        // Interface 0: Ethernet, microseconds. Interface 1: raw IP, nanoseconds.
        block(&mut v, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        let mut idb = vec![101, 0, 0, 0, 0, 0, 0, 0];
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        block(&mut v, 1, &idb);
        let mut epb = Vec::new();
        epb.extend_from_slice(&1u32.to_le_bytes());
        let t: u64 = 1_500_000_000_123_456_789;
        epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(t as u32).to_le_bytes());
        epb.extend_from_slice(&3u32.to_le_bytes());
        epb.extend_from_slice(&3u32.to_le_bytes());
        epb.extend_from_slice(&[0x45, 0, 0]);
        block(&mut v, 6, &epb);
        let mut src = FileSource::from_reader(Path::new("t.pcapng"), &v[..]).unwrap();
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(p.linktype, 101);
        assert_eq!(p.ts, Ts(1_500_000_000_123_456_789));
        assert_eq!(p.data, &[0x45, 0, 0]);
        assert!(src.next_packet().unwrap().is_none());
    }

    /// NFLOG interfaces: a big-endian section's packets carry
    /// `linktype::NFLOG_BE`, a little-endian one's `NFLOG`, each by its own
    /// section's byte order (a new section may change it).
    #[test]
    fn nflog_link_type_follows_the_section_byte_order() {
        use crate::capture::linktype;
        // Blocks in big-endian (`be`) or little-endian order.
        fn blk(v: &mut Vec<u8>, be: bool, btype: u32, body: &[u8]) {
            let w = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
            let total = 12 + body.len().div_ceil(4) * 4;
            v.extend_from_slice(&w(btype));
            v.extend_from_slice(&w(total as u32));
            v.extend_from_slice(body);
            v.resize(v.len() + (total - 12 - body.len()), 0);
            v.extend_from_slice(&w(total as u32));
        }
        fn section(v: &mut Vec<u8>, be: bool, frame: &[u8]) {
            let w16 = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
            let w32 = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
            let mut shb = w32(0x1a2b3c4d).to_vec();
            shb.extend_from_slice(&w16(1));
            shb.extend_from_slice(&w16(0));
            shb.extend_from_slice(&[0xff; 8]);
            blk(v, be, 0x0a0d0d0a, &shb);
            let mut idb = w16(239).to_vec();
            idb.extend_from_slice(&[0; 6]);
            blk(v, be, 1, &idb);
            let mut epb = Vec::new();
            for x in [0, 0, 5, frame.len() as u32, frame.len() as u32] {
                epb.extend_from_slice(&w32(x));
            }
            epb.extend_from_slice(frame);
            blk(v, be, 6, &epb);
        }
        let frame = [2u8, 0, 0, 0, 0, 8, 0, 1, 9, 9, 9, 9];
        let mut v = Vec::new();
        section(&mut v, true, &frame);
        section(&mut v, false, &frame);
        section(&mut v, true, &frame);
        let mut src = FileSource::from_reader(Path::new("t.pcapng"), &v[..]).unwrap();
        for want in [linktype::NFLOG_BE, linktype::NFLOG, linktype::NFLOG_BE] {
            let p = src.next_packet().unwrap().unwrap();
            assert_eq!((p.linktype, p.data), (want, &frame[..]));
        }
        assert!(src.next_packet().unwrap().is_none());
    }

    /// Fuzzing (fuzz/ target `pcapng_file`): a block length of 200 MB in a
    /// short file was allocated in full before reading. Also checks a long
    /// block read in several steps is read whole.
    #[test]
    fn lying_pcapng_block_length_allocates_only_what_the_file_holds() {
        let mut v = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut v, 0x0a0d0d0a, &shb);
        block(&mut v, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        // A packet longer than CHUNK: read in two steps.
        let big: Vec<u8> = (0..CHUNK + 1000).map(|i| i as u8).collect();
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&(big.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(big.len() as u32).to_le_bytes());
        epb.extend_from_slice(&big);
        block(&mut v, 6, &epb);
        let lying = v.len() as u64;
        v.extend_from_slice(&6u32.to_le_bytes());
        v.extend_from_slice(&200_000_000u32.to_le_bytes());
        v.extend_from_slice(&[0; 16]);
        let mut src = FileSource::from_reader(Path::new("t.pcapng"), &v[..]).unwrap();
        assert_eq!(src.next_packet().unwrap().unwrap().data, &big[..]);
        match src.next_packet() {
            Err(CaptureError::Truncated { offset, reason, .. }) => {
                assert_eq!(offset, lying);
                assert!(reason.contains("199999992 bytes expected"), "{reason}");
                assert!(reason.contains("ends after 16"), "{reason}");
            }
            other => panic!("expected truncation, got {:?}", other.map(|p| p.is_some())),
        }
        assert!(src.buf.capacity() <= 4 * CHUNK, "{}", src.buf.capacity());
    }
}
