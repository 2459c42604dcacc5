//! `shrink` for thumbnails: the default quality of downscaled outputs, `--strip`, XMP
//! dimensions, and `-o` with several inputs. Inputs are made by cjpeg, metadata spliced in.

use std::path::{Path, PathBuf};

use jpgtool::jpeg::{Header, read_header};

use crate::util::{assert_success, cjpeg, jpgtool, test_rgb, write_pnm};

/// Inserts APPn/COM segments right after SOI, in the order given.
fn splice(jpeg: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for (code, payload) in segments {
        out.extend([0xFF, *code]);
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend(payload);
    }
    out.extend(&jpeg[2..]);
    out
}

/// APPn and COM segments up to SOS, walked here rather than by the library.
fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut found = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let code = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if (0xE0..=0xEF).contains(&code) || code == 0xFE {
            found.push((code, jpeg[at + 4..at + 2 + len].to_vec()));
        }
        at += 2 + len;
    }
    found
}

/// Little-endian EXIF: IFD0 with Make ("camera", 7 bytes at offset 38) and Orientation.
fn exif(orientation: u16) -> Vec<u8> {
    let mut p = b"Exif\0\0II*\0".to_vec();
    p.extend(8u32.to_le_bytes());
    p.extend(2u16.to_le_bytes());
    p.extend(0x010Fu16.to_le_bytes()); // Make, ASCII, 7 bytes at 38
    p.extend(2u16.to_le_bytes());
    p.extend(7u32.to_le_bytes());
    p.extend(38u32.to_le_bytes());
    p.extend(0x0112u16.to_le_bytes()); // Orientation, SHORT, inline
    p.extend(3u16.to_le_bytes());
    p.extend(1u32.to_le_bytes());
    p.extend(u32::from(orientation).to_le_bytes());
    p.extend(0u32.to_le_bytes());
    p.extend(b"camera\0");
    p
}

/// The IFD0 entries of an EXIF payload as (tag, type, count, value field) tuples.
fn ifd0(payload: &[u8]) -> Vec<(u16, u16, u32, [u8; 4])> {
    let tiff = &payload[6..];
    let be = &tiff[..2] == b"MM";
    let u16_at = |at: usize| {
        let b = [tiff[at], tiff[at + 1]];
        if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |at: usize| {
        let b = [tiff[at], tiff[at + 1], tiff[at + 2], tiff[at + 3]];
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let at = u32_at(4) as usize;
    (0..usize::from(u16_at(at)))
        .map(|i| {
            let e = at + 2 + 12 * i;
            let mut value = [0; 4];
            value.copy_from_slice(&tiff[e + 8..e + 12]);
            (u16_at(e), u16_at(e + 2), u32_at(e + 4), value)
        })
        .collect()
}

fn xmp(width: u32, height: u32) -> Vec<u8> {
    let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    p.extend(
        format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description \
             tiff:ImageWidth=\"{width}\" tiff:ImageLength=\"{height}\">\
             <exif:PixelXDimension>{width}</exif:PixelXDimension>\
             <exif:PixelYDimension>{height}</exif:PixelYDimension>\
             </rdf:Description></rdf:RDF></x:xmpmeta>"
        )
        .as_bytes(),
    );
    p
}

const ICC: &[u8] = b"ICC_PROFILE\0\x01\x01not a real profile";

/// A 600x900 cjpeg file at `quality` with EXIF, XMP, ICC, IPTC (APP13) and a comment.
fn input(dir: &Path, name: &str, quality: u8) -> PathBuf {
    let ppm = dir.join(format!("{name}.ppm"));
    write_pnm(&ppm, 600, 900, 3, &test_rgb(600, 900));
    let jpg = dir.join(format!("{name}.jpg"));
    cjpeg(&["-quality", &quality.to_string()], &ppm, &jpg);
    let metadata = [
        (0xE1, exif(6)),
        (0xE1, xmp(600, 900)),
        (0xE2, ICC.to_vec()),
        (0xED, b"Photoshop 3.0\0IPTC".to_vec()),
        (0xFE, b"a comment".to_vec()),
    ];
    std::fs::write(&jpg, splice(&std::fs::read(&jpg).unwrap(), &metadata)).unwrap();
    jpg
}

fn shrink(args: &[&str], input: &Path, output: &Path) -> Vec<u8> {
    let out = jpgtool()
        .arg("shrink")
        .args(args)
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap();
    assert_success(&out);
    std::fs::read(output).unwrap()
}

fn luma_table(header: &Header) -> [u16; 64] {
    header.quant_tables[usize::from(header.frame.components[0].table)]
        .unwrap()
        .values
}

/// cjpeg's luma table at `quality`.
fn cjpeg_luma(dir: &Path, quality: u8) -> [u16; 64] {
    let ppm = dir.join("ref.ppm");
    write_pnm(&ppm, 16, 16, 3, &test_rgb(16, 16));
    let out = dir.join("ref.jpg");
    cjpeg(&["-quality", &quality.to_string()], &ppm, &out);
    luma_table(&read_header(&std::fs::read(out).unwrap()[..]).unwrap())
}

/// Downscaled without -q: a q95 source comes out at 80 (cjpeg's q80 table), a q70 source
/// stays at 70; -q is obeyed; a full-size output keeps the source's 95.
#[test]
fn downscaled_outputs_default_to_at_most_80() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (q95, q70) = (input(dir, "q95", 95), input(dir, "q70", 70));
    let out = dir.join("out.jpg");
    let table = |bytes: Vec<u8>| luma_table(&read_header(&bytes[..]).unwrap());
    assert_eq!(
        table(shrink(&["--width", "300"], &q95, &out)),
        cjpeg_luma(dir, 80)
    );
    assert_eq!(
        table(shrink(&["--width", "300"], &q70, &out)),
        cjpeg_luma(dir, 70)
    );
    assert_eq!(
        table(shrink(&["--width", "300", "-q", "95"], &q95, &out)),
        cjpeg_luma(dir, 95)
    );
    assert_eq!(
        table(shrink(&["--scale", "1"], &q95, &out)),
        cjpeg_luma(dir, 95)
    );
}

