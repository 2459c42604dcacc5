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
    let sampling: Vec<(u8, u8)> = frame.components.iter().map(|c| (c.h, c.v)).collect();
    block_buffer_bytes(frame.width.into(), frame.height.into(), &sampling)
}

/// One whole-image coefficient array of a `width` x `height` frame with these (h, v) sampling
/// factors, in component order, as libjpeg allocates it (`jdcoefct.c`, `jccoefct.c`,
/// `jctrans.c`): each component's blocks rounded up to whole MCUs, 128 bytes per block.
pub fn block_buffer_bytes(width: u64, height: u64, sampling: &[(u8, u8)]) -> u64 {
    let largest = |factor: fn(&(u8, u8)) -> u8| {
        sampling
            .iter()
            .map(|s| u64::from(factor(s)))
            .max()
            .unwrap_or(1)
            .max(1)
    };
    let (hmax, vmax) = (largest(|s| s.0), largest(|s| s.1));
    sampling
        .iter()
        .map(|&(h, v)| {
            let (h, v) = (u64::from(h.max(1)), u64::from(v.max(1)));
            let blocks_w = (width * h).div_ceil(hmax).div_ceil(8);
            let blocks_h = (height * v).div_ceil(vmax).div_ceil(8);
            blocks_w.next_multiple_of(h) * blocks_h.next_multiple_of(v) * 128
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, EncoderSettings, Profile};
    use crate::jpeg::{ColorSpace, read_header};

    /// A 100 x 60 YCbCr 4:2:0 file, baseline or progressive.
    fn header(progressive: bool) -> Header {
        let settings = EncoderSettings {
            width: 100,
            height: 60,
            color: ColorSpace::YCbCr,
            quality: 75,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            profile: if progressive {
                Profile::Progressive
            } else {
                Profile::Fastest
            },
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
