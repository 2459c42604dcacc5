//! The pilots' circular correlation with a folded tile, over every shift and under each of the
//! square's eight symmetries: where the tile's phase is, and which way round it lies.
//!
//! A symmetry of the tile (a quarter turn, a flip) is an affine map of the torus: a signed
//! permutation of the axes plus a constant. Correlating the tile seen through a symmetry with
//! the pilots is therefore correlating the tile itself with the pilots seen through the map,
//! at a shift that the map's linear part carries over. The pilots' eight spectra are made once
//! per key, so a tile costs one forward transform and four inverse ones for all eight
//! symmetries (two real correlations share one complex transform), where transforming each
//! symmetric tile on its own cost sixteen.

use rustfft::num_complex::Complex32;

use super::tile::TILE;
use crate::watermark::signal::Fft2;

/// The square's symmetries: bit 0 swaps the axes, bit 1 flips x, bit 2 flips y.
pub(super) const SYMMETRIES: usize = 8;

/// Where the sample at `(x, y)` of the tile seen through symmetry `which` lies in the tile.
fn source(which: usize, x: usize, y: usize) -> (usize, usize) {
    let (swap, flip_x, flip_y) = (which & 1 == 1, which & 2 == 2, which & 4 == 4);
    let (mut sx, mut sy) = if swap { (y, x) } else { (x, y) };
    if flip_x {
        sx = TILE - 1 - sx;
    }
    if flip_y {
        sy = TILE - 1 - sy;
    }
    (sx, sy)
}

/// The tile seen through one of the square's eight symmetries.
pub(super) fn symmetry(tile: &[f32], which: usize) -> Vec<f32> {
    let mut out = vec![0f32; TILE * TILE];
    for y in 0..TILE {
        for x in 0..TILE {
            let (sx, sy) = source(which, x, y);
            out[y * TILE + x] = tile[sy * TILE + sx];
        }
    }
    out
}

/// The shift of the tile itself that a shift `(x, y)` of the tile seen through `which`
/// amounts to: the linear part of [`source`], modulo the tile.
#[cfg(test)]
fn shift_in_tile(which: usize, x: usize, y: usize) -> (usize, usize) {
    let (ax, ay) = source(which, x, y);
    let (bx, by) = source(which, 0, 0);
    ((ax + TILE - bx) % TILE, (ay + TILE - by) % TILE)
}

/// The shift of the tile seen through `which` that a shift `(x, y)` of the tile itself
/// amounts to: the inverse of `shift_in_tile`, undoing the flips, then the swap.
fn shift_seen(which: usize, x: usize, y: usize) -> (usize, usize) {
    let (swap, flip_x, flip_y) = (which & 1 == 1, which & 2 == 2, which & 4 == 4);
    let a = if flip_x { (TILE - x) % TILE } else { x };
    let b = if flip_y { (TILE - y) % TILE } else { y };
    if swap { (b, a) } else { (a, b) }
}

/// The pilots' spectra under every symmetry, and the transforms that correlate a tile with
/// them.
pub(super) struct PilotPhase {
    /// Per symmetry: the conjugate spectrum of the pilots seen through its map, transposed
    /// ([`Fft2::process_to_transposed`]).
    single: Vec<Vec<Complex32>>,
    /// Per pair of symmetries `(2i, 2i + 1)`: `single[2i] + i single[2i + 1]`, whose product
    /// with a real tile's spectrum transforms back to both correlations, one in the real part
    /// and one in the imaginary part.
    paired: Vec<Vec<Complex32>>,
    forward: Fft2,
    inverse: Fft2,
}

impl PilotPhase {
    /// `pilot`: the pilot pattern, one value per tile sample (row-major, `TILE` x `TILE`).
    pub(super) fn new(pilot: &[f32]) -> PilotPhase {
        let forward = Fft2::new(TILE, TILE, false);
        let inverse = Fft2::new(TILE, TILE, true);
        let single: Vec<Vec<Complex32>> = (0..SYMMETRIES)
            .map(|which| {
                // The tile seen through `which` at `q` is the tile at `source(q)`, so the
                // pilots are carried the same way: the pilot of `q` moves to `source(q)`.
                let mut mapped = vec![Complex32::default(); TILE * TILE];
                for y in 0..TILE {
                    for x in 0..TILE {
                        let (sx, sy) = source(which, x, y);
                        mapped[sy * TILE + sx] = Complex32::new(pilot[y * TILE + x], 0.0);
                    }
                }
                let mut spectrum = vec![Complex32::default(); TILE * TILE];
                forward.process_to_transposed(&mut mapped, &mut spectrum);
                spectrum.iter_mut().for_each(|c| *c = c.conj());
                spectrum
            })
            .collect();
        let paired = single
            .chunks(2)
            .map(|pair| {
                pair[0]
                    .iter()
                    .zip(&pair[1])
                    .map(|(a, b)| a + Complex32::i() * b)
                    .collect()
            })
            .collect();
        PilotPhase {
            single,
            paired,
            forward,
            inverse,
        }
    }

