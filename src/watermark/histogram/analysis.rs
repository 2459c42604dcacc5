//! What the histogram layer measures in an image: the low-pass luma `L`, and which pixels are
//! counted (valid and smooth). The marker and the detector run exactly this code, so whatever
//! an attack does to the image, both sides agree on the rules.

use rayon::prelude::*;

use crate::watermark::signal::lowpass::{
    blur_row, blur_rows_banded, gaussian_blur_rows_into, gradient_row,
};
use crate::watermark::signal::{Plane, dilate, gaussian_blur, gaussian_kernel};

/// Low-pass sigma at one megapixel of valid area; it scales with sqrt(area) so that a rescaled
/// image is smoothed by the same amount relative to its content.
pub(crate) const SIGMA_AT_ONE_MEGAPIXEL: f32 = 1.5;
/// Samples of `G_1 * Y` at or below this are padding (rotation fill, letterboxing) or crushed
/// shadows; at or above `BRIGHT` clipped highlights. Both are left out with a margin.
pub(crate) const DARK: f32 = 6.0;
pub(crate) const BRIGHT: f32 = 250.0;
/// Smooth pixels change `L` by less than this many grey levels across one sigma: there a value
/// remap of `L` survives the detector's own low-pass.
pub(crate) const SMOOTH_LIMIT: f32 = 1.5;

/// The analysis of one luma plane.
pub(crate) struct Analysis {
    pub(crate) sigma: f32,
    pub(crate) low: Plane,
    /// `G_sigma(|grad L| sigma)`: pixels below [`SMOOTH_LIMIT`] are counted (see [`weights`]).
    pub(crate) activity: Plane,
    /// The valid mask of [`valid_mask`].
    pub(crate) valid: Vec<bool>,
    /// Pixels inside the valid range before the margin (this sets sigma).
    pub(crate) valid_pixels: usize,
    /// Luma's own out-of-range pixels, before the margin (the start of a colour-masked mask).
    luma_invalid: Vec<bool>,
}

impl Analysis {
    /// Weights of the pixels as an image whose contrast was multiplied by `gain` sees them:
    /// its gradients, and so its activity, are `gain` times the marked image's, so the
    /// smoothness limit scales with it and the same pixels are counted.
    pub(crate) fn weights(&self, gain: f32) -> impl Iterator<Item = f32> + '_ {
        weights(&self.activity, &self.valid, SMOOTH_LIMIT * gain)
    }

    /// The same analysis with channel-clipped pixels (`extremes`) also left out: only the mask
    /// differs (sigma follows luma's valid area), so the low-pass and activity planes are
    /// shared rather than recomputed. `None` when `extremes` does not fit the image.
    pub(crate) fn colour_masked(&self, extremes: &ChannelExtremes) -> Option<Analysis> {
        let (w, h) = (self.low.width, self.low.height);
        if extremes.brightest.len() != w * h || extremes.darkest.len() != w * h {
            return None;
        }
        let mut invalid = self.luma_invalid.clone();
        mark_channel_clipping(&mut invalid, extremes);
        Some(Analysis {
            sigma: self.sigma,
            low: self.low.clone(),
            activity: self.activity.clone(),
            valid: grow_invalid(&invalid, w, h, self.sigma),
            valid_pixels: self.valid_pixels,
            luma_invalid: Vec::new(),
        })
    }
}

/// Sigma for an image whose valid area is `valid_pixels`.
pub(crate) fn sigma_for(valid_pixels: usize) -> f32 {
    (SIGMA_AT_ONE_MEGAPIXEL * (valid_pixels as f32 / 1e6).sqrt()).max(0.5)
}

/// The brightest and darkest of R, G and B at each pixel of a colour image. Where a channel
/// clips, a brightness or contrast change applied to R, G and B (as editors do) no longer moves
/// luma affinely (a red clipped by 10 levels bends luma by 3), so the detector's tone search
/// leaves such pixels out, like clipped luma (see the detector in `histogram::detect`).
pub struct ChannelExtremes {
    /// The largest of R, G and B at each pixel.
    pub brightest: Plane,
    /// The smallest of R, G and B at each pixel.
    pub darkest: Plane,
}

