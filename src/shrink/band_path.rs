//! 1/2 and 1/4 of a progressive JPEG from a compact coefficient store: the format layer's band
//! decoder keeps the coefficients libjpeg's reduced IDCT reads (7x7 of 8x8 for 1/2, 5x5 for
//! 1/4), the same reduced IDCT turns each block into 4x4 (2x2) samples, libjpeg's own scaled
//! decode, and the rows go to the encoder as they are made, one band of MCU rows at a time.
//! Memory: the band's store (82 or 46 bytes per block) plus a few rows.

use super::idct::ScaledIdct;
use super::{Options, Plan, RowSink};
use crate::error::Result;
use crate::jpeg::progressive::{BandDecoder, BandPlan, BandView};
use crate::jpeg::{Header, Input, Parser};

/// Output rows handed to the sink at once.
const BATCH_ROWS: usize = 16;

/// Decodes `header`'s image band by band from `parser` (standing after the header) and writes
/// the `plan.decoded` image to `sink`. Returns the decoder's warnings.
pub fn run<I: Input>(
    parser: &mut Parser<I>,
    header: &Header,
    bands: BandPlan,
    plan: &Plan,
    sink: &mut impl RowSink,
    options: &Options,
) -> Result<Vec<String>> {
    let limits = crate::Limits {
        max_alloc: options.max_memory,
        ..options.limits
    };
    let mut decoder = BandDecoder::new(header, bands, &limits)?;
    let mut emitter = Emitter::new(
        header,
        bands.keep,
        (plan.decoded.0 as usize, plan.decoded.1 as usize),
    );
    while let Some(band) = decoder.next_band(parser)? {
        emitter.band(&band, sink)?;
    }
    Ok(decoder.warnings())
}

/// Turns bands of coefficients into rows of interleaved samples.
struct Emitter {
    n: usize,
    idct: ScaledIdct,
    width: usize,
    height: usize,
    /// Per component: sampling factors and the largest ones.
    sampling: Vec<(usize, usize)>,
    max: (usize, usize),
    /// Per component: `n` rows of the component's scaled plane and the block row they hold.
    strips: Vec<(Vec<u8>, Option<usize>)>,
    rows: Vec<u8>,
    /// Output rows written so far.
    done: usize,
}

impl Emitter {
    fn new(header: &Header, n: usize, (width, height): (usize, usize)) -> Self {
        let comps = &header.frame.components;
        let (hmax, vmax) = header.frame.max_sampling();
        Emitter {
            n,
            idct: ScaledIdct::new(n),
            width,
            height,
            sampling: comps
                .iter()
                .map(|c| (usize::from(c.h), usize::from(c.v)))
                .collect(),
            max: (usize::from(hmax), usize::from(vmax)),
            strips: vec![(Vec::new(), None); comps.len()],
            rows: Vec::with_capacity(width * comps.len() * BATCH_ROWS),
            done: 0,
        }
    }

    /// Emits the output rows of one band. A subsampled component's pixel is repeated over the
    /// `hmax/h x vmax/v` output pixels it covers; the encoder's downsampling (a box average)
    /// of the repeated values gives it back.
    fn band(&mut self, band: &BandView<'_>, sink: &mut impl RowSink) -> Result<()> {
        let n = self.n;
        let (hmax, vmax) = self.max;
        let channels = self.sampling.len();
        let end = (band.mcu_rows().end * vmax * n).min(self.height);
        let mut coefs = [0i32; 64];
        while self.done < end {
            let y = self.done;
            let start = self.rows.len();
            self.rows.resize(start + self.width * channels, 0);
            for c in 0..channels {
                let (h, v) = self.sampling[c];
                let blocks = band.block_rows(c);
                let wide = band.blocks_wide(c);
                let stride = wide * n;
                let yc = y * v / vmax;
                let block_row =
                    (yc / n).clamp(blocks.start, blocks.end.saturating_sub(1).max(blocks.start));
                let (strip, held) = &mut self.strips[c];
                if *held != Some(block_row) {
                    strip.resize(stride * n, 0);
                    if blocks.contains(&block_row) {
                        let quant = band.quant(c);
                        for bx in 0..wide {
                            band.dequantized(c, block_row, bx, &quant, &mut coefs);
                            self.idct.block(&coefs, &mut strip[bx * n..], stride);
                        }
                    }
                    *held = Some(block_row);
                }
                let line = &strip[(yc % n) * stride..(yc % n + 1) * stride];
                let out = &mut self.rows[start..];
                spread(line, out, c, channels, self.width, hmax / h);
            }
            self.done += 1;
            if self.rows.len() >= self.width * channels * BATCH_ROWS || self.done == end {
                sink.write_rows(&self.rows)?;
                self.rows.clear();
            }
        }
        Ok(())
    }
}

/// Writes channel `c` of `width` interleaved pixels from `line`, each sample repeated `repeat`
/// times (the component's horizontal subsampling; JPEG allows factors 1 to 4).
#[inline]
fn spread(line: &[u8], out: &mut [u8], c: usize, channels: usize, width: usize, repeat: usize) {
    let out = &mut out[..width * channels];
    match repeat {
        1 => {
            for (pixel, &v) in out.chunks_exact_mut(channels).zip(line) {
                pixel[c] = v;
            }
        }
        2 => {
            for (pair, &v) in out.chunks_mut(2 * channels).zip(line) {
                for pixel in pair.chunks_exact_mut(channels) {
                    pixel[c] = v;
                }
            }
        }
        r => {
            let r = r.max(1);
            for (group, &v) in out.chunks_mut(r * channels).zip(line) {
                for pixel in group.chunks_exact_mut(channels) {
                    pixel[c] = v;
                }
            }
        }
    }
}
