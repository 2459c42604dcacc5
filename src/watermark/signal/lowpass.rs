//! Image kernels on f32 planes: separable Gaussian low-pass, gradient magnitude, and square
//! dilation of a mask. Borders replicate the edge sample, so a crop changes only what is near
//! the new edge.

use rayon::prelude::*;

use super::Plane;

/// Normalised Gaussian taps for `sigma`, radius `ceil(3 sigma)` (at least 1).
pub(crate) fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let mut taps: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps
}

/// Gaussian low-pass of `src` with standard deviation `sigma` pixels.
pub(crate) fn gaussian_blur(src: &Plane, sigma: f32) -> Plane {
    let mut out = Plane::new(src.width, src.height);
    gaussian_blur_into(src, sigma, &mut out);
    out
}

/// [`gaussian_blur`] into `out` (resized to `src`'s size), so that a loop blurring a plane
/// per pass reuses one buffer instead of faulting in a fresh full-resolution plane each time.
pub(crate) fn gaussian_blur_into(src: &Plane, sigma: f32, out: &mut Plane) {
    let (w, h) = (src.width, src.height);
    out.width = w;
    out.height = h;
    out.data.resize(w * h, 0.0);
    if w == 0 || h == 0 {
        return;
    }
    let taps = gaussian_kernel(sigma);
    let rows = |sy: usize| &src.data[sy * w..sy * w + w];
    out.data
        .par_chunks_mut(w)
        .enumerate()
        .for_each_init(Vec::new, |scratch, (y, row)| {
            blur_row(rows, h, y, &taps, scratch, row);
        });
}

/// [`gaussian_blur_into`] of a `width` x `height` plane that is never held whole: `fill(y, row)`
/// writes its row `y` (every sample: the row may hold another row's samples before). The rows
/// are made a band at a time (each band's rows plus those its vertical taps reach past either
/// end), so a plane computed from others (such as luma plus a change, clamped) costs a few rows
/// of memory instead of a full plane; the rows past a band's ends are made twice, a few per cent
/// of the work at camera sizes. The result is the same to the bit as blurring the whole plane.
pub(crate) fn gaussian_blur_rows_into(
    width: usize,
    height: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
    sigma: f32,
    out: &mut Plane,
) {
    out.width = width;
    out.height = height;
    out.data.resize(width * height, 0.0);
    blur_rows_banded(width, height, fill, sigma, &mut out.data, |row, _, blur| {
        blur(row)
    });
}

/// The banded blur behind [`gaussian_blur_rows_into`], for any output type: for each row of
/// `out` (`width` items per row), `emit(out_row, spare, blur)` is called with `blur`, which
/// writes that row of the blurred plane into the `width`-sample slice it is given (`out_row`
/// itself when the output is f32, or `spare`, a per-thread row buffer, to turn the blurred row
/// into something else, such as flags).
pub(crate) fn blur_rows_banded<T: Send>(
    width: usize,
    height: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
    sigma: f32,
    out: &mut [T],
    emit: impl Fn(&mut [T], &mut Vec<f32>, &mut dyn FnMut(&mut [f32])) + Sync,
) {
    /// Output rows per band.
    const BAND: usize = 128;
    let (w, h) = (width, height);
    if w == 0 || h == 0 {
        return;
    }
    let taps = gaussian_kernel(sigma);
    let radius = taps.len() / 2;
    out.par_chunks_mut(BAND * w).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(rows, scratch, spare), (band, out)| {
            let y0 = band * BAND;
            let y1 = y0 + out.len() / w;
            let (r0, r1) = (y0.saturating_sub(radius), (y1 + radius).min(h));
            // Not cleared: `fill` writes every sample of each row.
            rows.resize((r1 - r0) * w, 0.0);
            for (sy, row) in (r0..r1).zip(rows.chunks_exact_mut(w)) {
                fill(sy, row);
            }
            let rows: &[f32] = rows;
            let at = |sy: usize| &rows[(sy - r0) * w..(sy - r0 + 1) * w];
            for (y, row) in (y0..y1).zip(out.chunks_exact_mut(w)) {
                emit(row, spare, &mut |dst| {
                    blur_row(at, h, y, &taps, scratch, dst)
                });
            }
        },
    );
}

