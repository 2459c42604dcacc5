//! Geometric resynchronisation of the payload layer (Kutter 1998, Deguillaume et al. 2002): a
//! pattern repeated on a square lattice makes the image's autocorrelation peak on that lattice,
//! however the image was rotated, scaled, stretched or cropped afterwards. The lattice's basis
//! is the linear part of the attack; the tile phase (translation) and which of the lattice's
//! eight symmetries (rotations by 90 degrees, mirrors) applies are found later against the
//! keyed pilot cells.

use rustfft::num_complex::Complex32;

use crate::watermark::signal::{Fft2, Plane};

/// Largest autocorrelation window side: 1024 samples hold at least four periods of the tile at
/// twice its size, and keep the FFT at 8 MiB whatever the image size.
pub(crate) const MAX_WINDOW: usize = 1024;
/// Lags shorter than this are the host image's own correlation, not the lattice.
pub(crate) const MIN_LAG: f32 = 24.0;
/// Zero samples added to each side of the window before the transform, so that the
/// autocorrelation at lags up to this long is the window's own (linear), free of the circular
/// wrap: with fewer, a lag `L` also correlates the window's last `L - padding` rows with its
/// first ones, a fraction of a period out of phase, and a tile repeated only three times across
/// the window (a photo shrunk to a 720-pixel side) could lose its peaks to that.
pub(crate) const LINEAR_LAGS: usize = 336;
/// Peaks considered when forming basis pairs.
const PEAKS: usize = 24;
/// Peaks, strongest first, each completed to a square lattice by its quarter turn.
const SQUARE_SEEDS: usize = 256;
/// Passes over the four basis coordinates per step size in [`polish`].
const POLISH_ROUNDS: usize = 8;
/// The longest basis vector the searches keep, as a fraction of the longest lag searched: both
/// basis vectors well inside the window, so that points off each line are scored too (else a
/// wrong second vector costs nothing).
const MAX_BASIS: f32 = 0.6;

/// A 2-vector in pixels.
pub type Vector = [f32; 2];

/// A lattice found in an image: basis vectors `u`, `v` in pixels and how strongly the
/// autocorrelation peaks on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lattice {
    /// First basis vector, in pixels.
    pub u: Vector,
    /// Second basis vector, in pixels.
    pub v: Vector,
    /// Autocorrelation summed over the lattice points, over the noise of such a sum.
    pub strength: f32,
}

impl Lattice {
    /// Whether both lattices have the same points (within 2 pixels at the basis vectors).
    pub(crate) fn same_as(&self, other: &Lattice) -> bool {
        let area = cross(self.u, self.v).abs();
        (cross(other.u, other.v).abs() - area).abs() < 0.02 * area
            && [self.u, self.v].iter().all(|p| {
                [other.u, other.v].iter().any(|q| {
                    norm([p[0] - q[0], p[1] - q[1]]) < 2.0 || norm([p[0] + q[0], p[1] + q[1]]) < 2.0
                })
            })
    }

    /// The same lattice with both basis vectors times `factor`: from a pyramid level's samples
    /// to pixels, or back.
    pub(crate) fn scaled(&self, factor: f32) -> Lattice {
        Lattice {
            u: self.u.map(|c| c * factor),
            v: self.v.map(|c| c * factor),
            strength: self.strength,
        }
    }

    /// The square lattice of period `period` on the pixel axes (no geometric change).
    pub(crate) fn axis_aligned(period: f32) -> Lattice {
        Lattice {
            u: [period, 0.0],
            v: [0.0, period],
            strength: 0.0,
        }
    }
}

/// Which spectral lines [`autocorrelations`] zeroes before transforming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notch {
    /// None.
    Nothing,
    /// The frequency axes and the multiples of 1/8 cycle per pixel: purely horizontal or
    /// vertical structure (scan lines, resampling) and the 8x8 block grid of the last JPEG
    /// encoding, lines that are not ours. It also removes the tile's own lines that fall there
    /// (all of its axis lines when the tile is not rotated), so neither variant is always better.
    AxesAndBlockGrid,
}

/// Circular autocorrelations of the central window of `residual` (at most [`MAX_WINDOW`] per
/// side, zero-padded by at least [`LINEAR_LAGS`], see [`transform_len`]) after spectral
/// whitening, one per `notches` entry, normalised so that lag 0 is 1. Lag `(dx, dy)` is at `(dx mod w, dy mod h)`.
pub(crate) fn autocorrelations(residual: &Plane, notches: &[Notch]) -> Vec<Plane> {
    let (w, h) = (residual.width, residual.height);
    let win_w = w.min(MAX_WINDOW);
    let win_h = h.min(MAX_WINDOW);
    let (size_w, size_h) = (transform_len(win_w), transform_len(win_h));
    let (x0, y0) = ((w - win_w) / 2, (h - win_h) / 2);
    let mut buffer = vec![Complex32::default(); size_w * size_h];
    for y in 0..win_h {
        let src = &residual.data[(y0 + y) * w + x0..(y0 + y) * w + x0 + win_w];
        for (dst, &s) in buffer[y * size_w..y * size_w + win_w].iter_mut().zip(src) {
            *dst = Complex32::new(s, 0.0);
        }
    }
    Fft2::new(size_w, size_h, false).process(&mut buffer);
    let power: Vec<f32> = buffer.iter().map(|c| c.norm_sqr()).collect();
    drop(buffer);
    let whitened = whiten_spectrum(&power, size_w, size_h);
    drop(power);
    let inverse = Fft2::new(size_w, size_h, true);
    // Which frequency columns and rows lie off the block grid, worked out once per axis.
    let off_grid = |n: usize| -> Vec<bool> { (0..n).map(|f| !on_block_grid(f, n)).collect() };
    let (columns_kept, rows_kept) = (off_grid(size_w), off_grid(size_h));
    // The whitened spectrum is real and even, so each notch's autocorrelation is real: two
    // notches share one inverse transform, one as its real part and the other as its imaginary.
    // A spectrum value `p` as `notch` passes it (`kept`: off the axes and the block grid); no
    // notch (an odd one out's other half) passes nothing.
    let masked = |notch: Option<&Notch>, p: f32, kept: bool| match notch {
        Some(Notch::Nothing) => p,
        Some(Notch::AxesAndBlockGrid) if kept => p,
        Some(Notch::AxesAndBlockGrid) | None => 0.0,
    };
    let mut planes = Vec::with_capacity(notches.len());
    for pair in notches.chunks(2) {
        let mut buffer: Vec<Complex32> = Vec::with_capacity(whitened.len());
        for (row, &row_kept) in whitened.chunks_exact(size_w).zip(&rows_kept) {
            buffer.extend(row.iter().zip(&columns_kept).map(|(&p, &column_kept)| {
                let kept = row_kept && column_kept;
                Complex32::new(masked(pair.first(), p, kept), masked(pair.get(1), p, kept))
            }));
        }
        inverse.process(&mut buffer);
        let plane = |part: fn(&Complex32) -> f32| {
            let zero = part(&buffer[0]).max(f32::MIN_POSITIVE);
            Plane {
                width: size_w,
                height: size_h,
                data: buffer.iter().map(|c| part(c) / zero).collect(),
            }
        };
        planes.push(plane(|c| c.re));
        if pair.len() == 2 {
            planes.push(plane(|c| c.im));
        }
    }
    planes
}

