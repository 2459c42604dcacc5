//! The `mark` flow, step by step: decode, make both layers' change ([`embed_both_layers`],
//! the pattern with its content term, `pattern::content`), write it into the samples, encode,
//! check the written file as `verify` would, and refuse it unless one layer holds and the mark
//! binds to the image.

use std::io::{Read, Write};

use super::cover::CoverLuma;
use super::fit::{Measured, SSIM_FIT_PASSES, fit_to_ssim};
use super::growth;
use super::histogram::{self, embed::GroupState};
use super::image::{Image, decode, decode_luma, encode, encode_keeping_fastest};
use super::pattern::content;
use super::pattern::tile::Pattern;
use super::replace;
use super::signal::Plane;
use super::signal::ssim::mean_ssim_rows;
use super::{
    Detection, Extraction, GroupCounts, Key, MarkOptions, MarkReport, Payload, Progress,
    REQUIRED_SCORE, histogram_holds, pattern, verify_luma,
};
use crate::codec::{self, EncoderSettings, Warnings};
use crate::error::{Error, Result};
use crate::reencode;

/// Reads a JPEG, marks it and writes the marked JPEG (same size, sampling, metadata; quality
/// as estimated). Refuses with [`Error::AlreadyMarked`] when layer 2's blind extraction finds
/// this key's mark in the input (unless `options.force`), and with [`Error::CannotMark`] when
/// the image cannot carry the mark with margin. The output is complete only when this returns
/// `Ok`.
pub fn mark<R: Read, W: Write>(
    input: R,
    mut output: W,
    key: &Key,
    payload: &Payload,
    options: &MarkOptions,
) -> Result<(MarkReport, W)> {
    codec::begin_file(options.strict);
    let gain = options.pattern.max_texture_gain;
    let earlier = if options.force {
        EarlierMark::Replace
    } else {
        EarlierMark::Refuse
    };
    let result = mark_file(input, key, payload, options, earlier, gain);
    let warnings = codec::take_warnings();
    let (mut report, bytes) = result?;
    output.write_all(&bytes)?;
    report.warnings = warnings;
    Ok((report, output))
}

/// What `mark` does about a mark of its key already in the input.
#[derive(Clone, Copy)]
enum EarlierMark {
    /// Refuses the input where it finds one ([`Error::AlreadyMarked`]).
    Refuse,
    /// Takes it out where its payload reads back (`--force`: [`replace`]).
    Replace,
    /// Nothing: a first pass over the same input found none.
    Checked,
}

