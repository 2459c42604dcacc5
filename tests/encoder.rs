//! The encoder's profiles on real photos: `Profile::Progressive` must write the very samples
//! `Profile::Fastest` writes (it only re-codes the same coefficients), as a progressive file
//! with the same tables, density and metadata. Checked with zune-jpeg, a decoder that shares
//! no code with libjpeg, and with libjpeg itself; the segments are read by a walker of this
//! file's own, not by the crate's parser.

use jpgtool::codec::{Decoder, DensityUnit, Encoder, EncoderSettings, PixelDensity, Profile};

use crate::util::corpus;

/// Photos of the repository's corpus, one per sampling: 4:2:0, 4:2:2, 4:4:0, 4:4:4, grey.
const PHOTOS: &[&str] = &[
    "real/mde-Kodak_DX4330.jpg",
    "real/mde-Canon_IXUS_300.jpg",
    "real/mde-Panasonic_DMC-LC40.jpg",
    "real/mde-Canon_EOS_7D.jpg",
    "edge/jpeg-decoder-bench-tower_grayscale.jpg",
];

/// The marker segments before the first SOS (T.81 B.1.1.4: each a marker and a 2-byte length
/// that counts itself), as (marker code, payload).
pub(crate) fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(jpeg[..2], [0xFF, 0xD8], "SOI");
    let mut out = Vec::new();
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF, "a marker at byte {at}");
        let code = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        out.push((code, jpeg[at + 4..at + 2 + len].to_vec()));
        if code == 0xDA {
            return out;
        }
        at += 2 + len;
    }
}

pub(crate) fn with_code(segments: &[(u8, Vec<u8>)], code: u8) -> Vec<&[u8]> {
    segments
        .iter()
        .filter(|(c, _)| *c == code)
        .map(|(_, p)| &p[..])
        .collect()
}

/// RGB (or grey) samples by zune-jpeg.
fn zune_decode(jpeg: &[u8]) -> Vec<u8> {
    let mut decoder = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(jpeg));
    decoder.decode().expect("zune-jpeg decodes it")
}

/// Samples in the file's colour space by libjpeg, and the (h, v) sampling factors.
fn libjpeg_decode(jpeg: &[u8]) -> (EncoderSettings, Vec<u8>) {
    let mut decoder = Decoder::start(jpeg, 8).expect("libjpeg starts");
    let (w, h, c) = (decoder.width(), decoder.height(), decoder.channels());
    let mut samples = vec![0u8; w * h * c];
    decoder.read_rows(&mut samples).expect("libjpeg decodes it");
    let color = decoder.color();
    decoder.finish().unwrap();
    // SOF0/1/2 payload: precision, height, width, count, then (id, HV, Tq) per component.
    let sof = segments(jpeg)
        .into_iter()
        .find(|(c, _)| matches!(c, 0xC0..=0xC2))
        .expect("a SOF")
        .1;
    let sampling = sof[6..]
        .chunks_exact(3)
        .map(|p| (p[1] >> 4, p[1] & 15))
        .collect();
    let settings = EncoderSettings {
        width: w,
        height: h,
        color,
        quality: 90,
        sampling,
        profile: Profile::Fastest,
        density: None,
    };
    (settings, samples)
}

fn encode(settings: &EncoderSettings, markers: &[(u8, Vec<u8>)], samples: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::start(Vec::new(), settings, markers).unwrap();
    encoder.write_rows(samples).unwrap();
    encoder.finish().unwrap()
}

