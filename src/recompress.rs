//! Recompressing to a target quality: skip what is already at or below it, re-encode the rest at
//! IJG quality `Q`, and keep the original when the result would not be smaller.
//!
//! This module composes lower layers and is not itself a capability the others call: the skip
//! decision is [`crate::quality`]'s (the same value `jpgtool quality --max-quality` compares),
//! the metadata and sampling policy is the one every re-encoding command shares
//! (`crate::reencode`), and the coding is [`crate::codec`]'s. `shrink` and `mark` stay
//! untouched by it.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::codec::Rounding;
use crate::codec::{self, Decoder, EncoderSettings, MemoryEncoder, Warnings};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::reencode;
pub use crate::reencode::Sampling;

/// How the new file is made from the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// [`Method::Coefficients`] when it can do the job (the output keeps the input's sampling,
    /// no trellis asked for), else [`Method::Pixels`]. Default: requantising with a dead zone
    /// was measured smaller than Pillow's decode + encode at an equal PSNR, with less CPU (see
    /// `docs/recompress.md`). Reports name the method that ran, never this one.
    #[default]
    Auto,
    /// Decode to pixels (no colour conversion, chroma at its coded resolution) and encode
    /// again: the way to change the sampling or use trellis quantisation (`smallest`).
    Pixels,
    /// Requantise the DCT coefficients (jpegtran-style): no IDCT/DCT round trip and no chroma
    /// resampling, AC coefficients rounded as [`Options::rounding`] says; the sampling is kept
    /// and trellis quantisation is not available (`smallest` gives progressive scans only).
    Coefficients,
}

/// The AC rounding [`Method::Coefficients`] uses unless told otherwise: a dead zone of
/// 0.39 for luma and 0.45 for chroma instead of round-to-nearest's 0.5, chosen by measurement
/// against Pillow (`docs/recompress.md`): 5-7 % fewer bytes than rounding to nearest at the
/// same tables, for 0.2-0.3 dB of PSNR.
pub const DEFAULT_ROUNDING: Rounding = Rounding {
    luma_ac: 0.39,
    chroma_ac: 0.45,
};

/// How to recompress. Build with [`Options::new`]; the other fields have defaults.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Target IJG quality, 1..=100: files whose decision quality is at or below it are skipped.
    pub quality: u8,
    /// mozjpeg's progressive scans and trellis quantisation (smaller, slower; the whole output
    /// is buffered as coefficients). Default: false (baseline, optimised Huffman tables).
    pub smallest: bool,
    /// How to re-encode. Default: [`Method::Auto`].
    pub method: Method,
    /// Rounding of requantised AC coefficients ([`Method::Coefficients`] only; the pixel path
    /// is libjpeg's round-to-nearest). Default: [`DEFAULT_ROUNDING`];
    /// [`Rounding::NEAREST`] gives the coefficients of plain requantisation.
    pub rounding: Rounding,
    /// Chroma sampling of the output. Default: the input's. [`Method::Coefficients`] cannot
    /// change it and refuses anything else.
    pub sampling: Sampling,
    /// Subtracted from the IJG-equivalent quality of files with unknown tables before comparing,
    /// as `jpgtool quality --margin`. Default: 5.
    pub margin: f64,
    /// Budget for buffers that grow with the image (libjpeg's coefficient buffers, the output
    /// held in memory). Default: 1 GiB.
    pub max_memory: u64,
    /// Fail on the first libjpeg warning (truncated or corrupt data). Default: false.
    pub strict: bool,
    /// Limits on the input's header. Default: `Limits::default()`.
    pub limits: Limits,
    /// Set to stop at the next row batch with [`Error::Interrupted`]. Default: none.
    pub cancel: Option<&'a AtomicBool>,
    /// Called with (rows encoded, rows in all) after each row batch. Default: none.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl Options<'_> {
    /// Options for target quality `quality` (clamped to 1..=100), everything else by default.
    pub fn new(quality: u8) -> Self {
        Options {
            quality: quality.clamp(1, 100),
            smallest: false,
            method: Method::Auto,
            rounding: DEFAULT_ROUNDING,
            sampling: Sampling::Keep,
            margin: 5.0,
            max_memory: 1 << 30,
            strict: false,
            limits: Limits::default(),
            cancel: None,
            progress: None,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The decision quality is at or below the target (or there is none): nothing written.
    Skipped,
    /// Re-encoded at the target quality, and smaller than the input.
    Recompressed,
    /// Re-encoded, but not smaller than the input: the original is kept.
    KeptOriginal,
}

impl Outcome {
    /// Stable name for reports: `skipped`, `recompressed`, `kept-original`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Skipped => "skipped",
            Outcome::Recompressed => "recompressed",
            Outcome::KeptOriginal => "kept-original",
        }
    }
}

