//! Mean SSIM of two luma planes (Wang et al. 2004: 11 x 11 Gaussian window, sigma 1.5, data
//! range 255), the measure the watermark suite holds `mark`'s output to. The mean runs over the
//! pixels whose whole window lies inside the image, so no border rule enters; the image is
//! processed in bands of 64 rows (one per thread at a time), so memory stays a few bands wide
//! whatever its height.

use rayon::prelude::*;

use super::{Plane, gaussian_kernel};

const SIGMA: f32 = 1.5;
const C1: f32 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f32 = (0.03 * 255.0) * (0.03 * 255.0);
/// Output rows per band.
const BAND: usize = 64;

/// Mean SSIM of `a` against `b` (the same size), or `None` when the image is smaller than one
/// window. Bands run in parallel; their sums add up in order, so the result does not depend on
/// the thread count.
pub fn mean_ssim(a: &Plane, b: &Plane) -> Option<f64> {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let w = a.width;
    mean_ssim_rows(
        w,
        a.height,
        |y, row| row.copy_from_slice(&a.data[y * w..(y + 1) * w]),
        |y, row| row.copy_from_slice(&b.data[y * w..(y + 1) * w]),
    )
}

/// [`mean_ssim`] of two `width` x `height` planes that need not be held as f32 planes:
/// `a(y, row)` and `b(y, row)` write row `y` of each (every sample). `mark` holds its cover as
/// whole grey levels and reads the fit's encodes back as bytes; the SSIM is the same to the bit
/// as of the planes those rows make.
pub(crate) fn mean_ssim_rows(
    width: usize,
    height: usize,
    a: impl Fn(usize, &mut [f32]) + Sync,
    b: impl Fn(usize, &mut [f32]) + Sync,
) -> Option<f64> {
    let taps = gaussian_kernel(SIGMA);
    let radius = taps.len() / 2;
    let (w, h) = (width, height);
    if w <= 2 * radius || h <= 2 * radius {
        return None;
    }
    let bands: Vec<usize> = (radius..h - radius).step_by(BAND).collect();
    let sums: Vec<f64> = bands
        .par_iter()
        .map(|&y0| band_sum(w, &a, &b, &taps, y0, (y0 + BAND).min(h - radius)))
        .collect();
    let count = (w - 2 * radius) * (h - 2 * radius);
    Some(sums.iter().sum::<f64>() / count as f64)
}

/// Positions per block of the window sums: a block's sums stay in registers across all the
/// taps instead of going through memory once per tap.
const BLOCK: usize = 32;

/// The SSIM summed over output rows `y0..y1` (every window inside the image) of two
/// `w`-sample-wide planes given by rows (see [`mean_ssim_rows`]).
fn band_sum<A, B>(w: usize, a: &A, b: &B, taps: &[f32], y0: usize, y1: usize) -> f64
where
    A: Fn(usize, &mut [f32]),
    B: Fn(usize, &mut [f32]),
{
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above, the one requirement of calling a
        // function compiled with that feature enabled.
        return unsafe { band_sum_avx2(w, a, b, taps, y0, y1) };
    }
    band_sum_body(w, a, b, taps, y0, y1)
}

/// [`band_sum`] compiled for AVX2: wider vectors for the same operations in the same order
/// (no FMA), so the same sum to the bit; `mark` measures SSIM on every pass of its fit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn band_sum_avx2<A, B>(w: usize, a: &A, b: &B, taps: &[f32], y0: usize, y1: usize) -> f64
where
    A: Fn(usize, &mut [f32]),
    B: Fn(usize, &mut [f32]),
{
    band_sum_body(w, a, b, taps, y0, y1)
}

/// `out[x] = sum over k of taps[k] * src[x + k]`, `out.len()` positions, a block of [`BLOCK`]
/// positions at a time. The window is symmetric, so each sum is the middle tap's product
/// followed by `taps[k] * (src[x + k] + src[x + 2r - k])` for k = 0..r (r the radius): six
/// multiplications instead of eleven for the same window.
#[inline(always)]
fn filter(src: &[f32], taps: &[f32], out: &mut [f32]) {
    let n = out.len();
    let r = taps.len() / 2;
    let blocks = n / BLOCK * BLOCK;
    for (x, block) in (0..blocks).step_by(BLOCK).zip(out.chunks_exact_mut(BLOCK)) {
        let mut sum = [0f32; BLOCK];
        for (s, &v) in sum.iter_mut().zip(&src[x + r..x + r + BLOCK]) {
            *s = taps[r] * v;
        }
        for (k, &t) in taps[..r].iter().enumerate() {
            let far = 2 * r - k;
            for ((s, &v), &u) in sum
                .iter_mut()
                .zip(&src[x + k..x + k + BLOCK])
                .zip(&src[x + far..x + far + BLOCK])
            {
                *s += t * (v + u);
            }
        }
        block.copy_from_slice(&sum);
    }
    for (x, o) in out.iter_mut().enumerate().skip(blocks) {
        let mut sum = taps[r] * src[x + r];
        for (k, &t) in taps[..r].iter().enumerate() {
            sum += t * (src[x + k] + src[x + 2 * r - k]);
        }
        *o = sum;
    }
}

