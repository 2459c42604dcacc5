//! A bounded reader of whole DCT blocks (DC and AC) from the first scan of a sequential Huffman
//! frame (SOF0, SOF1), in MCU order, stopping after a given number of blocks of one component.
//!
//! It exists for statistics over the quantized coefficients (the primary-quality analysis of
//! re-saved files) that need a sample of blocks, not the image: one 64-coefficient buffer is all
//! it holds, whatever the image size. Damaged data ends the read and is reported, not decoded
//! around: a sample taken from garbage would only mislead the statistics.

use super::scan::{Bits, HuffDecoder, Stop, Warnings, dc_difference, process_restart};
use super::zigzag::ZIGZAG_TO_NATURAL;
use super::{Header, Input, Parser, Process};
use crate::error::{Error, Result};

/// Why a block read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEnd {
    /// The requested number of blocks of the counted component was read.
    Enough,
    /// The first scan ended cleanly before that (a small image, or the scan does not hold the
    /// counted component).
    ScanEnd,
    /// The data ended early or is damaged (an end of input, a marker inside an MCU, a bad
    /// Huffman code, a run past coefficient 63); the blocks before it were delivered.
    Damaged(&'static str),
}

/// What a block read saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRead {
    /// Blocks delivered, of every component.
    pub blocks: u64,
    /// Blocks delivered of the counted component.
    pub counted: u64,
    /// Why the read ended.
    pub end: BlockEnd,
}