/// What was done, with the figures a report needs.
#[derive(Debug, Clone)]
pub struct Report {
    /// What happened.
    pub outcome: Outcome,
    /// Why, in a few words ("quality 50 <= 60", "re-encoded 12% larger").
    pub reason: String,
    /// Bytes of the input.
    pub input_bytes: u64,
    /// Bytes of the file that stands after the call: the new one when recompressed, else the
    /// input's.
    pub output_bytes: u64,
    /// Bytes the re-encoding gave (also when larger and discarded); `None` when skipped.
    pub encoded_bytes: Option<u64>,
    /// The input's decision quality (see [`crate::quality::Estimate::decision_quality`]);
    /// `None` when its tables give none (lossless).
    pub old_quality: Option<f64>,
    /// The target quality; the quality of the output when recompressed.
    pub new_quality: u8,
    /// How it was re-encoded ([`Method::Pixels`] or [`Method::Coefficients`], never
    /// [`Method::Auto`]); `None` when skipped.
    pub method: Option<Method>,
    /// libjpeg's warnings: data was corrupt or truncated.
    pub warnings: Warnings,
}

impl Report {
    /// Bytes saved (0 unless recompressed).
    pub fn saved(&self) -> u64 {
        self.input_bytes.saturating_sub(self.output_bytes)
    }
}

/// A report, and the new file's bytes when the outcome is [`Outcome::Recompressed`].
pub type Recompressed = (Report, Option<Vec<u8>>);

/// Recompresses the JPEG `input` of `input_bytes` bytes (its length: what the result must be
/// smaller than). Returns the new file only when it is smaller; the caller writes it. Only the
/// header is read when the file is skipped.
///
/// ```
/// use jpgtool::recompress::{Options, Outcome, recompress_bytes};
///
/// let input = std::fs::read("corpus/sample-q75.jpg")?;
/// let (report, output) = recompress_bytes(&input, &Options::new(60))?;
/// assert_eq!(report.outcome, Outcome::Recompressed);
/// assert_eq!(report.old_quality, Some(75.0));
/// let header = jpgtool::jpeg::read_header(&output.unwrap()[..])?;
/// assert_eq!(jpgtool::quality::estimate(&header).quality.map(|q| q.min), Some(60.0));
///
/// // At or below the target: skipped, nothing to write.
/// let (report, output) = recompress_bytes(&input, &Options::new(80))?;
/// assert_eq!((report.outcome, output), (Outcome::Skipped, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recompress<R: Read>(input: R, input_bytes: u64, options: &Options) -> Result<Recompressed> {
    codec::begin_file(options.strict);
    let result = recompress_inner(input, input_bytes, options);
    let warnings = codec::take_warnings();
    let (mut report, output) = result?;
    report.warnings = warnings;
    Ok((report, output))
}

/// [`recompress`] on a file held in memory.
pub fn recompress_bytes(input: &[u8], options: &Options) -> Result<Recompressed> {
    recompress(input, input.len() as u64, options)
}

/// [`recompress`] on a file, read through a buffer (only its header when it is skipped). The
/// error does not name the file: callers add it, as the binary does. Writing the result is
/// the caller's choice (see [`crate::atomic::write_atomically`] for an atomic replacement).
pub fn recompress_file(path: &std::path::Path, options: &Options) -> Result<Recompressed> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    recompress(std::io::BufReader::new(file), len, options)
}

