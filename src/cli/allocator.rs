//! How the C allocator treats freed memory in a process with one worker thread.
//!
//! `mark` and `verify` build and drop planes of tens of megabytes many times over (blurs, the
//! closed loop's passes, FFTs, decoded samples). glibc maps every block over its mmap threshold
//! (at most 32 MiB) and unmaps it on `free`, and trims its heaps' tops as soon as they are free,
//! so each new plane costs one page fault per 4 KiB: at 12 MP a fifth of `mark`'s time went to
//! the kernel. Served from one heap that is not trimmed automatically, a freed plane's pages
//! serve the next one, and with one worker the peak does not grow, so `mark` no longer hands free
//! pages back between its stages (`watermark::release_between_stages`). With two workers the two
//! threads' blocks interleave in that heap and its holes raised the 24 MP peak by 50-70 MB, so
//! several workers keep glibc's defaults. Figures: docs/watermark.md, "Memory kept by the
//! allocator".

/// Sets the policy when the work runs on `workers` threads and that is one (glibc only;
/// elsewhere the system allocator keeps its own).
pub fn keep_freed_memory_with(workers: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if workers == 1 {
        // SAFETY: mallopt only changes the allocator's parameters (under its own lock; glibc
        // documents it as thread-safe), takes no pointer, and a rejected setting (return value
        // 0) leaves the default.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        // Freed planes now serve the next ones in place: trimming them between `mark`'s
        // stages would only fault the pages in again.
        jpgtool::watermark::release_between_stages(false);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = workers;
}
