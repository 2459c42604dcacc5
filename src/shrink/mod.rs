//! Downscaling in the DCT domain, one row batch at a time: libjpeg's scaled IDCT (`M/8`) feeds a
//! streaming baseline encoder, with a streaming resampler between them for other sizes, and a
//! DC-only decoder of our own for progressive files at 1/8.

mod band_path;
mod dc_path;
pub mod idct;
pub mod plan;
pub mod resample;

use std::io::{self, BufRead, Read, Seek, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::codec::{self, Decoder, Encoder, EncoderSettings, Warnings};
use crate::error::{Error, Result};
use crate::jpeg::progressive::{self, BandPlan};
use crate::jpeg::{Input, Parser, Process, Seekable, Streamed};
use crate::limits::Limits;
use crate::reencode;
pub use crate::reencode::{QualitySource, Sampling};
pub use plan::{Filter, Plan, Target};
use resample::Resampler;

/// The highest quality a downscaled output gets unless one is given: a thumbnail does not
/// inherit a camera's q98. Chosen by measurement against libvips' (75) and sharp's (80)
/// defaults; see `docs/shrink.md`.
pub const DOWNSCALED_QUALITY: u8 = 80;

/// Consumer of rows of interleaved samples; the pipeline's stages are chained through it.
pub trait RowSink {
    /// Takes a whole number of rows.
    fn write_rows(&mut self, rows: &[u8]) -> Result<()>;
}

/// How to shrink. `Default` gives 1/2 at the source's estimated quality.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Output size. Default: `Target::Eighths(4)` (1/2).
    pub target: Target,
    /// Output IJG quality 1..=100. Default: the source's own estimated quality, capped at
    /// [`DOWNSCALED_QUALITY`] when the output is smaller than the input.
    pub quality: Option<u8>,
    /// Keep only the ICC profile and the EXIF orientation, as libvips and sharp do. Default:
    /// false (EXIF, XMP, ICC, IPTC and comments kept, their dimensions brought up to date).
    pub strip: bool,
    /// Default: keep the input's.
    pub sampling: Sampling,
    /// Kernel for sizes that are not `M/8`. Default: area.
    pub filter: Filter,
    /// Let the DCT do all of a reduction (no 2x left for the resampler). Default: false.
    pub fast: bool,
    /// mozjpeg's progressive/trellis encoder, which buffers the output. Default: false.
    pub smallest: bool,
    /// Budget for buffers that grow with the image (libjpeg's coefficient buffer for progressive
    /// input, `smallest`'s output buffer, the DC planes). Default: 1 GiB.
    pub max_memory: u64,
    /// Fail on the first libjpeg warning (truncated or corrupt data). Default: false (count them).
    pub strict: bool,
    /// Decode progressive files with jpgtool's own decoders: at 1/8 from their DC scans alone,
    /// at 1/4 and 1/2 from a compact store of the coefficients libjpeg's reduced IDCT reads (5x5
    /// or 7x7 of 8x8 per block). `false` hands them to libjpeg, which holds every coefficient.
    /// Default: true.
    pub dc_only: bool,
    /// Limits on the input's header. Default: `Limits::default()`.
    pub limits: Limits,
    /// Set to stop at the next row batch with [`Error::Interrupted`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called with (output rows written, output rows in all) after each row batch.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            target: Target::Eighths(4),
            quality: None,
            strip: false,
            sampling: Sampling::Keep,
            filter: Filter::Area,
            fast: false,
            smallest: false,
            max_memory: 1 << 30,
            strict: false,
            dc_only: true,
            limits: Limits::default(),
            cancel: None,
            progress: None,
        }
    }
}

/// Which decoder did the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodePath {
    /// libjpeg, one row batch at a time (sequential, interleaved input).
    Streaming,
    /// libjpeg with its whole-image coefficient buffer (progressive or multi-scan input).
    Buffered {
        /// Bytes of the coefficient buffer.
        coefficient_bytes: u64,
    },
    /// jpgtool's own DC-only decoder (progressive input at 1/8).
    DcOnly {
        /// Bytes of the DC planes.
        dc_bytes: u64,
    },
    /// jpgtool's own progressive decoder keeping the coefficients libjpeg's reduced IDCT reads
    /// (7x7 per block at 1/2, 5x5 at 1/4), in horizontal bands when the whole store does not
    /// fit `max_memory` or, for an input that can seek, [`BAND_STORE`].
    Bands {
        /// Bytes of the compact coefficient store for the whole image.
        store_bytes: u64,
        /// Passes over the file, one per band.
        passes: usize,
    },
}

