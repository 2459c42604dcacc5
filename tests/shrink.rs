//! `shrink`: output sizes, fidelity against an independent reference (a full decode by zune-jpeg
//! followed by an exact box average computed here), the DC-only path against libjpeg's own 1/8,
//! bad input, independence from input chunking, and the safety of outputs.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use jpgtool::Error;
use jpgtool::shrink::{self, DecodePath, Options, Target};

use crate::util::{
    assert_success, cjpeg, corpus, jpgtool, jpgtool_with_default_signals, sorted_files, test_rgb,
    write_pnm,
};

/// Decoded samples, interleaved.
#[derive(Debug)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

/// A full-size decode by zune-jpeg (a decoder that shares no code with libjpeg).
fn zune_decode(bytes: &[u8]) -> Option<Image> {
    let options = zune_jpeg::zune_core::options::DecoderOptions::default()
        .set_max_width(65535)
        .set_max_height(65535);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(io::Cursor::new(bytes), options);
    let data = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode()))
        .ok()?
        .ok()?;
    let info = decoder.info()?;
    let channels = decoder.output_colorspace()?.num_components();
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    (data.len() == width * height * channels).then_some(Image {
        width,
        height,
        channels,
        data,
    })
}

/// A full-size decode by libjpeg in the file's own colour space, for files zune-jpeg refuses
/// (arithmetic coding, some CMYK).
pub(crate) fn libjpeg_decode(bytes: &[u8]) -> Option<Image> {
    let mut decoder = jpgtool::codec::Decoder::start(bytes, 8).ok()?;
    let (width, height, channels) = (decoder.width(), decoder.height(), decoder.channels());
    let mut data = vec![0u8; width * height * channels];
    decoder.read_rows(&mut data).ok()?;
    Some(Image {
        width,
        height,
        channels,
        data,
    })
}

/// Exact area average: output pixel (x, y) is the mean of the input pixels in
/// `[x*f, (x+1)*f) x [y*f, (y+1)*f)`; past the image's edge the last row and column repeat,
/// as libjpeg's encoder pads partial blocks (so edge blocks are averaged as libjpeg sees them).
pub(crate) fn box_average(image: &Image, factor: usize, width: usize, height: usize) -> Vec<f64> {
    let ch = image.channels;
    let mut out = vec![0f64; width * height * ch];
    let n = (factor * factor) as f64;
    let mut sums = vec![0u64; ch];
    for y in 0..height {
        for x in 0..width {
            sums.iter_mut().for_each(|s| *s = 0);
            for yy in y * factor..(y + 1) * factor {
                let row = yy.min(image.height - 1) * image.width;
                for xx in x * factor..(x + 1) * factor {
                    let at = (row + xx.min(image.width - 1)) * ch;
                    for (c, sum) in sums.iter_mut().enumerate() {
                        *sum += u64::from(image.data[at + c]);
                    }
                }
            }
            for (c, sum) in sums.iter().enumerate() {
                out[(y * width + x) * ch + c] = *sum as f64 / n;
            }
        }
    }
    out
}

