//! Entropy-coded data (T.81 B.1.1.5, F.1.2.3), shared by the decoders of the coefficient layer:
//! where a run of it ends, the bit reader, Huffman decoding, restart markers, and the warnings
//! libjpeg would give for damaged data.

mod bits;
mod huffman;
mod restart;
mod warnings;

use std::io;

pub(crate) use bits::Bits;
pub(crate) use huffman::{HuffDecoder, dc_difference};
pub(crate) use restart::process_restart;
pub(crate) use warnings::Warnings;

use super::input::Cursor;
use super::{Input, markers};

/// Where a run of entropy-coded data ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A marker, whose two bytes have been consumed.
    Marker(u8),
    /// The end of the input (libjpeg inserts a fake EOI here).
    Eof,
}

/// Reads until the next marker, at memchr speed, and consumes it; returns it with the count of
/// other bytes passed over (libjpeg's "extraneous bytes", not counting 0xFF fill bytes).
///
/// In entropy-coded data (`in_scan`), 0xFF00 (a stuffed 0xFF, F.1.2.3) and RSTn belong to the
/// data and are passed over; otherwise every marker is returned, as libjpeg's `next_marker` does.
pub(crate) fn find_marker<I: Input>(cur: &mut Cursor<I>, in_scan: bool) -> io::Result<(Stop, u64)> {
    let mut pending_ff = false;
    let mut skipped = 0u64;
    loop {
        let buf = match cur.input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((Stop::Eof, skipped));
        }
        let mut i = 0;
        let mut found = None;
        while i < buf.len() {
            if pending_ff {
                let code = buf[i];
                i += 1;
                match code {
                    0xFF => {}
                    0x00 => {
                        pending_ff = false;
                        if !in_scan {
                            skipped += 2;
                        }
                    }
                    c if in_scan && markers::is_rst(c) => pending_ff = false,
                    c => {
                        found = Some(c);
                        break;
                    }
                }
            } else {
                match memchr::memchr(0xFF, &buf[i..]) {
                    Some(pos) => {
                        skipped += pos as u64;
                        i += pos + 1;
                        pending_ff = true;
                    }
                    None => {
                        skipped += (buf.len() - i) as u64;
                        i = buf.len();
                    }
                }
            }
        }
        cur.input.consume(i);
        cur.offset += i as u64;
        cur.check_limit()?;
        if let Some(code) = found {
            return Ok((Stop::Marker(code), if in_scan { 0 } else { skipped }));
        }
    }
}
