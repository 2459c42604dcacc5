//! Writes a baseline (sequential) mozjpeg file from a binary PPM at a quality, with mozjpeg's
//! default profile otherwise (its tables, trellis quantisation): test data for the
//! primary-quality bench, whose single saves must include an encoder that rounds coefficients
//! by rate-distortion rather than to nearest.
//!
//! `cargo build --release --example mozjpeg_encode`, then `mozjpeg_encode IN.ppm Q OUT.jpg`.

use std::ffi::c_int;

use mozjpeg_sys::*;

fn read_ppm(path: &str) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).expect("read PPM");
    // "P6" WS width WS height WS 255 single-WS data (no comments: Pillow and djpeg write none).
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P6", "binary PPM expected");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[i + 1..i + 1 + w * h * 3].to_vec();
    (w, h, data)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(args.len(), 4, "usage: mozjpeg_encode IN.ppm Q OUT.jpg");
    let (w, h, rgb) = read_ppm(&args[1]);
    let quality: c_int = args[2].parse().expect("quality");
    // SAFETY: the libjpeg compression sequence of libjpeg.txt, on structs that live to its
    // end; the default error handler exits the process on an error.
    unsafe {
        let mut err: jpeg_error_mgr = std::mem::zeroed();
        let mut cinfo: jpeg_compress_struct = std::mem::zeroed();
        cinfo.common.err = jpeg_std_error(&mut err);
        jpeg_CreateCompress(&mut cinfo, JPEG_LIB_VERSION, std::mem::size_of_val(&cinfo));
        let mut out: *mut u8 = std::ptr::null_mut();
        let mut out_len: std::ffi::c_ulong = 0;
        jpeg_mem_dest(&mut cinfo, &mut out, &mut out_len);
        cinfo.image_width = w as JDIMENSION;
        cinfo.image_height = h as JDIMENSION;
        cinfo.input_components = 3;
        cinfo.in_color_space = J_COLOR_SPACE::JCS_RGB;
        jpeg_set_defaults(&mut cinfo);
        jpeg_set_quality(&mut cinfo, quality, 1);
        // One sequential scan instead of mozjpeg's default progression.
        jpeg_c_set_bool_param(&mut cinfo, J_BOOLEAN_PARAM::JBOOLEAN_OPTIMIZE_SCANS, 0);
        cinfo.scan_info = std::ptr::null();
        cinfo.num_scans = 0;
        jpeg_start_compress(&mut cinfo, 1);
        for row in rgb.chunks_exact(w * 3) {
            let ptr = row.as_ptr();
            jpeg_write_scanlines(&mut cinfo, &ptr, 1);
        }
        jpeg_finish_compress(&mut cinfo);
        let bytes = std::slice::from_raw_parts(out, out_len as usize).to_vec();
        jpeg_destroy_compress(&mut cinfo);
        std::fs::write(&args[3], bytes).expect("write output");
    }
}
