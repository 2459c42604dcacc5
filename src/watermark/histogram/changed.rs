//! What one closed-loop pass changed, and the low-pass and smooth-pixel mask remade only around
//! it. From the third pass on most groups are satisfied or given up and their pixels stop
//! moving; a blur's output sample depends only on the input within the kernel's reach, so
//! wherever no input sample within reach changed, the blur of the new input is the old blur, to
//! the bit. Re-blurring only the rest (and re-measuring smoothness only where the low-pass
//! moved) gives the planes a full recomputation would, at a fraction of the cost.

use rayon::prelude::*;

use super::analysis::SMOOTH_LIMIT;
use crate::watermark::signal::Plane;
use crate::watermark::signal::lowpass::{blur_span, gradient_span, span_reach};

/// Side of the square tiles changes are tracked in, in pixels; also the height of the bands
/// the planes are remade in. 64 rows of a bit mask are whole words (64 x width bits).
pub(crate) const TILE: usize = 64;

/// A rectangle of pixels, `x0..x1` by `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub(crate) x0: usize,
    pub(crate) y0: usize,
    pub(crate) x1: usize,
    pub(crate) y1: usize,
}

impl Rect {
    fn union(self, o: Rect) -> Rect {
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    /// `self` grown by `reach` on every side and cut to `within`, if anything is left.
    fn reach_into(self, reach: usize, within: Rect) -> Option<Rect> {
        let r = Rect {
            x0: self.x0.saturating_sub(reach).max(within.x0),
            y0: self.y0.saturating_sub(reach).max(within.y0),
            x1: (self.x1 + reach).min(within.x1),
            y1: (self.y1 + reach).min(within.y1),
        };
        (r.x0 < r.x1 && r.y0 < r.y1).then_some(r)
    }
}

/// The pixels of a `width` x `height` plane that changed: per [`TILE`]-square tile, the
/// bounding box of its changed pixels.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    width: usize,
    height: usize,
    tiles_x: usize,
    boxes: Vec<Option<Rect>>,
}

impl Changed {
    /// Nothing changed.
    pub(crate) fn none(width: usize, height: usize) -> Changed {
        let tiles_x = width.div_ceil(TILE);
        Changed {
            width,
            height,
            tiles_x,
            boxes: vec![None; tiles_x * height.div_ceil(TILE)],
        }
    }

    /// Every pixel changed.
    pub(crate) fn all(width: usize, height: usize) -> Changed {
        let mut c = Changed::none(width, height);
        for (i, b) in c.boxes.iter_mut().enumerate() {
            let (tx, ty) = (i % c.tiles_x, i / c.tiles_x);
            *b = Some(Rect {
                x0: tx * TILE,
                y0: ty * TILE,
                x1: ((tx + 1) * TILE).min(width),
                y1: ((ty + 1) * TILE).min(height),
            });
        }
        c
    }

    /// Records that pixel (`x`, `y`) changed.
    pub(crate) fn mark(&mut self, x: usize, y: usize) {
        let pixel = Rect {
            x0: x,
            y0: y,
            x1: x + 1,
            y1: y + 1,
        };
        let b = &mut self.boxes[y / TILE * self.tiles_x + x / TILE];
        *b = Some(b.map_or(pixel, |b| b.union(pixel)));
    }

    /// Records that the pixels of the bits of `word` changed, bit `j` being pixel `first + j`
    /// in row-major order. The boxes are bounding boxes: when the first and last bit's pixels
    /// share a row and a tile, those two stand for all between.
    pub(crate) fn mark_word(&mut self, first: usize, word: u64) {
        let w = self.width;
        let i0 = first + word.trailing_zeros() as usize;
        let i1 = first + 63 - word.leading_zeros() as usize;
        let (x0, y0, x1, y1) = (i0 % w, i0 / w, i1 % w, i1 / w);
        if y0 == y1 && x0 / TILE == x1 / TILE {
            self.mark(x0, y0);
            self.mark(x1, y1);
            return;
        }
        let mut bits = word;
        while bits != 0 {
            let i = first + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.mark(i % w, i / w);
        }
    }

