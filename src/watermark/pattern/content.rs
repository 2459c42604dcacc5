//! The content term: a part of layer 2's pattern that follows the cover's own content, so that
//! the payload layer itself can tell the image a mark was made on from another image carrying
//! a lifted copy of it.
//!
//! `mark` writes each data cell of the pattern as `a t (1 + SHARE k g) / sqrt(1 + SHARE^2)`
//! instead of `a t`: the same energy, `t` the cell's keyed sign (a coded bit's), `k` a second
//! keyed sign per tile cell ([`content_keys`]; none on the pilot cells, which stay `a t`), `g`
//! the cover's content sign at that cell ([`cover_signs`]: the sign of a difference of
//! Gaussians a few cells wide, 0 where it is under a grey level, where the cell also stays
//! `a t`). Once layer 2 has read a payload and found the lattice, `verify` knows `t` and `k`,
//! measures `g'` on the image it is given, folds the whitened residual times `g'` into one
//! tile, and correlates each cell's sum `S` with `t k` ([`score`]). That is a unit-norm
//! weighted sum of the signs `t k`:
//!
//! - For an image whose pattern has no content term (an unmarked image, a mark made without
//!   it, or a transplant of one), `k` is a keyed sign independent of everything in the image,
//!   so `t k` are fair coins whatever `S` is, and the score has the distribution-free tail of
//!   layer 1's binding test (Bentkus and Dzindzalieta): at most `C Q(z)` per image.
//! - A genuine mark adds `SHARE a g g'` to each cell's term, positive wherever the attack
//!   left the content sign as it was; `t` and `k` drop out.
//! - A transplant of a mark with the term carries the source's `g` onto a host whose `g'` is
//!   its own: unrelated signs, but not fair coins. They agree or disagree over whole areas by
//!   chance, and where the host has no structure at the sign's scale the residual's faint copy
//!   of the source's band can decide `g'` (the dead zone leaves the faintest out). Its score
//!   grows with the pattern's amplitude, as a genuine mark's does. So a payload binds on the
//!   score together with the [`share`]: the part of the term the pattern carries, the
//!   agreement of `g` with `g'`, about 1 on the cover and a fraction on a transplant whatever
//!   the amplitude (up to about half onto a flat host, whose signs the residual gives), and
//!   under the first tier's score with the [`coverage`]. The tiers of thresholds
//!   (`extract::CONTENT_BINDING`) are set from measurements, not from the tail bound.
//!
//! Every mark carries it. The payload's decoder weights each sample as the pattern was made
//! (`1 + SHARE k g'`, a matched filter), which gathers most of the share of the energy the term
//! takes from the plain cell sums; what it does not gather, where `g'` is not the cover's `g`
//! or where the quantiser of a strong re-encode takes the weak cells (`1 - SHARE`), costs some
//! reads of small photos at a 720-pixel side (docs/watermark.md, "The content term on every
//! mark").

use super::tile::{CELLS, Layout};
use crate::watermark::key::{self, Key};
use crate::watermark::signal::{Plane, gaussian_blur};

/// The content term's share of a cell's amplitude, where `mark` uses it.
pub(crate) const SHARE: f32 = 0.5;

/// The difference of Gaussians whose sign `g` follows: its two sigmas, in cells. Coarse
/// against the cell, so that the high-pass residual a forger lifts holds little of that band
/// (a Gaussian blur's residual keeps about `sigma_blur^2 / (2 sigma^2)` of it).
const FINE: (f32, f32) = (4.0, 16.0);

/// Differences of Gaussians under this many grey levels give no sign: too weak to be the
/// image's own, a transplanted residual could decide them.
const DEAD_ZONE: f32 = 2.0;

/// The keyed sign `k` of each tile cell, independent of the pattern's own signs; 0 on the
/// pilot cells, which carry no term: the lattice search and the pilots' alignment see the
/// pattern as it was before the term.
pub(crate) fn content_keys(key: &Key) -> Vec<f32> {
    let mut keys = key::signs(&mut key.stream("payload content", b""), CELLS);
    for (k, &pilot) in keys.iter_mut().zip(&Layout::from_key(key).pilot) {
        if pilot != 0.0 {
            *k = 0.0;
        }
    }
    keys
}

/// The content sign of every sample of `plane`, whose cells are `cell` samples wide: +1 or -1
/// as the difference of Gaussians is positive or negative, 0 within the dead zone. The
/// difference is taken on the plane averaged over blocks of about a cell (whole samples, at
/// least 1), each sample given its block's sign.
pub(crate) fn content_signs(plane: &Plane, cell: f32) -> Vec<f32> {
    let block = (cell.floor() as usize).max(1);
    let means = block_means(plane, block);
    let per_block = cell / block as f32;
    let inner = gaussian_blur(&means, FINE.0 * per_block);
    let outer = gaussian_blur(&means, FINE.1 * per_block);
    let signs: Vec<f32> = inner
        .data
        .iter()
        .zip(&outer.data)
        .map(|(a, b)| {
            let d = a - b;
            if d.abs() < DEAD_ZONE { 0.0 } else { d.signum() }
        })
        .collect();
    if block == 1 {
        return signs;
    }
    let (w, h) = (plane.width, plane.height);
    (0..w * h)
        .map(|i| signs[i / w / block * means.width + i % w / block])
        .collect()
}

