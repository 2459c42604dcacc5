//! A scaled, row-at-a-time libjpeg decoder that hands out samples in the file's own colour space.

use std::io::BufRead;

use mozjpeg::Decompress;
use mozjpeg::decompress::DecompressStarted;

use super::{error_manager, from_jcs, guard, jcs};
use crate::error::{Error, Result};
use crate::jpeg::ColorSpace;

pub use mozjpeg::{PixelDensity, PixelDensityUnit as DensityUnit};

/// libjpeg decoding at `M/8` scale into rows of interleaved samples, without colour conversion
/// (YCbCr stays YCbCr, YCCK stays YCCK): no rounding is added on the way to the encoder.
pub struct Decoder<R: BufRead> {
    inner: DecompressStarted<R>,
    color: ColorSpace,
    density: Option<PixelDensity>,
    width: usize,
    height: usize,
}

impl<R: BufRead> Decoder<R> {
    /// Reads the header and starts decompression at `scale_eighths / 8` (1..=8). Progressive
    /// and multi-scan files are decoded into libjpeg's whole-image coefficient buffer here, so
    /// the caller must have checked its size first.
    pub fn start(reader: R, scale_eighths: u8) -> Result<Self> {
        Self::start_as(reader, scale_eighths, false)
    }

    /// Starts decompression at full scale with the luma channel alone for a YCbCr file (its Y
    /// samples, the same as [`start`](Self::start) gives in the first channel: libjpeg then
    /// skips the chroma's inverse DCT and upsampling), as [`start`](Self::start) otherwise.
    /// [`color`](Self::color) is then `Gray`.
    pub fn start_luma(reader: R) -> Result<Self> {
        Self::start_as(reader, 8, true)
    }

    fn start_as(reader: R, scale_eighths: u8, luma_only: bool) -> Result<Self> {
        if !(1..=8).contains(&scale_eighths) {
            return Err(Error::Unsupported(format!("scale {scale_eighths}/8")));
        }
        guard(|| {
            let mut decompress = Decompress::with_err(error_manager())
                .from_reader(reader)
                .map_err(Error::Io)?;
            let mut color = from_jcs(decompress.color_space()).ok_or_else(|| {
                Error::Unsupported("colour space with an unusual number of components".into())
            })?;
            if luma_only && color == ColorSpace::YCbCr {
                color = ColorSpace::Gray;
            }
            let density = decompress.pixel_density();
            decompress.scale(scale_eighths);
            let inner = decompress.to_colorspace(jcs(color)).map_err(Error::Io)?;
            let (width, height) = (inner.width(), inner.height());
            Ok(Decoder {
                inner,
                color,
                density,
                width,
                height,
            })
        })
    }

    /// Output width at the chosen scale: `ceil(W * M / 8)`.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height in pixels, after any scaling.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Colour space of the rows returned (no conversion is done).
    pub fn color(&self) -> ColorSpace {
        self.color
    }

    /// Samples per pixel of the rows returned.
    pub fn channels(&self) -> usize {
        super::channels(self.color)
    }

    /// Pixel density from the JFIF header, when the file has one.
    pub fn density(&self) -> Option<&PixelDensity> {
        self.density.as_ref()
    }

    /// Fills `rows` (a whole number of rows of `width * channels` samples) with the next rows.
    pub fn read_rows(&mut self, rows: &mut [u8]) -> Result<()> {
        guard(|| {
            self.inner.read_scanlines_into(rows).map_err(Error::Io)?;
            Ok(())
        })
    }

    /// Lets libjpeg read to EOI, so that warnings about the rest of the file are counted.
    pub fn finish(self) -> Result<()> {
        guard(|| self.inner.finish().map_err(Error::Io))
    }
}
