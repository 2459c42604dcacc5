//! Prints the luma magnitude histograms the effective-quality estimate reads, as one JSON line
//! per file (a tuning aid): `cargo run --release --example effective_stats FILE...`.

use jpgtool::quality::{effective, history};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let mut parser = jpgtool::jpeg::Parser::new(jpgtool::jpeg::Streamed::new(&bytes[..]));
        let header = parser.read_header()?;
        let Ok((_, m, _)) = history::read_histograms(&mut parser, &header, true)? else {
            eprintln!("{path}: not analysed");
            continue;
        };
        let luma = header.quant_tables[usize::from(header.frame.components[0].table)]
            .ok_or("no luma table")?;
        let classes = effective::CLASSES;
        let counts: Vec<Vec<Vec<u32>>> = (0..classes)
            .map(|c| (0..64).map(|k| m.histogram(c, k).to_vec()).collect())
            .collect();
        let blocks_in: Vec<Vec<u32>> = (0..classes)
            .map(|c| (0..64).map(|k| m.blocks_in(c, k)).collect())
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "path": path,
                "effective": effective::estimate(&m, &luma.values)
                    .map(|e| e.quality),
                "table": luma.values.to_vec(),
                "blocks": m.blocks,
                "counts": counts,
                "tail": (0..classes)
                    .map(|c| (0..64).map(|k| m.tail(c, k)).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
                "tail_sum": (0..classes)
                    .map(|c| (0..64).map(|k| m.tail_sum(c, k)).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
                "blocks_in": blocks_in,
            })
        );
    }
    Ok(())
}