/// `plane` averaged over `block` x `block` squares from the top left (partial ones at the
/// right and bottom averaged over what they hold).
fn block_means(plane: &Plane, block: usize) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let (cols, rows) = (w.div_ceil(block), h.div_ceil(block));
    let mut sums = vec![0f32; cols * rows];
    let mut counts = vec![0u32; cols * rows];
    for (y, row) in plane.data.chunks_exact(w.max(1)).enumerate() {
        let base = y / block * cols;
        for (x, &v) in row.iter().enumerate() {
            sums[base + x / block] += v;
            counts[base + x / block] += 1;
        }
    }
    Plane {
        width: cols,
        height: rows,
        data: sums
            .iter()
            .zip(&counts)
            .map(|(&s, &n)| s / n.max(1) as f32)
            .collect(),
    }
}

/// The cover's content sign per cell of `cell` pixels, cells counted from the top left
/// (`mark`'s grid): [`content_signs`] of the cover averaged over each cell. Returns the number
/// of cell columns and the signs, row by row.
pub(crate) fn cover_signs(luma: &Plane, cell: usize) -> (usize, Vec<f32>) {
    let means = block_means(luma, cell);
    (means.width, content_signs(&means, 1.0))
}

/// The content term's score: the sums `S` of the residual times the content sign, one per
/// tile cell, correlated with the keyed signs `t k` of the same cell (`t` the cell's pattern
/// sign, `k` the [`content_keys`]) over the norm of `S` (0 when every sum is 0).
pub(crate) fn score(sums: &[f32], cells: &[f32], keys: &[f32]) -> f32 {
    let (mut dot, mut norm) = (0f64, 0f64);
    for ((&s, &t), &k) in sums.iter().zip(cells).zip(keys) {
        dot += f64::from(s * t * k);
        norm += f64::from(s) * f64::from(s);
    }
    if norm > 0.0 {
        (dot / norm.sqrt()) as f32
    } else {
        0.0
    }
}

/// The content term's share: the sums `S` of the residual times the content sign correlated
/// with `t k`, over the sums `W` of the residual where the image gives a sign correlated with
/// `t`, over [`SHARE`], on the cells that carry the term (`k` not 0); 0 when the pattern's own
/// part is not positive. A genuine mark's cell adds `a t (k + SHARE g) g'` to `S` and
/// `a t (1 + SHARE k g) |g'|` to `W`: the share is the pattern-weighted agreement of the
/// cover's signs `g` with the image's `g'`, near 1 after the attacks the mark survives. A
/// transplant's is the agreement of two pictures' signs, near 0, and neither the pattern's
/// amplitude nor a residual added twice moves it.
pub(crate) fn share(sums: &[f32], weights: &[f32], cells: &[f32], keys: &[f32]) -> f32 {
    let ratio = ratio_on_term_cells(
        keys,
        |i| sums[i] * cells[i] * keys[i],
        |i| weights[i] * cells[i],
    );
    (ratio / f64::from(SHARE)) as f32
}

/// The content term's coverage: the sums `W` of the residual where the image gives a content
/// sign correlated with `t`, over the plain sums `P` of the residual correlated with `t`, on
/// the cells that carry the term (`k` not 0); 0 when the pattern's part is not positive. It is
/// the part of the pattern's amplitude lying where the image has a content sign: most of it on
/// a photo, whose structure gives signs everywhere but in its flattest areas, and a small part
/// on a flat or blank host, where only a transplanted residual, amplified, pushes
/// a few differences of Gaussians out of the dead zone. A share near 1 measured over so few
/// samples says only that the residual agrees with itself.
pub(crate) fn coverage(weights: &[f32], plain: &[f32], cells: &[f32], keys: &[f32]) -> f32 {
    ratio_on_term_cells(keys, |i| weights[i] * cells[i], |i| plain[i] * cells[i]) as f32
}

