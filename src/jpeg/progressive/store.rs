//! The compact coefficient store of one band of block rows: per block, the coefficients an
//! `N x N` scaled IDCT reads (12 bits each), and one bit per other coefficient saying whether
//! it is non-zero, which is all an AC refinement scan needs of them (T.81 G.1.2.3: its syntax
//! depends on which coefficients of the band are already non-zero).
//!
//! An `N x N` output block is the `8/N x 8/N` box average of the block's 8x8 picture, and the
//! average over groups of `8/N` samples of the 8-point basis function of frequency `u` vanishes
//! for some `u`: `u = 4` for pairs, `u = 2, 4, 6` for groups of four. libjpeg's reduced IDCTs
//! (`jidctred.c`) read exactly the others, so that is what is kept: frequencies 0..=3 and 5..=7
//! in each direction for 1/2 (49 coefficients), 0, 1, 3, 5, 7 for 1/4 (25), the DC for 1/8.

use crate::error::{Error, Result};
use crate::jpeg::zigzag::ZIGZAG_TO_NATURAL;

/// Bits of a kept coefficient. Quantized DCT coefficients of 8-bit samples lie within
/// -1024..=1023 (T.81 F.1.2.1: DC differences of category 11 at most, AC values of category 10
/// at most); 12 bits leave room for a DC predictor that damaged data pushes further, clamped.
const VALUE_BITS: usize = 12;
const VALUE_MIN: i32 = -(1 << (VALUE_BITS - 1));
const VALUE_MAX: i32 = (1 << (VALUE_BITS - 1)) - 1;

/// Where coefficient `k` (zig-zag order) of a block lives in its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A kept coefficient: its value at this bit offset.
    Value(u16),
    /// Any other: one non-zero flag at this bit offset.
    Flag(u16),
}

/// The frequencies (in one direction) an `n x n` scaled IDCT reads; see the module docs.
pub(crate) fn kept_frequencies(n: usize) -> &'static [usize] {
    match n {
        1 => &[0],
        2 => &[0, 1, 3, 5, 7],
        4 => &[0, 1, 2, 3, 5, 6, 7],
        _ => &[0, 1, 2, 3, 4, 5, 6, 7],
    }
}

/// The record layout for an `n x n` output block: the non-zero flags of the coefficients not
/// kept first (in zig-zag order, padded to 4 bits), then the kept values, DC first.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Bytes per block.
    pub(crate) record: usize,
    /// Bit offset of the first kept value (the DC); the others follow, 12 bits each.
    pub(crate) value_base: usize,
    /// Slot of each zig-zag index; entries 64..80 repeat 63, as libjpeg's
    /// `jpeg_natural_order` does for runs that damaged data pushes past the end.
    pub(crate) slots: [Slot; 80],
    /// Kept coefficients: zig-zag index and bit offset of the value.
    kept: Vec<(u8, u16)>,
    /// Kept coefficients: natural (row-major) index and bit offset of the value.
    pub(crate) kept_natural: Vec<(u8, u16)>,
    /// For each byte of flags and each value of it, the zig-zag positions it marks non-zero.
    flag_masks: Vec<[u64; 256]>,
}

