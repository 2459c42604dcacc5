//! Property: layer 2's blind extraction (`watermark::verify` without a claimed payload on JPEG
//! bytes, `pattern::extract` on raw luma planes: autocorrelation, lattice search, folds, pilot
//! phase, list Viterbi, tag checks) never panics and reads no payload under the fuzz key; what
//! layer 1 then says of a payload it read is self-consistent.
//!
//! Same input layout and limits as `detect_no_panic` (which fuzzes layer 1): bytes starting with
//! `FF D8` are a JPEG (16 K pixels, 16 MiB per allocation, 100 scans, 1 MiB of metadata), any
//! other input a raw luma plane (byte 0 + 1 is the width, 1..=256; at most 16 K samples). The
//! extraction's cost per input is mostly fixed (about 8 ms even for an 8x8 plane), so this
//! target runs at about a hundred executions per second.
//!
//! Invariants: no payload is read back (so no content score either), and on odd-width planes
//! a claimed payload is never confirmed (no input carries this key's mark: a tag that verifies by chance has probability
//! 2^-45); the pilot score is finite; an Ok JPEG report stays within the pixel limit and
//! carries an extraction.

#![no_main]

use jpgtool::Limits;
use jpgtool::watermark::pattern::extract_claimed;
use jpgtool::watermark::{Key, Payload, Plane, VerifyOptions, verify};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Decoded images and raw planes above this are refused or cut.
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

fuzz_target!(|data: &[u8]| {
    if data.starts_with(&[0xff, 0xd8]) {
        let options = VerifyOptions {
            limits: LIMITS,
            strict: false,
            ..VerifyOptions::default()
        };
        if let Ok(report) = verify(data, key(), None, &options) {
            assert!(u64::from(report.width) * u64::from(report.height) <= LIMITS.max_pixels);
            let extraction = report.extraction.as_ref().expect("blind verify extracts");
            assert!(extraction.pilot_score.is_finite(), "{extraction:?}");
            assert_eq!(report.extracted(), None);
            assert_eq!(extraction.content_score, None);
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
    // Odd widths also try a claimed payload (its payload bits given to the decoder): it is
    // never confirmed either.
    let claimed = (width % 2 == 1).then_some(Payload([0x5a; 32]));
    let extraction = extract_claimed(&luma, key(), claimed.as_ref());
    assert!(extraction.pilot_score.is_finite(), "{extraction:?}");
    assert_eq!(extraction.payload, None);
    // The content term is scored only for a payload read back.
    assert_eq!(extraction.content_score, None);
    assert!(!extraction.claimed_confirmed, "{extraction:?}");
});
