//! The histogram layer's carrier: an absolute grid of 1.5-level bins over the low-pass luma,
//! grouped in threes; each group carries two raw bits, the signs of its two neighbouring-bin
//! count ratios. Geometry moves pixels, not values, so the grid needs no synchronisation for
//! rotation, scaling, crops or flips; brightness and contrast are undone by mapping the grid's
//! edges through a candidate gain and offset.

use crate::watermark::key::{Key, unit};

/// Width of a bin in grey levels. The verify score grows with the square root of the number of
/// raw bits, so narrow bins pay until JPEG noise fills them: JPEG 50 quantises an 8x8 block's
/// mean in steps of 2 grey levels (DC step 16), which combs 1-level bins. 1.5 levels (98 raw
/// bits) is the narrowest width that survives JPEG 50 (figures in `docs/watermark.md`).
pub(crate) const BIN_WIDTH: f32 = 1.5;
/// The grid starts here (plus the keyed offset).
pub(crate) const GRID_START: f32 = 16.0;
/// The grid ends before this (plus the keyed offset): 49 groups of 3 bins of 1.5 levels.
pub(crate) const GRID_END: f32 = 238.0;
/// Soft values are clipped here (ln 1.35): a ratio beyond what the marker aims for carries no
/// more evidence, and equal magnitudes maximise the normalised correlation.
pub(crate) const SOFT_CLIP: f32 = 0.3;

/// The keyed bin grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    /// Keyed sub-bin offset in [0, width).
    pub(crate) offset: f32,
    /// Bin width in grey levels.
    pub(crate) width: f32,
    /// Number of 3-bin groups.
    pub(crate) groups: usize,
}

impl Grid {
    /// A grid of `width`-level bins from `GRID_START + offset` to before `GRID_END + offset`.
    pub(crate) fn new(width: f32, offset: f32) -> Grid {
        Grid {
            offset,
            width,
            groups: ((GRID_END - GRID_START) / (3.0 * width)).floor() as usize,
        }
    }

    pub(crate) fn from_key(key: &Key) -> Grid {
        let offset = unit(&mut key.stream("histogram grid offset", b"")) as f32 * BIN_WIDTH;
        Grid::new(BIN_WIDTH, offset)
    }

    /// Raw bits carried: two per group.
    pub(crate) fn raw_bits(&self) -> usize {
        2 * self.groups
    }

    /// Edge `k` (0..=3*groups) in the marked image's grey levels.
    pub(crate) fn edge(&self, k: usize) -> f32 {
        GRID_START + self.offset + k as f32 * self.width
    }

    /// The group and bin-in-group of a value, if it lies on the grid.
    pub(crate) fn locate(&self, value: f32) -> Option<(usize, usize)> {
        let position = (value - GRID_START - self.offset) / self.width;
        if !(0.0..(3 * self.groups) as f32).contains(&position) {
            return None;
        }
        // Through i32: `position` is in 0..3 groups (checked just above), where truncation to
        // i32 is the floor. A direct `as usize` (a saturating conversion to a type the baseline
        // x86-64 target has no instruction for) cost a third of this function in `mark`'s
        // closed loop, which locates every smooth pixel on every pass; to i32 is one
        // instruction and a clamp.
        let bin = position as i32 as usize;
        Some((bin / 3, bin % 3))
    }
}

/// A map from the marked image's grey levels to the observed ones:
/// `observed = gain * 255 (v / 255)^gamma + offset` (an affine map when `gamma` is 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Contrast factor.
    pub gain: f32,
    /// Brightness offset, in grey levels.
    pub offset: f32,
    /// Gamma exponent applied to the grey level (1: none).
    pub gamma: f32,
}

impl Tone {
    /// No tone change.
    pub const IDENTITY: Tone = Tone::affine(1.0, 0.0);

    /// `observed = gain * v + offset`.
    pub const fn affine(gain: f32, offset: f32) -> Tone {
        Tone {
            gain,
            offset,
            gamma: 1.0,
        }
    }

    fn apply(&self, v: f32) -> f32 {
        let v = if self.gamma == 1.0 {
            v
        } else {
            255.0 * (v.max(0.0) / 255.0).powf(self.gamma)
        };
        self.gain * v + self.offset
    }
}

