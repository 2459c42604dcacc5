//! `mark --force` over this key's own mark: the earlier payload's pattern is taken out of the
//! cover before the new one is made, so that the output carries one payload instead of two
//! codewords on the same pilots (which `verify` can only call `several_payloads`).
//!
//! `mark` is deterministic, so the earlier pattern can be made again from the key, the payload
//! read back and the marked image itself: the tile and its cells depend on the key, the payload
//! and the image's size alone, the local amplitude and the content signs on the cover, which
//! the mark changed little. What the file holds of it is not quite what `mark` added: the SSIM
//! fit scaled it (the whole of it, or its texture part alone up to a ceiling: `fit`), layer 1's
//! tone remap and the encoder's rounding took some of it, most where the cover is smooth. So:
//!
//! 1. the fit's scale and the factors of the pattern's flat and texture parts are fitted by
//!    least squares on a band of the high-passed luma (the cover's own detail is noise
//!    uncorrelated with the keyed signs), once on the pattern made from the marked image and
//!    once on the pattern made again from the image that first fit cleaned, whose texture is
//!    nearer the cover's (the mark's own cell edges are texture too);
//! 2. that model's amplitude is then fitted around each cell ([`LOCAL_CELLS`]), and taken out.
//!
//! The result is kept only when the payload no longer reads blind: an image scaled or shifted
//! since it was marked, or one where the fit leaves too much, keeps its pattern, and its output
//! carries both payloads, as before this step existed. `docs/watermark.md`, "Marking again replaces the
//! mark", has the figures.

use super::fit::scaled_row;
use super::pattern::{self, PatternSettings, content, tile};
use super::signal::Plane;
use super::signal::lowpass::{gaussian_blur, gaussian_kernel};
use super::{Key, Payload};

/// The global fit is made on at most this many pixels, a band of whole rows across the middle
/// of the image: its three numbers need no more, and a camera photo's full planes, one per
/// scale tried, would cost hundreds of megabytes.
const FIT_PIXELS: usize = 1 << 22;

/// This key's earlier mark, taken out of the cover.
pub(super) struct Removal {
    /// The payload the earlier mark carried.
    pub(super) earlier: Payload,
    /// What was added to each luma sample, in [`CHANGE_UNITS`] of a grey level: the written
    /// samples take it. The luma given to [`take_out`] was changed by it and rounded.
    change: Vec<i16>,
}

impl Removal {
    /// Adds the change to `delta`, grey levels per luma sample (the change `mark` writes).
    pub(super) fn add_to(&self, delta: &mut [f32]) {
        for (d, &c) in delta.iter_mut().zip(&self.change) {
            *d += f32::from(c) / CHANGE_UNITS;
        }
    }
}

/// [`Removal::change`]'s units per grey level: 1/64 of a level is far under what a written
/// sample's rounding loses, and 16 bits hold more than the largest change a mark makes. (An
/// eighth of a level in a byte, tried for the 24 MB it spares at 24 MP, changed the pattern
/// made again from the first fit's cleaned image enough that one of 19 marks still read.)
const CHANGE_UNITS: f32 = 64.0;