impl<I: Input> Parser<I> {
    /// Continues after `read_header` returned `header` and decodes the blocks of its first scan
    /// in MCU order, handing each to `visit` as (frame component index, quantized coefficients
    /// in natural order, the natural indices of its non-zero AC coefficients in coding order,
    /// MCU number counted from 0). The index list lets statistics skip the zeros without
    /// testing each coefficient. Stops at the end of the MCU in which
    /// `max_counted` blocks of frame component `counted` were delivered or `visit` returned
    /// false, at the end of the scan, or at the first sign of damage.
    ///
    /// Only sequential Huffman frames of 8-bit samples are read (the first scan then holds every
    /// coefficient of its components); anything else is `Error::Unsupported`, refused before any
    /// data is read.
    pub fn read_blocks(
        &mut self,
        header: &Header,
        counted: usize,
        max_counted: u64,
        mut visit: impl FnMut(usize, &[i16; 64], &[u8], u64) -> bool,
    ) -> Result<BlockRead> {
        let frame = &header.frame;
        let kind = frame.kind;
        if !matches!(
            kind.process(),
            Process::Baseline | Process::ExtendedSequential
        ) || kind.is_arithmetic()
            || kind.is_hierarchical()
            || header.hierarchical
        {
            return Err(Error::Unsupported(format!(
                "reading AC coefficients of a {} frame",
                kind.name()
            )));
        }
        if frame.precision != 8 || frame.height == 0 {
            return Err(Error::Unsupported(
                "reading AC coefficients of 12-bit or DNL frames".into(),
            ));
        }
        let scan = &header.first_scan;
        // Tables: the last DHT of each (class, slot) before the first scan.
        let mut dc: [Option<HuffDecoder>; 4] = Default::default();
        let mut ac: [Option<HuffDecoder>; 4] = Default::default();
        for t in &header.huffman_tables {
            let slot = usize::from(t.slot & 3);
            let built = HuffDecoder::new(t);
            if t.class == 0 {
                dc[slot] = built;
            } else {
                ac[slot] = built;
            }
        }
        let hmax = frame
            .components
            .iter()
            .map(|c| usize::from(c.h))
            .max()
            .unwrap_or(1);
        let vmax = frame
            .components
            .iter()
            .map(|c| usize::from(c.v))
            .max()
            .unwrap_or(1);
        if hmax == 0 || vmax == 0 || scan.components.is_empty() {
            return Err(Error::Unsupported("a sampling factor of zero".into()));
        }
        let single = scan.components.len() == 1;
        struct Comp<'t> {
            index: usize,
            h: usize,
            v: usize,
            dc: &'t HuffDecoder,
            ac: &'t HuffDecoder,
        }
        let mut comps = Vec::with_capacity(scan.components.len());
        for sc in &scan.components {
            let Some(c) = frame.components.get(sc.index) else {
                return Err(Error::Unsupported(
                    "a scan component outside the frame".into(),
                ));
            };
            let (Some(d), Some(a)) = (
                dc[usize::from(sc.dc_table & 3)].as_ref(),
                ac[usize::from(sc.ac_table & 3)].as_ref(),
            ) else {
                return Ok(BlockRead {
                    blocks: 0,
                    counted: 0,
                    end: BlockEnd::Damaged("a Huffman table of the scan is missing or invalid"),
                });
            };
            let (h, v) = if single {
                (1, 1)
            } else {
                (usize::from(c.h), usize::from(c.v))
            };
            comps.push(Comp {
                index: sc.index,
                h,
                v,
                dc: d,
                ac: a,
            });
        }
        let (width, height) = (usize::from(frame.width), usize::from(frame.height));
        let (mcus_x, mcus_y) = if single {
            let c = &frame.components[scan.components[0].index];
            (
                (width * usize::from(c.h)).div_ceil(8 * hmax),
                (height * usize::from(c.v)).div_ceil(8 * vmax),
            )
        } else {
            (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax))
        };

        let cur = &mut self.cur;
        let mut bits = Bits::default();
        let mut warnings = Warnings::default();
        let interval = usize::from(header.restart_interval);
        let mut restarts_to_go = interval;
        let mut next_restart: u8 = 0;
        let mut preds = [0i32; 4];
        let mut block = [0i16; 64];
        // The natural indices of the non-zero AC coefficients of `block`: the only ones to
        // clear before the next block.
        let mut nonzero = [0u8; 63];
        let mut nonzero_len = 0usize;
        let mut read = BlockRead {
            blocks: 0,
            counted: 0,
            end: BlockEnd::ScanEnd,
        };
        let mut mcu = 0u64;
        let mut more = true;
        for _ in 0..mcus_y {
            for _ in 0..mcus_x {
                if interval != 0 {
                    if restarts_to_go == 0 {
                        process_restart(&mut bits, cur, next_restart, &mut warnings)?;
                        if bits.stop.is_some() {
                            read.end = BlockEnd::Damaged("a restart marker is missing or wrong");
                            return Ok(read);
                        }
                        next_restart = (next_restart + 1) & 7;
                        preds = [0; 4];
                        restarts_to_go = interval;
                    }
                    restarts_to_go -= 1;
                }
                for (k, comp) in comps.iter().enumerate() {
                    for _ in 0..comp.v * comp.h {
                        for &k in &nonzero[..nonzero_len] {
                            block[usize::from(k)] = 0;
                        }
                        nonzero_len = 0;
                        let diff = dc_difference(&mut bits, cur, comp.dc)?;
                        preds[k] = preds[k].saturating_add(diff);
                        block[0] = preds[k].clamp(i16::MIN.into(), i16::MAX.into()) as i16;
                        // F.2.2.2: run/size symbols until EOB or coefficient 63.
                        let mut z = 1usize;
                        while z < 64 {
                            if bits.n < 32 {
                                bits.refill(cur)?;
                            }
                            if let Some((run, value)) = comp.ac.ac_short(&mut bits) {
                                z += run;
                                if z > 63 {
                                    read.end = BlockEnd::Damaged("an AC run past coefficient 63");
                                    return Ok(read);
                                }
                                let k = ZIGZAG_TO_NATURAL[z];
                                block[k] = value as i16;
                                nonzero[nonzero_len] = k as u8;
                                nonzero_len += 1;
                                z += 1;
                                continue;
                            }
                            let rs = comp.ac.decode(&mut bits);
                            let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
                            if s == 0 {
                                if r != 15 {
                                    break;
                                }
                                z += 16;
                                continue;
                            }
                            z += r;
                            if z > 63 {
                                read.end = BlockEnd::Damaged("an AC run past coefficient 63");
                                return Ok(read);
                            }
                            let raw = ((bits.acc >> 1) >> (63 - s)) as i32;
                            bits.consume(s);
                            let negative = i32::from(raw < (1 << s) >> 1);
                            let value = raw - negative * ((1 << s) - 1);
                            let k = ZIGZAG_TO_NATURAL[z];
                            block[k] = value as i16;
                            nonzero[nonzero_len] = k as u8;
                            nonzero_len += 1;
                            z += 1;
                        }
                        if bits.trouble() {
                            read.end = BlockEnd::Damaged(if bits.bad_code {
                                "a bad Huffman code"
                            } else if bits.bad_category != 0 {
                                "a DC category above 11"
                            } else if matches!(bits.stop, Some(Stop::Eof)) {
                                "the data ends inside the scan"
                            } else {
                                "a marker inside the scan data"
                            });
                            return Ok(read);
                        }
                        more &= visit(comp.index, &block, &nonzero[..nonzero_len], mcu);
                        read.blocks += 1;
                        if comp.index == counted {
                            read.counted += 1;
                        }
                    }
                }
                mcu += 1;
                if read.counted >= max_counted || !more {
                    read.end = BlockEnd::Enough;
                    return Ok(read);
                }
            }
        }
        Ok(read)
    }
}
