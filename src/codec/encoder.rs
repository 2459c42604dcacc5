//! A streaming libjpeg encoder: baseline, standard Huffman tables, rows in, bytes out.

use std::io::Write;

use mozjpeg::compress::CompressStarted;
use mozjpeg::{Compress, Marker};

use super::{PixelDensity, error_manager, guard, jcs};
use crate::error::{Error, Result};
use crate::jpeg::ColorSpace;

/// What the encoder writes.
pub struct EncoderSettings {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Colour space of the rows given and of the file written (no conversion).
    pub color: ColorSpace,
    /// IJG quality 1..=100 (libjpeg's Annex K tables scaled).
    pub quality: u8,
    /// (h, v) sampling factors per component, in component order.
    pub sampling: Vec<(u8, u8)>,
    /// mozjpeg's own profile (progressive, trellis quantisation, optimised scans): about 17 %
    /// smaller, but libjpeg then buffers the whole output as coefficients (twice), which is why
    /// it is opt-in and checked against the memory budget by the caller.
    pub smallest: bool,
    /// JFIF pixel density to keep from the input.
    pub density: Option<PixelDensity>,
}

impl EncoderSettings {
    /// A greyscale baseline JPEG of `width` x `height` at IJG `quality`, no density.
    pub fn grey(width: usize, height: usize, quality: u8) -> EncoderSettings {
        EncoderSettings {
            width,
            height,
            color: ColorSpace::Gray,
            quality,
            sampling: vec![(1, 1)],
            smallest: false,
            density: None,
        }
    }
}

/// Bytes libjpeg buffers for the whole output when `smallest` is on: two coefficient copies
/// (quantised and unquantised, `jccoefct.c`) of 128 bytes per block of every component.
pub fn smallest_buffer_bytes(width: u64, height: u64, sampling: &[(u8, u8)]) -> u64 {
    let hmax = sampling.iter().map(|s| u64::from(s.0)).max().unwrap_or(1);
    let vmax = sampling.iter().map(|s| u64::from(s.1)).max().unwrap_or(1);
    let mcu_w = 8 * hmax;
    let mcu_h = 8 * vmax;
    let mcus = width.div_ceil(mcu_w) * height.div_ceil(mcu_h);
    let blocks_per_mcu: u64 = sampling
        .iter()
        .map(|&(h, v)| u64::from(h) * u64::from(v))
        .sum();
    2 * 128 * mcus * blocks_per_mcu
}

/// A started encoder: feed it rows, then [`Encoder::finish`].
pub struct Encoder<W: Write> {
    inner: CompressStarted<Recording<W>>,
    row_len: usize,
}

impl<W: Write> Encoder<W> {
    /// Writes SOI, the headers and `markers` (APPn / COM payloads to copy, by marker code).
    pub fn start(writer: W, settings: &EncoderSettings, markers: &[(u8, Vec<u8>)]) -> Result<Self> {
        let channels = super::channels(settings.color);
        if settings.sampling.len() != channels {
            return Err(Error::Unsupported(format!(
                "{} sampling factors for {channels} components",
                settings.sampling.len()
            )));
        }
        let row_len = settings
            .width
            .checked_mul(channels)
            .ok_or_else(|| Error::Unsupported("output width".into()))?;
        guard(|| {
            let color = jcs(settings.color);
            let mut compress = Compress::new_err(Box::new(error_manager()), color);
            if !settings.smallest {
                // Must come first: it re-runs jpeg_set_defaults under libjpeg-turbo's profile
                // (baseline, no trellis, no optimised scans), the one that streams.
                compress.set_fastest_defaults();
            }
            compress.set_color_space(color);
            compress.set_size(settings.width, settings.height);
            compress.set_quality(f32::from(settings.quality));
            for (component, &(h, v)) in compress.components_mut().iter_mut().zip(&settings.sampling)
            {
                component.h_samp_factor = h.into();
                component.v_samp_factor = v.into();
            }
            if let Some(density) = &settings.density {
                compress.set_pixel_density(PixelDensity {
                    unit: density.unit,
                    x: density.x,
                    y: density.y,
                });
            }
            let mut inner = compress
                .start_compress(Recording(writer))
                .map_err(Error::Io)?;
            for (code, payload) in markers {
                let marker = if *code == crate::jpeg::markers::COM {
                    Marker::COM
                } else {
                    Marker::APP(code - crate::jpeg::markers::APP0)
                };
                inner.write_marker(marker, payload);
            }
            Ok(Encoder { inner, row_len })
        })
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Compresses whole rows of interleaved samples.
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        debug_assert_eq!(rows.len() % self.row_len, 0);
        guard(|| self.inner.write_scanlines(rows).map_err(Error::Io))
    }

    /// Writes EOI and gives the writer back.
    pub fn finish(self) -> Result<W> {
        guard(|| self.inner.finish().map(|w| w.0).map_err(Error::Io))
    }
}

/// The output writer, with failed writes remembered so that the error says why (a full disk)
/// rather than libjpeg's generic message.
struct Recording<W>(W);

impl<W: Write> Write for Recording<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(super::sink_error)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(super::sink_error)
    }
}
