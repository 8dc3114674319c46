//! Cache hints: asking the CPU to start fetching memory a later step will
//! read (a memo slot several connections ahead, a cached row text a few
//! rows ahead), so that step finds it in the cache instead of waiting.
//!
//! Must not: change any value (a hint is never observable except in time).

/// Asks the CPU to bring the cache line at `at` closer. Any address is
/// allowed: none is dereferenced.
#[inline(always)]
pub fn line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline; a prefetch reads no
    // memory architecturally and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// [`line`] for every cache line of `len` bytes from `at`.
#[inline(always)]
pub fn bytes(at: *const u8, len: usize) {
    for off in (0..len).step_by(64) {
        line(at.wrapping_add(off));
    }
}