pub(crate) fn psnr(reference: &[f64], image: &[u8]) -> f64 {
    assert_eq!(reference.len(), image.len());
    let mse = reference
        .iter()
        .zip(image)
        .map(|(r, &v)| (r - f64::from(v)).powi(2))
        .sum::<f64>()
        / reference.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

pub(crate) fn shrink_bytes(
    input: &[u8],
    options: &Options,
) -> jpgtool::Result<(shrink::Report, Vec<u8>)> {
    shrink::shrink(input, Vec::new(), options)
}

fn corpus_files(dirs: &[&str]) -> Vec<PathBuf> {
    let root = corpus();
    dirs.iter()
        .flat_map(|dir| sorted_files(&root.join(dir)))
        .collect()
}

/// Floor on the PSNR of our output against the exact box average of the full-size input, both
/// decoded by the same decoder, output at quality 95. A sanity bound for every corpus file (tiny
/// images lose at their padded edges, and kept 4:1:1 or subsampled-RGB chroma is coarse at
/// 1/8: the worst real case is 20.3 dB); the fidelity target proper, "as good as
/// djpeg -scale | cjpeg", is checked on generated files by `fidelity_matches_djpeg_cjpeg`.
const MIN_PSNR_DB: f64 = 18.0;

#[test]
fn corpus_files_shrink_to_libjpeg_sizes_and_match_an_exact_box_average() {
    let mut shrunk = 0;
    let mut unsupported = Vec::new();
    let mut worst: (f64, String) = (f64::INFINITY, String::new());
    for path in corpus_files(&["real", "edge"]) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let header = match jpgtool::jpeg::read_header(&bytes[..]) {
            Ok(h) => h,
            Err(_) => continue, // not a JPEG our parser accepts; the corpus tests cover it
        };
        // zune-jpeg is the independent decoder; where it cannot decode a file, or decodes it
        // unlike libjpeg (it mishandles some odd samplings of the edge corpus), both sides are
        // decoded by libjpeg instead.
        let by_libjpeg = libjpeg_decode(&bytes);
        let reference = zune_decode(&bytes).filter(|z| match &by_libjpeg {
            Some(l) if l.data.len() == z.data.len() => {
                let as_f64: Vec<f64> = l.data.iter().map(|&v| f64::from(v)).collect();
                psnr(&as_f64, &z.data) >= 30.0
            }
            _ => false,
        });
        let fallback = if reference.is_none() {
            by_libjpeg
        } else {
            None
        };
        for eighths in [4u8, 2, 1] {
            let options = Options {
                target: Target::Eighths(eighths),
                quality: Some(95),
                ..Options::default()
            };
            let (report, out) = match shrink_bytes(&bytes, &options) {
                Ok(r) => r,
                Err(e @ (Error::Unsupported(_) | Error::LimitExceeded { .. })) => {
                    unsupported.push(format!("{name}: {e}"));
                    break;
                }
                Err(e) => panic!("{name} at {eighths}/8: {e}"),
            };
            let (w, h) = (
                u32::from(header.frame.width),
                u32::from(header.frame.height),
            );
            let expected = (
                (w * u32::from(eighths)).div_ceil(8),
                (h * u32::from(eighths)).div_ceil(8),
            );
            assert_eq!(report.output, expected, "{name} at {eighths}/8");
            let out_header = jpgtool::jpeg::read_header(&out[..]).unwrap();
            assert_eq!(
                (
                    out_header.frame.width.into(),
                    out_header.frame.height.into()
                ),
                expected,
                "{name}"
            );
            // Fidelity, decoded by the same decoder on both sides. Images under 64 px a side
            // are skipped: their edge blocks dominate, and those hold whatever padding the
            // encoder chose.
            if w < 64 || h < 64 {
                continue;
            }
            let pair = match (&reference, &fallback) {
                (Some(full), _) => zune_decode(&out).map(|small| (full, small)),
                (None, Some(full)) => libjpeg_decode(&out).map(|small| (full, small)),
                _ => None,
            };
            let Some((full, small)) = pair else {
                continue;
            };
            let factor = usize::from(8 / eighths);
            let expected_box = box_average(full, factor, small.width, small.height);
            assert_eq!(full.channels, small.channels, "{name}");
            let db = psnr(&expected_box, &small.data);
            if db < worst.0 {
                worst = (db, format!("{name} at {eighths}/8"));
            }
            assert!(
                db >= MIN_PSNR_DB,
                "{name} at {eighths}/8: {db:.2} dB against the box average"
            );
            shrunk += 1;
        }
    }
    eprintln!(
        "shrunk {shrunk} (file, scale) pairs; worst PSNR {:.2} dB ({}); unsupported: {unsupported:#?}",
        worst.0, worst.1
    );
    // 390 pairs from the 178 files of real/ and edge/: a floor that notices a shrinking corpus.
    assert!(shrunk >= 390, "only {shrunk} shrinks checked");
}

