//! The DC decoder against libjpeg's own 1/8-scale decode of files made by `cjpeg`, whole, cut,
//! damaged and read a byte at a time.

use super::*;
use crate::error::Problem;
use crate::jpeg::{Streamed, markers};
use std::io::{self, Read};
use std::path::Path;
use std::process::Command;

/// A deterministic pseudo-random sequence (xorshift), for noise and garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A binary PPM of smooth gradients with some noise, kept away from 0 and 255 so that no
/// clamping hides a difference.
fn ppm(width: usize, height: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut out = format!("P6\n{width} {height}\n255\n").into_bytes();
    for y in 0..height {
        for x in 0..width {
            let fx = x as f64 / width.max(2) as f64;
            let fy = y as f64 / height.max(2) as f64;
            let base = [
                40.0 + 170.0 * fx + 20.0 * (fy * 9.0).sin(),
                60.0 + 130.0 * fy + 25.0 * (fx * 7.0).cos(),
                90.0 + 80.0 * (fx + fy) / 2.0 + 30.0 * ((fx - fy) * 5.0).sin(),
            ];
            for value in base {
                let noise = (rng.next() % 31) as f64 - 15.0;
                out.push((value + noise).clamp(16.0, 239.0) as u8);
            }
        }
    }
    out
}

/// Runs the system `cjpeg` on a PPM; `args` come before the output option.
fn cjpeg(dir: &Path, image: &[u8], args: &[&str]) -> Vec<u8> {
    let input = dir.join("in.ppm");
    let output = dir.join("out.jpg");
    std::fs::write(&input, image).unwrap();
    let result = Command::new("cjpeg")
        .args(args)
        .arg("-outfile")
        .arg(&output)
        .arg(&input)
        .output();
    let result = match result {
        Ok(result) => result,
        Err(e) => panic!(
            "these tests need the `cjpeg` program of libjpeg-turbo (package libjpeg-turbo-progs \
             or libjpeg-turbo): running it failed: {e}"
        ),
    };
    assert!(
        result.status.success(),
        "cjpeg {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(&output).unwrap()
}

fn decode_with<R: Read>(reader: R) -> Result<(Header, DcImage)> {
    let mut parser = Parser::new(Streamed::new(reader));
    let header = parser.read_header()?;
    let image = parser.decode_dc(&header, &Limits::default())?;
    Ok((header, image))
}

fn decode(bytes: &[u8]) -> Result<(Header, DcImage)> {
    decode_with(bytes)
}

/// libjpeg's 1x1 IDCT (`jpeg_idct_1x1`): the block mean, rounded, level-shifted, clamped.
fn idct_1x1(dc: i16, q: u16) -> u8 {
    let value = ((i32::from(dc) * i32::from(q) + 4) >> 3) + 128;
    value.clamp(0, 255) as u8
}

/// libjpeg's own 1/8-scale decode: width, height, and the planes (Y only for gray files,
/// else Y, Cb, Cr). `None` when libjpeg gives up on the file.
fn libjpeg_eighth(bytes: &[u8], gray: bool) -> Option<(usize, usize, Vec<Vec<u8>>)> {
    let decoded = std::panic::catch_unwind(|| -> io::Result<_> {
        let mut d = mozjpeg::Decompress::new_mem(bytes)?;
        d.scale(1);
        // Block smoothing makes up AC and even DC values for blocks whose AC scans have not
        // arrived (a cut file); the comparison is with the coefficients themselves.
        d.do_block_smoothing(false);
        let mut started = if gray {
            d.grayscale()?
        } else {
            d.to_colorspace(mozjpeg::ColorSpace::JCS_YCbCr)?
        };
        let (w, h) = (started.width(), started.height());
        let pixels: Vec<u8> = started.read_scanlines()?;
        started.finish()?;
        let channels = if gray { 1 } else { 3 };
        let planes = (0..channels)
            .map(|c| pixels.iter().skip(c).step_by(channels).copied().collect())
            .collect();
        Ok((w, h, planes))
    });
    decoded.ok()?.ok()
}

/// Compares the DC planes with libjpeg's 1/8-scale output: exactly where one block gives one
/// sample, within 1 for the mean of 2x2 samples (libjpeg's 2x2 IDCT for 4:2:0 chroma).
fn assert_matches_libjpeg(bytes: &[u8], header: &Header, image: &DcImage, what: &str) {
    let gray = header.frame.components.len() == 1;
    let (w, h, reference) = libjpeg_eighth(bytes, gray)
        .unwrap_or_else(|| panic!("{what}: libjpeg could not decode the file"));
    let frame = &header.frame;
    assert_eq!(w, usize::from(frame.width).div_ceil(8), "{what}");
    assert_eq!(h, usize::from(frame.height).div_ceil(8), "{what}");
    let (hmax, vmax) = frame.components.iter().fold((0, 0), |(h, v), c| {
        (h.max(usize::from(c.h)), v.max(usize::from(c.v)))
    });
    for (c, samples) in reference.iter().enumerate() {
        let comp = frame.components[c];
        let plane = &image.planes[c];
        let (fx, fy) = (hmax / usize::from(comp.h), vmax / usize::from(comp.v));
        if fx * usize::from(comp.h) != hmax || fy * usize::from(comp.v) != vmax {
            continue;
        }
        if fx == 1 && fy == 1 {
            for y in 0..h {
                for x in 0..w {
                    let ours = idct_1x1(plane.dc[y * plane.blocks_wide + x], plane.quant_dc);
                    assert_eq!(
                        ours,
                        samples[y * w + x],
                        "{what}: component {c}, sample ({x}, {y})"
                    );
                }
            }
        } else if fx == 2 && fy == 2 {
            for by in 0..h / 2 {
                for bx in 0..w / 2 {
                    let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|&(dx, dy)| u32::from(samples[(2 * by + dy) * w + 2 * bx + dx]))
                        .sum();
                    let mean = f64::from(sum) / 4.0;
                    let ours = idct_1x1(plane.dc[by * plane.blocks_wide + bx], plane.quant_dc);
                    assert!(
                        (f64::from(ours) - mean).abs() <= 1.0,
                        "{what}: component {c}, block ({bx}, {by}): ours {ours}, libjpeg {mean}"
                    );
                }
            }
        }
    }
}

