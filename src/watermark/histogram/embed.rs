//! Closed-loop embedding of the histogram layer: per-group monotone remaps of the low-pass
//! luma, re-measured after every pass because the low-pass is not idempotent (a change made to
//! `L` is blurred again when the detector re-filters).

use super::analysis::{pack_bits, smooth_pixels_into, valid_mask_of_rows};
use super::carrier::{FineHistogram, Grid, Tone, group_counts};
use super::changed::{Changed, reblur, remeasure_smooth};
use super::coarse;
use super::lookup::{BinGroups, NOT_PUSHED, SPLIT, WordBins};
use crate::watermark::signal::lowpass::gaussian_blur_rows_into;
use crate::watermark::signal::{Plane, gaussian_kernel};

/// How hard to push. The defaults aim each group's neighbouring-bin ratios at 2.5 in a dozen
/// passes at most, within a PSNR floor of 44 dB.
#[derive(Debug, Clone, Copy)]
pub struct EmbedSettings {
    /// Neighbouring-bin count ratio the remap aims for.
    pub target_ratio: f32,
    /// A group whose two ratios both reach this is left alone.
    pub satisfied_ratio: f32,
    /// Multiplier on each pass's remap (overshoot compensates the re-blur).
    pub gain: f32,
    /// Largest total change of one luma sample, in grey levels.
    pub cap: f32,
    /// Half-width of the emptied valley around each bin edge inside a group, in grey levels.
    pub guard: f32,
    /// Most closed-loop passes (remap, re-measure).
    pub max_passes: usize,
    /// Stop before the luma PSNR of the change falls below this (dB).
    pub min_psnr: f32,
    /// Groups with fewer counted pixels are empty: not worth pushing.
    pub min_group_pixels: f64,
    /// Steepest slope (and, inverted, the flattest) each pass's tone map may have: the map is
    /// blended towards the identity until it holds (see `Remap::strength`).
    pub max_slope: f32,
    /// Largest cover, in pixels, the closed loop runs on as it is: a larger one is shaped
    /// shrunk by the smallest whole factor that brings it under this, and the change brought
    /// back to full size (see `docs/watermark.md`, "Layer 1 shaped on a shrunk cover").
    pub full_size_pixels: usize,
    /// Of `max_passes`, how many run at full size after a shrunk cover's passes, from the
    /// change they made: they finish the shape where the enlarged change missed it.
    pub finishing_passes: usize,
}

impl Default for EmbedSettings {
    /// Gain 1 with no guard valley: a larger gain overshoots and makes groups oscillate, and
    /// a valley costs PSNR without raising the score. Passes beyond 12 barely change the score
    /// and cost time. The figures behind these are in `docs/watermark.md`.
    fn default() -> Self {
        EmbedSettings {
            target_ratio: 2.5,
            satisfied_ratio: 2.25,
            gain: 1.0,
            cap: 5.0,
            guard: 0.0,
            max_passes: 12,
            min_psnr: 44.0,
            min_group_pixels: 100.0,
            max_slope: MAX_SLOPE,
            full_size_pixels: FULL_SIZE_PIXELS,
            finishing_passes: 2,
        }
    }
}

/// The default [`EmbedSettings::full_size_pixels`]. The detector's low-pass widens with the
/// image ([`analysis::sigma_for`](super::analysis::sigma_for)), so a cover shrunk k times has
/// the same low-pass tones, in the same places, at a k times narrower blur: the histogram the
/// loop shapes there is the one measured at full size, for a k² fraction of the work. With
/// this limit a shrunk cover keeps at least 1 MP (a 4.1 MP photo shrinks by 2 to 1.02 MP, a
/// 12 MP one to 3 MP, a 24 MP one by 3 to 2.7 MP): no less than a 1080-1600 pixel upload, the
/// size the detector most often reads. The figures are in `docs/watermark.md`.
pub const FULL_SIZE_PIXELS: usize = 4_000_000;

/// The default [`EmbedSettings::max_slope`]. A tone map's slope multiplies the variations of
/// the low-pass luma it remaps: where a group's values crowd into a plateau (one grey level of
/// a smooth gradient, the brightest spot of a vignette), the full map sends that sliver of tones
/// across a whole bin, a slope of 10 or more, and the plateau's faint noise (the pattern's
/// residue, JPEG's rounding) comes out as blotches of several grey levels with sharp edges;
/// along a smooth gradient the changes of slope between segments draw contour rings. Capped at
/// 1.5 (and 1 / 1.5), one pass changes a gradient's local slope by at most half, the
/// closed loop still reaches most groups' ratios over its passes, and a plateau, whose map
/// would be steepest, is barely moved. The figures are in `docs/watermark.md`.
pub const MAX_SLOPE: f32 = 1.5;

