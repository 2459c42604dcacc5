//! Exact inversion of libjpeg's table scaling: which integer scale factors S reproduce a table
//! from a base table, and which qualities give those S.
//!
//! libjpeg (`jcparam.c`, `jpeg_add_quant_table`) computes each entry as
//! `clamp((B * S + 50) / 100, 1, M)` with integer division, M = 255 when forced to baseline and
//! 32767 otherwise; `jpeg_quality_scaling` maps quality q to S = 5000 / q below 50 and 200 - 2q
//! from 50 up.

/// Largest scale factor considered; q = 1 gives 5000, linear scaling may go higher.
const MAX_SCALE: u32 = 1_000_000;

/// A closed interval of integer scale factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleRange {
    /// Smallest scale factor in the range.
    pub lo: u32,
    /// Largest scale factor in the range.
    pub hi: u32,
}

impl ScaleRange {
    /// The scales in both ranges; `None` when they do not overlap.
    pub fn intersect(self, other: ScaleRange) -> Option<ScaleRange> {
        let (lo, hi) = (self.lo.max(other.lo), self.hi.min(other.hi));
        (lo <= hi).then_some(ScaleRange { lo, hi })
    }

    /// The qualities 1..=100 whose scale factor lies in the range, as (lowest, highest).
    pub fn qualities(self) -> Option<(u8, u8)> {
        let inside = |q: &u8| (self.lo..=self.hi).contains(&scale_for_quality(*q));
        let lowest = (1..=100u8).find(inside)?;
        let highest = (lowest..=100u8).rev().find(inside)?;
        Some((lowest, highest))
    }

    /// A fractional quality for the middle of the range, for tables made with a non-integer
    /// quality (Java ImageIO, `jpeg_set_linear_quality`).
    pub fn fractional_quality(self) -> f64 {
        quality_for_scale((f64::from(self.lo) + f64::from(self.hi)) / 2.0)
    }
}

/// libjpeg's `jpeg_quality_scaling`.
pub fn scale_for_quality(q: u8) -> u32 {
    let q = u32::from(q.clamp(1, 100));
    if q < 50 { 5000 / q } else { 200 - 2 * q }
}

/// `scale_for_quality` for a fractional quality (an IJG equivalent such as 86.4), without
/// libjpeg's integer division, clamped to 1..=100: the inverse of `quality_for_scale`.
pub fn scale_for_fractional_quality(q: f64) -> f64 {
    let q = q.clamp(1.0, 100.0);
    if q < 50.0 {
        5000.0 / q
    } else {
        200.0 - 2.0 * q
    }
}

/// The real-valued inverse of `scale_for_quality`, clamped to 1..=100.
pub fn quality_for_scale(s: f64) -> f64 {
    let q = if s <= 100.0 {
        (200.0 - s) / 2.0
    } else {
        5000.0 / s
    };
    q.clamp(1.0, 100.0)
}

/// The clamp an encoder must have used: 255 if every entry fits a byte, else 32767.
pub fn clamp_for(table: &[u16; 64]) -> u16 {
    if table.iter().all(|&t| t <= 255) {
        255
    } else {
        32767
    }
}

/// Table libjpeg writes for base `base`, scale `s` and clamp `max`.
pub fn scale_table(base: &[u16; 64], s: u32, max: u16) -> [u16; 64] {
    std::array::from_fn(|i| {
        let raw = (u64::from(base[i]) * u64::from(s) + 50) / 100;
        raw.clamp(1, u64::from(max)) as u16
    })
}

/// The integer scale factors that turn `base` into exactly `table`, or `None` if none does.
/// Each entry bounds S on its own; the answer is the intersection of the 64 bounds.
pub fn solve_scale(table: &[u16; 64], base: &[u16; 64]) -> Option<ScaleRange> {
    solve_scale_clamped(table, base, clamp_for(table))
}

