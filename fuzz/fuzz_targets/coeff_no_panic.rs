//! Property: `read_header` + `Parser::decode_dc` (the DC-only decoder of progressive JPEGs) never panic on arbitrary bytes under small `Limits`, and every Ok `DcImage` is consistent with its frame.
//!
//! Limits: 4 MP, 16 MiB per allocation, 100 scans (`decode_dc` itself checks only `max_alloc`
//! and `max_scans`; the pixel limits are what `shrink` checks before calling it). Invariants on
//! Ok: one plane per frame component; each plane is `blocks_wide x blocks_high` with
//! `blocks_wide = ceil(width / (8 * Hmax)) * H` and `blocks_high = ceil(height / (8 * Vmax)) * V`
//! (whole MCUs, T.81 A.2.4); the planes together fit in `max_alloc`; the DC quantizer is the
//! entry 0 of a table, never zero for a component that a scan named; at most 51 warnings
//! (50 kept plus the "suppressed" count).

#![no_main]

use jpgtool::Limits;
use jpgtool::jpeg::{Parser, Streamed};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_width: 65535,
    max_height: 65535,
    max_pixels: 4_000_000,
    max_alloc: 16 << 20,
    max_scans: 100,
    max_metadata: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    let mut parser = Parser::new(Streamed::new(data));
    let Ok(header) = parser.read_header() else {
        return;
    };
    let Ok(image) = parser.decode_dc(&header, &LIMITS) else {
        return;
    };

    let frame = &header.frame;
    assert_eq!(
        image.planes.len(),
        frame.components.len(),
        "one plane per frame component"
    );
    let hmax = frame
        .components
        .iter()
        .map(|c| usize::from(c.h))
        .max()
        .unwrap();
    let vmax = frame
        .components
        .iter()
        .map(|c| usize::from(c.v))
        .max()
        .unwrap();
    assert!(hmax > 0 && vmax > 0, "Ok with a zero sampling factor");
    let mcus_x = usize::from(frame.width).div_ceil(8 * hmax);
    let mcus_y = usize::from(frame.height).div_ceil(8 * vmax);
    let mut bytes = 0u64;
    for (i, (plane, comp)) in image.planes.iter().zip(&frame.components).enumerate() {
        assert_eq!(
            plane.dc.len(),
            plane.blocks_wide * plane.blocks_high,
            "plane {i}: dc.len() != blocks_wide * blocks_high"
        );
        assert_eq!(
            (plane.blocks_wide, plane.blocks_high),
            (mcus_x * usize::from(comp.h), mcus_y * usize::from(comp.v)),
            "plane {i}: not padded to whole MCUs ({}x{} frame, {}x{} sampling)",
            frame.width,
            frame.height,
            comp.h,
            comp.v
        );
        bytes += 2 * plane.dc.len() as u64;
    }
    assert!(
        bytes <= LIMITS.max_alloc,
        "{bytes} bytes of planes above max_alloc"
    );
    assert!(
        image.warnings.len() <= 51,
        "{} warnings",
        image.warnings.len()
    );
});
