//! One error type for the library, sorted by whose fault the failure is.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything the library can fail with. The binary adds the file name with `anyhow` context.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are another image format (or not an image at all), named when recognised.
    #[error("not a JPEG file: {0}")]
    NotJpeg(&'static str),

    /// The JPEG stream breaks a rule of ITU-T T.81 that we cannot work around.
    #[error("malformed JPEG at byte {offset} in {segment}: {problem}")]
    Format {
        /// File offset of the offending byte or segment.
        offset: u64,
        /// The segment or structure being read (e.g. `DQT`, `scan data`).
        segment: &'static str,
        /// What is wrong.
        problem: Problem,
    },

    /// The stream ended before the part we needed.
    #[error("file ends early: needed more bytes at byte {offset} in {segment}")]
    Truncated {
        /// File offset where more bytes were needed.
        offset: u64,
        /// The segment or structure being read.
        segment: &'static str,
    },

    /// A valid JPEG feature that this stage does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A size or count above the configured [`Limits`](crate::Limits).
    #[error("{what} is {value}, above the limit of {limit} (raise it with the matching option)")]
    LimitExceeded {
        /// What was measured (e.g. `pixel count`).
        what: &'static str,
        /// The value the file asked for.
        value: u64,
        /// The configured bound it exceeds.
        limit: u64,
    },

    /// The C codec (libjpeg, through the mozjpeg crate) stopped on the data; its own message.
    #[error("libjpeg: {0}")]
    Codec(String),

    /// The image cannot carry a watermark with margin (too small, flat, dark or bright).
    #[error("cannot mark this image: {0}")]
    CannotMark(String),
    /// The image already carries a mark under this key (layer 2's pattern stands out, or its
    /// payload reads back): a second payload would mark over the first.
    #[error(
        "already marked under this key (pilot score {pilot_score:.1}{}): a second mark would \
         hide the first payload",
        if *payload_found { ", a payload reads back" } else { "" }
    )]
    AlreadyMarked {
        /// The pilot score of the pattern found.
        pilot_score: f32,
        /// Whether a payload's tag also verified.
        payload_found: bool,
    },
    /// Stopped by a signal (SIGINT, SIGTERM, SIGHUP) before the output was complete.
    #[error("interrupted")]
    Interrupted,

    /// The output file could not be written, synced or given its name (a full disk, a quota,
    /// a read-only folder); names the output, since the input was fine.
    #[error("cannot write {}: {err}", path.display())]
    Output {
        /// The output path.
        path: PathBuf,
        /// What the operating system said.
        err: io::Error,
    },

    /// The operating system failed us. Shown as its own message ("No such file or directory
    /// (os error 2)"): the binary puts the file name in front, and a prefix added nothing.
    #[error("{0}")]
    Io(io::Error),
}

// Not `#[from]`: that would also make the io::Error the `source`, and `{:#}` would print its
// message twice.
// An io::Error that carries one of ours (a limit that a reader adapter enforces, returned as
// `io::Error::other(Error::LimitExceeded { .. })`) becomes that error again, so the message is
// "scan count is ..." and not "I/O error: scan count is ...".
impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        if !err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(err);
        }
        match err.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(ours)) => *ours,
            _ => unreachable!("the inner error was checked to be ours"),
        }
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
    BadValue {
        /// The field's name as T.81 gives it.
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// A second SOF, or a second SOI before the first scan.
    Duplicate(&'static str),
    /// A segment that must come earlier is missing.
    Missing(&'static str),
    /// A scan names a component that the frame does not have.
    UnknownComponent(u8),
    /// A component refers to a quantization table that was never defined.
    UndefinedTable(u8),
    /// A quantization table entry of zero, which would divide by zero.
    ZeroQuantizer {
        /// The table slot, 0..=3.
        table: u8,
    },
    /// Huffman code counts that add up to more codes than values or than fit in 16 bits.
    BadHuffmanTable,
    /// More than [`MAX_HEADER_TABLE_BYTES`](crate::limits::MAX_HEADER_TABLE_BYTES) of tables,
    /// unknown segments and stray bytes before the first scan (a flood of table segments).
    HeaderFlood {
        /// Bytes read so far that are not metadata.
        bytes: u64,
        /// The fixed bound.
        limit: u64,
    },
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
            Problem::HeaderFlood { bytes, limit } => write!(
                f,
                "{bytes} bytes of tables, unknown segments or stray data before the first scan, \
                 above the fixed bound of {limit} (real headers take a few KiB)"
            ),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
