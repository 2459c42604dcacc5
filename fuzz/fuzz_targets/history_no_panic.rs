//! Property: the primary-quality analysis (`quality::history`: the block reader of sequential scans, the histograms and their analysis) and the effective-quality estimate (`quality::effective`: in 1..=100 with a finite error) never panic, reads a bounded sample, and its answer is consistent.
//!
//! Inputs starting with 0xFF are JPEG streams: `read_header` then `history::read`. Ok answers
//! hold at most `SAMPLE_BLOCKS` luma blocks plus one MCU (16 blocks); a primary quality is a
//! range within `LOWEST_PRIMARY..=99` with min <= max and comes with a confidence, and none
//! comes without; the score, when there is one, is finite and at least 0, at most
//! `MAX_RATIO` when a primary quality is reported. Other inputs drive the analysis directly:
//! byte 0..64 make a luma table (entries 1..=256), the rest are blocks of 64 little-endian
//! i16 coefficients, which reach histograms no decoder gives (values past the kept range,
//! every mode saturated), also added with arbitrary non-zero index lists.

#![no_main]

use jpgtool::jpeg::{Parser, Streamed};
use jpgtool::quality::effective::{self, Magnitudes};
use jpgtool::quality::history::{self, Histograms};
use libfuzzer_sys::fuzz_target;

fn check(h: &history::History) {
    match h.primary {
        Some(p) => {
            assert!(h.confidence.is_some(), "a primary quality has a confidence");
            assert!(p.min <= p.max, "{p:?}");
            assert!(p.min >= f64::from(history::LOWEST_PRIMARY) && p.max <= 99.0, "{p:?}");
            let s = h.score.expect("a primary quality has a score");
            assert!(s <= history::MAX_RATIO, "score {s}");
        }
        None => assert!(h.confidence.is_none()),
    }
    if let Some(s) = h.score {
        assert!(s.is_finite() && s >= 0.0, "score {s}");
    }
    assert!(h.evidence.is_finite() && h.evidence >= 0.0);
    if let Some(e) = h.effective {
        check_effective(&e);
    }
}

fn check_effective(e: &effective::Effective) {
    assert!((1.0..=100.0).contains(&e.quality), "{e:?}");
    assert!(e.mse.is_finite() && e.mse >= 0.0, "{e:?}");
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0xFF) {
        let mut parser = Parser::new(Streamed::new(data));
        let Ok(header) = parser.read_header() else {
            return;
        };
        if let Ok(Ok(h)) = history::read(&mut parser, &header) {
            assert!(h.blocks <= history::SAMPLE_BLOCKS + 16, "{} blocks", h.blocks);
            check(&h);
        }
        return;
    }
    if data.len() < 64 {
        return;
    }
    let table: [u16; 64] = std::array::from_fn(|i| u16::from(data[i]) + 1);
    let mut hist = Histograms::default();
    let mut magnitudes = Magnitudes::new(&table);
    // The same blocks with index lists no decoder gives (any byte, repeats, DC, zeros).
    let mut odd = Magnitudes::new(&table);
    for chunk in data[64..].chunks_exact(128) {
        let block: [i16; 64] =
            std::array::from_fn(|i| i16::from_le_bytes([chunk[2 * i], chunk[2 * i + 1]]));
        hist.add(&block);
        magnitudes.add(&block);
        odd.add_sparse(&block, &chunk[..usize::from(chunk[0] & 63)]);
    }
    check(&history::analyse(&hist, &table));
    for m in [&magnitudes, &odd] {
        if let Some(e) = effective::estimate(m, &table) {
            check_effective(&e);
        }
    }
});
