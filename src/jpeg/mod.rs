//! The JPEG format layer: a segment walker from SOI to the first SOS, one parser per segment, and
//! a pass over the entropy-coded data that finds where the image ends; below it, `scan` reads
//! entropy-coded data, [`dc`] decodes the DC coefficients of progressive frames and [`blocks`]
//! reads a bounded sample of whole blocks from sequential ones. It knows
//! nothing of codecs, pixels or the command line.

mod between_scans;
pub mod blocks;
pub mod dc;
pub mod input;
pub mod markers;
pub mod metadata;
pub mod progressive;
mod scan;
pub mod segments;
mod sniff;
pub mod zigzag;

use std::io::{self, Read, Seek};

pub use input::{Input, Seekable, Streamed};
pub use markers::{FrameKind, Process};
pub use segments::{Component, Frame, HuffmanTable, QuantTable, ScanComponent, ScanHeader};

use crate::error::{Error, Problem, Result};
use crate::limits::{Limits, MAX_HEADER_TABLE_BYTES, METADATA_SEGMENT_COST};
use input::Cursor;
use scan::Stop;
use segments::AppKind;

/// Colour model of the decoded samples, decided the way libjpeg does (`jdapimin.c`): JFIF and
/// Adobe APP14 first, then component ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSpace {
    /// One component.
    Gray,
    /// Luma and two colour differences (JFIF).
    YCbCr,
    /// Three components stored as R, G, B.
    Rgb,
    /// Four components, Adobe CMYK.
    Cmyk,
    /// Four components, Adobe YCCK (YCbCr of CMY, plus K).
    Ycck,
}

impl ColorSpace {
    /// The name reports use: `gray`, `YCbCr`, `RGB`, `CMYK`, `YCCK`.
    pub fn name(self) -> &'static str {
        match self {
            ColorSpace::Gray => "gray",
            ColorSpace::YCbCr => "YCbCr",
            ColorSpace::Rgb => "RGB",
            ColorSpace::Cmyk => "CMYK",
            ColorSpace::Ycck => "YCCK",
        }
    }
}

/// Everything in a JPEG stream up to and including the first scan header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The frame header (SOFn).
    pub frame: Frame,
    /// The quantization tables in force when the first scan starts, by slot.
    pub quant_tables: [Option<QuantTable>; 4],
    /// Huffman tables defined before the first scan; a redefinition of a (class, slot) replaces it.
    pub huffman_tables: Vec<HuffmanTable>,
    /// The header of the first scan (SOS).
    pub first_scan: ScanHeader,
    /// Restart interval in MCUs; 0 when there is none.
    pub restart_interval: u16,
    /// A JFIF APP0 segment is present.
    pub jfif: bool,
    /// An EXIF APP1 segment is present.
    pub exif: bool,
    /// An ICC profile (APP2) is present.
    pub icc: bool,
    /// An XMP packet (APP1) is present.
    pub xmp: bool,
    /// An MPF segment: the file carries further images (MPO, Ultra HDR) after its own EOI.
    pub mpf: bool,
    /// Adobe APP14 colour transform flag, when the segment is present.
    pub adobe_transform: Option<u8>,
    /// Photoshop "Save As" quality 0..=12 from APP13 resource 0x0406.
    pub photoshop_quality: Option<i32>,
    /// Photoshop "Save for Web" quality 0..=100 from the APP12 "Ducky" segment.
    pub save_for_web_quality: Option<u32>,
    /// DHP seen: the file is hierarchical.
    pub hierarchical: bool,
    /// Bytes of garbage found between segments (libjpeg warns "extraneous bytes before marker").
    pub extraneous_bytes: u64,
    /// File offset of the first byte of entropy-coded data.
    pub scan_offset: u64,
}

impl Header {
    /// The colour space a decoder would assume.
    pub fn color_space(&self) -> ColorSpace {
        let components = &self.frame.components;
        match components.len() {
            1 => ColorSpace::Gray,
            3 if self.jfif => ColorSpace::YCbCr,
            3 => match self.adobe_transform {
                Some(0) => ColorSpace::Rgb,
                Some(_) => ColorSpace::YCbCr,
                None if components.iter().map(|c| c.id).eq(*b"RGB") => ColorSpace::Rgb,
                None => ColorSpace::YCbCr,
            },
            4 => match self.adobe_transform {
                Some(2) => ColorSpace::Ycck,
                _ => ColorSpace::Cmyk,
            },
            _ => ColorSpace::YCbCr,
        }
    }

