//! An IJG-equivalent quality from the coefficients: the libjpeg quality whose quantisation
//! would leave the same luma error as the file's own, for encoders whose tables say little about
//! their fidelity (guetzli; where it is reported: [`applies`]).
//!
//! The tables bound the error only if every coefficient is rounded to the nearest step.
//! Encoders that decide per coefficient (guetzli, trellis quantisation) zero many values that
//! rounding would have kept, so the same tables leave more error. This module estimates that
//! error from the coefficients alone. For each luma AC mode, separately in each activity
//! class of blocks (smooth and textured blocks are a scale mixture no single law fits), it fits
//! a Laplacian `p(x) = λ/2 · exp(-λ|x|)` to the magnitudes of the non-zero quantized values (the geometric
//! decay of bins 1, 2, ...: a maximum-likelihood fit of the mean), and reads the threshold
//! `t` below which the encoder sent zero from the share of zeros (`P(|x| > t) = exp(-λt)`;
//! rounding to nearest gives `t = Q/2`, and `t` is kept within `Q/2..=`[`MAX_DEADZONE`]`·Q`).
//! The expected squared error of the mode is then an integral of the Laplacian over the zero
//! bin `|x| < t`, the first bin `t..1.5Q` (reconstructed at `Q`) and the geometric series of the
//! others; the DC coefficient adds `Q²/12`. The mean over the 64 modes is the luma MSE per pixel
//! (the JPEG DCT is orthonormal).
//!
//! The same fitted source, quantized by rounding to nearest with the IJG (Annex K) table at
//! quality `q`, has an expected error that falls with `q`; the IJG equivalent is the `q` where
//! the two errors meet. The image's content is on both sides of that comparison, so what is
//! left is how much the file's encoder lost against libjpeg's on the same coefficients. On
//! libjpeg's own files the estimate returns their quality (the threshold reads `Q/2`); the
//! accuracy on guetzli and mozjpeg files, against the libjpeg quality with the same measured
//! PSNR, is in `docs/quality.md`.

use super::invert::{scale_for_quality, scale_table};
use super::tables::MOZJPEG;

/// Bins of |v| kept per mode: 0..BINS-1; larger magnitudes are counted (and summed) as the tail.
/// The estimate reads only the share of zeros and the mean magnitude of the non-zero values, so
/// the bins past the first few serve diagnostics alone: few bins keep the histograms within
/// the first-level cache (with 32 bins, 64 KiB of them took a fifth of the analysis time).
pub const BINS: usize = 4;

/// Activity classes: the histograms of a mode are kept apart by how much the block's other
/// low-frequency coefficients hold, so that smooth and textured blocks (a scale mixture that
/// no single Laplacian fits) are fitted separately.
pub const CLASSES: usize = 8;

/// The low-frequency modes (natural order, zig-zag 1..=9) whose dequantized magnitudes, less
/// the mode's own, place a block in a class.
const ACTIVITY_MODES: [usize; 9] = [1, 8, 16, 9, 2, 3, 10, 17, 24];

/// Upper bounds of the activity (sum of dequantized magnitudes) of classes 0..CLASSES-1.
const CLASS_BOUNDS: [u64; CLASSES - 1] = [0, 8, 24, 48, 96, 192, 384];

/// The class of a block of activity `activity`: how many bounds it exceeds (the bounds rise, so
/// this is the first bound it does not exceed; counted without branches, as this runs ten
/// times a block).
fn class_of(activity: u64) -> usize {
    CLASS_BOUNDS
        .iter()
        .map(|&b| usize::from(activity > b))
        .sum()
}

/// Where each mode of [`ACTIVITY_MODES`] sits in that list (`NOT_ACTIVITY` for the others).
const ACTIVITY_INDEX: [u8; 64] = {
    let mut index = [NOT_ACTIVITY; 64];
    let mut i = 0;
    while i < ACTIVITY_MODES.len() {
        index[ACTIVITY_MODES[i]] = i as u8;
        i += 1;
    }
    index
};

const NOT_ACTIVITY: u8 = u8::MAX;