impl Layout {
    pub(crate) fn new(n: usize) -> Self {
        debug_assert!(matches!(n, 1 | 2 | 4 | 8));
        let freqs = kept_frequencies(n);
        let side = freqs.len();
        let kept_count = side * side;
        let flag_count = 64 - kept_count;
        // Values start on a multiple of 4 bits, so that each spans exactly two bytes.
        let value_base = flag_count.next_multiple_of(4);
        let mut flags = 0;
        let mut slots = [Slot::Flag(0); 80];
        let mut kept = Vec::new();
        let mut kept_natural = Vec::new();
        let mut flag_masks = vec![[0u64; 256]; flag_count.div_ceil(8)];
        for z in 0..64 {
            let natural = ZIGZAG_TO_NATURAL[z];
            let (row, col) = (natural / 8, natural % 8);
            let position = |f: usize| freqs.iter().position(|&k| k == f);
            slots[z] = if let (Some(r), Some(c)) = (position(row), position(col)) {
                let at = (value_base + (r * side + c) * VALUE_BITS) as u16;
                kept.push((z as u8, at));
                kept_natural.push((natural as u8, at));
                Slot::Value(at)
            } else {
                let at = flags;
                flags += 1;
                for (byte, mask) in flag_masks[at / 8].iter_mut().enumerate() {
                    if byte >> (at % 8) & 1 != 0 {
                        *mask |= 1 << z;
                    }
                }
                Slot::Flag(at as u16)
            };
        }
        for z in 64..80 {
            slots[z] = slots[63];
        }
        Layout {
            record: (value_base + kept_count * VALUE_BITS).div_ceil(8),
            value_base,
            slots,
            kept,
            kept_natural,
            flag_masks,
        }
    }

    /// Bytes of a store of `blocks` blocks.
    pub(crate) fn bytes(&self, blocks: u64) -> u64 {
        blocks.saturating_mul(self.record as u64)
    }

    /// Bit z set for each coefficient (zig-zag index z) of the block that is non-zero.
    #[inline(always)]
    pub(crate) fn nonzero_mask(&self, record: &[u8]) -> u64 {
        let mut mask = 0;
        for (table, &byte) in self.flag_masks.iter().zip(record) {
            mask |= table[usize::from(byte)];
        }
        for &(z, at) in &self.kept {
            mask |= u64::from(value(record, at) != 0) << z;
        }
        mask
    }
}

/// Reads a kept coefficient at bit offset `at` of `record`.
#[inline(always)]
pub(crate) fn value(record: &[u8], at: u16) -> i32 {
    let at = usize::from(at);
    let byte = at >> 3;
    let word = u16::from_le_bytes([record[byte], record[byte + 1]]);
    // Offsets are multiples of 12, so a value starts at bit 0 or 4 of a byte and spans two.
    let raw = i32::from(word >> (at & 7)) & 0xFFF;
    (raw << 20) >> 20
}

/// Writes a kept coefficient, clamped to 12 bits.
#[inline(always)]
pub(crate) fn set_value(record: &mut [u8], at: u16, v: i32) {
    let at = usize::from(at);
    let byte = at >> 3;
    let shift = at & 7;
    let v = (v.clamp(VALUE_MIN, VALUE_MAX) & 0xFFF) as u16;
    let mut word = u16::from_le_bytes([record[byte], record[byte + 1]]);
    word = (word & !(0xFFF << shift)) | (v << shift);
    let [lo, hi] = word.to_le_bytes();
    record[byte] = lo;
    record[byte + 1] = hi;
}

#[cfg(test)]
fn flag(record: &[u8], at: u16) -> bool {
    let at = usize::from(at);
    record[at >> 3] >> (at & 7) & 1 != 0
}

#[inline(always)]
pub(crate) fn set_flag(record: &mut [u8], at: u16) {
    let at = usize::from(at);
    record[at >> 3] |= 1 << (at & 7);
}

/// The records of one component's block rows `first_row..first_row + rows`, each
/// `blocks_wide` blocks (the plane padded to whole MCUs, T.81 A.2.4).
pub(crate) struct ComponentBand {
    pub(crate) blocks_wide: usize,
    pub(crate) first_row: usize,
    pub(crate) rows: usize,
    pub(crate) data: Vec<u8>,
}

impl ComponentBand {
    /// Zeroed records; the caller has checked the total against the memory budget.
    pub(crate) fn new(
        layout: &Layout,
        blocks_wide: usize,
        first_row: usize,
        rows: usize,
    ) -> Result<Self> {
        let len = blocks_wide
            .checked_mul(rows)
            .and_then(|n| n.checked_mul(layout.record))
            .ok_or(Error::LimitExceeded {
                what: "coefficient band (bytes)",
                value: u64::MAX,
                limit: usize::MAX as u64,
            })?;
        let mut data = Vec::new();
        data.try_reserve_exact(len)
            .map_err(|_| Error::LimitExceeded {
                what: "allocation (bytes)",
                value: len as u64,
                limit: usize::MAX as u64,
            })?;
        data.resize(len, 0);
        Ok(ComponentBand {
            blocks_wide,
            first_row,
            rows,
            data,
        })
    }