/// Generates test JPEGs with cjpeg (libjpeg-turbo) in `dir`.
pub(crate) fn generated(
    dir: &Path,
    name: &str,
    width: usize,
    height: usize,
    args: &[&str],
) -> Vec<u8> {
    let ppm = dir.join(format!("{name}.ppm"));
    write_pnm(&ppm, width, height, 3, &test_rgb(width, height));
    let jpg = dir.join(format!("{name}.jpg"));
    cjpeg(args, &ppm, &jpg);
    std::fs::read(jpg).unwrap()
}

/// libjpeg-turbo's own pipeline at the same scale and quality: `djpeg -scale M/8 | cjpeg`.
pub(crate) fn djpeg_cjpeg(dir: &Path, input: &Path, eighths: u8, cjpeg_args: &[&str]) -> Vec<u8> {
    let scaled = dir.join("scaled.pnm");
    let status = std::process::Command::new("djpeg")
        .args(["-scale", &format!("{eighths}/8"), "-outfile"])
        .arg(&scaled)
        .arg(input)
        .status()
        .expect("djpeg not found: install libjpeg-turbo-progs (.ci/run does)");
    assert!(status.success());
    let out = dir.join("ref.jpg");
    cjpeg(cjpeg_args, &scaled, &out);
    std::fs::read(out).unwrap()
}

