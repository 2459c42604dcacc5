//! The bit reader of entropy-coded data: bytes in, 0xFF00 stuffing undone, stopping at a marker.

use std::io;

use super::{Stop, Warnings};
use crate::error::{Error, Problem, Result};
use crate::jpeg::Input;
use crate::jpeg::input::Cursor;

/// The entropy-coded bit stream (F.2.2.5) in a 64-bit buffer, filled several bytes at a time
/// when they hold no 0xFF.
#[derive(Default)]
pub(crate) struct Bits {
    /// The next bits, most significant first; every bit below the `n` real ones is zero, which
    /// is what makes reading past a marker yield zeros, as in libjpeg.
    pub(crate) acc: u64,
    /// Real bits in `acc`.
    pub(crate) n: u32,
    /// A marker (consumed) or the end of input ended the data; nothing more is read.
    pub(crate) stop: Option<Stop>,
    /// Bits were consumed beyond `stop`, that is, read as zeros.
    pub(crate) overrun: bool,
    /// A code not in the table was met (libjpeg: "bad Huffman code"); decoded as 0.
    pub(crate) bad_code: bool,
    /// A DC category above 11 was decoded.
    pub(crate) bad_category: u8,
}

impl Bits {
    #[inline(always)]
    pub(crate) fn trouble(&self) -> bool {
        self.overrun | self.bad_code | (self.bad_category != 0)
    }

    /// Deals with what [`Bits::trouble`] flagged after a block, as libjpeg does: a DC category
    /// above 11 is an error at `offset`; a bad Huffman code is a warning, given once per scan
    /// (`warned_bad_code`); reading past the data sets `insufficient` (libjpeg's
    /// `insufficient_data`: the rest of the restart interval decodes as zeros) and, when a
    /// marker cut the data short, warns once of a premature end (`warned_premature`).
    pub(crate) fn settle(
        &mut self,
        offset: u64,
        insufficient: &mut bool,
        warned_bad_code: &mut bool,
        warned_premature: &mut bool,
        warnings: &mut Warnings,
    ) -> Result<()> {
        if self.bad_category != 0 {
            return Err(Error::Format {
                offset,
                segment: "SOS",
                problem: Problem::BadValue {
                    field: "DC difference category SSSS (above 11)",
                    value: self.bad_category.into(),
                },
            });
        }
        if self.bad_code {
            self.bad_code = false;
            if !*warned_bad_code {
                *warned_bad_code = true;
                warnings.push(|| "corrupt data: bad Huffman code".into());
            }
        }
        if self.overrun {
            self.overrun = false;
            *insufficient = true;
            if matches!(self.stop, Some(Stop::Marker(_))) && !*warned_premature {
                *warned_premature = true;
                warnings.push(|| "corrupt data: premature end of scan".into());
            }
        }
        Ok(())
    }

    /// Drops `k` bits (at most 32); past the real bits it reads zeros and notes the overrun.
    #[inline(always)]
    pub(crate) fn consume(&mut self, k: u32) {
        self.acc <<= k;
        if k <= self.n {
            self.n -= k;
        } else {
            self.n = 0;
            self.overrun = true;
        }
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.acc |= u64::from(byte) << (56 - self.n);
        self.n += 8;
    }

    /// Fills the buffer to more than 56 bits unless a marker or the end of input comes first.
    /// Eight bytes without 0xFF go in with one load; otherwise byte by byte, undoing the 0xFF00
    /// stuffing (F.1.2.3) and stopping at a marker, before which 0xFF fill bytes may stand
    /// (B.1.1.2).
    #[inline(never)]
    pub(crate) fn refill<I: Input>(&mut self, cur: &mut Cursor<I>) -> io::Result<()> {
        while self.n <= 56 && self.stop.is_none() {
            let buf = match cur.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(chunk) = buf.first_chunk::<8>() {
                let word = u64::from_be_bytes(*chunk);
                if !has_ff_byte(word) {
                    let k = (64 - self.n) / 8;
                    self.acc |= (word >> (64 - 8 * k)) << (64 - 8 * k - self.n);
                    self.n += 8 * k;
                    cur.input.consume(k as usize);
                    cur.offset += u64::from(k);
                    continue;
                }
            }
            let Some(&byte) = buf.first() else {
                self.stop = Some(Stop::Eof);
                break;
            };
            cur.input.consume(1);
            cur.offset += 1;
            if byte != 0xFF {
                self.push(byte);
                continue;
            }
            loop {
                match cur.next_byte()? {
                    None => self.stop = Some(Stop::Eof),
                    Some(0xFF) => continue,
                    Some(0x00) => self.push(0xFF),
                    Some(code) => self.stop = Some(Stop::Marker(code)),
                }
                break;
            }
        }
        Ok(())
    }
}

/// True when some byte of `word` is 0xFF (the zero-byte test applied to its complement).
#[inline(always)]
fn has_ff_byte(word: u64) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let v = !word;
    v.wrapping_sub(LOW) & !v & HIGH != 0
}
