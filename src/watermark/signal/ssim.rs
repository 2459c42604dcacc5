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
    let taps = gaussian_kernel(SIGMA);
    let radius = taps.len() / 2;
    let (w, h) = (a.width, a.height);
    if w <= 2 * radius || h <= 2 * radius {
        return None;
    }
    let bands: Vec<usize> = (radius..h - radius).step_by(BAND).collect();
    let sums: Vec<f64> = bands
        .par_iter()
        .map(|&y0| band_sum(a, b, &taps, y0, (y0 + BAND).min(h - radius)))
        .collect();
    let count = (w - 2 * radius) * (h - 2 * radius);
    Some(sums.iter().sum::<f64>() / count as f64)
}

/// Window sums of a, b, a², b² and ab over one row of positions, of samples less 128: f32
/// then keeps the variances (a few grey levels squared, against sums up to 127²) to about
/// 1e-3, against SSIM's constant C2 = 58.5.
struct Moments([Vec<f32>; 5]);

impl Moments {
    fn new(len: usize) -> Moments {
        Moments(std::array::from_fn(|_| vec![0.0; len]))
    }

    /// `self += weight * other`.
    #[inline(always)]
    fn add_scaled(&mut self, other: &Moments, weight: f32) {
        for (acc, row) in self.0.iter_mut().zip(&other.0) {
            acc.iter_mut().zip(row).for_each(|(s, v)| *s += weight * v);
        }
    }
}

/// The SSIM summed over output rows `y0..y1` (every window inside the image).
fn band_sum(a: &Plane, b: &Plane, taps: &[f32], y0: usize, y1: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above, the one requirement of calling a
        // function compiled with that feature enabled.
        return unsafe { band_sum_avx2(a, b, taps, y0, y1) };
    }
    band_sum_body(a, b, taps, y0, y1)
}

/// [`band_sum`] compiled for AVX2: wider vectors for the same operations in the same order
/// (no FMA), so the same sum to the bit; `mark` measures SSIM on every pass of its fit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn band_sum_avx2(a: &Plane, b: &Plane, taps: &[f32], y0: usize, y1: usize) -> f64 {
    band_sum_body(a, b, taps, y0, y1)
}

/// The body of [`band_sum`], inlined into each instruction-set variant.
#[inline(always)]
fn band_sum_body(a: &Plane, b: &Plane, taps: &[f32], y0: usize, y1: usize) -> f64 {
    let radius = taps.len() / 2;
    let w = a.width;
    let inner = w - 2 * radius;
    // Horizontal window sums of each input row the band's windows reach.
    let rows: Vec<Moments> = (y0 - radius..y1 + radius)
        .map(|y| {
            let (ra, rb) = (&a.data[y * w..(y + 1) * w], &b.data[y * w..(y + 1) * w]);
            let mut m = Moments::new(inner);
            // The five per-pixel products, then each filtered along the row.
            let products: [Vec<f32>; 5] = {
                let (pa, pb): (Vec<f32>, Vec<f32>) = ra
                    .iter()
                    .zip(rb)
                    .map(|(p, q)| (p - 128.0, q - 128.0))
                    .unzip();
                let square = |v: &[f32], u: &[f32]| v.iter().zip(u).map(|(x, y)| x * y).collect();
                let (paa, pbb, pab) = (square(&pa, &pa), square(&pb, &pb), square(&pa, &pb));
                [pa, pb, paa, pbb, pab]
            };
            for (sum, product) in m.0.iter_mut().zip(&products) {
                for (k, &t) in taps.iter().enumerate() {
                    sum.iter_mut()
                        .zip(&product[k..k + inner])
                        .for_each(|(s, v)| *s += t * v);
                }
            }
            m
        })
        .collect();
    let mut total = 0.0;
    let mut window = Moments::new(inner);
    for out in 0..y1 - y0 {
        window.0.iter_mut().for_each(|v| v.fill(0.0));
        for (k, &t) in taps.iter().enumerate() {
            window.add_scaled(&rows[out + k], t);
        }
        let [ma, mb, maa, mbb, mab] = &window.0;
        for ((((&ma, &mb), &maa), &mbb), &mab) in ma.iter().zip(mb).zip(maa).zip(mbb).zip(mab) {
            let (vaa, vbb, vab) = (maa - ma * ma, mbb - mb * mb, mab - ma * mb);
            // The luminance term on the true means (the samples were shifted by 128).
            let (la, lb) = (ma + 128.0, mb + 128.0);
            total += f64::from(
                ((2.0 * la * lb + C1) * (2.0 * vab + C2))
                    / ((la * la + lb * lb + C1) * (vaa + vbb + C2)),
            );
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

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
