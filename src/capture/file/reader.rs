//! The read-ahead buffer under [`FileSource`](super::FileSource)
//! ([`Chunks`]: reference-counted blocks that a consumer may keep, never
//! written again while shared; or the whole file mapped, one block that is
//! never written) and the stop-aware I/O around it: opening a
//! FIFO interruptibly, reading fully while retrying a plain EINTR, and
//! turning a requested stop into [`CaptureError::Stopped`].
//!
//! Bytes only: must not know about pcap or pcapng records.

use super::block::ReadBlock;
use super::CaptureError;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A read-ahead buffer that can hand out slices of its contents, so classic
/// pcap records are parsed in place (one kernel copy, no second copy; no
/// copy at all for a mapped file, whose single block is the whole file).
///
/// The buffer is reference-counted ([`FileSource::block`]): a consumer may
/// keep the block a packet lies in (the parallel pipeline hands packets to
/// shard threads without copying them). A shared block is never written
/// again: reading continues in another buffer (a retired one whose last
/// holder let go, or a new one).
pub(super) struct Chunks<R> {
    r: R,
    pub(super) buf: Arc<ReadBlock>,
    pos: usize,
    end: usize,
    /// Blocks given up while shared, reused once nobody else holds them.
    retired: Vec<Arc<ReadBlock>>,
    /// A mapped file: the pages before this were dropped from the page
    /// tables ([`ReadBlock::release_before`]).
    released: usize,
    /// A mapped file: the pages before this were put in the page tables
    /// ahead of reading ([`ReadBlock::populate`]); `usize::MAX` once the
    /// kernel refused (they are faulted in as read).
    populated: usize,
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
pub(super) fn open_interruptible(path: &Path, stop: &AtomicBool) -> io::Result<File> {
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
pub(super) fn io_error(file: &Path, offset: u64, e: io::Error) -> CaptureError {
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

pub(super) const CHUNK: usize = 1 << 20;
/// A mapped file's pages are dropped from the page tables in steps of this
/// many bytes, the last step's worth behind the read position kept (a
/// batch of packets in flight lies there; were it dropped, its pages would
/// only be faulted in again).
const RELEASE_STEP: usize = 8 << 20;
/// Shared blocks waiting to be reused (beyond this, the oldest is dropped).
const RETIRED: usize = 32;

impl<R: Read> Chunks<R> {
    pub(super) fn new(r: R, stop: Option<Arc<AtomicBool>>) -> Self {
        Chunks {
            r,
            buf: Arc::new(ReadBlock::heap(vec![0; CHUNK])),
            pos: 0,
            end: 0,
            retired: Vec::new(),
            released: 0,
            populated: 0,
            stop,
        }
    }

    /// The bytes of `map` (a [`ReadBlock::map`] of the file `r` reads), in
    /// place: `r` is never read.
    pub(super) fn mapped(r: R, map: ReadBlock) -> Self {
        let end = map.len();
        let mut c = Chunks {
            r,
            buf: Arc::new(map),
            pos: 0,
            end,
            retired: Vec::new(),
            released: 0,
            populated: 0,
            stop: None,
        };
        c.map_ahead();
        c
    }

    /// A mapped file: keeps the pages of the next one to three
    /// [`RELEASE_STEP`]s in the page tables (two more are populated in one
    /// call once less than one is left) and drops those more than one to
    /// two steps behind, so the file is read without page faults and its
    /// resident part is at most five steps (40 MiB).
    fn map_ahead(&mut self) {
        if self.populated != usize::MAX && self.pos + RELEASE_STEP > self.populated {
            let from = self.populated.max(self.pos);
            let to = from + 2 * RELEASE_STEP;
            self.populated = if self.buf.populate(from, to) {
                to
            } else {
                usize::MAX
            };
        }
        if self.pos >= self.released + 2 * RELEASE_STEP {
            self.released = self.pos - RELEASE_STEP;
            self.buf.release_before(self.released);
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
            Some(b) => match Arc::try_unwrap(b) {
                Ok(b) => b.into_heap().unwrap_or_default(),
                Err(b) => b.to_vec(),
            },
            None => vec![0; self.buf.len().max(CHUNK)],
        };
        let tail = &self.buf[self.pos..self.end];
        if fresh.len() < tail.len() {
            fresh.resize(tail.len(), 0);
        }
        fresh[..tail.len()].copy_from_slice(tail);
        self.end -= self.pos;
        self.pos = 0;
        let old = std::mem::replace(&mut self.buf, Arc::new(ReadBlock::heap(fresh)));
        if self.retired.len() >= RETIRED {
            self.retired.remove(0);
        }
        self.retired.push(old);
    }

    /// Makes at least `n` bytes available at the read position; returns how
    /// many are available (fewer only at end of input).
    pub(super) fn ensure(&mut self, n: usize) -> io::Result<usize> {
        // (a mapped file has every byte it will ever have)
        if self.end - self.pos >= n || self.buf.is_mapped() {
            return Ok(self.end - self.pos);
        }
        self.unshare();
        // Unique after `unshare`, and a heap block (a mapped file returned
        // above).
        let Some(buf) = Arc::get_mut(&mut self.buf).and_then(ReadBlock::heap_mut) else {
            return Ok(self.end - self.pos);
        };
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

    pub(super) fn peek(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Hints the CPU to load what the reader touches next, given where
    /// the next record starts (`next` bytes past the read position): that
    /// record's header and first bytes, and one line a page and two pages
    /// further on, so the page walk and the memory access of the records
    /// there are under way before they are read. Measured with `-j 2`,
    /// where the capture thread touches little more than record headers
    /// and waited on each: the generated capture 4 % faster (wall and
    /// CPU), the real mix 2 %; one worker unchanged within noise. Only
    /// hints: a prefetch never faults and changes no value; nothing past
    /// the bytes available is named.
    pub(super) fn prefetch_next(&self, next: usize) {
        for at in [next, next + 64, next + 4096, next + 8192] {
            if let Some(b) = self.buf.get(self.pos + at..self.end) {
                crate::hint::prefetch(b);
            }
        }
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
        if self.buf.is_mapped() {
            self.map_ahead();
        }
    }
}

impl<R: Read> Read for Chunks<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end {
            if out.len() >= CHUNK && !self.buf.is_mapped() {
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

/// Reads until `out` is full or end of file; returns the bytes read. A
/// plain EINTR is retried; a requested stop is not.
pub(super) fn read_full<R: Read>(r: &mut R, out: &mut [u8]) -> io::Result<usize> {
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