/// The body of [`band_sum`], inlined into each instruction-set variant. Of samples less 128
/// (f32 then keeps the variances, a few grey levels squared against sums up to 127², to about
/// 1e-3, against SSIM's constant C2 = 58.5): the window sums of a, b, a², b² and ab, first
/// along each input row the band's windows reach, then down the columns, each in the paired
/// order of [`filter`]; then each position's SSIM, added to the total in row order.
#[inline(always)]
fn band_sum_body<A, B>(w: usize, a: &A, b: &B, taps: &[f32], y0: usize, y1: usize) -> f64
where
    A: Fn(usize, &mut [f32]),
    B: Fn(usize, &mut [f32]),
{
    let radius = taps.len() / 2;
    let inner = w - 2 * radius;
    let first = y0 - radius;
    // Per input row, the five horizontal window sums, each `inner` long, one after another.
    let row_len = 5 * inner;
    let mut rows = vec![0f32; (y1 + radius - first) * row_len];
    let mut products: [Vec<f32>; 5] = std::array::from_fn(|_| vec![0f32; w]);
    let (mut ra, mut rb) = (vec![0f32; w], vec![0f32; w]);
    for (y, moments) in (first..y1 + radius).zip(rows.chunks_exact_mut(row_len)) {
        a(y, &mut ra);
        b(y, &mut rb);
        let [pa, pb, paa, pbb, pab] = &mut products;
        for (i, (p, q)) in ra.iter().zip(&rb).enumerate() {
            let (p, q) = (p - 128.0, q - 128.0);
            (pa[i], pb[i], paa[i], pbb[i], pab[i]) = (p, q, p * p, q * q, p * q);
        }
        for (product, sum) in products.iter().zip(moments.chunks_exact_mut(inner)) {
            filter(product, taps, sum);
        }
    }
    let mut total = 0.0;
    let mut window = [[0f32; BLOCK]; 5];
    let mut ssim = [0f32; BLOCK];
    for out in 0..y1 - y0 {
        let reach = &rows[out * row_len..(out + taps.len()) * row_len];
        for x in (0..inner).step_by(BLOCK) {
            let n = BLOCK.min(inner - x);
            for (j, sums) in window.iter_mut().enumerate() {
                let mut sum = [0f32; BLOCK];
                let mid = radius * row_len + j * inner + x;
                for (s, &v) in sum[..n].iter_mut().zip(&reach[mid..mid + n]) {
                    *s = taps[radius] * v;
                }
                for (k, &t) in taps[..radius].iter().enumerate() {
                    let near = k * row_len + j * inner + x;
                    let far = (2 * radius - k) * row_len + j * inner + x;
                    for ((s, &v), &u) in sum[..n]
                        .iter_mut()
                        .zip(&reach[near..near + n])
                        .zip(&reach[far..far + n])
                    {
                        *s += t * (v + u);
                    }
                }
                *sums = sum;
            }
            let [ma, mb, maa, mbb, mab] = &window;
            for (i, v) in ssim[..n].iter_mut().enumerate() {
                let (ma, mb, maa, mbb, mab) = (ma[i], mb[i], maa[i], mbb[i], mab[i]);
                let (vaa, vbb, vab) = (maa - ma * ma, mbb - mb * mb, mab - ma * mb);
                // The luminance term on the true means (the samples were shifted by 128).
                let (la, lb) = (ma + 128.0, mb + 128.0);
                *v = ((2.0 * la * lb + C1) * (2.0 * vab + C2))
                    / ((la * la + lb * lb + C1) * (vaa + vbb + C2));
            }
            for &v in &ssim[..n] {
                total += f64::from(v);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSIM sum position by position over whole rows (each window sum in the paired order
    /// of [`filter`]): the reference the blocked [`band_sum`] must equal to the bit.
    fn band_sum_by_definition(a: &Plane, b: &Plane, taps: &[f32], y0: usize, y1: usize) -> f64 {
        let radius = taps.len() / 2;
        let w = a.width;
        let inner = w - 2 * radius;
        let rows: Vec<[Vec<f32>; 5]> = (y0 - radius..y1 + radius)
            .map(|y| {
                let (ra, rb) = (&a.data[y * w..(y + 1) * w], &b.data[y * w..(y + 1) * w]);
                let pa: Vec<f32> = ra.iter().map(|p| p - 128.0).collect();
                let pb: Vec<f32> = rb.iter().map(|q| q - 128.0).collect();
                let square = |v: &[f32], u: &[f32]| -> Vec<f32> {
                    v.iter().zip(u).map(|(x, y)| x * y).collect()
                };
                let products = [
                    pa.clone(),
                    pb.clone(),
                    square(&pa, &pa),
                    square(&pb, &pb),
                    square(&pa, &pb),
                ];
                products.map(|product| {
                    (0..inner)
                        .map(|x| {
                            let mut sum = taps[radius] * product[x + radius];
                            for k in 0..radius {
                                sum += taps[k] * (product[x + k] + product[x + 2 * radius - k]);
                            }
                            sum
                        })
                        .collect::<Vec<f32>>()
                })
            })
            .collect();
        let mut total = 0.0;
        for out in 0..y1 - y0 {
            let window: [Vec<f32>; 5] = std::array::from_fn(|j| {
                (0..inner)
                    .map(|i| {
                        let at = |k: usize| rows[out + k][j][i];
                        let mut sum = taps[radius] * at(radius);
                        for (k, &t) in taps[..radius].iter().enumerate() {
                            sum += t * (at(k) + at(2 * radius - k));
                        }
                        sum
                    })
                    .collect()
            });
            let [ma, mb, maa, mbb, mab] = &window;
            for i in 0..inner {
                let (ma, mb, maa, mbb, mab) = (ma[i], mb[i], maa[i], mbb[i], mab[i]);
                let (vaa, vbb, vab) = (maa - ma * ma, mbb - mb * mb, mab - ma * mb);
                let (la, lb) = (ma + 128.0, mb + 128.0);
                total += f64::from(
                    ((2.0 * la * lb + C1) * (2.0 * vab + C2))
                        / ((la * la + lb * lb + C1) * (vaa + vbb + C2)),
                );
            }
        }
        total
    }

    #[test]
    fn blocked_sums_equal_the_definition_to_the_bit() {
        let taps = gaussian_kernel(SIGMA);
        let mut state = 9u32;
        let mut noise = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as f32 / 16.0
        };
        // Widths whose inner positions fill no block, one block exactly, and blocks plus a rest.
        for (w, h) in [(11, 11), (20, 40), (42, 13), (107, 90)] {
            let a = plane(w, h, |x, y| ((x * 7 + y * 13) % 251) as f32);
            let b = plane(w, h, |x, y| {
                (((x * 7 + y * 13) % 251) as f32 + noise() - 8.0).clamp(0.0, 255.0)
            });
            let (r, h) = (taps.len() / 2, h);
            for (y0, y1) in [(r, h - r), (r + 1, (r + 3).min(h - r))] {
                if y1 <= y0 {
                    continue;
                }
                let ra = |y: usize, row: &mut [f32]| row.copy_from_slice(&a.data[y * w..][..w]);
                let rb = |y: usize, row: &mut [f32]| row.copy_from_slice(&b.data[y * w..][..w]);
                let fast = band_sum_body(w, &ra, &rb, &taps, y0, y1);
                let slow = band_sum_by_definition(&a, &b, &taps, y0, y1);
                assert_eq!(fast.to_bits(), slow.to_bits(), "{w}x{h} {y0}..{y1}");
                assert_eq!(
                    band_sum(w, &ra, &rb, &taps, y0, y1).to_bits(),
                    slow.to_bits()
                );
            }
        }
    }

    fn plane(w: usize, h: usize, f: impl FnMut(usize, usize) -> f32) -> Plane {
        Plane::from_fn(w, h, f)
    }

    #[test]
    fn identical_images_score_one() {
        let a = plane(40, 90, |x, y| ((x * 7 + y * 13) % 251) as f32);
        assert!((mean_ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn too_small_for_a_window() {
        let a = plane(10, 50, |_, _| 0.0);
        assert_eq!(mean_ssim(&a, &a), None);
    }

    /// A flat image plus a ±n checkerboard: in every window the means agree, the cover has no
    /// variance and the covariance is 0, so SSIM = C2 / (var + C2) with var the window's
    /// variance of the checkerboard, which is n² less the square of its (Gaussian-weighted)
    /// mean. That mean is (sum of taps on even offsets - odd)², per axis and multiplied.
    #[test]
    fn matches_the_closed_form_on_a_checkerboard() {
        let n = 3.0f32;
        let a = plane(64, 150, |_, _| 100.0);
        let b = plane(64, 150, |x, y| {
            100.0 + if (x + y) % 2 == 0 { n } else { -n }
        });
        let taps = gaussian_kernel(SIGMA);
        let alternating: f64 = taps
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                if i % 2 == 0 {
                    f64::from(t)
                } else {
                    -f64::from(t)
                }
            })
            .sum();
        // The checkerboard's window mean is ±n times the product of both axes' alternating sums.
        let mean = f64::from(n) * alternating * alternating;
        let var = f64::from(n * n) - mean * mean;
        // Luminance term: means 100 and 100 ± mean.
        let (c1, c2) = (f64::from(C1), f64::from(C2));
        let luminance = |m: f64| {
            (2.0 * 100.0 * (100.0 + m) + c1) / (100.0 * 100.0 + (100.0 + m) * (100.0 + m) + c1)
        };
        let contrast = c2 / (var + c2);
        let expected = 0.5 * (luminance(mean) + luminance(-mean)) * contrast;
        let got = mean_ssim(&a, &b).unwrap();
        assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
    }
}
