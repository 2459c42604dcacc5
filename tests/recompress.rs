//! `recompress`: files made by cjpeg (libjpeg-turbo, an independent encoder) at known
//! qualities, with EXIF and ICC spliced in; expected tables come from cjpeg at the target.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use jpgtool::jpeg::{Header, read_header};
use jpgtool::recompress::{Method, Options, Outcome, Rounding, Sampling, recompress_bytes};

use crate::util::{assert_success, cjpeg, corpus, jpgtool, test_rgb, write_pnm};

/// A little-endian EXIF block with one tag, Make = "held-out" (TIFF 6.0: header, IFD0 of one
/// entry of type ASCII, the string stored at offset 26).
fn exif_payload() -> Vec<u8> {
    let mut p = b"Exif\0\0II*\0".to_vec();
    p.extend(8u32.to_le_bytes()); // IFD0 offset
    p.extend(1u16.to_le_bytes()); // one entry
    p.extend(0x010Fu16.to_le_bytes()); // Make
    p.extend(2u16.to_le_bytes()); // ASCII
    p.extend(9u32.to_le_bytes()); // count, NUL included
    p.extend(26u32.to_le_bytes()); // offset of the value
    p.extend(0u32.to_le_bytes()); // no next IFD
    p.extend(b"held-out\0");
    p
}

/// Inserts an APPn segment right after SOI.
fn splice_app(jpeg: &[u8], code: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, code]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

/// The APPn payloads of a file, in order (walking segments up to SOS).
fn app_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut found = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let code = jpeg[at + 1];
        if code == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if (0xE0..=0xEF).contains(&code) {
            found.push((code, jpeg[at + 4..at + 2 + len].to_vec()));
        }
        at += 2 + len;
    }
    found
}

/// A 320x240 photo-like image encoded by cjpeg with `args`, EXIF and a fake ICC profile added.
fn generated(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let ppm = dir.join(format!("{name}.ppm"));
    let icc = dir.join("profile.icc");
    std::fs::write(&icc, b"not a real profile, carried byte for byte").unwrap();
    write_pnm(&ppm, 320, 240, 3, &test_rgb(320, 240));
    let jpg = dir.join(format!("{name}.jpg"));
    let mut all = args.to_vec();
    all.extend(["-icc", icc.to_str().unwrap()]);
    cjpeg(&all, &ppm, &jpg);
    let bytes = splice_app(&std::fs::read(&jpg).unwrap(), 0xE1, &exif_payload());
    std::fs::write(&jpg, bytes).unwrap();
    jpg
}

fn header(path: &Path) -> Header {
    read_header(&std::fs::read(path).unwrap()[..]).unwrap()
}

/// The DQT tables each component uses, in component order.
fn tables_in_use(header: &Header) -> Vec<[u16; 64]> {
    header
        .frame
        .components
        .iter()
        .map(|c| header.quant_tables[usize::from(c.table)].unwrap().values)
        .collect()
}

/// The tables cjpeg writes at `quality` for the same sampling (`-sample`).
fn cjpeg_tables(dir: &Path, quality: u8, sample: &str) -> Vec<[u16; 64]> {
    let ppm = dir.join("ref.ppm");
    write_pnm(&ppm, 32, 32, 3, &test_rgb(32, 32));
    let out = dir.join(format!("ref-{quality}-{sample}.jpg"));
    cjpeg(
        &["-quality", &quality.to_string(), "-sample", sample],
        &ppm,
        &out,
    );
    tables_in_use(&header(&out))
}

