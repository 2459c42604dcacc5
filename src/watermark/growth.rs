//! The growth guard: when `mark` chose the output quality itself and the marked file would
//! be 10 % or more larger than its input, a lower quality is tried, then (for an input whose
//! tables are not IJG's) the input's own tables rescaled to the chosen quality and up to three
//! under it, each kept only where the written file still holds the SSIM floor and both layers
//! as well as at the chosen quality.

use super::histogram_holds;
use super::{Detection, Extraction, Payload};
use crate::error::Result;
use crate::reencode::InputTables;

/// Growth over the input, in per cent, at or above which lower qualities are tried.
const LIMIT_PERCENT: u128 = 10;

/// Most quality steps below the chosen one that are tried.
const STEPS: u8 = 3;

/// Whether a file of `output` bytes grew too much over an input of `input` bytes.
pub(super) fn too_large(output: usize, input: usize) -> bool {
    output as u128 * 100 >= input as u128 * (100 + LIMIT_PERCENT)
}

/// The highest of the [`STEPS`] qualities under `quality` whose file, from `encode`, is under
/// the limit, and that file; `None` when none is (a lower quality that does not reach the
/// limit is not worth its cost in fidelity).
pub(super) fn lower_quality(
    quality: u8,
    input: usize,
    mut encode: impl FnMut(u8) -> Result<Vec<u8>>,
) -> Result<Option<(u8, Vec<u8>)>> {
    first_under_limit((lowest(quality)..quality).rev(), input, |q| {
        encode(q).map(Some)
    })
}

/// The lowest quality a ladder down from `quality` reaches ([`STEPS`] under it, at least 1).
fn lowest(quality: u8) -> u8 {
    quality.saturating_sub(STEPS).max(1)
}

/// The first of `qualities` whose file, from `encode`, is under the limit over an input of
/// `input` bytes, and that file; `None` when none is, or as soon as `encode` has no file.
fn first_under_limit(
    qualities: impl Iterator<Item = u8>,
    input: usize,
    mut encode: impl FnMut(u8) -> Result<Option<Vec<u8>>>,
) -> Result<Option<(u8, Vec<u8>)>> {
    for q in qualities {
        let Some(bytes) = encode(q)? else {
            return Ok(None);
        };
        if !too_large(bytes.len(), input) {
            return Ok(Some((q, bytes)));
        }
    }
    Ok(None)
}

/// A smaller file the guard may write instead of the chosen one.
pub(super) struct Candidate {
    pub(super) quality: u8,
    /// Quantised by the input's own tables rescaled to `quality`, not IJG's.
    pub(super) input_tables: bool,
    pub(super) bytes: Vec<u8>,
}

/// The files to try in place of one of `quality` that grew too much over an input of `input`
/// bytes, in the order they are to be tried: the highest lower IJG quality under the limit
/// ([`lower_quality`]), then the input's own tables rescaled ([`input_tables`]), each from
/// `encode(quality, tables)`. A phone's or Photoshop's file re-encoded with IJG's tables at
/// its estimated quality can grow by a third: IJG's steps are finer where the input's were
/// coarse. All are encoded first, so that the caller can let the samples go before checking
/// them.
pub(super) fn candidates(
    quality: u8,
    input: usize,
    tables: Option<InputTables>,
    mut encode: impl FnMut(u8, Option<&[[u16; 64]]>) -> Result<Vec<u8>>,
) -> Result<Vec<Candidate>> {
    let mut found = Vec::new();
    if let Some((quality, bytes)) = lower_quality(quality, input, |q| encode(q, None))? {
        found.push(Candidate {
            quality,
            input_tables: false,
            bytes,
        });
    }
    let rescaled = |q: f64| tables.map(|t| t.at(q));
    if let Some((quality, bytes)) =
        input_tables(quality, input, rescaled, |set| encode(quality, Some(set)))?
    {
        found.push(Candidate {
            quality,
            input_tables: true,
            bytes,
        });
    }
    Ok(found)
}

/// The input's own tables (from `tables`, rescaled to stand for a quality) at the first of
/// `quality` and the [`STEPS`] qualities under it whose file, from `encode`, is under the
/// limit, and that file: the same reach as [`lower_quality`]. (The input's tables as they
/// are, at its own lower quality, were tried and left out: on a Q67-equivalent phone photo
/// marked at q90 they cut the growth from 34 % to -4 % but lost most of the reads the upload
/// pipelines had left, "Output size" in `docs/watermark.md`.) `None` when the input's tables
/// are IJG's or unknown, or no file is under the limit.
pub(super) fn input_tables(
    quality: u8,
    input: usize,
    tables: impl Fn(f64) -> Option<Vec<[u16; 64]>>,
    mut encode: impl FnMut(&[[u16; 64]]) -> Result<Vec<u8>>,
) -> Result<Option<(u8, Vec<u8>)>> {
    first_under_limit((lowest(quality)..=quality).rev(), input, |q| {
        tables(f64::from(q)).map(|set| encode(&set)).transpose()
    })
}