/// The sum of `over(i)` over the sum of `under(i)`, both on the cells that carry the term
/// (`keys[i]` not 0); 0 when the second sum is not positive.
fn ratio_on_term_cells(
    keys: &[f32],
    over: impl Fn(usize) -> f32,
    under: impl Fn(usize) -> f32,
) -> f64 {
    let (mut top, mut bottom) = (0f64, 0f64);
    for (i, _) in keys.iter().enumerate().filter(|(_, k)| **k != 0.0) {
        top += f64::from(over(i));
        bottom += f64::from(under(i));
    }
    if bottom > 0.0 { top / bottom } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step edge: positive on its bright side, negative on its dark side, 0 far from it
    /// (flat), also through blocks of 2 samples; the keys are balanced signs that depend on
    /// the key.
    #[test]
    fn content_signs_follow_a_step_and_ignore_flat_areas() {
        let plane = Plane::from_fn(400, 40, |x, _| if x < 200 { 50.0 } else { 150.0 });
        for cell in [1.0, 2.0] {
            let signs = content_signs(&plane, cell);
            assert_eq!(signs.len(), 400 * 40);
            let at = |x: usize| signs[20 * 400 + x];
            assert_eq!(
                (at(205), at(195), at(2), at(398)),
                (1.0, -1.0, 0.0, 0.0),
                "{cell}"
            );
        }
        let flat = Plane::from_fn(64, 64, |_, _| 80.0);
        assert!(content_signs(&flat, 2.0).iter().all(|&s| s == 0.0));
        let keys = content_keys(&Key::from_secret(b"k").unwrap());
        assert_eq!(keys.len(), CELLS);
        let plus = keys.iter().filter(|&&k| k == 1.0).count();
        let n = keys.iter().filter(|&&k| k != 0.0).count();
        assert!((n * 45 / 100..n * 55 / 100).contains(&plus), "{plus}");
        assert_ne!(keys, content_keys(&Key::from_secret(b"k2").unwrap()));
    }

    /// The content keys are 0 on exactly the layout's pilot cells and a sign on the others.
    #[test]
    fn content_keys_leave_the_pilot_cells_out() {
        let key = Key::from_secret(b"k").unwrap();
        let layout = Layout::from_key(&key);
        for (k, p) in content_keys(&key).iter().zip(&layout.pilot) {
            assert_eq!(*k == 0.0, *p != 0.0);
            assert!(*k == 0.0 || k.abs() == 1.0);
        }
    }

    /// The cover's signs per cell are those of the cell means.
    #[test]
    fn cover_signs_are_per_cell() {
        let plane = Plane::from_fn(640, 32, |x, _| if x < 320 { 50.0 } else { 150.0 });
        let (cols, signs) = cover_signs(&plane, 4);
        assert_eq!((cols, signs.len()), (160, 160 * 8));
        assert_eq!(signs[4 * 160 + 81], 1.0);
        assert_eq!(signs[4 * 160 + 78], -1.0);
        assert_eq!(signs[4 * 160], 0.0);
    }

    /// The score is the normalised correlation: exact values on small vectors.
    #[test]
    fn score_is_a_normalised_correlation() {
        assert_eq!(score(&[3.0, 4.0], &[1.0, 1.0], &[1.0, 1.0]), 7.0 / 5.0);
        assert_eq!(score(&[3.0, 4.0], &[1.0, -1.0], &[1.0, 1.0]), -1.0 / 5.0);
        assert_eq!(score(&[0.0, 0.0], &[1.0, 1.0], &[1.0, 1.0]), 0.0);
    }

    /// The share on small vectors: the term's correlation over the pattern's, over `SHARE`,
    /// cells without a content key left out, 0 when the pattern's part is not positive.
    #[test]
    fn share_is_the_terms_part_of_the_pattern() {
        let cells = [1.0, -1.0, 1.0, 1.0];
        let keys = [1.0, 1.0, -1.0, 0.0];
        // term: 2*1*1 + (-1)(-1)(1) + (-1)(1)(-1) = 4; pattern: 4 + 4 + 4 = 12 (last cell out).
        let sums = [2.0, -1.0, -1.0, 50.0];
        let weights = [4.0, -4.0, 4.0, -90.0];
        let expected = 4.0 / 12.0 / SHARE;
        assert!((share(&sums, &weights, &cells, &keys) - expected).abs() < 1e-6);
        assert_eq!(share(&sums, &[-4.0, 4.0, -4.0, 0.0], &cells, &keys), 0.0);
    }

    /// The coverage is the signed part of the pattern over the whole of it, on the cells that
    /// carry the term.
    #[test]
    fn coverage_is_the_signed_part_of_the_pattern() {
        let cells = [1.0, -1.0, 1.0, 1.0];
        let keys = [1.0, -1.0, 1.0, 0.0];
        // signed: 1 + 2 + 0 = 3; all: 4 + 4 + 2 = 10 (last cell out).
        let weights = [1.0, -2.0, 0.0, 70.0];
        let plain = [4.0, -4.0, 2.0, -90.0];
        let got = coverage(&weights, &plain, &cells, &keys);
        assert!((got - 0.3).abs() < 1e-6, "{got}");
        assert_eq!(
            coverage(&weights, &[-4.0, 4.0, -2.0, 0.0], &cells, &keys),
            0.0
        );
    }
}
