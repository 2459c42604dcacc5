//! The scaled inverse DCT of the kept `N x N` low-frequency coefficients of a block: the
//! N-point IDCT (T.81 A.3.3 with N in place of 8) of the coefficients weighted by a box
//! filter's response, which is the exact `8/N x 8/N` box average of the 8x8 picture of those
//! coefficients.
//!
//! With `A[m][u] = C(u)/2 * w(u) * cos((2m + 1) u pi / 2N)`, `C(0) = 1/sqrt(2)`, `C(u) = 1`
//! otherwise, and `w` the box response, a DC-only block gives the same level at every N (as the
//! 8-point IDCT does). libjpeg's reduced IDCTs (`jidctred.c`) also fold in the aliases of the
//! higher coefficients (5, 6 and 7 for 4x4), which the compact store does not keep.

/// The response of a box average over `8 / n` neighbouring samples at frequency `u` of the
/// 8-point IDCT: `(n/8) * sum over j of cos((2j - 8/n + 1) u pi / 16)` (`cos(u pi / 16)` for
/// 1/2). Weighting the kept coefficients by it makes the N-point IDCT give the exact box
/// average of the 8-point picture of those coefficients, instead of their band-limited
/// interpolation, which keeps more of the high frequencies than an average of pixels does.
fn box_weight(u: usize, n: usize) -> f64 {
    let f = 8 / n;
    (0..f)
        .map(|j| {
            let phase = (2 * j) as f64 - f as f64 + 1.0;
            (phase * u as f64 * std::f64::consts::PI / 16.0).cos()
        })
        .sum::<f64>()
        / f as f64
}

/// Precomputed basis for one block size.
pub(crate) struct ScaledIdct {
    n: usize,
    /// `basis[m * n + u] = A[m][u]`.
    basis: Vec<f32>,
}

impl ScaledIdct {
    pub(crate) fn new(n: usize) -> Self {
        let mut basis = vec![0f32; n * n];
        for m in 0..n {
            for u in 0..n {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = (2 * m + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * n) as f64;
                basis[m * n + u] = (0.5 * c * box_weight(u, n) * angle.cos()) as f32;
            }
        }
        ScaledIdct { n, basis }
    }

    /// Inverse-transforms `coefs` (dequantized, row-major `n x n`, row = vertical frequency)
    /// into `n` rows of `n` samples at `out[row * stride..]`, level-shifted, rounded and
    /// clamped to 0..=255 as libjpeg's `range_limit` does.
    #[inline]
    pub(crate) fn block(&self, coefs: &[i32], out: &mut [u8], stride: usize) {
        match self.n {
            1 => block_n::<1>(&self.basis, coefs, out, stride),
            2 => block_n::<2>(&self.basis, coefs, out, stride),
            4 => block_n::<4>(&self.basis, coefs, out, stride),
            _ => block_n::<8>(&self.basis, coefs, out, stride),
        }
    }
}

