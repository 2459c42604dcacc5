//! Invisible, keyed watermarks: `mark` hides a 32-byte payload, `verify` checks a claimed one.
//!
//! Layer 1 (this module's histogram layer) writes a keyed pseudo-random codeword of the payload
//! into the shape of the histogram of the low-pass luma (see [`histogram`]). A histogram does
//! not depend on where pixels are, so the mark survives rotation, scaling, crops and flips; it
//! carries 98 raw bits, enough to prove a claimed payload at a false-positive rate of
//! 1e-8 ([`detect`]) but not to extract 256 bits blind (that is layer 2's job).

pub mod analysis;
pub mod detect;
pub mod ecc;
pub mod embed;
pub mod histogram;
pub mod key;
pub mod lowpass;
pub mod periodic;
pub mod ssim;
pub mod sync;

use std::io::{Read, Write};

use crate::codec::{self, Decoder, Encoder, EncoderSettings, PixelDensity, Warnings};
use crate::error::{Error, Result};
use crate::jpeg::{ColorSpace, Process};
use crate::limits::Limits;
use crate::reencode::{self, QualitySource, Source};
pub use analysis::ChannelExtremes;
pub use detect::Detection;
pub use embed::{EmbedSettings, GroupState};
use histogram::Grid;
pub use key::{Key, Payload};
use lowpass::Plane;
pub use periodic::{Extraction, PatternSettings};

/// `mark` refuses to write a mark whose own output scores below this (the "as is" threshold,
/// 5.89, plus a margin for what attacks take away): a weak mark would fail silently later.
pub const REQUIRED_SCORE: f64 = 6.5;

/// The codeword of `payload` under `key`: one ±1 per raw bit of the histogram layer.
pub fn codeword(key: &Key, payload: &Payload, grid: &Grid) -> Vec<f32> {
    key::signs(
        &mut key.stream("histogram codeword", &payload.0),
        grid.raw_bits(),
    )
}

/// Marks a luma plane (grey levels 0..=255); returns the change to add to it.
pub fn mark_luma(
    luma: &Plane,
    key: &Key,
    payload: &Payload,
    settings: &EmbedSettings,
) -> embed::EmbedOutcome {
    let grid = Grid::from_key(key);
    embed::embed(luma, &grid, &codeword(key, payload, &grid), settings)
}

/// Tests whether a luma plane carries `payload` under `key`.
pub fn verify_luma(luma: &Plane, key: &Key, payload: &Payload) -> Detection {
    verify_planes(luma, None, key, payload)
}

/// Tests whether a luma plane carries `payload` under `key`; `extremes`, the colour image's
/// brightest and darkest channels, lets the tone search leave out channel-clipped pixels.
pub fn verify_planes(
    luma: &Plane,
    extremes: Option<&ChannelExtremes>,
    key: &Key,
    payload: &Payload,
) -> Detection {
    verify_lazily(
        luma,
        |analysis| extremes.and_then(|e| analysis.colour_masked(e)),
        key,
        payload,
    )
}

/// [`verify_planes`] with the extremes made only if the tone search gets to the colour mask
/// (a marked image usually matches before).
fn verify_lazily(
    luma: &Plane,
    colour_masked: impl FnOnce(&analysis::Analysis) -> Option<analysis::Analysis>,
    key: &Key,
    payload: &Payload,
) -> Detection {
    let analysis = analysis::analyse(luma);
    let grid = Grid::from_key(key);
    detect::detect(
        &analysis,
        || colour_masked(&analysis),
        &grid,
        &codeword(key, payload, &grid),
    )
}

/// How to mark.
#[derive(Debug, Clone, Default)]
pub struct MarkOptions {
    /// Output IJG quality. Default: the input's estimated quality.
    pub quality: Option<u8>,
    pub limits: Limits,
    /// Fail on the first libjpeg warning (corrupt or truncated input). Default: false.
    pub strict: bool,
    pub embed: EmbedSettings,
    /// Layer 2's strength.
    pub pattern: PatternSettings,
}

