//! The block decoders of progressive scans (T.81 G.1.2) writing into a compact record: DC first
//! and refinement, AC first (G.1.2.2) and AC refinement (G.1.2.3), each following libjpeg's
//! `jdphuff.c` step for step so that damaged data is read the same way.

use std::io;

use super::store::{Slot, set_flag, set_value, value};
use crate::jpeg::Input;
use crate::jpeg::input::Cursor;
use crate::jpeg::scan::{Bits, HuffDecoder, dc_difference};

/// What one scan codes, with the bits its blocks need.
#[derive(Clone, Copy)]
pub(crate) struct Band {
    /// Spectral selection, zig-zag indices.
    pub(crate) ss: usize,
    pub(crate) se: usize,
    /// Point transform (successive approximation bit).
    pub(crate) al: u32,
}

/// Reads `s` (1..=16) raw bits; the caller has made sure they are buffered unless the data
/// has stopped, past which they read as zeros.
#[inline(always)]
fn raw_bits(bits: &mut Bits, s: u32) -> i32 {
    let r = (bits.acc >> (64 - s)) as i32;
    bits.consume(s);
    r
}

/// F.12 EXTEND for s = 1..=15, branch-free.
#[inline(always)]
fn extend(r: i32, s: u32) -> i32 {
    let negative = i32::from(r < (1 << s) >> 1);
    r - negative * ((1 << s) - 1)
}

#[inline(always)]
fn one_bit<I: Input>(bits: &mut Bits, cur: &mut Cursor<I>) -> io::Result<bool> {
    if bits.n == 0 {
        bits.refill(cur)?;
    }
    let bit = bits.acc >> 63 != 0;
    bits.consume(1);
    Ok(bit)
}

/// G.1.2.1, first DC scan: the difference from the component's previous DC, shifted by Al,
/// into the value at bit `dc_at` of the record.
#[inline(always)]
pub(crate) fn dc_first<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    table: &HuffDecoder,
    pred: &mut i32,
    al: u32,
    record: &mut [u8],
    dc_at: u16,
) -> io::Result<()> {
    let diff = dc_difference(bits, cur, table)?;
    *pred = pred.saturating_add(diff);
    let v = (i64::from(*pred) << al).clamp(i32::MIN.into(), i32::MAX.into()) as i32;
    set_value(record, dc_at, v);
    Ok(())
}

/// G.1.2.1, DC refinement: one raw bit, bit Al of the DC.
#[inline(always)]
pub(crate) fn dc_refine<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    al: u32,
    record: &mut [u8],
    dc_at: u16,
) -> io::Result<()> {
    if one_bit(bits, cur)? {
        let v = value(record, dc_at) | (1 << al);
        set_value(record, dc_at, v);
    }
    Ok(())
}

/// G.1.2.2, first AC scan of band Ss..=Se (libjpeg's `decode_mcu_AC_first`): run/size symbols
/// and end-of-band runs spanning blocks (`eobrun`).
#[inline(always)]
pub(crate) fn ac_first<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    table: &HuffDecoder,
    slots: &[Slot; 80],
    band: Band,
    eobrun: &mut u32,
    record: &mut [u8],
) -> io::Result<()> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Ok(());
    }
    let mut k = band.ss;
    while k <= band.se {
        // A code (16 bits at most) and its extra bits (15 at most) fit in 32.
        if bits.n < 32 {
            bits.refill(cur)?;
        }
        let rs = table.decode(bits);
        let r = usize::from(rs >> 4);
        let s = u32::from(rs & 15);
        if s != 0 {
            k += r;
            let v = extend(raw_bits(bits, s), s);
            // k <= 63 + 15: the table's overflow entries stand for coefficient 63, as in libjpeg.
            if let Slot::Value(at) = slots[k] {
                set_value(record, at, v << band.al);
            }
            set_flag(record, k);
        } else if r == 15 {
            k += 15;
        } else {
            // G.1.2.2: EOBn, a run of 2^r + (r extra bits) end-of-bands, this block's included.
            let mut run = 1u32 << r;
            if r > 0 {
                run += raw_bits(bits, r as u32) as u32;
            }
            *eobrun = run - 1;
            break;
        }
        k += 1;
    }
    Ok(())
}

