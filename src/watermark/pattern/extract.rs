//! Layer 2's blind extraction: whiten luma, find the tile's lattice, fold every pixel into one
//! tile, align it on the pilots and decode the few best candidates.

use std::rc::Rc;

use super::equalize::Equalizer;
use super::fold::{fold, fold_each};
use super::phase::{PilotPhase, block_sum, symmetry};
use super::sync::{self, Lattice, Notch};
use super::tile::{
    CELL, CODED_BITS, Code, Layout, MIN_TILES, SHORT_TAG_BYTES, SMALLEST_UPLOAD, TAG_BYTES, TILE,
    TILE_CELLS, bytes_of, cell_side, detail_rms_rows, message_as, power_of_two_cell_side, tag,
    whole_cell_sides,
};
use super::{content, ecc};
use crate::watermark::key::{Key, Payload};
use crate::watermark::signal::Plane;

/// (Lattice, symmetry, phase) candidates decoded at most.
pub(crate) const MAX_CANDIDATES: usize = FIRST_DECODES + REFINED;
/// Messages the list decoder gives per candidate and [`Code`], each checked against its tag.
/// Near the code's limit (raw bit error rates of 15 % and more, as after a rescale by 0.5) the
/// right message is often in the list but not first; each message checked costs tag bits
/// ([`FALSE_POSITIVE_BOUND`]). 11 keeps the bound under 1e-12 with four pyramid levels (with
/// the convolutional code of the first detectors, a list of 8 read back every one of 96
/// attacked lab images, plain Viterbi 95).
pub(crate) const LIST: usize = 11;
/// Tag checks per image and per message ([`Code`]) at most: `MAX_CANDIDATES` x `LIST` per
/// pyramid level, every level searched (6 x 11 x 4 = 264).
pub(crate) const MAX_TAG_CHECKS: usize = MAX_CANDIDATES * LIST * LEVELS.len();
/// Chance that an image without this key's mark yields a payload whose tag verifies: each
/// candidate is decoded as a whole payload and as a short one, and each of the at most
/// `MAX_TAG_CHECKS` messages of each has a tag that matches a wrong message with probability
/// 2^-48 (whole) or 2^-56 (short): 264 x (2^-48 + 2^-56) = 9.4e-13 (2^-39.95) per image.
pub const FALSE_POSITIVE_BOUND: f64 = MAX_TAG_CHECKS as f64
    * (1.0 / (1u64 << (8 * TAG_BYTES)) as f64 + 1.0 / (1u64 << (8 * SHORT_TAG_BYTES)) as f64);
/// Chance that an image without this key's mark of a claimed payload confirms it on layer 2
/// (`extract_claimed`): the blind tag checks, one of which could read the claimed payload,
/// and as many checks of the claimed payload's tag with its payload bits given, a short claim
/// as both messages (2 x 9.4e-13 = 1.9e-12 per image). `verify` also needs layer 1's binding
/// before it says `match`.
pub const CLAIMED_FALSE_POSITIVE_BOUND: f64 = 2.0 * FALSE_POSITIVE_BOUND;
/// Lattices taken from each autocorrelation besides the unchanged one. Every one is folded and
/// scored against the pilots (which costs no tag bits: only decoded candidates do).
const LATTICES: usize = 4;
/// Square lattices on the axes taken from the period scan of the autocorrelation
/// ([`sync::square_lattices`]): a downscaled upload's tile, whose basis peaks can drown.
const SQUARES: usize = 3;
/// Planes of up to this many samples get the square lattices: an upload's cells drown at a
/// 720-1600-pixel side (1.9 megapixels at most), where the three extra folds cost little;
/// on the finer levels of a large photo they would add about a sixth to a blind `verify`.
/// The rotated lattices too: a large photo's cells are 2 samples on a coarse level.
const SQUARE_SCAN_SAMPLES: usize = 2_000_000;
/// Square lattices of a whole cell side's period at any angle, taken from the angle scan of
/// the notched autocorrelation ([`sync::rotated_square_lattices`]): a crop or a rotation at the
/// photo's own scale, with too few periods left for the peaks to span the lattice.
const ROTATED: usize = 3;

/// Pilot score from which this key's pattern counts as present even when no payload's tag
/// verifies: `verify` says "payload unreadable" and `mark` refuses to mark again. Unmarked
/// images score at most 6.24 over 2016 extractions (`calibrate_false_positives`), 6.16 over
/// 2016 more (`calibrate_remark_refusal`) and 6.38 on 56 photos marked under another key;
/// marked images after the suite's hard attacks score 8.7 or more, freshly marked ones about
/// 20. 7.5 sits 1.12 above the highest unmarked score and 1.2 below the weakest attacked mark
/// (docs/watermark.md, "Verdicts" and "Re-marking").
pub const PRESENT_MIN_PILOT: f32 = 7.5;

/// The content score of [`CONTENT_BINDING`]'s first tier, from which the score alone bound a
/// payload layer 2 read before the share joined it. For an image whose pattern carries no
/// content term (an unmarked image, a mark made without it, a transplant of one) the score is
/// a unit-norm weighted sum of fair keyed signs (`content`), whose tail Bentkus and
/// Dzindzalieta bound by `C Q(z)`: 4.52 for 1e-5, layer 1's binding rate. A transplant of a
/// mark that carries the term is not such a sum: the host's content signs agree with the
/// source's over whole areas by chance, either way, and the score, a z-score, grows with the
/// pattern's amplitude: transplants of marks whose texture part `mark` raised reached 12.03
/// (docs/watermark.md, "The texture gain" and "The content term's share").
pub const CONTENT_BINDING_SCORE: f32 = 13.0;

/// One way the content term binds a payload: the least score, share
/// ([`Extraction::content_share`]) and coverage ([`Extraction::content_coverage`]) a read
/// must all reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContentTier {
    /// The least content score (a z-score).
    pub score: f32,
    /// The least share: the part of the content term the pattern carries where the image
    /// gives a content sign.
    pub share: f32,
    /// The least coverage: the part of the pattern lying where the image gives a sign.
    pub coverage: f32,
}

/// What binds a payload through the content term ([`Extraction::content_binds`]): a read
/// binds when its score, share and coverage reach one of these tiers.
///
/// The share does not grow with the pattern's amplitude: it is the part of the content term
/// the pattern carries, about 1 on the image the mark was made on (0.83-1.3 on photos through
/// the uploads' resizes; 0.47-0.51 after histogram equalisation, which gives content signs to
/// tones the cover had flat) and the chance agreement of two pictures on a transplant: at most
/// 0.33 onto photos, up to 0.47 onto a host with large flat areas, where the residual's own
/// faint copy of the cover's coarse structure gives the signs (its score stayed at 12.3 or
/// less with the residual added up to 16 times). So the share a read needs falls as its score
/// rises: 0.5 from 13, 0.4 from 18 (histogram equalisation; no transplant onto a picture
/// scored over 12.3).
///
/// Under 13 a share near 1 is not enough alone: the residual by itself, amplified on a blank
/// canvas, is a sketch of the cover whose few signs agree like the cover's (shares 0.68-0.78
/// at scores 9.2-12.4). But those signs cover at most a fifth of its pattern, and a flat
/// host's under 0.3, where pictures' cover more (0.34-0.97 on 370 upload reads of 43
/// pictures; 0.15-0.18 on a smooth colour gradient, which this tier leaves to the others). So the
/// covered tier binds from a score of 9 with a share of 0.6 over at least 0.4 of the pattern:
/// reads of the mark's own photo after strong downscales, whose content signs are the cover's.
/// The pyramid search and `mark` decide on the other two tiers; the covered one binds the read
/// a search ends with (docs/watermark.md, "The content term's coverage").
pub const CONTENT_BINDING: [ContentTier; 3] = [
    ContentTier {
        score: CONTENT_BINDING_SCORE,
        share: 0.5,
        coverage: 0.0,
    },
    ContentTier {
        score: 18.0,
        share: 0.4,
        coverage: 0.0,
    },
    ContentTier {
        score: 9.0,
        share: 0.6,
        coverage: 0.4,
    },
];

/// What binds through the content term, in words for messages: "a score of 13.0 with a share
/// of 0.50, 18.0 with 0.40, or 9.0 with 0.60 where the image's content signs cover 0.40 of the
/// pattern".
pub fn content_binding_rule() -> String {
    let [first, second, covered] = CONTENT_BINDING;
    format!(
        "a score of {:.1} with a share of {:.2}, {:.1} with {:.2}, or {:.1} with {:.2} where the \
         image's content signs cover {:.2} of the pattern",
        first.score,
        first.share,
        second.score,
        second.share,
        covered.score,
        covered.share,
        covered.coverage
    )
}

/// What binds through the content term on its score and share alone
/// ([`Extraction::binds_on_score_and_share`], what `mark` asks of its output), in words: "a
/// score of 13.0 with a share of 0.50, or 18.0 with 0.40".
pub fn score_and_share_rule() -> String {
    let [first, second, _] = CONTENT_BINDING;
    format!(
        "a score of {:.1} with a share of {:.2}, or {:.1} with {:.2}",
        first.score, first.share, second.score, second.share
    )
}

/// The content term of a payload on one placement of the pattern.
#[derive(Debug, Clone, Copy)]
struct ContentTerm {
    score: f32,
    share: f32,
    coverage: f32,
}

