//! The DCT-coefficient layer for progressive files: decodes only the DC coefficients, one `i16`
//! per 8x8 block, so that a 1/8-scale image of a gigapixel progressive JPEG needs two bytes per
//! block and never the AC coefficients.
//!
//! In a progressive frame (T.81 Annex G) the DC coefficients travel in scans of their own
//! (G.1.1.1.1: a scan codes either the DC band or one AC band), so the AC scans can be passed over
//! with a search for their end marker instead of being Huffman-decoded. Where the data is
//! damaged the decoder behaves like libjpeg (`jdphuff.c`, `jdmarker.c`), so that the DC planes
//! match what libjpeg's 1/8-scale decode would show.

mod decoder;
mod geometry;
#[cfg(test)]
mod tests;

use super::between_scans::Next;
use super::{Header, Input, Parser, Process};
use crate::error::{Error, Result};
use crate::limits::Limits;
use decoder::Decoder;
pub(crate) use decoder::{track_progression, validate_scan};
pub(crate) use geometry::Geometry;

/// DC coefficients of one component, one i16 per 8x8 block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcPlane {
    /// Blocks per row and rows of blocks, padded to whole MCUs (T.81 A.2.4), i.e.
    /// mcus_x * h and mcus_y * v, where mcus_x = ceil(width / (8*hmax)), mcus_y = ceil(height / (8*vmax)).
    pub blocks_wide: usize,
    /// Rows of blocks (see `blocks_wide`).
    pub blocks_high: usize,
    /// Quantized DC coefficient per block, row-major (successive-approximation bits combined).
    pub dc: Vec<i16>,
    /// DC quantizer (entry 0 of the table) latched when the component's first scan starts,
    /// as libjpeg does.
    pub quant_dc: u16,
}

/// The DC coefficients of every component of a progressive frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcImage {
    /// One per frame component, in frame order.
    pub planes: Vec<DcPlane>,
    /// Problems libjpeg would report as warnings (data ended before EOI, a scan's data corrupt,
    /// a DC scan missing so the lowest bits are unknown). Empty for a clean file.
    pub warnings: Vec<String>,
}

impl<I: Input> Parser<I> {
    /// Continues after `read_header` returned `header` (a progressive Huffman frame, SOF2) and
    /// decodes every DC scan to EOI, skipping AC scans without Huffman-decoding them.
    ///
    /// Damaged entropy data gives warnings, not errors, as in libjpeg: blocks that could not be
    /// decoded keep what earlier scans left in them (zero if nothing). A file that ends early
    /// returns what was decoded, with the warning "file ends before EOI".
    pub fn decode_dc(&mut self, header: &Header, limits: &Limits) -> Result<DcImage> {
        let frame = &header.frame;
        check_supported(header)?;
        let geometry = Geometry::new(frame)?;
        let planes = geometry.allocate(limits)?;
        let mut dec = Decoder::new(header, geometry, planes);

        let mut scan = header.first_scan.clone();
        let mut scan_at = header.scan_offset;
        let mut scans = 1u32;
        limits.check_scans(scans)?;
        let mut buf = Vec::new();

        loop {
            let stop = dec.scan(&mut self.cur, &scan, scan_at)?;
            match self.walk_between_scans(stop, frame, &mut buf, &mut dec)? {
                Next::Scan(next_scan, at) => {
                    scan = next_scan;
                    scan_at = at;
                    scans = scans.saturating_add(1);
                    limits.check_scans(scans)?;
                }
                Next::End => break,
                Next::Truncated => {
                    dec.truncated = true;
                    break;
                }
            }
        }
        Ok(dec.finish())
    }
}

/// Refuses what this decoder does not handle, before anything is allocated.
fn check_supported(header: &Header) -> Result<()> {
    let frame = &header.frame;
    let kind = frame.kind;
    let refusal = if kind.process() != Process::Progressive
        || kind.is_hierarchical()
        || header.hierarchical
    {
        format!(
            "DC-only decoding needs a progressive frame (SOF2), not {}",
            kind.name()
        )
    } else if kind.is_arithmetic() {
        "DC-only decoding of arithmetic-coded progressive JPEG (SOF10)".into()
    } else if frame.precision != 8 {
        format!("DC-only decoding of {}-bit samples", frame.precision)
    } else if frame.height == 0 {
        "an image height given by a DNL marker".into()
    } else {
        return Ok(());
    };
    Err(Error::Unsupported(refusal))
}
