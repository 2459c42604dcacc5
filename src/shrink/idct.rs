//! The reduced-size inverse DCTs of libjpeg (`jidctred.c`, as in libjpeg-turbo and mozjpeg):
//! 8x8 dequantized coefficients to a 4x4, 2x2 or 1x1 block of samples, with libjpeg's integer
//! arithmetic step for step, so that the samples are libjpeg's scaled decode (`djpeg -scale`)
//! exactly.
//!
//! Each is the `8/N x 8/N` box average of the 8-point IDCT's picture, computed directly: the
//! average of a group of `8/N` samples of frequency `u` is zero for `u = 4` (pairs) and
//! `u = 2, 4, 6` (groups of four), so the 4x4 reads rows and columns 0..=3 and 5..=7 of the
//! coefficients and the 2x2 reads 0, 1, 3, 5, 7: exactly what the progressive band decoder's
//! store keeps.

/// `CONST_BITS` and `PASS1_BITS` of `jidctred.c` (8-bit samples).
const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;

const FIX_0_211164243: i64 = 1730;
const FIX_0_509795579: i64 = 4176;
const FIX_0_601344887: i64 = 4926;
const FIX_0_720959822: i64 = 5906;
const FIX_0_765366865: i64 = 6270;
const FIX_0_850430095: i64 = 6967;
const FIX_0_899976223: i64 = 7373;
const FIX_1_061594337: i64 = 8697;
const FIX_1_272758580: i64 = 10426;
const FIX_1_451774981: i64 = 11893;
const FIX_1_847759065: i64 = 15137;
const FIX_2_172734803: i64 = 17799;
const FIX_2_562915447: i64 = 20995;
const FIX_3_624509785: i64 = 29692;

/// libjpeg's `DESCALE`: a right shift by `n` with rounding.
#[inline(always)]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// libjpeg's post-IDCT `range_limit[x & RANGE_MASK]` (`jdmaster.c`
/// `prepare_range_limit_table`): level shift by 128 and clamp to 0..=255 for the values a
/// valid block gives, and the same wrap-around of the table's index for wild values of
/// damaged data.
#[inline(always)]
fn range_limit(x: i64) -> u8 {
    let wrapped = ((x & 1023) ^ 512) - 512;
    (wrapped + 128).clamp(0, 255) as u8
}

/// A reduced IDCT producing `n x n` samples per block: libjpeg's `jpeg_idct_4x4` (1/2),
/// `jpeg_idct_2x2` (1/4) or `jpeg_idct_1x1` (1/8).
pub struct ScaledIdct {
    n: usize,
}

impl ScaledIdct {
    /// The IDCT for `n` = 4, 2 or 1 samples a side; any other `n` gives the 1x1 one.
    pub fn new(n: usize) -> Self {
        ScaledIdct { n }
    }

    /// Inverse-transforms `coefs` (dequantized, natural order 8x8; only the positions the
    /// size reads matter) into `n` rows of `n` samples at `out[row * stride..]`, which must
    /// hold them.
    #[inline]
    pub fn block(&self, coefs: &[i32; 64], out: &mut [u8], stride: usize) {
        match self.n {
            4 => idct_4x4(coefs, out, stride),
            2 => idct_2x2(coefs, out, stride),
            _ => out[0] = range_limit(descale(i64::from(coefs[0]), 3)),
        }
    }
}

/// `jpeg_idct_4x4`.
#[inline]
fn idct_4x4(coefs: &[i32; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i64; 8 * 4];
    // Pass 1: columns (column 4 is not needed by pass 2).
    for col in [0usize, 1, 2, 3, 5, 6, 7] {
        let c = |row: usize| i64::from(coefs[row * 8 + col]);
        if c(1) == 0 && c(2) == 0 && c(3) == 0 && c(5) == 0 && c(6) == 0 && c(7) == 0 {
            let dc = c(0) << PASS1_BITS;
            for row in 0..4 {
                ws[row * 8 + col] = dc;
            }
            continue;
        }
        let [tmp10, tmp12, tmp0, tmp2] = butterfly_4([c(0), c(1), c(2), c(3), c(5), c(6), c(7)]);
        let shift = CONST_BITS - PASS1_BITS + 1;
        // libjpeg stores these in an `int` workspace.
        ws[col] = i64::from(descale(tmp10 + tmp2, shift) as i32);
        ws[3 * 8 + col] = i64::from(descale(tmp10 - tmp2, shift) as i32);
        ws[8 + col] = i64::from(descale(tmp12 + tmp0, shift) as i32);
        ws[2 * 8 + col] = i64::from(descale(tmp12 - tmp0, shift) as i32);
    }
    // Pass 2: rows.
    for row in 0..4 {
        let w = &ws[row * 8..row * 8 + 8];
        let line = &mut out[row * stride..row * stride + 4];
        if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
            line.fill(range_limit(descale(w[0], PASS1_BITS + 3)));
            continue;
        }
        let [tmp10, tmp12, tmp0, tmp2] = butterfly_4([w[0], w[1], w[2], w[3], w[5], w[6], w[7]]);
        let shift = CONST_BITS + PASS1_BITS + 3 + 1;
        line[0] = range_limit(descale(tmp10 + tmp2, shift));
        line[3] = range_limit(descale(tmp10 - tmp2, shift));
        line[1] = range_limit(descale(tmp12 + tmp0, shift));
        line[2] = range_limit(descale(tmp12 - tmp0, shift));
    }
}

