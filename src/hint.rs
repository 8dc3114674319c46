//! Hints to the CPU about memory that will be read soon, so the wait for
//! it overlaps other work (software prefetch). Owns nothing; a hint reads
//! nothing, cannot fault and changes no value, so no result depends on it.
//! Must not be used where it was not measured to help.

/// The first cache line of `bytes` (nothing for an empty slice).
#[inline]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if !bytes.is_empty() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch does not access memory architecturally and
        // cannot fault; the pointer is that of a non-empty slice.
        unsafe { _mm_prefetch(bytes.as_ptr() as *const i8, _MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
