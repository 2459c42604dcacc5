//! Layer 2, the payload layer: the whole 32-byte payload, blind, after rotation, scaling,
//! stretching, crops, flips and the downscale and re-encode of a photo site.
//!
//! The payload and a keyed tag are coded with a punctured polar code (`ecc`) and spread over
//! a keyed tile of 64 x 64 cells (`tile`), each cell a box of 2 to 16 pixels that grows with
//! the image (`tile::cell_side`), so that it is still about 2 pixels wide after a downscale to
//! a 720-pixel long side. An eighth of the cells are pilots with known keyed signs; each other
//! cell carries one coded bit times a keyed sign. A payload whose last 16 bytes are zero is
//! sent as its first 16 bytes and a longer tag (`tile::Code`), fewer message bits that read
//! through more damage. The tile is repeated over the whole image, its amplitude following
//! local texture (flat areas get the least).
//!
//! The detector (`extract`) searches a pyramid of box-decimated luma (factors 8, 4, 2, 1): at
//! one level a cell is about 2 samples wide whatever its size and whatever scale the image
//! went through. On each level it high-passes and whitens luma, finds the repetition
//! lattice in its autocorrelation (`sync`), folds every pixel into one tile through the
//! inverse of the lattice's map, finds the tile's phase and symmetry by correlating with the
//! pilots (`phase`), passes the cell sums through an equaliser fitted on the pilots
//! (`equalize`), and soft-decodes the few best candidates, keeping the 11 likeliest messages
//! of each, decoded as a whole payload and as a short one. It reports a payload only when the
//! tag verifies: the tag is 48 bits (56 for a short payload) and at most `MAX_CANDIDATES` x
//! `LIST` x 4 levels = 264 messages are checked each way, so a wrong payload comes out with
//! probability under 9.4e-13 per image ([`FALSE_POSITIVE_BOUND`]).

pub(crate) mod content;
pub(crate) mod ecc;
mod equalize;
pub(crate) mod extract;
mod fold;
mod phase;
pub(crate) mod sync;
pub(crate) mod tile;

pub use extract::{
    CLAIMED_FALSE_POSITIVE_BOUND, CONTENT_BINDING, CONTENT_BINDING_SCORE, ContentTier, Extraction,
    FALSE_POSITIVE_BOUND, ONE_PAYLOAD_MIN_Z, PRESENT_MIN_PILOT, content_binding_rule, extract,
    extract_claimed, score_and_share_rule,
};
pub(crate) use extract::{extract_bound_by, extract_for_refusal};
pub use sync::Lattice;
pub use tile::PatternSettings;
pub(crate) use tile::{pattern, pattern_sent_as};
