//! The warnings libjpeg gives for damaged entropy-coded data, capped so that a damaged file
//! cannot grow the list without bound.

use super::Stop;

/// At most this many warnings are kept; a damaged gigapixel file with restart markers could
/// otherwise produce one per restart interval.
const MAX_WARNINGS: usize = 50;

#[derive(Default)]
pub(crate) struct Warnings {
    list: Vec<String>,
    suppressed: u64,
}

impl Warnings {
    /// Formats the message only when it will be kept.
    pub(crate) fn push(&mut self, message: impl FnOnce() -> String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(message());
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }

    /// libjpeg's "extraneous bytes before marker": data left where a marker should follow.
    pub(crate) fn extraneous(&mut self, bytes: u64, next: Stop) {
        if let (true, Stop::Marker(code)) = (bytes > 0, next) {
            self.push(|| {
                format!("corrupt data: {bytes} extraneous bytes before marker 0x{code:02X}")
            });
        }
    }

    pub(crate) fn into_vec(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.list
                .push(format!("{} further warnings suppressed", self.suppressed));
        }
        self.list
    }
}
