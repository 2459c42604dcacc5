//! The progressive band decoder (`jpeg::progressive`, behind `shrink` at 1/2 and 1/4): its
//! entropy decoding against libjpeg's full decode, its output against `djpeg -scale | cjpeg`
//! and an exact box average, bands against a single pass, and damaged files.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use jpgtool::Limits;
use jpgtool::jpeg::progressive::{BandDecoder, plan_bands};
use jpgtool::jpeg::{Parser, Seekable};
use jpgtool::shrink::{self, DecodePath, Options, Target};

use crate::shrink::{box_average, djpeg_cjpeg, generated, libjpeg_decode, psnr};
use crate::util::{corpus, test_rgb, write_pnm};

/// Scan scripts for `jpegtran -scans` (libjpeg's `read_scan_script` syntax).
const SPECTRAL_ONLY: &str =
    "0,1,2: 0-0, 0, 0;\n0: 1-5, 0, 0;\n0: 6-63, 0, 0;\n1: 1-63, 0, 0;\n2: 1-63, 0, 0;\n";
/// Non-interleaved DC scans, AC bands that straddle the kept 4x4 and 2x2 squares, two
/// refinement steps, and a band refined in pieces other than the ones it was first sent in.
const AWKWARD: &str = "0: 0-0, 0, 2;\n1: 0-0, 0, 1;\n2: 0-0, 0, 0;\n0: 1-9, 0, 3;\n0: 10-63, 0, 2;\n1: 1-63, 0, 1;\n2: 1-2, 0, 0;\n2: 3-63, 0, 0;\n0: 0-0, 2, 1;\n0: 1-4, 3, 2;\n0: 5-9, 3, 2;\n0: 1-63, 2, 1;\n0,1: 0-0, 1, 0;\n0: 1-20, 1, 0;\n0: 21-63, 1, 0;\n1: 1-63, 1, 0;\n";

fn jpegtran(args: &[&str], input: &Path, output: &Path) {
    let status = Command::new("jpegtran")
        .args(args)
        .arg("-outfile")
        .arg(output)
        .arg(input)
        .status()
        .expect("jpegtran not found: install libjpeg-turbo-progs");
    assert!(status.success(), "jpegtran {args:?} failed");
}

