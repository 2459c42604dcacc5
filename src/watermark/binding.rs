//! Binding a mark to its image, and `verify`'s verdict.
//!
//! Layer 2's pattern is high-pass: anyone can lift it from a marked photo (the photo minus its
//! blur, or minus its median) and add it to another photo, where it reads back with its
//! payload. Layer 1 cannot be lifted that way: it is a closed-loop remap of the cover's own
//! low-pass tones, which a high-pass residual does not carry. So a payload layer 2 reads
//! counts as the image's own only when layer 1 binds it ([`Detection::binds`]: layer 1's test
//! of that payload at a false-positive rate of 1e-5 per image, `histogram::detect`'s
//! `BINDING_RATE`): a transplant scores like an image that does not carry the payload, so it
//! binds with probability under 1e-5 per forgery. The payload itself is proven by layer 2's
//! keyed tag; a claimed payload that layer 2 does not read still needs layer 1's full 1e-8
//! test ([`Detection::matched`]).
//!
//! `mark` also writes layer 2's pattern with a content term (`pattern::content`): part of its
//! energy follows the cover's own coarse structure, and a payload also binds when that
//! agreement is found again ([`Extraction::content_binds`]), so a mark binds where layer 1
//! cannot (too few smooth tones) and after attacks that erase the histogram's shape (JPEG Q30,
//! histogram equalisation). A transplant carries the source's structure onto a host with its
//! own: the share of the term it carries is the two pictures' chance agreement, at most 0.32
//! over the transplants measured against about 1 on a genuine mark, a margin that, unlike
//! layer 1's 1e-5, is measured and not a bound (docs/watermark.md, "The content term" and "The
//! content term's share").
//!
//! What is left to robustness: a genuine mark whose histogram shape and content term an attack
//! both erased reads back from layer 2 but is not bound, and gets [`Verdict::Unbound`] like a
//! transplant (docs/watermark.md, "Binding").
//!
//! The verdict depends on layer 2 only through what its extraction reports (the payload read,
//! the pilot score): it survives changes to the carrier and the detector.

use super::{Extraction, Layer, Payload, VerifyReport};

/// Pilot score from which a pattern that reads no payload is taken for several payloads under
/// one key rather than one damaged mark, so that layer 1 confirming a claimed payload there
/// gives [`Verdict::SeveralPayloads`], not a match. Two payloads under one key add their pilots
/// while their data cancels: an average of two marked copies scored 25.1, a copy marked twice
/// 26.9. A single mark that aligns but does not decode is a damaged one, and scores less: at
/// most 12.8 over the upload pipelines' failed reads (docs/watermark.md, "Upload pipelines").
/// Below this, layer 1's confirmation stands (a downscaled upload keeps its `match`).
pub const SEVERAL_MIN_PILOT: f32 = 15.0;

/// `verify`'s answer for one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Blind: a payload read back, and the image's own histogram confirms it.
    Found(Payload),
    /// Blind: no payload read back and no pattern present.
    NotFound,
    /// The claimed payload is the image's: layer 2 read it and layer 1 confirms it
    /// ([`Layer::Pattern`]), or layer 1 alone confirms it while layer 2 sees no mark
    /// ([`Layer::Histogram`]).
    Match(Layer),
    /// The claimed payload is not confirmed, and no mark of this key is present.
    NoMatch,
    /// This key's pattern is present but no payload's tag verifies, and layer 1 confirms no
    /// claimed payload: a damaged mark, or several payloads under one key.
    Unreadable,
    /// Several payloads under one key (marked twice, or copies averaged): layer 2 reads two
    /// payloads from one candidate ([`Extraction::several_payloads`]), blind or claimed; or
    /// layer 1 confirms the claimed payload while layer 2 shows this key's mark without it
    /// (another payload reads back, or a strong pattern, pilot score at least
    /// [`SEVERAL_MIN_PILOT`], reads none). No payload is presented as the mark.
    SeveralPayloads,
    /// Layer 2 reads a payload (blind, or the claimed one), but neither the image's histogram
    /// nor the pattern's content term binds it: a mark transplanted from another image, or one
    /// too damaged to bind.
    Unbound,
}

