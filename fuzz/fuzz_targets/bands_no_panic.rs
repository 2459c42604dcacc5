//! Property: the progressive band decoder (`jpeg::progressive`: compact store, AC first and refinement scans, resuming each scan in later passes) never panics on arbitrary bytes, in one band or many, and its bands tile the image.
//!
//! Input layout: byte 0 picks the kept square (bits 0..=1: 4, 2, 1, 8 coefficients a side) and
//! the budget (bits 2..=7: 0 for one band, otherwise `n * 512` bytes, which splits a file of a
//! few hundred pixels into many bands); bytes 1.. are the JPEG stream, read through a seekable
//! `Cursor`. Limits: 64 K pixels (so that an input is a few hundred blocks and runs in well
//! under a millisecond: the properties are per block, per scan and per band, none needs a big
//! image), 16 MiB per allocation, 100 scans. Invariants on Ok: the planned
//! passes give as many bands, each band's MCU rows start where the previous one ended and the
//! last ends at the frame's MCU row count; each component's block rows are whole MCU rows of
//! its plane; at most 51 warnings.

#![no_main]

use std::io::Cursor;

use jpgtool::Limits;
use jpgtool::jpeg::progressive::{BandDecoder, plan_bands};
use jpgtool::jpeg::{Parser, Seekable};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_width: 65535,
    max_height: 65535,
    max_pixels: 1 << 16,
    max_alloc: 16 << 20,
    max_scans: 100,
    max_metadata: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    let Some((&config, bytes)) = data.split_first() else {
        return;
    };
    let keep = [4usize, 2, 1, 8][usize::from(config & 3)];
    let budget = match u64::from(config >> 2) {
        0 => LIMITS.max_alloc,
        n => n * 512,
    };
    let mut parser = Parser::new(Seekable::new(Cursor::new(bytes))).with_limits(&LIMITS);
    let Ok(header) = parser.read_header() else {
        return;
    };
    let frame = &header.frame;
    if u64::from(frame.width) * u64::from(frame.height) > LIMITS.max_pixels {
        return;
    }
    let Ok(plan) = plan_bands(&header, keep, budget) else {
        return;
    };
    let Ok(mut decoder) = BandDecoder::new(&header, plan, &LIMITS) else {
        return;
    };
    let vmax = frame.components.iter().map(|c| usize::from(c.v)).max().unwrap();
    let mcus_y = usize::from(frame.height).div_ceil(8 * vmax);
    let mut bands = 0;
    let mut next_row = 0;
    let mut coefs = [0i32; 64];
    loop {
        let band = match decoder.next_band(&mut parser) {
            Ok(Some(band)) => band,
            Ok(None) => break,
            Err(_) => return,
        };
        bands += 1;
        let rows = band.mcu_rows();
        assert_eq!(rows.start, next_row, "bands do not tile");
        assert!(rows.end > rows.start, "empty band");
        next_row = rows.end;
        for (c, comp) in frame.components.iter().enumerate() {
            let blocks = band.block_rows(c);
            let v = usize::from(comp.v);
            assert_eq!(
                (blocks.start, blocks.end),
                (rows.start * v, rows.end * v),
                "component {c}: block rows are not the band's MCU rows"
            );
            // Reading every block of the band must stay in bounds.
            let quant = band.quant(c);
            for row in blocks.clone() {
                for col in 0..band.blocks_wide(c) {
                    band.dequantized(c, row, col, &quant, &mut coefs);
                }
            }
        }
    }
    assert_eq!(bands, plan.passes, "bands != planned passes");
    assert_eq!(next_row, mcus_y, "bands do not reach the last MCU row");
    assert!(decoder.warnings().len() <= 51);
});