/// G.1.2.3: a correction bit for a coefficient that is already non-zero; it adds bit Al to the
/// magnitude when set and not already there. Coefficients the store does not keep only consume
/// their bit.
#[inline(always)]
fn correct<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    record: &mut [u8],
    slot: Slot,
    p1: i32,
) -> io::Result<()> {
    let bit = one_bit(bits, cur)?;
    if let (true, Slot::Value(at)) = (bit, slot) {
        let v = value(record, at);
        if v & p1 == 0 {
            set_value(record, at, if v >= 0 { v + p1 } else { v - p1 });
        }
    }
    Ok(())
}

/// Zig-zag positions `from..=to` as a mask (empty when `from > to`).
#[inline(always)]
fn span(from: usize, to: usize) -> u64 {
    if from > to || from > 63 {
        return 0;
    }
    let high = if to >= 63 {
        u64::MAX
    } else {
        (1u64 << (to + 1)) - 1
    };
    high & (u64::MAX << from)
}

/// Correction bits for the non-zero coefficients in `mask`, lowest zig-zag index first.
#[inline(always)]
fn correct_all<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    record: &mut [u8],
    slots: &[Slot; 80],
    mut mask: u64,
    p1: i32,
) -> io::Result<()> {
    while mask != 0 {
        let z = mask.trailing_zeros() as usize;
        correct(bits, cur, record, slots[z], p1)?;
        mask &= mask - 1;
    }
    Ok(())
}

/// G.1.2.3, AC refinement scan of band Ss..=Se (libjpeg's `decode_mcu_AC_refine`): new
/// coefficients of magnitude 1 << Al, each preceded by the correction bits of the non-zero
/// coefficients it passes over, and end-of-band runs during which only correction bits come.
/// `nonzero` is the block's mask of non-zero coefficients (`Layout::nonzero_mask`), which turns
/// libjpeg's walk over every coefficient of the band into a walk over the non-zero ones.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ac_refine<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    table: &HuffDecoder,
    slots: &[Slot; 80],
    band: Band,
    eobrun: &mut u32,
    record: &mut [u8],
    mut nonzero: u64,
) -> io::Result<()> {
    let p1 = 1i32 << band.al;
    let mut k = band.ss;
    if *eobrun == 0 {
        while k <= band.se {
            if bits.n < 32 {
                bits.refill(cur)?;
            }
            let rs = table.decode(bits);
            let r = u32::from(rs >> 4);
            let s = rs & 15;
            let mut new = 0;
            if s != 0 {
                // The size is always 1 in a valid file; libjpeg warns and reads on.
                new = if raw_bits(bits, 1) != 0 { p1 } else { -p1 };
            } else if r != 15 {
                let mut run = 1u32 << r;
                if r > 0 {
                    run += raw_bits(bits, r) as u32;
                }
                *eobrun = run;
                break;
            }
            // Pass over r zero coefficients and stop at the next zero one (libjpeg's
            // do-while), or run off the end of the band to Se + 1.
            let rest = span(k, band.se);
            let mut zeros = !nonzero & rest;
            for _ in 0..r {
                zeros &= zeros.wrapping_sub(1);
            }
            let target = if zeros == 0 {
                band.se + 1
            } else {
                zeros.trailing_zeros() as usize
            };
            let passed = nonzero & rest & !span(target, 63);
            correct_all(bits, cur, record, slots, passed, p1)?;
            if new != 0 {
                // Past Se the slot table holds the coefficient libjpeg writes there.
                if let Slot::Value(at) = slots[target] {
                    set_value(record, at, new);
                }
                set_flag(record, target);
                if target < 64 {
                    nonzero |= 1 << target;
                }
            }
            k = target + 1;
        }
    }
    if *eobrun > 0 {
        correct_all(bits, cur, record, slots, nonzero & span(k, band.se), p1)?;
        *eobrun -= 1;
    }
    Ok(())
}
