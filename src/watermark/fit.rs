//! Fits layer 2's pattern to the SSIM floor: the written JPEG's luma, not the change alone,
//! is held to [`PatternSettings::min_ssim`](super::PatternSettings::min_ssim).

use super::cover::CoverLuma;
use super::image::{decode, encode, to_byte};
use super::pattern::tile::FlatPart;
use super::signal::ssim::mean_ssim_rows;
use crate::codec::EncoderSettings;
use crate::error::Result;
use crate::jpeg::ColorSpace;
use crate::limits::Limits;
use crate::reencode;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Passes at most spent fitting the pattern to the SSIM floor.
pub(super) const SSIM_FIT_PASSES: usize = 4;
/// A fit within this much above the floor is close enough.
const SSIM_FIT_SLACK: f64 = 0.0005;

/// Scales `pattern` down until luma with it and with `fixed`, written as a JPEG of `quality`
/// and read back, has an SSIM of at least `min_ssim` against `luma`, and not much more; where
/// the pattern as made leaves room, raises its texture part (all but `flat`) by up to
/// `max_gain` instead ([`scaled_row`]): flat areas, skies and gradients, keep their change as it
/// is. Returns the scale applied (1 when the floor holds as is, above 1 for a raised texture
/// part) and whether a measured pass held the floor (not when the re-encode and `fixed` alone
/// already cost more than the floor allows). The JPEG matters: re-quantising the
/// coefficients the pattern moves off the cover's quantisation lattice costs SSIM on top of the
/// pattern's own, and how that part falls with the amplitude depends on the image (between
/// the first and the third power): so the loss is measured, and the scale found by a secant on
/// log loss against log scale. Each pass encodes and decodes luma alone, as grey: a YCbCr
/// encoder writes the same luma; for the rare RGB-coded file it is an estimate, and the
/// written file's own SSIM is reported either way. `on_pass` hears each encode end.
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_to_ssim(
    luma: &CoverLuma,
    fixed: &[f32],
    pattern: &mut [f32],
    flat: &FlatPart,
    max_gain: f64,
    quality: u8,
    min_ssim: f64,
    limits: &Limits,
    on_pass: &mut dyn FnMut(),
) -> Result<Fit> {
    let target_loss = 1.0 - min_ssim;
    let max_scale = max_gain.max(1.0);
    let mut scale = 1.0f64;
    // The largest scale measured to hold, and the last point measured.
    let mut holding: Option<f64> = None;
    let mut last: Option<(f64, f64)> = None;
    // What the pass at `holding` read back.
    let mut measured: Option<Measured> = None;
    let passes = Passes {
        luma,
        fixed,
        pattern,
        flat,
        quality,
        limits,
    };
    if max_scale > 1.0 {
        scale = sampled_gain(&passes, max_scale, min_ssim)?;
    }
    // Where the gain was not kept, the fit scales down from 1 as it always has.
    let highest = scale;
    for _ in 0..SSIM_FIT_PASSES {
        let Some((ssim, grey)) = passes.whole(scale as f32)? else {
            return Ok(Fit {
                scale: 1.0,
                held: true,
                measured: None,
            });
        };
        on_pass();
        let loss = (1.0 - ssim).max(1e-9);
        if ssim >= min_ssim {
            if holding.is_none_or(|h| scale > h) {
                measured = grey.map(|grey| Measured::new(&grey, ssim));
            }
            holding = Some(holding.map_or(scale, |h: f64| h.max(scale)));
            // A raised texture part is the sampled passes' estimate: it stands where it holds.
            if scale >= 1.0 || ssim < min_ssim + SSIM_FIT_SLACK {
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
        let next = (scale * (0.98 * target_loss / loss).powf(1.0 / power)).min(highest);
        // A gain that did not hold steps back no further than 1 at first: the sampled pass
        // at 1 had room.
        scale = if scale > 1.0 { next.max(1.0) } else { next };
        if holding.is_some_and(|h| scale <= h) {
            break;
        }
    }
    // Unmeasured when no pass held: the last step's estimate, and never a gain.
    let held = holding.is_some();
    let scale = holding.unwrap_or(scale.min(1.0)) as f32;
    if scale != 1.0 {
        let w = luma.width.max(1);
        let mut flat_row = vec![0f32; w];
        let mut row_at = vec![0f32; w];
        for (y, row) in pattern.chunks_exact_mut(w).enumerate() {
            flat.row(y, &mut flat_row);
            scaled_row(row, &flat_row, scale, flat.ceiling(), &mut row_at);
            row.copy_from_slice(&row_at);
        }
    }
    // `measured` is only ever set by a pass that held.
    Ok(Fit {
        scale,
        held,
        measured,
    })
}

/// Rows per sampled segment (whole JPEG block rows) and the period they repeat with: a sampled
/// pass encodes and measures a quarter of the image.
const SEGMENT_ROWS: usize = 64;
const SEGMENT_PERIOD: usize = 4 * SEGMENT_ROWS;
/// Images with fewer segments than this are not sampled.
const MIN_SEGMENTS: usize = 4;
/// How far over the floor a sampled estimate must be for the gain to be kept: the sampled
/// rows' SSIM can differ from the whole image's by this much.
const SAMPLED_MARGIN: f64 = 0.001;

/// The gain to try for the texture part (1 when there is no room): two passes over sampled
/// row segments (`SEGMENT_ROWS` of every `SEGMENT_PERIOD`), at scale 1 and at `max_scale`,
/// the second only where the first leaves room, and between them the scale where a loss of
/// the form `a + c s^2` through both reaches `SAMPLED_MARGIN` over the floor. A quarter of
/// the rows costs about a quarter of a full pass; the whole image is measured at the scale
/// this returns.
fn sampled_gain(passes: &Passes<'_>, max_scale: f64, min_ssim: f64) -> Result<f64> {
    let segments: Vec<usize> = (0..passes.luma.height.saturating_sub(SEGMENT_ROWS - 1))
        .step_by(SEGMENT_PERIOD)
        .collect();
    if segments.len() < MIN_SEGMENTS {
        return Ok(1.0);
    }
    let wanted = min_ssim + SAMPLED_MARGIN;
    let sampled = |scale: f64| passes.sampled(scale as f32, &segments);
    let Some(at_one) = sampled(1.0)? else {
        return Ok(1.0);
    };
    if at_one < wanted {
        return Ok(1.0);
    }
    let Some(at_max) = sampled(max_scale)? else {
        return Ok(1.0);
    };
    if at_max >= wanted {
        return Ok(max_scale);
    }
    // The texture part adds its energy on top of what stays (the re-encode, layer 1, the
    // flat part): loss = a + c s^2 through both points.
    let (l1, lmax) = (1.0 - at_one, 1.0 - at_max);
    let c = (lmax - l1) / (max_scale * max_scale - 1.0);
    let scale = (1.0 + (1.0 - wanted - l1) / c).sqrt();
    Ok(scale.clamp(1.0, max_scale))
}

/// A row of the pattern at `scale` into `out`, from its values `p` (`pattern`) and their flat
/// parts `q` (`flat`): up to 1 the whole of it scales, above 1 the texture part alone
/// (`p - q`), so that flat areas never get more than the pattern gives them, and to at most
/// `ceiling` times the flat part ([`FlatPart::ceiling`]): the pattern's largest amplitude
/// stays its largest, and the busiest texture, already there, gets no more (a gain of 2.25
/// there drew the cells' edges on rippled water at 300 %). Each case is a loop of its own: a
/// branch per sample would keep the compiler from vectorising them.
pub(super) fn scaled_row(
    pattern: &[f32],
    flat: &[f32],
    scale: f32,
    ceiling: Option<f32>,
    out: &mut [f32],
) {
    let pairs = pattern.iter().zip(flat).zip(out.iter_mut());
    match (scale <= 1.0, ceiling) {
        (true, _) => pairs.for_each(|((&p, _), o)| *o = scale * p),
        (false, Some(ceiling)) => pairs.for_each(|((&p, &q), o)| {
            let most = q.abs() * ceiling;
            *o = (p + (scale - 1.0) * (p - q)).max(-most).min(most)
        }),
        (false, None) => pairs.for_each(|((&p, &q), o)| *o = p + (scale - 1.0) * (p - q)),
    }
}

/// What [`fit_to_ssim`] settled on.
pub(super) struct Fit {
    /// The scale applied to the pattern (1 when the floor holds as is; above 1, to its
    /// texture part alone).
    pub(super) scale: f32,
    /// Whether a measured pass held the floor (not when the re-encode and the fixed change
    /// alone already cost more than the floor allows).
    pub(super) held: bool,
    /// The measured pass at `scale`, when one was.
    pub(super) measured: Option<Measured>,
}

/// A grey encode the fit read back, by its SHA-256, and its SSIM against the cover. The
/// written file's luma is usually the same samples (a colour encoder quantises luma as a grey
/// one does, from the same bytes), and where it is, its SSIM is this one
/// ([`Measured::ssim_of`]). The digest stands for the samples so that they need not be held
/// through the encode, where `mark`'s memory peaks.
pub(super) struct Measured {
    digest: [u8; 32],
    ssim: f64,
}

impl Measured {
    fn new(grey: &[u8], ssim: f64) -> Measured {
        Measured {
            digest: Sha256::digest(grey).into(),
            ssim,
        }
    }

    /// The SSIM of `written` against the cover, if `written` holds the samples this
    /// measurement read back (whole grey levels with the same SHA-256): [`mean_ssim_rows`] of
    /// the same rows is the same number.
    pub(super) fn ssim_of(&self, written: &[f32]) -> Option<f64> {
        let mut hasher = Sha256::new();
        let mut bytes = [0u8; 4096];
        for chunk in written.chunks(bytes.len()) {
            for (b, &v) in bytes.iter_mut().zip(chunk) {
                *b = v as u8;
                if f32::from(*b).to_bits() != v.to_bits() {
                    return None;
                }
            }
            hasher.update(&bytes[..chunk.len()]);
        }
        (<[u8; 32]>::from(hasher.finalize()) == self.digest).then_some(self.ssim)
    }
}

/// What every pass of the fit writes and measures: the cover's luma, the fixed change (layer
/// 1's), the pattern with its flat part, the output quality.
struct Passes<'a> {
    luma: &'a CoverLuma,
    fixed: &'a [f32],
    pattern: &'a [f32],
    flat: &'a FlatPart,
    quality: u8,
    limits: &'a Limits,
}

impl Passes<'_> {
    /// SSIM of `luma` plus `fixed` plus `scale` x `pattern`, written as a grey JPEG of `quality`
    /// and read back, against `luma` (`None` for images under one SSIM window), and the samples
    /// read back when they are grey. The grey file is read back as its bytes: its luma, as f32, is
    /// exactly those.
    fn whole(&self, scale: f32) -> Result<Option<(f64, Option<Vec<u8>>)>> {
        let (luma, limits) = (self.luma, self.limits);
        let (w, h) = (luma.width, luma.height);
        let rows: Vec<usize> = (0..h).collect();
        let samples = self.marked_rows(scale, &rows);
        let settings = EncoderSettings::grey(w, h, self.quality);
        let encoded = encode(&settings, &[], &samples)?;
        drop(samples);
        let written = decode(reencode::read_source(&encoded[..], limits)?, limits)?;
        drop(encoded);
        if written.color != ColorSpace::Gray {
            // Not what a grey encode gives back; measured as `verify` would read it all the same.
            let written = written.luma()?;
            return Ok(mean_ssim_rows(
                w,
                h,
                |y, row| luma.row(y, row),
                |y, row| row.copy_from_slice(&written.data[y * w..(y + 1) * w]),
            )
            .map(|ssim| (ssim, None)));
        }
        let grey = written.samples;
        let ssim = mean_ssim_rows(
            w,
            h,
            |y, row| luma.row(y, row),
            |y, row| {
                row.iter_mut()
                    .zip(&grey[y * w..(y + 1) * w])
                    .for_each(|(o, &v)| *o = f32::from(v))
            },
        );
        Ok(ssim.map(|ssim| (ssim, Some(grey))))
    }

    /// The SSIM of the rows `start..start + SEGMENT_ROWS` of each of `segments`, as
    /// [`Passes::whole`] measures them: the segments are encoded as one grey image, and as the
    /// encoder quantises each 8 x 8 block on its own and the decoder reads each back on its own,
    /// every block comes back as it does in the whole image. Each segment's SSIM is its own windows
    /// (those wholly inside it).
    fn sampled(&self, scale: f32, segments: &[usize]) -> Result<Option<f64>> {
        let (luma, limits) = (self.luma, self.limits);
        let w = luma.width;
        let rows: Vec<usize> = segments
            .iter()
            .flat_map(|&start| start..start + SEGMENT_ROWS)
            .collect();
        let samples = self.marked_rows(scale, &rows);
        let settings = EncoderSettings::grey(w, rows.len(), self.quality);
        let encoded = encode(&settings, &[], &samples)?;
        drop(samples);
        let written = decode(reencode::read_source(&encoded[..], limits)?, limits)?;
        if written.color != ColorSpace::Gray {
            return Ok(None);
        }
        let grey = written.samples;
        let each: Option<Vec<f64>> = segments
            .par_iter()
            .enumerate()
            .map(|(k, &start)| {
                mean_ssim_rows(
                    w,
                    SEGMENT_ROWS,
                    |y, row| luma.row(start + y, row),
                    |y, row| {
                        let at = (k * SEGMENT_ROWS + y) * w;
                        row.iter_mut()
                            .zip(&grey[at..at + w])
                            .for_each(|(o, &v)| *o = f32::from(v))
                    },
                )
            })
            .collect();
        // Added in order: the same sum whatever the thread count.
        Ok(each.map(|each| each.iter().sum::<f64>() / each.len() as f64))
    }

    /// Rows `rows` of luma plus `fixed` plus the pattern at `scale`, as whole grey levels.
    fn marked_rows(&self, scale: f32, rows: &[usize]) -> Vec<u8> {
        let (luma, fixed, pattern, flat) = (self.luma, self.fixed, self.pattern, self.flat);
        let w = luma.width;
        let ceiling = flat.ceiling();
        let mut samples = vec![0u8; w * rows.len()];
        let mut row = vec![0f32; w];
        let mut flat_row = vec![0f32; w];
        let mut change = vec![0f32; w];
        for (&y, out) in rows.iter().zip(samples.chunks_exact_mut(w.max(1))) {
            luma.row(y, &mut row);
            flat.row(y, &mut flat_row);
            let span = y * w..(y + 1) * w;
            scaled_row(
                &pattern[span.clone()],
                &flat_row,
                scale,
                ceiling,
                &mut change,
            );
            for ((o, l), (f, c)) in out
                .iter_mut()
                .zip(&row)
                .zip(fixed[span].iter().zip(&change))
            {
                *o = to_byte(l + (c + f));
            }
        }
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::pattern::{self, content};
    use crate::watermark::signal::Plane;
    use crate::watermark::{Key, Payload};

    /// Up to 1 the whole pattern scales; above 1 the texture part alone: a flat pixel (its
    /// change all flat part) keeps its change, a textured one gains on what it has over it.
    #[test]
    fn a_gain_raises_the_texture_part_alone() {
        let scaled = |p: f32, q: f32, scale: f32, ceiling: Option<f32>| {
            let mut out = [0.0];
            scaled_row(&[p], &[q], scale, ceiling, &mut out);
            out[0]
        };
        assert_eq!(scaled(2.0, 0.4, 0.5, Some(7.5)), 1.0);
        assert_eq!(scaled(2.0, 0.4, 1.0, Some(7.5)), 2.0);
        assert_eq!(scaled(0.4, 0.4, 1.5, Some(7.5)), 0.4);
        assert_eq!(scaled(-0.4, -0.4, 1.5, Some(7.5)), -0.4);
        assert_eq!(scaled(2.0, 0.4, 1.5, Some(7.5)), 2.8);
        assert_eq!(scaled(-2.4, -0.4, 1.25, Some(7.5)), -2.9);
        // Up to the ceiling, 3 for a flat part of 0.4 (x 7.5), and no further.
        assert_eq!(scaled(2.4, 0.4, 2.0, Some(7.5)), 3.0);
        assert_eq!(scaled(-3.0, -0.4, 2.5, Some(7.5)), -3.0);
        assert_eq!(scaled(2.4, 0.4, 2.0, None), 4.4);
    }

    /// A sampled pass measures exactly what the whole image's encode gives on those rows:
    /// each segment's SSIM from the segments encoded alone is, to the bit, its SSIM from the
    /// whole image encoded and decoded, the windows wholly inside the segment.
    #[test]
    fn sampled_segments_come_back_as_in_the_whole_image() {
        let (w, h) = (203, 4 * SEGMENT_PERIOD + 40);
        let mut state = 7u32;
        let luma = Plane::from_fn(w, h, |x, y| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x * 5 + y * 3) % 180) as f32 + 30.0 + (state >> 27) as f32
        });
        let key = Key::from_secret(b"sampled fit").unwrap();
        let made = pattern::pattern(
            &luma,
            &key,
            &Payload([0x5a; 32]),
            &Default::default(),
            content::SHARE,
        );
        let fixed: Vec<f32> = (0..w * h).map(|i| ((i % 7) as f32 - 3.0) * 0.3).collect();
        let cover = CoverLuma::new(luma);
        let limits = Limits::default();
        let (scale, quality) = (1.5, 80);
        let passes = Passes {
            luma: &cover,
            fixed: &fixed,
            pattern: &made.change,
            flat: &made.flat,
            quality,
            limits: &limits,
        };
        let segments = [0, SEGMENT_PERIOD, 3 * SEGMENT_PERIOD];
        let sampled = passes.sampled(scale, &segments).unwrap().unwrap();
        // The whole image, encoded and decoded as a full pass does.
        let rows: Vec<usize> = (0..h).collect();
        let samples = passes.marked_rows(scale, &rows);
        let encoded = encode(&EncoderSettings::grey(w, h, quality), &[], &samples).unwrap();
        let whole = decode(
            reencode::read_source(&encoded[..], &limits).unwrap(),
            &limits,
        )
        .unwrap()
        .samples;
        let expected: f64 = segments
            .iter()
            .map(|&start| {
                mean_ssim_rows(
                    w,
                    SEGMENT_ROWS,
                    |y, row| cover.row(start + y, row),
                    |y, row| {
                        let at = (start + y) * w;
                        row.iter_mut()
                            .zip(&whole[at..at + w])
                            .for_each(|(o, &v)| *o = f32::from(v))
                    },
                )
                .unwrap()
            })
            .sum::<f64>()
            / segments.len() as f64;
        assert_eq!(sampled.to_bits(), expected.to_bits());
        // And the pattern did change those rows.
        let plain = passes.whole(0.0).unwrap().unwrap().0;
        assert!(sampled < plain, "{sampled} against {plain}");
    }

    /// The measured SSIM stands for exactly the samples measured: the same whole grey levels
    /// get it back, one level off or a fraction off does not.
    #[test]
    fn a_measurement_answers_only_for_its_own_samples() {
        let grey: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let measured = Measured::new(&grey, 0.995);
        let same: Vec<f32> = grey.iter().map(|&g| f32::from(g)).collect();
        assert_eq!(measured.ssim_of(&same), Some(0.995));
        let mut off = same.clone();
        off[9_000] += 1.0;
        assert_eq!(measured.ssim_of(&off), None);
        let mut fraction = same.clone();
        fraction[17] += 0.25;
        assert_eq!(measured.ssim_of(&fraction), None);
        assert_eq!(measured.ssim_of(&same[..9_999]), None);
        let mut negative = same;
        negative[0] = -0.0;
        assert_eq!(measured.ssim_of(&negative), None);
    }
}
