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