/// What `mark` did.
#[derive(Debug, Clone)]
pub struct MarkReport {
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub quality_source: QualitySource,
    /// Luma PSNR of the written file against the input, dB (mark and re-encoding together).
    pub psnr: f64,
    /// Mean SSIM of the written file's luma against the input's (`None` under 11 x 11 pixels).
    pub ssim: Option<f64>,
    /// What the payload pattern's amplitude was multiplied by to keep the SSIM floor.
    pub pattern_scale: f32,
    /// The written file, verified as `verify` would ("as is" tier).
    pub check: Detection,
    /// The written file through layer 2's blind extraction.
    pub extraction: Extraction,
    /// Groups by outcome: satisfied, short, given up, empty.
    pub groups: [usize; 4],
    pub passes: usize,
    pub warnings: Warnings,
}

impl MarkReport {
    /// Score above the "as is" threshold.
    pub fn margin(&self) -> f64 {
        self.check.score - self.check.threshold
    }

    /// Whether layer 1 holds with margin in the written file.
    pub fn histogram_holds(&self) -> bool {
        self.check.tier == "as is" && self.check.score >= REQUIRED_SCORE
    }

    /// Whether layer 2 gives the payload back from the written file.
    pub fn payload_layer_holds(&self) -> bool {
        self.extraction.payload.is_some()
    }
}

/// Reads a JPEG, marks it and writes the marked JPEG (same size, sampling, metadata; quality
/// as estimated). Refuses with [`Error::CannotMark`] when the image cannot carry the mark with
/// margin. The output is complete only when this returns `Ok`.
pub fn mark<R: Read, W: Write>(
    input: R,
    mut output: W,
    key: &Key,
    payload: &Payload,
    options: &MarkOptions,
) -> Result<(MarkReport, W)> {
    codec::begin_file(options.strict);
    let result = (|| -> Result<(MarkReport, W)> {
        let source = reencode::read_source(input, &options.limits)?;
        let (quality, quality_source) = reencode::choose_quality(&source.header, options.quality);
        let sampling = reencode::output_sampling(&source.header, reencode::Sampling::Keep);
        let (w, h) = (source.header.frame.width, source.header.frame.height);
        let markers = source.kept_markers((w.into(), h.into()));
        let mut image = decode(source, &options.limits)?;
        let luma = image.luma()?;
        // Layer 2's pattern first: layer 1's closed loop then measures (and shapes) the
        // histogram of the image that carries it.
        let mut delta = periodic::pattern(&luma, key, payload, &options.pattern);
        let with_pattern = Plane {
            data: luma.data.iter().zip(&delta).map(|(l, d)| l + d).collect(),
            ..luma.clone()
        };
        let outcome = mark_luma(&with_pattern, key, payload, &options.embed);
        drop(with_pattern);
        // Then the pattern is scaled down where the output would fall under the SSIM floor.
        // Layer 1's change stays: it is low-pass, the pattern's scale barely moves the
        // histogram it shaped, and the written file is checked below all the same.
        let pattern_scale = fit_to_ssim(
            &luma,
            &outcome.delta,
            &mut delta,
            quality,
            options.pattern.min_ssim,
            &options.limits,
        )?;
        delta
            .iter_mut()
            .zip(&outcome.delta)
            .for_each(|(d, h)| *d += h);
        image.add_to_luma(&delta);
        drop(delta);
        let settings = EncoderSettings {
            width: image.width,
            height: image.height,
            color: image.color,
            quality,
            sampling,
            smallest: false,
            density: image.density.take(),
        };
        let mut encoded = Vec::new();
        let mut encoder = Encoder::start(&mut encoded, &settings, &markers)?;
        encoder.write_rows(&image.samples)?;
        encoder.finish()?;

        // Check the file as written, as `verify` will see it.
        let written = decode(
            reencode::read_source(&encoded[..], &options.limits)?,
            &options.limits,
        )?;
        let written_luma = written.luma()?;
        // Only the "as is" tier counts here, and it does not use the colour mask.
        let check = verify_luma(&written_luma, key, payload);
        let extraction = periodic::extract(&written_luma, key);
        let mut groups = [0usize; 4];
        for g in &outcome.groups {
            groups[match g {
                GroupState::Satisfied => 0,
                GroupState::Short => 1,
                GroupState::GivenUp => 2,
                GroupState::Empty => 3,
            }] += 1;
        }
        let histogram_holds = check.tier == "as is" && check.score >= REQUIRED_SCORE;
        if !histogram_holds && extraction.payload != Some(*payload) {
            return Err(Error::CannotMark(format!(
                "neither layer holds in the marked output: the histogram mark scores {:.2}, \
                 below the required {REQUIRED_SCORE:.1} ({} of {} grey-level groups hold enough \
                 smooth pixels, {} reached their shape), and the payload pattern cannot be \
                 read back: the image is too small, too flat, too busy or too dark/bright",
                check.score,
                check.occupied_groups,
                outcome.groups.len(),
                groups[0]
            )));
        }
        output.write_all(&encoded)?;
        Ok((
            MarkReport {
                width: w.into(),
                height: h.into(),
                quality,
                quality_source,
                psnr: psnr(&luma, &written_luma),
                ssim: ssim::mean_ssim(&luma, &written_luma),
                pattern_scale,
                check,
                extraction,
                groups,
                passes: outcome.passes,
                warnings: Warnings::default(),
            },
            output,
        ))
    })();
    let warnings = codec::take_warnings();
    let (mut report, output) = result?;
    report.warnings = warnings;
    Ok((report, output))
}

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub limits: Limits,
    pub strict: bool,
    /// Which layers may confirm a claimed payload (blind extraction always uses layer 2).
    pub layers: Layers,
}

