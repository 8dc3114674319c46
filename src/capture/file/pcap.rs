//! Classic pcap records: [`FileSource::next_packet`], which parses a
//! record header and hands out its data in place from the read-ahead
//! buffer (and passes pcapng on to `pcapng`). The file header is read when
//! the source is opened (`mod.rs`).
//!
//! Must not copy packet data nor allocate per packet.

use super::reader::io_error;
use super::{u32_at, CaptureError, FileSource, Format, MAX_RECORD};
use crate::capture::Packet;
use crate::time::Ts;
use std::io::Read;

impl<R: Read> FileSource<R> {
    /// Returns the next packet, `Ok(None)` at a clean end of file.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        // Release the record handed out last time.
        self.reader.consume(std::mem::take(&mut self.pending));
        match self.format {
            Format::Pcap {
                swapped,
                nanos,
                linktype,
            } => {
                let start = self.offset;
                let io = |e| io_error(&self.path, start, e);
                let n = self.reader.ensure(16).map_err(io)?;
                if n == 0 {
                    return Ok(None);
                }
                if n < 16 {
                    self.offset += n as u64;
                    return Err(CaptureError::Truncated {
                        file: self.path.clone(),
                        offset: start,
                        reason: format!(
                            "packet record header: 16 bytes expected, the file ends after {n}"
                        ),
                    });
                }
                let rec = self.reader.peek();
                let secs = u32_at(&rec[0..4], swapped) as i64;
                let frac = u32_at(&rec[4..8], swapped) as i64;
                let caplen = u32_at(&rec[8..12], swapped) as usize;
                let wire_len = u32_at(&rec[12..16], swapped);
                if caplen > MAX_RECORD {
                    return Err(self.corrupt(
                        start,
                        format!("packet record length {caplen} is implausible"),
                    ));
                }
                let n = self
                    .reader
                    .ensure(16 + caplen)
                    .map_err(|e| io_error(&self.path, self.offset, e))?;
                if n < 16 + caplen {
                    self.offset += n as u64;
                    return Err(CaptureError::Truncated {
                        file: self.path.clone(),
                        offset: start,
                        reason: format!(
                            "packet data: {caplen} bytes expected, the file ends after {}",
                            n - 16
                        ),
                    });
                }
                self.offset += (16 + caplen) as u64;
                self.packets += 1;
                let ts =
                    Ts::from_parts(secs, if nanos { frac } else { frac * 1000 }).clamp_capture();
                self.reader.prefetch_next(16 + caplen);
                let rec = self.reader.peek();
                let data = &rec[16..16 + caplen];
                // The slice stays valid until the next call, which consumes it.
                self.pending = 16 + caplen;
                Ok(Some(Packet {
                    ts,
                    wire_len: wire_len.max(caplen as u32),
                    linktype,
                    data,
                }))
            }
            Format::PcapNg { .. } => self.next_pcapng(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::reader::CHUNK;
    use std::path::Path;
    use std::sync::Arc;

    fn pcap_header(linktype: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&linktype.to_le_bytes());
        v
    }

    fn record(v: &mut Vec<u8>, secs: u32, usecs: u32, data: &[u8], wire: u32) {
        v.extend_from_slice(&secs.to_le_bytes());
        v.extend_from_slice(&usecs.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&wire.to_le_bytes());
        v.extend_from_slice(data);
    }

    /// Packets kept by reference to their shared block (as the parallel
    /// pipeline does) still read back intact after the reader moved on by
    /// several blocks: a shared block is never written again. Held blocks
    /// are released and then reused.
    #[test]
    fn shared_blocks_are_never_overwritten() {
        let mut v = pcap_header(1);
        let mut want = Vec::new();
        for i in 0..6000u32 {
            // Sizes vary so records straddle block boundaries.
            let data: Vec<u8> = (0..(100 + i % 1400)).map(|k| (k ^ i) as u8).collect();
            record(&mut v, i, 0, &data, data.len() as u32);
            want.push(data);
        }
        let mut src =
            FileSource::from_reader(Path::new("mem.pcap"), std::io::Cursor::new(v)).unwrap();
        let mut held: Vec<(usize, Arc<super::super::ReadBlock>, usize, usize)> = Vec::new();
        let mut blocks_seen = Vec::<usize>::new();
        let mut i = 0;
        while let Some(p) = src.next_packet().unwrap() {
            let (ptr, len) = (p.data.as_ptr() as usize, p.data.len());
            let blk = src.shared_block().expect("classic pcap shares its buffer");
            let base = blk.as_ptr() as usize;
            assert!(ptr >= base && ptr + len <= base + blk.len());
            if blocks_seen.last() != Some(&base) {
                blocks_seen.push(base);
            }
            held.push((i, Arc::clone(blk), ptr - base, len));
            i += 1;
            // Let go of the older half now and then: those blocks may be reused.
            if held.len() == 3000 {
                for (k, b, off, len) in held.drain(..1500) {
                    assert_eq!(&b[off..off + len], &want[k][..], "packet {k}");
                }
            }
        }
        assert_eq!(i, want.len());
        for (k, b, off, len) in &held {
            assert_eq!(&b[*off..*off + *len], &want[*k][..], "packet {k}");
        }
        assert!(blocks_seen.len() > 3, "the test should span several blocks");
        // Released blocks came back: fewer distinct buffers than switches.
        blocks_seen.sort_unstable();
        let switches = blocks_seen.len();
        blocks_seen.dedup();
        assert!(blocks_seen.len() < switches, "no block was reused");
    }

    /// A big-endian pcap file's NFLOG packets carry `linktype::NFLOG_BE`
    /// (their TLV headers are in the file's byte order), a little-endian
    /// one's `NFLOG`; other link types, known or not, are handed out as
    /// they are (Zeek reads any: an unknown one is raw IP to it). The
    /// packet bytes are not touched.
    #[test]
    fn link_types_and_the_byte_order_of_nflog() {
        use crate::capture::linktype;
        let be_file = |lt: u32, data: &[u8]| {
            let mut v = Vec::new();
            v.extend_from_slice(&0xa1b2c3d4u32.to_be_bytes());
            v.extend_from_slice(&2u16.to_be_bytes());
            v.extend_from_slice(&4u16.to_be_bytes());
            v.extend_from_slice(&[0; 8]);
            v.extend_from_slice(&65535u32.to_be_bytes());
            v.extend_from_slice(&lt.to_be_bytes());
            for w in [7u32, 0, data.len() as u32, data.len() as u32] {
                v.extend_from_slice(&w.to_be_bytes());
            }
            v.extend_from_slice(data);
            v
        };
        let frame = [2u8, 0, 0, 0, 0, 8, 0, 1, 9, 9, 9, 9];
        for (bytes, lt, want) in [
            (be_file(239, &frame), 239, linktype::NFLOG_BE),
            (be_file(1, &frame), 1, linktype::ETHERNET),
            (be_file(9999, &frame), 9999, 9999),
        ] {
            let mut src = FileSource::from_reader(Path::new("be.pcap"), &bytes[..]).unwrap();
            assert_eq!(src.linktype(), Some(want), "{lt}");
            let p = src.next_packet().unwrap().unwrap();
            assert_eq!((p.linktype, p.data), (want, &frame[..]), "{lt}");
        }
        for lt in [239, 9999, 0x0fff_ffff] {
            let mut v = pcap_header(lt);
            record(&mut v, 1, 0, &frame, frame.len() as u32);
            let mut src = FileSource::from_reader(Path::new("le.pcap"), &v[..]).unwrap();
            assert_eq!(src.next_packet().unwrap().unwrap().linktype, lt);
        }
    }

    #[test]
    fn reads_pcap_and_reports_truncation_offset() {
        let mut v = pcap_header(1);
        record(&mut v, 10, 5, &[1, 2, 3], 60);
        let second = v.len() as u64;
        record(&mut v, 11, 0, &[9; 10], 10);
        v.truncate(v.len() - 4);
        let mut src = FileSource::from_reader(Path::new("t.pcap"), &v[..]).unwrap();
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(p.ts, Ts(10_000_005_000));
        assert_eq!(p.wire_len, 60);
        assert_eq!(p.data, &[1, 2, 3]);
        match src.next_packet() {
            Err(CaptureError::Truncated { offset, .. }) => assert_eq!(offset, second),
            other => panic!(
                "expected truncation, got {:?}",
                other.map(|p| p.map(|p| p.ts))
            ),
        }
    }

    /// Fuzzing (fuzz/ target `pcap_file`): a 40-byte file whose record
    /// header claims 200 MB made the reader allocate and zero 200 MB before
    /// finding the file short. The buffer now grows with the bytes read.
    #[test]
    fn lying_pcap_record_length_allocates_only_what_the_file_holds() {
        let mut v = pcap_header(1);
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&200_000_000u32.to_le_bytes());
        v.extend_from_slice(&200_000_000u32.to_le_bytes());
        v.extend_from_slice(&[0xab; 4]);
        let mut src = FileSource::from_reader(Path::new("t.pcap"), &v[..]).unwrap();
        match src.next_packet() {
            Err(CaptureError::Truncated { offset, reason, .. }) => {
                assert_eq!(offset, 24);
                assert!(reason.contains("200000000 bytes expected"), "{reason}");
            }
            other => panic!("expected truncation, got {:?}", other.map(|p| p.is_some())),
        }
        assert!(src.reader.buf.len() <= CHUNK, "{}", src.reader.buf.len());
    }
}
