//! jpgtool works on JPEG files in their own domain — markers, quantization tables, DCT
//! coefficients — instead of decoding them to pixels first.
//!
//! ```
//! // The quality of a JPEG, from its headers alone.
//! let bytes = std::fs::read("corpus/sample-q75.jpg")?;
//! let header = jpgtool::jpeg::read_header(&bytes[..])?;
//! let estimate = jpgtool::quality::estimate(&header);
//! assert_eq!(estimate.family, jpgtool::quality::Family::Ijg);
//! assert_eq!(estimate.quality.map(|q| q.min), Some(75.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`inspect_file`] (from [`quality`]) gives one file's header facts, quality estimate and bits
//! per pixel, as `jpgtool quality` reports them.

#![warn(missing_docs)]

pub mod atomic;
pub mod codec;
pub mod error;
pub mod jpeg;
pub mod limits;
pub mod quality;
pub mod recompress;
pub(crate) mod reencode;
pub mod shrink;
pub mod watermark;

pub use error::{Error, Problem, Result};
pub use limits::Limits;
pub use quality::{Inspection, inspect_bytes, inspect_file, inspect_file_with};