/// A 4:2:0 progressive file with a restart marker after every MCU.
fn with_restarts(seed: u64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    cjpeg(
        dir.path(),
        &ppm(203, 141, seed),
        &["-progressive", "-restart", "1"],
    )
}

/// Where the first marker `code` at or after `from` stands in `bytes`.
fn marker_at(bytes: &[u8], from: usize, code: u8) -> usize {
    (from..bytes.len() - 1)
        .find(|&i| bytes[i] == 0xFF && bytes[i + 1] == code)
        .unwrap()
}

/// Generates the test files with cjpeg; returns (description, JPEG bytes).
fn generate() -> Vec<(String, Vec<u8>)> {
    // Non-interleaved DC scans with successive approximation, then an interleaved refinement.
    const NON_INTERLEAVED: &str = "0: 0 0 0 1; 1: 0 0 0 1; 2: 0 0 0 1;\n\
        0: 1 63 0 0; 1: 1 63 0 0; 2: 1 63 0 0;\n\
        0 1 2: 0 0 1 0;\n";
    // Two DC refinements, the first non-interleaved and in another component order.
    const REFINE_SEPARATELY: &str = "0 1 2: 0 0 0 2;\n\
        0: 1 5 0 2; 0: 6 63 0 2; 1: 1 63 0 1; 2: 1 63 0 1;\n\
        2: 0 0 2 1; 0: 0 0 2 1; 1: 0 0 2 1;\n\
        0: 1 63 2 1; 0 1 2: 0 0 1 0; 0: 1 63 1 0; 1: 1 63 1 0; 2: 1 63 1 0;\n";
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("scans.txt");
    let script_arg = script_path.to_str().unwrap();
    let mut files = Vec::new();
    for &(w, h) in &[(203, 141), (197, 133), (17, 9), (1, 1), (64, 48)] {
        let image = ppm(w, h, (w * 1000 + h) as u64);
        let mut add = |name: &str, args: &[&str], script: Option<&str>| {
            let mut args = args.to_vec();
            if let Some(script) = script {
                std::fs::write(&script_path, script).unwrap();
                args.extend(["-scans", script_arg]);
            }
            args.extend(["-quality", "90"]);
            files.push((format!("{w}x{h} {name}"), cjpeg(dir.path(), &image, &args)));
        };
        add("4:2:0", &["-progressive"], None);
        add("4:4:4", &["-progressive", "-sample", "1x1"], None);
        add("4:2:2", &["-progressive", "-sample", "2x1"], None);
        add("gray", &["-progressive", "-grayscale"], None);
        add("4:2:0 restart", &["-progressive", "-restart", "1"], None);
        let gray_restart = ["-progressive", "-grayscale", "-restart", "1"];
        add("gray restart", &gray_restart, None);
        add("4:2:0 non-interleaved DC", &[], Some(NON_INTERLEAVED));
        add(
            "4:4:4 non-interleaved DC",
            &["-sample", "1x1"],
            Some(NON_INTERLEAVED),
        );
        let restart = ["-restart", "1"];
        add(
            "4:2:0 non-interleaved DC restart",
            &restart,
            Some(NON_INTERLEAVED),
        );
        add("4:2:0 two refinements", &[], Some(REFINE_SEPARATELY));
    }
    files
}

