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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, EncoderSettings};
    use crate::jpeg::{ColorSpace, read_header};

    /// A 100 x 60 YCbCr 4:2:0 file, baseline (`smallest: false`) or progressive (`true`).
    fn header(progressive: bool) -> Header {
        let settings = EncoderSettings {
            width: 100,
            height: 60,
            color: ColorSpace::YCbCr,
            quality: 75,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            smallest: progressive,
            density: None,
        };
        let samples: Vec<u8> = (0..100 * 60 * 3).map(|i| (i % 251) as u8).collect();
        let mut encoder = Encoder::start(Vec::new(), &settings, &[]).unwrap();
        encoder.write_rows(&samples).unwrap();
        read_header(&encoder.finish().unwrap()[..]).unwrap()
    }

    #[test]
    fn progressive_is_multi_scan_and_baseline_is_not() {
        assert!(is_multi_scan(&header(true)));
        assert!(!is_multi_scan(&header(false)));
    }

    /// Luma: 13 x 8 blocks, rounded up to whole MCUs of 2 x 2, 14 x 8; each chroma component
    /// 7 x 4 blocks (50 x 30 samples); 128 bytes per block.
    #[test]
    fn coefficient_buffer_counts_whole_mcus() {
        let expected = (14 * 8 + 2 * 7 * 4) * 128;
        assert_eq!(coefficient_buffer_bytes(&header(true)), expected);
        assert_eq!(coefficient_buffer_bytes(&header(false)), expected);
    }
}
