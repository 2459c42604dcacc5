//! The only place that calls the C codec (libjpeg, through the `mozjpeg` crate). Every call runs
//! inside [`guard`], because libjpeg reports fatal errors by unwinding through its frames, and
//! every decoder and encoder uses our own error manager, which counts libjpeg's warnings instead
//! of dropping them (the crate's default manager silences them: a file cut in half would decode
//! "successfully"). The adapters that feed libjpeg its input (the header read ahead of it and
//! replayed, the buffer it reads from) live in `input`.

mod coefficients;
mod decoder;
mod encoder;
pub(crate) mod input;
mod library;
mod recoder;
mod requantize;
mod transcode;

use std::cell::RefCell;
use std::os::raw::c_int;
use std::panic::{self, AssertUnwindSafe};

pub use coefficients::{block_buffer_bytes, coefficient_buffer_bytes, is_multi_scan};
pub use decoder::{Decoder, DensityUnit, PixelDensity};
pub use encoder::{Encoder, EncoderSettings, Profile, smallest_buffer_bytes};
pub use library::{Library, library};
pub use recoder::{MemoryEncoder, OUTPUT_BYTES};
pub use requantize::{Rounding, requantize};
pub use transcode::optimize_progressive;

use crate::error::{Error, Result};
use crate::jpeg::ColorSpace;
use mozjpeg_sys::{self as ffi, J_COLOR_SPACE, jpeg_common_struct};

/// Prefix of the unwind payload our error manager raises; anything else is a bug, not a codec error.
const FATAL: &str = "libjpeg: ";

/// The most warnings kept verbatim per file; the rest are only counted.
const KEPT_WARNINGS: usize = 8;

/// libjpeg warnings seen while coding one file (corrupt or truncated data, mostly).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    /// Every warning libjpeg emitted.
    pub count: u64,
    /// The first few messages, in order.
    pub messages: Vec<String>,
}

struct WarningState {
    warnings: Warnings,
    /// Turn the first warning into a fatal error (`--strict`).
    strict: bool,
}

thread_local! {
    // libjpeg's callbacks get only the codec struct, and one file is coded by one thread from
    // start to end, so per-thread state is per-file state.
    static WARNINGS: RefCell<WarningState> = const {
        RefCell::new(WarningState { warnings: Warnings { count: 0, messages: Vec::new() }, strict: false })
    };
    // Why our reader or writer failed; libjpeg only knows that a read or write did.
    static IO_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Turns an error of the input reader (a limit it enforces) into the `io::Error` it returns,
/// remembering the original so that [`guard`] reports it instead of libjpeg's "read error".
fn source_error(err: Error) -> std::io::Error {
    let message = err.to_string();
    IO_ERROR.with(|e| *e.borrow_mut() = Some(err));
    std::io::Error::other(message)
}

/// Remembers a failed write of the output (a full disk) for [`guard`] to report instead of
/// libjpeg's "Output file write error --- out of disk space?".
fn sink_error(err: std::io::Error) -> std::io::Error {
    if err.kind() == std::io::ErrorKind::Interrupted {
        return err; // retried by write_all, not a failure
    }
    let copy = std::io::Error::new(err.kind(), err.to_string());
    IO_ERROR.with(|e| *e.borrow_mut() = Some(Error::Io(copy)));
    err
}

/// Starts counting warnings for a new file on this thread. With `strict`, the first warning
/// aborts the codec call it happens in with [`Error::Codec`].
pub fn begin_file(strict: bool) {
    WARNINGS.with(|w| {
        let mut w = w.borrow_mut();
        w.warnings = Warnings::default();
        w.strict = strict;
    });
    IO_ERROR.with(|e| e.borrow_mut().take());
}

/// The warnings counted on this thread since [`begin_file`].
pub fn take_warnings() -> Warnings {
    WARNINGS.with(|w| std::mem::take(&mut w.borrow_mut().warnings))
}

/// Puts back warnings taken with [`take_warnings`] (after decoding the same input a second
/// time, whose warnings were counted already).
pub(crate) fn restore_warnings(warnings: Warnings) {
    WARNINGS.with(|w| w.borrow_mut().warnings = warnings);
}

/// Counts a warning for this thread's file; true when it must be fatal (`--strict`).
fn record(message: &str) -> bool {
    WARNINGS.with(|w| {
        let mut w = w.borrow_mut();
        w.warnings.count += 1;
        if w.warnings.messages.len() < KEPT_WARNINGS {
            w.warnings.messages.push(message.to_string());
        }
        w.strict
    })
}

/// Records a warning raised outside libjpeg (our own DC decoder), under the same strict rule.
pub fn warn(message: String) -> Result<()> {
    if record(&message) {
        return Err(Error::Codec(format!("{message} (--strict)")));
    }
    Ok(())
}

/// Runs a codec call, turning libjpeg's unwinding error exit into [`Error::Codec`]. A panic that
/// did not come from libjpeg is a bug of ours and keeps unwinding.
pub fn guard<T>(call: impl FnOnce() -> Result<T>) -> Result<T> {
    match panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) if message.starts_with(FATAL) => {
                match IO_ERROR.with(|e| e.borrow_mut().take()) {
                    Some(err) => Err(err),
                    None => Err(Error::Codec(message[FATAL.len()..].to_string())),
                }
            }
            Ok(message) => panic::resume_unwind(message),
            Err(payload) => panic::resume_unwind(payload),
        },
    }
}

