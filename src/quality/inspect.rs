//! One file's header facts, quality estimate and bits per pixel: what `jpgtool quality` reports.

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use serde_json::Value;

use super::history::{self, History};
use super::report::Report;
use super::{Estimate, Family};
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
    /// Present when the primary-quality analysis was asked for.
    pub history: Option<HistoryReport>,
}

/// The outcome of the primary-quality analysis of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryReport {
    /// The luma sample was read and analysed (its `primary` may still be `None`: nothing found).
    Analysed(History),
    /// The analysis could not be made, and why (progressive frame, damaged data, ...).
    NotAnalysed(String),
}

impl HistoryReport {
    /// The analysis, when one was made.
    pub fn analysed(&self) -> Option<&History> {
        match self {
            HistoryReport::Analysed(h) => Some(h),
            HistoryReport::NotAnalysed(_) => None,
        }
    }

    /// Why there is no primary quality, or `None` when there is one.
    pub fn reason(&self) -> Option<String> {
        match self {
            HistoryReport::Analysed(h) if h.primary.is_some() => None,
            HistoryReport::Analysed(h) if h.score.is_none() => {
                Some("too few non-zero low-frequency coefficients to tell".into())
            }
            HistoryReport::Analysed(_) => Some("no earlier, coarser compression detected".into()),
            HistoryReport::NotAnalysed(why) => Some(why.clone()),
        }
    }
}

impl Inspection {
    /// The IJG equivalent from the coefficients ([`super::effective::estimate`]), where the
    /// analysis ran and the estimate applies ([`super::effective::applies`]: unknown tables
    /// of guetzli's near-flat shape). Exact IJG tables already give the IJG quality; on
    /// mozjpeg's files and on rounding encoders with their own tables (cameras, Photoshop)
    /// this estimate reads far too low (measured in `docs/quality.md`), so it is not given
    /// there ([`Self::effective_quality`] uses a measured calibration for mozjpeg instead).
    pub fn effective(&self) -> Option<super::effective::Effective> {
        if !super::effective::applies(&self.estimate) {
            return None;
        }
        self.history.as_ref()?.analysed()?.effective
    }

    /// The `effective_quality` of the report, where the analysis was asked for: the
    /// coefficient estimate ([`Self::effective`]) for guetzli-like unknown tables, and for
    /// mozjpeg's default tables (set 3) at qualities 50..=95 the mean fidelity of its default
    /// encoder ([`super::trellis::default_profile`]), which needs no coefficients (progressive
    /// files included).
    pub fn effective_quality(&self) -> Option<f64> {
        self.history.as_ref()?;
        if self.estimate.family == Family::Mozjpeg(3) {
            let q = self.estimate.quality?;
            return super::trellis::default_profile((q.min + q.max) / 2.0);
        }
        self.effective().map(|e| e.quality)
    }

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
    inspect_file_opts(path, measure_bpp, false, limits)
}

/// [`inspect_file_with`], and with `history` the primary-quality analysis
/// ([`history::read`]): the first luma blocks of the first scan are Huffman-decoded from a
/// second read of the file, which stops after [`history::SAMPLE_BLOCKS`] blocks.
pub fn inspect_file_opts(
    path: &Path,
    measure_bpp: bool,
    history: bool,
    limits: &Limits,
) -> Result<Inspection> {
    let mut found = inspect_once(path, measure_bpp, limits)?;
    if history {
        found.history = Some(read_history(path, limits));
    }
    Ok(found)
}

/// The analysis reads the file a second time, from its start: a regular file only, since a
/// pipe or `/dev/stdin` cannot be read again. The file's headers were read once already, so
/// whatever stops this read (a file changed in between, a limit) is the analysis's reason for
/// saying nothing, not a failure of the file.
fn read_history(path: &Path, limits: &Limits) -> HistoryReport {
    let attempt = || -> Result<HistoryReport> {
        let file = File::open(path)?;
        if !file.metadata()?.is_file() {
            return Ok(HistoryReport::NotAnalysed(
                "not analysed: not a regular file (a stream cannot be read twice)".into(),
            ));
        }
        analyse_history(Seekable::with_capacity(64 * 1024, file), limits)
    };
    attempt().unwrap_or_else(|e| HistoryReport::NotAnalysed(format!("not analysed: {e}")))
}

/// The primary-quality analysis of a JPEG read again from its start.
fn analyse_history<R: Read + Seek>(input: Seekable<R>, limits: &Limits) -> Result<HistoryReport> {
    let mut parser = Parser::new(input).with_limits(limits);
    let header = parser.read_header()?;
    Ok(match history::read(&mut parser, &header)? {
        Ok(h) => HistoryReport::Analysed(h),
        Err(why) => HistoryReport::NotAnalysed(why),
    })
}

fn inspect_once(path: &Path, measure_bpp: bool, limits: &Limits) -> Result<Inspection> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    let file_bytes = metadata.len();
    // Header-only reads stay small: one page holds the headers of most files written without
    // a large EXIF block (a skip past the buffer seeks), and each byte read is a byte copied.
    // A pass over the whole file reads in larger blocks.
    let capacity = if measure_bpp { 128 * 1024 } else { 4 * 1024 };
    // A pipe's metadata says nothing of its length: the reader then finds out by seeking.
    let input = if metadata.is_file() {
        Seekable::with_len(capacity, file, file_bytes)
    } else {
        Seekable::with_capacity(capacity, file)
    };
    inspect_input(input, file_bytes, measure_bpp, limits)
}

/// [`inspect_file_with`] on a JPEG already in memory (the Python binding's `quality(bytes)`);
/// `file_bytes` is the slice's length.
pub fn inspect_bytes(bytes: &[u8], measure_bpp: bool, limits: &Limits) -> Result<Inspection> {
    inspect_bytes_opts(bytes, measure_bpp, false, limits)
}

/// [`inspect_bytes`], and with `history` the primary-quality analysis, as
/// [`inspect_file_opts`] does for a file.
pub fn inspect_bytes_opts(
    bytes: &[u8],
    measure_bpp: bool,
    history: bool,
    limits: &Limits,
) -> Result<Inspection> {
    let len = bytes.len() as u64;
    let input = Seekable::with_len(8 * 1024, Cursor::new(bytes), len);
    let mut found = inspect_input(input, len, measure_bpp, limits)?;
    if history {
        let again = Seekable::with_len(64 * 1024, Cursor::new(bytes), len);
        found.history = Some(
            analyse_history(again, limits)
                .unwrap_or_else(|e| HistoryReport::NotAnalysed(format!("not analysed: {e}"))),
        );
    }
    Ok(found)
}

fn inspect_input<R: Read + Seek>(
    input: Seekable<R>,
    file_bytes: u64,
    measure_bpp: bool,
    limits: &Limits,
) -> Result<Inspection> {
    let mut parser = Parser::new(input).with_limits(limits);
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
        history: None,
    })
}

impl Inspection {
    /// The report's typed fields ([`Report`]); `native` and `margin` are the
    /// `decision_quality` settings ([`super::Estimate::decision_quality`]).
    pub fn report(&self, native: bool, margin: f64) -> Report {
        Report::new(self, native, margin)
    }

    /// The JSON object `jpgtool quality --json` prints for this file (documented in README.md,
    /// "JSON output"; field names are stable), from [`Report`] so that the CLI and the Python
    /// binding cannot drift apart. `path` is shown as given.
    pub fn to_json(&self, path: &str, native: bool, margin: f64) -> Value {
        self.report(native, margin).to_json(path)
    }
}