/// As [`solve_scale`], for a given clamp `max` (255 or 32767).
pub fn solve_scale_clamped(table: &[u16; 64], base: &[u16; 64], max: u16) -> Option<ScaleRange> {
    // 32-bit arithmetic: 100 * 32767 + 49 fits, and a 32-bit division is several times
    // cheaper than a 64-bit one (128 of them per table).
    let max = u32::from(max);
    let (mut lo, mut hi) = (0u32, MAX_SCALE);
    for (&t, &b) in table.iter().zip(base) {
        let (t, b) = (u32::from(t), u32::from(b));
        if t > max || b == 0 {
            return None;
        }
        if t == max {
            // Clamped from above: the raw value reached at least `max`.
            lo = lo.max((100 * max - 50).div_ceil(b));
        } else if t == 1 {
            // Clamped from below (raw 0) or exactly 1: (B*S + 50) / 100 <= 1.
            hi = hi.min(149 / b);
        } else {
            lo = lo.max((100 * t - 50).div_ceil(b));
            hi = hi.min((100 * t + 49) / b);
        }
        if lo > hi {
            return None;
        }
    }
    Some(ScaleRange { lo, hi })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::tables::MOZJPEG;

    #[test]
    fn fractional_scale_inverts_quality_for_scale() {
        for q in [1.0, 12.5, 49.9, 50.0, 67.2, 86.4, 99.5, 100.0] {
            let back = quality_for_scale(scale_for_fractional_quality(q));
            assert!((back - q).abs() < 1e-9, "{q} -> {back}");
        }
        for q in [50u8, 75, 90] {
            assert_eq!(
                scale_for_fractional_quality(f64::from(q)),
                f64::from(scale_for_quality(q))
            );
        }
    }

    #[test]
    fn scale_formula_matches_libjpeg_anchor_points() {
        assert_eq!(scale_for_quality(50), 100);
        assert_eq!(scale_for_quality(100), 0);
        assert_eq!(scale_for_quality(1), 5000);
        assert_eq!(scale_for_quality(75), 50);
        assert_eq!(scale_for_quality(23), 217);
        assert_eq!(quality_for_scale(50.0), 75.0);
        assert_eq!(quality_for_scale(200.0), 25.0);
    }

    #[test]
    fn every_quality_round_trips_for_every_base_and_clamp() {
        for base in &MOZJPEG {
            for table_base in [&base.luma, &base.chroma] {
                for q in 1..=100 {
                    for max in [255, 32767] {
                        let table = scale_table(table_base, scale_for_quality(q), max);
                        let range = solve_scale(&table, table_base).expect("own table matches");
                        let (lo, hi) = range.qualities().expect("integer quality");
                        assert!(lo <= q && q <= hi, "q {q} not in {lo}..{hi}");
                        // Every quality in the range really gives the same table.
                        for other in lo..=hi {
                            assert_eq!(
                                scale_table(table_base, scale_for_quality(other), max),
                                table
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn clamped_table_needs_the_clamp() {
        // Annex K at q 10 (S 500): most entries exceed 255, so only the baseline clamp fits.
        let table = scale_table(&MOZJPEG[0].luma, 500, 255);
        assert!(solve_scale_clamped(&table, &MOZJPEG[0].luma, 255).is_some());
        assert!(solve_scale_clamped(&table, &MOZJPEG[0].luma, 32767).is_none());
    }

    #[test]
    fn other_family_does_not_match() {
        let robidoux = scale_table(&MOZJPEG[3].luma, 50, 255);
        assert!(solve_scale(&robidoux, &MOZJPEG[0].luma).is_none());
        let annex_k = scale_table(&MOZJPEG[0].luma, 50, 255);
        assert!(solve_scale(&annex_k, &MOZJPEG[3].luma).is_none());
    }

    #[test]
    fn linear_scale_between_integer_qualities_is_fractional() {
        // S = 51 lies between q = 75 (S 50) and q = 74 (S 52).
        let table = scale_table(&MOZJPEG[0].luma, 51, 255);
        let range = solve_scale(&table, &MOZJPEG[0].luma).unwrap();
        assert!(range.lo <= 51 && 51 <= range.hi);
        if range.qualities().is_none() {
            let q = range.fractional_quality();
            assert!(q > 74.0 && q < 75.0, "{q}");
        }
    }
}
