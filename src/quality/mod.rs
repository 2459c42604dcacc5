//! Encoder quality from the quantization tables a JPEG's components use.
//!
//! Three answers, in order of preference: an exact inversion against the formula families (IJG
//! Annex K, mozjpeg's nine sets), a fingerprint of a known fixed table set (Photoshop), or an
//! IJG-equivalent quality from the geometric mean of the luma table's ratios to Annex K, which
//! is always marked approximate. There is no silent default.
//!
//! [`inspect_file`] puts the estimate beside a file's header facts and bits per pixel: what
//! `jpgtool quality` reports.

pub mod effective;
mod fingerprints;
pub mod history;
mod inspect;
pub mod invert;
mod report;
pub mod tables;
pub mod trellis;

use crate::jpeg::{ColorSpace, Header, Process, QuantTable};
pub use fingerprints::{FINGERPRINTS, Fingerprint};
pub use inspect::{
    HistoryReport, Inspection, inspect_bytes, inspect_bytes_opts, inspect_file, inspect_file_opts,
    inspect_file_with,
};
use invert::{ScaleRange, clamp_for, quality_for_scale, solve_scale};
pub use report::{Field, Report};
use tables::MOZJPEG;

/// Where the tables come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IJG libjpeg and everything built on its `jpeg_set_quality` (Annex K tables).
    Ijg,
    /// mozjpeg `-quant-table N`, N = 1..=8 (set 0 is Annex K and reported as IJG).
    Mozjpeg(u8),
    /// A fixed table set recognised by fingerprint, by its setting's name.
    Known(&'static str),
    /// Tables of no known family.
    Unknown,
    /// Lossless JPEG (SOF3 and kin) has no quantization.
    Lossless,
}

impl Family {
    /// A stable short name for output: "ijg", "mozjpeg-3", "photoshop", "unknown", "lossless".
    pub fn name(&self) -> String {
        match self {
            Family::Ijg => "ijg".into(),
            Family::Mozjpeg(n) => format!("mozjpeg-{n}"),
            Family::Known(name) => name
                .split_whitespace()
                .next()
                .unwrap_or("known")
                .to_lowercase(),
            Family::Unknown => "unknown".into(),
            Family::Lossless => "lossless".into(),
        }
    }

    fn base(&self) -> Option<&'static tables::BaseTables> {
        match *self {
            Family::Ijg => Some(&MOZJPEG[0]),
            Family::Mozjpeg(n) => MOZJPEG.get(usize::from(n)),
            _ => None,
        }
    }
}

/// How much the estimate can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// The tables are exactly what the family's formula gives at the reported quality.
    Exact,
    /// The tables equal a known fixed set.
    Fingerprint,
    /// No family reproduces the tables; the quality is an IJG-equivalent estimate.
    Approximate,
}

impl Confidence {
    /// The name reports use: `exact`, `fingerprint` or `approximate`.
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Fingerprint => "fingerprint",
            Confidence::Approximate => "approximate",
        }
    }
}

/// A quality, or the range of qualities that give byte-identical tables. Fractional where the
/// encoder used a non-integer quality or linear scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRange {
    /// Lowest quality of the range.
    pub min: f64,
    /// Highest quality of the range (equal to `min` for a single value).
    pub max: f64,
}

impl QualityRange {
    fn single(q: f64) -> Self {
        QualityRange { min: q, max: q }
    }

    fn from_scale(range: ScaleRange) -> Self {
        match range.qualities() {
            Some((lo, hi)) => QualityRange {
                min: lo.into(),
                max: hi.into(),
            },
            None => QualityRange::single(round1(range.fractional_quality())),
        }
    }

    /// True when the range is one quality.
    pub fn is_single(&self) -> bool {
        self.min == self.max
    }

    fn overlap(self, other: QualityRange) -> Option<QualityRange> {
        let (min, max) = (self.min.max(other.min), self.max.min(other.max));
        (min <= max).then_some(QualityRange { min, max })
    }
}

/// Which tables the components use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLayout {
    /// Distinct tables referenced by components.
    pub used: u8,
    /// Tables defined but referenced by no component.
    pub unused: u8,
    /// A colour image whose chroma components share the luma table.
    pub shared: bool,
}

/// The estimate for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The table family the tables belong to.
    pub family: Family,
    /// How the quality was found.
    pub confidence: Confidence,
    /// Luma quality on the family's own scale (the IJG scale for unknown and fingerprinted
    /// tables); `None` for lossless files.
    pub quality: Option<QualityRange>,
    /// Chroma quality where it differs from luma (split quality, `cjpeg -quality L,C`).
    pub chroma_quality: Option<QualityRange>,
    /// The IJG quality whose luma table is closest in geometric mean; what decisions use for
    /// families other than IJG.
    pub ijg_equivalent: Option<f64>,
    /// For approximate answers: the family whose shape fits best, its quality, and the RMS of the
    /// log-ratio residuals (0 = same shape).
    pub nearest: Option<(Family, f64, f64)>,
    /// True when some entry sits at 255 and no unclamped scale explains it (a baseline encoder).
    pub clamped: bool,
    /// Which tables the components use.
    pub layout: TableLayout,
}