impl ChannelExtremes {
    /// From interleaved R, G, B samples.
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> ChannelExtremes {
        Self::from_pixels(
            width,
            height,
            rgb.chunks_exact(3)
                .map(|p| [p[0], p[1], p[2]].map(f32::from)),
        )
    }

    /// From interleaved JFIF Y, Cb, Cr samples (converted to R, G, B as a decoder would).
    pub fn from_ycbcr(width: usize, height: usize, ycc: &[u8]) -> ChannelExtremes {
        Self::from_pixels(
            width,
            height,
            ycc.chunks_exact(3).map(|p| {
                let (y, cb, cr) = (
                    f32::from(p[0]),
                    f32::from(p[1]) - 128.0,
                    f32::from(p[2]) - 128.0,
                );
                [
                    y + 1.402 * cr,
                    y - 0.344_136 * cb - 0.714_136 * cr,
                    y + 1.772 * cb,
                ]
                .map(|v| v.clamp(0.0, 255.0))
            }),
        )
    }

    fn from_pixels(
        width: usize,
        height: usize,
        pixels: impl Iterator<Item = [f32; 3]>,
    ) -> ChannelExtremes {
        let (mut brightest, mut darkest) = (
            Vec::with_capacity(width * height),
            Vec::with_capacity(width * height),
        );
        for p in pixels {
            brightest.push(p[0].max(p[1]).max(p[2]));
            darkest.push(p[0].min(p[1]).min(p[2]));
        }
        ChannelExtremes {
            brightest: Plane {
                width,
                height,
                data: brightest,
            },
            darkest: Plane {
                width,
                height,
                data: darkest,
            },
        }
    }
}

/// The valid mask (true = usable) and sigma: padding and clipped pixels (luma, or any colour
/// channel when `extremes` is given), grown by 3 sigma, and a 3-sigma frame at the border are
/// out.
#[cfg(test)]
pub(crate) fn valid_mask(
    luma: &Plane,
    extremes: Option<&ChannelExtremes>,
) -> (Vec<bool>, f32, usize) {
    let (invalid, valid_pixels) = luma_out_of_range(luma);
    let mut invalid = invalid;
    if let Some(e) =
        extremes.filter(|e| e.brightest.len() == luma.len() && e.darkest.len() == luma.len())
    {
        mark_channel_clipping(&mut invalid, e);
    }
    let sigma = sigma_for(valid_pixels);
    (
        grow_invalid(&invalid, luma.width, luma.height, sigma),
        sigma,
        valid_pixels,
    )
}

/// Luma's padding and clipped pixels (of `G_1 * Y`), and how many are inside the range. Sigma
/// follows the luma-valid area only, so both analyses of one image share it.
fn luma_out_of_range(luma: &Plane) -> (Vec<bool>, usize) {
    let fine = gaussian_blur(luma, 1.0);
    let invalid: Vec<bool> = fine
        .data
        .iter()
        .map(|&v| v <= DARK || v >= BRIGHT)
        .collect();
    let valid_pixels = invalid.iter().filter(|&&i| !i).count();
    (invalid, valid_pixels)
}