/// What was done.
#[derive(Debug, Clone)]
pub struct Report {
    /// Input size in pixels.
    pub input: (u32, u32),
    /// Output size in pixels.
    pub output: (u32, u32),
    /// How the size was reached (DCT scale, then resampling).
    pub plan: Plan,
    /// Output quality.
    pub quality: u8,
    /// Where the output quality came from.
    pub quality_source: QualitySource,
    /// Which decoder did the work.
    pub path: DecodePath,
    /// libjpeg's (and the DC decoder's) warnings: data was corrupt or truncated.
    pub warnings: Warnings,
}

/// Reads a JPEG from `input` and writes the shrunk JPEG to `output`. The output is complete
/// only when this returns `Ok`; on error the caller discards what was written.
///
/// ```
/// use jpgtool::shrink::{Options, Target, shrink};
///
/// // A 227x149 photo to a quarter of its size, into memory. M/8 scales round up (ceil(W*M/8)).
/// let input = std::fs::read("corpus/sample-q75.jpg")?;
/// let options = Options { target: Target::Eighths(2), ..Options::default() };
/// let (report, jpeg) = shrink(&input[..], Vec::new(), &options)?;
/// assert_eq!((report.input, report.output), ((227, 149), (57, 38)));
/// assert_eq!(report.quality, 75); // the source's own quality, read from its tables
/// assert_eq!(jpgtool::jpeg::read_header(&jpeg[..])?.frame.width, 57);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shrink<R: Read, W: Write>(input: R, output: W, options: &Options) -> Result<(Report, W)> {
    codec::begin_file(options.strict);
    let result = shrink_inner(input, output, options, None);
    let warnings = codec::take_warnings();
    let (mut report, output) = result?;
    report.warnings = warnings;
    Ok((report, output))
}

/// [`shrink`] for an input that can seek (a file), read from its current position: a
/// progressive file at 1/2 or 1/4 whose coefficient store does not fit `max_memory` is then
/// decoded in bands, one pass over the file per band, instead of being refused.
pub fn shrink_seekable<'r, R: Read + Seek + 'r, W: Write>(
    mut input: R,
    output: W,
    options: &Options,
) -> Result<(Report, W)> {
    codec::begin_file(options.strict);
    let start = input.stream_position();
    let result = match start {
        Ok(start) => {
            let rewind = move |mut r: R| -> io::Result<Box<dyn Input + 'r>> {
                r.seek(io::SeekFrom::Start(start))?;
                Ok(Box::new(Seekable::with_capacity(READ_BUFFER, r)))
            };
            shrink_inner(input, output, options, Some(&rewind))
        }
        // Not seekable after all (a pipe opened as a file).
        Err(_) => shrink_inner(input, output, options, None),
    };
    let warnings = codec::take_warnings();
    let (mut report, output) = result?;
    report.warnings = warnings;
    Ok((report, output))
}

/// Puts an input back at the start of the JPEG as an input that can seek there again, for the
/// band decoder's later passes.
type Rewind<'a, 'r, R> = &'a dyn Fn(R) -> io::Result<Box<dyn Input + 'r>>;

