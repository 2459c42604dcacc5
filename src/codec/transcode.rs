//! Lossless re-encoding of a whole JPEG held in memory, as `jpegtran -optimize -progressive`
//! does: libjpeg reads the quantised coefficients and writes the same coefficients with the same
//! quantisation tables, in a progressive script (mozjpeg's 9 scans for YCbCr, libjpeg's simple
//! script otherwise) with Huffman tables optimised for the image. No DCT runs and no
//! coefficient changes (a transcoder cannot use trellis quantisation: it has no unquantised
//! coefficients), so the file decodes to the same samples.
//! [`super::Profile::Progressive`] encodes through this.

use std::io::Write;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::panic;

use mozjpeg_sys as ffi;

use super::{FATAL, IO_ERROR, error_manager, guard};
use crate::error::{Error, Result};

/// Owns a decompress and a compress struct, and the compress struct's destination `D`, and
/// destroys both structs (before `D` is freed) however a transcode ends.
pub(super) struct Structs<D> {
    pub(super) dinfo: Box<ffi::jpeg_decompress_struct>,
    pub(super) cinfo: Box<ffi::jpeg_compress_struct>,
    _derr: Box<ffi::jpeg_error_mgr>,
    _cerr: Box<ffi::jpeg_error_mgr>,
    pub(super) dest: Box<D>,
}

impl<D> Structs<D> {
    /// Both structs zeroed with their error managers set, as `jpeg_Create*` expects them.
    pub(super) fn new(dest: Box<D>) -> Structs<D> {
        // SAFETY: all-zero is the starting state jpeg_Create* expects.
        let mut s = Structs {
            dinfo: Box::new(unsafe { std::mem::zeroed() }),
            cinfo: Box::new(unsafe { std::mem::zeroed() }),
            _derr: Box::new(error_manager()),
            _cerr: Box::new(error_manager()),
            dest,
        };
        s.dinfo.common.err = &mut *s._derr;
        s.cinfo.common.err = &mut *s._cerr;
        s
    }

    /// The start every coefficient transcode shares: reads `input`'s coefficient arrays and
    /// creates the compress struct under libjpeg-turbo's defaults (not mozjpeg's: no scan
    /// search, no trellis) with the input's frame, components, sampling, quantisation tables
    /// and JFIF density. Returns the arrays for `jpeg_write_coefficients`.
    ///
    /// # Safety
    /// `input` must outlive every later use of the decompress struct (libjpeg reads it in
    /// place), and the call must run inside [`guard`] (libjpeg's errors unwind).
    pub(super) unsafe fn read_coefficients(
        &mut self,
        input: &[u8],
    ) -> Result<*mut *mut ffi::jvirt_barray_control> {
        let Ok(len) = c_ulong::try_from(input.len()) else {
            return Err(Error::Unsupported("input over the address range".into()));
        };
        let dinfo = &mut *self.dinfo;
        let cinfo = &mut *self.cinfo;
        // SAFETY: both structs are zeroed with their error managers set (`new`), as
        // jpeg_Create* expects; the caller keeps `input` alive.
        unsafe {
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
            ffi::jpeg_c_set_int_param(
                cinfo,
                ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
            );
            ffi::jpeg_copy_critical_parameters(dinfo, cinfo);
            Ok(coefficients)
        }
    }
}

/// A libjpeg destination manager: a `#[repr(C)]` struct whose first field is the
/// `jpeg_destination_mgr` libjpeg is handed.
pub(super) trait Destination {
    /// The manager libjpeg calls.
    fn manager(&mut self) -> &mut ffi::jpeg_destination_mgr;
}

impl<D: Destination> Structs<D> {
    /// The end every coefficient transcode shares: Huffman tables optimised for the image,
    /// progressive ([`YCBCR_SCRIPT`], or libjpeg's simple script for other colour spaces) when
    /// `progressive`, then the coefficient arrays and `markers` (APPn / COM payloads by marker
    /// code, after the frame's own JFIF or Adobe marker) to the destination.
    ///
    /// # Safety
    /// `coefficients` must come from [`Structs::read_coefficients`] on these structs, whose
    /// `input` is still alive, and the call must run inside [`guard`].
    pub(super) unsafe fn write_coefficients(
        &mut self,
        coefficients: *mut *mut ffi::jvirt_barray_control,
        progressive: bool,
        markers: &[(u8, Vec<u8>)],
    ) -> Result<()> {
        let cinfo = &mut *self.cinfo;
        // SAFETY: the compress struct was created by `read_coefficients`, with the input's
        // critical parameters, and the coefficient arrays live until both structs are
        // destroyed; the destination outlives the structs' use of it (it is theirs).
        unsafe {
            cinfo.optimize_coding = 1;
            if progressive {
                if cinfo.num_components == 3
                    && cinfo.jpeg_color_space == ffi::J_COLOR_SPACE::JCS_YCbCr
                {
                    // A static script: libjpeg reads it through `jpeg_finish_compress`.
                    cinfo.scan_info = YCBCR_SCRIPT.as_ptr();
                    cinfo.num_scans = YCBCR_SCRIPT.len() as c_int;
                } else {
                    ffi::jpeg_simple_progression(cinfo);
                }
            }
            cinfo.dest = self.dest.manager();
            ffi::jpeg_write_coefficients(cinfo, coefficients);
            for (code, payload) in markers {
                let Ok(len) = c_uint::try_from(payload.len()) else {
                    return Err(Error::Unsupported("marker payload over 4 GiB".into()));
                };
                ffi::jpeg_write_marker(cinfo, c_int::from(*code), payload.as_ptr(), len);
            }
            ffi::jpeg_finish_compress(cinfo);
            ffi::jpeg_finish_decompress(&mut self.dinfo);
        }
        Ok(())
    }
}

