//! One file's header facts, quality estimate and bits per pixel: what `jpgtool quality` reports.

use std::fs::File;
use std::path::Path;

use super::Estimate;
use crate::error::Result;
use crate::jpeg::{Header, ImageEnd, Parser, Seekable};
use crate::limits::Limits;

/// Everything known about one file after reading its headers (and, if asked, walking to EOI).
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The headers up to the first scan.
    pub header: Header,
    /// The quality estimate from the tables.
    pub estimate: Estimate,
    /// The file size in bytes.
    pub file_bytes: u64,
    /// Present when bits per pixel were asked for.
    pub image_end: Option<ImageEnd>,
}

impl Inspection {
    /// Bits per pixel of the coded image data (first scan to EOI), not counting metadata,
    /// thumbnails or trailers; `None` if not measured or the height is unknown (DNL).
    pub fn bpp(&self) -> Option<f64> {
        let end = self.image_end?;
        self.per_pixel(end.coded_bytes)
    }

    /// Bits per pixel of the whole file.
    pub fn bpp_file(&self) -> Option<f64> {
        self.per_pixel(self.file_bytes)
    }

    fn per_pixel(&self, bytes: u64) -> Option<f64> {
        let pixels = u64::from(self.header.frame.width) * u64::from(self.header.frame.height);
        (pixels > 0).then(|| 8.0 * bytes as f64 / pixels as f64)
    }
}

/// Reads a file's headers and estimates its quality. With `measure_bpp` it also walks the
/// entropy-coded data to EOI (one sequential pass); without, it reads only up to the first scan.
/// Under the default [`Limits`]; see [`inspect_file_with`].
pub fn inspect_file(path: &Path, measure_bpp: bool) -> Result<Inspection> {
    inspect_file_with(path, measure_bpp, &Limits::default())
}

/// [`inspect_file`] under `limits`: more than `limits.max_metadata` bytes of APPn/COM segments
/// are refused, and the walk to EOI stops with an error after [`crate::jpeg::max_data_bytes`]
/// (the path may be a pipe or `/dev/stdin`, whose stream need not end).
pub fn inspect_file_with(path: &Path, measure_bpp: bool, limits: &Limits) -> Result<Inspection> {
    let file = File::open(path)?;
    let file_bytes = file.metadata()?.len();
    // Header-only reads stay small; a pass over the whole file reads in larger blocks.
    let capacity = if measure_bpp { 128 * 1024 } else { 8 * 1024 };
    let mut parser = Parser::new(Seekable::with_capacity(capacity, file)).with_limits(limits);
    let header = parser.read_header()?;
    let image_end = if measure_bpp {
        Some(parser.find_image_end()?)
    } else {
        None
    };
    let estimate = super::estimate(&header);
    Ok(Inspection {
        header,
        estimate,
        file_bytes,
        image_end,
    })
}