/// The same rows (a real photo's decoded samples) through both profiles: the progressive file
/// has a SOF2 frame with the fastest file's frame, quantisation tables, JFIF segment (density
/// 300 dpi) and metadata segments in the same order, fewer bytes, and decodes to the same samples, by zune-jpeg and by libjpeg.
#[test]
fn progressive_profile_writes_the_fastest_profiles_samples() {
    let markers = vec![
        (0xE1, b"Exif\0\0not really a TIFF".to_vec()),
        (0xFE, b"kept comment".to_vec()),
    ];
    for name in PHOTOS {
        let input = std::fs::read(corpus().join(name)).unwrap();
        let (mut settings, samples) = libjpeg_decode(&input);
        settings.density = Some(PixelDensity {
            unit: DensityUnit::Inches,
            x: 300,
            y: 300,
        });
        let fastest = encode(&settings, &markers, &samples);
        settings.profile = Profile::Progressive;
        let progressive = encode(&settings, &markers, &samples);

        let (a, b) = (segments(&fastest), segments(&progressive));
        assert_eq!(with_code(&a, 0xC0).len(), 1, "{name}: fastest is baseline");
        assert!(with_code(&a, 0xC2).is_empty(), "{name}");
        assert_eq!(
            with_code(&b, 0xC2),
            with_code(&a, 0xC0),
            "{name}: same frame, SOF2"
        );
        assert!(with_code(&b, 0xC0).is_empty(), "{name}");
        assert_eq!(
            with_code(&b, 0xDB),
            with_code(&a, 0xDB),
            "{name}: same tables"
        );
        let metadata = |s: &[(u8, Vec<u8>)]| -> Vec<(u8, Vec<u8>)> {
            s.iter()
                .filter(|(c, _)| matches!(c, 0xE0..=0xEF | 0xFE))
                .cloned()
                .collect()
        };
        assert_eq!(metadata(&b), metadata(&a), "{name}: metadata");
        let jfif = with_code(&b, 0xE0)[0];
        assert_eq!(jfif[..5], *b"JFIF\0", "{name}");
        assert_eq!(jfif[7..12], [1, 1, 44, 1, 44], "{name}: 300 dots per inch");
        assert_eq!(metadata(&b)[1..], markers[..], "{name}: markers after JFIF");
        assert!(progressive.len() < fastest.len(), "{name}");

        assert!(
            zune_decode(&progressive) == zune_decode(&fastest),
            "{name}: zune-jpeg decodes other samples"
        );
        assert!(
            libjpeg_decode(&progressive).1 == libjpeg_decode(&fastest).1,
            "{name}: libjpeg decodes other samples"
        );

        // The fastest file the progressive one was transcoded from, kept: the same file is
        // written, and the kept one decodes to its samples (what `mark`'s self-check reads).
        let mut encoder = Encoder::start(Vec::new(), &settings, &markers).unwrap();
        encoder.write_rows(&samples).unwrap();
        let (again, kept) = encoder.finish_keeping_fastest().unwrap();
        assert!(again == progressive, "{name}: another file written");
        let kept = kept.expect("the progressive profile keeps the file it transcoded");
        assert_eq!(
            with_code(&segments(&kept), 0xC0),
            with_code(&a, 0xC0),
            "{name}: a baseline frame"
        );
        assert!(
            libjpeg_decode(&kept).1 == libjpeg_decode(&progressive).1,
            "{name}: the kept file decodes to other samples"
        );
    }
    // The other profiles keep nothing: what they write is what they made.
    let (settings, samples) = libjpeg_decode(&std::fs::read(corpus().join(PHOTOS[0])).unwrap());
    let mut encoder = Encoder::start(Vec::new(), &settings, &[]).unwrap();
    encoder.write_rows(&samples).unwrap();
    assert!(encoder.finish_keeping_fastest().unwrap().1.is_none());
}

/// `Profile::buffer_bytes` against the block counts of a 4:2:0 frame of 100 x 60 counted by
/// hand: luma 13 x 8 blocks rounded up to whole 2 x 2 MCUs, 14 x 8; each chroma component
/// 7 x 4 (50 x 30 samples); 128 bytes a block, once for the transcode, twice for mozjpeg's
/// profile.
#[test]
fn profile_buffers_count_whole_mcus() {
    let sampling = [(2, 2), (1, 1), (1, 1)];
    let blocks = 14 * 8 + 2 * 7 * 4;
    assert_eq!(Profile::Fastest.buffer_bytes(100, 60, &sampling), 0);
    assert_eq!(
        Profile::Progressive.buffer_bytes(100, 60, &sampling),
        blocks * 128
    );
    assert_eq!(
        Profile::Smallest.buffer_bytes(100, 60, &sampling),
        blocks * 256
    );
}