#[test]
fn dc_planes_match_libjpeg_eighth_scale() {
    for (name, bytes) in generate() {
        let (header, image) = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(header.frame.kind.process(), Process::Progressive, "{name}");
        assert!(image.warnings.is_empty(), "{name}: {:?}", image.warnings);
        assert_eq!(image.planes.len(), header.frame.components.len());
        for (plane, comp) in image.planes.iter().zip(&header.frame.components) {
            let q = header.quant_tables[usize::from(comp.table)].unwrap();
            assert_eq!(plane.quant_dc, q.values[0], "{name}");
            assert_eq!(
                plane.dc.len(),
                plane.blocks_wide * plane.blocks_high,
                "{name}"
            );
        }
        assert_matches_libjpeg(&bytes, &header, &image, &name);
    }
}

#[test]
fn plane_sizes_are_padded_to_whole_mcus() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = cjpeg(dir.path(), &ppm(17, 9, 5), &["-progressive"]);
    let (_, image) = decode(&bytes).unwrap();
    // 4:2:0: one MCU is 16x16 pixels, so 17x9 takes 2x1 MCUs.
    let sizes: Vec<_> = image
        .planes
        .iter()
        .map(|p| (p.blocks_wide, p.blocks_high))
        .collect();
    assert_eq!(sizes, [(4, 2), (2, 1), (2, 1)]);
}

#[test]
fn one_byte_reads_give_the_same_planes() {
    struct OneByteReader<'a>(&'a [u8]);
    impl Read for OneByteReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }
    for (name, bytes) in generate().into_iter().step_by(3) {
        let (_, whole) = decode(&bytes).unwrap();
        let (_, trickled) = decode_with(OneByteReader(&bytes)).unwrap();
        assert_eq!(whole, trickled, "{name}");
        // And cut short, where the data stops inside a scan.
        let cut = &bytes[..bytes.len() * 2 / 3];
        let (_, whole) = decode(cut).unwrap();
        let (_, trickled) = decode_with(OneByteReader(cut)).unwrap();
        assert_eq!(whole, trickled, "{name} cut");
    }
}

