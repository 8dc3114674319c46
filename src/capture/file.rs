//! Capture-file reader for classic pcap and pcapng.
//!
//! Owns the file formats only: it yields packets with their link type and
//! timestamp, and on malformed input returns a [`CaptureError`] that names the
//! file, the byte offset and the reason. It does not decode packets. Packets
//! are read into one reused buffer: nothing is allocated per packet.

use super::Packet;
use crate::time::{Ts, MAX_TS, SEC};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An error reading a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a pcap or pcapng file.
    #[error("{file}: not a pcap or pcapng file (magic {magic:#010x} at offset 0)")]
    NotCapture {
        /// The file.
        file: PathBuf,
        /// The first four bytes.
        magic: u32,
    },
    /// Reading stopped because a stop was requested (SIGTERM / SIGINT)
    /// while the reader waited for bytes (a stalled pipe or FIFO).
    #[error("{file}: reading stopped by a signal at offset {offset}")]
    Stopped {
        /// The file.
        file: PathBuf,
        /// Bytes read so far.
        offset: u64,
    },
    /// The file ends in the middle of a header or record.
    #[error("{file}: truncated at offset {offset}: {reason}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Byte offset of the incomplete header or record.
        offset: u64,
        /// What was incomplete.
        reason: String,
    },
    /// A header or record is malformed.
    #[error("{file}: corrupt at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Byte offset of the malformed header or record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A live capture was asked for an interface that does not exist.
    #[error("interface {iface}: no such interface")]
    NoSuchInterface {
        /// The interface name.
        iface: String,
    },
    /// Capturing on the interface is not permitted.
    #[error(
        "interface {iface}: permission denied ({reason}); live capture needs root or CAP_NET_RAW"
    )]
    PermissionDenied {
        /// The interface name.
        iface: String,
        /// What the system said.
        reason: String,
    },
    /// A capture filter expression does not compile.
    #[error("interface {iface}: bad capture filter {filter:?}: {reason}")]
    Filter {
        /// The interface name.
        iface: String,
        /// The filter expression.
        filter: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A live capture step failed (opening, configuring or reading).
    #[error("interface {iface}: {op}: {reason}")]
    Live {
        /// The interface name.
        iface: String,
        /// The step that failed.
        op: String,
        /// What went wrong.
        reason: String,
    },
}

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

/// A read-ahead buffer that can hand out slices of its contents, so classic
/// pcap records are parsed in place (one kernel copy, no second copy).
///
/// The buffer is reference-counted ([`FileSource::block`]): a consumer may
/// keep the block a packet lies in (the parallel pipeline hands packets to
/// shard threads without copying them). A shared block is never written
/// again: reading continues in another buffer (a retired one whose last
/// holder let go, or a new one).
struct Chunks<R> {
    r: R,
    buf: Arc<Vec<u8>>,
    pos: usize,
    end: usize,
    /// Blocks given up while shared, reused once nobody else holds them.
    retired: Vec<Arc<Vec<u8>>>,
    /// Set from outside (a signal handler) to stop waiting for bytes.
    stop: Option<Arc<AtomicBool>>,
}

/// The I/O error a read returns once a stop was requested
/// ([`FileSource::open_stoppable`]); mapped to [`CaptureError::Stopped`].
#[derive(Debug)]
struct StopRequested;

impl std::fmt::Display for StopRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop requested")
    }
}

impl std::error::Error for StopRequested {}

fn stop_requested() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, StopRequested)
}

