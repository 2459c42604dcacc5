//! A whole decoded image as `mark` and `verify` hold it, its luma plane, and the changes `mark`
//! writes back into its samples.

use std::io::Read;

use super::histogram::ChannelExtremes;
use super::signal::Plane;
use crate::codec::{self, Decoder, Encoder, EncoderSettings, PixelDensity};
use crate::error::{Error, Result};
use crate::jpeg::ColorSpace;
use crate::limits::Limits;
use crate::reencode::{self, Source};

/// A whole decoded image, interleaved samples in the file's colour space.
pub(super) struct Image {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) color: ColorSpace,
    pub(super) samples: Vec<u8>,
    pub(super) density: Option<PixelDensity>,
}

/// Bytes of working memory per pixel while marking or verifying: the samples plus at most nine
/// f32 planes at once. Measured peaks (docs/limits.md): `verify --payload` on an unmarked image,
/// both layers in full, 35 bytes per pixel; `mark` 18 (it lets the samples go while
/// embedding). Nine planes leave a tenth above the larger, and keep a 24 MP photo within the
/// default 1 GiB budget.
const WORK_BYTES_PER_PIXEL: u64 = 3 + 9 * 4;

/// Decodes a whole image for marking or verifying, after checking its working memory against
/// `limits`; CMYK and YCCK files are refused (no luma channel).
pub(super) fn decode<R: Read>(source: Source<R>, limits: &Limits) -> Result<Image> {
    decode_as(source, limits, false)
}

/// [`decode`], with a YCbCr file's luma alone where `luma_only` (a grey [`Image`] of its Y
/// samples).
fn decode_as<R: Read>(source: Source<R>, limits: &Limits, luma_only: bool) -> Result<Image> {
    let header = &source.header;
    let frame = &header.frame;
    let pixels = u64::from(frame.width) * u64::from(frame.height);
    limits.check_alloc(pixels * WORK_BYTES_PER_PIXEL)?;
    if codec::is_multi_scan(header) {
        limits.check_alloc(codec::coefficient_buffer_bytes(header))?;
    }
    let color = header.color_space();
    if matches!(color, ColorSpace::Cmyk | ColorSpace::Ycck) {
        return Err(Error::Unsupported(format!(
            "{} images (watermarks need a luma channel)",
            color.name()
        )));
    }
    let (mut decoder, color) = if luma_only && color == ColorSpace::YCbCr {
        (Decoder::start_luma(source.replay())?, ColorSpace::Gray)
    } else {
        (Decoder::start(source.replay(), 8)?, color)
    };
    if decoder.color() != color {
        return Err(Error::Unsupported(format!(
            "libjpeg reads this file as {}, jpgtool as {}",
            decoder.color().name(),
            color.name()
        )));
    }
    let (width, height) = (decoder.width(), decoder.height());
    let mut samples = vec![0u8; width * height * decoder.channels()];
    decoder.read_rows(&mut samples)?;
    let density = decoder.density().map(|d| PixelDensity {
        unit: d.unit,
        x: d.x,
        y: d.y,
    });
    decoder.finish()?;
    Ok(Image {
        width,
        height,
        color,
        samples,
        density,
    })
}

impl Image {
    pub(super) fn luma(&self) -> Result<Plane> {
        let data = match self.color {
            ColorSpace::Gray => self.samples.iter().map(|&v| f32::from(v)).collect(),
            ColorSpace::YCbCr => self
                .samples
                .chunks_exact(3)
                .map(|p| f32::from(p[0]))
                .collect(),
            ColorSpace::Rgb => self
                .samples
                .chunks_exact(3)
                .map(|p| {
                    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
                })
                .collect(),
            other => return Err(Error::Unsupported(format!("{} images", other.name()))),
        };
        Ok(Plane {
            width: self.width,
            height: self.height,
            data,
        })
    }

    /// The brightest and darkest colour channel per pixel; `None` for grey images.
    pub(super) fn channel_extremes(&self) -> Option<ChannelExtremes> {
        match self.color {
            ColorSpace::Rgb => Some(ChannelExtremes::from_rgb(
                self.width,
                self.height,
                &self.samples,
            )),
            ColorSpace::YCbCr => Some(ChannelExtremes::from_ycbcr(
                self.width,
                self.height,
                &self.samples,
            )),
            _ => None,
        }
    }