/// [`ScaledIdct::block`] for one size, so that the loops unroll.
#[inline(always)]
fn block_n<const N: usize>(basis: &[f32], coefs: &[i32], out: &mut [u8], stride: usize) {
    let a: &[f32] = &basis[..N * N];
    let coefs = &coefs[..N * N];
    // Rows first: tmp[v][x] = sum over u of F[v][u] A[x][u].
    let mut tmp = [[0f32; N]; N];
    for v in 0..N {
        let row = &coefs[v * N..v * N + N];
        if row.iter().all(|&c| c == 0) {
            continue;
        }
        for x in 0..N {
            let mut sum = 0f32;
            for u in 0..N {
                sum += row[u] as f32 * a[x * N + u];
            }
            tmp[v][x] = sum;
        }
    }
    // Then columns: out[y][x] = sum over v of A[y][v] tmp[v][x].
    for y in 0..N {
        let line = &mut out[y * stride..y * stride + N];
        let mut sums = [128.5f32; N];
        for v in 0..N {
            let w = a[y * N + v];
            for x in 0..N {
                sums[x] += w * tmp[v][x];
            }
        }
        for x in 0..N {
            // Truncation is floor for the values that survive the clamp.
            line[x] = (sums[x] as i32).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weighted N-point IDCT written out as the double sum, in f64.
    fn reference(coefs: &[i32], n: usize) -> Vec<u8> {
        let c = |u: usize| if u == 0 { 0.5f64.sqrt() } else { 1.0 };
        let pi = std::f64::consts::PI;
        let mut out = vec![0u8; n * n];
        for y in 0..n {
            for x in 0..n {
                let mut s = 0.0;
                for v in 0..n {
                    for u in 0..n {
                        s += 0.25
                            * c(u)
                            * c(v)
                            * box_weight(u, n)
                            * box_weight(v, n)
                            * f64::from(coefs[v * n + u])
                            * ((2 * x + 1) as f64 * u as f64 * pi / (2 * n) as f64).cos()
                            * ((2 * y + 1) as f64 * v as f64 * pi / (2 * n) as f64).cos();
                    }
                }
                out[y * n + x] = (s + 128.5).floor().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    #[test]
    fn separable_idct_matches_the_double_sum() {
        let mut seed = 12345u32;
        for n in [1usize, 2, 4, 8] {
            let idct = ScaledIdct::new(n);
            for _ in 0..200 {
                let coefs: Vec<i32> = (0..n * n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        ((seed >> 16) % 301) as i32 - 150
                    })
                    .collect();
                let mut out = vec![0u8; n * n];
                idct.block(&coefs, &mut out, n);
                let want = reference(&coefs, n);
                for (a, b) in out.iter().zip(&want) {
                    // f32 against f64: a sum landing within 1e-4 of .5 may round the other way.
                    assert!((i32::from(*a) - i32::from(*b)).abs() <= 1, "n={n}");
                }
            }
        }
    }

    /// Against the definition: the 8-point IDCT of the coefficients, then the mean of each
    /// `8/n x 8/n` square of its samples, for each coefficient of the kept square alone.
    #[test]
    fn weighted_idct_is_the_box_average_of_the_8_point_picture() {
        let c = |u: usize| if u == 0 { 0.5f64.sqrt() } else { 1.0 };
        let pi = std::f64::consts::PI;
        for n in [2usize, 4] {
            let f = 8 / n;
            let idct = ScaledIdct::new(n);
            for k in 0..n * n {
                let mut coefs = vec![0; n * n];
                coefs[k] = 400;
                let (kv, ku) = (k / n, k % n);
                let full = |x: usize, y: usize| {
                    0.25 * c(ku)
                        * c(kv)
                        * 400.0
                        * ((2 * x + 1) as f64 * ku as f64 * pi / 16.0).cos()
                        * ((2 * y + 1) as f64 * kv as f64 * pi / 16.0).cos()
                };
                let mut out = vec![0u8; n * n];
                idct.block(&coefs, &mut out, n);
                for m in 0..n {
                    for l in 0..n {
                        let mut mean = 0.0;
                        for y in m * f..(m + 1) * f {
                            for x in l * f..(l + 1) * f {
                                mean += full(x, y);
                            }
                        }
                        mean /= (f * f) as f64;
                        let want = (mean + 128.5).floor();
                        let got = f64::from(out[m * n + l]);
                        assert!((got - want).abs() <= 1.0, "n={n} k={k}: {got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_dc_only_block_is_flat_at_the_8_point_level() {
        // libjpeg's 1x1 IDCT of DC 80 (dequantized): (80 + 4) >> 3 = 10, so 138.
        for n in [1usize, 2, 4, 8] {
            let mut coefs = vec![0; n * n];
            coefs[0] = 80;
            let mut out = vec![0u8; n * n];
            ScaledIdct::new(n).block(&coefs, &mut out, n);
            assert!(out.iter().all(|&p| p == 138), "n={n}: {out:?}");
        }
    }
}