    /// Chroma subsampling as the usual J:a:b name, "gray", or "other".
    pub fn subsampling(&self) -> &'static str {
        let c = &self.frame.components;
        if c.len() == 1 {
            return "gray";
        }
        if c.iter().all(|x| (x.h, x.v) == (c[0].h, c[0].v)) {
            return "4:4:4";
        }
        if c.len() < 3 {
            return "other";
        }
        // Both chroma components alike; a fourth (K) either at full resolution, as in YCCK, or
        // sampled like the other three.
        let (y, cb, cr) = (c[0], c[1], c[2]);
        let same = |a: &Component, b: &Component| (a.h, a.v) == (b.h, b.v);
        if !same(&cb, &cr) || c.get(3).is_some_and(|k| !same(k, &y) && !same(k, &cb)) {
            return "other";
        }
        if y.h % cb.h != 0 || y.v % cb.v != 0 {
            return "other";
        }
        match (y.h / cb.h, y.v / cb.v) {
            (1, 1) => "4:4:4",
            (2, 1) => "4:2:2",
            (2, 2) => "4:2:0",
            (1, 2) => "4:4:0",
            (4, 1) => "4:1:1",
            (4, 2) => "4:1:0",
            _ => "other",
        }
    }

    /// Sampling factors as "HxV" per component, e.g. "2x2,1x1,1x1".
    pub fn sampling_factors(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(4 * self.frame.components.len());
        for (i, c) in self.frame.components.iter().enumerate() {
            let comma = if i > 0 { "," } else { "" };
            // Writing to a String cannot fail.
            let _ = write!(text, "{comma}{}x{}", c.h, c.v);
        }
        text
    }
}

/// Where the image's coded data ends, found by walking the entropy-coded segments to EOI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageEnd {
    /// Bytes from the start of the first scan's entropy-coded data to the end of EOI (including
    /// the small headers of later scans in progressive files).
    pub coded_bytes: u64,
    /// False when the file ended before EOI (a truncated file).
    pub found_eoi: bool,
    /// Number of scans.
    pub scans: u32,
    /// File offset just after EOI (or end of file).
    pub end_offset: u64,
}

/// The most bytes a stream may take from its first scan's data to EOI, past which reading it
/// is stopped: 1 KiB per 8x8 block and pass (at most 64 Huffman codes of 16 bits, each with at
/// most 15 extra bits, every byte stuffed: 496 bytes), 16 passes for progressive frames (one
/// first pass and successive-approximation refinements), plus `limits.max_metadata` for
/// segments between scans and [`MAX_HEADER_TABLE_BYTES`] for tables and restart markers. Real
/// files take a few percent of it; an endless stream after a valid header ends there.
pub fn max_data_bytes(frame: &Frame, limits: &Limits) -> u64 {
    let (hmax, vmax) = frame.max_sampling();
    // A DNL frame gives its height later: assume the largest.
    let height = if frame.height == 0 {
        u16::MAX
    } else {
        frame.height
    };
    let mcus_x = u64::from(frame.width).div_ceil(8 * u64::from(hmax));
    let mcus_y = u64::from(height).div_ceil(8 * u64::from(vmax));
    let blocks: u64 = frame
        .components
        .iter()
        .map(|c| mcus_x * u64::from(c.h) * mcus_y * u64::from(c.v))
        .sum();
    let passes = if frame.kind.process() == Process::Progressive {
        16
    } else {
        1
    };
    blocks
        .saturating_mul(1024 * passes)
        .saturating_add(limits.max_metadata)
        .saturating_add(MAX_HEADER_TABLE_BYTES)
}

/// Reads the header of a JPEG stream from any reader, consuming bytes only up to the first scan.
pub fn read_header<R: Read>(reader: R) -> Result<Header> {
    Parser::new(Streamed::new(reader)).read_header()
}

/// Reads the header of a seekable stream (a file), skipping metadata segments by seeking.
pub fn read_header_seekable<R: Read + Seek>(reader: R) -> Result<Header> {
    Parser::new(Seekable::new(reader)).read_header()
}

/// The segment walker. `read_header` stops after the first scan header; `find_image_end` or
/// `decode_dc` may then continue to EOI.
pub struct Parser<I> {
    cur: Cursor<I>,
    limits: Limits,
}