/// Magnitude histograms of the quantized values of all 64 luma modes, per activity class. A
/// fixed size (about 12 KiB), whatever the image.
///
/// Only the non-zero values are counted one by one; the zeros of a mode are the blocks of its
/// class less its non-zero values. A block's modes share its class except the activity modes,
/// whose own magnitude is left out of their activity, so those keep their own block counts.
#[derive(Clone)]
pub struct Magnitudes {
    /// Per class and mode (natural order), the count of |v| = 1..BINS-1 at index |v|, and at
    /// index `BINS` the count of |v| >= BINS (the tail); index 0 is unused.
    counts: Box<[[[u32; BINS + 1]; 64]; CLASSES]>,
    /// Per class and mode, the sum of |v| over the tail.
    tail_sum: Box<[[u64; 64]; CLASSES]>,
    /// Per class, the blocks whose whole activity puts them there.
    class_blocks: [u32; CLASSES],
    /// Per class and activity mode, the blocks whose activity less that mode's own puts them
    /// there.
    activity_blocks: [[u32; ACTIVITY_MODES.len()]; CLASSES],
    /// The luma table the values were quantized with (activity is measured dequantized).
    table: [u16; 64],
    /// Blocks added.
    pub blocks: u64,
}

impl Magnitudes {
    /// Empty histograms for values quantized with luma table `table` (natural order).
    pub fn new(table: &[u16; 64]) -> Self {
        Magnitudes {
            counts: Box::new([[[0; BINS + 1]; 64]; CLASSES]),
            tail_sum: Box::new([[0; 64]; CLASSES]),
            class_blocks: [0; CLASSES],
            activity_blocks: [[0; ACTIVITY_MODES.len()]; CLASSES],
            table: *table,
            blocks: 0,
        }
    }

    /// Adds one block of quantized coefficients in natural order.
    pub fn add(&mut self, block: &[i16; 64]) {
        let mut nonzero = [0u8; 63];
        let mut n = 0;
        for (k, &v) in block.iter().enumerate().skip(1) {
            if v != 0 {
                nonzero[n] = k as u8;
                n += 1;
            }
        }
        self.add_sparse(block, &nonzero[..n]);
    }

    /// Adds one block of quantized coefficients in natural order whose non-zero AC
    /// coefficients are at the natural indices `nonzero` (each once; others are ignored),
    /// as the block reader lists them: the zeros, most of a block, cost nothing.
    pub fn add_sparse(&mut self, block: &[i16; 64], nonzero: &[u8]) {
        let own: [u64; ACTIVITY_MODES.len()] = std::array::from_fn(|i| {
            let k = ACTIVITY_MODES[i];
            u64::from(block[k].unsigned_abs()) * u64::from(self.table[k])
        });
        let activity: u64 = own.iter().sum();
        let whole = class_of(activity).min(CLASSES - 1);
        self.class_blocks[whole] += 1;
        let mut own_class = [whole; ACTIVITY_MODES.len()];
        for (i, c) in own_class.iter_mut().enumerate() {
            *c = class_of(activity - own[i]).min(CLASSES - 1);
            self.activity_blocks[*c][i] += 1;
        }
        for &k in nonzero {
            let k = usize::from(k) & 63;
            if k == 0 {
                continue;
            }
            let a = block[k].unsigned_abs();
            let bin = usize::from(a).min(BINS);
            let i = ACTIVITY_INDEX[k];
            let c = if i == NOT_ACTIVITY {
                whole
            } else {
                own_class[usize::from(i)]
            };
            let n = &mut self.counts[c][k][bin];
            *n = n.saturating_add(1);
            self.tail_sum[c][k] += u64::from(a) * u64::from(bin == BINS);
        }
        self.blocks += 1;
    }

    /// The blocks counted in class `class` for mode `k` (natural order; none for DC).
    pub fn blocks_in(&self, class: usize, k: usize) -> u32 {
        match (k, ACTIVITY_INDEX[k & 63]) {
            (0, _) => 0,
            (_, NOT_ACTIVITY) => self.class_blocks[class],
            (_, i) => self.activity_blocks[class][usize::from(i)],
        }
    }

    /// The count of |v| = 0..BINS-1 of mode `k` (natural order) in class `class`.
    pub fn histogram(&self, class: usize, k: usize) -> [u32; BINS] {
        let nonzero = self.counts[class][k][1..]
            .iter()
            .fold(0u32, |n, &c| n.saturating_add(c));
        std::array::from_fn(|j| {
            if j == 0 {
                self.blocks_in(class, k).saturating_sub(nonzero)
            } else {
                self.counts[class][k][j]
            }
        })
    }