/// Opens `path` for reading as `File::open` does, except that an EINTR
/// while waiting (a FIFO without a writer) ends the wait once `stop` is set
/// (`File::open` retries EINTR itself, so a stop could never reach it).
fn open_interruptible(path: &Path, stop: &AtomicBool) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    loop {
        // SAFETY: `c` is a valid NUL-terminated string for the call.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened and is owned by nothing else.
            return Ok(unsafe { File::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        if stop.load(Ordering::Relaxed) {
            return Err(stop_requested());
        }
    }
}

/// A read error as a [`CaptureError`]: a requested stop is
/// [`CaptureError::Stopped`] at `offset`, anything else an I/O error.
fn io_error(file: &Path, offset: u64, e: io::Error) -> CaptureError {
    if is_stop_requested(&e) {
        CaptureError::Stopped {
            file: file.to_path_buf(),
            offset,
        }
    } else {
        CaptureError::Io {
            file: file.to_path_buf(),
            source: e,
        }
    }
}

fn is_stop_requested(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
        && e.get_ref().is_some_and(|inner| inner.is::<StopRequested>())
}

const CHUNK: usize = 1 << 20;
/// Shared blocks waiting to be reused (beyond this, the oldest is dropped).
const RETIRED: usize = 32;

impl<R: Read> Chunks<R> {
    fn new(r: R, stop: Option<Arc<AtomicBool>>) -> Self {
        Chunks {
            r,
            buf: Arc::new(vec![0; CHUNK]),
            pos: 0,
            end: 0,
            retired: Vec::new(),
            stop,
        }
    }

    /// Makes `buf` unshared: if a consumer still holds it, the unread bytes
    /// move to the start of another buffer.
    fn unshare(&mut self) {
        if Arc::get_mut(&mut self.buf).is_some() {
            return;
        }
        let free = self.retired.iter().position(|b| Arc::strong_count(b) == 1);
        let mut fresh = match free.map(|i| self.retired.swap_remove(i)) {
            Some(b) => Arc::try_unwrap(b).unwrap_or_else(|b| b.to_vec()),
            None => vec![0; self.buf.len().max(CHUNK)],
        };
        let tail = &self.buf[self.pos..self.end];
        if fresh.len() < tail.len() {
            fresh.resize(tail.len(), 0);
        }
        fresh[..tail.len()].copy_from_slice(tail);
        self.end -= self.pos;
        self.pos = 0;
        let old = std::mem::replace(&mut self.buf, Arc::new(fresh));
        if self.retired.len() >= RETIRED {
            self.retired.remove(0);
        }
        self.retired.push(old);
    }

    /// Makes at least `n` bytes available at the read position; returns how
    /// many are available (fewer only at end of input).
    fn ensure(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.pos >= n {
            return Ok(self.end - self.pos);
        }
        self.unshare();
        // Unique after `unshare`: no copy is made here.
        let buf = Arc::make_mut(&mut self.buf);
        if self.pos > 0 {
            buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < n {
            if self.end == buf.len() {
                // Grow as the bytes arrive, not by what a record header
                // claims: a lying length must not allocate (and zero) it.
                let grown = (buf.len() * 2).max(CHUNK).min(n.max(CHUNK));
                buf.resize(grown, 0);
            }
            // Checked before every read, not only on EINTR: a stop that
            // arrived while packets were being processed must not wait for
            // a pipe that has stalled.
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Err(stop_requested());
            }
            match self.r.read(&mut buf[self.end..]) {
                Ok(0) => break,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    fn peek(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }
}

impl<R: Read> Read for Chunks<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end {
            if out.len() >= CHUNK {
                return self.r.read(out);
            }
            self.ensure(1)?;
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
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
    /// Opens a capture file.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let f = File::open(path).map_err(|e| CaptureError::Io {
            file: path.to_path_buf(),
            source: e,
        })?;
        FileSource::from_reader(path, f)
    }

    /// As [`open`](Self::open), with a stop flag (see
    /// [`from_reader_stoppable`](Self::from_reader_stoppable)). Opening a
    /// FIFO waits for its writer; a stop requested meanwhile (with the
    /// handler installed without `SA_RESTART`) is [`CaptureError::Stopped`].
    pub fn open_stoppable(path: &Path, stop: Arc<AtomicBool>) -> Result<Self, CaptureError> {
        let f = open_interruptible(path, &stop).map_err(|e| io_error(path, 0, e))?;
        FileSource::from_reader_stoppable(path, f, Some(stop))
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
        let path = path.to_path_buf();
        let mut reader = Chunks::new(reader, stop);
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
                let linktype = u32_at(&rest[16..20], swapped) & 0x0fff_ffff;
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

    /// The reference-counted read buffer the last packet lies in (classic
    /// pcap; pcapng packets are assembled in a separate buffer: `None`). A
    /// holder may keep it: the reader never writes a shared buffer again.
    pub fn shared_block(&self) -> Option<&Arc<Vec<u8>>> {
        match self.format {
            Format::Pcap { .. } => Some(&self.reader.buf),
            Format::PcapNg { .. } => None,
        }
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The link type of a classic pcap file, or of the first pcapng interface.
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

    /// Reads the rest of a section header block whose 4-byte type was consumed.
    fn read_shb_rest(&mut self, start: u64) -> Result<(), CaptureError> {
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

    fn next_pcapng(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            let start = self.offset;
            let mut hdr = [0u8; 8];
            let n = read_full(&mut self.reader, &mut hdr)
                .map_err(|e| io_error(&self.path, self.offset, e))?;
            self.offset += n as u64;
            if n == 0 {
                return Ok(None);
            }
            if n < 8 {
                return Err(CaptureError::Truncated {
                    file: self.path.clone(),
                    offset: start,
                    reason: format!("pcapng block header: needed 8 bytes, file ends after {n}"),
                });
            }
            let btype_raw = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            if btype_raw == 0x0a0d0d0a {
                // New section: the byte order may change.
                self.offset = start + 4;
                // Push back the 4 length bytes: re-read them as part of the SHB.
                let mut shb_len = [0u8; 4];
                shb_len.copy_from_slice(&hdr[4..8]);
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
                let total = u32_at(&shb_len, swapped) as usize;
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
            self.read_body(total - 8, start, "pcapng block")?;
            let body_len = total - 12;
            match btype {
                1 => {
                    // Interface description block.
                    if body_len < 8 {
                        return Err(
                            self.corrupt(start, "interface description block too short".into())
                        );
                    }
                    let linktype = u16_at(&self.buf[0..2], swapped) as u32;
                    let (ts_units, ts_offset) = parse_idb_options(&self.buf[8..body_len], swapped);
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
                    let ifid = if btype == 6 {
                        u32_at(&self.buf[0..4], swapped) as usize
                    } else {
                        u16_at(&self.buf[0..2], swapped) as usize
                    };
                    let hi = u32_at(&self.buf[4..8], swapped) as u64;
                    let lo = u32_at(&self.buf[8..12], swapped) as u64;
                    let caplen = u32_at(&self.buf[12..16], swapped) as usize;
                    let wire_len = u32_at(&self.buf[16..20], swapped);
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
                    return Ok(Some(Packet {
                        ts,
                        wire_len: wire_len.max(caplen as u32),
                        linktype: iface.linktype,
                        data: &self.buf[20..20 + caplen],
                    }));
                }
                3 => {
                    // Simple packet block: interface 0, no timestamp.
                    if body_len < 4 {
                        return Err(self.corrupt(start, "simple packet block too short".into()));
                    }
                    let wire_len = u32_at(&self.buf[0..4], swapped);
                    let iface = match &self.format {
                        Format::PcapNg { interfaces, .. } => interfaces.first().copied(),
                        Format::Pcap { .. } => None,
                    };
                    let Some(iface) = iface else {
                        return Err(
                            self.corrupt(start, "simple packet block before any interface".into())
                        );
                    };
                    let caplen = (wire_len as usize).min(body_len - 4);
                    self.packets += 1;
                    return Ok(Some(Packet {
                        ts: Ts(0),
                        wire_len,
                        linktype: iface.linktype,
                        data: &self.buf[4..4 + caplen],
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

/// Reads until `out` is full or end of file; returns the bytes read. A
/// plain EINTR is retried; a requested stop is not.
fn read_full<R: Read>(r: &mut R, out: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < out.len() {
        match r.read(&mut out[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !is_stop_requested(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut held: Vec<(usize, Arc<Vec<u8>>, usize, usize)> = Vec::new();
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

    fn block(v: &mut Vec<u8>, btype: u32, body: &[u8]) {
        let total = 12 + body.len().div_ceil(4) * 4;
        v.extend_from_slice(&btype.to_le_bytes());
        v.extend_from_slice(&(total as u32).to_le_bytes());
        v.extend_from_slice(body);
        v.resize(v.len() + (total - 12 - body.len()), 0);
        v.extend_from_slice(&(total as u32).to_le_bytes());
    }

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