/// Every progressive variant the fidelity target names, generated in `dir`: cjpeg's own script
/// (successive approximation) at 4:2:0, 4:4:4, 4:2:2 and grey, with restart intervals,
/// spectral selection only and an awkward custom script (jpegtran -scans), jpegtran's
/// -progressive script on a real photo, and mozjpeg's scan script (jpgtool's encoder with
/// `Profile::Smallest`).
fn variants(dir: &Path) -> Vec<(String, PathBuf)> {
    let (w, h) = (405, 299);
    let mut out = Vec::new();
    for (name, args) in [
        ("sa420", &["-progressive"][..]),
        ("sa444", &["-progressive", "-sample", "1x1"][..]),
        ("sa422", &["-progressive", "-sample", "2x1"][..]),
        ("gray", &["-progressive", "-grayscale"][..]),
        ("restart", &["-progressive", "-restart", "3B"][..]),
        ("restart-rows", &["-progressive", "-restart", "1"][..]),
    ] {
        let args: Vec<&str> = ["-quality", "90"].iter().chain(args).copied().collect();
        generated(dir, name, w, h, &args);
        out.push((name.to_string(), dir.join(format!("{name}.jpg"))));
    }
    let base = dir.join("base.jpg");
    std::fs::write(&base, generated(dir, "base", w, h, &["-quality", "90"])).unwrap();
    for (name, script) in [("spectral", SPECTRAL_ONLY), ("awkward", AWKWARD)] {
        let script_path = dir.join(format!("{name}.scans"));
        std::fs::write(&script_path, script).unwrap();
        let path = dir.join(format!("{name}.jpg"));
        jpegtran(&["-scans", script_path.to_str().unwrap()], &base, &path);
        out.push((name.to_string(), path));
    }
    let photo = corpus().join("real/mde-Nikon_D70.jpg");
    let path = dir.join("jpegtran-photo.jpg");
    jpegtran(&["-progressive", "-copy", "none"], &photo, &path);
    out.push(("jpegtran-photo".into(), path));
    // The same photo re-encoded at 4:4:4 and in grey, whose content is a photo's rather than
    // the per-pixel noise of `test_rgb`.
    let ppm = dir.join("photo.ppm");
    let status = Command::new("djpeg")
        .args(["-pnm", "-outfile"])
        .arg(&ppm)
        .arg(&photo)
        .status()
        .unwrap();
    assert!(status.success());
    for (name, args) in [
        ("photo444", &["-progressive", "-sample", "1x1"][..]),
        ("photogray", &["-progressive", "-grayscale"][..]),
    ] {
        let path = dir.join(format!("{name}.jpg"));
        let args: Vec<&str> = ["-quality", "90"].iter().chain(args).copied().collect();
        crate::util::cjpeg(&args, &ppm, &path);
        out.push((name.into(), path));
    }

    let rgb = test_rgb(w, h);
    let settings = jpgtool::codec::EncoderSettings {
        width: w,
        height: h,
        color: jpgtool::jpeg::ColorSpace::YCbCr,
        quality: 90,
        sampling: vec![(2, 2), (1, 1), (1, 1)],
        profile: jpgtool::codec::Profile::Smallest,
        density: None,
    };
    // The encoder takes samples in the output colour space; any YCbCr-like content will do.
    let mut encoder = jpgtool::codec::Encoder::start(Vec::new(), &settings, &[]).unwrap();
    encoder.write_rows(&rgb).unwrap();
    let path = dir.join("mozjpeg.jpg");
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    out.push(("mozjpeg".into(), path));
    out
}

/// `djpeg -grayscale`: the luma plane at full size, straight from libjpeg's IDCT (no colour
/// conversion or upsampling touches Y).
fn djpeg_luma(dir: &Path, input: &Path) -> (usize, usize, Vec<u8>) {
    let pgm = dir.join("luma.pgm");
    let status = Command::new("djpeg")
        .args(["-grayscale", "-pnm", "-outfile"])
        .arg(&pgm)
        .arg(input)
        .status()
        .unwrap();
    assert!(status.success());
    read_pgm(&pgm)
}

