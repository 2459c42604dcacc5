//! Lossless re-encoding of a whole JPEG held in memory, as `jpegtran -optimize -progressive`
//! does: libjpeg reads the quantised coefficients and writes the same coefficients with the same
//! quantisation tables, in libjpeg's simple progressive script with Huffman tables optimised
//! for the image. No DCT runs and no coefficient changes (a transcoder cannot use trellis
//! quantisation: it has no unquantised coefficients), so the file decodes to the same samples.
//! [`super::Profile::Progressive`] encodes through this.

use std::os::raw::{c_int, c_uint, c_ulong};

use mozjpeg_sys as ffi;

use super::recoder::VecDestination;
use super::{error_manager, guard};
use crate::error::{Error, Result};

/// Owns a decompress and a compress struct and destroys both however a transcode ends.
pub(super) struct Structs {
    pub(super) dinfo: Box<ffi::jpeg_decompress_struct>,
    pub(super) cinfo: Box<ffi::jpeg_compress_struct>,
    _derr: Box<ffi::jpeg_error_mgr>,
    _cerr: Box<ffi::jpeg_error_mgr>,
    pub(super) dest: Box<VecDestination>,
}

impl Structs {
    /// Both structs zeroed with their error managers set, as `jpeg_Create*` expects them, and
    /// an output that may not exceed `max_bytes`.
    pub(super) fn new(max_bytes: u64) -> Structs {
        // SAFETY: all-zero is the starting state jpeg_Create* expects.
        let mut s = Structs {
            dinfo: Box::new(unsafe { std::mem::zeroed() }),
            cinfo: Box::new(unsafe { std::mem::zeroed() }),
            _derr: Box::new(error_manager()),
            _cerr: Box::new(error_manager()),
            dest: VecDestination::new(max_bytes),
        };
        s.dinfo.common.err = &mut *s._derr;
        s.cinfo.common.err = &mut *s._cerr;
        s
    }
}

impl Drop for Structs {
    fn drop(&mut self) {
        // SAFETY: each struct is either zeroed (no memory manager: skipped) or was created by
        // jpeg_Create*, after which destroy is valid in any state. The compress struct goes
        // first: it may refer to the decompress struct's coefficient arrays.
        unsafe {
            if !self.cinfo.common.mem.is_null() {
                ffi::jpeg_destroy_compress(&mut self.cinfo);
            }
            if !self.dinfo.common.mem.is_null() {
                ffi::jpeg_destroy_decompress(&mut self.dinfo);
            }
        }
    }
}

/// Re-encodes `input` (a whole JPEG) losslessly as a progressive file (libjpeg's simple
/// script) with optimised Huffman tables: same frame, quantisation tables, coefficients and
/// JFIF density. `markers` (APPn / COM payloads by marker code) are written after the frame's
/// own JFIF or Adobe marker; the input's own APPn and COM segments are not copied. The output
/// may not exceed `max_bytes` ([`Error::LimitExceeded`] naming [`super::OUTPUT_BYTES`]).
pub fn optimize_progressive(
    input: &[u8],
    markers: &[(u8, Vec<u8>)],
    max_bytes: u64,
) -> Result<Vec<u8>> {
    let Ok(len) = c_ulong::try_from(input.len()) else {
        return Err(Error::Unsupported("input over the address range".into()));
    };
    let mut s = Structs::new(max_bytes);
    guard(|| {
        // SAFETY: the structs are created before use and destroyed by `Structs::drop`; `input`
        // outlives the decompress struct's use of it (this call); the compress struct reads the
        // decompress struct's coefficient arrays, which live until both are destroyed.
        unsafe {
            let dinfo = &mut *s.dinfo;
            let cinfo = &mut *s.cinfo;
            ffi::jpeg_CreateDecompress(
                dinfo,
                ffi::JPEG_LIB_VERSION,
                std::mem::size_of::<ffi::jpeg_decompress_struct>(),
            );
            ffi::jpeg_mem_src(dinfo, input.as_ptr(), len);
            ffi::jpeg_read_header(dinfo, 1);
            let coefficients = ffi::jpeg_read_coefficients(dinfo);
            if coefficients.is_null() {
                return Err(Error::Codec("no coefficients read".into()));
            }
            ffi::jpeg_CreateCompress(
                cinfo,
                ffi::JPEG_LIB_VERSION,
                std::mem::size_of::<ffi::jpeg_compress_struct>(),
            );
            // libjpeg-turbo's defaults, not mozjpeg's: no scan search, libjpeg's own script.
            ffi::jpeg_c_set_int_param(
                cinfo,
                ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
            );
            // Frame, components, sampling and quantisation tables as read; JFIF density too.
            ffi::jpeg_copy_critical_parameters(dinfo, cinfo);
            cinfo.optimize_coding = 1;
            ffi::jpeg_simple_progression(cinfo);
            cinfo.dest = &mut s.dest.mgr;
            ffi::jpeg_write_coefficients(cinfo, coefficients);
            for (code, payload) in markers {
                let Ok(len) = c_uint::try_from(payload.len()) else {
                    return Err(Error::Unsupported("marker payload over 4 GiB".into()));
                };
                ffi::jpeg_write_marker(cinfo, c_int::from(*code), payload.as_ptr(), len);
            }
            ffi::jpeg_finish_compress(cinfo);
            ffi::jpeg_finish_decompress(dinfo);
        }
        Ok(())
    })?;
    Ok(s.dest.take())
}