    /// The transposed spectrum of a real tile.
    fn spectrum(&self, tile: &[f32]) -> Vec<Complex32> {
        let mut samples: Vec<Complex32> = tile.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        let mut spectrum = vec![Complex32::default(); samples.len()];
        self.forward
            .process_to_transposed(&mut samples, &mut spectrum);
        spectrum
    }

    /// The tile's spectrum times `pilots`, transformed back (row-major).
    fn correlate(&self, spectrum: &[Complex32], pilots: &[Complex32]) -> Vec<Complex32> {
        let mut product: Vec<Complex32> = spectrum.iter().zip(pilots).map(|(f, p)| f * p).collect();
        let mut out = vec![Complex32::default(); product.len()];
        self.inverse.process_from_transposed(&mut product, &mut out);
        out
    }

    /// For each symmetry, the best shift of the tile seen through it against the pilots, and
    /// that correlation's z-score over all shifts.
    pub(super) fn every_symmetry(&self, tile: &[f32]) -> [((usize, usize), f32); SYMMETRIES] {
        let spectrum = self.spectrum(tile);
        let mut out = [((0, 0), 0.0); SYMMETRIES];
        for (pair, pilots) in self.paired.iter().enumerate() {
            let both = self.correlate(&spectrum, pilots);
            let real: Vec<f32> = both.iter().map(|c| c.re).collect();
            let imaginary: Vec<f32> = both.iter().map(|c| c.im).collect();
            out[2 * pair] = best_shift(&real, 2 * pair);
            out[2 * pair + 1] = best_shift(&imaginary, 2 * pair + 1);
        }
        out
    }

    /// The best shift of the tile seen through `which` against the pilots, and that
    /// correlation's z-score over all shifts.
    pub(super) fn one_symmetry(&self, tile: &[f32], which: usize) -> ((usize, usize), f32) {
        let correlation: Vec<f32> = self
            .correlate(&self.spectrum(tile), &self.single[which])
            .iter()
            .map(|c| c.re)
            .collect();
        best_shift(&correlation, which)
    }
}

