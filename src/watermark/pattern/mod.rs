//! Layer 2, the payload layer: the whole 32-byte payload, blind, after rotation, scaling,
//! stretching, crops and flips.
//!
//! The payload and a keyed tag are convolutionally coded (`ecc`) and spread over a keyed
//! tile of 64 x 64 cells (`tile`), each cell one sample of the level-1 Haar approximation
//! band (2 x 2 pixels). An eighth of the cells are pilots with known keyed signs; every other
//! cell carries one coded bit times a keyed sign, each coded bit in three or four cells. The
//! tile is repeated over the whole image, its amplitude following local texture (flat areas
//! get the least).
//!
//! The detector (`extract`) high-passes and whitens luma, finds the repetition
//! lattice in its autocorrelation (`sync`), folds every pixel into one tile through the
//! inverse of the lattice's map, finds the tile's phase and symmetry by correlating with the
//! pilots, and soft-decodes the few best candidates, keeping the 16 likeliest messages of each.
//! It reports a payload only when the tag verifies: the tag is 48 bits and at most
//! `MAX_CANDIDATES` x `LIST` = 96 messages are checked, so a wrong payload comes out with
//! probability under 2^-41.4 per image ([`FALSE_POSITIVE_BOUND`]).

pub(crate) mod ecc;
pub(crate) mod extract;
pub(crate) mod sync;
pub(crate) mod tile;

pub use extract::{Extraction, FALSE_POSITIVE_BOUND, PRESENT_MIN_PILOT, extract};
pub use sync::Lattice;
pub use tile::PatternSettings;
pub(crate) use tile::pattern;
