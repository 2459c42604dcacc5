//! The encoder `recompress` uses: IJG (Annex K) tables at the quality asked for under either of
//! mozjpeg's profiles, optimised Huffman tables always, and the output collected in memory so
//! that it can be compared with the input before anything is written.
//!
//! The `mozjpeg` crate's `Compress` cannot do this: under mozjpeg's own profile (progressive +
//! trellis) its `set_quality` scales mozjpeg's table set 3, not Annex K, and the crate gives no
//! access to the parameter that selects the base tables. So this encoder drives libjpeg through
//! `mozjpeg-sys` directly, with the same error manager and guard as every other codec call.

use std::os::raw::{c_int, c_uint};
use std::panic;

use mozjpeg_sys as ffi;

use super::{EncoderSettings, FATAL, IO_ERROR, Profile, error_manager, guard, jcs};
use crate::error::{Error, Result};

/// Bytes handed to libjpeg per output buffer.
const CHUNK: usize = 64 << 10;

/// A started in-memory encoder: feed it rows, then [`MemoryEncoder::finish`].
pub struct MemoryEncoder {
    // Boxed so that the pointers libjpeg keeps to them (`cinfo.err`, `cinfo.dest`) stay valid
    // when the encoder moves; `cinfo` is destroyed in `Drop` before they are freed.
    cinfo: Box<ffi::jpeg_compress_struct>,
    _err: Box<ffi::jpeg_error_mgr>,
    dest: Box<VecDestination>,
    row_len: usize,
}

/// libjpeg's destination manager, writing into a `Vec` that may not grow past `max_bytes`.
#[repr(C)]
pub(super) struct VecDestination {
    // Must stay first: libjpeg sees a pointer to this struct as a `jpeg_destination_mgr`.
    pub(super) mgr: ffi::jpeg_destination_mgr,
    buffer: Vec<u8>,
    out: Vec<u8>,
    max_bytes: u64,
}

impl super::transcode::Destination for VecDestination {
    fn manager(&mut self) -> &mut ffi::jpeg_destination_mgr {
        &mut self.mgr
    }
}

impl MemoryEncoder {
    /// Writes SOI, the headers and `markers` (APPn / COM payloads by marker code) at IJG quality
    /// `settings.quality` with Annex K tables and optimised Huffman coding under every
    /// profile: [`Profile::Fastest`] baseline, [`Profile::Progressive`] in libjpeg's simple
    /// progressive script, [`Profile::Smallest`] with mozjpeg's progressive scans and trellis
    /// quantisation. The output may not exceed `max_bytes` ([`Error::LimitExceeded`]).
    pub fn start(
        settings: &EncoderSettings,
        markers: &[(u8, Vec<u8>)],
        max_bytes: u64,
    ) -> Result<Self> {
        Self::start_with_tables(settings, markers, max_bytes, None)
    }

