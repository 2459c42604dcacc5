//! Gives freed memory back to the system between `mark`'s stages. glibc's allocator serves
//! blocks under its mmap threshold (which grows to 32 MB once a block that large is freed) from
//! its heaps and keeps them resident when they are freed: at 24 MP the blind extraction's
//! planes and the valid mask's byte masks, each 24 MB, stayed resident through the closed loop,
//! 24 MB of its peak. `malloc_trim` returns the free pages of every heap.
//!
//! A process whose allocator is set to keep freed memory for the next block (the CLI with one
//! worker thread) turns this off ([`release_between_stages`]): there the freed pages serve the
//! next stage's planes in place, the peak is the same without the trims, and each trimmed page
//! would only be faulted in again (docs/watermark.md, "Fewer page faults, the pattern in place,
//! the luma alone, the refusal from the third level").

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`release_freed_memory`] trims (the default) or does nothing.
static RELEASE: AtomicBool = AtomicBool::new(true);

/// Sets whether `mark` hands freed memory back to the system between its stages (the
/// default). Turn it off where the allocator reuses freed blocks in place, as the CLI's does
/// with one worker: the trims then cost page faults and save no memory.
pub fn release_between_stages(release: bool) {
    RELEASE.store(release, Ordering::Relaxed);
}

/// Returns the allocator's free pages to the system (glibc only; elsewhere nothing), unless
/// [`release_between_stages`] turned it off.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if RELEASE.load(Ordering::Relaxed) {
        // SAFETY: `malloc_trim` takes no pointer and only releases memory the allocator holds
        // free; it is safe to call at any time from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