/// The best shift of the tile seen through `which` and its z-score, from the correlation of
/// the tile itself with the pilots carried through the map (`correlation`, row-major over the
/// tile's own shifts). The map permutes the shifts, so the spread is the same over either
/// order; of equal maxima, the last in the symmetric tile's own row order is taken.
fn best_shift(correlation: &[f32], which: usize) -> ((usize, usize), f32) {
    // Eight running sums and maxima side by side, which the compiler turns into vector
    // instructions (a single running sum would have to be kept in order).
    const LANES: usize = 8;
    let (mut sums, mut maxima) = ([0f32; LANES], [f32::MIN; LANES]);
    for chunk in correlation.chunks_exact(LANES) {
        for lane in 0..LANES {
            sums[lane] += chunk[lane];
            maxima[lane] = maxima[lane].max(chunk[lane]);
        }
    }
    let n = correlation.len() as f32;
    let mean = sums.iter().sum::<f32>() / n;
    let mut squares = [0f32; LANES];
    for chunk in correlation.chunks_exact(LANES) {
        for lane in 0..LANES {
            squares[lane] += (chunk[lane] - mean) * (chunk[lane] - mean);
        }
    }
    let var = squares.iter().sum::<f32>() / n;
    let value = maxima.into_iter().fold(f32::MIN, f32::max);
    let best = correlation
        .iter()
        .enumerate()
        .filter(|&(_, &v)| v == value)
        .map(|(i, _)| {
            let (x, y) = shift_seen(which, i % TILE, i / TILE);
            y * TILE + x
        })
        .max()
        .unwrap_or(0);
    (
        (best % TILE, best / TILE),
        (value - mean) / var.sqrt().max(1e-12),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    fn noise(seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..TILE * TILE)
            .map(|_| (rng.next_u32() % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    /// The plain way: the symmetric tile made, transformed, multiplied by the pilots'
    /// conjugate spectrum and transformed back; the best shift and its z-score.
    fn plain(tile: &[f32], pilot: &[f32], which: usize) -> ((usize, usize), f32) {
        let forward = Fft2::new(TILE, TILE, false);
        let inverse = Fft2::new(TILE, TILE, true);
        let complex =
            |v: &[f32]| -> Vec<Complex32> { v.iter().map(|&v| Complex32::new(v, 0.0)).collect() };
        let mut pilots = complex(pilot);
        forward.process(&mut pilots);
        let mut buffer = complex(&symmetry(tile, which));
        forward.process(&mut buffer);
        for (b, p) in buffer.iter_mut().zip(&pilots) {
            *b *= p.conj();
        }
        inverse.process(&mut buffer);
        let surface: Vec<f64> = buffer.iter().map(|c| f64::from(c.re)).collect();
        let n = surface.len() as f64;
        let mean = surface.iter().sum::<f64>() / n;
        let sd = (surface.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let best = (0..surface.len())
            .max_by(|&a, &b| surface[a].total_cmp(&surface[b]))
            .unwrap();
        (
            (best % TILE, best / TILE),
            ((surface[best] - mean) / sd) as f32,
        )
    }

    /// The correlation at one shift, summed directly.
    fn direct_at(tile: &[f32], pilot: &[f32], which: usize, shift: (usize, usize)) -> f64 {
        let seen = symmetry(tile, which);
        let mut sum = 0f64;
        for y in 0..TILE {
            for x in 0..TILE {
                let value = seen[((y + shift.1) % TILE) * TILE + (x + shift.0) % TILE];
                sum += f64::from(value) * f64::from(pilot[y * TILE + x]);
            }
        }
        sum
    }

    #[test]
    fn shift_seen_undoes_shift_in_tile() {
        for which in 0..SYMMETRIES {
            for i in 0..TILE * TILE {
                let (x, y) = shift_in_tile(which, i % TILE, i / TILE);
                assert_eq!(shift_seen(which, x, y), (i % TILE, i / TILE), "{which}");
            }
        }
    }

    #[test]
    fn every_symmetry_finds_the_shift_and_score_of_the_direct_correlation() {
        let pilot = noise(1);
        let phase = PilotPhase::new(&pilot);
        for which in 0..SYMMETRIES {
            // A tile that, seen through `which` and shifted by `shift`, carries the pilots
            // over noise: the direct sum finds that shift.
            let shift = (17 + 5 * which, 90 - 3 * which);
            let mut seen = noise(10 + which as u64);
            for y in 0..TILE {
                for x in 0..TILE {
                    seen[((y + shift.1) % TILE) * TILE + (x + shift.0) % TILE] +=
                        0.3 * pilot[y * TILE + x];
                }
            }
            // Undo the symmetry: the tile whose view through `which` is `seen`.
            let mut tile = vec![0f32; TILE * TILE];
            for y in 0..TILE {
                for x in 0..TILE {
                    let (sx, sy) = source(which, x, y);
                    tile[sy * TILE + sx] = seen[y * TILE + x];
                }
            }
            let all = phase.every_symmetry(&tile);
            for (other, &every) in all.iter().enumerate() {
                let (want_shift, want_score) = plain(&tile, &pilot, other);
                for (got_shift, got_score) in [every, phase.one_symmetry(&tile, other)] {
                    assert_eq!(got_shift, want_shift, "which {which}, other {other}");
                    assert!(
                        (got_score - want_score).abs() < 1e-3,
                        "which {which}, other {other}: {got_score} against {want_score}"
                    );
                }
            }
            assert_eq!(all[which].0, shift);
            // The planted correlation, summed directly, stands out of the others.
            let planted = direct_at(&tile, &pilot, which, shift);
            let beside = direct_at(&tile, &pilot, which, (shift.0 + 7, shift.1));
            assert!(planted > 10.0 * beside.abs(), "{planted} against {beside}");
            assert!(all[which].1 > 20.0, "{}", all[which].1);
        }
    }
}
