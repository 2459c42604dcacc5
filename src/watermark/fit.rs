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
) -> Result<(f32, bool)> {
    let target_loss = 1.0 - min_ssim;
    let mut scale = 1.0f64;
    // The largest scale measured to hold, and the last point measured.
    let mut holding: Option<f64> = None;
    let mut last: Option<(f64, f64)> = None;
    for _ in 0..SSIM_FIT_PASSES {
        let Some(ssim) = ssim_through_jpeg(luma, fixed, pattern, scale as f32, quality, limits)?
        else {
            return Ok((1.0, true));
        };
        on_pass();
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
    let held = holding.is_some();
    let scale = holding.unwrap_or(scale) as f32;
    if scale < 1.0 {
        pattern.iter_mut().for_each(|d| *d *= scale);
    }
    Ok((scale, held))
}

/// SSIM of `luma` plus `fixed` plus `scale` x `pattern`, written as a grey JPEG of `quality`
/// and read back, against `luma` (`None` for images under one SSIM window). The grey file is
/// read back as its bytes: its luma, as f32, is exactly those.
fn ssim_through_jpeg(
    luma: &CoverLuma,
    fixed: &[f32],
    pattern: &[f32],
    scale: f32,
    quality: u8,
    limits: &Limits,
) -> Result<Option<f64>> {
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
            *o = to_byte(l + f + scale * p);
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
        ));
    }
    let grey = &written.samples;
    Ok(mean_ssim_rows(
        w,
        h,
        |y, row| luma.row(y, row),
        |y, row| {
            row.iter_mut()
                .zip(&grey[y * w..(y + 1) * w])
                .for_each(|(o, &v)| *o = f32::from(v))
        },
    ))
}