/// Which layers `verify` consults for a claimed payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layers {
    /// Layer 2, then layer 1 if layer 2 does not confirm the payload.
    #[default]
    Either,
    /// Layer 1 only (the histogram's own robustness).
    Histogram,
    /// Layer 2 only.
    Pattern,
}

/// Which layer confirmed a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Layer 1, the histogram shape (claimed payloads only).
    Histogram,
    /// Layer 2, the periodic payload pattern.
    Pattern,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Histogram => "histogram",
            Layer::Pattern => "pattern",
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub width: u32,
    pub height: u32,
    /// Layer 1's test of the claimed payload (`None` for blind extraction, or when layer 2
    /// already confirmed it).
    pub detection: Option<Detection>,
    /// Layer 2's blind extraction (`None` with `Layers::Histogram`).
    pub extraction: Option<Extraction>,
    pub warnings: Warnings,
}

impl VerifyReport {
    /// The layer that confirms `claimed`, if any.
    pub fn confirmed_by(&self, claimed: &Payload) -> Option<Layer> {
        if self
            .extraction
            .as_ref()
            .is_some_and(|e| e.payload.as_ref() == Some(claimed))
        {
            Some(Layer::Pattern)
        } else if self.detection.as_ref().is_some_and(|d| d.matched) {
            Some(Layer::Histogram)
        } else {
            None
        }
    }

    /// The payload layer 2 extracted, if any.
    pub fn extracted(&self) -> Option<Payload> {
        self.extraction.as_ref().and_then(|e| e.payload)
    }
}

/// Reads a JPEG and tests whether it carries `claimed` under `key` (either layer), or with
/// `claimed` `None` extracts the payload blind (layer 2).
pub fn verify<R: Read>(
    input: R,
    key: &Key,
    claimed: Option<&Payload>,
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    codec::begin_file(options.strict);
    let result = (|| -> Result<VerifyReport> {
        let source = reencode::read_source(input, &options.limits)?;
        let image = decode(source, &options.limits)?;
        let luma = image.luma()?;
        // Layer 2 first: on a marked image it answers in one extraction (70-120 ms at 2 MP),
        // where layer 1 may have to search every tone before saying no.
        let histogram_only = claimed.is_some() && options.layers == Layers::Histogram;
        let extraction = (!histogram_only).then(|| periodic::extract(&luma, key));
        let confirmed =
            claimed.is_some() && extraction.as_ref().and_then(|e| e.payload) == claimed.copied();
        let detection = claimed
            .filter(|_| options.layers != Layers::Pattern && !confirmed)
            .map(|payload| {
                let masked = |analysis: &analysis::Analysis| {
                    image
                        .channel_extremes()
                        .and_then(|e| analysis.colour_masked(&e))
                };
                verify_lazily(&luma, masked, key, payload)
            });
        Ok(VerifyReport {
            width: image.width as u32,
            height: image.height as u32,
            detection,
            extraction,
            warnings: Warnings::default(),
        })
    })();
    let warnings = codec::take_warnings();
    let mut report = result?;
    report.warnings = warnings;
    Ok(report)
}