/// More than [`MAX_HEADER_TABLE_BYTES`] of tables and stray bytes before the first scan.
fn header_flood(offset: u64, segment: &'static str, bytes: u64) -> Error {
    Error::Format {
        offset,
        segment,
        problem: Problem::HeaderFlood {
            bytes,
            limit: MAX_HEADER_TABLE_BYTES,
        },
    }
}

fn truncated(offset: u64, segment: &'static str) -> Error {
    Error::Truncated { offset, segment }
}

impl<I: Input> Parser<I> {
    /// A parser positioned at the start of `input`, with the default [`Limits`].
    pub fn new(input: I) -> Self {
        Parser {
            cur: Cursor::new(input),
            limits: Limits::default(),
        }
    }

    /// The same parser under `limits`: `max_metadata` bounds the APPn and COM bytes before the
    /// first scan, and with the frame size the bytes read after it (see [`max_data_bytes`]).
    pub fn with_limits(mut self, limits: &Limits) -> Self {
        self.limits = *limits;
        self
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.cur.offset
    }

    fn byte(&mut self, segment: &'static str) -> Result<u8> {
        let at = self.cur.offset;
        self.cur.next_byte()?.ok_or_else(|| truncated(at, segment))
    }

    /// Finds the next marker (T.81 B.1.1.2: any number of 0xFF fill bytes may precede the code).
    /// Returns the code and the number of non-marker bytes skipped to reach it. `other` bytes
    /// that are not metadata came before: once they and the bytes searched pass
    /// [`MAX_HEADER_TABLE_BYTES`], stops with [`Problem::HeaderFlood`] (an endless stream).
    fn next_marker(&mut self, segment: &'static str, other: u64) -> Result<(u8, u64)> {
        let mut garbage = 0u64;
        let start = self.cur.offset;
        let budget = MAX_HEADER_TABLE_BYTES.saturating_sub(other);
        loop {
            let used = self.cur.offset - start;
            if used > budget {
                return Err(header_flood(self.cur.offset, segment, other + used));
            }
            let b = self.byte(segment)?;
            if b != 0xFF {
                garbage += 1;
                continue;
            }
            let mut code = self.byte(segment)?;
            while code == 0xFF && self.cur.offset - start <= budget {
                code = self.byte(segment)?;
            }
            if code == 0xFF {
                continue; // over budget: reported at the top
            }
            if code == 0x00 {
                garbage += 2;
                continue;
            }
            return Ok((code, garbage));
        }
    }

    /// Reads a segment's two length bytes (which count themselves) and returns the payload length.
    fn read_length(&mut self, marker: u8) -> Result<usize> {
        let name = markers::name(marker);
        let at = self.cur.offset;
        let len = u16::from_be_bytes([self.byte(name)?, self.byte(name)?]);
        if len < 2 {
            return Err(Error::Format {
                offset: at,
                segment: name,
                problem: Problem::BadLength(len),
            });
        }
        Ok(usize::from(len - 2))
    }

    /// Reads a segment's length and payload into `buf`; returns the payload's offset.
    fn read_payload(&mut self, marker: u8, buf: &mut Vec<u8>) -> Result<u64> {
        let name = markers::name(marker);
        let payload_len = self.read_length(marker)?;
        buf.resize(payload_len, 0);
        let payload_at = self.cur.offset;
        if !self.cur.read_full(buf)? {
            return Err(truncated(self.cur.offset, name));
        }
        Ok(payload_at)
    }

    /// Skips a segment by its length; returns the payload's first bytes (up to `keep`).
    fn skip_segment(&mut self, marker: u8, keep: usize) -> Result<Vec<u8>> {
        let name = markers::name(marker);
        let payload_len = self.read_length(marker)?;
        let mut prefix = vec![0; keep.min(payload_len)];
        if !self.cur.read_full(&mut prefix)? {
            return Err(truncated(self.cur.offset, name));
        }
        let rest = (payload_len - prefix.len()) as u64;
        if self.cur.skip(rest)? < rest {
            return Err(truncated(self.cur.offset, name));
        }
        Ok(prefix)
    }