impl ContentTerm {
    /// Whether one of [`CONTENT_BINDING`]'s tiers binds it.
    fn binds(&self) -> bool {
        CONTENT_BINDING.iter().any(|tier| self.reaches(tier))
    }

    /// Whether a tier that asks no coverage binds it: what the pyramid search decides on
    /// ([`Extraction::binds_on_score_and_share`]).
    fn binds_on_score_and_share(&self) -> bool {
        CONTENT_BINDING
            .iter()
            .any(|tier| tier.coverage == 0.0 && self.reaches(tier))
    }

    fn reaches(&self, tier: &ContentTier) -> bool {
        self.score >= tier.score && self.share >= tier.share && self.coverage >= tier.coverage
    }
}

/// What the blind extraction found.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The payload, only when its tag verified.
    pub payload: Option<Payload>,
    /// The lattice of the best candidate (pixels per tile along the image's axes).
    pub lattice: Option<Lattice>,
    /// The best candidate's pilot correlation over the spread it would have at that shift if
    /// the pilots' signs were random (a z-score, standard normal under a wrong key whatever
    /// the image holds).
    pub pilot_score: f32,
    /// Candidates decoded.
    pub candidates: usize,
    /// With a claimed payload ([`extract_claimed`]): no payload read blind, but a candidate
    /// decodes to the claimed payload's tag once its payload bits are taken as known.
    pub claimed_confirmed: bool,
    /// With a payload read: the score of its content term on this image (a z-score;
    /// `content`'s module documentation), which binds the payload to the image from
    /// [`CONTENT_BINDING_SCORE`] on, with its share ([`Extraction::content_binds`]).
    pub content_score: Option<f32>,
    /// With a payload read: the content term's share on this image (`content::share`), the
    /// part of the content term the pattern carries where the image gives a content sign:
    /// about 1 on the image the mark was made on, chance agreement on another. Binds with the
    /// score ([`Extraction::content_binds`]).
    pub content_share: Option<f32>,
    /// With a payload read: the content term's coverage on this image (`content::coverage`),
    /// the part of the pattern lying where the image gives a content sign: most of it on a
    /// photo, a small part on a flat or blank host. Binds with the score and the share.
    pub content_coverage: Option<f32>,
    /// With a payload read blind: how many standard deviations its data cells' share of the
    /// pilots' amplitude lies above one half, the share two payloads' codewords leave each
    /// other in an image that carries both. A read counts only from [`ONE_PAYLOAD_MIN_Z`].
    pub one_payload_z: Option<f32>,
    /// Two payloads under this key on one candidate: a payload read (or the claimed one
    /// confirmed) whose data cells carry about half the pilots' amplitude, or beside which a
    /// second payload reads once its cells are taken out of the sums.
    /// Copies marked with different payloads and averaged, or an image marked twice, carry
    /// both codewords on the same pilots. Neither payload is presented: `payload` is `None`.
    pub several_payloads: bool,
    /// The message the payload was read as (whole or short).
    pub(crate) code: Option<Code>,
}

impl Extraction {
    /// Whether the payload read carries a content term that binds it to this image: its
    /// [`Extraction::content_score`], [`Extraction::content_share`] and
    /// [`Extraction::content_coverage`] reach one of [`CONTENT_BINDING`]'s tiers.
    pub fn content_binds(&self) -> bool {
        self.content_term().is_some_and(|term| term.binds())
    }

    /// The read's content term, with a payload read.
    fn content_term(&self) -> Option<ContentTerm> {
        Some(ContentTerm {
            score: self.content_score?,
            share: self.content_share?,
            coverage: self.content_coverage?,
        })
    }

    /// Whether a tier of [`CONTENT_BINDING`] that asks no coverage binds the read. The
    /// pyramid search returns such a read at once, and searches on past one that only the
    /// covered tier binds, as it did before that tier (a finer level may read it stronger);
    /// the covered tier binds it at the end. `mark` asks this of its own output: the covered
    /// tier is for copies an upload has weakened, not margin a fresh mark may start without.
    pub fn binds_on_score_and_share(&self) -> bool {
        self.content_term()
            .is_some_and(|term| term.binds_on_score_and_share())
    }

    /// The content term in words, with a payload read: "score 12.6, share 1.00, coverage
    /// 0.87".
    pub fn content_summary(&self) -> Option<String> {
        let (score, share) = self.content_score.zip(self.content_share)?;
        Some(format!(
            "score {score:.1}, share {share:.2}, coverage {:.2}",
            self.content_coverage.unwrap_or(0.0)
        ))
    }

    /// Whether this key's pattern is in the image: a payload read back, two payloads, or
    /// pilots scoring [`PRESENT_MIN_PILOT`] or more.
    pub fn mark_present(&self) -> bool {
        self.payload.is_some() || self.several_payloads || self.pilot_score >= PRESENT_MIN_PILOT
    }

    /// The pattern is present but no payload's tag verifies (damaged, or several payloads
    /// under one key whose codewords cancel too much for either to decode).
    pub fn unreadable(&self) -> bool {
        self.payload.is_none() && !self.several_payloads && self.mark_present()
    }
}

/// A payload's signs against the cell sums it was read from: the mean correlation of its
/// data cells and of the pilot cells, and the spread of the data cells'.
struct DataShare {
    data: f32,
    pilot: f32,
    spread: f32,
    data_cells: usize,
    pilot_cells: usize,
}

/// Below this share of the pilots' amplitude in its data cells, a payload read is one of
/// several codewords on the same pilots ([`DataShare::falls_short`]). One mark's share, in the
/// equalised and matched cell sums the decoder reads, was 0.79-1.16 over 278 reads (the attack
/// suite's 45 attacks on 6 wallpapers, 4 corpus photos as written: the content term's matched
/// filter adds to the data cells, the texture gain's ceiling takes from them); two marks'
/// 0.46-0.58 (averaged or marked twice, then attacked: half of each image's own share).
/// docs/watermark.md, "Two payloads read apart".
const SEVERAL_MAX_SHARE: f32 = 0.68;
/// How many standard deviations under [`SEVERAL_MAX_SHARE`] the data cells' share must fall:
/// a mark read at a pilot score of 8 whose share is 0.79 falls that far about once in 50,000
/// reads (normal tails; at a share of 0.95, once in 10^7).
const SEVERAL_SHARE_Z: f32 = 3.0;
/// How many standard deviations above one half of the pilots' amplitude a payload's data cells
/// must stand (`DataShare::above_half`, [`Extraction::one_payload_z`]) for a read, blind or
/// of a claimed payload, to count. Two codewords averaged and attacked until the weaker is
/// under the noise can leave the stronger one decoding, and confirming as claimed, with its
/// data cells at about half the pilots' amplitude, too little under the 0.68 of
/// `SEVERAL_MAX_SHARE` to be called several (0.06-3.7 deviations above one half over the 8
/// such reads of the collusion runs, 6 of them under 3). One mark's blind reads stood 5.0 or
/// more deviations above
/// it over 642 upload and attack-suite reads, its claims confirmed where blind reading failed
/// 2.4-7.7 over 12, and a claim is confirmed again on another candidate or decided by layer 1.
/// A read that falls short is not taken: the search goes on, and an image where nothing else
/// reads says `unreadable`, its pattern present (docs/watermark.md, "One payload's share").
pub const ONE_PAYLOAD_MIN_Z: f32 = 3.0;

impl DataShare {
    fn of(sums: &[f32], cells: &[f32], pilot: &[f32]) -> DataShare {
        let (mut data, mut pilot_sum, mut data_cells, mut pilot_cells) = (0f64, 0f64, 0, 0);
        let mut squares = 0f64;
        for ((&s, &c), &p) in sums.iter().zip(cells).zip(pilot) {
            let v = f64::from(s) * f64::from(c);
            if p != 0.0 {
                pilot_sum += v;
                pilot_cells += 1;
            } else {
                data += v;
                squares += v * v;
                data_cells += 1;
            }
        }
        let (nd, np) = (data_cells.max(1) as f64, pilot_cells.max(1) as f64);
        let data_mean = data / nd;
        DataShare {
            data: data_mean as f32,
            pilot: (pilot_sum / np) as f32,
            spread: (squares / nd - data_mean * data_mean).max(0.0).sqrt() as f32,
            data_cells,
            pilot_cells,
        }
    }

    /// How many standard deviations the data cells' share of the pilots' amplitude lies above
    /// one half, the share two codewords leave each other ([`ONE_PAYLOAD_MIN_Z`]): `data -
    /// pilot / 2` over its deviation, as in [`DataShare::falls_short`].
    fn above_half(&self) -> f32 {
        let excess = self.data - 0.5 * self.pilot;
        let deviation = self.spread
            * (1.0 / self.data_cells.max(1) as f32 + 0.25 / self.pilot_cells.max(1) as f32).sqrt();
        if deviation > 0.0 {
            excess / deviation
        } else if excess > 0.0 {
            f32::INFINITY
        } else {
            f32::NEG_INFINITY
        }
    }

    /// Whether the data cells carry significantly less than [`SEVERAL_MAX_SHARE`] of the
    /// pilots' amplitude: `data - SHARE pilot` at least [`SEVERAL_SHARE_Z`] of its standard
    /// deviation under 0 (the cells' spread measured on the data cells, the larger one where
    /// two codewords leave some cells at full amplitude and some at none).
    fn falls_short(&self) -> bool {
        let t = SEVERAL_MAX_SHARE;
        let deviation = self.spread
            * (1.0 / self.data_cells.max(1) as f32 + t * t / self.pilot_cells.max(1) as f32).sqrt();
        self.pilot > 0.0 && self.data - t * self.pilot < -SEVERAL_SHARE_Z * deviation
    }
}

