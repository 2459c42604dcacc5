//! Re-encoding without leaving the DCT domain, as jpegtran transcodes: libjpeg reads the
//! quantised coefficients, each is dequantised with its old table entry and quantised again with
//! the IJG (Annex K) table at the new quality, and libjpeg writes them with optimised Huffman
//! tables. No inverse or forward DCT, no colour conversion, no chroma resampling.
//!
//! The new level of a coefficient is `|c| * old / new + offset`, truncated. An offset of 0.5
//! rounds to the nearest level, as libjpeg's forward quantiser does; a smaller offset for the AC
//! coefficients (a dead zone, as video encoders use) sends more small values to zero, which costs
//! fewer bits than it costs in error. See [`Rounding`].

use std::os::raw::c_int;

use mozjpeg_sys as ffi;

use super::guard;
use super::recoder::VecDestination;
use super::transcode::Structs;
use crate::error::{Error, Result};

/// Where requantised AC coefficients are rounded: the fraction above which a magnitude goes up
/// to the next level, for the luma (and any non-YCbCr) components and for the chroma ones. The
/// DC coefficient is always rounded to nearest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rounding {
    /// Offset for the AC coefficients of luma, and of every component outside YCbCr/YCCK.
    pub luma_ac: f64,
    /// Offset for the AC coefficients of Cb and Cr.
    pub chroma_ac: f64,
}

impl Rounding {
    /// Round to nearest everywhere: the coefficients libjpeg's own quantiser would give.
    pub const NEAREST: Rounding = Rounding {
        luma_ac: 0.5,
        chroma_ac: 0.5,
    };
}

/// Transcodes `input` (a whole JPEG, already checked by our own parser) to IJG `quality`:
/// baseline with optimised Huffman tables, or progressive (the transcode's script) when
/// `progressive`. AC coefficients are rounded as `rounding` says (offsets in 0..=0.5).
/// `markers` are written after the frame's own (JFIF/Adobe) markers. The output may not exceed
/// `max_bytes` ([`Error::LimitExceeded`] naming [`super::OUTPUT_BYTES`]).
pub fn requantize(
    input: &[u8],
    quality: u8,
    progressive: bool,
    rounding: Rounding,
    markers: &[(u8, Vec<u8>)],
    max_bytes: u64,
) -> Result<Vec<u8>> {
    let mut s = Structs::new(VecDestination::new(max_bytes));
    guard(|| {
        // SAFETY: the structs are created before use and destroyed by `Structs::drop`; `input`
        // outlives the decompress struct's use of it (this call); the coefficient arrays are
        // accessed only within the bounds libjpeg allocated (rows and blocks rounded up to whole
        // MCUs, as jdcoefct.c allocates them).
        unsafe {
            let coefficients = s.read_coefficients(input)?;
            let dinfo = &mut *s.dinfo;
            let cinfo = &mut *s.cinfo;
            // New tables in slots 0 (luma) and 1 (chroma), as jpeg_set_colorspace assigns them.
            ffi::jpeg_set_quality(cinfo, c_int::from(quality), 0);
            let chroma_slots = matches!(
                dinfo.jpeg_color_space,
                ffi::J_COLOR_SPACE::JCS_YCbCr | ffi::J_COLOR_SPACE::JCS_YCCK
            );
            let count = dinfo.num_components as usize;
            let src_components = std::slice::from_raw_parts(dinfo.comp_info, count);
            let dst_components = std::slice::from_raw_parts_mut(cinfo.comp_info, count);
            for (index, (src, dst)) in src_components.iter().zip(dst_components).enumerate() {
                let slot = usize::from(chroma_slots && (index == 1 || index == 2));
                dst.quant_tbl_no = slot as c_int;
                let old = src
                    .quant_table
                    .as_ref()
                    .ok_or_else(|| Error::Codec("component without a table".into()))?
                    .quantval;
                let new = cinfo.quant_tbl_ptrs[slot]
                    .as_ref()
                    .ok_or_else(|| Error::Codec("no new table".into()))?
                    .quantval;
                let h = src.h_samp_factor.max(1) as u32;
                let v = src.v_samp_factor.max(1) as u32;
                let rows = src.height_in_blocks.div_ceil(v) * v;
                let columns = (src.width_in_blocks.div_ceil(h) * h) as usize;
                let mem = &*dinfo.common.mem;
                let access = mem
                    .access_virt_barray
                    .ok_or_else(|| Error::Codec("no memory manager".into()))?;
                let array = *coefficients.add(index);
                let ac_offset = if slot == 1 {
                    rounding.chroma_ac
                } else {
                    rounding.luma_ac
                };
                let ratios = Ratios::new(&old, &new, 0.5, ac_offset.clamp(0.0, 0.5));
                for row in 0..rows {
                    let blocks = access(&mut dinfo.common, array, row, 1, 1);
                    let blocks = std::slice::from_raw_parts_mut(*blocks, columns);
                    for block in blocks {
                        ratios.apply(block);
                    }
                }
            }
            s.write_coefficients(coefficients, progressive, markers)?;
        }
        Ok(())
    })?;
    Ok(s.dest.take())
}