    /// [`MemoryEncoder::start`] with each component quantised by the table given for it
    /// (natural order, entries clamped to 1..=255 as a baseline file needs) instead of the
    /// Annex K tables at `settings.quality`; components with equal tables share a slot.
    pub fn start_with_tables(
        settings: &EncoderSettings,
        markers: &[(u8, Vec<u8>)],
        max_bytes: u64,
        tables: Option<&[[u16; 64]]>,
    ) -> Result<Self> {
        let channels = super::channels(settings.color);
        if tables.is_some_and(|t| t.len() != channels) {
            return Err(Error::Unsupported(format!(
                "{} quantization tables for {channels} components",
                tables.map_or(0, <[_]>::len)
            )));
        }
        if settings.sampling.len() != channels {
            return Err(Error::Unsupported(format!(
                "{} sampling factors for {channels} components",
                settings.sampling.len()
            )));
        }
        if !settings.sampling.iter().any(|s| s.0 == 1)
            || !settings.sampling.iter().any(|s| s.1 == 1)
        {
            return Err(Error::Unsupported(format!(
                "sampling factors {:?} (libjpeg needs a factor of 1 on each axis)",
                settings.sampling
            )));
        }
        let row_len = settings
            .width
            .checked_mul(channels)
            .ok_or_else(|| Error::Unsupported("output width".into()))?;
        let (Ok(width), Ok(height)) = (
            ffi::JDIMENSION::try_from(settings.width),
            ffi::JDIMENSION::try_from(settings.height),
        ) else {
            return Err(Error::Unsupported("output size".into()));
        };
        // SAFETY: all-zero is the state jpeg_CreateCompress expects to start from (it is what
        // the mozjpeg crate does too); the error manager is installed before the call.
        let mut encoder = MemoryEncoder {
            cinfo: Box::new(unsafe { std::mem::zeroed() }),
            _err: Box::new(error_manager()),
            dest: VecDestination::new(max_bytes),
            row_len,
        };
        encoder.cinfo.common.err = &mut *encoder._err;
        guard(|| {
            let color = jcs(settings.color);
            // SAFETY: cinfo is zeroed with its error manager set, as jpeg_CreateCompress needs;
            // every later call gets the struct it created. `dest` outlives `cinfo` (Drop).
            unsafe {
                let cinfo = &mut *encoder.cinfo;
                ffi::jpeg_CreateCompress(
                    cinfo,
                    ffi::JPEG_LIB_VERSION,
                    std::mem::size_of::<ffi::jpeg_compress_struct>(),
                );
                cinfo.in_color_space = color;
                cinfo.input_components = channels as c_int;
                let profile = if settings.profile == Profile::Smallest {
                    ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_MAX_COMPRESSION
                } else {
                    ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST
                };
                ffi::jpeg_c_set_int_param(
                    cinfo,
                    ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                    profile as c_int,
                );
                ffi::jpeg_set_defaults(cinfo);
                // Annex K under both profiles, so that the quality reads back as asked.
                ffi::jpeg_c_set_int_param(cinfo, ffi::J_INT_PARAM::JINT_BASE_QUANT_TBL_IDX, 0);
                ffi::jpeg_set_colorspace(cinfo, color);
                cinfo.image_width = width;
                cinfo.image_height = height;
                let components =
                    std::slice::from_raw_parts_mut(cinfo.comp_info, cinfo.num_components as usize);
                for (component, &(h, v)) in components.iter_mut().zip(&settings.sampling) {
                    component.h_samp_factor = h.into();
                    component.v_samp_factor = v.into();
                }
                ffi::jpeg_set_quality(cinfo, c_int::from(settings.quality), 0);
                if let Some(tables) = tables {
                    let mut slots: Vec<&[u16; 64]> = Vec::new();
                    for (component, table) in components.iter_mut().zip(tables) {
                        let slot = match slots.iter().position(|&t| t == table) {
                            Some(slot) => slot,
                            None => {
                                slots.push(table);
                                let values = table.map(c_uint::from);
                                // Scale 100 %, clamped to 1..=255 (force_baseline).
                                ffi::jpeg_add_quant_table(
                                    cinfo,
                                    (slots.len() - 1) as c_int,
                                    values.as_ptr(),
                                    100,
                                    1,
                                );
                                slots.len() - 1
                            }
                        };
                        component.quant_tbl_no = slot as c_int;
                    }
                }
                cinfo.optimize_coding = 1;
                if settings.profile == Profile::Progressive {
                    ffi::jpeg_simple_progression(cinfo);
                }
                if let Some(density) = &settings.density {
                    cinfo.density_unit = density.unit as u8;
                    cinfo.X_density = density.x;
                    cinfo.Y_density = density.y;
                }
                cinfo.dest = &mut encoder.dest.mgr;
                ffi::jpeg_start_compress(cinfo, 1);
                for (code, payload) in markers {
                    let Ok(len) = c_uint::try_from(payload.len()) else {
                        return Err(Error::Unsupported("marker payload over 4 GiB".into()));
                    };
                    ffi::jpeg_write_marker(cinfo, c_int::from(*code), payload.as_ptr(), len);
                }
            }
            Ok(())
        })?;
        Ok(encoder)
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Compresses whole rows of interleaved samples.
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let rows_count = rows.len() / self.row_len;
        debug_assert_eq!(rows.len() % self.row_len, 0);
        let pointers: Vec<*const u8> = rows
            .chunks_exact(self.row_len)
            .map(<[u8]>::as_ptr)
            .collect();
        let cinfo = &mut *self.cinfo;
        guard(|| {
            let mut done = 0;
            while done < rows_count {
                // SAFETY: each pointer addresses `row_len` samples of `rows`, alive for the call;
                // libjpeg reads at most `rows_count - done` of them.
                let n = unsafe {
                    ffi::jpeg_write_scanlines(
                        cinfo,
                        pointers[done..].as_ptr(),
                        (rows_count - done) as ffi::JDIMENSION,
                    )
                };
                if n == 0 {
                    return Err(Error::Codec("the encoder took no rows".into()));
                }
                done += n as usize;
            }
            Ok(())
        })
    }