/// High-passed luma divided by its local RMS: the host image becomes roughly white, so the
/// pattern's correlation is not drowned by edges. The sigmas (1 and 1.5 pixels) and the floor
/// (0.5) are the ones that read back the most attacked images (rotations, scalings, the
/// combo).
fn whitened_residual(luma: &Plane) -> Plane {
    detail_rms_rows(luma, 1.5, |detail, row| {
        for (e, &r) in row.iter_mut().zip(detail) {
            *e = r / (*e + 0.5);
        }
    })
}

/// A decodable hypothesis: the folded tile under one symmetry, shifted by `shift` pixels.
struct Candidate {
    score: f32,
    lattice: Lattice,
    which: usize,
    /// The folded tile, shared by the candidates of its lattice.
    folded: Rc<[f32]>,
    shift: (usize, usize),
}

impl Candidate {
    /// The folded tile seen through the candidate's symmetry.
    fn tile(&self) -> Vec<f32> {
        symmetry(&self.folded, self.which)
    }
}

/// Decodes planned at first, from the best pilot scores; the rest of [`MAX_CANDIDATES`] go to
/// refined lattices.
const FIRST_DECODES: usize = 4;
/// Lattices refined against the pilots when the first decodes fail.
const REFINED: usize = 2;
/// Refining only pays where the pilots already stand out. Refined candidates are decoded
/// within [`MAX_CANDIDATES`] and never raise the reported pilot score, so this threshold
/// costs time, not false positives: unmarked images reach 6 in about 0.6 % of extractions
/// (12 of 2016, highest 6.29), where refining costs them most of their extraction time. It
/// was 6.5; a downscale to 720 pixels leaves marks whose unrefined lattice scores 6.0-6.5 and
/// whose refined one decodes.
const REFINE_MIN_PILOT: f32 = 6.0;
/// Candidates from this pilot score on are decoded through the matched filter
/// ([`matched_sums`]), the others on their plain cell sums: the filter needs the image's
/// content signs and a second fold, which would double a blind `verify` of an unmarked photo,
/// whose candidates score under it in all but about 0.6 % of extractions
/// ([`REFINE_MIN_PILOT`]'s calibration); marks whose reading the filter decides score more.
const MATCHED_MIN_PILOT: f32 = REFINE_MIN_PILOT;
/// Planes of up to this many samples are refined on all their samples, larger ones on a
/// quarter: at a 720-pixel upload's size a quarter is too few, and its pilot score too noisy
/// to climb.
const REFINE_ALL_SAMPLES: usize = 2_000_000;
/// A lattice whose basis vectors lie within this share of their length from the image's axes
/// is refined by [`Pilots::refine_axes`], any other by [`Pilots::refine`].
const ON_AXES: f32 = 0.02;

/// What every candidate is scored against: the keyed layout and the pilots' correlation.
struct Pilots {
    layout: Layout,
    content_keys: Vec<f32>,
    phase: PilotPhase,
}

impl Pilots {
    fn new(key: &Key) -> Pilots {
        let layout = Layout::from_key(key);
        let pilot: Vec<f32> = (0..TILE * TILE)
            .map(|i| layout.pilot[(i / TILE / CELL) * TILE_CELLS + (i % TILE) / CELL])
            .collect();
        Pilots {
            phase: PilotPhase::new(&pilot),
            layout,
            content_keys: content::content_keys(key),
        }
    }

    /// The candidate of `folded` under symmetry `which`.
    fn candidate(&self, folded: Vec<f32>, lattice: Lattice, which: usize) -> Candidate {
        let (shift, score) = self.phase.one_symmetry(&folded, which);
        Candidate {
            score,
            lattice,
            which,
            folded: folded.into(),
            shift,
        }
    }

    /// The candidates of `folded` under each of the eight symmetries.
    fn candidates(&self, folded: Vec<f32>, lattice: Lattice) -> Vec<Candidate> {
        let phases = self.phase.every_symmetry(&folded);
        let folded: Rc<[f32]> = folded.into();
        phases
            .into_iter()
            .enumerate()
            .map(|(which, (shift, score))| Candidate {
                score,
                lattice,
                which,
                folded: Rc::clone(&folded),
                shift,
            })
            .collect()
    }

    /// `start` on its lattice refined against the pilots ([`Pilots::refine_axes`] along the
    /// image's axes, [`Pilots::refine`] otherwise), under the same symmetry.
    fn refined(&self, residual: &Plane, start: &Candidate) -> Candidate {
        let lattice = if on_axes(&start.lattice) {
            self.refine_axes(residual, start)
        } else {
            self.refine(residual, start)
        };
        self.candidate(fold(residual, &lattice, 1), lattice, start.which)
    }

    /// The pattern's sign per tile cell for `payload`: pilots and coded bits.
    fn cells_of(&self, key: &Key, payload: &Payload, code: Code) -> Vec<f32> {
        self.layout
            .cells(&ecc::encode(&message_as(key, payload, code)))
    }

    /// Nudges each coordinate of the lattice's basis while the pilots' sharpness
    /// ([`PilotPhase::sharpness`], on a quarter of the pixels) rises, in steps of 0.4 % of the
    /// period down to 0.05 %. The autocorrelation peaks of a magnified tile are broad, and a
    /// basis off by 0.5 % drifts by a whole cell every 200 pixels; the pilots see the drift,
    /// the autocorrelation hardly does.
    fn refine(&self, residual: &Plane, start: &Candidate) -> Lattice {
        let stride = refine_stride(residual);
        let score = |l: &Lattice| {
            self.phase
                .sharpness(&fold(residual, l, stride), start.which)
                .1
        };
        let mut best = start.lattice;
        let mut best_score = score(&best);
        let period = sync::norm(best.u).max(sync::norm(best.v));
        for step in [0.004, 0.002, 0.001, 0.0005] {
            for _ in 0..3 {
                let mut improved = false;
                for coordinate in 0..4 {
                    for sign in [-1.0, 1.0] {
                        let mut trial = best;
                        let target = if coordinate < 2 {
                            &mut trial.u[coordinate]
                        } else {
                            &mut trial.v[coordinate - 2]
                        };
                        *target += sign * step * period;
                        let s = score(&trial);
                        if s > best_score {
                            (best, best_score) = (trial, s);
                            improved = true;
                        }
                    }
                }
                if !improved {
                    break;
                }
            }
        }
        best
    }

    /// Scales the lattice along the image's two axes, on a grid of steps of 0.1 % to 0.8 %
    /// either way, then of 0.025 % around the best, and keeps the scales where the pilots are
    /// sharpest ([`PilotPhase::sharpness`]; 370 folds; the start itself is on the grid). A
    /// downscale to a 720-pixel side leaves cells of 1-1.5 samples, where a period off by
    /// 0.3 % drifts by half a cell across the image and loses the payload (a raw bit error
    /// rate of 0.35 where the exact lattice gives 0.21); the autocorrelation does not place
    /// its peaks that finely, and the coordinate ascent of [`Pilots::refine`], with four free
    /// coordinates, climbs the pilots' noise instead (a higher score, a worse bit error rate,
    /// on the uploads the setting was chosen on; docs/watermark.md, "The detector at a
    /// 720-pixel side"). Two scales are what a resize changes, with the rounding of each side.
    fn refine_axes(&self, residual: &Plane, start: &Candidate) -> Lattice {
        let stride = refine_stride(residual);
        let mut best = (start.lattice, f32::MIN);
        for (reach, step) in [(8, 0.001), (4, 0.00025)] {
            let centre = best.0;
            for i in -reach..=reach {
                for j in -reach..=reach {
                    let (sx, sy) = (1.0 + i as f32 * step, 1.0 + j as f32 * step);
                    let trial = Lattice {
                        u: [centre.u[0] * sx, centre.u[1] * sy],
                        v: [centre.v[0] * sx, centre.v[1] * sy],
                        strength: centre.strength,
                    };
                    let score = self
                        .phase
                        .sharpness(&fold(residual, &trial, stride), start.which)
                        .1;
                    if score > best.1 {
                        best = (trial, score);
                    }
                }
            }
        }
        best.0
    }

    /// The message `candidate` carries `claimed` as, if any: the list decoder is given the
    /// claimed payload's bits as known (frozen to their values), so that it has only the tag
    /// bits to find (48, or 56 for a short payload), and one of the [`LIST`] tags it finds
    /// must be the claimed payload's keyed tag. Where the blind decoder needs 304 bits (184)
    /// through the code, this needs the tag's: it reads marks too damaged to decode blind. The
    /// tags found are functions of the image, and the claimed payload's tag is a keyed hash
    /// the image cannot depend on unless it was marked with that payload: each check passes
    /// with probability 2^-48 (2^-56) otherwise, as a blind tag check does. A short payload
    /// is also tried whole, as marks made before short payloads sent it.
    fn confirms(&self, key: &Key, sums: &[f32], claimed: &Payload) -> Option<Code> {
        let soft = soft_bits(&self.layout, sums);
        Code::claimed(claimed).iter().copied().find(|&code| {
            let message = message_as(key, claimed, code);
            let known = &message[..8 * code.payload_bytes()];
            ecc::decode_list(&soft, code.message_bits(), LIST, known)
                .is_some_and(|messages| messages.contains(&message))
        })
    }

