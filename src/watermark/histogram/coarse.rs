//! Moving layer 1's closed loop between resolutions: a large cover is shaped first at a fraction
//! of its size ([`super::embed::embed_over`]), its change brought back to full size here.
//!
//! The detector measures the histogram of a low-pass whose width grows with the image
//! ([`super::analysis::sigma_for`]), so the low-pass of the cover shrunk k times, at a k times
//! narrower blur, holds the same tones in the same places: the loop's work (a blur of the
//! whole image per pass) costs a k² fraction of it there, and the full-size passes after it
//! only finish what the reduced cover's rounding left.

use rayon::prelude::*;

use crate::watermark::signal::Plane;

/// The smallest whole factor that brings `width` x `height` to at most `limit` pixels (1: the
/// cover is small enough as it is).
pub(crate) fn factor(width: usize, height: usize, limit: usize) -> usize {
    let mut k = 1;
    while (width.div_ceil(k)) * (height.div_ceil(k)) > limit.max(1) {
        k += 1;
    }
    k
}

/// The mean of each `k` x `k` block of the cover given by rows (`cover(y, x0, row)`, as
/// [`super::embed::embed_over`] takes it); the blocks of the last row and column may be cut
/// short and are the mean of the pixels they hold.
pub(crate) fn shrink(
    width: usize,
    height: usize,
    cover: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    k: usize,
) -> Plane {
    let (sw, sh) = (width.div_ceil(k), height.div_ceil(k));
    let mut small = Plane::new(sw, sh);
    if sw == 0 || sh == 0 {
        return small;
    }
    small.data.par_chunks_mut(sw).enumerate().for_each_init(
        || (vec![0f32; width], vec![0f64; sw]),
        |(row, sums), (sy, out)| {
            let (y0, y1) = (sy * k, ((sy + 1) * k).min(height));
            sums.fill(0.0);
            for y in y0..y1 {
                cover(y, 0, row);
                for (sum, block) in sums.iter_mut().zip(row.chunks(k)) {
                    *sum += block.iter().map(|&v| f64::from(v)).sum::<f64>();
                }
            }
            for (sx, (o, &sum)) in out.iter_mut().zip(sums.iter()).enumerate() {
                let cols = ((sx + 1) * k).min(width) - sx * k;
                *o = (sum / (cols * (y1 - y0)) as f64) as f32;
            }
        },
    );
    small
}

/// `small` (a plane [`shrink`] made k times smaller) brought back to `width` x `height` by
/// bilinear interpolation between the blocks' centres, held at the edges.
pub(crate) fn enlarge(small: &Plane, width: usize, height: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; width * height];
    let (sw, sh) = (small.width, small.height);
    if sw == 0 || sh == 0 || width == 0 {
        return out;
    }
    // A full-size pixel's place between the block centres: the block index of the centre at
    // or before it, and the weight of the next one.
    let place = |x: usize, n: usize| -> (usize, usize, f32) {
        let u = ((x as f32 + 0.5) / k as f32 - 0.5).max(0.0);
        let i = (u as usize).min(n - 1);
        let j = (i + 1).min(n - 1);
        (i, j, if i == j { 0.0 } else { u - i as f32 })
    };
    let columns: Vec<(usize, usize, f32)> = (0..width).map(|x| place(x, sw)).collect();
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let (i, j, t) = place(y, sh);
        let (a, b) = (&small.data[i * sw..][..sw], &small.data[j * sw..][..sw]);
        for (o, &(c0, c1, s)) in row.iter_mut().zip(&columns) {
            let top = a[c0] + s * (a[c1] - a[c0]);
            let bottom = b[c0] + s * (b[c1] - b[c0]);
            *o = top + t * (bottom - top);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_is_the_smallest_that_fits() {
        assert_eq!(factor(1000, 1000, 1_000_000), 1);
        assert_eq!(factor(1001, 1000, 1_000_000), 2);
        assert_eq!(factor(4032, 3024, 3_200_000), 2);
        // 4032 / 3 x 3024 / 3 = 1344 x 1008 = 1.35 MP
        assert_eq!(factor(4032, 3024, 2_000_000), 3);
        assert_eq!(factor(0, 0, 0), 1);
    }

    /// Each block's value is its pixels' mean, the cut blocks of the last row and column
    /// included (5 x 3 by 2: blocks of 2x2, 1x2, 2x1 and 1x1 pixels).
    #[test]
    fn shrink_takes_each_blocks_mean() {
        let (w, h) = (5, 3);
        let value = |x: usize, y: usize| (10 * y + x) as f32;
        let cover = |y: usize, x0: usize, row: &mut [f32]| {
            for (i, v) in row.iter_mut().enumerate() {
                *v = value(x0 + i, y);
            }
        };
        let small = shrink(w, h, &cover, 2);
        assert_eq!((small.width, small.height), (3, 2));
        let expected = [
            (0.0 + 1.0 + 10.0 + 11.0) / 4.0,
            (2.0 + 3.0 + 12.0 + 13.0) / 4.0,
            (4.0 + 14.0) / 2.0,
            (20.0 + 21.0) / 2.0,
            (22.0 + 23.0) / 2.0,
            24.0,
        ];
        assert_eq!(small.data, expected);
    }

    /// A single row or column, fewer pixels than a block, and an empty cover go through both
    /// ways: a constant comes back constant.
    #[test]
    fn thin_and_empty_covers_go_through() {
        for (w, h, k) in [
            (7, 1, 3),
            (1, 7, 3),
            (2, 2, 3),
            (1, 1, 2),
            (0, 5, 2),
            (5, 0, 2),
        ] {
            let cover = |_: usize, _: usize, row: &mut [f32]| row.fill(42.0);
            let small = shrink(w, h, &cover, k);
            assert_eq!((small.width, small.height), (w.div_ceil(k), h.div_ceil(k)));
            assert!(small.data.iter().all(|&v| v == 42.0), "{w} x {h} by {k}");
            let big = enlarge(&small, w, h, k);
            assert_eq!(big.len(), w * h);
            assert!(big.iter().all(|&v| v == 42.0), "{w} x {h} by {k}");
        }
    }

    /// A plane linear in x and y comes back exactly between the centres of the blocks (the
    /// bilinear interpolation of a linear function), and held flat past the outer centres.
    #[test]
    fn enlarge_interpolates_between_block_centres() {
        let k = 4;
        let (sw, sh) = (6, 5);
        // Block (i, j) has its centre at full-size pixel (4 i + 1.5, 4 j + 1.5).
        let small = Plane::from_fn(sw, sh, |i, j| {
            2.0 * (k * i) as f32 + 3.0 * (k * j) as f32 + 5.0 * 1.5
        });
        let (w, h) = (sw * k, sh * k);
        let big = enlarge(&small, w, h, k);
        for y in 0..h {
            for x in 0..w {
                let cx = (x as f32).clamp(1.5, (k * (sw - 1)) as f32 + 1.5);
                let cy = (y as f32).clamp(1.5, (k * (sh - 1)) as f32 + 1.5);
                let expected = 2.0 * cx + 3.0 * cy;
                let got = big[y * w + x];
                assert!(
                    (got - expected).abs() < 1e-3,
                    "({x}, {y}): {got} vs {expected}"
                );
            }
        }
    }
}