/// The progressive script for YCbCr files, mozjpeg's for its smallest profile without the scan
/// search (jpgcrush's): all DC in one scan; luma AC in two bands (1-8, 9-63) two bits short,
/// then refined a bit at a time; each chroma component's AC in the same two bands at once.
/// Against libjpeg's 10-scan script (`jpeg_simple_progression` under libjpeg-turbo's profile)
/// its files are 0.1-3 % smaller and both write and decode faster (fewer passes over luma's
/// low band): "Output size" in `docs/watermark.md`.
static YCBCR_SCRIPT: [ffi::jpeg_scan_info; 9] = [
    scan(&[0, 1, 2], 0, 0, 0, 0),
    scan(&[0], 1, 8, 0, 2),
    scan(&[0], 9, 63, 0, 2),
    scan(&[0], 1, 63, 2, 1),
    scan(&[0], 1, 63, 1, 0),
    scan(&[1], 1, 8, 0, 0),
    scan(&[2], 1, 8, 0, 0),
    scan(&[1], 9, 63, 0, 0),
    scan(&[2], 9, 63, 0, 0),
];

/// One scan of a script: the components (frame indices), the spectral band `ss..=se` and the
/// successive-approximation bits (`ah` the previous scan's, `al` this one's).
const fn scan(
    components: &[c_int],
    ss: c_int,
    se: c_int,
    ah: c_int,
    al: c_int,
) -> ffi::jpeg_scan_info {
    let mut component_index = [0; 4];
    let mut i = 0;
    while i < components.len() {
        component_index[i] = components[i];
        i += 1;
    }
    ffi::jpeg_scan_info {
        comps_in_scan: components.len() as c_int,
        component_index,
        Ss: ss,
        Se: se,
        Ah: ah,
        Al: al,
    }
}

impl<D> Drop for Structs<D> {
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
/// own JFIF or Adobe marker; the input's own APPn and COM segments are not copied. The file
/// goes to `writer` as libjpeg makes it, 64 KiB at a time.
pub fn optimize_progressive<W: Write>(
    input: &[u8],
    markers: &[(u8, Vec<u8>)],
    writer: &mut W,
) -> Result<()> {
    let mut s = Structs::new(WriteDestination::new(writer));
    guard(|| {
        // SAFETY: the structs are created before use and destroyed by `Structs::drop`; `input`
        // outlives the decompress struct's use of it (this call); the compress struct reads the
        // decompress struct's coefficient arrays, which live until both are destroyed.
        unsafe {
            let coefficients = s.read_coefficients(input)?;
            s.write_coefficients(coefficients, true, markers)?;
        }
        Ok(())
    })?;
    s.dest.writer.flush()?;
    Ok(())
}

impl<W> Destination for WriteDestination<W> {
    fn manager(&mut self) -> &mut ffi::jpeg_destination_mgr {
        &mut self.mgr
    }
}

/// libjpeg's destination manager, passing each full buffer on to a writer.
#[repr(C)]
struct WriteDestination<W> {
    // Must stay first: libjpeg sees a pointer to this struct as a `jpeg_destination_mgr`.
    mgr: ffi::jpeg_destination_mgr,
    buffer: Vec<u8>,
    writer: W,
}

/// Bytes handed to libjpeg per output buffer.
const CHUNK: usize = 64 << 10;

impl<W: Write> WriteDestination<W> {
    fn new(writer: W) -> Box<Self> {
        Box::new(WriteDestination {
            mgr: ffi::jpeg_destination_mgr {
                next_output_byte: std::ptr::null_mut(),
                free_in_buffer: 0,
                init_destination: Some(init_destination::<W>),
                empty_output_buffer: Some(empty_output_buffer::<W>),
                term_destination: Some(term_destination::<W>),
            },
            buffer: vec![0; CHUNK],
            writer,
        })
    }

    /// Writes the first `used` bytes of the buffer, or stops libjpeg (through the guard, as
    /// the writer's [`Error::Io`]) when the writer fails.
    fn pass_on(&mut self, used: usize) {
        if let Err(err) = self.writer.write_all(&self.buffer[..used]) {
            IO_ERROR.with(|e| *e.borrow_mut() = Some(Error::from(err)));
            panic::resume_unwind(Box::new(format!("{FATAL}output write failed")));
        }
        self.mgr.next_output_byte = self.buffer.as_mut_ptr();
        self.mgr.free_in_buffer = self.buffer.len();
    }
}

/// The destination of `cinfo`, a [`WriteDestination`] here.
///
/// # Safety
/// `cinfo.dest` must point to the `mgr` field of a live `WriteDestination<W>`.
unsafe fn destination<W>(cinfo: &mut ffi::jpeg_compress_struct) -> &mut WriteDestination<W> {
    unsafe { &mut *cinfo.dest.cast::<WriteDestination<W>>() }
}

unsafe extern "C-unwind" fn init_destination<W: Write>(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: libjpeg calls this with the struct whose `dest` we set.
    let dest = unsafe { destination::<W>(cinfo) };
    dest.mgr.next_output_byte = dest.buffer.as_mut_ptr();
    dest.mgr.free_in_buffer = dest.buffer.len();
}

unsafe extern "C-unwind" fn empty_output_buffer<W: Write>(
    cinfo: &mut ffi::jpeg_compress_struct,
) -> ffi::boolean {
    // SAFETY: as in init_destination. libjpeg calls this with the buffer full.
    let dest = unsafe { destination::<W>(cinfo) };
    dest.pass_on(dest.buffer.len());
    1
}

unsafe extern "C-unwind" fn term_destination<W: Write>(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: as in init_destination.
    let dest = unsafe { destination::<W>(cinfo) };
    dest.pass_on(dest.buffer.len() - dest.mgr.free_in_buffer);
}
