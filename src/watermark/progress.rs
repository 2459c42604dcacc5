//! How far `mark` has got with one file, for a progress bar: a camera-size photo takes seconds,
//! and a terminal that shows nothing for that long looks hung.

use std::fmt;
use std::sync::Arc;

/// A callback `mark` calls with (steps done, steps in all) as it goes. Steps are the flow's
/// stages weighted roughly by their cost (the closed loop's passes, the SSIM fit's encodes, the
/// checks); a loop that stops early jumps ahead. The default reports nothing.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(u64, u64) + Send + Sync>>);

impl Progress {
    /// Reports to `report(done, total)`.
    pub fn new(report: impl Fn(u64, u64) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(report)))
    }

    /// Tells the callback, if any, that `done` of `total` steps are done.
    pub(crate) fn report(&self, done: u64, total: u64) {
        if let Some(report) = &self.0 {
            report(done.min(total), total);
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
}