/// Every coding variant shrinks to libjpeg's sizes without warnings, and (the fidelity target)
/// its PSNR against the exact box average is within 0.1 dB of `djpeg -scale | cjpeg` at the same
/// quality and sampling, and its size within 1 %.
#[test]
fn every_format_variant_shrinks_as_well_as_djpeg_cjpeg() {
    let dir = tempfile::tempdir().unwrap();
    let variants: &[(&str, &[&str], &[&str])] = &[
        ("420", &[], &[]),
        ("444", &["-sample", "1x1"], &["-sample", "1x1"]),
        ("422", &["-sample", "2x1"], &["-sample", "2x1"]),
        ("440", &["-sample", "1x2"], &["-sample", "1x2"]),
        ("411", &["-sample", "4x1"], &["-sample", "4x1"]),
        ("gray", &["-grayscale"], &["-grayscale"]),
        ("restart", &["-restart", "1"], &[]),
        ("arith", &["-arithmetic"], &[]),
        ("progressive", &["-progressive"], &[]),
        (
            "rgb",
            &["-rgb", "-sample", "1x1"],
            &["-rgb", "-sample", "1x1"],
        ),
    ];
    for (name, args, ref_args) in variants {
        let args: Vec<&str> = ["-quality", "90"]
            .iter()
            .chain(args.iter())
            .copied()
            .collect();
        let bytes = generated(dir.path(), name, 403, 301, &args);
        let input = dir.path().join(format!("{name}.jpg"));
        let full = libjpeg_decode(&bytes).unwrap();
        for eighths in [4u8, 2, 1, 3] {
            let options = Options {
                target: Target::Eighths(eighths),
                quality: Some(95),
                ..Options::default()
            };
            let (report, out) =
                shrink_bytes(&bytes, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
            let small = libjpeg_decode(&out).unwrap();
            assert_eq!(
                (small.width, small.height),
                (
                    (403 * usize::from(eighths)).div_ceil(8),
                    (301 * usize::from(eighths)).div_ceil(8)
                ),
                "{name}"
            );
            assert_eq!(report.warnings.count, 0, "{name}");
            if 8 % eighths != 0 {
                continue;
            }
            let ref_args: Vec<&str> = ["-quality", "95"]
                .iter()
                .chain(ref_args.iter())
                .copied()
                .collect();
            let theirs = djpeg_cjpeg(dir.path(), &input, eighths, &ref_args);
            let theirs_img = libjpeg_decode(&theirs).unwrap();
            let reference = box_average(&full, usize::from(8 / eighths), small.width, small.height);
            let ours_db = psnr(&reference, &small.data);
            let theirs_db = psnr(&reference, &theirs_img.data);
            assert!(
                ours_db >= theirs_db - 0.1,
                "{name} at {eighths}/8: {ours_db:.2} dB, djpeg|cjpeg {theirs_db:.2} dB"
            );
            let ratio = out.len() as f64 / theirs.len() as f64;
            // Progressive input at 1/2 and 1/4 goes through jpgtool's own decoder, whose
            // box-weighted IDCT of 4x4 (2x2) coefficients gives slightly smoother pixels than
            // libjpeg's reduced IDCT: measured 1.0 % smaller at 1/2.
            let sizes = if matches!(report.path, DecodePath::Bands { .. }) {
                0.97..=1.01
            } else {
                0.99..=1.01
            };
            assert!(
                sizes.contains(&ratio),
                "{name} at {eighths}/8: {} bytes vs djpeg|cjpeg {}",
                out.len(),
                theirs.len()
            );
        }
    }
}

#[test]
fn other_factors_resample_to_rounded_sizes_close_to_the_box_average() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(
        dir.path(),
        "photo",
        900,
        600,
        &["-quality", "95", "-sample", "1x1"],
    );
    let full = zune_decode(&bytes).unwrap();
    for (factor, filter, min_db) in [
        (3.0, shrink::Filter::Area, 32.0),
        (5.0, shrink::Filter::Area, 32.0),
        (10.0, shrink::Filter::Area, 32.0),
        (3.0, shrink::Filter::Lanczos3, 26.0),
    ] {
        let options = Options {
            target: Target::Factor(factor),
            quality: Some(95),
            filter,
            ..Options::default()
        };
        let (report, out) = shrink_bytes(&bytes, &options).unwrap();
        let (w, h) = (
            (900.0 / factor).round() as usize,
            (600.0 / factor).round() as usize,
        );
        assert_eq!(report.output, (w as u32, h as u32));
        assert!(report.plan.resamples());
        let small = zune_decode(&out).unwrap();
        assert_eq!((small.width, small.height), (w, h));
        // Integer factors divide 900x600 exactly, so the box is exact.
        let reference = box_average(&full, factor as usize, w, h);
        let db = psnr(&reference, &small.data);
        assert!(db >= min_db, "factor {factor} {filter:?}: {db:.2} dB");
    }
}

/// Reads in chunks of pseudo-random sizes (1 to 4096 bytes), as a pipe or socket might deliver.
struct Chunked<'a> {
    data: &'a [u8],
    state: u64,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let n = ((self.state % 4096) as usize + 1)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn output_does_not_depend_on_input_chunking() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args, eighths) in [
        ("baseline", &["-quality", "80"][..], 4u8),
        ("restart", &["-quality", "80", "-restart", "1"][..], 2),
        ("progressive", &["-quality", "80", "-progressive"][..], 1),
        ("progressive2", &["-quality", "80", "-progressive"][..], 4),
    ] {
        let bytes = generated(dir.path(), name, 333, 257, args);
        let options = Options {
            target: Target::Eighths(eighths),
            ..Options::default()
        };
        let (_, whole) = shrink_bytes(&bytes, &options).unwrap();
        for seed in 1..4u64 {
            let reader = Chunked {
                data: &bytes,
                state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            };
            let (_, chunked) = shrink::shrink(reader, Vec::new(), &options).unwrap();
            assert!(
                whole == chunked,
                "{name}: output differs with chunking seed {seed}"
            );
        }
    }
}

