//! Property: `read_header` + `find_image_end` never panic on arbitrary bytes (streamed and seekable input), and every Ok result satisfies the header / image-end invariants.
//!
//! Invariants checked on an Ok header: `scan_offset <= input length`, `width > 0`, 1..=4 frame
//! components, 1..=4 scan components that index into the frame, and every component's
//! quantization table defined unless the frame is lossless. The header accessors the CLI prints
//! (`color_space`, `subsampling`, `sampling_factors`) must not panic either. On an Ok image end:
//! `end_offset <= input length`, `end_offset == scan_offset + coded_bytes`, at least one scan, and
//! `found_eoi` implies the two bytes before `end_offset` are FF D9.

#![no_main]

use std::io::Cursor;

use jpgtool::jpeg::{Header, ImageEnd, Input, Parser, Process, Seekable, Streamed};
use libfuzzer_sys::fuzz_target;

fn check_header(h: &Header, data: &[u8]) {
    let len = data.len() as u64;
    assert!(
        h.scan_offset <= len,
        "scan_offset {} > input length {len}",
        h.scan_offset
    );
    assert!(h.frame.width > 0, "width 0 accepted");
    let n = h.frame.components.len();
    assert!((1..=4).contains(&n), "{n} frame components accepted");
    let scan = &h.first_scan.components;
    assert!(
        (1..=4).contains(&scan.len()),
        "{} scan components",
        scan.len()
    );
    for sc in scan {
        assert!(sc.index < n, "scan component index {} out of {n}", sc.index);
    }
    if h.frame.kind.process() != Process::Lossless {
        for c in &h.frame.components {
            assert!(
                h.quant_tables[usize::from(c.table)].is_some(),
                "component {} uses undefined quant table {}",
                c.id,
                c.table
            );
        }
    }
    let _ = h.color_space().name();
    let _ = h.subsampling();
    let _ = h.sampling_factors();
}

fn check_end(h: &Header, end: &ImageEnd, data: &[u8], seekable: bool) {
    let len = data.len() as u64;
    assert!(
        end.end_offset <= len,
        "end_offset {} > input length {len} (seekable: {seekable})",
        end.end_offset
    );
    assert_eq!(
        h.scan_offset + end.coded_bytes,
        end.end_offset,
        "coded_bytes inconsistent"
    );
    assert!(end.scans >= 1);
    if end.found_eoi {
        let at = end.end_offset as usize;
        assert!(
            at >= 2 && data.get(at - 2..at) == Some(&[0xFF, 0xD9][..]),
            "EOI not at {at}"
        );
    }
}

fn run<I: Input>(mut parser: Parser<I>, data: &[u8], seekable: bool) {
    let Ok(header) = parser.read_header() else {
        return;
    };
    check_header(&header, data);
    assert_eq!(parser.offset(), header.scan_offset);
    if let Ok(end) = parser.find_image_end() {
        check_end(&header, &end, data, seekable);
    }
}

fuzz_target!(|data: &[u8]| {
    run(Parser::new(Streamed::new(data)), data, false);
    // The CLI (`inspect_file`) reads files through `Seekable`.
    run(Parser::new(Seekable::new(Cursor::new(data))), data, true);
});
