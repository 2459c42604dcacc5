//! One error type for the library, sorted by whose fault the failure is.

use std::fmt;
use std::io;

/// Everything the library can fail with. The binary adds the file name with `anyhow` context.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are another image format (or not an image at all), named when recognised.
    #[error("not a JPEG file: {0}")]
    NotJpeg(&'static str),

    /// The JPEG stream breaks a rule of ITU-T T.81 that we cannot work around.
    #[error("malformed JPEG at byte {offset} in {segment}: {problem}")]
    Format {
        offset: u64,
        segment: &'static str,
        problem: Problem,
    },

    /// The stream ended before the part we needed.
    #[error("file ends early: needed more bytes at byte {offset} in {segment}")]
    Truncated { offset: u64, segment: &'static str },

    /// A valid JPEG feature that this stage does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A size or count above the configured [`Limits`](crate::Limits).
    #[error("{what} is {value}, above the limit of {limit} (raise it with the matching option)")]
    LimitExceeded {
        what: &'static str,
        value: u64,
        limit: u64,
    },

    /// The C codec (libjpeg, through the mozjpeg crate) stopped on the data; its own message.
    #[error("libjpeg: {0}")]
    Codec(String),

    /// The image cannot carry a watermark with margin (too small, flat, dark or bright).
    #[error("cannot mark this image: {0}")]
    CannotMark(String),
    /// The image already carries a mark under this key (layer 2's pattern stands out, or its
    /// payload reads back): a second payload would leave neither readable blind.
    #[error(
        "already marked under this key (pilot score {pilot_score:.1}{}): a second mark would \
         leave neither payload readable",
        if *payload_found { ", a payload reads back" } else { "" }
    )]
    AlreadyMarked {
        pilot_score: f32,
        payload_found: bool,
    },
    /// Stopped on request (Ctrl-C) before the output was complete.
    #[error("interrupted")]
    Interrupted,

    /// The operating system failed us.
    #[error("I/O error: {0}")]
    Io(io::Error),
}

// Not `#[from]`: that would also make the io::Error the `source`, and `{:#}` would print its
// message twice.
impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

/// What exactly is wrong with a malformed segment; kept as data so tests and callers can match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The first two bytes are not SOI (0xFFD8).
    NoSoi,
    /// A segment length field below 2 or past the data it should cover.
    BadLength(u16),
    /// A field holds a value that the standard does not allow.
    BadValue { field: &'static str, value: u32 },
    /// A second SOF, or a second SOI before the first scan.
    Duplicate(&'static str),
    /// A segment that must come earlier is missing.
    Missing(&'static str),
    /// A scan names a component that the frame does not have.
    UnknownComponent(u8),
    /// A component refers to a quantization table that was never defined.
    UndefinedTable(u8),
    /// A quantization table entry of zero, which would divide by zero.
    ZeroQuantizer { table: u8 },
    /// Huffman code counts that add up to more codes than values or than fit in 16 bits.
    BadHuffmanTable,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoSoi => write!(f, "does not start with the SOI marker"),
            Problem::BadLength(len) => write!(f, "segment length {len} does not fit its content"),
            Problem::BadValue { field, value } => write!(f, "invalid {field} = {value}"),
            Problem::Duplicate(what) => write!(f, "a second {what}"),
            Problem::Missing(what) => write!(f, "{what} is missing"),
            Problem::UnknownComponent(id) => write!(f, "component {id} is not in the frame"),
            Problem::UndefinedTable(id) => write!(f, "quantization table {id} is not defined"),
            Problem::ZeroQuantizer { table } => {
                write!(f, "quantization table {table} holds a zero entry")
            }
            Problem::BadHuffmanTable => write!(f, "Huffman code counts are inconsistent"),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
