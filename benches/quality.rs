//! `quality/*`: header parse + estimate per file, from memory, beside zune-jpeg's header decoder
//! (the fastest Rust JPEG header reader we know) on the same bytes.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Files to measure: the shipped samples, plus the shared corpus's real files when present.
fn inputs() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![
        root.join("corpus/sample-q75.jpg"),
        root.join("corpus/sample-photoshop.jpg"),
    ];
    if let Ok(dir) = std::fs::read_dir(root.join("../shared/corpus/real")) {
        let mut real: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
        real.sort();
        paths.extend(real);
    }
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn parse_and_estimate(c: &mut Criterion) {
    let files = inputs();
    let mut group = c.benchmark_group("quality");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.bench_function("jpgtool_header_estimate", |b| {
        b.iter(|| {
            for bytes in &files {
                let header = jpgtool::jpeg::read_header(black_box(&bytes[..])).unwrap();
                black_box(jpgtool::quality::estimate(&header));
            }
        })
    });
    group.bench_function("jpgtool_header_estimate_bpp", |b| {
        b.iter(|| {
            for bytes in &files {
                let mut parser =
                    jpgtool::jpeg::Parser::new(jpgtool::jpeg::Streamed::new(black_box(&bytes[..])));
                let header = parser.read_header().unwrap();
                black_box(parser.find_image_end().unwrap());
                black_box(jpgtool::quality::estimate(&header));
            }
        })
    });
    group.bench_function("zune_jpeg_decode_headers", |b| {
        b.iter(|| {
            for bytes in &files {
                let mut decoder = zune_jpeg::JpegDecoder::new(Cursor::new(black_box(&bytes[..])));
                // Some camera files upset zune-jpeg's header reader; the time still counts.
                let _ = black_box(decoder.decode_headers());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_estimate);
criterion_main!(benches);
