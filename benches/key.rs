//! `key/*`: what deriving a watermark key costs. A passphrase is stretched by Argon2id (64 MiB,
//! 3 passes, one lane) so that each guess at it costs an attacker as much; a raw 32-byte key
//! file skips the stretch. `mark` and `verify` derive the key once per run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jpgtool::watermark::Key;

fn key(c: &mut Criterion) {
    let mut group = c.benchmark_group("key");
    group.sample_size(10);
    group.bench_function("passphrase_argon2id", |b| {
        b.iter(|| {
            black_box(Key::from_passphrase(black_box(
                b"correct horse battery staple",
            )))
        })
    });
    let raw: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(151) ^ 0x5c);
    group.bench_function("raw_32_bytes", |b| {
        b.iter(|| black_box(Key::from_raw(black_box(&raw))))
    });
    group.finish();
}

criterion_group!(benches, key);
criterion_main!(benches);
