//! Which C codec this build links, and whether its SIMD code runs.
//!
//! mozjpeg's SIMD kernels are assembled by nasm at build time; where nasm is missing, the build
//! still succeeds but falls back to plain C, and `shrink` then takes 1.5-2x the CPU. A warning
//! buried in cargo's build output is easy to miss, so the binary asks the library itself.

use std::ffi::CStr;
use std::os::raw::c_int;

use mozjpeg_sys as ffi;

/// The linked codec library, as `jpgtool --version` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The library's name: always `mozjpeg` (vendored and linked statically).
    pub name: &'static str,
    /// The version string the library reports about itself.
    pub version: String,
    /// True when the SIMD kernels were built in and this CPU runs them (libjpeg-turbo's own
    /// run-time dispatch check).
    pub simd: bool,
}

unsafe extern "C" {
    // libjpeg-turbo's SIMD dispatcher: 1 when the inverse DCT has a SIMD kernel on this CPU. A
    // build without nasm links `jsimd_none.c`, whose version always answers 0.
    fn jsimd_can_idct_islow() -> c_int;
}

/// Asks the linked library for its version and SIMD state.
pub fn library() -> Library {
    // SAFETY: `jsimd_can_idct_islow` takes no arguments and only reads the CPU's feature flags
    // and the library's own static state; it is linked from the same static library as every
    // other libjpeg function (the symbol is global in both the SIMD and the plain-C build).
    let simd = unsafe { jsimd_can_idct_islow() } != 0;
    Library {
        name: "mozjpeg",
        version: version(),
        simd,
    }
}

/// The version string from libjpeg's standard message table (`JMSG_VERSION`).
fn version() -> String {
    // SAFETY: `jpeg_std_error` only fills in the fields of the struct it is given (function
    // pointers and the address of the library's static message table), and the zeroed struct is
    // a valid `jpeg_error_mgr` (every field is a pointer, an integer or an `Option` of a
    // function pointer). The table is a static array of NUL-terminated strings with at least
    // `last_jpeg_message + 1` entries, so the entry is read only after checking that bound.
    unsafe {
        let mut err: ffi::jpeg_error_mgr = std::mem::zeroed();
        ffi::jpeg_std_error(&mut err);
        let code = ffi::JMSG_VERSION;
        if err.jpeg_message_table.is_null() || code > err.last_jpeg_message {
            return "unknown".to_string();
        }
        let entry = *err.jpeg_message_table.offset(code as isize);
        if entry.is_null() {
            return "unknown".to_string();
        }
        CStr::from_ptr(entry).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_a_version_string() {
        let lib = library();
        assert_eq!(lib.name, "mozjpeg");
        // mozjpeg-sys writes its own package version into JVERSION: digits and dots.
        assert!(
            !lib.version.is_empty() && lib.version.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "{}",
            lib.version
        );
    }
}