#[test]
fn multi_scan_input_over_the_memory_budget_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(dir.path(), "prog", 640, 480, &["-progressive"]);
    // At 1/2 jpgtool's own decoder needs 82 bytes per block (a 64-bit non-zero mask and the
    // 49 coefficients libjpeg's 4x4 IDCT reads, 12 bits each: 652 bits); from a reader that
    // cannot be read twice (so no bands), over the budget is refused before decoding.
    let options = Options {
        target: Target::Eighths(4),
        max_memory: 100_000,
        ..Options::default()
    };
    match shrink_bytes(&bytes, &options) {
        Err(Error::LimitExceeded { value, limit, .. }) => {
            assert_eq!(value, (80 * 60 + 2 * 40 * 30) * 82);
            assert_eq!(limit, 100_000);
        }
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.0)),
    }
    // At 3/8 libjpeg decodes it, with every coefficient in memory.
    let options = Options {
        target: Target::Eighths(3),
        ..options
    };
    // 640x480 4:2:0: (80*60 + 2 * 40*30) blocks * 128 bytes.
    match shrink_bytes(&bytes, &options) {
        Err(Error::LimitExceeded { value, limit, .. }) => {
            assert_eq!(value, (80 * 60 + 2 * 40 * 30) * 128);
            assert_eq!(limit, 100_000);
        }
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.0)),
    }
    let options = Options {
        max_memory: 2 << 20,
        ..options
    };
    let (report, _) = shrink_bytes(&bytes, &options).unwrap();
    assert_eq!(
        report.path,
        DecodePath::Buffered {
            coefficient_bytes: (80 * 60 + 2 * 40 * 30) * 128
        }
    );
}

#[test]
fn decompression_bomb_header_is_refused_at_once() {
    // SOF0 claiming 65535x65535, three components, then nothing.
    let mut bomb = b"\xFF\xD8\xFF\xDB\x00\x43\x00".to_vec();
    bomb.extend([1u8; 64]);
    bomb.extend(b"\xFF\xC0\x00\x11\x08\xFF\xFF\xFF\xFF\x03\x01\x22\x00\x02\x11\x00\x03\x11\x00");
    bomb.extend(b"\xFF\xDA\x00\x0C\x03\x01\x00\x02\x11\x03\x11\x00\x3F\x00");
    match shrink_bytes(&bomb, &Options::default()) {
        Err(Error::LimitExceeded { what, .. }) => assert_eq!(what, "pixel count"),
        Err(Error::Format { .. }) => {} // a missing DHT may be caught first
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.0)),
    }
}

#[test]
fn cli_never_writes_over_its_input_and_in_place_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(dir.path(), "in", 320, 240, &["-quality", "90"]);
    let input = dir.path().join("in.jpg");

    let out = jpgtool()
        .args(["shrink", "--quiet"])
        .arg(&input)
        .arg("-o")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--in-place"));
    assert_eq!(std::fs::read(&input).unwrap(), bytes, "input changed");

    let out = jpgtool()
        .args(["shrink", "--quiet", "--in-place", "--scale", "1/4"])
        .arg(&input)
        .output()
        .unwrap();
    assert_success(&out);
    let header = jpgtool::jpeg::read_header(&std::fs::read(&input).unwrap()[..]).unwrap();
    assert_eq!((header.frame.width, header.frame.height), (80, 60));
    assert_no_temp_files(dir.path());
}

fn assert_no_temp_files(dir: &Path) {
    for entry in walkdir_all(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(jpgtool::atomic::TEMP_PREFIX),
            "left behind: {name}"
        );
    }
}