/// [`valid_mask`] without channel extremes, of a `width` x `height` luma plane given by rows
/// (`fill(y, row)` writes every sample of row `y`), which is never held whole: `mark`'s cover
/// is its luma plus the pattern, summed where it is needed. The 1-pixel low-pass of
/// [`luma_out_of_range`] is made a band of rows at a time and compared at once, so neither the
/// cover nor its low-pass costs a plane; the mask is the same as of the plane the rows make.
pub(crate) fn valid_mask_of_rows(
    width: usize,
    height: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> (Vec<bool>, f32, usize) {
    let (w, h) = (width, height);
    let mut invalid = vec![false; w * h];
    blur_rows_banded(w, h, fill, 1.0, &mut invalid, |flags, fine, blur| {
        fine.resize(w, 0.0);
        blur(fine);
        for (i, &v) in flags.iter_mut().zip(fine.iter()) {
            *i = v <= DARK || v >= BRIGHT;
        }
    });
    let valid_pixels = invalid.iter().filter(|&&i| !i).count();
    let sigma = sigma_for(valid_pixels);
    (grow_invalid(&invalid, w, h, sigma), sigma, valid_pixels)
}

/// Adds the pixels whose brightest channel clips high or darkest clips low.
fn mark_channel_clipping(invalid: &mut [bool], e: &ChannelExtremes) {
    let brightest = gaussian_blur(&e.brightest, 1.0);
    let darkest = gaussian_blur(&e.darkest, 1.0);
    for ((i, &b), &d) in invalid.iter_mut().zip(&brightest.data).zip(&darkest.data) {
        *i |= b >= BRIGHT || d <= DARK;
    }
}

/// The valid mask from the invalid pixels: grown by 3 sigma, and a 3-sigma frame at the border.
fn grow_invalid(invalid: &[bool], w: usize, h: usize, sigma: f32) -> Vec<bool> {
    let margin = (3.0 * sigma).ceil() as usize;
    let grown = dilate(invalid, w, h, margin);
    let mut valid: Vec<bool> = grown.iter().map(|&i| !i).collect();
    // The frame: the first and last `margin` rows whole, the first and last `margin` samples
    // of the rows between.
    let edge = margin.min(w);
    for (y, row) in valid.chunks_exact_mut(w.max(1)).enumerate() {
        if y < margin || y + margin >= h {
            row.fill(false);
        } else {
            row[..edge].fill(false);
            row[w - edge..].fill(false);
        }
    }
    valid
}

/// The pixels of `valid` whose activity `a = G_sigma(|grad L| * sigma)` is below
/// [`SMOOTH_LIMIT`] (weight 1; every other pixel weighs 0), into `smooth`, a bit per pixel in
/// row-major order (pixel `i` is bit `i % 64` of word `i / 64`). The cut is hard: weights that
/// fade out with `a` score lower. Exactly the pixels [`analyse`]'s `weights(1.0)` counts, but
/// the activity is made a band of rows at a time (the gradient rows a band's window reaches,
/// then each row's blur, compared at once): no gradient or activity plane is held, and the
/// mask costs a bit per pixel, which matters in `mark`'s closed loop, run a dozen times at full
/// resolution. `valid` is [`valid_mask`]'s, packed the same way ([`pack_bits`]).
pub(crate) fn smooth_pixels_into(low: &Plane, sigma: f32, valid: &[u64], smooth: &mut Vec<u64>) {
    /// Output rows per band: the gradient rows past each end (3 sigma) are recomputed per
    /// band, a few per cent at camera sizes. A band is `BAND * w` pixels, a multiple of 64:
    /// each band's bits start on a word of their own.
    const BAND: usize = 256;
    let (w, h) = (low.width, low.height);
    smooth.clear();
    smooth.resize((w * h).div_ceil(64), 0);
    if w == 0 || h == 0 {
        return;
    }
    let taps = gaussian_kernel(sigma);
    let radius = taps.len() / 2;
    smooth
        .par_chunks_mut(BAND * w / 64)
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new(), vec![0.0; w], Vec::new()),
            |(gradient, scratch, row, flags), (band, out)| {
                let y0 = band * BAND;
                let y1 = (y0 + BAND).min(h);
                // The gradient rows the band's vertical taps reach (clamped at the edges).
                let (g0, g1) = (y0.saturating_sub(radius), (y1 + radius).min(h));
                // Not cleared: every sample is written below.
                gradient.resize((g1 - g0) * w, 0.0);
                for (gy, g) in (g0..g1).zip(gradient.chunks_exact_mut(w)) {
                    gradient_row(low, gy, g);
                    g.iter_mut().for_each(|v| *v *= sigma);
                }
                let gradient: &[f32] = gradient;
                let rows = |sy: usize| &gradient[(sy - g0) * w..(sy - g0 + 1) * w];
                // The band's flags a byte each, then packed 64 to a word.
                flags.resize((y1 - y0) * w, false);
                for (y, flags) in (y0..y1).zip(flags.chunks_exact_mut(w)) {
                    blur_row(rows, h, y, &taps, scratch, row);
                    for (f, &a) in flags.iter_mut().zip(row.iter()) {
                        *f = a < SMOOTH_LIMIT;
                    }
                }
                let valid = &valid[band * (BAND * w / 64)..];
                for ((word, flags), &valid) in out.iter_mut().zip(flags.chunks(64)).zip(valid) {
                    *word = pack_word(flags) & valid;
                }
            },
        );
}

