//! Prints the fit of every candidate first-save quality for one file (a tuning aid for the
//! primary-quality analysis): `cargo run --release --example history_fits FILE`.

use jpgtool::quality::history;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: history_fits FILE")?;
    let bytes = std::fs::read(&path)?;
    let mut parser = jpgtool::jpeg::Parser::new(jpgtool::jpeg::Streamed::new(&bytes[..]));
    let header = parser.read_header()?;
    let t0 = std::time::Instant::now();
    let Ok(found) = history::read_histograms(&mut parser, &header, false)? else {
        return Err("not analysed".into());
    };
    let (hist, _, read) = found;
    let t1 = std::time::Instant::now();
    let luma0 = header.quant_tables[usize::from(header.frame.components[0].table)]
        .ok_or("no luma table")?;
    let _ = history::analyse(&hist, &luma0.values);
    eprintln!("read {:?} analyse {:?}", t1 - t0, t1.elapsed());
    let luma = header.quant_tables[usize::from(header.frame.components[0].table)]
        .ok_or("no luma table")?;
    println!("{read:?}");
    if std::env::var_os("DUMP").is_some() {
        dump(&hist, 6);
    }
    for q in 1..=99u8 {
        let t = jpgtool::quality::invert::scale_table(
            &jpgtool::quality::tables::MOZJPEG[0].luma,
            jpgtool::quality::invert::scale_for_quality(q),
            255,
        );
        let f = history::fit(&hist, &luma.values, &t);
        if f.expected > 0.0 {
            println!(
                "q{q:3} obs {:9.1} exp {:9.1} ratio {:.3}",
                f.observed,
                f.expected,
                f.ratio()
            );
        }
    }
    println!("{:?}", history::analyse(&hist, &luma.values));
    Ok(())
}

/// Prints the counts of values -5..=40 of the first `n` analysed modes.
#[allow(dead_code)]
fn dump(hist: &jpgtool::quality::history::Histograms, n: usize) {
    for m in 0..n {
        let row: Vec<String> = (-5..=40).map(|v| hist.count(m, v).to_string()).collect();
        println!("mode {m}: {}", row.join(" "));
    }
}
