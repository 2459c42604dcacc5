//! Restart intervals (T.81 E.2.4): checking the RSTn marker at the end of each interval and
//! resynchronising the way libjpeg does when it is missing or wrong.

use std::io;

use super::{Bits, Stop, Warnings, find_marker};
use crate::jpeg::input::Cursor;
use crate::jpeg::{Input, markers};

/// Restart handling at the start of an MCU whose interval is due (E.2.4): throws away the
/// leftover bits, expects RSTn, and resynchronises like libjpeg's `read_restart_marker` and
/// `jpeg_resync_to_restart` when the marker is missing or wrong.
pub(crate) fn process_restart<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    expected: u8,
    warnings: &mut Warnings,
) -> io::Result<()> {
    let mut discarded = u64::from(bits.n / 8);
    bits.acc = 0;
    bits.n = 0;
    let mut marker = match bits.stop {
        Some(stop) => stop,
        None => {
            let (stop, skipped) = find_marker(cur, false)?;
            discarded += skipped;
            bits.stop = Some(stop);
            stop
        }
    };
    warnings.extraneous(discarded, marker);
    let wanted = markers::RST0 + expected;
    if marker == Stop::Marker(wanted) {
        bits.stop = None;
        return Ok(());
    }
    if let Stop::Marker(code) = marker {
        warnings
            .push(|| format!("corrupt data: found marker 0x{code:02X} instead of RST{expected}"));
    }
    // Each pass either returns or consumes a marker from the input, so this ends.
    loop {
        match resync_action(marker, expected) {
            Resync::Resume => {
                bits.stop = None;
                return Ok(());
            }
            Resync::Advance => {
                let (stop, _) = find_marker(cur, false)?;
                bits.stop = Some(stop);
                marker = stop;
            }
            Resync::Leave => return Ok(()),
        }
    }
}

enum Resync {
    /// Drop the marker and decode the data after it as the expected interval.
    Resume,
    /// Skip to the next marker and decide again.
    Advance,
    /// Keep the marker unread: the intervals before it are empty.
    Leave,
}

/// libjpeg's `jpeg_resync_to_restart` decision for a marker met where RST`desired` belonged.
fn resync_action(marker: Stop, desired: u8) -> Resync {
    let code = match marker {
        Stop::Eof => return Resync::Leave,
        Stop::Marker(code) => code,
    };
    if code < 0xC0 {
        return Resync::Advance;
    }
    if !markers::is_rst(code) {
        return Resync::Leave;
    }
    let n = code - markers::RST0;
    if n == (desired + 1) & 7 || n == (desired + 2) & 7 {
        Resync::Leave
    } else if n == desired.wrapping_sub(1) & 7 || n == desired.wrapping_sub(2) & 7 {
        Resync::Advance
    } else {
        Resync::Resume
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resync_follows_libjpeg_decision_table() {
        let rst = |n: u8| Stop::Marker(markers::RST0 + n);
        // Expecting RST2: RST3 and RST4 are ahead (the intervals before them are lost), RST1 and
        // RST0 behind (skipped), the others taken for RST2 itself.
        assert!(matches!(resync_action(rst(3), 2), Resync::Leave));
        assert!(matches!(resync_action(rst(4), 2), Resync::Leave));
        assert!(matches!(resync_action(rst(1), 2), Resync::Advance));
        assert!(matches!(resync_action(rst(0), 2), Resync::Advance));
        assert!(matches!(resync_action(rst(5), 2), Resync::Resume));
        assert!(matches!(resync_action(rst(6), 2), Resync::Resume));
        // Numbers wrap around: expecting RST0, RST7 is behind and RST1 ahead.
        assert!(matches!(resync_action(rst(7), 0), Resync::Advance));
        assert!(matches!(resync_action(rst(1), 0), Resync::Leave));
        // Codes below SOF0 are skipped; any other marker, and the end of input, are left.
        assert!(matches!(
            resync_action(Stop::Marker(0x10), 2),
            Resync::Advance
        ));
        assert!(matches!(
            resync_action(Stop::Marker(markers::EOI), 2),
            Resync::Leave
        ));
        assert!(matches!(resync_action(Stop::Eof, 2), Resync::Leave));
    }
}
