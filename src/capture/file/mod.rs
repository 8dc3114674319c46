//! Capture-file reader for classic pcap and pcapng.
//!
//! Owns the file formats only: it yields packets with their link type and
//! timestamp, and on malformed input returns a [`CaptureError`] that names the
//! file, the byte offset and the reason. It does not decode packets. A
//! regular file is mapped and its packets handed out in place (no copy); a
//! pipe or FIFO is read into reused buffers: nothing is allocated per
//! packet.
//!
//! Files: `error` ([`CaptureError`], shared by every capture source),
//! `block` ([`ReadBlock`]: the bytes packets lie in, a heap buffer or the
//! whole file mapped), `reader` (the reference-counted read-ahead buffer
//! and the stop-aware open and read), `pcap` (classic pcap records, parsed in place: the
//! [`FileSource::next_packet`] hot path), `pcapng` (blocks, sections,
//! interfaces and their timestamp units). This file holds [`FileSource`]:
//! opening, telling the two formats apart by their magic, and the record
//! reads both formats share; it must not parse records of either format.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod block;
mod error;
mod pcap;
mod pcapng;
mod reader;

pub use block::ReadBlock;
pub use error::CaptureError;
use reader::{io_error, open_interruptible, read_full, Chunks, CHUNK};

/// Largest record we accept (pcapng blocks and pcap snaplens above this are corrupt).
const MAX_RECORD: usize = 256 * 1024 * 1024;

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    ts_units: u64,
    /// pcapng `if_tsoffset`, seconds.
    ts_offset: i64,
}

enum Format {
    Pcap {
        swapped: bool,
        nanos: bool,
        linktype: u32,
    },
    PcapNg {
        swapped: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads packets from a pcap or pcapng file (or any reader).
pub struct FileSource<R: Read = File> {
    path: PathBuf,
    reader: Chunks<R>,
    offset: u64,
    format: Format,
    buf: Vec<u8>,
    /// Bytes of the read buffer still lent out as the last packet.
    pending: usize,
    /// Number of packets returned so far.
    pub packets: u64,
}

impl FileSource<File> {
    /// Opens a capture file: a regular file is mapped (its packets are read
    /// in place, no copy), anything else is read.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let f = File::open(path).map_err(|e| CaptureError::Io {
            file: path.to_path_buf(),
            source: e,
        })?;
        FileSource::from_file(path, f, None)
    }

    /// A mapped `f` when it maps, else `f` read with `stop`.
    fn from_file(
        path: &Path,
        f: File,
        stop: Option<Arc<AtomicBool>>,
    ) -> Result<Self, CaptureError> {
        match ReadBlock::map(&f) {
            Some(map) => FileSource::from_chunks(path, Chunks::mapped(f, map)),
            None => FileSource::from_reader_stoppable(path, f, stop),
        }
    }

    /// As [`open`](Self::open), with a stop flag (see
    /// [`from_reader_stoppable`](Self::from_reader_stoppable)). Opening a
    /// FIFO waits for its writer; a stop requested meanwhile (with the
    /// handler installed without `SA_RESTART`) is [`CaptureError::Stopped`].
    pub fn open_stoppable(path: &Path, stop: Arc<AtomicBool>) -> Result<Self, CaptureError> {
        let f = open_interruptible(path, &stop).map_err(|e| io_error(path, 0, e))?;
        FileSource::from_file(path, f, Some(stop))
    }
}

