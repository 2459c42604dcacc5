//! How the C allocator treats freed memory, set once before any work starts.
//!
//! `mark` and `verify` build and drop planes of tens of megabytes many times over (blurs, the
//! closed loop's passes, FFTs, decoded samples). glibc maps every block over its mmap threshold
//! (at most 32 MiB) and unmaps it on `free`, and trims its heaps' tops as soon as they are free,
//! so each new plane cost one page fault per 4 KiB: at 12 MP a fifth of `mark`'s time went to
//! the kernel. Served from one heap that is not trimmed automatically, a freed plane's pages
//! serve the next one. The peak resident memory does not grow: `mark` still hands free pages
//! back where a stage's planes are done with (`watermark::trim`). One arena, because the work
//! runs on rayon's workers, whose own arenas' heaps stop at 64 MiB (larger blocks would be
//! mapped again); they allocate per row batch, not per sample, so sharing it costs them
//! nothing measurable. Figures: docs/watermark.md, "Memory kept by the allocator".

/// Sets the allocator's policy (glibc only; elsewhere the system allocator keeps its own).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes the allocator's parameters; it is called from main before
        // any other thread exists, and a rejected setting (return value 0) leaves the default.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