fn walkdir_all(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn cli_batch_mirrors_folders_and_goes_on_after_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let bytes = generated(dir.path(), "a", 160, 120, &[]);
    std::fs::write(src.join("a.jpg"), &bytes).unwrap();
    std::fs::write(src.join("sub/b.jpg"), &bytes).unwrap();
    std::fs::write(src.join("sub/broken.jpg"), &bytes[..600]).unwrap();
    std::fs::write(src.join("sub/not.jpg"), b"GIF89a....").unwrap();
    let out_dir = dir.path().join("out");
    let out = jpgtool()
        .args(["shrink", "--quiet", "--strict", "-r", "--scale", "1/2"])
        .arg(&src)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("broken.jpg") && stderr.contains("not.jpg"),
        "{stderr}"
    );
    assert!(out_dir.join("a.jpg").is_file());
    assert!(out_dir.join("sub/b.jpg").is_file());
    assert!(!out_dir.join("sub/broken.jpg").exists());
    assert!(!out_dir.join("sub/not.jpg").exists());
    assert_no_temp_files(dir.path());
}

#[test]
fn truncated_data_warns_by_default_and_fails_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(dir.path(), "t", 400, 300, &[]);
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let lenient = dir.path().join("lenient.jpg");
    let out = jpgtool()
        .args(["shrink", "--quiet"])
        .arg(&cut)
        .arg("-o")
        .arg(&lenient)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
    assert!(lenient.is_file());

    let strict = dir.path().join("strict.jpg");
    let out = jpgtool()
        .args(["shrink", "--quiet", "--strict"])
        .arg(&cut)
        .arg("-o")
        .arg(&strict)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!strict.exists());
    assert_no_temp_files(dir.path());
}

/// Every malformed file of the shared corpus: with --strict an error and no output; without it
/// either an error and no output, or an output and a warning (libjpeg's partial decode).
#[test]
fn bad_corpus_files_give_an_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus_files(&["bad"]);
    let mut strict_ok = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for strict in [true, false] {
            let output = dir.path().join(format!("{strict}-{name}"));
            let mut cmd = jpgtool();
            cmd.args(["shrink", "--quiet", "--scale", "1/2"]);
            if strict {
                cmd.arg("--strict");
            }
            let out = cmd.arg(path).arg("-o").arg(&output).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(1) => {
                    assert!(
                        stderr.contains(&name),
                        "{name}: error must name the file: {stderr}"
                    );
                    assert!(!output.exists(), "{name}: output left after an error");
                }
                Some(0) if strict => strict_ok.push(name.clone()),
                Some(0) => {
                    assert!(output.is_file());
                }
                other => panic!("{name}: exit {other:?}: {stderr}"),
            }
        }
    }
    assert!(strict_ok.is_empty(), "accepted by --strict: {strict_ok:?}");
    assert_no_temp_files(dir.path());
}

