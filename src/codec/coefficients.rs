//! What libjpeg keeps in memory to decode a multi-scan file: every coefficient of the image,
//! before the first row of pixels comes out. Capabilities check it against their limits before
//! decoding.

use crate::jpeg::{Header, Process};

/// Whether libjpeg decodes this file through its whole-image coefficient buffer: progressive
/// files, and sequential ones whose first scan does not hold every component.
pub fn is_multi_scan(header: &Header) -> bool {
    header.frame.kind.process() == Process::Progressive
        || header.first_scan.components.len() < header.frame.components.len()
}

/// libjpeg's whole-image coefficient buffer for multi-scan input (`jdcoefct.c`): every
/// component's blocks, rounded up to whole MCUs, 64 coefficients of 2 bytes each.
pub fn coefficient_buffer_bytes(header: &Header) -> u64 {
    let frame = &header.frame;
    let (hmax, vmax) = frame.max_sampling();
    let (hmax, vmax) = (u64::from(hmax), u64::from(vmax));
    let (w, h) = (u64::from(frame.width), u64::from(frame.height));
    frame
        .components
        .iter()
        .map(|c| {
            let (ch, cv) = (u64::from(c.h), u64::from(c.v));
            let blocks_w = (w * ch).div_ceil(hmax).div_ceil(8);
            let blocks_h = (h * cv).div_ceil(vmax).div_ceil(8);
            blocks_w.next_multiple_of(ch) * blocks_h.next_multiple_of(cv) * 128
        })
        .sum()
}