    /// The payload and the message it was sent as, if a candidate's cell sums decode to one
    /// whose tag verifies.
    fn decode(&self, key: &Key, sums: &[f32]) -> Option<(Payload, Code)> {
        self.decode_other_than(key, sums, None)
    }

    /// [`Pilots::decode`], the first message of the list whose tag verifies and that is not
    /// `other`, decoded as a whole payload, then as a short one ([`Code::ALL`]).
    fn decode_other_than(
        &self,
        key: &Key,
        sums: &[f32],
        other: Option<&Payload>,
    ) -> Option<(Payload, Code)> {
        let soft = soft_bits(&self.layout, sums);
        Code::ALL.into_iter().find_map(|code| {
            let sent = code.payload_bytes();
            ecc::decode_list(&soft, code.message_bits(), LIST, &[])?
                .iter()
                .find_map(|bits| {
                    let bytes = bytes_of(bits);
                    let mut payload = Payload([0; 32]);
                    payload.0[..sent].copy_from_slice(&bytes[..sent]);
                    (bytes[sent..] == tag(key, &payload, code) && Some(&payload) != other)
                        .then_some((payload, code))
                })
        })
    }

    /// Whether `sums` carry another codeword of this key beside `first`'s (whose cell signs are
    /// `cells`). Two codewords `a` and `b` under one key on the same pilots sum to
    /// `m (a + b) / 2` in the data cells: where they agree the cells carry `m`, where they
    /// differ nothing. So `first` (say `b`) shows in its data cells about half the amplitude
    /// the pilots carry ([`DataShare::falls_short`]), and taken out of the sums at that
    /// amplitude it leaves `a` at `m / 2`: a second payload whose tag verifies where the
    /// pattern is strong (weaker than the first read, which had cells at twice that amplitude
    /// and cells erased: where the second fails, the share test is what is left). One mark is
    /// taken for several only by chance: 2^-48 per message in the list ([`LIST`] more tag
    /// checks per payload read; a payload that verifies there is never presented, only
    /// counted), and the share test's tail.
    fn several_codewords(
        &self,
        key: &Key,
        sums: &[f32],
        cells: &[f32],
        first: &Payload,
        share: &DataShare,
    ) -> bool {
        if share.falls_short() {
            return true;
        }
        let rest: Vec<f32> = sums
            .iter()
            .zip(cells)
            .map(|(s, c)| s - share.data * c)
            .collect();
        // What the first payload's cells leave may still decode to it first in the list.
        self.decode_other_than(key, &rest, Some(first)).is_some()
    }

    /// The cell sums of the whitened `residual` times the content signs of `luma` (the same
    /// level; the cell's width in samples taken from the lattice), folded and aligned as the
    /// candidate was: what the content term adds to a cell, times its keyed signs.
    fn content_sums(&self, luma: &Plane, residual: &Plane, candidate: &Candidate) -> Vec<f32> {
        let signs = content_signs_on(luma, candidate);
        sums_weighted_by(residual, &signs, candidate)
    }

    /// The content term of `cells` (a payload's signs) on a candidate: its score, share and
    /// coverage, from the candidate's [`Pilots::content_sums`] (made here unless given) and
    /// its plain cell sums. The share and the coverage take a second fold, of the residual
    /// where the image gives a content sign, made only once a payload reads.
    fn content_term(
        &self,
        luma: &Plane,
        residual: &Plane,
        candidate: &Candidate,
        cells: &[f32],
        sums: Option<Vec<f32>>,
    ) -> ContentTerm {
        let mut signs = content_signs_on(luma, candidate);
        let sums = sums.unwrap_or_else(|| sums_weighted_by(residual, &signs, candidate));
        for g in &mut signs {
            *g = g.abs();
        }
        let weights = sums_weighted_by(residual, &signs, candidate);
        let plain = cell_sums(&candidate.tile(), candidate.shift);
        ContentTerm {
            score: content::score(&sums, cells, &self.content_keys),
            share: content::share(&sums, &weights, cells, &self.content_keys),
            coverage: content::coverage(&weights, &plain, cells, &self.content_keys),
        }
    }

    /// The best placement of `lattice` on `luma` (its refined lattice under the symmetry
    /// whose pilots score best) and the content term of `payload` there: the pilot score, the
    /// content term, the lattice.
    fn placed_content_term(
        &self,
        key: &Key,
        luma: &Plane,
        lattice: Lattice,
        payload: &Payload,
        code: Code,
    ) -> (f32, ContentTerm, Lattice) {
        let residual = whitened_residual(luma);
        let start = self
            .candidates(fold(&residual, &lattice, 1), lattice)
            .into_iter()
            .reduce(|best, c| if c.score > best.score { c } else { best })
            .expect("eight symmetries");
        let refined = self.refined(&residual, &start);
        let best = if refined.score > start.score {
            refined
        } else {
            start
        };
        let term = self.content_term(
            luma,
            &residual,
            &best,
            &self.cells_of(key, payload, code),
            None,
        );
        (best.score, term, best.lattice)
    }
}

/// Every pixel of a small plane, every other of every other row of a large one
/// ([`REFINE_ALL_SAMPLES`]).
fn refine_stride(residual: &Plane) -> usize {
    if residual.data.len() > REFINE_ALL_SAMPLES {
        2
    } else {
        1
    }
}

/// Whether both basis vectors lie along the image's axes ([`ON_AXES`]): a resize, a crop, a
/// flip or a quarter turn, no rotation.
fn on_axes(lattice: &Lattice) -> bool {
    [lattice.u, lattice.v]
        .iter()
        .all(|p| p[0].abs().min(p[1].abs()) <= ON_AXES * sync::norm(*p))
}

/// The content signs of `luma` at the cell width the candidate's lattice gives (samples per
/// cell at this level).
fn content_signs_on(luma: &Plane, candidate: &Candidate) -> Vec<f32> {
    let lattice = &candidate.lattice;
    let cell = 0.5 * (sync::norm(lattice.u) + sync::norm(lattice.v)) / TILE_CELLS as f32;
    content::content_signs(luma, cell)
}

/// The cell sums of `residual` times `weights` (one per sample), folded and aligned as the
/// candidate was.
fn sums_weighted_by(residual: &Plane, weights: &[f32], candidate: &Candidate) -> Vec<f32> {
    let product = Plane {
        width: residual.width,
        height: residual.height,
        data: residual
            .data
            .iter()
            .zip(weights)
            .map(|(r, w)| r * w)
            .collect(),
    };
    let tile = symmetry(&fold(&product, &candidate.lattice, 1), candidate.which);
    cell_sums(&tile, candidate.shift)
}

/// The sum of each cell of an aligned tile (`shift` its phase), cells row by row.
fn cell_sums(tile: &[f32], shift: (usize, usize)) -> Vec<f32> {
    let mut sums = vec![0f32; TILE_CELLS * TILE_CELLS];
    for cy in 0..TILE_CELLS {
        for cx in 0..TILE_CELLS {
            let (x, y) = ((cx * CELL + shift.0) % TILE, (cy * CELL + shift.1) % TILE);
            sums[cy * TILE_CELLS + cx] = block_sum(tile, x, y);
        }
    }
    sums
}

/// The cell sums of an aligned tile weighted as the pattern was made, a matched filter for
/// the content term: each sample's residual times `1 + SHARE k g'` (`g'` the image's content
/// sign, `k` the cell's content key), that is the plain sum plus `SHARE k` times the cell's
/// `content` sum. Where the image's signs are the cover's, this gathers the term's share of
/// the energy that the plain sum spreads as noise (a raw bit error rate of 0.23 instead of
/// 0.27 on a 720-pixel upload at Q60; docs/watermark.md, "The content term on every mark").
fn matched_sums(plain: &[f32], content: &[f32], keys: &[f32]) -> Vec<f32> {
    plain
        .iter()
        .zip(content)
        .zip(keys)
        .map(|((s, c), k)| s + content::SHARE * k * c)
        .collect()
}

/// Soft value per coded bit from the cell sums of an aligned tile.
fn soft_bits(layout: &Layout, sums: &[f32]) -> Vec<f32> {
    let mut soft = vec![0f32; CODED_BITS];
    for (cell, &sum) in sums.iter().enumerate() {
        if layout.pilot[cell] != 0.0 {
            continue;
        }
        soft[usize::from(layout.bit[cell])] += sum * layout.sign[cell];
    }
    let rms = (soft.iter().map(|v| v * v).sum::<f32>() / soft.len() as f32).sqrt();
    if rms > 0.0 {
        soft.iter_mut().for_each(|v| *v /= rms);
    }
    soft
}

/// Decimation factors of the detector's pyramid, coarsest first. `mark` makes cells of 2 to
/// 16 pixels ([`cell_side`](super::tile::cell_side)) and uploads shrink them by up to 8 times:
/// at one of these levels a cell is about [`CELL`] samples wide, the scale the whitening, the
/// lattice search (periods of 0.35 to 2.6 tiles) and the fold are tuned for. Coarsest first
/// because the coarse levels cost a quarter of the next each: a large photo marked with
/// 16-pixel cells reads at the first.
pub(crate) const LEVELS: [usize; 4] = [8, 4, 2, 1];
/// The longest tile period searched on a level, in samples (2.6 times a tile of 2-sample
/// cells; a longer period is found a level coarser).
const MAX_PERIOD: f32 = 2.6 * TILE as f32;
// The autocorrelation is free of the circular wrap up to the longest period searched.
const _: () = assert!(MAX_PERIOD <= sync::LINEAR_LAGS as f32);
/// A pyramid level narrower or lower than this many samples (one tile of 2-sample cells) is
/// skipped: it cannot show the lattice.
const MIN_LEVEL_SIDE: usize = TILE;