/// The DC-only path against libjpeg's own 1/8 (the buffered path), through the whole pipeline at
/// quality 100: luma is the 1x1 IDCT of the same DC values, so the encoded luma is identical.
/// Chroma differs by libjpeg's 2x2 chroma IDCT versus the block mean: within 1 per chroma sample
/// before encoding (proved in `jpeg::dc`'s unit tests against libjpeg), at most 3 after the q100
/// encode and the fancy-upsampled decode of both outputs, and 0.5 on average.
#[test]
fn dc_only_path_matches_libjpeg_at_one_eighth() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, args) in [
        ("p420", &["-progressive"][..]),
        ("p444", &["-progressive", "-sample", "1x1"][..]),
        ("p422", &["-progressive", "-sample", "2x1"][..]),
        ("pgray", &["-progressive", "-grayscale"][..]),
        ("prestart", &["-progressive", "-restart", "1"][..]),
    ] {
        inputs.push((name.into(), generated(dir.path(), name, 517, 389, args)));
    }
    // Real photos, made progressive without re-encoding (jpegtran keeps the coefficients).
    for name in [
        "mde-Nikon_D70.jpg",
        "mde-HTC_One.jpg",
        "mde-Canon_PowerShot_G11.jpg",
    ] {
        let path = corpus().join("real").join(name);
        let out = dir.path().join("prog.jpg");
        let status = std::process::Command::new("jpegtran")
            .args(["-progressive", "-copy", "none", "-outfile"])
            .arg(&out)
            .arg(&path)
            .status()
            .expect("jpegtran (libjpeg-turbo-progs)");
        assert!(status.success());
        inputs.push((path.display().to_string(), std::fs::read(&out).unwrap()));
    }
    for (name, bytes) in &inputs {
        let run = |dc_only| {
            let options = Options {
                target: Target::Eighths(1),
                quality: Some(100),
                dc_only,
                ..Options::default()
            };
            shrink_bytes(bytes, &options).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (dc_report, dc_out) = run(true);
        let (lj_report, lj_out) = run(false);
        assert!(
            matches!(dc_report.path, DecodePath::DcOnly { .. }),
            "{name}"
        );
        assert!(
            matches!(lj_report.path, DecodePath::Buffered { .. }),
            "{name}"
        );
        let (a, b) = (
            libjpeg_decode(&dc_out).unwrap(),
            libjpeg_decode(&lj_out).unwrap(),
        );
        assert_eq!((a.width, a.height), (b.width, b.height));
        let (mut worst_chroma, mut chroma_sum, mut chroma_n) = (0, 0u64, 0u64);
        for (pa, pb) in a.data.chunks(a.channels).zip(b.data.chunks(b.channels)) {
            assert_eq!(pa[0], pb[0], "{name}: luma differs");
            for c in 1..a.channels {
                let d = pa[c].abs_diff(pb[c]);
                worst_chroma = worst_chroma.max(d);
                chroma_sum += u64::from(d);
                chroma_n += 1;
            }
        }
        assert!(
            worst_chroma <= 3,
            "{name}: chroma differs by {worst_chroma}"
        );
        let mean = chroma_sum as f64 / chroma_n.max(1) as f64;
        assert!(mean <= 0.5, "{name}: mean chroma difference {mean:.3}");
    }
}

/// EXIF, XMP and ICC survive a shrink, and the EXIF block changes only in its dimension tags.
#[test]
fn metadata_is_kept_and_exif_dimensions_follow_the_new_size() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/sample-photoshop.jpg");
    let bytes = std::fs::read(&path).unwrap();
    let options = Options {
        target: Target::Eighths(2),
        ..Options::default()
    };
    let (report, out) = shrink_bytes(&bytes, &options).unwrap();
    let before = jpgtool::jpeg::read_header(&bytes[..]).unwrap();
    let after = jpgtool::jpeg::read_header(&out[..]).unwrap();
    assert!(before.exif && before.xmp && before.icc);
    assert!(after.exif && after.xmp && after.icc, "{after:?}");
    assert_eq!(report.output, (88, 66));
    let exif = |b: &[u8]| {
        jpgtool::jpeg::metadata::collect_segments(b)
            .into_iter()
            .find(|(code, p)| *code == 0xE1 && p.starts_with(b"Exif"))
            .unwrap()
            .1
    };
    let (old, new) = (exif(&bytes), exif(&out));
    assert_eq!(old.len(), new.len());
    let changed = old.iter().zip(&new).filter(|(a, b)| a != b).count();
    assert!(
        (1..=8).contains(&changed),
        "{changed} bytes of EXIF changed"
    );
}

#[test]
fn cli_writes_to_stdout_with_dash() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/sample-q75.jpg");
    let out = jpgtool()
        .args(["shrink", "--scale", "1/4", "-o", "-"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let header = jpgtool::jpeg::read_header(&out.stdout[..]).unwrap();
    assert_eq!((header.frame.width, header.frame.height), (57, 38));
}

#[test]
fn smallest_is_progressive_smaller_and_checked_against_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generated(dir.path(), "s", 640, 480, &["-quality", "90"]);
    let plain = Options {
        target: Target::Eighths(4),
        quality: Some(85),
        ..Options::default()
    };
    let smallest = Options {
        smallest: true,
        ..plain
    };
    let (_, a) = shrink_bytes(&bytes, &plain).unwrap();
    let (_, b) = shrink_bytes(&bytes, &smallest).unwrap();
    let kind = |x: &[u8]| jpgtool::jpeg::read_header(x).unwrap().frame.kind.name();
    assert_eq!((kind(&a), kind(&b)), ("baseline", "progressive"));
    assert!(b.len() < a.len(), "{} >= {}", b.len(), a.len());
    // 320x240 4:2:0: 20x15 MCUs of 6 blocks, two coefficient copies of 128 bytes per block.
    let tight = Options {
        max_memory: 2 * 128 * 20 * 15 * 6 - 1,
        ..smallest
    };
    assert!(matches!(
        shrink_bytes(&bytes, &tight),
        Err(Error::LimitExceeded { value, .. }) if value == 2 * 128 * 20 * 15 * 6
    ));
}