/// Fine histogram resolution: 1/32 grey level, over a range wide enough for any candidate tone.
pub(crate) const FINE_PER_LEVEL: f32 = 32.0;
pub(crate) const FINE_LOW: f32 = -64.0;
const FINE_HIGH: f32 = 320.0;

/// Cumulative fine histogram of the counted low-pass values: counting a candidate grid is then
/// O(edges), not O(pixels).
#[derive(Debug, PartialEq)]
pub(crate) struct FineHistogram {
    cumulative: Vec<f64>,
}

impl FineHistogram {
    /// Number of fine bins.
    pub(crate) const BINS: usize = ((FINE_HIGH - FINE_LOW) * FINE_PER_LEVEL) as usize;

    /// The fine bin of `v`, if it lies in the histogram's range.
    pub(crate) fn bin(v: f32) -> Option<usize> {
        let position = (v - FINE_LOW) * FINE_PER_LEVEL;
        // `as usize` truncates, which is the floor for the non-negative positions let through
        // (NaN fails the test), without a call to libm's floorf, which the baseline x86-64
        // target does not inline, in verify's hottest loop.
        if position >= 0.0 && position < Self::BINS as f32 {
            // Through i32, as in `Grid::locate`.
            Some(position as i32 as usize)
        } else {
            None
        }
    }

    /// From (value, weight) pairs.
    pub(crate) fn new(values: impl Iterator<Item = (f32, f32)>) -> FineHistogram {
        let mut counts = vec![0f64; Self::BINS];
        for (v, weight) in values {
            if let Some(i) = Self::bin(v) {
                counts[i] += f64::from(weight);
            }
        }
        Self::from_counts(counts)
    }

    /// From per-bin counts ([`Self::BINS`] of them).
    pub(crate) fn from_counts(counts: impl IntoIterator<Item = f64>) -> FineHistogram {
        let mut cumulative = Vec::with_capacity(Self::BINS + 1);
        let mut total = 0.0;
        cumulative.push(0.0);
        for c in counts {
            total += c;
            cumulative.push(total);
        }
        FineHistogram { cumulative }
    }

    /// Values below `v` (linear within a fine bin).
    pub(crate) fn below(&self, v: f32) -> f64 {
        let position = (v - FINE_LOW) * FINE_PER_LEVEL;
        if position <= 0.0 {
            return 0.0;
        }
        let last = self.cumulative.len() - 1;
        if position >= last as f32 {
            return self.cumulative[last];
        }
        let i = position as usize;
        let frac = f64::from(position - i as f32);
        self.cumulative[i] + frac * (self.cumulative[i + 1] - self.cumulative[i])
    }

    #[cfg(test)]
    pub(crate) fn total(&self) -> f64 {
        *self.cumulative.last().expect("never empty")
    }
}

/// Counts of each group's three bins, the grid seen through `tone`.
pub(crate) fn group_counts(hist: &FineHistogram, grid: &Grid, tone: Tone) -> Vec<[f64; 3]> {
    let below: Vec<f64> = (0..=3 * grid.groups)
        .map(|k| hist.below(tone.apply(grid.edge(k))))
        .collect();
    (0..grid.groups)
        .map(|g| {
            let b = &below[3 * g..3 * g + 4];
            [b[1] - b[0], b[2] - b[1], b[3] - b[2]]
        })
        .collect()
}

/// Soft raw bits: `ln((c_j + k) / (c_{j+1} + k))` per neighbouring pair, clipped. Positive means
/// the left bin is fuller. The prior `k` (a fraction of the mean bin count) pulls groups with
/// few pixels towards 0: their ratios are mostly noise, and in a normalised correlation a noisy
/// large value costs more than it brings.
#[cfg(test)]
pub(crate) fn soft_values(counts: &[[f64; 3]]) -> Vec<f32> {
    let total: f64 = counts.iter().flatten().sum();
    let k = (SOFT_PRIOR * total / (3 * counts.len().max(1)) as f64).max(1.0);
    let mut soft = Vec::with_capacity(2 * counts.len());
    for c in counts {
        for j in 0..2 {
            let r = ((c[j] + k) / (c[j + 1] + k)).ln() as f32;
            soft.push(r.clamp(-SOFT_CLIP, SOFT_CLIP));
        }
    }
    soft
}