/// The held-out check of the issue, with cjpeg as the encoder: `recompress -q 60 --in-place`
/// leaves every file at or below 60 byte-identical and untouched (same inode, same mtime);
/// every other one gets cjpeg's own q60 tables, is smaller, and keeps its EXIF, ICC and
/// sampling.
#[test]
fn held_out_files_are_skipped_or_read_back_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let q60 = cjpeg_tables(dir.path(), 60, "2x2");
    let q60_444 = cjpeg_tables(dir.path(), 60, "1x1");
    let mut files = Vec::new();
    for q in [30u8, 50, 60, 61, 75, 90, 98] {
        for (sample, tables) in [("2x2", &q60), ("1x1", &q60_444)] {
            let name = format!("q{q}-{sample}");
            let args = ["-quality", &q.to_string(), "-sample", sample];
            let path = generated(dir.path(), &name, &args);
            let bytes = std::fs::read(&path).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            files.push((q, path, bytes, meta, tables.clone()));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = jpgtool()
        .args(["recompress", "-q", "60", "--in-place", "--json"])
        .args(files.iter().map(|f| &f.1))
        .output()
        .unwrap();
    assert_success(&out);
    for (q, path, before, meta, expected) in &files {
        let after = std::fs::read(path).unwrap();
        let now = std::fs::metadata(path).unwrap();
        if *q <= 60 {
            assert_eq!(&after, before, "{}", path.display());
            assert_eq!(
                (now.ino(), now.mtime_nsec()),
                (meta.ino(), meta.mtime_nsec())
            );
            continue;
        }
        let (old, new) = (read_header(&before[..]).unwrap(), header(path));
        assert_eq!(&tables_in_use(&new), expected, "{}", path.display());
        assert!(after.len() < before.len(), "{}", path.display());
        assert_eq!(new.sampling_factors(), old.sampling_factors());
        let (apps_before, apps_after) = (app_segments(before), app_segments(&after));
        for code in [0xE1, 0xE2] {
            let keep: Vec<_> = apps_before.iter().filter(|a| a.0 == code).collect();
            let kept: Vec<_> = apps_after.iter().filter(|a| a.0 == code).collect();
            assert_eq!(kept, keep, "APP{} of {}", code - 0xE0, path.display());
        }
    }
    let lines = String::from_utf8(out.stdout).unwrap();
    let total = lines.lines().last().unwrap();
    assert!(total.contains("\"total\":true"), "{total}");
    assert!(total.contains("\"skipped\":6"), "{total}");
}

/// `--smallest` (progressive + trellis), `--method pixels` and `--method coefficients` with
/// either rounding also give cjpeg's q60 tables; `--smallest` writes a progressive frame.
#[test]
fn every_way_of_reencoding_reads_back_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "q92", &["-quality", "92"]);
    let expected = cjpeg_tables(dir.path(), 60, "2x2");
    for flags in [
        &["--smallest"][..],
        &["--method", "coefficients", "--rounding", "nearest"],
        &["--method", "pixels"],
        &["--rounding", "0.3,0.5"],
        &[],
    ] {
        let output = dir.path().join("out.jpg");
        let out = jpgtool()
            .args(["recompress", "-q", "60"])
            .args(flags)
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert_success(&out);
        let new = header(&output);
        assert_eq!(tables_in_use(&new), expected, "{flags:?}");
        let progressive = new.frame.kind.process() == jpgtool::jpeg::Process::Progressive;
        assert_eq!(progressive, flags == ["--smallest"], "{flags:?}");
    }
}

/// A greyscale file keeps one component and gets cjpeg's greyscale table.
#[test]
fn greyscale_stays_greyscale() {
    let dir = tempfile::tempdir().unwrap();
    let pgm = dir.path().join("g.pgm");
    write_pnm(&pgm, 200, 120, 1, &test_rgb(200, 40));
    let (input, reference) = (dir.path().join("g.jpg"), dir.path().join("r.jpg"));
    cjpeg(&["-quality", "95", "-grayscale"], &pgm, &input);
    cjpeg(&["-quality", "70", "-grayscale"], &pgm, &reference);
    let (report, output) =
        recompress_bytes(&std::fs::read(&input).unwrap(), &Options::new(70)).unwrap();
    assert_eq!(report.outcome, Outcome::Recompressed);
    assert_eq!(report.old_quality, Some(95.0));
    let new = read_header(&output.unwrap()[..]).unwrap();
    assert_eq!(new.frame.components.len(), 1);
    assert_eq!(tables_in_use(&new), tables_in_use(&header(&reference)));
}

/// A progressive, Huffman-optimised file one step above the target re-encodes larger as
/// baseline: the original is kept (not rewritten) and the report says so.
#[test]
fn a_result_that_is_not_smaller_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(
        dir.path(),
        "p61",
        &["-quality", "61", "-progressive", "-optimize"],
    );
    let before = std::fs::read(&input).unwrap();
    let (report, output) = recompress_bytes(&before, &Options::new(60)).unwrap();
    assert_eq!((report.outcome, output), (Outcome::KeptOriginal, None));
    assert_eq!(report.output_bytes, before.len() as u64);

    let out = jpgtool()
        .args(["recompress", "-q", "60", "--in-place"])
        .arg(&input)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kept original"), "{text}");
}

/// Requantising and re-encoding give the same tables; the library reports sizes that match
/// the bytes it returns.
#[test]
fn library_reports_match_the_bytes() {
    let input = std::fs::read(corpus().join("sample-q75.jpg")).unwrap();
    for method in [Method::Pixels, Method::Coefficients] {
        let options = Options {
            method,
            ..Options::new(50)
        };
        let (report, output) = recompress_bytes(&input, &options).unwrap();
        let output = output.unwrap();
        assert_eq!(report.output_bytes, output.len() as u64);
        assert_eq!(report.input_bytes, input.len() as u64);
        assert_eq!(report.saved(), (input.len() - output.len()) as u64);
        assert_eq!(report.method, Some(method));
        let (_, from_file) =
            jpgtool::recompress::recompress_file(&corpus().join("sample-q75.jpg"), &options)
                .unwrap();
        assert_eq!(from_file, Some(output));
    }
}