/// [`mark`] without the per-file warning bookkeeping, doing `earlier` about a mark of the key
/// already there, the pattern's texture part raised by at most `max_gain`: the file's report
/// and bytes.
fn mark_file<R: Read>(
    input: R,
    key: &Key,
    payload: &Payload,
    options: &MarkOptions,
    earlier: EarlierMark,
    max_gain: f64,
) -> Result<(MarkReport, Vec<u8>)> {
    // The bytes libjpeg reads are kept (the compressed file, a small fraction of the decoded
    // image) to decode the input a second time for the write-back: past
    // `KEEP_SAMPLES_BYTES` the decoded samples are not held through the layers' embedding, the
    // stage that needs the most memory.
    let mut recorded = Vec::new();
    let source = reencode::read_source(
        Recorder {
            inner: input,
            bytes: &mut recorded,
        },
        &options.limits,
    )?;
    let (quality, quality_source) = reencode::choose_quality(&source.header, options.quality);
    let sampling = reencode::output_sampling(&source.header, reencode::Sampling::Keep);
    let (width, height) = (source.header.frame.width, source.header.frame.height);
    // Checked before any work: the write-back's transcode holds the image as coefficients.
    options.limits.check_alloc(OUTPUT_PROFILE.buffer_bytes(
        width.into(),
        height.into(),
        &sampling,
    ))?;
    let markers = source.kept_markers((width.into(), height.into()), false);
    // The input's tables, for the growth guard's last resort.
    let input_tables = reencode::InputTables::of(&source.header);
    let mut steps = Steps::new(&options.progress, options.embed.max_passes);
    let mut image = decode(source, &options.limits)?;
    let mut luma = image.luma()?;
    // Small enough, the samples stay for the write-back; larger, they are let go here and
    // decoded again from the recorded bytes after the embedding.
    let samples = std::mem::take(&mut image.samples);
    let kept = (samples.len() <= KEEP_SAMPLES_BYTES).then_some(samples);
    steps.advance(Steps::DECODE);
    let removal = match earlier {
        EarlierMark::Refuse => {
            refuse_if_marked(&luma, key)?;
            None
        }
        EarlierMark::Replace => replace::take_out(&mut luma, key, &options.pattern),
        EarlierMark::Checked => None,
    };
    // The extraction's planes, freed, would otherwise stay resident through the embedding.
    super::trim::release_freed_memory();
    steps.advance(Steps::REMARK_CHECK);
    let pattern = pattern::pattern(&luma, key, payload, &options.pattern, content::SHARE);
    steps.advance(Steps::PATTERN);
    let luma = CoverLuma::new(luma);
    let may_raise = quality_source != reencode::QualitySource::Given;
    let change = embed_both_layers(
        &luma, pattern, key, payload, quality, may_raise, max_gain, options, &mut steps,
    )?;
    let quality = change.quality;
    let input_bytes = recorded.len();
    image.samples = match kept {
        Some(samples) => samples,
        None => {
            // The same bytes decode to the same samples; their warnings were counted the
            // first time.
            let warnings = codec::take_warnings();
            let samples = decode(
                reencode::read_source(&recorded[..], &options.limits)?,
                &options.limits,
            )?
            .samples;
            codec::take_warnings();
            codec::restore_warnings(warnings);
            samples
        }
    };
    // Kept while a gain may have to be undone.
    let recorded = (may_raise && change.pattern_scale > 1.0).then_some(recorded);
    let mut delta = change.delta;
    let replaced = removal.map(|removal| {
        removal.add_to(&mut delta);
        removal.earlier
    });
    image.add_to_luma(&delta);
    drop(delta);
    // The baseline file the output is transcoded from is kept for the self-check: the same
    // samples, decoded several times faster than the progressive output.
    let (encoded, fastest) = encode_keeping_fastest(
        &output_settings(&image, quality, &sampling),
        &markers,
        &image.samples,
    )?;
    // A file grown by 10 % or more at a quality `mark` chose: smaller files, checked below,
    // may replace it ([`growth::candidates`]).
    let candidates = if may_raise && growth::too_large(encoded.len(), input_bytes) {
        growth::candidates(quality, input_bytes, input_tables, |q, tables| {
            encode_marked(&image, q, tables, &sampling, &markers)
        })?
    } else {
        Vec::new()
    };
    // From here on each full-resolution plane is let go as soon as it is no longer needed:
    // at camera sizes each is hundreds of megabytes.
    drop(image);
    super::trim::release_freed_memory();
    steps.advance(Steps::ENCODE);

    // Check the file as written, as `verify` will see it. Only the "as is" tier counts here,
    // and it does not use the colour mask.
    let written_luma = decode_luma(fastest.as_deref().unwrap_or(&encoded), &options.limits)?;
    drop(fastest);
    let (psnr, ssim) = fidelity(&luma, &written_luma, change.measured.as_ref());
    // The candidates' fidelity while the input's luma is at hand (those under the SSIM floor
    // are out); their layers after.
    let mut measured = Vec::new();
    for candidate in candidates {
        let (p, s) = fidelity(
            &luma,
            &decode_luma(&candidate.bytes, &options.limits)?,
            None,
        );
        if s.is_some_and(|s| s >= options.pattern.min_ssim) {
            measured.push((candidate, p, s));
        }
    }
    drop(luma);
    let check = verify_luma(&written_luma, key, payload);
    let extraction = self_check_extraction(&written_luma, key, payload, &check);
    let mut written = Written {
        quality,
        input_tables: false,
        bytes: encoded,
        psnr,
        ssim,
        check,
        extraction,
    };
    drop(written_luma);
    // The first candidate that keeps everything the chosen file holds replaces it.
    for (candidate, psnr, ssim) in measured {
        let plane = decode_luma(&candidate.bytes, &options.limits)?;
        let check = verify_luma(&plane, key, payload);
        let extraction = self_check_extraction(&plane, key, payload, &check);
        drop(plane);
        let chosen = growth::Layers {
            check: &written.check,
            extraction: &written.extraction,
        };
        let smaller = growth::Layers {
            check: &check,
            extraction: &extraction,
        };
        // The input's tables must keep the chosen file's margins too (`growth::Layers`).
        let margins = !candidate.input_tables || smaller.keep_margins(&chosen);
        if smaller.keep(&chosen, payload) && margins {
            written = Written {
                quality: candidate.quality,
                input_tables: candidate.input_tables,
                bytes: candidate.bytes,
                psnr,
                ssim,
                check,
                extraction,
            };
            break;
        }
    }
    let Written {
        quality,
        input_tables,
        bytes: encoded,
        psnr,
        ssim,
        check,
        extraction,
    } = written;
    // A file that grew too much with the texture part raised: the growth guard's smaller
    // files had no SSIM to spare. Marked again without the gain, as the growth guard would
    // have it (the same bytes give the same warnings: those of the first read stand).
    if let Some(recorded) = recorded
        && growth::too_large(encoded.len(), input_bytes)
    {
        drop(encoded);
        let warnings = codec::take_warnings();
        // Its earlier mark, if any, is taken out again: this pass starts from the input.
        let earlier = match earlier {
            EarlierMark::Replace => EarlierMark::Replace,
            EarlierMark::Refuse | EarlierMark::Checked => EarlierMark::Checked,
        };
        let again = mark_file(&recorded[..], key, payload, options, earlier, 1.0);
        codec::take_warnings();
        codec::restore_warnings(warnings);
        return again;
    }
    steps.advance(Steps::SELF_CHECK);
    let groups = GroupCounts::count(&change.groups);
    refuse_unless_it_verifies(&check, &extraction, payload, groups, change.groups.len())?;
    Ok((
        MarkReport {
            width: width.into(),
            height: height.into(),
            quality,
            quality_source,
            input_tables,
            psnr,
            ssim,
            pattern_scale: change.pattern_scale,
            check,
            extraction,
            groups,
            passes: change.passes,
            replaced,
            warnings: Warnings::default(),
        },
        encoded,
    ))
}

