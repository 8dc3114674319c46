//! [`ReadBlock`]: the bytes a capture file's packets lie in, handed out by
//! reference count so a consumer (the parallel pipeline's batches) can keep
//! a packet without copying it. A block is either a heap buffer the reader
//! fills with `read(2)` (pipes, FIFOs, any `Read`), or the whole file
//! mapped read-only (regular files: no kernel copy at all).
//!
//! Owns the mapping's lifetime and its page-table hygiene
//! ([`ReadBlock::release_before`]). Must not know about record formats.

use std::fs::File;
use std::ops::Deref;
use std::ptr::NonNull;

/// A block of capture-file bytes (see the module docs). Dereferences to the
/// bytes.
pub struct ReadBlock(Inner);

enum Inner {
    /// A buffer the reader writes while it is not shared.
    Heap(Vec<u8>),
    /// The whole file, mapped.
    Mapped(Map),
}

impl ReadBlock {
    /// A heap block holding `v`.
    pub(super) fn heap(v: Vec<u8>) -> ReadBlock {
        ReadBlock(Inner::Heap(v))
    }

    /// The heap buffer to fill (`None` for a mapped file, which is never
    /// written).
    pub(super) fn heap_mut(&mut self) -> Option<&mut Vec<u8>> {
        match &mut self.0 {
            Inner::Heap(v) => Some(v),
            Inner::Mapped(_) => None,
        }
    }

    /// The heap buffer itself (to reuse its allocation); `None` for a
    /// mapped file.
    pub(super) fn into_heap(self) -> Option<Vec<u8>> {
        match self.0 {
            Inner::Heap(v) => Some(v),
            Inner::Mapped(_) => None,
        }
    }

    /// `file` mapped whole, if it is a non-empty regular file that can be
    /// mapped (otherwise the caller reads it).
    pub(super) fn map(file: &File) -> Option<ReadBlock> {
        Map::of(file).map(|m| ReadBlock(Inner::Mapped(m)))
    }

    /// Whether this is a mapped file.
    pub(super) fn is_mapped(&self) -> bool {
        matches!(self.0, Inner::Mapped(_))
    }

    /// A mapped file: maps the file's pages of bytes `start..end` into the
    /// page tables at once (`MADV_POPULATE_READ`, Linux 5.14+), so reading
    /// them takes no page faults; false when the kernel does not support it
    /// (the pages are then faulted in as they are read). Nothing for a
    /// heap block.
    pub(super) fn populate(&self, start: usize, end: usize) -> bool {
        match &self.0 {
            Inner::Mapped(m) => m.populate(start, end),
            Inner::Heap(_) => false,
        }
    }

    /// A mapped file: drops the pages wholly before byte `end` from the
    /// process's page tables, so the resident size does not grow with the
    /// file. Harmless to any holder still reading there (a file-backed page
    /// is faulted back in from the page cache). Nothing for a heap block.
    pub(super) fn release_before(&self, end: usize) {
        if let Inner::Mapped(m) = &self.0 {
            m.release_before(end);
        }
    }
}

impl Deref for ReadBlock {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Inner::Heap(v) => v,
            Inner::Mapped(m) => m.bytes(),
        }
    }
}

impl std::fmt::Debug for ReadBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "heap" };
        write!(f, "ReadBlock({kind}, {} bytes)", self.len())
    }
}

/// A read-only private mapping of a whole file.
///
/// The bytes are those of the file when each page is first read: the file
/// must not be truncated while it is read (a read past its new end raises
/// `SIGBUS`, as for every program that maps its input, e.g. ripgrep); a
/// capture being appended to is read up to its size when it was opened.
struct Map {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value; sharing its
// address between threads is sound (nothing writes through it).
unsafe impl Send for Map {}
// SAFETY: as above: only `&[u8]` is ever handed out.
unsafe impl Sync for Map {}

impl Map {
    fn of(file: &File) -> Option<Map> {
        use std::os::fd::AsRawFd;
        let meta = file.metadata().ok()?;
        let len = usize::try_from(meta.len()).ok()?;
        if !meta.is_file() || len == 0 {
            return None;
        }
        // SAFETY: a fresh read-only private mapping of an open descriptor;
        // the result is checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        let ptr = NonNull::new(p.cast::<u8>())?;
        // (advice only: read ahead aggressively, drop behind)
        // SAFETY: the range is the mapping just made.
        unsafe { libc::madvise(p, len, libc::MADV_SEQUENTIAL) };
        Some(Map { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is mapped readable for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn populate(&self, start: usize, end: usize) -> bool {
        let page = page_size();
        let start = start / page * page;
        let end = end.min(self.len);
        if start >= end {
            return true;
        }
        // SAFETY: `[ptr + start, ptr + end)` lies inside the mapping and
        // starts on a page boundary; populating only fills page tables.
        let r = unsafe {
            libc::madvise(
                self.ptr.as_ptr().add(start).cast(),
                end - start,
                libc::MADV_POPULATE_READ,
            )
        };
        r == 0
    }

    fn release_before(&self, end: usize) {
        let page = page_size();
        let end = end.min(self.len) / page * page;
        if end == 0 {
            return;
        }
        // SAFETY: `[ptr, ptr + end)` lies inside the mapping and is page
        // aligned; MADV_DONTNEED on a read-only file mapping only drops
        // page-table entries (a later read faults the file's page back in).
        unsafe { libc::madvise(self.ptr.as_ptr().cast(), end, libc::MADV_DONTNEED) };
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `of`; no slice of it
        // outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_file_reads_as_its_bytes_and_survives_release() {
        let dir = std::env::temp_dir().join(format!("connscope-block-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.bin");
        let want: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&want)
            .unwrap();
        let f = File::open(&path).unwrap();
        let b = ReadBlock::map(&f).expect("a regular file maps");
        assert!(b.is_mapped());
        assert_eq!(&b[..], &want[..]);
        // Dropped pages read back the same (faulted in again).
        b.release_before(200_000);
        assert_eq!(&b[..], &want[..]);
        b.populate(4096, 100_000);
        b.populate(250_000, usize::MAX);
        assert_eq!(&b[..], &want[..]);
        b.release_before(usize::MAX);
        assert_eq!(&b[..], &want[..]);
        // An empty file and a directory are not mapped.
        let empty = dir.join("empty.bin");
        std::fs::File::create(&empty).unwrap();
        assert!(ReadBlock::map(&File::open(&empty).unwrap()).is_none());
        assert!(ReadBlock::map(&File::open(&dir).unwrap()).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
