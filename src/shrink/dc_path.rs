//! 1/8 of a progressive JPEG from its DC coefficients alone: the DC scans are Huffman-decoded by
//! the format layer, the AC scans (about 90 % of the data) are skipped by marker search, and each
//! 8x8 block becomes one pixel, exactly as libjpeg's 1x1 IDCT makes it. Memory: 2 bytes per
//! block for the planes (the size of the output image) plus one output row.

use std::io::BufRead;

use super::{EncoderSink, Options, Plan, Resampler, RowSink};
use crate::error::Result;
use crate::jpeg::{Header, Parser, Streamed, dc::DcImage};

/// Bytes of the DC planes for this frame: one i16 per block, padded to whole MCUs.
pub fn dc_bytes(header: &Header) -> u64 {
    let frame = &header.frame;
    let (hmax, vmax) = frame.max_sampling();
    let (hmax, vmax) = (u64::from(hmax), u64::from(vmax));
    let mcus_x = u64::from(frame.width).div_ceil(8 * hmax);
    let mcus_y = u64::from(frame.height).div_ceil(8 * vmax);
    frame
        .components
        .iter()
        .map(|c| mcus_x * u64::from(c.h) * mcus_y * u64::from(c.v) * 2)
        .sum()
}

/// Decodes the DC planes from `input` (the whole file from SOI) and streams the 1/8 image into
/// the encoder, through the resampler when the plan asks for another size.
pub fn run<R: BufRead, W: std::io::Write>(
    input: R,
    plan: &Plan,
    channels: usize,
    sink: EncoderSink<'_, '_, W>,
    options: &Options,
) -> Result<W> {
    let mut parser = Parser::new(Streamed::new(input)).with_limits(&options.limits);
    let header = parser.read_header()?;
    let limits = crate::Limits {
        max_alloc: options.max_memory,
        ..options.limits
    };
    let image = parser.decode_dc(&header, &limits)?;
    for warning in &image.warnings {
        crate::codec::warn(warning.clone())?;
    }
    let size = (plan.decoded.0 as usize, plan.decoded.1 as usize);
    if plan.resamples() {
        let mut resampler = Resampler::new(
            sink,
            channels,
            size,
            (plan.output.0 as usize, plan.output.1 as usize),
            options.filter,
        );
        emit_rows(&header, &image, size, &mut resampler)?;
        resampler.into_sink().finish()
    } else {
        let mut sink = sink;
        emit_rows(&header, &image, size, &mut sink)?;
        sink.finish()
    }
}

/// libjpeg's 1x1 IDCT (`jidctred.c`, `jpeg_idct_1x1`): the dequantized DC, descaled by 8 with
/// rounding, level-shifted and clamped.
fn sample(dc: i16, quant: u16) -> u8 {
    let value = ((i32::from(dc) * i32::from(quant) + 4) >> 3) + 128;
    value.clamp(0, 255) as u8
}

/// Writes the 1/8 image row by row. Each output pixel is one block of the component with the
/// largest sampling factors; a subsampled component's block covers `hmax/h x vmax/v` pixels and
/// is repeated over them (libjpeg upsamples by replication at this scale, and the encoder's
/// downsampling of the repeated values gives the block value back).
fn emit_rows(
    header: &Header,
    image: &DcImage,
    (width, height): (usize, usize),
    sink: &mut impl RowSink,
) -> Result<()> {
    let comps = &header.frame.components;
    let (hmax, vmax) = header.frame.max_sampling();
    let (hmax, vmax) = (usize::from(hmax), usize::from(vmax));
    let channels = comps.len();
    let mut row = vec![0u8; width * channels];
    for y in 0..height {
        for (c, (comp, plane)) in comps.iter().zip(&image.planes).enumerate() {
            let by = (y * usize::from(comp.v) / vmax).min(plane.blocks_high.saturating_sub(1));
            let line = &plane.dc[by * plane.blocks_wide..(by + 1) * plane.blocks_wide];
            for x in 0..width {
                let bx = (x * usize::from(comp.h) / hmax).min(plane.blocks_wide.saturating_sub(1));
                row[x * channels + c] = sample(line[bx], plane.quant_dc);
            }
        }
        sink.write_rows(&row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_by_one_idct_matches_libjpeg_rounding() {
        assert_eq!(sample(0, 16), 128);
        assert_eq!(sample(-1, 4), 128); // (-4 + 4) >> 3 = 0
        assert_eq!(sample(-1, 5), 127); // (-5 + 4) >> 3 = -1 (arithmetic shift)
        assert_eq!(sample(100, 16), 255);
        assert_eq!(sample(-100, 16), 0);
    }
}
