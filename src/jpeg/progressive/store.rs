//! The compact coefficient store of one band of block rows: per block, the `N x N`
//! low-frequency coefficients the scaled output needs (12 bits each), and one bit per other
//! coefficient saying whether it is non-zero, which is all an AC refinement scan needs of them
//! (T.81 G.1.2.3: its syntax depends on which coefficients of the band are already non-zero).

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

/// The record layout for keeping `keep x keep` coefficients per block.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Bytes per block.
    pub(crate) record: usize,
    /// Slot of each zig-zag index; entries 64..80 repeat 63, as libjpeg's
    /// `jpeg_natural_order` does for runs that damaged data pushes past the end.
    pub(crate) slots: [Slot; 80],
}

impl Layout {
    pub(crate) fn new(keep: usize) -> Self {
        debug_assert!(matches!(keep, 1 | 2 | 4 | 8));
        let kept = keep * keep;
        let value_bits = kept * VALUE_BITS;
        let mut flags = 0;
        let mut slots = [Slot::Flag(0); 80];
        for (z, slot) in slots.iter_mut().enumerate() {
            let natural = ZIGZAG_TO_NATURAL[z.min(63)];
            let (row, col) = (natural / 8, natural % 8);
            *slot = if row < keep && col < keep {
                Slot::Value(((row * keep + col) * VALUE_BITS) as u16)
            } else if z < 64 {
                flags += 1;
                Slot::Flag((value_bits + flags - 1) as u16)
            } else {
                slots_63(keep, value_bits)
            };
        }
        Layout {
            record: (value_bits + flags).div_ceil(8),
            slots,
        }
    }

    /// Bytes of a store of `blocks` blocks.
    pub(crate) fn bytes(&self, blocks: u64) -> u64 {
        blocks.saturating_mul(self.record as u64)
    }
}

/// Slot of coefficient 63 (the last of the zig-zag order), for the overflow entries.
fn slots_63(keep: usize, value_bits: usize) -> Slot {
    if keep == 8 {
        Slot::Value((63 * VALUE_BITS) as u16)
    } else {
        // Coefficient 63 is the last flag: every flag comes before it in zig-zag order.
        Slot::Flag((value_bits + 64 - keep * keep - 1) as u16)
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

#[inline(always)]
pub(crate) fn flag(record: &[u8], at: u16) -> bool {
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
        assert_eq!(Layout::new(4).record, 30); // 16 x 12 bits + 48 flags
        assert_eq!(Layout::new(2).record, 14); // 4 x 12 bits + 60 flags = 108 bits
        assert_eq!(Layout::new(8).record, 96);
        let layout = Layout::new(2);
        // Zig-zag 0, 1, 2 are natural 0, 1, 8: all inside 2x2; zig-zag 3 is natural 16.
        assert_eq!(layout.slots[2], Slot::Value(2 * 12));
        assert_eq!(layout.slots[4], Slot::Value(3 * 12));
        assert_eq!(layout.slots[3], Slot::Flag(48));
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