/// The plane averaged over 2 x 2 blocks (an odd last row or column dropped).
fn halve(plane: &Plane) -> Plane {
    let (w, h) = (plane.width / 2, plane.height / 2);
    let src = &plane.data;
    let sw = plane.width;
    Plane::from_fn(w, h, |x, y| {
        let i = 2 * y * sw + 2 * x;
        0.25 * (src[i] + src[i + 1] + src[i + sw] + src[i + sw + 1])
    })
}

/// Extracts the payload blind: each level of the pyramid (`LEVELS`, coarsest first) is
/// searched as the single-scale detector searches an image, and the first payload whose tag
/// verifies and whose content term binds it to the image is returned; a payload that does not
/// bind is returned only when no finer level reads it bound (the read of it whose content
/// scores highest). With no payload, the result is the level whose best candidate had the
/// highest pilot score. Lattices are reported in pixels of `luma`.
pub fn extract(luma: &Plane, key: &Key) -> Extraction {
    extract_claimed(luma, key, None)
}

/// [`extract`], and with `claimed`, every candidate that does not decode blind is also tried
/// with the claimed payload's bits taken as known ([`Extraction::claimed_confirmed`]): at most
/// as many tag checks again as the blind search, each of them of the claimed payload's tag.
pub fn extract_claimed(luma: &Plane, key: &Key, claimed: Option<&Payload>) -> Extraction {
    search_levels(luma, key, claimed, 1, &mut |_| false)
}

/// [`extract_claimed`], where a payload read without the content term's binding is returned at
/// once when `bound_otherwise(payload)` says another test binds it (layer 1): the finer levels
/// are searched on only for a read that nothing binds yet. `verify` and `mark`'s self-check
/// pass layer 1's test, which they make of the payload read in any case.
pub(crate) fn extract_bound_by(
    luma: &Plane,
    key: &Key,
    claimed: Option<&Payload>,
    bound_otherwise: &mut dyn FnMut(&Payload) -> bool,
) -> Extraction {
    search_levels(luma, key, claimed, 1, bound_otherwise)
}

/// [`extract`] as `mark`'s re-marking check runs it: the levels finer than any mark `mark`
/// could have made needs are left out ([`finest_level_needed`]): at 12 MP the finest two, the
/// larger part of the check's work. Where it finds a payload or a pilot score, those of
/// [`extract`].
pub(crate) fn extract_for_refusal(luma: &Plane, key: &Key) -> Extraction {
    let finest = finest_level_needed(luma.width, luma.height);
    // Any payload read is a mark present: the check needs no binding.
    search_levels(luma, key, None, finest, &mut |_| true)
}

/// The finest pyramid level ([`LEVELS`]) a mark on an image of `width` x `height` can need:
/// one whose cells are 1.4 samples or more there (2.8 pixels on the second level, 5.6 on the
/// third; a level of factor `f` reads cells of 0.7 `f` to 5.2 `f` pixels). `mark` makes cells
/// ([`cell_side`]) of at least 2 / [`SMALLEST_UPLOAD`] of the long side, or, where the short
/// side limits them, more than 1 / (2 [`MIN_TILES`] [`TILE_CELLS`]) of the short side, or 16
/// pixels. Scaled with the image (a crop keeps them, an enlargement grows them), a mark's cells
/// on an image of long side `L` and short side `S` are then at least `L / 360`, `S / 384`, or
/// `16 L / L0` for an original of long side `L0` over 5760 pixels. So:
/// - from a long side of 2880 and a short side of 1076, every cell is 2.8 pixels or more, but
///   for marks made on originals of over 16,000 pixels (180 MP and more, beyond `mark`'s
///   default memory budget by a factor of eight) and shrunk more than 5.7 times;
/// - from a long side of 4032 and a short side of 2151, every cell is 5.6 pixels or more, but
///   for marks made on originals of over 11,520 by 6,146 pixels (70 MP, three times that
///   budget) and shrunk more than 2.9 times.
pub(crate) fn finest_level_needed(width: usize, height: usize) -> usize {
    const LONG_2: usize = 4 * SMALLEST_UPLOAD;
    const SHORT_2: usize = (2 * MIN_TILES * TILE_CELLS * 28).div_ceil(10);
    // 16-pixel cells shrunk to 5.6 pixels from an original this long.
    const ORIGINAL_4: usize = 11_520;
    const LONG_4: usize = (56 * ORIGINAL_4).div_ceil(160);
    const SHORT_4: usize = (2 * MIN_TILES * TILE_CELLS * 56).div_ceil(10);
    let (long, short) = (width.max(height), width.min(height));
    if long >= LONG_4 && short >= SHORT_4 {
        4
    } else if long >= LONG_2 && short >= SHORT_2 {
        2
    } else {
        1
    }
}

