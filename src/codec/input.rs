//! The adapters that feed libjpeg: a header read once by our own parser and replayed, and a
//! buffer that hands libjpeg the same input however the reader splits it.

use std::io::{self, BufRead, Read};

use crate::error::{Error, Result};
use crate::jpeg::{self, Header, Parser, Streamed};
use crate::limits::{Limits, MAX_HEADER_TABLE_BYTES};

/// A JPEG whose header has been parsed; `replay()` gives libjpeg the whole stream.
pub(crate) struct Source<R> {
    pub header: Header,
    /// The bytes read to parse the header (SOI up to the first scan).
    pub prefix: Vec<u8>,
    rest: R,
    max_scans: u32,
    /// The most bytes libjpeg may read, header included (see [`jpeg::max_data_bytes`]).
    max_bytes: u64,
}

impl<R: Read> Source<R> {
    /// Reads the header of `input` ahead of libjpeg, so that any `Read` works and a bad header
    /// never reaches it; the bytes read are kept for `replay()`. The parser refuses more than
    /// `limits.max_metadata` bytes of APPn/COM segments and more than
    /// [`MAX_HEADER_TABLE_BYTES`] of anything else before the first scan, so the recorded header
    /// is bounded by their sum (plus the read-ahead, which the recorder also bounds).
    pub(crate) fn read(input: R, limits: &Limits) -> Result<Self> {
        let mut recorder = Recorder::new(input, header_bytes_bound(limits));
        let header = Parser::new(Streamed::new(&mut recorder))
            .with_limits(limits)
            .read_header()?;
        let (prefix, rest) = recorder.into_parts();
        let max_bytes = (header.scan_offset)
            .saturating_add(jpeg::max_data_bytes(&header.frame, limits))
            .saturating_add(READ_AHEAD);
        Ok(Source {
            header,
            prefix,
            rest,
            max_scans: limits.max_scans,
            max_bytes,
        })
    }

    /// The input after what the header parse read (for a caller that will seek it).
    pub(crate) fn into_rest(self) -> R {
        self.rest
    }

    /// The whole stream again, through a buffer whose boundaries do not depend on read sizes
    /// and which stops the stream after `limits.max_scans` scans.
    ///
    /// The metadata libjpeg has no use for (every APPn and COM segment but JFIF's APP0 and
    /// Adobe's APP14, which set the density and the colour transform) is cut out of the header
    /// first, so that the decode does not hold a second copy of what a re-encoding command
    /// carries (taken before, with `kept_markers`); up to `--max-metadata` of it.
    ///
    /// Progressive frames are replayed whole: the band decoder reads the header again from the
    /// replay and refuses one that differs from the first reading.
    pub(crate) fn replay(mut self) -> FullBuffer<io::Chain<io::Cursor<Vec<u8>>, R>> {
        let mut removed = 0;
        if self.header.frame.kind.process() != jpeg::Process::Progressive {
            removed = jpeg::metadata::remove_segments(&mut self.prefix, |code| {
                code == jpeg::markers::APP0 || code == jpeg::markers::APP0 + 14
            });
            self.prefix.shrink_to_fit();
        }
        FullBuffer::new(
            io::Cursor::new(self.prefix).chain(self.rest),
            READ_AHEAD as usize,
        )
        .with_max_scans(self.max_scans)
        .with_max_bytes(self.max_bytes.saturating_sub(removed as u64))
    }
}

/// The replay buffer's size: libjpeg may be handed this much past the bytes it needs.
const READ_AHEAD: u64 = 256 << 10;

/// The most header bytes the recorder keeps: what the parser accepts before the first scan,
/// plus one segment (checked after it is read) and the parser's 8 KiB read-ahead.
fn header_bytes_bound(limits: &Limits) -> u64 {
    limits
        .max_metadata
        .saturating_add(MAX_HEADER_TABLE_BYTES)
        .saturating_add(128 << 10)
}

/// Passes reads through while keeping a copy of everything read, so that bytes consumed to
/// parse the header can be replayed to libjpeg. Refuses headers above `limit` bytes.
struct Recorder<R> {
    inner: R,
    seen: Vec<u8>,
    limit: u64,
}

impl<R: Read> Recorder<R> {
    fn new(inner: R, limit: u64) -> Self {
        Recorder {
            inner,
            seen: Vec::new(),
            limit,
        }
    }