/// Decoded samples up to this many bytes (16 MP of three channels) are held through the
/// embedding instead of decoded a second time for the write-back: a tenth of a second at 12 MP
/// for 36 MB more at the peak, while at 24 MP the 72 MB would break the 400 MB `mark` keeps to.
const KEEP_SAMPLES_BYTES: usize = 48 << 20;

/// A written file and what its check found.
struct Written {
    quality: u8,
    /// Quantised by the input's own tables rescaled to `quality`, not IJG's.
    input_tables: bool,
    bytes: Vec<u8>,
    psnr: f64,
    ssim: Option<f64>,
    check: Detection,
    extraction: Extraction,
}

/// A reader that keeps a copy of every byte read through it.
struct Recorder<'a, R> {
    inner: R,
    bytes: &'a mut Vec<u8>,
}

impl<R: Read> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Both layers' change to luma, and what making it did.
struct Change {
    /// Per luma sample, grey levels: the fitted pattern plus layer 1's change.
    delta: Vec<f32>,
    /// What the pattern's amplitude was multiplied by to keep the SSIM floor.
    pattern_scale: f32,
    /// The SSIM fit's read-back at the chosen scale and quality.
    measured: Option<Measured>,
    /// Layer 1's groups, by what the embedding did to each.
    groups: Vec<GroupState>,
    /// Layer 1's closed-loop passes.
    passes: usize,
    /// The output quality: the one asked for, or a higher one where that one's re-encode
    /// alone costs the SSIM floor.
    quality: u8,
}

/// Output qualities tried, in order, when the estimated one cannot hold the SSIM floor: a
/// re-encode with the standard tables at the estimate of a file written with other tables can
/// cost more SSIM than the floor allows by itself (0.9901 at Q86 on one phone photo, 0.9960 at
/// Q90), and no pattern scale can make up for it.
const RAISED_QUALITIES: [u8; 2] = [90, 95];

