//! What every command that decodes a JPEG and writes a new one shares: reading the header
//! ahead of libjpeg (so any `Read` works and bad headers never reach it), refusing what libjpeg
//! must not see, and choosing the output's quality, sampling and metadata.

use std::io::{self, BufRead, Read};

use crate::error::{Error, Result};
use crate::jpeg::{self, Header, Process, metadata};
use crate::limits::Limits;

/// A JPEG whose header has been parsed and checked; `replay()` gives libjpeg the whole stream.
pub(crate) struct Source<R> {
    pub header: Header,
    /// The bytes read to parse the header (SOI up to the first scan).
    pub prefix: Vec<u8>,
    rest: R,
    max_scans: u32,
}

/// Reads and checks the header of `input`: lossless, hierarchical, 12-bit, DNL-height and
/// 2-component files are refused, and so are dimensions over `limits`.
pub(crate) fn read_source<R: Read>(input: R, limits: &Limits) -> Result<Source<R>> {
    let mut recorder = Recorder::new(input, limits.max_alloc);
    let header = jpeg::read_header(&mut recorder)?;
    let (prefix, rest) = recorder.into_parts();
    check_supported(&header, limits)?;
    Ok(Source {
        header,
        prefix,
        rest,
        max_scans: limits.max_scans,
    })
}

impl<R: Read> Source<R> {
    /// The whole stream again, through a buffer whose boundaries do not depend on read sizes
    /// and which stops the stream after `limits.max_scans` scans.
    pub(crate) fn replay(self) -> FullBuffer<io::Chain<io::Cursor<Vec<u8>>, R>> {
        FullBuffer::new(io::Cursor::new(self.prefix).chain(self.rest), 256 << 10)
            .with_max_scans(self.max_scans)
    }

    /// APPn/COM segments worth copying into a re-encoded file, EXIF dimensions set to `size`.
    pub(crate) fn kept_markers(&self, size: (u32, u32)) -> Vec<(u8, Vec<u8>)> {
        let mut markers: Vec<(u8, Vec<u8>)> = metadata::collect_segments(&self.prefix)
            .into_iter()
            .filter(|(code, payload)| metadata::keep_when_reencoding(*code, payload))
            .collect();
        for (code, payload) in &mut markers {
            if *code == jpeg::markers::APP0 + 1 {
                metadata::set_exif_dimensions(payload, size.0, size.1);
            }
        }
        markers
    }
}

/// The output quality: the one given, else the source's estimated quality (see
/// [`crate::quality`]), else 85 when its tables say nothing.
pub(crate) fn choose_quality(header: &Header, given: Option<u8>) -> (u8, QualitySource) {
    match given {
        Some(q) => (q.clamp(1, 100), QualitySource::Given),
        None => match crate::quality::estimate(header).decision_quality(false, 0.0) {
            Some(q) => ((q.round() as u8).clamp(1, 100), QualitySource::Estimated),
            None => (85, QualitySource::Fallback),
        },
    }
}

/// Chroma sampling of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// The input's own sampling factors. Default.
    #[default]
    Keep,
    /// Full-resolution chroma.
    S444,
    /// Chroma halved horizontally.
    S422,
    /// Chroma halved both ways.
    S420,
    /// Chroma halved vertically.
    S440,
}

/// Where the output quality came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualitySource {
    Given,
    /// From the source's tables (see [`crate::quality`]).
    Estimated,
    /// The tables were not enough to tell; 85 was used.
    Fallback,
}

/// Refuses, before libjpeg sees it, what it cannot decode or what the limits forbid.
pub(crate) fn check_supported(header: &Header, limits: &Limits) -> Result<()> {
    let frame = &header.frame;
    if frame.kind.process() == Process::Lossless {
        return Err(Error::Unsupported(format!(
            "lossless JPEG ({})",
            frame.kind.name()
        )));
    }
    if header.hierarchical || frame.kind.is_hierarchical() {
        return Err(Error::Unsupported("hierarchical JPEG".into()));
    }
    if frame.precision != 8 {
        return Err(Error::Unsupported(format!(
            "{}-bit samples (only 8-bit JPEG can be shrunk)",
            frame.precision
        )));
    }
    if frame.height == 0 {
        return Err(Error::Unsupported(
            "height given by a DNL marker after the first scan".into(),
        ));
    }
    if frame.components.len() == 2 || frame.components.len() > 4 {
        return Err(Error::Unsupported(format!(
            "{}-component image",
            frame.components.len()
        )));
    }
    limits.check_dimensions(frame.width.into(), frame.height.into())
}

/// Sampling factors for the encoder, reduced to lowest terms (libjpeg needs a factor of 1 on
/// each axis; a 2x2,2x2,2x2 file is 4:4:4).
pub(crate) fn output_sampling(header: &Header, wanted: Sampling) -> Vec<(u8, u8)> {
    let comps = &header.frame.components;
    let chroma = match wanted {
        Sampling::Keep => None,
        Sampling::S444 => Some((1, 1)),
        Sampling::S422 => Some((2, 1)),
        Sampling::S420 => Some((2, 2)),
        Sampling::S440 => Some((1, 2)),
    };
    if let Some((h, v)) = chroma.filter(|_| comps.len() >= 3) {
        // Luma (and K) at full resolution, Cb/Cr at the chosen fraction.
        return (0..comps.len())
            .map(|i| if i == 1 || i == 2 { (1, 1) } else { (h, v) })
            .collect();
    }
    if comps.len() == 1 {
        return vec![(1, 1)];
    }
    let gh = comps.iter().fold(0, |g, c| gcd(g, c.h));
    let gv = comps.iter().fold(0, |g, c| gcd(g, c.v));
    comps
        .iter()
        .map(|c| (c.h / gh.max(1), c.v / gv.max(1)))
        .collect()
}

fn gcd(a: u8, b: u8) -> u8 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Passes reads through while keeping a copy of everything read, so that bytes consumed to
/// parse the header can be replayed to libjpeg. Refuses headers above `limit` bytes.
pub(crate) struct Recorder<R> {
    inner: R,
    seen: Vec<u8>,
    limit: u64,
}

impl<R: Read> Recorder<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Recorder {
            inner,
            seen: Vec::new(),
            limit,
        }
    }

    pub(crate) fn into_parts(self) -> (Vec<u8>, R) {
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
/// different output than a file (found by the `shrink_buf_independent` fuzz target).
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
            ends_with_ff: false,
        }
    }

    pub(crate) fn with_max_scans(mut self, max_scans: u32) -> Self {
        self.max_scans = max_scans;
        self
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
            return Err(crate::codec::source_error(Error::LimitExceeded {
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
            self.count_scans()?;
        }
        Ok(&self.buf[self.pos..self.len])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}