/// The pyramid search of [`extract_claimed`], from the coarsest level down to `finest` (1: the
/// image itself), a read that `bound_otherwise` binds returned at once ([`extract_bound_by`]).
fn search_levels(
    luma: &Plane,
    key: &Key,
    claimed: Option<&Payload>,
    finest: usize,
    bound_otherwise: &mut dyn FnMut(&Payload) -> bool,
) -> Extraction {
    let pilots = Pilots::new(key);
    // An unattacked mark's cell: the rule `mark` follows, and the power-of-two rule it followed
    // before (its marks still read).
    let own_cells = [
        cell_side(luma.width, luma.height),
        power_of_two_cell_side(luma.width, luma.height),
    ];
    // The levels from the finest: each a 2 x 2 box average of the one before.
    let mut planes: Vec<(usize, std::borrow::Cow<'_, Plane>)> = Vec::new();
    let mut factor = 1;
    let mut current = std::borrow::Cow::Borrowed(luma);
    while factor <= LEVELS[0] && current.width.min(current.height) >= MIN_LEVEL_SIDE {
        let next = halve(&current);
        planes.push((factor, current));
        current = std::borrow::Cow::Owned(next);
        factor *= 2;
    }
    let mut best: Option<Extraction> = None;
    let mut unbound: Option<Extraction> = None;
    let mut candidates = 0;
    let mut confirmed = false;
    for &level in &LEVELS {
        if level < finest {
            continue;
        }
        let Some((_, plane)) = planes.iter().find(|(f, _)| *f == level) else {
            continue;
        };
        // Unattacked, a cell of `own_cells` pixels repeats every this many samples here.
        let own_periods = own_cells.map(|cell| (TILE_CELLS * cell) as f32 / level as f32);
        let mut found = extract_level(plane, key, &pilots, &own_periods, level, claimed);
        candidates += found.candidates;
        found.candidates = candidates;
        found.lattice = found.lattice.map(|l| l.scaled(level as f32));
        // Two payloads under this key: neither is the image's, whatever binds.
        if found.several_payloads {
            return found;
        }
        if let (Some(read), Some(code), Some(lattice)) = (found.payload, found.code, found.lattice)
        {
            // A read on a coarse level whose content term falls short of binding is scored
            // again on the next finer level, with the lattice it was read on: twice the
            // samples per cell, where the pilots may place it better.
            if !found.binds_on_score_and_share()
                && let Some((finer, plane)) = planes.iter().find(|(f, _)| *f == level / 2)
            {
                // Levels are powers of two: the scalings are exact.
                let f = *finer as f32;
                let (pilot_score, term, placed) =
                    pilots.placed_content_term(key, plane, lattice.scaled(1.0 / f), &read, code);
                if pilot_score > found.pilot_score {
                    found.pilot_score = pilot_score;
                    found.content_score = Some(term.score);
                    found.content_share = Some(term.share);
                    found.content_coverage = Some(term.coverage);
                    found.lattice = Some(placed.scaled(f));
                }
            }
            if found.binds_on_score_and_share() || bound_otherwise(&read) {
                return found;
            }
            // An unbound read is kept while the finer levels are searched on: the equaliser
            // reads some marks a level coarser than their cells, where the term is blurred,
            // and a finer level reads them bound. Every level's decodes are within the
            // bound, which counts them all.
            if unbound.as_ref().is_none_or(|u: &Extraction| {
                u.payload == found.payload && found.content_score > u.content_score
            }) {
                unbound = Some(found);
            }
            continue;
        }
        confirmed |= found.claimed_confirmed;
        if best
            .as_ref()
            .is_none_or(|b| found.pilot_score > b.pilot_score)
        {
            best = Some(found);
        }
    }
    if let Some(mut read) = unbound {
        read.candidates = candidates;
        return read;
    }
    let mut best = best.unwrap_or(Extraction {
        payload: None,
        lattice: None,
        pilot_score: 0.0,
        candidates: 0,
        claimed_confirmed: false,
        content_score: None,
        content_share: None,
        content_coverage: None,
        one_payload_z: None,
        several_payloads: false,
        code: None,
    });
    best.candidates = candidates;
    best.claimed_confirmed = confirmed;
    best
}

/// The single-scale detector on one pyramid level, `level` times coarser than the image:
/// whiten, find lattices (plus the guesses: the unchanged tile of 2-sample cells and those of
/// `own_periods` samples), fold, align on the pilots, decode the best candidates.
fn extract_level(
    luma: &Plane,
    key: &Key,
    pilots: &Pilots,
    own_periods: &[f32],
    level: usize,
    claimed: Option<&Payload>,
) -> Extraction {
    let residual = whitened_residual(luma);
    let mut lattices = vec![Lattice::axis_aligned(TILE as f32)];
    for &period in own_periods {
        let own = Lattice::axis_aligned(period);
        if (0.35 * TILE as f32..=4.0 * TILE as f32).contains(&period)
            && !lattices.iter().any(|l| l.same_as(&own))
        {
            lattices.push(own);
        }
    }
    let guesses = lattices.len();
    let (min_period, max_period) = (0.35 * TILE as f32, MAX_PERIOD);
    let notches = [Notch::AxesAndBlockGrid, Notch::Nothing];
    for (notch, acf) in notches
        .into_iter()
        .zip(sync::autocorrelations(&residual, &notches))
    {
        let mut found = sync::find_lattices(&acf, min_period, max_period, LATTICES);
        if residual.data.len() <= SQUARE_SCAN_SAMPLES {
            match notch {
                // The notch removes every line of a tile on the axes: scan the other one.
                Notch::Nothing => {
                    found.extend(sync::square_lattices(&acf, min_period, max_period, SQUARES));
                }
                // Off the axes, the notch keeps the tile's points and drops the block grid's.
                Notch::AxesAndBlockGrid => {
                    let periods: Vec<f32> = whole_cell_sides()
                        .map(|cell| (TILE_CELLS * cell) as f32 / level as f32)
                        .filter(|period| (min_period..=max_period).contains(period))
                        .collect();
                    found.extend(sync::rotated_square_lattices(&acf, &periods, ROTATED));
                }
            }
        }
        // A found lattice is kept beside a guess it is close to: an upload's period can fall
        // within the 2 samples of `same_as` of a guess without being it (127.06 against 128
        // after a downscale to 720 pixels), and the guess folded in its place smears the tile.
        for found in found {
            if !lattices[guesses..].iter().any(|l| l.same_as(&found)) {
                lattices.push(found);
            }
        }
    }
    let mut candidates = Vec::new();
    for (lattice, folded) in lattices.iter().zip(fold_each(&residual, &lattices)) {
        candidates.extend(pilots.candidates(folded, *lattice));
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut extraction = Extraction {
        payload: None,
        lattice: candidates.first().map(|c| c.lattice),
        pilot_score: candidates.first().map_or(0.0, |c| c.score),
        candidates: 0,
        claimed_confirmed: false,
        content_score: None,
        content_share: None,
        content_coverage: None,
        one_payload_z: None,
        several_payloads: false,
        code: None,
    };
    // Two payloads read on `candidate`: neither is kept, the candidate's placement is.
    let several_on = |candidate: &Candidate, extraction: &mut Extraction| {
        extraction.several_payloads = true;
        extraction.lattice = Some(candidate.lattice);
        extraction.pilot_score = candidate.score;
    };
    let found = |candidate: &Candidate, refined: bool, extraction: &mut Extraction| {
        extraction.candidates += 1;
        // The plain cell sums and, through the matched filter, the content sums are decoded
        // after the equaliser fitted on the plain sums' pilots (the pilots carry no content
        // term): the same linear channel blurred both.
        let plain = cell_sums(&candidate.tile(), candidate.shift);
        let equalizer = Equalizer::fit(&plain, &pilots.layout.pilot);
        let plain = equalizer.apply(&plain);
        let matched =
            |content: &[f32]| matched_sums(&plain, &equalizer.apply(content), &pilots.content_keys);
        let content = (candidate.score >= MATCHED_MIN_PILOT)
            .then(|| pilots.content_sums(luma, &residual, candidate));
        let sums = match &content {
            Some(content) => matched(content),
            None => plain.clone(),
        };
        let payload = pilots.decode(key, &sums);
        if let Some((read, code)) = &payload {
            let cells = pilots.cells_of(key, read, *code);
            let share = DataShare::of(&sums, &cells, &pilots.layout.pilot);
            if pilots.several_codewords(key, &sums, &cells, read, &share) {
                several_on(candidate, extraction);
                return true;
            }
            let one_payload_z = share.above_half();
            if one_payload_z < ONE_PAYLOAD_MIN_Z {
                return false;
            }
            let mut placed = (candidate.lattice, candidate.score);
            let mut term = pilots.content_term(luma, &residual, candidate, &cells, content);
            // The matched filter reads some payloads on a lattice a little off, where the
            // content term, summed over the whole image, drifts out of phase: it is measured
            // again on the refined lattice where the pilots find a better placement.
            if !term.binds_on_score_and_share() && !refined {
                let better = pilots.refined(&residual, candidate);
                if better.score > candidate.score {
                    placed = (better.lattice, better.score);
                    term = pilots.content_term(luma, &residual, &better, &cells, None);
                }
            }
            extraction.content_score = Some(term.score);
            extraction.content_share = Some(term.share);
            extraction.content_coverage = Some(term.coverage);
            extraction.one_payload_z = Some(one_payload_z);
            extraction.payload = Some(*read);
            extraction.code = Some(*code);
            extraction.lattice = Some(placed.0);
            extraction.pilot_score = placed.1;
        } else if let Some(claimed) = claimed
            && !extraction.claimed_confirmed
        {
            // A claim is checked through the matched filter whatever the pilot score: one
            // image's cost, where the claim decides.
            let sums = match content {
                Some(_) => sums,
                None => matched(&pilots.content_sums(luma, &residual, candidate)),
            };
            let confirmed_as = pilots.confirms(key, &sums, claimed);
            extraction.claimed_confirmed = confirmed_as.is_some();
            // A claimed payload confirmed beside another: several payloads, as blind.
            if let Some(code) = confirmed_as {
                let cells = pilots.cells_of(key, claimed, code);
                let share = DataShare::of(&sums, &cells, &pilots.layout.pilot);
                if pilots.several_codewords(key, &sums, &cells, claimed, &share) {
                    several_on(candidate, extraction);
                    return true;
                }
                extraction.claimed_confirmed = share.above_half() >= ONE_PAYLOAD_MIN_Z;
            }
        }
        payload.is_some()
    };
    for candidate in candidates.iter().take(FIRST_DECODES) {
        if found(candidate, false, &mut extraction) {
            return extraction;
        }
    }
    // The best candidate of each of the best lattices, refined.
    let mut refined: Vec<&Candidate> = Vec::new();
    for candidate in candidates.iter().filter(|c| c.score >= REFINE_MIN_PILOT) {
        if refined.len() == REFINED {
            break;
        }
        if !refined
            .iter()
            .any(|r| r.lattice.same_as(&candidate.lattice))
        {
            refined.push(candidate);
        }
    }
    for start in refined {
        if found(&pilots.refined(&residual, start), true, &mut extraction) {
            return extraction;
        }
    }
    extraction
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::pattern::tile::{PatternSettings, pattern};

    /// Where the re-marking check leaves the finer levels out, every mark `mark` could have
    /// made, on an original of any size and proportions up to the bound the docs give for that
    /// level (16,000 pixels for the second, 11,520 for the third), scaled to the image (down or
    /// up, proportions kept), has cells of 1.4 samples or more on the finest level searched:
    /// 2.8 pixels on the second, 5.6 on the third. Past the third level's bound, the second
    /// level's still holds. And the sides the rule turns on are those it says.
    #[test]
    fn the_refusal_leaves_out_the_finer_levels_only_where_no_mark_needs_them() {
        assert_eq!(finest_level_needed(2879, 2000), 1);
        assert_eq!(finest_level_needed(4032, 1075), 1);
        assert_eq!(finest_level_needed(2880, 1076), 2);
        assert_eq!(finest_level_needed(4031, 3024), 2);
        assert_eq!(finest_level_needed(4032, 2150), 2);
        assert_eq!(finest_level_needed(4032, 2151), 4);
        assert_eq!(finest_level_needed(3024, 4032), 4);
        let mut checked = [0; 3];
        for long0 in (200..=16_000).step_by(97) {
            for short0 in (100..=long0).step_by(61) {
                let cell = cell_side(long0, short0) as f64;
                for long in (2880..=long0.max(2880)).step_by(173) {
                    let f = long as f64 / long0 as f64;
                    let short = (short0 as f64 * f).round() as usize;
                    let level = finest_level_needed(long, short);
                    let needed = match level {
                        1 => continue,
                        4 if long0 <= 11_520 => 5.6,
                        _ => 2.8,
                    };
                    checked[usize::from(needed > 3.0) + usize::from(level == 4)] += 1;
                    assert!(
                        cell * f >= needed,
                        "{long0} x {short0} (cells {cell}) to {long} x {short}: {:.2}",
                        cell * f
                    );
                }
            }
        }
        assert!(checked.iter().all(|&n| n > 20_000), "{checked:?}");
    }

    /// The bound the docs promise: at most 1e-12 per image, every level's checks counted.
    #[test]
    fn false_payload_bound_counts_every_level() {
        assert_eq!(MAX_TAG_CHECKS, 264);
        const { assert!(FALSE_POSITIVE_BOUND <= 1e-12) };
    }

    /// A 600 x 500 plane: a product of sines of `periods` (in pixels over 2 pi) and uniform
    /// noise of 16 grey levels from the linear congruential generator seeded with `seed`.
    fn textured_plane(seed: u32, periods: (f32, f32)) -> Plane {
        let mut state = seed;
        Plane::from_fn(600, 500, |x, y| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            100.0
                + 40.0 * ((x as f32 / periods.0).sin() * (y as f32 / periods.1).cos())
                + (state >> 24) as f32 / 16.0
        })
    }

    /// A flat-noise plane with the pattern added, then shifted (a crop), gives the payload back;
    /// another key finds nothing.
    #[test]
    fn round_trip_on_a_textured_plane() {
        let key = Key::from_secret(b"secret").unwrap();
        let payload = Payload(std::array::from_fn(|i| i as u8 * 7));
        let luma = textured_plane(1, (37.0, 23.0));
        let delta = pattern(&luma, &key, &payload, &PatternSettings::default(), 0.0).change;
        let marked = Plane::from_fn(600 - 37, 500 - 11, |x, y| {
            let (sx, sy) = (x + 37, y + 11);
            (luma.data[sy * 600 + sx] + delta[sy * 600 + sx]).round()
        });
        let found = extract(&marked, &key);
        assert_eq!(found.payload, Some(payload), "{found:?}");
        assert!(found.mark_present() && !found.unreadable() && !found.several_payloads);
        let other = extract(&marked, &Key::from_secret(b"other").unwrap());
        assert_eq!(other.payload, None);
        assert!(!other.mark_present(), "{other:?}");
        let unmarked = extract(&luma, &key);
        assert_eq!(unmarked.payload, None);
        assert!(!unmarked.mark_present(), "{unmarked:?}");
    }

    /// A payload whose last 16 bytes are zero is sent short ([`Code::Short`]): through noise
    /// that leaves a whole payload's mark unread on the same plane, it reads back blind, as
    /// itself. Sent whole, as marks made before short payloads were, it still reads, blind
    /// and claimed.
    #[test]
    fn short_payloads_read_through_more_noise() {
        let key = Key::from_secret(b"secret").unwrap();
        let whole = Payload(std::array::from_fn(|i| i as u8 * 7 + 1));
        let short = Payload::from_text("IMG_0042 2026").unwrap();
        let luma = textured_plane(3, (41.0, 29.0));
        let settings = PatternSettings::default();
        let made = |payload: &Payload| pattern(&luma, &key, payload, &settings, content::SHARE);
        let (whole_delta, short_delta) = (made(&whole).change, made(&short).change);
        let noisy = |delta: &[f32], noise: f32| {
            let mut state = 9u32;
            Plane::from_fn(600, 500, |x, y| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let i = y * 600 + x;
                luma.data[i] + delta[i] + noise * ((state >> 8) as f32 / 16_777_216.0 - 0.5)
            })
        };
        let mut tried = Vec::new();
        let mut only_short = None;
        for step in 0..40 {
            let noise = 40.0 * 1.05f32.powi(step);
            let read_whole = extract(&noisy(&whole_delta, noise), &key);
            let read_short = extract(&noisy(&short_delta, noise), &key);
            tried.push((noise, read_whole.pilot_score, read_short.pilot_score));
            assert!(read_whole.payload.is_none_or(|p| p == whole));
            if read_short.payload.is_none() {
                // Where the short payload no longer reads blind, its claim (56 tag bits to
                // find) still confirms.
                let claimed = extract_claimed(&noisy(&short_delta, noise), &key, Some(&short));
                assert!(claimed.claimed_confirmed, "{noise}: {claimed:?}");
                break;
            }
            assert_eq!(read_short.payload, Some(short));
            assert_eq!(read_short.code, Some(Code::Short));
            if read_whole.payload.is_none() {
                only_short = Some(noise);
            }
        }
        assert!(
            only_short.is_some(),
            "no noise level where only the short payload reads: {tried:?}"
        );

        let old = crate::watermark::pattern::pattern_sent_as(
            &luma,
            &key,
            &short,
            Code::Full,
            &settings,
            content::SHARE,
        )
        .change;
        let marked = Plane::from_fn(600, 500, |x, y| luma.data[y * 600 + x] + old[y * 600 + x]);
        let found = extract(&marked, &key);
        assert_eq!((found.payload, found.code), (Some(short), Some(Code::Full)));
        // Claimed: the blind read is the claim's.
        assert_eq!(
            extract_claimed(&marked, &key, Some(&short)).payload,
            Some(short)
        );
    }

    /// Two payloads under one key in one plane, their patterns averaged (copies averaged) or
    /// added (marked twice): blind and with either payload claimed, the extraction reads
    /// several payloads and presents neither; each pattern alone reads its own payload.
    #[test]
    fn two_payloads_under_one_key_read_as_several() {
        let key = Key::from_secret(b"secret").unwrap();
        let a = Payload(std::array::from_fn(|i| i as u8 * 7));
        let b = Payload(std::array::from_fn(|i| 255 - i as u8 * 3));
        let luma = textured_plane(7, (31.0, 19.0));
        let settings = PatternSettings::default();
        let da = pattern(&luma, &key, &a, &settings, 0.0).change;
        let db = pattern(&luma, &key, &b, &settings, 0.0).change;
        let with = |weight: f32, delta_b: &[f32]| {
            Plane::from_fn(600, 500, |x, y| {
                let i = y * 600 + x;
                (luma.data[i] + weight * (da[i] + delta_b[i])).round()
            })
        };
        let none = vec![0.0; db.len()];
        assert_eq!(extract(&with(1.0, &none), &key).payload, Some(a));
        for (name, plane) in [("averaged", with(0.5, &db)), ("twice", with(1.0, &db))] {
            for claimed in [None, Some(&a), Some(&b)] {
                let found = extract_claimed(&plane, &key, claimed);
                assert!(found.several_payloads, "{name} {claimed:?}: {found:?}");
                assert_eq!(found.payload, None, "{name}");
                assert!(found.mark_present() && !found.unreadable(), "{name}");
            }
        }
    }

    /// The share test on cell sums made to measure: one codeword at any signal-to-noise ratio
    /// passes; two averaged codewords fall short once the pilots stand out.
    #[test]
    fn two_codewords_halve_the_data_cells_share() {
        let key = Key::from_secret(b"secret").unwrap();
        let pilots = Pilots::new(&key);
        let a = pilots.cells_of(&key, &Payload([1; 32]), Code::Full);
        let b = pilots.cells_of(&key, &Payload([2; 32]), Code::Full);
        let mut state = 3u32;
        let mut noise = || {
            // Sums of 12 uniforms: close to a unit Gaussian.
            (0..12)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1 << 24) as f32
                })
                .sum::<f32>()
                - 6.0
        };
        // Per-cell amplitudes: pilot scores of about 8, 16 and 32 (amplitude x sqrt(512)).
        for m in [0.35f32, 0.7, 1.4] {
            let one: Vec<f32> = a.iter().map(|c| m * c + noise()).collect();
            let two: Vec<f32> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| m * (x + y) / 2.0 + noise())
                .collect();
            assert!(
                !DataShare::of(&one, &a, &pilots.layout.pilot).falls_short(),
                "{m}"
            );
            let share = DataShare::of(&two, &b, &pilots.layout.pilot);
            assert!(
                m < 0.5 || share.falls_short(),
                "{m}: {}",
                share.data / share.pilot
            );
            // One codeword stands well above the half two leave each other (measured: 5.6
            // deviations at a pilot score of about 8, 11 at 16), which each of two does not.
            let single = DataShare::of(&one, &a, &pilots.layout.pilot).above_half();
            assert!(single >= ONE_PAYLOAD_MIN_Z, "{m}: {single}");
            assert!(share.above_half() < ONE_PAYLOAD_MIN_Z, "{m}");
        }
    }

    /// `above_half` by hand: pilots at 2, data cells at 1.8 and 0.8 (mean 1.3, spread 0.5),
    /// two pilot and four data cells: (1.3 - 1) / (0.5 sqrt(1/4 + 0.25/2)).
    #[test]
    fn one_payloads_share_is_counted_in_deviations_above_one_half() {
        let pilot = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let cells = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        let sums = [2.0, -2.0, 1.8, -0.8, 1.8, -0.8];
        let z = DataShare::of(&sums, &cells, &pilot).above_half();
        let expected = 0.3 / (0.5 * 0.375f32.sqrt());
        assert!((z - expected).abs() < 1e-4, "{z} {expected}");
    }

    /// Noise added until the blind decoder no longer reads the payload: with the claimed
    /// payload's bits given, the claimed tag still decodes; a payload one bit away (its tag
    /// another keyed hash) and another key's claim do not. Blind, nothing is read either way.
    #[test]
    fn a_claimed_payload_reads_where_the_blind_decoder_fails() {
        let key = Key::from_secret(b"secret").unwrap();
        let payload = Payload(std::array::from_fn(|i| (i as u8).wrapping_mul(11)));
        let mut neighbour = payload;
        neighbour.0[31] ^= 1;
        let luma = Plane::from_fn(600, 500, |x, y| {
            100.0 + 40.0 * ((x as f32 / 37.0).sin() * (y as f32 / 23.0).cos())
        });
        let delta = pattern(
            &luma,
            &key,
            &payload,
            &PatternSettings::default(),
            content::SHARE,
        )
        .change;
        let mut tried = Vec::new();
        for step in 0..40 {
            let noise = 30.0 * 1.04f32.powi(step);
            let mut state = 3u32;
            let noisy = Plane::from_fn(600, 500, |x, y| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let i = y * 600 + x;
                luma.data[i] + delta[i] + noise * ((state >> 8) as f32 / 16_777_216.0 - 0.5)
            });
            let blind = extract(&noisy, &key);
            tried.push((noise, blind.pilot_score));
            if blind.payload.is_some() {
                assert_eq!(blind.payload, Some(payload));
                continue;
            }
            let claimed = extract_claimed(&noisy, &key, Some(&payload));
            if !claimed.claimed_confirmed {
                continue;
            }
            assert_eq!(claimed.payload, None);
            assert!(!extract_claimed(&noisy, &key, Some(&neighbour)).claimed_confirmed);
            let other = Key::from_secret(b"other").unwrap();
            assert!(!extract_claimed(&noisy, &other, Some(&payload)).claimed_confirmed);
            return;
        }
        panic!("no noise level where only the claimed payload reads: {tried:?}");
    }

    /// The content term: a mark made with it binds to its own image (content score above
    /// the binding score), one made without it scores like fair coins, and its residual
    /// lifted onto another image reads back without binding there.
    #[test]
    fn the_content_term_binds_its_own_image_only() {
        let key = Key::from_secret(b"secret").unwrap();
        let payload = Payload(std::array::from_fn(|i| i as u8 * 3));
        let textured = |fx: f32, fy: f32, seed: u32| {
            let mut state = seed;
            Plane::from_fn(600, 500, move |x, y| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                110.0
                    + 50.0 * ((x as f32 / fx).sin() * (y as f32 / fy).cos())
                    + (state >> 24) as f32 / 16.0
            })
        };
        let cover = textured(37.0, 23.0, 1);
        let host = textured(29.0, 41.0, 9);
        // A host that shows the cover's scene in its left quarter: a transplant's content
        // signs agree with the cover's there, by chance elsewhere.
        let other = textured(29.0, 41.0, 5);
        let partly = Plane::from_fn(600, 500, |x, y| {
            let i = y * 600 + x;
            if x < 150 {
                cover.data[i]
            } else {
                other.data[i]
            }
        });
        let add = |base: &Plane, delta: &[f32]| {
            Plane::from_fn(base.width, base.height, |x, y| {
                let i = y * base.width + x;
                (base.data[i] + delta[i]).round().clamp(0.0, 255.0)
            })
        };
        let settings = PatternSettings::default();
        let with = add(
            &cover,
            &pattern(&cover, &key, &payload, &settings, content::SHARE).change,
        );
        let without = add(
            &cover,
            &pattern(&cover, &key, &payload, &settings, 0.0).change,
        );
        // The threshold is above the fair-coin null's 1e-5 score.
        let null = crate::watermark::histogram::detect::score_for_tail(1e-5);
        assert!(
            (4.5..4.55).contains(&null)
                && CONTENT_BINDING
                    .iter()
                    .all(|tier| f64::from(tier.score) > null)
        );
        let found = extract(&with, &key);
        assert_eq!(found.payload, Some(payload), "{found:?}");
        assert!(found.content_binds(), "{found:?}");
        let plain = extract(&without, &key);
        assert_eq!(plain.payload, Some(payload), "{plain:?}");
        assert!(plain.content_score.unwrap().abs() < 3.0, "{plain:?}");
        // The residual of the marked image (minus its 1.5-pixel blur) on the hosts, twice and
        // six times.
        let low = crate::watermark::signal::gaussian_blur(&with, 1.5);
        let forge = |host: &Plane, gain: f32| {
            let residual: Vec<f32> = with
                .data
                .iter()
                .zip(&low.data)
                .map(|(m, l)| gain * (m - l))
                .collect();
            extract(&add(host, &residual), &key)
        };
        assert!(found.content_share.unwrap() > 0.9, "{found:?}");
        for gain in [2.0, 6.0] {
            let forged = forge(&host, gain);
            assert_eq!(forged.payload, Some(payload), "{forged:?}");
            assert!(!forged.content_binds(), "{forged:?}");
            assert!(forged.content_share.unwrap().abs() < 0.1, "{forged:?}");
        }
        // On the host that shows the cover's scene in a quarter, the score grows with the
        // residual's amplitude (measured: 11.7 at x2, 15.1 at x6, over the score that binds)
        // while the share stays at the quarter's agreement: it is what stops the forgery.
        let (twice, six) = (forge(&partly, 2.0), forge(&partly, 6.0));
        assert!(six.content_score > twice.content_score, "{twice:?} {six:?}");
        assert!(
            six.content_score.unwrap() >= CONTENT_BINDING_SCORE,
            "{six:?}"
        );
        for forged in [twice, six] {
            assert_eq!(forged.payload, Some(payload), "{forged:?}");
            assert!(
                (0.1..0.35).contains(&forged.content_share.unwrap()),
                "{forged:?}"
            );
            assert!(!forged.content_binds(), "{forged:?}");
        }
        // On a blank canvas the forgery is the residual alone: amplified, it pushes a few of
        // its own differences of Gaussians out of the dead zone, and those signs agree with
        // the cover's. Its share is as high as a genuine read's at a low score, its coverage
        // a small part of the genuine mark's (measured: shares 0.60, 0.61 and 0.69, coverages
        // 0.005, 0.02 and 0.19 at x8, x16 and x32). At x32 the score (16.1) and the share
        // reach the covered tier and only the coverage keeps it off; the first tier binds that
        // sketch, as it binds the one of a photo (the threat model's amplified sketch).
        let [.., covered] = CONTENT_BINDING;
        assert!(
            found.content_coverage.unwrap() >= covered.coverage,
            "{found:?}"
        );
        let blank = Plane::from_fn(600, 500, |_, _| 128.0);
        for gain in [8.0, 16.0, 32.0] {
            let forged = forge(&blank, gain);
            assert_eq!(forged.payload, Some(payload), "{forged:?}");
            assert!(forged.content_share.unwrap() > 0.5, "{forged:?}");
            assert!(
                forged.content_coverage.unwrap() < covered.coverage / 2.0,
                "{forged:?}"
            );
            if gain < 32.0 {
                assert!(!forged.content_binds(), "{forged:?}");
            } else {
                assert!(forged.content_score.unwrap() >= covered.score, "{forged:?}");
                assert!(forged.content_share.unwrap() >= covered.share, "{forged:?}");
            }
        }
    }

    /// On a mark made with the content term, buried in noise, the matched filter's soft bits
    /// agree with the coded bits better than the plain cell sums do, on the mark's own
    /// placement: it gathers the term's share of the energy.
    #[test]
    fn the_matched_filter_gathers_the_content_term() {
        let key = Key::from_secret(b"secret").unwrap();
        let payload = Payload(std::array::from_fn(|i| i as u8 * 5));
        let mut state = 7u32;
        let mut noise = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let cover = Plane::from_fn(640, 512, |x, y| {
            110.0 + 60.0 * ((x as f32 / 31.0).sin() * (y as f32 / 19.0).cos())
        });
        let delta = pattern(&cover, &key, &payload, &Default::default(), content::SHARE).change;
        let marked = Plane::from_fn(640, 512, |x, y| {
            let i = y * 640 + x;
            cover.data[i] + delta[i] + 80.0 * noise()
        });
        let pilots = Pilots::new(&key);
        let residual = whitened_residual(&marked);
        let period = (TILE_CELLS * cell_side(640, 512)) as f32;
        let lattice = Lattice::axis_aligned(period);
        let candidate = pilots.candidate(fold(&residual, &lattice, 1), lattice, 0);
        let coded = ecc::encode(&crate::watermark::pattern::tile::message(&key, &payload));
        let agreement = |sums: &[f32]| {
            let soft = soft_bits(&pilots.layout, sums);
            soft.iter()
                .zip(&coded)
                .map(|(v, &bit)| if bit { *v } else { -*v })
                .sum::<f32>()
                / soft.len() as f32
        };
        let content = pilots.content_sums(&marked, &residual, &candidate);
        let sums = cell_sums(&candidate.tile(), candidate.shift);
        let plain = agreement(&sums);
        let matched = agreement(&matched_sums(&sums, &content, &pilots.content_keys));
        // Measured: 0.188 and 0.203, one cell per coded bit (0.34 and 0.39 when each coded bit
        // summed about four cells, with the convolutional code).
        assert!(plain > 0.15 && matched > plain * 1.05, "{plain} {matched}");
    }

    /// A plane large enough for 4-pixel cells: the pyramid reads the payload at the level
    /// where a cell is 2 samples, also after a crop.
    #[test]
    fn round_trip_with_coarse_cells() {
        let key = Key::from_secret(b"secret").unwrap();
        let payload = Payload(std::array::from_fn(|i| i as u8 * 5));
        let (w, h) = (1800, 1200);
        assert_eq!(cell_side(w, h), 4);
        let mut state = 7u32;
        let luma = Plane::from_fn(w, h, |x, y| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            100.0
                + 40.0 * ((x as f32 / 97.0).sin() * (y as f32 / 53.0).cos())
                + (state >> 24) as f32 / 16.0
        });
        let delta = pattern(&luma, &key, &payload, &PatternSettings::default(), 0.0).change;
        let marked = Plane::from_fn(w - 101, h - 37, |x, y| {
            let i = (y + 37) * w + x + 101;
            (luma.data[i] + delta[i]).round()
        });
        let found = extract(&marked, &key);
        assert_eq!(found.payload, Some(payload), "{found:?}");
        let unmarked = extract(&luma, &key);
        assert!(!unmarked.mark_present(), "{unmarked:?}");
    }
}
