//! Invisible, keyed watermarks: `mark` hides a 32-byte payload, `verify` checks a claimed one
//! or extracts it blind.
//!
//! Two layers carry the mark. Layer 1 (`histogram`) shapes the histogram of the low-pass luma
//! after a keyed codeword of the payload: it survives geometry and proves a claimed payload.
//! Layer 2 ([`pattern`]) adds a keyed tile repeated over the image that carries the whole
//! payload and a tag: it gives the payload back blind. Both share the key ([`Key`], keyed
//! choices) and the kernels of `signal`. This module holds the public flows' options and
//! reports; [`mark()`] and [`verify()`] are in `mark.rs` and `verify.rs`.

mod binding;
mod cover;
mod fit;
mod growth;
pub(crate) mod histogram;
mod image;
mod key;
mod mark;
pub mod pattern;
mod progress;
mod replace;
pub(crate) mod signal;
mod trim;
mod verify;

use crate::codec::Warnings;
use crate::limits::Limits;
use crate::reencode::QualitySource;
pub use binding::{SEVERAL_MIN_PILOT, Verdict};
use histogram::embed::GroupState;
pub use histogram::{
    ChannelExtremes, Detection, EmbedSettings, Tier, Tone, verify_luma, verify_planes,
};
pub use key::{
    Key, MIN_PASSPHRASE_LEN, Payload, STRETCH_MEMORY_KIB, STRETCH_PASSES, SecretKind,
    secret_from_key_file,
};
pub use mark::mark;
pub use pattern::{Extraction, Lattice, PatternSettings};
pub use progress::Progress;
pub use signal::{Plane, mean_ssim};
pub use trim::release_between_stages;
pub use verify::verify;

/// `mark` refuses to write a mark whose own output scores below this (the "as is" threshold,
/// 5.89, plus a margin for what attacks take away): a weak mark would fail silently later.
pub const REQUIRED_SCORE: f64 = 6.5;

/// Whether layer 1 holds with margin: matched in the "as is" tier with [`REQUIRED_SCORE`].
fn histogram_holds(check: &Detection) -> bool {
    check.tier == Tier::AsIs && check.score >= REQUIRED_SCORE
}

/// Layer 1's grey-level groups counted by what the embedding did to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Both neighbouring-bin ratios reached.
    pub satisfied: usize,
    /// Still short when the passes (or the PSNR budget) ran out.
    pub short: usize,
    /// Stopped responding; left as they were.
    pub given_up: usize,
    /// Too few smooth pixels to be worth pushing.
    pub empty: usize,
}

impl GroupCounts {
    fn count(states: &[GroupState]) -> GroupCounts {
        let mut counts = GroupCounts::default();
        for state in states {
            *match state {
                GroupState::Satisfied => &mut counts.satisfied,
                GroupState::Short => &mut counts.short,
                GroupState::GivenUp => &mut counts.given_up,
                GroupState::Empty => &mut counts.empty,
            } += 1;
        }
        counts
    }
}

/// How to mark.
#[derive(Debug, Clone, Default)]
pub struct MarkOptions {
    /// Output IJG quality. Default: the input's estimated quality.
    pub quality: Option<u8>,
    /// Bounds on what the input may make us allocate. Default: [`Limits::default`].
    pub limits: Limits,
    /// Fail on the first libjpeg warning (corrupt or truncated input). Default: false.
    pub strict: bool,
    /// Layer 1's embedding.
    pub embed: EmbedSettings,
    /// Layer 2's strength.
    pub pattern: PatternSettings,
    /// Mark even an image that already carries a mark under this key (by default refused with
    /// [`Error::AlreadyMarked`](crate::Error::AlreadyMarked): two payloads under one key never
    /// both read back blind). Where the earlier mark's payload reads back, its pattern is taken
    /// out first, so that the output carries the new payload alone
    /// ([`MarkReport::replaced`]). Default: false.
    pub force: bool,
    /// Where to report how far the file has got. Default: nowhere.
    pub progress: Progress,
}