/// The prior of [`soft_values`] as a fraction of the mean bin count.
pub(crate) const SOFT_PRIOR: f64 = 0.1;

/// `correlation(&soft_values(&group_counts(hist, grid, tone)), codeword)` in one pass and
/// without allocating: the detector's tone search calls it about 700 times per image. Each
/// bin's `ln(c + k)` is taken once and serves both pairs it belongs to.
pub(crate) fn tone_score(hist: &FineHistogram, grid: &Grid, tone: Tone, codeword: &[f32]) -> f64 {
    let bins = 3 * grid.groups;
    let mut below = hist.below(tone.apply(grid.edge(0)));
    let total = hist.below(tone.apply(grid.edge(bins))) - below;
    let k = (SOFT_PRIOR * total / bins.max(1) as f64).max(1.0);
    // ln(c + k) of the bin that ends at edge `e`, advancing `below` past it.
    let mut log_up_to = |e: usize| {
        let next = hist.below(tone.apply(grid.edge(e)));
        let log = (next - below + k).ln();
        below = next;
        log
    };
    let bits = codeword
        .chunks_exact(2)
        .map(|b| [b[0], b[1]])
        .chain(std::iter::repeat([0.0; 2]));
    let (mut dot, mut norm) = (0.0f64, 0.0f64);
    for (g, bits) in (0..grid.groups).zip(bits) {
        let logs = [
            log_up_to(3 * g + 1),
            log_up_to(3 * g + 2),
            log_up_to(3 * g + 3),
        ];
        for (pair, bit) in [logs[0] - logs[1], logs[1] - logs[2]].into_iter().zip(bits) {
            let r = f64::from((pair as f32).clamp(-SOFT_CLIP, SOFT_CLIP));
            norm += r * r;
            dot += r * f64::from(bit);
        }
    }
    if norm.sqrt() < 1e-9 {
        0.0
    } else {
        dot / norm.sqrt()
    }
}

