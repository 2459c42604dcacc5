//! The shared corpus of real, unusual and malformed files: no panics, clear errors, header facts
//! that agree with the corpus manifest (made by an independent Python parser), a golden manifest
//! of answers, truncation sweeps, and header-only I/O.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jpgtool::quality::Family;
use jpgtool::{Error, Inspection, inspect_file};

use crate::util::{corpus, sorted_files};

const FOLDERS: [&str; 3] = ["real", "edge", "bad"];

fn corpus_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for folder in FOLDERS {
        for path in sorted_files(&root.join(folder)) {
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, path));
        }
    }
    files
}

/// One stable line per file for the golden manifest.
fn describe(result: &Result<Inspection, Error>) -> String {
    match result {
        Err(e) => format!("error\t{e}"),
        Ok(found) => {
            let est = &found.estimate;
            let q = |r: Option<jpgtool::quality::QualityRange>| match r {
                None => "-".to_string(),
                Some(r) if r.is_single() => format!("{}", r.min),
                Some(r) => format!("{}-{}", r.min, r.max),
            };
            let setting = match est.family {
                Family::Known(name) => name.to_string(),
                _ => "-".to_string(),
            };
            format!(
                "ok\t{}\t{}\t{}\t{}\t{}\t{}x{}\t{}",
                est.family.name(),
                est.confidence.name(),
                q(est.quality),
                q(est.chroma_quality),
                found.header.subsampling(),
                found.header.frame.width,
                found.header.frame.height,
                setting
            )
        }
    }
}

#[test]
fn every_corpus_file_gives_a_result_or_a_clear_error() {
    let root = corpus();
    let mut lines = Vec::new();
    for (name, path) in corpus_files(&root) {
        let start = Instant::now();
        let result = std::panic::catch_unwind(|| inspect_file(&path, true))
            .unwrap_or_else(|_| panic!("{name}: panicked"));
        // Generous: a hang detector, not a speed test (the largest file takes milliseconds).
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name}: too slow"
        );
        match &result {
            Ok(found) => {
                assert!(
                    found.estimate.quality.is_some() || found.estimate.family == Family::Lossless,
                    "{name}: no quality"
                );
            }
            Err(e) => {
                assert!(!name.starts_with("real/"), "{name}: real file failed: {e}");
                assert!(e.to_string().len() > 10, "{name}: vague error {e}");
            }
        }
        lines.push(format!("{name}\t{}", describe(&result)));
    }
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/golden-quality.tsv");
    let actual = lines.join("\n") + "\n";
    if std::env::var_os("JPGTOOL_BLESS").is_some() {
        std::fs::write(&golden_path, &actual).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&golden_path)
        .expect("corpus/golden-quality.tsv missing: run with JPGTOOL_BLESS=1");
    let want: BTreeMap<_, _> = golden.lines().filter_map(|l| l.split_once('\t')).collect();
    let got: BTreeMap<_, _> = actual.lines().filter_map(|l| l.split_once('\t')).collect();
    let mut diffs = Vec::new();
    for (file, answer) in &got {
        match want.get(file) {
            Some(w) if w == answer => {}
            Some(w) => diffs.push(format!("{file}\n  was {w}\n  now {answer}")),
            None => diffs.push(format!("{file}: new: {answer}")),
        }
    }
    assert!(
        diffs.is_empty(),
        "answers changed (JPGTOOL_BLESS=1 accepts them):\n{}",
        diffs.join("\n")
    );
}

#[test]
fn non_jpeg_files_are_named_as_such() {
    let root = corpus();
    let cases = [
        ("bad/jpeg-decoder-relax-jpeg2000-jp2.jpg", "JPEG 2000"),
        ("bad/jxl-testdata-cropped_traffic_light-jxl.jpg", "JPEG XL"),
        ("bad/pillow-tiff_strip_cmyk_jpeg-tif.jpg", "TIFF"),
        ("bad/charls-8bit-monochrome-2x2-jls.jpg", "JPEG-LS"),
        ("bad/jpeg-decoder-empty.jpg", "empty"),
    ];
    for (name, format) in cases {
        let err = inspect_file(&root.join(name), false).unwrap_err();
        assert!(
            matches!(err, Error::NotJpeg(_)) && err.to_string().contains(format),
            "{name}: {err}"
        );
    }
}

/// Rows of MANIFEST.tsv by path, as header name → value.
fn manifest(root: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let names: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|line| {
            let row: BTreeMap<String, String> = names
                .iter()
                .zip(line.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (row["path"].clone(), row)
        })
        .collect()
}