    /// Clears the records for the next band, starting at block row `first_row`.
    pub(crate) fn reset(&mut self, first_row: usize, rows: usize, record: usize) {
        self.first_row = first_row;
        self.rows = rows;
        let len = self.blocks_wide * rows * record;
        self.data.truncate(len);
        self.data.fill(0);
        // Never grows past the first band's size: bands after the first are no taller.
        self.data.resize(len, 0);
    }

    /// The record of block (row, col), row counted from the top of the plane.
    #[inline(always)]
    pub(crate) fn record_mut(&mut self, record: usize, row: usize, col: usize) -> &mut [u8] {
        let i = ((row - self.first_row) * self.blocks_wide + col) * record;
        &mut self.data[i..i + record]
    }

    #[inline(always)]
    pub(crate) fn record(&self, record: usize, row: usize, col: usize) -> &[u8] {
        let i = ((row - self.first_row) * self.blocks_wide + col) * record;
        &self.data[i..i + record]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_hold_the_kept_square_and_one_flag_per_other_coefficient() {
        assert_eq!(Layout::new(4).record, 76); // 15 flags (padded to 16) + 49 x 12 bits
        assert_eq!(Layout::new(2).record, 43); // 39 flags (padded to 40) + 25 x 12 bits
        assert_eq!(Layout::new(8).record, 96);
        assert_eq!(Layout::new(1).record, 10); // 63 flags padded to 64, + 12 bits
        let layout = Layout::new(2);
        // Kept rows and columns 0, 1, 3, 5, 7. Zig-zag 0, 1, 2 are natural 0, 1, 8 (values 0,
        // 1 and 5 of the 5x5 list); zig-zag 3 is natural 16 (row 2: a flag), zig-zag 6 is
        // natural 3 (value 2).
        assert_eq!(layout.slots[0], Slot::Value(40));
        assert_eq!(layout.slots[2], Slot::Value(40 + 5 * 12));
        assert_eq!(layout.slots[6], Slot::Value(40 + 2 * 12));
        assert_eq!(layout.slots[3], Slot::Flag(0));
        assert_eq!(layout.slots[63], Slot::Value(40 + 24 * 12));
        assert_eq!(layout.slots[62], Slot::Flag(38));
        assert_eq!(layout.kept_natural.len(), 25);
        // The mask sees flags and values alike.
        let mut rec = vec![0u8; layout.record];
        set_flag(&mut rec, 0);
        set_flag(&mut rec, 38);
        set_value(&mut rec, 40 + 12, -3); // natural 1 = zig-zag 1
        assert_eq!(layout.nonzero_mask(&rec), 1 << 3 | 1 << 62 | 1 << 1);
        assert_eq!(layout.slots[70], layout.slots[63]);
    }

    #[test]
    fn values_round_trip_through_twelve_bits_and_clamp() {
        let layout = Layout::new(4);
        let mut rec = vec![0u8; layout.record];
        for (i, v) in [-2048, -1, 0, 1, 1023, 2047, -700, 5]
            .into_iter()
            .enumerate()
        {
            set_value(&mut rec, (i * 12) as u16, v);
        }
        set_flag(&mut rec, 200);
        set_value(&mut rec, 8 * 12, 5000);
        let got: Vec<i32> = (0..9).map(|i| value(&rec, (i * 12) as u16)).collect();
        assert_eq!(got, [-2048, -1, 0, 1, 1023, 2047, -700, 5, 2047]);
        assert!(flag(&rec, 200) && !flag(&rec, 201));
    }
}
