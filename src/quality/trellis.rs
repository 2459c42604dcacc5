//! An IJG equivalent for mozjpeg's default tables that follows its fidelity, not only its
//! tables.
//!
//! mozjpeg's default profile pairs its default tables (N. Robidoux's, set 3) with trellis
//! quantisation, which moves coefficients to cheaper levels by rate-distortion and so leaves
//! more error than rounding to nearest with the same tables. The table-based
//! `ijg_equivalent` (geometric mean of the steps against Annex K) does not see that: on the
//! tune photos of `benches/effective-quality.py` it reads 4 to 5 points above the PSNR-matched
//! libjpeg quality at mozjpeg qualities 50..65, 1 to 2 at 85..90.
//!
//! The coefficient-distribution estimate ([`super::effective`]) was tried on these files and
//! read them far too low (trellis moves values between non-zero bins, which its model does not
//! see), and a variant that models only the missing values of the first bin gained little on
//! the table: its spread between photos at one quality was larger than the table's own. What
//! is left is the mean loss of the encoder: the PSNR-matched libjpeg quality of mozjpeg's
//! default encoder at each quality, averaged over the tune photos ([`MATCHED`]), interpolated
//! between the measured qualities. It holds for mozjpeg's default trellis settings, which is
//! what its tables say about the encoder; a mozjpeg file written with trellis off would read
//! low by that loss (not measured). The accuracy on held-out photos is in `docs/quality.md`.

/// The mozjpeg qualities measured: 50, 55, ..., 95.
const FIRST: f64 = 50.0;
const STEP: f64 = 5.0;

/// Per mozjpeg quality `FIRST + STEP * i`, the mean over the tune photos of the libjpeg quality
/// whose luma PSNR equals that of mozjpeg's default encoder (trellis on, baseline) on the same
/// photo; from `benches/effective-quality.py calibrate` on the tune set.
pub const MATCHED: [f64; 10] = [
    33.68, 37.70, 42.50, 48.97, 56.11, 63.46, 70.94, 78.13, 85.42, 92.58,
];

/// The IJG equivalent of mozjpeg's default encoder at `quality` (its own scale; a range's
/// midpoint), or `None` outside the measured qualities 50..=95.
pub fn default_profile(quality: f64) -> Option<f64> {
    let last = FIRST + STEP * (MATCHED.len() - 1) as f64;
    if !(FIRST..=last).contains(&quality) {
        return None;
    }
    let at = (quality - FIRST) / STEP;
    let i = (at.floor() as usize).min(MATCHED.len() - 2);
    let t = at - i as f64;
    Some(MATCHED[i] + t * (MATCHED[i + 1] - MATCHED[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_qualities_give_their_means_and_others_interpolate() {
        assert_eq!(default_profile(50.0), Some(MATCHED[0]));
        assert_eq!(default_profile(95.0), Some(MATCHED[9]));
        let mid = default_profile(72.5).unwrap();
        assert!((mid - (MATCHED[4] + MATCHED[5]) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn outside_the_measured_range_there_is_no_answer() {
        assert_eq!(default_profile(49.9), None);
        assert_eq!(default_profile(95.1), None);
        assert_eq!(default_profile(f64::NAN), None);
    }

    #[test]
    fn the_equivalent_rises_with_the_quality() {
        assert!(MATCHED.windows(2).all(|w| w[0] < w[1]));
    }
}
