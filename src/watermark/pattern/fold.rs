//! Folding the whitened residual into one tile through a lattice's inverse map, the blind
//! extraction's pass over every pixel for each lattice it tries.
//!
//! Each tile pixel's sum is a chain of additions in pixel order, and consecutive pixels often
//! fall into the same cell (a cell is 2 or more pixels wide), so one fold waits on its own
//! previous addition: [`fold_each`] folds two lattices in one walk over the image, two
//! independent chains the processor runs side by side. Each sum still adds the same samples in
//! the same order, so the tiles are the same to the bit.

use super::sync::Lattice;
use super::tile::TILE;
use crate::watermark::signal::Plane;

/// One lattice's walk over the image: the tile position `q = M^-1 p` of each pixel centre `p`,
/// in fixed point with 32 fractional bits (the integer part of an arithmetic shift is the
/// floor, also for negative `q`, and masking takes it modulo the tile, a power of two). The
/// step's rounding drifts by under 1e-6 pixel across a row.
struct Walk {
    inv: [f64; 4],
    step_x: i64,
    step_y: i64,
}

const _: () = assert!(TILE.is_power_of_two());

fn fixed(v: f64) -> i64 {
    (v * (1u64 << 32) as f64).round() as i64
}

impl Walk {
    /// The walk of `lattice` taking every `stride`-th pixel of a row.
    fn new(lattice: &Lattice, stride: usize) -> Walk {
        let t = TILE as f32;
        // Image pixel p = M q with M's columns u / TILE, v / TILE; q = M^-1 p.
        let (a, b, c, d) = (
            lattice.u[0] / t,
            lattice.v[0] / t,
            lattice.u[1] / t,
            lattice.v[1] / t,
        );
        let det = a * d - b * c;
        let inv = [d / det, -b / det, -c / det, a / det].map(f64::from);
        let step = stride as f64;
        Walk {
            inv,
            step_x: fixed(inv[0] * step),
            step_y: fixed(inv[2] * step),
        }
    }

    /// `q` at the first pixel centre of row `y`.
    fn row_start(&self, y: usize) -> (i64, i64) {
        let py = y as f64 + 0.5;
        let inv = &self.inv;
        (
            fixed(inv[0] * 0.5 + inv[1] * py),
            fixed(inv[2] * 0.5 + inv[3] * py),
        )
    }

    /// The tile pixel of `q`, then `q` one step on.
    #[inline(always)]
    fn advance(&self, q: &mut (i64, i64)) -> usize {
        let ix = (q.0 >> 32) as usize & (TILE - 1);
        let iy = (q.1 >> 32) as usize & (TILE - 1);
        q.0 = q.0.wrapping_add(self.step_x);
        q.1 = q.1.wrapping_add(self.step_y);
        iy * TILE + ix
    }
}

/// Folds every pixel of `residual` into one tile (pixels of the original tile) through the
/// inverse of `lattice`'s map: the residual summed per tile pixel. Sums, not means: a cell's
/// value is then every sample in it weighted alike, the matched filter when each sample is
/// as noisy as the next. Means would weight a tile pixel that one stray sample fell into as
/// much as one holding twenty, which matters after a rescale, where pixel centres straddle
/// the two halves of a cell.
/// Every `stride`-th pixel of every `stride`-th row is used (1: all).
pub(super) fn fold(residual: &Plane, lattice: &Lattice, stride: usize) -> Vec<f32> {
    let walk = Walk::new(lattice, stride);
    let mut sum = vec![0f32; TILE * TILE];
    let w = residual.width;
    for (y, row) in residual
        .data
        .chunks_exact(w.max(1))
        .enumerate()
        .step_by(stride)
    {
        let mut q = walk.row_start(y);
        for &r in row.iter().step_by(stride) {
            sum[walk.advance(&mut q)] += r;
        }
    }
    sum
}

/// [`fold`] of `residual` (every pixel) through each of `lattices`, two at a time.
pub(super) fn fold_each(residual: &Plane, lattices: &[Lattice]) -> Vec<Vec<f32>> {
    let mut tiles = Vec::with_capacity(lattices.len());
    let pairs = lattices.chunks_exact(2);
    if let [last] = pairs.remainder() {
        tiles.push((lattices.len() - 1, fold(residual, last, 1)));
    }
    for (k, pair) in pairs.enumerate() {
        let (a, b) = fold_pair(residual, &pair[0], &pair[1]);
        tiles.push((2 * k, a));
        tiles.push((2 * k + 1, b));
    }
    tiles.sort_by_key(|&(k, _)| k);
    tiles.into_iter().map(|(_, tile)| tile).collect()
}