    /// The count of |v| >= BINS of mode `k` in class `class`.
    pub fn tail(&self, class: usize, k: usize) -> u32 {
        self.counts[class][k][BINS]
    }

    /// The sum of |v| over the tail of mode `k` in class `class`.
    pub fn tail_sum(&self, class: usize, k: usize) -> u64 {
        self.tail_sum[class][k]
    }
}

/// The IJG equivalent found from the coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective {
    /// The IJG quality (fractional) with the same expected luma error.
    pub quality: f64,
    /// The estimated mean squared error of the file's luma quantisation, per pixel.
    pub mse: f64,
}

/// The most the zero threshold of a mode may reach, in steps: encoders zero values that would
/// round to 1, rarely more; a fitted threshold past this is a misfit of the Laplacian (a mode
/// whose small values are more peaked than its tail), which this bound keeps from dominating.
/// Chosen on the tune photos' guetzli files (`docs/quality.md`): 1.5, 2.0, 2.25, 2.5 and 3.0
/// gave MAE 5.1, 3.2, 2.9, 2.8, 3.8 with bias +4.8, +1.7, +0.3, -1.1, -3.5; 2.25 is the least
/// biased. A larger bound reads more of the natural excess of zeros as zeroing, so rounding
/// encoders (cameras) read lower.
pub const MAX_DEADZONE: f64 = 2.25;

/// A mode needs this many non-zero values for its Laplacian to be fitted from their
/// magnitudes; sparser modes are taken as rounded to nearest, with the scale that gives their
/// share of zeros.
pub const MIN_NONZERO: u32 = 20;

/// The largest RMS log-ratio residual of a luma table's shape against mozjpeg's flat set
/// (`mozjpeg-1`) for the estimate to apply: guetzli's tables on the tune photos of
/// `benches/effective-quality.py` sit within 0.26 of it, and no camera's table in the corpus
/// is nearest to it.
pub const MAX_FLAT_RESIDUAL: f64 = 0.3;

/// Whether the coefficient estimate applies to a file with tables `estimate`: unknown tables
/// nearest to the flat set, the near-flat shape of guetzli's tables, where it was validated
/// (`docs/quality.md`). Encoders that round to nearest with their own tables (cameras,
/// Photoshop, fingerprinted sets) read low (2.6 on average with the corpus cameras' tables,
/// up to 23, and tens of points below the tables on some smooth photos), because the natural
/// excess of zeros of smooth blocks looks like zeroing; the report then says nothing rather
/// than guess.
pub fn applies(estimate: &super::Estimate) -> bool {
    estimate.family == super::Family::Unknown
        && matches!(
            estimate.nearest,
            Some((super::Family::Mozjpeg(1), _, residual)) if residual <= MAX_FLAT_RESIDUAL
        )
}

/// Fewer luma blocks than this say too little.
pub const MIN_BLOCKS: u64 = 64;

/// The fitted source of one mode: its Laplacian rate `λ` (per coefficient unit) and the
/// threshold `t` below which the file's encoder sent zero.
#[derive(Debug, Clone, Copy)]
struct Mode {
    lambda: f64,
    threshold: f64,
}

/// `e^(-λx) · ((x - c)² + 2(x - c)/λ + 2/λ²)` given `e^(-λx)` as `decay`: the integral of
/// `λ e^(-λx) (x - c)²` from `x` to infinity, so that the integral from `a` to `b` is
/// `tail(a) - tail(b)`.
fn tail(lambda: f64, decay: f64, x: f64, c: f64) -> f64 {
    let d = x - c;
    decay * (d * d + 2.0 * d / lambda + 2.0 / (lambda * lambda))
}

