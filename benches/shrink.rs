//! `shrink/*`: the whole pipeline on a mid-size photo (a 4608x3072 camera file from the shared
//! corpus, or the shipped sample without it), from memory, beside the floor it cannot beat:
//! libjpeg decoding at the same scale with no encoder. The progressive case puts the DC-only
//! decoder beside libjpeg's buffered 1/8 decode of the same file.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jpgtool::codec::Decoder;
use jpgtool::shrink::{Options, Target, shrink};

fn input() -> Vec<u8> {
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
fn progressive(bytes: &[u8]) -> Option<Vec<u8>> {
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

fn decode_only(bytes: &[u8], eighths: u8) {
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

fn shrink_to_vec(bytes: &[u8], target: Target, dc_only: bool) -> Vec<u8> {
    let options = Options {
        target,
        quality: Some(85),
        dc_only,
        ..Options::default()
    };
    shrink(bytes, Vec::new(), &options).unwrap().1
}

fn pipeline(c: &mut Criterion) {
    let bytes = input();
    let mut group = c.benchmark_group("shrink");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    for eighths in [4u8, 2, 1] {
        group.bench_function(format!("jpgtool_{eighths}_8"), |b| {
            b.iter(|| shrink_to_vec(black_box(&bytes), Target::Eighths(eighths), true))
        });
        group.bench_function(format!("libjpeg_decode_only_{eighths}_8"), |b| {
            b.iter(|| decode_only(black_box(&bytes), eighths))
        });
    }
    group.bench_function("jpgtool_factor_3_area", |b| {
        b.iter(|| shrink_to_vec(black_box(&bytes), Target::Factor(3.0), true))
    });
    if let Some(prog) = progressive(&bytes) {
        group.bench_function("progressive_1_8_dc_only", |b| {
            b.iter(|| shrink_to_vec(black_box(&prog), Target::Eighths(1), true))
        });
        group.bench_function("progressive_1_8_libjpeg", |b| {
            b.iter(|| shrink_to_vec(black_box(&prog), Target::Eighths(1), false))
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