/// Output row `y` of the separable blur of an `h`-row plane whose row `sy` is `rows(sy)`:
/// the vertical sums of the input rows the taps reach, straight into the middle of `scratch`
/// (padded by the edge samples), then the horizontal sums into `out`. Per pixel these are the
/// sums of a vertical pass over the whole plane followed by a horizontal one, in the same
/// order, so the result is the same to the bit; but no intermediate plane is held, and the
/// row being filtered stays in cache.
pub(crate) fn blur_row<'a>(
    rows: impl Fn(usize) -> &'a [f32],
    h: usize,
    y: usize,
    taps: &[f32],
    scratch: &mut Vec<f32>,
    out: &mut [f32],
) {
    let w = out.len();
    blur_span(rows, h, y, (0, w), taps, scratch, out);
}

/// The columns of the input rows that [`blur_span`] reads for output columns `x0..x1` of a
/// `w`-sample-wide plane: those the horizontal taps reach, clamped to the plane.
pub(crate) fn span_reach(x0: usize, x1: usize, w: usize, radius: usize) -> (usize, usize) {
    (x0.saturating_sub(radius), (x1 + radius).min(w))
}

/// Output columns `x0..x0 + out.len()` of row `y` of [`blur_row`] on a plane `w` samples
/// wide, where `rows(sy)` gives only the columns [`span_reach`] names of input row `sy`. Each sample is the one [`blur_row`] makes of the whole row, to the bit: the same taps
/// over the same (clamped) samples in the same order. `mark`'s closed loop re-blurs only the
/// neighbourhoods of the pixels its last pass changed.
pub(crate) fn blur_span<'a>(
    rows: impl Fn(usize) -> &'a [f32],
    h: usize,
    y: usize,
    (x0, w): (usize, usize),
    taps: &[f32],
    scratch: &mut Vec<f32>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above, the one requirement of calling a
        // function compiled with that feature enabled.
        unsafe { blur_span_avx2(rows, h, y, (x0, w), taps, scratch, out) };
        return;
    }
    blur_span_body(rows, h, y, (x0, w), taps, scratch, out);
}

/// [`blur_span`] compiled for AVX2: the same loops, 8 lanes wide instead of SSE2's 4. Only the
/// width of the vector instructions changes: each sample still gets one multiply and one add per
/// tap, in tap order, each rounded to f32 (Rust never fuses them into an FMA), so the results
/// are the same to the bit. The blur is most of `mark`'s arithmetic at camera sizes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blur_span_avx2<'a>(
    rows: impl Fn(usize) -> &'a [f32],
    h: usize,
    y: usize,
    span: (usize, usize),
    taps: &[f32],
    scratch: &mut Vec<f32>,
    out: &mut [f32],
) {
    blur_span_body(rows, h, y, span, taps, scratch, out);
}

/// Samples per block of [`blur_span_body`]: its sums stay in registers (four AVX2 vectors)
/// across all the taps instead of going through memory once per tap.
const BLOCK: usize = 32;

