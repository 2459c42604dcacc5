//! Huffman decoding (T.81 Annex C, F.2.2.3): lookup tables built from a DHT table, and the DC
//! difference of F.2.2.1 decoded with them.

use std::io;

use super::Bits;
use crate::jpeg::input::Cursor;
use crate::jpeg::{HuffmanTable, Input};

/// Decodes one DC difference (F.2.2.1): a Huffman-coded category SSSS, then SSSS extra bits
/// whose sign is extended by F.12 (EXTEND).
#[inline(always)]
pub(crate) fn dc_difference<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    table: &HuffDecoder,
) -> io::Result<i32> {
    // 16 bits of code plus 11 bits of value fit in 32; refill then serves several blocks.
    if bits.n < 32 {
        bits.refill(cur)?;
    }
    let both = table.dc_fast[(bits.acc >> (64 - FAST_BITS)) as usize];
    if both != 0 {
        bits.consume((both & 15) as u32);
        return Ok(i32::from(both >> 4));
    }
    let s = table.decode(bits);
    // F.1.2.1: for 8-bit samples the DC difference category is 0..=11.
    if s > 11 {
        bits.bad_category = s;
        return Ok(0);
    }
    // Branch-free, as categories and signs are hard to predict: for s = 0 the two-step shift
    // gives r = 0 (a single shift by 64 would overflow), and the threshold is 0.
    let s = u32::from(s);
    let r = ((bits.acc >> 1) >> (63 - s)) as i32;
    bits.consume(s);
    Ok(extend(r, s))
}

/// F.12 EXTEND: of the s-bit values r, those below 2^(s-1) stand for r - (2^s - 1). Branch-free,
/// as signs are hard to predict; s = 0 (with r = 0) gives 0.
#[inline(always)]
fn extend(r: i32, s: u32) -> i32 {
    let negative = i32::from(r < (1 << s) >> 1);
    r - negative * ((1 << s) - 1)
}

/// Bits of code looked up at once; longer codes take the canonical path.
const FAST_BITS: u32 = 9;

/// A Huffman decoding table (T.81 C, F.2.2.3 / F.16): a lookup on the next 9 bits for short
/// codes, and libjpeg's `maxcode`/`valoffset` for the rest.
pub(crate) struct HuffDecoder {
    /// For each 9-bit prefix: `length << 8 | symbol` when a code of at most 9 bits starts it,
    /// otherwise 0.
    fast: [u16; 1 << FAST_BITS],
    /// For DC tables, each 9-bit prefix that holds a whole category code and its extra bits:
    /// `difference << 4 | bits used`, so that most blocks take one lookup; otherwise 0.
    dc_fast: [i16; 1 << FAST_BITS],
    /// For AC tables, each 9-bit prefix that holds a whole run/size code with a non-zero size
    /// and its extra bits: `coefficient << 8 | run << 4 | bits used`; otherwise 0.
    pub(crate) ac_fast: [i32; 1 << FAST_BITS],
    /// Largest code of each length 1..=16 (-1 when none).
    maxcode: [i32; 17],
    /// Index into `values` of a code of length l, minus the code.
    valoffset: [i32; 17],
    values: Vec<u8>,
}

impl HuffDecoder {
    pub(crate) fn empty() -> Self {
        HuffDecoder {
            fast: [0; 1 << FAST_BITS],
            dc_fast: [0; 1 << FAST_BITS],
            ac_fast: [0; 1 << FAST_BITS],
            maxcode: [-1; 17],
            valoffset: [0; 17],
            values: Vec::new(),
        }
    }