fn recompress_inner<R: Read>(
    input: R,
    input_bytes: u64,
    options: &Options,
) -> Result<Recompressed> {
    let target = options.quality.clamp(1, 100);
    let source = codec::input::Source::read(input, &options.limits)?;
    // A pipe's length reads as 0: every output would be "not smaller", and the caller's copy of
    // the input would start where this read stopped.
    if source.header.scan_offset > input_bytes {
        return Err(Error::Unsupported(format!(
            "an input whose length is not known (given as {input_bytes} bytes, its header alone \
             is {}): recompress needs a file, not a pipe",
            source.header.scan_offset
        )));
    }
    let old_quality =
        crate::quality::estimate(&source.header).decision_quality(false, options.margin);
    let mut report = Report {
        outcome: Outcome::Skipped,
        reason: String::new(),
        input_bytes,
        output_bytes: input_bytes,
        encoded_bytes: None,
        old_quality,
        new_quality: target,
        method: None,
        warnings: Warnings::default(),
    };
    match old_quality {
        None => {
            report.reason = "no quality to compare (lossless)".into();
            return Ok((report, None));
        }
        Some(q) if q <= f64::from(target) => {
            report.reason = format!("quality {} <= {target}", fmt_quality(q));
            return Ok((report, None));
        }
        Some(_) => {}
    }
    reencode::check_supported(&source.header, &options.limits)?;
    let header = source.header.clone();
    let frame = &header.frame;
    let size = (u32::from(frame.width), u32::from(frame.height));
    let markers = source.kept_markers(size, false);
    // The new file must be smaller than the input: libjpeg stops as soon as it is not.
    let cap = input_bytes.saturating_sub(1);

    let method = match options.method {
        Method::Auto => {
            let kept = options.sampling == Sampling::Keep
                || reencode::output_sampling(&header, options.sampling)
                    == reencode::output_sampling(&header, Sampling::Keep);
            if kept && !options.smallest {
                Method::Coefficients
            } else {
                Method::Pixels
            }
        }
        chosen => chosen,
    };
    let encoded = match method {
        Method::Auto => unreachable!("resolved above"),
        Method::Pixels => {
            let sampling = reencode::output_sampling(&header, options.sampling);
            // Optimised Huffman tables need the whole image as coefficients (trellis keeps a
            // second copy); a progressive input adds libjpeg's decoding buffer.
            let mut memory = codec::smallest_buffer_bytes(size.0.into(), size.1.into(), &sampling);
            if codec::is_multi_scan(&header) {
                memory += codec::coefficient_buffer_bytes(&header);
            }
            budget(memory.saturating_add(cap), options.max_memory)?;
            let replay = source.replay();
            let mut decoder = Decoder::start(replay, 8)?;
            let settings = EncoderSettings {
                width: decoder.width(),
                height: decoder.height(),
                color: decoder.color(),
                quality: target,
                sampling,
                profile: if options.smallest {
                    codec::Profile::Smallest
                } else {
                    codec::Profile::Fastest
                },
                density: decoder.density().map(|d| codec::PixelDensity {
                    unit: d.unit,
                    x: d.x,
                    y: d.y,
                }),
            };
            match MemoryEncoder::start(&settings, &markers, cap)
                .and_then(|encoder| transcode(&mut decoder, encoder, options))
            {
                Ok(bytes) => {
                    decoder.finish()?;
                    Some(bytes)
                }
                Err(Error::LimitExceeded { what, .. }) if what == codec::OUTPUT_BYTES => None,
                Err(err) => return Err(err),
            }
        }
        Method::Coefficients => {
            if options.method == Method::Coefficients && options.sampling != Sampling::Keep {
                return Err(Error::Unsupported(
                    "another chroma sampling when requantising coefficients".into(),
                ));
            }
            // Held whole: the input (bounded by the replay's limit) and its coefficients.
            let memory = codec::coefficient_buffer_bytes(&header).saturating_mul(2);
            budget(
                memory.saturating_add(cap).saturating_add(input_bytes),
                options.max_memory,
            )?;
            let mut whole = Vec::new();
            source.replay().read_to_end(&mut whole)?;
            if options.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(Error::Interrupted);
            }
            match codec::requantize(
                &whole,
                target,
                options.smallest,
                options.rounding,
                &markers,
                cap,
            ) {
                Ok(bytes) => Some(bytes),
                Err(Error::LimitExceeded { what, .. }) if what == codec::OUTPUT_BYTES => None,
                Err(err) => return Err(err),
            }
        }
    };
    report.method = Some(method);
    match encoded {
        Some(bytes) if (bytes.len() as u64) < input_bytes => {
            report.outcome = Outcome::Recompressed;
            report.output_bytes = bytes.len() as u64;
            report.encoded_bytes = Some(bytes.len() as u64);
            report.reason = format!(
                "quality {} > {target}",
                fmt_quality(old_quality.unwrap_or(0.0))
            );
            Ok((report, Some(bytes)))
        }
        _ => {
            // Stopped at the input's size: the exact size of a larger result is not known.
            report.outcome = Outcome::KeptOriginal;
            report.reason = format!("re-encoded at {target}, not smaller than the original");
            Ok((report, None))
        }
    }
}

/// Rows decoded per batch (two iMCU rows of 4:2:0).
const BATCH_ROWS: usize = 16;

fn transcode<R: std::io::BufRead>(
    decoder: &mut Decoder<R>,
    mut encoder: MemoryEncoder,
    options: &Options,
) -> Result<Vec<u8>> {
    let row_len = encoder.row_len();
    let total = decoder.height();
    let mut rows = vec![0u8; row_len * BATCH_ROWS];
    let mut done = 0;
    while done < total {
        if options.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        let n = (total - done).min(BATCH_ROWS);
        decoder.read_rows(&mut rows[..n * row_len])?;
        encoder.write_rows(&rows[..n * row_len])?;
        done += n;
        if let Some(progress) = options.progress {
            progress(done as u64, total as u64);
        }
    }
    encoder.finish()
}

fn budget(value: u64, limit: u64) -> Result<()> {
    if value > limit {
        return Err(Error::LimitExceeded {
            what: "recompress buffers in bytes (--max-memory)",
            value,
            limit,
        });
    }
    Ok(())
}

/// A quality as reports print it: whole numbers without decimals.
pub fn fmt_quality(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.1}")
    }
}