    /// Walks from SOI to the end of the first scan header (T.81 B.2, B.3).
    pub fn read_header(&mut self) -> Result<Header> {
        let mut head = [0u8; 2];
        let complete = self.cur.read_full(&mut head)?;
        if !complete || head != [0xFF, markers::SOI] {
            let mut sniff = head[..self.cur.offset as usize].to_vec();
            if complete {
                // Up to 16 bytes in all, however the reader splits them.
                let _ = (&mut self.cur.input).take(14).read_to_end(&mut sniff);
            }
            return Err(Error::NotJpeg(sniff::other_format(&sniff)));
        }

        let mut frame: Option<Frame> = None;
        let mut quant_tables: [Option<QuantTable>; 4] = [None; 4];
        let mut huffman_tables: Vec<HuffmanTable> = Vec::new();
        let mut restart_interval = 0;
        let mut apps = AppsSeen::default();
        let mut hierarchical = false;
        let mut extraneous_bytes = 0;
        let mut buf = Vec::new();
        // APPn and COM bytes, bounded by `limits.max_metadata`; everything else before the
        // first scan is bounded by MAX_HEADER_TABLE_BYTES. The tables keep only the last
        // definition per slot (T.81 B.2.4), so a flood of them costs reading time, not memory.
        let mut metadata = 0u64;
        // What is checked against the limit: the bytes plus the cost of holding each segment.
        let mut charged = 0u64;

        loop {
            let other = self.cur.offset - metadata;
            if other > MAX_HEADER_TABLE_BYTES {
                return Err(header_flood(self.cur.offset, "header", other));
            }
            let (marker, garbage) = self.next_marker("marker search", other)?;
            extraneous_bytes += garbage;
            let marker_at = self.cur.offset - 2;
            match marker {
                m if markers::is_sof(m) => {
                    let kind = FrameKind { marker: m };
                    if frame.is_some() && !hierarchical {
                        return Err(Error::Format {
                            offset: marker_at,
                            segment: markers::name(m),
                            problem: Problem::Duplicate("SOF"),
                        });
                    }
                    let at = self.read_payload(m, &mut buf)?;
                    let parsed = segments::parse_sof(kind, &buf, at)?;
                    // In a hierarchical file the first frame decides; later ones are differential.
                    frame.get_or_insert(parsed);
                }
                markers::DQT => {
                    let at = self.read_payload(marker, &mut buf)?;
                    for (slot, table) in segments::parse_dqt(&buf, at)? {
                        quant_tables[usize::from(slot)] = Some(table);
                    }
                }
                markers::DHT => {
                    let at = self.read_payload(marker, &mut buf)?;
                    for table in segments::parse_dht(&buf, at)? {
                        huffman_tables.retain(|t| (t.class, t.slot) != (table.class, table.slot));
                        huffman_tables.push(table);
                    }
                }
                markers::DRI => {
                    let at = self.read_payload(marker, &mut buf)?;
                    restart_interval = segments::parse_dri(&buf, at)?;
                }
                markers::SOS => {
                    let Some(frame) = frame else {
                        return Err(Error::Format {
                            offset: marker_at,
                            segment: "SOS",
                            problem: Problem::Missing("SOF before the first scan"),
                        });
                    };
                    let at = self.read_payload(marker, &mut buf)?;
                    let first_scan = segments::parse_sos(&buf, at, &frame)?;
                    if frame.kind.process() != Process::Lossless {
                        for c in &frame.components {
                            if quant_tables[usize::from(c.table)].is_none() {
                                return Err(Error::Format {
                                    offset: marker_at,
                                    segment: "SOS",
                                    problem: Problem::UndefinedTable(c.table),
                                });
                            }
                        }
                    }
                    self.cur.limit = self
                        .cur
                        .offset
                        .saturating_add(max_data_bytes(&frame, &self.limits));
                    return Ok(Header {
                        frame,
                        quant_tables,
                        huffman_tables,
                        first_scan,
                        restart_interval,
                        jfif: apps.jfif,
                        exif: apps.exif,
                        icc: apps.icc,
                        xmp: apps.xmp,
                        mpf: apps.mpf,
                        adobe_transform: apps.adobe_transform,
                        photoshop_quality: apps.photoshop_quality,
                        save_for_web_quality: apps.save_for_web_quality,
                        hierarchical,
                        extraneous_bytes,
                        scan_offset: self.cur.offset,
                    });
                }
                markers::APP0..=markers::APP15 => {
                    if marker == markers::APP0 + 13 {
                        // Photoshop resources are small and may hold the Save As quality.
                        self.read_payload(marker, &mut buf)?;
                        if let Some(q) = segments::photoshop_save_quality(&buf) {
                            apps.photoshop_quality = Some(q);
                        }
                    } else {
                        let prefix = self.skip_segment(marker, segments::APP_PREFIX_LEN)?;
                        apps.note(segments::identify_app(marker, &prefix));
                    }
                    metadata += self.cur.offset - marker_at;
                    charged += self.cur.offset - marker_at + METADATA_SEGMENT_COST;
                    self.limits.check_metadata(charged)?;
                }
                markers::COM => {
                    self.skip_segment(marker, 0)?;
                    metadata += self.cur.offset - marker_at;
                    charged += self.cur.offset - marker_at + METADATA_SEGMENT_COST;
                    self.limits.check_metadata(charged)?;
                }
                markers::SOI => {
                    return Err(Error::Format {
                        offset: marker_at,
                        segment: "SOI",
                        problem: Problem::Duplicate("SOI before the first scan"),
                    });
                }
                markers::EOI => {
                    return Err(Error::Format {
                        offset: marker_at,
                        segment: "EOI",
                        problem: Problem::Missing("a scan (SOS) before EOI"),
                    });
                }
                markers::SOF55 | markers::LSE => {
                    return Err(Error::NotJpeg(
                        "JPEG-LS image (ITU-T T.87), a different codec from JPEG",
                    ));
                }
                markers::DHP => {
                    hierarchical = true;
                    self.skip_segment(marker, 0)?;
                }
                m if markers::is_standalone(m) => {}
                m => {
                    // DAC, DNL, EXP, JPG, JPGn and reserved markers: skip by length.
                    self.skip_segment(m, 0)?;
                }
            }
        }
    }