/// What the embedding did to each group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    /// Too few smooth pixels in its range.
    Empty,
    /// Both ratios reached.
    Satisfied,
    /// Stopped responding; left as it was.
    GivenUp,
    /// Still short when the passes (or the PSNR budget) ran out.
    Short,
}

pub(crate) struct EmbedOutcome {
    /// Change per luma sample, in grey levels.
    pub(crate) delta: Vec<f32>,
    pub(crate) passes: usize,
    pub(crate) groups: Vec<GroupState>,
    /// Luma PSNR of `delta` alone (before rounding and encoding), dB.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) psnr: f32,
}

/// Target share of a group's three bins for its two bits (+1: left bin fuller).
fn profile(bits: [f32; 2], ratio: f32) -> [f32; 3] {
    let t = ratio;
    let p = match (bits[0] > 0.0, bits[1] > 0.0) {
        (true, true) => [t * t, t, 1.0],
        (false, false) => [1.0, t, t * t],
        (true, false) => [t, 1.0, t],
        (false, true) => [1.0, t, 1.0],
    };
    let sum: f32 = p.iter().sum();
    p.map(|v| v / sum)
}

/// How far a group is from both ratios (in ln units; <= 0 means satisfied).
fn deficit(counts: &[f64; 3], bits: [f32; 2], ratio: f32) -> f32 {
    (0..2)
        .map(|j| {
            let r = ((counts[j] + 1.0) / (counts[j + 1] + 1.0)).ln() as f32;
            ratio.ln() - bits[j] * r
        })
        .fold(f32::MIN, f32::max)
}

