//! The `verify` flow: decode, layer 2's blind extraction, then layer 1 for the claimed payload
//! or the payload layer 2 read: layer 1 confirms a claimed payload on its own, and binds a
//! payload layer 2 read to this image (`binding.rs`).

use std::io::Read;

use super::binding::payload_to_test;
use super::histogram::{self, analysis::Analysis};
use super::image::decode;
use super::{Detection, Key, Layers, Payload, VerifyOptions, VerifyReport, pattern};
use crate::codec::{self, Warnings};
use crate::error::Result;
use crate::reencode;

/// Reads a JPEG and tests whether it carries `claimed` under `key` (either layer), or with
/// `claimed` `None` extracts the payload blind (layer 2).
pub fn verify<R: Read>(
    input: R,
    key: &Key,
    claimed: Option<&Payload>,
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    codec::begin_file(options.strict);
    let result = verify_file(input, key, claimed, options);
    let warnings = codec::take_warnings();
    let mut report = result?;
    report.warnings = warnings;
    Ok(report)
}

/// [`verify`] without the per-file warning bookkeeping.
fn verify_file<R: Read>(
    input: R,
    key: &Key,
    claimed: Option<&Payload>,
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    let source = reencode::read_source(input, &options.limits)?;
    let image = decode(source, &options.limits)?;
    let luma = image.luma()?;
    // Layer 2 first: blind, the payload it reads is the one layer 1 tests.
    let histogram_only = claimed.is_some() && options.layers == Layers::Histogram;
    let masked = |analysis: &Analysis| {
        image
            .channel_extremes()
            .and_then(|e| analysis.colour_masked(&e))
    };
    // Layer 1's test of a payload layer 2 reads without its content term's binding: made
    // during the search (which then stops where it binds), once per payload (the same payload
    // may be read unbound on several levels), and kept for the report.
    let mut tested: Option<(Payload, Detection)> = None;
    let extraction = (!histogram_only).then(|| {
        pattern::extract_bound_by(&luma, key, claimed, &mut |read| {
            if let Some((payload, detection)) = &tested
                && payload == read
            {
                return detection.binds;
            }
            let detection = histogram::verify_lazily(&luma, masked, key, read);
            let binds = detection.binds;
            tested = Some((*read, detection));
            binds
        })
    });
    // Layer 1 tests the claimed payload, or blind the payload layer 2 read. Under
    // `Layers::Pattern` it runs only as binding evidence for a payload layer 2 read (blind, or
    // the claimed one with its payload bits given).
    let read = extraction.as_ref().and_then(|e| e.payload);
    let confirmed = extraction.as_ref().is_some_and(|e| e.claimed_confirmed);
    let detection = payload_to_test(claimed, extraction.as_ref())
        .filter(|payload| {
            options.layers != Layers::Pattern || read.as_ref() == Some(*payload) || confirmed
        })
        .map(|payload| match tested.take() {
            Some((tested, detection)) if tested == *payload => detection,
            _ => histogram::verify_lazily(&luma, masked, key, payload),
        });
    Ok(VerifyReport {
        width: image.width as u32,
        height: image.height as u32,
        detection,
        extraction,
        warnings: Warnings::default(),
    })
}