    /// Builds the canonical codes (Annex C, Figures C.1 and C.2). Refuses, as libjpeg's `jpeg_make_d_derived_tbl` does,
    /// counts that overflow the code space or that would use an all-ones code (reserved by
    /// Annex C), and DC symbols above 15.
    pub(crate) fn new(table: &HuffmanTable) -> Option<Self> {
        let mut dec = HuffDecoder::empty();
        let mut code: u32 = 0;
        let mut k: usize = 0;
        for l in 1..=16u32 {
            let count = usize::from(table.counts[l as usize - 1]);
            dec.valoffset[l as usize] = k as i32 - code as i32;
            for _ in 0..count {
                if code >= 1 << l {
                    return None;
                }
                let symbol = *table.values.get(k)?;
                if table.class == 0 && symbol > 15 {
                    return None;
                }
                if l <= FAST_BITS {
                    let shift = FAST_BITS - l;
                    let first = (code << shift) as usize;
                    let entry = (l << 8) as u16 | u16::from(symbol);
                    dec.fast[first..first + (1 << shift)].fill(entry);
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                dec.maxcode[l as usize] = code as i32 - 1;
            }
            if code >= 1 << l {
                return None;
            }
            code <<= 1;
        }
        dec.values = table.values.get(..k)?.to_vec();
        if table.class == 0 {
            for (prefix, &entry) in dec.fast.iter().enumerate() {
                let (len, category) = (u32::from(entry >> 8), u32::from(entry & 0xFF));
                if entry == 0 || category > 11 || len + category > FAST_BITS {
                    continue;
                }
                let r = (prefix as i32 >> (FAST_BITS - len - category)) & ((1 << category) - 1);
                let diff = extend(r, category);
                dec.dc_fast[prefix] = (diff << 4) as i16 | (len + category) as i16;
            }
        }
        if table.class == 1 {
            for (prefix, &entry) in dec.fast.iter().enumerate() {
                let (len, rs) = (u32::from(entry >> 8), u32::from(entry & 0xFF));
                let (run, size) = (rs >> 4, rs & 15);
                if entry == 0 || size == 0 || len + size > FAST_BITS {
                    continue;
                }
                let r = (prefix as i32 >> (FAST_BITS - len - size)) & ((1 << size) - 1);
                let value = extend(r, size);
                dec.ac_fast[prefix] = value << 8 | (run << 4) as i32 | (len + size) as i32;
            }
        }
        Some(dec)
    }

    /// The AC lookup for the next bits: `Some((run, coefficient))` with the bits consumed when
    /// a short code and its extra bits are there, `None` (nothing consumed) otherwise.
    #[inline(always)]
    pub(crate) fn ac_short(&self, bits: &mut Bits) -> Option<(usize, i32)> {
        let entry = self.ac_fast[(bits.acc >> (64 - FAST_BITS)) as usize];
        if entry == 0 {
            return None;
        }
        bits.consume((entry & 15) as u32);
        Some((((entry >> 4) & 15) as usize, entry >> 8))
    }

    /// Decodes one symbol; the caller has made sure of 32 bits unless the data has stopped.
    #[inline(always)]
    pub(crate) fn decode(&self, bits: &mut Bits) -> u8 {
        let entry = self.fast[(bits.acc >> (64 - FAST_BITS)) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return entry as u8;
        }
        self.decode_long(bits)
    }

    /// F.16 for codes longer than the lookup: lengthen the code until it is at most the largest
    /// code of its length. Garbage can match no code: libjpeg then drops 17 bits and returns 0.
    #[inline(never)]
    fn decode_long(&self, bits: &mut Bits) -> u8 {
        for l in FAST_BITS + 1..=16 {
            let code = (bits.acc >> (64 - l)) as i32;
            if code <= self.maxcode[l as usize] {
                bits.consume(l);
                let index = code + self.valoffset[l as usize];
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| self.values.get(i))
                    .copied()
                    .unwrap_or(0);
            }
        }
        bits.consume(17);
        bits.bad_code = true;
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huffman_tables_refuse_all_ones_codes_and_overflow() {
        let table = |counts: [u8; 16], values: Vec<u8>| HuffmanTable {
            class: 0,
            slot: 0,
            counts,
            values,
        };
        let mut counts = [0u8; 16];
        counts[0] = 2; // codes 0 and 1 of length 1: "1" is all ones
        assert!(HuffDecoder::new(&table(counts, vec![0, 1])).is_none());
        counts[0] = 3;
        assert!(HuffDecoder::new(&table(counts, vec![0, 1, 2])).is_none());
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 1;
        let dec = HuffDecoder::new(&table(counts, vec![4, 7])).unwrap();
        // "0" -> 4, "10" -> 7, "11..." is no code.
        let mut bits = Bits {
            acc: 0b0101_1111u64 << 56,
            n: 32,
            ..Bits::default()
        };
        assert_eq!(dec.decode(&mut bits), 4);
        assert_eq!(dec.decode(&mut bits), 7);
        assert_eq!(dec.decode(&mut bits), 0);
        assert!(bits.bad_code);
        assert!(HuffDecoder::new(&table(counts, vec![4, 16])).is_none());
    }
}