/// The expected squared error of a mode with step `q` (both signs: the Laplacian is symmetric,
/// so the one-sided integrals of `λ e^(-λx)` are already the two-sided mass). The bin edges
/// `1.5q` and `2.5q` decay as powers of `e^(-λq/2)`, so one exponential serves them all (two
/// when the threshold is not `q/2`).
fn mode_error(mode: Mode, q: f64) -> f64 {
    let (l, t) = (mode.lambda, mode.threshold);
    let half = (-0.5 * l * q).exp();
    let ratio = half * half;
    let at_t = if t == 0.5 * q { half } else { (-l * t).exp() };
    let (at_1_5, at_2_5) = (ratio * half, ratio * ratio * half);
    // The zero bin `|x| < t`, reconstructed at 0.
    let zero = (tail(l, 1.0, 0.0, 0.0) - tail(l, at_t, t, 0.0)).max(0.0);
    // The first bin `t..1.5q`, reconstructed at q.
    let first = (tail(l, at_t, t, q) - tail(l, at_1_5, 1.5 * q, q)).max(0.0);
    // Bins 2, 3, ... hold the same conditional shape, scaled by exp(-λq) each (memorylessness).
    let rest = if ratio < 1.0 {
        (tail(l, at_1_5, 1.5 * q, 2.0 * q) - tail(l, at_2_5, 2.5 * q, 2.0 * q)).max(0.0)
            / (1.0 - ratio)
    } else {
        0.0
    };
    zero + first + rest
}

/// The Laplacian rate of mode `k` of class `c` fitted from its non-zero magnitudes (quantized
/// with step `q`), or `None` with fewer than [`MIN_NONZERO`] of them.
fn rate(m: &Magnitudes, c: usize, k: usize, q: f64) -> Option<f64> {
    let counts = m.histogram(c, k);
    let nonzero = f64::from(m.blocks_in(c, k)) - f64::from(counts[0]);
    if nonzero < f64::from(MIN_NONZERO) {
        return None;
    }
    let sum: f64 = counts
        .iter()
        .enumerate()
        .skip(1)
        .map(|(j, &c)| j as f64 * f64::from(c))
        .sum::<f64>()
        + m.tail_sum(c, k) as f64;
    // Geometric MLE on |v| - 1 of the non-zero values: mean = r / (1 - r).
    let mean = (sum / nonzero - 1.0).max(0.0);
    let r = (mean / (1.0 + mean)).max(1e-6);
    Some(-r.ln() / q)
}

/// Fits the Laplacian and threshold of every AC mode of class `c` (index 0, DC, is unused).
///
/// A mode with too few non-zero values to fit is taken as rounded to nearest: its rate is the
/// one that puts its share of non-zero values beyond `Q/2`, but no less than the largest rate
/// fitted in the class (spread falls with frequency: a mode the encoder left empty holds no
/// more than the class's quietest fitted mode). Without that floor an empty mode's assumed
/// spread grows with its step and swamps the estimate on smooth images.
fn fit(m: &Magnitudes, c: usize, table: &[u16; 64]) -> [Mode; 64] {
    let step = |k: usize| f64::from(table[k].max(1));
    let rates: [Option<f64>; 64] =
        std::array::from_fn(|k| (k > 0).then(|| rate(m, c, k, step(k))).flatten());
    let floor = rates.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    std::array::from_fn(|k| {
        let n = f64::from(m.blocks_in(c, k));
        let q = step(k);
        let nonzero = (n - f64::from(m.histogram(c, k)[0])).max(0.0);
        match rates[k] {
            Some(lambda) => {
                let threshold = if nonzero >= n {
                    0.5 * q
                } else {
                    (-(nonzero / n).ln() / lambda).clamp(0.5 * q, MAX_DEADZONE * q)
                };
                Mode { lambda, threshold }
            }
            None => {
                let threshold = 0.5 * q;
                let share = (nonzero + 0.5) / (n + 1.0);
                Mode {
                    lambda: (-share.ln() / threshold).max(floor),
                    threshold,
                }
            }
        }
    })
}

/// The fitted modes of every class, with the share of blocks each class holds per mode.
struct Source {
    modes: [[Mode; 64]; CLASSES],
    weight: [[f64; 64]; CLASSES],
}

/// The expected luma MSE per pixel of quantizing `source` with `table`, rounding to nearest, or
/// (with `observed`) with the fitted thresholds.
fn mse(source: &Source, table: &[u16; 64], observed: bool) -> f64 {
    let dc = f64::from(table[0]);
    let mut total = dc * dc / 12.0;
    for (k, &step) in table.iter().enumerate().skip(1) {
        let q = f64::from(step.max(1));
        for (modes, weights) in source.modes.iter().zip(&source.weight) {
            let w = weights[k];
            if w == 0.0 {
                continue;
            }
            let mode = if observed {
                modes[k]
            } else {
                Mode {
                    threshold: 0.5 * q,
                    ..modes[k]
                }
            };
            total += w * mode_error(mode, q);
        }
    }
    total / 64.0
}