/// A libjpeg error manager whose error exit unwinds with the message and whose warnings go to
/// this thread's [`Warnings`].
fn error_manager() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct for which all-zero is a valid starting state;
    // jpeg_std_error fills in every field before we override two callbacks.
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// libjpeg's message for the error or warning currently held in the error manager.
fn message(cinfo: &mut jpeg_common_struct) -> String {
    // SAFETY: `err` points to the manager libjpeg was created with (ours, alive as long as the
    // codec struct); format_message writes at most 80 bytes (JMSG_LENGTH_MAX) into the buffer.
    // The binding declares the buffer `&[u8; 80]` though C writes it, hence the pointer cast.
    unsafe {
        let Some(err) = cinfo.err.as_ref() else {
            return "unknown error".into();
        };
        let code = err.msg_code;
        let Some(format) = err.format_message else {
            return format!("message code {code}");
        };
        let mut buffer = [0u8; 80];
        let write = std::mem::transmute::<
            unsafe extern "C-unwind" fn(&mut jpeg_common_struct, &[u8; 80]),
            unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut [u8; 80]),
        >(format);
        write(cinfo, &mut buffer);
        let text = buffer.split(|&b| b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(text).into_owned()
    }
}

extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let text = format!("{FATAL}{}", message(cinfo));
    // resume_unwind skips the panic hook: a corrupt file is not a bug worth a backtrace.
    panic::resume_unwind(Box::new(text));
}

extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    if level >= 0 {
        return; // trace messages
    }
    let text = message(cinfo);
    if record(&text) {
        panic::resume_unwind(Box::new(format!("{FATAL}{text} (--strict)")));
    }
}

/// libjpeg's name for our colour space. Input and output use the same one: no colour conversion.
fn jcs(color: ColorSpace) -> J_COLOR_SPACE {
    match color {
        ColorSpace::Gray => J_COLOR_SPACE::JCS_GRAYSCALE,
        ColorSpace::YCbCr => J_COLOR_SPACE::JCS_YCbCr,
        ColorSpace::Rgb => J_COLOR_SPACE::JCS_RGB,
        ColorSpace::Cmyk => J_COLOR_SPACE::JCS_CMYK,
        ColorSpace::Ycck => J_COLOR_SPACE::JCS_YCCK,
    }
}

fn from_jcs(color: J_COLOR_SPACE) -> Option<ColorSpace> {
    Some(match color {
        J_COLOR_SPACE::JCS_GRAYSCALE => ColorSpace::Gray,
        J_COLOR_SPACE::JCS_YCbCr => ColorSpace::YCbCr,
        J_COLOR_SPACE::JCS_RGB => ColorSpace::Rgb,
        J_COLOR_SPACE::JCS_CMYK => ColorSpace::Cmyk,
        J_COLOR_SPACE::JCS_YCCK => ColorSpace::Ycck,
        _ => return None,
    })
}

/// Samples per pixel of a colour space.
pub fn channels(color: ColorSpace) -> usize {
    match color {
        ColorSpace::Gray => 1,
        ColorSpace::YCbCr | ColorSpace::Rgb => 3,
        ColorSpace::Cmyk | ColorSpace::Ycck => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_libjpeg_errors_into_codec_errors() {
        let result: Result<()> = guard(|| {
            let decoder = Decoder::start(&b"\xFF\xD8\xFF\xC0\x00\x02garbage"[..], 8)?;
            drop(decoder);
            Ok(())
        });
        assert!(matches!(result, Err(Error::Codec(_))), "{result:?}");
    }

    #[test]
    fn warnings_are_counted_and_strict_fails() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpus/sample-q75.jpg"
        ))
        .expect("sample");
        let cut = &bytes[..bytes.len() / 2];
        begin_file(false);
        let mut decoder = Decoder::start(cut, 8).expect("header is intact");
        let mut row = vec![0u8; decoder.width() * decoder.channels()];
        for _ in 0..decoder.height() {
            decoder.read_rows(&mut row).expect("lenient decode");
        }
        assert!(take_warnings().count >= 1);

        begin_file(true);
        let mut decoder = Decoder::start(cut, 8).expect("header is intact");
        let failed = (0..decoder.height()).any(|_| decoder.read_rows(&mut row).is_err());
        assert!(failed, "strict mode must fail on truncated data");
        begin_file(false);
    }
}
