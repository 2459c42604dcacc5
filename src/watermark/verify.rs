//! The `verify` flow: decode, layer 2's blind extraction, then layer 1 for a claimed payload
//! layer 2 did not confirm.

use std::io::Read;

use super::histogram::{self, analysis::Analysis};
use super::image::decode;
use super::{Key, Layers, Payload, VerifyOptions, VerifyReport, pattern};
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
    // Layer 2 first: on a marked image it answers in one extraction, where layer 1 may have
    // to search every tone before saying no.
    let histogram_only = claimed.is_some() && options.layers == Layers::Histogram;
    let extraction = (!histogram_only).then(|| pattern::extract(&luma, key));
    let confirmed =
        claimed.is_some() && extraction.as_ref().and_then(|e| e.payload) == claimed.copied();
    let detection = claimed
        .filter(|_| options.layers != Layers::Pattern && !confirmed)
        .map(|payload| {
            let masked = |analysis: &Analysis| {
                image
                    .channel_extremes()
                    .and_then(|e| analysis.colour_masked(&e))
            };
            histogram::verify_lazily(&luma, masked, key, payload)
        });
    Ok(VerifyReport {
        width: image.width as u32,
        height: image.height as u32,
        detection,
        extraction,
        warnings: Warnings::default(),
    })
}
