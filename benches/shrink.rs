//! `shrink/*`: the whole pipeline on a mid-size photo (a 4608x3072 camera file from the shared
//! corpus, or the shipped sample without it), from memory, beside the floor it cannot beat:
//! libjpeg decoding at the same scale with no encoder. The progressive case puts the DC-only
//! decoder beside libjpeg's buffered 1/8 decode of the same file.

mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jpgtool::shrink::{Options, Target, shrink};

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
    let bytes = support::photo();
    let mut group = c.benchmark_group("shrink");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    for eighths in [4u8, 2, 1] {
        group.bench_function(format!("jpgtool_{eighths}_8"), |b| {
            b.iter(|| shrink_to_vec(black_box(&bytes), Target::Eighths(eighths), true))
        });
        group.bench_function(format!("libjpeg_decode_only_{eighths}_8"), |b| {
            b.iter(|| support::decode_only(black_box(&bytes), eighths))
        });
    }
    group.bench_function("jpgtool_factor_3_area", |b| {
        b.iter(|| shrink_to_vec(black_box(&bytes), Target::Factor(3.0), true))
    });
    if let Some(prog) = support::progressive(&bytes) {
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
