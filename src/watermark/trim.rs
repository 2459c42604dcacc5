//! Gives freed memory back to the system between `mark`'s stages. glibc's allocator serves
//! blocks under its mmap threshold (which grows to 32 MB once a block that large is freed) from
//! its heaps and keeps them resident when they are freed: at 24 MP the blind extraction's
//! planes and the valid mask's byte masks, each 24 MB, stayed resident through the closed loop,
//! 24 MB of its peak. `malloc_trim` returns the free pages of every heap.

/// Returns the allocator's free pages to the system (glibc only; elsewhere nothing).
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and only releases memory the allocator holds
    // free; it is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
