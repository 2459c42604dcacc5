//! A 2-D FFT (rows, then columns through a transpose) on complex f32 samples.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// A 2-D FFT on a row-major buffer of `width` x `height`, forward or inverse (unnormalised).
pub(crate) struct Fft2 {
    width: usize,
    height: usize,
    row: Arc<dyn Fft<f32>>,
    column: Arc<dyn Fft<f32>>,
}

impl Fft2 {
    pub(crate) fn new(width: usize, height: usize, inverse: bool) -> Fft2 {
        let mut planner = FftPlanner::new();
        let (row, column) = if inverse {
            (
                planner.plan_fft_inverse(width),
                planner.plan_fft_inverse(height),
            )
        } else {
            (
                planner.plan_fft_forward(width),
                planner.plan_fft_forward(height),
            )
        };
        Fft2 {
            width,
            height,
            row,
            column,
        }
    }

    /// The transform of `data` (row-major) written to `out` transposed (column-major): the
    /// transpose back is left out, for spectra that are only multiplied together and handed
    /// to [`Fft2::process_from_transposed`]. `data` is overwritten.
    pub(crate) fn process_to_transposed(&self, data: &mut [Complex32], out: &mut [Complex32]) {
        debug_assert_eq!(data.len(), self.width * self.height);
        debug_assert_eq!(out.len(), data.len());
        self.row.process(data);
        transpose::transpose(data, out, self.width, self.height);
        self.column.process(out);
    }

    /// The transform of a transposed (column-major) `data`, as
    /// [`Fft2::process_to_transposed`] leaves it, written to `out` row-major. `data` is
    /// overwritten.
    pub(crate) fn process_from_transposed(&self, data: &mut [Complex32], out: &mut [Complex32]) {
        debug_assert_eq!(data.len(), self.width * self.height);
        debug_assert_eq!(out.len(), data.len());
        self.column.process(data);
        transpose::transpose(data, out, self.height, self.width);
        self.row.process(out);
    }

    pub(crate) fn process(&self, data: &mut [Complex32]) {
        let mut transposed = vec![Complex32::default(); data.len()];
        self.process_to_transposed(data, &mut transposed);
        transpose::transpose(&transposed, data, self.height, self.width);
    }
}
