//! An equaliser for the cell sums, fitted on the pilots: it takes back part of the spill
//! between neighbouring cells that a downscale and a re-encode leave.
//!
//! Once a photo site has shrunk a mark to cells of about 2 pixels, its resampling filter and
//! the re-encode's quantisation of high frequencies blur each cell into its neighbours: a cell
//! sum is its own sign times a gain, plus a share of its neighbours' signs, plus noise. A
//! linear filter over the cell and its eight neighbours, fitted by least squares so that it
//! predicts the pilot cells' known signs from their sums, undoes that blur as far as the
//! noise allows (the least-squares fit on cells whose signs are as random as the data cells'
//! is the linear minimum-mean-square-error equaliser of this channel). The filter is point
//! symmetric, as a resampling kernel and the DCT's basis are: five taps, fitted on the 512
//! pilots. On an unmarked image the fit is to noise and the decode stays a decode of noise:
//! one decode per candidate, as before, so the false-payload bound is unchanged.

use super::tile::TILE_CELLS;

/// The taps' neighbour offsets, each tap shared by an offset and its opposite: the cell, its
/// horizontal neighbours, its vertical neighbours, and the two diagonals.
const GROUPS: [[(isize, isize); 2]; 5] = [
    [(0, 0), (0, 0)],
    [(1, 0), (-1, 0)],
    [(0, 1), (0, -1)],
    [(1, 1), (-1, -1)],
    [(1, -1), (-1, 1)],
];
const TAPS: usize = GROUPS.len();

/// The fitted filter.
pub(super) struct Equalizer {
    taps: [f64; TAPS],
}

/// The sums of `sums` (cells row by row on the tile's torus) at each group's offsets from
/// `cell`.
fn neighbours(sums: &[f32], cell: usize) -> [f64; TAPS] {
    let side = TILE_CELLS as isize;
    let (cx, cy) = ((cell % TILE_CELLS) as isize, (cell / TILE_CELLS) as isize);
    let at = |(dx, dy): (isize, isize)| {
        let x = (cx + dx).rem_euclid(side) as usize;
        let y = (cy + dy).rem_euclid(side) as usize;
        f64::from(sums[y * TILE_CELLS + x])
    };
    let mut out = [0f64; TAPS];
    for (o, group) in out.iter_mut().zip(&GROUPS) {
        *o = if group[0] == (0, 0) {
            at(group[0])
        } else {
            at(group[0]) + at(group[1])
        };
    }
    out
}

impl Equalizer {
    /// The filter over `sums` (one per tile cell) that predicts `pilot` (the pilot cells'
    /// signs, 0 on data cells) best in least squares. Where the fit is degenerate (a flat
    /// or tiny input) or would turn the cell's own sign over (a centre tap of 0 or less: a fit
    /// to noise), the filter passes the sums through.
    pub(super) fn fit(sums: &[f32], pilot: &[f32]) -> Equalizer {
        let mut normal = [[0f64; TAPS]; TAPS];
        let mut right = [0f64; TAPS];
        for (cell, &p) in pilot.iter().enumerate() {
            if p == 0.0 {
                continue;
            }
            let row = neighbours(sums, cell);
            for i in 0..TAPS {
                right[i] += row[i] * f64::from(p);
                for j in 0..TAPS {
                    normal[i][j] += row[i] * row[j];
                }
            }
        }
        // A light ridge (a thousandth of the mean diagonal) keeps the system well posed when
        // neighbours are nearly collinear.
        let ridge = 1e-3 * (0..TAPS).map(|i| normal[i][i]).sum::<f64>() / TAPS as f64;
        for (i, row) in normal.iter_mut().enumerate() {
            row[i] += ridge;
        }
        let taps = solve(normal, right)
            .filter(|taps| taps.iter().all(|t| t.is_finite()) && taps[0] > 0.0)
            .unwrap_or([1.0, 0.0, 0.0, 0.0, 0.0]);
        Equalizer { taps }
    }

