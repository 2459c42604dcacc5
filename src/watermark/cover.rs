//! `mark`'s cover luma held as narrowly as it can be without changing a value: the luma of a
//! YCbCr or grey file is whole grey levels, a byte per sample instead of an f32's four. Held
//! through the embedding and the SSIM fit, the stages that need the most memory, it spares
//! three quarters of a full-resolution plane (72 MB at 24 MP).

use super::signal::Plane;

/// A luma plane, as bytes when every sample is a whole grey level, else as it was.
pub(super) struct CoverLuma {
    pub(super) width: usize,
    pub(super) height: usize,
    samples: Samples,
}

enum Samples {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

impl CoverLuma {
    /// Narrows `luma` when that loses nothing: every sample the f32 of a byte, to the bit.
    pub(super) fn new(luma: Plane) -> CoverLuma {
        let whole = |v: f32| f32::from(v as u8).to_bits() == v.to_bits();
        let samples = if luma.data.iter().all(|&v| whole(v)) {
            Samples::Bytes(luma.data.iter().map(|&v| v as u8).collect())
        } else {
            Samples::Floats(luma.data)
        };
        CoverLuma {
            width: luma.width,
            height: luma.height,
            samples,
        }
    }

    /// Writes row `y` into `out` (`width` samples), as f32 exactly as the plane held them.
    pub(super) fn row(&self, y: usize, out: &mut [f32]) {
        self.span(y, 0, out);
    }

    /// Writes columns `x0..x0 + out.len()` of row `y` into `out`, as f32 exactly as the plane
    /// held them.
    pub(super) fn span(&self, y: usize, x0: usize, out: &mut [f32]) {
        let start = y * self.width + x0;
        let span = start..start + out.len();
        match &self.samples {
            Samples::Bytes(b) => out
                .iter_mut()
                .zip(&b[span])
                .for_each(|(o, &v)| *o = f32::from(v)),
            Samples::Floats(f) => out.copy_from_slice(&f[span]),
        }
    }

    /// The sum of `term(sample, other)` over the samples, in order, with `other`'s: the same
    /// terms and order as over the f32 plane.
    pub(super) fn sum_with(&self, other: &[f32], term: impl Fn(f32, f32) -> f64) -> f64 {
        match &self.samples {
            Samples::Bytes(b) => b
                .iter()
                .zip(other)
                .map(|(&x, &y)| term(f32::from(x), y))
                .sum(),
            Samples::Floats(f) => f.iter().zip(other).map(|(&x, &y)| term(x, y)).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole grey levels are narrowed and come back to the bit; a plane with any other value
    /// (a fraction, -0.0, past 255) is kept as it was.
    #[test]
    fn rows_give_back_the_plane_exactly() {
        let whole = Plane::from_fn(7, 3, |x, y| ((x * 40 + y * 90) % 256) as f32);
        for plane in [
            whole.clone(),
            Plane::from_fn(7, 3, |x, y| (x * 40 + y) as f32 * 0.299),
            Plane::from_fn(2, 1, |x, _| if x == 0 { -0.0 } else { 3.0 }),
            Plane::from_fn(2, 1, |x, _| 255.0 + x as f32),
        ] {
            let cover = CoverLuma::new(plane.clone());
            let mut row = vec![0f32; plane.width];
            for y in 0..plane.height {
                cover.row(y, &mut row);
                let expected = &plane.data[y * plane.width..(y + 1) * plane.width];
                let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&row), bits(expected));
            }
            let ones = vec![1f32; plane.len()];
            let sum = cover.sum_with(&ones, |x, y| f64::from(x - y));
            let expected: f64 = plane.data.iter().map(|&x| f64::from(x - 1.0)).sum();
            assert_eq!(sum.to_bits(), expected.to_bits());
        }
        assert!(matches!(CoverLuma::new(whole).samples, Samples::Bytes(_)));
        let fraction = Plane::from_fn(2, 1, |_, _| 0.5);
        assert!(matches!(
            CoverLuma::new(fraction).samples,
            Samples::Floats(_)
        ));
    }
}
