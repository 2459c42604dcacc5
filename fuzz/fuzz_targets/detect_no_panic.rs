//! Property: watermark detection's layer 1 (`watermark::verify` of a claimed payload with
//! `Layers::Histogram` on JPEG bytes, `verify_luma` on raw luma planes) never panics and every
//! `Detection` is self-consistent. Layer 2's blind extraction, whose fixed cost per input
//! (list decoding, pilot correlations, lattice search: about 8 ms even for an 8x8 plane) kept
//! this target under 100 executions per second when it ran both, has its own target,
//! `extract_no_panic`, on the same input layout.
//!
//! Input layout: bytes starting with `FF D8` are a JPEG, verified through the whole pipeline up
//! to layer 1 (header, limits, libjpeg decode, luma, analysis, tone search) under small
//! `Limits` (16 K pixels, e.g. 128x128; 16 MiB per allocation, 100 scans; 1 MiB of metadata),
//! so that one execution stays cheap: the pipeline's code paths do not depend on the size. Any
//! other input is a raw luma plane: byte 0 + 1 is the width (1..=256), the rest are the samples
//! row by row (the last partial row and rows past 16 K samples are dropped), which reaches the
//! analysis with shapes and tone distributions no decoder would produce (1-pixel-wide images,
//! all black, all clipped).
//!
//! Invariants: the score and threshold are finite, the threshold positive; `matched` is exactly
//! `score >= threshold`; the false-positive bound is within 0..=1; at most `groups` groups are
//! occupied; an Ok JPEG report stays within the pixel limit and, layer 2 not being asked,
//! carries no extraction.

#![no_main]

use jpgtool::Limits;
use jpgtool::watermark::Plane;
use jpgtool::watermark::{Detection, Key, Layers, Payload, VerifyOptions, verify, verify_luma};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Decoded images and raw planes above this are refused or cut: see the module comment.
const MAX_PIXELS: u64 = 16_384;

const LIMITS: Limits = Limits {
    max_width: 65535,
    max_height: 65535,
    max_pixels: MAX_PIXELS,
    max_alloc: 16 << 20,
    max_scans: 100,
    max_metadata: 1 << 20,
};

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::from_secret(b"fuzz key").expect("a valid secret"))
}

fn check(detection: &Detection) {
    assert!(detection.score.is_finite(), "score {}", detection.score);
    assert!(
        detection.threshold.is_finite() && detection.threshold > 0.0,
        "threshold {}",
        detection.threshold
    );
    assert_eq!(detection.matched, detection.score >= detection.threshold);
    assert!(
        (0.0..=1.0).contains(&detection.false_positive_bound),
        "bound {}",
        detection.false_positive_bound
    );
    assert!(detection.occupied_groups <= detection.groups);
}

fuzz_target!(|data: &[u8]| {
    let payload = Payload([0x5a; 32]);
    if data.starts_with(&[0xff, 0xd8]) {
        let options = VerifyOptions {
            limits: LIMITS,
            strict: false,
            layers: Layers::Histogram,
        };
        if let Ok(report) = verify(data, key(), Some(&payload), &options) {
            assert!(u64::from(report.width) * u64::from(report.height) <= LIMITS.max_pixels);
            if let Some(detection) = &report.detection {
                check(detection);
            }
            assert!(report.extraction.is_none());
        }
        return;
    }
    let Some((&first, samples)) = data.split_first() else {
        return;
    };
    let width = usize::from(first) + 1;
    let height = samples.len().min(MAX_PIXELS as usize) / width;
    let luma = Plane {
        width,
        height,
        data: samples[..width * height]
            .iter()
            .map(|&v| f32::from(v))
            .collect(),
    };
    check(&verify_luma(&luma, key(), &payload));
});