/// A whole decoded image, interleaved samples in the file's colour space.
struct Image {
    width: usize,
    height: usize,
    color: ColorSpace,
    samples: Vec<u8>,
    density: Option<PixelDensity>,
}

/// Bytes of working memory per pixel while marking or verifying: the samples plus at most
/// eleven f32 planes (luma, the change, two analyses, the colour extremes).
const WORK_BYTES_PER_PIXEL: u64 = 3 + 11 * 4;

fn decode<R: Read>(source: Source<R>, limits: &Limits) -> Result<Image> {
    let header = &source.header;
    let frame = &header.frame;
    let pixels = u64::from(frame.width) * u64::from(frame.height);
    limits.check_alloc(pixels * WORK_BYTES_PER_PIXEL)?;
    let multi_scan = frame.kind.process() == Process::Progressive
        || header.first_scan.components.len() < frame.components.len();
    if multi_scan {
        limits.check_alloc(crate::shrink::coefficient_buffer_bytes(header))?;
    }
    let color = header.color_space();
    if matches!(color, ColorSpace::Cmyk | ColorSpace::Ycck) {
        return Err(Error::Unsupported(format!(
            "{} images (watermarks need a luma channel)",
            color.name()
        )));
    }
    let mut decoder = Decoder::start(source.replay(), 8)?;
    if decoder.color() != color {
        return Err(Error::Unsupported(format!(
            "libjpeg reads this file as {}, jpgtool as {}",
            decoder.color().name(),
            color.name()
        )));
    }
    let (width, height) = (decoder.width(), decoder.height());
    let mut samples = vec![0u8; width * height * decoder.channels()];
    decoder.read_rows(&mut samples)?;
    let density = decoder.density().map(|d| PixelDensity {
        unit: d.unit,
        x: d.x,
        y: d.y,
    });
    decoder.finish()?;
    Ok(Image {
        width,
        height,
        color,
        samples,
        density,
    })
}

impl Image {
    fn luma(&self) -> Result<Plane> {
        let data = match self.color {
            ColorSpace::Gray => self.samples.iter().map(|&v| f32::from(v)).collect(),
            ColorSpace::YCbCr => self
                .samples
                .chunks_exact(3)
                .map(|p| f32::from(p[0]))
                .collect(),
            ColorSpace::Rgb => self
                .samples
                .chunks_exact(3)
                .map(|p| {
                    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
                })
                .collect(),
            other => return Err(Error::Unsupported(format!("{} images", other.name()))),
        };
        Ok(Plane {
            width: self.width,
            height: self.height,
            data,
        })
    }

    /// The brightest and darkest colour channel per pixel; `None` for grey images.
    fn channel_extremes(&self) -> Option<ChannelExtremes> {
        match self.color {
            ColorSpace::Rgb => Some(ChannelExtremes::from_rgb(
                self.width,
                self.height,
                &self.samples,
            )),
            ColorSpace::YCbCr => Some(ChannelExtremes::from_ycbcr(
                self.width,
                self.height,
                &self.samples,
            )),
            _ => None,
        }
    }

