//! Property: `shrink::shrink` (header, plan, libjpeg or DC-only decode, resampler, encoder) never panics on arbitrary bytes under small limits, whatever the target size, strictness, filter and DC-only choice; libjpeg's fatal errors come back as `Error::Codec`, and an Ok result is a JPEG of the reported size.
//!
//! Byte 0 chooses the options (see `shrink_common.rs`), the rest is the file. Limits: 4 MP,
//! 16 MiB per allocation, 100 scans, `max_memory` 64 MiB. On Ok the output must start with SOI,
//! end with EOI, and its header must give the reported output size. Needs panic=unwind (see
//! README): libjpeg's errors unwind through C into `codec::guard`.

#![no_main]

#[path = "shrink_common.rs"]
mod shrink_common;

use jpgtool::jpeg::read_header;
use jpgtool::shrink::shrink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&config, jpeg)) = data.split_first() else {
        return;
    };
    let options = shrink_common::options(config);
    let Ok((report, out)) = shrink(jpeg, Vec::new(), &options) else {
        return;
    };
    assert!(out.starts_with(&[0xFF, 0xD8]), "output lacks SOI");
    assert!(out.ends_with(&[0xFF, 0xD9]), "output lacks EOI");
    let header = read_header(&out[..]).expect("our own output parses");
    assert_eq!(
        (
            u32::from(header.frame.width),
            u32::from(header.frame.height)
        ),
        report.output,
        "output header size differs from the report ({:?})",
        report.plan
    );
    assert!(
        report.output.0 <= report.input.0 && report.output.1 <= report.input.1,
        "{report:?}"
    );
});