    /// Walks the entropy-coded data after the first scan header to the EOI marker, skipping the
    /// segments between progressive scans by their lengths. One linear pass; memory stays constant.
    pub fn find_image_end(&mut self) -> Result<ImageEnd> {
        let start = self.cur.offset;
        let mut scans = 1u32;
        let end = |offset: u64, found_eoi: bool, scans: u32| ImageEnd {
            coded_bytes: offset - start,
            found_eoi,
            scans,
            end_offset: offset,
        };
        loop {
            let (stop, _) = scan::find_marker(&mut self.cur, true)?;
            match stop {
                Stop::Eof => return Ok(end(self.cur.offset, false, scans)),
                Stop::Marker(markers::EOI) => return Ok(end(self.cur.offset, true, scans)),
                Stop::Marker(m) if markers::is_sof(m) || m == markers::SOI => {
                    // A frame or image inside the data: the stream is broken here; stop.
                    return Ok(end(self.cur.offset - 2, false, scans));
                }
                Stop::Marker(m) if markers::is_standalone(m) => {}
                Stop::Marker(m) => {
                    if m == markers::SOS {
                        scans = scans.saturating_add(1);
                    }
                    match self.skip_segment(m, 0) {
                        Ok(_) => {}
                        Err(Error::Truncated { .. }) => {
                            return Ok(end(self.cur.offset, false, scans));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

impl<R: Read + Seek> Parser<Seekable<R>> {
    /// Gives back the reader positioned after the last byte the parser consumed.
    pub fn into_inner(self) -> io::Result<R> {
        self.cur.input.into_inner()
    }
}

#[derive(Default)]
struct AppsSeen {
    jfif: bool,
    exif: bool,
    icc: bool,
    xmp: bool,
    mpf: bool,
    adobe_transform: Option<u8>,
    photoshop_quality: Option<i32>,
    save_for_web_quality: Option<u32>,
}

impl AppsSeen {
    fn note(&mut self, kind: AppKind) {
        match kind {
            AppKind::Jfif => self.jfif = true,
            AppKind::Exif => self.exif = true,
            AppKind::Xmp => self.xmp = true,
            AppKind::Icc => self.icc = true,
            AppKind::Mpf => self.mpf = true,
            AppKind::Adobe { transform } => self.adobe_transform = Some(transform),
            AppKind::Ducky { quality } => self.save_for_web_quality = quality,
            AppKind::Photoshop | AppKind::Other => {}
        }
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    /// SOI, then `middle`, then a 16x16 grayscale frame with one quantization table and a scan
    /// header (no DHT: these tests never decode).
    fn jpeg_with(middle: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        bytes.extend_from_slice(middle);
        bytes.extend_from_slice(&dqt());
        bytes.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
        bytes.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        bytes
    }

    fn dqt() -> Vec<u8> {
        let mut segment = vec![0xFF, 0xDB, 0, 67, 0];
        segment.extend([1u8; 64]);
        segment
    }

    fn segment(marker: u8, payload_len: usize) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend(u16::try_from(payload_len + 2).unwrap().to_be_bytes());
        s.extend(std::iter::repeat_n(b'm', payload_len));
        s
    }

    fn parse(bytes: &[u8], limits: &Limits) -> Result<Header> {
        Parser::new(Streamed::new(bytes))
            .with_limits(limits)
            .read_header()
    }

    #[test]
    fn metadata_is_counted_against_max_metadata() {
        let coms: Vec<u8> = (0..4).flat_map(|_| segment(markers::COM, 1000)).collect();
        let apps: Vec<u8> = (0..4).flat_map(|_| segment(0xEB, 1000)).collect();
        let limits = Limits {
            max_metadata: 4 * 1004,
            ..Limits::default()
        };
        // Each segment: 1000 bytes of payload, 4 of marker and length, and the cost of holding it.
        let each = 1004 + METADATA_SEGMENT_COST;
        let limits = Limits {
            max_metadata: 4 * each,
            ..limits
        };
        assert!(parse(&jpeg_with(&coms), &limits).is_ok());
        assert!(parse(&jpeg_with(&apps), &limits).is_ok());
        let both = [coms, apps].concat();
        match parse(&jpeg_with(&both), &limits) {
            Err(Error::LimitExceeded { value, limit, .. }) => {
                assert_eq!((value, limit), (5 * each, 4 * each));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_table_flood_is_refused_after_the_fixed_bound() {
        // 69-byte DQT segments: 15,000 of them (1 MiB) pass, 16,000 do not.
        let flood = |n: usize| -> Vec<u8> { (0..n).flat_map(|_| dqt()).collect() };
        let limits = Limits::default();
        let header = parse(&jpeg_with(&flood(15_000)), &limits).unwrap();
        assert_eq!(header.quant_tables[0].unwrap().values, [1; 64]);
        assert!(header.quant_tables[1..].iter().all(Option::is_none));
        match parse(&jpeg_with(&flood(16_000)), &limits) {
            Err(Error::Format {
                problem: Problem::HeaderFlood { bytes, limit },
                ..
            }) => assert!(bytes > limit && limit == MAX_HEADER_TABLE_BYTES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_endless_stream_ends_in_the_header_and_after_it() {
        // SOI then zeros forever, and 0xFF fill bytes forever: both stop after the bound.
        for fill in [0x00, 0xFF] {
            let endless = io::Cursor::new([0xFF, 0xD8]).chain(io::repeat(fill));
            let mut parser = Parser::new(Streamed::new(endless));
            match parser.read_header() {
                Err(Error::Format {
                    problem: Problem::HeaderFlood { .. },
                    ..
                }) => assert!(parser.offset() <= MAX_HEADER_TABLE_BYTES + 2),
                other => panic!("{other:?}"),
            }
        }
        // A real header, then zeros forever: the walk to EOI stops after what 4 blocks can code.
        let limits = Limits {
            max_metadata: 1000,
            ..Limits::default()
        };
        let header = jpeg_with(&[]);
        let endless = io::Cursor::new(header.clone()).chain(io::repeat(0));
        let mut parser = Parser::new(Streamed::new(endless)).with_limits(&limits);
        let frame = parser.read_header().unwrap().frame;
        let bound = max_data_bytes(&frame, &limits);
        assert_eq!(bound, 4 * 1024 + 1000 + MAX_HEADER_TABLE_BYTES);
        match parser.find_image_end() {
            Err(Error::LimitExceeded { limit, .. }) => {
                assert_eq!(limit, header.len() as u64 + bound);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stream_that_cannot_seek_is_skipped_by_reading() {
        // A Seekable over a reader whose seeks fail (as a pipe's do) still skips metadata.
        struct NoSeek<R>(R);
        impl<R: Read> Read for NoSeek<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl<R> Seek for NoSeek<R> {
            fn seek(&mut self, _: io::SeekFrom) -> io::Result<u64> {
                Err(io::ErrorKind::Unsupported.into())
            }
        }
        let bytes = jpeg_with(&segment(markers::COM, 60_000));
        let header = Parser::new(Seekable::new(NoSeek(&bytes[..])))
            .read_header()
            .unwrap();
        assert_eq!(header.scan_offset, bytes.len() as u64);
    }
}