impl Verdict {
    /// The name JSON output uses (`"verdict"`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Found(_) => "found",
            Verdict::NotFound => "not_found",
            Verdict::Match(_) => "match",
            Verdict::NoMatch => "no_match",
            Verdict::Unreadable => "unreadable",
            Verdict::SeveralPayloads => "several_payloads",
            Verdict::Unbound => "unbound",
        }
    }

    /// Whether the image carries the payload as its own: the only verdicts that exit 0.
    pub fn is_yes(self) -> bool {
        matches!(self, Verdict::Found(_) | Verdict::Match(_))
    }
}

/// The verdict on `report` for `claimed` (blind extraction with `None`).
pub(crate) fn verdict(report: &VerifyReport, claimed: Option<&Payload>) -> Verdict {
    let extraction = report.extraction.as_ref();
    let matched = report.detection.as_ref().is_some_and(|d| d.matched);
    // Layer 1 binds the payload, or the content term layer 2 read with it does.
    let bound = report.detection.as_ref().is_some_and(|d| d.binds)
        || extraction.is_some_and(Extraction::content_binds);
    let present = extraction.is_some_and(Extraction::mark_present);
    let read = extraction.and_then(|e| e.payload);
    let strong = read.is_none() && extraction.is_some_and(|e| e.pilot_score >= SEVERAL_MIN_PILOT);
    // Layer 2 read two payloads: neither is presented, blind or claimed.
    let two_read = extraction.is_some_and(|e| e.several_payloads);
    let several = read.is_some_and(|r| claimed.is_some_and(|c| r != *c)) || strong;
    // Layer 2 reads the claimed payload only with its payload bits given (`extract_claimed`).
    let confirmed = read.is_none() && extraction.is_some_and(|e| e.claimed_confirmed);
    if two_read {
        return Verdict::SeveralPayloads;
    }
    match claimed {
        None => match read {
            Some(payload) if bound => Verdict::Found(payload),
            Some(_) => Verdict::Unbound,
            None if present => Verdict::Unreadable,
            None => Verdict::NotFound,
        },
        Some(claimed) => match (read, matched) {
            (Some(payload), _) if payload == *claimed && bound => Verdict::Match(Layer::Pattern),
            (Some(payload), _) if payload == *claimed => Verdict::Unbound,
            // A pattern too strong for one damaged mark: the claimed payload is one of several.
            (None, _) if confirmed && strong => Verdict::SeveralPayloads,
            (None, _) if confirmed && bound => Verdict::Match(Layer::Pattern),
            (None, _) if confirmed => Verdict::Unbound,
            // Layer 2 reads another payload, or a strong pattern of this key without a
            // payload: the claimed one, even confirmed by layer 1, is not the image's only
            // payload.
            (_, true) if several => Verdict::SeveralPayloads,
            (_, true) => Verdict::Match(Layer::Histogram),
            (_, false) if read.is_none() && present => Verdict::Unreadable,
            (_, false) => Verdict::NoMatch,
        },
    }
}

