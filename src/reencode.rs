//! Re-encoding policy, shared by every command that decodes a JPEG and writes a new one:
//! refusing what libjpeg must not see, and choosing the output's quality, sampling and metadata.
//! The adapters that feed libjpeg the input are in [`crate::codec`].

use std::io::Read;

pub(crate) use crate::codec::input::Source;
use crate::error::{Error, Result};
use crate::jpeg::{self, Header, Process, metadata};
use crate::limits::Limits;
use crate::quality::invert::scale_for_fractional_quality;

/// Reads and checks the header of `input`: lossless, hierarchical, 12-bit, DNL-height and
/// 2-component files are refused, and so are dimensions over `limits`.
pub(crate) fn read_source<R: Read>(input: R, limits: &Limits) -> Result<Source<R>> {
    let source = Source::read(input, limits)?;
    check_supported(&source.header, limits)?;
    Ok(source)
}

// What to carry over is re-encoding policy, so it lives here rather than beside `Source`.
impl<R: Read> Source<R> {
    /// APPn/COM segments worth copying into a re-encoded file, EXIF and XMP dimensions set to
    /// `size`. With `strip`, only the ICC profile and the EXIF orientation (in an EXIF block of
    /// its own) are kept, as libvips and sharp strip.
    pub(crate) fn kept_markers(&self, size: (u32, u32), strip: bool) -> Vec<(u8, Vec<u8>)> {
        let segments = metadata::collect_segments(&self.prefix);
        let exif = jpeg::markers::APP0 + 1;
        if strip {
            let orientation = segments
                .iter()
                .filter(|(code, _)| *code == exif)
                .find_map(|(_, payload)| metadata::exif_orientation(payload));
            let icc = segments
                .into_iter()
                .filter(|(code, payload)| metadata::is_icc(*code, payload));
            return orientation
                .map(|o| (exif, metadata::orientation_exif(o)))
                .into_iter()
                .chain(icc)
                .collect();
        }
        let mut markers: Vec<(u8, Vec<u8>)> = segments
            .into_iter()
            .filter(|(code, payload)| metadata::keep_when_reencoding(*code, payload))
            .collect();
        for (code, payload) in &mut markers {
            if *code == exif {
                metadata::set_exif_dimensions(payload, size.0, size.1);
                metadata::set_xmp_dimensions(payload, size.0, size.1);
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

/// The input's own quantization tables, one per component, and the IJG quality they stand
/// for, kept to be rescaled to another quality ([`InputTables::at`]). Held inline (no heap):
/// `mark` takes it before decoding and needs it, if at all, only at the end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputTables {
    tables: [[u16; 64]; 4],
    components: usize,
    /// IJG's scale factor at the tables' IJG equivalent, per cent.
    base: f64,
}

impl InputTables {
    /// `None` for IJG tables (their own formula gives them at any quality), for tables with
    /// no IJG equivalent, and where the equivalent is 100 (a scale factor of 0).
    pub(crate) fn of(header: &Header) -> Option<InputTables> {
        let estimate = crate::quality::estimate(header);
        if estimate.family == crate::quality::Family::Ijg {
            return None;
        }
        let base = scale_for_fractional_quality(estimate.ijg_equivalent?);
        let components = &header.frame.components;
        if base <= 0.0 || components.len() > 4 {
            return None;
        }
        let mut tables = [[0; 64]; 4];
        for (table, c) in tables.iter_mut().zip(components) {
            *table = header.quant_tables[usize::from(c.table)]?.values;
        }
        Some(InputTables {
            tables,
            components: components.len(),
            base,
        })
    }

    /// The tables rescaled to stand for IJG quality `quality`: each entry multiplied by
    /// `S(quality) / S(equivalent)`, IJG's scale factor (`5000 / q` under 50, `200 - 2q` from
    /// 50) at the asked quality over the one at the tables' IJG equivalent (the IJG quality
    /// whose luma table is closest in geometric mean), rounded and kept within 1..=255. So the
    /// shape the input's encoder chose is kept, and a quality above the equivalent makes every
    /// step finer in the same proportion as IJG's tables would.
    pub(crate) fn at(&self, quality: f64) -> Vec<[u16; 64]> {
        let ratio = scale_for_fractional_quality(quality) / self.base;
        self.tables[..self.components]
            .iter()
            .map(|t| t.map(|v| (f64::from(v) * ratio).round().clamp(1.0, 255.0) as u16))
            .collect()
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
    /// Given by the caller (`-q`).
    Given,
    /// From the source's tables (see [`crate::quality`]).
    Estimated,
    /// The tables were not enough to tell; 85 was used.
    Fallback,
    /// The source's quality was above the default for downscaled outputs, which was used.
    Downscaled,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(name: &str) -> Header {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/real")
            .join(name);
        jpeg::read_header(&std::fs::read(path).unwrap()[..]).unwrap()
    }

    /// IJG's scale factor at the quality asked over the one at the tables' IJG equivalent:
    /// at the equivalent itself the input's tables come back unchanged; where IJG's factor is
    /// half the equivalent's, every entry is halved (rounded, at least 1); each component gets
    /// its own slot's table. IJG tables have none: their formula gives them at any quality.
    #[test]
    fn input_tables_scale_by_the_ijg_factor() {
        let header = header_of("mde-Samsung_SM-J327T1.jpg");
        let equivalent = crate::quality::estimate(&header).ijg_equivalent.unwrap();
        let own: Vec<[u16; 64]> = header
            .frame
            .components
            .iter()
            .map(|c| header.quant_tables[usize::from(c.table)].unwrap().values)
            .collect();
        let tables = InputTables::of(&header).unwrap();
        assert_eq!(tables.at(equivalent), own);
        // 200 - 2q is half of 200 - 2e at q = 50 + e / 2.
        let halved = tables.at(50.0 + equivalent / 2.0);
        for (scaled, original) in halved.iter().zip(&own) {
            for (&s, &o) in scaled.iter().zip(original) {
                assert_eq!(s, ((f64::from(o) / 2.0).round() as u16).max(1), "{o}");
            }
        }
        assert!(InputTables::of(&header_of("exif-samples-mobile-jolla.jpg")).is_none());
    }
}
