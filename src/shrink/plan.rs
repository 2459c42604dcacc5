//! Output size and how to reach it: libjpeg's scaled IDCT (`M/8`) alone, or a DCT prescale
//! followed by a streaming resampler for any other size.

use crate::error::{Error, Result};

/// The size the user asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `M/8` of the input, `M` in 1..=8: pure DCT-domain scaling, `ceil(W * M / 8)`.
    Eighths(u8),
    /// Divide both sides by a real factor >= 1: `round(W / F)` x `round(H / F)`.
    Factor(f64),
    /// This width; the height keeps the aspect ratio.
    Width(u32),
    /// This height; the width keeps the aspect ratio.
    Height(u32),
    /// The largest size that fits in the box, aspect ratio kept.
    Fit(u32, u32),
}

/// Resampling kernel for sizes that are not `M/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Exact area average (a box over each output pixel's footprint), the same thing the DCT
    /// scaling approximates. Default.
    #[default]
    Area,
    /// Lanczos with 3 lobes, as libvips' thumbnail: sharper, with slight ringing.
    Lanczos3,
}

/// What the pipeline will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// libjpeg decodes at `eighths / 8` of the input size.
    pub eighths: u8,
    /// Size out of the decoder.
    pub decoded: (u32, u32),
    /// Final size; equal to `decoded` when no resampling is needed.
    pub output: (u32, u32),
}

impl Plan {
    /// True when a resampler finishes what the DCT scaling started.
    pub fn resamples(&self) -> bool {
        self.decoded != self.output
    }
}

/// libjpeg's scaled output size (`jdmaster.c`: `jdiv_round_up(W * M, 8)`).
pub fn scaled(size: u32, eighths: u8) -> u32 {
    (u64::from(size) * u64::from(eighths)).div_ceil(8) as u32
}

fn rounded(size: u32, factor: f64) -> u32 {
    ((f64::from(size) / factor).round() as u32).max(1)
}

/// Chooses the decode scale and output size. `fast` lets the DCT do all of a reduction it can
/// (it needs only to leave 1x for the resampler); by default it leaves at least 2x, as libvips
/// does, because the scaled IDCT alone aliases more than an area filter.
pub fn plan(width: u32, height: u32, target: Target, fast: bool) -> Result<Plan> {
    if width == 0 || height == 0 {
        return Err(Error::Unsupported("image with zero width or height".into()));
    }
    let output = match target {
        Target::Eighths(m) => {
            if !(1..=8).contains(&m) {
                return Err(Error::Unsupported(format!("scale {m}/8")));
            }
            let size = (scaled(width, m), scaled(height, m));
            return Ok(Plan {
                eighths: m,
                decoded: size,
                output: size,
            });
        }
        Target::Factor(f) => {
            if !(f.is_finite() && f >= 1.0) {
                return Err(Error::Unsupported(format!(
                    "factor {f}: shrink only reduces (factor >= 1)"
                )));
            }
            (rounded(width, f), rounded(height, f))
        }
        Target::Width(w) => {
            let f = f64::from(width) / f64::from(w.max(1));
            (w.max(1), rounded(height, f))
        }
        Target::Height(h) => {
            let f = f64::from(height) / f64::from(h.max(1));
            (rounded(width, f), h.max(1))
        }
        Target::Fit(w, h) => {
            let f = (f64::from(width) / f64::from(w.max(1)))
                .max(f64::from(height) / f64::from(h.max(1)));
            (
                rounded(width, f).min(w.max(1)),
                rounded(height, f).min(h.max(1)),
            )
        }
    };
    if output.0 > width || output.1 > height {
        return Err(Error::Unsupported(format!(
            "{}x{} is larger than the input's {width}x{height}: shrink only reduces",
            output.0, output.1
        )));
    }
    // An exact M/8 size needs no resampler at all.
    for m in 1..=8u8 {
        if (scaled(width, m), scaled(height, m)) == output {
            return Ok(Plan {
                eighths: m,
                decoded: output,
                output,
            });
        }
    }
    let room = if fast { 1 } else { 2 };
    let eighths = (1..=8u8)
        .find(|&m| {
            u64::from(scaled(width, m)) >= room * u64::from(output.0)
                && u64::from(scaled(height, m)) >= room * u64::from(output.1)
        })
        .unwrap_or(8);
    Ok(Plan {
        eighths,
        decoded: (scaled(width, eighths), scaled(height, eighths)),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighths_follow_libjpeg_rounding() {
        let p = plan(24001, 15999, Target::Eighths(1), false).unwrap();
        assert_eq!(p.output, (3001, 2000));
        assert!(!p.resamples());
    }

    #[test]
    fn factor_two_is_pure_dct() {
        let p = plan(6000, 4000, Target::Factor(2.0), false).unwrap();
        assert_eq!((p.eighths, p.output), (4, (3000, 2000)));
    }

    #[test]
    fn other_factors_leave_twice_the_room() {
        // 1/3: 6/8 leaves 4500 >= 2 * 2000; 5/8 would leave 3750 < 4000.
        let p = plan(6000, 4000, Target::Factor(3.0), false).unwrap();
        assert_eq!(
            (p.eighths, p.decoded, p.output),
            (6, (4500, 3000), (2000, 1333))
        );
        let p = plan(6000, 4000, Target::Factor(10.0), false).unwrap();
        assert_eq!((p.eighths, p.output), (2, (600, 400)));
        let p = plan(6000, 4000, Target::Factor(10.0), true).unwrap();
        assert_eq!(p.eighths, 1);
    }

    #[test]
    fn boxes_keep_the_aspect_ratio() {
        let p = plan(6000, 4000, Target::Fit(1000, 1000), false).unwrap();
        assert_eq!(p.output, (1000, 667));
        let p = plan(6000, 4000, Target::Height(100), false).unwrap();
        assert_eq!(p.output, (150, 100));
    }

    #[test]
    fn refuses_enlarging() {
        assert!(plan(100, 100, Target::Width(200), false).is_err());
        assert!(plan(100, 100, Target::Factor(0.5), false).is_err());
    }
}
