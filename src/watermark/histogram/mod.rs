//! Layer 1, the histogram layer: a keyed pseudo-random codeword of the payload written into the
//! shape of the histogram of the low-pass luma ([`carrier`]). A histogram does not depend on
//! where pixels are, so the mark survives rotation, scaling, crops and flips; it carries 98 raw
//! bits, enough to prove a claimed payload at a false-positive rate of 1e-8 ([`detect`]) but
//! not to extract 256 bits blind (that is layer 2's job, [`super::pattern`]).
//!
//! [`analysis`] is what both sides measure, [`embed`] the closed loop that shapes the
//! histogram, [`detect`] the test of a claimed payload.

pub(crate) mod analysis;
pub(crate) mod carrier;
pub(crate) mod changed;
pub(crate) mod coarse;
pub(crate) mod detect;
pub(crate) mod embed;
pub(crate) mod lookup;

use analysis::Analysis;
pub use analysis::ChannelExtremes;
use carrier::Grid;
pub use carrier::Tone;
pub use detect::{Detection, Tier};
use embed::EmbedOutcome;
pub use embed::EmbedSettings;

use super::key::{self, Key, Payload};
use super::signal::Plane;

/// The codeword of `payload` under `key`: one ±1 per raw bit of the histogram layer.
fn codeword(key: &Key, payload: &Payload, grid: &Grid) -> Vec<f32> {
    key::signs(
        &mut key.stream("histogram codeword", &payload.0),
        grid.raw_bits(),
    )
}

/// Marks a `width` x `height` cover (grey levels 0..=255: luma, plus another layer's change
/// when there is one) given by rows, `cover(y, x0, row)` writing columns `x0..x0 + row.len()`
/// of row `y`; returns the change to add to it. `on_pass` hears each closed-loop pass end.
pub(crate) fn mark_luma(
    width: usize,
    height: usize,
    cover: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    key: &Key,
    payload: &Payload,
    settings: &EmbedSettings,
    on_pass: &mut dyn FnMut(usize),
) -> EmbedOutcome {
    let grid = Grid::from_key(key);
    embed::embed_over(
        width,
        height,
        cover,
        &grid,
        &codeword(key, payload, &grid),
        settings,
        on_pass,
    )
}

/// The score at which the "as is" tier binds a payload layer 2 read ([`Detection::binds`]).
pub(crate) fn as_is_binding_threshold() -> f64 {
    detect::tiers()
        .iter()
        .find(|tier| tier.tier == Tier::AsIs)
        .map_or(f64::INFINITY, |tier| tier.binding_threshold(1))
}

/// Tests whether a luma plane carries `payload` under `key`.
pub fn verify_luma(luma: &Plane, key: &Key, payload: &Payload) -> Detection {
    verify_planes(luma, None, key, payload)
}

/// Tests whether a luma plane carries `payload` under `key`; `extremes`, the colour image's
/// brightest and darkest channels, lets the tone search leave out channel-clipped pixels.
pub fn verify_planes(
    luma: &Plane,
    extremes: Option<&ChannelExtremes>,
    key: &Key,
    payload: &Payload,
) -> Detection {
    verify_lazily(
        luma,
        |analysis| extremes.and_then(|e| analysis.colour_masked(e)),
        key,
        payload,
    )
}

/// [`verify_planes`] with the extremes made only if the tone search gets to the colour mask
/// (a marked image usually matches before).
pub(crate) fn verify_lazily(
    luma: &Plane,
    colour_masked: impl FnOnce(&Analysis) -> Option<Analysis>,
    key: &Key,
    payload: &Payload,
) -> Detection {
    let analysis = analysis::analyse(luma);
    let grid = Grid::from_key(key);
    detect::detect(
        &analysis,
        || colour_masked(&analysis),
        &grid,
        &codeword(key, payload, &grid),
    )
}