    /// `sums` through the filter.
    pub(super) fn apply(&self, sums: &[f32]) -> Vec<f32> {
        (0..sums.len())
            .map(|cell| {
                neighbours(sums, cell)
                    .iter()
                    .zip(&self.taps)
                    .map(|(v, t)| v * t)
                    .sum::<f64>() as f32
            })
            .collect()
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when `a` is
/// singular.
fn solve(mut a: [[f64; TAPS]; TAPS], mut b: [f64; TAPS]) -> Option<[f64; TAPS]> {
    for col in 0..TAPS {
        let pivot = (col..TAPS).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col] == 0.0 || !a[pivot][col].is_finite() {
            return None;
        }
        a.swap(pivot, col);
        b.swap(pivot, col);
        let pivot_row = a[col];
        for row in col + 1..TAPS {
            let f = a[row][col] / pivot_row[col];
            for (value, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *value -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; TAPS];
    for row in (0..TAPS).rev() {
        let s: f64 = (row + 1..TAPS).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::pattern::tile::CELLS;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    /// Random signs for every cell, an eighth of them pilots; the sums a channel that spills
    /// `edge` of each cell into its four edge neighbours and `corner` into its diagonal ones
    /// gives, plus uniform noise of `noise` at most.
    fn channel(seed: u64, edge: f32, corner: f32, noise: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signs: Vec<f32> = (0..CELLS)
            .map(|_| if rng.next_u32() & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        let pilot: Vec<f32> = signs
            .iter()
            .enumerate()
            .map(|(i, &s)| if i % 8 == 3 { s } else { 0.0 })
            .collect();
        let side = TILE_CELLS as isize;
        let sums = (0..CELLS)
            .map(|cell| {
                let (cx, cy) = ((cell % TILE_CELLS) as isize, (cell / TILE_CELLS) as isize);
                let mut sum = 0.0;
                for dy in -1..=1isize {
                    for dx in -1..=1isize {
                        let x = (cx + dx).rem_euclid(side) as usize;
                        let y = (cy + dy).rem_euclid(side) as usize;
                        let weight = match dx.abs() + dy.abs() {
                            0 => 1.0,
                            1 => edge,
                            _ => corner,
                        };
                        sum += weight * signs[y * TILE_CELLS + x];
                    }
                }
                let uniform = (rng.next_u32() % 20001) as f32 / 10000.0 - 1.0;
                sum + noise * uniform
            })
            .collect();
        (signs, pilot, sums)
    }

    fn errors(signs: &[f32], sums: &[f32]) -> usize {
        signs
            .iter()
            .zip(sums)
            .filter(|(s, v)| (**s > 0.0) != (**v > 0.0))
            .count()
    }

    #[test]
    fn the_fit_takes_back_the_spill_between_cells() {
        // Each edge neighbour spills 0.3 of its sign, each diagonal one 0.1: a cell's own
        // sign is outweighed whenever most neighbours disagree.
        let (signs, pilot, sums) = channel(7, 0.3, 0.1, 0.4);
        let equalizer = Equalizer::fit(&sums, &pilot);
        let before = errors(&signs, &sums);
        let after = errors(&signs, &equalizer.apply(&sums));
        assert!(before > 200, "{before}");
        assert!(after * 2 < before, "{after} against {before}");
        // The inverse of a spill: the neighbours are subtracted.
        let taps = equalizer.taps;
        assert!(taps[0] > 0.0 && taps[1] < 0.0 && taps[2] < 0.0, "{taps:?}");
    }

    #[test]
    fn without_spill_the_fit_changes_no_decision() {
        let (signs, pilot, sums) = channel(8, 0.0, 0.0, 0.5);
        let equalizer = Equalizer::fit(&sums, &pilot);
        assert_eq!(errors(&signs, &sums), 0);
        assert_eq!(errors(&signs, &equalizer.apply(&sums)), 0);
    }

    #[test]
    fn degenerate_input_passes_through() {
        let sums = vec![0f32; CELLS];
        let pilot: Vec<f32> = (0..CELLS)
            .map(|i| if i % 8 == 0 { 1.0 } else { 0.0 })
            .collect();
        let equalizer = Equalizer::fit(&sums, &pilot);
        assert_eq!(equalizer.taps, [1.0, 0.0, 0.0, 0.0, 0.0]);
        let ramp: Vec<f32> = (0..CELLS).map(|i| i as f32).collect();
        assert_eq!(equalizer.apply(&ramp), ramp);
    }
}
