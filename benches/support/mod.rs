//! Inputs and the libjpeg reference shared by the shrink and DC benches.

use std::hint::black_box;
use std::path::Path;

use jpgtool::codec::Decoder;

/// A mid-size photo: a 4608x3072 camera file from the shared corpus, or the shipped sample
/// without it.
pub fn photo() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/corpus/large/mde-Nikon_D3100.jpg");
    let path = if shared.is_file() {
        shared
    } else {
        root.join("corpus/sample-q75.jpg")
    };
    std::fs::read(path).unwrap()
}

/// The same photo made progressive by jpegtran (coefficients unchanged), when jpegtran exists.
pub fn progressive(bytes: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let (src, dst) = (dir.path().join("in.jpg"), dir.path().join("out.jpg"));
    std::fs::write(&src, bytes).ok()?;
    let ok = std::process::Command::new("jpegtran")
        .args(["-progressive", "-outfile"])
        .arg(&dst)
        .arg(&src)
        .status()
        .ok()?
        .success();
    ok.then(|| std::fs::read(dst).ok()).flatten()
}

/// libjpeg decoding at `eighths`/8 scale with no encoder: the floor a shrink cannot beat.
pub fn decode_only(bytes: &[u8], eighths: u8) {
    let mut decoder = Decoder::start(bytes, eighths).unwrap();
    let mut rows = vec![0u8; decoder.width() * decoder.channels() * 16];
    let mut left = decoder.height();
    while left > 0 {
        let n = left.min(16);
        decoder
            .read_rows(&mut rows[..n * decoder.width() * decoder.channels()])
            .unwrap();
        left -= n;
    }
    black_box(&rows);
}
