//! The estimator against independent encoders: libjpeg-turbo's cjpeg at every quality in every
//! table layout, and mozjpeg (through the `mozjpeg` crate). Expected values are the qualities
//! given to the encoders.

use std::path::Path;

use jpgtool::jpeg::read_header;
use jpgtool::quality::{Confidence, Family, estimate};

use crate::util::{cjpeg, test_rgb, write_pnm};

/// Checks that the file's luma (and chroma) quality range contains the encoder's setting.
fn assert_quality(file: &Path, family: Family, luma: u8, chroma: Option<u8>) {
    let bytes = std::fs::read(file).unwrap();
    let header = read_header(&bytes[..]).unwrap();
    let est = estimate(&header);
    let what = format!("{} ({est:?})", file.display());
    assert_eq!(est.family, family, "{what}");
    assert_eq!(est.confidence, Confidence::Exact, "{what}");
    let q = est.quality.expect("a quality");
    let luma = f64::from(luma);
    assert!(q.min <= luma && luma <= q.max, "luma {luma}: {what}");
    match (chroma, est.chroma_quality) {
        (None, None) => {}
        (Some(c), Some(cq)) => {
            let c = f64::from(c);
            assert!(cq.min <= c && c <= cq.max, "chroma {c}: {what}");
        }
        // Split settings whose tables happen to agree (e.g. both all-255) report one range.
        (Some(c), None) => {
            let c = f64::from(c);
            assert!(q.min <= c && c <= q.max, "chroma {c}: {what}");
        }
        (None, Some(_)) => panic!("unexpected split quality: {what}"),
    }
    // A range is reported only where several qualities give identical tables: all-1s near 100,
    // all-255s near 1, and flat tables (mozjpeg set 1). Annex K and Robidoux elsewhere are single.
    if matches!(family, Family::Ijg | Family::Mozjpeg(3)) && (4.0..=95.0).contains(&luma) {
        assert!(q.is_single(), "range {q:?}: {what}");
    }
}

#[test]
fn cjpeg_every_quality_every_layout_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (48, 32);
    let rgb = dir.path().join("in.ppm");
    write_pnm(&rgb, w, h, 3, &test_rgb(w, h));
    // Cr gets its own copy of the chroma table: a 3-table file, as some cameras and jpegli write.
    let qtables = dir.path().join("tables.txt");
    let annex_k = |base: &[u16; 64]| {
        base.chunks(8)
            .map(|row| row.iter().map(u16::to_string).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let k = &jpgtool::quality::tables::MOZJPEG[0];
    std::fs::write(
        &qtables,
        [annex_k(&k.luma), annex_k(&k.chroma), annex_k(&k.chroma)].join("\n\n"),
    )
    .unwrap();
    let qtables = qtables.to_str().unwrap().to_string();

    let layouts: [(&str, Vec<&str>); 7] = [
        ("420", vec![]),
        ("444", vec!["-sample", "1x1"]),
        ("422", vec!["-sample", "2x1"]),
        ("gray", vec!["-grayscale"]),
        ("baseline", vec!["-baseline"]),
        ("shared", vec!["-qslots", "0,0,0"]),
        ("three", vec!["-qtables", &qtables, "-qslots", "0,1,2"]),
    ];
    let mut checked = 0;
    for (name, extra) in &layouts {
        for q in 1..=100u8 {
            let out = dir.path().join(format!("{name}-{q}.jpg"));
            let quality = q.to_string();
            let mut args = extra.clone();
            args.extend(["-quality", &quality]);
            cjpeg(&args, &rgb, &out);
            assert_quality(&out, Family::Ijg, q, None);
            checked += 1;
        }
    }
    assert_eq!(checked, 700);
}

#[test]
fn cjpeg_split_luma_chroma_quality_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = dir.path().join("in.ppm");
    write_pnm(&rgb, 32, 32, 3, &test_rgb(32, 32));
    for (l, c) in [
        (90, 50),
        (95, 70),
        (80, 20),
        (60, 85),
        (30, 10),
        (100, 75),
        (50, 49),
    ] {
        let out = dir.path().join(format!("split-{l}-{c}.jpg"));
        cjpeg(&["-quality", &format!("{l},{c}")], &rgb, &out);
        assert_quality(&out, Family::Ijg, l, Some(c));
    }
}

#[test]
fn cjpeg_sixteen_bit_tables_below_q24_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = dir.path().join("in.ppm");
    write_pnm(&rgb, 16, 16, 3, &test_rgb(16, 16));
    let out = dir.path().join("q10.jpg");
    cjpeg(&["-quality", "10"], &rgb, &out);
    let header = read_header(&std::fs::read(&out).unwrap()[..]).unwrap();
    // libjpeg writes 16-bit DQT and SOF1 when an entry exceeds 255.
    assert_eq!(header.frame.kind.number(), 1);
    assert!(header.quant_tables[0].unwrap().sixteen_bit);
    assert_quality(&out, Family::Ijg, 10, None);
}

