//! Property: `recompress::recompress_bytes` (header, skip decision, libjpeg decode and the
//! in-memory encoder, or the coefficient requantiser) never panics on arbitrary bytes under
//! small limits; an output, when there is one, is smaller than the input and reads back the
//! target quality.
//!
//! Byte 0 chooses the target quality (1..=100 from its low 7 bits), the method (bit 7) and
//! `strict`/`smallest` from byte 1; the rest is the file. Limits: 4 MP, 16 MiB per allocation,
//! 100 scans, `max_memory` 64 MiB. Needs panic=unwind (see README).

#![no_main]

use jpgtool::Limits;
use jpgtool::jpeg::read_header;
use jpgtool::recompress::{Method, Options, recompress_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [config, flags, jpeg @ ..] = data else {
        return;
    };
    let mut options = Options::new((config & 0x7F) % 100 + 1);
    options.method = if config & 0x80 != 0 { Method::Coefficients } else { Method::Pixels };
    options.strict = flags & 1 != 0;
    options.smallest = flags & 2 != 0;
    options.max_memory = 64 << 20;
    options.limits = Limits {
        max_pixels: 4 << 20,
        max_alloc: 16 << 20,
        max_scans: 100,
        ..Limits::default()
    };
    let Ok((report, Some(out))) = recompress_bytes(jpeg, &options) else {
        return;
    };
    assert!(out.len() < jpeg.len(), "output not smaller");
    assert_eq!(report.output_bytes, out.len() as u64);
    let header = read_header(&out[..]).expect("our own output parses");
    let quality = jpgtool::quality::estimate(&header).quality.map(|q| q.min);
    assert_eq!(quality, Some(f64::from(options.quality)), "quality does not read back");
});