    /// Writes EOI and returns the file.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let cinfo = &mut *self.cinfo;
        // SAFETY: compression was started in `start`; every row has been written.
        guard(|| {
            unsafe { ffi::jpeg_finish_compress(cinfo) };
            Ok(())
        })?;
        Ok(self.dest.take())
    }
}

impl VecDestination {
    /// An empty destination whose output may not exceed `max_bytes`.
    pub(super) fn new(max_bytes: u64) -> Box<Self> {
        Box::new(VecDestination {
            mgr: ffi::jpeg_destination_mgr {
                next_output_byte: std::ptr::null_mut(),
                free_in_buffer: 0,
                init_destination: Some(init_destination),
                empty_output_buffer: Some(empty_output_buffer),
                term_destination: Some(term_destination),
            },
            buffer: vec![0; CHUNK],
            out: Vec::new(),
            max_bytes,
        })
    }

    /// The bytes written so far (all of them once libjpeg has finished).
    pub(super) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// What [`Error::LimitExceeded`] names when the output outgrows its `max_bytes`.
pub const OUTPUT_BYTES: &str = "re-encoded output in bytes";

impl Drop for MemoryEncoder {
    fn drop(&mut self) {
        // SAFETY: jpeg_destroy_compress accepts a struct in any state after jpeg_CreateCompress,
        // and does nothing harmful on a zeroed one (no memory manager yet).
        if !self.cinfo.common.mem.is_null() {
            unsafe { ffi::jpeg_destroy_compress(&mut self.cinfo) };
        }
    }
}

/// The destination of `cinfo`, which is always a [`VecDestination`] here.
///
/// # Safety
/// `cinfo.dest` must point to the `mgr` field of a live `VecDestination`.
unsafe fn destination(cinfo: &mut ffi::jpeg_compress_struct) -> &mut VecDestination {
    unsafe { &mut *cinfo.dest.cast::<VecDestination>() }
}

unsafe extern "C-unwind" fn init_destination(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: libjpeg calls this with the struct whose `dest` we set.
    let dest = unsafe { destination(cinfo) };
    dest.mgr.next_output_byte = dest.buffer.as_mut_ptr();
    dest.mgr.free_in_buffer = dest.buffer.len();
}

unsafe extern "C-unwind" fn empty_output_buffer(
    cinfo: &mut ffi::jpeg_compress_struct,
) -> ffi::boolean {
    // SAFETY: as in init_destination. libjpeg calls this with the buffer full.
    let dest = unsafe { destination(cinfo) };
    dest.push(dest.buffer.len());
    dest.mgr.next_output_byte = dest.buffer.as_mut_ptr();
    dest.mgr.free_in_buffer = dest.buffer.len();
    1
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: as in init_destination.
    let dest = unsafe { destination(cinfo) };
    dest.push(dest.buffer.len() - dest.mgr.free_in_buffer);
}

impl VecDestination {
    /// Moves the first `used` bytes of the buffer to the output, or stops libjpeg (through
    /// the guard, as [`Error::LimitExceeded`]) when the output would pass `max_bytes`.
    fn push(&mut self, used: usize) {
        let total = (self.out.len() + used) as u64;
        if total > self.max_bytes {
            let err = Error::LimitExceeded {
                what: OUTPUT_BYTES,
                value: total,
                limit: self.max_bytes,
            };
            IO_ERROR.with(|e| *e.borrow_mut() = Some(err));
            panic::resume_unwind(Box::new(format!("{FATAL}output too large")));
        }
        self.out.extend_from_slice(&self.buffer[..used]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::{ColorSpace, read_header};

    fn encode(quality: u8, profile: Profile) -> Vec<u8> {
        let settings = EncoderSettings {
            width: 64,
            height: 48,
            color: ColorSpace::YCbCr,
            quality,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            profile,
            density: None,
        };
        let samples: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut encoder =
            MemoryEncoder::start(&settings, &[(0xFE, b"hello".to_vec())], 1 << 20).expect("start");
        encoder.write_rows(&samples).expect("rows");
        encoder.finish().expect("finish")
    }

    /// The tables are libjpeg's Annex K luma table scaled by IJG's formula
    /// (`scale = 200 - 2q` for q >= 50, `(16 * scale + 50) / 100`): 16 at DC becomes 13 at q 60
    /// (scale 80), under every profile; the progressive ones write a progressive frame.
    #[test]
    fn annex_k_tables_under_every_profile() {
        for profile in [Profile::Fastest, Profile::Progressive, Profile::Smallest] {
            let header = read_header(&encode(60, profile)[..]).expect("header");
            let table = header.quant_tables[0].as_ref().expect("luma table");
            assert_eq!(table.values[0], (16 * 80 + 50) / 100, "{profile:?}");
            assert_eq!(
                header.frame.kind.process() == crate::jpeg::Process::Progressive,
                profile != Profile::Fastest,
                "{profile:?}"
            );
        }
    }

    /// Given tables are written as given, in natural order (entries over 255 clamped to 255, as
    /// a baseline file needs), each component naming its own; equal tables share a slot.
    #[test]
    fn given_tables_are_written_per_component() {
        let settings = EncoderSettings {
            width: 64,
            height: 48,
            color: ColorSpace::YCbCr,
            quality: 75,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            profile: Profile::Progressive,
            density: None,
        };
        let luma: [u16; 64] = std::array::from_fn(|i| 2 + i as u16);
        let chroma: [u16; 64] = std::array::from_fn(|i| if i == 63 { 300 } else { 9 + i as u16 });
        let samples: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let tables = [luma, chroma, chroma];
        let mut encoder =
            MemoryEncoder::start_with_tables(&settings, &[], 1 << 20, Some(&tables)).unwrap();
        encoder.write_rows(&samples).unwrap();
        let header = read_header(&encoder.finish().unwrap()[..]).unwrap();
        let slots: Vec<u8> = header.frame.components.iter().map(|c| c.table).collect();
        assert_eq!(slots, [0, 1, 1]);
        assert_eq!(header.quant_tables[0].unwrap().values, luma);
        let mut clamped = chroma;
        clamped[63] = 255;
        assert_eq!(header.quant_tables[1].unwrap().values, clamped);
        let wrong = MemoryEncoder::start_with_tables(&settings, &[], 1 << 20, Some(&tables[..2]));
        assert!(matches!(wrong, Err(Error::Unsupported(_))));
    }

    #[test]
    fn output_over_the_cap_is_a_limit_error() {
        let settings = EncoderSettings::grey(256, 256, 100);
        let mut encoder = MemoryEncoder::start(&settings, &[], 100).expect("start");
        let rows: Vec<u8> = (0..256 * 256).map(|i| (i * 31 % 256) as u8).collect();
        let result = encoder
            .write_rows(&rows)
            .and_then(|()| encoder.finish().map(drop));
        assert!(
            matches!(result, Err(Error::LimitExceeded { .. })),
            "{result:?}"
        );
    }
}
