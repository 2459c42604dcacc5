//! A libjpeg encoder, rows in, bytes out, under one of three profiles ([`Profile`]): baseline
//! with standard Huffman tables (streams), the same coefficients written progressive with
//! optimised tables, or mozjpeg's own smallest profile.

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
    /// How the coefficients are chosen and coded; the caller checks
    /// [`Profile::buffer_bytes`] against its memory budget.
    pub profile: Profile,
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
            profile: Profile::Fastest,
            density: None,
        }
    }
}

/// How an encoder chooses and codes the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// libjpeg-turbo's defaults: baseline, the standard (Annex K) Huffman tables, no trellis.
    /// Streams: memory does not grow with the image.
    Fastest,
    /// The coefficients of [`Profile::Fastest`], unchanged (so the file decodes to the same
    /// samples), written progressive (for YCbCr mozjpeg's 9-scan script, else libjpeg's simple
    /// one) with Huffman tables optimised for the image, much as `jpegtran -optimize
    /// -progressive` would rewrite the fastest file: 4 to 25 % smaller on camera photos. The
    /// fastest file is made in memory first and transcoded (`transcode.rs`): libjpeg then holds
    /// the image as coefficients once.
    Progressive,
    /// mozjpeg's own profile (progressive, trellis quantisation, optimised scans): about 17 %
    /// smaller than [`Profile::Fastest`], other coefficients and so other samples; libjpeg
    /// holds the image as coefficients twice.
    Smallest,
}

impl Profile {
    /// Bytes libjpeg holds for a whole `width` x `height` image under this profile: none for
    /// [`Profile::Fastest`]; one coefficient copy (128 bytes per block of every component,
    /// whole MCUs) for [`Profile::Progressive`]'s transcode; two for [`Profile::Smallest`]
    /// (quantised and unquantised, `jccoefct.c`).
    pub fn buffer_bytes(self, width: u64, height: u64, sampling: &[(u8, u8)]) -> u64 {
        let copies = match self {
            Profile::Fastest => 0,
            Profile::Progressive => 1,
            Profile::Smallest => 2,
        };
        copies * super::block_buffer_bytes(width, height, sampling)
    }
}

/// Bytes libjpeg buffers for the whole output when it optimises anything (mozjpeg's profile,
/// or optimised Huffman tables in [`super::MemoryEncoder`]): two coefficient copies (quantised
/// and unquantised, `jccoefct.c`) of 128 bytes per block of every component.
pub fn smallest_buffer_bytes(width: u64, height: u64, sampling: &[(u8, u8)]) -> u64 {
    Profile::Smallest.buffer_bytes(width, height, sampling)
}

/// A started encoder: feed it rows, then [`Encoder::finish`]. `'m` is the lifetime of the
/// markers to copy, which [`Profile::Progressive`] writes only when it finishes.
pub struct Encoder<'m, W: Write> {
    stage: Stage<'m, W>,
    row_len: usize,
}

/// Where the rows go: straight to the writer, or into a fastest file in memory that
/// [`Encoder::finish`] transcodes ([`Profile::Progressive`]).
enum Stage<'m, W: Write> {
    Direct(CompressStarted<Recording<W>>),
    Transcoded {
        fastest: CompressStarted<Recording<Vec<u8>>>,
        writer: W,
        markers: &'m [(u8, Vec<u8>)],
    },
}

impl<'m, W: Write> Encoder<'m, W> {
    /// Writes SOI, the headers and `markers` (APPn / COM payloads to copy, by marker code);
    /// under [`Profile::Progressive`] nothing reaches `writer` before [`Encoder::finish`].
    pub fn start(
        writer: W,
        settings: &EncoderSettings,
        markers: &'m [(u8, Vec<u8>)],
    ) -> Result<Self> {
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
        let stage = match settings.profile {
            Profile::Fastest | Profile::Smallest => {
                Stage::Direct(start_compress(writer, settings, markers)?)
            }
            // The markers go into the transcoded file only.
            Profile::Progressive => Stage::Transcoded {
                fastest: start_compress(Vec::new(), settings, &[])?,
                writer,
                markers,
            },
        };
        Ok(Encoder { stage, row_len })
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Compresses whole rows of interleaved samples.
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        debug_assert_eq!(rows.len() % self.row_len, 0);
        match &mut self.stage {
            Stage::Direct(inner) => guard(|| inner.write_scanlines(rows).map_err(Error::Io)),
            Stage::Transcoded { fastest, .. } => {
                guard(|| fastest.write_scanlines(rows).map_err(Error::Io))
            }
        }
    }

    /// Writes EOI and gives the writer back.
    pub fn finish(self) -> Result<W> {
        self.finish_keeping_fastest().map(|(writer, _)| writer)
    }

    /// [`Encoder::finish`], and under [`Profile::Progressive`] the fastest file it transcoded
    /// as well: the same coefficients, so it decodes to the same samples, several times faster
    /// than the progressive file (libjpeg decodes successive-approximation scans in several
    /// passes).
    pub fn finish_keeping_fastest(self) -> Result<(W, Option<Vec<u8>>)> {
        match self.stage {
            Stage::Direct(inner) => {
                guard(|| inner.finish().map(|w| (w.0, None)).map_err(Error::Io))
            }
            Stage::Transcoded {
                fastest,
                mut writer,
                markers,
            } => {
                let fastest = guard(|| fastest.finish().map(|w| w.0).map_err(Error::Io))?;
                super::optimize_progressive(&fastest, markers, &mut writer)?;
                Ok((writer, Some(fastest)))
            }
        }
    }
}

/// Sets libjpeg up for `settings` and writes SOI, the headers and `markers`.
fn start_compress<W: Write>(
    writer: W,
    settings: &EncoderSettings,
    markers: &[(u8, Vec<u8>)],
) -> Result<CompressStarted<Recording<W>>> {
    guard(|| {
        let color = jcs(settings.color);
        let mut compress = Compress::new_err(Box::new(error_manager()), color);
        if settings.profile != Profile::Smallest {
            // Must come first: it re-runs jpeg_set_defaults under libjpeg-turbo's profile
            // (baseline, no trellis, no optimised scans), the one that streams.
            compress.set_fastest_defaults();
        }
        compress.set_color_space(color);
        compress.set_size(settings.width, settings.height);
        compress.set_quality(f32::from(settings.quality));
        for (component, &(h, v)) in compress.components_mut().iter_mut().zip(&settings.sampling) {
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
        Ok(inner)
    })
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
