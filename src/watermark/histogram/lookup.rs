//! The grid's group of each fine-histogram bin, where the whole bin lies in one group: the
//! closed loop finds a smooth pixel's group, and whether that group is pushed this pass, with a
//! table lookup on the pixel's fine bin instead of [`Grid::locate`]'s division, and skips at
//! once the pixels of the groups left alone (from the third pass on, most of them).
//!
//! Exact by monotonicity. A value's fine bin and its place on the grid both grow with the value
//! (each is a subtraction, then a multiplication or division by a positive constant, each
//! rounded, and rounding never reverses an order), so the values of one fine bin are an
//! interval and [`Grid::locate`] over it is a monotone step function. Every value of fine bin
//! `i` lies within 2^-15 of a grey level of the bin's nominal range, from `-64 + i / 32` to
//! `-64 + (i + 1) / 32` (the one rounding, of `v + 64`, is at most half an ulp at 384); when
//! `locate` gives the same answer at both ends of that range widened by [`SLACK`], it gives it
//! for every value of the bin (`None` at both ends means the same side of the grid: the grid is
//! far wider than a bin). A bin across a group edge (one or two per edge) is marked [`SPLIT`]
//! and its values are located one by one, as before.

use super::carrier::{FINE_LOW as LOW, FINE_PER_LEVEL as PER_LEVEL, FineHistogram, Grid};

/// The bin's values lie in no group (below or above the grid).
const OUTSIDE: u8 = u8::MAX;
/// The bin's values straddle a group edge: locate each value.
pub(crate) const SPLIT: u8 = u8::MAX - 1;
/// In a pass's table ([`BinGroups::pushed`]): the bin's group is not pushed this pass, or the
/// bin lies outside the grid.
pub(crate) const NOT_PUSHED: u8 = u8::MAX;
/// Grey levels each fine bin's nominal range is widened by before its ends are located: far
/// more than the 2^-15 any value of the bin can lie outside it.
const SLACK: f32 = 1.0 / 256.0;

/// Per fine bin, the group of every value in it, [`OUTSIDE`] or [`SPLIT`].
pub(crate) struct BinGroups {
    groups: Vec<u8>,
}

impl BinGroups {
    /// The table of `grid` (at most 253 groups; the histogram layer has 49).
    pub(crate) fn new(grid: &Grid) -> BinGroups {
        assert!(
            grid.groups < usize::from(SPLIT),
            "too many groups for a byte"
        );
        let group = |v: f32| grid.locate(v).map(|(g, _)| g);
        let groups = (0..FineHistogram::BINS)
            .map(|i| {
                let lo = LOW + i as f32 / PER_LEVEL - SLACK;
                let hi = LOW + (i + 1) as f32 / PER_LEVEL + SLACK;
                match (group(lo), group(hi)) {
                    (a, b) if a != b => SPLIT,
                    (Some(g), _) => g as u8,
                    (None, _) => OUTSIDE,
                }
            })
            .collect();
        BinGroups { groups }
    }

    /// This pass's table: per fine bin, its group when `pushed(group)`, [`SPLIT`] where the bin
    /// straddles an edge, else [`NOT_PUSHED`].
    /// One more entry, [`NOT_PUSHED`], stands for the values outside the fine histogram (the
    /// bin [`WordBins`] gives them).
    pub(crate) fn pushed(&self, pushed: impl Fn(usize) -> bool) -> Vec<u8> {
        self.groups
            .iter()
            .map(|&g| match g {
                SPLIT => SPLIT,
                OUTSIDE => NOT_PUSHED,
                g if pushed(usize::from(g)) => g,
                _ => NOT_PUSHED,
            })
            .chain([NOT_PUSHED])
            .collect()
    }

    /// The group of `v` as [`Grid::locate`] gives it, through the table where the bin decides.
    #[cfg(test)]
    fn group(&self, grid: &Grid, v: f32) -> Option<usize> {
        match FineHistogram::bin(v).map(|bin| self.groups[bin]) {
            None | Some(OUTSIDE) => None,
            Some(SPLIT) => grid.locate(v).map(|(g, _)| g),
            Some(g) => Some(usize::from(g)),
        }
    }
}

/// The set bits `j` of a word of the closed loop's smooth-pixel mask, each with the fine bin
/// of `values[j]` ([`FineHistogram::bin`], or [`FineHistogram::BINS`] for a value outside the
/// histogram). A word with many bits set has the bins of all its values made first, in a loop
/// without branches that the compiler vectorises (most of a photo's smooth pixels come in
/// whole words), a sparse one bit by bit.
pub(crate) struct WordBins<'a> {
    bits: u64,
    values: &'a [f32],
    bins: Option<[u32; 64]>,
}

impl<'a> WordBins<'a> {
    /// Set bits from which making all 64 bins is cheaper than one at a time.
    const DENSE: u32 = 12;

    /// The bits of `word`, pixel `j` of the word having the low-pass value `values[j]`.
    #[inline(always)]
    pub(crate) fn new(word: u64, values: &'a [f32]) -> WordBins<'a> {
        let bins = (word.count_ones() >= Self::DENSE && values.len() == 64).then(|| {
            let mut bins = [0u32; 64];
            for (b, &v) in bins.iter_mut().zip(values) {
                *b = bin_or_past(v);
            }
            bins
        });
        WordBins {
            bits: word,
            values,
            bins,
        }
    }
}

impl Iterator for WordBins<'_> {
    /// A set bit and its value's fine bin.
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.bits == 0 {
            return None;
        }
        let j = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        let bin = match &self.bins {
            Some(bins) => bins[j],
            None => bin_or_past(self.values[j]),
        };
        Some((j, bin as usize))
    }
}

