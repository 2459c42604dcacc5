//! One file's `quality` report as typed fields, in the order of the JSON object's keys: the one
//! definition of the fields that `jpgtool quality --json` prints (through [`Report::to_json`])
//! and that the Python binding turns into a dict (through [`Report::visit`]) without building a
//! JSON value first, so that the two cannot drift apart.

use serde_json::{Map, Value};

use super::history::PrimaryConfidence;
use super::inspect::{HistoryReport, Inspection};
use super::{Confidence, Family, QualityRange};
use crate::jpeg::ImageEnd;

/// One field's value, as JSON shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number with a fraction part; JSON has no NaN or infinity, which are `null` there.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// A quality range, `[min, max]`.
    Range(f64, f64),
    /// The file's name, as the caller shows it (the `path` field).
    Path,
}

impl Field<'_> {
    fn float(value: Option<f64>) -> Self {
        value.map_or(Field::Null, Field::Float)
    }

    fn int(value: Option<i64>) -> Self {
        value.map_or(Field::Null, Field::Int)
    }

    fn text(value: Option<&str>) -> Field<'_> {
        value.map_or(Field::Null, Field::Str)
    }

    /// The JSON value (`path` given for [`Field::Path`]).
    pub fn to_json(self, path: &str) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Bool(b) => Value::Bool(b),
            Field::Int(i) => Value::from(i),
            // `Value::from` makes NaN and infinities `null`.
            Field::Float(x) => Value::from(x),
            Field::Str(s) => Value::from(s),
            Field::Range(lo, hi) => Value::Array(vec![Value::from(lo), Value::from(hi)]),
            Field::Path => Value::from(path),
        }
    }
}

/// The fields of the primary-quality analysis, present when it was asked for.
#[derive(Debug, Clone, PartialEq)]
struct HistoryFields {
    primary: Option<QualityRange>,
    confidence: Option<PrimaryConfidence>,
    score: Option<f64>,
    evidence: Option<f64>,
    blocks: Option<u64>,
    reason: Option<String>,
    effective: Option<f64>,
}

/// What `quality` reports for one file: the values behind every field, computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    family: Family,
    confidence: Confidence,
    quality: Option<QualityRange>,
    chroma_quality: Option<QualityRange>,
    ijg_equivalent: Option<f64>,
    decision_quality: Option<f64>,
    nearest: Option<(Family, f64, f64)>,
    clamped: bool,
    tables: u8,
    unused_tables: u8,
    shared_table: bool,
    table_bits: u8,
    frame: &'static str,
    sof: u8,
    arithmetic: bool,
    precision: u8,
    width: u16,
    height: u16,
    components: usize,
    color_space: &'static str,
    subsampling: &'static str,
    sampling_factors: String,
    restart_interval: u16,
    photoshop_save_as: Option<i32>,
    save_for_web: Option<u32>,
    file_bytes: u64,
    end: Option<ImageEnd>,
    bpp: Option<f64>,
    bpp_file: Option<f64>,
    history: Option<HistoryFields>,
}

