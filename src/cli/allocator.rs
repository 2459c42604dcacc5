//! How the C allocator hands memory back to the system, set once before any work starts.
//!
//! `mark` and `verify` build and drop planes of tens of megabytes many times over (blurs, the
//! closed loop's passes, FFTs, decoded samples). glibc serves blocks that large with `mmap` and
//! returns them with `munmap` on `free`, and trims its heap's top as soon as it is free, so every
//! new plane costs one page fault per 4 KiB: at 12 MP about a fifth of `mark`'s time went to the
//! kernel. Served from one heap that is never trimmed, a freed plane is reused by the next; the
//! peak resident memory stays as it was (measured at 12 and 24 MP, docs/watermark.md "Memory
//! handed back to the system"), as every plane is needed again until the process ends.
//!
//! One arena: the work's large blocks come from rayon's workers, which glibc would otherwise give
//! arenas of their own whose heaps are limited to 64 MiB, so that larger blocks are mapped again.
//! The workers allocate little in their inner loops (rows and planes are allocated per batch), so
//! one shared arena costs them no measurable time (`shrink -j 2`, the same document).

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