/// The transform length for a window of `win` samples: the next power of two when that leaves
/// at least [`LINEAR_LAGS`] of zero padding, otherwise the shortest length of at least
/// `win + LINEAR_LAGS` that is a multiple of 8 (the block grid's harmonics then fall on whole
/// frequency indexes, see [`on_block_grid`]) and has no prime factor above 5 (which the FFT
/// handles about as fast as a power of two). Windows padded enough by the power of two keep
/// the transform the detector was calibrated with.
fn transform_len(win: usize) -> usize {
    let pow2 = win.next_power_of_two().max(2);
    if pow2 - win >= LINEAR_LAGS {
        return pow2;
    }
    let min = win + LINEAR_LAGS;
    let smooth = |mut n: usize| {
        for p in [2, 3, 5] {
            while n.is_multiple_of(p) {
                n /= p;
            }
        }
        n == 1
    };
    (min.div_ceil(8)..)
        .map(|k| 8 * k)
        .find(|&n| smooth(n))
        .unwrap_or(min.next_power_of_two())
}

/// Whether frequency index `f` of an axis of `n` samples lies within one bin of a multiple of
/// `n / 8` (the block grid's harmonics, 0 included).
fn on_block_grid(f: usize, n: usize) -> bool {
    let period = n / 8;
    period > 1 && {
        let r = f % period;
        r <= 1 || r >= period - 1
    }
}

/// Half-width of the frequency neighbourhood a spectral line is compared with.
const LINE_NEIGHBOURHOOD: usize = 4;

/// The power spectrum divided by its local mean: the tile's repetition puts its power on
/// isolated lines (the reciprocal lattice), the host image's is smooth, so this keeps the
/// lines and flattens the rest.
fn whiten_spectrum(power: &[f32], width: usize, height: usize) -> Vec<f32> {
    let local = box_mean_circular(power, width, height, LINE_NEIGHBOURHOOD);
    let mean = power.iter().sum::<f32>() / power.len().max(1) as f32;
    power
        .iter()
        .zip(&local)
        .map(|(&p, &m)| (p / (m + 1e-6 * mean + f32::MIN_POSITIVE)).min(50.0))
        .collect()
}

/// Mean over the (2 r + 1)^2 circular neighbourhood of each sample (separable). Each sum adds
/// its `2 r + 1` terms in neighbourhood order, left to right and top to bottom; the wrap is
/// resolved once per row (a padded copy) and once per output row (the source rows), not per
/// term.
fn box_mean_circular(data: &[f32], width: usize, height: usize, r: usize) -> Vec<f32> {
    let taps = (2 * r + 1) as f32;
    let mut rows = vec![0f32; data.len()];
    let mut padded = vec![0f32; width + 2 * r];
    for (row, out) in data
        .chunks_exact(width.max(1))
        .zip(rows.chunks_exact_mut(width.max(1)))
    {
        for (i, p) in padded.iter_mut().enumerate() {
            *p = row[(i + width * 2 - r) % width];
        }
        for (x, o) in out.iter_mut().enumerate() {
            *o = padded[x..=x + 2 * r].iter().sum::<f32>() / taps;
        }
    }
    let mut out = vec![0f32; data.len()];
    let mut sum = vec![0f32; width];
    for (y, out) in out.chunks_exact_mut(width.max(1)).enumerate() {
        // The same fold as `Iterator::sum`, term by term for the whole row at once.
        sum.fill(std::iter::empty::<f32>().sum());
        for k in 0..=2 * r {
            let sy = (y + height * 2 + k - r) % height;
            for (s, &v) in sum.iter_mut().zip(&rows[sy * width..(sy + 1) * width]) {
                *s += v;
            }
        }
        for (o, &s) in out.iter_mut().zip(&sum) {
            *o = s / taps;
        }
    }
    out
}