/// Layer 1's test, as binding evidence, is of the payload layer 2 read when no payload is
/// claimed.
pub(crate) fn payload_to_test<'a>(
    claimed: Option<&'a Payload>,
    extraction: Option<&'a Extraction>,
) -> Option<&'a Payload> {
    claimed.or_else(|| extraction.and_then(|e| e.payload.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Warnings;
    use crate::watermark::{Detection, Tier, Tone};

    fn report(read: Option<Payload>, pilot: f32, layer1: Option<bool>) -> VerifyReport {
        VerifyReport {
            width: 1,
            height: 1,
            detection: layer1.map(|matched| Detection {
                matched,
                binds: matched,
                score: if matched { 9.0 } else { 1.0 },
                threshold: 5.89,
                false_positive_bound: 1.0,
                tier: Tier::AsIs,
                tone: Tone::IDENTITY,
                occupied_groups: 40,
                groups: 49,
            }),
            extraction: Some(Extraction {
                payload: read,
                lattice: None,
                pilot_score: pilot,
                candidates: 4,
                claimed_confirmed: false,
                content_score: None,
                content_share: None,
                content_coverage: None,
                one_payload_z: None,
                several_payloads: false,
                code: None,
            }),
            warnings: Warnings::default(),
        }
    }

    #[test]
    fn a_payload_reads_as_the_images_own_only_when_layer_1_confirms_it() {
        let (a, b) = (Payload([1; 32]), Payload([2; 32]));
        let v = |read, pilot, layer1, claimed| verdict(&report(read, pilot, layer1), claimed);
        // Blind.
        assert_eq!(v(Some(a), 20.0, Some(true), None), Verdict::Found(a));
        assert_eq!(v(Some(a), 20.0, Some(false), None), Verdict::Unbound);
        assert_eq!(v(None, 20.0, None, None), Verdict::Unreadable);
        assert_eq!(v(None, 3.0, None, None), Verdict::NotFound);
        // Claimed.
        assert_eq!(
            v(Some(a), 20.0, Some(true), Some(&a)),
            Verdict::Match(Layer::Pattern)
        );
        assert_eq!(v(Some(a), 20.0, Some(false), Some(&a)), Verdict::Unbound);
        assert_eq!(
            v(None, 3.0, Some(true), Some(&a)),
            Verdict::Match(Layer::Histogram)
        );
        assert_eq!(
            v(None, 20.0, Some(true), Some(&a)),
            Verdict::SeveralPayloads
        );
        // A weaker pattern without a payload is a damaged mark: layer 1's match stands.
        assert_eq!(
            v(None, 9.0, Some(true), Some(&a)),
            Verdict::Match(Layer::Histogram)
        );
        assert_eq!(
            v(Some(b), 20.0, Some(true), Some(&a)),
            Verdict::SeveralPayloads
        );
        assert_eq!(v(Some(b), 20.0, Some(false), Some(&a)), Verdict::NoMatch);
        assert_eq!(v(None, 20.0, Some(false), Some(&a)), Verdict::Unreadable);
        assert_eq!(v(None, 3.0, Some(false), Some(&a)), Verdict::NoMatch);
        // Layer 1 binds (the weaker test) without matching (the 1e-8 test): enough for a
        // payload layer 2 read, not for a claimed payload on layer 1 alone.
        let weak = |read, claimed| {
            let mut r = report(read, 20.0, Some(false));
            r.detection.as_mut().expect("layer 1 ran").binds = true;
            verdict(&r, claimed)
        };
        assert_eq!(weak(Some(a), None), Verdict::Found(a));
        assert_eq!(weak(Some(a), Some(&a)), Verdict::Match(Layer::Pattern));
        assert_eq!(weak(Some(b), Some(&a)), Verdict::NoMatch);
        assert_eq!(weak(None, Some(&a)), Verdict::Unreadable);
        // Layer 2 reads the claimed payload only with its payload bits given: a match when
        // layer 1 binds it, unbound when not, several payloads when the pattern is too strong
        // for one damaged mark.
        let confirmed = |pilot, binds| {
            let mut r = report(None, pilot, Some(false));
            r.detection.as_mut().expect("layer 1 ran").binds = binds;
            r.extraction
                .as_mut()
                .expect("layer 2 ran")
                .claimed_confirmed = true;
            verdict(&r, Some(&a))
        };
        assert_eq!(confirmed(9.0, true), Verdict::Match(Layer::Pattern));
        assert_eq!(confirmed(9.0, false), Verdict::Unbound);
        assert_eq!(confirmed(20.0, true), Verdict::SeveralPayloads);
        for verdict in [
            Verdict::Unbound,
            Verdict::SeveralPayloads,
            Verdict::Unreadable,
        ] {
            assert!(!verdict.is_yes());
        }
    }
}