/// The 8x8 IDCT of T.81 A.3.3 as a double sum in f64, rounded and clamped like libjpeg.
fn idct8(coefs: &[i32; 64]) -> [u8; 64] {
    // basis[x][u] = C(u)/2 cos((2x + 1) u pi / 16)
    let basis: [[f64; 8]; 8] = std::array::from_fn(|x| {
        std::array::from_fn(|u| {
            let c = if u == 0 { 0.5f64.sqrt() } else { 1.0 };
            0.5 * c * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos()
        })
    });
    let mut out = [0u8; 64];
    for y in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for v in 0..8 {
                for u in 0..8 {
                    let f = coefs[v * 8 + u];
                    if f != 0 {
                        s += f64::from(f) * basis[x][u] * basis[y][v];
                    }
                }
            }
            out[y * 8 + x] = (s + 128.5).floor().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Luma of `bytes` from the band decoder keeping all 64 coefficients, in bands of at most
/// `budget` bytes, through the exact IDCT above.
fn band_luma(bytes: &[u8], budget: u64) -> (usize, usize, usize, Vec<u8>, Vec<String>) {
    let mut parser = Parser::new(Seekable::new(Cursor::new(bytes)));
    let header = parser.read_header().unwrap();
    let plan = plan_bands(&header, 8, budget).unwrap();
    let mut decoder = BandDecoder::new(&header, plan, &Limits::default()).unwrap();
    let (w, h) = (
        usize::from(header.frame.width),
        usize::from(header.frame.height),
    );
    let mut luma = vec![0u8; w * h];
    let mut coefs = [0i32; 64];
    while let Some(band) = decoder.next_band(&mut parser).unwrap() {
        let quant = band.quant(0);
        for row in band.block_rows(0) {
            for col in 0..band.blocks_wide(0) {
                band.dequantized(0, row, col, &quant, &mut coefs);
                let pixels = idct8(&coefs);
                for y in 0..8 {
                    for x in 0..8 {
                        let (py, px) = (row * 8 + y, col * 8 + x);
                        if py < h && px < w {
                            luma[py * w + px] = pixels[y * 8 + x];
                        }
                    }
                }
            }
        }
    }
    (w, h, plan.passes, luma, decoder.warnings())
}

/// The entropy decoding of every scan (DC and AC, first and refinement, restarts) is right:
/// keeping all 64 coefficients, the luma the band decoder gives through an exact IDCT is
/// libjpeg's own (`djpeg -grayscale`, integer IDCT) within 1 per sample, in one band and in
/// several. A misread refinement bit or end-of-band run would change whole blocks.
#[test]
fn band_decoder_reads_every_scan_like_libjpeg() {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in variants(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let (w, h, reference) = djpeg_luma(dir.path(), &path);
        let header = jpgtool::jpeg::read_header(&bytes[..]).unwrap();
        let store = plan_bands(&header, 8, u64::MAX).unwrap().store_bytes;
        for budget in [u64::MAX, store / 4] {
            let (bw, bh, passes, luma, warnings) = band_luma(&bytes, budget);
            assert_eq!((bw, bh), (w, h), "{name}");
            if budget != u64::MAX {
                assert!(passes > 1, "{name}: {passes} passes under {budget} bytes");
            }
            let worst = luma
                .iter()
                .zip(&reference)
                .map(|(a, b)| a.abs_diff(*b))
                .max();
            let mean = luma
                .iter()
                .zip(&reference)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / luma.len() as f64;
            assert!(
                worst <= Some(1) && mean < 0.05,
                "{name}, {passes} passes: luma differs from libjpeg by up to {worst:?} (mean {mean:.4})"
            );
            assert!(
                warnings.is_empty(),
                "{name}, {passes} passes: warnings on a clean file: {:?}",
                &warnings[..warnings.len().min(3)]
            );
        }
    }
}

/// Scaled luma of `bytes` from the band decoder (at most `budget` bytes a band) through the
/// reduced IDCT the shrink path uses, `(width, height)` rounded up as libjpeg's scaled output
/// is (`ceil(W * N / 8)`), and the number of passes.
fn band_scaled_luma(bytes: &[u8], n: usize, budget: u64) -> (usize, usize, usize, Vec<u8>) {
    let mut parser = Parser::new(Seekable::new(Cursor::new(bytes)));
    let header = parser.read_header().unwrap();
    let plan = plan_bands(&header, n, budget).unwrap();
    let mut decoder = BandDecoder::new(&header, plan, &Limits::default()).unwrap();
    let (hmax, vmax) = header.frame.max_sampling();
    let y = &header.frame.components[0];
    // Luma's own plane size (T.81 A.1.1), scaled.
    let w = (usize::from(header.frame.width) * usize::from(y.h)).div_ceil(usize::from(hmax));
    let h = (usize::from(header.frame.height) * usize::from(y.v)).div_ceil(usize::from(vmax));
    let (w, h) = ((w * n).div_ceil(8), (h * n).div_ceil(8));
    let idct = shrink::idct::ScaledIdct::new(n);
    let mut luma = vec![0u8; w * h];
    let mut coefs = [0i32; 64];
    let mut block = vec![0u8; n * n];
    while let Some(band) = decoder.next_band(&mut parser).unwrap() {
        let quant = band.quant(0);
        for row in band.block_rows(0) {
            for col in 0..band.blocks_wide(0) {
                band.dequantized(0, row, col, &quant, &mut coefs);
                idct.block(&coefs, &mut block, n);
                for by in 0..n {
                    for bx in 0..n {
                        let (py, px) = (row * n + by, col * n + bx);
                        if py < h && px < w {
                            luma[py * w + px] = block[by * n + bx];
                        }
                    }
                }
            }
        }
    }
    (w, h, plan.passes, luma)
}

/// `djpeg -grayscale -scale 1/F`: libjpeg's scaled luma (its reduced IDCT; no colour
/// conversion or upsampling touches Y).
fn djpeg_scaled_luma(dir: &Path, input: &Path, factor: usize) -> (usize, usize, Vec<u8>) {
    let pgm = dir.join("scaled-luma.pgm");
    let status = Command::new("djpeg")
        .args([
            "-grayscale",
            "-scale",
            &format!("1/{factor}"),
            "-pnm",
            "-outfile",
        ])
        .arg(&pgm)
        .arg(input)
        .status()
        .unwrap();
    assert!(status.success());
    read_pgm(&pgm)
}

fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes[..20.min(bytes.len())]).into_owned();
    let mut fields = text.split_ascii_whitespace();
    assert_eq!(fields.next(), Some("P5"));
    let w: usize = fields.next().unwrap().parse().unwrap();
    let h: usize = fields.next().unwrap().parse().unwrap();
    (w, h, bytes[bytes.len() - w * h..].to_vec())
}