/// [`fold`] of every pixel through `a` and through `b` in one walk.
fn fold_pair(residual: &Plane, a: &Lattice, b: &Lattice) -> (Vec<f32>, Vec<f32>) {
    let (walk_a, walk_b) = (Walk::new(a, 1), Walk::new(b, 1));
    let (mut sum_a, mut sum_b) = (vec![0f32; TILE * TILE], vec![0f32; TILE * TILE]);
    let w = residual.width;
    for (y, row) in residual.data.chunks_exact(w.max(1)).enumerate() {
        let (mut qa, mut qb) = (walk_a.row_start(y), walk_b.row_start(y));
        for &r in row {
            sum_a[walk_a.advance(&mut qa)] += r;
            sum_b[walk_b.advance(&mut qb)] += r;
        }
    }
    (sum_a, sum_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fold as it was first written (one lattice, its own setup inline): the reference the
    /// walks must equal to the bit.
    fn fold_by_definition(residual: &Plane, lattice: &Lattice, stride: usize) -> Vec<f32> {
        let t = TILE as f32;
        let (a, b, c, d) = (
            lattice.u[0] / t,
            lattice.v[0] / t,
            lattice.u[1] / t,
            lattice.v[1] / t,
        );
        let det = a * d - b * c;
        let inv = [d / det, -b / det, -c / det, a / det];
        let mut sum = vec![0f32; TILE * TILE];
        let w = residual.width;
        let fixed = |v: f64| (v * (1u64 << 32) as f64).round() as i64;
        let inv = inv.map(f64::from);
        let step = stride as f64;
        let (step_x, step_y) = (fixed(inv[0] * step), fixed(inv[2] * step));
        for (y, row) in residual
            .data
            .chunks_exact(w.max(1))
            .enumerate()
            .step_by(stride)
        {
            let py = y as f64 + 0.5;
            let mut qx = fixed(inv[0] * 0.5 + inv[1] * py);
            let mut qy = fixed(inv[2] * 0.5 + inv[3] * py);
            for &r in row.iter().step_by(stride) {
                let ix = (qx >> 32) as usize & (TILE - 1);
                let iy = (qy >> 32) as usize & (TILE - 1);
                sum[iy * TILE + ix] += r;
                qx = qx.wrapping_add(step_x);
                qy = qy.wrapping_add(step_y);
            }
        }
        sum
    }

    fn bits(tile: &[f32]) -> Vec<u32> {
        tile.iter().map(|v| v.to_bits()).collect()
    }

    /// One lattice at a time or two in one walk, every stride, rotated, sheared and flipped
    /// lattices, odd and even counts: the tiles of the definition, to the bit.
    #[test]
    fn folds_equal_the_definition_to_the_bit() {
        let mut state = 5u32;
        let residual = Plane::from_fn(301, 170, |x, y| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5 + ((x * 3 + y) % 7) as f32 * 0.1
        });
        let t = TILE as f32;
        let lattices = [
            Lattice::axis_aligned(t),
            Lattice::axis_aligned(1.7 * t),
            Lattice {
                u: [0.9 * t, 0.2 * t],
                v: [-0.25 * t, 1.1 * t],
                strength: 0.0,
            },
            Lattice {
                u: [-1.3 * t, 0.05 * t],
                v: [0.4 * t, -0.8 * t],
                strength: 0.0,
            },
            Lattice::axis_aligned(0.4 * t),
        ];
        for stride in [1, 2, 3] {
            for lattice in &lattices {
                assert_eq!(
                    bits(&fold(&residual, lattice, stride)),
                    bits(&fold_by_definition(&residual, lattice, stride))
                );
            }
        }
        for n in 0..=lattices.len() {
            let tiles = fold_each(&residual, &lattices[..n]);
            assert_eq!(tiles.len(), n);
            for (tile, lattice) in tiles.iter().zip(&lattices) {
                assert_eq!(bits(tile), bits(&fold_by_definition(&residual, lattice, 1)));
            }
        }
    }
}