/// The body of [`blur_span`], inlined into each instruction-set variant. Each output sample is
/// `((0 + t0 s0) + t1 s1) + ...` in tap order, vertically then horizontally, as in the
/// per-pixel definition; blocks of [`BLOCK`] samples only decide which sums are in flight at
/// once, not the order of any one sum.
#[inline(always)]
fn blur_span_body<'a>(
    rows: impl Fn(usize) -> &'a [f32],
    h: usize,
    y: usize,
    (x0, w): (usize, usize),
    taps: &[f32],
    scratch: &mut Vec<f32>,
    out: &mut [f32],
) {
    let n = out.len();
    let radius = taps.len() / 2;
    let (c0, c1) = span_reach(x0, x0 + n, w, radius);
    let reach = c1 - c0;
    // `scratch[i]` is the vertical sum of column `x0 + i - radius`, clamped to the plane: the
    // columns read are summed into `scratch[off..off + reach]`, the rest (past the plane's
    // edges) repeat the edge column's sum. Every sample is written before it is read: a row's
    // worth of zeroing per call is not needed.
    scratch.resize(n + 2 * radius, 0.0);
    let off = c0 + radius - x0;
    // The input row under each tap, looked up once per output row rather than once per block
    // and tap (the lookup's clamps and slice checks cost as much as the sums they fed).
    let sources: Vec<&[f32]> = (0..taps.len())
        .map(|k| &rows((y + k).saturating_sub(radius).min(h - 1))[..reach])
        .collect();
    let vertical = &mut scratch[off..off + reach];
    let blocks = reach / BLOCK * BLOCK;
    vertical[blocks..].fill(0.0);
    for (x, block) in (0..blocks)
        .step_by(BLOCK)
        .zip(vertical.chunks_exact_mut(BLOCK))
    {
        let mut sum = [0f32; BLOCK];
        for (&tap, source) in taps.iter().zip(&sources) {
            let src: &[f32; BLOCK] = source[x..x + BLOCK].try_into().expect("a whole block");
            for (o, &s) in sum.iter_mut().zip(src) {
                *o += tap * s;
            }
        }
        block.copy_from_slice(&sum);
    }
    // The last samples, short of a block, tap by tap over what is left of the row.
    for (&tap, source) in taps.iter().zip(&sources) {
        for (o, &s) in vertical[blocks..].iter_mut().zip(&source[blocks..reach]) {
            *o += tap * s;
        }
    }
    let (first, last) = (scratch[off], scratch[off + reach - 1]);
    scratch[..off].fill(first);
    scratch[off + reach..].fill(last);
    // The same along the row: as a dot product per pixel, but a block at a time.
    let blocks = n / BLOCK * BLOCK;
    for (x, block) in (0..blocks).step_by(BLOCK).zip(out.chunks_exact_mut(BLOCK)) {
        let mut sum = [0f32; BLOCK];
        let reach = &scratch[x..x + BLOCK + taps.len() - 1];
        for (k, &tap) in taps.iter().enumerate() {
            let src: &[f32; BLOCK] = reach[k..k + BLOCK].try_into().expect("a whole block");
            for (o, &s) in sum.iter_mut().zip(src) {
                *o += tap * s;
            }
        }
        block.copy_from_slice(&sum);
    }
    out[blocks..].fill(0.0);
    for (k, &tap) in taps.iter().enumerate() {
        for (o, &s) in out[blocks..].iter_mut().zip(&scratch[blocks + k..n + k]) {
            *o += tap * s;
        }
    }
}

/// |grad L| by central differences (one-sided at the borders): the definition [`gradient_row`]
/// makes a row of at a time.
#[cfg(test)]
pub(crate) fn gradient_magnitude(src: &Plane) -> Plane {
    let (w, h) = (src.width, src.height);
    let mut out = Plane::new(w, h);
    if w == 0 || h == 0 {
        return out;
    }
    out.data
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(y, row)| gradient_row(src, y, row));
    out
}

/// Row `y` of [`gradient_magnitude`] into `out` (`src.width` samples; `src` not empty).
pub(crate) fn gradient_row(src: &Plane, y: usize, out: &mut [f32]) {
    gradient_span(src, y, 0, out);
}

/// Columns `x0..x0 + out.len()` of row `y` of [`gradient_magnitude`] (`src` not empty). The
/// interior samples, whose neighbours on both sides exist, run in a loop without index clamps,
/// which vectorises; the plane's first and last samples take the one-sided differences. Each
/// sample's arithmetic is the same either way (central differences halved, one-sided ones not),
/// and the same whatever span it is made in.
pub(crate) fn gradient_span(src: &Plane, y: usize, x0: usize, out: &mut [f32]) {
    let (w, h) = (src.width, src.height);
    let x1 = x0 + out.len();
    let d = &src.data;
    let up = y.saturating_sub(1);
    let down = (y + 1).min(h - 1);
    let dy_scale = if down - up == 2 { 0.5 } else { 1.0 };
    let (row, above, below) = (
        &d[y * w..(y + 1) * w],
        &d[up * w..(up + 1) * w],
        &d[down * w..(down + 1) * w],
    );
    let at = |x: usize| {
        let left = x.saturating_sub(1);
        let right = (x + 1).min(w - 1);
        let dx_scale = if right - left == 2 { 0.5 } else { 1.0 };
        let gx = (row[right] - row[left]) * dx_scale;
        let gy = (below[x] - above[x]) * dy_scale;
        (gx * gx + gy * gy).sqrt()
    };
    // The interior columns of the span: neither the plane's first nor its last.
    let (i0, i1) = (x0.max(1), x1.min(w.saturating_sub(1)));
    if i0 >= i1 {
        for (x, o) in (x0..x1).zip(out.iter_mut()) {
            *o = at(x);
        }
        return;
    }
    for x in (x0..i0).chain(i1..x1) {
        out[x - x0] = at(x);
    }
    let interior = out[i0 - x0..i1 - x0]
        .iter_mut()
        .zip(row[i0 - 1..i1 - 1].iter().zip(&row[i0 + 1..i1 + 1]))
        .zip(above[i0..i1].iter().zip(&below[i0..i1]));
    for ((o, (&left, &right)), (&a, &b)) in interior {
        let gx = (right - left) * 0.5;
        let gy = (b - a) * dy_scale;
        *o = (gx * gx + gy * gy).sqrt();
    }
}

