//! Claimed-payload detection for the histogram layer: correlate the soft values with the
//! payload's codeword, over a few tiers of tone candidates (brightness, contrast), each with its
//! own share of the false-positive budget.
//!
//! The threshold needs no model of natural images: the codeword is a keyed pseudo-random
//! function of the payload, so for an image that does not carry this payload under this key
//! its signs are fair coins independent of the image. The normalised correlation is then a
//! weighted sum of random signs with unit-norm weights, whatever the soft values are, and
//! Bentkus and Dzindzalieta (Bernoulli 21(2), 2015) bound its tail by `C Q(t)`: the standard
//! normal tail times `C = 1 / (4 Q(sqrt 2)) = 3.178`, the smallest constant that holds for
//! every weight vector (Hoeffding's `exp(-t^2/2)` is about 0.25 looser in `t` at these
//! rates). A tier of `K` candidates (union bound) at budget `a` gets the threshold
//! `t` with `K C Q(t) = a`.

use super::analysis::{Analysis, SMOOTH_LIMIT};
use super::carrier::{FineHistogram, Grid, Tone, group_counts, tone_score};

/// The false-positive rate the decision is built for, per image and payload.
pub(crate) const FALSE_POSITIVE_RATE: f64 = 1e-8;

/// The false-positive rate of the weaker test that binds a payload layer 2 read to the image
/// ([`Detection::binds`]), per image, split among the tiers as [`FALSE_POSITIVE_RATE`] is.
///
/// Binding asks a different question from a claimed-payload match. The payload is already
/// proven by layer 2's keyed tag (a wrong payload at most 9.4e-13 per image), so the binding
/// only has to tell the image the mark was made on from another image carrying a lifted copy
/// of the pattern. A transplant's histogram was not shaped for the payload, so its score is
/// the same sum of fair-coin signs as an unmarked image's, and it binds with probability at
/// most this rate per forgery, a forgery the forger cannot test without the key. Genuine
/// marks after a crop to a quarter of the area or a fitted rotation score 4.7-6.6 (the 1e-8
/// thresholds are 5.89-7.26), transplants at most 4.41 (docs/watermark.md, "Binding").
pub(crate) const BINDING_RATE: f64 = 1e-5;

/// Which set of tone candidates decided a [`Detection`], cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The image's tones unchanged (geometry and compression need no tone search).
    AsIs,
    /// Brightness offsets.
    Brightness,
    /// Contrast gains about a pivot grey, with offsets.
    Contrast,
    /// Gamma curves (`255 (v / 255)^gamma`), as editors' gamma and "levels" midtone controls
    /// apply: an affine search cannot follow them (a gamma of 0.8 moves mid grey by 15 levels
    /// and the ends by none).
    Gamma,
}

impl Tier {
    /// The tier's name as the CLI and its JSON print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::AsIs => "as is",
            Tier::Brightness => "brightness",
            Tier::Contrast => "contrast",
            Tier::Gamma => "gamma",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of tone candidates tried together.
pub(crate) struct ToneTier {
    pub(crate) tier: Tier,
    pub(crate) tones: Vec<Tone>,
    /// Its share of [`FALSE_POSITIVE_RATE`].
    pub(crate) budget: f64,
    /// Whether each tone is also tried on the colour-masked analysis (see [`detect`]).
    pub(crate) colour_mask: bool,
}

impl ToneTier {
    /// The score at which the chance that an unmarked image reaches it on one of this tier's
    /// candidates is the tier's budget, each tone being tried on `views` analyses.
    pub(crate) fn threshold(&self, views: usize) -> f64 {
        score_for_tail(self.budget / (self.tones.len() * views) as f64)
    }

    /// The score at which this tier binds a payload layer 2 read (see [`BINDING_RATE`]).
    pub(crate) fn binding_threshold(&self, views: usize) -> f64 {
        score_for_tail(
            self.budget / FALSE_POSITIVE_RATE * BINDING_RATE / (self.tones.len() * views) as f64,
        )
    }