/// Normalised correlation of soft values with a ±1 codeword: `sum(b r) / |r|`. For a codeword
/// of fair coins independent of the image its tail is bounded whatever the soft values are
/// (see [`super::detect::sign_sum_tail`]).
#[cfg(test)]
pub(crate) fn correlation(soft: &[f32], codeword: &[f32]) -> f64 {
    let norm: f64 = soft
        .iter()
        .map(|&r| f64::from(r) * f64::from(r))
        .sum::<f64>()
        .sqrt();
    if norm < 1e-9 {
        return 0.0;
    }
    let dot: f64 = soft
        .iter()
        .zip(codeword)
        .map(|(&r, &b)| f64::from(r) * f64::from(b))
        .sum();
    dot / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_locates_values() {
        let grid = Grid::new(2.0, 0.5);
        assert_eq!(grid.locate(16.4), None);
        assert_eq!(grid.locate(16.5), Some((0, 0)));
        assert_eq!(grid.locate(18.6), Some((0, 1)));
        assert_eq!(grid.locate(22.49), Some((0, 2)));
        assert_eq!(grid.locate(22.5), Some((1, 0)));
        assert_eq!(
            grid.locate(grid.edge(3 * grid.groups) - 0.01),
            Some((grid.groups - 1, 2))
        );
        assert_eq!(grid.locate(grid.edge(3 * grid.groups)), None);
    }

    #[test]
    fn fine_histogram_counts_bins_exactly_on_fine_edges() {
        let values = (0..1000).map(|i| 20.0 + (i % 100) as f32 * 0.06); // 20.0 .. 25.94
        let hist = FineHistogram::new(values.map(|v| (v, 1.0)));
        assert_eq!(hist.total(), 1000.0);
        let grid = Grid::new(2.0, 0.0); // edges 16, 18, 20, 22, 24, 26, ...
        let counts = group_counts(&hist, &grid, Tone::IDENTITY);
        // Group 0 = [16,18,20,22): bin 2 holds 20.00..21.98 -> 34 values per 100.
        assert_eq!(counts[0], [0.0, 0.0, 340.0]);
        assert_eq!(counts[1], [330.0, 330.0, 0.0]);
        // A tone of +2 shifts the observed edges by 2: the same values fall one bin lower.
        let shifted = group_counts(&hist, &grid, Tone::affine(1.0, 2.0));
        assert_eq!(shifted[0], [0.0, 340.0, 330.0]);
    }

    #[test]
    fn soft_values_and_correlation() {
        let soft = soft_values(&[[120.0, 100.0, 120.0]]);
        let k = (SOFT_PRIOR * 340.0 / 3.0) as f32;
        let expected = ((120.0 + k) / (100.0 + k)).ln();
        assert!(expected < SOFT_CLIP);
        assert!((soft[0] - expected).abs() < 1e-5);
        assert!((soft[1] + expected).abs() < 1e-5);
        // Groups with few pixels are shrunk towards 0 by the prior.
        let sparse = soft_values(&[[20000.0, 10000.0, 20000.0], [20.0, 10.0, 20.0]]);
        assert!(
            sparse[2].abs() < 0.02 && sparse[0] == SOFT_CLIP,
            "{sparse:?}"
        );
        assert!((correlation(&soft, &[1.0, -1.0]) - 2f64.sqrt()).abs() < 1e-6);
        assert!((correlation(&soft, &[-1.0, 1.0]) + 2f64.sqrt()).abs() < 1e-6);
        assert_eq!(correlation(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert_eq!(soft_values(&[[1e9, 0.0, 0.0]])[0], SOFT_CLIP);
    }

    /// The one-pass score equals the composed reference on random histograms, grids and tones.
    #[test]
    fn tone_score_equals_correlation_of_soft_values() {
        let key = Key::from_secret(b"tone score").unwrap();
        let mut rng = key.stream("values", b"");
        for trial in 0..20 {
            let spread = 5.0 + 20.0 * trial as f64;
            let values: Vec<(f32, f32)> = (0..5000)
                .map(|_| ((128.0 + spread * (unit(&mut rng) - 0.5)) as f32, 1.0))
                .collect();
            let hist = FineHistogram::new(values.into_iter());
            let grid = Grid::new(1.0, unit(&mut rng) as f32);
            let codeword = crate::watermark::key::signs(&mut rng, grid.raw_bits());
            for tone in [
                Tone::IDENTITY,
                Tone::affine(1.0, -7.5),
                Tone::affine(1.15, -20.0),
                Tone::affine(0.87, 12.5),
            ] {
                let reference =
                    correlation(&soft_values(&group_counts(&hist, &grid, tone)), &codeword);
                let fused = tone_score(&hist, &grid, tone, &codeword);
                assert!(
                    (reference - fused).abs() < 1e-6,
                    "{tone:?}: {reference} vs {fused}"
                );
            }
        }
    }

    /// The detector's tail bound holds for the normalised correlation: over 20000 random
    /// codewords against fixed, deliberately lopsided soft values, the tail at t = 2 and 3 is
    /// below `C Q(t)` (which is below Hoeffding's `exp(-t^2/2)` there).
    #[test]
    fn correlation_tail_is_within_the_sign_sum_bound() {
        let key = Key::from_secret(b"tail").unwrap();
        let n = 74;
        let soft: Vec<f32> = (0..n)
            .map(|i| if i < 10 { 3.0 } else { 0.05 * (i % 7) as f32 })
            .collect();
        let mut rng = key.stream("tail test", b"");
        let trials = 20_000;
        let scores: Vec<f64> = (0..trials)
            .map(|_| correlation(&soft, &crate::watermark::key::signs(&mut rng, n)))
            .collect();
        for t in [2.0f64, 3.0] {
            let tail = scores.iter().filter(|&&s| s >= t).count() as f64 / trials as f64;
            let bound = super::super::detect::sign_sum_tail(t);
            assert!(bound < (-t * t / 2.0).exp());
            assert!(tail <= bound, "t {t}: tail {tail} > {bound}");
        }
    }
}
