//! Claimed-payload detection for the histogram layer: correlate the soft values with the
//! payload's codeword, over a few tiers of tone candidates (brightness, contrast), each with its
//! own share of the false-positive budget.
//!
//! The threshold needs no model of natural images: the codeword is a keyed pseudo-random
//! function of the payload, so for an image that does not carry this payload under this key
//! its signs are fair coins independent of the image, and Hoeffding's inequality bounds the
//! normalised correlation's tail by `exp(-t^2/2)` whatever the soft values are. A tier of `K`
//! candidates (union bound) at budget `a` gets the threshold `sqrt(2 ln(K / a))`.

use super::analysis::Analysis;
use super::histogram::{FineHistogram, Grid, Tone, group_counts, tone_score};

/// The false-positive rate the decision is built for, per image and payload.
pub const FALSE_POSITIVE_RATE: f64 = 1e-8;

/// A set of tone candidates tried together.
pub struct Tier {
    pub name: &'static str,
    pub tones: Vec<Tone>,
    /// Its share of [`FALSE_POSITIVE_RATE`].
    pub budget: f64,
}

impl Tier {
    pub fn threshold(&self) -> f64 {
        (2.0 * (self.tones.len() as f64 / self.budget).ln()).sqrt()
    }
}

/// The tiers, cheapest first: geometry and compression need no tone search at all.
pub fn tiers() -> Vec<Tier> {
    let offsets = |lo: f32, hi: f32| {
        let steps = ((hi - lo) / 0.5).round() as i32;
        (0..=steps).map(move |i| lo + i as f32 * 0.5)
    };
    let brightness: Vec<Tone> = offsets(-40.0, 40.0)
        .filter(|&o| o != 0.0)
        .map(|offset| Tone { gain: 1.0, offset })
        .collect();
    // Contrast about a pivot grey p: observed = g v + (1 - g) p, p in 40..200, +-10 levels.
    let mut contrast = Vec::new();
    for gain in [0.83f32, 0.87, 0.91, 0.95, 1.05, 1.1, 1.15, 1.2] {
        let (a, b) = ((1.0 - gain) * 40.0, (1.0 - gain) * 200.0);
        let (lo, hi) = (a.min(b) - 10.0, a.max(b) + 10.0);
        contrast.extend(
            offsets((lo * 2.0).round() / 2.0, (hi * 2.0).round() / 2.0)
                .map(|offset| Tone { gain, offset }),
        );
    }
    vec![
        Tier {
            name: "as is",
            tones: vec![Tone::IDENTITY],
            budget: 0.6 * FALSE_POSITIVE_RATE,
        },
        Tier {
            name: "brightness",
            tones: brightness,
            budget: 0.3 * FALSE_POSITIVE_RATE,
        },
        Tier {
            name: "contrast",
            tones: contrast,
            budget: 0.1 * FALSE_POSITIVE_RATE,
        },
    ]
}

/// The outcome of testing one payload.
#[derive(Debug, Clone)]
pub struct Detection {
    pub matched: bool,
    /// Normalised correlation of the deciding tier (the first that matched, else the tier
    /// closest to its threshold).
    pub score: f64,
    pub threshold: f64,
    /// Bound on the chance that an image without this payload scores this high in this tier
    /// (candidates counted): `K exp(-score^2/2)`, at most 1.
    pub false_positive_bound: f64,
    pub tier: &'static str,
    pub tone: Tone,
    /// Groups holding at least 100 counted pixels, of `groups`.
    pub occupied_groups: usize,
    pub groups: usize,
}

/// The histogram of the counted pixels of `analysis` for a candidate contrast `gain`.
pub fn counted_histogram(analysis: &Analysis, gain: f32) -> FineHistogram {
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

/// Tests `codeword` against an analysed image, tier by tier. Each candidate gain counts its
/// own set of smooth pixels (see [`Analysis::weights`]); its histogram is made once, when the
/// first candidate with that gain comes up.
pub fn detect(analysis: &Analysis, grid: &Grid, codeword: &[f32]) -> Detection {
    let mut histograms: Vec<(f32, FineHistogram)> = vec![(1.0, counted_histogram(analysis, 1.0))];
    let occupied_groups = group_counts(&histograms[0].1, grid, Tone::IDENTITY)
        .iter()
        .filter(|c| c.iter().sum::<f64>() >= 100.0)
        .count();
    let mut best: Option<Detection> = None;
    for tier in tiers() {
        let threshold = tier.threshold();
        let (mut score, mut tone) = (f64::MIN, Tone::IDENTITY);
        for &candidate in &tier.tones {
            let index = match histograms.iter().position(|(g, _)| *g == candidate.gain) {
                Some(index) => index,
                None => {
                    let hist = counted_histogram(analysis, candidate.gain);
                    histograms.push((candidate.gain, hist));
                    histograms.len() - 1
                }
            };
            let s = tone_score(&histograms[index].1, grid, candidate, codeword);
            if s > score {
                (score, tone) = (s, candidate);
            }
        }
        let bound = (tier.tones.len() as f64 * (-score * score / 2.0).exp()).min(1.0);
        let detection = Detection {
            matched: score >= threshold,
            score,
            threshold,
            false_positive_bound: if score > 0.0 { bound } else { 1.0 },
            tier: tier.name,
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
    best.expect("at least one tier")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_budgets_add_up_and_thresholds_grow_with_candidates() {
        let tiers = tiers();
        let total: f64 = tiers.iter().map(|t| t.budget).sum();
        assert!((total - FALSE_POSITIVE_RATE).abs() < 1e-15);
        // 1 candidate at 6e-9: sqrt(2 ln(1/6e-9)) = 6.146.
        assert!((tiers[0].threshold() - 6.146).abs() < 0.01);
        assert!(tiers[1].threshold() > tiers[0].threshold());
        assert!(tiers[2].threshold() > tiers[1].threshold());
        assert!(tiers.iter().all(|t| t.threshold() < 8.0));
    }
}