/// Layer 2's `pattern` is made first (by the caller, from luma before it was narrowed to a
/// [`CoverLuma`]): layer 1's closed loop then measures (and shapes) the histogram of the image
/// that carries it. Then the pattern is scaled down where the output would fall
/// under the SSIM floor. Layer 1's change stays: it is low-pass, the pattern's scale barely
/// moves the histogram it shaped, and the written file is checked all the same.
#[allow(clippy::too_many_arguments)]
fn embed_both_layers(
    luma: &CoverLuma,
    pattern: Pattern,
    key: &Key,
    payload: &Payload,
    quality: u8,
    may_raise_quality: bool,
    max_gain: f64,
    options: &MarkOptions,
    steps: &mut Steps,
) -> Result<Change> {
    let Pattern {
        change: mut delta,
        flat,
    } = pattern;
    let start = steps.done;
    let w = luma.width;
    // Luma plus the pattern, a row (or part of one) at a time: the cover layer 1 shapes.
    let cover = |y: usize, x0: usize, row: &mut [f32]| {
        luma.span(y, x0, row);
        for (m, &a) in row.iter_mut().zip(&delta[y * w + x0..]) {
            *m += a;
        }
    };
    let outcome = histogram::mark_luma(
        w,
        luma.height,
        &cover,
        key,
        payload,
        &options.embed,
        &mut |pass| steps.reach(start + pass as u64),
    );
    steps.reach(start + options.embed.max_passes as u64);
    let start = steps.done;
    let fit_end = start + SSIM_FIT_PASSES as u64;
    let asked = quality;
    let mut quality = quality;
    let mut raised = RAISED_QUALITIES
        .into_iter()
        .filter(|&q| may_raise_quality && q > asked);
    let (pattern_scale, measured) = loop {
        let fit = fit_to_ssim(
            luma,
            &outcome.delta,
            &mut delta,
            &flat,
            max_gain,
            quality,
            options.pattern.min_ssim,
            &options.limits,
            // A re-fit at a raised quality does not move the bar past the fit's share.
            &mut || {
                if steps.done < fit_end {
                    steps.advance(1)
                }
            },
        )?;
        match raised.next() {
            Some(higher) if !fit.held && fit.scale > 0.0 => {
                // Undo the scale (a fit that did not hold scaled down) and fit again at the
                // higher quality.
                delta.iter_mut().for_each(|d| *d /= fit.scale);
                quality = higher;
            }
            _ => break (fit.scale, fit.measured),
        }
    };
    steps.reach(fit_end);
    delta
        .iter_mut()
        .zip(&outcome.delta)
        .for_each(|(d, h)| *d += h);
    Ok(Change {
        delta,
        pattern_scale,
        measured,
        groups: outcome.groups,
        passes: outcome.passes,
        quality,
    })
}

/// Where one file's marking has got, in steps weighted roughly by cost (one closed-loop pass
/// or one SSIM-fit encode is a step), reported to [`MarkOptions::progress`].
struct Steps<'a> {
    progress: &'a Progress,
    done: u64,
    total: u64,
}

impl<'a> Steps<'a> {
    const DECODE: u64 = 1;
    const REMARK_CHECK: u64 = 2;
    const PATTERN: u64 = 1;
    const ENCODE: u64 = 1;
    const SELF_CHECK: u64 = 3;