fn round_to(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

impl Report {
    /// The report of `found`; `native` and `margin` set `decision_quality`
    /// ([`super::Estimate::decision_quality`]).
    pub fn new(found: &Inspection, native: bool, margin: f64) -> Report {
        let est = &found.estimate;
        let header = &found.header;
        let frame = &header.frame;
        let table_bits = if header.quant_tables.iter().flatten().any(|t| t.sixteen_bit) {
            16
        } else {
            8
        };
        let history = found.history.as_ref().map(|report| {
            let analysis = report.analysed();
            HistoryFields {
                primary: analysis.and_then(|h| h.primary),
                confidence: analysis.and_then(|h| h.confidence),
                score: analysis.and_then(|h| h.score).map(|s| round_to(s, 1000.0)),
                evidence: analysis.map(|h| h.evidence.round()),
                blocks: analysis.map(|h| h.blocks),
                reason: HistoryReport::reason(report),
                effective: found.effective_quality().map(|q| round_to(q, 10.0)),
            }
        });
        Report {
            family: est.family,
            confidence: est.confidence,
            quality: est.quality,
            chroma_quality: est.chroma_quality,
            ijg_equivalent: est.ijg_equivalent,
            decision_quality: est.decision_quality(native, margin),
            nearest: est.nearest,
            clamped: est.clamped,
            tables: est.layout.used,
            unused_tables: est.layout.unused,
            shared_table: est.layout.shared,
            table_bits,
            frame: frame.kind.name(),
            sof: frame.kind.number(),
            arithmetic: frame.kind.is_arithmetic(),
            precision: frame.precision,
            width: frame.width,
            height: frame.height,
            components: frame.components.len(),
            color_space: header.color_space().name(),
            subsampling: header.subsampling(),
            sampling_factors: header.sampling_factors(),
            restart_interval: header.restart_interval,
            photoshop_save_as: header.photoshop_quality,
            save_for_web: header.save_for_web_quality,
            file_bytes: found.file_bytes,
            end: found.image_end,
            bpp: found.bpp().map(|b| round_to(b, 1000.0)),
            bpp_file: found.bpp_file().map(|b| round_to(b, 1000.0)),
            history,
        }
    }

    /// Calls `f` with each field's key and value, keys in ascending (byte) order, as a JSON
    /// object with sorted keys lists them. The `primary_*` fields and `effective_quality` come
    /// only when the primary-quality analysis was asked for.
    pub fn visit(&self, mut f: impl FnMut(&'static str, Field<'_>)) {
        let range = |r: Option<QualityRange>| r.map_or(Field::Null, |r| Field::Range(r.min, r.max));
        let low = |r: Option<QualityRange>| Field::float(r.map(|r| r.min));
        let end = self.end;
        let family = self.family.name();
        let nearest_family = self.nearest.map(|(family, _, _)| family.name());
        let setting = match self.family {
            Family::Known(name) => Some(name),
            _ => None,
        };
        let history = self.history.as_ref();
        f("arithmetic", Field::Bool(self.arithmetic));
        f("bpp", Field::float(self.bpp));
        f("bpp_file", Field::float(self.bpp_file));
        f("chroma_quality", low(self.chroma_quality));
        f("chroma_quality_range", range(self.chroma_quality));
        f("clamped", Field::Bool(self.clamped));
        f("coded_bytes", Field::int(end.map(|e| e.coded_bytes as i64)));
        f("color_space", Field::Str(self.color_space));
        f("components", Field::Int(self.components as i64));
        f("confidence", Field::Str(self.confidence.name()));
        f("decision_quality", Field::float(self.decision_quality));
        if let Some(h) = history {
            f("effective_quality", Field::float(h.effective));
        }
        f("eoi", end.map_or(Field::Null, |e| Field::Bool(e.found_eoi)));
        f("family", Field::Str(&family));
        f("file_bytes", Field::Int(self.file_bytes as i64));
        f("frame", Field::Str(self.frame));
        f("height", Field::Int(i64::from(self.height)));
        f("ijg_equivalent", Field::float(self.ijg_equivalent));
        f("nearest_family", Field::text(nearest_family.as_deref()));
        f("nearest_quality", Field::float(self.nearest.map(|n| n.1)));
        f("ok", Field::Bool(true));
        f("path", Field::Path);
        f(
            "photoshop_save_as",
            Field::int(self.photoshop_save_as.map(i64::from)),
        );
        f("precision", Field::Int(i64::from(self.precision)));
        if let Some(h) = history {
            f("primary_blocks", Field::int(h.blocks.map(|b| b as i64)));
            f(
                "primary_confidence",
                Field::text(h.confidence.map(|c| c.name())),
            );
            f("primary_evidence", Field::float(h.evidence));
            f("primary_quality", low(h.primary));
            f("primary_quality_range", range(h.primary));
            f("primary_reason", Field::text(h.reason.as_deref()));
            f("primary_score", Field::float(h.score));
        }
        f("quality", low(self.quality));
        f("quality_range", range(self.quality));
        f("residual", Field::float(self.nearest.map(|n| n.2)));
        f(
            "restart_interval",
            Field::Int(i64::from(self.restart_interval)),
        );
        f("sampling_factors", Field::Str(&self.sampling_factors));
        f("save_for_web", Field::int(self.save_for_web.map(i64::from)));
        f("scans", Field::int(end.map(|e| i64::from(e.scans))));
        f("setting", Field::text(setting));
        f("shared_table", Field::Bool(self.shared_table));
        f("sof", Field::Int(i64::from(self.sof)));
        f("subsampling", Field::Str(self.subsampling));
        f("table_bits", Field::Int(i64::from(self.table_bits)));
        f("tables", Field::Int(i64::from(self.tables)));
        f("unused_tables", Field::Int(i64::from(self.unused_tables)));
        f("width", Field::Int(i64::from(self.width)));
    }

    /// The JSON object `jpgtool quality --json` prints (documented in README.md, "JSON
    /// output"; field names are stable), `path` shown as given.
    pub fn to_json(&self, path: &str) -> Value {
        let mut map = Map::new();
        self.visit(|key, field| {
            map.insert(key.to_string(), field.to_json(path));
        });
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn report(history: bool) -> Report {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/sample-q75.jpg"),
        )
        .unwrap();
        let found =
            super::super::inspect_bytes_opts(&bytes, true, history, &Limits::default()).unwrap();
        Report::new(&found, false, 5.0)
    }

    #[test]
    fn keys_come_in_ascending_order_once_each() {
        for history in [false, true] {
            let mut keys = Vec::new();
            report(history).visit(|key, _| keys.push(key));
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
            assert_eq!(keys.iter().any(|k| k.starts_with("primary_")), history);
        }
    }

    #[test]
    fn json_floats_without_a_value_are_null() {
        assert_eq!(Field::Float(f64::NAN).to_json(""), Value::Null);
        assert_eq!(Field::Path.to_json("a.jpg"), Value::from("a.jpg"));
        assert_eq!(
            Field::Range(1.0, 2.0).to_json(""),
            serde_json::json!([1.0, 2.0])
        );
    }
}
