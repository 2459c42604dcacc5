//! The compact coefficient store of one band of block rows: per block, a 64-bit mask of the
//! coefficients that are non-zero, which is all an AC refinement scan needs of the coefficients
//! the output does not use (T.81 G.1.2.3: its syntax depends on which coefficients of the band
//! are already non-zero), and the values, 12 bits each, of the coefficients an `N x N` scaled
//! IDCT reads.
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

/// Bit offset of the first value: the record starts with the 64-bit non-zero mask.
const VALUE_BASE: usize = 64;

/// Where coefficient `k` (zig-zag order) of a block lives in its record, besides its bit of the
/// non-zero mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A kept coefficient: its value at this bit offset.
    Value(u16),
    /// Any other: only its non-zero bit.
    Flag,
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

/// The record layout for an `n x n` output block: the non-zero mask (bit z for zig-zag index
/// z, little-endian; the AC coefficients only, the DC is read from its value), then the kept
/// values, DC first.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Bytes per block.
    pub(crate) record: usize,
    /// Bit offset of the first kept value (the DC); the others follow, 12 bits each.
    pub(crate) value_base: usize,
    /// Slot of each zig-zag index; entries 64..80 repeat 63, as libjpeg's
    /// `jpeg_natural_order` does for runs that damaged data pushes past the end.
    pub(crate) slots: [Slot; 80],
    /// Zig-zag positions of the kept coefficients, as a mask.
    pub(crate) kept_mask: u64,
    /// For each zig-zag index: natural (row-major) index and bit offset of its value (the
    /// offset is meaningful only where `kept_mask` has the bit).
    pub(crate) kept_at: [(u8, u16); 64],
}

impl Layout {
    pub(crate) fn new(n: usize) -> Self {
        debug_assert!(matches!(n, 1 | 2 | 4 | 8));
        let freqs = kept_frequencies(n);
        let side = freqs.len();
        let mut slots = [Slot::Flag; 80];
        let mut kept_mask = 0;
        let mut kept_at = [(0u8, 0u16); 64];
        for z in 0..64 {
            let natural = ZIGZAG_TO_NATURAL[z];
            let (row, col) = (natural / 8, natural % 8);
            let position = |f: usize| freqs.iter().position(|&k| k == f);
            if let (Some(r), Some(c)) = (position(row), position(col)) {
                let at = (VALUE_BASE + (r * side + c) * VALUE_BITS) as u16;
                kept_mask |= 1 << z;
                kept_at[z] = (natural as u8, at);
                slots[z] = Slot::Value(at);
            }
        }
        for z in 64..80 {
            slots[z] = slots[63];
        }
        Layout {
            // One spare byte: a value at the last offset reads two bytes.
            record: (VALUE_BASE + side * side * VALUE_BITS).div_ceil(8),
            value_base: VALUE_BASE,
            slots,
            kept_mask,
            kept_at,
        }
    }

    /// Bytes of a store of `blocks` blocks.
    pub(crate) fn bytes(&self, blocks: u64) -> u64 {
        blocks.saturating_mul(self.record as u64)
    }

    /// Bit z set for each AC coefficient (zig-zag index z) of the block that is non-zero.
    #[inline(always)]
    pub(crate) fn nonzero_mask(&self, record: &[u8]) -> u64 {
        nonzero_mask(record)
    }
}

/// The record's non-zero mask.
#[inline(always)]
pub(crate) fn nonzero_mask(record: &[u8]) -> u64 {
    u64::from_le_bytes(record[..8].try_into().unwrap())
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

/// Marks coefficient `z` (zig-zag; 64..80 stand for 63, as in [`Layout::slots`]) non-zero.
#[inline(always)]
pub(crate) fn set_flag(record: &mut [u8], z: usize) {
    let z = z.min(63);
    record[z >> 3] |= 1 << (z & 7);
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
    fn records_hold_the_kept_coefficients_and_one_flag_per_coefficient() {
        assert_eq!(Layout::new(4).record, 82); // 64 flags + 49 x 12 bits = 652 bits
        assert_eq!(Layout::new(2).record, 46); // 64 flags + 25 x 12 bits = 364 bits
        assert_eq!(Layout::new(8).record, 104);
        assert_eq!(Layout::new(1).record, 10); // 64 flags + 12 bits
        let layout = Layout::new(2);
        // Kept rows and columns 0, 1, 3, 5, 7. Zig-zag 0, 1, 2 are natural 0, 1, 8 (values 0,
        // 1 and 5 of the 5x5 list); zig-zag 3 is natural 16 (row 2: a flag), zig-zag 6 is
        // natural 3 (value 2).
        assert_eq!(layout.slots[0], Slot::Value(64));
        assert_eq!(layout.slots[2], Slot::Value(64 + 5 * 12));
        assert_eq!(layout.slots[6], Slot::Value(64 + 2 * 12));
        assert_eq!(layout.slots[3], Slot::Flag);
        assert_eq!(layout.slots[63], Slot::Value(64 + 24 * 12));
        assert_eq!(layout.slots[62], Slot::Flag);
        assert_eq!(layout.kept_mask.count_ones(), 25);
        assert_eq!(layout.kept_at[6], (3, 64 + 2 * 12));
        assert_eq!(layout.slots[70], layout.slots[63]);
        let mut rec = vec![0u8; layout.record];
        set_flag(&mut rec, 3);
        set_flag(&mut rec, 62);
        set_flag(&mut rec, 70); // stands for 63
        assert_eq!(layout.nonzero_mask(&rec), 1 << 3 | 1 << 62 | 1 << 63);
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
        set_value(&mut rec, 8 * 12, 5000);
        let got: Vec<i32> = (0..9).map(|i| value(&rec, (i * 12) as u16)).collect();
        assert_eq!(got, [-2048, -1, 0, 1, 1023, 2047, -700, 5, 2047]);
    }
}