/// [`FineHistogram::bin`] of `v`, or [`FineHistogram::BINS`] for `None`, without branches or
/// a float-to-integer conversion (Rust's saturating one is not vectorised): the floor of the
/// bin position `p` (in `0..BINS`, well under 2^23) is `p + 2^23 - 2^23`, which rounds `p` to
/// the nearest whole number exactly (the sum's ulp is 1), less one where that rounded up; that
/// whole number plus 2^23 has it as the low bits of its representation.
#[inline(always)]
fn bin_or_past(v: f32) -> u32 {
    const MAGIC: f32 = 8_388_608.0;
    let position = (v - LOW) * PER_LEVEL;
    let inside = position >= 0.0 && position < FineHistogram::BINS as f32;
    let nearest = (position + MAGIC) - MAGIC;
    let floor = if nearest > position {
        nearest - 1.0
    } else {
        nearest
    };
    let bin = (floor + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits());
    if inside {
        bin
    } else {
        FineHistogram::BINS as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::histogram::carrier::BIN_WIDTH;

    /// The table's group is `locate`'s for every f32 within 1/64 of a grey level of each group
    /// edge (every one of them, where the answer changes), at every fine bin's ends and their
    /// neighbouring floats, and on a dense sweep, for several keyed offsets and widths; and
    /// values outside the fine histogram are outside the grid.
    #[test]
    fn table_groups_are_locates() {
        for (width, offset) in [
            (BIN_WIDTH, 0.0),
            (BIN_WIDTH, 0.3721),
            (BIN_WIDTH, 1.4999),
            (BIN_WIDTH, 1.0 / 32.0),
            (2.0, 0.7),
            (1.0, 0.123_456_7),
        ] {
            let grid = Grid::new(width, offset);
            let table = BinGroups::new(&grid);
            let check = |v: f32| {
                assert_eq!(
                    table.group(&grid, v),
                    grid.locate(v).map(|(g, _)| g),
                    "width {width} offset {offset}: {v:e}"
                );
            };
            for k in 0..=3 * grid.groups {
                let mut v = grid.edge(k) - 1.0 / 64.0;
                while v <= grid.edge(k) + 1.0 / 64.0 {
                    check(v);
                    v = v.next_up();
                }
            }
            for i in 0..=FineHistogram::BINS {
                let nominal = LOW + i as f32 / PER_LEVEL;
                let mut v = nominal.next_down().next_down();
                for _ in 0..5 {
                    check(v);
                    v = v.next_up();
                }
            }
            for i in 0..4_000_000 {
                check(-70.0 + i as f32 * 1e-4);
            }
            for v in [
                f32::NAN,
                f32::NEG_INFINITY,
                f32::INFINITY,
                -1e30,
                1e30,
                -0.0,
            ] {
                check(v);
            }
            let splits = table.groups.iter().filter(|&&g| g == SPLIT).count();
            assert!(splits <= 2 * (grid.groups + 1), "{splits} split bins");
        }
    }

    /// The bins a word's walk gives are `FineHistogram::bin`'s, dense words and sparse, with
    /// values outside the histogram, at its ends and NaN.
    #[test]
    fn word_walk_gives_each_set_bits_bin() {
        let specials = [
            f32::NAN,
            -64.0,
            (-64.0f32).next_down(),
            320.0,
            320.0f32.next_down(),
            -1e9,
            1e9,
            0.0,
            -0.0,
        ];
        let mut state = 3u64;
        for round in 0..200 {
            let values: Vec<f32> = (0..64)
                .map(|j| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    if j % 9 == round % 9 {
                        specials[(state >> 60) as usize % specials.len()]
                    } else {
                        (state >> 40) as f32 / (1u64 << 24) as f32 * 400.0 - 70.0
                    }
                })
                .collect();
            // Some rounds on the bins' edges and halfway between them, and their neighbours.
            let values: Vec<f32> = if round % 5 == 4 {
                values
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| {
                        let edge = LOW + ((v - LOW) * 64.0).floor().max(0.0) / 64.0;
                        [edge.next_down(), edge, edge.next_up()][j % 3]
                    })
                    .collect()
            } else {
                values
            };
            let word = match round % 4 {
                0 => u64::MAX,
                1 => state,
                2 => state & state >> 7 & state >> 13,
                _ => 1 << (round % 64),
            };
            let mut seen = 0u64;
            for (j, bin) in WordBins::new(word, &values) {
                seen |= 1 << j;
                let expected = FineHistogram::bin(values[j]).unwrap_or(FineHistogram::BINS);
                assert_eq!(bin, expected, "{:e}", values[j]);
            }
            assert_eq!(seen, word);
            for (j, bin) in WordBins::new(word & 0xffff, &values[..16]) {
                let expected = FineHistogram::bin(values[j]).unwrap_or(FineHistogram::BINS);
                assert_eq!(bin, expected);
            }
        }
    }

    /// A pass's table keeps the pushed groups and the split bins, and nothing else.
    #[test]
    fn pass_table_keeps_pushed_groups() {
        let grid = Grid::new(BIN_WIDTH, 0.5);
        let table = BinGroups::new(&grid);
        let pushed = table.pushed(|g| g % 3 == 1);
        for (&all, &pass) in table.groups.iter().zip(&pushed) {
            let expected = match all {
                SPLIT => SPLIT,
                g if g != OUTSIDE && g % 3 == 1 => g,
                _ => NOT_PUSHED,
            };
            assert_eq!(pass, expected);
        }
        assert!(pushed.contains(&4) && pushed.contains(&NOT_PUSHED));
    }
}