    /// The pixels within `reach` (in both directions, a square) of a changed pixel, as
    /// rectangles per band of [`TILE`] rows: each tile's share of the changed boxes grown by
    /// `reach`, and the shares of neighbouring tiles in a band joined into one rectangle (a
    /// rectangle covers what it is asked to and perhaps more; remade pixels come out as they
    /// were, so more is only slower).
    pub(crate) fn within(&self, reach: usize) -> Vec<Vec<Rect>> {
        let (w, h) = (self.width, self.height);
        let tiles_y = self.boxes.len() / self.tiles_x.max(1);
        let k = reach.div_ceil(TILE);
        (0..tiles_y)
            .map(|ty| {
                let mut rects: Vec<Rect> = Vec::new();
                let mut open = false;
                for tx in 0..self.tiles_x {
                    let tile = Rect {
                        x0: tx * TILE,
                        y0: ty * TILE,
                        x1: ((tx + 1) * TILE).min(w),
                        y1: ((ty + 1) * TILE).min(h),
                    };
                    let mut share: Option<Rect> = None;
                    for sy in ty.saturating_sub(k)..(ty + k + 1).min(tiles_y) {
                        for sx in tx.saturating_sub(k)..(tx + k + 1).min(self.tiles_x) {
                            let reached = self.boxes[sy * self.tiles_x + sx]
                                .and_then(|b| b.reach_into(reach, tile));
                            if let Some(r) = reached {
                                share = Some(share.map_or(r, |s| s.union(r)));
                            }
                        }
                    }
                    match (share, rects.last_mut()) {
                        (Some(s), Some(last)) if open => *last = last.union(s),
                        (Some(s), _) => rects.push(s),
                        (None, _) => {}
                    }
                    open = share.is_some();
                }
                rects
            })
            .collect()
    }
}

/// Remakes `low`, the blur with `taps` of the plane whose row `y` is given by `fill(y, x0,
/// row)` (columns `x0..x0 + row.len()`), inside `rects` (per band of [`TILE`] rows, from
/// [`Changed::within`]); the rest of `low` is kept. Each remade sample is the one
/// [`gaussian_blur_rows_into`](crate::watermark::signal::lowpass::gaussian_blur_rows_into)
/// makes of the whole plane, to the bit.
pub(crate) fn reblur(
    low: &mut Plane,
    fill: impl Fn(usize, usize, &mut [f32]) + Sync,
    taps: &[f32],
    rects: &[Vec<Rect>],
) {
    let (w, h) = (low.width, low.height);
    if w == 0 || h == 0 {
        return;
    }
    let radius = taps.len() / 2;
    low.data
        .par_chunks_mut(TILE * w)
        .zip(rects)
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(rows, scratch), (index, (band, rects))| {
                let y0 = index * TILE;
                for r in rects {
                    let (c0, c1) = span_reach(r.x0, r.x1, w, radius);
                    let (r0, r1) = (r.y0.saturating_sub(radius), (r.y1 + radius).min(h));
                    let span = c1 - c0;
                    rows.resize((r1 - r0) * span, 0.0);
                    for (sy, row) in (r0..r1).zip(rows.chunks_exact_mut(span)) {
                        fill(sy, c0, row);
                    }
                    let rows: &[f32] = rows;
                    let at = |sy: usize| &rows[(sy - r0) * span..(sy - r0 + 1) * span];
                    for y in r.y0..r.y1 {
                        let out = &mut band[(y - y0) * w..][r.x0..r.x1];
                        blur_span(at, h, y, (r.x0, w), taps, scratch, out);
                    }
                }
            },
        );
}

/// Remakes the smooth-pixel bits of [`smooth_pixels_into`](super::analysis::smooth_pixels_into)
/// inside `rects` (per band of [`TILE`] rows) from the current `low`; the other bits are
/// kept. Each remade bit is the one the whole-plane version makes, to the bit: the same
/// gradient samples, scaled, blurred with `taps` and compared.
pub(crate) fn remeasure_smooth(
    low: &Plane,
    sigma: f32,
    taps: &[f32],
    valid: &[u64],
    smooth: &mut [u64],
    rects: &[Vec<Rect>],
) {
    let (w, h) = (low.width, low.height);
    if w == 0 || h == 0 {
        return;
    }
    let radius = taps.len() / 2;
    // A band of TILE rows is TILE * w bits: w whole words.
    smooth
        .par_chunks_mut(w)
        .zip(rects)
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(gradient, scratch, activity), (band, (words, rects))| {
                let first_bit = band * TILE * w;
                for r in rects {
                    let (c0, c1) = span_reach(r.x0, r.x1, w, radius);
                    let (g0, g1) = (r.y0.saturating_sub(radius), (r.y1 + radius).min(h));
                    let span = c1 - c0;
                    gradient.resize((g1 - g0) * span, 0.0);
                    for (gy, g) in (g0..g1).zip(gradient.chunks_exact_mut(span)) {
                        gradient_span(low, gy, c0, g);
                        g.iter_mut().for_each(|v| *v *= sigma);
                    }
                    let gradient: &[f32] = gradient;
                    let at = |sy: usize| &gradient[(sy - g0) * span..(sy - g0 + 1) * span];
                    activity.resize(r.x1 - r.x0, 0.0);
                    for y in r.y0..r.y1 {
                        blur_span(at, h, y, (r.x0, w), taps, scratch, activity);
                        set_bits(words, first_bit, valid, y * w + r.x0, activity);
                    }
                }
            },
        );
}