/// Levels below this are requantised through a table made per component (most nonzero
/// coefficients of a photo are small), larger ones by dividing.
const SMALL: usize = 64;

/// Per-position quantisers (old and new) and rounding offsets, as `f64`, and the new level of
/// every small old level, set once per component.
struct Ratios {
    old: [f64; 64],
    new: [f64; 64],
    offset: [f64; 64],
    small: Box<[[i16; SMALL]; 64]>,
}

impl Ratios {
    fn new(old: &[u16; 64], new: &[u16; 64], dc_offset: f64, ac_offset: f64) -> Self {
        let mut ratios = Ratios {
            old: [0.0; 64],
            new: [1.0; 64],
            offset: [ac_offset; 64],
            small: Box::new([[0; SMALL]; 64]),
        };
        ratios.offset[0] = dc_offset;
        for i in 0..64 {
            ratios.old[i] = f64::from(old[i]);
            ratios.new[i] = f64::from(new[i].max(1));
            for level in 0..SMALL {
                ratios.small[i][level] = ratios.level(i, level as f64);
            }
        }
        ratios
    }

    /// The new level of a coefficient of magnitude `magnitude` at position `i`:
    /// `magnitude * old / new + offset`, truncated. The quotient is exact to far better than
    /// the distance of any fraction `k / new` from the offset, so an offset of 0.5 gives
    /// libjpeg's rounding (half away from zero) exactly.
    #[inline]
    fn level(&self, i: usize, magnitude: f64) -> i16 {
        (magnitude * self.old[i] / self.new[i] + self.offset[i]).min(32767.0) as i16
    }

    /// Dequantises each coefficient with its old quantiser and quantises it with the new one,
    /// keeping its sign.
    #[inline]
    fn apply(&self, block: &mut [i16; 64]) {
        // Most coefficients of a block are zero: skip them four at a time.
        for (at, quad) in block.chunks_exact_mut(4).enumerate() {
            if (quad[0] | quad[1] | quad[2] | quad[3]) == 0 {
                continue;
            }
            for (k, c) in quad.iter_mut().enumerate() {
                let i = at * 4 + k;
                let magnitude = c.unsigned_abs() as usize;
                let level = match self.small[i].get(magnitude) {
                    Some(&level) => level,
                    None => self.level(i, magnitude as f64),
                };
                *c = if *c < 0 { -level } else { level };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 * 16 = 160 and 160 / 13 = 12.3: 12. -3 * 10 = -30, -30 / 20 = -1.5: -2 (away from 0).
    #[test]
    fn requantises_with_rounding_half_away_from_zero() {
        let mut block = [0i16; 64];
        block[0] = 10;
        block[1] = -3;
        let mut old = [1u16; 64];
        old[0] = 16;
        old[1] = 10;
        let mut new = [1u16; 64];
        new[0] = 13;
        new[1] = 20;
        Ratios::new(&old, &new, 0.5, 0.5).apply(&mut block);
        assert_eq!((block[0], block[1]), (12, -2));
    }

    /// With offset 0.5 the floating-point quotient gives exactly the integer formula
    /// `(|c| * old + new / 2) / new` (libjpeg's rounding), over every level and a spread of
    /// quantiser pairs, odd and even.
    #[test]
    fn nearest_matches_the_integer_formula() {
        for (q_old, q_new) in [
            (1, 3),
            (3, 2),
            (5, 8),
            (7, 13),
            (10, 16),
            (255, 254),
            (2, 255),
        ] {
            for c in (-2047i32..=2047).step_by(3) {
                let mut block = [0i16; 64];
                block[5] = c as i16;
                Ratios::new(&[q_old; 64], &[q_new; 64], 0.5, 0.5).apply(&mut block);
                let v = c * i32::from(q_old);
                let q = i32::from(q_new);
                let want = v.signum() * ((v.abs() + q / 2) / q);
                assert_eq!(i32::from(block[5]), want, "c {c} old {q_old} new {q_new}");
            }
        }
    }

    /// A dead zone on AC only: 5 * 8 / 10 = 4.0 stays 4 whatever the offset; 1 * 6 / 10 = 0.6
    /// goes to 0 at offset 0.35 (0.95) but to 1 at 0.4 (1.0); -7 * 6 / 10 = -4.2 stays -4; the
    /// DC's 0.6 is still rounded to nearest: 1.
    #[test]
    fn dead_zone_rounds_ac_toward_zero_and_leaves_dc() {
        let mut block = [0i16; 64];
        block[0] = 1;
        block[1] = 1;
        block[2] = -7;
        block[3] = 5;
        let mut old = [6u16; 64];
        old[3] = 8;
        Ratios::new(&old, &[10; 64], 0.5, 0.35).apply(&mut block);
        assert_eq!(block[..4], [1, 0, -4, 4]);
        let mut block = [0i16; 64];
        block[1] = 1;
        Ratios::new(&old, &[10; 64], 0.5, 0.4).apply(&mut block);
        assert_eq!(block[1], 1, "0.6 + 0.4 reaches the next level");
    }
}
