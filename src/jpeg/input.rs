//! Byte sources for the segment walker: any `Read`, with a cheaper skip when it can also seek.

use std::io::{self, BufRead, BufReader, Read, Seek};

/// A buffered byte source that can skip ahead. Skipping by seeking keeps a header-only question
/// from reading a 60 KiB EXIF block it does not care about.
pub trait Input: BufRead {
    /// Moves `n` bytes forward; returns how many were actually there (fewer at end of file, where
    /// it is known).
    fn skip(&mut self, n: u64) -> io::Result<u64>;

    /// Moves to `offset` bytes from where the input started, backwards or forwards, for the
    /// decoders that read a file in several passes. Inputs that cannot seek refuse.
    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        let _ = offset;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this input cannot be read twice (a pipe); decoding it in bands needs a file",
        ))
    }
}

impl<T: Input + ?Sized> Input for Box<T> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        (**self).skip(n)
    }
    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        (**self).seek_to(offset)
    }
}

/// Any reader; skipping reads and discards.
pub struct Streamed<R>(BufReader<R>);

impl<R: Read> Streamed<R> {
    /// Wraps `reader` in an 8 KiB buffer.
    pub fn new(reader: R) -> Self {
        Streamed(BufReader::with_capacity(8 * 1024, reader))
    }
}

impl<R: Read> Read for Streamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> BufRead for Streamed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.0.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.0.consume(amt)
    }
}

impl<R: Read> Input for Streamed<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        io::copy(&mut (&mut self.0).take(n), &mut io::sink())
    }
}

/// A reader that can seek (a file); skipping seeks past what is not buffered.
pub struct Seekable<R> {
    reader: BufReader<R>,
    /// Stream length, learnt once, so that a skip past the end is seen as a truncation.
    len: Option<u64>,
    /// Position of the reader when it was wrapped: offset 0 of `seek_to`.
    start: u64,
}

impl<R: Read + Seek> Seekable<R> {
    /// Wraps `reader` in an 8 KiB buffer; skips seek.
    pub fn new(reader: R) -> Self {
        Self::with_capacity(8 * 1024, reader)
    }

    /// A larger buffer pays off when the whole file will be read (the pass to EOI).
    pub fn with_capacity(capacity: usize, mut reader: R) -> Self {
        let len = stream_len(&mut reader).ok();
        let start = reader.stream_position().unwrap_or(0);
        Seekable {
            reader: BufReader::with_capacity(capacity, reader),
            len,
            start,
        }
    }

    /// [`Seekable::with_capacity`] for a reader at its start whose length the caller already
    /// knows (a file's metadata): saves the three seeks that learn it, a third of the system
    /// calls of a header-only read.
    pub fn with_len(capacity: usize, reader: R, len: u64) -> Self {
        Seekable {
            reader: BufReader::with_capacity(capacity, reader),
            len: Some(len),
            start: 0,
        }
    }

    /// Gives back the reader, positioned after the last byte consumed.
    pub fn into_inner(mut self) -> io::Result<R> {
        // Undo read-ahead so the caller's position matches what the walker consumed.
        let buffered = self.reader.buffer().len() as i64;
        self.reader.seek_relative(-buffered)?;
        Ok(self.reader.into_inner())
    }
}

/// The stream's length, leaving its position where it was.
fn stream_len<R: Seek>(reader: &mut R) -> io::Result<u64> {
    let pos = reader.stream_position()?;
    let len = reader.seek(io::SeekFrom::End(0))?;
    reader.seek(io::SeekFrom::Start(pos))?;
    Ok(len)
}

impl<R: Read> Read for Seekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl<R: Read> BufRead for Seekable<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.reader.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt)
    }
}

impl<R: Read + Seek> Input for Seekable<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let buffered = self.reader.buffer().len() as u64;
        if n <= buffered {
            self.reader.consume(n as usize);
            return Ok(n);
        }
        // Never seek past the end: report what was really there, as a streamed read would.
        let n = match self.len {
            Some(len) => n.min(len.saturating_sub(self.reader.stream_position()?)),
            // Not seekable after all (a pipe or /dev/stdin opened as a file): read and discard.
            None => return io::copy(&mut (&mut self.reader).take(n), &mut io::sink()),
        };
        let offset = i64::try_from(n).map_err(|_| io::ErrorKind::InvalidInput)?;
        self.reader.seek_relative(offset)?;
        Ok(n)
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        let target = self
            .start
            .checked_add(offset)
            .ok_or(io::ErrorKind::InvalidInput)?;
        // Within the buffer (a band that ends near where the next scan's data starts) the
        // buffered bytes are kept; otherwise BufReader's seek drops them.
        let here = self.reader.stream_position()?;
        let delta = i64::try_from(i128::from(target) - i128::from(here))
            .map_err(|_| io::ErrorKind::InvalidInput)?;
        self.reader.seek_relative(delta)
    }
}

/// Keeps the byte offset of everything consumed, for error messages and scan accounting.
pub(crate) struct Cursor<I> {
    pub(crate) input: I,
    pub(crate) offset: u64,
    /// The offset past which the marker search and skips stop with an error: the most the
    /// image's coded data can take (see [`super::max_data_bytes`]), so that an endless stream
    /// ends. `u64::MAX` until the header is read.
    pub(crate) limit: u64,
}

impl<I: Input> Cursor<I> {
    pub(crate) fn new(input: I) -> Self {
        Cursor {
            input,
            offset: 0,
            limit: u64::MAX,
        }
    }

    /// An error once more than `limit` bytes have been consumed.
    pub(crate) fn check_limit(&self) -> io::Result<()> {
        if self.offset <= self.limit {
            return Ok(());
        }
        Err(io::Error::other(crate::Error::LimitExceeded {
            what: "file offset (more than the image's blocks can code, plus --max-metadata)",
            value: self.offset,
            limit: self.limit,
        }))
    }

    /// Reads one byte, or `None` at end of input.
    pub(crate) fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let buf = loop {
            match self.input.fill_buf() {
                Ok(buf) => break buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let Some(&byte) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        self.offset += 1;
        Ok(Some(byte))
    }

    /// Fills `buf` completely, or returns `false` (having consumed what there was) at end of input.
    pub(crate) fn read_full(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.input.read(&mut buf[filled..]) {
                Ok(0) => {
                    self.offset += filled as u64;
                    return Ok(false);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.offset += filled as u64;
        Ok(true)
    }

    /// Moves to `offset` (see [`Input::seek_to`]).
    pub(crate) fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.input.seek_to(offset)?;
        self.offset = offset;
        Ok(())
    }

    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let skipped = self.input.skip(n)?;
        self.offset += skipped;
        self.check_limit()?;
        Ok(skipped)
    }
}