/// Encodes with the mozjpeg crate; `tables` replaces the default tables by a base pair, which
/// the crate installs at scale 100 (quality 50) with baseline clamping.
fn mozjpeg_encode(
    quality: f32,
    gray: bool,
    tables: Option<(&mozjpeg::qtable::QTable, &mozjpeg::qtable::QTable)>,
) -> Vec<u8> {
    let (w, h) = (40, 24);
    let rgb = test_rgb(w, h);
    let (space, pixels) = if gray {
        let luma: Vec<u8> = rgb.chunks(3).map(|p| p[1]).collect();
        (mozjpeg::ColorSpace::JCS_GRAYSCALE, luma)
    } else {
        (mozjpeg::ColorSpace::JCS_RGB, rgb)
    };
    let mut comp = mozjpeg::Compress::new(space);
    comp.set_size(w, h);
    comp.set_quality(quality);
    if let Some((luma, chroma)) = tables {
        comp.set_luma_qtable(luma);
        comp.set_chroma_qtable(chroma);
    }
    let mut started = comp.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&pixels).unwrap();
    started.finish().unwrap()
}

#[test]
fn mozjpeg_default_tables_at_every_quality_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    for gray in [false, true] {
        for q in 1..=100u8 {
            let path = dir.path().join(format!("moz-{gray}-{q}.jpg"));
            std::fs::write(&path, mozjpeg_encode(f32::from(q), gray, None)).unwrap();
            // Flat-looking extremes (all 1s at q 100) are byte-identical to IJG q 100.
            let family = if q == 100 {
                Family::Ijg
            } else {
                Family::Mozjpeg(3)
            };
            assert_quality(&path, family, q, None);
        }
    }
}

#[test]
fn mozjpeg_every_base_table_set_is_recognised() {
    use mozjpeg::qtable as t;
    let sets: [(u8, &t::QTable, &t::QTable); 9] = [
        (0, &t::AnnexK_Luma, &t::AnnexK_Chroma),
        (1, &t::Flat, &t::Flat),
        (2, &t::MSSSIM_Luma, &t::MSSSIM_Chroma),
        (3, &t::NRobidoux, &t::NRobidoux),
        (4, &t::PSNRHVS_Luma, &t::PSNRHVS_Chroma),
        (5, &t::KleinSilversteinCarney, &t::KleinSilversteinCarney),
        (6, &t::WatsonTaylorBorthwick, &t::WatsonTaylorBorthwick),
        (7, &t::AhumadaWatsonPeterson, &t::AhumadaWatsonPeterson),
        (8, &t::PetersonAhumadaWatson, &t::PetersonAhumadaWatson),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (set, luma, chroma) in sets {
        let path = dir.path().join(format!("set{set}.jpg"));
        std::fs::write(&path, mozjpeg_encode(75.0, false, Some((luma, chroma)))).unwrap();
        let family = if set == 0 {
            Family::Ijg
        } else {
            Family::Mozjpeg(set)
        };
        assert_quality(&path, family, 50, None);
    }
}

/// Inserts `payload` as an APPn segment right after SOI.
fn with_app_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, marker]);
    out.extend(u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

#[test]
fn thumbnail_and_trailing_images_do_not_change_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = dir.path().join("in.ppm");
    write_pnm(&rgb, 32, 32, 3, &test_rgb(32, 32));
    let (main, thumb) = (dir.path().join("q50.jpg"), dir.path().join("q95.jpg"));
    cjpeg(&["-quality", "50"], &rgb, &main);
    cjpeg(&["-quality", "95", "-sample", "1x1"], &rgb, &thumb);
    let (main_bytes, thumb_bytes) = (
        std::fs::read(&main).unwrap(),
        std::fs::read(&thumb).unwrap(),
    );

    // An EXIF block carrying a whole JPEG (as a thumbnail does), and the same JPEG appended after
    // EOI (as MPF secondary images and Ultra HDR gain maps are).
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(&thumb_bytes);
    let mut combined = with_app_segment(&main_bytes, 0xE1, &exif);
    let coded_before = combined.len() - main_bytes.len();
    combined.extend(&thumb_bytes);
    let path = dir.path().join("combined.jpg");
    std::fs::write(&path, &combined).unwrap();

    assert_quality(&path, Family::Ijg, 50, None);
    let found = jpgtool::inspect_file(&path, true).unwrap();
    assert!(found.header.exif);
    assert_eq!(found.header.subsampling(), "4:2:0");
    // The coded bytes are those of the main image alone: its size minus its own headers.
    let plain = jpgtool::inspect_file(&main, true).unwrap();
    let end = found.image_end.unwrap();
    assert!(end.found_eoi);
    assert_eq!(end.coded_bytes, plain.image_end.unwrap().coded_bytes);
    assert_eq!(end.end_offset as usize, main_bytes.len() + coded_before);
}