/// Sets the bits of pixels `start..start + activity.len()` (row-major, as in
/// [`remeasure_smooth`]) in `words`, whose first bit is pixel `first_bit` (a multiple of 64):
/// on where the pixel's activity is below [`SMOOTH_LIMIT`] and it is valid, else off. The bits
/// are made a word at a time, each word of the mask read and written once.
fn set_bits(words: &mut [u64], first_bit: usize, valid: &[u64], start: usize, activity: &[f32]) {
    let end = start + activity.len();
    let mut i = start;
    while i < end {
        let (k, lo) = (i / 64, i % 64);
        let hi = (lo + (end - i)).min(64);
        let mut on = 0u64;
        for (b, &a) in (lo..hi).zip(&activity[i - start..]) {
            on |= u64::from(a < SMOOTH_LIMIT) << b;
        }
        let mask = (u64::MAX >> (64 - (hi - lo))) << lo;
        let word = &mut words[k - first_bit / 64];
        *word = *word & !mask | on & valid[k] & mask;
        i += hi - lo;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::histogram::analysis::{pack_bits, smooth_pixels_into};
    use crate::watermark::signal::gaussian_kernel;
    use crate::watermark::signal::lowpass::gaussian_blur_rows_into;

    /// A plane with texture, flat patches and values past both ends of 0..=255.
    fn plane(w: usize, h: usize, seed: usize) -> Plane {
        Plane::from_fn(w, h, |x, y| {
            let t = ((x * 37 + y * 101 + seed * 13) % 97) as f32 * 0.9;
            if (x / 23 + y / 17) % 3 == 0 {
                90.0 + 0.1 * x as f32
            } else {
                t * 2.8 - 4.0 + (y as f32 / 7.0).sin() * 3.0
            }
        })
    }

    /// Every pixel within `reach` of a changed one lies in a rectangle of its band, and the
    /// rectangles stay inside their bands and the plane.
    #[test]
    fn within_covers_the_reach_of_every_change() {
        let (w, h) = (150, 200);
        let mut changed = Changed::none(w, h);
        let points = [(0, 0), (70, 66), (149, 199), (64, 63), (10, 130), (128, 10)];
        for &(x, y) in &points {
            changed.mark(x, y);
        }
        for reach in [0, 5, 33, 70] {
            let bands = changed.within(reach);
            assert_eq!(bands.len(), h.div_ceil(TILE));
            for y in 0..h {
                for x in 0..w {
                    let near = points
                        .iter()
                        .any(|&(px, py)| px.abs_diff(x) <= reach && py.abs_diff(y) <= reach);
                    let covered = bands[y / TILE]
                        .iter()
                        .any(|r| (r.x0..r.x1).contains(&x) && (r.y0..r.y1).contains(&y));
                    if near {
                        assert!(covered, "reach {reach}: ({x},{y}) missed");
                    }
                }
            }
            for (band, rects) in bands.iter().enumerate() {
                for r in rects {
                    assert!(r.y0 >= band * TILE && r.y1 <= ((band + 1) * TILE).min(h));
                    assert!(r.x1 <= w && r.x0 < r.x1);
                }
            }
        }
        assert!(Changed::none(w, h).within(9).iter().all(Vec::is_empty));
    }

    /// Marking a word's bits gives the boxes that marking each of its pixels gives, across
    /// rows and tiles.
    #[test]
    fn marking_a_word_is_marking_its_pixels() {
        for (w, h) in [(150, 40), (64, 5), (7, 30), (200, 3)] {
            let mut state = 11u64;
            for first in (0..w * h).step_by(64) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let mut word = state ^ state >> 29;
                if first + 64 > w * h {
                    word &= (1u64 << (w * h - first)) - 1;
                }
                if word == 0 {
                    continue;
                }
                for word in [word, word & 0xff0, 1 << 63 >> (first % 7)] {
                    let word = if first + 64 > w * h {
                        word & ((1u64 << (w * h - first)) - 1)
                    } else {
                        word
                    };
                    if word == 0 {
                        continue;
                    }
                    let (mut by_word, mut by_pixel) = (Changed::none(w, h), Changed::none(w, h));
                    by_word.mark_word(first, word);
                    for j in (0..64).filter(|j| word >> j & 1 == 1) {
                        by_pixel.mark((first + j) % w, (first + j) / w);
                    }
                    assert_eq!(by_word.boxes, by_pixel.boxes, "{w}x{h} {first} {word:x}");
                }
            }
        }
    }

    /// Setting a run of bits a word at a time sets each bit as the per-pixel rule does, and
    /// leaves the bits outside the run alone.
    #[test]
    fn bits_set_by_word_are_the_per_pixel_bits() {
        let valid: Vec<u64> = (0..8u64)
            .map(|k| !(0x8421_0000_1248_0001u64 << k))
            .collect();
        let activity: Vec<f32> = (0..300).map(|i| ((i * 37) % 29) as f32 * 0.11).collect();
        for (first_bit, start, len) in [(0, 0, 300), (64, 70, 1), (64, 127, 2), (128, 130, 200)] {
            let before: Vec<u64> = (0..8 - first_bit / 64)
                .map(|k| 0x5555_aaaa_0f0f_f0f0u64.rotate_left(k as u32 * 7))
                .collect();
            let mut words = before.clone();
            set_bits(&mut words, first_bit, &valid, start, &activity[..len]);
            for (k, (&got, &was)) in words.iter().zip(&before).enumerate() {
                for b in 0..64 {
                    let i = first_bit + 64 * k + b;
                    let expected = if (start..start + len).contains(&i) {
                        activity[i - start] < SMOOTH_LIMIT && valid[i / 64] >> (i % 64) & 1 == 1
                    } else {
                        was >> b & 1 == 1
                    };
                    assert_eq!(
                        got >> b & 1 == 1,
                        expected,
                        "{first_bit} {start} {len}: {i}"
                    );
                }
            }
        }
    }

    /// After a change to some pixels, the low-pass remade around them, and the smooth-pixel
    /// mask remade around those, are the whole-plane versions of the changed plane, to the bit.
    #[test]
    fn remade_planes_equal_the_whole_plane_versions() {
        for (w, h, sigma) in [(150, 200, 2.2), (67, 130, 1.0), (300, 70, 4.1)] {
            let before = plane(w, h, 0);
            let mut after = before.clone();
            let mut changed = Changed::none(w, h);
            for (i, (x, y)) in [
                (3, 4),
                (w / 2, h / 2),
                (w - 1, h - 1),
                (w / 3, 66),
                (0, h - 2),
            ]
            .into_iter()
            .enumerate()
            {
                after.data[y * w + x] += 7.5 + i as f32;
                changed.mark(x, y);
            }
            // A patch of many changed pixels.
            for y in h / 4..h / 4 + 9 {
                for x in w / 5..w / 5 + 12 {
                    after.data[y * w + x] -= 3.0;
                    changed.mark(x, y);
                }
            }
            let rows = |p: &Plane| {
                let p = p.clone();
                move |y: usize, x0: usize, row: &mut [f32]| {
                    row.copy_from_slice(&p.data[y * p.width + x0..][..row.len()])
                }
            };
            let taps = gaussian_kernel(sigma);
            let radius = taps.len() / 2;
            let whole = |p: &Plane| {
                let mut low = Plane::new(0, 0);
                let fill = rows(p);
                gaussian_blur_rows_into(w, h, |y, row| fill(y, 0, row), sigma, &mut low);
                low
            };
            let mut low = whole(&before);
            let expected_low = whole(&after);
            assert_ne!(low, expected_low);
            reblur(&mut low, rows(&after), &taps, &changed.within(radius));
            assert_eq!(low, expected_low, "{w}x{h}");

            let valid = pack_bits(&(0..w * h).map(|i| i % 11 != 0).collect::<Vec<_>>());
            let (mut smooth, mut expected) = (Vec::new(), Vec::new());
            smooth_pixels_into(&whole(&before), sigma, &valid, &mut smooth);
            smooth_pixels_into(&expected_low, sigma, &valid, &mut expected);
            assert_ne!(smooth, expected, "{w}x{h}: the change should move the mask");
            let rects = changed.within(2 * radius + 1);
            remeasure_smooth(&low, sigma, &taps, &valid, &mut smooth, &rects);
            assert_eq!(smooth, expected, "{w}x{h}");
        }
    }
}