/// What `mark` did.
#[derive(Debug, Clone)]
pub struct MarkReport {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Quality of the written file.
    pub quality: u8,
    /// Where that quality came from.
    pub quality_source: QualitySource,
    /// The file is quantised by the input's own tables rescaled to stand for `quality` (the
    /// growth guard's last resort), not by the IJG (Annex K) tables.
    pub input_tables: bool,
    /// Luma PSNR of the written file against the input, dB (mark and re-encoding together).
    pub psnr: f64,
    /// Mean SSIM of the written file's luma against the input's (`None` under 11 x 11 pixels).
    pub ssim: Option<f64>,
    /// What the payload pattern was multiplied by for the SSIM floor: under 1, the whole
    /// pattern scaled down to keep it; above 1, the texture part alone raised where the floor
    /// left room ([`PatternSettings::max_texture_gain`]).
    pub pattern_scale: f32,
    /// The written file, verified as `verify` would ("as is" tier).
    pub check: Detection,
    /// The written file through layer 2's blind extraction.
    pub extraction: Extraction,
    /// Layer 1's grey-level groups by what the embedding did to them.
    pub groups: GroupCounts,
    /// Closed-loop passes layer 1's embedding took.
    pub passes: usize,
    /// With [`MarkOptions::force`]: the payload of this key's earlier mark, read back in the
    /// input and taken out of it before the new mark was made. [`MarkReport::psnr`] and
    /// [`MarkReport::ssim`] then compare the output with the input so cleaned.
    pub replaced: Option<Payload>,
    /// libjpeg's warnings on the input (corrupt or truncated data).
    pub warnings: Warnings,
}

impl MarkReport {
    /// Score above the "as is" threshold.
    pub fn margin(&self) -> f64 {
        self.check.score - self.check.threshold
    }

    /// Whether layer 1 holds with margin in the written file.
    pub fn histogram_holds(&self) -> bool {
        histogram_holds(&self.check)
    }

    /// Whether layer 2 gives the payload back from the written file.
    pub fn payload_layer_holds(&self) -> bool {
        self.extraction.payload.is_some()
    }
}

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Bounds on what the input may make us allocate. Default: [`Limits::default`].
    pub limits: Limits,
    /// Fail on the first libjpeg warning (corrupt or truncated input). Default: false.
    pub strict: bool,
    /// Which layers may confirm a claimed payload (blind extraction always uses layer 2).
    pub layers: Layers,
}

/// Which layers `verify` consults for a claimed payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layers {
    /// Layer 2, then layer 1 if layer 2 does not confirm the payload.
    #[default]
    Either,
    /// Layer 1 only (the histogram's own robustness).
    Histogram,
    /// Layer 2 only.
    Pattern,
}

/// Which layer confirmed a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Layer 1, the histogram shape (claimed payloads only).
    Histogram,
    /// Layer 2, the repeated payload pattern.
    Pattern,
}

impl Layer {
    /// The name reports use: `histogram` or `pattern`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Histogram => "histogram",
            Layer::Pattern => "pattern",
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Layer 1's test of the claimed payload or, blind, of the payload layer 2 read: the
    /// evidence that binds the mark to this image (`None` when there was nothing to test).
    pub detection: Option<Detection>,
    /// Layer 2's blind extraction (`None` with `Layers::Histogram`).
    pub extraction: Option<Extraction>,
    /// libjpeg's warnings on the input (corrupt or truncated data).
    pub warnings: Warnings,
}

impl VerifyReport {
    /// The verdict for `claimed`, or blind with `None`: a payload is the image's own only
    /// when layer 1 also confirms it (see `binding.rs`).
    pub fn verdict(&self, claimed: Option<&Payload>) -> Verdict {
        binding::verdict(self, claimed)
    }

    /// The layer that confirms `claimed` as the image's own payload, if any.
    pub fn confirmed_by(&self, claimed: &Payload) -> Option<Layer> {
        match self.verdict(Some(claimed)) {
            Verdict::Match(layer) => Some(layer),
            _ => None,
        }
    }

    /// The payload read back blind and bound to the image, if any.
    pub fn found(&self) -> Option<Payload> {
        match self.verdict(None) {
            Verdict::Found(payload) => Some(payload),
            _ => None,
        }
    }

    /// The payload layer 2 extracted, if any, bound to the image or not.
    pub fn extracted(&self) -> Option<Payload> {
        self.extraction.as_ref().and_then(|e| e.payload)
    }
}