#[test]
fn truncated_files_decode_like_libjpeg_or_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        cjpeg(dir.path(), &ppm(203, 141, 7), &["-progressive"]),
        cjpeg(
            dir.path(),
            &ppm(197, 133, 8),
            &["-progressive", "-grayscale", "-restart", "1"],
        ),
    ];
    for bytes in &files {
        let (mut decoded, mut compared) = (0, 0);
        for percent in (0..100).step_by(7) {
            let cut = &bytes[..bytes.len() * percent / 100];
            match decode(cut) {
                Ok((header, image)) => {
                    decoded += 1;
                    assert!(
                        image.warnings.iter().any(|w| w == "file ends before EOI"),
                        "{percent}%: {:?}",
                        image.warnings
                    );
                    // libjpeg reads a fake EOI at the end: the DC planes must agree.
                    let gray = header.frame.components.len() == 1;
                    if libjpeg_eighth(cut, gray).is_some() {
                        assert_matches_libjpeg(cut, &header, &image, &format!("cut {percent}%"));
                        compared += 1;
                    }
                }
                Err(Error::Truncated { .. } | Error::NotJpeg(_)) => {}
                Err(e) => panic!("{percent}%: unexpected error {e}"),
            }
        }
        assert!(decoded > 10 && compared > 10, "{decoded} {compared}");
    }
}

#[test]
fn damaged_restart_markers_resync_like_libjpeg() {
    let good = with_restarts(11);
    // Restart markers inside DC scans (damage in AC scans does not reach the DC planes).
    let mut rst_positions = Vec::new();
    let (mut i, mut in_dc) = (2, false);
    while i + 1 < good.len() {
        if good[i] != 0xFF || good[i + 1] == 0 || good[i + 1] == 0xFF {
            i += 1;
            continue;
        }
        let code = good[i + 1];
        if markers::is_rst(code) {
            if in_dc {
                rst_positions.push(i);
            }
            i += 2;
        } else if code == markers::EOI {
            break;
        } else {
            let len = usize::from(u16::from_be_bytes([good[i + 2], good[i + 3]]));
            if code == markers::SOS {
                let ns = usize::from(good[i + 4]);
                in_dc = good[i + 5 + 2 * ns] == 0;
            } else {
                in_dc = false;
            }
            i += 2 + len;
        }
    }
    assert!(rst_positions.len() >= 8, "{}", rst_positions.len());
    let mut rng = Rng(99);
    let mut compared = 0;
    for round in 0..30 {
        let mut bytes = good.clone();
        let at = rst_positions[(rng.next() % rst_positions.len() as u64) as usize];
        match round % 5 {
            // A wrong restart number, too far ahead: libjpeg takes it for the expected one.
            0 => bytes[at + 1] = markers::RST0 + (bytes[at + 1] - markers::RST0 + 3) % 8,
            // The number of the previous marker: libjpeg skips to the next marker.
            3 => bytes[at + 1] = markers::RST0 + (bytes[at + 1] - markers::RST0 + 7) % 8,
            // A lost marker.
            1 => {
                bytes.drain(at..at + 2);
            }
            // Data bytes lost before the marker.
            2 => {
                bytes.drain(at.saturating_sub(5)..at);
            }
            // Garbage in the data.
            _ => {
                for b in &mut bytes[at.saturating_sub(12)..at.saturating_sub(4)] {
                    *b = (rng.next() % 255) as u8;
                }
            }
        }
        let (header, image) = decode(&bytes).unwrap();
        assert!(
            !image.warnings.is_empty() || round % 5 == 4,
            "round {round}"
        );
        // Garbage can make a marker that libjpeg then refuses (we stop at a segment that
        // runs past the end of the file instead); compare whenever libjpeg decodes.
        let gray = header.frame.components.len() == 1;
        if libjpeg_eighth(&bytes, gray).is_some() {
            assert_matches_libjpeg(&bytes, &header, &image, &format!("round {round}"));
            compared += 1;
        }
    }
    assert!(compared >= 25, "{compared}");
}