    fn new(progress: &'a Progress, max_passes: usize) -> Steps<'a> {
        let total = Self::DECODE
            + Self::REMARK_CHECK
            + Self::PATTERN
            + max_passes as u64
            + SSIM_FIT_PASSES as u64
            + Self::ENCODE
            + Self::SELF_CHECK;
        progress.report(0, total);
        Steps {
            progress,
            done: 0,
            total,
        }
    }

    fn advance(&mut self, steps: u64) {
        self.reach(self.done + steps);
    }

    /// Jumps to `done` (a loop that stopped early skips its remaining steps).
    fn reach(&mut self, done: u64) {
        self.done = done.max(self.done);
        self.progress.report(self.done, self.total);
    }
}

/// How the marked image is written: the coefficients libjpeg's fastest profile gives (the
/// ones the SSIM fit measured), progressive with optimised Huffman tables. No trellis
/// quantisation: it would move the samples, and with them both layers.
const OUTPUT_PROFILE: codec::Profile = codec::Profile::Progressive;

/// Encodes the marked image with the input's size, sampling, density and kept markers, at IJG
/// `quality`, or quantised by `tables` (one per component) when given.
fn encode_marked(
    image: &Image,
    quality: u8,
    tables: Option<&[[u16; 64]]>,
    sampling: &[(u8, u8)],
    markers: &[(u8, Vec<u8>)],
) -> Result<Vec<u8>> {
    let settings = output_settings(image, quality, sampling);
    match tables {
        None => encode(&settings, markers, &image.samples),
        // Progressive with optimised tables straight from libjpeg (the same coefficients the
        // fastest profile gives with these tables): only the encoder held in memory takes
        // tables of any shape.
        Some(tables) => {
            let mut encoder = codec::MemoryEncoder::start_with_tables(
                &settings,
                markers,
                u64::MAX,
                Some(tables),
            )?;
            encoder.write_rows(&image.samples)?;
            encoder.finish()
        }
    }
}

/// The marked image's encoder settings: the input's size, sampling and density, IJG `quality`,
/// [`OUTPUT_PROFILE`].
fn output_settings(image: &Image, quality: u8, sampling: &[(u8, u8)]) -> EncoderSettings {
    EncoderSettings {
        width: image.width,
        height: image.height,
        color: image.color,
        quality,
        sampling: sampling.to_vec(),
        profile: OUTPUT_PROFILE,
        density: image.density.as_ref().map(|d| codec::PixelDensity {
            unit: d.unit,
            x: d.x,
            y: d.y,
        }),
    }
}

/// The self-check's blind extraction of a written file, as `verify` makes it: a read of
/// `payload` that layer 1's `check` binds ends the search.
fn self_check_extraction(
    luma: &Plane,
    key: &Key,
    payload: &Payload,
    check: &Detection,
) -> Extraction {
    pattern::extract_bound_by(luma, key, None, &mut |read| read == payload && check.binds)
}

/// An image that already carries this key's mark: a second payload would mark over the first
/// (the pilots add up, the data cells disagree; at most the last reads back), so refuse it.
/// The search leaves out the pyramid levels finer than any mark could need
/// (`pattern::finest_level_needed`).
fn refuse_if_marked(luma: &Plane, key: &Key) -> Result<()> {
    let found = pattern::extract_for_refusal(luma, key);
    if found.mark_present() {
        return Err(Error::AlreadyMarked {
            pilot_score: found.pilot_score,
            payload_found: found.payload.is_some(),
        });
    }
    Ok(())
}

/// A written file that `verify` would not confirm would fail silently later: refuse it. It
/// verifies when layer 1 holds (a claimed payload matches on the histogram alone), or when
/// layer 2 reads the payload back blind and layer 1 ([`Detection::binds`]) or the pattern's
/// content term binds it to the image, on its score and share alone
/// ([`Extraction::binds_on_score_and_share`]: the covered tier is kept as margin for uploads).
/// A payload layer 2 reads
/// without a binding is what a mark copied from another image looks like: `verify` calls it
/// `unbound` (exit 4), blind or claimed, so such a file would never read as this image's mark.
fn refuse_unless_it_verifies(
    check: &Detection,
    extraction: &Extraction,
    payload: &Payload,
    groups: GroupCounts,
    group_total: usize,
) -> Result<()> {
    let read = extraction.payload == Some(*payload);
    if histogram_holds(check) || (read && (check.binds || extraction.binds_on_score_and_share())) {
        return Ok(());
    }
    let layer1 = format!(
        "the histogram mark scores {:.2} ({} of {} grey-level groups hold enough smooth \
         pixels, {} reached their shape)",
        check.score, check.occupied_groups, group_total, groups.satisfied
    );
    Err(Error::CannotMark(if extraction.several_payloads {
        format!(
            "the payload layer reads several payloads under this key in the marked output: \
             the input carries this key's mark already (--force marks over it), and verify \
             reports an image with two payloads as several payloads, never as one; and \
             {layer1}, under the {REQUIRED_SCORE:.1} that would confirm this payload alone"
        )
    } else if read {
        let content = extraction
            .content_summary()
            .map_or_else(String::new, |content| {
                format!(
                    ", and the payload layer's content term ({content}) falls short of what \
                     binds a new mark ({})",
                    pattern::score_and_share_rule()
                )
            });
        format!(
            "the payload pattern reads back, but {layer1}, under the {:.2} that binds it to \
             this image{content}: verify would report the mark as not bound to its image (exit \
             4), as it does a mark copied from another image. The image has too few smooth \
             tones (too busy, too flat or too narrow a range) for the histogram layer",
            histogram::as_is_binding_threshold()
        )
    } else {
        format!(
            "neither layer holds in the marked output: {layer1}, below the required \
             {REQUIRED_SCORE:.1}, and the payload pattern cannot be read back: the image is \
             too small, too flat, too busy or too dark/bright"
        )
    }))
}

/// PSNR (dB) and mean SSIM of the written luma against the input's. The SSIM is the
/// `measured` one where the written luma is the very samples the SSIM fit measured.
fn fidelity(luma: &CoverLuma, written: &Plane, measured: Option<&Measured>) -> (f64, Option<f64>) {
    let w = written.width;
    let ssim = measured.and_then(|m| m.ssim_of(&written.data)).or_else(|| {
        mean_ssim_rows(
            w,
            written.height,
            |y, row| luma.row(y, row),
            |y, row| row.copy_from_slice(&written.data[y * w..(y + 1) * w]),
        )
    });
    (psnr(luma, written), ssim)
}

/// PSNR of `b` against `a`, dB (infinite when equal).
fn psnr(a: &CoverLuma, b: &Plane) -> f64 {
    let n = (a.width * a.height).min(b.data.len()).max(1);
    let mse = a.sum_with(&b.data, |x, y| f64::from(x - y).powi(2)) / n as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}