/// The arithmetic `jpeg_idct_4x4` shares between its column and row passes: from inputs 0, 1,
/// 2, 3, 5, 6 and 7 of an 8-point line (4 is not read), the even part's two sums (`tmp10`,
/// `tmp12`) and the odd part's two (`tmp0`, `tmp2`), before descaling.
#[inline]
fn butterfly_4([x0, x1, x2, x3, x5, x6, x7]: [i64; 7]) -> [i64; 4] {
    let tmp0 = x0 << (CONST_BITS + 1);
    let tmp2 = x2 * FIX_1_847759065 + x6 * -FIX_0_765366865;
    let (tmp10, tmp12) = (tmp0 + tmp2, tmp0 - tmp2);
    let (z1, z2, z3, z4) = (x7, x5, x3, x1);
    let odd0 =
        z1 * -FIX_0_211164243 + z2 * FIX_1_451774981 + z3 * -FIX_2_172734803 + z4 * FIX_1_061594337;
    let odd2 =
        z1 * -FIX_0_509795579 + z2 * -FIX_0_601344887 + z3 * FIX_0_899976223 + z4 * FIX_2_562915447;
    [tmp10, tmp12, odd0, odd2]
}

/// `jpeg_idct_2x2`.
#[inline]
fn idct_2x2(coefs: &[i32; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i64; 8 * 2];
    // Pass 1: columns (2, 4 and 6 are not needed by pass 2).
    for col in [0usize, 1, 3, 5, 7] {
        let c = |row: usize| i64::from(coefs[row * 8 + col]);
        if c(1) == 0 && c(3) == 0 && c(5) == 0 && c(7) == 0 {
            let dc = c(0) << PASS1_BITS;
            ws[col] = dc;
            ws[8 + col] = dc;
            continue;
        }
        let tmp10 = c(0) << (CONST_BITS + 2);
        let tmp0 = c(7) * -FIX_0_720959822
            + c(5) * FIX_0_850430095
            + c(3) * -FIX_1_272758580
            + c(1) * FIX_3_624509785;
        let shift = CONST_BITS - PASS1_BITS + 2;
        ws[col] = i64::from(descale(tmp10 + tmp0, shift) as i32);
        ws[8 + col] = i64::from(descale(tmp10 - tmp0, shift) as i32);
    }
    // Pass 2: rows.
    for row in 0..2 {
        let w = &ws[row * 8..row * 8 + 8];
        let line = &mut out[row * stride..row * stride + 2];
        if w[1] == 0 && w[3] == 0 && w[5] == 0 && w[7] == 0 {
            line.fill(range_limit(descale(w[0], PASS1_BITS + 3)));
            continue;
        }
        let tmp10 = w[0] << (CONST_BITS + 2);
        let tmp0 = w[7] * -FIX_0_720959822
            + w[5] * FIX_0_850430095
            + w[3] * -FIX_1_272758580
            + w[1] * FIX_3_624509785;
        let shift = CONST_BITS + PASS1_BITS + 3 + 2;
        line[0] = range_limit(descale(tmp10 + tmp0, shift));
        line[1] = range_limit(descale(tmp10 - tmp0, shift));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 8-point IDCT of T.81 A.3.3 in f64, then the mean of each `8/n x 8/n` square.
    fn box_of_idct8(coefs: &[i32; 64], n: usize) -> Vec<f64> {
        let c = |u: usize| if u == 0 { 0.5f64.sqrt() } else { 1.0 };
        let pi = std::f64::consts::PI;
        let f = 8 / n;
        let mut out = vec![0.0; n * n];
        for y in 0..8 {
            for x in 0..8 {
                let mut s = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        s += 0.25
                            * c(u)
                            * c(v)
                            * f64::from(coefs[v * 8 + u])
                            * ((2 * x + 1) as f64 * u as f64 * pi / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * pi / 16.0).cos();
                    }
                }
                out[(y / f) * n + x / f] += s / (f * f) as f64;
            }
        }
        out
    }

    /// Against the definition (an exact formula, not libjpeg): within rounding of the box
    /// average of the 8-point picture, for random blocks using every coefficient, including
    /// the ones the reduced IDCT skips (their box average is zero).
    #[test]
    fn reduced_idct_is_the_box_average_of_the_8_point_picture() {
        let mut seed = 12345u32;
        for n in [1usize, 2, 4] {
            let idct = ScaledIdct::new(n);
            for _ in 0..300 {
                let coefs: [i32; 64] = std::array::from_fn(|k| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let v = ((seed >> 16) % 201) as i32 - 100;
                    if k == 0 || n > 1 { v } else { 0 }
                });
                let mut out = vec![0u8; n * n];
                idct.block(&coefs, &mut out, n);
                for (got, want) in out.iter().zip(box_of_idct8(&coefs, n)) {
                    let want = (want + 128.0).clamp(0.0, 255.0);
                    assert!(
                        (f64::from(*got) - want).abs() <= 1.0,
                        "n={n}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn range_limit_clamps_and_wraps_like_libjpegs_table() {
        assert_eq!(range_limit(0), 128);
        assert_eq!(range_limit(127), 255);
        assert_eq!(range_limit(300), 255);
        assert_eq!(range_limit(-128), 0);
        assert_eq!(range_limit(-400), 0);
        // Index 600 of the table is in its zero half; 1000 wraps to 1000 - 896.
        assert_eq!(range_limit(600), 0);
        assert_eq!(range_limit(1000), 104);
    }
}