impl Estimate {
    /// The value a "skip files at or below Q" decision compares with Q: the conservative (lowest)
    /// end of an exact IJG range; the IJG equivalent for other families (or their native quality
    /// when `native` is set); the IJG equivalent minus `margin` for approximate answers.
    pub fn decision_quality(&self, native: bool, margin: f64) -> Option<f64> {
        match (self.confidence, self.family) {
            (_, Family::Lossless) => None,
            (Confidence::Exact, Family::Ijg) => self.quality.map(|q| q.min),
            (Confidence::Exact, _) if native => self.quality.map(|q| q.min),
            (Confidence::Approximate, _) => self.ijg_equivalent.map(|q| q - margin),
            _ => self.ijg_equivalent,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Estimates the encoder quality from the header's tables.
pub fn estimate(header: &Header) -> Estimate {
    let frame = &header.frame;
    let layout = table_layout(header);
    if frame.kind.process() == Process::Lossless {
        return Estimate {
            family: Family::Lossless,
            confidence: Confidence::Exact,
            quality: None,
            chroma_quality: None,
            ijg_equivalent: None,
            nearest: None,
            clamped: false,
            layout,
        };
    }
    let table = |slot: u8| header.quant_tables[usize::from(slot)];
    // The reader guarantees that every component's table is defined.
    let luma_slot = frame.components[0].table;
    let luma = table(luma_slot).expect("component tables are checked by the reader");
    let mut chroma: Vec<QuantTable> = Vec::new();
    let colour_with_chroma = matches!(header.color_space(), ColorSpace::YCbCr | ColorSpace::Ycck);
    for c in &frame.components[1..] {
        if c.table != luma_slot && !chroma.iter().any(|t| Some(*t) == table(c.table)) {
            chroma.extend(table(c.table));
        }
    }
    // 64 logarithms: computed only where the IJG family's own quality does not answer it.
    let ijg_equivalent = || Some(round1(ijg_equivalent(&luma.values)));

    if let Some(found) = match_formula_families(&luma, &chroma, colour_with_chroma) {
        let ijg_equivalent = if found.family == Family::Ijg {
            found.quality.map(|q| q.min)
        } else {
            ijg_equivalent()
        };
        return Estimate {
            ijg_equivalent,
            layout,
            ..found
        };
    }

    let ijg_equivalent = ijg_equivalent();
    if let Some(fp) = FINGERPRINTS.iter().find(|fp| {
        fp.luma == luma.values
            && match (&fp.chroma, chroma.as_slice()) {
                (None, []) => true,
                (Some(c), tables) => !tables.is_empty() && tables.iter().all(|t| t.values == *c),
                _ => false,
            }
    }) {
        return Estimate {
            family: Family::Known(fp.name),
            confidence: Confidence::Fingerprint,
            quality: ijg_equivalent.map(QualityRange::single),
            chroma_quality: None,
            ijg_equivalent,
            nearest: None,
            clamped: false,
            layout,
        };
    }

    Estimate {
        family: Family::Unknown,
        confidence: Confidence::Approximate,
        quality: ijg_equivalent.map(QualityRange::single),
        chroma_quality: None,
        ijg_equivalent,
        nearest: nearest_family(&luma.values),
        clamped: false,
        layout,
    }
}

fn table_layout(header: &Header) -> TableLayout {
    let comps = &header.frame.components;
    let mut used = [false; 4];
    for c in comps {
        used[usize::from(c.table)] = true;
    }
    let defined = header.quant_tables.iter().filter(|t| t.is_some()).count() as u8;
    let used_count = used.iter().filter(|&&u| u).count() as u8;
    TableLayout {
        used: used_count,
        unused: defined.saturating_sub(used_count),
        shared: comps.len() > 1 && used_count == 1,
    }
}

/// Family search order: IJG first (also mozjpeg set 0), then mozjpeg's default set 3, then the
/// other mozjpeg sets.
const FORMULA_FAMILIES: [Family; 9] = [
    Family::Ijg,
    Family::Mozjpeg(3),
    Family::Mozjpeg(1),
    Family::Mozjpeg(2),
    Family::Mozjpeg(4),
    Family::Mozjpeg(5),
    Family::Mozjpeg(6),
    Family::Mozjpeg(7),
    Family::Mozjpeg(8),
];

/// Tries every formula family; prefers one where luma and chroma agree on a quality over one that
/// needs a split quality.
fn match_formula_families(
    luma: &QuantTable,
    chroma: &[QuantTable],
    colour_with_chroma: bool,
) -> Option<Estimate> {
    let mut split_match = None;
    for family in FORMULA_FAMILIES {
        let Some(found) = match_family(family, luma, chroma, colour_with_chroma) else {
            continue;
        };
        if found.chroma_quality.is_none() {
            return Some(found);
        }
        split_match.get_or_insert(found);
    }
    split_match
}

fn match_family(
    family: Family,
    luma: &QuantTable,
    chroma: &[QuantTable],
    colour_with_chroma: bool,
) -> Option<Estimate> {
    let base = family.base()?;
    let luma_scale = solve_scale(&luma.values, &base.luma)?;
    // Chroma tables of a YCbCr image are scaled from the chroma base; the extra components of
    // RGB/CMYK images use the luma base (libjpeg's jpeg_set_colorspace gives them table 0 or 1).
    let chroma_base = if colour_with_chroma {
        &base.chroma
    } else {
        &base.luma
    };
    let mut chroma_scale: Option<ScaleRange> = None;
    for t in chroma {
        let s = solve_scale(&t.values, chroma_base)?;
        chroma_scale = Some(match chroma_scale {
            None => s,
            // Cb and Cr at different qualities: keep the span of both.
            Some(prev) => prev.intersect(s).unwrap_or(ScaleRange {
                lo: prev.lo.min(s.lo),
                hi: prev.hi.max(s.hi),
            }),
        });
    }
    let luma_q = QualityRange::from_scale(luma_scale);
    let (quality, chroma_quality) = match chroma_scale {
        None => (luma_q, None),
        Some(cs) => {
            let chroma_q = QualityRange::from_scale(cs);
            match luma_q.overlap(chroma_q) {
                Some(both) => (both, None),
                None => (luma_q, Some(chroma_q)),
            }
        }
    };
    let clamped = std::iter::once(luma)
        .chain(chroma)
        .any(|t| clamp_for(&t.values) == 255 && t.values.contains(&255))
        && solve_scale_unclamped_fails(luma, chroma, base, chroma_base);
    Some(Estimate {
        family,
        confidence: Confidence::Exact,
        quality: Some(quality),
        chroma_quality,
        ijg_equivalent: None,
        nearest: None,
        clamped,
        layout: TableLayout {
            used: 0,
            unused: 0,
            shared: false,
        },
    })
}

/// True when the tables cannot come from an unclamped (16-bit capable) encoder, i.e. some entry
/// was cut to 255.
fn solve_scale_unclamped_fails(
    luma: &QuantTable,
    chroma: &[QuantTable],
    base: &tables::BaseTables,
    chroma_base: &[u16; 64],
) -> bool {
    let fits =
        |t: &QuantTable, b: &[u16; 64]| invert::solve_scale_clamped(&t.values, b, 32767).is_some();
    !(fits(luma, &base.luma) && chroma.iter().all(|t| fits(t, chroma_base)))
}

/// The entries that carry information about the scale: those not clamped at 1 or the maximum.
fn informative(table: &[u16; 64]) -> impl Iterator<Item = usize> + '_ {
    let max = clamp_for(table);
    (0..64).filter(move |&i| table[i] > 1 && table[i] < max)
}

/// IJG-equivalent quality: the geometric mean of 100 * T / K over informative luma entries
/// against Annex K.1, mapped back through libjpeg's quality curve.
pub fn ijg_equivalent(luma: &[u16; 64]) -> f64 {
    if luma.iter().all(|&t| t == 1) {
        return 100.0;
    }
    let base = &MOZJPEG[0].luma;
    let mut idx: Vec<usize> = informative(luma).collect();
    if idx.is_empty() {
        idx = (0..64).collect();
    }
    let mean_log = idx
        .iter()
        .map(|&i| (100.0 * f64::from(luma[i]) / f64::from(base[i])).ln())
        .sum::<f64>()
        / idx.len() as f64;
    quality_for_scale(mean_log.exp())
}

/// The formula family whose base table fits the luma table's shape best (least RMS of log ratios
/// about their mean), with the quality that scale implies and the residual.
fn nearest_family(luma: &[u16; 64]) -> Option<(Family, f64, f64)> {
    let idx: Vec<usize> = informative(luma).collect();
    if idx.len() < 8 {
        return None;
    }
    FORMULA_FAMILIES
        .iter()
        .filter_map(|family| {
            let base = &family.base()?.luma;
            let logs: Vec<f64> = idx
                .iter()
                .map(|&i| (f64::from(luma[i]) / f64::from(base[i])).ln())
                .collect();
            let mean = logs.iter().sum::<f64>() / logs.len() as f64;
            let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len() as f64;
            let q = quality_for_scale(100.0 * mean.exp());
            Some((*family, round1(q), (var.sqrt() * 1000.0).round() / 1000.0))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
}