#[test]
fn later_dqt_does_not_change_the_latched_quantizer() {
    let dir = tempfile::tempdir().unwrap();
    let good = cjpeg(dir.path(), &ppm(64, 48, 3), &["-progressive", "-grayscale"]);
    let (header, image) = decode(&good).unwrap();
    // Insert a DQT of all ones for table 0 before the second scan.
    let second_sos = marker_at(&good, header.scan_offset as usize, markers::SOS);
    let mut bytes = good[..second_sos].to_vec();
    bytes.extend([0xFF, markers::DQT, 0x00, 0x43, 0x00]);
    bytes.extend([1u8; 64]);
    bytes.extend(&good[second_sos..]);
    let (header2, image2) = decode(&bytes).unwrap();
    assert_eq!(image2, image);
    assert_matches_libjpeg(&bytes, &header2, &image2, "DQT between scans");
}

#[test]
fn garbage_after_the_header_never_panics() {
    let good = with_restarts(21);
    let header = decode(&good).unwrap().0;
    let head = &good[..header.scan_offset as usize];
    let mut rng = Rng(12345);
    let mut outcomes = Vec::new();
    for round in 0..200 {
        let mut bytes = head.to_vec();
        let len = (rng.next() % 4000) as usize;
        for _ in 0..len {
            // Plenty of 0xFF so that markers and stuffing turn up.
            let r = rng.next();
            bytes.push(if r.is_multiple_of(5) {
                0xFF
            } else {
                (r >> 8) as u8
            });
        }
        if round % 2 == 0 {
            bytes.extend([0xFF, markers::EOI]);
        }
        // Random data is damaged data: an error, or planes with warnings.
        match decode(&bytes) {
            Ok((_, image)) => assert!(!image.warnings.is_empty(), "round {round}"),
            Err(e) => outcomes.push(e.to_string()),
        }
    }
    assert!(!outcomes.is_empty());
    // Random byte flips anywhere after the header.
    for _ in 0..200 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.next() % 8 {
            let span = bytes.len() - head.len();
            let at = head.len() + (rng.next() % span as u64) as usize;
            bytes[at] = (rng.next() >> 8) as u8;
        }
        let _ = decode(&bytes);
    }
}

#[test]
fn undefined_huffman_table_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = cjpeg(dir.path(), &ppm(64, 48, 4), &["-progressive"]);
    let sos = marker_at(&good, 0, markers::SOS);
    let mut bytes = good.clone();
    // SOS: length (2), Ns, then Cs and Td|Ta of the first component.
    bytes[sos + 6] = 0x30 | (bytes[sos + 6] & 15);
    match decode(&bytes) {
        Err(Error::Format {
            problem: Problem::Missing(what),
            ..
        }) => assert!(what.contains("DC Huffman table 3"), "{what}"),
        other => panic!("expected a missing-table error, got {other:?}"),
    }
}

#[test]
fn dc_and_ac_in_one_progressive_scan_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = cjpeg(dir.path(), &ppm(32, 16, 2), &["-progressive"]);
    let sos = marker_at(&bytes, 0, markers::SOS);
    // After the length, Ns and Ns pairs: Ss, Se.
    let ns = usize::from(bytes[sos + 4]);
    bytes[sos + 6 + 2 * ns] = 63;
    assert!(matches!(
        decode(&bytes),
        Err(Error::Format {
            problem: Problem::BadValue { .. },
            ..
        })
    ));
}

#[test]
fn refuses_what_it_does_not_handle() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = cjpeg(dir.path(), &ppm(32, 16, 1), &[]);
    assert!(matches!(decode(&baseline), Err(Error::Unsupported(_))));
    let mut twelve = cjpeg(dir.path(), &ppm(32, 16, 1), &["-progressive"]);
    let sof = marker_at(&twelve, 0, 0xC2);
    twelve[sof + 4] = 12;
    assert!(matches!(decode(&twelve), Err(Error::Unsupported(_))));
    let limits = Limits {
        max_alloc: 10,
        ..Limits::default()
    };
    let bytes = cjpeg(dir.path(), &ppm(64, 48, 1), &["-progressive"]);
    let mut parser = Parser::new(Streamed::new(&bytes[..]));
    let header = parser.read_header().unwrap();
    assert!(matches!(
        parser.decode_dc(&header, &limits),
        Err(Error::LimitExceeded { .. })
    ));
}