    /// Adds a luma change: to Y (or grey), or equally to R, G and B.
    pub(super) fn add_to_luma(&mut self, delta: &[f32]) {
        let channels = codec::channels(self.color);
        let luma_only = self.color != ColorSpace::Rgb;
        for (pixel, &d) in self.samples.chunks_exact_mut(channels).zip(delta) {
            let targets = if luma_only {
                &mut pixel[..1]
            } else {
                &mut pixel[..]
            };
            for v in targets {
                *v = to_byte(f32::from(*v) + d);
            }
        }
    }
}

/// The byte `v.round().clamp(0.0, 255.0) as u8` gives (the nearest, halves away from zero),
/// without a call to libm's `roundf`, which the baseline x86-64 target does not inline: for a
/// camera photo that call was tens of millions of calls per plane written. Clamping first does
/// not change the byte (the bounds are whole numbers), the truncation of a value in 0..=255 is
/// exact, and so is its difference from the value.
pub(super) fn to_byte(v: f32) -> u8 {
    let c = v.clamp(0.0, 255.0);
    let whole = c as u8;
    if c - f32::from(whole) >= 0.5 {
        whole + 1
    } else {
        whole
    }
}

/// Encodes interleaved `samples` as a JPEG in memory.
pub(super) fn encode(
    settings: &EncoderSettings,
    markers: &[(u8, Vec<u8>)],
    samples: &[u8],
) -> Result<Vec<u8>> {
    encode_keeping_fastest(settings, markers, samples).map(|(encoded, _)| encoded)
}

/// [`encode`], and for a progressive profile the baseline file it was transcoded from
/// ([`Encoder::finish_keeping_fastest`]): the same samples, decoded several times faster.
pub(super) fn encode_keeping_fastest(
    settings: &EncoderSettings,
    markers: &[(u8, Vec<u8>)],
    samples: &[u8],
) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let mut encoder = Encoder::start(Vec::new(), settings, markers)?;
    encoder.write_rows(samples)?;
    encoder.finish_keeping_fastest()
}

/// The luma of a JPEG held in memory, decoded as [`decode`] does (a YCbCr file's Y channel
/// alone: the same samples, without the chroma's work).
pub(super) fn decode_luma(jpeg: &[u8], limits: &Limits) -> Result<Plane> {
    decode_as(reencode::read_source(jpeg, limits)?, limits, true)?.luma()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The luma-only decode gives the Y channel of the full decode, sample for sample, on the
    /// repository's real and unusual files (every sampling in them, Y not the largest included,
    /// baseline and progressive, grey and RGB), and fails where the full decode fails.
    #[test]
    fn luma_only_decode_is_the_full_decodes_luma() {
        let limits = Limits::default();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let mut compared = 0;
        let mut colour = 0;
        for folder in ["real", "edge"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let Ok(source) = reencode::read_source(&bytes[..], &limits) else {
                    continue;
                };
                let frame = &source.header.frame;
                if u32::from(frame.width) * u32::from(frame.height) > 4_000_000 {
                    continue;
                }
                let full = decode(source, &limits).and_then(|image| {
                    colour += usize::from(image.color == ColorSpace::YCbCr);
                    image.luma()
                });
                let luma = decode_luma(&bytes, &limits);
                match (full, luma) {
                    (Ok(full), Ok(luma)) => {
                        assert_eq!(
                            (full.width, full.height),
                            (luma.width, luma.height),
                            "{path:?}"
                        );
                        assert!(full.data == luma.data, "{path:?}");
                        compared += 1;
                    }
                    (Err(_), Err(_)) => {}
                    (full, luma) => panic!("{path:?}: {:?} against {:?}", full.err(), luma.err()),
                }
            }
        }
        assert!(compared > 100 && colour > 80, "{compared} {colour}");
    }

    /// Against its definition on every 1/1024 of a grey level past both ends, the f32 values
    /// either side of each half, and the non-finite values.
    #[test]
    fn to_byte_is_round_then_clamp() {
        let reference = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        let mut values = vec![
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            1e30,
            -1e30,
        ];
        for i in -4096..=270 * 1024 {
            values.push(i as f32 / 1024.0);
        }
        for i in -8..=520 {
            let half = i as f32 / 2.0;
            values.extend([half.next_down(), half, half.next_up()]);
        }
        for v in values {
            assert_eq!(to_byte(v), reference(v), "{v:e}");
        }
    }
}