/// `Method::Auto` requantises when the sampling stays (kept, or asked for as it is) and decodes
/// and encodes when it changes or trellis is asked for; reports name the method that ran. The
/// dead zone gives fewer bytes than rounding to nearest on the same coefficients.
#[test]
fn auto_picks_the_method_by_the_job() {
    let input = std::fs::read(corpus().join("sample-q75.jpg")).unwrap();
    let sampling = read_header(&input[..]).unwrap().frame.components[0].h;
    assert_eq!(sampling, 2, "sample-q75.jpg is 4:2:0");
    let cases = [
        (Sampling::Keep, false, Method::Coefficients),
        (Sampling::S420, false, Method::Coefficients),
        (Sampling::S444, false, Method::Pixels),
        (Sampling::Keep, true, Method::Pixels),
    ];
    for (sampling, smallest, expected) in cases {
        let options = Options {
            sampling,
            smallest,
            ..Options::new(50)
        };
        let (report, _) = recompress_bytes(&input, &options).unwrap();
        assert_eq!(
            report.method,
            Some(expected),
            "{sampling:?} smallest {smallest}"
        );
    }
    let sizes: Vec<u64> = [Rounding::NEAREST, jpgtool::recompress::DEFAULT_ROUNDING]
        .into_iter()
        .map(|rounding| {
            let options = Options {
                rounding,
                ..Options::new(50)
            };
            recompress_bytes(&input, &options).unwrap().0.output_bytes
        })
        .collect();
    assert!(sizes[1] < sizes[0], "{sizes:?}");
}

/// Bad input: an error naming the file, exit 1, no output; the other files are still done.
/// `--dry-run` writes nothing.
#[test]
fn bad_files_fail_alone_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"\xFF\xD8\xFF\xC0\x00\x02garbage").unwrap();
    let good = generated(dir.path(), "good", &["-quality", "90"]);
    let out_dir = dir.path().join("out");
    let out = jpgtool()
        .args(["recompress", "-q", "60"])
        .args([&bad, &good])
        .arg("-o")
        .arg(format!("{}/", out_dir.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jpg"), "{stderr}");
    assert!(!out_dir.join("bad.jpg").exists());
    assert!(out_dir.join("good.jpg").exists());

    let dry = dir.path().join("dry");
    let out = jpgtool()
        .args(["recompress", "-q", "60", "--dry-run", "-o"])
        .arg(format!("{}/", dry.display()))
        .arg(&good)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!dry.exists());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("would be recompressed"), "{text}");
}

/// `--in-place` through a symbolic link replaces the target and keeps the link and the target's
/// permissions; `-n` leaves an existing output alone.
#[test]
fn in_place_keeps_links_and_permissions_and_no_clobber_skips() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = generated(dir.path(), "target", &["-quality", "90"]);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.jpg");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let before = std::fs::read(&target).unwrap().len();
    let out = jpgtool()
        .args(["recompress", "-q", "60", "--in-place"])
        .arg(&link)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let meta = std::fs::metadata(&target).unwrap();
    assert!((meta.len() as usize) < before);
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);

    let existing = dir.path().join("existing.jpg");
    std::fs::write(&existing, b"keep me").unwrap();
    let out = jpgtool()
        .args(["recompress", "-q", "60", "-n", "-o"])
        .arg(&existing)
        .arg(&target)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}

/// No panic on the bad and edge corpus or on truncations, by either method, with or without
/// `strict`: an error, or a result whose bytes parse and read back the target.
#[test]
fn bad_edge_and_truncated_files_give_errors_or_valid_files() {
    let mut inputs: Vec<Vec<u8>> = ["bad", "edge"]
        .iter()
        .flat_map(|d| crate::util::sorted_files(&corpus().join(d)))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let sample = std::fs::read(corpus().join("sample-q75.jpg")).unwrap();
    inputs.extend((0..sample.len()).step_by(97).map(|n| sample[..n].to_vec()));
    for (i, input) in inputs.iter().enumerate() {
        for (method, strict) in [(Method::Pixels, false), (Method::Coefficients, true)] {
            let options = Options {
                method,
                strict,
                max_memory: 256 << 20,
                ..Options::new(40)
            };
            let call = std::panic::AssertUnwindSafe(|| recompress_bytes(input, &options));
            let result = std::panic::catch_unwind(call);
            let Ok(Ok((report, Some(output)))) = result else {
                assert!(result.is_ok(), "input {i} panicked");
                continue;
            };
            assert!(output.len() < input.len(), "input {i}");
            assert_eq!(report.output_bytes, output.len() as u64);
            let header = read_header(&output[..]).expect("our output parses");
            let estimate = jpgtool::quality::estimate(&header);
            assert_eq!(estimate.quality.map(|q| q.min), Some(40.0), "input {i}");
        }
    }
}