/// Where `luma` carries a mark under `key` whose payload reads back blind, takes that mark's
/// pattern out of it and returns what it changed, once that payload no longer reads there
/// blind; a `luma` of whole grey levels is then rounded to whole grey levels again (the
/// written samples take the change to the fraction). `None`, and `luma` as it was, where no
/// payload reads (no mark, a damaged one, or several) or the payload still reads once taken
/// out.
pub(super) fn take_out(luma: &mut Plane, key: &Key, settings: &PatternSettings) -> Option<Removal> {
    let read = pattern::extract_for_refusal(luma, key);
    // The message it was read as: a payload of zero second half was sent whole before short
    // payloads were.
    let (earlier, code) = (read.payload?, read.code?);
    let (w, h) = (luma.width, luma.height);
    if w == 0 || h == 0 {
        return None;
    }
    let whole = luma.data.iter().all(|v| v.fract() == 0.0);
    let most = settings.max_texture_gain.max(1.0) as f32;
    let band = Band::of(w, h);
    let marked = high_passed(
        Plane {
            width: w,
            height: band.rows,
            data: luma.data[band.range(w)].to_vec(),
        },
        band.sigma,
    );
    // A first fit on the pattern made from the marked image, whose texture holds the mark's own
    // cell edges (on a smooth cover most of the texture it shows); then the pattern made again
    // from the image that fit cleaned, nearer the cover's texture, and fitted again.
    let made = pattern::pattern_sent_as(luma, key, &earlier, code, settings, content::SHARE);
    let first = fitted(&marked, &made, &band, most);
    let first_change = quantised(&model_of(made, &first, w));
    apply(luma, &first_change, -1.0);
    let made = pattern::pattern_sent_as(luma, key, &earlier, code, settings, content::SHARE);
    apply(luma, &first_change, 1.0);
    drop(first_change);
    let fit = fitted(&marked, &made, &band, most);
    drop(marked);
    let model = model_of(made, &fit, w);
    let amplitude = local_amplitude(luma, &model, band.cell, band.sigma);
    let cell = band.cell;
    let cols = w.div_ceil(cell);
    let mut change = vec![0i16; w * h];
    for (y, ((out, values), m)) in change
        .chunks_exact_mut(w)
        .zip(luma.data.chunks_exact_mut(w))
        .zip(model.data.chunks_exact(w))
        .enumerate()
    {
        let a = &amplitude[y / cell * cols..][..cols];
        for (x, ((c, v), &m)) in out.iter_mut().zip(values.iter_mut()).zip(m).enumerate() {
            let target = (*v - a[x / cell] * m).clamp(0.0, 255.0);
            *c = ((target - *v) * CHANGE_UNITS)
                .round()
                .clamp(-32767.0, 32767.0) as i16;
            *v += f32::from(*c) / CHANGE_UNITS;
        }
    }
    drop(model);
    // Kept only if the earlier payload no longer reads blind: a fit that left the pattern (an
    // image scaled or shifted since it was marked) is undone. (Asking that its claim fail too
    // would cost a search of every level, as much again as the rest on a 12 MP photo.)
    let after = pattern::extract_for_refusal(luma, key);
    let removal = Removal { earlier, change };
    if after.payload.is_some() || after.several_payloads {
        apply(luma, &removal.change, -1.0);
        return None;
    }
    // The cover the new mark is made on stays whole grey levels where the decoded luma was
    // (`CoverLuma` keeps it as bytes).
    if whole {
        luma.data.iter_mut().for_each(|v| *v = v.round());
    }
    Some(removal)
}

/// Cells around each cell whose correlation the local amplitude averages (a Gaussian's
/// sigma, in cells).
const LOCAL_CELLS: f32 = 2.0;