/// Bilinear sample of a circular plane at a real lag.
fn sample_circular(plane: &Plane, lag: Vector) -> f32 {
    let (w, h) = (plane.width as isize, plane.height as isize);
    let (fx, fy) = (lag[0].floor(), lag[1].floor());
    let (tx, ty) = (lag[0] - fx, lag[1] - fy);
    let at = |x: isize, y: isize| plane.data[(y.rem_euclid(h) * w + x.rem_euclid(w)) as usize];
    let (x, y) = (fx as isize, fy as isize);
    let top = at(x, y) * (1.0 - tx) + at(x + 1, y) * tx;
    let bottom = at(x, y + 1) * (1.0 - tx) + at(x + 1, y + 1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// The signed lag of index `i` in a circular axis of length `n`.
fn signed_lag(i: usize, n: usize) -> isize {
    if i > n / 2 {
        i as isize - n as isize
    } else {
        i as isize
    }
}

/// Local maxima of the autocorrelation in one half-plane (it is symmetric) with lags between
/// [`MIN_LAG`] and a third of the window, refined to sub-sample positions; strongest first.
/// Only values above `floor` are considered (most lags are noise; skipping them before looking
/// at their neighbours saves most of the scan).
fn peaks(acf: &Plane, max_lag: f32, floor: f32) -> Vec<(Vector, f32)> {
    let (w, h) = (acf.width, acf.height);
    let at = |x: isize, y: isize| {
        acf.data[(y.rem_euclid(h as isize) as usize) * w + x.rem_euclid(w as isize) as usize]
    };
    let mut found = Vec::new();
    let reach = max_lag.ceil() as isize;
    for dy in 0..=reach.min(h as isize / 2 - 1) {
        for dx in -reach.min(w as isize / 2 - 1)..=reach.min(w as isize / 2 - 1) {
            if dy == 0 && dx <= 0 {
                continue;
            }
            let c = at(dx, dy);
            if c <= floor {
                continue;
            }
            let length = ((dx * dx + dy * dy) as f32).sqrt();
            if !(MIN_LAG..=max_lag).contains(&length) {
                continue;
            }
            let is_max = (-1..=1)
                .all(|ey| (-1..=1).all(|ex| (ex == 0 && ey == 0) || at(dx + ex, dy + ey) < c));
            if !is_max {
                continue;
            }
            // Parabola through the neighbours on each axis.
            let refine = |minus: f32, plus: f32| {
                let curvature = minus - 2.0 * c + plus;
                if curvature < 0.0 {
                    (0.5 * (minus - plus) / curvature).clamp(-0.5, 0.5)
                } else {
                    0.0
                }
            };
            let ox = refine(at(dx - 1, dy), at(dx + 1, dy));
            let oy = refine(at(dx, dy - 1), at(dx, dy + 1));
            found.push(([dx as f32 + ox, dy as f32 + oy], c));
        }
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    found
}

fn cross(a: Vector, b: Vector) -> f32 {
    a[0] * b[1] - a[1] * b[0]
}

/// Length of a vector.
pub(crate) fn norm(a: Vector) -> f32 {
    (a[0] * a[0] + a[1] * a[1]).sqrt()
}

/// Lagrange (Gauss) reduction: the shortest basis of the lattice spanned by `u`, `v`.
fn reduce(mut u: Vector, mut v: Vector) -> (Vector, Vector) {
    for _ in 0..32 {
        if norm(u) > norm(v) {
            std::mem::swap(&mut u, &mut v);
        }
        let dot = u[0] * v[0] + u[1] * v[1];
        let m = (dot / (u[0] * u[0] + u[1] * u[1])).round();
        if m == 0.0 {
            break;
        }
        v = [v[0] - m * u[0], v[1] - m * u[1]];
    }
    (u, v)
}

/// Lattices whose basis cell area lies between `min_period²` and `max_period²`, strongest
/// first (at most `keep`). Candidates come from pairs of strong peaks, from single peaks
/// completed to a square, and from the index-2 supersets of the strongest. Each is refined by
/// least squares on the peaks it explains and scored by the autocorrelation summed over its
/// points within the window (a z-score); the ones kept are polished on that score.
pub(crate) fn find_lattices(
    acf: &Plane,
    min_period: f32,
    max_period: f32,
    keep: usize,
) -> Vec<Lattice> {
    let max_lag = (acf.width.min(acf.height) as f32 / 2.0 - 2.0).max(MIN_LAG);
    let noise = spread(acf, max_lag);
    // Peaks under twice the noise's spread cannot be lattice points the fit relies on.
    let all_peaks = peaks(acf, max_lag, 2.0 * noise);
    if all_peaks.len() < 2 {
        return Vec::new();
    }
    // On a whitened spectrum every lattice point peaks about equally high, so the strongest
    // peaks can all be far ones (spanning only a sublattice): take the shortest of the strong
    // peaks, and the very strongest besides.
    let strongest = all_peaks[0].1;
    let mut top: Vec<(Vector, f32)> = all_peaks
        .iter()
        .filter(|p| p.1 >= 0.25 * strongest)
        .copied()
        .collect();
    top.sort_by(|a, b| norm(a.0).total_cmp(&norm(b.0)));
    top.truncate(PEAKS);
    for p in all_peaks.iter().take(PEAKS / 3) {
        if !top.contains(p) {
            top.push(*p);
        }
    }
    let map = PeakMap::new(&all_peaks, max_lag);
    let mut lattices: Vec<Lattice> = Vec::new();
    // Many pairs span the same lattice; each is refined once.
    let mut tried: Vec<Lattice> = Vec::new();
    let mut pairs: Vec<(Vector, Vector)> = Vec::new();
    for (i, &(a, _)) in top.iter().enumerate() {
        pairs.extend(top[i + 1..].iter().map(|&(b, _)| (a, b)));
    }
    // The tile is square, and most attacks (rotation, scaling, cropping) keep it square: one
    // peak and its quarter turn span the lattice. After a rotation, a rescale and a JPEG
    // re-encoding, the new block grid's peaks outshine the tile's, and the tile's own basis
    // peaks can sit at 3 times the noise, below the strong ones the pairs are formed from;
    // a lattice summed over all its points still stands out.
    pairs.extend(
        all_peaks
            .iter()
            .filter(|p| (min_period..=max_period).contains(&norm(p.0)))
            .take(SQUARE_SEEDS)
            .map(|&(a, _)| (a, [-a[1], a[0]])),
    );
    for (a, b) in pairs {
        let area = cross(a, b).abs();
        if area < 0.3 * norm(a) * norm(b) {
            continue;
        }
        if !(min_period * min_period..=max_period * max_period).contains(&area) {
            continue;
        }
        let (u, v) = reduce(a, b);
        let reduced = Lattice {
            u,
            v,
            strength: 0.0,
        };
        if tried.iter().any(|t| t.same_as(&reduced)) {
            continue;
        }
        tried.push(reduced);
        let Some((u, v)) = refine(&map, u, v, max_lag) else {
            continue;
        };
        if norm(u).max(norm(v)) > MAX_BASIS * max_lag || norm(u).max(norm(v)) > 1.5 * max_period {
            continue;
        }
        let strength = lattice_strength(acf, u, v, max_lag) / noise;
        let lattice = Lattice { u, v, strength };
        keep_stronger(&mut lattices, lattice);
    }
    // Pairs of strong peaks can span only a sublattice of the tile's lattice: after a rescale
    // by 0.5 and a JPEG re-encoding, the basis peaks of the 64-pixel lattice sit on the new
    // block grid's lines and drown, while the diagonals stand out. The points between the
    // ones found then add to the score; try each lattice's three supersets of index 2.
    // Only the strongest few are worth it (supersets of weak lattices stay weak).
    lattices.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    lattices.truncate(4 * keep);
    let mut index = 0;
    while index < lattices.len() {
        let l = lattices[index];
        index += 1;
        let half = |p: Vector| [p[0] / 2.0, p[1] / 2.0];
        let diagonal = half([l.u[0] + l.v[0], l.u[1] + l.v[1]]);
        for (u, v) in [(half(l.u), l.v), (l.u, half(l.v)), (diagonal, l.v)] {
            let (u, v) = reduce(u, v);
            if cross(u, v).abs() < min_period * min_period {
                continue;
            }
            let strength = lattice_strength(acf, u, v, max_lag) / noise;
            if strength > l.strength {
                keep_stronger(&mut lattices, Lattice { u, v, strength });
            }
        }
    }
    // The score sums a lattice's points over the square root of their number. A sublattice
    // of index k of the true lattice (every second point, say) scores 1/sqrt(k) of it; so does
    // a lattice k times finer than the true one, its extra points being noise (the block
    // grid's lags between the tile's, after a rescale by 0.5). Of a lattice and a finer one
    // containing it, keep whichever scores higher: dropping the coarse one whenever the fine
    // one reached 0.6 of its score dropped the true 64-pixel lattice (112) for a 32-pixel one
    // (81).
    let coarse: Vec<bool> = lattices
        .iter()
        .map(|l| {
            lattices
                .iter()
                .any(|m| m.strength >= l.strength && is_sublattice(l, m))
        })
        .collect();
    let mut kept: Vec<Lattice> = lattices
        .iter()
        .zip(&coarse)
        .filter(|(_, c)| !**c)
        .map(|(l, _)| *l)
        .collect();
    kept.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    kept.truncate(keep);
    if kept.is_empty() {
        return kept;
    }
    let smooth = binomial_blur_circular(acf);
    kept.iter()
        .map(|l| polish(acf, &smooth, *l, max_lag, noise))
        .collect()
}

/// Steps of the period in [`square_lattices`]' scan, in samples: a basis off by half a step
/// misses the fifth lattice point by about a sample, the width of a peak.
const SCAN_STEP: f32 = 0.1;

/// The strongest square lattices on the sample axes, by a scan of the period from
/// `min_period` to `max_period` (at most `keep`, each a local maximum of the score over the
/// period, then polished like [`find_lattices`]' lattices). A photo site's downscale keeps
/// the tile square and on the axes; at a 720-pixel long side its cells are 1-2 samples wide
/// and its basis peaks can sit under the host image's and the block grid's, where the peak
/// pairs of [`find_lattices`] miss them, but the sum over all the lattice's points still
/// stands out.
pub(crate) fn square_lattices(
    acf: &Plane,
    min_period: f32,
    max_period: f32,
    keep: usize,
) -> Vec<Lattice> {
    let max_lag = (acf.width.min(acf.height) as f32 / 2.0 - 2.0).max(MIN_LAG);
    let max_period = max_period.min(MAX_BASIS * max_lag);
    if keep == 0 || min_period >= max_period {
        return Vec::new();
    }
    let noise = spread(acf, max_lag);
    let steps = ((max_period - min_period) / SCAN_STEP) as usize;
    let scores: Vec<f32> = (0..=steps)
        .map(|k| {
            let p = min_period + k as f32 * SCAN_STEP;
            lattice_strength(acf, [p, 0.0], [0.0, p], max_lag)
        })
        .collect();
    let mut maxima: Vec<(usize, f32)> = (1..scores.len().saturating_sub(1))
        .filter(|&k| scores[k] > scores[k - 1] && scores[k] >= scores[k + 1])
        .map(|k| (k, scores[k]))
        .collect();
    maxima.sort_by(|a, b| b.1.total_cmp(&a.1));
    maxima.truncate(keep);
    let smooth = binomial_blur_circular(acf);
    maxima
        .into_iter()
        .map(|(k, score)| {
            let p = min_period + k as f32 * SCAN_STEP;
            let lattice = Lattice {
                u: [p, 0.0],
                v: [0.0, p],
                strength: score / noise,
            };
            polish(acf, &smooth, lattice, max_lag, noise)
        })
        .collect()
}

/// Steps of the angle in [`rotated_square_lattices`]' scan, in radians times the period: a
/// basis off by half a step misses a point `r` samples out by `0.2 r / period` samples, a
/// quarter of a sample at the farthest point of the longest period scanned (`1 /
/// ROTATED_MAX_BASIS` periods out). Shorter periods, whose many points the peak pairs of
/// [`find_lattices`] find anyway, are scanned as coarsely: their far points only add to a
/// maximum that [`polish`] then sharpens.
const ANGLE_STEP: f32 = 0.4;
/// The longest period [`rotated_square_lattices`] scans, as a fraction of the longest lag:
/// more than [`MAX_BASIS`], because with the period known only the angle is free, so that
/// fewer points in the window still single the lattice out. A 30-degree fitted rotation of a
/// 1024 x 768 photo with 4-pixel cells keeps 766 x 441 pixels: its 256-pixel period is 0.64
/// of the longest lag at the photo's own scale, the only level where its content term
/// binds (13.7 there, 12.8 a level coarser).
const ROTATED_MAX_BASIS: f32 = 0.75;

/// The strongest square lattices of one of `periods` (in samples) at any angle, by a scan of
/// the angle over a quarter turn (at most `keep` over all the periods, each a local maximum of
/// the score over the angle, then polished like [`find_lattices`]' lattices). A crop or a
/// rotation at the photo's own scale keeps the tile's period, a whole number of cells, and can
/// leave fewer than three periods on the short side: too few strong peaks for the pairs of
/// [`find_lattices`], where the sum over the lattice's points at the known period still stands
/// out.
pub(crate) fn rotated_square_lattices(acf: &Plane, periods: &[f32], keep: usize) -> Vec<Lattice> {
    let max_lag = (acf.width.min(acf.height) as f32 / 2.0 - 2.0).max(MIN_LAG);
    let periods: Vec<f32> = periods
        .iter()
        .copied()
        .filter(|&period| period <= ROTATED_MAX_BASIS * max_lag)
        .collect();
    if keep == 0 || periods.is_empty() {
        return Vec::new();
    }
    let noise = spread(acf, max_lag);
    let mut maxima: Vec<Lattice> = Vec::new();
    for period in periods {
        let step = ANGLE_STEP / period;
        let basis = |k: usize| {
            let (sin, cos) = (k as f32 * step).sin_cos();
            ([period * cos, period * sin], [-period * sin, period * cos])
        };
        // A quarter turn maps a square lattice onto itself: the scan wraps around.
        let steps = (std::f32::consts::FRAC_PI_2 / step).ceil() as usize;
        let scores: Vec<f32> = (0..steps)
            .map(|k| {
                let (u, v) = basis(k);
                lattice_strength(acf, u, v, max_lag)
            })
            .collect();
        for (k, &score) in scores.iter().enumerate() {
            let before = scores[(k + steps - 1) % steps];
            let after = scores[(k + 1) % steps];
            if score > before && score >= after {
                let (u, v) = basis(k);
                let strength = score / noise;
                maxima.push(Lattice { u, v, strength });
            }
        }
    }
    maxima.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    maxima.truncate(keep);
    if maxima.is_empty() {
        return Vec::new();
    }
    let smooth = binomial_blur_circular(acf);
    maxima
        .into_iter()
        .map(|lattice| polish(acf, &smooth, lattice, max_lag, noise))
        .collect()
}

/// The circular plane filtered by the binomial kernel 1 4 6 4 1 / 16 both ways (about a
/// 1-sample Gaussian).
fn binomial_blur_circular(plane: &Plane) -> Plane {
    const TAPS: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let (w, h) = (plane.width, plane.height);
    let mut rows = vec![0f32; w * h];
    for (row, out) in plane
        .data
        .chunks_exact(w.max(1))
        .zip(rows.chunks_exact_mut(w.max(1)))
    {
        // The same products summed in the same order everywhere; only the first and last two
        // samples reach round the row's ends, the others read their five neighbours in place.
        let wrapped = |x: usize| -> f32 {
            TAPS.iter()
                .enumerate()
                .map(|(k, t)| t * row[(x + 2 * w + k - 2) % w])
                .sum()
        };
        if w < 5 {
            out.iter_mut()
                .enumerate()
                .for_each(|(x, o)| *o = wrapped(x));
            continue;
        }
        for x in [0, 1, w - 2, w - 1] {
            out[x] = wrapped(x);
        }
        for (o, window) in out[2..w - 2].iter_mut().zip(row.windows(5)) {
            *o = TAPS.iter().zip(window).map(|(t, v)| t * v).sum();
        }
    }
    let mut out = vec![0f32; w * h];
    for (y, out_row) in out.chunks_exact_mut(w.max(1)).enumerate() {
        for (k, t) in TAPS.iter().enumerate() {
            let src = &rows[((y + 2 * h + k - 2) % h) * w..][..w];
            out_row.iter_mut().zip(src).for_each(|(o, s)| *o += t * s);
        }
    }
    Plane {
        width: w,
        height: h,
        data: out,
    }
}

/// Coordinate ascent of the lattice's score over its basis (steps of 1, 1/2, 1/4, 1/8 sample).
/// The least-squares fit trusts every peak near a lattice point; a long period has few points
/// in the window and one off peak pulls the fit (after a rescale by 2, a 256-pixel lattice, by
/// more than a sample: enough to fold the tile out of phase).
fn polish(acf: &Plane, smooth: &Plane, lattice: Lattice, max_lag: f32, noise: f32) -> Lattice {
    let mut best = lattice;
    // The coarse steps climb the smoothed autocorrelation (wider peaks: a basis 2 samples off
    // still sees their slopes), the fine ones the autocorrelation itself.
    for (plane, step) in [(smooth, 1.0), (smooth, 0.5), (acf, 0.25), (acf, 0.125)] {
        best.strength = lattice_strength(plane, best.u, best.v, max_lag) / noise;
        for _ in 0..POLISH_ROUNDS {
            let mut improved = false;
            for coordinate in 0..4 {
                for sign in [-1.0, 1.0] {
                    let mut basis = [best.u[0], best.u[1], best.v[0], best.v[1]];
                    basis[coordinate] += sign * step;
                    let (u, v) = ([basis[0], basis[1]], [basis[2], basis[3]]);
                    let strength = lattice_strength(plane, u, v, max_lag) / noise;
                    if strength > best.strength {
                        best = Lattice { u, v, strength };
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    best
}

/// Adds `lattice` to `lattices`, or replaces the same lattice found before when this one
/// scores higher (a basis fitted better: a basis slightly off misses the far points).
fn keep_stronger(lattices: &mut Vec<Lattice>, lattice: Lattice) {
    match lattices.iter_mut().find(|l| l.same_as(&lattice)) {
        Some(same) if same.strength < lattice.strength => *same = lattice,
        Some(_) => {}
        None => lattices.push(lattice),
    }
}

/// Whether `fine` has a strictly smaller cell than `coarse` and spans its basis vectors with
/// (near-)integer coefficients.
fn is_sublattice(coarse: &Lattice, fine: &Lattice) -> bool {
    let det = cross(fine.u, fine.v);
    if cross(coarse.u, coarse.v).abs() < 1.5 * det.abs() {
        return false;
    }
    [coarse.u, coarse.v].iter().all(|p| {
        let i = cross(*p, fine.v) / det;
        let j = cross(fine.u, *p) / det;
        (i - i.round()).abs() < 0.05 && (j - j.round()).abs() < 0.05
    })
}

/// Robust spread of the autocorrelation over the searched lags (1.4826 x median |value|).
fn spread(acf: &Plane, max_lag: f32) -> f32 {
    let (w, h) = (acf.width, acf.height);
    let mut values = Vec::new();
    // Every 7th lag is plenty for a median (over 100 000 of a 1024 x 1024 window).
    for (i, &v) in acf.data.iter().enumerate().step_by(7) {
        let (dx, dy) = (signed_lag(i % w, w), signed_lag(i / w, h));
        let length = ((dx * dx + dy * dy) as f32).sqrt();
        if (MIN_LAG..=max_lag).contains(&length) {
            values.push(v.abs());
        }
    }
    if values.is_empty() {
        return f32::MAX;
    }
    let mid = values.len() / 2;
    let (_, median, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    (1.4826 * *median).max(1e-9)
}

/// The lattice points `i u + j v` (not 0) with lags inside the window.
fn lattice_points(u: Vector, v: Vector, max_lag: f32) -> impl Iterator<Item = ([i32; 2], Vector)> {
    let reach = (max_lag / norm(u).min(norm(v)).max(1.0)).ceil() as i32 + 1;
    (-reach..=reach).flat_map(move |i| {
        (-reach..=reach).filter_map(move |j| {
            let p = [
                i as f32 * u[0] + j as f32 * v[0],
                i as f32 * u[1] + j as f32 * v[1],
            ];
            let length = norm(p);
            ((i, j) != (0, 0) && length <= max_lag).then_some(([i, j], p))
        })
    })
}

/// The sum of the autocorrelation over the lattice's points over the square root of their
/// number: a z-score when the values are noise. A sublattice (fewer of the same points) and a
/// superlattice (the same points plus noise) both score lower than the lattice itself.
fn lattice_strength(acf: &Plane, u: Vector, v: Vector, max_lag: f32) -> f32 {
    let (sum, count) = lattice_points(u, v, max_lag)
        .map(|(_, p)| sample_circular(acf, p))
        .fold((0.0, 0usize), |(s, n), c| (s + c, n + 1));
    if count == 0 {
        0.0
    } else {
        sum / (count as f32).sqrt()
    }
}

/// The strong peaks (at least a tenth of the strongest; the 400 strongest at most), and their
/// mirror images, bucketed on a 4-sample grid over the searched lags for constant-time lookup.
struct PeakMap {
    peaks: Vec<(Vector, f32)>,
    /// First peak of each bucket (index + 1; 0 = empty), then a chain through `next`.
    heads: Vec<u32>,
    next: Vec<u32>,
    reach: i32,
    side: usize,
}

const BUCKET: i32 = 4;

impl PeakMap {
    fn new(peaks: &[(Vector, f32)], max_lag: f32) -> PeakMap {
        let reach = max_lag.ceil() as i32 + 2 * BUCKET;
        let side = (2 * reach / BUCKET + 1) as usize;
        let strongest = peaks.first().map_or(0.0, |p| p.1);
        let mut map = PeakMap {
            peaks: Vec::new(),
            heads: vec![0; side * side],
            next: Vec::new(),
            reach,
            side,
        };
        for &(p, c) in peaks.iter().take(400).filter(|p| p.1 >= 0.1 * strongest) {
            for q in [p, [-p[0], -p[1]]] {
                let Some(bucket) = map.bucket(q[0].round() as i32, q[1].round() as i32) else {
                    continue;
                };
                map.peaks.push((q, c));
                map.next.push(map.heads[bucket]);
                map.heads[bucket] = map.peaks.len() as u32;
            }
        }
        map
    }

    fn bucket(&self, x: i32, y: i32) -> Option<usize> {
        let (bx, by) = ((x + self.reach) / BUCKET, (y + self.reach) / BUCKET);
        let inside = |b: i32| {
            x.abs() <= self.reach && y.abs() <= self.reach && b >= 0 && (b as usize) < self.side
        };
        (inside(bx) && inside(by)).then(|| by as usize * self.side + bx as usize)
    }

    /// The strongest peak within 1.5 samples of `at`.
    fn near(&self, at: Vector) -> Option<Vector> {
        let (x, y) = (at[0].round() as i32, at[1].round() as i32);
        let mut best: Option<(Vector, f32)> = None;
        for dy in [-BUCKET, 0, BUCKET] {
            for dx in [-BUCKET, 0, BUCKET] {
                let Some(bucket) = self.bucket(x + dx, y + dy) else {
                    continue;
                };
                let mut link = self.heads[bucket];
                while link != 0 {
                    let (p, c) = self.peaks[link as usize - 1];
                    if norm([p[0] - at[0], p[1] - at[1]]) < 1.5 && best.is_none_or(|b| c > b.1) {
                        best = Some((p, c));
                    }
                    link = self.next[link as usize - 1];
                }
            }
        }
        best.map(|(p, _)| p)
    }
}

/// Least-squares basis from every strong peak within 1.5 samples of a lattice point (far points
/// fix the angle and scale best). `None` when fewer than two independent peaks fit.
fn refine(peaks: &PeakMap, u: Vector, v: Vector, max_lag: f32) -> Option<(Vector, Vector)> {
    // Normal equations of p = i u + j v, one 2x2 system shared by both coordinates.
    let (mut sii, mut sij, mut sjj) = (0f64, 0f64, 0f64);
    let (mut sip, mut sjp) = ([0f64; 2], [0f64; 2]);
    let mut used = 0;
    for ([i, j], predicted) in lattice_points(u, v, max_lag) {
        let Some(p) = peaks.near(predicted) else {
            continue;
        };
        let (i, j) = (f64::from(i), f64::from(j));
        sii += i * i;
        sij += i * j;
        sjj += j * j;
        for k in 0..2 {
            sip[k] += i * f64::from(p[k]);
            sjp[k] += j * f64::from(p[k]);
        }
        used += 1;
    }
    let det = sii * sjj - sij * sij;
    if used < 2 || det.abs() < 1e-9 {
        return None;
    }
    let solve = |k: usize| {
        (
            ((sjj * sip[k] - sij * sjp[k]) / det) as f32,
            ((sii * sjp[k] - sij * sip[k]) / det) as f32,
        )
    };
    let (ux, vx) = solve(0);
    let (uy, vy) = solve(1);
    Some(([ux, uy], [vx, vy]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;

    /// The autocorrelation with the axes and block grid notched.
    fn autocorrelation(residual: &Plane) -> Plane {
        autocorrelations(residual, &[Notch::AxesAndBlockGrid]).remove(0)
    }

    /// The box mean as defined, one wrapped index per term: the reference the faster
    /// [`box_mean_circular`] must equal to the bit.
    fn box_mean_by_definition(data: &[f32], width: usize, height: usize, r: usize) -> Vec<f32> {
        let taps = (2 * r + 1) as f32;
        let mut rows = vec![0f32; data.len()];
        for y in 0..height {
            let row = &data[y * width..(y + 1) * width];
            for x in 0..width {
                let sum: f32 = (0..=2 * r)
                    .map(|k| row[(x + width * 2 + k - r) % width])
                    .sum();
                rows[y * width + x] = sum / taps;
            }
        }
        let mut out = vec![0f32; data.len()];
        for y in 0..height {
            for x in 0..width {
                let sum: f32 = (0..=2 * r)
                    .map(|k| rows[((y + height * 2 + k - r) % height) * width + x])
                    .sum();
                out[y * width + x] = sum / taps;
            }
        }
        out
    }

    #[test]
    fn box_mean_equals_its_definition_to_the_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (w, h, r) in [(64, 32, 4), (9, 7, 4), (5, 3, 2), (1, 1, 0), (16, 16, 1)] {
            let data: Vec<f32> = (0..w * h)
                .map(|_| (rng.next_u32() >> 8) as f32 / 977.0)
                .collect();
            let fast = box_mean_circular(&data, w, h, r);
            let slow = box_mean_by_definition(&data, w, h, r);
            assert!(
                fast.iter()
                    .zip(&slow)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{w}x{h} r {r}"
            );
        }
    }
    /// The binomial blur as first written, one wrapped index per tap: the reference the
    /// row pass's in-place windows must equal to the bit (signed values, zeros and negative
    /// zeros among them, every width from 1 up, both ends wrapping).
    #[test]
    fn binomial_blur_equals_its_definition_to_the_bit() {
        const TAPS: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (w, h) in [
            (1, 1),
            (2, 3),
            (4, 4),
            (5, 2),
            (6, 1),
            (7, 9),
            (64, 48),
            (131, 5),
        ] {
            let data: Vec<f32> = (0..w * h)
                .map(|i| match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => (rng.next_u32() >> 8) as f32 / 977.0 - 8000.0,
                })
                .collect();
            let plane = Plane {
                width: w,
                height: h,
                data,
            };
            let mut rows = vec![0f32; w * h];
            for y in 0..h {
                let row = &plane.data[y * w..(y + 1) * w];
                for x in 0..w {
                    rows[y * w + x] = TAPS
                        .iter()
                        .enumerate()
                        .map(|(k, t)| t * row[(x + 2 * w + k - 2) % w])
                        .sum();
                }
            }
            let mut reference = vec![0f32; w * h];
            for (y, out_row) in reference.chunks_exact_mut(w).enumerate() {
                for (k, t) in TAPS.iter().enumerate() {
                    let src = &rows[((y + 2 * h + k - 2) % h) * w..][..w];
                    out_row.iter_mut().zip(src).for_each(|(o, s)| *o += t * s);
                }
            }
            let fast = binomial_blur_circular(&plane);
            assert!(
                fast.data
                    .iter()
                    .zip(&reference)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{w}x{h}"
            );
        }
    }

    use rand_chacha::rand_core::{Rng, SeedableRng};

    /// A random ±1 tile of `period` repeated over the plane, seen through the affine map
    /// `matrix` (pixel of the output -> pixel of the tiled plane), plus white noise.
    fn tiled(width: usize, height: usize, period: usize, matrix: [[f32; 2]; 2]) -> Plane {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let cells = period / 2;
        let tile: Vec<f32> = (0..cells * cells)
            .map(|_| if rng.next_u32() & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        Plane::from_fn(width, height, |x, y| {
            let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
            let tx = matrix[0][0] * x + matrix[0][1] * y + 17.3;
            let ty = matrix[1][0] * x + matrix[1][1] * y + 5.9;
            let cx = (tx.rem_euclid(period as f32) / 2.0) as usize % cells;
            let cy = (ty.rem_euclid(period as f32) / 2.0) as usize % cells;
            let noise = (rng.next_u32() as f32 / u32::MAX as f32 - 0.5) * 4.0;
            tile[cy * cells + cx] + noise
        })
    }

    /// A tile shrunk to 1.33 samples per cell (a 720-pixel upload of a 3-megapixel mark): the
    /// period scan finds its square lattice on the axes within half a sample per period.
    #[test]
    fn square_scan_finds_a_shrunk_tile() {
        let shrink = 1.5;
        let plane = tiled(720, 540, 128, [[shrink, 0.0], [0.0, shrink]]);
        let acf = autocorrelations(&plane, &[Notch::Nothing]).remove(0);
        let found = square_lattices(&acf, 45.0, 333.0, 3);
        assert!(!found.is_empty() && found.len() <= 3, "{found:?}");
        let period = 128.0 / shrink;
        assert!(
            found.iter().any(|l| {
                let (a, b) = (norm(l.u), norm(l.v));
                (a - period).abs() < 0.5
                    && (b - period).abs() < 0.5
                    && l.u[0].abs().min(l.u[1].abs()) < 0.5
                    && l.v[0].abs().min(l.v[1].abs()) < 0.5
            }),
            "{found:?}"
        );
    }

    /// A tile repeated three times down a 480-sample side (a 3-tile-high mark shrunk to a
    /// 720-pixel upload), slightly rotated: the autocorrelation still peaks on its lattice. The
    /// window was once padded only to the next power of two (512 here), and the circular wrap
    /// of the lags near the period, 32 samples short of a clean correlation, hid the peaks.
    #[test]
    fn three_tiles_across_a_side_just_under_a_power_of_two() {
        let (angle, period) = (5.0f32, 160.0f32);
        let scale = period / 128.0;
        let (s, c) = angle.to_radians().sin_cos();
        let forward = [[scale * c, -scale * s], [scale * s, scale * c]];
        let plane = tiled(720, 480, 128, inverse(forward));
        let acf = autocorrelations(&plane, &[Notch::AxesAndBlockGrid]).remove(0);
        let lattices = find_lattices(&acf, 45.0, 333.0, 3);
        assert!(
            lattices.iter().any(|l| {
                let found = cross(l.u, l.v).abs().sqrt();
                let found_angle = l.u[1].atan2(l.u[0]).to_degrees();
                (found / period - 1.0).abs() < 0.01
                    && ((found_angle - angle + 45.0).rem_euclid(90.0) - 45.0).abs() < 0.5
            }),
            "{lattices:?}"
        );
    }

    /// Tiles of 128 samples rotated at the image's own scale with 2.7, 2.9 and 3.3 periods on
    /// the short side (fitted rotations by 15, 45 and 33 degrees of a 3-tile-high mark), among
    /// three periods scanned: the angle scan finds each lattice within 0.5 % of its period and
    /// 0.5 degrees.
    #[test]
    fn angle_scan_finds_a_rotated_tile_at_its_period() {
        for (angle, width, height) in [(15.0f32, 700, 345), (45.0, 375, 375), (33.0, 600, 420)] {
            let (s, c) = angle.to_radians().sin_cos();
            let plane = tiled(width, height, 128, inverse([[c, -s], [s, c]]));
            let acf = autocorrelations(&plane, &[Notch::AxesAndBlockGrid]).remove(0);
            let lattices = rotated_square_lattices(&acf, &[96.0, 128.0, 160.0], 3);
            assert!(!lattices.is_empty() && lattices.len() <= 3, "{lattices:?}");
            assert!(
                lattices.iter().any(|l| {
                    let found = cross(l.u, l.v).abs().sqrt();
                    let found_angle = l.u[1].atan2(l.u[0]).to_degrees();
                    (found / 128.0 - 1.0).abs() < 0.005
                        && ((found_angle - angle + 45.0).rem_euclid(90.0) - 45.0).abs() < 0.5
                }),
                "{angle}: {lattices:?}"
            );
        }
    }

    /// Inverse of a 2x2 matrix.
    fn inverse(m: [[f32; 2]; 2]) -> [[f32; 2]; 2] {
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        [
            [m[1][1] / det, -m[0][1] / det],
            [-m[1][0] / det, m[0][0] / det],
        ]
    }

    /// After a synthetic rotation and scale, a lattice among the candidates gives back the
    /// angle within 0.1 degree and the scale within 0.5 % (the requirement). (Which
    /// candidate is right is settled later by the pilot cells; nearest-neighbour resampling
    /// here makes coarser sublattices peak too.)
    #[test]
    fn recovers_rotation_and_scale() {
        for (angle, scale) in [
            (0.0f32, 1.0f32),
            (5.0, 1.0),
            (30.0, 0.8),
            (17.0, 1.6),
            (45.0, 0.5),
        ] {
            let (s, c) = angle.to_radians().sin_cos();
            // Output pixel p = scale * R * t, so t = R^-1 p / scale.
            let forward = [[scale * c, -scale * s], [scale * s, scale * c]];
            let plane = tiled(700, 600, 128, inverse(forward));
            let lattices = find_lattices(&autocorrelation(&plane), 40.0, 300.0, 3);
            let errors: Vec<(f32, f32)> = lattices
                .iter()
                .map(|l| {
                    // The basis is the image of the tile's axes, up to the lattice's symmetries.
                    let found_scale = cross(l.u, l.v).abs().sqrt() / 128.0;
                    let found_angle = l.u[1].atan2(l.u[0]).to_degrees();
                    let angle_error = (found_angle - angle + 45.0).rem_euclid(90.0) - 45.0;
                    (found_scale / scale - 1.0, angle_error)
                })
                .collect();
            assert!(
                errors.iter().any(|(s, a)| s.abs() < 0.005 && a.abs() < 0.1),
                "angle {angle} scale {scale}: {errors:?}"
            );
        }
    }

    /// White noise has lattices only by chance: its best is far weaker than that of a tiled
    /// pattern under noise twice as strong as the pattern.
    #[test]
    fn noise_has_no_strong_lattice() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let noise = Plane::from_fn(512, 512, |_, _| rng.next_u32() as f32 / u32::MAX as f32);
        let strongest = |plane: &Plane| {
            find_lattices(&autocorrelation(plane), 40.0, 300.0, 1)
                .first()
                .map_or(0.0, |l| l.strength)
        };
        let by_chance = strongest(&noise);
        let tiled = strongest(&tiled(512, 512, 128, [[1.0, 0.0], [0.0, 1.0]]));
        assert!(by_chance * 3.0 < tiled, "noise {by_chance}, tiled {tiled}");
    }

    /// The unnotched autocorrelation.
    fn autocorrelation_unnotched(residual: &Plane) -> Plane {
        autocorrelations(residual, &[Notch::Nothing]).remove(0)
    }

    /// Two notches computed in one inverse transform (real and imaginary parts) give what each
    /// gives alone (a transform of its own, imaginary input zero), to rounding: on a tiled
    /// pattern in noise, at every lag, and both with the window's lag-0 normalisation.
    #[test]
    fn paired_notches_equal_each_notch_alone() {
        let plane = tiled(600, 450, 128, [[1.0, 0.0], [0.0, 1.0]]);
        let paired = autocorrelations(&plane, &[Notch::AxesAndBlockGrid, Notch::Nothing]);
        let alone = [autocorrelation(&plane), autocorrelation_unnotched(&plane)];
        for (pair, single) in paired.iter().zip(&alone) {
            assert_eq!((pair.width, pair.height), (single.width, single.height));
            assert_eq!(pair.data[0], 1.0);
            let worst = pair
                .data
                .iter()
                .zip(&single.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "largest difference {worst}");
        }
        // The notch changes the result: the pair is not one plane twice.
        let apart = paired[0]
            .data
            .iter()
            .zip(&paired[1].data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(apart > 1e-3, "{apart}");
    }

    /// Started 1.7 samples off a 256-pixel lattice (a rescale by 2), the polish ends within a
    /// quarter sample of it.
    #[test]
    fn polish_climbs_to_the_lattice() {
        let plane = tiled(1024, 1024, 128, [[0.5, 0.0], [0.0, 0.5]]);
        let acf = autocorrelation_unnotched(&plane);
        let max_lag = 510.0;
        let noise = spread(&acf, max_lag);
        let (u, v) = ([256.0, 1.7], [0.0, 257.6]);
        let start = Lattice {
            u,
            v,
            strength: lattice_strength(&acf, u, v, max_lag) / noise,
        };
        let polished = polish(&acf, &binomial_blur_circular(&acf), start, max_lag, noise);
        let error = [
            polished.u[0] - 256.0,
            polished.u[1],
            polished.v[0],
            polished.v[1] - 256.0,
        ];
        assert!(error.iter().all(|e| e.abs() <= 0.25), "{polished:?}");
        assert!(polished.strength > start.strength);
    }

    #[test]
    fn reduction_gives_the_shortest_basis() {
        let (u, v) = reduce([128.0, 0.0], [384.0, 128.0]);
        assert_eq!((norm(u), norm(v)), (128.0, 128.0));
    }
}