/// The value `q` in `[lo, hi]` below which `share` of the group's values lie.
fn quantile(hist: &FineHistogram, lo: f32, hi: f32, share: f64) -> f32 {
    let base = hist.below(lo);
    let total = hist.below(hi) - base;
    let wanted = base + share * total;
    let (mut a, mut b) = (lo, hi);
    for _ in 0..24 {
        let mid = 0.5 * (a + b);
        if hist.below(mid) < wanted {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
}

/// A monotone piecewise-linear map of one group's range onto itself.
#[derive(Debug, Clone, Copy)]
struct Remap {
    from: [f32; 4],
    to_low: [f32; 3],
    to_high: [f32; 3],
}

impl Remap {
    /// How much of this map to apply, in (0, 1], so that `v + strength (apply(v) - v)` has
    /// slopes within `[1 / max_slope, max_slope]`: the blend of a segment of slope `k` with
    /// the identity has slope `1 + strength (k - 1)`. A segment whose source range is (nearly)
    /// a point would have an infinite slope: its group is then left alone (strength 0).
    fn strength(&self, max_slope: f32) -> f32 {
        (0..3)
            .map(|s| {
                let (a, b) = (self.from[s], self.from[s + 1]);
                let rise = self.to_high[s] - self.to_low[s];
                if b - a <= 1e-6 {
                    return if rise.abs() <= 1e-6 { 1.0 } else { 0.0 };
                }
                let k = rise / (b - a);
                if k > max_slope {
                    (max_slope - 1.0) / (k - 1.0)
                } else if k < 1.0 / max_slope {
                    (1.0 - 1.0 / max_slope) / (1.0 - k)
                } else {
                    1.0
                }
            })
            .fold(1.0f32, f32::min)
            .max(0.0)
    }

    fn apply(&self, v: f32) -> f32 {
        let s = if v < self.from[1] {
            0
        } else if v < self.from[2] {
            1
        } else {
            2
        };
        let (a, b) = (self.from[s], self.from[s + 1]);
        let t = if b - a > 1e-6 { (v - a) / (b - a) } else { 0.5 };
        self.to_low[s] + t.clamp(0.0, 1.0) * (self.to_high[s] - self.to_low[s])
    }
}

fn remap_for(
    hist: &FineHistogram,
    grid: &Grid,
    group: usize,
    bits: [f32; 2],
    s: &EmbedSettings,
) -> Remap {
    let e: [f32; 4] = std::array::from_fn(|k| grid.edge(3 * group + k));
    let p = profile(bits, s.target_ratio);
    let q1 = quantile(hist, e[0], e[3], f64::from(p[0]));
    let q2 = quantile(hist, e[0], e[3], f64::from(p[0] + p[1]));
    let g = s.guard.min(grid.width / 4.0);
    Remap {
        from: [e[0], q1, q2.max(q1), e[3]],
        to_low: [e[0], e[1] + g, e[2] + g],
        to_high: [e[1] - g, e[2] - g, e[3]],
    }
}

/// Embeds `codeword` (2 signs per group) into `luma`; returns the change to add.
#[cfg(test)]
pub(crate) fn embed(
    luma: &Plane,
    grid: &Grid,
    codeword: &[f32],
    s: &EmbedSettings,
) -> EmbedOutcome {
    let w = luma.width;
    let cover = |y: usize, x0: usize, row: &mut [f32]| {
        row.copy_from_slice(&luma.data[y * w + x0..][..row.len()])
    };
    embed_over(w, luma.height, &cover, grid, codeword, s, &mut |_| {})
}

/// Embeds `codeword` (2 signs per group) into a `width` x `height` cover given by rows:
/// `cover(y, x0, row)` writes columns `x0..x0 + row.len()` of row `y` (`mark`'s is luma plus
/// the pattern); returns the change to add. The cover is made row by row where it is needed
/// rather than held as a plane of its own: at camera sizes each plane is hundreds of
/// megabytes. `on_pass` hears the number of each pass as it ends (for a progress bar).
///
/// Each pass blurs the marked luma and measures which pixels are smooth; from the third pass
/// on only around the pixels the last pass changed ([`changed`](super::changed)), which gives
/// the same planes, to the bit, as remaking them whole. A cover of more than
/// [`EmbedSettings::full_size_pixels`] is shaped shrunk, block means of k x k pixels, its
/// change enlarged back by bilinear interpolation ([`coarse`]), and the last
/// [`EmbedSettings::finishing_passes`] passes run at full size from there: all passes but those
/// then cost a k² fraction of theirs at full size.
pub(crate) fn embed_over(
    width: usize,
    height: usize,
    cover: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    grid: &Grid,
    codeword: &[f32],
    s: &EmbedSettings,
    on_pass: &mut dyn FnMut(usize),
) -> EmbedOutcome {
    let k = coarse::factor(width, height, s.full_size_pixels);
    let aim = Aim {
        grid,
        codeword,
        settings: s,
    };
    if k == 1 {
        return close_loop((width, height), cover, aim, None, s.max_passes, on_pass);
    }
    let small = coarse::shrink(width, height, cover, k);
    let sw = small.width;
    let small_cover = |y: usize, x0: usize, row: &mut [f32]| {
        row.copy_from_slice(&small.data[y * sw + x0..][..row.len()])
    };
    let finishing = s.finishing_passes.min(s.max_passes);
    let shaped = close_loop(
        (sw, small.height),
        &small_cover,
        aim,
        None,
        s.max_passes - finishing,
        on_pass,
    );
    let change = Plane {
        width: sw,
        height: small.height,
        data: shaped.delta,
    };
    drop(small);
    let delta = coarse::enlarge(&change, width, height, k);
    drop(change);
    if finishing == 0 {
        return EmbedOutcome {
            psnr: psnr_of(&delta),
            delta,
            ..shaped
        };
    }
    let finished = close_loop(
        (width, height),
        cover,
        aim,
        Some(delta),
        finishing,
        &mut |pass| on_pass(shaped.passes + pass),
    );
    EmbedOutcome {
        passes: shaped.passes + finished.passes,
        // No finishing pass ran: the PSNR floor stopped it at once.
        groups: if finished.passes == 0 {
            shaped.groups
        } else {
            finished.groups
        },
        ..finished
    }
}

/// What the closed loop shapes a histogram to: the grid, the codeword on it, and how hard to push.
#[derive(Clone, Copy)]
struct Aim<'a> {
    grid: &'a Grid,
    codeword: &'a [f32],
    settings: &'a EmbedSettings,
}

/// The closed loop of [`embed_over`] on a `width` x `height` cover as given, from the change
/// `start` (none: from no change), for at most `max_passes` passes.
fn close_loop(
    (width, height): (usize, usize),
    cover: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    aim: Aim<'_>,
    start: Option<Vec<f32>>,
    max_passes: usize,
    on_pass: &mut dyn FnMut(usize),
) -> EmbedOutcome {
    let Aim {
        grid,
        codeword,
        settings: s,
    } = aim;
    let (w, h) = (width, height);
    let n = w * h;
    let (valid, sigma, _) = valid_mask_of_rows(w, h, |y, row| cover(y, 0, row));
    // A bit per pixel through the loop rather than a byte.
    let valid = pack_bits(&valid);
    // The byte masks it took to make are let go for good before the loop's planes arrive.
    crate::watermark::trim::release_freed_memory();
    let taps = gaussian_kernel(sigma);
    let radius = taps.len() / 2;
    let from_nothing = start.is_none();
    let mut delta = start.unwrap_or_else(|| vec![0f32; n]);
    let mut states = vec![GroupState::Short; grid.groups];
    let mut history: Vec<Vec<f32>> = vec![Vec::new(); grid.groups];
    let bits = |g: usize| [codeword[2 * g], codeword[2 * g + 1]];
    let mse_limit = 255.0f64 * 255.0 / 10f64.powf(f64::from(s.min_psnr) / 10.0);
    let mut passes = 0;
    // Buffers every pass refills, allocated once: at camera sizes a fresh plane per pass
    // costs more in page faults than the arithmetic that fills it.
    let mut low = Plane::new(0, 0);
    let mut smooth = Vec::new();
    let mut moved: Vec<u64> = Vec::new();
    // The pixels whose change the last pass moved: all of them before the first pass, and
    // before the second when the first blurred the cover as it is (unclamped) rather than a
    // clamped sum.
    let mut changed = Changed::all(w, h);
    let bin_groups = BinGroups::new(grid);
    for pass in 0..max_passes {
        // The marked luma, cover plus change, clamped, made row by row as the blur needs it;
        // before the first change the cover as it is (unclamped: luma plus the pattern).
        let unchanged = from_nothing && passes == 0;
        let marked_row = |y: usize, x0: usize, row: &mut [f32]| {
            cover(y, x0, row);
            if !unchanged {
                for (m, &d) in row.iter_mut().zip(&delta[y * w + x0..]) {
                    *m = (*m + d).clamp(0.0, 255.0);
                }
            }
        };
        if pass == 0 || (pass == 1 && from_nothing) {
            gaussian_blur_rows_into(w, h, |y, row| marked_row(y, 0, row), sigma, &mut low);
            smooth_pixels_into(&low, sigma, &valid, &mut smooth);
        } else {
            reblur(&mut low, marked_row, &taps, &changed.within(radius));
            // A smooth bit depends on the low-pass within the activity's blur and the
            // gradient's one pixel: on the marked luma within twice the radius plus one.
            let rects = changed.within(2 * radius + 1);
            remeasure_smooth(&low, sigma, &taps, &valid, &mut smooth, &rects);
        }
        // The histogram of the smooth pixels' low-pass: counted whole (adding ones in f64, as
        // `FineHistogram::new` does, gives the same whole numbers), a word of the mask at a
        // time; the last count is of the values outside the histogram, left out.
        let mut counts = vec![0u32; FineHistogram::BINS + 1];
        for (&word, values) in smooth.iter().zip(low.data.chunks(64)) {
            for (_, bin) in WordBins::new(word, values) {
                counts[bin] += 1;
            }
        }
        counts.pop();
        let hist = FineHistogram::from_counts(counts.into_iter().map(f64::from));
        let counts = group_counts(&hist, grid, Tone::IDENTITY);
        let mut remaps: Vec<Option<(Remap, f32)>> = vec![None; grid.groups];
        for g in 0..grid.groups {
            if states[g] == GroupState::GivenUp {
                continue;
            }
            let total: f64 = counts[g].iter().sum();
            if total < s.min_group_pixels {
                states[g] = GroupState::Empty;
                continue;
            }
            let d = deficit(&counts[g], bits(g), s.satisfied_ratio);
            history[g].push(d);
            if d <= 0.0 {
                states[g] = GroupState::Satisfied;
                continue;
            }
            states[g] = GroupState::Short;
            let h = &history[g];
            if h.len() >= 4 && h[h.len() - 1] > 0.95 * h[h.len() - 4] {
                states[g] = GroupState::GivenUp;
                continue;
            }
            let remap = remap_for(&hist, grid, g, bits(g), s);
            remaps[g] = Some((remap, remap.strength(s.max_slope)));
        }
        if remaps.iter().all(Option::is_none) {
            break;
        }
        // The group of a smooth pixel whose low-pass value `v` lies in a group being pushed,
        // from its fine bin ([`lookup`](super::lookup)): `None` for every other pixel, which
        // keeps its change.
        let table = bin_groups.pushed(|g| remaps[g].is_some());
        let pushed_group = |bin: usize, v: f32| -> Option<usize> {
            match table[bin] {
                NOT_PUSHED => None,
                SPLIT => grid
                    .locate(v)
                    .map(|(g, _)| g)
                    .filter(|&g| remaps[g].is_some()),
                g => Some(usize::from(g)),
            }
        };
        // The next change of a pixel of a pushed group `g`, its change `d` and low-pass `v`.
        let next = |g: usize, d: f32, v: f32| -> f32 {
            let (remap, strength) = remaps[g].as_ref().expect("a pushed group");
            let change = s.gain * strength * (remap.apply(v) - v);
            (d + change).clamp(-s.cap, s.cap)
        };
        // The next change, computed once per smooth pixel. Where it moves the change (to the
        // bit), it goes into `delta` at once and the former change is parked in `low` (that
        // pixel's low-pass is remade next pass, being within the blur's reach of a moved
        // pixel): `delta` holds the next change, whose MSE is held to the PSNR floor, and
        // `low` the former values of what moved, swapped back when the pass breaks the floor.
        moved.clear();
        moved.resize(smooth.len(), 0);
        for ((&word, flags), (lows, deltas)) in smooth
            .iter()
            .zip(moved.iter_mut())
            .zip(low.data.chunks_mut(64).zip(delta.chunks_mut(64)))
        {
            if word == 0 {
                continue;
            }
            // The word's low-pass values as they were before any of them is parked.
            let mut copy = [0f32; 64];
            copy[..lows.len()].copy_from_slice(lows);
            let values = &copy[..lows.len()];
            for (j, bin) in WordBins::new(word, values) {
                let (d, v) = (deltas[j], values[j]);
                let Some(g) = pushed_group(bin, v) else {
                    continue;
                };
                let d_next = next(g, d, v);
                if d_next.to_bits() != d.to_bits() {
                    (lows[j], deltas[j]) = (d, d_next);
                    *flags |= 1 << j;
                }
            }
        }
        let swap_back = |delta: &mut [f32], low: &mut [f32]| {
            for ((&word, lows), deltas) in moved
                .iter()
                .zip(low.chunks_mut(64))
                .zip(delta.chunks_mut(64))
            {
                let mut bits = word;
                while bits != 0 {
                    let j = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    std::mem::swap(&mut lows[j], &mut deltas[j]);
                }
            }
        };
        if mean_square_exceeds(&delta, mse_limit) {
            swap_back(&mut delta, &mut low.data);
            break;
        }
        changed = Changed::none(w, h);
        for (k, &word) in moved.iter().enumerate() {
            if word != 0 {
                changed.mark_word(64 * k, word);
            }
        }
        passes = pass + 1;
        on_pass(passes);
    }
    drop((low, smooth));
    EmbedOutcome {
        psnr: psnr_of(&delta),
        delta,
        passes,
        groups: states,
    }
}

/// Luma PSNR of a change alone, dB (infinite for no change).
fn psnr_of(delta: &[f32]) -> f32 {
    let mse: f64 = delta
        .iter()
        .map(|&d| f64::from(d) * f64::from(d))
        .sum::<f64>()
        / delta.len().max(1) as f64;
    if mse > 0.0 {
        (10.0 * (255.0f64 * 255.0 / mse).log10()) as f32
    } else {
        f32::INFINITY
    }
}

/// Whether the mean square of `values`, its squares summed in order in f64 (the definition the
/// PSNR floor has always been held to), exceeds `limit`. That sum is a chain of dependent
/// additions, a tenth of the closed loop's time at camera sizes; the same squares summed in 8
/// lanes (which vectorises) decide it whenever they are clear of the limit by more than the
/// rounding of either sum can reach: both are sums of non-negative terms, each within
/// `n u / (1 - n u)` of the exact sum (u = 2^-53; Higham, *Accuracy and Stability of Numerical
/// Algorithms*, 2002, §4.2), so the 8-lane sum past `n limit (1 + 16 n u + 1e-9)` means the
/// ordered one is past it too, and likewise below. Otherwise the squares are summed in order.
fn mean_square_exceeds(values: &[f32], limit: f64) -> bool {
    let n = values.len().max(1) as f64;
    let square = |d: f32| f64::from(d) * f64::from(d);
    let chunks = values.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&d| square(d)).sum();
    let mut lanes = [0f64; 8];
    for chunk in chunks {
        for (lane, &d) in lanes.iter_mut().zip(chunk) {
            *lane += square(d);
        }
    }
    let fast = lanes.iter().sum::<f64>() + rest;
    let margin = 16.0 * n * (f64::EPSILON / 2.0) + 1e-9;
    let bound = limit * n;
    if fast > bound * (1.0 + margin) {
        true
    } else if fast < bound * (1.0 - margin) {
        false
    } else {
        values.iter().map(|&d| square(d)).sum::<f64>() / n > limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_have_the_ratios_of_their_bits() {
        for bits in [[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]] {
            let p = profile(bits, 2.0);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            for j in 0..2 {
                let r = p[j] / p[j + 1];
                let expected = if bits[j] > 0.0 { 2.0 } else { 0.5 };
                assert!((r - expected).abs() < 1e-5, "{bits:?}: {p:?}");
            }
        }
    }

    /// The remap is monotone, fixes the group's outer edges and sends the target quantiles to
    /// the inner edges (with the guard valley).
    #[test]
    fn remap_is_monotone_and_hits_its_quantiles() {
        let grid = Grid::new(2.0, 0.0);
        // Uniform values over group 5 (46..52): the target split needs moves.
        let values: Vec<f32> = (0..6000).map(|i| 46.0 + i as f32 * 0.001).collect();
        let hist = FineHistogram::new(values.iter().map(|&v| (v, 1.0)));
        let s = EmbedSettings::default();
        let remap = remap_for(&hist, &grid, 5, [1.0, 1.0], &s);
        let mut last = f32::MIN;
        for i in 0..=600 {
            let v = 46.0 + i as f32 * 0.01;
            let m = remap.apply(v);
            assert!(m >= last - 1e-5, "not monotone at {v}");
            assert!((46.0..=52.0).contains(&m));
            last = m;
        }
        assert!((remap.apply(46.0) - 46.0).abs() < 1e-4);
        assert!((remap.apply(51.999) - 52.0).abs() < 1e-2);
        let mapped = FineHistogram::new(values.iter().map(|&v| (remap.apply(v), 1.0)));
        let c = group_counts(&mapped, &grid, Tone::IDENTITY)[5];
        let p = profile([1.0, 1.0], s.target_ratio);
        for k in 0..3 {
            assert!(
                (c[k] / 6000.0 - f64::from(p[k])).abs() < 0.01,
                "{c:?} vs {p:?}"
            );
        }
    }

    /// The strength keeps the blended map's slopes within the cap, and is 1 for a map that
    /// already does, 0 for a plateau sent across a bin.
    #[test]
    fn strength_caps_the_slope() {
        let grid = Grid::new(2.0, 0.0);
        let s = EmbedSettings::default();
        let values: Vec<f32> = (0..6000).map(|i| 46.0 + i as f32 * 0.001).collect();
        let hist = FineHistogram::new(values.iter().map(|&v| (v, 1.0)));
        let remap = remap_for(&hist, &grid, 5, [1.0, 1.0], &s);
        let strength = remap.strength(s.max_slope);
        assert!(strength > 0.0 && strength < 1.0, "{strength}");
        let blended = |v: f32| v + strength * (remap.apply(v) - v);
        for i in 0..600 {
            let v = 46.0 + i as f32 * 0.01;
            let slope = (blended(v + 0.01) - blended(v)) / 0.01;
            assert!(slope <= s.max_slope * 1.01, "slope {slope} at {v}");
            assert!(slope >= 1.0 / s.max_slope / 1.01, "slope {slope} at {v}");
        }
        let identity = Remap {
            from: [46.0, 48.0, 50.0, 52.0],
            to_low: [46.0, 48.0, 50.0],
            to_high: [48.0, 50.0, 52.0],
        };
        assert_eq!(identity.strength(s.max_slope), 1.0);
        let plateau = Remap {
            from: [46.0, 49.0, 49.0, 52.0],
            to_low: [46.0, 48.0, 50.0],
            to_high: [48.0, 50.0, 52.0],
        };
        assert_eq!(plateau.strength(s.max_slope), 0.0);
    }

    /// The lane-summed decision is the ordered sum's, on limits far from the mean square, at
    /// it and one f64 step either side of it (where only the ordered sum can decide).
    #[test]
    fn mean_square_decision_is_the_ordered_sums() {
        let mut state = 5u32;
        for len in [0, 1, 7, 8, 9, 1000, 4099] {
            let values: Vec<f32> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1u32 << 24) as f32 * 10.0 - 5.0
                })
                .collect();
            let ordered = values
                .iter()
                .map(|&d| f64::from(d) * f64::from(d))
                .sum::<f64>()
                / len.max(1) as f64;
            let near = [
                ordered,
                f64::from_bits(ordered.to_bits() + 1),
                f64::from_bits(ordered.to_bits().saturating_sub(1)),
            ];
            for limit in near
                .into_iter()
                .chain([0.0, ordered * 0.9, ordered * 1.1, 2.59, 1e9])
            {
                assert_eq!(
                    mean_square_exceeds(&values, limit),
                    ordered > limit,
                    "{len} values, limit {limit:e} against {ordered:e}"
                );
            }
        }
    }

    /// A smooth 640 x 480 gradient with a gentle ripple, a grid and a keyed codeword for it.
    fn smooth_image_and_codeword() -> (Plane, Grid, Vec<f32>) {
        let (w, h) = (640, 480);
        let luma = Plane::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            30.0 + 190.0 * (0.6 * fx + 0.4 * fy) + 6.0 * (7.0 * fx).sin() * (5.0 * fy).cos()
        });
        let grid = Grid::new(2.0, 0.7);
        let key = crate::watermark::key::Key::from_secret(b"t").unwrap();
        let codeword = crate::watermark::key::signs(&mut key.stream("c", b""), grid.raw_bits());
        (luma, grid, codeword)
    }

    /// On a smooth synthetic image the closed loop reaches the ratios in most groups and keeps
    /// within the cap and the PSNR budget.
    #[test]
    fn closed_loop_marks_a_smooth_image() {
        let (luma, grid, codeword) = smooth_image_and_codeword();
        let s = EmbedSettings::default();
        let out = embed(&luma, &grid, &codeword, &s);
        assert!(out.delta.iter().all(|d| d.abs() <= s.cap + 1e-4));
        assert!(out.psnr >= s.min_psnr);
        let satisfied = out
            .groups
            .iter()
            .filter(|g| **g == GroupState::Satisfied)
            .count();
        assert!(satisfied >= 25, "{:?}", out.groups);
    }

    /// Shaped on the cover shrunk by 2 (the settings' full-size limit below its size), the
    /// change brought back to full size (and finished there, or not) carries the histogram
    /// mark as the detector measures it on the full-size result, about as strongly as the
    /// loop run at full size.
    #[test]
    fn a_shrunk_cover_s_change_marks_the_full_size_image() {
        let (luma, grid, codeword) = smooth_image_and_codeword();
        let (w, h) = (luma.width, luma.height);
        let score = |delta: &[f32]| {
            let marked = Plane {
                width: w,
                height: h,
                data: luma.data.iter().zip(delta).map(|(l, d)| l + d).collect(),
            };
            let analysis = super::super::analysis::analyse(&marked);
            super::super::detect::detect(&analysis, || None, &grid, &codeword).score
        };
        let full = embed(&luma, &grid, &codeword, &EmbedSettings::default());
        let full_score = score(&full.delta);
        let unmarked = score(&vec![0.0; w * h]);
        assert!(unmarked < 3.0, "{unmarked}");
        // With the default finishing passes at full size, and with none.
        for finishing_passes in [2, 0] {
            let s = EmbedSettings {
                full_size_pixels: 100_000,
                finishing_passes,
                ..EmbedSettings::default()
            };
            assert_eq!(super::super::coarse::factor(w, h, s.full_size_pixels), 2);
            let shrunk = embed(&luma, &grid, &codeword, &s);
            assert_ne!(shrunk.delta, full.delta);
            assert!(shrunk.delta.iter().all(|d| d.abs() <= s.cap + 1e-4));
            assert!(shrunk.psnr >= s.min_psnr - 0.5, "{}", shrunk.psnr);
            let shrunk_score = score(&shrunk.delta);
            assert!(
                shrunk_score > 0.8 * full_score && shrunk_score > 6.0,
                "{finishing_passes} finishing passes: shrunk {shrunk_score}, full size \
                 {full_score}"
            );
        }
    }
}