    fn into_parts(self) -> (Vec<u8>, R) {
        (self.seen, self.inner)
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.seen.len() as u64 >= self.limit {
            return Err(io::Error::other(Error::LimitExceeded {
                what: "header bytes before the first scan",
                value: self.seen.len() as u64,
                limit: self.limit,
            }));
        }
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A `BufRead` that refills its whole buffer before handing it out, so the decoder sees the same
/// buffer boundaries whatever sizes the underlying reader returns. libjpeg-turbo takes its fast
/// Huffman path only when its input buffer holds enough bytes, and on damaged data the fast and
/// slow paths differ (pixels, warnings); with `BufReader`, a pipe's short reads would give a
/// different output than a file.
///
/// It also counts scans as they pass: every `FF DA` in the stream is an SOS marker (entropy-coded
/// data stuffs its `FF` bytes; an embedded thumbnail's scans count too, which errs on the safe
/// side). libjpeg makes a pass over the image per scan and has no limit of its own, so a small
/// file with thousands of empty scans would keep it busy for minutes.
pub(crate) struct FullBuffer<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// An error met after a partial fill, reported once the bytes before it are consumed.
    pending: Option<io::Error>,
    scans: u32,
    max_scans: u32,
    /// Bytes handed out so far, and the most allowed (an endless stream ends there).
    total: u64,
    max_bytes: u64,
    /// The last byte of the previous fill was `FF` (a marker split across fills).
    ends_with_ff: bool,
}

impl<R: Read> FullBuffer<R> {
    pub(crate) fn new(inner: R, capacity: usize) -> Self {
        FullBuffer {
            inner,
            buf: vec![0; capacity],
            pos: 0,
            len: 0,
            pending: None,
            scans: 0,
            max_scans: u32::MAX,
            total: 0,
            max_bytes: u64::MAX,
            ends_with_ff: false,
        }
    }

    pub(crate) fn with_max_scans(mut self, max_scans: u32) -> Self {
        self.max_scans = max_scans;
        self
    }

    pub(crate) fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Counts the bytes just filled; an error once there are more than the image can take.
    fn count_bytes(&mut self) -> io::Result<()> {
        self.total = self.total.saturating_add(self.len as u64);
        if self.total > self.max_bytes {
            return Err(super::source_error(Error::LimitExceeded {
                what: "input bytes (more than the image's blocks can code, plus --max-metadata)",
                value: self.total,
                limit: self.max_bytes,
            }));
        }
        Ok(())
    }

    /// Counts the SOS markers in the bytes just filled; an error once there are too many.
    fn count_scans(&mut self) -> io::Result<()> {
        let filled = &self.buf[..self.len];
        let Some(&last) = filled.last() else {
            return Ok(());
        };
        let split = self.ends_with_ff && filled[0] == 0xDA;
        let within = memchr::memmem::find_iter(filled, &[0xFF, 0xDA]).count();
        self.scans = self
            .scans
            .saturating_add(u32::from(split))
            .saturating_add(u32::try_from(within).unwrap_or(u32::MAX));
        self.ends_with_ff = last == 0xFF;
        if self.scans > self.max_scans {
            return Err(super::source_error(Error::LimitExceeded {
                what: "scan count",
                value: self.scans.into(),
                limit: self.max_scans.into(),
            }));
        }
        Ok(())
    }
}

impl<R: Read> Read for FullBuffer<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for FullBuffer<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            if let Some(err) = self.pending.take() {
                return Err(err);
            }
            self.pos = 0;
            self.len = 0;
            while self.len < self.buf.len() {
                match self.inner.read(&mut self.buf[self.len..]) {
                    Ok(0) => break,
                    Ok(n) => self.len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if self.len > 0 => {
                        self.pending = Some(e);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            self.count_bytes()?;
            self.count_scans()?;
        }
        Ok(&self.buf[self.pos..self.len])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_stops_an_endless_stream() {
        let endless = io::repeat(7);
        let mut buffer = FullBuffer::new(endless, 4096).with_max_bytes(10_000);
        let mut sink = Vec::new();
        let err = io::copy(&mut buffer, &mut sink).unwrap_err();
        assert!(err.to_string().contains("input bytes"), "{err}");
        assert!(sink.len() <= 10_000);
    }

    #[test]
    fn the_recorded_header_is_bounded_by_the_metadata_limit() {
        // SOI, then 6.5 MB of COM segments: refused once they pass --max-metadata (1 MiB),
        // having read no more than the limit, one segment and the parser's read-ahead.
        let mut com = vec![0xFF, 0xFE, 0xFF, 0xFF];
        com.resize(65537, b'c');
        let mut file = vec![0xFF, 0xD8];
        file.extend(std::iter::repeat_n(com, 100).flatten());
        let limits = Limits {
            max_metadata: 1 << 20,
            ..Limits::default()
        };
        let mut input = &file[..];
        match Source::read(&mut input, &limits) {
            Err(Error::LimitExceeded { limit, .. }) => assert_eq!(limit, 1 << 20),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted"),
        }
        let read = (file.len() - input.len()) as u64;
        assert!(read <= (1 << 20) + 65537 + 8192, "{read} bytes read");
    }
}