/// The amplitude of `model` in `luma` around each cell of `cell` pixels (row by row of cells,
/// `mark`'s grid): the
/// high-passed luma's correlation with the high-passed model over the model's energy, both
/// summed per cell and averaged over [`LOCAL_CELLS`]. Where the re-encode rounded the pattern
/// away (smooth areas) or layer 1's remap scaled it, this follows what the image carries.
fn local_amplitude(luma: &Plane, model: &Plane, cell: usize, sigma: f32) -> Vec<f32> {
    let (w, h) = (luma.width, luma.height);
    let (cols, rows) = (w.div_ceil(cell), h.div_ceil(cell));
    let mut cross = Plane::new(cols, rows);
    let mut energy = Plane::new(cols, rows);
    for_each_high_passed_rows(luma, model, sigma, |y, l, m| {
        let at = y / cell * cols;
        for (x, (&l, &m)) in l.iter().zip(m).enumerate() {
            cross.data[at + x / cell] += l * m;
            energy.data[at + x / cell] += m * m;
        }
    });
    let cross = gaussian_blur(&cross, LOCAL_CELLS);
    let energy = gaussian_blur(&energy, LOCAL_CELLS);
    cross
        .data
        .iter()
        .zip(&energy.data)
        .map(|(&c, &e)| {
            if e > 0.0 {
                (c / e).clamp(0.0, 2.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// The rows the fit is made on: at most [`FIT_PIXELS`] across the middle of the image.
struct Band {
    first: usize,
    rows: usize,
    /// `mark`'s cell side for the image.
    cell: usize,
    /// The high-pass's Gaussian, pixels: a cell's width, at most 4 (the cover's detail
    /// finer than that stays, as noise the fit averages out; a wider blur costs more).
    sigma: f32,
}

impl Band {
    fn of(w: usize, h: usize) -> Band {
        let rows = (FIT_PIXELS / w).clamp(1, h);
        let cell = tile::cell_side(w, h);
        Band {
            first: (h - rows) / 2,
            rows,
            cell,
            sigma: (cell as f32).min(4.0),
        }
    }

    fn range(&self, w: usize) -> std::ops::Range<usize> {
        self.first * w..(self.first + self.rows) * w
    }
}

/// What the earlier mark's pattern was written as: `flat F + texture (M(scale) - F)`, `M` the
/// pattern at the SSIM fit's scale ([`scaled_row`]) and `F` its flat part.
struct Fit {
    scale: f32,
    flat: f32,
    texture: f32,
}

/// The [`Fit`] of `made` to the high-passed `marked` band (the high-pass is linear, so that
/// `luma = cover + flat F + texture (M - F)` holds for the high-passed planes too, the cover's
/// part noise uncorrelated with the keyed signs): for each scale on a grid from 1 to `most`
/// (under 1 the fit scaled the whole pattern, which the factors take), the two factors by
/// least squares, and the scale that explains the most of `marked`.
fn fitted(marked: &Plane, made: &tile::Pattern, band: &Band, most: f32) -> Fit {
    let w = marked.width;
    let mut flat = Plane::new(w, band.rows);
    for (y, row) in flat.data.chunks_exact_mut(w).enumerate() {
        made.flat.row(band.first + y, row);
    }
    let pattern = &made.change[band.range(w)];
    let flat_high = high_passed(flat.clone(), band.sigma);
    let dot = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum::<f64>()
    };
    let (ff, lf) = (
        dot(&flat_high.data, &flat_high.data),
        dot(&marked.data, &flat_high.data),
    );
    let mut best = (
        Fit {
            scale: 1.0,
            flat: 0.0,
            texture: 0.0,
        },
        0f64,
    );
    let mut scale = 1.0f32;
    loop {
        let mut texture = Plane::new(w, band.rows);
        for ((out, p), q) in texture
            .data
            .chunks_exact_mut(w)
            .zip(pattern.chunks_exact(w))
            .zip(flat.data.chunks_exact(w))
        {
            scaled_row(p, q, scale, made.flat.ceiling(), out);
            out.iter_mut().zip(q).for_each(|(o, &q)| *o -= q);
        }
        let texture = high_passed(texture, band.sigma);
        let (tt, ft, lt) = (
            dot(&texture.data, &texture.data),
            dot(&flat_high.data, &texture.data),
            dot(&marked.data, &texture.data),
        );
        let det = ff * tt - ft * ft;
        if det > 1e-9 * ff * tt {
            let a = (lf * tt - lt * ft) / det;
            let b = (lt * ff - lf * ft) / det;
            let explained = a * lf + b * lt;
            if explained > best.1 {
                let clamp = |v: f64| (v as f32).clamp(0.0, most);
                best = (
                    Fit {
                        scale,
                        flat: clamp(a),
                        texture: clamp(b),
                    },
                    explained,
                );
            }
        }
        if scale >= most {
            break best.0;
        }
        scale = (scale + 0.25).min(most);
    }
}

/// Rows at a time of the high-pass that [`high_passed`] makes, so that no full-resolution plane
/// is added: `each(y, a, b)` gets row `y` of both planes high-passed, in order.
fn for_each_high_passed_rows(
    a: &Plane,
    b: &Plane,
    sigma: f32,
    mut each: impl FnMut(usize, &[f32], &[f32]),
) {
    let (w, h) = (a.width, a.height);
    // The rows the blur reaches: with them, a band's own rows are blurred as in the whole plane.
    let halo = gaussian_kernel(sigma).len() / 2;
    let mut y0 = 0;
    while y0 < h {
        let y1 = (y0 + BAND_ROWS).min(h);
        let (from, to) = (y0.saturating_sub(halo), (y1 + halo).min(h));
        let band = |plane: &Plane| {
            high_passed(
                Plane {
                    width: w,
                    height: to - from,
                    data: plane.data[from * w..to * w].to_vec(),
                },
                sigma,
            )
        };
        let (a, b) = (band(a), band(b));
        for y in y0..y1 {
            let at = (y - from) * w;
            each(y, &a.data[at..at + w], &b.data[at..at + w]);
        }
        y0 = y1;
    }
}

/// Rows per band of [`for_each_high_passed_rows`].
const BAND_ROWS: usize = 256;

/// The pattern `made` as `fit` shapes it, per luma sample of rows `w` wide.
fn model_of(made: tile::Pattern, fit: &Fit, w: usize) -> Plane {
    let tile::Pattern { mut change, flat } = made;
    let mut flat_row = vec![0f32; w];
    let mut scaled = vec![0f32; w];
    for (y, row) in change.chunks_exact_mut(w).enumerate() {
        flat.row(y, &mut flat_row);
        scaled_row(row, &flat_row, fit.scale, flat.ceiling(), &mut scaled);
        for ((m, &s), &f) in row.iter_mut().zip(&scaled).zip(&flat_row) {
            *m = fit.flat * f + fit.texture * (s - f);
        }
    }
    Plane {
        width: w,
        height: change.len() / w,
        data: change,
    }
}

/// `plane`'s values in [`CHANGE_UNITS`], rounded: a luma sample of whole grey levels minus
/// such a change and plus it again is the same sample, to the bit.
fn quantised(plane: &Plane) -> Vec<i16> {
    plane
        .data
        .iter()
        .map(|&v| (v * CHANGE_UNITS).round().clamp(-32767.0, 32767.0) as i16)
        .collect()
}

/// Adds `sign` times `change` ([`CHANGE_UNITS`]) to `luma`.
fn apply(luma: &mut Plane, change: &[i16], sign: f32) {
    for (v, &c) in luma.data.iter_mut().zip(change) {
        *v += sign * f32::from(c) / CHANGE_UNITS;
    }
}

/// `plane` minus its Gaussian blur of `sigma`.
fn high_passed(mut plane: Plane, sigma: f32) -> Plane {
    let low = gaussian_blur(&plane, sigma);
    plane
        .data
        .iter_mut()
        .zip(&low.data)
        .for_each(|(v, l)| *v -= l);
    plane
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash-like value in -1..1 per (x, y, seed): test noise without a generator's state.
    fn noise(x: usize, y: usize, seed: u64) -> f32 {
        let mut v = (x as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (y as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
            ^ seed.wrapping_mul(0x1656_67b1_9e37_79f9);
        v ^= v >> 31;
        v = v.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        v ^= v >> 29;
        (v >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    #[test]
    fn the_banded_high_pass_is_the_whole_planes() {
        // More rows than a band, so that bands meet inside the plane.
        let (w, h) = (61, 2 * BAND_ROWS + 37);
        let a = Plane::from_fn(w, h, |x, y| 100.0 + 50.0 * noise(x, y, 1) + y as f32 * 0.1);
        let b = Plane::from_fn(w, h, |x, y| noise(x, y, 2));
        let sigma = 4.0;
        let (whole_a, whole_b) = (high_passed(a.clone(), sigma), high_passed(b.clone(), sigma));
        let mut rows = 0;
        for_each_high_passed_rows(&a, &b, sigma, |y, ra, rb| {
            assert_eq!(y, rows);
            rows += 1;
            for (x, (&va, &vb)) in ra.iter().zip(rb).enumerate() {
                assert!(
                    (va - whole_a.data[y * w + x]).abs() < 1e-3,
                    "a at ({x}, {y})"
                );
                assert!(
                    (vb - whole_b.data[y * w + x]).abs() < 1e-4,
                    "b at ({x}, {y})"
                );
            }
        });
        assert_eq!(rows, h);
    }

    #[test]
    fn the_local_amplitude_follows_what_the_image_carries() {
        // A cover of fine noise (one grey level) on a slope, plus a pattern of one sign per
        // cell at 0.7 of the model on the left half and 0.2 on the right (where a re-encode
        // would have taken most of it).
        let (w, h) = (512, 384);
        let cell = tile::cell_side(w, h);
        let model = Plane::from_fn(w, h, |x, y| {
            if noise(x / cell, y / cell, 3) > 0.0 {
                1.5
            } else {
                -1.5
            }
        });
        let luma = Plane::from_fn(w, h, |x, y| {
            let carried = if x < w / 2 { 0.7 } else { 0.2 };
            120.0 + 0.2 * y as f32 + noise(x, y, 4) + carried * model.data[y * w + x]
        });
        let amplitude = local_amplitude(&luma, &model, cell, (cell as f32).min(4.0));
        let cols = w.div_ceil(cell);
        let at = |x: usize, y: usize| amplitude[y / cell * cols + x / cell];
        for y in (h / 4..3 * h / 4).step_by(cell) {
            let (left, right) = (at(w / 8, y), at(7 * w / 8, y));
            assert!((left - 0.7).abs() < 0.1, "left {left} at row {y}");
            assert!((right - 0.2).abs() < 0.1, "right {right} at row {y}");
        }
    }

    #[test]
    fn a_change_taken_out_and_put_back_leaves_whole_samples_as_they_were() {
        let mut luma = Plane::from_fn(40, 30, |x, y| ((x * 7 + y * 13) % 256) as f32);
        let before = luma.clone();
        let change = quantised(&Plane::from_fn(40, 30, |x, y| 3.0 * noise(x, y, 5)));
        apply(&mut luma, &change, -1.0);
        assert!(luma.data != before.data);
        apply(&mut luma, &change, 1.0);
        assert!(
            luma.data
                .iter()
                .zip(&before.data)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }
}