/// XMP's pixel dimensions follow the new size (600x900 at 1/2: 300x450), as EXIF's do; the
/// rest of the packet is unchanged.
#[test]
fn xmp_dimensions_follow_the_new_size() {
    let dir = tempfile::tempdir().unwrap();
    let src = input(dir.path(), "src", 90);
    let bytes = shrink(&["--scale", "1/2"], &src, &dir.path().join("out.jpg"));
    let header = read_header(&bytes[..]).unwrap();
    assert_eq!((header.frame.width, header.frame.height), (300, 450));
    let packets: Vec<_> = segments(&bytes)
        .into_iter()
        .filter(|(c, p)| *c == 0xE1 && p.starts_with(b"http://ns.adobe.com/xap/1.0/"))
        .collect();
    assert_eq!(packets, vec![(0xE1, xmp(300, 450))]);
}

/// --strip keeps the ICC profile byte for byte and the orientation (6) in an EXIF block that
/// holds nothing else; XMP, IPTC, the comment and the rest of EXIF are gone.
#[test]
fn strip_keeps_only_icc_and_orientation() {
    let dir = tempfile::tempdir().unwrap();
    let src = input(dir.path(), "src", 90);
    let bytes = shrink(
        &["--scale", "1/2", "--strip"],
        &src,
        &dir.path().join("out.jpg"),
    );
    let found = segments(&bytes);
    let codes: Vec<u8> = found.iter().map(|s| s.0).collect();
    assert_eq!(codes, vec![0xE0, 0xE1, 0xE2], "{found:?}");
    assert_eq!(found[2].1, ICC);
    let entries = ifd0(&found[1].1);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (tag, kind, count, value) = entries[0];
    assert_eq!((tag, kind, count), (0x0112, 3, 1));
    let big_endian = &found[1].1[6..8] == b"MM";
    let orientation = if big_endian {
        u16::from_be_bytes([value[0], value[1]])
    } else {
        u16::from_le_bytes([value[0], value[1]])
    };
    assert_eq!(orientation, 6);
}

/// With several inputs, -o must be an existing folder or end in `/`: `-o one.jpg` is a usage
/// error (exit 2) that creates nothing; `-o new/` and an existing folder work.
#[test]
fn o_with_several_inputs_must_name_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (a, b) = (input(dir, "a", 90), input(dir, "b", 90));
    let run = |out: &str| {
        jpgtool()
            .current_dir(dir)
            .args(["shrink", "--scale", "1/2"])
            .args([&a, &b])
            .args(["-o", out])
            .output()
            .unwrap()
    };
    let out = run("one.jpg");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one.jpg"));
    assert!(!dir.join("one.jpg").exists());

    assert_success(&run("new/"));
    assert!(dir.join("new/a.jpg").exists() && dir.join("new/b.jpg").exists());
    std::fs::create_dir(dir.join("existing")).unwrap();
    assert_success(&run("existing"));
    assert!(dir.join("existing/a.jpg").exists());
}
