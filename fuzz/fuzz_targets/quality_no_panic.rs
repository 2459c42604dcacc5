//! Property: quality estimation never panics and stays in range — `estimate` on any Ok header gives qualities with 1 <= min <= max <= 100, an IJG equivalent in 1..=100 and a finite `decision_quality`; and `invert::solve_scale` is exact: every S it returns reproduces the table through `invert::scale_table`.
//!
//! Input layout: bytes starting with 0xFF are a JPEG stream and go through `read_header` +
//! `estimate`. Anything else is a table pair for the header-free check of `solve_scale` and
//! `ijg_equivalent`: byte 0 is a mode, then a base table of 64 big-endian u16 (zeros become 1)
//! and either a second raw table (mode bit 0 clear) or a scale S (u32), a clamp choice and a few
//! (index, value) edits applied to `scale_table(base, S, clamp)` (mode bit 0 set), so that tables
//! the solver must accept are reached as well as ones it must reject. In the generated case the
//! solver must also be complete: when no edit changed the table, S lies in the returned range.

#![no_main]

use jpgtool::jpeg::{Process, read_header};
use jpgtool::quality::invert::{clamp_for, scale_table, solve_scale};
use jpgtool::quality::{Family, QualityRange, estimate, ijg_equivalent};
use libfuzzer_sys::fuzz_target;

fn check_range(what: &str, q: &QualityRange) {
    assert!(
        q.min.is_finite() && q.max.is_finite() && 1.0 <= q.min && q.min <= q.max && q.max <= 100.0,
        "{what} out of range: {q:?}"
    );
}

fn check_jpeg(data: &[u8]) {
    let Ok(header) = read_header(data) else {
        return;
    };
    let est = estimate(&header);
    let lossless = header.frame.kind.process() == Process::Lossless;
    assert_eq!(lossless, est.family == Family::Lossless, "{est:?}");
    if lossless {
        assert!(
            est.quality.is_none() && est.ijg_equivalent.is_none(),
            "{est:?}"
        );
    } else {
        let q = est.quality.as_ref().expect("a quality for a DCT image");
        check_range("quality", q);
        let ijg = est
            .ijg_equivalent
            .expect("an IJG equivalent for a DCT image");
        assert!(
            (1.0..=100.0).contains(&ijg),
            "ijg_equivalent {ijg}: {est:?}"
        );
    }
    if let Some(c) = &est.chroma_quality {
        check_range("chroma_quality", c);
    }
    if let Some((_, q, rms)) = est.nearest {
        assert!(
            (1.0..=100.0).contains(&q) && rms.is_finite() && rms >= 0.0,
            "{est:?}"
        );
    }
    for native in [false, true] {
        for margin in [0.0, 2.5] {
            if let Some(d) = est.decision_quality(native, margin) {
                assert!(
                    d.is_finite(),
                    "decision_quality({native}, {margin}) = {d}: {est:?}"
                );
            }
        }
    }
    let _ = est.family.name();
    let _ = est.confidence.name();
}

fn table_from(bytes: &[u8]) -> [u16; 64] {
    std::array::from_fn(|i| {
        let v = match bytes.get(2 * i..2 * i + 2) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 1,
        };
        v.max(1)
    })
}

fn check_tables(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let base = table_from(rest);
    let rest = rest.get(128..).unwrap_or(&[]);
    let (table, generated_from) = if mode & 1 == 0 {
        (table_from(rest), None)
    } else {
        let s_bytes: [u8; 4] = std::array::from_fn(|i| rest.get(i).copied().unwrap_or(0));
        // Keep S within the solver's search space (it stops at 1_000_000).
        let s = u32::from_be_bytes(s_bytes) % 1_000_001;
        let max = if mode & 2 == 0 { 255 } else { 32767 };
        let mut table = scale_table(&base, s, max);
        let clean = table;
        for edit in rest.get(4..).unwrap_or(&[]).chunks_exact(3).take(4) {
            let v = u16::from_be_bytes([edit[1], edit[2]]).max(1);
            table[usize::from(edit[0]) % 64] = v;
        }
        (table, (table == clean).then_some(s))
    };

    let ijg = ijg_equivalent(&table);
    assert!(
        (1.0..=100.0).contains(&ijg),
        "ijg_equivalent {ijg} for {table:?}"
    );

    let max = clamp_for(&table);
    match solve_scale(&table, &base) {
        Some(range) => {
            assert!(range.lo <= range.hi, "{range:?}");
            for s in [range.lo, range.hi] {
                assert_eq!(
                    scale_table(&base, s, max),
                    table,
                    "S = {s} from {range:?} does not reproduce the table (clamp {max})"
                );
            }
            if let Some(s) = generated_from {
                assert!(range.lo <= s && s <= range.hi, "S = {s} not in {range:?}");
            }
            if let Some((lo, hi)) = range.qualities() {
                assert!(1 <= lo && lo <= hi && hi <= 100, "{range:?} -> {lo}..{hi}");
            }
            let fq = range.fractional_quality();
            assert!((1.0..=100.0).contains(&fq), "{range:?} -> {fq}");
        }
        None => {
            assert!(
                generated_from.is_none(),
                "table made with S = {:?} from this base not recognised (clamp {max})",
                generated_from
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0xFF) {
        check_jpeg(data);
    } else {
        check_tables(data);
    }
});
