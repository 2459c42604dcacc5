//! Fits layer 2's pattern to the SSIM floor: the written JPEG's luma, not the change alone,
//! is held to [`PatternSettings::min_ssim`](super::PatternSettings::min_ssim).

use super::cover::CoverLuma;
use super::image::{decode, encode, to_byte};
use super::signal::ssim::mean_ssim_rows;
use crate::codec::EncoderSettings;
use crate::error::Result;
use crate::jpeg::ColorSpace;
use crate::limits::Limits;
use crate::reencode;
use sha2::{Digest, Sha256};

/// Passes at most spent fitting the pattern to the SSIM floor.
pub(super) const SSIM_FIT_PASSES: usize = 4;
/// A fit within this much above the floor is close enough.
const SSIM_FIT_SLACK: f64 = 0.0005;

/// Scales `pattern` down until luma with it and with `fixed`, written as a JPEG of `quality`
/// and read back, has an SSIM of at least `min_ssim` against `luma`, and not much more. Returns
/// the scale applied (1 when the floor holds as is) and whether a measured pass held the
/// floor (not when the re-encode and `fixed` alone already cost more than the floor allows). The JPEG matters: re-quantising the
/// coefficients the pattern moves off the cover's quantisation lattice costs SSIM on top of the
/// pattern's own, and how that part falls with the amplitude depends on the image (between
/// the first and the third power): so the loss is measured, and the scale found by a secant on
/// log loss against log scale. Each pass encodes and decodes luma alone, as grey: a YCbCr
/// encoder writes the same luma; for the rare RGB-coded file it is an estimate, and the
/// written file's own SSIM is reported either way. `on_pass` hears each encode end.
pub(super) fn fit_to_ssim(
    luma: &CoverLuma,
    fixed: &[f32],
    pattern: &mut [f32],
    quality: u8,
    min_ssim: f64,
    limits: &Limits,
    on_pass: &mut dyn FnMut(),
) -> Result<Fit> {
    let target_loss = 1.0 - min_ssim;
    let mut scale = 1.0f64;
    // The largest scale measured to hold, and the last point measured.
    let mut holding: Option<f64> = None;
    let mut last: Option<(f64, f64)> = None;
    // What the pass at `holding` read back.
    let mut measured: Option<Measured> = None;
    for _ in 0..SSIM_FIT_PASSES {
        let Some((ssim, grey)) =
            ssim_through_jpeg(luma, fixed, pattern, scale as f32, quality, limits)?
        else {
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
    let held = holding.is_some();
    let scale = holding.unwrap_or(scale) as f32;
    if scale < 1.0 {
        pattern.iter_mut().for_each(|d| *d *= scale);
    }
    // `measured` is only ever set by a pass that held.
    Ok(Fit {
        scale,
        held,
        measured,
    })
}

/// What [`fit_to_ssim`] settled on.
pub(super) struct Fit {
    /// The scale applied to the pattern (1 when the floor holds as is).
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

/// SSIM of `luma` plus `fixed` plus `scale` x `pattern`, written as a grey JPEG of `quality`
/// and read back, against `luma` (`None` for images under one SSIM window), and the samples
/// read back when they are grey. The grey file is read back as its bytes: its luma, as f32, is
/// exactly those.
fn ssim_through_jpeg(
    luma: &CoverLuma,
    fixed: &[f32],
    pattern: &[f32],
    scale: f32,
    quality: u8,
    limits: &Limits,
) -> Result<Option<(f64, Option<Vec<u8>>)>> {
    let (w, h) = (luma.width, luma.height);
    let mut samples = vec![0u8; w * h];
    let mut row = vec![0f32; w];
    for (y, out) in samples.chunks_exact_mut(w.max(1)).enumerate().take(h) {
        luma.row(y, &mut row);
        let span = y * w..(y + 1) * w;
        for ((o, l), (f, p)) in out
            .iter_mut()
            .zip(&row)
            .zip(fixed[span.clone()].iter().zip(&pattern[span]))
        {
            *o = to_byte(l + (scale * p + f));
        }
    }
    let settings = EncoderSettings::grey(w, h, quality);
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

#[cfg(test)]
mod tests {
    use super::*;

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