fn shrink_inner<'r, R: Read + 'r, W: Write>(
    input: R,
    output: W,
    options: &Options,
    rewind: Option<Rewind<'_, 'r, R>>,
) -> Result<(Report, W)> {
    // Our own parser reads the header first (to choose the path and refuse what libjpeg should
    // not be given); the bytes it pulled are replayed to the decoder.
    let source = reencode::read_source(input, &options.limits)?;
    let header = source.header.clone();

    let frame = &header.frame;
    let (width, height) = (u32::from(frame.width), u32::from(frame.height));
    let plan = plan::plan(width, height, options.target, options.fast)?;
    let color = header.color_space();
    let channels = codec::channels(color);
    let sampling = reencode::output_sampling(&header, options.sampling);
    let (mut quality, mut quality_source) = reencode::choose_quality(&header, options.quality);
    if options.quality.is_none() && plan.output != (width, height) && quality > DOWNSCALED_QUALITY {
        quality = DOWNSCALED_QUALITY;
        quality_source = QualitySource::Downscaled;
    }
    let markers = source.kept_markers(plan.output, options.strip);
    if options.smallest {
        let bytes =
            codec::smallest_buffer_bytes(plan.output.0.into(), plan.output.1.into(), &sampling);
        budget(
            "--smallest output buffer in bytes (--max-memory)",
            bytes,
            options.max_memory,
        )?;
    }

    let multi_scan = codec::is_multi_scan(&header);
    let own_progressive = multi_scan
        && options.dc_only
        && frame.kind.process() == Process::Progressive
        && !frame.kind.is_arithmetic();
    let use_dc = own_progressive && plan.eighths == 1;
    // 12-bit, hierarchical or DNL-sized frames are refused by the band planner and go to
    // libjpeg as before.
    let bands = if own_progressive && matches!(plan.eighths, 2 | 4) {
        // An input that can seek is decoded in bands of at most BAND_STORE bytes, a pipe in
        // one band of at most max_memory.
        let budget = match rewind {
            Some(_) => options.max_memory.min(BAND_STORE),
            None => options.max_memory,
        };
        match progressive::plan_bands(&header, plan.eighths.into(), budget) {
            Ok(bands) if bands.passes > 1 && rewind.is_none() => {
                return Err(Error::LimitExceeded {
                    what: "progressive coefficient store in bytes (--max-memory; a file, not a \
                           pipe, would be decoded in bands)",
                    value: bands.store_bytes,
                    limit: options.max_memory,
                });
            }
            Ok(bands) => Some(bands),
            Err(Error::Unsupported(_)) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };

    let mut settings = EncoderSettings {
        width: plan.output.0 as usize,
        height: plan.output.1 as usize,
        color,
        quality,
        sampling,
        profile: if options.smallest {
            codec::Profile::Smallest
        } else {
            codec::Profile::Fastest
        },
        density: None,
    };
    let mut report = Report {
        input: (width, height),
        output: plan.output,
        plan,
        quality,
        quality_source,
        path: DecodePath::Streaming,
        warnings: Warnings::default(),
    };

    if let Some(bands) = bands {
        report.path = DecodePath::Bands {
            store_bytes: bands.store_bytes,
            passes: bands.passes,
        };
        let encoder = Encoder::start(output, &settings, &markers)?;
        let sink = EncoderSink::new(encoder, plan.output.1, options);
        let written = match rewind {
            Some(rewind) => {
                let input = rewind(source.into_rest())?;
                run_bands(input, &header, bands, &plan, channels, sink, options)?
            }
            None => {
                let input = Streamed::new(source.replay());
                run_bands(input, &header, bands, &plan, channels, sink, options)?
            }
        };
        return Ok((report, written));
    }

    let replay = source.replay();
    if use_dc {
        let dc_bytes = dc_path::dc_bytes(&header);
        budget(
            "DC coefficient planes in bytes (--max-memory)",
            dc_bytes,
            options.max_memory,
        )?;
        report.path = DecodePath::DcOnly { dc_bytes };
        let encoder = Encoder::start(output, &settings, &markers)?;
        let sink = EncoderSink::new(encoder, plan.output.1, options);
        let written = dc_path::run(replay, &plan, channels, sink, options)?;
        return Ok((report, written));
    }

    if multi_scan {
        let bytes = codec::coefficient_buffer_bytes(&header);
        budget(
            "libjpeg coefficient buffer for this progressive/multi-scan file in bytes (--max-memory)",
            bytes,
            options.max_memory,
        )?;
        report.path = DecodePath::Buffered {
            coefficient_bytes: bytes,
        };
    }
    let mut decoder = Decoder::start(replay, plan.eighths)?;
    if decoder.color() != color
        || (decoder.width(), decoder.height()) != (plan.decoded.0 as usize, plan.decoded.1 as usize)
    {
        return Err(Error::Unsupported(format!(
            "libjpeg reads this file as {} {}x{}, jpgtool as {} {}x{}",
            decoder.color().name(),
            decoder.width(),
            decoder.height(),
            color.name(),
            plan.decoded.0,
            plan.decoded.1
        )));
    }
    settings.density = decoder.density().map(|d| codec::PixelDensity {
        unit: d.unit,
        x: d.x,
        y: d.y,
    });
    let encoder = Encoder::start(output, &settings, &markers)?;
    let sink = EncoderSink::new(encoder, plan.output.1, options);
    let written = if plan.resamples() {
        let mut resampler = Resampler::new(
            sink,
            channels,
            (plan.decoded.0 as usize, plan.decoded.1 as usize),
            (plan.output.0 as usize, plan.output.1 as usize),
            options.filter,
        );
        pump(&mut decoder, &mut resampler)?;
        decoder.finish()?;
        resampler.into_sink().finish()?
    } else {
        let mut sink = sink;
        pump(&mut decoder, &mut sink)?;
        decoder.finish()?;
        sink.finish()?
    };
    Ok((report, written))
}

/// Largest coefficient store the band decoder holds at once for an input that can seek, below
/// `max_memory`: more passes over the file are cheaper than the memory, since each pass
/// decodes only its own rows of every scan and seeks past the rest (the entropy-coded data is
/// decoded once in all; only the segments between scans are read again). So memory stays
/// bounded whatever the image size, as `--stream` promises.
pub const BAND_STORE: u64 = 96 << 20;

/// Read buffer of the band decoder's input.
const READ_BUFFER: usize = 256 << 10;

/// Runs the band decoder on `input` (the whole file from SOI) into the encoder, through the
/// resampler when the plan asks for another size.
fn run_bands<I: Input, W: Write>(
    input: I,
    header: &crate::jpeg::Header,
    bands: BandPlan,
    plan: &Plan,
    channels: usize,
    sink: EncoderSink<'_, '_, W>,
    options: &Options,
) -> Result<W> {
    let mut parser = Parser::new(input).with_limits(&options.limits);
    let read = parser.read_header()?;
    if read != *header {
        return Err(Error::Unsupported(
            "a header that reads differently twice".into(),
        ));
    }
    let (warnings, written) = if plan.resamples() {
        let mut resampler = Resampler::new(
            sink,
            channels,
            (plan.decoded.0 as usize, plan.decoded.1 as usize),
            (plan.output.0 as usize, plan.output.1 as usize),
            options.filter,
        );
        let warnings = band_path::run(&mut parser, header, bands, plan, &mut resampler, options)?;
        (warnings, resampler.into_sink())
    } else {
        let mut sink = sink;
        let warnings = band_path::run(&mut parser, header, bands, plan, &mut sink, options)?;
        (warnings, sink)
    };
    for warning in warnings {
        codec::warn(warning)?;
    }
    written.finish()
}

/// Rows read from libjpeg per call: two iMCU rows of 4:2:0 at full scale, few enough to stay in
/// cache at 24000 px wide.
const BATCH_ROWS: usize = 16;

fn pump<R: BufRead>(decoder: &mut Decoder<R>, sink: &mut impl RowSink) -> Result<()> {
    let row_len = decoder.width() * decoder.channels();
    let mut rows = vec![0u8; row_len * BATCH_ROWS];
    let mut left = decoder.height();
    while left > 0 {
        let n = left.min(BATCH_ROWS);
        decoder.read_rows(&mut rows[..n * row_len])?;
        sink.write_rows(&rows[..n * row_len])?;
        left -= n;
    }
    Ok(())
}

/// The end of every pipeline: the encoder, with progress reports and cancellation.
pub(crate) struct EncoderSink<'a, 'm, W: Write> {
    encoder: Encoder<'m, W>,
    row_len: usize,
    rows_done: u64,
    rows_total: u64,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl<'a, 'm, W: Write> EncoderSink<'a, 'm, W> {
    fn new(encoder: Encoder<'m, W>, rows_total: u32, options: &Options<'a>) -> Self {
        let row_len = encoder.row_len();
        EncoderSink {
            encoder,
            row_len,
            rows_done: 0,
            rows_total: rows_total.into(),
            cancel: options.cancel,
            progress: options.progress,
        }
    }

    fn finish(self) -> Result<W> {
        self.encoder.finish()
    }
}

impl<W: Write> RowSink for EncoderSink<'_, '_, W> {
    fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        self.encoder.write_rows(rows)?;
        self.rows_done += (rows.len() / self.row_len) as u64;
        if let Some(progress) = self.progress {
            progress(self.rows_done, self.rows_total);
        }
        Ok(())
    }
}

fn budget(what: &'static str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        return Err(Error::LimitExceeded { what, value, limit });
    }
    Ok(())
}