/// The samples of the band path are libjpeg's scaled decode exactly: at 1/2 and 1/4, on every
/// progressive variant (4:2:0, 4:4:4, 4:2:2, grey, restarts, spectral selection only, the
/// awkward script, jpegtran's and mozjpeg's scripts), in one band and in several, the luma the
/// band decoder and its reduced IDCT give is `djpeg -grayscale -scale 1/N`'s, sample for
/// sample. Chroma goes through the same store and IDCT.
#[test]
fn scaled_samples_are_libjpegs_scaled_decode() {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in variants(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let header = jpgtool::jpeg::read_header(&bytes[..]).unwrap();
        for n in [4usize, 2] {
            let (w, h, reference) = djpeg_scaled_luma(dir.path(), &path, 8 / n);
            let store = plan_bands(&header, n, u64::MAX).unwrap().store_bytes;
            for budget in [u64::MAX, store / 3] {
                let (bw, bh, passes, luma) = band_scaled_luma(&bytes, n, budget);
                assert_eq!((bw, bh), (w, h), "{name} at 1/{}", 8 / n);
                if budget != u64::MAX {
                    assert!(passes >= 3, "{name}: {passes} passes under a third");
                }
                let differ = luma.iter().zip(&reference).filter(|(a, b)| a != b).count();
                assert_eq!(
                    differ,
                    0,
                    "{name} at 1/{}, {passes} passes: {differ} of {} samples differ from djpeg",
                    8 / n,
                    luma.len()
                );
            }
        }
    }
}

