//! Kernels both layers share: the [`Plane`] of f32 samples they work on, Gaussian low-pass,
//! gradient and dilation ([`lowpass`]), mean SSIM ([`ssim`]) and a 2-D FFT ([`fft`]).

pub(crate) mod fft;
pub(crate) mod lowpass;
pub(crate) mod ssim;

pub(crate) use fft::Fft2;
pub(crate) use lowpass::{dilate, gaussian_blur, gaussian_kernel};
pub use ssim::mean_ssim;

/// A single-channel image of f32 samples, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` samples, row after row.
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane of zeros.
    pub fn new(width: usize, height: usize) -> Plane {
        Plane {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }

    /// A plane whose sample at (x, y) is `f(x, y)`.
    pub fn from_fn(width: usize, height: usize, mut f: impl FnMut(usize, usize) -> f32) -> Plane {
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                data.push(f(x, y));
            }
        }
        Plane {
            width,
            height,
            data,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the plane has no samples.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}
