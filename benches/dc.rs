//! `jpeg/decode_dc`: the DC-only decoder of progressive files (`Parser::decode_dc`), from memory,
//! beside libjpeg's 1/8-scale decode of the same file, which it replaces in `shrink`.
//!
//! The input is the file named by `JPGTOOL_DC_BENCH` (a progressive JPEG) when set; otherwise
//! the photo of the shrink bench made progressive by jpegtran.

mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jpgtool::Limits;
use jpgtool::jpeg::{Parser, Streamed};

fn decode_dc(bytes: &[u8]) {
    let mut parser = Parser::new(Streamed::new(bytes));
    let header = parser.read_header().unwrap();
    black_box(parser.decode_dc(&header, &Limits::default()).unwrap());
}

fn dc(c: &mut Criterion) {
    let bytes = match std::env::var_os("JPGTOOL_DC_BENCH") {
        Some(path) => std::fs::read(path).ok(),
        None => support::progressive(&support::photo()),
    };
    let Some(bytes) = bytes else {
        eprintln!(
            "jpeg/decode_dc: no progressive input (JPGTOOL_DC_BENCH unreadable or no jpegtran)"
        );
        return;
    };
    let mut group = c.benchmark_group("jpeg/decode_dc");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("jpgtool_dc_only", |b| {
        b.iter(|| decode_dc(black_box(&bytes)))
    });
    group.bench_function("libjpeg_decode_1_8", |b| {
        b.iter(|| support::decode_only(black_box(&bytes), 1))
    });
    group.finish();
}

criterion_group!(benches, dc);
criterion_main!(benches);
