//! Hints to the CPU about memory that will be read soon, so the wait for
//! it overlaps other work (software prefetch). Owns nothing; a hint reads
//! nothing, cannot fault and changes no value, so no result depends on it.
//! Must not be used where it was not measured to help.

/// The cache line holding the address `p` (no-op off x86-64).
#[inline]
fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch does not access memory architecturally and
        // cannot fault, whatever the address.
        unsafe { _mm_prefetch(p as *const i8, _MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The first cache line of `bytes` (nothing for an empty slice).
#[inline]
pub fn prefetch(bytes: &[u8]) {
    if !bytes.is_empty() {
        line(bytes.as_ptr());
    }
}