#[test]
fn header_fields_agree_with_the_corpus_manifest() {
    let root = corpus();
    let rows = manifest(&root);
    let mut compared = 0;
    for (name, path) in corpus_files(&root) {
        let Some(row) = rows.get(&name) else { continue };
        let Ok(found) = inspect_file(&path, true) else {
            continue;
        };
        let h = &found.header;
        assert_eq!(row["width"], h.frame.width.to_string(), "{name} width");
        assert_eq!(row["height"], h.frame.height.to_string(), "{name} height");
        assert_eq!(
            row["components"],
            h.frame.components.len().to_string(),
            "{name} components"
        );
        assert_eq!(row["subsampling"], h.subsampling(), "{name} subsampling");
        assert_eq!(
            row["progressive"] == "y",
            h.frame.kind.process() == jpgtool::jpeg::Process::Progressive,
            "{name} progressive"
        );
        assert_eq!(
            row["arithmetic"] == "y",
            h.frame.kind.is_arithmetic(),
            "{name} arithmetic"
        );
        // "4/8": the interval changes between scans; the header holds the first.
        let first_interval = row["restart_interval"].split('/').next().unwrap();
        assert_eq!(
            first_interval,
            h.restart_interval.to_string(),
            "{name} restart interval"
        );
        if !row["colorspace"].is_empty() && !row["colorspace"].contains("channel") {
            assert_eq!(row["colorspace"], h.color_space().name(), "{name} colour");
        }
        compared += 1;
    }
    assert!(compared > 150, "only {compared} files compared");
}

/// A file reader that counts the bytes it hands out.
struct Counting {
    file: File,
    bytes_read: u64,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.bytes_read += n as u64;
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

#[test]
fn header_only_reading_skips_metadata_and_scan_data() {
    let root = corpus();
    // Camera files with EXIF thumbnails and maker notes of tens of KiB.
    for name in ["real/mde-Nikon_D70.jpg", "real/mde-Pentax_ist_D.jpg"] {
        let path = root.join(name);
        let size = std::fs::metadata(&path).unwrap().len();
        let mut counting = Counting {
            file: File::open(&path).unwrap(),
            bytes_read: 0,
        };
        let header = jpgtool::jpeg::read_header_seekable(&mut counting).unwrap();
        assert!(header.exif);
        assert!(
            counting.bytes_read <= 32 * 1024 && counting.bytes_read < header.scan_offset,
            "{name}: read {} bytes of {size}; scan starts at {}",
            counting.bytes_read,
            header.scan_offset
        );
    }
}

#[test]
fn truncation_sweep_never_panics_and_keeps_answers_once_headers_are_complete() {
    let root = corpus();
    let files = [
        "real/mde-Canon_EOS_D60.jpg",
        "real/exif-samples-mobile-jolla.jpg",
        "edge/jpeg-decoder-16bit-qtables.jpg",
        "edge/go-fuzz-corpus-video-001.q50.420.progressive.jpg",
        "edge/lepton-arithmetic.jpg",
    ];
    let dir = tempfile::tempdir().unwrap();
    for name in files {
        let bytes = std::fs::read(root.join(name)).unwrap();
        let full = jpgtool::jpeg::read_header(&bytes[..]).unwrap();
        let full_quality = jpgtool::quality::estimate(&full);
        let step = (bytes.len() / 400).max(1);
        let cut_path = dir.path().join("cut.jpg");
        for len in (0..bytes.len())
            .step_by(step)
            .chain(full.scan_offset as usize - 3..full.scan_offset as usize + 3)
        {
            let prefix = &bytes[..len.min(bytes.len())];
            match jpgtool::jpeg::read_header(prefix) {
                Ok(h) => {
                    assert!(prefix.len() as u64 >= h.scan_offset, "{name}@{len}");
                    assert_eq!(jpgtool::quality::estimate(&h), full_quality);
                }
                Err(Error::Truncated { .. } | Error::NotJpeg(_)) => {
                    assert!((prefix.len() as u64) < full.scan_offset, "{name}@{len}");
                }
                Err(e) => panic!("{name}@{len}: unexpected {e}"),
            }
            // The whole-file path, with the pass to EOI, on the same prefix.
            std::fs::write(&cut_path, prefix).unwrap();
            if let Ok(found) = inspect_file(&cut_path, true) {
                let end = found.image_end.unwrap();
                assert!(!end.found_eoi || len == bytes.len(), "{name}@{len}");
            }
        }
    }
}