/// Ctrl-C in the middle of a batch: the run stops with exit 130, every output that exists is a
/// complete JPEG (ends with EOI), and no temporary file is left.
#[test]
fn ctrl_c_during_a_batch_leaves_only_complete_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let bytes = generated(
        dir.path(),
        "big",
        2400,
        1800,
        &["-quality", "95", "-sample", "1x1"],
    );
    for i in 0..60 {
        std::fs::write(src.join(format!("{i:02}.jpg")), &bytes).unwrap();
    }
    // On a loaded machine the whole batch can end before the interrupt is sent: such a run
    // (exit 0, all 60 outputs) is tried again into a new folder.
    let mut attempt = 0;
    let (out_dir, out) = loop {
        attempt += 1;
        let out_dir = dir.path().join(format!("out{attempt}"));
        let child = jpgtool_with_default_signals()
            .args(["shrink", "--quiet", "-j", "1", "--factor", "3"])
            .arg(&src)
            .arg("-o")
            .arg(&out_dir)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the first outputs exist, then interrupt.
        let started = std::time::Instant::now();
        while std::fs::read_dir(&out_dir).map_or(0, |d| d.count()) < 3 {
            assert!(started.elapsed().as_secs() < 120, "no output appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        let finished = out.status.code() == Some(0) && walkdir_all(&out_dir).len() == 60;
        if !finished || attempt == 3 {
            break (out_dir, out);
        }
    };
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs: Vec<PathBuf> = walkdir_all(&out_dir);
    assert!(outputs.len() < 60, "the batch was not interrupted");
    for path in &outputs {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(jpgtool::atomic::TEMP_PREFIX),
            "left behind: {name}"
        );
        let data = std::fs::read(path).unwrap();
        assert!(data.ends_with(&[0xFF, 0xD9]), "{name} is incomplete");
        assert_eq!(
            jpgtool::jpeg::read_header(&data[..]).unwrap().frame.width,
            800
        );
    }
}

/// A writer that fails after `left` bytes, like a full disk.
struct FailingWriter {
    left: usize,
}

impl io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "disk full (simulated)",
            ));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A write failure anywhere (in the headers, mid-scan, at EOI) is an I/O error, never a panic,
/// through both decoders; the CLI's atomic writer then removes the partial file (tested in
/// `atomic`'s unit tests).
#[test]
fn write_failures_become_errors_at_every_point() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args, eighths) in [
        ("b", &["-quality", "90"][..], 4u8),
        ("p", &["-quality", "90", "-progressive"][..], 1),
    ] {
        let bytes = generated(dir.path(), name, 300, 200, args);
        let options = Options {
            target: Target::Eighths(eighths),
            ..Options::default()
        };
        let (_, full) = shrink_bytes(&bytes, &options).unwrap();
        for left in (0..full.len()).step_by(97) {
            match shrink::shrink(&bytes[..], FailingWriter { left }, &options) {
                Err(Error::Codec(_) | Error::Io(_)) => {}
                other => panic!(
                    "{name}: failing after {left} bytes gave {:?}",
                    other.map(|r| r.0)
                ),
            }
        }
    }
}