/// `flags` a bit each, pixel `i` at bit `i % 64` of word `i / 64`.
pub(crate) fn pack_bits(flags: &[bool]) -> Vec<u64> {
    flags.chunks(64).map(pack_word).collect()
}

/// Up to 64 flags as the bits of a word, the first the lowest.
fn pack_word(flags: &[bool]) -> u64 {
    flags
        .iter()
        .enumerate()
        .fold(0, |bits, (j, &f)| bits | u64::from(f) << j)
}

/// `G_sigma(|grad L| sigma)`: how much `L` changes across one sigma, locally averaged. The
/// gradient is made a band of rows at a time as the blur needs it, not held as a plane of its
/// own (a full-resolution plane less at the peak of `mark`'s self-check); the blur of rows made
/// on demand is the same to the bit as of the whole plane.
pub(crate) fn activity(low: &Plane, sigma: f32) -> Plane {
    let mut activity = Plane::new(0, 0);
    let gradient = |y: usize, row: &mut [f32]| {
        gradient_row(low, y, row);
        row.iter_mut().for_each(|g| *g *= sigma);
    };
    gaussian_blur_rows_into(low.width, low.height, gradient, sigma, &mut activity);
    activity
}

/// 1 for valid pixels whose activity is below `limit`, else 0.
pub(crate) fn weights<'a>(
    activity: &'a Plane,
    valid: &'a [bool],
    limit: f32,
) -> impl Iterator<Item = f32> + 'a {
    activity
        .data
        .iter()
        .zip(valid)
        .map(move |(&a, &v)| if v && a < limit { 1.0 } else { 0.0 })
}