/// The IJG equivalent of luma magnitudes `m` taken under luma table `table` (natural order),
/// or `None` when the sample is too small.
pub fn estimate(m: &Magnitudes, table: &[u16; 64]) -> Option<Effective> {
    if m.blocks < MIN_BLOCKS {
        return None;
    }
    let n = m.blocks as f64;
    let source = Source {
        modes: std::array::from_fn(|c| fit(m, c, table)),
        weight: std::array::from_fn(|c| std::array::from_fn(|k| f64::from(m.blocks_in(c, k)) / n)),
    };
    let target = mse(&source, table, true);
    if !target.is_finite() {
        return None;
    }
    // The IJG error at each quality (16-bit tables where libjpeg writes them, as cjpeg does
    // by default) never rises with the quality (the steps never grow): a bisection finds the
    // neighbours `lo < hi` with err(lo) > target >= err(hi), and the answer is interpolated
    // between them.
    let ijg = |q: u8| {
        let table = scale_table(&MOZJPEG[0].luma, scale_for_quality(q), 32767);
        mse(&source, &table, false)
    };
    let (mut lo, mut hi) = (1u8, 100u8);
    let (mut err_lo, err_hi) = (ijg(lo), ijg(hi));
    if target >= err_lo {
        return Some(Effective {
            quality: 1.0,
            mse: target,
        });
    }
    if target < err_hi {
        return Some(Effective {
            quality: 100.0,
            mse: target,
        });
    }
    let mut err_at_hi = err_hi;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let e = ijg(mid);
        if target >= e {
            (hi, err_at_hi) = (mid, e);
        } else {
            (lo, err_lo) = (mid, e);
        }
    }
    let t = if err_lo > err_at_hi {
        (err_lo - target) / (err_lo - err_at_hi)
    } else {
        1.0
    };
    Some(Effective {
        quality: f64::from(lo) + t,
        mse: target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ijg(q: u8) -> [u16; 64] {
        scale_table(&MOZJPEG[0].luma, scale_for_quality(q), 32767)
    }

    /// Blocks of Laplacian coefficients (scale falling with frequency), quantized with `table`;
    /// values below `deadzone` steps are sent as zero (0.5: rounding to nearest).
    fn simulate(table: &[u16; 64], deadzone: f64, blocks: usize) -> Magnitudes {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut m = Magnitudes::new(table);
        for _ in 0..blocks {
            let block: [i16; 64] = std::array::from_fn(|k| {
                let (u, v) = ((k % 8) as f64, (k / 8) as f64);
                let scale = 60.0 / (1.0 + u + v);
                let r = uniform() - 0.5;
                let x = -scale * r.signum() * (1.0 - 2.0 * r.abs()).ln();
                let q = f64::from(table[k]);
                let level = (x / q).round();
                if (x / q).abs() < deadzone {
                    0
                } else {
                    level as i16
                }
            });
            m.add(&block);
        }
        m
    }

    #[test]
    fn rounding_to_nearest_gives_the_tables_quality() {
        for q in [50u8, 75, 90] {
            let e = estimate(&simulate(&ijg(q), 0.5, 4000), &ijg(q)).expect("an estimate");
            assert!((e.quality - f64::from(q)).abs() <= 2.0, "q{q}: {e:?}");
        }
    }

    #[test]
    fn extra_zeroing_lowers_the_equivalent() {
        let rounded = estimate(&simulate(&ijg(90), 0.5, 4000), &ijg(90)).unwrap();
        let zeroed = estimate(&simulate(&ijg(90), 1.0, 4000), &ijg(90)).unwrap();
        assert!(zeroed.mse > rounded.mse, "{zeroed:?} {rounded:?}");
        assert!(
            zeroed.quality < rounded.quality - 3.0,
            "{zeroed:?} {rounded:?}"
        );
    }

    #[test]
    fn too_few_blocks_give_nothing() {
        assert_eq!(estimate(&Magnitudes::new(&ijg(90)), &ijg(90)), None);
        assert_eq!(estimate(&simulate(&ijg(90), 0.5, 10), &ijg(90)), None);
    }
}