    /// Bound on the chance that an image without the payload scores `score` or more on one of
    /// this tier's candidates (each tone tried on `views` analyses), at most 1.
    pub(crate) fn false_positive_bound(&self, score: f64, views: usize) -> f64 {
        ((self.tones.len() * views) as f64 * sign_sum_tail(score)).min(1.0)
    }
}

/// Bentkus and Dzindzalieta's constant: `P(sum a_i e_i >= t) <= C Q(t)` for random signs `e_i`
/// and `sum a_i^2 <= 1`, and no smaller constant holds for all weights.
pub(crate) const SIGN_SUM_CONSTANT: f64 = 3.178_66;

/// The standard normal upper tail `Q(t) = P(N(0, 1) >= t)`.
pub(crate) fn normal_tail(t: f64) -> f64 {
    0.5 * libm::erfc(t / std::f64::consts::SQRT_2)
}

/// Bound on `P(sum a_i e_i >= t)` for a unit-norm weighted sum of random signs, at most 1.
pub(crate) fn sign_sum_tail(t: f64) -> f64 {
    (SIGN_SUM_CONSTANT * normal_tail(t)).min(1.0)
}

/// The `t` at which [`sign_sum_tail`] equals `p` (0 < p < 1), by bisection.
pub(crate) fn score_for_tail(p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if sign_sum_tail(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Gamma candidates: `GAMMA_STEP` apart in ratio over `GAMMA_RANGE`, 1 itself left out (the
/// "as is" tier has it). A gamma 1.5 % off its true value (half a step) keeps most of the
/// score: one gamma-0.8 mark scored 8.21 at the exact inverse and 7.0 at one 7 % off.
fn gammas() -> Vec<Tone> {
    let (lo, hi) = GAMMA_RANGE;
    let steps = ((hi / lo).ln() / GAMMA_STEP.ln()).round() as i32;
    (0..=steps)
        .map(|i| lo * GAMMA_STEP.powi(i))
        .filter(|g| g.ln().abs() > 0.5 * GAMMA_STEP.ln())
        .map(|gamma| Tone {
            gamma,
            ..Tone::IDENTITY
        })
        .collect()
}

/// The gammas searched: from brightening (0.55) to darkening (1.8) midtones.
const GAMMA_RANGE: (f32, f32) = (0.55, 1.8);
/// Ratio between neighbouring gamma candidates.
const GAMMA_STEP: f32 = 1.03;

/// The tiers, cheapest first: geometry and compression need no tone search at all.
pub(crate) fn tiers() -> Vec<ToneTier> {
    // Fuzz builds (cargo-fuzz sets `cfg(fuzzing)`) search offsets 4 levels apart instead of
    // half a level: the same code on 8 times fewer candidates, which were most of the fuzzer's
    // time per input.
    let step = if cfg!(fuzzing) { 4.0 } else { 0.5 };
    let offsets = move |lo: f32, hi: f32| {
        let steps = ((hi - lo) / step).round() as i32;
        (0..=steps).map(move |i| lo + i as f32 * step)
    };
    let brightness: Vec<Tone> = offsets(-40.0, 40.0)
        .filter(|&o| o != 0.0)
        .map(|offset| Tone::affine(1.0, offset))
        .collect();
    // Contrast about a pivot grey p: observed = g v + (1 - g) p, p in 40..200, +-10 levels.
    let mut contrast = Vec::new();
    for gain in [0.83f32, 0.87, 0.91, 0.95, 1.05, 1.1, 1.15, 1.2] {
        let (a, b) = ((1.0 - gain) * 40.0, (1.0 - gain) * 200.0);
        let (lo, hi) = (a.min(b) - 10.0, a.max(b) + 10.0);
        contrast.extend(
            offsets((lo * 2.0).round() / 2.0, (hi * 2.0).round() / 2.0)
                .map(|offset| Tone::affine(gain, offset)),
        );
    }
    vec![
        ToneTier {
            tier: Tier::AsIs,
            tones: vec![Tone::IDENTITY],
            budget: 0.6 * FALSE_POSITIVE_RATE,
            colour_mask: false,
        },
        ToneTier {
            tier: Tier::Brightness,
            tones: brightness,
            budget: 0.27 * FALSE_POSITIVE_RATE,
            colour_mask: true,
        },
        ToneTier {
            tier: Tier::Contrast,
            tones: contrast,
            budget: 0.08 * FALSE_POSITIVE_RATE,
            colour_mask: true,
        },
        ToneTier {
            tier: Tier::Gamma,
            tones: gammas(),
            budget: 0.05 * FALSE_POSITIVE_RATE,
            colour_mask: false,
        },
    ]
}

/// The outcome of testing one payload.
#[derive(Debug, Clone)]
pub struct Detection {
    /// True when the score reached the threshold of its tier.
    pub matched: bool,
    /// True when some tier's score reached its binding threshold: the weaker test (at a
    /// false-positive rate of 1e-5 per image rather than 1e-8) by which a payload that layer 2 read, and that its
    /// keyed tag already proves, is taken as this image's own. Implied by `matched`.
    pub binds: bool,
    /// Normalised correlation of the deciding tier (the first that matched, else the tier
    /// closest to its threshold).
    pub score: f64,
    /// The threshold of the deciding tier.
    pub threshold: f64,
    /// Bound on the chance that an image without this payload scores this high in this tier
    /// (candidates counted): `K C Q(score)`, at most 1.
    pub false_positive_bound: f64,
    /// The deciding tier.
    pub tier: Tier,
    /// The tone candidate that scored best in that tier.
    pub tone: Tone,
    /// Groups holding at least 100 counted pixels, of `groups`.
    pub occupied_groups: usize,
    /// Groups of bins that carry the codeword.
    pub groups: usize,
}

/// The histogram of the counted pixels of `analysis` for a candidate contrast `gain`.
pub(crate) fn counted_histogram(analysis: &Analysis, gain: f32) -> FineHistogram {
    FineHistogram::new(
        analysis
            .low
            .data
            .iter()
            .zip(analysis.weights(gain))
            .filter(|(_, w)| *w > 0.0)
            .map(|(v, w)| (*v, w)),
    )
}

/// [`counted_histogram`] for each of `gains`, in one pass over the pixels: a pixel counted at
/// one gain is counted at every larger one (its activity is below a larger limit), so each
/// pixel lands in the histogram of the smallest gain that counts it, and those add up.
pub(crate) fn counted_histograms(analysis: &Analysis, gains: &[f32]) -> Vec<FineHistogram> {
    let mut order: Vec<usize> = (0..gains.len()).collect();
    order.sort_by(|&a, &b| gains[a].total_cmp(&gains[b]));
    // The same limits, in f32, as `Analysis::weights` compares with.
    let limits: Vec<f32> = order.iter().map(|&i| SMOOTH_LIMIT * gains[i]).collect();
    let mut counts = vec![vec![0u32; FineHistogram::BINS]; gains.len()];
    let pixels = analysis.low.data.iter().zip(&analysis.activity.data);
    for ((&v, &a), _) in pixels.zip(&analysis.valid).filter(|(_, valid)| **valid) {
        if let (Some(first), Some(bin)) = (
            limits.iter().position(|&limit| a < limit),
            FineHistogram::bin(v),
        ) {
            counts[first][bin] += 1;
        }
    }
    for k in 1..counts.len() {
        let (done, rest) = counts.split_at_mut(k);
        for (total, &c) in rest[0].iter_mut().zip(&done[k - 1]) {
            *total += c;
        }
    }
    // Back in the caller's order: gain i is the rank[i]-th smallest.
    let mut rank = vec![0; gains.len()];
    for (sorted, &i) in order.iter().enumerate() {
        rank[i] = sorted;
    }
    rank.iter()
        .map(|&r| FineHistogram::from_counts(counts[r].iter().map(|&c| f64::from(c))))
        .collect()
}

/// Tests `codeword` against an analysed image, tier by tier. Each candidate gain counts its
/// own set of smooth pixels (see [`Analysis::weights`]); a view's histograms for every gain
/// are made together, in one pass, when the first candidate it lacks comes up.
///
/// The tone tiers of a colour image also look at `colour_masked()`, the analysis that leaves
/// out pixels with a clipped colour channel, each candidate tone with and without the mask
/// (twice the candidates): brightness and contrast applied to R, G and B bend luma where a
/// channel clips. The mask helps contrast changes but loses cropped rotations that the unmasked
/// search recovers, hence both views; it is made only when the "as is" tier fails.
pub(crate) fn detect(
    analysis: &Analysis,
    colour_masked: impl FnOnce() -> Option<Analysis>,
    grid: &Grid,
    codeword: &[f32],
) -> Detection {
    // Histograms by (view, gain): view 0 is `analysis`, 1 the colour-masked one.
    let mut histograms: Vec<(usize, f32, FineHistogram)> =
        vec![(0, 1.0, counted_histogram(analysis, 1.0))];
    let occupied_groups = group_counts(&histograms[0].2, grid, Tone::IDENTITY)
        .iter()
        .filter(|c| c.iter().sum::<f64>() >= 100.0)
        .count();
    let mut colour_masked = Some(colour_masked);
    let mut masked: Option<Analysis> = None;
    let mut best: Option<Detection> = None;
    let mut binds = false;
    let tiers = tiers();
    let mut all_gains: Vec<f32> = tiers
        .iter()
        .flat_map(|t| t.tones.iter().map(|tone| tone.gain))
        .collect();
    all_gains.sort_by(f32::total_cmp);
    all_gains.dedup();
    for (index, tier) in tiers.into_iter().enumerate() {
        if index > 0
            && let Some(make) = colour_masked.take()
        {
            masked = make();
        }
        // Views: 0 is `analysis`, 1 the colour-masked one (tone tiers of colour images).
        let views: Vec<(usize, &Analysis)> = match &masked {
            Some(m) if tier.colour_mask => vec![(0, analysis), (1, m)],
            _ => vec![(0, analysis)],
        };
        let threshold = tier.threshold(views.len());
        let (mut score, mut tone) = (f64::MIN, Tone::IDENTITY);
        for &(view, seen) in &views {
            for &candidate in &tier.tones {
                let find = |histograms: &[(usize, f32, FineHistogram)]| {
                    histograms
                        .iter()
                        .position(|(v, g, _)| *v == view && *g == candidate.gain)
                };
                if find(&histograms).is_none() {
                    // Every gain this view still lacks, in one pass.
                    let missing: Vec<f32> = all_gains
                        .iter()
                        .copied()
                        .filter(|&g| !histograms.iter().any(|(v, h, _)| *v == view && *h == g))
                        .collect();
                    let made = counted_histograms(seen, &missing);
                    histograms.extend(missing.into_iter().zip(made).map(|(g, h)| (view, g, h)));
                }
                let slot = find(&histograms).expect("just made");
                let s = tone_score(&histograms[slot].2, grid, candidate, codeword);
                if s > score {
                    (score, tone) = (s, candidate);
                }
            }
        }
        binds |= score >= tier.binding_threshold(views.len());
        let detection = Detection {
            matched: score >= threshold,
            binds: binds || score >= threshold,
            score,
            threshold,
            false_positive_bound: tier.false_positive_bound(score, views.len()),
            tier: tier.tier,
            tone,
            occupied_groups,
            groups: grid.groups,
        };
        if detection.matched {
            return detection;
        }
        let closer = best
            .as_ref()
            .is_none_or(|b| detection.score - detection.threshold > b.score - b.threshold);
        if closer {
            best = Some(detection);
        }
    }
    let mut best = best.expect("at least one tier");
    best.binds = binds;
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_budgets_add_up_and_thresholds_grow_with_candidates() {
        let tiers = tiers();
        let total: f64 = tiers.iter().map(|t| t.budget).sum();
        assert!((total - FALSE_POSITIVE_RATE).abs() < 1e-15);
        // 1 candidate at 6e-9: C Q(t) = 6e-9, Q(t) = 1.888e-9, t = 5.89 (normal table).
        assert!((tiers[0].threshold(1) - 5.89).abs() < 0.01);
        assert!(tiers[1].threshold(1) > tiers[0].threshold(1));
        assert!(tiers[2].threshold(1) > tiers[1].threshold(1));
        assert!(tiers.iter().all(|t| t.threshold(2) < 8.0));
        for tier in &tiers {
            assert!(tier.threshold(2) > tier.threshold(1));
            for views in [1, 2] {
                let at = tier.false_positive_bound(tier.threshold(views), views);
                assert!((at / tier.budget - 1.0).abs() < 1e-6, "{}: {at}", tier.tier);
            }
            assert!(tier.binding_threshold(1) < tier.threshold(1));
            eprintln!(
                "{}: {} tones, thresholds {:.2} (one view), {:.2} (two); binding {:.2}, {:.2}",
                tier.tier,
                tier.tones.len(),
                tier.threshold(1),
                tier.threshold(2),
                tier.binding_threshold(1),
                tier.binding_threshold(2)
            );
        }
    }

    /// The one-pass histograms equal the per-gain ones exactly, whatever order the gains come in.
    #[test]
    fn one_pass_histograms_equal_per_gain_ones() {
        use super::super::analysis::analyse;
        use crate::watermark::signal::Plane;
        let luma = Plane::from_fn(300, 200, |x, y| {
            let ramp = 40.0 + x as f32 * 0.5 + y as f32 * 0.2;
            let texture = ((x as f32 * 0.7).sin() + (y as f32 * 0.9).cos()) * 3.0;
            ramp + texture * (x as f32 / 300.0)
        });
        let analysis = analyse(&luma);
        let gains = [1.2f32, 0.83, 1.0, 0.91, 1.05];
        let together = counted_histograms(&analysis, &gains);
        for (gain, histogram) in gains.iter().zip(&together) {
            assert_eq!(
                *histogram,
                counted_histogram(&analysis, *gain),
                "gain {gain}"
            );
        }
        // The gains count different pixel sets: the test would not notice a mix-up otherwise.
        assert!(together[0].total() > together[2].total());
        assert!(together[2].total() > together[1].total());
    }

    /// Q(t) against published normal-table values.
    #[test]
    fn normal_tail_matches_the_table() {
        for (t, q) in [
            (0.0, 0.5),
            (1.0, 0.158_655_25),
            (3.0, 1.349_898e-3),
            (6.0, 9.865_876e-10),
            (7.0, 1.279_813e-12),
        ] {
            assert!(
                (normal_tail(t) / q - 1.0).abs() < 1e-5,
                "Q({t}) = {}",
                normal_tail(t)
            );
        }
        // The constant is 1 / (4 Q(sqrt 2)).
        assert!((SIGN_SUM_CONSTANT * 4.0 * normal_tail(2f64.sqrt()) - 1.0).abs() < 1e-5);
    }

    /// The bound holds on exact tails: every sign pattern of a few weight vectors, including
    /// the equal weights (a binomial) and the two-value vector that makes the constant tight.
    #[test]
    fn sign_sum_bound_holds_on_exact_tails() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut vectors: Vec<Vec<f64>> = vec![vec![1.0; 18], vec![1.0, 1.0], vec![3.0, 1.0, 1.0]];
        vectors.extend((0..4).map(|_| (0..16).map(|_| uniform()).collect()));
        for raw in vectors {
            let norm = raw.iter().map(|a| a * a).sum::<f64>().sqrt();
            let a: Vec<f64> = raw.iter().map(|v| v / norm).collect();
            let n = a.len();
            let sums: Vec<f64> = (0..1u32 << n)
                .map(|signs| {
                    (0..n)
                        .map(|i| if signs >> i & 1 == 1 { a[i] } else { -a[i] })
                        .sum()
                })
                .collect();
            for step in 0..=40 {
                let t = step as f64 * 0.1;
                let exact =
                    sums.iter().filter(|&&s| s >= t - 1e-12).count() as f64 / sums.len() as f64;
                assert!(
                    exact <= sign_sum_tail(t) + 1e-12,
                    "weights {raw:?}: P(S >= {t}) = {exact} > {}",
                    sign_sum_tail(t)
                );
            }
        }
    }
}
