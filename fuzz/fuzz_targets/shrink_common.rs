//! Shared by the `shrink_*` targets (included with `#[path]`; not a target itself).
//!
//! Input layout: byte 0 chooses the options, bytes 1.. are the JPEG stream.
//! - bits 0..=3: the target: 0..=7 `Eighths(1..=8)`, 8 `Factor(2.5)`, 9 `Width(17)`,
//!   10 `Height(17)`, 11 `Fit(40, 30)`, 12 `Factor(3.0)`, 13 `Width(1)`, 14 `Factor(1.0)`,
//!   15 `Eighths(0)` (refused by `plan`);
//! - bit 4: `strict`;
//! - bit 5: `dc_only = false` (the default, true, sends progressive files at 1/8 through the
//!   DC-only decoder);
//! - bit 6: `Filter::Lanczos3` instead of area;
//! - bit 7: `fast`.
//!
//! `smallest` (mozjpeg's trellis encoder) is left off: it costs seconds on a 4 MP output.

use std::io::{self, Read};

use jpgtool::Limits;
use jpgtool::shrink::{Filter, Options, Target};

/// Small enough that one run stays well under a second.
pub const LIMITS: Limits = Limits {
    max_width: 65535,
    max_height: 65535,
    max_pixels: 4_000_000,
    max_alloc: 16 << 20,
    max_scans: 100,
    max_metadata: 1 << 20,
};

pub fn options(config: u8) -> Options<'static> {
    let target = match config & 15 {
        m @ 0..=7 => Target::Eighths(m + 1),
        8 => Target::Factor(2.5),
        9 => Target::Width(17),
        10 => Target::Height(17),
        11 => Target::Fit(40, 30),
        12 => Target::Factor(3.0),
        13 => Target::Width(1),
        14 => Target::Factor(1.0),
        _ => Target::Eighths(0),
    };
    Options {
        target,
        strict: config & 0x10 != 0,
        dc_only: config & 0x20 == 0,
        filter: if config & 0x40 != 0 {
            Filter::Lanczos3
        } else {
            Filter::Area
        },
        fast: config & 0x80 != 0,
        max_memory: 64 << 20,
        limits: LIMITS,
        ..Options::default()
    }
}

/// A reader returning 1..=7 bytes per `read`, the sizes taken in turn from `sizes` (the input
/// itself), as a pipe or socket might deliver them. Used by `shrink_buf_independent` and
/// `tests/regressions.rs`; `shrink_no_panic` includes this file without it.
#[allow(dead_code)]
pub struct Chunked<'a> {
    pub data: &'a [u8],
    pub sizes: &'a [u8],
    pub calls: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = match self.sizes.len() {
            0 => 1,
            len => 1 + usize::from(self.sizes[self.calls % len] % 7),
        };
        self.calls += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