/// The whole analysis of a luma plane (0..=255 scale); [`Analysis::colour_masked`] adds a
/// colour image's channel clipping.
pub(crate) fn analyse(luma: &Plane) -> Analysis {
    let (luma_invalid, valid_pixels) = luma_out_of_range(luma);
    let sigma = sigma_for(valid_pixels);
    let valid = grow_invalid(&luma_invalid, luma.width, luma.height, sigma);
    let low = gaussian_blur(luma, sigma);
    let activity = activity(&low, sigma);
    Analysis {
        sigma,
        low,
        activity,
        valid,
        valid_pixels,
        luma_invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_scales_with_the_square_root_of_area() {
        assert!((sigma_for(1_000_000) - 1.5).abs() < 1e-6);
        assert!((sigma_for(4_000_000) - 3.0).abs() < 1e-6);
        assert!((sigma_for(250_000) - 0.75).abs() < 1e-6);
        assert_eq!(sigma_for(0), 0.5);
    }

    /// Black padding and its margin are out; a smooth gradient is counted; fine texture is not.
    #[test]
    fn mask_and_smoothness() {
        let (w, h) = (200, 120);
        let luma = Plane::from_fn(w, h, |x, y| {
            if x < 40 {
                0.0 // padding
            } else if x < 120 {
                60.0 + x as f32 * 0.5 + y as f32 * 0.1 // smooth
            } else if (x / 2) % 2 == 0 {
                40.0 // stripes 2 px wide: texture that survives the low-pass
            } else {
                200.0
            }
        });
        let a = analyse(&luma);
        let margin = (3.0 * a.sigma).ceil() as usize;
        let weight: Vec<f32> = a.weights(1.0).collect();
        let at = |x: usize, y: usize| weight[y * w + x] > 0.0;
        assert!(!at(40 + margin - 1, 60), "margin around padding");
        assert!(at(80, 60), "smooth ramp counted");
        assert!(!at(170, 60), "texture not counted");
        assert!(!at(80, margin - 1), "frame");
        assert!(a.valid_pixels < w * h && a.valid_pixels >= (w - 42) * h);
    }

    /// The banded smooth-pixel mask is exactly the full analysis's `weights(1.0)`, on a plane
    /// taller than one band (so band edges and the clamped image edges both occur).
    #[test]
    fn banded_smooth_pixels_equal_the_full_analysis() {
        let (w, h) = (97, 600);
        let luma = Plane::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            120.0
                + 60.0 * (fx / 13.0).sin() * (fy / 29.0).cos()
                + if (x + y) % 7 == 0 { 9.0 } else { 0.0 }
        });
        let a = analyse(&luma);
        let mut bits = Vec::new();
        smooth_pixels_into(&a.low, a.sigma, &pack_bits(&a.valid), &mut bits);
        assert_eq!(bits.len(), (w * h).div_ceil(64));
        let smooth: Vec<bool> = (0..w * h)
            .map(|i| bits[i / 64] >> (i % 64) & 1 == 1)
            .collect();
        let expected: Vec<bool> = a.weights(1.0).map(|v| v > 0.0).collect();
        assert_eq!(smooth, expected);
        assert!(smooth.iter().any(|&s| s) && smooth.iter().any(|&s| !s));
    }

    /// The banded activity is the blur of the whole gradient plane, to the bit.
    #[test]
    fn banded_activity_equals_the_blur_of_the_gradient_plane() {
        let low = Plane::from_fn(61, 300, |x, y| {
            ((x * 37 + y * 101) % 97) as f32 * 0.7 + (y as f32 / 9.0).sin() * 20.0
        });
        let sigma = 2.3;
        let mut gradient = crate::watermark::signal::lowpass::gradient_magnitude(&low);
        gradient.data.iter_mut().for_each(|g| *g *= sigma);
        assert_eq!(activity(&low, sigma), gaussian_blur(&gradient, sigma));
        let empty = Plane::new(0, 5);
        assert_eq!(activity(&empty, sigma), empty);
    }

    /// The banded valid mask of rows made on demand is [`valid_mask`]'s of the whole plane,
    /// with padding, clipped highlights and band edges in the image.
    #[test]
    fn valid_mask_of_rows_equals_the_whole_plane() {
        let (w, h) = (83, 400);
        let luma = Plane::from_fn(w, h, |x, y| {
            if x < 9 || (150..170).contains(&y) {
                2.0
            } else if (x * 3 + y) % 41 == 0 {
                254.0
            } else {
                30.0 + ((x * 37 + y * 11) % 200) as f32 * 1.1
            }
        });
        let rows = |y: usize, row: &mut [f32]| row.copy_from_slice(&luma.data[y * w..][..w]);
        let (valid, sigma, pixels) = valid_mask_of_rows(w, h, rows);
        let (expected, expected_sigma, expected_pixels) = valid_mask(&luma, None);
        assert_eq!(valid, expected);
        assert_eq!(sigma.to_bits(), expected_sigma.to_bits());
        assert_eq!(pixels, expected_pixels);
        assert!(pixels < w * h && valid.iter().any(|&v| v));
    }

    /// The valid mask is the grown invalid pixels' complement with the frame cleared, the
    /// frame as defined per pixel, on planes narrower and shorter than two margins too.
    #[test]
    fn grown_mask_has_the_frame_of_the_definition() {
        for (w, h, sigma) in [(40, 30, 1.0f32), (5, 30, 1.0), (40, 4, 1.0), (9, 9, 2.0)] {
            let invalid: Vec<bool> = (0..w * h).map(|i| i % 17 == 0).collect();
            let margin = (3.0 * sigma).ceil() as usize;
            let grown = dilate(&invalid, w, h, margin);
            let valid = grow_invalid(&invalid, w, h, sigma);
            for y in 0..h {
                for x in 0..w {
                    let frame = x < margin || y < margin || x + margin >= w || y + margin >= h;
                    assert_eq!(
                        valid[y * w + x],
                        !frame && !grown[y * w + x],
                        "{w}x{h} ({x},{y})"
                    );
                }
            }
        }
    }

    /// JFIF's YCbCr -> RGB (ITU-T T.871): grey stays grey, and pure red, (255, 0, 0) encoded
    /// as Y 76.245, Cb 84.972, Cr 255.5 (clamped to 255), decodes to a clipped red channel.
    #[test]
    fn channel_extremes_from_ycbcr() {
        let e = ChannelExtremes::from_ycbcr(2, 1, &[128, 128, 128, 76, 85, 255]);
        assert_eq!((e.brightest.data[0], e.darkest.data[0]), (128.0, 128.0));
        assert!(e.brightest.data[1] >= 254.0, "{:?}", e.brightest.data);
        assert!(e.darkest.data[1] <= 1.0, "{:?}", e.darkest.data);
    }

    /// A saturated colour whose red channel clips is out of the colour-masked analysis but
    /// in the luma-only one: its luma (148) is mid-grey.
    #[test]
    fn clipped_channels_are_masked_only_when_given() {
        let (w, h) = (160, 80);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if i % w < w / 2 {
                    [148, 148, 148]
                } else {
                    [255, 110, 60]
                }
            })
            .collect();
        let luma = Plane::from_fn(w, h, |x, _| if x < w / 2 { 148.0 } else { 147.6 });
        let extremes = ChannelExtremes::from_rgb(w, h, &rgb);
        let (plain, _, _) = valid_mask(&luma, None);
        let (masked, _, _) = valid_mask(&luma, Some(&extremes));
        let at = |mask: &[bool], x: usize| mask[(h / 2) * w + x];
        assert!(at(&plain, w / 4) && at(&plain, 3 * w / 4));
        assert!(at(&masked, w / 4) && !at(&masked, 3 * w / 4));
    }

    /// The colour-masked analysis shares the plain one's planes and has exactly the mask that
    /// `valid_mask` builds from luma and the extremes together.
    #[test]
    fn colour_masked_equals_a_fresh_analysis() {
        let luma = Plane::from_fn(120, 90, |x, y| ((x * 7 + y * 3) % 250) as f32);
        let brightest = Plane::from_fn(120, 90, |x, y| {
            if (x / 20 + y / 15) % 3 == 0 {
                255.0
            } else {
                120.0
            }
        });
        let darkest = Plane::from_fn(120, 90, |x, _| if x > 100 { 0.0 } else { 60.0 });
        let extremes = ChannelExtremes { brightest, darkest };
        let plain = analyse(&luma);
        let masked = plain.colour_masked(&extremes).unwrap();
        let (valid, sigma, valid_pixels) = valid_mask(&luma, Some(&extremes));
        assert_eq!(masked.valid, valid);
        assert_eq!((masked.sigma, masked.valid_pixels), (sigma, valid_pixels));
        assert_eq!(masked.low, plain.low);
        assert!(
            masked.valid.iter().filter(|&&v| v).count()
                < plain.valid.iter().filter(|&&v| v).count()
        );
    }
}