fn u16_at(b: &[u8], swapped: bool) -> u16 {
    let v = u16::from_le_bytes([b[0], b[1]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

fn u32_at(b: &[u8], swapped: bool) -> u32 {
    let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

impl<R: Read> FileSource<R> {
    /// Starts reading from `reader`; `path` is used in error messages.
    pub fn from_reader(path: &Path, reader: R) -> Result<Self, CaptureError> {
        Self::from_reader_stoppable(path, reader, None)
    }

    /// As [`from_reader`](Self::from_reader); once `stop` is set, a read
    /// that waits for bytes (a stalled pipe) ends with
    /// [`CaptureError::Stopped`] instead of waiting on. For the reader to
    /// wake while blocked, the stopping signal's handler must be installed
    /// without `SA_RESTART`.
    pub fn from_reader_stoppable(
        path: &Path,
        reader: R,
        stop: Option<Arc<AtomicBool>>,
    ) -> Result<Self, CaptureError> {
        FileSource::from_chunks(path, Chunks::new(reader, stop))
    }

    /// Starts reading the bytes `reader` gives.
    fn from_chunks(path: &Path, mut reader: Chunks<R>) -> Result<Self, CaptureError> {
        let path = path.to_path_buf();
        let mut head = [0u8; 4];
        let n = read_full(&mut reader, &mut head).map_err(|e| io_error(&path, 0, e))?;
        if n < 4 {
            return Err(CaptureError::Truncated {
                file: path,
                offset: 0,
                reason: format!("file is {n} bytes long, too short for a capture header"),
            });
        }
        let magic = u32::from_le_bytes(head);
        let mut src = FileSource {
            path,
            reader,
            offset: 4,
            format: Format::Pcap {
                swapped: false,
                nanos: false,
                linktype: 0,
            },
            buf: Vec::with_capacity(65536),
            pending: 0,
            packets: 0,
        };
        match magic {
            0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 => {
                let swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
                let nanos = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
                let mut rest = [0u8; 20];
                src.read_exact_at(&mut rest, 0, "pcap file header")?;
                let major = u16_at(&rest[0..2], swapped);
                if major != 2 {
                    return Err(src.corrupt(4, format!("unsupported pcap version {major}")));
                }
                // `swapped`: the file is big-endian (see `linktype::from_file`).
                let linktype = u32_at(&rest[16..20], swapped) & 0x0fff_ffff;
                let linktype = crate::capture::linktype::from_file(linktype, swapped);
                src.format = Format::Pcap {
                    swapped,
                    nanos,
                    linktype,
                };
            }
            0x0a0d0d0a => {
                src.format = Format::PcapNg {
                    swapped: false,
                    interfaces: Vec::new(),
                };
                src.read_shb_rest(0)?;
            }
            _ => {
                return Err(CaptureError::NotCapture {
                    file: src.path,
                    magic: u32::from_be_bytes(head),
                })
            }
        }
        Ok(src)
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reference-counted read buffer the last packet lies in (both
    /// formats hand out packets in place). A holder may keep it: the
    /// reader never writes a shared buffer again.
    pub fn shared_block(&self) -> Option<&Arc<ReadBlock>> {
        Some(&self.reader.buf)
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The link type of a classic pcap file, or of the first pcapng interface
    /// (as packets carry it: [`crate::capture::linktype::from_file`]).
    pub fn linktype(&self) -> Option<u32> {
        match &self.format {
            Format::Pcap { linktype, .. } => Some(*linktype),
            Format::PcapNg { interfaces, .. } => interfaces.first().map(|i| i.linktype),
        }
    }

    fn corrupt(&self, offset: u64, reason: String) -> CaptureError {
        CaptureError::Corrupt {
            file: self.path.clone(),
            offset,
            reason,
        }
    }

    /// Reads exactly `out.len()` bytes; `rec_start` is the offset named on truncation.
    fn read_exact_at(
        &mut self,
        out: &mut [u8],
        rec_start: u64,
        what: &str,
    ) -> Result<(), CaptureError> {
        let n =
            read_full(&mut self.reader, out).map_err(|e| io_error(&self.path, self.offset, e))?;
        self.offset += n as u64;
        if n < out.len() {
            return Err(CaptureError::Truncated {
                file: self.path.clone(),
                offset: rec_start,
                reason: format!(
                    "{what}: {} bytes expected, the file ends after {n}",
                    out.len()
                ),
            });
        }
        Ok(())
    }

    /// Fills `self.buf` with `len` bytes. The buffer grows as the bytes
    /// arrive (doubling from `CHUNK`), so a block length that the file does
    /// not back allocates no more than the file holds.
    fn read_body(&mut self, len: usize, rec_start: u64, what: &str) -> Result<(), CaptureError> {
        self.buf.clear();
        let mut buf = std::mem::take(&mut self.buf);
        let mut got = 0;
        let r = loop {
            if got == len {
                break Ok(());
            }
            let step = (len - got).min(got.max(CHUNK));
            buf.resize(got + step, 0);
            let n = match read_full(&mut self.reader, &mut buf[got..]) {
                Ok(n) => n,
                Err(e) => break Err(io_error(&self.path, self.offset, e)),
            };
            self.offset += n as u64;
            got += n;
            if n < step {
                break Err(CaptureError::Truncated {
                    file: self.path.clone(),
                    offset: rec_start,
                    reason: format!("{what}: {len} bytes expected, the file ends after {got}"),
                });
            }
        };
        self.buf = buf;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_capture() {
        let data = b"hello world, not a pcap";
        let e = FileSource::from_reader(Path::new("x.txt"), &data[..])
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a pcap or pcapng file"), "{e}");
        let e = FileSource::from_reader(Path::new("x.txt"), &b"ab"[..])
            .err()
            .unwrap();
        assert!(e.to_string().contains("offset 0"), "{e}");
    }

    /// Everything a source yields: each packet, then how it ended.
    fn drain<R: Read>(src: Result<FileSource<R>, CaptureError>) -> Vec<String> {
        let mut src = match src {
            Ok(s) => s,
            Err(e) => return vec![format!("open: {e}")],
        };
        let mut out = Vec::new();
        loop {
            match src.next_packet() {
                Ok(Some(p)) => out.push(format!(
                    "{} {} {} {:?}",
                    p.ts.0, p.wire_len, p.linktype, p.data
                )),
                Ok(None) => return out,
                Err(e) => {
                    out.push(format!("error: {e} (next offset {})", src.offset()));
                    return out;
                }
            }
        }
    }

    /// A small pcapng: section header, one Ethernet interface, packets of
    /// growing size (enhanced and simple packet blocks).
    fn pcapng_bytes() -> Vec<u8> {
        use super::pcapng::test_block as block;
        let mut v = Vec::new();
        let mut shb = 0x1a2b3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut v, 0x0a0d0d0a, &shb);
        block(&mut v, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        for i in 0..40u32 {
            let data: Vec<u8> = (0..i * 37).map(|k| (k ^ i) as u8).collect();
            let mut b = Vec::new();
            if i % 5 == 4 {
                b.extend_from_slice(&(data.len() as u32 + 3).to_le_bytes());
                b.extend_from_slice(&data);
                block(&mut v, 3, &b);
            } else {
                for w in [0, 0, 1_000_000 + i, data.len() as u32, data.len() as u32] {
                    b.extend_from_slice(&w.to_le_bytes());
                }
                b.extend_from_slice(&data);
                block(&mut v, 6, &b);
            }
        }
        v
    }

    /// A regular file is mapped: its packets, and the error and offset of a
    /// cut or corrupt file, are exactly those of reading it as a stream,
    /// for the project's own captures (classic pcap) and a pcapng, whole
    /// and cut at offsets inside headers and inside records.
    #[test]
    fn a_mapped_file_reads_as_the_stream_does() {
        let dir = std::env::temp_dir().join(format!("connscope-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pcaps = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
        let mut inputs: Vec<(String, Vec<u8>)> = vec![("t.pcapng".into(), pcapng_bytes())];
        for e in std::fs::read_dir(&pcaps).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                inputs.push((name, std::fs::read(&p).unwrap()));
            }
        }
        assert!(inputs.len() > 5, "pcaps/ holds the project's captures");
        let mut checked = 0;
        for (name, bytes) in &inputs {
            let n = bytes.len();
            let mut cuts = vec![n, 3, 24, 30, 40, n / 3, n / 2 + 1, n - 1];
            cuts.retain(|&c| c <= n);
            for cut in cuts {
                let path = dir.join(format!("{cut}-{name}"));
                std::fs::write(&path, &bytes[..cut]).unwrap();
                let f = File::open(&path).unwrap();
                let mapped = cut > 0 && block::ReadBlock::map(&f).is_some();
                assert_eq!(mapped, cut > 0, "{name} cut at {cut} maps");
                let via_map = drain(FileSource::open(&path));
                let via_read = drain(FileSource::from_reader(&path, File::open(&path).unwrap()));
                assert_eq!(via_map, via_read, "{name} cut at {cut}");
                if cut == n {
                    assert!(via_map.len() > 1, "{name}: packets");
                }
                checked += 1;
            }
        }
        assert!(checked > 40);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