/// What the written file's self-check found: layer 1 as `verify` tests it, layer 2 blind.
pub(super) struct Layers<'a> {
    pub(super) check: &'a Detection,
    pub(super) extraction: &'a Extraction,
}

impl Layers<'_> {
    /// Whether these layers hold everything `chosen` holds: layer 1's match and binding, the
    /// payload read back blind, and the content term's binding on its score and share (the
    /// binding `mark` asks of its output).
    pub(super) fn keep(&self, chosen: &Layers<'_>, payload: &Payload) -> bool {
        let reads = |l: &Layers<'_>| l.extraction.payload == Some(*payload);
        let content = |l: &Layers<'_>| reads(l) && l.extraction.binds_on_score_and_share();
        (self.check.binds || !chosen.check.binds)
            && (histogram_holds(self.check) || !histogram_holds(chosen.check))
            && (reads(self) || !reads(chosen))
            && (content(self) || !content(chosen))
    }
}

/// Share of the chosen file's pilot score an input-tables candidate must keep, and the most
/// layer 1's score may fall. A lower IJG quality scales every step alike, and the upload
/// pipelines showed its marks reading as before ("Output size" in `docs/watermark.md`); the
/// input's tables can be coarse exactly where the layers live (Photoshop's "Save As 3": a DC
/// step of 18 against IJG q81's 6), and a candidate that still holds unattacked can lose the
/// margin an upload needs: `mde-Canon_EOS_D60` with its own tables kept its pilots at 11.5
/// where IJG's q81 gave 15.0, and no longer read after a 1080-pixel upload at Q72.
const MARGIN_PILOT_SHARE: f32 = 0.9;
const MARGIN_SCORE_DROP: f64 = 0.5;

impl Layers<'_> {
    /// Whether these layers keep the chosen file's margins ([`MARGIN_PILOT_SHARE`],
    /// [`MARGIN_SCORE_DROP`]), not only what it holds.
    pub(super) fn keep_margins(&self, chosen: &Layers<'_>) -> bool {
        self.extraction.pilot_score >= MARGIN_PILOT_SHARE * chosen.extraction.pilot_score
            && self.check.score >= chosen.check.score - MARGIN_SCORE_DROP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 110 bytes over 100 is 10 % growth: too large; 109 is not.
    #[test]
    fn ten_percent_is_too_large() {
        assert!(too_large(110, 100));
        assert!(!too_large(109, 100));
    }

    /// The input's tables are tried at the chosen quality first, then at most three under
    /// it; none for IJG inputs (no tables).
    #[test]
    fn input_tables_reach_three_steps_down() {
        let mut tried = Vec::new();
        let size = |t: &[[u16; 64]]| 130 - 5 * usize::from(90 - t[0][0]);
        let found = input_tables(
            90,
            100,
            |q| Some(vec![[q as u16; 64]]),
            |t| {
                tried.push(t[0][0]);
                Ok(vec![0; size(t)])
            },
        )
        .unwrap();
        assert!(found.is_none(), "115 at the third step is still too large");
        assert_eq!(tried, [90, 89, 88, 87]);
        let found = input_tables(
            90,
            100,
            |q| Some(vec![[q as u16; 64]]),
            |t| Ok(vec![0; size(t) - 20]),
        )
        .unwrap();
        assert_eq!(found.map(|(q, b)| (q, b.len())), Some((89, 105)));
        let none = input_tables(90, 100, |_| None, |_| Ok(Vec::new())).unwrap();
        assert!(none.is_none());
    }

    /// Sizes falling by 5 bytes a step from 120 over an input of 100: 115, 110 are too large,
    /// 105 (three steps down) is the first under the limit; a fourth step is never tried.
    #[test]
    fn tries_at_most_three_steps_down() {
        let mut tried = Vec::new();
        let size = |q: u8| 120 - 5 * (90 - usize::from(q));
        let found = lower_quality(90, 100, |q| {
            tried.push(q);
            Ok(vec![0; size(q)])
        })
        .unwrap();
        assert_eq!(found.map(|(q, b)| (q, b.len())), Some((87, 105)));
        assert_eq!(tried, [89, 88, 87]);
        let found = lower_quality(90, 100, |q| Ok(vec![0; size(q) + 10])).unwrap();
        assert!(found.is_none(), "115 at the third step is still too large");
    }
}