/// Every SOS header of a file (T.81 B.2.3), as (component selectors, Ss, Se, Ah, Al): the
/// entropy-coded data after each is skipped up to the next marker that is not a stuffed byte
/// or a restart marker.
fn scans(jpeg: &[u8]) -> Vec<(Vec<u8>, u8, u8, u8, u8)> {
    let mut out = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        assert_eq!(jpeg[at], 0xFF, "a marker at byte {at}");
        let code = jpeg[at + 1];
        if code == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let payload = &jpeg[at + 4..at + 2 + len];
        at += 2 + len;
        if code != 0xDA {
            continue;
        }
        let n = usize::from(payload[0]);
        let components = (0..n).map(|i| payload[1 + 2 * i]).collect();
        let tail = &payload[1 + 2 * n..];
        out.push((components, tail[0], tail[1], tail[2] >> 4, tail[2] & 15));
        while !(jpeg[at] == 0xFF && jpeg[at + 1] != 0 && !(0xD0..=0xD7).contains(&jpeg[at + 1])) {
            at += 1;
        }
    }
    out
}

/// A YCbCr progressive file is written in the 9-scan script (all DC at once; luma's AC two
/// bits short in two bands, then refined a bit at a time; each chroma component's two bands),
/// decodes to the same samples, and is within 1 % of what libjpeg-turbo's `jpegtran -optimize
/// -progressive` (its 10-scan script) makes of the same fastest file, smaller over all the
/// photos (on 59 marked photos the script saved 0.4 % on average, up to 3 %, and cost up to
/// 0.8 % on 9 of them); a grey one keeps libjpeg's own script (DC, then AC in two bands
/// refined down).
#[test]
fn progressive_files_use_the_nine_scan_script_and_are_no_larger_than_jpegtrans() {
    let dir = std::env::temp_dir().join(format!("jpgtool-scans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut ours, mut jpegtrans) = (0, 0);
    for name in PHOTOS {
        let input = std::fs::read(corpus().join(name)).unwrap();
        let (mut settings, samples) = libjpeg_decode(&input);
        let fastest = encode(&settings, &[], &samples);
        settings.profile = Profile::Progressive;
        let progressive = encode(&settings, &[], &samples);
        let ids: Vec<u8> = {
            let sof = with_code(&segments(&fastest), 0xC0)[0].to_vec();
            sof[6..].chunks_exact(3).map(|c| c[0]).collect()
        };
        let got = scans(&progressive);
        if ids.len() == 3 {
            let (y, cb, cr) = (ids[0], ids[1], ids[2]);
            let expected = vec![
                (vec![y, cb, cr], 0, 0, 0, 0),
                (vec![y], 1, 8, 0, 2),
                (vec![y], 9, 63, 0, 2),
                (vec![y], 1, 63, 2, 1),
                (vec![y], 1, 63, 1, 0),
                (vec![cb], 1, 8, 0, 0),
                (vec![cr], 1, 8, 0, 0),
                (vec![cb], 9, 63, 0, 0),
                (vec![cr], 9, 63, 0, 0),
            ];
            assert_eq!(got, expected, "{name}");
        } else {
            assert_eq!(got.len(), 6, "{name}: libjpeg's grey script, {got:?}");
        }
        assert!(
            libjpeg_decode(&progressive).1 == libjpeg_decode(&fastest).1,
            "{name}: other samples"
        );
        let base = dir.join("fastest.jpg");
        let theirs = dir.join("jpegtran.jpg");
        std::fs::write(&base, &fastest).unwrap();
        let status = std::process::Command::new("jpegtran")
            .args(["-optimize", "-progressive", "-copy", "all", "-outfile"])
            .arg(&theirs)
            .arg(&base)
            .status()
            .expect("jpegtran (libjpeg-turbo-progs)");
        assert!(status.success());
        let theirs = std::fs::read(&theirs).unwrap();
        assert!(
            progressive.len() * 100 <= theirs.len() * 101,
            "{name}: {} bytes, jpegtran {}",
            progressive.len(),
            theirs.len()
        );
        (ours, jpegtrans) = (ours + progressive.len(), jpegtrans + theirs.len());
    }
    assert!(ours < jpegtrans, "{ours} bytes, jpegtran {jpegtrans}");
    std::fs::remove_dir_all(&dir).unwrap();
}