    /// Adds a luma change: to Y (or grey), or equally to R, G and B.
    fn add_to_luma(&mut self, delta: &[f32]) {
        let channels = codec::channels(self.color);
        let luma_only = self.color != ColorSpace::Rgb;
        for (pixel, &d) in self.samples.chunks_exact_mut(channels).zip(delta) {
            let targets = if luma_only {
                &mut pixel[..1]
            } else {
                &mut pixel[..]
            };
            for v in targets {
                *v = (f32::from(*v) + d).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Passes at most spent fitting the pattern to the SSIM floor.
const SSIM_FIT_PASSES: usize = 4;
/// A fit within this much above the floor is close enough.
const SSIM_FIT_SLACK: f64 = 0.0005;

/// Scales `pattern` down until luma with it and with `fixed`, written as a JPEG of `quality`
/// and read back, has an SSIM of at least `min_ssim` against `luma`, and not much more. Returns
/// the scale applied (1 when the floor holds as is). The JPEG matters: re-quantising the
/// coefficients the pattern moves off the cover's lattice costs as much SSIM again as the
/// pattern (on `fig` 0.0092 for the pattern alone, 0.0125 through the JPEG), and how that part
/// shrinks with the amplitude depends on the image (between the first and the third power in
/// the 8 covers measured): so the loss is measured, and the scale found by a secant on log loss
/// against log scale. Each pass encodes and decodes luma alone, as grey: a YCbCr encoder
/// writes the same luma (the same SSIM to 5 digits on a 3 MP photo); for the rare RGB-coded
/// file it is an estimate, and the written file's own SSIM is reported either way.
fn fit_to_ssim(
    luma: &Plane,
    fixed: &[f32],
    pattern: &mut [f32],
    quality: u8,
    min_ssim: f64,
    limits: &Limits,
) -> Result<f32> {
    let target_loss = 1.0 - min_ssim;
    let mut scale = 1.0f64;
    // The largest scale measured to hold, and the last point measured.
    let mut holding: Option<f64> = None;
    let mut last: Option<(f64, f64)> = None;
    for _ in 0..SSIM_FIT_PASSES {
        let Some(ssim) = ssim_through_jpeg(luma, fixed, pattern, scale as f32, quality, limits)?
        else {
            return Ok(1.0);
        };
        let loss = (1.0 - ssim).max(1e-9);
        if ssim >= min_ssim {
            holding = Some(holding.map_or(scale, |h: f64| h.max(scale)));
            if scale == 1.0 || ssim < min_ssim + SSIM_FIT_SLACK {
                break;
            }
        }
        // loss = c scale^k: k from the last two points, else 1.5 (between the linear and the
        // quadratic cases); aim 2 % under the target loss.
        let power = last
            .filter(|&(s, _)| (s - scale).abs() > 1e-3)
            .map_or(1.5, |(s, l)| {
                ((l / loss).ln() / (s / scale).ln()).clamp(1.0, 4.0)
            });
        last = Some((scale, loss));
        scale = (scale * (0.98 * target_loss / loss).powf(1.0 / power)).min(1.0);
        if holding.is_some_and(|h| scale <= h) {
            break;
        }
    }
    // Unmeasured when no pass held: the last step's estimate.
    let scale = holding.unwrap_or(scale) as f32;
    if scale < 1.0 {
        pattern.iter_mut().for_each(|d| *d *= scale);
    }
    Ok(scale)
}

/// SSIM of `luma` plus `fixed` plus `scale` x `pattern`, written as a grey JPEG of `quality`
/// and read back, against `luma` (`None` for images under one SSIM window).
fn ssim_through_jpeg(
    luma: &Plane,
    fixed: &[f32],
    pattern: &[f32],
    scale: f32,
    quality: u8,
    limits: &Limits,
) -> Result<Option<f64>> {
    let samples: Vec<u8> = luma
        .data
        .iter()
        .zip(fixed.iter().zip(pattern))
        .map(|(l, (f, p))| (l + f + scale * p).round().clamp(0.0, 255.0) as u8)
        .collect();
    let settings = EncoderSettings {
        width: luma.width,
        height: luma.height,
        color: ColorSpace::Gray,
        quality,
        sampling: vec![(1, 1)],
        smallest: false,
        density: None,
    };
    let mut encoded = Vec::new();
    let mut encoder = Encoder::start(&mut encoded, &settings, &[])?;
    encoder.write_rows(&samples)?;
    encoder.finish()?;
    drop(samples);
    let written = decode(reencode::read_source(&encoded[..], limits)?, limits)?.luma()?;
    Ok(ssim::mean_ssim(luma, &written))
}

/// PSNR of `b` against `a`, dB (infinite when equal).
pub fn psnr(a: &Plane, b: &Plane) -> f64 {
    let n = a.data.len().min(b.data.len()).max(1);
    let mse: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        / n as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}