/// Grows the `true` pixels of `mask` by `radius` in every direction (a square structuring
/// element, in two separable passes of O(pixels)).
pub(crate) fn dilate(mask: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    if radius == 0 || width == 0 || height == 0 {
        return mask.to_vec();
    }
    // Horizontal pass: a running count of true samples in [x - radius, x + radius].
    let mut rows = vec![false; mask.len()];
    rows.par_chunks_mut(width)
        .zip(mask.par_chunks(width))
        .for_each(|(out, src)| {
            let mut count: usize = src[..(radius + 1).min(width)]
                .iter()
                .map(|&v| usize::from(v))
                .sum();
            for (x, o) in out.iter_mut().enumerate() {
                *o = count > 0;
                if x + radius + 1 < width {
                    count += usize::from(src[x + radius + 1]);
                }
                if x >= radius {
                    count -= usize::from(src[x - radius]);
                }
            }
        });
    // Vertical pass: the same running count per column, one row at a time (contiguous).
    let mut out = vec![false; mask.len()];
    let mut count = vec![0u32; width];
    let row = |y: usize| &rows[y * width..(y + 1) * width];
    for y in 0..(radius + 1).min(height) {
        count
            .iter_mut()
            .zip(row(y))
            .for_each(|(c, &v)| *c += u32::from(v));
    }
    for (y, out_row) in out.chunks_exact_mut(width).enumerate() {
        out_row
            .iter_mut()
            .zip(&count)
            .for_each(|(o, &c)| *o = c > 0);
        if y + radius + 1 < height {
            count
                .iter_mut()
                .zip(row(y + radius + 1))
                .for_each(|(c, &v)| *c += u32::from(v));
        }
        if y >= radius {
            count
                .iter_mut()
                .zip(row(y - radius))
                .for_each(|(c, &v)| *c -= u32::from(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        for sigma in [1.0, 1.5, 4.3] {
            let k = gaussian_kernel(sigma);
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for i in 0..k.len() / 2 {
                assert_eq!(k[i], k[k.len() - 1 - i]);
            }
            // Variance of the taps is sigma^2 (within truncation at 3 sigma).
            let r = (k.len() / 2) as f32;
            let var: f32 = k
                .iter()
                .enumerate()
                .map(|(i, t)| t * (i as f32 - r).powi(2))
                .sum();
            assert!(
                (var / (sigma * sigma) - 1.0).abs() < 0.03,
                "sigma {sigma}: {var}"
            );
        }
    }

    /// A constant stays constant, a linear ramp stays a ramp away from the borders, and the
    /// blur of an impulse is the 2-D kernel (separability).
    #[test]
    fn blur_preserves_constants_ramps_and_is_separable() {
        let c = Plane::from_fn(37, 23, |_, _| 42.5);
        assert!(
            gaussian_blur(&c, 1.7)
                .data
                .iter()
                .all(|v| (v - 42.5).abs() < 1e-3)
        );
        let ramp = Plane::from_fn(60, 40, |x, y| x as f32 * 0.7 + y as f32 * 0.2);
        let b = gaussian_blur(&ramp, 2.0);
        for y in 7..33 {
            for x in 7..53 {
                let v = b.data[y * 60 + x];
                assert!((v - (x as f32 * 0.7 + y as f32 * 0.2)).abs() < 1e-3);
            }
        }
        let mut impulse = Plane::new(21, 21);
        impulse.data[10 * 21 + 10] = 1.0;
        let k = gaussian_kernel(1.3);
        let r = k.len() / 2;
        let b = gaussian_blur(&impulse, 1.3);
        for y in 0..21 {
            for x in 0..21 {
                let (dx, dy) = (x as isize - 10 + r as isize, y as isize - 10 + r as isize);
                let expected =
                    if (0..k.len() as isize).contains(&dx) && (0..k.len() as isize).contains(&dy) {
                        k[dx as usize] * k[dy as usize]
                    } else {
                        0.0
                    };
                assert!((b.data[y * 21 + x] - expected).abs() < 1e-6);
            }
        }
    }

    /// The blur equals, bit for bit, the textbook per-pixel form (clamped borders, taps in
    /// order): marks made before the row-wise rewrite read back exactly as they did.
    #[test]
    fn blur_equals_the_per_pixel_sums_exactly() {
        // Widths under, at and past the block size, with a remainder.
        for (w, sigma) in [(53, 1.8), (5, 0.7), (32, 2.5), (97, 5.2), (160, 1.0)] {
            let h = 31;
            let src = Plane::from_fn(w, h, |x, y| ((x * 37 + y * 101) % 97) as f32 * 1.37 - 20.0);
            let taps = gaussian_kernel(sigma);
            let r = taps.len() as isize / 2;
            let at = |p: &Plane, x: isize, y: isize| {
                let (x, y) = (
                    x.clamp(0, w as isize - 1) as usize,
                    y.clamp(0, h as isize - 1) as usize,
                );
                p.data[y * w + x]
            };
            let mut vertical = Plane::new(w, h);
            for y in 0..h as isize {
                for x in 0..w as isize {
                    vertical.data[y as usize * w + x as usize] = taps
                        .iter()
                        .enumerate()
                        .fold(0.0, |s, (k, t)| s + t * at(&src, x, y + k as isize - r));
                }
            }
            let blurred = gaussian_blur(&src, sigma);
            for y in 0..h as isize {
                for x in 0..w as isize {
                    let expected: f32 = taps.iter().enumerate().fold(0.0, |s, (k, t)| {
                        s + t * at(&vertical, x + k as isize - r, y)
                    });
                    let got = blurred.data[y as usize * w + x as usize];
                    assert_eq!(got.to_bits(), expected.to_bits(), "{w} {sigma} {x} {y}");
                }
            }
        }
    }

    /// The banded blur of rows made on demand equals the blur of the whole plane, across band
    /// boundaries and the clamped image edges.
    #[test]
    fn blur_of_rows_made_on_demand_equals_the_whole_plane() {
        let src = Plane::from_fn(41, 300, |x, y| ((x * 37 + y * 101) % 97) as f32 * 1.37);
        for sigma in [0.7, 2.5, 6.0] {
            let mut banded = Plane::new(0, 0);
            gaussian_blur_rows_into(
                41,
                300,
                |y, row| row.copy_from_slice(&src.data[y * 41..(y + 1) * 41]),
                sigma,
                &mut banded,
            );
            assert_eq!(banded, gaussian_blur(&src, sigma), "sigma {sigma}");
        }
    }

    /// Every span of a row, blurred from only the input columns it reaches, is that part of
    /// the whole row's blur, to the bit: spans at both edges, inside, wider than the plane's
    /// reach, under and over a block.
    #[test]
    fn blur_of_a_span_equals_that_part_of_the_whole_row() {
        for (w, sigma) in [(100, 2.5), (7, 1.0), (130, 6.0)] {
            let h = 40;
            let src = Plane::from_fn(w, h, |x, y| ((x * 37 + y * 101) % 97) as f32 * 1.37);
            let taps = gaussian_kernel(sigma);
            let whole = gaussian_blur(&src, sigma);
            let mut scratch = Vec::new();
            for (x0, x1) in [
                (0, w),
                (0, 1),
                (w - 1, w),
                (w / 3, w / 2),
                (1, w - 1),
                (2, 2 + 33),
            ] {
                let x1 = x1.min(w);
                let (c0, c1) = span_reach(x0, x1, w, taps.len() / 2);
                let rows = |sy: usize| &src.data[sy * w + c0..sy * w + c1];
                for y in [0, 1, h / 2, h - 1] {
                    let mut out = vec![f32::NAN; x1 - x0];
                    blur_span(rows, h, y, (x0, w), &taps, &mut scratch, &mut out);
                    let expected = &whole.data[y * w + x0..y * w + x1];
                    let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&out), bits(expected), "{w} {sigma} {x0}..{x1} row {y}");
                }
            }
        }
    }

    /// Every span of a gradient row is that part of the whole row, to the bit.
    #[test]
    fn gradient_of_a_span_equals_that_part_of_the_whole_row() {
        for (w, h) in [(1, 2), (2, 3), (3, 1), (40, 9)] {
            let src = Plane::from_fn(w, h, |x, y| ((x * 37 + y * 101) % 97) as f32 * 1.37);
            for y in 0..h {
                let mut whole = vec![0.0; w];
                gradient_row(&src, y, &mut whole);
                for x0 in 0..w {
                    for x1 in x0 + 1..=w {
                        let mut out = vec![f32::NAN; x1 - x0];
                        gradient_span(&src, y, x0, &mut out);
                        assert_eq!(out, whole[x0..x1], "{w}x{h} row {y} {x0}..{x1}");
                    }
                }
            }
        }
    }

    /// The row-wise gradient equals the per-pixel definition to the bit, narrow planes included.
    #[test]
    fn gradient_equals_the_per_pixel_definition_exactly() {
        for (w, h) in [(1, 1), (2, 3), (3, 1), (17, 9)] {
            let src = Plane::from_fn(w, h, |x, y| ((x * 37 + y * 101) % 97) as f32 * 1.37);
            let g = gradient_magnitude(&src);
            let at = |x: usize, y: usize| src.data[y * w + x];
            for y in 0..h {
                for x in 0..w {
                    let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
                    let (u, d) = (y.saturating_sub(1), (y + 1).min(h - 1));
                    let gx = (at(r, y) - at(l, y)) * if r - l == 2 { 0.5 } else { 1.0 };
                    let gy = (at(x, d) - at(x, u)) * if d - u == 2 { 0.5 } else { 1.0 };
                    assert_eq!(
                        g.data[y * w + x],
                        (gx * gx + gy * gy).sqrt(),
                        "{w}x{h} ({x},{y})"
                    );
                }
            }
        }
    }

    #[test]
    fn gradient_of_a_ramp() {
        let ramp = Plane::from_fn(10, 8, |x, y| 3.0 * x as f32 + 4.0 * y as f32);
        let g = gradient_magnitude(&ramp);
        assert!(g.data.iter().all(|v| (v - 5.0).abs() < 1e-4));
    }

    #[test]
    fn dilation_is_a_square() {
        let (w, h) = (15, 11);
        let mut m = vec![false; w * h];
        m[5 * w + 7] = true;
        let d = dilate(&m, w, h, 2);
        for y in 0..h {
            for x in 0..w {
                let inside = (5..=9).contains(&x) && (3..=7).contains(&y);
                assert_eq!(d[y * w + x], inside, "({x},{y})");
            }
        }
        assert_eq!(dilate(&m, w, h, 0), m);
        assert!(dilate(&vec![false; w * h], w, h, 3).iter().all(|v| !v));
    }

    /// Against the definition (a true sample within Chebyshev distance `radius`) on random
    /// masks, with masks touching the edges and radii past the image size.
    #[test]
    fn dilation_matches_the_definition() {
        let mut state = 7u32;
        for (w, h, radius) in [(1, 1, 1), (9, 4, 1), (13, 17, 3), (6, 5, 9), (31, 2, 4)] {
            let mask: Vec<bool> = (0..w * h)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    state >> 28 == 0
                })
                .collect();
            let d = dilate(&mask, w, h, radius);
            for y in 0..h {
                for x in 0..w {
                    let expected = (0..h).any(|sy| {
                        (0..w).any(|sx| {
                            mask[sy * w + sx]
                                && sx.abs_diff(x) <= radius
                                && sy.abs_diff(y) <= radius
                        })
                    });
                    assert_eq!(d[y * w + x], expected, "{w}x{h} r{radius} ({x},{y})");
                }
            }
        }
    }
}