/// The fidelity target: at 1/2 and 1/4, every progressive variant goes through the band decoder
/// and its PSNR against the exact box average of the full-size image is within 0.1 dB of
/// `djpeg -scale | cjpeg` at the same quality; under a small `max_memory` the same file is
/// decoded in several passes into the same bytes.
#[test]
fn progressive_variants_shrink_as_well_as_djpeg_cjpeg_in_one_pass_or_many() {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in variants(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let full = libjpeg_decode(&bytes).unwrap();
        let gray = full.channels == 1;
        for eighths in [4u8, 2] {
            let options = Options {
                target: Target::Eighths(eighths),
                quality: Some(95),
                ..Options::default()
            };
            let (report, out) = shrink::shrink(&bytes[..], Vec::new(), &options)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                matches!(report.path, DecodePath::Bands { passes: 1, .. }),
                "{name}: {:?}",
                report.path
            );
            assert_eq!(report.warnings.count, 0, "{name}");
            let small = libjpeg_decode(&out).unwrap();
            let factor = usize::from(8 / eighths);
            let reference = box_average(&full, factor, small.width, small.height);
            // Same sampling as the input, as jpgtool keeps it.
            let header = jpgtool::jpeg::read_header(&bytes[..]).unwrap();
            let sample = header
                .frame
                .components
                .iter()
                .map(|c| format!("{}x{}", c.h, c.v))
                .collect::<Vec<_>>()
                .join(",");
            let mut ref_args = vec!["-quality", "95", "-sample", &sample];
            if gray {
                ref_args.push("-grayscale");
            }
            let theirs =
                libjpeg_decode(&djpeg_cjpeg(dir.path(), &path, eighths, &ref_args)).unwrap();
            let ours_db = psnr(&reference, &small.data);
            let theirs_db = psnr(&reference, &theirs.data);
            eprintln!("{name} at {eighths}/8: {ours_db:.2} dB, djpeg|cjpeg {theirs_db:.2} dB");
            assert!(
                ours_db >= theirs_db - 0.1,
                "{name} at {eighths}/8: {ours_db:.2} dB, djpeg|cjpeg {theirs_db:.2} dB"
            );

            // A third of the whole store: three or four bands.
            let store = plan_bands(&header, eighths.into(), u64::MAX)
                .unwrap()
                .store_bytes;
            let banded = Options {
                max_memory: store / 3,
                ..options
            };
            let (report, out_banded) =
                shrink::shrink_seekable(Cursor::new(&bytes[..]), Vec::new(), &banded)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let DecodePath::Bands { passes, .. } = report.path else {
                panic!("{name}: {:?}", report.path);
            };
            assert!(
                passes >= 3,
                "{name}: {passes} passes under a third of the store"
            );
            assert!(
                out_banded == out,
                "{name} at {eighths}/8: {passes} passes differ from one"
            );
            // Without a way to read the file again, bands are refused, not attempted.
            let err = shrink::shrink(&bytes[..], Vec::new(), &banded).unwrap_err();
            assert!(
                matches!(err, jpgtool::Error::LimitExceeded { .. }),
                "{name}: {err}"
            );
        }
    }
}

/// Truncation sweep: a progressive file cut anywhere, at 1/2 and 1/4, in one pass and in many,
/// gives an output with warnings or a typed error: never a panic, never a hang.
#[test]
fn truncated_progressive_files_never_panic_in_bands() {
    let dir = tempfile::tempdir().unwrap();
    let ppm = dir.path().join("t.ppm");
    write_pnm(&ppm, 200, 136, 3, &test_rgb(200, 136));
    let script = dir.path().join("awkward.scans");
    std::fs::write(&script, AWKWARD).unwrap();
    let base = dir.path().join("base.jpg");
    crate::util::cjpeg(&["-quality", "85", "-restart", "2B"], &ppm, &base);
    let prog = dir.path().join("prog.jpg");
    jpegtran(&["-scans", script.to_str().unwrap()], &base, &prog);
    let bytes = std::fs::read(&prog).unwrap();
    let (mut ok, mut failed) = (0, 0);
    let step = (bytes.len() / 150).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        for (eighths, max_memory) in [(4u8, 1u64 << 30), (2, 1 << 30), (4, 3000), (2, 2000)] {
            let options = Options {
                target: Target::Eighths(eighths),
                max_memory,
                ..Options::default()
            };
            match shrink::shrink_seekable(Cursor::new(&bytes[..cut]), Vec::new(), &options) {
                Ok((report, out)) => {
                    ok += 1;
                    assert!(report.warnings.count > 0, "cut at {cut}: no warning");
                    assert!(jpgtool::jpeg::read_header(&out[..]).is_ok());
                }
                Err(_) => failed += 1,
            }
        }
    }
    eprintln!("truncation sweep: {ok} outputs with warnings, {failed} errors");
    assert!(ok > 0 && failed > 0);
}
